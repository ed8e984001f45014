import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { JobHandler, JobName, JobPayloads, JobQueue, MessageJobs } from '@parley/bus';
import { PurgeJobs } from '@parley/chat';
import { SnowflakeGenerator } from '@parley/common';
import { loadConfig } from '@parley/config';
import { LocalFileStore, MediaJobs, fileKeys } from '@parley/media';
import {
  type ChannelRecord,
  CassandraStorage,
  type GuildRecord,
  SqliteStorage,
  type Storage,
} from '@parley/storage';
import { messageRecord } from '@parley/storage/testing';
import { cassandraSettings, dropKeyspace, requireCassandra, testKeyspace } from '../cassandra/support';

jest.setTimeout(120_000);

/** The queue edge only: records the handlers the job classes register, to run them as a worker would. */
class RecordedJobs implements JobQueue {
  readonly handlers = new Map<JobName, (payload: never) => Promise<void>>();
  enqueue(): Promise<void> {
    return Promise.resolve();
  }
  register<N extends JobName>(name: N, handler: JobHandler<N>): void {
    this.handlers.set(name, handler);
  }
  withMessage(): MessageJobs {
    return { rows: [], stored: () => Promise.resolve() };
  }
  run<N extends JobName>(name: N, payload: JobPayloads[N]): Promise<void> {
    return this.handlers.get(name)!(payload as never);
  }
}

const keyspace = testKeyspace('parley_purge');

/**
 * Purge jobs are queued before the deletion they follow (so a crash cannot lose them); if that deletion then
 * fails, the job must not delete a live channel's or guild's messages and files. On both storage drivers.
 */
describe.each(['sqlite', 'cassandra'] as const)('purge jobs check the target is gone (%s)', (driver) => {
  const ids = new SnowflakeGenerator(0, 9);
  let dir: string;
  let storage: Storage;
  let files: LocalFileStore;
  let jobs: RecordedJobs;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-purge-'));
    if (driver === 'cassandra') {
      await requireCassandra();
      storage = new CassandraStorage(cassandraSettings({ keyspace }));
    } else {
      const config = loadConfig({ env: {} });
      storage = new SqliteStorage({ ...config.database.sqlite, path: join(dir, 'parley.db') });
    }
    await storage.migrate();
    files = new LocalFileStore(join(dir, 'files'));
    jobs = new RecordedJobs();
    new PurgeJobs(jobs, storage).onModuleInit();
    new MediaJobs(jobs, storage, files).onModuleInit();
  });

  afterAll(async () => {
    await storage?.close();
    if (driver === 'cassandra') await dropKeyspace(keyspace);
    rmSync(dir, { recursive: true, force: true });
  });

  /** A guild with one channel holding a message and an attached file. */
  const seed = async () => {
    const now = Date.now();
    const guild: GuildRecord = {
      id: ids.next(),
      name: 'g',
      icon: null,
      ownerId: ids.next(),
      createdAt: now,
      defaultMessageNotifications: 0,
    };
    const channel: ChannelRecord = {
      id: ids.next(),
      type: 0,
      guildId: guild.id,
      name: 'general',
      topic: null,
      parentId: null,
      position: 0,
      recipients: [],
      overwrites: [],
    };
    await storage.guilds.createWithDefaults(
      guild,
      {
        id: guild.id,
        guildId: guild.id,
        name: '@everyone',
        permissions: '0',
        color: 0,
        position: 0,
        mentionable: false,
      },
      [channel],
      { guildId: guild.id, userId: guild.ownerId, nick: null, roles: [], joinedAt: now },
    );
    const message = messageRecord({
      id: ids.next(),
      channelId: channel.id,
      guildId: guild.id,
      authorId: guild.ownerId,
      content: 'keep me',
    });
    await storage.messages.create(message);
    const attachmentId = ids.next();
    await storage.attachments.create({
      id: attachmentId,
      channelId: channel.id,
      uploaderId: guild.ownerId,
      messageId: message.id,
      filename: 'a.txt',
      size: 4,
      contentType: 'text/plain',
      width: null,
      height: null,
      createdAt: now,
    });
    const key = fileKeys.attachment(channel.id, attachmentId);
    await files.put(key, Readable.from([Buffer.from('data')]), { maxBytes: 1024 });
    return { guild, channel, message, key };
  };

  const kept = async (s: Awaited<ReturnType<typeof seed>>) => ({
    messages: (await storage.messages.listLatest(s.channel.id, 10)).map((m) => m.id),
    attachments: (await storage.attachments.listByChannel(s.channel.id, { limit: 10 })).length,
    file: (await files.stat(s.key)) !== null,
  });

  it('a channel whose deletion failed keeps its messages and files; once deleted, they go', async () => {
    const s = await seed();
    await expect(jobs.run('channel.purge_messages', { channel_id: s.channel.id })).rejects.toThrow(
      `channel ${s.channel.id} still exists`,
    );
    await expect(
      jobs.run('media.purge_channels', { guild_id: null, channel_ids: [s.channel.id] }),
    ).rejects.toThrow('still exists');
    expect(await kept(s)).toEqual({ messages: [s.message.id], attachments: 1, file: true });

    // The deletion lands: the retried jobs purge.
    await storage.channels.delete(s.channel.id);
    await jobs.run('channel.purge_messages', { channel_id: s.channel.id });
    await jobs.run('media.purge_channels', { guild_id: null, channel_ids: [s.channel.id] });
    expect(await kept(s)).toEqual({ messages: [], attachments: 0, file: false });
  });

  it('a guild whose deletion failed keeps every channel’s messages and files; once deleted, they go', async () => {
    const s = await seed();
    const payload = { guild_id: s.guild.id, channel_ids: [s.channel.id] };
    await expect(jobs.run('guild.purge_messages', payload)).rejects.toThrow(
      `guild ${s.guild.id} still exists`,
    );
    await expect(jobs.run('media.purge_channels', payload)).rejects.toThrow('still exists');
    expect(await kept(s)).toEqual({ messages: [s.message.id], attachments: 1, file: true });

    // What the request does: the guild row alone; the job removes what it held.
    await storage.guilds.removeRecord(s.guild.id);
    expect(await storage.members.find(s.guild.id, s.guild.ownerId)).not.toBeNull();
    await jobs.run('guild.purge_messages', payload);
    await jobs.run('media.purge_channels', payload);
    expect(await kept(s)).toEqual({ messages: [], attachments: 0, file: false });
    expect(await storage.members.find(s.guild.id, s.guild.ownerId)).toBeNull();
    expect(await storage.channels.findById(s.channel.id)).toBeNull();
    expect(await storage.roles.list(s.guild.id)).toEqual([]);
  });

  it('a role still there keeps its members; once deleted, the job takes it off them', async () => {
    const s = await seed();
    const role = {
      id: ids.next(),
      guildId: s.guild.id,
      name: 'staff',
      permissions: '0',
      color: 0,
      position: 1,
      mentionable: false,
    };
    await storage.roles.create(role);
    await storage.members.update(s.guild.id, s.guild.ownerId, { roles: [role.id] });
    const payload = { guild_id: s.guild.id, role_id: role.id };
    await expect(jobs.run('role.purge_members', payload)).rejects.toThrow(`role ${role.id} still exists`);
    expect((await storage.members.find(s.guild.id, s.guild.ownerId))?.roles).toEqual([role.id]);

    await storage.roles.delete(s.guild.id, role.id);
    await jobs.run('role.purge_members', payload);
    expect((await storage.members.find(s.guild.id, s.guild.ownerId))?.roles).toEqual([]);
  });
});
