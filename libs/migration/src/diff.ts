import { performance } from 'node:perf_hooks';
import {
  BULK_TABLES,
  type BulkRecords,
  type BulkStorage,
  type BulkTable,
  type MessageRecord,
  type ReactionRecord,
  type ScanPage,
} from '@parley/storage';
import { canonical, changedFields, Digest, recordKey, rowHash } from './canonical';

type AnyRecord = BulkRecords[BulkTable];

export interface Difference {
  table: BulkTable;
  /** missing: in the source only; extra: in the target only; changed: in both, not equal. */
  kind: 'missing' | 'extra' | 'changed';
  key: string;
  channelId?: string;
  fields?: string[];
  source?: AnyRecord;
  target?: AnyRecord;
}

export interface TableComparison {
  table: BulkTable;
  source: Digest;
  target: Digest;
  equal: boolean;
  differences: number;
}

export interface ChannelComparison {
  channelId: string;
  messages: { source: Digest; target: Digest };
  reactions: { source: Digest; target: Digest };
  equal: boolean;
}

export interface Comparison {
  tables: TableComparison[];
  /** Every channel with messages or reactions on either side. */
  channels: ChannelComparison[];
  /** Up to `listLimit` differences per table (all of them for a repair). */
  differences: Difference[];
  equal: boolean;
  seconds: number;
}

export interface CompareOptions {
  tables?: readonly BulkTable[];
  pageSize?: number;
  /** How many differences per table to keep with their records (default 50). */
  listLimit?: number;
  /** Called as each table starts, for progress lines. */
  onTable?: (table: BulkTable) => void;
  /** About how many rows are held at once while differing key buckets are matched (default HELD_ROWS). */
  heldRows?: number;
}

type Side = 'source' | 'target';
const DRILL_PAGE = 500;
const DRILL_CONCURRENCY = 4;

/**
 * Compares two databases table by table, in memory that does not grow with their size.
 *
 * Every table gets a row count and an order-independent digest per side, and its rows a digest per key bucket
 * (KEY_BUCKETS buckets by a hash of the row's key). Messages are also digested per channel (ids, content,
 * edits, attachments, mentions: the whole record), and the channels whose digests differ are read again from
 * both sides in id order to name the rows that differ. For the other tables, only the key buckets whose
 * digests differ are scanned again (see matchKeyed); reactions likewise, down to the messages whose reactions
 * differ. Equal databases are read once.
 */
export async function compare(
  source: BulkStorage,
  target: BulkStorage,
  options: CompareOptions = {},
): Promise<Comparison> {
  const started = performance.now();
  const pageSize = options.pageSize ?? 2000;
  const found = new Differences(options.listLimit ?? 50);
  const tables: TableComparison[] = [];
  const channels = new Map<string, ChannelComparison>();
  const channel = (id: string): ChannelComparison => {
    let c = channels.get(id);
    if (!c) {
      c = {
        channelId: id,
        messages: { source: new Digest(), target: new Digest() },
        reactions: { source: new Digest(), target: new Digest() },
        equal: true,
      };
      channels.set(id, c);
    }
    return c;
  };

  for (const table of options.tables ?? BULK_TABLES) {
    options.onTable?.(table);
    const digests = { source: new Digest(), target: new Digest() };
    const before = found.count(table);
    if (table === 'messages') {
      await scanBoth(source, target, table, pageSize, (side, record, hash) => {
        digests[side].add(hash);
        channel(record.channelId).messages[side].add(hash);
      });
      const differing = [...channels.values()].filter((c) => !c.messages.source.equals(c.messages.target));
      await eachLimit(differing, DRILL_CONCURRENCY, (c) => drillMessages(source, target, c.channelId, found));
    } else if (table === 'reactions') {
      const buckets = new KeyBuckets();
      await scanBoth(source, target, table, pageSize, (side, record, hash) => {
        digests[side].add(hash);
        channel(record.channelId).reactions[side].add(hash);
        buckets.add(side, `${record.channelId}/${record.messageId}`, hash);
      });
      for (const pass of buckets.passes(options.heldRows))
        await drillReactionBuckets(source, target, pageSize, pass, found);
    } else {
      await matchKeyed(source, target, table, pageSize, digests, found, options.heldRows);
    }
    const differences = found.count(table) - before;
    tables.push({
      table,
      source: digests.source,
      target: digests.target,
      equal: differences === 0 && digests.source.equals(digests.target),
      differences,
    });
  }
  const all = [...channels.values()];
  for (const c of all)
    c.equal = c.messages.source.equals(c.messages.target) && c.reactions.source.equals(c.reactions.target);
  return {
    tables,
    channels: all,
    differences: found.listed,
    equal: tables.every((t) => t.equal),
    seconds: (performance.now() - started) / 1000,
  };
}

