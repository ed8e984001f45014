import type { types } from 'cassandra-driver';
import {
  BulkConflict,
  type BulkRecords,
  type BulkStorage,
  type BulkTable,
  type BulkWriteFailure,
  type BulkWriteOptions,
  type CheckpointStore,
  type ClaimKind,
  type ClaimMismatch,
  type MessageRecord,
  type MigrationCheckpoint,
  type ReactionRecord,
  type ScanPage,
} from '../contract';
import { bucketOf } from './buckets';
import { ClaimsCheck } from './claims-check';
import { compareBig, fromId, fromIdOrNull, fromTime, toId, toTime } from './codec';
import { allShards, shardOf } from './shards';
import { searchBucketOf } from './search-terms';
import { DatabaseUnavailableError, isUnavailable } from './errors';
import { addToMemberCount, recountMembers } from './member-counts';
import { addToCount, type CountKey, recount } from './reaction-counts';
import type { CassandraMessageRepository } from './repositories/message.repository';
import { CassandraSettingsRepository } from './repositories/settings.repository';
import type { CassandraSession } from './session';
import {
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
  CHANNELS,
  CHANNEL_LAST_MESSAGES,
  DM_CHANNELS_BY_USER,
  DM_PAIRS,
  GUILDS,
  INVITES,
  JOBS,
  MEMBERS,
  MESSAGES,
  MESSAGE_SEARCH,
  MESSAGES_BY_AUTHOR,
  OVERWRITES,
  PINS,
  REACTIONS,
  READ_STATES,
  ROLES,
  TOKENS,
  UPLOAD_MARK,
  UPLOAD_USAGE,
  USERS,
  INSTANCE_AUDIT_LOG,
  type Absent,
  type Statement,
} from './tables';

type Row = types.Row;

/** Rows per unlogged single-partition batch, and the content bytes that end one early. */
const PARTITION_BATCH_ROWS = 64;
const PARTITION_BATCH_BYTES = 256 * 1024;
const MAX_ATTEMPTS = 7;

/** The bulk tool's own reads; every write statement comes from `tables.ts`. */
const Q = {
  userClaims: 'SELECT username, email FROM users WHERE id = ?',
  attachmentUsage: 'SELECT uploader_id, size FROM attachments WHERE id = ?',
  memberHeld: `SELECT ${MEMBERS.present}, roles FROM guild_members WHERE guild_id = ? AND shard = ? AND user_id = ?`,
  messageReactions:
    'SELECT emoji, user_id FROM reactions_by_shard WHERE channel_id = ? AND bucket = ? AND shard = ? AND message_id = ?',
  reactorsAmong:
    'SELECT user_id FROM reactions_by_shard WHERE channel_id = ? AND bucket = ? AND shard = ? AND message_id = ? AND emoji = ? AND user_id IN ?',
  readStates: 'SELECT user_id, channel_id, last_message_id, acked_mentions FROM read_states',
  readStatesOf: 'SELECT channel_id FROM read_states WHERE user_id = ? AND channel_id IN ?',
  mentions: 'SELECT user_id, channel_id, mentions FROM read_state_mentions',
  mentionsOf: 'SELECT channel_id, mentions FROM read_state_mentions WHERE user_id = ? AND channel_id IN ?',
  checkpoints: 'SELECT tbl, cursor, rows, done, updated_at FROM migration_checkpoints WHERE source = ?',
  saveCheckpoint: `INSERT INTO migration_checkpoints (source, tbl, cursor, rows, done, updated_at)
    VALUES (?, ?, ?, ?, ?, ?)`,
  clearCheckpoints: 'DELETE FROM migration_checkpoints WHERE source = ?',
} as const;

interface ScanDef {
  query: string;
  toRecord(row: Row): BulkRecords[BulkTable] | null;
}

/** A whole-table scan whose rows map one to one onto records; half rows (no `present` value) are skipped. */
function scanOf<T>(table: string, columns: string, present: string, toRecord: (row: Row) => T) {
  return {
    query: `SELECT ${columns} FROM ${table}`,
    toRecord: (row: Row): T | null => (row.get(present) === null ? null : toRecord(row)),
  };
}

