// A load generator process of the capacity scenario (bench/scenarios/capacity.mjs): it holds its share of the
// simulated users as light gateway sessions (bench/lib/light.mjs) and plays the user model on command.
//
//   {cmd: 'open', upTo}        opens the sessions of users[0 .. upTo) not open yet (READY timed), answers counts
//   {cmd: 'run', seconds}      plays the user model with every open user for `seconds`, waits `drainMs` for the
//                              last deliveries, answers histograms and counts of that window only
//   {cmd: 'close'}             closes every session and ends the job (also at `lifetimeMs`)
//
// The user model is a set of Poisson processes, one per action, thinned per user: every tick (50 ms) each action
// fires about `rate * users * tick` times on users picked at random. A user in a guild of `lurkerFrom` members or
// more sends, types and reacts with probability `posterShare` (participation inequality: most members of a large
// community only read). Sends carry a nonce holding their start time, so every session receiving the
// MESSAGE_CREATE times its delivery without decoding the frame (all processes read the same clock).
import { call } from '../lib/api.mjs';
import { createHistogram, encode, recordMs } from '../lib/hist.mjs';
import { openResumable, gatewayUrl, nonceOf } from '../lib/light.mjs';
import { serve } from '../lib/loadgen.mjs';

const TICK_MS = 50;
const MESSAGE_PREFIX = Buffer.from('42["MESSAGE_CREATE",');
const CLOSE_PREFIX = Buffer.from('42["CLOSE",');
const wall = () => performance.timeOrigin + performance.now();
const rssMb = () => Math.round(process.memoryUsage().rss / 2 ** 20);

/** Poisson-distributed count with mean `mean` (Knuth; means here are small). */
function poisson(mean) {
  if (mean <= 0) return 0;
  if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * gaussian()));
  const limit = Math.exp(-mean);
  let k = 0;
  let p = Math.random();
  while (p > limit && k < 1000) {
    k++;
    p *= Math.random();
  }
  return k;
}

function gaussian() {
  return Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
}

class Window {
  constructor() {
    this.hist = {
      send: createHistogram(),
      delivery: createHistogram(),
      typing: createHistogram(),
      react: createHistogram(),
      history: createHistogram(),
      ack: createHistogram(),
    };
    this.errors = {};
    this.sendsByGuild = {};
    this.deliveries = 0;
    this.actions = { send: 0, typing: 0, react: 0, history: 0, ack: 0 };
  }

  error(key) {
    this.errors[key] = (this.errors[key] ?? 0) + 1;
  }

  result() {
    return {
      hist: Object.fromEntries(Object.entries(this.hist).map(([k, h]) => [k, encode(h)])),
      errors: this.errors,
      sendsByGuild: this.sendsByGuild,
      deliveries: this.deliveries,
      actions: this.actions,
    };
  }
}

/**
 * base: the api (REST); gatewayBase: the gateway its sessions connect to (the same process in the monolith).
 * users: [{token, channelId, guildId, guild, size, viewing}] this process's share; rates: per-user actions per second {send, react,
 * read}; typing goes with every send.
 */
