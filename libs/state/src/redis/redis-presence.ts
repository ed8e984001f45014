import type { Redis } from 'ioredis';
import {
  type PresenceChange,
  type PresenceStatus,
  type PresenceStore,
  type VisibleStatus,
  visibleStatus,
} from '../presence';

/** A session entry lives this long unless its node renews it: a crashed node's users go offline by themselves. */
const SESSION_TTL_MS = 60_000;
const RENEW_EVERY_MS = 20_000;
/**
 * Presence reads (READY's guild-mates, two commands per user) in flight at once per process, and users per
 * pipeline: a crowd of READYs waits its turn instead of holding thousands of pending commands each.
 */
const MAX_CONCURRENT_READS = 4;
const READ_CHUNK = 500;

// KEYS[1] = sessions (zset: session id -> expiry, ms), KEYS[2] = chosen status, KEYS[3] = every session of
// the deployment (zset: "<user id>|<session id>" -> expiry, ms; what the sweeper reads).
// ARGV[1] = op (connect | disconnect | status), ARGV[2] = session id or status, ARGV[3] = ttl, ARGV[4] = user id.
// Returns {status before, status after}, 'offline' when no live session.
const CHANGE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function current()
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  if redis.call('ZCARD', KEYS[1]) == 0 then return 'offline' end
  return redis.call('GET', KEYS[2]) or 'online'
end
local before = current()
local op = ARGV[1]
if op == 'connect' then
  if before == 'offline' then redis.call('SET', KEYS[2], 'online') end
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
  redis.call('ZADD', KEYS[3], now + tonumber(ARGV[3]), ARGV[4] .. '|' .. ARGV[2])
elseif op == 'disconnect' then
  redis.call('ZREM', KEYS[1], ARGV[2])
  redis.call('ZREM', KEYS[3], ARGV[4] .. '|' .. ARGV[2])
elseif op == 'status' then
  if before ~= 'offline' then redis.call('SET', KEYS[2], ARGV[2]) end
end
local after = current()
if after == 'offline' then
  redis.call('DEL', KEYS[2])
else
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 2)
  redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[3]) * 2)
