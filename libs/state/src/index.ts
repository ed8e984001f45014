export * from './rate-limiter';
export * from './connection-slots';
export * from './presence';
export * from './typing';
export * from './resume-buffer';
export * from './state.module';
export * from './redis';
