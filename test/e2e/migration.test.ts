import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { Client as Cql } from 'cassandra-driver';
import { dropKeyspace, requireCassandra, testKeyspace } from '../integration/cassandra/support';
import { Client, type ServerProcess, parleyCli, startServer, tempDir } from './harness';

/**
 * The operator's path end to end, with real processes: a community built through the REST API on SQLite,
 * `npx parley migrate` into a fresh keyspace on the Cassandra node (`npm run cassandra:up`), then the
 * monolith on Cassandra answering exactly as it did on SQLite; a migration killed with SIGKILL and
 * resumed; verify catching a tampered message; export and import between the backends; a corrupt import.
 */
jest.setTimeout(600_000);

const PASSWORD = 'correct horse battery';
const dir = tempDir('parley-migration-');
const sqlitePath = join(dir.path, 'parley.db');
const keyspace = testKeyspace('parley_e2e_migrate');
const killedKeyspace = testKeyspace('parley_e2e_killed');
const importedKeyspace = testKeyspace('parley_e2e_import');
const onCassandra = (ks: string) => ({
  PARLEY__DATABASE__BACKEND: 'cassandra',
  PARLEY__DATABASE__CASSANDRA__KEYSPACE: ks,
});
const base = { PARLEY__DATABASE__SQLITE__PATH: sqlitePath, PARLEY__RATE_LIMITS__ENABLED: 'false' };

/** `npx parley ...` as the operator runs it (scripts/parley), with the test's database settings. */
function parley(args: string[], env: Record<string, string> = {}, onStart?: (child: ChildProcess) => void) {
  return parleyCli(args, { ...base, ...env }, { onStart });
}

interface Person {
  name: string;
  client: Client;
  id: string;
}

/** What the API answers, per user: the state the migration must carry over exactly. */
interface Snapshot {
  perUser: Record<string, unknown>;
  history: Record<string, unknown[]>;
  guilds: Record<string, unknown>;
}

const sortReactions = (messages: { reactions?: { emoji: { name: string } }[] }[]) =>
  messages.map((m) =>
    m.reactions
      ? { ...m, reactions: [...m.reactions].sort((a, b) => a.emoji.name.localeCompare(b.emoji.name)) }
      : m,
  );

/** Every page of a channel's history, newest first, as `viewer` sees it (reactions' `me` is per viewer). */
async function fullHistory(viewer: Client, channelId: string): Promise<unknown[]> {
  const all: { id: string }[] = [];
  let before = '';
  for (;;) {
    const page = await viewer.get<{ id: string }[]>(`/channels/${channelId}/messages?limit=100${before}`);
    if (page.status !== 200)
      throw new Error(`history ${channelId}: ${page.status} ${JSON.stringify(page.body)}`);
    all.push(...page.body);
    if (page.body.length < 100) return sortReactions(all as never);
    before = `&before=${page.body[page.body.length - 1].id}`;
  }
}

async function snapshot(
  people: Person[],
  channels: { id: string; viewer: Person }[],
  guilds: { id: string; owner: Person }[],
): Promise<Snapshot> {
  const perUser: Record<string, unknown> = {};
  for (const p of people) {
    const byId = (list: { id?: string; channel_id?: string }[]) =>
      [...list].sort((a, b) => String(a.id ?? a.channel_id).localeCompare(String(b.id ?? b.channel_id)));
    perUser[p.name] = {
      me: (await p.client.get('/users/@me')).body,
      guilds: byId((await p.client.get('/users/@me/guilds')).body),
      dms: byId((await p.client.get('/users/@me/channels')).body),
      readStates: byId((await p.client.get('/users/@me/read-states')).body),
    };
  }
  const history: Record<string, unknown[]> = {};
  for (const c of channels) history[c.id] = await fullHistory(c.viewer.client, c.id);
  const result: Record<string, unknown> = {};
  for (const { id: g, owner } of guilds) {
    const get = async (path: string) => (await owner.client.get(path)).body as unknown;
    result[g] = {
      guild: await get(`/guilds/${g}`),
      channels: await get(`/guilds/${g}/channels`),
      roles: await get(`/guilds/${g}/roles`),
      members: await get(`/guilds/${g}/members?limit=1000`),
      bans: await get(`/guilds/${g}/bans`),
      invites: await get(`/guilds/${g}/invites`),
    };
  }
  return { perUser, history, guilds: result };
}

