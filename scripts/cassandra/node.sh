#!/usr/bin/env bash
# Starts or stops one local Cassandra node whose whole state lives in $PARLEY_CASSANDRA_NODES/<name>.
#   node.sh start <name> <address> <dc> <rack> <seeds> <initial_token> <jmx_port>
#   node.sh stop  <name>
#   node.sh status <name>          (exit 0 when its process is alive)
# `start` writes cassandra.yaml, cassandra-rackdc.properties and logback.xml, launches CassandraDaemon in the
# background (pid file <dir>/cassandra.pid, log <dir>/logs/system.log and <dir>/stdout.log) and returns at once;
# waiting for CQL is wait-cql.js's job. A node whose identity (address, dc, rack, token) changed is wiped first,
# because Cassandra refuses to start with a different DC or rack on old data.
# `stop` is idempotent and only signals the pid it wrote, after checking that the pid is still that node's JVM.
set -euo pipefail
. "$(dirname "$0")/common.sh"

node_pid() {
  local dir="$NODES_DIR/$1" pid
  [ -f "$dir/cassandra.pid" ] || return 1
  pid=$(cat "$dir/cassandra.pid")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  # The pid must still be our JVM for this node dir (pids get reused).
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "-Dparley.node.dir=$dir " || return 1
  echo "$pid"
}

cmd_status() {
  local name=$1 pid
  if pid=$(node_pid "$name"); then echo "$name running (pid $pid)"; else echo "$name stopped"; return 1; fi
}

cmd_stop() {
  local name=$1 dir="$NODES_DIR/$1" pid i
  if ! pid=$(node_pid "$name"); then
    rm -f "$dir/cassandra.pid"
    log "$name is not running"
    return 0
  fi
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name did not stop after 30 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$dir/cassandra.pid"
}

