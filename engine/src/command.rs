//! The command table: one static entry per command (name, arity, flags, key positions, group,
//! summary, argument syntax, handler). Dispatch, `COMMAND COUNT/INFO/DOCS/LIST/GETKEYS` and the
//! CLI's help are all derived from it; `tests::table_invariants` checks it.
//!
//! Arity follows Redis: positive = exactly that many arguments (name included), negative =
//! at least that many. Container commands (CLIENT, CONFIG, ...) have subcommands, each with its
//! own entry named `container|sub` in errors and COMMAND INFO.

use std::collections::HashMap;
use std::sync::OnceLock;

use bytes::Bytes;

use crate::cmd::{bitmap, geo, hash, hll, keys, list, meta, set, sort, stream, string, zset, Ctx};
use crate::reply::CmdResult;

/// A handler that runs inside the engine.
pub type Handler = fn(&mut Ctx<'_>, &[Bytes]) -> CmdResult;

/// Commands whose logic needs the server process (connections, config, I/O).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum ServerCmd {
    Ping,
    Echo,
    Time,
    Info,
    Auth,
    Hello,
    Select,
    Quit,
    Reset,
    Config,
    Client,
    Debug,
    Slowlog,
    Acl,
    Shutdown,
    Latency,
    Module,
    Swapdb,
    Lastsave,
    Save,
    Bgsave,
    Bgrewriteaof,
    Multi,
    Exec,
    Discard,
    Watch,
    Unwatch,
    Subscribe,
    Unsubscribe,
    Psubscribe,
    Punsubscribe,
    Publish,
    Pubsub,
    Ssubscribe,
    Sunsubscribe,
    Spublish,
    Eval,
    Evalsha,
    EvalRo,
    EvalshaRo,
    Script,
    Fcall,
    FcallRo,
    Function,
    Monitor,
}

/// How a command is executed.
#[derive(Clone, Copy)]
pub enum Exec {
    /// By an engine handler.
    Engine(Handler),
    /// By the server (see [`ServerCmd`]).
    Server(ServerCmd),
    /// Dispatch on the subcommand (`args[1]`).
    Container,
}

impl std::fmt::Debug for Exec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exec::Engine(_) => f.write_str("Engine"),
            Exec::Server(s) => write!(f, "Server({s:?})"),
            Exec::Container => f.write_str("Container"),
        }
    }
}

/// Command flags (bit set), named as COMMAND INFO prints them.
pub mod flags {
    pub const WRITE: u32 = 1 << 0;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const PUBSUB: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const BLOCKING: u32 = 1 << 6;
    pub const LOADING: u32 = 1 << 7;
    pub const STALE: u32 = 1 << 8;
    pub const SKIP_MONITOR: u32 = 1 << 9;
    pub const SKIP_SLOWLOG: u32 = 1 << 10;
    pub const FAST: u32 = 1 << 11;
    pub const NO_AUTH: u32 = 1 << 12;
    pub const MAY_REPLICATE: u32 = 1 << 13;
    pub const NO_MULTI: u32 = 1 << 14;
    pub const ALLOW_BUSY: u32 = 1 << 15;
    pub const MOVABLE_KEYS: u32 = 1 << 16;

    /// Names in COMMAND INFO order.
    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (MAY_REPLICATE, "may_replicate"),
        (NO_MULTI, "no_multi"),
        (ALLOW_BUSY, "allow_busy"),
        (MOVABLE_KEYS, "movablekeys"),
    ];
}

use flags::*;

/// One command.
#[derive(Debug)]
pub struct Command {
    /// Lower-case name (for subcommands, just the subcommand part).
    pub name: &'static str,
    /// Redis arity: exact if positive, minimum if negative; counts the name (and for
    /// subcommands, the container name too).
    pub arity: i32,
    /// Bit set of [`flags`].
    pub flags: u32,
    /// First key position (0 = no keys), last key position (negative counts from the end),
    /// step between keys.
    pub keys: (i32, i32, i32),
    /// Group as COMMAND DOCS reports it: string, generic, server, connection, ...
    pub group: &'static str,
    /// One-line summary.
    pub summary: &'static str,
    /// Redis version that introduced the command.
    pub since: &'static str,
    /// Argument syntax, Redis-docs style: `key value [NX | XX] [EX seconds]`.
    pub syntax: &'static str,
    /// How it runs.
    pub exec: Exec,
    /// Subcommands of a container command.
    pub subcommands: &'static [Command],
}

impl Command {
    /// Whether `argc` arguments (name included) satisfy the arity.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let a = self.arity;
        if a >= 0 {
            argc == a as usize
        } else {
            argc >= a.unsigned_abs() as usize
        }
    }

    /// Whether the command writes.
    pub fn is_write(&self) -> bool {
        self.flags & WRITE != 0
    }

    /// A subcommand by name (ASCII case-insensitive).
    pub fn subcommand(&self, name: &[u8]) -> Option<&'static Command> {
        self.subcommands
            .iter()
            .find(|c| c.name.as_bytes().eq_ignore_ascii_case(name))
    }

    /// Positions of the keys in `args` (`args[0]` is the name), for COMMAND GETKEYS: the
    /// static key spec, plus what commands with movable keys name in their arguments (a
    /// `numkeys` count, `STORE` destinations). `None` when the arguments do not name their
    /// keys validly (a bad `numkeys`).
    pub fn keys_in(&self, args: &[Bytes]) -> Option<Vec<usize>> {
        // (position of numkeys, keys fixed before it)
        let numkeys = |at: usize, fixed: &[usize]| -> Option<Vec<usize>> {
            let n = crate::num::parse_i64(args.get(at)?)?;
            let n = usize::try_from(n).ok().filter(|n| *n > 0)?;
            let end = at.checked_add(n)?;
            if end >= args.len() {
                return None;
            }
            Some(fixed.iter().copied().chain(at + 1..=end).collect())
        };
        match self.name {
            "zunion" | "zinter" | "zdiff" | "zintercard" | "sintercard" | "lmpop" | "zmpop" => {
                numkeys(1, &[])
            }
            "zunionstore" | "zinterstore" | "zdiffstore" => numkeys(2, &[1]),
            "xread" | "xreadgroup" => {
                let at = args
                    .iter()
                    .position(|a| a.eq_ignore_ascii_case(b"STREAMS"))?
                    + 1;
                let n = (args.len() - at) / 2;
                (n > 0 && (args.len() - at) % 2 == 0).then(|| (at..at + n).collect())
            }
            "blmpop" | "bzmpop" | "eval" | "evalsha" | "eval_ro" | "evalsha_ro" | "fcall"
            | "fcall_ro" => numkeys(2, &[]),
            "sort" | "georadius" | "georadiusbymember" => {
                let mut keys = self.key_positions(args.len());
                let mut i = 2;
                while i + 1 < args.len() {
                    let a = &args[i];
                    if a.eq_ignore_ascii_case(b"STORE") || a.eq_ignore_ascii_case(b"STOREDIST") {
                        keys.push(i + 1);
                        i += 1;
                    }
                    i += 1;
                }
                Some(keys)
            }
            _ => Some(self.key_positions(args.len())),
        }
    }

    /// Positions of the keys in `args` (name at 0), from the key spec.
    pub fn key_positions(&self, argc: usize) -> Vec<usize> {
        let (first, last, step) = self.keys;
        if first <= 0 || step <= 0 || argc as i32 <= first {
            return Vec::new();
        }
        let last = if last < 0 {
            argc as i32 + last
        } else {
            last.min(argc as i32 - 1)
        };
        (first..=last)
            .step_by(step as usize)
            .map(|i| i as usize)
            .collect()
    }
}

#[allow(clippy::too_many_arguments)] // a positional table row reads best as one call
const fn c(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: (i32, i32, i32),
    group: &'static str,
    since: &'static str,
    syntax: &'static str,
    summary: &'static str,
    exec: Exec,
) -> Command {
    Command {
        name,
        arity,
        flags,
        keys,
        group,
        summary,
        since,
        syntax,
        exec,
        subcommands: &[],
    }
}

const fn container(
    name: &'static str,
    group: &'static str,
    since: &'static str,
    summary: &'static str,
    subcommands: &'static [Command],
) -> Command {
    Command {
        name,
        arity: -2,
        flags: 0,
        keys: (0, 0, 0),
        group,
        summary,
        since,
        syntax: "",
        exec: Exec::Container,
        subcommands,
    }
}

const NK: (i32, i32, i32) = (0, 0, 0);
const K1: (i32, i32, i32) = (1, 1, 1);
const KALL: (i32, i32, i32) = (1, -1, 1);
const K12: (i32, i32, i32) = (1, 2, 1);
const KPAIRS: (i32, i32, i32) = (1, -1, 2);
/// Every argument but the last (the timeout of BLPOP / BRPOP).
const KBLOCK: (i32, i32, i32) = (1, -2, 1);

use Exec::{Engine as E, Server as S};
use ServerCmd as SC;

