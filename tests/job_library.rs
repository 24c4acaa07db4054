//! Real job libraries against Vole, each run also against redis-server with the outcomes
//! compared. bee-queue (from npm) keeps its queues with Lua scripts (EVALSHA with cjson-free
//! scripts over lists, hashes, sets and sorted sets), so a run of it exercises scripting end to
//! end. BullMQ adds streams: its scripts XADD every job event to an events stream (trimmed with
//! MAXLEN ~) that QueueEvents follows with XREAD BLOCK, and its scripts use cjson and cmsgpack.
//! Needs node and npm (the package registry); without them the tests print SKIPPED.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Redis, Vole};

fn run_with_deadline(mut cmd: Command, limit: Duration) -> Option<(bool, String, String)> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            _ => {
                let _ = child.kill();
                break;
            }
        }
    }
    let out = child.wait_with_output().ok()?;
    Some((
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// A directory `vole-js-<name>` under the temp dir with the npm `packages` installed (cached
/// between runs) and `script` written to `smoke.js`, or None (SKIPPED).
fn install(name: &str, packages: &[&str], script: &str) -> Option<PathBuf> {
    let has = |tool: &str| Command::new(tool).arg("--version").output().is_ok();
    if !has("node") || !has("npm") {
        eprintln!("SKIPPED: node/npm not installed");
        return None;
    }
    let dir = std::env::temp_dir().join(format!("vole-js-{name}"));
    // "bullmq@6.7.0" -> node_modules/bullmq (a leading @ belongs to a scoped name).
    let installed = |spec: &&str| {
        let bare = match spec[1..].find('@') {
            Some(at) => &spec[..at + 1],
            None => spec,
        };
        dir.join("node_modules").join(bare).exists()
    };
    if !packages.iter().all(installed) {
        let _ = std::fs::create_dir_all(&dir);
        let mut npm = Command::new("npm");
        npm.arg("install")
            .args(packages)
            .args(["--no-audit", "--no-fund", "--prefix"])
            .arg(&dir);
        match run_with_deadline(npm, Duration::from_secs(180)) {
            Some((true, _, _)) => {}
            other => {
                eprintln!("SKIPPED: npm install {packages:?} failed: {other:?}");
                return None;
            }
        }
    }
    std::fs::write(dir.join("smoke.js"), script).ok()?;
    Some(dir)
}

/// Run `dir`'s smoke.js against the server on `port`; its stdout (one JSON line).
fn run_smoke(dir: &Path, port: u16) -> String {
    let mut node = Command::new("node");
    node.arg(dir.join("smoke.js"))
        .arg(port.to_string())
        .current_dir(dir);
    let (ok, out, err) = run_with_deadline(node, Duration::from_secs(60)).expect("run node");
    assert!(
        ok,
        "{} run failed:\nstdout: {out}\nstderr: {err}",
        dir.display()
    );
    out.trim().to_string()
}

/// Just enough of the smoke script's one-line JSON.
mod serde_json_lite {
    #[derive(Debug, PartialEq)]
    pub struct Outcome {
        pub completed: i64,
        pub retried: i64,
        pub succeeded: i64,
        pub failed: i64,
    }

    /// The first integer `"name":N` in `s`.
    pub fn field(s: &str, name: &str) -> i64 {
        let key = format!("\"{name}\":");
        let at = s
            .find(&key)
            .unwrap_or_else(|| panic!("{name} missing in {s}"))
            + key.len();
        let digits: String = s[at..].chars().take_while(|c| c.is_ascii_digit()).collect();
        digits.parse().unwrap_or_else(|_| panic!("{name} in {s}"))
    }

    pub fn parse(s: &str) -> Outcome {
        Outcome {
            completed: field(s, "completed"),
            retried: field(s, "retried"),
            succeeded: field(s, "succeeded"),
            failed: field(s, "failed"),
        }
    }
}

#[test]
fn bee_queue_processes_retries_and_delays_jobs_as_on_redis() {
    let Some(dir) = install(
        "bee-queue",
        &["bee-queue@1"],
        include_str!("js/bee-queue-smoke.js"),
    ) else {
        return;
    };
    let vole = Vole::start(&[]);
    let got = serde_json_lite::parse(&run_smoke(&dir, vole.addr.port()));
    assert_eq!(
        got,
        serde_json_lite::Outcome {
            completed: 21,
            retried: 4,
            succeeded: 21,
            failed: 0
        }
    );
    if let Some(redis) = Redis::start() {
        assert_eq!(
            serde_json_lite::parse(&run_smoke(&dir, redis.addr.port())),
            got
        );
    }
}

// BullMQ: retries, a delay, priorities, a scheduler and QueueEvents (XREAD BLOCK) end as on Redis.
#[test]
fn bullmq_processes_jobs_and_streams_events_as_on_redis() {
    let Some(dir) = install(
        "bullmq",
        &["bullmq@6.7.0", "ioredis@5.11.1"],
        include_str!("js/bullmq-smoke.js"),
    ) else {
        return;
    };
    let vole = Vole::start(&[]);
    let got = run_smoke(&dir, vole.addr.port());
    // 50 plain jobs (5 fail once and are retried), 1 delayed, 3 prioritized, 3 scheduled.
    assert_eq!(serde_json_lite::field(&got, "completed"), 57, "{got}");
    assert_eq!(serde_json_lite::field(&got, "failedAttempts"), 5, "{got}");
    assert_eq!(serde_json_lite::field(&got, "completedEvents"), 57, "{got}");
    if let Some(redis) = Redis::start() {
        assert_eq!(got, run_smoke(&dir, redis.addr.port()));
    }
}
