import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { JOB_QUEUE, type JobPayloads, type JobQueue, messageJobReady } from '@parley/bus';
import { Permission, PermissionCalculator } from '@parley/common';
import { STORAGE, type Storage } from '@parley/storage';
import { AccessService } from './access.service';

const PAGE = 1000;

/**
 * Counts role and @everyone/@here mentions in read states, in the queue role: the members reached are found
 * by walking the guild's member list a page at a time, so a send never waits on the size of its guild.
 * At least once: a retried attempt may count a member twice (a badge one too high until read, never lost).
 */
@Injectable()
export class MentionJobs implements OnModuleInit {
  constructor(
    @Inject(JOB_QUEUE) private readonly jobs: JobQueue,
    @Inject(STORAGE) private readonly storage: Storage,
    private readonly access: AccessService,
  ) {}

  onModuleInit(): void {
    this.jobs.register('messages.count_mentions', (payload) => this.count(payload));
  }

  async count(job: JobPayloads['messages.count_mentions']): Promise<void> {
    const [channel, message] = await Promise.all([
      this.storage.channels.findById(job.channel_id),
      job.message_id === undefined ? true : this.storage.messages.find(job.channel_id, job.message_id),
    ]);
    if (!channel?.guildId) return; // deleted since: nothing left to count
    // Its message never stored (a failed send), or deleted since: no mention to count. Not readable yet: retried.
    if (job.message_id !== undefined && !messageJobReady(message !== null, job.message_id)) return;
    const [guild, roles] = await Promise.all([
      this.storage.guilds.findById(channel.guildId),
      this.storage.roles.list(channel.guildId),
    ]);
    if (!guild) return;
    const wanted = new Set(job.role_ids);
    const skip = new Set([job.author_id, ...job.counted]);
    let after: string | undefined;
    for (;;) {
      const page = await this.storage.members.list(guild.id, { limit: PAGE, after });
      const reached = page
        .filter((m) => !skip.has(m.userId) && (job.everyone || m.roles.some((r) => wanted.has(r))))
        .filter((m) =>
          PermissionCalculator.has(
            this.access.channelPermissions(this.access.build(guild, m, roles), channel),
            Permission.VIEW_CHANNEL,
          ),
        )
        .map((m) => m.userId);
      if (reached.length > 0) await this.storage.readStates.incrementMentions(channel.id, reached);
      if (page.length < PAGE) return;
      after = page[page.length - 1].userId;
    }
  }
}
