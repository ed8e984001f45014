#!/usr/bin/env node
// The floor under figure 15l: what one Node thread pays to write one small frame to each of N loopback TCP
// sockets, with nothing of Parley or ws in the way. `node bench/loopback-write-floor.mjs [N] [rounds]`.
//
// A plain net server holds N connections from a child process (plain net sockets that count chunks); each round
// writes one ~540-byte buffer to every socket in a loop and reports: how long the loop took, when the child saw
// its last chunk (wall, from the loop's start), the server's CPU per socket write (user and system) and the
// child's CPU per receipt. On loopback the sender's write(2) also runs the receiving side's TCP processing, so
// the system time is most of it: that is the per-recipient cost no user-space change removes.
import { fork } from 'node:child_process';
import net from 'node:net';

const N = Number((process.argv[2] === 'client' ? process.argv[3] : process.argv[2]) ?? 10_000);

if (process.argv[2] === 'client') {
  const port = Number(process.argv[4]);
  let got = 0;
  let cpu = process.cpuUsage();
  for (let i = 0; i < N; i += 200)
    await Promise.all(
      Array.from(
        { length: Math.min(200, N - i) },
        (_, k) =>
          new Promise((resolve, reject) => {
            const s = net.connect({ port, host: '127.0.0.1', localAddress: `127.0.0.${10 + ((i + k) % 8)}` });
            s.once('connect', resolve);
            s.once('error', reject);
            s.on('data', () => {
              if (++got % N !== 0) return;
              const used = process.cpuUsage(cpu);
              cpu = process.cpuUsage();
              process.send({
                at: performance.timeOrigin + performance.now(),
                cpu: (used.user + used.system) / N,
              });
            });
          }),
      ),
    );
  cpu = process.cpuUsage();
  process.send({ ready: true });
} else {
  const rounds = Number(process.argv[3] ?? 5);
  const conns = [];
  const server = net.createServer((s) => {
    s.setNoDelay(true);
    conns.push(s);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const child = fork(new URL(import.meta.url).pathname, ['client', String(N), String(server.address().port)]);
  const inbox = [];
  let wake = null;
  child.on('message', (m) => {
    inbox.push(m);
    wake?.();
  });
  const next = () =>
    new Promise((resolve) => {
      if (inbox.length) return resolve(inbox.shift());
      wake = () => {
        wake = null;
        resolve(inbox.shift());
      };
    });
  await next();
  for (let i = 0; i < 1000 && conns.length < N; i++) await new Promise((r) => setTimeout(r, 10));
  const body = Buffer.alloc(500, 0x61);
  const now = () => performance.timeOrigin + performance.now();
  for (let round = 0; round < rounds; round++) {
    const cpu0 = process.cpuUsage();
    const t0 = now();
    for (let i = 0; i < conns.length; i++) {
      const head = `{"op":0,"t":"MESSAGE_CREATE","s":${round + 1},"d":`;
      const frame = Buffer.allocUnsafe(head.length + body.length);
      frame.write(head, 0, 'latin1');
      body.copy(frame, head.length);
      conns[i].write(frame);
    }
    const loop = now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const seen = await next();
    console.log(
      JSON.stringify({
        sockets: conns.length,
        loop_ms: Math.round(loop * 10) / 10,
        last_receipt_ms: Math.round((seen.at - t0) * 10) / 10,
        server_cpu_us_per_write: Math.round(((cpu.user + cpu.system) / N) * 100) / 100,
        server_user_us_per_write: Math.round((cpu.user / N) * 100) / 100,
        client_cpu_us_per_receipt: Math.round(seen.cpu * 100) / 100,
      }),
    );
    await new Promise((r) => setTimeout(r, 300));
  }
  child.kill();
  server.close();
  for (const s of conns) s.destroy();
}
