import { activeTracing, type Metrics, type Tracing } from '@parley/observability';
import type { AppLogger } from '@parley/observability';
import { z } from 'zod';
import {
  type DomainEvent,
  type EventBus,
  type EventHandler,
  type SubscribeOptions,
  type Unsubscribe,
  invalidationOf,
} from '../events';
import type { NatsLink } from './nats-link';
import type { Msg, MsgHdrs, Subscription } from '@nats-io/nats-core';
import { natsCore, natsJetStream } from './modules';
import { RecentIds } from './recent-ids';

const SCOPE_KINDS = ['guild', 'channel', 'user', 'members'] as const;

// Validated at the edge: a message from the wire is untrusted until it has the shape of a DomainEvent.
const wireEvent = z.object({
  id: z.string().min(1).max(64),
  type: z.string().regex(/^[A-Z_]{1,64}$/),
  scope: z.object({
    kind: z.enum(SCOPE_KINDS),
    id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
    guildId: z.string().nullable().optional(),
  }),
  data: z.unknown(),
  routing: z
    .object({
      guildId: z.string().optional(),
      userId: z.string().optional(),
      removedFromGuild: z.boolean().optional(),
      memberRoles: z.array(z.string().max(64)).max(1000).optional(),
    })
    .optional(),
});

// The lean copies on the invalidation stream carry ids only (see `invalidationOf`).
const id = z.string().min(1).max(128);
const invalidationData = z.object({
  id: id.optional(),
  guild_id: id.optional(),
  user: z.object({ id }).optional(),
  user_id: id.optional(),
  token_hash: id.optional(),
  except_token_hash: id.optional(),
});

interface Interest {
  handlers: Set<EventHandler>;
  sub: Subscription;
  /** While catching up: live events held back until what was missed has been delivered. */
  held: DomainEvent[] | null;
}

/** How far back a newly gained scope can be caught up from the events stream. */
const REPLAY_WINDOW_MS = 120_000;
/** `nats.events` in config/default.json: sized by event rate (docs/scaling.md). */
const DEFAULT_HISTORY: EventHistory = { replicas: 1, max_bytes: 256 * 1024 * 1024, storage: 'file' };
const CATCH_UP_LIMIT = 10_000;
/** Events a node reads from the history after a reconnect, at most (more: its sessions restart). */
const RECOVER_LIMIT = 100_000;
/**
 * A reconnect catch-up starts this long before the connection was seen to drop: the history's timestamps are
 * the NATS server's clock, and an event may have been on its way when the drop was noticed. What was delivered
 * in that margin is skipped by id (RecentIds keeps well over this much).
 */
const RECOVER_MARGIN_MS = 2_000;
const RECENT_WINDOW_MS = 30_000;
/** How long a node keeps trying to read the history (e.g. while a restarted server restores JetStream). */
const HISTORY_PATIENCE_MS = 20_000;

/** The history cannot prove itself complete: trying again cannot help. */
class HistoryGone extends Error {}

/**
 * Runs `read` until it succeeds, again after any error but `HistoryGone`, with a growing pause, for at most
 * HISTORY_PATIENCE_MS; then the last error stands.
 */
async function retrying<T>(
  read: () => Promise<T>,
  onRetry: (err: unknown, attempt: number) => void,
): Promise<T> {
  const deadline = Date.now() + HISTORY_PATIENCE_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (err) {
      if (err instanceof HistoryGone || Date.now() >= deadline) throw err;
      onRetry(err, attempt);
      await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** attempt, 2_000)));
    }
  }
}
const RECENT_MAX = 200_000;
/** Unconfirmed events kept to resend after a reconnect, at most. */
const UNCONFIRMED_MAX = 10_000;
/** How soon a publish that nobody settles is confirmed by a round trip of its own. */
const CONFIRM_EVERY_MS = 100;

export interface EventHistory {
  replicas: number;
  max_bytes: number;
  storage: 'file' | 'memory';
}

/**
 * Domain events on NATS core subjects by scope: `<prefix>.ev.<kind>.<id>`. A node holds one NATS subscription
 * per scope key while at least one local handler wants it and drops it with the last one, so the server only
 * sends a node what its sessions may see: a node without sessions receives no event at all. Caches that must
 * hear of every permission or token change subscribe to `<prefix>.inv` instead, where each such event is also
 * published as its lean copy (ids only), never to the whole `<prefix>.ev.>` stream. Delivery is in arrival order across all subjects (one connection,
 * callback subscriptions), which keeps each publisher's order per channel and across scopes.
 */
