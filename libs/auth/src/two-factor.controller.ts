import { Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { type AuthContext, RateLimit, RateLimitGuard, ValidBody } from '@parley/http';
import type { z } from 'zod';
import { AuthGuard, Caller, Public } from './auth.guard';
import type { Session } from './auth.service';
import { mfaDisableBody, mfaEnableBody, mfaLoginBody } from './schemas';
import { type BackupCode, TwoFactor } from './two-factor.service';

/** TOTP two-factor authentication: the login's ticket step, enabling and disabling. */
@Controller('api/v1')
@UseGuards(AuthGuard, RateLimitGuard)
export class TwoFactorController {
  constructor(private readonly mfa: TwoFactor) {}

  @Post('auth/mfa/totp')
  @Public()
  @RateLimit('auth.mfa')
  @HttpCode(200)
  finish(@ValidBody(mfaLoginBody) body: z.infer<typeof mfaLoginBody>): Promise<Session> {
    return this.mfa.finish(body.ticket, body.code);
  }

  @Post('users/@me/mfa/totp/enable')
  @RateLimit('auth.mfa')
  @HttpCode(200)
  enable(
    @Caller() caller: AuthContext,
    @ValidBody(mfaEnableBody) body: z.infer<typeof mfaEnableBody>,
  ): Promise<{ backup_codes: BackupCode[] }> {
    return this.mfa.enable(caller.userId, caller.tokenHash, body);
  }

  @Post('users/@me/mfa/totp/disable')
  @RateLimit('auth.mfa')
  @HttpCode(204)
  async disable(
    @Caller() caller: AuthContext,
    @ValidBody(mfaDisableBody) body: z.infer<typeof mfaDisableBody>,
  ): Promise<void> {
    await this.mfa.disable(caller.userId, body.code);
  }
}
