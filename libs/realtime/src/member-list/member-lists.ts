import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { type DomainEvent, EVENT_BUS, type EventBus } from '@parley/bus';
import { UserDirectory, toMember } from '@parley/chat';
import { type MemberDto, parsePermissions } from '@parley/common';
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { AppLogger } from '@parley/observability';
import { PRESENCE_STORE, type PresenceStore, type VisibleStatus } from '@parley/state';
import { STORAGE, type Storage } from '@parley/storage';
import { z } from 'zod';
import { GatewayMetrics } from '../gateway.metrics';
import { InterestRouter } from '../interest-router';
import { serialise } from '../protocol';
import type { Session } from '../session';
import { type AnyOverwrite, GuildRoster } from './guild-roster';
import type { ListOp, ListRange, MemberList } from './member-list';

/** Discord's bounds: ranges of at most 100 rows, at most 5 of them, for one channel of a guild at a time. */
export const MAX_RANGES = 5;
export const RANGE_SIZE = 100;
/** Events that may take a channel away from a subscriber (its view was recomputed by the router before). */
const ACCESS_EVENTS = new Set([
  'GUILD_MEMBER_UPDATE',
  'GUILD_ROLE_UPDATE',
  'GUILD_ROLE_DELETE',
  'GUILD_UPDATE',
]);
/** Members read per storage page while a roster is built. */
const PAGE = 1000;
/**
 * How long a roster collects changes before sending them: a burst of presence changes in a big guild is one
 * GUILD_MEMBER_LIST_UPDATE per subscriber, with one UPDATE per group header, instead of one per change. Short
 * enough to be invisible; SYNCs of a new subscription are not held.
 */
export const FLUSH_WINDOW_MS = 25;

const snowflake = z.string().regex(/^\d{1,20}$/);
const rangeSchema = z
  .tuple([z.number().int().min(0), z.number().int().min(0)])
  .refine(([a, b]) => b >= a && b - a < RANGE_SIZE, {
    message: `a range is [start, end], at most ${RANGE_SIZE} rows`,
  });

/** Discord's op 14 (guild subscriptions, "lazy request"); also the socket.io `GUILD_SUBSCRIPTIONS` command. */
export const guildSubscriptionSchema = z.object({
  guild_id: snowflake,
  channels: z
    .record(snowflake, z.array(rangeSchema).max(MAX_RANGES))
    .refine((c) => Object.keys(c).length <= 1, { message: 'one channel per guild' })
    .optional(),
  typing: z.boolean().optional(),
  activities: z.boolean().optional(),
  threads: z.boolean().optional(),
  members: z.array(snowflake).max(100).optional(),
});
export type GuildSubscription = z.infer<typeof guildSubscriptionSchema>;

/** A session's subscriptions, as a handover carries them: guild id -> channel id -> ranges. */
export type MemberListSubscriptions = Record<string, Record<string, ListRange[]>>;

/**
 * Member lists (Discord's lazy guilds) on one gateway node: a session subscribes to rows of one channel's member
 * list and gets `GUILD_MEMBER_LIST_UPDATE` with a SYNC of them, then the INSERT/UPDATE/DELETE ops that touch
 * them. Each guild with subscribers here has a roster (`GuildRoster`) built from storage in pages on the first
 * subscription and kept from the guild's events, in the guild's routing lane (so in order with everything else
 * the guild's sessions get); it is dropped when the last subscriber leaves. Presence changes in large guilds,
 * which are not announced on the guild's scope, come on the `members:<guild>` scope, which only nodes holding a
 * roster subscribe to. Ops are sent per flush window (FLUSH_WINDOW_MS); a member's profile change comes from the
 * invalidation stream; a session handed over to another node takes its subscriptions along (`subscriptions`,
 * `restore`).
 */
@Injectable()
export class MemberLists implements OnModuleDestroy {
  private readonly rosters = new Map<string, GuildRoster<Session>>();
  /** Session -> guild ids it subscribes to lists of. */
  private readonly bySession = new Map<Session, Set<string>>();
  /** Rosters with changes waiting for the end of their flush window. */
  private readonly due = new Set<GuildRoster<Session>>();
  private flushTimer: NodeJS.Timeout | null = null;
  /** Users whose profile is being read for the rosters; true: changed again meanwhile, read once more. */
  private readonly userReads = new Map<string, boolean>();
  private readonly stopInvalidations: () => void;

