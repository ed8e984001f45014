import { Controller, Delete, Get, HttpCode, Param, Patch, Post, UseGuards } from '@nestjs/common';
import { AuthGuard, Caller, type InstanceStats } from '@parley/auth';
import { type AuthContext, RateLimitGuard, ValidBody, ValidQuery } from '@parley/http';
import type { z } from 'zod';
import { AuditReason } from '../moderation/audit-reason';
import type { ReportDto } from '../moderation/reports.service';
import { adminPageQuery, adminSearchQuery, adminUserPatchBody } from './admin.schemas';
import {
  type AdminAuditEntryDto,
  type AdminGuildDto,
  type AdminPage,
  AdminService,
  type AdminUserDto,
} from './admin.service';

type In<T extends z.ZodType> = z.infer<T>;

/**
 * The instance administrators' routes (`DELETE /admin/users/:id` is `AdminAccountsController` in
 * `@parley/accounts`, which may run the account deletion) (403 50001 for everyone else). A reason for the instance audit log
 * travels in `X-Audit-Log-Reason`, as Discord's moderation routes take it.
 */
@Controller('api/v1/admin')
@UseGuards(AuthGuard, RateLimitGuard)
export class AdminController {
  constructor(private readonly admin: AdminService) {}

  @Get('users')
  users(
    @Caller() c: AuthContext,
    @ValidQuery(adminSearchQuery) q: In<typeof adminSearchQuery>,
  ): Promise<AdminPage<AdminUserDto>> {
    return this.admin.listUsers(c.userId, q);
  }

  @Patch('users/:user_id')
  updateUser(
    @Caller() c: AuthContext,
    @Param('user_id') userId: string,
    @ValidBody(adminUserPatchBody) body: In<typeof adminUserPatchBody>,
    @AuditReason() reason: string | null,
  ): Promise<AdminUserDto> {
    return this.admin.updateUser(c.userId, userId, body, reason);
  }

  @Get('guilds')
  guilds(
    @Caller() c: AuthContext,
    @ValidQuery(adminSearchQuery) q: In<typeof adminSearchQuery>,
  ): Promise<AdminPage<AdminGuildDto>> {
    return this.admin.listGuilds(c.userId, q);
  }

  @Delete('guilds/:guild_id')
  @HttpCode(204)
  async deleteGuild(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @AuditReason() reason: string | null,
  ): Promise<void> {
    await this.admin.deleteGuild(c.userId, guildId, reason);
  }

  @Get('stats')
  stats(@Caller() c: AuthContext): Promise<InstanceStats> {
    return this.admin.stats(c.userId);
  }

  @Get('reports')
  reports(
    @Caller() c: AuthContext,
    @ValidQuery(adminPageQuery) q: In<typeof adminPageQuery>,
  ): Promise<ReportDto[]> {
    return this.admin.reports(c.userId, q);
  }

  @Get('audit-log')
  auditLog(
    @Caller() c: AuthContext,
    @ValidQuery(adminPageQuery) q: In<typeof adminPageQuery>,
  ): Promise<AdminAuditEntryDto[]> {
    return this.admin.auditLog(c.userId, q);
  }

  @Get('registrations')
  registrations(
    @Caller() c: AuthContext,
    @ValidQuery(adminPageQuery) q: In<typeof adminPageQuery>,
  ): Promise<AdminUserDto[]> {
    return this.admin.registrations(c.userId, q);
  }

  @Post('registrations/:user_id/approve')
  @HttpCode(200)
  approve(
    @Caller() c: AuthContext,
    @Param('user_id') userId: string,
    @AuditReason() reason: string | null,
  ): Promise<AdminUserDto> {
    return this.admin.approve(c.userId, userId, reason);
  }

  @Post('registrations/:user_id/reject')
  @HttpCode(204)
  async reject(
    @Caller() c: AuthContext,
    @Param('user_id') userId: string,
    @AuditReason() reason: string | null,
  ): Promise<void> {
    await this.admin.reject(c.userId, userId, reason);
  }
}
