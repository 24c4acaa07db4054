#!/usr/bin/env bash
# PUBLISH fan-out side by side: 100 subscribers on one channel, redis-benchmark publishing
# from 50 clients, against Vole and redis-server (both without persistence), alternating
# rounds; prints median PUBLISH requests/s, messages delivered per second, and the
# Vole/Redis ratio.
#
# Usage: benches/pubsub_compare.sh [ROUNDS] [REQUESTS]
#   ROUNDS    alternating runs per server and row (default 3)
#   REQUESTS  PUBLISH requests per run (default 50000)
# Needs redis-server, redis-benchmark (apt-get install -y redis-server redis-tools), python3.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
REQUESTS=${2:-50000}
SUBSCRIBERS=100
CLIENTS=50

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
SPID=""
trap 'kill $VPID $RPID $SPID 2>/dev/null; rm -rf "$DATA"' EXIT
for p in $VPORT $RPORT; do
  for _ in $(seq 50); do redis-cli -p $p PING >/dev/null 2>&1 && break; sleep 0.1; done
done

# Subscribers: one Python process, 100 sockets, reads and discards, counts bytes.
start_subscribers() { # port
  python3 - "$1" "$SUBSCRIBERS" <<'PY' &
import selectors, socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
sel = selectors.DefaultSelector()
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$5\r\nfan55\r\n")
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
while True:
    for key, _ in sel.select():
        try:
            if not key.fileobj.recv(1 << 20):
                sel.unregister(key.fileobj)
        except (BlockingIOError, ConnectionResetError):
            pass
PY
  SPID=$!
  for _ in $(seq 100); do
    n=$(redis-cli -p "$1" PUBSUB NUMSUB fan55 | tail -1)
    [ "$n" = "$SUBSCRIBERS" ] && return 0
    sleep 0.1
  done
  echo "subscribers did not connect" >&2; exit 1
}

RESULTS=$(mktemp)
run() { # server port pipeline
  start_subscribers "$2"
  redis-benchmark -h 127.0.0.1 -p "$2" -c $CLIENTS -n "$REQUESTS" -P "$3" --csv -q \
      PUBLISH fan55 "$(printf 'x%.0s' $(seq 64))" 2>/dev/null \
    | tr -d '"' | awk -F, -v s="$1" -v p="$3" '$1 != "test" { print s "|" p "|PUBLISH x100 subs|" $2 }' >> "$RESULTS"
  kill $SPID 2>/dev/null; wait $SPID 2>/dev/null || true; SPID=""
}
for r in $(seq "$ROUNDS"); do
  for P in 1 16; do
    run vole $VPORT $P
    run redis $RPORT $P
  done
done

median() { sort -n | awk '{a[NR]=$1} END { if (NR == 0) print 0; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2 }'; }
printf '| %-18s | %-3s | %12s | %12s | %14s | %6s |\n' test "-P" "vole rps" "redis rps" "vole msgs/s" ratio
printf '|%s|%s|%s|%s|%s|%s|\n' -------------------- ----- -------------- -------------- ---------------- --------
for P in 1 16; do
  awk -F'|' -v p=$P '$2==p {print $3}' "$RESULTS" | sort -u | while IFS= read -r T; do
    V=$(awk -F'|' -v p=$P -v t="$T" '$1=="vole" && $2==p && $3==t {print $4}' "$RESULTS" | median)
    R=$(awk -F'|' -v p=$P -v t="$T" '$1=="redis" && $2==p && $3==t {print $4}' "$RESULTS" | median)
    RATIO=$(awk -v v="$V" -v r="$R" 'BEGIN { if (r > 0) printf "%.2f", v / r; else print "n/a" }')
    MSGS=$(awk -v v="$V" -v n=$SUBSCRIBERS 'BEGIN { printf "%.0f", v * n }')
    printf '| %-18s | %-3s | %12.0f | %12.0f | %14s | %6s |\n' "$T" "$P" "$V" "$R" "$MSGS" "$RATIO"
  done
done
rm -f "$RESULTS"
