import { Inject, Injectable } from '@nestjs/common';
import {
  BadRequestError,
  type ChannelDto,
  ChannelType,
  ForbiddenError,
  Permission,
  PermissionCalculator,
  SnowflakeGenerator,
  isSnowflake,
  parsePermissions,
  unknown,
} from '@parley/common';
import { EVENT_BUS, type EventBus, JOB_QUEUE, type JobQueue } from '@parley/bus';
import {
  type ChannelRecord,
  type DmPage,
  type OverwriteRecord,
  STORAGE,
  type Storage,
} from '@parley/storage';
import { AccessService, type GuildAccess } from './access.service';
import { AuditLogEvent, changesOf } from './moderation/audit-log-events';
import { AuditLogService } from './moderation/audit-log.service';
import { RelationshipService } from './moderation/relationships.service';
import { toChannel } from './serializers';
import { UserDirectory } from './users.directory';

export interface OverwriteInput {
  id: string;
  type: 0 | 1;
  allow?: string;
  deny?: string;
}

export interface ChannelInput {
  name: string;
  type?: number;
  topic?: string | null;
  parent_id?: string | null;
  position?: number;
  rate_limit_per_user?: number;
  permission_overwrites?: OverwriteInput[];
}

@Injectable()
export class ChannelService {
  constructor(
    @Inject(STORAGE) private readonly storage: Storage,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(JOB_QUEUE) private readonly jobs: JobQueue,
    private readonly ids: SnowflakeGenerator,
    private readonly access: AccessService,
    private readonly users: UserDirectory,
    private readonly audit: AuditLogService,
    private readonly relationships: RelationshipService,
  ) {}

  async listGuildChannels(guildId: string, userId: string): Promise<ChannelDto[]> {
    const access = await this.access.guild(guildId, userId);
    const channels = (await this.storage.channels.listByGuild(guildId)).filter((c) =>
      PermissionCalculator.has(this.access.channelPermissions(access, c), Permission.VIEW_CHANNEL),
    );
    const last = await this.storage.messages.lastMessageIds(channels.map((c) => c.id));
    return channels.map((c) => toChannel(c, last.get(c.id) ?? null));
  }

  async create(
    guildId: string,
    userId: string,
    input: ChannelInput,
    reason: string | null = null,
  ): Promise<ChannelDto> {
    const access = await this.access.requireGuild(guildId, userId, Permission.MANAGE_CHANNELS);
    const type = input.type ?? ChannelType.TEXT;
    if (type !== ChannelType.TEXT && type !== ChannelType.VOICE && type !== ChannelType.CATEGORY) {
      throw BadRequestErrorField('type', 'Guild channels are text (0), voice (2) or category (4)');
    }
    const parentId = input.parent_id ?? null;
    if (parentId !== null) await this.requireCategory(guildId, parentId, type);
    const id = this.ids.next();
    const overwrites = await this.validateOverwrites(access, id, input.permission_overwrites ?? []);
    const channel: ChannelRecord = {
      id,
      type,
      guildId,
      name: input.name,
      topic: input.topic ?? null,
      parentId,
      position: input.position ?? 0,
      recipients: [],
      overwrites,
      ...(type === ChannelType.TEXT && input.rate_limit_per_user
        ? { rateLimitPerUser: input.rate_limit_per_user }
        : {}),
    };
    await this.storage.channels.create(channel);
    const dto = toChannel(channel, null);
    this.bus.publish({
      type: 'CHANNEL_CREATE',
      scope: { kind: 'guild', id: guildId },
      data: dto,
      routing: { guildId },
    });
    this.audit.record({
      guildId,
      userId,
      actionType: AuditLogEvent.CHANNEL_CREATE,
      targetId: id,
      changes: changesOf(undefined, dto, CHANNEL_KEYS),
      reason,
    });
    return dto;
  }

  async get(channelId: string, userId: string): Promise<ChannelDto> {
    const { channel } = await this.access.channel(channelId, userId);
    const last = await this.storage.messages.lastMessageIds([channel.id]);
    const recipients =
      channel.guildId === null
        ? [...(await this.users.many(channel.recipients.filter((r) => r !== userId))).values()]
        : undefined;
    return toChannel(channel, last.get(channel.id) ?? null, recipients);
  }

