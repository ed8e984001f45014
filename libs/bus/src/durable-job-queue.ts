import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { requestActivity, SnowflakeGenerator } from '@parley/common';
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { activeTracing, AppLogger, Metrics } from '@parley/observability';
import { type JobRecord, type JobStore, type Storage, STORAGE } from '@parley/storage';
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
} from './jobs';

const LEASE_MS = 60_000;
const NO_CARRIER = { get: () => undefined, set: () => undefined };

/**
 * Jobs in a table of the embedded database: a claimed job is leased, so a crash mid-run means it is
 * claimed again after the lease (at least once). Failures retry with exponential backoff and are set
 * aside as dead after `jobs.max_attempts`.
 */
@Injectable()
export class DurableJobQueue implements JobQueue, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly handlers = new Map<JobName, (payload: never) => Promise<void>>();
  private readonly store: JobStore;
  private timer: NodeJS.Timeout | null = null;
  private running = 0;
  private polling: Promise<void> | null = null;
  private stopped = false;
  private idle: (() => void) | null = null;
  /** Jobs were queued while a poll ran: poll again as soon as it ends, not after the poll interval. */
  private more = false;

  constructor(
    @Inject(STORAGE) storage: Storage,
    @Inject(PARLEY_CONFIG) private readonly config: ParleyConfig,
    private readonly ids: SnowflakeGenerator,
    private readonly log: AppLogger,
    private readonly metrics: Metrics,
  ) {
    this.store = storage.jobs;
  }

  register<N extends JobName>(name: N, handler: JobHandler<N>): void {
    this.handlers.set(name, handler);
  }

  async enqueue<N extends JobName>(
    name: N,
    payload: JobPayloads[N],
    options?: EnqueueOptions,
  ): Promise<void> {
    const delay = Math.max(0, options?.delayMs ?? 0);
    await this.store.enqueue({
      id: this.ids.next(),
      name,
      payload: JSON.stringify(payload),
      attempts: 0,
      runAt: Date.now() + delay,
      lastError: null,
    });
    this.metrics.jobsEnqueued.inc({ name });
    if (delay === 0) this.wake();
    else this.schedule(Math.min(delay, this.config.jobs.poll_interval));
  }

  /** The job rows go into the message's own write; once it is stored, the poller is woken (no write here). */
  withMessage(jobs: readonly MessageJob[]): MessageJobs {
    const now = Date.now();
    const rows: JobRecord[] = jobs.map(({ name, payload }) => ({
      id: this.ids.next(),
      name,
      payload: JSON.stringify(payload),
      attempts: 0,
      runAt: now,
      lastError: null,
    }));
    return {
      rows,
      stored: () => {
        if (rows.length === 0) return Promise.resolve();
        for (const { name } of jobs) this.metrics.jobsEnqueued.inc({ name });
        this.wake();
        return Promise.resolve();
      },
    };
  }

  onApplicationBootstrap(): void {
    this.schedule(0);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.polling;
    if (this.running > 0) await new Promise<void>((resolve) => (this.idle = resolve));
  }

  /** Runs due jobs until none are left: for tests and the CLI. */
  async drain(): Promise<void> {
    while ((await this.pollOnce()) > 0) {
      // keep going
    }
  }

  /** A job is due now: a poll soon (one for a burst of jobs), or right after the one running. */
  private wake(): void {
    if (this.polling) this.more = true;
    else this.schedule(0);
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.polling) return; // it schedules the next poll when it ends
      this.more = false;
      this.polling = this.pollOnce()
        .catch((err: unknown) => {
          this.log.error({ err }, 'job poll failed');
          return 0;
        })
        .then((ran) => {
          this.polling = null;
          // A full claim may have left due jobs behind; so may jobs queued meanwhile.
          const again = this.more || ran >= this.config.jobs.concurrency;
          this.schedule(again ? 0 : this.config.jobs.poll_interval);
        });
    }, delay);
    this.timer.unref();
  }

  private async pollOnce(): Promise<number> {
    if (this.config.jobs.concurrency - this.running <= 0) return 0;
    // Lower priority than requests: new runs wait (up to jobs.yield_max) until no request is in flight.
    if (this.config.jobs.yield_max > 0) await requestActivity.whenQuiet(this.config.jobs.yield_max);
    const free = this.config.jobs.concurrency - this.running;
    if (free <= 0) return 0;
    const jobs = await this.store.claim(Date.now(), free, LEASE_MS);
    if (jobs.length > 0 || this.running === 0) {
      const { pending } = await this.store.counts();
      this.metrics.jobsPending.set(pending);
    }
    await Promise.all(
      jobs.map(async (job) => {
        this.running++;
        try {
          const handler = isJobName(job.name) ? this.handlers.get(job.name) : undefined;
          if (!handler) throw new Error(`no handler for job ${job.name}`);
          const checked = parseJobPayload(job.name as JobName, JSON.parse(job.payload));
          if (!checked.ok) throw new InvalidJobPayload(checked.reason);
          const payload = checked.payload as never;
          const tracing = activeTracing();
          // Each run is a trace of its own (sampled like a request): the table keeps no enqueuer's context.
          const deadline = this.config.jobs.deadline;
          if (tracing)
            await runWithDeadline(job.name, deadline, () =>
              tracing.traced(
                `job ${job.name}`,
                {
                  attributes: { 'parley.job.attempt': job.attempts + 1 },
                  parent: tracing.extract(NO_CARRIER),
                },
                () => handler(payload),
              ),
            );
          else await runWithDeadline(job.name, deadline, () => handler(payload));
          await this.store.complete(job.id);
          this.metrics.jobsCompleted.inc({ name: job.name, outcome: 'ok' });
        } catch (err) {
          // A payload that does not match its job never will: no retries.
          const dead = err instanceof InvalidJobPayload || job.attempts >= this.config.jobs.max_attempts;
          // As before: an ordinary failure is first retried after 2 s (job.attempts counts this run).
          const retryAt = dead ? null : Date.now() + retryDelayMs(err, job.attempts + 1);
          await this.store.fail(job.id, (err as Error).message ?? String(err), retryAt);
          this.metrics.jobsCompleted.inc({ name: job.name, outcome: dead ? 'dead' : 'retry' });
          if (err instanceof MessageNotYetStored && !dead)
            this.log.debug({ job: job.name, id: job.id, attempts: job.attempts }, err.message);
          else this.log.warn({ err, job: job.name, id: job.id, attempts: job.attempts, dead }, 'job failed');
        } finally {
          this.running--;
          if (this.running === 0 && this.idle) this.idle();
        }
      }),
    );
    return jobs.length;
  }
}

class InvalidJobPayload extends Error {}
