//! A real job library against Vole: bee-queue (from npm) keeps its queues with Lua scripts
//! (EVALSHA with cjson-free scripts over lists, hashes, sets and sorted sets), so a run of it
//! exercises scripting end to end. The same run goes to redis-server and the outcomes must
//! match. Needs node and npm (the package registry); without them the test prints SKIPPED.
//! (BullMQ needs streams, which land with the streams issue.)

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

/// A directory with bee-queue installed (cached between runs), or None (SKIPPED).
fn bee_queue() -> Option<PathBuf> {
    let has = |tool: &str| Command::new(tool).arg("--version").output().is_ok();
    if !has("node") || !has("npm") {
        eprintln!("SKIPPED: node/npm not installed");
        return None;
    }
    let dir = std::env::temp_dir().join("vole-js-bee-queue");
    if !dir.join("node_modules/bee-queue").exists() {
        let _ = std::fs::create_dir_all(&dir);
        let mut npm = Command::new("npm");
        npm.args([
            "install",
            "bee-queue@1",
            "--no-audit",
            "--no-fund",
            "--prefix",
        ])
        .arg(&dir);
        match run_with_deadline(npm, Duration::from_secs(180)) {
            Some((true, _, _)) => {}
            other => {
                eprintln!("SKIPPED: npm install bee-queue failed: {other:?}");
                return None;
            }
        }
    }
    let script = dir.join("smoke.js");
    std::fs::write(&script, include_str!("js/bee-queue-smoke.js")).ok()?;
    Some(dir)
}

fn run_smoke(dir: &Path, port: u16) -> serde_json_lite::Outcome {
    let mut node = Command::new("node");
    node.arg(dir.join("smoke.js"))
        .arg(port.to_string())
        .current_dir(dir);
    let (ok, out, err) = run_with_deadline(node, Duration::from_secs(60)).expect("run node");
    assert!(ok, "bee-queue run failed:\nstdout: {out}\nstderr: {err}");
    serde_json_lite::parse(&out)
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

    fn field(s: &str, name: &str) -> i64 {
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
    let Some(dir) = bee_queue() else { return };
    let vole = Vole::start(&[]);
    let got = run_smoke(&dir, vole.addr.port());
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
        assert_eq!(run_smoke(&dir, redis.addr.port()), got);
    }
}
