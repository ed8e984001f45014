import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join, relative, sep } from 'node:path';
import { Module, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { AppLogger } from '@parley/observability';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** The web client's own routes: each answers with index.html and the client routes from there. */
// /forgot, /reset and /verify are the pages of the mailed links, /oidc where single sign-on lands (docs/accounts.md).
export const CLIENT_ROUTES = [
  '/',
  '/login',
  '/register',
  '/forgot',
  '/reset',
  '/verify',
  '/oidc',
  '/invite/:code',
  '/channels/*',
] as const;

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

interface StaticFile {
  body: Buffer;
  br: Buffer | null;
  gzip: Buffer | null;
  type: string;
  etag: string;
  cacheControl: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Reads the built client once: it is small (tens of files), so it is served from memory with its precompressed twins. */
export function loadClientFiles(root: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        walk(path);
        continue;
      }
      const type = TYPES[extname(entry.name)];
      if (!type) continue; // .map, .br, .gz and anything unknown are not served
      const body = readFileSync(path);
      const url = `/${relative(root, path).split(sep).join('/')}`;
      files.set(url, {
        body,
        br: existsSync(`${path}.br`) ? readFileSync(`${path}.br`) : null,
        gzip: existsSync(`${path}.gz`) ? readFileSync(`${path}.gz`) : null,
        type,
        etag: `"${createHash('sha1').update(body).digest('base64url').slice(0, 20)}"`,
        cacheControl: url.startsWith('/assets/')
          ? 'public, max-age=31536000, immutable'
          : url.endsWith('.html') || url === '/sw.js' // a service worker must update when the app does
            ? 'no-cache'
            : 'public, max-age=3600',
      });
    }
  };
  walk(root);
  return files;
}

function send(request: FastifyRequest, reply: FastifyReply, file: StaticFile): FastifyReply {
  void reply
    .header('content-type', file.type)
    .header('cache-control', file.cacheControl)
    .header('etag', file.etag)
    .header('vary', 'accept-encoding')
    .header('x-content-type-options', 'nosniff');
  if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
  const accept = String(request.headers['accept-encoding'] ?? '');
  if (file.br && /\bbr\b/.test(accept)) return reply.header('content-encoding', 'br').send(file.br);
  if (file.gzip && /\bgzip\b/.test(accept)) return reply.header('content-encoding', 'gzip').send(file.gzip);
  return reply.send(file.body);
}

/**
 * Serves the built web client at `/` (monolith only; microservice deployments host `dist/web` anywhere).
 * Routes are plain Fastify routes added synchronously during module init, so they are built with Nest's error
 * handler like every other route (awaiting a plugin here would boot Fastify early and bypass it).
 */
@Module({})
export class WebClientModule implements OnModuleInit {
  constructor(
    private readonly adapter: HttpAdapterHost,
    private readonly log: AppLogger,
  ) {}

  onModuleInit(): void {
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
    const files = loadClientFiles(root);
    const index = files.get('/index.html');
    if (!index) throw new Error(`${root}/index.html vanished while loading the web client`);
    for (const [url, file] of files) {
      if (url === '/index.html') continue;
      fastify.get(url, (request, reply) => send(request, reply, file));
    }
    for (const route of CLIENT_ROUTES) {
      fastify.get(route, (request, reply) => send(request, pageHeaders(reply), index));
    }
  }
}
