//! RESP codec micro-benchmark: request parsing and reply encoding (`vole_engine::resp`).
//!
//! Parsing goes through [`RequestParser`], the parser the server's connection loop keeps per
//! client, reading every request in the buffer until it asks for more bytes, exactly as
//! `server/src/conn.rs` does after a read:
//!
//! - `parse/set_x16`: one read holding 16 pipelined `SET key:%012d <64-byte value>` (throughput
//!   in commands).
//! - `parse/get_x16`: 16 pipelined `GET key:%012d` (commands).
//! - `parse/bulk_1mb`: one `SET` whose value is 1 MiB, all in the buffer at once (bytes).
//!   The parser is zero-copy: it reads the headers and splits the buffer, so the time is
//!   independent of the value's size and the bytes/s figure only says so.
//! - `parse/bulk_1mb_16k_reads`: the same request arriving in 16 KiB reads, the parser called
//!   after each one, as it is on a socket (bytes; includes copying each piece into a buffer
//!   whose pages were touched beforehand, as a socket read into it would).
//!
//! Each parse iteration starts from a fresh copy of the request bytes (for the 16 KiB case, an
//! empty buffer) made outside the timing. The two 1 MiB cases take 50 samples instead of 100.
//!
//! Encoding is [`encode`] into a reused output buffer, for RESP2 and RESP3 (bytes of output):
//! `encode/bulk_64b`, `encode/int`, `encode/array_100x64b` (an MGET-sized array of 64-byte
//! bulks), `encode/map_50x64b` (HGETALL-shaped: a map in RESP3, a flat array in RESP2).
//!
//! The bench uses jemalloc as its global allocator, as the `vole` binary does.
//!
//! Reproduce (figures in docs/micro-benchmarks.md):
//! `cargo bench -p vole-engine --bench resp_codec`
//! (the file sets 1 s warm-up and 3 s measurement per case; criterion flags after `--` override).

#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use criterion::{BatchSize, Criterion, Throughput};
use vole_engine::resp::{encode, encode_command, Limits, Proto, RequestParser};
use vole_engine::Reply;

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Commands per pipelined read.
const PIPELINE: usize = 16;
/// Bytes in a small value.
const VALUE_LEN: usize = 64;
/// Bytes in the large value.
const LARGE_LEN: usize = 1 << 20;
/// Bytes per socket read in the chunked case (the server reads at most this much at a time
/// for a request that is not a big bulk).
const READ_LEN: usize = 16 << 10;

fn key(id: u64) -> Vec<u8> {
    format!("key:{id:012}").into_bytes()
}

fn value(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| b'a' + ((i as u8 ^ seed) % 26)).collect()
}

/// Parses every complete request in `buf`; returns how many there were.
fn parse_all(parser: &mut RequestParser, buf: &mut BytesMut, limits: &Limits) -> usize {
    let mut n = 0;
    while let Some(args) = parser.parse(buf, limits).expect("valid request") {
        black_box(&args);
        n += 1;
    }
    n
}

fn bench_parse(c: &mut Criterion) {
    let limits = Limits::default();
    let mut g = c.benchmark_group("parse");

    let mut sets = BytesMut::new();
    let mut gets = BytesMut::new();
    for i in 0..PIPELINE as u64 {
        let k = key(12_345 + i);
        encode_command(&[&b"SET"[..], &k, &value(VALUE_LEN, i as u8)], &mut sets);
        encode_command(&[&b"GET"[..], &k], &mut gets);
    }
    for (name, wire) in [("set_x16", sets.freeze()), ("get_x16", gets.freeze())] {
        let mut parser = RequestParser::new();
        g.throughput(Throughput::Elements(PIPELINE as u64));
        g.bench_function(name, |b| {
            b.iter_batched(
                || BytesMut::from(&wire[..]),
                |mut buf| {
                    let n = parse_all(&mut parser, &mut buf, &limits);
                    assert_eq!(n, PIPELINE);
                    buf
                },
                BatchSize::SmallInput,
            )
        });
    }

    let mut large = BytesMut::new();
    encode_command(
        &[&b"SET"[..], &key(12_345), &value(LARGE_LEN, 7)],
        &mut large,
    );
    let large: Bytes = large.freeze();
    let mut parser = RequestParser::new();
    // Each iteration takes a millisecond of untimed setup: fewer samples keep the run short.
    g.sample_size(50);
    g.throughput(Throughput::Bytes(large.len() as u64));
    g.bench_function("bulk_1mb", |b| {
        b.iter_batched(
            || BytesMut::from(&large[..]),
            |mut buf| {
                assert_eq!(parse_all(&mut parser, &mut buf, &limits), 1);
                buf
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("bulk_1mb_16k_reads", |b| {
        b.iter_batched(
            || {
                // Touch the pages first: a fresh buffer's page faults are the allocator's
                // cost, not the parser's.
                let mut buf = BytesMut::with_capacity(large.len());
                buf.resize(large.len(), 0xAA);
                buf.clear();
                buf
            },
            |mut buf| {
                let mut n = 0;
                for piece in large.chunks(READ_LEN) {
                    buf.extend_from_slice(piece);
                    n += parse_all(&mut parser, &mut buf, &limits);
                }
                assert_eq!(n, 1);
                buf
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn bench_encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode");
    let bulk = |seed: u8| Reply::Bulk(Bytes::from(value(VALUE_LEN, seed)));
    let replies = [
        ("bulk_64b", bulk(1)),
        ("int", Reply::Int(1_234_567_890)),
        (
            "array_100x64b",
            Reply::Array((0..100).map(|i| bulk(i as u8)).collect()),
        ),
        (
            "map_50x64b",
            Reply::Map(
                (0..50)
                    .map(|i| (bulk(i as u8), bulk(i as u8 ^ 0x55)))
                    .collect(),
            ),
        ),
    ];
    let mut out = BytesMut::with_capacity(64 << 10);
    for (name, reply) in &replies {
        for (proto, tag) in [(Proto::Resp2, "resp2"), (Proto::Resp3, "resp3")] {
            out.clear();
            encode(reply, proto, &mut out);
            g.throughput(Throughput::Bytes(out.len() as u64));
            g.bench_function(format!("{name}/{tag}"), |b| {
                b.iter(|| {
                    out.clear();
                    encode(black_box(reply), proto, &mut out);
                    black_box(out.len())
                })
            });
        }
    }
    g.finish();
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    bench_parse(&mut c);
    bench_encode(&mut c);
    c.final_summary();
}
