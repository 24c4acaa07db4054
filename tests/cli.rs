//! `vole-cli` end to end: the real binary against a real `vole` (reply formats in RESP2 and
//! RESP3, exit codes, auth, -n, -x, -r/-i, --pipe, stdin lines, the shell in a pty, MONITOR,
//! help), against a TLS endpoint, and side by side with `redis-cli` against `redis-server`
//! (the same commands must print the same bytes).
//!
//! vole-cli is found next to the `vole` binary: `cargo test --workspace` builds both.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Raw, Redis, Vole};

/// Longest any one vole-cli run may take before the test kills it and fails.
const RUN_LIMIT: Duration = Duration::from_secs(60);

fn cli_path() -> PathBuf {
    let vole = PathBuf::from(env!("CARGO_BIN_EXE_vole"));
    let cli = vole.with_file_name(format!("vole-cli{}", std::env::consts::EXE_SUFFIX));
    assert!(
        cli.exists(),
        "{} not built: run `cargo test --workspace` or `cargo build -p vole-tools`",
        cli.display()
    );
    cli
}

/// What one run printed.
struct Out {
    code: i32,
    out: Vec<u8>,
    err: String,
}

impl Out {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.out).into_owned()
    }
}

/// Waits for `child` with a limit, killing it (and failing) past the limit.
fn wait_output(mut child: Child, what: &str) -> Out {
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stdout.read_to_end(&mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stderr.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + RUN_LIMIT;
    let status = loop {
        if let Ok(Some(s)) = child.try_wait() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not finish within {RUN_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Out {
        code: status.code().unwrap_or(-1),
        out: t_out.join().unwrap_or_default(),
        err: String::from_utf8_lossy(&t_err.join().unwrap_or_default()).into_owned(),
    }
}

/// Runs `bin args` with `stdin` (empty when None) and extra environment.
fn run_bin(
    bin: &std::path::Path,
    args: &[&str],
    stdin: Option<&[u8]>,
    env: &[(&str, &str)],
) -> Out {
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .env_remove("VOLECLI_AUTH")
        .env_remove("REDISCLI_AUTH")
        .env("VOLECLI_HISTFILE", "/dev/null")
        .env("REDISCLI_HISTFILE", "/dev/null")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {}: {e}", bin.display()));
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.unwrap_or_default().to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = wait_output(child, &format!("{} {args:?}", bin.display()));
    let _ = feeder.join();
    out
}

fn cli(port: u16, args: &[&str]) -> Out {
    cli_in(port, args, None, &[])
}

fn cli_in(port: u16, args: &[&str], stdin: Option<&[u8]>, env: &[(&str, &str)]) -> Out {
    let p = port.to_string();
    let mut all = vec!["-p", p.as_str()];
    all.extend_from_slice(args);
    run_bin(&cli_path(), &all, stdin, env)
}

#[test]
fn cli_formats_every_reply_type_like_redis_cli() {
    // Against vole, in RESP2 and RESP3: status, bulk (with escapes), nil, integer, error,
    // arrays (numbered, nested, empty), maps, sets, doubles, verbatim strings; tty and raw.
    let v = Vole::start(&[]);
    let p = v.addr.port();
    let tty = |args: &[&str]| cli(p, &[&["--no-raw"], args].concat()).text();
    assert_eq!(tty(&["SET", "hello", "world"]), "OK\n");
    assert_eq!(tty(&["GET", "hello"]), "\"world\"\n");
    assert_eq!(tty(&["GET", "nope"]), "(nil)\n");
    assert_eq!(tty(&["INCR", "n"]), "(integer) 1\n");
    assert_eq!(tty(&["SET", "esc", "a\"b\\c\n\x01\u{e9}"]), "OK\n");
    assert_eq!(tty(&["GET", "esc"]), "\"a\\\"b\\\\c\\n\\x01\\xc3\\xa9\"\n");
    assert_eq!(tty(&["RPUSH", "l", "a", "b c"]), "(integer) 2\n");
    assert_eq!(tty(&["LRANGE", "l", "0", "-1"]), "1) \"a\"\n2) \"b c\"\n");
    assert_eq!(tty(&["LRANGE", "none", "0", "-1"]), "(empty array)\n");
    let mut args = vec!["RPUSH", "big"];
    let items: Vec<String> = (1..=11).map(|i| i.to_string()).collect();
    args.extend(items.iter().map(|s| s.as_str()));
    tty(&args);
    let big = tty(&["LRANGE", "big", "0", "-1"]);
    assert!(
        big.starts_with(" 1) \"1\"\n 2) \"2\"\n") && big.ends_with("\n11) \"11\"\n"),
        "{big}"
    );
    assert_eq!(tty(&["HSET", "h", "f", "v"]), "(integer) 1\n");
    assert_eq!(tty(&["HGETALL", "h"]), "1) \"f\"\n2) \"v\"\n");
    assert_eq!(tty(&["-3", "HGETALL", "h"]), "1# \"f\" => \"v\"\n");
    assert_eq!(tty(&["-3", "HGETALL", "none"]), "(empty hash)\n");
    assert_eq!(tty(&["SADD", "s", "m"]), "(integer) 1\n");
    assert_eq!(tty(&["-3", "SMEMBERS", "s"]), "1~ \"m\"\n");
    assert_eq!(tty(&["ZADD", "z", "1.5", "a", "2", "b"]), "(integer) 2\n");
    assert_eq!(tty(&["ZSCORE", "z", "a"]), "\"1.5\"\n");
    assert_eq!(tty(&["-3", "ZSCORE", "z", "a"]), "(double) 1.5\n");
    assert_eq!(
        tty(&["-3", "ZRANGE", "z", "0", "-1", "WITHSCORES"]),
        "1) 1) \"a\"\n   2) (double) 1.5\n2) 1) \"b\"\n   2) (double) 2\n"
    );
    let info = tty(&["-3", "CLIENT", "INFO"]);
    assert!(
        info.starts_with("id=") && !info.starts_with('"'),
        "verbatim: {info}"
    );
    let err = cli(p, &["--no-raw", "NOSUCH", "x"]);
    assert_eq!(
        err.text(),
        "(error) ERR unknown command 'NOSUCH', with args beginning with: 'x' \n"
    );
    assert_eq!(err.code, 1);
    // Raw (stdout is a pipe): bare values, elements one per line, pairs with a space.
    let raw = |args: &[&str]| cli(p, args).text();
    assert_eq!(raw(&["GET", "hello"]), "world\n");
    assert_eq!(raw(&["GET", "nope"]), "\n");
    assert_eq!(raw(&["INCR", "n"]), "2\n");
    assert_eq!(raw(&["LRANGE", "l", "0", "-1"]), "a\nb c\n");
    assert_eq!(raw(&["-3", "HGETALL", "h"]), "f v\n");
    assert_eq!(raw(&["-3", "ZSCORE", "z", "a"]), "1.5\n");
    assert_eq!(
        raw(&["NOSUCH"]),
        "ERR unknown command 'NOSUCH', with args beginning with: \n\n"
    );
    assert_eq!(raw(&["--csv", "LRANGE", "l", "0", "-1"]), "\"a\",\"b c\"\n");
    assert_eq!(raw(&["--no-raw", "--raw", "GET", "hello"]), "world\n");
}

#[test]
fn cli_exit_codes_and_connection_errors() {
    // 0 on success, 1 on an error reply, 1 with a one-line message when nothing listens.
    let v = Vole::start(&[]);
    let p = v.addr.port();
    assert_eq!(cli(p, &["PING"]).code, 0);
    assert_eq!(cli(p, &["GET"]).code, 1);
    let closed = common::free_port();
    let r = cli(closed, &["PING"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.err,
        format!("Could not connect to Redis at 127.0.0.1:{closed}: Connection refused\n")
    );
    assert!(r.out.is_empty());
    let bad = cli(p, &["--no-such-flag"]);
    assert_ne!(bad.code, 0);
    let help = run_bin(&cli_path(), &["--help"], None, &[]);
    assert_eq!(help.code, 0);
    for flag in [
        "-h <HOSTNAME>",
        "-p <PORT>",
        "--pass",
        "--user",
        "-u <URI>",
        "--tls",
        "--cacert",
        "--insecure",
        "-r <COUNT>",
        "-i <SECONDS>",
        "-x",
        "--raw",
        "--no-raw",
        "--csv",
        "--pipe",
        "VOLECLI_AUTH",
    ] {
        assert!(help.text().contains(flag), "--help lacks {flag}");
    }
}

#[test]
fn cli_auth_from_flags_uri_and_environment() {
    // -a, --user/--pass, -u with a password, VOLECLI_AUTH and REDISCLI_AUTH all authenticate;
    // a wrong password fails the connection with AUTH failed.
    let v = Vole::start(&["--requirepass", "s3cret"]);
    let p = v.addr.port();
    let noauth = cli(p, &["GET", "k"]);
    assert!(noauth.text().starts_with("NOAUTH"), "{}", noauth.text());
    assert_eq!(noauth.code, 1);
    let a = cli(p, &["-a", "s3cret", "PING"]);
    assert_eq!((a.code, a.text().as_str()), (0, "PONG\n"));
    assert!(a.err.contains("Warning: Using a password"), "{}", a.err);
    let quiet = cli(p, &["-a", "s3cret", "--no-auth-warning", "PING"]);
    assert!(quiet.err.is_empty(), "{}", quiet.err);
    assert_eq!(
        cli(p, &["--user", "default", "--pass", "s3cret", "PING"]).text(),
        "PONG\n"
    );
    let uri = format!("redis://:s3cret@127.0.0.1:{p}/0");
    assert_eq!(
        run_bin(&cli_path(), &["-u", &uri, "PING"], None, &[]).text(),
        "PONG\n"
    );
    for var in ["VOLECLI_AUTH", "REDISCLI_AUTH"] {
        let r = cli_in(p, &["PING"], None, &[(var, "s3cret")]);
        assert_eq!((r.text().as_str(), r.err.as_str()), ("PONG\n", ""), "{var}");
    }
    let wrong = cli(p, &["-a", "nope", "--no-auth-warning", "PING"]);
    assert_eq!(wrong.code, 1);
    assert!(wrong.err.starts_with("AUTH failed: "), "{}", wrong.err);
}

#[test]
fn cli_db_stdin_argument_and_repeat() {
    // -n selects a database, -x reads the last argument from stdin, -r/-i repeat with a pause.
    let v = Vole::start(&[]);
    let p = v.addr.port();
    assert_eq!(cli(p, &["-n", "2", "SET", "k", "in2"]).text(), "OK\n");
    assert_eq!(cli(p, &["GET", "k"]).text(), "\n");
    assert_eq!(cli(p, &["-n", "2", "GET", "k"]).text(), "in2\n");
    let bad_db = cli(p, &["-n", "99", "PING"]);
    assert!(
        bad_db.err.starts_with("SELECT 99 failed: ERR"),
        "{}",
        bad_db.err
    );
    let blob = b"line one\nline\x00two";
    assert_eq!(
        cli_in(p, &["-x", "SET", "blob"], Some(blob), &[]).text(),
        "OK\n"
    );
    assert_eq!(
        cli(p, &["STRLEN", "blob"]).text(),
        format!("{}\n", blob.len())
    );
    let started = Instant::now();
    assert_eq!(
        cli(p, &["-r", "3", "-i", "0.2", "INCR", "c"]).text(),
        "1\n2\n3\n"
    );
    assert!(started.elapsed() >= Duration::from_millis(600));
}

#[test]
fn cli_pipe_mass_insert_100k() {
    // --pipe sends 100k SETs (and one bad command) as raw RESP, counts every reply and the
    // error, and exits 1 because of the error.
    let v = Vole::start(&[]);
    let p = v.addr.port();
    let mut input = Vec::new();
    for i in 0..100_000 {
        let k = format!("key:{i}");
        let val = format!("value:{i}");
        input.extend_from_slice(
            format!(
                "*3\r\n$3\r\nSET\r\n${}\r\n{k}\r\n${}\r\n{val}\r\n",
                k.len(),
                val.len()
            )
            .as_bytes(),
        );
    }
    let started = Instant::now();
    let ok = cli_in(p, &["--pipe"], Some(&input), &[]);
    let took = started.elapsed();
    eprintln!("--pipe 100k SETs: {took:?}");
    assert_eq!(
        ok.text(),
        "All data transferred. Waiting for the last reply...\nLast reply received from server.\nerrors: 0, replies: 100000\n"
    );
    assert_eq!(ok.code, 0);
    assert_eq!(cli(p, &["DBSIZE"]).text(), "100000\n");
    let bad = cli_in(
        p,
        &["--pipe"],
        Some(b"*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nNOPE\r\n"),
        &[],
    );
    assert!(
        bad.text().ends_with("errors: 1, replies: 2\n"),
        "{}",
        bad.text()
    );
    assert!(
        bad.err.starts_with("ERR unknown command 'NOPE'"),
        "{}",
        bad.err
    );
    assert_eq!(bad.code, 1);
}

#[test]
fn cli_runs_stdin_lines() {
    // Without a command and with stdin not a terminal, each line is a command (quoted as at
    // the prompt; a leading number repeats it); `quit` ends; no prompt is printed.
    let v = Vole::start(&[]);
    let p = v.addr.port();
    let script =
        b"set \"a b\" 'x y'\nget \"a b\"\n\n2 incr n\nselect 3\nset k v\nnosuch\nquit\nget k\n";
    let r = cli_in(p, &["--no-raw"], Some(script), &[]);
    assert_eq!(
        r.text(),
        "OK\n\"x y\"\n(integer) 1\n(integer) 2\nOK\nOK\n(error) ERR unknown command 'nosuch', with args beginning with: \n"
    );
    assert_eq!(r.code, 1, "an error reply makes the exit code 1");
    assert_eq!(cli(p, &["-n", "3", "GET", "k"]).text(), "v\n");
    assert_eq!(cli_in(p, &[], Some(b"help get\n"), &[]).code, 0);
}

#[test]
fn cli_help_lists_seed_commands_by_group() {
    // help comes from the command tables: a seed command the server lacks is listed under
    // its group with syntax and summary; an implemented one under its Redis group.
    let help = run_bin(&cli_path(), &["help", "@namespaces"], None, &[]).text();
    assert!(
        help.contains("\n  NAMESPACE CREATE name\n  summary: "),
        "{help}"
    );
    let all = run_bin(&cli_path(), &["help"], None, &[]).text();
    assert!(
        all.contains("\n@time-series\n") && all.contains("TS.ADD*"),
        "{all}"
    );
    assert!(
        all.contains("\n@monitor") || all.contains(" MONITOR"),
        "{all}"
    );
    let get = run_bin(&cli_path(), &["help", "GET"], None, &[]).text();
    assert!(
        get.contains("  GET key\n  summary: Returns the string value of a key.\n"),
        "{get}"
    );
}

/// A child killed (and reaped) when dropped, so a failing test leaves nothing running.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Reads lines from `r` until one satisfies `f` (or the limit passes); all lines read.
fn read_until(r: &mut impl BufRead, limit: Duration, f: impl Fn(&str) -> bool) -> Vec<String> {
    let deadline = Instant::now() + limit;
    let mut lines = Vec::new();
    while Instant::now() < deadline {
        let mut line = String::new();
        match r.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let done = f(line.trim_end());
                lines.push(line.trim_end().to_string());
                if done {
                    break;
                }
            }
        }
    }
    lines
}

fn spawn_streaming(args: &[String]) -> (Reaped, BufReader<std::process::ChildStdout>) {
    let mut child = Command::new(cli_path())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn vole-cli");
    let out = BufReader::new(child.stdout.take().expect("stdout"));
    (Reaped(child), out)
}

#[test]
fn cli_monitor_streams_commands() {
    // vole-cli MONITOR prints OK, then every command other clients run, in Redis's format
    // (`<unix time with micros> [db ip:port] "arg" ...`), with AUTH arguments redacted.
    let v = Vole::start(&[]);
    let p = v.addr.port().to_string();
    let (_child, mut out) = spawn_streaming(&["-p".into(), p, "MONITOR".into()]);
    let first = read_until(&mut out, Duration::from_secs(10), |_| true);
    assert_eq!(first, vec!["OK".to_string()]);
    let mut raw = v.raw();
    raw.cmd(&["SET", "k", "a \"q\"\n"]);
    raw.cmd(&["SELECT", "4"]);
    raw.cmd(&["GET", "k"]);
    let lines = read_until(&mut out, Duration::from_secs(10), |l| l.contains("\"GET\""));
    assert_eq!(lines.len(), 3, "{lines:?}");
    let port = raw.stream.local_addr().expect("addr").port();
    let strip = |l: &str| -> String {
        let (ts, rest) = l.split_once(' ').unwrap_or_default();
        let (secs, micros) = ts.split_once('.').unwrap_or_default();
        assert!(secs.parse::<u64>().is_ok() && micros.len() == 6, "{l}");
        rest.to_string()
    };
    assert_eq!(
        strip(&lines[0]),
        format!("[0 127.0.0.1:{port}] \"SET\" \"k\" \"a \\\"q\\\"\\n\"")
    );
    assert_eq!(
        strip(&lines[1]),
        format!("[4 127.0.0.1:{port}] \"SELECT\" \"4\"")
    );
    assert_eq!(
        strip(&lines[2]),
        format!("[4 127.0.0.1:{port}] \"GET\" \"k\"")
    );
    raw.cmd(&["AUTH", "user", "pw"]);
    let auth = read_until(&mut out, Duration::from_secs(10), |_| true);
    assert!(
        auth[0].ends_with("\"AUTH\" \"(redacted)\" \"(redacted)\""),
        "{auth:?}"
    );
}

#[test]
fn cli_shell_in_a_pty() {
    // The interactive shell under a pseudo-terminal (util-linux `script`): the host:port
    // prompt, [db] after SELECT, tty-formatted replies, help, and history written to
    // VOLECLI_HISTFILE.
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("SKIPPED: `script` (util-linux) not installed");
        return;
    }
    let v = Vole::start(&[]);
    let p = v.addr.port();
    let dir = common::temp_dir("cli-shell");
    let hist = dir.join("history");
    let cmdline = format!("{} -p {p}", cli_path().display());
    let mut child = Command::new("script")
        .args(["-qfec", &cmdline, "/dev/null"])
        .env("VOLECLI_HISTFILE", &hist)
        .env("TERM", "dumb")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn script");
    let mut input = child.stdin.take().expect("stdin");
    let feeder = std::thread::spawn(move || {
        for line in [
            "set greeting hello",
            "get greeting",
            "select 2",
            "multi",
            "incr n",
            "exec",
            "help get",
            "quit",
        ] {
            std::thread::sleep(Duration::from_millis(300));
            let _ = input.write_all(format!("{line}\r").as_bytes());
            let _ = input.flush();
        }
        std::thread::sleep(Duration::from_millis(500));
    });
    let out = wait_output(child, "vole-cli in script");
    let _ = feeder.join();
    let text = out.text();
    assert!(text.contains(&format!("127.0.0.1:{p}> ")), "{text}");
    assert!(text.contains(&format!("127.0.0.1:{p}[2]> ")), "{text}");
    assert!(text.contains(&format!("127.0.0.1:{p}[2](TX)> ")), "{text}");
    assert!(text.contains("QUEUED"), "{text}");
    assert!(text.contains("\"hello\""), "{text}");
    assert!(
        text.contains("summary: Returns the string value of a key."),
        "{text}"
    );
    let saved = std::fs::read_to_string(&hist).unwrap_or_default();
    assert!(
        saved.contains("get greeting") && saved.contains("select 2"),
        "{saved}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn cli_reconnects_in_the_shell_after_a_restart() {
    // In the shell (under a pty), a command after the server restarted on the same
    // port reconnects and runs once.
    let dir = common::temp_dir("cli-restart");
    let v = Vole::start_in(&dir, &[]);
    let addr = v.addr;
    let p = addr.port();
    let cmd = format!("{} -p {p} --no-raw", cli_path().display());
    // `script` makes stdin a terminal so the shell (not line mode) runs.
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("SKIPPED: `script` (util-linux) not installed");
        return;
    }
    let mut child = Command::new("script")
        .args(["-qfec", &cmd, "/dev/null"])
        .env("VOLECLI_HISTFILE", "/dev/null")
        .env("TERM", "dumb")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn script");
    let mut input = child.stdin.take().expect("stdin");
    std::thread::sleep(Duration::from_millis(500));
    let _ = input.write_all(b"set a 1\r");
    std::thread::sleep(Duration::from_millis(500));
    v.kill9();
    // Same port again (released by the kill; another test could take it in between, which
    // only makes this test fail loudly, never pass wrongly).
    let mut v2 = Command::new(env!("CARGO_BIN_EXE_vole"))
        .args(["--addr", &addr.to_string(), "--dir"])
        .arg(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn vole");
    let mut first = String::new();
    let _ = BufReader::new(v2.stdout.take().expect("stdout")).read_line(&mut first);
    let v2 = Reaped(v2);
    assert_eq!(first.trim(), format!("listening on {addr}"));
    let _ = input.write_all(b"get a\r");
    std::thread::sleep(Duration::from_millis(800));
    let _ = input.write_all(b"quit\r");
    drop(input);
    let out = wait_output(child, "vole-cli shell");
    let text = out.text();
    assert!(text.contains("\"1\""), "{text}");
    drop(v2);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A TLS endpoint answering PING with PONG, with a self-signed certificate for `localhost`.
struct TlsPong {
    port: u16,
    ca_pem: PathBuf,
}

fn tls_pong(dir: &std::path::Path) -> TlsPong {
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("certificate");
    let ca_pem = dir.join("ca.pem");
    std::fs::write(&ca_pem, cert.cert.pem()).expect("write ca");
    let der = cert.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(rustls::pki_types::PrivatePkcs8KeyDer::from(
        cert.key_pair.serialize_der(),
    ));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![der], key)
        .expect("server config");
    let config = Arc::new(config);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for sock in listener.incoming() {
            let Ok(sock) = sock else { continue };
            let config = config.clone();
            std::thread::spawn(move || {
                let _ = sock.set_read_timeout(Some(Duration::from_secs(10)));
                let Ok(conn) = rustls::ServerConnection::new(config) else {
                    return;
                };
                let mut tls = rustls::StreamOwned::new(conn, sock);
                let mut buf = [0u8; 1024];
                let mut got = Vec::new();
                while let Ok(n) = tls.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&buf[..n]);
                    if got.ends_with(b"PING\r\n") {
                        let _ = tls.write_all(b"+PONG\r\n");
                        let _ = tls.flush();
                        got.clear();
                    }
                }
            });
        }
    });
    TlsPong { port, ca_pem }
}

