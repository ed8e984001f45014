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

/**
 * The presences a new session starts from: guild-mates who are not offline (invisible ones look offline),
 * each user once whatever the number of shared guilds. Bounded by `gateway.ready_presence_limit` members
 * looked up per READY, shared evenly between the user's guilds (each guild's first members by user id):
 * one member page per guild and one batched presence read, never a query per member.
 */
@Injectable()
export class ReadyPresences {
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
        guildIds
          .slice(i, i + PAGE_CONCURRENCY)
          .map((id) => this.storage.members.list(id, { limit: perGuild })),
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
}