export class NatsEventBus implements EventBus {
  private readonly interests = new Map<string, Interest>();
  private readonly invalidations = new Set<EventHandler>();
  private invalidationSub: Subscription | null = null;
  private counter = 0;
  private unsettled = false;
  /**
   * What this node published and the server has not yet confirmed (a flush answered after it), in order. A
   * publish written to a connection just as the server died is lost with it: after the reconnect these go out
   * again, under their ids, which receivers and catch-ups skip when the first copy did arrive.
   */
  private unconfirmed: Array<{ seq: number; subject: string; data: string; headers?: MsgHdrs }> = [];
  private sent = 0;
  private overflowing = false;
  private confirmTimer: NodeJS.Timeout | null = null;
  private settling: Promise<void> | null = null;
  private readonly lossListeners = new Set<() => void>();
  private readonly recent = new RecentIds(RECENT_WINDOW_MS, RECENT_MAX);
  /** When the connection was seen to drop (null while connected). */
  private downSince: number | null = null;
  /** While catching up after a reconnect: live events held back until the history has been delivered. */
  private recovering: Array<{ key: string; event: DomainEvent }> | null = null;
  /** When the event history this node found or made at start was created (a different one is a new history). */
  private historyCreated: string | null = null;
  readonly stream: string;

  constructor(
    private readonly link: NatsLink,
    private readonly log: AppLogger,
    private readonly metrics?: Metrics,
  ) {
    this.stream = `${link.prefix}_events`;
    link.onChange((up) => {
      if (!up) this.downSince ??= Date.now();
      else {
        this.republish();
        void this.recover();
      }
    });
  }

  /**
   * A short in-memory history of every event (stream `<prefix>_events`, limits retention): core subscribers
   * receive events as before; a node that just gained a scope reads from here what was published while its
   * subscription was on its way to the server. With several regions each region's JetStream (its own domain)
   * holds its own copy: the stream's subjects draw every region's events over the NATS gateways, so they reach
   * the region whether or not a node there watches the scope yet, and a catch-up never leaves the region.
   */
  async init(history: EventHistory = DEFAULT_HISTORY): Promise<void> {
    const jsm = await natsJetStream().jetstreamManager(this.link.nc);
    const { StorageType } = natsJetStream();
    const cfg = {
      subjects: [`${this.link.prefix}.ev.>`],
      // File storage outlives a NATS restart, so a node catches up after one (memory would need replicas).
      storage: history.storage === 'memory' ? StorageType.Memory : StorageType.File,
      retention: natsJetStream().RetentionPolicy.Limits,
      discard: natsJetStream().DiscardPolicy.Old,
      max_age: natsCore().nanos(REPLAY_WINDOW_MS),
      max_bytes: history.max_bytes,
      num_replicas: history.replicas,
    };
    try {
      const existing = await jsm.streams.info(this.stream);
      const { retention: _retention, storage: _storage, ...mutable } = cfg;
      if (existing.config.storage !== cfg.storage)
        this.log.warn(
          { stream: this.stream, storage: existing.config.storage },
          'the event history keeps the storage it was created with; delete the stream to change it',
        );
      await jsm.streams.update(this.stream, mutable);
      this.historyCreated = existing.created;
    } catch (err) {
      if (!/not found/i.test((err as Error).message ?? '')) throw err;
      this.historyCreated = (await jsm.streams.add({ name: this.stream, ...cfg })).created;
    }
  }

  /** Called when this node may have missed events for good (a catch-up failed): sessions must restart. */
  onLoss(listener: () => void): void {
    this.lossListeners.add(listener);
  }

  ready(): Promise<void> {
    return this.link.nc.flush();
  }

  subject(key: string): string {
    const at = key.indexOf(':');
    return `${this.link.prefix}.ev.${key.slice(0, at)}.${key.slice(at + 1)}`;
  }

  publish(event: DomainEvent): void {
    this.metrics?.eventsPublished.inc({ type: event.type });
    const id = event.id ?? `${this.link.processKey}.${(++this.counter).toString(36)}`;
    const wire = { id, type: event.type, scope: event.scope, data: event.data, routing: event.routing };
    const subject = `${this.link.prefix}.ev.${event.scope.kind}.${event.scope.id}`;
    const tracing = activeTracing();
    // Buffered by the client while reconnecting; requests are refused with 503 once the drop is noticed (see
    // the dependency gate), and gateways catch up on what they missed from the event history.
    const headers = tracing?.inTrace() ? publishHeaders(tracing, event.type, subject, id) : undefined;
    this.send(subject, JSON.stringify(wire), headers);
    const lean = invalidationOf({ ...event, id });
    if (lean) {
      this.send(this.invalidationSubject, JSON.stringify(lean));
      // This process's own caches drop the change now, not when NATS echoes it back: the client that made it
      // may send its next request before the echo (a role created, then a channel overwrite naming it, answered
      // "Unknown role"). The echo repeats the drop, which is idempotent.
      for (const h of this.invalidations) h(lean);
    }
    this.unsettled = true;
  }

