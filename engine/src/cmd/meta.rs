//! COMMAND and its subcommands, derived from the command table.
//!
//! Everything here is computed from [`crate::command::COMMANDS`]: COMMAND INFO entries (flags,
//! ACL categories, key specs), COMMAND DOCS (argument trees parsed from each entry's `syntax`),
//! COMMAND LIST, COMMAND GETKEYS and COMMAND COUNT. Reply shapes follow Redis 7: sets where
//! Redis sends sets, bulk strings where it sends bulk strings.
//!
//! The few facts the table does not carry (Redis's extra ACL categories such as `@dangerous` on
//! KEYS, command tips, and the exact key-spec flags) live in small tables keyed by full command
//! name; a command missing from them gets values derived from its flags.

use bytes::Bytes;

use super::{is, Ctx};
use crate::command::{flags, lookup, Command, Exec, COMMANDS};
use crate::reply::{CmdError, CmdResult, Reply};

/// Redis's ACL category names, in Redis's order (the order COMMAND INFO lists them in).
pub const ACL_CATEGORIES: &[&str] = &[
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

/// [`ACL_CATEGORIES`] with the `@` prefix, index for index.
const ACL_TAGS: &[&str] = &[
    "@keyspace",
    "@read",
    "@write",
    "@set",
    "@sortedset",
    "@list",
    "@hash",
    "@string",
    "@bitmap",
    "@hyperloglog",
    "@geo",
    "@stream",
    "@pubsub",
    "@admin",
    "@fast",
    "@slow",
    "@blocking",
    "@dangerous",
    "@connection",
    "@transaction",
    "@scripting",
];

/// Categories Redis adds explicitly (beyond what flags and group imply), by full name.
/// A trailing `|` matches every subcommand of that container.
const EXTRA_ACL: &[(&str, &[&str])] = &[
    ("command", &["connection"]),
    ("command|", &["connection"]),
    ("dbsize", &["keyspace"]),
    ("flushall", &["keyspace", "dangerous"]),
    ("flushdb", &["keyspace", "dangerous"]),
    ("info", &["dangerous"]),
    ("keys", &["dangerous"]),
    ("lastsave", &["admin", "dangerous"]),
    ("swapdb", &["keyspace", "dangerous"]),
];

/// Command tips as Redis 7 reports them, by full name.
const TIPS: &[(&str, &[&str])] = &[
    ("client|info", &["nondeterministic_output"]),
    ("client|list", &["nondeterministic_output"]),
    ("command", &["nondeterministic_output_order"]),
    ("command|docs", &["nondeterministic_output_order"]),
    ("command|info", &["nondeterministic_output_order"]),
    ("command|list", &["nondeterministic_output_order"]),
    (
        "config|set",
        &["request_policy:all_nodes", "response_policy:all_succeeded"],
    ),
    (
        "dbsize",
        &["request_policy:all_shards", "response_policy:agg_sum"],
    ),
    (
        "del",
        &["request_policy:multi_shard", "response_policy:agg_sum"],
    ),
    (
        "exists",
        &["request_policy:multi_shard", "response_policy:agg_sum"],
    ),
    (
        "flushall",
        &["request_policy:all_shards", "response_policy:all_succeeded"],
    ),
    (
        "flushdb",
        &["request_policy:all_shards", "response_policy:all_succeeded"],
    ),
    (
        "info",
        &[
            "nondeterministic_output",
            "request_policy:all_shards",
            "response_policy:special",
        ],
    ),
    (
        "keys",
        &["request_policy:all_shards", "nondeterministic_output_order"],
    ),
    ("lastsave", &["nondeterministic_output"]),
    (
        "latency|history",
        &[
            "nondeterministic_output",
            "request_policy:all_nodes",
            "response_policy:special",
        ],
    ),
    (
        "latency|latest",
        &[
            "nondeterministic_output",
            "request_policy:all_nodes",
            "response_policy:special",
        ],
    ),
    (
        "latency|reset",
        &["request_policy:all_nodes", "response_policy:all_succeeded"],
    ),
    ("mget", &["request_policy:multi_shard"]),
    ("module|list", &["nondeterministic_output_order"]),
    (
        "mset",
        &[
            "request_policy:multi_shard",
            "response_policy:all_succeeded",
        ],
    ),
    (
        "msetnx",
        &["request_policy:multi_shard", "response_policy:agg_min"],
    ),
    ("object|encoding", &["nondeterministic_output"]),
    ("object|freq", &["nondeterministic_output"]),
    ("object|idletime", &["nondeterministic_output"]),
    ("object|refcount", &["nondeterministic_output"]),
    (
        "ping",
        &["request_policy:all_shards", "response_policy:all_succeeded"],
    ),
    ("pttl", &["nondeterministic_output"]),
    (
        "randomkey",
        &["request_policy:all_shards", "nondeterministic_output"],
    ),
    (
        "scan",
        &["nondeterministic_output", "request_policy:special"],
    ),
    (
        "slowlog|get",
        &["request_policy:all_nodes", "nondeterministic_output"],
    ),
    (
        "slowlog|len",
        &[
            "request_policy:all_nodes",
            "response_policy:agg_sum",
            "nondeterministic_output",
        ],
    ),
    (
        "slowlog|reset",
        &["request_policy:all_nodes", "response_policy:all_succeeded"],
    ),
    ("time", &["nondeterministic_output"]),
    (
        "touch",
        &["request_policy:multi_shard", "response_policy:agg_sum"],
    ),
    ("ttl", &["nondeterministic_output"]),
    (
        "unlink",
        &["request_policy:multi_shard", "response_policy:agg_sum"],
    ),
];

/// One key spec's flags and notes.
type SpecDesc = (&'static [&'static str], &'static str);

const RO: SpecDesc = (&["RO"], "");
const RO_ACCESS: SpecDesc = (&["RO", "access"], "");
const RW_UPDATE: SpecDesc = (&["RW", "update"], "");
const RW_ACCESS_UPDATE: SpecDesc = (&["RW", "access", "update"], "");
const RW_ACCESS_DELETE: SpecDesc = (&["RW", "access", "delete"], "");
const OW_UPDATE: SpecDesc = (&["OW", "update"], "");
const OW_INSERT: SpecDesc = (&["OW", "insert"], "");
const RM_DELETE: SpecDesc = (&["RM", "delete"], "");

/// Key specs as Redis 7 reports them, by full name. Several entries = one spec per key
/// position (first, first + step, ...). Commands not listed get RO+ACCESS (read-only) or
/// RW+UPDATE (writes).
const KEY_SPECS: &[(&str, &[SpecDesc])] = &[
    ("append", &[(&["RW", "insert"], "")]),
    (
        "bitfield",
        &[(
            &["RW", "access", "update", "variable_flags"],
            "This command allows both access and modification of the key",
        )],
    ),
    ("bitop", &[OW_UPDATE, RO_ACCESS]),
    ("copy", &[RO_ACCESS, OW_UPDATE]),
    ("decr", &[RW_ACCESS_UPDATE]),
    ("decrby", &[RW_ACCESS_UPDATE]),
    ("del", &[RM_DELETE]),
    ("exists", &[RO]),
    ("getdel", &[RW_ACCESS_DELETE]),
    (
        "getex",
        &[(
            &["RW", "access", "update"],
            "RW and UPDATE because it changes the TTL",
        )],
    ),
    ("getset", &[RW_ACCESS_UPDATE]),
    ("incr", &[RW_ACCESS_UPDATE]),
    ("incrby", &[RW_ACCESS_UPDATE]),
    ("incrbyfloat", &[RW_ACCESS_UPDATE]),
    ("memory|usage", &[RO]),
    ("mset", &[OW_UPDATE]),
    ("msetnx", &[OW_INSERT]),
    ("object|encoding", &[RO]),
    ("object|freq", &[RO]),
    ("object|idletime", &[RO]),
    ("object|refcount", &[RO]),
    ("pfadd", &[(&["RW", "insert"], "")]),
    (
        "pfcount",
        &[(
            &["RW", "access"],
            "RW because it may change the internal representation of the key, and propagate to replicas",
        )],
    ),
    ("pfmerge", &[(&["RW", "access", "insert"], ""), RO_ACCESS]),
    ("psetex", &[OW_UPDATE]),
    ("rename", &[RW_ACCESS_DELETE, OW_UPDATE]),
    ("renamenx", &[RW_ACCESS_DELETE, OW_INSERT]),
    (
        "set",
        &[(
            &["RW", "access", "update", "variable_flags"],
            "RW and ACCESS due to the optional `GET` argument",
        )],
    ),
    ("setbit", &[RW_ACCESS_UPDATE]),
    ("setex", &[OW_UPDATE]),
    ("setnx", &[OW_INSERT]),
    ("setrange", &[RW_UPDATE]),
    ("strlen", &[RO]),
    ("touch", &[RO]),
    ("type", &[RO]),
    ("unlink", &[RM_DELETE]),
];

/// COMMAND HELP text (without the header line and the trailing HELP entry).
const HELP: &[&str] = &[
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
];

// ---------------------------------------------------------------------------------------------
// Handler
// ---------------------------------------------------------------------------------------------

/// COMMAND [COUNT | DOCS | GETKEYS | INFO | LIST | HELP]
pub fn command(_ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let Some(sub) = args.get(1) else {
        return Ok(Reply::Array(
            COMMANDS.iter().map(|c| info_entry(c, None)).collect(),
        ));
    };
    let container = lookup(b"command");
    if let Some(entry) = container.and_then(|c| c.subcommand(sub)) {
        if !entry.arity_ok(args.len()) {
            return Err(CmdError::WrongArity(format!("command|{}", entry.name)));
        }
    }
    let rest = &args[2.min(args.len())..];
    if is(sub, "count") {
        Ok(Reply::Int(
            i64::try_from(COMMANDS.len()).unwrap_or(i64::MAX),
        ))
    } else if is(sub, "info") {
        Ok(command_info(rest))
    } else if is(sub, "docs") {
        Ok(command_docs(rest))
    } else if is(sub, "list") {
        command_list(rest)
    } else if is(sub, "getkeys") {
        command_getkeys(rest)
    } else if is(sub, "help") {
        Ok(help_reply())
    } else {
        Err(CmdError::UnknownSubcommand {
            command: "command".into(),
            sub: String::from_utf8_lossy(sub).into_owned(),
        })
    }
}

fn help_reply() -> Reply {
    let mut lines = Vec::with_capacity(HELP.len() + 3);
    lines.push(Reply::status(
        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    ));
    lines.extend(HELP.iter().map(|l| Reply::status(l)));
    lines.push(Reply::status("HELP"));
    lines.push(Reply::status("    Prints this help."));
    Reply::Array(lines)
}

/// COMMAND INFO [name ...]: one entry per name, Nil for unknown names.
fn command_info(names: &[Bytes]) -> Reply {
    if names.is_empty() {
        return Reply::Array(COMMANDS.iter().map(|c| info_entry(c, None)).collect());
    }
    Reply::Array(
        names
            .iter()
            .map(|n| match find_full(n) {
                Some((cmd, parent)) => info_entry(cmd, parent),
                None => Reply::Nil,
            })
            .collect(),
    )
}

/// COMMAND DOCS [name ...]: a map of the known names to their docs; unknown names are left out.
fn command_docs(names: &[Bytes]) -> Reply {
    if names.is_empty() {
        return Reply::Map(
            COMMANDS
                .iter()
                .map(|c| (Reply::bulk(c.name), doc_entry(c, None)))
                .collect(),
        );
    }
    Reply::Map(
        names
            .iter()
            .filter_map(|n| find_full(n))
            .map(|(cmd, parent)| {
                (
                    Reply::bulk_string(full_name(cmd, parent)),
                    doc_entry(cmd, parent),
                )
            })
            .collect(),
    )
}

/// COMMAND LIST [FILTERBY MODULE name | ACLCAT cat | PATTERN pattern]: full names of every
/// command and subcommand.
fn command_list(rest: &[Bytes]) -> CmdResult {
    enum Filter<'a> {
        All,
        None,
        Cat(&'static str),
        Pattern(&'a [u8]),
    }
    let filter = match rest {
        [] => Filter::All,
        [by, kind, value] if is(by, "filterby") => {
            if is(kind, "module") {
                Filter::None
            } else if is(kind, "aclcat") {
                match ACL_CATEGORIES.iter().position(|c| is(value, c)) {
                    Some(i) => ACL_TAGS.get(i).map_or(Filter::None, |t| Filter::Cat(t)),
                    None => Filter::None,
                }
            } else if is(kind, "pattern") {
                Filter::Pattern(value)
            } else {
                return Err(CmdError::Syntax);
            }
        }
        _ => return Err(CmdError::Syntax),
    };
    let mut out = Vec::new();
    for_each_command(|cmd, parent| {
        let keep = match &filter {
            Filter::All => true,
            Filter::None => false,
            Filter::Cat(tag) => acl_categories(cmd).contains(tag),
            Filter::Pattern(p) => {
                crate::glob::glob_match(p, full_name(cmd, parent).as_bytes(), true)
            }
        };
        if keep {
            out.push(Reply::bulk_string(full_name(cmd, parent)));
        }
    });
    Ok(Reply::Array(out))
}

/// COMMAND GETKEYS cmd arg ...: checks in Redis's order (unknown, no keys, arity).
fn command_getkeys(argv: &[Bytes]) -> CmdResult {
    let Some(name) = argv.first() else {
        return Err(CmdError::err("Invalid command specified"));
    };
    let Some(base) = lookup(name) else {
        return Err(CmdError::err("Invalid command specified"));
    };
    let cmd = if argv.len() == 1 || base.subcommands.is_empty() {
        base
    } else {
        match argv.get(1).and_then(|s| base.subcommand(s)) {
            Some(sub) => sub,
            None => return Err(CmdError::err("Invalid command specified")),
        }
    };
    let movable = cmd.flags & crate::command::flags::MOVABLE_KEYS != 0;
    if cmd.keys.0 <= 0 && !movable {
        return Err(CmdError::err("The command has no key arguments"));
    }
    if !cmd.arity_ok(argv.len()) {
        return Err(CmdError::err(
            "Invalid number of arguments specified for command",
        ));
    }
    let Some(positions) = cmd.keys_in(argv) else {
        return Err(CmdError::err("Invalid arguments specified for command"));
    };
    let keys: Vec<Reply> = positions
        .into_iter()
        .filter_map(|i| argv.get(i))
        .map(|k| Reply::Bulk(k.clone()))
        .collect();
    if keys.is_empty() {
        return Err(CmdError::err("Invalid arguments specified for command"));
    }
    Ok(Reply::Array(keys))
}

// ---------------------------------------------------------------------------------------------
// Table helpers
// ---------------------------------------------------------------------------------------------

/// Calls `f` on every command, each top-level one followed by its subcommands.
fn for_each_command(mut f: impl FnMut(&'static Command, Option<&'static Command>)) {
    for c in COMMANDS {
        f(c, None);
        for s in c.subcommands {
            f(s, Some(c));
        }
    }
}

/// Looks up `name` or `container|sub`, ASCII case-insensitively.
fn find_full(name: &[u8]) -> Option<(&'static Command, Option<&'static Command>)> {
    let mut parts = name.splitn(3, |&b| b == b'|');
    let first = parts.next()?;
    let base = lookup(first)?;
    match (parts.next(), parts.next()) {
        (None, _) => Some((base, None)),
        (Some(sub), None) => base.subcommand(sub).map(|s| (s, Some(base))),
        (Some(_), Some(_)) => None,
    }
}

/// The container a subcommand entry belongs to, if any.
fn parent_of(cmd: &Command) -> Option<&'static Command> {
    COMMANDS
        .iter()
        .find(|c| c.subcommands.iter().any(|s| std::ptr::eq(s, cmd)))
}

/// `name` or `container|name`.
fn full_name(cmd: &Command, parent: Option<&Command>) -> String {
    match parent {
        Some(p) => format!("{}|{}", p.name, cmd.name),
        None => cmd.name.to_string(),
    }
}

fn table_get<T: Copy>(table: &[(&str, T)], name: &str) -> Option<T> {
    table.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

/// The ACL categories of a command or subcommand entry, with the `@` prefix, in Redis's order.
/// Derived from the flags (write, readonly, admin, pubsub, fast/slow, blocking), the group
/// (string, generic = keyspace, connection, ...) and Redis's explicit extras (KEYS is
/// dangerous, COMMAND is a connection command, ...). Containers themselves only get `@slow`.
pub fn acl_categories(cmd: &Command) -> Vec<&'static str> {
    let mut set = [false; ACL_CATEGORIES.len()];
    let mut add = |name: &str| {
        if let Some(i) = ACL_CATEGORIES.iter().position(|c| *c == name) {
            if let Some(slot) = set.get_mut(i) {
                *slot = true;
            }
        }
    };
    let f = cmd.flags;
    if f & flags::WRITE != 0 {
        add("write");
    }
    if f & flags::READONLY != 0 {
        add("read");
    }
    if f & flags::ADMIN != 0 {
        add("admin");
        add("dangerous");
    }
    if f & flags::PUBSUB != 0 {
        add("pubsub");
    }
    if f & flags::FAST != 0 {
        add("fast");
    } else {
        add("slow");
    }
    if f & flags::BLOCKING != 0 {
        add("blocking");
    }
    if !matches!(cmd.exec, Exec::Container) {
        let group_cat = match cmd.group {
            "string" => Some("string"),
            "generic" => Some("keyspace"),
            "connection" => Some("connection"),
            "list" => Some("list"),
            "hash" => Some("hash"),
            "set" => Some("set"),
            "sorted-set" | "sorted_set" => Some("sortedset"),
            "bitmap" => Some("bitmap"),
            "hyperloglog" => Some("hyperloglog"),
            "geo" => Some("geo"),
            "stream" => Some("stream"),
            "pubsub" => Some("pubsub"),
            "transactions" => Some("transaction"),
            "scripting" => Some("scripting"),
            _ => None,
        };
        if let Some(g) = group_cat {
            add(g);
        }
        let parent = parent_of(cmd);
        let full = full_name(cmd, parent);
        if let Some(extra) = table_get(EXTRA_ACL, &full) {
            extra.iter().for_each(|c| add(c));
        }
        if let Some(p) = parent {
            if let Some(extra) = table_get(EXTRA_ACL, &format!("{}|", p.name)) {
                extra.iter().for_each(|c| add(c));
            }
        }
    }
    ACL_TAGS
        .iter()
        .zip(set.iter())
        .filter(|(_, on)| **on)
        .map(|(t, _)| *t)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// COMMAND INFO entries
// ---------------------------------------------------------------------------------------------

fn status_set<'a>(items: impl IntoIterator<Item = &'a &'static str>) -> Reply {
    Reply::Set(items.into_iter().map(|s| Reply::status(s)).collect())
}

/// The key-spec descriptions of an entry (empty when it takes no keys).
fn spec_descs(cmd: &Command, full: &str) -> Vec<SpecDesc> {
    if cmd.keys.0 <= 0 {
        return Vec::new();
    }
    if let Some(specs) = table_get(KEY_SPECS, full) {
        if !specs.is_empty() {
            return specs.to_vec();
        }
    }
    if cmd.flags & flags::READONLY != 0 {
        vec![RO_ACCESS]
    } else {
        vec![RW_UPDATE]
    }
}

/// Key specs in Redis 7's shape: begin_search by index, find_keys by range.
fn key_specs(cmd: &Command, full: &str) -> Vec<Reply> {
    let (first, last, step) = cmd.keys;
    let descs = spec_descs(cmd, full);
    let n = descs.len();
    descs
        .iter()
        .enumerate()
        .map(|(i, (fl, notes))| {
            let offset = i32::try_from(i).unwrap_or(0).saturating_mul(step.max(1));
            let index = first.saturating_add(offset);
            let (lastkey, keystep) = if i + 1 < n {
                (0, 1)
            } else if last < 0 {
                (last, step.max(1))
            } else {
                let lk = last.saturating_sub(index).max(0);
                (lk, if lk == 0 { 1 } else { step.max(1) })
            };
            let mut m = Vec::with_capacity(4);
            if !notes.is_empty() {
                m.push((Reply::bulk("notes"), Reply::bulk(notes)));
            }
            m.push((Reply::bulk("flags"), status_set(fl.iter())));
            m.push((
                Reply::bulk("begin_search"),
                Reply::Map(vec![
                    (Reply::bulk("type"), Reply::bulk("index")),
                    (
                        Reply::bulk("spec"),
                        Reply::Map(vec![(Reply::bulk("index"), Reply::Int(index.into()))]),
                    ),
                ]),
            ));
            m.push((
                Reply::bulk("find_keys"),
                Reply::Map(vec![
                    (Reply::bulk("type"), Reply::bulk("range")),
                    (
                        Reply::bulk("spec"),
                        Reply::Map(vec![
                            (Reply::bulk("lastkey"), Reply::Int(lastkey.into())),
                            (Reply::bulk("keystep"), Reply::Int(keystep.into())),
                            (Reply::bulk("limit"), Reply::Int(0)),
                        ]),
                    ),
                ]),
            ));
            Reply::Map(m)
        })
        .collect()
}

/// One COMMAND INFO entry (10 elements, as in Redis 7).
fn info_entry(cmd: &'static Command, parent: Option<&'static Command>) -> Reply {
    let full = full_name(cmd, parent);
    let flag_names: Vec<&'static str> = flags::NAMES
        .iter()
        .filter(|(bit, _)| cmd.flags & bit != 0)
        .map(|(_, n)| *n)
        .collect();
    let tips = table_get(TIPS, &full).unwrap_or(&[]);
    // Redis sends an empty set when there are no subcommands, an array otherwise.
    let subs = if cmd.subcommands.is_empty() {
        Reply::Set(Vec::new())
    } else {
        Reply::Array(
            cmd.subcommands
                .iter()
                .map(|s| info_entry(s, Some(cmd)))
                .collect(),
        )
    };
    Reply::Array(vec![
        Reply::bulk_string(full.clone()),
        Reply::Int(cmd.arity.into()),
        status_set(flag_names.iter()),
        Reply::Int(cmd.keys.0.into()),
        Reply::Int(cmd.keys.1.into()),
        Reply::Int(cmd.keys.2.into()),
        status_set(acl_categories(cmd).iter()),
        Reply::Set(tips.iter().map(Reply::bulk).collect()),
        Reply::Set(key_specs(cmd, &full)),
        subs,
    ])
}

// ---------------------------------------------------------------------------------------------
// COMMAND DOCS
// ---------------------------------------------------------------------------------------------

/// One command's docs map: summary, since, group, arguments, subcommands.
fn doc_entry(cmd: &'static Command, parent: Option<&'static Command>) -> Reply {
    let mut m = vec![
        (Reply::bulk("summary"), Reply::bulk(cmd.summary)),
        (Reply::bulk("since"), Reply::bulk(cmd.since)),
        (Reply::bulk("group"), Reply::bulk(cmd.group)),
    ];
    let full = full_name(cmd, parent);
    let docs = argument_docs(cmd.syntax, cmd.name, spec_descs(cmd, &full).len());
    if !docs.is_empty() {
        m.push((
            Reply::bulk("arguments"),
            Reply::Array(docs.iter().map(ArgDoc::to_reply).collect()),
        ));
    }
    if !cmd.subcommands.is_empty() {
        m.push((
            Reply::bulk("subcommands"),
            Reply::Map(
                cmd.subcommands
                    .iter()
                    .map(|s| {
                        (
                            Reply::bulk_string(full_name(s, Some(cmd))),
                            doc_entry(s, Some(cmd)),
                        )
                    })
                    .collect(),
            ),
        ));
    }
    Reply::Map(m)
}

/// A node of a parsed syntax string.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    /// An UPPERCASE literal.
    Token(String),
    /// A lower-case placeholder.
    Arg(String),
    /// Several nodes in a row.
    Seq(Vec<Node>),
    /// `a | b | c`.
    OneOf(Vec<Node>),
    /// `[ ... ]`.
    Optional(Box<Node>),
    /// Repeated one or more times.
    Multiple(Box<Node>),
    /// `[x ...]` before it is merged with the preceding `x`.
    Repeat(Vec<Node>),
    /// `...` not yet attached.
    Ellipsis,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok<'a> {
    Open,
    Close,
    OpenAngle,
    CloseAngle,
    Bar,
    Ellipsis,
    Word(&'a str),
}

fn tokenize(s: &str) -> Vec<Tok<'_>> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for (i, ch) in s.char_indices() {
        let special = match ch {
            '[' => Some(Tok::Open),
            ']' => Some(Tok::Close),
            '<' => Some(Tok::OpenAngle),
            '>' => Some(Tok::CloseAngle),
            '|' => Some(Tok::Bar),
            _ => None,
        };
        if special.is_some() || ch.is_whitespace() {
            if let Some(st) = start.take() {
                if let Some(w) = s.get(st..i) {
                    out.push(word_tok(w));
                }
            }
            if let Some(t) = special {
                out.push(t);
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(st) = start {
        if let Some(w) = s.get(st..) {
            out.push(word_tok(w));
        }
    }
    out
}

fn word_tok(w: &str) -> Tok<'_> {
    if w == "..." || w == "…" {
        Tok::Ellipsis
    } else {
        Tok::Word(w)
    }
}

/// A literal token: has a letter and no lower-case letter (`NX`, `LIB-NAME`).
fn is_token_word(w: &str) -> bool {
    w.chars().any(|c| c.is_ascii_alphabetic()) && !w.chars().any(|c| c.is_lowercase())
}

/// Nesting deeper than this is flattened (table strings never come close).
const MAX_DEPTH: usize = 32;

struct Parser<'a> {
    toks: Vec<Tok<'a>>,
    pos: usize,
}

