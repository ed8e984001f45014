import { MemoryPresenceStore } from './presence';

describe('MemoryPresenceStore', () => {
  it('is online from the first session, keeps the chosen status across sessions, offline after the last', async () => {
    const store = new MemoryPresenceStore();
    expect(await store.connect('u', 's1')).toMatchObject({
      before: 'offline',
      after: 'online',
      status: 'online',
    });
    expect(await store.setStatus('u', 'dnd')).toMatchObject({ before: 'online', after: 'dnd' });
    expect(await store.connect('u', 's2')).toMatchObject({ before: 'dnd', after: 'dnd' });
    expect(await store.disconnect('u', 's1')).toMatchObject({ before: 'dnd', after: 'dnd' });
    expect(await store.disconnect('u', 's2')).toMatchObject({
      before: 'dnd',
      after: 'offline',
      status: 'offline',
    });
    expect(store.size).toBe(0);
  });

  it('shows invisible as offline to others but keeps it as the user’s own status', async () => {
    const store = new MemoryPresenceStore();
    await store.connect('u', 's');
    expect(await store.setStatus('u', 'invisible')).toMatchObject({
      before: 'online',
      after: 'offline',
      status: 'invisible',
    });
    expect(await store.visible(['u', 'nobody'])).toEqual(
      new Map([
        ['u', 'offline'],
        ['nobody', 'offline'],
      ]),
    );
    // Invisible is still connected: nobody is pushed while a session is live.
    expect(await store.connected(['u', 'nobody'])).toEqual(new Set(['u']));
    await store.disconnect('u', 's');
    expect(await store.connected(['u'])).toEqual(new Set());
  });

  it('ignores a status set without any session', async () => {
    const store = new MemoryPresenceStore();
    expect(await store.setStatus('u', 'idle')).toMatchObject({ before: 'offline', after: 'offline' });
    expect(await store.connect('u', 's')).toMatchObject({ after: 'online' });
  });
});
