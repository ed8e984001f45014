import { InProcessEventBus } from './in-process-bus';
import type { DomainEvent } from './events';

const event = (id: string, type: DomainEvent['type'] = 'MESSAGE_CREATE'): DomainEvent => ({
  type,
  scope: { kind: 'channel', id: 'c1', guildId: 'g1' },
  data: { id },
});
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('InProcessEventBus', () => {
  it('delivers after the publishing turn, in publish order, to catch-all then scoped handlers', async () => {
    const bus = new InProcessEventBus();
    const seen: string[] = [];
    bus.subscribeAll((e) => seen.push(`all:${(e.data as { id: string }).id}`));
    bus.subscribe('channel:c1', (e) => seen.push(`c1:${(e.data as { id: string }).id}`));
    bus.subscribe('channel:c2', () => seen.push('c2'));
    bus.publish(event('1'));
    bus.publish(event('2'));
    expect(seen).toEqual([]); // the publisher's request answers first
    await turn();
    expect(seen).toEqual(['all:1', 'c1:1', 'all:2', 'c1:2']);
  });

  it('delivers what a handler publishes after what was already queued, in the same flush', async () => {
    const bus = new InProcessEventBus();
    const seen: string[] = [];
    bus.subscribe('channel:c1', (e) => {
      const id = (e.data as { id: string }).id;
      seen.push(id);
      if (id === '1') bus.publish(event('3'));
    });
    bus.publish(event('1'));
    bus.publish(event('2'));
    await turn();
    expect(seen).toEqual(['1', '2', '3']);
  });

  it('keeps delivering to the other handlers when one throws', async () => {
    const bus = new InProcessEventBus();
    const seen: string[] = [];
    bus.subscribe('channel:c1', () => {
      throw new Error('broken subscriber');
    });
    bus.subscribe('channel:c1', () => seen.push('second'));
    bus.publish(event('1'));
    await turn();
    expect(seen).toEqual(['second']);
  });

  it('sends cache holders only the lean copy of invalidating events', async () => {
    const bus = new InProcessEventBus();
    const seen: DomainEvent[] = [];
    bus.subscribeInvalidations((e) => seen.push(e));
    bus.publish(event('1'));
    bus.publish({
      type: 'GUILD_MEMBER_UPDATE',
      scope: { kind: 'guild', id: 'g1' },
      data: { guild_id: 'g1', user: { id: 'u1', username: 'alice' }, roles: ['r1'], nick: 'a' },
    });
    await turn();
    expect(seen).toEqual([
      {
        type: 'GUILD_MEMBER_UPDATE',
        scope: { kind: 'guild', id: 'g1' },
        data: { guild_id: 'g1', user: { id: 'u1' } },
      },
    ]);
  });
});
