import { Controller, Delete, Get, HttpCode, Param, Patch, Post, Req, Res, UseGuards } from '@nestjs/common';
import { BadRequestError, type MessageDto, type WebhookDto } from '@parley/common';
import { AuthGuard, Caller, Public } from '@parley/auth';
import {
  AcceptsMultipart,
  type AuthContext,
  RateLimit,
  RateLimitGuard,
  ValidBody,
  ValidQuery,
  isDiscordRequest,
  parseInput,
} from '@parley/http';
import type {} from '@fastify/multipart'; // request.parts() and request.isMultipart()
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { AuditReason } from '../moderation/audit-reason';
import * as s from '../schemas';
import { WebhookService } from '../webhooks.service';

type In<T extends z.ZodType> = z.infer<T>;

/** The webhook's URL as senders use it, on the address this request came to. */
function withUrl(request: FastifyRequest, dto: WebhookDto): WebhookDto {
  if (dto.token === undefined) return dto;
  return { ...dto, url: `${request.protocol}://${request.host}/api/webhooks/${dto.id}/${dto.token}` };
}

/** Managing a channel's and a guild's webhooks (MANAGE_WEBHOOKS). */
@Controller('api/v1')
@UseGuards(AuthGuard, RateLimitGuard)
export class WebhooksController {
  constructor(private readonly webhooks: WebhookService) {}

  @Post('channels/:channel_id/webhooks')
  @HttpCode(200)
  async create(
    @Caller() c: AuthContext,
    @Param('channel_id') channelId: string,
    @ValidBody(s.webhookCreateBody) body: In<typeof s.webhookCreateBody>,
    @AuditReason() reason: string | null,
    @Req() request: FastifyRequest,
  ): Promise<WebhookDto> {
    return withUrl(request, await this.webhooks.create(channelId, c.userId, body, reason));
  }

  @Get('channels/:channel_id/webhooks')
  async listChannel(
    @Caller() c: AuthContext,
    @Param('channel_id') channelId: string,
    @Req() request: FastifyRequest,
  ): Promise<WebhookDto[]> {
    return (await this.webhooks.listChannel(channelId, c.userId)).map((w) => withUrl(request, w));
  }

  @Get('guilds/:guild_id/webhooks')
  async listGuild(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @Req() request: FastifyRequest,
  ): Promise<WebhookDto[]> {
    return (await this.webhooks.listGuild(guildId, c.userId)).map((w) => withUrl(request, w));
  }

  @Get('webhooks/:webhook_id')
  async get(
    @Caller() c: AuthContext,
    @Param('webhook_id') webhookId: string,
    @Req() request: FastifyRequest,
  ): Promise<WebhookDto> {
    return withUrl(request, await this.webhooks.get(webhookId, c.userId));
  }

  @Patch('webhooks/:webhook_id')
  async modify(
    @Caller() c: AuthContext,
    @Param('webhook_id') webhookId: string,
    @ValidBody(s.webhookPatchBody) body: In<typeof s.webhookPatchBody>,
    @AuditReason() reason: string | null,
    @Req() request: FastifyRequest,
  ): Promise<WebhookDto> {
    return withUrl(request, await this.webhooks.modify(webhookId, c.userId, body, reason));
  }

  @Delete('webhooks/:webhook_id')
  @HttpCode(204)
  delete(
    @Caller() c: AuthContext,
    @Param('webhook_id') webhookId: string,
    @AuditReason() reason: string | null,
  ): Promise<void> {
    return this.webhooks.delete(webhookId, c.userId, reason);
  }
}

/**
 * What a webhook's token allows, with no other credential (`/api/webhooks/...` without a version too, as
 * Discord accepts): read, rename, delete, and execute. Execute is rate limited per webhook, whoever sends.
 */
@Controller('api/v1/webhooks/:webhook_id/:token')
@UseGuards(AuthGuard, RateLimitGuard)
export class WebhookTokenController {
  constructor(private readonly webhooks: WebhookService) {}

  @Public()
  @Get()
  get(@Param('webhook_id') webhookId: string, @Param('token') token: string): Promise<WebhookDto> {
    return this.webhooks.getWithToken(webhookId, token);
  }

  @Public()
  @Patch()
  modify(
    @Param('webhook_id') webhookId: string,
    @Param('token') token: string,
    @ValidBody(s.webhookTokenPatchBody) body: In<typeof s.webhookTokenPatchBody>,
  ): Promise<WebhookDto> {
    return this.webhooks.modifyWithToken(webhookId, token, body);
  }

  @Public()
  @Delete()
  @HttpCode(204)
  delete(@Param('webhook_id') webhookId: string, @Param('token') token: string): Promise<void> {
    return this.webhooks.deleteWithToken(webhookId, token);
  }

  /**
   * Discord's execute: JSON, or multipart/form-data with the JSON in `payload_json` (or as plain fields).
   * `?wait=true` answers 200 with the message; otherwise 204 once it is stored.
   */
  @Public()
  @Post()
  @AcceptsMultipart()
  @RateLimit('webhooks.execute', 'webhook_id', { shared: true })
  async execute(
    @Param('webhook_id') webhookId: string,
    @Param('token') token: string,
    @ValidQuery(s.webhookExecuteQuery) query: In<typeof s.webhookExecuteQuery>,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const raw = request.isMultipart() ? await multipartPayload(request) : request.body;
    const body = parseInput(s.webhookExecuteBody, raw, isDiscordRequest(request));
    const message: MessageDto = await this.webhooks.execute(webhookId, token, body);
    // 200 with the message, or 204: the reply is sent here (Nest would give a POST its 201).
    if (query.wait === true) await reply.status(200).send(message);
    else await reply.status(204).send();
  }
}

/**
 * The JSON of a multipart execute: `payload_json`, else the plain fields (`content`, `username`, ...).
 * Files (`files[n]`) are not taken on webhooks yet: refused with 400 rather than dropped silently.
 */
async function multipartPayload(request: FastifyRequest): Promise<unknown> {
  const fields: Record<string, unknown> = {};
  let payload: unknown;
  for await (const part of request.parts({ limits: { fields: 20, fieldSize: 65_536, files: 10 } })) {
    if (part.type === 'file') {
      part.file.resume();
      const err = new BadRequestError('Invalid Form Body');
      err.errors = {
        [part.fieldname]: [{ code: 'FILES_NOT_SUPPORTED', message: 'Webhooks do not take files yet' }],
      };
      throw err;
    }
    const value = typeof part.value === 'string' ? part.value : String(part.value);
    if (part.fieldname === 'payload_json') {
      try {
        payload = JSON.parse(value);
      } catch {
        const err = new BadRequestError('Invalid Form Body');
        err.errors = { payload_json: [{ code: 'JSON_INVALID', message: 'Not valid JSON' }] };
        throw err;
      }
    } else fields[part.fieldname] = value;
  }
  return payload ?? fields;
}
