import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { JOB_QUEUE, type JobQueue } from '@parley/bus';
import { STORAGE, type Storage } from '@parley/storage';

const BATCH = 500;

/** Deletes the messages of deleted channels and guilds in the background, in bounded batches. */
@Injectable()
export class PurgeJobs implements OnModuleInit {
  constructor(
    @Inject(JOB_QUEUE) private readonly jobs: JobQueue,
    @Inject(STORAGE) private readonly storage: Storage,
  ) {}

  onModuleInit(): void {
    this.jobs.register('channel.purge_messages', ({ channel_id }) => this.purgeChannel(channel_id));
    this.jobs.register('guild.purge_messages', async ({ channel_ids }) => {
      for (const id of channel_ids) await this.purgeChannel(id);
    });
  }

  private async purgeChannel(channelId: string): Promise<void> {
    while ((await this.storage.messages.deleteChannelBatch(channelId, BATCH)) > 0) {
      // Yield between batches so request handling keeps its latency.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}
