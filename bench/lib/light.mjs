// A light gateway client for holding tens of thousands of sessions from one load generator process: a raw `ws`
// WebSocket speaking the engine.io v4 / socket.io v5 wire protocol of the websocket transport, and nothing else.
//
//   server: 0{"sid":..,"pingInterval":..}   engine.io OPEN
//   client: 40{"token":".."}                socket.io CONNECT to "/" with the auth of docs/gateway.md
//   server: 40{"sid":".."}                  connected (or 44{"message":..,"data":{"code":..}}: refused)
//   server: 42["READY",{"s":1,"d":..}]      the session is live
//   server: 2  -> client: 3                  engine.io heartbeat (ping from the server, pong from us)
//
// Every other frame is ignored, except that `onMessage` (if given) sees the raw bytes of 42["MESSAGE_CREATE"..]
// frames. Frames are not decoded unless needed: a pong costs a 1-byte compare, a dispatch a prefix compare.
import WebSocket from 'ws';

const PING = 0x32; // '2'
const MESSAGE_PREFIX = Buffer.from('42["MESSAGE_CREATE",');
const READY_PREFIX = Buffer.from('42["READY",');
const NONCE_KEY = Buffer.from('"nonce":"');
const QUOTE = 0x22;

export function gatewayUrl(base, path = '/gateway/') {
  const u = new URL(base);
  return `ws://${u.host}${path}?EIO=4&transport=websocket`;
}

/** The nonce of a MESSAGE_CREATE frame (raw bytes), or null. */
export function nonceOf(frame) {
  const at = frame.indexOf(NONCE_KEY);
  if (at < 0) return null;
  const start = at + NONCE_KEY.length;
  const end = frame.indexOf(QUOTE, start);
  return end < 0 ? null : frame.toString('latin1', start, end);
}

/**
 * Opens one session; resolves with the WebSocket once READY arrived. `onMessage(frame)` gets MESSAGE_CREATE
 * frames, `onClose()` a close after READY (the session was dropped).
 */
export async function openLight(url, token, { localAddress, onMessage, onClose, timeoutMs = 20_000 } = {}) {
  const onFrame = onMessage && ((frame) => startsWith(frame, MESSAGE_PREFIX) && onMessage(frame));
  const { ws, outcome } = await openResumable(url, { token }, { localAddress, onFrame, onClose, timeoutMs });
  if (outcome !== 'ready') {
    ws.terminate();
    throw new Error(`gateway answered ${outcome} instead of READY`);
  }
  return ws;
}

/**
 * A pool of light sessions opened at a bounded rate with a bounded number of handshakes in flight, spread
 * round-robin over loopback source addresses (each address has its own ephemeral port range).
 */
export class LightPool {
  constructor({ base, tokens, addresses, rate, inflight = 64, onMessage }) {
    this.url = gatewayUrl(base);
    this.tokens = tokens;
    this.addresses = addresses?.length ? addresses : [undefined];
    this.rate = rate;
    this.inflight = inflight;
    this.onMessage = onMessage;
    this.sockets = [];
    this.next = 0;
    this.failed = 0;
    this.dropped = 0;
    this.errors = {};
  }

  get open() {
    return this.sockets.length - this.dropped;
  }

  /** Opens sessions until `target` have been attempted (or the deadline passes); resolves with the counts. */
  async openUpTo(target, deadlineMs) {
    const stopAt = Date.now() + deadlineMs;
    const t0 = performance.now();
    const first = this.next;
    const workers = Array.from({ length: this.inflight }, async () => {
      while (this.next < Math.min(target, this.tokens.length) && Date.now() < stopAt) {
        const i = this.next++;
        // Open-loop pacing: attempt i is due at its slot of the rate.
        const due = t0 + ((i - first) * 1000) / this.rate;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        try {
          const ws = await openLight(this.url, this.tokens[i], {
            localAddress: this.addresses[i % this.addresses.length],
            onMessage: this.onMessage,
            onClose: () => this.dropped++,
            timeoutMs: Math.max(1000, Math.min(20_000, stopAt - Date.now())),
          });
          this.sockets.push(ws);
        } catch (err) {
          this.failed++;
          const key = String(err.code ?? err.message).slice(0, 80);
          this.errors[key] = (this.errors[key] ?? 0) + 1;
        }
      }
    });
    await Promise.all(workers);
    return {
      open: this.open,
      failed: this.failed,
      dropped: this.dropped,
      errors: this.errors,
      seconds: (performance.now() - t0) / 1000,
    };
  }

