import type { DomainEvent, EventBus, EventHandler, SubscribeOptions } from '@parley/bus';
import { ChannelType } from '@parley/common';
import type { ParleyConfig } from '@parley/config';
import { AppLogger, Metrics } from '@parley/observability';
import { MemoryResumeStore, type TypingStore } from '@parley/state';
import { GatewayMetrics } from './gateway.metrics';
import { InterestRouter } from './interest-router';
import { Session } from './session';
import type { VisibilityResolver } from './visibility';

/** A bus that records each subscription with its options and lets the test publish to the subscribers. */
function recordingBus() {
  const subscriptions: Array<{ key: string; options?: SubscribeOptions }> = [];
  const handlers = new Map<string, EventHandler>();
  const bus: EventBus = {
    publish: (event) => handlers.get(`${event.scope.kind}:${event.scope.id}`)?.(event),
    subscribe: (key, handler, options) => {
      subscriptions.push({ key, options });
      handlers.set(key, handler);
      return () => handlers.delete(key);
    },
    subscribeInvalidations: () => () => undefined,
  };
  return { bus, subscriptions };
}

const typing: TypingStore = { start: () => true, stop: () => undefined, active: () => [] };
const config = { gateway: { routing_queue_limit: 100, fanout_slice_ms: 5 } } as unknown as ParleyConfig;

function router(bus: EventBus): InterestRouter {
  return new InterestRouter(
    bus,
    {} as VisibilityResolver,
    typing,
    new GatewayMetrics(new Metrics()),
    new AppLogger('silent'),
    config,
  );
}

/**
 * A scope a session gains through an event (here a DM opened to the user) is subscribed with a catch-up from
 * just before that event reached the node: over NATS the subscription takes effect asynchronously, and a message
 * sent into the DM at once through another api process can be published before it does (the cluster test's
 * "routing change" case lost such a message under load).
 */
describe('InterestRouter catch-up on a routing change', () => {
  it('subscribes a newly opened DM with a catch-up from before the event arrived', async () => {
    const { bus, subscriptions } = recordingBus();
    const routes = router(bus);
    const session = new Session('s1', 'reader', 'h', new MemoryResumeStore(), 100);
    routes.register(session);
    expect(subscriptions).toEqual([{ key: 'user:reader', options: undefined }]);

    const arrived = Date.now();
    const event: DomainEvent = {
      type: 'CHANNEL_CREATE',
      scope: { kind: 'user', id: 'reader' },
      data: { id: 'dm1', type: ChannelType.DM },
      routing: { userId: 'reader' },
      id: 'ev1',
    };
    const routed = routes.inLane('', () => undefined);
    bus.publish(event);
    await routed;
    await routes.inLane('', () => undefined);

    expect(session.dms.has('dm1')).toBe(true);
    const dm = subscriptions.find((s) => s.key === 'channel:dm1');
    expect(dm?.options?.since).toBeDefined();
    expect(dm!.options!.since!).toBeLessThanOrEqual(arrived);
  });
});

/**
 * A fan-out to many sessions of a node is written in slices that yield to I/O (`gateway.fanout_slice_ms`), so a
 * message into a huge guild does not hold every request and event of the node behind it. What must hold: the
 * scope's next event waits for the sliced one, so every session still gets them in order, once each.
 */
describe('InterestRouter sliced fan-out', () => {
  it("yields between slices and keeps each session's events in order", async () => {
    const { bus } = recordingBus();
    const routes = router(bus);
    routes.fanOutSliceMs = 0.000001; // yield at every check (every 256 recipients)
    const got = new Map<Session, string[]>();
    const sessions: Session[] = [];
    for (let i = 0; i < 1000; i++) {
      const session = new Session(`s${i}`, 'many', 'h', new MemoryResumeStore(), 100);
      const seen: string[] = [];
      got.set(session, seen);
      session.conn = {
        isOpen: true,
        pending: 0,
        highWater: 0,
        send: (item) => (typeof item !== 'string' && item.t !== 'READY' && seen.push(item.d), true),
        sendBacklog: () => undefined,
        close: () => undefined,
      };
      session.start('{}');
      routes.register(session);
      sessions.push(session);
    }
    const event = (n: number): DomainEvent => ({
      type: 'USER_GUILD_SETTINGS_UPDATE',
      scope: { kind: 'user', id: 'many' },
      data: { n },
      id: `ev${n}`,
    });
    bus.publish(event(1));
    bus.publish(event(2));
    // The first slice went out at once; the rest waits for the next turns.
    const early = sessions.filter((s) => got.get(s)!.length > 0).length;
    expect(early).toBeGreaterThan(0);
    expect(early).toBeLessThan(1000);
    await routes.inLane('', () => undefined);
    for (const session of sessions) expect(got.get(session)).toEqual(['{"n":1}', '{"n":2}']);
  });
});
