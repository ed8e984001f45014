import { ServiceUnavailableError } from '@parley/common';
import { mapError } from '@parley/http';
import { AppLogger } from '@parley/observability';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';

export interface Dependency {
  name: string;
  connected(): boolean;
}

/**
 * Fails API requests at once with 503 while a dependency the role cannot work without is unreachable, rather
 * than letting them wait on a connection that is down. Health and metrics still answer.
 */
export function installDependencyGate(app: NestFastifyApplication, dependencies: Dependency[]): void {
  if (dependencies.length === 0) return;
  const log = app.get(AppLogger);
  const fastify: FastifyInstance = app.getHttpAdapter().getInstance();
  fastify.addHook('onRequest', (request, reply, done) => {
    if (!request.url.startsWith('/api/')) return done();
    const down = dependencies.find((d) => !d.connected());
    if (!down) return done();
    const mapped = mapError(new ServiceUnavailableError(`Service unavailable: ${down.name} is unreachable`));
    log.pino.warn({ req_id: request.id, error_id: mapped.errorId, dependency: down.name }, 'request refused');
    void reply.status(mapped.status).headers(mapped.headers).send(mapped.body);
  });
}

/** Holds each API response until the events it published are at the NATS server (see NatsEventBus.settle). */
export function installPublishBarrier(app: NestFastifyApplication, bus: { settle(): Promise<void> }): void {
  const fastify: FastifyInstance = app.getHttpAdapter().getInstance();
  fastify.addHook('onSend', async (_request, _reply, payload) => {
    // A lost connection cannot be waited out: the event stays buffered and gateways restart their sessions.
    await bus.settle().catch(() => undefined);
    return payload;
  });
}
