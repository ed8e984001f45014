#!/usr/bin/env bash
# nodetool for the local nodes: `nodetool.sh <node name> <command...>`, e.g. `nodetool.sh dc1-n1 status`.
# JMX ports: single 7199, dc1-n1 7100, dc1-n2 7200, dc2-n1 7300 (JMX always binds 127.0.0.1).
set -euo pipefail
. "$(dirname "$0")/common.sh"
[ $# -ge 2 ] || die "usage: nodetool.sh <single|dc1-n1|dc1-n2|dc2-n1> <command...>"
case "$1" in
  single) port=7199 ;; dc1-n1) port=7100 ;; dc1-n2) port=7200 ;; dc2-n1) port=7300 ;;
  *) die "unknown node $1" ;;
esac
shift
nodetool "$port" "$@"
