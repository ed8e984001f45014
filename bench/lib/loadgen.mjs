// A load generator process: the orchestrator forks it, sends one job, and gets back encoded histograms.
// Every loop is bounded by a count and a deadline. Imported (by bench/scenarios/microservices-loadgen.mjs), it
// only lends its pieces: `sendLoop`, `timeDelivery`, `connect` and `serve`.
import { pathToFileURL } from 'node:url';
import { io } from 'socket.io-client';
import { call } from './api.mjs';
import { nonceOfPayload, openDiscordLight } from './discord-light.mjs';
import { createHistogram, encode, recordMs } from './hist.mjs';
import { LightPool, gatewayUrl, nonceOf, openResumable, seqOf } from './light.mjs';

const now = () => performance.now();

/**
 * Closed-loop POSTs to `base`: `concurrency` senders, tokens round-robin, `total` messages (`content` with `{i}`
 * replaced by the message's number). `onStart` runs just before the first one.
 */
export async function sendLoop(
  { base, tokens, channelId, total, concurrency, deadlineMs, content = 'bench message {i}' },
  { onStart } = {},
) {
  const hist = createHistogram();
  let next = 0;
  let errors = 0;
  const statuses = {};
  const stopAt = Date.now() + deadlineMs;
  onStart?.();
  const t0 = now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (next < total && Date.now() < stopAt) {
        const i = next++;
        const token = tokens[(worker + i) % tokens.length];
        const s = now();
        const res = await call(base, 'POST', `/channels/${channelId}/messages`, token, {
          content: content.replaceAll('{i}', String(i)),
        }).catch(() => ({ status: 0 }));
        recordMs(hist, now() - s);
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        if (res.status !== 200 && res.status !== 201) errors++;
      }
    }),
  );
  return { hist: encode(hist), seconds: (now() - t0) / 1000, sent: next, errors, statuses };
}

/**
 * Delivery latency over open gateway `sockets`: one sender POSTs `total` messages to `base` one at a time; the time
 * from POST start to MESSAGE_CREATE at the last of the sockets is measured in this process (a message not there
 * within 5 s is lost). `onStart` runs just before the first POST; the loop ends early after `lostInARow`
 * consecutive losses or when `stop()` says so. A failed POST rejects unless `tolerateApiErrors` (it then counts
 * as a status 0). `apiErrors` counts POSTs not answered 200.
 */
export async function timeDelivery(
  sockets,
  { base, senderToken, channelId, total, deadlineMs },
  {
    noncePrefix,
    onStart,
    lostInARow: maxLostInARow = Infinity,
    stop = () => false,
    tolerateApiErrors = false,
  },
) {
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
  onStart?.();
  const stopAt = Date.now() + deadlineMs;
  let lost = 0;
  let sent = 0;
  let apiErrors = 0;
  let lostInARow = 0;
  for (let i = 0; i < total && Date.now() < stopAt; i++) {
    const nonce = `${noncePrefix}${i}`;
    const start = now();
    const delivered = new Promise((resolve) =>
      pending.set(nonce, { start, remaining: sockets.length, done: resolve }),
    );
    const res = await call(base, 'POST', `/channels/${channelId}/messages`, senderToken, {
      content: `delivery ${i}`,
      nonce,
    }).catch((err) => {
      if (!tolerateApiErrors) throw err;
      return { status: 0 };
    });
    recordMs(histApi, now() - start);
    if (res.status !== 200) apiErrors++;
    let timer;
    const ok = await Promise.race([
      delivered.then(() => true),
      new Promise((r) => (timer = setTimeout(() => r(false), 5000))),
    ]);
    clearTimeout(timer);
    lostInARow = ok ? 0 : lostInARow + 1;
    if (!ok) {
      lost++;
      pending.delete(nonce);
    }
    sent++;
    if (lostInARow >= maxLostInARow || stop()) break;
  }
  return { hist: encode(histLast), api: encode(histApi), sent, lost, apiErrors };
}

