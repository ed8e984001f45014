import type { Context, Span, SpanKind } from '@opentelemetry/api';
import { loadConfig, type ParleyConfig } from '@parley/config';

/** Which process a span comes from: the monolith or one role of microservices mode. */
export type TracedService = 'monolith' | 'api' | 'gateway' | 'media-proxy' | 'queue';

/** Reads and writes one carrier's fields (NATS message headers, a plain object). */
export interface TraceCarrier {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
}

export interface SpanOptions {
  kind?: 'internal' | 'producer' | 'consumer';
  attributes?: Record<string, string | number | boolean>;
  /** The parent; the active context when absent. */
  parent?: Context;
}

/**
 * The tracing surface the rest of Parley uses. It exists only while `telemetry.enabled` is true: callers ask
 * `activeTracing()` and skip all work on null, so with telemetry off no OpenTelemetry module is ever loaded
 * and a hot path pays one null check.
 */
export interface Tracing {
  /** The context current code runs in (its active span). */
  current(): Context;
  /** True when the current context has a span: work outside any trace starts none of its own. */
  inTrace(): boolean;
  startSpan(name: string, options?: SpanOptions): Span;
  /** The context whose active span is `span` (a parent for spans started later, elsewhere). */
  contextOf(span: Span, parent?: Context): Context;
  withContext<T>(context: Context, fn: () => T): T;
  /** Runs `fn` in a new span that ends when it settles (recording a failure). */
  traced<T>(name: string, options: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T>;
  /** Writes the W3C trace context of `context` (traceparent, tracestate) into a carrier. */
  inject(carrier: TraceCarrier, context?: Context): void;
  /** Reads a W3C trace context from a carrier; the root context when there is none. */
  extract(carrier: TraceCarrier): Context;
  /** Names the active HTTP server span after the matched route (`POST /api/v1/channels/:channel_id/messages`). */
  nameHttpSpan(method: string, route: string): void;
  /** trace_id and span_id of the active span, for log lines. */
  logFields(): { trace_id?: string; span_id?: string };
  shutdown(): Promise<void>;
}

export type { Context as TraceContext, Span as TraceSpan, SpanKind as TraceSpanKind };

let active: Tracing | null = null;

/** The running tracer, or null when telemetry is off (the common case: callers do nothing then). */
export function activeTracing(): Tracing | null {
  return active;
}

/**
 * Starts OpenTelemetry tracing when `telemetry.enabled` is true. It must run before the modules it
 * instruments (http, ioredis, cassandra-driver) are first required: the entry points call it before they
 * load the platform. With telemetry off it loads nothing.
 */
export function startTracing(config: ParleyConfig, service: TracedService): Tracing | null {
  if (active || !config.telemetry.enabled) return active;
  // Lazily required so that a process with telemetry off never loads the SDK.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const sdk = require('./tracing-sdk') as typeof import('./tracing-sdk');
  active = sdk.createTracing(config, service);
  return active;
}

/**
 * An entry point's first step: starts tracing from the configuration when it asks for it. A configuration
 * problem is left to the entry point, which loads the configuration again and reports it (exit 78).
 */
export function bootTracing(service: TracedService): void {
  let config: ParleyConfig;
  try {
    config = loadConfig();
  } catch {
    return;
  }
  startTracing(config, service);
}

/** Flushes the spans still buffered and stops exporting (process shutdown). */
export async function stopTracing(): Promise<void> {
  const current = active;
  active = null;
  await current?.shutdown();
}
