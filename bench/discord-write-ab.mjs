#!/usr/bin/env node
// A/B of the Discord gateway's write path alone: N DiscordConnections (from a build's dist/) on a real ws server,
// one MESSAGE_CREATE dispatched to all of them per round, received by plain TCP clients in a child process.
// `DIST=/path/to/dist N=10000 REPS=5 [ZLIB=1] node bench/discord-write-ab.mjs` (ZLIB=1: zlib-stream sessions);
// prints per round and the medians: when the last client saw the frame, and the server's CPU (all, user) per
// socket. Run two builds alternately.
import { DIST, clients, rounds } from './lib/write-ab.mjs';

const zlib = process.env.ZLIB === '1';
if (process.argv[2] === 'client') {
  // One frame per read after the upgrade answer (each round writes one frame per socket).
  await clients(Number(process.argv[3]), '/', (_socket, onFrame) => {
    let up = false;
    return () => {
      if (up) onFrame();
      up = true;
    };
  });
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
      { limit: 1000, zlibStream: zlib },
      () => {
        throw new Error('overflow');
      },
    );
    c.intents = (1 << 0) | (1 << 9) | (1 << 15);
    conns.push(c);
  });
  await rounds({
    script: new URL(import.meta.url).pathname,
    port: wss.address().port,
    conns,
    dispatch: (c, s, d) => c.send({ s, t: 'MESSAGE_CREATE', d }),
    // zlib-stream: compression runs on libuv's pool after this turn; count the process until the last receipt.
    cpuToReceipt: zlib,
  });
  process.exit(0);
}
