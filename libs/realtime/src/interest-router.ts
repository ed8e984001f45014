import { setImmediate as nextTurn } from 'node:timers/promises';
import { Inject, Injectable } from '@nestjs/common';
import { toChannel } from '@parley/chat';
import { EVENT_BUS, type DomainEvent, type EventBus, type Unsubscribe, scopeKey } from '@parley/bus';
import { ChannelType } from '@parley/common';
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { activeTracing, AppLogger } from '@parley/observability';
import { TYPING_STORE, type TypingStore } from '@parley/state';
import type { ChannelRecord } from '@parley/storage';
import { z } from 'zod';
import { GatewayMetrics } from './gateway.metrics';
import { GuildLanes, type LaneStep } from './guild-lanes';
import { GuildModel, type Impact } from './guild-model';
import { serialise } from './protocol';
import type { Session } from './session';
import { VisibilityResolver } from './visibility';
import type { MemberListSubscriptions } from './member-list/member-lists';

/** Member lists (MemberLists) hear each guild event in its lane, and when a session leaves a guild. */
export interface MemberListHooks {
  event(guildId: string, event: DomainEvent): Promise<void> | void;
  /** The session left the guild, or ended (`guildId` null). */
  left(session: Session, guildId: string | null): void;
  /** What the session subscribes to (handed over with it to another node), if anything. */
  subscriptions(session: Session): MemberListSubscriptions | undefined;
  /** A session taken over from another node subscribes again to what it did there. */
  restore(session: Session, subscriptions: MemberListSubscriptions | undefined): void;
}

export interface RouterHooks {
  /** Which of these guilds are large (`gateway.presence_large_threshold`; a failed count counts as large). */
  largeGuilds(guildIds: string[]): Promise<Set<string>>;
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

/** Channel ids a recomputation added to or removed from a session that stayed in the guild. */
interface Diff {
  gained: string[];
  lost: string[];
}

interface Recomputed {
  diffs: Map<Session, Diff>;
  channel: (id: string) => ChannelRecord | undefined;
  lastIds: Map<string, string>;
}

/** How long a guild's large / not large verdict (for typing) is kept before it is looked up again. */
const LARGE_VERDICT_MS = 60_000;
const CHANNEL_EVENTS = new Set(['CHANNEL_CREATE', 'CHANNEL_UPDATE', 'CHANNEL_DELETE']);
/**
 * A scope gained through a routing change is caught up from this long before the change reached this node
 * (a transport that subscribes asynchronously may otherwise miss what was published meanwhile); it covers the
 * delivery delay and clock skew between this node and the bus.
 */
const CATCH_UP_MARGIN_MS = 2_000;
const EMPTY: ReadonlySet<Session> = new Set();
/** A fan-out checks its time every this many recipients; a scope with more sessions may be sliced. */
const FANOUT_SLICE_CHECK = 256;
/** The lane of events that belong to no guild (DMs, a user's own events). */
const DIRECT = '';

function userIdOf(data: unknown): string | undefined {
  const user = (data as { user?: { id?: unknown } } | null)?.user;
  return typeof user?.id === 'string' ? user.id : undefined;
}

/** The guild whose lane orders an event: its scope's guild, or the guild a user-scope event is about. */
function laneOf(event: DomainEvent): string {
  const scope = event.scope;
  if (scope.kind === 'guild') return scope.id;
  if (scope.kind === 'channel') return scope.guildId ?? DIRECT;
  if (scope.kind === 'members') return scope.id;
  return event.routing?.guildId ?? DIRECT;
}

/**
 * Interest-based routing on one gateway node. Each local session is indexed under the scope keys it may see
 * (`user:<id>`, `guild:<id>`, `channel:<id>`); the node subscribes to a key on the bus only while some local
 * session needs it, which is exactly the interest a NATS transport mirrors as subject subscriptions.
 *
 * What a session may see is computed from an in-memory model of each guild the node has sessions in
 * (`GuildModel`: owner, roles, overwrites, memberships), read from storage once and then updated from the
 * events' payloads, so a permission change is applied from the event itself (in every region, whatever storage
 * there has replicated) and a cosmetic one (a rename, a colour) recomputes nothing. Work is ordered per guild
 * (`GuildLanes`): an event runs at once unless its guild's lane waits on a storage read (a guild's first load,
 * the last message ids of newly visible channels), and a waiting guild holds up only its own events. Each
 * event's data is serialised once, whatever the number of recipients.
 */
@Injectable()
export class InterestRouter {
  hooks: RouterHooks | null = null;
  memberLists: MemberListHooks | null = null;
  /** How long a large fan-out writes before it yields to I/O (`fanOut`): `gateway.fanout_slice_ms`. */
  fanOutSliceMs: number;
  private readonly index = new Map<string, Set<Session>>();
  private readonly subscriptions = new Map<string, Unsubscribe>();
  /** Holders of each subscribed key: its sessions, plus guild loads in progress. */
  private readonly refs = new Map<string, number>();
  private readonly byUser = new Map<string, Set<Session>>();
  private readonly models = new Map<string, GuildModel>();
  /** Guild id -> whether it is large, and when that was looked up (`typingIsLimited`). */
  private readonly large = new Map<string, { large: boolean; at: number }>();
  private readonly lanes: GuildLanes<DomainEvent>;
  /** Set while a routing change is applied: scopes subscribed then are caught up from this time. */
  private catchUpSince: number | undefined = undefined;
  /**
   * When each queued event reached this node: a scope it grants is caught up from then (minus a margin), however
   * long the event then waited in its lane, so what was published right after it is never before the catch-up.
   */
  private readonly arrived = new WeakMap<DomainEvent, number>();
  private readonly onEvent = (event: DomainEvent): void => {
    this.metrics.busEvents.inc({ type: event.type });
    this.arrived.set(event, Date.now());
    this.lanes.push(laneOf(event), { event });
  };

  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    private readonly visibility: VisibilityResolver,
    @Inject(TYPING_STORE) private readonly typing: TypingStore,
    private readonly metrics: GatewayMetrics,
    private readonly log: AppLogger,
    @Inject(PARLEY_CONFIG) config: ParleyConfig,
  ) {
    this.fanOutSliceMs = config.gateway.fanout_slice_ms;
    this.lanes = new GuildLanes<DomainEvent>(
      config.gateway.routing_queue_limit,
      (key, step) => this.runStep(key, step),
      (key, dropped) => this.overflowed(key, dropped),
      (err) => this.log.error({ err }, 'gateway routing step failed'),
    );
    metrics.routingSource = () => ({
      queued: this.lanes.depth,
      deepest: this.lanes.maxDepth,
      busyGuilds: this.lanes.busyLanes,
      models: this.models.size,
    });
  }

