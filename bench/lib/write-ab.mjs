// The harness of the write-path A/B benches (bench/discord-write-ab.mjs, bench/socketio-write-ab.mjs): N raw TCP
// clients in a child process that upgrade to WebSocket and report when the last of them got a round's frame,
// and the server side's rounds (one MESSAGE_CREATE dispatched to every connection, timed to the last receipt,
// with the server's CPU per socket).
import { fork } from 'node:child_process';
import net from 'node:net';

export const N = Number(process.env.N ?? 10000);
export const DIST = process.env.DIST ?? new URL('../../dist', import.meta.url).pathname;
const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/**
 * Child side: opens N clients on `port` with `GET <path>` upgrades; `counter(socket, onFrame)` returns the 'data'
 * listener that calls `onFrame()` once per dispatch frame after the upgrade. Tells the parent `{ready}`, then
 * `{t}` (wall time) whenever every client got one more frame.
 */
export async function clients(port, path, counter) {
  let got = 0;
  const onFrame = () => {
    got++;
    if (got % N === 0) process.send({ t: performance.timeOrigin + performance.now() });
  };
  for (let i = 0; i < N; i += 200) {
    await Promise.all(
      Array.from(
        { length: Math.min(200, N - i) },
        (_, k) =>
          new Promise((res) => {
            const s = net.connect(
              { port, host: '127.0.0.1', localAddress: `127.0.0.${10 + ((i + k) % 8)}` },
              () => {
                s.write(
                  `GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
                    `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
                );
                res();
              },
            );
            s.on('data', counter(s, onFrame));
          }),
      ),
    );
  }
  process.send({ ready: true });
}

/**
 * Parent side: forks `script client <port>`, waits until `conns` holds N connections, then runs REPS rounds of
 * `dispatch(conn, seq, d)` over all of them. `cpuToReceipt`: count the server's CPU up to the last receipt
 * (work that finishes on later turns: engine.io's write callbacks, zlib), not just the dispatch loop's turn.
 */
export async function rounds({ script, port, conns, dispatch, cpuToReceipt = false }) {
  const child = fork(script, ['client', String(port)]);
  const msgs = [];
  let wake;
  child.on('message', (m) => {
    msgs.push(m);
    wake?.();
  });
  const next = () =>
    new Promise((r) => {
      if (msgs.length) r(msgs.shift());
      else
        wake = () => {
          wake = null;
          r(msgs.shift());
        };
    });
  await next();
  const connectBy = Date.now() + 120_000;
  while (conns.length < N && Date.now() < connectBy) await new Promise((r) => setTimeout(r, 10));
  if (conns.length < N) throw new Error(`only ${conns.length} of ${N} clients connected`);
  const author = {
    id: '1234567890123456789',
    username: 'someone',
    global_name: 'Some One',
    avatar: null,
    discriminator: '0',
    bot: false,
  };
  let seq = 0;
  const results = [];
  for (let rep = 0; rep < Number(process.env.REPS ?? 8); rep++) {
    const d = JSON.stringify({
      id: String(1e18 + rep),
      channel_id: '1234567890123456791',
      guild_id: '1234567890123456792',
      author,
      content: 'l ' + rep,
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: [],
      embeds: [],
      pinned: false,
      type: 0,
      nonce: 'dlat' + rep,
    });
    seq++;
    const c0 = process.cpuUsage();
    const t0 = performance.timeOrigin + performance.now();
    for (let i = 0; i < conns.length; i++) dispatch(conns[i], seq, d);
    const t1 = performance.timeOrigin + performance.now();
    await new Promise((r) => setImmediate(r));
    const t2 = performance.timeOrigin + performance.now();
    let cpu = process.cpuUsage(c0);
    const m = await next();
    if (cpuToReceipt) cpu = process.cpuUsage(c0);
    results.push({ last: m.t - t0, cpu: (cpu.user + cpu.system) / N, user: cpu.user / N });
    console.log(
      'loop',
      (t1 - t0).toFixed(1),
      'flushed',
      (t2 - t0).toFixed(1),
      'last recv',
      (m.t - t0).toFixed(1),
      'cpu us/sock',
      ((cpu.user + cpu.system) / N).toFixed(2),
      'user',
      (cpu.user / N).toFixed(2),
    );
    await new Promise((r) => setTimeout(r, 300));
  }
  const med = (k) => results.map((r) => r[k]).sort((a, b) => a - b)[Math.floor(results.length / 2)];
  console.log(
    JSON.stringify({
      dist: DIST,
      median_last_ms: med('last').toFixed(1),
      median_cpu_us: med('cpu').toFixed(2),
      median_user_us: med('user').toFixed(2),
    }),
  );
  child.kill();
}
