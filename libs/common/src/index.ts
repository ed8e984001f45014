export * from './snowflake';
export * from './errors';
export * from './permissions';
export * from './protocol';
export * from './lazy';
export * from './ttl-cache';
export * from './notifications';
export * from './request-activity';