  // --- sessions ----------------------------------------------------------------------------

  /** Indexes a new session under its user scope (membership changes reach it from now on). */
  register(session: Session): void {
    let set = this.byUser.get(session.userId);
    if (!set) this.byUser.set(session.userId, (set = new Set()));
    set.add(session);
    this.addKey(session, `user:${session.userId}`);
  }

  unregister(session: Session): void {
    this.memberLists?.left(session, null);
    const guildIds = [...session.guilds.keys()];
    for (const key of [...session.keys]) this.removeKey(session, key);
    session.guilds.clear();
    session.dms.clear();
    const set = this.byUser.get(session.userId);
    if (set) {
      set.delete(session);
      if (set.size === 0) this.byUser.delete(session.userId);
    }
    for (const guildId of guildIds) {
      if ([...this.sessionsOf(session.userId)].some((s) => s.guilds.has(guildId))) continue;
      this.models.get(guildId)?.forgetMember(session.userId);
    }
  }

  /** Reads what the session's user may see and subscribes it, in order with each guild's events. */
  async establish(session: Session): Promise<void> {
    const { guildIds, dms } = await this.visibility.memberships(session.userId);
    await Promise.all(guildIds.map((guildId) => this.enterGuild(session, guildId)));
    await this.run(DIRECT, () => {
      if (session.state !== 'closed') for (const id of dms) this.addDm(session, id);
    });
  }

