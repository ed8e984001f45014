import { SnowflakeGenerator } from '@parley/common';
import {
  bucketOf,
  CassandraStorage,
  defaultCassandraMigrationsDir,
  defaultMigrationsDir,
  recountMembers,
  recountReaction,
  SqliteStorage,
} from '@parley/storage';
import { OldSchema } from './old-schema';
import { cassandraSettings, dropKeyspace, requireCassandra, testKeyspace } from '../cassandra/support';

/**
 * Migrations 0012-0014 on a database that already holds data: materialised reaction counts (0012,
 * Cassandra), maintained member counts (0013, both drivers) and mention snapshots (0014, Cassandra) start
 * from what was stored before them, and the request paths keep them from there. The Cassandra recount (the
 * repair after a timed-out lightweight transaction) brings a drifted counter back. Cassandra needs
 * `npm run cassandra:up`.
 */
jest.setTimeout(180_000);

const ids = new SnowflakeGenerator(1, 5);
const keyspace = testKeyspace('parley_counts_upgrade');
const scratch = new OldSchema();

/**
 * A copy of a driver's migrations without 0012-0014: the schema before these counts (later ones kept, except
 * 0045 and after: the old code wrote members into `members`, which 0045 copies into its shards).
 */
const migrationsBefore0012 = (source: string): string =>
  scratch.migrations(source, (n) => (n >= 12 && n <= 14) || n >= 45);

beforeAll(() => {
  scratch.open('parley-counts-migration-');
});

afterAll(async () => {
  scratch.close();
  await dropKeyspace(keyspace).catch(() => undefined);
});

