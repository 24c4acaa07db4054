//! Keyspace index micro-benchmark: which structure sits under point lookups and ordered scans.
//!
//! Candidates, all holding keys shaped like Redis's benchmark keys (`key:%012d`, 16 bytes),
//! accessed in a shuffled random order:
//!
//! - `a_skipmap`: `crossbeam_skiplist::SkipMap<Vec<u8>, V>`, the design card read literally.
//! - `b_hashmap`: `hashbrown::HashMap<Box<[u8]>, V>` with foldhash: a plain hash table, no order.
//! - `c_shard_btree`: `vole_engine::index::ShardIndex` (hash table + `BTreeSet` of
//!   positions: `slot << 64 | hash` when the figures in docs/design/keyspace.md were taken,
//!   the key hash alone since), 64 shards per database chosen by `slot >> 8`, each behind a
//!   parking_lot `RwLock`: every op computes foldhash and the CRC16 slot.
//! - `d_shard_skipset`: the same sharding, but the order kept in a
//!   `crossbeam_skiplist::SkipSet<u128>` of positions instead of the `BTreeSet`.
//! - `e_hashshard_btree`: (c) with the shard taken from hash bits instead of the slot, so that
//!   a lookup computes no CRC16 (the slot is computed on insert and delete only); SCAN then
//!   walks the shards one after the other instead of in one global position order.
//! - `f_hashshard_slotvec`: (e) with the order kept in small sorted `Vec<u128>`s of positions,
//!   one per 16 slots in each shard, instead of the `BTreeSet`.
//!
//! Operations at 1M keys: `get` (hit, back-to-back independent lookups: throughput),
//! `get_dep` (hit, each lookup's key chosen from the previous result: latency), `insert` (new keys, the table staying at 1M: each timed
//! batch of inserts is removed again untimed), `delete` (existing keys, re-inserted untimed),
//! `scan` (ordered iteration in pages of 100 from a resumable cursor; none for the hash map).
//! `get` and `get_dep` at 10M keys too when `VOLE_BENCH_10M=1`. Before the timings the binary prints a
//! bytes-per-key table, measured in a child process per candidate with a counting global
//! allocator (live heap bytes requested) and the process RSS.
//!
//! Reproduce (see docs/design/keyspace.md):
//! `cargo bench -p vole-engine --bench keyspace_index -- --warm-up-time 1 --measurement-time 3 --sample-size 10`
//!
//! Environment: `VOLE_BENCH_10M=1` adds the 10M-key runs; `VOLE_BENCH_NO_MEM=1` skips
//! the bytes-per-key table. The counting allocator stays installed during the timings: it adds
//! a few atomic increments to every allocation (insert and delete pay it, get does not).

use std::alloc::System;
use std::hash::BuildHasher;
use std::hint::black_box;
use std::io::Write as _;
use std::ops::Bound;
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::Criterion;
use crossbeam_skiplist::{SkipMap, SkipSet};
use hashbrown::{HashMap, HashTable};
use parking_lot::RwLock;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use stats_alloc::{StatsAlloc, INSTRUMENTED_SYSTEM};
use vole_engine::index::{key_slot, Key, KeyHasher, Keyed, ShardIndex, SLOTS};

/// One key and its value as the candidates store it (the keyspace's index stores records
/// that carry their own key; here an entry carries its key and hash).
struct Entry<V> {
    key: Key,
    hash: u64,
    value: V,
}

impl<V> Keyed for Entry<V> {
    fn key(&self) -> &[u8] {
        &self.key
    }
}

/// The hash function of every sharded candidate: fixed seed, so a shard's own hasher (which
/// `ShardIndex` uses when it grows) agrees with the wrapper's.
#[derive(Clone, Copy, Default)]
struct Fixed;

const SEED: u64 = 0x5eed_1dea;

impl Fixed {
    fn state() -> foldhash::quality::FixedState {
        foldhash::quality::FixedState::with_seed(SEED)
    }
}

impl KeyHasher for Fixed {
    fn hash_key(&self, key: &[u8]) -> u64 {
        Fixed::state().hash_one(key)
    }
}