const jobs = {
  /** Closed-loop POSTs: `concurrency` senders, tokens round-robin, `total` messages. */
  send: (params) => sendLoop(params),

  /** Open-loop background writes at `rate` per second until `total` or the deadline. */
  async sendRate({ base, token, channelId, rate, total, deadlineMs }) {
    const hist = createHistogram();
    const stopAt = Date.now() + deadlineMs;
    let sent = 0;
    let errors = 0;
    const inflight = new Set();
    const t0 = now();
    while (sent < total && Date.now() < stopAt) {
      const due = t0 + (sent * 1000) / rate;
      const wait = due - now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      // Latency is measured from when the request was due, so a stalled generator cannot hide queueing.
      const p = call(base, 'POST', `/channels/${channelId}/messages`, token, {
        content: `background ${sent}`,
      })
        .then((r) => {
          recordMs(hist, now() - due);
          if (r.status !== 200) errors++;
        })
        .catch(() => errors++)
        .finally(() => inflight.delete(p));
      inflight.add(p);
      sent++;
    }
    await Promise.all(inflight);
    return { hist: encode(hist), sent, errors, seconds: (now() - t0) / 1000 };
  },

  async history({ base, token, channelId, total, concurrency, deadlineMs }) {
    const hist = createHistogram();
    let next = 0;
    let errors = 0;
    const stopAt = Date.now() + deadlineMs;
    const t0 = now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < total && Date.now() < stopAt) {
          next++;
          const s = now();
          const res = await call(base, 'GET', `/channels/${channelId}/messages?limit=50`, token).catch(
            () => ({ status: 0, body: [] }),
          );
          recordMs(hist, now() - s);
          if (res.status !== 200 || res.body.length !== 50) errors++;
        }
      }),
    );
    return { hist: encode(hist), seconds: (now() - t0) / 1000, requests: next, errors };
  },

  /**
   * Delivery latency: `listeners` gateway clients, a sender POSTs `total` messages one at a time; the time from
   * POST start to MESSAGE_CREATE at the last listener is measured in this same process.
   */
  async delivery({ listenerTokens, ...params }) {
    const sockets = await Promise.all(listenerTokens.map((token) => connect(params.base, token)));
    const r = await timeDelivery(sockets, params, { noncePrefix: 'd' });
    for (const s of sockets) s.close();
    // A POST not answered 200 counts as lost.
    return { hist: r.hist, api: r.api, sent: r.sent, lost: r.lost + r.apiErrors };
  },
};

