#!/usr/bin/env bash
# `npm run cassandra:down`: stops the single local node (idempotent). PARLEY_CASSANDRA_WIPE=1 also deletes its data.
set -euo pipefail
. "$(dirname "$0")/common.sh"
"$SCRIPTS_DIR/node.sh" stop "$SINGLE_NODE"
if [ "${PARLEY_CASSANDRA_WIPE:-0}" = 1 ]; then rm -rf "${NODES_DIR:?}/$SINGLE_NODE"; log "wiped $NODES_DIR/$SINGLE_NODE"; fi