impl<'a> Parser<'a> {
    /// Parses up to `closer` (or the end); returns the alternatives, each a sequence.
    fn alternatives(&mut self, closer: Option<Tok<'a>>, depth: usize) -> Vec<Vec<Node>> {
        let mut alts = Vec::new();
        let mut cur = Vec::new();
        while let Some(&t) = self.toks.get(self.pos) {
            self.pos += 1;
            if Some(t) == closer {
                break;
            }
            match t {
                Tok::Bar => alts.push(std::mem::take(&mut cur)),
                Tok::Ellipsis => cur.push(Node::Ellipsis),
                Tok::Word(w) => cur.push(if is_token_word(w) {
                    Node::Token(w.to_string())
                } else {
                    Node::Arg(w.to_string())
                }),
                Tok::Open | Tok::OpenAngle => {
                    let inner_closer = if t == Tok::Open {
                        Tok::Close
                    } else {
                        Tok::CloseAngle
                    };
                    if depth >= MAX_DEPTH {
                        continue;
                    }
                    let inner = self.alternatives(Some(inner_closer), depth + 1);
                    if let Some(n) = group_node(inner, t == Tok::Open) {
                        cur.push(n);
                    }
                }
                // Stray closers are ignored.
                Tok::Close | Tok::CloseAngle => {}
            }
        }
        alts.push(cur);
        alts
    }
}

