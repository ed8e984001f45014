// `npm run bench -- --only=bigchannel2`: figure 4b with the sessions split over two gateway processes
// (microservices: api + 2 gateways over the local NATS and Redis, one seeded SQLite file). Figure 4b on one
// process is bounded by one thread's socket writes (docs/scaling.md: the bare loopback floor for 10,000 sockets
// is ~116-157 ms on this machine, whatever the server does); two gateways each write half. The generator is the
// same as figure 4b's (one process holding every listener and sending through the api, so send and receive
// times come from one clock), so the clients' side is the same in both figures.
import { join } from 'node:path';
import { merge, round, summary } from '../lib/hist.mjs';
import { seedDatabase } from '../lib/seed.mjs';
import { benchDir, startRole } from '../lib/server.mjs';
import { purgePrefix } from './microservices-purge.mjs';
import { clusterEnv } from './rolling.mjs';

export async function run({ quick, scale, DEADLINE, figure, runJob }) {
  const dir = benchDir();
  const seeded = await seedDatabase({
    path: join(dir, 'parley.db'),
    guilds: [{ members: scale.bigMembers }],
  });
  const { env, prefix } = clusterEnv(dir);
  const procs = [];
  try {
    procs.push(await startRole('api', { ...env, PARLEY__INSTANCE__NODE_ID: '1' }));
    procs.push(
      ...(await Promise.all(
        [2, 3].map((id) => startRole('gateway', { ...env, PARLEY__INSTANCE__NODE_ID: String(id) })),
      )),
    );
    const [api, ...gateways] = procs.map((p) => p.url);
    const g = seeded.guilds[0];
    const [sender, ...members] = g.members;
    const distinct = Math.min(scale.bigDistinct, members.length);
    const tokens = Array.from({ length: scale.bigListeners }, (_, i) => members[i % distinct].token);
    const r = await runJob('deliveryLight', {
      base: api,
      gateways,
      senderToken: sender.token,
      channelId: g.channelId,
      tokens,
      addresses: Array.from({ length: 8 }, (_, j) => `127.0.0.${40 + j}`),
      rate: 2000,
      total: scale.bigMessages,
      rampMs: quick ? 40_000 : 240_000,
      deadlineMs: DEADLINE + (quick ? 40_000 : 240_000),
    });
    const s = summary(merge([r.hist]));
    const first = summary(merge([r.first]));
    const answer = summary(merge([r.api]));
    figure(
      '4b-2gw',
      `delivery to last recipient, ${scale.bigMembers.toLocaleString('en')}-member channel, ` +
        `${r.listeners} sessions over 2 gateway processes (microservices)`,
      `p95 ${s.p95_ms}`,
      'ms',
      'p95<=100',
      s.p95_ms <= 100 && r.lost === 0,
      {
        p50_ms: s.p50_ms,
        p99_ms: s.p99_ms,
        max_ms: s.max_ms,
        first_recipient_p50_ms: first.p50_ms,
        api_p50_ms: answer.p50_ms,
        sent: r.sent,
        lost: r.lost,
        errors: r.errors,
        ramp: { open: r.ramp.open, failed: r.ramp.failed, seconds: round(r.ramp.seconds, 1) },
        note:
          'one generator process holds every listener (alternately on the two gateways) and sends through the ' +
          'api, one message at a time, as figure 4b',
      },
    );
  } finally {
    await Promise.allSettled(procs.map((p) => p.stop()));
    await purgePrefix(prefix);
  }
}
