import type { types } from 'cassandra-driver';
import {
  BulkConflict,
  type BulkRecords,
  type BulkStorage,
  type BulkTable,
  type BulkWriteFailure,
  type BulkWriteOptions,
  type CheckpointStore,
  type MessageRecord,
  type MigrationCheckpoint,
  type ReactionRecord,
  type ScanPage,
} from '../contract';
import { bucketOf } from './buckets';
import { fromId, fromIdOrNull, fromIds, fromTime, int, strOrNull, toId, toTime } from './codec';
import { DatabaseUnavailableError, isUnavailable } from './errors';
import { toRecord as toAttachment } from './repositories/attachment.repository';
import { toRecord as toBan } from './repositories/ban.repository';
import { toOverwrite } from './repositories/channel.repository';
import { toRecord as toGuild } from './repositories/guild.repository';
import { toRecord as toInvite, ttlOf as inviteTtl } from './repositories/invite.repository';
import { toRecord as toJob } from './repositories/job.store';
import { toMember } from './repositories/member.repository';
import type { CassandraMessageRepository } from './repositories/message.repository';
import { toRecord as toMessage } from './repositories/message.repository';
import { toRecord as toRole } from './repositories/role.repository';
import { CassandraSettingsRepository } from './repositories/settings.repository';
import { ttl as tokenTtl } from './repositories/token.repository';
import { toRecord as toUser } from './repositories/user.repository';
import type { CassandraSession } from './session';

type Row = types.Row;
interface Statement {
  query: string;
  params: unknown[];
}

/** Rows per unlogged single-partition batch, and the content bytes that end one early. */
const PARTITION_BATCH_ROWS = 64;
const PARTITION_BATCH_BYTES = 256 * 1024;
const MAX_ATTEMPTS = 7;

const MESSAGE_COLUMNS =
  'channel_id, bucket, message_id, guild_id, author_id, content, edited_at, attachments, mentions, mention_everyone, pinned, type, nonce';
const ATTACHMENT_COLUMNS =
  'id, channel_id, uploader_id, message_id, filename, size, content_type, width, height, created_at';
const INVITE_COLUMNS =
  'code, guild_id, channel_id, inviter_id, max_age, max_uses, uses, created_at, expires_at';

