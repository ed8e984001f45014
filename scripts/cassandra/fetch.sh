#!/usr/bin/env bash
# Fetches Apache Cassandra (org.apache.cassandra:cassandra-all and its runtime dependencies) from Maven
# Central into $PARLEY_CASSANDRA_HOME (default ~/.cache/parley/cassandra-<version>/lib), outside the repo.
# Idempotent: does nothing when the jars are already there. Prints the lib directory on stdout.
set -euo pipefail
. "$(dirname "$0")/common.sh"

if [ -f "$CASSANDRA_LIB/.complete" ]; then
  echo "$CASSANDRA_LIB"
  exit 0
fi
command -v mvn >/dev/null || die "Maven (mvn) is required to fetch Cassandra jars: apt-get install maven"
command -v java >/dev/null || die "Java 17 is required to run Cassandra: apt-get install openjdk-17-jdk-headless"

log "fetching cassandra-all $CASSANDRA_VERSION and its runtime dependencies into $CASSANDRA_LIB"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/pom.xml" <<POM
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>parley.local</groupId>
  <artifactId>cassandra-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.cassandra</groupId>
      <artifactId>cassandra-all</artifactId>
      <version>$CASSANDRA_VERSION</version>
    </dependency>
  </dependencies>
</project>
POM
rm -rf "$CASSANDRA_LIB.partial"
mkdir -p "$CASSANDRA_LIB.partial"
started=$(date +%s)
(cd "$work" && mvn -B -q dependency:copy-dependencies -DincludeScope=runtime \
  -DoutputDirectory="$CASSANDRA_LIB.partial") || die "mvn could not fetch cassandra-all $CASSANDRA_VERSION (see above)"
ls "$CASSANDRA_LIB.partial"/cassandra-all-*.jar >/dev/null 2>&1 || die "cassandra-all jar missing after mvn"
rm -rf "$CASSANDRA_LIB"
mv "$CASSANDRA_LIB.partial" "$CASSANDRA_LIB"
touch "$CASSANDRA_LIB/.complete"
log "fetched $(ls "$CASSANDRA_LIB" | wc -l) jars in $(($(date +%s) - started)) s"
echo "$CASSANDRA_LIB"
