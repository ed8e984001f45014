import { type ArgumentsHost, Catch, type ExceptionFilter } from '@nestjs/common';
import { ReadOnlyError } from '@parley/common';
import { AppLogger } from '@parley/observability';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { redactUrl } from './edge';
import { isDiscordRequest } from './dialect';
import { discordErrorBody, mapError } from './error-body';

/** The HTTP transport's error filter: every failure leaves in the contract's shape. */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  constructor(private readonly log: AppLogger) {}

  catch(err: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const reply = ctx.getResponse<FastifyReply>();
    const request = ctx.getRequest<FastifyRequest>();
    const mapped = mapError(err);
    if (err instanceof ReadOnlyError) {
      // Expected while an operator holds the instance read-only: not a failure worth an error line each.
      this.log.info(
        { error_id: mapped.errorId, req_id: request.id, url: redactUrl(request.url) },
        'write refused: read-only',
      );
    } else if (mapped.errorId) {
      this.log.error(
        { err, error_id: mapped.errorId, req_id: request.id, url: redactUrl(request.url) },
        'request failed',
      );
    }
    const body = isDiscordRequest(request) ? discordErrorBody(mapped.body) : mapped.body;
    void reply.status(mapped.status).headers(mapped.headers).send(body);
  }
}
