export * from './records';
export * from './repositories';
export * from './bulk';
export * from './token';
export * from './search';
