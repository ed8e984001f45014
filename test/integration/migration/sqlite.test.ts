import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  compare,
  copyTables,
  exportTo,
  importFrom,
  Interrupted,
  migrate,
  openSource,
  openTarget,
  type Endpoint,
  type ProgressSink,
} from '@parley/migration';
import { BULK_TABLES, SqliteStorage, type BulkStorage } from '@parley/storage';
import { expectUploadUsageAgrees, seededSqlite, tempDir, testConfig } from './support';

// The migration tools between two SQLite files: copy with checkpoints, resume, repair of a source that
// changed, verification, export and import. The Cassandra side is in cassandra.test.ts.
jest.setTimeout(120_000);

const dir = tempDir();
const config = testConfig();
const sourcePath = join(dir.path, 'source.db');
const sqlite = (name: string) => ({ kind: 'sqlite' as const, path: join(dir.path, name) });
let sample: Awaited<ReturnType<typeof seededSqlite>>;

async function rows(bulk: BulkStorage): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of BULK_TABLES) {
    counts[table] = 0;
    let cursor: string | null = null;
    do {
      const page: { records: unknown[]; cursor: string | null } = await bulk.scan(table, cursor, 5000);
      counts[table] += page.records.length;
      cursor = page.cursor;
    } while (cursor !== null);
  }
  return counts;
}

async function withPair<T>(
  target: string,
  work: (source: Endpoint, target: Endpoint) => Promise<T>,
): Promise<T> {
  const s = await openSource(sqlite('source.db'), config);
  const t = await openTarget(sqlite(target), config);
  try {
    return await work(s, t);
  } finally {
    await s.close();
    await t.close();
  }
}

beforeAll(async () => {
  sample = await seededSqlite(sourcePath, { users: 30, guilds: 3, channels: 4, messages: 3000, dms: 6 });
});

afterAll(() => dir.remove());

