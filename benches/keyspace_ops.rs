//! Keyspace micro-benchmark: point lookups and inserts through the real engine keyspace
//! (`vole_engine::keyspace`), at 1M keys and, with `VOLE_BENCH_10M=1`, at 10M keys.
//!
//! Database 0 of a [`Keyspace`] (64 shards behind `RwLock`s, no log attached) holds keys
//! `key:%012d` (16 bytes) with 64-byte string values. Two levels per operation:
//!
//! - `get/<n>`: what GET does to the keyspace: `Db::locate` (foldhash), the shard's read lock,
//!   `Shard::get`, and a clone of the value's `Bytes`. Keys are visited in a shuffled order
//!   covering all `n` keys, so most lookups miss the CPU caches.
//! - `get_cmd/<n>`: the GET handler itself (`cmd::string::get` with a `Ctx`, as the server calls
//!   it after the gate), returning the `Reply`.
//! - `insert/<n>`: what a plain SET does: `Db::locate`, the writer lock, the shard's write lock,
//!   `Shard::insert` of a new key (the value copied into its own allocation). The keys are new
//!   (ids from `n` up, shuffled, a pool of 100k); every timed batch of 1000 inserts is removed
//!   again untimed, so the keyspace stays at `n` keys.
//! - `set_cmd/<n>`: the SET handler (`cmd::string::set`, option parsing included) for new keys,
//!   removed the same way.
//!
//! Throughput is in operations. Memory: the 10M run peaks at about 2.5 GB RSS; filling it
//! takes 15-25 s on a 2-core VM. The bench uses jemalloc as its global allocator, as the
//! `vole` binary does.
//!
//! Reproduce (figures in docs/micro-benchmarks.md):
//! `cargo bench -p vole-engine --bench keyspace_ops`
//! `VOLE_BENCH_10M=1 cargo bench -p vole-engine --bench keyspace_ops`
//! (the file sets 1 s warm-up and 3 s measurement per case; criterion flags after `--` override).

#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{BenchmarkGroup, Criterion, Throughput};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use vole_engine::clock::SystemClock;
use vole_engine::cmd::{string, Ctx, EngineLimits};
use vole_engine::keyspace::{Db, Item, Keyspace};
use vole_engine::value::Value;

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Every key is `key:%012d`.
const KEY_LEN: usize = 16;
/// Bytes in every value.
const VALUE_LEN: usize = 64;
/// Inserts timed back to back before they are removed again untimed.
const CHUNK: usize = 1000;
/// Distinct new keys the insert benchmarks cycle through.
const INSERT_POOL: usize = 100_000;

/// Fixed-length keys back to back in one buffer; each key is also available as a `Bytes`
/// slice of it, as the server's arguments are slices of the request buffer.
struct Keys {
    flat: Bytes,
}

impl Keys {
    fn from_ids(ids: &[u64]) -> Keys {
        let mut flat = Vec::with_capacity(ids.len() * KEY_LEN);
        for &id in ids {
            write!(flat, "key:{id:012}").expect("write to a Vec");
        }
        assert_eq!(flat.len(), ids.len() * KEY_LEN, "key ids fit the key shape");
        Keys { flat: flat.into() }
    }

    fn len(&self) -> usize {
        self.flat.len() / KEY_LEN
    }

    #[inline(always)]
    fn key(&self, i: usize) -> &[u8] {
        &self.flat[i * KEY_LEN..(i + 1) * KEY_LEN]
    }

    #[inline(always)]
    fn arg(&self, i: usize) -> Bytes {
        self.flat.slice(i * KEY_LEN..(i + 1) * KEY_LEN)
    }
}

fn shuffled(range: std::ops::Range<u64>, seed: u64) -> Vec<u64> {
    let mut ids: Vec<u64> = range.collect();
    ids.shuffle(&mut StdRng::seed_from_u64(seed));
    ids
}

fn value() -> Vec<u8> {
    (0..VALUE_LEN).map(|i| b'a' + (i % 26) as u8).collect()
}

/// Inserts `key` the way a plain SET does.
#[inline(always)]
fn insert(ks: &Keyspace, db: &Db, key: &[u8], value: &[u8], now: i64) {
    let k = db.locate(key);
    let mut w = ks.writer();
    let mut sh = db.write(k.shard, &w);
    sh.insert(&k, Item::new(Value::string(value), now), &mut w);
}

