import Database from 'better-sqlite3';
import {
  BulkConflict,
  type BulkRecords,
  type BulkStorage,
  type BulkTable,
  type BulkWriteFailure,
  type CheckpointStore,
  type ClaimKind,
  type ClaimMismatch,
  type MessageRecord,
  type MigrationCheckpoint,
  type ReactionRecord,
  type ScanPage,
} from '../contract';
import { fromId, parseIds, toId, toNumber } from './codec';
import { SqliteDb } from './connection';
import { settle } from './errors';
import { SqliteSettingsRepository } from './repositories/settings.repository';
import {
  addReaction,
  ATTACHMENTS,
  AUDIT_LOG,
  AUTOMOD_RULES,
  RELATIONSHIPS,
  REPORTS,
  USER_PRIVACY,
  WEBHOOKS,
  BANS,
  EMOJIS,
  GUILD_SETTINGS,
  INSTANCE_SECRETS,
  NOTIFICATION_PREFS,
  PUSH_SUBSCRIPTIONS,
  USER_IDENTITIES,
  CHANNEL_LAST_MESSAGES,
  CHANNELS,
  DM_PAIRS,
  DM_RECIPIENTS,
  GUILDS,
  insertChannel,
  INVITES,
  JOB_DEAD,
  JOB_PENDING,
  JOBS,
  MEMBERS,
  MESSAGES,
  OVERWRITES,
  PINS,
  READ_STATES,
  REACTIONS,
  removeReaction,
  ROLES,
  TOKENS,
  USERS,
  INSTANCE_AUDIT_LOG,
  type ChannelRow,
  type MessageRow,
  type OverwriteRow,
} from './tables';

type Row = Record<string, unknown>;

/**
 * How the operator tools reach one logical table: its scan (in key order) and its writes. The
 * statements and row mappings come from `tables.ts`, the ones the repositories use.
 */
interface TableDef<T extends BulkTable> {
  /** The physical table that holds the records (for counts). */
  table: string;
  /** SELECT ... FROM ... (no WHERE); `where` is ANDed with the key range. */
  select: string;
  where?: string;
  /** Key columns in scan order (qualified as the select needs), with how a cursor value binds. */
  keys: readonly { column: string; type: 'int' | 'text' }[];
  /** The key of a record, as the cursor stores it. */
  key(record: BulkRecords[T]): string[];
  toRecord(row: Row): BulkRecords[T];
  write(db: SqliteDb, record: BulkRecords[T]): void;
  remove(db: SqliteDb, record: BulkRecords[T]): void;
}

type Defs = { [T in BulkTable]: TableDef<T> };

const RECIPIENTS = `(SELECT json_group_array(CAST(r.user_id AS TEXT)) FROM dm_recipients r WHERE r.channel_id = channels.id)`;

const id = (column = 'id') => ({ column, type: 'int' as const });
const text = (column: string) => ({ column, type: 'text' as const });
// The scan's rows are the table's rows: each mapping is typed by its row, the scan by a loose one.
const byRow = <R, T>(map: (row: R) => T) => map as unknown as (row: Row) => T;

