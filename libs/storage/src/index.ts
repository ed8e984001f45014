export * from './contract';
export * from './sqlite';
export * from './cassandra';
export * from './epoch';
