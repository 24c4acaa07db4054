//! The keyspace: namespaces, shards, expiry and the single writer.
//!
//! A [`Keyspace`] holds namespaces. `SELECT 0`..`15` address the numbered ones (0 is also
//! called `default`); the later `NAMESPACE` commands add named ones through the same
//! [`Keyspace::create_namespace`] mechanism. Each namespace is a [`Db`] of [`SHARDS`] shards,
//! chosen by bits of the key hash, each a [`ShardIndex`] behind a `RwLock`.
//!
//! Concurrency: readers take one shard's read lock for the few nanoseconds a lookup takes.
//! Writers first take the keyspace-wide writer lock ([`Keyspace::writer`]), which serialises
//! every mutation (so apply order is one total order, the order the WAL will record), then
//! the write lock of each shard they touch. Multi-key commands lock all their shards at once
//! (in shard order), so no reader sees half of an MSET.
//!
//! Expiry: times are absolute milliseconds read through the [`Clock`]. A key past its time
//! reads as missing; writers delete it when they meet it, and [`Keyspace::active_expire`]
//! deletes the rest in order of expiry time (each shard keeps an ordered set of
//! `(expire_at, hash)`).

use std::collections::{BTreeMap, BTreeSet};
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use std::cell::{RefCell, RefMut};

use parking_lot::{
    Mutex, ReentrantMutex, ReentrantMutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard,
};

use crate::clock::Clock;
use crate::effect::{Change, EffectLog, RecordBuf, KIND_EFFECTS};
use crate::index::{Key, Keyed, Position, ShardIndex};
use crate::record::Payload;
use crate::value::{StrBuf, Value, ValueRef};
use crate::watch::{Watcher, Watches};

/// Shards per database. The shard of a key is taken from bits 40..46 of its hash: bits that
/// hashbrown uses for neither its bucket index nor its control byte, so every shard's table
/// keeps full-entropy hashes. (Choosing the shard by cluster slot costs a CRC16 before every
/// lookup and measured about 2x slower gets; see docs/design/keyspace.md.)
pub const SHARDS: usize = 64;
const SHARD_HASH_SHIFT: u32 = 40;

/// Number of numbered databases (`SELECT 0`..`15`).
pub const NUMBERED_DBS: u32 = 16;

/// A value with its metadata, not (yet) stored: what a command builds to insert, and what
/// [`Record::into_item`] gives back.
#[derive(Debug)]
pub struct Item {
    /// The value.
    pub value: Value,
    /// Absolute expiry time in ms since the epoch; 0 means no expiry.
    pub expire_at: i64,
    /// Last access, in seconds since the epoch (truncated to u32), for OBJECT IDLETIME.
    pub access_s: u32,
}

impl Item {
    /// A value without expiry.
    pub fn new(value: Value, now_ms: i64) -> Item {
        Item::with_expiry(value, 0, now_ms)
    }

    /// A value expiring at `expire_at` (0 = never).
    pub fn with_expiry(value: Value, expire_at: i64, now_ms: i64) -> Item {
        Item {
            value,
            expire_at,
            access_s: (now_ms / 1000) as u32,
        }
    }

    /// Whether the item is expired at `now_ms`.
    #[inline]
    pub fn is_expired(&self, now_ms: i64) -> bool {
        self.expire_at != 0 && self.expire_at <= now_ms
    }
}

/// A stored key: one allocation holding the key, its metadata and its value (a string's
/// bytes, or a collection). See [`crate::record`] for the layout. A record never holds a
/// `Value::Str` as its collection: strings are always stored as bytes.
pub type Record = crate::record::Record<Value>;

impl Keyed for Record {
    #[inline]
    fn key(&self) -> &[u8] {
        crate::record::Record::key(self)
    }

    #[inline]
    fn prefetch(&self) {
        crate::record::Record::prefetch(self);
    }
}

impl Record {
    /// The record for `key` holding `item`.
    pub fn from_item(key: &[u8], item: Item) -> Record {
        match item.value {
            Value::Str { data, raw } => {
                Record::new_str(key, &data, raw, item.expire_at, item.access_s)
            }
            v => Record::new_value(key, v, item.expire_at, item.access_s),
        }
    }

    /// The value, borrowed.
    #[inline]
    pub fn view(&self) -> ValueRef<'_> {
        match self.str_bytes() {
            Some(data) => ValueRef::Str {
                data,
                raw: self.is_raw(),
            },
            None => match self.value() {
                Some(v) => ValueRef::Coll(v),
                // Unreachable by the record's invariant (a record holds bytes or a value).
                None => ValueRef::Str {
                    data: &[],
                    raw: false,
                },
            },
        }
    }

    /// The string's bytes, or `None` for a collection.
    #[inline]
    pub fn as_str(&self) -> Option<&[u8]> {
        self.str_bytes()
    }

    /// Replace the value (a string or a collection), keeping the key, expiry and access time.
    pub fn replace_value(&mut self, value: Value) {
        match value {
            Value::Str { data, raw } => self.set_str(&data, raw),
            v => self.set_value(v),
        }
    }

    /// This record's value, expiry and access time under `key` (RENAME): a string's bytes
    /// are copied once, a collection is moved.
    pub fn moved_to(self, key: &[u8]) -> Record {
        let access = self.access().load(Ordering::Relaxed);
        if let Some(data) = self.str_bytes() {
            return Record::new_str(key, data, self.is_raw(), self.expire_at(), access);
        }
        let (_, payload, expire_at, access) = self.into_parts();
        match payload {
            Payload::Value(v) => Record::new_value(key, v, expire_at, access),
            Payload::Str { data, raw } => Record::new_str(key, &data, raw, expire_at, access),
        }
    }

    /// A copy of this record's value and expiry under `key`, last accessed at `now_ms` (COPY).
    pub fn copied_to(&self, key: &[u8], now_ms: i64) -> Record {
        let access = (now_ms / 1000) as u32;
        match self.view() {
            ValueRef::Str { data, raw } => {
                Record::new_str(key, data, raw, self.expire_at(), access)
            }
            ValueRef::Coll(v) => Record::new_value(key, v.clone(), self.expire_at(), access),
        }
    }

    /// The value and metadata, moved out (a string's bytes are copied into a [`StrBuf`]).
    pub fn into_item(self) -> Item {
        let (_, payload, expire_at, access_s) = self.into_parts();
        let value = match payload {
            Payload::Str { data, raw } => Value::Str {
                data: StrBuf::from(data),
                raw,
            },
            Payload::Value(v) => v,
        };
        Item {
            value,
            expire_at,
            access_s,
        }
    }

    /// Whether the record is expired at `now_ms`.
    #[inline]
    pub fn is_expired(&self, now_ms: i64) -> bool {
        let at = self.expire_at();
        at != 0 && at <= now_ms
    }

    /// Record an access (for OBJECT IDLETIME).
    #[inline]
    pub fn touch(&self, now_ms: i64) {
        // Store only when the second changed: a load leaves the cache line shared between
        // cores, a store would pull it away from every other reader of this key.
        let s = (now_ms / 1000) as u32;
        if self.access().load(Ordering::Relaxed) != s {
            self.access().store(s, Ordering::Relaxed);
        }
    }

    /// Seconds since the last recorded access.
    pub fn idle_seconds(&self, now_ms: i64) -> i64 {
        ((now_ms / 1000) as u32).wrapping_sub(self.access().load(Ordering::Relaxed)) as i64
    }

    /// Approximate bytes this key occupies: its allocation plus a collection's own.
    pub fn memory_bytes(&self) -> usize {
        match self.value() {
            Some(v) => self.alloc_bytes() + v.memory_bytes() - std::mem::size_of::<Value>(),
            None => self.alloc_bytes(),
        }
    }
}

