export * from './redis-rate-limiter';
export * from './redis-presence';
export * from './redis-resume-store';
export * from './redis-connection-slots';
