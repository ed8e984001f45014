import { lookup as dnsLookup } from 'node:dns/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { isForbiddenAddress } from '@parley/media';

/** Why a push delivery did not reach its push service. */
export class PushTargetError extends Error {
  constructor(
    /** forbidden: the endpoint is refused for good (private address, bad URL); network: try again later. */
    readonly kind: 'forbidden' | 'network',
    message: string,
  ) {
    super(message);
    this.name = 'PushTargetError';
  }
}

export interface GuardedPostOptions {
  headers: Record<string, string>;
  body: Buffer;
  timeoutMs: number;
  /** Host names or IP addresses admitted although private (`notifications.push.allow_private_hosts`). */
  allowPrivateHosts: readonly string[];
}

/**
 * POSTs to a URL a user supplied (a push subscription's endpoint) through the same SSRF rule as the media proxy:
 * every address the host resolves to must be public unless the operator admitted the host, and the connection
 * goes to the checked address (no second lookup). No redirects are followed (push services answer 201).
 * Answers the status code; the body is drained and dropped.
 */
export async function guardedPost(rawUrl: string, options: GuardedPostOptions): Promise<number> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new PushTargetError('forbidden', 'the endpoint is not a URL');
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password)
    throw new PushTargetError('forbidden', 'the endpoint must be an http(s) URL without credentials');
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const admitted = options.allowPrivateHosts.some((h) => h.toLowerCase() === host.toLowerCase());
  let addresses: { address: string; family: number }[];
  if (isIP(host)) addresses = [{ address: host, family: isIP(host) }];
  else {
    try {
      addresses = await dnsLookup(host, { all: true, verbatim: true });
    } catch (err) {
      throw new PushTargetError('network', `${host} does not resolve: ${(err as Error).message}`);
    }
  }
  if (addresses.length === 0) throw new PushTargetError('network', `${host} does not resolve`);
  if (!admitted && addresses.some((a) => isForbiddenAddress(a.address)))
    throw new PushTargetError('forbidden', `${host} resolves to a forbidden address`);
  const target = addresses[0];
  const pinned: LookupFunction = (_hostname, lookupOptions, callback) => {
    if (lookupOptions.all) callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  };
  const request = url.protocol === 'https:' ? https.request : http.request;
  return new Promise<number>((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      lookup: pinned,
      timeout: options.timeoutMs,
      headers: { ...options.headers, 'content-length': String(options.body.length) },
    });
    req.once('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    req.once('error', (err) =>
      reject(new PushTargetError('network', `push service unreachable: ${err.message}`)),
    );
    req.end(options.body);
  });
}
