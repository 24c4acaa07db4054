//! Commands that need the server process: connection state, configuration, clients,
//! the slow log, INFO. Handlers here follow the engine's shape (`Result<Reply, CmdError>`),
//! but may await (DEBUG SLEEP) and change the session.

use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use sha2::{Digest, Sha256};
use vole_engine::cmd::keys::help_reply;
use vole_engine::cmd::meta;
use vole_engine::cmd::{int_arg, is};
use vole_engine::command::{ServerCmd, COMMANDS};
use vole_engine::glob::glob_match;
use vole_engine::keyspace::NUMBERED_DBS;
use vole_engine::resp::Proto;
use vole_engine::{CmdError, CmdResult, Reply};

use crate::conn::{Outcome, ReplyMode, Session};
use crate::pubsub::Kind;
use crate::server::ClientInfo;

/// The Redis release line whose behaviour Vole matches (clients pick features by it).
pub const REDIS_VERSION: &str = "7.2.4";

/// Run one server-level command.
pub async fn run(s: &mut Session, which: ServerCmd, args: &[Bytes]) -> Outcome {
    match which {
        ServerCmd::Save => return Outcome::Reply(save(s).await.unwrap_or_else(Reply::from)),
        ServerCmd::Shutdown => return shutdown(s, args),
        ServerCmd::Exec => return Outcome::Reply(crate::multi::exec(s).await),
        ServerCmd::Debug if is(&args[1], "sleep") => {
            return Outcome::Reply(match sleep_arg(args) {
                Ok(d) => {
                    tokio::time::sleep(d).await;
                    Reply::Ok
                }
                Err(e) => e.into(),
            })
        }
        _ => {}
    }
    match run_now(s, which, args, false) {
        Some(r) => Outcome::Reply(r),
        None => Outcome::Reply(CmdError::err("Command not allowed inside a transaction").into()),
    }
}

/// Runs a server-level command that completes without waiting: every one but SAVE,
/// SHUTDOWN and EXEC (`None` for those). `in_exec`: inside a transaction, where DEBUG SLEEP
/// holds the whole transaction (and so every writer) as it does in Redis.
pub fn run_now(s: &mut Session, which: ServerCmd, args: &[Bytes], in_exec: bool) -> Option<Reply> {
    let r = match which {
        ServerCmd::Ping => ping(s, args),
        ServerCmd::Echo => Ok(Reply::Bulk(args[1].clone())),
        ServerCmd::Time => {
            let us = s.server.ks.clock().now_us();
            Ok(Reply::Array(vec![
                Reply::bulk_string((us / 1_000_000).to_string()),
                Reply::bulk_string((us % 1_000_000).to_string()),
            ]))
        }
        ServerCmd::Info => Ok(crate::info::info(s, args)),
        ServerCmd::Auth => auth(s, args),
        ServerCmd::Hello => hello(s, args),
        ServerCmd::Select => select(s, args),
        ServerCmd::Quit => {
            s.close_after_reply = true;
            Ok(Reply::Ok)
        }
        ServerCmd::Reset => {
            reset(s);
            Ok(Reply::status("RESET"))
        }
        ServerCmd::Config => config(s, args),
        ServerCmd::Client => client(s, args),
        ServerCmd::Debug => debug(s, args, in_exec),
        ServerCmd::Slowlog => slowlog(s, args),
        ServerCmd::Acl => acl(s, args),
        ServerCmd::Latency => latency(args),
        ServerCmd::Module => {
            if is(&args[1], "help") {
                Ok(help_reply(&["MODULE <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", "LIST", "    Return a list of loaded modules (Vole has none).", "HELP", "    Print this help."]))
            } else {
                Ok(Reply::Array(Vec::new()))
            }
        }
        ServerCmd::Swapdb => Err(CmdError::err(
            "SWAPDB is not supported by Vole: keep data sets apart with namespaces (NAMESPACE CREATE / NAMESPACE USE)",
        )),
        ServerCmd::Lastsave => Ok(Reply::Int(
            s.server
                .persist
                .stats
                .last_save_unix_s
                .load(Ordering::Relaxed),
        )),
        ServerCmd::Bgsave => bgsave(s, args, "Background saving"),
        ServerCmd::Bgrewriteaof => bgsave(s, args, "Background append only file rewriting"),
        ServerCmd::Multi => crate::multi::multi(s),
        ServerCmd::Discard => crate::multi::discard(s),
        ServerCmd::Watch => crate::multi::watch(s, args),
        ServerCmd::Unwatch => {
            crate::multi::unwatch(s);
            Ok(Reply::Ok)
        }
        ServerCmd::Subscribe => Ok(crate::pubsub::subscribe(s, args, Kind::Channel)),
        ServerCmd::Psubscribe => Ok(crate::pubsub::subscribe(s, args, Kind::Pattern)),
        ServerCmd::Ssubscribe => Ok(crate::pubsub::subscribe(s, args, Kind::Shard)),
        ServerCmd::Unsubscribe => Ok(crate::pubsub::unsubscribe(s, args, Kind::Channel)),
        ServerCmd::Punsubscribe => Ok(crate::pubsub::unsubscribe(s, args, Kind::Pattern)),
        ServerCmd::Sunsubscribe => Ok(crate::pubsub::unsubscribe(s, args, Kind::Shard)),
        ServerCmd::Publish => Ok(crate::pubsub::publish(s, args)),
        ServerCmd::Spublish => Ok(crate::pubsub::spublish(s, args)),
        ServerCmd::Pubsub => crate::pubsub::pubsub(s, args),
        ServerCmd::Eval => Ok(crate::script::eval(s, args, false, false)),
        ServerCmd::Evalsha => Ok(crate::script::eval(s, args, true, false)),
        ServerCmd::EvalRo => Ok(crate::script::eval(s, args, false, true)),
        ServerCmd::EvalshaRo => Ok(crate::script::eval(s, args, true, true)),
        ServerCmd::Script => crate::script::script(s, args),
        ServerCmd::Fcall => Ok(crate::function::fcall(s, args, false)),
        ServerCmd::FcallRo => Ok(crate::function::fcall(s, args, true)),
        ServerCmd::Function => crate::function::function(s, args),
        ServerCmd::Save | ServerCmd::Shutdown | ServerCmd::Exec => return None,
        ServerCmd::Monitor => crate::monitor::start(s),
    };
    Some(r.unwrap_or_else(Reply::from))
}

