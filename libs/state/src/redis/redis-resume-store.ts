import type { ChainableCommander, Redis } from 'ioredis';
import type { ReplayResult, ResumeEntry, ResumeOwner, ResumeStore } from '../resume-buffer';

/** An attached session's buffer outlives a crashed node by this much at most. */
const ATTACHED_TTL_MS = 3_600_000;
/** Capacity assumed for a session this node did not open (adopted from another node) until one is opened here. */
const DEFAULT_CAPACITY = 5_000;
/** Append pipelines on the wire at once; further appends coalesce per session until one completes. */
const MAX_IN_FLIGHT = 2;

// KEYS[1] = meta hash, KEYS[2] = entry list.
// ARGV[1] = sequence number the batch follows from (the first one it covers, including entries dropped before
// sending because more than the capacity piled up), ARGV[2] = attached ttl, ARGV[3] = the batch's last sequence
// number, ARGV[4..] = entries' JSON, in order.
// A batch that does not follow the last sequence number means a write was lost: the buffer is marked broken.
const APPEND = `
local last = redis.call('HGET', KEYS[1], 'last')
if not last then return 0 end
if tonumber(last) + 1 ~= tonumber(ARGV[1]) then redis.call('HSET', KEYS[1], 'broken', '1') end
local n = #ARGV
for i = 4, n, 1000 do
  redis.call('RPUSH', KEYS[2], unpack(ARGV, i, math.min(i + 999, n)))
end
redis.call('LTRIM', KEYS[2], -tonumber(redis.call('HGET', KEYS[1], 'cap')), -1)
redis.call('HSET', KEYS[1], 'last', ARGV[3])
if redis.call('HGET', KEYS[1], 'det') == '1' then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
else
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
return 1
`;
/** Defined once per client (EVAL on first use per connection, EVALSHA after). */
const APPEND_COMMAND = 'parleyResumeAppend';

type AppendCommand = (
  meta: string,
  list: string,
  from: number,
  ttl: number,
  last: number,
  ...entries: string[]
) => ChainableCommander;

export interface SessionLocation {
  node: string;
  userId: string;
  tokenHash: string;
  detached: boolean;
}

/** Entries of one session not yet sent to Redis: `from` is the first sequence number they cover. */
interface Pending {
  from: number;
  entries: ResumeEntry[];
}

/**
 * Resume buffers in Redis, so a client can resume on any gateway node: per session a hash (owner, capacity,
 * last sequence number, the node that holds it, detached or not) and a capped list of entries.
 *
 * Appends are fire-and-forget and batched: what sessions receive during one turn of the event loop is sent as
 * one pipeline with one EVALSHA per session (all its new entries at once), whatever the number of events. While
 * MAX_IN_FLIGHT pipelines are unanswered, new entries wait and coalesce per session instead of queueing
 * commands; a session's waiting entries are capped at its capacity (older ones would be trimmed from the list
 * anyway), so memory stays bounded by sessions x capacity under any burst, the bound the monolith keeps in memory.
 * Every write of a session goes out in order on one connection (its waiting appends are sent before anything
 * else about it). A write that failed leaves a gap the next write detects (or, at the tail, a last sequence
 * number lower than the node's), and a gap makes the replay fail, so a client gets INVALID_SESSION rather than a
 * silent hole.
 */