/** Full-table scans of the tables that are one logical table each (read_states is two). */
const SCANS: {
  [T in Exclude<BulkTable, 'read_states'>]: { query: string; toRecord(row: Row): BulkRecords[T] | null };
} = {
  users: scanOf('users', USERS.columns, USERS.present, USERS.toRecord),
  tokens: scanOf('tokens', TOKENS.columns, TOKENS.present, TOKENS.toRecord),
  guilds: scanOf('guilds', GUILDS.columns, GUILDS.present, GUILDS.toRecord),
  roles: scanOf('roles', ROLES.columns, ROLES.present, ROLES.toRecord),
  members: scanOf('guild_members', MEMBERS.columns, MEMBERS.present, MEMBERS.toRecord),
  channels: scanOf('channels', CHANNELS.columns, CHANNELS.present, (row) => CHANNELS.toRecord(row, [])),
  overwrites: scanOf('channel_overwrites', OVERWRITES.columns, OVERWRITES.present, (row) => ({
    ...OVERWRITES.toRecord(row),
    guildId: fromId(row.get('guild_id')),
  })),
  dm_pairs: scanOf('dm_pairs', DM_PAIRS.columns, DM_PAIRS.present, (row) => ({
    userLow: fromId(row.get('user_low')),
    userHigh: fromId(row.get('user_high')),
    channelId: fromId(row.get('channel_id')),
  })),
  messages: scanOf('messages', MESSAGES.columns, MESSAGES.present, MESSAGES.toRecord),
  // The 0 of a channel found without messages is no last message id.
  channel_last_messages: {
    query: 'SELECT channel_id, last_message_id FROM channel_last_messages',
    toRecord: (row: Row) => {
      const last = row.get('last_message_id') as bigint | null;
      return last === null || last === CHANNEL_LAST_MESSAGES.none
        ? null
        : { channelId: fromId(row.get('channel_id')), lastMessageId: fromId(last) };
    },
  },
  pins: { query: PINS.scan, toRecord: PINS.toRecord },
  reactions: scanOf('reactions_by_shard', REACTIONS.columns, 'user_id', (row) => ({
    channelId: fromId(row.get('channel_id')),
    messageId: fromId(row.get('message_id')),
    emoji: row.get('emoji') as string,
    userId: fromId(row.get('user_id')),
  })),
  invites: scanOf('invites', INVITES.columns, INVITES.present, INVITES.toRecord),
  bans: scanOf('bans_by_shard', BANS.columns, BANS.present, BANS.toRecord),
  push_subscriptions: scanOf(
    'push_subscriptions',
    PUSH_SUBSCRIPTIONS.columns,
    PUSH_SUBSCRIPTIONS.present,
    PUSH_SUBSCRIPTIONS.toRecord,
  ),
  instance_secrets: scanOf(
    'instance_secrets',
    INSTANCE_SECRETS.columns,
    INSTANCE_SECRETS.present,
    INSTANCE_SECRETS.toRecord,
  ),
  notification_preferences: scanOf(
    'notification_preferences',
    NOTIFICATION_PREFS.columns,
    NOTIFICATION_PREFS.present,
    NOTIFICATION_PREFS.toRecord,
  ),
  emojis: scanOf('guild_emojis', EMOJIS.columns, EMOJIS.present, EMOJIS.toRecord),
  webhooks: scanOf('webhooks', WEBHOOKS.columns, WEBHOOKS.present, WEBHOOKS.toRecord),
  user_identities: scanOf(
    'user_identities',
    USER_IDENTITIES.columns,
    USER_IDENTITIES.present,
    USER_IDENTITIES.toRecord,
  ),
  user_guild_settings: scanOf(
    'user_guild_settings',
    GUILD_SETTINGS.columns,
    GUILD_SETTINGS.present,
    GUILD_SETTINGS.toRecord,
  ),
  audit_log_entries: scanOf('audit_log_entries', AUDIT_LOG.columns, AUDIT_LOG.present, AUDIT_LOG.toRecord),
  automod_rules: scanOf(
    'automod_rules',
    AUTOMOD_RULES.columns,
    AUTOMOD_RULES.present,
    AUTOMOD_RULES.toRecord,
  ),
  relationships: scanOf(
    'relationships',
    RELATIONSHIPS.columns,
    RELATIONSHIPS.present,
    RELATIONSHIPS.toRecord,
  ),
  user_privacy: scanOf('user_privacy', USER_PRIVACY.columns, USER_PRIVACY.present, USER_PRIVACY.toRecord),
  // Every report is in scope 0 once (its guild's copy is skipped).
  reports: {
    query: `SELECT ${REPORTS.columns} FROM reports`,
    toRecord: (row: Row) =>
      row.get(REPORTS.present) === null || BigInt(String(row.get('scope'))) !== REPORTS.all
        ? null
        : REPORTS.toRecord(row),
  },
  instance_audit_log: scanOf(
    'instance_audit_log',
    INSTANCE_AUDIT_LOG.columns,
    INSTANCE_AUDIT_LOG.present,
    INSTANCE_AUDIT_LOG.toRecord,
  ),
  attachments: scanOf('attachments', ATTACHMENTS.columns, ATTACHMENTS.present, ATTACHMENTS.toRecord),
  jobs: scanOf('jobs', `state, ${JOBS.columns}`, JOBS.present, (row) => ({
    ...JOBS.toRecord(row),
    dead: row.get('state') === 'dead',
  })),
};

/** Bounds the requests in flight over every concurrent bulk call of one process. */
class Gate {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly width: number) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.width) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await work();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

function chunk<T>(
  items: readonly T[],
  size: number,
  weight: (item: T) => number = () => 0,
  maxWeight = Infinity,
): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let load = 0;
  for (const item of items) {
    const w = weight(item);
    if (current.length > 0 && (current.length >= size || load + w > maxWeight)) {
      chunks.push(current);
      current = [];
      load = 0;
    }
    current.push(item);
    load += w;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** Where a reaction's materialised count lives. */
function reactionCountKey(r: ReactionRecord): CountKey {
  return [toId(r.channelId), bucketOf(r.messageId), toId(r.messageId), r.emoji];
}

/** The full key of one reaction row (`REACTIONS.insert` / `delete`): its count's key, the user's shard, the user. */
function reactionRowKey([channel, bucket, message, emoji]: CountKey, user: bigint): unknown[] {
  return [channel, bucket, shardOf(user), message, emoji, user];
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): T[][] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return [...groups.values()];
}

/** Absent values are left unwritten (no tombstones) unless a rewrite must clear what the target holds. */
const absentOf = (overwrite: boolean): Absent => (overwrite ? null : undefined);

export interface CassandraBulkOptions {
  /** Requests (statements or batches) in flight at once from this process. */
  maxInFlight?: number;
}

/**
 * Bulk access to the Cassandra keyspace: token-order scans paged by the driver's paging state, and
 * idempotent writes. Rows of one partition travel as unlogged single-partition batches (one mutation
 * for the replica); a record that spans tables (a channel and its by-guild copy, a member and its
 * guilds_by_user row) goes as one logged batch, so it lands whole or not at all. Uniqueness claims
 * (username, email, DM pair, invite code) are taken with the same lightweight transactions as the
 * repositories; a claim already held by the same record counts as taken, so a re-run never fails on
 * claims this copy made. Transient failures (timeouts, unavailable replicas) are retried with backoff.
 */
export class CassandraBulk implements BulkStorage {
  readonly backend = 'cassandra' as const;
  readonly checkpoints: CheckpointStore;
  readonly settings: CassandraSettingsRepository;
  private readonly gate: Gate;

