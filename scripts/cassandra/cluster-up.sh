#!/usr/bin/env bash
# `npm run cassandra:cluster:up`: a two-data-centre cluster on loopback, all on ports 7000/9042:
#   dc1: dc1-n1 on 127.0.0.1 (seed), dc1-n2 on 127.0.0.2;  dc2: dc2-n1 on 127.0.0.3 (seed of dc2)
# Returns when every node answers CQL and sees the other two as up. Idempotent. Cannot run beside the single node.
set -euo pipefail
. "$(dirname "$0")/common.sh"

if any_running "$SINGLE_NODE"; then
  die "the single node is running and holds 127.0.0.1:9042; stop it first: npm run cassandra:down"
fi
for a in 127.0.0.2 127.0.0.3; do
  port_open "$a" 9042 >/dev/null 2>&1 && ! any_running "${CLUSTER_NODES[@]}" && die "something already listens on $a:9042"
done
started=$(date +%s)
seeds=127.0.0.1:7000
# Tokens as ccm spreads three nodes over two DCs; one token per node keeps start fast and ownership obvious.
"$SCRIPTS_DIR/node.sh" start dc1-n1 127.0.0.1 dc1 rack1 "$seeds" -9223372036854775808 7100
wait_cql dc1-n1 127.0.0.1 dc1
"$SCRIPTS_DIR/node.sh" start dc1-n2 127.0.0.2 dc1 rack1 "$seeds" 0 7200
"$SCRIPTS_DIR/node.sh" start dc2-n1 127.0.0.3 dc2 rack1 "$seeds" -9223372036854775708 7300
wait_cql dc1-n2 127.0.0.2 dc1
wait_cql dc2-n1 127.0.0.3 dc2
node "$SCRIPTS_DIR/wait-ring.js" 127.0.0.1 dc1 3 "$CASSANDRA_START_TIMEOUT"
log "cluster ready in $(($(date +%s) - started)) s: dc1 = 127.0.0.1, 127.0.0.2; dc2 = 127.0.0.3 (all :9042); stop with: npm run cassandra:cluster:down"
