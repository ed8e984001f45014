/** Durable work: at least once, survives a restart. Handlers must be idempotent. */
export type JobName = 'channel.purge_messages' | 'guild.purge_messages';

export interface JobPayloads {
  'channel.purge_messages': { channel_id: string };
  'guild.purge_messages': { guild_id: string; channel_ids: string[] };
}

export type JobHandler<N extends JobName> = (payload: JobPayloads[N]) => Promise<void>;

export interface JobQueue {
  enqueue<N extends JobName>(name: N, payload: JobPayloads[N]): Promise<void>;
  register<N extends JobName>(name: N, handler: JobHandler<N>): void;
}

export const JOB_QUEUE = Symbol('JOB_QUEUE');
