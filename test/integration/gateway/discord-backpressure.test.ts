import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { DiscordConnection, Intent } from '@parley/realtime';
import { type WebSocket, WebSocketServer } from 'ws';
import { waitFor } from '../../support/wait';

/**
 * Backpressure of the Discord gateway's direct writes (libs/realtime/src/dispatch-frame.ts): frames go
 * to the socket with no completion callback, and a connection counts the frames written while its socket still
 * held unsent bytes. A client that stops reading must become a slow consumer once the kernel's buffers are full
 * and `limit` more frames wait; a client that reads must never be one, and its count goes back to zero. Real
 * sockets on 127.0.0.1; the paused client is a raw TCP socket that upgraded and then stopped reading.
 */

const INTENTS = Intent.GUILDS | Intent.GUILD_MESSAGES | Intent.MESSAGE_CONTENT;

function messageData(i: number, bytes: number): string {
  return JSON.stringify({
    id: String(9000 + i),
    channel_id: '200',
    guild_id: '100',
    author: { id: '1', username: 'sender' },
    content: 'x'.repeat(bytes),
    nonce: `n${i}`,
  });
}

describe('Discord gateway: backpressure without write callbacks', () => {
  let wss: WebSocketServer;
  let port: number;
  const accepted: Array<(ws: WebSocket) => void> = [];
  const clients: Socket[] = [];

  beforeAll(async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    port = (wss.address() as AddressInfo).port;
    wss.on('connection', (ws) => accepted.shift()?.(ws));
  });

  afterAll(async () => {
    for (const c of clients) c.destroy();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });

  /** A raw client that upgrades; `read` false: it stops reading right after the upgrade answer. */
  async function open(
    limit: number,
    read: boolean,
  ): Promise<{ conn: DiscordConnection; overflowed: () => number; bytes: () => number }> {
    let overflows = 0;
    let bytes = 0;
    const server = new Promise<WebSocket>((resolve) => accepted.push(resolve));
    const socket = connect({ host: '127.0.0.1', port });
    clients.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    socket.write(
      'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    await new Promise<void>((resolve) =>
      socket.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (!read) socket.pause();
        resolve();
      }),
    );
    const ws = await server;
    const conn = new DiscordConnection(
      ws,
      () => '2',
      { limit, zlibStream: false },
      () => overflows++,
    );
    conn.intents = INTENTS;
    return { conn, overflowed: () => overflows, bytes: () => bytes };
  }

  it('a client that stops reading becomes a slow consumer once `limit` frames wait', async () => {
    const { conn, overflowed } = await open(20, false);
    // 64 KB frames: the loopback socket's buffers fill within a few hundred; bounded well above that.
    const d = messageData(0, 64 * 1024);
    let sent = 0;
    while (overflowed() === 0 && sent < 5_000) conn.send({ s: ++sent, t: 'MESSAGE_CREATE', d });
    expect(overflowed()).toBe(1);
    expect(conn.pending).toBeGreaterThan(20);
    expect(conn.highWater).toBeGreaterThan(20);
    // Every frame went straight to the socket (ws held nothing back).
    expect(conn.framedWrites).toBe(sent);
  });

  it('a client that reads never overflows, and nothing stays pending once it has read everything', async () => {
    const { conn, overflowed, bytes } = await open(20, true);
    const start = bytes();
    let expected = 0;
    for (let turn = 0; turn < 50; turn++) {
      // A burst of 10 in one turn: coalesced into one write per socket, counted while corked.
      for (let k = 0; k < 10; k++) {
        const s = turn * 10 + k + 1;
        const d = messageData(s, 300);
        expected += Buffer.byteLength(`{"op":0,"t":"MESSAGE_CREATE","s":${s},"d":${d}}`) + 4;
        conn.send({ s, t: 'MESSAGE_CREATE', d });
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await waitFor(() => bytes() - start >= expected, 'the client read every frame');
    expect(bytes() - start).toBe(expected);
    expect(overflowed()).toBe(0);
    expect(conn.pending).toBe(0);
    expect(conn.highWater).toBeLessThanOrEqual(20);
  });
});
