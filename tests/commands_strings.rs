//! String commands through the `redis` crate against the real server: every option, the
//! exact error lines, numeric edge cases, and expiry that actually happens (lazily and by
//! the active cycle).

mod common;

use std::time::Duration;

use common::{q, q_err, unix_ms, wait_until, Vole};
use redis::Value as R;

fn ok(v: R) -> bool {
    v == R::Okay
}

#[test]
fn set_nx_xx_and_get_option() {
    // NX only creates, XX only replaces, GET returns the old value (nil if none).
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    assert!(ok(q(&mut c, &["SET", "k", "v", "NX"])));
    assert_eq!(q::<R>(&mut c, &["SET", "k", "w", "NX"]), R::Nil);
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "v");
    assert!(ok(q(&mut c, &["SET", "k", "w", "XX"])));
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "w");
    assert_eq!(q::<R>(&mut c, &["SET", "missing", "v", "XX"]), R::Nil);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "missing"]), 0);
    // GET
    assert_eq!(q::<Option<String>>(&mut c, &["SET", "g", "1", "GET"]), None);
    assert_eq!(
        q::<Option<String>>(&mut c, &["SET", "g", "2", "GET"]),
        Some("1".into())
    );
    assert_eq!(q::<String>(&mut c, &["GET", "g"]), "2");
    // NX GET on an existing key: nothing set, old value returned.
    assert_eq!(
        q::<Option<String>>(&mut c, &["SET", "g", "3", "NX", "GET"]),
        Some("2".into())
    );
    assert_eq!(q::<String>(&mut c, &["GET", "g"]), "2");
    // XX GET on a missing key: nil, nothing created.
    assert_eq!(
        q::<Option<String>>(&mut c, &["SET", "nx", "3", "XX", "GET"]),
        None
    );
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "nx"]), 0);
    // Options are case-insensitive; values are binary-safe.
    assert_eq!(
        q::<Option<String>>(&mut c, &["set", "k", "x", "nx", "get"]),
        Some("w".into())
    );
    let () = redis::cmd("SET")
        .arg("bin")
        .arg(&b"a\0b\r\nc"[..])
        .query(&mut c)
        .expect("SET bin");
    let back: Vec<u8> = redis::cmd("GET").arg("bin").query(&mut c).expect("GET bin");
    assert_eq!(back, b"a\0b\r\nc");
}

#[test]
fn set_expiry_options() {
    // EX/PX/EXAT/PXAT set the TTL; KEEPTTL keeps it; a plain SET clears it.
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    assert!(ok(q(&mut c, &["SET", "k", "v", "EX", "100"])));
    assert!((99..=100).contains(&q::<i64>(&mut c, &["TTL", "k"])));
    assert!(ok(q(&mut c, &["SET", "k", "v", "PX", "100000"])));
    assert!((99_000..=100_000).contains(&q::<i64>(&mut c, &["PTTL", "k"])));
    let at = unix_ms() / 1000 + 200;
    assert!(ok(q(&mut c, &["SET", "k", "v", "EXAT", &at.to_string()])));
    assert!((198..=200).contains(&q::<i64>(&mut c, &["TTL", "k"])));
    assert_eq!(q::<i64>(&mut c, &["EXPIRETIME", "k"]), at);
    let at_ms = unix_ms() + 300_000;
    assert!(ok(q(
        &mut c,
        &["SET", "k", "v", "PXAT", &at_ms.to_string()]
    )));
    assert_eq!(q::<i64>(&mut c, &["PEXPIRETIME", "k"]), at_ms);
    assert!(ok(q(&mut c, &["SET", "k", "v2", "KEEPTTL"])));
    assert_eq!(q::<i64>(&mut c, &["PEXPIRETIME", "k"]), at_ms);
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "v2");
    assert!(ok(q(&mut c, &["SET", "k", "v3"])));
    assert_eq!(q::<i64>(&mut c, &["TTL", "k"]), -1);
    // An absolute time in the past: the key is gone at once.
    assert!(ok(q(&mut c, &["SET", "old", "v", "PXAT", "1"])));
    assert_eq!(q::<Option<String>>(&mut c, &["GET", "old"]), None);
    assert!(ok(q(&mut c, &["SET", "old", "v", "EXAT", "1"])));
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "old"]), 0);
    // SET with GET and EX together.
    assert_eq!(
        q::<Option<String>>(&mut c, &["SET", "k", "v4", "GET", "EX", "50"]),
        Some("v3".into())
    );
    assert!((49..=50).contains(&q::<i64>(&mut c, &["TTL", "k"])));
}

