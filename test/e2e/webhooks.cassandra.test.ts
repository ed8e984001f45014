import { dropKeyspace, requireCassandra, testKeyspace } from '../integration/cassandra/support';
import { useCassandra } from './harness';
// The suite's hooks start the server when they run, after this file has switched the backend below.
import './webhooks.test';

// The webhooks suite, unchanged, on Cassandra (a fresh keyspace on the loopback cluster, dc1): the webhook row
// read by id on execute, webhooks_by_guild for the lists, messages.webhook in history.
// Fails saying what to start when no node answers.
const keyspace = testKeyspace('e2e_hooks');
useCassandra(keyspace);
jest.setTimeout(180_000);

beforeAll(() => requireCassandra(), 60_000);
afterAll(() => dropKeyspace(keyspace), 120_000);
