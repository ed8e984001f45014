export * from './contract';
export * from './sqlite';
