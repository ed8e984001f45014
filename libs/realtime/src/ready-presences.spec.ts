import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@parley/config';
import type { PresenceStore } from '@parley/state';
import { SqliteStorage } from '@parley/storage';
import { ReadyPresences } from './ready-presences';

// Whether a guild is "large" (no connect/disconnect presence fan-out) comes from its maintained member
// count; when that count cannot be read the guild is treated as large, never as small.
describe('ReadyPresences.large', () => {
  const config = loadConfig({ env: {} });
  let dir: string;
  let storage: SqliteStorage;
  // Presence lookups are not reached by large(); the store is never called.
  const presence = {} as PresenceStore;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-large-'));
    storage = new SqliteStorage({ ...config.database.sqlite, path: join(dir, 'parley.db') });
    await storage.migrate();
  });

  afterEach(async () => {
    await storage.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  const withThreshold = (threshold: number) => ({
    ...config,
    gateway: { ...config.gateway, presence_large_threshold: threshold },
  });

  it('tells large from small by the maintained member count', async () => {
    const owner = { guildId: '10', userId: '1', nick: null, roles: [], joinedAt: 1 };
    await storage.guilds.createWithDefaults(
      { id: '10', name: 'g', icon: null, ownerId: '1', createdAt: 1, defaultMessageNotifications: 0 },
      {
        id: '10',
        guildId: '10',
        name: '@everyone',
        permissions: '0',
        color: 0,
        position: 0,
        mentionable: false,
      },
      [],
      owner,
    );
    for (const userId of ['2', '3']) await storage.members.add({ ...owner, userId });
    const presences = new ReadyPresences(withThreshold(2), storage, presence);
    expect(await presences.large(['10', '11'])).toEqual(new Set(['10']));
  });

  it('treats a guild whose count fails as large', async () => {
    const presences = new ReadyPresences(withThreshold(2), storage, presence);
    expect(await presences.large(['12'])).toEqual(new Set()); // no members: small
    await storage.close(); // every read now fails
    expect(await presences.large(['13'])).toEqual(new Set(['13']));
  });
});