#[test]
fn set_errors() {
    // Conflicting or malformed options give Redis's exact error lines.
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    let syntax = "ERR syntax error";
    let invalid = "ERR invalid expire time in 'set' command";
    let not_int = "ERR value is not an integer or out of range";
    assert_eq!(q_err(&mut c, &["SET", "k", "v", "NX", "XX"]), syntax);
    assert_eq!(
        q_err(&mut c, &["SET", "k", "v", "EX", "10", "PX", "10"]),
        syntax
    );
    assert_eq!(
        q_err(&mut c, &["SET", "k", "v", "KEEPTTL", "EX", "1"]),
        syntax
    );
    assert_eq!(q_err(&mut c, &["SET", "k", "v", "EX"]), syntax);
    assert_eq!(q_err(&mut c, &["SET", "k", "v", "BOGUS"]), syntax);
    assert_eq!(q_err(&mut c, &["SET", "k", "v", "EX", "0"]), invalid);
    assert_eq!(q_err(&mut c, &["SET", "k", "v", "EX", "-1"]), invalid);
    assert_eq!(q_err(&mut c, &["SET", "k", "v", "PX", "0"]), invalid);
    assert_eq!(q_err(&mut c, &["SET", "k", "v", "EXAT", "0"]), invalid);
    assert_eq!(
        q_err(&mut c, &["SET", "k", "v", "EX", "9223372036854775807"]),
        invalid
    );
    assert_eq!(
        q_err(&mut c, &["SET", "k", "v", "PX", "9223372036854775807"]),
        invalid
    );
    assert_eq!(q_err(&mut c, &["SET", "k", "v", "EX", "abc"]), not_int);
    assert_eq!(q_err(&mut c, &["SET", "k", "v", "EX", "1.5"]), not_int);
    assert_eq!(
        q_err(&mut c, &["SET", "k"]),
        "ERR wrong number of arguments for 'set' command"
    );
    assert_eq!(
        q::<i64>(&mut c, &["EXISTS", "k"]),
        0,
        "failed SETs must not create the key"
    );
}

#[test]
fn setnx_setex_psetex_getset() {
    // The older single-purpose commands behave like their SET equivalents.
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    assert_eq!(q::<i64>(&mut c, &["SETNX", "a", "1"]), 1);
    assert_eq!(q::<i64>(&mut c, &["SETNX", "a", "2"]), 0);
    assert_eq!(q::<String>(&mut c, &["GET", "a"]), "1");
    assert!(ok(q(&mut c, &["SETEX", "b", "100", "v"])));
    assert!((99..=100).contains(&q::<i64>(&mut c, &["TTL", "b"])));
    assert_eq!(
        q_err(&mut c, &["SETEX", "b", "0", "v"]),
        "ERR invalid expire time in 'setex' command"
    );
    assert_eq!(
        q_err(&mut c, &["SETEX", "b", "x", "v"]),
        "ERR value is not an integer or out of range"
    );
    assert!(ok(q(&mut c, &["PSETEX", "p", "100000", "v"])));
    assert!((99_000..=100_000).contains(&q::<i64>(&mut c, &["PTTL", "p"])));
    assert_eq!(
        q_err(&mut c, &["PSETEX", "p", "-5", "v"]),
        "ERR invalid expire time in 'psetex' command"
    );
    assert_eq!(q::<Option<String>>(&mut c, &["GETSET", "g", "1"]), None);
    assert_eq!(
        q::<Option<String>>(&mut c, &["GETSET", "g", "2"]),
        Some("1".into())
    );
    // GETSET clears the TTL like SET does.
    assert_eq!(q::<String>(&mut c, &["GETSET", "b", "w"]), "v");
    assert_eq!(q::<i64>(&mut c, &["TTL", "b"]), -1);
}