/// Where a key lives: its hash and shard, computed once per command.
#[derive(Debug, Clone, Copy)]
pub struct KeyRef<'k> {
    /// The key bytes.
    pub key: &'k [u8],
    /// The key's hash under this database's seed.
    pub hash: u64,
    /// The shard index.
    pub shard: usize,
}

/// The hash function of a database (one seed per database).
pub type KeyHash = foldhash::fast::RandomState;

/// One shard: the index plus the expiry order.
///
/// Every mutation goes through a method that takes the [`Writer`]: it logs the change as an
/// effect (see [`crate::effect`]) and, while a snapshot runs, first hands the key's old
/// version to the snapshot. The one exception is [`Shard::get_mut`], whose caller changes
/// the record in place and logs what it did itself.
#[derive(Debug)]
pub struct Shard {
    /// The namespace id, for the effects this shard logs.
    db: u32,
    index: ShardIndex<Record, KeyHash>,
    expires: BTreeSet<(i64, u64)>,
    /// Records of a snapshot load not yet in the index (see [`Shard::load`]).
    staged: Vec<(u64, Record)>,
    /// Copy-before-write state while a snapshot runs (see [`crate::persist`]).
    pub(crate) snap: Mutex<Option<SnapState>>,
}

/// A running snapshot's state in one shard. The snapshot writes the shard in position order;
/// `done` is the last position written. A writer about to change a key at a later position
/// first saves its old version (or `None` when it did not exist) in `saved`, so the snapshot
/// writes the key as it was when the snapshot began.
#[derive(Debug, Default)]
pub(crate) struct SnapState {
    pub(crate) done: Option<Position>,
    pub(crate) saved: BTreeMap<Position, Vec<(Key, Option<Record>)>>,
}

impl Shard {
    /// An empty shard of namespace `db`, hashing keys with the namespace's `hasher`.
    fn new(db: u32, hasher: KeyHash) -> Shard {
        Shard {
            db,
            index: ShardIndex::new(hasher),
            expires: BTreeSet::new(),
            staged: Vec::new(),
            snap: Mutex::new(None),
        }
    }

    /// The live (not expired) record for `k`.
    #[inline]
    pub fn get(&self, k: &KeyRef<'_>, now_ms: i64) -> Option<&Record> {
        self.index
            .get(k.hash, k.key)
            .filter(|r| !r.is_expired(now_ms))
    }

    /// Before changing `k`: if a snapshot is running and has not written `k`'s position yet,
    /// give it the key's current version (once).
    fn save_for_snapshot(&mut self, k: &KeyRef<'_>) {
        let Some(st) = self.snap.get_mut().as_mut() else {
            return;
        };
        let pos = k.hash;
        if st.done.is_some_and(|d| pos <= d) {
            return;
        }
        let list = st.saved.entry(pos).or_default();
        if list.iter().any(|(key, _)| &key[..] == k.key) {
            return;
        }
        let old = self.index.get(k.hash, k.key).cloned();
        list.push((Key::new(k.key), old));
    }

