#!/usr/bin/env bash
# Side-by-side load: redis-benchmark against Vole and redis-server on this machine, both
# without persistence (benches/persistence_compare.sh covers the log), alternating runs,
# printing the median requests/second per row and the Vole/Redis ratio.
#
# Usage: benches/redis_compare.sh [ROUNDS] [REQUESTS]
#   ROUNDS    alternating runs per server and row (default 5)
#   REQUESTS  requests per run (default 200000)
# Needs redis-server and redis-benchmark (apt-get install -y redis-server redis-tools).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
REQUESTS=${2:-200000}
CLIENTS=50
TESTS="set,get,incr,mset"

. benches/common.sh
start_pair --appendonly no

run() { # server port pipeline: appends "server|pipeline|test|rps" lines
  redis-benchmark -h 127.0.0.1 -p "$2" -c $CLIENTS -n "$REQUESTS" -P "$3" -t "$TESTS" -r 100000 --csv -q 2>/dev/null \
    | tr -d '"' | awk -F, -v s="$1" -v p="$3" '$1 != "test" { print s "|" p "|" $1 "|" $2 }' >> "$RESULTS"
}
alternate

print_table