const R: u32 = READONLY;
const RF: u32 = READONLY | FAST;
const W: u32 = WRITE;
const WD: u32 = WRITE | DENYOOM;
const WDF: u32 = WRITE | DENYOOM | FAST;
const WF: u32 = WRITE | FAST;
const CONN: u32 = NOSCRIPT | LOADING | STALE | FAST;
const RM: u32 = READONLY | MOVABLE_KEYS;
const WDM: u32 = WRITE | DENYOOM | MOVABLE_KEYS;

static OBJECT_SUBS: [Command; 5] = [
    c(
        "encoding",
        3,
        R,
        (2, 2, 1),
        "generic",
        "2.2.3",
        "key",
        "Returns the internal encoding of a Redis object.",
        E(keys::object),
    ),
    c(
        "freq",
        3,
        R,
        (2, 2, 1),
        "generic",
        "4.0.0",
        "key",
        "Returns the logarithmic access frequency counter of a Redis object.",
        E(keys::object),
    ),
    c(
        "idletime",
        3,
        R,
        (2, 2, 1),
        "generic",
        "2.2.3",
        "key",
        "Returns the time since the last access to a Redis object.",
        E(keys::object),
    ),
    c(
        "refcount",
        3,
        R,
        (2, 2, 1),
        "generic",
        "2.2.3",
        "key",
        "Returns the reference count of a value of a key.",
        E(keys::object),
    ),
    c(
        "help",
        2,
        LOADING | STALE,
        NK,
        "generic",
        "6.2.0",
        "",
        "Returns helpful text about the different subcommands.",
        E(keys::object),
    ),
];

static MEMORY_SUBS: [Command; 2] = [
    c(
        "usage",
        -3,
        R,
        (2, 2, 1),
        "server",
        "4.0.0",
        "key [SAMPLES count]",
        "Estimates the memory usage of a key.",
        E(keys::memory),
    ),
    c(
        "help",
        2,
        LOADING | STALE,
        NK,
        "server",
        "4.0.0",
        "",
        "Returns helpful text about the different subcommands.",
        E(keys::memory),
    ),
];

static COMMAND_SUBS: [Command; 6] = [
    c(
        "count",
        2,
        LOADING | STALE,
        NK,
        "server",
        "2.8.13",
        "",
        "Returns a count of commands.",
        E(meta::command),
    ),
    c(
        "docs",
        -2,
        LOADING | STALE,
        NK,
        "server",
        "7.0.0",
        "[command-name [command-name ...]]",
        "Returns documentary information about one, multiple or all commands.",
        E(meta::command),
    ),
    c(
        "getkeys",
        -4,
        LOADING | STALE,
        NK,
        "server",
        "2.8.13",
        "command [arg [arg ...]]",
        "Extracts the key names from an arbitrary command.",
        E(meta::command),
    ),
    c(
        "info",
        -2,
        LOADING | STALE,
        NK,
        "server",
        "2.8.13",
        "[command-name [command-name ...]]",
        "Returns information about one, multiple or all commands.",
        E(meta::command),
    ),
    c(
        "list",
        -2,
        LOADING | STALE,
        NK,
        "server",
        "7.0.0",
        "[FILTERBY MODULE module-name | ACLCAT category | PATTERN pattern]",
        "Returns a list of command names.",
        E(meta::command),
    ),
    c(
        "help",
        2,
        LOADING | STALE,
        NK,
        "server",
        "5.0.0",
        "",
        "Returns helpful text about the different subcommands.",
        E(meta::command),
    ),
];

const CFG: u32 = ADMIN | NOSCRIPT | LOADING | STALE;
static CONFIG_SUBS: [Command; 5] = [
    c(
        "get",
        -3,
        CFG,
        NK,
        "server",
        "2.0.0",
        "parameter [parameter ...]",
        "Returns the effective values of configuration parameters.",
        S(SC::Config),
    ),
    c(
        "set",
        -4,
        CFG | MAY_REPLICATE,
        NK,
        "server",
        "2.0.0",
        "parameter value [parameter value ...]",
        "Sets configuration parameters in-flight.",
        S(SC::Config),
    ),
    c(
        "resetstat",
        2,
        CFG,
        NK,
        "server",
        "2.0.0",
        "",
        "Resets the server's statistics.",
        S(SC::Config),
    ),
    c(
        "rewrite",
        2,
        CFG,
        NK,
        "server",
        "2.8.0",
        "",
        "Persists the effective configuration to file.",
        S(SC::Config),
    ),
    c(
        "help",
        2,
        LOADING | STALE,
        NK,
        "server",
        "5.0.0",
        "",
        "Returns helpful text about the different subcommands.",
        S(SC::Config),
    ),
];

const CL: u32 = ADMIN | NOSCRIPT | LOADING | STALE;
const CLC: u32 = NOSCRIPT | LOADING | STALE;
static CLIENT_SUBS: [Command; 14] = [
    c("list", -2, CL, NK, "connection", "2.4.0", "[TYPE NORMAL | MASTER | REPLICA | PUBSUB] [ID client-id [client-id ...]]", "Lists open connections.", S(SC::Client)),
    c("id", 2, CLC, NK, "connection", "5.0.0", "", "Returns the unique client ID of the connection.", S(SC::Client)),
    c("info", 2, CLC, NK, "connection", "6.2.0", "", "Returns information about the connection.", S(SC::Client)),
    c("setname", 3, CLC, NK, "connection", "2.6.9", "connection-name", "Sets the connection name.", S(SC::Client)),
    c("getname", 2, CLC, NK, "connection", "2.6.9", "", "Returns the name of the connection.", S(SC::Client)),
    c("kill", -3, CL, NK, "connection", "2.4.0", "ip:port | [ID client-id] [TYPE NORMAL | MASTER | SLAVE | REPLICA | PUBSUB] [USER username] [ADDR ip:port] [LADDR ip:port] [SKIPME YES | NO]", "Terminates open connections.", S(SC::Client)),
    c("setinfo", 4, CLC, NK, "connection", "7.2.0", "LIB-NAME libname | LIB-VER libver", "Sets information specific to the client or connection.", S(SC::Client)),
    c("no-evict", 3, CL, NK, "connection", "7.0.0", "ON | OFF", "Sets the client eviction mode of the connection.", S(SC::Client)),
    c("no-touch", 3, CLC, NK, "connection", "7.2.0", "ON | OFF", "Controls whether commands sent by the client affect the LRU/LFU of accessed keys.", S(SC::Client)),
    c("reply", 3, CLC, NK, "connection", "3.2.0", "ON | OFF | SKIP", "Instructs the server whether to reply to commands.", S(SC::Client)),
    c("pause", -3, CL, NK, "connection", "3.0.0", "timeout [WRITE | ALL]", "Suspends commands processing.", S(SC::Client)),
    c("unpause", 2, CL, NK, "connection", "6.2.0", "", "Resumes processing commands from paused clients.", S(SC::Client)),
    c("unblock", -3, CL, NK, "connection", "5.0.0", "client-id [TIMEOUT | ERROR]", "Unblocks a client blocked by a blocking command from a different connection.", S(SC::Client)),
    c("help", 2, LOADING | STALE, NK, "connection", "5.0.0", "", "Returns helpful text about the different subcommands.", S(SC::Client)),
];

static DEBUG_SUBS: [Command; 4] = [
    c(
        "fail-log-fsync",
        2,
        ADMIN | NOSCRIPT,
        NK,
        "server",
        "1.0.0",
        "",
        "Makes the next fsync of the write-ahead log fail (fault injection).",
        S(SC::Debug),
    ),
    c(
        "sleep",
        3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        NK,
        "server",
        "1.0.0",
        "seconds",
        "Blocks the connection for a number of seconds.",
        S(SC::Debug),
    ),
    c(
        "error",
        3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        NK,
        "server",
        "1.0.0",
        "message",
        "Replies with the given error message.",
        S(SC::Debug),
    ),
    c(
        "help",
        2,
        LOADING | STALE,
        NK,
        "server",
        "1.0.0",
        "",
        "Returns helpful text about the different subcommands.",
        S(SC::Debug),
    ),
];

static SLOWLOG_SUBS: [Command; 4] = [
    c(
        "get",
        -2,
        ADMIN | LOADING | STALE,
        NK,
        "server",
        "2.2.12",
        "[count]",
        "Returns the slow log's entries.",
        S(SC::Slowlog),
    ),
    c(
        "len",
        2,
        ADMIN | LOADING | STALE,
        NK,
        "server",
        "2.2.12",
        "",
        "Returns the number of entries in the slow log.",
        S(SC::Slowlog),
    ),
    c(
        "reset",
        2,
        ADMIN | LOADING | STALE,
        NK,
        "server",
        "2.2.12",
        "",
        "Clears all entries from the slow log.",
        S(SC::Slowlog),
    ),
    c(
        "help",
        2,
        LOADING | STALE,
        NK,
        "server",
        "6.2.0",
        "",
        "Show helpful text about the different subcommands.",
        S(SC::Slowlog),
    ),
];

