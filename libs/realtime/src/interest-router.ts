import { setImmediate as nextTurn } from 'node:timers/promises';
import { Inject, Injectable } from '@nestjs/common';
import { toChannel } from '@parley/chat';
import { EVENT_BUS, type DomainEvent, type EventBus, type Unsubscribe, scopeKey } from '@parley/bus';
import { ChannelType } from '@parley/common';
import { activeTracing, AppLogger } from '@parley/observability';
import { TYPING_STORE, type TypingStore } from '@parley/state';
import type { ChannelRecord } from '@parley/storage';
import { z } from 'zod';
import { GatewayMetrics } from './gateway.metrics';
import { serialise } from './protocol';
import type { Session } from './session';
import { VisibilityResolver } from './visibility';

export interface RouterHooks {
  tokenRevoked(userId: string, tokenHash: string): void;
  /** Every token of the user but `exceptTokenHash` (if any) was revoked. */
  userSessionsRevoked(userId: string, exceptTokenHash: string | undefined): void;
  /** Routing could not be recomputed for these sessions: they must start over rather than see stale scopes. */
  routingFailed(sessions: Session[], err: unknown): void;
}

const userSessionsRevoked = z.object({
  user_id: z.string().min(1).max(64),
  except_token_hash: z.string().min(1).max(128).optional(),
});

type Step = { event: DomainEvent } | { run: () => Promise<void> | void };

/** Channel ids a recomputation added to or removed from a session that stayed in the guild. */
interface Diff {
  gained: string[];
  lost: string[];
}

interface Recomputed {
  diffs: Map<Session, Diff>;
  channels: Map<string, ChannelRecord>;
  lastIds: Map<string, string>;
}

const CHANNEL_EVENTS = new Set(['CHANNEL_CREATE', 'CHANNEL_UPDATE', 'CHANNEL_DELETE']);
/**
 * A scope gained through a routing change is caught up from this long before the change reached this node
 * (a transport that subscribes asynchronously may otherwise miss what was published meanwhile); it covers the
 * delivery delay and clock skew between this node and the bus.
 */
const CATCH_UP_MARGIN_MS = 2_000;
/** Events processed before the pipeline yields to I/O, so sockets drain between bursts. */
const YIELD_EVERY = 256;
const EMPTY: ReadonlySet<Session> = new Set();

function userIdOf(data: unknown): string | undefined {
  const user = (data as { user?: { id?: unknown } } | null)?.user;
  return typeof user?.id === 'string' ? user.id : undefined;
}

/**
 * Interest-based routing on one gateway node. Each local session is indexed under the scope keys it may see
 * (`user:<id>`, `guild:<id>`, `channel:<id>`); the node subscribes to a key on the bus only while some local
 * session needs it, which is exactly the interest a NATS transport mirrors as subject subscriptions.
 *
 * Every event goes through one FIFO pipeline per node. Events without routing hints are delivered at once,
 * synchronously; an event whose hint says visibility may have changed holds the pipeline while the affected
 * sessions' scopes are recomputed from storage, so nothing behind it is routed with stale permissions and
 * the order of every scope is preserved. Each event's data is serialised once, whatever the number of recipients.
 */
