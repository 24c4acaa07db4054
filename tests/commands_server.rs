//! Server and connection commands against the real process: PING/ECHO/TIME, INFO, CONFIG,
//! SLOWLOG, CLIENT (names, lists, kill, pause, reply), COMMAND, ACL, authentication, SWAPDB
//! and SHUTDOWN.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::{bulk, is_err, q, q_err, text, unix_ms, wait_until, Vole};
use redis::Value as R;
use vole_engine::resp::Value;

fn ok(v: R) -> bool {
    v == R::Okay
}

fn simple(s: &'static str) -> Value {
    Value::Simple(bytes::Bytes::from_static(s.as_bytes()))
}

/// The `field=value` pairs of a CLIENT INFO / CLIENT LIST line.
fn client_fields(line: &str) -> HashMap<String, String> {
    line.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The value of `name:` in an INFO text.
fn info_field(info: &str, name: &str) -> Option<String> {
    info.lines().find_map(|l| {
        l.strip_prefix(&format!("{name}:"))
            .map(|v| v.trim().to_string())
    })
}

#[test]
fn ping_echo_time() {
    // PING, PING msg, ECHO and TIME answer like Redis; TIME is the wall clock.
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
    assert_eq!(q::<String>(&mut c, &["PING", "hello world"]), "hello world");
    assert_eq!(q::<String>(&mut c, &["ECHO", "hi"]), "hi");
    assert_eq!(q::<Vec<u8>>(&mut c, &["ECHO", ""]), b"");
    assert_eq!(
        q_err(&mut c, &["PING", "a", "b"]),
        "ERR wrong number of arguments for 'ping' command"
    );
    assert_eq!(
        q_err(&mut c, &["ECHO"]),
        "ERR wrong number of arguments for 'echo' command"
    );
    let (secs, usecs): (String, String) = q(&mut c, &["TIME"]);
    let secs: i64 = secs.parse().expect("seconds");
    let usecs: i64 = usecs.parse().expect("microseconds");
    assert!((0..1_000_000).contains(&usecs));
    let now = unix_ms() / 1000;
    assert!((secs - now).abs() <= 2, "TIME {secs} vs system {now}");
    // PING's simple-string form on the wire.
    let mut r = vole.raw();
    assert_eq!(r.cmd(&["PING"]), simple("PONG"));
    assert_eq!(r.cmd(&["PING", "x"]), bulk("x"));
}

#[test]
fn info_has_every_section_and_versions() {
    // INFO lists the standard sections, claims Redis 7.2 and names Vole's own version.
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    assert!(ok(q(&mut c, &["SET", "k", "v"])));
    let info: String = q(&mut c, &["INFO"]);
    for section in [
        "Server",
        "Clients",
        "Memory",
        "Persistence",
        "Stats",
        "Replication",
        "CPU",
        "Keyspace",
    ] {
        assert!(
            info.contains(&format!("# {section}\r\n")),
            "INFO lacks # {section}:\n{info}"
        );
    }
    assert!(info_field(&info, "redis_version")
        .expect("redis_version")
        .starts_with("7.2"));
    assert!(
        info_field(&info, "vole_version").is_some_and(|v| !v.is_empty()),
        "vole_version missing"
    );
    assert_eq!(
        info_field(&info, "redis_mode").as_deref(),
        Some("standalone")
    );
    assert_eq!(info_field(&info, "role").as_deref(), Some("master"));
    assert_eq!(
        info_field(&info, "tcp_port"),
        Some(vole.addr.port().to_string())
    );
    assert!(info_field(&info, "connected_clients")
        .is_some_and(|n| n.parse::<u32>().is_ok_and(|n| n >= 1)));
    assert!(info_field(&info, "used_memory").is_some_and(|n| n.parse::<u64>().is_ok()));
    assert!(
        info_field(&info, "db0").is_some_and(|v| v.starts_with("keys=1,expires=0")),
        "keyspace: {info}"
    );
    // One section by name only has that section.
    let server: String = q(&mut c, &["INFO", "server"]);
    assert!(server.contains("# Server"));
    assert!(!server.contains("# Clients"));
    let two: String = q(&mut c, &["INFO", "clients", "memory"]);
    assert!(two.contains("# Clients") && two.contains("# Memory") && !two.contains("# Stats"));
    // Command statistics appear after use.
    let stats: String = q(&mut c, &["INFO", "commandstats"]);
    let set =
        info_field(&stats, "cmdstat_set").unwrap_or_else(|| panic!("no cmdstat_set in {stats}"));
    assert!(set.starts_with("calls=1,"), "cmdstat_set:{set}");
    assert!(
        set.contains("usec=") && set.contains("rejected_calls=0") && set.contains("failed_calls=0")
    );
    let everything: String = q(&mut c, &["INFO", "everything"]);
    assert!(everything.contains("# Commandstats") && everything.contains("cmdstat_info"));
}

#[test]
fn info_keyspace_and_stats_follow_activity() {
    // Keyspace counts keys and expiries per db; stats count commands and hits/misses.
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    assert!(ok(q(&mut c, &["MSET", "a", "1", "b", "2"])));
    assert!(ok(q(&mut c, &["SET", "t", "1", "EX", "100"])));
    assert!(ok(q(&mut c, &["SELECT", "2"])));
    assert!(ok(q(&mut c, &["SET", "x", "1"])));
    let _: Option<String> = q(&mut c, &["GET", "x"]);
    let _: Option<String> = q(&mut c, &["GET", "nope"]);
    let ks: String = q(&mut c, &["INFO", "keyspace"]);
    assert!(
        info_field(&ks, "db0").is_some_and(|v| v.starts_with("keys=3,expires=1,")),
        "{ks}"
    );
    assert!(
        info_field(&ks, "db2").is_some_and(|v| v.starts_with("keys=1,expires=0,")),
        "{ks}"
    );
    assert!(
        info_field(&ks, "db1").is_none(),
        "empty dbs are not listed: {ks}"
    );
    let stats: String = q(&mut c, &["INFO", "stats"]);
    assert_eq!(info_field(&stats, "keyspace_hits").as_deref(), Some("1"));
    assert_eq!(info_field(&stats, "keyspace_misses").as_deref(), Some("1"));
    assert!(info_field(&stats, "total_commands_processed")
        .is_some_and(|n| n.parse::<u64>().is_ok_and(|n| n >= 6)));
}

#[test]
fn config_get_with_globs_and_set() {
    // CONFIG GET matches globs; CONFIG SET changes a value that CONFIG GET then shows.
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    let got: HashMap<String, String> = q(&mut c, &["CONFIG", "GET", "slowlog*"]);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(
        got.get("slowlog-log-slower-than").map(String::as_str),
        Some("10000")
    );
    assert_eq!(got.get("slowlog-max-len").map(String::as_str), Some("128"));
    let got: HashMap<String, String> = q(
        &mut c,
        &["CONFIG", "GET", "maxclients", "timeout", "*max-*"],
    );
    assert!(
        got.contains_key("maxclients")
            && got.contains_key("timeout")
            && got.contains_key("proto-max-bulk-len")
    );
    assert!(got.contains_key("slowlog-max-len"));
    let none: HashMap<String, String> = q(&mut c, &["CONFIG", "GET", "nosuch*"]);
    assert!(none.is_empty());
    // Names are case-insensitive.
    let upper: HashMap<String, String> = q(&mut c, &["CONFIG", "GET", "MAXCLIENTS"]);
    assert_eq!(upper.get("maxclients").map(String::as_str), Some("10000"));
    assert!(ok(q(
        &mut c,
        &["CONFIG", "SET", "maxclients", "500", "timeout", "30"]
    )));
    let got: HashMap<String, String> = q(&mut c, &["CONFIG", "GET", "maxclients", "timeout"]);
    assert_eq!(got.get("maxclients").map(String::as_str), Some("500"));
    assert_eq!(got.get("timeout").map(String::as_str), Some("30"));
    assert!(ok(q(
        &mut c,
        &["CONFIG", "SET", "proto-max-bulk-len", "2mb"]
    )));
    let got: HashMap<String, String> = q(&mut c, &["CONFIG", "GET", "proto-max-bulk-len"]);
    assert_eq!(
        got.get("proto-max-bulk-len").map(String::as_str),
        Some("2097152")
    );
}

#[test]
fn config_set_errors_change_nothing() {
    // Unknown names and bad values are refused, and a failing multi-set applies nothing.
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    assert_eq!(
        q_err(&mut c, &["CONFIG", "SET", "nosuchparam", "1"]),
        "ERR Unknown option or number of arguments for CONFIG SET - 'nosuchparam'"
    );
    let e = q_err(&mut c, &["CONFIG", "SET", "maxclients", "lots"]);
    assert!(
        e.starts_with("ERR CONFIG SET failed (possibly related to argument 'maxclients')"),
        "{e}"
    );
    let e = q_err(&mut c, &["CONFIG", "SET", "port", "1234"]);
    assert!(
        e.starts_with("ERR CONFIG SET failed (possibly related to argument 'port')")
            && e.contains("immutable"),
        "{e}"
    );
    let e = q_err(
        &mut c,
        &["CONFIG", "SET", "timeout", "5", "maxclients", "x"],
    );
    assert!(e.starts_with("ERR CONFIG SET failed"), "{e}");
    let got: HashMap<String, String> = q(&mut c, &["CONFIG", "GET", "timeout"]);
    assert_eq!(
        got.get("timeout").map(String::as_str),
        Some("0"),
        "a failed CONFIG SET applied part of itself"
    );
    assert_eq!(
        q_err(&mut c, &["CONFIG", "SET", "timeout"]),
        "ERR wrong number of arguments for 'config|set' command"
    );
    assert_eq!(
        q_err(&mut c, &["CONFIG", "GET"]),
        "ERR wrong number of arguments for 'config|get' command"
    );
    assert!(q_err(&mut c, &["CONFIG", "REWRITE"])
        .starts_with("ERR The server is running without a config file"));
}

#[test]
fn slowlog_records_slow_commands() {
    // With a 10 ms threshold, DEBUG SLEEP 0.05 is logged with its arguments and duration while
    // fast commands are not; SLOWLOG LEN/RESET count and clear.
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    assert!(ok(q(
        &mut c,
        &["CONFIG", "SET", "slowlog-log-slower-than", "10000"]
    )));
    assert!(ok(q(&mut c, &["SLOWLOG", "RESET"])));
    assert_eq!(q::<i64>(&mut c, &["SLOWLOG", "LEN"]), 0);
    assert!(ok(q(&mut c, &["CLIENT", "SETNAME", "sleeper"])));
    let _: String = q(&mut c, &["PING"]);
    let started = Instant::now();
    assert!(ok(q(&mut c, &["DEBUG", "SLEEP", "0.05"])));
    assert!(
        started.elapsed() >= Duration::from_millis(45),
        "DEBUG SLEEP 0.05 returned early"
    );
    assert_eq!(q::<i64>(&mut c, &["SLOWLOG", "LEN"]), 1);
    let log: R = q(&mut c, &["SLOWLOG", "GET"]);
    let R::Array(entries) = log else {
        panic!("SLOWLOG GET: {log:?}")
    };
    assert_eq!(entries.len(), 1);
    let R::Array(e) = &entries[0] else {
        panic!("entry: {:?}", entries[0])
    };
    assert_eq!(e.len(), 6, "{e:?}");
    assert!(matches!(e[0], R::Int(_)));
    assert!(
        matches!(e[1], R::Int(t) if (t - unix_ms() / 1000).abs() <= 5),
        "timestamp {:?}",
        e[1]
    );
    assert!(
        matches!(e[2], R::Int(us) if (45_000..5_000_000).contains(&us)),
        "duration {:?}",
        e[2]
    );
    let args: Vec<String> = redis::from_redis_value(&e[3]).expect("arguments");
    assert_eq!(args, ["DEBUG", "SLEEP", "0.05"]);
    let addr: String = redis::from_redis_value(&e[4]).expect("addr");
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    let name: String = redis::from_redis_value(&e[5]).expect("name");
    assert_eq!(name, "sleeper");
    // Threshold 0 logs everything; -1 nothing.
    assert!(ok(q(
        &mut c,
        &["CONFIG", "SET", "slowlog-log-slower-than", "-1"]
    )));
    assert!(ok(q(&mut c, &["DEBUG", "SLEEP", "0.02"])));
    assert_eq!(q::<i64>(&mut c, &["SLOWLOG", "LEN"]), 1);
    assert!(ok(q(
        &mut c,
        &["CONFIG", "SET", "slowlog-log-slower-than", "0"]
    )));
    let _: String = q(&mut c, &["ECHO", "fast"]);
    assert!(q::<i64>(&mut c, &["SLOWLOG", "LEN"]) >= 2);
    assert!(ok(q(&mut c, &["SLOWLOG", "RESET"])));
    assert!(q::<i64>(&mut c, &["SLOWLOG", "LEN"]) <= 1);
    assert_eq!(
        q_err(&mut c, &["SLOWLOG", "GET", "-2"]),
        "ERR count should be greater than or equal to -1"
    );
}

#[test]
fn slowlog_max_len_bounds_the_log() {
    // The slow log keeps at most slowlog-max-len entries, newest first.
    let vole = Vole::start(&["--slowlog-log-slower-than", "0", "--slowlog-max-len", "3"]);
    let mut c = vole.client();
    for i in 0..10 {
        let _: String = q(&mut c, &["ECHO", &format!("e{i}")]);
    }
    // SLOWLOG GET is itself logged, but only after it has answered.
    let log: Vec<(i64, i64, i64, Vec<String>, String, String)> =
        q(&mut c, &["SLOWLOG", "GET", "-1"]);
    let args: Vec<Vec<String>> = log.into_iter().map(|e| e.3).collect();
    assert_eq!(args, [["ECHO", "e9"], ["ECHO", "e8"], ["ECHO", "e7"]]);
    assert_eq!(q::<i64>(&mut c, &["SLOWLOG", "LEN"]), 3);
    let log: Vec<(i64, i64, i64, Vec<String>, String, String)> =
        q(&mut c, &["SLOWLOG", "GET", "1"]);
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].3, ["SLOWLOG", "LEN"]);
    // Entry ids keep increasing across the trimmed entries.
    assert!(log[0].0 >= 11, "id {}", log[0].0);
}

