#!/usr/bin/env node
// A/B of the socket.io gateway's write path alone: N Connections (from a build's dist/) on a real socket.io
// server, one MESSAGE_CREATE dispatched to all of them per round, received by raw WebSocket clients (engine.io
// protocol 4 over a plain TCP socket) in a child process that parses the frames.
// `DIST=/path/to/dist N=10000 REPS=8 node bench/socketio-write-ab.mjs`; prints per round and the medians: when
// the last client saw the frame, and the server's CPU (all, user) per socket. Run two builds alternately.
import { createServer } from 'node:http';
import { DIST, clients, rounds } from './lib/write-ab.mjs';

// "40" (socket.io CONNECT to the default namespace) as a masked client frame, mask 0.
const CONNECT = Buffer.from([0x81, 0x82, 0, 0, 0, 0, 0x34, 0x30]);

/** Counts one socket's dispatch frames (payload starting `42`), across read boundaries. */
function counter(socket, onFrame) {
  let buf = Buffer.alloc(0);
  let upgraded = false;
  return (chunk) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    if (!upgraded) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      upgraded = true;
      buf = buf.subarray(end + 4);
      socket.write(CONNECT);
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
      if (buf[at] === 0x34 && buf[at + 1] === 0x32) onFrame();
      buf = buf.subarray(at + len);
    }
  };
}

if (process.argv[2] === 'client') {
  await clients(Number(process.argv[3]), '/socket.io/?EIO=4&transport=websocket', counter);
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
  await rounds({
    script: new URL(import.meta.url).pathname,
    port: http.address().port,
    conns,
    dispatch: (c, s, d) => c.send({ s, t: 'MESSAGE_CREATE', d }),
    // engine.io finishes its writes on later turns (after each write's callback): count to the last receipt.
    cpuToReceipt: true,
  });
  process.exit(0);
}
