#!/usr/bin/env bash
# The benchmark entry point: Vole against redis-server on this machine, side by side, with the
# same persistence settings, alternating runs. See docs/benchmarks.md for the latest figures.
#
# Part 1, throughput: redis-benchmark (50 clients, 100k random keys, 64-byte values) runs
#   SET GET INCR LPUSH LPOP SADD HSET ZADD MSET at -P 1 and -P 16, for persistence off,
#   appendfsync everysec and appendfsync always. Each (persistence, -P, test) cell runs
#   ROUNDS times per server, Vole and Redis in alternation (the order flips every round).
#   For every run it records ops/s, p50 and p99 latency as redis-benchmark reports them, and
#   the server's CPU time over the run (utime + stime of all its threads, /proc/PID/stat), so
#   the table shows both ops/s and ops per CPU-second of the server: ops/s swings with the
#   noise of a shared machine, ops per CPU-second much less.
# Part 2, memory and restart: for each key count, load that many string keys (14-byte keys,
#   100-byte values) into a fresh Vole and a fresh Redis (no log, no AOF), report used_memory
#   and RSS growth per key, then SAVE (Vole: snapshot, Redis: RDB), and time ROUNDS restarts
#   of each from that file: seconds from exec until PING answers PONG (a loading Redis
#   answers -LOADING, which does not count).
#
# Usage: benches/compare.sh [ROUNDS] [REQUESTS] [KEYS...]
#   ROUNDS    alternating runs per server and cell, and restarts per server (default 3)
#   REQUESTS  requests per -P 1 run; -P 16 runs send 4x as many (default 100000)
#   KEYS      key counts for part 2 (default "1000000 5000000"); "none" skips part 2
# Environment: PERSIST="off everysec always" (the modes to run; "" skips part 1),
#   TESTS="set,get,..." (redis-benchmark test names), VOLE_ARGS (extra flags for every Vole
#   started, e.g. "--io-threads 2"), CARGO_TARGET_DIR (build cache).
# Installs redis-server and redis-tools with apt-get when they are missing. Everything listens
# on 127.0.0.1 on free ports and stops by itself; the default run takes about 12 minutes on 2
# cores.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
REQUESTS=${2:-100000}
shift 2 2>/dev/null || shift $# 2>/dev/null || true
KEYS=${*:-"1000000 5000000"}
PERSIST=${PERSIST-"off everysec always"}
TESTS=${TESTS:-"set,get,incr,lpush,lpop,sadd,hset,zadd,mset"}
CLIENTS=50

