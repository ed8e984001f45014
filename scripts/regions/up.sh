#!/usr/bin/env bash
# `npm run regions:up [-- <region>...]`: a two-region Parley on this machine (see common.sh for the layout and
# settings). Starts whatever of it is not running, so it also brings back a region stopped with
# `regions:down -- <region>`. Progress goes to stderr; the last line of output is one JSON object:
#   {"regions": {"eu-west": {"api": "http://...", "gateway": "http://..."}, "us-east": {...}}}
# Stop everything with `npm run regions:down`.
set -euo pipefail
. "$(dirname "$0")/common.sh"

regions=("$@")
[ ${#regions[@]} -gt 0 ] || regions=("${ALL_REGIONS[@]}")
for r in "${regions[@]}"; do region_index "$r" >/dev/null; done
load_settings
START_TIMEOUT="${PARLEY_REGIONS_START_TIMEOUT:-180}"
CASSANDRA_TIMEOUT="${PARLEY_CASSANDRA_START_TIMEOUT:-240}"
[ -x "$NATS_BIN" ] || rdie "$NATS_BIN is missing (apt-get install nats-server, or set PARLEY_NATS_SERVER)"
[ -x "$REDIS_BIN" ] || rdie "$REDIS_BIN is missing (apt-get install redis-server, or set PARLEY_REDIS_SERVER)"
command -v node >/dev/null || rdie "node is not on PATH (run through npm, or scripts/with-node)"
if [ "${PARLEY_REGIONS_SKIP_BUILD:-0}" != 1 ]; then (cd "$REPO_ROOT" && node scripts/ensure-build.js) >&2; fi
for role in "${ROLES[@]}"; do
  [ -f "$REPO_ROOT/dist/apps/$role/src/main.js" ] || rdie "dist/apps/$role/src/main.js is missing: npm run build"
done
began=$(date +%s)

# Refuses to start a service on a port something else holds (a stale process of another stack, say).
claim_port() {
  port_open 127.0.0.1 "$1" && rdie "127.0.0.1:$1 ($2) is already in use by another process; free it or set PARLEY_REGIONS_PORT_BASE (with a fresh PARLEY_REGIONS_DIR)"
  return 0
}

# start_bg <pidfile> <log> <command...>: in its own session (a Ctrl-C of this script does not reach it).
start_bg() {
  local pidfile=$1 logfile=$2
  shift 2
  setsid "$@" >>"$logfile" 2>&1 </dev/null &
  echo $! >"$pidfile"
}

wait_port() { # wait_port <port> <pidfile> <marker> <what> <log> (the marker may not hold yet: Redis chdirs late)
  local i
  for i in $(seq 1 300); do
    port_open 127.0.0.1 "$1" && return 0
    kill -0 "$(cat "$2")" 2>/dev/null || rdie "$4 exited; its log ($5) ends with:
$(tail -n 20 "$5" 2>/dev/null)"
    sleep 0.1
  done
  rdie "$4 did not listen on 127.0.0.1:$1 within 30 s (log: $5)"
}

# --- Cassandra -------------------------------------------------------------------------------------------

start_cassandra() {
  cassandra_layout
  if [ "$RESOLVED_CASSANDRA_MODE" = cluster ] && bash "$CASSANDRA_SCRIPTS/node.sh" status single >/dev/null 2>&1; then
    rdie "the single Cassandra node holds 127.0.0.1:9042 (npm run cassandra:up); stop it with npm run cassandra:down when nobody uses it, or run with PARLEY_REGIONS_CASSANDRA=private"
  fi
  local wanted=() entry name address dc token jmx r n started=()
  for entry in "${CNODES[@]}"; do
    name=${entry%% *}
    for r in "${regions[@]}"; do
      for n in $(region_nodes "$r"); do [ "$n" = "$name" ] && wanted+=("$name"); done
    done
  done
  for name in "${wanted[@]}"; do
    address=$(cnode_field "$name" 2)
    dc=$(cnode_field "$name" 3)
    if cnode_running "$name"; then
      if cnode_owned "$name"; then rlog "cassandra $name ($address, $dc) is running"; else
        rlog "cassandra $name ($address, $dc) is running, started by someone else: using it, never stopping it"
      fi
      continue
    fi
    port_open "$address" 9042 && rdie "something that is not node $name already listens on $address:9042"
    token=$(cnode_field "$name" 4)
    jmx=$(cnode_field "$name" 5)
    cnode start "$name" "$address" "$dc" rack1 "$SEED_ADDRESS:7000" "$token" "$jmx"
    grep -qx "$name" "$STACK_DIR/cassandra.owned" 2>/dev/null || echo "$name" >>"$STACK_DIR/cassandra.owned"
    # The seed answers first, as in scripts/cassandra/cluster-up.sh; the others join it.
    if [ "$address" = "$SEED_ADDRESS" ]; then wait_cql "$name"; else started+=("$name"); fi
  done
  for name in "${started[@]}"; do wait_cql "$name"; done
  local up=0 first=${wanted[0]}
  for entry in "${CNODES[@]}"; do cnode_running "${entry%% *}" && up=$((up + 1)); done
  node "$CASSANDRA_SCRIPTS/wait-ring.js" "$(cnode_field "$first" 2)" "$(cnode_field "$first" 3)" "$up" "$CASSANDRA_TIMEOUT" >&2
}

wait_cql() {
  local dir="$CASSANDRA_NODES_DIR/$1"
  node "$CASSANDRA_SCRIPTS/wait-cql.js" "$(cnode_field "$1" 2)" "$(cnode_field "$1" 3)" "$CASSANDRA_TIMEOUT" \
    "$dir/cassandra.pid" "$dir/logs/system.log" >&2
}

# --- NATS: per region a JetStream server (domain = region) that is a leaf node of the region's gateway server

nats_accounts() { # nats_accounts <jetstream: yes|no>
  local js=""
  [ "$1" = yes ] && js=", jetstream: enabled"
  cat <<EOF
accounts {
  SYS: { users: [ { user: sys, password: "$NATS_PASSWORD" } ] }
  PARLEY: { users: [ { user: parley, password: "$NATS_PASSWORD" } ]$js }
}
system_account: SYS
# Parley's processes connect without credentials on loopback and land in the PARLEY account.
no_auth_user: parley
EOF
}

start_nats() {
  local r=$1 dir="$STACK_DIR/$1" other gateways="" pid
  mkdir -p "$dir/jetstream"
  for other in "${ALL_REGIONS[@]}"; do
    [ "$other" = "$r" ] && continue
    gateways="$gateways    { name: $other, urls: [\"nats://127.0.0.1:$(port "$other" nats-gw)\"] }
"
  done
  cat >"$dir/nats-gateway.conf" <<EOF
# Region $r's member of the NATS supercluster (written by scripts/regions/up.sh). No JetStream here: each
# region's JetStream runs in its own domain on the leaf server (nats.conf), so losing a region never takes
# JetStream's quorum from the others. Production: deploy/multi-region/nats/.
server_name: $r-gateway
listen: 127.0.0.1:$(port "$r" nats-gw-client)
http: 127.0.0.1:$(port "$r" nats-gw-monitor)
$(nats_accounts no)
leafnodes { listen: 127.0.0.1:$(port "$r" nats-gw-leaf) }
gateway {
  name: $r
  listen: 127.0.0.1:$(port "$r" nats-gw)
  gateways: [
$gateways  ]
}
EOF
  cat >"$dir/nats.conf" <<EOF
# Region $r's NATS with JetStream (written by scripts/regions/up.sh): Parley's processes of $r connect here.
# JetStream domain = region name (Parley checks it at boot); leaf node of the region's gateway server.
# Its name (and so its implicit cluster name) must differ from the gateway server's cluster, or the leaf
# connection is refused ("remote leafnode has same cluster name").
server_name: $r-jetstream
listen: 127.0.0.1:$(port "$r" nats)
http: 127.0.0.1:$(port "$r" nats-monitor)
$(nats_accounts yes)
jetstream { store_dir: "$dir/jetstream", domain: $r, max_memory_store: 256MB, max_file_store: 1GB }
leafnodes {
  remotes: [ { urls: ["nats://parley:$NATS_PASSWORD@127.0.0.1:$(port "$r" nats-gw-leaf)"], account: PARLEY } ]
}
EOF
  if pid=$(pid_alive "$dir/nats-gateway.pid" "$dir/nats-gateway.conf"); then
    rlog "$r NATS gateway server is running (pid $pid)"
  else
    claim_port "$(port "$r" nats-gw)" "$r NATS gateway"
    claim_port "$(port "$r" nats-gw-leaf)" "$r NATS leaf listener"
    start_bg "$dir/nats-gateway.pid" "$dir/nats-gateway.log" "$NATS_BIN" -c "$dir/nats-gateway.conf"
    wait_port "$(port "$r" nats-gw-leaf)" "$dir/nats-gateway.pid" "$dir/nats-gateway.conf" "$r NATS gateway server" "$dir/nats-gateway.log"
    rlog "$r NATS gateway server on 127.0.0.1:$(port "$r" nats-gw) (gateway), :$(port "$r" nats-gw-leaf) (leaf nodes)"
  fi
  if pid=$(pid_alive "$dir/nats.pid" "$dir/nats.conf"); then
    rlog "$r NATS is running (pid $pid)"
  else
    claim_port "$(port "$r" nats)" "$r NATS"
    start_bg "$dir/nats.pid" "$dir/nats.log" "$NATS_BIN" -c "$dir/nats.conf"
    wait_port "$(port "$r" nats)" "$dir/nats.pid" "$dir/nats.conf" "$r NATS" "$dir/nats.log"
    rlog "$r NATS (JetStream domain $r) on 127.0.0.1:$(port "$r" nats)"
  fi
}

start_redis() {
  local r=$1 dir="$STACK_DIR/$1" pid
  mkdir -p "$dir/redis"
  cat >"$dir/redis.conf" <<EOF
# Region $r's Redis (written by scripts/regions/up.sh): presence, rate limits, resume buffers, node-id leases.
bind 127.0.0.1
port $(port "$r" redis)
save ""
appendonly no
dir $dir/redis
daemonize no
EOF
  if pid=$(pid_alive "$dir/redis.pid" "cwd:$dir/redis"); then
    rlog "$r Redis is running (pid $pid)"
    return
  fi
  claim_port "$(port "$r" redis)" "$r Redis"
  start_bg "$dir/redis.pid" "$dir/redis.log" "$REDIS_BIN" "$dir/redis.conf"
  wait_port "$(port "$r" redis)" "$dir/redis.pid" "cwd:$dir/redis" "$r Redis" "$dir/redis.log"
  rlog "$r Redis on 127.0.0.1:$(port "$r" redis)"
}

# --- Parley's roles --------------------------------------------------------------------------------------

role_env() {
  local r=$1 dir="$STACK_DIR/$1" replication
  replication="{\"dc1\":$(region_nodes eu-west | wc -l),\"dc2\":$(region_nodes us-east | wc -l)}"
  local stack=(
    "PATH=$PATH" "HOME=$HOME"
    "PARLEY_CONFIG=config/region-$r.json"
    "PARLEY__DATABASE__CASSANDRA__HOSTS=$(region_hosts_json "$r")"
    "PARLEY__DATABASE__CASSANDRA__KEYSPACE=$KEYSPACE"
    "PARLEY__DATABASE__CASSANDRA__REPLICATION=$replication"
    "PARLEY__NATS__URL=nats://127.0.0.1:$(port "$r" nats)"
    "PARLEY__NATS__SUBJECT_PREFIX=$PREFIX"
    "PARLEY__NATS__JOBS__REPLICAS=1"
    "PARLEY__REDIS__URL=redis://127.0.0.1:$(port "$r" redis)"
    "PARLEY__SERVER__HOST=127.0.0.1"
    "PARLEY__SERVER__PORT=$(port "$r" api)"
    "PARLEY__GATEWAY__PORT=$(port "$r" gateway)"
    "PARLEY__QUEUE__PORT=$(port "$r" queue)"
    "PARLEY__MEDIA__SIGNING_SECRET=$SIGNING_SECRET"
    "PARLEY__STORAGE__LOCAL__PATH=$dir/files"
  )
  printf '%s\n' "${stack[@]}"
  # The caller's PARLEY__* settings win (rate limits off for a load test, a log level ...).
  env | grep -E '^PARLEY__[A-Z0-9_]+=' || true
}

start_role() {
  local r=$1 role=$2 dir="$STACK_DIR/$1" pid
  local marker="--parley-stack=$dir/$role"
  if pid=$(pid_alive "$dir/$role.pid" "$marker"); then
    rlog "$r $role is running (pid $pid)"
    return
  fi
  claim_port "$(port "$r" "$role")" "$r $role"
  local envs=()
  mapfile -t envs < <(role_env "$r")
  touch "$dir/$role.log"
  wc -l <"$dir/$role.log" >"$dir/$role.logstart" # await_role reads what this start logs, not older runs
  (cd "$REPO_ROOT" && start_bg "$dir/$role.pid" "$dir/$role.log" \
    env -i "${envs[@]}" node "dist/apps/$role/src/main.js" "$marker")
}

# Waits until the role logs its listening line and answers /health/ready; prints its URL.
await_role() {
  local r=$1 role=$2 dir="$STACK_DIR/$1" url="" deadline
  local marker="--parley-stack=$dir/$role"
  deadline=$(($(date +%s) + START_TIMEOUT))
  while :; do
    pid_alive "$dir/$role.pid" "$marker" >/dev/null || rdie "$r $role exited; its log ($dir/$role.log) ends with:
$(tail -n 25 "$dir/$role.log")"
    if [ -z "$url" ]; then
      url=$(tail -n +"$(($(cat "$dir/$role.logstart") + 1))" "$dir/$role.log" | grep -o '"msg":"parley listening","url":"[^"]*"' | tail -n 1 | sed 's/.*"url":"\([^"]*\)"/\1/' || true)
    fi
    if [ -n "$url" ] && curl -fsS -o /dev/null --max-time 5 "$url/health/ready" 2>/dev/null; then
      echo "$url"
      return 0
    fi
    [ "$(date +%s)" -lt "$deadline" ] || rdie "$r $role not ready within $START_TIMEOUT s (log: $dir/$role.log)"
    sleep 0.3
  done
}

start_cassandra
for r in "${regions[@]}"; do start_nats "$r"; done
for r in "${regions[@]}"; do start_redis "$r"; done

# The first api to start applies the schema migrations; the others find them applied. Started alone so that two
# data centres never run the same DDL at once (LOCAL_SERIAL locks are per data centre).
first=${regions[0]}
start_role "$first" api
rlog "$first api: $(await_role "$first" api)"
for r in "${regions[@]}"; do for role in "${ROLES[@]}"; do start_role "$r" "$role"; done; done
for r in "${regions[@]}"; do
  for role in "${ROLES[@]}"; do rlog "$r $role: $(await_role "$r" "$role")"; done
done

# Endpoints of every region that runs (also those this call did not start).
json=""
for r in "${ALL_REGIONS[@]}"; do
  dir="$STACK_DIR/$r"
  pid_alive "$dir/api.pid" "--parley-stack=$dir/api" >/dev/null || continue
  pid_alive "$dir/gateway.pid" "--parley-stack=$dir/gateway" >/dev/null || continue
  json="$json${json:+,}\"$r\":{\"api\":\"http://127.0.0.1:$(port "$r" api)\",\"gateway\":\"http://127.0.0.1:$(port "$r" gateway)\"}"
done
echo "{\"regions\":{$json}}" >"$STACK_DIR/endpoints.json"
rlog "up in $(($(date +%s) - began)) s; state in $STACK_DIR; stop with: npm run regions:down"
cat "$STACK_DIR/endpoints.json"
