import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';

/**
 * Discord dispatch frames for a fan-out: `{"op":0,"t":"T","s":N,"d":D}` as one unmasked WebSocket text frame,
 * written as two buffers. The body (`D}`) is encoded once per dispatch and the same Buffer is written to every
 * recipient; per recipient only a small head is built: the WebSocket frame header (FIN + text opcode and the
 * payload length) followed by `{"op":0,"t":"T","s":N,"d":`. Nothing per recipient grows with the payload.
 */

/** A dispatch's payload encoded once, with what intent filtering needs to know about it. */
export interface DispatchBody {
  /** The serialised `d` it was made from. */
  readonly source: string;
  /** `d` followed by the envelope's closing `}`, UTF-8. */
  readonly bytes: Buffer;
  /** The payload names a guild at the top level (`"guild_id":"…"`): a guild event, not a DM. */
  readonly inGuild: boolean;
}

// A dispatch reaches its recipients in a row (InterestRouter.fanOut), in at most two variants (`d` and the
// MESSAGE_CONTENT-blanked copy): two slots keep both without holding anything older.
let recent: DispatchBody | null = null;
let older: DispatchBody | null = null;

/** The body of `d`, encoded once for every recipient of the dispatch in progress. */
export function dispatchBody(d: string): DispatchBody {
  if (recent !== null && recent.source === d) return recent;
  if (older !== null && older.source === d) {
    const hit = older;
    older = recent;
    recent = hit;
    return hit;
  }
  const length = Buffer.byteLength(d);
  const bytes = Buffer.allocUnsafeSlow(length + 1);
  bytes.write(d, 0, length, 'utf8');
  bytes[length] = CLOSE_BRACE;
  const body: DispatchBody = { source: d, bytes, inGuild: d.includes('"guild_id":"') };
  older = recent;
  recent = body;
  return body;
}

const CLOSE_BRACE = 0x7d;
const FIN_TEXT = 0x81;

/** The envelope before `d`: the same field order as the string frames (`discordDispatchFrame`). */
export function envelopeHead(t: string, s: number): string {
  return `{"op":0,"t":"${t}","s":${s},"d":`;
}

/**
 * The per-recipient head: WebSocket frame header for a payload of `head + body` bytes, then `head`. Server
 * frames are not masked (RFC 6455 5.1); lengths up to 125 fit the first byte, up to 65535 take 16 bits, above
 * that 64 bits.
 */
export function frameHead(t: string, s: number, bodyLength: number): Buffer {
  const head = envelopeHead(t, s);
  const headLength = Buffer.byteLength(head);
  const payload = headLength + bodyLength;
  const headerLength = payload < 126 ? 2 : payload < 65536 ? 4 : 10;
  const out = Buffer.allocUnsafe(headerLength + headLength);
  out[0] = FIN_TEXT;
  if (payload < 126) {
    out[1] = payload;
  } else if (payload < 65536) {
    out[1] = 126;
    out.writeUInt16BE(payload, 2);
  } else {
    out[1] = 127;
    out.writeUInt32BE(Math.floor(payload / 2 ** 32), 2);
    out.writeUInt32BE(payload >>> 0, 6);
  }
  out.write(head, headerLength, headLength, 'utf8');
  return out;
}

/**
 * The parts of `ws` a pre-framed write needs: its Sender's frame writer (what engine.io itself uses to send
 * socket.io's pre-encoded broadcast frames), whether the Sender holds anything back (a compression or Blob
 * read in progress, or frames queued behind one), and the socket under it. Absent in a `ws` that changed them:
 * callers then use send().
 */
interface FrameSender {
  _state: number;
  _queue: unknown[];
  _socket: Duplex;
  sendFrame(list: Buffer[], cb?: (err?: Error) => void): void;
}

const SENDER_IDLE = 0;

function senderOf(ws: WebSocket): FrameSender | null {
  const sender = (ws as unknown as { _sender?: Partial<FrameSender> | null })._sender;
  if (
    !sender ||
    typeof sender.sendFrame !== 'function' ||
    typeof sender._state !== 'number' ||
    !Array.isArray(sender._queue) ||
    typeof sender._socket?.cork !== 'function'
  )
    return null;
  return sender as FrameSender;
}

// Sockets written to while a batch of events is routed stay corked until it is done (the bus delivers every event
// published in a turn in one go): the frames of a burst leave in one writev per socket, and a client reads them
// in one go. Uncorked on the next tick, so nothing waits for another turn of the event loop.
let corked: Duplex[] = [];
let flushScheduled = false;

function uncorkAll(): void {
  const sockets = corked;
  corked = [];
  flushScheduled = false;
  for (const socket of sockets) socket.uncork();
}

/**
 * Writes a pre-framed message straight to the socket when ws has nothing waiting to go out before it; returns
 * false (nothing written) otherwise, and the caller sends through ws.send(), which queues in order. What ws
 * writes itself meanwhile (a pong, a control frame) joins the same corked socket behind it, in order.
 */
export function writeFramed(ws: WebSocket, head: Buffer, body: Buffer, cb: (err?: Error) => void): boolean {
  const sender = senderOf(ws);
  if (sender === null || sender._state !== SENDER_IDLE || sender._queue.length > 0) return false;
  const socket = sender._socket;
  if (socket.writableCorked === 0) {
    socket.cork();
    corked.push(socket);
    if (!flushScheduled) {
      flushScheduled = true;
      process.nextTick(uncorkAll);
    }
  }
  sender.sendFrame([head, body], cb);
  return true;
}
