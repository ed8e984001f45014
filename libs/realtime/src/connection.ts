import type { Duplex } from 'node:stream';
import type { ResumeEntry } from '@parley/state';
import type { Socket } from 'socket.io';
import type { WebSocket } from 'ws';
import { type TurnMark, dispatchBody, writableSocket, writeFrame } from './dispatch-frame';
import {
  type ClosePayload,
  DISPATCH_TAIL,
  MAX_BATCH,
  batchFrame,
  dispatchFrame,
  dispatchHead,
  eventFrame,
} from './protocol';
import type { SessionConnection } from './session-connection';

export interface ConnectionOptions {
  /** Frames that may wait for this socket (ours plus the engine's) before it counts as a slow consumer. */
  limit: number;
  /** > 0 with `batch`: hold dispatches this long and send them as one BATCH frame. */
  coalesceMs: number;
  /** The client asked for coalesced frames (`auth.batch: true`). */
  batch: boolean;
  /** How long a closing connection may take to flush its last frame before it is cut. */
  closeGraceMs: number;
}

type Outbound = ResumeEntry | string;

/**
 * One socket's outbound side: a bounded queue in front of the engine.io connection.
 *
 * Backpressure: at most `window` frames are handed to engine.io at a time. engine.io passes its buffer to the
 * WebSocket only while the transport is writable, and the transport becomes writable again only once the
 * previous frames were accepted by the kernel, so a client that stops reading leaves frames waiting here.
 * `pending` (our queue plus frames handed to engine.io since its last flush) past `limit` is a slow consumer.
 * Memory per socket is therefore bounded by `limit` frames plus one engine.io flush (at most `window` frames).
 *
 * Direct writes: a dispatch that would be the next thing on the wire anyway (nothing queued here, nothing in
 * engine.io's buffer, a WebSocket transport without compression whose `ws` holds nothing back) skips engine.io
 * and is written pre-framed straight to the TCP socket (dispatch-frame.ts): the same bytes engine.io would
 * write, with the payload encoded once per fan-out instead of once per recipient. Those frames are counted
 * while the socket still holds unsent bytes (the count restarts whenever its buffer is found empty) and count
 * towards `limit` like queued ones.
 */
export class Connection implements SessionConnection, TurnMark {
  readonly window: number;
  /** Most frames ever waiting at once (for tests and diagnostics). */
  highWater = 0;
  /** The event-loop turn of this socket's last direct write (same-turn coalescing, dispatch-frame.ts). */
  lastTurn = 0;
  /** Dispatches written straight to the socket (the rest went through engine.io): for tests. */
  directWrites = 0;
  // Direct writes since the socket's buffer was last found empty.
  private direct = 0;
  private queue: Outbound[] = [];
  private head = 0;
  private engineQueued = 0;
  // Replayed frames at the head of the queue: they already sit in the resume buffer, so they do not count
  // against the limit; they are paced out like everything else.
  private backlog = 0;
  private pumping = false;
  private closed = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly coalescing: boolean;

  constructor(
    readonly socket: Socket,
    private readonly options: ConnectionOptions,
    private readonly onOverflow: (conn: Connection) => void,
  ) {
    this.window = Math.max(1, Math.min(64, Math.floor(options.limit / 2)));
    this.coalescing = options.batch && options.coalesceMs > 0;
    const conn = socket.conn;
    conn.on('flush', () => {
      this.engineQueued = 0;
    });
    conn.on('drain', () => this.pump());
    conn.once('close', () => this.dispose());
  }

  get pending(): number {
    return this.queue.length - this.head - this.backlog + this.engineQueued + this.directPending();
  }

  get isOpen(): boolean {
    return !this.closed && this.socket.conn.readyState === 'open';
  }

  /** Queues a dispatch (or a prebuilt frame); false when the socket is closed or this made it a slow consumer. */
  send(item: Outbound): boolean {
    if (this.closed) return false;
    if (typeof item !== 'string' && !this.coalescing && this.head === this.queue.length) {
      const socket = this.directSocket();
      if (socket !== null) return this.writeDirect(socket, item);
    }
    this.queue.push(item);
    const pending = this.pending;
    if (pending > this.highWater) this.highWater = pending;
    if (pending > this.options.limit) {
      this.onOverflow(this);
      return false;
    }
    if (!this.coalescing || this.queue.length - this.head >= MAX_BATCH) this.pump();
    else
      this.timer ??= setTimeout(() => {
        this.timer = null;
        this.pump();
      }, this.options.coalesceMs);
    return true;
  }

