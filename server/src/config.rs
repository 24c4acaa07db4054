//! Configuration: command-line flags, the `--config FILE` (redis.conf-style `name value`
//! lines using the flag names), and the runtime view behind `CONFIG GET/SET`.
//!
//! Precedence: built-in defaults, then the file, then flags given on the command line.
//! Every parameter is described once in [`PARAMS`]; the file parser, CONFIG GET and
//! CONFIG SET all go through it, so a name means the same thing everywhere.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use vole_wal::log::FsyncPolicy;

/// Command-line flags of `vole`.
#[derive(Debug, Parser, Default)]
#[command(
    name = "vole",
    version,
    about = "Vole: a Redis-compatible, persistence-first data store.",
    long_about = "Vole: a Redis-compatible, persistence-first data store.\n\n\
        Every flag can also be set in a config file (--config FILE) as a `name value` line \
        using the flag's name without the dashes, e.g. `requirepass s3cret`. Flags given on \
        the command line override the file."
)]
pub struct Flags {
    /// RESP listen address (host:port). Port 0 picks a free port; the chosen address is
    /// printed on stdout as `listening on ADDR`.
    #[arg(long, value_name = "HOST:PORT")]
    pub addr: Option<String>,
    /// Data directory (created if missing).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Require clients to AUTH with this password.
    #[arg(long, value_name = "PASSWORD")]
    pub requirepass: Option<String>,
    /// Read settings from a redis.conf-style file of `name value` lines.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Largest bulk string a client may send, in bytes (default 536870912 = 512 MiB).
    #[arg(long = "proto-max-bulk-len", value_name = "BYTES")]
    pub proto_max_bulk_len: Option<String>,
    /// Close a client whose unparsed input exceeds this many bytes (default 1073741824 = 1 GiB).
    #[arg(long = "client-query-buffer-limit", value_name = "BYTES")]
    pub client_query_buffer_limit: Option<String>,
    /// Maximum number of connected clients (default 10000).
    #[arg(long, value_name = "N")]
    pub maxclients: Option<String>,
    /// Close connections idle for this many seconds (0 = never, the default).
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<String>,
    /// Log commands slower than this many microseconds to the slow log (default 10000;
    /// negative disables, 0 logs everything).
    #[arg(
        long = "slowlog-log-slower-than",
        value_name = "MICROSECONDS",
        allow_hyphen_values = true
    )]
    pub slowlog_log_slower_than: Option<String>,
    /// Entries kept in the slow log (default 128).
    #[arg(long = "slowlog-max-len", value_name = "N")]
    pub slowlog_max_len: Option<String>,
    /// Threads serving connections, each running its connections start to finish (default:
    /// half the CPUs, at least 1; the kernel's network work needs the rest).
    #[arg(long = "io-threads", value_name = "N")]
    pub io_threads: Option<String>,
    /// Log level: error, warn, info, debug or trace (default info).
    #[arg(long = "loglevel", value_name = "LEVEL")]
    pub loglevel: Option<String>,
    /// Log every write to the write-ahead log: yes (the default) or no. `--appendonly` alone
    /// means yes.
    #[arg(long, value_name = "yes|no", num_args = 0..=1, default_missing_value = "yes")]
    pub appendonly: Option<String>,
    /// The write-ahead log's directory name under --dir (default vole.aof).
    #[arg(long, value_name = "NAME")]
    pub appendfilename: Option<String>,
    /// When the log is fsynced: always (before each reply), everysec (default) or no.
    #[arg(long, value_name = "always|everysec|no")]
    pub appendfsync: Option<String>,
    /// Snapshot file under --dir (default vole.snap).
    #[arg(long, value_name = "FILE")]
    pub snapshot: Option<String>,
    /// Take a snapshot this often: 30s, 5m, 1h, or seconds; 0 turns it off (default 1h).
    #[arg(long = "snapshot-interval", value_name = "DURATION")]
    pub snapshot_interval: Option<String>,
    /// Compact (snapshot, then drop old log segments) when the log has grown by this
    /// percentage of the last snapshot's size (default 100; 0 turns it off).
    #[arg(long = "auto-aof-rewrite-percentage", value_name = "PERCENT")]
    pub auto_aof_rewrite_percentage: Option<String>,
    /// ... but not before the log holds this many bytes (default 64mb).
    #[arg(long = "auto-aof-rewrite-min-size", value_name = "BYTES")]
    pub auto_aof_rewrite_min_size: Option<String>,
    /// Size at which the log rolls to a new segment file (default 64mb).
    #[arg(long = "wal-segment-size", value_name = "BYTES")]
    pub wal_segment_size: Option<String>,
}

