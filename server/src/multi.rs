//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH, with Redis's semantics.
//!
//! - After MULTI, commands are checked (unknown command, arity, auth, `no-multi`) and queued
//!   (`+QUEUED`). A command refused while queueing marks the transaction, and EXEC then
//!   answers `-EXECABORT` and runs nothing. Errors while running do not roll anything back.
//! - EXEC takes the keyspace's writer lock once and runs the queue under it: no other write
//!   interleaves, every effect becomes one log record (replay applies all of it or none),
//!   and, when the queue holds writes, readers of other connections never see part of it
//!   ([`vole_engine::keyspace::Keyspace::atomically`]).
//! - WATCH registers the keys with the keyspace (see [`vole_engine::watch`]); any change to
//!   one of them (by any client, expiry, FLUSHALL, a script or a replicated record) makes
//!   EXEC answer a null array. A key that was live when watched and has expired by EXEC time
//!   aborts too, as in Redis 7.
//! - Blocking commands inside a transaction do not block: they answer as on timeout.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use vole_engine::command::{flags, resolve, Exec, ServerCmd};
use vole_engine::watch::Watcher;
use vole_engine::{CmdError, Reply};

use crate::conn::{misconf, run_engine, Session};

/// A transaction being queued.
#[derive(Default)]
pub struct Multi {
    queued: Vec<Vec<Bytes>>,
    /// A command was refused while queueing: EXEC aborts.
    aborted: bool,
    /// Some queued command writes.
    writes: bool,
}

/// The keys a connection watches.
pub struct Watching {
    watcher: Arc<Watcher>,
    /// (namespace, key, live when watched).
    keys: Vec<(u32, Bytes, bool)>,
}

/// Commands that run at once even inside MULTI (everything else is queued).
pub fn runs_in_multi(which: Option<ServerCmd>) -> bool {
    matches!(
        which,
        Some(
            ServerCmd::Exec
                | ServerCmd::Discard
                | ServerCmd::Multi
                | ServerCmd::Watch
                | ServerCmd::Quit
                | ServerCmd::Reset
        )
    )
}

/// Marks the open transaction (if any) as failed: a command was refused while queueing.
pub fn flag_error(s: &mut Session) {
    if let Some(m) = &mut s.multi {
        m.aborted = true;
    }
}

/// Queues a checked command.
pub fn queue(s: &mut Session, write: bool, args: &[Bytes]) -> Reply {
    let Some(m) = &mut s.multi else {
        return Reply::Ok;
    };
    m.queued.push(args.to_vec());
    m.writes |= write;
    s.info.multi.store(m.queued.len() as i64, Ordering::Relaxed);
    Reply::status("QUEUED")
}

/// MULTI.
pub fn multi(s: &mut Session) -> Result<Reply, CmdError> {
    if s.multi.is_some() {
        return Err(CmdError::err("MULTI calls can not be nested"));
    }
    s.multi = Some(Multi::default());
    s.info.multi.store(0, Ordering::Relaxed);
    Ok(Reply::Ok)
}

/// DISCARD.
pub fn discard(s: &mut Session) -> Result<Reply, CmdError> {
    if s.multi.is_none() {
        return Err(CmdError::err("DISCARD without MULTI"));
    }
    end(s);
    Ok(Reply::Ok)
}

/// Leaves MULTI (if in it) and forgets watched keys: DISCARD, RESET, disconnect.
pub fn end(s: &mut Session) {
    s.multi = None;
    s.info.multi.store(-1, Ordering::Relaxed);
    unwatch(s);
}

/// WATCH key [key ...].
pub fn watch(s: &mut Session, args: &[Bytes]) -> Result<Reply, CmdError> {
    if s.multi.is_some() {
        return Err(CmdError::err("WATCH inside MULTI is not allowed"));
    }
    let ks = s.server.ks.clone();
    let w = s.watching.get_or_insert_with(|| Watching {
        watcher: Watcher::new(),
        keys: Vec::new(),
    });
    for key in &args[1..] {
        if w.keys.iter().any(|(d, k, _)| *d == s.db.id && k == key) {
            continue;
        }
        let live = ks.watch(&w.watcher, &s.db, key);
        w.keys.push((s.db.id, key.clone(), live));
    }
    s.info.watching.store(w.keys.len(), Ordering::Relaxed);
    Ok(Reply::Ok)
}

