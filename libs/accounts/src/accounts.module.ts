import { Module } from '@nestjs/common';
import { AuthCoreModule } from '@parley/auth';
import { ChatCoreModule } from '@parley/chat';
import { MediaCoreModule } from '@parley/media';
import { AccountDeletion } from './account-deletion.service';
import { AccountJobs } from './account.jobs';
import {
  AccountsController,
  AdminAccountsController,
  DataExportDownloadController,
} from './accounts.controller';
import { DataExportJobs, DataExports } from './data-export.service';

/** Personal data exports: what the api (requests, links) and the queue (archives) share. */
@Module({ imports: [MediaCoreModule], providers: [DataExports], exports: [DataExports] })
export class DataExportsModule {}

/** The account as a whole: deletion (a service admins call too) and personal data exports. */
@Module({
  imports: [AuthCoreModule, ChatCoreModule, DataExportsModule],
  providers: [AccountDeletion],
  exports: [AccountDeletion, DataExportsModule],
})
export class AccountsCoreModule {}

/**
 * api role: `DELETE /users/@me`, `POST`/`GET /users/@me/data-export`, the archive's signed link and the
 * admins' `DELETE /admin/users/:id`.
 */
@Module({
  imports: [AccountsCoreModule, AuthCoreModule],
  controllers: [AccountsController, DataExportDownloadController, AdminAccountsController],
})
export class AccountsApiModule {}

/** queue role: export archives, and a deleted account's messages (`instance.account_deletion: delete`). */
// Not the core module: the queue role has no rate limiter, which accounts' sessions and passwords need.
@Module({ imports: [DataExportsModule], providers: [AccountJobs, DataExportJobs] })
export class AccountsJobsModule {}

/** The REST controllers of this library, for the OpenAPI document. */
export const ACCOUNTS_API_CONTROLLERS = [
  AccountsController,
  DataExportDownloadController,
  AdminAccountsController,
];
