//! Write-ahead log micro-benchmark: appending records with and without fsync
//! (`vole_wal::log::Wal` over `FsStorage`, in a fresh directory under the system temp dir).
//!
//! Every record has a 100-byte payload (117 bytes framed). Cases, throughput in records:
//!
//! - `append/no`: policy `no`, `Wal::append` alone: the record is framed (CRC32) and copied
//!   into the pending buffer; the flusher thread writes it to the page cache within ~1 ms.
//!   This is what a write command pays under `appendfsync no` or `everysec`. Each sample ends
//!   with an untimed `sync_now`, so a backlog the flusher has not written is not timed: the
//!   bench also prints a `sustained` line (2M appends timed until the flusher has written
//!   them): the rate the log sustains.
//! - `append/always_wait_each`: policy `always`, `append` then `wait_durable` on its LSN: one
//!   write and one fsync per record, what a single client under `appendfsync always` waits for.
//! - `append/always_batch64`: policy `always`, 64 appends then `wait_durable` on the last:
//!   group commit, 64 records sharing the flusher's sync rounds (normally one or two; the
//!   bench prints the average fsyncs per batch).
//! - `append/no_batch64_sync_now`: policy `no`, 64 appends then `sync_now`: one explicit sync
//!   per 64 records. Under `no` (and `everysec`) the flusher lets appends gather for
//!   `WRITE_COALESCE` (1 ms) before writing, and a sync request that arrives during that sleep
//!   waits it out, so this case shows the coalescing delay more than the fsync.
//!
//! The log rolls over at 8 MiB segments; after every criterion sample the bench sets a
//! retention floor at the last LSN and applies retention (untimed), so the directory never
//! holds more than a few segments. The directory is removed at the end.
//!
//! Reproduce (figures in docs/micro-benchmarks.md):
//! `cargo bench -p vole-wal --bench wal_append`
//! (the file sets 1 s warm-up and 3 s measurement per case, 10 samples for the fsync cases;
//! criterion flags after `--` override). Fsync cost depends entirely on the disk under
//! `std::env::temp_dir()` (set `TMPDIR` to measure another one).

#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput};
use vole_wal::log::{FsyncPolicy, Wal, WalOptions};
use vole_wal::record::RECORD_HEADER_LEN;
use vole_wal::storage::FsStorage;

/// Payload bytes per record.
const PAYLOAD_LEN: usize = 100;
/// Records per group-commit batch.
const BATCH: usize = 64;
/// Segment size: small, so retention can keep the directory small while `no` runs fast.
const SEGMENT_BYTES: u64 = 8 << 20;
/// Record kind (opaque to the log).
const KIND: u8 = 1;

/// A fresh directory under the system temp dir, removed on drop.
fn temp_dir(tag: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("vole-bench-{tag}-"))
        .tempdir()
        .expect("create the bench directory")
}

fn open(dir: &tempfile::TempDir, name: &str, fsync: FsyncPolicy) -> Arc<Wal<FsStorage>> {
    let path = dir.path().join(name);
    std::fs::create_dir_all(&path).expect("create the log directory");
    let opts = WalOptions {
        segment_bytes: SEGMENT_BYTES,
        fsync,
        ..WalOptions::default()
    };
    let (wal, _report) = Wal::open(FsStorage::new(path), opts, 1).expect("open the log");
    wal
}

/// Drops every segment but the newest (untimed housekeeping between samples).
fn trim(wal: &Wal<FsStorage>) {
    wal.set_retention_floor("bench", Some(wal.last_lsn()));
    wal.apply_retention().expect("retention");
}

/// Runs `op` `iters` times, timing it; then trims the log.
fn timed(wal: &Wal<FsStorage>, iters: u64, mut op: impl FnMut()) -> Duration {
    let started = Instant::now();
    for _ in 0..iters {
        op();
    }
    let elapsed = started.elapsed();
    // Let the flusher catch up so the next sample does not pay for this one's backlog.
    wal.sync_now().expect("sync");
    trim(wal);
    elapsed
}

/// Prints how fast records reach the storage (the page cache, under `no`) when appended
/// flat out: `append/no` times only the caller, and the flusher must keep up behind it.
fn sustained(wal: &Wal<FsStorage>, payload: &[u8]) {
    const RECORDS: u64 = 2_000_000;
    let started = Instant::now();
    let mut last = 0;
    for _ in 0..RECORDS {
        last = wal.append(KIND, payload).expect("append");
    }
    let appended = started.elapsed();
    while wal.written_lsn() < last {
        std::thread::yield_now();
    }
    let written = started.elapsed();
    let framed = (PAYLOAD_LEN + RECORD_HEADER_LEN) as f64 * RECORDS as f64;
    println!(
        "append/no sustained: {RECORDS} records appended in {:.0} ms, written in {:.0} ms: \
         {:.2} M records/s, {:.0} MiB/s to the storage",
        appended.as_secs_f64() * 1e3,
        written.as_secs_f64() * 1e3,
        RECORDS as f64 / written.as_secs_f64() / 1e6,
        framed / written.as_secs_f64() / (1 << 20) as f64
    );
    wal.sync_now().expect("sync");
    trim(wal);
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let dir = temp_dir("wal");
    let payload: Vec<u8> = (0..PAYLOAD_LEN).map(|i| (i * 7 + 3) as u8).collect();
    let mut g = c.benchmark_group("append");

    let wal = open(&dir, "no", FsyncPolicy::No);
    g.throughput(Throughput::Elements(1));
    g.bench_function("no", |b| {
        b.iter_custom(|iters| {
            timed(&wal, iters, || {
                black_box(wal.append(KIND, &payload).expect("append"));
            })
        })
    });

    sustained(&wal, &payload);

    // The fsync cases take milliseconds per iteration: flat sampling, 10 samples.
    g.sampling_mode(SamplingMode::Flat).sample_size(10);
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("no_batch64_sync_now", |b| {
        b.iter_custom(|iters| {
            timed(&wal, iters, || {
                for _ in 0..BATCH {
                    wal.append(KIND, &payload).expect("append");
                }
                black_box(wal.sync_now().expect("sync"));
            })
        })
    });
    wal.close().expect("close");
    drop(wal);

    let wal = open(&dir, "always", FsyncPolicy::Always);
    g.throughput(Throughput::Elements(1));
    g.bench_function("always_wait_each", |b| {
        b.iter_custom(|iters| {
            timed(&wal, iters, || {
                let lsn = wal.append(KIND, &payload).expect("append");
                wal.wait_durable(lsn).expect("durable");
            })
        })
    });
    g.throughput(Throughput::Elements(BATCH as u64));
    let (fsyncs_before, mut batches) = (wal.status().fsyncs, 0u64);
    g.bench_function("always_batch64", |b| {
        b.iter_custom(|iters| {
            batches += iters;
            timed(&wal, iters, || {
                let mut lsn = 0;
                for _ in 0..BATCH {
                    lsn = wal.append(KIND, &payload).expect("append");
                }
                wal.wait_durable(lsn).expect("durable");
            })
        })
    });
    let fsyncs = wal.status().fsyncs - fsyncs_before;
    println!(
        "append/always_batch64: {:.2} fsyncs per batch of {BATCH} ({fsyncs} in {batches} batches)",
        fsyncs as f64 / batches.max(1) as f64
    );
    g.finish();
    wal.close().expect("close");
    drop(wal);
    drop(dir);
    c.final_summary();
}
