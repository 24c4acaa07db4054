//! Lua scripting: differential tests against a real `redis-server` (conversions in both
//! directions, errors from `redis.call` and `redis.pcall`, the sandbox, the script cache,
//! the libraries), plus Vole-only checks of atomicity, logging and SCRIPT KILL / BUSY.

mod common;

use std::time::Duration;

use common::{diff, is_err, Vole};
use vole_engine::resp::Value;

const CASES: &[&[&str]] = &[
    // Lua -> RESP.
    &[
        "EVAL \"return 1\" 0",
        "EVAL \"return 3.99\" 0",
        "EVAL \"return -3.99\" 0",
        "EVAL \"return 'x'\" 0",
        "EVAL \"return true\" 0",
        "EVAL \"return false\" 0",
        "EVAL \"return nil\" 0",
        "EVAL \"return {1,2,{3,'x'},nil,4}\" 0",
        "EVAL \"return {}\" 0",
        "EVAL \"return {ok='fine'}\" 0",
        "EVAL \"return {err='bad thing'}\" 0",
        "EVAL \"return {err='ERR bad'}\" 0",
        "EVAL \"return redis.error_reply('MY err')\" 0",
        "EVAL \"return redis.status_reply('PONG')\" 0",
        "EVAL \"return {1, true, false, 'a'}\" 0",
        "EVAL \"return {double=3.5}\" 0",
    ],
    // KEYS, ARGV and numkeys.
    &[
        "EVAL \"return {KEYS[1], KEYS[2], ARGV[1], ARGV[2], #KEYS, #ARGV}\" 2 k1 k2 a1 a2",
        "EVAL \"return #KEYS\" 0",
        "EVAL \"return 1\" -1",
        "EVAL \"return 1\" 3 a b",
        "EVAL \"return 1\" x",
        "EVAL \"return 1\"",
    ],
    // RESP -> Lua.
    &[
        "SET s hello",
        "RPUSH l a b c",
        "HSET h f v",
        "EVAL \"return redis.call('get', KEYS[1])\" 1 s",
        "EVAL \"return redis.call('get', 'nokey')\" 0",
        "EVAL \"return type(redis.call('get', 'nokey'))\" 0",
        "EVAL \"return redis.call('lrange', 'l', 0, -1)\" 0",
        "EVAL \"return redis.call('set', 'x', 1)\" 0",
        "EVAL \"local r = redis.call('set', 'x', 2) return r.ok\" 0",
        "EVAL \"return redis.call('incr', 'x')\" 0",
        "EVAL \"return redis.call('hgetall', 'h')\" 0",
        "EVAL \"return redis.call('exists', 's', 'l', 'nope')\" 0",
        "EVAL \"return redis.call('ping')\" 0",
        "EVAL \"return redis.call('type', 's')\" 0",
        "EVAL \"return redis.call('incrbyfloat', 'f', '1.5')\" 0",
        "EVAL \"return tostring(redis.call('incrbyfloat', 'f', 1.5))\" 0",
        "EVAL \"return redis.call('set', 'n', 3.0)\" 0",
        "GET n",
        "EVAL \"return redis.call('zadd', 'z', 1.5, 'm')\" 0",
        "EVAL \"return redis.call('zscore', 'z', 'm')\" 0",
        "EVAL \"return redis.call('zrange', 'z', 0, -1, 'withscores')\" 0",
    ],
    // RESP3 inside the script.
    &[
        "HSET h f v",
        "ZADD z 2.5 m",
        "EVAL \"redis.setresp(3) local r = redis.call('hgetall', 'h') return r.map.f\" 0",
        "EVAL \"redis.setresp(3) return redis.call('zscore', 'z', 'm').double\" 0",
        "EVAL \"redis.setresp(3) return type(redis.call('get', 'nokey'))\" 0",
        "EVAL \"redis.setresp(4)\" 0",
        "EVAL \"redis.setresp(3) return redis.call('smembers', 'nokey')\" 0",
    ],
    // Errors: redis.call raises, redis.pcall returns them.
    &[
        "SET str abc",
        "EVAL \"return redis.call('incr', 'str')\" 0",
        "EVAL \"return redis.pcall('incr', 'str')\" 0",
        "EVAL \"local r = redis.pcall('incr', 'str') return r.err\" 0",
        "EVAL \"return redis.call('nosuch')\" 0",
        "EVAL \"return redis.pcall('nosuch')\" 0",
        "EVAL \"return redis.call('set', KEYS[1])\" 1 k",
        "EVAL \"return redis.call()\" 0",
        "EVAL \"return redis.call('get', {})\" 0",
        "EVAL \"return redis.call('multi')\" 0",
        "EVAL \"return redis.call('eval', 'return 1', 0)\" 0",
        "EVAL \"error('boom')\" 0",
        "EVAL \"error({err='custom'})\" 0",
        "EVAL \"\nlocal a = 1\nerror('on line three')\" 0",
        "EVAL \"syntax error here\" 0",
        "EVAL \"return 1 +\" 0",
        "EVAL \"local t = nil; return t.x\" 0",
        "EVAL \"return pcall(error, 'caught')\" 0",
        "EVAL \"local ok, e = pcall(redis.call, 'nosuch') return e.err\" 0",
        "EVAL \"local ok, e = pcall(redis.call, 'nosuch') return {tostring(ok), type(e), e}\" 0",
        "EVAL \"local ok, e = pcall(cjson.decode, '[') return e\" 0",
        "EVAL \"return {pcall(function(a, b) return a, nil, b end, 1, 2)}\" 0",
        "EVAL \"return select('#', pcall(function() return nil, nil end))\" 0",
    ],
    // The sandbox.
    &[
        "EVAL \"a = 5\" 0",
        "EVAL \"return x\" 0",
        "EVAL \"return os\" 0",
        "EVAL \"return loadfile\" 0",
        "EVAL \"return require\" 0",
        "EVAL \"return print\" 0",
        "EVAL \"return dofile\" 0",
        "EVAL \"return getfenv\" 0",
        "EVAL \"return debug\" 0",
        "EVAL \"string.len = nil\" 0",
        "EVAL \"redis.call = nil\" 0",
        "EVAL \"local x = 5 return x\" 0",
        "EVAL \"local t = {} t.a = 1 return t.a\" 0",
        "EVAL \"return type(_G)\" 0",
        "EVAL \"_G.x = 1\" 0",
        "EVAL \"return string.format('%d-%s', 7, 'x')\" 0",
        "EVAL \"return table.concat({'a','b'}, ',')\" 0",
        "EVAL \"return math.floor(2.7)\" 0",
        "EVAL \"return loadstring('return 1 + 1')()\" 0",
        "EVAL \"return loadstring('y = 1')()\" 0",
    ],
    // The script cache.
    &[
        "SCRIPT FLUSH",
        "SCRIPT LOAD \"return 'cached'\"",
        "EVALSHA 4ba3f4a5f45b5d0fbbf12a2b3a0ab5c5cfa8bb2e 0",
        "EVALSHA 0000000000000000000000000000000000000000 0",
        "SCRIPT EXISTS 4ba3f4a5f45b5d0fbbf12a2b3a0ab5c5cfa8bb2e 0000000000000000000000000000000000000000",
        "EVAL \"return 'x'\" 0",
        "SCRIPT EXISTS 7b4d8d0bb8ae9b4fa9a2b5c0fe5c1ca1b3d4e1c2",
        "SCRIPT FLUSH ASYNC",
        "SCRIPT FLUSH BAD",
        "SCRIPT LOAD \"return +\"",
        "SCRIPT KILL",
        "SCRIPT NOSUCH",
    ],
    // Read-only scripts and shebang flags.
    &[
        "EVAL_RO \"return redis.call('get', 'k')\" 1 k",
        "EVAL_RO \"return redis.call('set', 'k', 'v')\" 1 k",
        "EVAL \"#!lua flags=no-writes\nreturn redis.call('set', 'k', 'v')\" 0",
        "EVAL \"#!lua flags=no-writes\nreturn redis.call('get', 'k')\" 0",
        "EVAL \"#!lua\nreturn 1\" 0",
        "EVAL \"#!lua flags=bogus\nreturn 1\" 0",
        "EVAL \"#!nolua\nreturn 1\" 0",
        "EXISTS k",
    ],
    // Libraries.
    &[
        "EVAL \"return redis.sha1hex('')\" 0",
        "EVAL \"return redis.sha1hex('abc')\" 0",
        "EVAL \"return cjson.encode({1,2,'three',{a=1}})\" 0",
        "EVAL \"return cjson.encode({})\" 0",
        "EVAL \"return cjson.encode('a/b\\\"c')\" 0",
        "EVAL \"return cjson.encode({1.5, 0.1, 1e20, -3})\" 0",
        "EVAL \"return cjson.decode('[1,2,3]')[2]\" 0",
        "EVAL \"local j = string.gsub([[{'a':{'b':[10,20]}}]], string.char(39), string.char(34)) return cjson.decode(j).a.b[2]\" 0",
        "EVAL \"return cjson.decode('null') == cjson.null\" 0",
        "EVAL \"local j = string.gsub([[{'k':null,'n':1.5}]], string.char(39), string.char(34)) local t = cjson.decode(j) return {t.k == cjson.null, tostring(t.n)}\" 0",
        "EVAL \"return cjson.decode('[1,2')\" 0",
        "EVAL \"return cjson.decode('')\" 0",
        "EVAL \"return bit.tohex({})\" 0",
        "EVAL \"return bit.band(0xff, 0x0f)\" 0",
        "EVAL \"return bit.bor(1, 2, 4)\" 0",
        "EVAL \"return bit.bxor(5, 3)\" 0",
        "EVAL \"return bit.bnot(0)\" 0",
        "EVAL \"return bit.lshift(1, 31)\" 0",
        "EVAL \"return bit.rshift(-1, 28)\" 0",
        "EVAL \"return bit.arshift(-16, 2)\" 0",
        "EVAL \"return bit.tohex(255)\" 0",
        "EVAL \"return bit.tohex(-1, -4)\" 0",
        "EVAL \"return bit.tobit(4294967297)\" 0",
        "EVAL \"return cmsgpack.unpack(cmsgpack.pack({1,2,3}))\" 0",
        "EVAL \"return cmsgpack.pack(1, 'a', {x=1})\" 0",
        "EVAL \"return {cmsgpack.unpack(cmsgpack.pack(1, -1, 300, -300, 70000, 'str', true))}\" 0",
        "EVAL \"local t = cmsgpack.unpack(cmsgpack.pack({a='b'})) return t.a\" 0",
        "EVAL \"return cmsgpack.pack(1.5)\" 0",
        "EVAL \"return cmsgpack.unpack('\\\\xc1')\" 0",
        "EVAL \"return struct.pack('>I2', 258)\" 0",
        "EVAL \"return {struct.unpack('>I2', struct.pack('>I2', 258))}\" 0",
        "EVAL \"return struct.size('>iIhHbBd')\" 0",
        "EVAL \"return struct.pack('z', 1)\" 0",
        "EVAL \"return {struct.unpack('<i4', 'ab')}\" 0",
        "EVAL \"return struct.size('!4bi')\" 0",
        "EVAL \"return {struct.unpack('c0', 'abc')}\" 0",
        "EVAL \"return {struct.unpack('bc0', struct.pack('bc0', 3, 'xyz'))}\" 0",
        "EVAL \"return {struct.unpack('s', struct.pack('sB', 'ab', 7))}\" 0",
        "EVAL \"return tostring(struct.unpack('d', struct.pack('d', 1.5)))\" 0",
        "EVAL \"return struct.size('s')\" 0",
        "EVAL \"return {struct.unpack('<hHbB', struct.pack('<hHbB', -2, 65535, -1, 255))}\" 0",
        "EVAL \"return {struct.unpack('>!4bi', struct.pack('>!4bi', 1, -70000))}\" 0",
        "EVAL \"return {struct.unpack('>l', struct.pack('>l', -5))}\" 0",
        "EVAL \"return struct.pack('>i3x', 65793)\" 0",
    ],
    // Writes from scripts are atomic and visible after.
    &[
        "EVAL \"redis.call('set', KEYS[1], ARGV[1]) redis.call('rpush', KEYS[2], ARGV[1], ARGV[2]) return redis.call('llen', KEYS[2])\" 2 a b x y",
        "GET a",
        "LRANGE b 0 -1",
        "EVAL \"redis.call('select', 1) redis.call('set', 'in1', 'v') return redis.call('get', 'in1')\" 0",
        "GET in1",
        "SELECT 1",
        "GET in1",
        "FLUSHDB",
        "SELECT 0",
        "MULTI",
        "EVAL \"return redis.call('incr', 'ctr')\" 0",
        "EVAL \"return redis.call('incr', 'ctr')\" 0",
        "EXEC",
        "EVAL \"return redis.call('blpop', 'nolist', 0)\" 0",
    ],
];

