import { constants, createDeflate, type Deflate } from 'node:zlib';
import type { ResumeEntry } from '@parley/state';
import type { WebSocket } from 'ws';
import { type ClosePayload, GatewayCode } from '../protocol';
import type { SessionConnection } from '../session-connection';
import { type TurnMark, dispatchBody, writableSocket, writeFrame } from '../dispatch-frame';
import {
  DISCORD_ENVELOPE_TAIL,
  DiscordClose,
  Intent,
  Op,
  allowedByPlace,
  discordDispatchFrame,
  discordEnvelopeHead,
  discordOpFrame,
} from './discord-protocol';
import { withMessageContentRule } from './message-content';

export interface DiscordConnectionOptions {
  /** Frames written to the socket and not yet flushed to the kernel before it counts as a slow consumer. */
  limit: number;
  /** `compress=zlib-stream`: one zlib context for the connection's life, each frame ending in a sync flush. */
  zlibStream: boolean;
}

/**
 * One Discord-protocol socket's outbound side. Dispatches arrive numbered by the shared Session; here they are
 * filtered by the session's intents (and the MESSAGE_CONTENT rule) and framed as `{"op":0,...}` around the
 * payload, which is encoded once per dispatch (../dispatch-frame.ts): an uncompressed session gets a small head
 * of its own (frame header, op, t, s) in front of the shared body, written straight to its socket in one write;
 * a zlib-stream session feeds the same two parts to its own compressor. Backpressure: frames written while
 * the socket still held unsent bytes are counted (the count restarts whenever its buffer is found empty; a
 * zlib-stream session counts frames until its compressed write completes); past `limit` the client is a slow
 * consumer (it can resume).
 */
export class DiscordConnection implements SessionConnection, TurnMark {
  highWater = 0;
  /** The event-loop turn of this socket's last pre-framed write (same-turn coalescing, ../dispatch-frame.ts). */
  lastTurn = 0;
  /** Dispatches written pre-framed straight to the socket (the rest went through ws.send): for tests. */
  framedWrites = 0;
  /** The session's intents; null until IDENTIFY or RESUME says them. */
  intents: number | null = null;
  private inFlight = 0;
  private closed = false;
  private readonly deflate: Deflate | null;
  private deflated: Buffer[] = [];

  constructor(
    readonly ws: WebSocket,
    readonly userId: () => string,
    private readonly options: DiscordConnectionOptions,
    private readonly onOverflow: (conn: DiscordConnection) => void,
  ) {
    this.deflate = options.zlibStream ? createDeflate({ chunkSize: 64 * 1024 }) : null;
    this.deflate?.on('data', (chunk: Buffer) => this.deflated.push(chunk));
    ws.once('close', () => {
      this.closed = true;
      this.deflate?.close();
    });
  }

  get isOpen(): boolean {
    return !this.closed && this.ws.readyState === this.ws.OPEN;
  }

  get pending(): number {
    if (this.deflate === null && this.ws.bufferedAmount === 0) return 0;
    return this.inFlight;
  }

  send(item: ResumeEntry | string): boolean {
    if (!this.isOpen) return false;
    if (typeof item === 'string') {
      this.write(item);
      return true;
    }
    this.dispatch(item);
    if (this.inFlight > this.options.limit) {
      this.onOverflow(this);
      return false;
    }
    return true;
  }

  /** A resume's replay: exempt from the limit (it already sits in the resume buffer). */
  sendBacklog(entries: readonly ResumeEntry[]): void {
    for (const entry of entries) {
      if (!this.isOpen) return;
      this.dispatch(entry);
    }
  }

  /** A control frame (HELLO, HEARTBEAT_ACK, INVALID_SESSION, RECONNECT). */
  op(op: number, d: unknown): void {
    if (this.isOpen) this.write(discordOpFrame(op, d));
  }

  /** Parley's close reasons in Discord's terms: what a Discord client does next follows from the code. */
  close(payload: ClosePayload): void {
    if (payload.reason === 'server_shutdown') this.op(Op.RECONNECT, null);
    this.end(discordCloseCode(payload), payload.reason);
  }

  /** Closes with a Discord close code; a client that does not read is cut after a grace period. */
  end(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    const ws = this.ws;
    if (ws.readyState !== ws.OPEN) return;
    ws.close(code, reason.slice(0, 120));
    const cut = setTimeout(() => ws.terminate(), 5_000);
    cut.unref();
    ws.once('close', () => clearTimeout(cut));
  }

  private dispatch(entry: ResumeEntry): void {
    const intents = this.intents;
    if (intents === null) return;
    const source = dispatchBody(entry.d);
    if (!allowedByPlace(entry.t, source.inGuild, intents)) return;
    const d = withMessageContentRule(
      entry.t,
      entry.d,
      this.userId(),
      (intents & Intent.MESSAGE_CONTENT) !== 0,
    );
    const body = d === entry.d ? source : dispatchBody(d);
    this.counted();
    if (this.deflate) {
      this.compressed([discordEnvelopeHead(entry.t, entry.s), body.bytes, DISCORD_ENVELOPE_TAIL]);
      return;
    }
    // ws writes its own frames at once too while it holds nothing back, so frames stay in order either way.
    const socket = writableSocket(this.ws);
    if (socket !== null) {
      writeFrame(socket, this, discordEnvelopeHead(entry.t, entry.s), body.bytes, DISCORD_ENVELOPE_TAIL);
      this.framedWrites++;
    } else this.ws.send(discordDispatchFrame(entry.t, entry.s, d));
  }

  private write(frame: string): void {
    this.counted();
    if (this.deflate) this.compressed([frame]);
    else this.ws.send(frame);
  }

  private counted(): void {
    // Uncompressed: nothing unsent under the socket means every earlier frame reached the kernel.
    if (this.deflate === null && this.ws.bufferedAmount === 0) this.inFlight = 0;
    this.inFlight++;
    if (this.inFlight > this.highWater) this.highWater = this.inFlight;
  }

  private readonly done = (): void => {
    this.inFlight--;
  };

  /**
   * zlib-stream: the same deflate context throughout; each frame ends with a sync flush (00 00 ff ff), which
   * is how Discord clients know a message is complete. Flush callbacks run in order, so frames stay in order.
   */
  private compressed(parts: Array<string | Buffer>): void {
    const deflate = this.deflate as Deflate;
    for (const part of parts) deflate.write(part);
    deflate.flush(constants.Z_SYNC_FLUSH, () => {
      const out = this.deflated.length === 1 ? this.deflated[0] : Buffer.concat(this.deflated);
      this.deflated = [];
      if (this.ws.readyState === this.ws.OPEN) this.ws.send(out, this.done);
      else this.done();
    });
  }
}

function discordCloseCode(payload: ClosePayload): number {
  if (payload.code === GatewayCode.AUTHENTICATION_FAILED) return DiscordClose.AUTHENTICATION_FAILED;
  if (payload.code === GatewayCode.RATE_LIMITED) return DiscordClose.RATE_LIMITED;
  // 4000: Discord clients resume; 4007: they start a new session; 1000 after a takeover: they start over too.
  if (payload.reason === 'session_replaced') return 1000;
  return payload.resumable ? DiscordClose.UNKNOWN_ERROR : DiscordClose.INVALID_SEQ;
}