/// The ordered positions candidates d and f keep: slot << 64 | hash (the keyspace's own index
/// orders by hash alone since 2026-11-24).
fn position(slot: u16, hash: u64) -> u128 {
    (u128::from(slot) << 64) | u128::from(hash)
}

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Every key is `key:%012d`: 16 bytes.
const KEY_LEN: usize = 16;
/// Shards per database, selected by `slot >> 8` (16384 slots / 256).
const SHARDS: usize = 64;
/// Insert/delete batch: timed ops, then the same number of untimed ops undoing them.
const CHUNK: usize = 1000;
/// Distinct fresh keys cycled through by the insert benchmark.
const INSERT_POOL: usize = 100_000;
/// Keys returned per SCAN page.
const PAGE: usize = 100;

// ---------------------------------------------------------------------------------------------
// Keys

/// Fixed-length keys stored back to back, so walking them costs no pointer chase.
struct Keys {
    flat: Vec<u8>,
}

impl Keys {
    fn from_ids(ids: &[u64]) -> Keys {
        let mut flat = Vec::with_capacity(ids.len() * KEY_LEN);
        for &id in ids {
            write_key(&mut flat, id);
        }
        Keys { flat }
    }

    fn len(&self) -> usize {
        self.flat.len() / KEY_LEN
    }

    #[inline(always)]
    fn key(&self, i: usize) -> &[u8] {
        &self.flat[i * KEY_LEN..(i + 1) * KEY_LEN]
    }
}

fn write_key(out: &mut Vec<u8>, id: u64) {
    let before = out.len();
    write!(out, "key:{id:012}").expect("write to a Vec");
    assert_eq!(
        out.len() - before,
        KEY_LEN,
        "key id too large for the fixed key shape"
    );
}

fn shuffled(range: std::ops::Range<u64>, seed: u64) -> Vec<u64> {
    let mut ids: Vec<u64> = range.collect();
    ids.shuffle(&mut StdRng::seed_from_u64(seed));
    ids
}

/// Insert keys `0..n` into `ix` in one random order (build time is not measured).
fn fill<I: Index>(ix: &mut I, n: usize) {
    let mut buf = Vec::with_capacity(KEY_LEN);
    for id in shuffled(0..n as u64, 1) {
        buf.clear();
        write_key(&mut buf, id);
        ix.insert(&buf, id);
    }
}

// ---------------------------------------------------------------------------------------------
// Values

/// A value as the index stores it: a small inline `u64` or a 16-byte heap allocation.
trait Val: Sized + Send + Sync + 'static {
    fn make(x: u64) -> Self;
    fn read(&self) -> u64;
}

impl Val for u64 {
    #[inline(always)]
    fn make(x: u64) -> Self {
        x
    }
    #[inline(always)]
    fn read(&self) -> u64 {
        *self
    }
}

impl Val for Box<[u8; 16]> {
    fn make(x: u64) -> Self {
        let mut b = Box::new([0u8; 16]);
        b[..8].copy_from_slice(&x.to_le_bytes());
        b
    }
    fn read(&self) -> u64 {
        u64::from(self[0])
    }
}

// ---------------------------------------------------------------------------------------------
// Candidates

/// The operations every candidate offers. `&mut self` for writes: one writer at a time, as in
/// the keyspace (the sharded candidates still take their shard's write lock, as it will).
trait Index {
    fn get(&self, key: &[u8]) -> Option<u64>;
    fn insert(&mut self, key: &[u8], x: u64);
    fn remove(&mut self, key: &[u8]) -> bool;
    /// Visit up to `PAGE` keys from `cursor` on, in this index's order; return the cursor of
    /// the next page, `None` when the pass is complete. `None` for an unordered index.
    fn scan_page(&self, cursor: &mut Cursor, visit: &mut dyn FnMut(&[u8])) -> Option<bool>;
}

/// A resumable scan position: the last key for the skiplist, a u128 position for the shards.
#[derive(Default)]
struct Cursor {
    key: Option<Vec<u8>>,
    pos: u128,
    shard: usize,
}

/// (a) A plain skiplist keyed by the key bytes.
struct SkipMapIndex<V: Val>(SkipMap<Vec<u8>, V>);

