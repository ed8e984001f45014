export * from './schema';
export * from './loader';
export * from './config.module';
export * from './regions';
export * from './secrets';
