//! The interactive shell (rustyline: history, hints, completion) and the stdin line mode
//! (`vole-cli < commands.txt`), which share how a line becomes a command.

use std::borrow::Cow;
use std::io::BufRead;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Instant;

use bytes::Bytes;
use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper};
use vole_engine::resp::split_args;

use super::reply::Format;
use super::{help, is_help, print_help, Ran, Session};

/// What a line asks for.
enum Line {
    Skip,
    Quit,
    Invalid,
    /// Run `argv` `repeat` times.
    Run {
        repeat: u64,
        argv: Vec<Bytes>,
    },
}

/// Splits a line as redis-cli does: `sdssplitargs`, and a leading number repeats the
/// command (`3 INCR x`).
fn parse_line(line: &str) -> Line {
    let Some(mut argv) = split_args(line.as_bytes()) else {
        return Line::Invalid;
    };
    if argv.is_empty() {
        return Line::Skip;
    }
    let first = String::from_utf8_lossy(&argv[0]).to_ascii_lowercase();
    if first == "quit" || first == "exit" {
        return Line::Quit;
    }
    let mut repeat = 1;
    if argv.len() > 1 {
        if let Ok(n) = first.parse::<u64>() {
            repeat = n;
            argv.remove(0);
        }
    }
    Line::Run { repeat, argv }
}

/// Runs the shell (stdin a terminal) or the line mode; the exit code.
pub fn run(s: &mut Session, stdin_tty: bool) -> i32 {
    if stdin_tty {
        interactive(s)
    } else {
        lines(s)
    }
}

/// `vole-cli < file`: each line is a command; no prompt. Exit code 1 if any reply was an
/// error or the server could not be reached.
fn lines(s: &mut Session) -> i32 {
    if !s.connect() {
        return 1;
    }
    let stdin = std::io::stdin();
    let mut failed = false;
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        match parse_line(&line) {
            Line::Skip => {}
            Line::Quit => break,
            Line::Invalid => println!("Invalid argument(s)"),
            Line::Run { repeat, argv } => {
                for _ in 0..repeat {
                    if is_help(&argv) {
                        print_help(&argv, false);
                        continue;
                    }
                    match s.execute(&argv) {
                        Ran::Reply { error } => failed |= error,
                        Ran::NoConnection => return 1,
                    }
                }
            }
        }
    }
    i32::from(failed)
}

/// Where history is kept: `VOLECLI_HISTFILE` (`/dev/null` turns it off), else
/// `~/.volecli_history`.
fn history_path() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("VOLECLI_HISTFILE") {
        return (p != "/dev/null" && !p.is_empty()).then(|| PathBuf::from(p));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".volecli_history"))
}

/// Commands whose arguments hold secrets are not written to history (as redis-cli 7).
fn is_sensitive(argv: &[Bytes]) -> bool {
    let w = |i: usize| {
        argv.get(i)
            .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
            .unwrap_or_default()
    };
    match w(0).as_str() {
        "auth" => true,
        "hello" => argv.iter().any(|a| a.eq_ignore_ascii_case(b"auth")),
        "acl" => w(1) == "setuser",
        "config" => w(1) == "set" && matches!(w(2).as_str(), "requirepass" | "masterauth"),
        "migrate" => argv.iter().any(|a| a.eq_ignore_ascii_case(b"auth")),
        _ => false,
    }
}

/// The prompt: `127.0.0.1:7379>`, `127.0.0.1:7379[2]>` after SELECT 2, `(TX)` inside
/// MULTI, `not connected>`.
pub fn prompt(s: &Session) -> String {
    if s.conn.is_none() {
        return "not connected> ".to_string();
    }
    let db = if s.db != 0 {
        format!("[{}]", s.db)
    } else {
        String::new()
    };
    let tx = if s.in_multi { "(TX)" } else { "" };
    format!("{}{db}{tx}> ", s.addr())
}

/// Hints and completion from the command tables.
struct ShellHelper {
    color: bool,
}

impl Completer for ShellHelper {
    type Candidate = String;
    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let head = &line[..pos];
        let start = head.rfind(' ').map_or(0, |i| i + 1);
        Ok((start, help::complete(head)))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
    fn hint(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> Option<String> {
        if pos < line.len() {
            return None;
        }
        help::hint(line)
    }
}

impl Highlighter for ShellHelper {
    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        if self.color {
            Cow::Owned(format!("\x1b[90m{hint}\x1b[0m"))
        } else {
            Cow::Borrowed(hint)
        }
    }
}

