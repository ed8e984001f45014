import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { SnowflakeGenerator } from '@parley/common';
import { CassandraStorage, type MessageRecord, ORPHAN_AFTER_MS, UniqueViolation } from '@parley/storage';
import { messageRecord, userRecord } from '@parley/storage/testing';
import { Client, types } from 'cassandra-driver';
import { type App, cassandraSettings, dropKeyspace, startApp, testKeyspace } from './support';
import { RecordingTracker } from './tracker';
import { waitFor } from '../../support/wait';

/**
 * Data centres on the loopback cluster (`npm run cassandra:cluster:up`): dc1 = 127.0.0.1 + 127.0.0.2,
 * dc2 = 127.0.0.3, keyspace replication {dc1: 2, dc2: 1}, every app at LOCAL_QUORUM in its own DC.
 * Stops and restarts cluster nodes (scripts/cassandra/node.sh, cluster-up.sh) on the way.
 */
jest.setTimeout(600_000);

const ROOT = join(__dirname, '../../..');
// The cluster of `npm run cassandra:cluster:up`, or a private one started with the same script and
// PARLEY_CASSANDRA_CLUSTER_PREFIX / PARLEY_CASSANDRA_JMX_PORTS / PARLEY_CASSANDRA_NODES (this test passes its
// environment on to the scripts it runs, so it stops and restarts that cluster's nodes).
const PREFIX = process.env.PARLEY_CASSANDRA_CLUSTER_PREFIX ?? '127.0.0.';
const DC1 = [`${PREFIX}1`, `${PREFIX}2`];
const DC2 = [`${PREFIX}3`];
const keyspace = testKeyspace('parley_dc');
const replication = { dc1: 2, dc2: 1 };
const REQUEST_TIMEOUT = 5000;
const gen = new SnowflakeGenerator(3, 1);

function script(name: string, ...args: string[]): void {
  execFileSync('bash', [join(ROOT, 'scripts/cassandra', name), ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 300_000,
  });
}

async function requireCluster(): Promise<void> {
  const client = new Client({ contactPoints: [DC1[0]], localDataCenter: 'dc1' });
  let seen = '';
  try {
    await client.connect();
    const up = client.hosts.values().filter((h) => h.isUp());
    seen = up.map((h) => `${h.address} (${h.datacenter})`).join(', ');
    const dcs = up.map((h) => h.datacenter).sort();
    if (dcs.join(',') === 'dc1,dc1,dc2') return;
  } catch (err) {
    seen = err instanceof Error ? err.message : String(err);
  } finally {
    await client.shutdown().catch(() => undefined);
  }
  throw new Error(
    `This test needs the two-DC loopback cluster (dc1: ${DC1.join(', ')}; dc2: ${DC2[0]}), found: ${seen}. ` +
      'Start it with `npm run cassandra:down && npm run cassandra:cluster:up`.',
  );
}

const NODE_NAMES = new Map([
  [DC1[0], 'dc1-n1'],
  [DC1[1], 'dc1-n2'],
  [DC2[0], 'dc2-n1'],
]);

/** Each node's schema version, as the first node's gossip sees them. */
async function schemaVersions(client: Client): Promise<Map<string, string>> {
  const [local, peers] = await Promise.all([
    client.execute('SELECT schema_version FROM system.local'),
    client.execute('SELECT peer, schema_version FROM system.peers'),
  ]);
  const versions = new Map([[DC1[0], String(local.first().get('schema_version'))]]);
  for (const row of peers.rows) versions.set(String(row.get('peer')), String(row.get('schema_version')));
  return versions;
}

/**
 * After nodes were stopped and restarted, a node can keep a schema version of its own and stop taking schema
 * changes, which fails the next suite's migration. Waits for one version; a node still apart after 30 s is told
 * to fetch the schema again (`nodetool resetlocalschema`); fails naming the versions after 90 s.
 */
async function leaveSchemaAgreed(): Promise<void> {
  const client = new Client({ contactPoints: [DC1[0]], localDataCenter: 'dc1' });
  await client.connect();
  try {
    const started = Date.now();
    let reset = false;
    await waitFor(
      async () => {
        const versions = await schemaVersions(client);
        const reference = versions.get(DC1[0]);
        const apart = [...versions].filter(([, version]) => version !== reference).map(([node]) => node);
        if (apart.length === 0) return true;
        if (!reset && Date.now() - started > 30_000) {
          reset = true;
          for (const node of apart) {
            const name = NODE_NAMES.get(node);
            if (name) script('nodetool.sh', name, 'resetlocalschema');
          }
        }
        throw new Error(`schema versions: ${JSON.stringify(Object.fromEntries(versions))}`);
      },
      'every node of the cluster on one schema version',
      90_000,
    );
  } finally {
    await client.shutdown();
  }
}

