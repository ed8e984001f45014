import { Controller, Delete, Get, HttpCode, Param, Patch, Post, Req, Res, UseGuards } from '@nestjs/common';
import { BadRequestError, type MessageDto, ValidationError, type WebhookDto } from '@parley/common';
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
import { MAX_FILES_PER_MESSAGE, type WebhookFileBatch } from '../webhook-files';
import { type StoredWebhookFile, type WebhookTarget, WebhookService } from '../webhooks.service';

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
   * Discord's execute: JSON, or multipart/form-data with the JSON in `payload_json` (or as plain fields) and
   * files (`files[n]`, or any other file field). `?wait=true` answers 200 with the message; otherwise 204 once
   * it is stored.
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
    const target = await this.webhooks.target(webhookId, token);
    const form = new WebhookForm(this.webhooks, target);
    let message: MessageDto;
    try {
      const raw = request.isMultipart() ? await form.read(request) : request.body;
      const body = parseInput(s.webhookExecuteBody, raw, isDiscordRequest(request));
      message = await this.webhooks.execute(target, body, form.files);
    } catch (err) {
      await form.discard();
      throw err;
    }
    // 200 with the message, or 204: the reply is sent here (Nest would give a POST its 201).
    if (query.wait === true) await reply.status(200).send(message);
    else await reply.status(204).send();
  }

  /** A message this webhook sent (Discord's `GET /webhooks/:id/:token/messages/:message_id`). */
  @Public()
  @Get('messages/:message_id')
  getMessage(
    @Param('webhook_id') webhookId: string,
    @Param('token') token: string,
    @Param('message_id') messageId: string,
  ): Promise<MessageDto> {
    return this.webhooks.getMessage(webhookId, token, messageId);
  }

  /** Edits a message this webhook sent: JSON, or multipart with `payload_json` and new files. */
  @Public()
  @Patch('messages/:message_id')
  @AcceptsMultipart()
  @RateLimit('webhooks.execute', 'webhook_id', { shared: true })
  async editMessage(
    @Param('webhook_id') webhookId: string,
    @Param('token') token: string,
    @Param('message_id') messageId: string,
    @Req() request: FastifyRequest,
  ): Promise<MessageDto> {
    const target = await this.webhooks.target(webhookId, token);
    const form = new WebhookForm(this.webhooks, target);
    try {
      const raw = request.isMultipart() ? await form.read(request) : request.body;
      const body = parseInput(s.webhookMessagePatchBody, raw, isDiscordRequest(request));
      return await this.webhooks.editMessage(target, messageId, body, form.files);
    } catch (err) {
      await form.discard();
      throw err;
    }
  }

  @Public()
  @Delete('messages/:message_id')
  @HttpCode(204)
  deleteMessage(
    @Param('webhook_id') webhookId: string,
    @Param('token') token: string,
    @Param('message_id') messageId: string,
  ): Promise<void> {
    return this.webhooks.deleteMessage(webhookId, token, messageId);
  }
}

const FILES_FIELD = /^files\[(\d{1,2})\]$/;

/**
 * One multipart request to a webhook: its JSON (`payload_json`, else the plain fields) and its files, each
 * streamed into the store as it arrives (never held in memory). `files` and `discard` serve the caller: the
 * files go to the message, or are deleted when the request fails.
 */
class WebhookForm {
  readonly files: StoredWebhookFile[] = [];
  private batch: WebhookFileBatch | null = null;

  constructor(
    private readonly webhooks: WebhookService,
    private readonly target: WebhookTarget,
  ) {}

  async read(request: FastifyRequest): Promise<unknown> {
    const fields: Record<string, unknown> = {};
    let payload: Record<string, unknown> | undefined;
    // One file part past the limit is read to refuse it; busboy stops there.
    const parts = request.parts({
      limits: { fields: 20, fieldSize: 65_536, files: MAX_FILES_PER_MESSAGE + 1, parts: 64 },
    });
    for await (const part of parts) {
      if (part.type === 'file') {
        if (this.files.length >= MAX_FILES_PER_MESSAGE) {
          part.file.resume();
          throw ValidationError.field(
            'attachments',
            'BASE_TYPE_MAX_LENGTH',
            `Must be ${MAX_FILES_PER_MESSAGE} or fewer in length.`,
          );
        }
        const index = FILES_FIELD.exec(part.fieldname)?.[1] ?? String(this.files.length);
        if (this.files.some((f) => f.index === index)) {
          part.file.resume();
          throw ValidationError.field(part.fieldname, 'BASE_TYPE_DUPLICATE', 'Each files[n] once');
        }
        this.batch ??= await this.webhooks.fileBatch(this.target, part.fieldname);
        // A filename given in payload_json before the file names it (the stored name is its URL's).
        const listed = payload?.attachments;
        const meta = Array.isArray(listed)
          ? (listed as { id?: unknown; filename?: unknown }[]).find((a) => String(a?.id) === index)
          : undefined;
        const name = typeof meta?.filename === 'string' ? meta.filename : part.filename;
        const ref = await this.batch.put(name, part.file);
        this.files.push({ index, ref });
        continue;
      }
      const value = typeof part.value === 'string' ? part.value : String(part.value);
      if (part.fieldname === 'payload_json') {
        try {
          payload = JSON.parse(value) as Record<string, unknown>;
        } catch {
          // Discord's answer to a body that is not JSON.
          throw new BadRequestError('The request body contains invalid JSON.', 50109);
        }
        if (payload === null || typeof payload !== 'object' || Array.isArray(payload))
          throw new BadRequestError('The request body contains invalid JSON.', 50109);
      } else fields[part.fieldname] = value;
    }
    return payload ?? fields;
  }

  async discard(): Promise<void> {
    await this.batch?.discard();
  }
}
