#!/usr/bin/env bash
# Durable throughput and restart, Vole against redis-server, same fsync policy, same machine.
#
# Part 1 (throughput): for appendfsync everysec and always, redis-benchmark (50 clients,
# SET and INCR, with and without -P 16) against Vole (its WAL) and redis-server
# (--appendonly yes), alternating runs; prints medians and Vole/Redis ratios, and Vole's
# always/everysec ratio.
# Part 2 (restart): load N small keys into each, then time a restart: Vole from its snapshot
# and from its log alone; Redis from RDB and from a plain AOF (aof-use-rdb-preamble no).
# Prints seconds to ready and bytes on disk.
#
# Usage: benches/persistence_compare.sh [ROUNDS] [REQUESTS] [KEYS...]
#   ROUNDS    alternating runs per server and row (default 3)
#   REQUESTS  requests per benchmark run (default 200000)
#   KEYS      key counts for the restart part (default "1000000 5000000")
# Needs redis-server, redis-cli, redis-benchmark (apt-get install -y redis-server redis-tools)
# and python3. Everything listens on 127.0.0.1 and stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
REQUESTS=${2:-200000}
shift 2 2>/dev/null || shift $# 2>/dev/null || true
KEYS=${*:-"1000000 5000000"}
CLIENTS=50

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vole-target}"
cargo build --release -p vole-server --bin vole >/dev/null
VOLE_BIN="$CARGO_TARGET_DIR/release/vole"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Ready means PING answers PONG (a loading Redis answers -LOADING, which does not count).
wait_ping() { for _ in $(seq 2400); do [ "$(redis-cli -p "$1" PING 2>/dev/null)" = PONG ] && return 0; sleep 0.02; done; return 1; }
now() { date +%s.%N; }
PIDS=()
WORK=$(mktemp -d)
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
median() { sort -n | awk '{a[NR]=$1} END { if (NR == 0) print 0; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2 }'; }

start_vole() { # dir port extra...
  local dir=$1 port=$2; shift 2
  "$VOLE_BIN" --addr 127.0.0.1:"$port" --dir "$dir" "$@" >/dev/null 2>>"$WORK/vole.log" &
  VPID=$!; PIDS+=("$VPID"); wait_ping "$port"
}
start_redis() { # dir port extra...
  local dir=$1 port=$2; shift 2
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" "$@" >/dev/null 2>&1 &
  RPID=$!; PIDS+=("$RPID"); wait_ping "$port"
}
stop() { # port pid [SHUTDOWN args]
  local port=$1 pid=$2; shift 2
  redis-cli -p "$port" SHUTDOWN "$@" >/dev/null 2>&1 || true
  for _ in $(seq 1200); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.05; done
  kill -9 "$pid" 2>/dev/null || true
}

echo "## Durable throughput ($CLIENTS clients, $REQUESTS requests, median of $ROUNDS)"
RESULTS="$WORK/results"
: > "$RESULTS"
for POLICY in everysec always; do
  VDIR="$WORK/v-$POLICY"; RDIR="$WORK/r-$POLICY"; mkdir -p "$VDIR" "$RDIR"
  VPORT=$(free_port); RPORT=$(free_port)
  start_vole "$VDIR" "$VPORT" --appendfsync "$POLICY" --snapshot-interval 0
  start_redis "$RDIR" "$RPORT" --save '' --appendonly yes --appendfsync "$POLICY"
  for _ in $(seq "$ROUNDS"); do
    for P in 1 16; do
      for S in vole redis; do
        PORT=$VPORT; [ "$S" = redis ] && PORT=$RPORT
        redis-benchmark -h 127.0.0.1 -p "$PORT" -c $CLIENTS -n "$REQUESTS" -P "$P" -t set,incr -r 100000 --csv -q 2>/dev/null \
          | tr -d '"' | awk -F, -v s="$S" -v p="$P" -v f="$POLICY" '$1 != "test" { print f "|" s "|" p "|" $1 "|" $2 }' >> "$RESULTS"
      done
    done
  done
  stop "$VPORT" "$VPID" NOSAVE; stop "$RPORT" "$RPID" NOSAVE
done
printf '| %-8s | %-4s | %-3s | %10s | %10s | %11s |\n' fsync test "-P" "vole rps" "redis rps" "vole/redis"
printf '|%s|%s|%s|%s|%s|%s|\n' ---------- ------ ----- ------------ ------------ -------------
for POLICY in everysec always; do for P in 1 16; do for T in SET INCR; do
  V=$(awk -F'|' -v f=$POLICY -v p=$P -v t=$T '$1==f && $2=="vole" && $3==p && $4==t {print $5}' "$RESULTS" | median)
  R=$(awk -F'|' -v f=$POLICY -v p=$P -v t=$T '$1==f && $2=="redis" && $3==p && $4==t {print $5}' "$RESULTS" | median)
  printf '| %-8s | %-4s | %-3s | %10.0f | %10.0f | %11s |\n' "$POLICY" "$T" "$P" "$V" "$R" \
    "$(awk -v v="$V" -v r="$R" 'BEGIN { if (r > 0) printf "%.2f", v / r; else print "n/a" }')"
