//! MONITOR: clients that watch every command the server executes.
//!
//! A connection that sends MONITOR gets a [`Monitor`]: a bounded queue of lines the other
//! connections push into and a wake-up its connection loop waits on beside the socket. The
//! executing connection formats the line once (`+1339518083.107412 [0 127.0.0.1:60866] "keys"
//! "*"`, exactly as Redis) and appends it to every monitor's queue; nothing waits on a slow
//! monitor. A monitor whose queue passes [`MONITOR_QUEUE_BYTES_MAX`] is disconnected, as Redis
//! disconnects a monitor over its output buffer limit.
//!
//! Cost when nobody monitors: one relaxed atomic load per command ([`Monitors::active`]).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use tokio::sync::Notify;
use vole_engine::command::{flags, Command};
use vole_engine::{CmdResult, Reply};

use crate::conn::Session;
use crate::server::ClientInfo;

/// Most bytes of lines waiting for one monitor before it is disconnected (Redis's replica
/// output buffer limit class, which monitors belong to, defaults to 256 MiB hard; a CLI
/// drains far faster than that is reached).
pub const MONITOR_QUEUE_BYTES_MAX: usize = 64 * 1024 * 1024;

/// One monitoring connection's queue.
pub struct Monitor {
    info: Arc<ClientInfo>,
    queue: Mutex<Queue>,
    wake: Notify,
}

#[derive(Default)]
struct Queue {
    lines: VecDeque<Bytes>,
    bytes: usize,
}

/// The monitors of one server.
#[derive(Default)]
pub struct Monitors {
    /// `list.len()`, readable without the lock.
    count: AtomicUsize,
    list: Mutex<Vec<Arc<Monitor>>>,
}

impl Monitors {
    /// Whether anyone monitors (the per-command check; relaxed: a command racing a new
    /// MONITOR may or may not be shown, as in Redis).
    #[inline]
    pub fn active(&self) -> bool {
        self.count.load(Ordering::Relaxed) > 0
    }

    /// Turns the client into a monitor (idempotent).
    pub fn add(&self, info: Arc<ClientInfo>) {
        let mut list = self.list.lock();
        if list.iter().any(|m| m.info.id == info.id) {
            return;
        }
        list.push(Arc::new(Monitor {
            info,
            queue: Mutex::new(Queue::default()),
            wake: Notify::new(),
        }));
        self.count.store(list.len(), Ordering::Relaxed);
    }

    /// The monitor of client `id`, if it is one.
    pub fn get(&self, id: u64) -> Option<Arc<Monitor>> {
        if !self.active() {
            return None;
        }
        self.list.lock().iter().find(|m| m.info.id == id).cloned()
    }

    /// Forgets client `id` (its connection closed).
    pub fn remove(&self, id: u64) {
        if !self.active() {
            return;
        }
        let mut list = self.list.lock();
        list.retain(|m| m.info.id != id);
        self.count.store(list.len(), Ordering::Relaxed);
    }

    /// Appends one line to every monitor's queue and wakes it.
    fn push(&self, line: Bytes) {
        for m in self.list.lock().iter() {
            let mut q = m.queue.lock();
            if q.bytes + line.len() > MONITOR_QUEUE_BYTES_MAX {
                // Too slow a reader: disconnect it rather than grow without bound.
                m.info.killed.store(true, Ordering::Relaxed);
                m.info.kill.notify_one();
                continue;
            }
            q.bytes += line.len();
            q.lines.push_back(line.clone());
            drop(q);
            m.wake.notify_one();
        }
    }
}

/// MONITOR: the connection starts receiving every command executed from now on.
pub fn start(s: &mut Session) -> CmdResult {
    s.server.monitors.add(s.info.clone());
    Ok(Reply::Ok)
}

/// Shows one executed command to the monitors (called by the connection that ran it).
/// Commands flagged admin or skip_monitor are not shown, as in Redis; AUTH and HELLO AUTH
/// passwords are redacted.
pub fn feed(s: &Session, cmd: &Command, args: &[Bytes]) {
    if cmd.flags & (flags::ADMIN | flags::SKIP_MONITOR) != 0 {
        return;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let mut line = format!(
        "+{}.{:06} [{} {}]",
        now.as_secs(),
        now.subsec_micros(),
        s.db.id,
        s.info.addr
    )
    .into_bytes();
    let name = args.first().map(|a| a.as_ref()).unwrap_or_default();
    let redact_from = if name.eq_ignore_ascii_case(b"auth") {
        1
    } else if name.eq_ignore_ascii_case(b"hello") {
        args.iter()
            .position(|a| a.eq_ignore_ascii_case(b"auth"))
            .map_or(usize::MAX, |i| i + 1)
    } else {
        usize::MAX
    };
    for (i, a) in args.iter().enumerate() {
        line.push(b' ');
        if i >= redact_from && i < redact_from.saturating_add(2) {
            line.extend_from_slice(b"\"(redacted)\"");
        } else {
            vole_engine::resp::repr(a, &mut line);
        }
    }
    line.extend_from_slice(b"\r\n");
    s.server.monitors.push(Bytes::from(line));
}

/// Waits until `m` has lines queued; never returns for a connection that does not monitor.
pub async fn wait(m: &Option<Arc<Monitor>>) {
    match m {
        Some(m) => m.wake.notified().await,
        None => std::future::pending().await,
    }
}

/// Moves the queued lines of `m` to the connection's output.
pub fn drain(m: &Option<Arc<Monitor>>, out: &mut BytesMut) {
    let Some(m) = m else { return };
    let mut q = m.queue.lock();
    for line in q.lines.drain(..) {
        out.extend_from_slice(&line);
    }
    q.bytes = 0;
}

#[cfg(test)]
mod tests {
    use vole_engine::resp::repr;

    #[test]
    fn repr_escapes_like_redis() {
        // Quotes, backslashes, control and high bytes are escaped as sdscatrepr does.
        let mut out = Vec::new();
        repr(b"a\"b\\c\n\r\t\x07\x08\x01\xc3 ", &mut out);
        assert_eq!(out, b"\"a\\\"b\\\\c\\n\\r\\t\\a\\b\\x01\\xc3 \"".to_vec());
    }
}