fn ping(s: &mut Session, args: &[Bytes]) -> CmdResult {
    if s.proto == Proto::Resp2 && s.subs.count() > 0 {
        // A RESP2 subscriber gets PING's answer in the shape of a message.
        if args.len() > 2 {
            return Err(CmdError::WrongArity("ping".into()));
        }
        let msg = args.get(1).cloned().unwrap_or_default();
        return Ok(Reply::Push(vec![Reply::bulk("pong"), Reply::Bulk(msg)]));
    }
    match args.len() {
        1 => Ok(Reply::status("PONG")),
        2 => Ok(Reply::Bulk(args[1].clone())),
        _ => Err(CmdError::WrongArity("ping".into())),
    }
}

fn check_password(s: &Session, user: &[u8], pass: &[u8]) -> Result<(), CmdError> {
    let required = s.server.config.read().requirepass.clone();
    let ok = user == b"default" && required.as_deref().is_none_or(|p| p.as_bytes() == pass);
    if ok {
        Ok(())
    } else {
        Err(CmdError::Other(
            "WRONGPASS invalid username-password pair or user is disabled.".into(),
        ))
    }
}

fn auth(s: &mut Session, args: &[Bytes]) -> CmdResult {
    let (user, pass): (&[u8], &[u8]) = match args.len() {
        2 => (b"default", &args[1]),
        3 => (&args[1], &args[2]),
        _ => return Err(CmdError::Syntax),
    };
    if args.len() == 2 && s.server.config.read().requirepass.is_none() {
        return Err(CmdError::err(
            "AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
        ));
    }
    check_password(s, user, pass)?;
    s.authenticated = true;
    Ok(Reply::Ok)
}

