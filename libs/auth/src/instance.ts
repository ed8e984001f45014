import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { ForbiddenError, SnowflakeGenerator, UnauthorizedError, ValidationError } from '@parley/common';
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { AppLogger } from '@parley/observability';
import { Mailer } from './mail';
import {
  type CounterKey,
  type InstanceAuditEntryRecord,
  STORAGE,
  type Storage,
  type UserRecord,
} from '@parley/storage';

/** The settings key claimed by the first account of a new instance (migration 0032 claims it on old ones). */
const FIRST_ADMIN_KEY = 'instance.first_admin';
/** How many account ids are looked at to tell a new instance from one upgraded with accounts already. */
const NEW_INSTANCE_SAMPLE = 16;

/** Instance administrators: stored on the account (the first one) or named in `instance.admins`. */
@Injectable()
export class InstanceAdmins {
  constructor(
    @Inject(STORAGE) private readonly storage: Storage,
    @Inject(PARLEY_CONFIG) private readonly config: ParleyConfig,
    private readonly mailer: Mailer,
    private readonly ids: SnowflakeGenerator,
  ) {}

  /**
   * Writes an admin action to the instance audit log, after it is done (every library that holds an admin
   * route records through here: chat's admin routes, accounts' user deletion).
   */
  async record(
    actorId: string,
    action: InstanceAuditEntryRecord['action'],
    targetType: InstanceAuditEntryRecord['targetType'],
    targetId: string,
    reason: string | null,
  ): Promise<void> {
    await this.storage.instanceAuditLog.append({
      id: this.ids.next(),
      actorId,
      action,
      targetType,
      targetId,
      reason,
      expiresAt: Date.now() + this.auditRetentionMs,
    });
  }

  /** How long the instance audit log keeps an entry (`instance.audit_log_retention_days`). */
  get auditRetentionMs(): number {
    return this.config.instance.audit_log_retention_days * 86_400_000;
  }

  /** Tells an approved account it can log in, when mail is configured (else nothing). */
  async mailApproval(user: UserRecord): Promise<void> {
    if (!this.mailer.enabled) return;
    const name = this.config.instance.name;
    const { public_url } = this.config.auth;
    const base = public_url || `http://${this.config.server.host}:${this.config.server.port}`;
    await this.mailer.send({
      to: user.email,
      subject: `Your ${name} account is approved`,
      text: [
        `Hello ${user.username},`,
        '',
        `An administrator approved your account on ${name}. You can log in now:`,
        `${base}/login`,
      ].join('\n'),
    });
  }

  isAdmin(user: UserRecord): boolean {
    if (user.admin === true) return true;
    const named = this.config.instance.admins;
    return named.includes(user.id) || named.some((entry) => entry.toLowerCase() === user.email);
  }

  /** The caller, when it administers the instance; else 403 (Discord's Missing Access). */
  async require(userId: string): Promise<UserRecord> {
    const user = await this.storage.users.findById(userId);
    if (!user) throw new UnauthorizedError();
    if (!this.isAdmin(user) || user.disabled === true)
      throw new ForbiddenError('You are not an administrator of this instance', 50001);
    return user;
  }

  /**
   * After a registration: the first account of a new instance becomes admin. The settings claim makes it one
   * account however many register at once; accounts older than this one (an instance from before admins
   * existed, on a backend whose migration could not claim) mean the instance is not new.
   */
  async afterRegistration(user: UserRecord): Promise<boolean> {
    if (!this.config.instance.first_account_admin) return false;
    if ((await this.storage.instanceSettings.get(FIRST_ADMIN_KEY)) !== null) return false;
    if ((await this.storage.instanceSettings.claim(FIRST_ADMIN_KEY, user.id)) !== user.id) return false;
    const others = (await this.storage.users.sampleIds(NEW_INSTANCE_SAMPLE)).filter((id) => id !== user.id);
    if (others.some((id) => BigInt(id) < BigInt(user.id))) return false;
    await this.storage.users.setFlags(user.id, { admin: true });
    user.admin = true;
    return true;
  }
}

/** Refuses a login (or a new session) for an account an admin disabled or has not approved yet. */
export function assertMayLogIn(user: UserRecord): void {
  if (user.disabled === true)
    throw ValidationError.field(
      'login',
      'ACCOUNT_DISABLED',
      'This account has been disabled by an administrator',
    );
  if (user.approvalPending === true)
    throw ValidationError.field(
      'login',
      'ACCOUNT_PENDING_APPROVAL',
      'This account is waiting for an administrator to approve it',
    );
}

export type CounterName = 'users' | 'guilds' | 'messages';

export interface InstanceStats {
  users: number;
  guilds: number;
  messages: number;
  messages_today: number;
}

/** The UTC day bucket of a time (`YYYY-MM-DD`). */
export const dayBucket = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** How often a process writes what it counted (sends are counted in memory, never one write each). */
const FLUSH_INTERVAL_MS = 1_000;

/**
 * The instance counters behind GET /admin/stats. Counts add up in memory and are written once a second, so a
 * message send costs no extra write; a process that dies loses at most its last second of counts.
 */
@Injectable()
export class InstanceCounters implements OnModuleDestroy {
  private pending = new Map<string, CounterKey & { delta: number }>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    @Inject(STORAGE) private readonly storage: Storage,
    private readonly logger: AppLogger,
  ) {
    this.timer = setInterval(() => void this.flush(), FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  count(name: CounterName, delta = 1, now = Date.now()): void {
    this.add({ name, bucket: 'all', delta });
    if (name === 'messages') this.add({ name, bucket: dayBucket(now), delta });
  }

  async read(now = Date.now()): Promise<InstanceStats> {
    await this.flush();
    const [users, guilds, messages, today] = await this.storage.instanceCounters.get([
      { name: 'users', bucket: 'all' },
      { name: 'guilds', bucket: 'all' },
      { name: 'messages', bucket: 'all' },
      { name: 'messages', bucket: dayBucket(now) },
    ]);
    return {
      users: Math.max(0, users),
      guilds: Math.max(0, guilds),
      messages: Math.max(0, messages),
      messages_today: Math.max(0, today),
    };
  }

  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = [...this.pending.values()];
    this.pending = new Map();
    try {
      await this.storage.instanceCounters.add(batch);
    } catch (err) {
      // Kept for the next tick (a store that is down now may be back then).
      for (const d of batch) this.add(d);
      this.logger.warn({ err: String(err) }, 'instance counters not written; retrying');
    }
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.flush().catch(() => undefined);
  }

  private add(d: CounterKey & { delta: number }): void {
    const key = `${d.name}\u0000${d.bucket}`;
    const current = this.pending.get(key);
    if (current) current.delta += d.delta;
    else this.pending.set(key, { ...d });
  }
}
