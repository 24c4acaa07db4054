# Shared by the side-by-side benchmark scripts: build Vole, start Vole and redis-server on
# free loopback ports without persistence, take medians and print the comparison table.
# Source it after `cd` to the repository root; it sets VPORT, RPORT, VPID, RPID, DATA and
# RESULTS, and cleans up on exit.

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vole-target}"
cargo build --release -p vole-server --bin vole >/dev/null
VOLE_BIN="$CARGO_TARGET_DIR/release/vole"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_pair [vole flags...]: both servers without persistence (unless flags say otherwise).
start_pair() {
  VPORT=$(free_port); RPORT=$(free_port)
  DATA=$(mktemp -d)
  RESULTS=$(mktemp)
  "$VOLE_BIN" --addr 127.0.0.1:$VPORT --dir "$DATA" "$@" >/dev/null 2>&1 &
  VPID=$!
  redis-server --port $RPORT --bind 127.0.0.1 --save '' --appendonly no --dir "$DATA" >/dev/null 2>&1 &
  RPID=$!
  trap 'kill $VPID $RPID ${EXTRA_PIDS:-} 2>/dev/null; rm -rf "$DATA" "$RESULTS"' EXIT
  for p in $VPORT $RPORT; do
    for _ in $(seq 50); do redis-cli -p $p PING >/dev/null 2>&1 && break; sleep 0.1; done
  done
}

# alternate: ROUNDS rounds of `run vole ...` then `run redis ...` at -P 1 and -P 16 (the
# script defines run: server port pipeline, appending "server|pipeline|test|rps" lines).
alternate() {
  for r in $(seq "$ROUNDS"); do
    for P in 1 16; do
      run vole $VPORT $P
      run redis $RPORT $P
    done
  done
}

median() { sort -n | awk '{a[NR]=$1} END { if (NR == 0) print 0; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2 }'; }

# print_table: RESULTS holds "server|pipeline|test|rps" lines; prints medians and ratios.
print_table() {
  printf '| %-22s | %-3s | %12s | %12s | %6s |\n' test "-P" "vole rps" "redis rps" ratio
  printf '|%s|%s|%s|%s|%s|\n' ------------------------ ----- -------------- -------------- --------
  for P in $(awk -F'|' '{print $2}' "$RESULTS" | sort -un); do
    awk -F'|' -v p=$P '$2==p {print $3}' "$RESULTS" | sort -u | while IFS= read -r T; do
      V=$(awk -F'|' -v p=$P -v t="$T" '$1=="vole" && $2==p && $3==t {print $4}' "$RESULTS" | median)
      R=$(awk -F'|' -v p=$P -v t="$T" '$1=="redis" && $2==p && $3==t {print $4}' "$RESULTS" | median)
      RATIO=$(awk -v v="$V" -v r="$R" 'BEGIN { if (r > 0) printf "%.2f", v / r; else print "n/a" }')
      printf '| %-22s | %-3s | %12.0f | %12.0f | %6s |\n' "$T" "$P" "$V" "$R" "$RATIO"
    done
  done
}