  async update(
    channelId: string,
    userId: string,
    patch: {
      name?: string;
      topic?: string | null;
      parent_id?: string | null;
      position?: number;
      rate_limit_per_user?: number;
    },
    reason: string | null = null,
  ): Promise<ChannelDto> {
    const { channel, guild } = await this.access.requireChannel(
      channelId,
      userId,
      Permission.MANAGE_CHANNELS,
    );
    if (!guild) throw new ForbiddenError('DM channels cannot be edited');
    const change: Partial<ChannelRecord> = {};
    if (patch.name !== undefined) change.name = patch.name;
    if (patch.topic !== undefined) change.topic = patch.topic;
    if (patch.position !== undefined) change.position = patch.position;
    if (patch.rate_limit_per_user !== undefined && channel.type === ChannelType.TEXT)
      change.rateLimitPerUser = patch.rate_limit_per_user;
    if (patch.parent_id !== undefined) {
      if (patch.parent_id !== null) await this.requireCategory(guild.guild.id, patch.parent_id, channel.type);
      change.parentId = patch.parent_id;
    }
    if (Object.keys(change).length > 0) await this.storage.channels.update(channelId, change);
    const dto = this.publishUpdate({ ...channel, ...change });
    const changes = changesOf(toChannel(channel, null), dto, CHANNEL_KEYS);
    if (changes.length > 0)
      this.audit.record({
        guildId: guild.guild.id,
        userId,
        actionType: AuditLogEvent.CHANNEL_UPDATE,
        targetId: channelId,
        changes,
        reason,
      });
    return dto;
  }

  async delete(channelId: string, userId: string, reason: string | null = null): Promise<ChannelDto> {
    const { channel, guild } = await this.access.requireChannel(
      channelId,
      userId,
      Permission.MANAGE_CHANNELS,
    );
    if (!guild) throw new ForbiddenError('DM channels cannot be deleted');
    await this.jobs.enqueue('channel.purge_messages', { channel_id: channelId });
    await this.jobs.enqueue('media.purge_channels', { guild_id: null, channel_ids: [channelId] });
    if (channel.type === ChannelType.CATEGORY) {
      // Children of a deleted category become top-level, as in Discord.
      for (const child of await this.storage.channels.listByGuild(guild.guild.id)) {
        if (child.parentId === channelId) {
          await this.storage.channels.update(child.id, { parentId: null });
          this.publishUpdate({ ...child, parentId: null });
        }
      }
    }
    await this.storage.channels.delete(channelId);
    const dto = toChannel(channel, null);
    this.bus.publish({
      type: 'CHANNEL_DELETE',
      scope: { kind: 'guild', id: guild.guild.id },
      data: dto,
      routing: { guildId: guild.guild.id },
    });
    this.audit.record({
      guildId: guild.guild.id,
      userId,
      actionType: AuditLogEvent.CHANNEL_DELETE,
      targetId: channelId,
      changes: changesOf(dto, undefined, CHANNEL_KEYS),
      reason,
    });
    return dto;
  }

  async putOverwrite(
    channelId: string,
    userId: string,
    overwriteId: string,
    input: { type: 0 | 1; allow?: string; deny?: string },
    reason: string | null = null,
  ): Promise<void> {
    const { channel, guild } = await this.access.requireChannel(channelId, userId, Permission.MANAGE_ROLES);
    if (!guild) throw new ForbiddenError('DM channels have no permission overwrites');
    const [overwrite] = await this.validateOverwrites(guild, channelId, [{ id: overwriteId, ...input }]);
    await this.storage.channels.upsertOverwrite(overwrite);
    this.publishUpdate({
      ...channel,
      overwrites: [...channel.overwrites.filter((o) => o.id !== overwriteId), overwrite],
    });
    const before = channel.overwrites.find((o) => o.id === overwriteId);
    this.audit.record({
      guildId: guild.guild.id,
      userId,
      actionType: before ? AuditLogEvent.CHANNEL_OVERWRITE_UPDATE : AuditLogEvent.CHANNEL_OVERWRITE_CREATE,
      targetId: channelId,
      changes: changesOf(before && overwriteDto(before), overwriteDto(overwrite), OVERWRITE_KEYS),
      reason,
      options: { id: overwriteId, type: String(overwrite.type) },
    });
  }

  async deleteOverwrite(
    channelId: string,
    userId: string,
    overwriteId: string,
    reason: string | null = null,
  ): Promise<void> {
    const { channel, guild } = await this.access.requireChannel(channelId, userId, Permission.MANAGE_ROLES);
    if (!guild) throw new ForbiddenError('DM channels have no permission overwrites');
    const before = channel.overwrites.find((o) => o.id === overwriteId);
    if (!before) throw unknown('overwrite');
    await this.storage.channels.deleteOverwrite(channelId, overwriteId);
    this.publishUpdate({ ...channel, overwrites: channel.overwrites.filter((o) => o.id !== overwriteId) });
    this.audit.record({
      guildId: guild.guild.id,
      userId,
      actionType: AuditLogEvent.CHANNEL_OVERWRITE_DELETE,
      targetId: channelId,
      changes: changesOf(overwriteDto(before), undefined, OVERWRITE_KEYS),
      reason,
      options: { id: overwriteId, type: String(before.type) },
    });
  }