/// The effective configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub addr: String,
    pub dir: PathBuf,
    pub requirepass: Option<String>,
    pub config_file: Option<PathBuf>,
    pub proto_max_bulk_len: usize,
    pub client_query_buffer_limit: usize,
    pub maxclients: usize,
    /// client-output-buffer-limit for the normal, replica and pubsub classes:
    /// (hard bytes, soft bytes, soft seconds), 0 = no limit.
    pub client_output_buffer_limit: [(u64, u64, u64); 3],
    /// busy-reply-threshold (alias lua-time-limit): ms a script may run before other
    /// clients get -BUSY.
    pub busy_reply_threshold_ms: i64,
    /// notify-keyspace-events flags (see [`crate::notify`]); 0 = Redis's channels off.
    pub notify_keyspace_events: u32,
    pub timeout_s: u64,
    pub slowlog_log_slower_than_us: i64,
    pub slowlog_max_len: usize,
    pub loglevel: String,
    pub io_threads: usize,
    pub appendonly: bool,
    pub appendfilename: String,
    pub appendfsync: FsyncPolicy,
    pub snapshot: String,
    pub snapshot_interval_s: u64,
    pub auto_aof_rewrite_percentage: u64,
    pub auto_aof_rewrite_min_size: u64,
    pub wal_segment_size: u64,
    /// stream-node-max-bytes and stream-node-max-entries: where stream nodes split.
    pub stream_node_max_bytes: u64,
    pub stream_node_max_entries: u64,
}

/// Half the CPUs, at least one. About three quarters of the CPU time of a small request
/// is the kernel's TCP work, which runs beside the connection threads; on 2 CPUs one thread
/// served more requests per second than two, per CPU-second and in total, at 1.03x of Redis
/// against 0.96x (docs/benchmarks.md, "Connection threads").
pub fn default_io_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
}

impl Default for Config {
    fn default() -> Self {
        Config {
            addr: "127.0.0.1:7379".into(),
            dir: PathBuf::from("."),
            requirepass: None,
            config_file: None,
            proto_max_bulk_len: 512 * 1024 * 1024,
            client_query_buffer_limit: 1024 * 1024 * 1024,
            maxclients: 10000,
            notify_keyspace_events: 0,
            busy_reply_threshold_ms: 5000,
            stream_node_max_bytes: 4096,
            stream_node_max_entries: 100,
            client_output_buffer_limit: [
                (0, 0, 0),
                (256 << 20, 64 << 20, 60),
                (32 << 20, 8 << 20, 60),
            ],
            timeout_s: 0,
            slowlog_log_slower_than_us: 10_000,
            slowlog_max_len: 128,
            loglevel: "info".into(),
            io_threads: default_io_threads(),
            appendonly: true,
            appendfilename: "vole.aof".into(),
            appendfsync: FsyncPolicy::EverySec,
            snapshot: "vole.snap".into(),
            snapshot_interval_s: 3600,
            auto_aof_rewrite_percentage: 100,
            auto_aof_rewrite_min_size: 64 << 20,
            wal_segment_size: 64 << 20,
        }
    }
}

/// Why a value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("unknown option '{0}'")]
    Unknown(String),
    #[error("argument couldn't be parsed into an integer")]
    NotInteger,
    #[error("argument must be between {0} and {1} inclusive")]
    OutOfRange(i64, i64),
    #[error("invalid address '{0}' (expected host:port)")]
    BadAddr(String),
    #[error("argument must be one of: {0}")]
    BadEnum(&'static str),
    #[error("can't set this option at runtime")]
    Immutable,
    #[error("argument must be 'yes' or 'no'")]
    NotBool,
    #[error("invalid duration '{0}' (expected e.g. 30s, 5m, 1h, or seconds)")]
    BadDuration(String),
    #[error("'{0}' must be a plain file name inside dir")]
    NotAFileName(String),
    #[error("{0}")]
    Invalid(String),
}

fn yes_no(v: &str) -> Result<bool, ConfigError> {
    match v.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err(ConfigError::NotBool),
    }
}

fn file_name(v: &str) -> Result<String, ConfigError> {
    if v.is_empty() || v.contains(['/', '\\']) || v == "." || v == ".." {
        return Err(ConfigError::NotAFileName(v.to_string()));
    }
    Ok(v.to_string())
}

