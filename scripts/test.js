// `npm test`: the whole suite. Builds (e2e tests run the compiled server as real processes), makes sure the local
// services it needs answer (the two-DC loopback Cassandra cluster, whose dc1 on 127.0.0.1:9042 also serves every
// single-node suite; started here and stopped afterwards when nothing answered), runs the Jest tiers (unit,
// integration, e2e, browser), then the two-region stage (which brings up its own two-DC cluster), and ends with
// the stages it ran, the ones it skipped and why, and one plain "N passed, N failed" line.
// Flags: --no-regions skips the two-region stage; --selectProjects picks tiers (`regions` among them runs that
// stage); a test path pattern runs the matching files of the Jest tiers only; anything else goes to Jest.
'use strict';
const { spawnSync, execSync } = require('node:child_process');
const { mkdirSync, readFileSync, existsSync, rmSync } = require('node:fs');
const { connect } = require('node:net');
const { join } = require('node:path');

const root = join(__dirname, '..');
const TIERS = ['unit', 'integration', 'e2e', 'browser'];
// Jest options whose value follows as its own argument (so it is not taken for a test path pattern).
const VALUED = new Set([
  '-t',
  '--testNamePattern',
  '-c',
  '--config',
  '-w',
  '--maxWorkers',
  '--shard',
  '--seed',
]);

/**
 * What to run, from the command line: the Jest tiers (and the arguments they get) and whether the two-region
 * stage runs, each skip with its reason.
 */
function plan(argv) {
  const jestArgs = [];
  let selected = null;
  let patterns = [];
  let noRegions = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--no-regions') noRegions = true;
    else if (arg === '--selectProjects' || arg.startsWith('--selectProjects=')) {
      selected = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1).split(',') : [];
      while (!arg.includes('=') && i + 1 < argv.length && !argv[i + 1].startsWith('-'))
        selected.push(argv[++i]);
    } else if (VALUED.has(arg) && i + 1 < argv.length) {
      jestArgs.push(arg, argv[++i]);
    } else {
      if (!arg.startsWith('-')) patterns.push(arg);
      jestArgs.push(arg);
    }
  }
  const tiers = selected ? TIERS.filter((t) => selected.includes(t)) : TIERS;
  const skipped = [];
  if (selected)
    for (const t of TIERS.filter((t) => !tiers.includes(t)))
      skipped.push({ stage: t, why: `not in --selectProjects ${selected.join(' ')}` });
  let regions = null;
  if (noRegions) regions = '--no-regions was given';
  else if (selected && !selected.includes('regions'))
    regions = `not in --selectProjects ${selected.join(' ')}`;
  else if (patterns.length > 0)
    regions = `a test path pattern was given (${patterns.join(' ')}); run it alone with npm run test:regions`;
  else if (!existsSync(join(root, 'test/e2e/regions'))) regions = 'test/e2e/regions is absent';
  if (regions) skipped.push({ stage: 'regions', why: regions });
  return { tiers, jestArgs, regions: regions === null, skipped };
}

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
  const { tiers, jestArgs, regions, skipped: skippedStages } = plan(process.argv.slice(2));
  const ran = [];
  execSync('node scripts/ensure-build.js', { cwd: root, stdio: 'inherit' });
  ran.push('build');
  mkdirSync(join(root, '.tmp'), { recursive: true });

  const phases = [];
  if (tiers.length > 0) {
    let startedCassandra = false;
    if (!(await portOpen('127.0.0.1', 9042))) {
      process.stdout.write(
        'npm test: no Cassandra on 127.0.0.1:9042; starting the two-DC loopback cluster\n',
      );
      startedCassandra =
        spawnSync('bash', ['scripts/cassandra/ci-up.sh'], { cwd: root, stdio: 'inherit' }).status === 0;
      if (!startedCassandra)
        process.stdout.write('npm test: the cluster did not start; the Cassandra tests will say so\n');
    }
    process.stdout.write(`\nnpm test: Jest tiers ${tiers.join(', ')}\n`);
    try {
      phases.push(jest(join(root, '.tmp/jest-results.json'), [...jestArgs, '--selectProjects', ...tiers]));
      ran.push(...tiers);
    } finally {
      // Stopped before the two-region stage, which brings up its own cluster on the same addresses.
      if (startedCassandra)
        spawnSync('bash', ['scripts/cassandra/ci-down.sh'], { cwd: root, stdio: 'inherit' });
    }
  }

  if (regions) {
    process.stdout.write(
      '\nnpm test: two-region stage (a two-DC Cassandra cluster, NATS gateways, two Redis)\n',
    );
    phases.push(
      jest(join(root, '.tmp/jest-regions.json'), ['--selectProjects', 'regions'], {
        PARLEY_TEST_REGIONS: '1',
      }),
    );
    ran.push('regions');
  }

  process.stdout.write(`\nnpm test: ran ${ran.join(', ')}\n`);
  for (const { stage, why } of skippedStages) process.stdout.write(`npm test: skipped ${stage}: ${why}\n`);

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

if (require.main === module)
  main().catch((err) => {
    process.stderr.write(`npm test: ${err.stack ?? err}\n`);
    process.stdout.write('\n0 passed, 1 failed\n');
    process.exit(1);
  });

module.exports = { plan };
