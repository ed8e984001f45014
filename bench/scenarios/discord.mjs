// `npm run bench -- --only=discord`: figure 15 of ../shared/benchmarks.md. Fan-out to N Discord-gateway
// listeners (`/discord-gateway`, JSON) against bare socket.io (and Parley's own socket.io transport) in the same
// run, a burst of messages, deliveries per second and their ratio; then delivery to the last of the sessions,
// message by message (p95 from the send to the last arrival). Sizes: `--scale=discordListeners=..,discordMessages=..`.
// Next to the rates (wall clock, so at the mercy of whatever else loads the machine), the server's own CPU time
// per delivery during each burst, for Parley and for bare socket.io: what the fan-out costs, whatever the load.
import { fork } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { call, setupGuild } from '../lib/api.mjs';
import { round } from '../lib/hist.mjs';
import { ROOT, cpuSecondsOf, histogramDelta, histogramOf, startMonolith } from '../lib/server.mjs';

const now = () => performance.timeOrigin + performance.now();

/**
 * N listeners in `ctx.scale.discordClientProcesses` (default 2) generator processes of `job`; `trigger` sends;
 * deliveries per second from the trigger on, the CPU seconds process `pid` (the server) used from the trigger
 * until the last delivery, and what the listener processes used meanwhile (`clientCpuSeconds`).
 */
async function listen(ctx, job, base, tokens, expected, trigger, pid, extra = {}) {
  const processes = Math.max(1, ctx.scale.discordClientProcesses ?? 2);
  const size = Math.ceil(tokens.length / processes);
  const parts = Array.from({ length: processes }, (_, k) => tokens.slice(k * size, (k + 1) * size)).filter(
    (part) => part.length > 0,
  );
  let ready = 0;
  const results = parts.map((part, k) =>
    ctx.runJob(
      job,
      {
        base,
        tokens: part,
        expected: part.length * expected,
        deadlineMs: ctx.DEADLINE,
        addresses: Array.from({ length: 4 }, (_, j) => `127.0.0.${80 + 4 * k + j}`),
        ...extra,
      },
      () => void ready++,
    ),
  );
  const { waitFor } = await import('../../test/support/wait.ts');
  await waitFor(() => ready >= parts.length, 'every listener part is ready', ctx.DEADLINE);
  const cpu = cpuSecondsOf(pid);
  const start = now();
  const sent = await trigger();
  const out = await Promise.all(results);
  const cpuSeconds = cpuSecondsOf(pid) - cpu;
  const received = out.reduce((a, r) => a + r.received, 0);
  const last = Math.max(...out.map((r) => r.last));
  const clientCpuSeconds = out.reduce((a, r) => a + (r.cpuSeconds ?? 0), 0);
  return { rate: received / ((last - start) / 1000), received, out, sent, cpuSeconds, clientCpuSeconds };
}

