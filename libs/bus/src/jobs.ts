import { snowflakeTime } from '@parley/common';
import type { JobRecord } from '@parley/storage';
import { z } from 'zod';

// Ids are opaque to the job runner (the handlers look them up); their shape is what must hold.
const id = z.string().min(1).max(64);

/**
 * Each job's payload, checked when a worker takes it (a job crosses a process boundary like any other
 * message): one that does not match is set aside as dead at once, never run and never retried.
 */
export const JOB_PAYLOADS = {
  'channel.purge_messages': z.object({ channel_id: id }),
  'guild.purge_messages': z.object({ guild_id: id, channel_ids: z.array(id) }),
  /** A deleted role's id, taken off every member that still holds it (the request removed the role itself). */
  'role.purge_members': z.object({ guild_id: id, role_id: id }),
  /** A deleted message's attachments: their files and rows. */
  'media.delete_attachments': z.object({ channel_id: id, attachment_ids: z.array(id) }),
  /** Every file of deleted channels (attached or not) and, with a guild id, that guild's icons. */
  'media.purge_channels': z.object({ guild_id: id.nullable(), channel_ids: z.array(id) }),
  /** Replaced avatars and icons. */
  'media.delete_files': z.object({ keys: z.array(z.string().min(1).max(1024)) }),
  /**
   * A message's role and @everyone/@here mentions: one more mention in the read state of every member of the
   * channel's guild who holds one of the roles (or any member, for everyone) and may view the channel, but the
   * author and those already counted on send.
   */
  'messages.count_mentions': z.object({
    channel_id: id,
    /** The message counted (absent from jobs queued before 0.x): the job does nothing if it was never stored. */
    message_id: id.optional(),
    author_id: id,
    role_ids: z.array(id).max(100),
    everyone: z.boolean(),
    /** The users named in the message (and the replied-to author), counted on send: skipped here. */
    counted: z.array(id).max(101),
  }),
  /**
   * A message that may notify people who are away (a DM, or one with mentions): who it concerns is worked out
   * in the queue role (settings, presence, devices), never on the send path. `user_ids`: users named directly
   * or replied to (at most 100); roles and everyone reach members by walking the guild.
   */
  'notifications.message': z.object({
    channel_id: id,
    message_id: id,
    author_id: id,
    user_ids: z.array(id).max(101),
    role_ids: z.array(id).max(100),
    everyone: z.boolean(),
  }),
  /** One push to each device of one user for one channel (the first message of a coalescing window). */
  'notifications.push': z.object({
    user_id: id,
    channel_id: id,
    guild_id: id.nullable(),
    message_id: id,
  }),
  /** After `notifications.email.delay`: one mail to the user listing what is still unread (mentions and DMs). */
  'notifications.email': z.object({ user_id: id }),
  /**
   * A message's links unfurled into link embeds (read from the message as it is when the job runs, so a later
   * edit or suppression wins), stored on it and sent as a partial MESSAGE_UPDATE.
   */
  'messages.unfurl': z.object({ channel_id: id, message_id: id }),

  /**
   * A deleted account's messages (`instance.account_deletion: delete`): every message it wrote, in guilds it is
   * in or has left and in DMs, found through the author index (migration 0043), deleted a page at a time.
   * `guild_ids` and `dm_channel_ids` are what jobs queued before 0043 carried; they are not needed any more.
   */
  'account.delete_messages': z.object({
    user_id: id,
    guild_ids: z.array(id).max(1000).optional(),
    dm_channel_ids: z.array(id).max(10_000).optional(),
  }),
  /** A personal data export (`POST /users/@me/data-export`): the zip of the account's data, to the file store. */
  'account.export_data': z.object({ user_id: id, export_id: id }),
  /** One email to one address (account mail: plain text, links in the body). */
  'mail.send': z.object({
    to: z.email().max(320),
    subject: z.string().min(1).max(998),
    text: z.string().max(100_000),
  }),
};

/** Durable work: at least once, survives a restart. Handlers must be idempotent. */
export type JobName = keyof typeof JOB_PAYLOADS;

export type JobPayloads = { [N in JobName]: z.infer<(typeof JOB_PAYLOADS)[N]> };

export type JobHandler<N extends JobName> = (payload: JobPayloads[N]) => Promise<void>;

/** A job handler ran past `jobs.deadline`: the attempt fails like any other (retry, then dead). */
export class JobDeadlineError extends Error {
  constructor(name: string, deadlineMs: number) {
    super(`job ${name} exceeded its deadline of ${deadlineMs} ms`);
  }
}