  constructor(
    private readonly db: CassandraSession,
    private readonly messages: CassandraMessageRepository,
    options: CassandraBulkOptions = {},
  ) {
    this.gate = new Gate(options.maxInFlight ?? 64);
    this.settings = new CassandraSettingsRepository(db);
    this.checkpoints = {
      list: async (source) =>
        (await this.readAll(Q.checkpoints, [source])).map((row): MigrationCheckpoint => ({
          table: row.get('tbl') as BulkTable,
          cursor: (row.get('cursor') as string | null) ?? null,
          rows: Number(row.get('rows') as bigint),
          done: row.get('done') === true,
          updatedAt: fromTime(row.get('updated_at')),
        })),
      save: async (source, cp) => {
        await this.exec(Q.saveCheckpoint, [
          source,
          cp.table,
          cp.cursor ?? null,
          BigInt(cp.rows),
          cp.done,
          toTime(cp.updatedAt),
        ]);
      },
      clear: async (source) => {
        await this.exec(Q.clearCheckpoints, [source]);
      },
    };
  }

  async scan<T extends BulkTable>(
    table: T,
    cursor: string | null,
    limit: number,
  ): Promise<ScanPage<BulkRecords[T]>> {
    if (table === 'read_states')
      return (await this.scanReadStates(cursor, limit)) as ScanPage<BulkRecords[T]>;
    const def = (SCANS as Record<string, ScanDef>)[table];
    const rs = await this.page(def.query, [], limit, cursor ?? undefined);
    const records: BulkRecords[T][] = [];
    for (const row of rs.rows) {
      const record = def.toRecord(row);
      if (record !== null) records.push(record as BulkRecords[T]);
    }
    return { records, cursor: rs.pageState ?? null };
  }

  count(): Promise<number | null> {
    return Promise.resolve(null); // a COUNT(*) over a whole table is a full scan
  }

  async write<T extends BulkTable>(
    table: T,
    records: readonly BulkRecords[T][],
    options: BulkWriteOptions = {},
  ): Promise<BulkWriteFailure[]> {
    const overwrite = options.overwrite === true;
    const all = records as readonly BulkRecords[BulkTable][];
    if (table === 'messages') {
      await this.writeMessages(all as MessageRecord[], overwrite);
      return [];
    }
    if (table === 'reactions') {
      await this.writeReactions(all as ReactionRecord[]);
      return [];
    }
    const failures: BulkWriteFailure[] = [];
    await Promise.all(
      all.map(async (record, index) => {
        try {
          await this.writeOne(table, record, overwrite);
        } catch (err) {
          if (!(err instanceof BulkConflict)) throw err;
          failures.push({ index, error: err });
        }
      }),
    );
    return failures.sort((a, b) => a.index - b.index);
  }

  async remove<T extends BulkTable>(table: T, records: readonly BulkRecords[T][]): Promise<void> {
    await Promise.all(
      (records as readonly BulkRecords[BulkTable][]).map((record) => this.removeOne(table, record)),
    );
  }

  reconcileClaims(onMismatch: (mismatch: ClaimMismatch) => void): Promise<Record<ClaimKind, number>> {
    return new ClaimsCheck(this.db, onMismatch).run();
  }

  async channelMessages(channelId: string, after: string | null, limit: number): Promise<MessageRecord[]> {
    // Newest first from the repository (walking channel_buckets); ascending here.
    return (await this.messages.listAfter(channelId, after ?? '0', limit)).reverse();
  }

  async messageReactions(channelId: string, messageId: string): Promise<ReactionRecord[]> {
    const shards = await Promise.all(
      allShards().map((shard) =>
        this.readAll(Q.messageReactions, [toId(channelId), bucketOf(messageId), shard, toId(messageId)]),
      ),
    );
    // In (emoji, user id) order across the shards, as one partition would answer.
    const rows = shards
      .flat()
      .sort((a, b) =>
        String(a.get('emoji')) !== String(b.get('emoji'))
          ? String(a.get('emoji')) < String(b.get('emoji'))
            ? -1
            : 1
          : compareBig(a.get('user_id') as bigint, b.get('user_id') as bigint),
      );
    return rows.map((row) => ({
      channelId,
      messageId,
      emoji: row.get('emoji') as string,
      userId: fromId(row.get('user_id')),
    }));
  }

  // --- scans -------------------------------------------------------------------------------------

  /**
   * read_states is two physical tables (positions, and mention counters that cannot share a table).
   * Phase A walks the positions and looks up their counters; phase B walks the counters and emits
   * those without a position (mentions in a channel never acked). Cursor: "A:<state>" / "B:<state>".
   */
  private async scanReadStates(
    cursor: string | null,
    limit: number,
  ): Promise<ScanPage<BulkRecords['read_states']>> {
    const phase = cursor?.startsWith('B:') ? 'B' : 'A';
    const state = cursor ? cursor.slice(2) || undefined : undefined;
    if (phase === 'A') {
      const rs = await this.page(Q.readStates, [], limit, state);
      const rows = rs.rows.filter((row) => row.get('last_message_id') !== null);
      const counts = await this.lookupByUser(rows, Q.mentionsOf, (row) =>
        Number(row.get('mentions') as bigint),
      );
      const records = rows.map((row) => {
        const userId = fromId(row.get('user_id'));
        const channelId = fromId(row.get('channel_id'));
        // Unread = the counter's total less the snapshot the last ack stored (migration 0014).
        const acked = Number((row.get('acked_mentions') as bigint | null) ?? 0n);
        return {
          userId,
          channelId,
          lastMessageId: fromIdOrNull(row.get('last_message_id')),
          mentionCount: Math.max(0, (counts.get(`${userId}/${channelId}`) ?? 0) - acked),
        };
      });
      return { records, cursor: rs.pageState ? `A:${rs.pageState}` : 'B:' };
    }
    const rs = await this.page(Q.mentions, [], limit, state);
    const rows = rs.rows.filter((row) => Number(row.get('mentions') as bigint) > 0);
    const positioned = await this.lookupByUser(rows, Q.readStatesOf, () => 1);
    const records = rows
      .map((row) => ({
        userId: fromId(row.get('user_id')),
        channelId: fromId(row.get('channel_id')),
        lastMessageId: null,
        mentionCount: Number(row.get('mentions') as bigint),
      }))
      .filter((s) => !positioned.has(`${s.userId}/${s.channelId}`));
    return { records, cursor: rs.pageState ? `B:${rs.pageState}` : null };
  }

