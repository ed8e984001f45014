import { MemoryResumeStore, type ResumeEntry } from './resume-buffer';

const entry = (s: number): ResumeEntry => ({ s, t: 'MESSAGE_CREATE', d: `{"n":${s}}` });
const owner = { userId: 'u', tokenHash: 'h' };

describe('MemoryResumeStore', () => {
  it('replays the entries after a sequence number, in order', async () => {
    const store = new MemoryResumeStore();
    store.open('s', owner, 10);
    for (let i = 1; i <= 5; i++) store.append('s', entry(i));
    const result = await store.replay('s', 'h', 2);
    expect(result).toEqual({ ok: true, owner, entries: [entry(3), entry(4), entry(5)] });
    expect(await store.replay('s', 'h', 5)).toEqual({ ok: true, owner, entries: [] });
  });

  it('keeps at most its capacity and refuses a replay that would have a gap', async () => {
    const store = new MemoryResumeStore();
    store.open('s', owner, 3);
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
    store.open('s', owner, 3);
    store.append('s', entry(1));
    expect(await store.replay('x', 'h', 0)).toEqual({ ok: false, reason: 'unknown' });
    expect(await store.replay('s', 'other', 0)).toEqual({ ok: false, reason: 'token_mismatch' });
    expect(await store.replay('s', 'h', 2)).toEqual({ ok: false, reason: 'bad_seq' });
    expect(await store.replay('s', 'h', -1)).toEqual({ ok: false, reason: 'bad_seq' });
  });

  it('expires a detached session after its ttl unless attached again', async () => {
    const store = new MemoryResumeStore();
    store.open('s', owner, 3);
    store.append('s', entry(1));
    store.detach('s', 100, 1_000);
    expect((await store.replay('s', 'h', 1, 1_099)).ok).toBe(true);
    store.attach('s');
    expect((await store.replay('s', 'h', 1, 5_000)).ok).toBe(true);
    store.detach('s', 100, 5_000);
    expect(await store.replay('s', 'h', 1, 5_100)).toEqual({ ok: false, reason: 'expired' });
    expect(await store.replay('s', 'h', 1, 5_100)).toEqual({ ok: false, reason: 'unknown' });
  });
});
