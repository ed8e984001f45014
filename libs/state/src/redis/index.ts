export * from './redis-rate-limiter';
export * from './redis-presence';
export * from './redis-session-directory';
export * from './redis-connection-slots';
