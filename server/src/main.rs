//! `vole`: start the server.

use clap::Parser;
use vole_server::config::{Config, Flags};
use vole_server::server::{run, Server};

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    let flags = Flags::parse();
    let config = match Config::load(&flags) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("vole: {e:#}");
            std::process::exit(2);
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("VOLE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&config.loglevel));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    if let Err(e) = std::fs::create_dir_all(&config.dir) {
        eprintln!(
            "vole: cannot create data directory {}: {e}",
            config.dir.display()
        );
        std::process::exit(2);
    }
    // Per-command timing reads the TSC through `quanta`, which calibrates it against the
    // monotonic clock on first use (at least half a millisecond of spinning, at most 200 ms):
    // do that beside start-up rather than in the first command. If the thread cannot start,
    // the first command calibrates instead.
    let _ = std::thread::Builder::new()
        .name("vole-clock".into())
        .spawn(|| {
            let began = std::time::Instant::now();
            let _ = quanta::Instant::now();
            tracing::debug!(
                us = began.elapsed().as_micros() as u64,
                "command clock calibrated"
            );
        });
    let rt = match tokio::runtime::Builder::new_multi_thread()
        // Connections have their own threads (`cores`); this runtime accepts them and runs
        // the background jobs.
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("vole: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    let server = match Server::open(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("vole: {e:#}");
            tracing::error!("{e:#}");
            std::process::exit(1);
        }
    };
    if let Err(e) = rt.block_on(run(server)) {
        eprintln!("vole: {e:#}");
        std::process::exit(1);
    }
    rt.shutdown_timeout(std::time::Duration::from_millis(200));
}
