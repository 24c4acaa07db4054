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

. benches/common.sh
start_pair --appendonly no

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
  EXTRA_PIDS=$SPID
  for _ in $(seq 100); do
    n=$(redis-cli -p "$1" PUBSUB NUMSUB fan55 | tail -1)
    [ "$n" = "$SUBSCRIBERS" ] && return 0
    sleep 0.1
  done
  echo "subscribers did not connect" >&2; exit 1
}

run() { # server port pipeline
  start_subscribers "$2"
  redis-benchmark -h 127.0.0.1 -p "$2" -c $CLIENTS -n "$REQUESTS" -P "$3" --csv -q \
      PUBLISH fan55 "$(printf 'x%.0s' $(seq 64))" 2>/dev/null \
    | tr -d '"' | awk -F, -v s="$1" -v p="$3" '$1 != "test" { print s "|" p "|PUBLISH x100 subs|" $2 }' >> "$RESULTS"
  kill $SPID 2>/dev/null; wait $SPID 2>/dev/null || true; SPID=""
}
alternate

print_table
echo "(each PUBLISH reaches $SUBSCRIBERS subscribers: messages/s = rps x $SUBSCRIBERS)"
