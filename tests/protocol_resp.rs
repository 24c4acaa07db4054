//! RESP framing against the real server over raw sockets: partial writes, pipelines, inline
//! commands, protocol errors (reply, then close, without hurting other clients), big values,
//! RESP3 through HELLO, QUIT, RESET and CLIENT REPLY.

mod common;

use std::io::Write;

use common::{bulk, is_err, text, Vole};
use vole_engine::resp::Value;

fn ok() -> Value {
    Value::Simple(bytes::Bytes::from_static(b"OK"))
}

fn simple(s: &'static str) -> Value {
    Value::Simple(bytes::Bytes::from_static(s.as_bytes()))
}

/// The value of `field` in a HELLO reply (a RESP3 map or a RESP2 flat array).
fn hello_field(reply: &Value, field: &str) -> Value {
    match reply {
        Value::Map(pairs) => pairs
            .iter()
            .find(|(k, _)| *k == bulk(field))
            .map(|(_, v)| v.clone()),
        Value::Array(items) => items
            .chunks(2)
            .find(|kv| kv[0] == bulk(field))
            .map(|kv| kv[1].clone()),
        other => panic!("HELLO reply is not a map or array: {other:?}"),
    }
    .unwrap_or_else(|| panic!("HELLO reply has no {field}: {reply:?}"))
}

/// Assert that a reply is exactly the error line `-{line}`.
fn assert_error_line(v: &Value, line: &str) {
    assert!(
        matches!(v, Value::Error(e) if e == line.as_bytes()),
        "expected -{line}, got {v:?}"
    );
}

#[test]
fn command_written_byte_by_byte_still_works() {
    // A request that arrives one byte per write is reassembled and answered once.
    let vole = Vole::start(&[]);
    let mut r = vole.raw();
    for b in b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n" {
        r.send(&[*b]);
        r.stream.flush().expect("flush");
    }
    assert_eq!(r.read(), Some(ok()));
    for b in b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n" {
        r.send(&[*b]);
    }
    assert_eq!(r.read(), Some(bulk("hello")));
    // Inline too.
    for b in b"ECHO split\r\n" {
        r.send(&[*b]);
    }
    assert_eq!(r.read(), Some(bulk("split")));
}

#[test]
fn pipeline_of_1000_commands_gets_1000_replies_in_order() {
    // 1000 commands sent in one write come back as 1000 replies in the order sent.
    let vole = Vole::start(&[]);
    let mut r = vole.raw();
    let mut out = bytes::BytesMut::new();
    for i in 0..1000 {
        if i % 2 == 0 {
            vole_engine::resp::encode_command(&["INCR", "counter"], &mut out);
        } else {
            vole_engine::resp::encode_command(&["ECHO", &format!("m{i}")], &mut out);
        }
    }
    r.send(&out);
    for i in 0..1000 {
        let got = r.read().expect("reply");
        if i % 2 == 0 {
            assert_eq!(got, Value::Int(i / 2 + 1), "reply {i}");
        } else {
            assert_eq!(got, bulk(&format!("m{i}")), "reply {i}");
        }
    }
    assert_eq!(r.cmd(&["GET", "counter"]), bulk("500"));
}

#[test]
fn inline_commands_work_and_empty_lines_are_ignored() {
    // Inline requests (telnet style) run, honour quotes, and a bare newline gets no reply.
    let vole = Vole::start(&[]);
    let mut r = vole.raw();
    r.send(b"PING\r\n");
    assert_eq!(r.read(), Some(simple("PONG")));
    r.send(b"SET k \"a b\"\r\n");
    assert_eq!(r.read(), Some(ok()));
    assert_eq!(r.cmd(&["GET", "k"]), bulk("a b"));
    r.send(b"SET q 'x\\ny'\r\n");
    assert_eq!(r.read(), Some(ok()));
    assert_eq!(r.cmd(&["GET", "q"]), bulk("x\\ny"));
    r.send(b"SET e \"tab\\there\"\r\n");
    assert_eq!(r.read(), Some(ok()));
    assert_eq!(r.cmd(&["GET", "e"]), bulk("tab\there"));
    // A bare "\n", an empty "\r\n" and a line of spaces produce nothing; the PING after them is
    // the first reply.
    r.send(b"\n\r\n   \r\nPING\n");
    assert_eq!(r.read(), Some(simple("PONG")));
}

