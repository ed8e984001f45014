import { Controller, Delete, HttpCode, UseGuards } from '@nestjs/common';
import { AuthGuard, Caller } from '@parley/auth';
import { type AuthContext, RateLimit, RateLimitGuard, ValidBody } from '@parley/http';
import { z } from 'zod';
import { AccountDeletion } from './account-deletion.service';

export const deleteMeBody = z.object({
  password: z.string().min(1).max(256),
  // With two-factor authentication on: a current code or a backup code.
  code: z.string().min(6).max(16).nullish(),
});

@Controller('api/v1/users')
@UseGuards(AuthGuard, RateLimitGuard)
export class AccountsController {
  constructor(private readonly deletion: AccountDeletion) {}

  /** Deletes the caller's account (docs/accounts.md#deleting-an-account). */
  @Delete('@me')
  @RateLimit('auth.login')
  @HttpCode(204)
  async deleteMe(
    @Caller() caller: AuthContext,
    @ValidBody(deleteMeBody) body: z.infer<typeof deleteMeBody>,
  ): Promise<void> {
    await this.deletion.deleteOwn(caller.userId, body.password, body.code);
  }
}
