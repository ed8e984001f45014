export { SqliteStorage } from './sqlite-storage';
export { SqliteBulk } from './bulk';
export type { SqliteSettings } from './connection';
export { HOT_QUERIES, type HotQueryName } from './hot-queries';
export { defaultMigrationsDir } from './migrator';
