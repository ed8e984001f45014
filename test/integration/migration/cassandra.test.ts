import { join } from 'node:path';
import {
  compare,
  exportTo,
  importFrom,
  migrate,
  openSource,
  openTarget,
  type Endpoint,
  type EndpointSpec,
} from '@parley/migration';
import { CassandraStorage, SqliteStorage, searchTokens, type Storage } from '@parley/storage';
import { dropKeyspace, requireCassandra, testKeyspace } from '../cassandra/support';
import { expectUploadUsageAgrees, seededSqlite, tempDir, testConfig } from './support';

// SQLite -> Cassandra on the real node (`npm run cassandra:up`), through the library: the copied
// keyspace answers the repositories exactly as the SQLite file did; a changed source is caught up;
// exports move between the backends. The CLI, SIGKILL and the API on Cassandra are in test/e2e/migration.test.ts.
jest.setTimeout(300_000);

const dir = tempDir();
const keyspace = testKeyspace('parley_migrate');
const imported = testKeyspace('parley_import');
const config = testConfig({ keyspace });
const sourceSpec = { kind: 'sqlite' as const, path: join(dir.path, 'source.db') };
const cassandraSpec: EndpointSpec = { kind: 'cassandra', keyspace };
let sample: Awaited<ReturnType<typeof seededSqlite>>;
let source: Endpoint;
let target: Endpoint;

beforeAll(async () => {
  await requireCassandra();
  sample = await seededSqlite(sourceSpec.path, { users: 40, guilds: 3, channels: 4, messages: 4000, dms: 8 });
  source = await openSource(sourceSpec, config);
  target = await openTarget(cassandraSpec, config);
});

afterAll(async () => {
  await source?.close();
  await target?.close();
  await dropKeyspace(keyspace).catch(() => undefined);
  await dropKeyspace(imported).catch(() => undefined);
  dir.remove();
});

/** Both databases through the repositories: what the API would read. */
async function bothStorages<T>(work: (sqlite: Storage, cassandra: Storage) => Promise<T>): Promise<T> {
  const sqlite = new SqliteStorage({ ...config.database.sqlite, path: sourceSpec.path });
  const cassandra = new CassandraStorage(config.database.cassandra);
  try {
    return await work(sqlite, cassandra);
  } finally {
    await sqlite.close();
    await cassandra.close();
  }
}

/**
 * The search index is complete on `copy`: for words taken from the source's messages (and a prefix of each),
 * every searchable channel answers with the same ids and totals as the source SQLite file, which indexes by
 * trigger. On Cassandra migrate/import write each message's search posting (message_search) beside it.
 */
async function expectSearchAgrees(original: Storage, copy: Storage): Promise<void> {
  const words = new Set<string>();
  for (const channelId of sample.channels.slice(0, 2))
    for (const m of await original.messages.listLatest(channelId, 30))
      for (const token of searchTokens(m.content).slice(0, 2)) words.add(token);
  expect(words.size).toBeGreaterThan(3);
  // Each guild's channels together (a guild search), and each DM alone.
  const scopes = new Map<string, { guildId: string | null; channelIds: string[] }>();
  for (const channelId of sample.channels) {
    const channel = await original.channels.findById(channelId);
    if (!channel) continue;
    const key = channel.guildId ?? channel.id;
    const scope = scopes.get(key) ?? { guildId: channel.guildId, channelIds: [] };
    scope.channelIds.push(channel.id);
    scopes.set(key, scope);
  }
  expect(scopes.size).toBeGreaterThan(1);
  for (const word of [...words].slice(0, 12)) {
    let found = 0;
    for (const terms of [
      [{ tokens: [word], prefix: false }],
      [{ tokens: [word.slice(0, 3)], prefix: true }],
    ]) {
      for (const { guildId, channelIds } of scopes.values()) {
        const query = {
          guildId,
          channelIds,
          terms,
          authorIds: [],
          mentions: [],
          has: [],
          offset: 0,
          limit: 25,
        };
        const [want, got] = await Promise.all([
          original.messageSearch.search(query),
          copy.messageSearch.search(query),
        ]);
        found += want.total;
        expect({ total: got.total, ids: got.messages.map((m) => m.id) }).toEqual({
          total: want.total,
          ids: want.messages.map((m) => m.id),
        });
      }
    }
    expect(found).toBeGreaterThan(0);
  }
}

