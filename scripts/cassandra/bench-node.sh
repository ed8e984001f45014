#!/usr/bin/env bash
# A dedicated single Cassandra node for a bench, beside the shared test cluster (which holds 127.0.0.1-3):
#   bench-node.sh up [address]     starts node `bench-<address>` (default 127.0.0.10), data centre dc1, and
#                                  returns when CQL answers on <address>:9042
#   bench-node.sh down [address]   stops it (its data stays in $PARLEY_CASSANDRA_NODES/bench-<address>, so a
#                                  seeded keyspace survives until the next `up`)
# Each address gets its own node directory and JMX port (7200 + the address's last octet), so benches on
# different loopback addresses run side by side. Heap: PARLEY_CASSANDRA_HEAP (default here 2g).
# Server timeouts are longer than a test node's (10 s for reads and writes: a bulk seed on a loaded machine
# would otherwise fail on a 2 s write timeout); PARLEY_CASSANDRA_READ_TIMEOUT / _WRITE_TIMEOUT override them.
# Point a bench at it with PARLEY_BENCH_CASSANDRA=<address> (bench/scenarios/search-worker.cjs).
set -euo pipefail
export PARLEY_CASSANDRA_HEAP="${PARLEY_CASSANDRA_HEAP:-2g}"
export PARLEY_CASSANDRA_READ_TIMEOUT="${PARLEY_CASSANDRA_READ_TIMEOUT:-10000ms}"
export PARLEY_CASSANDRA_WRITE_TIMEOUT="${PARLEY_CASSANDRA_WRITE_TIMEOUT:-10000ms}"
. "$(dirname "$0")/common.sh"

action=${1:-}
address=${2:-127.0.0.10}
[[ "$address" =~ ^127\.[0-9]+\.[0-9]+\.([0-9]+)$ ]] || die "the bench node's address must be a loopback address, got $address"
case "$address" in 127.0.0.1 | 127.0.0.2 | 127.0.0.3) die "$address belongs to the shared test cluster" ;; esac
name="bench-$address"
jmx=$((7200 + BASH_REMATCH[1]))

case "$action" in
  up)
    if ! "$SCRIPTS_DIR/node.sh" status "$name" >/dev/null 2>&1; then
      port_open "$address" 9042 && die "something else already listens on $address:9042"
      "$SCRIPTS_DIR/node.sh" start "$name" "$address" dc1 rack1 "$address:7000" -9223372036854775808 "$jmx"
    fi
    wait_cql "$name" "$address" dc1
    log "bench node $name ready on $address:9042 (dc1, JMX $jmx, heap $CASSANDRA_HEAP)"
    ;;
  down) "$SCRIPTS_DIR/node.sh" stop "$name" ;;
  *) die "usage: bench-node.sh up|down [address]" ;;
esac