#[test]
fn config_get_port_is_the_bound_port() {
    // Started with --addr 127.0.0.1:0, CONFIG GET port reports the port vole actually listens on
    // (as Redis reports its real port), so clients can discover it.
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    let port: HashMap<String, String> = q(&mut c, &["CONFIG", "GET", "port"]);
    assert_eq!(port.get("port"), Some(&vole.addr.port().to_string()));
}

#[test]
fn config_resetstat_clears_counters() {
    // CONFIG RESETSTAT zeroes command statistics and the stats counters.
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    for _ in 0..5 {
        assert!(ok(q(&mut c, &["SET", "k", "v"])));
    }
    let _: Option<String> = q(&mut c, &["GET", "k"]);
    let stats: String = q(&mut c, &["INFO", "commandstats"]);
    assert!(
        info_field(&stats, "cmdstat_set").is_some_and(|s| s.starts_with("calls=5,")),
        "{stats}"
    );
    assert!(ok(q(&mut c, &["CONFIG", "RESETSTAT"])));
    let stats: String = q(&mut c, &["INFO", "commandstats"]);
    assert!(
        info_field(&stats, "cmdstat_set").is_none(),
        "cmdstat_set survived RESETSTAT: {stats}"
    );
    let s: String = q(&mut c, &["INFO", "stats"]);
    assert_eq!(info_field(&s, "keyspace_hits").as_deref(), Some("0"));
    assert!(
        info_field(&s, "total_commands_processed")
            .is_some_and(|n| n.parse::<u64>().is_ok_and(|n| n <= 2)),
        "{s}"
    );
}

