/** Durable work: at least once, survives a restart. Handlers must be idempotent. */
export type JobName =
  | 'channel.purge_messages'
  | 'guild.purge_messages'
  | 'media.delete_attachments'
  | 'media.purge_channels'
  | 'media.delete_files';

export interface JobPayloads {
  'channel.purge_messages': { channel_id: string };
  'guild.purge_messages': { guild_id: string; channel_ids: string[] };
  /** A deleted message's attachments: their files and rows. */
  'media.delete_attachments': { channel_id: string; attachment_ids: string[] };
  /** Every file of deleted channels (attached or not) and, with a guild id, that guild's icons. */
  'media.purge_channels': { guild_id: string | null; channel_ids: string[] };
  /** Replaced avatars and icons. */
  'media.delete_files': { keys: string[] };
}

export type JobHandler<N extends JobName> = (payload: JobPayloads[N]) => Promise<void>;

export interface JobQueue {
  enqueue<N extends JobName>(name: N, payload: JobPayloads[N]): Promise<void>;
  register<N extends JobName>(name: N, handler: JobHandler<N>): void;
}

export const JOB_QUEUE = Symbol('JOB_QUEUE');