const DEFS: Defs = {
  users: {
    table: USERS.name,
    select: `SELECT ${USERS.read} FROM users`,
    keys: [id()],
    key: (u) => [u.id],
    toRecord: byRow(USERS.toRecord),
    write(db, u) {
      const params = USERS.params(u);
      // The claims, checked here so a conflict names its holder (the UNIQUE indexes would only refuse).
      for (const [claim, sql, value] of [
        ['username', 'SELECT id FROM users WHERE username_lower = ? AND id <> ?', params[2]],
        ['email', 'SELECT id FROM users WHERE email = ? AND id <> ?', params[3]],
      ] as const) {
        const holder = db.get<{ id: bigint }>(sql, value, params[0]);
        if (holder) throw new BulkConflict(claim, String(value), `user ${holder.id}`);
      }
      db.run(USERS.upsert, ...params);
    },
    remove: (db, u) => void db.run(USERS.delete, toId(u.id)),
  },
  tokens: {
    table: TOKENS.name,
    select: `SELECT ${TOKENS.columns} FROM tokens`,
    keys: [text('token_hash')],
    key: (t) => [t.tokenHash],
    toRecord: byRow(TOKENS.toRecord),
    write: (db, t) => void db.run(TOKENS.upsert, ...TOKENS.params(t)),
    remove: (db, t) => void db.run(TOKENS.delete, t.tokenHash),
  },
  guilds: {
    table: GUILDS.name,
    select: `SELECT ${GUILDS.columns} FROM guilds`,
    keys: [id()],
    key: (g) => [g.id],
    toRecord: byRow(GUILDS.toRecord),
    write: (db, g) => void db.run(GUILDS.upsert, ...GUILDS.params(g)),
    remove: (db, g) => void db.run(GUILDS.delete, toId(g.id)),
  },
  roles: {
    table: ROLES.name,
    select: `SELECT ${ROLES.columns} FROM roles`,
    keys: [id('guild_id'), id()],
    key: (r) => [r.guildId, r.id],
    toRecord: byRow(ROLES.toRecord),
    write: (db, r) => void db.run(ROLES.upsert, ...ROLES.params(r)),
    remove: (db, r) => void db.run(ROLES.delete, toId(r.guildId), toId(r.id)),
  },
  members: {
    table: MEMBERS.name,
    select: `SELECT ${MEMBERS.columns} FROM members`,
    keys: [id('guild_id'), id('user_id')],
    key: (m) => [m.guildId, m.userId],
    toRecord: byRow(MEMBERS.toRecord),
    write: (db, m) => void db.run(MEMBERS.upsert, ...MEMBERS.params(m)),
    remove: (db, m) => void db.run(MEMBERS.delete, toId(m.guildId), toId(m.userId)),
  },
  channels: {
    table: CHANNELS.name,
    select: `SELECT ${CHANNELS.columns}, ${RECIPIENTS} AS recipients FROM channels`,
    keys: [id()],
    key: (c) => [c.id],
    toRecord: (row) =>
      CHANNELS.toRecord(row as unknown as ChannelRow, parseIds(row.recipients as string), []),
    write(db, c) {
      // The recipients are replaced, not merged: the record is the whole channel.
      db.run(DM_RECIPIENTS.deleteOfChannel, toId(c.id));
      insertChannel(db, c, CHANNELS.upsert);
    },
    remove(db, c) {
      db.run(DM_RECIPIENTS.deleteOfChannel, toId(c.id));
      db.run(CHANNELS.delete, toId(c.id));
    },
  },
  overwrites: {
    table: OVERWRITES.name,
    // Overwrites of channels that are gone are invisible to the API and are not part of the data set.
    select: `SELECT ${OVERWRITES.columns
      .split(', ')
      .map((column) => `o.${column}`)
      .join(', ')}, c.guild_id
      FROM channel_overwrites o JOIN channels c ON c.id = o.channel_id`,
    where: 'c.guild_id IS NOT NULL',
    keys: [id('o.channel_id'), id('o.id')],
    key: (o) => [o.channelId, o.id],
    toRecord: (row) => ({
      ...OVERWRITES.toRecord(row as unknown as OverwriteRow),
      guildId: fromId(row.guild_id as bigint),
    }),
    write: (db, o) => void db.run(OVERWRITES.upsert, ...OVERWRITES.params(o)),
    remove: (db, o) => void db.run(OVERWRITES.delete, toId(o.channelId), toId(o.id)),
  },
  dm_pairs: {
    table: DM_PAIRS.name,
    select: `SELECT ${DM_PAIRS.columns} FROM dm_pairs`,
    keys: [id('user_low'), id('user_high')],
    key: (p) => [p.userLow, p.userHigh],
    toRecord: (row) => ({
      userLow: fromId(row.user_low as bigint),
      userHigh: fromId(row.user_high as bigint),
      channelId: fromId(row.channel_id as bigint),
    }),
    write(db, p) {
      const [low, high, channel] = [toId(p.userLow), toId(p.userHigh), toId(p.channelId)];
      db.run(DM_PAIRS.insertIfAbsent, low, high, channel);
      const held = db.get<{ channel_id: bigint }>(DM_PAIRS.holder, low, high);
      if (held && held.channel_id !== channel)
        throw new BulkConflict('dm_pair', `${p.userLow}/${p.userHigh}`, `channel ${held.channel_id}`);
    },
    remove: (db, p) =>
      void db.run(
        `${DM_PAIRS.delete} AND channel_id = ?`,
        toId(p.userLow),
        toId(p.userHigh),
        toId(p.channelId),
      ),
  },
  messages: {
    table: MESSAGES.name,
    // (channel_id, id) order is the messages_by_channel index: a range scan, and batches of one channel.
    select: `SELECT ${MESSAGES.columns} FROM messages`,
    keys: [id('channel_id'), id()],
    key: (m) => [m.channelId, m.id],
    toRecord: byRow(MESSAGES.toRecord),
    write: (db, m) => void db.run(MESSAGES.upsert, ...MESSAGES.params(m)),
    remove: (db, m) => void db.run(MESSAGES.delete, toId(m.id), toId(m.channelId)),
  },
  reactions: {
    table: REACTIONS.name,
    // Reactions of deleted messages are invisible to the API and are not part of the data set.
    select: `SELECT r.message_id, r.emoji, r.user_id, m.channel_id
      FROM reactions r JOIN messages m ON m.id = r.message_id`,
    keys: [id('r.message_id'), text('r.emoji'), id('r.user_id')],
    key: (r) => [r.messageId, r.emoji, r.userId],
    toRecord: (row) => ({
      channelId: fromId(row.channel_id as bigint),
      messageId: fromId(row.message_id as bigint),
      emoji: row.emoji as string,
      userId: fromId(row.user_id as bigint),
    }),
    write: (db, r) => void addReaction(db, toId(r.messageId), r.emoji, toId(r.userId)),
    remove: (db, r) => void removeReaction(db, toId(r.messageId), r.emoji, toId(r.userId)),
  },
  read_states: {
    table: READ_STATES.name,
    select: `SELECT ${READ_STATES.columns} FROM read_states`,
    keys: [id('user_id'), id('channel_id')],
    key: (s) => [s.userId, s.channelId],
    toRecord: byRow(READ_STATES.toRecord),
    write: (db, s) => void db.run(READ_STATES.upsert, ...READ_STATES.params(s)),
    remove: (db, s) => void db.run(READ_STATES.delete, toId(s.userId), toId(s.channelId)),
  },
  invites: {
    table: INVITES.name,
    select: `SELECT ${INVITES.columns} FROM invites`,
    keys: [text('code')],
    key: (i) => [i.code],
    toRecord: byRow(INVITES.toRecord),
    write(db, i) {
      // The code is the claim: the same invite may be written again, another invite may not take it.
      const held = db.get<{ guild_id: bigint; created_at: bigint }>(
        'SELECT guild_id, created_at FROM invites WHERE code = ?',
        i.code,
      );
      if (held && (held.guild_id !== toId(i.guildId) || Number(held.created_at) !== i.createdAt))
        throw new BulkConflict('invite_code', i.code, `an invite of guild ${held.guild_id}`);
      db.run(INVITES.upsert, ...INVITES.params(i));
    },
    remove: (db, i) => void db.run(INVITES.delete, i.code),
  },
  channel_last_messages: {
    table: CHANNEL_LAST_MESSAGES.name,
    select: `SELECT ${CHANNEL_LAST_MESSAGES.columns} FROM channel_last_messages`,
    keys: [id('channel_id')],
    key: (r) => [r.channelId],
    toRecord: byRow(CHANNEL_LAST_MESSAGES.toRecord),
    write: (db, r) => void db.run(CHANNEL_LAST_MESSAGES.upsert, ...CHANNEL_LAST_MESSAGES.params(r)),
    remove: (db, r) => void db.run(CHANNEL_LAST_MESSAGES.delete, toId(r.channelId)),
  },
  user_identities: {
    table: USER_IDENTITIES.name,
    select: `SELECT ${USER_IDENTITIES.columns} FROM user_identities`,
    keys: [text('provider'), text('subject')],
    key: (i) => [i.provider, i.subject],
    toRecord: byRow(USER_IDENTITIES.toRecord),
    write: (db, i) => void db.run(USER_IDENTITIES.upsert, ...USER_IDENTITIES.params(i)),
    remove: (db, i) => void db.run(USER_IDENTITIES.delete, i.provider, i.subject),
  },
  user_guild_settings: {
    table: GUILD_SETTINGS.name,
    select: `SELECT ${GUILD_SETTINGS.columns} FROM user_guild_settings`,
    keys: [id('user_id'), id('guild_id')],
    key: (s) => [s.userId, s.guildId],
    toRecord: byRow(GUILD_SETTINGS.toRecord),
    write: (db, s) => void db.run(GUILD_SETTINGS.upsert, ...GUILD_SETTINGS.params(s)),
    remove: (db, s) => void db.run(GUILD_SETTINGS.delete, toId(s.userId), toId(s.guildId)),
  },
  push_subscriptions: {
    table: PUSH_SUBSCRIPTIONS.name,
    select: `SELECT ${PUSH_SUBSCRIPTIONS.columns} FROM push_subscriptions`,
    keys: [id('user_id'), text('endpoint_id')],
    key: (p) => [p.userId, p.endpointId],
    toRecord: byRow(PUSH_SUBSCRIPTIONS.toRecord),
    write: (db, p) => void db.run(PUSH_SUBSCRIPTIONS.upsert, ...PUSH_SUBSCRIPTIONS.params(p)),
    remove: (db, p) => void db.run(PUSH_SUBSCRIPTIONS.delete, toId(p.userId), p.endpointId),
  },
  instance_secrets: {
    table: INSTANCE_SECRETS.name,
    select: `SELECT ${INSTANCE_SECRETS.columns} FROM instance_secrets`,
    keys: [text('name')],
    key: (i) => [i.name],
    toRecord: byRow(INSTANCE_SECRETS.toRecord),
    write: (db, i) => void db.run(INSTANCE_SECRETS.upsert, ...INSTANCE_SECRETS.params(i)),
    remove: (db, i) => void db.run(INSTANCE_SECRETS.delete, i.name),
  },
  notification_preferences: {
    table: NOTIFICATION_PREFS.name,
    select: `SELECT ${NOTIFICATION_PREFS.columns} FROM notification_preferences`,
    keys: [id('user_id')],
    key: (p) => [p.userId],
    toRecord: byRow(NOTIFICATION_PREFS.toRecord),
    write: (db, p) => void db.run(NOTIFICATION_PREFS.upsert, ...NOTIFICATION_PREFS.params(p)),
    remove: (db, p) => void db.run(NOTIFICATION_PREFS.delete, toId(p.userId)),
  },
  pins: {
    table: PINS.name,
    select: `SELECT ${PINS.columns} FROM channel_pins`,
    keys: [id('channel_id'), id('message_id')],
    key: (p) => [p.channelId, p.messageId],
    toRecord: byRow(PINS.toRecord),
    write: (db, p) => void db.run(PINS.upsert, ...PINS.params(p)),
    remove: (db, p) => void db.run(PINS.delete, toId(p.channelId), toId(p.messageId)),
  },
  bans: {
    table: BANS.name,
    select: `SELECT ${BANS.columns} FROM bans`,
    keys: [id('guild_id'), id('user_id')],
    key: (b) => [b.guildId, b.userId],
    toRecord: byRow(BANS.toRecord),
    write: (db, b) => void db.run(BANS.upsert, ...BANS.params(b)),
    remove: (db, b) => void db.run(BANS.delete, toId(b.guildId), toId(b.userId)),
  },
  emojis: {
    table: EMOJIS.name,
    select: `SELECT ${EMOJIS.columns} FROM guild_emojis`,
    keys: [id('guild_id'), id('id')],
    key: (e) => [e.guildId, e.id],
    toRecord: byRow(EMOJIS.toRecord),
    write: (db, e) => void db.run(EMOJIS.upsert, ...EMOJIS.params(e)),
    remove: (db, e) => void db.run(EMOJIS.delete, toId(e.guildId), toId(e.id)),
  },
  webhooks: {
    table: WEBHOOKS.name,
    select: `SELECT ${WEBHOOKS.columns} FROM webhooks`,
    keys: [id()],
    key: (w) => [w.id],
    toRecord: byRow(WEBHOOKS.toRecord),
    write: (db, w) => void db.run(WEBHOOKS.upsert, ...WEBHOOKS.params(w)),
    remove: (db, w) => void db.run(WEBHOOKS.delete, toId(w.id)),
  },
  audit_log_entries: {
    table: AUDIT_LOG.name,
    select: `SELECT ${AUDIT_LOG.columns} FROM audit_log_entries`,
    keys: [id('guild_id'), id()],
    key: (e) => [e.guildId, e.id],
    toRecord: byRow(AUDIT_LOG.toRecord),
    write: (db, e) => void db.run(AUDIT_LOG.upsert, ...AUDIT_LOG.params(e)),
    remove: (db, e) => void db.run(AUDIT_LOG.delete, toId(e.guildId), toId(e.id)),
  },
  automod_rules: {
    table: AUTOMOD_RULES.name,
    select: `SELECT ${AUTOMOD_RULES.columns} FROM automod_rules`,
    keys: [id('guild_id'), id()],
    key: (r) => [r.guildId, r.id],
    toRecord: byRow(AUTOMOD_RULES.toRecord),
    write: (db, r) => void db.run(AUTOMOD_RULES.upsert, ...AUTOMOD_RULES.params(r)),
    remove: (db, r) => void db.run(AUTOMOD_RULES.delete, toId(r.guildId), toId(r.id)),
  },
  relationships: {
    table: RELATIONSHIPS.name,
    select: `SELECT ${RELATIONSHIPS.columns} FROM relationships`,
    keys: [id('user_id'), id('target_id')],
    key: (r) => [r.userId, r.targetId],
    toRecord: byRow(RELATIONSHIPS.toRecord),
    write: (db, r) => void db.run(RELATIONSHIPS.upsert, ...RELATIONSHIPS.params(r)),
    remove: (db, r) => void db.run(RELATIONSHIPS.delete, toId(r.userId), toId(r.targetId)),
  },
  user_privacy: {
    table: USER_PRIVACY.name,
    select: `SELECT ${USER_PRIVACY.columns} FROM user_privacy`,
    keys: [id('user_id')],
    key: (p) => [p.userId],
    toRecord: byRow(USER_PRIVACY.toRecord),
    write: (db, p) => void db.run(USER_PRIVACY.upsert, ...USER_PRIVACY.params(p)),
    remove: (db, p) => void db.run(USER_PRIVACY.delete, toId(p.userId)),
  },
  reports: {
    table: REPORTS.name,
    select: `SELECT ${REPORTS.columns} FROM reports`,
    keys: [id()],
    key: (r) => [r.id],
    toRecord: byRow(REPORTS.toRecord),
    write: (db, r) => void db.run(REPORTS.upsert, ...REPORTS.params(r)),
    remove: (db, r) => void db.run(REPORTS.delete, toId(r.id)),
  },
  instance_audit_log: {
    table: INSTANCE_AUDIT_LOG.name,
    select: `SELECT ${INSTANCE_AUDIT_LOG.columns} FROM instance_audit_log`,
    keys: [id()],
    key: (e) => [e.id],
    toRecord: byRow(INSTANCE_AUDIT_LOG.toRecord),
    write: (db, e) => void db.run(INSTANCE_AUDIT_LOG.upsert, ...INSTANCE_AUDIT_LOG.params(e)),
    remove: (db, e) => void db.run(INSTANCE_AUDIT_LOG.delete, toId(e.id)),
  },
  attachments: {
    table: ATTACHMENTS.name,
    select: `SELECT ${ATTACHMENTS.columns} FROM attachments`,
    keys: [id()],
    key: (a) => [a.id],
    toRecord: byRow(ATTACHMENTS.toRecord),
    write: (db, a) => void db.run(ATTACHMENTS.upsert, ...ATTACHMENTS.params(a)),
    remove: (db, a) => void db.run(ATTACHMENTS.delete, toId(a.id)),
  },
  jobs: {
    table: JOBS.name,
    select: `SELECT ${JOBS.columns} FROM jobs`,
    keys: [text('id')],
    key: (j) => [j.id],
    toRecord: byRow(JOBS.toBulk),
    write: (db, j) => void db.run(JOBS.upsert, ...JOBS.params(j, j.dead ? JOB_DEAD : JOB_PENDING)),
    remove: (db, j) => void db.run(JOBS.delete, j.id),
  },
};

