import { UniqueViolation, type UserRecord, type UserRepository } from '../../contract';
import { fromId, mapLimit, toId } from '../codec';
import { HotReadCache } from '../hot-reads';
import type { CassandraSession } from '../session';
import { USERS } from '../tables';

const BY_ID = `SELECT ${USERS.columns} FROM users WHERE id = ?`;
/**
 * A history page's authors in one request. A partition-key IN makes the coordinator read each partition (one
 * single-row point read each) and wait for the slowest: fine for the at most 100 authors of a page, where it
 * replaces up to 100 round trips from the client; larger lists are split into IN_MAX-key requests.
 */
const BY_IDS = `SELECT ${USERS.columns} FROM users WHERE id IN ?`;
const IN_MAX = 100;
const BY_USERNAME = 'SELECT user_id FROM users_by_username WHERE username_lower = ?';
const BY_EMAIL = 'SELECT user_id FROM users_by_email WHERE email = ?';
const SCAN_FIRST = `SELECT ${USERS.columns} FROM users LIMIT ?`;
const SCAN_AFTER = `SELECT ${USERS.columns} FROM users WHERE token(id) > token(?) LIMIT ?`;
const SAMPLE = 'SELECT id FROM users LIMIT ?';
/** Through the SAI index users_bot_owner (migration 0044): a person owns a handful of applications. */
const BOTS_OF = `SELECT ${USERS.columns} FROM users WHERE bot_owner_id = ?`;
/** The approval queue is one partition (registrations nobody has looked at yet). */
const PENDING_QUEUE = USERS.pendingQueue;
const PENDING_ADD = USERS.pendingAdd;
const PENDING_REMOVE = USERS.pendingRemove;
const PENDING_LIST = 'SELECT user_id FROM pending_registrations WHERE queue = ? LIMIT ?';
const PENDING_BELOW = 'SELECT user_id FROM pending_registrations WHERE queue = ? AND user_id < ? LIMIT ?';
/** Rows a search page reads: at least this many, so a rare prefix does not cost a round trip per few rows. */
const SEARCH_SCAN_ROWS = 500;

type Claim = keyof typeof USERS.claims;

/** How old a claim must be before its holder counts as gone (registrations finish within seconds). */
export const ORPHAN_AFTER_MS = 60_000;

/**
 * Username (case-insensitive) and email uniqueness are claim rows written by lightweight transactions;
 * the user row itself is a plain idempotent upsert. A claim is taken before the row is written and
 * given back (by an LWT that only deletes our own claim) when a later step fails.
 */
export class CassandraUserRepository implements UserRepository {
  /**
   * User rows read as message authors (`findByIds`: every history page), coalesced and kept `cache_ttl`. Only that
   * read uses it: logins, token checks and profile reads (`findById`) always read the row. Each write below
   * forgets the user after it lands; other processes' writes arrive as USER_UPDATE invalidations.
   */
  readonly authors: HotReadCache<UserRecord | null>;

  constructor(private readonly db: CassandraSession) {
    this.authors = new HotReadCache('users', db.settings.cache_entries, db.settings.cache_ttl);
  }

  async create(user: UserRecord): Promise<void> {
    const id = toId(user.id);
    const username = user.username.toLowerCase();
    const email = user.email.toLowerCase();
    await this.claim('username', username, id);
    try {
      await this.claim('email', email, id);
    } catch (err) {
      await this.release('username', username, id);
      throw err;
    }
    await this.db.execute('write', USERS.insert, USERS.params(user, undefined), { idempotent: true });
    this.authors.forget(user.id);
    if (user.approvalPending === true)
      await this.db.execute('write', PENDING_ADD, [PENDING_QUEUE, id], { idempotent: true });
  }

  async setFlags(
    id: string,
    flags: Partial<Pick<UserRecord, 'admin' | 'disabled' | 'approvalPending'>>,
  ): Promise<void> {
    const userId = toId(id);
    const sets: string[] = [];
    const params: unknown[] = [];
    // false deletes the cell (no cell reads as false), so the ordinary account keeps none.
    for (const [column, value] of [
      ['admin', flags.admin],
      ['disabled', flags.disabled],
      ['approval_pending', flags.approvalPending],
    ] as const) {
      if (value === undefined) continue;
      sets.push(`${column} = ?`);
      params.push(value ? true : null);
    }
    if (sets.length === 0) return;
    if (flags.approvalPending === true)
      await this.db.execute('write', PENDING_ADD, [PENDING_QUEUE, userId], { idempotent: true });
    // Only an existing row: a flag must not make a half row of a deleted account.
    const rs = await this.db.execute(
      'lwt',
      `UPDATE users SET ${sets.join(', ')} WHERE id = ? IF EXISTS`,
      [...params, userId],
      { idempotent: false },
    );
    this.authors.forget(id);
    if (flags.approvalPending === false || !rs.wasApplied())
      await this.db.execute('write', PENDING_REMOVE, [PENDING_QUEUE, userId], { idempotent: true });
  }