/// Attaches `...` markers and merges `x [x ...]` into a repeated `x`.
fn finish_seq(items: Vec<Node>) -> Vec<Node> {
    let mut out: Vec<Node> = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Node::Ellipsis => {
                if let Some(prev) = out.pop() {
                    out.push(Node::Multiple(Box::new(prev)));
                }
            }
            Node::Optional(inner) => match *inner {
                Node::Repeat(unit) => {
                    let n = unit.len();
                    if n > 0 && out.len() >= n && out[out.len() - n..] == unit[..] {
                        out.truncate(out.len() - n);
                        out.push(Node::Multiple(Box::new(seq_node(unit))));
                    } else {
                        out.push(Node::Optional(Box::new(Node::Multiple(Box::new(
                            seq_node(unit),
                        )))));
                    }
                }
                other => out.push(Node::Optional(Box::new(other))),
            },
            other => out.push(other),
        }
    }
    out
}

fn seq_node(mut items: Vec<Node>) -> Node {
    if items.len() == 1 {
        items.pop().unwrap_or(Node::Seq(Vec::new()))
    } else {
        Node::Seq(items)
    }
}

/// Turns alternatives into one node: a sequence, or a one-of. `TYPE A | B | C` (a token, then
/// alternatives that are one element shorter) becomes the token `TYPE` before `A | B | C`.
fn alternatives_node(alts: Vec<Vec<Node>>) -> Option<Node> {
    let mut alts: Vec<Vec<Node>> = alts
        .into_iter()
        .map(finish_seq)
        .filter(|a| !a.is_empty())
        .collect();
    match alts.len() {
        0 => None,
        1 => alts.pop().map(seq_node),
        _ => {
            let hoist = match alts.first() {
                Some(first) => {
                    first.len() >= 2
                        && matches!(first.first(), Some(Node::Token(_)))
                        && matches!(first.get(1), Some(Node::Token(_)))
                        && alts.iter().skip(1).all(|a| a.len() + 1 == first.len())
                }
                None => false,
            };
            if hoist {
                let head = alts.first_mut().map(|a| a.remove(0));
                let oneof = Node::OneOf(alts.into_iter().map(seq_node).collect());
                match head {
                    Some(h) => Some(Node::Seq(vec![h, oneof])),
                    None => Some(oneof),
                }
            } else {
                Some(Node::OneOf(alts.into_iter().map(seq_node).collect()))
            }
        }
    }
}

