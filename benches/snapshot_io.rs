//! Snapshot micro-benchmark: writing and loading a snapshot of 1M small string keys, in bytes
//! of snapshot file per second.
//!
//! The keyspace holds keys `key:%012d` (16 bytes) with 64-byte values of random letters,
//! digits and punctuation (64 symbols: about 6 bits of entropy a byte, so zstd has something
//! but not much to gain). Entries are the engine's own (`vole_engine::persist::encode_entry`,
//! about 87 bytes raw each), in the default file format (1 MiB blocks, zstd level 1). Cases:
//!
//! - `write/save`: `Persistence::snapshot_now`, the server's SAVE: walk every shard, encode the
//!   entries, compress, write `<file>.tmp`, fsync, rename, fsync the directory.
//! - `write/writer_only`: `vole_wal::snapshot::SnapshotWriter` alone (`create`, `add` per
//!   entry, `finish` with its fsyncs) over entries encoded beforehand.
//! - `load/verify`: `SnapshotFile::open` (mmap, header and trailer) and `snapshot::verify`
//!   (every block's CRC, decompression and entry framing), one thread.
//! - `load/decode_1thread`: open, then every block decompressed and every entry decoded with
//!   `persist::decode_entry` (no keyspace), one thread.
//! - `load/into_keyspace_1thread`: open, decompress, and `persist::Loader::add` every entry
//!   into an empty keyspace (decode + insert), one thread: the per-core cost of start-up.
//! - `load/startup`: `Persistence::open` on a data directory holding only the snapshot
//!   (`appendonly no`), into an empty keyspace: exactly the server's start-up path, with its
//!   block-parallel loader (one worker per core, at most 8; 2 on the reference VM).
//!
//! The loaded keyspaces are dropped outside the timing. The snapshot is read from the page
//! cache (it was just written), so load figures are CPU figures, not disk figures. The bench
//! uses jemalloc as its global allocator, as the `vole` binary does. Before the timings it
//! prints the file's size, raw size and entry count. The data directory (under
//! `std::env::temp_dir()`) is removed at the end.
//!
//! Reproduce (figures in docs/micro-benchmarks.md):
//! `cargo bench -p vole-server --bench snapshot_io`
//! (the file sets 1 s warm-up, 10 flat samples per case and 3 s of measurement, 8 s for the
//! cases near a second per iteration; criterion flags after `--` override).

#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput};
use vole_engine::clock::SystemClock;
use vole_engine::keyspace::{Item, Keyspace};
use vole_engine::persist::{begin_snapshot, decode_entry, loader};
use vole_engine::value::Value;
use vole_server::config::Config;
use vole_server::persistence::Persistence;
use vole_wal::snapshot::{verify, SnapshotFile, SnapshotMeta, SnapshotOptions, SnapshotWriter};

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Keys in the snapshot.
const KEYS: u64 = 1_000_000;
/// Bytes in every value.
const VALUE_LEN: usize = 64;
/// The snapshot file name inside the data directory (the server's default).
const SNAPSHOT: &str = "vole.snap";

/// A fresh directory under the system temp dir, removed on drop.
fn temp_dir(tag: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("vole-bench-{tag}-"))
        .tempdir()
        .expect("create the bench directory")
}

/// 64 symbols, so a value byte carries 6 bits.
const SYMBOLS: &[u8; 64] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";

/// A keyspace with [`KEYS`] string keys in database 0.
fn filled() -> Arc<Keyspace> {
    let ks = Arc::new(Keyspace::new(Arc::new(SystemClock)));
    let db = ks.db(0).cloned().expect("database 0 exists");
    let now = ks.now_ms();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut key = Vec::with_capacity(16);
    let mut value = [0u8; VALUE_LEN];
    for id in 0..KEYS {
        key.clear();
        write!(key, "key:{id:012}").expect("write to a Vec");
        for b in value.iter_mut() {
            // xorshift64: cheap, deterministic, good enough to defeat compression.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *b = SYMBOLS[(state >> 58) as usize];
        }
        let k = db.locate(&key);
        let mut w = ks.writer();
        db.write(k.shard, &w)
            .insert(&k, Item::new(Value::string(&value), now), &mut w);
    }
    ks
}

fn empty_keyspace() -> Arc<Keyspace> {
    Arc::new(Keyspace::new(Arc::new(SystemClock)))
}

/// The entries of `ks` as the snapshot job produces them, back to back, with their ends.
fn encoded_entries(ks: &Arc<Keyspace>) -> (SnapshotMeta, Vec<u8>, Vec<usize>) {
    let mut job = begin_snapshot(ks).expect("no snapshot running");
    let (mut flat, mut ends) = (Vec::new(), Vec::new());
    job.write(&mut |e: &[u8]| {
        flat.extend_from_slice(e);
        ends.push(flat.len());
        Ok(())
    })
    .expect("collect entries");
    let meta = SnapshotMeta {
        lsn: job.lsn(),
        created_unix_ms: ks.now_ms(),
        app: job.app_meta().to_vec(),
    };
    (meta, flat, ends)
}