  /** For rows with user_id/channel_id, one IN query per user; returns "user/channel" -> value. */
  private async lookupByUser(
    rows: Row[],
    query: string,
    value: (row: Row) => number,
  ): Promise<Map<string, number>> {
    const byUser = new Map<bigint, bigint[]>();
    for (const row of rows) {
      const user = row.get('user_id') as bigint;
      const list = byUser.get(user) ?? [];
      list.push(row.get('channel_id') as bigint);
      byUser.set(user, list);
    }
    const found = new Map<string, number>();
    await Promise.all(
      [...byUser].map(async ([user, channels]) => {
        for (const row of await this.readAll(query, [user, channels]))
          found.set(`${user}/${row.get('channel_id') as bigint}`, value(row));
      }),
    );
    return found;
  }

  // --- writes ------------------------------------------------------------------------------------

  private async writeMessages(messages: readonly MessageRecord[], overwrite: boolean): Promise<void> {
    const absent = absentOf(overwrite);
    // Bucket markers first: a message is only reachable through its bucket, never the other way round.
    const markers = new Map<string, Statement>();
    for (const m of messages) {
      const bucket = bucketOf(m.id);
      markers.set(`${m.channelId}:${bucket}`, {
        query: MESSAGES.markBucket,
        params: [toId(m.channelId), bucket],
      });
    }
    await Promise.all(
      groupBy([...markers.values()], (s) => String(s.params[0])).map((group) => this.unlogged(group)),
    );
    // Each channel's last message id: only the highest of this batch, timestamped like a send's write.
    const highest = new Map<string, string>();
    for (const m of messages) {
      const known = highest.get(m.channelId);
      if (known === undefined || toId(m.id) > toId(known)) highest.set(m.channelId, m.id);
    }
    const lastIds = [...highest].map(([channelId, id]) =>
      this.exec(CHANNEL_LAST_MESSAGES.write, CHANNEL_LAST_MESSAGES.params(toId(channelId), id)),
    );
    const partitions = groupBy(messages, (m) => `${m.channelId}:${bucketOf(m.id)}`);
    await Promise.all(lastIds);
    await this.writePostings(messages, absent);
    await this.writeAuthorRows(messages);
    await Promise.all(
      partitions.flatMap((partition) =>
        chunk(partition, PARTITION_BATCH_ROWS, (m) => m.content.length + 200, PARTITION_BATCH_BYTES).map(
          (rows) =>
            this.unlogged(
              rows.map((m) => ({
                query: MESSAGES.insert,
                params: MESSAGES.params(m, toId(m.channelId), bucketOf(m.id), absent),
              })),
            ),
        ),
      ),
    );
  }

  /** The messages' rows in their authors' partitions (derived, migration 0043), unlogged per partition. */
  private async writeAuthorRows(messages: readonly MessageRecord[]): Promise<void> {
    await Promise.all(
      groupBy(messages, (m) => `${m.authorId}:${bucketOf(m.id)}`).flatMap((partition) =>
        chunk(partition, PARTITION_BATCH_ROWS, () => 64, PARTITION_BATCH_BYTES).map((rows) =>
          this.unlogged(
            rows.map((m) => ({
              query: MESSAGES_BY_AUTHOR.insert,
              params: MESSAGES_BY_AUTHOR.params(m, bucketOf(m.id)),
            })),
          ),
        ),
      ),
    );
  }

  /**
   * The messages' search postings (derived, migration 0010): day markers first (a posting is found only
   * through its day), then the postings in unlogged batches of one (scope, day) partition.
   */
  private async writePostings(messages: readonly MessageRecord[], absent: Absent): Promise<void> {
    const key = (m: MessageRecord) => `${MESSAGE_SEARCH.scopeOf(m)}:${searchBucketOf(m.id)}`;
    const markers = new Map<string, Statement>();
    for (const m of messages)
      markers.set(key(m), {
        query: MESSAGE_SEARCH.markBucket,
        params: [MESSAGE_SEARCH.scopeOf(m), searchBucketOf(m.id)],
      });
    await Promise.all(
      groupBy([...markers.values()], (s) => String(s.params[0])).map((group) => this.unlogged(group)),
    );
    await Promise.all(
      groupBy(messages, key).flatMap((partition) =>
        chunk(partition, PARTITION_BATCH_ROWS, (m) => m.content.length + 200, PARTITION_BATCH_BYTES).map(
          (rows) =>
            this.unlogged(
              rows.map((m) => ({ query: MESSAGE_SEARCH.insert, params: MESSAGE_SEARCH.params(m, absent) })),
            ),
        ),
      ),
    );
  }

  /**
   * Reactions grouped by (message, emoji): the rows already stored among the group are read first (an IN
   * on the last clustering column, proportional to the group, never to the message's reactors), the group is
   * written in unlogged partition batches, and the materialised count moves by the rows that are new, so
   * writing the same records again adds nothing. (Only the copy writes the target: it is not serving.)
   */
  private async writeReactions(reactions: readonly ReactionRecord[]): Promise<void> {
    const groups = groupBy(reactions, (r) => `${r.channelId}:${r.messageId}:${r.emoji}`);
    await Promise.all(
      groups.map(async (group) => {
        const key = reactionCountKey(group[0]);
        const users = [...new Set(group.map((r) => toId(r.userId)))];
        const stored = await this.storedReactors(key, users);
        // One unlogged batch per shard partition (and batch size).
        await Promise.all(
          groupBy(users, (user) => String(shardOf(user))).flatMap((shard) =>
            chunk(shard, PARTITION_BATCH_ROWS).map((rows) =>
              this.unlogged(
                rows.map((user) => ({ query: REACTIONS.insert, params: reactionRowKey(key, user) })),
              ),
            ),
          ),
        );
        await this.addReactionCount(key, BigInt(users.length - stored.size));
      }),
    );
  }