fn hello(s: &mut Session, args: &[Bytes]) -> CmdResult {
    let mut proto = None;
    let mut i = 1;
    if let Some(v) = args.get(1) {
        let n = int_arg(v).map_err(|_| {
            CmdError::Other("ERR Protocol version is not an integer or out of range".into())
        })?;
        proto = Some(match n {
            2 => Proto::Resp2,
            3 => Proto::Resp3,
            _ => {
                return Err(CmdError::Other(
                    "NOPROTO unsupported protocol version".into(),
                ))
            }
        });
        i = 2;
    }
    let mut auth: Option<(Bytes, Bytes)> = None;
    let mut setname: Option<Bytes> = None;
    while i < args.len() {
        if is(&args[i], "AUTH") && i + 2 < args.len() {
            auth = Some((args[i + 1].clone(), args[i + 2].clone()));
            i += 3;
        } else if is(&args[i], "SETNAME") && i + 1 < args.len() {
            setname = Some(args[i + 1].clone());
            i += 2;
        } else {
            return Err(CmdError::err(format!(
                "Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(&args[i])
            )));
        }
    }
    if let Some((u, p)) = &auth {
        check_password(s, u, p)?;
        s.authenticated = true;
    }
    if !s.authenticated {
        return Err(CmdError::Other("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time".into()));
    }
    if let Some(name) = &setname {
        validate_name(name)?;
        *s.info.name.lock() = String::from_utf8_lossy(name).into_owned();
    }
    if let Some(p) = proto {
        s.proto = p;
        s.info
            .resp
            .store(if p == Proto::Resp3 { 3 } else { 2 }, Ordering::Relaxed);
    }
    let proto_n = if s.proto == Proto::Resp3 { 3 } else { 2 };
    Ok(Reply::Map(vec![
        (Reply::bulk("server"), Reply::bulk("redis")),
        (Reply::bulk("version"), Reply::bulk(REDIS_VERSION)),
        (Reply::bulk("proto"), Reply::Int(proto_n)),
        (Reply::bulk("id"), Reply::Int(s.info.id as i64)),
        (Reply::bulk("mode"), Reply::bulk("standalone")),
        (Reply::bulk("role"), Reply::bulk("master")),
        (Reply::bulk("modules"), Reply::Array(Vec::new())),
    ]))
}

fn select(s: &mut Session, args: &[Bytes]) -> CmdResult {
    let n = int_arg(&args[1]).map_err(|_| CmdError::NotInteger)?;
    if !(0..i64::from(NUMBERED_DBS)).contains(&n) {
        return Err(CmdError::err("DB index is out of range"));
    }
    let db = s
        .server
        .ks
        .db(n as u32)
        .cloned()
        .ok_or_else(|| CmdError::err("DB index is out of range"))?;
    s.info.db.store(u64::from(db.id), Ordering::Relaxed);
    s.db = db;
    Ok(Reply::Ok)
}

fn reset(s: &mut Session) {
    if let Some(db) = s.server.ks.db(0).cloned() {
        s.db = db;
    }
    s.info.db.store(0, Ordering::Relaxed);
    s.proto = Proto::Resp2;
    s.info.resp.store(2, Ordering::Relaxed);
    s.info.name.lock().clear();
    s.info.no_evict.store(false, Ordering::Relaxed);
    s.info.no_touch.store(false, Ordering::Relaxed);
    s.reply_mode = ReplyMode::On;
    s.authenticated = s.server.config.read().requirepass.is_none();
    crate::multi::end(s);
    crate::pubsub::forget(s);
}

fn config(s: &mut Session, args: &[Bytes]) -> CmdResult {
    let sub = String::from_utf8_lossy(&args[1]).to_lowercase();
    match sub.as_str() {
        "get" => {
            let cfg = s.server.config.read();
            let mut out = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for pat in &args[2..] {
                for p in crate::config::PARAMS {
                    if glob_match(pat, p.name.as_bytes(), true) && seen.insert(p.name) {
                        out.push((Reply::bulk(p.name), Reply::bulk_string((p.get)(&cfg))));
                    }
                }
            }
            Ok(Reply::Map(out))
        }
        "set" => {
            if args.len() % 2 != 0 {
                return Err(CmdError::WrongArity("config|set".into()));
            }
            // All or nothing: validate on a copy, then swap it in.
            let mut next = s.server.config.read().clone();
            for pair in args[2..].chunks_exact(2) {
                let name = String::from_utf8_lossy(&pair[0]).into_owned();
                let value = String::from_utf8_lossy(&pair[1]).into_owned();
                let Some(p) = crate::config::param(&name) else {
                    return Err(CmdError::err(format!(
                        "Unknown option or number of arguments for CONFIG SET - '{name}'"
                    )));
                };
                if !p.mutable {
                    return Err(CmdError::err(format!("CONFIG SET failed (possibly related to argument '{name}') - can't set immutable config")));
                }
                (p.set)(&mut next, &value).map_err(|e| {
                    CmdError::err(format!(
                        "CONFIG SET failed (possibly related to argument '{name}') - {e}"
                    ))
                })?;
            }
            if let Some(wal) = &s.server.persist.wal {
                wal.set_policy(next.appendfsync);
            }
            let (hard, soft, secs) = next.client_output_buffer_limit[2];
            s.server.pubsub.limits.set(hard, soft, secs);
            s.server
                .notify_flags
                .store(next.notify_keyspace_events, Ordering::Relaxed);
            vole_engine::types::stream::set_node_limits(
                next.stream_node_max_bytes,
                next.stream_node_max_entries,
            );
            *s.server.config.write() = next;
            Ok(Reply::Ok)
        }
        "resetstat" => {
            s.server.reset_stats();
            Ok(Reply::Ok)
        }
        "rewrite" => {
            let cfg = s.server.config.read().clone();
            let Some(path) = cfg.config_file.clone() else {
                return Err(CmdError::err("The server is running without a config file"));
            };
            let mut text = String::from("# Written by CONFIG REWRITE\n");
            for p in crate::config::PARAMS
                .iter()
                .filter(|p| p.mutable || p.name == "addr")
            {
                let v = (p.get)(&cfg);
                if !v.is_empty() {
                    text.push_str(&format!("{} \"{}\"\n", p.name, v.replace('"', "")));
                }
            }
            let tmp = path.with_extension("rewrite.tmp");
            std::fs::write(&tmp, text)
                .and_then(|_| std::fs::rename(&tmp, &path))
                .map_err(|e| CmdError::err(format!("Rewriting config file: {e}")))?;
            Ok(Reply::Ok)
        }
        _ => Ok(help_reply(&[
            "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
            "HELP",
            "    Print this help.",
        ])),
    }
}

