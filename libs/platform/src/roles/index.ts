export * from './roles';
export * from './redis-link';
export * from './node-id-lease';
export * from './gateway-cluster';
export * from './microservices.module';
export * from './dependency-gate';
export * from './role.module';
export * from './start-role';
