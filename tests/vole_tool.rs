//! `vole-tool` end to end: the real binary run on log directories and snapshot files built
//! with the wal and engine crates, clean and damaged. Checks exit codes (0 clean, 1 damage,
//! 2 usage or I/O), that reports name the file and the position, that `wal repair` cuts only
//! a torn tail and never a readable record, and that exports parse back.

use std::path::{Path, PathBuf};
use std::process::Command;

use vole_engine::effect::{put_bytes, put_uvarint, RecordBuf, KIND_EFFECTS};
use vole_engine::persist::encode_entry;
use vole_engine::resp::{parse_value, Limits, Value as Resp};
use vole_engine::value::Value;
use vole_wal::log::{FsyncPolicy, Wal, WalOptions};
use vole_wal::record::RECORD_HEADER_LEN;
use vole_wal::segment::SEGMENT_HEADER_LEN;
use vole_wal::snapshot::{SnapshotMeta, SnapshotOptions, SnapshotWriter};
use vole_wal::storage::FsStorage;

/// A fresh, empty directory under the system temp dir, unique to this test.
fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vole-tool-test-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create temp dir");
    d
}

/// What one run of the binary produced.
struct Run {
    code: i32,
    out: String,
    err: String,
}

fn tool(args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_vole-tool"))
        .args(args)
        .output()
        .expect("run vole-tool");
    Run {
        code: output.status.code().expect("exit code"),
        out: String::from_utf8_lossy(&output.stdout).into_owned(),
        err: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// One SET effect as a record payload.
fn set_record(key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut b = RecordBuf::default();
    b.reset(0, 1_700_000_000_000 << 16);
    b.set(0, key, Value::string(value).as_ref(), 0);
    b.payload().to_vec()
}

/// Writes `records` (kind, payload) to `<data>/vole.aof/` through the real log, rolling to a
/// new segment past `segment_bytes`, and closes it. Returns the log directory.
fn write_log(data: &Path, records: &[(u8, Vec<u8>)], segment_bytes: u64) -> PathBuf {
    let dir = data.join("vole.aof");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let opts = WalOptions {
        segment_bytes,
        fsync: FsyncPolicy::No,
        ..WalOptions::default()
    };
    let (wal, _) = Wal::open(FsStorage::new(&dir), opts, 0).expect("open log");
    for (kind, payload) in records {
        wal.append(*kind, payload).expect("append");
    }
    wal.close().expect("close");
    drop(wal);
    dir
}

fn keyed(n: usize) -> Vec<(u8, Vec<u8>)> {
    (1..=n)
        .map(|i| {
            (
                KIND_EFFECTS,
                set_record(format!("key:{i}").as_bytes(), b"value"),
            )
        })
        .collect()
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "wal"))
        .collect();
    v.sort();
    v
}

/// Offset of record `index` (from 0) in a segment holding `records` from its start.
fn record_offset(records: &[(u8, Vec<u8>)], index: usize) -> usize {
    SEGMENT_HEADER_LEN
        + records[..index]
            .iter()
            .map(|(_, p)| RECORD_HEADER_LEN + p.len())
            .sum::<usize>()
}

fn flip(path: &Path, at: usize) {
    let mut bytes = std::fs::read(path).expect("read");
    bytes[at] ^= 0x01;
    std::fs::write(path, bytes).expect("write");
}

