import { type ListMember, type ListOptions, MemberList } from './member-list';
import { ListCopy } from './list-copy';

/** Deterministic PRNG (mulberry32): a failing seed reproduces. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STATUSES = ['online', 'idle', 'dnd', 'offline'] as const;
const ROLES = ['mods', 'staff', 'plain', 'hidden'];

function options(large: boolean): ListOptions {
  return {
    hoisted: ['mods', 'staff'],
    large,
    includes: (m) => !m.roles.includes('hidden'),
    item: (m) => ({ user: { id: m.userId }, name: m.sortName, status: m.status }),
  };
}

describe('MemberList', () => {
  it('groups hoisted roles, then online, then offline, each by name; empty groups left out', () => {
    const list = new MemberList<string>('everyone', options(false));
    const m = (userId: string, sortName: string, status: ListMember['status'], roles: string[] = []) =>
      list.set(userId, { userId, sortName, status, roles });
    m('1', 'zed', 'online');
    m('2', 'amy', 'offline', ['mods']);
    m('3', 'bob', 'idle', ['staff', 'mods']);
    m('4', 'cat', 'online', ['staff']);
    m('5', 'ann', 'online');
    m('6', 'hid', 'online', ['hidden']);
    expect(list.items()).toEqual([
      { group: { id: 'mods', count: 1 } },
      { member: { user: { id: '3' }, name: 'bob', status: 'idle' } },
      { group: { id: 'staff', count: 1 } },
      { member: { user: { id: '4' }, name: 'cat', status: 'online' } },
      { group: { id: 'online', count: 2 } },
      { member: { user: { id: '5' }, name: 'ann', status: 'online' } },
      { member: { user: { id: '1' }, name: 'zed', status: 'online' } },
      { group: { id: 'offline', count: 1 } },
      { member: { user: { id: '2' }, name: 'amy', status: 'offline' } },
    ]);
    expect(list.memberCount).toBe(5);
    expect(list.onlineCount).toBe(4);
  });

  it('a large list counts offline members and does not list them', () => {
    const list = new MemberList<string>('everyone', options(true));
    list.set('1', { userId: '1', sortName: 'a', status: 'offline', roles: [] });
    list.set('2', { userId: '2', sortName: 'b', status: 'dnd', roles: [] });
    expect(list.groups()).toEqual([{ id: 'online', count: 1 }]);
    expect(list.memberCount).toBe(2);
    expect(list.length).toBe(2);
  });

  it('sends a change only to subscribers whose ranges it touches or shifts', () => {
    const list = new MemberList<string>('everyone', options(false));
    for (let i = 0; i < 300; i++)
      list.set(`u${i}`, {
        userId: `u${i}`,
        sortName: `n${String(i).padStart(3, '0')}`,
        status: 'offline',
        roles: [],
      });
    list.subscribe('top', [[0, 99]]);
    list.subscribe('bottom', [[200, 299]]);
    list.flush();
    // A member changes in place near the end of the list: only the bottom range is told.
    list.set('u250', { userId: 'u250', sortName: 'n250', status: 'offline', roles: ['plain'] });
    let sent = list.flush();
    expect(sent.has('top')).toBe(false);
    expect(sent.get('bottom')).toEqual([expect.objectContaining({ op: 'UPDATE', index: 251 })]);
    // One comes online: a new group at the top shifts every row, so both ranges hear it; the offline header's
    // new count comes last, at its new place.
    list.set('u250', { userId: 'u250', sortName: 'n250', status: 'online', roles: [] });
    sent = list.flush();
    expect(sent.get('top')).toEqual([
      expect.objectContaining({ op: 'INSERT', index: 0 }),
      expect.objectContaining({ op: 'INSERT', index: 1 }),
      { op: 'UPDATE', index: 2, item: { group: { id: 'offline', count: 299 } } },
    ]);
    expect(sent.has('bottom')).toBe(true);
  });

  it('coalesces header counts: a burst of presence changes is one UPDATE of each header per subscriber per flush', () => {
    const list = new MemberList<string>('everyone', options(false));
    const member = (i: number, status: ListMember['status']): ListMember => ({
      userId: `u${i}`,
      sortName: `n${String(i).padStart(3, '0')}`,
      status,
      roles: [],
    });
    for (let i = 0; i < 300; i++) list.set(`u${i}`, member(i, i < 10 ? 'online' : 'offline'));
    list.subscribe('top', [[0, 99]]);
    // Its range ends before every change below: it hears none of them, headers included.
    list.subscribe('middle', [[150, 160]]);
    list.flush();

    // Twenty members far down the offline group come online, one at a time, in one flush window.
    for (let i = 200; i < 220; i++) list.set(`u${i}`, member(i, 'online'));
    const sent = list.flush().get('top') ?? [];
    const headerOps = sent.filter((o) => o.op === 'UPDATE' && 'group' in o.item);
    expect(headerOps).toEqual([
      { op: 'UPDATE', index: 0, item: { group: { id: 'online', count: 30 } } },
      { op: 'UPDATE', index: 31, item: { group: { id: 'offline', count: 270 } } },
    ]);
    // The rows themselves still arrive one INSERT each (DELETEs past the range are not sent).
    expect(sent.filter((o) => o.op === 'INSERT')).toHaveLength(20);

    // Counts that went up and back down within a window still end in one UPDATE with the count then.
    list.set('u5', member(5, 'offline'));
    list.set('u5', member(5, 'online'));
    const again = list.flush().get('top') ?? [];
    expect(again.filter((o) => o.op === 'UPDATE' && 'group' in o.item)).toEqual([
      { op: 'UPDATE', index: 0, item: { group: { id: 'online', count: 30 } } },
      { op: 'UPDATE', index: 31, item: { group: { id: 'offline', count: 270 } } },
    ]);
    // Nothing changed: nothing to send.
    expect(list.flush().size).toBe(0);
  });

  it('a subscription in a flush window replaces what its subscriber had collected', () => {
    const list = new MemberList<string>('everyone', options(false));
    list.set('u1', { userId: 'u1', sortName: 'a', status: 'online', roles: [] });
    list.subscribe('s', [[0, 9]]);
    // Sorted before u1: applied again after the SYNC, its INSERT would show u2 twice.
    list.set('u2', { userId: 'u2', sortName: '0', status: 'online', roles: [] });
    const copy = new ListCopy();
    copy.apply(list.groups(), list.subscribe('s', [[0, 9]]));
    copy.apply(list.groups(), list.flush().get('s') ?? []);
    expect(copy.range(0, 9)).toEqual(list.items(0, 9));
  });

  // The property: whatever happens, a client that applies what it was sent holds exactly the server's rows in
  // each of its ranges.
  // Flushed after every change, or (as the gateway does) once per window of several changes.
  it.each([
    [1, 1],
    [2, 1],
    [3, 1],
    [4, 1],
    [5, 1],
    [6, 1],
    [7, 1],
    [8, 1],
    [1, 7],
    [2, 7],
    [3, 13],
    [4, 13],
  ])('keeps every subscriber copy exact (seed %i, a flush every %i changes)', (seed, window) => {
    const random = prng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
    let large = false;
    const list = new MemberList<string>('everyone', options(large));
    const state = new Map<string, ListMember>();
    const subscribers: Record<string, Array<[number, number]>> = {
      a: [[0, 9]],
      b: [
        [0, 9],
        [10, 19],
      ],
      c: [[15, 24]],
      d: [
        [5, 8],
        [30, 59],
      ],
    };
    const copies = new Map<string, ListCopy>();
    const check = () => {
      for (const [s, ops] of list.flush()) copies.get(s)?.apply(list.groups(), ops);
      for (const [s, ranges] of Object.entries(subscribers)) {
        const copy = copies.get(s);
        if (!copy) continue;
        for (const [a, b] of ranges) expect(copy.range(a, b)).toEqual(list.items(a, b));
      }
    };
    for (let step = 0; step < 600; step++) {
      const r = random();
      if (step % 50 === 0) {
        const s = pick(Object.keys(subscribers));
        const copy = new ListCopy();
        copy.apply(list.groups(), list.subscribe(s, subscribers[s]));
        copies.set(s, copy);
      } else if (r < 0.5) {
        const userId = `u${Math.floor(random() * 60)}`;
        const roles = ROLES.filter(() => random() < 0.25);
        const member: ListMember = {
          userId,
          sortName: pick(['amy', 'bob', 'cat', 'dan', 'eve', 'fay']),
          status: pick(STATUSES),
          roles,
        };
        state.set(userId, member);
        list.set(userId, member);
      } else if (r < 0.75) {
        const current = state.get(`u${Math.floor(random() * 60)}`);
        if (current) {
          const member = { ...current, status: pick(STATUSES) };
          state.set(member.userId, member);
          list.set(member.userId, member);
        }
      } else if (r < 0.97) {
        const userId = `u${Math.floor(random() * 60)}`;
        state.delete(userId);
        list.set(userId, null);
      } else {
        large = !large;
        list.reset(options(large), state.values());
      }
      if (step % window === window - 1) check();
    }
    check();
    expect(list.memberCount).toBe([...state.values()].filter((m) => !m.roles.includes('hidden')).length);
  });
});
