import { Inject, Injectable } from '@nestjs/common';
import { randomInt } from 'node:crypto';
import type * as OpenIdClient from 'openid-client';
import {
  BadRequestError,
  ForbiddenError,
  NotFoundError,
  SnowflakeGenerator,
  UnauthorizedError,
} from '@parley/common';
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { AppLogger } from '@parley/observability';
import { STORAGE, type Storage, UniqueViolation, type UserRecord } from '@parley/storage';
import { AuthService, type Session } from './auth.service';
import { PasswordHasher } from './passwords';
import { hashToken, mintToken } from './tokens';
import { type MfaChallenge, TwoFactor } from './two-factor.service';

type Provider = ParleyConfig['auth']['oidc']['providers'][number];

/** A provider as the login screen lists it. */
export interface PublicProvider {
  id: string;
  name: string;
}

/** Where a finished callback leads: a session, the second factor, a link to confirm, or a refusal. */
export type OidcOutcome =
  | { kind: 'session'; session: Session }
  | { kind: 'mfa'; challenge: MfaChallenge }
  | { kind: 'link'; ticket: string; provider: string; email: string }
  | { kind: 'error'; code: number; message: string };

/** What a started login keeps server-side (in `account_tokens`, under the SHA-256 of its state). */
interface StartedLogin {
  p: string;
  v: string;
  n: string;
}

/** What a pending link keeps: the identity to link once the account's password is given. */
interface PendingLink {
  p: string;
  s: string;
  e: string;
  a: number;
}

/** Wrong passwords a pending link survives before the login must start again. */
const LINK_ATTEMPTS = 5;

// The client library is ESM only: loaded on first use (Node's require of ESM), so processes and test runners
// that never log in over OIDC never load it.
let library: Promise<typeof OpenIdClient> | null = null;
const openIdClient = (): Promise<typeof OpenIdClient> => (library ??= import('openid-client'));

/**
 * Single sign-on over OpenID Connect: the authorization-code flow with PKCE (S256), state and nonce, through
 * `openid-client` (a certified relying party that checks the ID token's signature, issuer, audience, expiry
 * and nonce). A started login lives server-side as a single-use row of `account_tokens` (both drivers): the
 * state in the URL is only its key, used up by the callback that presents it, so a replayed callback finds
 * nothing. An identity logs in to the account it is linked to (`user_identities`); an unknown identity whose
 * email names an existing account is linked only after that account's password is given; otherwise an account
 * is made just in time.
 */
@Injectable()
export class OidcLogin {
  private readonly discovered = new Map<string, Promise<OpenIdClient.Configuration>>();

  constructor(
    @Inject(STORAGE) private readonly storage: Storage,
    @Inject(PARLEY_CONFIG) private readonly config: ParleyConfig,
    private readonly ids: SnowflakeGenerator,
    private readonly auth: AuthService,
    private readonly mfa: TwoFactor,
    private readonly passwords: PasswordHasher,
    private readonly logger: AppLogger,
  ) {}

  providers(): { providers: PublicProvider[]; sso_only: boolean } {
    return {
      providers: this.config.auth.oidc.providers.map((p) => ({ id: p.id, name: p.name })),
      sso_only: this.config.auth.oidc.sso_only,
    };
  }

  /** The provider's authorization URL for a new login; its state, nonce and PKCE verifier are kept here. */
  async start(providerId: string): Promise<string> {
    const provider = this.provider(providerId);
    const client = await openIdClient();
    const configuration = await this.configuration(provider);
    const state = mintToken();
    const verifier = client.randomPKCECodeVerifier();
    const nonce = client.randomNonce();
    const started: StartedLogin = { p: provider.id, v: verifier, n: nonce };
    await this.storage.accountTokens.create({
      tokenHash: hashToken(state),
      kind: 'oidc_state',
      userId: '0',
      stamp: JSON.stringify(started),
      expiresAt: Date.now() + this.config.auth.oidc.state_ttl,
    });
    return client
      .buildAuthorizationUrl(configuration, {
        redirect_uri: this.redirectUri(provider),
        scope: provider.scopes.join(' '),
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      })
      .toString();
  }

