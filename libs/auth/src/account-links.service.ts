import { Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { SnowflakeGenerator, ValidationError } from '@parley/common';
import { EVENT_BUS, type EventBus } from '@parley/bus';
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { AppLogger } from '@parley/observability';
import { type AccountTokenKind, STORAGE, type Storage, type UserRecord } from '@parley/storage';
import { AuthService, type PendingRegistration, type Session, uniqueConflict } from './auth.service';
import { Mailer } from './mail';
import { PasswordHasher } from './passwords';
import { toSelfUser } from './serializers';
import { hashToken, mintToken } from './tokens';
import { type MfaChallenge, TwoFactor } from './two-factor.service';

/** What a used, expired, unknown or superseded link answers: the same whichever it was. */
function invalidLink(): ValidationError {
  return ValidationError.field('token', 'TOKEN_INVALID', 'This link is invalid or has expired');
}

/**
 * Register's answer while `auth.email_verification` is `required`: the same for every address, taken or not.
 * The account is made when the mailed link is used (`POST /auth/verify`).
 */
export interface MailedRegistration {
  token: null;
  user: null;
  verification_pending: true;
}

/** What a registration link carries until it is used (the stamp of its `register` token). */
interface HeldRegistration {
  username: string;
  email: string;
  password_hash: string;
}

/** A reset token's stamp: the password hash it replaces, digested (a changed password voids older links). */
function passwordStamp(passwordHash: string): string {
  return createHash('sha256').update(`reset:${passwordHash}`).digest('hex').slice(0, 32);
}

/**
 * The flows that run through a mailed single-use link: email verification and password reset. Tokens are 32
 * random bytes of which only the SHA-256 is stored, used up atomically, and tied to the state they were issued
 * for (the address, the password), so any later change voids them without a search.
 */
@Injectable()
export class AccountLinks {
  constructor(
    @Inject(STORAGE) private readonly storage: Storage,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(PARLEY_CONFIG) private readonly config: ParleyConfig,
    private readonly auth: AuthService,
    private readonly mfa: TwoFactor,
    private readonly mailer: Mailer,
    private readonly passwords: PasswordHasher,
    private readonly logger: AppLogger,
    private readonly ids: SnowflakeGenerator,
  ) {}

  /**
   * Whether registration waits for the address to be proven before making the account: with verification
   * `required` (and mail to send the link), so that register answers alike whether the address is taken.
   */
  get registersByMail(): boolean {
    return this.config.auth.email_verification === 'required' && this.mailer.enabled;
  }

  /**
   * Register with verification required (docs/accounts.md#registration-without-account-enumeration): answers the
   * same for a new address and a taken one. A new address is mailed a link that makes the account; the owner of
   * a taken one is mailed a notice with a password reset link, and no account is made. The username is checked
   * now (usernames are public), its claim made when the link is used. The mail work runs after the answer.
   */
  async registerByMail(input: {
    username: string;
    email: string;
    password: string;
    invite?: string | null;
  }): Promise<MailedRegistration> {
    await this.auth.admits(input.invite ?? null);
    if (await this.usernameTaken(input.username)) throw uniqueConflict({ field: 'username' });
    const passwordHash = await this.passwords.hash(input.password);
    const email = input.email.toLowerCase();
    const owner = await this.storage.users.findByLogin(email);
    // findByLogin also answers to a username: only an account whose address this is counts.
    const taken = owner !== null && owner.email === email ? owner : null;
    const held: HeldRegistration = { username: input.username, email, password_hash: passwordHash };
    const mailing = taken ? this.mailTakenAddress(taken, input.username) : this.mailRegistration(held);
    void mailing.catch((err: unknown) =>
      this.logger.error({ err }, taken ? 'registration notice not queued' : 'registration link not queued'),
    );
    return { token: null, user: null, verification_pending: true };
  }

  /** After registration: mails the verification link unless verification is off. */
  async registered(userId: string): Promise<void> {
    if (this.config.auth.email_verification === 'off') return;
    const user = await this.storage.users.findById(userId);
    if (user && !user.emailVerified) await this.mailVerification(user);
  }

  /** Mails a fresh verification link to the caller's address (nothing when it is already verified). */
  async resendVerification(userId: string): Promise<void> {
    if (this.config.auth.email_verification === 'off') return;
    const user = await this.auth.me(userId);
    if (!user.emailVerified) await this.mailVerification(user);
  }

  /**
   * Uses a mailed verification link: marks the address verified (the owner's clients hear USER_UPDATE) and
   * answers null, or, for a registration link, makes the account and answers its session.
   */
  async verifyEmail(token: string): Promise<Session | PendingRegistration | null> {
    const found = await this.storage.accountTokens.consume(hashToken(token));
    if (!found || (found.kind !== 'verify_email' && found.kind !== 'register')) throw invalidLink();
    if (found.kind === 'register') {
      const held = JSON.parse(found.stamp) as HeldRegistration;
      return this.auth.createAccount({
        id: found.userId,
        username: held.username,
        email: held.email,
        passwordHash: held.password_hash,
        emailVerified: true,
      });
    }
    const user = await this.storage.users.findById(found.userId);
    // A link for an address the account no longer has verifies nothing.
    if (!user || user.email !== found.stamp) throw invalidLink();
    if (user.emailVerified) return null;
    await this.storage.users.update(user.id, { emailVerified: true });
    this.userUpdated({ ...user, emailVerified: true });
    return null;
  }

  /**
   * Mails a reset link when the address (or username) names an account, and nothing otherwise. The caller
   * always gets the same answer, and the work after the lookup runs after it, so neither the answer nor its
   * timing tells whether the account exists.
   */
  async forgot(login: string): Promise<void> {
    const user = await this.storage.users.findByLogin(login.toLowerCase());
    if (!user) return;
    void this.mailReset(user).catch((err: unknown) =>
      this.logger.error({ err, user_id: user.id }, 'password reset mail not queued'),
    );
  }

  /**
   * Sets a new password from a reset link: every session ends, and the caller gets a new one, or (2FA on) the
   * ticket for the second factor: a mailbox alone does not pass it.
   */
  async reset(token: string, password: string): Promise<Session | MfaChallenge> {
    const found = await this.use(token, 'reset_password');
    const user = await this.storage.users.findById(found.userId);
    if (!user || passwordStamp(user.passwordHash) !== found.stamp) throw invalidLink();
    const passwordHash = await this.passwords.hash(password);
    // The link reached the mailbox, which proves the address as well as a verification link would.
    await this.storage.users.update(user.id, { passwordHash, emailVerified: true });
    await this.auth.logoutAll(user.id);
    const updated = { ...user, passwordHash, emailVerified: true };
    this.userUpdated(updated);
    return updated.mfaSecret ? this.mfa.challenge(updated) : this.auth.startSession(updated);
  }

  private async use(token: string, kind: AccountTokenKind) {
    const found = await this.storage.accountTokens.consume(hashToken(token));
    if (!found || found.kind !== kind) throw invalidLink();
    return found;
  }

  private async mailVerification(user: UserRecord): Promise<void> {
    const token = await this.issue(user, 'verify_email', user.email, this.config.auth.verify_token_ttl);
    await this.mailer.send({
      to: user.email,
      subject: `Verify your email address for ${this.config.instance.name}`,
      text: [
        `Hello ${user.username},`,
        '',
        `Confirm that this is your address by opening this link:`,
        this.link('verify', token),
        '',
        `The link works once and expires in ${hours(this.config.auth.verify_token_ttl)}.`,
        'If you did not create this account, ignore this mail.',
      ].join('\n'),
    });
  }

  private async usernameTaken(username: string): Promise<boolean> {
    const found = await this.storage.users.findByLogin(username.toLowerCase());
    return found !== null && found.username.toLowerCase() === username.toLowerCase();
  }

  /** The link that makes a held registration's account (a `register` token carrying what it needs). */
  private async mailRegistration(held: HeldRegistration): Promise<void> {
    const ttl = this.config.auth.verify_token_ttl;
    const token = mintToken();
    await this.storage.accountTokens.create({
      tokenHash: hashToken(token),
      kind: 'register',
      // The new account's id, minted now: the link makes exactly this account.
      userId: this.ids.next(),
      stamp: JSON.stringify(held),
      expiresAt: Date.now() + ttl,
    });
    const name = this.config.instance.name;
    await this.mailer.send({
      to: held.email,
      subject: `Verify your email address to finish creating your ${name} account`,
      text: [
        `Hello ${held.username},`,
        '',
        `Confirm that this is your address and finish creating your account by opening this link:`,
        this.link('verify', token),
        '',
        `The link works once and expires in ${hours(ttl)}.`,
        'If you did not ask for an account, ignore this mail: none is made.',
      ].join('\n'),
    });
  }

  /** Someone registered with an address that has an account: its owner hears of it, with a reset link. */
  private async mailTakenAddress(owner: UserRecord, triedUsername: string): Promise<void> {
    const name = this.config.instance.name;
    const token = await this.issue(
      owner,
      'reset_password',
      passwordStamp(owner.passwordHash),
      this.config.auth.reset_token_ttl,
    );
    await this.mailer.send({
      to: owner.email,
      subject: `Someone tried to register on ${name} with your address`,
      text: [
        `Hello ${owner.username},`,
        '',
        `Someone (hopefully you) tried to create a new account "${triedUsername}" on ${name} with this address.`,
        `It already belongs to your account "${owner.username}", so no new account was made.`,
        '',
        'If that was you and you do not remember your password, choose a new one here:',
        this.link('reset', token),
        '',
        `The link works once and expires in ${hours(this.config.auth.reset_token_ttl)}. If it was not you,`,
        'ignore this mail: nothing changes on your account.',
      ].join('\n'),
    });
  }

  private async mailReset(user: UserRecord): Promise<void> {
    const stamp = passwordStamp(user.passwordHash);
    const token = await this.issue(user, 'reset_password', stamp, this.config.auth.reset_token_ttl);
    await this.mailer.send({
      to: user.email,
      subject: `Reset your ${this.config.instance.name} password`,
      text: [
        `Hello ${user.username},`,
        '',
        'Someone (hopefully you) asked to reset your password. Choose a new one here:',
        this.link('reset', token),
        '',
        `The link works once and expires in ${hours(this.config.auth.reset_token_ttl)}. Using it signs you`,
        'out everywhere. If you did not ask for this, ignore this mail: your password stays as it is.',
      ].join('\n'),
    });
  }

  private async issue(user: UserRecord, kind: AccountTokenKind, stamp: string, ttl: number): Promise<string> {
    const token = mintToken();
    await this.storage.accountTokens.create({
      tokenHash: hashToken(token),
      kind,
      userId: user.id,
      stamp,
      expiresAt: Date.now() + ttl,
    });
    return token;
  }

  // The token rides in the fragment: browsers never send it to a server, so it stays out of access logs.
  private link(page: 'verify' | 'reset', token: string): string {
    const { public_url } = this.config.auth;
    const base = public_url || `http://${this.config.server.host}:${this.config.server.port}`;
    return `${base.replace(/\/+$/, '')}/${page}#token=${token}`;
  }

  private userUpdated(user: UserRecord): void {
    this.bus.publish({ type: 'USER_UPDATE', scope: { kind: 'user', id: user.id }, data: toSelfUser(user) });
  }
}

function hours(ms: number): string {
  const h = ms / 3_600_000;
  return h >= 1 && Number.isInteger(h)
    ? `${h} hour${h === 1 ? '' : 's'}`
    : `${Math.ceil(ms / 60_000)} minutes`;
}