describe('migrate between SQLite files', () => {
  it('copies every table and verifies the target equals the source', async () => {
    await withPair('copy.db', async (source, target) => {
      const result = await migrate(source, target, { batchSize: 250 });
      expect(result.verified).toBe(true);
      expect(result.comparison?.equal).toBe(true);
      expect(result.copy.find((t) => t.table === 'messages')).toMatchObject({
        rows: 3000,
        copied: 3000,
        skipped: false,
      });
      const counts = await rows(source.bulk);
      expect(await rows(target.bulk)).toEqual(counts);
      expect(counts.reactions).toBe(sample.reactions);
      for (const table of BULK_TABLES) expect(counts[table]).toBeGreaterThan(0);
      // The copied instance works through the repositories: a page of history, a login, unread mentions.
      const storage = target.storage as SqliteStorage;
      const channelId = sample.channels[0];
      const sourceDb = new SqliteStorage({ ...config.database.sqlite, path: sourcePath });
      try {
        expect(await storage.messages.listLatest(channelId, 50)).toEqual(
          await sourceDb.messages.listLatest(channelId, 50),
        );
        const user = await sourceDb.users.findById(sample.users[1]);
        expect(await storage.users.findByLogin(user?.username ?? '')).toEqual(user);
        expect(await storage.readStates.list(sample.users[2])).toEqual(
          await sourceDb.readStates.list(sample.users[2]),
        );
        await expectUploadUsageAgrees(sourceDb, storage, sample.users);
      } finally {
        await sourceDb.close();
      }
    });
  });

  it('a second run skips the copied tables, finds nothing to repair and still verifies', async () => {
    await withPair('copy.db', async (source, target) => {
      const result = await migrate(source, target);
      expect(result.copy.every((t) => t.skipped)).toBe(true);
      expect(result.repairs).toEqual([]);
      expect(result.verified).toBe(true);
    });
  });

  it('resumes an interrupted copy from its checkpoint, with no duplicates and no gaps', async () => {
    await withPair('resumed.db', async (source, target) => {
      const controller = new AbortController();
      let copied = 0;
      const progress: ProgressSink = {
        start: () => undefined,
        finish: () => undefined,
        note: () => undefined,
        advance: (table, n) => {
          if (table === 'messages' && (copied += n) >= 1000) controller.abort();
        },
      };
      await expect(
        copyTables({
          source: source.bulk,
          target: target.bulk,
          sourceId: source.id,
          batchSize: 100,
          parallel: 3,
          progress,
          signal: controller.signal,
        }),
      ).rejects.toBeInstanceOf(Interrupted);
      const checkpoint = (await target.bulk.checkpoints.list(source.id)).find((c) => c.table === 'messages');
      expect(checkpoint?.done).toBe(false);
      expect(checkpoint?.rows).toBeGreaterThanOrEqual(1000);
      expect(checkpoint?.rows).toBeLessThan(3000);

      const resumed = await copyTables({
        source: source.bulk,
        target: target.bulk,
        sourceId: source.id,
        batchSize: 100,
      });
      const messages = resumed.find((t) => t.table === 'messages');
      expect(messages?.resumedAt).toBe(checkpoint?.rows);
      expect(messages?.rows).toBe(3000);
      expect(messages?.copied).toBe(3000 - (checkpoint?.rows ?? 0));
      expect(resumed.find((t) => t.table === 'users')?.skipped).toBe(true);
      expect((await compare(source.bulk, target.bulk)).equal).toBe(true);
    });
  });

  it('survives a crash of the writer mid-batch: the checkpoint never runs ahead of what was written', async () => {
    await withPair('crashed.db', async (source, target) => {
      let calls = 0;
      const crashing: BulkStorage = Object.create(target.bulk) as BulkStorage;
      crashing.write = (table, records, options) => {
        if (table === 'messages' && ++calls === 7) return Promise.reject(new Error('the process died here'));
        return target.bulk.write(table, records, options);
      };
      await expect(
        copyTables({
          source: source.bulk,
          target: crashing,
          sourceId: source.id,
          batchSize: 200,
          parallel: 4,
        }),
      ).rejects.toThrow('the process died here');
      const checkpoint = (await target.bulk.checkpoints.list(source.id)).find((c) => c.table === 'messages');
      expect(checkpoint?.rows ?? 0).toBeLessThanOrEqual(6 * 200);
      await copyTables({ source: source.bulk, target: target.bulk, sourceId: source.id, batchSize: 200 });
      const comparison = await compare(source.bulk, target.bulk);
      expect(comparison.equal).toBe(true);
      expect(comparison.tables.find((t) => t.table === 'messages')?.target.count).toBe(3000);
    });
  });

  it('brings the target in line with a source written to after the copy (the final delta)', async () => {
    const live = new SqliteStorage({ ...config.database.sqlite, path: sourcePath });
    const channelId = sample.channels[1];
    const [edited, deleted] = await live.messages.listLatest(channelId, 2);
    try {
      await live.messages.update(channelId, edited.id, {
        content: 'changed after the copy',
        editedAt: Date.now(),
      });
      await live.messages.delete(channelId, deleted.id);
      await live.reactions.add(channelId, edited.id, '🚀', sample.users[0]);
      await live.members.remove(sample.guilds[0], sample.users[4]);
      await live.users.update(sample.users[3], { username: 'renamed_after_copy' });
      await live.messages.create({ ...edited, id: String(BigInt(edited.id) + 1n), content: 'a new one' });
    } finally {
      await live.close();
    }
    await withPair('copy.db', async (source, target) => {
      const before = await compare(source.bulk, target.bulk);
      expect(before.equal).toBe(false);
      expect(before.channels.filter((c) => !c.equal).map((c) => c.channelId)).toContain(channelId);
      const result = await migrate(source, target);
      expect(result.repairs[0].written).toBeGreaterThanOrEqual(4); // edit, new message, reaction, rename
      expect(result.repairs[0].removed).toBeGreaterThanOrEqual(2); // the deleted message and member
      expect(result.verified).toBe(true);
      expect((await compare(source.bulk, target.bulk)).equal).toBe(true);
      expect((await (target.storage as SqliteStorage).users.findByLogin('renamed_after_copy'))?.id).toBe(
        sample.users[3],
      );
    });
  });

  it('verify names an altered message and a missing reaction', async () => {
    await withPair('copy.db', async (source, target) => {
      const channelId = sample.channels[2];
      const [message] = await target.bulk.channelMessages(channelId, null, 1);
      await target.bulk.write('messages', [{ ...message, content: `${message.content}!` }]);
      const reaction = (await source.bulk.scan('reactions', null, 1)).records[0];
      await target.bulk.remove('reactions', [reaction]);
      const comparison = await compare(source.bulk, target.bulk);
      expect(comparison.equal).toBe(false);
      expect(comparison.tables.filter((t) => !t.equal).map((t) => t.table)).toEqual([
        'messages',
        'reactions',
      ]);
      expect(comparison.differences).toEqual([
        expect.objectContaining({
          table: 'messages',
          kind: 'changed',
          key: message.id,
          channelId,
          fields: ['content'],
        }),
        expect.objectContaining({ table: 'reactions', kind: 'missing', channelId: reaction.channelId }),
      ]);
      const channel = comparison.channels.find((c) => c.channelId === channelId);
      expect(channel?.equal).toBe(false);
      expect(channel?.messages.source.count).toBe(channel?.messages.target.count);
    });
  });

  it('verify finds the same differences when memory allows only a few rows at a time (several passes)', async () => {
    await withPair('copy.db', async (source, target) => {
      const users = (await source.bulk.scan('users', null, 6)).records;
      const members = (await source.bulk.scan('members', null, 4)).records;
      await target.bulk.write('users', [
        { ...users[0], username: 'changed_in_target' },
        { ...users[1], username: 'changed_too' },
      ]);
      await target.bulk.remove('users', [users[2]]);
      await target.bulk.remove('members', members);
      const reaction = (await source.bulk.scan('reactions', null, 1)).records[0];
      await target.bulk.remove('reactions', [reaction]);
      const keys = (c: Awaited<ReturnType<typeof compare>>) =>
        c.differences.map((d) => `${d.table} ${d.kind} ${d.key}`).sort();
      const roomy = await compare(source.bulk, target.bulk, { listLimit: Infinity });
      const tight = await compare(source.bulk, target.bulk, { listLimit: Infinity, heldRows: 3 });
      expect(keys(tight)).toEqual(keys(roomy));
      expect(keys(tight)).toEqual(
        expect.arrayContaining([
          `users changed ${users[0].id}`,
          `users changed ${users[1].id}`,
          `users missing ${users[2].id}`,
          ...members.map((m) => `members missing ${m.guildId}/${m.userId}`),
        ]),
      );
      expect(tight.differences.filter((d) => d.table === 'reactions')).toEqual([
        expect.objectContaining({ kind: 'missing', channelId: reaction.channelId }),
      ]);
      expect(tight.tables.filter((t) => !t.equal).map((t) => t.table)).toEqual(
        expect.arrayContaining(['users', 'members', 'reactions']),
      );
      expect(tight.tables.map((t) => t.differences)).toEqual(roomy.tables.map((t) => t.differences));
    });
  });
});