#[test]
fn client_id_names_list_info_setinfo() {
    // CLIENT ID/SETNAME/GETNAME/LIST/INFO/SETINFO describe the connection consistently.
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    let mut other = vole.client();
    let id: i64 = q(&mut c, &["CLIENT", "ID"]);
    let other_id: i64 = q(&mut other, &["CLIENT", "ID"]);
    assert!(id > 0 && other_id > 0 && id != other_id);
    assert_eq!(q::<Option<String>>(&mut c, &["CLIENT", "GETNAME"]), None);
    assert!(ok(q(&mut c, &["CLIENT", "SETNAME", "worker-1"])));
    assert_eq!(
        q::<Option<String>>(&mut c, &["CLIENT", "GETNAME"]),
        Some("worker-1".into())
    );
    assert_eq!(
        q_err(&mut c, &["CLIENT", "SETNAME", "bad name"]),
        "ERR Client names cannot contain spaces, newlines or special characters."
    );
    // The redis crate announces itself with CLIENT SETINFO on connect.
    let info: String = q(&mut c, &["CLIENT", "INFO"]);
    let f = client_fields(&info);
    assert_eq!(f.get("id"), Some(&id.to_string()));
    assert_eq!(f.get("name").map(String::as_str), Some("worker-1"));
    assert_eq!(f.get("lib-name").map(String::as_str), Some("redis-rs"));
    assert_eq!(f.get("db").map(String::as_str), Some("0"));
    assert_eq!(f.get("cmd").map(String::as_str), Some("client|info"));
    assert!(f.get("addr").is_some_and(|a| a.starts_with("127.0.0.1:")));
    assert_eq!(f.get("laddr"), Some(&vole.addr.to_string()));
    assert!(ok(q(&mut c, &["CLIENT", "SETINFO", "LIB-NAME", "mylib"])));
    assert!(ok(q(&mut c, &["CLIENT", "SETINFO", "lib-ver", "1.2.3"])));
    assert!(q_err(&mut c, &["CLIENT", "SETINFO", "LIB-NAME", "has space"]).starts_with("ERR"));
    assert!(q_err(&mut c, &["CLIENT", "SETINFO", "bogus", "x"])
        .starts_with("ERR Unrecognized option 'bogus'"));
    let f = client_fields(&q::<String>(&mut c, &["CLIENT", "INFO"]));
    assert_eq!(f.get("lib-name").map(String::as_str), Some("mylib"));
    assert_eq!(f.get("lib-ver").map(String::as_str), Some("1.2.3"));
    // CLIENT LIST has a line per connection.
    let list: String = q(&mut other, &["CLIENT", "LIST"]);
    let lines: Vec<HashMap<String, String>> = list.lines().map(client_fields).collect();
    assert_eq!(lines.len(), 2, "{list}");
    let mine = lines
        .iter()
        .find(|l| l.get("id") == Some(&id.to_string()))
        .expect("c in CLIENT LIST");
    assert_eq!(mine.get("name").map(String::as_str), Some("worker-1"));
    assert!(lines
        .iter()
        .any(|l| l.get("id") == Some(&other_id.to_string())));
    let just: String = q(&mut other, &["CLIENT", "LIST", "ID", &id.to_string()]);
    assert_eq!(just.lines().count(), 1);
    let none: String = q(&mut other, &["CLIENT", "LIST", "TYPE", "pubsub"]);
    assert_eq!(none, "");
    // SELECT shows in the db field.
    assert!(ok(q(&mut c, &["SELECT", "4"])));
    let f = client_fields(&q::<String>(&mut c, &["CLIENT", "INFO"]));
    assert_eq!(f.get("db").map(String::as_str), Some("4"));
}

