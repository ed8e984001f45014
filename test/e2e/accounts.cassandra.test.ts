import { dropKeyspace, requireCassandra, testKeyspace } from '../integration/cassandra/support';
import { useCassandra } from './harness';
// The suite's hooks start the server when they run, after this file has switched the backend below.
import './accounts.test';

// The accounts suite, unchanged, on Cassandra (a fresh keyspace on the node or cluster answering on
// 127.0.0.1:9042, dc1): account_tokens used up by a lightweight transaction, users.email_verified.
const keyspace = testKeyspace('e2e_accounts');
useCassandra(keyspace);
jest.setTimeout(180_000);

beforeAll(() => requireCassandra(), 60_000);
afterAll(() => dropKeyspace(keyspace), 120_000);
