//! One client connection: read, parse (shared sans-IO codec), gate, execute, write.
//!
//! Replies for every command parsed from one read go out in one write. While a reply batch
//! is being written the connection does not read, so a client that does not read its
//! replies only ever holds one batch of output (bounded by [`OUTPUT_FLUSH_BYTES`] plus the
//! largest single reply) and one query buffer (bounded by `client-query-buffer-limit`).

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use vole_engine::cmd::{Ctx, EngineLimits};
use vole_engine::command::{flags, resolve, Command, Exec, Handler, ServerCmd};
use vole_engine::keyspace::Db;
use vole_engine::reply::BlockOn;
use vole_engine::resp::{self, Limits, Proto};
use vole_engine::{CmdError, Reply};

use crate::server::{ClientInfo, Server};
use vole_wal::log::FsyncPolicy;

/// Flush the output buffer mid-batch once it grows past this, so a long pipeline of big
/// replies never accumulates in memory.
pub const OUTPUT_FLUSH_BYTES: usize = 1024 * 1024;
const READ_CHUNK_BYTES: usize = 16 * 1024;

/// CLIENT REPLY mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyMode {
    On,
    Off,
    /// Set by CLIENT REPLY SKIP: drop this reply, then skip the next one.
    SkipArmed,
    /// Drop the next reply, then turn replies back on.
    Skip,
}

/// Per-connection state the command implementations may change.
pub struct Session {
    pub server: Arc<Server>,
    pub info: Arc<ClientInfo>,
    pub db: Arc<Db>,
    pub proto: Proto,
    pub authenticated: bool,
    pub reply_mode: ReplyMode,
    pub close_after_reply: bool,
    pub limits: EngineLimits,
    /// Counters gathered during a read batch and added to the shared ones at its end.
    pub local: LocalStats,
    /// `slowlog-log-slower-than`, refreshed from the config once per read batch.
    pub slowlog_threshold_us: i64,
    /// The keyspace clock, read once per read batch and again after any command that took
    /// a millisecond or more, so pipelined commands do not each pay a clock read.
    pub now_ms: i64,
    /// The last command executed was a logged write (set by `execute`).
    pub wrote: bool,
    /// Under `appendfsync always`: replies to writes waiting in the output buffer for their
    /// LSN to be durable, as (start, end, lsn).
    pub unsynced: Vec<(usize, usize, u64)>,
    /// The transaction being queued (after MULTI).
    pub multi: Option<crate::multi::Multi>,
    /// Keys watched for the next EXEC.
    pub watching: Option<crate::multi::Watching>,
    /// Pub/Sub channels and patterns.
    pub subs: crate::pubsub::Subscriptions,
}

impl Session {
    /// A stand-in holding the same server, client and namespace, and nothing else: takes
    /// this session's place while a script borrows the real one.
    pub fn placeholder(&self) -> Session {
        Session {
            server: self.server.clone(),
            info: self.info.clone(),
            db: self.db.clone(),
            proto: self.proto,
            authenticated: self.authenticated,
            reply_mode: self.reply_mode,
            close_after_reply: false,
            limits: self.limits.clone(),
            local: LocalStats::default(),
            slowlog_threshold_us: self.slowlog_threshold_us,
            now_ms: self.now_ms,
            wrote: false,
            unsynced: Vec::new(),
            multi: None,
            watching: None,
            subs: Default::default(),
        }
    }
}

/// Counts a connection as busy for the life of one batch of commands, so shutdown can wait
/// for commands in flight.
struct InFlight<'a>(&'a Server);