/// Redis 7 functions.
const FUNCTION_CASES: &[&[&str]] = &[
    &[
        "FUNCTION FLUSH",
        "FUNCTION LOAD \"#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return {keys[1], args[1], #keys, #args} end)\"",
        "FCALL myfunc 1 k a",
        "FCALL myfunc 0",
        "FCALL nosuch 0",
        "FCALL myfunc -1",
        "FCALL_RO myfunc 1 k a",
        "FUNCTION LIST",
        "FUNCTION LIST WITHCODE",
        "FUNCTION LIST LIBRARYNAME my*",
        "FUNCTION LIST LIBRARYNAME nomatch*",
        "FUNCTION LOAD \"#!lua name=mylib\nredis.register_function('x', function() end)\"",
        "FUNCTION LOAD REPLACE \"#!lua name=mylib\nredis.register_function('myfunc', function() return 'replaced' end)\"",
        "FCALL myfunc 0",
        "FUNCTION DELETE mylib",
        "FUNCTION DELETE mylib",
        "FCALL myfunc 0",
    ],
    &[
        "FUNCTION FLUSH",
        "FUNCTION LOAD \"#!lua name=rw\nredis.register_function{function_name='ro', callback=function(keys, args) return redis.call('get', keys[1]) end, flags={'no-writes'}, description='read it'}\"",
        "SET k v",
        "FCALL_RO ro 1 k",
        "FCALL ro 1 k",
        "FUNCTION LIST",
        "FUNCTION LOAD \"#!lua name=w\nredis.register_function{function_name='bad', callback=function(keys) return redis.call('set', keys[1], 'x') end, flags={'no-writes'}}\"",
        "FCALL bad 1 k",
        "FUNCTION LOAD \"#!lua name=w2\nredis.register_function('boom', function() error('bad') end)\nredis.register_function('callerr', function() return redis.call('nosuch') end)\"",
        "FCALL boom 0",
        "FCALL callerr 0",
    ],
    &[
        "FUNCTION LOAD \"return 1\"",
        "FUNCTION LOAD \"#!lua\nreturn 1\"",
        "FUNCTION LOAD \"#!lua name=other\nreturn 1\"",
        "FUNCTION LOAD \"#!lua name=bad-name\n\"",
        "FUNCTION LOAD \"#!lua name=other foo=bar\n\"",
        "FUNCTION LOAD \"#!lua name=l2\nredis.register_function('f-x', function() end)\"",
        "FUNCTION LOAD \"#!lua name=l2\nredis.call('set','a','b')\"",
        "FUNCTION LOAD \"#!lua name=l2\nredis.register_function{function_name='z', callback=function() end, flags={'bogus'}}\"",
        "FUNCTION LOAD \"#!lua name=l2\nlocal x = y\"",
        "FUNCTION LOAD \"#!lua name=l3\nredis.register_function('dup', function() end)\nredis.register_function('dup', function() end)\"",
        "FUNCTION LOAD \"#!lua name=l4\nredis.register_function('f1', function() end)\"",
        "FUNCTION LOAD \"#!lua name=l5\nredis.register_function('f1', function() end)\"",
        "FUNCTION FLUSH BAD",
        "FUNCTION FLUSH ASYNC",
        "FUNCTION KILL",
        "FUNCTION STATS",
        "EXISTS a",
    ],
];

