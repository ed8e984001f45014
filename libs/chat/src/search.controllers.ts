import { Controller, Get, Param, UseGuards } from '@nestjs/common';
import { AuthGuard, Caller } from '@parley/auth';
import { type AuthContext, RateLimit, RateLimitGuard, ValidQuery } from '@parley/http';
import type { z } from 'zod';
import * as s from './schemas';
import { type SearchResults, SearchService } from './search.service';

type SearchQuery = z.infer<typeof s.searchQuery>;

/** `GET /guilds/:id/messages/search` (docs/search.md); the static segment wins over `:message_id` routes. */
@Controller('api/v1/guilds')
@UseGuards(AuthGuard, RateLimitGuard)
export class GuildSearchController {
  constructor(private readonly search: SearchService) {}

  @Get(':guild_id/messages/search')
  @RateLimit('messages.search')
  searchGuild(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @ValidQuery(s.searchQuery) q: SearchQuery,
  ): Promise<SearchResults> {
    return this.search.searchGuild(guildId, c.userId, q);
  }
}

/** `GET /channels/:id/messages/search`: a DM, or one channel the caller may read. */
@Controller('api/v1/channels')
@UseGuards(AuthGuard, RateLimitGuard)
export class ChannelSearchController {
  constructor(private readonly search: SearchService) {}

  @Get(':channel_id/messages/search')
  @RateLimit('messages.search')
  searchChannel(
    @Caller() c: AuthContext,
    @Param('channel_id') channelId: string,
    @ValidQuery(s.searchQuery) q: SearchQuery,
  ): Promise<SearchResults> {
    return this.search.searchChannel(channelId, c.userId, q);
  }
}
