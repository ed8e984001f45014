// Load generator process of the monolith vs microservices comparison (bench/scenarios/microservices.mjs).
// Unlike bench/lib/loadgen.mjs it takes the REST base (`api`) apart from the gateway base(s) (`gateways`), so
// that one set of jobs drives the monolith (both are the one server) and the split roles (api on one port, one
// or two gateways on others). Gateway clients are spread round-robin over `gateways`. Every loop is bounded by a
// count and a deadline; the result carries this process's own CPU time so the orchestrator can say who was busy.
import { io } from 'socket.io-client';
import { call } from '../lib/api.mjs';
import { createHistogram, encode, recordMs } from '../lib/hist.mjs';

const now = () => performance.now();
const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
/** Tells the orchestrator that the measured part starts now (it samples the servers' CPU then). */
let measuredFrom = 0;
const measuring = () => {
  measuredFrom = cpuSeconds();
  process.send({ ready: true });
};
const epochNow = () => performance.timeOrigin + performance.now();

function connect(base, token) {
  return new Promise((resolve, reject) => {
    const socket = io(base, {
      path: '/gateway',
      transports: ['websocket'],
      auth: { token },
      reconnection: false,
      forceNew: true,
    });
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`gateway connect timeout (${base})`));
    }, 15_000);
    socket.once('READY', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('connect_error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Opens one session per token, 50 at a time, token i on gateways[i % gateways.length]. */
async function connectAll(gateways, tokens) {
  const sockets = [];
  for (let i = 0; i < tokens.length; i += 50) {
    const batch = tokens.slice(i, i + 50);
    sockets.push(
      ...(await Promise.all(batch.map((t, j) => connect(gateways[(i + j) % gateways.length], t)))),
    );
  }
  return sockets;
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

/** Counts sockets the server closed (or lost) while the job ran, by reason. */
function watchDisconnects(sockets) {
  const seen = { count: 0, reasons: {} };
  for (const s of sockets)
    s.on('disconnect', (reason) => {
      seen.count++;
      seen.reasons[reason] = (seen.reasons[reason] ?? 0) + 1;
    });
  return seen;
}

const jobs = {
  /** Closed-loop POSTs: `concurrency` senders, tokens round-robin, `total` messages. */
  async send({ api, tokens, channelId, total, concurrency, deadlineMs }) {
    const hist = createHistogram();
    let next = 0;
    let errors = 0;
    const statuses = {};
    const stopAt = Date.now() + deadlineMs;
    measuring();
    const t0 = now();
    await Promise.all(
      Array.from({ length: concurrency }, async (_, worker) => {
        while (next < total && Date.now() < stopAt) {
          const i = next++;
          const token = tokens[(worker + i) % tokens.length];
          const s = now();
          const res = await call(api, 'POST', `/channels/${channelId}/messages`, token, {
            content: `bench message ${i}`,
          }).catch(() => ({ status: 0 }));
          recordMs(hist, now() - s);
          statuses[res.status] = (statuses[res.status] ?? 0) + 1;
          if (res.status !== 200 && res.status !== 201) errors++;
        }
      }),
    );
    return { hist: encode(hist), seconds: (now() - t0) / 1000, sent: next, errors, statuses };
  },

  /**
   * Delivery to the last recipient: listeners spread over the gateways, one sender POSTs `total` messages one at
   * a time through the api; POST start to MESSAGE_CREATE at the last listener, both taken in this process.
   */
  async delivery({ api, gateways, senderToken, listenerTokens, channelId, total, deadlineMs }) {
    const sockets = await connectAll(gateways, listenerTokens);
    const histLast = createHistogram();
    const histApi = createHistogram();
    const pending = new Map();
    for (const socket of sockets) {
      socket.on('MESSAGE_CREATE', ({ d }) => {
        const entry = pending.get(d.nonce);
        if (!entry) return;
        if (--entry.remaining === 0) {
          recordMs(histLast, now() - entry.start);
          pending.delete(d.nonce);
          entry.done();
        }
      });
    }
    // Let the gateways finish subscribing (NATS scopes) and the presence updates of the connects die down.
    const settled = await settle(sockets, 500);
    const dropped = watchDisconnects(sockets);
    measuring();
    const stopAt = Date.now() + deadlineMs;
    let lost = 0;
    let sent = 0;
    let apiErrors = 0;
    for (let i = 0; i < total && Date.now() < stopAt; i++) {
      const nonce = `m${i}`;
      const start = now();
      const delivered = new Promise((resolve) =>
        pending.set(nonce, { start, remaining: sockets.length, done: resolve }),
      );
      const res = await call(api, 'POST', `/channels/${channelId}/messages`, senderToken, {
        content: `delivery ${i}`,
        nonce,
      }).catch(() => ({ status: 0 }));
      recordMs(histApi, now() - start);
      if (res.status !== 200) apiErrors++;
      let timer;
      const ok = await Promise.race([
        delivered.then(() => true),
        new Promise((r) => (timer = setTimeout(() => r(false), 5000))),
      ]);
      clearTimeout(timer);
      if (!ok) {
        lost++;
        pending.delete(nonce);
      }
      sent++;
      if (dropped.count > 0) break; // a listener is gone: every further message would be "lost" too
    }
    const disconnected = dropped.count;
    const disconnectReasons = { ...dropped.reasons }; // before our own closes below
    for (const s of sockets) s.close();
    return {
      hist: encode(histLast),
      api: encode(histApi),
      sent,
      lost,
      apiErrors,
      listeners: sockets.length,
      disconnected,
      disconnectReasons,
      ...settled,
    };
  },

  /**
   * Holds one session per token and counts MESSAGE_CREATE until `expected` arrive, nothing arrives for
   * `idleMs` after the first, or the deadline. Two phases: "connected" (all sessions open), then on the
   * orchestrator's "settle" it waits for quiet and starts measuring.
   */
  async fanoutListen({ gateways, tokens, expected, deadlineMs, idleMs = 10_000 }) {
    const sockets = await connectAll(gateways, tokens);
    process.send({ connected: true });
    await command(); // "settle": every generator's sessions are open
    const settled = await settle(sockets);
    const dropped = watchDisconnects(sockets);
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
    const disconnected = dropped.count;
    const disconnectReasons = { ...dropped.reasons }; // before our own closes below
    for (const s of sockets) s.close();
    return {
      received,
      first,
      last,
      perGateway,
      disconnected,
      disconnectReasons,
      ...settled,
    };
  },
};

process.on('message', async (msg) => {
  if (!msg || typeof msg !== 'object' || !msg.job) return;
  try {
    const result = await jobs[msg.job](msg.params);
    result.cpuSeconds = cpuSeconds() - measuredFrom; // CPU of this generator during the measured part
    process.send({ ok: true, result });
  } catch (err) {
    process.send({ ok: false, error: String(err?.stack ?? err) });
  }
});
