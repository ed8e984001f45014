import { type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { requestActivity } from '@parley/common';
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { httpEdgeOptions, installHttpEdge, redactUrl } from '@parley/http';
import { activeTracing, AppLogger, Metrics, Readiness } from '@parley/observability';
import type { FastifyInstance } from 'fastify';
import { moveInternalRoutes, startInternalListener } from './internal-listener';

export interface RunningServer {
  app: INestApplication;
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Builds the Fastify-backed Nest application with the contract's edges: limits, errors, logs, metrics. */
export async function createHttpApp(
  config: ParleyConfig,
  rootModule: unknown,
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.server.body_limit,
    connectionTimeout: config.server.read_timeout,
    keepAliveTimeout: config.server.idle_timeout,
    requestTimeout: config.server.write_timeout,
    return503OnClosing: true,
    ...httpEdgeOptions(config),
  });
  const app = await NestFactory.create<NestFastifyApplication>(rootModule as never, adapter, {
    bufferLogs: true,
    abortOnError: false,
  });
  const log = app.get(AppLogger);
  app.useLogger(log);
  const metrics = app.get(Metrics);
  const fastify: FastifyInstance = app.getHttpAdapter().getInstance();
  installHttpEdge(fastify);
  moveInternalRoutes(fastify, config);

  // Fastify's own errors (bad JSON, body too large, wrong content type) reach HttpErrorFilter through Nest's
  // exception handler, so every error leaves in the contract's shape.
  fastify.addHook('onSend', (request, reply, payload, done) => {
    void reply.header('x-request-id', request.id);
    done(null, payload);
  });
  // Counted from the request's arrival to its response's end or abort: jobs in this process give way meanwhile.
  fastify.addHook('onRequest', (_request, reply, done) => {
    requestActivity.begin();
    reply.raw.once('close', () => requestActivity.end());
    done();
  });
  const tracing = activeTracing();
  if (tracing)
    fastify.addHook('onRequest', (request, _reply, done) => {
      tracing.nameHttpSpan(request.method, request.routeOptions.url ?? 'unmatched');
      done();
    });
  fastify.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    if (metrics.enabled)
      metrics.httpDuration.observe({ method: request.method, route, status: reply.statusCode }, seconds);
    log.pino.info(
      {
        req_id: request.id,
        client_req_id: request.clientRequestId,
        method: request.method,
        route,
        url: redactUrl(request.url),
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 100) / 100,
      },
      'request',
    );
    done();
  });
  return app;
}

/** Listens and installs SIGTERM/SIGINT draining: not ready, finish in-flight work, close, exit 0. */
export async function listen(
  app: NestFastifyApplication,
  config: ParleyConfig,
  port = config.server.port,
): Promise<RunningServer> {
  await app.listen({ port, host: config.server.host });
  const internal = await startInternalListener(app.getHttpAdapter().getInstance(), config);
  if (internal)
    process.stdout.write(
      `${JSON.stringify({ level: 30, msg: 'parley internal listener', url: internal.url, serves: ['/metrics', '/api/docs'] })}\n`,
    );
  const address = app.getHttpServer().address();
  const actual = typeof address === 'object' && address ? address.port : port;
  const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
  return {
    app,
    port: actual,
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${actual}`,
    close: () => app.close(),
  };
}

export function installSignalHandlers(server: RunningServer): void {
  const log = server.app.get(AppLogger);
  let closing = false;
  const drain = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'draining');
    server.app.get(Readiness).markDraining();
    // A gateway answers handovers for up to gateway.drain.timeout before it closes: leave it that long.
    const config = server.app.get<ParleyConfig>(PARLEY_CONFIG);
    const force = setTimeout(
      () => {
        log.error('drain timed out; exiting');
        process.exit(1);
      },
      Math.max(25_000, config.gateway.drain.timeout + 5_000),
    );
    force.unref();
    server
      .close()
      .then(() => {
        log.info('stopped');
        process.exit(0);
      })
      .catch((err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', drain);
  process.on('SIGINT', drain);
}