/**
 * Checks again, completely but only where `differences` pointed: the keyed tables named there are
 * compared whole, the channels and messages named there are read again from both sides.
 */
export async function recheck(
  source: BulkStorage,
  target: BulkStorage,
  differences: readonly Difference[],
  pageSize = 2000,
): Promise<Difference[]> {
  const found = new Differences(Infinity);
  const keyed = new Set<BulkTable>();
  const channels = new Set<string>();
  const messages = new Map<string, { channelId: string; messageId: string }>();
  for (const d of differences) {
    if (d.table === 'messages') channels.add(d.channelId as string);
    else if (d.table === 'reactions') {
      const r = (d.source ?? d.target) as ReactionRecord;
      messages.set(`${r.channelId}/${r.messageId}`, { channelId: r.channelId, messageId: r.messageId });
    } else keyed.add(d.table);
  }
  for (const table of BULK_TABLES.filter((t) => keyed.has(t)))
    await matchKeyed(source, target, table, pageSize, { source: new Digest(), target: new Digest() }, found);
  await eachLimit([...channels], DRILL_CONCURRENCY, (c) => drillMessages(source, target, c, found));
  await eachLimit([...messages.values()], DRILL_CONCURRENCY * 4, (m) =>
    drillReactions(source, target, m.channelId, m.messageId, found),
  );
  return found.listed;
}

class Differences {
  readonly listed: Difference[] = [];
  private readonly perTable = new Map<BulkTable, number>();

  constructor(private readonly limit: number) {}

  add(difference: Difference): void {
    const n = (this.perTable.get(difference.table) ?? 0) + 1;
    this.perTable.set(difference.table, n);
    if (n <= this.limit) this.listed.push(difference);
  }

  count(table: BulkTable): number {
    return this.perTable.get(table) ?? 0;
  }
}

async function scanAll<T extends BulkTable>(
  bulk: BulkStorage,
  table: T,
  pageSize: number,
  each: (record: BulkRecords[T]) => void,
): Promise<void> {
  let cursor: string | null = null;
  do {
    const page: ScanPage<BulkRecords[T]> = await bulk.scan(table, cursor, pageSize);
    for (const record of page.records) each(record);
    cursor = page.cursor;
  } while (cursor !== null);
}

/** Scans both sides at once; `each` gets every record that belongs to the data set, with its hash. */
async function scanBoth<T extends BulkTable>(
  source: BulkStorage,
  target: BulkStorage,
  table: T,
  pageSize: number,
  each: (side: Side, record: BulkRecords[T], hash: bigint) => void,
): Promise<void> {
  const visit = (side: Side) => (record: BulkRecords[T]) => {
    const canon = canonical(table, record);
    if (canon !== null) each(side, record, rowHash(canon));
  };
  await Promise.all([
    scanAll(source, table, pageSize, visit('source')),
    scanAll(target, table, pageSize, visit('target')),
  ]);
}

/** Rows are grouped by a hash of their key into this many buckets, each with a digest per side. */
const KEY_BUCKETS = 4096;
/** At most about this many rows are held at once while the rows of differing buckets are matched. */
const HELD_ROWS = 100_000;

/** FNV-1a of the key, to its bucket: the same key lands in the same bucket on both sides, whatever its row. */
function keyBucket(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % KEY_BUCKETS;
}

