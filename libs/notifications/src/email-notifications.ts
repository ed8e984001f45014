import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { JOB_QUEUE, type JobQueue } from '@parley/bus';
import { smtpTransport } from '@parley/auth';
import { BadRequestError } from '@parley/common';
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { AppLogger } from '@parley/observability';
import { STORAGE, type ChannelRecord, type Storage } from '@parley/storage';
import type { Transporter } from 'nodemailer';
import { NotificationMetrics } from './notification-metrics';
import { VapidKeyring } from './vapid-keys';

/** See notification.jobs.ts: a claim key no client nonce can be. */
const EMAIL_CLAIM = 'parley.notifications.email.batching-window.reserved-key.not-a-client-nonce';
const MAX_LINES = 25;
/** The newest DMs looked at for unread messages in a digest. */
const UNREAD_DMS = 100;

interface Unread {
  channel: ChannelRecord;
  guildName: string | null;
  mentions: number;
}

/**
 * Email for what is still unread after `notifications.email.delay`: the first notifiable message for an away user
 * schedules one delayed job (a claim per user for the length of the delay batches the rest into it); when it runs,
 * it lists the user's channels with unread mentions and unread DMs, and mails them in one message (text and
 * HTML) with RFC 8058 one-click unsubscribe. Never to an unverified address while email verification is on.
 */
@Injectable()
export class EmailNotifications implements OnApplicationShutdown {
  private transport: Transporter | undefined;
  private unsubscribeKey: Buffer | undefined;

  constructor(
    @Inject(PARLEY_CONFIG) private readonly config: ParleyConfig,
    @Inject(STORAGE) private readonly storage: Storage,
    @Inject(JOB_QUEUE) private readonly jobs: JobQueue,
    private readonly vapid: VapidKeyring,
    private readonly metrics: NotificationMetrics,
    private readonly log: AppLogger,
  ) {}

  /** Email notifications are on for the instance (and mail can be sent). */
  get available(): boolean {
    return this.config.notifications.email.enabled && this.config.smtp.host !== '';
  }

  async enabledFor(userId: string): Promise<boolean> {
    return this.available && (await this.storage.notificationPrefs.find(userId))?.emailEnabled !== false;
  }

  async setEnabled(userId: string, enabled: boolean): Promise<void> {
    await this.storage.notificationPrefs.put({ userId, emailEnabled: enabled, updatedAt: Date.now() });
  }

  /** Called for each away user a message should notify: at most one pending mail per user per delay. */
  async schedule(userId: string, messageId: string): Promise<void> {
    const delay = this.config.notifications.email.delay;
    const held = await this.storage.messages.claimNonce(userId, userId, EMAIL_CLAIM, messageId, delay);
    if (held !== null && held !== messageId) return; // a mail is already scheduled: this message joins it
    await this.jobs.enqueue('notifications.email', { user_id: userId }, { delayMs: delay });
  }

