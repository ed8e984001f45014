import { dropKeyspace, requireCassandra, testKeyspace } from '../integration/cassandra/support';
import { useCassandra } from './harness';
// The suite's hooks start the server when they run, after this file has switched the backend below.
import './automod.test';

// The AutoMod, blocks and reports suite, unchanged, on Cassandra (a fresh keyspace on the cluster answering on
// 127.0.0.1:9042).
const keyspace = testKeyspace('e2e_automod');
useCassandra(keyspace);
jest.setTimeout(180_000);

beforeAll(() => requireCassandra(), 60_000);
afterAll(() => dropKeyspace(keyspace), 120_000);
