import { Inject, Injectable } from '@nestjs/common';
import { createHash, randomInt } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import { BadRequestError, ConflictError, RateLimitedError, ValidationError } from '@parley/common';
import { EVENT_BUS, type EventBus } from '@parley/bus';
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { RATE_LIMITER, type RateLimiter } from '@parley/state';
import { STORAGE, type Storage, type UserRecord } from '@parley/storage';
import { AuthService, type Session } from './auth.service';
import { PasswordHasher } from './passwords';
import { toSelfUser } from './serializers';
import { hashToken, mintToken } from './tokens';

/** Discord's answer to a password that was right for an account with 2FA: finish with the ticket and a code. */
export interface MfaChallenge {
  token: null;
  mfa: true;
  sms: false;
  totp: true;
  backup: boolean;
  ticket: string;
}

/** A backup code as Discord lists them after enabling. */
export interface BackupCode {
  user_id: string;
  code: string;
  consumed: boolean;
}

// A ticket is good for a few minutes and a few wrong codes; then the password is asked again.
const TICKET_TTL_MS = 5 * 60_000;
const TICKET_ATTEMPTS = 5;
const BACKUP_CODES = 10;
const BACKUP_ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789'; // no 0/o, 1/l: read off paper
// A TOTP code is good for its 30 s step and one either side (clock drift), and once only.
const TOTP_WINDOW = 1;
const TOTP_PERIOD_MS = 30_000;

const invalidCode = () => new BadRequestError('Invalid two-factor code', 60008);
const invalidTicket = () => new BadRequestError('Invalid two-factor auth ticket', 60006);

function totpFor(secret: string): TOTP {
  return new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 });
}

/** What ties a ticket to the account's 2FA and password: a change to either voids it. */
function ticketStamp(user: UserRecord, attempt: number): string {
  const digest = createHash('sha256')
    .update(`ticket:${user.mfaSecret ?? ''}:${user.passwordHash}`)
    .digest('hex')
    .slice(0, 32);
  return `${digest}:${attempt}`;
}

function backupHash(userId: string, code: string): string {
  return createHash('sha256').update(`backup:${userId}:${code}`).digest('hex');
}

/** Backup codes are typed by hand: case, spaces and dashes do not matter. */
function normaliseBackup(code: string): string {
  return code.toLowerCase().replace(/[\s-]/g, '');
}

/**
 * TOTP two-factor authentication (RFC 6238 through the `otpauth` library): enabling with a code from the
 * authenticator, backup codes stored as hashes and used up once, the login ticket step, and disabling. Wrong
 * codes count towards the account's lockout (`auth.login_lockout`), like wrong passwords.
 */
@Injectable()
export class TwoFactor {
  constructor(
    @Inject(STORAGE) private readonly storage: Storage,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(PARLEY_CONFIG) private readonly config: ParleyConfig,
    @Inject(RATE_LIMITER) private readonly limiter: RateLimiter,
    private readonly auth: AuthService,
    private readonly passwords: PasswordHasher,
  ) {}

  /**
   * Turns 2FA on with the secret the client generated and showed as a QR code, proven by a current code and
   * the password. Every other session ends. Answers the backup codes, shown once.
   */
  async enable(
    userId: string,
    currentHash: string,
    input: { secret: string; code: string; password: string },
  ): Promise<{ backup_codes: BackupCode[] }> {
    const user = await this.auth.me(userId);
    if (user.mfaSecret) throw new ConflictError('Two-factor authentication is already enabled', 60001);
    if (!(await this.passwords.verify(user.passwordHash, input.password)))
      throw ValidationError.field('password', 'PASSWORD_DOES_NOT_MATCH', 'Password does not match');
    const secret = input.secret.toUpperCase().replace(/[\s=]/g, '');
    if (!(await this.totpMatches(user.id, secret, input.code))) throw invalidCode();
    const codes = Array.from({ length: BACKUP_CODES }, () =>
      Array.from({ length: 8 }, () => BACKUP_ALPHABET[randomInt(BACKUP_ALPHABET.length)]).join(''),
    );
    const stored = codes.map((code) => backupHash(user.id, code));
    if (!(await this.storage.users.setMfa(user.id, null, secret, stored)))
      throw new ConflictError('Two-factor authentication is already enabled', 60001);
    // Whoever else was signed in did not pass the second factor.
    await this.auth.logoutAll(user.id, currentHash);
    this.updated({ ...user, mfaSecret: secret, mfaBackupCodes: stored });
    return { backup_codes: codes.map((code) => ({ user_id: user.id, code, consumed: false })) };
  }