impl<V: Val> Index for SkipMapIndex<V> {
    #[inline]
    fn get(&self, key: &[u8]) -> Option<u64> {
        self.0.get(key).map(|e| e.value().read())
    }
    fn insert(&mut self, key: &[u8], x: u64) {
        self.0.insert(key.to_vec(), V::make(x));
    }
    fn remove(&mut self, key: &[u8]) -> bool {
        self.0.remove(key).is_some()
    }
    fn scan_page(&self, cursor: &mut Cursor, visit: &mut dyn FnMut(&[u8])) -> Option<bool> {
        let lower = match &cursor.key {
            Some(k) => Bound::Excluded(k.as_slice()),
            None => Bound::Unbounded,
        };
        let mut last = None;
        for e in self
            .0
            .range::<[u8], _>((lower, Bound::Unbounded))
            .take(PAGE)
        {
            visit(e.key());
            last = Some(e);
        }
        match last {
            Some(e) => {
                cursor.key = Some(e.key().clone());
                Some(true)
            }
            None => {
                cursor.key = None;
                Some(false)
            }
        }
    }
}

/// (b) A plain hash table, no order.
struct HashMapIndex<V: Val>(HashMap<Box<[u8]>, V, foldhash::quality::RandomState>);

impl<V: Val> Index for HashMapIndex<V> {
    #[inline]
    fn get(&self, key: &[u8]) -> Option<u64> {
        self.0.get(key).map(Val::read)
    }
    fn insert(&mut self, key: &[u8], x: u64) {
        self.0.insert(key.into(), V::make(x));
    }
    fn remove(&mut self, key: &[u8]) -> bool {
        self.0.remove(key).is_some()
    }
    fn scan_page(&self, _: &mut Cursor, _: &mut dyn FnMut(&[u8])) -> Option<bool> {
        None
    }
}

/// What one shard offers the sharded wrapper.
trait Shard<V>: Default + Send + Sync {
    fn get(&self, hash: u64, key: &[u8]) -> Option<&Entry<V>>;
    fn insert(&mut self, hash: u64, key: &[u8], value: V) -> Option<V>;
    fn remove(&mut self, hash: u64, key: &[u8]) -> Option<Entry<V>>;
    /// As `ShardIndex::scan_from`.
    fn scan_from(&self, from: u128, visit: impl FnMut(&Entry<V>) -> bool) -> Option<u128>;
}

impl<V: Val> Shard<V> for ShardIndex<Entry<V>, Fixed> {
    #[inline]
    fn get(&self, hash: u64, key: &[u8]) -> Option<&Entry<V>> {
        ShardIndex::get(self, hash, key)
    }
    fn insert(&mut self, hash: u64, key: &[u8], value: V) -> Option<V> {
        let e = Entry {
            key: Key::new(key),
            hash,
            value,
        };
        ShardIndex::insert(self, hash, e).map(|old| old.value)
    }
    fn remove(&mut self, hash: u64, key: &[u8]) -> Option<Entry<V>> {
        ShardIndex::remove(self, hash, key)
    }
    fn scan_from(&self, from: u128, mut visit: impl FnMut(&Entry<V>) -> bool) -> Option<u128> {
        // Positions inside one shard are key hashes here.
        ShardIndex::scan_from(self, from as u64, |_, e| visit(e)).map(u128::from)
    }
}

/// Buckets of (f)'s order structure: one sorted vector per 16 consecutive slots.
const SLOT_BUCKETS: usize = SLOTS as usize / 16;

/// (f)'s shard: the same hash table, the order in small sorted vectors of positions, one per
/// 16 slots (1024 per shard): an insert or delete is a binary search and a short memmove.
struct SlotVecShard<V> {
    table: HashTable<Entry<V>>,
    order: Vec<Vec<u128>>,
}

impl<V> Default for SlotVecShard<V> {
    fn default() -> Self {
        SlotVecShard {
            table: HashTable::new(),
            order: (0..SLOT_BUCKETS).map(|_| Vec::new()).collect(),
        }
    }
}