async function capacity({
  base,
  gatewayBase = base,
  users,
  addresses,
  rates,
  lurkerFrom,
  posterShare,
  openRate = 500,
  inflight = 64,
  drainMs = 3000,
  lifetimeMs = 1_800_000,
}) {
  const url = gatewayUrl(gatewayBase);
  const sessions = [];
  let opened = 0;
  let failed = 0;
  let dropped = 0;
  const connectErrors = {};
  const readyHist = createHistogram();
  let window = null;
  const lastMessage = new Map(); // channel id -> the newest message id this process saw sent there

  const closeReasons = {}; // a dropped session's CLOSE reason (or "none": the socket closed without one)
  const onFrame = (frame) => {
    if (frame.length < 200 && frame.includes(CLOSE_PREFIX)) {
      const reason = /"reason":"([a-z_]+)"/.exec(frame.toString())?.[1] ?? 'unknown';
      closeReasons[reason] = (closeReasons[reason] ?? 0) + 1;
    }
    if (window === null || frame.length < MESSAGE_PREFIX.length) return;
    if (frame.compare(MESSAGE_PREFIX, 0, MESSAGE_PREFIX.length, 0, MESSAGE_PREFIX.length) !== 0) return;
    const nonce = nonceOf(frame);
    if (nonce === null || nonce[0] !== 'c') return;
    window.deliveries++;
    recordMs(window.hist.delivery, wall() - Number(nonce.slice(1)) / 10);
  };

  async function openUpTo(upTo, deadlineMs) {
    const stopAt = Date.now() + deadlineMs;
    const t0 = performance.now();
    const first = opened;
    const target = Math.min(upTo, users.length);
    await Promise.all(
      Array.from({ length: inflight }, async () => {
        while (opened < target && Date.now() < stopAt) {
          const i = opened++;
          const wait = t0 + ((i - first) * 1000) / openRate - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          const start = performance.now();
          try {
            const { ws, outcome } = await openResumable(
              url,
              { token: users[i].token },
              {
                localAddress: addresses[i % addresses.length],
                onFrame,
                onClose: () => dropped++,
                timeoutMs: Math.max(1000, Math.min(30_000, stopAt - Date.now())),
              },
            );
            if (outcome !== 'ready') {
              ws.terminate();
              throw new Error(`gateway answered ${outcome} instead of READY`);
            }
            recordMs(readyHist, performance.now() - start);
            // Users who have their large guild open ask for typing in it (docs/gateway.md, "Typing in large guilds").
            if (users[i].viewing)
              ws.send(
                `42${JSON.stringify(['GUILD_SUBSCRIPTIONS', { guild_id: users[i].guildId, typing: true }])}`,
              );
            sessions.push(i);
            users[i].ws = ws;
          } catch (err) {
            failed++;
            const key = String(err.code ?? err.message).slice(0, 80);
            connectErrors[key] = (connectErrors[key] ?? 0) + 1;
          }
        }
      }),
    );
    return { seconds: (performance.now() - t0) / 1000 };
  }

  const timed = async (kind, fn) => {
    const w = window;
    const start = performance.now();
    try {
      const res = await fn();
      if (res.status >= 300) w.error(`${kind} ${res.status}`);
      else recordMs(w.hist[kind], performance.now() - start);
      w.actions[kind]++;
      return res;
    } catch (err) {
      w.error(`${kind} ${String(err.code ?? err.message).slice(0, 60)}`);
      return null;
    }
  };

  const poster = (u) => u.size < lurkerFrom || Math.random() < posterShare;

  async function send(u) {
    await timed('typing', () => call(base, 'POST', `/channels/${u.channelId}/typing`, u.token));
    const w = window;
    const nonce = `c${Math.round(wall() * 10)}`;
    const res = await timed('send', () =>
      call(base, 'POST', `/channels/${u.channelId}/messages`, u.token, { content: 'capacity', nonce }),
    );
    if (res?.status === 200) {
      w.sendsByGuild[u.guild] = (w.sendsByGuild[u.guild] ?? 0) + 1;
      lastMessage.set(u.channelId, res.body.id);
    }
  }

  async function react(u) {
    const id = lastMessage.get(u.channelId);
    if (!id) return;
    await timed('react', () =>
      call(base, 'PUT', `/channels/${u.channelId}/messages/${id}/reactions/%F0%9F%91%8D/@me`, u.token),
    );
  }

  async function read(u) {
    const res = await timed('history', () =>
      call(base, 'GET', `/channels/${u.channelId}/messages?limit=50`, u.token),
    );
    const newest = res?.status === 200 ? res.body[0]?.id : undefined;
    if (newest)
      await timed('ack', () =>
        call(base, 'POST', `/channels/${u.channelId}/messages/${newest}/ack`, u.token, {}),
      );
  }

  async function play(seconds) {
    window = new Window();
    const inFlight = new Set();
    const fire = (fn, u) => {
      const p = fn(u).finally(() => inFlight.delete(p));
      inFlight.add(p);
    };
    const pick = () => users[sessions[Math.floor(Math.random() * sessions.length)]];
    const end = performance.now() + seconds * 1000;
    let next = performance.now();
    while (performance.now() < end && sessions.length > 0) {
      const dt = TICK_MS / 1000;
      const n = sessions.length;
      for (let k = poisson(rates.send * n * dt); k > 0; k--) {
        const u = pick();
        if (poster(u)) fire(send, u);
      }
      for (let k = poisson(rates.react * n * dt); k > 0; k--) {
        const u = pick();
        if (poster(u)) fire(react, u);
      }
      for (let k = poisson(rates.read * n * dt); k > 0; k--) fire(read, pick());
      next += TICK_MS;
      const wait = next - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    // Requests still in flight finish (bounded by the drain), then the last deliveries arrive.
    const drainEnd = Date.now() + drainMs;
    while (inFlight.size > 0 && Date.now() < drainEnd) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, drainMs));
    const result = window.result();
    window = null;
    return result;
  }

  const counts = () => ({
    open: sessions.length - dropped,
    failed,
    dropped,
    close_reasons: closeReasons,
    connect_errors: connectErrors,
    ready: encode(readyHist),
    generator_rss_mb: rssMb(),
  });

  await new Promise((resolve) => {
    const timer = setTimeout(resolve, lifetimeMs);
    const onCommand = async (msg) => {
      try {
        if (msg?.cmd === 'open') {
          const r = await openUpTo(msg.upTo, msg.deadlineMs ?? 120_000);
          process.send({ ready: true, ...counts(), seconds: r.seconds });
        } else if (msg?.cmd === 'run') {
          const r = await play(msg.seconds);
          process.send({ ready: true, ...counts(), window: r });
        } else if (msg?.cmd === 'close') {
          clearTimeout(timer);
          process.off('message', onCommand);
          resolve();
        }
      } catch (err) {
        process.send({ ready: true, failure: String(err?.stack ?? err) });
      }
    };
    process.on('message', onCommand);
    process.send({ ready: true, ...counts() });
  });
  for (const i of sessions) users[i].ws?.terminate();
  return counts();
}

serve({ capacity });