/**
 * Runs a handler with a deadline. A handler cannot be cancelled: past the deadline it is left to finish on its
 * own (handlers are idempotent), and the attempt is failed so the job is retried or set aside.
 */
export async function runWithDeadline(
  name: string,
  deadlineMs: number,
  run: () => Promise<void>,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new JobDeadlineError(name, deadlineMs)), deadlineMs);
  });
  const running = run();
  // A handler that fails after its deadline has nobody to tell.
  running.catch(() => undefined);
  try {
    await Promise.race([running, expired]);
  } finally {
    clearTimeout(timer);
  }
}

export interface EnqueueOptions {
  /**
   * Run no sooner than this many ms from now (a mail of what is still unread after a delay). The monolith's
   * table holds the job until then; on JetStream the worker that receives it early puts it back with that delay.
   */
  delayMs?: number;
}

export interface JobQueue {
  enqueue<N extends JobName>(name: N, payload: JobPayloads[N], options?: EnqueueOptions): Promise<void>;
  register<N extends JobName>(name: N, handler: JobHandler<N>): void;
  /**
   * The jobs that follow a message being stored (its link previews, mention counts, notifications), so that
   * queueing them costs the send no write of its own. Call it just before the message's write; pass `rows` to
   * that write (`messages.create(message, rows)`), then call `stored()` once it has succeeded.
   * - The jobs table (monolith): `rows` are the job rows, stored in the message's own transaction on SQLite
   *   (both or neither, one commit); `stored()` only wakes the poller.
   * - JetStream (microservices): `rows` is empty; the publishes start at once, concurrently with the message's
   *   write, and `stored()` resolves when JetStream holds them (by then, usually, already). A job may so run
   *   before its message is readable: handlers check with `messageJobReady`.
   * `stored()` never rejects: a job that could not be queued is logged (the message is stored and sent; its
   * follow-up is lost, as an enqueue that fails after a send always was).
   */
  withMessage(jobs: readonly MessageJob[]): MessageJobs;
}

/** One job that follows a message (see JobQueue.withMessage). */
export type MessageJob = { [N in JobName]: { name: N; payload: JobPayloads[N] } }[JobName];

export interface MessageJobs {
  /** Job rows to store with the message (empty when the queue keeps its jobs elsewhere). */
  rows: JobRecord[];
  /** The message is stored: the jobs may run. Never rejects. */
  stored(): Promise<void>;
}

/**
 * How long a job that follows a message waits for the message to become readable: the JetStream publish runs
 * concurrently with the message's write (and on Cassandra the job row is written alongside the message), so
 * the job may be taken first. Past this age (of the message id), a missing message is gone for good (deleted,
 * or its write failed) and the job does nothing.
 */
export const MESSAGE_JOB_WAIT_MS = 15_000;

/**
 * A message job ran before its message could be read: the attempt fails and is retried soon (`retryDelayMs`:
 * from 100 ms, doubling), as the write is usually a few milliseconds behind.
 */
export class MessageNotYetStored extends Error {
  constructor(messageId: string) {
    super(`message ${messageId} is not stored yet; retried`);
  }
}

/**
 * For a handler of a job that follows a message, once it has looked the message up: true when it is there;
 * false when it never will be (deleted, or its write failed), so the job has nothing to do; throws
 * MessageNotYetStored (a retry) while the message is young enough to be still in flight.
 */
const MAX_BACKOFF_MS = 5 * 60_000;

/** How long a failed attempt (the `attempts`-th, from 1) waits before the next one. */
export function retryDelayMs(err: unknown, attempts: number): number {
  const step = 2 ** Math.max(0, attempts - 1);
  return err instanceof MessageNotYetStored
    ? Math.min(5_000, 100 * step)
    : Math.min(MAX_BACKOFF_MS, 1000 * step);
}

export function messageJobReady(found: boolean, messageId: string, now = Date.now()): boolean {
  if (found) return true;
  if (now - snowflakeTime(messageId) < MESSAGE_JOB_WAIT_MS) throw new MessageNotYetStored(messageId);
  return false;
}

export const JOB_QUEUE = Symbol('JOB_QUEUE');

export function isJobName(name: string): name is JobName {
  return Object.hasOwn(JOB_PAYLOADS, name);
}

/** The payload as its job declares it, or why not (for the dead letter and the log). */
export function parseJobPayload(
  name: JobName,
  payload: unknown,
): { ok: true; payload: unknown } | { ok: false; reason: string } {
  const parsed = JOB_PAYLOADS[name].safeParse(payload);
  if (parsed.success) return { ok: true, payload: parsed.data };
  const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`);
  return { ok: false, reason: `invalid payload: ${problems.join('; ')}` };
}