/**
 * The SQL of one page after a cursor. "Key greater than (c1..cn)" is written as a UNION ALL of n index
 * seeks, deepest first (k1 = c1 .. AND kn > cn, then .. , then k1 > c1), under one outer LIMIT: SQLite
 * runs the branches lazily and each one is a range seek, whereas a row-value comparison on
 * (channel_id, id) would make it rescan the channel's earlier rows for every page.
 */
function pageSql(def: TableDef<BulkTable>, after: boolean): string {
  const order = def.keys.map((k) => k.column).join(', ');
  const branch = (conditions: string[], orderBy: string) =>
    `SELECT * FROM (${def.select} WHERE ${[...(def.where ? [def.where] : []), ...conditions].join(' AND ') || '1'} ORDER BY ${orderBy} LIMIT ?)`;
  if (!after) return `${branch([], order)} LIMIT ?`;
  const branches: string[] = [];
  for (let depth = def.keys.length; depth >= 1; depth--) {
    const equal = def.keys.slice(0, depth - 1).map((k) => `${k.column} = ?`);
    branches.push(
      branch(
        [...equal, `${def.keys[depth - 1].column} > ?`],
        def.keys
          .slice(depth - 1)
          .map((k) => k.column)
          .join(', '),
      ),
    );
  }
  return `${branches.join(' UNION ALL ')} LIMIT ?`;
}

