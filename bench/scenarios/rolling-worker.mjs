// A load generator process of the rolling-restart scenario (bench/scenarios/rolling.mjs): holds its share of the
// sessions as light gateway sessions (bench/lib/light.mjs) on two gateways, and when the victim gateway closes one
// (it drains on SIGTERM), reconnects it to the survivor with its session id and last sequence number, as a load
// balancer and socket.io-client would. Every dispatch is checked: sequence numbers run on without a gap or a
// repeat across the old and the new connection, each `roll*` message arrives once.
//
//   {cmd: 'expect', nonces, waitMs}   waits (bounded) until every session has every nonce, answers the counts
//   {cmd: 'close'}                    closes every session and ends the job (also at `lifetimeMs`)
import { createHistogram, encode, recordMs } from '../lib/hist.mjs';
import { gatewayUrl, nonceOf, openResumable, seqOf } from '../lib/light.mjs';
import { serve } from '../lib/loadgen.mjs';

const CLOSE_PREFIX = Buffer.from('42["CLOSE",');
const READY_PREFIX = Buffer.from('42["READY",');
const RESUMED_PREFIX = Buffer.from('42["RESUMED",');
const INVALID_PREFIX = Buffer.from('42["INVALID_SESSION",');
const startsWith = (data, prefix) =>
  data.length >= prefix.length && data.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
const count = (map, key) => map.set(key, (map.get(key) ?? 0) + 1);

async function rolling({
  gateways,
  victim,
  sessions: plan,
  addresses,
  openRate = 1000,
  inflight = 64,
  lifetimeMs = 900_000,
}) {
  const urls = gateways.map((g) => gatewayUrl(g));
  const survivor = urls[1 - victim];
  const addr = (i) => addresses[i % addresses.length];
  const resumeHist = createHistogram();
  const readyHist = createHistogram();
  const outcomes = { resumed: 0, ready: 0, invalid: 0, failed: 0 };
  const closeReasons = {};
  const errors = {};
  let within5s = 0;
  let unexpectedCloses = 0;
  const sessions = plan.map(({ token, gateway }, i) => ({
    i,
    token,
    gateway,
    sessionId: null,
    seq: 0,
    gaps: 0,
    repeats: 0,
    readies: 0,
    invalids: 0,
    nonces: new Map(),
    ws: null,
    moved: false,
  }));

  const onFrame = (s) => (frame) => {
    const n = seqOf(frame);
    const ready = startsWith(frame, READY_PREFIX);
    // A full READY starts the numbering over (counted as a full READY, not as a repeat).
    if (ready) s.seq = 0;
    if (n > 0) {
      if (n <= s.seq) s.repeats++;
      else if (n > s.seq + 1 && s.seq > 0) s.gaps++;
      if (n > s.seq) s.seq = n;
    }
    if (ready) {
      s.readies++;
      s.sessionId ??= JSON.parse(frame.toString('utf8', 2))[1].d.session_id;
    } else if (startsWith(frame, INVALID_PREFIX)) s.invalids++;
    else if (startsWith(frame, CLOSE_PREFIX)) {
      s.closeAt ??= performance.now();
      const reason = JSON.parse(frame.toString('utf8', 2))[1]?.reason ?? 'unknown';
      closeReasons[reason] = (closeReasons[reason] ?? 0) + 1;
    } else if (!startsWith(frame, RESUMED_PREFIX)) {
      const nonce = nonceOf(frame);
      if (nonce?.startsWith('roll')) count(s.nonces, nonce);
    }
  };

  /** The victim closed `s` (drain): resume it on the survivor, timed from the CLOSE frame (or the close). */
  async function move(s) {
    if (s.moved) return;
    s.moved = true;
    const start = s.closeAt ?? performance.now();
    try {
      const { ws, outcome } = await openResumable(
        survivor,
        { token: s.token, session_id: s.sessionId, seq: s.seq },
        {
          localAddress: addr(s.i),
          onFrame: onFrame(s),
          onClose: () => unexpectedCloses++,
          timeoutMs: 30_000,
        },
      );
      s.ws = ws;
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      if (outcome === 'resumed') {
        const ms = performance.now() - start;
        recordMs(resumeHist, ms);
        if (ms < 5000) within5s++;
      }
    } catch (err) {
      outcomes.failed++;
      const key = String(err.code ?? err.message).slice(0, 80);
      errors[key] = (errors[key] ?? 0) + 1;
    }
  }

  // Open every session (bounded handshakes in flight, paced) on its gateway.
  const t0 = performance.now();
  let next = 0;
  let openFailed = 0;
  await Promise.all(
    Array.from({ length: inflight }, async () => {
      while (next < sessions.length) {
        const s = sessions[next++];
        const wait = t0 + (s.i * 1000) / openRate - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const start = performance.now();
        try {
          const { ws, outcome } = await openResumable(
            urls[s.gateway],
            { token: s.token },
            {
              localAddress: addr(s.i),
              onFrame: onFrame(s),
              onClose: () => (s.gateway === victim && !s.moved ? void move(s) : unexpectedCloses++),
              timeoutMs: 30_000,
            },
          );
          if (outcome !== 'ready') throw new Error(`answered ${outcome} instead of READY`);
          recordMs(readyHist, performance.now() - start);
          s.ws = ws;
        } catch (err) {
          openFailed++;
          const key = `open: ${String(err.code ?? err.message).slice(0, 80)}`;
          errors[key] = (errors[key] ?? 0) + 1;
        }
      }
    }),
  );
  process.send({
    ready: true,
    phase: 'connected',
    open: sessions.length - openFailed,
    failed: openFailed,
    ready_ms: encode(readyHist),
  });

  const result = await new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), lifetimeMs);
    process.on('message', async (msg) => {
      if (msg?.cmd === 'close') {
        clearTimeout(timer);
        return resolve(null);
      }
      if (msg?.cmd !== 'expect') return;
      const missing = (s) => msg.nonces.some((n) => !s.nonces.has(n));
      const until = Date.now() + msg.waitMs;
      while (Date.now() < until && sessions.some((s) => s.ws && missing(s)))
        await new Promise((r) => setTimeout(r, 100));
      let lost = 0;
      let duplicated = 0;
      for (const s of sessions) {
        if (!s.ws) continue;
        for (const n of msg.nonces) {
          const c = s.nonces.get(n) ?? 0;
          if (c === 0) lost++;
          else duplicated += c - 1;
        }
      }
      const held = sessions.filter((s) => s.ws);
      const onVictim = held.filter((s) => s.gateway === victim);
      process.send({
        ready: true,
        phase: 'checked',
        sessions: held.length,
        on_victim: onVictim.length,
        moved: onVictim.filter((s) => s.moved).length,
        resumed: outcomes.resumed,
        resumed_within_5s: within5s,
        resume: encode(resumeHist),
        full_readies: held.reduce((a, s) => a + Math.max(0, s.readies - 1), 0) + outcomes.ready,
        invalid_sessions: held.reduce((a, s) => a + s.invalids, 0),
        failed_resumes: outcomes.failed,
        lost,
        duplicated,
        seq_gaps: held.reduce((a, s) => a + s.gaps, 0),
        seq_repeats: held.reduce((a, s) => a + s.repeats, 0),
        unexpected_closes: unexpectedCloses,
        close_reasons: closeReasons,
        errors,
      });
    });
  });
  for (const s of sessions) s.ws?.terminate();
  return result;
}

serve({ rolling });
