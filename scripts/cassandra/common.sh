# Shared settings for the local Cassandra scripts (sourced, not run).
# Everything lives outside the repository:
#   jars   $PARLEY_CASSANDRA_HOME/lib   (default ~/.cache/parley/cassandra-<version>)
#   nodes  $PARLEY_CASSANDRA_NODES/<name> (default ~/.cache/parley/nodes): config, data, logs, pid file
CASSANDRA_VERSION="${PARLEY_CASSANDRA_VERSION:-5.0.8}"
CASSANDRA_HOME="${PARLEY_CASSANDRA_HOME:-$HOME/.cache/parley/cassandra-$CASSANDRA_VERSION}"
CASSANDRA_LIB="$CASSANDRA_HOME/lib"
NODES_DIR="${PARLEY_CASSANDRA_NODES:-$HOME/.cache/parley/nodes}"
SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPTS_DIR/../.." && pwd)"
# Heap per node: modest, the machines have 2 cores and other work runs beside the nodes.
CASSANDRA_HEAP="${PARLEY_CASSANDRA_HEAP:-768m}"
# How long to wait for CQL to answer before giving up (seconds).
CASSANDRA_START_TIMEOUT="${PARLEY_CASSANDRA_START_TIMEOUT:-240}"

log() { printf '[cassandra %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

SINGLE_NODE=single
CLUSTER_NODES=(dc1-n1 dc1-n2 dc2-n1)

# True when something accepts TCP connections on address:port.
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# Waits for CQL on a node started by node.sh (fails early if its JVM dies).
wait_cql() {
  local name=$1 address=$2 dc=$3 dir="$NODES_DIR/$1"
  node "$SCRIPTS_DIR/wait-cql.js" "$address" "$dc" "$CASSANDRA_START_TIMEOUT" "$dir/cassandra.pid" "$dir/logs/system.log"
}

# Seconds since node.sh wrote the node's started_at.
elapsed_since_start() {
  local dir="$NODES_DIR/$1"
  awk -v s="$(cat "$dir/started_at")" -v n="$(date +%s.%N)" 'BEGIN { printf "%.1f", n - s }'
}

any_running() {
  local n
  for n in "$@"; do "$SCRIPTS_DIR/node.sh" status "$n" >/dev/null 2>&1 && return 0; done
  return 1
}

# From Cassandra 5.0's conf/jvm17-server.options (JPMS), for the server and for nodetool.
JPMS_OPTS=(
  -Djdk.attach.allowAttachSelf=true
  --add-exports java.base/jdk.internal.misc=ALL-UNNAMED
  --add-exports java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED
  --add-exports java.rmi/sun.rmi.registry=ALL-UNNAMED
  --add-exports java.rmi/sun.rmi.server=ALL-UNNAMED
  --add-exports java.sql/java.sql=ALL-UNNAMED
  --add-exports java.base/java.lang.ref=ALL-UNNAMED
  --add-exports jdk.unsupported/sun.misc=ALL-UNNAMED
  --add-opens java.base/java.lang.module=ALL-UNNAMED
  --add-opens java.base/jdk.internal.loader=ALL-UNNAMED
  --add-opens java.base/jdk.internal.ref=ALL-UNNAMED
  --add-opens java.base/jdk.internal.reflect=ALL-UNNAMED
  --add-opens java.base/jdk.internal.math=ALL-UNNAMED
  --add-opens java.base/jdk.internal.module=ALL-UNNAMED
  --add-opens java.base/jdk.internal.util.jar=ALL-UNNAMED
  --add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED
  --add-opens java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens java.base/java.io=ALL-UNNAMED
  --add-opens java.base/java.lang.reflect=ALL-UNNAMED
  --add-opens java.base/java.lang=ALL-UNNAMED
  --add-opens java.base/java.util=ALL-UNNAMED
)

# nodetool against a local node's JMX port: nodetool 7100 status
nodetool() {
  local port=$1
  shift
  mkdir -p "$NODES_DIR/.nodetool"
  [ -f "$NODES_DIR/.nodetool/logback.xml" ] ||
    echo '<configuration><root level="WARN"/></configuration>' >"$NODES_DIR/.nodetool/logback.xml"
  java "${JPMS_OPTS[@]}" -Dcassandra.storagedir="$NODES_DIR/.nodetool" \
    -Dlogback.configurationFile="file://$NODES_DIR/.nodetool/logback.xml" -cp "$CASSANDRA_LIB/*" \
    org.apache.cassandra.tools.NodeTool -h 127.0.0.1 -p "$port" "$@"
}
