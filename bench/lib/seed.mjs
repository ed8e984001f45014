// Seeds a SQLite database file for a benchmark BEFORE the server opens it: users with bearer tokens and guilds
// with members, written with the compiled storage driver (the server's own code, migrations included) instead of
// `POST /auth/register`, which costs an argon2 hash per user. Tokens are minted and stored the way the auth
// service does it (32 random bytes, base64url; only the SHA-256 hex is stored). Seeded users have no usable
// password (nobody logs in with them).
//
// Used as a forked process (`seedDatabase()` below forks it) so the orchestrator never loads SQLite itself.
import { fork } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';

const ROOT = new URL('../..', import.meta.url).pathname;

/**
 * plan: {path, idleUsers, guilds: [{members}]}. Resolves to
 * {idle: [{id, token}], guilds: [{guildId, channelId, members: [{id, token}]}]}, the first member owning the guild.
 */
export function seedDatabase(plan, { timeoutMs = 120_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = fork(new URL(import.meta.url).pathname, ['--child'], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('seeding timed out'));
    }, timeoutMs);
    child.once('message', (msg) => {
      clearTimeout(timer);
      child.kill();
      msg.ok ? resolve(msg.result) : reject(new Error(msg.error));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code) reject(new Error(`seeding exited ${code}`));
    });
    child.send(plan);
  });
}

async function seed({ path, idleUsers = 0, guilds = [] }) {
  const require = createRequire(import.meta.url);
  const { openSqlite } = require('./sqlite.cjs');
  const { SnowflakeGenerator, DEFAULT_EVERYONE_PERMISSIONS, ChannelType } = require(
    `${ROOT}dist/libs/common/src`,
  );
  const storage = openSqlite(path);
  await storage.migrate();
  // Node 127 of region 0: disjoint from the ids the server (node 0 by default) mints later.
  const ids = new SnowflakeGenerator(0, 127);
  const run = randomBytes(3).toString('hex');
  const now = Date.now();
  let counter = 0;
  const makeUsers = async (n) => {
    const out = [];
    for (let i = 0; i < n; i += 1000) {
      const users = [];
      const tokens = [];
      for (let j = i; j < Math.min(n, i + 1000); j++) {
        const id = ids.next();
        const name = `seed${run}_${counter++}`;
        const token = randomBytes(32).toString('base64url');
        users.push({
          id,
          username: name,
          email: `${name}@bench.test`,
          displayName: null,
          avatar: null,
          passwordHash: '!seeded-no-password',
          createdAt: now,
          emailVerified: true,
          mfaSecret: null,
          mfaBackupCodes: [],
        });
        tokens.push({
          tokenHash: createHash('sha256').update(token).digest('hex'),
          userId: id,
          createdAt: now,
          expiresAt: null,
        });
        out.push({ id, token });
      }
      for (const [table, records] of [
        ['users', users],
        ['tokens', tokens],
      ]) {
        const failed = await storage.bulk.write(table, records);
        if (failed.length) throw new Error(`seeding ${table}: ${failed[0].error.message}`);
      }
    }
    return out;
  };

  const idle = await makeUsers(idleUsers);
  const seeded = [];
  for (const { members: n } of guilds) {
    const members = await makeUsers(n);
    const guildId = ids.next();
    const channelId = ids.next();
    // What GuildService.create writes: the guild, @everyone, #general and the owner's membership.
    await storage.guilds.createWithDefaults(
      {
        id: guildId,
        name: 'bench guild',
        icon: null,
        ownerId: members[0].id,
        createdAt: now,
        defaultMessageNotifications: 0,
      },
      {
        id: guildId,
        guildId,
        name: '@everyone',
        permissions: DEFAULT_EVERYONE_PERMISSIONS.toString(),
        color: 0,
        position: 0,
      },
      [
        {
          id: channelId,
          type: ChannelType.TEXT,
          guildId,
          name: 'general',
          topic: null,
          parentId: null,
          position: 0,
          recipients: [],
          overwrites: [],
        },
      ],
      { guildId, userId: members[0].id, nick: null, roles: [], joinedAt: now },
    );
    for (let i = 1; i < members.length; i += 1000) {
      const failed = await storage.bulk.write(
        'members',
        members.slice(i, i + 1000).map((m) => ({
          guildId,
          userId: m.id,
          nick: null,
          roles: [],
          joinedAt: now,
        })),
      );
      if (failed.length) throw new Error(`seeding members: ${failed[0].error.message}`);
    }
    seeded.push({ guildId, channelId, members });
  }
  await storage.close();
  return { idle, guilds: seeded };
}

if (process.argv[2] === '--child') {
  process.on('disconnect', () => process.exit(1));
  process.once('message', (plan) => {
    seed(plan).then(
      (result) => process.send({ ok: true, result }, () => process.exit(0)),
      (err) => process.send({ ok: false, error: String(err?.stack ?? err) }, () => process.exit(1)),
    );
  });
}
