import { Module } from '@nestjs/common';
import { AuthCoreModule } from '@parley/auth';
import { AccessService } from './access.service';
import { AdminController } from './admin/admin.controller';
import { AdminService } from './admin/admin.service';
import { BanService } from './bans.service';
import { ChannelService } from './channels.service';
import {
  AuditLogController,
  AutoModController,
  BansController,
  ChannelsController,
  DmsController,
  GuildReportsController,
  GuildsController,
  InvitesController,
  MembersController,
  MessagesController,
  NotificationSettingsController,
  PinsController,
  PrivacyController,
  ReactionsController,
  ReadStatesController,
  RelationshipsController,
  ReportsController,
  RolesController,
  WebhookTokenController,
  WebhooksController,
} from './controllers';
import { GuildService } from './guilds.service';
import { InviteService } from './invites.service';
import { MemberService } from './members.service';
import { MessageService } from './messages.service';
import { AuditLogEntryPublisher } from './moderation/audit-log-publisher';
import { AuditLogService } from './moderation/audit-log.service';
import { SlowmodeService } from './moderation/slowmode.service';
import { AutoModService } from './moderation/automod/automod.service';
import { RelationshipService } from './moderation/relationships.service';
import { ReportService } from './moderation/reports.service';
import { NotificationSettingsService } from './notification-settings.service';
import { MentionJobs } from './mention.jobs';
import { PinService } from './pins.service';
import { PurgeJobs } from './purge.jobs';
import { ReadyService } from './ready.service';
import { RoleService } from './roles.service';
import { ChannelSearchController, GuildSearchController } from './search.controllers';
import { SearchService } from './search.service';
import { UserDirectory } from './users.directory';
import { WebhookService } from './webhooks.service';

const SERVICES = [
  AccessService,
  UserDirectory,
  GuildService,
  MemberService,
  BanService,
  RoleService,
  InviteService,
  ChannelService,
  MessageService,
  NotificationSettingsService,
  PinService,
  ReadyService,
  AuditLogEntryPublisher,
  AuditLogService,
  SlowmodeService,
  AutoModService,
  RelationshipService,
  ReportService,
  WebhookService,
];

/** The chat domain's rules: every process that checks permissions or changes chat state (api, gateway). */
@Module({ imports: [AuthCoreModule], providers: SERVICES, exports: SERVICES })
export class ChatCoreModule {}

/** The REST controllers of this library, for the api role and the OpenAPI document. */
export const CHAT_API_CONTROLLERS = [
  GuildsController,
  ChannelsController,
  MembersController,
  BansController,
  AuditLogController,
  AutoModController,
  GuildReportsController,
  ReportsController,
  RelationshipsController,
  PrivacyController,
  RolesController,
  InvitesController,
  DmsController,
  // Before MessagesController: `GET messages/pins` must not be read as a message id.
  PinsController,
  MessagesController,
  ReactionsController,
  ReadStatesController,
  NotificationSettingsController,
  GuildSearchController,
  ChannelSearchController,
  WebhooksController,
  WebhookTokenController,
  AdminController,
];

/** api role: the chat routes. */
@Module({
  imports: [ChatCoreModule, AuthCoreModule],
  controllers: CHAT_API_CONTROLLERS,
  providers: [SearchService, AdminService],
})
export class ChatApiModule {}

/** queue role: deletes the messages of deleted channels and guilds; counts role and @everyone mentions. */
@Module({ providers: [PurgeJobs, MentionJobs, AccessService] })
export class ChatJobsModule {}