  close() {
    for (const ws of this.sockets) ws.terminate();
    this.sockets = [];
  }
}

/** The `data` of a socket.io CONNECT_ERROR frame (`44{...}`), for the error message. */
function refusal(frame) {
  try {
    return JSON.stringify(JSON.parse(frame.toString('utf8', 2)).data ?? {});
  } catch {
    return '';
  }
}

const RESUMED_PREFIX = Buffer.from('42["RESUMED",');
const INVALID_PREFIX = Buffer.from('42["INVALID_SESSION",');
const SEQ_KEY = Buffer.from(',{"s":');
const startsWith = (data, prefix) =>
  data.length >= prefix.length && data.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;

/** The `s` of a dispatch frame `42["TYPE",{"s":N,...`, or 0. */
export function seqOf(frame) {
  const at = frame.indexOf(SEQ_KEY);
  if (at < 0 || at > 64) return 0;
  let n = 0;
  for (let i = at + SEQ_KEY.length; i < frame.length; i++) {
    const c = frame[i];
    if (c < 0x30 || c > 0x39) break;
    n = n * 10 + (c - 0x30);
  }
  return n;
}

/**
 * A light session that can resume (the reconnect storm): `auth` is the CONNECT payload ({token} or {token,
 * session_id, seq}); resolves with { ws, outcome } on READY, RESUMED or INVALID_SESSION, whichever comes first.
 * `onFrame(frame)` sees every socket.io EVENT frame (`42[...`), before and after that; `onClose()` a close after
 * that (the session was dropped). With `connectOnly` it
 * resolves on the CONNECT ack (`40`) instead (outcome 'connected').
 */
export function openResumable(
  url,
  auth,
  { localAddress, onFrame, onClose, timeoutMs = 20_000, connectOnly = false } = {},
) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, {
      localAddress,
      family: 4,
      perMessageDeflate: false,
      skipUTF8Validation: true,
      handshakeTimeout: timeoutMs,
    });
    let settled = false;
    let opened = false;
    const timer = setTimeout(() => fail(new Error('gateway connect timeout')), timeoutMs);
    function fail(err) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.terminate();
      reject(err);
    }
    const settle = (outcome) => {
      if (settled) return;
      settled = opened = true;
      clearTimeout(timer);
      resolve({ ws, outcome });
    };
    ws.on('error', (err) => fail(err));
    ws.on('close', () => {
      if (opened) onClose?.();
      else fail(new Error('closed before READY or RESUMED'));
    });
    ws.on('message', (data) => {
      if (data.length === 1 && data[0] === PING) return void ws.send('3');
      if (data[0] === 0x30) return void ws.send(`40${JSON.stringify(auth)}`);
      if (data[0] === 0x34 && data[1] === 0x34)
        return fail(new Error(`gateway refused the connection ${refusal(data)}`));
      // `connectOnly`: a plain socket.io server (the fan-out baseline) has no READY; its CONNECT ack is the start.
      if (connectOnly && data[0] === 0x34 && data[1] === 0x30) return settle('connected');
      if (data[0] !== 0x34 || data[1] !== 0x32) return;
      onFrame?.(data);
      if (startsWith(data, READY_PREFIX)) settle('ready');
      else if (startsWith(data, RESUMED_PREFIX)) settle('resumed');
      else if (startsWith(data, INVALID_PREFIX)) settle('invalid');
    });
  });
}