#[test]
fn functions_match_redis_resp2() {
    diff::run(FUNCTION_CASES, &[], &[], 2);
}

#[test]
fn functions_match_redis_resp3() {
    diff::run(FUNCTION_CASES, &[], &[], 3);
}

#[test]
fn function_libraries_survive_restarts_from_the_log_and_from_a_snapshot() {
    let dir = common::temp_dir("function-restart");
    let lib = "#!lua name=counter\nredis.register_function('bump', function(keys) return redis.call('incr', keys[1]) end)";
    {
        let vole = Vole::start_in(&dir, &["--appendfsync", "always"]);
        let mut c = vole.raw();
        assert_eq!(c.cmd(&["FUNCTION", "LOAD", lib]), common::bulk("counter"));
        assert_eq!(c.cmd(&["FCALL", "bump", "1", "n"]), Value::Int(1));
        vole.kill9();
    }
    {
        // From the log.
        let vole = Vole::start_in(&dir, &[]);
        let mut c = vole.raw();
        assert_eq!(c.cmd(&["FCALL", "bump", "1", "n"]), Value::Int(2));
        assert_eq!(c.cmd(&["SAVE"]), Value::Simple("OK".into()));
        assert_eq!(vole.shutdown(&[]), Some(0));
    }
    {
        // From the snapshot.
        let vole = Vole::start_in(&dir, &["--appendfsync", "always"]);
        let mut c = vole.raw();
        assert_eq!(c.cmd(&["FCALL", "bump", "1", "n"]), Value::Int(3));
        assert_eq!(
            c.cmd(&["FUNCTION", "DELETE", "counter"]),
            Value::Simple("OK".into())
        );
        vole.kill9();
    }
    let vole = Vole::start_in(&dir, &[]);
    let mut c = vole.raw();
    assert!(is_err(
        &c.cmd(&["FCALL", "bump", "1", "n"]),
        "ERR Function not found"
    ));
    assert_eq!(c.cmd(&["GET", "n"]), common::bulk("3"));
}