  // --- DMs ----------------------------------------------------------------------------------

  /** One page of the user's DMs, newest first (READY takes the first READY_DMS; the rest are paged by REST). */
  async listDms(userId: string, page: DmPage): Promise<ChannelDto[]> {
    const channels = await this.storage.dms.listForUser(userId, page);
    const users = await this.users.many(channels.flatMap((c) => c.recipients));
    const last = await this.storage.messages.lastMessageIds(channels.map((c) => c.id));
    return channels.map((c) =>
      toChannel(
        c,
        last.get(c.id) ?? null,
        c.recipients.filter((r) => r !== userId).flatMap((r) => (users.has(r) ? [users.get(r)!] : [])),
      ),
    );
  }

  async openDm(userId: string, recipientId: string): Promise<ChannelDto> {
    if (!isSnowflake(recipientId)) throw unknown('user');
    if (recipientId === userId)
      throw BadRequestErrorField('recipient_id', 'You cannot open a DM with yourself');
    const users = await this.users.many([userId, recipientId]);
    const recipient = users.get(recipientId);
    if (!recipient) throw unknown('user');
    await this.relationships.requireMayOpen(
      userId,
      recipientId,
      async () => (await this.storage.dms.find(userId, recipientId)) !== null,
    );
    const candidate: ChannelRecord = {
      id: this.ids.next(),
      type: ChannelType.DM,
      guildId: null,
      name: null,
      topic: null,
      parentId: null,
      position: 0,
      recipients: [userId, recipientId],
      overwrites: [],
    };
    const { channel, created } = await this.storage.dms.findOrCreate(userId, recipientId, candidate);
    const last = created
      ? null
      : ((await this.storage.messages.lastMessageIds([channel.id])).get(channel.id) ?? null);
    if (created) {
      for (const [self, other] of [
        [userId, recipientId],
        [recipientId, userId],
      ] as const) {
        const otherUser = users.get(other);
        this.bus.publish({
          type: 'CHANNEL_CREATE',
          scope: { kind: 'user', id: self },
          data: toChannel(channel, null, otherUser ? [otherUser] : []),
          routing: { userId: self },
        });
      }
    }
    return toChannel(channel, last, [recipient]);
  }

  private publishUpdate(channel: ChannelRecord): ChannelDto {
    const dto = toChannel(channel, null);
    const guildId = channel.guildId!;
    this.bus.publish({
      type: 'CHANNEL_UPDATE',
      scope: { kind: 'guild', id: guildId },
      data: dto,
      routing: { guildId },
    });
    return dto;
  }

  private async requireCategory(guildId: string, parentId: string, childType: number): Promise<void> {
    if (childType === ChannelType.CATEGORY)
      throw BadRequestErrorField('parent_id', 'Categories cannot be nested');
    const parent = isSnowflake(parentId) ? await this.storage.channels.findById(parentId) : null;
    if (!parent || parent.guildId !== guildId || parent.type !== ChannelType.CATEGORY) {
      throw BadRequestErrorField('parent_id', 'Not a category of this guild');
    }
  }

  private async validateOverwrites(
    access: GuildAccess,
    channelId: string,
    inputs: OverwriteInput[],
  ): Promise<OverwriteRecord[]> {
    const roleIds = new Set(access.roles.map((r) => r.id));
    const out: OverwriteRecord[] = [];
    for (const input of inputs) {
      if (input.type === 0 && !roleIds.has(input.id)) throw unknown('role');
      if (
        input.type === 1 &&
        (!isSnowflake(input.id) || !(await this.storage.members.find(access.guild.id, input.id)))
      ) {
        throw unknown('member');
      }
      const allow = parsePermissions(input.allow ?? '0');
      const deny = parsePermissions(input.deny ?? '0');
      // Nobody hands out through an overwrite what they could not grant through a role.
      if (((allow | deny) & access.permissions) !== (allow | deny))
        throw new ForbiddenError('Cannot set permissions you do not have');
      out.push({ channelId, id: input.id, type: input.type, allow: allow.toString(), deny: deny.toString() });
    }
    return out;
  }
}

function BadRequestErrorField(field: string, message: string): BadRequestError {
  const err = new BadRequestError(message);
  err.errors = { [field]: [{ code: 'BASE_TYPE_INVALID', message }] };
  return err;
}

/** The channel fields an audit log entry compares. */
const CHANNEL_KEYS = ['name', 'type', 'topic', 'parent_id', 'position', 'rate_limit_per_user'] as const;
const OVERWRITE_KEYS = ['id', 'type', 'allow', 'deny'] as const;

function overwriteDto(o: OverwriteRecord): { id: string; type: number; allow: string; deny: string } {
  return { id: o.id, type: o.type, allow: o.allow, deny: o.deny };
}
