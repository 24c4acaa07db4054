//! Blocking pops end to end: BLPOP and friends park the client until a push from another
//! client serves it, its timeout passes, CLIENT UNBLOCK, or it disconnects; blocked clients
//! are served first come, first served; the pop is what gets logged.

mod common;

use std::time::{Duration, Instant};

use common::{bulk, info_num, send, temp_dir, text, wait_blocked, Raw, Vole};
use vole_engine::resp::Value;

fn arr(items: &[&str]) -> Value {
    Value::Array(items.iter().map(|s| bulk(s)).collect())
}

#[test]
fn a_push_from_another_client_serves_a_blocked_blpop() {
    // Proves BLPOP parks on an empty key and the first push answers it with [key, value].
    let v = Vole::start(&[]);
    let mut blocked = v.raw();
    let mut other = v.raw();
    send(&mut blocked, &["BLPOP", "q", "0"]);
    wait_blocked(&mut other, 1);
    assert_eq!(other.cmd(&["RPUSH", "q", "job1"]), Value::Int(1));
    assert_eq!(blocked.read(), Some(arr(&["q", "job1"])));
    assert_eq!(other.cmd(&["EXISTS", "q"]), Value::Int(0), "popped");
    assert_eq!(info_num(&mut other, "blocked_clients"), 0);
}

#[test]
fn a_timeout_answers_null_and_fractions_of_a_second_count() {
    // Proves the timeout is honoured (seconds as a float) and answers the null reply of each
    // command: a null array for BLPOP, a null bulk for BLMOVE.
    let v = Vole::start(&[]);
    let mut r = v.raw();
    let t = Instant::now();
    assert_eq!(r.cmd(&["BLPOP", "nothing", "0.2"]), Value::Null);
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(190),
        "returned after {took:?}"
    );
    assert_eq!(
        r.cmd(&["BLMOVE", "a", "b", "LEFT", "RIGHT", "0.05"]),
        Value::Null
    );
    assert!(common::is_err(
        &r.cmd(&["BLPOP", "k", "-1"]),
        "ERR timeout is negative"
    ));
    assert!(common::is_err(
        &r.cmd(&["BLPOP", "k", "abc"]),
        "ERR timeout is not a float or out of range"
    ));
}

#[test]
fn blocked_clients_are_served_in_the_order_they_blocked() {
    // Proves first-blocked-first-served: one push of three elements serves three waiting
    // clients in blocking order.
    let v = Vole::start(&[]);
    let mut ctl = v.raw();
    let mut clients: Vec<Raw> = (0..3).map(|_| v.raw()).collect();
    for (i, c) in clients.iter_mut().enumerate() {
        send(c, &["BLPOP", "q", "0"]);
        wait_blocked(&mut ctl, i as i64 + 1);
    }
    assert_eq!(ctl.cmd(&["RPUSH", "q", "a", "b", "c"]), Value::Int(3));
    let got: Vec<Value> = clients
        .iter_mut()
        .map(|c| c.read().expect("reply"))
        .collect();
    assert_eq!(
        got,
        vec![arr(&["q", "a"]), arr(&["q", "b"]), arr(&["q", "c"])]
    );
}

#[test]
fn the_first_non_empty_key_serves_and_other_types_wait() {
    // Proves a multi-key BLPOP is served by whichever key gets data; a key becoming a string
    // does not wake or fail the waiter; it is served once the key is a list again.
    let v = Vole::start(&[]);
    let mut b = v.raw();
    let mut o = v.raw();
    send(&mut b, &["BLPOP", "k1", "k2", "0"]);
    wait_blocked(&mut o, 1);
    assert_eq!(o.cmd(&["LPUSH", "k2", "x"]), Value::Int(1));
    assert_eq!(b.read(), Some(arr(&["k2", "x"])));

    send(&mut b, &["BRPOP", "k3", "0"]);
    wait_blocked(&mut o, 1);
    assert_eq!(o.cmd(&["SET", "k3", "string"]), Value::Simple("OK".into()));
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(info_num(&mut o, "blocked_clients"), 1, "still blocked");
    assert_eq!(o.cmd(&["DEL", "k3"]), Value::Int(1));
    assert_eq!(o.cmd(&["RPUSH", "k3", "y", "z"]), Value::Int(2));
    assert_eq!(b.read(), Some(arr(&["k3", "z"])));
}