#[test]
fn getex_variants() {
    // GETEX returns the value and changes (or removes) the TTL; bad options are refused.
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    assert!(ok(q(&mut c, &["SET", "k", "v"])));
    assert_eq!(q::<String>(&mut c, &["GETEX", "k"]), "v");
    assert_eq!(q::<i64>(&mut c, &["TTL", "k"]), -1);
    assert_eq!(q::<String>(&mut c, &["GETEX", "k", "EX", "100"]), "v");
    assert!((99..=100).contains(&q::<i64>(&mut c, &["TTL", "k"])));
    assert_eq!(q::<String>(&mut c, &["GETEX", "k", "PX", "50000"]), "v");
    assert!((49_000..=50_000).contains(&q::<i64>(&mut c, &["PTTL", "k"])));
    let at = unix_ms() / 1000 + 500;
    assert_eq!(
        q::<String>(&mut c, &["GETEX", "k", "EXAT", &at.to_string()]),
        "v"
    );
    assert_eq!(q::<i64>(&mut c, &["EXPIRETIME", "k"]), at);
    let at_ms = unix_ms() + 600_000;
    assert_eq!(
        q::<String>(&mut c, &["GETEX", "k", "PXAT", &at_ms.to_string()]),
        "v"
    );
    assert_eq!(q::<i64>(&mut c, &["PEXPIRETIME", "k"]), at_ms);
    assert_eq!(q::<String>(&mut c, &["GETEX", "k", "PERSIST"]), "v");
    assert_eq!(q::<i64>(&mut c, &["TTL", "k"]), -1);
    assert_eq!(
        q::<Option<String>>(&mut c, &["GETEX", "missing", "EX", "10"]),
        None
    );
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "missing"]), 0);
    assert_eq!(
        q_err(&mut c, &["GETEX", "k", "EX", "0"]),
        "ERR invalid expire time in 'getex' command"
    );
    assert_eq!(
        q_err(&mut c, &["GETEX", "k", "EX", "10", "PX", "10"]),
        "ERR syntax error"
    );
    assert_eq!(
        q_err(&mut c, &["GETEX", "k", "EX", "10", "PERSIST"]),
        "ERR syntax error"
    );
    assert_eq!(q_err(&mut c, &["GETEX", "k", "BOGUS"]), "ERR syntax error");
    assert_eq!(
        q_err(&mut c, &["GETEX", "k", "EX", "x"]),
        "ERR value is not an integer or out of range"
    );
    // A time already past: the value is returned and the key is deleted.
    assert_eq!(q::<String>(&mut c, &["GETEX", "k", "PXAT", "1"]), "v");
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "k"]), 0);
}

#[test]
fn getdel_returns_and_deletes() {
    // GETDEL returns the value once and removes the key.
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    assert!(ok(q(&mut c, &["SET", "k", "v", "EX", "100"])));
    assert_eq!(
        q::<Option<String>>(&mut c, &["GETDEL", "k"]),
        Some("v".into())
    );
    assert_eq!(q::<Option<String>>(&mut c, &["GETDEL", "k"]), None);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "k"]), 0);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
}

#[test]
fn mset_mget_msetnx_are_all_or_nothing() {
    // MSET sets every pair; MSETNX sets nothing if any key exists; MGET has nil for misses.
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    assert!(ok(q(&mut c, &["MSET", "a", "1", "b", "2", "c", "3"])));
    assert_eq!(
        q::<Vec<Option<String>>>(&mut c, &["MGET", "a", "b", "c", "d"]),
        vec![Some("1".into()), Some("2".into()), Some("3".into()), None]
    );
    assert_eq!(
        q_err(&mut c, &["MSET", "a"]),
        "ERR wrong number of arguments for 'mset' command"
    );
    assert_eq!(
        q_err(&mut c, &["MSET", "a", "1", "b"]),
        "ERR wrong number of arguments for 'mset' command"
    );
    assert_eq!(
        q_err(&mut c, &["MSETNX", "x", "1", "y"]),
        "ERR wrong number of arguments for 'msetnx' command"
    );
    // One existing key: nothing set.
    assert_eq!(
        q::<i64>(&mut c, &["MSETNX", "y", "1", "a", "9", "z", "2"]),
        0
    );
    assert_eq!(
        q::<Vec<Option<String>>>(&mut c, &["MGET", "y", "a", "z"]),
        vec![None, Some("1".into()), None]
    );
    assert_eq!(q::<i64>(&mut c, &["MSETNX", "y", "1", "z", "2"]), 1);
    assert_eq!(
        q::<Vec<Option<String>>>(&mut c, &["MGET", "y", "z"]),
        vec![Some("1".into()), Some("2".into())]
    );
    // The same key twice in MSET: the last value wins.
    assert!(ok(q(&mut c, &["MSET", "d", "first", "d", "last"])));
    assert_eq!(q::<String>(&mut c, &["GET", "d"]), "last");
    // MSET clears TTLs.
    assert!(ok(q(&mut c, &["SET", "t", "v", "EX", "100"])));
    assert!(ok(q(&mut c, &["MSET", "t", "w"])));
    assert_eq!(q::<i64>(&mut c, &["TTL", "t"]), -1);
}

