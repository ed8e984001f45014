import type { types } from 'cassandra-driver';
import type { ClaimKind, ClaimMismatch } from '../contract';
import { fromId, mapLimit } from './codec';
import type { CassandraSession } from './session';

const PAGE = 1000;
/** Point reads in flight while a page is checked. */
const CONCURRENCY = 32;
const DM = 1;

const Q = {
  usernames: 'SELECT username_lower, user_id FROM users_by_username',
  emails: 'SELECT email, user_id FROM users_by_email',
  users: 'SELECT id, username, email FROM users',
  user: 'SELECT username, email FROM users WHERE id = ?',
  usernameHolder: 'SELECT user_id FROM users_by_username WHERE username_lower = ?',
  emailHolder: 'SELECT user_id FROM users_by_email WHERE email = ?',
  pairs: 'SELECT user_low, user_high, channel_id FROM dm_pairs',
  pair: 'SELECT channel_id FROM dm_pairs WHERE user_low = ? AND user_high = ?',
  channels: 'SELECT id, type, recipients FROM channels',
  channel: 'SELECT type, recipients FROM channels WHERE id = ?',
  invites: 'SELECT code, guild_id FROM invites',
  invite: 'SELECT guild_id FROM invites WHERE code = ?',
  inviteIndex: 'SELECT code FROM invites_by_guild WHERE guild_id = ? AND code = ?',
  guildInvites: 'SELECT guild_id, code FROM invites_by_guild',
  guild: 'SELECT name FROM guilds WHERE id = ?',
};

/**
 * `parley verify --claims` on Cassandra: the claim tables (written only by lightweight transactions) against
 * the rows they guard, both ways, a page at a time. A crash between a claim and its row, a lost release or a
 * cross-DC race shows up here as a mismatch; nothing is repaired.
 */
export class ClaimsCheck {
  private readonly counts: Record<ClaimKind, number> = { username: 0, email: 0, dm_pair: 0, invite: 0 };

  constructor(
    private readonly db: CassandraSession,
    private readonly report: (mismatch: ClaimMismatch) => void,
  ) {}

  async run(): Promise<Record<ClaimKind, number>> {
    await this.userClaims('username', Q.usernames, 'username_lower', 'username');
    await this.userClaims('email', Q.emails, 'email', 'email');
    await this.usersHaveClaims();
    await this.dmPairs();
    await this.invites();
    return this.counts;
  }

  /** Claim -> holder: the user exists and still has that username (or email). */
  private async userClaims(
    kind: 'username' | 'email',
    query: string,
    keyColumn: string,
    field: 'username' | 'email',
  ): Promise<void> {
    await this.pages(query, async (row) => {
      this.counts[kind]++;
      const key = row.get(keyColumn) as string;
      const holder = row.get('user_id') as bigint | null;
      if (holder === null) return this.mismatch(kind, key, 'the claim names no user');
      const user = await this.first(Q.user, [holder]);
      const value = user?.get(field) as string | null | undefined;
      if (value === null || value === undefined)
        return this.mismatch(kind, key, `the claim names user ${fromId(holder)}, who does not exist`);
      if (value.toLowerCase() !== key)
        this.mismatch(kind, key, `the claim names user ${fromId(holder)}, whose ${field} is now ${value}`);
    });
  }

  /** Holder -> claim: every user's username and email are claimed, by that user. */
  private async usersHaveClaims(): Promise<void> {
    await this.pages(Q.users, async (row) => {
      const username = row.get('username') as string | null;
      const email = row.get('email') as string | null;
      if (username === null) return; // a half row (an update that raced a delete): not a user
      const id = row.get('id') as bigint;
      const check = async (kind: 'username' | 'email', query: string, value: string | null) => {
        if (value === null) return;
        const key = value.toLowerCase();
        const holder = (await this.first(query, [key]))?.get('user_id') as bigint | null | undefined;
        if (holder === null || holder === undefined)
          this.mismatch(kind, key, `user ${fromId(id)} has it but no claim does`);
        else if (holder !== id)
          this.mismatch(kind, key, `user ${fromId(id)} has it but the claim names user ${fromId(holder)}`);
      };
      await Promise.all([
        check('username', Q.usernameHolder, username),
        check('email', Q.emailHolder, email),
      ]);
    });
  }

