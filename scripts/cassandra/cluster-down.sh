#!/usr/bin/env bash
# `npm run cassandra:cluster:down`: stops the loopback cluster's nodes (idempotent). PARLEY_CASSANDRA_WIPE=1 also
# deletes their data. `cluster-down.sh dc2-n1` stops just that node (used by the data-centre failure tests).
set -euo pipefail
. "$(dirname "$0")/common.sh"
nodes=("$@")
[ ${#nodes[@]} -gt 0 ] || nodes=("${CLUSTER_NODES[@]}")
# In parallel: each node drains for a few seconds on SIGTERM.
pids=()
for n in "${nodes[@]}"; do "$SCRIPTS_DIR/node.sh" stop "$n" & pids+=($!); done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
[ $status -eq 0 ] || die "could not stop every node"
if [ "${PARLEY_CASSANDRA_WIPE:-0}" = 1 ]; then
  for n in "${nodes[@]}"; do rm -rf "${NODES_DIR:?}/$n"; done
  log "wiped ${nodes[*]}"
fi