#[test]
fn mset_is_atomic_for_readers() {
    // A reader never sees half of an MSET: both keys always carry the same generation.
    let vole = Vole::start(&[]);
    let mut w = vole.client();
    let mut r = vole.client();
    assert!(ok(q(&mut w, &["MSET", "x", "0", "y", "0"])));
    let writer = std::thread::spawn(move || {
        for i in 1..=300 {
            let s = i.to_string();
            let _: R = q(&mut w, &["MSET", "x", &s, "y", &s]);
        }
    });
    for _ in 0..300 {
        let v: Vec<String> = q(&mut r, &["MGET", "x", "y"]);
        assert_eq!(v[0], v[1], "MGET saw a half-applied MSET");
    }
    writer.join().expect("writer");
}

#[test]
fn getrange_edge_cases() {
    // GETRANGE clamps indexes the way Redis 7.2 does.
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    assert!(ok(q(&mut c, &["SET", "s", "Hello World"])));
    let gr = |c: &mut redis::Connection, a: &str, b: &str| q::<String>(c, &["GETRANGE", "s", a, b]);
    assert_eq!(gr(&mut c, "0", "4"), "Hello");
    assert_eq!(gr(&mut c, "-5", "-1"), "World");
    assert_eq!(gr(&mut c, "0", "-1"), "Hello World");
    assert_eq!(gr(&mut c, "5", "1"), "");
    assert_eq!(gr(&mut c, "-1", "-5"), "");
    assert_eq!(gr(&mut c, "100", "200"), "");
    assert_eq!(gr(&mut c, "6", "1000"), "World");
    assert_eq!(gr(&mut c, "-100", "4"), "Hello");
    assert_eq!(gr(&mut c, "0", "9223372036854775807"), "Hello World");
    assert_eq!(q::<String>(&mut c, &["GETRANGE", "missing", "0", "-1"]), "");
    assert_eq!(q::<String>(&mut c, &["SUBSTR", "s", "0", "2"]), "Hel");
    assert_eq!(
        q_err(&mut c, &["GETRANGE", "s", "x", "1"]),
        "ERR value is not an integer or out of range"
    );
    // An integer-encoded value reads as its digits.
    assert!(ok(q(&mut c, &["SET", "n", "12345"])));
    assert_eq!(q::<String>(&mut c, &["GETRANGE", "n", "1", "3"]), "234");
}

#[test]
fn setrange_edge_cases() {
    // SETRANGE pads with zero bytes, refuses negative offsets and results over 512 MiB, and
    // does not create a key for an empty value.
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    assert_eq!(q::<i64>(&mut c, &["SETRANGE", "k", "5", "abc"]), 8);
    assert_eq!(q::<Vec<u8>>(&mut c, &["GET", "k"]), b"\0\0\0\0\0abc");
    assert_eq!(q::<i64>(&mut c, &["SETRANGE", "k", "0", "XY"]), 8);
    assert_eq!(q::<Vec<u8>>(&mut c, &["GET", "k"]), b"XY\0\0\0abc");
    assert_eq!(q::<i64>(&mut c, &["SETRANGE", "k", "7", "long tail"]), 16);
    assert_eq!(q::<Vec<u8>>(&mut c, &["GET", "k"]), b"XY\0\0\0ablong tail");
    assert_eq!(
        q_err(&mut c, &["SETRANGE", "k", "-1", "x"]),
        "ERR offset is out of range"
    );
    assert_eq!(q::<i64>(&mut c, &["SETRANGE", "k", "0", ""]), 16);
    assert_eq!(q::<i64>(&mut c, &["SETRANGE", "m", "0", ""]), 0);
    assert_eq!(q::<i64>(&mut c, &["SETRANGE", "m", "100", ""]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "m"]), 0);
    let too_big = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
    assert_eq!(q_err(&mut c, &["SETRANGE", "k", "536870912", "x"]), too_big);
    assert_eq!(
        q_err(&mut c, &["SETRANGE", "k", "536870911", "xy"]),
        too_big
    );
    assert_eq!(
        q_err(&mut c, &["SETRANGE", "new", "9223372036854775807", "x"]),
        too_big
    );
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "new"]), 0);
    assert_eq!(q::<i64>(&mut c, &["STRLEN", "k"]), 16);
    // Overwriting inside an integer-encoded value.
    assert!(ok(q(&mut c, &["SET", "n", "1234"])));
    assert_eq!(q::<i64>(&mut c, &["SETRANGE", "n", "1", "9"]), 4);
    assert_eq!(q::<i64>(&mut c, &["INCR", "n"]), 1935);
}

