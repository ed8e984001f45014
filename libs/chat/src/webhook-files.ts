import type { Readable } from 'node:stream';
import type { AttachmentRef } from '@parley/storage';

/**
 * Where a webhook's files go (execute and edit with `files[n]`): libs/media provides it through this token, so
 * chat takes files without importing media. Absent in a process without the media part: files are refused.
 */
export const WEBHOOK_FILES = Symbol('WEBHOOK_FILES');

export interface WebhookFiles {
  /** The files of one request into one channel, charged to `uploaderId`'s upload quota (media.user_quota). */
  open(channelId: string, uploaderId: string): Promise<WebhookFileBatch>;
}

export interface WebhookFileBatch {
  /** storage.max_upload_size: the most one file may hold (the multipart reader cuts a file there). */
  readonly maxFileSize: number;
  /**
   * Streams one file into the file store as an upload no message holds yet (the expiry sweep removes it if the
   * process dies before the message is stored); its type is sniffed from the bytes. 413 (40005) past the size
   * limit or the quota, with nothing kept.
   */
  put(filename: string | undefined, file: Readable & { truncated?: boolean }): Promise<AttachmentRef>;
  /** Deletes every file and row `put` stored (the message was not stored). */
  discard(): Promise<void>;
}

/** Discord's limit of files per message. */
export const MAX_FILES_PER_MESSAGE = 10;
