export { CassandraStorage, type CassandraStorageOptions } from './cassandra-storage';
export { CassandraBulk, type CassandraBulkOptions } from './bulk';
export { CassandraSession, type CassandraSettings, type OperationClass } from './session';
export { DatabaseUnavailableError, isUnavailable } from './errors';
export { BUCKET_MS, bucketAt, bucketOf } from './buckets';
export { defaultCassandraMigrationsDir, type MigrateOptions, StartupRefused } from './migrator';
export { recount as recountReaction, type CountKey } from './reaction-counts';
export { recountMembers } from './member-counts';
export { ORPHAN_AFTER_MS } from './repositories/user.repository';
