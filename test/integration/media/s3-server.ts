import { launch, tempDir } from '../../support/process';

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
  const dir = tempDir('parley-s3rver-');
  let modulePath: string;
  try {
    modulePath = require.resolve('s3rver');
  } catch {
    throw new Error('s3rver is not installed: run "npm install" (it is a devDependency)');
  }
  const s3 = await launch(
    '',
    { PATH: process.env.PATH ?? '', S3RVER_MODULE: modulePath, S3RVER_DIR: dir.path, S3RVER_BUCKET: bucket },
    {
      label: 'the local S3 server (s3rver)',
      args: ['-e', CHILD],
      bareEnv: true,
      ready: /\{"port":(\d+)\}/,
      timeoutMs,
      forceAfterMs: 5_000,
    },
  ).catch((err: unknown) => {
    dir.remove();
    throw err;
  });
  return {
    endpoint: `http://127.0.0.1:${s3.url}`,
    bucket,
    stop: async () => {
      await s3.stop('SIGTERM');
      dir.remove();
    },
  };
}