  /** Turns 2FA off, proven by a current code or a backup code. */
  async disable(userId: string, code: string): Promise<void> {
    const user = await this.auth.me(userId);
    if (!user.mfaSecret) return;
    await this.prove(user, code);
    if (!(await this.storage.users.setMfa(user.id, user.mfaSecret, null, []))) throw invalidCode();
    this.updated({ ...user, mfaSecret: null, mfaBackupCodes: [] });
  }

  /** The login's second step: a single-use ticket, answered instead of a token. */
  async challenge(user: UserRecord, attempt = 0): Promise<MfaChallenge> {
    const ticket = mintToken();
    await this.storage.accountTokens.create({
      tokenHash: hashToken(ticket),
      kind: 'mfa_ticket',
      userId: user.id,
      stamp: ticketStamp(user, attempt),
      expiresAt: Date.now() + TICKET_TTL_MS,
    });
    return { token: null, mfa: true, sms: false, totp: true, backup: user.mfaBackupCodes.length > 0, ticket };
  }

  /**
   * Finishes a login with its ticket and a code. After a wrong code the same ticket stays usable (issued again
   * under its hash, one attempt further) until TICKET_ATTEMPTS wrong codes; then the password is asked again.
   */
  async finish(ticket: string, code: string): Promise<Session> {
    const tokenHash = hashToken(ticket);
    const found = await this.storage.accountTokens.consume(tokenHash);
    if (!found || found.kind !== 'mfa_ticket') throw invalidTicket();
    const user = await this.storage.users.findById(found.userId);
    const attempt = Number(found.stamp.split(':')[1] ?? TICKET_ATTEMPTS);
    if (!user?.mfaSecret || ticketStamp(user, attempt) !== found.stamp) throw invalidTicket();
    try {
      await this.prove(user, code);
    } catch (err) {
      // The ticket (used up by the read) comes back for another try, with one attempt fewer.
      if (attempt + 1 < TICKET_ATTEMPTS)
        await this.storage.accountTokens.create({ ...found, stamp: ticketStamp(user, attempt + 1) });
      throw err;
    }
    return this.auth.startSession(user);
  }

  /** A current TOTP code or an unused backup code; wrong ones count towards the account's lockout. */
  async prove(user: UserRecord, code: string): Promise<void> {
    const lockKey = `mfa:u${user.id}`;
    const lockout = this.config.rate_limits.enabled ? this.config.auth.login_lockout : null;
    if (lockout) {
      const locked = await this.limiter.lockedFor(lockKey);
      if (locked > 0) throw new RateLimitedError(locked, lockout.max_failures, 'auth.mfa_lockout');
    }
    const ok = /^\d{6}$/.test(code)
      ? await this.totpMatches(user.id, user.mfaSecret ?? '', code)
      : await this.useBackupCode(user, code);
    if (!ok) {
      if (lockout) await this.limiter.recordFailure(lockKey, lockout);
      throw invalidCode();
    }
    if (lockout) await this.limiter.clearFailures(lockKey);
  }

  /** Whether `code` is the secret's code now (± one step), and not used before by this account. */
  private async totpMatches(userId: string, secret: string, code: string): Promise<boolean> {
    if (!/^\d{6}$/.test(code)) return false;
    const totp = totpFor(secret);
    const delta = totp.validate({ token: code, window: TOTP_WINDOW });
    if (delta === null) return false;
    // Replay: each step's code counts once per account, in the shared store (Redis across processes).
    const step = totp.counter() + delta;
    const first = await this.limiter.consume(`totp-used:${userId}:${step}`, {
      limit: 1,
      window_ms: (2 * TOTP_WINDOW + 1) * TOTP_PERIOD_MS,
    });
    return first.allowed;
  }

  private async useBackupCode(user: UserRecord, code: string): Promise<boolean> {
    const hash = backupHash(user.id, normaliseBackup(code));
    if (!user.mfaBackupCodes.includes(hash)) return false;
    const left = user.mfaBackupCodes.filter((h) => h !== hash);
    return this.storage.users.replaceBackupCodes(user.id, user.mfaBackupCodes, left);
  }

  private updated(user: UserRecord): void {
    this.bus.publish({ type: 'USER_UPDATE', scope: { kind: 'user', id: user.id }, data: toSelfUser(user) });
  }
}
