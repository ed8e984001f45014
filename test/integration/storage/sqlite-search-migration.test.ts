import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SnowflakeGenerator } from '@parley/common';
import { SqliteStorage, defaultMigrationsDir, type MessageRecord } from '@parley/storage';
import { messageRecord, searchWord } from '@parley/storage/testing';

/**
 * Migrations 0005, 0042 and 0049 on a database that already holds messages: the FTS index is created and
 * backfilled (0042 and 0049 rebuild the index before them in their own format, messages still pending
 * included); and messages edited or deleted while still waiting for the indexer are indexed by their latest
 * text, or not at all.
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
    // Only 0005, 0042 and 0049 (which rebuild 0005's index) are left out: today's writes need the columns of every
    // later migration, and none of them depends on the search index (the migrator applies a missing earlier
    // migration after later ones).
    for (const file of readdirSync(before))
      if ([5, 42, 49].includes(Number(file.slice(0, 4)))) rmSync(join(before, file));
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
    expect(await upgraded.migrate()).toEqual(
      expect.arrayContaining([
        '0005_message_search',
        '0042_message_search_scope',
        '0049_message_search_tombstones',
      ]),
    );
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

  it('0042 and 0049 rebuild the index of 0005 in their format, messages still pending included', async () => {
    const before = join(dir, 'before-0042');
    cpSync(defaultMigrationsDir(), before, { recursive: true });
    for (const file of readdirSync(before))
      if ([42, 49].includes(Number(file.slice(0, 4)))) rmSync(join(before, file));
    const settings = {
      path: join(dir, 'format-0005.db'),
      max_open_conns: 1,
      busy_timeout: 5000,
      cache_size: -2000,
      mmap_size: 0,
      synchronous: 'NORMAL' as const,
      wal_autocheckpoint: 1000,
    };
    const ids = new SnowflakeGenerator(1, 4);
    const guildId = ids.next();
    const [general, random] = [ids.next(), ids.next()];
    const old = new SqliteStorage(settings, before);
    await old.migrate();
    const messages: MessageRecord[] = [
      [general, 'the old harbour'],
      [random, 'harbour lights'],
      [general, 'harbour pending'],
    ].map(([channelId, content]) =>
      messageRecord({ id: ids.next(), channelId, guildId, authorId: '1', content }),
    );
    for (const m of messages) await old.messages.create(m);
    old.messages.flush();
    // Index the first two the way 0005's driver did (rowid = message id); the third stays pending.
    const db = (old as unknown as { db: { raw: import('better-sqlite3').Database } }).db.raw;
    for (const m of messages.slice(0, 2)) {
      db.prepare(
        'INSERT INTO messages_fts (rowid, content) SELECT id, content FROM messages WHERE id = ?',
      ).run(BigInt(m.id));
      db.prepare('DELETE FROM messages_fts_pending WHERE id = ?').run(BigInt(m.id));
    }
    await old.close();

    const upgraded = new SqliteStorage(settings, defaultMigrationsDir());
    expect(await upgraded.migrate()).toEqual(['0042_message_search_scope', '0049_message_search_tombstones']);
    const search = (channelIds: string[], word: string) => searchWord(upgraded, guildId, channelIds, word);
    expect(await search([general, random], 'harbour')).toEqual([
      messages[2].id,
      messages[1].id,
      messages[0].id,
    ]);
    expect(await search([general], 'harbour')).toEqual([messages[2].id, messages[0].id]);
    expect(await search([random], 'harbour')).toEqual([messages[1].id]);
    // The guild's scope token is not a word of the messages, nor is a channel's.
    expect(await search([general, random], `g${guildId}`)).toEqual([]);
    expect(await search([general], `c${general}`)).toEqual([]);
    // Deletes and edits after the rebuild leave the index consistent (by rowid: 0049's tombstones).
    await upgraded.messages.delete(general, messages[0].id);
    await upgraded.messages.update(random, messages[1].id, { content: 'lighthouse', editedAt: Date.now() });
    expect(await search([general, random], 'harbour')).toEqual([messages[2].id]);
    expect(await search([random], 'lighthouse')).toEqual([messages[1].id]);
    const raw = (upgraded as unknown as { db: { raw: import('better-sqlite3').Database } }).db.raw;
    // FTS5's own check of the index structure: it throws on a corrupt index.
    expect(() =>
      raw.prepare("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 0)").run(),
    ).not.toThrow();
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
    const find = (word: string) => searchWord(storage, null, [channelId], word);
    expect(await find('walrus')).toEqual([]);
    expect(await find('narwhal')).toEqual([edited.id]);
    expect(storage.messageSearch.indexPending()).toBe(0);
    await storage.close();
  });
});
