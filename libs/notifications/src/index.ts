export * from './notifications.module';
export * from './notification.jobs';
export * from './push-subscriptions.service';
export * from './vapid-keys';
export * from './email-notifications';
export * from './guarded-post';