done; done; done
echo
echo "Vole always / Vole everysec:"
for P in 1 16; do for T in SET INCR; do
  A=$(awk -F'|' -v p=$P -v t=$T '$1=="always" && $2=="vole" && $3==p && $4==t {print $5}' "$RESULTS" | median)
  E=$(awk -F'|' -v p=$P -v t=$T '$1=="everysec" && $2=="vole" && $3==p && $4==t {print $5}' "$RESULTS" | median)
  echo "  $T -P $P: $(awk -v a="$A" -v e="$E" 'BEGIN { if (e > 0) printf "%.2f", a / e; else print "n/a" }')"
done; done

# Part 2: restart time and bytes on disk.
gen() { # N: RESP SET commands for key:0..N-1, 10-byte values
  python3 - "$1" <<'PY'
import sys
n = int(sys.argv[1])
out = sys.stdout.buffer
buf = []
for i in range(n):
    k = b"key:%d" % i
    v = b"val:%06d" % (i % 1000000)
    buf.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v))
    if len(buf) == 10000:
        out.write(b"".join(buf)); buf = []
out.write(b"".join(buf))
PY
}
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
dsize() { du -sb "$1" 2>/dev/null | cut -f1; }

echo
echo "## Restart (seconds until PING answers) and bytes on disk"
printf '| %-9s | %-28s | %8s | %14s |\n' keys case seconds bytes
printf '|%s|%s|%s|%s|\n' ----------- ------------------------------ ---------- ----------------
for N in $KEYS; do
  gen "$N" > "$WORK/data.resp"
  # Vole: log + snapshot.
  VDIR="$WORK/vr-$N"; mkdir -p "$VDIR"; VPORT=$(free_port)
  start_vole "$VDIR" "$VPORT" --snapshot-interval 0 --auto-aof-rewrite-percentage 0
  redis-cli -p "$VPORT" --pipe < "$WORK/data.resp" >/dev/null
  stop "$VPORT" "$VPID" NOSAVE
  LOGB=$(dsize "$VDIR/vole.aof")
  T0=$(now); start_vole "$VDIR" "$VPORT" --snapshot-interval 0 --auto-aof-rewrite-percentage 0; S=$(since "$T0")
  printf '| %-9s | %-28s | %8s | %14s |\n' "$N" "vole, log only (replay)" "$S" "$LOGB"
  redis-cli -p "$VPORT" SAVE >/dev/null
  stop "$VPORT" "$VPID" NOSAVE
  SNAPB=$(dsize "$VDIR/vole.snap")
  T0=$(now); start_vole "$VDIR" "$VPORT" --snapshot-interval 0 --auto-aof-rewrite-percentage 0; S=$(since "$T0")
  printf '| %-9s | %-28s | %8s | %14s |\n' "$N" "vole, snapshot" "$S" "$SNAPB"
  stop "$VPORT" "$VPID" NOSAVE
  # Redis: RDB, then a plain AOF.
  RDIR="$WORK/rr-$N"; mkdir -p "$RDIR"; RPORT=$(free_port)
  start_redis "$RDIR" "$RPORT" --save '' --appendonly no
  redis-cli -p "$RPORT" --pipe < "$WORK/data.resp" >/dev/null
  redis-cli -p "$RPORT" SAVE >/dev/null
  stop "$RPORT" "$RPID" NOSAVE
  T0=$(now); start_redis "$RDIR" "$RPORT" --save '' --appendonly no; S=$(since "$T0")
  printf '| %-9s | %-28s | %8s | %14s |\n' "$N" "redis, RDB" "$S" "$(dsize "$RDIR/dump.rdb")"
  stop "$RPORT" "$RPID" NOSAVE
  ADIR="$WORK/ra-$N"; mkdir -p "$ADIR"
  start_redis "$ADIR" "$RPORT" --save '' --appendonly yes --aof-use-rdb-preamble no --auto-aof-rewrite-percentage 0
  redis-cli -p "$RPORT" --pipe < "$WORK/data.resp" >/dev/null
  stop "$RPORT" "$RPID" NOSAVE
  T0=$(now); start_redis "$ADIR" "$RPORT" --save '' --appendonly yes --aof-use-rdb-preamble no --auto-aof-rewrite-percentage 0; S=$(since "$T0")
  printf '| %-9s | %-28s | %8s | %14s |\n' "$N" "redis, plain AOF" "$S" "$(dsize "$ADIR/appendonlydir")"
  stop "$RPORT" "$RPID" NOSAVE
  rm -rf "$VDIR" "$RDIR" "$ADIR" "$WORK/data.resp"
done