#[test]
fn client_kill_by_id_closes_that_connection() {
    // CLIENT KILL ID closes the named connection and replies 1; the killer stays connected.
    let vole = Vole::start(&[]);
    let mut victim = vole.raw();
    let Value::Int(vid) = victim.cmd(&["CLIENT", "ID"]) else {
        panic!("CLIENT ID")
    };
    let mut killer = vole.client();
    assert_eq!(
        q::<i64>(&mut killer, &["CLIENT", "KILL", "ID", &vid.to_string()]),
        1
    );
    assert!(victim.is_closed(), "killed connection still open");
    assert_eq!(
        q::<i64>(&mut killer, &["CLIENT", "KILL", "ID", &vid.to_string()]),
        0
    );
    assert_eq!(
        q::<i64>(&mut killer, &["CLIENT", "KILL", "ID", "999999"]),
        0
    );
    assert_eq!(q::<String>(&mut killer, &["PING"]), "PONG");
    // The killed client is gone from CLIENT LIST.
    let list: String = q(&mut killer, &["CLIENT", "LIST"]);
    assert!(
        !list
            .lines()
            .any(|l| client_fields(l).get("id") == Some(&vid.to_string())),
        "{list}"
    );
    // SKIPME yes (the default) protects the caller; SKIPME no does not.
    let my_id: i64 = q(&mut killer, &["CLIENT", "ID"]);
    assert_eq!(
        q::<i64>(&mut killer, &["CLIENT", "KILL", "ID", &my_id.to_string()]),
        0
    );
    let mut r = vole.raw();
    let Value::Int(rid) = r.cmd(&["CLIENT", "ID"]) else {
        panic!("CLIENT ID")
    };
    r.send(format!("CLIENT KILL ID {rid} SKIPME no\r\n").as_bytes());
    let reply = r.read();
    assert!(matches!(reply, None | Some(Value::Int(1))), "{reply:?}");
    assert!(r.is_closed());
    assert_eq!(
        q_err(&mut killer, &["CLIENT", "KILL", "ID", "0"]),
        "ERR client-id should be greater than 0"
    );
}