  /** Pair -> DM channel of those two; DM channel -> its pair's claim. */
  private async dmPairs(): Promise<void> {
    await this.pages(Q.pairs, async (row) => {
      this.counts.dm_pair++;
      const low = row.get('user_low') as bigint;
      const high = row.get('user_high') as bigint;
      const key = `${fromId(low)}:${fromId(high)}`;
      const channelId = row.get('channel_id') as bigint | null;
      if (channelId === null) return this.mismatch('dm_pair', key, 'the claim names no channel');
      const channel = await this.first(Q.channel, [channelId]);
      if (!channel || channel.get('type') === null)
        return this.mismatch(
          'dm_pair',
          key,
          `the claim names channel ${fromId(channelId)}, which does not exist`,
        );
      const recipients = [...((channel.get('recipients') as Iterable<bigint> | null) ?? [])].sort(compare);
      if (
        channel.get('type') !== DM ||
        recipients.length !== 2 ||
        recipients[0] !== low ||
        recipients[1] !== high
      )
        this.mismatch('dm_pair', key, `channel ${fromId(channelId)} is not the DM of these two users`);
    });
    await this.pages(Q.channels, async (row) => {
      if (row.get('type') !== DM) return;
      const recipients = [...((row.get('recipients') as Iterable<bigint> | null) ?? [])].sort(compare);
      if (recipients.length !== 2) return;
      const id = row.get('id') as bigint;
      const key = `${fromId(recipients[0])}:${fromId(recipients[1])}`;
      const claimed = (await this.first(Q.pair, recipients))?.get('channel_id') as bigint | null | undefined;
      if (claimed === null || claimed === undefined)
        this.mismatch('dm_pair', key, `DM channel ${fromId(id)} has no claim`);
      else if (claimed !== id)
        this.mismatch(
          'dm_pair',
          key,
          `DM channel ${fromId(id)} exists but the claim names ${fromId(claimed)}`,
        );
    });
  }

  /** Invite code -> a live guild that lists it; a guild's listed code -> its invite. */
  private async invites(): Promise<void> {
    await this.pages(Q.invites, async (row) => {
      const guildId = row.get('guild_id') as bigint | null;
      if (guildId === null) return; // a half row: no invite
      this.counts.invite++;
      const code = row.get('code') as string;
      const [guild, listed] = await Promise.all([
        this.first(Q.guild, [guildId]),
        this.first(Q.inviteIndex, [guildId, code]),
      ]);
      if (!guild || guild.get('name') === null)
        this.mismatch('invite', code, `the invite names guild ${fromId(guildId)}, which does not exist`);
      else if (!listed) this.mismatch('invite', code, `guild ${fromId(guildId)} does not list it`);
    });
    await this.pages(Q.guildInvites, async (row) => {
      const guildId = row.get('guild_id') as bigint;
      const code = row.get('code') as string;
      const holder = (await this.first(Q.invite, [code]))?.get('guild_id') as bigint | null | undefined;
      if (holder === null || holder === undefined)
        this.mismatch('invite', code, `guild ${fromId(guildId)} lists it but no invite has that code`);
      else if (holder !== guildId)
        this.mismatch(
          'invite',
          code,
          `guild ${fromId(guildId)} lists it but it belongs to guild ${fromId(holder)}`,
        );
    });
  }

  private mismatch(kind: ClaimKind, key: string, problem: string): void {
    this.report({ kind, key, problem });
  }

  private async first(query: string, params: unknown[]): Promise<types.Row | null> {
    return (await this.db.execute('read', query, params, { idempotent: true })).first();
  }

  /** Every row of a whole-table query, a page at a time (token order), each page checked before the next. */
  private async pages(query: string, check: (row: types.Row) => Promise<void>): Promise<void> {
    let pageState: string | undefined;
    do {
      const rs = await this.db.execute('read', query, [], { idempotent: true, fetchSize: PAGE, pageState });
      await mapLimit(rs.rows, CONCURRENCY, check);
      pageState = rs.pageState ?? undefined;
    } while (pageState);
  }
}

function compare(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
