import {
  Body,
  Controller,
  Delete,
  Get,
  Header,
  HttpCode,
  Patch,
  Post,
  Query,
  UseGuards,
} from '@nestjs/common';
import { AuthGuard, Caller, Public } from '@parley/auth';
import { AcceptsForm, type AuthContext, RateLimitGuard, ValidBody } from '@parley/http';
import { z } from 'zod';
import { EmailNotifications } from './email-notifications';
import { PushSubscriptions, pushSubscriptionBody, pushUnsubscribeBody } from './push-subscriptions.service';
import { VapidKeyring } from './vapid-keys';

/** The VAPID public key a browser subscribes with (`applicationServerKey`). */
@Controller('api/v1/notifications')
@UseGuards(AuthGuard, RateLimitGuard)
export class NotificationsController {
  constructor(
    private readonly vapid: VapidKeyring,
    private readonly email: EmailNotifications,
  ) {}

  @Get('vapid-public-key')
  @Public()
  async vapidPublicKey(): Promise<{ public_key: string }> {
    return { public_key: (await this.vapid.keys()).publicKey };
  }

  /**
   * RFC 8058 one-click unsubscribe: the mail client POSTs `List-Unsubscribe=One-Click` to the link of the
   * `List-Unsubscribe` header; the signed token names the user. Turns email notifications off.
   */
  @Post('email/unsubscribe')
  @Public()
  @AcceptsForm()
  @HttpCode(204)
  async unsubscribe(@Query('token') token: string | undefined, @Body() _body: unknown): Promise<void> {
    await this.email.unsubscribe(String(token ?? ''));
  }

  /** The same link opened in a browser: a page with a button that POSTs (a GET alone must not change state). */
  @Get('email/unsubscribe')
  @Public()
  @Header('content-type', 'text/html; charset=utf-8')
  unsubscribePage(@Query('token') token: string | undefined): string {
    const t = encodeURIComponent(String(token ?? ''));
    return `<!doctype html><meta charset="utf-8"><title>Unsubscribe</title><form method="post" action="?token=${t}"><input type="hidden" name="List-Unsubscribe" value="One-Click"><p>Stop email notifications from Parley?</p><button type="submit">Unsubscribe</button></form>`;
  }
}

interface NotificationPreferences {
  email: boolean;
  available: boolean;
}

const preferencesBody = z.strictObject({ email: z.boolean() });

/** The caller's push devices and email preference. */
@Controller('api/v1/users/@me')
@UseGuards(AuthGuard, RateLimitGuard)
export class PushSubscriptionsController {
  constructor(
    private readonly subscriptions: PushSubscriptions,
    private readonly email: EmailNotifications,
  ) {}

  @Post('push-subscriptions')
  @HttpCode(204)
  async subscribe(
    @Caller() c: AuthContext,
    @ValidBody(pushSubscriptionBody) body: z.infer<typeof pushSubscriptionBody>,
  ): Promise<void> {
    await this.subscriptions.subscribe(c.userId, body);
  }

  @Delete('push-subscriptions')
  @HttpCode(204)
  async unsubscribe(
    @Caller() c: AuthContext,
    @ValidBody(pushUnsubscribeBody) body: z.infer<typeof pushUnsubscribeBody>,
  ): Promise<void> {
    await this.subscriptions.unsubscribe(c.userId, body.endpoint);
  }

  /** `email`: whether unread mentions and DMs are mailed; `available`: whether this instance sends any mail. */
  @Get('notification-preferences')
  async preferences(@Caller() c: AuthContext): Promise<NotificationPreferences> {
    return { email: await this.email.enabledFor(c.userId), available: this.email.available };
  }

  /** Turns email notifications on again (after an unsubscribe link) or off. */
  @Patch('notification-preferences')
  async updatePreferences(
    @Caller() c: AuthContext,
    @ValidBody(preferencesBody) body: z.infer<typeof preferencesBody>,
  ): Promise<NotificationPreferences> {
    await this.email.setEnabled(c.userId, body.email);
    return this.preferences(c);
  }
}
