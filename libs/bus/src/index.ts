export * from './events';
export * from './jobs';
export * from './in-process-bus';
export * from './durable-job-queue';
export * from './bus.module';
export * from './nats';
