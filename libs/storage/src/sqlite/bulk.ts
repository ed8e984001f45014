import Database from 'better-sqlite3';
import {
  BulkConflict,
  type BulkRecords,
  type BulkStorage,
  type BulkTable,
  type BulkWriteFailure,
  type CheckpointStore,
  type MessageRecord,
  type MigrationCheckpoint,
  type ReactionRecord,
  type ScanPage,
} from '../contract';
import { fromId, fromIdOrNull, parseIds, toId, toIdOrNull, toNumber, toNumberOrNull } from './codec';
import { SqliteDb } from './connection';
import { settle } from './errors';
import { MEMBER_COLUMNS, MESSAGE_COLUMNS } from './hot-queries';
import { type AttachmentRow, toRecord as toAttachment } from './repositories/attachment.repository';
import { type BanRow, toRecord as toBan } from './repositories/ban.repository';
import { CHANNEL_COLUMNS, type ChannelRow, toChannel } from './repositories/channel.repository';
import { type GuildRow, toRecord as toGuild } from './repositories/guild.repository';
import { type InviteRow, toRecord as toInvite } from './repositories/invite.repository';
import type { JobRow } from './repositories/job.store';
import { type MemberRow, toRecord as toMember } from './repositories/member.repository';
import {
  type MessageRow,
  UPSERT as MESSAGE_UPSERT,
  toParams as messageParams,
  toRecord as toMessage,
} from './repositories/message.repository';
import type { ReadStateRow } from './repositories/read-state.repository';
import { type RoleRow, toRecord as toRole } from './repositories/role.repository';
import { SqliteSettingsRepository } from './repositories/settings.repository';
import type { TokenRow } from './repositories/token.repository';
import { type UserRow, toRecord as toUser } from './repositories/user.repository';

type Row = Record<string, unknown>;

interface TableDef<T extends BulkTable> {
  /** SELECT ... FROM ... (no WHERE); `where` is ANDed with the key range. */
  select: string;
  where?: string;
  /** Key columns in scan order (qualified as the select needs), with how a cursor value binds. */
  keys: readonly { column: string; type: 'int' | 'text' }[];
  /** The key of a record, as the cursor stores it. */
  key(record: BulkRecords[T]): string[];
  toRecord(row: Row): BulkRecords[T];
  countSql: string;
  write(db: SqliteDb, record: BulkRecords[T]): void;
  remove(db: SqliteDb, record: BulkRecords[T]): void;
}

type Defs = { [T in BulkTable]: TableDef<T> };

const USER_COLUMNS = 'id, username, email, display_name, avatar, password_hash, created_at';
const INVITE_COLUMNS =
  'code, guild_id, channel_id, inviter_id, max_age, max_uses, uses, created_at, expires_at';
const ATTACHMENT_COLUMNS =
  'id, channel_id, uploader_id, message_id, filename, size, content_type, width, height, created_at';
const RECIPIENTS = `(SELECT json_group_array(CAST(r.user_id AS TEXT)) FROM dm_recipients r WHERE r.channel_id = channels.id)`;

const id = (column = 'id') => ({ column, type: 'int' as const });
const text = (column: string) => ({ column, type: 'text' as const });