#[test]
fn clean_log_lists_verifies_and_dumps() {
    // Proves a clean multi-segment log lists and verifies with exit 0 from either the data
    // directory or the log directory, and dump shows every key, escaped, as text and JSON.
    let data = temp_dir("clean");
    let mut records = keyed(30);
    records.push((KIND_EFFECTS, set_record(b"bin\x00\xff", b"v\n")));
    let log = write_log(&data, &records, 400);
    let segs = segments(&log);
    assert!(segs.len() >= 3, "several segments: {segs:?}");

    let list = tool(&["wal", "list", s(&data)]);
    assert_eq!(list.code, 0, "{}{}", list.out, list.err);
    for seg in &segs {
        let name = seg.file_name().and_then(|n| n.to_str()).expect("name");
        assert!(list.out.contains(name), "{}", list.out);
    }
    assert!(list.out.contains("clean: "), "{}", list.out);
    assert!(list.out.contains("31 records, LSN 1..31"), "{}", list.out);

    let verify = tool(&["wal", "verify", s(&log)]);
    assert_eq!(verify.code, 0, "{}{}", verify.out, verify.err);
    assert!(
        verify.out.contains("every record decodes"),
        "{}",
        verify.out
    );

    let dump = tool(&["wal", "dump", s(&data)]);
    assert_eq!(dump.code, 0, "{}", dump.err);
    assert!(dump.out.contains("SET db=0 key=\"key:1\" value=\"value\""));
    assert!(dump.out.contains("key=\"key:30\""));
    assert!(
        dump.out.contains("key=\"bin\\x00\\xff\" value=\"v\\n\""),
        "{}",
        dump.out
    );
    assert_eq!(dump.out.matches("\nLSN ").count() + 1, 31);

    let json = tool(&[
        "wal",
        "dump",
        s(&data),
        "--format",
        "json",
        "--from",
        "5",
        "--limit",
        "3",
    ]);
    assert_eq!(json.code, 0, "{}", json.err);
    let lines: Vec<serde_json::Value> = json
        .out
        .lines()
        .map(|l| serde_json::from_str(l).expect("valid JSON"))
        .collect();
    let lsns: Vec<u64> = lines
        .iter()
        .map(|v| v["lsn"].as_u64().expect("lsn"))
        .collect();
    assert_eq!(lsns, vec![5, 6, 7]);
    assert_eq!(lines[0]["effects"][0]["op"], "SET");
    assert_eq!(lines[0]["effects"][0]["key"], "key:5");
    assert_eq!(
        lines[0]["effects"][0]["expire_at_ms"],
        serde_json::Value::Null
    );

    let last = tool(&["wal", "dump", s(&data), "--format", "json", "--from", "31"]);
    let v: serde_json::Value = serde_json::from_str(last.out.trim()).expect("json");
    assert_eq!(v["effects"][0]["key"]["base64"], "YmluAP8=");
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn verify_names_segment_and_offset_of_a_flipped_bit() {
    // Proves a bit flipped in a record in the middle of an older segment makes list and
    // verify exit 1 with the segment, the record's offset, the last good LSN and the reason.
    let data = temp_dir("flip");
    let records = keyed(40);
    let log = write_log(&data, &records, 1000);
    let segs = segments(&log);
    assert!(segs.len() >= 2, "{segs:?}");
    let first_seg = std::fs::read(&segs[0]).expect("read");
    // Records 0..k are in the first segment; damage the payload of record 3 (LSN 4).
    let at = record_offset(&records, 3);
    assert!(at + RECORD_HEADER_LEN + 2 < first_seg.len());
    flip(&segs[0], at + RECORD_HEADER_LEN + 2);
    let name = segs[0].file_name().and_then(|n| n.to_str()).expect("name");

    let verify = tool(&["wal", "verify", s(&data)]);
    assert_eq!(verify.code, 1, "{}{}", verify.out, verify.err);
    let line = verify
        .out
        .lines()
        .find(|l| l.contains(name))
        .unwrap_or_else(|| panic!("no line names {name}: {}", verify.out));
    assert!(line.contains(&format!("at offset {at}")), "{line}");
    assert!(line.contains("after LSN 3"), "{line}");
    assert!(line.contains("checksum mismatch"), "{line}");
    assert!(line.contains("whole records (LSN 5.."), "{line}");

    let list = tool(&["wal", "list", s(&data)]);
    assert_eq!(list.code, 1);
    assert!(
        list.out.contains(&format!("corrupt record at offset {at}")),
        "{}",
        list.out
    );

    let dump = tool(&["wal", "dump", s(&data)]);
    assert_eq!(dump.code, 1);
    assert!(
        dump.out.contains(&format!("CORRUPT {name} at offset {at}")),
        "{}",
        dump.out
    );
    assert!(
        dump.out.contains("key=\"key:40\""),
        "later segments are still dumped"
    );
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn repair_cuts_a_torn_tail_and_keeps_every_whole_record() {
    // Proves repair cuts a torn tail to the end of the last whole record (dry run changes
    // nothing), a second verify is clean, and every record before the tear is still dumped.
    let data = temp_dir("torn");
    let records = keyed(10);
    let log = write_log(&data, &records, 1 << 20);
    let seg = segments(&log).pop().expect("a segment");
    let full = std::fs::metadata(&seg).expect("stat").len();
    let keep = record_offset(&records, 9) as u64;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&seg)
        .and_then(|f| f.set_len(full - 5))
        .expect("tear");

    let verify = tool(&["wal", "verify", s(&data)]);
    assert_eq!(verify.code, 1, "{}", verify.out);
    assert!(
        verify
            .out
            .contains(&format!("at offset {keep} (after LSN 9): torn tail")),
        "{}",
        verify.out
    );

    let dry = tool(&["wal", "repair", s(&data), "--dry-run"]);
    assert_eq!(dry.code, 0, "{}{}", dry.out, dry.err);
    assert!(dry.out.contains("would truncate"), "{}", dry.out);
    assert_eq!(std::fs::metadata(&seg).expect("stat").len(), full - 5);

    let repair = tool(&["wal", "repair", s(&data)]);
    assert_eq!(repair.code, 0, "{}{}", repair.out, repair.err);
    assert!(
        repair.out.contains(&format!("to {keep} bytes")),
        "{}",
        repair.out
    );
    assert_eq!(std::fs::metadata(&seg).expect("stat").len(), keep);

    let again = tool(&["wal", "verify", s(&data)]);
    assert_eq!(again.code, 0, "{}", again.out);
    let dump = tool(&["wal", "dump", s(&data)]);
    assert_eq!(dump.code, 0, "{}", dump.err);
    for i in 1..=9 {
        assert!(
            dump.out.contains(&format!("key=\"key:{i}\"")),
            "key:{i} lost"
        );
    }
    assert!(!dump.out.contains("key:10"));
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn zeros_preallocated_after_the_last_record_are_clean() {
    // Proves a newest segment ending in zeros (what a server killed under `appendfsync
    // always` leaves) verifies clean and lists as preallocated, dump reads every record, and
    // a record write torn over those zeros is still found as a torn tail and repaired.
    let data = temp_dir("prealloc");
    let records = keyed(10);
    let log = write_log(&data, &records, 1 << 20);
    let seg = segments(&log).pop().expect("a segment");
    let full = std::fs::metadata(&seg).expect("stat").len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&seg)
        .and_then(|f| f.set_len(full + 65_536))
        .expect("extend");

    let verify = tool(&["wal", "verify", s(&data)]);
    assert_eq!(verify.code, 0, "{}", verify.out);
    let list = tool(&["wal", "list", s(&data)]);
    assert_eq!(list.code, 0, "{}", list.out);
    assert!(
        list.out.contains(&format!(
            "clean (65536 preallocated zero bytes after offset {full})"
        )),
        "{}",
        list.out
    );
    let dump = tool(&["wal", "dump", s(&data)]);
    assert_eq!(dump.code, 0, "{}", dump.err);
    assert!(dump.out.contains("key=\"key:10\""), "{}", dump.out);

    // Tear the last record: keep its first 9 bytes, zero the rest, as a torn write over
    // preallocated space leaves it.
    let keep = record_offset(&records, 9);
    let mut bytes = std::fs::read(&seg).expect("read");
    bytes[keep + 9..full as usize].fill(0);
    std::fs::write(&seg, &bytes).expect("write");
    let verify = tool(&["wal", "verify", s(&data)]);
    assert_eq!(verify.code, 1, "{}", verify.out);
    assert!(verify.out.contains("torn tail"), "{}", verify.out);
    let repair = tool(&["wal", "repair", s(&data)]);
    assert_eq!(repair.code, 0, "{}{}", repair.out, repair.err);
    assert_eq!(std::fs::metadata(&seg).expect("stat").len(), keep as u64);
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn repair_removes_a_newest_segment_whose_header_is_torn() {
    // Proves a newest segment cut inside its header (so no record was ever written to it) is
    // removed, and every record of the older segments is kept.
    let data = temp_dir("tornheader");
    let records = keyed(12);
    let log = write_log(&data, &records, 300);
    let segs = segments(&log);
    assert!(segs.len() >= 2, "{segs:?}");
    let newest = segs.last().expect("newest");
    let kept: usize = {
        let list = tool(&["wal", "list", s(&data)]);
        let name = newest.file_name().and_then(|n| n.to_str()).expect("name");
        let row = list.out.lines().find(|l| l.starts_with(name)).expect("row");
        let first: usize = row
            .split_whitespace()
            .nth(1)
            .expect("col")
            .parse()
            .expect("lsn");
        first - 1
    };
    std::fs::OpenOptions::new()
        .write(true)
        .open(newest)
        .and_then(|f| f.set_len(10))
        .expect("tear header");
    assert_eq!(tool(&["wal", "verify", s(&data)]).code, 1);

    let repair = tool(&["wal", "repair", s(&data)]);
    assert_eq!(repair.code, 0, "{}{}", repair.out, repair.err);
    assert!(repair.out.contains("removed"), "{}", repair.out);
    assert!(!newest.exists());
    let dump = tool(&["wal", "dump", s(&data)]);
    assert_eq!(dump.code, 0, "{}", dump.err);
    for i in 1..=kept {
        assert!(
            dump.out.contains(&format!("key=\"key:{i}\"")),
            "key:{i} lost"
        );
    }
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn repair_refuses_damage_in_the_middle() {
    // Proves repair changes nothing and exits 1 when a record in the middle is damaged, and
    // says what to do.
    let data = temp_dir("midrepair");
    let records = keyed(10);
    let log = write_log(&data, &records, 1 << 20);
    let seg = segments(&log).pop().expect("a segment");
    flip(&seg, record_offset(&records, 4) + RECORD_HEADER_LEN + 1);
    let before = std::fs::read(&seg).expect("read");

    let repair = tool(&["wal", "repair", s(&data)]);
    assert_eq!(repair.code, 1, "{}{}", repair.out, repair.err);
    assert!(repair.out.contains("not repaired"), "{}", repair.out);
    assert!(repair.out.contains("What to do"), "{}", repair.out);
    assert_eq!(std::fs::read(&seg).expect("read"), before, "file untouched");
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn repair_refuses_a_length_field_that_only_looks_torn() {
    // Proves a damaged length that runs past the end of the newest segment is not cut as a
    // torn tail, because whole records follow it (the recovery scan reports it as damage).
    let data = temp_dir("badlen");
    let records = keyed(10);
    let log = write_log(&data, &records, 1 << 20);
    let seg = segments(&log).pop().expect("a segment");
    let at = record_offset(&records, 3);
    let mut bytes = std::fs::read(&seg).expect("read");
    bytes[at..at + 4].copy_from_slice(&1_000_000u32.to_le_bytes());
    std::fs::write(&seg, &bytes).expect("write");

    let repair = tool(&["wal", "repair", s(&data)]);
    assert_eq!(repair.code, 1, "{}{}", repair.out, repair.err);
    assert!(
        repair.out.contains("record length damaged"),
        "{}",
        repair.out
    );
    assert!(
        repair.out.contains("6 whole records (LSN 5..10)"),
        "{}",
        repair.out
    );
    assert_eq!(std::fs::read(&seg).expect("read"), bytes, "file untouched");
    let _ = std::fs::remove_dir_all(&data);
}

#[cfg(target_os = "linux")]
#[test]
fn repair_refuses_a_log_that_is_open() {
    // Proves repair exits 2 without changing anything while another process (this test,
    // standing in for a running server) has the log's active segment open.
    let data = temp_dir("inuse");
    let log = write_log(&data, &keyed(3), 1 << 20);
    let (wal, _) = Wal::open(FsStorage::new(&log), WalOptions::default(), 0).expect("open");
    let lsn = wal
        .append(KIND_EFFECTS, &set_record(b"k", b"v"))
        .expect("append");
    wal.wait_durable(lsn).expect("durable");
    let repair = tool(&["wal", "repair", s(&data)]);
    assert_eq!(repair.code, 2, "{}{}", repair.out, repair.err);
    assert!(repair.err.contains("in use"), "{}", repair.err);
    wal.close().expect("close");
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn undecodable_records_are_reported_with_their_lsn() {
    // Proves a record whose effects do not decode is printed as such by dump and named by
    // verify, both exiting 1, while the records around it are shown.
    let data = temp_dir("undecodable");
    let mut records = keyed(2);
    records.push((9, b"from the future".to_vec()));
    records.extend(keyed(1));
    write_log(&data, &records, 1 << 20);

    let dump = tool(&["wal", "dump", s(&data)]);
    assert_eq!(dump.code, 1, "{}{}", dump.out, dump.err);
    assert!(
        dump.out.contains("LSN 3 kind=9 UNDECODABLE"),
        "{}",
        dump.out
    );
    assert!(dump.out.contains("LSN 4 "), "{}", dump.out);
    let verify = tool(&["wal", "verify", s(&data)]);
    assert_eq!(verify.code, 1);
    let at = record_offset(&records, 2);
    assert!(
        verify.out.contains(&format!(
            "at offset {at} (LSN 3): record kind 9 does not decode"
        )),
        "{}",
        verify.out
    );
    let _ = std::fs::remove_dir_all(&data);
}

/// The namespace table as the engine stores it in a snapshot's metadata.
fn app_meta(named: &[(u32, &str)]) -> Vec<u8> {
    let mut app = vec![1u8];
    put_uvarint(&mut app, named.len() as u64);
    for (id, name) in named {
        put_uvarint(&mut app, u64::from(*id));
        put_bytes(&mut app, name.as_bytes());
    }
    app
}

const CREATED_MS: i64 = 1_700_000_000_000;
const EXPIRE_MS: i64 = 1_900_000_000_000;

/// A snapshot at LSN 42 with small blocks: keys in db 0 (one with expiry, one binary), db 3,
/// and the named namespace "staging" (id 16).
fn write_snapshot(path: &Path) {
    let meta = SnapshotMeta {
        lsn: 42,
        created_unix_ms: CREATED_MS,
        app: app_meta(&[(16, "staging")]),
    };
    let opts = SnapshotOptions {
        block_bytes: 40,
        ..SnapshotOptions::default()
    };
    let mut w = SnapshotWriter::create(path, &meta, opts).expect("create");
    let entries: [(u32, &[u8], &[u8], i64); 6] = [
        (0, b"a", b"1", 0),
        (0, b"b", b"2", EXPIRE_MS),
        (0, b"bin\x00\xff", b"\xfe", 0),
        (3, b"c", b"3", 0),
        (
            3,
            b"d",
            b"a much longer value that gets a block of its own",
            0,
        ),
        (16, b"n", b"x", 0),
    ];
    for (db, key, value, expire) in entries {
        let mut e = Vec::new();
        encode_entry(&mut e, db, key, Value::string(value).as_ref(), expire);
        w.add(&e).expect("add");
    }
    w.finish().expect("finish");
}

fn resp_commands(bytes: &[u8]) -> Vec<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let (v, used) = parse_value(&bytes[pos..], &Limits::default())
            .expect("valid RESP")
            .expect("whole command");
        let Resp::Array(items) = v else {
            panic!("not an array: {v:?}");
        };
        out.push(
            items
                .into_iter()
                .map(|i| match i {
                    Resp::Bulk(b) => b.to_vec(),
                    other => panic!("not a bulk: {other:?}"),
                })
                .collect(),
        );
        pos += used;
    }
    out
}

#[test]
fn snapshot_info_verify_and_exports() {
    // Proves info shows the header facts, verify is clean, the JSON export is one binary-safe
    // object per key, and the RESP export parses back to SELECT/SET/PEXPIREAT commands that
    // skip the named namespace with a warning.
    let dir = temp_dir("snap");
    let snap = dir.join("vole.snap");
    write_snapshot(&snap);

    let info = tool(&["snapshot", "info", s(&snap)]);
    assert_eq!(info.code, 0, "{}{}", info.out, info.err);
    assert!(info.out.contains("lsn:         42"), "{}", info.out);
    assert!(
        info.out.contains("created:     2023-11-14T22:13:20.000Z"),
        "{}",
        info.out
    );
    assert!(info.out.contains("entries:     6"), "{}", info.out);
    assert!(info.out.contains("\"staging\" (id 16)"), "{}", info.out);

    let verify = tool(&["snapshot", "verify", s(&snap)]);
    assert_eq!(verify.code, 0, "{}{}", verify.out, verify.err);
    assert!(verify.out.contains("clean: 6 entries"), "{}", verify.out);

    let json = tool(&["snapshot", "export", s(&snap), "--format", "json"]);
    assert_eq!(json.code, 0, "{}", json.err);
    let rows: Vec<serde_json::Value> = json
        .out
        .lines()
        .map(|l| serde_json::from_str(l).expect("valid JSON"))
        .collect();
    assert_eq!(rows.len(), 6);
    assert_eq!(
        rows[1],
        serde_json::json!({"db": 0, "namespace": "default", "key": "b", "value": "2",
            "type": "string", "expire_at_ms": EXPIRE_MS})
    );
    assert_eq!(rows[2]["key"]["base64"], "YmluAP8=");
    assert_eq!(rows[2]["value"]["base64"], "/g==");
    assert_eq!(rows[3]["namespace"], "3");
    assert_eq!(rows[5]["namespace"], "staging");

    let out = dir.join("export.resp");
    let resp = tool(&[
        "snapshot",
        "export",
        s(&snap),
        "--format",
        "resp",
        "--out",
        s(&out),
    ]);
    assert_eq!(resp.code, 0, "{}", resp.err);
    assert!(
        resp.err.contains("skipped 1 key of namespace \"staging\""),
        "{}",
        resp.err
    );
    let cmds = resp_commands(&std::fs::read(&out).expect("read export"));
    let want: Vec<Vec<&[u8]>> = vec![
        vec![b"SELECT", b"0"],
        vec![b"SET", b"a", b"1"],
        vec![b"SET", b"b", b"2"],
        vec![b"PEXPIREAT", b"b", b"1900000000000"],
        vec![b"SET", b"bin\x00\xff", b"\xfe"],
        vec![b"SELECT", b"3"],
        vec![b"SET", b"c", b"3"],
        vec![
            b"SET",
            b"d",
            b"a much longer value that gets a block of its own",
        ],
    ];
    let want: Vec<Vec<Vec<u8>>> = want
        .into_iter()
        .map(|c| c.into_iter().map(<[u8]>::to_vec).collect())
        .collect();
    assert_eq!(cmds, want);
    assert!(!dir.join("export.resp.tmp").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn snapshot_verify_reports_a_flipped_byte() {
    // Proves a byte flipped inside a block makes verify exit 1 naming the block index and
    // offset, while a damaged trailer is refused up front by info and verify alike.
    let dir = temp_dir("snapflip");
    let snap = dir.join("vole.snap");
    write_snapshot(&snap);
    let bytes = std::fs::read(&snap).expect("read");
    let app_len = u32::from_le_bytes(bytes[28..32].try_into().expect("4 bytes")) as usize;
    let block0 = 36 + app_len;
    let len0 = u32::from_le_bytes(bytes[block0..block0 + 4].try_into().expect("4 bytes")) as usize;
    let block1 = block0 + 16 + len0;
    flip(&snap, block1 + 16 + 2);

    let verify = tool(&["snapshot", "verify", s(&snap)]);
    assert_eq!(verify.code, 1, "{}{}", verify.out, verify.err);
    assert!(
        verify
            .out
            .contains(&format!("block 1 at offset {block1}: checksum mismatch")),
        "{}",
        verify.out
    );
    assert!(verify.out.contains(s(&snap)), "{}", verify.out);

    let json = tool(&["snapshot", "export", s(&snap), "--format", "json"]);
    assert_eq!(json.code, 1, "{}", json.err);
    assert!(json.err.contains("block 1"), "{}", json.err);

    std::fs::write(&snap, &bytes).expect("restore");
    flip(&snap, bytes.len() - 20);
    let info = tool(&["snapshot", "info", s(&snap)]);
    assert_eq!(info.code, 1, "{}{}", info.out, info.err);
    assert!(info.out.contains("trailer"), "{}", info.out);
    assert_eq!(tool(&["snapshot", "verify", s(&snap)]).code, 1);
    assert_eq!(
        tool(&["snapshot", "info", s(&dir.join("missing.snap"))]).code,
        2
    );
    let _ = std::fs::remove_dir_all(&dir);
}
