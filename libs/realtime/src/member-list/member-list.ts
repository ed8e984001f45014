/** What other users see of a member's presence. */
export type ListStatus = 'online' | 'idle' | 'dnd' | 'offline';

/** A member as a list orders it; `item` is what clients receive (built lazily, shared by every recipient). */
export interface ListMember {
  userId: string;
  /** Lower-cased display name (nickname, else display name, else username): the order within a group. */
  sortName: string;
  roles: readonly string[];
  status: ListStatus;
}

export type ListRange = readonly [number, number];
export type ListItem = { group: { id: string; count: number } } | { member: unknown };
export type ListOp =
  | { op: 'SYNC'; range: ListRange; items: ListItem[] }
  | { op: 'INSERT' | 'UPDATE'; index: number; item: ListItem }
  | { op: 'DELETE'; index: number }
  | { op: 'INVALIDATE'; range: ListRange };

/** One row of the flat list: a group's header or a member of it. `key` orders members within the group. */
interface Row {
  rank: number;
  key: string;
  userId?: string;
}

export interface ListOptions {
  /** Hoisted role ids, highest first: each is a group before `online`. */
  hoisted: readonly string[];
  /** Offline members are not listed (Discord's behaviour for large guilds). */
  large: boolean;
  /** Whether a member belongs in the list at all (may view the list's channels). */
  includes: (member: ListMember) => boolean;
  /** The item clients receive for a member. */
  item: (member: ListMember) => unknown;
}

import { SortedRows } from './sorted-rows';

const keyOf = (m: ListMember) => `${m.sortName}\u0000${m.userId}`;

/**
 * One member list (Discord's lazy guild lists): the members who may view a channel, as one flat sequence of
 * group headers and members: hoisted roles by position, then `online`, then `offline` (not in large lists),
 * empty groups left out, each group ordered by display name. Every change is applied as the INSERT, UPDATE and
 * DELETE ops that turn the old sequence into the new one; each subscriber collects only the ops at or before the
 * end of its ranges, plus the items its ranges newly reveal when rows shift, so a copy kept by applying them is
 * exact within its ranges. The rows are kept in blocks (`SortedRows`): a change moves a few hundred of them, not
 * every later row.
 */
export class MemberList<S> {
  private readonly rows = new SortedRows<Row>(compare);
  private readonly counts = new Map<string, number>();
  private readonly placed = new Map<string, Row>();
  private groupIds: string[] = [];
  private rankOf = new Map<string, number>();
  private readonly subscribers = new Map<S, ListRange[]>();
  private pending = new Map<S, ListOp[]>();
  /**
   * Groups whose count changed since the last flush while their header stayed: the header's UPDATE is sent once
   * per flush (with the count then), not once per change, so a burst of presence changes costs each subscriber
   * one header op.
   */
  private readonly recounted = new Set<string>();
  /** Members of the list's audience, listed or not (offline members of a large list are counted, not listed). */
  memberCount = 0;
  onlineCount = 0;
  private readonly members = new Map<string, ListMember>();

  constructor(
    readonly id: string,
    private options: ListOptions,
  ) {
    this.setGroups();
  }