  constructor(
    @Inject(PARLEY_CONFIG) private readonly config: ParleyConfig,
    @Inject(STORAGE) private readonly storage: Storage,
    @Inject(PRESENCE_STORE) private readonly presence: PresenceStore,
    private readonly users: UserDirectory,
    private readonly router: InterestRouter,
    private readonly metrics: GatewayMetrics,
    private readonly log: AppLogger,
    @Inject(EVENT_BUS) bus: EventBus,
  ) {
    router.memberLists = {
      event: (guildId, event) => this.event(guildId, event),
      left: (session, guildId) => this.left(session, guildId),
      subscriptions: (session) => this.subscriptions(session),
      restore: (session, subscriptions) => this.restore(session, subscriptions),
    };
    // USER_UPDATE goes to the user's own scope only; every process already hears its id on the invalidation
    // stream, so a node holding a roster with that user reads the profile once (see docs/gateway.md).
    this.stopInvalidations = bus.subscribeInvalidations((event) => {
      const id = (event.data as { id?: unknown } | undefined)?.id;
      if (event.type === 'USER_UPDATE' && typeof id === 'string') this.userChanged(id);
    });
  }

  onModuleDestroy(): void {
    this.stopInvalidations();
    if (this.flushTimer) clearTimeout(this.flushTimer);
  }

  /** Rosters held (diagnostics and tests). */
  get rosterCount(): number {
    return this.rosters.size;
  }

  /**
   * Applies a validated subscription of a live session. A guild the session is not in, or a channel it may not
   * view, is ignored (as Discord does); `channels` with no channel, or none with ranges, ends the session's list
   * there, and no `channels` at all leaves it as it is. `typing` says whether the session gets TYPING_START in the
   * guild when the guild is large (InterestRouter.subscribeTyping).
   */
  subscribe(session: Session, sub: GuildSubscription): Promise<void> {
    const guildId = sub.guild_id;
    const typing =
      sub.typing === undefined ? undefined : this.router.subscribeTyping(session, guildId, sub.typing);
    if (sub.channels === undefined) return typing ?? Promise.resolve();
    return this.router.inLane(guildId, async () => {
      const entry = Object.entries(sub.channels ?? {})[0];
      if (!entry || entry[1].length === 0) return this.left(session, guildId);
      const [channelId, ranges] = entry;
      if (session.state === 'closed' || !session.guilds.get(guildId)?.has(channelId)) return;
      const channel = this.router.model(guildId)?.channel(channelId);
      if (!channel) return;
      let roster = this.rosters.get(guildId);
      if (!roster) {
        roster = await this.build(guildId);
        if (!roster || isClosed(session) || !session.guilds.get(guildId)?.has(channelId)) {
          if (roster && roster.subscribers.size === 0) this.drop(guildId);
          return;
        }
      }
      this.unsubscribe(roster, session);
      const list = roster.listFor(channel.overwrites);
      roster.subscribers.set(session, { listId: list.id, channelId });
      let guilds = this.bySession.get(session);
      if (!guilds) this.bySession.set(session, (guilds = new Set()));
      guilds.add(guildId);
      const sorted = [...ranges].sort((a, b) => a[0] - b[0]) as ListRange[];
      this.send(session, guildId, list, list.subscribe(session, sorted));
    });
  }

