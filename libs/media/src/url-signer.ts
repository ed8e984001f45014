import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export type SignatureCheck = 'valid' | 'missing' | 'expired' | 'invalid';

/**
 * Signed, expiring media URLs: `<path>?ex=<expiry, hex unix seconds>&hm=<hex HMAC-SHA256>`, as
 * Discord's CDN does. The HMAC covers the path and the expiry only, so a client may add size and
 * format parameters to a signed URL. Expiries are rounded up to a whole step (at most an hour) so
 * the same file keeps the same URL for a while and browsers can cache it.
 */
export class MediaUrlSigner {
  private readonly key: Buffer;

  constructor(
    secret: string,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {
    // An empty secret means one random key for this process: fine for a monolith, whose URLs then
    // stop working at a restart (clients fetch messages again and get fresh ones).
    this.key = secret.length > 0 ? Buffer.from(secret, 'utf8') : randomBytes(32);
  }

  sign(path: string): string {
    const step = Math.min(this.ttlMs, 3_600_000);
    const expiresMs = Math.ceil((this.now() + this.ttlMs) / step) * step;
    const ex = Math.ceil(expiresMs / 1000).toString(16);
    const separator = path.includes('?') ? '&' : '?';
    return `${path}${separator}ex=${ex}&hm=${this.mac(`${path}\n${ex}`)}`;
  }

  check(path: string, ex: unknown, hm: unknown): SignatureCheck {
    if (ex === undefined && hm === undefined) return 'missing';
    if (typeof ex !== 'string' || typeof hm !== 'string' || !/^[0-9a-f]{1,12}$/.test(ex)) return 'invalid';
    if (!this.equal(hm, this.mac(`${path}\n${ex}`))) return 'invalid';
    return parseInt(ex, 16) * 1000 <= this.now() ? 'expired' : 'valid';
  }

  /** Seconds until a valid signature's expiry (for Cache-Control). */
  remainingSeconds(ex: string): number {
    return Math.max(0, Math.floor((parseInt(ex, 16) * 1000 - this.now()) / 1000));
  }

  /** The path at which the media proxy serves an external image (embed pictures): non-expiring, MAC'd. */
  externalImagePath(url: string): string {
    const encoded = Buffer.from(url, 'utf8').toString('base64url');
    return `/media/external/${encoded}?hm=${this.macFor('external', encoded)}`;
  }

  /** A non-expiring MAC for another purpose (external image URLs), kept apart by its label. */
  macFor(label: string, value: string): string {
    return this.mac(`${label}\n${value}`);
  }

  verifyMacFor(label: string, value: string, mac: unknown): boolean {
    return typeof mac === 'string' && this.equal(mac, this.mac(`${label}\n${value}`));
  }

  private mac(data: string): string {
    return createHmac('sha256', this.key).update(data).digest('hex');
  }

  private equal(given: string, expected: string): boolean {
    const a = Buffer.from(given, 'utf8');
    const b = Buffer.from(expected, 'utf8');
    return a.length === b.length && timingSafeEqual(a, b);
  }
}
