import { Controller, Delete, Get, HttpCode, Param, Patch, Post, Put, UseGuards } from '@nestjs/common';
import {
  BadRequestError,
  type BanDto,
  type ChannelDto,
  type GuildDto,
  type GuildFullDto,
  type InviteDto,
  type MemberDto,
  type MessageDto,
  type PublicUser,
  type ReadStateDto,
  type RoleDto,
} from '@parley/common';
import { AuthGuard, Caller, Public } from '@parley/auth';
import { type AuthContext, RateLimit, RateLimitGuard, ValidBody, ValidQuery } from '@parley/http';
import type { z } from 'zod';
import { ChannelService } from './channels.service';
import { GuildService } from './guilds.service';
import { MessageService } from './messages.service';
import * as s from './schemas';

type In<T extends z.ZodType> = z.infer<T>;

// Sequences of pictographs, flags, keycaps, skin-tone modifiers, joiners and variation selectors.
const EMOJI =
  /^(?:\p{Extended_Pictographic}|\p{Regional_Indicator}|\p{Emoji_Modifier}|\u200d|\ufe0f|\u20e3|[#*0-9])+$/u;

function emojiParam(raw: string): string {
  if (raw.length === 0 || raw.length > 32 || !EMOJI.test(raw) || /^[#*0-9]+$/.test(raw))
    throw new BadRequestError('Unknown emoji', 10014);
  return raw;
}

@Controller('api/v1/guilds')
@UseGuards(AuthGuard, RateLimitGuard)
export class GuildsController {
  constructor(
    private readonly guilds: GuildService,
    private readonly channels: ChannelService,
  ) {}

  @Post()
  @HttpCode(201)
  @RateLimit('guilds.create')
  create(
    @Caller() c: AuthContext,
    @ValidBody(s.guildCreateBody) body: In<typeof s.guildCreateBody>,
  ): Promise<GuildFullDto> {
    return this.guilds.create(c.userId, body.name);
  }

  @Get(':guild_id')
  get(@Caller() c: AuthContext, @Param('guild_id') guildId: string): Promise<GuildFullDto> {
    return this.guilds.get(guildId, c.userId);
  }

  @Patch(':guild_id')
  update(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @ValidBody(s.guildPatchBody) body: In<typeof s.guildPatchBody>,
  ): Promise<GuildDto> {
    return this.guilds.update(guildId, c.userId, body);
  }

  @Delete(':guild_id')
  @HttpCode(204)
  delete(@Caller() c: AuthContext, @Param('guild_id') guildId: string): Promise<void> {
    return this.guilds.delete(guildId, c.userId);
  }

  @Get(':guild_id/channels')
  listChannels(@Caller() c: AuthContext, @Param('guild_id') guildId: string): Promise<ChannelDto[]> {
    return this.channels.listGuildChannels(guildId, c.userId);
  }

  @Post(':guild_id/channels')
  @HttpCode(201)
  createChannel(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @ValidBody(s.channelCreateBody) body: In<typeof s.channelCreateBody>,
  ): Promise<ChannelDto> {
    return this.channels.create(guildId, c.userId, body);
  }

  @Get(':guild_id/members')
  listMembers(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @ValidQuery(s.memberListQuery) q: In<typeof s.memberListQuery>,
  ): Promise<MemberDto[]> {
    return this.guilds.listMembers(guildId, c.userId, q.limit, q.after);
  }

  @Get(':guild_id/members/:user_id')
  getMember(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @Param('user_id') userId: string,
  ): Promise<MemberDto> {
    return this.guilds.getMember(guildId, c.userId, userId === '@me' ? c.userId : userId);
  }

  @Patch(':guild_id/members/:user_id')
  updateMember(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @Param('user_id') userId: string,
    @ValidBody(s.memberPatchBody) body: In<typeof s.memberPatchBody>,
  ): Promise<MemberDto> {
    return this.guilds.updateMember(guildId, c.userId, userId === '@me' ? c.userId : userId, body);
  }

  @Delete(':guild_id/members/:user_id')
  @HttpCode(204)
  kick(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @Param('user_id') userId: string,
  ): Promise<void> {
    return this.guilds.kick(guildId, c.userId, userId);
  }

  @Get(':guild_id/bans')
  listBans(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @ValidQuery(s.memberListQuery) q: In<typeof s.memberListQuery>,
  ): Promise<BanDto[]> {
    return this.guilds.listBans(guildId, c.userId, q.limit, q.after);
  }

  @Get(':guild_id/bans/:user_id')
  getBan(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @Param('user_id') userId: string,
  ): Promise<BanDto> {
    return this.guilds.getBan(guildId, c.userId, userId);
  }

  @Put(':guild_id/bans/:user_id')
  @HttpCode(204)
  ban(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @Param('user_id') userId: string,
    @ValidBody(s.banBody) body: In<typeof s.banBody>,
  ): Promise<void> {
    return this.guilds.ban(guildId, c.userId, userId, body?.reason ?? null);
  }

  @Delete(':guild_id/bans/:user_id')
  @HttpCode(204)
  unban(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @Param('user_id') userId: string,
  ): Promise<void> {
    return this.guilds.unban(guildId, c.userId, userId);
  }

  @Get(':guild_id/roles')
  listRoles(@Caller() c: AuthContext, @Param('guild_id') guildId: string): Promise<RoleDto[]> {
    return this.guilds.listRoles(guildId, c.userId);
  }

  @Post(':guild_id/roles')
  @HttpCode(201)
  createRole(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @ValidBody(s.roleBody) body: In<typeof s.roleBody>,
  ): Promise<RoleDto> {
    return this.guilds.createRole(guildId, c.userId, body);
  }

  @Patch(':guild_id/roles/:role_id')
  updateRole(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @Param('role_id') roleId: string,
    @ValidBody(s.roleBody) body: In<typeof s.roleBody>,
  ): Promise<RoleDto> {
    return this.guilds.updateRole(guildId, c.userId, roleId, body);
  }

  @Delete(':guild_id/roles/:role_id')
  @HttpCode(204)
  deleteRole(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @Param('role_id') roleId: string,
  ): Promise<void> {
    return this.guilds.deleteRole(guildId, c.userId, roleId);
  }

  @Get(':guild_id/invites')
  listInvites(@Caller() c: AuthContext, @Param('guild_id') guildId: string): Promise<InviteDto[]> {
    return this.guilds.listInvites(guildId, c.userId);
  }
}

@Controller('api/v1/channels')
@UseGuards(AuthGuard, RateLimitGuard)
export class ChannelsController {
  constructor(
    private readonly channels: ChannelService,
    private readonly messages: MessageService,
    private readonly guilds: GuildService,
  ) {}

  @Get(':channel_id')
  get(@Caller() c: AuthContext, @Param('channel_id') channelId: string): Promise<ChannelDto> {
    return this.channels.get(channelId, c.userId);
  }

  @Patch(':channel_id')
  update(
    @Caller() c: AuthContext,
    @Param('channel_id') channelId: string,
    @ValidBody(s.channelPatchBody) body: In<typeof s.channelPatchBody>,
  ): Promise<ChannelDto> {
    return this.channels.update(channelId, c.userId, body);
  }

  @Delete(':channel_id')
  delete(@Caller() c: AuthContext, @Param('channel_id') channelId: string): Promise<ChannelDto> {
    return this.channels.delete(channelId, c.userId);
  }

  @Put(':channel_id/permissions/:overwrite_id')
  @HttpCode(204)
  putOverwrite(
    @Caller() c: AuthContext,
    @Param('channel_id') channelId: string,
    @Param('overwrite_id') overwriteId: string,
    @ValidBody(s.overwriteBody) body: In<typeof s.overwriteBody>,
  ): Promise<void> {
    return this.channels.putOverwrite(channelId, c.userId, overwriteId, body);
  }

  @Delete(':channel_id/permissions/:overwrite_id')
  @HttpCode(204)
  deleteOverwrite(
    @Caller() c: AuthContext,
    @Param('channel_id') channelId: string,
    @Param('overwrite_id') overwriteId: string,
  ): Promise<void> {
    return this.channels.deleteOverwrite(channelId, c.userId, overwriteId);
  }

  @Get(':channel_id/messages')
  history(
    @Caller() c: AuthContext,
    @Param('channel_id') channelId: string,
    @ValidQuery(s.historyQuery) q: In<typeof s.historyQuery>,
  ): Promise<MessageDto[]> {
    return this.messages.history(channelId, c.userId, q);
  }

  @Post(':channel_id/messages')
  @HttpCode(200)
  @RateLimit('messages.create', 'channel_id')
  send(
    @Caller() c: AuthContext,
    @Param('channel_id') channelId: string,
    @ValidBody(s.messageCreateBody) body: In<typeof s.messageCreateBody>,
  ): Promise<MessageDto> {
    return this.messages.create(channelId, c.userId, body);
  }

  @Get(':channel_id/messages/:message_id')
  getMessage(
    @Caller() c: AuthContext,
    @Param('channel_id') channelId: string,
    @Param('message_id') messageId: string,
  ): Promise<MessageDto> {
    return this.messages.get(channelId, c.userId, messageId);
  }

  @Patch(':channel_id/messages/:message_id')
  edit(
    @Caller() c: AuthContext,
    @Param('channel_id') channelId: string,
    @Param('message_id') messageId: string,
    @ValidBody(s.messagePatchBody) body: In<typeof s.messagePatchBody>,
  ): Promise<MessageDto> {
    return this.messages.edit(channelId, c.userId, messageId, body.content);
  }

  @Delete(':channel_id/messages/:message_id')
  @HttpCode(204)
  deleteMessage(
    @Caller() c: AuthContext,
    @Param('channel_id') channelId: string,
    @Param('message_id') messageId: string,
  ): Promise<void> {
    return this.messages.delete(channelId, c.userId, messageId);
  }

  @Put(':channel_id/messages/:message_id/reactions/:emoji/@me')
  @HttpCode(204)
  @RateLimit('reactions.write', 'channel_id')
  react(
    @Caller() c: AuthContext,
    @Param('channel_id') channelId: string,
    @Param('message_id') messageId: string,
    @Param('emoji') emoji: string,
  ): Promise<void> {
    return this.messages.react(channelId, c.userId, messageId, emojiParam(emoji));
  }

  @Delete(':channel_id/messages/:message_id/reactions/:emoji/@me')
  @HttpCode(204)
  @RateLimit('reactions.write', 'channel_id')
  unreact(
    @Caller() c: AuthContext,
    @Param('channel_id') channelId: string,
    @Param('message_id') messageId: string,
    @Param('emoji') emoji: string,
  ): Promise<void> {
    return this.messages.unreact(channelId, c.userId, messageId, emojiParam(emoji));
  }

  @Get(':channel_id/messages/:message_id/reactions/:emoji')
  reactors(
    @Caller() c: AuthContext,
    @Param('channel_id') channelId: string,
    @Param('message_id') messageId: string,
    @Param('emoji') emoji: string,
    @ValidQuery(s.reactorsQuery) q: In<typeof s.reactorsQuery>,
  ): Promise<PublicUser[]> {
    return this.messages.reactors(channelId, c.userId, messageId, emojiParam(emoji), q.limit, q.after);
  }

  @Post(':channel_id/typing')
  @HttpCode(204)
  @RateLimit('messages.typing', 'channel_id')
  typing(@Caller() c: AuthContext, @Param('channel_id') channelId: string): Promise<void> {
    return this.messages.typing(channelId, c.userId);
  }

  @Post(':channel_id/messages/:message_id/ack')
  @HttpCode(204)
  ack(
    @Caller() c: AuthContext,
    @Param('channel_id') channelId: string,
    @Param('message_id') messageId: string,
  ): Promise<void> {
    return this.messages.ack(channelId, c.userId, messageId);
  }

  @Post(':channel_id/invites')
  @HttpCode(201)
  createInvite(
    @Caller() c: AuthContext,
    @Param('channel_id') channelId: string,
    @ValidBody(s.inviteCreateBody) body: In<typeof s.inviteCreateBody>,
  ): Promise<InviteDto> {
    return this.guilds.createInvite(channelId, c.userId, {
      max_age: body?.max_age ?? 86_400,
      max_uses: body?.max_uses ?? 0,
    });
  }
}

@Controller('api/v1/invites')
@UseGuards(AuthGuard, RateLimitGuard)
export class InvitesController {
  constructor(private readonly guilds: GuildService) {}

  @Get(':code')
  @Public()
  get(@Param('code') code: string): Promise<InviteDto> {
    return this.guilds.getInvite(code);
  }

  @Post(':code')
  @HttpCode(200)
  @RateLimit('invites.join')
  accept(@Caller() c: AuthContext, @Param('code') code: string): Promise<InviteDto> {
    return this.guilds.acceptInvite(code, c.userId);
  }

  @Delete(':code')
  delete(@Caller() c: AuthContext, @Param('code') code: string): Promise<InviteDto> {
    return this.guilds.deleteInvite(code, c.userId);
  }
}

@Controller('api/v1/users/@me')
@UseGuards(AuthGuard, RateLimitGuard)
export class MeController {
  constructor(
    private readonly guilds: GuildService,
    private readonly channels: ChannelService,
    private readonly messages: MessageService,
  ) {}

  @Get('guilds')
  guildList(@Caller() c: AuthContext): Promise<GuildDto[]> {
    return this.guilds.listForUser(c.userId);
  }

  @Delete('guilds/:guild_id')
  @HttpCode(204)
  leave(@Caller() c: AuthContext, @Param('guild_id') guildId: string): Promise<void> {
    return this.guilds.leave(guildId, c.userId);
  }

  @Get('channels')
  dms(@Caller() c: AuthContext): Promise<ChannelDto[]> {
    return this.channels.listDms(c.userId);
  }

  @Post('channels')
  @HttpCode(200)
  openDm(
    @Caller() c: AuthContext,
    @ValidBody(s.dmCreateBody) body: In<typeof s.dmCreateBody>,
  ): Promise<ChannelDto> {
    return this.channels.openDm(c.userId, body.recipient_id);
  }

  @Get('read-states')
  readStates(@Caller() c: AuthContext): Promise<ReadStateDto[]> {
    return this.messages.readStates(c.userId);
  }
}
