import type { AddressInfo } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { constants, createInflate } from 'node:zlib';
import { DiscordConnection, Intent, Op } from '@parley/realtime';
import WebSocket, { WebSocketServer } from 'ws';
import { waitFor } from '../../support/wait';

/**
 * The Discord gateway's pre-framed fan-out (libs/realtime/src/dispatch-frame.ts) decoded by real `ws`
 * clients: a real WebSocket server on 127.0.0.1 whose sockets are DiscordConnections, plain and zlib-stream
 * clients with and without MESSAGE_CONTENT, and dispatches whose frame payloads sweep the WebSocket length
 * boundaries (125/126 bytes, 65535/65536 bytes) in multi-byte UTF-8, interleaved with heartbeats, their ACKs,
 * WebSocket pings and pongs, and frames ws itself holds back. Every client must decode every frame, in order.
 */

const GUILD_ID = '100';
const AUTHOR_ID = '1';
const INTENTS_FULL = Intent.GUILDS | Intent.GUILD_MESSAGES | Intent.MESSAGE_CONTENT;
const INTENTS_NO_CONTENT = Intent.GUILDS | Intent.GUILD_MESSAGES;

interface Payload {
  op: number;
  t?: string | null;
  s?: number | null;
  d: any;
}

interface Spec {
  name: string;
  intents: number;
  zlib: boolean;
  /** Sequence number of this session's first dispatch: different widths shift each client's frame sizes. */
  firstSeq: number;
}

const SPECS: Spec[] = [
  { name: 'plain s=1', intents: INTENTS_FULL, zlib: false, firstSeq: 1 },
  { name: 'plain s=10', intents: INTENTS_FULL, zlib: false, firstSeq: 10 },
  { name: 'plain s=1000', intents: INTENTS_FULL, zlib: false, firstSeq: 1000 },
  { name: 'plain s=1000000', intents: INTENTS_FULL, zlib: false, firstSeq: 1_000_000 },
  { name: 'plain, no MESSAGE_CONTENT', intents: INTENTS_NO_CONTENT, zlib: false, firstSeq: 1 },
  { name: 'zlib-stream', intents: INTENTS_FULL, zlib: true, firstSeq: 1 },
  { name: 'zlib-stream, no MESSAGE_CONTENT', intents: INTENTS_NO_CONTENT, zlib: true, firstSeq: 5 },
];

/** A Discord client's receiving side, decoding with `ws` (and zlib for zlib-stream), keeping frame sizes. */
class Receiver {
  readonly payloads: Payload[] = [];
  /** Payload bytes of each uncompressed frame, in order. */
  readonly sizes: number[] = [];
  readonly binaryFrames: number[] = [];
  pongs = 0;
  pingsSent = 0;
  heartbeatsSent = 0;
  errors: Error[] = [];

  constructor(
    readonly spec: Spec,
    readonly ws: WebSocket,
  ) {
    ws.on('error', (err) => this.errors.push(err));
    ws.on('pong', () => this.pongs++);
    if (spec.zlib) {
      const inflate = createInflate({ finishFlush: constants.Z_SYNC_FLUSH });
      // Decoded once the message is complete: a chunk may end inside a multi-byte character.
      let chunks: Buffer[] = [];
      inflate.on('data', (chunk: Buffer) => chunks.push(chunk));
      ws.on('message', (data: Buffer) => {
        inflate.write(data);
        inflate.flush(constants.Z_SYNC_FLUSH, () => {
          if (chunks.length === 0) return;
          const text = Buffer.concat(chunks).toString('utf8');
          chunks = [];
          this.received(JSON.parse(text) as Payload);
        });
      });
    } else {
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        if (isBinary) this.binaryFrames.push(this.payloads.length);
        else this.sizes.push(data.length);
        this.received(JSON.parse(data.toString('utf8')) as Payload);
      });
    }
  }

  get dispatches(): Payload[] {
    return this.payloads.filter((p) => p.op === Op.DISPATCH);
  }

  get acks(): number {
    return this.payloads.filter((p) => p.op === Op.HEARTBEAT_ACK && p.d === null).length;
  }

  private received(p: Payload): void {
    this.payloads.push(p);
    // A heartbeat and a ping now and then, while dispatches are still being written to this socket.
    if (p.op === Op.DISPATCH && p.s! % 7 === 0) {
      this.ws.send(JSON.stringify({ op: Op.HEARTBEAT, d: p.s }));
      this.heartbeatsSent++;
    }
    if (p.op === Op.DISPATCH && p.s! % 11 === 0) {
      this.ws.ping();
      this.pingsSent++;
    }
  }
}