  /** Finishes a login from the provider's redirect (`query`: the callback's query string). */
  async callback(providerId: string, query: string): Promise<OidcOutcome> {
    const provider = this.provider(providerId);
    const params = new URLSearchParams(query);
    const state = params.get('state') ?? '';
    // Used up here, whatever follows: a state answers one callback only.
    const found =
      state.length >= 16 && state.length <= 128
        ? await this.storage.accountTokens.consume(hashToken(state))
        : null;
    const started = found?.kind === 'oidc_state' ? (JSON.parse(found.stamp) as StartedLogin) : null;
    if (!started || started.p !== provider.id) {
      return refused(50035, 'This sign-in link is invalid, used or expired: start again');
    }
    const client = await openIdClient();
    let claims: OpenIdClient.IDToken;
    try {
      const configuration = await this.configuration(provider);
      const url = new URL(this.redirectUri(provider));
      url.search = params.toString();
      const tokens = await client.authorizationCodeGrant(configuration, url, {
        pkceCodeVerifier: started.v,
        expectedState: state,
        expectedNonce: started.n,
        idTokenExpected: true,
      });
      const idToken = tokens.claims();
      if (!idToken) return refused(50035, 'The provider sent no identity');
      claims = idToken;
    } catch (err) {
      this.logger.warn({ err, provider: provider.id }, 'OpenID Connect login refused');
      return refused(50035, 'The provider did not complete the sign-in');
    }
    return this.signIn(provider, claims);
  }

  /** Links a pending identity to its account once the account's password is given, then logs in. */
  async confirmLink(ticket: string, password: string): Promise<Session | MfaChallenge> {
    const tokenHash = hashToken(ticket);
    const found = await this.storage.accountTokens.consume(tokenHash);
    if (!found || found.kind !== 'oidc_link') throw invalidTicket();
    const pending = JSON.parse(found.stamp) as PendingLink;
    const user = await this.storage.users.findById(found.userId);
    if (!user) throw invalidTicket();
    try {
      // The login's own check: its lockout, its timing, its answer.
      await this.auth.checkPassword({ login: user.email, password });
    } catch (err) {
      if (err instanceof UnauthorizedError && pending.a + 1 < LINK_ATTEMPTS) {
        await this.storage.accountTokens.create({
          ...found,
          stamp: JSON.stringify({ ...pending, a: pending.a + 1 }),
        });
      }
      throw err;
    }
    const linked = await this.storage.identities.link({
      provider: pending.p,
      subject: pending.s,
      userId: user.id,
      email: pending.e,
      createdAt: Date.now(),
    });
    if (!linked) {
      const holder = await this.storage.identities.find(pending.p, pending.s);
      if (holder?.userId !== user.id) throw invalidTicket();
    }
    return this.sessionFor(user);
  }

  private async signIn(provider: Provider, claims: OpenIdClient.IDToken): Promise<OidcOutcome> {
    const linked = await this.storage.identities.find(provider.id, claims.sub);
    if (linked) {
      const user = await this.storage.users.findById(linked.userId);
      if (user) return this.outcome(await this.sessionFor(user));
    }
    const email = typeof claims.email === 'string' ? claims.email.toLowerCase() : '';
    if (!email) return refused(50035, `${provider.name} did not share an email address`);
    const existing = await this.storage.users.findByLogin(email);
    if (existing) return this.pendingLink(provider, claims.sub, existing);
    const mode = this.config.instance.registration;
    if (mode !== 'open') {
      return refused(
        403,
        mode === 'closed'
          ? 'Registration is closed on this instance'
          : 'An invite is required to register here: ask for an account first',
      );
    }
    const user = await this.createAccount(provider, claims, email);
    if (!user) {
      // Taken by a registration meanwhile: that account's owner links it with their password.
      const raced = await this.storage.users.findByLogin(email);
      return raced ? this.pendingLink(provider, claims.sub, raced) : refused(50035, 'Try again');
    }
    const identity = {
      provider: provider.id,
      subject: claims.sub,
      userId: user.id,
      email,
      createdAt: Date.now(),
    };
    if (!(await this.storage.identities.link(identity))) {
      // A concurrent callback of the same identity made its account first: log in to that one.
      const winner = await this.storage.identities.find(provider.id, claims.sub);
      const owner = winner && (await this.storage.users.findById(winner.userId));
      if (!owner) return refused(50035, 'Try again');
      return this.outcome(await this.sessionFor(owner));
    }
    return this.outcome(await this.auth.startSession(user));
  }

