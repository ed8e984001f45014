import { Injectable, Optional } from '@nestjs/common';
import { Metrics } from '@parley/observability';
import { type DomainEvent, type EventBus, type EventHandler, scopeKey, type Unsubscribe } from './events';

/** Synchronous in-process delivery: publish order is delivery order, per scope and overall. */
@Injectable()
export class InProcessEventBus implements EventBus {
  private readonly byKey = new Map<string, Set<EventHandler>>();
  private readonly all = new Set<EventHandler>();

  constructor(@Optional() private readonly metrics?: Metrics) {}

  publish(event: DomainEvent): void {
    this.metrics?.eventsPublished.inc({ type: event.type });
    for (const handler of this.all) handler(event);
    const handlers = this.byKey.get(scopeKey(event.scope));
    if (handlers) for (const handler of handlers) handler(event);
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

  subscribeAll(handler: EventHandler): Unsubscribe {
    this.all.add(handler);
    return () => this.all.delete(handler);
  }

  /** Scopes with at least one subscriber (for tests and metrics). */
  get activeScopes(): number {
    return this.byKey.size;
  }
}
