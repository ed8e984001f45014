// `npm test`: builds (e2e tests run the compiled server as real processes), runs every Jest tier and
// ends with one plain "N passed, N failed" line.
'use strict';
const { spawnSync, execSync } = require('node:child_process');
const { mkdirSync, readFileSync, existsSync, rmSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
execSync('node scripts/ensure-build.js', { cwd: root, stdio: 'inherit' });
mkdirSync(join(root, '.tmp'), { recursive: true });
const out = join(root, '.tmp/jest-results.json');
if (existsSync(out)) rmSync(out);
const args = [
  require.resolve('jest/bin/jest'),
  '--runInBand',
  '--json',
  `--outputFile=${out}`,
  ...process.argv.slice(2),
];
const run = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
let summary = 'jest produced no results';
if (existsSync(out)) {
  const r = JSON.parse(readFileSync(out, 'utf8'));
  summary = `${r.numPassedTests} passed, ${r.numFailedTests} failed${r.numPendingTests ? `, ${r.numPendingTests} skipped` : ''}`;
  if (r.numTotalTests === 0) summary = '0 passed, 1 failed (no tests ran)';
}
process.stdout.write(`\n${summary}\n`);
process.exit(run.status ?? 1);