    /// The live record for `k`, for changing in place: the caller logs the effect of what it
    /// changes. An expired record is deleted first (logged as a delete, counted in
    /// `expired_keys`), so callers see it as missing.
    pub fn get_mut(
        &mut self,
        k: &KeyRef<'_>,
        now_ms: i64,
        w: &mut Writer<'_>,
    ) -> Option<&mut Record> {
        self.save_for_snapshot(k);
        match self
            .index
            .get_mut_unless(k.hash, k.key, |r| r.is_expired(now_ms))
        {
            Ok(found) => found,
            Err(expired) => {
                // (The field, not `forget_expiry`: `self` is still borrowed by the match.)
                let at = expired.expire_at();
                if at != 0 {
                    self.expires.remove(&(at, k.hash));
                }
                if let Some(mut r) = w.record() {
                    r.del_expired(self.db, k.key);
                }
                if matches!(expired.value(), Some(Value::Stream(_))) {
                    w.signal_ready(self.db, k.key);
                }
                w.ks.stats.expired_keys.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// The id of the namespace this shard belongs to.
    pub fn db_id(&self) -> u32 {
        self.db
    }

    /// Whether a live item exists for `k`.
    pub fn contains(&self, k: &KeyRef<'_>, now_ms: i64) -> bool {
        self.get(k, now_ms).is_some()
    }

    /// Store `item` under `k`, replacing any previous value (and its expiry). Logged as a set.
    /// Returns the record it replaced.
    pub fn insert(&mut self, k: &KeyRef<'_>, item: Item, w: &mut Writer<'_>) -> Option<Record> {
        self.insert_record(k, Record::from_item(k.key, item), w)
    }

    /// [`Shard::insert`] of a record already built for `k` (a plain SET builds it straight
    /// from the argument bytes).
    pub fn insert_record(
        &mut self,
        k: &KeyRef<'_>,
        record: Record,
        w: &mut Writer<'_>,
    ) -> Option<Record> {
        self.save_for_snapshot(k);
        let expire_at = record.expire_at();
        if let Some(mut r) = w.record() {
            r.set(self.db, k.key, record.view(), expire_at);
        }
        if matches!(
            record.value(),
            Some(Value::List(_) | Value::ZSet(_) | Value::Stream(_))
        ) {
            w.signal_ready(self.db, k.key);
        }
        if expire_at != 0 {
            self.expires.insert((expire_at, k.hash));
        }
        let old = self.index.insert(k.hash, record);
        if let Some(old) = &old {
            if matches!(old.value(), Some(Value::Stream(_))) {
                // Readers blocked on the stream it replaced look again (XREADGROUP answers).
                w.signal_ready(self.db, k.key);
            }
            let at = old.expire_at();
            if at != 0 {
                self.forget_expiry(at, k.hash);
            }
        }
        old
    }

    /// Store `record` (whose key `k` names) while loading a snapshot: not logged, no snapshot
    /// can be running.
    /// (Until [`Shard::finish_load`] the record is only staged: not yet visible.)
    pub(crate) fn load(&mut self, k: &KeyRef<'_>, record: Record) {
        let at = record.expire_at();
        if at != 0 {
            self.expires.insert((at, k.hash));
        }
        self.staged.push((k.hash, record));
    }

    /// End of a load: the staged records go into the index in one bulk insert (see
    /// [`ShardIndex::insert_bulk`]: no growth, so no stored key is rehashed).
    pub(crate) fn finish_load(&mut self) {
        let staged = std::mem::take(&mut self.staged);
        if staged.is_empty() {
            return;
        }
        let mut replaced: Vec<(u64, Record)> = Vec::new();
        self.index
            .insert_bulk(staged, |h, old| replaced.push((h, old)));
        for (h, old) in replaced {
            // A key loaded twice: drop the replaced version's expiry unless the survivor has
            // the same one.
            let old_at = old.expire_at();
            let kept = self.index.get(h, old.key()).map(Record::expire_at);
            if old_at != 0 && kept != Some(old_at) {
                self.forget_expiry(old_at, h);
            }
        }
        self.staged.shrink_to_fit();
    }

    /// Remove `k`, returning its record (expired or not). Logged as a delete when it existed.
    pub fn remove(&mut self, k: &KeyRef<'_>, w: &mut Writer<'_>) -> Option<Record> {
        self.save_for_snapshot(k);
        let e = self.index.remove(k.hash, k.key)?;
        if let Some(mut r) = w.record() {
            r.del(self.db, k.key);
        }
        if matches!(e.value(), Some(Value::Stream(_))) {
            // A client blocked in XREADGROUP on it gets its NOGROUP error now.
            w.signal_ready(self.db, k.key);
        }
        let at = e.expire_at();
        if at != 0 {
            self.forget_expiry(at, k.hash);
        }
        Some(e)
    }

    /// Set (or with 0, clear) the expiry of an existing key. Returns false if absent.
    /// Logged when the key exists.
    pub fn set_expire(&mut self, k: &KeyRef<'_>, expire_at: i64, w: &mut Writer<'_>) -> bool {
        self.save_for_snapshot(k);
        let Some(e) = self.index.get_mut(k.hash, k.key) else {
            return false;
        };
        if let Some(mut r) = w.record() {
            r.expire(self.db, k.key, expire_at);
        }
        let old = e.expire_at();
        e.set_expire_at(expire_at);
        if old != 0 {
            self.forget_expiry(old, k.hash);
        }
        if expire_at != 0 {
            self.expires.insert((expire_at, k.hash));
        }
        true
    }

    /// Drop `(at, hash)` from the expiry order. (Two keys of one shard with the same 64-bit
    /// hash and the same expiry instant would share the pair; the survivor then still expires
    /// lazily on access.)
    fn forget_expiry(&mut self, at: i64, hash: u64) {
        self.expires.remove(&(at, hash));
    }

    /// Number of keys (expired ones not yet deleted included, as Redis counts them).
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether the shard holds no key.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Number of keys with an expiry.
    pub fn volatile_len(&self) -> usize {
        self.expires.len()
    }

    /// Visit records in position order from `from`; see [`ShardIndex::scan_from`].
    pub fn scan_from<'a>(
        &'a self,
        from: Position,
        visit: impl FnMut(Position, &'a Record) -> bool,
    ) -> Option<Position> {
        self.index.scan_from(from, visit)
    }

    /// Every record, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Record> {
        self.index.iter()
    }

    /// A record at or after position `from` (wrapping), live or not.
    pub fn entry_near(&self, from: Position) -> Option<&Record> {
        self.index.entry_near(from)
    }

    /// Remove every key (the caller logs the flush). A running snapshot first receives the
    /// keys it has not written yet.
    fn clear(&mut self) {
        if let Some(st) = self.snap.get_mut().as_mut() {
            let mut pending: Vec<(Position, &Record)> = Vec::new();
            let done = st.done;
            self.index
                .scan_from(done.map_or(0, |d| d.saturating_add(1)), |p, r| {
                    if done.is_none_or(|d| p > d) {
                        pending.push((p, r));
                    }
                    true
                });
            for (pos, r) in pending {
                let list = st.saved.entry(pos).or_default();
                if !list.iter().any(|(key, _)| key[..] == *r.key()) {
                    list.push((Key::new(r.key()), Some(r.clone())));
                }
            }
        }
        self.index.clear();
        self.expires.clear();
    }

    /// Delete up to `budget` keys whose expiry is at or before `now_ms`, logging each delete.
    /// Returns how many were deleted and whether more remain due.
    fn expire_due(&mut self, now_ms: i64, budget: usize, w: &mut Writer<'_>) -> (usize, bool) {
        let mut deleted = 0;
        while deleted < budget {
            let Some(&(at, hash)) = self.expires.first() else {
                return (deleted, false);
            };
            if at > now_ms {
                return (deleted, false);
            }
            self.expires.pop_first();
            let mut victims: Vec<Key> = Vec::new();
            for e in self.index.with_hash(hash) {
                if e.expire_at() == at {
                    victims.push(Key::new(e.key()));
                }
            }
            for key in victims {
                let k = KeyRef {
                    key: &key,
                    hash,
                    shard: 0,
                };
                self.save_for_snapshot(&k);
                if let Some(gone) = self.index.remove(hash, &key) {
                    if let Some(mut r) = w.record() {
                        r.del_expired(self.db, &key);
                    }
                    if matches!(gone.value(), Some(Value::Stream(_))) {
                        w.signal_ready(self.db, &key);
                    }
                    deleted += 1;
                }
            }
        }
        (
            deleted,
            self.expires.first().is_some_and(|&(at, _)| at <= now_ms),
        )
    }

    /// Approximate bytes used by this shard (index structures, keys and values).
    pub fn memory_bytes(&self) -> usize {
        let payload: usize = self.index.iter().map(|r| r.memory_bytes()).sum();
        self.index.overhead_bytes() + payload + self.expires.len() * 24
    }
}

/// Counters shown by INFO stats.
#[derive(Debug, Default)]
pub struct Stats {
    /// Lookups that found a key.
    pub keyspace_hits: AtomicU64,
    /// Lookups that found nothing.
    pub keyspace_misses: AtomicU64,
    /// Keys deleted because they expired.
    pub expired_keys: AtomicU64,
    /// Changes since the last save.
    pub dirty: AtomicU64,
}

/// A namespace: one isolated logical database.
#[derive(Debug)]
pub struct Db {
    /// Numbered databases have ids 0..16; named namespaces get ids from 16 up.
    pub id: u32,
    /// The namespace name (`default` for 0, the number for 1..15).
    pub name: String,
    shards: Box<[RwLock<Shard>]>,
    hasher: KeyHash,
}

impl Db {
    fn new(id: u32, name: String) -> Db {
        let hasher = KeyHash::default();
        Db {
            id,
            name,
            shards: (0..SHARDS)
                .map(|_| RwLock::new(Shard::new(id, hasher)))
                .collect(),
            hasher,
        }
    }

    /// Locate a key: its hash and shard.
    #[inline]
    pub fn locate<'k>(&self, key: &'k [u8]) -> KeyRef<'k> {
        let hash = self.hasher.hash_one(key);
        let shard = ((hash >> SHARD_HASH_SHIFT) as usize) & (SHARDS - 1);
        KeyRef { key, hash, shard }
    }

    /// Start loading what the commands of a pipelined batch will look up: the records of
    /// `keys`, then the entries of `members` inside the collections at their keys. Each stage
    /// issues all its loads before the next one reads what they fetched, so the batch's cache
    /// misses overlap instead of each lookup waiting for its own. (A first stage that fetched
    /// the table slots before reading them measured no better: the slots mostly sit in cache.)
    pub fn prefetch_batch(&self, keys: &[&[u8]], members: &[(&[u8], &[u8])]) {
        for key in keys {
            self.prefetch(key);
        }
        for (key, member) in members {
            self.prefetch_member(key, member);
        }
    }

    /// Start loading `key`'s record into the cache, if the key exists, ahead of a command
    /// that will look it up (see [`ShardIndex::prefetch`]). Skips a shard that another thread
    /// holds for writing rather than wait for it: this is only a hint.
    #[inline]
    pub fn prefetch(&self, key: &[u8]) {
        let k = self.locate(key);
        if let Some(shard) = self.shards[k.shard].try_read() {
            shard.index.prefetch(k.hash);
        }
    }

