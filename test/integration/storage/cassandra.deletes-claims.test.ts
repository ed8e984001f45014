import { SnowflakeGenerator } from '@parley/common';
import { CassandraStorage, type ClaimMismatch, type Storage } from '@parley/storage';
import { messageRecord, userRecord } from '@parley/storage/testing';
import { Client, types } from 'cassandra-driver';
import { cassandraSettings, dropKeyspace, requireCassandra, testKeyspace } from '../cassandra/support';

// A real Cassandra node on 127.0.0.1:9042 (`npm run cassandra:up`): a fresh keyspace (seconds of schema) and
// 120,000 messages written by the bulk writer into one bucket; then claims that disagree with their holders.
jest.setTimeout(600_000);

const keyspace = testKeyspace('parley_purge');
/** More rows in one bucket than Cassandra's default tombstone_failure_threshold (100,000). */
const ROWS = 120_000;
const WRITE_CHUNK = 2_000;

let storage: CassandraStorage;
let cql: Client;

beforeAll(async () => {
  await requireCassandra();
  storage = new CassandraStorage(cassandraSettings({ keyspace }));
  await storage.migrate();
  cql = new Client({ contactPoints: ['127.0.0.1'], localDataCenter: 'dc1', keyspace });
});

afterAll(async () => {
  await cql?.shutdown();
  await storage?.close();
  await dropKeyspace(keyspace).catch(() => undefined);
});

const long = (id: string): types.Long => types.Long.fromString(id);

async function bucketsOf(channelId: string): Promise<number[]> {
  const rs = await cql.execute('SELECT bucket FROM channel_buckets WHERE channel_id = ?', [long(channelId)], {
    prepare: true,
  });
  return rs.rows.map((r) => r.get('bucket') as number).sort((a, b) => a - b);
}

async function purge(target: Storage, channelId: string): Promise<number> {
  let steps = 0;
  while (await target.messages.purgeChannelStep(channelId)) steps++;
  return steps;
}

it(`purges a bucket of ${ROWS} messages with no read through tombstones`, async () => {
  const channelId = '9000000000000000001';
  const authorId = '9000000000000000002';
  // One millisecond per 4,096 ids at most, starting a day ago: every id in today's 10-day bucket or the one
  // before (a day boundary may split them), far past the tombstone threshold either way.
  let clock = Date.now() - 86_400_000;
  const ids = new SnowflakeGenerator(6, 1, () => clock++);
  for (let written = 0; written < ROWS; written += WRITE_CHUNK) {
    const batch = Array.from({ length: WRITE_CHUNK }, () =>
      messageRecord({ id: ids.next(), channelId, authorId, content: 'x' }),
    );
    expect(await storage.bulk.write('messages', batch)).toEqual([]);
  }
  const latest = await storage.messages.listLatest(channelId, 1);
  expect(latest).toHaveLength(1);
  await storage.reactions.add(channelId, latest[0].id, '🔥', authorId);
  const buckets = await bucketsOf(channelId);
  expect(buckets.length).toBeLessThanOrEqual(2);

  const steps = await purge(storage, channelId);
  expect(steps).toBeGreaterThan(0);
  expect(steps).toBeLessThanOrEqual(2);
  // Reads of the purged channel answer at once: the partitions hold one tombstone each.
  expect(await storage.messages.listLatest(channelId, 50)).toEqual([]);
  expect(await storage.messages.listAfter(channelId, '0', 50)).toEqual([]);
  expect(await storage.reactions.counts(channelId, [latest[0].id], authorId)).toEqual([]);
  const rows = await cql.execute(
    'SELECT count(*) AS n FROM messages WHERE channel_id = ? AND bucket IN ?',
    [long(channelId), buckets],
    { prepare: true },
  );
  expect(Number(rows.first().get('n'))).toBe(0);
  expect(await bucketsOf(channelId)).toEqual([]);
});

it('resumes after a crash between a bucket partition delete and its bucket marker removal', async () => {
  const channelId = '9000000000000000003';
  const authorId = '9000000000000000004';
  const day = 86_400_000;
  let clock = Date.now() - 100 * day;
  const ids = new SnowflakeGenerator(6, 2, () => clock);
  const messages = [];
  for (let b = 0; b < 10; b++) {
    clock = Date.now() - (10 - b) * 10 * day;
    for (let i = 0; i < 20; i++) {
      clock++;
      messages.push(messageRecord({ id: ids.next(), channelId, authorId }));
    }
  }
  expect(await storage.bulk.write('messages', messages)).toEqual([]);
  // The step the crash cut short: the oldest bucket's partition went, its marker did not.
  const buckets = await bucketsOf(channelId);
  expect(buckets.length).toBeGreaterThanOrEqual(10);
  await cql.execute(
    'DELETE FROM messages WHERE channel_id = ? AND bucket = ?',
    [long(channelId), buckets[0]],
    {
      prepare: true,
    },
  );
  // Another process (fresh caches) runs the retried job to the end.
  const restarted = new CassandraStorage(cassandraSettings({ keyspace }));
  try {
    expect(await purge(restarted, channelId)).toBeGreaterThan(0);
    expect(await restarted.messages.listLatest(channelId, 10)).toEqual([]);
    expect(await bucketsOf(channelId)).toEqual([]);
  } finally {
    await restarted.close();
  }
});

it('verify --claims names claims without a holder and holders without a claim', async () => {
  const ghost = 'ghost_9000000000000000010';
  await cql.execute(
    'INSERT INTO users_by_username (username_lower, user_id) VALUES (?, ?) IF NOT EXISTS',
    [ghost, long('9000000000000000010')],
    { prepare: true },
  );
  const renamed = userRecord('9000000000000000011');
  await storage.users.create(renamed);
  // A row rewritten without its claims (what a crash between the two steps of a rename leaves).
  await cql.execute('UPDATE users SET username = ? WHERE id = ?', ['sneaky', long(renamed.id)], {
    prepare: true,
  });
  await cql.execute(
    'INSERT INTO dm_pairs (user_low, user_high, channel_id) VALUES (?, ?, ?) IF NOT EXISTS',
    [long('9000000000000000012'), long('9000000000000000013'), long('9000000000000000014')],
    { prepare: true },
  );

  const found: ClaimMismatch[] = [];
  const counts = await storage.bulk.reconcileClaims((m) => found.push(m));
  expect(found).toEqual(
    expect.arrayContaining([
      {
        kind: 'username',
        key: ghost,
        problem: 'the claim names user 9000000000000000010, who does not exist',
      },
      {
        kind: 'username',
        key: renamed.username.toLowerCase(),
        problem: 'the claim names user 9000000000000000011, whose username is now sneaky',
      },
      { kind: 'username', key: 'sneaky', problem: 'user 9000000000000000011 has it but no claim does' },
      {
        kind: 'dm_pair',
        key: '9000000000000000012:9000000000000000013',
        problem: 'the claim names channel 9000000000000000014, which does not exist',
      },
    ]),
  );
  expect(found).toHaveLength(4);
  expect(counts.username).toBeGreaterThanOrEqual(2);
  expect(counts.dm_pair).toBeGreaterThanOrEqual(1);
});
