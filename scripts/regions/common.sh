# Shared settings of the local two-region stack (sourced by up.sh and down.sh, not run).
#
# Two regions on loopback, each with what a real region has:
#   eu-west  (region id 1): Cassandra dc1, its own NATS (JetStream domain eu-west) behind a gateway server,
#            its own Redis, and api, gateway and queue processes
#   us-east  (region id 2): Cassandra dc2, likewise
# The two gateway servers join the regions into one NATS supercluster; see docs/multi-region.md.
#
# Everything the stack starts is recorded under $PARLEY_REGIONS_DIR (default ~/.cache/parley/regions): one
# directory per region with each process's config, log and pid file, and the Cassandra nodes it started.
# Settings (environment, read by the first `up`, then kept in $PARLEY_REGIONS_DIR/settings.env):
#   PARLEY_REGIONS_PORT_BASE   first of 40 loopback ports (default 17400): region i uses base+20i .. base+20i+9
#   PARLEY_REGIONS_KEYSPACE    Cassandra keyspace (default parley_regions)
#   PARLEY_REGIONS_PREFIX      NATS subject prefix, shared by both regions (default parley)
#   PARLEY_REGIONS_CASSANDRA   auto (default): the loopback cluster of scripts/cassandra (dc1 on 127.0.0.1-2,
#                              dc2 on 127.0.0.3), started if it is not running, reused if it is; a private
#                              cluster when the single node holds 127.0.0.1.
#                              cluster: that loopback cluster, always. private: the stack's own three nodes on
#                              127.0.1.1-3 (same DC layout) under $PARLEY_REGIONS_DIR, beside anything else.
# Other environment: PARLEY__* variables apply to every role process (they win over the stack's own);
# PARLEY_REGIONS_SKIP_BUILD=1 skips the build check; PARLEY_CASSANDRA_HEAP sizes the nodes the stack starts.

REGIONS_SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$REGIONS_SCRIPTS/../.." && pwd)"
CASSANDRA_SCRIPTS="$REPO_ROOT/scripts/cassandra"
STACK_DIR="${PARLEY_REGIONS_DIR:-$HOME/.cache/parley/regions}"
NATS_BIN="${PARLEY_NATS_SERVER:-/usr/sbin/nats-server}"
REDIS_BIN="${PARLEY_REDIS_SERVER:-/usr/bin/redis-server}"
ROLES=(api gateway queue)
ALL_REGIONS=(eu-west us-east)

rlog() { printf '[regions %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
rdie() {
  rlog "error: $*"
  exit 1
}

# --- settings, fixed at the first `up` -------------------------------------------------------------------

load_settings() {
  mkdir -p "$STACK_DIR"
  if [ -f "$STACK_DIR/settings.env" ]; then
    # shellcheck disable=SC1091
    . "$STACK_DIR/settings.env"
    return
  fi
  PORT_BASE="${PARLEY_REGIONS_PORT_BASE:-17400}"
  KEYSPACE="${PARLEY_REGIONS_KEYSPACE:-parley_regions}"
  PREFIX="${PARLEY_REGIONS_PREFIX:-parley}"
  CASSANDRA_MODE="${PARLEY_REGIONS_CASSANDRA:-auto}"
  case "$CASSANDRA_MODE" in auto | cluster | private) ;; *) rdie "PARLEY_REGIONS_CASSANDRA must be auto, cluster or private" ;; esac
  [[ "$PORT_BASE" =~ ^[0-9]+$ ]] && [ "$PORT_BASE" -ge 1024 ] && [ "$PORT_BASE" -le 65000 ] ||
    rdie "PARLEY_REGIONS_PORT_BASE must be a port number between 1024 and 65000"
  [[ "$KEYSPACE" =~ ^[a-z][a-z0-9_]{0,47}$ ]] || rdie "PARLEY_REGIONS_KEYSPACE: lower-case letters, digits, _"
  [[ "$PREFIX" =~ ^[A-Za-z0-9_-]{1,32}$ ]] || rdie "PARLEY_REGIONS_PREFIX: letters, digits, _ and -"
  # Local secrets of this stack: the NATS users' passwords and the media signing key both regions share.
  NATS_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  SIGNING_SECRET=$(head -c 36 /dev/urandom | base64 | tr -d '/+=')
  cat >"$STACK_DIR/settings.env" <<EOF
PORT_BASE=$PORT_BASE
KEYSPACE=$KEYSPACE
PREFIX=$PREFIX
CASSANDRA_MODE=$CASSANDRA_MODE
NATS_PASSWORD=$NATS_PASSWORD
SIGNING_SECRET=$SIGNING_SECRET
EOF
}

# --- regions ---------------------------------------------------------------------------------------------

region_index() {
  case "$1" in
    eu-west) echo 0 ;;
    us-east) echo 1 ;;
    *) rdie "unknown region \"$1\" (regions: ${ALL_REGIONS[*]})" ;;
  esac
}
region_dc() { [ "$(region_index "$1")" = 0 ] && echo dc1 || echo dc2; }

