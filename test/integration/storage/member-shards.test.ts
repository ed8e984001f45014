import Database from 'better-sqlite3';
import { SnowflakeGenerator } from '@parley/common';
import {
  CassandraStorage,
  MEMBER_SHARDS,
  type MemberRecord,
  SqliteStorage,
  type Storage,
  defaultCassandraMigrationsDir,
  defaultMigrationsDir,
  memberShard,
} from '@parley/storage';
import { OldSchema } from './old-schema';
import { cassandraSettings, dropKeyspace, requireCassandra, testKeyspace } from '../cassandra/support';
import { RecordingTracker } from '../cassandra/tracker';

/**
 * Migration 0045 on a database that already holds members: Cassandra's code step copies the one-partition
 * `members` into the sharded `guild_members` and builds `members_by_role`; SQLite's builds `member_roles`. Then
 * the index is checked row by row (the contract suite checks it only through role deletion, which a row too
 * many would not show) after joins, role changes, rewrites, leaves, bans, role and guild deletion. Cassandra
 * needs `npm run cassandra:up`.
 */
jest.setTimeout(240_000);

const ids = new SnowflakeGenerator(1, 9);
const keyspace = testKeyspace('parley_member_shards');
const scratch = new OldSchema();

/** A copy of a driver's migrations without 0045 and later: the schema before the shards. */
const migrationsBefore0045 = (source: string): string => scratch.migrations(source, (n) => n >= 45);

const member = (guildId: string, userId: string, roles: string[] = []): MemberRecord => ({
  guildId,
  userId,
  nick: null,
  roles,
  joinedAt: 1_700_000_000_000,
});

/** A guild's members before the upgrade: 60 over every shard, a third of them holding `role`, one timed out. */
function population(guildId: string, role: string, other: string): MemberRecord[] {
  return Array.from({ length: 60 }, (_, i) => ({
    ...member(guildId, ids.next(), i % 3 === 0 ? [role, other] : [other]),
    ...(i === 7 ? { nick: 'seven', communicationDisabledUntil: 1_800_000_000_000 } : {}),
  }));
}

async function everyMember(storage: Storage, guildId: string): Promise<MemberRecord[]> {
  const all: MemberRecord[] = [];
  let after: string | undefined;
  for (let pages = 0; pages < 100; pages++) {
    const page = await storage.members.list(guildId, { limit: 13, after });
    all.push(...page);
    if (page.length < 13) return all;
    after = page[page.length - 1].userId;
  }
  throw new Error('the member list never ended');
}

const byId = (a: { userId: string }, b: { userId: string }) =>
  BigInt(a.userId) < BigInt(b.userId) ? -1 : BigInt(a.userId) > BigInt(b.userId) ? 1 : 0;

beforeAll(() => {
  scratch.open('parley-member-shards-');
});

afterAll(async () => {
  scratch.close();
  await dropKeyspace(keyspace).catch(() => undefined);
});