/** One pass over the differing buckets. */
interface BucketPass {
  /** Buckets with rows on both sides: their rows are held and matched on their keys. */
  matched: Set<number>;
  /** Buckets with rows on one side only: each row is a difference as it is read, nothing held. */
  oneSided: Set<number>;
}

/** A digest per key bucket and side (2 x KEY_BUCKETS digests, whatever the table's size). */
class KeyBuckets {
  private readonly source = Array.from({ length: KEY_BUCKETS }, () => new Digest());
  private readonly target = Array.from({ length: KEY_BUCKETS }, () => new Digest());

  add(side: Side, key: string, hash: bigint): void {
    this[side][keyBucket(key)].add(hash);
  }

  /**
   * The differing buckets, grouped into passes that each hold at most about HELD_ROWS rows (by the first
   * scan's counts; a single bucket larger than that is a pass of its own). Nothing differs: no pass. Much
   * differs: several passes, so memory stays bounded and time grows instead; one-sided buckets (rows missing
   * on one side, as after an interrupted copy) cost no memory and go with the first pass.
   */
  passes(heldRows = HELD_ROWS): BucketPass[] {
    const passes: BucketPass[] = [];
    const oneSided = new Set<number>();
    let current: BucketPass | null = null;
    let held = 0;
    for (let b = 0; b < KEY_BUCKETS; b++) {
      const [s, t] = [this.source[b], this.target[b]];
      if (s.equals(t)) continue;
      if (s.count === 0 || t.count === 0) {
        oneSided.add(b);
        continue;
      }
      const rows = s.count + t.count;
      if (current === null || (held + rows > heldRows && current.matched.size > 0)) {
        current = { matched: new Set(), oneSided: new Set() };
        passes.push(current);
        held = 0;
      }
      current.matched.add(b);
      held += rows;
    }
    if (oneSided.size > 0) {
      if (passes.length === 0) passes.push({ matched: new Set(), oneSided });
      else passes[0].oneSided = oneSided;
    }
    return passes;
  }
}

/**
 * Row by row on the key, in bounded memory: a first scan digests each key bucket; then only the rows of the
 * differing buckets are read again, pass by pass, each side's unmatched rows waiting in a map for the other
 * side's scan to meet them.
 */
async function matchKeyed(
  source: BulkStorage,
  target: BulkStorage,
  table: BulkTable,
  pageSize: number,
  digests: { source: Digest; target: Digest },
  found: Differences,
  heldRows?: number,
): Promise<void> {
  const buckets = new KeyBuckets();
  await scanBoth(source, target, table, pageSize, (side, record, hash) => {
    digests[side].add(hash);
    buckets.add(side, recordKey(table, record), hash);
  });
  for (const pass of buckets.passes(heldRows))
    await matchBuckets(source, target, table, pageSize, pass, found);
}

async function matchBuckets(
  source: BulkStorage,
  target: BulkStorage,
  table: BulkTable,
  pageSize: number,
  pass: BucketPass,
  found: Differences,
): Promise<void> {
  const waiting = { source: new Map<string, Held>(), target: new Map<string, Held>() };
  await scanBoth(source, target, table, pageSize, (side, record, hash) => {
    const key = recordKey(table, record);
    const bucket = keyBucket(key);
    if (pass.oneSided.has(bucket)) {
      found.add(
        side === 'source'
          ? { table, kind: 'missing', key, source: record }
          : { table, kind: 'extra', key, target: record },
      );
      return;
    }
    if (!pass.matched.has(bucket)) return;
    const other = side === 'source' ? waiting.target : waiting.source;
    const match = other.get(key);
    if (!match) {
      waiting[side].set(key, { hash, record });
      return;
    }
    other.delete(key);
    if (match.hash === hash) return;
    const [s, t] = side === 'source' ? [record, match.record] : [match.record, record];
    found.add({
      table,
      kind: 'changed',
      key,
      fields: changedFields(canonical(table, s) ?? {}, canonical(table, t) ?? {}),
      source: s,
      target: t,
    });
  });
  for (const [key, held] of waiting.source) found.add({ table, kind: 'missing', key, source: held.record });
  for (const [key, held] of waiting.target) found.add({ table, kind: 'extra', key, target: held.record });
}

