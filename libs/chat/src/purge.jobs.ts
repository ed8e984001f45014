import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { JOB_QUEUE, type JobQueue } from '@parley/bus';
import { STORAGE, type Storage } from '@parley/storage';

/**
 * A purge found its channel or guild still there: its deletion failed after the job was queued (the job is
 * queued first), or has not landed yet. Nothing is deleted; the job is retried with backoff, and set aside
 * as dead (the data kept) if the deletion never lands.
 */
export class PurgeTargetExistsError extends Error {
  constructor(kind: 'channel' | 'guild' | 'role', id: string) {
    super(`${kind} ${id} still exists: its messages and files are kept`);
  }
}

/** Throws unless the guild (when given) or else every channel is gone from storage. */
export async function requireGone(
  storage: Storage,
  guildId: string | null,
  channelIds: string[],
): Promise<void> {
  if (guildId !== null) {
    // A deleted guild's channels go with it; its id is what the deletion removed.
    if (await storage.guilds.findById(guildId)) throw new PurgeTargetExistsError('guild', guildId);
    return;
  }
  for (const id of channelIds)
    if (await storage.channels.findById(id)) throw new PurgeTargetExistsError('channel', id);
}

/**
 * Deletes the messages of deleted channels and guilds in the background, in bounded steps (storage's
 * `purgeChannelStep`: row ranges on SQLite, whole bucket partitions on Cassandra), once storage confirms
 * they are gone. Every step is idempotent and progress is what is already gone, so a job killed mid-way
 * (process crash, deploy) is retried by the queue and continues where it stopped.
 */
@Injectable()
export class PurgeJobs implements OnModuleInit {
  constructor(
    @Inject(JOB_QUEUE) private readonly jobs: JobQueue,
    @Inject(STORAGE) private readonly storage: Storage,
  ) {}

  onModuleInit(): void {
    this.jobs.register('channel.purge_messages', async ({ channel_id }) => {
      await requireGone(this.storage, null, [channel_id]);
      await this.purgeChannel(channel_id);
    });
    this.jobs.register('guild.purge_messages', async ({ guild_id, channel_ids }) => {
      await requireGone(this.storage, guild_id, channel_ids);
      // What the request left (it removed the guild row only): members, roles, channels, invites...
      await this.storage.guilds.delete(guild_id);
      for (const id of channel_ids) await this.purgeChannel(id);
    });
    this.jobs.register('role.purge_members', async ({ guild_id, role_id }) => {
      if (await this.storage.roles.find(guild_id, role_id)) throw new PurgeTargetExistsError('role', role_id);
      await this.storage.roles.removeFromMembers(guild_id, role_id);
    });
  }

  private async purgeChannel(channelId: string): Promise<void> {
    while (await this.storage.messages.purgeChannelStep(channelId)) {
      // Yield between steps so request handling keeps its latency.
      await new Promise((resolve) => setImmediate(resolve));
    }
    await this.storage.pins.deleteChannel(channelId);
  }
}
