// A light Discord-gateway client for holding thousands of sessions in one load generator process: a plain TCP
// socket speaking RFC 6455 itself (upgrade, then frames), and Discord's protocol v10 (HELLO, IDENTIFY, READY,
// HEARTBEAT). It exists so that figure 15's receiving side costs as little as a client can: a `ws` client runs
// every frame through its Receiver (a Writable stream, a copy of the payload, an event); here a frame is a
// header read and, for a MESSAGE_CREATE, a prefix compare and a search for its nonce in the bytes as they came.
// What is counted is still a complete, well-formed dispatch frame: the header's length must match the bytes,
// the payload must start `{"op":0,"t":"MESSAGE_CREATE"` and carry the nonce. Setup frames (HELLO, READY, ...)
// are decoded as JSON; nothing else is.
//
// Client frames are masked with a zero key (RFC 6455 5.3 requires a mask, and ws on the server unmasks it;
// the key's unpredictability protects proxies, of which there are none on loopback).
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';

const MESSAGE_PREFIX = Buffer.from('{"op":0,"t":"MESSAGE_CREATE"');
const NONCE_KEY = Buffer.from('"nonce":"');
const OP_DISPATCH = Buffer.from('{"op":0,');
const OP_ACK = Buffer.from('{"op":11,');
const QUOTE = 0x22;
const HEADER_END = Buffer.from('\r\n\r\n');
const OP_TEXT = 0x1;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;

const startsWith = (data, prefix) =>
  data.length >= prefix.length && data.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;

/** A client frame (FIN, masked with a zero key) carrying `payload`. */
function clientFrame(opcode, payload) {
  const length = payload.length;
  const ext = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const out = Buffer.alloc(2 + ext + 4 + length);
  out[0] = 0x80 | opcode;
  if (ext === 0) out[1] = 0x80 | length;
  else if (ext === 2) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(length, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeBigUInt64BE(BigInt(length), 2);
  }
  // Mask key 0,0,0,0 (already zero): the payload goes as is.
  payload.copy(out, 2 + ext + 4);
  return out;
}

/**
 * Opens one Discord session on `url` (ws://host:port/path?query) with `token` and `intents`; resolves once
 * READY arrived. `onMessage(payload, at)` gets each MESSAGE_CREATE frame's payload bytes and its arrival time.
 */
export function openDiscordLight(url, token, intents, { localAddress, onMessage, timeoutMs = 30_000 }) {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: u.hostname, port: Number(u.port), localAddress, noDelay: true });
    let upgraded = false;
    let pending = null;
    let seq = null;
    let heartbeat = null;
    let ready = false;
    const timer = setTimeout(() => fail(new Error('discord gateway: no READY in time')), timeoutMs);
    const send = (text) => socket.write(clientFrame(OP_TEXT, Buffer.from(text)));
    function fail(err) {
      clearTimeout(timer);
      clearInterval(heartbeat);
      socket.destroy();
      reject(err);
    }
    const onSetup = (payload) => {
      const p = JSON.parse(payload.toString('utf8'));
      if (typeof p.s === 'number') seq = p.s;
      if (p.op === 10) {
        heartbeat = setInterval(() => send(JSON.stringify({ op: 1, d: seq })), p.d.heartbeat_interval);
        send(
          JSON.stringify({
            op: 2,
            d: { token, intents, properties: { os: 'linux', browser: 'bench', device: 'bench' } },
          }),
        );
      } else if (p.op === 0 && p.t === 'READY' && !ready) {
        ready = true;
        clearTimeout(timer);
        resolve({ close: () => (clearInterval(heartbeat), socket.destroy()) });
      } else if (p.op === 9) fail(new Error('INVALID_SESSION on IDENTIFY'));
    };
    const onFrame = (opcode, payload, at) => {
      if (opcode === OP_TEXT) {
        if (startsWith(payload, MESSAGE_PREFIX)) onMessage(payload, at);
        // Before READY every frame is decoded; after it only the rare control frames (not dispatches or ACKs).
        else if (!ready || !(startsWith(payload, OP_DISPATCH) || startsWith(payload, OP_ACK)))
          onSetup(payload);
      } else if (opcode === OP_PING) socket.write(clientFrame(0xa, payload));
      else if (opcode === OP_CLOSE) {
        const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        fail(new Error(`closed ${code} ${payload.toString('utf8', 2)}`));
      }
    };
    /** Reads every complete frame of `data` (server frames are unmasked); keeps a partial one for later. */
    const onData = (chunk) => {
      const at = performance.timeOrigin + performance.now();
      let data = pending === null ? chunk : Buffer.concat([pending, chunk]);
      pending = null;
      if (!upgraded) {
        const end = data.indexOf(HEADER_END);
        if (end < 0) return void (pending = data);
        if (!data.toString('latin1', 0, 12).startsWith('HTTP/1.1 101'))
          return fail(new Error(`upgrade refused: ${data.toString('latin1', 0, end)}`));
        upgraded = true;
        data = data.subarray(end + HEADER_END.length);
      }
      let at0 = 0;
      while (data.length - at0 >= 2) {
        const opcode = data[at0] & 0x0f;
        let length = data[at0 + 1] & 0x7f;
        let start = at0 + 2;
        if (length === 126) {
          if (data.length - at0 < 4) break;
          length = data.readUInt16BE(at0 + 2);
          start += 2;
        } else if (length === 127) {
          if (data.length - at0 < 10) break;
          length = Number(data.readBigUInt64BE(at0 + 2));
          start += 8;
        }
        if (data.length < start + length) break;
        onFrame(opcode, data.subarray(start, start + length), at);
        at0 = start + length;
      }
      if (at0 < data.length) pending = data.subarray(at0);
    };
    socket.on('data', onData);
    socket.once('error', fail);
    socket.once('close', () => {
      clearInterval(heartbeat);
      if (!ready) fail(new Error('closed before READY'));
    });
    socket.once('connect', () => {
      socket.write(
        `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
  });
}

/** The nonce of a MESSAGE_CREATE payload (raw bytes), or null. */
export function nonceOfPayload(payload) {
  const at = payload.indexOf(NONCE_KEY);
  if (at < 0) return null;
  const start = at + NONCE_KEY.length;
  const end = payload.indexOf(QUOTE, start);
  return end < 0 ? null : payload.toString('latin1', start, end);
}