/// A bracketed group: `[x ...]` is a repeat marker, `[...]` optional, `<...>` required.
fn group_node(alts: Vec<Vec<Node>>, optional: bool) -> Option<Node> {
    if optional && alts.len() == 1 {
        if let Some(items) = alts.first() {
            if items.len() >= 2 && items.last() == Some(&Node::Ellipsis) {
                let unit = finish_seq(items[..items.len() - 1].to_vec());
                return Some(Node::Optional(Box::new(Node::Repeat(unit))));
            }
        }
    }
    let inner = alternatives_node(alts)?;
    Some(if optional {
        Node::Optional(Box::new(inner))
    } else {
        inner
    })
}

/// Parses a Redis-docs syntax string into its top-level argument nodes. Total: any input
/// gives some (possibly empty) list.
fn parse_syntax(syntax: &str) -> Vec<Node> {
    let mut p = Parser {
        toks: tokenize(syntax),
        pos: 0,
    };
    let alts = p.alternatives(None, 0);
    match alternatives_node(alts) {
        None => Vec::new(),
        Some(Node::Seq(items)) => items,
        Some(other) => vec![other],
    }
}

/// One argument in COMMAND DOCS.
#[derive(Debug, Clone, PartialEq)]
struct ArgDoc {
    name: String,
    kind: &'static str,
    key_spec_index: Option<usize>,
    token: Option<String>,
    optional: bool,
    multiple: bool,
    multiple_token: bool,
    args: Vec<ArgDoc>,
}