#[test]
fn commands_pipelined_after_a_blocked_one_wait_their_turn() {
    // Proves replies keep their order: a PING sent behind a blocked BLPOP is answered after it.
    let v = Vole::start(&[]);
    let mut b = v.raw();
    let mut o = v.raw();
    b.send(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$1\r\n0\r\n*1\r\n$4\r\nPING\r\n");
    wait_blocked(&mut o, 1);
    o.cmd(&["RPUSH", "q", "v"]);
    assert_eq!(b.read(), Some(arr(&["q", "v"])));
    assert_eq!(b.read(), Some(Value::Simple("PONG".into())));
}

#[test]
fn client_unblock_and_disconnects_release_waiters() {
    // Proves CLIENT UNBLOCK ends a wait as a timeout or with UNBLOCKED, CLIENT LIST shows the
    // `b` flag, and a client that disconnects while blocked leaves no waiter behind (the next
    // push stays in the list).
    let v = Vole::start(&[]);
    let mut b = v.raw();
    let mut o = v.raw();
    let id = match b.cmd(&["CLIENT", "ID"]) {
        Value::Int(i) => i.to_string(),
        other => panic!("{other:?}"),
    };
    send(&mut b, &["BLPOP", "q", "0"]);
    wait_blocked(&mut o, 1);
    assert!(text(&o.cmd(&["CLIENT", "LIST"])).contains("flags=b"));
    assert_eq!(o.cmd(&["CLIENT", "UNBLOCK", &id]), Value::Int(1));
    assert_eq!(b.read(), Some(Value::Null));
    assert_eq!(o.cmd(&["CLIENT", "UNBLOCK", &id]), Value::Int(0));

    send(&mut b, &["BLPOP", "q", "0"]);
    wait_blocked(&mut o, 1);
    assert_eq!(o.cmd(&["CLIENT", "UNBLOCK", &id, "ERROR"]), Value::Int(1));
    assert!(common::is_err(&b.read().expect("reply"), "UNBLOCKED"));

    send(&mut b, &["BLPOP", "q", "0"]);
    wait_blocked(&mut o, 1);
    drop(b);
    wait_blocked(&mut o, 0);
    assert_eq!(o.cmd(&["RPUSH", "q", "kept"]), Value::Int(1));
    assert_eq!(o.cmd(&["LLEN", "q"]), Value::Int(1));
}

#[test]
fn blmove_and_bzpopmin_are_served_and_the_pop_survives_a_crash() {
    // Proves BLMOVE and BZPOPMIN wake on a push and that what they did is logged as the pop
    // and the push it made: after kill -9 the state is the same.
    let dir = temp_dir("blocking-restart");
    let v = Vole::start_in(&dir, &["--appendfsync", "always"]);
    let mut b = v.raw();
    let mut o = v.raw();
    send(&mut b, &["BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"]);
    wait_blocked(&mut o, 1);
    o.cmd(&["RPUSH", "src", "a", "b"]);
    assert_eq!(b.read(), Some(bulk("a")));
    send(&mut b, &["BZPOPMIN", "z", "0"]);
    wait_blocked(&mut o, 1);
    o.cmd(&["ZADD", "z", "2", "two", "1", "one"]);
    assert_eq!(b.read(), Some(arr(&["z", "one", "1"])));
    drop(b);
    drop(o);
    v.kill9();
    let v = Vole::start_in(&dir, &[]);
    let mut r = v.raw();
    assert_eq!(r.cmd(&["LRANGE", "src", "0", "-1"]), arr(&["b"]));
    assert_eq!(r.cmd(&["LRANGE", "dst", "0", "-1"]), arr(&["a"]));
    assert_eq!(r.cmd(&["ZRANGE", "z", "0", "-1"]), arr(&["two"]));
    drop(v);
    let _ = std::fs::remove_dir_all(&dir);
}
