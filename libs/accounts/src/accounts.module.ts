import { Module } from '@nestjs/common';
import { AuthCoreModule } from '@parley/auth';
import { ChatCoreModule } from '@parley/chat';
import { AccountDeletion } from './account-deletion.service';
import { AccountJobs } from './account.jobs';
import { AccountsController } from './accounts.controller';

/** The account as a whole: deletion (a service admins call too). */
@Module({
  imports: [AuthCoreModule, ChatCoreModule],
  providers: [AccountDeletion],
  exports: [AccountDeletion],
})
export class AccountsCoreModule {}

/** api role: `DELETE /users/@me`. */
@Module({ imports: [AccountsCoreModule, AuthCoreModule], controllers: [AccountsController] })
export class AccountsApiModule {}

/** queue role: a deleted account's messages (`instance.account_deletion: delete`). */
@Module({ providers: [AccountJobs] })
export class AccountsJobsModule {}

/** The REST controllers of this library, for the OpenAPI document. */
export const ACCOUNTS_API_CONTROLLERS = [AccountsController];