/** Polls until `check` holds (replication to the other DC is asynchronous at LOCAL_QUORUM). */
async function eventually<T>(what: string, read: () => Promise<T>, check: (value: T) => boolean): Promise<T> {
  const seen = await waitFor(
    async () => {
      const value = await read();
      if (!check(value)) throw new Error(`last: ${JSON.stringify(value)}`);
      return { value };
    },
    what,
    20_000,
  );
  return seen.value;
}

const dcSettings = (dc: 'dc1' | 'dc2', overrides: object = {}) =>
  cassandraSettings({
    keyspace,
    replication,
    hosts: dc === 'dc1' ? DC1 : DC2,
    local_dc: dc,
    request_timeout: REQUEST_TIMEOUT,
    ...overrides,
  });

const message = (channelId: string, content: string): MessageRecord =>
  messageRecord({ id: gen.next(), channelId, authorId: gen.next(), content });

const appEnv = (dc: 'dc1' | 'dc2', regionId: number): Record<string, string> => ({
  PARLEY__DATABASE__BACKEND: 'cassandra',
  PARLEY__DATABASE__CASSANDRA__KEYSPACE: keyspace,
  PARLEY__DATABASE__CASSANDRA__HOSTS: JSON.stringify(dc === 'dc1' ? DC1 : DC2),
  PARLEY__DATABASE__CASSANDRA__LOCAL_DC: dc,
  PARLEY__DATABASE__CASSANDRA__REPLICATION: JSON.stringify(replication),
  PARLEY__DATABASE__CASSANDRA__REQUEST_TIMEOUT: String(REQUEST_TIMEOUT),
  PARLEY__INSTANCE__REGION: dc,
  PARLEY__INSTANCE__REGION_ID: String(regionId),
});