impl<V: Val> Shard<V> for SlotVecShard<V> {
    #[inline]
    fn get(&self, hash: u64, key: &[u8]) -> Option<&Entry<V>> {
        self.table.find(hash, |e| e.hash == hash && &*e.key == key)
    }
    fn insert(&mut self, hash: u64, key: &[u8], value: V) -> Option<V> {
        if let Some(e) = self
            .table
            .find_mut(hash, |e| e.hash == hash && &*e.key == key)
        {
            return Some(std::mem::replace(&mut e.value, value));
        }
        let key = vole_engine::index::Key::new(key);
        let slot = key_slot(&key);
        let p = position(slot, hash);
        let bucket = &mut self.order[usize::from(slot >> 4)];
        if let Err(at) = bucket.binary_search(&p) {
            bucket.insert(at, p);
        }
        self.table
            .insert_unique(hash, Entry { key, hash, value }, |e| e.hash);
        None
    }
    fn remove(&mut self, hash: u64, key: &[u8]) -> Option<Entry<V>> {
        let found = self
            .table
            .find_entry(hash, |e| e.hash == hash && &*e.key == key)
            .ok()?;
        let (entry, _) = found.remove();
        let slot = key_slot(&entry.key);
        let shared = self
            .table
            .iter_hash(hash)
            .any(|e| e.hash == hash && key_slot(&e.key) == slot);
        if !shared {
            let bucket = &mut self.order[usize::from(slot >> 4)];
            if let Ok(at) = bucket.binary_search(&position(slot, hash)) {
                bucket.remove(at);
            }
        }
        Some(entry)
    }
    fn scan_from(&self, from: u128, mut visit: impl FnMut(&Entry<V>) -> bool) -> Option<u128> {
        let mut go_on = true;
        let first = ((from >> 64) as usize >> 4).min(SLOT_BUCKETS);
        for bucket in &self.order[first..] {
            let start = bucket.partition_point(|&p| p < from);
            for &p in &bucket[start..] {
                if !go_on {
                    return Some(p);
                }
                let (slot, hash) = ((p >> 64) as u16, p as u64);
                for e in self.table.iter_hash(hash) {
                    if e.hash == hash && key_slot(&e.key) == slot && !visit(e) {
                        go_on = false;
                    }
                }
            }
        }
        None
    }
}

/// (d)'s shard: the same hash table, the order in a lock-free skiplist of positions.
struct SkipShard<V> {
    table: HashTable<Entry<V>>,
    order: SkipSet<u128>,
}

impl<V> Default for SkipShard<V> {
    fn default() -> Self {
        SkipShard {
            table: HashTable::new(),
            order: SkipSet::new(),
        }
    }
}

impl<V: Val> Shard<V> for SkipShard<V> {
    #[inline]
    fn get(&self, hash: u64, key: &[u8]) -> Option<&Entry<V>> {
        self.table.find(hash, |e| e.hash == hash && &*e.key == key)
    }
    fn insert(&mut self, hash: u64, key: &[u8], value: V) -> Option<V> {
        if let Some(e) = self
            .table
            .find_mut(hash, |e| e.hash == hash && &*e.key == key)
        {
            return Some(std::mem::replace(&mut e.value, value));
        }
        let key = vole_engine::index::Key::new(key);
        self.order.insert(position(key_slot(&key), hash));
        self.table
            .insert_unique(hash, Entry { key, hash, value }, |e| e.hash);
        None
    }
    fn remove(&mut self, hash: u64, key: &[u8]) -> Option<Entry<V>> {
        let found = self
            .table
            .find_entry(hash, |e| e.hash == hash && &*e.key == key)
            .ok()?;
        let (entry, _) = found.remove();
        let slot = key_slot(&entry.key);
        let shared = self
            .table
            .iter_hash(hash)
            .any(|e| e.hash == hash && key_slot(&e.key) == slot);
        if !shared {
            self.order.remove(&position(slot, hash));
        }
        Some(entry)
    }
    fn scan_from(&self, from: u128, mut visit: impl FnMut(&Entry<V>) -> bool) -> Option<u128> {
        let mut go_on = true;
        for p in self.order.range(from..) {
            let p = *p.value();
            if !go_on {
                return Some(p);
            }
            let (slot, hash) = ((p >> 64) as u16, p as u64);
            for e in self.table.iter_hash(hash) {
                if e.hash == hash && key_slot(&e.key) == slot && !visit(e) {
                    go_on = false;
                }
            }
        }
        None
    }
}

/// (c) and (d): one database as the keyspace lays it out: 64 locked shards, shard = slot >> 8,
/// hashes from foldhash with a per-database random seed. With `BY_HASH` (candidate e) the shard
/// is taken from hash bits 40..46 instead, so a lookup never computes the CRC16 slot (the
/// shard's order is still by position, but the shards no longer partition the position space:
/// a cursor walks them one after the other).
struct Sharded<V, S, const BY_HASH: bool = false> {
    state: foldhash::quality::FixedState,
    shards: Vec<RwLock<S>>,
    _v: std::marker::PhantomData<fn() -> V>,
}

impl<V: Val, S: Shard<V>, const BY_HASH: bool> Sharded<V, S, BY_HASH> {
    fn new() -> Self {
        Sharded {
            state: Fixed::state(),
            shards: (0..SHARDS).map(|_| RwLock::new(S::default())).collect(),
            _v: std::marker::PhantomData,
        }
    }

