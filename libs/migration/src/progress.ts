import type { BulkTable } from '@parley/storage';

export interface ProgressSink {
  start(table: BulkTable, total: number | null, resumedAt: number): void;
  advance(table: BulkTable, rows: number): void;
  finish(table: BulkTable, rows: number, seconds: number): void;
  skip?(table: BulkTable, rows: number): void;
  note(message: string): void;
}

export interface Writable {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

const RATE_WINDOW_MS = 5000;
const number = (n: number): string => Math.round(n).toLocaleString('en-US');

export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

/**
 * Copy progress for operators: on a terminal, one bar redrawn in place (table, rows, rows/s over the last
 * few seconds, ETA for the table); otherwise (a log, CI, systemd) one plain line every `intervalMs`.
 */
export class ProgressDisplay implements ProgressSink {
  private table: BulkTable | null = null;
  private total: number | null = null;
  private done = 0;
  private samples: { at: number; done: number }[] = [];
  private lastDraw = 0;
  private readonly tty: boolean;

  constructor(
    private readonly out: Writable,
    private readonly options: { intervalMs?: number; tty?: boolean; now?: () => number } = {},
  ) {
    this.tty = options.tty ?? out.isTTY === true;
  }

  start(table: BulkTable, total: number | null, resumedAt: number): void {
    this.table = table;
    this.total = total;
    this.done = resumedAt;
    this.samples = [{ at: this.now(), done: resumedAt }];
    this.lastDraw = this.now();
    if (resumedAt > 0) this.note(`${table}: resuming after ${number(resumedAt)} rows (checkpoint)`);
    else if (!this.tty) this.line(`${table}: copying${total === null ? '' : ` ${number(total)} rows`}`);
  }

  advance(table: BulkTable, rows: number): void {
    if (table !== this.table) return;
    this.done += rows;
    const now = this.now();
    this.samples.push({ at: now, done: this.done });
    while (this.samples.length > 2 && now - this.samples[0].at > RATE_WINDOW_MS) this.samples.shift();
    const every = this.tty ? 200 : (this.options.intervalMs ?? 5000);
    if (now - this.lastDraw >= every) {
      this.lastDraw = now;
      if (this.tty) this.bar();
      else this.line(this.status());
    }
  }

  finish(table: BulkTable, rows: number, seconds: number): void {
    if (this.tty) this.out.write('\r\x1b[K');
    const rate = seconds > 0 ? ` (${number(rows / seconds)} rows/s)` : '';
    this.line(`${table}: ${number(rows)} rows copied in ${seconds.toFixed(1)} s${rate}`);
    this.table = null;
  }

  skip(table: BulkTable, rows: number): void {
    this.line(`${table}: already copied (${number(rows)} rows, checkpoint)`);
  }

  note(message: string): void {
    if (this.tty && this.table) this.out.write('\r\x1b[K');
    this.line(message);
  }

  /** Rows per second over the last few seconds. */
  rate(): number {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.at <= first.at) return 0;
    return ((last.done - first.done) * 1000) / (last.at - first.at);
  }

  private status(): string {
    const rate = this.rate();
    const of = this.total === null ? '' : `/${number(this.total)}`;
    const pct = this.total ? ` (${Math.min(100, Math.floor((this.done / this.total) * 100))}%)` : '';
    const eta =
      this.total !== null && rate > 0 ? `, ETA ${duration(Math.max(0, this.total - this.done) / rate)}` : '';
    return `${this.table}: ${number(this.done)}${of} rows${pct}, ${number(rate)} rows/s${eta}`;
  }

  private bar(): void {
    const width = 24;
    const filled = this.total ? Math.min(width, Math.round((this.done / this.total) * width)) : 0;
    const bar = this.total ? `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ` : '';
    const text = `${bar}${this.status()}`;
    const columns = this.out.columns ?? 120;
    this.out.write(`\r\x1b[K${text.slice(0, columns - 1)}`);
  }

  private line(text: string): void {
    this.out.write(`${text}\n`);
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}
