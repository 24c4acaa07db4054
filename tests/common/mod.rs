//! Shared helpers for the cross-process tests: start the real `vole` binary (and, for the
//! differential tests, a real `redis-server`) on free loopback ports, and talk RESP to them.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub mod diff;
pub mod restart;

use bytes::BytesMut;
use vole_engine::resp::{encode_command, parse_value, Limits, Value};

/// A running `vole` process, killed on drop.
pub struct Vole {
    pub child: Child,
    pub addr: SocketAddr,
    pub dir: PathBuf,
    /// Leave `dir` in place on drop (restart tests own their directory).
    pub keep_dir: bool,
    /// Where the server's stderr (its log) goes, when captured.
    pub log: Option<PathBuf>,
}

/// A fresh, empty directory under the system temp dir.
pub fn temp_dir(tag: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let d = std::env::temp_dir().join(format!("vole-test-{}-{tag}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create temp dir");
    d
}

impl Vole {
    /// Start vole on a free port with extra flags.
    pub fn start(extra: &[&str]) -> Vole {
        let dir = temp_dir("vole");
        let mut child = Command::new(env!("CARGO_BIN_EXE_vole"))
            .args(["--addr", "127.0.0.1:0", "--dir"])
            .arg(&dir)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn vole");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read vole's first line");
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from vole: {line:?}"))
            .parse()
            .expect("address");
        Vole {
            child,
            addr,
            dir,
            keep_dir: false,
            log: None,
        }
    }

    /// Start vole on a free port with data in `dir` (kept on drop), logging to `<dir>.log`.
    /// Panics with the log if it does not start.
    pub fn start_in(dir: &std::path::Path, extra: &[&str]) -> Vole {
        match Vole::try_start_in(dir, extra) {
            Ok(v) => v,
            Err(log) => panic!("vole did not start in {}:\n{log}", dir.display()),
        }
    }

    /// Start vole on `dir`; Err(its log) when it exits instead of listening.
    pub fn try_start_in(dir: &std::path::Path, extra: &[&str]) -> Result<Vole, String> {
        let log = dir.with_extension("log");
        let log_file = std::fs::File::create(&log).expect("create log file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_vole"))
            .args(["--addr", "127.0.0.1:0", "--dir"])
            .arg(dir)
            .args(extra)
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .expect("spawn vole");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let Some(addr) = line.trim().strip_prefix("listening on ") else {
            let _ = child.wait();
            return Err(std::fs::read_to_string(&log).unwrap_or_default());
        };
        Ok(Vole {
            child,
            addr: addr.parse().expect("address"),
            dir: dir.to_path_buf(),
            keep_dir: true,
            log: Some(log),
        })
    }

    /// The server's log so far (for `start_in` servers).
    pub fn log_text(&self) -> String {
        self.log
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_default()
    }

    /// `kill -9` and reap.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Send `SHUTDOWN args...` and wait (bounded) for the process to exit; its exit code.
    pub fn shutdown(mut self, args: &[&str]) -> Option<i32> {
        let mut raw = self.raw();
        let mut cmd: Vec<&str> = vec!["SHUTDOWN"];
        cmd.extend_from_slice(args);
        let parts: Vec<&[u8]> = cmd.iter().map(|a| a.as_bytes()).collect();
        raw.send_cmd(&parts);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// A `redis` crate connection.
    pub fn client(&self) -> redis::Connection {
        let url = format!("redis://{}/", self.addr);
        redis::Client::open(url)
            .expect("client")
            .get_connection()
            .expect("connect")
    }

    /// A raw RESP connection.
    pub fn raw(&self) -> Raw {
        Raw::connect(self.addr)
    }
}

impl Drop for Vole {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !self.keep_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A free TCP port on 127.0.0.1 (bound and released; good enough for a child to take).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A running `redis-server`, killed on drop.
pub struct Redis {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Redis {
    /// Start redis-server on a free port without persistence, or None if it is not installed
    /// (unless VOLE_REQUIRE_REDIS=1, as in CI, where its absence fails the test).
    pub fn start() -> Option<Redis> {
        Redis::start_with(&[])
    }

    /// [`Redis::start`] with extra redis-server flags (`--enable-debug-command yes`).
    pub fn start_with(extra: &[&str]) -> Option<Redis> {
        let found = Command::new("redis-server")
            .arg("--version")
            .output()
            .is_ok();
        if !found {
            if std::env::var("VOLE_REQUIRE_REDIS").as_deref() == Ok("1") {
                panic!("redis-server is required (VOLE_REQUIRE_REDIS=1) but not installed");
            }
            eprintln!("SKIPPED: redis-server not installed; install it to run differential tests");
            return None;
        }
        for _ in 0..5 {
            let port = free_port();
            let child = Command::new("redis-server")
                .args([
                    "--port",
                    &port.to_string(),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--enable-debug-command",
                    "local",
                ])
                .args(extra)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn redis-server");
            let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
            let mut r = Redis { child, addr };
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                // The port may have been taken by another test's server between free_port()
                // and the bind (then redis-server exits): only a server that reports our
                // child's pid is ours.
                if is_process_at(addr, r.child.id()) {
                    return Some(r);
                }
                if let Ok(Some(_)) = r.child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = r.child.kill();
        }
        panic!("could not start redis-server");
    }
}

/// Whether the server at `addr` answers `INFO server` with `process_id:pid`.
fn is_process_at(addr: SocketAddr, pid: u32) -> bool {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"INFO server\r\n").is_err() {
        return false;
    }
    let mut got = String::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
        if let Some(at) = got.find("process_id:") {
            let rest = &got[at + "process_id:".len()..];
            if let Some(end) = rest.find("\r\n") {
                return rest[..end] == pid.to_string();
            }
        }
    }
    false
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A raw RESP connection with a read buffer.
pub struct Raw {
    pub stream: TcpStream,
    buf: BytesMut,
}

impl Raw {
    pub fn connect(addr: SocketAddr) -> Raw {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        stream.set_nodelay(true).expect("nodelay");
        Raw {
            stream,
            buf: BytesMut::new(),
        }
    }