async function bareRate(ctx, clients, messages, payload) {
  const child = fork(join(ROOT, 'bench/lib/bare-server.mjs'), [], {
    env: { ...process.env, PAYLOAD: JSON.stringify(payload) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise((r) => child.once('message', (m) => r(m.port)));
  try {
    const base = `http://127.0.0.1:${port}`;
    await Promise.all(Array.from({ length: messages }, () => call(base, 'POST', '/noop', null, {})));
    let cpu = 0;
    const rate = await ctx.fanout(
      base,
      Array.from({ length: clients }, () => ''),
      messages,
      () => {
        cpu = cpuSecondsOf(child.pid);
        return Promise.all(Array.from({ length: messages }, () => call(base, 'POST', '/emit', null, {})));
      },
      true,
    );
    return { rate, cpuSeconds: cpuSecondsOf(child.pid) - cpu };
  } finally {
    child.kill();
  }
}

export async function run(ctx) {
  const n = ctx.scale.discordListeners;
  const messages = ctx.scale.discordMessages;
  const latencyMessages = ctx.scale.discordLatencyMessages;
  const server = await startMonolith({
    PARLEY__GATEWAY__MAX_CONNECTIONS_PER_IP: '100000',
    PARLEY__GATEWAY__HANDSHAKE_RATE__LIMIT: '1000000',
    // Set-up only: registering 10,000 listeners with the default argon2 costs takes half an hour on 2 cores.
    PARLEY__AUTH__ARGON2: '{"memory_cost":1024,"time_cost":1,"parallelism":1}',
  });
  try {
    const base = server.url;
    const [owner] = await ctx.users(base, 1, 'dsend');
    const listeners = await ctx.users(base, n, 'dfan');
    const guild = await setupGuild(base, [owner, ...listeners]);
    const tokens = listeners.map((u) => u.token);
    const burst = (tag) => async () => {
      const answers = await Promise.all(
        Array.from({ length: messages }, (_, i) =>
          call(base, 'POST', `/channels/${guild.channelId}/messages`, owner.token, {
            content: `${tag} ${i}`,
          }),
        ),
      );
      return answers[0].body;
    };

    // Parley's socket.io burst first: it is the fresh server's first message traffic, so the Discord figure does
    // not pay the warm-up (JIT) of the send path (HTTP, storage, routing) that every transport shares. With
    // `discordCompare=0` (a loaded machine, where 10,000 more socket.io clients may not connect in time) there is
    // no socket.io or bare run: the same number of messages warms the send path with nobody listening.
    const compare = (ctx.scale.discordCompare ?? 1) !== 0;
    const socketio = compare ? await ctx.fanout(base, tokens, messages, burst('socketio')) : null;
    if (!compare) await burst('warm-up')();
    const discord = await listen(ctx, 'discordListen', base, tokens, messages, burst('discord'), server.pid);
    const { rate: bare, cpuSeconds: bareCpu } = compare
      ? await bareRate(ctx, n, messages, discord.sent)
      : { rate: null, cpuSeconds: null };
    ctx.figure(
      15,
      `fan-out to ${n} Discord-gateway listeners, as a ratio to bare socket.io (same run)`,
      compare ? round(discord.rate / bare, 2) : 'not compared',
      'x',
      '>=2.0',
      compare ? discord.rate / bare >= 2 : null,
      {
        discord_per_s: round(discord.rate, 0),
        parley_socketio_per_s: compare ? round(socketio, 0) : null,
        bare_socketio_per_s: compare ? round(bare, 0) : null,
        lost: n * messages - discord.received,
        discord_server_cpu_us_per_delivery: round((discord.cpuSeconds / discord.received) * 1e6, 2),
        discord_client_cpu_us_per_delivery: round((discord.clientCpuSeconds / discord.received) * 1e6, 2),
        bare_server_cpu_us_per_delivery: compare ? round((bareCpu / (n * messages)) * 1e6, 2) : null,
        load_average_1m: round(loadavg()[0], 1),
        note: `${messages} messages in a burst, ${ctx.scale.discordClientProcesses ?? 2} generator processes (Discord: light raw-socket clients)`,
      },
    );

    // Delivery to the last session, one message at a time: send time to the latest arrival of its nonce. The
    // messages are paced (one every `discordLatencyGapMs`, open loop), so each one's fan-out is measured on its
    // own, as figure 4b does by waiting for the last arrival; sent back to back, each message would wait for the
    // previous ones' frames and the figure would measure the queue (a burst is what the rate figure above is for).
    const sentAt = {};
    const answeredAt = {};
    const gap = ctx.scale.discordLatencyGapMs ?? 500;
    let fanoutBefore = null;
    let fanoutAfter = null;
    const sequential = async () => {
      fanoutBefore = await histogramOf(base, 'parley_gateway_fanout_seconds');
      const start = now();
      for (let i = 0; i < latencyMessages; i++) {
        const wait = start + i * gap - now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        const nonce = `dlat${i}`;
        sentAt[nonce] = now();
        await call(base, 'POST', `/channels/${guild.channelId}/messages`, owner.token, {
          content: `l ${i}`,
          nonce,
        });
        answeredAt[nonce] = now();
      }
      // Read once every message's fan-out was observed (sessions closing after the run fan out presences).
      const { waitFor } = await import('../../test/support/wait.ts');
      await waitFor(
        async () => {
          fanoutAfter = await histogramOf(base, 'parley_gateway_fanout_seconds');
          return fanoutAfter.count - fanoutBefore.count >= latencyMessages;
        },
        'the server observed every paced message fan-out',
        30_000,
      );
    };
    // The server's own account of each fan-out (parley_gateway_fanout_seconds): from the start of the event's
    // fan-out to the return of its last socket write. What the clients add on top is the rest.
    const timed = await listen(ctx, 'discordListen', base, tokens, latencyMessages, sequential, server.pid);
    const fanout = histogramDelta(fanoutBefore, fanoutAfter);
    const sorted = (values) => values.sort((a, b) => a - b);
    const latencies = sorted(
      Object.keys(sentAt).map(
        (nonce) => Math.max(...timed.out.map((o) => o.lastByNonce[nonce] ?? Infinity)) - sentAt[nonce],
      ),
    );
    const firsts = sorted(
      Object.keys(sentAt).map(
        (nonce) => Math.min(...timed.out.map((o) => o.firstByNonce[nonce] ?? Infinity)) - sentAt[nonce],
      ),
    );
    const answers = sorted(Object.keys(sentAt).map((nonce) => answeredAt[nonce] - sentAt[nonce]));
    const pick = (values, q) =>
      round(values[Math.min(values.length - 1, Math.ceil(q * values.length) - 1)], 1);
    const p = (q) => pick(latencies, q);
    ctx.figure(
      '15l',
      `delivery to the last of ${n} Discord-gateway sessions`,
      `p50 ${p(0.5)} / p95 ${p(0.95)} / max ${p(1)}`,
      'ms',
      'p95<=100 (at 10,000 sessions)',
      n >= 10_000 ? p(0.95) <= 100 : null,
      {
        messages: latencyMessages,
        gap_ms: gap,
        lost: n * latencyMessages - timed.received,
        first_recipient_ms: `p50 ${pick(firsts, 0.5)} / p95 ${pick(firsts, 0.95)}`,
        api_answer_ms: `p50 ${pick(answers, 0.5)} / p95 ${pick(answers, 0.95)}`,
        server_fanout_ms: {
          events: fanout.count,
          mean: fanout.mean === null ? null : round(fanout.mean * 1000, 1),
          p50_at_most: fanout.p50 * 1000,
          p95_at_most: fanout.p95 * 1000,
        },
        // Over the whole paced phase (idle gaps included: heartbeats), per delivery.
        server_cpu_us_per_delivery: round((timed.cpuSeconds / timed.received) * 1e6, 2),
        client_cpu_us_per_delivery: round((timed.clientCpuSeconds / timed.received) * 1e6, 2),
        client_processes: ctx.scale.discordClientProcesses ?? 2,
        load_average_1m: round(loadavg()[0], 1),
      },
    );
  } finally {
    await server.stop();
  }
}