    #[inline(always)]
    fn locate(&self, key: &[u8]) -> (u64, &RwLock<S>) {
        let hash = self.state.hash_one(key);
        let shard = if BY_HASH {
            // Not the top bits (hashbrown's 7-bit tag) nor the low ones (its bucket index).
            (hash >> 40) as usize & (SHARDS - 1)
        } else {
            usize::from(key_slot(key) >> 8)
        };
        (hash, &self.shards[shard])
    }
}

impl<V: Val, S: Shard<V>, const BY_HASH: bool> Index for Sharded<V, S, BY_HASH> {
    #[inline]
    fn get(&self, key: &[u8]) -> Option<u64> {
        let (hash, shard) = self.locate(key);
        let guard = shard.read();
        guard.get(hash, key).map(|e| e.value.read())
    }
    fn insert(&mut self, key: &[u8], x: u64) {
        let (hash, shard) = self.locate(key);
        shard.write().insert(hash, key, V::make(x));
    }
    fn remove(&mut self, key: &[u8]) -> bool {
        let (hash, shard) = self.locate(key);
        let removed = shard.write().remove(hash, key);
        removed.is_some()
    }
    fn scan_page(&self, cursor: &mut Cursor, visit: &mut dyn FnMut(&[u8])) -> Option<bool> {
        let mut budget = PAGE;
        // Shard by shard: the cursor is (shard, position within the shard). Every candidate
        // keeps each shard ordered, whatever it orders by.
        loop {
            let next = self.shards[cursor.shard].read().scan_from(cursor.pos, |e| {
                visit(&e.key);
                budget = budget.saturating_sub(1);
                budget > 0
            });
            match next {
                Some(p) => {
                    cursor.pos = p;
                    return Some(true);
                }
                None if cursor.shard + 1 < SHARDS => {
                    cursor.shard += 1;
                    cursor.pos = 0;
                    if budget == 0 {
                        return Some(true);
                    }
                }
                None => {
                    (cursor.shard, cursor.pos) = (0, 0);
                    return Some(false);
                }
            }
        }
    }
}

type Candidate = (&'static str, fn(usize) -> Box<dyn Index>);

fn build<I: Index + 'static>(mut ix: I, n: usize) -> Box<dyn Index> {
    fill(&mut ix, n);
    Box::new(ix)
}

fn candidates<V: Val>() -> Vec<Candidate> {
    vec![
        ("a_skipmap", |n| build(SkipMapIndex::<V>(SkipMap::new()), n)),
        ("b_hashmap", |n| {
            build(HashMapIndex::<V>(HashMap::default()), n)
        }),
        ("c_shard_btree", |n| {
            build(Sharded::<V, ShardIndex<Entry<V>, Fixed>>::new(), n)
        }),
        ("d_shard_skipset", |n| {
            build(Sharded::<V, SkipShard<V>>::new(), n)
        }),
        ("e_hashshard_btree", |n| {
            build(Sharded::<V, ShardIndex<Entry<V>, Fixed>, true>::new(), n)
        }),
        ("f_hashshard_slotvec", |n| {
            build(Sharded::<V, SlotVecShard<V>, true>::new(), n)
        }),
    ]
}

// ---------------------------------------------------------------------------------------------
// Timings

fn bench_get(c: &mut Criterion, group: &str, name: &str, ix: &dyn Index, lookups: &Keys) {
    let mut g = c.benchmark_group(group);
    g.bench_function(name, |b| {
        let mut i = 0;
        b.iter(|| {
            let v = ix.get(lookups.key(i));
            i += 1;
            if i == lookups.len() {
                i = 0;
            }
            black_box(v)
        })
    });
    g.finish();
}

/// Like `bench_get`, but each lookup's key index depends on the previous lookup's result, so
/// the CPU cannot overlap the cache misses of consecutive lookups (as in a server, where each
/// lookup sits between parsing and replying): this is latency, `bench_get` is throughput.
fn bench_get_dep(c: &mut Criterion, group: &str, name: &str, ix: &dyn Index, lookups: &Keys) {
    let mut g = c.benchmark_group(group);
    let zero = black_box(0u64);
    g.bench_function(name, |b| {
        let mut i = 0;
        b.iter(|| {
            let v = ix.get(lookups.key(i)).unwrap_or(0);
            i += 1 + (v & zero) as usize;
            if i >= lookups.len() {
                i = 0;
            }
            v
        })
    });
    g.finish();
}

