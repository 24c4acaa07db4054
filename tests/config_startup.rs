//! Starting `vole`: the --help text, config files (applied, refused with the line number),
//! flags overriding the file, and the client limit.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{is_err, temp_dir, wait_until, Raw, Vole};
use vole_engine::resp::Value;

fn simple(s: &'static str) -> Value {
    Value::Simple(bytes::Bytes::from_static(s.as_bytes()))
}

/// Run vole with `args` and expect it to exit on its own within 10 s; its output.
fn run_to_exit(args: &[&str]) -> Output {
    let dir = temp_dir("startup");
    let mut child = Command::new(env!("CARGO_BIN_EXE_vole"))
        .args(["--addr", "127.0.0.1:0", "--dir"])
        .arg(&dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn vole");
    let exited = wait_until(Duration::from_secs(10), || {
        matches!(child.try_wait(), Ok(Some(_)))
    });
    if !exited {
        let _ = child.kill();
    }
    let out = child.wait_with_output().expect("wait");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        exited,
        "vole {args:?} kept running; stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    out
}

/// Write a config file with `text` into a fresh directory; its path.
fn config_file(text: &str) -> std::path::PathBuf {
    let path = temp_dir("conf").join("vole.conf");
    std::fs::write(&path, text).expect("write config");
    path
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// CONFIG GET of one name over a raw connection.
fn config_get(r: &mut Raw, name: &str) -> String {
    match r.cmd(&["CONFIG", "GET", name]) {
        Value::Array(a) if a.len() == 2 => common::text(&a[1]),
        other => panic!("CONFIG GET {name}: {other:?}"),
    }
}

#[test]
fn help_lists_every_flag_and_exits_zero() {
    // `vole --help` succeeds and documents --addr, --dir, --requirepass and --config.
    let out = Command::new(env!("CARGO_BIN_EXE_vole"))
        .arg("--help")
        .output()
        .expect("run vole --help");
    assert!(out.status.success(), "exit status {:?}", out.status);
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--addr",
        "--dir",
        "--requirepass",
        "--config",
        "--maxclients",
    ] {
        assert!(
            help.contains(flag),
            "--help does not mention {flag}:\n{help}"
        );
    }
    let out = Command::new(env!("CARGO_BIN_EXE_vole"))
        .arg("--version")
        .output()
        .expect("run vole --version");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn config_file_settings_apply() {
    // `requirepass` and `maxclients` from a config file take effect (NOAUTH before AUTH,
    // CONFIG GET shows 7), and comments, blank lines and quotes are understood.
    let path = config_file("# a comment\n\nrequirepass x\nmaxclients 7\nslowlog-max-len \"42\"\n");
    let vole = Vole::start(&["--config", path_str(&path)]);
    let mut r = vole.raw();
    assert!(is_err(
        &r.cmd(&["CONFIG", "GET", "maxclients"]),
        "NOAUTH Authentication required."
    ));
    assert!(is_err(&r.cmd(&["AUTH", "wrong"]), "WRONGPASS"));
    assert_eq!(r.cmd(&["AUTH", "x"]), simple("OK"));
    assert_eq!(config_get(&mut r, "maxclients"), "7");
    assert_eq!(config_get(&mut r, "slowlog-max-len"), "42");
    assert_eq!(config_get(&mut r, "requirepass"), "x");
}

#[test]
fn quoted_password_with_space_in_file() {
    // A quoted value keeps its inner space.
    let path = config_file("requirepass \"s3 cret\"\n");
    let vole = Vole::start(&["--config", path_str(&path)]);
    let mut r = vole.raw();
    assert_eq!(r.cmd(&["AUTH", "s3 cret"]), simple("OK"));
}

#[test]
fn unknown_option_in_file_fails_with_line_number() {
    // An unknown name in the config file stops vole with a non-zero status and names the line.
    let path = config_file("maxclients 5\n# comment\nbogus-option 1\n");
    let out = run_to_exit(&["--config", path_str(&path)]);
    assert!(!out.status.success(), "vole started with an unknown option");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 3"), "stderr does not name line 3: {err}");
    assert!(
        err.contains("bogus-option"),
        "stderr does not name the option: {err}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("listening on"));
}

#[test]
fn bad_value_in_file_fails_with_line_number() {
    // A value that does not parse (`maxclients lots`) stops vole and names the line.
    let path = config_file("requirepass x\nmaxclients lots\n");
    let out = run_to_exit(&["--config", path_str(&path)]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 2") && err.contains("maxclients"),
        "stderr: {err}"
    );
    // Out of range, too.
    let path = config_file("maxclients 0\n");
    let out = run_to_exit(&["--config", path_str(&path)]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 1"));
}

#[test]
fn missing_config_file_and_bad_flags_fail() {
    // A config file that does not exist, a bad flag value or an unknown flag stop vole.
    let out = run_to_exit(&["--config", "/nonexistent/vole.conf"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/vole.conf"));
    let out = run_to_exit(&["--maxclients", "lots"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("maxclients"));
    let out = run_to_exit(&["--no-such-flag"]);
    assert!(!out.status.success());
}

#[test]
fn command_line_flags_override_the_file() {
    // Values given as flags win over the same names in the file; other file values still apply.
    let path =
        config_file("addr 127.0.0.1:1\nrequirepass fromfile\nmaxclients 7\nslowlog-max-len 5\n");
    let vole = Vole::start(&[
        "--config",
        path_str(&path),
        "--maxclients",
        "9",
        "--requirepass",
        "fromflag",
    ]);
    assert_ne!(
        vole.addr.port(),
        1,
        "--addr from the command line must win over the file"
    );
    let mut r = vole.raw();
    assert!(is_err(&r.cmd(&["AUTH", "fromfile"]), "WRONGPASS"));
    assert_eq!(r.cmd(&["AUTH", "fromflag"]), simple("OK"));
    assert_eq!(config_get(&mut r, "maxclients"), "9");
    assert_eq!(config_get(&mut r, "slowlog-max-len"), "5");
}

#[test]
fn maxclients_refuses_the_extra_connection() {
    // With --maxclients 2 the third connection gets "-ERR max number of clients reached" and is
    // closed; once a client leaves, a new one is accepted.
    let vole = Vole::start(&["--maxclients", "2"]);
    let mut a = vole.raw();
    let mut b = vole.raw();
    assert_eq!(a.cmd(&["PING"]), simple("PONG"));
    assert_eq!(b.cmd(&["PING"]), simple("PONG"));
    let mut c = vole.raw();
    let reply = c.read().expect("an error before the close");
    assert!(
        matches!(&reply, Value::Error(e) if e == "ERR max number of clients reached"),
        "{reply:?}"
    );
    assert!(c.is_closed());
    assert_eq!(
        a.cmd(&["PING"]),
        simple("PONG"),
        "existing clients are unaffected"
    );
    drop(b);
    let admitted = wait_until(Duration::from_secs(3), || {
        let mut d = vole.raw();
        d.send(b"PING\r\n");
        matches!(d.read(), Some(v) if v == simple("PONG"))
    });
    assert!(
        admitted,
        "a slot did not free up after a client disconnected"
    );
    let stats = common::text(&a.cmd(&["INFO", "stats"]));
    assert!(
        !stats.contains("rejected_connections:0\r"),
        "rejected_connections not counted: {stats}"
    );
}

#[test]
fn io_threads_flag_sets_the_worker_count_and_rejects_zero() {
    // --io-threads is applied (CONFIG GET shows it) and an out-of-range value stops start-up.
    let vole = Vole::start(&["--io-threads", "1"]);
    let mut r = vole.raw();
    assert_eq!(
        r.cmd(&["CONFIG", "GET", "io-threads"]),
        Value::Array(vec![common::bulk("io-threads"), common::bulk("1")])
    );
    assert!(is_err(
        &r.cmd(&["CONFIG", "SET", "io-threads", "2"]),
        "ERR CONFIG SET failed"
    ));
    let out = run_to_exit(&["--io-threads", "0"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("io-threads"));
}
