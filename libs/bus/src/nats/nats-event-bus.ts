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

const SCOPE_KINDS = ['guild', 'channel', 'user'] as const;

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
const RECENT_MAX = 200_000;

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
  private settling: Promise<void> | null = null;
  private readonly lossListeners = new Set<() => void>();
  private readonly recent = new RecentIds(RECENT_WINDOW_MS, RECENT_MAX);
  /** When the connection was seen to drop (null while connected). */
  private downSince: number | null = null;
  /** While catching up after a reconnect: live events held back until the history has been delivered. */
  private recovering: Array<{ key: string; event: DomainEvent }> | null = null;
  readonly stream: string;

  constructor(
    private readonly link: NatsLink,
    private readonly log: AppLogger,
    private readonly metrics?: Metrics,
  ) {
    this.stream = `${link.prefix}_events`;
    link.onChange((up) => {
      if (!up) this.downSince ??= Date.now();
      else void this.recover();
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
    } catch (err) {
      if (!/not found/i.test((err as Error).message ?? '')) throw err;
      await jsm.streams.add({ name: this.stream, ...cfg });
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
    this.link.nc.publish(
      subject,
      JSON.stringify(wire),
      tracing?.inTrace() ? { headers: publishHeaders(tracing, event.type, subject, id) } : undefined,
    );
    const lean = invalidationOf({ ...event, id });
    if (lean) this.link.nc.publish(this.invalidationSubject, JSON.stringify(lean));
    this.unsettled = true;
  }

  /**
   * Resolves once the server has every event published so far (one round trip, shared by concurrent callers).
   * The api answers a request only after this: a client that saw its first request answered and then sends a
   * second one through another api instance must not see the second's events delivered before the first's.
   */
  settle(): Promise<void> {
    if (!this.unsettled) return this.settling ?? Promise.resolve();
    this.unsettled = false;
    // Cut off: the client would wait for the reconnect; the gateways restart their sessions instead.
    if (!this.link.connected) return Promise.resolve();
    let timer: NodeJS.Timeout | undefined;
    const bounded = new Promise<void>((resolve) => (timer = setTimeout(resolve, 2_000)));
    const flush = Promise.race([this.link.nc.flush(), bounded]).finally(() => {
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
    try {
      await this.link.nc.flush(); // the subscription is live: from here on the core subscription has everything
      const consumer = await natsJetStream()
        .jetstream(this.link.nc)
        .consumers.get(this.stream, {
          filter_subjects: this.subject(key),
          deliver_policy: natsJetStream().DeliverPolicy.StartTime,
          opt_start_time: new Date(since).toISOString(),
        });
      let pending = (await consumer.info(true)).num_pending;
      if (pending > CATCH_UP_LIMIT) throw new Error(`${pending} events to catch up on ${key}`);
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
    let read = 0;
    try {
      await this.link.nc.flush(); // the resubscriptions are in place: from here on they receive everything
      if (Date.now() - since >= REPLAY_WINDOW_MS) throw new Error('the outage outlasted the event history');
      const jsm = await natsJetStream().jetstreamManager(this.link.nc);
      const info = await jsm.streams.info(this.stream);
      if (Date.parse(info.created) > since)
        throw new Error('the event history was recreated during the outage');
      const consumer = await natsJetStream()
        .jetstream(this.link.nc)
        .consumers.get(this.stream, {
          filter_subjects: `${this.link.prefix}.ev.>`,
          deliver_policy: natsJetStream().DeliverPolicy.StartTime,
          opt_start_time: new Date(since).toISOString(),
        });
      let pending = (await consumer.info(true)).num_pending;
      if (pending > RECOVER_LIMIT) throw new Error(`${pending} events to catch up on`);
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