static ACL_SUBS: [Command; 5] = [
    c(
        "whoami",
        2,
        NOSCRIPT | LOADING | STALE,
        NK,
        "server",
        "6.0.0",
        "",
        "Returns the authenticated username of the current connection.",
        S(SC::Acl),
    ),
    c(
        "list",
        2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        NK,
        "server",
        "6.0.0",
        "",
        "Dumps the effective rules in ACL file format.",
        S(SC::Acl),
    ),
    c(
        "cat",
        -2,
        NOSCRIPT | LOADING | STALE,
        NK,
        "server",
        "6.0.0",
        "[category]",
        "Lists the ACL categories, or the commands inside a category.",
        S(SC::Acl),
    ),
    c(
        "getuser",
        3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        NK,
        "server",
        "6.0.0",
        "username",
        "Lists the ACL rules of a user.",
        S(SC::Acl),
    ),
    c(
        "help",
        2,
        LOADING | STALE,
        NK,
        "server",
        "6.0.0",
        "",
        "Returns helpful text about the different subcommands.",
        S(SC::Acl),
    ),
];

static LATENCY_SUBS: [Command; 4] = [
    c(
        "latest",
        2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        NK,
        "server",
        "2.8.13",
        "",
        "Returns the latest latency samples for all events.",
        S(SC::Latency),
    ),
    c(
        "history",
        3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        NK,
        "server",
        "2.8.13",
        "event",
        "Returns timestamp-latency samples for an event.",
        S(SC::Latency),
    ),
    c(
        "reset",
        -2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        NK,
        "server",
        "2.8.13",
        "[event [event ...]]",
        "Resets the latency data for one or more events.",
        S(SC::Latency),
    ),
    c(
        "help",
        2,
        LOADING | STALE,
        NK,
        "server",
        "2.8.13",
        "",
        "Returns helpful text about the different subcommands.",
        S(SC::Latency),
    ),
];

static MODULE_SUBS: [Command; 2] = [
    c(
        "list",
        2,
        ADMIN | NOSCRIPT,
        NK,
        "server",
        "4.0.0",
        "",
        "Returns all loaded modules.",
        S(SC::Module),
    ),
    c(
        "help",
        2,
        LOADING | STALE,
        NK,
        "server",
        "5.0.0",
        "",
        "Returns helpful text about the different subcommands.",
        S(SC::Module),
    ),
];

/// Every command, sorted by name.
static PUBSUB_SUBS: [Command; 6] = [
    c(
        "channels",
        -2,
        PUBSUB | LOADING | STALE,
        NK,
        "pubsub",
        "2.8.0",
        "[pattern]",
        "Returns the active channels.",
        S(SC::Pubsub),
    ),
    c(
        "help",
        2,
        LOADING | STALE,
        NK,
        "pubsub",
        "6.2.0",
        "",
        "Returns helpful text about the different subcommands.",
        S(SC::Pubsub),
    ),
    c(
        "numpat",
        2,
        PUBSUB | LOADING | STALE,
        NK,
        "pubsub",
        "2.8.0",
        "",
        "Returns a count of unique pattern subscriptions.",
        S(SC::Pubsub),
    ),
    c(
        "numsub",
        -2,
        PUBSUB | LOADING | STALE,
        NK,
        "pubsub",
        "2.8.0",
        "[channel [channel ...]]",
        "Returns a count of subscribers to channels.",
        S(SC::Pubsub),
    ),
    c(
        "shardchannels",
        -2,
        PUBSUB | LOADING | STALE,
        NK,
        "pubsub",
        "7.0.0",
        "[pattern]",
        "Returns the active shard channels.",
        S(SC::Pubsub),
    ),
    c(
        "shardnumsub",
        -2,
        PUBSUB | LOADING | STALE,
        NK,
        "pubsub",
        "7.0.0",
        "[shardchannel [shardchannel ...]]",
        "Returns the count of subscribers of shard channels.",
        S(SC::Pubsub),
    ),
];

static SCRIPT_SUBS: [Command; 5] = [
    c(
        "exists",
        -3,
        NOSCRIPT,
        NK,
        "scripting",
        "2.6.0",
        "sha1 [sha1 ...]",
        "Determines whether server-side Lua scripts exist in the script cache.",
        S(SC::Script),
    ),
    c(
        "flush",
        -2,
        NOSCRIPT,
        NK,
        "scripting",
        "2.6.0",
        "[ASYNC | SYNC]",
        "Removes all server-side Lua scripts from the script cache.",
        S(SC::Script),
    ),
    c(
        "help",
        2,
        LOADING | STALE,
        NK,
        "scripting",
        "5.0.0",
        "",
        "Returns helpful text about the different subcommands.",
        S(SC::Script),
    ),
    c(
        "kill",
        2,
        NOSCRIPT | ALLOW_BUSY,
        NK,
        "scripting",
        "2.6.0",
        "",
        "Terminates a server-side Lua script during execution.",
        S(SC::Script),
    ),
    c(
        "load",
        3,
        NOSCRIPT | STALE,
        NK,
        "scripting",
        "2.6.0",
        "script",
        "Loads a server-side Lua script to the script cache.",
        S(SC::Script),
    ),
];

static FUNCTION_SUBS: [Command; 7] = [
    c(
        "delete",
        3,
        WRITE | NOSCRIPT,
        NK,
        "scripting",
        "7.0.0",
        "library-name",
        "Deletes a library and its functions.",
        S(SC::Function),
    ),
    c(
        "flush",
        -2,
        WRITE | NOSCRIPT,
        NK,
        "scripting",
        "7.0.0",
        "[ASYNC | SYNC]",
        "Deletes all libraries and functions.",
        S(SC::Function),
    ),
    c(
        "help",
        2,
        LOADING | STALE,
        NK,
        "scripting",
        "7.0.0",
        "",
        "Returns helpful text about the different subcommands.",
        S(SC::Function),
    ),
    c(
        "kill",
        2,
        NOSCRIPT | ALLOW_BUSY,
        NK,
        "scripting",
        "7.0.0",
        "",
        "Terminates a function during execution.",
        S(SC::Function),
    ),
    c(
        "list",
        -2,
        NOSCRIPT,
        NK,
        "scripting",
        "7.0.0",
        "[LIBRARYNAME library-name-pattern] [WITHCODE]",
        "Returns information about all libraries.",
        S(SC::Function),
    ),
    c(
        "load",
        -3,
        WRITE | DENYOOM | NOSCRIPT,
        NK,
        "scripting",
        "7.0.0",
        "[REPLACE] function-code",
        "Creates a library.",
        S(SC::Function),
    ),
    c(
        "stats",
        2,
        NOSCRIPT | ALLOW_BUSY,
        NK,
        "scripting",
        "7.0.0",
        "",
        "Returns information about a function during execution.",
        S(SC::Function),
    ),
];

const K2: (i32, i32, i32) = (2, 2, 1);
static XGROUP_SUBS: [Command; 6] = [
    c(
        "create",
        -5,
        WD,
        K2,
        "stream",
        "5.0.0",
        "key group <id | $> [MKSTREAM] [ENTRIESREAD entries-read]",
        "Creates a consumer group.",
        E(stream::xgroup_create),
    ),
    c(
        "createconsumer",
        5,
        WD,
        K2,
        "stream",
        "6.2.0",
        "key group consumer",
        "Creates a consumer in a consumer group.",
        E(stream::xgroup_createconsumer),
    ),
    c(
        "delconsumer",
        5,
        W,
        K2,
        "stream",
        "5.0.0",
        "key group consumer",
        "Deletes a consumer from a consumer group.",
        E(stream::xgroup_delconsumer),
    ),
    c(
        "destroy",
        4,
        W,
        K2,
        "stream",
        "5.0.0",
        "key group",
        "Destroys a consumer group.",
        E(stream::xgroup_destroy),
    ),
    c(
        "help",
        2,
        LOADING | STALE,
        NK,
        "stream",
        "5.0.0",
        "",
        "Returns helpful text about the different subcommands.",
        E(stream::xgroup_help),
    ),
    c(
        "setid",
        -5,
        W,
        K2,
        "stream",
        "5.0.0",
        "key group <id | $> [ENTRIESREAD entries-read]",
        "Sets the last-delivered ID of a consumer group.",
        E(stream::xgroup_setid),
    ),
];

static XINFO_SUBS: [Command; 4] = [
    c(
        "consumers",
        4,
        R,
        K2,
        "stream",
        "5.0.0",
        "key group",
        "Returns a list of the consumers in a consumer group.",
        E(stream::xinfo_consumers),
    ),
    c(
        "groups",
        3,
        R,
        K2,
        "stream",
        "5.0.0",
        "key",
        "Returns a list of the consumer groups of a stream.",
        E(stream::xinfo_groups),
    ),
    c(
        "help",
        2,
        LOADING | STALE,
        NK,
        "stream",
        "5.0.0",
        "",
        "Returns helpful text about the different subcommands.",
        E(stream::xinfo_help),
    ),
    c(
        "stream",
        -3,
        R,
        K2,
        "stream",
        "5.0.0",
        "key [FULL [COUNT count]]",
        "Returns information about a stream.",
        E(stream::xinfo_stream),
    ),
];

