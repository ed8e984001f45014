import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { EVENT_BUS, JOB_QUEUE, type EventBus, type JobPayloads, type JobQueue } from '@parley/bus';
import { STORAGE, type MessageRecord, type Storage } from '@parley/storage';

const PAGE = 100;

/**
 * queue role: a deleted account's messages (`instance.account_deletion: delete`). Found through the search
 * index by author, a page of the newest at a time below the oldest seen (so a page never comes back), and
 * deleted as their author would delete them: attachments queued, reactions and pins gone, MESSAGE_DELETE sent.
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
    for (const guildId of job.guild_ids) {
      const channels = await this.storage.channels.listByGuild(guildId);
      if (channels.length > 0)
        await this.deleteIn(
          guildId,
          channels.map((c) => c.id),
          job.user_id,
        );
    }
    if (job.dm_channel_ids.length > 0) await this.deleteIn(null, job.dm_channel_ids, job.user_id);
  }

  private async deleteIn(guildId: string | null, channelIds: string[], authorId: string): Promise<void> {
    let maxId: string | undefined;
    for (;;) {
      const { messages } = await this.storage.messageSearch.search({
        guildId,
        channelIds,
        terms: [],
        authorIds: [authorId],
        mentions: [],
        has: [],
        maxId,
        offset: 0,
        limit: PAGE,
      });
      if (messages.length === 0) return;
      for (const message of messages) await this.deleteOne(message);
      maxId = messages[messages.length - 1].id;
    }
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
