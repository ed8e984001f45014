import { MemberService } from '@parley/chat';
import { Injectable } from '@nestjs/common';
import type { MemberDto } from '@parley/common';
import { z } from 'zod';
import { serialise } from '../protocol';
import type { Session } from '../session';
import { Intent } from './discord-protocol';

const requestSchema = z.object({
  guild_id: z.union([z.string(), z.array(z.string()).max(1)]),
  query: z.string().max(100).optional(),
  limit: z.number().int().min(0).optional(),
  user_ids: z.union([z.string(), z.array(z.string()).max(100)]).optional(),
  presences: z.boolean().optional(),
  nonce: z.string().max(32).optional(),
});

/** Discord sends at most this many members per GUILD_MEMBERS_CHUNK. */
const CHUNK = 1000;

/**
 * Discord's REQUEST_GUILD_MEMBERS (op 8) answered with GUILD_MEMBERS_CHUNK dispatches, numbered in the
 * session like any dispatch. The whole list (empty query, limit 0) needs GUILD_MEMBERS, as on Discord; a
 * query matches usernames and nicknames by prefix, case-insensitively. Members are read through MemberService,
 * so the same membership check as `GET /guilds/:id/members` applies.
 */
@Injectable()
export class MemberChunks {
  constructor(private readonly members: MemberService) {}

  /** False when the request is malformed or not allowed (the transport closes with 4013 or 4002). */
  async answer(session: Session, intents: number, d: unknown): Promise<'ok' | 'malformed' | 'intents'> {
    const parsed = requestSchema.safeParse(d);
    if (!parsed.success) return 'malformed';
    const r = parsed.data;
    const guildId = Array.isArray(r.guild_id) ? r.guild_id[0] : r.guild_id;
    const wanted = r.user_ids === undefined ? null : new Set([r.user_ids].flat());
    const query = (r.query ?? '').toLowerCase();
    if (wanted === null && query === '' && (intents & Intent.GUILD_MEMBERS) === 0) return 'intents';
    if (!guildId || !session.guilds.has(guildId)) {
      this.send(session, [
        { guild_id: guildId, members: [], chunk_index: 0, chunk_count: 1, nonce: r.nonce },
      ]);
      return 'ok';
    }
    const limit = wanted ? wanted.size : r.limit && r.limit > 0 ? r.limit : Number.MAX_SAFE_INTEGER;
    const found: MemberDto[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.members.list(guildId, session.userId, 1000, after);
      for (const m of page) {
        const matches = wanted
          ? wanted.has(m.user.id)
          : query === '' ||
            m.user.username.toLowerCase().startsWith(query) ||
            (m.nick ?? '').toLowerCase().startsWith(query);
        if (matches && found.length < limit) found.push(m);
      }
      if (page.length < 1000 || found.length >= limit) break;
      after = page[page.length - 1].user.id;
    }
    const chunks: Record<string, unknown>[] = [];
    const count = Math.max(1, Math.ceil(found.length / CHUNK));
    for (let i = 0; i < count; i++) {
      const chunk: Record<string, unknown> = {
        guild_id: guildId,
        members: found.slice(i * CHUNK, (i + 1) * CHUNK),
        chunk_index: i,
        chunk_count: count,
      };
      if (r.nonce !== undefined) chunk.nonce = r.nonce;
      if (wanted && i === 0)
        chunk.not_found = [...wanted].filter((id) => !found.some((m) => m.user.id === id));
      if (r.presences) chunk.presences = [];
      chunks.push(chunk);
    }
    this.send(session, chunks);
    return 'ok';
  }

  private send(session: Session, chunks: unknown[]): void {
    for (const chunk of chunks) session.dispatch('GUILD_MEMBERS_CHUNK', serialise(chunk));
  }
}
