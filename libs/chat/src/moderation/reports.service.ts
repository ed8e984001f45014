import { Inject, Injectable } from '@nestjs/common';
import { Permission, SnowflakeGenerator, isoTime, snowflakeTime, unknown } from '@parley/common';
import { type ReportRecord, STORAGE, type Storage } from '@parley/storage';
import { AccessService } from '../access.service';

/** A report as the API answers it. */
export interface ReportDto {
  id: string;
  reporter_id: string;
  reason: string;
  guild_id: string | null;
  channel_id: string | null;
  message_id: string | null;
  user_id: string | null;
  created_at: string;
}

export interface ReportInput {
  reason: string;
  channel_id?: string;
  message_id?: string;
  user_id?: string;
  guild_id?: string;
}

/**
 * Reports of a message, a user or a guild (`POST /reports`), stored once (`Storage.reports`) and read by the
 * guild's moderators (`GET /guilds/:id/reports`, MANAGE_GUILD: the same audience as AutoMod's alerts) and by the
 * instance admins (`GET /admin/reports`, built on `ReportRepository.listReports`). A reporter must be able to see
 * what they report: the message (READ_MESSAGE_HISTORY in its channel), the guild (a member) or the user (exists).
 */
@Injectable()
export class ReportService {
  constructor(
    @Inject(STORAGE) private readonly storage: Storage,
    private readonly ids: SnowflakeGenerator,
    private readonly access: AccessService,
  ) {}

  async create(userId: string, input: ReportInput): Promise<ReportDto> {
    const report: ReportRecord = {
      id: this.ids.next(),
      reporterId: userId,
      reason: input.reason,
      guildId: null,
      channelId: null,
      messageId: null,
      targetUserId: null,
    };
    if (input.message_id !== undefined && input.channel_id === undefined) {
      // The contract's bare `{reason, message_id}`: messages are stored by channel, so the message can be
      // neither checked nor placed; the report keeps its id for the instance admins (and the guild's
      // moderators when guild_id names a guild of the reporter's).
      report.messageId = input.message_id;
      if (input.guild_id !== undefined)
        report.guildId = (await this.access.guild(input.guild_id, userId)).guild.id;
    } else if (input.message_id !== undefined) {
      const access = await this.access.requireChannel(
        input.channel_id!,
        userId,
        Permission.READ_MESSAGE_HISTORY,
      );
      const message = await this.storage.messages.find(access.channel.id, input.message_id);
      if (!message) throw unknown('message');
      Object.assign(report, {
        guildId: access.channel.guildId,
        channelId: access.channel.id,
        messageId: message.id,
        targetUserId: message.authorId,
      });
    } else if (input.user_id !== undefined) {
      if (!(await this.storage.users.findById(input.user_id))) throw unknown('user');
      report.targetUserId = input.user_id;
      if (input.guild_id !== undefined)
        report.guildId = (await this.access.guild(input.guild_id, userId)).guild.id;
    } else {
      report.guildId = (await this.access.guild(input.guild_id!, userId)).guild.id;
    }
    await this.storage.reports.create(report);
    return toReportDto(report);
  }

  /**
   * The reports about a guild's messages and members, newest first (reports of the guild itself are for the
   * instance admins only, so a page may hold fewer than `limit`).
   */
  async listForGuild(
    guildId: string,
    userId: string,
    q: { limit: number; before?: string },
  ): Promise<ReportDto[]> {
    await this.access.requireGuild(guildId, userId, Permission.MANAGE_GUILD);
    const page = await this.storage.reports.listReports({ guildId, before: q.before, limit: q.limit });
    return page.filter((r) => r.messageId !== null || r.targetUserId !== null).map(toReportDto);
  }
}

export function toReportDto(r: ReportRecord): ReportDto {
  return {
    id: r.id,
    reporter_id: r.reporterId,
    reason: r.reason,
    guild_id: r.guildId,
    channel_id: r.channelId,
    message_id: r.messageId,
    user_id: r.targetUserId,
    created_at: isoTime(snowflakeTime(r.id)),
  };
}
