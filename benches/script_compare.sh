#!/usr/bin/env bash
# EVALSHA side by side: a small script (read a key, increment it, return the value) run by
# redis-benchmark from 50 clients against Vole and redis-server, both without persistence,
# alternating rounds; prints median requests/s and the Vole/Redis ratio for -P 1 and -P 16.
#
# Usage: benches/script_compare.sh [ROUNDS] [REQUESTS]   (defaults 3 and 100000)
# Needs redis-server and redis-benchmark (apt-get install -y redis-server redis-tools).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
REQUESTS=${2:-100000}
CLIENTS=50
SCRIPT="local v = redis.call('incr', KEYS[1]) if v % 2 == 0 then redis.call('expire', KEYS[1], 3600) end return v"

. benches/common.sh
start_pair --appendonly no
SHA=$(redis-cli -p $VPORT SCRIPT LOAD "$SCRIPT")
[ "$(redis-cli -p $RPORT SCRIPT LOAD "$SCRIPT")" = "$SHA" ] || { echo "sha mismatch" >&2; exit 1; }

run() { # server port pipeline
  redis-benchmark -h 127.0.0.1 -p "$2" -c $CLIENTS -n "$REQUESTS" -P "$3" -r 100000 --csv -q \
      EVALSHA "$SHA" 1 key:__rand_int__ 2>/dev/null \
    | tr -d '"' | awk -F, -v s="$1" -v p="$3" '$1 != "test" { print s "|" p "|EVALSHA incr+expire|" $2 }' >> "$RESULTS"
}
alternate

print_table