/** Parameters for pageSql: per branch its key prefix and the limit, then the outer limit. */
function pageParams(keys: (bigint | string)[], limit: number): (bigint | string | number)[] {
  const params: (bigint | string | number)[] = [];
  for (let depth = keys.length; depth >= 1; depth--) params.push(...keys.slice(0, depth), limit);
  params.push(limit);
  return params;
}

/** Errors that belong to one record (its values, a claim): the rest of the batch goes on. */
function isRecordError(err: unknown): boolean {
  if (err instanceof BulkConflict) return true;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code.startsWith('SQLITE_CONSTRAINT') || code === 'SQLITE_MISMATCH';
  return err instanceof TypeError || err instanceof RangeError || err instanceof SyntaxError;
}

/**
 * Bulk access to a SQLite database: keyset-paged scans in primary key order (every page is an index
 * range scan), batches written in one IMMEDIATE transaction with a savepoint per record, so a refused
 * record rolls back alone and every record is applied whole or not at all.
 */
const CLAIMS = {
  // A pair whose channel is gone, is no DM, or is not the DM of exactly those two; a DM without its pair.
  pairMismatches: `
    SELECT p.user_low AS low, p.user_high AS high, p.channel_id AS channel,
      'the claim names channel #, which does not exist' AS problem
    FROM dm_pairs p LEFT JOIN channels c ON c.id = p.channel_id WHERE c.id IS NULL
    UNION ALL
    SELECT p.user_low, p.user_high, p.channel_id, 'channel # is not the DM of these two users'
    FROM dm_pairs p JOIN channels c ON c.id = p.channel_id
    WHERE c.type <> 1
      OR (SELECT count(*) FROM dm_recipients r WHERE r.channel_id = p.channel_id) <> 2
      OR NOT EXISTS (SELECT 1 FROM dm_recipients r WHERE r.channel_id = p.channel_id AND r.user_id = p.user_low)
      OR NOT EXISTS (SELECT 1 FROM dm_recipients r WHERE r.channel_id = p.channel_id AND r.user_id = p.user_high)
    UNION ALL
    SELECT min(r.user_id), max(r.user_id), c.id, 'DM channel # has no claim'
    FROM channels c JOIN dm_recipients r ON r.channel_id = c.id
    WHERE c.type = 1 AND NOT EXISTS (SELECT 1 FROM dm_pairs p WHERE p.channel_id = c.id)
    GROUP BY c.id HAVING count(*) = 2`,
  orphanInvites: `SELECT i.code AS code, i.guild_id AS guild FROM invites i
    WHERE NOT EXISTS (SELECT 1 FROM guilds g WHERE g.id = i.guild_id)`,
};

