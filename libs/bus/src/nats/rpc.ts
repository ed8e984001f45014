import { ServiceUnavailableError } from '@parley/common';
import type { AppLogger, Metrics } from '@parley/observability';
import { Counter } from 'prom-client';
import type { z } from 'zod';
import { type BreakerOptions, CircuitBreaker } from './circuit-breaker';
import type { NatsLink } from './nats-link';
import type { Subscription } from '@nats-io/nats-core';
import { natsCore } from './modules';

/** The asked role did not answer (timeout, nobody listening, circuit open, NATS down): callers map it to 503. */
export class RpcUnavailableError extends ServiceUnavailableError {
  constructor(
    readonly method: string,
    readonly reason: 'timeout' | 'no_responders' | 'circuit_open' | 'disconnected' | 'failed',
  ) {
    super(`${method} is unavailable (${reason})`);
  }
}

/** The asked role answered with an error of its own. */
export class RpcRemoteError extends Error {
  constructor(
    readonly method: string,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Reply = { ok: true; result: unknown } | { ok: false; code: string; message: string };

export interface RpcOptions {
  timeoutMs: number;
  breaker: BreakerOptions;
}

/**
 * Request/reply over NATS for when one role must ask another and wait: `<prefix>.rpc.<method>`. Servers in
 * one queue group share a method's load (each request goes to one of them); every request has a timeout;
 * a circuit breaker per method fails calls at once while the other side keeps failing. Requests are
 * validated on arrival like any other edge.
 */
export class NatsRpc {
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly calls: Counter<'method' | 'outcome'>;

  constructor(
    private readonly link: NatsLink,
    private readonly options: RpcOptions,
    private readonly log: AppLogger,
    metrics: Metrics,
  ) {
    this.calls =
      (metrics.registry.getSingleMetric('parley_rpc_calls_total') as Counter<'method' | 'outcome'>) ??
      new Counter({
        name: 'parley_rpc_calls_total',
        help: 'RPC calls made over NATS, by method and outcome',
        labelNames: ['method', 'outcome'] as const,
        registers: [metrics.registry],
      });
  }

  /** A call's default timeout (`nats.request_timeout`). */
  get timeoutMs(): number {
    return this.options.timeoutMs;
  }

  subject(method: string): string {
    return `${this.link.prefix}.rpc.${method}`;
  }

  /** Answers `method`; with `queue`, the servers of that group share the requests. */
  serve<S extends z.ZodType>(
    method: string,
    schema: S,
    handler: (request: z.infer<S>) => Promise<unknown>,
    opts: { queue?: string } = {},
  ): () => void {
    const sub: Subscription = this.link.nc.subscribe(this.subject(method), {
      queue: opts.queue,
      callback: (err, msg) => {
        if (err || !msg.reply) return;
        const respond = (reply: Reply) => {
          try {
            msg.respond(JSON.stringify(reply));
          } catch (e) {
            this.log.warn({ err: e, method }, 'RPC reply could not be sent');
          }
        };
        let request: unknown;
        try {
          request = JSON.parse(Buffer.from(msg.data).toString('utf8'));
        } catch {
          return respond({ ok: false, code: 'bad_request', message: 'not JSON' });
        }
        const parsed = schema.safeParse(request);
        if (!parsed.success) return respond({ ok: false, code: 'bad_request', message: 'invalid request' });
        handler(parsed.data).then(
          (result) => respond({ ok: true, result: result ?? null }),
          (e: unknown) => {
            this.log.warn({ err: e, method }, 'RPC handler failed');
            respond({ ok: false, code: 'failed', message: (e as Error).message ?? 'failed' });
          },
        );
      },
    });
    return () => sub.unsubscribe();
  }

  async call<T>(method: string, payload: unknown, timeoutMs = this.options.timeoutMs): Promise<T> {
    const breakerKey = method;
    let breaker = this.breakers.get(breakerKey);
    if (!breaker) this.breakers.set(breakerKey, (breaker = new CircuitBreaker(this.options.breaker)));
    const label = method.replace(/\.[A-Za-z0-9_-]{6,}\./g, '.*.'); // node-addressed methods share one label
    if (!this.link.connected) {
      this.calls.inc({ method: label, outcome: 'disconnected' });
      throw new RpcUnavailableError(method, 'disconnected');
    }
    if (!breaker.allow()) {
      this.calls.inc({ method: label, outcome: 'circuit_open' });
      throw new RpcUnavailableError(method, 'circuit_open');
    }
    let reply: Reply;
    try {
      const msg = await this.link.nc.request(this.subject(method), JSON.stringify(payload), {
        timeout: timeoutMs,
      });
      reply = JSON.parse(Buffer.from(msg.data).toString('utf8')) as Reply;
    } catch (err) {
      breaker.failure();
      const reason = noResponders(err)
        ? 'no_responders'
        : err instanceof natsCore().TimeoutError
          ? 'timeout'
          : 'failed';
      this.calls.inc({ method: label, outcome: reason });
      throw new RpcUnavailableError(method, reason);
    }
    breaker.success();
    this.calls.inc({ method: label, outcome: reply.ok ? 'ok' : 'remote_error' });
    if (!reply.ok) throw new RpcRemoteError(method, reply.code, reply.message);
    return reply.result as T;
  }

  /** The breaker's state for a method (tests, diagnostics). */
  breakerState(method: string): string {
    return this.breakers.get(method)?.state ?? 'closed';
  }
}

function noResponders(err: unknown): boolean {
  if (err instanceof natsCore().RequestError) return err.isNoResponders();
  const e = err as { name?: string; cause?: { name?: string } } | null;
  return e?.name === 'NoRespondersError' || e?.cause?.name === 'NoRespondersError';
}
