import { Controller, Delete, Get, HttpCode, Param, Patch, Put, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { MemberDto } from '@parley/common';
import { AuthGuard, Caller } from '@parley/auth';
import { type AuthContext, RateLimitGuard, ValidBody, ValidQuery } from '@parley/http';
import type { z } from 'zod';
import * as s from '../schemas';

type In<T extends z.ZodType> = z.infer<T>;

import { MemberService } from '../members.service';
import { AuditReason } from '../moderation/audit-reason';

/** A guild's members: `@me` stands for the caller. */
@Controller('api/v1/guilds/:guild_id/members')
@UseGuards(AuthGuard, RateLimitGuard)
export class MembersController {
  constructor(private readonly members: MemberService) {}

  @Get()
  list(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @ValidQuery(s.memberListQuery) q: In<typeof s.memberListQuery>,
  ): Promise<MemberDto[]> {
    return this.members.list(guildId, c.userId, q.limit, q.after);
  }

  @Get(':user_id')
  get(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @Param('user_id') userId: string,
  ): Promise<MemberDto> {
    return this.members.get(guildId, c.userId, userId === '@me' ? c.userId : userId);
  }

  @Patch(':user_id')
  update(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @Param('user_id') userId: string,
    @ValidBody(s.memberPatchBody) body: In<typeof s.memberPatchBody>,
    @AuditReason() reason: string | null,
  ): Promise<MemberDto> {
    return this.members.update(guildId, c.userId, userId === '@me' ? c.userId : userId, body, reason);
  }

  /** Adds a bot application's user (MANAGE_GUILD): 201 with the member, 204 when it already was one. */
  @Put(':user_id')
  async addBot(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @Param('user_id') userId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<MemberDto | undefined> {
    const member = await this.members.addBot(guildId, c.userId, userId);
    void reply.status(member ? 201 : 204);
    return member ?? undefined;
  }

  @Put(':user_id/roles/:role_id')
  @HttpCode(204)
  addRole(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @Param('user_id') userId: string,
    @Param('role_id') roleId: string,
  ): Promise<void> {
    return this.members.changeRole(guildId, c.userId, userId === '@me' ? c.userId : userId, roleId, true);
  }

  @Delete(':user_id/roles/:role_id')
  @HttpCode(204)
  removeRole(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @Param('user_id') userId: string,
    @Param('role_id') roleId: string,
  ): Promise<void> {
    return this.members.changeRole(guildId, c.userId, userId === '@me' ? c.userId : userId, roleId, false);
  }

  @Delete(':user_id')
  @HttpCode(204)
  kick(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @Param('user_id') userId: string,
    @AuditReason() reason: string | null,
  ): Promise<void> {
    return this.members.kick(guildId, c.userId, userId, reason);
  }
}