impl ArgDoc {
    fn new(name: String, kind: &'static str) -> ArgDoc {
        ArgDoc {
            name,
            kind,
            key_spec_index: None,
            token: None,
            optional: false,
            multiple: false,
            multiple_token: false,
            args: Vec::new(),
        }
    }

    fn to_reply(&self) -> Reply {
        let mut m = vec![
            (Reply::bulk("name"), Reply::bulk(&self.name)),
            (Reply::bulk("type"), Reply::bulk(self.kind)),
        ];
        if let Some(i) = self.key_spec_index {
            m.push((
                Reply::bulk("key_spec_index"),
                Reply::Int(i64::try_from(i).unwrap_or(0)),
            ));
        }
        if let Some(t) = &self.token {
            m.push((Reply::bulk("token"), Reply::bulk(t)));
        }
        let mut fl = Vec::new();
        if self.optional {
            fl.push(Reply::status("optional"));
        }
        if self.multiple {
            fl.push(Reply::status("multiple"));
        }
        if self.multiple_token {
            fl.push(Reply::status("multiple_token"));
        }
        if !fl.is_empty() {
            m.push((Reply::bulk("flags"), Reply::Set(fl)));
        }
        if self.kind == "block" || self.kind == "oneof" {
            m.push((
                Reply::bulk("arguments"),
                Reply::Array(self.args.iter().map(ArgDoc::to_reply).collect()),
            ));
        }
        Reply::Map(m)
    }
}

