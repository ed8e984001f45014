/** Rows per block once built; a block splits in two past twice this, and merges with a neighbour below half. */
const BLOCK = 512;

/**
 * A sorted sequence addressed by position, kept in blocks of a few hundred rows: an insert or a delete moves the
 * rows of one block (and at most the block list) instead of every later row, and finding a position walks the
 * block sizes. At 100,000 rows that is about 200 blocks: O(sqrt n) per change instead of O(n) for one array.
 */
export class SortedRows<T> {
  private blocks: T[][] = [];
  private total = 0;

  constructor(
    private readonly compare: (a: T, b: T) => number,
    private readonly block = BLOCK,
  ) {}

  get length(): number {
    return this.total;
  }

  /** Replaces everything with rows already in order. */
  reset(sorted: readonly T[]): void {
    this.blocks = [];
    for (let i = 0; i < sorted.length; i += this.block) this.blocks.push(sorted.slice(i, i + this.block));
    this.total = sorted.length;
  }

  at(index: number): T | undefined {
    const [b, i] = this.locate(index);
    return this.blocks[b]?.[i];
  }

  replace(index: number, row: T): void {
    const [b, i] = this.locate(index);
    const block = this.blocks[b];
    if (block && i < block.length) block[i] = row;
  }

  /** Rows `from..to` (inclusive), in order. */
  slice(from: number, to: number): T[] {
    const out: T[] = [];
    if (from > to) return out;
    let [b, i] = this.locate(Math.max(0, from));
    let n = Math.min(to, this.total - 1) - Math.max(0, from) + 1;
    for (; n > 0 && b < this.blocks.length; b++, i = 0) {
      const block = this.blocks[b];
      for (; n > 0 && i < block.length; i++, n--) out.push(block[i]);
    }
    return out;
  }

  /** The first position whose row is not before `row` (the length when every row is). */
  lowerBound(row: T): number {
    // The first block whose last row is not before `row`.
    let lo = 0;
    let hi = this.blocks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const block = this.blocks[mid];
      if (this.compare(block[block.length - 1], row) < 0) lo = mid + 1;
      else hi = mid;
    }
    if (lo === this.blocks.length) return this.total;
    let offset = 0;
    for (let b = 0; b < lo; b++) offset += this.blocks[b].length;
    const block = this.blocks[lo];
    let l = 0;
    let h = block.length;
    while (l < h) {
      const mid = (l + h) >>> 1;
      if (this.compare(block[mid], row) < 0) l = mid + 1;
      else h = mid;
    }
    return offset + l;
  }

  /** Puts `row` at `index` (0..length); the caller keeps the order (`index` from `lowerBound`). */
  insertAt(index: number, row: T): void {
    if (this.blocks.length === 0) {
      this.blocks.push([row]);
      this.total = 1;
      return;
    }
    // Appending goes to the last block; otherwise to the block holding the row now at `index`.
    const [b, at] = index >= this.total ? [this.blocks.length - 1, -1] : this.locate(index);
    const block = this.blocks[b];
    const i = at < 0 ? block.length : at;
    block.splice(i, 0, row);
    this.total++;
    if (block.length > 2 * this.block) this.blocks.splice(b + 1, 0, block.splice(this.block));
  }

  removeAt(index: number): void {
    const [b, i] = this.locate(index);
    const block = this.blocks[b];
    if (!block || i >= block.length) return;
    block.splice(i, 1);
    this.total--;
    if (block.length === 0) {
      this.blocks.splice(b, 1);
      return;
    }
    if (block.length >= this.block / 2) return;
    // Small blocks merge, so their number stays about length / BLOCK however the rows churn.
    const next = this.blocks[b + 1];
    if (next && block.length + next.length <= 2 * this.block) {
      block.push(...next);
      this.blocks.splice(b + 1, 1);
    }
  }

  /** The block holding position `index` and the position within it (past the end: one past the last block). */
  private locate(index: number): [number, number] {
    let rest = index;
    for (let b = 0; b < this.blocks.length; b++) {
      const size = this.blocks[b].length;
      if (rest < size) return [b, rest];
      rest -= size;
    }
    return [this.blocks.length, rest];
  }
}