  /** A new account for an identity: its username from `preferred_username`, made unique; no usable password. */
  private async createAccount(
    provider: Provider,
    claims: OpenIdClient.IDToken,
    email: string,
  ): Promise<UserRecord | null> {
    const base = usernameFrom(claims, email);
    for (let attempt = 0; attempt < 8; attempt++) {
      const username = attempt === 0 ? base : `${base.slice(0, 27)}_${randomInt(1000, 10000)}`;
      const user: UserRecord = {
        id: this.ids.next(),
        username,
        email,
        displayName: typeof claims.name === 'string' ? claims.name.slice(0, 32) || null : null,
        avatar: null,
        // A hash of 32 random bytes nobody knows: the account logs in through its provider until a password
        // is set by a reset link.
        passwordHash: await this.passwords.hash(mintToken()),
        createdAt: Date.now(),
        emailVerified: claims.email_verified === true || this.config.auth.email_verification === 'off',
        mfaSecret: null,
        mfaBackupCodes: [],
      };
      try {
        await this.storage.users.create(user);
        this.logger.info({ user_id: user.id, provider: provider.id }, 'account made by single sign-on');
        return user;
      } catch (err) {
        if (!(err instanceof UniqueViolation)) throw err;
        if (err.field === 'email') return null;
      }
    }
    throw new BadRequestError('No free username could be found: try again');
  }

  private async pendingLink(provider: Provider, subject: string, user: UserRecord): Promise<OidcOutcome> {
    const ticket = mintToken();
    const pending: PendingLink = { p: provider.id, s: subject, e: user.email, a: 0 };
    await this.storage.accountTokens.create({
      tokenHash: hashToken(ticket),
      kind: 'oidc_link',
      userId: user.id,
      stamp: JSON.stringify(pending),
      expiresAt: Date.now() + this.config.auth.oidc.state_ttl,
    });
    return { kind: 'link', ticket, provider: provider.name, email: user.email };
  }

  private async sessionFor(user: UserRecord): Promise<Session | MfaChallenge> {
    // Two-factor authentication on: the provider vouches for the first factor only.
    return user.mfaSecret ? this.mfa.challenge(user) : this.auth.startSession(user);
  }

  private outcome(result: Session | MfaChallenge): OidcOutcome {
    return 'ticket' in result ? { kind: 'mfa', challenge: result } : { kind: 'session', session: result };
  }

  private provider(id: string): Provider {
    const provider = this.config.auth.oidc.providers.find((p) => p.id === id);
    if (!provider) throw new NotFoundError('Unknown single sign-on provider', 10000);
    return provider;
  }

  /** The provider's metadata and keys, discovered once per process (again after a failure). */
  private configuration(provider: Provider): Promise<OpenIdClient.Configuration> {
    let found = this.discovered.get(provider.id);
    if (!found) {
      found = openIdClient().then((client) => {
        const issuer = new URL(provider.issuer);
        // Plain http only to a provider on this machine (development, tests); anything else must be https.
        const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(issuer.hostname);
        return client.discovery(
          issuer,
          provider.client_id,
          provider.client_secret || undefined,
          undefined,
          loopback && issuer.protocol === 'http:' ? { execute: [client.allowInsecureRequests] } : undefined,
        );
      });
      this.discovered.set(provider.id, found);
      found.catch(() => this.discovered.delete(provider.id));
    }
    return found;
  }

  private redirectUri(provider: Provider): string {
    return `${this.publicBase()}/api/v1/auth/oidc/${provider.id}/callback`;
  }

  /** The web client's address: where the provider sends the browser back, and where it lands after. */
  publicBase(): string {
    const { public_url } = this.config.auth;
    return (public_url || `http://${this.config.server.host}:${this.config.server.port}`).replace(/\/+$/, '');
  }

  /** Refuses password login and registration when the instance is `sso_only`. */
  requirePasswordLogin(): void {
    if (this.config.auth.oidc.sso_only) {
      throw new ForbiddenError('This instance signs in through single sign-on only', 50013);
    }
  }
}

function refused(code: number, message: string): OidcOutcome {
  return { kind: 'error', code, message };
}

function invalidTicket(): BadRequestError {
  return new BadRequestError('This link request is invalid or has expired: sign in again', 60006);
}

/** A valid username (2 to 32 of a-z, 0-9, "_", ".") from the provider's preferred name or the address. */
function usernameFrom(claims: OpenIdClient.IDToken, email: string): string {
  const wanted =
    typeof claims.preferred_username === 'string' ? claims.preferred_username : email.split('@')[0];
  const cleaned = wanted
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9_.]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 32);
  return cleaned.length >= 2 ? cleaned : `user_${randomInt(100000, 1000000)}`;
}