  private send(subject: string, data: string, headers?: MsgHdrs): void {
    this.link.nc.publish(subject, data, headers ? { headers } : undefined);
    if (this.unconfirmed.length === UNCONFIRMED_MAX) {
      this.unconfirmed.shift();
      if (!this.overflowing)
        this.log.warn(
          { kept: UNCONFIRMED_MAX },
          'too many unconfirmed events: the oldest are not kept to resend',
        );
      this.overflowing = true;
    }
    this.unconfirmed.push({ seq: ++this.sent, subject, data, headers });
    // Publishers that never settle (jobs, gateways) are confirmed in the background, a round trip at a time.
    this.confirmTimer ??= setTimeout(() => {
      this.confirmTimer = null;
      if (this.link.connected) void this.confirm().catch(() => undefined);
    }, CONFIRM_EVERY_MS).unref();
  }

  /** One round trip: once the server answers, everything sent before it has arrived and need not be resent. */
  private async confirm(): Promise<void> {
    const upTo = this.sent;
    await this.link.nc.flush();
    const kept = this.unconfirmed.findIndex((e) => e.seq > upTo);
    this.unconfirmed.splice(0, kept === -1 ? this.unconfirmed.length : kept);
    if (this.unconfirmed.length === 0) this.overflowing = false;
  }

  /** After a reconnect: what the server never confirmed goes out again, in order, under the same ids. */
  private republish(): void {
    if (this.unconfirmed.length === 0) return;
    const again = this.unconfirmed;
    this.unconfirmed = [];
    for (const { subject, data, headers } of again) this.send(subject, data, headers);
    this.log.info({ events: again.length }, 'resent the events the server had not confirmed before the drop');
  }

  /**
   * Resolves once the server has every event published so far (one round trip, shared by concurrent callers).
   * The api answers a request only after this: a client that saw its first request answered and then sends a
   * second one through another api instance must not see the second's events delivered before the first's.
   */
  settle(): Promise<void> {
    if (!this.unsettled) return this.settling ?? Promise.resolve();
    this.unsettled = false;
    // Cut off: nothing to wait for; the events stay unconfirmed and go out again after the reconnect.
    if (!this.link.connected) return Promise.resolve();
    let timer: NodeJS.Timeout | undefined;
    const bounded = new Promise<void>((resolve) => (timer = setTimeout(resolve, 2_000)));
    const confirmed = this.confirm().catch(() => undefined);
    const flush = Promise.race([confirmed, bounded]).finally(() => {
      clearTimeout(timer);
      if (this.settling === flush) this.settling = null;
    });
    this.settling = flush;
    return flush;
  }

  subscribe(key: string, handler: EventHandler, options: SubscribeOptions = {}): Unsubscribe {
    let interest = this.interests.get(key);
    if (!interest) {
      const handlers = new Set<EventHandler>();
      const created: Interest = {
        handlers,
        held: options.since !== undefined ? [] : null,
        sub: this.link.nc.subscribe(this.subject(key), {
          callback: (err, msg) => {
            if (err) return;
            const event = this.receive(msg);
            if (!event) return;
            // A publisher resent it after a reconnect, and the first copy did arrive.
            if (event.id && this.recent.has(event.id)) return;
            if (this.recovering) this.recovering.push({ key, event });
            else if (created.held) created.held.push(event);
            else this.dispatch(created, event);
          },
        }),
      };
      interest = created;
      this.interests.set(key, created);
      if (options.since !== undefined) void this.catchUp(key, created, options.since);
    }
    interest.handlers.add(handler);
    return () => {
      const current = this.interests.get(key);
      if (!current || !current.handlers.delete(handler) || current.handlers.size > 0) return;
      this.interests.delete(key);
      current.sub.unsubscribe();
    };
  }

  /** Outside `<prefix>.ev.>`: neither in the events stream nor matched by any scope subscription. */
  get invalidationSubject(): string {
    return `${this.link.prefix}.inv`;
  }

