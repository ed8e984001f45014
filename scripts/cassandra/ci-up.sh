#!/usr/bin/env bash
# For CI (.ci/run), before `npm test`: installs Java 17 and Maven when missing (Debian packages), fetches
# Cassandra into ~/.cache/parley (once per machine) and starts the two-DC loopback cluster. The cluster also
# serves every single-node suite (its dc1 answers on 127.0.0.1:9042), so one `npm test` runs the contract,
# driver, `npm start` and data-centre tests. Prints how long each step took. Stop with ci-down.sh.
set -euo pipefail
. "$(dirname "$0")/common.sh"

t0=$(date +%s)
if ! command -v java >/dev/null || ! command -v mvn >/dev/null; then
  log "installing Java 17 and Maven (apt)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless maven >/dev/null
fi
"$SCRIPTS_DIR/fetch.sh" >/dev/null
t1=$(date +%s)
# A single node (from a developer session on this machine) would hold 127.0.0.1:9042.
"$SCRIPTS_DIR/down.sh"
"$SCRIPTS_DIR/cluster-up.sh"
t2=$(date +%s)
log "ci-up: jars ready in $((t1 - t0)) s, cluster up in $((t2 - t1)) s"
