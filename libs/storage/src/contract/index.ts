export * from './records';
export * from './repositories';
export * from './token';
