#!/usr/bin/env node
// A/B of the socket.io gateway's write path alone: N Connections (from a build's dist/) on a real socket.io
// server, one MESSAGE_CREATE dispatched to all of them per round, received by raw WebSocket clients (engine.io
// protocol 4 over a plain TCP socket) in a child process that parses the frames.
// `DIST=/path/to/dist N=10000 REPS=8 node bench/socketio-write-ab.mjs`; prints per round and the medians: when
// the last client saw the frame, and the server's CPU (all, user) per socket. Run two builds alternately.
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import net from 'node:net';
const N = Number(process.env.N ?? 10000);
const DIST = process.env.DIST ?? new URL('../dist', import.meta.url).pathname;

if (process.argv[2] === 'client') {
  const port = Number(process.argv[3]);
  const key = 'dGhlIHNhbXBsZSBub25jZQ==';
  // "40" (socket.io CONNECT to the default namespace) as a masked client frame, mask 0.
  const connectFrame = Buffer.from([0x81, 0x82, 0, 0, 0, 0, 0x34, 0x30]);
  let got = 0;
  /** Counts the dispatch frames (payload starting `42`) on one socket, across chunk boundaries. */
  function counter(socket) {
    let buf = Buffer.alloc(0);
    let upgraded = false;
    return (chunk) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        upgraded = true;
        buf = buf.subarray(end + 4);
        socket.write(connectFrame);
      }
      for (;;) {
        if (buf.length < 2) return;
        let len = buf[1] & 0x7f;
        let at = 2;
        if (len === 126) {
          if (buf.length < 4) return;
          len = buf.readUInt16BE(2);
          at = 4;
        } else if (len === 127) {
          if (buf.length < 10) return;
          len = Number(buf.readBigUInt64BE(2));
          at = 10;
        }
        if (buf.length < at + len) return;
        if (buf[at] === 0x34 && buf[at + 1] === 0x32) {
          got++;
          if (got % N === 0) process.send({ t: performance.timeOrigin + performance.now() });
        }
        buf = buf.subarray(at + len);
      }
    };
  }
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
                  `GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n` +
                    `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
                );
                res();
              },
            );
            s.on('data', counter(s));
          }),
      ),
    );
  }
  process.send({ ready: true });
} else {
  const { Server } = await import('socket.io');
  const { Connection } = await import(`${DIST}/libs/realtime/src/connection.js`);
  const http = createServer();
  const io = new Server(http, {
    transports: ['websocket'],
    perMessageDeflate: false,
    pingInterval: 600_000,
    pingTimeout: 600_000,
  });
  await new Promise((r) => http.listen(0, '127.0.0.1', r));
  const conns = [];
  io.on('connection', (socket) => {
    conns.push(
      new Connection(socket, { limit: 1000, coalesceMs: 0, batch: false, closeGraceMs: 1000 }, () => {
        throw new Error('overflow');
      }),
    );
  });
  const child = fork(new URL(import.meta.url).pathname, ['client', String(http.address().port)]);
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
    for (let i = 0; i < conns.length; i++) conns[i].send({ s: seq, t: 'MESSAGE_CREATE', d });
    const t1 = performance.timeOrigin + performance.now();
    await new Promise((r) => setImmediate(r));
    const t2 = performance.timeOrigin + performance.now();
    const m = await next();
    // engine.io finishes its writes on later turns (after each write's callback): count until the last receipt.
    const cpu = process.cpuUsage(c0);
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
