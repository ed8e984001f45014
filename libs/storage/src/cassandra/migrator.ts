import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { bucketOf } from './buckets';
import { copyToBoundedPartitions } from './bounded-partitions-copy';
import { mapLimit } from './codec';
import type { Client } from 'cassandra-driver';
import { cassandraDriver } from './driver';
import { CassandraSession, type CassandraSettings } from './session';
import { addToMemberCount } from './member-counts';
import { addToCount, type CountKey } from './reaction-counts';
import { searchBucketOf } from './search-terms';
import { shardStoredMembers } from './member-copy';
import { scanTable } from './table-scan';
import {
  GUILD_MEMBER_COUNTS,
  MESSAGE_SEARCH,
  MESSAGES,
  MESSAGES_BY_AUTHOR,
  REACTION_COUNTS,
  UPLOAD_USAGE,
} from './tables';

const MIGRATION_FILE = /^(\d+)_([\w-]+)\.cql$/;
const LOCK_TTL_S = 120;
const LOCK_HOLDER = 'SELECT WRITETIME(owner) AS at FROM schema_migration_lock WHERE id = ?';

/** `<repo>/migrations/cassandra`, found by walking up (same from the sources and from dist/). */
export function defaultCassandraMigrationsDir(from = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'migrations', 'cassandra');
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new Error(`no migrations/cassandra directory above ${from}`);
  }
}

/** Splits a .cql file into statements: `--` comments dropped, a statement ends with `;` at line end. */
export function splitStatements(cql: string): string[] {
  const statements: string[] = [];
  let current: string[] = [];
  for (const raw of cql.split('\n')) {
    const line = raw.replace(/--.*$/, '').trimEnd();
    if (line.trim() === '') continue;
    current.push(line);
    if (line.endsWith(';')) {
      statements.push(current.join('\n').slice(0, -1).trim());
      current = [];
    }
  }
  if (current.length > 0) throw new Error('the last statement does not end with ";"');
  return statements;
}

/** NetworkTopologyStrategy options for the configured replication, as Cassandra reports them back. */
export function replicationOptions(replication: Record<string, number>): Record<string, string> {
  const options: Record<string, string> = {
    class: 'org.apache.cassandra.locator.NetworkTopologyStrategy',
  };
  for (const [dc, rf] of Object.entries(replication)) options[dc] = String(rf);
  return options;
}

function replicationCql(replication: Record<string, number>): string {
  const pairs = Object.entries(replication).map(([dc, rf]) => `'${dc.replace(/'/g, "''")}': ${rf}`);
  return `{'class': 'NetworkTopologyStrategy', ${pairs.join(', ')}}`;
}

function sameReplication(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) if (a[key] !== b[key]) return false;
  return true;
}

export interface MigrateOptions {
  /**
   * A process starting, not `parley schema migrate`: it creates a missing keyspace and applies schema
   * statements, but never changes an existing keyspace's replication nor runs a migration's data backfill on a
   * keyspace that holds data; it refuses to start instead (StartupRefused), naming the command to run.
   */
  atStartup?: boolean;
}

/** A process must not start on this keyspace before the operator runs `parley schema migrate`. */
export class StartupRefused extends Error {
  override readonly name = 'StartupRefused';
}

export interface MigrationOutcome {
  applied: string[];
  /** Set when the keyspace's replication was changed to match config: run a full repair afterwards. */
  replicationChanged?: { from: Record<string, string>; to: Record<string, string> };
}

/**
 * Creates the keyspace (or brings its replication in line with config), then applies the numbered
 * .cql files not yet recorded in schema_migrations. One process at a time holds a lease (an LWT row
 * with a TTL) while it changes the schema: concurrent CREATE TABLEs from two coordinators can leave
 * Cassandra 5.0 with two ids for one table.
 */
