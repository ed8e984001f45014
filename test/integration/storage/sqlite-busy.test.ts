import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { SnowflakeGenerator } from '@parley/common';
import { SqliteStorage } from '@parley/storage';
import { messageRecord, userRecord } from '@parley/storage/testing';

// Issue 17 item 11: another process holding SQLite's write lock never stalls this process's event loop. The
// writer does not wait for the lock (busy_timeout 0 on its connection); writes that meet the lock are retried
// asynchronously for up to busy_timeout, while reads and timers go on. Real SQLite file, real second process.
jest.setTimeout(120_000);

/** A separate Node process that takes the write lock (BEGIN IMMEDIATE plus a write) and holds it until told. */
const HOLDER = `
const Database = require('better-sqlite3');
const db = new Database(process.argv[1]);
db.exec('BEGIN IMMEDIATE');
db.prepare("INSERT OR REPLACE INTO instance_settings (key, value, updated_at) VALUES ('lock-holder', 'held', 0)").run();
process.stdout.write('locked\\n');
require('readline').createInterface({ input: process.stdin }).on('line', (line) => {
  if (line !== 'release') return;
  db.exec('COMMIT');
  db.close();
  process.stdout.write('released\\n');
  process.exit(0);
});
`;

function holdLock(path: string): { child: ChildProcessWithoutNullStreams; next: () => Promise<string> } {
  const child = spawn(process.execPath, ['-e', HOLDER, path], { cwd: process.cwd() });
  const lines: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    const waiter = waiting.shift();
    if (waiter) waiter(line);
    else lines.push(line);
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const next = () =>
    new Promise<string>((resolve, reject) => {
      const line = lines.shift();
      if (line !== undefined) return resolve(line);
      waiting.push(resolve);
      child.once('exit', (code) => reject(new Error(`lock holder exited (${code}): ${stderr}`)));
    });
  return { child, next };
}

describe.each([1, 3])(
  'sqlite writer while another process holds the write lock (max_open_conns=%i)',
  (conns) => {
    let dir = '';
    let storage: SqliteStorage;
    const gen = new SnowflakeGenerator(1, 12);

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'parley-busy-'));
      storage = new SqliteStorage({
        path: join(dir, 'parley.db'),
        max_open_conns: conns,
        busy_timeout: 60_000,
        cache_size: -8000,
        mmap_size: 0,
        synchronous: 'NORMAL',
        wal_autocheckpoint: 1000,
      });
      await storage.migrate();
    });

    afterAll(async () => {
      await storage?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('keeps serving reads and timers while writes wait, and the writes land after release', async () => {
      const author = userRecord(gen.next());
      await storage.users.create(author);
      const channelId = gen.next();
      const first = messageRecord({ id: gen.next(), channelId, authorId: author.id, content: 'before' });
      await storage.messages.create(first);

      const holder = holdLock(join(dir, 'parley.db'));
      try {
        expect(await holder.next()).toBe('locked');

        const settled: string[] = [];
        const newcomer = userRecord(gen.next());
        const second = messageRecord({ id: gen.next(), channelId, authorId: author.id, content: 'during' });
        const userWrite = storage.users.create(newcomer).then(() => settled.push('user'));
        const messageWrite = storage.messages.create(second).then(() => settled.push('message'));

        // While the lock is held: reads answer (on the writer connection and on the reader threads), and the
        // event loop turns (timers and immediates fire), and neither write has landed.
        expect((await storage.users.findById(author.id))?.id).toBe(author.id);
        expect((await storage.messages.listLatest(channelId, 10)).map((m) => m.id)).toEqual([first.id]);
        for (let i = 0; i < 20; i++) await new Promise((resolve) => setTimeout(resolve, 1));
        for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
        expect(settled).toEqual([]);
        expect(await storage.users.findById(newcomer.id)).toBeNull();

        holder.child.stdin.write('release\n');
        expect(await holder.next()).toBe('released');
        await Promise.all([userWrite, messageWrite]);
        expect(settled.sort()).toEqual(['message', 'user']);
        expect((await storage.users.findById(newcomer.id))?.id).toBe(newcomer.id);
        expect((await storage.messages.listLatest(channelId, 10)).map((m) => m.id)).toEqual([
          second.id,
          first.id,
        ]);
        expect(await storage.instanceSettings.get('lock-holder')).toBe('held');
      } finally {
        if (holder.child.exitCode === null) holder.child.kill();
      }
    });

    it('gives up with SQLITE_BUSY after busy_timeout when the lock is never released', async () => {
      const short = new SqliteStorage({
        path: join(dir, 'parley.db'),
        max_open_conns: 1,
        busy_timeout: 200,
        cache_size: -8000,
        mmap_size: 0,
        synchronous: 'NORMAL',
        wal_autocheckpoint: 1000,
      });
      const holder = holdLock(join(dir, 'parley.db'));
      try {
        expect(await holder.next()).toBe('locked');
        await expect(short.users.create(userRecord(gen.next()))).rejects.toMatchObject({
          code: expect.stringMatching(/^SQLITE_BUSY/) as unknown,
        });
      } finally {
        holder.child.kill();
        await short.close();
      }
    });
  },
);