/// Differences we accept: Redis 7.2 behaviour where 7.0 differs.
const EXPECTED_TO_DIFFER: &[(&str, &str)] = &[];

#[test]
fn scripting_matches_redis_resp2() {
    diff::run(CASES, EXPECTED_TO_DIFFER, &[], 2);
}

#[test]
fn scripting_matches_redis_resp3() {
    diff::run(CASES, EXPECTED_TO_DIFFER, &[], 3);
}

#[test]
fn a_script_is_one_log_record_and_survives_kill_9() {
    let dir = common::temp_dir("script-restart");
    let vole = Vole::start_in(&dir, &["--appendfsync", "always"]);
    let mut c = vole.raw();
    let r = c.cmd(&[
        "EVAL",
        "for i = 1, 50 do redis.call('rpush', KEYS[1], i) end redis.call('set', KEYS[2], 'done') return redis.call('llen', KEYS[1])",
        "2",
        "l",
        "flag",
    ]);
    assert_eq!(r, Value::Int(50));
    vole.kill9();
    let storage = vole_wal::storage::FsStorage::new(dir.join("vole.aof"));
    let mut reader = vole_wal::tail::WalReader::open_storage(storage, 0).expect("open log");
    let mut records = 0;
    while let Some(item) = reader.next().expect("read log") {
        if let vole_wal::tail::ReadItem::Record { kind, payload, .. } = item {
            let rec = vole_engine::effect::decode_record(kind, &payload).expect("decode");
            assert_eq!(
                rec.effects.len(),
                51,
                "every effect of the script in one record"
            );
            records += 1;
        }
    }
    assert_eq!(records, 1);
    let vole = Vole::start_in(&dir, &[]);
    let mut c = vole.raw();
    assert_eq!(c.cmd(&["LLEN", "l"]), Value::Int(50));
    assert_eq!(c.cmd(&["GET", "flag"]), common::bulk("done"));
}

