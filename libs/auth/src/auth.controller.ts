import { Controller, Delete, Get, HttpCode, Param, Patch, Post, UseGuards } from '@nestjs/common';
import { isSnowflake, type PublicUser, type SelfUser, unknown } from '@parley/common';
import { type AuthContext, RateLimit, RateLimitGuard, ValidBody } from '@parley/http';
import type { z } from 'zod';
import { AccountLinks, type MailedRegistration } from './account-links.service';
import { OidcLogin } from './oidc.service';
import { type MfaChallenge, TwoFactor } from './two-factor.service';
import { AllowUnverified, AuthGuard, Caller, Public } from './auth.guard';
import { AuthService, type PendingRegistration, type Session, type SessionInfo } from './auth.service';
import { loginBody, patchMeBody, registerBody } from './schemas';
import { toSelfUser } from './serializers';

@Controller('api/v1/auth')
@UseGuards(AuthGuard, RateLimitGuard)
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly links: AccountLinks,
    private readonly mfa: TwoFactor,
    private readonly oidc: OidcLogin,
  ) {}

  @Post('register')
  @Public()
  @RateLimit('auth.register')
  @HttpCode(201)
  async register(
    @ValidBody(registerBody) body: z.infer<typeof registerBody>,
  ): Promise<Session | PendingRegistration | MailedRegistration> {
    this.oidc.requirePasswordLogin();
    // With verification required, the same answer whether or not the address has an account.
    if (this.links.registersByMail) return this.links.registerByMail(body);
    const session = await this.auth.register(body);
    await this.links.registered(session.user.id);
    return session;
  }

  @Post('login')
  @Public()
  @RateLimit('auth.login')
  @HttpCode(200)
  async login(@ValidBody(loginBody) body: z.infer<typeof loginBody>): Promise<Session | MfaChallenge> {
    this.oidc.requirePasswordLogin();
    const user = await this.auth.checkPassword(body);
    // With 2FA on, the right password earns a ticket, not a token (Discord's shape).
    return user.mfaSecret ? this.mfa.challenge(user) : this.auth.startSession(user);
  }

  @Post('logout')
  @AllowUnverified()
  @HttpCode(204)
  async logout(@Caller() caller: AuthContext): Promise<void> {
    await this.auth.logout(caller.tokenHash, caller.userId);
  }

  /** Log out everywhere: every token of the caller, this one included. */
  @Post('logout-all')
  @AllowUnverified()
  @HttpCode(204)
  async logoutAll(@Caller() caller: AuthContext): Promise<void> {
    await this.auth.logoutAll(caller.userId);
  }
}

@Controller('api/v1/users')
@UseGuards(AuthGuard, RateLimitGuard)
export class UsersController {
  constructor(private readonly auth: AuthService) {}

  @Get('@me')
  @AllowUnverified()
  async me(@Caller() caller: AuthContext): Promise<SelfUser> {
    return toSelfUser(await this.auth.me(caller.userId));
  }

  @Patch('@me')
  updateMe(
    @Caller() caller: AuthContext,
    @ValidBody(patchMeBody) body: z.infer<typeof patchMeBody>,
  ): Promise<SelfUser> {
    return this.auth.updateMe(caller.userId, caller.tokenHash, body);
  }

  @Get('@me/sessions')
  @AllowUnverified()
  sessions(@Caller() caller: AuthContext): Promise<SessionInfo[]> {
    return this.auth.sessions(caller.userId, caller.tokenHash);
  }

  // `:session`, not `:session_id`: a session id is a hash, not a snowflake.
  @Delete('@me/sessions/:session')
  @AllowUnverified()
  @HttpCode(204)
  async revokeSession(@Caller() caller: AuthContext, @Param('session') session: string): Promise<void> {
    await this.auth.revokeSession(caller.userId, session);
  }

  @Get(':user_id')
  user(@Param('user_id') userId: string): Promise<PublicUser> {
    if (!isSnowflake(userId)) throw unknown('user');
    return this.auth.publicUser(userId);
  }
}