  /**
   * A paged scan of the users table in token order, filtered in memory: admin-only (a person reads each
   * page), never on a request path of ordinary users. Each page reads at least SEARCH_SCAN_ROWS rows.
   */
  async search(
    prefix: string,
    page: { limit: number; cursor: string | null },
  ): Promise<{ users: UserRecord[]; cursor: string | null }> {
    const read = Math.max(page.limit, SEARCH_SCAN_ROWS);
    const rs =
      page.cursor === null
        ? await this.db.execute('read', SCAN_FIRST, [read], { idempotent: true })
        : await this.db.execute('read', SCAN_AFTER, [toId(page.cursor), read], { idempotent: true });
    const key = prefix.toLowerCase();
    const users: UserRecord[] = [];
    let last: string | null = null;
    let examined = 0;
    for (const row of rs.rows) {
      examined++;
      last = fromId(row.get('id'));
      if (row.get(USERS.present) === null) continue;
      const user = USERS.toRecord(row);
      if (user.username.toLowerCase().startsWith(key) || user.email.startsWith(key)) users.push(user);
      if (users.length >= page.limit) break;
    }
    const more = examined < rs.rows.length || rs.rows.length === read;
    return { users, cursor: more ? last : null };
  }

  async listPendingApproval(page: { limit: number; before?: string }): Promise<UserRecord[]> {
    const limit = Math.max(1, page.limit);
    const rs =
      page.before === undefined
        ? await this.db.execute('read', PENDING_LIST, [PENDING_QUEUE, limit], { idempotent: true })
        : await this.db.execute('read', PENDING_BELOW, [PENDING_QUEUE, toId(page.before), limit], {
            idempotent: true,
          });
    const ids = rs.rows.map((row) => fromId(row.get('user_id')));
    const users = await this.findByIds(ids);
    return users.filter((u) => u.approvalPending === true);
  }

  async sampleIds(limit: number): Promise<string[]> {
    const rs = await this.db.execute('read', SAMPLE, [Math.max(1, limit)], { idempotent: true });
    return rs.rows.map((row) => fromId(row.get('id')));
  }

  async delete(id: string): Promise<void> {
    const current = await this.findById(id);
    const userId = toId(id);
    if (current) {
      await this.release('username', current.username.toLowerCase(), userId);
      await this.release('email', current.email, userId);
    }
    await this.db.execute('write', PENDING_REMOVE, [PENDING_QUEUE, userId], { idempotent: true });
    await this.db.execute('write', USERS.delete, [userId], { idempotent: true });
    this.authors.forget(id);
  }

  async findById(id: string): Promise<UserRecord | null> {
    const row = (await this.db.execute('read', BY_ID, [toId(id)], { idempotent: true })).first();
    return row && row.get(USERS.present) !== null ? USERS.toRecord(row) : null;
  }

  async findByIds(ids: readonly string[]): Promise<UserRecord[]> {
    // Each user once, as SQLite's IN answers.
    const found = await this.authors.getMany(
      [...new Set(ids)],
      (missing) => this.readMany(missing),
      (user) => user !== null,
    );
    return found.filter((user): user is UserRecord => user !== null);
  }

  /** Users by id in IN_MAX-key requests, answered in the order of `ids` (null for a missing or deleted one). */
  private async readMany(ids: string[]): Promise<(UserRecord | null)[]> {
    const chunks: string[][] = [];
    for (let i = 0; i < ids.length; i += IN_MAX) chunks.push(ids.slice(i, i + IN_MAX));
    const read = new Map<string, UserRecord>();
    await mapLimit(chunks, 4, async (chunk) => {
      const rs = await this.db.execute('read', BY_IDS, [chunk.map(toId)], { idempotent: true });
      for (const row of rs.rows) {
        if (row.get(USERS.present) === null) continue;
        const user = USERS.toRecord(row);
        read.set(user.id, user);
      }
    });
    return ids.map((id) => read.get(fromId(toId(id))) ?? null);
  }

  async listBots(ownerId: string): Promise<UserRecord[]> {
    const rs = await this.db.execute('read', BOTS_OF, [toId(ownerId)], { idempotent: true });
    return rs.rows
      .filter((row) => row.get(USERS.present) !== null)
      .map((row) => USERS.toRecord(row))
      .sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
  }

  async findByLogin(usernameOrEmail: string): Promise<UserRecord | null> {
    const key = usernameOrEmail.toLowerCase();
    const lookups = key.includes('@') ? [BY_EMAIL, BY_USERNAME] : [BY_USERNAME, BY_EMAIL];
    for (const query of lookups) {
      const row = (await this.db.execute('read', query, [key], { idempotent: true })).first();
      if (row) return this.findById(fromId(row.get('user_id')));
    }
    return null;
  }

