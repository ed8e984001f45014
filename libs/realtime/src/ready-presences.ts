import { Inject, Injectable } from '@nestjs/common';
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { PRESENCE_STORE, type PresenceStore, type VisibleStatus } from '@parley/state';
import { STORAGE, type Storage } from '@parley/storage';

/** One guild-mate's presence in READY: PRESENCE_UPDATE's `{user: {id}, status}`, plus `user_id`. */
export interface ReadyPresence {
  user: { id: string };
  user_id: string;
  status: Exclude<VisibleStatus, 'offline'>;
}

/** Guild member pages read at once: enough to overlap reads, few enough not to flood the database. */
const PAGE_CONCURRENCY = 8;
/** A guild's member count is read at most this often per node to tell whether it is large. */
const COUNT_TTL_MS = 30_000;

/**
 * The presences a new session starts from: guild-mates who are not offline (invisible ones look offline),
 * each user once whatever the number of shared guilds. Bounded by `gateway.ready_presence_limit` members
 * looked up per READY, shared evenly between the user's guilds (any of each guild's members, all of a small
 * guild's): one member read per guild and one batched presence read, never a query per member.
 */
@Injectable()
export class ReadyPresences {
  /** Guild id -> member count (a promise, so concurrent lookups share one read and resolve in call order). */
  private readonly counts = new Map<string, { at: number; count: Promise<number> }>();

  constructor(
    @Inject(PARLEY_CONFIG) private readonly config: ParleyConfig,
    @Inject(STORAGE) private readonly storage: Storage,
    @Inject(PRESENCE_STORE) private readonly presence: PresenceStore,
  ) {}

  async of(userId: string, guildIds: readonly string[]): Promise<ReadyPresence[]> {
    const limit = this.config.gateway.ready_presence_limit;
    if (limit === 0 || guildIds.length === 0) return [];
    const perGuild = Math.max(1, Math.floor(limit / guildIds.length));
    const mates = new Set<string>();
    for (let i = 0; i < guildIds.length && mates.size < limit; i += PAGE_CONCURRENCY) {
      const pages = await Promise.all(
        guildIds.slice(i, i + PAGE_CONCURRENCY).map((id) => this.storage.members.sample(id, perGuild)),
      );
      for (const page of pages) for (const member of page) mates.add(member.userId);
    }
    mates.delete(userId);
    if (mates.size === 0) return [];
    const statuses = await this.presence.visible([...mates].slice(0, limit));
    const out: ReadyPresence[] = [];
    for (const [id, status] of statuses)
      if (status !== 'offline') out.push({ user: { id }, user_id: id, status });
    return out;
  }

  /**
   * The guilds among `guildIds` with more members than `gateway.presence_large_threshold` (none when it is 0):
   * their members are not told when a guild-mate connects or disconnects (O(n^2) dispatches as a large guild
   * comes online), only when one chooses a status. One member count per guild per COUNT_TTL_MS on this node (the
   * count is one maintained row per guild). A failed count counts as large, and is not cached: treating the
   * largest guild as small is what would flood the gateways, withholding a status for one connect is not.
   */
  async large(guildIds: readonly string[], now = Date.now()): Promise<Set<string>> {
    const threshold = this.config.gateway.presence_large_threshold;
    const out = new Set<string>();
    if (threshold === 0 || guildIds.length === 0) return out;
    const counts = guildIds.map((id) => {
      let cached = this.counts.get(id);
      if (!cached || now - cached.at >= COUNT_TTL_MS) {
        if (this.counts.size >= 10_000) this.counts.clear();
        const entry = {
          at: now,
          count: this.storage.members.count(id).catch(() => {
            if (this.counts.get(id) === entry) this.counts.delete(id);
            return Number.POSITIVE_INFINITY;
          }),
        };
        cached = entry;
        this.counts.set(id, cached);
      }
      return cached.count;
    });
    const resolved = await Promise.all(counts);
    guildIds.forEach((id, i) => {
      if (resolved[i] > threshold) out.add(id);
    });
    return out;
  }
}