describe('export and import', () => {
  const exportPath = join(dir.path, 'backup.ndjson.gz');

  it('round-trips through a gzip NDJSON file into a fresh database, and importing again changes nothing', async () => {
    const source = await openSource(sqlite('source.db'), config);
    try {
      const exported = await exportTo(source.bulk, exportPath, { batchSize: 500 });
      expect(exported.counts.messages).toBeGreaterThan(2990);
      const lines = gunzipSync(readFileSync(exportPath)).toString('utf8').trimEnd().split('\n');
      expect(JSON.parse(lines[0])).toMatchObject({ format: 'parley-export', version: 1, source: 'sqlite' });
      expect(JSON.parse(lines[lines.length - 1])).toEqual({ end: true, counts: exported.counts });

      const target = await openTarget(sqlite('imported.db'), config);
      try {
        const first = await importFrom(target.bulk, exportPath, { batchSize: 300 });
        expect(first.problems).toEqual([]);
        expect(first.applied).toBe(lines.length - 2);
        expect((await compare(source.bulk, target.bulk)).equal).toBe(true);
        const again = await importFrom(target.bulk, exportPath);
        expect(again.problems).toEqual([]);
        expect((await compare(source.bulk, target.bulk)).equal).toBe(true);
        // Usage is recounted by the import (SQLite's triggers), once however often it runs.
        const sourceDb = new SqliteStorage({ ...config.database.sqlite, path: sourcePath });
        try {
          await expectUploadUsageAgrees(sourceDb, target.storage as SqliteStorage, sample.users);
        } finally {
          await sourceDb.close();
        }
      } finally {
        await target.close();
      }
    } finally {
      await source.close();
    }
  });

  it('reports bad lines by number and writes nothing; --skip-invalid writes every other record', async () => {
    const lines = gunzipSync(readFileSync(exportPath)).toString('utf8').trimEnd().split('\n');
    // A message without reactions, so that skipping it leaves exactly that one row missing.
    const reacted = new Set(
      lines
        .filter((l) => l.startsWith('{"table":"reactions"'))
        .map((l) => (JSON.parse(l) as { record: { messageId: string } }).record.messageId),
    );
    const messageLine = lines.findIndex(
      (l) =>
        l.startsWith('{"table":"messages"') &&
        !reacted.has((JSON.parse(l) as { record: { id: string } }).record.id),
    );
    const userLine = lines.findIndex((l) => l.startsWith('{"table":"users"'));
    const brokenMessage = JSON.parse(lines[messageLine]) as { record: Record<string, unknown> };
    lines[messageLine] = JSON.stringify({
      ...brokenMessage,
      record: { ...brokenMessage.record, content: 42 },
    });
    lines[userLine + 1] = lines[userLine + 1].slice(0, 40); // cut in the middle of the JSON
    const corrupt = join(dir.path, 'corrupt.ndjson');
    writeFileSync(corrupt, `${lines.join('\n')}\n`);

    const target = await openTarget(sqlite('rejected.db'), config);
    try {
      const result = await importFrom(target.bulk, corrupt);
      expect(result.applied).toBe(0);
      expect(result.problems.map((p) => p.line)).toEqual([userLine + 2, messageLine + 1, lines.length]);
      expect(result.problems[0].message).toMatch(/not valid JSON/);
      expect(result.problems[1].message).toMatch(/messages\.content/);
      expect(result.problems[2].message).toMatch(/end line counts/);
      expect(Object.values(await rows(target.bulk)).every((n) => n === 0)).toBe(true);

      const skipping = await importFrom(target.bulk, corrupt, { skipInvalid: true });
      expect(skipping.applied).toBe(lines.length - 4);
      const source = await openSource(sqlite('source.db'), config);
      try {
        const comparison = await compare(source.bulk, target.bulk);
        expect(comparison.differences.map((d) => [d.table, d.kind])).toEqual([
          ['users', 'missing'],
          ['messages', 'missing'],
        ]);
      } finally {
        await source.close();
      }
    } finally {
      await target.close();
    }
  });

  it('refuses a truncated file or one that is not an export', async () => {
    const lines = gunzipSync(readFileSync(exportPath)).toString('utf8').trimEnd().split('\n');
    const truncated = join(dir.path, 'truncated.ndjson');
    writeFileSync(truncated, `${lines.slice(0, 100).join('\n')}\n`);
    const other = join(dir.path, 'other.ndjson');
    writeFileSync(other, '{"hello":"world"}\n');
    const target = await openTarget(sqlite('never.db'), config);
    try {
      const cut = await importFrom(target.bulk, truncated);
      expect(cut.applied).toBe(0);
      expect(cut.problems).toEqual([{ line: 101, message: expect.stringMatching(/truncated/) as string }]);
      const wrong = await importFrom(target.bulk, other);
      expect(wrong.problems).toEqual([
        { line: 1, message: expect.stringMatching(/not a Parley export/) as string },
      ]);
    } finally {
      await target.close();
    }
  });
});