#[test]
fn cli_tls_with_ca_insecure_and_rediss_uri() {
    // --tls with --cacert verifies the server; --insecure skips it; rediss:// turns TLS on;
    // an unknown CA fails the connection with exit code 1.
    let dir = common::temp_dir("cli-tls");
    let srv = tls_pong(&dir);
    let port = srv.port.to_string();
    let ca = srv.ca_pem.to_string_lossy().into_owned();
    let bin = cli_path();
    let ok = run_bin(
        &bin,
        &[
            "-h",
            "localhost",
            "-p",
            &port,
            "--tls",
            "--cacert",
            &ca,
            "PING",
        ],
        None,
        &[],
    );
    assert_eq!((ok.code, ok.text().as_str()), (0, "PONG\n"), "{}", ok.err);
    let insecure = run_bin(
        &bin,
        &[
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "--tls",
            "--insecure",
            "PING",
        ],
        None,
        &[],
    );
    assert_eq!(insecure.text(), "PONG\n", "{}", insecure.err);
    let uri = format!("rediss://localhost:{port}");
    let via_uri = run_bin(&bin, &["-u", &uri, "--cacert", &ca, "PING"], None, &[]);
    assert_eq!(via_uri.text(), "PONG\n", "{}", via_uri.err);
    let untrusted = run_bin(
        &bin,
        &["-h", "localhost", "-p", &port, "--tls", "PING"],
        None,
        &[],
    );
    assert_eq!(untrusted.code, 1);
    assert!(
        untrusted.err.starts_with(&format!(
            "Could not connect to Redis at localhost:{port}: TLS handshake failed"
        )),
        "{}",
        untrusted.err
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Whether redis-cli is installed; panics when it is required (VOLE_REQUIRE_REDIS=1).
fn have_redis_cli() -> bool {
    if Command::new("redis-cli").arg("--version").output().is_ok() {
        return true;
    }
    if std::env::var("VOLE_REQUIRE_REDIS").as_deref() == Ok("1") {
        panic!("redis-cli is required (VOLE_REQUIRE_REDIS=1) but not installed");
    }
    eprintln!("SKIPPED: redis-cli not installed");
    false
}

/// Commands whose replies cover every type redis-cli 7.0 can print (redis-cli 7.0 cannot
/// print RESP3 big numbers or attributes, so those are left to the unit tests).
const DIFF_COMMANDS: &[&[&str]] = &[
    &["SET", "s", "hello"],
    &["GET", "s"],
    &["GET", "missing"],
    &["SET", "esc", "q\"b\\s\n\r\t\x07\x08\x01\u{e9}~ end"],
    &["GET", "esc"],
    &["INCR", "n"],
    &["INCRBYFLOAT", "f", "1.1"],
    &[
        "RPUSH", "l", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l",
    ],
    &["LRANGE", "l", "0", "-1"],
    &["LRANGE", "none", "0", "-1"],
    &["HSET", "h", "field", "value"],
    &["HGETALL", "h"],
    &["HGETALL", "none"],
    &["SADD", "set", "only"],
    &["SMEMBERS", "set"],
    &["SMEMBERS", "none"],
    &["ZADD", "z", "1.1", "a", "2", "b", "inf", "c"],
    &["ZSCORE", "z", "a"],
    &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
    &["ZPOPMIN", "none"],
    &[
        "EVAL",
        "return {1,{2,{3,'x',{}}},'y',{err='inner error'}}",
        "0",
    ],
    &["EVAL", "return {ok='Status text'}", "0"],
    &["EVAL", "return {err='My error'}", "0"],
    &["NOSUCH", "arg"],
    &["GET"],
    &["DEBUG", "PROTOCOL", "string"],
    &["DEBUG", "PROTOCOL", "integer"],
    &["DEBUG", "PROTOCOL", "double"],
    &["DEBUG", "PROTOCOL", "null"],
    &["DEBUG", "PROTOCOL", "array"],
    &["DEBUG", "PROTOCOL", "set"],
    &["DEBUG", "PROTOCOL", "map"],
    &["DEBUG", "PROTOCOL", "push"],
    &["DEBUG", "PROTOCOL", "verbatim"],
    &["DEBUG", "PROTOCOL", "true"],
    &["DEBUG", "PROTOCOL", "false"],
    &["PING"],
];

#[test]
fn cli_prints_what_redis_cli_prints() {
    // Against redis-server, for every command above, in tty (--no-raw), raw and CSV format,
    // over RESP2 and RESP3, vole-cli's stdout equals redis-cli's byte for byte; and so does
    // a whole script fed as stdin lines.
    let Some(redis) = Redis::start_with(&["--enable-debug-command", "yes"]) else {
        return;
    };
    if !have_redis_cli() {
        return;
    }
    let port = redis.addr.port().to_string();
    let vole_cli = cli_path();
    let redis_cli = PathBuf::from("redis-cli");
    let modes: &[&[&str]] = &[
        &["--no-raw"],
        &[],
        &["--csv"],
        &["-3", "--no-raw"],
        &["-3"],
        &["-3", "--csv"],
    ];
    let mut compared = 0;
    for mode in modes {
        // Both clients run the same commands against the same data: reset it per mode.
        let mut raw = Raw::connect(redis.addr);
        raw.cmd(&["FLUSHALL"]);
        for cmd in DIFF_COMMANDS {
            let mut args: Vec<&str> = vec!["-p", &port];
            args.extend_from_slice(mode);
            args.extend_from_slice(cmd);
            let theirs = run_bin(&redis_cli, &args, None, &[]);
            // Writes ran once (by redis-cli); vole-cli runs them again on purpose only when
            // idempotent. Non-idempotent ones are compared on a second key space below.
            let ours = run_bin(&vole_cli, &args, None, &[]);
            let idempotent = !matches!(
                cmd[0],
                "INCR" | "INCRBYFLOAT" | "RPUSH" | "HSET" | "SADD" | "ZADD"
            );
            if idempotent {
                assert_eq!(
                    String::from_utf8_lossy(&ours.out),
                    String::from_utf8_lossy(&theirs.out),
                    "mode {mode:?} command {cmd:?}"
                );
                compared += 1;
            }
        }
    }
    assert!(compared > 100);
    // Whole scripts through stdin (line mode): the non-idempotent commands too, each client
    // on freshly flushed data.
    let script: String = DIFF_COMMANDS
        .iter()
        .map(|c| {
            c.iter()
                .map(|a| {
                    format!(
                        "\"{}\"",
                        a.replace('\\', "\\\\")
                            .replace('"', "\\\"")
                            .replace('\n', "\\n")
                            .replace('\r', "\\r")
                            .replace('\t', "\\t")
                            .replace('\x07', "\\a")
                            .replace('\x08', "\\b")
                            .replace('\x01', "\\x01")
                    )
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    for mode in modes {
        let mut outs = Vec::new();
        for bin in [&redis_cli, &vole_cli] {
            Raw::connect(redis.addr).cmd(&["FLUSHALL"]);
            let mut args: Vec<&str> = vec!["-p", &port];
            args.extend_from_slice(mode);
            outs.push(run_bin(bin, &args, Some(script.as_bytes()), &[]).text());
        }
        assert_eq!(outs[1], outs[0], "stdin script, mode {mode:?}");
    }
}

#[test]
fn cli_subscribe_streams_like_redis_cli() {
    // SUBSCRIBE / PSUBSCRIBE against redis-server: both clients print the same lines for the
    // subscription and for each published message, in RESP2 and RESP3.
    let Some(redis) = Redis::start() else { return };
    if !have_redis_cli() {
        return;
    }
    let port = redis.addr.port().to_string();
    for (mode, sub) in [
        (None, "SUBSCRIBE"),
        (Some("-3"), "SUBSCRIBE"),
        (None, "PSUBSCRIBE"),
        (Some("--no-raw"), "SUBSCRIBE"),
    ] {
        let mut outs = Vec::new();
        for bin in [PathBuf::from("redis-cli"), cli_path()] {
            let mut args: Vec<String> = vec!["-p".into(), port.clone()];
            args.extend(mode.map(String::from));
            args.extend([sub.to_string(), "news".into()]);
            let mut child = Command::new(&bin)
                .args(&args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn");
            let mut out = BufReader::new(child.stdout.take().expect("stdout"));
            let _child = Reaped(child);
            let mut raw = Raw::connect(redis.addr);
            // Wait for the subscription before publishing.
            let mut lines = read_until(&mut out, Duration::from_secs(10), |l| l.ends_with('1'));
            assert!(wait_for_subscriber(&mut raw), "no subscriber");
            raw.cmd(&["PUBLISH", "news", "hello \"world\""]);
            lines.extend(read_until(&mut out, Duration::from_secs(10), |l| {
                l.contains("hello")
            }));
            outs.push(lines);
        }
        assert_eq!(outs[1], outs[0], "{mode:?} {sub}");
    }
}

fn wait_for_subscriber(raw: &mut Raw) -> bool {
    common::wait_until(Duration::from_secs(10), || {
        let chans = raw.cmd(&["PUBSUB", "NUMPAT"]);
        let n = raw.cmd(&["PUBSUB", "NUMSUB", "news"]);
        matches!(chans, vole_engine::resp::Value::Int(p) if p > 0)
            || matches!(&n, vole_engine::resp::Value::Array(v) if matches!(v.get(1), Some(vole_engine::resp::Value::Int(c)) if *c > 0))
    })
}
