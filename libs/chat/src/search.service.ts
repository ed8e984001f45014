import { Inject, Injectable } from '@nestjs/common';
import { ChannelType, type MessageDto, Permission, PermissionCalculator } from '@parley/common';
import { type MessageRecord, type SearchHas, STORAGE, type Storage } from '@parley/storage';
import { AccessService, type ChannelAccess } from './access.service';
import { MessageService } from './messages.service';
import { parseSearchContent } from './search-query';

export interface SearchInput {
  content?: string;
  author_id: string[];
  channel_id: string[];
  mentions: string[];
  has: SearchHas[];
  min_id?: string;
  max_id?: string;
  offset: number;
  limit: number;
}

/** Discord's shape: each hit is an array (historically the hit with its context); here the hit alone. */
export interface SearchResults {
  total_results: number;
  messages: MessageDto[][];
}

const SEARCHABLE = new Set<number>([ChannelType.TEXT, ChannelType.DM]);
const READ = Permission.VIEW_CHANNEL | Permission.READ_MESSAGE_HISTORY;

/**
 * Message search (docs/search.md). Which channels are searched is decided here, at query time, from the
 * caller's current permissions (VIEW_CHANNEL and READ_MESSAGE_HISTORY through roles and overwrites, or DM
 * recipient), so a channel closed to someone stops answering their searches at once; the driver only ever
 * sees the resulting channel list.
 */
@Injectable()
export class SearchService {
  constructor(
    @Inject(STORAGE) private readonly storage: Storage,
    private readonly access: AccessService,
    private readonly messages: MessageService,
  ) {}

  async searchGuild(guildId: string, userId: string, input: SearchInput): Promise<SearchResults> {
    const terms = parseSearchContent(input.content ?? '');
    const guild = await this.access.guild(guildId, userId);
    const wanted = input.channel_id.length > 0 ? new Set(input.channel_id) : null;
    const readable = new Map<string, ChannelAccess>();
    for (const channel of await this.storage.channels.listByGuild(guild.guild.id)) {
      if (!SEARCHABLE.has(channel.type) || (wanted && !wanted.has(channel.id))) continue;
      const permissions = this.access.channelPermissions(guild, channel);
      if (PermissionCalculator.has(permissions, READ))
        readable.set(channel.id, { channel, guild, permissions });
    }
    return this.run(guild.guild.id, readable, userId, input, terms);
  }

  /** A DM (or any one channel the caller may read). */
  async searchChannel(channelId: string, userId: string, input: SearchInput): Promise<SearchResults> {
    const terms = parseSearchContent(input.content ?? '');
    const access = await this.access.requireChannel(channelId, userId, Permission.READ_MESSAGE_HISTORY);
    return this.run(access.channel.guildId, new Map([[access.channel.id, access]]), userId, input, terms);
  }

  private async run(
    guildId: string | null,
    readable: Map<string, ChannelAccess>,
    userId: string,
    input: SearchInput,
    terms: ReturnType<typeof parseSearchContent>,
  ): Promise<SearchResults> {
    if (readable.size === 0) return { total_results: 0, messages: [] };
    const result = await this.storage.messageSearch.search({
      guildId,
      channelIds: [...readable.keys()],
      terms,
      authorIds: input.author_id,
      mentions: input.mentions,
      has: input.has,
      minId: input.min_id,
      maxId: input.max_id,
      offset: input.offset,
      limit: input.limit,
    });
    // Rendered per channel (attachment URLs and reactions are per channel), then back in result order.
    const byChannel = new Map<string, MessageRecord[]>();
    for (const m of result.messages) byChannel.set(m.channelId, [...(byChannel.get(m.channelId) ?? []), m]);
    const rendered = new Map<string, MessageDto>();
    await Promise.all(
      [...byChannel].map(async ([channelId, records]) => {
        const access = readable.get(channelId);
        if (!access) return; // the driver answered outside the list it was given: never shown
        for (const dto of await this.messages.renderIn(access, records, userId)) rendered.set(dto.id, dto);
      }),
    );
    const messages = result.messages.flatMap((m) => {
      const dto = rendered.get(m.id);
      return dto ? [[dto]] : [];
    });
    return { total_results: result.total, messages };
  }
}