/// The tests whose scripts spin a core or fill memory run one at a time: on a 2-core
/// machine, several such servers at once starve the clients meant to observe them.
fn spinning() -> std::sync::MutexGuard<'static, ()> {
    static SPIN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SPIN.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn a_busy_script_answers_busy_to_others_and_script_kill_stops_it() {
    let _one_at_a_time = spinning();
    let vole = Vole::start(&[]);
    let mut admin = vole.raw();
    admin.cmd(&["CONFIG", "SET", "busy-reply-threshold", "200"]);
    admin.cmd(&["SET", "k", "v"]);
    let mut runner = vole.raw();
    runner.send_cmd(&[b"EVAL", b"while true do end", b"0"]);
    std::thread::sleep(Duration::from_millis(400));
    let mut other = vole.raw();
    // Past the threshold (the script may start late on a loaded machine): BUSY.
    let mut busy = other.cmd(&["GET", "k"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !is_err(&busy, "BUSY") && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        busy = other.cmd(&["GET", "k"]);
    }
    assert!(is_err(&busy, "BUSY"), "{busy:?}");
    assert_eq!(other.cmd(&["SCRIPT", "KILL"]), Value::Simple("OK".into()));
    let killed = runner.read().expect("reply");
    assert!(is_err(&killed, "ERR Script killed by user"), "{killed:?}");
    assert_eq!(other.cmd(&["GET", "k"]), common::bulk("v"));
    assert!(is_err(&other.cmd(&["SCRIPT", "KILL"]), "NOTBUSY"));
}

#[test]
fn a_script_that_wrote_cannot_be_killed() {
    let _one_at_a_time = spinning();
    let vole = Vole::start(&[]);
    let mut admin = vole.raw();
    admin.cmd(&["CONFIG", "SET", "busy-reply-threshold", "100"]);
    let mut runner = vole.raw();
    runner.send_cmd(&[
        b"EVAL",
        b"redis.call('set', 'w', 1) local t = redis.call('time') local s = tonumber(t[1]) while tonumber(redis.call('time')[1]) < s + 2 do end return 'finished'",
        b"0",
    ]);
    let mut other = vole.raw();
    // Until the script is running, SCRIPT KILL answers NOTBUSY.
    let mut r = other.cmd(&["SCRIPT", "KILL"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while is_err(&r, "NOTBUSY") && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        r = other.cmd(&["SCRIPT", "KILL"]);
    }
    assert!(is_err(&r, "UNKILLABLE"), "{r:?}");
    assert_eq!(runner.read(), Some(common::bulk("finished")));
}

#[test]
fn readers_never_see_half_a_script() {
    let _one_at_a_time = spinning();
    let vole = Vole::start(&[]);
    let mut w = vole.raw();
    w.cmd(&["MSET", "a", "0", "b", "0"]);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut r = vole.raw();
    let stop2 = stop.clone();
    let reader = std::thread::spawn(move || {
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
            let Value::Array(items) = r.cmd(&["MGET", "a", "b"]) else {
                panic!("MGET")
            };
            assert_eq!(items[0], items[1], "a reader saw half a script");
        }
    });
    for _ in 0..1000 {
        w.cmd(&[
            "EVAL",
            "redis.call('incr', 'a') redis.call('incr', 'b')",
            "0",
        ]);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    reader.join().expect("reader");
}

#[test]
fn hostile_scripts_get_errors_not_crashes() {
    let _one_at_a_time = spinning();
    let vole = Vole::start(&[]);
    let mut c = vole.raw();
    for script in [
        "local t = {} t[1] = t return t",
        "local t = {} t.x = t return cjson.encode(t)",
        "return cjson.decode(string.rep('[', 100000))",
        "return cmsgpack.unpack(string.rep(string.char(0x91), 100000))",
        "local function f(n) return f(n + 1) + 1 end return f(1)",
        "return string.rep('x', 10) .. nil",
        "return redis.call('set', 'k', string.rep('v', 1000000))",
        "return setmetatable({}, {__index = function(t, k) return t[k] end}).x",
        "return #string.rep('x', 2000000000)",
        "local t = {} for i = 1, 100000000 do t[i] = i end return #t",
    ] {
        let r = c.cmd(&["EVAL", script, "0"]);
        assert!(
            matches!(r, Value::Error(_) | Value::Simple(_) | Value::Array(_)),
            "{script}: {r:?}"
        );
    }
    assert_eq!(c.cmd(&["PING"]), Value::Simple("PONG".into()));
    assert_eq!(c.cmd(&["STRLEN", "k"]), Value::Int(1_000_000));
}

#[test]
fn script_kill_is_served_while_many_clients_pile_up_behind_a_runaway_script() {
    let _one_at_a_time = spinning();
    // Eight clients wait behind a script that never ends: they get BUSY past the threshold
    // (or their reply once it is killed), and SCRIPT KILL from a ninth is still served.
    let vole = Vole::start(&[]);
    let mut admin = vole.raw();
    admin.cmd(&["CONFIG", "SET", "busy-reply-threshold", "300"]);
    let mut runner = vole.raw();
    let mut others: Vec<_> = (0..8).map(|_| vole.raw()).collect();
    runner.send_cmd(&[b"EVAL", b"while true do end", b"0"]);
    for c in &mut others {
        c.send_cmd(&[b"SET", b"k", b"v"]);
        c.send_cmd(&[b"EVAL", b"return 1", b"0"]);
    }
    std::thread::sleep(Duration::from_millis(500));
    let mut killer = vole.raw();
    assert_eq!(killer.cmd(&["SCRIPT", "KILL"]), Value::Simple("OK".into()));
    assert!(is_err(&runner.read().expect("reply"), "ERR Script killed"));
    for c in &mut others {
        let a = c.read().expect("reply");
        let b = c.read().expect("reply");
        assert!(
            matches!(&a, Value::Simple(_)) || is_err(&a, "BUSY"),
            "{a:?}"
        );
        assert!(matches!(&b, Value::Int(1)) || is_err(&b, "BUSY"), "{b:?}");
    }
    assert_eq!(killer.cmd(&["PING"]), Value::Simple("PONG".into()));
}

#[test]
fn one_connection_thread_still_serves_others_while_a_script_runs() {
    let _one_at_a_time = spinning();
    // With every connection on one thread, a runaway script (alone, inside EXEC, and as a
    // function) runs off that thread: the other clients on it get BUSY past the threshold,
    // SCRIPT KILL / FUNCTION KILL from one of them stops it, and the thread serves on.
    let vole = Vole::start(&["--io-threads", "1"]);
    let mut admin = vole.raw();
    admin.cmd(&["CONFIG", "SET", "busy-reply-threshold", "200"]);
    admin.cmd(&["SET", "k", "v"]);
    admin.cmd(&[
        "FUNCTION",
        "LOAD",
        "#!lua name=spin\nredis.register_function('spin', function() while true do end end)",
    ]);
    let wait_busy = |c: &mut common::Raw| {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let r = c.cmd(&["GET", "k"]);
            if is_err(&r, "BUSY") {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "never BUSY: {r:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let mut runner = vole.raw();
    let mut other = vole.raw();

    runner.send_cmd(&[b"EVAL", b"while true do end", b"0"]);
    wait_busy(&mut other);
    assert_eq!(other.cmd(&["SCRIPT", "KILL"]), Value::Simple("OK".into()));
    assert!(is_err(&runner.read().expect("reply"), "ERR Script killed"));

    assert_eq!(runner.cmd(&["MULTI"]), Value::Simple("OK".into()));
    runner.cmd(&["EVAL", "while true do end", "0"]);
    runner.send_cmd(&[b"EXEC"]);
    wait_busy(&mut other);
    assert_eq!(other.cmd(&["SCRIPT", "KILL"]), Value::Simple("OK".into()));
    match runner.read().expect("reply") {
        Value::Array(items) => {
            assert_eq!(items.len(), 1);
            assert!(is_err(&items[0], "ERR Script killed"), "{items:?}");
        }
        r => panic!("EXEC answered {r:?}"),
    }

    runner.send_cmd(&[b"FCALL", b"spin", b"0"]);
    wait_busy(&mut other);
    assert_eq!(other.cmd(&["FUNCTION", "KILL"]), Value::Simple("OK".into()));
    assert!(is_err(&runner.read().expect("reply"), "ERR Script killed"));

    // The session came back from the script intact: its database and name are its own.
    assert_eq!(runner.cmd(&["SELECT", "3"]), Value::Simple("OK".into()));
    runner.cmd(&["CLIENT", "SETNAME", "runner"]);
    assert_eq!(runner.cmd(&["EVAL", "return 1", "0"]), Value::Int(1));
    assert_eq!(runner.cmd(&["CLIENT", "GETNAME"]), common::bulk("runner"));
    assert_eq!(runner.cmd(&["GET", "k"]), Value::Null);
    assert_eq!(other.cmd(&["GET", "k"]), common::bulk("v"));
}

#[test]
fn info_memory_reports_the_script_cache_and_functions() {
    let vole = Vole::start(&[]);
    let mut c = vole.raw();
    c.cmd(&["SCRIPT", "LOAD", "return 1"]);
    c.cmd(&[
        "FUNCTION",
        "LOAD",
        "#!lua name=l\nredis.register_function('a', function() end)\nredis.register_function('b', function() end)",
    ]);
    let info = common::text(&c.cmd(&["INFO", "memory"]));
    for field in [
        "number_of_cached_scripts:1",
        "number_of_functions:2",
        "number_of_libraries:1",
    ] {
        assert!(info.contains(field), "{field} in {info}");
    }
    assert!(!info.contains("used_memory_lua:0\r"), "{info}");
}