struct DocCx<'a> {
    command: &'a str,
    key_specs: usize,
    keys_seen: usize,
}

/// The COMMAND DOCS type of a placeholder, from its name.
fn arg_type(name: &str, command: &str) -> &'static str {
    match name {
        "key" | "newkey" | "source" | "destination" | "srckey" | "dstkey" | "destkey" | "dst"
        | "src" => "key",
        "pattern" => "pattern",
        "increment" | "decrement" if command.contains("float") => "double",
        "score" | "float" | "weight" | "longitude" | "latitude" | "radius" | "min-score"
        | "max-score" => "double",
        "seconds" | "milliseconds" | "count" | "offset" | "start" | "end" | "increment"
        | "decrement" | "index" | "index1" | "index2" | "timeout" | "client-id" | "protover"
        | "destination-db" | "db" | "cursor" | "numkeys" | "port" | "limit" | "samples" => {
            "integer"
        }
        n if n.starts_with("unix-time") => "unix-time",
        _ => "string",
    }
}

/// Names Redis gives to some one-of groups; otherwise the children's names joined by `_`.
fn oneof_name(children: &[ArgDoc]) -> String {
    let names: Vec<&str> = children.iter().map(|c| c.name.as_str()).collect();
    if !names.is_empty()
        && names
            .iter()
            .all(|n| matches!(*n, "nx" | "xx" | "gt" | "lt"))
    {
        return "condition".into();
    }
    if names
        .iter()
        .any(|n| matches!(*n, "seconds" | "milliseconds"))
    {
        return "expiration".into();
    }
    match names.as_slice() {
        ["async", "sync"] => return "async".into(),
        ["write", "all"] => return "mode".into(),
        _ => {}
    }
    names.join("_")
}

fn node_doc(node: &Node, cx: &mut DocCx<'_>) -> Option<ArgDoc> {
    match node {
        Node::Token(t) => {
            let mut d = ArgDoc::new(t.to_lowercase(), "pure-token");
            d.token = Some(t.clone());
            Some(d)
        }
        Node::Arg(n) => {
            let kind = arg_type(n, cx.command);
            let mut d = ArgDoc::new(n.clone(), kind);
            if kind == "key" {
                if cx.key_specs > 0 {
                    d.key_spec_index = Some(cx.keys_seen.min(cx.key_specs - 1));
                }
                cx.keys_seen += 1;
            }
            Some(d)
        }
        Node::Optional(inner) => {
            let mut d = node_doc(inner, cx)?;
            d.optional = true;
            Some(d)
        }
        Node::Multiple(inner) => {
            let mut d = node_doc(inner, cx)?;
            repeat_doc(&mut d);
            Some(d)
        }
        Node::Repeat(items) => {
            let mut d = node_doc(&seq_node(items.clone()), cx)?;
            repeat_doc(&mut d);
            Some(d)
        }
        Node::Seq(items) => seq_doc(items, cx),
        Node::OneOf(alts) => {
            let children: Vec<ArgDoc> = alts.iter().filter_map(|a| node_doc(a, cx)).collect();
            if children.is_empty() {
                return None;
            }
            let mut d = ArgDoc::new(oneof_name(&children), "oneof");
            d.args = children;
            Some(d)
        }
        Node::Ellipsis => None,
    }
}

/// Marks an argument as repeated; a repeated token (`GET pattern [GET pattern ...]`) is also
/// `multiple_token`.
fn repeat_doc(d: &mut ArgDoc) {
    d.multiple = true;
    if d.token.is_some() {
        d.multiple_token = true;
    }
}

fn seq_doc(items: &[Node], cx: &mut DocCx<'_>) -> Option<ArgDoc> {
    match items {
        [] => None,
        [one] => node_doc(one, cx),
        [Node::Token(t), rest @ ..] if !matches!(rest.first(), Some(Node::Token(_))) => {
            if let [one] = rest {
                let mut d = node_doc(one, cx)?;
                // `ID client-id [client-id ...]`: Redis makes a block named after the token.
                if d.token.is_none() && !matches!(one, Node::Multiple(_)) {
                    d.token = Some(t.clone());
                    return Some(d);
                }
                let name = if d.token.is_none() {
                    t.to_lowercase()
                } else {
                    d.name.clone()
                };
                let mut b = ArgDoc::new(name, "block");
                b.token = Some(t.clone());
                b.args = vec![d];
                return Some(b);
            }
            let children: Vec<ArgDoc> = rest.iter().filter_map(|n| node_doc(n, cx)).collect();
            let names: Vec<&str> = children.iter().map(|c| c.name.as_str()).collect();
            let mut b = ArgDoc::new(names.join("_"), "block");
            b.token = Some(t.clone());
            b.args = children;
            Some(b)
        }
        _ => {
            let children: Vec<ArgDoc> = items.iter().filter_map(|n| node_doc(n, cx)).collect();
            if children.is_empty() {
                return None;
            }
            let names: Vec<&str> = children.iter().map(|c| c.name.as_str()).collect();
            let mut b = ArgDoc::new(names.join("_"), "block");
            b.args = children;
            Some(b)
        }
    }
}