export class RedisResumeStore implements ResumeStore {
  /** Sessions of this node whose buffer missed a write while Redis was unreachable. */
  private readonly lost = new Set<string>();
  private readonly pending = new Map<string, Pending>();
  private readonly capacities = new Map<string, number>();
  private defaultCapacity = DEFAULT_CAPACITY;
  private inFlight = 0;
  private scheduled: NodeJS.Immediate | null = null;
  /** Counters for tests and diagnostics. */
  readonly stats = { pipelines: 0, commands: 0, entries: 0, dropped: 0 };

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** This gateway node's address for session handover. */
    readonly node: string,
  ) {
    if (!(APPEND_COMMAND in redis)) redis.defineCommand(APPEND_COMMAND, { numberOfKeys: 2, lua: APPEND });
  }

  open(sessionId: string, owner: ResumeOwner, capacity: number): void {
    const [meta, list] = this.keys(sessionId);
    const cap = Math.max(1, capacity);
    this.lost.delete(sessionId);
    this.pending.delete(sessionId);
    this.capacities.set(sessionId, cap);
    this.defaultCapacity = cap;
    this.redis
      .multi()
      .del(meta, list)
      .hset(meta, { user: owner.userId, tok: owner.tokenHash, cap, last: 0, node: this.node, det: 0 })
      .pexpire(meta, ATTACHED_TTL_MS)
      .exec()
      .catch(() => this.lost.add(sessionId));
  }

  append(sessionId: string, entry: ResumeEntry): void {
    let p = this.pending.get(sessionId);
    if (!p) this.pending.set(sessionId, (p = { from: entry.s, entries: [] }));
    p.entries.push(entry);
    const cap = this.capacities.get(sessionId) ?? this.defaultCapacity;
    // Older entries would be trimmed from the list by this batch anyway; `from` still says where it follows on.
    if (p.entries.length > cap * 2) {
      this.stats.dropped += p.entries.length - cap;
      p.entries = p.entries.slice(-cap);
    }
    this.schedule();
  }

  detach(sessionId: string, ttlMs: number): void {
    const [meta, list] = this.keys(sessionId);
    this.sendNow(sessionId);
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
    this.sendNow(sessionId);
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
    this.sendNow(sessionId); // what this node numbered is in the list before it is read
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
    this.pending.delete(sessionId);
    this.capacities.delete(sessionId);
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
    this.send([...this.pending.keys()]);
    await this.redis.ping();
  }

  /** Entries waiting to be sent (for tests and diagnostics). */
  get waiting(): number {
    let n = 0;
    for (const p of this.pending.values()) n += p.entries.length;
    return n;
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= MAX_IN_FLIGHT) return;
    this.scheduled = setImmediate(() => {
      this.scheduled = null;
      if (this.inFlight < MAX_IN_FLIGHT) this.send([...this.pending.keys()], true);
    });
  }

  /** Sends one session's waiting entries ahead of another write about it (order per session is kept). */
  private sendNow(sessionId: string): void {
    if (this.pending.has(sessionId)) this.send([sessionId]);
  }

  /** One pipeline, one EVALSHA per session; `paced` ones count against MAX_IN_FLIGHT. */
  private send(sessionIds: string[], paced = false): void {
    if (sessionIds.length === 0) return;
    const batch: Array<[string, Pending]> = [];
    for (const id of sessionIds) {
      const p = this.pending.get(id);
      if (!p) continue;
      this.pending.delete(id);
      batch.push([id, p]);
    }
    if (batch.length === 0) return;
    if (this.redis.status !== 'ready') {
      // Unreachable: nothing is queued; these sessions' buffers have a gap.
      for (const [id] of batch) this.lost.add(id);
      return;
    }
    const pipeline = this.redis.pipeline();
    const append = (pipeline as unknown as Record<string, AppendCommand>)[APPEND_COMMAND].bind(pipeline);
    for (const [id, p] of batch) {
      const [meta, list] = this.keys(id);
      const cap = this.capacities.get(id) ?? this.defaultCapacity;
      const entries = p.entries.length > cap ? p.entries.slice(-cap) : p.entries;
      const last = entries[entries.length - 1].s;
      append(meta, list, p.from, ATTACHED_TTL_MS, last, ...entries.map((e) => JSON.stringify(e)));
      this.stats.entries += entries.length;
    }
    this.stats.pipelines++;
    this.stats.commands += batch.length;
    if (paced) this.inFlight++;
    pipeline.exec().then(
      (results) => {
        results?.forEach(([err], i) => {
          if (err) this.lost.add(batch[i][0]);
        });
        this.settled(paced);
      },
      () => {
        for (const [id] of batch) this.lost.add(id);
        this.settled(paced);
      },
    );
  }

  private settled(paced: boolean): void {
    if (paced) this.inFlight--;
    if (this.pending.size > 0) this.schedule();
  }

  private keys(sessionId: string): [string, string] {
    const meta = `${this.prefix}rs:{${sessionId}}`;
    return [meta, `${meta}:e`];
  }
}
