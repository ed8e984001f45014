export * from './validation';
export * from './error-body';
export * from './error.filter';
export * from './request';
export * from './rate-limit.guard';
export * from './inputs';
export * from './edge';
export * from './dialect';