fn remove(ks: &Keyspace, db: &Db, key: &[u8]) {
    let k = db.locate(key);
    let mut w = ks.writer();
    let removed = db.write(k.shard, &w).remove(&k, &mut w);
    assert!(removed.is_some(), "the inserted key is there");
}

/// A keyspace whose database 0 holds keys `0..n`.
fn filled(n: usize) -> (Keyspace, Arc<Db>) {
    let started = Instant::now();
    let ks = Keyspace::new(Arc::new(SystemClock));
    let db = ks.db(0).cloned().expect("database 0 exists");
    let value = value();
    let now = ks.now_ms();
    let mut key = Vec::with_capacity(KEY_LEN);
    for id in 0..n as u64 {
        key.clear();
        write!(key, "key:{id:012}").expect("write to a Vec");
        insert(&ks, &db, &key, &value, now);
    }
    assert_eq!(db.len(), n);
    eprintln!(
        "keyspace_ops: filled {n} keys in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    (ks, db)
}

/// Runs `op` on `iters` keys of the fresh pool in batches of [`CHUNK`], timing only `op`;
/// after each batch the keys are removed again, untimed.
fn timed_inserts(
    ks: &Keyspace,
    db: &Db,
    fresh: &Keys,
    next: &mut usize,
    iters: u64,
    mut op: impl FnMut(usize),
) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(CHUNK as u64) as usize;
        let first = *next;
        let started = Instant::now();
        for j in 0..n {
            op((first + j) % fresh.len());
        }
        total += started.elapsed();
        for j in 0..n {
            remove(ks, db, fresh.key((first + j) % fresh.len()));
        }
        *next = (first + n) % fresh.len();
        left -= n as u64;
    }
    total
}

fn bench_size(g: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>, n: usize, label: &str) {
    let (ks, db) = filled(n);
    let lookups = Keys::from_ids(&shuffled(0..n as u64, 2));
    let fresh = Keys::from_ids(&shuffled(n as u64..(n + INSERT_POOL) as u64, 3));
    let value = value();
    let limits = EngineLimits::default();
    g.throughput(Throughput::Elements(1));

    let mut i = 0usize;
    g.bench_function(format!("get/{label}"), |b| {
        let now = ks.now_ms();
        b.iter(|| {
            let k = db.locate(lookups.key(i));
            let sh = db.read(k.shard);
            let v = sh
                .get(&k, now)
                .and_then(|item| item.as_str().map(bytes::Bytes::copy_from_slice));
            drop(sh);
            i = if i + 1 == n { 0 } else { i + 1 };
            black_box(v.expect("key present"))
        })
    });

    let get_name = Bytes::from_static(b"GET");
    g.bench_function(format!("get_cmd/{label}"), |b| {
        let mut ctx = Ctx::new(&ks, &db, &limits);
        b.iter(|| {
            let args = [get_name.clone(), lookups.arg(i)];
            let reply = string::get(&mut ctx, &args).expect("GET succeeds");
            i = if i + 1 == n { 0 } else { i + 1 };
            black_box(reply)
        });
        assert_eq!(ctx.misses, 0);
    });

    let mut next = 0usize;
    g.bench_function(format!("insert/{label}"), |b| {
        let now = ks.now_ms();
        b.iter_custom(|iters| {
            timed_inserts(&ks, &db, &fresh, &mut next, iters, |j| {
                insert(&ks, &db, fresh.key(j), &value, now)
            })
        })
    });

    let set_name = Bytes::from_static(b"SET");
    let value_arg = Bytes::from(value.clone());
    g.bench_function(format!("set_cmd/{label}"), |b| {
        let mut ctx = Ctx::new(&ks, &db, &limits);
        b.iter_custom(|iters| {
            timed_inserts(&ks, &db, &fresh, &mut next, iters, |j| {
                let args = [set_name.clone(), fresh.arg(j), value_arg.clone()];
                black_box(string::set(&mut ctx, &args).expect("SET succeeds"));
            })
        })
    });
    assert_eq!(db.len(), n, "the keyspace size stayed put");
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let mut g = c.benchmark_group("keyspace");
    bench_size(&mut g, 1_000_000, "1M");
    if std::env::var("VOLE_BENCH_10M").is_ok_and(|v| v == "1") {
        bench_size(&mut g, 10_000_000, "10M");
    }
    g.finish();
    c.final_summary();
}