pub static COMMANDS: &[Command] = &[
    container("acl", "server", "6.0.0", "A container for Access List Control commands.", &ACL_SUBS),
    c("append", 3, WDF, K1, "string", "2.0.0", "key value", "Appends a string to the value of a key. Creates the key if it doesn't exist.", E(string::append)),
    c("auth", -2, NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY, NK, "connection", "1.0.0", "[username] password", "Authenticates the connection.", S(SC::Auth)),
    c("bgrewriteaof", 1, ADMIN | NOSCRIPT, NK, "server", "1.0.0", "", "Asynchronously rewrites the append-only file to disk.", S(SC::Bgrewriteaof)),
    c("bgsave", -1, ADMIN | NOSCRIPT, NK, "server", "1.0.0", "[SCHEDULE]", "Asynchronously saves the database(s) to disk.", S(SC::Bgsave)),
    c("bitcount", -2, R, K1, "bitmap", "2.6.0", "key [start end [BYTE | BIT]]", "Counts the number of set bits (population counting) in a string.", E(bitmap::bitcount)),
    c("bitfield", -2, WD, K1, "bitmap", "3.2.0", "key [GET encoding offset | [OVERFLOW <WRAP | SAT | FAIL>] <SET encoding offset value | INCRBY encoding offset increment> [GET encoding offset | [OVERFLOW <WRAP | SAT | FAIL>] <SET encoding offset value | INCRBY encoding offset increment> ...]]", "Performs arbitrary bitfield integer operations on strings.", E(bitmap::bitfield)),
    c("bitfield_ro", -2, RF, K1, "bitmap", "6.0.0", "key [GET encoding offset [GET encoding offset ...]]", "Performs arbitrary read-only bitfield integer operations on strings.", E(bitmap::bitfield_ro)),
    c("bitop", -4, WD, (2, -1, 1), "bitmap", "2.6.0", "<AND | OR | XOR | NOT> destkey key [key ...]", "Performs bitwise operations on multiple strings, and stores the result.", E(bitmap::bitop)),
    c("bitpos", -3, R, K1, "bitmap", "2.8.7", "key bit [start [end [BYTE | BIT]]]", "Finds the first set (1) or clear (0) bit in a string.", E(bitmap::bitpos)),
    c("blmove", 6, WD | NOSCRIPT | BLOCKING, K12, "list", "6.2.0", "source destination LEFT | RIGHT LEFT | RIGHT timeout", "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.", E(list::blmove)),
    c("blmpop", -5, W | BLOCKING | MOVABLE_KEYS | NOSCRIPT, NK, "list", "7.0.0", "timeout numkeys key [key ...] LEFT | RIGHT [COUNT count]", "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", E(list::blmpop)),
    c("blpop", -3, W | NOSCRIPT | BLOCKING, KBLOCK, "list", "2.0.0", "key [key ...] timeout", "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", E(list::bpop)),
    c("brpop", -3, W | NOSCRIPT | BLOCKING, KBLOCK, "list", "2.0.0", "key [key ...] timeout", "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", E(list::bpop)),
    c("brpoplpush", 4, WD | NOSCRIPT | BLOCKING, K12, "list", "2.2.0", "source destination timeout", "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.", E(list::brpoplpush)),
    c("bzmpop", -5, WRITE | BLOCKING | MOVABLE_KEYS | NOSCRIPT, NK, "sorted_set", "7.0.0", "timeout numkeys key [key ...] <MIN | MAX> [COUNT count]", "Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.", E(zset::bzmpop)),
    c("bzpopmax", -3, WRITE | NOSCRIPT | BLOCKING | FAST, KBLOCK, "sorted_set", "5.0.0", "key [key ...] timeout", "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member available otherwise.  Deletes the sorted set if the last element was popped.", E(zset::bzpop)),
    c("bzpopmin", -3, WRITE | NOSCRIPT | BLOCKING | FAST, KBLOCK, "sorted_set", "5.0.0", "key [key ...] timeout", "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.", E(zset::bzpop)),
    container("client", "connection", "2.4.0", "A container for client connection commands.", &CLIENT_SUBS),
    Command {
        name: "command",
        arity: -1,
        flags: LOADING | STALE,
        keys: NK,
        group: "server",
        summary: "Returns detailed information about all commands.",
        since: "2.8.13",
        syntax: "",
        exec: E(meta::command),
        subcommands: &COMMAND_SUBS,
    },
    container("config", "server", "2.0.0", "A container for server configuration commands.", &CONFIG_SUBS),
    c("copy", -3, WD, K12, "generic", "6.2.0", "source destination [DB destination-db] [REPLACE]", "Copies the value of a key to a new key.", E(keys::copy)),
    c("dbsize", 1, RF, NK, "server", "1.0.0", "", "Returns the number of keys in the database.", E(keys::dbsize)),
    container("debug", "server", "1.0.0", "A container for debugging commands.", &DEBUG_SUBS),
    c("decr", 2, WDF, K1, "string", "1.0.0", "key", "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", E(string::incr)),
    c("decrby", 3, WDF, K1, "string", "1.0.0", "key decrement", "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.", E(string::incr)),
    c("del", -2, W, KALL, "generic", "1.0.0", "key [key ...]", "Deletes one or more keys.", E(keys::del)),
    c("discard", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, NK, "transactions", "2.0.0", "", "Discards a transaction.", S(SC::Discard)),
    c("echo", 2, FAST, NK, "connection", "1.0.0", "message", "Returns the given string.", S(SC::Echo)),
    c("eval", -3, NOSCRIPT | SKIP_MONITOR | MAY_REPLICATE | STALE | MOVABLE_KEYS, NK, "scripting", "2.6.0", "script numkeys [key [key ...]] [arg [arg ...]]", "Executes a server-side Lua script.", S(SC::Eval)),
    c("eval_ro", -3, NOSCRIPT | SKIP_MONITOR | MAY_REPLICATE | STALE | MOVABLE_KEYS | READONLY, NK, "scripting", "7.0.0", "script numkeys [key [key ...]] [arg [arg ...]]", "Executes a read-only server-side Lua script.", S(SC::EvalRo)),
    c("evalsha", -3, NOSCRIPT | SKIP_MONITOR | MAY_REPLICATE | STALE | MOVABLE_KEYS, NK, "scripting", "2.6.0", "sha1 numkeys [key [key ...]] [arg [arg ...]]", "Executes a server-side Lua script by SHA1 digest.", S(SC::Evalsha)),
    c("evalsha_ro", -3, NOSCRIPT | SKIP_MONITOR | MAY_REPLICATE | STALE | MOVABLE_KEYS | READONLY, NK, "scripting", "7.0.0", "sha1 numkeys [key [key ...]] [arg [arg ...]]", "Executes a read-only server-side Lua script by SHA1 digest.", S(SC::EvalshaRo)),
    c("exec", 1, NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG, NK, "transactions", "1.2.0", "", "Executes all commands in a transaction.", S(SC::Exec)),
    c("exists", -2, RF, KALL, "generic", "1.0.0", "key [key ...]", "Determines whether one or more keys exist.", E(keys::exists)),
    c("expire", -3, WF, K1, "generic", "1.0.0", "key seconds [NX | XX | GT | LT]", "Sets the expiration time of a key in seconds.", E(keys::expire)),
    c("expireat", -3, WF, K1, "generic", "1.2.0", "key unix-time-seconds [NX | XX | GT | LT]", "Sets the expiration time of a key to a Unix timestamp.", E(keys::expire)),
    c("expiretime", 2, RF, K1, "generic", "7.0.0", "key", "Returns the expiration time of a key as a Unix timestamp.", E(keys::ttl)),
    c("fcall", -3, NOSCRIPT | SKIP_MONITOR | MAY_REPLICATE | STALE | MOVABLE_KEYS, NK, "scripting", "7.0.0", "function numkeys [key [key ...]] [arg [arg ...]]", "Invokes a function.", S(SC::Fcall)),
    c("fcall_ro", -3, NOSCRIPT | SKIP_MONITOR | MAY_REPLICATE | STALE | MOVABLE_KEYS | READONLY, NK, "scripting", "7.0.0", "function numkeys [key [key ...]] [arg [arg ...]]", "Invokes a read-only function.", S(SC::FcallRo)),
    c("flushall", -1, W, NK, "server", "1.0.0", "[ASYNC | SYNC]", "Removes all keys from all databases.", E(keys::flushall)),
    c("flushdb", -1, W, NK, "server", "1.0.0", "[ASYNC | SYNC]", "Remove all keys from the current database.", E(keys::flushdb)),
    container("function", "scripting", "7.0.0", "A container for function commands.", &FUNCTION_SUBS),
    c("geoadd", -5, WD, K1, "geo", "3.2.0", "key [NX | XX] [CH] longitude latitude member [longitude latitude member ...]", "Adds one or more members to a geospatial index. The key is created if it doesn't exist.", E(geo::geoadd)),
    c("geodist", -4, R, K1, "geo", "3.2.0", "key member1 member2 [M | KM | FT | MI]", "Returns the distance between two members of a geospatial index.", E(geo::geodist)),
    c("geohash", -2, R, K1, "geo", "3.2.0", "key [member [member ...]]", "Returns members from a geospatial index as geohash strings.", E(geo::geohash)),
    c("geopos", -2, R, K1, "geo", "3.2.0", "key [member [member ...]]", "Returns the longitude and latitude of members from a geospatial index.", E(geo::geopos)),
    c("georadius", -6, WDM, K1, "geo", "3.2.0", "key longitude latitude radius <M | KM | FT | MI> [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]] [ASC | DESC] [STORE key | STOREDIST key]", "Queries a geospatial index for members within a distance from a coordinate, optionally stores the result.", E(geo::georadius)),
    c("georadius_ro", -6, R, K1, "geo", "3.2.10", "key longitude latitude radius <M | KM | FT | MI> [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]] [ASC | DESC]", "Returns members from a geospatial index that are within a distance from a coordinate.", E(geo::georadius_ro)),
    c("georadiusbymember", -5, WDM, K1, "geo", "3.2.0", "key member radius <M | KM | FT | MI> [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]] [ASC | DESC] [STORE key | STOREDIST key]", "Queries a geospatial index for members within a distance from a member, optionally stores the result.", E(geo::georadiusbymember)),
    c("georadiusbymember_ro", -5, R, K1, "geo", "3.2.10", "key member radius <M | KM | FT | MI> [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]] [ASC | DESC]", "Returns members from a geospatial index that are within a distance from a member.", E(geo::georadiusbymember_ro)),
    c("geosearch", -7, R, K1, "geo", "6.2.0", "key <FROMMEMBER member | FROMLONLAT longitude latitude> <BYRADIUS radius <M | KM | FT | MI> | BYBOX width height <M | KM | FT | MI>> [ASC | DESC] [COUNT count [ANY]] [WITHCOORD] [WITHDIST] [WITHHASH]", "Queries a geospatial index for members inside an area of a box or a circle.", E(geo::geosearch)),
    c("geosearchstore", -8, WD, K12, "geo", "6.2.0", "destination source <FROMMEMBER member | FROMLONLAT longitude latitude> <BYRADIUS radius <M | KM | FT | MI> | BYBOX width height <M | KM | FT | MI>> [ASC | DESC] [COUNT count [ANY]] [STOREDIST]", "Queries a geospatial index for members inside an area of a box or a circle, optionally stores the result.", E(geo::geosearchstore)),
    c("get", 2, RF, K1, "string", "1.0.0", "key", "Returns the string value of a key.", E(string::get)),
    c("getbit", 3, RF, K1, "bitmap", "2.2.0", "key offset", "Returns a bit value by offset.", E(bitmap::getbit)),
    c("getdel", 2, WF, K1, "string", "6.2.0", "key", "Returns the string value of a key after deleting the key.", E(string::getdel)),
    c("getex", -2, WF, K1, "string", "6.2.0", "key [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | PERSIST]", "Returns the string value of a key after setting its expiration time.", E(string::getex)),
    c("getrange", 4, R, K1, "string", "2.4.0", "key start end", "Returns a substring of the string stored at a key.", E(string::getrange)),
    c("getset", 3, WDF, K1, "string", "1.0.0", "key value", "Returns the previous string value of a key after setting it to a new value.", E(string::getset)),
    c("hdel", -3, WF, K1, "hash", "2.0.0", "key field [field ...]", "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.", E(hash::hdel)),
    c("hello", -1, CONN | NO_AUTH | ALLOW_BUSY, NK, "connection", "6.0.0", "[protover [AUTH username password] [SETNAME clientname]]", "Handshakes with the Redis server.", S(SC::Hello)),
    c("hexists", 3, RF, K1, "hash", "2.0.0", "key field", "Determines whether a field exists in a hash.", E(hash::hexists)),
    c("hget", 3, RF, K1, "hash", "2.0.0", "key field", "Returns the value of a field in a hash.", E(hash::hget)),
    c("hgetall", 2, R, K1, "hash", "2.0.0", "key", "Returns all fields and values in a hash.", E(hash::hgetall)),
    c("hincrby", 4, WDF, K1, "hash", "2.0.0", "key field increment", "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist.", E(hash::hincrby)),
    c("hincrbyfloat", 4, WDF, K1, "hash", "2.6.0", "key field increment", "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist.", E(hash::hincrbyfloat)),
    c("hkeys", 2, R, K1, "hash", "2.0.0", "key", "Returns all fields in a hash.", E(hash::hkeys)),
    c("hlen", 2, RF, K1, "hash", "2.0.0", "key", "Returns the number of fields in a hash.", E(hash::hlen)),
    c("hmget", -3, RF, K1, "hash", "2.0.0", "key field [field ...]", "Returns the values of all fields in a hash.", E(hash::hmget)),
    c("hmset", -4, WDF, K1, "hash", "2.0.0", "key field value [field value ...]", "Sets the values of multiple fields.", E(hash::hmset)),
    c("hrandfield", -2, R, K1, "hash", "6.2.0", "key [count [WITHVALUES]]", "Returns one or more random fields from a hash.", E(hash::hrandfield)),
    c("hscan", -3, R, K1, "hash", "2.8.0", "key cursor [MATCH pattern] [COUNT count]", "Iterates over fields and values of a hash.", E(hash::hscan)),
    c("hset", -4, WDF, K1, "hash", "2.0.0", "key field value [field value ...]", "Creates or modifies the value of a field in a hash.", E(hash::hset)),
    c("hsetnx", 4, WDF, K1, "hash", "2.0.0", "key field value", "Sets the value of a field in a hash only when the field doesn't exist.", E(hash::hsetnx)),
    c("hstrlen", 3, RF, K1, "hash", "3.2.0", "key field", "Returns the length of the value of a field.", E(hash::hstrlen)),
    c("hvals", 2, R, K1, "hash", "2.0.0", "key", "Returns all values in a hash.", E(hash::hkeys)),
    c("incr", 2, WDF, K1, "string", "1.0.0", "key", "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", E(string::incr)),
    c("incrby", 3, WDF, K1, "string", "1.0.0", "key increment", "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.", E(string::incr)),
    c("incrbyfloat", 3, WDF, K1, "string", "2.6.0", "key increment", "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.", E(string::incrbyfloat)),
    c("info", -1, LOADING | STALE, NK, "server", "1.0.0", "[section [section ...]]", "Returns information and statistics about the server.", S(SC::Info)),
    c("keys", 2, R, NK, "generic", "1.0.0", "pattern", "Returns all key names that match a pattern.", E(keys::keys)),
    c("lastsave", 1, LOADING | STALE | FAST, NK, "server", "1.0.0", "", "Returns the Unix timestamp of the last successful save to disk.", S(SC::Lastsave)),
    container("latency", "server", "2.8.13", "A container for latency diagnostics commands.", &LATENCY_SUBS),
    c("lindex", 3, R, K1, "list", "1.0.0", "key index", "Returns an element from a list by its index.", E(list::lindex)),
    c("linsert", 5, WD, K1, "list", "2.2.0", "key BEFORE | AFTER pivot element", "Inserts an element before or after another element in a list.", E(list::linsert)),
    c("llen", 2, RF, K1, "list", "1.0.0", "key", "Returns the length of a list.", E(list::llen)),
    c("lmove", 5, WD, K12, "list", "6.2.0", "source destination LEFT | RIGHT LEFT | RIGHT", "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.", E(list::lmove)),
    c("lmpop", -4, W | MOVABLE_KEYS, NK, "list", "7.0.0", "numkeys key [key ...] LEFT | RIGHT [COUNT count]", "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.", E(list::lmpop)),
    c("lpop", -2, WF, K1, "list", "1.0.0", "key [count]", "Returns the first elements in a list after removing it. Deletes the list if the last element was popped.", E(list::pop)),
    c("lpos", -3, R, K1, "list", "6.0.6", "key element [RANK rank] [COUNT num-matches] [MAXLEN len]", "Returns the index of matching elements in a list.", E(list::lpos)),
    c("lpush", -3, WDF, K1, "list", "1.0.0", "key element [element ...]", "Prepends one or more elements to a list. Creates the key if it doesn't exist.", E(list::push)),
    c("lpushx", -3, WDF, K1, "list", "2.2.0", "key element [element ...]", "Prepends one or more elements to a list only when the list exists.", E(list::pushx)),
    c("lrange", 4, R, K1, "list", "1.0.0", "key start stop", "Returns a range of elements from a list.", E(list::lrange)),
    c("lrem", 4, W, K1, "list", "1.0.0", "key count element", "Removes elements from a list. Deletes the list if the last element was removed.", E(list::lrem)),
    c("lset", 4, WD, K1, "list", "1.0.0", "key index element", "Sets the value of an element in a list by its index.", E(list::lset)),
    c("ltrim", 4, W, K1, "list", "1.0.0", "key start stop", "Removes elements from both ends a list. Deletes the list if all elements were trimmed.", E(list::ltrim)),
    container("memory", "server", "4.0.0", "A container for memory diagnostics commands.", &MEMORY_SUBS),
    c("mget", -2, RF, KALL, "string", "1.0.0", "key [key ...]", "Atomically returns the string values of one or more keys.", E(string::mget)),
    container("module", "server", "4.0.0", "A container for module commands.", &MODULE_SUBS),
    c("monitor", 1, ADMIN | NOSCRIPT | LOADING | STALE, NK, "server", "1.0.0", "", "Listens for all requests received by the server in real-time.", S(SC::Monitor)),
    c("mset", -3, WD, KPAIRS, "string", "1.0.1", "key value [key value ...]", "Atomically creates or modifies the string values of one or more keys.", E(string::mset)),
    c("msetnx", -3, WD, KPAIRS, "string", "1.0.1", "key value [key value ...]", "Atomically modifies the string values of one or more keys only when all keys don't exist.", E(string::mset)),
    c("multi", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, NK, "transactions", "1.2.0", "", "Starts a transaction.", S(SC::Multi)),
    container("object", "generic", "2.2.3", "A container for object introspection commands.", &OBJECT_SUBS),
    c("persist", 2, WF, K1, "generic", "2.2.0", "key", "Removes the expiration time of a key.", E(keys::persist)),
    c("pexpire", -3, WF, K1, "generic", "2.6.0", "key milliseconds [NX | XX | GT | LT]", "Sets the expiration time of a key in milliseconds.", E(keys::expire)),
    c("pexpireat", -3, WF, K1, "generic", "2.6.0", "key unix-time-milliseconds [NX | XX | GT | LT]", "Sets the expiration time of a key to a Unix milliseconds timestamp.", E(keys::expire)),
    c("pexpiretime", 2, RF, K1, "generic", "7.0.0", "key", "Returns the expiration time of a key as a Unix milliseconds timestamp.", E(keys::ttl)),
    c("pfadd", -2, WDF, K1, "hyperloglog", "2.8.9", "key [element [element ...]]", "Adds elements to a HyperLogLog key. Creates the key if it doesn't exist.", E(hll::pfadd)),
    c("pfcount", -2, R, KALL, "hyperloglog", "2.8.9", "key [key ...]", "Returns the approximated cardinality of the set(s) observed by the HyperLogLog key(s).", E(hll::pfcount)),
    c("pfmerge", -2, WD, KALL, "hyperloglog", "2.8.9", "destkey [sourcekey [sourcekey ...]]", "Merges one or more HyperLogLog values into a single key.", E(hll::pfmerge)),
    c("ping", -1, FAST, NK, "connection", "1.0.0", "[message]", "Returns the server's liveliness response.", S(SC::Ping)),
    c("psetex", 4, WD, K1, "string", "2.6.0", "key milliseconds value", "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.", E(string::setex)),
    c("psubscribe", -2, PUBSUB | NOSCRIPT | LOADING | STALE, NK, "pubsub", "2.0.0", "pattern [pattern ...]", "Listens for messages published to channels that match one or more patterns.", S(SC::Psubscribe)),
    c("pttl", 2, RF, K1, "generic", "2.6.0", "key", "Returns the expiration time in milliseconds of a key.", E(keys::ttl)),
    c("publish", 3, PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE, NK, "pubsub", "2.0.0", "channel message", "Posts a message to a channel.", S(SC::Publish)),
    container("pubsub", "pubsub", "2.8.0", "A container for Pub/Sub commands.", &PUBSUB_SUBS),
    c("punsubscribe", -1, PUBSUB | NOSCRIPT | LOADING | STALE, NK, "pubsub", "2.0.0", "[pattern [pattern ...]]", "Stops listening to messages published to channels that match one or more patterns.", S(SC::Punsubscribe)),
    c("quit", -1, CONN | NO_AUTH | ALLOW_BUSY, NK, "connection", "1.0.0", "", "Closes the connection.", S(SC::Quit)),
    c("randomkey", 1, R, NK, "generic", "1.0.0", "", "Returns a random key name from the database.", E(keys::randomkey)),
    c("rename", 3, W, K12, "generic", "1.0.0", "key newkey", "Renames a key and overwrites the destination.", E(keys::rename)),
    c("renamenx", 3, WF, K12, "generic", "1.0.0", "key newkey", "Renames a key only when the target key name doesn't exist.", E(keys::rename)),
    c("reset", 1, CONN | NO_AUTH | ALLOW_BUSY, NK, "connection", "6.2.0", "", "Resets the connection.", S(SC::Reset)),
    c("rpop", -2, WF, K1, "list", "1.0.0", "key [count]", "Returns and removes the last elements of a list. Deletes the list if the last element was popped.", E(list::pop)),
    c("rpoplpush", 3, WD, K12, "list", "1.2.0", "source destination", "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.", E(list::rpoplpush)),
    c("rpush", -3, WDF, K1, "list", "1.0.0", "key element [element ...]", "Appends one or more elements to a list. Creates the key if it doesn't exist.", E(list::push)),
    c("rpushx", -3, WDF, K1, "list", "2.2.0", "key element [element ...]", "Appends an element to a list only when the list exists.", E(list::pushx)),
    c("sadd", -3, WDF, K1, "set", "1.0.0", "key member [member ...]", "Adds one or more members to a set. Creates the key if it doesn't exist.", E(set::sadd)),
    c("save", 1, ADMIN | NOSCRIPT | NO_MULTI, NK, "server", "1.0.0", "", "Synchronously saves the database(s) to disk.", S(SC::Save)),
    c("scan", -2, R, NK, "generic", "2.8.0", "cursor [MATCH pattern] [COUNT count] [TYPE type]", "Iterates over the key names in the database.", E(keys::scan)),
    c("scard", 2, RF, K1, "set", "1.0.0", "key", "Returns the number of members in a set.", E(set::scard)),
    container("script", "scripting", "2.6.0", "A container for Lua scripts management commands.", &SCRIPT_SUBS),
    c("sdiff", -2, R, KALL, "set", "1.0.0", "key [key ...]", "Returns the difference of multiple sets.", E(set::sinter)),
    c("sdiffstore", -3, WD, KALL, "set", "1.0.0", "destination key [key ...]", "Stores the difference of multiple sets in a key.", E(set::sinterstore)),
    c("select", 2, LOADING | STALE | FAST, NK, "connection", "1.0.0", "index", "Changes the selected database.", S(SC::Select)),
    c("set", -3, WD, K1, "string", "1.0.0", "key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL]", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", E(string::set)),
    c("setbit", 4, WD, K1, "bitmap", "2.2.0", "key offset value", "Sets or clears the bit at offset of the string value. Creates the key if it doesn't exist.", E(bitmap::setbit)),
    c("setex", 4, WD, K1, "string", "2.0.0", "key seconds value", "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.", E(string::setex)),
    c("setnx", 3, WDF, K1, "string", "1.0.0", "key value", "Set the string value of a key only when the key doesn't exist.", E(string::setnx)),
    c("setrange", 4, WD, K1, "string", "2.2.0", "key offset value", "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.", E(string::setrange)),
    c("shutdown", -1, ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | ALLOW_BUSY, NK, "server", "1.0.0", "[NOSAVE | SAVE] [NOW] [FORCE] [ABORT]", "Synchronously saves the database(s) to disk and shuts down the Redis server.", S(SC::Shutdown)),
    c("sinter", -2, R, KALL, "set", "1.0.0", "key [key ...]", "Returns the intersect of multiple sets.", E(set::sinter)),
    c("sintercard", -3, R | MOVABLE_KEYS, NK, "set", "7.0.0", "numkeys key [key ...] [LIMIT limit]", "Returns the number of members of the intersect of multiple sets.", E(set::sintercard)),
    c("sinterstore", -3, WD, KALL, "set", "1.0.0", "destination key [key ...]", "Stores the intersect of multiple sets in a key.", E(set::sinterstore)),
    c("sismember", 3, RF, K1, "set", "1.0.0", "key member", "Determines whether a member belongs to a set.", E(set::sismember)),
    container("slowlog", "server", "2.2.12", "A container for slow log commands.", &SLOWLOG_SUBS),
    c("smembers", 2, R, K1, "set", "1.0.0", "key", "Returns all members of a set.", E(set::smembers)),
    c("smismember", -3, RF, K1, "set", "6.2.0", "key member [member ...]", "Determines whether multiple members belong to a set.", E(set::smismember)),
    c("smove", 4, WF, K12, "set", "1.0.0", "source destination member", "Moves a member from one set to another.", E(set::smove)),
    c("sort", -2, WD | MOVABLE_KEYS, K1, "generic", "1.0.0", "key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC | DESC] [ALPHA] [STORE destination]", "Sorts the elements in a list, a set, or a sorted set, optionally storing the result.", E(sort::sort)),
    c("sort_ro", -2, R | MOVABLE_KEYS, K1, "generic", "7.0.0", "key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC | DESC] [ALPHA]", "Returns the sorted elements of a list, a set, or a sorted set.", E(sort::sort_ro)),
    c("spop", -2, WF, K1, "set", "1.0.0", "key [count]", "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.", E(set::spop)),
    c("spublish", 3, PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE, K1, "pubsub", "7.0.0", "shardchannel message", "Post a message to a shard channel", S(SC::Spublish)),
    c("srandmember", -2, R, K1, "set", "1.0.0", "key [count]", "Get one or multiple random members from a set", E(set::srandmember)),
    c("srem", -3, WF, K1, "set", "1.0.0", "key member [member ...]", "Removes one or more members from a set. Deletes the set if the last member was removed.", E(set::srem)),
    c("sscan", -3, R, K1, "set", "2.8.0", "key cursor [MATCH pattern] [COUNT count]", "Iterates over members of a set.", E(set::sscan)),
    c("ssubscribe", -2, PUBSUB | NOSCRIPT | LOADING | STALE, KALL, "pubsub", "7.0.0", "shardchannel [shardchannel ...]", "Listens for messages published to shard channels.", S(SC::Ssubscribe)),
    c("strlen", 2, RF, K1, "string", "2.2.0", "key", "Returns the length of a string value.", E(string::strlen)),
    c("subscribe", -2, PUBSUB | NOSCRIPT | LOADING | STALE, NK, "pubsub", "2.0.0", "channel [channel ...]", "Listens for messages published to channels.", S(SC::Subscribe)),
    c("substr", 4, R, K1, "string", "1.0.0", "key start end", "Returns a substring from a string value.", E(string::getrange)),
    c("sunion", -2, R, KALL, "set", "1.0.0", "key [key ...]", "Returns the union of multiple sets.", E(set::sinter)),
    c("sunionstore", -3, WD, KALL, "set", "1.0.0", "destination key [key ...]", "Stores the union of multiple sets in a key.", E(set::sinterstore)),
    c("sunsubscribe", -1, PUBSUB | NOSCRIPT | LOADING | STALE, KALL, "pubsub", "7.0.0", "[shardchannel [shardchannel ...]]", "Stops listening to messages posted to shard channels.", S(SC::Sunsubscribe)),
    c("swapdb", 3, WF, NK, "server", "4.0.0", "index1 index2", "Swaps two Redis databases.", S(SC::Swapdb)),
    c("time", 1, LOADING | STALE | FAST, NK, "server", "2.6.0", "", "Returns the server time.", S(SC::Time)),
    c("touch", -2, RF, KALL, "generic", "3.2.1", "key [key ...]", "Returns the number of existing keys out of those specified after updating the time they were last accessed.", E(keys::touch)),
    c("ttl", 2, RF, K1, "generic", "1.0.0", "key", "Returns the expiration time in seconds of a key.", E(keys::ttl)),
    c("type", 2, RF, K1, "generic", "1.0.0", "key", "Determines the type of value stored at a key.", E(keys::type_)),
    c("unlink", -2, WF, KALL, "generic", "4.0.0", "key [key ...]", "Asynchronously deletes one or more keys.", E(keys::del)),
    c("unsubscribe", -1, PUBSUB | NOSCRIPT | LOADING | STALE, NK, "pubsub", "2.0.0", "[channel [channel ...]]", "Stops listening to messages posted to channels.", S(SC::Unsubscribe)),
    c("unwatch", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, NK, "transactions", "2.2.0", "", "Forgets about watched keys of a transaction.", S(SC::Unwatch)),
    c("watch", -2, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, KALL, "transactions", "2.2.0", "key [key ...]", "Monitors changes to keys to determine the execution of a transaction.", S(SC::Watch)),
    c("xack", -4, WF, K1, "stream", "5.0.0", "key group id [id ...]", "Returns the number of messages that were successfully acknowledged by the consumer group member of a stream.", E(stream::xack)),
    c("xadd", -5, WDF, K1, "stream", "5.0.0", "key [NOMKSTREAM] [<MAXLEN | MINID> [= | ~] threshold [LIMIT count]] <* | id> field value [field value ...]", "Appends a new message to a stream. Creates the key if it doesn't exist.", E(stream::xadd)),
    c("xautoclaim", -6, WF, K1, "stream", "6.2.0", "key group consumer min-idle-time start [COUNT count] [JUSTID]", "Changes, or acquires, ownership of messages in a consumer group, as if the messages were delivered to as consumer group member.", E(stream::xautoclaim)),
    c("xclaim", -6, WF, K1, "stream", "5.0.0", "key group consumer min-idle-time id [id ...] [IDLE ms] [TIME unix-time-milliseconds] [RETRYCOUNT count] [FORCE] [JUSTID] [LASTID lastid]", "Changes, or acquires, ownership of a message in a consumer group, as if the message was delivered a consumer group member.", E(stream::xclaim)),
    c("xdel", -3, WF, K1, "stream", "5.0.0", "key id [id ...]", "Returns the number of messages after removing them from a stream.", E(stream::xdel)),
    container("xgroup", "stream", "5.0.0", "A container for consumer groups commands.", &XGROUP_SUBS),
    container("xinfo", "stream", "5.0.0", "A container for stream introspection commands.", &XINFO_SUBS),
    c("xlen", 2, RF, K1, "stream", "5.0.0", "key", "Return the number of messages in a stream.", E(stream::xlen)),
    c("xpending", -3, R, K1, "stream", "5.0.0", "key group [[IDLE min-idle-time] start end count [consumer]]", "Returns the information and entries from a stream consumer group's pending entries list.", E(stream::xpending)),
    c("xrange", -4, R, K1, "stream", "5.0.0", "key start end [COUNT count]", "Returns the messages from a stream within a range of IDs.", E(stream::xrange)),
    c("xread", -4, R | BLOCKING | MOVABLE_KEYS, NK, "stream", "5.0.0", "[COUNT count] [BLOCK milliseconds] STREAMS key [key ...] id [id ...]", "Returns messages from multiple streams with IDs greater than the ones requested. Blocks until a message is available otherwise.", E(stream::xread)),
    c("xreadgroup", -7, W | BLOCKING | MOVABLE_KEYS, NK, "stream", "5.0.0", "GROUP group consumer [COUNT count] [BLOCK milliseconds] [NOACK] STREAMS key [key ...] id [id ...]", "Returns new or historical messages from a stream for a consumer in a group. Blocks until a message is available otherwise.", E(stream::xreadgroup)),
    c("xrevrange", -4, R, K1, "stream", "5.0.0", "key end start [COUNT count]", "Returns the messages from a stream within a range of IDs in reverse order.", E(stream::xrange)),
    c("xsetid", -3, WDF, K1, "stream", "5.0.0", "key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]", "An internal command for replicating stream values.", E(stream::xsetid)),
    c("xtrim", -4, W, K1, "stream", "5.0.0", "key <MAXLEN | MINID> [= | ~] threshold [LIMIT count]", "Deletes messages from the beginning of a stream.", E(stream::xtrim)),
    c("zadd", -4, WDF, K1, "sorted_set", "1.2.0", "key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...]", "Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist.", E(zset::zadd)),
    c("zcard", 2, RF, K1, "sorted_set", "1.2.0", "key", "Returns the number of members in a sorted set.", E(zset::zcard)),
    c("zcount", 4, RF, K1, "sorted_set", "2.0.0", "key min max", "Returns the count of members in a sorted set that have scores within a range.", E(zset::zcount)),
    c("zdiff", -3, RM, NK, "sorted_set", "6.2.0", "numkeys key [key ...] [WITHSCORES]", "Returns the difference between multiple sorted sets.", E(zset::zdiff)),
    c("zdiffstore", -4, WDM, K1, "sorted_set", "6.2.0", "destination numkeys key [key ...]", "Stores the difference of multiple sorted sets in a key.", E(zset::zdiffstore)),
    c("zincrby", 4, WDF, K1, "sorted_set", "1.2.0", "key increment member", "Increments the score of a member in a sorted set.", E(zset::zincrby)),
    c("zinter", -3, RM, NK, "sorted_set", "6.2.0", "numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE <SUM | MIN | MAX>] [WITHSCORES]", "Returns the intersect of multiple sorted sets.", E(zset::zinter)),
    c("zintercard", -3, RM, NK, "sorted_set", "7.0.0", "numkeys key [key ...] [LIMIT limit]", "Returns the number of members of the intersect of multiple sorted sets.", E(zset::zintercard)),
    c("zinterstore", -4, WDM, K1, "sorted_set", "2.0.0", "destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE <SUM | MIN | MAX>]", "Stores the intersect of multiple sorted sets in a key.", E(zset::zinterstore)),
    c("zlexcount", 4, RF, K1, "sorted_set", "2.8.9", "key min max", "Returns the number of members in a sorted set within a lexicographical range.", E(zset::zlexcount)),
    c("zmpop", -4, WRITE | MOVABLE_KEYS, NK, "sorted_set", "7.0.0", "numkeys key [key ...] <MIN | MAX> [COUNT count]", "Returns the highest- or lowest-scoring members from one or more sorted sets after removing them. Deletes the sorted set if the last member was popped.", E(zset::zmpop)),
    c("zmscore", -3, RF, K1, "sorted_set", "6.2.0", "key member [member ...]", "Returns the score of one or more members in a sorted set.", E(zset::zmscore)),
    c("zpopmax", -2, WF, K1, "sorted_set", "5.0.0", "key [count]", "Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", E(zset::zpop)),
    c("zpopmin", -2, WF, K1, "sorted_set", "5.0.0", "key [count]", "Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", E(zset::zpop)),
    c("zrandmember", -2, R, K1, "sorted_set", "6.2.0", "key [count [WITHSCORES]]", "Returns one or more random members from a sorted set.", E(zset::zrandmember)),
    c("zrange", -4, R, K1, "sorted_set", "1.2.0", "key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count] [WITHSCORES]", "Returns members in a sorted set within a range of indexes.", E(zset::zrange)),
    c("zrangebylex", -4, R, K1, "sorted_set", "2.8.9", "key min max [LIMIT offset count]", "Returns members in a sorted set within a lexicographical range.", E(zset::zrangebylex)),
    c("zrangebyscore", -4, R, K1, "sorted_set", "1.0.5", "key min max [WITHSCORES] [LIMIT offset count]", "Returns members in a sorted set within a range of scores.", E(zset::zrangebyscore)),
    c("zrangestore", -5, WD, K12, "sorted_set", "6.2.0", "dst src min max [BYSCORE | BYLEX] [REV] [LIMIT offset count]", "Stores a range of members from sorted set in a key.", E(zset::zrangestore)),
    c("zrank", -3, RF, K1, "sorted_set", "2.0.0", "key member [WITHSCORE]", "Returns the index of a member in a sorted set ordered by ascending scores.", E(zset::zrank)),
    c("zrem", -3, WF, K1, "sorted_set", "1.2.0", "key member [member ...]", "Removes one or more members from a sorted set. Deletes the sorted set if all members were removed.", E(zset::zrem)),
    c("zremrangebylex", 4, W, K1, "sorted_set", "2.8.9", "key min max", "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed.", E(zset::zremrange)),
    c("zremrangebyrank", 4, W, K1, "sorted_set", "2.0.0", "key start stop", "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed.", E(zset::zremrange)),
    c("zremrangebyscore", 4, W, K1, "sorted_set", "1.2.0", "key min max", "Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed.", E(zset::zremrange)),
    c("zrevrange", -4, R, K1, "sorted_set", "1.2.0", "key start stop [WITHSCORES]", "Returns members in a sorted set within a range of indexes in reverse order.", E(zset::zrevrange)),
    c("zrevrangebylex", -4, R, K1, "sorted_set", "2.8.9", "key max min [LIMIT offset count]", "Returns members in a sorted set within a lexicographical range in reverse order.", E(zset::zrangebylex)),
    c("zrevrangebyscore", -4, R, K1, "sorted_set", "2.2.0", "key max min [WITHSCORES] [LIMIT offset count]", "Returns members in a sorted set within a range of scores in reverse order.", E(zset::zrangebyscore)),
    c("zrevrank", -3, RF, K1, "sorted_set", "2.0.0", "key member [WITHSCORE]", "Returns the index of a member in a sorted set ordered by descending scores.", E(zset::zrank)),
    c("zscan", -3, R, K1, "sorted_set", "2.8.0", "key cursor [MATCH pattern] [COUNT count]", "Iterates over members and scores of a sorted set.", E(zset::zscan)),
    c("zscore", 3, RF, K1, "sorted_set", "1.2.0", "key member", "Returns the score of a member in a sorted set.", E(zset::zscore)),
    c("zunion", -3, RM, NK, "sorted_set", "6.2.0", "numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE <SUM | MIN | MAX>] [WITHSCORES]", "Returns the union of multiple sorted sets.", E(zset::zunion)),
    c("zunionstore", -4, WDM, K1, "sorted_set", "2.0.0", "destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE <SUM | MIN | MAX>]", "Stores the union of multiple sorted sets in a key.", E(zset::zunionstore)),
];

/// The subcommands of a container command.
pub fn subcommands_of(cmd: &'static Command) -> &'static [Command] {
    cmd.subcommands
}

type NameIndex = HashMap<&'static str, &'static Command, foldhash::fast::FixedState>;

fn index() -> &'static NameIndex {
    static INDEX: OnceLock<NameIndex> = OnceLock::new();
    INDEX.get_or_init(|| COMMANDS.iter().map(|c| (c.name, c)).collect())
}

/// Look a command up by name, ASCII case-insensitively.
pub fn lookup(name: &[u8]) -> Option<&'static Command> {
    let mut buf = [0u8; 32];
    if name.len() > buf.len() {
        return None;
    }
    let lower = &mut buf[..name.len()];
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    let s = std::str::from_utf8(lower).ok()?;
    index().get(s).copied()
}

