import type { AppLogger } from '@parley/observability';
import { MemoryPresenceStore, type PresenceChange, type PresenceStore } from '@parley/state';
import type { Storage } from '@parley/storage';
import type { PresenceAnnouncer } from './presence-announcer';
import { PresenceSweeper } from './presence-sweeper';

const log = { info: () => undefined, warn: () => undefined } as unknown as AppLogger;

function sweeper(presence: PresenceStore, guilds: Record<string, string[]>) {
  const announced: Array<{ user: string; status: string; guilds: string[] }> = [];
  const storage = {
    members: { listGuildIds: (userId: string) => Promise.resolve(guilds[userId] ?? []) },
  } as unknown as Storage;
  const announcer = {
    swept: (change: PresenceChange, guildIds: string[]) =>
      announced.push({ user: change.userId, status: change.after, guilds: guildIds }),
  } as unknown as PresenceAnnouncer;
  return { sweeper: new PresenceSweeper(presence, storage, announcer, log), announced };
}

describe('PresenceSweeper', () => {
  it("announces each swept user offline to the guilds they are in (the store's sweep is the edge)", async () => {
    const changes: PresenceChange[] = [
      { userId: 'u1', status: 'offline', before: 'online', after: 'offline' },
      { userId: 'u2', status: 'offline', before: 'online', after: 'offline' },
    ];
    const store = Object.assign(new MemoryPresenceStore(), {
      sweep: () => Promise.resolve(changes.splice(0)),
    });
    const { sweeper: s, announced } = sweeper(store, { u1: ['g1', 'g2'], u2: [] });
    expect(await s.sweep()).toBe(2);
    expect(announced).toEqual([
      { user: 'u1', status: 'offline', guilds: ['g1', 'g2'] },
      { user: 'u2', status: 'offline', guilds: [] },
    ]);
    expect(await s.sweep()).toBe(0);
  });

  it('does nothing with a store that cannot sweep (the monolith), and survives a failing sweep', async () => {
    const { sweeper: plain, announced } = sweeper(new MemoryPresenceStore(), {});
    expect(await plain.sweep()).toBe(0);
    const failing = Object.assign(new MemoryPresenceStore(), {
      sweep: () => Promise.reject(new Error('Redis is down')),
    });
    expect(await sweeper(failing, {}).sweeper.sweep()).toBe(0);
    expect(announced).toEqual([]);
  });
});
