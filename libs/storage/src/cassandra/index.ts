export { CassandraStorage, type CassandraStorageOptions } from './cassandra-storage';
export { CassandraSession, type CassandraSettings, type OperationClass } from './session';
export { DatabaseUnavailableError, isUnavailable } from './errors';
export { BUCKET_MS, bucketAt, bucketOf } from './buckets';
export { defaultCassandraMigrationsDir } from './migrator';
