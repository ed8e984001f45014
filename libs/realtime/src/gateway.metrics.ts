import { Injectable } from '@nestjs/common';
import { Metrics } from '@parley/observability';
import { Counter, Gauge, Histogram } from 'prom-client';

/**
 * Gateway metrics, on the process registry. Event-loop lag comes with the default metrics
 * (`nodejs_eventloop_lag_p99_seconds` and friends, from monitorEventLoopDelay).
 */
export interface GatewayCounts {
  sockets: number;
  sessions: Record<'initialising' | 'live' | 'resuming' | 'detached', number>;
}

/** The routing lanes' state, read at scrape time. */
export interface RoutingCounts {
  queued: number;
  deepest: number;
  busyGuilds: number;
  models: number;
}

@Injectable()
export class GatewayMetrics {
  /** Read at scrape time, so counting never sits on the connection path. */
  source: (() => GatewayCounts) | null = null;
  routingSource: (() => RoutingCounts) | null = null;
  readonly sockets: Gauge;
  readonly sessions: Gauge<'state'>;
  readonly scopes: Gauge;
  readonly readyWaiting: Gauge;
  readonly dispatches: Counter<'type'>;
  readonly fanOutSeconds: Histogram;
  readonly busEvents: Counter<'type'>;
  readonly slowConsumers: Counter;
  readonly resumes: Counter<'outcome'>;
  readonly handovers: Counter;
  readonly disconnects: Counter<'reason'>;
  readonly rejected: Counter<'reason'>;
  readonly inboundErrors: Counter<'code'>;
  readonly routingQueued: Gauge;
  readonly routingDeepest: Gauge;
  readonly routingBusy: Gauge;
  readonly guildModels: Gauge;
  readonly routingOverflows: Counter;
  readonly recomputes: Counter<'cause'>;
  readonly routingReads: Counter<'kind'>;

  constructor(metrics: Metrics) {
    const registers = [metrics.registry];
    const source = () => this.source?.();
    const routing = () => this.routingSource?.();
    this.sockets = new Gauge({
      name: 'parley_gateway_connected_sockets',
      help: 'Connected gateway sockets',
      registers,
      collect() {
        this.set(source()?.sockets ?? 0);
      },
    });
    this.sessions = new Gauge({
      name: 'parley_gateway_sessions',
      help: 'Gateway sessions on this node by state (detached = dropped, waiting to be resumed)',
      labelNames: ['state'] as const,
      registers,
      collect() {
        const counts = source();
        if (!counts) return;
        for (const [state, n] of Object.entries(counts.sessions)) this.set({ state }, n);
      },
    });
    this.scopes = new Gauge({
      name: 'parley_gateway_subscribed_scopes',
      help: 'Event scopes this node is subscribed to',
      registers,
    });
    this.readyWaiting = new Gauge({
      name: 'parley_gateway_ready_waiting',
      help: 'New sessions waiting for their turn to read READY (gateway.ready_concurrency)',
      registers,
    });
    this.handovers = new Counter({
      name: 'parley_gateway_handovers_total',
      help: 'Sessions this node gave up to another gateway node that resumed them (their missed events sent along)',
      registers,
    });
    this.fanOutSeconds = new Histogram({
      name: 'parley_gateway_fanout_seconds',
      help: 'Per routed event with recipients on this node: from the start of its fan-out to the return of its last socket write (frames handed to the kernel; frames a transport defers past the current turn, such as zlib-stream, not included)',
      buckets: [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.1, 0.125, 0.15,
        0.175, 0.2, 0.25, 0.3, 0.4, 0.5, 1, 2.5,
      ],
      registers,
    });
    this.busEvents = new Counter({
      name: 'parley_gateway_bus_events_total',
      help: 'Events this node received from the event bus, by type (interest-only delivery: once per event per interested node)',
      labelNames: ['type'] as const,
      registers,
    });
    this.dispatches = new Counter({
      name: 'parley_gateway_dispatches_total',
      help: 'Dispatches routed to sessions, by type (one per recipient)',
      labelNames: ['type'] as const,
      registers,
    });
    this.slowConsumers = new Counter({
      name: 'parley_gateway_slow_consumer_disconnects_total',
      help: 'Sockets disconnected because their outbound buffer passed gateway.client_buffer_size',
      registers,
    });
    this.resumes = new Counter({
      name: 'parley_gateway_resumes_total',
      help: 'Resume attempts by outcome (resumed, unknown, expired, token_mismatch, bad_seq, overflow)',
      labelNames: ['outcome'] as const,
      registers,
    });
    this.disconnects = new Counter({
      name: 'parley_gateway_disconnects_total',
      help: 'Socket disconnects by reason',
      labelNames: ['reason'] as const,
      registers,
    });
    this.rejected = new Counter({
      name: 'parley_gateway_rejected_connections_total',
      help: 'Handshakes refused, by reason',
      labelNames: ['reason'] as const,
      registers,
    });
    this.routingQueued = new Gauge({
      name: 'parley_gateway_routing_queue_depth',
      help: 'Routing steps waiting on this node, all guilds (events and session starts behind a guild that waits)',
      registers,
      collect() {
        this.set(routing()?.queued ?? 0);
      },
    });
    this.routingDeepest = new Gauge({
      name: 'parley_gateway_routing_queue_max_depth',
      help: 'Routing steps waiting in the deepest guild lane on this node (bounded by gateway.routing_queue_limit)',
      registers,
      collect() {
        this.set(routing()?.deepest ?? 0);
      },
    });
    this.routingBusy = new Gauge({
      name: 'parley_gateway_routing_busy_guilds',
      help: 'Guilds whose routing lane is waiting (a storage read) on this node',
      registers,
      collect() {
        this.set(routing()?.busyGuilds ?? 0);
      },
    });
    this.guildModels = new Gauge({
      name: 'parley_gateway_guild_models',
      help: 'Guilds whose roles, overwrites and memberships this node keeps in memory (those its sessions are in)',
      registers,
      collect() {
        this.set(routing()?.models ?? 0);
      },
    });
    this.routingOverflows = new Counter({
      name: 'parley_gateway_routing_queue_overflows_total',
      help: 'Guild lanes that passed gateway.routing_queue_limit (their sessions on this node started over)',
      registers,
    });
    this.recomputes = new Counter({
      name: 'parley_gateway_routing_recomputes_total',
      help: 'Visibility recomputations from the in-memory guild models, by cause (everyone, users, channel, gone)',
      labelNames: ['cause'] as const,
      registers,
    });
    this.routingReads = new Counter({
      name: 'parley_gateway_routing_reads_total',
      help: 'Storage reads made by routing, by kind (guild, member, memberships, last_message_ids)',
      labelNames: ['kind'] as const,
      registers,
    });
    this.inboundErrors = new Counter({
      name: 'parley_gateway_inbound_errors_total',
      help: 'Client events answered with ERROR, by code',
      labelNames: ['code'] as const,
      registers,
    });
  }
}
