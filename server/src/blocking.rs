//! Clients blocked by BLPOP, BZPOPMIN and the other blocking commands.
//!
//! A blocking command's engine handler answers [`Reply::Block`](vole_engine::Reply) when it
//! finds nothing to serve. The connection then registers a [`Waiter`] on each key (per
//! namespace), flushes its earlier replies, and waits for a wake-up, its timeout, `CLIENT
//! UNBLOCK`, or the client going away. Writers tell this registry which keys got elements
//! (the engine's [`ReadyListener`]); each such key wakes the *first* client blocked on it,
//! which runs its command again. When a woken client leaves (served, timed out or gone) it
//! wakes the next one in line on each of its keys, so one push of three elements serves three
//! blocked clients in the order they blocked, and a push that one client consumed entirely
//! costs the next client only a retry. Stream readers (XREAD, XREADGROUP) are woken by every
//! signal wherever they are in line, since one entry can serve all of them.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::Notify;
use vole_engine::keyspace::{Keyspace, ReadyListener};

/// How `CLIENT UNBLOCK` ends a wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unblock {
    /// As if the timeout passed.
    Timeout,
    /// With an `UNBLOCKED` error.
    Error,
}

/// One blocked client.
#[derive(Debug)]
pub struct Waiter {
    /// The client id.
    pub client: u64,
    /// Woken when a key may serve the client, or by `CLIENT UNBLOCK`.
    pub wake: Notify,
    unblock: Mutex<Option<Unblock>>,
    /// Woken by every signal of its keys (stream readers), not only when first in line.
    wake_all: bool,
}

impl Waiter {
    /// The `CLIENT UNBLOCK` request, if one came.
    pub fn take_unblock(&self) -> Option<Unblock> {
        self.unblock.lock().take()
    }
}

type KeyId = (u32, Bytes);

#[derive(Default)]
struct Inner {
    queues: HashMap<KeyId, VecDeque<Arc<Waiter>>>,
    by_client: HashMap<u64, Arc<Waiter>>,
}

/// The registry of blocked clients.
pub struct Blocking {
    ks: Arc<Keyspace>,
    inner: Mutex<Inner>,
}

impl Blocking {
    /// A registry for `ks`; install it with [`Keyspace::set_ready_listener`].
    pub fn new(ks: Arc<Keyspace>) -> Blocking {
        Blocking {
            ks,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Blocks `client` on `keys`, last in line on each; `wake_all` for a reader that every
    /// signal should wake (XREAD), not only the first in line.
    pub fn register(&self, client: u64, keys: &[KeyId], wake_all: bool) -> Arc<Waiter> {
        let w = Arc::new(Waiter {
            client,
            wake: Notify::new(),
            unblock: Mutex::new(None),
            wake_all,
        });
        let mut inner = self.inner.lock();
        for k in keys {
            let q = inner.queues.entry(k.clone()).or_default();
            // BLPOP k k: one place in line is enough.
            if !q.iter().any(|o| Arc::ptr_eq(o, &w)) {
                q.push_back(w.clone());
            }
        }
        inner.by_client.insert(client, w.clone());
        // Counted while the registry lock is held, so a writer that runs after this sees a
        // non-zero count and reports its keys.
        self.ks.blocked.fetch_add(1, Ordering::SeqCst);
        w
    }

    /// Ends `w`'s wait and wakes the next client in line on each of its keys.
    pub fn unregister(&self, w: &Arc<Waiter>, keys: &[KeyId]) {
        let mut inner = self.inner.lock();
        for k in keys {
            if let Some(q) = inner.queues.get_mut(k) {
                q.retain(|o| !Arc::ptr_eq(o, w));
                match q.front() {
                    Some(next) => next.wake.notify_one(),
                    None => {
                        inner.queues.remove(k);
                    }
                }
            }
        }
        if inner
            .by_client
            .get(&w.client)
            .is_some_and(|o| Arc::ptr_eq(o, w))
        {
            inner.by_client.remove(&w.client);
        }
        self.ks.blocked.fetch_sub(1, Ordering::SeqCst);
    }

    /// `CLIENT UNBLOCK`: true when `client` was blocked.
    pub fn unblock(&self, client: u64, how: Unblock) -> bool {
        let inner = self.inner.lock();
        match inner.by_client.get(&client) {
            Some(w) => {
                *w.unblock.lock() = Some(how);
                w.wake.notify_one();
                true
            }
            None => false,
        }
    }

    /// Whether `client` is blocked (CLIENT LIST flag `b`).
    pub fn is_blocked(&self, client: u64) -> bool {
        self.inner.lock().by_client.contains_key(&client)
    }

    /// Number of blocked clients (INFO blocked_clients).
    pub fn blocked_clients(&self) -> usize {
        self.inner.lock().by_client.len()
    }

    /// Number of keys with blocked clients (INFO blocked_keys... and tests).
    pub fn blocked_keys(&self) -> usize {
        self.inner.lock().queues.len()
    }
}

impl ReadyListener for Blocking {
    fn ready_all(&self) {
        for w in self.inner.lock().by_client.values() {
            w.wake.notify_one();
        }
    }

    fn ready(&self, keys: Vec<(u32, Bytes)>) {
        let inner = self.inner.lock();
        for k in &keys {
            if let Some(q) = inner.queues.get(k) {
                for (i, w) in q.iter().enumerate() {
                    if i == 0 || w.wake_all {
                        w.wake.notify_one();
                    }
                }
            }
        }
    }
}

/// The registry as the keyspace's listener.
pub fn install(ks: &Arc<Keyspace>) -> Arc<Blocking> {
    let b = Arc::new(Blocking::new(ks.clone()));
    ks.set_ready_listener(b.clone());
    b
}