/// Parse a duration: plain seconds, or a number with an s, m, h or d suffix.
pub fn parse_duration_s(v: &str) -> Result<u64, ConfigError> {
    let bad = || ConfigError::BadDuration(v.to_string());
    let t = v.trim().to_ascii_lowercase();
    let (num, mul) = match t.char_indices().last() {
        Some((i, 's')) => (&t[..i], 1),
        Some((i, 'm')) => (&t[..i], 60),
        Some((i, 'h')) => (&t[..i], 3600),
        Some((i, 'd')) => (&t[..i], 86_400),
        _ => (t.as_str(), 1),
    };
    let n: u64 = num.trim().parse().map_err(|_| bad())?;
    n.checked_mul(mul).ok_or_else(bad)
}

fn fmt_duration(s: u64) -> String {
    match s {
        0 => "0".into(),
        _ if s % 3600 == 0 => format!("{}h", s / 3600),
        _ if s % 60 == 0 => format!("{}m", s / 60),
        _ => format!("{s}s"),
    }
}

/// One parameter: its name, whether CONFIG SET may change it, how to read and write it.
pub struct Param {
    pub name: &'static str,
    pub mutable: bool,
    pub get: fn(&Config) -> String,
    pub set: fn(&mut Config, &str) -> Result<(), ConfigError>,
}

/// Parse a memory amount like Redis: plain bytes, or with k/kb/m/mb/g/gb suffixes.
pub fn parse_memory(s: &str) -> Result<i64, ConfigError> {
    let lower = s.to_ascii_lowercase();
    let (num, mul) = [
        ("gb", 1i64 << 30),
        ("mb", 1 << 20),
        ("kb", 1 << 10),
        ("g", 1_000_000_000),
        ("m", 1_000_000),
        ("k", 1000),
        ("b", 1),
    ]
    .iter()
    .find_map(|(suf, m)| lower.strip_suffix(suf).map(|n| (n.to_string(), *m)))
    .unwrap_or((lower.clone(), 1));
    let n: i64 = num.trim().parse().map_err(|_| ConfigError::NotInteger)?;
    n.checked_mul(mul).ok_or(ConfigError::NotInteger)
}

fn int_in(s: &str, lo: i64, hi: i64) -> Result<i64, ConfigError> {
    let n: i64 = s.trim().parse().map_err(|_| ConfigError::NotInteger)?;
    if n < lo || n > hi {
        return Err(ConfigError::OutOfRange(lo, hi));
    }
    Ok(n)
}

fn mem_in(s: &str, lo: i64, hi: i64) -> Result<i64, ConfigError> {
    let n = parse_memory(s)?;
    if n < lo || n > hi {
        return Err(ConfigError::OutOfRange(lo, hi));
    }
    Ok(n)
}

fn get_busy_threshold(c: &Config) -> String {
    c.busy_reply_threshold_ms.to_string()
}

fn set_busy_threshold(c: &mut Config, v: &str) -> Result<(), ConfigError> {
    c.busy_reply_threshold_ms = int_in(v, 0, i64::MAX)?;
    Ok(())
}

