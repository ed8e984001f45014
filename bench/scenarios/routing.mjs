// `npm run bench -- --only=routing`: what permission changes cost delivery (issue 16, item 2). One monolith,
// `routingListeners` sessions in one guild; the owner sends `routingMessages` messages into it, once alone and once
// with a permission change (@everyone's ADD_REACTIONS toggled: every member's view is recomputed, no channel
// appears or disappears) and a guild rename after every 10th message. Reported: fan-out deliveries per second of
// each, their ratio, and the routing storage reads and recomputations the changes caused (from /metrics).
// Variants alternate so drift on a shared machine hits each alike.
import { call, setupGuild } from '../lib/api.mjs';
import { median, round } from '../lib/hist.mjs';
import { startMonolith } from '../lib/server.mjs';

const ADD_REACTIONS = 1n << 6n;
const EVERY = 10;

async function metricSum(base, name, label = '') {
  const text = await (await fetch(`${base}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n'))
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{${label}`))
      sum += Number(line.split(' ').pop());
  return sum;
}

/** Routing reads other than those every session start makes (its memberships and its member row). */
const readsBeyondStarts = async (base) =>
  (await metricSum(base, 'parley_gateway_routing_reads_total', 'kind="guild"')) +
  (await metricSum(base, 'parley_gateway_routing_reads_total', 'kind="last_message_ids"'));

export async function run(ctx) {
  const { quick, scale, users, fanout, figure, shapes } = ctx;
  const listeners = scale.routingListeners ?? (quick ? 200 : 1000);
  const messages = scale.routingMessages ?? (quick ? 50 : 200);
  const server = await startMonolith({});
  try {
    const base = server.url;
    const team = await users(base, listeners + 1, 'route');
    const [owner, ...members] = team;
    const { guildId, channelId } = await setupGuild(base, team);
    const roles = (await call(base, 'GET', `/guilds/${guildId}/roles`, owner.token)).body;
    let everyone = BigInt(roles.find((r) => r.id === guildId).permissions);
    let changes = 0;
    const trigger = (withChanges) => () =>
      Promise.all(
        Array.from({ length: messages }, async (_, i) => {
          await call(base, 'POST', `/channels/${channelId}/messages`, owner.token, { content: `route ${i}` });
          if (!withChanges || i % EVERY !== EVERY - 1) return;
          everyone ^= ADD_REACTIONS;
          changes += 2;
          await Promise.all([
            call(base, 'PATCH', `/guilds/${guildId}/roles/${guildId}`, owner.token, {
              permissions: everyone.toString(),
            }),
            call(base, 'PATCH', `/guilds/${guildId}`, owner.token, { name: `bench guild ${i}` }),
          ]);
        }),
      );
    const tokens = members.map((u) => u.token);
    const runs = { messages_only: [], with_changes: [] };
    const readsBefore = await metricSum(base, 'parley_gateway_routing_reads_total');
    const recomputesBefore = await metricSum(base, 'parley_gateway_routing_recomputes_total');
    let readsDuringChanges = 0;
    for (let r = 0; r < (quick ? 1 : 3); r++) {
      runs.messages_only.push(await fanout(base, tokens, messages, trigger(false)));
      const reads = await readsBeyondStarts(base);
      runs.with_changes.push(await fanout(base, tokens, messages, trigger(true)));
      readsDuringChanges += (await readsBeyondStarts(base)) - reads;
    }
    const plain = median(runs.messages_only);
    const changed = median(runs.with_changes);
    shapes.routing = {
      listeners,
      messages,
      permission_changes: changes,
      messages_only_per_s: round(plain, 0),
      with_changes_per_s: round(changed, 0),
      // The guild's one load when the run's first session enters it is among these.
      routing_reads_beyond_session_starts: readsDuringChanges,
      routing_reads_total: (await metricSum(base, 'parley_gateway_routing_reads_total')) - readsBefore,
      recomputes: (await metricSum(base, 'parley_gateway_routing_recomputes_total')) - recomputesBefore,
    };
    figure(
      'R1',
      `fan-out to ${listeners} sessions with a permission change and a rename every ${EVERY} messages, vs none (ratio; median of runs)`,
      round(changed / plain, 2),
      'x',
      'reported',
      null,
      { messages_only_per_s: round(plain, 0), with_changes_per_s: round(changed, 0) },
    );
    figure(
      'R2',
      'routing storage reads beyond session starts in the runs with changes (incl. one guild load per run)',
      readsDuringChanges,
      'reads',
      'reported',
      null,
      { permission_changes: changes },
    );
  } finally {
    await server.stop();
  }
}