  subscribeInvalidations(handler: EventHandler): Unsubscribe {
    this.invalidations.add(handler);
    this.invalidationSub ??= this.link.nc.subscribe(this.invalidationSubject, {
      callback: (err, msg) => {
        if (err) return;
        const event = this.decode(msg.data);
        if (!event) return;
        const data = invalidationData.safeParse(event.data);
        if (!data.success) {
          this.log.warn({ type: event.type }, 'dropped a malformed invalidation from NATS');
          return;
        }
        for (const h of this.invalidations) h({ ...event, data: data.data });
      },
    });
    return () => {
      this.invalidations.delete(handler);
      if (this.invalidations.size === 0 && this.invalidationSub) {
        this.invalidationSub.unsubscribe();
        this.invalidationSub = null;
      }
    };
  }

  /**
   * Delivers what was published on a newly gained scope since `since` and before the subscription took effect,
   * then what arrived live meanwhile, each event once, in stream order. Failing that, nothing can prove the
   * stream complete: the loss listeners restart the sessions.
   */
  private async catchUp(key: string, interest: Interest, since: number): Promise<void> {
    const seen = new Set<string>();
    const deliver = (event: DomainEvent) => {
      if (this.interests.get(key) !== interest) return;
      this.dispatch(interest, event);
    };
    const replay = async () => {
      await this.link.nc.flush(); // the subscription is live: from here on the core subscription has everything
      const consumer = await natsJetStream()
        .jetstream(this.link.nc)
        .consumers.get(this.stream, {
          filter_subjects: this.subject(key),
          deliver_policy: natsJetStream().DeliverPolicy.StartTime,
          opt_start_time: new Date(since).toISOString(),
        });
      let pending = (await consumer.info(true)).num_pending;
      if (pending > CATCH_UP_LIMIT) throw new HistoryGone(`${pending} events to catch up on ${key}`);
      while (pending > 0) {
        const batch = await consumer.fetch({ max_messages: Math.min(pending, 500), expires: 2_000 });
        let got = 0;
        for await (const m of batch) {
          got++;
          pending = m.info.pending;
          const event = this.receive(m);
          if (!event?.id || seen.has(event.id)) continue;
          seen.add(event.id);
          deliver(event);
        }
        if (got === 0) break;
      }
    };
    try {
      await retrying(replay, (err, attempt) =>
        this.log.info({ err, key, attempt }, 'the event history is not readable yet; retrying'),
      );
    } catch (err) {
      this.log.warn({ err, key }, 'could not catch up on a newly gained scope; restarting sessions');
      for (const listener of this.lossListeners) listener();
    } finally {
      const held = interest.held ?? [];
      interest.held = null;
      for (const event of held) if (!event.id || !seen.has(event.id)) deliver(event);
    }
  }

  /** Hands an event to a scope's handlers, remembering its id for a later catch-up. */
  private dispatch(interest: Interest, event: DomainEvent): void {
    if (event.id) this.recent.add(event.id);
    for (const h of interest.handlers) h(event);
  }

  /**
   * After a reconnect: what was published on this node's scopes while it was cut off (the client resubscribed
   * them, but core NATS kept nothing meanwhile) is read from the event history and delivered, in stream order,
   * skipping what had already arrived; live events wait until then. Only if the history cannot prove itself
   * complete (the outage outlasted it, it was recreated, too much to read) do the loss listeners restart the
   * sessions.
   */
  private async recover(): Promise<void> {
    const down = this.downSince;
    this.downSince = null;
    if (down === null || this.interests.size === 0 || this.recovering) return;
    const since = down - RECOVER_MARGIN_MS;
    const held: Array<{ key: string; event: DomainEvent }> = [];
    this.recovering = held;
    this.recent.frozen = true;
    const seen = new Set<string>();
    try {
      // Right after a restart the server may not serve JetStream yet: read again until it does, within bounds.
      const read = await retrying(
        () => this.replaySince(since, seen),
        (err, attempt) =>
          this.log.info(
            { err, attempt },
            'the event history is not readable yet after a reconnect; retrying',
          ),
      );
      this.log.info(
        { events: read, scopes: this.interests.size },
        'caught up on the event history after a reconnect',
      );
    } catch (err) {
      this.log.warn({ err }, 'could not catch up after a reconnect; restarting sessions');
      for (const listener of this.lossListeners) listener();
    } finally {
      this.recovering = null;
      for (const { key, event } of held) {
        if (event.id && (seen.has(event.id) || this.recent.has(event.id))) continue;
        const interest = this.interests.get(key);
        if (!interest) continue;
        if (interest.held) interest.held.push(event);
        else this.dispatch(interest, event);
      }
      this.recent.frozen = false;
    }
  }

