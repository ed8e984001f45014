import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';

/**
 * Pre-framed dispatches for a fan-out, shared by both gateway transports: the payload `d` is encoded once per
 * dispatch and shared by every recipient; per recipient only the head differs, the WebSocket frame header (FIN +
 * text opcode and the payload length) followed by the transport's envelope up to `d`:
 * - Discord: `{"op":0,"t":"T","s":N,"d":` + D + `}`;
 * - socket.io (an engine.io message carrying a socket.io EVENT): `42["T",{"s":N,"d":` + D + `}]`.
 * An ordinary frame is assembled whole (header, head, a copy of the body, the tail) and written with one plain
 * socket write; a large one is written as its head, the shared body uncopied and the tail, in one writev.
 */

/** A dispatch's payload encoded once, with what intent filtering needs to know about it. */
export interface DispatchBody {
  /** The serialised `d` it was made from. */
  readonly source: string;
  /** `d`, UTF-8. */
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
  const bytes = Buffer.allocUnsafeSlow(length);
  bytes.write(d, 0, length, 'utf8');
  const body: DispatchBody = { source: d, bytes, inGuild: d.includes('"guild_id":"') };
  older = recent;
  recent = body;
  return body;
}

const FIN_TEXT = 0x81;

/**
 * Frames up to this size are assembled whole per recipient (one allocation from Node's buffer pool, which
 * serves allocations below half its 8 KiB size, and a copy of the body): one plain write is cheaper than
 * the bookkeeping of a two-buffer writev. Larger bodies are not copied: their shared Buffer goes by writev.
 */
export const ASSEMBLE_LIMIT = 4095;

/** WebSocket frame header length for a payload of `payload` bytes (RFC 6455 5.2; server frames unmasked). */
function headerLength(payload: number): number {
  return payload < 126 ? 2 : payload < 65536 ? 4 : 10;
}

function writeHeader(out: Buffer, payload: number): void {
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
}

/**
 * The frame header and the envelope head `head` for a payload of `head + rest` bytes. `head` holds an event
 * name and numbers only: ASCII, so written as latin1 (one byte per character).
 */
export function frameHead(head: string, rest: number): Buffer {
  const payload = head.length + rest;
  const offset = headerLength(payload);
  const out = Buffer.allocUnsafe(offset + head.length);
  writeHeader(out, payload);
  out.write(head, offset, 'latin1');
  return out;
}

/** A whole dispatch frame in one Buffer: header, envelope head, a copy of the shared body, then the tail. */
export function assembledFrame(head: string, body: Buffer, tail: Buffer): Buffer {
  const payload = head.length + body.length + tail.length;
  const offset = headerLength(payload);
  const out = Buffer.allocUnsafe(offset + payload);
  writeHeader(out, payload);
  let at = offset + out.write(head, offset, 'latin1');
  at += body.copy(out, at);
  tail.copy(out, at);
  return out;
}

/**
 * The parts of `ws` a pre-framed write needs: whether its Sender holds anything back (a compression or Blob
 * read in progress, or frames queued behind one), and the socket under it. Absent in a `ws` that changed
 * them: callers then use send().
 */
interface FrameSender {
  _state: number;
  _queue: unknown[];
  _socket: Duplex;
}

const SENDER_IDLE = 0;

/** The socket under `ws` when a frame may be written straight to it (ws holds nothing back); else null. */
export function writableSocket(ws: WebSocket): Duplex | null {
  const sender = (ws as unknown as { _sender?: Partial<FrameSender> | null })._sender;
  if (
    !sender ||
    sender._state !== SENDER_IDLE ||
    !Array.isArray(sender._queue) ||
    sender._queue.length > 0 ||
    typeof sender._socket?.cork !== 'function'
  )
    return null;
  return sender._socket;
}

/**
 * Same-turn coalescing. The first frame a socket gets in a turn of the event loop is written at once (the
 * client can read it while the fan-out goes on to the next sockets); a second one in the same turn (a burst:
 * the bus delivers every event published in a turn in one go) corks the socket, and what follows joins it,
 * so a burst leaves in one writev per socket. Corked sockets are uncorked on the next tick.
 */
let turn = 1;
let corked: Duplex[] = [];
let endScheduled = false;

function endTurn(): void {
  turn++;
  endScheduled = false;
  const sockets = corked;
  corked = [];
  for (const socket of sockets) socket.uncork();
}

/** Where a connection keeps the turn of its last write (see `writeFrame`). */
export interface TurnMark {
  lastTurn: number;
}

/**
 * Writes a dispatch frame (the recipient's envelope `head`, the shared body, the envelope's `tail`) straight to
 * `socket`, which ws holds nothing back from (`writableSocket`). No completion callback: backpressure is read
 * from the socket's buffer.
 */
export function writeFrame(socket: Duplex, mark: TurnMark, head: string, body: Buffer, tail: Buffer): void {
  if (mark.lastTurn === turn) {
    if (socket.writableCorked === 0) {
      socket.cork();
      corked.push(socket);
    }
  } else {
    mark.lastTurn = turn;
    if (!endScheduled) {
      endScheduled = true;
      process.nextTick(endTurn);
    }
  }
  if (body.length <= ASSEMBLE_LIMIT) {
    socket.write(assembledFrame(head, body, tail));
    return;
  }
  // Large body: header and envelope head, the shared body, the tail, in one writev (a cork of its own unless
  // the socket is corked for the turn already).
  const own = socket.writableCorked === 0;
  if (own) socket.cork();
  socket.write(frameHead(head, body.length + tail.length));
  socket.write(body);
  socket.write(tail);
  if (own) socket.uncork();
}