export async function migrateCassandra(
  settings: CassandraSettings,
  session: CassandraSession,
  dir: string,
  options: MigrateOptions = {},
): Promise<MigrationOutcome> {
  const outcome: MigrationOutcome = { applied: [] };
  const keyspace = settings.keyspace;
  const wanted = replicationOptions(settings.replication);

  // The session is bound to the keyspace, which may not exist yet: create it from a keyspace-less one.
  const bootstrap = new CassandraSession(settings, { schemaChanges: true }, null);
  try {
    await bootstrap.client.connect();
    const coordinator = pickCoordinator(bootstrap);
    await bootstrap.client.execute(
      `CREATE KEYSPACE IF NOT EXISTS "${keyspace}" WITH replication = ${replicationCql(settings.replication)} AND durable_writes = true`,
      [],
      { host: coordinator },
    );
    await awaitSchema(bootstrap, keyspace, coordinator);
    const rs = await bootstrap.client.execute(
      'SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?',
      [keyspace],
      { prepare: true, consistency: cassandraDriver().types.consistencies.localOne },
    );
    const current = (rs.first()?.get('replication') ?? {}) as Record<string, string>;
    if (!sameReplication(current, wanted)) {
      if (options.atStartup === true)
        throw new StartupRefused(
          `keyspace ${keyspace} has replication ${JSON.stringify(current)}, database.cassandra.replication asks ` +
            `for ${JSON.stringify(wanted)}: a process does not change a keyspace's replication as it starts; ` +
            'run `parley schema migrate` once (then `nodetool repair --full` on every node), or fix the config',
        );
      await bootstrap.client.execute(
        `ALTER KEYSPACE "${keyspace}" WITH replication = ${replicationCql(settings.replication)}`,
        [],
        { host: coordinator },
      );
      await awaitSchema(bootstrap, keyspace, coordinator);
      outcome.replicationChanged = { from: current, to: wanted };
    }
  } finally {
    await bootstrap.shutdown();
  }

  // Schema statements go through a client of their own, all to one coordinator (so each sees the ones before
  // it), and the cluster is waited for once per migration rather than after every statement.
  const schema = new CassandraSession(settings, { schemaChanges: true });
  try {
    await schema.client.connect();
    const coordinator = pickCoordinator(schema);
    const ddl = (cql: string) => schema.client.execute(cql, [], { host: coordinator });
    await ddl(`CREATE TABLE IF NOT EXISTS schema_migrations (
      name text PRIMARY KEY, checksum text, applied_at timestamp)`);
    await ddl('CREATE TABLE IF NOT EXISTS schema_migration_lock (id text PRIMARY KEY, owner uuid)');
    const settle = () => awaitSchema(schema, keyspace, coordinator);
    await settle();
    await applyMigrations(session, dir, outcome, {
      apply: async (statements) => {
        for (const statement of statements) await ddl(statement);
      },
      settle,
      atStartup: options.atStartup === true,
    });
    await settle();
  } finally {
    await schema.shutdown();
  }
  return outcome;
}

type Host = ReturnType<Client['hosts']['values']>[number];

/** A live coordinator in the local data centre for the schema statements. */
function pickCoordinator(schema: CassandraSession): Host {
  const hosts = schema.client.hosts.values();
  const host =
    hosts.find((h) => h.isUp() && h.datacenter === schema.settings.local_dc) ?? hosts.find((h) => h.isUp());
  if (!host) throw new Error('no Cassandra node is up to apply the schema');
  return host;
}

const AGREEMENT_TIMEOUT_MS = 60_000;

/** What a node holds of one keyspace's schema, read from that node alone. */
async function schemaOf(schema: CassandraSession, keyspace: string, host: Host): Promise<string> {
  const options = {
    host,
    prepare: true,
    consistency: cassandraDriver().types.consistencies.localOne,
  };
  const parts = await Promise.all(
    [
      'SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?',
      'SELECT table_name, id FROM system_schema.tables WHERE keyspace_name = ?',
      'SELECT table_name, column_name, type FROM system_schema.columns WHERE keyspace_name = ?',
      'SELECT table_name, index_name FROM system_schema.indexes WHERE keyspace_name = ?',
      'SELECT type_name, field_names FROM system_schema.types WHERE keyspace_name = ?',
    ].map(async (query) => {
      const rs = await schema.client.execute(query, [keyspace], options);
      return rs.rows.map((row) => JSON.stringify(Object.values(row))).sort();
    }),
  );
  return JSON.stringify(parts);
}