impl Validator for ShellHelper {}
impl Helper for ShellHelper {}

fn interactive(s: &mut Session) -> i32 {
    s.interactive = true;
    // Ctrl-C while a command runs (or MONITOR / SUBSCRIBE streams) sets the flag instead of
    // killing the shell; at the prompt rustyline sees Ctrl-C as a key.
    if let Err(e) = signal_hook::flag::register(signal_hook::consts::SIGINT, s.interrupt.clone()) {
        eprintln!("Warning: cannot handle Ctrl-C: {e}");
    }
    let color = super::use_color();
    let mut rl: Editor<ShellHelper, DefaultHistory> = match Editor::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("Cannot start the shell: {e}");
            return 1;
        }
    };
    rl.set_helper(Some(ShellHelper { color }));
    let hist = history_path();
    if let Some(p) = &hist {
        let _ = rl.load_history(p);
    }
    // Not being able to connect is not fatal in the shell: every command tries again.
    s.connect();
    loop {
        s.interrupt.store(false, Ordering::Relaxed);
        let line = match rl.readline(&prompt(s)) {
            Ok(l) => l,
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("Error: {e}");
                return 1;
            }
        };
        let parsed = parse_line(&line);
        if let Line::Run { argv, .. } = &parsed {
            if !is_sensitive(argv) {
                let _ = rl.add_history_entry(line.as_str());
                if let Some(p) = &hist {
                    let _ = rl.save_history(p);
                }
            }
        }
        match parsed {
            Line::Skip => {}
            Line::Quit => break,
            Line::Invalid => println!("Invalid argument(s)"),
            Line::Run { repeat, argv } => {
                if argv.len() == 3 && argv[0].eq_ignore_ascii_case(b"connect") {
                    connect_to(s, &argv);
                    continue;
                }
                if argv.len() == 1 && argv[0].eq_ignore_ascii_case(b"clear") {
                    let _ = rl.clear_screen();
                    continue;
                }
                let started = Instant::now();
                for _ in 0..repeat {
                    if is_help(&argv) {
                        print_help(&argv, color);
                        continue;
                    }
                    if s.interrupt.load(Ordering::Relaxed) {
                        break;
                    }
                    s.execute(&argv);
                }
                let took = started.elapsed();
                if took.as_millis() >= 500 && s.format == Format::Tty {
                    println!("({:.2}s)", took.as_secs_f64());
                }
            }
        }
    }
    0
}

/// `connect host port` in the shell.
fn connect_to(s: &mut Session, argv: &[Bytes]) {
    let host = String::from_utf8_lossy(&argv[1]).into_owned();
    let Ok(port) = String::from_utf8_lossy(&argv[2]).parse::<u16>() else {
        println!("Invalid port");
        return;
    };
    s.target.host = host;
    s.target.port = port;
    s.conn = None;
    s.connect();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_like_redis_cli() {
        // Quotes group words, a leading count repeats, quit ends, bad quoting is invalid.
        assert!(matches!(
            parse_line(r#"set "a b" 'c'"#),
            Line::Run { repeat: 1, ref argv } if argv.len() == 3 && argv[1].as_ref() == b"a b"
        ));
        assert!(
            matches!(parse_line("3 incr x"), Line::Run { repeat: 3, ref argv } if argv.len() == 2)
        );
        assert!(matches!(parse_line("   "), Line::Skip));
        assert!(matches!(parse_line("QUIT"), Line::Quit));
        assert!(matches!(parse_line("set \"a"), Line::Invalid));
    }

    #[test]
    fn secrets_stay_out_of_history() {
        // AUTH, HELLO .. AUTH and CONFIG SET requirepass are not recorded; GET is.
        let a = |v: &[&str]| {
            v.iter()
                .map(|s| Bytes::copy_from_slice(s.as_bytes()))
                .collect::<Vec<_>>()
        };
        assert!(is_sensitive(&a(&["AUTH", "x"])));
        assert!(is_sensitive(&a(&["hello", "3", "auth", "u", "p"])));
        assert!(is_sensitive(&a(&["config", "set", "requirepass", "p"])));
        assert!(!is_sensitive(&a(&["get", "auth"])));
    }
}