export class SqliteBulk implements BulkStorage {
  readonly backend = 'sqlite' as const;
  readonly checkpoints: CheckpointStore;
  readonly settings: SqliteSettingsRepository;
  private readonly writeOne: (table: BulkTable, record: unknown) => void;
  private readonly removeOne: (table: BulkTable, record: unknown) => void;

  constructor(private readonly db: SqliteDb) {
    const def = (table: BulkTable) => DEFS[table] as unknown as TableDef<BulkTable>;
    this.writeOne = db.raw.transaction((table: BulkTable, record: unknown) =>
      def(table).write(db, record as BulkRecords[BulkTable]),
    );
    this.removeOne = db.raw.transaction((table: BulkTable, record: unknown) =>
      def(table).remove(db, record as BulkRecords[BulkTable]),
    );
    this.checkpoints = new SqliteCheckpoints(db);
    this.settings = new SqliteSettingsRepository(db);
  }

  /** A read-only connection to a database file: a migration or export never writes into its source. */
  static openReadOnly(path: string): SqliteBulk {
    const raw = new Database(path, { readonly: true, fileMustExist: true });
    raw.defaultSafeIntegers(true);
    return new SqliteBulk(new SqliteDb(raw));
  }

  /** Closes the connection (for instances made by openReadOnly). */
  close(): void {
    this.db.raw.close();
  }