  /** Queues a replay (resume) ahead of anything sent after it, exempt from the slow-consumer limit. */
  sendBacklog(entries: readonly ResumeEntry[]): void {
    if (this.closed || entries.length === 0) return;
    for (const e of entries) this.queue.push(e);
    this.backlog += entries.length;
    this.pump();
  }

  /**
   * Drops whatever is still queued (the resume buffer has it), sends `CLOSE` and ends the connection:
   * `reconnect` closes only the transport, so socket.io-client reconnects on its own; otherwise the socket.io
   * session is disconnected and the client stays away until it decides to connect again.
   */
  close(payload: ClosePayload): void {
    if (this.closed) return;
    this.closed = true;
    this.clearQueue();
    const socket = this.socket;
    const conn = socket.conn;
    if (conn.readyState !== 'open') return;
    conn.write(eventFrame('CLOSE', payload));
    if (payload.reconnect) conn.close();
    else socket.disconnect(true);
    // A client that does not read never lets the last frames drain: cut it after a grace period.
    const cut = setTimeout(() => {
      if (conn.readyState === 'closed') return;
      conn.close(true);
      const ws = (conn.transport as unknown as { socket?: { terminate?: () => void } }).socket;
      ws?.terminate?.();
    }, this.options.closeGraceMs);
    cut.unref();
    conn.once('close', () => clearTimeout(cut));
  }

  /** The TCP socket under the connection when a frame written to it now is next on the wire; else null. */
  private directSocket(): Duplex | null {
    const conn = this.socket.conn as unknown as EngineSocket;
    if (conn.readyState !== 'open' || conn.upgrading || conn.writeBuffer?.length !== 0) return null;
    const transport = conn.transport;
    if (transport?.name !== 'websocket') return null;
    const ws = transport.socket;
    // A compressed connection keeps its frames going through ws (permessage-deflate, `per_message_deflate`).
    if (!ws || ws.extensions !== '') return null;
    return writableSocket(ws);
  }

  private writeDirect(socket: Duplex, entry: ResumeEntry): boolean {
    const pending = this.directPending() + this.engineQueued + 1;
    this.direct++;
    if (pending > this.highWater) this.highWater = pending;
    writeFrame(socket, this, dispatchHead(entry.t, entry.s), dispatchBody(entry.d).bytes, DISPATCH_TAIL);
    this.directWrites++;
    if (pending > this.options.limit) {
      this.onOverflow(this);
      return false;
    }
    return true;
  }

  /** Direct writes not yet known to have reached the kernel (none once the socket's buffer is empty). */
  private directPending(): number {
    if (this.direct > 0 && this.directSocketEmpty()) this.direct = 0;
    return this.direct;
  }

  private directSocketEmpty(): boolean {
    const ws = (this.socket.conn as unknown as EngineSocket).transport?.socket;
    return !ws || ws.bufferedAmount === 0;
  }

  private pump(): void {
    if (this.pumping || this.closed) return;
    this.pumping = true;
    try {
      const conn = this.socket.conn;
      while (this.head < this.queue.length && this.engineQueued < this.window && conn.readyState === 'open') {
        const item = this.queue[this.head];
        const before = this.head;
        let frame: string;
        if (typeof item === 'string') {
          frame = item;
          this.head++;
        } else if (this.coalescing) {
          const batch: ResumeEntry[] = [];
          while (
            batch.length < MAX_BATCH &&
            this.head < this.queue.length &&
            typeof this.queue[this.head] !== 'string'
          ) {
            batch.push(this.queue[this.head++] as ResumeEntry);
          }
          frame = batchFrame(batch);
        } else {
          frame = dispatchFrame(item);
          this.head++;
        }
        if (this.backlog > 0) this.backlog = Math.max(0, this.backlog - (this.head - before));
        // Counted before writing: a write that flushes at once resets the count in the 'flush' listener.
        this.engineQueued++;
        conn.write(frame);
      }
      if (this.head === this.queue.length) {
        this.queue = [];
        this.head = 0;
      } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
    } finally {
      this.pumping = false;
    }
  }

  private clearQueue(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue = [];
    this.head = 0;
    this.backlog = 0;
  }

  private dispose(): void {
    this.closed = true;
    this.clearQueue();
  }
}

/** The parts of engine.io's socket and WebSocket transport a direct write checks (engine.io 6). */
interface EngineSocket {
  readyState: string;
  upgrading?: boolean;
  writeBuffer?: unknown[];
  transport?: { name?: string; socket?: WebSocket };
}
