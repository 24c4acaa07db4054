"""redis-py against a running Vole: every command family of the Foundation issue, through the
client library users actually run. Usage: python3 smoke.py HOST PORT"""
import sys

import redis

host, port = sys.argv[1], int(sys.argv[2])
r = redis.Redis(host=host, port=port, decode_responses=True)

assert r.ping() is True
assert r.echo("hi") == "hi"
assert r.set("k", "v", ex=100) is True
assert r.get("k") == "v"
assert 0 < r.ttl("k") <= 100
assert r.set("k", "w", nx=True) is None
assert r.set("k", "w", xx=True, get=True) == "v"
assert r.getex("k", persist=True) == "w" and r.ttl("k") == -1
assert r.getdel("k") == "w" and r.exists("k") == 0
assert r.mset({"a": "1", "b": "2"}) is True
assert r.mget(["a", "b", "c"]) == ["1", "2", None]
assert r.msetnx({"a": "9", "z": "9"}) is False
assert r.incr("a") == 2 and r.incrby("a", 10) == 12 and r.decr("a") == 11 and r.decrby("a", 1) == 10
assert r.incrbyfloat("f", 10.5) == 10.5 and r.incrbyfloat("f", 0.1) == 10.6
assert r.append("s", "abc") == 3 and r.setrange("s", 1, "XY") == 3 and r.getrange("s", 0, -1) == "aXY"
assert r.strlen("s") == 3 and r.substr("s", 0, 0) == "a"
assert r.setnx("n", "1") is True and r.execute_command("SETEX", "e", 50, "x") is True
assert r.psetex("p", 50000, "x") is True
assert r.getset("n", "2") == "1"
assert r.type("a") == "string" and r.type("missing") == "none"
assert sorted(r.keys("*")) == sorted(["a", "b", "f", "s", "n", "e", "p"])
assert sorted(r.scan_iter(match="[ab]", count=2)) == ["a", "b"]
assert r.rename("b", "b2") is True and r.renamenx("b2", "a") is False
assert r.copy("a", "a2") is True and r.get("a2") == "10"
assert r.touch("a", "a2", "nope") == 2
assert r.randomkey() is not None
assert r.expire("a", 100) is True and r.pexpire("a", 100000, xx=True) is True
assert r.expireat("a2", 4102444800) is True and r.expiretime("a2") == 4102444800
assert r.pexpireat("a2", 4102444800000) is True and r.pexpiretime("a2") == 4102444800000
assert r.pttl("a") > 0 and r.persist("a") is True
assert r.object("encoding", "a") == "int" and r.object("refcount", "a") is not None
assert isinstance(r.object("idletime", "a"), int)
assert isinstance(r.memory_usage("a"), int)
assert r.delete("a", "a2", "nope") == 2 and r.unlink("s") == 1
assert r.dbsize() == 5
r.select(1) if hasattr(r, "select") else r.execute_command("SELECT", 1)
assert r.dbsize() == 0
r.execute_command("SELECT", 0)
assert "redis_version" in r.info("server") and "db0" in r.info("keyspace")
assert r.config_get("slowlog-*")["slowlog-max-len"] == "128"
assert r.config_set("slowlog-max-len", 64) is True
assert r.client_setname("smoke") is True and r.client_getname() == "smoke"
assert isinstance(r.client_id(), int) and any(c["name"] == "smoke" for c in r.client_list())
assert r.slowlog_len() >= 0 and r.slowlog_reset() is True
assert r.acl_whoami() == "default"
assert len(r.time()) == 2
assert r.command_count() > 50
assert r.flushdb() is True and r.flushall() is True and r.dbsize() == 0
r.set("f", "1.5")
try:
    r.execute_command("INCR", "f")
    raise AssertionError("INCR on a float must fail")
except redis.ResponseError as e:
    assert "not an integer" in str(e)

r3 = redis.Redis(host=host, port=port, protocol=3, decode_responses=True)
assert r3.set("x", "1") is True and r3.get("x") == "1" and r3.get("nope") is None
print("redis-py smoke: ok")
