import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { ParleyConfig } from '@parley/config';
import type { FastifyInstance } from 'fastify';

/** What moves off the public port when `metrics.listen` is set. */
const INTERNAL_PATHS = new Set(['/metrics', '/api/docs']);
const INTERNAL_HEADER = 'x-parley-internal';

/** `host:port` (IPv6 hosts in brackets) of `metrics.listen`. */
export function parseListen(value: string): { host: string; port: number } {
  const match = /^\[?([^\]]*)\]?:(\d{1,5})$/.exec(value);
  if (!match) throw new Error(`metrics.listen: expected host:port, got "${value}"`);
  return { host: match[1], port: Number(match[2]) };
}

/**
 * `metrics.listen` set: `/metrics` and `/api/docs` answer only there (an address the proxy does not expose),
 * and 404 on the public port. The internal listener passes requests to the same application, so both serve
 * exactly what the public port served before.
 */
export function moveInternalRoutes(fastify: FastifyInstance, config: ParleyConfig): void {
  if (!config.metrics.listen) return;
  const secret = randomBytes(16).toString('hex');
  fastify.addHook('onRequest', (request, reply, done) => {
    const path = request.url.split('?')[0];
    if (INTERNAL_PATHS.has(path) && request.headers[INTERNAL_HEADER] !== secret) {
      void reply.code(404).send({ code: 0, message: '404: Not Found' });
      return;
    }
    done();
  });
  const internal: Internal = { secret, server: null };
  (fastify as unknown as { parleyInternal: Internal }).parleyInternal = internal;
  // Registered now: hooks cannot be added once the application listens.
  fastify.addHook('onClose', (_instance, done) => {
    if (!internal.server) return done();
    internal.server.close(() => done());
    internal.server.closeAllConnections();
  });
}

interface Internal {
  secret: string;
  server: Server | null;
}

export async function startInternalListener(
  fastify: FastifyInstance,
  config: ParleyConfig,
): Promise<{ url: string; server: Server } | null> {
  if (!config.metrics.listen) return null;
  const internal = (fastify as unknown as { parleyInternal: Internal }).parleyInternal;
  const secret = internal.secret;
  const { host, port } = parseListen(config.metrics.listen);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || !INTERNAL_PATHS.has(path)) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"code":0,"message":"404: Not Found"}');
      return;
    }
    fastify
      .inject({ method: 'GET', url: req.url ?? path, headers: { [INTERNAL_HEADER]: secret } })
      .then((answer) => {
        const type = answer.headers['content-type'];
        res.writeHead(answer.statusCode, type ? { 'content-type': String(type) } : {}).end(answer.rawPayload);
      })
      .catch(() => res.writeHead(500).end());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  internal.server = server;
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return { url: `http://${shown === '0.0.0.0' ? '127.0.0.1' : shown}:${actual}`, server };
}
