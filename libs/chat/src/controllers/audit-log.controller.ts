import { Controller, Get, Param, UseGuards } from '@nestjs/common';
import { AuthGuard, Caller } from '@parley/auth';
import { type AuthContext, RateLimitGuard, ValidQuery } from '@parley/http';
import type { z } from 'zod';
import { type AuditLogPage, AuditLogService } from '../moderation/audit-log.service';
import * as s from '../schemas';

/** A guild's audit log (VIEW_AUDIT_LOG). */
@Controller('api/v1/guilds/:guild_id/audit-logs')
@UseGuards(AuthGuard, RateLimitGuard)
export class AuditLogController {
  constructor(private readonly auditLog: AuditLogService) {}

  @Get()
  list(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @ValidQuery(s.auditLogQuery) q: z.infer<typeof s.auditLogQuery>,
  ): Promise<AuditLogPage> {
    return this.auditLog.list(guildId, c.userId, q);
  }
}
