import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { createHash } from 'node:crypto';
import {
  ConflictError,
  ForbiddenError,
  RateLimitedError,
  SnowflakeGenerator,
  TtlCache,
  UnauthorizedError,
  ValidationError,
  unknown,
} from '@parley/common';
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { EVENT_BUS, type EventBus } from '@parley/bus';
import { RATE_LIMITER, type RateLimiter } from '@parley/state';
import { STORAGE, type Storage, type TokenRecord, UniqueViolation, type UserRecord } from '@parley/storage';
import { assertMayLogIn, InstanceAdmins, InstanceCounters } from './instance';
import { PasswordHasher } from './passwords';
import { toPublicUser, toSelfUser } from './serializers';
import { hashToken, mintToken } from './tokens';

export interface Session {
  token: string;
  user: ReturnType<typeof toSelfUser>;
}

/** Register's answer under `instance.registration: approval`: the account exists, no session until approved. */
export interface PendingRegistration {
  token: null;
  user: ReturnType<typeof toSelfUser>;
  pending_approval: true;
}

/** One signed-in device as its owner sees it: never the token, nor the hash the server looks it up by. */
export interface SessionInfo {
  id: string;
  created_at: string;
  expires_at: string | null;
  current: boolean;
}

/** A session's public id: derived from the token hash, so listing sessions reveals nothing usable. */
export function sessionId(tokenHash: string): string {
  return createHash('sha256').update(`session:${tokenHash}`).digest('hex').slice(0, 32);
}

interface CachedToken {
  userId: string;
  createdAt: number;
  expiresAt: number | null;
  /** Only with `auth.email_verification: required`: the owner's address is not verified yet. */
  unverified: boolean;
}

/** A verified bearer token: whose it is, and (verification required) whether the owner may act yet. */
export interface VerifiedToken {
  userId: string;
  tokenHash: string;
  unverified?: true;
}

@Injectable()
export class AuthService implements OnModuleDestroy {
  /**
   * Verified tokens by hash, so a request costs no token read. Dropped by TOKEN_REVOKED (logout, in this process
   * at once, in others over the bus within milliseconds); an entry serves a minute at most.
   */
  private readonly tokens = new TtlCache<CachedToken>(100_000, 60_000);
  private readonly unsubscribe: () => void;

  constructor(
    @Inject(STORAGE) private readonly storage: Storage,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(PARLEY_CONFIG) private readonly config: ParleyConfig,
    private readonly ids: SnowflakeGenerator,
    private readonly passwords: PasswordHasher,
    @Inject(RATE_LIMITER) private readonly limiter: RateLimiter,
    private readonly admins: InstanceAdmins,
    private readonly counters: InstanceCounters,
  ) {
    this.unsubscribe = bus.subscribeInvalidations((event) => {
      if (event.type === 'TOKEN_REVOKED')
        this.tokens.delete((event.data as { token_hash: string }).token_hash);
      // Which hashes went is not in the event: forget every cached token (they are read again on next use).
      else if (event.type === 'USER_SESSIONS_REVOKED') this.tokens.clear();
    });
  }

  onModuleDestroy(): void {
    this.unsubscribe();
  }

  async register(input: {
    username: string;
    email: string;
    password: string;
    invite?: string | null;
  }): Promise<Session | PendingRegistration> {
    await this.admits(input.invite ?? null);
    return this.createAccount({
      id: this.ids.next(),
      username: input.username,
      email: input.email,
      passwordHash: await this.passwords.hash(input.password),
      // With verification off there is nothing to confirm: the account counts as verified.
      emailVerified: this.config.auth.email_verification === 'off',
    });
  }

  /**
   * Makes the account (register, or the link of a registration that waited for its address to be proven:
   * `AccountLinks.registerByMail`) and answers its session, or that it waits for an admin's approval.
   */
  async createAccount(input: {
    id: string;
    username: string;
    email: string;
    passwordHash: string;
    emailVerified: boolean;
  }): Promise<Session | PendingRegistration> {
    const approval = this.config.instance.registration === 'approval';
    const user: UserRecord = {
      id: input.id,
      username: input.username,
      email: input.email.toLowerCase(),
      displayName: null,
      avatar: null,
      passwordHash: input.passwordHash,
      createdAt: Date.now(),
      emailVerified: input.emailVerified,
      mfaSecret: null,
      mfaBackupCodes: [],
      approvalPending: false,
    };
    // An account named in `instance.admins` is the operator's: it never waits for approval.
    user.approvalPending = approval && !this.admins.isAdmin(user);
    try {
      await this.storage.users.create(user);
    } catch (err) {
      if (err instanceof UniqueViolation) throw uniqueConflict(err);
      throw err;
    }
    this.counters.count('users');
    // The first account of a new instance administers it, and is not left waiting for an approval.
    if (await this.admins.afterRegistration(user)) {
      if (approval) await this.storage.users.setFlags(user.id, { approvalPending: false });
      user.approvalPending = false;
    }
    if (user.approvalPending) return { token: null, user: toSelfUser(user), pending_approval: true };
    return this.startSession(user);
  }

