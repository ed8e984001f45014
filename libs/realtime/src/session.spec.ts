import { MemoryResumeStore, type ResumeEntry } from '@parley/state';
import { Session } from './session';
import type { SessionConnection } from './session-connection';

/** A connection that keeps what the session sends it, in order. */
function recorder(): SessionConnection & { frames: ResumeEntry[] } {
  const frames: ResumeEntry[] = [];
  return {
    frames,
    isOpen: true,
    pending: 0,
    highWater: 0,
    send: (item) => (typeof item !== 'string' && frames.push(item), true),
    sendBacklog: (entries) => void frames.push(...entries),
    close: () => undefined,
  };
}

const owner = { userId: 'u', tokenHash: 'h' };
const limits = { capacity: 100, connectedMaxBytes: Infinity, connectedMaxAgeMs: Infinity };

/**
 * A session taken over from another gateway node (a rolling restart): the new node's bus can run behind the old
 * node's, so an event the client already got from the old node (numbered up to the client's seq) can reach the
 * new node after it started routing the session. The handover names those events (`delivered`); the new node
 * sends none of them again, whether they arrive during the handover or after RESUMED.
 */
describe('Session.adopt', () => {
  function adopted(delivered: string[]) {
    const store = new MemoryResumeStore();
    const conn = recorder();
    const session = new Session('s1', 'u', 'h', store, 100);
    session.conn = conn;
    // Routed here while the handover was in flight: a late copy of ev3 (the client has it) and a new ev5.
    session.dispatch('MESSAGE_CREATE', '{"n":3}', 'ev3');
    session.dispatch('MESSAGE_CREATE', '{"n":5}', 'ev5');
    store.open('s1', owner, limits, 3);
    // The client had seq 3 (ev3 included); the old node had numbered ev4 as 4 after that.
    const ok = session.adopt(
      4,
      [{ s: 4, t: 'MESSAGE_CREATE', d: '{"n":4}', e: 'ev4' }],
      () => '{}',
      delivered,
    );
    return { ok, conn, session };
  }

  it('skips what the client already received, during the handover and once live', () => {
    const { ok, conn, session } = adopted(['ev2', 'ev3']);
    expect(ok).toBe(true);
    // A later late copy (ev2), then a genuinely new event.
    session.dispatch('MESSAGE_CREATE', '{"n":2}', 'ev2');
    session.dispatch('MESSAGE_CREATE', '{"n":6}', 'ev6');
    expect(conn.frames.map((f) => [f.s, f.t, f.e])).toEqual([
      [4, 'MESSAGE_CREATE', 'ev4'],
      [5, 'MESSAGE_CREATE', 'ev5'],
      [6, 'RESUMED', undefined],
      [7, 'MESSAGE_CREATE', 'ev6'],
    ]);
  });

  it('without the ids (a node of an earlier version) the late copy goes out again', () => {
    const { conn } = adopted([]);
    expect(conn.frames.map((f) => f.e)).toEqual(['ev4', 'ev3', 'ev5', undefined]);
  });
});