#[test]
fn garbage_after_valid_pipeline_replies_then_closes_only_that_client() {
    // Valid commands before garbage are answered, then one protocol error, then close; another
    // client on the same server keeps working.
    let vole = Vole::start(&[]);
    let mut other = vole.raw();
    assert_eq!(other.cmd(&["PING"]), simple("PONG"));
    let mut r = vole.raw();
    r.send(b"SET a 1\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\nPING\r\n*abc\r\nPING\r\n");
    assert_eq!(r.read(), Some(ok()));
    assert_eq!(r.read(), Some(bulk("1")));
    assert_eq!(r.read(), Some(simple("PONG")));
    let err = r.read().expect("an error reply before the close");
    assert_error_line(&err, "ERR Protocol error: invalid multibulk length");
    assert!(
        r.is_closed(),
        "connection should be closed after a protocol error"
    );
    assert_eq!(other.cmd(&["GET", "a"]), bulk("1"));
    assert_eq!(other.cmd(&["PING"]), simple("PONG"));
}

#[test]
fn huge_declared_bulk_length_is_refused_without_allocating() {
    // A 2 GiB bulk header gets "invalid bulk length" and a close, and the server does not
    // reserve that memory: it still answers, and its used memory stays small.
    let vole = Vole::start(&[]);
    let mut r = vole.raw();
    r.send(b"*1\r\n$2147483648\r\n");
    let err = r.read().expect("an error reply before the close");
    assert_error_line(&err, "ERR Protocol error: invalid bulk length");
    assert!(r.is_closed());
    let mut other = vole.raw();
    assert_eq!(other.cmd(&["PING"]), simple("PONG"));
    let info = text(&other.cmd(&["INFO", "memory"]));
    let used: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .expect("used_memory in INFO memory")
        .trim()
        .parse()
        .expect("used_memory is a number");
    assert!(
        used < 256 * 1024 * 1024,
        "used_memory {used} after a 2 GiB bulk header"
    );
}

#[test]
fn negative_lengths() {
    // "*-1" and "*0" are empty requests that are skipped; a negative bulk length is a protocol
    // error.
    let vole = Vole::start(&[]);
    let mut r = vole.raw();
    r.send(b"*-1\r\n*0\r\n*-10\r\nPING\r\n");
    assert_eq!(r.read(), Some(simple("PONG")));
    r.send(b"*1\r\n$-1\r\n");
    let err = r.read().expect("an error reply before the close");
    assert_error_line(&err, "ERR Protocol error: invalid bulk length");
    assert!(r.is_closed());

    let mut r = vole.raw();
    r.send(b"*2\r\n$4\r\nECHO\r\n$-5\r\n");
    let err = r.read().expect("an error reply before the close");
    assert_error_line(&err, "ERR Protocol error: invalid bulk length");
    assert!(r.is_closed());

    let mut r = vole.raw();
    r.send(b"*3000000000\r\n");
    let err = r.read().expect("an error reply before the close");
    assert_error_line(&err, "ERR Protocol error: invalid multibulk length");
    assert!(r.is_closed());
}

#[test]
fn element_without_dollar_is_a_protocol_error() {
    // Inside a multibulk, an element that does not start with '$' is refused by name.
    let vole = Vole::start(&[]);
    let mut r = vole.raw();
    r.send(b"*3\r\n$3\r\nSET\r\nxyz\r\n");
    let err = r.read().expect("an error reply before the close");
    assert_error_line(&err, "ERR Protocol error: expected '$', got 'x'");
    assert!(r.is_closed());
}

#[test]
fn unbalanced_quotes_inline_is_a_protocol_error() {
    // An inline request with an unterminated quote is refused and the connection closed.
    let vole = Vole::start(&[]);
    let mut r = vole.raw();
    r.send(b"SET k \"abc\r\n");
    let err = r.read().expect("an error reply before the close");
    assert_error_line(&err, "ERR Protocol error: unbalanced quotes in request");
    assert!(r.is_closed());
    // A closing quote glued to the next word is unbalanced too.
    let mut r = vole.raw();
    r.send(b"SET k \"a\"b\r\n");
    let err = r.read().expect("an error reply before the close");
    assert_error_line(&err, "ERR Protocol error: unbalanced quotes in request");
    assert!(r.is_closed());
}