fn bench_insert(c: &mut Criterion, group: &str, name: &str, ix: &mut dyn Index, fresh: &Keys) {
    let mut g = c.benchmark_group(group);
    let mut pos = 0;
    g.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let chunk = left.min(CHUNK as u64) as usize;
                let start = Instant::now();
                let mut p = pos;
                for _ in 0..chunk {
                    ix.insert(fresh.key(p), p as u64);
                    p += 1;
                    if p == fresh.len() {
                        p = 0;
                    }
                }
                total += start.elapsed();
                let mut p = pos;
                for _ in 0..chunk {
                    ix.remove(fresh.key(p));
                    p += 1;
                    if p == fresh.len() {
                        p = 0;
                    }
                }
                pos = p;
                left -= chunk as u64;
            }
            total
        })
    });
    g.finish();
}

fn bench_delete(c: &mut Criterion, group: &str, name: &str, ix: &mut dyn Index, present: &Keys) {
    let mut g = c.benchmark_group(group);
    let mut pos = 0;
    g.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let chunk = left.min(CHUNK as u64) as usize;
                let start = Instant::now();
                let mut p = pos;
                for _ in 0..chunk {
                    black_box(ix.remove(present.key(p)));
                    p += 1;
                    if p == present.len() {
                        p = 0;
                    }
                }
                total += start.elapsed();
                let mut p = pos;
                for _ in 0..chunk {
                    ix.insert(present.key(p), p as u64);
                    p += 1;
                    if p == present.len() {
                        p = 0;
                    }
                }
                pos = p;
                left -= chunk as u64;
            }
            total
        })
    });
    g.finish();
}

/// Time per key returned by a SCAN-like walk in pages of `PAGE`, resuming from a cursor.
fn bench_scan(c: &mut Criterion, group: &str, name: &str, ix: &dyn Index, keys: usize) {
    let mut cursor = Cursor::default();
    // One full pass first: it must return every key exactly once.
    let mut probe = Cursor::default();
    let mut total = 0;
    loop {
        match ix.scan_page(&mut probe, &mut |_| total += 1) {
            None => return, // unordered
            Some(true) => {}
            Some(false) => break,
        }
    }
    assert_eq!(
        total, keys,
        "{name}: a full scan pass returned {total} keys, not {keys}"
    );
    let mut g = c.benchmark_group(group);
    g.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let mut seen = 0u64;
            let mut sink = 0u64;
            let start = Instant::now();
            while seen < iters {
                ix.scan_page(&mut cursor, &mut |k| {
                    seen += 1;
                    sink = sink.wrapping_add(u64::from(k[KEY_LEN - 1]));
                });
            }
            black_box(sink);
            // Per key: the page granularity makes `seen` overshoot `iters` by < PAGE.
            start.elapsed().mul_f64(iters as f64 / seen as f64)
        })
    });
    g.finish();
}

/// Small pieces of the per-op cost of (c), for the breakdown in the design doc.
fn bench_parts(c: &mut Criterion, lookups: &Keys) {
    let mut g = c.benchmark_group("parts");
    let state = foldhash::quality::RandomState::default();
    let mut i = 0;
    g.bench_function("foldhash_16B", |b| {
        b.iter(|| {
            let h = state.hash_one(lookups.key(i & 0xffff));
            i += 1;
            black_box(h)
        })
    });
    g.bench_function("key_slot_16B", |b| {
        b.iter(|| {
            let s = key_slot(lookups.key(i & 0xffff));
            i += 1;
            black_box(s)
        })
    });
    let lock = RwLock::new(0u64);
    g.bench_function("rwlock_read_uncontended", |b| {
        b.iter(|| black_box(*lock.read()))
    });
    g.finish();
}

// ---------------------------------------------------------------------------------------------
// Bytes per key

/// Live heap bytes (requested sizes) and resident set size of this process.
fn heap_and_rss() -> (i64, i64) {
    let s = GLOBAL.stats();
    let live = s.bytes_allocated as i64 - s.bytes_deallocated as i64;
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: i64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    (live, pages * 4096)
}

