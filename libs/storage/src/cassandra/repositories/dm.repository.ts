import type { ChannelRecord, DmPage, DmRepository } from '../../contract';
import { compareBig, fromId, mapLimit, toId } from '../codec';
import type { CassandraSession } from '../session';
import { CHANNELS, DM_CHANNELS_BY_USER, DM_PAIRS } from '../tables';
import type { CassandraChannelRepository } from './channel.repository';

const PAIR = 'SELECT channel_id FROM dm_pairs WHERE user_low = ? AND user_high = ?';
// Newest channel first (clustering order channel_id DESC), a page at a time.
const OF_USER = 'SELECT channel_id FROM dm_channels_by_user WHERE user_id = ? LIMIT ?';
const OF_USER_BEFORE =
  'SELECT channel_id FROM dm_channels_by_user WHERE user_id = ? AND channel_id < ? LIMIT ?';

/**
 * The pair (user_low, user_high) is claimed by a lightweight transaction: the first claim wins, every
 * other caller gets the winner's channel. The candidate channel row is written before the claim, so a
 * claim never points at a missing channel; a losing candidate's row is deleted again.
 */
export class CassandraDmRepository implements DmRepository {
  constructor(
    private readonly db: CassandraSession,
    private readonly channels: CassandraChannelRepository,
  ) {}

  async findOrCreate(
    userA: string,
    userB: string,
    candidate: ChannelRecord,
  ): Promise<{ channel: ChannelRecord; created: boolean }> {
    const [low, high] = [toId(userA), toId(userB)].sort(compareBig);
    const existing = (await this.db.execute('read', PAIR, [low, high], { idempotent: true })).first();
    if (existing)
      return { channel: await this.load(existing.get('channel_id') as bigint, low, high), created: false };

    const recipients = candidate.recipients.length > 0 ? candidate.recipients : [...new Set([userA, userB])];
    const channel: ChannelRecord = { ...candidate, guildId: null, recipients, overwrites: [] };
    await this.channels.create(channel);
    const claim = await this.db.execute('claim', DM_PAIRS.claim, [low, high, toId(channel.id)], {
      idempotent: false,
    });
    if (claim.wasApplied()) {
      await this.index(toId(channel.id), low, high);
      return { channel, created: true };
    }
    await this.db.execute('write', CHANNELS.delete, [toId(channel.id)], { idempotent: true });
    this.channels.cache.forget(channel.id);
    const winner = claim.first()?.get('channel_id') as bigint;
    return { channel: await this.load(winner, low, high), created: false };
  }

  async find(userA: string, userB: string): Promise<ChannelRecord | null> {
    const [low, high] = [toId(userA), toId(userB)].sort(compareBig);
    const claim = (await this.db.execute('read', PAIR, [low, high], { idempotent: true })).first();
    return claim ? this.channels.findById(fromId(claim.get('channel_id'))) : null;
  }

  async listForUser(userId: string, page: DmPage): Promise<ChannelRecord[]> {
    const limit = Math.max(1, page.limit);
    const rs =
      page.before === undefined
        ? await this.db.execute('read', OF_USER, [toId(userId), limit], { idempotent: true })
        : await this.db.execute('read', OF_USER_BEFORE, [toId(userId), toId(page.before), limit], {
            idempotent: true,
          });
    const channels = await mapLimit(rs.rows, 16, (row) =>
      this.channels.findById(fromId(row.get('channel_id'))),
    );
    return channels.filter((channel): channel is ChannelRecord => channel !== null);
  }

  /** Loads the pair's channel and (idempotently) re-writes both users' index rows, in case a crash lost them. */
  private async load(channelId: bigint, low: bigint, high: bigint): Promise<ChannelRecord> {
    const [channel] = await Promise.all([
      this.channels.findById(channelId.toString()),
      this.index(channelId, low, high),
    ]);
    if (!channel) throw new Error(`dm pair ${low}/${high} points at a missing channel ${channelId}`);
    return channel;
  }

  private async index(channelId: bigint, low: bigint, high: bigint): Promise<void> {
    await this.db.batch(
      [
        { query: DM_CHANNELS_BY_USER.insert, params: [low, channelId] },
        { query: DM_CHANNELS_BY_USER.insert, params: [high, channelId] },
      ],
      true,
    );
  }
}
