#!/usr/bin/env bash
# Data types side by side: redis-benchmark's list, set, hash and sorted set rows (plus a
# ZRANGE of 100 members) against Vole and redis-server on this machine, alternating rounds,
# same persistence settings; then memory per element for 1M-element hashes, sets and sorted
# sets (used_memory growth of one key, as each server reports it).
#
# Usage: benches/types_compare.sh [ROUNDS] [REQUESTS] [FSYNC]
#   ROUNDS    alternating runs per server and row (default 3)
#   REQUESTS  requests per run (default 100000)
#   FSYNC     off (default), everysec or always: the same policy for both servers
# Needs redis-server, redis-benchmark (apt-get install -y redis-server redis-tools) and the
# Python redis package (pip install redis) for the memory part.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
REQUESTS=${2:-100000}
FSYNC=${3:-off}
CLIENTS=50
TESTS="lpush,lpop,rpop,sadd,spop,hset,zadd,lrange_100,lrange_600"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vole-target}"
cargo build --release -p vole-server --bin vole >/dev/null
VOLE_BIN="$CARGO_TARGET_DIR/release/vole"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
VPORT=$(free_port); RPORT=$(free_port)
DATA=$(mktemp -d); mkdir -p "$DATA/v" "$DATA/r"
if [ "$FSYNC" = off ]; then
  VOLE_P=(--appendonly no); REDIS_P=(--appendonly no)
else
  VOLE_P=(--appendonly yes --appendfsync "$FSYNC"); REDIS_P=(--appendonly yes --appendfsync "$FSYNC")
fi
"$VOLE_BIN" --addr 127.0.0.1:$VPORT --dir "$DATA/v" --snapshot-interval 0 "${VOLE_P[@]}" >/dev/null 2>&1 &
VPID=$!
redis-server --port $RPORT --bind 127.0.0.1 --save '' --dir "$DATA/r" "${REDIS_P[@]}" >/dev/null 2>&1 &
RPID=$!
trap 'kill $VPID $RPID 2>/dev/null; wait 2>/dev/null; rm -rf "$DATA"' EXIT
for p in $VPORT $RPORT; do
  for _ in $(seq 100); do redis-cli -p $p PING >/dev/null 2>&1 && break; sleep 0.1; done
done
for p in $VPORT $RPORT; do
  redis-cli -p $p DEL zbench >/dev/null
  redis-cli -p $p ZADD zbench $(for i in $(seq 100); do echo "$i m$i"; done) >/dev/null
done

RESULTS=$(mktemp)
run() { # server port pipeline: appends "server|pipeline|test|rps" lines
  redis-benchmark -h 127.0.0.1 -p "$2" -c $CLIENTS -n "$REQUESTS" -P "$3" -t "$TESTS" -r 100000 --csv -q 2>/dev/null \
    | tr -d '"' | awk -F, -v s="$1" -v p="$3" '$1 != "test" { print s "|" p "|" $1 "|" $2 }' >> "$RESULTS"
  redis-benchmark -h 127.0.0.1 -p "$2" -c $CLIENTS -n "$REQUESTS" -P "$3" --csv -q ZRANGE zbench 0 99 2>/dev/null \
    | tr -d '"' | awk -F, -v s="$1" -v p="$3" '$1 != "test" { print s "|" p "|ZRANGE_100|" $2 }' >> "$RESULTS"
}
for r in $(seq "$ROUNDS"); do
  for P in 1 16; do
    run vole $VPORT $P
    run redis $RPORT $P
  done
done

median() { sort -n | awk '{a[NR]=$1} END { if (NR == 0) print 0; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2 }'; }
echo "persistence: $FSYNC, $ROUNDS rounds of $REQUESTS requests, $CLIENTS clients"
printf '| %-28s | %-3s | %12s | %12s | %6s |\n' test "-P" "vole rps" "redis rps" ratio
printf '|%s|%s|%s|%s|%s|\n' ------------------------------ ----- -------------- -------------- --------
for P in 1 16; do
  awk -F'|' -v p=$P '$2==p {print $3}' "$RESULTS" | sort -u | while IFS= read -r T; do
    V=$(awk -F'|' -v p=$P -v t="$T" '$1=="vole" && $2==p && $3==t {print $4}' "$RESULTS" | median)
    R=$(awk -F'|' -v p=$P -v t="$T" '$1=="redis" && $2==p && $3==t {print $4}' "$RESULTS" | median)
    RATIO=$(awk -v v="$V" -v r="$R" 'BEGIN { if (r > 0) printf "%.2f", v / r; else print "n/a" }')
    printf '| %-28s | %-3s | %12.0f | %12.0f | %6s |\n' "$T" "$P" "$V" "$R" "$RATIO"
  done
done
rm -f "$RESULTS"

# Memory per element of one 1M-element key of each type.
python3 - "$VPORT" "$RPORT" <<'PY'
import sys, redis
N, BATCH = 1_000_000, 1000
def used(c):
    return int(c.info("memory")["used_memory"])
def fill(c, kind):
    c.flushall()
    base = used(c)
    p = c.pipeline(transaction=False)
    for i in range(0, N, BATCH):
        if kind == "hash":
            p.hset("k", mapping={f"field:{j}": f"value:{j}" for j in range(i, i + BATCH)})
        elif kind == "set":
            p.sadd("k", *[f"member:{j}" for j in range(i, i + BATCH)])
        else:
            p.zadd("k", {f"member:{j}": j for j in range(i, i + BATCH)})
        if len(p) >= 50:
            p.execute()
    p.execute()
    return (used(c) - base) / N
ports = {"vole": int(sys.argv[1]), "redis": int(sys.argv[2])}
print()
print("| type (1M elements, ~10-byte members) | vole bytes/elem | redis bytes/elem | ratio |")
print("|---|---|---|---|")
for kind in ("hash", "set", "zset"):
    got = {name: fill(redis.Redis(port=port), kind) for name, port in ports.items()}
    print(f"| {kind} | {got['vole']:.1f} | {got['redis']:.1f} | {got['vole'] / got['redis']:.2f} |")
    for port in ports.values():
        redis.Redis(port=port).flushall()
PY