#[test]
fn incr_family_and_overflow() {
    // INCR/DECR/INCRBY/DECRBY count, refuse non-integers and report overflow exactly.
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    assert_eq!(q::<i64>(&mut c, &["INCR", "n"]), 1);
    assert_eq!(q::<i64>(&mut c, &["INCR", "n"]), 2);
    assert_eq!(q::<i64>(&mut c, &["INCRBY", "n", "10"]), 12);
    assert_eq!(q::<i64>(&mut c, &["DECR", "n"]), 11);
    assert_eq!(q::<i64>(&mut c, &["DECRBY", "n", "5"]), 6);
    assert_eq!(q::<i64>(&mut c, &["INCRBY", "n", "-10"]), -4);
    assert_eq!(q::<String>(&mut c, &["GET", "n"]), "-4");
    assert_eq!(q::<i64>(&mut c, &["DECR", "fresh"]), -1);
    let not_int = "ERR value is not an integer or out of range";
    assert_eq!(q_err(&mut c, &["INCRBY", "n", "x"]), not_int);
    assert_eq!(q_err(&mut c, &["INCRBY", "n", "1.5"]), not_int);
    assert!(ok(q(&mut c, &["SET", "s", "abc"])));
    assert_eq!(q_err(&mut c, &["INCR", "s"]), not_int);
    for bad in [" 1", "1 ", "01", "+1", "1.0", "", "99999999999999999999"] {
        assert!(ok(q(&mut c, &["SET", "s", bad])));
        assert_eq!(q_err(&mut c, &["INCR", "s"]), not_int, "INCR of {bad:?}");
    }
    let overflow = "ERR increment or decrement would overflow";
    assert!(ok(q(&mut c, &["SET", "m", "9223372036854775807"])));
    assert_eq!(q_err(&mut c, &["INCR", "m"]), overflow);
    assert_eq!(q_err(&mut c, &["INCRBY", "m", "1"]), overflow);
    assert_eq!(q::<String>(&mut c, &["GET", "m"]), "9223372036854775807");
    assert!(ok(q(&mut c, &["SET", "m", "-9223372036854775808"])));
    assert_eq!(q_err(&mut c, &["DECR", "m"]), overflow);
    assert_eq!(q_err(&mut c, &["INCRBY", "m", "-1"]), overflow);
    assert_eq!(
        q_err(&mut c, &["DECRBY", "m", "-9223372036854775808"]),
        "ERR decrement would overflow"
    );
    assert!(ok(q(&mut c, &["SET", "z", "0"])));
    assert_eq!(
        q::<i64>(&mut c, &["DECRBY", "z", "-9223372036854775807"]),
        i64::MAX
    );
    // INCR keeps the TTL.
    assert!(ok(q(&mut c, &["SET", "t", "1", "EX", "100"])));
    assert_eq!(q::<i64>(&mut c, &["INCR", "t"]), 2);
    assert!((99..=100).contains(&q::<i64>(&mut c, &["TTL", "t"])));
}

