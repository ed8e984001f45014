import { lazy } from '@parley/common';
import type * as CassandraDriver from 'cassandra-driver';

/** cassandra-driver, loaded when a Cassandra session is first created (never on a SQLite deployment). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const cassandraDriver = lazy(() => require('cassandra-driver') as typeof CassandraDriver);
