#!/usr/bin/env bash
# Crash soak: the kill -9 test of tests/persistence.rs (four writers under appendfsync always,
# kill -9 at random moments, restart, every acknowledged write checked) for many cycles on
# one data directory, against the release build.
#
# Usage: benches/crash_soak.sh [CYCLES]   (default 500; about 0.3 s per cycle)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vole-target}"
VOLE_CRASH_CYCLES=${1:-500} cargo test --release -p vole-server --test persistence \
  kill_9_under_appendfsync_always_loses_no_acknowledged_write -- --nocapture