#[test]
fn incrbyfloat_precision_and_errors() {
    // INCRBYFLOAT prints the shortest exact-looking decimal (10.5 + 0.1 = 10.6, 5.0e3 + 2.0e2 =
    // 5200) and refuses non-numbers and results that are not finite.
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    assert!(ok(q(&mut c, &["SET", "f", "10.5"])));
    assert_eq!(q::<String>(&mut c, &["INCRBYFLOAT", "f", "0.1"]), "10.6");
    assert_eq!(q::<String>(&mut c, &["GET", "f"]), "10.6");
    assert!(ok(q(&mut c, &["SET", "e", "5.0e3"])));
    assert_eq!(q::<String>(&mut c, &["INCRBYFLOAT", "e", "2.0e2"]), "5200");
    assert_eq!(q::<String>(&mut c, &["INCRBYFLOAT", "e", "-5200"]), "0");
    assert_eq!(q::<String>(&mut c, &["INCRBYFLOAT", "z", "0.1"]), "0.1");
    assert_eq!(q::<String>(&mut c, &["INCRBYFLOAT", "z", "0.2"]), "0.3");
    assert_eq!(q::<String>(&mut c, &["INCRBYFLOAT", "i", "3"]), "3");
    assert!(ok(q(&mut c, &["SET", "g", "3"])));
    assert_eq!(q::<String>(&mut c, &["INCRBYFLOAT", "g", "1.5"]), "4.5");
    assert_eq!(q::<String>(&mut c, &["INCRBYFLOAT", "g", "-10"]), "-5.5");
    let not_float = "ERR value is not a valid float";
    assert_eq!(q_err(&mut c, &["INCRBYFLOAT", "g", "abc"]), not_float);
    assert!(ok(q(&mut c, &["SET", "h", "abc"])));
    assert_eq!(q_err(&mut c, &["INCRBYFLOAT", "h", "1"]), not_float);
    assert_eq!(
        q_err(&mut c, &["INCRBYFLOAT", "g", "inf"]),
        "ERR increment would produce NaN or Infinity"
    );
    assert_eq!(q_err(&mut c, &["INCRBYFLOAT", "g", "nan"]), not_float);
}

#[test]
fn append_and_strlen() {
    // APPEND creates or extends and returns the new length; STRLEN is 0 for a missing key.
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    assert_eq!(q::<i64>(&mut c, &["APPEND", "k", "abc"]), 3);
    assert_eq!(q::<i64>(&mut c, &["APPEND", "k", "def"]), 6);
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "abcdef");
    assert_eq!(q::<i64>(&mut c, &["STRLEN", "k"]), 6);
    assert_eq!(q::<i64>(&mut c, &["STRLEN", "missing"]), 0);
    assert_eq!(q::<i64>(&mut c, &["APPEND", "k", ""]), 6);
    assert_eq!(q::<i64>(&mut c, &["APPEND", "e", ""]), 0);
    assert_eq!(
        q::<i64>(&mut c, &["EXISTS", "e"]),
        1,
        "APPEND of nothing still creates the key"
    );
    assert!(ok(q(&mut c, &["SET", "n", "12"])));
    assert_eq!(q::<i64>(&mut c, &["APPEND", "n", "34"]), 4);
    assert_eq!(q::<i64>(&mut c, &["INCR", "n"]), 1235);
    assert_eq!(q::<i64>(&mut c, &["STRLEN", "n"]), 4);
    // APPEND keeps the TTL.
    assert!(ok(q(&mut c, &["SET", "t", "a", "EX", "100"])));
    assert_eq!(q::<i64>(&mut c, &["APPEND", "t", "b"]), 2);
    assert!((99..=100).contains(&q::<i64>(&mut c, &["TTL", "t"])));
}

#[test]
fn expired_keys_are_gone_on_access() {
    // A key set with PX 100 reads as missing 200 ms later.
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    assert!(ok(q(&mut c, &["SET", "k", "v", "PX", "100"])));
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "v");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(q::<Option<String>>(&mut c, &["GET", "k"]), None);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "k"]), 0);
    assert_eq!(q::<i64>(&mut c, &["TTL", "k"]), -2);
    assert_eq!(q::<i64>(&mut c, &["PTTL", "k"]), -2);
    // SET NX on an expired key creates it again.
    assert!(ok(q(&mut c, &["SET", "n", "old", "PX", "50"])));
    std::thread::sleep(Duration::from_millis(120));
    assert!(ok(q(&mut c, &["SET", "n", "new", "NX"])));
    assert_eq!(q::<String>(&mut c, &["GET", "n"]), "new");
    assert_eq!(q::<i64>(&mut c, &["TTL", "n"]), -1);
}

