import { dropKeyspace, requireCassandra, testKeyspace } from '../integration/cassandra/support';
import { useCassandra } from './harness';
// The suite's hooks start the server when they run, after this file has switched the backend below.
import './unfurl.test';

// The link-preview suite, unchanged, with the monolith on Cassandra (a fresh keyspace on the loopback cluster,
// dc1): the job rows written alongside the message's rows, the jobs table's queue on Cassandra, the preview cache
// with its TTL. Fails saying what to start when no node answers.
const keyspace = testKeyspace('e2e_unfurl');
useCassandra(keyspace);
jest.setTimeout(180_000);

beforeAll(() => requireCassandra(), 60_000);
afterAll(() => dropKeyspace(keyspace), 120_000);
