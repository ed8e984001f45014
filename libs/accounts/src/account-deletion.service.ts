import { Inject, Injectable } from '@nestjs/common';
import {
  AuthService,
  InstanceAdmins,
  InstanceCounters,
  PasswordHasher,
  TwoFactor,
  mintToken,
  toSelfUser,
} from '@parley/auth';
import { EVENT_BUS, JOB_QUEUE, type EventBus, type JobQueue } from '@parley/bus';
import { MemberService } from '@parley/chat';
import { BadRequestError, ValidationError, isSnowflake, unknown } from '@parley/common';
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { fileKeys } from '@parley/media';
import { AppLogger } from '@parley/observability';
import { DataExports } from './data-export.service';
import { STORAGE, type Storage, deletedUserFields, isDeletedUser } from '@parley/storage';

export type AccountDeletionMode = ParleyConfig['instance']['account_deletion'];

/**
 * Deletes accounts: the owner's `DELETE /users/@me`, and (the same method) an instance admin's deletion.
 * Nothing personal is left: sessions end (their gateway connections close), memberships, notification
 * settings, two-factor secrets, single sign-on identities and the avatar file go, and the user row keeps only
 * its id under "Deleted User" (its username and address are free again). Messages stay under that name, or go
 * too with `instance.account_deletion: delete` (a durable job walks them through the search index).
 */
@Injectable()
export class AccountDeletion {
  constructor(
    @Inject(STORAGE) private readonly storage: Storage,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(JOB_QUEUE) private readonly jobs: JobQueue,
    @Inject(PARLEY_CONFIG) private readonly config: ParleyConfig,
    private readonly auth: AuthService,
    private readonly members: MemberService,
    private readonly passwords: PasswordHasher,
    private readonly mfa: TwoFactor,
    private readonly logger: AppLogger,
    private readonly exports: DataExports,
    private readonly admins: InstanceAdmins,
    private readonly counters: InstanceCounters,
  ) {}

  /**
   * An instance admin's `DELETE /admin/users/:id`: the same deletion as the owner's, then written to the
   * instance audit log. Not the admin's own account (that is `DELETE /users/@me`, with its password).
   */
  async deleteByAdmin(actorId: string, userId: string, reason: string | null): Promise<void> {
    await this.admins.require(actorId);
    const target = isSnowflake(userId) ? await this.storage.users.findById(userId) : null;
    if (!target || isDeletedUser(target)) throw unknown('user');
    if (target.id === actorId) throw new BadRequestError('You cannot delete your own account here');
    await this.deleteAccount(target.id);
    await this.admins.record(actorId, 'user.delete', 'user', target.id, reason);
  }

  /** The owner's own deletion: the password, and with two-factor authentication on a code, prove it is them. */
  async deleteOwn(userId: string, password: string, code?: string | null): Promise<void> {
    const user = await this.auth.me(userId);
    if (!(await this.passwords.verify(user.passwordHash, password))) {
      throw ValidationError.field('password', 'PASSWORD_DOES_NOT_MATCH', 'Password does not match');
    }
    if (user.mfaSecret) {
      // Discord's "Two factor is required for this operation".
      if (!code) throw new BadRequestError('Two factor is required for this operation', 60003);
      await this.mfa.prove(user, code);
    }
    await this.deleteAccount(userId);
  }

  /**
   * Deletes the account (for its owner and for instance admins). Refused (400, Discord's 40011) while the user
   * owns a guild: its ownership must move first, or the guild be deleted. Deleting a deleted account does nothing.
   */
  async deleteAccount(
    userId: string,
    mode: AccountDeletionMode = this.config.instance.account_deletion,
  ): Promise<void> {
    const user = await this.storage.users.findById(userId);
    if (!user || isDeletedUser(user)) return;
    const guildIds = await this.storage.members.listGuildIds(userId);
    const guilds = await this.storage.guilds.findByIds(guildIds);
    if (guilds.some((g) => g.ownerId === userId)) {
      throw new BadRequestError(
        'You must transfer ownership of any owned guilds before deleting your account',
        40011,
      );
    }
    // Every message the account wrote, wherever (the job finds them through the author index).
    if (mode === 'delete') await this.jobs.enqueue('account.delete_messages', { user_id: userId });
    await this.auth.logoutAll(userId);
    for (const guildId of guildIds) await this.members.remove(guildId, userId);
    for (const settings of await this.storage.guildSettings.list(userId)) {
      await this.storage.guildSettings.delete(userId, settings.guildId);
    }
    await this.storage.identities.deleteForUser(userId);
    await this.exports.forget(userId);
    if (user.mfaSecret) await this.storage.users.setMfa(userId, user.mfaSecret, null, []);
    if (user.avatar) {
      await this.jobs.enqueue('media.delete_files', { keys: [fileKeys.avatar(userId, user.avatar)] });
    }
    const gone = deletedUserFields(userId);
    await this.storage.users.update(userId, {
      ...gone,
      // A hash of nothing anyone knows: no password logs in again.
      passwordHash: await this.passwords.hash(mintToken()),
      emailVerified: false,
    });
    // Sessions made while this ran (a login racing the deletion) end too.
    await this.auth.logoutAll(userId);
    const self = toSelfUser({ ...user, ...gone, mfaSecret: null, mfaBackupCodes: [], emailVerified: false });
    this.bus.publish({ type: 'USER_UPDATE', scope: { kind: 'user', id: userId }, data: self });
    // A session whose token was being issued as the tokens went is caught here (every gateway node).
    this.bus.publish({
      type: 'USER_SESSIONS_REVOKED',
      scope: { kind: 'user', id: userId },
      data: { user_id: userId },
    });
    this.counters.count('users', -1);
    this.logger.info({ user_id: userId, mode }, 'account deleted');
  }
}
