import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { EVENT_BUS, JOB_QUEUE, type EventBus, type JobPayloads, type JobQueue } from '@parley/bus';
import { STORAGE, type MessageRecord, type Storage } from '@parley/storage';

const PAGE = 100;

/**
 * queue role: a deleted account's messages (`instance.account_deletion: delete`), everywhere it wrote: guilds
 * it is in, guilds it has left, DMs. Found through the author index (`messages.listByAuthor`: SQLite's
 * `messages_by_author` index, Cassandra's per-author, per-10-days partitions; migration 0043) from the
 * account's creation (its id) on, a page at a time, and deleted as their author would delete them:
 * attachments queued, reactions and pins gone, MESSAGE_DELETE sent. Then the author index is dropped.
 * Idempotent: a retried attempt finds only what is left.
 */
@Injectable()
export class AccountJobs implements OnModuleInit {
  constructor(
    @Inject(JOB_QUEUE) private readonly jobs: JobQueue,
    @Inject(STORAGE) private readonly storage: Storage,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
  ) {}

  onModuleInit(): void {
    this.jobs.register('account.delete_messages', (payload) => this.deleteMessages(payload));
  }

  async deleteMessages(job: JobPayloads['account.delete_messages']): Promise<void> {
    const since = job.user_id;
    let before: string | null = null;
    for (;;) {
      const page = await this.storage.messages.listByAuthor(job.user_id, { before, since, limit: PAGE });
      for (const message of page.messages) {
        if (message.authorId === job.user_id) await this.deleteOne(message);
      }
      if (page.cursor === null) break;
      before = page.cursor;
    }
    await this.storage.messages.forgetAuthor(job.user_id, since);
  }

  private async deleteOne(message: MessageRecord): Promise<void> {
    if (message.attachments.length > 0) {
      await this.jobs.enqueue('media.delete_attachments', {
        channel_id: message.channelId,
        attachment_ids: message.attachments.map((a) => a.id),
      });
    }
    await this.storage.messages.delete(message.channelId, message.id, message.guildId);
    await this.storage.reactions.deleteForMessage(message.channelId, message.id);
    if (message.pinned) await this.storage.pins.remove(message.channelId, message.id);
    this.bus.publish({
      type: 'MESSAGE_DELETE',
      scope: { kind: 'channel', id: message.channelId, guildId: message.guildId },
      data: {
        id: message.id,
        channel_id: message.channelId,
        ...(message.guildId ? { guild_id: message.guildId } : {}),
      },
    });
  }
}
