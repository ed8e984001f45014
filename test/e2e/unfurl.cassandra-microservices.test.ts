import { dropKeyspace, requireCassandra, testKeyspace } from '../integration/cassandra/support';
import { useCassandra, useMicroservices } from './harness';
// The suite's hooks start the server when they run, after this file has switched the mode below.
import './unfurl.test';

// The link-preview suite, unchanged, as production runs it at scale: api, gateway and queue roles on Cassandra (a
// fresh keyspace on the loopback cluster, dc1) with the jobs on JetStream, published while the message is written
// (the unfurl job may reach the queue role before the message can be read there: it waits for it).
const keyspace = testKeyspace('e2e_unfurl_ms');
useCassandra(keyspace);
useMicroservices();
jest.setTimeout(180_000);

beforeAll(() => requireCassandra(), 60_000);
afterAll(() => dropKeyspace(keyspace), 120_000);
