import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import {
  ConflictError,
  SnowflakeGenerator,
  TtlCache,
  UnauthorizedError,
  ValidationError,
  unknown,
} from '@parley/common';
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { EVENT_BUS, type EventBus } from '@parley/bus';
import { STORAGE, type Storage, UniqueViolation, type UserRecord } from '@parley/storage';
import { PasswordHasher } from './passwords';
import { toPublicUser, toSelfUser } from './serializers';
import { hashToken, mintToken } from './tokens';

export interface Session {
  token: string;
  user: ReturnType<typeof toSelfUser>;
}

const DAY_MS = 86_400_000;

@Injectable()
export class AuthService implements OnModuleDestroy {
  /**
   * Verified tokens by hash, so a request costs no token read. Dropped by TOKEN_REVOKED (logout, in this process
   * at once, in others over the bus within milliseconds); an entry serves a minute at most.
   */
  private readonly tokens = new TtlCache<{ userId: string; expiresAt: number | null }>(100_000, 60_000);
  private readonly unsubscribe: () => void;

  constructor(
    @Inject(STORAGE) private readonly storage: Storage,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(PARLEY_CONFIG) private readonly config: ParleyConfig,
    private readonly ids: SnowflakeGenerator,
    private readonly passwords: PasswordHasher,
  ) {
    this.unsubscribe = bus.subscribeAll((event) => {
      if (event.type === 'TOKEN_REVOKED')
        this.tokens.delete((event.data as { token_hash: string }).token_hash);
      // Which hashes went is not in the event: forget every cached token (they are read again on next use).
      else if (event.type === 'USER_SESSIONS_REVOKED') this.tokens.clear();
    });
  }

  onModuleDestroy(): void {
    this.unsubscribe();
  }

  async register(input: { username: string; email: string; password: string }): Promise<Session> {
    const user: UserRecord = {
      id: this.ids.next(),
      username: input.username,
      email: input.email.toLowerCase(),
      displayName: null,
      avatar: null,
      passwordHash: await this.passwords.hash(input.password),
      createdAt: Date.now(),
    };
    try {
      await this.storage.users.create(user);
    } catch (err) {
      if (err instanceof UniqueViolation) throw uniqueConflict(err);
      throw err;
    }
    return { token: await this.issueToken(user.id), user: toSelfUser(user) };
  }

  async login(input: { login: string; password: string }): Promise<Session> {
    const user = await this.storage.users.findByLogin(input.login.toLowerCase());
    const ok = user
      ? await this.passwords.verify(user.passwordHash, input.password)
      : await this.passwords.verifyNothing(input.password);
    if (!user || !ok) throw new UnauthorizedError('Invalid login or password');
    return { token: await this.issueToken(user.id), user: toSelfUser(user) };
  }

  async logout(tokenHash: string, userId: string): Promise<void> {
    this.tokens.delete(tokenHash);
    await this.storage.tokens.delete(tokenHash);
    this.bus.publish({
      type: 'TOKEN_REVOKED',
      scope: { kind: 'user', id: userId },
      data: { token_hash: tokenHash },
    });
  }

  /** Resolves a bearer token to its user id, or null when unknown, revoked or expired. */
  async verify(token: string): Promise<{ userId: string; tokenHash: string } | null> {
    if (!token || token.length > 128) return null;
    const tokenHash = hashToken(token);
    let record = this.tokens.get(tokenHash);
    if (!record) {
      const generation = this.tokens.generation;
      record = (await this.storage.tokens.findByHash(tokenHash)) ?? undefined;
      if (!record) return null;
      this.tokens.set(tokenHash, { userId: record.userId, expiresAt: record.expiresAt }, generation);
    }
    if (record.expiresAt !== null && record.expiresAt <= Date.now()) {
      this.tokens.delete(tokenHash);
      await this.storage.tokens.delete(tokenHash);
      return null;
    }
    return { userId: record.userId, tokenHash };
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
    const updated = { ...user, ...change };
    const self = toSelfUser(updated);
    this.bus.publish({ type: 'USER_UPDATE', scope: { kind: 'user', id: userId }, data: self });
    return self;
  }

  private async issueToken(userId: string): Promise<string> {
    const token = mintToken();
    const ttlDays = this.config.auth.token_ttl_days;
    const now = Date.now();
    await this.storage.tokens.create({
      tokenHash: hashToken(token),
      userId,
      createdAt: now,
      expiresAt: ttlDays > 0 ? now + ttlDays * DAY_MS : null,
    });
    return token;
  }
}

function uniqueConflict(err: UniqueViolation): ConflictError {
  const what = err.field === 'email' ? 'Email is already registered' : 'Username is already taken';
  const conflict = new ConflictError(what, err.field === 'email' ? 40010 : 40009);
  conflict.errors = {
    [err.field]: [
      { code: err.field === 'email' ? 'EMAIL_ALREADY_REGISTERED' : 'USERNAME_ALREADY_TAKEN', message: what },
    ],
  };
  return conflict;
}
