import { Inject, Injectable } from '@nestjs/common';
import {
  BadRequestError,
  ForbiddenError,
  Permission,
  type RoleDto,
  SnowflakeGenerator,
  parsePermissions,
  unknown,
} from '@parley/common';
import { EVENT_BUS, type EventBus, JOB_QUEUE, type JobQueue } from '@parley/bus';
import { type RoleRecord, STORAGE, type Storage } from '@parley/storage';
import { AccessService, type GuildAccess } from './access.service';
import { AuditLogEvent, changesOf } from './moderation/audit-log-events';
import { AuditLogService } from './moderation/audit-log.service';
import { toRole } from './serializers';

const ROLE_KEYS = ['name', 'permissions', 'color', 'position'] as const;

/** Guild roles under the hierarchy: nobody creates, edits or deletes a role at or above their own. */
@Injectable()
export class RoleService {
  constructor(
    @Inject(STORAGE) private readonly storage: Storage,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(JOB_QUEUE) private readonly jobs: JobQueue,
    private readonly ids: SnowflakeGenerator,
    private readonly access: AccessService,
    private readonly audit: AuditLogService,
  ) {}

  async list(guildId: string, userId: string): Promise<RoleDto[]> {
    const access = await this.access.guild(guildId, userId);
    return access.roles.map(toRole);
  }

  async create(
    guildId: string,
    userId: string,
    input: { name?: string; permissions?: string; color?: number; position?: number; mentionable?: boolean },
    reason: string | null = null,
  ): Promise<RoleDto> {
    const access = await this.access.requireGuild(guildId, userId, Permission.MANAGE_ROLES);
    const permissions = grantable(access, input.permissions ?? '0');
    const position = input.position ?? 1;
    if (position >= access.topPosition)
      throw new ForbiddenError('Cannot create a role at or above your highest role');
    const role: RoleRecord = {
      id: this.ids.next(),
      guildId,
      name: input.name ?? 'new role',
      permissions,
      color: input.color ?? 0,
      position: Math.max(1, position),
      mentionable: input.mentionable ?? false,
    };
    await this.storage.roles.create(role);
    const dto = toRole(role);
    this.bus.publish({
      type: 'GUILD_ROLE_CREATE',
      scope: { kind: 'guild', id: guildId },
      data: { guild_id: guildId, role: dto },
    });
    this.audit.record({
      guildId,
      userId,
      actionType: AuditLogEvent.ROLE_CREATE,
      targetId: role.id,
      changes: changesOf(undefined, dto, ROLE_KEYS),
      reason,
    });
    return dto;
  }

  async update(
    guildId: string,
    userId: string,
    roleId: string,
    patch: { name?: string; permissions?: string; color?: number; position?: number; mentionable?: boolean },
    reason: string | null = null,
  ): Promise<RoleDto> {
    const access = await this.access.requireGuild(guildId, userId, Permission.MANAGE_ROLES);
    const role = access.roles.find((r) => r.id === roleId);
    if (!role) throw unknown('role');
    const isEveryone = roleId === guildId;
    if (!isEveryone && role.position >= access.topPosition)
      throw new ForbiddenError('Cannot edit a role at or above your highest role');
    if (isEveryone && (patch.name !== undefined || patch.position !== undefined)) {
      throw new BadRequestError('The @everyone role can only change its permissions and color');
    }
    const change: Partial<RoleRecord> = {};
    if (patch.name !== undefined) change.name = patch.name;
    if (patch.color !== undefined) change.color = patch.color;
    if (patch.mentionable !== undefined) change.mentionable = patch.mentionable;
    if (patch.permissions !== undefined)
      change.permissions = grantable(access, patch.permissions, role.permissions);
    if (patch.position !== undefined) {
      if (patch.position >= access.topPosition)
        throw new ForbiddenError('Cannot move a role at or above your highest role');
      change.position = Math.max(1, patch.position);
    }
    if (Object.keys(change).length > 0) await this.storage.roles.update(guildId, roleId, change);
    const dto = toRole({ ...role, ...change });
    this.bus.publish({
      type: 'GUILD_ROLE_UPDATE',
      scope: { kind: 'guild', id: guildId },
      data: { guild_id: guildId, role: dto },
      routing: { guildId },
    });
    const changes = changesOf(toRole(role), dto, ROLE_KEYS);
    if (changes.length > 0)
      this.audit.record({
        guildId,
        userId,
        actionType: AuditLogEvent.ROLE_UPDATE,
        targetId: roleId,
        changes,
        reason,
      });
    return dto;
  }

  async delete(guildId: string, userId: string, roleId: string, reason: string | null = null): Promise<void> {
    const access = await this.access.requireGuild(guildId, userId, Permission.MANAGE_ROLES);
    const role = access.roles.find((r) => r.id === roleId);
    if (!role) throw unknown('role');
    if (roleId === guildId) throw new BadRequestError('The @everyone role cannot be deleted');
    if (role.position >= access.topPosition)
      throw new ForbiddenError('Cannot delete a role at or above your highest role');
    // Queued first (a crash after it still cleans up); it runs once the role is gone. The request removes the
    // role itself, which is all anyone sees; members lose its id in the job, however many hold it.
    await this.jobs.enqueue('role.purge_members', { guild_id: guildId, role_id: roleId });
    await this.storage.roles.delete(guildId, roleId);
    this.bus.publish({
      type: 'GUILD_ROLE_DELETE',
      scope: { kind: 'guild', id: guildId },
      data: { guild_id: guildId, role_id: roleId },
      routing: { guildId },
    });
    this.audit.record({
      guildId,
      userId,
      actionType: AuditLogEvent.ROLE_DELETE,
      targetId: roleId,
      changes: changesOf(toRole(role), undefined, ROLE_KEYS),
      reason,
    });
  }
}

/** Nobody grants what they do not hold (owners and administrators hold everything). */
function grantable(access: GuildAccess, requested: string, current = '0'): string {
  const wanted = parsePermissions(requested);
  const added = wanted & ~BigInt(current);
  if ((added & access.permissions) !== added)
    throw new ForbiddenError('Cannot grant permissions you do not have');
  return wanted.toString();
}