impl<'a> InFlight<'a> {
    fn enter(server: &'a Server) -> InFlight<'a> {
        server.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(server)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The error a write gets when the log cannot take it.
pub fn misconf(server: &Server) -> CmdError {
    let why = server
        .ks
        .log_failure()
        .unwrap_or_else(|| "unknown error".into())
        .replace(['\r', '\n'], " ");
    CmdError::Other(format!(
        "MISCONF Errors writing to the AOF file: {why}. Commands that may modify the data set are disabled until the server is restarted; check the logs"
    ))
}

/// Per-connection counters, flushed to the shared [`Server`] counters once per read batch.
#[derive(Default)]
pub struct LocalStats {
    commands: u64,
    hits: u64,
    misses: u64,
    /// (command slot, calls, usec, failed) for commands run in this batch.
    per_cmd: Vec<(usize, u64, u64, u64)>,
}

impl LocalStats {
    pub fn record(&mut self, slot: usize, usec: u64, failed: bool) {
        match self.per_cmd.iter_mut().find(|e| e.0 == slot) {
            Some(e) => {
                e.1 += 1;
                e.2 += usec;
                e.3 += u64::from(failed);
            }
            None => self.per_cmd.push((slot, 1, usec, u64::from(failed))),
        }
    }

    fn flush(&mut self, server: &Server) {
        if self.commands > 0 {
            server
                .total_commands
                .fetch_add(self.commands, Ordering::Relaxed);
        }
        if self.hits > 0 {
            server
                .ks
                .stats
                .keyspace_hits
                .fetch_add(self.hits, Ordering::Relaxed);
        }
        if self.misses > 0 {
            server
                .ks
                .stats
                .keyspace_misses
                .fetch_add(self.misses, Ordering::Relaxed);
        }
        for &(slot, calls, usec, failed) in &self.per_cmd {
            if let Some(st) = server.cmd_stat_at(slot) {
                st.calls.fetch_add(calls, Ordering::Relaxed);
                st.usec.fetch_add(usec, Ordering::Relaxed);
                if failed > 0 {
                    st.failed.fetch_add(failed, Ordering::Relaxed);
                }
            }
        }
        self.commands = 0;
        self.hits = 0;
        self.misses = 0;
        self.per_cmd.clear();
    }
}

/// What executing one command produced.
pub enum Outcome {
    Reply(Reply),
    /// No reply at all (SHUTDOWN succeeded, the process is going away).
    Silent,
    /// A blocking command found nothing to serve: park the client (see [`block`]).
    Block(Box<BlockOn>, Handler, bool),
}

/// Serve one connection until it closes.
pub async fn serve(server: Arc<Server>, mut sock: TcpStream, peer: SocketAddr, local: SocketAddr) {
    let _ = sock.set_nodelay(true);
    let maxclients = server.config.read().maxclients;
    if server.clients.lock().len() >= maxclients {
        server.rejected_connections.fetch_add(1, Ordering::Relaxed);
        let _ = sock
            .write_all(b"-ERR max number of clients reached\r\n")
            .await;
        return;
    }
    let info = server.register(peer, local);
    let id = info.id;
    let db = server.ks.db(0).cloned();
    let Some(db) = db else { return };
    let needs_auth = server.config.read().requirepass.is_some();
    let mut s = Session {
        server: server.clone(),
        info,
        db,
        proto: Proto::Resp2,
        authenticated: !needs_auth,
        reply_mode: ReplyMode::On,
        close_after_reply: false,
        limits: EngineLimits::default(),
        local: LocalStats::default(),
        slowlog_threshold_us: 10_000,
        now_ms: 0,
        wrote: false,
        unsynced: Vec::new(),
        multi: None,
        watching: None,
        subs: Default::default(),
    };
    let r = connection_loop(&mut s, &mut sock).await;
    crate::multi::end(&mut s);
    crate::pubsub::forget(&mut s);
    s.local.flush(&server);
    if let Err(e) = r {
        tracing::debug!(client = id, "connection closed: {e}");
    }
    server.unregister(id);
}

/// A connection's buffers and socket.
struct Io<'a> {
    sock: &'a mut TcpStream,
    inbuf: BytesMut,
    out: BytesMut,
    /// The peer closed its sending side.
    eof: bool,
}

async fn connection_loop(s: &mut Session, sock: &mut TcpStream) -> std::io::Result<()> {
    let mut io = Io {
        sock,
        inbuf: BytesMut::with_capacity(READ_CHUNK_BYTES),
        out: BytesMut::with_capacity(READ_CHUNK_BYTES),
        eof: false,
    };
    let mut parser = resp::RequestParser::new();
    let mut ahead = Ahead::default();
    let info = s.info.clone();
    loop {
        // Everything complete in the buffer runs first: input read while a reply was being
        // flushed may already hold whole requests.
        let (qlimit, bulk_limit) = {
            let c = s.server.config.read();
            s.slowlog_threshold_us = c.slowlog_log_slower_than_us;
            (c.client_query_buffer_limit, c.proto_max_bulk_len)
        };
        s.limits.proto_max_bulk_len_bytes = bulk_limit;
        s.now_ms = s.server.ks.now_ms();
        let server = s.server.clone();
        let mut busy = Some(InFlight::enter(&server));
        if server.shutting_down.load(Ordering::Acquire) {
            // Shutdown has begun: run nothing more; what was answered already is flushed.
            flush(s, &mut io, qlimit).await?;
            return Ok(());
        }
        loop {
            let limits = Limits {
                proto_max_bulk_len_bytes: bulk_limit,
                authenticated: s.authenticated,
                ..Limits::default()
            };
            match ahead.next(&mut parser, &mut io.inbuf, &limits, &s.db) {
                Ok(Some(args)) => {
                    let outcome = match execute(s, &args).await {
                        Outcome::Block(on, handler, write) => {
                            // Earlier replies go out first; a blocked client is not a command
                            // in flight (shutdown does not wait for it).
                            flush(s, &mut io, qlimit).await?;
                            drop(busy.take());
                            let r = block(s, &mut io, qlimit, *on, handler, write, &args).await?;
                            busy = Some(InFlight::enter(&server));
                            match r {
                                Some(reply) => Outcome::Reply(reply),
                                None => return Ok(()),
                            }
                        }
                        other => other,
                    };
                    if let Outcome::Reply(reply) = outcome {
                        let start = io.out.len();
                        emit(s, &reply, &mut io.out);
                        if std::mem::take(&mut s.wrote) && !reply.is_error() {
                            note_write(s, start, io.out.len());
                        }
                    }
                    if s.close_after_reply || info.killed.load(Ordering::Relaxed) {
                        flush(s, &mut io, qlimit).await?;
                        return Ok(());
                    }
                    if io.out.len() >= OUTPUT_FLUSH_BYTES {
                        flush(s, &mut io, qlimit).await?;
                        s.now_ms = s.server.ks.now_ms();
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    // Replies to the valid commands before the bad bytes still go out.
                    tracing::debug!(client = info.id, "protocol error: {e}");
                    s.server.error_replies.fetch_add(1, Ordering::Relaxed);
                    resp::encode(&e.to_reply(), s.proto, &mut io.out);
                    io.eof = true;
                    flush(s, &mut io, qlimit).await?;
                    return Ok(());
                }
            }
        }
        s.local.flush(&s.server);
        drop(busy);
        deliver(s, &mut io, qlimit).await?;
        info.qbuf.store(io.inbuf.len(), Ordering::Relaxed);
        if io.inbuf.len() > qlimit {
            tracing::warn!(
                client = info.id,
                bytes = io.inbuf.len(),
                "closing client that reached the query buffer limit"
            );
            flush(s, &mut io, qlimit).await?;
            return Ok(());
        }
        let before = io.inbuf.len();
        flush(s, &mut io, qlimit).await?;
        if io.inbuf.len() != before {
            // The flush read more input (the client kept writing while we wrote): run it
            // before waiting for the socket again, or a client that has finished sending
            // would wait for replies that are sitting in our buffer.
            continue;
        }
        if io.eof {
            return Ok(());
        }
        if io.inbuf.capacity() - io.inbuf.len() < READ_CHUNK_BYTES / 2 {
            let hint = parser.pending_bulk_hint(&io.inbuf).unwrap_or(0);
            io.inbuf
                .reserve(READ_CHUNK_BYTES.max(hint.saturating_sub(io.inbuf.len())));
        }
        let mailbox = s.subs.mailbox.clone();
        let monitor = s.server.monitors.get(info.id);
        let n = tokio::select! {
            r = io.sock.read_buf(&mut io.inbuf) => r?,
            _ = info.kill.notified() => return Ok(()),
            _ = mail(mailbox.as_deref()) => continue,
            _ = crate::monitor::wait(&monitor) => {
                crate::monitor::drain(&monitor, &mut io.out);
                continue;
            }
        };
        if info.killed.load(Ordering::Relaxed) {
            return Ok(());
        }
        if n == 0 {
            io.eof = true;
        }
        s.server
            .net_input_bytes
            .fetch_add(n as u64, Ordering::Relaxed);
        *info.last_active.lock() = Instant::now();
    }
}

/// Most requests parsed ahead of the one about to run.
const LOOKAHEAD: usize = 16;

/// Requests parsed ahead of execution, so that the keys of a pipelined batch are looked up
/// in the cache together: each key's record is prefetched (see `Db::prefetch`) before the
/// first of them runs, and the cache misses of the batch overlap instead of each command
/// waiting for its own. Commands still run one at a time, in order.
///
/// Parsing ahead must not change how a request is parsed. Only the parser limits depend on
/// the session: an unauthenticated client gets stricter ones, so nothing is parsed ahead
/// until the client is authenticated, nor past a RESET (which may end authentication).
#[derive(Default)]
struct Ahead {
    queue: std::collections::VecDeque<Vec<Bytes>>,
    /// A protocol error met while parsing ahead: reported once the requests before it ran.
    error: Option<resp::ProtocolError>,
}

impl Ahead {
    fn next(
        &mut self,
        parser: &mut resp::RequestParser,
        buf: &mut BytesMut,
        limits: &Limits,
        db: &Db,
    ) -> Result<Option<Vec<Bytes>>, resp::ProtocolError> {
        if let Some(args) = self.queue.pop_front() {
            return Ok(Some(args));
        }
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let Some(first) = parser.parse(buf, limits)? else {
            return Ok(None);
        };
        if buf.is_empty() || !limits.authenticated || is_reset(&first) {
            return Ok(Some(first));
        }
        while self.queue.len() + 1 < LOOKAHEAD {
            match parser.parse(buf, limits) {
                Ok(Some(args)) => {
                    let stop = is_reset(&args);
                    self.queue.push_back(args);
                    if stop {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    self.error = Some(e);
                    break;
                }
            }
        }
        if !self.queue.is_empty() {
            prefetch_keys(db, std::iter::once(&first).chain(self.queue.iter()));
        }
        Ok(Some(first))
    }
}

fn is_reset(args: &[Bytes]) -> bool {
    args.first()
        .is_some_and(|name| name.eq_ignore_ascii_case(b"reset"))
}

/// Prefetches the first key of each command whose first key is its first argument, and then
/// the member, field or sorted-set member that a command such as SADD, HSET or ZADD looks up
/// inside that key's collection. A run of commands on one key (a pipeline of LPUSH to one
/// list) prefetches the key once, and a run of one command name looks the name up once.
fn prefetch_keys<'a>(db: &Db, batch: impl Iterator<Item = &'a Vec<Bytes>>) {
    let mut keys: [&[u8]; LOOKAHEAD] = [&[]; LOOKAHEAD];
    let mut n_keys = 0;
    let mut members: [(&[u8], &[u8]); LOOKAHEAD] = [(&[], &[]); LOOKAHEAD];
    let mut n_members = 0;
    let mut last_name: &[u8] = &[];
    let mut cmd: Option<&'static Command> = None;
    for args in batch.take(LOOKAHEAD) {
        let (Some(name), Some(key)) = (args.first(), args.get(1)) else {
            continue;
        };
        if name.as_ref() != last_name {
            last_name = name;
            cmd = vole_engine::command::lookup(name).filter(|c| c.keys.0 == 1);
        }
        let Some(c) = cmd else {
            continue;
        };
        if n_keys == 0 || keys[n_keys - 1] != key.as_ref() {
            keys[n_keys] = key;
            n_keys += 1;
        }
        if let Some(member) = member_arg(c, args.len()).and_then(|i| args.get(i)) {
            members[n_members] = (key, member);
            n_members += 1;
        }
    }
    db.prefetch_batch(&keys[..n_keys], &members[..n_members]);
}

/// The argument that names the first member, field or sorted-set member a command looks up
/// in the collection at its key, for the commands that look one up by name.
fn member_arg(cmd: &Command, argc: usize) -> Option<usize> {
    match cmd.name {
        "sadd" | "srem" | "sismember" | "smismember" | "hset" | "hmset" | "hsetnx" | "hget"
        | "hmget" | "hdel" | "hexists" | "hincrby" | "hincrbyfloat" | "hstrlen" | "zscore"
        | "zmscore" | "zrem" | "zrank" | "zrevrank" => Some(2),
        "zincrby" => Some(3),
        // ZADD key score member; with flags the member moves, and a hint is not worth parsing.
        "zadd" if argc == 4 => Some(3),
        _ => None,
    }
}

/// Resolves when messages arrive for a subscriber; never without a mailbox.
async fn mail(mailbox: Option<&crate::pubsub::Mailbox>) {
    match mailbox {
        Some(m) => m.notify.notified().await,
        None => std::future::pending().await,
    }
}

/// Writes a subscriber's waiting messages, in chunks of about [`OUTPUT_FLUSH_BYTES`].
async fn deliver(s: &mut Session, io: &mut Io<'_>, qlimit: usize) -> std::io::Result<()> {
    let Some(mb) = s.subs.mailbox.clone() else {
        return Ok(());
    };
    loop {
        let msgs = mb.take(OUTPUT_FLUSH_BYTES);
        if msgs.is_empty() {
            return Ok(());
        }
        for m in &msgs {
            io.out.extend_from_slice(m.bytes(s.proto));
        }
        flush(s, io, qlimit).await?;
        if s.info.killed.load(Ordering::Relaxed) {
            return Err(std::io::ErrorKind::ConnectionAborted.into());
        }
    }
}

fn emit(s: &mut Session, reply: &Reply, out: &mut BytesMut) {
    if reply.is_error() {
        s.server.error_replies.fetch_add(1, Ordering::Relaxed);
    }
    match s.reply_mode {
        ReplyMode::On => resp::encode(reply, s.proto, out),
        ReplyMode::Off => {}
        ReplyMode::SkipArmed => s.reply_mode = ReplyMode::Skip,
        ReplyMode::Skip => s.reply_mode = ReplyMode::On,
    }
}

/// Write the pending replies. While the socket does not take them, keep reading input
/// (up to the query buffer limit): a client that writes a long pipeline before reading any
/// reply would otherwise block on its write while we block on ours.
async fn flush(s: &mut Session, io: &mut Io<'_>, qlimit: usize) -> std::io::Result<()> {
    settle(s, io).await;
    if io.out.is_empty() {
        return Ok(());
    }
    let mut written = 0;
    let info = s.info.clone();
    let (mut rd, mut wr) = io.sock.split();
    while written < io.out.len() {
        let can_read = !io.eof && io.inbuf.len() <= qlimit;
        if can_read && io.inbuf.capacity() - io.inbuf.len() < READ_CHUNK_BYTES / 2 {
            io.inbuf.reserve(READ_CHUNK_BYTES);
        }
        tokio::select! {
            biased;
            w = wr.write(&io.out[written..]) => {
                let n = w?;
                if n == 0 {
                    return Err(std::io::ErrorKind::WriteZero.into());
                }
                written += n;
            }
            // A client killed while its output waits (CLIENT KILL, a pub/sub subscriber over
            // its output limit) goes now, not when its socket drains.
            _ = info.kill.notified() => {
                return Err(std::io::ErrorKind::ConnectionAborted.into());
            }
            r = rd.read_buf(&mut io.inbuf), if can_read => {
                let n = r?;
                if n == 0 {
                    io.eof = true;
                }
                s.server.net_input_bytes.fetch_add(n as u64, Ordering::Relaxed);
            }
        }
    }
    s.server
        .net_output_bytes
        .fetch_add(io.out.len() as u64, Ordering::Relaxed);
    io.out.clear();
    if io.out.capacity() > 4 * OUTPUT_FLUSH_BYTES {
        io.out = BytesMut::with_capacity(READ_CHUNK_BYTES);
    }
    Ok(())
}

/// After a write's reply is in the output: under `appendfsync always` it may not leave
/// before its LSN is durable.
fn note_write(s: &mut Session, start: usize, end: usize) {
    if s.server.persist.policy() == Some(FsyncPolicy::Always) {
        s.unsynced.push((start, end, s.server.ks.last_lsn()));
    }
}

/// Wait until every write reply in the output is durable (group commit: one fsync serves
/// every connection waiting at that moment). If the log fails first, each reply whose LSN
/// did not become durable is replaced by a MISCONF error: nothing is acknowledged that may
/// not be on disk.
async fn settle(s: &mut Session, io: &mut Io<'_>) {
    let Some(target) = s.unsynced.iter().map(|u| u.2).max() else {
        return;
    };
    let gate = &s.server.persist.durable;
    let durable = if s.server.ks.log_failed() {
        gate.durable()
    } else {
        gate.wait(target).await
    };
    if durable < target {
        let err = misconf(&s.server).to_line();
        let mut out = BytesMut::with_capacity(io.out.len());
        let mut at = 0;
        for &(start, end, lsn) in &s.unsynced {
            if lsn <= durable {
                continue;
            }
            out.extend_from_slice(&io.out[at..start]);
            out.extend_from_slice(b"-");
            out.extend_from_slice(err.as_bytes());
            out.extend_from_slice(b"\r\n");
            at = end;
        }
        out.extend_from_slice(&io.out[at..]);
        io.out = out;
    }
    s.unsynced.clear();
}

/// The gate and dispatch: every generic check happens here, once, before a handler runs.
pub async fn execute(s: &mut Session, args: &[Bytes]) -> Outcome {
    s.local.commands += 1;
    let resolved = match resolve(args) {
        Ok(found) => found,
        Err(e) => {
            crate::multi::flag_error(s);
            return Outcome::Reply(e.into());
        }
    };
    let cmd = resolved.cmd;
    *s.info.last_cmd.lock() = resolved;
    s.info.has_run_cmd.store(true, Ordering::Relaxed);
    let slot = s.server.cmd_slot(cmd);
    if !s.authenticated && cmd.flags & flags::NO_AUTH == 0 {
        if let Some(st) = slot.and_then(|i| s.server.cmd_stat_at(i)) {
            st.rejected.fetch_add(1, Ordering::Relaxed);
        }
        crate::multi::flag_error(s);
        return Outcome::Reply(CmdError::NoAuth.into());
    }
    let write = cmd.flags & flags::WRITE != 0;
    if s.server.scripting.is_running() {
        if cmd.flags & flags::ALLOW_BUSY == 0 {
            if let Err(e) = wait_for_script(s).await {
                return Outcome::Reply(e.into());
            }
        } else {
            // Redis serves nothing, SCRIPT KILL included, until a script has run past the
            // busy threshold: by then a script that writes has written (UNKILLABLE).
            wait_past_threshold(s).await;
        }
        s.now_ms = s.server.ks.now_ms();
    }
    if s.proto == Proto::Resp2 && s.subs.count() > 0 && !allowed_when_subscribed(cmd) {
        crate::multi::flag_error(s);
        return Outcome::Reply(
            CmdError::err(format!(
                "Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
                s.info.last_cmd.lock().full_name()
            ))
            .into(),
        );
    }
    if s.multi.is_some() {
        let server_cmd = match cmd.exec {
            Exec::Server(which) => Some(which),
            _ => None,
        };
        if !crate::multi::runs_in_multi(server_cmd) {
            let refused = if cmd.flags & flags::NO_MULTI != 0 {
                Some(CmdError::err("Command not allowed inside a transaction"))
            } else if write && s.server.ks.log_failed() {
                Some(misconf(&s.server))
            } else {
                None
            };
            if let Some(e) = refused {
                crate::multi::flag_error(s);
                return Outcome::Reply(e.into());
            }
            return Outcome::Reply(crate::multi::queue(s, write, args));
        }
    }
    if wait_if_paused(s, cmd.flags & (flags::WRITE | flags::MAY_REPLICATE) != 0).await {
        s.now_ms = s.server.ks.now_ms();
    }
    if write && s.server.ks.log_failed() {
        return Outcome::Reply(misconf(&s.server).into());
    }
    let started = quanta::Instant::now();
    let outcome = match cmd.exec {
        Exec::Engine(handler) => {
            // A read never sits on the writer lock behind a script that started after the
            // gate above: it gives up after 2 ms and waits for the script asynchronously.
            let reply = loop {
                let limit = Some(std::time::Duration::from_millis(2));
                if let Some(r) = run_engine_within(s, handler, args, write, !write, limit) {
                    break r;
                }
                if let Err(e) = wait_for_script(s).await {
                    break e.into();
                }
                tokio::task::yield_now().await;
                s.now_ms = s.server.ks.now_ms();
            };
            match reply {
                Reply::Block(on) => Outcome::Block(on, handler, write),
                reply => Outcome::Reply(reply),
            }
        }
        Exec::Server(which) => crate::commands::run(s, which, args).await,
        Exec::Container => Outcome::Reply(CmdError::WrongArity(cmd.name.to_string()).into()),
    };
    let took = started.elapsed();
    if took.as_millis() >= 1 {
        s.now_ms = s.server.ks.now_ms();
    }
    if let Some(i) = slot {
        let failed = matches!(&outcome, Outcome::Reply(r) if r.is_error());
        s.local.record(i, took.as_micros() as u64, failed);
    }
    if cmd.flags & flags::SKIP_SLOWLOG == 0 {
        s.server
            .maybe_slowlog(args, took, &s.info, s.slowlog_threshold_us);
    }
    if s.server.monitors.active() {
        crate::monitor::feed(s, cmd, args);
    }
    outcome
}

/// While another client's script runs, commands wait for it (a script is atomic), and once
/// it has run past `busy-reply-threshold` they are refused with `-BUSY`, as in Redis. The
/// wait is asynchronous, so a command never sits on a lock a runaway script holds.
async fn wait_for_script(s: &Session) -> Result<(), CmdError> {
    let sc = &s.server.scripting;
    loop {
        if !sc.is_running() {
            return Ok(());
        }
        let threshold = s.server.config.read().busy_reply_threshold_ms;
        if sc.busy(threshold) {
            return Err(CmdError::Other(
                "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.".into(),
            ));
        }
        tokio::select! {
            _ = sc.done.notified() => {}
            _ = tokio::time::sleep(std::time::Duration::from_millis(5)) => {}
        }
    }
}

/// Waits until the running script ends or has run past `busy-reply-threshold`.
async fn wait_past_threshold(s: &Session) {
    let sc = &s.server.scripting;
    loop {
        let threshold = s.server.config.read().busy_reply_threshold_ms;
        if !sc.is_running() || sc.busy(threshold) {
            return;
        }
        tokio::select! {
            _ = sc.done.notified() => {}
            _ = tokio::time::sleep(std::time::Duration::from_millis(5)) => {}
        }
    }
}

/// Commands a RESP2 client may send while subscribed.
fn allowed_when_subscribed(cmd: &Command) -> bool {
    matches!(
        cmd.exec,
        Exec::Server(
            ServerCmd::Subscribe
                | ServerCmd::Psubscribe
                | ServerCmd::Ssubscribe
                | ServerCmd::Unsubscribe
                | ServerCmd::Punsubscribe
                | ServerCmd::Sunsubscribe
                | ServerCmd::Ping
                | ServerCmd::Quit
                | ServerCmd::Reset
        )
    )
}

/// Runs an engine handler at the session's time and namespace. `atomic_read`: run a read so
/// that it never sees part of a transaction (see [`vole_engine::keyspace::Keyspace::read_atomic`];
/// false inside EXEC, which holds the writer itself).
pub fn run_engine(
    s: &mut Session,
    handler: Handler,
    args: &[Bytes],
    write: bool,
    atomic_read: bool,
) -> Reply {
    loop {
        if let Some(r) = run_engine_within(s, handler, args, write, atomic_read, None) {
            return r;
        }
    }
}

/// [`run_engine`]; an atomic read gives up (`None`, nothing done) rather than wait longer
/// than `limit` behind a running transaction or script.
pub fn run_engine_within(
    s: &mut Session,
    handler: Handler,
    args: &[Bytes],
    write: bool,
    atomic_read: bool,
    limit: Option<std::time::Duration>,
) -> Option<Reply> {
    let mut ctx = Ctx::at(&s.server.ks, &s.db, &s.limits, s.now_ms);
    ctx.no_touch = s.info.no_touch.load(Ordering::Relaxed);
    let mut reply = if atomic_read {
        let mut read = || {
            ctx.hits = 0;
            ctx.misses = 0;
            handler(&mut ctx, args).unwrap_or_else(Reply::from)
        };
        s.server.ks.read_atomic_within(&mut read, limit)?
    } else {
        handler(&mut ctx, args).unwrap_or_else(Reply::from)
    };
    s.local.hits += ctx.hits;
    s.local.misses += ctx.misses;
    if write {
        let changes = vole_engine::keyspace::take_changes();
        if !changes.is_empty() {
            crate::notify::publish_for_command(&s.server, args, changes);
        }
    }
    if write && s.server.ks.is_logged() && !matches!(reply, Reply::Block(_)) {
        if s.server.ks.log_failed() {
            // The record may not have reached the log: do not acknowledge it.
            reply = misconf(&s.server).into();
        } else {
            s.wrote = true;
        }
    }
    Some(reply)
}

/// Parks a client whose blocking command found nothing, until a key it waits on gets
/// elements (then the command runs again), its timeout passes, `CLIENT UNBLOCK`, or the
/// client goes away (`None`). Input the client sends meanwhile is kept for after.
async fn block(
    s: &mut Session,
    io: &mut Io<'_>,
    qlimit: usize,
    on: BlockOn,
    handler: Handler,
    write: bool,
    args: &[Bytes],
) -> std::io::Result<Option<Reply>> {
    let server = s.server.clone();
    let keys: Vec<(u32, Bytes)> = on.keys.iter().map(|k| (s.db.id, k.clone())).collect();
    let waiter = server
        .blocking
        .register(s.info.id, &keys, on.stream.is_some());
    // XREAD with `$` runs again with the ID `$` stood for when it blocked.
    let args = on.rerun.as_deref().unwrap_or(args);
    let deadline = (on.timeout_ms > 0)
        .then(|| tokio::time::Instant::now() + std::time::Duration::from_millis(on.timeout_ms));
    let result = loop {
        // Run again now that the client is registered: a push that landed between the first
        // run and the registration reported no keys (nobody was blocked yet).
        s.now_ms = server.ks.now_ms();
        if write && server.ks.log_failed() {
            break Ok(Some(misconf(&server).into()));
        }
        match stream_keys_gone(s, &on) {
            // XREADGROUP on a stream that was deleted, overwritten, flushed or expired.
            Some(true) => {
                break Ok(Some(Reply::Error(Bytes::from_static(
                    b"UNBLOCKED the stream key no longer exists",
                ))))
            }
            // XREAD keeps waiting while its key holds something else.
            Some(false) => {}
            None => match run_engine(s, handler, args, write, !write) {
                Reply::Block(_) => {}
                reply => break Ok(Some(reply)),
            },
        }
        let can_read = !io.eof && io.inbuf.len() <= qlimit;
        if can_read && io.inbuf.capacity() - io.inbuf.len() < READ_CHUNK_BYTES / 2 {
            io.inbuf.reserve(READ_CHUNK_BYTES);
        }
        let timeout = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        let mailbox = s.subs.mailbox.clone();
        tokio::select! {
            // A RESP3 client can be subscribed and blocked at once: its messages keep flowing.
            _ = mail(mailbox.as_deref()) => {
                if let Err(e) = deliver(s, io, qlimit).await {
                    break Err(e);
                }
            }
            _ = waiter.wake.notified() => {
                match waiter.take_unblock() {
                    Some(crate::blocking::Unblock::Timeout) => break Ok(Some(on.on_timeout.clone())),
                    Some(crate::blocking::Unblock::Error) => {
                        break Ok(Some(Reply::Error(Bytes::from_static(
                            b"UNBLOCKED client unblocked via CLIENT UNBLOCK",
                        ))))
                    }
                    None => {}
                }
            }
            _ = timeout => break Ok(Some(on.on_timeout.clone())),
            r = io.sock.read_buf(&mut io.inbuf), if can_read => match r {
                Ok(0) => {
                    io.eof = true;
                    break Ok(None);
                }
                Ok(n) => {
                    server.net_input_bytes.fetch_add(n as u64, Ordering::Relaxed);
                }
                Err(e) => break Err(e),
            },
            _ = s.info.kill.notified() => break Ok(None),
        }
    };
    server.blocking.unregister(&waiter, &keys);
    result
}

/// For a blocked stream read, whether one of its keys stopped being a stream: `Some(true)`
/// for a group read (which Redis answers with an error), `Some(false)` for a plain read whose
/// key holds another type (it keeps waiting rather than run into WRONGTYPE), `None` when the
/// command should simply run again.
fn stream_keys_gone(s: &Session, on: &BlockOn) -> Option<bool> {
    let group = on.stream? == vole_engine::reply::StreamWait::Group;
    let now = s.server.ks.now_ms();
    for key in &on.keys {
        let k = s.db.locate(key);
        let sh = s.db.read(k.shard);
        match sh.get(&k, now).map(|i| i.value()) {
            Some(Some(vole_engine::value::Value::Stream(_))) => {}
            None if !group => {}
            _ => return Some(group),
        }
    }
    None
}

/// CLIENT PAUSE: hold this command until the pause ends (all commands, or only writes).
/// Returns whether it waited.
pub async fn wait_if_paused(s: &Session, write: bool) -> bool {
    let mut waited = false;
    loop {
        let until = s.server.pause_until_ms.load(Ordering::Relaxed);
        if until == 0 {
            return waited;
        }
        let now = s.server.ks.now_ms();
        if until <= now {
            // The pause is over: clear it so later commands take the fast path.
            let _ = s.server.pause_until_ms.compare_exchange(
                until,
                0,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
            return waited;
        }
        let writes_only = s.server.pause_writes_only.load(Ordering::Relaxed);
        if writes_only && !write {
            return waited;
        }
        let wait = std::time::Duration::from_millis((until - now) as u64);
        waited = true;
        tokio::select! {
            _ = tokio::time::sleep(wait) => {},
            _ = s.server.unpaused.notified() => {},
        }
    }
}