#[test]
fn client_kill_by_addr() {
    // CLIENT KILL ADDR (and the old CLIENT KILL ip:port form) close the connection from that
    // address; an unknown address is reported.
    let vole = Vole::start(&[]);
    let mut killer = vole.client();
    let mut victim = vole.raw();
    assert_eq!(victim.cmd(&["PING"]), simple("PONG"));
    let addr = victim.stream.local_addr().expect("local addr").to_string();
    assert_eq!(q::<i64>(&mut killer, &["CLIENT", "KILL", "ADDR", &addr]), 1);
    assert!(victim.is_closed());
    let mut victim = vole.raw();
    assert_eq!(victim.cmd(&["PING"]), simple("PONG"));
    let addr = victim.stream.local_addr().expect("local addr").to_string();
    assert!(ok(q(&mut killer, &["CLIENT", "KILL", &addr])));
    assert!(victim.is_closed());
    assert_eq!(
        q_err(&mut killer, &["CLIENT", "KILL", "127.0.0.1:1"]),
        "ERR No such client"
    );
    assert_eq!(
        q::<i64>(&mut killer, &["CLIENT", "KILL", "ADDR", "127.0.0.1:1"]),
        0
    );
}

#[test]
fn client_pause_write_holds_writes_but_not_reads() {
    // During CLIENT PAUSE 300 WRITE a SET from another client waits for the pause to end while
    // a GET is answered at once.
    let vole = Vole::start(&[]);
    let mut admin = vole.client();
    let mut c = vole.client();
    assert!(ok(q(&mut c, &["SET", "k", "before"])));
    assert!(ok(q(&mut admin, &["CLIENT", "PAUSE", "300", "WRITE"])));
    let paused_at = Instant::now();
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "before");
    let get_took = paused_at.elapsed();
    assert!(
        get_took < Duration::from_millis(200),
        "GET waited {get_took:?} during a WRITE pause"
    );
    assert!(ok(q(&mut c, &["SET", "k", "after"])));
    let set_took = paused_at.elapsed();
    assert!(
        set_took >= Duration::from_millis(200),
        "SET returned after {set_took:?}, during the pause"
    );
    assert!(set_took < Duration::from_secs(2), "SET waited {set_took:?}");
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "after");
    // Errors.
    assert_eq!(
        q_err(&mut admin, &["CLIENT", "PAUSE", "abc"]),
        "ERR timeout is not an integer or out of range"
    );
    assert_eq!(
        q_err(&mut admin, &["CLIENT", "PAUSE", "-1"]),
        "ERR timeout is negative"
    );
    assert_eq!(
        q_err(&mut admin, &["CLIENT", "PAUSE", "10", "SOME"]),
        "ERR syntax error"
    );
}

#[test]
fn client_pause_all_holds_reads_too() {
    // CLIENT PAUSE without WRITE holds every command from other clients until it ends.
    let vole = Vole::start(&[]);
    let mut admin = vole.client();
    let mut c = vole.client();
    assert!(ok(q(&mut admin, &["CLIENT", "PAUSE", "300"])));
    let paused_at = Instant::now();
    assert_eq!(q::<Option<String>>(&mut c, &["GET", "k"]), None);
    let took = paused_at.elapsed();
    assert!(
        took >= Duration::from_millis(200) && took < Duration::from_secs(2),
        "GET took {took:?}"
    );
}

#[test]
fn client_unpause_releases_waiting_writes() {
    // CLIENT UNPAUSE ends a long pause at once and the held SET completes.
    let vole = Vole::start(&[]);
    let mut admin = vole.client();
    let mut c = vole.client();
    assert!(ok(q(&mut admin, &["CLIENT", "PAUSE", "10000", "WRITE"])));
    let started = Instant::now();
    let writer = std::thread::spawn(move || {
        let r: R = q(&mut c, &["SET", "k", "v"]);
        (r, started.elapsed())
    });
    std::thread::sleep(Duration::from_millis(150));
    assert!(!writer.is_finished(), "SET did not wait for the pause");
    assert!(ok(q(&mut admin, &["CLIENT", "UNPAUSE"])));
    let (reply, took) = writer.join().expect("writer");
    assert!(ok(reply));
    assert!(
        took < Duration::from_secs(2),
        "SET waited {took:?} after UNPAUSE"
    );
    assert_eq!(q::<String>(&mut admin, &["GET", "k"]), "v");
}

