import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { JOB_QUEUE, type JobPayloads, type JobQueue, messageJobReady } from '@parley/bus';
import { AccessService } from '@parley/chat';
import { Permission, PermissionCalculator, shouldNotify, type NotificationSettings } from '@parley/common';
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { AppLogger } from '@parley/observability';
import { PRESENCE_STORE, type PresenceStore } from '@parley/state';
import {
  STORAGE,
  type ChannelRecord,
  type GuildSettingsRecord,
  type MemberRecord,
  type PushSubscriptionRecord,
  type Storage,
} from '@parley/storage';
import { generateRequestDetails } from 'web-push';
import { EmailNotifications } from './email-notifications';
import { guardedPost, PushTargetError } from './guarded-post';
import { NotificationMetrics } from './notification-metrics';
import { VapidKeyring } from './vapid-keys';

const PAGE = 1000;
/**
 * Coalescing claims reuse the send-nonce claims (a TTL'd, atomic first-writer-wins row per channel, user and
 * key on both drivers). These keys are longer than any nonce a client may send (64), so they never collide.
 */
export const PUSH_CLAIM = 'parley.notifications.push.coalescing-window.reserved-key.not-a-client-nonce';
const EXCERPT = 140;

/** What a push carries: enough to show it and open the channel, nothing more. */
export interface PushPayload {
  channel_id: string;
  guild_id: string | null;
  message_id: string;
  title: string;
  body: string;
}

interface Concern {
  user: boolean;
  role: boolean;
}

/**
 * queue role: who a message should reach while away, and the deliveries. `notifications.message` (one per message
 * that is a DM or mentions someone) finds the users concerned, keeps those whose settings say yes and who have no
 * live gateway session, and per user claims the channel's coalescing window (one push per user and channel per
 * `notifications.push.coalesce_window`) and the user's email window (one mail per `notifications.email.delay`).
 * `notifications.push` encrypts (RFC 8291) and posts to each device through the SSRF guard; a push service that
 * fails is retried with the queue's backoff, 404/410 removes the device.
 */
@Injectable()
export class NotificationJobs implements OnModuleInit {
  constructor(
    @Inject(JOB_QUEUE) private readonly jobs: JobQueue,
    @Inject(STORAGE) private readonly storage: Storage,
    @Inject(PARLEY_CONFIG) private readonly config: ParleyConfig,
    @Inject(PRESENCE_STORE) private readonly presence: PresenceStore,
    private readonly access: AccessService,
    private readonly vapid: VapidKeyring,
    private readonly email: EmailNotifications,
    private readonly metrics: NotificationMetrics,
    private readonly log: AppLogger,
  ) {}

  onModuleInit(): void {
    this.jobs.register('notifications.message', (job) => this.fanOut(job));
    this.jobs.register('notifications.push', (job) => this.push(job));
    this.jobs.register('notifications.email', (job) => this.email.send(job.user_id));
  }

  async fanOut(job: JobPayloads['notifications.message']): Promise<void> {
    const pushOn = this.config.notifications.push.enabled;
    const emailOn = this.email.available;
    if (!pushOn && !emailOn) return;
    const [channel, message] = await Promise.all([
      this.storage.channels.findById(job.channel_id),
      this.storage.messages.find(job.channel_id, job.message_id),
    ]);
    if (!channel) return;
    // Its message never stored (a failed send), or deleted since: nobody to tell. Not readable yet: retried.
    if (!messageJobReady(message !== null, job.message_id)) return;
    const concerned = channel.guildId
      ? await this.guildAudience(channel, job)
      : channel.recipients.filter((id) => id !== job.author_id);
    if (concerned.length === 0) return;
    const online = await this.presence.connected(concerned);
    for (const userId of concerned) {
      if (online.has(userId)) continue;
      if (pushOn) await this.claimPush(userId, channel, job.message_id);
      if (emailOn) await this.email.schedule(userId, job.message_id);
    }
  }