  get length(): number {
    return this.rows.length;
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** Every row as clients see it (tests and diagnostics). */
  items(from = 0, to = this.rows.length - 1): ListItem[] {
    const out: ListItem[] = [];
    for (const row of this.rows.slice(Math.max(0, from), to)) out.push(this.itemOf(row));
    return out;
  }

  /** Groups with members, in order: `{id, count}`. */
  groups(): Array<{ id: string; count: number }> {
    const out: Array<{ id: string; count: number }> = [];
    for (const id of this.groupIds) {
      const count = this.counts.get(id) ?? 0;
      if (count > 0) out.push({ id, count });
    }
    return out;
  }

  /** Sets what a subscriber watches; answers with a SYNC of each range (ranges already in order). */
  subscribe(subscriber: S, ranges: ListRange[]): ListOp[] {
    this.subscribers.set(subscriber, ranges);
    // The SYNC shows every change collected so far: sent after it, they would be applied twice.
    this.pending.delete(subscriber);
    return ranges.map((range) => ({ op: 'SYNC', range, items: this.items(range[0], range[1]) }));
  }

  ranges(subscriber: S): ListRange[] | undefined {
    return this.subscribers.get(subscriber);
  }

  unsubscribe(subscriber: S): void {
    this.subscribers.delete(subscriber);
    this.pending.delete(subscriber);
  }

  /** Puts a member in the list, moves it, or (null: left the guild or the audience) takes it out. */
  set(userId: string, member: ListMember | null): void {
    const before = this.members.get(userId);
    if (before) {
      this.memberCount--;
      if (before.status !== 'offline') this.onlineCount--;
      this.members.delete(userId);
    }
    const now = member && this.options.includes(member) ? member : null;
    if (now) {
      this.members.set(userId, now);
      this.memberCount++;
      if (now.status !== 'offline') this.onlineCount++;
    }
    const row = this.placed.get(userId);
    const target = now ? this.rowOf(now) : null;
    if (row && target && row.rank === target.rank) {
      const at = this.indexOf(row);
      // Still between the same neighbours (a renamed member often is): only what the item shows changed.
      if (
        row.key === target.key ||
        ((at === 0 || compare(this.rows.at(at - 1)!, target) < 0) &&
          (at + 1 === this.rows.length || compare(target, this.rows.at(at + 1)!) < 0))
      ) {
        this.rows.replace(at, target);
        this.placed.set(userId, target);
        this.emitUpdate(at);
        return;
      }
    }
    if (row) this.remove(row);
    if (target) this.insert(target);
  }

  /** Re-reads every member's place (the audience, the hoisted roles or the guild's size changed). */
  reset(options: ListOptions, members: Iterable<ListMember>): void {
    this.options = options;
    this.setGroups();
    this.rows.reset([]);
    this.counts.clear();
    this.placed.clear();
    this.members.clear();
    this.memberCount = 0;
    this.onlineCount = 0;
    const rows: Row[] = [];
    for (const m of members) {
      if (!options.includes(m)) continue;
      this.members.set(m.userId, m);
      this.memberCount++;
      if (m.status !== 'offline') this.onlineCount++;
      const row = this.rowOf(m);
      if (!row) continue;
      rows.push(row);
      this.placed.set(m.userId, row);
      this.counts.set(this.groupIds[row.rank], (this.counts.get(this.groupIds[row.rank]) ?? 0) + 1);
    }
    for (const [id, count] of this.counts)
      if (count > 0) rows.push({ rank: this.rankOf.get(id) ?? 0, key: '' });
    rows.sort(compare);
    this.rows.reset(rows);
    // Subscribers' copies are wholly replaced.
    this.pending.clear();
    this.recounted.clear();
    for (const [s, ranges] of this.subscribers) this.pending.set(s, this.subscribe(s, ranges));
  }

  /** The ops each subscriber collected since the last call, ending with the UPDATE of each recounted header. */
  flush(): Map<S, ListOp[]> {
    if (this.recounted.size > 0)
      this.groupIds.forEach((group, rank) => {
        if (this.recounted.has(group) && (this.counts.get(group) ?? 0) > 0)
          this.emitUpdate(this.lowerBound({ rank, key: '' }));
      });
    this.recounted.clear();
    const out = this.pending;
    this.pending = new Map();
    return out;
  }

  member(userId: string): ListMember | undefined {
    return this.members.get(userId);
  }

  // --- rows --------------------------------------------------------------------------------

  private setGroups(): void {
    this.groupIds = [...this.options.hoisted, 'online', ...(this.options.large ? [] : ['offline'])];
    this.rankOf = new Map(this.groupIds.map((id, i) => [id, i]));
  }

  private rowOf(m: ListMember): Row | null {
    if (m.status === 'offline') {
      const rank = this.rankOf.get('offline');
      return rank === undefined ? null : { rank, key: keyOf(m), userId: m.userId };
    }
    let rank = this.rankOf.get('online') ?? 0;
    for (const role of m.roles) {
      const r = this.rankOf.get(role);
      if (r !== undefined && r < rank) rank = r;
    }
    return { rank, key: keyOf(m), userId: m.userId };
  }

  /** First index whose row is not before `row`. */
  private lowerBound(row: Row): number {
    return this.rows.lowerBound(row);
  }

  private indexOf(row: Row): number {
    return this.lowerBound(row);
  }

  private insert(row: Row): void {
    const group = this.groupIds[row.rank];
    const count = (this.counts.get(group) ?? 0) + 1;
    this.counts.set(group, count);
    if (count === 1) {
      const header: Row = { rank: row.rank, key: '' };
      const at = this.lowerBound(header);
      this.rows.insertAt(at, header);
      this.emitInsert(at);
    } else this.recounted.add(group);
    const at = this.lowerBound(row);
    this.rows.insertAt(at, row);
    this.placed.set(row.userId ?? '', row);
    this.emitInsert(at);
  }

  private remove(row: Row): void {
    const at = this.indexOf(row);
    this.rows.removeAt(at);
    this.placed.delete(row.userId ?? '');
    this.emitDelete(at);
    const group = this.groupIds[row.rank];
    const count = (this.counts.get(group) ?? 1) - 1;
    this.counts.set(group, count);
    const headerAt = this.lowerBound({ rank: row.rank, key: '' });
    if (count === 0) {
      this.counts.delete(group);
      this.rows.removeAt(headerAt);
      this.emitDelete(headerAt);
    } else this.recounted.add(group);
  }

  private itemAt(index: number): ListItem {
    return this.itemOf(this.rows.at(index)!);
  }

  private itemOf(row: Row): ListItem {
    if (row.userId === undefined) {
      const id = this.groupIds[row.rank];
      return { group: { id, count: this.counts.get(id) ?? 0 } };
    }
    const m = this.members.get(row.userId);
    return { member: m ? this.options.item(m) : { user: { id: row.userId } } };
  }

  // --- ops per subscriber ------------------------------------------------------------------

  private push(s: S, op: ListOp): void {
    let ops = this.pending.get(s);
    if (!ops) this.pending.set(s, (ops = []));
    ops.push(op);
  }

  private emitUpdate(index: number): void {
    let item: ListItem | undefined;
    for (const [s, ranges] of this.subscribers)
      if (ranges.some(([a, b]) => index >= a && index <= b))
        this.push(s, { op: 'UPDATE', index, item: (item ??= this.itemAt(index)) });
  }

  /** An insert shifts later rows up: a range starting after it reveals the row shifted into its start. */
  private emitInsert(index: number): void {
    let item: ListItem | undefined;
    for (const [s, ranges] of this.subscribers) {
      if (!ranges.some(([, b]) => index <= b)) continue;
      this.push(s, { op: 'INSERT', index, item: (item ??= this.itemAt(index)) });
      for (const [a, b] of ranges)
        if (index < a && a <= b && a < this.rows.length)
          this.push(s, { op: 'UPDATE', index: a, item: this.itemAt(a) });
    }
  }

  /** A delete shifts later rows down: a range ending after it reveals the row shifted into its end. */
  private emitDelete(index: number): void {
    for (const [s, ranges] of this.subscribers) {
      if (!ranges.some(([, b]) => index <= b)) continue;
      this.push(s, { op: 'DELETE', index });
      for (const [, b] of ranges)
        if (index <= b && b < this.rows.length)
          this.push(s, { op: 'UPDATE', index: b, item: this.itemAt(b) });
    }
  }
}

function compare(x: Row, y: Row): number {
  if (x.rank !== y.rank) return x.rank - y.rank;
  return x.key < y.key ? -1 : x.key > y.key ? 1 : 0;
}
