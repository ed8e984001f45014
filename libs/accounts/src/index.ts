export * from './account-deletion.service';
export * from './account.jobs';
export * from './accounts.controller';
export * from './accounts.module';
export * from './data-export.service';