@Injectable()
export class InterestRouter {
  hooks: RouterHooks | null = null;
  private readonly index = new Map<string, Set<Session>>();
  private readonly subscriptions = new Map<string, Unsubscribe>();
  private readonly byUser = new Map<string, Set<Session>>();
  private steps: Step[] = [];
  private head = 0;
  private running = false;
  /** Counts routing changes made by hints; a session's initial routing read before a change is read again. */
  private epoch = 0;
  /** Set while a routing change is processed: scopes subscribed then are caught up from this time. */
  private catchUpSince: number | undefined = undefined;
  private readonly onEvent = (event: DomainEvent): void => {
    this.metrics.busEvents.inc({ type: event.type });
    this.push({ event });
  };

  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    private readonly visibility: VisibilityResolver,
    @Inject(TYPING_STORE) private readonly typing: TypingStore,
    private readonly metrics: GatewayMetrics,
    private readonly log: AppLogger,
  ) {}

  // --- sessions ----------------------------------------------------------------------------

  /** Indexes a new session under its user scope (membership changes reach it from now on). */
  register(session: Session): void {
    let set = this.byUser.get(session.userId);
    if (!set) this.byUser.set(session.userId, (set = new Set()));
    set.add(session);
    this.addKey(session, `user:${session.userId}`);
  }

  unregister(session: Session): void {
    for (const key of [...session.keys]) this.removeKey(session, key);
    session.guilds.clear();
    session.dms.clear();
    const set = this.byUser.get(session.userId);
    if (set) {
      set.delete(session);
      if (set.size === 0) this.byUser.delete(session.userId);
    }
  }

  /** Reads what the session's user may see and subscribes it, consistently with hints routed meanwhile. */
  async establish(session: Session): Promise<void> {
    const epoch = this.epoch;
    const routing = await this.visibility.user(session.userId);
    await new Promise<void>((resolve, reject) => {
      this.push({
        run: async () => {
          try {
            // A hint routed since the read may have changed this user's view: read again, in order this time.
            const current = this.epoch === epoch ? routing : await this.visibility.user(session.userId);
            if (session.state !== 'closed') {
              for (const [guildId, channels] of current.guilds) this.joinGuild(session, guildId, channels);
              for (const id of current.dms) this.addDm(session, id);
            }
            resolve();
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        },
      });
    });
  }

  sessionsOf(userId: string): ReadonlySet<Session> {
    return this.byUser.get(userId) ?? EMPTY;
  }

  *allSessions(): IterableIterator<Session> {
    for (const set of this.byUser.values()) yield* set;
  }

  get scopeCount(): number {
    return this.index.size;
  }

  // --- index -------------------------------------------------------------------------------

  private addKey(session: Session, key: string): void {
    if (session.keys.has(key)) return;
    session.keys.add(key);
    let set = this.index.get(key);
    if (!set) {
      this.index.set(key, (set = new Set()));
      const options = this.catchUpSince === undefined ? undefined : { since: this.catchUpSince };
      this.subscriptions.set(key, this.bus.subscribe(key, this.onEvent, options));
      this.metrics.scopes.set(this.index.size);
    }
    set.add(session);
  }

  private removeKey(session: Session, key: string): void {
    if (!session.keys.delete(key)) return;
    const set = this.index.get(key);
    if (!set) return;
    set.delete(session);
    if (set.size === 0) {
      this.index.delete(key);
      this.subscriptions.get(key)?.();
      this.subscriptions.delete(key);
      this.metrics.scopes.set(this.index.size);
    }
  }

  private joinGuild(session: Session, guildId: string, channels: Set<string>): void {
    const current = session.guilds.get(guildId);
    if (current) for (const id of current) if (!channels.has(id)) this.removeKey(session, `channel:${id}`);
    session.guilds.set(guildId, new Set(channels));
    this.addKey(session, `guild:${guildId}`);
    for (const id of channels) this.addKey(session, `channel:${id}`);
  }

  private dropGuild(session: Session, guildId: string): void {
    const channels = session.guilds.get(guildId);
    if (!channels) return;
    for (const id of channels) this.removeKey(session, `channel:${id}`);
    this.removeKey(session, `guild:${guildId}`);
    session.guilds.delete(guildId);
  }

  private addDm(session: Session, channelId: string): void {
    session.dms.add(channelId);
    this.addKey(session, `channel:${channelId}`);
  }

  // --- pipeline ----------------------------------------------------------------------------

  private push(step: Step): void {
    this.steps.push(step);
    if (!this.running) void this.drain();
  }

  private async drain(): Promise<void> {
    this.running = true;
    let done = 0;
    try {
      while (this.head < this.steps.length) {
        const step = this.steps[this.head];
        this.steps[this.head++] = undefined as never;
        try {
          if ('event' in step && step.event.routing) this.catchUpSince = Date.now() - CATCH_UP_MARGIN_MS;
          const pending = 'event' in step ? this.process(step.event) : step.run();
          if (pending) await pending;
        } catch (err) {
          this.log.error({ err }, 'gateway routing step failed');
        } finally {
          this.catchUpSince = undefined;
        }
        if (this.head > 1024 && this.head * 2 > this.steps.length) {
          this.steps = this.steps.slice(this.head);
          this.head = 0;
        }
        if (++done % YIELD_EVERY === 0) await nextTurn();
      }
      this.steps = [];
      this.head = 0;
    } finally {
      this.running = false;
    }
  }

  private process(event: DomainEvent): Promise<void> | void {
    // For the api processes' AutoMod caches only (on the invalidation stream); never a client dispatch.
    if (event.type === 'AUTO_MODERATION_RULES_CHANGED') return;
    if (event.type === 'TOKEN_REVOKED') {
      const hash = (event.data as { token_hash?: unknown } | null)?.token_hash;
      if (typeof hash === 'string' && event.scope.kind === 'user')
        this.hooks?.tokenRevoked(event.scope.id, hash);
      return;
    }
    if (event.type === 'USER_SESSIONS_REVOKED') {
      const revoked = userSessionsRevoked.safeParse(event.data);
      if (revoked.success && event.scope.kind === 'user' && revoked.data.user_id === event.scope.id)
        this.hooks?.userSessionsRevoked(event.scope.id, revoked.data.except_token_hash);
      else this.log.warn({ type: event.type }, 'malformed revocation event ignored');
      return;
    }
    const hint = event.routing;
    if (!hint) return this.deliver(event);
    const guildId = hint.guildId;
    if (hint.removedFromGuild && guildId) {
      this.epoch++;
      // A removed member loses the guild before the event goes out: it gets its own GUILD_DELETE and nothing more.
      if (hint.userId) for (const s of this.sessionsOf(hint.userId)) this.dropGuild(s, guildId);
      this.deliver(event);
      // The guild itself is gone: everyone hears it, then loses it.
      if (!hint.userId)
        for (const s of [...(this.index.get(`guild:${guildId}`) ?? [])]) this.dropGuild(s, guildId);
      return;
    }
    if (guildId) {
      const targets = [
        ...(hint.userId ? this.sessionsOf(hint.userId) : (this.index.get(`guild:${guildId}`) ?? [])),
      ];
      if (targets.length === 0) return this.deliver(event);
      const channelId = this.channelEventId(event);
      const before = channelId ? new Set(this.index.get(`channel:${channelId}`) ?? []) : undefined;
      return this.recompute(guildId, targets, event.type === 'GUILD_CREATE').then(
        (result) => this.deliver(event, result, before),
        (err: unknown) => {
          this.hooks?.routingFailed(targets, err);
          if (!channelId) this.deliver(event);
        },
      );
    }
    if (hint.userId && event.type === 'CHANNEL_CREATE') {
      const channel = event.data as { id?: unknown; type?: unknown };
      if (channel.type === ChannelType.DM && typeof channel.id === 'string') {
        for (const s of this.sessionsOf(hint.userId)) this.addDm(s, channel.id);
      }
    }
    return this.deliver(event);
  }

  /** The channel a guild-scoped CHANNEL_* event is about. */
  private channelEventId(event: DomainEvent): string | undefined {
    if (event.scope.kind !== 'guild' || !CHANNEL_EVENTS.has(event.type)) return undefined;
    const id = (event.data as { id?: unknown } | null)?.id;
    return typeof id === 'string' ? id : undefined;
  }

  private async recompute(guildId: string, sessions: Session[], allowJoin: boolean): Promise<Recomputed> {
    const users = [...new Set(sessions.map((s) => s.userId))];
    const view = await this.visibility.guild(guildId, users);
    this.epoch++;
    const diffs = new Map<Session, Diff>();
    const gainedIds = new Set<string>();
    for (const s of sessions) {
      if (s.state === 'closed') continue;
      const visible = view.visible.get(s.userId) ?? null;
      const current = s.guilds.get(guildId);
      if (!visible) {
        this.dropGuild(s, guildId);
        continue;
      }
      if (!current) {
        // Only GUILD_CREATE brings a guild to a session: it carries the state the session starts from.
        if (allowJoin) this.joinGuild(s, guildId, visible);
        continue;
      }
      const diff: Diff = { gained: [], lost: [] };
      for (const id of visible) {
        if (current.has(id)) continue;
        diff.gained.push(id);
        gainedIds.add(id);
        this.addKey(s, `channel:${id}`);
      }
      for (const id of current) {
        if (visible.has(id)) continue;
        diff.lost.push(id);
        this.removeKey(s, `channel:${id}`);
      }
      s.guilds.set(guildId, new Set(visible));
      if (diff.gained.length > 0 || diff.lost.length > 0) diffs.set(s, diff);
    }
    const lastIds = await this.visibility.lastMessageIds([...gainedIds]);
    return { diffs, channels: view.channels, lastIds };
  }

  // --- delivery ----------------------------------------------------------------------------

  private deliver(event: DomainEvent, recomputed?: Recomputed, before?: Set<Session>): void {
    const tracing = event.trace ? activeTracing() : null;
    if (!tracing || !event.trace) {
      this.fanOut(event, recomputed, before);
      return;
    }
    // One span per event and node: the fan-out to this node's sessions, continuing the publisher's trace.
    const span = tracing.startSpan(`gateway dispatch ${event.type}`, {
      parent: event.trace,
      attributes: { 'parley.event.scope': scopeKey(event.scope) },
    });
    try {
      span.setAttribute('parley.gateway.recipients', this.fanOut(event, recomputed, before));
    } finally {
      span.end();
    }
  }

  /** Writes the event to every local session that may see it; returns how many frames were written. */
  private fanOut(event: DomainEvent, recomputed?: Recomputed, before?: Set<Session>): number {
    const type = event.type;
    const channelId = this.channelEventId(event);
    if (recomputed) this.deliverVisibilityChanges(recomputed, channelId, event.id);
    if (channelId && before) return this.deliverChannelEvent(event, channelId, before);

    if (type === 'TYPING_START') {
      const data = event.data as { channel_id: string; user_id: string };
      if (!this.typing.start(data.channel_id, data.user_id)) return 0;
    } else if (type === 'MESSAGE_CREATE') {
      const data = event.data as { channel_id: string; author?: { id: string } };
      if (data.author) this.typing.stop(data.channel_id, data.author.id);
    }

    const recipients = this.index.get(scopeKey(event.scope));
    if (!recipients) return 0;
    // Guild-mates hear about a user; the user's own sessions are told on their user scope instead.
    const skipUser =
      (type === 'PRESENCE_UPDATE' && event.scope.kind === 'guild') || type === 'GUILD_MEMBER_ADD'
        ? userIdOf(event.data)
        : undefined;
    let d: string | undefined;
    let sent = 0;
    for (const s of recipients) {
      if (skipUser !== undefined && s.userId === skipUser) continue;
      d ??= serialise(event.data);
      s.dispatch(type, d, event.id);
      sent++;
    }
    if (sent > 0) this.metrics.dispatches.inc({ type }, sent);
    return sent;
  }

  /** CHANNEL_CREATE/UPDATE/DELETE reach exactly the sessions that may view the channel (or just lost it). */
  private deliverChannelEvent(event: DomainEvent, channelId: string, before: Set<Session>): number {
    const after = this.index.get(`channel:${channelId}`) ?? EMPTY;
    const d = serialise(event.data);
    let sent = 0;
    const send = (s: Session, type: string) => {
      s.dispatch(type, d, event.id);
      this.metrics.dispatches.inc({ type });
      sent++;
    };
    if (event.type === 'CHANNEL_DELETE') {
      for (const s of before) send(s, 'CHANNEL_DELETE');
    } else if (event.type === 'CHANNEL_CREATE') {
      for (const s of after) send(s, 'CHANNEL_CREATE');
    } else {
      // An update that showed or hid the channel is a create or a delete for that session.
      for (const s of after) send(s, before.has(s) ? 'CHANNEL_UPDATE' : 'CHANNEL_CREATE');
      for (const s of before) if (!after.has(s)) send(s, 'CHANNEL_DELETE');
    }
    return sent;
  }

  /** A role or overwrite change showed or hid other channels: tell those sessions as if they were created or deleted. */
  private deliverVisibilityChanges(
    recomputed: Recomputed,
    except: string | undefined,
    eventId: string | undefined,
  ): void {
    if (recomputed.diffs.size === 0) return;
    const cache = new Map<string, string>();
    const payload = (id: string, gained: boolean): string | undefined => {
      const key = `${gained ? '+' : '-'}${id}`;
      let d = cache.get(key);
      if (d === undefined) {
        const record = recomputed.channels.get(id);
        if (!record) return undefined;
        d = serialise(toChannel(record, gained ? (recomputed.lastIds.get(id) ?? null) : null));
        cache.set(key, d);
      }
      return d;
    };
    for (const [s, diff] of recomputed.diffs) {
      for (const id of diff.gained) {
        const d = id === except ? undefined : payload(id, true);
        if (d) s.dispatch('CHANNEL_CREATE', d, eventId);
      }
      for (const id of diff.lost) {
        const d = id === except ? undefined : payload(id, false);
        if (d) s.dispatch('CHANNEL_DELETE', d, eventId);
      }
    }
  }

  /** Unsubscribes everything (shutdown). */
  clear(): void {
    for (const s of [...this.allSessions()]) this.unregister(s);
  }
}