/** Every message of `author` through the author index (migration 0043), newest first. */
async function byAuthor(storage: Storage, author: string, since: string): Promise<string[]> {
  const ids: string[] = [];
  let before: string | null = null;
  for (let pages = 0; pages < 200; pages++) {
    const page = await storage.messages.listByAuthor(author, { before, since, limit: 100 });
    ids.push(...page.messages.map((m) => m.id));
    if (page.cursor === null) return ids;
    before = page.cursor;
  }
  throw new Error('listByAuthor never ended');
}

/** The author index is complete on `copy`: migrate and import write each message's row beside it. */
async function expectAuthorIndexAgrees(original: Storage, copy: Storage): Promise<void> {
  let found = 0;
  for (const author of sample.users.slice(0, 3)) {
    const want = await byAuthor(original, author, '0');
    found += want.length;
    if (want.length === 0) continue;
    expect(await byAuthor(copy, author, want[want.length - 1])).toEqual(want);
  }
  expect(found).toBeGreaterThan(0);
}

function storageOf(endpoint: Endpoint): Storage {
  if (!endpoint.storage) throw new Error(`${endpoint.label} was not opened as a target`);
  return endpoint.storage;
}

const byEmoji = <T extends { emoji: string }>(list: T[]) =>
  [...list].sort((a, b) => a.emoji.localeCompare(b.emoji));

