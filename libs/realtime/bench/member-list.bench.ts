// Cost of keeping one large member list: building it, then presence changes (a member going online or offline,
// which moves them between groups) with subscribers watching the first rows. Reports µs per change and how many
// changes reached a subscriber at all (a change past every subscribed range reaches nobody).
// Run after `npm run build`: node libs/realtime/bench/member-list.bench.ts [members] [changes] [subscribers]
// (Node strips the types; the list is loaded from dist/, as its source uses parameter properties.)
import { createRequire } from 'node:module';
import type { ListMember, MemberList as List } from '../src/member-list/member-list';

// Run from the repository's root.
const { MemberList } = createRequire(`${process.cwd()}/`)(
  './dist/libs/realtime/src/member-list/member-list.js',
) as {
  MemberList: typeof List;
};

const members = Number(process.argv[2] ?? 100_000);
const changes = Number(process.argv[3] ?? 20_000);
const subscribers = Number(process.argv[4] ?? 1000);

const list = new MemberList<number>('everyone', {
  hoisted: [],
  large: false,
  includes: () => true,
  item: (m) => ({ user: { id: m.userId }, presence: { status: m.status } }),
});
const all: ListMember[] = [];
for (let i = 0; i < members; i++)
  all.push({
    userId: String(1e17 + i),
    sortName: `user${(i * 7919) % members}`,
    roles: [],
    status: i % 10 === 0 ? 'online' : 'offline',
  });
let t = performance.now();
list.reset(
  list === null ? (undefined as never) : { hoisted: [], large: false, includes: () => true, item: (m) => m },
  all,
);
const buildMs = performance.now() - t;
for (let s = 0; s < subscribers; s++) list.subscribe(s, [[0, 99]]);
list.flush();
let reached = 0;
let ops = 0;
t = performance.now();
for (let i = 0; i < changes; i++) {
  const m = all[(i * 104729) % members];
  m.status = m.status === 'offline' ? 'online' : 'offline';
  list.set(m.userId, { ...m });
  const sent = list.flush();
  if (sent.size > 0) reached++;
  for (const o of sent.values()) ops += o.length;
}
const perChange = ((performance.now() - t) * 1000) / changes;
console.log(
  JSON.stringify({
    members,
    subscribers,
    build_ms: Math.round(buildMs),
    us_per_change: Math.round(perChange * 10) / 10,
    changes,
    changes_reaching_subscribers: reached,
    ops_sent: ops,
  }),
);
