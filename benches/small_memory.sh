#!/usr/bin/env bash
# Memory per key for many small collections, side by side: KEYS keys each holding a 10-field
# hash, a 3-field hash, a 10-member set, a 10-integer set, a 10-member sorted set or a
# 10-element list (and plain strings as the per-key baseline), measured as used_memory
# growth as each server reports it, with OBJECT ENCODING of one key.
#
# Usage: benches/small_memory.sh [KEYS]      (default 50000)
# Needs redis-server (apt-get install -y redis-server) and the Python redis package.
set -euo pipefail
cd "$(dirname "$0")/.."
KEYS=${1:-50000}
source benches/common.sh
start_pair --appendonly no --snapshot-interval 0
python3 - "$VPORT" "$RPORT" "$KEYS" <<'PY'
import sys, redis
K = int(sys.argv[3])
def used(c):
    return int(c.info("memory")["used_memory"])
def fill(c, kind, n):
    c.flushall()
    base = used(c)
    p = c.pipeline(transaction=False)
    for i in range(K):
        k = f"k:{i}"
        if kind == "hash":
            p.hset(k, mapping={f"field:{j}": f"value:{j}" for j in range(n)})
        elif kind == "set":
            p.sadd(k, *[f"member:{j}" for j in range(n)])
        elif kind == "intset":
            p.sadd(k, *[str(1000 + j) for j in range(n)])
        elif kind == "zset":
            p.zadd(k, {f"member:{j}": j for j in range(n)})
        elif kind == "list":
            p.rpush(k, *[f"item:{j}" for j in range(n)])
        else:
            p.set(k, "v" * 10)
        if len(p) >= 500:
            p.execute()
    p.execute()
    enc = c.object("encoding", "k:0").decode()
    return (used(c) - base) / K, enc
servers = {"vole": int(sys.argv[1]), "redis": int(sys.argv[2])}
print(f"{K} keys `k:N`; members like `field:3`/`value:3`/`member:3`/`item:3`, integers 1000..1009, sorted-set scores 0..9")
print()
print("| key holds | vole B/key | redis B/key | ratio | vole encoding | redis encoding |")
print("|---|---|---|---|---|---|")
for kind, n, label in [("string", 1, "10-byte string"), ("hash", 10, "hash, 10 fields"),
                       ("hash", 3, "hash, 3 fields"), ("set", 10, "set, 10 members"),
                       ("intset", 10, "set, 10 integers"), ("zset", 10, "sorted set, 10 members"),
                       ("list", 10, "list, 10 elements")]:
    got = {name: fill(redis.Redis(port=port), kind, n) for name, port in servers.items()}
    v, r = got["vole"], got["redis"]
    print(f"| {label} | {v[0]:.0f} | {r[0]:.0f} | {v[0] / r[0]:.2f} | {v[1]} | {r[1]} |")
for port in servers.values():
    redis.Redis(port=port).flushall()
PY