  /**
   * The row, its guilds_by_user row and its role index rows (the index rows of roles the stored row held and
   * this one does not go), then the guild's member count (derived) if the member is new to the target.
   */
  private async writeMember(m: BulkRecords['members'], absent: Absent): Promise<void> {
    const [guild, user] = [toId(m.guildId), toId(m.userId)];
    const stored = await this.storedMember(guild, user);
    await this.logged(MEMBERS.writes(m, absent, stored?.roles ?? []));
    if (!stored?.member) await this.addMemberCount(guild, 1n);
  }

  /** Whether the target holds this member (a half row is none), and the roles its row holds. */
  private async storedMember(
    guild: bigint,
    user: bigint,
  ): Promise<{ member: boolean; roles: bigint[] } | null> {
    const row = (await this.read(Q.memberHeld, MEMBERS.key(guild, user))).first();
    return row === null ? null : { member: row.get(MEMBERS.present) !== null, roles: MEMBERS.rolesOf(row) };
  }

  /** Not retried: a timed-out counter update may have applied, a recount of the guild settles it. */
  private async addMemberCount(guild: bigint, delta: bigint): Promise<void> {
    try {
      await this.request(() => addToMemberCount(this.db, guild, delta), false);
    } catch (err) {
      if (!(err instanceof DatabaseUnavailableError)) throw err;
      await this.request(() => recountMembers(this.db, guild));
    }
  }

  /** Which of `users` hold a reaction row under `key`, read in slices of the batch size. */
  private async storedReactors(key: CountKey, users: readonly bigint[]): Promise<Set<bigint>> {
    const found = new Set<bigint>();
    const [channel, bucket, message, emoji] = key;
    for (const shard of groupBy(users, (user) => String(shardOf(user))))
      for (const slice of chunk(shard, PARTITION_BATCH_ROWS)) {
        const params = [channel, bucket, shardOf(slice[0]), message, emoji, slice];
        const rs = await this.read(Q.reactorsAmong, params);
        for (const row of rs.rows) found.add(row.get('user_id') as bigint);
      }
    return found;
  }

  /** Not retried, like the other counters: a timed-out update may have applied, a recount settles it. */
  private async addReactionCount(key: CountKey, delta: bigint): Promise<void> {
    if (delta === 0n) return;
    try {
      await this.request(() => addToCount(this.db, key, delta), false);
    } catch (err) {
      if (!(err instanceof DatabaseUnavailableError)) throw err;
      await this.request(() => recount(this.db, key));
    }
  }

  private async writeOne(
    table: BulkTable,
    record: BulkRecords[BulkTable],
    overwrite: boolean,
  ): Promise<void> {
    const absent = absentOf(overwrite);
    switch (table) {
      case 'users':
        return this.writeUser(record as BulkRecords['users'], absent);
      case 'tokens':
        return this.logged(TOKENS.writes(record as BulkRecords['tokens'], absent));
      case 'guilds':
        return this.logged([GUILDS.write(record as BulkRecords['guilds'], absent)]);
      case 'roles':
        return this.logged([ROLES.write(record as BulkRecords['roles'])]);
      case 'members':
        return this.writeMember(record as BulkRecords['members'], absent);
      case 'channels': {
        const c = record as BulkRecords['channels'];
        const channel = toId(c.id);
        const statements = CHANNELS.writes(c, absent);
        for (const userId of c.recipients)
          statements.push({ query: DM_CHANNELS_BY_USER.insert, params: [toId(userId), channel] });
        return this.logged(statements);
      }
      case 'overwrites': {
        const o = record as BulkRecords['overwrites'];
        return this.logged([OVERWRITES.write(toId(o.guildId), o)]);
      }
      case 'dm_pairs': {
        const p = record as BulkRecords['dm_pairs'];
        const channel = toId(p.channelId);
        const rs = await this.lwt(DM_PAIRS.claim, [toId(p.userLow), toId(p.userHigh), channel]);
        const holder = rs.wasApplied() ? channel : (rs.first()?.get('channel_id') as bigint | undefined);
        if (holder !== channel)
          throw new BulkConflict('dm_pair', `${p.userLow}/${p.userHigh}`, `channel ${String(holder)}`);
        return;
      }
      case 'read_states':
        return this.writeReadState(record as BulkRecords['read_states']);
      case 'invites':
        return this.writeInvite(record as BulkRecords['invites']);
      case 'channel_last_messages': {
        const r = record as BulkRecords['channel_last_messages'];
        return this.exec(
          CHANNEL_LAST_MESSAGES.write,
          CHANNEL_LAST_MESSAGES.params(toId(r.channelId), r.lastMessageId),
        );
      }
      case 'pins':
        return this.exec(PINS.insert, PINS.params(record as BulkRecords['pins']));
      case 'bans':
        return this.exec(BANS.insert, BANS.params(record as BulkRecords['bans']));
      case 'push_subscriptions':
        return this.exec(
          PUSH_SUBSCRIPTIONS.insert,
          PUSH_SUBSCRIPTIONS.params(record as BulkRecords['push_subscriptions']),
        );
      case 'instance_secrets':
        return this.exec(
          INSTANCE_SECRETS.insert,
          INSTANCE_SECRETS.params(record as BulkRecords['instance_secrets']),
        );
      case 'notification_preferences':
        return this.exec(
          NOTIFICATION_PREFS.insert,
          NOTIFICATION_PREFS.params(record as BulkRecords['notification_preferences']),
        );
      case 'emojis':
        return this.exec(EMOJIS.insert, EMOJIS.params(record as BulkRecords['emojis']));
      case 'webhooks': {
        const w = record as BulkRecords['webhooks'];
        return this.logged([
          { query: WEBHOOKS.insert, params: WEBHOOKS.params(w, absent) },
          { query: WEBHOOKS.index, params: [toId(w.guildId), toId(w.id)] },
        ]);
      }
      case 'user_identities': {
        const i = record as BulkRecords['user_identities'];
        await this.exec(USER_IDENTITIES.insertByUser, USER_IDENTITIES.params(i));
        return this.exec(USER_IDENTITIES.insert, USER_IDENTITIES.params(i));
      }
      case 'user_guild_settings':
        return this.exec(
          GUILD_SETTINGS.insert,
          GUILD_SETTINGS.params(record as BulkRecords['user_guild_settings']),
        );
      case 'audit_log_entries': {
        // Carried with the time it has left: an entry expired on the way is not written.
        const e = record as BulkRecords['audit_log_entries'];
        const ttl = AUDIT_LOG.ttlAt(e, Date.now());
        return ttl > 0 ? this.exec(AUDIT_LOG.insert, AUDIT_LOG.params(e, ttl)) : undefined;
      }
      case 'automod_rules':
        return this.exec(AUTOMOD_RULES.insert, AUTOMOD_RULES.params(record as BulkRecords['automod_rules']));
      case 'relationships':
        return this.exec(RELATIONSHIPS.insert, RELATIONSHIPS.params(record as BulkRecords['relationships']));
      case 'user_privacy':
        return this.exec(USER_PRIVACY.insert, USER_PRIVACY.params(record as BulkRecords['user_privacy']));
      case 'reports': {
        const r = record as BulkRecords['reports'];
        await Promise.all(
          REPORTS.scopesOf(r).map((scope) => this.exec(REPORTS.insert, REPORTS.params(r, scope))),
        );
        return;
      }
      case 'instance_audit_log': {
        const e = record as BulkRecords['instance_audit_log'];
        const ttl = INSTANCE_AUDIT_LOG.ttlAt(e, Date.now());
        return ttl > 0 ? this.exec(INSTANCE_AUDIT_LOG.insert, INSTANCE_AUDIT_LOG.params(e, ttl)) : undefined;
      }
      case 'attachments':
        return this.writeAttachment(record as BulkRecords['attachments'], absent);
      case 'jobs': {
        const j = record as BulkRecords['jobs'];
        const [state, other] = j.dead ? (['dead', 'pending'] as const) : (['pending', 'dead'] as const);
        await this.exec(JOBS.insert, JOBS.params(state, j, absent));
        if (overwrite) await this.exec(JOBS.delete, [other, j.id]);
        return;
      }
      case 'messages':
      case 'reactions':
        throw new Error(`${table} are written in partition batches`);
    }
  }

