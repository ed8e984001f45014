import type { ListItem, ListOp } from './member-list';

/**
 * A client's copy of a member list, kept by applying GUILD_MEMBER_LIST_UPDATE ops in order (what docs/gateway.md
 * tells client authors to do): exact within the ranges the client subscribed to; elsewhere it may hold holes or
 * stale rows. The list's length is the sum over `groups` of `count + 1` (each group's header and members).
 */
export class ListCopy {
  private rows: Array<ListItem | undefined> = [];

  apply(groups: ReadonlyArray<{ count: number }>, ops: readonly ListOp[]): void {
    for (const op of ops) {
      switch (op.op) {
        case 'SYNC':
          op.items.forEach((item, i) => (this.rows[op.range[0] + i] = item));
          break;
        case 'INVALIDATE':
          for (let i = op.range[0]; i <= op.range[1]; i++) this.rows[i] = undefined;
          break;
        case 'INSERT':
          if (this.rows.length < op.index) this.rows.length = op.index;
          this.rows.splice(op.index, 0, op.item);
          break;
        case 'UPDATE':
          this.rows[op.index] = op.item;
          break;
        case 'DELETE':
          this.rows.splice(op.index, 1);
          break;
      }
    }
    this.rows.length = groups.reduce((n, g) => n + g.count + 1, 0);
  }

  range(from: number, to: number): Array<ListItem | undefined> {
    return this.rows.slice(from, Math.min(to, this.rows.length - 1) + 1);
  }
}
