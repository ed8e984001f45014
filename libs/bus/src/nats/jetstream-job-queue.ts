import { randomUUID } from 'node:crypto';
import { ServiceUnavailableError } from '@parley/common';
import type { ParleyConfig } from '@parley/config';
import { activeTracing, type AppLogger, type Metrics } from '@parley/observability';
import { z } from 'zod';
import {
  type JobHandler,
  type JobName,
  type JobPayloads,
  type JobQueue,
  type EnqueueOptions,
  type MessageJob,
  type MessageJobs,
  isJobName,
  MessageNotYetStored,
  parseJobPayload,
  retryDelayMs,
  runWithDeadline,
} from '../jobs';
import { headerCarrier } from './nats-event-bus';
import type { NatsLink } from './nats-link';
import type { ConsumerMessages, JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import type { MsgHdrs } from '@nats-io/nats-core';
import { natsCore, natsJetStream } from './modules';

const DURABLE = 'workers';
const DEAD_MAX_AGE_MS = 30 * 24 * 3600_000;

/** Header of a delayed job: not to run before this time (epoch ms). */
const NOT_BEFORE = 'Parley-Not-Before';

const maxDeliveriesAdvisory = z.object({ stream_seq: z.number().int().positive(), deliveries: z.number() });

export interface JetStreamJobQueueOptions {
  /** Only the queue role runs jobs; the others enqueue. Handlers are registered everywhere alike. */
  consume: boolean;
  /**
   * True while jobs must not run (maintenance mode: jobs write to the database). Read every
   * `pauseCheckMs`; while it holds, nothing is pulled and what was already pulled waits.
   */
  paused?: () => boolean;
  pauseCheckMs?: number;
}

const PAUSE_CHECK_MS = 250;

/**
 * Durable jobs in a JetStream work-queue stream (`<prefix>_jobs`, subjects `<prefix>.jobs.<name>`): a job is
 * stored once the server acknowledges the publish, delivered to one worker of the durable consumer, removed
 * when that worker acks it. A failure, or a handler still running at `jobs.deadline` (it keeps the job alive
 * while it works, so the ack wait alone never ends it), is retried with backoff (nak with delay) up to `jobs.max_attempts`
 * deliveries (the consumer's max_deliver); then, or at once for an unreadable message or an unknown job, it
 * is moved to `<prefix>_jobs_dead` with the reason and counted. A worker that dies mid-job is covered by the
 * ack wait (redelivered), and one that dies on the last attempt by the max-deliveries advisory.
 */
export class JetStreamJobQueue implements JobQueue {
  private readonly handlers = new Map<JobName, (payload: never) => Promise<void>>();
  private readonly js: JetStreamClient;
  private jsm: JetStreamManager | null = null;
  private running = 0;
  private stopped = false;
  private loop: Promise<void> | null = null;
  private messages: ConsumerMessages | null = null;
  private wake: (() => void) | null = null;
  private advisory: (() => void) | null = null;
  private depthTimer: NodeJS.Timeout | null = null;
  private pauseTimer: NodeJS.Timeout | null = null;
  private pausedNow = false;
  private resumed: (() => void) | null = null;
  readonly stream: string;
  readonly deadStream: string;

  constructor(
    private readonly link: NatsLink,
    private readonly config: ParleyConfig,
    private readonly log: AppLogger,
    private readonly metrics: Metrics,
    private readonly options: JetStreamJobQueueOptions,
  ) {
    this.js = natsJetStream().jetstream(link.nc, { timeout: config.nats.request_timeout });
    // Per region with several (see NatsLink.regionalPrefix): jobs run in the region that enqueued them.
    this.stream = `${link.regionalStem}_jobs`;
    this.deadStream = `${link.regionalStem}_jobs_dead`;
  }

  private subject(name: string): string {
    return `${this.link.regionalPrefix}.jobs.${name}`;
  }

  /** Creates (or updates) the streams and the durable consumer; called before the process serves. */
  async init(): Promise<void> {
    const jsm = (this.jsm = await natsJetStream().jetstreamManager(this.link.nc, {
      timeout: this.config.nats.request_timeout,
    }));
    const replicas = this.config.nats.jobs.replicas;
    await ensureStream(jsm, {
      name: this.stream,
      subjects: [`${this.link.regionalPrefix}.jobs.>`],
      retention: natsJetStream().RetentionPolicy.Workqueue,
      storage: natsJetStream().StorageType.File,
      num_replicas: replicas,
    });
    await ensureStream(jsm, {
      name: this.deadStream,
      subjects: [`${this.link.regionalPrefix}.jobs_dead.>`],
      retention: natsJetStream().RetentionPolicy.Limits,
      storage: natsJetStream().StorageType.File,
      num_replicas: replicas,
      max_age: natsCore().nanos(DEAD_MAX_AGE_MS),
    });
    const consumer = {
      durable_name: DURABLE,
      ack_policy: natsJetStream().AckPolicy.Explicit,
      max_deliver: this.config.jobs.max_attempts,
      ack_wait: natsCore().nanos(this.config.nats.jobs.ack_wait),
      max_ack_pending: Math.max(64, this.config.jobs.concurrency * 8),
    };
    try {
      await jsm.consumers.info(this.stream, DURABLE);
      await jsm.consumers.update(this.stream, DURABLE, {
        max_deliver: consumer.max_deliver,
        ack_wait: consumer.ack_wait,
        max_ack_pending: consumer.max_ack_pending,
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await jsm.consumers.add(this.stream, consumer);
    }
  }

  register<N extends JobName>(name: N, handler: JobHandler<N>): void {
    this.handlers.set(name, handler);
  }

  async enqueue<N extends JobName>(
    name: N,
    payload: JobPayloads[N],
    options?: EnqueueOptions,
  ): Promise<void> {
    // Random, not a snowflake: two api processes misconfigured with one node id must not dedupe each other's jobs.
    const id = randomUUID();
    try {
      // Stored (and replicated) when this resolves; msgID makes a retried publish a no-op on the server.
      const tracing = activeTracing();
      const delay = options?.delayMs ?? 0;
      if (tracing?.inTrace() || delay > 0) {
        const headers = natsCore().headers();
        // The job's run continues the enqueuer's trace, in whichever queue process takes it.
        if (tracing?.inTrace()) tracing.inject(headerCarrier(headers));
        if (delay > 0) headers.set(NOT_BEFORE, String(Date.now() + delay));
        await this.js.publish(this.subject(name), JSON.stringify(payload), { msgID: id, headers });
      } else await this.js.publish(this.subject(name), JSON.stringify(payload), { msgID: id });
    } catch (err) {
      this.log.warn({ err, job: name }, 'job could not be enqueued on JetStream');
      throw new ServiceUnavailableError('The job queue is unavailable; try again shortly');
    }
    this.metrics.jobsEnqueued.inc({ name });
  }

  /**
   * Published at once, concurrently with the message's write (the send waits for whichever is slower, not for
   * both in turn); handlers wait for a message they cannot read yet (`messageJobReady`).
   */
  withMessage(jobs: readonly MessageJob[]): MessageJobs {
    const published = Promise.all(
      jobs.map(({ name, payload }) =>
        this.enqueue(name, payload as never).catch(() =>
          this.log.warn({ job: name }, 'job of a message not queued (the message is stored and sent)'),
        ),
      ),
    );
    return { rows: [], stored: () => published.then(() => undefined) };
  }

  start(): void {
    if (!this.options.consume || this.loop) return;
    this.loop = this.run();
    this.advisory = this.watchMaxDeliveries();
    this.depthTimer = setInterval(() => void this.sampleDepth(), 5_000);
    this.depthTimer.unref();
    if (this.options.paused) {
      this.pausedNow = this.options.paused();
      this.pauseTimer = setInterval(() => this.checkPause(), this.options.pauseCheckMs ?? PAUSE_CHECK_MS);
      this.pauseTimer.unref();
    }
  }

  /** Whether the consumer is holding off (maintenance mode); running jobs are let finish. */
  get paused(): boolean {
    return this.pausedNow;
  }

  private checkPause(): void {
    const paused = this.options.paused?.() ?? false;
    if (paused === this.pausedNow) return;
    this.pausedNow = paused;
    if (paused) {
      this.log.warn('maintenance mode: job consumer paused (nothing pulled until it ends)');
      // Ends the pull; messages the client already holds are still yielded, and wait in run().
      this.messages?.stop();
    } else {
      this.log.warn('maintenance mode over: job consumer resumed');
      const resumed = this.resumed;
      this.resumed = null;
      resumed?.();
    }
  }

  /** Resolves when the pause ends or the queue stops. */
  private untilResumed(): Promise<void> {
    if (!this.pausedNow || this.stopped) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const previous = this.resumed;
      this.resumed = () => {
        previous?.();
        resolve();
      };
    });
  }

  /**
   * A message pulled just before the pause: held, not nak'ed (a nak would spend one of its
   * max_deliver attempts), and kept alive so the ack wait does not redeliver it meanwhile.
   */
  private async hold(msg: JsMsg): Promise<void> {
    const alive = setInterval(() => msg.working(), Math.max(1000, this.config.nats.jobs.ack_wait / 2));
    try {
      await this.untilResumed();
    } finally {
      clearInterval(alive);
    }
  }

  /** Stops pulling, lets running jobs finish; whatever was pulled and not started goes back at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.depthTimer) clearInterval(this.depthTimer);
    if (this.pauseTimer) clearInterval(this.pauseTimer);
    const resumed = this.resumed;
    this.resumed = null;
    resumed?.();
    this.advisory?.();
    this.messages?.stop();
    this.wake?.();
    await this.loop;
    while (this.running > 0) await new Promise<void>((resolve) => (this.wake = resolve));
  }

  /** Jobs waiting or in flight, and jobs set aside (tests, metrics). */
  async depth(): Promise<{ pending: number; inFlight: number; dead: number }> {
    const jsm = this.jsm ?? (await natsJetStream().jetstreamManager(this.link.nc));
    const info = await jsm.consumers.info(this.stream, DURABLE);
    const dead = await jsm.streams.info(this.deadStream);
    return { pending: info.num_pending, inFlight: info.num_ack_pending, dead: dead.state.messages };
  }

  private async sampleDepth(): Promise<void> {
    try {
      const { pending, inFlight } = await this.depth();
      this.metrics.jobsPending.set(pending + inFlight);
    } catch {
      // NATS is down: readiness says so; the gauge keeps its last value.
    }
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (this.pausedNow) {
        await this.untilResumed();
        continue;
      }
      try {
        const consumer = await this.js.consumers.get(this.stream, DURABLE);
        const messages = await consumer.consume({ max_messages: this.config.jobs.concurrency });
        this.messages = messages;
        if (this.pausedNow) messages.stop(); // paused while the pull was being set up
        for await (const msg of messages) {
          if (this.stopped) {
            msg.nak();
            continue;
          }
          while (this.running >= this.config.jobs.concurrency && !this.stopped)
            await new Promise<void>((resolve) => (this.wake = resolve));
          if (this.pausedNow && !this.stopped) await this.hold(msg);
          if (this.stopped) {
            msg.nak();
            continue;
          }
          void this.handle(msg);
        }
      } catch (err) {
        if (this.stopped) break;
        this.log.warn({ err }, 'job consumer interrupted; pulling again');
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  private async handle(msg: JsMsg): Promise<void> {
    // A delayed job received early goes back until it is due (this spends one delivery of jobs.max_attempts).
    const headers = msg.headers as MsgHdrs | undefined;
    const notBefore = Number(headers?.get(NOT_BEFORE) || 0);
    if (notBefore > Date.now()) {
      msg.nak(notBefore - Date.now());
      return;
    }
    this.running++;
    const name = msg.subject.slice(this.link.regionalPrefix.length + '.jobs.'.length);
    const attempts = msg.info.deliveryCount;
    // Long jobs tell the server they are alive so the ack wait does not hand them to another worker.
    const alive = setInterval(() => msg.working(), Math.max(1000, this.config.nats.jobs.ack_wait / 2));
    try {
      const handler = isJobName(name) ? this.handlers.get(name) : undefined;
      let payload: unknown;
      try {
        payload = JSON.parse(msg.string());
      } catch {
        await this.setAside(msg, name, 'unreadable payload (not JSON)');
        return;
      }
      if (!handler) {
        await this.setAside(msg, name, `no handler for job ${name}`);
        return;
      }
      const checked = parseJobPayload(name as JobName, payload);
      if (!checked.ok) {
        await this.setAside(msg, name, checked.reason);
        return;
      }
      try {
        const tracing = activeTracing();
        const deadline = this.config.jobs.deadline;
        if (tracing)
          await runWithDeadline(name, deadline, () =>
            tracing.traced(
              `job ${name}`,
              {
                kind: 'consumer',
                parent: msg.headers ? tracing.extract(headerCarrier(msg.headers as MsgHdrs)) : undefined,
                attributes: { 'messaging.system': 'nats', 'parley.job.attempt': attempts },
              },
              () => handler(checked.payload as never),
            ),
          );
        else await runWithDeadline(name, deadline, () => handler(checked.payload as never));
      } catch (err) {
        const reason = (err as Error).message ?? String(err);
        if (attempts >= this.config.jobs.max_attempts) {
          await this.setAside(msg, name, reason);
        } else {
          msg.nak(retryDelayMs(err, attempts));
          this.metrics.jobsCompleted.inc({ name, outcome: 'retry' });
          if (err instanceof MessageNotYetStored) this.log.debug({ job: name, attempts }, reason);
          else this.log.warn({ err, job: name, attempts }, 'job failed; retrying');
        }
        return;
      }
      // If this ack is lost (NATS cut), the job runs again: handlers are idempotent (at least once).
      await msg.ackAck().catch((err: unknown) => this.log.warn({ err, job: name }, 'job ack not confirmed'));
      this.metrics.jobsCompleted.inc({ name, outcome: 'ok' });
    } catch (err) {
      this.log.error({ err, job: name }, 'job handling failed; it will be redelivered');
    } finally {
      clearInterval(alive);
      this.running--;
      const wake = this.wake;
      this.wake = null;
      wake?.();
    }
  }

  /** Moves a poison job to the dead stream (with why), then removes it from the work queue. */
  private async setAside(msg: JsMsg, name: string, reason: string): Promise<void> {
    await this.publishDead(name, msg.data, reason, msg.info.deliveryCount, msg.seq);
    await msg.ackAck();
    this.metrics.jobsCompleted.inc({ name: name || 'unknown', outcome: 'dead' });
    this.log.error({ job: name, reason, attempts: msg.info.deliveryCount }, 'job set aside as dead');
  }

  private async publishDead(
    name: string,
    data: Uint8Array,
    reason: string,
    attempts: number,
    seq: number,
  ): Promise<void> {
    const h = natsCore().headers();
    h.set('Parley-Job', name);
    h.set('Parley-Error', reason.slice(0, 512).replace(/[\r\n]+/g, ' '));
    h.set('Parley-Attempts', String(attempts));
    const safe = /^[A-Za-z0-9_.-]+$/.test(name) ? name : 'unknown';
    await this.js.publish(`${this.link.regionalPrefix}.jobs_dead.${safe}`, data, {
      headers: h,
      msgID: `dead-${this.stream}-${seq}`,
    });
  }

  /** A worker died during a job's last allowed delivery: the server gives up on it; we set it aside. */
  private watchMaxDeliveries(): () => void {
    const sub = this.link.nc.subscribe(
      `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${this.stream}.${DURABLE}`,
      {
        callback: (err, m) => {
          if (err) return;
          let seq: number;
          try {
            seq = maxDeliveriesAdvisory.parse(m.json()).stream_seq;
          } catch {
            return;
          }
          void this.reapExhausted(seq);
        },
      },
    );
    return () => sub.unsubscribe();
  }

  private async reapExhausted(seq: number): Promise<void> {
    try {
      const jsm = this.jsm ?? (await natsJetStream().jetstreamManager(this.link.nc));
      const stored = await jsm.streams.getMessage(this.stream, { seq });
      if (!stored) return;
      const name = stored.subject.slice(this.link.regionalPrefix.length + '.jobs.'.length);
      await this.publishDead(
        name,
        stored.data,
        'exhausted its deliveries',
        this.config.jobs.max_attempts,
        seq,
      );
      await jsm.streams.deleteMessage(this.stream, seq, false);
      this.metrics.jobsCompleted.inc({ name, outcome: 'dead' });
      this.log.error({ job: name, seq }, 'job exhausted its deliveries; set aside as dead');
    } catch (err) {
      this.log.warn({ err, seq }, 'could not set an exhausted job aside');
    }
  }
}

async function ensureStream(
  jsm: JetStreamManager,
  cfg: Parameters<JetStreamManager['streams']['add']>[0],
): Promise<void> {
  try {
    await jsm.streams.info(cfg.name);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await jsm.streams.add(cfg);
    return;
  }
  const { name, retention: _retention, ...mutable } = cfg;
  await jsm.streams.update(name, mutable);
}

function isNotFound(err: unknown): boolean {
  const e = err as { code?: number | string; api_error?: { err_code?: number }; message?: string };
  return (
    e?.api_error?.err_code === 10059 ||
    e?.api_error?.err_code === 10014 ||
    /not found/i.test(e?.message ?? '')
  );
}