  /** The guild members this message concerns under their notification settings. */
  private async guildAudience(
    channel: ChannelRecord,
    job: JobPayloads['notifications.message'],
  ): Promise<string[]> {
    const guildId = channel.guildId!;
    const [guild, roles] = await Promise.all([
      this.storage.guilds.findById(guildId),
      this.storage.roles.list(guildId),
    ]);
    if (!guild) return [];
    const direct = new Set(job.user_ids.filter((id) => id !== job.author_id));
    const wanted = new Set(job.role_ids);
    const concerns = new Map<string, Concern>();
    const consider = (members: MemberRecord[]) => {
      for (const m of members) {
        if (m.userId === job.author_id || concerns.has(m.userId)) continue;
        const concern = { user: direct.has(m.userId), role: m.roles.some((r) => wanted.has(r)) };
        if (!concern.user && !concern.role && !job.everyone) continue;
        const permissions = this.access.channelPermissions(this.access.build(guild, m, roles), channel);
        if (PermissionCalculator.has(permissions, Permission.VIEW_CHANNEL)) concerns.set(m.userId, concern);
      }
    };
    if (direct.size > 0) consider(await this.storage.members.findMany(guildId, [...direct]));
    // Role and @everyone mentions reach members by walking the guild a page at a time (as mention counting does).
    if (wanted.size > 0 || job.everyone)
      for (let after: string | undefined; ;) {
        const page = await this.storage.members.list(guildId, { limit: PAGE, after });
        consider(page);
        if (page.length < PAGE) break;
        after = page[page.length - 1].userId;
      }
    const now = Date.now();
    const out: string[] = [];
    for (const [userId, concern] of concerns) {
      const settings = await this.storage.guildSettings.find(userId, guildId);
      const mentions = { user: concern.user, role: concern.role, everyone: job.everyone };
      if (
        shouldNotify(
          toSettings(settings),
          guild.defaultMessageNotifications,
          channel.id,
          channel.parentId,
          mentions,
          now,
        )
      )
        out.push(userId);
    }
    return out;
  }

  /** One push job per user and channel per coalescing window; later messages in the window are folded in. */
  private async claimPush(userId: string, channel: ChannelRecord, messageId: string): Promise<void> {
    const window = this.config.notifications.push.coalesce_window;
    if (window > 0) {
      const held = await this.storage.messages.claimNonce(channel.id, userId, PUSH_CLAIM, messageId, window);
      if (held !== null && held !== messageId) {
        this.metrics.dropped.inc({ channel: 'push', reason: 'coalesced' });
        return;
      }
    }
    await this.jobs.enqueue('notifications.push', {
      user_id: userId,
      channel_id: channel.id,
      guild_id: channel.guildId,
      message_id: messageId,
    });
  }

  async push(job: JobPayloads['notifications.push']): Promise<void> {
    const subscriptions = await this.storage.push.listSubscriptions(job.user_id);
    if (subscriptions.length === 0) return;
    if ((await this.presence.connected([job.user_id])).has(job.user_id)) {
      this.metrics.dropped.inc({ channel: 'push', reason: 'online' });
      return;
    }
    const readState = (await this.storage.readStates.list(job.user_id)).find(
      (s) => s.channelId === job.channel_id,
    );
    if (readState?.lastMessageId && BigInt(readState.lastMessageId) >= BigInt(job.message_id)) {
      this.metrics.dropped.inc({ channel: 'push', reason: 'read' });
      return;
    }
    const payload = await this.payloadOf(job);
    if (!payload) {
      this.metrics.dropped.inc({ channel: 'push', reason: 'deleted' });
      return;
    }
    const keys = await this.vapid.keys();
    const body = JSON.stringify(payload);
    let failures = 0;
    for (const subscription of subscriptions) {
      const outcome = await this.deliver(subscription, body, keys, job.channel_id);
      if (outcome === 'retry') failures++;
    }
    // Devices that took it are not spared a retry: the service worker shows one notification per channel (tag),
    // so a repeat replaces the first rather than adding to it.
    if (failures > 0) throw new Error(`${failures} of ${subscriptions.length} push deliveries failed`);
  }

