import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOT_QUERIES, SqliteStorage, type HotQueryName } from '@parley/storage';

/** Every hot read must be a range scan or key lookup of an index, never a scan of a big table. */
describe('sqlite hot query plans', () => {
  let dir: string;
  let storage: SqliteStorage;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-plan-'));
    storage = new SqliteStorage({
      path: join(dir, 'plan.db'),
      max_open_conns: 1,
      busy_timeout: 5000,
      cache_size: -2000,
      mmap_size: 0,
      synchronous: 'NORMAL',
      wal_autocheckpoint: 1000,
    });
    await storage.migrate();
  });

  afterAll(async () => {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const indexed = /\bUSING (COVERING INDEX|INDEX|INTEGER PRIMARY KEY|PRIMARY KEY)\b/;
  const tableScan = /^SCAN (messages|members|reactions|reaction_counts)\b(?! USING)/;
  const names = Object.keys(HOT_QUERIES) as HotQueryName[];

  it.each(names)('%s searches an index', (name) => {
    const plan = storage.explain(name);
    expect(plan.filter((line) => line.startsWith('SEARCH')).length).toBeGreaterThan(0);
    expect(plan.filter((line) => line.startsWith('SEARCH') && !indexed.test(line))).toEqual([]);
    expect(plan.filter((line) => tableScan.test(line))).toEqual([]);
  });

  it.each(['messages.latest', 'messages.before', 'messages.after', 'messages.around'] as const)(
    '%s ranges over messages_by_channel',
    (name) => {
      const plan = storage.explain(name).filter((line) => line.includes('messages'));
      expect(plan.length).toBeGreaterThan(0);
      for (const line of plan)
        expect(line).toMatch(/^SEARCH messages USING (COVERING )?INDEX messages_by_channel \(channel_id=\?/);
    },
  );

  it('messages.lastIds reads one stored row per channel asked for, never the messages', () => {
    const plan = storage.explain('messages.lastIds');
    expect(plan).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^SEARCH channel_last_messages USING PRIMARY KEY \(channel_id=\?\)/),
      ]),
    );
    expect(
      plan.filter((line) => line.includes('messages') && !line.includes('channel_last_messages')),
    ).toEqual([]);
  });

  it('reactions.counts reads the counters of the messages asked for, by their key', () => {
    const plan = storage.explain('reactions.counts');
    expect(plan.filter((line) => line.includes('reaction_counts'))).toEqual([
      expect.stringMatching(/^SEARCH c USING .*INDEX .*\(message_id=\?\)/),
    ]);
  });

  it('history pages need no sort step', () => {
    for (const name of ['messages.latest', 'messages.before', 'messages.after', 'members.list'] as const) {
      expect(storage.explain(name).filter((line) => line.includes('TEMP B-TREE'))).toEqual([]);
    }
  });

  it('search is driven by the FTS5 index, newest first, with no sort step', () => {
    const plan = storage.explain('messages.search');
    expect(plan[0]).toMatch(/^SCAN messages_fts VIRTUAL TABLE INDEX/);
    expect(plan).toContain('SEARCH messages USING INTEGER PRIMARY KEY (rowid=?)');
    expect(plan.filter((line) => line.includes('TEMP B-TREE'))).toEqual([]);
  });
});