if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null; then
  SUDO=""; [ "$(id -u)" != 0 ] && SUDO=sudo
  $SUDO apt-get install -y redis-server redis-tools >/dev/null
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vole-target}"
cargo build --release -p vole-server --bin vole >/dev/null
VOLE_BIN="$CARGO_TARGET_DIR/release/vole"
TICKS=$(getconf CLK_TCK)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ping() { for _ in $(seq 6000); do [ "$(redis-cli -p "$1" PING 2>/dev/null)" = PONG ] && return 0; sleep 0.01; done; return 1; }
now() { date +%s.%N; }
# CPU ticks (user + system, all threads) the process has used so far.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
median() { sort -g | awk '{a[NR]=$1} END { if (NR == 0) print 0; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

start_vole() { # dir port flags...
  local dir=$1 port=$2; shift 2
  # shellcheck disable=SC2086 # VOLE_ARGS is a list of flags
  "$VOLE_BIN" --addr 127.0.0.1:"$port" --dir "$dir" --snapshot-interval 0 "$@" ${VOLE_ARGS:-} >/dev/null 2>>"$WORK/vole.log" &
  VPID=$!; PIDS+=("$VPID"); wait_ping "$port"
}
start_redis() { # dir port flags...
  local dir=$1 port=$2; shift 2
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save '' "$@" >/dev/null 2>&1 &
  RPID=$!; PIDS+=("$RPID"); wait_ping "$port"
}
stop() { # port pid
  redis-cli -p "$1" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
  for _ in $(seq 1200); do kill -0 "$2" 2>/dev/null || break; sleep 0.05; done
  kill -9 "$2" 2>/dev/null || true
  wait "$2" 2>/dev/null || true
}
persist_flags() { # mode -> VFLAGS and RFLAGS arrays
  if [ "$1" = off ]; then
    VFLAGS=(--appendonly no); RFLAGS=(--appendonly no)
  else
    VFLAGS=(--appendonly yes --appendfsync "$1"); RFLAGS=(--appendonly yes --appendfsync "$1")
  fi
}

# bench server pid port mode pipeline test: one redis-benchmark run, appending
# "mode|test|P|server|rps|p50|p99|ops_per_cpu_s" to RESULTS.
RESULTS="$WORK/results"
: > "$RESULTS"
bench() {
  local server=$1 pid=$2 port=$3 mode=$4 P=$5 t=$6 n=$REQUESTS c0 c1 line
  [ "$P" -gt 1 ] && n=$((REQUESTS * 4))
  c0=$(cpu_ticks "$pid")
  line=$(redis-benchmark -h 127.0.0.1 -p "$port" -c $CLIENTS -n "$n" -P "$P" -d 64 -r 100000 -t "$t" --csv -q 2>/dev/null \
    | tr -d '"' | awk -F, '$1 != "test" { print $1 "|" $2 "|" $5 "|" $7; exit }')
  c1=$(cpu_ticks "$pid")
  [ -n "$line" ] || { echo "redis-benchmark failed: $server $mode -P $P $t" >&2; return 0; }
  local name=${line%%|*} rest=${line#*|}
  name=${name%% (*}
  echo "$mode|$name|$P|$server|$rest|$(awk -v n="$n" -v d=$((c1 - c0)) -v hz="$TICKS" 'BEGIN { if (d > 0) printf "%.0f", n * hz / d; else print 0 }')" >> "$RESULTS"
}

if [ -n "$PERSIST" ]; then
  echo "## Throughput: $CLIENTS clients, $REQUESTS requests at -P 1 ($((REQUESTS * 4)) at -P 16), median of $ROUNDS alternating runs"
  echo
  for MODE in $PERSIST; do
    persist_flags "$MODE"
    mkdir -p "$WORK/v-$MODE" "$WORK/r-$MODE"
    VPORT=$(free_port); RPORT=$(free_port)
    start_vole "$WORK/v-$MODE" "$VPORT" "${VFLAGS[@]}"
    start_redis "$WORK/r-$MODE" "$RPORT" "${RFLAGS[@]}"
    for r in $(seq "$ROUNDS"); do
      for P in 1 16; do
        for t in ${TESTS//,/ }; do
          if [ $((r % 2)) = 1 ]; then
            bench vole "$VPID" "$VPORT" "$MODE" "$P" "$t"; bench redis "$RPID" "$RPORT" "$MODE" "$P" "$t"
          else
            bench redis "$RPID" "$RPORT" "$MODE" "$P" "$t"; bench vole "$VPID" "$VPORT" "$MODE" "$P" "$t"
          fi
        done
      done
    done
    stop "$VPORT" "$VPID"; stop "$RPORT" "$RPID"
    rm -rf "$WORK/v-$MODE" "$WORK/r-$MODE"
  done

  col() { # mode test P server field(5=rps 6=p50 7=p99 8=ops/cpu-s) -> median
    awk -F'|' -v m="$1" -v t="$2" -v p="$3" -v s="$4" -v f="$5" '$1==m && $2==t && $3==p && $4==s { print $f }' "$RESULTS" | median
  }
  printf '| %-8s | %-5s | %-3s | %9s | %9s | %5s | %11s | %11s | %9s | %9s | %5s |\n' \
    persist test "-P" "vole ops/s" "redis ops/s" ratio "vole p50/p99" "redis p50/p99" "vole ops/cpu-s" "redis ops/cpu-s" "cpu ratio"
  echo "|----------|-------|-----|-----------|-----------|-------|-------------|-------------|-----------|-----------|-------|"
  LOGR=0; LOGC=0; ROWS=0
  for MODE in $PERSIST; do
    for P in 1 16; do
      for t in ${TESTS//,/ }; do
        T=$(echo "$t" | tr a-z A-Z)
        VR=$(col "$MODE" "$T" "$P" vole 5); RR=$(col "$MODE" "$T" "$P" redis 5)
        VC=$(col "$MODE" "$T" "$P" vole 8); RC=$(col "$MODE" "$T" "$P" redis 8)
        R1=$(ratio "$VR" "$RR"); R2=$(ratio "$VC" "$RC")
        printf '| %-8s | %-5s | %-3s | %9.0f | %9.0f | %5s | %5s/%-5s | %5s/%-5s | %9.0f | %9.0f | %5s |\n' \
          "$MODE" "$T" "$P" "$VR" "$RR" "$R1" "$(col "$MODE" "$T" "$P" vole 6)" "$(col "$MODE" "$T" "$P" vole 7)" \
          "$(col "$MODE" "$T" "$P" redis 6)" "$(col "$MODE" "$T" "$P" redis 7)" "$VC" "$RC" "$R2"
        if [ "$R1" != n/a ] && [ "$R2" != n/a ]; then
          LOGR=$(awk -v a="$LOGR" -v r="$R1" 'BEGIN { print a + log(r) }')
          LOGC=$(awk -v a="$LOGC" -v r="$R2" 'BEGIN { print a + log(r) }')
          ROWS=$((ROWS + 1))
        fi
      done
    done
  done
  echo
  if [ "$ROWS" -gt 0 ]; then
    echo "Geometric mean over $ROWS rows: ops/s ratio $(awk -v a="$LOGR" -v n=$ROWS 'BEGIN { printf "%.2f", exp(a / n) }'), ops per CPU-second ratio $(awk -v a="$LOGC" -v n=$ROWS 'BEGIN { printf "%.2f", exp(a / n) }')"
  fi
  for MODE in $PERSIST; do
    [ "$MODE" = always ] || continue
    case " $PERSIST " in *" everysec "*) ;; *) continue ;; esac
    for P in 1 16; do
      for T in SET INCR; do
        echo "Vole always / Vole everysec, $T -P $P: $(ratio "$(col always "$T" "$P" vole 5)" "$(col everysec "$T" "$P" vole 5)")"
      done
    done
  done
  echo
fi

[ "$KEYS" = none ] && exit 0

# load port n: SET key:%010d to a 100-byte value, through redis-cli --pipe.
load() {
  python3 - "$2" <<'PY' | redis-cli -p "$1" --pipe >/dev/null
import sys
n = int(sys.argv[1])
out = sys.stdout.buffer
pad = b"x" * 89
buf = []
for i in range(n):
    k = b"key:%010d" % i
    v = b"v%010d" % i + pad
    buf.append(b"*3\r\n$3\r\nSET\r\n$14\r\n%s\r\n$100\r\n%s\r\n" % (k, v))
    if len(buf) == 10000:
        out.write(b"".join(buf))
        buf = []
out.write(b"".join(buf))
PY
}
mem() { # port -> "used_memory rss"
  redis-cli -p "$1" INFO memory | tr -d '\r' | awk -F: '$1=="used_memory" { u=$2 } $1=="used_memory_rss" { r=$2 } END { print u, r }'
}
per_key() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { printf "%.1f", (b - a) / n }'; }

echo "## Memory per key (14-byte keys, 100-byte values) and restart from the saved file"
echo
printf '| %-8s | %-6s | %16s | %9s | %12s | %10s |\n' keys server "used_memory/key" "rss/key" "file bytes" "restart s"
echo "|----------|--------|------------------|-----------|--------------|------------|"
for N in $KEYS; do
  for S in vole redis; do
    D="$WORK/m-$S-$N"; mkdir -p "$D"; PORT=$(free_port)
    if [ "$S" = vole ]; then start_vole "$D" "$PORT" --appendonly no; PID=$VPID; F="$D/vole.snap"
    else start_redis "$D" "$PORT" --appendonly no; PID=$RPID; F="$D/dump.rdb"; fi
    read -r U0 R0 < <(mem "$PORT")
    load "$PORT" "$N"
    read -r U1 R1 < <(mem "$PORT")
    KEYCOUNT=$(redis-cli -p "$PORT" DBSIZE)
    [ "$KEYCOUNT" = "$N" ] || echo "warning: $S holds $KEYCOUNT keys, expected $N" >&2
    redis-cli -p "$PORT" SAVE >/dev/null
    stop "$PORT" "$PID"
    eval "MEM_$S=\"$(per_key "$U0" "$U1" "$N") $(per_key "$R0" "$R1" "$N") $(stat -c %s "$F")\""
  done
  TIMES="$WORK/restart"; : > "$TIMES"
  for r in $(seq "$ROUNDS"); do
    for S in vole redis; do
      D="$WORK/m-$S-$N"; PORT=$(free_port)
      T0=$(now)
      if [ "$S" = vole ]; then start_vole "$D" "$PORT" --appendonly no; PID=$VPID
      else start_redis "$D" "$PORT" --appendonly no; PID=$RPID; fi
      echo "$S $(awk -v a="$T0" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }')" >> "$TIMES"
      stop "$PORT" "$PID"
    done
  done
  for S in vole redis; do
    eval "set -- \$MEM_$S"
    printf '| %-8s | %-6s | %16s | %9s | %12s | %10s |\n' "$N" "$S" "$1" "$2" "$3" \
      "$(awk -v s="$S" '$1==s { print $2 }' "$TIMES" | median)"
  done
  rm -rf "$WORK/m-vole-$N" "$WORK/m-redis-$N"
done