/// UNWATCH (and the unwatch every EXEC, DISCARD and disconnect does).
pub fn unwatch(s: &mut Session) {
    if let Some(w) = s.watching.take() {
        let keys: Vec<(u32, Bytes)> = w.keys.into_iter().map(|(d, k, _)| (d, k)).collect();
        s.server.ks.watches.remove(&w.watcher, &keys);
    }
    s.info.watching.store(0, Ordering::Relaxed);
}

/// Whether a watched key changed (or expired) since WATCH. Called under the writer lock.
fn watch_failed(s: &Session) -> bool {
    let Some(w) = &s.watching else {
        return false;
    };
    if w.watcher.is_dirty() {
        return true;
    }
    let ks = &s.server.ks;
    w.keys.iter().any(|(db, key, live)| {
        *live && ks.db_by_id(*db).is_some_and(|d| ks.is_expired_now(&d, key))
    })
}

/// EXEC.
pub async fn exec(s: &mut Session) -> Reply {
    let Some(m) = s.multi.take() else {
        return CmdError::err("EXEC without MULTI").into();
    };
    s.info.multi.store(-1, Ordering::Relaxed);
    if m.aborted {
        unwatch(s);
        return CmdError::Other(
            "EXECABORT Transaction discarded because of previous errors.".into(),
        )
        .into();
    }
    if m.writes && s.server.ks.log_failed() {
        unwatch(s);
        let why = misconf(&s.server).to_line();
        return CmdError::Other(format!("EXECABORT Transaction discarded because of: {why}"))
            .into();
    }
    if m.writes {
        crate::conn::wait_if_paused(s, true).await;
    }
    let ks = s.server.ks.clone();
    let w = ks.writer();
    if watch_failed(s) {
        drop(w);
        unwatch(s);
        return Reply::NilArray;
    }
    unwatch(s);
    s.now_ms = ks.now_ms();
    let mut wrote = false;
    let replies = if m.writes {
        ks.atomically(&w, || run_queue(s, &m.queued, &mut wrote))
    } else {
        run_queue(s, &m.queued, &mut wrote)
    };
    // The record is appended here, when the outermost writer goes.
    drop(w);
    if wrote {
        if ks.log_failed() {
            return misconf(&s.server).into();
        }
        s.wrote = true;
    }
    Reply::Array(replies)
}

fn run_queue(s: &mut Session, queued: &[Vec<Bytes>], wrote: &mut bool) -> Vec<Reply> {
    let mut replies = Vec::with_capacity(queued.len());
    for args in queued {
        let started = std::time::Instant::now();
        let reply = run_one(s, args);
        *wrote |= std::mem::take(&mut s.wrote);
        let took = started.elapsed();
        if let Ok(r) = resolve(args) {
            if let Some(i) = s.server.cmd_slot(r.cmd) {
                s.local.record(i, took.as_micros() as u64, reply.is_error());
            }
        }
        replies.push(reply);
    }
    replies
}

/// Runs one queued command (already checked when queued).
fn run_one(s: &mut Session, args: &[Bytes]) -> Reply {
    let cmd = match resolve(args) {
        Ok(r) => r.cmd,
        Err(e) => return e.into(),
    };
    let write = cmd.flags & flags::WRITE != 0;
    match cmd.exec {
        Exec::Engine(handler) => match run_engine(s, handler, args, write, false) {
            // A blocking command in a transaction answers as if it timed out.
            Reply::Block(on) => on.on_timeout,
            r => r,
        },
        Exec::Server(which) => {
            match crate::commands::run_now(s, which, args, true) {
                // (P)SUBSCRIBE confirms each channel with its own frame; inside the EXEC
                // array they are one element, so the array stays well formed.
                Some(Reply::Frames(mut frames)) if frames.len() == 1 => frames.remove(0),
                Some(Reply::Frames(frames)) => Reply::Array(frames),
                Some(r) => r,
                None => CmdError::err("Command not allowed inside a transaction").into(),
            }
        }
        Exec::Container => CmdError::WrongArity(cmd.name.to_string()).into(),
    }
}