/// Decompresses every block of `file` on this thread and hands each entry to `each`; returns
/// the number of entries.
fn for_each_entry(file: &SnapshotFile, mut each: impl FnMut(&[u8])) -> u64 {
    let reader = file.reader().expect("reader");
    let mut n = 0;
    for raw in reader.raw_blocks() {
        let block = raw.expect("block header").decode().expect("block");
        for entry in block.entries() {
            each(entry.expect("entry"));
            n += 1;
        }
    }
    n
}

/// Times `load` into a fresh keyspace per iteration; the keyspaces are dropped untimed.
fn time_loads(iters: u64, mut load: impl FnMut(&Arc<Keyspace>)) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let ks = empty_keyspace();
        let started = Instant::now();
        load(&ks);
        total += started.elapsed();
        assert_eq!(ks.db(0).map(|db| db.len()), Some(KEYS as usize));
        drop(ks);
    }
    total
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let dir = temp_dir("snapshot");
    let started = Instant::now();
    let ks = filled();
    let persist = Persistence::disabled(dir.path());
    persist.snapshot_now(&ks).expect("first save");
    let path = dir.path().join(SNAPSHOT);
    let file_bytes = std::fs::metadata(&path).expect("snapshot written").len();
    let summary = {
        let file = SnapshotFile::open(&path).expect("open the snapshot");
        verify(file.bytes()).expect("verify")
    };
    println!(
        "snapshot_io: {} entries, file {:.1} MiB, raw {:.1} MiB ({:.2}x), {} blocks; set up in {:.1} s",
        summary.entries,
        file_bytes as f64 / (1 << 20) as f64,
        summary.raw_bytes as f64 / (1 << 20) as f64,
        summary.raw_bytes as f64 / file_bytes as f64,
        summary.blocks,
        started.elapsed().as_secs_f64()
    );

    let mut g = c.benchmark_group("snapshot");
    g.sampling_mode(SamplingMode::Flat).sample_size(10);
    g.throughput(Throughput::Bytes(file_bytes));
    // Cases that take close to a second per iteration get the time 10 iterations need.
    let slow = Duration::from_secs(8);
    let fast = Duration::from_secs(3);
    g.measurement_time(slow);

    g.bench_function("write/save", |b| {
        b.iter(|| black_box(persist.snapshot_now(&ks).expect("save")))
    });

    let (meta, flat, ends) = encoded_entries(&ks);
    let other = dir.path().join("writer-only.snap");
    g.bench_function("write/writer_only", |b| {
        b.iter(|| {
            let mut w =
                SnapshotWriter::create(&other, &meta, SnapshotOptions::default()).expect("create");
            let mut start = 0;
            for &end in &ends {
                w.add(&flat[start..end]).expect("add");
                start = end;
            }
            black_box(w.finish().expect("finish"))
        })
    });
    drop((flat, ends));
    let _ = std::fs::remove_file(&other);

    g.measurement_time(fast);
    g.bench_function("load/verify", |b| {
        b.iter(|| {
            let file = SnapshotFile::open(&path).expect("open the snapshot");
            let summary = verify(file.bytes()).expect("verify");
            assert_eq!(summary.entries, KEYS);
            summary
        })
    });

    g.bench_function("load/decode_1thread", |b| {
        b.iter(|| {
            let file = SnapshotFile::open(&path).expect("open the snapshot");
            let n = for_each_entry(&file, |e| {
                black_box(decode_entry(e).expect("entry"));
            });
            assert_eq!(n, KEYS);
        })
    });

    g.measurement_time(slow);
    g.bench_function("load/into_keyspace_1thread", |b| {
        b.iter_custom(|iters| {
            time_loads(iters, |ks| {
                let file = SnapshotFile::open(&path).expect("open the snapshot");
                let meta = file.reader().expect("reader").meta().clone();
                let l = loader(ks, &meta.app).expect("metadata");
                for_each_entry(&file, |e| l.add(e).expect("entry"));
                l.finish(meta.lsn);
            })
        })
    });

    let config = Config {
        dir: dir.path().to_path_buf(),
        appendonly: false,
        snapshot: SNAPSHOT.into(),
        ..Config::default()
    };
    g.bench_function("load/startup", |b| {
        b.iter_custom(|iters| {
            time_loads(iters, |ks| {
                black_box(Persistence::open(&config, ks).expect("start-up load"));
            })
        })
    });
    g.finish();

    drop(ks);
    drop(dir);
    c.final_summary();
}