    /// Send raw bytes.
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Send a command as a RESP array.
    pub fn send_cmd(&mut self, args: &[&[u8]]) {
        let mut out = BytesMut::new();
        encode_command(args, &mut out);
        self.send(&out);
    }

    /// Read one reply, or None if the server closed the connection.
    pub fn read(&mut self) -> Option<Value> {
        let limits = Limits {
            authenticated: true,
            ..Limits::default()
        };
        loop {
            if let Some((v, n)) =
                parse_value(&self.buf, &limits).expect("server sent malformed RESP")
            {
                let _ = self.buf.split_to(n);
                return Some(v);
            }
            let mut chunk = [0u8; 65536];
            let n = match self.stream.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return None,
                Err(e) => panic!("read: {e}"),
            };
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Send a command given as words and read its reply.
    pub fn cmd(&mut self, args: &[&str]) -> Value {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        self.send_cmd(&a);
        self.read().expect("connection closed")
    }

    /// Whether the server has closed the connection (reads EOF within the timeout).
    pub fn is_closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        self.stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        matches!(self.stream.read(&mut b), Ok(0) | Err(_))
    }
}

/// Shorthand for a bulk string value.
pub fn bulk(s: &str) -> Value {
    Value::Bulk(bytes::Bytes::copy_from_slice(s.as_bytes()))
}

/// Shorthand for an error reply that starts with `prefix`.
pub fn is_err(v: &Value, prefix: &str) -> bool {
    matches!(v, Value::Error(e) if e.starts_with(prefix.as_bytes()))
}

// ---------------------------------------------------------------------------------------------
// Helpers for the command and protocol tests.
// ---------------------------------------------------------------------------------------------

impl Raw {
    /// Read exactly `n` raw bytes of reply (after anything already buffered), to check the
    /// wire form of a reply (`_\r\n` versus `$-1\r\n`).
    pub fn read_bytes(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() < n {
            let mut chunk = [0u8; 4096];
            let got = self.stream.read(&mut chunk).expect("read");
            assert!(
                got > 0,
                "connection closed after {} of {n} bytes",
                self.buf.len()
            );
            self.buf.extend_from_slice(&chunk[..got]);
        }
        self.buf.split_to(n).to_vec()
    }

    /// Write bytes, ignoring errors (the server may already have closed the connection).
    pub fn send_lossy(&mut self, bytes: &[u8]) {
        let _ = self.stream.write_all(bytes);
    }
}

/// An error from the `redis` crate as the server's line: `CODE detail`.
pub fn err_text(e: &redis::RedisError) -> String {
    format!("{} {}", e.code().unwrap_or("?"), e.detail().unwrap_or(""))
}

/// Build a `redis` crate command from words.
pub fn rcmd(args: &[&str]) -> redis::Cmd {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c
}

/// Run a command given as words through the `redis` crate and convert its reply.
pub fn q<T: redis::FromRedisValue>(con: &mut redis::Connection, args: &[&str]) -> T {
    rcmd(args)
        .query(con)
        .unwrap_or_else(|e| panic!("{args:?} failed: {e}"))
}

/// Run a command that must fail; its error line (`CODE detail`).
pub fn q_err(con: &mut redis::Connection, args: &[&str]) -> String {
    match rcmd(args).query::<redis::Value>(con) {
        Ok(v) => panic!("{args:?} should fail, got {v:?}"),
        Err(e) => err_text(&e),
    }
}

/// The text of a raw bulk, simple string, verbatim string or error reply.
pub fn text(v: &Value) -> String {
    match v {
        Value::Bulk(b) | Value::Simple(b) | Value::Error(b) | Value::Verbatim(_, b) => {
            String::from_utf8_lossy(b).into_owned()
        }
        other => panic!("expected a string reply, got {other:?}"),
    }
}

/// Poll `f` every 10 ms until it returns true or `limit` passes; whether it did.
pub fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Milliseconds since the Unix epoch.
pub fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64
}

/// Sends a command given as words, without reading the reply.
pub fn send(r: &mut Raw, args: &[&str]) {
    let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
    r.send_cmd(&a);
}

/// A numeric field of `INFO clients` (-1 when missing).
pub fn info_num(r: &mut Raw, field: &str) -> i64 {
    let info = text(&r.cmd(&["INFO", "clients"]));
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(-1)
}

/// Waits (up to 5 s) until `n` clients are blocked.
pub fn wait_blocked(r: &mut Raw, n: i64) {
    assert!(
        wait_until(Duration::from_secs(5), || info_num(r, "blocked_clients")
            == n),
        "expected {n} blocked clients, have {}",
        info_num(r, "blocked_clients")
    );
}