describe('migrate SQLite -> Cassandra', () => {
  it('copies and verifies every table', async () => {
    const result = await migrate(source, target, { batchSize: 500 });
    expect(result.verified).toBe(true);
    const messages = result.copy.find((t) => t.table === 'messages');
    expect(messages).toMatchObject({ rows: 4000, copied: 4000 });
    expect(result.comparison?.tables.find((t) => t.table === 'reactions')?.target.count).toBe(
      sample.reactions,
    );
    expect(result.comparison?.channels.length).toBeGreaterThanOrEqual(sample.channels.length - 1);
  });

  it('the keyspace answers the repositories as the SQLite file does', async () => {
    await bothStorages(async (sqlite, cassandra) => {
      for (const channelId of sample.channels) {
        const newest = await sqlite.messages.listLatest(channelId, 50);
        expect(await cassandra.messages.listLatest(channelId, 50)).toEqual(newest);
        if (newest.length === 50) {
          const before = newest[49].id;
          expect(await cassandra.messages.listBefore(channelId, before, 100)).toEqual(
            await sqlite.messages.listBefore(channelId, before, 100),
          );
        }
        const ids = newest.map((m) => m.id);
        const viewer = sample.users[0];
        expect(byEmoji(await cassandra.reactions.counts(channelId, ids, viewer))).toEqual(
          byEmoji(await sqlite.reactions.counts(channelId, ids, viewer)),
        );
      }
      for (const userId of sample.users.slice(0, 10)) {
        const user = await sqlite.users.findById(userId);
        expect(await cassandra.users.findByLogin(user?.username.toUpperCase() ?? '')).toEqual(user);
        expect(await cassandra.users.findByLogin(user?.email ?? '')).toEqual(user);
        const byChannel = (a: { channelId: string }, b: { channelId: string }) =>
          a.channelId.localeCompare(b.channelId);
        expect((await cassandra.readStates.list(userId)).sort(byChannel)).toEqual(
          (await sqlite.readStates.list(userId)).sort(byChannel),
        );
        expect((await cassandra.members.listGuildIds(userId)).sort()).toEqual(
          (await sqlite.members.listGuildIds(userId)).sort(),
        );
        expect((await cassandra.dms.listForUser(userId, { limit: 1000 })).map((c) => c.id).sort()).toEqual(
          (await sqlite.dms.listForUser(userId, { limit: 1000 })).map((c) => c.id).sort(),
        );
      }
      for (const guildId of sample.guilds) {
        expect(await cassandra.guilds.findById(guildId)).toEqual(await sqlite.guilds.findById(guildId));
        expect(await cassandra.bans.list(guildId, { limit: 100 })).toEqual(
          await sqlite.bans.list(guildId, { limit: 100 }),
        );
        const sortRoles = <T extends { id: string }>(list: T[]) =>
          [...list].sort((a, b) => a.id.localeCompare(b.id));
        expect(sortRoles(await cassandra.roles.list(guildId))).toEqual(
          sortRoles(await sqlite.roles.list(guildId)),
        );
        const members = (list: { roles: string[] }[]) =>
          list.map((m) => ({ ...m, roles: [...m.roles].sort() }));
        expect(members(await cassandra.members.list(guildId, { limit: 1000 }))).toEqual(
          members(await sqlite.members.list(guildId, { limit: 1000 })),
        );
        const channels = (list: { id: string }[]) => [...list].sort((a, b) => a.id.localeCompare(b.id));
        expect(channels(await cassandra.channels.listByGuild(guildId))).toEqual(
          channels(await sqlite.channels.listByGuild(guildId)),
        );
        expect(await cassandra.invites.listByGuild(guildId)).toEqual(
          await sqlite.invites.listByGuild(guildId),
        );
      }
      // The claims work on the copy: a taken username or DM pair stays taken.
      const taken = await sqlite.users.findById(sample.users[5]);
      await expect(
        cassandra.users.create({
          ...(taken as NonNullable<typeof taken>),
          id: '1',
          email: 'new@example.test',
        }),
      ).rejects.toMatchObject({ field: 'username' });
    });
  });

  it('leaves the search and author indexes complete: the keyspace answers as the SQLite file does', async () => {
    await bothStorages(expectSearchAgrees);
    await bothStorages(expectAuthorIndexAgrees);
    // Upload usage is derived: the copy's counters equal the source's triggers' totals.
    await bothStorages((sqlite, cassandra) => expectUploadUsageAgrees(sqlite, cassandra, sample.users));
  });

  it('a second run after the source changed repairs exactly the changes and verifies', async () => {
    await bothStorages(async (sqlite) => {
      const channelId = sample.channels[0];
      const [edited, deleted] = await sqlite.messages.listLatest(channelId, 2);
      await sqlite.messages.update(channelId, edited.id, {
        content: 'edited after the bulk copy',
        editedAt: Date.now(),
      });
      await sqlite.messages.delete(channelId, deleted.id);
      await sqlite.reactions.deleteForMessage(channelId, deleted.id);
      await sqlite.reactions.add(channelId, edited.id, '🔥', sample.users[1]);
      await sqlite.users.update(sample.users[6], { username: 'moved_on' });
      await sqlite.readStates.ack(sample.users[2], channelId, edited.id);
    });
    const result = await migrate(source, target);
    expect(result.copy.every((t) => t.skipped)).toBe(true);
    expect(result.repairs).toHaveLength(1);
    expect(result.verified).toBe(true);
    await bothStorages(async (sqlite, cassandra) => {
      const user = await sqlite.users.findById(sample.users[6]);
      expect(await cassandra.users.findByLogin('moved_on')).toEqual(user);
      // The old username was given back with the move.
      expect(await cassandra.users.findByLogin(`sample_6_${sample.users[6].slice(-6)}`)).toBeNull();
      expect(await cassandra.messages.listLatest(sample.channels[0], 20)).toEqual(
        await sqlite.messages.listLatest(sample.channels[0], 20),
      );
      // A rerun over copied attachments adds nothing to the counters.
      await expectUploadUsageAgrees(sqlite, cassandra, sample.users);
    });
  });

  it('exports the keyspace and imports it into SQLite and into another keyspace, equal by verify', async () => {
    const file = join(dir.path, 'cassandra.ndjson.gz');
    const exported = await exportTo(target.bulk, file);
    expect(exported.counts.messages).toBe(3999);

    const sqliteCopy = await openTarget(
      { kind: 'sqlite', path: join(dir.path, 'from-cassandra.db') },
      config,
    );
    const other = await openTarget({ kind: 'cassandra', keyspace: imported }, config);
    try {
      expect((await importFrom(sqliteCopy.bulk, file)).problems).toEqual([]);
      expect((await compare(source.bulk, sqliteCopy.bulk)).equal).toBe(true);
      await bothStorages(async (_sqlite, cassandra) => expectSearchAgrees(cassandra, storageOf(sqliteCopy)));
      const result = await importFrom(other.bulk, file);
      expect(result.problems).toEqual([]);
      expect((await compare(source.bulk, other.bulk)).equal).toBe(true);
      await bothStorages(async (_sqlite, cassandra) => expectSearchAgrees(cassandra, storageOf(other)));
      // Idempotent: the claims this import made count as its own the second time.
      expect((await importFrom(other.bulk, file)).problems).toEqual([]);
      expect((await compare(source.bulk, other.bulk)).equal).toBe(true);
      // Usage is not in the export: each import recounts it from the attachments, once however often it runs.
      await bothStorages(async (sqlite) => {
        await expectUploadUsageAgrees(sqlite, storageOf(sqliteCopy), sample.users);
        await expectUploadUsageAgrees(sqlite, storageOf(other), sample.users);
      });
    } finally {
      await sqliteCopy.close();
      await other.close();
    }
  });
});
