import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface S3Server {
  endpoint: string;
  bucket: string;
  stop(): Promise<void>;
}

// Runs in the child: s3rver (a local S3-protocol server) on a free loopback port, one bucket.
const CHILD = `
const S3rver = require(process.env.S3RVER_MODULE);
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory: process.env.S3RVER_DIR,
  configureBuckets: [{ name: process.env.S3RVER_BUCKET }],
});
server.run().then(({ port }) => process.stdout.write(JSON.stringify({ port }) + '\\n'), (err) => {
  process.stderr.write(String(err && err.stack || err));
  process.exit(1);
});
process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
`;

/**
 * Starts s3rver as its own process on a loopback port and waits until it listens. Fails (never
 * skips) with what went wrong when it cannot start.
 */
export async function startS3Server(bucket = 'parley-test', timeoutMs = 20_000): Promise<S3Server> {
  const dir = mkdtempSync(join(tmpdir(), 'parley-s3rver-'));
  let modulePath: string;
  try {
    modulePath = require.resolve('s3rver');
  } catch {
    throw new Error('s3rver is not installed: run "npm install" (it is a devDependency)');
  }
  const child: ChildProcess = spawn(process.execPath, ['-e', CHILD], {
    env: { PATH: process.env.PATH ?? '', S3RVER_MODULE: modulePath, S3RVER_DIR: dir, S3RVER_BUCKET: bucket },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the local S3 server (s3rver) did not start in ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      const match = /\{"port":(\d+)\}/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the local S3 server (s3rver) exited with ${code} before listening:\n${output}`));
    });
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    stop: () =>
      new Promise<void>((resolve) => {
        const done = () => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        };
        if (child.exitCode !== null) return done();
        const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
        child.once('exit', () => {
          clearTimeout(force);
          done();
        });
        child.kill('SIGTERM');
      }),
  };
}