  /**
   * Claims username and email (LWT), then upserts the row, then gives back the claims of a previous
   * username or email this user held in the target. A claim held by another user refuses the record and
   * releases what this call claimed.
   */
  private async writeUser(u: BulkRecords['users'], absent: Absent): Promise<void> {
    const id = toId(u.id);
    const wanted = { username: u.username.toLowerCase(), email: u.email.toLowerCase() };
    const previous = await this.claimsOf(id);
    const claims = (['username', 'email'] as const).map((claim) => ({
      claim,
      key: wanted[claim],
      ...USERS.claims[claim],
    }));
    // Both claims at once (two Paxos rounds in parallel, not one after the other).
    const taken: typeof claims = [];
    const refusals: BulkConflict[] = [];
    await Promise.all(
      claims.map(async (c) => {
        const rs = await this.lwt(c.take, [c.key, id]);
        if (rs.wasApplied()) {
          if (previous?.[c.claim] !== c.key) taken.push(c);
          return;
        }
        const holder = rs.first()?.get('user_id') as bigint | undefined;
        if (holder !== id) refusals.push(new BulkConflict(c.claim, c.key, `user ${String(holder)}`));
      }),
    );
    if (refusals.length > 0) {
      await Promise.all(taken.map((c) => this.lwt(c.give, [c.key, id])));
      throw refusals[0];
    }
    await this.exec(USERS.insert, USERS.params(u, absent));
    // The approval queue derives from the flag (see migration 0032).
    await this.exec(u.approvalPending === true ? USERS.pendingAdd : USERS.pendingRemove, [
      USERS.pendingQueue,
      id,
    ]);
    if (previous) {
      for (const c of claims) {
        const old = previous[c.claim];
        if (old && old !== c.key) await this.lwt(c.give, [old, id]);
      }
    }
  }

  /** The username and email (lower-cased) the target's row of this user holds, if any. */
  private async claimsOf(id: bigint): Promise<{ username: string; email: string } | null> {
    const current = (await this.read(Q.userClaims, [id])).first();
    if (!current) return null;
    return {
      username: ((current.get('username') as string | null) ?? '').toLowerCase(),
      email: ((current.get('email') as string | null) ?? '').toLowerCase(),
    };
  }

  /**
   * Position by upsert with nothing acknowledged, and the mention total brought to the wanted unread count
   * by adding the difference. Without a position no acknowledged snapshot may stay behind (it would hide
   * the row from both scan phases), so a stored one is removed.
   */
  private async writeReadState(s: BulkRecords['read_states']): Promise<void> {
    const [user, channel] = [toId(s.userId), toId(s.channelId)];
    if (s.lastMessageId !== null)
      await this.exec(READ_STATES.ack, [user, channel, toId(s.lastMessageId), 0n]);
    else if ((await this.read(READ_STATES.ackedOf, [user, channel])).first()?.get('acked_mentions'))
      await this.exec(READ_STATES.clearAcked, [user, channel]);
    await this.setMentions(user, channel, BigInt(Math.max(0, s.mentionCount)));
  }

  /**
   * Counter updates are not idempotent, so the delta is computed from a fresh read each time: writing
   * the same record again adds nothing. (Only the copy writes the target's counters: it is not serving.)
   */
  private async setMentions(user: bigint, channel: bigint, wanted: bigint): Promise<void> {
    const row = (await this.read(READ_STATES.mentionsOf, [user, channel])).first();
    const current = row ? ((row.get('mentions') as bigint | null) ?? 0n) : 0n;
    if (current === wanted) return;
    // Not retried: a timed-out counter update may still apply (the next comparison would catch the drift).
    await this.request(
      () =>
        this.db.execute('write', READ_STATES.addMentions, [wanted - current, user, channel], {
          idempotent: false,
        }),
      false,
    );
  }

