import type { MemberDto } from '@parley/common/protocol';

export type ListStatus = 'online' | 'idle' | 'dnd' | 'offline';
export type ListMember = MemberDto & { presence?: { status?: ListStatus } };
export type ListItem = { group: { id: string; count: number } } | { member: ListMember };
export type ListOp =
  | { op: 'SYNC'; range: [number, number]; items: ListItem[] }
  | { op: 'INSERT' | 'UPDATE'; index: number; item: ListItem }
  | { op: 'DELETE'; index: number }
  | { op: 'INVALIDATE'; range: [number, number] };

export interface ListUpdate {
  guild_id: string;
  id: string;
  member_count: number;
  online_count: number;
  groups: Array<{ id: string; count: number }>;
  ops: ListOp[];
}

/** Rows per subscribed range (the server's bound). */
export const RANGE = 100;

/**
 * The pane's copy of a member list, kept by applying each GUILD_MEMBER_LIST_UPDATE's ops in order (docs/gateway.md):
 * exact within the subscribed ranges, holes (undefined) elsewhere.
 */
export function applyListUpdate(
  rows: ReadonlyArray<ListItem | undefined>,
  update: ListUpdate,
): Array<ListItem | undefined> {
  const next = rows.slice();
  for (const op of update.ops) {
    switch (op.op) {
      case 'SYNC':
        op.items.forEach((item, i) => (next[op.range[0] + i] = item));
        break;
      case 'INVALIDATE':
        for (let i = op.range[0]; i <= op.range[1]; i++) next[i] = undefined;
        break;
      case 'INSERT':
        if (next.length < op.index) next.length = op.index;
        next.splice(op.index, 0, op.item);
        break;
      case 'UPDATE':
        next[op.index] = op.item;
        break;
      case 'DELETE':
        next.splice(op.index, 1);
        break;
    }
  }
  next.length = update.groups.reduce((n, g) => n + g.count + 1, 0);
  return next;
}

/** The ranges covering rows `first..last` (whole blocks of RANGE rows), at most two as the pane needs. */
export function rangesFor(first: number, last: number): Array<[number, number]> {
  const a = Math.floor(Math.max(0, first) / RANGE);
  const b = Math.floor(Math.max(first, last) / RANGE);
  const out: Array<[number, number]> = [];
  for (let k = a; k <= Math.min(b, a + 1); k++) out.push([k * RANGE, k * RANGE + RANGE - 1]);
  return out;
}