  /** The session's subscriptions, for the node that takes it over (small: at most 5 ranges per guild). */
  subscriptions(session: Session): MemberListSubscriptions | undefined {
    const guilds = this.bySession.get(session);
    if (!guilds) return undefined;
    const out: MemberListSubscriptions = {};
    for (const guildId of guilds) {
      const roster = this.rosters.get(guildId);
      const sub = roster?.subscribers.get(session);
      const ranges = sub && roster?.list(sub.listId)?.ranges(session);
      if (sub && ranges?.length) out[guildId] = { [sub.channelId]: ranges.map(([a, b]) => [a, b] as const) };
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }

  /**
   * A session taken over from another node subscribes again to what it had there, once it is resumed: each
   * list's SYNC follows RESUMED, as a fresh subscription's would, so the client's copy is current. A guild or
   * channel the session may no longer see is ignored, as on a subscription.
   */
  restore(session: Session, subscriptions: MemberListSubscriptions | undefined): void {
    for (const [guildId, channels] of Object.entries(subscriptions ?? {})) {
      const sub = guildSubscriptionSchema.safeParse({ guild_id: guildId, channels });
      if (!sub.success) continue;
      this.subscribe(session, sub.data).catch((err: unknown) =>
        this.log.warn({ err, guild: guildId }, 'member list: a handed-over subscription failed'),
      );
    }
  }

  // --- rosters -----------------------------------------------------------------------------

  /** Reads the guild's members in pages (storage's own paging, ascending by user id) with their presences. */
  private async build(guildId: string): Promise<GuildRoster<Session> | undefined> {
    // Held from before the reads: presence changes of a large guild queue in the lane behind this step.
    this.router.holdScope(`members:${guildId}`);
    try {
      const [guild, roles, count] = await Promise.all([
        this.storage.guilds.findById(guildId),
        this.storage.roles.list(guildId),
        this.storage.members.count(guildId),
      ]);
      if (!guild) {
        this.router.releaseScope(`members:${guildId}`);
        return undefined;
      }
      const permissions = new Map(roles.map((r) => [r.id, parsePermissions(r.permissions)]));
      const roster = new GuildRoster<Session>(guildId, guild.ownerId, permissions, this.isLarge(count));
      let after: string | undefined;
      for (;;) {
        const page = await this.storage.members.list(guildId, { limit: PAGE, after });
        if (page.length === 0) break;
        const ids = page.map((m) => m.userId);
        const [users, statuses] = await Promise.all([this.users.many(ids), this.presence.visible(ids)]);
        for (const m of page) {
          const user = users.get(m.userId);
          if (user) roster.put(toMember(m, user), statuses.get(m.userId) ?? 'offline');
        }
        if (page.length < PAGE) break;
        after = page[page.length - 1].userId;
      }
      this.rosters.set(guildId, roster);
      return roster;
    } catch (err) {
      this.router.releaseScope(`members:${guildId}`);
      throw err;
    }
  }

  private isLarge(count: number): boolean {
    const threshold = this.config.gateway.presence_large_threshold;
    return threshold > 0 && count > threshold;
  }

  private drop(guildId: string): void {
    if (!this.rosters.delete(guildId)) return;
    this.router.releaseScope(`members:${guildId}`);
  }

  private unsubscribe(roster: GuildRoster<Session>, session: Session): void {
    const current = roster.subscribers.get(session);
    if (!current) return;
    roster.subscribers.delete(session);
    roster.list(current.listId)?.unsubscribe(session);
    roster.prune();
  }

  /** The session left the guild (or ended: guildId null), or unsubscribed. */
  private left(session: Session, guildId: string | null): void {
    const guilds = this.bySession.get(session);
    if (!guilds) return;
    for (const id of guildId === null ? [...guilds] : [guildId]) {
      if (!guilds.delete(id)) continue;
      const roster = this.rosters.get(id);
      if (!roster) continue;
      this.unsubscribe(roster, session);
      if (roster.subscribers.size === 0) this.drop(id);
    }
    if (guilds.size === 0) this.bySession.delete(session);
  }

  // --- events ------------------------------------------------------------------------------

  /** A guild event in the guild's lane (after the router's model applied it). */
  private event(guildId: string, event: DomainEvent): Promise<void> | void {
    const roster = this.rosters.get(guildId);
    if (!roster) return;
    const data = (event.data ?? {}) as Record<string, unknown>;
    const type: string = event.type;
    switch (type) {
      case 'PRESENCE_UPDATE': {
        if (event.scope.kind === 'user') return;
        const userId = (data.user as { id?: unknown } | undefined)?.id;
        const status = data.status;
        if (typeof userId === 'string' && isStatus(status)) roster.setStatus(userId, status);
        break;
      }
      case 'GUILD_MEMBER_ADD':
      case 'GUILD_MEMBER_UPDATE': {
        const dto = data as unknown as MemberDto;
        if (typeof dto.user?.id !== 'string' || !Array.isArray(dto.roles)) return;
        const known = roster.status(dto.user.id);
        if (known !== undefined) roster.put(dto, known);
        else
          return this.presence.visible([dto.user.id]).then(
            (statuses) => {
              roster.put(dto, statuses.get(dto.user.id) ?? 'offline');
              this.schedule(roster);
            },
            (err: unknown) => {
              this.log.warn({ err }, 'member list: presence unavailable for a new member');
              roster.put(dto, 'offline');
              this.schedule(roster);
            },
          );
        break;
      }
      case 'GUILD_MEMBER_REMOVE': {
        const userId = (data.user as { id?: unknown } | undefined)?.id;
        if (typeof userId === 'string') roster.remove(userId);
        break;
      }
      case 'GUILD_ROLE_CREATE':
      case 'GUILD_ROLE_UPDATE': {
        const role = data.role as { id?: unknown; permissions?: unknown } | undefined;
        if (typeof role?.id === 'string' && typeof role.permissions === 'string')
          roster.setRole(role.id, parsePermissions(role.permissions));
        break;
      }
      case 'GUILD_ROLE_DELETE':
        if (typeof data.role_id === 'string') roster.setRole(data.role_id, null);
        break;
      case 'GUILD_UPDATE':
        if (typeof data.owner_id === 'string') roster.setOwner(data.owner_id);
        break;
      case 'GUILD_DELETE':
        if (event.scope.kind === 'guild')
          for (const s of [...roster.subscribers.keys()]) this.left(s, guildId);
        return;
      case 'CHANNEL_UPDATE':
      case 'CHANNEL_DELETE':
        this.channelChanged(roster, data, type === 'CHANNEL_DELETE');
        break;
      default:
        return;
    }
    if (ACCESS_EVENTS.has(type)) this.recheck(roster);
    this.schedule(roster);
  }

  /**
   * A user's profile changed: each roster here holding the user shows the new one (an UPDATE in place, or a move
   * when the display name orders it elsewhere). One read per change, only on nodes with such a roster; a second
   * change during the read reads again, so the last profile wins.
   */
  private userChanged(userId: string): void {
    if (this.userReads.has(userId)) {
      this.userReads.set(userId, true);
      return;
    }
    if (![...this.rosters.values()].some((r) => r.has(userId))) return;
    this.userReads.set(userId, false);
    void this.users
      .one(userId)
      .then(
        (user) => {
          if (!user) return;
          for (const [guildId, roster] of this.rosters)
            if (roster.has(userId))
              this.router
                .inLane(guildId, () => {
                  // The roster may have been dropped (and built again, with the new profile) meanwhile.
                  if (this.rosters.get(guildId) !== roster) return;
                  roster.setUser(user);
                  this.schedule(roster);
                })
                .catch((err: unknown) =>
                  this.log.warn({ err, guild: guildId }, 'member list: profile not applied'),
                );
        },
        (err: unknown) => this.log.warn({ err, user: userId }, 'member list: a changed profile unavailable'),
      )
      .finally(() => {
        const again = this.userReads.get(userId);
        this.userReads.delete(userId);
        if (again) this.userChanged(userId);
      });
  }

  /** After a permission change: a subscriber who may no longer view its channel stops getting its list. */
  private recheck(roster: GuildRoster<Session>): void {
    for (const [session, sub] of [...roster.subscribers])
      if (!session.guilds.get(roster.guildId)?.has(sub.channelId)) this.left(session, roster.guildId);
  }

  /** Subscribers of a channel whose audience changed move to its new list (a SYNC of their ranges). */
  private channelChanged(
    roster: GuildRoster<Session>,
    data: Record<string, unknown>,
    deleted: boolean,
  ): void {
    const channelId = data.id;
    if (typeof channelId !== 'string') return;
    const overwrites = Array.isArray(data.permission_overwrites)
      ? (data.permission_overwrites as AnyOverwrite[]).filter((o) => typeof o?.id === 'string')
      : [];
    for (const [session, sub] of [...roster.subscribers]) {
      if (sub.channelId !== channelId) continue;
      const old = roster.list(sub.listId);
      if (deleted || !session.guilds.get(roster.guildId)?.has(channelId)) {
        this.left(session, roster.guildId);
        continue;
      }
      const list = roster.listFor(
        overwrites.map((o) => ({ ...o, allow: o.allow ?? '0', deny: o.deny ?? '0' })),
      );
      if (list === old || !old) continue;
      const ranges = old.ranges(session);
      old.unsubscribe(session);
      roster.subscribers.set(session, { listId: list.id, channelId });
      this.send(session, roster.guildId, list, list.subscribe(session, ranges ?? []));
    }
    roster.prune();
  }

  /** One timer for every roster: flushes what each collected in the window. */
  private schedule(roster: GuildRoster<Session>): void {
    this.due.add(roster);
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      const due = [...this.due];
      this.due.clear();
      // A roster dropped meanwhile has no subscriber left.
      for (const r of due) if (this.rosters.get(r.guildId) === r) this.flush(r);
    }, FLUSH_WINDOW_MS);
    this.flushTimer.unref();
  }

  /** Sends every list's collected ops to their subscribers. */
  private flush(roster: GuildRoster<Session>): void {
    for (const list of roster.allLists())
      for (const [session, ops] of list.flush()) this.send(session, roster.guildId, list, ops);
  }

  private send(session: Session, guildId: string, list: MemberList<Session>, ops: ListOp[]): void {
    if (ops.length === 0) return;
    session.dispatch(
      'GUILD_MEMBER_LIST_UPDATE',
      serialise({
        guild_id: guildId,
        id: list.id,
        member_count: list.memberCount,
        online_count: list.onlineCount,
        groups: list.groups(),
        ops,
      }),
    );
    this.metrics.dispatches.inc({ type: 'GUILD_MEMBER_LIST_UPDATE' });
  }
}

/** Read after an await: the session may have ended meanwhile. */
function isClosed(session: Session): boolean {
  return session.state === 'closed';
}

function isStatus(v: unknown): v is VisibleStatus {
  return v === 'online' || v === 'idle' || v === 'dnd' || v === 'offline';
}
