import { Controller, Delete, Get, HttpCode, Param, Patch, Post, UseGuards } from '@nestjs/common';
import { AuthGuard, Caller } from '@parley/auth';
import { type AuthContext, RateLimitGuard, ValidBody } from '@parley/http';
import { AuditReason } from '../moderation/audit-reason';
import { AutoModService } from '../moderation/automod/automod.service';
import {
  type AutoModRuleDto,
  type RuleCreateInput,
  type RulePatchInput,
  ruleCreateBody,
  rulePatchBody,
} from '../moderation/automod/rules';

/** A guild's AutoMod rules (Discord's auto moderation routes; MANAGE_GUILD). */
@Controller('api/v1/guilds/:guild_id/auto-moderation/rules')
@UseGuards(AuthGuard, RateLimitGuard)
export class AutoModController {
  constructor(private readonly automod: AutoModService) {}

  @Get()
  list(@Caller() c: AuthContext, @Param('guild_id') guildId: string): Promise<AutoModRuleDto[]> {
    return this.automod.list(guildId, c.userId);
  }

  @Get(':rule_id')
  get(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @Param('rule_id') ruleId: string,
  ): Promise<AutoModRuleDto> {
    return this.automod.get(guildId, c.userId, ruleId);
  }

  @Post()
  @HttpCode(200)
  create(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @ValidBody(ruleCreateBody) body: RuleCreateInput,
    @AuditReason() reason: string | null,
  ): Promise<AutoModRuleDto> {
    return this.automod.create(guildId, c.userId, body, reason);
  }

  @Patch(':rule_id')
  update(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @Param('rule_id') ruleId: string,
    @ValidBody(rulePatchBody) body: RulePatchInput,
    @AuditReason() reason: string | null,
  ): Promise<AutoModRuleDto> {
    return this.automod.update(guildId, c.userId, ruleId, body, reason);
  }

  @Delete(':rule_id')
  @HttpCode(204)
  async delete(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @Param('rule_id') ruleId: string,
    @AuditReason() reason: string | null,
  ): Promise<void> {
    await this.automod.delete(guildId, c.userId, ruleId, reason);
  }
}
