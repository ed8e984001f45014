import { Injectable, Module, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { AuthCoreModule } from '@parley/auth';
import { AccessService } from '@parley/chat';
import type { FastifyInstance } from 'fastify';
import { EmailNotifications } from './email-notifications';
import { NotificationJobs } from './notification.jobs';
import { NotificationMetrics } from './notification-metrics';
import { NotificationsController, PushSubscriptionsController } from './notifications.controller';
import { PushSubscriptions } from './push-subscriptions.service';
import { VapidKeyring } from './vapid-keys';

const FORM = 'application/x-www-form-urlencoded';

/** RFC 8058: the one-click unsubscribe arrives as a form post (`List-Unsubscribe=One-Click`). */
@Injectable()
export class FormBodyParser implements OnModuleInit {
  constructor(private readonly host: HttpAdapterHost) {}

  onModuleInit(): void {
    const fastify = this.host.httpAdapter?.getInstance<FastifyInstance>();
    if (!fastify || fastify.hasContentTypeParser(FORM)) return;
    fastify.addContentTypeParser(FORM, { parseAs: 'string', bodyLimit: 4096 }, (_req, body, done) =>
      done(null, Object.fromEntries(new URLSearchParams(String(body)))),
    );
  }
}

const CORE = [VapidKeyring, NotificationMetrics, EmailNotifications];

/** The REST controllers of this library, for the api role and the OpenAPI document. */
export const NOTIFICATIONS_API_CONTROLLERS = [NotificationsController, PushSubscriptionsController];

/** api role: the VAPID key, push subscriptions, email preference and one-click unsubscribe. */
@Module({
  imports: [AuthCoreModule],
  controllers: NOTIFICATIONS_API_CONTROLLERS,
  providers: [...CORE, PushSubscriptions, FormBodyParser],
})
export class NotificationsApiModule {}

/** queue role: who a message reaches while away, the pushes and the emails. */
@Module({ providers: [...CORE, NotificationJobs, AccessService] })
export class NotificationsJobsModule {}
