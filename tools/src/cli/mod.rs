//! `vole-cli`: the interactive client, usable in place of redis-cli.
//!
//! - [`args`]: flags (redis-cli's where they overlap), `-u` URIs, the password sources.
//! - [`conn`]: one TCP or TLS connection, the engine's RESP codec, Ctrl-C-aware reads.
//! - [`reply`]: replies printed byte for byte as redis-cli prints them (tty, raw, CSV).
//! - [`help`]: help, hints and completion from the engine's command tables.
//! - [`shell`]: the interactive shell (rustyline) and the stdin line mode.
//! - [`pipe`]: `--pipe` mass insertion.
//!
//! The modes: a command on the command line runs once (or `-r` times) and exits; otherwise
//! the shell runs when stdin is a terminal, and each stdin line is a command when it is not.

pub mod args;
pub mod conn;
pub mod help;
pub mod pipe;
pub mod reply;
pub mod shell;

use std::io::{IsTerminal, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use clap::{CommandFactory, FromArgMatches};

use args::{Args, Target};
use conn::{Conn, Interrupt, ReadError};
use reply::{Format, Reply};

/// Runs vole-cli with the process's arguments; the exit code.
pub fn main() -> i32 {
    let matches = match Args::command().try_get_matches() {
        Ok(m) => m,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => 1,
            };
        }
    };
    let args = match Args::from_arg_matches(&matches) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return 1;
        }
    };
    let explicit =
        |id: &str| matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine);
    let target = match args::target(&args, &|k| std::env::var(k).ok(), &explicit) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    let cmdline_password = args.pass.is_some()
        || args
            .uri
            .as_deref()
            .and_then(|u| args::parse_uri(u).ok())
            .is_some_and(|u| u.pass.is_some());
    if cmdline_password && !args.no_auth_warning {
        eprintln!(
            "Warning: Using a password with '-a' or '-u' option on the command line interface may not be safe."
        );
    }
    let stdout_tty = std::io::stdout().is_terminal();
    let mut session = Session {
        format: args.format(stdout_tty),
        delim: args
            .delim
            .as_deref()
            .map(unescape)
            .unwrap_or_else(|| b"\n".to_vec()),
        target,
        conn: None,
        db: 0,
        in_multi: false,
        interactive: false,
        interrupt: Arc::new(AtomicBool::new(false)),
        errors: 0,
    };
    if args.pipe {
        return pipe::run(&mut session, Duration::from_secs(args.pipe_timeout));
    }
    if !args.command.is_empty() {
        return session.run_once(&args);
    }
    let stdin_tty = std::io::stdin().is_terminal();
    shell::run(&mut session, stdin_tty)
}

/// Backslash escapes in `-d` (`\n`, `\t`, `\r`, `\\`), as redis-cli's unescaping.
fn unescape(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut it = s.bytes();
    while let Some(b) = it.next() {
        if b == b'\\' {
            match it.next() {
                Some(b'n') => out.push(b'\n'),
                Some(b't') => out.push(b'\t'),
                Some(b'r') => out.push(b'\r'),
                Some(other) => out.push(other),
                None => out.push(b'\\'),
            }
        } else {
            out.push(b);
        }
    }
    out
}

/// The command line as bytes (arguments need not be UTF-8).
fn os_to_bytes(s: &std::ffi::OsStr) -> Bytes {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Bytes::copy_from_slice(s.as_bytes())
    }
    #[cfg(not(unix))]
    {
        Bytes::from(s.to_string_lossy().into_owned().into_bytes())
    }
}

/// What executing one command led to.
#[derive(Debug, PartialEq, Eq)]
pub enum Ran {
    /// A reply was printed (error reply or not).
    Reply { error: bool },
    /// Not connected, or the connection failed and could not be re-established.
    NoConnection,
}

/// The state of one vole-cli run.
pub struct Session {
    pub format: Format,
    pub delim: Vec<u8>,
    pub target: Target,
    pub conn: Option<Conn>,
    /// The database selected now (the prompt shows it).
    pub db: i64,
    /// Inside MULTI (the prompt shows `(TX)`, as redis-cli's does).
    pub in_multi: bool,
    /// In the shell: reconnect when the server went away, print RESP3 pushes.
    pub interactive: bool,
    pub interrupt: Interrupt,
    /// Error replies seen.
    pub errors: u64,
}