# port <region> <what>
port() {
  local offset
  case "$2" in
    nats) offset=0 ;;         # the region's NATS with JetStream: what its processes connect to
    nats-gw-client) offset=1 ;; # the gateway server's own client port (operators, nats CLI)
    nats-gw-leaf) offset=2 ;;   # where the region's NATS connects as a leaf node
    nats-gw) offset=3 ;;        # gateway connections between regions
    redis) offset=4 ;;
    api) offset=5 ;;
    gateway) offset=6 ;;
    queue) offset=7 ;;
    nats-monitor) offset=8 ;;
    nats-gw-monitor) offset=9 ;;
    *) rdie "no port for $2" ;;
  esac
  echo $((PORT_BASE + 20 * $(region_index "$1") + offset))
}

# --- Cassandra nodes: name address dc token jmx_port -------------------------------------------------------

cassandra_layout() {
  # Sets CASSANDRA_NODES_DIR and the node table for the chosen mode (auto resolves here, once per run).
  local mode=$CASSANDRA_MODE
  if [ "$mode" = auto ]; then
    if [ -f "$STACK_DIR/cassandra.mode" ]; then
      mode=$(cat "$STACK_DIR/cassandra.mode")
    elif bash "$CASSANDRA_SCRIPTS/node.sh" status single >/dev/null 2>&1; then
      rlog "the single Cassandra node holds 127.0.0.1:9042: using a private cluster on 127.0.1.1-3"
      mode=private
    else
      mode=cluster
    fi
  fi
  mkdir -p "$STACK_DIR"
  echo "$mode" >"$STACK_DIR/cassandra.mode"
  RESOLVED_CASSANDRA_MODE=$mode
  if [ "$mode" = private ]; then
    CASSANDRA_NODES_DIR="$STACK_DIR/cassandra"
    CNODES=(
      "dc1-n1 127.0.1.1 dc1 -9223372036854775808 7410"
      "dc1-n2 127.0.1.2 dc1 0 7420"
      "dc2-n1 127.0.1.3 dc2 -9223372036854775708 7430"
    )
  else
    # Exactly scripts/cassandra/cluster-up.sh's nodes, so `npm run cassandra:cluster:*` and this stack agree.
    CASSANDRA_NODES_DIR="${PARLEY_CASSANDRA_NODES:-$HOME/.cache/parley/nodes}"
    CNODES=(
      "dc1-n1 127.0.0.1 dc1 -9223372036854775808 7100"
      "dc1-n2 127.0.0.2 dc1 0 7200"
      "dc2-n1 127.0.0.3 dc2 -9223372036854775708 7300"
    )
  fi
  SEED_ADDRESS=$(echo "${CNODES[0]}" | cut -d' ' -f2)
}

cnode_field() { # cnode_field <name> <1-5>
  local entry
  for entry in "${CNODES[@]}"; do
    [ "${entry%% *}" = "$1" ] && echo "$entry" | cut -d' ' -f"$2" && return 0
  done
  return 1
}
region_nodes() { # node names of a region's data centre
  local dc entry
  dc=$(region_dc "$1")
  for entry in "${CNODES[@]}"; do [ "$(echo "$entry" | cut -d' ' -f3)" = "$dc" ] && echo "${entry%% *}"; done
}
region_hosts_json() {
  local n out=""
  for n in $(region_nodes "$1"); do out="$out${out:+,}\"$(cnode_field "$n" 2)\""; done
  echo "[$out]"
}
cnode() { PARLEY_CASSANDRA_NODES="$CASSANDRA_NODES_DIR" bash "$CASSANDRA_SCRIPTS/node.sh" "$@"; }
cnode_running() { cnode status "$1" >/dev/null 2>&1; }
cnode_owned() { [ -f "$STACK_DIR/cassandra.owned" ] && grep -qx "$1" "$STACK_DIR/cassandra.owned"; }

# --- processes -------------------------------------------------------------------------------------------

# pid_alive <pidfile> <marker>: the pid in the file is alive and still this stack's process (pids get reused):
# its command line contains the marker, a path only it has there, or, for `cwd:<dir>`, it runs in that
# directory (Redis rewrites its command line).
pid_alive() {
  local pid
  [ -f "$1" ] || return 1
  pid=$(cat "$1")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  if [[ "$2" == cwd:* ]]; then
    [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "${2#cwd:}" ] || return 1
  else
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$2" || return 1
  fi
  echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# stop_pid <pidfile> <marker> <what>: SIGTERM, up to 30 s to drain, then SIGKILL. Idempotent.
stop_pid() {
  local pid i
  if ! pid=$(pid_alive "$1" "$2"); then
    rm -f "$1"
    return 0
  fi
  rlog "stopping $3 (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 150); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    rlog "$3 did not stop within 30 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$1"
}