  private async deliver(
    subscription: PushSubscriptionRecord,
    body: string,
    keys: { publicKey: string; privateKey: string; subject: string },
    topic: string,
  ): Promise<'ok' | 'gone' | 'refused' | 'retry'> {
    const push = this.config.notifications.push;
    let status: number;
    try {
      const details = generateRequestDetails(
        { endpoint: subscription.endpoint, keys: { p256dh: subscription.p256dh, auth: subscription.auth } },
        body,
        {
          vapidDetails: keys,
          TTL: push.ttl,
          contentEncoding: 'aes128gcm',
          urgency: 'high',
          // Undelivered pushes of one channel replace each other at the push service.
          topic,
        },
      );
      status = await guardedPost(details.endpoint, {
        headers: details.headers,
        body: details.body,
        timeoutMs: push.timeout,
        allowPrivateHosts: push.allow_private_hosts,
      });
    } catch (err) {
      if (err instanceof PushTargetError && err.kind === 'network') {
        this.metrics.failed.inc({ channel: 'push' });
        this.log.warn({ err, user: subscription.userId }, 'push delivery failed; it will be retried');
        return 'retry';
      }
      // A refused endpoint (private address, not a URL) or keys that cannot encrypt never get better.
      this.metrics.failed.inc({ channel: 'push' });
      this.log.warn({ err, user: subscription.userId }, 'push subscription refused; removed');
      await this.storage.push.deleteSubscription(subscription.userId, subscription.endpointId);
      return 'refused';
    }
    if (status >= 200 && status < 300) {
      this.metrics.sent.inc({ channel: 'push' });
      return 'ok';
    }
    if (status === 404 || status === 410) {
      // The push service forgot the subscription (unsubscribed, expired): so do we.
      await this.storage.push.deleteSubscription(subscription.userId, subscription.endpointId);
      this.metrics.dropped.inc({ channel: 'push', reason: 'gone' });
      return 'gone';
    }
    this.metrics.failed.inc({ channel: 'push' });
    if (status === 429 || status >= 500) return 'retry';
    this.log.warn({ status, user: subscription.userId }, 'push service refused the push');
    return 'refused';
  }

  private async payloadOf(job: JobPayloads['notifications.push']): Promise<PushPayload | null> {
    const [message, channel] = await Promise.all([
      this.storage.messages.find(job.channel_id, job.message_id),
      this.storage.channels.findById(job.channel_id),
    ]);
    if (!message || !channel) return null;
    const [author, guild] = await Promise.all([
      this.storage.users.findById(message.authorId),
      channel.guildId ? this.storage.guilds.findById(channel.guildId) : Promise.resolve(null),
    ]);
    const name = author?.displayName ?? author?.username ?? 'Someone';
    const title = guild ? `${name} in #${channel.name ?? 'channel'} (${guild.name})` : name;
    return {
      channel_id: job.channel_id,
      guild_id: job.guild_id,
      message_id: job.message_id,
      title: title.slice(0, 120),
      body: excerpt(message.content, message.attachments.length),
    };
  }
}

export function excerpt(content: string, attachments: number): string {
  const text = content.replace(/\s+/g, ' ').trim();
  if (text === '') return attachments > 0 ? 'Sent an attachment' : '';
  return text.length > EXCERPT ? `${text.slice(0, EXCERPT - 1)}…` : text;
}

export function toSettings(record: GuildSettingsRecord | null): NotificationSettings | null {
  if (!record) return null;
  return {
    messageNotifications: record.messageNotifications,
    muted: record.muted,
    muteEndTime: record.muteEndTime,
    suppressEveryone: record.suppressEveryone,
    suppressRoles: record.suppressRoles,
    channelOverrides: record.channelOverrides,
  };
}