  /**
   * The row and its index, then the uploader's `upload_usage` (derived, not carried by export) moved by
   * what this write changed against the stored row: writing the same record again adds nothing.
   */
  private async writeAttachment(a: BulkRecords['attachments'], absent: Absent): Promise<void> {
    const before = await this.storedAttachment(toId(a.id));
    await this.logged(ATTACHMENTS.writes(a, absent));
    // The unclaimed-upload sweep's marker (uploads_by_hour, derived): an imported upload no message holds.
    if (a.messageId === null) await this.exec(UPLOAD_MARK.mark, UPLOAD_MARK.params(a.id));
    const uploader = toId(a.uploaderId);
    const size = BigInt(a.size);
    if (before && before.uploader === uploader) return this.addUsage(uploader, size - before.size);
    if (before) await this.addUsage(before.uploader, -before.size);
    return this.addUsage(uploader, size);
  }

  private async storedAttachment(id: bigint): Promise<{ uploader: bigint; size: bigint } | null> {
    const row = (await this.read(Q.attachmentUsage, [id])).first();
    if (!row || row.get('uploader_id') === null) return null;
    return { uploader: row.get('uploader_id') as bigint, size: (row.get('size') as bigint | null) ?? 0n };
  }

  /** Not retried, like the mention counters: a timed-out counter update may still have applied. */
  private async addUsage(user: bigint, delta: bigint): Promise<void> {
    if (delta === 0n) return;
    await this.request(
      () => this.db.execute('write', UPLOAD_USAGE.add, [delta, user], { idempotent: false }),
      false,
    );
  }

  /** The code claim (LWT, as the repository does); the same invite again is rewritten by LWT too. */
  private async writeInvite(i: BulkRecords['invites']): Promise<void> {
    const ttl = INVITES.ttl(i.expiresAt);
    const guild = toId(i.guildId);
    const rs = await this.lwt(INVITES.claim, INVITES.claimParams(i, ttl));
    if (!rs.wasApplied()) {
      const held = rs.first();
      const heldGuild = held?.get('guild_id') as bigint | null | undefined;
      const heldCreated = held?.get('created_at') as Date | null | undefined;
      if (heldGuild !== guild || heldCreated?.getTime() !== i.createdAt)
        throw new BulkConflict('invite_code', i.code, `an invite of guild ${String(heldGuild)}`);
      const same = held ? INVITES.toRecord(held) : null;
      if (
        !same ||
        same.channelId !== i.channelId ||
        same.inviterId !== i.inviterId ||
        same.maxAge !== i.maxAge ||
        same.maxUses !== i.maxUses ||
        same.uses !== i.uses ||
        same.expiresAt !== i.expiresAt
      )
        await this.lwt(INVITES.rewrite, [
          ttl,
          toId(i.channelId),
          toId(i.inviterId),
          i.maxAge,
          i.maxUses,
          i.uses,
          i.expiresAt === null ? null : toTime(i.expiresAt),
          i.code,
        ]);
    }
    await this.exec(INVITES.index, [guild, i.code, ttl]);
  }

