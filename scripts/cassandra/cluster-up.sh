#!/usr/bin/env bash
# `npm run cassandra:cluster:up`: a two-data-centre cluster on loopback, all on ports 7000/9042:
#   dc1: dc1-n1 on 127.0.0.1 (seed), dc1-n2 on 127.0.0.2;  dc2: dc2-n1 on 127.0.0.3 (seed of dc2)
# Returns when every node answers CQL and sees the other two as up. Idempotent. Cannot run beside the single node.
# A second, private cluster (e.g. for a test that stops nodes while others use the default one) takes
# PARLEY_CASSANDRA_CLUSTER_PREFIX=127.0.2. PARLEY_CASSANDRA_JMX_PORTS="7400 7500 7600" and its own
# PARLEY_CASSANDRA_NODES directory; the down scripts take the same PARLEY_CASSANDRA_NODES.
set -euo pipefail
. "$(dirname "$0")/common.sh"

prefix="${PARLEY_CASSANDRA_CLUSTER_PREFIX:-127.0.0.}"
read -r jmx1 jmx2 jmx3 <<<"${PARLEY_CASSANDRA_JMX_PORTS:-7100 7200 7300}"
a1="${prefix}1" a2="${prefix}2" a3="${prefix}3"
if [ "$a1" = 127.0.0.1 ] && any_running "$SINGLE_NODE"; then
  die "the single node is running and holds 127.0.0.1:9042; stop it first: npm run cassandra:down"
fi
if ! any_running "${CLUSTER_NODES[@]}"; then
  for a in "$a1" "$a2" "$a3"; do
    port_open "$a" 9042 && die "something else already listens on $a:9042"
  done
fi
started=$(date +%s)
seeds="$a1:7000"
# Tokens as ccm spreads three nodes over two DCs; one token per node keeps start fast and ownership obvious.
"$SCRIPTS_DIR/node.sh" start dc1-n1 "$a1" dc1 rack1 "$seeds" -9223372036854775808 "$jmx1"
wait_cql dc1-n1 "$a1" dc1
"$SCRIPTS_DIR/node.sh" start dc1-n2 "$a2" dc1 rack1 "$seeds" 0 "$jmx2"
"$SCRIPTS_DIR/node.sh" start dc2-n1 "$a3" dc2 rack1 "$seeds" -9223372036854775708 "$jmx3"
wait_cql dc1-n2 "$a2" dc1
wait_cql dc2-n1 "$a3" dc2
node "$SCRIPTS_DIR/wait-ring.js" "$a1" dc1 3 "$CASSANDRA_START_TIMEOUT"
log "cluster ready in $(($(date +%s) - started)) s: dc1 = $a1, $a2; dc2 = $a3 (all :9042); stop with: npm run cassandra:cluster:down"
