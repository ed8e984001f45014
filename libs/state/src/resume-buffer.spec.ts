import { MemoryResumeStore, type ResumeEntry } from './resume-buffer';

const entry = (s: number): ResumeEntry => ({ s, t: 'MESSAGE_CREATE', d: `{"n":${s}}` });
const owner = { userId: 'u', tokenHash: 'h' };
/** Only the count bound: the connected bounds are tested on their own. */
const cap = (capacity: number) => ({ capacity, connectedMaxBytes: Infinity, connectedMaxAgeMs: Infinity });

describe('MemoryResumeStore', () => {
  it('replays the entries after a sequence number, in order', async () => {
    const store = new MemoryResumeStore();
    store.open('s', owner, cap(10));
    for (let i = 1; i <= 5; i++) store.append('s', entry(i));
    const result = await store.replay('s', 'h', 2);
    expect(result).toEqual({ ok: true, owner, entries: [entry(3), entry(4), entry(5)] });
    expect(await store.replay('s', 'h', 5)).toEqual({ ok: true, owner, entries: [] });
  });

  it('keeps at most its capacity and refuses a replay that would have a gap', async () => {
    const store = new MemoryResumeStore();
    store.open('s', owner, cap(3));
    for (let i = 1; i <= 7; i++) store.append('s', entry(i));
    expect(store.held('s')).toBe(3);
    expect(await store.replay('s', 'h', 4)).toEqual({
      ok: true,
      owner,
      entries: [entry(5), entry(6), entry(7)],
    });
    expect(await store.replay('s', 'h', 3)).toEqual({ ok: false, reason: 'overflow' });
  });

  it('refuses unknown sessions, other tokens and sequence numbers it never sent', async () => {
    const store = new MemoryResumeStore();
    store.open('s', owner, cap(3));
    store.append('s', entry(1));
    expect(await store.replay('x', 'h', 0)).toEqual({ ok: false, reason: 'unknown' });
    expect(await store.replay('s', 'other', 0)).toEqual({ ok: false, reason: 'token_mismatch' });
    expect(await store.replay('s', 'h', 2)).toEqual({ ok: false, reason: 'bad_seq' });
    expect(await store.replay('s', 'h', -1)).toEqual({ ok: false, reason: 'bad_seq' });
  });

  it('expires a detached session after its ttl unless attached again', async () => {
    const store = new MemoryResumeStore();
    store.open('s', owner, cap(3));
    store.append('s', entry(1));
    store.detach('s', 100, 1_000);
    expect((await store.replay('s', 'h', 1, 1_099)).ok).toBe(true);
    store.attach('s');
    expect((await store.replay('s', 'h', 1, 5_000)).ok).toBe(true);
    store.detach('s', 100, 5_000);
    expect(await store.replay('s', 'h', 1, 5_100)).toEqual({ ok: false, reason: 'expired' });
    expect(await store.replay('s', 'h', 1, 5_100)).toEqual({ ok: false, reason: 'unknown' });
  });

  it('while connected keeps only the last bytes and seconds; after a drop keeps everything up to capacity', async () => {
    const store = new MemoryResumeStore();
    const sized = (s: number): ResumeEntry => ({ s, t: 'MESSAGE_CREATE', d: 'x'.repeat(100) });
    store.open('s', owner, { capacity: 50, connectedMaxBytes: 350, connectedMaxAgeMs: 1_000 });
    for (let i = 1; i <= 10; i++) store.append('s', sized(i), 0);
    expect(store.held('s')).toBe(3); // 300 bytes fit, 400 do not
    store.append('s', sized(11), 5_000); // the others are older than a second
    expect(store.held('s')).toBe(1);
    expect(await store.replay('s', 'h', 9)).toEqual({ ok: false, reason: 'overflow' });
    expect((await store.replay('s', 'h', 10)).ok).toBe(true);

    store.detach('s', 60_000, 5_000);
    for (let i = 12; i <= 70; i++) store.append('s', sized(i), 9_000);
    expect(store.held('s')).toBe(50);
    const result = await store.replay('s', 'h', 20, 9_000);
    expect(result.ok && result.entries.map((e) => e.s)).toEqual(Array.from({ length: 50 }, (_, i) => i + 21));
  });

  it('continues the numbering of a session taken over from another node', async () => {
    const store = new MemoryResumeStore();
    store.open('s', owner, cap(10), 40);
    expect(await store.replay('s', 'h', 40)).toEqual({ ok: true, owner, entries: [] });
    store.append('s', entry(41));
    expect(await store.replay('s', 'h', 40)).toEqual({ ok: true, owner, entries: [entry(41)] });
    expect(await store.replay('s', 'h', 39)).toEqual({ ok: false, reason: 'overflow' });
  });

  it('names the events already delivered (numbered up to a sequence number), newest first kept', () => {
    const store = new MemoryResumeStore();
    store.open('s', owner, cap(10));
    store.append('s', { s: 1, t: 'READY', d: 'null' });
    for (let i = 2; i <= 6; i++) store.append('s', { ...entry(i), e: `ev${i}` });
    expect(store.deliveredIds('s', 'h', 4, 10)).toEqual(['ev2', 'ev3', 'ev4']);
    expect(store.deliveredIds('s', 'h', 4, 2)).toEqual(['ev3', 'ev4']);
    expect(store.deliveredIds('s', 'h', 99, 10)).toEqual(['ev2', 'ev3', 'ev4', 'ev5', 'ev6']);
    expect(store.deliveredIds('s', 'h', 0, 10)).toEqual([]);
    expect(store.deliveredIds('s', 'other', 4, 10)).toEqual([]);
    expect(store.deliveredIds('x', 'h', 4, 10)).toEqual([]);
  });
});
