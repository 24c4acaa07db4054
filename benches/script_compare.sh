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

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vole-target}"
cargo build --release -p vole-server --bin vole >/dev/null
VOLE_BIN="$CARGO_TARGET_DIR/release/vole"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
VPORT=$(free_port); RPORT=$(free_port)
DATA=$(mktemp -d)
"$VOLE_BIN" --addr 127.0.0.1:$VPORT --dir "$DATA" --appendonly no >/dev/null 2>&1 &
VPID=$!
redis-server --port $RPORT --bind 127.0.0.1 --save '' --appendonly no --dir "$DATA" >/dev/null 2>&1 &
RPID=$!
trap 'kill $VPID $RPID 2>/dev/null; rm -rf "$DATA"' EXIT
for p in $VPORT $RPORT; do
  for _ in $(seq 50); do redis-cli -p $p PING >/dev/null 2>&1 && break; sleep 0.1; done
done
SHA=$(redis-cli -p $VPORT SCRIPT LOAD "$SCRIPT")
[ "$(redis-cli -p $RPORT SCRIPT LOAD "$SCRIPT")" = "$SHA" ] || { echo "sha mismatch" >&2; exit 1; }

RESULTS=$(mktemp)
run() { # server port pipeline
  redis-benchmark -h 127.0.0.1 -p "$2" -c $CLIENTS -n "$REQUESTS" -P "$3" -r 100000 --csv -q \
      EVALSHA "$SHA" 1 key:__rand_int__ 2>/dev/null \
    | tr -d '"' | awk -F, -v s="$1" -v p="$3" '$1 != "test" { print s "|" p "|EVALSHA incr+expire|" $2 }' >> "$RESULTS"
}
for r in $(seq "$ROUNDS"); do
  for P in 1 16; do
    run vole $VPORT $P
    run redis $RPORT $P
  done
done

median() { sort -n | awk '{a[NR]=$1} END { if (NR == 0) print 0; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2 }'; }
printf '| %-22s | %-3s | %12s | %12s | %6s |\n' test "-P" "vole rps" "redis rps" ratio
printf '|%s|%s|%s|%s|%s|\n' ------------------------ ----- -------------- -------------- --------
for P in 1 16; do
  awk -F'|' -v p=$P '$2==p {print $3}' "$RESULTS" | sort -u | while IFS= read -r T; do
    V=$(awk -F'|' -v p=$P -v t="$T" '$1=="vole" && $2==p && $3==t {print $4}' "$RESULTS" | median)
    R=$(awk -F'|' -v p=$P -v t="$T" '$1=="redis" && $2==p && $3==t {print $4}' "$RESULTS" | median)
    RATIO=$(awk -v v="$V" -v r="$R" 'BEGIN { if (r > 0) printf "%.2f", v / r; else print "n/a" }')
    printf '| %-22s | %-3s | %12.0f | %12.0f | %6s |\n' "$T" "$P" "$V" "$R" "$RATIO"
  done
done
rm -f "$RESULTS"