  /** `instance.registration`: whether a new account may be made, with this invite code or none. */
  async admits(invite: string | null): Promise<void> {
    const mode = this.config.instance.registration;
    if (mode === 'open' || mode === 'approval') return;
    if (mode === 'closed') throw new ForbiddenError('Registration is closed on this instance');
    if (!invite)
      throw ValidationError.field('invite', 'INVITE_REQUIRED', 'An invite is required to register here');
    const found = await this.storage.invites.find(invite);
    const live =
      found !== null &&
      (found.expiresAt === null || found.expiresAt > Date.now()) &&
      (found.maxUses === 0 || found.uses < found.maxUses);
    if (!live)
      throw ValidationError.field('invite', 'INVITE_INVALID', 'This invite is invalid or has expired');
  }

  /** A new session (token) for the user, answered with the user as its owner sees it. */
  async startSession(user: UserRecord): Promise<Session> {
    assertMayLogIn(user);
    return { token: await this.issueToken(user.id), user: toSelfUser(user) };
  }

  async login(input: { login: string; password: string }): Promise<Session> {
    return this.startSession(await this.checkPassword(input));
  }

  /** The first step of a login: the account whose password this is, with the lockout and timing of login. */
  async checkPassword(input: { login: string; password: string }): Promise<UserRecord> {
    const user = await this.storage.users.findByLogin(input.login.toLowerCase());
    // One failure count per account however it is named (email or username); unknown logins count alike,
    // so the answers do not tell which accounts exist.
    const lockKey = user ? `login:u${user.id}` : `login:l${input.login.toLowerCase()}`;
    const lockout = this.config.rate_limits.enabled ? this.config.auth.login_lockout : null;
    if (lockout) {
      const locked = await this.limiter.lockedFor(lockKey);
      if (locked > 0) throw new RateLimitedError(locked, lockout.max_failures, 'auth.login_lockout');
    }
    const ok = user
      ? await this.passwords.verify(user.passwordHash, input.password)
      : await this.passwords.verifyNothing(input.password);
    if (!user || !ok) {
      if (lockout) await this.limiter.recordFailure(lockKey, lockout);
      throw new UnauthorizedError('Invalid login or password');
    }
    if (lockout) await this.limiter.clearFailures(lockKey);
    // Only after the right password: the answer tells nobody else that the account exists.
    assertMayLogIn(user);
    return user;
  }

  async logout(tokenHash: string, userId: string): Promise<void> {
    this.tokens.delete(tokenHash);
    await this.storage.tokens.delete(tokenHash);
    this.revoked(userId, [tokenHash]);
  }

  /** Every token of the user but `exceptHash` stops working, and the gateway sessions on them close. */
  async logoutAll(userId: string, exceptHash?: string): Promise<number> {
    const hashes = await this.storage.tokens.deleteAllForUser(userId, exceptHash);
    this.revoked(userId, hashes);
    return hashes.length;
  }

  async sessions(userId: string, currentHash: string): Promise<SessionInfo[]> {
    const now = Date.now();
    return (await this.storage.tokens.listForUser(userId))
      .filter((t) => t.expiresAt === null || t.expiresAt > now)
      .map((t) => ({
        id: sessionId(t.tokenHash),
        created_at: new Date(t.createdAt).toISOString(),
        expires_at: t.expiresAt === null ? null : new Date(t.expiresAt).toISOString(),
        current: t.tokenHash === currentHash,
      }));
  }

  async revokeSession(userId: string, id: string): Promise<void> {
    const token = (await this.storage.tokens.listForUser(userId)).find((t) => sessionId(t.tokenHash) === id);
    if (!token) throw unknown('session');
    await this.logout(token.tokenHash, userId);
  }

  // One TOKEN_REVOKED per token: every process drops it from its cache and the gateways close its sessions.
  private revoked(userId: string, hashes: string[]): void {
    for (const tokenHash of hashes) {
      this.tokens.delete(tokenHash);
      this.bus.publish({
        type: 'TOKEN_REVOKED',
        scope: { kind: 'user', id: userId },
        data: { token_hash: tokenHash },
      });
    }
  }

