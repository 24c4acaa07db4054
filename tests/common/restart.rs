//! Restart equivalence: what a set of read commands answers must be identical, byte for byte,
//! before a restart and after it, whether the restart loads a snapshot or replays the log.

use super::{diff::words, temp_dir, Raw, Vole};
use vole_engine::resp::Value;

fn run_all(raw: &mut Raw, lines: &[&str]) -> Vec<Value> {
    lines
        .iter()
        .map(|line| {
            let w = words(line);
            let a: Vec<&str> = w.iter().map(String::as_str).collect();
            raw.cmd(&a)
        })
        .collect()
}

fn same(tag: &str, how: &str, checks: &[&str], before: &[Value], after: &[Value]) {
    for ((line, b), a) in checks.iter().zip(before).zip(after) {
        assert_eq!(b, a, "{tag}: `{line}` differs after {how}");
    }
}

/// Runs `writes`, records the replies to `checks`, then checks they are unchanged
/// 1. after a graceful restart (a snapshot is loaded),
/// 2. after `kill -9` with the writes only in the log (`appendfsync always`, snapshot only at
///    start), so the state comes from replaying the log,
/// 3. after `kill -9` on top of a snapshot plus more logged writes (`more_writes`).
pub fn check(tag: &str, writes: &[&str], more_writes: &[&str], checks: &[&str]) {
    let flags = ["--appendfsync", "always"];
    // 1. snapshot
    let dir = temp_dir(&format!("{tag}-snap"));
    let v = Vole::start_in(&dir, &flags);
    let mut raw = v.raw();
    for r in run_all(&mut raw, writes) {
        assert!(
            !matches!(r, Value::Error(_)),
            "{tag}: a write failed: {r:?}"
        );
    }
    let before = run_all(&mut raw, checks);
    drop(raw);
    assert_eq!(v.shutdown(&[]), Some(0));
    let v = Vole::start_in(&dir, &flags);
    let after = run_all(&mut v.raw(), checks);
    same(tag, "a snapshot load", checks, &before, &after);

    // 3. the snapshot plus more writes in the log, then kill -9.
    let mut raw = v.raw();
    for r in run_all(&mut raw, more_writes) {
        assert!(
            !matches!(r, Value::Error(_)),
            "{tag}: a write failed: {r:?}"
        );
    }
    let before2 = run_all(&mut raw, checks);
    drop(raw);
    v.kill9();
    let v = Vole::start_in(&dir, &flags);
    let after2 = run_all(&mut v.raw(), checks);
    same(tag, "snapshot + log replay", checks, &before2, &after2);
    drop(v);
    let _ = std::fs::remove_dir_all(&dir);

    // 2. log only.
    let dir = temp_dir(&format!("{tag}-log"));
    let v = Vole::start_in(&dir, &flags);
    let mut raw = v.raw();
    run_all(&mut raw, writes);
    run_all(&mut raw, more_writes);
    let before3 = run_all(&mut raw, checks);
    drop(raw);
    v.kill9();
    let v = Vole::start_in(&dir, &flags);
    let after3 = run_all(&mut v.raw(), checks);
    same(tag, "log-only replay", checks, &before3, &after3);
    drop(v);
    let _ = std::fs::remove_dir_all(&dir);
}
