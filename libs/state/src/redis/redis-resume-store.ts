import type { Redis } from 'ioredis';
import type { ReplayResult, ResumeEntry, ResumeOwner, ResumeStore } from '../resume-buffer';

/** An attached session's buffer outlives a crashed node by this much at most. */
const ATTACHED_TTL_MS = 3_600_000;

// KEYS[1] = meta hash, KEYS[2] = entry list; ARGV[1] = seq, ARGV[2] = entry JSON, ARGV[3] = attached ttl.
// A sequence number that does not follow the last one means a write was lost: the buffer is marked broken.
const APPEND = `
local last = redis.call('HGET', KEYS[1], 'last')
if not last then return 0 end
if tonumber(last) + 1 ~= tonumber(ARGV[1]) then redis.call('HSET', KEYS[1], 'broken', '1') end
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('LTRIM', KEYS[2], -tonumber(redis.call('HGET', KEYS[1], 'cap')), -1)
redis.call('HSET', KEYS[1], 'last', ARGV[1])
if redis.call('HGET', KEYS[1], 'det') == '1' then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
else
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
end
return 1
`;

export interface SessionLocation {
  node: string;
  userId: string;
  tokenHash: string;
  detached: boolean;
}

/**
 * Resume buffers in Redis, so a client can resume on any gateway node: per session a hash (owner, capacity,
 * last sequence number, the node that holds it, detached or not) and a capped list of entries. Writes are
 * fire-and-forget and pipelined in order on one connection; a write that failed leaves a gap the next write
 * detects (or, at the tail, a last sequence number lower than the node's), and a gap makes the replay fail,
 * so a client gets INVALID_SESSION rather than a silent hole.
 */
export class RedisResumeStore implements ResumeStore {
  /** Sessions of this node whose buffer missed a write while Redis was unreachable. */
  private readonly lost = new Set<string>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** This gateway node's address for session handover. */
    readonly node: string,
  ) {}

  open(sessionId: string, owner: ResumeOwner, capacity: number): void {
    const [meta, list] = this.keys(sessionId);
    this.lost.delete(sessionId);
    this.redis
      .multi()
      .del(meta, list)
      .hset(meta, {
        user: owner.userId,
        tok: owner.tokenHash,
        cap: Math.max(1, capacity),
        last: 0,
        node: this.node,
        det: 0,
      })
      .pexpire(meta, ATTACHED_TTL_MS)
      .exec()
      .catch(() => this.lost.add(sessionId));
  }

  append(sessionId: string, entry: ResumeEntry): void {
    const [meta, list] = this.keys(sessionId);
    this.redis
      .eval(APPEND, 2, meta, list, entry.s, JSON.stringify(entry), ATTACHED_TTL_MS)
      .catch(() => this.lost.add(sessionId));
  }

  detach(sessionId: string, ttlMs: number): void {
    const [meta, list] = this.keys(sessionId);
    this.redis
      .multi()
      .hset(meta, 'det', 1)
      .pexpire(meta, ttlMs)
      .pexpire(list, ttlMs)
      .exec()
      .catch(() => this.lost.add(sessionId));
  }

  attach(sessionId: string): void {
    const [meta, list] = this.keys(sessionId);
    this.redis
      .multi()
      .hset(meta, { det: 0, node: this.node })
      .pexpire(meta, ATTACHED_TTL_MS)
      .pexpire(list, ATTACHED_TTL_MS)
      .exec()
      .catch(() => this.lost.add(sessionId));
  }

  async replay(sessionId: string, tokenHash: string, afterSeq: number): Promise<ReplayResult> {
    const [meta, list] = this.keys(sessionId);
    const results = await this.redis.multi().hgetall(meta).lrange(list, 0, -1).exec();
    if (!results) return { ok: false, reason: 'unknown' };
    const [[metaErr, fields], [listErr, raw]] = results as [
      [Error | null, Record<string, string>],
      [Error | null, string[]],
    ];
    if (metaErr || listErr) throw (metaErr ?? listErr) as Error;
    if (!fields || fields.user === undefined) return { ok: false, reason: 'unknown' };
    if (fields.tok !== tokenHash) return { ok: false, reason: 'token_mismatch' };
    const last = Number(fields.last);
    if (!Number.isInteger(afterSeq) || afterSeq < 0 || afterSeq > last)
      return { ok: false, reason: 'bad_seq' };
    // A missed write is a gap: refuse like an overflow rather than replay around it.
    if (fields.broken === '1' || this.lost.has(sessionId)) return { ok: false, reason: 'overflow' };
    const entries = raw.map((r) => JSON.parse(r) as ResumeEntry);
    const firstSeq = entries.length === 0 ? last + 1 : entries[0].s;
    if (afterSeq + 1 < firstSeq) return { ok: false, reason: 'overflow' };
    return {
      ok: true,
      owner: { userId: fields.user, tokenHash: fields.tok },
      entries: entries.filter((e) => e.s > afterSeq),
    };
  }

  drop(sessionId: string): void {
    this.lost.delete(sessionId);
    this.redis.del(...this.keys(sessionId)).catch(() => undefined); // expires anyway
  }

  /** Which node holds a session, for a node asked to resume a session it does not have. */
  async locate(sessionId: string): Promise<SessionLocation | null> {
    const fields = await this.redis.hgetall(this.keys(sessionId)[0]);
    if (!fields || fields.user === undefined || fields.node === undefined) return null;
    return { node: fields.node, userId: fields.user, tokenHash: fields.tok, detached: fields.det === '1' };
  }

  /** Resolves once every write issued before it has been applied (same connection, in order). */
  async flush(): Promise<void> {
    await this.redis.ping();
  }

  private keys(sessionId: string): [string, string] {
    const meta = `${this.prefix}rs:{${sessionId}}`;
    return [meta, `${meta}:e`];
  }
}