async function inParallel<T>(
  items: T[],
  width: number,
  work: (item: T, i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        await work(items[i], i);
      }
    }),
  );
}

const ok = async <T>(reply: Promise<{ status: number; body: T }>, ...expected: number[]): Promise<T> => {
  const res = await reply;
  if (!(expected.length ? expected : [200, 201, 204]).includes(res.status))
    throw new Error(`unexpected ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
};

describe('SQLite -> Cassandra migration, end to end', () => {
  let server: ServerProcess | null = null;
  const people: Person[] = [];
  const visible: { id: string; viewer: Person }[] = [];
  const guilds: { id: string; owner: Person }[] = [];
  let before: Snapshot;
  let secretChannel = '';
  let outsider: Person;
  let banned: Person;
  let inviteCode = '';
  let sourceMessages = 0;

  beforeAll(async () => {
    await requireCassandra();
    server = await startServer(base, 60_000);
    const url = server.url;
    const names = ['ada', 'bea', 'cy', 'dot', 'eli', 'fay', 'gus', 'hal', 'ivy', 'jon', 'kit', 'lou'];
    for (const name of names) {
      const client = new Client(url);
      const user = await client.register(name, PASSWORD);
      people.push({ name, client, id: user.id });
    }
    outsider = people[10];
    banned = people[11];

    // Three guilds, each with a category, channels, a moderator role, an overwrite-protected channel.
    for (let g = 0; g < 3; g++) {
      const guildOwner = people[g].client;
      const guild = await ok(
        guildOwner.post<{ id: string; channels: { id: string }[] }>('/guilds', { name: `Guild ${g}` }),
      );
      guilds.push({ id: guild.id, owner: people[g] });
      const category = await ok(
        guildOwner.post<{ id: string }>(`/guilds/${guild.id}/channels`, { name: 'Talk', type: 4 }),
      );
      const channels = [guild.channels[0].id];
      for (const name of ['random', 'dev']) {
        const c = await ok(
          guildOwner.post<{ id: string }>(`/guilds/${guild.id}/channels`, {
            name,
            parent_id: category.id,
            topic: `about ${name}`,
          }),
        );
        channels.push(c.id);
      }
      const mods = await ok(
        guildOwner.post<{ id: string }>(`/guilds/${guild.id}/roles`, {
          name: 'mods',
          permissions: String(1 << 13),
          color: 0x3366ff,
        }),
      );
      const secret = await ok(
        guildOwner.post<{ id: string }>(`/guilds/${guild.id}/channels`, {
          name: 'mods-only',
          permission_overwrites: [
            { id: guild.id, type: 0, deny: String(1 << 10) },
            { id: mods.id, type: 0, allow: String(1 << 10) },
          ],
        }),
      );
      if (g === 0) secretChannel = secret.id;
      const invite = await ok(
        guildOwner.post<{ code: string }>(`/channels/${channels[0]}/invites`, { max_age: 0 }),
      );
      if (g === 0) inviteCode = invite.code;
      const members = people.filter((_, i) => i !== g && i < 10 && (i + g) % 4 !== 3);
      for (const m of members) await ok(m.client.post(`/invites/${invite.code}`));
      for (const m of members.filter((_, i) => i % 3 === 0))
        await ok(
          guildOwner.patch(`/guilds/${guild.id}/members/${m.id}`, {
            roles: [mods.id],
            nick: `${m.name}-mod`,
          }),
        );
      await ok(guildOwner.put(`/guilds/${guild.id}/bans/${banned.id}`, { reason: g === 0 ? 'spam' : null }));
      const talkers = [people[g], ...members];
      for (const channelId of [...channels, secret.id]) visible.push({ id: channelId, viewer: people[g] });
      // Messages with mentions; some edited, reacted to, acknowledged.
      const sends = Array.from({ length: 900 }, (_, i) => i);
      const sent: { id: string; channel: string; author: Person }[] = [];
      await inParallel(sends, 8, async (i) => {
        const author = talkers[i % talkers.length];
        const channel = i % 10 === 9 ? secret.id : channels[i % channels.length];
        const canPost = channel !== secret.id || author === people[g];
        const who = canPost ? author : people[g];
        const mention = i % 7 === 0 ? `<@${talkers[(i + 1) % talkers.length].id}> ` : '';
        const msg = await ok(
          who.client.post<{ id: string }>(`/channels/${channel}/messages`, {
            content: `${mention}message ${g}/${i}`,
          }),
        );
        sent.push({ id: msg.id, channel, author: who });
      });
      sourceMessages += sent.length;
      await inParallel(
        sent.filter((_, i) => i % 9 === 0),
        4,
        async (m) => {
          await ok(
            m.author.client.patch(`/channels/${m.channel}/messages/${m.id}`, { content: `edited ${m.id}` }),
          );
        },
      );
      await inParallel(
        sent.filter((_, i) => i % 5 === 0),
        4,
        async (m, i) => {
          for (const [j, emoji] of ['👍', '🎉', '❤️'].entries())
            if ((i + j) % 2 === 0)
              await ok(
                people[g].client.put(
                  `/channels/${m.channel}/messages/${m.id}/reactions/${encodeURIComponent(emoji)}/@me`,
                ),
              );
          if (m.channel !== secret.id && m.author !== people[g])
            await ok(
              m.author.client.put(
                `/channels/${m.channel}/messages/${m.id}/reactions/${encodeURIComponent('👍')}/@me`,
              ),
            );
        },
      );
      for (const m of talkers.slice(0, 4)) {
        const last = sent.filter((s) => s.channel === channels[0]).at(-5);
        if (last) await ok(m.client.post(`/channels/${channels[0]}/messages/${last.id}/ack`));
      }
    }
    // Direct messages.
    for (let i = 0; i < 6; i++) {
      const [a, b] = [people[i], people[(i * 5 + 3) % 10]];
      if (a === b) continue;
      const dm = await ok(a.client.post<{ id: string }>('/users/@me/channels', { recipient_id: b.id }));
      for (let k = 0; k < 20; k++) {
        const from = k % 2 ? a : b;
        await ok(
          from.client.post(`/channels/${dm.id}/messages`, {
            content: `dm ${i}/${k} <@${(k % 2 ? b : a).id}>`,
          }),
        );
        sourceMessages++;
      }
      visible.push({ id: dm.id, viewer: a });
    }
    before = await snapshot(people, visible, guilds);
    // A quiet source from here on: the final pass of a migration runs in maintenance mode or stopped.
    await server.stop();
    server = null;
  });

  afterAll(async () => {
    await server?.stop();
    for (const ks of [keyspace, killedKeyspace, importedKeyspace])
      await dropKeyspace(ks).catch(() => undefined);
    dir.remove();
  });

  it('`parley migrate --from sqlite:<path>` copies into the configured keyspace and verifies', async () => {
    const run = await parley(['migrate', '--from', `sqlite:${sqlitePath}`], onCassandra(keyspace));
    expect(run.stderr).toContain(`migrate: sqlite:${sqlitePath} -> cassandra:${keyspace}`);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/migration rate: [\d,]+ messages\/s/);
    expect(run.stdout).toContain('result: EQUAL');
    expect(run.stdout).toContain('verified: the target equals the source');
    expect(run.stdout).toMatch(new RegExp(`messages\\s+${sourceMessages.toLocaleString('en-US')}\\s`));
  });

  it('the monolith on Cassandra logs users in and answers exactly as it did on SQLite', async () => {
    server = await startServer({ ...base, ...onCassandra(keyspace) }, 120_000);
    for (const p of people) {
      p.client = new Client(server.url);
      const login = await p.client.post('/auth/login', { login: p.name.toUpperCase(), password: PASSWORD });
      expect(login.status).toBe(200);
      p.client.token = login.body.token as string;
    }
    // The same people (now logged in on the Cassandra server) look at the same things.
    const after = await snapshot(people, visible, guilds);
    // Compared piece by piece so that a failure names what differs.
    for (const name of Object.keys(before.perUser))
      expect([name, after.perUser[name]]).toEqual([name, before.perUser[name]]);
    for (const channelId of Object.keys(before.history))
      expect([channelId, after.history[channelId]]).toEqual([channelId, before.history[channelId]]);
    for (const { id } of guilds) expect([id, after.guilds[id]]).toEqual([id, before.guilds[id]]);
    expect(Object.values(before.history).reduce((n, h) => n + h.length, 0)).toBe(sourceMessages);

    // Permissions and bans hold on the copy.
    expect((await outsider.client.get(`/channels/${secretChannel}/messages`)).status).toBe(404);
    expect((await people[2].client.get(`/channels/${secretChannel}/messages`)).status).toBe(404); // a member, not a mod
    expect((await banned.client.post(`/invites/${inviteCode}`)).status).toBe(403);
    // And it takes writes.
    const sent = await people[0].client.post(`/channels/${visible[0].id}/messages`, {
      content: 'hello from Cassandra',
    });
    expect(sent.status).toBe(200);
    await server.stop();
    server = null;
  });

  it('a migration killed with SIGKILL resumes from its checkpoint: counts and digests equal, no duplicates', async () => {
    const cql = new Cql({ contactPoints: ['127.0.0.1'], localDataCenter: 'dc1' });
    let killedAt = 0;
    try {
      const first = await parley(
        [
          'migrate',
          '--from',
          `sqlite:${sqlitePath}`,
          '--batch-size',
          '20',
          '--parallel',
          '1',
          '--max-in-flight',
          '1',
        ],
        onCassandra(killedKeyspace),
        (child) => {
          // Kill as soon as the checkpoint shows messages partly copied.
          const poll = setInterval(() => {
            cql
              .execute(
                `SELECT rows, done FROM "${killedKeyspace}".migration_checkpoints WHERE tbl = 'messages' ALLOW FILTERING`,
              )
              .then((rs) => {
                const row = rs.first();
                if (row && !row.get('done') && Number(row.get('rows')) >= 200 && child.exitCode === null) {
                  killedAt = Number(row.get('rows'));
                  clearInterval(poll);
                  child.kill('SIGKILL');
                }
              })
              .catch(() => undefined); // the keyspace is not there yet
          }, 25);
          child.once('exit', () => clearInterval(poll));
        },
      );
      expect(first.code).toBeNull(); // killed, not finished
      expect(killedAt).toBeGreaterThanOrEqual(200);
      expect(killedAt).toBeLessThan(sourceMessages);
    } finally {
      await cql.shutdown();
    }
    const resumed = await parley(['migrate', '--from', `sqlite:${sqlitePath}`], onCassandra(killedKeyspace));
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toMatch(/users: already copied/);
    const at = /messages: resuming after ([\d,]+) rows/.exec(resumed.stderr);
    expect(Number(at?.[1].replace(/,/g, ''))).toBeGreaterThanOrEqual(killedAt);
    expect(resumed.stdout).toContain('verified: the target equals the source');

    const report = join(dir.path, 'verify.json');
    const verify = await parley([
      'verify',
      '--from',
      `sqlite:${sqlitePath}`,
      '--to',
      `cassandra:${killedKeyspace}`,
      '--report',
      report,
    ]);
    expect(verify.code).toBe(0);
    const json = JSON.parse(readFileSync(report, 'utf8')) as {
      equal: boolean;
      tables: {
        table: string;
        source: { rows: number; digest: string };
        target: { rows: number; digest: string };
      }[];
      channels: { equal: boolean }[];
    };
    expect(json.equal).toBe(true);
    const messages = json.tables.find((t) => t.table === 'messages');
    expect(messages?.target).toEqual(messages?.source);
    expect(messages?.target.rows).toBe(sourceMessages);
    expect(json.channels.length).toBe(visible.length);
    expect(json.channels.every((c) => c.equal)).toBe(true);
  });

  it('verify detects a tampered message: exit 2 and a report naming it', async () => {
    const cql = new Cql({
      contactPoints: ['127.0.0.1'],
      localDataCenter: 'dc1',
      keyspace: killedKeyspace,
      encoding: { useBigIntAsLong: true },
    });
    const channelId = visible[1].id;
    let messageId = '';
    try {
      const channel = BigInt(channelId);
      const bucket = (
        await cql.execute('SELECT bucket FROM channel_buckets WHERE channel_id = ? LIMIT 1', [channel], {
          prepare: true,
        })
      )
        .first()
        ?.get('bucket') as number;
      const row = (
        await cql.execute(
          'SELECT message_id FROM messages WHERE channel_id = ? AND bucket = ? LIMIT 1',
          [channel, bucket],
          {
            prepare: true,
          },
        )
      ).first();
      messageId = String(row?.get('message_id'));
      await cql.execute(
        'UPDATE messages SET content = ? WHERE channel_id = ? AND bucket = ? AND message_id = ?',
        ['tampered', channel, bucket, row?.get('message_id')],
        { prepare: true },
      );
    } finally {
      await cql.shutdown();
    }
    const report = join(dir.path, 'tampered.json');
    const run = await parley([
      'verify',
      '--from',
      `sqlite:${sqlitePath}`,
      '--to',
      `cassandra:${killedKeyspace}`,
      '--report',
      report,
    ]);
    expect(run.code).toBe(2);
    expect(run.stdout).toContain('result: DIFFERENT');
    expect(run.stdout).toContain(`messages ${messageId} in channel ${channelId}: differs: content`);
    expect(run.stdout).toContain('"tampered" in the target');
    const json = JSON.parse(readFileSync(report, 'utf8')) as {
      equal: boolean;
      differences: { key: string; fields: string[] }[];
    };
    expect(json.equal).toBe(false);
    expect(json.differences).toEqual([expect.objectContaining({ key: messageId, fields: ['content'] })]);
  });

  it('export -> import round trips into a fresh SQLite file and into Cassandra, equal by verify', async () => {
    const file = join(dir.path, 'export.ndjson.gz');
    const exported = await parley(['export', '--from', `sqlite:${sqlitePath}`, '--out', file]);
    expect(exported.code).toBe(0);
    expect(exported.stdout).toMatch(/exported [\d,]+ records/);

    const copy = join(dir.path, 'imported.db');
    expect((await parley(['import', file, '--to', `sqlite:${copy}`])).code).toBe(0);
    expect((await parley(['verify', '--from', `sqlite:${sqlitePath}`, '--to', `sqlite:${copy}`])).code).toBe(
      0,
    );

    const intoCassandra = await parley(['import', file], onCassandra(importedKeyspace));
    expect(intoCassandra.code).toBe(0);
    expect(
      (await parley(['verify', '--from', `sqlite:${sqlitePath}`], onCassandra(importedKeyspace))).code,
    ).toBe(0);
    // Importing the same file again changes nothing and refuses nothing.
    expect((await parley(['import', file], onCassandra(importedKeyspace))).code).toBe(0);
    expect(
      (await parley(['verify', '--from', `sqlite:${sqlitePath}`], onCassandra(importedKeyspace))).code,
    ).toBe(0);
  });

  it('import reports malformed lines by number and writes nothing', async () => {
    const lines = gunzipSync(readFileSync(join(dir.path, 'export.ndjson.gz')))
      .toString('utf8')
      .trimEnd()
      .split('\n');
    const at = lines.findIndex((l) => l.startsWith('{"table":"messages"'));
    lines[at] = lines[at].replace('"content":"', '"content":42,"x":"');
    lines[at + 3] = '{"table":"messages","record":';
    const bad = join(dir.path, 'bad.ndjson');
    writeFileSync(bad, `${lines.join('\n')}\n`);
    const target = join(dir.path, 'never.db');
    const run = await parley(['import', bad, '--to', `sqlite:${target}`]);
    expect(run.code).toBe(65);
    expect(run.stderr).toContain(`${bad}:${at + 1}: messages`);
    expect(run.stderr).toContain(`${bad}:${at + 4}: not valid JSON`);
    expect(run.stdout).toContain('nothing was imported');
    const db = new Database(target, { readonly: true });
    try {
      for (const table of ['users', 'guilds', 'messages', 'reactions'])
        expect([table, db.prepare(`SELECT count(*) AS n FROM ${table}`).get()]).toEqual([table, { n: 0 }]);
    } finally {
      db.close();
    }
  });
});