/// A resolved command: the entry to run and, for a subcommand, its container.
#[derive(Debug, Clone, Copy)]
pub struct Resolved {
    /// The entry to run.
    pub cmd: &'static Command,
    /// The container, when `cmd` is a subcommand.
    pub parent: Option<&'static Command>,
}

impl Resolved {
    /// The full name as Redis prints it: `get`, `client|list`.
    pub fn full_name(&self) -> String {
        match self.parent {
            Some(p) => format!("{}|{}", p.name, self.cmd.name),
            None => self.cmd.name.to_string(),
        }
    }
}

/// Resolve `args` to the command to run: the top-level command, or for containers the
/// subcommand. Errors are the unknown-command, unknown-subcommand and arity errors.
pub fn resolve(args: &[Bytes]) -> Result<Resolved, crate::reply::CmdError> {
    use crate::reply::CmdError;
    let name = args.first().map(|b| b.as_ref()).unwrap_or_default();
    let Some(cmd) = lookup(name) else {
        return Err(CmdError::UnknownCommand {
            name: String::from_utf8_lossy(name).into_owned(),
            args: args[1.min(args.len())..]
                .iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect(),
        });
    };
    if cmd.subcommands.is_empty() || (args.len() == 1 && !matches!(cmd.exec, Exec::Container)) {
        if !cmd.arity_ok(args.len()) {
            return Err(CmdError::WrongArity(cmd.name.to_string()));
        }
        return Ok(Resolved { cmd, parent: None });
    }
    let Some(sub_name) = args.get(1) else {
        return Err(CmdError::WrongArity(cmd.name.to_string()));
    };
    let Some(sub) = subcommands_of(cmd)
        .iter()
        .find(|c| c.name.as_bytes().eq_ignore_ascii_case(sub_name))
    else {
        return Err(CmdError::UnknownSubcommand {
            command: cmd.name.to_string(),
            sub: String::from_utf8_lossy(sub_name).into_owned(),
        });
    };
    if !sub.arity_ok(args.len()) {
        return Err(CmdError::WrongArity(format!("{}|{}", cmd.name, sub.name)));
    }
    Ok(Resolved {
        cmd: sub,
        parent: Some(cmd),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_invariants() {
        // Names are sorted, unique, lower-case; arity never 0; key specs are consistent.
        for pair in COMMANDS.windows(2) {
            assert!(
                pair[0].name < pair[1].name,
                "{} before {}",
                pair[0].name,
                pair[1].name
            );
        }
        let check = |c: &Command, parent: Option<&str>| {
            assert_eq!(c.name, c.name.to_lowercase());
            assert!(c.arity != 0, "{}", c.name);
            assert!(!c.summary.is_empty(), "{}", c.name);
            let (f, l, s) = c.keys;
            if f > 0 {
                assert!(s > 0 && (l < 0 || l >= f), "{}", c.name);
                // WATCH and the shard channel commands name keys (for cluster routing)
                // without reading or writing them, as in Redis.
                assert!(
                    c.flags & (WRITE | READONLY) != 0 || c.name == "watch" || c.group == "pubsub",
                    "{} has keys but no read/write flag",
                    c.name
                );
            }
            if parent.is_some() {
                assert!(c.arity.unsigned_abs() >= 2, "{}", c.name);
            }
            assert!(
                !(c.flags & WRITE != 0 && c.flags & READONLY != 0),
                "{}",
                c.name
            );
        };
        for c in COMMANDS {
            check(c, None);
            for s in subcommands_of(c) {
                check(s, Some(c.name));
            }
            if matches!(c.exec, Exec::Container) || c.name == "command" {
                assert!(!subcommands_of(c).is_empty(), "{}", c.name);
            }
        }
    }

    #[test]
    fn resolve_reports_redis_errors() {
        // Unknown commands, unknown subcommands and arity errors read as in Redis 7.
        let a = |v: &[&str]| {
            v.iter()
                .map(|s| Bytes::copy_from_slice(s.as_bytes()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            resolve(&a(&["nope", "x"])).err().map(|e| e.to_line()),
            Some("ERR unknown command 'nope', with args beginning with: 'x' ".into())
        );
        assert_eq!(
            resolve(&a(&["get"])).err().map(|e| e.to_line()),
            Some("ERR wrong number of arguments for 'get' command".into())
        );
        assert_eq!(
            resolve(&a(&["client", "setname"]))
                .err()
                .map(|e| e.to_line()),
            Some("ERR wrong number of arguments for 'client|setname' command".into())
        );
        assert_eq!(
            resolve(&a(&["client", "bogus"])).err().map(|e| e.to_line()),
            Some("ERR unknown subcommand 'bogus'. Try CLIENT HELP.".into())
        );
        assert!(resolve(&a(&["GeT", "k"])).is_ok());
        assert_eq!(
            COMMANDS
                .iter()
                .find(|c| c.name == "mset")
                .map(|c| c.key_positions(5)),
            Some(vec![1, 3])
        );
    }
}
