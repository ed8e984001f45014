// `npm run bench -- --only=telemetry`: what tracing costs. The same monolith shapes (sequential sends, a
// fan-out burst) with telemetry off, then on at sample_rate 0.1 (and 1 in the full run), exporting to a
// local OTLP/HTTP sink in this process; variants alternate so drift on a shared machine hits each alike.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { call, setupGuild } from '../lib/api.mjs';
import { median, round, shapeOf } from '../lib/hist.mjs';
import { startMonolith } from '../lib/server.mjs';

/** Accepts OTLP/HTTP JSON exports and counts the spans, as a collector would receive them. */
async function otlpSink() {
  let spans = 0;
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      try {
        for (const rs of JSON.parse(Buffer.concat(chunks).toString()).resourceSpans ?? [])
          for (const ss of rs.scopeSpans ?? []) spans += ss.spans?.length ?? 0;
      } catch {
        // not JSON: not ours to count
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    spans: () => spans,
    close: () => new Promise((r) => server.close(r)),
  };
}

/** CPU time (user + system) a process has used, in ms: less sensitive than latency to a busy shared machine. */
function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks of 10 ms
}

async function measure(ctx, env) {
  const { scale, runJob, users, fanout, DEADLINE } = ctx;
  const server = await startMonolith(env);
  try {
    const base = server.url;
    const team = await users(base, 3, 'tel');
    const { channelId } = await setupGuild(base, team);
    const cpuBefore = cpuMs(server.pid);
    const send = shapeOf(
      await runJob('send', {
        base,
        tokens: [team[0].token],
        channelId,
        total: scale.seq,
        concurrency: 1,
        deadlineMs: DEADLINE,
      }),
    );
    const cpuPerSend = ((cpuMs(server.pid) - cpuBefore) * 1000) / scale.seq;
    const fan = await users(base, scale.fanoutClients, 'telfan');
    const cf = await setupGuild(base, [team[0], ...fan]);
    const perSecond = await fanout(
      base,
      fan.map((u) => u.token),
      scale.fanoutMessages,
      () =>
        Promise.all(
          Array.from({ length: scale.fanoutMessages }, (_, i) =>
            call(base, 'POST', `/channels/${cf.channelId}/messages`, team[0].token, { content: `tel ${i}` }),
          ),
        ),
    );
    return {
      send_p50_ms: send.p50_ms,
      send_p95_ms: send.p95_ms,
      send_per_s: send.msgs_per_s,
      server_cpu_us_per_send: cpuPerSend,
      fanout_per_s: perSecond,
    };
  } finally {
    await server.stop();
  }
}

export async function run(ctx) {
  const { quick, figure, shapes } = ctx;
  const sink = await otlpSink();
  const variants = {
    off: {},
    'sample_0.1': {
      PARLEY__TELEMETRY__ENABLED: 'true',
      PARLEY__TELEMETRY__SAMPLE_RATE: '0.1',
      PARLEY__TELEMETRY__OTLP_ENDPOINT: sink.url,
    },
    ...(quick
      ? {}
      : {
          sample_1: {
            PARLEY__TELEMETRY__ENABLED: 'true',
            PARLEY__TELEMETRY__SAMPLE_RATE: '1',
            PARLEY__TELEMETRY__OTLP_ENDPOINT: sink.url,
          },
        }),
  };
  const runs = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  try {
    for (let i = 0; i < (quick ? 2 : 3); i++)
      for (const [name, env] of Object.entries(variants)) runs[name].push(await measure(ctx, env));
  } finally {
    await sink.close();
  }
  const out = {};
  for (const [name, list] of Object.entries(runs))
    out[name] = {
      send_p50_ms: median(list.map((r) => r.send_p50_ms)),
      send_p95_ms: median(list.map((r) => r.send_p95_ms)),
      send_per_s: median(list.map((r) => r.send_per_s)),
      server_cpu_us_per_send: round(median(list.map((r) => r.server_cpu_us_per_send)), 0),
      fanout_per_s: round(median(list.map((r) => r.fanout_per_s)), 0),
      runs: list.length,
    };
  shapes.telemetry = { ...out, spans_exported: sink.spans() };
  const off = out.off;
  const on = out['sample_0.1'];
  const ratios = [
    ['T1', 'send p95', 'send_p95_ms', 'p95_ms'],
    ['T3', 'server CPU per send', 'server_cpu_us_per_send', 'us'],
    ['T2', 'fan-out deliveries/s', 'fanout_per_s', 'per_s'],
  ];
  for (const [id, what, key, unit] of ratios)
    figure(
      id,
      `telemetry cost: ${what} at sample_rate 0.1 vs off (ratio; median of runs)`,
      round(on[key] / off[key], 2),
      'x',
      'reported',
      null,
      { [`off_${unit}`]: off[key], [`on_${unit}`]: on[key] },
    );
}