  /**
   * Delivers, in stream order, what the history holds on this node's scopes since `since` and not yet in
   * `seen` or recently delivered; returns how many. Throws `HistoryGone` when the history cannot prove itself
   * complete, anything else when it could not be read (worth another try).
   */
  private async replaySince(since: number, seen: Set<string>): Promise<number> {
    await this.link.nc.flush(); // the resubscriptions are in place: from here on they receive everything
    if (Date.now() - since >= REPLAY_WINDOW_MS)
      throw new HistoryGone('the outage outlasted the event history');
    if ((this.recovering?.length ?? 0) > RECOVER_LIMIT)
      throw new HistoryGone('too many live events held back while catching up');
    const jsm = await natsJetStream().jetstreamManager(this.link.nc);
    const info = await jsm.streams.info(this.stream);
    // Compared with the history this node started with: by time alone, a history made within the catch-up
    // margin before the outage would look recreated.
    if (this.historyCreated ? info.created !== this.historyCreated : Date.parse(info.created) > since)
      throw new HistoryGone('the event history was recreated during the outage');
    const consumer = await natsJetStream()
      .jetstream(this.link.nc)
      .consumers.get(this.stream, {
        filter_subjects: `${this.link.prefix}.ev.>`,
        deliver_policy: natsJetStream().DeliverPolicy.StartTime,
        opt_start_time: new Date(since).toISOString(),
      });
    let pending = (await consumer.info(true)).num_pending;
    if (pending > RECOVER_LIMIT) throw new HistoryGone(`${pending} events to catch up on`);
    let read = 0;
    while (pending > 0) {
      const batch = await consumer.fetch({ max_messages: Math.min(pending, 500), expires: 2_000 });
      let got = 0;
      for await (const m of batch) {
        got++;
        pending = m.info.pending;
        const key = this.keyOf(m.subject);
        const interest = key && this.interests.get(key);
        if (!interest) continue;
        const event = this.receive(m);
        if (!event?.id || seen.has(event.id) || this.recent.has(event.id)) continue;
        seen.add(event.id);
        read++;
        if (interest.held) interest.held.push(event);
        else this.dispatch(interest, event);
      }
      if (got === 0) break;
    }
    return read;
  }

  /** `<prefix>.ev.<kind>.<id>` -> `<kind>:<id>`. */
  private keyOf(subject: string): string | null {
    const rest = subject.slice(this.link.prefix.length + 4);
    const dot = rest.indexOf('.');
    return dot > 0 ? `${rest.slice(0, dot)}:${rest.slice(dot + 1)}` : null;
  }

  /** Scope keys this node is subscribed to (tests, metrics). */
  get activeScopes(): number {
    return this.interests.size;
  }

  /** Decodes an event from the wire; with tracing on, continues the publisher's trace in a receive span. */
  private receive(msg: Pick<Msg, 'data' | 'subject' | 'headers'>): DomainEvent | null {
    const event = this.decode(msg.data);
    const tracing = activeTracing();
    if (!event || !tracing || !msg.headers) return event;
    const parent = tracing.extract(headerCarrier(msg.headers));
    const span = tracing.startSpan(`process ${event.type}`, {
      kind: 'consumer',
      parent,
      attributes: {
        'messaging.system': 'nats',
        'messaging.destination.name': msg.subject,
        'messaging.message.id': event.id ?? '',
      },
    });
    event.trace = tracing.contextOf(span, parent);
    span.end();
    return event;
  }

  private decode(data: Uint8Array): DomainEvent | null {
    try {
      const parsed = wireEvent.safeParse(JSON.parse(Buffer.from(data).toString('utf8')));
      if (parsed.success) return parsed.data as DomainEvent;
      this.log.warn({ issues: parsed.error.issues.slice(0, 3) }, 'dropped a malformed event from NATS');
    } catch (err) {
      this.log.warn({ err }, 'dropped an unreadable event from NATS');
    }
    return null;
  }
}

/** NATS message headers as a trace-context carrier. */
export function headerCarrier(headers: MsgHdrs) {
  return {
    get: (key: string) => headers.get(key) || undefined,
    set: (key: string, value: string) => headers.set(key, value),
  };
}

/** A publish span's W3C trace context, in the headers the event travels with. */
function publishHeaders(tracing: Tracing, type: string, subject: string, id: string): MsgHdrs {
  const span = tracing.startSpan(`publish ${type}`, {
    kind: 'producer',
    attributes: {
      'messaging.system': 'nats',
      'messaging.destination.name': subject,
      'messaging.message.id': id,
    },
  });
  const headers = natsCore().headers();
  tracing.inject(headerCarrier(headers), tracing.contextOf(span));
  span.end();
  return headers;
}
