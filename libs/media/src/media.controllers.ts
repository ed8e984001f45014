import { Controller, Delete, Get, HttpCode, Param, Post, Put, Req, Res, UseGuards } from '@nestjs/common';
import type { AttachmentDto, GuildDto, SelfUser } from '@parley/common';
import { AuthGuard, Caller } from '@parley/auth';
import {
  AcceptsMultipart,
  type AuthContext,
  RateLimit,
  RateLimitGuard,
  ValidBody,
  parseInput,
} from '@parley/http';
import type {} from '@fastify/multipart'; // request.file() and request.isMultipart()
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AttachmentService, type DirectUploadDto } from './attachments.service';
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

  @Get('external/:encoded')
  external(
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
    @Param('encoded') encoded: string,
  ): Promise<void> {
    return this.proxy.external(request, reply, encoded);
  }
}
