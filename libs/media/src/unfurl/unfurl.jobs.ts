import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import {
  EVENT_BUS,
  type EventBus,
  JOB_QUEUE,
  type JobPayloads,
  type JobQueue,
  messageJobReady,
} from '@parley/bus';
import { SUPPRESS_EMBEDS, unfurlableLinks } from '@parley/chat';
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { type EmbedRecord, STORAGE, type Storage } from '@parley/storage';
import { externalImagePath } from '../media-proxy.service';
import { MediaUrlSigner } from '../url-signer';
import { withProxyUrls } from './link-embed';
import { Unfurler } from './unfurler';

/** Discord's cap on a message's embeds. */
const MAX_EMBEDS = 10;

/** Embeds the sender wrote (a bot's rich embeds): kept as they are when links are unfurled again. */
export function isSenderEmbed(embed: EmbedRecord): boolean {
  return embed.type === undefined || embed.type === 'rich';
}

/**
 * Link previews, in the queue role (the monolith runs it in its one process): after a message with links is
 * stored and published, the send enqueues `messages.unfurl`; this reads the message, unfurls each link (the
 * cache first, then a guarded fetch), stores the link embeds after the sender's own, and dispatches a partial
 * MESSAGE_UPDATE (id, channel_id, guild_id, embeds) as Discord does. Idempotent: a rerun finds the previews
 * cached and the embeds unchanged, and dispatches nothing.
 */
@Injectable()
export class UnfurlJobs implements OnModuleInit {
  private readonly log = new Logger('UnfurlJobs');
  private readonly unfurler: Unfurler;

  constructor(
    @Inject(JOB_QUEUE) private readonly jobs: JobQueue,
    @Inject(STORAGE) private readonly storage: Storage,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(PARLEY_CONFIG) private readonly config: ParleyConfig,
    private readonly signer: MediaUrlSigner,
  ) {
    const u = config.unfurl;
    this.unfurler = new Unfurler({
      allowPrivateHosts: u.allow_private_hosts,
      connectTimeoutMs: u.connect_timeout,
      timeoutMs: u.timeout,
      maxBytes: u.max_bytes,
      maxRedirects: u.max_redirects,
      userAgent: u.user_agent,
    });
  }

  onModuleInit(): void {
    this.jobs.register('messages.unfurl', (payload) => this.unfurl(payload));
  }

  async unfurl(job: JobPayloads['messages.unfurl']): Promise<void> {
    if (!this.config.unfurl.enabled) return;
    const message = await this.storage.messages.find(job.channel_id, job.message_id);
    // Deleted (or never stored), or suppressed since: nothing to show. Not readable yet: retried.
    if (!messageJobReady(message !== null, job.message_id) || !message || message.flags & SUPPRESS_EMBEDS)
      return;
    const links = unfurlableLinks(message.content);
    const previews = await Promise.all(links.map((url) => this.preview(url)));
    const proxy = this.config.media.external.enabled
      ? (url: string) => externalImagePath(this.signer, url)
      : null;
    const own = message.embeds.filter(isSenderEmbed);
    const unfurled = previews
      .filter((e): e is EmbedRecord => e !== null)
      .map((e) => withProxyUrls(e, proxy))
      .slice(0, Math.max(0, MAX_EMBEDS - own.length));
    const previous = message.embeds.filter((e) => !isSenderEmbed(e));
    if (JSON.stringify(withoutProxy(previous)) === JSON.stringify(withoutProxy(unfurled))) return;
    const embeds = [...own, ...unfurled];
    await this.storage.messages.update(message.channelId, message.id, { embeds }, message.guildId);
    this.bus.publish({
      type: 'MESSAGE_UPDATE',
      scope: { kind: 'channel', id: message.channelId, guildId: message.guildId },
      data: {
        id: message.id,
        channel_id: message.channelId,
        ...(message.guildId ? { guild_id: message.guildId } : {}),
        embeds,
      },
    });
  }

  /** The cached preview of a link, or a fresh one (cached for `cache_ttl`, a failure for `failure_ttl`). */
  private async preview(url: string): Promise<EmbedRecord | null> {
    const cached = await this.storage.linkPreviews.find(url);
    if (cached) return cached.embed;
    const { embed, failure } = await this.unfurler.unfurl(url);
    if (failure) this.log.debug(`no preview for ${url}: ${failure}`);
    const now = Date.now();
    const ttl = embed ? this.config.unfurl.cache_ttl : this.config.unfurl.failure_ttl;
    await this.storage.linkPreviews.put({ url, embed, fetchedAt: now, expiresAt: now + ttl });
    return embed;
  }
}

function withoutProxy(embeds: EmbedRecord[]): EmbedRecord[] {
  return embeds.map((e) => ({
    ...e,
    thumbnail: e.thumbnail && { ...e.thumbnail, proxy_url: undefined },
    image: e.image && { ...e.image, proxy_url: undefined },
  }));
}