    /// Start loading `member`'s entry inside the collection at `key` (see
    /// [`Value::prefetch_member`]), ahead of a command such as SADD or HSET that will look it
    /// up. The key's own record is read here, so call [`Db::prefetch`] for the whole batch
    /// first. Skips a shard that another thread holds for writing.
    #[inline]
    pub fn prefetch_member(&self, key: &[u8], member: &[u8]) {
        let k = self.locate(key);
        if let Some(shard) = self.shards[k.shard].try_read() {
            if let Some(v) = shard.index.get(k.hash, key).and_then(|r| r.value()) {
                v.prefetch_member(member);
            }
        }
    }

    /// Read-lock one shard.
    #[inline]
    pub fn read(&self, shard: usize) -> RwLockReadGuard<'_, Shard> {
        self.shards[shard % SHARDS].read()
    }

    /// Write-lock one shard. Requires the writer lock, so that all mutations are serialised.
    #[inline]
    pub fn write(&self, shard: usize, _w: &Writer<'_>) -> RwLockWriteGuard<'_, Shard> {
        self.shards[shard % SHARDS].write()
    }

    /// Write-lock one shard without the writer lock: only for loading a snapshot at start-up,
    /// before anything else can write.
    pub(crate) fn write_for_load(&self, shard: usize) -> RwLockWriteGuard<'_, Shard> {
        self.shards[shard % SHARDS].write()
    }

    /// Read-lock every shard the keys live in, in shard order, all at once.
    pub fn read_many(&self, keys: &[KeyRef<'_>]) -> ShardsRead<'_> {
        let mut idx: Vec<usize> = keys.iter().map(|k| k.shard).collect();
        idx.sort_unstable();
        idx.dedup();
        ShardsRead {
            guards: idx
                .into_iter()
                .map(|i| (i, self.shards[i].read()))
                .collect(),
        }
    }

    /// Write-lock every shard the keys live in, in shard order, all at once.
    pub fn write_many(&self, keys: &[KeyRef<'_>], _w: &Writer<'_>) -> ShardsWrite<'_> {
        let mut idx: Vec<usize> = keys.iter().map(|k| k.shard).collect();
        idx.sort_unstable();
        idx.dedup();
        ShardsWrite {
            guards: idx
                .into_iter()
                .map(|i| (i, self.shards[i].write()))
                .collect(),
        }
    }

    /// Number of keys (including expired ones not yet deleted).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.read().len()).sum()
    }

    /// Whether the database holds no key.
    pub fn is_empty(&self) -> bool {
        self.shards.iter().all(|s| s.read().is_empty())
    }

    /// Number of keys with an expiry.
    pub fn volatile_len(&self) -> usize {
        self.shards.iter().map(|s| s.read().volatile_len()).sum()
    }

    /// Remove every key (logged as one flush).
    pub fn clear(&self, w: &mut Writer<'_>) {
        w.ks.touch_watched_before_flush(Some(self));
        if let Some(mut r) = w.record() {
            r.flushdb(self.id);
        }
        self.clear_unlogged(w);
    }

    fn clear_unlogged(&self, w: &mut Writer<'_>) {
        for i in 0..SHARDS {
            self.write(i, w).clear();
        }
        w.signal_all();
    }

    /// Approximate memory used by this database.
    pub fn memory_bytes(&self) -> usize {
        self.shards.iter().map(|s| s.read().memory_bytes()).sum()
    }

    /// One SCAN step. Visits about `count` entries from `cursor` in position order, calling
    /// `visit` on each live one, and returns the cursor to continue from (0 = done). Every key
    /// present for the whole iteration is visited at least once.
    pub fn scan(
        &self,
        cursor: u64,
        count: usize,
        now_ms: i64,
        mut visit: impl FnMut(&Record),
    ) -> u64 {
        let count = count.max(1);
        let (mut from, mut shard) = decode_cursor(cursor);
        let mut seen = 0usize;
        while shard < SHARDS {
            let guard = self.read(shard);
            let next = guard.scan_from(from, |_, e| {
                if !e.is_expired(now_ms) {
                    visit(e);
                }
                seen += 1;
                seen < count
            });
            drop(guard);
            match next {
                Some(p) => {
                    let c = encode_cursor(p, shard);
                    // Resume strictly after where this call started; a cursor that would
                    // not move forward (or would read as "done") keeps scanning instead.
                    if c != 0 && decode_cursor(c).0 > from {
                        return c;
                    }
                    from = p;
                    seen = 0;
                }
                None => {
                    shard += 1;
                    if shard == SHARDS {
                        return 0;
                    }
                    from = 0;
                    if seen >= count {
                        return encode_cursor(from, shard);
                    }
                }
            }
        }
        0
    }

    /// A pseudo-random live key, if any.
    pub fn random_key(&self, now_ms: i64) -> Option<Key> {
        let start = rand::random::<usize>() % SHARDS;
        for step in 0..SHARDS {
            let shard = (start + step) % SHARDS;
            let guard = self.read(shard);
            if guard.is_empty() {
                continue;
            }
            // A few tries inside the shard before moving on, so mostly-expired shards
            // still give a live key when there is one.
            for _ in 0..8 {
                let from = rand::random::<Position>();
                if let Some(e) = guard.entry_near(from) {
                    if !e.is_expired(now_ms) {
                        return Some(Key::new(e.key()));
                    }
                }
            }
            let live = guard
                .iter()
                .find(|e| !e.is_expired(now_ms))
                .map(|e| Key::new(e.key()));
            if live.is_some() {
                return live;
            }
        }
        // Every key is expired (and awaits the active cycle): there is no key to return.
        None
    }
}

/// Cursor layout: shard (6 bits) << 58 | the top 58 bits of the position (the key hash). It
/// names the position (in its shard) that the next call resumes at: at or a little before the
/// one the previous call stopped at, never after it.
fn encode_cursor(p: Position, shard: usize) -> u64 {
    ((shard as u64) << 58) | (p >> 6)
}

/// The position a cursor resumes at, and its shard.
fn decode_cursor(c: u64) -> (Position, usize) {
    let shard = (c >> 58) as usize;
    ((c & ((1u64 << 58) - 1)) << 6, shard)
}

/// Read guards on several shards.
pub struct ShardsRead<'a> {
    guards: Vec<(usize, RwLockReadGuard<'a, Shard>)>,
}

impl ShardsRead<'_> {
    /// The shard holding `k` (which must be one of the keys passed to `read_many`).
    pub fn shard(&self, k: &KeyRef<'_>) -> &Shard {
        let pos = self.guards.partition_point(|(i, _)| *i < k.shard);
        // The constructor locked every key's shard; fall back to the first on misuse.
        &self.guards[pos.min(self.guards.len().saturating_sub(1))].1
    }
}

/// Write guards on several shards.
pub struct ShardsWrite<'a> {
    guards: Vec<(usize, RwLockWriteGuard<'a, Shard>)>,
}

impl ShardsWrite<'_> {
    /// The shard holding `k` (which must be one of the keys passed to `write_many`).
    pub fn shard(&mut self, k: &KeyRef<'_>) -> &mut Shard {
        let pos = self.guards.partition_point(|(i, _)| *i < k.shard);
        let pos = pos.min(self.guards.len().saturating_sub(1));
        &mut self.guards[pos].1
    }
}

