import { SnowflakeGenerator } from '@parley/common';
import {
  CassandraStorage,
  type MessageRecord,
  SqliteStorage,
  type Storage,
  bucketOf,
  defaultCassandraMigrationsDir,
  defaultMigrationsDir,
} from '@parley/storage';
import { messageRecord } from '@parley/storage/testing';
import { OldSchema } from './old-schema';
import { cassandraSettings, dropKeyspace, requireCassandra, testKeyspace } from '../cassandra/support';

/**
 * Migration 0043 on a database that already holds messages: an author's messages written before it are found
 * through the author index afterwards (SQLite: the index is built by the migration; Cassandra: its code step
 * fills `messages_by_author` from `messages`). Cassandra needs `npm run cassandra:up`.
 */
jest.setTimeout(180_000);

const ids = new SnowflakeGenerator(1, 3);
const keyspace = testKeyspace('parley_author_upgrade');
const scratch = new OldSchema();

/** A copy of a driver's migrations without 0043 and later: the schema before the author index. */
const migrationsBefore0043 = (source: string): string => scratch.migrations(source, (n) => n >= 43);

/** Alice's messages in a guild channel, a channel of another guild and a DM; Bob's between them. */
function messages(): { alice: string; hers: MessageRecord[]; all: MessageRecord[] } {
  const [alice, bob] = [ids.next(), ids.next()];
  const places = [
    [ids.next(), ids.next()],
    [ids.next(), ids.next()],
    [ids.next(), null],
  ] as const;
  const all: MessageRecord[] = [];
  for (let i = 0; i < 3; i++)
    for (const [channelId, guildId] of places)
      for (const authorId of [alice, bob])
        all.push(messageRecord({ id: ids.next(), channelId, guildId, authorId, content: `m${i}` }));
  return { alice, hers: all.filter((m) => m.authorId === alice), all };
}

async function listed(storage: Storage, author: string): Promise<string[]> {
  const seen: string[] = [];
  let before: string | null = null;
  for (let pages = 0; pages < 20; pages++) {
    const page = await storage.messages.listByAuthor(author, { before, since: author, limit: 4 });
    seen.push(...page.messages.map((m) => m.id));
    if (page.cursor === null) return seen;
    before = page.cursor;
  }
  throw new Error('listByAuthor never ended');
}

const newestFirst = (records: MessageRecord[]): string[] =>
  records.map((m) => m.id).sort((a, b) => (BigInt(b) > BigInt(a) ? 1 : -1));

beforeAll(() => {
  scratch.open('parley-author-migration-');
});

afterAll(async () => {
  scratch.close();
  await dropKeyspace(keyspace).catch(() => undefined);
});

describe('the author index after migration 0043', () => {
  it('SQLite: finds the messages stored before it', async () => {
    const settings = {
      path: scratch.path('existing.db'),
      max_open_conns: 1,
      busy_timeout: 5000,
      cache_size: -2000,
      mmap_size: 0,
      synchronous: 'NORMAL' as const,
      wal_autocheckpoint: 1000,
    };
    const { alice, hers, all } = messages();
    const old = new SqliteStorage(settings, migrationsBefore0043(defaultMigrationsDir()));
    await old.migrate();
    for (const m of all) await old.messages.create(m);
    await old.close();

    const upgraded = new SqliteStorage(settings, defaultMigrationsDir());
    try {
      expect(await upgraded.migrate()).toContain('0043_messages_by_author');
      expect(await listed(upgraded, alice)).toEqual(newestFirst(hers));
    } finally {
      await upgraded.close();
    }
  });

  it('Cassandra: its code step indexes the messages stored before it', async () => {
    await requireCassandra();
    const { alice, hers, all } = messages();
    // A fresh keyspace migrated from scratch: schema statements may wait long on a loaded shared cluster.
    const settings = cassandraSettings({ keyspace, request_timeout: 60_000 });
    const old = new CassandraStorage(settings, {
      migrationsDir: migrationsBefore0043(defaultCassandraMigrationsDir()),
    });
    try {
      await old.migrate();
      // Written as the code before 0043 wrote them: the message rows, no author index.
      for (const m of all) {
        await old.session.execute(
          'write',
          `INSERT INTO messages (channel_id, bucket, message_id, guild_id, author_id, content, mention_everyone, pinned, type)
           VALUES (?, ?, ?, ?, ?, ?, false, false, 0)`,
          [
            BigInt(m.channelId),
            bucketOf(m.id),
            BigInt(m.id),
            m.guildId === null ? null : BigInt(m.guildId),
            BigInt(m.authorId),
            m.content,
          ],
          { idempotent: true },
        );
      }
    } finally {
      await old.close();
    }

    const upgraded = new CassandraStorage(settings);
    try {
      expect(await upgraded.migrate()).toContain('0043_messages_by_author');
      expect(await listed(upgraded, alice)).toEqual(newestFirst(hers));
      expect(await upgraded.migrate()).toEqual([]);
    } finally {
      await upgraded.close();
    }
  });
});
