import type { IncomingMessage } from 'node:http';

/**
 * Discord's API versions (`/api/v6` .. `/api/v10`, and `/api/webhooks/...` without a version) answer the same
 * routes as `/api/v1`: the URL is rewritten once, before routing, and the request remembers that a Discord
 * client sent it (validation is lenient for it and errors take Discord's nested `errors` shape).
 */
const DISCORD_PREFIX = /^\/api\/v(?:[6-9]|10)(?=\/|\?|$)/;
const UNVERSIONED_WEBHOOKS = /^\/api\/webhooks(?=\/|\?|$)/;

const DIALECT = Symbol('parley.dialect');
type Tagged = IncomingMessage & { [DIALECT]?: 'discord' };

/** Fastify's `rewriteUrl`: the Discord prefixes become `/api/v1`. */
export function rewriteDiscordUrl(req: IncomingMessage): string {
  const url = req.url ?? '/';
  if (DISCORD_PREFIX.test(url)) {
    (req as Tagged)[DIALECT] = 'discord';
    return url.replace(DISCORD_PREFIX, '/api/v1');
  }
  if (UNVERSIONED_WEBHOOKS.test(url)) {
    (req as Tagged)[DIALECT] = 'discord';
    return url.replace(UNVERSIONED_WEBHOOKS, '/api/v1/webhooks');
  }
  return url;
}

/** Whether a Discord client sent the request (it came in under a Discord API version). */
export function isDiscordRequest(req: { raw: IncomingMessage }): boolean {
  return (req.raw as Tagged)[DIALECT] === 'discord';
}
