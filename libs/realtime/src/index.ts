export * from './protocol';
export * from './connection';
export * from './session';
export * from './visibility';
export * from './gateway.metrics';
export * from './interest-router';
export * from './gateway.server';
export * from './realtime.module';
