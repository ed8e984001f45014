#!/usr/bin/env bash
# `npm run regions:down [-- <region>...]`: stops what `regions:up` started (all regions, or the named ones:
# their roles, NATS servers, Redis, and the Cassandra nodes of their data centre that the stack started itself;
# nodes someone else started are left running). Idempotent. PARLEY_REGIONS_WIPE=1 (full stop only) also deletes
# the stack's directory: JetStream stores, logs, settings and the data of the Cassandra nodes it started.
set -euo pipefail
. "$(dirname "$0")/common.sh"

regions=("$@")
full=0
if [ ${#regions[@]} -eq 0 ]; then
  regions=("${ALL_REGIONS[@]}")
  full=1
fi
for r in "${regions[@]}"; do region_index "$r" >/dev/null; done
if [ ! -f "$STACK_DIR/settings.env" ]; then
  rlog "nothing to stop ($STACK_DIR holds no stack)"
  exit 0
fi
load_settings

# Roles first (they drain and say goodbye to their clients), then what they use. Each region in parallel.
stop_region() {
  local r=$1 dir="$STACK_DIR/$1" role pids=()
  for role in "${ROLES[@]}"; do
    stop_pid "$dir/$role.pid" "--parley-stack=$dir/$role" "$r $role" &
    pids+=($!)
  done
  wait "${pids[@]}"
  stop_pid "$dir/redis.pid" "cwd:$dir/redis" "$r Redis" &
  pids=($!)
  stop_pid "$dir/nats.pid" "$dir/nats.conf" "$r NATS"
  stop_pid "$dir/nats-gateway.pid" "$dir/nats-gateway.conf" "$r NATS gateway server"
  wait "${pids[@]}"
}
pids=()
for r in "${regions[@]}"; do
  stop_region "$r" &
  pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done

# Cassandra: only nodes this stack started, in parallel (each drains for a few seconds).
if [ -f "$STACK_DIR/cassandra.mode" ]; then
  CASSANDRA_MODE=$(cat "$STACK_DIR/cassandra.mode")
  cassandra_layout
  pids=()
  for r in "${regions[@]}"; do
    for n in $(region_nodes "$r"); do
      if ! cnode_owned "$n"; then
        cnode_running "$n" && rlog "leaving cassandra $n running: the stack did not start it"
        continue
      fi
      cnode stop "$n" &
      pids+=($!)
    done
  done
  for p in "${pids[@]}"; do wait "$p" || status=1; done
  if [ $status -eq 0 ]; then
    for r in "${regions[@]}"; do
      for n in $(region_nodes "$r"); do
        if [ -f "$STACK_DIR/cassandra.owned" ] && ! cnode_running "$n"; then
          grep -vx "$n" "$STACK_DIR/cassandra.owned" >"$STACK_DIR/cassandra.owned.tmp" || true
          mv "$STACK_DIR/cassandra.owned.tmp" "$STACK_DIR/cassandra.owned"
        fi
      done
    done
  fi
fi
[ $status -eq 0 ] || rdie "could not stop everything; run regions:down again"

if [ $full = 1 ]; then
  rm -f "$STACK_DIR/endpoints.json"
  # The next `up` decides again where Cassandra runs, unless nodes it started are left (a failed stop).
  [ -s "$STACK_DIR/cassandra.owned" ] || rm -f "$STACK_DIR/cassandra.mode" "$STACK_DIR/cassandra.owned"
  if [ "${PARLEY_REGIONS_WIPE:-0}" = 1 ]; then
    rm -rf "${STACK_DIR:?}"
    rlog "stopped and wiped $STACK_DIR"
    exit 0
  fi
elif [ -f "$STACK_DIR/endpoints.json" ]; then
  for r in "${regions[@]}"; do
    node -e '
      const fs = require("node:fs");
      const [file, region] = process.argv.slice(1);
      const e = JSON.parse(fs.readFileSync(file, "utf8"));
      delete e.regions[region];
      fs.writeFileSync(file, JSON.stringify(e) + "\n");
    ' "$STACK_DIR/endpoints.json" "$r"
  done
fi
rlog "stopped: ${regions[*]}"
