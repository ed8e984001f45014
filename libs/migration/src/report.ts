import type { BulkRecords, BulkTable } from '@parley/storage';
import { canonical } from './canonical';
import type { Comparison, Difference } from './diff';

const n = (value: number): string => value.toLocaleString('en-US');

function value(v: unknown): string {
  const text = JSON.stringify(v) ?? 'undefined';
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** One line naming a difference, with the differing values when the row is in both. */
export function describeDifference(d: Difference): string {
  const where = d.channelId && d.table !== 'channels' ? ` in channel ${d.channelId}` : '';
  const row = `${d.table} ${d.key}${where}`;
  if (d.kind === 'missing') return `${row}: missing in the target`;
  if (d.kind === 'extra') return `${row}: in the target only`;
  const s = canonical(d.table, d.source as BulkRecords[BulkTable]) ?? {};
  const t = canonical(d.table, d.target as BulkRecords[BulkTable]) ?? {};
  const fields = (d.fields ?? []).map(
    (f) => `${f} ${value(s[f])} in the source, ${value(t[f])} in the target`,
  );
  return `${row}: differs: ${fields.join('; ')}`;
}

/** The verification report for a terminal or a log. */
export function formatComparison(c: Comparison, source: string, target: string, listLimit = 20): string {
  const lines: string[] = [`source: ${source}`, `target: ${target}`, ''];
  const header = ['table', 'source rows', 'target rows', 'source digest', 'target digest', 'result'];
  const rows = c.tables.map((t) => [
    t.table,
    n(t.source.count),
    n(t.target.count),
    t.source.hex.slice(0, 16),
    t.target.hex.slice(0, 16),
    t.equal ? 'equal' : `DIFFERENT (${n(t.differences)} rows)`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const pad = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 0 || i >= 3 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
      .join('  ');
  lines.push(pad(header), ...rows.map(pad), '');

  const differing = c.channels.filter((ch) => !ch.equal);
  lines.push(
    `channels: ${n(c.channels.length)} compared by message digest (ids, content, edits, attachments, mentions) ` +
      `and reaction digest; ${n(differing.length)} differ`,
  );
  for (const ch of differing.slice(0, listLimit))
    lines.push(
      `  channel ${ch.channelId}: messages ${n(ch.messages.source.count)} / ${n(ch.messages.target.count)} rows, ` +
        `digest ${ch.messages.source.hex.slice(0, 12)} / ${ch.messages.target.hex.slice(0, 12)}; ` +
        `reactions ${n(ch.reactions.source.count)} / ${n(ch.reactions.target.count)}`,
    );
  if (differing.length > listLimit) lines.push(`  ... and ${n(differing.length - listLimit)} more channels`);

  if (c.differences.length > 0) {
    lines.push('', 'differences:');
    const byTable = new Map<BulkTable, Difference[]>();
    for (const d of c.differences) byTable.set(d.table, [...(byTable.get(d.table) ?? []), d]);
    for (const [table, list] of byTable) {
      for (const d of list.slice(0, listLimit)) lines.push(`  ${describeDifference(d)}`);
      const total = c.tables.find((t) => t.table === table)?.differences ?? list.length;
      if (total > listLimit) lines.push(`  ... and ${n(total - listLimit)} more in ${table}`);
    }
  }
  lines.push(
    '',
    c.equal
      ? `result: EQUAL (${n(c.tables.reduce((sum, t) => sum + t.source.count, 0))} rows in ${c.seconds.toFixed(1)} s)`
      : `result: DIFFERENT (${n(c.tables.reduce((sum, t) => sum + t.differences, 0))} rows differ)`,
  );
  return lines.join('\n');
}

/** The same as JSON (for `--report <file>`): every channel's digests, every listed difference. */
export function comparisonJson(c: Comparison, source: string, target: string): object {
  return {
    source,
    target,
    equal: c.equal,
    seconds: c.seconds,
    tables: c.tables.map((t) => ({
      table: t.table,
      source: t.source.toJSON(),
      target: t.target.toJSON(),
      equal: t.equal,
      differences: t.differences,
    })),
    channels: c.channels.map((ch) => ({
      channel_id: ch.channelId,
      messages: { source: ch.messages.source.toJSON(), target: ch.messages.target.toJSON() },
      reactions: { source: ch.reactions.source.toJSON(), target: ch.reactions.target.toJSON() },
      equal: ch.equal,
    })),
    differences: c.differences.map((d) => ({
      table: d.table,
      kind: d.kind,
      key: d.key,
      channel_id: d.channelId ?? null,
      fields: d.fields ?? [],
      text: describeDifference(d),
    })),
  };
}