const Q = {
  users: 'SELECT id, username, email, display_name, avatar, password_hash, created_at FROM users',
  userClaims: 'SELECT username, email FROM users WHERE id = ?',
  insertUser: `INSERT INTO users (id, username, email, display_name, avatar, password_hash, created_at)
    VALUES (?, ?, ?, ?, ?, ?, ?)`,
  claimUsername: 'INSERT INTO users_by_username (username_lower, user_id) VALUES (?, ?) IF NOT EXISTS',
  claimEmail: 'INSERT INTO users_by_email (email, user_id) VALUES (?, ?) IF NOT EXISTS',
  releaseUsername: 'DELETE FROM users_by_username WHERE username_lower = ? IF user_id = ?',
  releaseEmail: 'DELETE FROM users_by_email WHERE email = ? IF user_id = ?',
  deleteUser: 'DELETE FROM users WHERE id = ?',
  tokens: 'SELECT token_hash, user_id, created_at, expires_at FROM tokens',
  insertToken:
    'INSERT INTO tokens (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?) USING TTL ?',
  insertTokenByUser: 'INSERT INTO tokens_by_user (user_id, token_hash) VALUES (?, ?) USING TTL ?',
  deleteToken: 'DELETE FROM tokens WHERE token_hash = ?',
  deleteTokenByUser: 'DELETE FROM tokens_by_user WHERE user_id = ? AND token_hash = ?',
  guilds: 'SELECT id, name, icon, owner_id, created_at FROM guilds',
  insertGuild: 'INSERT INTO guilds (id, name, icon, owner_id, created_at) VALUES (?, ?, ?, ?, ?)',
  deleteGuild: 'DELETE FROM guilds WHERE id = ?',
  roles: 'SELECT guild_id, role_id, name, permissions, color, position FROM roles',
  insertRole:
    'INSERT INTO roles (guild_id, role_id, name, permissions, color, position) VALUES (?, ?, ?, ?, ?, ?)',
  deleteRole: 'DELETE FROM roles WHERE guild_id = ? AND role_id = ?',
  members: 'SELECT guild_id, user_id, nick, roles, joined_at FROM members',
  insertMember: 'INSERT INTO members (guild_id, user_id, nick, roles, joined_at) VALUES (?, ?, ?, ?, ?)',
  insertGuildOfUser: 'INSERT INTO guilds_by_user (user_id, guild_id) VALUES (?, ?)',
  deleteMember: 'DELETE FROM members WHERE guild_id = ? AND user_id = ?',
  deleteGuildOfUser: 'DELETE FROM guilds_by_user WHERE user_id = ? AND guild_id = ?',
  channels: 'SELECT id, type, guild_id, name, topic, parent_id, position, recipients FROM channels',
  insertChannel: `INSERT INTO channels (id, type, guild_id, name, topic, parent_id, position, recipients)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  insertChannelByGuild: `INSERT INTO channels_by_guild (guild_id, channel_id, type, name, topic, parent_id, position)
    VALUES (?, ?, ?, ?, ?, ?, ?)`,
  insertDmOfUser: 'INSERT INTO dm_channels_by_user (user_id, channel_id) VALUES (?, ?)',
  deleteChannel: 'DELETE FROM channels WHERE id = ?',
  deleteChannelByGuild: 'DELETE FROM channels_by_guild WHERE guild_id = ? AND channel_id = ?',
  deleteDmOfUser: 'DELETE FROM dm_channels_by_user WHERE user_id = ? AND channel_id = ?',
  overwrites: 'SELECT guild_id, channel_id, target_id, type, allow_bits, deny_bits FROM channel_overwrites',
  insertOverwrite: `INSERT INTO channel_overwrites (guild_id, channel_id, target_id, type, allow_bits, deny_bits)
    VALUES (?, ?, ?, ?, ?, ?)`,
  deleteOverwrite: 'DELETE FROM channel_overwrites WHERE guild_id = ? AND channel_id = ? AND target_id = ?',
  dmPairs: 'SELECT user_low, user_high, channel_id FROM dm_pairs',
  claimDmPair: 'INSERT INTO dm_pairs (user_low, user_high, channel_id) VALUES (?, ?, ?) IF NOT EXISTS',
  releaseDmPair: 'DELETE FROM dm_pairs WHERE user_low = ? AND user_high = ? IF channel_id = ?',
  messages: `SELECT ${MESSAGE_COLUMNS} FROM messages`,
  insertMessage: `INSERT INTO messages (${MESSAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  markBucket: 'INSERT INTO channel_buckets (channel_id, bucket) VALUES (?, ?)',
  deleteMessage: 'DELETE FROM messages WHERE channel_id = ? AND bucket = ? AND message_id = ?',
  reactions: 'SELECT channel_id, message_id, emoji, user_id FROM reactions_by_bucket',
  messageReactions:
    'SELECT emoji, user_id FROM reactions_by_bucket WHERE channel_id = ? AND bucket = ? AND message_id = ?',
  insertReaction:
    'INSERT INTO reactions_by_bucket (channel_id, bucket, message_id, emoji, user_id) VALUES (?, ?, ?, ?, ?)',
  deleteReaction:
    'DELETE FROM reactions_by_bucket WHERE channel_id = ? AND bucket = ? AND message_id = ? AND emoji = ? AND user_id = ?',
  readStates: 'SELECT user_id, channel_id, last_message_id FROM read_states',
  readStatesOf: 'SELECT channel_id FROM read_states WHERE user_id = ? AND channel_id IN ?',
  mentions: 'SELECT user_id, channel_id, mentions FROM read_state_mentions',
  mentionsOf: 'SELECT channel_id, mentions FROM read_state_mentions WHERE user_id = ? AND channel_id IN ?',
  mentionOf: 'SELECT mentions FROM read_state_mentions WHERE user_id = ? AND channel_id = ?',
  addMentions: 'UPDATE read_state_mentions SET mentions = mentions + ? WHERE user_id = ? AND channel_id = ?',
  insertReadState: 'INSERT INTO read_states (user_id, channel_id, last_message_id) VALUES (?, ?, ?)',
  deleteReadState: 'DELETE FROM read_states WHERE user_id = ? AND channel_id = ?',
  invites: `SELECT ${INVITE_COLUMNS} FROM invites`,
  claimInvite: `INSERT INTO invites (${INVITE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS USING TTL ?`,
  rewriteInvite: `UPDATE invites USING TTL ? SET channel_id = ?, inviter_id = ?, max_age = ?, max_uses = ?, uses = ?,
    expires_at = ? WHERE code = ? IF EXISTS`,
  indexInvite: 'INSERT INTO invites_by_guild (guild_id, code) VALUES (?, ?) USING TTL ?',
  deleteInvite: 'DELETE FROM invites WHERE code = ? IF EXISTS',
  unindexInvite: 'DELETE FROM invites_by_guild WHERE guild_id = ? AND code = ?',
  bans: 'SELECT guild_id, user_id, reason, created_at FROM bans',
  insertBan: 'INSERT INTO bans (guild_id, user_id, reason, created_at) VALUES (?, ?, ?, ?)',
  deleteBan: 'DELETE FROM bans WHERE guild_id = ? AND user_id = ?',
  attachments: `SELECT ${ATTACHMENT_COLUMNS} FROM attachments`,
  insertAttachment: `INSERT INTO attachments (${ATTACHMENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  indexAttachment: 'INSERT INTO attachments_by_channel (channel_id, id) VALUES (?, ?)',
  deleteAttachment: 'DELETE FROM attachments WHERE id = ?',
  unindexAttachment: 'DELETE FROM attachments_by_channel WHERE channel_id = ? AND id = ?',
  jobs: 'SELECT state, id, name, payload, attempts, run_at, last_error FROM jobs',
  insertJob:
    'INSERT INTO jobs (state, id, name, payload, attempts, run_at, last_error) VALUES (?, ?, ?, ?, ?, ?, ?)',
  deleteJob: 'DELETE FROM jobs WHERE state = ? AND id = ?',
  checkpoints: 'SELECT tbl, cursor, rows, done, updated_at FROM migration_checkpoints WHERE source = ?',
  saveCheckpoint: `INSERT INTO migration_checkpoints (source, tbl, cursor, rows, done, updated_at)
    VALUES (?, ?, ?, ?, ?, ?)`,
  clearCheckpoints: 'DELETE FROM migration_checkpoints WHERE source = ?',
} as const;

interface ScanDef {
  query: string;
  toRecord(row: Row): BulkRecords[BulkTable] | null;
}

/** Full-table scans of the tables that are one logical table each (read_states is two). */
const SCANS: {
  [T in Exclude<BulkTable, 'read_states'>]: { query: string; toRecord(row: Row): BulkRecords[T] | null };
} = {
  users: { query: Q.users, toRecord: (row) => (row.get('username') === null ? null : toUser(row)) },
  tokens: {
    query: Q.tokens,
    toRecord: (row) =>
      row.get('user_id') === null
        ? null
        : {
            tokenHash: row.get('token_hash') as string,
            userId: fromId(row.get('user_id')),
            createdAt: fromTime(row.get('created_at')),
            expiresAt: row.get('expires_at') === null ? null : fromTime(row.get('expires_at')),
          },
  },
  guilds: { query: Q.guilds, toRecord: (row) => (row.get('name') === null ? null : toGuild(row)) },
  roles: { query: Q.roles, toRecord: (row) => (row.get('name') === null ? null : toRole(row)) },
  members: { query: Q.members, toRecord: (row) => (row.get('joined_at') === null ? null : toMember(row)) },
  channels: {
    query: Q.channels,
    toRecord: (row) =>
      row.get('type') === null
        ? null
        : {
            id: fromId(row.get('id')),
            type: int(row, 'type'),
            guildId: fromIdOrNull(row.get('guild_id')),
            name: strOrNull(row, 'name'),
            topic: strOrNull(row, 'topic'),
            parentId: fromIdOrNull(row.get('parent_id')),
            position: int(row, 'position'),
            recipients: fromIds(row.get('recipients')),
            overwrites: [],
          },
  },
  overwrites: {
    query: Q.overwrites,
    toRecord: (row) =>
      row.get('allow_bits') === null ? null : { ...toOverwrite(row), guildId: fromId(row.get('guild_id')) },
  },
  dm_pairs: {
    query: Q.dmPairs,
    toRecord: (row) =>
      row.get('channel_id') === null
        ? null
        : {
            userLow: fromId(row.get('user_low')),
            userHigh: fromId(row.get('user_high')),
            channelId: fromId(row.get('channel_id')),
          },
  },
  messages: { query: Q.messages, toRecord: (row) => (row.get('author_id') === null ? null : toMessage(row)) },
  reactions: {
    query: Q.reactions,
    toRecord: (row) => ({
      channelId: fromId(row.get('channel_id')),
      messageId: fromId(row.get('message_id')),
      emoji: row.get('emoji') as string,
      userId: fromId(row.get('user_id')),
    }),
  },
  invites: { query: Q.invites, toRecord: (row) => (row.get('guild_id') === null ? null : toInvite(row)) },
  bans: { query: Q.bans, toRecord: (row) => (row.get('created_at') === null ? null : toBan(row)) },
  attachments: {
    query: Q.attachments,
    toRecord: (row) => (row.get('channel_id') === null ? null : toAttachment(row)),
  },
  jobs: {
    query: Q.jobs,
    toRecord: (row) =>
      row.get('name') === null ? null : { ...toJob(row), dead: row.get('state') === 'dead' },
  },
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

  async channelMessages(channelId: string, after: string | null, limit: number): Promise<MessageRecord[]> {
    // Newest first from the repository (walking channel_buckets); ascending here.
    return (await this.messages.listAfter(channelId, after ?? '0', limit)).reverse();
  }

  async messageReactions(channelId: string, messageId: string): Promise<ReactionRecord[]> {
    const rows = await this.readAll(Q.messageReactions, [
      toId(channelId),
      bucketOf(messageId),
      toId(messageId),
    ]);
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
        return {
          userId,
          channelId,
          lastMessageId: fromIdOrNull(row.get('last_message_id')),
          mentionCount: Math.max(0, counts.get(`${userId}/${channelId}`) ?? 0),
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
    const nothing = overwrite ? null : undefined;
    // Bucket markers first: a message is only reachable through its bucket, never the other way round.
    const markers = new Map<string, Statement>();
    for (const m of messages) {
      const bucket = bucketOf(m.id);
      markers.set(`${m.channelId}:${bucket}`, { query: Q.markBucket, params: [toId(m.channelId), bucket] });
    }
    await Promise.all(
      groupBy([...markers.values()], (s) => String(s.params[0])).map((group) => this.unlogged(group)),
    );
    const partitions = groupBy(messages, (m) => `${m.channelId}:${bucketOf(m.id)}`);
    await Promise.all(
      partitions.flatMap((partition) =>
        chunk(partition, PARTITION_BATCH_ROWS, (m) => m.content.length + 200, PARTITION_BATCH_BYTES).map(
          (rows) =>
            this.unlogged(
              rows.map((m) => ({
                query: Q.insertMessage,
                params: [
                  toId(m.channelId),
                  bucketOf(m.id),
                  toId(m.id),
                  m.guildId === null ? nothing : toId(m.guildId),
                  toId(m.authorId),
                  m.content,
                  m.editedAt === null ? nothing : new Date(m.editedAt),
                  m.attachments.length === 0
                    ? nothing
                    : m.attachments.map((a) => ({
                        id: toId(a.id),
                        filename: a.filename,
                        size: BigInt(a.size),
                        content_type: a.contentType,
                        width: a.width ?? undefined,
                        height: a.height ?? undefined,
                      })),
                  m.mentions.length === 0 ? nothing : m.mentions.map(toId),
                  m.mentionEveryone,
                  m.pinned,
                  m.type,
                  m.nonce ?? nothing,
                ],
              })),
            ),
        ),
      ),
    );
  }

  private async writeReactions(reactions: readonly ReactionRecord[]): Promise<void> {
    const partitions = groupBy(reactions, (r) => `${r.channelId}:${bucketOf(r.messageId)}`);
    await Promise.all(
      partitions.flatMap((partition) =>
        chunk(partition, PARTITION_BATCH_ROWS).map((rows) =>
          this.unlogged(
            rows.map((r) => ({
              query: Q.insertReaction,
              params: [toId(r.channelId), bucketOf(r.messageId), toId(r.messageId), r.emoji, toId(r.userId)],
            })),
          ),
        ),
      ),
    );
  }

  private async writeOne(
    table: BulkTable,
    record: BulkRecords[BulkTable],
    overwrite: boolean,
  ): Promise<void> {
    const nothing = overwrite ? null : undefined;
    const opt = <V>(value: V | null): V | null | undefined => (value === null ? nothing : value);
    switch (table) {
      case 'users':
        return this.writeUser(record as BulkRecords['users'], overwrite);
      case 'tokens': {
        const t = record as BulkRecords['tokens'];
        const ttl = tokenTtl(t.expiresAt);
        return this.logged([
          {
            query: Q.insertToken,
            params: [
              t.tokenHash,
              toId(t.userId),
              toTime(t.createdAt),
              opt(t.expiresAt === null ? null : toTime(t.expiresAt)),
              ttl,
            ],
          },
          { query: Q.insertTokenByUser, params: [toId(t.userId), t.tokenHash, ttl] },
        ]);
      }
      case 'guilds': {
        const g = record as BulkRecords['guilds'];
        return this.exec(Q.insertGuild, [
          toId(g.id),
          g.name,
          opt(g.icon),
          toId(g.ownerId),
          toTime(g.createdAt),
        ]);
      }
      case 'roles': {
        const r = record as BulkRecords['roles'];
        return this.exec(Q.insertRole, [
          toId(r.guildId),
          toId(r.id),
          r.name,
          r.permissions,
          r.color,
          r.position,
        ]);
      }
      case 'members': {
        const m = record as BulkRecords['members'];
        const [guild, user] = [toId(m.guildId), toId(m.userId)];
        return this.logged([
          {
            query: Q.insertMember,
            params: [
              guild,
              user,
              opt(m.nick),
              m.roles.length === 0 && !overwrite ? undefined : m.roles.map(toId),
              toTime(m.joinedAt),
            ],
          },
          { query: Q.insertGuildOfUser, params: [user, guild] },
        ]);
      }
      case 'channels': {
        const c = record as BulkRecords['channels'];
        const channel = toId(c.id);
        const common = [
          c.type,
          opt(c.name),
          opt(c.topic),
          c.parentId === null ? nothing : toId(c.parentId),
          c.position,
        ];
        const statements: Statement[] = [
          {
            query: Q.insertChannel,
            params: [
              channel,
              c.type,
              c.guildId === null ? nothing : toId(c.guildId),
              ...common.slice(1),
              c.recipients.length === 0 ? nothing : c.recipients.map(toId),
            ],
          },
        ];
        if (c.guildId !== null)
          statements.push({ query: Q.insertChannelByGuild, params: [toId(c.guildId), channel, ...common] });
        for (const userId of c.recipients)
          statements.push({ query: Q.insertDmOfUser, params: [toId(userId), channel] });
        return this.logged(statements);
      }
      case 'overwrites': {
        const o = record as BulkRecords['overwrites'];
        return this.exec(Q.insertOverwrite, [
          toId(o.guildId),
          toId(o.channelId),
          toId(o.id),
          o.type,
          o.allow,
          o.deny,
        ]);
      }
      case 'dm_pairs': {
        const p = record as BulkRecords['dm_pairs'];
        const channel = toId(p.channelId);
        const rs = await this.lwt(Q.claimDmPair, [toId(p.userLow), toId(p.userHigh), channel]);
        const holder = rs.wasApplied() ? channel : (rs.first()?.get('channel_id') as bigint | undefined);
        if (holder !== channel)
          throw new BulkConflict('dm_pair', `${p.userLow}/${p.userHigh}`, `channel ${String(holder)}`);
        return;
      }
      case 'read_states':
        return this.writeReadState(record as BulkRecords['read_states']);
      case 'invites':
        return this.writeInvite(record as BulkRecords['invites']);
      case 'bans': {
        const b = record as BulkRecords['bans'];
        // No reason is stored as '' (as the repository does): never a tombstone.
        return this.exec(Q.insertBan, [toId(b.guildId), toId(b.userId), b.reason ?? '', toTime(b.createdAt)]);
      }
      case 'attachments': {
        const a = record as BulkRecords['attachments'];
        return this.logged([
          {
            query: Q.insertAttachment,
            params: [
              toId(a.id),
              toId(a.channelId),
              toId(a.uploaderId),
              a.messageId === null ? nothing : toId(a.messageId),
              a.filename,
              BigInt(a.size),
              a.contentType,
              opt(a.width),
              opt(a.height),
              toTime(a.createdAt),
            ],
          },
          { query: Q.indexAttachment, params: [toId(a.channelId), toId(a.id)] },
        ]);
      }
      case 'jobs': {
        const j = record as BulkRecords['jobs'];
        const [state, other] = j.dead ? ['dead', 'pending'] : ['pending', 'dead'];
        await this.exec(Q.insertJob, [
          state,
          j.id,
          j.name,
          j.payload,
          j.attempts,
          toTime(j.runAt),
          opt(j.lastError),
        ]);
        if (overwrite) await this.exec(Q.deleteJob, [other, j.id]);
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
  private async writeUser(u: BulkRecords['users'], overwrite: boolean): Promise<void> {
    const id = toId(u.id);
    const wanted = { username: u.username.toLowerCase(), email: u.email.toLowerCase() };
    const current = (await this.read(Q.userClaims, [id])).first();
    const previous = current
      ? {
          username: ((current.get('username') as string | null) ?? '').toLowerCase(),
          email: ((current.get('email') as string | null) ?? '').toLowerCase(),
        }
      : null;
    const claims = [
      { claim: 'username' as const, key: wanted.username, take: Q.claimUsername, give: Q.releaseUsername },
      { claim: 'email' as const, key: wanted.email, take: Q.claimEmail, give: Q.releaseEmail },
    ];
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
    const nothing = overwrite ? null : undefined;
    await this.exec(Q.insertUser, [
      id,
      u.username,
      wanted.email,
      u.displayName ?? nothing,
      u.avatar ?? nothing,
      u.passwordHash,
      toTime(u.createdAt),
    ]);
    if (previous) {
      for (const c of claims) {
        const old = previous[c.claim];
        if (old && old !== c.key) await this.lwt(c.give, [old, id]);
      }
    }
  }

  /** Position by upsert; the mention counter is brought to the wanted value by adding the difference. */
  private async writeReadState(s: BulkRecords['read_states']): Promise<void> {
    const [user, channel] = [toId(s.userId), toId(s.channelId)];
    if (s.lastMessageId !== null) await this.exec(Q.insertReadState, [user, channel, toId(s.lastMessageId)]);
    await this.setMentions(user, channel, BigInt(Math.max(0, s.mentionCount)));
  }

  /**
   * Counter updates are not idempotent, so the delta is computed from a fresh read each time: writing
   * the same record again adds nothing. (Only the copy writes the target's counters: it is not serving.)
   */
  private async setMentions(user: bigint, channel: bigint, wanted: bigint): Promise<void> {
    const row = (await this.read(Q.mentionOf, [user, channel])).first();
    const current = row ? ((row.get('mentions') as bigint | null) ?? 0n) : 0n;
    if (current === wanted) return;
    // Not retried: a timed-out counter update may still apply (the next comparison would catch the drift).
    await this.request(
      () => this.db.execute('write', Q.addMentions, [wanted - current, user, channel], { idempotent: false }),
      false,
    );
  }

  /** The code claim (LWT, as the repository does); the same invite again is rewritten by LWT too. */
  private async writeInvite(i: BulkRecords['invites']): Promise<void> {
    const ttl = inviteTtl(i.expiresAt);
    const expires = i.expiresAt === null ? undefined : toTime(i.expiresAt);
    const guild = toId(i.guildId);
    const rs = await this.lwt(Q.claimInvite, [
      i.code,
      guild,
      toId(i.channelId),
      toId(i.inviterId),
      i.maxAge,
      i.maxUses,
      i.uses,
      toTime(i.createdAt),
      expires,
      ttl,
    ]);
    if (!rs.wasApplied()) {
      const held = rs.first();
      const heldGuild = held?.get('guild_id') as bigint | null | undefined;
      const heldCreated = held?.get('created_at') as Date | null | undefined;
      if (heldGuild !== guild || heldCreated?.getTime() !== i.createdAt)
        throw new BulkConflict('invite_code', i.code, `an invite of guild ${String(heldGuild)}`);
      const same = held ? toInvite(held) : null;
      if (
        !same ||
        same.channelId !== i.channelId ||
        same.inviterId !== i.inviterId ||
        same.maxAge !== i.maxAge ||
        same.maxUses !== i.maxUses ||
        same.uses !== i.uses ||
        same.expiresAt !== i.expiresAt
      )
        await this.lwt(Q.rewriteInvite, [
          ttl,
          toId(i.channelId),
          toId(i.inviterId),
          i.maxAge,
          i.maxUses,
          i.uses,
          expires ?? null,
          i.code,
        ]);
    }
    await this.exec(Q.indexInvite, [guild, i.code, ttl]);
  }

  private async removeOne(table: BulkTable, record: BulkRecords[BulkTable]): Promise<void> {
    switch (table) {
      case 'users': {
        const u = record as BulkRecords['users'];
        const id = toId(u.id);
        const current = (await this.read(Q.userClaims, [id])).first();
        if (current) {
          await this.lwt(Q.releaseUsername, [
            ((current.get('username') as string | null) ?? '').toLowerCase(),
            id,
          ]);
          await this.lwt(Q.releaseEmail, [((current.get('email') as string | null) ?? '').toLowerCase(), id]);
        }
        return this.exec(Q.deleteUser, [id]);
      }
      case 'tokens': {
        const t = record as BulkRecords['tokens'];
        return this.logged([
          { query: Q.deleteToken, params: [t.tokenHash] },
          { query: Q.deleteTokenByUser, params: [toId(t.userId), t.tokenHash] },
        ]);
      }
      case 'guilds':
        return this.exec(Q.deleteGuild, [toId((record as BulkRecords['guilds']).id)]);
      case 'roles': {
        const r = record as BulkRecords['roles'];
        return this.exec(Q.deleteRole, [toId(r.guildId), toId(r.id)]);
      }
      case 'members': {
        const m = record as BulkRecords['members'];
        return this.logged([
          { query: Q.deleteMember, params: [toId(m.guildId), toId(m.userId)] },
          { query: Q.deleteGuildOfUser, params: [toId(m.userId), toId(m.guildId)] },
        ]);
      }
      case 'channels': {
        const c = record as BulkRecords['channels'];
        const channel = toId(c.id);
        const statements: Statement[] = [{ query: Q.deleteChannel, params: [channel] }];
        if (c.guildId !== null)
          statements.push({ query: Q.deleteChannelByGuild, params: [toId(c.guildId), channel] });
        for (const userId of c.recipients)
          statements.push({ query: Q.deleteDmOfUser, params: [toId(userId), channel] });
        return this.logged(statements);
      }
      case 'overwrites': {
        const o = record as BulkRecords['overwrites'];
        return this.exec(Q.deleteOverwrite, [toId(o.guildId), toId(o.channelId), toId(o.id)]);
      }
      case 'dm_pairs': {
        const p = record as BulkRecords['dm_pairs'];
        await this.lwt(Q.releaseDmPair, [toId(p.userLow), toId(p.userHigh), toId(p.channelId)]);
        return;
      }
      case 'messages': {
        const m = record as BulkRecords['messages'];
        return this.exec(Q.deleteMessage, [toId(m.channelId), bucketOf(m.id), toId(m.id)]);
      }
      case 'reactions': {
        const r = record as BulkRecords['reactions'];
        return this.exec(Q.deleteReaction, [
          toId(r.channelId),
          bucketOf(r.messageId),
          toId(r.messageId),
          r.emoji,
          toId(r.userId),
        ]);
      }
      case 'read_states': {
        const s = record as BulkRecords['read_states'];
        const [user, channel] = [toId(s.userId), toId(s.channelId)];
        await this.exec(Q.deleteReadState, [user, channel]);
        return this.setMentions(user, channel, 0n);
      }
      case 'invites': {
        const i = record as BulkRecords['invites'];
        await this.lwt(Q.deleteInvite, [i.code]);
        return this.exec(Q.unindexInvite, [toId(i.guildId), i.code]);
      }
      case 'bans': {
        const b = record as BulkRecords['bans'];
        return this.exec(Q.deleteBan, [toId(b.guildId), toId(b.userId)]);
      }
      case 'attachments': {
        const a = record as BulkRecords['attachments'];
        return this.logged([
          { query: Q.deleteAttachment, params: [toId(a.id)] },
          { query: Q.unindexAttachment, params: [toId(a.channelId), toId(a.id)] },
        ]);
      }
      case 'jobs': {
        const j = record as BulkRecords['jobs'];
        return this.exec(Q.deleteJob, [j.dead ? 'dead' : 'pending', j.id]);
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
    return this.request(() => this.db.execute('lwt', query, params, { idempotent: false }));
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