/// The writer's state behind the keyspace-wide lock.
#[derive(Debug, Default)]
pub(crate) struct WriterState {
    rec: RecordBuf,
    /// This writer logs its effects (false while replaying the log, or without a log).
    logging: bool,
    /// `rec` holds the record of the current writer.
    started: bool,
    /// Last hybrid logical clock stamp given out.
    hlc: u64,
    /// Keys that may now serve a blocked client, handed to the ready listener on drop.
    ready: Vec<(u32, bytes::Bytes)>,
    /// A flush happened: every blocked client should look at its keys again.
    ready_all: bool,
    /// Nesting depth of writers on the thread holding the lock (a transaction holds the
    /// outermost one; the commands it runs take nested ones).
    depth: u32,
    /// Keys are watched: record effects (even without a log) to learn which keys changed.
    capture: bool,
}

/// Told about keys that may now serve a blocked client: a list or sorted set that got
/// elements. Called while the writer lock is held, so it must only note the keys and wake.
pub trait ReadyListener: Send + Sync {
    /// `keys` (namespace id, key) got elements.
    fn ready(&self, keys: Vec<(u32, bytes::Bytes)>);
    /// Keys went away all at once (FLUSHDB, FLUSHALL): every blocked client may need to
    /// answer (XREADGROUP on a stream that no longer exists).
    fn ready_all(&self) {}
}

/// Proof of holding the keyspace-wide writer lock, and the log record being built: every
/// effect logged while it is held becomes one record, appended when it is dropped (still
/// under the lock, so log order is apply order).
///
/// The lock is reentrant: a thread that holds a writer may take another (a transaction or a
/// script holds the outermost writer while the commands it runs take their own). Nested
/// writers add to the outermost one's record, which is appended, and whose ready keys and
/// touched watched keys are reported, only when the outermost writer is dropped: so a
/// transaction is one record, and replay applies all of it or none.
pub struct Writer<'a> {
    st: ReentrantMutexGuard<'a, RefCell<WriterState>>,
    ks: &'a Keyspace,
}

impl<'a> Writer<'a> {
    /// The keyspace this writer belongs to.
    pub fn keyspace(&self) -> &'a Keyspace {
        self.ks
    }

    /// The record being built, or `None` when this writer records nothing (no log and no
    /// watched key).
    #[inline]
    pub fn record(&mut self) -> Option<RefMut<'_, RecordBuf>> {
        let mut st = self.st.borrow_mut();
        if !st.logging && !st.capture {
            return None;
        }
        if !st.started {
            // Hybrid logical clock: physical milliseconds in the high bits, a counter below,
            // never going backwards.
            st.hlc = ((self.ks.now_ms().max(0) as u64) << 16).max(st.hlc + 1);
            let (hlc, capture) = (st.hlc, st.capture);
            st.rec.reset(0, hlc);
            st.rec.track_keys(capture);
            st.started = true;
        }
        Some(RefMut::map(st, |s| &mut s.rec))
    }

    /// Notes that `key` in namespace `db` got elements a blocked client may be waiting for
    /// (free when nobody is blocked).
    #[inline]
    pub fn signal_ready(&mut self, db: u32, key: &[u8]) {
        if self.ks.blocked.load(Ordering::Relaxed) > 0 {
            self.st
                .borrow_mut()
                .ready
                .push((db, bytes::Bytes::copy_from_slice(key)));
        }
    }

    /// Notes that keys went away wholesale (a flush): see [`ReadyListener::ready_all`].
    pub fn signal_all(&mut self) {
        if self.ks.blocked.load(Ordering::Relaxed) > 0 {
            self.st.borrow_mut().ready_all = true;
        }
    }

    /// Whether this is the outermost writer of its thread.
    pub fn is_outermost(&self) -> bool {
        self.st.borrow().depth == 1
    }
}

impl Drop for Writer<'_> {
    fn drop(&mut self) {
        let st = &mut *self.st.borrow_mut();
        if st.capture && st.started {
            // Reported at every level, so a transaction's key events follow each command.
            let changes = st.rec.take_touched();
            if !changes.is_empty() {
                self.ks.watches.touch(&changes);
                if self.ks.key_events.load(Ordering::Relaxed) {
                    CHANGES.with(|c| c.borrow_mut().extend(changes));
                }
            }
        }
        st.depth -= 1;
        if st.depth > 0 {
            return;
        }
        if !st.ready.is_empty() {
            let keys = std::mem::take(&mut st.ready);
            if let Some(l) = self.ks.ready_listener.get() {
                l.ready(keys);
            }
        }
        if std::mem::take(&mut st.ready_all) {
            if let Some(l) = self.ks.ready_listener.get() {
                l.ready_all();
            }
        }
        if !std::mem::take(&mut st.started) || st.rec.is_empty() || !st.logging {
            return;
        }
        if let Some(log) = self.ks.log.get() {
            match log.append(KIND_EFFECTS, st.rec.payload()) {
                Ok(lsn) => self.ks.last_lsn.store(lsn, Ordering::Release),
                Err(e) => self.ks.note_log_failure(e),
            }
        }
    }
}

thread_local! {
    /// Keys changed by writers on this thread since [`take_changes`] was last called (only
    /// while key events are wanted; see [`Keyspace::set_key_events`]).
    static CHANGES: RefCell<Vec<Change>> = const { RefCell::new(Vec::new()) };
}

/// The keys writers on this thread changed since the last call, oldest first: the server
/// turns them into keyspace notifications right after the command (or expiry cycle) that
/// made them. Empty unless key events are wanted.
pub fn take_changes() -> Vec<Change> {
    CHANGES.with(|c| std::mem::take(&mut *c.borrow_mut()))
}

/// Why a namespace could not be created or dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NamespaceError {
    /// The name is taken.
    #[error("namespace already exists")]
    Exists,
    /// No such namespace.
    #[error("no such namespace")]
    Missing,
    /// Numbered databases cannot be dropped.
    #[error("numbered databases cannot be dropped")]
    Builtin,
}

/// All namespaces, the writer lock, the clock and the counters.
pub struct Keyspace {
    numbered: Vec<Arc<Db>>,
    named: RwLock<BTreeMap<String, Arc<Db>>>,
    next_id: AtomicU32,
    writer: ReentrantMutex<RefCell<WriterState>>,
    /// Odd while a transaction or script applies its writes; see [`Keyspace::read_atomic`].
    atomic_seq: AtomicU64,
    /// Watched keys (WATCH).
    pub watches: Watches,
    /// How to wait when the writer lock stays taken (see [`Keyspace::set_slow_wait`]).
    slow_wait: OnceLock<fn(&mut dyn FnMut())>,
    /// Function libraries (FUNCTION LOAD): name -> code, persisted like keys.
    functions: RwLock<BTreeMap<String, bytes::Bytes>>,
    /// Bumped on every change to `functions` (the server recompiles when it moved).
    functions_version: AtomicU64,
    /// Someone listens for keyspace notifications: writers report changed keys.
    key_events: AtomicBool,
    clock: Arc<dyn Clock>,
    /// Where records go; unset when persistence is off.
    log: OnceLock<Arc<dyn EffectLog>>,
    /// LSN of the last record appended (or loaded at start-up).
    last_lsn: AtomicU64,
    /// Why the log refused a record, once it did.
    log_failure: Mutex<Option<String>>,
    /// Fast check for `log_failure.is_some()`.
    log_failed: AtomicBool,
    /// A snapshot job is running (see [`crate::persist`]).
    pub(crate) snapshot_running: AtomicBool,
    /// Clients blocked on keys (kept by the server); writers note ready keys only when > 0.
    pub blocked: AtomicUsize,
    /// Where ready keys go.
    ready_listener: OnceLock<Arc<dyn ReadyListener>>,
    /// INFO counters.
    pub stats: Stats,
}