export function connect(base, token, extra = {}) {
  return new Promise((resolve, reject) => {
    const socket = io(base, {
      path: '/gateway',
      transports: ['websocket'],
      auth: { token, ...extra },
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

/**
 * Runs this process as a generator of `jobs`: it ends with its orchestrator, runs each {job, params} message
 * and answers {ok, result} (`finish(result)` first) or {ok: false, error}. Other messages are commands for a
 * running job ("drop", "close").
 */
export function serve(jobs, finish = (result) => result) {
  process.on('disconnect', () => process.exit(1));
  process.on('message', async (msg) => {
    if (!msg || typeof msg !== 'object' || !msg.job) return;
    try {
      const result = finish(await jobs[msg.job](msg.params));
      if (process.connected) process.send({ ok: true, result });
    } catch (err) {
      if (process.connected) process.send({ ok: false, error: String(err?.stack ?? err) });
    }
  });
}

/** Holds `tokens.length` gateway sessions and counts MESSAGE_CREATE until `expected` arrive. */
/**
 * Fan-out listeners as light sessions: frames are counted by their `42["MESSAGE_CREATE",` prefix, never decoded,
 * so a generator costs a few microseconds per delivery and the server under test (Parley, or the bare socket.io
 * baseline with `bare`) is what limits the rate.
 */
jobs.fanoutListenLight = async ({ base, tokens, expected, deadlineMs, bare = false, addresses }) => {
  const url = gatewayUrl(base, bare ? '/socket.io/' : undefined);
  const prefix = Buffer.from('42["MESSAGE_CREATE",');
  let received = 0;
  let first = 0;
  let last = 0;
  let resolveDone;
  const done = new Promise((resolve) => (resolveDone = resolve));
  const onFrame = (frame) => {
    if (frame.length < prefix.length || frame.compare(prefix, 0, prefix.length, 0, prefix.length) !== 0)
      return;
    const t = performance.timeOrigin + performance.now();
    if (received === 0) first = t;
    last = t;
    if (++received >= expected) resolveDone();
  };
  const sockets = [];
  for (let i = 0; i < tokens.length; i += 100)
    sockets.push(
      ...(await Promise.all(
        tokens.slice(i, i + 100).map(async (token, k) => {
          const auth = bare ? {} : { token };
          const localAddress = addresses?.length ? addresses[(i + k) % addresses.length] : undefined;
          return (await openResumable(url, auth, { onFrame, localAddress, connectOnly: bare })).ws;
        }),
      )),
    );
  process.send({ ready: true });
  const timer = setTimeout(resolveDone, deadlineMs);
  await done;
  clearTimeout(timer);
  for (const ws of sockets) ws.terminate();
  return { received, first, last };
};

/**
 * Discord-gateway listeners (`/discord-gateway`, protocol v10, JSON) as light clients (bench/lib/discord-light.mjs):
 * each session gets HELLO, IDENTIFYs with GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT, heartbeats, and waits for
 * READY. MESSAGE_CREATE frames are recognised by their `{"op":0,"t":"MESSAGE_CREATE"` prefix, never decoded; the
 * first and latest arrival of each nonce are kept, so the orchestrator can tell when the first and the last
 * session got each message. `cpuSeconds`: this process's CPU time from READY of all to the end, what the
 * receiving side cost.
 */
jobs.discordListen = async ({ base, tokens, expected, deadlineMs, addresses }) => {
  const url = `ws://${new URL(base).host}/discord-gateway?v=10&encoding=json`;
  const intents = (1 << 0) | (1 << 9) | (1 << 15);
  let received = 0;
  let first = 0;
  let last = 0;
  const firstByNonce = {};
  const lastByNonce = {};
  let resolveDone;
  const done = new Promise((resolve) => (resolveDone = resolve));
  const onMessage = (payload, t) => {
    if (received === 0) first = t;
    last = t;
    const nonce = nonceOfPayload(payload);
    if (nonce !== null) {
      firstByNonce[nonce] ??= t;
      lastByNonce[nonce] = t;
    }
    if (++received >= expected) resolveDone();
  };
  const sessions = [];
  for (let i = 0; i < tokens.length; i += 100)
    sessions.push(
      ...(await Promise.all(
        tokens.slice(i, i + 100).map((token, k) =>
          openDiscordLight(url, token, intents, {
            localAddress: addresses?.length ? addresses[(i + k) % addresses.length] : undefined,
            onMessage,
          }),
        ),
      )),
    );
  const cpu = process.cpuUsage();
  process.send({ ready: true });
  const timer = setTimeout(resolveDone, deadlineMs);
  await done;
  clearTimeout(timer);
  const used = process.cpuUsage(cpu);
  for (const session of sessions) session.close();
  return {
    received,
    first,
    last,
    firstByNonce,
    lastByNonce,
    cpuSeconds: (used.user + used.system) / 1e6,
  };
};

/**
 * The reconnect storm with light clients (bench/lib/light.mjs), so that the generators are not what limits it:
 * hold sessions, drop every transport at once on "drop" (the orchestrator then sends messages), and on
 * "reconnect" reconnect all of them at once with resume. Time to RESUMED per client, messages missing after the
 * replay, and what the gateway answered instead.
 */
jobs.stormLight = async ({ base, tokens, addresses, expectMessages, deadlineMs }) => {
  const url = gatewayUrl(base);
  const addr = (i) => (addresses?.length ? addresses[i % addresses.length] : undefined);
  const clients = tokens.map((token) => ({ token, seq: 0, session: null, nonces: new Set(), ws: null }));
  const onFrame = (c) => (frame) => {
    const s = seqOf(frame);
    if (s > c.seq) c.seq = s;
    if (c.session === null && frame.indexOf('"session_id":"') >= 0)
      c.session = JSON.parse(frame.toString('utf8', 2))[1].d.session_id;
    const nonce = nonceOf(frame);
    if (nonce?.startsWith('storm')) c.nonces.add(nonce);
  };
  for (let i = 0; i < clients.length; i += 200)
    await Promise.all(
      clients.slice(i, i + 200).map(async (c, k) => {
        c.ws = (
          await openResumable(url, { token: c.token }, { localAddress: addr(i + k), onFrame: onFrame(c) })
        ).ws;
      }),
    );
  process.send({ ready: true, phase: 'connected' });
  await new Promise((resolve) => process.once('message', resolve)); // "drop"
  for (const c of clients) c.ws.terminate(); // abrupt transport loss, no clean disconnect
  process.send({ ready: true, phase: 'dropped' });
  await new Promise((resolve) => process.once('message', resolve)); // "reconnect" (messages were sent meanwhile)
  const hist = createHistogram();
  const t0 = now();
  const outcomes = { resumed: 0, invalid: 0, ready: 0, failed: 0 };
  let within5s = 0;
  const stopAt = Date.now() + deadlineMs;
  await Promise.all(
    clients.map(async (c, i) => {
      const start = now();
      try {
        const { ws, outcome } = await openResumable(
          url,
          { token: c.token, session_id: c.session, seq: c.seq },
          { localAddress: addr(i), onFrame: onFrame(c), timeoutMs: Math.max(1000, stopAt - Date.now()) },
        );
        c.ws = ws;
        outcomes[outcome]++;
        if (outcome === 'resumed') {
          const ms = now() - start;
          recordMs(hist, ms);
          if (ms < 5000) within5s++;
        }
      } catch {
        outcomes.failed++;
      }
    }),
  );
  const seconds = (now() - t0) / 1000;
  // The replay follows RESUMED on the same socket: wait (bounded) until every resumed client has every message.
  const settleBy = Date.now() + 5000;
  while (Date.now() < settleBy && clients.some((c) => c.nonces.size < expectMessages))
    await new Promise((r) => setTimeout(r, 50));
  const lost = clients.reduce((sum, c) => sum + Math.max(0, expectMessages - c.nonces.size), 0);
  for (const c of clients) c.ws?.terminate();
  return {
    hist: encode(hist),
    resumed: outcomes.resumed,
    within5s,
    invalid: outcomes.invalid + outcomes.ready,
    failed: outcomes.failed,
    lost,
    seconds,
    clients: clients.length,
  };
};

const rssMb = () => Math.round(process.memoryUsage().rss / 2 ** 20);

/**
 * Holds light gateway sessions (bench/lib/light.mjs), opened on command: {cmd: 'open', upTo, deadlineMs} opens
 * sessions until `upTo` were attempted and answers with the counts; {cmd: 'stats'} answers the counts;
 * {cmd: 'close'} (or the end of `lifetimeMs`) closes them all and ends the job. MESSAGE_CREATE frames are counted.
 */
jobs.holdLight = async ({ base, tokens, addresses, rate = 2000, inflight = 64, lifetimeMs = 600_000 }) => {
  let received = 0;
  const pool = new LightPool({ base, tokens, addresses, rate, inflight, onMessage: () => received++ });
  const counts = () => ({
    open: pool.open,
    failed: pool.failed,
    dropped: pool.dropped,
    errors: pool.errors,
    received,
    generator_rss_mb: rssMb(),
  });
  await new Promise((resolve) => {
    const timer = setTimeout(resolve, lifetimeMs);
    const onCommand = async (msg) => {
      if (msg?.cmd === 'open') {
        const r = await pool.openUpTo(msg.upTo, msg.deadlineMs ?? 60_000);
        process.send({ ready: true, ...counts(), seconds: r.seconds });
      } else if (msg?.cmd === 'stats') {
        process.send({ ready: true, ...counts() });
      } else if (msg?.cmd === 'close') {
        clearTimeout(timer);
        process.off('message', onCommand);
        resolve();
      }
    };
    process.on('message', onCommand);
    process.send({ ready: true, ...counts() });
  });
  const result = counts();
  pool.close();
  return result;
};

/**
 * Delivery to the last recipient of a large channel: this one process holds every listener (light sessions) and
 * sends `total` messages one at a time; each message's time runs from POST start to the MESSAGE_CREATE received
 * by the last of the listeners, both taken here. A message not received by every listener within `timeoutMs` is
 * counted lost.
 */
jobs.deliveryLight = async ({
  base,
  gateways = [base],
  senderToken,
  channelId,
  tokens,
  addresses,
  rate = 2000,
  inflight = 64,
  total,
  timeoutMs = 5000,
  rampMs,
  deadlineMs,
}) => {
  const stopAt = Date.now() + deadlineMs;
  const pending = new Map();
  let frames = 0;
  const histLast = createHistogram();
  const histFirst = createHistogram();
  const histApi = createHistogram();
  const onMessage = (frame) => {
    frames++;
    const entry = pending.get(nonceOf(frame));
    if (!entry) return;
    const t = now();
    if (entry.remaining === entry.expected) recordMs(histFirst, t - entry.start);
    if (--entry.remaining === 0) {
      recordMs(histLast, t - entry.start);
      pending.delete(entry.nonce);
      entry.done(true);
    }
  };
  // Sessions round-robin over the gateways (`base` alone in the monolith); messages go through `base`.
  const pools = gateways.map(
    (gateway, k) =>
      new LightPool({
        base: gateway,
        tokens: tokens.filter((_, i) => i % gateways.length === k),
        addresses,
        rate: rate / gateways.length,
        inflight: Math.ceil(inflight / gateways.length),
        onMessage,
      }),
  );
  const pool = {
    get open() {
      return pools.reduce((a, p) => a + p.open, 0);
    },
    async openUpTo(n, ms) {
      const each = await Promise.all(pools.map((p) => p.openUpTo(Math.ceil(n / pools.length), ms)));
      const sum = (key) => each.reduce((a, r) => a + r[key], 0);
      return {
        open: this.open,
        failed: sum('failed'),
        dropped: sum('dropped'),
        errors: Object.assign({}, ...each.map((r) => r.errors)),
        seconds: Math.max(...each.map((r) => r.seconds)),
      };
    },
    close: () => pools.forEach((p) => p.close()),
  };
  const ramp = await pool.openUpTo(tokens.length, rampMs ?? Math.max(10_000, (stopAt - Date.now()) / 2));
  // Let the gateway finish what the ramp caused (presence updates to guild-mates) before timing anything.
  await new Promise((r) => setTimeout(r, 2000));
  let sent = 0;
  let lost = 0;
  let errors = 0;
  for (let i = 0; i < total && Date.now() < stopAt && pool.open > 0; i++) {
    const nonce = `big${i}`;
    const start = now();
    const expected = pool.open;
    const delivered = new Promise((resolve) =>
      pending.set(nonce, { nonce, start, expected, remaining: expected, done: resolve }),
    );
    const res = await call(base, 'POST', `/channels/${channelId}/messages`, senderToken, {
      content: `delivery ${i}`,
      nonce,
    }).catch(() => ({ status: 0 }));
    recordMs(histApi, now() - start);
    sent++;
    if (res.status !== 200) {
      errors++;
      pending.delete(nonce);
      continue;
    }
    const timer = setTimeout(() => pending.get(nonce)?.done(false), timeoutMs);
    const ok = await delivered;
    clearTimeout(timer);
    if (!ok) {
      lost++;
      pending.delete(nonce);
    }
  }
  const result = {
    hist: encode(histLast),
    first: encode(histFirst),
    api: encode(histApi),
    sent,
    lost,
    errors,
    listeners: pool.open,
    ramp: { ...ramp, open: pool.open },
    frames,
    generator_rss_mb: rssMb(),
  };
  pool.close();
  return result;
};

// Forked as a generator (not imported): serve the jobs above.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) serve(jobs);