  /**
   * Puts the session in the guild, in the guild's lane. The guild is subscribed before anything is read, so
   * every change after the reads reaches the model through the lane, after them; the guild's shape is read only
   * when no session here is in it yet, the member's roles unless an event already said what they are.
   */
  private enterGuild(session: Session, guildId: string): Promise<void> {
    const key = `guild:${guildId}`;
    this.retain(key);
    const member = (async () => {
      await this.bus.ready?.();
      return this.visibility.member(guildId, session.userId);
    })();
    member.catch(() => undefined);
    return this.run(guildId, async () => {
      try {
        const model = this.models.get(guildId) ?? (await this.loadModel(guildId));
        const record = await member;
        if (!model || session.state === 'closed') return;
        model.fillMember(session.userId, record);
        const visible = model.visibleChannels(session.userId);
        if (visible) this.joinGuild(session, guildId, visible);
      } finally {
        this.release(key);
      }
    });
  }

  /** Reads a guild's shape into a model (its key is held by the caller, so changes after the read queue up). */
  private async loadModel(guildId: string): Promise<GuildModel | undefined> {
    await this.bus.ready?.();
    const [shape] = await Promise.all([this.visibility.shape(guildId), this.lookUpLarge(guildId)]);
    if (!shape || !this.refs.has(`guild:${guildId}`)) return undefined;
    const model = this.models.get(guildId) ?? new GuildModel(shape);
    this.models.set(guildId, model);
    return model;
  }

  /** Runs `fn` in a guild's lane, in order with the guild's events; resolves when it has run. */
  inLane(guildId: string, fn: () => Promise<void> | void): Promise<void> {
    return this.run(guildId, fn);
  }

  /** Subscribes the node to a scope no session is indexed under (a member list's presence scope). */
  holdScope(key: string): void {
    this.retain(key);
  }

  releaseScope(key: string): void {
    this.release(key);
  }

