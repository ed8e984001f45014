// `npm test`: the whole suite. Builds (e2e tests run the compiled server as real processes), makes sure the local
// services it needs answer (the two-DC loopback Cassandra cluster, whose dc1 on 127.0.0.1:9042 also serves every
// single-node suite; started here and stopped afterwards when nothing answered), runs every Jest tier, then the
// two-region stage
// (which brings up its own two-DC cluster), and ends with one plain "N passed, N failed" line.
// Flags: --no-regions skips the two-region stage (it says so in the summary); anything else goes to Jest.
'use strict';
const { spawnSync, execSync } = require('node:child_process');
const { mkdirSync, readFileSync, existsSync, rmSync } = require('node:fs');
const { connect } = require('node:net');
const { join } = require('node:path');

const root = join(__dirname, '..');
const argv = process.argv.slice(2);
const skipRegions =
  argv.includes('--no-regions') || argv.some((a) => a.startsWith('--selectProjects') || !a.startsWith('-'));
const jestArgs = argv.filter((a) => a !== '--no-regions');

function portOpen(host, port) {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(1000);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
    socket.once('error', () => resolve(false));
  });
}

function jest(outFile, extraArgs, env = {}) {
  if (existsSync(outFile)) rmSync(outFile);
  const args = [
    require.resolve('jest/bin/jest'),
    '--runInBand',
    '--json',
    `--outputFile=${outFile}`,
    ...extraArgs,
  ];
  const run = spawnSync(process.execPath, args, {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ...env },
  });
  const result = existsSync(outFile) ? JSON.parse(readFileSync(outFile, 'utf8')) : null;
  return { status: run.status ?? 1, result };
}

async function main() {
  execSync('node scripts/ensure-build.js', { cwd: root, stdio: 'inherit' });
  mkdirSync(join(root, '.tmp'), { recursive: true });

  let startedCassandra = false;
  if (!(await portOpen('127.0.0.1', 9042))) {
    process.stdout.write('npm test: no Cassandra on 127.0.0.1:9042; starting the two-DC loopback cluster\n');
    startedCassandra =
      spawnSync('bash', ['scripts/cassandra/ci-up.sh'], { cwd: root, stdio: 'inherit' }).status === 0;
    if (!startedCassandra)
      process.stdout.write('npm test: the cluster did not start; the Cassandra tests will say so\n');
  }
  const phases = [];
  try {
    phases.push(jest(join(root, '.tmp/jest-results.json'), jestArgs));
  } finally {
    // Stopped before the two-region stage, which brings up its own cluster on the same addresses.
    if (startedCassandra)
      spawnSync('bash', ['scripts/cassandra/ci-down.sh'], { cwd: root, stdio: 'inherit' });
  }

  if (!skipRegions && existsSync(join(root, 'test/e2e/regions'))) {
    process.stdout.write(
      '\nnpm test: two-region stage (a two-DC Cassandra cluster, NATS gateways, two Redis)\n',
    );
    phases.push(
      jest(join(root, '.tmp/jest-regions.json'), ['--selectProjects', 'regions'], {
        PARLEY_TEST_REGIONS: '1',
      }),
    );
  }

  let passed = 0;
  let failed = 0;
  let skipped = 0;
  let total = 0;
  for (const { result } of phases) {
    if (!result) {
      failed++;
      continue;
    }
    passed += result.numPassedTests;
    failed += result.numFailedTests + (result.numRuntimeErrorTestSuites ?? 0);
    skipped += result.numPendingTests;
    total += result.numTotalTests;
  }
  if (total === 0) failed = Math.max(failed, 1);
  const status = phases.every((p) => p.status === 0) && failed === 0 ? 0 : 1;
  process.stdout.write(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  process.exit(status);
}

main().catch((err) => {
  process.stderr.write(`npm test: ${err.stack ?? err}\n`);
  process.stdout.write('\n0 passed, 1 failed\n');
  process.exit(1);
});
