import { lookup as dnsLookup } from 'node:dns/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';

/** Why an outbound fetch was refused or failed; the media proxy maps each to a status. */
export class ExternalFetchError extends Error {
  constructor(
    readonly reason:
      'forbidden_destination' | 'bad_url' | 'too_large' | 'timeout' | 'upstream' | 'too_many_redirects',
    message: string,
  ) {
    super(message);
    this.name = 'ExternalFetchError';
  }
}

// [first address, prefix length] per range; IPv4 ranges apply to mapped and embedded forms too.
const FORBIDDEN_V4: [string, number][] = [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local (cloud metadata lives here)
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and the broadcast address
];

const FORBIDDEN_V6: [string, number][] = [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard
  ['2001::', 23], // IETF protocol assignments, Teredo (embeds an arbitrary IPv4 address)
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
];

function v4ToInt(address: string): number {
  return address.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}

function v4FromInt(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** The 128-bit value of an IPv6 address (with an embedded dotted quad or not). */
function v6ToBigInt(address: string): bigint {
  let text = address.toLowerCase();
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v = v4ToInt(dotted[1]);
    text = `${text.slice(0, dotted.index)}${Math.floor(v / 65536).toString(16)}:${(v % 65536).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const headParts = head ? head.split(':') : [];
  const tailParts = tail ? tail.split(':') : [];
  const missing = 8 - headParts.length - tailParts.length;
  const groups = [...headParts, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...tailParts];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g || '0', 16)), 0n);
}

function inV4(value: number, [base, bits]: [string, number]): boolean {
  const size = 2 ** (32 - bits);
  return Math.floor(value / size) === Math.floor(v4ToInt(base) / size);
}

function inV6(value: bigint, [base, bits]: [string, number]): boolean {
  const shift = BigInt(128 - bits);
  return value >> shift === v6ToBigInt(base) >> shift;
}

/**
 * True for every address an external fetch must never reach: private, loopback, link-local,
 * multicast, reserved and documentation ranges, in IPv4 and IPv6, including IPv4 addresses carried
 * inside IPv6 (mapped ::ffff:a.b.c.d, compatible ::a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16).
 * Anything that does not parse as an address is forbidden too.
 */
export function isForbiddenAddress(address: string): boolean {
  const family = isIP(address.includes('%') ? address.slice(0, address.indexOf('%')) : address);
  if (family === 4) {
    const value = v4ToInt(address);
    return FORBIDDEN_V4.some((range) => inV4(value, range));
  }
  if (family !== 6) return true;
  const value = v6ToBigInt(address);
  const embedded = embeddedV4(value);
  if (embedded !== null) return isForbiddenAddress(embedded);
  return FORBIDDEN_V6.some((range) => inV6(value, range));
}

function embeddedV4(value: bigint): string | null {
  const low32 = Number(value & 0xffffffffn);
  if (value >> 32n === 0xffffn) return v4FromInt(low32); // ::ffff:a.b.c.d (mapped)
  if (value >> 32n === 0n && value > 1n) return v4FromInt(low32); // ::a.b.c.d (compatible)
  if (value >> 32n === 0xffff0000n) return v4FromInt(low32); // ::ffff:0:a.b.c.d (SIIT)
  if (value >> 32n === v6ToBigInt('64:ff9b::') >> 32n) return v4FromInt(low32); // NAT64
  if (value >> 112n === 0x2002n) return v4FromInt(Number((value >> 80n) & 0xffffffffn)); // 6to4
  return null;
}

export interface ResolvedAddress {
  address: string;
  family: number;
}
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export interface SafeFetchOptions {
  maxBytes: number;
  timeoutMs: number;
  maxRedirects: number;
  userAgent?: string;
  /** Name resolution; the system resolver by default. Tests inject one so nothing leaves the machine. */
  resolve?: Resolver;
  /**
   * Test seam only: addresses let through although forbidden (a loopback test server). Production
   * code never passes it.
   */
  allowAddress?: (address: string) => boolean;
  /**
   * Hosts (the URL's hostname, lower case, IPv6 without brackets) an operator lets through although they resolve
   * to a forbidden address (`unfurl.allow_private_hosts`: an intranet wiki). Checked on every hop, so a redirect
   * from an allowed host to another private one is still refused.
   */
  allowHost?: (host: string) => boolean;
  /** The Accept header; images by default (the media proxy). */
  accept?: string;
  /** Time allowed to establish each connection (the whole fetch still ends at `timeoutMs`). */
  connectTimeoutMs?: number;
  /** A body past `maxBytes` is cut there and returned (a page's head), instead of refused. */
  truncate?: boolean;
  /** The HTTP client; tests may spy on it to prove a refused fetch never connects. */
  request?: typeof http.request;
}

export interface FetchedImage {
  contentType: string | null;
  body: Buffer;
  url: string;
  /** The body was cut at `maxBytes` (only with `truncate`). */
  truncated?: boolean;
}

const systemResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/**
 * Fetches a public URL for the external-image proxy. The destination is checked after name
 * resolution, every resolved address must be public, and the connection goes to the checked address
 * (no second lookup a DNS rebinding could answer differently). Redirects are followed by hand, each
 * hop checked the same way. Bodies past `maxBytes` and fetches past `timeoutMs` are cut off.
 */
export class SafeFetcher {
  private readonly resolve: Resolver;

  constructor(private readonly options: SafeFetchOptions) {
    this.resolve = options.resolve ?? systemResolver;
  }

  async fetch(rawUrl: string): Promise<FetchedImage> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.options.timeoutMs);
    timer.unref();
    try {
      let url = parseTarget(rawUrl);
      for (let hop = 0; ; hop++) {
        const address = await this.check(url, controller.signal);
        const response = await this.get(url, address, controller.signal);
        const status = response.statusCode ?? 0;
        if (status >= 300 && status < 400 && response.headers.location) {
          response.resume();
          if (hop >= this.options.maxRedirects)
            throw new ExternalFetchError('too_many_redirects', 'too many redirects');
          url = parseTarget(new URL(response.headers.location, url).toString());
          continue;
        }
        if (status !== 200) {
          response.resume();
          throw new ExternalFetchError('upstream', `upstream answered ${status}`);
        }
        const { body, truncated } = await this.readBody(response, controller.signal);
        return {
          contentType: response.headers['content-type'] ?? null,
          body,
          url: url.toString(),
          truncated,
        };
      }
    } catch (err) {
      if (controller.signal.aborted && !(err instanceof ExternalFetchError && err.reason !== 'upstream'))
        throw new ExternalFetchError('timeout', 'the fetch took too long');
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves the host and returns the one address to connect to, or refuses. */
  private async check(url: URL, signal: AbortSignal): Promise<ResolvedAddress> {
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const family = isIP(host);
    const addresses = family !== 0 ? [{ address: host, family }] : await this.resolve(host);
    if (signal.aborted) throw new ExternalFetchError('timeout', 'the fetch took too long');
    if (addresses.length === 0) throw new ExternalFetchError('bad_url', `${host} does not resolve`);
    const allowed = this.options.allowAddress ?? (() => false);
    const hostAllowed = this.options.allowHost?.(host.toLowerCase()) ?? false;
    // Every address must pass: a name that also resolves to a private address is refused as a whole.
    for (const { address } of addresses) {
      if (isForbiddenAddress(address) && !allowed(address) && !hostAllowed)
        throw new ExternalFetchError('forbidden_destination', `${host} resolves to a forbidden address`);
    }
    return addresses[0];
  }

  private get(url: URL, target: ResolvedAddress, signal: AbortSignal): Promise<http.IncomingMessage> {
    const pinned: LookupFunction = (_hostname, options, callback) => {
      if (options.all) callback(null, [{ address: target.address, family: target.family }]);
      else callback(null, target.address, target.family);
    };
    const request = this.options.request ?? (url.protocol === 'https:' ? https.request : http.request);
    return new Promise((resolve, reject) => {
      const req = request(url, {
        method: 'GET',
        lookup: pinned,
        signal,
        headers: {
          'user-agent': this.options.userAgent ?? 'ParleyMediaProxy/1.0',
          accept: this.options.accept ?? 'image/*',
        },
      });
      const connectMs = this.options.connectTimeoutMs;
      if (connectMs !== undefined)
        req.once('socket', (socket) => {
          if (!socket.connecting) return;
          const timer = setTimeout(
            () => req.destroy(new ExternalFetchError('timeout', 'the connection took too long')),
            connectMs,
          );
          timer.unref();
          socket.once('connect', () => clearTimeout(timer));
          socket.once('close', () => clearTimeout(timer));
        });
      req.once('response', resolve);
      req.once('error', (err) =>
        reject(
          signal.aborted || err instanceof ExternalFetchError
            ? err
            : new ExternalFetchError('upstream', `fetch failed: ${err.message}`),
        ),
      );
      req.end();
    });
  }

  private async readBody(
    response: http.IncomingMessage,
    signal: AbortSignal,
  ): Promise<{ body: Buffer; truncated: boolean }> {
    const { maxBytes, truncate = false } = this.options;
    const declared = Number(response.headers['content-length'] ?? NaN);
    if (declared > maxBytes && !truncate) {
      response.destroy();
      throw new ExternalFetchError('too_large', 'the image is too large');
    }
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of response as AsyncIterable<Buffer>) {
      if (signal.aborted) break;
      if (total + chunk.length > maxBytes) {
        response.destroy();
        if (!truncate) throw new ExternalFetchError('too_large', 'the image is too large');
        chunks.push(chunk.subarray(0, maxBytes - total));
        return { body: Buffer.concat(chunks), truncated: true };
      }
      total += chunk.length;
      chunks.push(chunk);
    }
    if (signal.aborted) throw new ExternalFetchError('timeout', 'the fetch took too long');
    return { body: Buffer.concat(chunks), truncated: false };
  }
}

function parseTarget(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ExternalFetchError('bad_url', 'not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ExternalFetchError('bad_url', 'only http and https URLs are fetched');
  if (url.username || url.password)
    throw new ExternalFetchError('bad_url', 'URLs with credentials are refused');
  return url;
}