  async update(id: string, patch: Parameters<UserRepository['update']>[1]): Promise<void> {
    const userId = toId(id);
    const moved: { claim: Claim; from: string; to: string }[] = [];
    if (patch.username !== undefined || patch.email !== undefined) {
      const current = await this.findById(id);
      if (!current) return;
      if (patch.username !== undefined && patch.username.toLowerCase() !== current.username.toLowerCase())
        moved.push({
          claim: 'username',
          from: current.username.toLowerCase(),
          to: patch.username.toLowerCase(),
        });
      if (patch.email !== undefined && patch.email.toLowerCase() !== current.email)
        moved.push({ claim: 'email', from: current.email, to: patch.email.toLowerCase() });
    }
    const taken: typeof moved = [];
    try {
      for (const move of moved) {
        await this.claim(move.claim, move.to, userId);
        taken.push(move);
      }
    } catch (err) {
      for (const move of taken) await this.release(move.claim, move.to, userId);
      throw err;
    }

    // Only the patched columns; null clears a value (a deliberate delete of that cell).
    const sets: string[] = [];
    const params: unknown[] = [];
    const set = (column: string, value: unknown) => {
      sets.push(`${column} = ?`);
      params.push(value);
    };
    if (patch.username !== undefined) set('username', patch.username);
    if (patch.email !== undefined) set('email', patch.email.toLowerCase());
    if (patch.displayName !== undefined) set('display_name', patch.displayName);
    if (patch.avatar !== undefined) set('avatar', patch.avatar);
    if (patch.passwordHash !== undefined) set('password_hash', patch.passwordHash);
    if (patch.appFlags !== undefined) set('app_flags', patch.appFlags);
    if (patch.emailVerified !== undefined) set('email_verified', patch.emailVerified);
    if (sets.length > 0) {
      await this.db.execute(
        'write',
        `UPDATE users SET ${sets.join(', ')} WHERE id = ?`,
        [...params, userId],
        {
          idempotent: true,
        },
      );
      this.authors.forget(id);
    }
    for (const move of moved) await this.release(move.claim, move.from, userId);
  }

  async setMfa(
    id: string,
    expected: string | null,
    secret: string | null,
    backupCodes: string[],
  ): Promise<boolean> {
    const rs = await this.db.execute(
      'lwt',
      USERS.setMfa,
      [secret, backupCodes.length > 0 ? backupCodes : null, toId(id), expected],
      { idempotent: false },
    );
    this.authors.forget(id);
    return rs.wasApplied();
  }

  async replaceBackupCodes(id: string, expected: string[], next: string[]): Promise<boolean> {
    const rs = await this.db.execute(
      'lwt',
      USERS.replaceBackupCodes,
      [next.length > 0 ? next : null, toId(id), expected.length > 0 ? expected : null],
      { idempotent: false },
    );
    this.authors.forget(id);
    return rs.wasApplied();
  }

  private async claim(claim: Claim, key: string, userId: bigint): Promise<void> {
    const rs = await this.db.execute('claim', USERS.claims[claim].take, [key, userId], { idempotent: false });
    if (rs.wasApplied()) return;
    // Our own claim (a retried create) is not a conflict.
    const holder = rs.first()?.get('user_id') as bigint | undefined;
    if (holder === userId) return;
    if (holder !== undefined && (await this.orphaned(claim, key, holder))) {
      const taken = await this.db.execute('claim', USERS.claims[claim].reclaim, [userId, key, holder], {
        idempotent: false,
      });
      if (taken.wasApplied()) return;
    }
    throw new UniqueViolation(claim);
  }

  /**
   * A claim is orphaned when its holder crashed between taking it and writing the user row (or moved to another
   * name and never gave it back): no replica anywhere has a user of that id with that name. Only claims older
   * than ORPHAN_AFTER_MS count (a registration may be between the two steps), and the user row is read at ALL,
   * so a data centre that has not yet received a new user's row never hands its name to someone else (with a
   * replica down, nothing is reclaimed).
   */
  private async orphaned(claim: Claim, key: string, holder: bigint): Promise<boolean> {
    const spec = USERS.claims[claim];
    const since = (await this.db.execute('claimRead', spec.since, [key], { idempotent: true })).first();
    const at = since?.get('at') as bigint | null | undefined;
    if (at === undefined || at === null || Date.now() - Number(at / 1000n) < ORPHAN_AFTER_MS) return false;
    const row = (await this.db.execute('readAll', BY_ID, [holder], { idempotent: true })).first();
    if (!row || row.get(USERS.present) === null) return true;
    const held = row.get(spec.field) as string | null;
    return held === null || held.toLowerCase() !== key;
  }

  private async release(claim: Claim, key: string, userId: bigint): Promise<void> {
    await this.db.execute('claim', USERS.claims[claim].give, [key, userId], { idempotent: false });
  }
}
