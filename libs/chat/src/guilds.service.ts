import { Inject, Injectable } from '@nestjs/common';
import {
  ChannelType,
  DEFAULT_EVERYONE_PERMISSIONS,
  ForbiddenError,
  type GuildDto,
  type GuildFullDto,
  Permission,
  PermissionCalculator,
  SnowflakeGenerator,
  isSnowflake,
  unknown,
} from '@parley/common';
import { InstanceCounters } from '@parley/auth';
import { EVENT_BUS, type EventBus, JOB_QUEUE, type JobQueue } from '@parley/bus';
import {
  type ChannelRecord,
  type GuildRecord,
  type MemberRecord,
  type RoleRecord,
  STORAGE,
  type Storage,
} from '@parley/storage';
import { AccessService, type GuildAccess } from './access.service';
import { AuditLogEvent, changesOf } from './moderation/audit-log-events';
import { AuditLogService } from './moderation/audit-log.service';
import { emojiFileKeys, toEmoji } from './emoji';
import { toChannel, toGuild, toRole } from './serializers';

/** Guilds themselves: creation with their defaults, reading, renaming, ownership transfer, deletion. */
@Injectable()
export class GuildService {
  constructor(
    @Inject(STORAGE) private readonly storage: Storage,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(JOB_QUEUE) private readonly jobs: JobQueue,
    private readonly ids: SnowflakeGenerator,
    private readonly access: AccessService,
    private readonly audit: AuditLogService,
    private readonly counters: InstanceCounters,
  ) {}

  async create(ownerId: string, name: string): Promise<GuildFullDto> {
    const now = Date.now();
    const guild: GuildRecord = {
      id: this.ids.next(),
      name,
      icon: null,
      ownerId,
      createdAt: now,
      defaultMessageNotifications: 0,
    };
    const everyone: RoleRecord = {
      id: guild.id,
      guildId: guild.id,
      name: '@everyone',
      permissions: DEFAULT_EVERYONE_PERMISSIONS.toString(),
      color: 0,
      position: 0,
      mentionable: false,
    };
    const general: ChannelRecord = {
      id: this.ids.next(),
      type: ChannelType.TEXT,
      guildId: guild.id,
      name: 'general',
      topic: null,
      parentId: null,
      position: 0,
      recipients: [],
      overwrites: [],
    };
    const owner: MemberRecord = { guildId: guild.id, userId: ownerId, nick: null, roles: [], joinedAt: now };
    await this.storage.guilds.createWithDefaults(guild, everyone, [general], owner);
    this.counters.count('guilds');
    const full: GuildFullDto = {
      ...toGuild(guild),
      channels: [toChannel(general, null)],
      roles: [toRole(everyone)],
      emojis: [],
    };
    this.bus.publish({
      type: 'GUILD_CREATE',
      scope: { kind: 'user', id: ownerId },
      data: full,
      routing: { guildId: guild.id, userId: ownerId, memberRoles: owner.roles },
    });
    return full;
  }

  async get(guildId: string, userId: string): Promise<GuildFullDto> {
    const access = await this.access.guild(guildId, userId);
    return this.full(access);
  }

  /** The guild with its roles and the channels this member can see. */
  async full(access: GuildAccess): Promise<GuildFullDto> {
    const [all, emojis] = await Promise.all([
      this.storage.channels.listByGuild(access.guild.id),
      this.storage.emojis.list(access.guild.id),
    ]);
    const channels = all.filter((c) =>
      PermissionCalculator.has(this.access.channelPermissions(access, c), Permission.VIEW_CHANNEL),
    );
    const last = await this.storage.messages.lastMessageIds(channels.map((c) => c.id));
    return {
      ...toGuild(access.guild),
      roles: access.roles.map(toRole),
      channels: channels.map((c) => toChannel(c, last.get(c.id) ?? null)),
      emojis: emojis.map((e) => toEmoji(e)),
    };
  }

  async listForUser(userId: string): Promise<GuildDto[]> {
    const ids = await this.storage.members.listGuildIds(userId);
    return (await this.storage.guilds.findByIds(ids)).map(toGuild);
  }

  async update(
    guildId: string,
    userId: string,
    patch: { name?: string; owner_id?: string; default_message_notifications?: number },
    reason: string | null = null,
  ): Promise<GuildDto> {
    const access = await this.access.requireGuild(guildId, userId, Permission.MANAGE_GUILD);
    const change: { name?: string; ownerId?: string; defaultMessageNotifications?: number } = {};
    if (patch.name !== undefined) change.name = patch.name;
    if (patch.default_message_notifications !== undefined)
      change.defaultMessageNotifications = patch.default_message_notifications;
    if (patch.owner_id !== undefined && patch.owner_id !== access.guild.ownerId) {
      if (userId !== access.guild.ownerId) throw new ForbiddenError('Only the owner can transfer the guild');
      if (!isSnowflake(patch.owner_id) || !(await this.storage.members.find(guildId, patch.owner_id)))
        throw unknown('member');
      change.ownerId = patch.owner_id;
    }
    if (Object.keys(change).length > 0) await this.storage.guilds.update(guildId, change);
    const dto = toGuild({ ...access.guild, ...change });
    this.bus.publish({
      type: 'GUILD_UPDATE',
      scope: { kind: 'guild', id: guildId },
      data: dto,
      routing: { guildId },
    });
    const changes = changesOf(toGuild(access.guild), dto, [
      'name',
      'owner_id',
      'default_message_notifications',
    ]);
    if (changes.length > 0)
      this.audit.record({
        guildId,
        userId,
        actionType: AuditLogEvent.GUILD_UPDATE,
        targetId: guildId,
        changes,
        reason,
      });
    return dto;
  }

  async delete(guildId: string, userId: string): Promise<void> {
    const access = await this.access.guild(guildId, userId);
    if (access.guild.ownerId !== userId) throw new ForbiddenError('Only the owner can delete the guild');
    await this.remove(guildId);
  }

  /** Deletes a guild whoever asks: the owner (above) or an instance admin (the caller has checked). */
  async remove(guildId: string): Promise<void> {
    const channels = await this.storage.channels.listByGuild(guildId);
    // The purge job is queued first: if the process dies after it, the job still removes the messages.
    await this.jobs.enqueue('guild.purge_messages', {
      guild_id: guildId,
      channel_ids: channels.map((c) => c.id),
    });
    await this.jobs.enqueue('media.purge_channels', {
      guild_id: guildId,
      channel_ids: channels.map((c) => c.id),
    });
    const emojis = await this.storage.emojis.list(guildId);
    // The guild row alone, in the request: the guild is gone for everyone at once. Its members, roles,
    // channels and the rest go in the purge job (the same job as its messages), however big the guild.
    await this.storage.guilds.removeRecord(guildId);
    // After the rows: a crash in between leaves unused files, never an emoji without its image.
    if (emojis.length > 0)
      await this.jobs.enqueue('media.delete_files', { keys: emojis.flatMap((e) => emojiFileKeys(e.id)) });
    this.counters.count('guilds', -1);
    this.bus.publish({
      type: 'GUILD_DELETE',
      scope: { kind: 'guild', id: guildId },
      data: { id: guildId },
      routing: { guildId, removedFromGuild: true },
    });
  }
}
