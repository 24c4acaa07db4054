//! WATCH: optimistic locks for MULTI/EXEC.
//!
//! A client that watches keys holds a [`Watcher`]; [`Watches`] maps each watched
//! `(namespace, key)` to the watchers of that key. Writers learn which keys they changed from
//! the effects they record (a change is recorded exactly when it happened, whatever command,
//! script, expiry or replicated record made it), and when the outermost writer finishes they
//! mark the watchers of those keys dirty. `EXEC` of a dirty watcher aborts.
//!
//! Registration happens under the writer lock ([`crate::keyspace::Keyspace::watch`]), so a
//! writer either finished before the key was watched (and the client's later reads see its
//! result) or starts after and records the keys it touches. While nothing is watched writers
//! record no keys at all.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;

/// One client's watch flag.
#[derive(Debug, Default)]
pub struct Watcher {
    dirty: AtomicBool,
}

impl Watcher {
    /// A clean watcher.
    pub fn new() -> Arc<Watcher> {
        Arc::new(Watcher::default())
    }

    /// Whether a watched key changed since it was watched.
    pub fn is_dirty(&self) -> bool {
        self.dirty.load(Ordering::Acquire)
    }

    /// Marks the watcher dirty (a watched key changed, or expired since it was watched).
    pub fn mark(&self) {
        self.dirty.store(true, Ordering::Release);
    }

    /// Clears the flag (after UNWATCH, EXEC or DISCARD).
    pub fn reset(&self) {
        self.dirty.store(false, Ordering::Release);
    }
}

/// A watched key: (namespace id, key).
type WatchedKey = (u32, Bytes);

/// Every watched key and its watchers.
#[derive(Debug, Default)]
pub struct Watches {
    map: Mutex<HashMap<WatchedKey, Vec<Arc<Watcher>>>>,
    /// Number of (key, watcher) registrations; writers record touched keys only when > 0.
    count: AtomicUsize,
}

impl Watches {
    /// Whether any key is watched (one relaxed load).
    #[inline]
    pub fn active(&self) -> bool {
        self.count.load(Ordering::Relaxed) > 0
    }

    /// Number of watched keys (INFO `watching_clients`-style counters).
    pub fn keys(&self) -> usize {
        self.map.lock().len()
    }

    /// Adds `w` as a watcher of `key` in namespace `db`; false when it already was.
    pub(crate) fn add(&self, w: &Arc<Watcher>, db: u32, key: Bytes) -> bool {
        let mut map = self.map.lock();
        let list = map.entry((db, key)).or_default();
        if list.iter().any(|x| Arc::ptr_eq(x, w)) {
            return false;
        }
        list.push(w.clone());
        self.count.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// Removes `w` from the watchers of each of `keys`.
    pub fn remove(&self, w: &Arc<Watcher>, keys: &[(u32, Bytes)]) {
        let mut map = self.map.lock();
        for k in keys {
            let Some(list) = map.get_mut(k) else { continue };
            let before = list.len();
            list.retain(|x| !Arc::ptr_eq(x, w));
            let removed = before - list.len();
            if removed > 0 {
                self.count.fetch_sub(removed, Ordering::Relaxed);
            }
            if list.is_empty() {
                map.remove(k);
            }
        }
    }

    /// Marks the watchers of each changed key dirty.
    pub(crate) fn touch(&self, changes: &[crate::effect::Change]) {
        if !self.active() {
            return;
        }
        let map = self.map.lock();
        for c in changes {
            if let Some(list) = map.get(&(c.db, c.key.clone())) {
                list.iter().for_each(|w| w.mark());
            }
        }
    }

    /// Marks dirty the watchers of keys of namespace `db` (every namespace when `None`) for
    /// which `exists` holds: a flush changes only the keys it found.
    pub(crate) fn touch_where(&self, db: Option<u32>, exists: impl Fn(u32, &[u8]) -> bool) {
        let map = self.map.lock();
        for ((d, key), list) in map.iter() {
            if db.is_none_or(|x| x == *d) && exists(*d, key) {
                list.iter().for_each(|w| w.mark());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touch_marks_only_watchers_of_that_key() {
        let ws = Watches::default();
        let a = Watcher::new();
        let b = Watcher::new();
        assert!(ws.add(&a, 0, Bytes::from_static(b"k")));
        assert!(!ws.add(&a, 0, Bytes::from_static(b"k")));
        assert!(ws.add(&b, 1, Bytes::from_static(b"k")));
        assert!(ws.active());
        ws.touch(&[crate::effect::Change {
            kind: crate::effect::CHANGE_SET,
            db: 0,
            key: Bytes::from_static(b"k"),
        }]);
        assert!(a.is_dirty());
        assert!(!b.is_dirty());
        ws.remove(&a, &[(0, Bytes::from_static(b"k"))]);
        ws.remove(&b, &[(1, Bytes::from_static(b"k"))]);
        assert!(!ws.active());
        assert_eq!(ws.keys(), 0);
    }

    #[test]
    fn flush_touches_only_existing_keys() {
        let ws = Watches::default();
        let a = Watcher::new();
        let b = Watcher::new();
        ws.add(&a, 0, Bytes::from_static(b"there"));
        ws.add(&b, 0, Bytes::from_static(b"absent"));
        ws.touch_where(Some(0), |_, k| k == b"there");
        assert!(a.is_dirty());
        assert!(!b.is_dirty());
    }
}