#[test]
fn command_introspection_shapes() {
    // COMMAND COUNT/INFO/DOCS/LIST/GETKEYS return the shapes clients rely on.
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    let count: i64 = q(&mut c, &["COMMAND", "COUNT"]);
    assert!(count >= 50, "COMMAND COUNT {count}");
    let all: R = q(&mut c, &["COMMAND"]);
    assert!(
        matches!(&all, R::Array(a) if a.len() as i64 == count),
        "COMMAND has not COUNT entries"
    );
    // COMMAND LIST names subcommands too ("config|get"), so it is longer than COMMAND COUNT.
    let list: Vec<String> = q(&mut c, &["COMMAND", "LIST"]);
    let top = list.iter().filter(|n| !n.contains('|')).count();
    assert_eq!(top as i64, count);
    for name in [
        "get",
        "set",
        "scan",
        "client",
        "config",
        "ping",
        "config|get",
        "client|kill",
    ] {
        assert!(
            list.iter().any(|n| n == name),
            "{name} missing from COMMAND LIST"
        );
    }
    let filtered: Vec<String> = q(&mut c, &["COMMAND", "LIST", "FILTERBY", "PATTERN", "get*"]);
    assert!(
        filtered.iter().any(|n| n == "getrange") && filtered.iter().all(|n| n.starts_with("get")),
        "{filtered:?}"
    );
    // COMMAND INFO get: [name, arity, flags, first, last, step, acl categories, tips, key specs,
    // subcommands].
    let info: Vec<R> = q(&mut c, &["COMMAND", "INFO", "get", "nosuchcommand"]);
    assert_eq!(info.len(), 2);
    assert_eq!(info[1], R::Nil);
    let R::Array(get) = &info[0] else {
        panic!("COMMAND INFO get: {:?}", info[0])
    };
    assert_eq!(get.len(), 10, "{get:?}");
    assert_eq!(
        redis::from_redis_value::<String>(&get[0]).expect("name"),
        "get"
    );
    assert_eq!(get[1], R::Int(2));
    let flags: Vec<String> = redis::from_redis_value(&get[2]).expect("flags");
    assert!(flags.iter().any(|f| f == "readonly"), "{flags:?}");
    assert_eq!(
        (&get[3], &get[4], &get[5]),
        (&R::Int(1), &R::Int(1), &R::Int(1))
    );
    let cats: Vec<String> = redis::from_redis_value(&get[6]).expect("categories");
    assert!(
        cats.iter().any(|c| c == "@string") && cats.iter().any(|c| c == "@read"),
        "{cats:?}"
    );
    let set_info: Vec<R> = q(&mut c, &["COMMAND", "INFO", "SET"]);
    let R::Array(set) = &set_info[0] else {
        panic!("COMMAND INFO set")
    };
    assert_eq!(set[1], R::Int(-3));
    // COMMAND DOCS: name then a docs map with a summary.
    let docs: R = q(&mut c, &["COMMAND", "DOCS", "get"]);
    let pairs: Vec<(String, R)> = match &docs {
        R::Array(items) => items
            .chunks(2)
            .map(|kv| {
                (
                    redis::from_redis_value(&kv[0]).expect("name"),
                    kv[1].clone(),
                )
            })
            .collect(),
        R::Map(m) => m
            .iter()
            .map(|(k, v)| (redis::from_redis_value(k).expect("name"), v.clone()))
            .collect(),
        other => panic!("COMMAND DOCS: {other:?}"),
    };
    assert_eq!(pairs.len(), 1);
    assert_eq!(pairs[0].0, "get");
    let doc: HashMap<String, R> = redis::from_redis_value(&pairs[0].1).expect("docs map");
    assert!(
        doc.contains_key("summary") && doc.contains_key("since") && doc.contains_key("group"),
        "{doc:?}"
    );
    // COMMAND GETKEYS.
    assert_eq!(
        q::<Vec<String>>(&mut c, &["COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"]),
        ["a", "b"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["COMMAND", "GETKEYS", "SET", "k", "v", "EX", "10"]),
        ["k"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["COMMAND", "GETKEYS", "COPY", "s", "d"]),
        ["s", "d"]
    );
    assert_eq!(
        q_err(&mut c, &["COMMAND", "GETKEYS", "PING", "x"]),
        "ERR The command has no key arguments"
    );
    assert_eq!(
        q_err(&mut c, &["COMMAND", "GETKEYS", "NOSUCH", "x"]),
        "ERR Invalid command specified"
    );
    assert_eq!(
        q_err(&mut c, &["COMMAND", "GETKEYS", "GET", "a", "b"]),
        "ERR Invalid number of arguments specified for command"
    );
    // COMMAND GETKEYS itself needs a command and at least one argument (arity -4).
    assert_eq!(
        q_err(&mut c, &["COMMAND", "GETKEYS", "GET"]),
        "ERR wrong number of arguments for 'command|getkeys' command"
    );
}