/**
 * Reactions of the differing buckets (keyed by channel and message): a digest per message of those buckets
 * only, then each message whose digests differ is read from both sides.
 */
async function drillReactionBuckets(
  source: BulkStorage,
  target: BulkStorage,
  pageSize: number,
  pass: BucketPass,
  found: Differences,
): Promise<void> {
  const perMessage = new Map<
    string,
    { channelId: string; messageId: string; source: Digest; target: Digest }
  >();
  await scanBoth(source, target, 'reactions', pageSize, (side, record, hash) => {
    const k = `${record.channelId}/${record.messageId}`;
    const bucket = keyBucket(k);
    if (!pass.matched.has(bucket) && !pass.oneSided.has(bucket)) return;
    let m = perMessage.get(k);
    if (!m) {
      m = {
        channelId: record.channelId,
        messageId: record.messageId,
        source: new Digest(),
        target: new Digest(),
      };
      perMessage.set(k, m);
    }
    m[side].add(hash);
  });
  const differing = [...perMessage.values()].filter((m) => !m.source.equals(m.target));
  await eachLimit(differing, DRILL_CONCURRENCY * 4, (m) =>
    drillReactions(source, target, m.channelId, m.messageId, found),
  );
}

interface Held {
  hash: bigint;
  record: AnyRecord;
}

async function* channelMessages(bulk: BulkStorage, channelId: string): AsyncGenerator<MessageRecord> {
  let after: string | null = null;
  for (;;) {
    const page = await bulk.channelMessages(channelId, after, DRILL_PAGE);
    yield* page;
    if (page.length < DRILL_PAGE) return;
    after = page[page.length - 1].id;
  }
}

/** Merges both sides' messages of one channel in id order and names every difference. */
async function drillMessages(
  source: BulkStorage,
  target: BulkStorage,
  channelId: string,
  found: Differences,
): Promise<void> {
  const a = channelMessages(source, channelId);
  const b = channelMessages(target, channelId);
  let x = await a.next();
  let y = await b.next();
  while (!x.done || !y.done) {
    const order = x.done ? 1 : y.done ? -1 : compareIds(x.value.id, y.value.id);
    if (order < 0) {
      const m = x.value as MessageRecord;
      found.add({ table: 'messages', kind: 'missing', key: m.id, channelId, source: m });
      x = await a.next();
    } else if (order > 0) {
      const m = y.value as MessageRecord;
      found.add({ table: 'messages', kind: 'extra', key: m.id, channelId, target: m });
      y = await b.next();
    } else {
      const [s, t] = [x.value as MessageRecord, y.value as MessageRecord];
      const fields = changedFields(canonical('messages', s) ?? {}, canonical('messages', t) ?? {});
      if (fields.length > 0)
        found.add({ table: 'messages', kind: 'changed', key: s.id, channelId, fields, source: s, target: t });
      [x, y] = await Promise.all([a.next(), b.next()]);
    }
  }
}

async function drillReactions(
  source: BulkStorage,
  target: BulkStorage,
  channelId: string,
  messageId: string,
  found: Differences,
): Promise<void> {
  const [s, t] = await Promise.all([
    source.messageReactions(channelId, messageId),
    target.messageReactions(channelId, messageId),
  ]);
  const key = (r: ReactionRecord) => recordKey('reactions', r);
  const theirs = new Set(t.map(key));
  const ours = new Set(s.map(key));
  for (const r of s)
    if (!theirs.has(key(r)))
      found.add({ table: 'reactions', kind: 'missing', key: key(r), channelId, source: r });
  for (const r of t)
    if (!ours.has(key(r)))
      found.add({ table: 'reactions', kind: 'extra', key: key(r), channelId, target: r });
}

function compareIds(a: string, b: string): number {
  const [x, y] = [BigInt(a), BigInt(b)];
  return x < y ? -1 : x > y ? 1 : 0;
}

async function eachLimit<T>(
  items: readonly T[],
  width: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}