/// The COMMAND DOCS argument list for a syntax string. `key_specs` is the number of key specs
/// the command reports (key arguments point into them).
fn argument_docs(syntax: &str, command: &str, key_specs: usize) -> Vec<ArgDoc> {
    let mut cx = DocCx {
        command,
        key_specs,
        keys_seen: 0,
    };
    parse_syntax(syntax)
        .iter()
        .filter_map(|n| node_doc(n, &mut cx))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn run(args: &[&str]) -> CmdResult {
        let ks = crate::keyspace::Keyspace::new(Arc::new(crate::clock::SystemClock));
        let limits = super::super::EngineLimits::default();
        let db = ks.db(0).cloned().expect("db");
        let mut ctx = Ctx::new(&ks, &db, &limits);
        let argv: Vec<Bytes> = args
            .iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect();
        command(&mut ctx, &argv)
    }

    fn map_get<'a>(m: &'a Reply, key: &str) -> Option<&'a Reply> {
        match m {
            Reply::Map(kv) => kv
                .iter()
                .find(|(k, _)| *k == Reply::bulk(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    fn bulk(s: &str) -> Reply {
        Reply::bulk(s)
    }

    /// A compact rendering of docs for assertions: name:type[token]{flags}(children).
    fn render(docs: &[ArgDoc]) -> String {
        docs.iter()
            .map(|d| {
                let mut s = format!("{}:{}", d.name, d.kind);
                if let Some(t) = &d.token {
                    s.push_str(&format!("[{t}]"));
                }
                let mut fl = Vec::new();
                if d.optional {
                    fl.push("o");
                }
                if d.multiple {
                    fl.push("m");
                }
                if d.multiple_token {
                    fl.push("mt");
                }
                if !fl.is_empty() {
                    s.push_str(&format!("{{{}}}", fl.join(",")));
                }
                if let Some(i) = d.key_spec_index {
                    s.push_str(&format!("#{i}"));
                }
                if !d.args.is_empty() {
                    s.push_str(&format!("({})", render(&d.args)));
                }
                s
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn count_matches_table() {
        assert_eq!(
            run(&["command", "count"]),
            Ok(Reply::Int(COMMANDS.len() as i64))
        );
        assert_eq!(
            run(&["command", "COUNT"]),
            Ok(Reply::Int(COMMANDS.len() as i64))
        );
    }

    #[test]
    fn info_get() {
        let Ok(Reply::Array(entries)) = run(&["command", "info", "get", "nope"]) else {
            panic!("not an array")
        };
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1], Reply::Nil);
        let Reply::Array(e) = &entries[0] else {
            panic!("entry")
        };
        assert_eq!(e.len(), 10);
        assert_eq!(e[0], bulk("get"));
        assert_eq!(e[1], Reply::Int(2));
        assert_eq!(
            e[2],
            Reply::Set(vec![Reply::status("readonly"), Reply::status("fast")])
        );
        assert_eq!(
            (&e[3], &e[4], &e[5]),
            (&Reply::Int(1), &Reply::Int(1), &Reply::Int(1))
        );
        assert_eq!(
            e[6],
            Reply::Set(vec![
                Reply::status("@read"),
                Reply::status("@string"),
                Reply::status("@fast")
            ])
        );
        assert_eq!(e[7], Reply::Set(vec![]));
        let Reply::Set(specs) = &e[8] else {
            panic!("specs")
        };
        assert_eq!(specs.len(), 1);
        assert_eq!(
            map_get(&specs[0], "flags"),
            Some(&Reply::Set(vec![
                Reply::status("RO"),
                Reply::status("access")
            ]))
        );
        let find = map_get(&specs[0], "find_keys").and_then(|f| map_get(f, "spec"));
        assert_eq!(
            find.and_then(|s| map_get(s, "lastkey")),
            Some(&Reply::Int(0))
        );
        assert_eq!(e[9], Reply::Set(vec![]));
    }

    #[test]
    fn info_subcommands_and_full_names() {
        let Ok(Reply::Array(entries)) = run(&["command", "info", "CLIENT|list", "object"]) else {
            panic!()
        };
        let Reply::Array(e) = &entries[0] else {
            panic!("entry")
        };
        assert_eq!(e[0], bulk("client|list"));
        assert_eq!(
            e[6],
            Reply::Set(
                ["@admin", "@slow", "@dangerous", "@connection"]
                    .iter()
                    .map(|s| Reply::status(s))
                    .collect()
            )
        );
        let Reply::Array(obj) = &entries[1] else {
            panic!("entry")
        };
        assert_eq!(obj[6], Reply::Set(vec![Reply::status("@slow")]));
        let Reply::Array(subs) = &obj[9] else {
            panic!("subcommands")
        };
        let Reply::Array(enc) = &subs[0] else {
            panic!("sub")
        };
        assert_eq!(enc[0], bulk("object|encoding"));
        assert_eq!(
            run(&["command", "info", "a|b|c"]),
            Ok(Reply::Array(vec![Reply::Nil]))
        );
        // Everything: one entry per top-level command.
        let Ok(Reply::Array(all)) = run(&["command"]) else {
            panic!()
        };
        assert_eq!(all.len(), COMMANDS.len());
    }

    #[test]
    fn acl_categories_match_redis() {
        let cats = |n: &str| {
            find_full(n.as_bytes())
                .map(|(c, _)| acl_categories(c))
                .unwrap_or_default()
        };
        assert_eq!(cats("set"), vec!["@write", "@string", "@slow"]);
        assert_eq!(cats("del"), vec!["@keyspace", "@write", "@slow"]);
        assert_eq!(
            cats("flushall"),
            vec!["@keyspace", "@write", "@slow", "@dangerous"]
        );
        assert_eq!(cats("lastsave"), vec!["@admin", "@fast", "@dangerous"]);
        assert_eq!(cats("command|docs"), vec!["@slow", "@connection"]);
        assert_eq!(cats("command"), vec!["@slow", "@connection"]);
        assert_eq!(cats("config|get"), vec!["@admin", "@slow", "@dangerous"]);
        assert_eq!(cats("object|help"), vec!["@keyspace", "@slow"]);
        assert_eq!(cats("ping"), vec!["@fast", "@connection"]);
        for c in COMMANDS {
            for t in acl_categories(c) {
                assert!(ACL_TAGS.contains(&t));
            }
        }
    }

    #[test]
    fn getkeys() {
        assert_eq!(
            run(&["command", "getkeys", "mset", "a", "b", "c", "d"]),
            Ok(Reply::Array(vec![bulk("a"), bulk("c")]))
        );
        assert_eq!(
            run(&["command", "getkeys", "OBJECT", "encoding", "k"]),
            Ok(Reply::Array(vec![bulk("k")]))
        );
        let err = |v: &[&str]| run(v).err().map(|e| e.to_line());
        assert_eq!(
            err(&["command", "getkeys", "nope", "a"]),
            Some("ERR Invalid command specified".into())
        );
        assert_eq!(
            err(&["command", "getkeys", "object", "nope", "k"]),
            Some("ERR Invalid command specified".into())
        );
        assert_eq!(
            err(&["command", "getkeys", "get", "a", "b"]),
            Some("ERR Invalid number of arguments specified for command".into())
        );
        assert_eq!(
            err(&["command", "getkeys", "ping", "a"]),
            Some("ERR The command has no key arguments".into())
        );
        assert_eq!(
            err(&["command", "getkeys", "client", "list"]),
            Some("ERR The command has no key arguments".into())
        );
    }

    #[test]
    fn docs_set_has_ex_token() {
        let Ok(docs) = run(&["command", "docs", "set", "nope"]) else {
            panic!()
        };
        let Reply::Map(kv) = &docs else { panic!("map") };
        assert_eq!(kv.len(), 1);
        let set = map_get(&docs, "set").expect("set docs");
        assert_eq!(map_get(set, "group"), Some(&bulk("string")));
        let Some(Reply::Array(args)) = map_get(set, "arguments") else {
            panic!("arguments")
        };
        assert_eq!(map_get(&args[0], "key_spec_index"), Some(&Reply::Int(0)));
        fn has_token(r: &Reply, tok: &str) -> bool {
            if map_get(r, "token") == Some(&Reply::bulk(tok)) {
                return true;
            }
            match map_get(r, "arguments") {
                Some(Reply::Array(a)) => a.iter().any(|x| has_token(x, tok)),
                _ => false,
            }
        }
        assert!(args.iter().any(|a| has_token(a, "EX")));
        // Containers carry their subcommands.
        let Ok(cl) = run(&["command", "docs", "client"]) else {
            panic!()
        };
        let sub = map_get(&cl, "client").and_then(|c| map_get(c, "subcommands"));
        assert!(sub.and_then(|s| map_get(s, "client|list")).is_some());
        // All docs build.
        assert!(
            matches!(run(&["command", "docs"]), Ok(Reply::Map(m)) if m.len() == COMMANDS.len())
        );
    }

    #[test]
    fn syntax_parser() {
        let d = |s: &str, cmd: &str, specs: usize| render(&argument_docs(s, cmd, specs));
        assert_eq!(
            d("key value [NX | XX] [GET] [EX seconds | PX milliseconds | KEEPTTL]", "set", 1),
            "key:key#0 value:string condition:oneof{o}(nx:pure-token[NX] xx:pure-token[XX]) \
             get:pure-token[GET]{o} expiration:oneof{o}(seconds:integer[EX] milliseconds:integer[PX] \
             keepttl:pure-token[KEEPTTL])"
        );
        assert_eq!(d("key [key ...]", "del", 1), "key:key{m}#0");
        assert_eq!(
            d("[section [section ...]]", "info", 0),
            "section:string{o,m}"
        );
        assert_eq!(d("", "ping", 0), "");
        assert_eq!(
            d("key value [key value ...]", "mset", 1),
            "key_value:block{m}(key:key#0 value:string)"
        );
        assert_eq!(d("source destination [DB destination-db] [REPLACE]", "copy", 2),
            "source:key#0 destination:key#1 destination-db:integer[DB]{o} replace:pure-token[REPLACE]{o}");
        assert_eq!(
            d(
                "[FILTERBY MODULE module-name | ACLCAT category | PATTERN pattern]",
                "list",
                0
            ),
            "module-name_category_pattern:oneof[FILTERBY]{o}(module-name:string[MODULE] \
             category:string[ACLCAT] pattern:pattern[PATTERN])"
        );
        assert_eq!(
            d("[protover [AUTH username password] [SETNAME clientname]]", "hello", 0),
            "protover_username_password_clientname:block{o}(protover:integer \
             username_password:block[AUTH]{o}(username:string password:string) clientname:string[SETNAME]{o})"
        );
        assert_eq!(
            d("[TYPE NORMAL | MASTER | REPLICA | PUBSUB] [ID client-id [client-id ...]]", "list", 0),
            "normal_master_replica_pubsub:oneof[TYPE]{o}(normal:pure-token[NORMAL] master:pure-token[MASTER] \
             replica:pure-token[REPLICA] pubsub:pure-token[PUBSUB]) id:block[ID]{o}(client-id:integer{m})"
        );
        assert_eq!(
            d("[GET pattern [GET pattern ...]]", "sort", 0),
            "pattern:pattern[GET]{o,m,mt}"
        );
        assert_eq!(
            d("ON | OFF", "no-evict", 0),
            "on_off:oneof(on:pure-token[ON] off:pure-token[OFF])"
        );
        // Garbage never panics.
        for s in [
            "[",
            "]",
            "[[[",
            "| |",
            "...",
            "[...]",
            "a ... ...",
            "[a | ]",
            "<x",
            "[ | ]",
            "X [X ...",
            "]] a [[",
            "é [É ...]",
        ] {
            let _ = argument_docs(s, "x", 1);
        }
        let deep = "[".repeat(500) + "x" + &"]".repeat(500);
        let _ = argument_docs(&deep, "x", 0);
    }

    #[test]
    fn every_table_entry_documents() {
        for_each_command(|cmd, parent| {
            let full = full_name(cmd, parent);
            let n = spec_descs(cmd, &full).len();
            let docs = argument_docs(cmd.syntax, cmd.name, n);
            fn check(d: &ArgDoc, n: usize, full: &str) {
                assert!(!d.name.is_empty(), "{full}");
                if let Some(i) = d.key_spec_index {
                    assert!(i < n, "{full}");
                }
                d.args.iter().for_each(|a| check(a, n, full));
            }
            docs.iter().for_each(|d| check(d, n, &full));
            // Shard channels have key specs (for cluster routing) but are documented as
            // strings, as in Redis.
            if cmd.keys.0 > 0 && !cmd.syntax.is_empty() && cmd.group != "pubsub" {
                assert!(
                    render(&docs).contains(":key"),
                    "{full} has keys but no key argument"
                );
            }
        });
    }

    #[test]
    fn list_and_help() {
        let Ok(Reply::Array(all)) = run(&["command", "list"]) else {
            panic!()
        };
        assert!(all.contains(&bulk("get")) && all.contains(&bulk("client|list")));
        let Ok(Reply::Array(s)) = run(&["command", "list", "filterby", "aclcat", "STRING"]) else {
            panic!()
        };
        assert!(s.contains(&bulk("get")) && !s.contains(&bulk("del")));
        assert_eq!(
            run(&["command", "list", "filterby", "aclcat", "nope"]),
            Ok(Reply::Array(vec![]))
        );
        assert_eq!(
            run(&["command", "list", "filterby", "module", "x"]),
            Ok(Reply::Array(vec![]))
        );
        assert_eq!(
            run(&["command", "list", "filterby", "bogus", "x"]),
            Err(CmdError::Syntax)
        );
        assert_eq!(run(&["command", "list", "foo"]), Err(CmdError::Syntax));
        let Ok(Reply::Array(h)) = run(&["command", "help"]) else {
            panic!()
        };
        assert_eq!(
            h.first(),
            Some(&Reply::status(
                "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
            ))
        );
        assert_eq!(h.last(), Some(&Reply::status("    Prints this help.")));
        assert!(matches!(
            run(&["command", "bogus"]),
            Err(CmdError::UnknownSubcommand { .. })
        ));
    }

    #[test]
    fn list_pattern() {
        let Ok(Reply::Array(p)) = run(&["command", "list", "filterby", "pattern", "CLIENT|I*"])
        else {
            panic!()
        };
        assert_eq!(p, vec![bulk("client|id"), bulk("client|info")]);
    }
}
