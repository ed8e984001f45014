import { jetstreamManager } from '@nats-io/jetstream';
import { JetStreamJobQueue, NatsLink } from '@parley/bus';
import type { ParleyConfig } from '@parley/config';
import { AppLogger, Metrics } from '@parley/observability';
import { MaintenanceMode, RoleModule, createHttpApp, writeMaintenance } from '@parley/platform';
import { SqliteStorage } from '@parley/storage';
import { join } from 'node:path';
import { microservicesConfig, purgePrefix, requireSharedServices, tempDir, uniquePrefix } from './processes';
import { pause, waitFor } from '../../support/wait';

/**
 * JetStream jobs and maintenance mode, as the queue role wires them: the real MaintenanceMode reading the
 * flag from a real SQLite database, a real JetStream work queue on the machine's NATS.
 */
describe('JetStream jobs pause in maintenance mode', () => {
  const prefix = uniquePrefix();
  const log = new AppLogger('silent');
  const dir = tempDir();
  let config: ParleyConfig;
  let storage: SqliteStorage;
  let maintenance: MaintenanceMode;
  let nats: NatsLink;

  beforeAll(async () => {
    await requireSharedServices();
    config = microservicesConfig(prefix, {
      database: { sqlite: { path: join(dir.path, 'parley.db') } },
      logging: { level: 'silent' },
    });
    storage = new SqliteStorage(config.database.sqlite);
    await storage.migrate();
    maintenance = new MaintenanceMode(storage, config, log);
    await maintenance.onApplicationBootstrap();
    nats = await NatsLink.open(config, log, new Metrics(), 'jobs-maintenance-test');
  });

  afterAll(async () => {
    await maintenance?.onApplicationShutdown();
    await nats?.close();
    await storage?.close();
    await purgePrefix(prefix);
    dir.remove();
  });

  const setFlag = async (enabled: boolean) => {
    await writeMaintenance(storage.instanceSettings, {
      enabled,
      since: enabled ? Date.now() : null,
      message: enabled ? 'test' : null,
    });
    await waitFor(() => Promise.resolve(maintenance.readOnly === enabled), `maintenance is ${enabled}`);
  };

  it('stops pulling while the flag is on, lets a running job finish, and runs everything once after', async () => {
    const metrics = new Metrics();
    const producer = new JetStreamJobQueue(nats, config, log, metrics, { consume: false });
    await producer.init();
    const worker = new JetStreamJobQueue(nats, config, log, metrics, {
      consume: true,
      paused: () => maintenance.readOnly,
      pauseCheckMs: 50,
    });
    await worker.init();
    const ran: string[] = [];
    let releaseSlow: () => void = () => undefined;
    const slowStarted = new Promise<void>((started) => {
      worker.register('channel.purge_messages', ({ channel_id }) => {
        if (channel_id !== 'slow') {
          ran.push(channel_id);
          return Promise.resolve();
        }
        started();
        return new Promise<void>((resolve) => {
          releaseSlow = () => {
            ran.push('slow');
            resolve();
          };
        });
      });
    });
    worker.start();

    // A job is running when maintenance starts.
    await producer.enqueue('channel.purge_messages', { channel_id: 'slow' });
    await slowStarted;
    await setFlag(true);
    await waitFor(() => Promise.resolve(worker.paused), 'the consumer paused');

    // Jobs enqueued during maintenance stay on the stream, untouched.
    for (const id of ['a', 'b', 'c']) await producer.enqueue('channel.purge_messages', { channel_id: id });
    releaseSlow();
    await waitFor(() => Promise.resolve(ran.includes('slow')), 'the running job finished');
    await pause(1500); // a quiet window: nothing may run while maintenance is on
    expect(ran).toEqual(['slow']);
    await waitFor(async () => {
      const d = await worker.depth();
      return d.pending === 3 && d.inFlight === 0;
    }, 'the three jobs wait on the stream, none delivered');

    // Maintenance over: everything runs once, no delivery attempt spent on the pause, nothing dead.
    await setFlag(false);
    await waitFor(() => Promise.resolve(ran.length === 4), 'the waiting jobs ran');
    expect(ran.slice(1).sort()).toEqual(['a', 'b', 'c']);
    await waitFor(async () => {
      const d = await worker.depth();
      return d.pending === 0 && d.inFlight === 0;
    }, 'the work queue is empty');
    expect((await worker.depth()).dead).toBe(0);
    expect(worker.paused).toBe(false);
    await worker.stop();
    expect(await metrics.registry.metrics()).not.toMatch(/outcome="retry"/);
  });

  it('holds jobs it had already pulled when the pause began, without spending their attempts', async () => {
    const metrics = new Metrics();
    const producer = new JetStreamJobQueue(nats, config, log, metrics, { consume: false });
    await producer.init();
    let paused = false;
    const worker = new JetStreamJobQueue(nats, config, log, metrics, {
      consume: true,
      paused: () => paused,
      pauseCheckMs: 20,
    });
    await worker.init();
    const ran: string[] = [];
    const blocked: (() => void)[] = [];
    worker.register('channel.purge_messages', ({ channel_id }) => {
      ran.push(channel_id);
      if (channel_id.startsWith('busy')) return new Promise<void>((resolve) => blocked.push(resolve));
      return Promise.resolve();
    });
    // Two busy jobs fill the worker (concurrency 2); the next ones are pulled into the client and wait.
    for (const id of ['busy1', 'busy2', 'third', 'fourth'])
      await producer.enqueue('channel.purge_messages', { channel_id: id });
    worker.start();
    await waitFor(() => Promise.resolve(blocked.length === 2), 'both busy jobs run');
    await waitFor(async () => (await worker.depth()).inFlight >= 3, 'a waiting job was pulled');
    paused = true;
    await waitFor(() => Promise.resolve(worker.paused), 'the consumer paused');
    for (const release of blocked) release();
    await pause(1500); // a quiet window: the held jobs may not run while paused
    expect([...ran].sort()).toEqual(['busy1', 'busy2']);

    paused = false;
    await waitFor(() => Promise.resolve(ran.length === 4), 'the held jobs ran after the pause');
    expect([...ran].sort()).toEqual(['busy1', 'busy2', 'fourth', 'third']);
    await waitFor(async () => {
      const d = await worker.depth();
      return d.pending === 0 && d.inFlight === 0;
    }, 'the work queue is empty');
    const info = await (await jetstreamManager(nats.nc)).consumers.info(worker.stream, 'workers');
    expect(info.num_redelivered).toBe(0);
    expect((await worker.depth()).dead).toBe(0);
    await worker.stop();
  });

  it('is wired so in the queue role: its own consumer pauses with the database flag', async () => {
    const app = await createHttpApp(config, RoleModule.forRole('queue', config));
    await app.init();
    try {
      const queue = app.get(JetStreamJobQueue);
      await setFlag(true);
      await waitFor(() => Promise.resolve(queue.paused), "the queue role's consumer paused");
      await setFlag(false);
      await waitFor(() => Promise.resolve(!queue.paused), "the queue role's consumer resumed");
    } finally {
      await app.close();
    }
  });

  it('starts paused when the queue role boots during maintenance', async () => {
    await setFlag(true);
    const app = await createHttpApp(config, RoleModule.forRole('queue', config));
    try {
      await app.init();
      expect(app.get(JetStreamJobQueue).paused).toBe(true);
    } finally {
      await app.close();
      await setFlag(false);
    }
  });
});