fn validate_name(name: &[u8]) -> Result<(), CmdError> {
    if name.iter().any(|&b| b <= b' ' || b > b'~') {
        return Err(CmdError::err(
            "Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok(())
}

/// One CLIENT LIST line (without the trailing newline).
pub fn client_line(s: &Session, c: &ClientInfo) -> String {
    let age = c.created.elapsed().as_secs();
    let idle = c.last_active.lock().elapsed().as_secs();
    let mut flags = String::new();
    if c.no_evict.load(Ordering::Relaxed) {
        flags.push('e');
    }
    if c.no_touch.load(Ordering::Relaxed) {
        flags.push('T');
    }
    if s.server.blocking.is_blocked(c.id) {
        flags.push('b');
    }
    let multi = c.multi.load(Ordering::Relaxed);
    if multi >= 0 {
        flags.push('x');
    }
    let (subs, psubs, ssubs) = (
        c.subs.load(Ordering::Relaxed),
        c.psubs.load(Ordering::Relaxed),
        c.ssubs.load(Ordering::Relaxed),
    );
    if subs + psubs + ssubs > 0 {
        flags.push('P');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    format!(
        "id={} addr={} laddr={} fd=0 name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} watch={} qbuf={} qbuf-free=0 argv-mem=0 multi-mem=0 rbs=16384 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={}",
        c.id,
        c.addr,
        c.laddr,
        c.name.lock(),
        age,
        idle,
        flags,
        c.db.load(Ordering::Relaxed),
        subs,
        psubs,
        ssubs,
        multi,
        c.watching.load(Ordering::Relaxed),
        c.qbuf.load(Ordering::Relaxed),
        if c.has_run_cmd.load(Ordering::Relaxed) { c.last_cmd.lock().full_name() } else { "NULL".into() },
        c.resp.load(Ordering::Relaxed),
        c.lib_name.lock(),
        c.lib_ver.lock(),
    )
}

fn on_off(arg: &[u8]) -> Result<bool, CmdError> {
    if is(arg, "on") {
        Ok(true)
    } else if is(arg, "off") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

fn client(s: &mut Session, args: &[Bytes]) -> CmdResult {
    let sub = String::from_utf8_lossy(&args[1]).to_lowercase();
    match sub.as_str() {
        "id" => Ok(Reply::Int(s.info.id as i64)),
        "info" => Ok(Reply::Verbatim(
            "txt",
            Bytes::from(client_line(s, &s.info) + "\n"),
        )),
        "getname" => {
            let n = s.info.name.lock().clone();
            Ok(if n.is_empty() {
                Reply::Nil
            } else {
                Reply::bulk_string(n)
            })
        }
        "setname" => {
            validate_name(&args[2])?;
            *s.info.name.lock() = String::from_utf8_lossy(&args[2]).into_owned();
            Ok(Reply::Ok)
        }
        "setinfo" => {
            let attr = String::from_utf8_lossy(&args[2]).to_lowercase();
            let slot = match attr.as_str() {
                "lib-name" => &s.info.lib_name,
                "lib-ver" => &s.info.lib_ver,
                _ => {
                    return Err(CmdError::err(format!(
                        "Unrecognized option '{}'",
                        String::from_utf8_lossy(&args[2])
                    )))
                }
            };
            if args[3].iter().any(|b| !(b'!'..=b'~').contains(b)) {
                return Err(CmdError::err(format!(
                    "{attr} cannot contain spaces, newlines or special characters."
                )));
            }
            *slot.lock() = String::from_utf8_lossy(&args[3]).into_owned();
            Ok(Reply::Ok)
        }
        "list" => {
            let mut ids: Option<Vec<u64>> = None;
            let mut i = 2;
            while i < args.len() {
                if is(&args[i], "TYPE") && i + 1 < args.len() {
                    let t = &args[i + 1];
                    if !["normal", "master", "replica", "slave", "pubsub"]
                        .iter()
                        .any(|n| is(t, n))
                    {
                        return Err(CmdError::err(format!(
                            "Unknown client type '{}'",
                            String::from_utf8_lossy(t)
                        )));
                    }
                    if !is(t, "normal") {
                        ids = Some(Vec::new());
                    }
                    i += 2;
                } else if is(&args[i], "ID") && i + 1 < args.len() {
                    let mut v = Vec::new();
                    for a in &args[i + 1..] {
                        let n = int_arg(a)
                            .ok()
                            .filter(|n| *n > 0)
                            .ok_or_else(|| CmdError::err("Invalid client ID"))?;
                        v.push(n as u64);
                    }
                    ids = Some(v);
                    i = args.len();
                } else {
                    return Err(CmdError::Syntax);
                }
            }
            let clients: Vec<_> = s.server.clients.lock().values().cloned().collect();
            let mut text = String::new();
            for c in clients {
                if ids.as_ref().is_some_and(|v| !v.contains(&c.id)) {
                    continue;
                }
                text.push_str(&client_line(s, &c));
                text.push('\n');
            }
            Ok(Reply::Verbatim("txt", Bytes::from(text)))
        }
        "kill" => client_kill(s, args),
        "no-evict" => {
            s.info.no_evict.store(on_off(&args[2])?, Ordering::Relaxed);
            Ok(Reply::Ok)
        }
        "no-touch" => {
            s.info.no_touch.store(on_off(&args[2])?, Ordering::Relaxed);
            Ok(Reply::Ok)
        }
        "reply" => {
            let a = &args[2];
            s.reply_mode = if is(a, "on") {
                ReplyMode::On
            } else if is(a, "off") {
                ReplyMode::Off
            } else if is(a, "skip") {
                // Neither this reply nor the next command's is sent; while replies are off,
                // SKIP changes nothing (as in Redis).
                if s.reply_mode == ReplyMode::Off {
                    ReplyMode::Off
                } else {
                    ReplyMode::SkipArmed
                }
            } else {
                return Err(CmdError::Syntax);
            };
            Ok(Reply::Ok)
        }
        "pause" => {
            let ms = int_arg(&args[2])
                .map_err(|_| CmdError::err("timeout is not an integer or out of range"))?;
            if ms < 0 {
                return Err(CmdError::err("timeout is negative"));
            }
            let writes_only = match args.get(3) {
                None => false,
                Some(a) if is(a, "write") => true,
                Some(a) if is(a, "all") => false,
                Some(_) => return Err(CmdError::Syntax),
            };
            if args.len() > 4 {
                return Err(CmdError::Syntax);
            }
            let until = s.server.ks.now_ms().saturating_add(ms);
            s.server
                .pause_writes_only
                .store(writes_only, Ordering::Relaxed);
            s.server.pause_until_ms.fetch_max(until, Ordering::Relaxed);
            Ok(Reply::Ok)
        }
        "unpause" => {
            s.server.pause_until_ms.store(0, Ordering::Relaxed);
            s.server.unpaused.notify_waiters();
            Ok(Reply::Ok)
        }
        "unblock" => {
            let id = int_arg(&args[2]).map_err(|_| CmdError::NotInteger)?;
            let mut how = crate::blocking::Unblock::Timeout;
            if let Some(mode) = args.get(3) {
                if is(mode, "error") {
                    how = crate::blocking::Unblock::Error;
                } else if !is(mode, "timeout") {
                    return Err(CmdError::err(
                        "CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
                    ));
                }
            }
            let done = u64::try_from(id).is_ok_and(|id| s.server.blocking.unblock(id, how));
            Ok(Reply::Int(i64::from(done)))
        }
        _ => Ok(help_reply(&[
            "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are: ID, TYPE, USER, ADDR, LADDR, SKIPME.",
            "LIST [options ...]",
            "    Return information about client connections. Options: TYPE, ID.",
            "UNPAUSE",
            "    Stop the current client pause, resuming traffic.",
            "PAUSE <timeout> [WRITE|ALL]",
            "    Suspend all, or just write, clients for <timeout> milliseconds.",
            "REPLY (ON|OFF|SKIP)",
            "    Control the replies sent to the current connection.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "SETINFO <option> <value>",
            "    Set client meta attr. Options are: LIB-NAME, LIB-VER.",
            "UNBLOCK <clientid> [TIMEOUT|ERROR]",
            "    Unblock the specified blocked client.",
            "NO-EVICT (ON|OFF)",
            "    Protect current client connection from eviction.",
            "NO-TOUCH (ON|OFF)",
            "    Will not touch LRU/LFU stats when this mode is on.",
            "HELP",
            "    Print this help.",
        ])),
    }
}

fn client_kill(s: &mut Session, args: &[Bytes]) -> CmdResult {
    let clients: Vec<_> = s.server.clients.lock().values().cloned().collect();
    if args.len() == 3 {
        // Old form: CLIENT KILL ip:port
        let addr = String::from_utf8_lossy(&args[2]).into_owned();
        let Some(c) = clients.iter().find(|c| c.addr.to_string() == addr) else {
            return Err(CmdError::err("No such client"));
        };
        kill(s, c);
        return Ok(Reply::Ok);
    }
    let mut id = None;
    let mut addr = None;
    let mut laddr = None;
    let mut user = None;
    let mut type_normal = true;
    let mut skipme = true;
    let mut i = 2;
    while i + 1 < args.len() {
        let v = &args[i + 1];
        let vs = String::from_utf8_lossy(v).into_owned();
        if is(&args[i], "ID") {
            id = Some(
                int_arg(v)
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| CmdError::err("client-id should be greater than 0"))?
                    as u64,
            );
        } else if is(&args[i], "ADDR") {
            addr = Some(vs);
        } else if is(&args[i], "LADDR") {
            laddr = Some(vs);
        } else if is(&args[i], "USER") {
            user = Some(vs);
        } else if is(&args[i], "TYPE") {
            if !["normal", "master", "replica", "slave", "pubsub"]
                .iter()
                .any(|n| is(v, n))
            {
                return Err(CmdError::err(format!("Unknown client type '{vs}'")));
            }
            type_normal = is(v, "normal");
        } else if is(&args[i], "SKIPME") {
            skipme = if is(v, "yes") {
                true
            } else if is(v, "no") {
                false
            } else {
                return Err(CmdError::Syntax);
            };
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    if i != args.len() {
        return Err(CmdError::Syntax);
    }
    let mut n = 0;
    for c in &clients {
        let matches = type_normal
            && id.is_none_or(|x| x == c.id)
            && addr.as_ref().is_none_or(|a| *a == c.addr.to_string())
            && laddr.as_ref().is_none_or(|a| *a == c.laddr.to_string())
            && user.as_ref().is_none_or(|u| u == "default")
            && !(skipme && c.id == s.info.id);
        if matches {
            kill(s, c);
            n += 1;
        }
    }
    Ok(Reply::Int(n))
}

fn kill(s: &Session, c: &ClientInfo) {
    c.killed.store(true, Ordering::Relaxed);
    if c.id != s.info.id {
        c.kill.notify_one();
    }
}

/// The duration of DEBUG SLEEP.
fn sleep_arg(args: &[Bytes]) -> Result<Duration, CmdError> {
    let secs = args
        .get(2)
        .and_then(|a| vole_engine::num::parse_f64(a))
        .filter(|f| f.is_finite() && *f >= 0.0)
        .ok_or(CmdError::NotFloat)?;
    Ok(Duration::from_secs_f64(secs.min(3600.0)))
}

fn debug(s: &Session, args: &[Bytes], in_exec: bool) -> CmdResult {
    if is(&args[1], "fail-log-fsync") {
        if s.server.persist.wal.is_none() {
            return Err(CmdError::err("the write-ahead log is off (appendonly no)"));
        }
        s.server
            .persist
            .fail_next_sync
            .store(true, Ordering::Release);
        return Ok(Reply::Ok);
    }
    if is(&args[1], "sleep") && in_exec {
        std::thread::sleep(sleep_arg(args)?);
        return Ok(Reply::Ok);
    }
    if is(&args[1], "error") {
        let line = String::from_utf8_lossy(&args[2]).replace(['\r', '\n'], " ");
        return Err(CmdError::Other(line));
    }
    Ok(help_reply(&[
        "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ERROR <string>",
        "    Return a Redis protocol error with <string> as message.",
        "SLEEP <seconds>",
        "    Stop the server for <seconds>. Decimals allowed.",
        "FAIL-LOG-FSYNC",
        "    Make the next fsync of the write-ahead log fail (fault injection: the log then",
        "    refuses writes with MISCONF until the server is restarted).",
        "HELP",
        "    Print this help.",
    ]))
}

fn slowlog(s: &mut Session, args: &[Bytes]) -> CmdResult {
    let sub = String::from_utf8_lossy(&args[1]).to_lowercase();
    match sub.as_str() {
        "len" => Ok(Reply::Int(s.server.slowlog.lock().len() as i64)),
        "reset" => {
            s.server.slowlog.lock().clear();
            Ok(Reply::Ok)
        }
        "get" => {
            let count = match args.get(2) {
                None => 10,
                Some(a) => {
                    let n = int_arg(a).map_err(|_| {
                        CmdError::err("count should be greater than or equal to -1")
                    })?;
                    if n < -1 {
                        return Err(CmdError::err("count should be greater than or equal to -1"));
                    }
                    if n == -1 {
                        usize::MAX
                    } else {
                        n as usize
                    }
                }
            };
            let log = s.server.slowlog.lock();
            let entries = log
                .iter()
                .take(count)
                .map(|e| {
                    Reply::Array(vec![
                        Reply::Int(e.id as i64),
                        Reply::Int(e.at_s),
                        Reply::Int(e.duration_us as i64),
                        Reply::Array(e.args.iter().cloned().map(Reply::Bulk).collect()),
                        Reply::bulk(&e.addr),
                        Reply::bulk(&e.name),
                    ])
                })
                .collect();
            Ok(Reply::Array(entries))
        }
        _ => Ok(help_reply(&[
            "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
            "HELP",
            "    Print this help.",
        ])),
    }
}

fn acl(s: &mut Session, args: &[Bytes]) -> CmdResult {
    let sub = String::from_utf8_lossy(&args[1]).to_lowercase();
    let pass = s.server.config.read().requirepass.clone();
    let pass_rule = match &pass {
        Some(p) => format!("#{}", hex(&Sha256::digest(p.as_bytes()))),
        None => "nopass".into(),
    };
    match sub.as_str() {
        "whoami" => Ok(Reply::bulk("default")),
        "list" => Ok(Reply::Array(vec![Reply::bulk_string(format!(
            "user default on {pass_rule} sanitize-payload ~* &* +@all"
        ))])),
        "cat" => match args.get(2) {
            None => Ok(Reply::Array(
                meta::ACL_CATEGORIES.iter().map(Reply::bulk).collect(),
            )),
            Some(cat) => {
                let cat = String::from_utf8_lossy(cat).to_lowercase();
                if !meta::ACL_CATEGORIES.contains(&cat.as_str()) {
                    return Err(CmdError::err(format!("Unknown category '{cat}'")));
                }
                let tag = format!("@{cat}");
                let mut names = Vec::new();
                for c in COMMANDS {
                    let subs = c.subcommands;
                    if subs.is_empty() {
                        if meta::acl_categories(c).contains(&tag.as_str()) {
                            names.push(Reply::bulk(c.name));
                        }
                    } else {
                        for sc in subs {
                            if meta::acl_categories(sc).contains(&tag.as_str()) {
                                names.push(Reply::bulk_string(format!("{}|{}", c.name, sc.name)));
                            }
                        }
                    }
                }
                Ok(Reply::Array(names))
            }
        },
        "getuser" => {
            if &args[2][..] != b"default" {
                return Ok(Reply::Nil);
            }
            let passwords = match &pass {
                Some(p) => vec![Reply::bulk_string(hex(&Sha256::digest(p.as_bytes())))],
                None => Vec::new(),
            };
            let mut flags = vec![Reply::bulk("on")];
            if pass.is_none() {
                flags.push(Reply::bulk("nopass"));
            }
            flags.push(Reply::bulk("sanitize-payload"));
            Ok(Reply::Map(vec![
                (Reply::bulk("flags"), Reply::Array(flags)),
                (Reply::bulk("passwords"), Reply::Array(passwords)),
                (Reply::bulk("commands"), Reply::bulk("+@all")),
                (Reply::bulk("keys"), Reply::bulk("~*")),
                (Reply::bulk("channels"), Reply::bulk("&*")),
                (Reply::bulk("selectors"), Reply::Array(Vec::new())),
            ]))
        }
        _ => Ok(help_reply(&[
            "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "CAT [<category>]",
            "    List all commands that belong to <category>, or all command categories",
            "    when no category is specified.",
            "GETUSER <username>",
            "    Get the user's details.",
            "LIST",
            "    Show users details in config file format.",
            "WHOAMI",
            "    Return the current connection username.",
            "HELP",
            "    Print this help.",
        ])),
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn latency(args: &[Bytes]) -> CmdResult {
    // Vole does not sample latency events yet, so there is never anything to report; the
    // commands answer with the empty data Redis gives when monitoring is off.
    let sub = String::from_utf8_lossy(&args[1]).to_lowercase();
    match sub.as_str() {
        "latest" | "history" => Ok(Reply::Array(Vec::new())),
        "reset" => Ok(Reply::Int(0)),
        _ => Ok(help_reply(&[
            "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "HISTORY <event>",
            "    Return time-latency samples for the <event> class.",
            "LATEST",
            "    Return the latest latency samples for all events.",
            "RESET [<event> ...]",
            "    Reset latency data of one or more <event> classes.",
            "HELP",
            "    Print this help.",
        ])),
    }
}

/// SAVE: a snapshot now; the reply waits for it (other clients are served meanwhile).
async fn save(s: &mut Session) -> CmdResult {
    let srv = s.server.clone();
    if srv.persist.bgsave_in_progress.load(Ordering::Relaxed) {
        return Err(CmdError::err("Background save already in progress"));
    }
    let done = tokio::task::spawn_blocking(move || srv.persist.snapshot_now(&srv.ks))
        .await
        .map_err(|e| CmdError::err(format!("snapshot task failed: {e}")))?;
    match done {
        Ok(_) => Ok(Reply::Ok),
        Err(e) => Err(CmdError::err(format!("{e:#}").replace(['\r', '\n'], " "))),
    }
}

/// BGSAVE [SCHEDULE] and BGREWRITEAOF (in Vole, compaction is a snapshot plus dropping the
/// log segments it covers).
fn bgsave(s: &mut Session, args: &[Bytes], what: &str) -> CmdResult {
    let schedule = match args.get(1) {
        None => false,
        Some(a) if is(a, "schedule") && args.len() == 2 => true,
        Some(_) => return Err(CmdError::Syntax),
    };
    let p = s.server.persist.clone();
    let aof = args[0].eq_ignore_ascii_case(b"bgrewriteaof");
    if p.bgsave_in_progress.load(Ordering::Relaxed) {
        if schedule || aof {
            let ks = s.server.ks.clone();
            std::thread::spawn(move || {
                while p.bgsave_in_progress.load(Ordering::Acquire) {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                let _ = p.bgsave(&ks);
            });
            return Ok(Reply::Status(Bytes::from(format!("{what} scheduled"))));
        }
        return Err(CmdError::err(if aof {
            "Background append only file rewriting already in progress"
        } else {
            "Background save already in progress"
        }));
    }
    p.bgsave(&s.server.ks)
        .map_err(|e| CmdError::err(e.to_string()))?;
    Ok(Reply::Status(Bytes::from(format!("{what} started"))))
}

fn shutdown(s: &mut Session, args: &[Bytes]) -> Outcome {
    let mut save = false;
    let mut nosave = false;
    for a in &args[1..] {
        if is(a, "nosave") {
            nosave = true;
        } else if is(a, "now") || is(a, "force") {
            continue;
        } else if is(a, "save") {
            save = true;
        } else if is(a, "abort") {
            return Outcome::Reply(CmdError::err("No shutdown in progress.").into());
        } else {
            return Outcome::Reply(CmdError::Syntax.into());
        }
    }
    if save && nosave {
        return Outcome::Reply(CmdError::Syntax.into());
    }
    s.server.shutdown_nosave.store(nosave, Ordering::Relaxed);
    s.server.shutdown_save.store(save, Ordering::Relaxed);
    s.server.shutting_down.store(true, Ordering::Relaxed);
    s.server.shutdown.notify_one();
    s.close_after_reply = true;
    Outcome::Silent
}