#[test]
fn too_big_inline_request_is_refused() {
    // 70 KB without a newline exceeds the 64 KiB inline limit: error, then close.
    let vole = Vole::start(&[]);
    let mut r = vole.raw();
    r.send_lossy(&vec![b'a'; 70 * 1024]);
    let err = r.read().expect("an error reply before the close");
    assert_error_line(&err, "ERR Protocol error: too big inline request");
    assert!(r.is_closed());
    assert_eq!(vole.raw().cmd(&["PING"]), simple("PONG"));
}

#[test]
fn ten_megabyte_value_round_trips() {
    // A 10 MB value is stored and read back byte for byte.
    let vole = Vole::start(&[]);
    let mut con = vole.client();
    let value: Vec<u8> = (0..10 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    let () = redis::cmd("SET")
        .arg("big")
        .arg(&value)
        .query(&mut con)
        .expect("SET big");
    let back: Vec<u8> = redis::cmd("GET")
        .arg("big")
        .query(&mut con)
        .expect("GET big");
    assert_eq!(back.len(), value.len());
    assert!(back == value, "10 MB value came back different");
    let n: i64 = redis::cmd("STRLEN")
        .arg("big")
        .query(&mut con)
        .expect("STRLEN");
    assert_eq!(n, 10 * 1024 * 1024);
    // And over a raw socket written in one go.
    let mut r = vole.raw();
    let v = "z".repeat(10 * 1024 * 1024);
    assert_eq!(r.cmd(&["SET", "big2", &v]), ok());
    assert_eq!(r.cmd(&["GET", "big2"]), bulk(&v));
}

#[test]
fn hello_3_switches_to_resp3_and_hello_2_back() {
    // HELLO 3 answers with a map and turns on RESP3 (nil is `_`, CONFIG GET is a map);
    // HELLO 2 answers with a flat array and nil is `$-1` again.
    let vole = Vole::start(&[]);
    let mut r = vole.raw();
    // RESP2 first.
    r.send_cmd(&[b"GET", b"missing"]);
    assert_eq!(r.read_bytes(5), b"$-1\r\n");
    let hello = r.cmd(&["HELLO", "3"]);
    assert!(matches!(hello, Value::Map(_)), "HELLO 3 reply: {hello:?}");
    assert_eq!(hello_field(&hello, "proto"), Value::Int(3));
    assert_eq!(hello_field(&hello, "server"), bulk("redis"));
    assert!(text(&hello_field(&hello, "version")).starts_with("7.2"));
    assert!(matches!(hello_field(&hello, "id"), Value::Int(n) if n > 0));
    assert_eq!(hello_field(&hello, "mode"), bulk("standalone"));
    assert_eq!(hello_field(&hello, "role"), bulk("master"));
    assert_eq!(hello_field(&hello, "modules"), Value::Array(Vec::new()));
    r.send_cmd(&[b"GET", b"missing"]);
    assert_eq!(r.read_bytes(3), b"_\r\n");
    assert!(
        matches!(r.cmd(&["CONFIG", "GET", "maxclients"]), Value::Map(m) if m == vec![(bulk("maxclients"), bulk("10000"))])
    );
    assert!(matches!(r.cmd(&["CLIENT", "INFO"]), Value::Verbatim(f, _) if f == "txt"));
    assert_eq!(r.cmd(&["SET", "k", "v"]), ok());
    assert_eq!(r.cmd(&["GET", "k"]), bulk("v"));
    assert_eq!(r.cmd(&["EXISTS", "k"]), Value::Int(1));
    assert_eq!(r.cmd(&["INCRBYFLOAT", "f", "1.5"]), bulk("1.5"));

    let hello = r.cmd(&["HELLO", "2"]);
    assert!(
        matches!(hello, Value::Array(ref a) if a.len() == 14),
        "HELLO 2 reply: {hello:?}"
    );
    assert_eq!(hello_field(&hello, "proto"), Value::Int(2));
    r.send_cmd(&[b"GET", b"missing"]);
    assert_eq!(r.read_bytes(5), b"$-1\r\n");
    assert!(
        matches!(r.cmd(&["CONFIG", "GET", "maxclients"]), Value::Array(a) if a == vec![bulk("maxclients"), bulk("10000")])
    );
    assert!(matches!(r.cmd(&["CLIENT", "INFO"]), Value::Bulk(_)));
    // HELLO without a version reports the current protocol and keeps it.
    assert_eq!(hello_field(&r.cmd(&["HELLO"]), "proto"), Value::Int(2));
    // Unsupported versions.
    assert!(is_err(&r.cmd(&["HELLO", "4"]), "NOPROTO"));
    assert!(is_err(
        &r.cmd(&["HELLO", "abc"]),
        "ERR Protocol version is not an integer or out of range"
    ));
}

#[test]
fn hello_with_auth_and_setname() {
    // HELLO 3 AUTH authenticates and switches protocol in one step; SETNAME names the client;
    // a wrong password or a HELLO without AUTH while unauthenticated is refused.
    let vole = Vole::start(&["--requirepass", "pw"]);
    let mut r = vole.raw();
    assert!(is_err(&r.cmd(&["HELLO", "3"]), "NOAUTH"));
    assert!(is_err(&r.cmd(&["PING"]), "NOAUTH"));
    assert!(is_err(
        &r.cmd(&["HELLO", "3", "AUTH", "default", "nope"]),
        "WRONGPASS"
    ));
    assert!(is_err(
        &r.cmd(&["HELLO", "3", "AUTH", "someone", "pw"]),
        "WRONGPASS"
    ));
    let hello = r.cmd(&["HELLO", "3", "AUTH", "default", "pw", "SETNAME", "myapp"]);
    assert!(matches!(hello, Value::Map(_)), "HELLO reply: {hello:?}");
    assert_eq!(hello_field(&hello, "proto"), Value::Int(3));
    assert_eq!(r.cmd(&["CLIENT", "GETNAME"]), bulk("myapp"));
    assert_eq!(r.cmd(&["PING"]), simple("PONG"));
    // SETNAME alone (already authenticated), and a name with a space is refused.
    assert!(matches!(
        r.cmd(&["HELLO", "2", "SETNAME", "other"]),
        Value::Array(_)
    ));
    assert_eq!(r.cmd(&["CLIENT", "GETNAME"]), bulk("other"));
    assert!(is_err(&r.cmd(&["HELLO", "2", "SETNAME", "a b"]), "ERR"));
    assert!(is_err(
        &r.cmd(&["HELLO", "2", "BOGUS"]),
        "ERR Syntax error in HELLO option 'BOGUS'"
    ));
}

#[test]
fn quit_replies_ok_then_closes() {
    // QUIT gets +OK and then the server closes the connection.
    let vole = Vole::start(&[]);
    let mut r = vole.raw();
    assert_eq!(r.cmd(&["QUIT"]), ok());
    assert!(r.is_closed());
    // Commands pipelined after QUIT are not run.
    let mut r = vole.raw();
    r.send(b"QUIT\r\nSET after quit\r\n");
    assert_eq!(r.read(), Some(ok()));
    assert!(r.is_closed());
    assert_eq!(vole.raw().cmd(&["EXISTS", "after"]), Value::Int(0));
}

#[test]
fn reset_returns_to_db0_resp2_and_clears_the_name() {
    // RESET answers +RESET and puts the connection back to db 0, RESP2, no name, replies on.
    let vole = Vole::start(&[]);
    let mut r = vole.raw();
    assert_eq!(r.cmd(&["SELECT", "2"]), ok());
    assert_eq!(r.cmd(&["SET", "in2", "x"]), ok());
    assert!(matches!(r.cmd(&["HELLO", "3"]), Value::Map(_)));
    assert_eq!(r.cmd(&["CLIENT", "SETNAME", "named"]), ok());
    assert_eq!(r.cmd(&["RESET"]), simple("RESET"));
    r.send_cmd(&[b"GET", b"in2"]);
    assert_eq!(r.read_bytes(5), b"$-1\r\n", "after RESET: db 0 and RESP2");
    assert_eq!(r.cmd(&["CLIENT", "GETNAME"]), Value::Null);
    assert_eq!(r.cmd(&["SELECT", "2"]), ok());
    assert_eq!(r.cmd(&["GET", "in2"]), bulk("x"));
    // CLIENT REPLY OFF is undone by RESET (RESET's own reply is sent).
    assert_eq!(r.cmd(&["RESET"]), simple("RESET"));
    r.send(b"CLIENT REPLY OFF\r\nRESET\r\nPING\r\n");
    assert_eq!(r.read(), Some(simple("RESET")));
    assert_eq!(r.read(), Some(simple("PONG")));
}

#[test]
fn reset_with_requirepass_requires_auth_again() {
    // After RESET an authenticated connection must AUTH again when a password is set.
    let vole = Vole::start(&["--requirepass", "pw"]);
    let mut r = vole.raw();
    assert_eq!(r.cmd(&["AUTH", "pw"]), ok());
    assert_eq!(r.cmd(&["PING"]), simple("PONG"));
    assert_eq!(r.cmd(&["RESET"]), simple("RESET"));
    assert!(is_err(&r.cmd(&["PING"]), "NOAUTH"));
}

#[test]
fn client_reply_off_and_on() {
    // CLIENT REPLY OFF silences every reply until CLIENT REPLY ON, whose +OK is sent.
    let vole = Vole::start(&[]);
    let mut r = vole.raw();
    r.send(b"CLIENT REPLY OFF\r\nSET a 1\r\nGET a\r\nNOSUCHCMD\r\nINCR a\r\nCLIENT REPLY ON\r\n");
    assert_eq!(r.read(), Some(ok()));
    assert_eq!(r.cmd(&["PING"]), simple("PONG"));
    // The silenced commands did run.
    assert_eq!(r.cmd(&["GET", "a"]), bulk("2"));
}

#[test]
fn client_reply_skip_skips_only_the_next_reply() {
    // CLIENT REPLY SKIP sends no reply for itself nor for the next command; later ones reply.
    let vole = Vole::start(&[]);
    let mut r = vole.raw();
    r.send(b"CLIENT REPLY SKIP\r\nSET a 2\r\nGET a\r\nPING\r\n");
    assert_eq!(r.read(), Some(bulk("2")));
    assert_eq!(r.read(), Some(simple("PONG")));
    assert!(is_err(
        &r.cmd(&["CLIENT", "REPLY", "MAYBE"]),
        "ERR syntax error"
    ));
}

#[test]
fn client_reply_skip_while_off_changes_nothing() {
    // In Redis, CLIENT REPLY SKIP while replies are OFF is ignored: replies stay off until ON.
    let vole = Vole::start(&[]);
    let mut r = vole.raw();
    r.send(b"CLIENT REPLY OFF\r\nCLIENT REPLY SKIP\r\nPING\r\nPING\r\nCLIENT REPLY ON\r\n");
    assert_eq!(r.read(), Some(ok()));
    assert_eq!(r.cmd(&["ECHO", "x"]), bulk("x"));
}

#[test]
fn unauthenticated_clients_get_small_request_limits() {
    // Before AUTH, more than 10 arguments or a bulk over 16 KiB is a protocol error (Redis's
    // defence against unauthenticated memory use).
    let vole = Vole::start(&["--requirepass", "pw"]);
    let mut r = vole.raw();
    let args: Vec<&[u8]> = vec![b"PING"; 11];
    r.send_cmd(&args);
    let err = r.read().expect("an error reply before the close");
    assert_error_line(&err, "ERR Protocol error: unauthenticated multibulk length");
    assert!(r.is_closed());
    let mut r = vole.raw();
    r.send(b"*2\r\n$4\r\nAUTH\r\n$16385\r\n");
    let err = r.read().expect("an error reply before the close");
    assert_error_line(&err, "ERR Protocol error: unauthenticated bulk length");
    assert!(r.is_closed());
    // After AUTH both are fine.
    let mut r = vole.raw();
    assert_eq!(r.cmd(&["AUTH", "pw"]), ok());
    let mut words = vec!["MSET"];
    words.extend(["k"; 12]);
    assert_eq!(r.cmd(&words), ok());
    let big = "b".repeat(20_000);
    assert_eq!(r.cmd(&["ECHO", &big]), bulk(&big));
}

/// One request in RESP, as a client library writes it.
fn encode(args: &[&str]) -> Vec<u8> {
    let mut out = bytes::BytesMut::new();
    vole_engine::resp::encode_command(args, &mut out);
    out.to_vec()
}

#[test]
fn requests_pipelined_behind_reset_get_the_unauthenticated_limits() {
    // The server parses a pipeline a few requests ahead of running them (to prefetch their
    // keys), but never past a RESET: with a password set, RESET ends authentication, so an
    // 11-argument request sent in the same write is refused as it would be on its own.
    let vole = Vole::start(&["--requirepass", "pw"]);
    let mut r = vole.raw();
    assert_eq!(r.cmd(&["AUTH", "pw"]), ok());
    let mut batch = encode(&["SET", "a", "1"]);
    batch.extend(encode(&["RESET"]));
    batch.extend(encode(&["PING"; 11]));
    r.send(&batch);
    assert_eq!(r.read(), Some(ok()));
    assert_eq!(r.read(), Some(simple("RESET")));
    let err = r.read().expect("an error reply before the close");
    assert_error_line(&err, "ERR Protocol error: unauthenticated multibulk length");
    assert!(r.is_closed());
}

#[test]
fn a_pipeline_across_databases_and_errors_runs_in_order() {
    // Parsing ahead and prefetching keys changes nothing a client can see: a pipeline that
    // switches databases, hits a wrong type and ends in garbage gets every reply in order, each
    // as if its request had run alone, and the valid ones before the garbage still run.
    let vole = Vole::start(&[]);
    let mut r = vole.raw();
    let mut batch = Vec::new();
    for i in 0..40 {
        batch.extend(encode(&["SET", &format!("k{i}"), &i.to_string()]));
    }
    batch.extend(encode(&["SELECT", "1"]));
    batch.extend(encode(&["GET", "k1"]));
    batch.extend(encode(&["INCR", "k2"]));
    batch.extend(encode(&["SELECT", "0"]));
    batch.extend(encode(&["INCR", "k2"]));
    batch.extend(encode(&["LPUSH", "k3", "x"]));
    batch.extend(encode(&["GET", "k39"]));
    batch.extend(b"*1\r\n$4\r\nPING\r\nxyz\r\n*2\r\n$3\r\nGET\r\n$2\r\nk1\r\n");
    batch.extend(b"*1\r\n$x\r\n");
    r.send(&batch);
    for _ in 0..40 {
        assert_eq!(r.read(), Some(ok()));
    }
    assert_eq!(r.read(), Some(ok()));
    assert_eq!(r.read(), Some(Value::Null));
    assert_eq!(r.read(), Some(Value::Int(1)));
    assert_eq!(r.read(), Some(ok()));
    assert_eq!(r.read(), Some(Value::Int(3)));
    assert!(is_err(&r.read().expect("a reply"), "WRONGTYPE"));
    assert_eq!(r.read(), Some(bulk("39")));
    assert_eq!(r.read(), Some(simple("PONG")));
    assert!(is_err(
        &r.read().expect("a reply"),
        "ERR unknown command 'xyz'"
    ));
    assert_eq!(r.read(), Some(bulk("1")));
    let err = r.read().expect("an error reply before the close");
    assert!(is_err(&err, "ERR Protocol error"), "{err:?}");
    assert!(r.is_closed());
    // Collections big enough for their hash-table encodings, where the members a pipeline
    // names are prefetched too, including through a command of the wrong type.
    let mut r = vole.raw();
    let mut batch = Vec::new();
    for i in 0..300 {
        batch.extend(encode(&["SADD", "s", &format!("m{i}")]));
        batch.extend(encode(&["HSET", "h", &format!("f{i}"), "v"]));
        batch.extend(encode(&["ZADD", "z", &i.to_string(), &format!("m{i}")]));
    }
    batch.extend(encode(&["HGET", "s", "m5"]));
    batch.extend(encode(&["SISMEMBER", "s", "m5"]));
    batch.extend(encode(&["ZINCRBY", "z", "0.5", "m7"]));
    batch.extend(encode(&["ZSCORE", "h", "f1"]));
    batch.extend(encode(&["HDEL", "h", "f9", "f10"]));
    r.send(&batch);
    for _ in 0..300 {
        assert_eq!(r.read(), Some(Value::Int(1)));
        assert_eq!(r.read(), Some(Value::Int(1)));
        assert_eq!(r.read(), Some(Value::Int(1)));
    }
    assert!(is_err(&r.read().expect("a reply"), "WRONGTYPE"));
    assert_eq!(r.read(), Some(Value::Int(1)));
    assert_eq!(r.read(), Some(bulk("7.5")));
    assert!(is_err(&r.read().expect("a reply"), "WRONGTYPE"));
    assert_eq!(r.read(), Some(Value::Int(2)));
    // The writes before the garbage are all there.
    let mut c = vole.raw();
    assert_eq!(c.cmd(&["GET", "k2"]), bulk("3"));
    assert_eq!(c.cmd(&["SELECT", "1"]), ok());
    assert_eq!(c.cmd(&["GET", "k2"]), bulk("1"));
}

#[test]
fn proto_max_bulk_len_is_enforced_and_adjustable() {
    // A bulk longer than proto-max-bulk-len (lowered to 1 MiB at runtime) is a protocol error;
    // one at the limit is accepted.
    let vole = Vole::start(&[]);
    let mut admin = vole.raw();
    assert_eq!(
        admin.cmd(&["CONFIG", "SET", "proto-max-bulk-len", "1mb"]),
        ok()
    );
    let mut r = vole.raw();
    let at_limit = "a".repeat(1024 * 1024);
    assert_eq!(r.cmd(&["SET", "k", &at_limit]), ok());
    r.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048577\r\n");
    let err = r.read().expect("an error reply before the close");
    assert_error_line(&err, "ERR Protocol error: invalid bulk length");
    assert!(r.is_closed());
    assert_eq!(admin.cmd(&["STRLEN", "k"]), Value::Int(1024 * 1024));
}

#[test]
fn inline_hex_escapes_and_quotes() {
    // Inline double quotes understand \xHH and the usual escapes; single quotes only \'.
    let vole = Vole::start(&[]);
    let mut r = vole.raw();
    r.send(b"SET k \"\\x41\\x62\\n\"\r\n");
    assert_eq!(r.read(), Some(ok()));
    assert_eq!(r.cmd(&["GET", "k"]), bulk("Ab\n"));
    r.send(b"SET k 'it\\'s'\r\n");
    assert_eq!(r.read(), Some(ok()));
    assert_eq!(r.cmd(&["GET", "k"]), bulk("it's"));
    r.send(b"SET k \"\"\r\n");
    assert_eq!(r.read(), Some(ok()));
    assert_eq!(r.cmd(&["STRLEN", "k"]), Value::Int(0));
}

#[test]
fn big_pipeline_written_before_reading_does_not_deadlock() {
    // A client that writes a 20 MB pipeline before reading any reply (what redis-rs and other
    // clients' pipelines do) must not deadlock: Redis keeps reading while replies queue up.
    let vole = Vole::start(&[]);
    let r = vole.raw();
    let payload = "p".repeat(1000);
    let mut out = bytes::BytesMut::new();
    let n = 20_000;
    for _ in 0..n {
        vole_engine::resp::encode_command(&["ECHO", payload.as_str()], &mut out);
    }
    let mut writer_stream = r.stream.try_clone().expect("clone socket");
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let writer = std::thread::spawn(move || {
        let res = writer_stream.write_all(&out);
        let _ = done_tx.send(res.is_ok());
    });
    let finished = done_rx.recv_timeout(std::time::Duration::from_secs(10));
    if finished.is_err() {
        // Unblock the writer before failing.
        let _ = r.stream.shutdown(std::net::Shutdown::Both);
        let _ = writer.join();
        panic!("writing a 20 MB pipeline did not finish in 10 s: the server stopped reading");
    }
    assert_eq!(finished, Ok(true));
    writer.join().expect("writer");
    let mut r = r;
    for i in 0..n {
        assert_eq!(r.read(), Some(bulk(&payload)), "reply {i}");
    }
}
