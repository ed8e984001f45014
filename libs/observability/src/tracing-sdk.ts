import * as api from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { CassandraDriverInstrumentation } from '@opentelemetry/instrumentation-cassandra-driver';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import type { ParleyConfig } from '@parley/config';
import type { SpanOptions, TraceCarrier, TracedService, Tracing } from './tracing';

// Loaded only when telemetry.enabled is true (see tracing.ts).

const KINDS = {
  internal: api.SpanKind.INTERNAL,
  producer: api.SpanKind.PRODUCER,
  consumer: api.SpanKind.CONSUMER,
} as const;

/**
 * Probes, scrapes and socket.io's long-polling requests are not worth a trace (they would fill a sampled
 * backend with noise); the gateway's work shows in its dispatch spans.
 */
const UNTRACED_PATHS = /^\/(health\/|metrics(\?|$)|gateway\/)/;

const carrierGetter: api.TextMapGetter<TraceCarrier> = {
  get: (carrier, key) => carrier.get(key),
  keys: () => ['traceparent', 'tracestate'],
};
const carrierSetter: api.TextMapSetter<TraceCarrier> = {
  set: (carrier, key, value) => carrier.set(key, value),
};

/** `http://collector:4318` or the full `.../v1/traces` URL. */
export function tracesUrl(endpoint: string): string {
  const base = endpoint.replace(/\/+$/, '');
  return base.endsWith('/v1/traces') ? base : `${base}/v1/traces`;
}

export function createTracing(config: ParleyConfig, service: TracedService): Tracing {
  const provider = new TracerProvider({
    // Head sampling: a trace's first process decides, every later one follows the traceparent it receives.
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.telemetry.sample_rate) }),
    resource: resourceFromAttributes({
      'service.name': service === 'monolith' ? 'parley' : `parley-${service}`,
      'service.namespace': config.instance.name,
      'service.instance.id': `${config.instance.region}-${config.instance.node_id}-${process.pid}`,
      'parley.region': config.instance.region,
      'parley.deployment_mode': config.instance.deployment_mode,
    }),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url: tracesUrl(config.telemetry.otlp_endpoint) }),
        scheduledDelayMillis: 1000,
        maxQueueSize: 8192,
        maxExportBatchSize: 1024,
      }),
    ],
  });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  api.context.setGlobalContextManager(contextManager);
  api.propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  api.trace.setGlobalTracerProvider(provider);
  const unregister = registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) => UNTRACED_PATHS.test(request.url ?? ''),
      }),
      // Background commands (socket.io adapter, presence sweeps) are not part of any request's story.
      new IORedisInstrumentation({ requireParentSpan: true }),
      new CassandraDriverInstrumentation(),
    ],
  });
  const tracer = provider.getTracer('parley');

  const tracing: Tracing = {
    current: () => api.context.active(),
    inTrace: () => api.trace.getSpan(api.context.active()) !== undefined,
    startSpan: (name: string, options: SpanOptions = {}) =>
      tracer.startSpan(
        name,
        { kind: KINDS[options.kind ?? 'internal'], attributes: options.attributes },
        options.parent ?? api.context.active(),
      ),
    contextOf: (span, parent) => api.trace.setSpan(parent ?? api.context.active(), span),
    withContext: (context, fn) => api.context.with(context, fn),
    traced: (name, options, fn) => {
      const span = tracing.startSpan(name, options);
      return api.context.with(api.trace.setSpan(options.parent ?? api.context.active(), span), async () => {
        try {
          return await fn(span);
        } catch (err) {
          span.recordException(err instanceof Error ? err : String(err));
          span.setStatus({ code: api.SpanStatusCode.ERROR, message: (err as Error)?.message });
          throw err;
        } finally {
          span.end();
        }
      });
    },
    inject: (carrier, context) =>
      api.propagation.inject(context ?? api.context.active(), carrier, carrierSetter),
    extract: (carrier) => api.propagation.extract(api.ROOT_CONTEXT, carrier, carrierGetter),
    nameHttpSpan: (method, route) => {
      const span = api.trace.getSpan(api.context.active());
      if (!span) return;
      span.updateName(`${method} ${route}`);
      span.setAttribute('http.route', route);
    },
    logFields: () => {
      const span = api.trace.getSpan(api.context.active());
      if (!span) return {};
      const { traceId, spanId, traceFlags } = span.spanContext();
      // Unsampled spans are never exported: a trace id in the log would point at nothing.
      if ((traceFlags & api.TraceFlags.SAMPLED) === 0) return {};
      return { trace_id: traceId, span_id: spanId };
    },
    shutdown: async () => {
      unregister();
      await provider.shutdown();
      contextManager.disable();
    },
  };
  return tracing;
}
