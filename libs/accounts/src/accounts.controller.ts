import { Controller, Delete, Get, HttpCode, Param, Post, Query, Res, UseGuards } from '@nestjs/common';
import { AuthGuard, Caller, Public } from '@parley/auth';
import { AuditReason } from '@parley/chat';
import { NotFoundError } from '@parley/common';
import type { FastifyReply } from 'fastify';
import { type AuthContext, RateLimit, RateLimitGuard, ValidBody } from '@parley/http';
import { z } from 'zod';
import { AccountDeletion } from './account-deletion.service';
import { DataExports, type DataExportView } from './data-export.service';

export const deleteMeBody = z.object({
  password: z.string().min(1).max(256),
  // With two-factor authentication on: a current code or a backup code.
  code: z.string().min(6).max(16).nullish(),
});

@Controller('api/v1/users')
@UseGuards(AuthGuard, RateLimitGuard)
export class AccountsController {
  constructor(
    private readonly deletion: AccountDeletion,
    private readonly exports: DataExports,
  ) {}

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

  /** Queues an export of everything the caller owns (docs/accounts.md#personal-data-export). */
  @Post('@me/data-export')
  @RateLimit('auth.login')
  @HttpCode(202)
  requestExport(@Caller() caller: AuthContext): Promise<DataExportView> {
    return this.exports.request(caller.userId);
  }

  @Get('@me/data-export')
  exportStatus(@Caller() caller: AuthContext): Promise<DataExportView> {
    return this.exports.status(caller.userId);
  }
}

/** The archive behind the signed, expiring link of `GET /users/@me/data-export` (the link is the credential). */
@Controller('api/v1/data-exports')
@UseGuards(AuthGuard)
export class DataExportDownloadController {
  constructor(private readonly exports: DataExports) {}

  @Get(':user_id/:file')
  @Public()
  async download(
    @Param('user_id') userId: string,
    @Param('file') file: string,
    @Query('ex') ex: unknown,
    @Query('hm') hm: unknown,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const id = /^(\d{1,20})\.zip$/.exec(file)?.[1] ?? '';
    const archive = await this.exports.open(userId, id, ex, hm);
    if (!archive) throw new NotFoundError('Unknown data export', 10000);
    await reply
      .type('application/zip')
      .header('cache-control', 'private, no-store')
      .header('content-disposition', `attachment; filename="parley-data-${id}.zip"`)
      .send(archive);
  }
}

/**
 * An instance admin's deletion of an account (docs/accounts.md#admin-api): here rather than beside chat's other
 * admin routes because it runs `AccountDeletion`, which chat may not import.
 */
@Controller('api/v1/admin')
@UseGuards(AuthGuard, RateLimitGuard)
export class AdminAccountsController {
  constructor(private readonly deletion: AccountDeletion) {}

  @Delete('users/:user_id')
  @HttpCode(204)
  async deleteUser(
    @Caller() caller: AuthContext,
    @Param('user_id') userId: string,
    @AuditReason() reason: string | null,
  ): Promise<void> {
    await this.deletion.deleteByAdmin(caller.userId, userId, reason);
  }
}
