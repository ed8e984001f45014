import { testKeyspace } from '../integration/cassandra/support';
import { useCassandra } from './harness';

// Imported by account-deletion.cassandra.test.ts before the suite, so that the suite sees the backend when it
// loads (it picks its modes by backend).
export const keyspace = testKeyspace('e2e_deletion');
useCassandra(keyspace);