/// Every parameter, in the order CONFIG GET * lists them.
pub static PARAMS: &[Param] = &[
    Param {
        name: "addr",
        mutable: false,
        get: |c| c.addr.clone(),
        set: |c, v| {
            if v.parse::<SocketAddr>().is_err() && !v.contains(':') {
                return Err(ConfigError::BadAddr(v.to_string()));
            }
            c.addr = v.to_string();
            Ok(())
        },
    },
    Param {
        name: "port",
        mutable: false,
        get: |c| c.addr.rsplit(':').next().unwrap_or("0").to_string(),
        set: |_, _| Err(ConfigError::Immutable),
    },
    Param {
        name: "bind",
        mutable: false,
        get: |c| {
            c.addr
                .rsplit_once(':')
                .map(|(h, _)| h.to_string())
                .unwrap_or_default()
        },
        set: |_, _| Err(ConfigError::Immutable),
    },
    Param {
        name: "dir",
        mutable: false,
        get: |c| c.dir.display().to_string(),
        set: |c, v| {
            c.dir = PathBuf::from(v);
            Ok(())
        },
    },
    Param {
        name: "requirepass",
        mutable: true,
        get: |c| c.requirepass.clone().unwrap_or_default(),
        set: |c, v| {
            c.requirepass = if v.is_empty() {
                None
            } else {
                Some(v.to_string())
            };
            Ok(())
        },
    },
    Param {
        name: "proto-max-bulk-len",
        mutable: true,
        get: |c| c.proto_max_bulk_len.to_string(),
        set: |c, v| {
            c.proto_max_bulk_len = mem_in(v, 1024 * 1024, i64::MAX)? as usize;
            Ok(())
        },
    },
    Param {
        name: "client-query-buffer-limit",
        mutable: true,
        get: |c| c.client_query_buffer_limit.to_string(),
        set: |c, v| {
            c.client_query_buffer_limit = mem_in(v, 1024 * 1024, i64::MAX)? as usize;
            Ok(())
        },
    },
    Param {
        name: "maxclients",
        mutable: true,
        get: |c| c.maxclients.to_string(),
        set: |c, v| {
            c.maxclients = int_in(v, 1, i64::from(u32::MAX))? as usize;
            Ok(())
        },
    },
    Param {
        name: "stream-node-max-bytes",
        mutable: true,
        get: |c| c.stream_node_max_bytes.to_string(),
        set: |c, v| {
            c.stream_node_max_bytes = mem_in(v, 0, i64::MAX)? as u64;
            Ok(())
        },
    },
    Param {
        name: "stream-node-max-entries",
        mutable: true,
        get: |c| c.stream_node_max_entries.to_string(),
        set: |c, v| {
            c.stream_node_max_entries = int_in(v, 0, i64::MAX)? as u64;
            Ok(())
        },
    },
    Param {
        name: "busy-reply-threshold",
        mutable: true,
        get: get_busy_threshold,
        set: set_busy_threshold,
    },
    // Redis's older name for the same setting.
    Param {
        name: "lua-time-limit",
        mutable: true,
        get: get_busy_threshold,
        set: set_busy_threshold,
    },
    Param {
        name: "notify-keyspace-events",
        mutable: true,
        get: |c| crate::notify::flags_to_string(c.notify_keyspace_events),
        set: |c, v| {
            c.notify_keyspace_events =
                crate::notify::parse_flags(v).map_err(ConfigError::Invalid)?;
            Ok(())
        },
    },
    Param {
        name: "client-output-buffer-limit",
        mutable: true,
        get: |c| {
            let [n, r, p] = c.client_output_buffer_limit;
            format!(
                "normal {} {} {} slave {} {} {} pubsub {} {} {}",
                n.0, n.1, n.2, r.0, r.1, r.2, p.0, p.1, p.2
            )
        },
        set: |c, v| {
            let words: Vec<&str> = v.split_whitespace().collect();
            if words.is_empty() || words.len() % 4 != 0 {
                return Err(ConfigError::Invalid("wrong number of arguments".into()));
            }
            for w in words.chunks_exact(4) {
                let class = match w[0].to_ascii_lowercase().as_str() {
                    "normal" => 0,
                    "slave" | "replica" => 1,
                    "pubsub" => 2,
                    _ => {
                        return Err(ConfigError::Invalid(
                            "Invalid client class specified in buffer limit configuration.".into(),
                        ))
                    }
                };
                let hard = mem_in(w[1], 0, i64::MAX)? as u64;
                let soft = mem_in(w[2], 0, i64::MAX)? as u64;
                let secs = int_in(w[3], 0, i64::MAX)? as u64;
                c.client_output_buffer_limit[class] = (hard, soft, secs);
            }
            Ok(())
        },
    },
    Param {
        name: "timeout",
        mutable: true,
        get: |c| c.timeout_s.to_string(),
        set: |c, v| {
            c.timeout_s = int_in(v, 0, i64::from(i32::MAX))? as u64;
            Ok(())
        },
    },
    Param {
        name: "slowlog-log-slower-than",
        mutable: true,
        get: |c| c.slowlog_log_slower_than_us.to_string(),
        set: |c, v| {
            c.slowlog_log_slower_than_us = int_in(v, -1, i64::MAX)?;
            Ok(())
        },
    },
    Param {
        name: "slowlog-max-len",
        mutable: true,
        get: |c| c.slowlog_max_len.to_string(),
        set: |c, v| {
            c.slowlog_max_len = int_in(v, 0, i64::MAX)? as usize;
            Ok(())
        },
    },
    Param {
        name: "loglevel",
        mutable: false,
        get: |c| c.loglevel.clone(),
        set: |c, v| {
            let v = v.to_ascii_lowercase();
            if !["error", "warn", "info", "debug", "trace"].contains(&v.as_str()) {
                return Err(ConfigError::BadEnum("error, warn, info, debug, trace"));
            }
            c.loglevel = v;
            Ok(())
        },
    },
    Param {
        name: "io-threads",
        mutable: false,
        get: |c| c.io_threads.to_string(),
        set: |c, v| {
            c.io_threads = int_in(v, 1, 128)? as usize;
            Ok(())
        },
    },
    // Read-only facts clients ask for at connect time (redis-benchmark, some drivers).
    Param {
        name: "databases",
        mutable: false,
        get: |_| "16".into(),
        set: |_, _| Err(ConfigError::Immutable),
    },
    Param {
        name: "save",
        mutable: false,
        get: |_| String::new(),
        set: |_, _| Err(ConfigError::Immutable),
    },
    Param {
        name: "appendonly",
        mutable: false,
        get: |c| if c.appendonly { "yes" } else { "no" }.into(),
        set: |c, v| {
            c.appendonly = yes_no(v)?;
            Ok(())
        },
    },
    Param {
        name: "appendfilename",
        mutable: false,
        get: |c| c.appendfilename.clone(),
        set: |c, v| {
            c.appendfilename = file_name(v)?;
            Ok(())
        },
    },
    Param {
        name: "appendfsync",
        mutable: true,
        get: |c| c.appendfsync.as_str().into(),
        set: |c, v| {
            c.appendfsync = v
                .parse()
                .map_err(|_| ConfigError::BadEnum("always, everysec, no"))?;
            Ok(())
        },
    },
    Param {
        name: "snapshot",
        mutable: false,
        get: |c| c.snapshot.clone(),
        set: |c, v| {
            c.snapshot = file_name(v)?;
            Ok(())
        },
    },
    Param {
        name: "snapshot-interval",
        mutable: true,
        get: |c| fmt_duration(c.snapshot_interval_s),
        set: |c, v| {
            c.snapshot_interval_s = parse_duration_s(v)?;
            Ok(())
        },
    },
    Param {
        name: "auto-aof-rewrite-percentage",
        mutable: true,
        get: |c| c.auto_aof_rewrite_percentage.to_string(),
        set: |c, v| {
            c.auto_aof_rewrite_percentage = int_in(v, 0, i64::from(i32::MAX))? as u64;
            Ok(())
        },
    },
    Param {
        name: "auto-aof-rewrite-min-size",
        mutable: true,
        get: |c| c.auto_aof_rewrite_min_size.to_string(),
        set: |c, v| {
            c.auto_aof_rewrite_min_size = mem_in(v, 0, i64::MAX)? as u64;
            Ok(())
        },
    },
    Param {
        name: "wal-segment-size",
        mutable: false,
        get: |c| c.wal_segment_size.to_string(),
        set: |c, v| {
            c.wal_segment_size = mem_in(v, 4096, 1 << 40)? as u64;
            Ok(())
        },
    },
];