  /** Runs `fn` as a step of a lane; resolves when it has run. */
  private run(lane: string, fn: () => Promise<void> | void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.lanes.push(lane, {
        run: async () => {
          try {
            await fn();
            resolve();
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        },
        dropped: reject,
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
    return this.subscriptions.size;
  }

  /** The model of a guild this node has sessions in (tests and diagnostics). */
  /**
   * GUILD_SUBSCRIPTIONS `typing`: whether the session gets TYPING_START in the guild when the guild is large (see
   * `Session.typingEverywhere`). Ignored for a guild the session is not in; forgotten when it leaves it.
   */
  subscribeTyping(session: Session, guildId: string, on: boolean): Promise<void> {
    return this.inLane(guildId, () => {
      if (!session.guilds.has(guildId)) return;
      if (on) (session.typingGuilds ??= new Set()).add(guildId);
      else session.typingGuilds?.delete(guildId);
    });
  }

  model(guildId: string): GuildModel | undefined {
    return this.models.get(guildId);
  }

  // --- index -------------------------------------------------------------------------------

  private retain(key: string): void {
    const n = this.refs.get(key) ?? 0;
    this.refs.set(key, n + 1);
    if (n > 0) return;
    const options = this.catchUpSince === undefined ? undefined : { since: this.catchUpSince };
    this.subscriptions.set(key, this.bus.subscribe(key, this.onEvent, options));
    this.metrics.scopes.set(this.subscriptions.size);
  }

  private release(key: string): void {
    const n = (this.refs.get(key) ?? 0) - 1;
    if (n > 0) {
      this.refs.set(key, n);
      return;
    }
    this.refs.delete(key);
    this.subscriptions.get(key)?.();
    this.subscriptions.delete(key);
    this.metrics.scopes.set(this.subscriptions.size);
    // No session here is in the guild any more: its events stop coming, so its model would go stale.
    if (key.startsWith('guild:')) this.models.delete(key.slice('guild:'.length));
  }

  private addKey(session: Session, key: string): void {
    if (session.keys.has(key)) return;
    session.keys.add(key);
    let set = this.index.get(key);
    if (!set) this.index.set(key, (set = new Set()));
    set.add(session);
    this.retain(key);
  }

  private removeKey(session: Session, key: string): void {
    if (!session.keys.delete(key)) return;
    const set = this.index.get(key);
    if (!set) return;
    set.delete(session);
    if (set.size === 0) this.index.delete(key);
    this.release(key);
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
    this.memberLists?.left(session, guildId);
    session.typingGuilds?.delete(guildId);
    for (const id of channels) this.removeKey(session, `channel:${id}`);
    session.guilds.delete(guildId);
    this.removeKey(session, `guild:${guildId}`);
  }

  private addDm(session: Session, channelId: string): void {
    session.dms.add(channelId);
    this.addKey(session, `channel:${channelId}`);
  }

  // --- lanes -------------------------------------------------------------------------------

  private runStep(lane: string, step: LaneStep<DomainEvent>): Promise<void> | void {
    if (step.run) return step.run();
    const event = step.event;
    if (!event) return;
    const done = this.process(lane, event);
    const lists = this.memberLists;
    if (!lists || lane === DIRECT) return done;
    return done ? done.then(() => lists.event(lane, event)) : lists.event(lane, event);
  }

  /** A guild's lane passed its bound: its events were dropped, so its sessions here cannot stay exact. */
  private overflowed(lane: string, dropped: Array<LaneStep<DomainEvent>>): void {
    this.metrics.routingOverflows.inc();
    const sessions = new Set<Session>(lane === DIRECT ? [] : (this.index.get(`guild:${lane}`) ?? []));
    for (const step of dropped) {
      const scope = step.event?.scope;
      if (!scope) continue;
      for (const s of this.index.get(scopeKey(scope)) ?? []) sessions.add(s);
    }
    this.hooks?.routingFailed([...sessions], new Error(`routing queue of guild ${lane} overflowed`));
  }

  private process(guildId: string, event: DomainEvent): Promise<void> | void {
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
    if (guildId === DIRECT) {
      if (hint?.userId && event.type === 'CHANNEL_CREATE') {
        const channel = event.data as { id?: unknown; type?: unknown };
        const id = channel.id;
        // Caught up: a message sent into the DM at once (through another api process) may be published before
        // this node's subscription reaches the server.
        if (channel.type === ChannelType.DM && typeof id === 'string')
          this.withCatchUp(event, () => {
            for (const s of this.sessionsOf(hint.userId ?? '')) this.addDm(s, id);
          });
      }
      return this.deliver(event);
    }
    const model = this.models.get(guildId);
    if (!model) {
      // No session here is in the guild: a member who joins brings it (its shape read once, then kept).
      if (event.type === 'GUILD_CREATE' && hint?.userId && this.sessionsOf(hint.userId).size > 0)
        return this.joinFromEvent(guildId, event);
      return this.deliver(event);
    }
    const channelId = this.channelEventId(event);
    const before = channelId ? new Set(this.index.get(`channel:${channelId}`) ?? []) : undefined;
    const impact = model.apply(event);
    if (!impact) return this.deliver(event, undefined, before);
    if (impact.gone) {
      this.metrics.recomputes.inc({ cause: 'gone' });
      // The guild itself is gone: everyone hears it, then loses it.
      const told = this.deliver(event);
      const drop = () => {
        for (const s of [...(this.index.get(`guild:${guildId}`) ?? [])]) this.dropGuild(s, guildId);
        this.models.delete(guildId);
      };
      return told ? told.then(drop) : drop();
    }
    const diffs = this.withCatchUp(event, () =>
      this.recompute(model, guildId, impact, event.type === 'GUILD_CREATE'),
    );
    return this.afterRecompute(model, event, diffs, before);
  }

  /** GUILD_CREATE for a user of this node in a guild no session here is in yet: load it, then join. */
  private async joinFromEvent(guildId: string, event: DomainEvent): Promise<void> {
    const key = `guild:${guildId}`;
    // Caught up from just before the join: a guild event published while the subscription was on its way
    // (NATS) queues behind this step and reaches the model after its load.
    this.withCatchUp(event, () => this.retain(key));
    try {
      const model = await this.loadModel(guildId);
      if (!model) return this.deliver(event);
      const impact = model.apply(event);
      const diffs = impact
        ? this.withCatchUp(event, () => this.recompute(model, guildId, impact, true))
        : new Map<Session, Diff>();
      await this.afterRecompute(model, event, diffs, undefined);
    } catch (err) {
      this.hooks?.routingFailed([...this.sessionsOf(event.routing?.userId ?? '')], err);
    } finally {
      this.release(key);
    }
  }

  private afterRecompute(
    model: GuildModel,
    event: DomainEvent,
    diffs: Map<Session, Diff>,
    before: Set<Session> | undefined,
  ): Promise<void> | void {
    const gained = new Set<string>();
    for (const diff of diffs.values()) for (const id of diff.gained) gained.add(id);
    const channel = (id: string) => model.channel(id);
    if (gained.size === 0) return this.deliver(event, { diffs, channel, lastIds: new Map() }, before);
    // A channel that appears for someone carries its last message id: the one read this costs waits in this
    // guild's lane only.
    return this.visibility.lastMessageIds([...gained]).then(
      (lastIds) => this.deliver(event, { diffs, channel, lastIds }, before),
      (err: unknown) => {
        this.log.warn({ err }, 'last message ids unavailable for newly visible channels');
        return this.deliver(event, { diffs, channel, lastIds: new Map() }, before);
      },
    );
  }

  /** Runs `fn` with scopes it subscribes caught up from just before `cause` reached this node. */
  private withCatchUp<T>(cause: DomainEvent, fn: () => T): T {
    this.catchUpSince = (this.arrived.get(cause) ?? Date.now()) - CATCH_UP_MARGIN_MS;
    try {
      return fn();
    } finally {
      this.catchUpSince = undefined;
    }
  }

  /** The channel a guild-scoped CHANNEL_* event is about. */
  private channelEventId(event: DomainEvent): string | undefined {
    if (event.scope.kind !== 'guild' || !CHANNEL_EVENTS.has(event.type)) return undefined;
    const id = (event.data as { id?: unknown } | null)?.id;
    return typeof id === 'string' ? id : undefined;
  }

  /**
   * Recomputes, from the model, the views the impact names and updates the index; returns what changed for
   * sessions that stayed in the guild. Members with the same roles (and no overwrite naming them) share one
   * computation.
   */
  private recompute(
    model: GuildModel,
    guildId: string,
    impact: Impact,
    allowJoin: boolean,
  ): Map<Session, Diff> {
    let targets: Iterable<Session>;
    if (impact.userIds) {
      this.metrics.recomputes.inc({ cause: 'users' });
      const set = new Set<Session>();
      for (const id of impact.userIds) for (const s of this.sessionsOf(id)) set.add(s);
      targets = set;
    } else {
      this.metrics.recomputes.inc({ cause: impact.channelId ? 'channel' : 'everyone' });
      targets = [...(this.index.get(`guild:${guildId}`) ?? [])];
    }
    const personal = model.personalIds();
    const shared = new Map<string, Set<string> | null>();
    const viewOf = (userId: string, only?: string): Set<string> | null => {
      if (personal.has(userId)) return model.visibleChannels(userId, only);
      const roles = model.memberRoles(userId);
      if (!roles) return null;
      const key = `${only ?? ''}|${[...roles].sort().join(',')}`;
      let view = shared.get(key);
      if (view === undefined) shared.set(key, (view = model.visibleChannels(userId, only)));
      return view;
    };
    const diffs = new Map<Session, Diff>();
    for (const s of targets) {
      if (s.state === 'closed') continue;
      const current = s.guilds.get(guildId);
      let visible: Set<string> | null;
      if (impact.channelId && current) {
        const one = viewOf(s.userId, impact.channelId);
        if (one) {
          visible = new Set(current);
          if (one.has(impact.channelId)) visible.add(impact.channelId);
          else visible.delete(impact.channelId);
        } else visible = null;
      } else visible = viewOf(s.userId);
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
    return diffs;
  }

  // --- delivery ----------------------------------------------------------------------------

  /**
   * Fans the event out to this node's sessions. Void when that was done at once; a promise when the fan-out was
   * large enough to be sliced (`fanOut`): the lane holds until it is done, so the guild's next event never
   * overtakes it.
   */
  private deliver(event: DomainEvent, recomputed?: Recomputed, before?: Set<Session>): Promise<void> | void {
    const started = performance.now();
    const tracing = event.trace ? activeTracing() : null;
    if (!tracing || !event.trace) {
      const sent = this.fanOut(event, recomputed, before);
      if (typeof sent === 'number') {
        if (sent > 0) process.nextTick(this.fannedOut, started);
        return;
      }
      return sent.then((n) => {
        if (n > 0) process.nextTick(this.fannedOut, started);
      });
    }
    // One span per event and node: the fan-out to this node's sessions, continuing the publisher's trace.
    const span = tracing.startSpan(`gateway dispatch ${event.type}`, {
      parent: event.trace,
      attributes: { 'parley.event.scope': scopeKey(event.scope) },
    });
    const done = (n: number) => {
      span.setAttribute('parley.gateway.recipients', n);
      if (n > 0) process.nextTick(this.fannedOut, started);
      span.end();
    };
    let sent: number | Promise<number>;
    try {
      sent = this.fanOut(event, recomputed, before);
    } catch (err) {
      span.end();
      throw err;
    }
    if (typeof sent === 'number') return done(sent);
    return sent.then(done, (err: unknown) => {
      span.end();
      throw err;
    });
  }

  /**
   * Observes a fan-out's duration once its writes are done: on the tick after it, behind the flush of the
   * sockets it corked (dispatch-frame.ts schedules that flush on its first write, so it runs first).
   */
  private readonly fannedOut = (started: number): void => {
    this.metrics.fanOutSeconds.observe((performance.now() - started) / 1000);
  };

  /**
   * Writes the event to every local session that may see it; returns how many frames were written. A scope
   * with more than `FANOUT_SLICE_CHECK` sessions is written in slices of about `fanOutSliceMs` each, yielding to
   * I/O between them (a promise of the count then): one message into a 10,000-member guild would otherwise hold
   * the thread for its whole fan-out, and every request and event arriving meanwhile would wait behind it.
   */
  private fanOut(
    event: DomainEvent,
    recomputed?: Recomputed,
    before?: Set<Session>,
  ): number | Promise<number> {
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

    let recipients: ReadonlySet<Session> | undefined = this.index.get(scopeKey(event.scope));
    if (!recipients) return 0;
    if (type === 'TYPING_START' && event.scope.kind === 'channel' && event.scope.guildId) {
      // A large guild: only the channel's sessions that asked for typing there (or take it everywhere).
      const guildId = event.scope.guildId;
      if (this.typingIsLimited(guildId))
        recipients = new Set(
          [...recipients].filter((s) => s.typingEverywhere || s.typingGuilds?.has(guildId)),
        );
    }
    // Guild-mates hear about a user; the user's own sessions are told on their user scope instead.
    const skipUser =
      (type === 'PRESENCE_UPDATE' && event.scope.kind === 'guild') || type === 'GUILD_MEMBER_ADD'
        ? userIdOf(event.data)
        : undefined;
    if (recipients.size > FANOUT_SLICE_CHECK) return this.slicedFanOut(event, [...recipients], skipUser);
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

  /**
   * Whether TYPING_START in the guild goes only to the sessions that asked for it (a large guild). Looked up when
   * the guild's model loads, then again at most every LARGE_VERDICT_MS (the previous verdict holds meanwhile).
   */
  private typingIsLimited(guildId: string): boolean {
    const known = this.large.get(guildId);
    if (!known || Date.now() - known.at >= LARGE_VERDICT_MS) void this.lookUpLarge(guildId);
    return known?.large ?? false;
  }

  private lookUpLarge(guildId: string): Promise<void> {
    const hooks = this.hooks;
    if (!hooks) return Promise.resolve();
    const known = this.large.get(guildId);
    if (this.large.size >= 10_000) this.large.clear();
    // Marked as looked up now, so one lookup runs at a time.
    const entry = { large: known?.large ?? false, at: Date.now() };
    this.large.set(guildId, entry);
    return hooks.largeGuilds([guildId]).then(
      (large) => {
        if (this.large.get(guildId) === entry)
          this.large.set(guildId, { large: large.has(guildId), at: Date.now() });
      },
      (err: unknown) => this.log.warn({ err, guild: guildId }, 'guild size unavailable for typing'),
    );
  }

  /**
   * A large fan-out (`fanOut`) over a snapshot of its recipients: a session that ends meanwhile is skipped by its
   * own state, and one that subscribes meanwhile is caught up by its start like any new session.
   */
  private async slicedFanOut(
    event: DomainEvent,
    recipients: Session[],
    skipUser: string | undefined,
  ): Promise<number> {
    const type = event.type;
    const d = serialise(event.data);
    let sent = 0;
    let slice = performance.now();
    for (let i = 0; i < recipients.length; i++) {
      const s = recipients[i];
      if (skipUser !== undefined && s.userId === skipUser) continue;
      s.dispatch(type, d, event.id);
      sent++;
      if (sent % FANOUT_SLICE_CHECK === 0 && performance.now() - slice >= this.fanOutSliceMs) {
        await nextTurn();
        slice = performance.now();
      }
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
        const record = recomputed.channel(id);
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
