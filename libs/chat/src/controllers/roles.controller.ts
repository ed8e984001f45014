import { Controller, Delete, Get, HttpCode, Param, Patch, Post, UseGuards } from '@nestjs/common';
import type { RoleDto } from '@parley/common';
import { AuthGuard, Caller } from '@parley/auth';
import { type AuthContext, RateLimitGuard, ValidBody } from '@parley/http';
import type { z } from 'zod';
import * as s from '../schemas';

type In<T extends z.ZodType> = z.infer<T>;

import { RoleService } from '../roles.service';
import { AuditReason } from '../moderation/audit-reason';

/** A guild's roles. */
@Controller('api/v1/guilds/:guild_id/roles')
@UseGuards(AuthGuard, RateLimitGuard)
export class RolesController {
  constructor(private readonly roles: RoleService) {}

  @Get()
  list(@Caller() c: AuthContext, @Param('guild_id') guildId: string): Promise<RoleDto[]> {
    return this.roles.list(guildId, c.userId);
  }

  @Post()
  @HttpCode(201)
  create(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @ValidBody(s.roleBody) body: In<typeof s.roleBody>,
    @AuditReason() reason: string | null,
  ): Promise<RoleDto> {
    return this.roles.create(guildId, c.userId, body, reason);
  }

  @Patch(':role_id')
  update(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @Param('role_id') roleId: string,
    @ValidBody(s.roleBody) body: In<typeof s.roleBody>,
    @AuditReason() reason: string | null,
  ): Promise<RoleDto> {
    return this.roles.update(guildId, c.userId, roleId, body, reason);
  }

  @Delete(':role_id')
  @HttpCode(204)
  delete(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @Param('role_id') roleId: string,
    @AuditReason() reason: string | null,
  ): Promise<void> {
    return this.roles.delete(guildId, c.userId, roleId, reason);
  }
}