  /** Resolves a bearer token to its user id, or null when unknown, revoked or expired; slides its expiry. */
  async verify(token: string): Promise<VerifiedToken | null> {
    if (!token || token.length > 128) return null;
    const tokenHash = hashToken(token);
    let record = this.tokens.get(tokenHash);
    if (!record) {
      const generation = this.tokens.generation;
      const stored = await this.storage.tokens.findByHash(tokenHash);
      if (!stored) return null;
      record = {
        userId: stored.userId,
        createdAt: stored.createdAt,
        expiresAt: stored.expiresAt,
        unverified: await this.unverified(stored.userId),
      };
      this.tokens.set(tokenHash, record, generation);
    } else if (record.unverified) {
      // Read again while unverified (only such accounts pay it): a verification elsewhere counts at once.
      record.unverified = await this.unverified(record.userId);
    }
    const now = Date.now();
    if (record.expiresAt !== null && record.expiresAt <= now) {
      this.tokens.delete(tokenHash);
      await this.storage.tokens.delete(tokenHash);
      return null;
    }
    const ttl = this.config.auth.token_ttl;
    // Sliding lifetime, written at most once per hundredth of it (not on every request).
    if (ttl > 0 && (record.expiresAt === null || now + ttl - record.expiresAt > ttl / 100)) {
      const extended: TokenRecord = {
        tokenHash,
        userId: record.userId,
        createdAt: record.createdAt,
        expiresAt: now + ttl,
      };
      await this.storage.tokens.extend(extended);
      record.expiresAt = extended.expiresAt;
    }
    return record.unverified
      ? { userId: record.userId, tokenHash, unverified: true }
      : { userId: record.userId, tokenHash };
  }

  /** Whether verification is required and the user has not verified (a read only in that mode). */
  private async unverified(userId: string): Promise<boolean> {
    if (this.config.auth.email_verification !== 'required') return false;
    const user = await this.storage.users.findById(userId);
    return user !== null && !user.emailVerified;
  }

  async me(userId: string): Promise<UserRecord> {
    const user = await this.storage.users.findById(userId);
    if (!user) throw new UnauthorizedError();
    return user;
  }

  async publicUser(userId: string): Promise<ReturnType<typeof toPublicUser>> {
    const user = await this.storage.users.findById(userId);
    if (!user) throw unknown('user');
    return toPublicUser(user);
  }

  async updateMe(
    userId: string,
    currentHash: string,
    patch: { username?: string; display_name?: string | null; password?: string; current_password?: string },
  ): Promise<ReturnType<typeof toSelfUser>> {
    const user = await this.me(userId);
    const change: Parameters<Storage['users']['update']>[1] = {};
    if (patch.username !== undefined && patch.username !== user.username) change.username = patch.username;
    if (patch.display_name !== undefined) change.displayName = patch.display_name;
    if (patch.password !== undefined) {
      if (
        !patch.current_password ||
        !(await this.passwords.verify(user.passwordHash, patch.current_password))
      ) {
        throw ValidationError.field(
          'current_password',
          'PASSWORD_DOES_NOT_MATCH',
          'Current password is wrong',
        );
      }
      change.passwordHash = await this.passwords.hash(patch.password);
    }
    try {
      if (Object.keys(change).length > 0) await this.storage.users.update(userId, change);
    } catch (err) {
      if (err instanceof UniqueViolation) throw uniqueConflict(err);
      throw err;
    }
    // A new password ends every other session: whoever knew the old one is out, on every device.
    if (change.passwordHash) await this.logoutAll(userId, currentHash);
    const updated = { ...user, ...change };
    const self = toSelfUser(updated);
    this.bus.publish({ type: 'USER_UPDATE', scope: { kind: 'user', id: userId }, data: self });
    return self;
  }

  /** A bot's token: no expiry until it is reset (`auth.token_ttl` slides it like any token once used). */
  async issuePermanentToken(userId: string): Promise<string> {
    const token = mintToken();
    await this.storage.tokens.create({
      tokenHash: hashToken(token),
      userId,
      createdAt: Date.now(),
      expiresAt: null,
    });
    return token;
  }

  private async issueToken(userId: string): Promise<string> {
    const token = mintToken();
    const ttl = this.config.auth.token_ttl;
    const now = Date.now();
    await this.storage.tokens.create({
      tokenHash: hashToken(token),
      userId,
      createdAt: now,
      expiresAt: ttl > 0 ? now + ttl : null,
    });
    return token;
  }
}

/** Register's 409 for a taken username or address (`UniqueViolation.field`). */
export function uniqueConflict(err: Pick<UniqueViolation, 'field'>): ConflictError {
  const what = err.field === 'email' ? 'Email is already registered' : 'Username is already taken';
  const conflict = new ConflictError(what, err.field === 'email' ? 40010 : 40009);
  conflict.errors = {
    [err.field]: [
      { code: err.field === 'email' ? 'EMAIL_ALREADY_REGISTERED' : 'USERNAME_ALREADY_TAKEN', message: what },
    ],
  };
  return conflict;
}
