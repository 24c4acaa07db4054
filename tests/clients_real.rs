//! Real client tools against the real binary: redis-cli, redis-benchmark and redis-py.
//! Each test is skipped with a note when its tool is missing, except in CI
//! (VOLE_REQUIRE_REDIS=1), where .ci/run installs them all.

mod common;

use std::process::Command;

use common::Vole;

fn tool_available(program: &str, probe: &[&str]) -> bool {
    let ok = Command::new(program)
        .args(probe)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        assert!(
            std::env::var("VOLE_REQUIRE_REDIS").as_deref() != Ok("1"),
            "{program} is required in CI but is not installed"
        );
        eprintln!("SKIPPED: {program} not available");
    }
    ok
}

#[test]
fn redis_cli_runs_commands_and_reads_replies() {
    // redis-cli (which fetches COMMAND DOCS for its hints) works unchanged against Vole.
    if !tool_available("redis-cli", &["--version"]) {
        return;
    }
    let vole = Vole::start(&[]);
    let port = vole.addr.port().to_string();
    let run = |args: &[&str]| {
        let out = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &port])
            .args(args)
            .output()
            .expect("run redis-cli");
        assert!(out.status.success(), "redis-cli {args:?} failed");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(run(&["SET", "greeting", "hello"]), "OK");
    assert_eq!(run(&["GET", "greeting"]), "hello");
    assert_eq!(run(&["INCRBYFLOAT", "price", "10.5"]), "10.5");
    assert_eq!(run(&["INCRBYFLOAT", "price", "0.1"]), "10.6");
    assert_eq!(run(&["DBSIZE"]), "2");
    assert!(run(&["INFO", "server"]).contains("redis_version:7.2"));
    let hello = run(&["-3", "HELLO", "3"]);
    assert!(
        hello.contains("proto") && hello.contains("standalone"),
        "{hello}"
    );
}

#[test]
fn redis_benchmark_completes_against_vole() {
    // redis-benchmark's SET/GET/INCR/MSET load runs to completion, pipelined and not.
    if !tool_available("redis-benchmark", &["--version"]) {
        return;
    }
    let vole = Vole::start(&[]);
    let port = vole.addr.port().to_string();
    for pipeline in ["1", "16"] {
        let out = Command::new("redis-benchmark")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-c",
                "10",
                "-n",
                "2000",
                "-P",
                pipeline,
            ])
            .args(["-t", "set,get,incr,mset", "-q", "--csv"])
            .output()
            .expect("run redis-benchmark");
        assert!(out.status.success());
        let csv = String::from_utf8_lossy(&out.stdout);
        for t in ["\"SET\"", "\"GET\"", "\"INCR\"", "\"MSET (10 keys)\""] {
            assert!(csv.contains(t), "missing {t} in {csv}");
        }
    }
    let mut c = vole.client();
    let n: i64 = redis::cmd("GET")
        .arg("counter:__rand_int__")
        .query::<Option<i64>>(&mut c)
        .ok()
        .flatten()
        .unwrap_or(0);
    assert!(n > 0, "INCR load must have counted");
}

#[test]
fn redis_py_smoke_script_passes() {
    // The redis-py client library drives every command family of this release.
    if !tool_available("python3", &["-c", "import redis"]) {
        return;
    }
    let vole = Vole::start(&[]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/py/smoke.py");
    let out = Command::new("python3")
        .args([script, "127.0.0.1", &vole.addr.port().to_string()])
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "redis-py smoke failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
