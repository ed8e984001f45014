import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { isSnowflake, UNKNOWN } from '@parley/common';
import type { ParleyConfig } from '@parley/config';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isDiscordRequest, rewriteDiscordUrl } from './dialect';
import { mapError } from './error-body';

/** Route config flag: the route takes multipart/form-data as well as JSON (uploads). */
const MULTIPART = 'parley_multipart';

/** Marks an upload route: multipart/form-data is accepted there, and only there. */
export const AcceptsMultipart = () => RouteConfig({ [MULTIPART]: true });

/** Route config flag: the route takes application/x-www-form-urlencoded (RFC 8058 one-click unsubscribe). */
const FORM = 'parley_form';

/**
 * Marks a route a mail client POSTs a form to (RFC 8058's one-click unsubscribe). Only for routes whose effect
 * a signed token in the URL authorises, never the caller's session: a cross-site form gains nothing there.
 */
export const AcceptsForm = () => RouteConfig({ [FORM]: true });

// JSON everywhere (LiveKit's webhook is JSON under its own type). Anything else, form encodings above all, is
// 415: a cross-site HTML form can send only those, so it can never log a browser in or register accounts.
const JSON_TYPES = new Set(['application/json', 'application/webhook+json']);
const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

// A client's X-Request-Id is recorded beside ours only when short and printable: it is the client's word.
const CLIENT_REQUEST_ID = /^[\x21-\x7e]{1,64}$/;

/** After an early refusal (413) the rest of the body is read and dropped, up to this much, before closing. */
export const LINGER_MAX_BYTES = 64 * 1024 * 1024;
export const LINGER_MAX_MS = 10_000;

// Query parameters that are credentials: signed media URLs (hm), S3 presigned URLs, tokens in links.
const SECRET_PARAMS =
  /([?&](?:hm|x-amz-signature|x-amz-credential|x-amz-security-token|signature|token)=)[^&#]*/gi;

/** The URL as logs may show it: signatures and tokens replaced, so a log line grants nothing. */
export function redactUrl(url: string): string {
  return url.replace(SECRET_PARAMS, '$1[redacted]');
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The client's own X-Request-Id, when it is short and printable. */
    clientRequestId?: string;
  }
}

/** Fastify options of the HTTP edge: who the client is, request ids, framework errors in the contract's shape. */
export function httpEdgeOptions(config: ParleyConfig) {
  return {
    trustProxy: config.server.trust_proxy,
    // Ours only: a client-chosen id could collide with another request's or forge log lines.
    genReqId: () => randomUUID(),
    requestIdHeader: false as const,
    rewriteUrl: rewriteDiscordUrl,
    frameworkErrors: (error: Error & { code?: string }, _request: FastifyRequest, reply: FastifyReply) => {
      // An over-long path parameter names nothing that exists: 404 like any other unknown resource.
      const status = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 404 : 400;
      const mapped = mapError(Object.assign(new Error(error.message), { statusCode: status }));
      void reply.code(mapped.status).send(mapped.body);
    },
  };
}

/** Hooks of the HTTP edge shared by every process that serves HTTP. */
export function installHttpEdge(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    const client = request.headers['x-request-id'];
    if (typeof client === 'string' && CLIENT_REQUEST_ID.test(client)) request.clientRequestId = client;

    const refusal = pathIdRefusal(request) ?? contentTypeRefusal(request);
    if (refusal) {
      void reply.code(refusal.status).send(refusal.body);
      return;
    }
    done();
  });

  fastify.addHook('onSend', (request, reply, payload, done) => {
    if (!request.raw.complete && String(reply.getHeader('connection')).toLowerCase() === 'close') {
      lingerOnClose(request, reply.raw.socket);
    }
    // Discord answers `application/json` with no charset (JSON is UTF-8 by definition), and some Discord
    // libraries (Eris) parse a body only when the type is exactly that.
    if (isDiscordRequest(request) && /^application\/json;/.test(String(reply.getHeader('content-type'))))
      void reply.header('content-type', 'application/json');
    done(null, payload);
  });
}

interface Refusal {
  status: number;
  body: ReturnType<typeof mapError>['body'];
}

/**
 * Every `*_id` path parameter must be a canonical snowflake: "0<id>" would reach caches and event scopes
 * under a key of its own. `@me` stands for the caller where routes allow it.
 */
function pathIdRefusal(request: FastifyRequest): Refusal | null {
  const params = request.params as Record<string, string> | undefined;
  if (!params) return null;
  for (const [name, value] of Object.entries(params)) {
    if (!name.endsWith('_id') || value === '@me' || isSnowflake(value)) continue;
    const kind = name.slice(0, -3);
    const code = kind in UNKNOWN ? UNKNOWN[kind as keyof typeof UNKNOWN] : 0;
    return { status: 404, body: { code, message: code ? `Unknown ${kind}` : '404: Not Found' } };
  }
  return null;
}

function contentTypeRefusal(request: FastifyRequest): Refusal | null {
  if (!METHODS_WITH_BODY.has(request.method)) return null;
  const length = request.headers['content-length'];
  const hasBody =
    request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
  if (!hasBody) return null;
  const type = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (JSON_TYPES.has(type)) return null;
  const config = request.routeOptions.config as unknown as Record<string, unknown> | undefined;
  if (type === 'multipart/form-data' && config?.[MULTIPART] === true) return null;
  if (type === 'application/x-www-form-urlencoded' && config?.[FORM] === true) return null;
  const mapped = mapError(Object.assign(new Error('unsupported media type'), { statusCode: 415 }));
  const accepted =
    config?.[MULTIPART] === true ? 'application/json or multipart/form-data' : 'application/json';
  return { status: 415, body: { ...mapped.body, message: `Unsupported content type: send ${accepted}` } };
}

/**
 * Lingering close, as nginx does it: the answer (413) is sent, then the rest of the body is read and dropped
 * (bounded in bytes and time) before the socket closes. Closing at once with unread bytes makes the kernel
 * reset the connection, and a client still sending would lose the answer to a broken pipe.
 */
function lingerOnClose(request: FastifyRequest, socket: Socket | null): void {
  if (!socket || socket.destroyed) return;
  const body = request.raw;
  let seen = 0;
  let timer: NodeJS.Timeout | undefined;
  const close = () => {
    if (timer) clearTimeout(timer);
    socket.destroy();
  };
  socket.destroySoon = () => {
    socket.end(); // the answer is flushed and the write side closed; reading goes on
    if (body.complete) return close();
    timer = setTimeout(close, LINGER_MAX_MS).unref();
    body.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > LINGER_MAX_BYTES) close();
    });
    body.once('end', close);
    body.once('error', close);
    socket.once('close', () => timer && clearTimeout(timer));
    body.resume();
  };
}
