import type { ChannelRecord, DmPage, DmRepository } from '../../contract';
import { compareIds, parseIds, toId, toLimit } from '../codec';
import type { SqliteDb } from '../connection';
import { settle } from '../errors';
import { CHANNELS, DM_PAIRS, type ChannelRow } from '../tables';
import type { SqliteChannelRepository } from './channel.repository';

const FOR_USER = `SELECT ${CHANNELS.columns
  .split(', ')
  .map((column) => `c.${column}`)
  .join(', ')},
    (SELECT json_group_array(CAST(o.user_id AS TEXT)) FROM dm_recipients o WHERE o.channel_id = c.id) AS recipients
  FROM dm_recipients r JOIN channels c ON c.id = r.channel_id
  WHERE r.user_id = ? AND r.channel_id < ? ORDER BY r.channel_id DESC LIMIT ?`;
/** Above every snowflake: the first page's bound. */
const NO_BOUND = 2n ** 63n - 1n;

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
        const created = this.db.run(DM_PAIRS.insertIfAbsent, low, high, toId(candidate.id)) === 1;
        if (created) {
          const recipients =
            candidate.recipients.length > 0 ? candidate.recipients : [...new Set([userA, userB])];
          this.channels.insert({ ...candidate, recipients });
        }
        const claim = this.db.get<{ channel_id: bigint }>(DM_PAIRS.holder, low, high);
        const channel = claim && this.channels.load(claim.channel_id);
        if (!channel) throw new Error(`dm pair ${low}/${high} points at a missing channel`);
        return { channel, created };
      }),
    );
  }

  find(userA: string, userB: string): Promise<ChannelRecord | null> {
    return settle(() => {
      const [low, high] = [toId(userA), toId(userB)].sort(compareIds);
      const claim = this.db.get<{ channel_id: bigint }>(DM_PAIRS.holder, low, high);
      return (claim && this.channels.load(claim.channel_id)) ?? null;
    });
  }

  listForUser(userId: string, page: DmPage): Promise<ChannelRecord[]> {
    const before = page.before === undefined ? NO_BOUND : toId(page.before);
    return settle(() =>
      this.db
        .all<ChannelRow & { recipients: string }>(
          FOR_USER,
          toId(userId),
          before,
          Math.max(1, toLimit(page.limit)),
        )
        .map((row) => CHANNELS.toRecord(row, parseIds(row.recipients), [])),
    );
  }
}