describe('two data centres on the loopback cluster', () => {
  const dc1Tracker = new RecordingTracker();
  const dc2Tracker = new RecordingTracker();
  let dc1: CassandraStorage;
  let dc2: CassandraStorage;
  let app1: App | undefined;
  let app2: App | undefined;
  let token = '';
  let channelId = '';
  const sent: string[] = [];

  beforeAll(async () => {
    await requireCluster();
    dc1 = new CassandraStorage(dcSettings('dc1'), { requestTracker: dc1Tracker });
    dc2 = new CassandraStorage(dcSettings('dc2'), { requestTracker: dc2Tracker });
    await dc1.migrate();
  });

  afterAll(async () => {
    await app1?.stop();
    await app2?.stop();
    await closeClients();
    // Whatever happened above, leave the whole cluster running.
    script('cluster-up.sh');
    await leaveSchemaAgreed();
    await dropKeyspace(keyspace, DC1);
  });

  // cassandra-driver 4.10 can leave a reconnecting pool behind when a host it knew went down and came
  // back, which keeps this process alive after shutdown(): the in-process clients are closed before any
  // node is stopped. The apps are processes of their own (they exit after draining).
  let clientsOpen = true;
  async function closeClients(): Promise<void> {
    if (!clientsOpen) return;
    clientsOpen = false;
    await dc1?.close();
    await dc2?.close();
  }

  it('creates the keyspace with NetworkTopologyStrategy and the configured replication per DC', async () => {
    const rs = await dc1.session.client.execute(
      'SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?',
      [keyspace],
    );
    expect(rs.first().get('replication')).toEqual({
      class: 'org.apache.cassandra.locator.NetworkTopologyStrategy',
      dc1: '2',
      dc2: '1',
    });
  });

  it('a dc1 client writes at LOCAL_QUORUM and a dc2 client reads at LOCAL_QUORUM from its own DC', async () => {
    const channel = gen.next();
    const m = message(channel, 'written in dc1');
    dc1Tracker.clear();
    await dc1.messages.create(m);
    const found = await eventually(
      'the dc1 write in dc2',
      () => dc2.messages.find(channel, m.id),
      (v) => v !== null,
    );
    expect(found).toEqual(m);

    const dc1Writes = dc1Tracker.matching(/^INSERT INTO messages/);
    expect(dc1Writes).not.toHaveLength(0);
    for (const w of dc1Writes) {
      expect(w.consistency).toBe('localQuorum');
      expect(DC1.map((a) => `${a}:9042`)).toContain(w.host);
    }
    const dc2Reads = dc2Tracker.matching(/FROM messages/);
    expect(dc2Reads).not.toHaveLength(0);
    for (const r of dc2Reads) expect(r).toMatchObject({ consistency: 'localQuorum', host: `${DC2[0]}:9042` });
  });

  it('an EACH_QUORUM write is readable in dc2 at LOCAL_QUORUM as soon as it is acknowledged', async () => {
    const each = new CassandraStorage(
      dcSettings('dc1', { consistency: { read: 'LOCAL_QUORUM', write: 'EACH_QUORUM', serial: 'SERIAL' } }),
    );
    try {
      for (let i = 0; i < 20; i++) {
        const m = message(gen.next(), `each quorum ${i}`);
        await each.messages.create(m);
        expect(await dc2.messages.find(m.channelId, m.id)).toEqual(m);
      }
    } finally {
      await each.close();
    }
  });

  it('claims of one username made in dc1 and dc2 at the same moment never both succeed (claims run at SERIAL)', async () => {
    // As the region configs run: other LWTs at LOCAL_SERIAL, claims at `consistency.claim` (SERIAL).
    const regional = { serial: 'LOCAL_SERIAL', claim: 'SERIAL', read: 'LOCAL_QUORUM', write: 'LOCAL_QUORUM' };
    const east = new CassandraStorage(dcSettings('dc1', { consistency: regional }));
    const west = new CassandraStorage(dcSettings('dc2', { consistency: regional }));
    try {
      let clean = 0;
      for (let round = 0; round < 10; round++) {
        const name = `race_${round}_${keyspace.slice(-8)}`;
        const ids = [gen.next(), gen.next()];
        const results = await Promise.allSettled(
          [east, west].map((storage, i) =>
            storage.users.create(userRecord(ids[i], { username: name, email: `${name}.${i}@example.com` })),
          ),
        );
        const won = ids.filter((_, i) => results[i].status === 'fulfilled');
        // Never both. A loser learns it from the claim (UniqueViolation), or, when the two Paxos rounds
        // collide, from a timeout whose outcome it cannot know (503): then at most one of them holds the name.
        expect(won.length).toBeLessThanOrEqual(1);
        for (const r of results)
          if (r.status === 'rejected') {
            const e = r.reason as Error;
            const what = e instanceof UniqueViolation ? `UniqueViolation(${e.field})` : e.name;
            expect(['UniqueViolation(username)', 'DatabaseUnavailableError']).toContain(what);
          }
        const holder = (await east.users.findByLogin(name))?.id;
        if (won.length === 1) expect(holder).toBe(won[0]);
        if (
          won.length === 1 &&
          results.some((r) => r.status === 'rejected' && r.reason instanceof UniqueViolation)
        )
          clean++;
      }
      // The race really ran: most rounds end with one winner and one refusal.
      expect(clean).toBeGreaterThan(0);
    } finally {
      await east.close();
      await west.close();
    }
  });

  it('a claim orphaned by a crash (no user holds it) passes to a new registration after a minute, not before', async () => {
    const ghost = gen.next();
    const old = `orphan_old_${keyspace.slice(-8)}`;
    const fresh = `orphan_new_${keyspace.slice(-8)}`;
    const claimedAt = (msAgo: number) => BigInt(Date.now() - msAgo) * 1000n;
    // What a process that died between the claim and the user row leaves behind.
    for (const [name, at] of [
      [old, claimedAt(ORPHAN_AFTER_MS + 60_000)],
      [fresh, claimedAt(0)],
    ] as const)
      await dc1.session.client.execute(
        `INSERT INTO users_by_username (username_lower, user_id) VALUES (?, ?) USING TIMESTAMP ${at}`,
        [name, BigInt(ghost)],
        { prepare: true, consistency: types.consistencies.all },
      );
    const taker = gen.next();
    await dc2.users.create(userRecord(taker, { username: old, email: `${old}@example.com` }));
    // The user row was written in dc2 at LOCAL_QUORUM: dc1 sees it once replication brings it there.
    await eventually(
      'the new holder of the reclaimed name, read in dc1',
      () => dc1.users.findByLogin(old),
      (user) => user?.id === taker,
    );
    await expect(
      dc2.users.create(userRecord(gen.next(), { username: fresh, email: `${fresh}@example.com` })),
    ).rejects.toMatchObject({ field: 'username' });
  });

  it('an app configured for dc1 writes through REST and an app configured for dc2 reads it', async () => {
    app1 = await startApp(appEnv('dc1', 1));
    app2 = await startApp(appEnv('dc2', 2));
    const reg = await app1.request('POST', '/api/v1/auth/register', {
      username: 'regional',
      email: 'regional@example.test',
      password: 'correct horse battery',
    });
    expect(reg.status).toBe(201);
    token = reg.body.token as string;
    const guild = await app1.request('POST', '/api/v1/guilds', { name: 'Two regions' }, token);
    expect(guild.status).toBe(201);
    channelId = guild.body.channels[0].id as string;
    const res = await app1.request(
      'POST',
      `/api/v1/channels/${channelId}/messages`,
      { content: 'from dc1' },
      token,
    );
    expect(res.status).toBe(200);
    sent.push(res.body.id as string);

    const history = await eventually(
      'the message in dc2',
      () => (app2 as App).request('GET', `/api/v1/channels/${channelId}/messages`, undefined, token),
      (r) => r.status === 200 && Array.isArray(r.body) && r.body.length === 1,
    );
    expect(history.body[0]).toMatchObject({ id: sent[0], content: 'from dc1' });
    expect((await app2.request('GET', '/health/ready')).status).toBe(200);
  });

  it('with dc2 down, dc1 keeps serving reads and writes (and dc2 catches up after)', async () => {
    await closeClients();
    const a1 = app1 as App;
    script('node.sh', 'stop', 'dc2-n1');
    try {
      const write = await a1.request(
        'POST',
        `/api/v1/channels/${channelId}/messages`,
        { content: 'dc2 is down' },
        token,
      );
      expect(write.status).toBe(200);
      sent.push(write.body.id as string);
      const read = await a1.request('GET', `/api/v1/channels/${channelId}/messages`, undefined, token);
      expect(read.status).toBe(200);
      expect(read.body.map((m: { id: string }) => m.id)).toEqual([...sent].reverse());
      // A uniqueness claim (SERIAL Paxos) still finds a majority of all replicas: dc1's two of three.
      const reg = await a1.request('POST', '/api/v1/auth/register', {
        username: 'duringoutage',
        email: 'duringoutage@example.test',
        password: 'correct horse battery',
      });
      expect(reg.status).toBe(201);
      expect((await a1.request('GET', '/health/ready')).status).toBe(200);
    } finally {
      script('cluster-up.sh');
    }
    // Hints (or the next repair) bring the missed write to dc2.
    await eventually(
      'the write made during the outage in dc2',
      () => (app2 as App).request('GET', `/api/v1/channels/${channelId}/messages`, undefined, token),
      (r) => r.status === 200 && Array.isArray(r.body) && r.body.length === sent.length,
    );
  });

  it('with one of dc1’s two replicas down, LOCAL_QUORUM requests fail fast with 503 and an error id; nothing is lost', async () => {
    const a1 = app1 as App;
    script('node.sh', 'stop', 'dc1-n2');
    try {
      const started = Date.now();
      const read = await a1.request('GET', `/api/v1/channels/${channelId}/messages`, undefined, token);
      const write = await a1.request(
        'POST',
        `/api/v1/channels/${channelId}/messages`,
        { content: 'lost?' },
        token,
      );
      const elapsed = Date.now() - started;
      for (const res of [read, write]) {
        expect(res.status).toBe(503);
        expect(res.body).toMatchObject({
          code: expect.any(Number),
          message: expect.any(String),
          error_id: expect.any(String),
        });
        expect(JSON.stringify(res.body)).not.toMatch(/Cassandra|replica|consistency/i);
      }
      expect(elapsed).toBeLessThan(2 * REQUEST_TIMEOUT);
      const ready = await a1.request('GET', '/health/ready');
      expect(ready.status).toBe(503);
      // dc2 is a DC of its own: its LOCAL_QUORUM is its one replica, so it keeps serving.
      expect(
        (await (app2 as App).request('GET', `/api/v1/channels/${channelId}/messages`, undefined, token))
          .status,
      ).toBe(200);
    } finally {
      script('cluster-up.sh');
    }
    await eventually(
      'dc1 ready again',
      () => a1.request('GET', '/health/ready'),
      (r) => r.status === 200,
    );
    const after = await a1.request('GET', `/api/v1/channels/${channelId}/messages`, undefined, token);
    expect(after.status).toBe(200);
    expect(after.body.map((m: { id: string }) => m.id)).toEqual(expect.arrayContaining(sent));
  });
});
