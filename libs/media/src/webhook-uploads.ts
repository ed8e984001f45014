import type { Readable } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import { PayloadTooLargeError, SnowflakeGenerator } from '@parley/common';
import type { WebhookFileBatch, WebhookFiles } from '@parley/chat';
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { type AttachmentRef, STORAGE, type Storage } from '@parley/storage';
import { uploadRecord } from './attachments.service';
import { FILE_STORE, type FileStore, FileTooLargeError, fileKeys } from './file-store';
import { HeadCapture } from './head-capture';
import { cleanFilename } from './http-files';
import { SNIFF_BYTES } from './sniff';

/**
 * Files sent to a webhook (execute, edit), through the same pipeline as a person's uploads: streamed to the file
 * store, cut at storage.max_upload_size and at the uploader's room under media.user_quota (413, 40005, nothing
 * kept), type sniffed from the bytes. Chat receives it as WEBHOOK_FILES.
 */
@Injectable()
export class WebhookUploads implements WebhookFiles {
  constructor(
    @Inject(STORAGE) private readonly storage: Storage,
    @Inject(FILE_STORE) private readonly files: FileStore,
    @Inject(PARLEY_CONFIG) private readonly config: ParleyConfig,
    private readonly ids: SnowflakeGenerator,
  ) {}

  async open(channelId: string, uploaderId: string): Promise<WebhookFileBatch> {
    const quota = this.config.media.user_quota;
    // Read once per request: the files of one request count against what was left when it began.
    let room =
      quota === 0
        ? Number.POSITIVE_INFINITY
        : Math.max(0, quota - (await this.storage.attachments.usage(uploaderId)));
    const maxFileSize = this.config.storage.max_upload_size;
    const stored: { id: string; key: string }[] = [];
    const tooLarge = (quotaBound: boolean, filename: string): PayloadTooLargeError => {
      const err = new PayloadTooLargeError(
        quotaBound
          ? `The webhook's uploads would exceed its creator's storage quota of ${quota} bytes`
          : `Files are limited to ${maxFileSize} bytes`,
      );
      err.errors = {
        files: [
          {
            code: quotaBound ? 'UPLOAD_QUOTA_EXCEEDED' : 'FILE_TOO_LARGE',
            message: `${filename}: at most ${quotaBound ? quota : maxFileSize} bytes`,
          },
        ],
      };
      return err;
    };
    return {
      maxFileSize,
      put: async (rawName: string | undefined, file: Readable & { truncated?: boolean }) => {
        const filename = cleanFilename(rawName);
        const max = Math.min(maxFileSize, room);
        const quotaBound = room < maxFileSize;
        if (max <= 0) {
          file.resume();
          throw tooLarge(true, filename);
        }
        const id = this.ids.next();
        const key = fileKeys.attachment(channelId, id);
        const capture = new HeadCapture(SNIFF_BYTES);
        file.once('error', (err: Error) => capture.destroy(err));
        let size: number;
        try {
          size = await this.files.put(key, file.pipe(capture), { maxBytes: max });
        } catch (err) {
          if (
            err instanceof FileTooLargeError ||
            (err as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE'
          )
            throw tooLarge(quotaBound, filename);
          throw err;
        }
        if (file.truncated) {
          await this.files.delete([key]);
          throw tooLarge(quotaBound, filename);
        }
        const record = uploadRecord(id, channelId, uploaderId, filename, size, capture.head);
        try {
          await this.storage.attachments.create(record);
        } catch (err) {
          await this.files.delete([key]).catch(() => undefined);
          throw err;
        }
        stored.push({ id, key });
        room -= size;
        const ref: AttachmentRef = {
          id,
          filename,
          size,
          contentType: record.contentType,
          width: record.width,
          height: record.height,
        };
        return ref;
      },
      discard: async () => {
        if (stored.length === 0) return;
        const gone = stored.splice(0);
        await this.storage.attachments.delete(gone.map((f) => f.id));
        await this.files.delete(gone.map((f) => f.key));
      },
    };
  }
}
