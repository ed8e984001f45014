import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Module, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import fastifyStatic from '@fastify/static';
import { AppLogger } from '@parley/observability';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** The web client's own routes: each answers with index.html and the client routes from there. */
export const CLIENT_ROUTES = ['/', '/login', '/register', '/invite/:code', '/channels/*'] as const;

// Nothing but this origin: no third-party fonts, scripts or trackers, and no framing by other sites.
// Images may come from a media proxy on another host (attachments).
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob: https: http:",
  "connect-src 'self' ws: wss:",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Finds `dist/web` from the repository root (the nearest folder with a package.json above this file). */
export function clientDirectory(from = __dirname): string | null {
  let dir = from;
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) {
      const web = join(dir, 'dist/web');
      return existsSync(join(web, 'index.html')) ? web : null;
    }
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

function pageHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header('cache-control', 'no-cache')
    .header('content-security-policy', CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'same-origin');
}

/** Serves the built web client at `/` (monolith only; microservice deployments host `dist/web` anywhere). */
@Module({})
export class WebClientModule implements OnModuleInit {
  constructor(
    private readonly adapter: HttpAdapterHost,
    private readonly log: AppLogger,
  ) {}

  async onModuleInit(): Promise<void> {
    const fastify = this.adapter.httpAdapter.getInstance<FastifyInstance>();
    const root = clientDirectory();
    if (!root) {
      this.log.warn('web client not built (dist/web/index.html is missing): run "npm run build:web"');
      fastify.get('/', (_req, reply) =>
        reply
          .code(503)
          .type('text/plain; charset=utf-8')
          .send('The Parley web client is not built on this server: run "npm run build:web".\n'),
      );
      return;
    }
    await fastify.register(fastifyStatic, {
      root,
      prefix: '/',
      // One route per file that exists at start-up, rather than a catch-all that would shadow other routes.
      wildcard: false,
      index: false,
      preCompressed: true,
      cacheControl: false,
      setHeaders: (reply, path) => {
        if (path.endsWith('index.html')) void reply.header('cache-control', 'no-cache');
        else if (path.includes('/assets/'))
          void reply.header('cache-control', 'public, max-age=31536000, immutable');
        else void reply.header('cache-control', 'public, max-age=3600');
        void reply.header('x-content-type-options', 'nosniff');
      },
    });
    for (const route of CLIENT_ROUTES) {
      fastify.get(route, (_req, reply) =>
        pageHeaders(reply).sendFile('index.html', root, { cacheControl: false }),
      );
    }
  }
}
