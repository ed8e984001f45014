export * from './nats-link';
export * from './nats-event-bus';
export * from './circuit-breaker';
export * from './rpc';
export * from './jetstream-job-queue';
