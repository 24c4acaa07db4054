//! Connection threads: one runtime with a single worker per I/O thread.
//!
//! Each accepted connection lives on one of these runtimes for its whole life, so reading a
//! request, running it and writing the reply never hands work from one thread to another.
//! The one shared multi-threaded runtime this replaces spent 8-10% of the server's CPU on
//! moving tasks between its workers and waking parked ones (see docs/benchmarks.md).
//!
//! Each runtime is tokio's multi-threaded kind with one worker rather than the
//! current-thread kind, for `block_in_place`: a script that runs long, or a command that
//! waits behind one, hands this runtime's worker (and every other connection on it, one of
//! which may be about to send SCRIPT KILL) to a fresh thread and goes on blocking alone
//! (see `script::blocking`). Everything that is not a connection, the accept loop, the
//! background jobs and signals, runs on the main runtime.

use std::cell::RefCell;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::runtime::{Builder, Handle};
use tokio::sync::Notify;

use crate::persistence::InlineSync;

/// The connection runtimes.
pub struct Cores {
    handles: Vec<Handle>,
    /// Per runtime: rung when a thread of it appended to the log under `always`.
    log_signals: Vec<Arc<Notify>>,
    next: AtomicUsize,
}

thread_local! {
    /// The log signal of the runtime this thread serves, if it is a connection thread.
    static LOG_SIGNAL: RefCell<Option<Arc<Notify>>> = const { RefCell::new(None) };
}

/// Called after a connection thread appended to the log under `appendfsync always`: rings
/// the runtime's syncer, which writes and syncs at the end of the round (nothing on other
/// threads: see [`has_log_syncer`]).
pub fn note_log_append() {
    LOG_SIGNAL.with(|s| {
        if let Some(signal) = &*s.borrow() {
            signal.notify_one();
        }
    });
}

/// Whether this thread is a connection thread with a log syncer.
pub fn has_log_syncer() -> bool {
    LOG_SIGNAL.with(|s| s.borrow().is_some())
}

impl Cores {
    /// Starts `n` runtimes (at least one) with one worker each. They run until the process
    /// exits: shutdown waits for commands in flight, then the process ends with them.
    pub fn start(n: usize) -> std::io::Result<Cores> {
        let mut handles = Vec::with_capacity(n.max(1));
        let mut log_signals = Vec::with_capacity(n.max(1));
        for i in 0..n.max(1) {
            let signal = Arc::new(Notify::new());
            let for_threads = signal.clone();
            let rt = Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name(format!("vole-io-{i}"))
                .on_thread_start(move || {
                    let signal = for_threads.clone();
                    LOG_SIGNAL.with(|s| *s.borrow_mut() = Some(signal));
                })
                .enable_all()
                .build()?;
            handles.push(rt.handle().clone());
            log_signals.push(signal);
            // Dropping a runtime stops its tasks, and may not happen inside another
            // runtime (where shutdown runs): these live as long as the process.
            std::mem::forget(rt);
        }
        Ok(Cores {
            handles,
            log_signals,
            next: AtomicUsize::new(0),
        })
    }

    /// Starts one log syncer per runtime: when a connection thread appended under `always`,
    /// it runs after the connections that are ready in the same round (so that one sync
    /// covers all their writes, as Redis syncs before it goes back to waiting for events),
    /// and writes and syncs the log on this thread, or leaves a large group to the flusher.
    pub fn start_log_syncers(&self, sync: Arc<InlineSync>) {
        for (handle, signal) in self.handles.iter().zip(&self.log_signals) {
            let (sync, signal) = (sync.clone(), signal.clone());
            drop(handle.spawn(async move {
                loop {
                    signal.notified().await;
                    // A yielded task resumes after the next poll of the I/O driver, and
                    // ahead of the tasks that poll woke (it takes tokio's LIFO slot). So
                    // it yields twice: the first poll may come early (tokio polls every 61
                    // tasks), with replies that the last sync released still queued; by
                    // the second, those went out and the requests that poll found have
                    // run and joined this group. Once measured: `always` INCR -P 1 went
                    // from 14-15 writes per sync to 27-29 (Redis here: about 29), and
                    // from 57-61k to 69-79k ops/s.
                    tokio::task::yield_now().await;
                    tokio::task::yield_now().await;
                    sync.run();
                }
            }));
        }
    }

    /// Runs `fut` on the next runtime in turn.
    pub fn spawn<F>(&self, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.handles.len();
        drop(self.handles[i].spawn(fut));
    }

    /// How many runtimes serve connections (never 0).
    pub fn count(&self) -> usize {
        self.handles.len()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn connections_are_dealt_round_robin_and_block_in_place_works_on_each() {
        // Tasks go to the runtimes in turn, each runtime runs its tasks on its one worker,
        // and `block_in_place` (which scripts rely on) is allowed there.
        let cores = Cores::start(2).unwrap();
        assert_eq!(cores.count(), 2);
        let (tx, rx) = std::sync::mpsc::channel();
        for i in 0..4 {
            let tx = tx.clone();
            cores.spawn(async move {
                let name = std::thread::current().name().map(str::to_string);
                tokio::task::block_in_place(|| ());
                tx.send((i, name)).unwrap();
            });
        }
        let mut got: Vec<_> = (0..4).map(|_| rx.recv().unwrap()).collect();
        got.sort();
        let names: Vec<_> = got.into_iter().map(|(_, n)| n.unwrap()).collect();
        assert_eq!(names, ["vole-io-0", "vole-io-1", "vole-io-0", "vole-io-1"]);
    }
}