impl Session {
    /// `host:port`.
    pub fn addr(&self) -> String {
        if self.target.host.contains(':') {
            format!("[{}]:{}", self.target.host, self.target.port)
        } else {
            format!("{}:{}", self.target.host, self.target.port)
        }
    }

    /// Connects and handshakes (AUTH, HELLO 3, SELECT) unless connected; prints why not to
    /// stderr.
    pub fn connect(&mut self) -> bool {
        if self.conn.is_some() {
            return true;
        }
        // A new connection is outside any transaction the old one had open.
        self.in_multi = false;
        let mut conn = match Conn::open(&self.target) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("Could not connect to Redis at {}: {e}", self.addr());
                return false;
            }
        };
        let t = self.target.clone();
        if let Some(pass) = &t.pass {
            let mut a: Vec<&[u8]> = vec![b"AUTH"];
            if let Some(user) = &t.user {
                a.push(user.as_bytes());
            }
            a.push(pass.as_bytes());
            match conn.call(&a) {
                Ok(Reply::Error(e)) => {
                    eprintln!("AUTH failed: {}", String::from_utf8_lossy(&e));
                    return false;
                }
                Ok(_) => {}
                Err(e) => {
                    eprintln!("Could not connect to Redis at {}: {e}", self.addr());
                    return false;
                }
            }
        }
        if t.resp3 {
            if let Ok(Reply::Error(e)) = conn.call(&[b"HELLO", b"3"]) {
                eprintln!("HELLO 3 failed: {}", String::from_utf8_lossy(&e));
            }
        }
        self.db = 0;
        if t.db != 0 {
            let n = t.db.to_string();
            match conn.call(&[b"SELECT", n.as_bytes()]) {
                Ok(Reply::Error(e)) => {
                    eprintln!("SELECT {} failed: {}", t.db, String::from_utf8_lossy(&e));
                }
                Ok(_) => self.db = t.db,
                Err(e) => {
                    eprintln!("Could not connect to Redis at {}: {e}", self.addr());
                    return false;
                }
            }
        }
        self.conn = Some(conn);
        true
    }

    /// Single-command mode: `-x`, `-r`, `-i`; exit code 1 on an error reply or no connection.
    fn run_once(&mut self, args: &Args) -> i32 {
        let mut argv: Vec<Bytes> = args.command.iter().map(|a| os_to_bytes(a)).collect();
        if args.stdin_arg {
            let mut data = Vec::new();
            if let Err(e) = std::io::stdin().read_to_end(&mut data) {
                eprintln!("Could not read stdin: {e}");
                return 1;
            }
            argv.push(Bytes::from(data));
        }
        if is_help(&argv) {
            print_help(&argv, use_color());
            return 0;
        }
        if !self.connect() {
            return 1;
        }
        let repeat = args.repeat.unwrap_or(1);
        let interval = args
            .interval
            .filter(|s| s.is_finite() && *s > 0.0)
            .map(Duration::from_secs_f64);
        let mut failed = false;
        let mut i = 0i64;
        while repeat < 0 || i < repeat {
            i += 1;
            match self.execute(&argv) {
                Ran::Reply { error } => failed |= error,
                Ran::NoConnection => return 1,
            }
            if let Some(d) = interval {
                std::thread::sleep(d);
            }
        }
        i32::from(failed)
    }

    /// Sends one command, prints its reply (or streams, for MONITOR and SUBSCRIBE), and
    /// tracks SELECT. In the shell, a connection lost before the reply is re-established
    /// once and the command sent again, as redis-cli does after a server restart.
    pub fn execute(&mut self, argv: &[Bytes]) -> Ran {
        let name = argv
            .first()
            .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
            .unwrap_or_default();
        let mut attempts = if self.interactive { 2 } else { 1 };
        loop {
            attempts -= 1;
            if !self.connect() {
                return Ran::NoConnection;
            }
            let Some(conn) = self.conn.as_mut() else {
                return Ran::NoConnection;
            };
            let sent = conn.send(argv);
            let got = match sent {
                Ok(()) => {
                    if matches!(
                        name.as_str(),
                        "monitor" | "subscribe" | "psubscribe" | "ssubscribe"
                    ) {
                        return self.stream(&name);
                    }
                    self.read_reply()
                }
                Err(e) => Err(ReadError::Io(e)),
            };
            match got {
                Ok(r) => {
                    let error = r.is_error();
                    self.print(&r);
                    if error {
                        self.errors += 1;
                    } else if name == "select" && argv.len() == 2 {
                        self.db = String::from_utf8_lossy(&argv[1]).parse().unwrap_or(self.db);
                    } else if name == "reset" {
                        self.db = 0;
                        self.in_multi = false;
                    }
                    if name == "multi" && !error {
                        self.in_multi = true;
                    } else if name == "exec" || name == "discard" {
                        self.in_multi = false;
                    }
                    return Ran::Reply { error };
                }
                Err(ReadError::Interrupted) => {
                    // Ctrl-C during a long command: drop the connection (the server would
                    // still answer it) and reconnect for the next one.
                    self.interrupt.store(false, Ordering::Relaxed);
                    self.conn = None;
                    return Ran::Reply { error: false };
                }
                Err(e) => {
                    self.conn = None;
                    let lost = matches!(e, ReadError::Closed | ReadError::Io(_));
                    if lost && attempts > 0 {
                        continue;
                    }
                    eprintln!("Error: {e}");
                    return Ran::NoConnection;
                }
            }
        }
    }

    /// Reads the reply to the command just sent; RESP3 pushes before it are printed in the
    /// shell and skipped otherwise (as redis-cli does).
    fn read_reply(&mut self) -> Result<Reply, ReadError> {
        let interrupt = self.interrupt.clone();
        loop {
            let Some(conn) = self.conn.as_mut() else {
                return Err(ReadError::Closed);
            };
            match conn.read(Some(&interrupt))? {
                Reply::Push(items) => {
                    if self.interactive {
                        self.print(&Reply::Push(items));
                    }
                }
                r => return Ok(r),
            }
        }
    }

    /// MONITOR / SUBSCRIBE: print every reply until Ctrl-C or the connection ends.
    fn stream(&mut self, name: &str) -> Ran {
        if name != "monitor" && self.format != Format::Raw {
            println!("Reading messages... (press Ctrl-C to quit)");
        }
        let interrupt = self.interrupt.clone();
        let mut error = false;
        loop {
            let Some(conn) = self.conn.as_mut() else {
                return Ran::NoConnection;
            };
            match conn.read(Some(&interrupt)) {
                Ok(r) => {
                    error |= r.is_error();
                    self.print(&r);
                }
                Err(ReadError::Interrupted) => {
                    self.interrupt.store(false, Ordering::Relaxed);
                    // The connection is in MONITOR / subscriber mode: start a fresh one.
                    self.conn = None;
                    if self.interactive {
                        self.connect();
                    }
                    return Ran::Reply { error };
                }
                Err(e) => {
                    self.conn = None;
                    eprintln!("Error: {e}");
                    return Ran::NoConnection;
                }
            }
        }
    }

    /// Prints one reply to stdout in the session's format.
    pub fn print(&self, r: &Reply) {
        let out = reply::format(r, self.format, &self.delim);
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(&out);
        let _ = stdout.flush();
    }
}

/// Whether to color help and hints: stdout is a terminal that is not `dumb`, and
/// `NO_COLOR` is not set.
pub fn use_color() -> bool {
    std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none()
        && std::env::var("TERM").map_or(true, |t| t != "dumb")
}

/// Whether `argv` asks for the CLI's own help (`help ...` or `? ...`).
pub fn is_help(argv: &[Bytes]) -> bool {
    argv.first()
        .is_some_and(|a| a.eq_ignore_ascii_case(b"help") || a.as_ref() == b"?")
}

/// Prints `help topic...` for `argv` = `help topic...`.
pub fn print_help(argv: &[Bytes], color: bool) {
    let topic: Vec<String> = argv
        .iter()
        .skip(1)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let text = help::help_text(&topic, color);
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}
