import { Controller, HttpCode, Post, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { type AuthContext, RateLimit, RateLimitGuard, ValidBody } from '@parley/http';
import type { z } from 'zod';
import { AccountLinks } from './account-links.service';
import { AllowUnverified, AuthGuard, Caller, Public } from './auth.guard';
import type { PendingRegistration, Session } from './auth.service';
import { forgotBody, resetBody, verifyBody } from './schemas';
import type { MfaChallenge } from './two-factor.service';

/** The routes of the mailed links: verify an address, forget and reset a password. */
@Controller('api/v1/auth')
@UseGuards(AuthGuard, RateLimitGuard)
export class AccountLinksController {
  constructor(private readonly links: AccountLinks) {}

  @Post('verify')
  @Public()
  @RateLimit('auth.verify')
  @HttpCode(204)
  async verify(
    @ValidBody(verifyBody) body: z.infer<typeof verifyBody>,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Session | PendingRegistration | undefined> {
    const made = await this.links.verifyEmail(body.token);
    if (made === null) return undefined;
    // A registration's link made the account: it answers like register (docs/accounts.md).
    void reply.status(200);
    return made;
  }

  @Post('verify/resend')
  @AllowUnverified()
  @RateLimit('auth.verify_resend')
  @HttpCode(204)
  async resend(@Caller() caller: AuthContext): Promise<void> {
    await this.links.resendVerification(caller.userId);
  }

  /** Always 204, whether or not an account answers to the address: nothing to learn from it. */
  @Post('forgot')
  @Public()
  @RateLimit('auth.forgot')
  @HttpCode(204)
  async forgot(@ValidBody(forgotBody) body: z.infer<typeof forgotBody>): Promise<void> {
    await this.links.forgot(body.email ?? body.login ?? '');
  }

  @Post('reset')
  @Public()
  @RateLimit('auth.reset')
  @HttpCode(200)
  reset(@ValidBody(resetBody) body: z.infer<typeof resetBody>): Promise<Session | MfaChallenge> {
    return this.links.reset(body.token, body.password);
  }
}