cmd_start() {
  [ $# -eq 7 ] || die "usage: node.sh start <name> <address> <dc> <rack> <seeds> <initial_token> <jmx_port>"
  local name=$1 address=$2 dc=$3 rack=$4 seeds=$5 token=$6 jmx_port=$7
  local dir="$NODES_DIR/$name" pid
  if pid=$(node_pid "$name"); then
    log "$name already running (pid $pid)"
    return 0
  fi
  "$SCRIPTS_DIR/fetch.sh" >/dev/null
  local identity="version=$CASSANDRA_VERSION address=$address dc=$dc rack=$rack token=$token"
  if [ -f "$dir/identity" ] && [ "$(cat "$dir/identity")" != "$identity" ]; then
    log "$name changed identity; wiping its data ($dir)"
    rm -rf "$dir"
  fi
  mkdir -p "$dir/conf" "$dir/data" "$dir/logs" "$dir/tmp" "$dir/triggers"
  echo "$identity" >"$dir/identity"

  cat >"$dir/conf/cassandra.yaml" <<YAML
# Written by scripts/cassandra/node.sh for a local development/test node. Not for production.
cluster_name: parley-local
num_tokens: 1
initial_token: $token
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
endpoint_snitch: GossipingPropertyFileSnitch
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "$seeds"
listen_address: $address
rpc_address: $address
storage_port: 7000
native_transport_port: 9042
start_native_transport: true
data_file_directories:
  - $dir/data/data
commitlog_directory: $dir/data/commitlog
saved_caches_directory: $dir/data/saved_caches
hints_directory: $dir/data/hints
cdc_raw_directory: $dir/data/cdc_raw
commitlog_sync: periodic
commitlog_sync_period: 10000ms
auto_bootstrap: false
auto_snapshot: false
snapshot_on_duplicate_row_detection: false
authenticator: AllowAllAuthenticator
authorizer: AllowAllAuthorizer
# Small machines: few threads, one compactor, no compaction throttle so tests do not queue behind it.
concurrent_reads: 8
concurrent_writes: 8
concurrent_counter_writes: 8
concurrent_compactors: 1
compaction_throughput: 0MiB/s
memtable_heap_space: 128MiB
memtable_offheap_space: 128MiB
memtable_allocation_type: ${PARLEY_CASSANDRA_MEMTABLE_ALLOCATION:-heap_buffers}
key_cache_size: 16MiB
# Test timeouts: fail fast instead of queueing (a bench node sets longer ones: PARLEY_CASSANDRA_*_TIMEOUT).
read_request_timeout: ${PARLEY_CASSANDRA_READ_TIMEOUT:-5000ms}
write_request_timeout: ${PARLEY_CASSANDRA_WRITE_TIMEOUT:-2000ms}
range_request_timeout: 10000ms
request_timeout: 10000ms
cas_contention_timeout: 1000ms
hinted_handoff_enabled: true
max_hint_window: 3h
materialized_views_enabled: false
sasi_indexes_enabled: false
YAML

  cat >"$dir/conf/cassandra-rackdc.properties" <<PROPS
dc=$dc
rack=$rack
prefer_local=true
PROPS

  cat >"$dir/conf/logback.xml" <<XML
<configuration scan="false">
  <appender name="FILE" class="ch.qos.logback.core.rolling.RollingFileAppender">
    <file>$dir/logs/system.log</file>
    <rollingPolicy class="ch.qos.logback.core.rolling.FixedWindowRollingPolicy">
      <fileNamePattern>$dir/logs/system.log.%i.zip</fileNamePattern>
      <minIndex>1</minIndex><maxIndex>3</maxIndex>
    </rollingPolicy>
    <triggeringPolicy class="ch.qos.logback.core.rolling.SizeBasedTriggeringPolicy">
      <maxFileSize>20MB</maxFileSize>
    </triggeringPolicy>
    <encoder><pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="FILE" /></root>
  <logger name="org.apache.cassandra" level="INFO" />
</configuration>
XML

  local heap="$CASSANDRA_HEAP"
  local jvm=(
    -Dparley.node.dir="$dir"
    -Xms"$heap" -Xmx"$heap" -Xss256k
    -XX:+UseG1GC -XX:+ParallelRefProcEnabled -XX:MaxTenuringThreshold=1 -XX:MaxGCPauseMillis="${PARLEY_CASSANDRA_GC_PAUSE_MS:-300}"
    -Xlog:gc:file="$dir/logs/gc.log":time,uptime:filecount=3,filesize=10m
    -XX:ParallelGCThreads=2 -XX:ConcGCThreads=1 -XX:CICompilerCount=2
    -XX:+HeapDumpOnOutOfMemoryError -XX:HeapDumpPath="$dir/logs" -XX:+ExitOnOutOfMemoryError
    -XX:MaxDirectMemorySize=512m
    "${JPMS_OPTS[@]}"
    -Dio.netty.tryReflectionSetAccessible=true
    -Dio.netty.allocator.useCacheForAllThreads=true
    -Dio.netty.allocator.maxOrder=11
    -Djava.net.preferIPv4Stack=true
    -javaagent:"$CASSANDRA_LIB/jamm-0.4.0.jar"
    -Djna.tmpdir="$dir/tmp" -Djava.io.tmpdir="$dir/tmp"
    -Dcassandra-foreground=yes
    -Dcassandra.config=file://"$dir/conf/cassandra.yaml"
    -Dcassandra-rackdc.properties=file://"$dir/conf/cassandra-rackdc.properties"
    -Dlogback.configurationFile=file://"$dir/conf/logback.xml"
    -Dcassandra.storagedir="$dir/data"
    -Dcassandra.logdir="$dir/logs"
    -Dcassandra.triggers_dir="$dir/triggers"
    -Dcassandra.jmx.local.port="$jmx_port"
    # Fast start for development and tests (see docs/cassandra.md): no gossip settle wait, short ring delay,
    # no fsync of the system keyspace or anything else (test data only).
    -Dcassandra.skip_wait_for_gossip_to_settle=0
    -Dcassandra.ring_delay_ms=1000
    -Dcassandra.unsafesystem=true
    -Dcassandra.skip_sync=true
    -Dcassandra.superuser_setup_delay_ms=0
  )

  log "starting $name on $address:9042 ($dc/$rack, token $token, heap $heap, dir $dir)"
  date +%s.%N >"$dir/started_at"
  # setsid: the JVM gets its own session so a Ctrl-C in the calling shell does not take it down.
  setsid java "${jvm[@]}" -cp "$CASSANDRA_LIB/*" org.apache.cassandra.service.CassandraDaemon \
    >"$dir/stdout.log" 2>&1 </dev/null &
  echo $! >"$dir/cassandra.pid"
}

case "${1:-}" in
  start) shift; cmd_start "$@" ;;
  stop) shift; [ $# -eq 1 ] || die "usage: node.sh stop <name>"; cmd_stop "$1" ;;
  status) shift; [ $# -eq 1 ] || die "usage: node.sh status <name>"; cmd_status "$1" ;;
  *) die "usage: node.sh start|stop|status <name> ..." ;;
esac