describe('counts after migrations 0012-0014', () => {
  it('SQLite: counts the members stored before 0013, then follows joins, leaves and guild deletion', async () => {
    const settings = {
      path: scratch.path('existing.db'),
      max_open_conns: 1,
      busy_timeout: 5000,
      cache_size: -2000,
      mmap_size: 0,
      synchronous: 'NORMAL' as const,
      wal_autocheckpoint: 1000,
    };
    const [guildId, owner, a, b] = [ids.next(), ids.next(), ids.next(), ids.next()];
    const member = (userId: string) => ({ guildId, userId, nick: null, roles: [], joinedAt: 1 });
    const old = new SqliteStorage(settings, migrationsBefore0012(defaultMigrationsDir()));
    await old.migrate();
    await old.guilds.createWithDefaults(
      { id: guildId, name: 'g', icon: null, ownerId: owner, createdAt: 1, defaultMessageNotifications: 0 },
      {
        id: guildId,
        guildId,
        name: '@everyone',
        permissions: '0',
        color: 0,
        position: 0,
        mentionable: false,
      },
      [],
      member(owner),
    );
    for (const userId of [a, b]) await old.members.add(member(userId));
    await old.close();

    const upgraded = new SqliteStorage(settings, defaultMigrationsDir());
    try {
      expect(await upgraded.migrate()).toContain('0013_guild_member_counts');
      expect(await upgraded.members.count(guildId)).toBe(3);
      await upgraded.members.remove(guildId, a);
      await upgraded.members.add(member(b)); // a rejoin: no second count
      expect(await upgraded.members.count(guildId)).toBe(2);
      await upgraded.guilds.delete(guildId);
      expect(await upgraded.members.count(guildId)).toBe(0);
    } finally {
      await upgraded.close();
    }
  });

  it('Cassandra: code steps count reactions and members stored before them; unread mentions read the same', async () => {
    await requireCassandra();
    const [channelId, messageId, guildId, reader] = [ids.next(), ids.next(), ids.next(), ids.next()];
    const fans = [ids.next(), ids.next(), ids.next()];
    const members = [ids.next(), ids.next(), ids.next(), ids.next()];
    const [channel, message, guild, user] = [channelId, messageId, guildId, reader].map(BigInt);
    const bucket = bucketOf(messageId);
    const old = new CassandraStorage(cassandraSettings({ keyspace }), {
      migrationsDir: migrationsBefore0012(defaultCassandraMigrationsDir()),
    });
    try {
      await old.migrate();
      // Written as the code before 0012 wrote them: plain rows, no counters beside them.
      const write = (query: string, params: unknown[]) =>
        old.session.execute('write', query, params, { idempotent: true });
      for (const [emoji, users] of [
        ['👍', fans],
        ['❤️', fans.slice(0, 1)],
      ] as const)
        for (const fan of users)
          await write(
            'INSERT INTO reactions_by_bucket (channel_id, bucket, message_id, emoji, user_id) VALUES (?, ?, ?, ?, ?)',
            [channel, bucket, message, emoji, BigInt(fan)],
          );
      for (const m of members)
        await write('INSERT INTO members (guild_id, user_id, joined_at) VALUES (?, ?, ?)', [
          guild,
          BigInt(m),
          new Date(),
        ]);
      // Two unread mentions as the old ack-subtracts model held them, with a read position.
      await write('INSERT INTO read_states (user_id, channel_id, last_message_id) VALUES (?, ?, ?)', [
        user,
        channel,
        message,
      ]);
      await old.session.execute(
        'write',
        'UPDATE read_state_mentions SET mentions = mentions + 2 WHERE user_id = ? AND channel_id = ?',
        [user, channel],
        { idempotent: false },
      );
    } finally {
      await old.close();
    }

    const upgraded = new CassandraStorage(cassandraSettings({ keyspace }));
    try {
      expect(await upgraded.migrate()).toEqual(
        expect.arrayContaining([
          '0012_reaction_counts',
          '0013_guild_member_counts',
          '0014_mentions_and_nonces',
        ]),
      );
      expect(await upgraded.reactions.counts(channelId, [messageId], fans[0])).toEqual([
        { messageId, emoji: '❤️', count: 1, me: true },
        { messageId, emoji: '👍', count: 3, me: true },
      ]);
      expect(await upgraded.members.count(guildId)).toBe(4);
      expect(await upgraded.readStates.list(reader)).toEqual([
        { userId: reader, channelId, lastMessageId: messageId, mentionCount: 2 },
      ]);

      // From here the request paths keep them; a second migrate changes nothing.
      expect(await upgraded.reactions.add(channelId, messageId, '👍', reader)).toBe(true);
      await upgraded.members.remove(guildId, members[0]);
      await upgraded.readStates.ack(reader, channelId, messageId);
      expect(await upgraded.migrate()).toEqual([]);
      expect(await upgraded.reactions.counts(channelId, [messageId], reader)).toEqual([
        { messageId, emoji: '❤️', count: 1, me: false },
        { messageId, emoji: '👍', count: 4, me: true },
      ]);
      expect(await upgraded.members.count(guildId)).toBe(3);
      expect((await upgraded.readStates.list(reader))[0].mentionCount).toBe(0);

      // The repair after an unknown outcome: a counter drifted by hand is brought back to the rows.
      await upgraded.session.execute(
        'write',
        'UPDATE reaction_counts SET n = n + 5 WHERE channel_id = ? AND bucket = ? AND message_id = ? AND emoji = ?',
        [channel, bucket, message, '👍'],
        { idempotent: false },
      );
      await upgraded.session.execute(
        'write',
        'UPDATE guild_member_counts SET n = n - 2 WHERE guild_id = ?',
        [guild],
        { idempotent: false },
      );
      expect(await recountReaction(upgraded.session, [channel, bucket, message, '👍'])).toBe(4);
      expect(await recountMembers(upgraded.session, guild)).toBe(3);
      expect(
        (await upgraded.reactions.counts(channelId, [messageId], reader)).find((c) => c.emoji === '👍')
          ?.count,
      ).toBe(4);
      expect(await upgraded.members.count(guildId)).toBe(3);
    } finally {
      await upgraded.close();
    }
  });
});
