// Load generator process of the monolith vs microservices comparison (bench/scenarios/microservices.mjs).
// Unlike bench/lib/loadgen.mjs it takes the REST base (`api`) apart from the gateway base(s) (`gateways`), so
// that one set of jobs drives the monolith (both are the one server) and the split roles (api on one port, one
// or two gateways on others). Gateway clients are spread round-robin over `gateways`. The send and delivery loops
// are bench/lib/loadgen.mjs's; this process adds the sessions spread over gateways (opened with retries,
// repaired, let settle) and tells the orchestrator when the measured part starts. Every loop is bounded by a
// count and a deadline; the result carries this process's own CPU time so the orchestrator can say who was busy.
import { connect, sendLoop, serve, timeDelivery } from '../lib/loadgen.mjs';

const now = () => performance.now();
const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
/** Tells the orchestrator that the measured part starts now (it samples the servers' CPU then). */
let measuredFrom = 0;
const measuring = () => {
  measuredFrom = cpuSeconds();
  if (process.connected) process.send({ ready: true });
};
const epochNow = () => performance.timeOrigin + performance.now();

/**
 * One session per token, token i on gateways[i % gateways.length], opened 50 at a time. Counts the sessions the
 * server closes (or loses), apart before and during the measured part; `repair` reopens lost ones beforehand.
 */
class Listeners {
  constructor(gateways, tokens) {
    this.gateways = gateways;
    this.tokens = tokens;
    this.sockets = [];
    this.closing = false;
    this.drops = 0;
    this.reasons = {};
    this.dropsBefore = 0;
    this.reopened = 0;
    this.connectRetries = 0;
  }

  async open() {
    for (let i = 0; i < this.tokens.length; i += 50) {
      const batch = this.tokens.slice(i, i + 50).map((_, j) => this.connectOne(i + j));
      this.sockets.push(...(await Promise.all(batch)));
    }
    return this;
  }

  /** Opens session i; a handshake that fails or times out (an overloaded gateway) is retried twice. */
  async connectOne(i) {
    let socket;
    for (let attempt = 0; !socket; attempt++) {
      try {
        socket = await connect(this.gateways[i % this.gateways.length], this.tokens[i]);
      } catch (err) {
        if (attempt >= 2) throw err;
        this.connectRetries++;
      }
    }
    socket.on('disconnect', (reason) => {
      if (this.closing) return;
      this.drops++;
      this.reasons[reason] = (this.reasons[reason] ?? 0) + 1;
    });
    return socket;
  }

  /** Reopens sessions the server closed before the measured part (a few rounds at most). */
  async repair() {
    for (let round = 0; round < 3; round++) {
      const lost = this.sockets.map((s, i) => (s.connected ? -1 : i)).filter((i) => i >= 0);
      if (lost.length === 0) break;
      for (const i of lost) {
        this.sockets[i].close();
        this.sockets[i] = await this.connectOne(i).catch(() => this.sockets[i]);
        this.reopened++;
      }
    }
    this.dropsBefore = this.drops;
  }

  /** Sessions closed by the server during the measured part, by reason (all, and those before it). */
  report() {
    return {
      disconnected: this.drops - this.dropsBefore,
      disconnectedBefore: this.dropsBefore,
      reopened: this.reopened,
      connectRetries: this.connectRetries,
      disconnectReasons: { ...this.reasons },
    };
  }

  close() {
    this.closing = true;
    for (const s of this.sockets) s.close();
  }
}

/** Resolves with the next command from the orchestrator (a string such as "settle"). */
function command() {
  return new Promise((resolve) => {
    const on = (msg) => {
      if (typeof msg !== 'string') return;
      process.off('message', on);
      resolve(msg);
    };
    process.on('message', on);
  });
}

/**
 * Waits until no event has reached any of the sockets for `quietMs` (at most `maxMs`): connecting many sessions
 * to one guild sets off presence updates to every member, which must not run into the measured part.
 */
