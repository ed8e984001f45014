import { tracker, types, type ExecutionOptions, type Host } from 'cassandra-driver';

export interface SentRequest {
  query: string;
  consistency: string;
  serialConsistency: string | null;
  host: string;
  params: unknown[];
  prepared: boolean;
  idempotent: boolean;
  ok: boolean;
}

const NAMES = new Map<number, string>(
  Object.entries(types.consistencies).map(([name, code]) => [code as number, name]),
);

/** Name of a driver consistency code, e.g. 0x06 -> "localQuorum". */
export const consistencyName = (code: number | undefined): string =>
  NAMES.get(code ?? -1) ?? `unknown(${code})`;

// The driver checks `instanceof RequestTracker` at runtime; its typings only declare an interface.
const TrackerBase = (tracker as unknown as { RequestTracker: new () => tracker.RequestTracker })
  .RequestTracker;

/**
 * Records what the driver actually put on the wire for every request: the statement, its consistency
 * and serial consistency (from the execution options the driver encoded) and the coordinator it used.
 */
export class RecordingTracker extends TrackerBase {
  readonly requests: SentRequest[] = [];

  override onSuccess(
    host: Host,
    query: string | { query: string }[],
    params: unknown,
    options: ExecutionOptions,
  ): void {
    this.record(host, query, params, options, true);
  }

  override onError(
    host: Host,
    query: string | { query: string }[],
    params: unknown,
    options: ExecutionOptions,
  ): void {
    this.record(host, query, params, options, false);
  }

  override shutdown(): void {}

  clear(): void {
    this.requests.length = 0;
  }

  matching(pattern: RegExp): SentRequest[] {
    return this.requests.filter((r) => pattern.test(r.query));
  }

  private record(
    host: Host,
    query: string | { query: string; params?: unknown[] }[],
    params: unknown,
    options: ExecutionOptions,
    ok: boolean,
  ): void {
    const text = typeof query === 'string' ? query : `BATCH ${query.map((q) => q.query).join('; ')}`;
    const values =
      typeof query === 'string'
        ? Array.isArray(params)
          ? (params as unknown[])
          : []
        : query.flatMap((q) => q.params ?? []);
    const serial = options.getSerialConsistency();
    this.requests.push({
      query: text.replace(/\s+/g, ' '),
      consistency: consistencyName(options.getConsistency()),
      serialConsistency: serial === undefined ? null : consistencyName(serial),
      host: host.address,
      params: values,
      prepared: options.isPrepared(),
      idempotent: options.isIdempotent(),
      ok,
    });
  }
}
