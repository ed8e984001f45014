import { Injectable, Optional } from '@nestjs/common';
import { activeTracing, AppLogger, Metrics } from '@parley/observability';
import {
  type DomainEvent,
  type EventBus,
  type EventHandler,
  invalidationOf,
  scopeKey,
  type Unsubscribe,
} from './events';

/**
 * In-process delivery in publish order, per scope and overall. Events are delivered right after the current
 * turn of the event loop (`setImmediate`), not inside `publish`: the request that published answers first, and
 * a fan-out to thousands of sockets no longer holds its HTTP response (a send to a 10,000-member channel
 * answered only once every frame was written). Delivery still precedes any request read after that turn, so a
 * client that got the answer to a change never sees the state before it.
 */
@Injectable()
export class InProcessEventBus implements EventBus {
  private readonly byKey = new Map<string, Set<EventHandler>>();
  private readonly all = new Set<EventHandler>();
  private readonly invalidations = new Set<EventHandler>();
  private queue: DomainEvent[] = [];
  private scheduled = false;

  constructor(
    @Optional() private readonly metrics?: Metrics,
    @Optional() private readonly log?: AppLogger,
  ) {}

  publish(event: DomainEvent): void {
    this.metrics?.eventsPublished.inc({ type: event.type });
    const tracing = activeTracing();
    if (tracing?.inTrace()) {
      const span = tracing.startSpan(`publish ${event.type}`, {
        kind: 'producer',
        attributes: {
          'messaging.system': 'parley.in_process',
          'messaging.destination.name': scopeKey(event.scope),
        },
      });
      event.trace = tracing.contextOf(span);
      span.end();
    }
    this.queue.push(event);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Delivers everything published so far (also what handlers publish while it runs), in order. */
  flush(): void {
    this.scheduled = false;
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      for (const event of batch) this.deliver(event);
    }
  }

  private deliver(event: DomainEvent): void {
    for (const handler of this.all) this.call(handler, event);
    if (this.invalidations.size > 0) {
      const lean = invalidationOf(event);
      if (lean) for (const handler of this.invalidations) this.call(handler, lean);
    }
    const handlers = this.byKey.get(scopeKey(event.scope));
    if (handlers) for (const handler of handlers) this.call(handler, event);
  }

  private call(handler: EventHandler, event: DomainEvent): void {
    try {
      handler(event);
    } catch (err) {
      // One failing subscriber must not stop delivery to the others (nor crash the process).
      this.log?.error({ err, type: event.type }, 'event handler failed');
    }
  }

  subscribe(key: string, handler: EventHandler): Unsubscribe {
    let handlers = this.byKey.get(key);
    if (!handlers) this.byKey.set(key, (handlers = new Set()));
    handlers.add(handler);
    return () => {
      const set = this.byKey.get(key);
      if (!set) return;
      set.delete(handler);
      if (set.size === 0) this.byKey.delete(key);
    };
  }

  /** Every event (tests); processes use scoped subscriptions and the invalidation stream. */
  subscribeAll(handler: EventHandler): Unsubscribe {
    this.all.add(handler);
    return () => this.all.delete(handler);
  }

  subscribeInvalidations(handler: EventHandler): Unsubscribe {
    this.invalidations.add(handler);
    return () => this.invalidations.delete(handler);
  }

  /** Scopes with at least one subscriber (for tests and metrics). */
  get activeScopes(): number {
    return this.byKey.size;
  }
}