async function settle(sockets, quietMs = 1000, maxMs = 30_000) {
  let lastEvent = now();
  let events = 0;
  const on = () => {
    lastEvent = now();
    events++;
  };
  for (const s of sockets) s.onAny(on);
  const t0 = now();
  while (now() - lastEvent < quietMs && now() - t0 < maxMs) await new Promise((r) => setTimeout(r, 100));
  for (const s of sockets) s.offAny(on);
  return { settle_ms: Math.round(now() - t0), settle_events: events };
}

const jobs = {
  /** Closed-loop POSTs: `concurrency` senders, tokens round-robin, `total` messages. */
  send: ({ api, ...params }) => sendLoop({ base: api, ...params }, { onStart: measuring }),

  /**
   * Delivery to the last recipient: listeners spread over the gateways, one sender POSTs `total` messages one at
   * a time through the api; POST start to MESSAGE_CREATE at the last listener, both taken in this process.
   */
  async delivery({ api, gateways, listenerTokens, ...params }) {
    const listeners = await new Listeners(gateways, listenerTokens).open();
    // Let the gateways finish subscribing (NATS scopes) and the presence updates of the connects die down.
    let settled = await settle(listeners.sockets, 500);
    await listeners.repair();
    if (listeners.reopened) settled = await settle(listeners.sockets, 500);
    const r = await timeDelivery(
      listeners.sockets,
      { base: api, ...params },
      {
        noncePrefix: 'm',
        onStart: measuring,
        tolerateApiErrors: true,
        // A listener is gone (or keeps missing messages): every further message would be "lost" as well.
        lostInARow: 3,
        stop: () => listeners.report().disconnected > 0,
      },
    );
    const dropped = listeners.report();
    listeners.close();
    return {
      hist: r.hist,
      api: r.api,
      sent: r.sent,
      lost: r.lost,
      apiErrors: r.apiErrors,
      listeners: listeners.sockets.length,
      ...dropped,
      ...settled,
    };
  },

  /**
   * Holds one session per token and counts MESSAGE_CREATE until `expected` arrive, nothing arrives for
   * `idleMs` after the first, or the deadline. Two phases: "connected" (all sessions open), then on the
   * orchestrator's "settle" it waits for quiet and starts measuring.
   */
  async fanoutListen({ gateways, tokens, expected, deadlineMs, idleMs = 10_000 }) {
    const listeners = await new Listeners(gateways, tokens).open();
    if (process.connected) process.send({ connected: true });
    await command(); // "settle": every generator's sessions are open
    let settled = await settle(listeners.sockets);
    await listeners.repair();
    if (listeners.reopened) settled = await settle(listeners.sockets);
    const sockets = listeners.sockets;
    let received = 0;
    let first = 0;
    let last = 0;
    let lastAt = 0;
    const perGateway = gateways.map(() => 0);
    let timer;
    let idle;
    const done = new Promise((resolve) => {
      timer = setTimeout(resolve, deadlineMs);
      const from = now();
      idle = setInterval(() => {
        if (now() - (lastAt || from) > (lastAt ? idleMs : 3 * idleMs)) resolve();
      }, 250);
      sockets.forEach((s, i) => {
        const g = i % gateways.length;
        s.on('MESSAGE_CREATE', () => {
          const t = epochNow();
          lastAt = now();
          if (received === 0) first = t;
          last = t;
          perGateway[g]++;
          if (++received >= expected) resolve();
        });
      });
    });
    measuring();
    await done;
    clearTimeout(timer);
    clearInterval(idle);
    const dropped = listeners.report();
    listeners.close();
    return { received, first, last, perGateway, ...dropped, ...settled };
  },
};

// The orchestrator is gone (its IPC channel closed): so is the job. Each result carries the CPU of this generator
// during the measured part.
serve(jobs, (result) => ({ ...result, cpuSeconds: cpuSeconds() - measuredFrom }));