  private async removeOne(table: BulkTable, record: BulkRecords[BulkTable]): Promise<void> {
    switch (table) {
      case 'users': {
        const id = toId((record as BulkRecords['users']).id);
        const current = await this.claimsOf(id);
        if (current) {
          await this.lwt(USERS.claims.username.give, [current.username, id]);
          await this.lwt(USERS.claims.email.give, [current.email, id]);
        }
        return this.exec(USERS.delete, [id]);
      }
      case 'tokens': {
        const t = record as BulkRecords['tokens'];
        return this.logged(TOKENS.removes(t.tokenHash, toId(t.userId)));
      }
      case 'guilds':
        return this.exec(GUILDS.delete, [toId((record as BulkRecords['guilds']).id)]);
      case 'roles': {
        const r = record as BulkRecords['roles'];
        return this.exec(ROLES.delete, [toId(r.guildId), toId(r.id)]);
      }
      case 'members': {
        const m = record as BulkRecords['members'];
        const [guild, user] = [toId(m.guildId), toId(m.userId)];
        const stored = await this.storedMember(guild, user);
        await this.logged(MEMBERS.removes(guild, user, stored?.roles ?? []));
        return stored?.member ? this.addMemberCount(guild, -1n) : undefined;
      }
      case 'channels': {
        const c = record as BulkRecords['channels'];
        const channel = toId(c.id);
        const statements = CHANNELS.removes(channel, c.guildId === null ? null : toId(c.guildId));
        for (const userId of c.recipients)
          statements.push({ query: DM_CHANNELS_BY_USER.delete, params: [toId(userId), channel] });
        return this.logged(statements);
      }
      case 'overwrites': {
        const o = record as BulkRecords['overwrites'];
        return this.exec(OVERWRITES.delete, [toId(o.guildId), toId(o.channelId), toId(o.id)]);
      }
      case 'dm_pairs': {
        const p = record as BulkRecords['dm_pairs'];
        await this.lwt(DM_PAIRS.release, [toId(p.userLow), toId(p.userHigh), toId(p.channelId)]);
        return;
      }
      case 'messages': {
        const m = record as BulkRecords['messages'];
        await this.exec(MESSAGE_SEARCH.delete, [MESSAGE_SEARCH.scopeOf(m), searchBucketOf(m.id), toId(m.id)]);
        await this.exec(MESSAGES_BY_AUTHOR.delete, [toId(m.authorId), bucketOf(m.id), toId(m.id)]);
        return this.exec(MESSAGES.delete, [toId(m.channelId), bucketOf(m.id), toId(m.id)]);
      }
      case 'reactions': {
        const r = record as BulkRecords['reactions'];
        const key = reactionCountKey(r);
        const user = toId(r.userId);
        if ((await this.storedReactors(key, [user])).size === 0) return;
        await this.exec(REACTIONS.delete, reactionRowKey(key, user));
        return this.addReactionCount(key, -1n);
      }
      case 'read_states': {
        const s = record as BulkRecords['read_states'];
        const [user, channel] = [toId(s.userId), toId(s.channelId)];
        await this.exec(READ_STATES.delete, [user, channel]);
        return this.setMentions(user, channel, 0n);
      }
      case 'invites': {
        const i = record as BulkRecords['invites'];
        await this.lwt(INVITES.delete, [i.code]);
        return this.exec(INVITES.unindex, [toId(i.guildId), i.code]);
      }
      case 'channel_last_messages':
        return this.exec(CHANNEL_LAST_MESSAGES.delete, [
          toId((record as BulkRecords['channel_last_messages']).channelId),
        ]);
      case 'push_subscriptions': {
        const p = record as BulkRecords['push_subscriptions'];
        return this.exec(PUSH_SUBSCRIPTIONS.delete, [toId(p.userId), p.endpointId]);
      }
      case 'instance_secrets':
        return this.exec(INSTANCE_SECRETS.delete, [(record as BulkRecords['instance_secrets']).name]);
      case 'notification_preferences':
        return this.exec(NOTIFICATION_PREFS.delete, [
          toId((record as BulkRecords['notification_preferences']).userId),
        ]);
      case 'user_identities': {
        const i = record as BulkRecords['user_identities'];
        await this.exec(USER_IDENTITIES.delete, [i.provider, i.subject]);
        return this.exec(USER_IDENTITIES.deleteOneByUser, [toId(i.userId), i.provider, i.subject]);
      }
      case 'user_guild_settings': {
        const g = record as BulkRecords['user_guild_settings'];
        return this.exec(GUILD_SETTINGS.delete, [toId(g.userId), toId(g.guildId)]);
      }
      case 'pins': {
        const p = record as BulkRecords['pins'];
        return this.exec(PINS.delete, [toId(p.channelId), toId(p.messageId)]);
      }
      case 'bans': {
        const b = record as BulkRecords['bans'];
        return this.exec(BANS.delete, BANS.key(b.guildId, b.userId));
      }
      case 'emojis': {
        const e = record as BulkRecords['emojis'];
        return this.exec(EMOJIS.delete, [toId(e.guildId), toId(e.id)]);
      }
      case 'webhooks': {
        const w = record as BulkRecords['webhooks'];
        return this.logged([
          { query: WEBHOOKS.delete, params: [toId(w.id)] },
          { query: WEBHOOKS.unindex, params: [toId(w.guildId), toId(w.id)] },
        ]);
      }
      case 'audit_log_entries': {
        const e = record as BulkRecords['audit_log_entries'];
        return this.exec(AUDIT_LOG.delete, [toId(e.guildId), AUDIT_LOG.windowOf(e.id), toId(e.id)]);
      }
      case 'automod_rules': {
        const r = record as BulkRecords['automod_rules'];
        return this.exec(AUTOMOD_RULES.delete, [toId(r.guildId), toId(r.id)]);
      }
      case 'relationships': {
        const r = record as BulkRecords['relationships'];
        return this.exec(RELATIONSHIPS.delete, [toId(r.userId), toId(r.targetId)]);
      }
      case 'user_privacy':
        return this.exec(USER_PRIVACY.delete, [toId((record as BulkRecords['user_privacy']).userId)]);
      case 'reports': {
        const r = record as BulkRecords['reports'];
        await Promise.all(
          REPORTS.scopesOf(r).map((scope) =>
            this.exec(REPORTS.delete, [scope, REPORTS.windowOf(r.id), toId(r.id)]),
          ),
        );
        return;
      }
      case 'instance_audit_log': {
        const e = record as BulkRecords['instance_audit_log'];
        return this.exec(INSTANCE_AUDIT_LOG.delete, [INSTANCE_AUDIT_LOG.windowOf(e.id), toId(e.id)]);
      }
      case 'attachments': {
        const a = record as BulkRecords['attachments'];
        const before = await this.storedAttachment(toId(a.id));
        await this.logged(ATTACHMENTS.removes(toId(a.id), toId(a.channelId)));
        if (before) await this.addUsage(before.uploader, -before.size);
        return;
      }
      case 'jobs': {
        const j = record as BulkRecords['jobs'];
        return this.exec(JOBS.delete, [j.dead ? 'dead' : 'pending', j.id]);
      }
    }
  }

  // --- requests ----------------------------------------------------------------------------------
  // Through the session (consistency per operation class, request_timeout deadline, error mapping), the
  // in-flight gate, and retried with backoff while the cluster answers "unavailable" or times out.

  private read(query: string, params: unknown[]): Promise<types.ResultSet> {
    return this.request(() => this.db.execute('read', query, params, { idempotent: true }));
  }

  private async readAll(query: string, params: unknown[]): Promise<Row[]> {
    const rows: Row[] = [];
    let state: string | undefined;
    do {
      const rs = await this.page(query, params, 1000, state);
      rows.push(...rs.rows);
      state = rs.pageState ?? undefined;
    } while (state);
    return rows;
  }

  private page(
    query: string,
    params: unknown[],
    fetchSize: number,
    pageState?: string,
  ): Promise<types.ResultSet> {
    return this.request(() =>
      this.db.execute('read', query, params, { idempotent: true, fetchSize, pageState }),
    );
  }

  private async exec(query: string, params: unknown[]): Promise<void> {
    await this.request(() => this.db.execute('write', query, params, { idempotent: true }));
  }

  /** Retrying a claim is safe: a claim this record already holds counts as taken. */
  private lwt(query: string, params: unknown[]): Promise<types.ResultSet> {
    return this.request(() => this.db.execute('claim', query, params, { idempotent: false }));
  }

  private async unlogged(statements: Statement[]): Promise<void> {
    if (statements.length <= 1) return statements[0] && this.exec(statements[0].query, statements[0].params);
    await this.request(() => this.db.batch(statements, true, false));
  }

  private async logged(statements: Statement[]): Promise<void> {
    if (statements.length === 1) return this.exec(statements[0].query, statements[0].params);
    await this.request(() => this.db.batch(statements, true, true));
  }

  private async request<T>(send: () => Promise<T>, retry = true): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.gate.run(send);
      } catch (err) {
        const transient = err instanceof DatabaseUnavailableError || isUnavailable(err);
        if (!retry || !transient || attempt >= MAX_ATTEMPTS) throw err;
        await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 100 * 2 ** attempt)));
      }
    }
  }
}
