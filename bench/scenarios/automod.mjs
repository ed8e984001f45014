// AutoMod on the send path (issue 20). Two measurements:
// 1. In process, the compiled engine as the api runs it (dist/): one evaluate() of an ordinary message against
//    200 enabled rules (keyword rules of 5 keywords each, some with an allow list, plus regex and mention-spam
//    rules) against an empty set; the p50 delta is what 200 rules add to a send (target < 0.1 ms). And the p99 of
//    a catastrophic-backtracking pattern, ^(a+)+$, on 2,000-character inputs built to make backtracking engines
//    explode (RE2: linear).
// 2. Over HTTP against the compiled monolith (SQLite): send p50/p99 in a guild without rules, then with the most
//    rules Discord allows (6 keyword rules of 1,000 keywords, 10 regexes, mention spam), then p99 of sends of the
//    pathological input with ^(a+)+$ in force. Sequential sends from one member (MANAGE_GUILD holders are exempt).
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { registerUser, setupGuild, call } from '../lib/api.mjs';
import { ROOT, startMonolith } from '../lib/server.mjs';

const require = createRequire(import.meta.url);

function percentiles(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { p50: round(at(0.5)), p99: round(at(0.99)), n: s.length };
}
const round = (v) => Math.round(v * 10_000) / 10_000;

function rule(i, over) {
  return {
    id: String(1000 + i),
    guild_id: '1',
    creator_id: '2',
    name: `rule ${i}`,
    event_type: 1,
    trigger_type: 1,
    trigger_metadata: {},
    actions: [{ type: 1 }],
    enabled: true,
    exempt_roles: [],
    exempt_channels: [],
    ...over,
  };
}

function engineRules(n) {
  const rules = [];
  for (let i = 0; i < n; i++) {
    if (i % 50 === 49)
      rules.push(rule(i, { trigger_type: 5, trigger_metadata: { mention_total_limit: 10 } }));
    else if (i % 20 === 19)
      rules.push(rule(i, { trigger_metadata: { regex_patterns: [`sp[a4]m${i}\\d+`, `fr[e3]{2}cash${i}`] } }));
    else
      rules.push(
        rule(i, {
          trigger_metadata: {
            keyword_filter: [`badword${i}`, `*scam${i}*`, `phish${i}*`, `*spoof${i}`, `two words ${i}`],
            allow_list: i % 3 === 0 ? [`scam${i}alert`] : [],
          },
        }),
      );
  }
  return rules;
}

const MESSAGES = [
  'hey everyone, the release notes are up, take a look when you have a minute',
  'lol yes',
  'Can someone review my PR? It touches the storage layer and the migrations for 0034.',
  'meeting moved to 3pm, same room, bring the slides <@123456789012345678>',
];

function inProcess(iterations) {
  const { CompiledRuleSet } = require(join(ROOT, 'dist/libs/chat/src/moderation/automod/engine.js'));
  const none = new CompiledRuleSet([]);
  const many = new CompiledRuleSet(engineRules(200));
  const input = (content) => ({
    content,
    authorId: '9',
    channelId: '8',
    roles: ['7'],
    mentionCount: 1,
    repeated: false,
  });
  const time = (set, content) => {
    const t = process.hrtime.bigint();
    set.evaluate(input(content));
    return Number(process.hrtime.bigint() - t) / 1e6;
  };
  for (let i = 0; i < 2000; i++) time(many, MESSAGES[i % MESSAGES.length]); // warm up both paths
  const base = [];
  const with200 = [];
  for (let i = 0; i < iterations; i++) {
    const m = MESSAGES[i % MESSAGES.length];
    base.push(time(none, m));
    with200.push(time(many, m));
  }
  const evil = new CompiledRuleSet([rule(0, { trigger_metadata: { regex_patterns: ['^(a+)+$'] } })]);
  const patho = [];
  for (let i = 0; i < Math.max(50, iterations / 100); i++) patho.push(time(evil, `${'a'.repeat(1999)}!`));
  if (many.evaluate(input('this has badword7 in it')).length !== 1)
    throw new Error('200-rule set missed a keyword');
  return { none: percentiles(base), rules200: percentiles(with200), pathological: percentiles(patho) };
}

