#!/usr/bin/env node
// A/B of the Discord gateway's write path alone: N DiscordConnections (from a build's dist/) on a real ws server,
// one MESSAGE_CREATE dispatched to all of them per round, received by plain TCP clients in a child process.
// `DIST=/path/to/dist N=10000 REPS=5 [ZLIB=1] node bench/discord-write-ab.mjs` (ZLIB=1: zlib-stream sessions);
// prints per round and the medians: when the last client saw the frame, and the server's CPU (all, user) per
// socket. Run two builds alternately.
import { fork } from 'node:child_process';
import net from 'node:net';
const N = Number(process.env.N ?? 10000);
const DIST = process.env.DIST ?? new URL('../dist', import.meta.url).pathname;
if (process.argv[2] === 'client') {
  const port = Number(process.argv[3]);
  let got = 0;
  const key = 'dGhlIHNhbXBsZSBub25jZQ==';
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
                  `GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
                );
              },
            );
            let up = false;
            s.on('data', (d) => {
              if (!up) {
                up = true;
                res();
                return;
              }
              got++;
              if (got % N === 0) process.send({ t: performance.timeOrigin + performance.now() });
            });
          }),
      ),
    );
  }
  process.send({ ready: true });
} else {
  const { WebSocketServer } = await import('ws');
  const { DiscordConnection } = await import(`${DIST}/libs/realtime/src/discord/discord-connection.js`);
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise((r) => wss.once('listening', r));
  const conns = [];
  wss.on('connection', (ws) => {
    const c = new DiscordConnection(
      ws,
      () => '2',
      { limit: 1000, zlibStream: process.env.ZLIB === '1' },
      () => {
        throw new Error('overflow');
      },
    );
    c.intents = (1 << 0) | (1 << 9) | (1 << 15);
    conns.push(c);
  });
  const child = fork(new URL(import.meta.url).pathname, ['client', String(wss.address().port)]);
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
  while (conns.length < N) await new Promise((r) => setTimeout(r, 10));
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
    for (let i = 0; i < conns.length; i++) conns[i].send({ s: seq, t: 'MESSAGE_CREATE', d });
    const t1 = performance.timeOrigin + performance.now();
    await new Promise((r) => setImmediate(r));
    const t2 = performance.timeOrigin + performance.now();
    let cpu = process.cpuUsage(c0);
    const m = await next();
    // zlib-stream: compression runs on libuv's pool after this turn; count the process until the last receipt.
    if (process.env.ZLIB === '1') cpu = process.cpuUsage(c0);
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
  process.exit(0);
}