describe('migration 0045 and the members-by-role index', () => {
  it('SQLite: member_roles is built from the members stored before it and kept by every change', async () => {
    const path = scratch.path('existing.db');
    const settings = {
      path,
      max_open_conns: 1,
      busy_timeout: 5000,
      cache_size: -2000,
      mmap_size: 0,
      synchronous: 'NORMAL' as const,
      wal_autocheckpoint: 1000,
    };
    const [guildId, role, other] = [ids.next(), ids.next(), ids.next()];
    const members = population(guildId, role, other);
    const old = new SqliteStorage(settings, migrationsBefore0045(defaultMigrationsDir()));
    await old.migrate();
    for (const m of members) await old.members.add(m);
    await old.close();

    const storage = new SqliteStorage(settings, defaultMigrationsDir());
    const raw = new Database(path, { readonly: true });
    raw.defaultSafeIntegers(true);
    const holders = (roleId: string): string[] =>
      (
        raw
          .prepare('SELECT user_id FROM member_roles WHERE guild_id = ? AND role_id = ? ORDER BY user_id')
          .all(BigInt(guildId), BigInt(roleId)) as { user_id: bigint }[]
      ).map((r) => r.user_id.toString());
    try {
      expect(await storage.migrate()).toContain('0045_member_roles');
      const truth = (roleId: string) =>
        members
          .filter((m) => m.roles.includes(roleId))
          .sort(byId)
          .map((m) => m.userId);
      expect(holders(role)).toEqual(truth(role));
      expect(holders(other)).toEqual(truth(other));

      // A role given, one taken, a leave, a rewrite: the index follows each.
      const [gets, loses, leaves, rewritten] = [members[1], members[0], members[3], members[6]];
      await storage.members.update(guildId, gets.userId, { roles: [role] });
      await storage.members.update(guildId, loses.userId, { roles: [other] });
      await storage.members.remove(guildId, leaves.userId);
      await storage.members.add({ ...rewritten, roles: [] });
      gets.roles = [role];
      loses.roles = [other];
      rewritten.roles = [];
      members.splice(members.indexOf(leaves), 1);
      expect(holders(role)).toEqual(truth(role));
      expect(holders(other)).toEqual(truth(other));

      await storage.roles.delete(guildId, role);
      await storage.roles.removeFromMembers(guildId, role);
      expect(holders(role)).toEqual([]);
      for (const m of await everyMember(storage, guildId)) expect(m.roles).not.toContain(role);
      expect(holders(other)).toEqual(truth(other));
    } finally {
      raw.close();
      await storage.close();
    }
  });

  it('Cassandra: the code step copies members into their shards and builds the index; changes keep it exact', async () => {
    await requireCassandra();
    // A fresh keyspace migrated from scratch: schema statements may wait long on a loaded shared cluster.
    const settings = cassandraSettings({ keyspace, request_timeout: 60_000 });
    const [guildId, role, other] = [ids.next(), ids.next(), ids.next()];
    const members = population(guildId, role, other);
    const halfRow = ids.next();
    const old = new CassandraStorage(settings, {
      migrationsDir: migrationsBefore0045(defaultCassandraMigrationsDir()),
    });
    try {
      await old.migrate();
      // Written as the code before 0045 wrote them: one partition of the guild.
      for (const m of members)
        await old.session.execute(
          'write',
          `INSERT INTO members (guild_id, user_id, nick, roles, joined_at, communication_disabled_until)
           VALUES (?, ?, ?, ?, ?, ?)`,
          [
            BigInt(guildId),
            BigInt(m.userId),
            m.nick ?? undefined,
            m.roles.map(BigInt),
            new Date(m.joinedAt),
            m.communicationDisabledUntil == null ? undefined : new Date(m.communicationDisabledUntil),
          ],
          { idempotent: true },
        );
      // An edit that raced a leave: no join time, no member.
      await old.session.execute(
        'write',
        'UPDATE members SET nick = ? WHERE guild_id = ? AND user_id = ?',
        ['ghost', BigInt(guildId), BigInt(halfRow)],
        { idempotent: true },
      );
    } finally {
      await old.close();
    }

    const storage = new CassandraStorage(settings);
    const guild = BigInt(guildId);
    const rows = async (query: string, params: unknown[]) =>
      (await storage.session.execute('read', query, params, { idempotent: true })).rows;
    /** Every index row of a role, over all shards, each checked to sit in its member's shard. */
    const holders = async (roleId: string): Promise<string[]> => {
      const found: string[] = [];
      for (let shard = 0; shard < MEMBER_SHARDS; shard++)
        for (const row of await rows(
          'SELECT user_id FROM members_by_role WHERE guild_id = ? AND role_id = ? AND shard = ?',
          [guild, BigInt(roleId), shard],
        )) {
          const user = row.get('user_id') as bigint;
          expect(memberShard(user)).toBe(shard);
          found.push(user.toString());
        }
      return found.sort((a, b) => byId({ userId: a }, { userId: b }));
    };
    const truth = (roleId: string) =>
      members
        .filter((m) => m.roles.includes(roleId))
        .sort(byId)
        .map((m) => m.userId);
    try {
      expect(await storage.migrate()).toContain('0045_member_shards');
      expect(await everyMember(storage, guildId)).toEqual([...members].sort(byId));
      expect(await storage.members.find(guildId, halfRow)).toBeNull();
      const shards = new Set(members.map((m) => memberShard(BigInt(m.userId))));
      expect(shards.size).toBeGreaterThan(MEMBER_SHARDS / 2);
      for (const shard of shards) {
        const n = (
          await rows('SELECT user_id FROM guild_members WHERE guild_id = ? AND shard = ?', [guild, shard])
        ).length;
        expect(n).toBe(members.filter((m) => memberShard(BigInt(m.userId)) === shard).length);
      }
      expect(await holders(role)).toEqual(truth(role));
      expect(await holders(other)).toEqual(truth(other));

      // Changes made by the new code since are newer than the copy: a rerun of the step leaves them.
      const [gets, loses, leaves, rewritten, banned] = [
        members[1],
        members[0],
        members[3],
        members[6],
        members[9],
      ];
      await storage.members.update(guildId, gets.userId, { roles: [role] });
      await storage.members.update(guildId, loses.userId, { roles: [other] });
      await storage.members.remove(guildId, leaves.userId);
      await storage.members.add({ ...rewritten, roles: [] });
      await storage.bans.put({ guildId, userId: banned.userId, reason: null, createdAt: 1 });
      await storage.members.remove(guildId, banned.userId);
      gets.roles = [role];
      loses.roles = [other];
      rewritten.roles = [];
      for (const gone of [leaves, banned]) members.splice(members.indexOf(gone), 1);
      await storage.session.execute(
        'write',
        'DELETE FROM schema_migrations WHERE name = ?',
        ['0045_member_shards'],
        { idempotent: true },
      );
      expect(await storage.migrate()).toEqual(['0045_member_shards']);
      expect(await everyMember(storage, guildId)).toEqual([...members].sort(byId));
      expect(await holders(role)).toEqual(truth(role));
      expect(await holders(other)).toEqual(truth(other));

      // Role deletion empties the role's index partitions and takes it off exactly its holders.
      await storage.roles.delete(guildId, role);
      await storage.roles.removeFromMembers(guildId, role);
      expect(await holders(role)).toEqual([]);
      for (const m of await everyMember(storage, guildId)) expect(m.roles).not.toContain(role);
      expect(await holders(other)).toEqual(truth(other));

      // Guild deletion takes every shard and the index of every role the guild still has.
      await storage.roles.create({
        id: other,
        guildId,
        name: 'other',
        permissions: '0',
        color: 0,
        position: 1,
        mentionable: false,
      });
      await storage.guilds.delete(guildId);
      expect(await holders(other)).toEqual([]);
      for (let shard = 0; shard < MEMBER_SHARDS; shard++)
        expect(
          await rows('SELECT user_id FROM guild_members WHERE guild_id = ? AND shard = ?', [guild, shard]),
        ).toEqual([]);
      expect(await storage.members.listGuildIds(members[2].userId)).toEqual([]);
      expect(await storage.migrate()).toEqual([]);
    } finally {
      await storage.close();
    }
  });

  it('Cassandra: role deletion costs requests by the role, not the guild; a member page is one read per shard', async () => {
    await requireCassandra();
    const tracker = new RecordingTracker();
    const storage = new CassandraStorage(cassandraSettings({ keyspace, request_timeout: 60_000 }), {
      requestTracker: tracker,
    });
    try {
      await storage.migrate(); // the keyspace of the test before: nothing left to apply
      const [guildId, role] = [ids.next(), ids.next()];
      const users = Array.from({ length: 2_000 }, () => ids.next());
      const holders = new Set(users.filter((_, i) => i % 200 === 0)); // 10
      const records = users.map((u) => member(guildId, u, holders.has(u) ? [role] : []));
      for (let i = 0; i < records.length; i += 500)
        expect(await storage.bulk.write('members', records.slice(i, i + 500))).toEqual([]);
      expect(await storage.members.count(guildId)).toBe(2_000);

      tracker.clear();
      await storage.roles.removeFromMembers(guildId, role);
      const sent = tracker.requests.map((r) => r.query);
      // 16 index pages, at most one member read per shard, one rewrite per holder, 16 partition deletes.
      expect(sent.length).toBeLessThanOrEqual(16 + 16 + holders.size + 16);
      expect(sent.filter((q) => /FROM guild_members .*user_id > \?/.test(q))).toEqual([]);
      for (const u of holders) expect((await storage.members.find(guildId, u))?.roles).toEqual([]);

      tracker.clear();
      const page = await storage.members.list(guildId, { limit: 1000 });
      expect(page.map((m) => m.userId)).toEqual(
        [...users].sort((a, b) => byId({ userId: a }, { userId: b })).slice(0, 1000),
      );
      const reads = tracker.matching(/FROM guild_members/);
      expect(reads.length).toBeGreaterThanOrEqual(MEMBER_SHARDS);
      expect(reads.length).toBeLessThanOrEqual(3 * MEMBER_SHARDS);
    } finally {
      await storage.close();
    }
  });
});
