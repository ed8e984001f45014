export * from './core.module';
export * from './storage.module';
export * from './maintenance';
export * from './server.module';
export * from './http';
export * from './openapi';
export * from './roles';