  /** Runs `work` inside one read transaction: every scan in it sees the same snapshot (WAL). */
  async consistentRead<T>(work: () => Promise<T>): Promise<T> {
    this.db.raw.exec('BEGIN DEFERRED');
    try {
      return await work();
    } finally {
      this.db.raw.exec('COMMIT');
    }
  }

  scan<T extends BulkTable>(
    table: T,
    cursor: string | null,
    limit: number,
  ): Promise<ScanPage<BulkRecords[T]>> {
    const def = DEFS[table] as unknown as TableDef<T>;
    return settle(() => {
      const n = Math.max(1, Math.floor(limit));
      const sql = pageSql(def, cursor !== null);
      const rows =
        cursor === null
          ? this.db.all<Row>(sql, n, n)
          : this.db.all<Row>(sql, ...pageParams(decodeCursor(cursor, def.keys), n));
      const records = rows.map((row) => def.toRecord(row));
      const last = records[records.length - 1];
      return { records, cursor: records.length < n ? null : JSON.stringify(def.key(last)) };
    });
  }

  count(table: BulkTable): Promise<number | null> {
    return settle(() =>
      toNumber(this.db.get<{ n: bigint }>(`SELECT count(*) AS n FROM ${DEFS[table].table}`)?.n ?? 0n),
    );
  }

