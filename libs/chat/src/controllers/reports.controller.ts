import { Controller, HttpCode, Get, Param, Post, UseGuards } from '@nestjs/common';
import { AuthGuard, Caller } from '@parley/auth';
import { type AuthContext, RateLimitGuard, ValidBody, ValidQuery } from '@parley/http';
import type { z } from 'zod';
import { type ReportDto, ReportService } from '../moderation/reports.service';
import * as s from '../schemas';

type In<T extends z.ZodType> = z.infer<T>;

/** Reporting a message, a user or a guild. */
@Controller('api/v1/reports')
@UseGuards(AuthGuard, RateLimitGuard)
export class ReportsController {
  constructor(private readonly reports: ReportService) {}

  @Post()
  @HttpCode(200)
  create(
    @Caller() c: AuthContext,
    @ValidBody(s.reportBody) body: In<typeof s.reportBody>,
  ): Promise<ReportDto> {
    return this.reports.create(c.userId, body);
  }
}

/** The reports about a guild, for its moderators (MANAGE_GUILD). */
@Controller('api/v1/guilds/:guild_id/reports')
@UseGuards(AuthGuard, RateLimitGuard)
export class GuildReportsController {
  constructor(private readonly reports: ReportService) {}

  @Get()
  list(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @ValidQuery(s.reportsQuery) q: In<typeof s.reportsQuery>,
  ): Promise<ReportDto[]> {
    return this.reports.listForGuild(guildId, c.userId, q);
  }
}
