#!/usr/bin/env bash
# `npm run cassandra:up`: one local node on 127.0.0.1:9042, data centre dc1, rack rack1; returns when CQL answers.
# Idempotent (an already running node is reused). Cannot run beside the two-DC cluster: both use 127.0.0.1:9042.
set -euo pipefail
. "$(dirname "$0")/common.sh"

if any_running "${CLUSTER_NODES[@]}"; then
  die "the two-DC cluster is running and holds 127.0.0.1:9042; stop it first: npm run cassandra:cluster:down"
fi
if ! "$SCRIPTS_DIR/node.sh" status "$SINGLE_NODE" >/dev/null 2>&1; then
  if port_open 127.0.0.1 9042 || port_open 127.0.0.1 7000; then
    die "something else already listens on 127.0.0.1:9042 or :7000; stop it first"
  fi
fi
if "$SCRIPTS_DIR/node.sh" status "$SINGLE_NODE" >/dev/null 2>&1; then
  wait_cql "$SINGLE_NODE" 127.0.0.1 dc1
  log "single node already running on 127.0.0.1:9042 (dc1)"
  exit 0
fi
"$SCRIPTS_DIR/node.sh" start "$SINGLE_NODE" 127.0.0.1 dc1 rack1 127.0.0.1:7000 -9223372036854775808 7199
wait_cql "$SINGLE_NODE" 127.0.0.1 dc1
log "single node ready on 127.0.0.1:9042 (dc1) $(elapsed_since_start "$SINGLE_NODE") s after its start; stop with: npm run cassandra:down"