/// The parameter called `name` (ASCII case-insensitive; `_` accepted for `-`).
pub fn param(name: &str) -> Option<&'static Param> {
    let norm = name.to_ascii_lowercase().replace('_', "-");
    PARAMS.iter().find(|p| p.name == norm)
}

impl Config {
    /// Build the effective configuration from flags (and the file they name).
    pub fn load(flags: &Flags) -> anyhow::Result<Config> {
        let mut cfg = Config::default();
        if let Some(path) = &flags.config {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("cannot read config file {}: {e}", path.display()))?;
            cfg.apply_file(&text)
                .map_err(|e| anyhow::anyhow!("config file {}: {e}", path.display()))?;
            cfg.config_file = Some(path.clone());
        }
        let given: [(&str, &Option<String>); 17] = [
            ("appendonly", &flags.appendonly),
            ("appendfilename", &flags.appendfilename),
            ("appendfsync", &flags.appendfsync),
            ("snapshot", &flags.snapshot),
            ("snapshot-interval", &flags.snapshot_interval),
            (
                "auto-aof-rewrite-percentage",
                &flags.auto_aof_rewrite_percentage,
            ),
            (
                "auto-aof-rewrite-min-size",
                &flags.auto_aof_rewrite_min_size,
            ),
            ("wal-segment-size", &flags.wal_segment_size),
            ("io-threads", &flags.io_threads),
            ("addr", &flags.addr),
            ("requirepass", &flags.requirepass),
            ("proto-max-bulk-len", &flags.proto_max_bulk_len),
            (
                "client-query-buffer-limit",
                &flags.client_query_buffer_limit,
            ),
            ("maxclients", &flags.maxclients),
            ("timeout", &flags.timeout),
            ("slowlog-log-slower-than", &flags.slowlog_log_slower_than),
            ("slowlog-max-len", &flags.slowlog_max_len),
        ];
        for (name, value) in given {
            if let Some(v) = value {
                cfg.set(name, v)
                    .map_err(|e| anyhow::anyhow!("--{name} {v}: {e}"))?;
            }
        }
        if let Some(v) = &flags.loglevel {
            cfg.set("loglevel", v)
                .map_err(|e| anyhow::anyhow!("--loglevel {v}: {e}"))?;
        }
        if let Some(d) = &flags.dir {
            cfg.dir = d.clone();
        }
        Ok(cfg)
    }

    /// Apply a config file's text. Errors name the line.
    pub fn apply_file(&mut self, text: &str) -> Result<(), String> {
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, value) = match line.split_once(char::is_whitespace) {
                Some((n, v)) => (n, unquote(v.trim())),
                None => (line, String::new()),
            };
            let name = name.trim_start_matches("--");
            if name == "config" {
                return Err(format!(
                    "line {}: 'config' cannot be set from a config file",
                    n + 1
                ));
            }
            self.set(name, &value)
                .map_err(|e| format!("line {} ({}): {e}", n + 1, line))?;
        }
        Ok(())
    }

    /// Set one parameter by name (file and start-up semantics: immutable ones allowed).
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        let p = param(name).ok_or_else(|| ConfigError::Unknown(name.to_string()))?;
        (p.set)(self, value)
    }
}

