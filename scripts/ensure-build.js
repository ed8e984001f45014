// Builds when dist/ is missing or older than any source file, so `npm start` works on a fresh clone.
'use strict';
const { execSync } = require('node:child_process');
const { readdirSync, statSync, existsSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const marker = join(root, 'dist/apps/server/src/main.js');
const webMarker = join(root, 'dist/web/index.html');
const web = join(root, 'apps/web');

function newest(dir, test = (name) => name.endsWith('.ts'), skip = () => false) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (skip(path)) continue;
    if (entry.isDirectory()) latest = Math.max(latest, newest(path, test, skip));
    else if (test(entry.name)) latest = Math.max(latest, statSync(path).mtimeMs);
  }
  return latest;
}

const mtime = (path) => (existsSync(path) ? statSync(path).mtimeMs : 0);
const sources = Math.max(
  newest(join(root, 'apps'), undefined, (p) => p === web),
  newest(join(root, 'libs')),
);
// The client: its own folder (sources, styles, html, config) and the shared wire types it compiles in.
const webSources = Math.max(
  newest(web, () => true),
  mtime(join(root, 'libs/common/src/protocol.ts')),
  mtime(join(root, 'libs/common/src/permissions.ts')),
);
if (!existsSync(marker) || statSync(marker).mtimeMs < sources) {
  process.stderr.write('parley: building (tsc, vite)...\n');
  execSync('npm run --silent build', { cwd: root, stdio: 'inherit' });
} else if (!existsSync(webMarker) || statSync(webMarker).mtimeMs < webSources) {
  process.stderr.write('parley: building the web client (vite)...\n');
  execSync('npm run --silent build:web', { cwd: root, stdio: 'inherit' });
}
