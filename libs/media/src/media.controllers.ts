import {
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Patch,
  Post,
  Put,
  Req,
  Res,
  UseGuards,
} from '@nestjs/common';
import type { AttachmentDto, EmojiDto, GuildDto, SelfUser } from '@parley/common';
import { AuditReason, EMOJI_NAME } from '@parley/chat';
import { AuthGuard, Caller } from '@parley/auth';
import {
  AcceptsMultipart,
  type AuthContext,
  RateLimit,
  RateLimitGuard,
  ValidBody,
  parseInput,
  snowflake,
} from '@parley/http';
import type {} from '@fastify/multipart'; // request.file() and request.isMultipart()
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AttachmentService, type DirectUploadDto } from './attachments.service';
import { EmojiService } from './emojis.service';
import { MediaProxyService } from './media-proxy.service';
import { ProfileImageService } from './profile-images.service';

const directUploadBody = z.object({
  files: z
    .array(
      z.object({
        filename: z.string().min(1).max(1024),
        file_size: z.number().int().min(0),
      }),
    )
    .min(1)
    .max(10),
});
const completeBody = z.object({ upload_token: z.string().min(1).max(4096) });
const emojiName = z.string().regex(EMOJI_NAME, 'Must be 2 to 32 letters, digits or underscores');
// The image's size is checked after the data URI is parsed (media.emoji.max_size); this bounds the string.
const emojiCreateBody = z.object({
  name: emojiName,
  image: z.string().max(4 * 1024 * 1024),
  roles: z.array(snowflake).max(250).optional(),
});
const emojiPatchBody = z.object({
  name: emojiName.optional(),
  roles: z.array(snowflake).max(250).nullable().optional(),
});

/** api role: uploads into channels (multipart, or presigned direct uploads on S3). */
@Controller('api/v1/channels')
@UseGuards(AuthGuard, RateLimitGuard)
export class AttachmentsController {
  constructor(private readonly attachments: AttachmentService) {}

  /**
   * multipart/form-data with a `file` part: streams it to storage and answers 201 with the
   * attachment. A JSON body `{files: [{filename, file_size}]}` instead asks for presigned upload URLs.
   */
  @Post(':channel_id/attachments')
  @AcceptsMultipart()
  @HttpCode(201)
  @RateLimit('attachments.upload', 'channel_id')
  create(
    @Caller() c: AuthContext,
    @Param('channel_id') channelId: string,
    @Req() request: FastifyRequest,
  ): Promise<AttachmentDto | { attachments: DirectUploadDto[] }> {
    if (request.isMultipart()) return this.attachments.upload(channelId, c.userId, request);
    const body = parseInput(directUploadBody, request.body);
    return this.attachments.directUploads(channelId, c.userId, body.files);
  }

  @Post(':channel_id/attachments/complete')
  @HttpCode(201)
  complete(
    @Caller() c: AuthContext,
    @Param('channel_id') channelId: string,
    @ValidBody(completeBody) body: z.infer<typeof completeBody>,
  ): Promise<AttachmentDto> {
    return this.attachments.completeDirectUpload(channelId, c.userId, body.upload_token);
  }
}

/** api role: avatars and guild icons (multipart `file`). */
@Controller('api/v1')
@UseGuards(AuthGuard, RateLimitGuard)
export class ProfileImagesController {
  constructor(private readonly images: ProfileImageService) {}

  @Put('users/@me/avatar')
  @AcceptsMultipart()
  @RateLimit('attachments.upload')
  setAvatar(@Caller() c: AuthContext, @Req() request: FastifyRequest): Promise<SelfUser> {
    return this.images.setAvatar(c.userId, request);
  }

  @Delete('users/@me/avatar')
  clearAvatar(@Caller() c: AuthContext): Promise<SelfUser> {
    return this.images.clearAvatar(c.userId);
  }

  @Put('guilds/:guild_id/icon')
  @AcceptsMultipart()
  @RateLimit('attachments.upload')
  setIcon(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @Req() request: FastifyRequest,
  ): Promise<GuildDto> {
    return this.images.setIcon(guildId, c.userId, request);
  }

  @Delete('guilds/:guild_id/icon')
  clearIcon(@Caller() c: AuthContext, @Param('guild_id') guildId: string): Promise<GuildDto> {
    return this.images.clearIcon(guildId, c.userId);
  }
}

/** api role: a guild's custom emoji (Discord's routes; the image as a data URI in JSON, Discord's form). */
@Controller('api/v1/guilds/:guild_id/emojis')
@UseGuards(AuthGuard, RateLimitGuard)
export class EmojisController {
  constructor(private readonly emojis: EmojiService) {}

  @Get()
  list(@Caller() c: AuthContext, @Param('guild_id') guildId: string): Promise<EmojiDto[]> {
    return this.emojis.list(guildId, c.userId);
  }

  @Get(':emoji_id')
  get(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @Param('emoji_id') emojiId: string,
  ): Promise<EmojiDto> {
    return this.emojis.get(guildId, c.userId, emojiId);
  }

  @Post()
  @RateLimit('attachments.upload')
  create(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @ValidBody(emojiCreateBody) body: z.infer<typeof emojiCreateBody>,
    @AuditReason() reason: string | null,
  ): Promise<EmojiDto> {
    return this.emojis.create(guildId, c.userId, body, reason);
  }

  @Patch(':emoji_id')
  update(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @Param('emoji_id') emojiId: string,
    @ValidBody(emojiPatchBody) body: z.infer<typeof emojiPatchBody>,
    @AuditReason() reason: string | null,
  ): Promise<EmojiDto> {
    return this.emojis.update(guildId, c.userId, emojiId, body, reason);
  }

  @Delete(':emoji_id')
  @HttpCode(204)
  delete(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @Param('emoji_id') emojiId: string,
    @AuditReason() reason: string | null,
  ): Promise<void> {
    return this.emojis.delete(guildId, c.userId, emojiId, reason);
  }
}

/** media-proxy role: `/media/...`, no credentials (browsers load these as plain URLs). */
@Controller('media')
export class MediaProxyController {
  constructor(private readonly proxy: MediaProxyService) {}

  @Get('attachments/:channel_id/:attachment_id/:filename')
  attachment(
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
    @Param('channel_id') channelId: string,
    @Param('attachment_id') attachmentId: string,
    @Param('filename') filename: string,
  ): Promise<void> {
    return this.proxy.attachment(request, reply, { channelId, attachmentId, filename });
  }

  @Get('avatars/:user_id/:file')
  avatar(
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
    @Param('user_id') userId: string,
    @Param('file') file: string,
  ): Promise<void> {
    return this.proxy.avatar(request, reply, userId, file);
  }

  @Get('icons/:guild_id/:file')
  icon(
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
    @Param('guild_id') guildId: string,
    @Param('file') file: string,
  ): Promise<void> {
    return this.proxy.icon(request, reply, guildId, file);
  }

  @Get('emojis/:file')
  emoji(
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
    @Param('file') file: string,
  ): Promise<void> {
    return this.proxy.emoji(request, reply, file);
  }

  @Get('external/:encoded')
  external(
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
    @Param('encoded') encoded: string,
  ): Promise<void> {
    return this.proxy.external(request, reply, encoded);
  }
}
