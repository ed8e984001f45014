#!/usr/bin/env bash
# better-sqlite3 is compiled against the installing Node's ABI. When npm ran under a Node older than the
# supported lines, rebuild it for the Node that scripts/with-node will run (Node 24).
set -euo pipefail
cd "$(dirname "$0")/.."
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 22 ]; then
  echo "postinstall: node $major is older than the supported lines; rebuilding native add-ons for Node 24" >&2
  scripts/with-node npm rebuild better-sqlite3 argon2 >&2
fi