  write<T extends BulkTable>(table: T, records: readonly BulkRecords[T][]): Promise<BulkWriteFailure[]> {
    return settle(() => {
      const failures: BulkWriteFailure[] = [];
      if (records.length === 0) return failures;
      this.db.transaction(() => {
        records.forEach((record, index) => {
          try {
            this.writeOne(table, record);
          } catch (err) {
            if (!isRecordError(err)) throw err;
            failures.push({ index, error: err instanceof Error ? err : new Error(String(err)) });
          }
        });
      });
      return failures;
    });
  }

  remove<T extends BulkTable>(table: T, records: readonly BulkRecords[T][]): Promise<void> {
    return settle(() => {
      if (records.length === 0) return;
      this.db.transaction(() => {
        for (const record of records) this.removeOne(table, record);
      });
    });
  }

  /**
   * Usernames and emails are unique indexes of the users table here (no claim rows can disagree); DM pairs
   * and invite codes are rows of their own, checked against their DM channel and guild.
   */
  reconcileClaims(onMismatch: (mismatch: ClaimMismatch) => void): Promise<Record<ClaimKind, number>> {
    return settle(() => {
      const count = (sql: string): number => Number(this.db.get<{ n: number }>(sql)?.n ?? 0);
      for (const row of this.db.all<{ low: bigint; high: bigint; channel: bigint; problem: string }>(
        CLAIMS.pairMismatches,
      ))
        onMismatch({
          kind: 'dm_pair',
          key: `${fromId(row.low)}:${fromId(row.high)}`,
          problem: row.problem.replace('#', fromId(row.channel)),
        });
      for (const row of this.db.all<{ code: string; guild: bigint }>(CLAIMS.orphanInvites))
        onMismatch({
          kind: 'invite',
          key: row.code,
          problem: `the invite names guild ${fromId(row.guild)}, which does not exist`,
        });
      const users = count('SELECT count(*) AS n FROM users');
      return {
        username: users,
        email: users,
        dm_pair: count('SELECT count(*) AS n FROM dm_pairs'),
        invite: count('SELECT count(*) AS n FROM invites'),
      };
    });
  }