const DEFS: Defs = {
  users: {
    select: `SELECT ${USER_COLUMNS} FROM users`,
    keys: [id()],
    key: (u) => [u.id],
    toRecord: (row) => toUser(row as unknown as UserRow),
    countSql: 'SELECT count(*) AS n FROM users',
    write(db, u) {
      const lower = u.username.toLowerCase();
      const email = u.email.toLowerCase();
      for (const [claim, sql, value] of [
        ['username', 'SELECT id FROM users WHERE username_lower = ? AND id <> ?', lower],
        ['email', 'SELECT id FROM users WHERE email = ? AND id <> ?', email],
      ] as const) {
        const holder = db.get<{ id: bigint }>(sql, value, toId(u.id));
        if (holder) throw new BulkConflict(claim, value, `user ${holder.id}`);
      }
      db.run(
        `INSERT INTO users (id, username, username_lower, email, display_name, avatar, password_hash, created_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT (id) DO UPDATE SET username = excluded.username, username_lower = excluded.username_lower,
            email = excluded.email, display_name = excluded.display_name, avatar = excluded.avatar,
            password_hash = excluded.password_hash, created_at = excluded.created_at`,
        toId(u.id),
        u.username,
        lower,
        email,
        u.displayName,
        u.avatar,
        u.passwordHash,
        u.createdAt,
      );
    },
    remove: (db, u) => void db.run('DELETE FROM users WHERE id = ?', toId(u.id)),
  },
  tokens: {
    select: 'SELECT token_hash, user_id, created_at, expires_at FROM tokens',
    keys: [text('token_hash')],
    key: (t) => [t.tokenHash],
    toRecord: (r) => {
      const row = r as unknown as TokenRow;
      return {
        tokenHash: row.token_hash,
        userId: fromId(row.user_id),
        createdAt: toNumber(row.created_at),
        expiresAt: toNumberOrNull(row.expires_at),
      };
    },
    countSql: 'SELECT count(*) AS n FROM tokens',
    write: (db, t) =>
      void db.run(
        `INSERT INTO tokens (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)
          ON CONFLICT (token_hash) DO UPDATE SET user_id = excluded.user_id, created_at = excluded.created_at,
            expires_at = excluded.expires_at`,
        t.tokenHash,
        toId(t.userId),
        t.createdAt,
        t.expiresAt,
      ),
    remove: (db, t) => void db.run('DELETE FROM tokens WHERE token_hash = ?', t.tokenHash),
  },
  guilds: {
    select: 'SELECT id, name, icon, owner_id, created_at FROM guilds',
    keys: [id()],
    key: (g) => [g.id],
    toRecord: (row) => toGuild(row as unknown as GuildRow),
    countSql: 'SELECT count(*) AS n FROM guilds',
    write: (db, g) =>
      void db.run(
        `INSERT INTO guilds (id, name, icon, owner_id, created_at) VALUES (?, ?, ?, ?, ?)
          ON CONFLICT (id) DO UPDATE SET name = excluded.name, icon = excluded.icon, owner_id = excluded.owner_id,
            created_at = excluded.created_at`,
        toId(g.id),
        g.name,
        g.icon,
        toId(g.ownerId),
        g.createdAt,
      ),
    remove: (db, g) => void db.run('DELETE FROM guilds WHERE id = ?', toId(g.id)),
  },
  roles: {
    select: 'SELECT guild_id, id, name, permissions, color, position FROM roles',
    keys: [id('guild_id'), id()],
    key: (r) => [r.guildId, r.id],
    toRecord: (row) => toRole(row as unknown as RoleRow),
    countSql: 'SELECT count(*) AS n FROM roles',
    write: (db, r) =>
      void db.run(
        `INSERT INTO roles (guild_id, id, name, permissions, color, position) VALUES (?, ?, ?, ?, ?, ?)
          ON CONFLICT (guild_id, id) DO UPDATE SET name = excluded.name, permissions = excluded.permissions,
            color = excluded.color, position = excluded.position`,
        toId(r.guildId),
        toId(r.id),
        r.name,
        r.permissions,
        r.color,
        r.position,
      ),
    remove: (db, r) =>
      void db.run('DELETE FROM roles WHERE guild_id = ? AND id = ?', toId(r.guildId), toId(r.id)),
  },
  members: {
    select: `SELECT ${MEMBER_COLUMNS} FROM members`,
    keys: [id('guild_id'), id('user_id')],
    key: (m) => [m.guildId, m.userId],
    toRecord: (row) => toMember(row as unknown as MemberRow),
    countSql: 'SELECT count(*) AS n FROM members',
    write: (db, m) =>
      void db.run(
        `INSERT INTO members (${MEMBER_COLUMNS}) VALUES (?, ?, ?, ?, ?)
          ON CONFLICT (guild_id, user_id) DO UPDATE SET nick = excluded.nick, roles = excluded.roles,
            joined_at = excluded.joined_at`,
        toId(m.guildId),
        toId(m.userId),
        m.nick,
        JSON.stringify(m.roles),
        m.joinedAt,
      ),
    remove: (db, m) =>
      void db.run('DELETE FROM members WHERE guild_id = ? AND user_id = ?', toId(m.guildId), toId(m.userId)),
  },
  channels: {
    select: `SELECT ${CHANNEL_COLUMNS}, ${RECIPIENTS} AS recipients FROM channels`,
    keys: [id()],
    key: (c) => [c.id],
    toRecord: (row) => toChannel(row as unknown as ChannelRow, parseIds(row.recipients as string), []),
    countSql: 'SELECT count(*) AS n FROM channels',
    write(db, c) {
      const channelId = toId(c.id);
      db.run(
        `INSERT INTO channels (${CHANNEL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT (id) DO UPDATE SET type = excluded.type, guild_id = excluded.guild_id, name = excluded.name,
            topic = excluded.topic, parent_id = excluded.parent_id, position = excluded.position`,
        channelId,
        c.type,
        toIdOrNull(c.guildId),
        c.name,
        c.topic,
        toIdOrNull(c.parentId),
        c.position,
      );
      db.run('DELETE FROM dm_recipients WHERE channel_id = ?', channelId);
      for (const userId of c.recipients)
        db.run('INSERT INTO dm_recipients (user_id, channel_id) VALUES (?, ?)', toId(userId), channelId);
    },
    remove(db, c) {
      db.run('DELETE FROM dm_recipients WHERE channel_id = ?', toId(c.id));
      db.run('DELETE FROM channels WHERE id = ?', toId(c.id));
    },
  },
  overwrites: {
    // Overwrites of channels that are gone are invisible to the API and are not part of the data set.
    select: `SELECT o.channel_id, o.id, o.type, o.allow, o.deny, c.guild_id
      FROM channel_overwrites o JOIN channels c ON c.id = o.channel_id`,
    where: 'c.guild_id IS NOT NULL',
    keys: [id('o.channel_id'), id('o.id')],
    key: (o) => [o.channelId, o.id],
    toRecord: (row) => ({
      guildId: fromId(row.guild_id as bigint),
      channelId: fromId(row.channel_id as bigint),
      id: fromId(row.id as bigint),
      type: row.type === 0n ? 0 : 1,
      allow: row.allow as string,
      deny: row.deny as string,
    }),
    countSql: 'SELECT count(*) AS n FROM channel_overwrites',
    write: (db, o) =>
      void db.run(
        `INSERT INTO channel_overwrites (channel_id, id, type, allow, deny) VALUES (?, ?, ?, ?, ?)
          ON CONFLICT (channel_id, id) DO UPDATE SET type = excluded.type, allow = excluded.allow, deny = excluded.deny`,
        toId(o.channelId),
        toId(o.id),
        o.type,
        o.allow,
        o.deny,
      ),
    remove: (db, o) =>
      void db.run(
        'DELETE FROM channel_overwrites WHERE channel_id = ? AND id = ?',
        toId(o.channelId),
        toId(o.id),
      ),
  },
  dm_pairs: {
    select: 'SELECT user_low, user_high, channel_id FROM dm_pairs',
    keys: [id('user_low'), id('user_high')],
    key: (p) => [p.userLow, p.userHigh],
    toRecord: (row) => ({
      userLow: fromId(row.user_low as bigint),
      userHigh: fromId(row.user_high as bigint),
      channelId: fromId(row.channel_id as bigint),
    }),
    countSql: 'SELECT count(*) AS n FROM dm_pairs',
    write(db, p) {
      const [low, high, channel] = [toId(p.userLow), toId(p.userHigh), toId(p.channelId)];
      db.run(
        'INSERT INTO dm_pairs (user_low, user_high, channel_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
        low,
        high,
        channel,
      );
      const held = db.get<{ channel_id: bigint }>(
        'SELECT channel_id FROM dm_pairs WHERE user_low = ? AND user_high = ?',
        low,
        high,
      );
      if (held && held.channel_id !== channel)
        throw new BulkConflict('dm_pair', `${p.userLow}/${p.userHigh}`, `channel ${held.channel_id}`);
    },
    remove: (db, p) =>
      void db.run(
        'DELETE FROM dm_pairs WHERE user_low = ? AND user_high = ? AND channel_id = ?',
        toId(p.userLow),
        toId(p.userHigh),
        toId(p.channelId),
      ),
  },
  messages: {
    // (channel_id, id) order is the messages_by_channel index: a range scan, and batches of one channel.
    select: `SELECT ${MESSAGE_COLUMNS} FROM messages`,
    keys: [id('channel_id'), id()],
    key: (m) => [m.channelId, m.id],
    toRecord: (row) => toMessage(row as unknown as MessageRow),
    countSql: 'SELECT count(*) AS n FROM messages',
    write: (db, m) => void db.run(MESSAGE_UPSERT, ...messageParams(m)),
    remove: (db, m) =>
      void db.run('DELETE FROM messages WHERE id = ? AND channel_id = ?', toId(m.id), toId(m.channelId)),
  },
  reactions: {
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
    countSql: 'SELECT count(*) AS n FROM reactions',
    write(db, r) {
      const message = toId(r.messageId);
      const added = db.run(
        'INSERT INTO reactions (message_id, emoji, user_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
        message,
        r.emoji,
        toId(r.userId),
      );
      if (added === 1)
        db.run(
          `INSERT INTO reaction_counts (message_id, emoji, count) VALUES (?, ?, 1)
            ON CONFLICT (message_id, emoji) DO UPDATE SET count = count + 1`,
          message,
          r.emoji,
        );
    },
    remove(db, r) {
      const message = toId(r.messageId);
      if (
        db.run(
          'DELETE FROM reactions WHERE message_id = ? AND emoji = ? AND user_id = ?',
          message,
          r.emoji,
          toId(r.userId),
        ) === 0
      )
        return;
      db.run(
        'UPDATE reaction_counts SET count = count - 1 WHERE message_id = ? AND emoji = ?',
        message,
        r.emoji,
      );
      db.run(
        'DELETE FROM reaction_counts WHERE message_id = ? AND emoji = ? AND count <= 0',
        message,
        r.emoji,
      );
    },
  },
  read_states: {
    select: 'SELECT user_id, channel_id, last_message_id, mention_count FROM read_states',
    keys: [id('user_id'), id('channel_id')],
    key: (s) => [s.userId, s.channelId],
    toRecord: (r) => {
      const row = r as unknown as ReadStateRow;
      return {
        userId: fromId(row.user_id),
        channelId: fromId(row.channel_id),
        lastMessageId: fromIdOrNull(row.last_message_id),
        mentionCount: toNumber(row.mention_count),
      };
    },
    countSql: 'SELECT count(*) AS n FROM read_states',
    write: (db, s) =>
      void db.run(
        `INSERT INTO read_states (user_id, channel_id, last_message_id, mention_count) VALUES (?, ?, ?, ?)
          ON CONFLICT (user_id, channel_id) DO UPDATE SET last_message_id = excluded.last_message_id,
            mention_count = excluded.mention_count`,
        toId(s.userId),
        toId(s.channelId),
        toIdOrNull(s.lastMessageId),
        s.mentionCount,
      ),
    remove: (db, s) =>
      void db.run(
        'DELETE FROM read_states WHERE user_id = ? AND channel_id = ?',
        toId(s.userId),
        toId(s.channelId),
      ),
  },
  invites: {
    select: `SELECT ${INVITE_COLUMNS} FROM invites`,
    keys: [text('code')],
    key: (i) => [i.code],
    toRecord: (row) => toInvite(row as unknown as InviteRow),
    countSql: 'SELECT count(*) AS n FROM invites',
    write(db, i) {
      // The code is the claim: the same invite may be written again, another invite may not take it.
      const held = db.get<{ guild_id: bigint; created_at: bigint }>(
        'SELECT guild_id, created_at FROM invites WHERE code = ?',
        i.code,
      );
      if (held && (held.guild_id !== toId(i.guildId) || Number(held.created_at) !== i.createdAt))
        throw new BulkConflict('invite_code', i.code, `an invite of guild ${held.guild_id}`);
      db.run(
        `INSERT INTO invites (${INVITE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT (code) DO UPDATE SET channel_id = excluded.channel_id, inviter_id = excluded.inviter_id,
            max_age = excluded.max_age, max_uses = excluded.max_uses, uses = excluded.uses,
            expires_at = excluded.expires_at`,
        i.code,
        toId(i.guildId),
        toId(i.channelId),
        toId(i.inviterId),
        i.maxAge,
        i.maxUses,
        i.uses,
        i.createdAt,
        i.expiresAt,
      );
    },
    remove: (db, i) => void db.run('DELETE FROM invites WHERE code = ?', i.code),
  },
  bans: {
    select: 'SELECT guild_id, user_id, reason, created_at FROM bans',
    keys: [id('guild_id'), id('user_id')],
    key: (b) => [b.guildId, b.userId],
    toRecord: (row) => toBan(row as unknown as BanRow),
    countSql: 'SELECT count(*) AS n FROM bans',
    write: (db, b) =>
      void db.run(
        `INSERT INTO bans (guild_id, user_id, reason, created_at) VALUES (?, ?, ?, ?)
          ON CONFLICT (guild_id, user_id) DO UPDATE SET reason = excluded.reason, created_at = excluded.created_at`,
        toId(b.guildId),
        toId(b.userId),
        b.reason,
        b.createdAt,
      ),
    remove: (db, b) =>
      void db.run('DELETE FROM bans WHERE guild_id = ? AND user_id = ?', toId(b.guildId), toId(b.userId)),
  },
  attachments: {
    select: `SELECT ${ATTACHMENT_COLUMNS} FROM attachments`,
    keys: [id()],
    key: (a) => [a.id],
    toRecord: (row) => toAttachment(row as unknown as AttachmentRow),
    countSql: 'SELECT count(*) AS n FROM attachments',
    write: (db, a) =>
      void db.run(
        `INSERT INTO attachments (${ATTACHMENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT (id) DO UPDATE SET channel_id = excluded.channel_id, uploader_id = excluded.uploader_id,
            message_id = excluded.message_id, filename = excluded.filename, size = excluded.size,
            content_type = excluded.content_type, width = excluded.width, height = excluded.height,
            created_at = excluded.created_at`,
        toId(a.id),
        toId(a.channelId),
        toId(a.uploaderId),
        toIdOrNull(a.messageId),
        a.filename,
        a.size,
        a.contentType,
        a.width,
        a.height,
        a.createdAt,
      ),
    remove: (db, a) => void db.run('DELETE FROM attachments WHERE id = ?', toId(a.id)),
  },
  jobs: {
    select: 'SELECT id, name, payload, attempts, run_at, last_error, state FROM jobs',
    keys: [text('id')],
    key: (j) => [j.id],
    toRecord: (r) => {
      const row = r as unknown as JobRow & { state: bigint };
      return {
        id: row.id,
        name: row.name,
        payload: row.payload,
        attempts: toNumber(row.attempts),
        runAt: toNumber(row.run_at),
        lastError: row.last_error,
        dead: row.state === 1n,
      };
    },
    countSql: 'SELECT count(*) AS n FROM jobs',
    write: (db, j) =>
      void db.run(
        `INSERT INTO jobs (id, name, payload, attempts, run_at, last_error, state) VALUES (?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT (id) DO UPDATE SET name = excluded.name, payload = excluded.payload, attempts = excluded.attempts,
            run_at = excluded.run_at, last_error = excluded.last_error, state = excluded.state`,
        j.id,
        j.name,
        j.payload,
        j.attempts,
        j.runAt,
        j.lastError,
        j.dead ? 1 : 0,
      ),
    remove: (db, j) => void db.run('DELETE FROM jobs WHERE id = ?', j.id),
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
    return settle(() => toNumber(this.db.get<{ n: bigint }>(DEFS[table].countSql)?.n ?? 0n));
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

  channelMessages(channelId: string, after: string | null, limit: number): Promise<MessageRecord[]> {
    return settle(() =>
      this.db
        .all<MessageRow>(
          `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE channel_id = ? AND id > ? ORDER BY id LIMIT ?`,
          toId(channelId),
          after === null ? -1n : toId(after),
          Math.max(1, Math.floor(limit)),
        )
        .map(toMessage),
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
