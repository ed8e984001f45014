// Builds when dist/ is missing or older than any source file, so `npm start` works on a fresh clone.
'use strict';
const { execSync } = require('node:child_process');
const { readdirSync, statSync, existsSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const marker = join(root, 'dist/apps/server/src/main.js');

function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) latest = Math.max(latest, newest(path));
    else if (entry.name.endsWith('.ts')) latest = Math.max(latest, statSync(path).mtimeMs);
  }
  return latest;
}

const sources = Math.max(newest(join(root, 'apps')), newest(join(root, 'libs')));
if (!existsSync(marker) || statSync(marker).mtimeMs < sources) {
  process.stderr.write('parley: building (tsc)...\n');
  execSync('npm run --silent build', { cwd: root, stdio: 'inherit' });
}