impl Keyspace {
    /// A keyspace with the 16 numbered databases, reading time from `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Keyspace {
        let numbered = (0..NUMBERED_DBS)
            .map(|i| {
                Arc::new(Db::new(
                    i,
                    if i == 0 {
                        "default".into()
                    } else {
                        i.to_string()
                    },
                ))
            })
            .collect();
        Keyspace {
            numbered,
            named: RwLock::new(BTreeMap::new()),
            next_id: AtomicU32::new(NUMBERED_DBS),
            writer: ReentrantMutex::new(RefCell::new(WriterState::default())),
            atomic_seq: AtomicU64::new(0),
            watches: Watches::default(),
            slow_wait: OnceLock::new(),
            functions: RwLock::new(BTreeMap::new()),
            functions_version: AtomicU64::new(0),
            key_events: AtomicBool::new(false),
            clock,
            log: OnceLock::new(),
            last_lsn: AtomicU64::new(0),
            log_failure: Mutex::new(None),
            snapshot_running: AtomicBool::new(false),
            log_failed: AtomicBool::new(false),
            blocked: AtomicUsize::new(0),
            ready_listener: OnceLock::new(),
            stats: Stats::default(),
        }
    }

    /// Stores function library `name` (logged).
    pub fn function_load(&self, w: &mut Writer<'_>, name: &str, code: bytes::Bytes) {
        if let Some(mut r) = w.record() {
            r.func_load(name, &code);
        }
        self.functions.write().insert(name.to_string(), code);
        self.functions_version.fetch_add(1, Ordering::Release);
    }

    /// Deletes function library `name` (logged); false when there was none.
    pub fn function_delete(&self, w: &mut Writer<'_>, name: &str) -> bool {
        if self.functions.write().remove(name).is_none() {
            return false;
        }
        if let Some(mut r) = w.record() {
            r.func_del(name);
        }
        self.functions_version.fetch_add(1, Ordering::Release);
        true
    }

    /// Deletes every function library (logged).
    pub fn function_flush(&self, w: &mut Writer<'_>) {
        if let Some(mut r) = w.record() {
            r.func_flush();
        }
        self.functions.write().clear();
        self.functions_version.fetch_add(1, Ordering::Release);
    }

    /// Every function library, as (name, code), and the version they are at.
    pub fn function_libraries(&self) -> (u64, Vec<(String, bytes::Bytes)>) {
        let map = self.functions.read();
        let version = self.functions_version.load(Ordering::Acquire);
        (
            version,
            map.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        )
    }

    /// The version of the function libraries (changes with every load, delete or flush).
    pub fn functions_version(&self) -> u64 {
        self.functions_version.load(Ordering::Acquire)
    }

    /// Turns the reporting of changed keys for keyspace notifications on or off (see
    /// [`take_changes`]); off costs writers nothing.
    pub fn set_key_events(&self, on: bool) {
        self.key_events.store(on, Ordering::Relaxed);
    }

    /// Sets how a writer waits once the lock has stayed taken for a few milliseconds (once).
    pub fn set_slow_wait(&self, wait: fn(&mut dyn FnMut())) -> bool {
        self.slow_wait.set(wait).is_ok()
    }

    /// Sets where ready keys go (once); false when one was already set.
    pub fn set_ready_listener(&self, l: Arc<dyn ReadyListener>) -> bool {
        self.ready_listener.set(l).is_ok()
    }

    /// The current time in ms, from the keyspace's clock.
    #[inline]
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Take the writer lock: every mutation happens while holding it, and what it changes is
    /// logged (when a log is attached) as one record when the writer is dropped. Reentrant:
    /// see [`Writer`].
    #[inline]
    pub fn writer(&self) -> Writer<'_> {
        self.enter(self.log.get().is_some())
    }

    /// The writer lock without logging: for applying records read from a log or a peer.
    pub fn replay_writer(&self) -> Writer<'_> {
        self.enter(false)
    }

    fn enter(&self, logging: bool) -> Writer<'_> {
        // Writers hold the lock for microseconds; a wait longer than a couple of milliseconds
        // means a long transaction or script, and goes through the slow-wait hook (the server
        // makes it a `block_in_place`, so waiting never takes a runtime worker away).
        let st = match self
            .writer
            .try_lock_for(std::time::Duration::from_millis(2))
        {
            Some(g) => g,
            None => {
                let mut slot = None;
                match self.slow_wait.get() {
                    Some(wait) => wait(&mut || slot = Some(self.writer.lock())),
                    None => slot = Some(self.writer.lock()),
                }
                match slot {
                    Some(g) => g,
                    None => self.writer.lock(),
                }
            }
        };
        {
            let mut s = st.borrow_mut();
            if s.depth == 0 {
                s.logging = logging;
                s.capture = self.watches.active() || self.key_events.load(Ordering::Relaxed);
            }
            s.depth += 1;
        }
        Writer { st, ks: self }
    }

    /// Runs `f` with every other client's reads held back from seeing a partial result: a
    /// transaction or script that applies several writes calls this while holding `w`, and
    /// readers that overlap it ([`Keyspace::read_atomic`]) run again after it.
    pub fn atomically<R>(&self, w: &Writer<'_>, f: impl FnOnce() -> R) -> R {
        debug_assert!(w.is_outermost());
        struct Bump<'a>(&'a AtomicU64);
        impl Drop for Bump<'_> {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        self.atomic_seq.fetch_add(1, Ordering::SeqCst);
        let _end = Bump(&self.atomic_seq);
        f()
    }

    /// Runs the read `f` so that it never observes part of a transaction: when one was
    /// applying writes before or while `f` ran, `f` runs again after it (a seqlock: two
    /// atomic loads on a line that only transactions write). `f` must not write.
    #[inline]
    pub fn read_atomic<R>(&self, mut f: impl FnMut() -> R) -> R {
        loop {
            if let Some(r) = self.read_atomic_within(&mut f, None) {
                return r;
            }
        }
    }

    /// [`Keyspace::read_atomic`], giving up (`None`) rather than waiting longer than `limit`
    /// for a running transaction or script (the server then waits for it asynchronously).
    #[inline]
    pub fn read_atomic_within<R>(
        &self,
        f: &mut impl FnMut() -> R,
        limit: Option<std::time::Duration>,
    ) -> Option<R> {
        let mut started: Option<std::time::Instant> = None;
        loop {
            let before = self.atomic_seq.load(Ordering::Acquire);
            if before & 1 == 1 {
                // A transaction is running: wait for it on the writer lock it holds.
                match limit {
                    None => drop(self.replay_writer()),
                    Some(limit) => {
                        let t0 = *started.get_or_insert_with(std::time::Instant::now);
                        let left = limit.saturating_sub(t0.elapsed());
                        drop(self.writer.try_lock_for(left)?);
                    }
                }
                continue;
            }
            let r = f();
            if self.atomic_seq.load(Ordering::Acquire) == before {
                return Some(r);
            }
        }
    }

    /// Watches `key` of namespace `db` for `w`; returns whether the key was live at that
    /// moment (EXEC aborts when a key that was live has expired since). Taken under the
    /// writer lock: see [`crate::watch`].
    pub fn watch(&self, w: &Arc<Watcher>, db: &Db, key: &bytes::Bytes) -> bool {
        let _lock = self.replay_writer();
        let k = db.locate(key);
        let live = db.read(k.shard).contains(&k, self.now_ms());
        self.watches.add(w, db.id, key.clone());
        live
    }

    /// Whether `key` of `db` is present but expired (for EXEC's check of watched keys that
    /// were live when watched).
    pub fn is_expired_now(&self, db: &Db, key: &[u8]) -> bool {
        let k = db.locate(key);
        let shard = db.read(k.shard);
        shard
            .index
            .get(k.hash, k.key)
            .is_some_and(|e| e.is_expired(self.now_ms()))
    }

    /// Before a flush of `db` (all namespaces when `None`): marks the watchers of keys that
    /// exist there.
    fn touch_watched_before_flush(&self, db: Option<&Db>) {
        if !self.watches.active() {
            return;
        }
        let now = self.now_ms();
        self.watches.touch_where(db.map(|d| d.id), |id, key| {
            self.db_by_id(id).is_some_and(|d| {
                let k = d.locate(key);
                let found = d.read(k.shard).contains(&k, now);
                found
            })
        });
    }

    /// Attach the log every later write appends to. Only the first call has an effect.
    pub fn set_log(&self, log: Arc<dyn EffectLog>) -> bool {
        self.log.set(log).is_ok()
    }

    /// Whether a log is attached.
    pub fn is_logged(&self) -> bool {
        self.log.get().is_some()
    }

    /// LSN of the last record appended (or replayed at start-up): the state's log position.
    pub fn last_lsn(&self) -> u64 {
        self.last_lsn.load(Ordering::Acquire)
    }

    /// Set the state's log position after loading a snapshot or replaying records.
    pub fn set_last_lsn(&self, lsn: u64) {
        self.last_lsn.store(lsn, Ordering::Release);
    }

    /// Why the log refused a record, if it ever did.
    pub fn log_failure(&self) -> Option<String> {
        if !self.log_failed() {
            return None;
        }
        self.log_failure.lock().clone()
    }

    /// Whether the log has failed (cheap: one atomic load). Writes are refused from then on.
    #[inline]
    pub fn log_failed(&self) -> bool {
        self.log_failed.load(Ordering::Acquire)
    }

    /// Record that the log failed (the first reason is kept).
    pub fn note_log_failure(&self, reason: String) {
        let mut failure = self.log_failure.lock();
        if failure.is_none() {
            *failure = Some(reason);
        }
        self.log_failed.store(true, Ordering::Release);
    }

    /// A namespace by id: numbered (0..16) or named.
    pub fn db_by_id(&self, id: u32) -> Option<Arc<Db>> {
        if let Some(db) = self.numbered.get(id as usize) {
            return Some(db.clone());
        }
        self.named.read().values().find(|d| d.id == id).cloned()
    }

    /// The named namespaces as (id, name), in name order.
    pub fn named_namespaces(&self) -> Vec<(u32, String)> {
        self.named
            .read()
            .values()
            .map(|d| (d.id, d.name.clone()))
            .collect()
    }

    /// Delete every key of every namespace (logged as one flush).
    pub fn flush_all(&self, w: &mut Writer<'_>) {
        self.touch_watched_before_flush(None);
        if let Some(mut r) = w.record() {
            r.flushall();
        }
        for db in self.all_dbs() {
            db.clear_unlogged(w);
        }
    }

    /// Numbered database `i` (0..16).
    pub fn db(&self, i: u32) -> Option<&Arc<Db>> {
        self.numbered.get(i as usize)
    }

    /// The databases to report in INFO keyspace: every numbered one and every named one.
    pub fn all_dbs(&self) -> Vec<Arc<Db>> {
        let mut v: Vec<Arc<Db>> = self.numbered.clone();
        v.extend(self.named.read().values().cloned());
        v
    }

    /// A namespace by name (`default` and `0`..`15` name the numbered databases).
    pub fn namespace(&self, name: &str) -> Option<Arc<Db>> {
        if name == "default" {
            return self.numbered.first().cloned();
        }
        if let Ok(i) = name.parse::<u32>() {
            return self.numbered.get(i as usize).cloned();
        }
        self.named.read().get(name).cloned()
    }

    /// Create a named namespace (logged).
    pub fn create_namespace(&self, name: &str) -> Result<Arc<Db>, NamespaceError> {
        let mut w = self.writer();
        let id = self.next_id.load(Ordering::Relaxed);
        self.create_namespace_with_id(name, id, &mut w)
    }

    /// Create a named namespace with a given id (logged when `w` logs): replay uses the id
    /// the log recorded, so effects naming it find it.
    pub fn create_namespace_with_id(
        &self,
        name: &str,
        id: u32,
        w: &mut Writer<'_>,
    ) -> Result<Arc<Db>, NamespaceError> {
        if self.namespace(name).is_some() || self.db_by_id(id).is_some() {
            return Err(NamespaceError::Exists);
        }
        if let Some(mut r) = w.record() {
            r.ns_create(id, name);
        }
        let db = Arc::new(Db::new(id, name.to_string()));
        self.named.write().insert(name.to_string(), db.clone());
        self.next_id
            .fetch_max(id.saturating_add(1), Ordering::Relaxed);
        Ok(db)
    }

    /// Drop a named namespace and its keys (logged).
    pub fn drop_namespace(&self, name: &str) -> Result<(), NamespaceError> {
        let mut w = self.writer();
        self.drop_namespace_with(name, &mut w)
    }

    /// Drop a named namespace under a writer the caller holds (logged when `w` logs).
    pub fn drop_namespace_with(
        &self,
        name: &str,
        w: &mut Writer<'_>,
    ) -> Result<(), NamespaceError> {
        if name == "default" || name.parse::<u32>().is_ok_and(|i| i < NUMBERED_DBS) {
            return Err(NamespaceError::Builtin);
        }
        let db = self
            .named
            .write()
            .remove(name)
            .ok_or(NamespaceError::Missing)?;
        self.touch_watched_before_flush(Some(&db));
        if let Some(mut r) = w.record() {
            r.ns_drop(name);
        }
        db.clear_unlogged(w);
        Ok(())
    }

    /// Delete keys whose time has come, at most `budget` in total. Returns how many were
    /// deleted and whether more are already due (so the caller can run again soon).
    pub fn active_expire(&self, budget: usize) -> (usize, bool) {
        let now = self.now_ms();
        let mut deleted = 0;
        let mut more = false;
        for db in self.all_dbs() {
            for shard in 0..SHARDS {
                if deleted >= budget {
                    return (deleted, true);
                }
                // Cheap pre-check under the read lock, so idle shards never take the writer.
                let due = db
                    .read(shard)
                    .expires
                    .first()
                    .is_some_and(|&(at, _)| at <= now);
                if !due {
                    continue;
                }
                let mut w = self.writer();
                let (n, m) = db
                    .write(shard, &w)
                    .expire_due(now, budget - deleted, &mut w);
                deleted += n;
                more |= m;
            }
        }
        self.stats
            .expired_keys
            .fetch_add(deleted as u64, Ordering::Relaxed);
        (deleted, more)
    }
}