function message(i: number, content: string): Record<string, unknown> {
  return {
    id: String(5000 + i),
    channel_id: '200',
    guild_id: GUILD_ID,
    author: { id: AUTHOR_ID, username: 'sender', bot: false },
    content,
    embeds: [],
    attachments: [],
    mentions: [],
    nonce: `n${i}`,
  };
}

/** Content of exactly `bytes` UTF-8 bytes, mostly two- and four-byte characters. */
function contentOf(bytes: number): string {
  const quads = Math.floor(bytes / 4);
  const rest = bytes - quads * 4;
  const emoji = Math.max(0, quads - 1);
  return (
    '\u{1F4AC}'.repeat(emoji) + 'é'.repeat(2 * (quads - emoji) + Math.floor(rest / 2)) + 'a'.repeat(rest % 2)
  );
}

/** A small dispatch no intent gates (Parley's own read marker), padded to size. */
function ack(pad: string): Record<string, unknown> {
  return { channel_id: '200', pad };
}

/** The frame payload bytes of dispatch `t` with sequence `s` and data `data`. */
function payloadBytes(t: string, s: number, data: Record<string, unknown>): number {
  return Buffer.byteLength(`{"op":0,"t":"${t}","s":${s},"d":${JSON.stringify(data)}}`);
}

