import { dropKeyspace, requireCassandra, testKeyspace } from '../integration/cassandra/support';
import { useCassandra } from './harness';
// The suite's hooks start the server when they run, after this file has switched the backend below.
import './rest-chat.test';

// The monolith's REST chat suite, unchanged, on Cassandra (a fresh keyspace on the node or cluster answering
// on 127.0.0.1:9042, dc1). Fails saying what to start when no node answers.
const keyspace = testKeyspace('e2e_rest');
useCassandra(keyspace);
jest.setTimeout(180_000);

beforeAll(() => requireCassandra(), 60_000);
afterAll(() => dropKeyspace(keyspace), 120_000);