end
return {before, after}
`;
/** Defined once per client (EVAL on first use per connection, EVALSHA after). */
const CHANGE_COMMAND = 'parleyPresenceChange';

type ChangeCommand = (
  sessions: string,
  status: string,
  all: string,
  op: string,
  arg: string,
  ttl: number,
  userId: string,
) => Promise<[PresenceStatus | 'offline', PresenceStatus | 'offline']>;

/**
 * Presence shared by every gateway node: per user, a sorted set of live sessions (each expiring unless its
 * node renews it) and the status the user chose. Every change is one atomic script, so two nodes changing
 * the same user at once still report each visible transition exactly once.
 */
export class RedisPresenceStore implements PresenceStore {
  /** Sessions of this node, renewed periodically. */
  private readonly local = new Map<string, string>();
  private readonly timer: NodeJS.Timeout;
  private reading = 0;
  private readonly readers: Array<() => void> = [];

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** How long a session entry lives unless renewed (a third of it between renewals); tests shorten it. */
    private readonly ttlMs = SESSION_TTL_MS,
  ) {
    if (!(CHANGE_COMMAND in redis)) redis.defineCommand(CHANGE_COMMAND, { numberOfKeys: 3, lua: CHANGE });
    this.timer = setInterval(() => void this.renew(), Math.min(RENEW_EVERY_MS, Math.floor(ttlMs / 3)));
    this.timer.unref();
    // Back after an outage (a restarted Redis may have lost everything): this node's sessions count again at once.
    redis.on('ready', this.onReady);
  }

  connect(userId: string, sessionId: string): Promise<PresenceChange> {
    this.local.set(sessionId, userId);
    return this.change(userId, 'connect', sessionId);
  }

  disconnect(userId: string, sessionId: string): Promise<PresenceChange> {
    this.local.delete(sessionId);
    return this.change(userId, 'disconnect', sessionId);
  }

  setStatus(userId: string, status: PresenceStatus): Promise<PresenceChange> {
    return this.change(userId, 'status', status);
  }

  /** Another node took the session over: stop renewing it here without ending it. */
  forget(sessionId: string): void {
    this.local.delete(sessionId);
  }

  async visible(userIds: readonly string[]): Promise<Map<string, VisibleStatus>> {
    const out = new Map<string, VisibleStatus>();
    for (let i = 0; i < userIds.length; i += READ_CHUNK) {
      const chunk = userIds.slice(i, i + READ_CHUNK);
      await this.readTurn();
      try {
        await this.readChunk(chunk, out);
      } finally {
        this.readDone();
      }
    }
    return out;
  }

  async connected(userIds: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    const now = Date.now();
    for (let i = 0; i < userIds.length; i += READ_CHUNK) {
      const chunk = userIds.slice(i, i + READ_CHUNK);
      const pipeline = this.redis.pipeline();
      for (const id of chunk) pipeline.zcount(this.sessionsKey(id), `(${now}`, '+inf');
      const results = (await pipeline.exec()) ?? [];
      chunk.forEach((id, j) => {
        const [err, count] = results[j] ?? [null, 0];
        if (err) throw err;
        if (Number(count) > 0) out.add(id);
      });
    }
    return out;
  }

  close(): void {
    clearInterval(this.timer);
    this.redis.off('ready', this.onReady);
  }

  /**
   * Ends sessions whose node stopped renewing them (it crashed): each is claimed by removing it from the
   * deployment-wide index (exactly one sweeper wins it), then disconnected like any other session. Returns the
   * changes whose users went offline, for the caller to announce. At most `limit` per call.
   */
  async sweep(limit = 500): Promise<PresenceChange[]> {
    const all = this.allKey();
    const expired = await this.redis.zrangebyscore(all, '-inf', Date.now(), 'LIMIT', 0, limit);
    const offline = new Map<string, PresenceChange>();
    for (const member of expired) {
      if ((await this.redis.zrem(all, member)) !== 1) continue; // another node swept it
      const bar = member.indexOf('|');
      if (bar < 1) continue;
      const userId = member.slice(0, bar);
      const change = await this.change(userId, 'disconnect', member.slice(bar + 1));
      // The expired entry already counts as gone when read, so `before` says offline too: what matters is
      // that no live session is left. Guild-mates last saw the user present (or invisible, shown offline).
      if (change.after === 'offline') offline.set(userId, { ...change, before: 'online' });
    }
    return [...offline.values()];
  }

  private async readChunk(userIds: readonly string[], out: Map<string, VisibleStatus>): Promise<void> {
    const now = Date.now();
    const pipeline = this.redis.pipeline();
    for (const id of userIds) {
      pipeline.zcount(this.sessionsKey(id), `(${now}`, '+inf');
      pipeline.get(this.statusKey(id));
    }
    const results = (await pipeline.exec()) ?? [];
    userIds.forEach((id, i) => {
      const [countErr, count] = results[i * 2] ?? [null, 0];
      const [statusErr, status] = results[i * 2 + 1] ?? [null, null];
      if (countErr || statusErr) throw (countErr ?? statusErr) as Error;
      const own = Number(count) > 0 ? ((status as PresenceStatus | null) ?? 'online') : 'offline';
      out.set(id, visibleStatus(own));
    });
  }

  private readTurn(): Promise<void> {
    if (this.reading < MAX_CONCURRENT_READS) {
      this.reading++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.readers.push(resolve));
  }

  private readDone(): void {
    const next = this.readers.shift();
    if (next) next();
    else this.reading--;
  }

  private async change(userId: string, op: string, arg: string): Promise<PresenceChange> {
    const change = (this.redis as unknown as Record<string, ChangeCommand>)[CHANGE_COMMAND];
    const [before, after] = await change.call(
      this.redis,
      this.sessionsKey(userId),
      this.statusKey(userId),
      this.allKey(),
      op,
      arg,
      this.ttlMs,
      userId,
    );
    return { userId, status: after, before: visibleStatus(before), after: visibleStatus(after) };
  }

  private async renew(): Promise<void> {
    if (this.local.size === 0) return;
    const expiry = Date.now() + this.ttlMs;
    const pipeline = this.redis.pipeline();
    // Plain ZADD, not XX: after a Redis restart this puts the node's sessions back.
    for (const [sessionId, userId] of this.local) {
      pipeline.zadd(this.sessionsKey(userId), expiry, sessionId);
      pipeline.zadd(this.allKey(), expiry, `${userId}|${sessionId}`);
      pipeline.pexpire(this.sessionsKey(userId), this.ttlMs * 2);
      pipeline.pexpire(this.statusKey(userId), this.ttlMs * 2);
    }
    await pipeline.exec().catch(() => undefined); // Redis down: the next round renews
  }

  private readonly onReady = () => void this.renew();

  private allKey(): string {
    return `${this.prefix}pr:all`;
  }

  private sessionsKey(userId: string): string {
    return `${this.prefix}pr:s:${userId}`;
  }

  private statusKey(userId: string): string {
    return `${this.prefix}pr:st:${userId}`;
  }
}
