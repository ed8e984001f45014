import { SnowflakeGenerator, compareSnowflakes } from '@parley/common';
import { CassandraStorage, bucketOf, defaultCassandraMigrationsDir } from '@parley/storage';
import { OldSchema } from './old-schema';
import { cassandraSettings, dropKeyspace, requireCassandra, testKeyspace } from '../cassandra/support';

/**
 * Migration 0046 on a keyspace that already holds bans, reactions and attachments in their old, unbounded
 * partitions (written here with the statements the code before 0046 used): its code step copies them into the
 * sharded and bucketed tables, so the repositories find every one of them, in order, afterwards; run again it
 * changes nothing. Needs a Cassandra node (`npm run cassandra:up`, or the CI cluster).
 */
jest.setTimeout(300_000);

const ids = new SnowflakeGenerator(1, 9);
const keyspace = testKeyspace('parley_bounded_upgrade');
const scratch = new OldSchema();

const migrationsBefore0046 = (): string =>
  scratch.migrations(defaultCassandraMigrationsDir(), (n) => n >= 46);

const sorted = (values: readonly string[]): string[] => [...values].sort(compareSnowflakes);

beforeAll(() => {
  scratch.open('parley-bounded-migration-');
});

afterAll(async () => {
  scratch.close();
  await dropKeyspace(keyspace).catch(() => undefined);
});

it('Cassandra: the code step of 0046 copies bans, reactions and attachments into bounded partitions', async () => {
  await requireCassandra();
  const settings = cassandraSettings({ keyspace, request_timeout: 60_000 });
  const [guildId, channelId, messageId, uploaderId] = [ids.next(), ids.next(), ids.next(), ids.next()];
  const banned = Array.from({ length: 40 }, () => ids.next());
  const reactors = Array.from({ length: 40 }, () => ids.next());
  const files = Array.from({ length: 12 }, () => ids.next());

  const old = new CassandraStorage(settings, { migrationsDir: migrationsBefore0046() });
  try {
    await old.migrate();
    const write = (query: string, params: unknown[]) =>
      old.session.execute('write', query, params, { idempotent: true });
    for (const userId of banned)
      await write('INSERT INTO bans (guild_id, user_id, reason, created_at) VALUES (?, ?, ?, ?)', [
        BigInt(guildId),
        BigInt(userId),
        userId === banned[0] ? 'spam' : '',
        new Date(1_000),
      ]);
    for (const userId of reactors)
      await write(
        'INSERT INTO reactions_by_bucket (channel_id, bucket, message_id, emoji, user_id) VALUES (?, ?, ?, ?, ?)',
        [BigInt(channelId), bucketOf(messageId), BigInt(messageId), '🔥', BigInt(userId)],
      );
    await old.session.execute(
      'write',
      'UPDATE reaction_counts SET n = n + ? WHERE channel_id = ? AND bucket = ? AND message_id = ? AND emoji = ?',
      [BigInt(reactors.length), BigInt(channelId), bucketOf(messageId), BigInt(messageId), '🔥'],
      { idempotent: false },
    );
    for (const fileId of files) {
      await write(
        `INSERT INTO attachments (id, channel_id, uploader_id, filename, size, content_type, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
        [BigInt(fileId), BigInt(channelId), BigInt(uploaderId), 'a.png', 10n, 'image/png', new Date(1_000)],
      );
      await write('INSERT INTO attachments_by_channel (channel_id, id) VALUES (?, ?)', [
        BigInt(channelId),
        BigInt(fileId),
      ]);
    }
  } finally {
    await old.close();
  }

  const upgraded = new CassandraStorage(settings);
  const check = async (): Promise<void> => {
    const bans = await upgraded.bans.list(guildId, { limit: 1000 });
    expect(bans.map((b) => b.userId)).toEqual(sorted(banned));
    expect(await upgraded.bans.find(guildId, banned[0])).toEqual({
      guildId,
      userId: banned[0],
      reason: 'spam',
      createdAt: 1_000,
    });
    const page = await upgraded.bans.list(guildId, { limit: 10, after: sorted(banned)[9] });
    expect(page.map((b) => b.userId)).toEqual(sorted(banned).slice(10, 20));

    expect(await upgraded.reactions.listUsers(channelId, messageId, '🔥', { limit: 100 })).toEqual(
      sorted(reactors),
    );
    expect(await upgraded.reactions.counts(channelId, [messageId], reactors[3])).toEqual([
      { messageId, emoji: '🔥', count: reactors.length, me: true },
    ]);
    // The one-row check of react(): an old reactor's add is refused, a new one counts.
    expect(await upgraded.reactions.add(channelId, messageId, '🔥', reactors[7])).toBe(false);

    const listed = await upgraded.attachments.listByChannel(channelId, { limit: 100 });
    expect(listed.map((a) => a.id)).toEqual(sorted(files));
  };
  try {
    expect(await upgraded.migrate()).toContain('0046_bounded_partitions');
    await check();
    // Run again (as after an interrupted run): the same rows, nothing counted twice.
    await upgraded.session.execute(
      'write',
      'DELETE FROM schema_migrations WHERE name = ?',
      ['0046_bounded_partitions'],
      {
        idempotent: true,
      },
    );
    expect(await upgraded.migrate()).toEqual(['0046_bounded_partitions']);
    await check();
    expect(await upgraded.migrate()).toEqual([]);
  } finally {
    await upgraded.close();
  }
});