const VERSION_WAIT_MS = 10_000;

/**
 * A node writes a schema change to its `system_schema` tables before it has applied it (its tables opened), and
 * only then announces its new schema version: a read that reaches it in between fails ("server failure"). So
 * after the rows agree, this also waits for the nodes' schema versions to agree, for at most VERSION_WAIT_MS
 * (on a cluster whose other keyspaces change all the time they may never agree: then it goes on).
 */
async function settleVersions(schema: CassandraSession): Promise<void> {
  // In the driver, not in its typings.
  const metadata = schema.client.metadata as unknown as { checkSchemaAgreement(): Promise<boolean> };
  const deadline = Date.now() + VERSION_WAIT_MS;
  while (!(await metadata.checkSchemaAgreement()) && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 100));
}

/**
 * Waits until every live node holds the keyspace's schema as the coordinator does (tables with their ids,
 * columns, indexes, types), polled every 100 ms for at most a minute. Only this keyspace is compared: on a
 * busy cluster other keyspaces' changes never stop, so the cluster-wide schema version may never settle.
 */
async function awaitSchema(schema: CassandraSession, keyspace: string, coordinator: Host): Promise<void> {
  const deadline = Date.now() + AGREEMENT_TIMEOUT_MS;
  for (;;) {
    const others = schema.client.hosts.values().filter((h) => h !== coordinator && h.isUp());
    const wanted = await schemaOf(schema, keyspace, coordinator);
    const held = await Promise.all(others.map((h) => schemaOf(schema, keyspace, h).catch(() => null)));
    if (held.every((h) => h === wanted)) return settleVersions(schema);
    if (Date.now() > deadline) {
      const behind = others.filter((_, i) => held[i] !== wanted).map((h) => `${h.address} (${h.datacenter})`);
      throw new Error(
        `the Cassandra nodes did not agree on keyspace ${keyspace}'s schema within ${AGREEMENT_TIMEOUT_MS / 1000} s: ` +
          `${behind.join(', ')} ${behind.length === 1 ? 'does' : 'do'} not hold what ${coordinator.address} holds; ` +
          'run `parley migrate` again once they do (`nodetool describecluster` shows their schema versions; a node ' +
          'that keeps a version of its own after a restart takes schema changes again after `nodetool resetlocalschema`)',
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Applies the numbered .cql files not yet recorded in schema_migrations, holding the migration lease: each
 * file's statements (`schema.apply`), then its code step (once every node has the schema: `schema.settle`),
 * then the record.
 */
async function applyMigrations(
  session: CassandraSession,
  dir: string,
  outcome: MigrationOutcome,
  schema: { apply: (statements: string[]) => Promise<void>; settle: () => Promise<void>; atStartup: boolean },
): Promise<void> {
  const owner = randomUUID();
  await acquireLock(session, owner);
  // At startup a data backfill runs only on a keyspace with nothing to backfill (a new installation).
  let holdsData: boolean | null = null;
  try {
    const rows = await session.all('SELECT name, checksum FROM schema_migrations', []);
    const recorded = new Map(rows.map((row) => [row.get('name') as string, row.get('checksum') as string]));
    const files = readdirSync(dir)
      .filter((file) => MIGRATION_FILE.test(file))
      .sort((a, b) => Number(MIGRATION_FILE.exec(a)?.[1]) - Number(MIGRATION_FILE.exec(b)?.[1]));
    for (const file of files) {
      const name = file.replace(/\.cql$/, '');
      const cql = readFileSync(join(dir, file), 'utf8');
      const checksum = createHash('sha256').update(cql).digest('hex');
      const known = recorded.get(name);
      if (known !== undefined) {
        if (known !== checksum)
          throw new Error(`migration ${file} changed after it was applied; add a new migration instead`);
        continue;
      }
      const step = Object.hasOwn(CODE_STEPS, name) ? CODE_STEPS[name] : undefined;
      if (step && schema.atStartup) {
        holdsData ??=
          (await session.execute('read', 'SELECT id FROM users LIMIT 1', [], { idempotent: true }))
            .rowLength > 0;
        if (holdsData)
          throw new StartupRefused(
            `migration ${name} copies data, which a process does not do as it starts: run \`parley schema migrate\` ` +
              'once (with the new version), then start the processes',
          );
      }
      // Every statement is IF NOT EXISTS, so a migration interrupted half way is safe to run again.
      await schema.apply(splitStatements(cql));
      // Its code step (a data copy) runs before the migration is recorded: an interrupted one runs again.
      if (step) {
        await schema.settle();
        await step(session, () => renewLock(session, owner));
      }
      await session.execute(
        'write',
        'INSERT INTO schema_migrations (name, checksum, applied_at) VALUES (?, ?, ?)',
        [name, checksum, new Date()],
        { idempotent: true },
      );
      outcome.applied.push(name);
    }
  } finally {
    await session
      .execute(
        'lwt',
        'DELETE FROM schema_migration_lock WHERE id = ? IF owner = ?',
        ['migrate', cassandraDriver().types.Uuid.fromString(owner)],
        {
          idempotent: false,
        },
      )
      .catch(() => undefined); // the TTL releases it anyway
  }
}

/** Extends our lease by another LOCK_TTL_S (a long code step calls this as it goes). */
async function renewLock(session: CassandraSession, owner: string): Promise<void> {
  const uuid = cassandraDriver().types.Uuid.fromString(owner);
  const rs = await session.execute(
    'lwt',
    `UPDATE schema_migration_lock USING TTL ${LOCK_TTL_S} SET owner = ? WHERE id = ? IF owner = ?`,
    [uuid, 'migrate', uuid],
    { idempotent: false },
  );
  if (!rs.wasApplied()) throw new Error('lost the schema migration lock (its lease expired)');
}

/**
 * Code steps of migrations, by migration name: run after the migration's statements, under the lease,
 * before the migration is recorded. Each must be idempotent (an interrupted one runs again from scratch).
 */
const CODE_STEPS: Record<
  string,
  (session: CassandraSession, renew: () => Promise<void>) => Promise<unknown>
> = {
  '0004_reactions_by_bucket': copyReactionsToBuckets,
  // 0005's code step filled messages.search_terms; 0010 (always run after it) builds the postings instead.
  '0007_upload_usage': recountUploadUsage,
  // 0010's code step built the postings; 0048 (always run after it) rebuilds them in today's format instead.
  '0048_message_search_pairs': buildSearchPostings,
  '0012_reaction_counts': countStoredReactions,
  '0013_guild_member_counts': countStoredMembers,
  '0032_instance_admins': claimFirstAdminIfUsersExist,
  '0033_instance_audit_log': countStoredUsersAndGuilds,
  '0043_messages_by_author': indexMessagesByAuthor,
  '0045_member_shards': shardStoredMembers,
  '0046_bounded_partitions': copyToBoundedPartitions,
};

/**
 * 0032: an instance that already has accounts is not new, so its next registration must not become the first
 * admin: the claim is taken in its name (idempotent: IF NOT EXISTS). One row read, whatever the table's size.
 */
export async function claimFirstAdminIfUsersExist(session: CassandraSession): Promise<boolean> {
  const any = (
    await session.execute('read', 'SELECT id FROM users LIMIT 1', [], { idempotent: true })
  ).first();
  if (!any) return false;
  await session.execute(
    'lwt',
    'INSERT INTO instance_settings (key, value, updated_at) VALUES (?, ?, ?) IF NOT EXISTS',
    ['instance.first_admin', '0', new Date(0)],
    { idempotent: false },
  );
  return true;
}

/**
 * 0033: the `users` and `guilds` instance counters start from the rows present (a paged scan, once, under the
 * lease). Idempotent like recountUploadUsage: what is added is the difference from what the counter holds, so a
 * step that runs again after an interruption does not count twice. Messages count from this migration on.
 */
export async function countStoredUsersAndGuilds(
  session: CassandraSession,
  renew: () => Promise<void>,
): Promise<{ users: number; guilds: number }> {
  const count = async (table: string, present: string): Promise<number> => {
    let n = 0;
    // A half row (an update that raced a delete) has no `present` column: not counted.
    await scanTable(session, renew, `SELECT ${present} FROM ${table}`, (rows) => {
      n += rows.filter((row) => row.get(present) !== null).length;
      return Promise.resolve();
    });
    return n;
  };
  const counted = { users: await count('users', 'username'), guilds: await count('guilds', 'name') };
  for (const [name, wanted] of Object.entries(counted)) {
    const held = (
      await session.execute(
        'read',
        'SELECT value FROM instance_counters WHERE name = ? AND bucket = ?',
        [name, 'all'],
        { idempotent: true },
      )
    ).first();
    const delta = BigInt(wanted) - ((held?.get('value') as bigint | null | undefined) ?? 0n);
    if (delta !== 0n)
      await session.execute(
        'write',
        'UPDATE instance_counters SET value = value + ? WHERE name = ? AND bucket = ?',
        [delta, name, 'all'],
        { idempotent: false },
      );
  }
  return counted;
}

const OLD_REACTIONS = 'SELECT channel_id, message_id, emoji, user_id FROM reactions';
const INSERT_BY_BUCKET =
  'INSERT INTO reactions_by_bucket (channel_id, bucket, message_id, emoji, user_id) VALUES (?, ?, ?, ?, ?)';
const COPY_BATCH_ROWS = 64;
const COPY_WIDTH = 8;

/**
 * 0004: copies the per-message `reactions` table into `reactions_by_bucket` (token order, a page at a time,
 * rows of one (channel, bucket) partition in unlogged batches). Upserts only, so a copy that is run again, or
 * that overlaps with new reactions written to the new table, leaves the same rows. Once 0004 is recorded the
 * old table is no longer read or written; it is left in place for a rollback.
 */
export async function copyReactionsToBuckets(
  session: CassandraSession,
  renew: () => Promise<void>,
): Promise<number> {
  return scanTable(session, renew, OLD_REACTIONS, async (rows) => {
    const partitions = new Map<string, { query: string; params: unknown[] }[]>();
    for (const row of rows) {
      const channel = row.get('channel_id') as { toString(): string };
      const message = row.get('message_id') as { toString(): string };
      const bucket = bucketOf(message.toString());
      const key = `${channel.toString()}:${bucket}`;
      const list = partitions.get(key) ?? [];
      list.push({
        query: INSERT_BY_BUCKET,
        params: [channel, bucket, message, row.get('emoji'), row.get('user_id')],
      });
      partitions.set(key, list);
    }
    const batches: { query: string; params: unknown[] }[][] = [];
    for (const list of partitions.values())
      for (let i = 0; i < list.length; i += COPY_BATCH_ROWS) batches.push(list.slice(i, i + COPY_BATCH_ROWS));
    await mapLimit(batches, COPY_WIDTH, (batch) => session.batch(batch, true, false));
  });
}

async function acquireLock(session: CassandraSession, owner: string): Promise<void> {
  let deadline = Date.now() + LOCK_TTL_S * 1000;
  let seen: string | null = null;
  for (;;) {
    const rs = await session.execute(
      'lwt',
      `INSERT INTO schema_migration_lock (id, owner) VALUES (?, ?) IF NOT EXISTS USING TTL ${LOCK_TTL_S}`,
      ['migrate', cassandraDriver().types.Uuid.fromString(owner)],
      { idempotent: false },
    );
    if (rs.wasApplied()) return;
    // A holder that renews its lease (a long code step) is alive: wait for it as long as it does.
    const held = await session.execute('serialRead', LOCK_HOLDER, ['migrate'], { idempotent: true });
    const at = held.first()?.get('at') as { toString(): string } | undefined;
    if (at !== undefined && at.toString() !== seen) {
      if (seen !== null) deadline = Date.now() + LOCK_TTL_S * 1000;
      seen = at.toString();
    }
    if (Date.now() > deadline) throw new Error('another process holds the schema migration lock');
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/**
 * The columns the search postings are built from (all there since 0009; 0048's step reads them, and would read
 * no later column than 0047's).
 */
const MESSAGES_FOR_SEARCH =
  'SELECT channel_id, bucket, message_id, guild_id, author_id, content, edited_at, attachments, mentions, mention_everyone, pinned, type, nonce, reference_id FROM messages';

/**
 * 0048 (0010 before it): writes the search posting (and its bucket's marker) of every message stored before it
 * (token order, a page at a time), replacing a posting of the earlier format. Messages sent, edited or imported from now on write their own; a rerun writes the same
 * rows. A message deleted while this runs would come back as a posting whose message is gone: such rows
 * (without author) are skipped, and a posting whose message is missing is dropped from the results.
 */
export async function buildSearchPostings(
  session: CassandraSession,
  renew: () => Promise<void>,
): Promise<number> {
  let indexed = 0;
  const marked = new Set<string>();
  await scanTable(session, renew, MESSAGES_FOR_SEARCH, async (rows) => {
    const messages = rows.filter((row) => row.get(MESSAGES.present) !== null).map(MESSAGES.toRecord);
    const markers = messages.flatMap((m) => {
      const key = `${MESSAGE_SEARCH.scopeOf(m)}:${searchBucketOf(m.id)}`;
      if (marked.has(key)) return [];
      marked.add(key);
      return [[MESSAGE_SEARCH.scopeOf(m), searchBucketOf(m.id)]];
    });
    await mapLimit(markers, COPY_WIDTH * 4, (params) =>
      session.execute('write', MESSAGE_SEARCH.markBucket, params, { idempotent: true }),
    );
    await mapLimit(messages, COPY_WIDTH * 4, (m) =>
      session.execute('write', MESSAGE_SEARCH.insert, MESSAGE_SEARCH.params(m, undefined), {
        idempotent: true,
      }),
    );
    indexed += messages.length;
  });
  return indexed;
}

/** The columns 0043 reads (all there since 0001). */
const MESSAGE_AUTHORS = 'SELECT channel_id, bucket, message_id, author_id FROM messages';

/**
 * 0043: writes the `messages_by_author` row of every message stored before it (token order, a page at a time).
 * Messages sent or imported from now on write their own; a rerun writes the same rows. A message deleted while
 * this runs may leave a row whose message is gone, which readers pass over.
 */
export async function indexMessagesByAuthor(
  session: CassandraSession,
  renew: () => Promise<void>,
): Promise<number> {
  let indexed = 0;
  await scanTable(session, renew, MESSAGE_AUTHORS, async (page) => {
    // An UPDATE racing a delete leaves a row without its author: not a message.
    const rows = page.filter((row) => row.get('author_id') !== null);
    await mapLimit(rows, COPY_WIDTH * 4, (row) =>
      session.execute(
        'write',
        MESSAGES_BY_AUTHOR.insert,
        [row.get('author_id'), row.get('bucket'), row.get('message_id'), row.get('channel_id')],
        { idempotent: true },
      ),
    );
    indexed += rows.length;
  });
  return indexed;
}

const ATTACHMENT_SIZES = 'SELECT uploader_id, size FROM attachments';

/**
 * 0007: brings `upload_usage` to the bytes of the attachments already stored (token order, a page at a
 * time, summed in memory per uploader: one number per user who ever uploaded). Each counter gets the
 * difference from what it holds, so a rerun adds nothing.
 */
export async function recountUploadUsage(
  session: CassandraSession,
  renew: () => Promise<void>,
): Promise<number> {
  const wanted = new Map<string, bigint>();
  await scanTable(session, renew, ATTACHMENT_SIZES, (rows) => {
    for (const row of rows) {
      const uploader = row.get('uploader_id') as bigint | null;
      if (uploader === null) continue; // a row without its upload columns is not an attachment
      const key = uploader.toString();
      wanted.set(key, (wanted.get(key) ?? 0n) + ((row.get('size') as bigint | null) ?? 0n));
    }
    return Promise.resolve();
  });
  const held = new Map<string, bigint>();
  for (const row of await session.all(UPLOAD_USAGE.scan, []))
    held.set((row.get('user_id') as bigint).toString(), (row.get('bytes') as bigint | null) ?? 0n);
  const deltas = [...new Set([...wanted.keys(), ...held.keys()])]
    .map((user) => [user, (wanted.get(user) ?? 0n) - (held.get(user) ?? 0n)] as const)
    .filter(([, delta]) => delta !== 0n);
  await mapLimit(deltas, COPY_WIDTH, ([user, delta]) =>
    session.execute('write', UPLOAD_USAGE.add, [delta, BigInt(user)], { idempotent: false }),
  );
  return deltas.length;
}

/**
 * Streams a token-order scan as runs of consecutive rows with the same key (a partition's rows arrive
 * together and in clustering order, so a run is everything stored under its key) and hands each run's size
 * to `settle`: constant memory whatever the table's size. Returns the number of runs.
 */
async function countRuns<K>(
  session: CassandraSession,
  renew: () => Promise<void>,
  query: string,
  keyOf: (row: { get(column: string): unknown }) => K,
  settle: (key: K, n: bigint) => Promise<void>,
): Promise<number> {
  let current = null as { key: K; id: string; n: bigint } | null;
  let runs = 0;
  await scanTable(session, renew, query, async (rows) => {
    const done: { key: K; n: bigint }[] = [];
    for (const row of rows) {
      const key = keyOf(row);
      const id = JSON.stringify(key, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
      if (current?.id === id) current.n += 1n;
      else {
        if (current) done.push(current);
        current = { key, id, n: 1n };
      }
    }
    await mapLimit(done, COPY_WIDTH, (run) => settle(run.key, run.n));
    runs += done.length;
  });
  if (current) await settle(current.key, current.n);
  return runs + (current ? 1 : 0);
}

/**
 * 0012: brings `reaction_counts` to the reactions already stored, one (message, emoji) run at a time. Each
 * counter gets the difference from what it holds, so a rerun (or a reaction added meanwhile by the request
 * path, which counts its own) adds nothing.
 */
export function countStoredReactions(session: CassandraSession, renew: () => Promise<void>): Promise<number> {
  return countRuns(
    session,
    renew,
    'SELECT channel_id, bucket, message_id, emoji FROM reactions_by_bucket',
    (row): CountKey => [
      row.get('channel_id') as bigint,
      row.get('bucket') as number,
      row.get('message_id') as bigint,
      row.get('emoji') as string,
    ],
    async (key, n) => {
      const held = (await session.execute('read', REACTION_COUNTS.one, key, { idempotent: true })).first();
      await addToCount(session, key, n - ((held?.get('n') as bigint | null) ?? 0n));
    },
  );
}

/** 0013: brings `guild_member_counts` to the members already stored, one guild partition at a time. */
export function countStoredMembers(session: CassandraSession, renew: () => Promise<void>): Promise<number> {
  return countRuns(
    session,
    renew,
    `SELECT guild_id FROM members`,
    (row) => row.get('guild_id') as bigint,
    async (guild, n) => {
      const held = (
        await session.execute('read', GUILD_MEMBER_COUNTS.read, [guild], { idempotent: true })
      ).first();
      await addToMemberCount(session, guild, n - ((held?.get('n') as bigint | null) ?? 0n));
    },
  );
}
