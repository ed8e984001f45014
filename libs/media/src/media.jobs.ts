import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { JOB_QUEUE, type JobQueue } from '@parley/bus';
import { requireGone } from '@parley/chat';
import { STORAGE, type Storage } from '@parley/storage';
import { FILE_STORE, type FileStore, fileKeys } from './file-store';

const BATCH = 500;

/**
 * Cleanup as durable jobs (at least once, so every step is idempotent): files go before rows, so a
 * crash in between leaves a row whose file is already gone (the proxy answers 404), never a file
 * nobody can find any more.
 */
@Injectable()
export class MediaJobs implements OnModuleInit {
  constructor(
    @Inject(JOB_QUEUE) private readonly jobs: JobQueue,
    @Inject(STORAGE) private readonly storage: Storage,
    @Inject(FILE_STORE) private readonly files: FileStore,
  ) {}

  onModuleInit(): void {
    this.jobs.register('media.delete_attachments', async ({ channel_id, attachment_ids }) => {
      await this.files.delete(attachment_ids.map((id) => fileKeys.attachment(channel_id, id)));
      await this.storage.attachments.delete(attachment_ids);
    });
    this.jobs.register('media.purge_channels', async ({ guild_id, channel_ids }) => {
      await requireGone(this.storage, guild_id, channel_ids);
      for (const channelId of channel_ids) await this.purgeChannel(channelId);
      if (guild_id !== null) await this.files.deletePrefix(fileKeys.guildIcons(guild_id));
    });
    this.jobs.register('media.delete_files', ({ keys }) => this.files.delete(keys));
  }

  private async purgeChannel(channelId: string): Promise<void> {
    // Paged from a cursor past what was deleted: a read never walks the tombstones of earlier pages.
    let after: string | undefined;
    for (;;) {
      const batch = await this.storage.attachments.listByChannel(channelId, { limit: BATCH, after });
      if (batch.length === 0) break;
      await this.files.delete(batch.map((a) => fileKeys.attachment(channelId, a.id)));
      await this.storage.attachments.delete(batch.map((a) => a.id));
      after = batch[batch.length - 1].id;
    }
    // Presigned uploads that were never completed have a file but no row.
    await this.files.deletePrefix(fileKeys.channelAttachments(channelId));
  }
}
