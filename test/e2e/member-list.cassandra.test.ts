import { dropKeyspace, requireCassandra, testKeyspace } from '../integration/cassandra/support';
import { useCassandra } from './harness';
// The suite's hooks start the server when they run, after this file has switched the backend below.
import './member-list.test';

// The member-list suite, unchanged, on Cassandra (a fresh keyspace on the loopback cluster, dc1): rosters are
// read through the member repository's paging on this driver too. Fails saying what to start when no node answers.
const keyspace = testKeyspace('e2e_member_list');
useCassandra(keyspace);
jest.setTimeout(180_000);

beforeAll(() => requireCassandra(), 60_000);
afterAll(() => dropKeyspace(keyspace), 120_000);
