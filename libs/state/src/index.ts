export * from './rate-limiter';
export * from './state.module';