/// Fuzz entry point: any bytes, as a config file, either apply or give an error naming a
/// line; never a panic.
pub fn fuzz_one(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut c = Config::default();
    if let Err(e) = c.apply_file(&text) {
        assert!(e.starts_with("line "), "error does not name the line: {e}");
    }
}

/// Strip one level of matching quotes.
fn unquote(v: &str) -> String {
    let b = v.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        v[1..v.len() - 1].to_string()
    } else {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_lines_apply_and_errors_name_the_line() {
        // A good file applies; an unknown name or bad value is reported with its line.
        let mut c = Config::default();
        c.apply_file("# comment\naddr 127.0.0.1:9999\nrequirepass \"s3 cret\"\nmaxclients 5\n")
            .expect("valid file");
        assert_eq!(c.addr, "127.0.0.1:9999");
        assert_eq!(c.requirepass.as_deref(), Some("s3 cret"));
        assert_eq!(c.maxclients, 5);
        let e = Config::default()
            .apply_file("addr 1.2.3.4:5\nbogus 1\n")
            .expect_err("unknown");
        assert!(e.contains("line 2") && e.contains("bogus"), "{e}");
        let e = Config::default()
            .apply_file("maxclients lots\n")
            .expect_err("bad value");
        assert!(e.contains("line 1") && e.contains("integer"), "{e}");
    }

    #[test]
    fn memory_units_parse_like_redis() {
        // 1mb is 2^20 bytes, 1m is 10^6, plain numbers are bytes.
        assert_eq!(parse_memory("1mb"), Ok(1 << 20));
        assert_eq!(parse_memory("1m"), Ok(1_000_000));
        assert_eq!(parse_memory("512"), Ok(512));
        assert_eq!(parse_memory("x"), Err(ConfigError::NotInteger));
    }

    #[test]
    fn durations_and_persistence_settings_parse() {
        // Proves the persistence flags accept what the README shows and refuse the rest.
        assert_eq!(parse_duration_s("5m"), Ok(300));
        assert_eq!(parse_duration_s("90"), Ok(90));
        assert_eq!(parse_duration_s("1h"), Ok(3600));
        assert!(parse_duration_s("soon").is_err());
        let mut c = Config::default();
        c.apply_file("appendfsync always\nappendonly no\nsnapshot-interval 30s\n")
            .expect("valid");
        assert_eq!(c.appendfsync, FsyncPolicy::Always);
        assert!(!c.appendonly);
        assert_eq!(c.snapshot_interval_s, 30);
        assert!(c.set("appendfsync", "sometimes").is_err());
        assert!(c.set("snapshot", "../etc/passwd").is_err());
    }
}