#[test]
fn acl_whoami_list_cat() {
    // ACL WHOAMI/LIST/CAT describe the single default user and the command categories.
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    assert_eq!(q::<String>(&mut c, &["ACL", "WHOAMI"]), "default");
    let users: Vec<String> = q(&mut c, &["ACL", "LIST"]);
    assert_eq!(users.len(), 1);
    assert!(
        users[0].starts_with("user default on nopass"),
        "{}",
        users[0]
    );
    let cats: Vec<String> = q(&mut c, &["ACL", "CAT"]);
    for cat in [
        "keyspace",
        "read",
        "write",
        "string",
        "fast",
        "slow",
        "admin",
        "dangerous",
        "connection",
    ] {
        assert!(
            cats.iter().any(|x| x == cat),
            "ACL CAT lacks {cat}: {cats:?}"
        );
    }
    let string_cmds: Vec<String> = q(&mut c, &["ACL", "CAT", "string"]);
    assert!(
        string_cmds.iter().any(|x| x == "get") && string_cmds.iter().any(|x| x == "incrbyfloat")
    );
    assert!(!string_cmds.iter().any(|x| x == "ping"));
    assert_eq!(
        q_err(&mut c, &["ACL", "CAT", "nosuch"]),
        "ERR Unknown category 'nosuch'"
    );
    // With a password the rule is its SHA-256.
    let secured = Vole::start(&["--requirepass", "pw"]);
    let mut r = secured.raw();
    assert_eq!(r.cmd(&["AUTH", "pw"]), simple("OK"));
    let list = r.cmd(&["ACL", "LIST"]);
    let Value::Array(items) = list else {
        panic!("ACL LIST: {list:?}")
    };
    let line = text(&items[0]);
    assert!(
        line.starts_with(
            "user default on #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4"
        ),
        "{line}"
    );
}

#[test]
fn requirepass_gates_every_command() {
    // With --requirepass, commands before AUTH get NOAUTH, a wrong password WRONGPASS, and the
    // right one unlocks the connection (both AUTH forms, and HELLO 3 AUTH).
    let vole = Vole::start(&["--requirepass", "s3cret"]);
    let mut r = vole.raw();
    let noauth = r.cmd(&["GET", "k"]);
    assert!(
        matches!(&noauth, Value::Error(e) if e == "NOAUTH Authentication required."),
        "{noauth:?}"
    );
    assert!(is_err(
        &r.cmd(&["SET", "k", "v"]),
        "NOAUTH Authentication required."
    ));
    assert!(is_err(&r.cmd(&["NOSUCHCMD"]), "ERR unknown command"));
    let wrong = r.cmd(&["AUTH", "nope"]);
    assert!(
        matches!(&wrong, Value::Error(e) if e == "WRONGPASS invalid username-password pair or user is disabled."),
        "{wrong:?}"
    );
    assert!(is_err(&r.cmd(&["AUTH", "admin", "s3cret"]), "WRONGPASS"));
    assert!(is_err(&r.cmd(&["PING"]), "NOAUTH"));
    assert_eq!(r.cmd(&["AUTH", "s3cret"]), simple("OK"));
    assert_eq!(r.cmd(&["SET", "k", "v"]), simple("OK"));
    assert_eq!(r.cmd(&["GET", "k"]), bulk("v"));
    let mut r2 = vole.raw();
    assert_eq!(r2.cmd(&["AUTH", "default", "s3cret"]), simple("OK"));
    assert_eq!(r2.cmd(&["GET", "k"]), bulk("v"));
    let mut r3 = vole.raw();
    let hello = r3.cmd(&["HELLO", "3", "AUTH", "default", "s3cret"]);
    assert!(matches!(hello, Value::Map(_)), "{hello:?}");
    assert_eq!(r3.cmd(&["GET", "k"]), bulk("v"));
    // The redis crate with the password in the URL.
    let url = format!("redis://:s3cret@{}/", vole.addr);
    let mut c = redis::Client::open(url)
        .expect("client")
        .get_connection()
        .expect("connect with password");
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "v");
    // CONFIG SET requirepass changes the password for new AUTHs.
    assert!(ok(q(&mut c, &["CONFIG", "SET", "requirepass", "other"])));
    let mut r4 = vole.raw();
    assert!(is_err(&r4.cmd(&["AUTH", "s3cret"]), "WRONGPASS"));
    assert_eq!(r4.cmd(&["AUTH", "other"]), simple("OK"));
}

#[test]
fn auth_without_password_configured() {
    // AUTH when no password is set explains the misconfiguration.
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    assert_eq!(
        q_err(&mut c, &["AUTH", "x"]),
        "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
    );
    assert!(ok(q(&mut c, &["AUTH", "default", "anything"])));
}

#[test]
fn swapdb_points_to_namespaces() {
    // SWAPDB is refused with a message that points to namespaces.
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    let e = q_err(&mut c, &["SWAPDB", "0", "1"]);
    assert!(
        e.starts_with("ERR") && e.to_lowercase().contains("namespace"),
        "{e}"
    );
}

#[test]
fn debug_sleep_and_error() {
    // DEBUG SLEEP blocks for the time asked; DEBUG ERROR replies with the given error.
    let vole = Vole::start(&[]);
    let mut c = vole.client();
    let started = Instant::now();
    assert!(ok(q(&mut c, &["DEBUG", "SLEEP", "0.1"])));
    assert!(started.elapsed() >= Duration::from_millis(95));
    assert!(ok(q(&mut c, &["DEBUG", "SLEEP", "0"])));
    assert_eq!(
        q_err(&mut c, &["DEBUG", "SLEEP", "abc"]),
        "ERR value is not a valid float"
    );
    let mut r = vole.raw();
    let e = r.cmd(&["DEBUG", "ERROR", "CUSTOM oops"]);
    assert!(matches!(&e, Value::Error(t) if t == "CUSTOM oops"), "{e:?}");
}