#[test]
fn active_expiry_removes_untouched_keys() {
    // Keys that nobody reads are still removed by the background cycle: DBSIZE drops to the
    // persistent keys within about a second.
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    for i in 0..50 {
        assert!(ok(q(
            &mut c,
            &["SET", &format!("tmp:{i}"), "v", "PX", "100"]
        )));
    }
    assert!(ok(q(&mut c, &["SET", "keep", "v"])));
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 51);
    let gone = wait_until(Duration::from_millis(2000), || {
        q::<i64>(&mut c, &["DBSIZE"]) == 1
    });
    assert!(
        gone,
        "DBSIZE still {} after 2 s",
        q::<i64>(&mut c, &["DBSIZE"])
    );
    assert_eq!(q::<String>(&mut c, &["GET", "keep"]), "v");
    // The expired_keys counter saw them.
    let info: String = q(&mut c, &["INFO", "stats"]);
    let expired: i64 = info
        .lines()
        .find_map(|l| l.strip_prefix("expired_keys:"))
        .expect("expired_keys in INFO stats")
        .trim()
        .parse()
        .expect("number");
    assert_eq!(expired, 50);
}

#[test]
fn wrong_arity_errors() {
    // Missing arguments are refused with the command's name, before anything runs.
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    assert_eq!(
        q_err(&mut c, &["GET"]),
        "ERR wrong number of arguments for 'get' command"
    );
    assert_eq!(
        q_err(&mut c, &["GET", "a", "b"]),
        "ERR wrong number of arguments for 'get' command"
    );
    assert_eq!(
        q_err(&mut c, &["INCRBY", "a"]),
        "ERR wrong number of arguments for 'incrby' command"
    );
    assert_eq!(
        q_err(&mut c, &["GETRANGE", "a", "0"]),
        "ERR wrong number of arguments for 'getrange' command"
    );
    assert_eq!(
        q_err(&mut c, &["NOSUCH", "a", "b"]),
        "ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' "
    );
}

#[test]
fn concurrent_incr_loses_no_update() {
    // Four clients each INCR the same key 500 times: the result is exactly 2000.
    let vole = Vole::start(&[]);
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let mut c = vole.client();
            std::thread::spawn(move || {
                for _ in 0..500 {
                    let _: i64 = q(&mut c, &["INCR", "counter"]);
                    let _: String = q(&mut c, &["INCRBYFLOAT", "f", "0.5"]);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker");
    }
    let mut c = vole.client();
    assert_eq!(q::<i64>(&mut c, &["GET", "counter"]), 2000);
    assert_eq!(q::<String>(&mut c, &["GET", "f"]), "1000");
}

#[test]
fn concurrent_msetnx_in_opposite_orders_neither_deadlocks_nor_splits() {
    // Two clients race MSETNX over the same key pairs named in opposite orders: no deadlock,
    // exactly one wins each pair, and both keys of a pair carry the winner's value.
    let vole = Vole::start(&[]);
    let rounds = 300;
    let spawn = |who: &'static str, reversed: bool| {
        let mut c = vole.client();
        c.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        std::thread::spawn(move || {
            let mut wins = Vec::new();
            for i in 0..rounds {
                let (x, y) = (format!("x{i}"), format!("y{i}"));
                let args = if reversed {
                    ["MSETNX", &y, who, &x, who]
                } else {
                    ["MSETNX", &x, who, &y, who]
                };
                wins.push(q::<i64>(&mut c, &args));
            }
            wins
        })
    };
    let a = spawn("A", false);
    let b = spawn("B", true);
    let wins_a = a.join().expect("A (a timeout here means a deadlock)");
    let wins_b = b.join().expect("B (a timeout here means a deadlock)");
    let mut c = vole.client();
    for i in 0..rounds {
        assert_eq!(
            wins_a[i] + wins_b[i],
            1,
            "round {i}: A {} B {}",
            wins_a[i],
            wins_b[i]
        );
        let v: Vec<String> = q(&mut c, &["MGET", &format!("x{i}"), &format!("y{i}")]);
        assert_eq!(v[0], v[1], "round {i}: pair split between writers");
        assert_eq!(v[0], if wins_a[i] == 1 { "A" } else { "B" });
    }
}
