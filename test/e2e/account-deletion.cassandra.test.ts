import { dropKeyspace, requireCassandra } from '../integration/cassandra/support';
import { keyspace } from './account-deletion.cassandra-keyspace';
import './account-deletion.test';

// The account deletion suite on Cassandra (a fresh keyspace on the node or cluster answering on 127.0.0.1:9042,
// dc1), `instance.account_deletion: delete`: the account's messages (a guild it is in, one it has left, a DM)
// are found through `messages_by_author` and deleted; `parley verify --deleted-accounts` reads the keyspace.
jest.setTimeout(180_000);

beforeAll(() => requireCassandra(), 60_000);
afterAll(() => dropKeyspace(keyspace), 120_000);