impl std::fmt::Debug for Keyspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyspace")
            .field("numbered", &self.numbered.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn ks() -> (Arc<ManualClock>, Keyspace) {
        let clock = Arc::new(ManualClock::new(1_000_000));
        let ks = Keyspace::new(clock.clone());
        (clock, ks)
    }

    fn put(ks: &Keyspace, db: &Db, key: &str, expire_at: i64) {
        let mut w = ks.writer();
        let k = db.locate(key.as_bytes());
        let item = Item::with_expiry(Value::string(b"v"), expire_at, ks.now_ms());
        db.write(k.shard, &w).insert(&k, item, &mut w);
    }

    #[test]
    fn expired_keys_read_as_missing_and_active_cycle_deletes_them() {
        // Lazy expiry hides a key at its time; the active cycle then deletes it.
        let (clock, ks) = ks();
        let db = ks.db(0).cloned().expect("db0");
        put(&ks, &db, "a", 1_000_500);
        put(&ks, &db, "b", 0);
        let a = db.locate(b"a");
        assert!(db.read(a.shard).contains(&a, ks.now_ms()));
        clock.advance(500);
        assert!(!db.read(a.shard).contains(&a, ks.now_ms()));
        assert_eq!(db.len(), 2);
        assert_eq!(ks.active_expire(100), (1, false));
        assert_eq!(db.len(), 1);
        assert_eq!(db.volatile_len(), 0);
    }

    #[test]
    fn records_hold_strings_as_bytes_and_switch_type_in_place() {
        // A stored string is bytes in its record; replacing it with a collection (and back)
        // keeps the key, the expiry and the access time, and into_item gives the value back.
        let (_clock, ks) = ks();
        let db = ks.db(0).cloned().expect("db0");
        put(&ks, &db, "k", 5_000_000);
        let k = db.locate(b"k");
        let mut w = ks.writer();
        let mut sh = db.write(k.shard, &w);
        let r = sh.get_mut(&k, ks.now_ms(), &mut w).expect("present");
        assert!(matches!(
            r.view(),
            ValueRef::Str {
                data: b"v",
                raw: false
            }
        ));
        assert_eq!(r.view().type_name(), "string");
        r.replace_value(Value::Hash(crate::types::hash::Hash::default()));
        assert_eq!(r.key(), b"k");
        assert_eq!(r.expire_at(), 5_000_000);
        assert!(matches!(r.value(), Some(Value::Hash(_))));
        assert_eq!(r.view().type_name(), "hash");
        r.replace_value(Value::string(&[7u8; 300]));
        assert_eq!(r.as_str().map(<[u8]>::len), Some(300));
        let grown = r.resize_str(310, true);
        assert_eq!(grown[300..], [0u8; 10]);
        assert_eq!(r.view().encoding(), "raw");
        let item = sh.remove(&k, &mut w).expect("removed").into_item();
        assert_eq!(item.expire_at, 5_000_000);
        assert!(matches!(item.value, Value::Str { raw: true, .. }));
        assert_eq!(item.value.as_str().map(|d| d.len()), Some(310));
    }

    #[test]
    fn scan_returns_every_key_once_without_churn() {
        // A full SCAN over a quiet keyspace returns each key exactly once.
        let (_c, ks) = ks();
        let db = ks.db(0).cloned().expect("db0");
        for i in 0..5000 {
            put(&ks, &db, &format!("k{i}"), 0);
        }
        let mut seen = std::collections::HashMap::new();
        let mut cursor = 0;
        let mut calls = 0;
        loop {
            cursor = db.scan(cursor, 100, ks.now_ms(), |e| {
                *seen.entry(e.key().to_vec()).or_insert(0) += 1;
            });
            calls += 1;
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen.len(), 5000);
        assert!(seen.values().all(|&n| n == 1));
        assert!(calls >= 40, "count is honoured roughly: {calls} calls");
    }

    /// Counts appended records and their effects.
    #[derive(Default)]
    struct CountingLog(Mutex<Vec<u32>>);

    impl EffectLog for CountingLog {
        fn append(&self, _kind: u8, payload: &[u8]) -> Result<u64, String> {
            let rec =
                crate::effect::decode_record(KIND_EFFECTS, payload).map_err(|e| e.to_string())?;
            let mut v = self.0.lock();
            v.push(rec.effects.len() as u32);
            Ok(v.len() as u64)
        }
    }

    #[test]
    fn nested_writers_make_one_record_appended_by_the_outermost() {
        let (_c, ks) = ks();
        let log = Arc::new(CountingLog::default());
        ks.set_log(log.clone());
        let db = ks.db(0).cloned().expect("db0");
        {
            let outer = ks.writer();
            put(&ks, &db, "a", 0);
            put(&ks, &db, "b", 0);
            assert!(
                log.0.lock().is_empty(),
                "nothing appended before the outer writer ends"
            );
            drop(outer);
        }
        put(&ks, &db, "c", 0);
        assert_eq!(*log.0.lock(), vec![2, 1]);
        assert_eq!(ks.last_lsn(), 2);
    }

    #[test]
    fn watched_keys_are_marked_by_any_writer_even_without_a_log() {
        let (clock, ks) = ks();
        let db = ks.db(0).cloned().expect("db0");
        let w = Watcher::new();
        put(&ks, &db, "exp", 1_000_100);
        assert!(!ks.watch(&w, &db, &bytes::Bytes::from_static(b"other")));
        put(&ks, &db, "a", 0);
        assert!(!w.is_dirty(), "a change to another key");
        put(&ks, &db, "other", 0);
        assert!(w.is_dirty());
        let w2 = Watcher::new();
        assert!(ks.watch(&w2, &db, &bytes::Bytes::from_static(b"exp")));
        clock.advance(200);
        assert!(ks.is_expired_now(&db, b"exp"));
        assert_eq!(ks.active_expire(10), (1, false));
        assert!(w2.is_dirty(), "deleted by expiry");
    }

    #[test]
    fn read_atomic_runs_again_after_a_transaction_it_overlapped() {
        let (_c, ks) = ks();
        let mut runs = 0;
        let v = ks.read_atomic(|| {
            runs += 1;
            if runs == 1 {
                // A transaction applies its writes while this read runs.
                let w = ks.writer();
                ks.atomically(&w, || ());
            }
            runs
        });
        assert_eq!(v, 2, "the read overlapped a transaction and ran again");
    }

    #[test]
    fn namespaces_are_isolated() {
        // The same key in two namespaces are two keys.
        let (_c, ks) = ks();
        let a = ks.create_namespace("staging").expect("create");
        assert_eq!(
            ks.create_namespace("staging").err(),
            Some(NamespaceError::Exists)
        );
        let d = ks.namespace("default").expect("default");
        put(&ks, &a, "x", 0);
        assert_eq!(a.len(), 1);
        assert_eq!(d.len(), 0);
        assert_eq!(ks.drop_namespace("0"), Err(NamespaceError::Builtin));
        ks.drop_namespace("staging").expect("drop");
        assert!(ks.namespace("staging").is_none());
    }
}
