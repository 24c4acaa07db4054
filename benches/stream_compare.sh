#!/usr/bin/env bash
# Streams side by side: redis-benchmark from 50 clients against Vole and redis-server, both
# without persistence, alternating rounds; prints median requests/s and the Vole/Redis ratio
# at -P 1 and -P 16 for:
#   XADD              XADD s * f v                          (one stream, auto IDs)
#   XADD MAXLEN ~     XADD capped * f v with MAXLEN ~ 10000 (BullMQ's event stream shape)
#   XREADGROUP        XREADGROUP GROUP g c COUNT 1 STREAMS q >   (new entries, each
#                     delivered once and left pending; q is filled before the round)
#   XACK              XACK q g <random id>                  (acknowledging those deliveries)
#   XRANGE 10         XRANGE s - + COUNT 10
#
# Usage: benches/stream_compare.sh [ROUNDS] [REQUESTS]   (defaults 3 and 100000)
# Needs redis-server and redis-benchmark (apt-get install -y redis-server redis-tools).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
REQUESTS=${2:-100000}
CLIENTS=50

. benches/common.sh
start_pair --appendonly no

bench() { # server port pipeline label args...
  local s=$1 port=$2 p=$3 label=$4
  shift 4
  redis-benchmark -h 127.0.0.1 -p "$port" -c $CLIENTS -n "$REQUESTS" -P "$p" -r "$REQUESTS" --csv -q \
      "$@" 2>/dev/null \
    | tr -d '"' | awk -F, -v s="$s" -v p="$p" -v t="$label" '$1 != "test" { print s "|" p "|" t "|" $2 }' >> "$RESULTS"
}

# fill port: a fresh stream q of REQUESTS entries with IDs 1-1 .. N-1 and a group g at 0.
fill() {
  redis-cli -p "$1" DEL q >/dev/null
  seq 1 "$REQUESTS" | awk '{ printf "*5\r\n$4\r\nXADD\r\n$1\r\nq\r\n$%d\r\n%s-1\r\n$1\r\nf\r\n$1\r\nv\r\n", length($1)+2, $1 }' \
    | redis-cli -p "$1" --pipe >/dev/null
  redis-cli -p "$1" XGROUP CREATE q g 0 >/dev/null
}

run() { # server port pipeline
  bench "$1" "$2" "$3" "XADD" XADD s '*' f v
  bench "$1" "$2" "$3" "XADD MAXLEN ~ 10000" XADD capped MAXLEN '~' 10000 '*' f v
  fill "$2"
  bench "$1" "$2" "$3" "XREADGROUP COUNT 1" XREADGROUP GROUP g c COUNT 1 STREAMS q '>'
  bench "$1" "$2" "$3" "XACK" XACK q g __rand_int__-1
  bench "$1" "$2" "$3" "XRANGE - + COUNT 10" XRANGE s - + COUNT 10
}
alternate

print_table