#[test]
fn shutdown_nosave_exits_the_process() {
    // SHUTDOWN NOSAVE makes vole exit cleanly and stop accepting connections.
    let mut vole = Vole::start(&[]);
    let mut r = vole.raw();
    r.send(b"SHUTDOWN NOSAVE\r\n");
    assert!(r.is_closed(), "the connection should close without a reply");
    let exited = wait_until(Duration::from_secs(5), || {
        matches!(vole.child.try_wait(), Ok(Some(_)))
    });
    assert!(exited, "vole still running 5 s after SHUTDOWN NOSAVE");
    let status = vole.child.wait().expect("wait");
    assert!(status.success(), "exit status {status:?}");
    assert!(
        std::net::TcpStream::connect(vole.addr).is_err(),
        "port still accepting"
    );
    // SHUTDOWN with a bad option or ABORT does nothing.
    let vole2 = Vole::start(&[]);
    let mut c = vole2.client();
    assert_eq!(q_err(&mut c, &["SHUTDOWN", "BOGUS"]), "ERR syntax error");
    assert_eq!(
        q_err(&mut c, &["SHUTDOWN", "ABORT"]),
        "ERR No shutdown in progress."
    );
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
}

#[test]
fn idle_clients_are_closed_after_timeout() {
    // With CONFIG SET timeout 1, an idle connection is closed within a couple of seconds while
    // one that keeps sending commands stays open.
    let vole = Vole::start(&[]);
    let mut admin = vole.client();
    assert!(ok(q(&mut admin, &["CONFIG", "SET", "timeout", "1"])));
    let mut idle = vole.raw();
    assert_eq!(idle.cmd(&["PING"]), simple("PONG"));
    let watcher = std::thread::spawn(move || {
        let started = Instant::now();
        idle.stream
            .set_read_timeout(Some(Duration::from_millis(3500)))
            .expect("timeout");
        let mut b = [0u8; 1];
        let closed = matches!(
            std::io::Read::read(&mut idle.stream, &mut b),
            Ok(0) | Err(_)
        );
        (closed, started.elapsed())
    });
    let mut busy = vole.raw();
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(2500) {
        assert_eq!(busy.cmd(&["PING"]), simple("PONG"));
        std::thread::sleep(Duration::from_millis(200));
    }
    let (closed, took) = watcher.join().expect("watcher");
    assert!(
        closed && took >= Duration::from_millis(900) && took < Duration::from_millis(3500),
        "idle close after {took:?}"
    );
    assert_eq!(busy.cmd(&["PING"]), simple("PONG"));
}

#[test]
fn clients_on_different_connection_threads_reach_each_other() {
    // With several connection threads, consecutive connections land on different ones: a
    // push wakes a BLPOP on another thread, a message reaches a subscriber on another
    // thread, CLIENT KILL and CLIENT PAUSE act across threads, and a transaction on one is
    // seen whole by readers on the others.
    let vole = Vole::start(&["--io-threads", "3"]);
    let mut waiter = vole.raw();
    let mut sub = vole.raw();
    let mut victim = vole.raw();
    let mut c = vole.raw();

    waiter.send_cmd(&[b"BLPOP", b"q", b"5"]);
    assert_eq!(sub.cmd(&["SUBSCRIBE", "ch"]), sub_confirm());
    assert!(wait_until(Duration::from_secs(5), || {
        text(&c.cmd(&["INFO", "clients"])).contains("blocked_clients:1")
    }));
    assert_eq!(c.cmd(&["RPUSH", "q", "x"]), Value::Int(1));
    assert_eq!(
        waiter.read().expect("BLPOP reply"),
        Value::Array(vec![bulk("q"), bulk("x")])
    );
    assert_eq!(c.cmd(&["PUBLISH", "ch", "hello"]), Value::Int(1));
    assert_eq!(
        sub.read().expect("message"),
        Value::Array(vec![bulk("message"), bulk("ch"), bulk("hello")])
    );

    assert_eq!(c.cmd(&["CLIENT", "PAUSE", "300", "WRITE"]), simple("OK"));
    let paused_at = Instant::now();
    assert_eq!(waiter.cmd(&["SET", "p", "1"]), simple("OK"));
    assert!(paused_at.elapsed() >= Duration::from_millis(200));

    let Value::Int(vid) = victim.cmd(&["CLIENT", "ID"]) else {
        panic!("CLIENT ID")
    };
    assert_eq!(
        c.cmd(&["CLIENT", "KILL", "ID", &vid.to_string()]),
        Value::Int(1)
    );
    assert!(victim.is_closed(), "killed connection still open");

    // Readers on the other threads never see half of a transaction.
    c.cmd(&["MSET", "a", "0", "b", "0"]);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let mut r = vole.raw();
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let v = r.cmd(&["MGET", "a", "b"]);
                    let Value::Array(items) = v else {
                        panic!("{v:?}")
                    };
                    assert_eq!(items[0], items[1], "half a transaction seen");
                }
            })
        })
        .collect();
    for i in 1..=200 {
        let n = i.to_string();
        c.cmd(&["MULTI"]);
        c.cmd(&["SET", "a", &n]);
        c.cmd(&["SET", "b", &n]);
        assert!(matches!(c.cmd(&["EXEC"]), Value::Array(_)));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for r in readers {
        r.join().expect("reader");
    }
}

fn sub_confirm() -> Value {
    Value::Array(vec![bulk("subscribe"), bulk("ch"), Value::Int(1)])
}
