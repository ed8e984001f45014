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
const config = { gateway: { routing_queue_limit: 100 } } as unknown as ParleyConfig;

/**
 * A scope a session gains through an event (here a DM opened to the user) is subscribed with a catch-up from
 * just before that event reached the node: over NATS the subscription takes effect asynchronously, and a message
 * sent into the DM at once through another api process can be published before it does (the cluster test's
 * "routing change" case lost such a message under load).
 */
describe('InterestRouter catch-up on a routing change', () => {
  it('subscribes a newly opened DM with a catch-up from before the event arrived', async () => {
    const { bus, subscriptions } = recordingBus();
    const router = new InterestRouter(
      bus,
      {} as VisibilityResolver,
      typing,
      new GatewayMetrics(new Metrics()),
      new AppLogger('silent'),
      config,
    );
    const session = new Session('s1', 'reader', 'h', new MemoryResumeStore(), 100);
    router.register(session);
    expect(subscriptions).toEqual([{ key: 'user:reader', options: undefined }]);

    const arrived = Date.now();
    const event: DomainEvent = {
      type: 'CHANNEL_CREATE',
      scope: { kind: 'user', id: 'reader' },
      data: { id: 'dm1', type: ChannelType.DM },
      routing: { userId: 'reader' },
      id: 'ev1',
    };
    const routed = router.inLane('', () => undefined);
    bus.publish(event);
    await routed;
    await router.inLane('', () => undefined);

    expect(session.dms.has('dm1')).toBe(true);
    const dm = subscriptions.find((s) => s.key === 'channel:dm1');
    expect(dm?.options?.since).toBeDefined();
    expect(dm!.options!.since!).toBeLessThanOrEqual(arrived);
  });
});