/// Child mode: build one candidate with 1M keys and print its memory use at 0.9M and 1M keys.
fn memory_child(spec: &str) {
    let (name, val) = spec.split_once(':').expect("VOLE_BENCH_MEM=name:value");
    let n: usize = 1_000_000;
    let ids = shuffled(0..n as u64, 1);
    let mut buf = Vec::with_capacity(KEY_LEN);
    let mut ix: Box<dyn Index> = {
        let list = if val == "u64" {
            candidates::<u64>()
        } else {
            candidates::<Box<[u8; 16]>>()
        };
        let make = list
            .iter()
            .find(|(c, _)| *c == name)
            .expect("known candidate")
            .1;
        make(0)
    };
    let (heap0, rss0) = heap_and_rss();
    let mut out = String::new();
    for (i, &id) in ids.iter().enumerate() {
        buf.clear();
        write_key(&mut buf, id);
        ix.insert(&buf, id);
        if i + 1 == 900_000 || i + 1 == n {
            let (heap, rss) = heap_and_rss();
            let k = (i + 1) as f64;
            out.push_str(&format!(
                " {:.1} {:.1}",
                (heap - heap0) as f64 / k,
                (rss - rss0) as f64 / k
            ));
        }
    }
    println!("MEM{out}");
    drop(ix);
}

fn memory_table() {
    let exe = std::env::current_exe().expect("current exe");
    println!();
    println!("bytes per key (16-byte keys `key:%012d`; heap = live bytes requested from the");
    println!("allocator, rss = resident set growth incl. malloc overhead), at 0.9M and 1M keys:");
    println!(
        "{:<19} {:<12} {:>9} {:>9} {:>9} {:>9}",
        "candidate", "value", "heap@0.9M", "rss@0.9M", "heap@1M", "rss@1M"
    );
    for val in ["u64", "box16"] {
        for (name, _) in candidates::<u64>() {
            let out = Command::new(&exe)
                .env("VOLE_BENCH_MEM", format!("{name}:{val}"))
                .output()
                .expect("run memory child");
            let text = String::from_utf8_lossy(&out.stdout);
            let line = text
                .lines()
                .find(|l| l.starts_with("MEM"))
                .unwrap_or("MEM ? ? ? ?");
            let f: Vec<&str> = line[3..].split_whitespace().collect();
            let field = |i: usize| f.get(i).copied().unwrap_or("?");
            println!(
                "{:<19} {:<12} {:>9} {:>9} {:>9} {:>9}",
                name,
                if val == "u64" { "u64" } else { "Box<[u8;16]>" },
                field(0),
                field(1),
                field(2),
                field(3)
            );
        }
    }
    println!();
}

// ---------------------------------------------------------------------------------------------

fn main() {
    if let Ok(spec) = std::env::var("VOLE_BENCH_MEM") {
        memory_child(&spec);
        return;
    }
    let args: Vec<String> = std::env::args().collect();
    let listing_or_testing = args.iter().any(|a| a == "--list" || a == "--test");
    let mut c = Criterion::default().configure_from_args();

    if !listing_or_testing && std::env::var_os("VOLE_BENCH_NO_MEM").is_none() {
        memory_table();
    }

    const M: usize = 1_000_000;
    // Lookups (and deletes) walk the present keys in a different random order from the one
    // they were inserted in; inserts use keys that are not present.
    let lookups = Keys::from_ids(&shuffled(0..M as u64, 2));
    let fresh = Keys::from_ids(&shuffled(M as u64..(M + INSERT_POOL) as u64, 3));
    bench_parts(&mut c, &lookups);
    for (name, make) in candidates::<u64>() {
        let mut ix = make(M);
        bench_get(&mut c, "get_1M", name, &*ix, &lookups);
        bench_get_dep(&mut c, "get_dep_1M", name, &*ix, &lookups);
        bench_insert(&mut c, "insert_1M", name, &mut *ix, &fresh);
        bench_delete(&mut c, "delete_1M", name, &mut *ix, &lookups);
        bench_scan(&mut c, "scan_1M_per_key", name, &*ix, M);
    }
    drop((lookups, fresh));

    if std::env::var("VOLE_BENCH_10M").is_ok_and(|v| v == "1") {
        const TEN_M: usize = 10_000_000;
        let lookups = Keys::from_ids(&shuffled(0..TEN_M as u64, 2));
        for (name, make) in candidates::<u64>() {
            let ix = make(TEN_M);
            bench_get(&mut c, "get_10M", name, &*ix, &lookups);
            bench_get_dep(&mut c, "get_dep_10M", name, &*ix, &lookups);
        }
    }

    c.final_summary();
}
