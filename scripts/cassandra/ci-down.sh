#!/usr/bin/env bash
# For CI (.ci/run), on exit whatever happened: stops the loopback cluster and any single node, and deletes their
# data (the jars stay cached). Idempotent.
set -euo pipefail
. "$(dirname "$0")/common.sh"
PARLEY_CASSANDRA_WIPE=1 "$SCRIPTS_DIR/cluster-down.sh"
PARLEY_CASSANDRA_WIPE=1 "$SCRIPTS_DIR/down.sh"
