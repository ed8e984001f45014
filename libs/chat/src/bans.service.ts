import { Inject, Injectable } from '@nestjs/common';
import {
  BadRequestError,
  type BanDto,
  ForbiddenError,
  Permission,
  type PublicUser,
  isSnowflake,
  unknown,
} from '@parley/common';
import { EVENT_BUS, type EventBus } from '@parley/bus';
import { type BanPage, STORAGE, type Storage } from '@parley/storage';
import { AccessService } from './access.service';
import { MemberService } from './members.service';
import { AuditLogEvent } from './moderation/audit-log-events';
import { AuditLogService } from './moderation/audit-log.service';
import { toBan } from './serializers';
import { UserDirectory } from './users.directory';

/** Guild bans: banning (which removes the member), reading and lifting them. */
@Injectable()
export class BanService {
  constructor(
    @Inject(STORAGE) private readonly storage: Storage,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    private readonly access: AccessService,
    private readonly users: UserDirectory,
    private readonly members: MemberService,
    private readonly audit: AuditLogService,
  ) {}

  async ban(guildId: string, userId: string, targetId: string, reason: string | null): Promise<void> {
    const access = await this.access.requireGuild(guildId, userId, Permission.BAN_MEMBERS);
    if (!isSnowflake(targetId)) throw unknown('user');
    if (targetId === userId) throw new BadRequestError('You cannot ban yourself');
    const user = await this.users.one(targetId);
    if (!user) throw unknown('user');
    const member = await this.storage.members.find(guildId, targetId);
    if (member) await this.access.requireAbove(access, targetId);
    else if (targetId === access.guild.ownerId) throw new ForbiddenError('The guild owner cannot be banned');
    await this.storage.bans.put({ guildId, userId: targetId, reason, createdAt: Date.now() });
    this.bus.publish({
      type: 'GUILD_BAN_ADD',
      scope: { kind: 'guild', id: guildId },
      data: { guild_id: guildId, user },
    });
    if (member) await this.members.remove(guildId, targetId);
    this.audit.record({ guildId, userId, actionType: AuditLogEvent.MEMBER_BAN_ADD, targetId, reason });
  }

  async get(guildId: string, userId: string, targetId: string): Promise<BanDto> {
    await this.access.requireGuild(guildId, userId, Permission.BAN_MEMBERS);
    const ban = isSnowflake(targetId) ? await this.storage.bans.find(guildId, targetId) : null;
    if (!ban) throw unknown('ban');
    return toBan(ban, (await this.users.one(targetId)) ?? deletedUser(targetId));
  }

  async list(guildId: string, userId: string, page: BanPage): Promise<BanDto[]> {
    await this.access.requireGuild(guildId, userId, Permission.BAN_MEMBERS);
    const bans = await this.storage.bans.list(guildId, page);
    const users = await this.users.many(bans.map((b) => b.userId));
    return bans.map((b) => toBan(b, users.get(b.userId) ?? deletedUser(b.userId)));
  }

  async unban(
    guildId: string,
    userId: string,
    targetId: string,
    reason: string | null = null,
  ): Promise<void> {
    await this.access.requireGuild(guildId, userId, Permission.BAN_MEMBERS);
    const ban = isSnowflake(targetId) ? await this.storage.bans.find(guildId, targetId) : null;
    if (!ban) throw unknown('ban');
    await this.storage.bans.delete(guildId, targetId);
    const user = await this.users.one(targetId);
    this.bus.publish({
      type: 'GUILD_BAN_REMOVE',
      scope: { kind: 'guild', id: guildId },
      data: { guild_id: guildId, user: user ?? { id: targetId } },
    });
    this.audit.record({ guildId, userId, actionType: AuditLogEvent.MEMBER_BAN_REMOVE, targetId, reason });
  }
}

/** A ban outlives its user's account. */
function deletedUser(id: string): PublicUser {
  return { id, username: 'deleted_user', display_name: null, avatar: null };
}
