import { dropKeyspace, requireCassandra, testKeyspace } from '../integration/cassandra/support';
import { useCassandra } from './harness';
// The suite's hooks start the server when they run, after this file has switched the backend below.
import './admin.test';

// The instance admin suite, unchanged, on Cassandra (a fresh keyspace on the cluster answering on
// 127.0.0.1:9042, dc1): the flags, the approval queue partition, the paged-scan search, the 30-day windows of the
// instance audit log and the counter table.
const keyspace = testKeyspace('e2e_admin');
useCassandra(keyspace);
jest.setTimeout(180_000);

beforeAll(() => requireCassandra(), 60_000);
afterAll(() => dropKeyspace(keyspace), 120_000);