  channelMessages(channelId: string, after: string | null, limit: number): Promise<MessageRecord[]> {
    return settle(() =>
      this.db
        .all<MessageRow>(
          `SELECT ${MESSAGES.columns} FROM messages WHERE channel_id = ? AND id > ? ORDER BY id LIMIT ?`,
          toId(channelId),
          after === null ? -1n : toId(after),
          Math.max(1, Math.floor(limit)),
        )
        .map(MESSAGES.toRecord),
    );
  }

  messageReactions(channelId: string, messageId: string): Promise<ReactionRecord[]> {
    return settle(() =>
      this.db
        .all<{ emoji: string; user_id: bigint }>(
          'SELECT emoji, user_id FROM reactions WHERE message_id = ? ORDER BY emoji, user_id',
          toId(messageId),
        )
        .map((row) => ({ channelId, messageId, emoji: row.emoji, userId: fromId(row.user_id) })),
    );
  }
}

function decodeCursor(cursor: string, keys: TableDef<BulkTable>['keys']): (bigint | string)[] {
  const values = JSON.parse(cursor) as unknown;
  if (!Array.isArray(values) || values.length !== keys.length || !values.every((v) => typeof v === 'string'))
    throw new Error(`not a scan cursor of this table: ${cursor}`);
  return values.map((value, i) => (keys[i].type === 'int' ? BigInt(value) : value));
}

class SqliteCheckpoints implements CheckpointStore {
  constructor(private readonly db: SqliteDb) {}

  list(source: string): Promise<MigrationCheckpoint[]> {
    return settle(() =>
      this.db
        .all<{ tbl: string; cursor: string | null; rows: bigint; done: bigint; updated_at: bigint }>(
          'SELECT tbl, cursor, rows, done, updated_at FROM migration_checkpoints WHERE source = ?',
          source,
        )
        .map((row) => ({
          table: row.tbl as BulkTable,
          cursor: row.cursor,
          rows: toNumber(row.rows),
          done: row.done === 1n,
          updatedAt: toNumber(row.updated_at),
        })),
    );
  }

  save(source: string, checkpoint: MigrationCheckpoint): Promise<void> {
    return settle(() => {
      this.db.run(
        `INSERT INTO migration_checkpoints (source, tbl, cursor, rows, done, updated_at) VALUES (?, ?, ?, ?, ?, ?)
          ON CONFLICT (source, tbl) DO UPDATE SET cursor = excluded.cursor, rows = excluded.rows,
            done = excluded.done, updated_at = excluded.updated_at`,
        source,
        checkpoint.table,
        checkpoint.cursor,
        checkpoint.rows,
        checkpoint.done ? 1 : 0,
        checkpoint.updatedAt,
      );
    });
  }

  clear(source: string): Promise<void> {
    return settle(() => {
      this.db.run('DELETE FROM migration_checkpoints WHERE source = ?', source);
    });
  }
}
