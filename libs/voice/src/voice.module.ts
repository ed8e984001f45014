import { Injectable, Module, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { AuthCoreModule } from '@parley/auth';
import { ChatCoreModule } from '@parley/chat';
import type { FastifyInstance } from 'fastify';
import { VoiceController } from './voice.controller';
import { VoiceService } from './voice.service';

const WEBHOOK_TYPE = 'application/webhook+json';

/** LiveKit signs the exact bytes it sends, so its webhooks reach the handler as the raw string. */
@Injectable()
export class WebhookBodyParser implements OnModuleInit {
  constructor(private readonly host: HttpAdapterHost) {}

  onModuleInit(): void {
    const fastify = this.host.httpAdapter?.getInstance<FastifyInstance>();
    if (!fastify || fastify.hasContentTypeParser(WEBHOOK_TYPE)) return;
    fastify.addContentTypeParser(
      WEBHOOK_TYPE,
      { parseAs: 'string', bodyLimit: 1024 * 1024 },
      (_req, body, done) => done(null, body),
    );
  }
}

/** LiveKit tokens and webhook verification. */
@Module({
  imports: [ChatCoreModule],
  providers: [VoiceService],
  exports: [VoiceService],
})
export class VoiceCoreModule {}

/** api role: voice tokens and the LiveKit webhook receiver. */
@Module({
  imports: [VoiceCoreModule, AuthCoreModule],
  controllers: [VoiceController],
  providers: [WebhookBodyParser],
})
export class VoiceApiModule {}

/** The REST controllers of this library, for the OpenAPI document. */
export const VOICE_API_CONTROLLERS = [VoiceController];
