import type { Readable } from 'node:stream';

export interface StoredFile {
  size: number;
  /** Opaque validator of this version of the file (quoted by the media proxy as its ETag). */
  etag: string;
  lastModified: number;
}

/** Inclusive byte range, as in an HTTP Range header. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface PresignedUpload {
  url: string;
  method: 'PUT';
  /** Headers the client must send exactly as given (they are part of the signature). */
  headers: Record<string, string>;
}

/** Thrown by `put` when the body passes `maxBytes`; nothing is left stored. */
export class FileTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`file is larger than ${maxBytes} bytes`);
    this.name = 'FileTooLargeError';
  }
}

/**
 * Where uploaded bytes live. Keys are `/`-separated paths the media library builds itself
 * (`attachments/<channel>/<id>`, `avatars/<user>/<hash>`, `icons/<guild>/<hash>`, `emojis/<id>.png`), never user input.
 */
export interface FileStore {
  readonly driver: 'local' | 's3';
  /**
   * Streams `body` to `key` without holding it in memory. On any failure, including passing
   * `maxBytes` (FileTooLargeError), nothing is left at `key`. Returns the bytes written.
   */
  put(key: string, body: Readable, options: { maxBytes: number; contentType?: string }): Promise<number>;
  stat(key: string): Promise<StoredFile | null>;
  /** The file's bytes (a range of them when given); rejects when the file is missing. */
  read(key: string, range?: ByteRange): Promise<Readable>;
  /** Deleting a missing key is not an error. */
  delete(keys: readonly string[]): Promise<void>;
  /** Deletes every file whose key starts with `prefix` (which ends with `/`). */
  deletePrefix(prefix: string): Promise<void>;
  /** A URL a client can PUT the file to directly, or null when the driver cannot (local disk). */
  presignUpload(
    key: string,
    options: { size: number; contentType: string; expiresInSeconds: number },
  ): Promise<PresignedUpload | null>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export const FILE_STORE = Symbol('FILE_STORE');

const ID = /^[0-9]{1,20}$/;
const HASH = /^[0-9a-f]{32}$/;

function id(value: string): string {
  if (!ID.test(value)) throw new Error(`not an id: ${value}`);
  return value;
}

export const fileKeys = {
  attachment: (channelId: string, attachmentId: string) => `attachments/${id(channelId)}/${id(attachmentId)}`,
  channelAttachments: (channelId: string) => `attachments/${id(channelId)}/`,
  avatar: (userId: string, hash: string) => `avatars/${id(userId)}/${hashOf(hash)}`,
  icon: (guildId: string, hash: string) => `icons/${id(guildId)}/${hashOf(hash)}`,
  guildIcons: (guildId: string) => `icons/${id(guildId)}/`,
  emoji: (emojiId: string, extension: 'png' | 'gif') => `emojis/${id(emojiId)}.${extension}`,
};

function hashOf(value: string): string {
  if (!HASH.test(value)) throw new Error('not an image hash');
  return value;
}
