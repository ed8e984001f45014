// Link previews (issue 18): send p95 of messages with a link against messages without, in the monolith, whose
// queue part unfurls every link in the same process (the worst case for the request path: the fetch, the parse
// and the MESSAGE_UPDATE share its cores). Each linked message names a page of its own on a local site (allowed
// by unfurl.allow_private_hosts), so every one is a cache miss and a real fetch. The unfurls are then awaited
// (the site counts its pages), to show they all happened, and how long after the last send.
import { createServer } from 'node:http';
import { waitFor } from '../../test/support/wait.ts';
import { setupGuild } from '../lib/api.mjs';
import { round, shapeOf } from '../lib/hist.mjs';
import { startMonolith } from '../lib/server.mjs';

const PAGE = (n) => `<!doctype html><html><head><title>Page ${n}</title>
<meta property="og:type" content="article"><meta property="og:title" content="Bench page ${n}">
<meta property="og:description" content="A page the benchmark links to"><meta property="og:site_name" content="Bench">
<meta property="og:image" content="/cover.png"></head><body>${'<p>text</p>'.repeat(200)}</body></html>`;

export async function run({ scale, figure, shapes, notes, runJob, users, DEADLINE }) {
  let pages = 0;
  const site = createServer((req, res) => {
    pages++;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE(req.url));
  });
  await new Promise((resolve) => site.listen(0, '127.0.0.1', resolve));
  const port = site.address().port;
  const server = await startMonolith({
    PARLEY__UNFURL__ALLOW_PRIVATE_HOSTS: JSON.stringify(['127.0.0.1']),
    PARLEY__LOGGING__LEVEL: 'warn',
  });
  try {
    const base = server.url;
    const team = await users(base, 3, 'unfurl');
    const { channelId } = await setupGuild(base, team);
    const total = scale.unfurlSends;
    const send = (content) =>
      runJob('send', {
        base,
        tokens: [team[0].token],
        channelId,
        total,
        concurrency: 1,
        deadlineMs: DEADLINE,
        content,
      });
    // Warm-up, then alternating runs so drift on the shared machine hits both alike.
    await send('warm up {i}');
    const plain = [];
    const linked = [];
    for (let round_ = 0; round_ < 2; round_++) {
      plain.push(shapeOf(await send(`plain message {i} of round ${round_}`)));
      const t0 = Date.now();
      const before = pages;
      linked.push(shapeOf(await send(`see http://127.0.0.1:${port}/r${round_}/{i} for details`)));
      const sentAt = Date.now();
      await waitFor(() => pages - before >= total, `${total} pages unfurled`, DEADLINE);
      linked[linked.length - 1].unfurl_drain_ms = Date.now() - sentAt;
      linked[linked.length - 1].seconds_total = round((Date.now() - t0) / 1000, 1);
    }
    // Links the guard refuses at once (a private address off the allow-list): the job runs, fetches nothing.
    // What the durable queue costs (enqueue, claim, the job's reads and cache write) without the page work.
    const refused = [];
    for (let round_ = 0; round_ < 2; round_++)
      refused.push(shapeOf(await send(`see http://10.255.0.${round_ + 1}/{i} for details`)));
    shapes['unfurl-send-linked-refused'] = refused;
    const p95 = (runs) => Math.max(...runs.map((r) => r.p95_ms));
    shapes['unfurl-send-plain'] = plain;
    shapes['unfurl-send-linked'] = linked;
    // The same linked sends with unfurl.enabled false (next server): what the text alone costs, no job.
    shapes['unfurl-send-linked-off'] = await linkedWithoutUnfurl({ users, runJob, total, port, DEADLINE });
    const ratio = p95(linked) / p95(plain);
    figure(
      '18-unfurl',
      `send p95 with a link (unfurled by the queue part, same process) / without, SQLite, ${total} sends`,
      round(ratio, 2),
      'x',
      '<=1.1',
      ratio <= 1.1,
      { plain_p95_ms: p95(plain), linked_p95_ms: p95(linked), pages_fetched: pages },
    );
  } catch (err) {
    notes.push(`unfurl: ${err.message}`);
    throw err;
  } finally {
    await server.stop();
    await new Promise((resolve) => site.close(resolve));
  }
}

async function linkedWithoutUnfurl({ users, runJob, total, port, DEADLINE }) {
  const server = await startMonolith({ PARLEY__UNFURL__ENABLED: 'false', PARLEY__LOGGING__LEVEL: 'warn' });
  try {
    const base = server.url;
    const team = await users(base, 3, 'nounfurl');
    const { channelId } = await setupGuild(base, team);
    const send = (content) =>
      runJob('send', {
        base,
        tokens: [team[0].token],
        channelId,
        total,
        concurrency: 1,
        deadlineMs: DEADLINE,
        content,
      });
    await send('warm up {i}');
    const runs = [];
    for (let r = 0; r < 2; r++)
      runs.push(shapeOf(await send(`see http://127.0.0.1:${port}/off${r}/{i} for details`)));
    return runs;
  } finally {
    await server.stop();
  }
}