describe('Discord gateway: pre-framed dispatches decoded by real clients', () => {
  let wss: WebSocketServer;
  const conns: DiscordConnection[] = [];
  const receivers: Receiver[] = [];

  beforeAll(async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    wss.on('connection', (ws, req) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const spec = SPECS[Number(url.searchParams.get('client'))];
      const conn = new DiscordConnection(
        ws,
        () => '2',
        { limit: 1_000_000, zlibStream: spec.zlib },
        () => {
          throw new Error(`${spec.name}: overflow`);
        },
      );
      conn.intents = spec.intents;
      conns[Number(url.searchParams.get('client'))] = conn;
      ws.on('message', (data: Buffer) => {
        const p = JSON.parse(data.toString('utf8')) as Payload;
        if (p.op === Op.HEARTBEAT) conn.op(Op.HEARTBEAT_ACK, null);
      });
    });
    const port = (wss.address() as AddressInfo).port;
    for (const [k, spec] of SPECS.entries()) {
      const q = `client=${k}&v=10&encoding=json${spec.zlib ? '&compress=zlib-stream' : ''}`;
      const ws = new WebSocket(`ws://127.0.0.1:${port}/?${q}`, { perMessageDeflate: false });
      receivers.push(new Receiver(spec, ws));
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
    }
    await waitFor(() => conns.filter(Boolean).length === SPECS.length, 'every client is connected');
  });

  afterAll(async () => {
    for (const r of receivers) r.ws.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });

  it('every client decodes every dispatch, in order, across the frame length boundaries', async () => {
    // Content sizes putting client 0's frame payload at each boundary -8..+8 (the others, with wider sequence
    // numbers, land a few bytes further on, so every client crosses every boundary).
    const sent: Array<{ t: string; data: Record<string, unknown> }> = [];
    const heldBack: number[] = [];
    let i = 0;
    const dispatch = (t: string, data: Record<string, unknown>) => {
      sent.push({ t, data });
      const d = JSON.stringify(data);
      for (const [k, conn] of conns.entries()) conn.send({ s: SPECS[k].firstSeq + i, t, d });
      i++;
    };
    const sized = (t: string, make: (content: string) => Record<string, unknown>, payload: number) => {
      const bytes = payload - payloadBytes(t, SPECS[0].firstSeq + i, make(''));
      if (bytes < 0) throw new Error(`no ${t} of ${payload} bytes`);
      dispatch(t, make(contentOf(bytes)));
    };
    for (const boundary of [125, 126, 65535, 65536]) {
      for (let delta = -8; delta <= 8; delta++) {
        if (boundary < 1000) sized('MESSAGE_ACK', ack, boundary + delta);
        else sized('MESSAGE_CREATE', (content) => message(i, content), boundary + delta);
        if (i % 3 === 0) await nextTurn(); // let heartbeats and pings in between frames
      }
    }
    // ws holding frames back (a Blob being read): dispatches then go through ws.send, behind it, in order.
    const framedBefore = conns.map((c) => c.framedWrites);
    for (const [k, conn] of conns.entries()) {
      if (SPECS[k].zlib) continue;
      heldBack.push(k);
      conn.ws.send(new Blob([JSON.stringify({ op: Op.HEARTBEAT_ACK, d: 'held back' })]));
    }
    for (let j = 0; j < 5; j++) dispatch('MESSAGE_CREATE', message(i, `after the blob ${j}`));
    for (const k of heldBack) expect(conns[k].framedWrites).toBe(framedBefore[k]);
    await nextTurn();
    for (let j = 0; j < 20; j++) dispatch('MESSAGE_CREATE', message(i, contentOf(300 + 37 * j)));

    const total = i;
    for (const r of receivers)
      await waitFor(() => r.dispatches.length >= total, `${r.spec.name} has every dispatch`, 30_000);
    for (const r of receivers) {
      await waitFor(
        () => r.acks === r.heartbeatsSent && r.pongs === r.pingsSent,
        `${r.spec.name} has every ACK and pong (${r.acks}/${r.heartbeatsSent}, ${r.pongs}/${r.pingsSent})`,
      );
      expect(r.errors).toEqual([]);
      const blanked = (r.spec.intents & Intent.MESSAGE_CONTENT) === 0;
      expect(r.dispatches).toEqual(
        sent.map(({ t, data }, n) => ({
          op: 0,
          t,
          s: r.spec.firstSeq + n,
          d: blanked && t === 'MESSAGE_CREATE' ? { ...data, content: '' } : data,
        })),
      );
      expect(r.heartbeatsSent).toBeGreaterThan(0);
      expect(r.pingsSent).toBeGreaterThan(0);
    }
    // Pre-framed writes were used (and were what crossed the boundaries), for every uncompressed session.
    for (const [k, conn] of conns.entries())
      if (!SPECS[k].zlib) expect(conn.framedWrites).toBeGreaterThan(total - 10);
    // The held-back frame arrived as the binary frame it was, before the dispatches sent after it.
    for (const k of heldBack) {
      const r = receivers[k];
      expect(r.binaryFrames).toHaveLength(1);
      const at = r.binaryFrames[0];
      expect(r.payloads[at]).toEqual({ op: Op.HEARTBEAT_ACK, d: 'held back' });
      expect(r.payloads.slice(at + 1).find((p) => p.op === Op.DISPATCH)?.d.content).toBe(
        (r.spec.intents & Intent.MESSAGE_CONTENT) === 0 ? '' : 'after the blob 0',
      );
    }
    // Client 0's frames sat exactly on each boundary (the others within a few bytes of it).
    for (const size of [125, 126, 127, 65535, 65536, 65537]) expect(receivers[0].sizes).toContain(size);
  });
});
