import type { ChannelRecord, DmRepository } from '../../contract';
import { compareIds, parseIds, toId } from '../codec';
import type { SqliteDb } from '../connection';
import { settle } from '../errors';
import {
  CHANNEL_COLUMNS,
  toChannel,
  type ChannelRow,
  type SqliteChannelRepository,
} from './channel.repository';

// The pair's primary key is the claim: the first insert wins, later ones change nothing.
const CLAIM =
  'INSERT INTO dm_pairs (user_low, user_high, channel_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING';
const PAIR = 'SELECT channel_id FROM dm_pairs WHERE user_low = ? AND user_high = ?';
const FOR_USER = `SELECT ${CHANNEL_COLUMNS.split(', ')
  .map((column) => `c.${column}`)
  .join(', ')},
    (SELECT json_group_array(CAST(o.user_id AS TEXT)) FROM dm_recipients o WHERE o.channel_id = c.id) AS recipients
  FROM dm_recipients r JOIN channels c ON c.id = r.channel_id
  WHERE r.user_id = ? ORDER BY r.channel_id DESC`;

export class SqliteDmRepository implements DmRepository {
  constructor(
    private readonly db: SqliteDb,
    private readonly channels: SqliteChannelRepository,
  ) {}

  findOrCreate(
    userA: string,
    userB: string,
    candidate: ChannelRecord,
  ): Promise<{ channel: ChannelRecord; created: boolean }> {
    return settle(() =>
      // One IMMEDIATE transaction: the claim and the channel it points at appear together or not at all.
      this.db.transaction(() => {
        const [low, high] = [toId(userA), toId(userB)].sort(compareIds);
        const created = this.db.run(CLAIM, low, high, toId(candidate.id)) === 1;
        if (created) {
          const recipients =
            candidate.recipients.length > 0 ? candidate.recipients : [...new Set([userA, userB])];
          this.channels.insert({ ...candidate, recipients });
        }
        const claim = this.db.get<{ channel_id: bigint }>(PAIR, low, high);
        const channel = claim && this.channels.load(claim.channel_id);
        if (!channel) throw new Error(`dm pair ${low}/${high} points at a missing channel`);
        return { channel, created };
      }),
    );
  }

  listForUser(userId: string): Promise<ChannelRecord[]> {
    return settle(() =>
      this.db
        .all<ChannelRow & { recipients: string }>(FOR_USER, toId(userId))
        .map((row) => toChannel(row, parseIds(row.recipients), [])),
    );
  }
}
