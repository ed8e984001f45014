import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  BadRequestError,
  ChannelType,
  ForbiddenError,
  type InviteDto,
  NotFoundError,
  Permission,
  PermissionCalculator,
  unknown,
  wrongChannelType,
} from '@parley/common';
import { EVENT_BUS, type EventBus } from '@parley/bus';
import {
  type InviteRecord,
  type MemberRecord,
  STORAGE,
  type Storage,
  UniqueViolation,
} from '@parley/storage';
import { AccessService } from './access.service';
import { GuildService } from './guilds.service';
import { toInvite, toMember } from './serializers';
import { UserDirectory } from './users.directory';
import { type AuditLogChange, AuditLogEvent } from './moderation/audit-log-events';
import { AuditLogService } from './moderation/audit-log.service';

const INVITE_ALPHABET = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** Invites: creating them on a channel, listing a guild's, previewing, joining a guild by one, revoking. */
@Injectable()
export class InviteService {
  constructor(
    @Inject(STORAGE) private readonly storage: Storage,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    private readonly access: AccessService,
    private readonly users: UserDirectory,
    private readonly guilds: GuildService,
    private readonly audit: AuditLogService,
  ) {}

  async create(
    channelId: string,
    userId: string,
    input: { max_age: number; max_uses: number },
    reason: string | null = null,
  ): Promise<InviteDto> {
    const access = await this.access.requireChannel(channelId, userId, Permission.CREATE_INSTANT_INVITE);
    if (access.channel.type === ChannelType.CATEGORY) throw wrongChannelType('other');
    if (!access.guild) throw new BadRequestError('Invites exist only for guild channels', 50024);
    const now = Date.now();
    const base = {
      guildId: access.guild.guild.id,
      channelId,
      inviterId: userId,
      maxAge: input.max_age,
      maxUses: input.max_uses,
      uses: 0,
      createdAt: now,
    };
    const expiresAt = input.max_age > 0 ? now + input.max_age * 1000 : null;
    for (let attempt = 0; ; attempt++) {
      const invite = { ...base, code: inviteCode(), expiresAt };
      try {
        await this.storage.invites.create(invite);
        const dto = toInvite(invite, access.guild.guild, access.channel, await this.users.one(userId));
        this.audit.record({
          guildId: base.guildId,
          userId,
          actionType: AuditLogEvent.INVITE_CREATE,
          targetId: null,
          changes: inviteChanges(invite, 'new_value'),
          reason,
        });
        return dto;
      } catch (err) {
        if (!(err instanceof UniqueViolation) || attempt >= 4) throw err;
      }
    }
  }

  async listForGuild(guildId: string, userId: string): Promise<InviteDto[]> {
    const access = await this.access.requireGuild(guildId, userId, Permission.MANAGE_GUILD);
    const now = Date.now();
    const invites = (await this.storage.invites.listByGuild(guildId)).filter(
      (i) => i.expiresAt === null || i.expiresAt > now,
    );
    const inviters = await this.users.many(invites.map((i) => i.inviterId));
    const channels = new Map((await this.storage.channels.listByGuild(guildId)).map((c) => [c.id, c]));
    return invites.map((i) =>
      toInvite(i, access.guild, channels.get(i.channelId) ?? null, inviters.get(i.inviterId) ?? null),
    );
  }

  async get(code: string): Promise<InviteDto> {
    const invite = await this.live(code);
    const [guild, channel, inviter] = await Promise.all([
      this.storage.guilds.findById(invite.guildId),
      this.storage.channels.findById(invite.channelId),
      this.users.one(invite.inviterId),
    ]);
    if (!guild) throw unknown('invite');
    return toInvite(invite, guild, channel, inviter);
  }

  async accept(code: string, userId: string): Promise<InviteDto & { new_member: boolean }> {
    const invite = await this.live(code);
    const guild = await this.storage.guilds.findById(invite.guildId);
    if (!guild) throw unknown('invite');
    const channel = await this.storage.channels.findById(invite.channelId);
    const inviter = await this.users.one(invite.inviterId);
    if (await this.storage.members.find(guild.id, userId)) {
      return { ...toInvite(invite, guild, channel, inviter), new_member: false };
    }
    if (await this.storage.bans.find(guild.id, userId))
      throw new ForbiddenError('You are banned from this guild', 40007);
    if (!(await this.storage.invites.use(code, Date.now()))) throw unknown('invite');
    const member: MemberRecord = { guildId: guild.id, userId, nick: null, roles: [], joinedAt: Date.now() };
    await this.storage.members.add(member);
    const user = await this.users.one(userId);
    if (user) {
      this.bus.publish({
        type: 'GUILD_MEMBER_ADD',
        scope: { kind: 'guild', id: guild.id },
        data: toMember(member, user),
        routing: { guildId: guild.id, userId },
      });
    }
    const roles = await this.storage.roles.list(guild.id);
    const full = await this.guilds.full(this.access.build(guild, member, roles));
    this.bus.publish({
      type: 'GUILD_CREATE',
      scope: { kind: 'user', id: userId },
      data: full,
      routing: { guildId: guild.id, userId, memberRoles: member.roles },
    });
    return { ...toInvite({ ...invite, uses: invite.uses + 1 }, guild, channel, inviter), new_member: true };
  }

  async delete(code: string, userId: string, reason: string | null = null): Promise<InviteDto> {
    const invite = await this.storage.invites.find(code);
    if (!invite) throw unknown('invite');
    const access = await this.access.guild(invite.guildId, userId).catch((err: unknown) => {
      throw err instanceof NotFoundError ? unknown('invite') : err;
    });
    const channel = await this.storage.channels.findById(invite.channelId);
    const canManage =
      PermissionCalculator.has(access.permissions, Permission.MANAGE_GUILD) ||
      (channel !== null &&
        PermissionCalculator.has(
          this.access.channelPermissions(access, channel),
          Permission.MANAGE_CHANNELS,
        ));
    if (!canManage) throw new ForbiddenError();
    await this.storage.invites.delete(code);
    this.audit.record({
      guildId: invite.guildId,
      userId,
      actionType: AuditLogEvent.INVITE_DELETE,
      targetId: null,
      changes: inviteChanges(invite, 'old_value'),
      reason,
    });
    return toInvite(invite, access.guild, channel, await this.users.one(invite.inviterId));
  }

  /** An invite that may still be used: known, not expired, uses left. */
  private async live(code: string): Promise<InviteRecord> {
    if (!/^[A-Za-z0-9]{1,32}$/.test(code)) throw unknown('invite');
    const invite = await this.storage.invites.find(code);
    const now = Date.now();
    if (
      !invite ||
      (invite.expiresAt !== null && invite.expiresAt <= now) ||
      (invite.maxUses > 0 && invite.uses >= invite.maxUses)
    ) {
      throw unknown('invite');
    }
    return invite;
  }
}

function inviteCode(): string {
  const bytes = randomBytes(10);
  let code = '';
  for (const byte of bytes) code += INVITE_ALPHABET[byte % INVITE_ALPHABET.length];
  return code;
}

/** An invite as Discord's audit log shows its creation or deletion: each field on one side. */
function inviteChanges(invite: InviteRecord, side: 'old_value' | 'new_value'): AuditLogChange[] {
  const fields: Record<string, unknown> = {
    code: invite.code,
    channel_id: invite.channelId,
    inviter_id: invite.inviterId,
    uses: invite.uses,
    max_uses: invite.maxUses,
    max_age: invite.maxAge,
    temporary: false,
  };
  return Object.entries(fields).map(([key, value]) => ({ key, [side]: value }));
}