async function sends(base, token, channelId, n, content) {
  const samples = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    const res = await call(base, 'POST', `/channels/${channelId}/messages`, token, { content: content(i) });
    samples.push(Number(process.hrtime.bigint() - t) / 1e6);
    if (res.status !== 200) throw new Error(`send answered ${res.status}: ${JSON.stringify(res.body)}`);
  }
  return percentiles(samples);
}

async function overHttp(n) {
  const server = await startMonolith({ PARLEY__RATE_LIMITS__ENABLED: 'false' });
  try {
    const base = server.url;
    const [owner, member] = [await registerUser(base, 'am'), await registerUser(base, 'am')];
    const { guildId, channelId } = await setupGuild(base, [owner, member]);
    const text = (i) => `${MESSAGES[i % MESSAGES.length]} (${i})`;
    await sends(base, member.token, channelId, 100, text); // warm up
    const without = await sends(base, member.token, channelId, n, text);
    const post = (body) => call(base, 'POST', `/guilds/${guildId}/auto-moderation/rules`, owner.token, body);
    let firstRule = '';
    for (let r = 0; r < 6; r++) {
      const keywords = Array.from({ length: 1000 }, (_, k) => `w${r}x${k}${k % 2 ? '*' : ''}`);
      const res = await post({
        name: `words ${r}`,
        event_type: 1,
        trigger_type: 1,
        trigger_metadata:
          r === 0
            ? {
                keyword_filter: keywords.slice(0, 990),
                regex_patterns: Array.from({ length: 10 }, (_, k) => `sp[a4]m${k}\\d+`),
              }
            : { keyword_filter: keywords },
        actions: [{ type: 1 }],
        enabled: true,
      });
      if (res.status !== 200) throw new Error(`rule answered ${res.status}: ${JSON.stringify(res.body)}`);
      firstRule ||= res.body.id;
    }
    await post({
      name: 'mentions',
      event_type: 1,
      trigger_type: 5,
      trigger_metadata: { mention_total_limit: 20 },
      actions: [{ type: 1 }],
      enabled: true,
    });
    await sends(base, member.token, channelId, 100, text);
    const withRules = await sends(base, member.token, channelId, n, text);
    // The guild holds its 6 keyword rules already: the pathological pattern joins the first one's regexes.
    const evil = await call(
      base,
      'PATCH',
      `/guilds/${guildId}/auto-moderation/rules/${firstRule}`,
      owner.token,
      {
        trigger_metadata: { keyword_filter: ['w0x1'], regex_patterns: ['^(a+)+$'] },
      },
    );
    if (evil.status !== 200)
      throw new Error(`rule update answered ${evil.status}: ${JSON.stringify(evil.body)}`);
    const pathological = await sends(
      base,
      member.token,
      channelId,
      Math.max(50, n / 4),
      (i) => `${'a'.repeat(1990)}${i}!`,
    );
    return { without, withRules, pathological };
  } finally {
    await server.stop();
  }
}

export async function run({ quick, figure, shapes }) {
  const local = inProcess(quick ? 20_000 : 100_000);
  const delta = round(local.rules200.p50 - local.none.p50);
  figure(
    '20-automod-200',
    'AutoMod: 200 rules add to a send, p50 (compiled engine, in process)',
    delta,
    'ms',
    '<0.1',
    delta < 0.1,
    local,
  );
  figure(
    '20-automod-regex',
    'AutoMod: ^(a+)+$ on a 2,000-character adversarial message, p99 (RE2)',
    local.pathological.p99,
    'ms',
    '<5',
    local.pathological.p99 < 5,
  );
  const http = await overHttp(quick ? 300 : 1000);
  shapes['automod-http'] = http;
  const httpDelta = round(http.withRules.p50 - http.without.p50);
  figure(
    '20-automod-http',
    'AutoMod: send p50 with the most rules Discord allows minus without (HTTP, SQLite)',
    httpDelta,
    'ms',
    '<0.1',
    null,
    http,
  );
}
