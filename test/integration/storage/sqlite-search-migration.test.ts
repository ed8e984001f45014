import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SnowflakeGenerator } from '@parley/common';
import { SqliteStorage, defaultMigrationsDir, type MessageRecord } from '@parley/storage';
import { messageRecord } from '@parley/storage/testing';

/**
 * Migration 0005 on a database that already holds messages: the FTS index is created and backfilled; and
 * messages edited or deleted while still waiting for the indexer are indexed by their latest text, or not at all.
 */
describe('sqlite search index', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'parley-search-migration-'));
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('indexes the messages written before it', async () => {
    const before = join(dir, 'before-0005');
    cpSync(defaultMigrationsDir(), before, { recursive: true });
    // Only 0005 is left out: today's writes need the columns of every later migration, and none of them
    // depends on the search index (the migrator applies a missing earlier migration after later ones).
    for (const file of readdirSync(before)) if (Number(file.slice(0, 4)) === 5) rmSync(join(before, file));
    const settings = {
      path: join(dir, 'existing.db'),
      max_open_conns: 1,
      busy_timeout: 5000,
      cache_size: -2000,
      mmap_size: 0,
      synchronous: 'NORMAL' as const,
      wal_autocheckpoint: 1000,
    };
    const ids = new SnowflakeGenerator(1, 2);
    const channelId = ids.next();
    const old = new SqliteStorage(settings, before);
    await old.migrate();
    const messages: MessageRecord[] = ['the old harbour', 'harbour lights', 'nothing here'].map((content) =>
      messageRecord({ id: ids.next(), channelId, authorId: '1', content }),
    );
    for (const m of messages) await old.messages.create(m);
    await old.close();

    const upgraded = new SqliteStorage(settings, defaultMigrationsDir());
    expect(await upgraded.migrate()).toContain('0005_message_search');
    const result = await upgraded.messageSearch.search({
      guildId: null,
      channelIds: [channelId],
      terms: [{ tokens: ['harbour'], prefix: false }],
      authorIds: [],
      mentions: [],
      has: [],
      offset: 0,
      limit: 25,
    });
    expect(result.total).toBe(2);
    expect(result.messages.map((m) => m.id)).toEqual([messages[1].id, messages[0].id]);
    await upgraded.close();
  });

  it('indexes a message edited before the indexer ran by its new text, and forgets one deleted before it', async () => {
    const storage = new SqliteStorage({
      path: join(dir, 'pending.db'),
      max_open_conns: 1,
      busy_timeout: 5000,
      cache_size: -2000,
      mmap_size: 0,
      synchronous: 'NORMAL',
      wal_autocheckpoint: 1000,
    });
    await storage.migrate();
    const ids = new SnowflakeGenerator(1, 3);
    const channelId = ids.next();
    const make = (content: string): MessageRecord =>
      messageRecord({ id: ids.next(), channelId, authorId: '1', content });
    const edited = make('walrus draft');
    const deleted = make('walrus gone');
    // Written, edited and deleted in one turn of the event loop: the 200 ms indexer cannot have run yet.
    await Promise.all([storage.messages.create(edited), storage.messages.create(deleted)]);
    await storage.messages.update(channelId, edited.id, { content: 'narwhal final', editedAt: Date.now() });
    await storage.messages.delete(channelId, deleted.id);
    const find = async (word: string) =>
      (
        await storage.messageSearch.search({
          guildId: null,
          channelIds: [channelId],
          terms: [{ tokens: [word], prefix: false }],
          authorIds: [],
          mentions: [],
          has: [],
          offset: 0,
          limit: 25,
        })
      ).messages.map((m) => m.id);
    expect(await find('walrus')).toEqual([]);
    expect(await find('narwhal')).toEqual([edited.id]);
    expect(storage.messageSearch.indexPending()).toBe(0);
    await storage.close();
  });
});
