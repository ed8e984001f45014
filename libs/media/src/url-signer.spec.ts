import { MediaUrlSigner } from './url-signer';

describe('MediaUrlSigner', () => {
  let now = 1_800_000_123_456; // not on a rounding step
  const clock = () => now;
  const signer = new MediaUrlSigner('a-secret-of-enough-length-0123456789', 24 * 3_600_000, clock);
  const path = '/media/attachments/1/2/cat%20picture.png';

  const parts = (signed: string) => {
    const url = new URL(signed, 'http://x');
    return { ex: url.searchParams.get('ex') ?? undefined, hm: url.searchParams.get('hm') ?? undefined };
  };

  it('accepts its own signature until the expiry and refuses it after', () => {
    const { ex, hm } = parts(signer.sign(path));
    expect(signer.check(path, ex, hm)).toBe('valid');
    expect(signer.remainingSeconds(ex!)).toBeGreaterThanOrEqual(24 * 3600);
    now += 26 * 3_600_000;
    expect(signer.check(path, ex, hm)).toBe('expired');
    now -= 26 * 3_600_000;
  });

  it('refuses a missing, altered or foreign signature', () => {
    const { ex, hm } = parts(signer.sign(path));
    expect(signer.check(path, undefined, undefined)).toBe('missing');
    expect(signer.check('/media/attachments/1/3/cat%20picture.png', ex, hm)).toBe('invalid');
    expect(signer.check(path, (parseInt(ex!, 16) + 3600).toString(16), hm)).toBe('invalid');
    expect(signer.check(path, ex, `${hm!.slice(0, -1)}0`)).toBe('invalid');
    expect(signer.check(path, ex, ['a'])).toBe('invalid');
    const other = new MediaUrlSigner('another-secret-of-enough-length-012345', 24 * 3_600_000, clock);
    expect(other.check(path, ex, hm)).toBe('invalid');
  });

  it('gives the same URL within a rounding step, so browsers can cache it', () => {
    const first = signer.sign(path);
    now += 1000;
    expect(signer.sign(path)).toBe(first);
  });

  it('keeps labelled MACs apart', () => {
    const mac = signer.macFor('external', 'aHR0cDovL3g');
    expect(signer.verifyMacFor('external', 'aHR0cDovL3g', mac)).toBe(true);
    expect(signer.verifyMacFor('upload', 'aHR0cDovL3g', mac)).toBe(false);
    expect(signer.verifyMacFor('external', 'aHR0cDovL3k', mac)).toBe(false);
  });
});