  async send(userId: string): Promise<void> {
    if (!this.available) return;
    const user = await this.storage.users.findById(userId);
    if (!user || user.botOwnerId !== null) return;
    if ((await this.storage.notificationPrefs.find(userId))?.emailEnabled === false) {
      this.metrics.dropped.inc({ channel: 'email', reason: 'unsubscribed' });
      return;
    }
    if (this.config.auth.email_verification !== 'off' && !user.emailVerified) {
      this.metrics.dropped.inc({ channel: 'email', reason: 'unverified' });
      return;
    }
    const unread = await this.unread(userId);
    if (unread.length === 0) {
      this.metrics.dropped.inc({ channel: 'email', reason: 'read' });
      return;
    }
    const base = this.publicUrl();
    const token = await this.tokenFor(userId);
    const unsubscribeUrl = `${base}/api/v1/notifications/email/unsubscribe?token=${encodeURIComponent(token)}`;
    const lines = unread.slice(0, MAX_LINES).map((u) => ({
      label: u.guildName
        ? `${u.mentions} unread mention${u.mentions === 1 ? '' : 's'} in #${u.channel.name ?? 'channel'} (${u.guildName})`
        : 'Unread direct messages',
      url: `${base}/channels/${u.channel.guildId ?? '@me'}/${u.channel.id}`,
    }));
    const more = unread.length - lines.length;
    const subject =
      unread.length === 1
        ? `Parley: ${lines[0].label}`
        : `Parley: ${unread.length} conversations are waiting for you`;
    const text = [
      `Hello ${user.displayName ?? user.username},`,
      '',
      'While you were away:',
      ...lines.map((l) => `- ${l.label}: ${l.url}`),
      ...(more > 0 ? [`- and ${more} more`] : []),
      '',
      `Stop these emails: ${unsubscribeUrl}`,
    ].join('\n');
    const html = [
      `<p>Hello ${escapeHtml(user.displayName ?? user.username)},</p>`,
      '<p>While you were away:</p><ul>',
      ...lines.map((l) => `<li><a href="${escapeHtml(l.url)}">${escapeHtml(l.label)}</a></li>`),
      ...(more > 0 ? [`<li>and ${more} more</li>`] : []),
      '</ul>',
      `<p><a href="${escapeHtml(unsubscribeUrl)}">Stop these emails</a></p>`,
    ].join('');
    try {
      await this.smtp().sendMail({
        from: this.config.smtp.from,
        to: user.email,
        subject,
        text,
        html,
        list: { unsubscribe: { url: unsubscribeUrl, comment: 'Stop email notifications' } },
        headers: { 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
      });
    } catch (err) {
      this.metrics.failed.inc({ channel: 'email' });
      throw err;
    }
    this.metrics.sent.inc({ channel: 'email' });
  }

  /** Channels with unread mentions, and DMs with messages past the read position. */
  private async unread(userId: string): Promise<Unread[]> {
    const [states, dms] = await Promise.all([
      this.storage.readStates.list(userId),
      this.storage.dms.listForUser(userId, { limit: UNREAD_DMS }),
    ]);
    const read = new Map(states.map((s) => [s.channelId, s]));
    const out: Unread[] = [];
    const mentioned = states.filter((s) => s.mentionCount > 0);
    const guildNames = new Map<string, string>();
    for (const state of mentioned.slice(0, MAX_LINES * 2)) {
      const channel = await this.storage.channels.findById(state.channelId);
      if (!channel) continue;
      if (!channel.guildId) {
        out.push({ channel, guildName: null, mentions: state.mentionCount });
        continue;
      }
      if (!guildNames.has(channel.guildId)) {
        const guild = await this.storage.guilds.findById(channel.guildId);
        guildNames.set(channel.guildId, guild?.name ?? 'a server');
      }
      out.push({ channel, guildName: guildNames.get(channel.guildId)!, mentions: state.mentionCount });
    }
    const last = await this.storage.messages.lastMessageIds(dms.map((d) => d.id));
    for (const dm of dms) {
      const lastId = last.get(dm.id);
      const seen = read.get(dm.id)?.lastMessageId;
      if (!lastId || (seen && BigInt(seen) >= BigInt(lastId))) continue;
      if (out.some((u) => u.channel.id === dm.id)) continue;
      out.push({ channel: dm, guildName: null, mentions: 1 });
    }
    return out;
  }

  /** Turns email notifications off for the user the signed token names. */
  async unsubscribe(token: string): Promise<void> {
    const dot = token.indexOf('.');
    const userId = dot > 0 ? token.slice(0, dot) : '';
    if (!/^\d{1,20}$/.test(userId)) throw new BadRequestError('Invalid unsubscribe token', 50035);
    const expected = Buffer.from(await this.tokenFor(userId));
    const given = Buffer.from(token);
    if (expected.length !== given.length || !timingSafeEqual(expected, given))
      throw new BadRequestError('Invalid unsubscribe token', 50035);
    await this.setEnabled(userId, false);
    this.log.info({ user: userId }, 'email notifications turned off by unsubscribe link');
  }

  /** `<user id>.<HMAC>`, keyed from the instance's VAPID private key (stored once, shared by every process). */
  private async tokenFor(userId: string): Promise<string> {
    if (!this.unsubscribeKey) {
      const { privateKey } = await this.vapid.keys();
      this.unsubscribeKey = Buffer.from(hkdfSync('sha256', privateKey, 'parley', 'email-unsubscribe', 32));
    }
    const mac = createHmac('sha256', this.unsubscribeKey).update(`unsubscribe:${userId}`).digest('base64url');
    return `${userId}.${mac}`;
  }

  private publicUrl(): string {
    const configured = this.config.auth.public_url;
    if (configured) return configured.replace(/\/+$/, '');
    return `http://${this.config.server.host}:${this.config.server.port}`;
  }

  onApplicationShutdown(): void {
    this.transport?.close();
  }

  private smtp(): Transporter {
    this.transport ??= smtpTransport(this.config.smtp);
    return this.transport;
  }
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
