import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DurableJobQueue } from '@parley/bus';
import { SnowflakeGenerator } from '@parley/common';
import { loadConfig, type ParleyConfig } from '@parley/config';
import { AppLogger, Metrics } from '@parley/observability';
import { SqliteStorage } from '@parley/storage';

/** The monolith's durable job runner on a real SQLite file: at least once, across restarts. */
describe('DurableJobQueue on SQLite', () => {
  let dir: string;
  let config: ParleyConfig;
  const open = () => {
    const storage = new SqliteStorage({ ...config.database.sqlite, path: join(dir, 'jobs.db') });
    return storage.migrate().then(() => storage);
  };
  const queueOn = (storage: SqliteStorage, cfg = config) =>
    new DurableJobQueue(storage, cfg, new SnowflakeGenerator(0, 3), new AppLogger('silent'), new Metrics());

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'parley-jobs-'));
    config = loadConfig({ env: {}, overrides: { database: { sqlite: { max_open_conns: 1 } } } });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('runs an enqueued job once and removes it', async () => {
    const storage = await open();
    const queue = queueOn(storage);
    const seen: string[] = [];
    queue.register('channel.purge_messages', ({ channel_id }) => {
      seen.push(channel_id);
      return Promise.resolve();
    });
    await queue.enqueue('channel.purge_messages', { channel_id: '42' });
    await queue.drain();
    await queue.drain();
    expect(seen).toEqual(['42']);
    expect(await storage.jobs.counts()).toEqual({ pending: 0, dead: 0 });
    await queue.onApplicationShutdown();
    await storage.close();
  });

  it('keeps a job enqueued before a restart and runs it after', async () => {
    const first = await open();
    const before = queueOn(first);
    await before.enqueue('guild.purge_messages', { guild_id: '7', channel_ids: ['8', '9'] });
    await before.onApplicationShutdown();
    await first.close();

    const second = await open();
    const after = queueOn(second);
    const seen: unknown[] = [];
    after.register('guild.purge_messages', (payload) => {
      seen.push(payload);
      return Promise.resolve();
    });
    await after.drain();
    expect(seen).toEqual([{ guild_id: '7', channel_ids: ['8', '9'] }]);
    await after.onApplicationShutdown();
    await second.close();
  });

  it('sets a job aside as dead once it has failed max_attempts times', async () => {
    const storage = await open();
    const queue = queueOn(storage, { ...config, jobs: { ...config.jobs, max_attempts: 1 } });
    let calls = 0;
    queue.register('channel.purge_messages', () => {
      calls++;
      return Promise.reject(new Error('disk on fire'));
    });
    await queue.enqueue('channel.purge_messages', { channel_id: '1' });
    await queue.drain();
    expect(calls).toBe(1);
    expect(await storage.jobs.counts()).toEqual({ pending: 0, dead: 1 });
    await queue.onApplicationShutdown();
    await storage.close();
  });

  it('fails an attempt that runs past jobs.deadline: its slot is freed and the job retried later', async () => {
    const storage = await open();
    const queue = queueOn(storage, { ...config, jobs: { ...config.jobs, max_attempts: 2, deadline: 50 } });
    let calls = 0;
    // Hangs for good (a storage call that never answers): only the deadline ends the attempt.
    queue.register('channel.purge_messages', () => (calls++, new Promise<void>(() => undefined)));
    await queue.enqueue('channel.purge_messages', { channel_id: '1' });
    await queue.drain();
    expect(calls).toBe(1);
    expect(await storage.jobs.counts()).toEqual({ pending: 1, dead: 0 });
    // Scheduled for a retry with backoff, with why.
    const [retried] = await storage.jobs.claim(Date.now() + 10 * 60_000, 10, 1000);
    expect(retried).toMatchObject({ attempts: 2, lastError: expect.stringContaining('deadline of 50 ms') });
    await queue.onApplicationShutdown();
    await storage.close();
  });

  it('retries a failed job later, and re-leases a job whose worker died', async () => {
    const storage = await open();
    const queue = queueOn(storage);
    let calls = 0;
    queue.register('channel.purge_messages', () =>
      ++calls === 1 ? Promise.reject(new Error('transient')) : Promise.resolve(),
    );
    await queue.enqueue('channel.purge_messages', { channel_id: '1' });
    await queue.drain();
    expect(calls).toBe(1);
    // Scheduled for a retry with backoff: not due now, due later.
    expect(await storage.jobs.claim(Date.now(), 10, 60_000)).toEqual([]);
    const [leased] = await storage.jobs.claim(Date.now() + 10 * 60_000, 10, 1000);
    expect(leased).toMatchObject({ name: 'channel.purge_messages', attempts: 2, lastError: 'transient' });
    // That worker "dies" without completing: the job is due again once the lease runs out.
    const [again] = await storage.jobs.claim(Date.now() + 10 * 60_000 + 2000, 10, 1000);
    expect(again.id).toBe(leased.id);
    await storage.jobs.complete(again.id);
    expect(await storage.jobs.counts()).toEqual({ pending: 0, dead: 0 });
    await queue.onApplicationShutdown();
    await storage.close();
  });
});
