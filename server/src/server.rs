//! Process-wide state shared by every connection: the keyspace, the live configuration,
//! the client registry, statistics and the slow log; and the accept loop.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{
    AtomicBool, AtomicI64, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering,
};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use vole_engine::clock::{Clock, SystemClock};
use vole_engine::command::{Command, Resolved, COMMANDS};
use vole_engine::keyspace::Keyspace;

use crate::config::Config;
use crate::persistence::Persistence;

/// What CLIENT LIST shows about a connection, shared between its task and the registry.
#[derive(Debug)]
pub struct ClientInfo {
    pub id: u64,
    pub addr: SocketAddr,
    pub laddr: SocketAddr,
    pub created: Instant,
    pub name: Mutex<String>,
    pub lib_name: Mutex<String>,
    pub lib_ver: Mutex<String>,
    pub last_cmd: Mutex<Resolved>,
    pub last_active: Mutex<Instant>,
    /// Whether `last_cmd` holds a command yet (CLIENT LIST shows `cmd=NULL` before).
    pub has_run_cmd: AtomicBool,
    pub db: AtomicU64,
    pub resp: AtomicU8,
    pub no_evict: AtomicBool,
    pub no_touch: AtomicBool,
    pub qbuf: AtomicUsize,
    /// Commands queued in MULTI, -1 outside a transaction (CLIENT LIST `multi=`).
    pub multi: AtomicI64,
    /// Keys watched (CLIENT LIST `watch=`).
    pub watching: AtomicUsize,
    /// Channels and patterns subscribed to (CLIENT LIST `sub=`, `psub=`).
    pub subs: AtomicUsize,
    pub psubs: AtomicUsize,
    pub ssubs: AtomicUsize,
    pub killed: AtomicBool,
    pub kill: Notify,
}

impl ClientInfo {
    /// A new connection's record.
    pub fn new(id: u64, addr: SocketAddr, laddr: SocketAddr) -> Arc<ClientInfo> {
        let now = Instant::now();
        Arc::new(ClientInfo {
            id,
            addr,
            laddr,
            created: now,
            name: Mutex::new(String::new()),
            lib_name: Mutex::new(String::new()),
            lib_ver: Mutex::new(String::new()),
            last_cmd: Mutex::new(Resolved {
                cmd: &COMMANDS[0],
                parent: None,
            }),
            has_run_cmd: AtomicBool::new(false),
            last_active: Mutex::new(now),
            db: AtomicU64::new(0),
            resp: AtomicU8::new(2),
            no_evict: AtomicBool::new(false),
            no_touch: AtomicBool::new(false),
            qbuf: AtomicUsize::new(0),
            multi: AtomicI64::new(-1),
            watching: AtomicUsize::new(0),
            subs: AtomicUsize::new(0),
            psubs: AtomicUsize::new(0),
            ssubs: AtomicUsize::new(0),
            killed: AtomicBool::new(false),
            kill: Notify::new(),
        })
    }
}

/// Per-command counters for INFO commandstats.
#[derive(Debug, Default)]
pub struct CmdStat {
    pub calls: AtomicU64,
    pub usec: AtomicU64,
    pub rejected: AtomicU64,
    pub failed: AtomicU64,
}

/// One slow log entry.
#[derive(Debug, Clone)]
pub struct SlowEntry {
    pub id: u64,
    pub at_s: i64,
    pub duration_us: u64,
    pub args: Vec<Bytes>,
    pub addr: String,
    pub name: String,
}

/// Everything shared.
pub struct Server {
    pub ks: Arc<Keyspace>,
    /// The log and snapshots.
    pub persist: Arc<Persistence>,
    pub config: RwLock<Config>,
    pub clients: Mutex<BTreeMap<u64, Arc<ClientInfo>>>,
    next_client_id: AtomicU64,
    pub started: Instant,
    pub started_unix_s: i64,
    pub local_addr: RwLock<Option<SocketAddr>>,
    pub total_connections: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub total_commands: AtomicU64,
    pub net_input_bytes: AtomicU64,
    pub net_output_bytes: AtomicU64,
    pub error_replies: AtomicU64,
    cmd_index: HashMap<usize, usize>,
    cmd_names: Vec<String>,
    cmd_stats: Vec<CmdStat>,
    pub slowlog: Mutex<VecDeque<SlowEntry>>,
    pub slowlog_next_id: AtomicU64,
    /// CLIENT PAUSE: end time (ms since epoch) and whether only writes are paused.
    pub pause_until_ms: AtomicI64,
    pub pause_writes_only: AtomicBool,
    pub unpaused: Notify,
    pub shutdown: Notify,
    pub shutting_down: AtomicBool,
    /// SHUTDOWN NOSAVE: skip the final snapshot.
    pub shutdown_nosave: AtomicBool,
    /// SHUTDOWN SAVE: take a final snapshot even without a log or snapshot interval.
    pub shutdown_save: AtomicBool,
    /// Commands running right now (shutdown waits for them).
    pub in_flight: AtomicU64,
    /// Clients blocked by BLPOP and friends.
    pub blocking: Arc<crate::blocking::Blocking>,
    pub pubsub: crate::pubsub::PubSub,
    /// The Lua engine (EVAL, SCRIPT).
    pub scripting: crate::script::Scripting,
    /// `notify-keyspace-events` flags (see [`crate::notify`]).
    pub notify_flags: AtomicU32,
    /// Clients in MONITOR mode.
    pub monitors: crate::monitor::Monitors,
}

impl Server {
    /// Build the shared state.
    pub fn new(config: Config) -> Arc<Server> {
        Server::with_clock(config, Arc::new(SystemClock))
    }

    /// Build the shared state with a given clock, without persistence (in-process tests).
    pub fn with_clock(config: Config, clock: Arc<dyn Clock>) -> Arc<Server> {
        let persist = Arc::new(Persistence::disabled(&config.dir));
        Server::build(config, Arc::new(Keyspace::new(clock)), persist)
    }

    /// Build the shared state and recover the data in `config.dir` (snapshot, then log).
    /// Blocking; errors stop start-up.
    pub fn open(config: Config) -> anyhow::Result<Arc<Server>> {
        let ks = Arc::new(Keyspace::new(Arc::new(SystemClock)));
        let persist = Arc::new(Persistence::open(&config, &ks)?);
        Ok(Server::build(config, ks, persist))
    }

    fn build(config: Config, ks: Arc<Keyspace>, persist: Arc<Persistence>) -> Arc<Server> {
        let clock = ks.clock().clone();
        let mut cmd_index = HashMap::new();
        let mut cmd_names = Vec::new();
        for c in COMMANDS {
            cmd_index.insert(c as *const Command as usize, cmd_names.len());
            cmd_names.push(c.name.to_string());
            for s in c.subcommands {
                cmd_index.insert(s as *const Command as usize, cmd_names.len());
                cmd_names.push(format!("{}|{}", c.name, s.name));
            }
        }
        let cmd_stats = (0..cmd_names.len()).map(|_| CmdStat::default()).collect();
        let now_s = clock.now_ms() / 1000;
        let blocking = crate::blocking::install(&ks);
        ks.set_slow_wait(crate::script::slow_wait);
        let pubsub = crate::pubsub::PubSub::default();
        let (hard, soft, secs) = config.client_output_buffer_limit[2];
        pubsub.limits.set(hard, soft, secs);
        let notify_flags = AtomicU32::new(config.notify_keyspace_events);
        vole_engine::types::stream::set_node_limits(
            config.stream_node_max_bytes,
            config.stream_node_max_entries,
        );
        Arc::new(Server {
            blocking,
            pubsub,
            scripting: crate::script::Scripting::new(),
            notify_flags,
            monitors: crate::monitor::Monitors::default(),
            ks,
            persist,
            config: RwLock::new(config),
            clients: Mutex::new(BTreeMap::new()),
            next_client_id: AtomicU64::new(1),
            started: Instant::now(),
            started_unix_s: now_s,
            local_addr: RwLock::new(None),
            total_connections: AtomicU64::new(0),
            rejected_connections: AtomicU64::new(0),
            total_commands: AtomicU64::new(0),
            net_input_bytes: AtomicU64::new(0),
            net_output_bytes: AtomicU64::new(0),
            error_replies: AtomicU64::new(0),
            cmd_index,
            cmd_names,
            cmd_stats,
            slowlog: Mutex::new(VecDeque::new()),
            slowlog_next_id: AtomicU64::new(0),
            pause_until_ms: AtomicI64::new(0),
            pause_writes_only: AtomicBool::new(false),
            unpaused: Notify::new(),
            shutdown: Notify::new(),
            shutting_down: AtomicBool::new(false),
            shutdown_nosave: AtomicBool::new(false),
            shutdown_save: AtomicBool::new(false),
            in_flight: AtomicU64::new(0),
        })
    }

    /// The counter slot of one command (or subcommand) entry.
    pub fn cmd_slot(&self, cmd: &'static Command) -> Option<usize> {
        self.cmd_index
            .get(&(cmd as *const Command as usize))
            .copied()
    }

    /// The counters in slot `i`.
    pub fn cmd_stat_at(&self, i: usize) -> Option<&CmdStat> {
        self.cmd_stats.get(i)
    }

    /// Every command's counters with its full name.
    pub fn all_cmd_stats(&self) -> impl Iterator<Item = (&str, &CmdStat)> {
        self.cmd_names
            .iter()
            .map(String::as_str)
            .zip(self.cmd_stats.iter())
    }

    /// Reset INFO counters (CONFIG RESETSTAT).
    pub fn reset_stats(&self) {
        for s in &self.cmd_stats {
            s.calls.store(0, Ordering::Relaxed);
            s.usec.store(0, Ordering::Relaxed);
            s.rejected.store(0, Ordering::Relaxed);
            s.failed.store(0, Ordering::Relaxed);
        }
        for c in [
            &self.total_connections,
            &self.rejected_connections,
            &self.total_commands,
            &self.net_input_bytes,
            &self.net_output_bytes,
            &self.error_replies,
        ] {
            c.store(0, Ordering::Relaxed);
        }
        let st = &self.ks.stats;
        st.keyspace_hits.store(0, Ordering::Relaxed);
        st.keyspace_misses.store(0, Ordering::Relaxed);
        st.expired_keys.store(0, Ordering::Relaxed);
    }

    /// Register a new connection.
    pub fn register(&self, addr: SocketAddr, laddr: SocketAddr) -> Arc<ClientInfo> {
        let id = self.next_client_id.fetch_add(1, Ordering::Relaxed);
        let info = ClientInfo::new(id, addr, laddr);
        self.clients.lock().insert(id, info.clone());
        self.total_connections.fetch_add(1, Ordering::Relaxed);
        info
    }

    /// Forget a closed connection.
    pub fn unregister(&self, id: u64) {
        self.clients.lock().remove(&id);
        self.monitors.remove(id);
    }

    /// Record a slow command if it took at least the configured threshold.
    /// `threshold_us` is the connection's cached `slowlog-log-slower-than` (read once per
    /// batch, so the hot path never touches the shared config lock).
    pub fn maybe_slowlog(
        &self,
        args: &[Bytes],
        took: Duration,
        client: &ClientInfo,
        threshold_us: i64,
    ) {
        let us = took.as_micros() as u64;
        if threshold_us < 0 || us < threshold_us as u64 {
            return;
        }
        let max_len = self.config.read().slowlog_max_len;
        // Redis keeps at most 32 arguments, each cut at 128 bytes.
        let mut kept: Vec<Bytes> = Vec::new();
        for (i, a) in args.iter().enumerate() {
            if i == 31 && args.len() > 32 {
                kept.push(Bytes::from(format!(
                    "... ({} more arguments)",
                    args.len() - 31
                )));
                break;
            }
            if a.len() > 128 {
                let mut s = a[..128].to_vec();
                s.extend_from_slice(format!("... ({} more bytes)", a.len() - 128).as_bytes());
                kept.push(Bytes::from(s));
            } else {
                kept.push(a.clone());
            }
        }
        let entry = SlowEntry {
            id: self.slowlog_next_id.fetch_add(1, Ordering::Relaxed),
            at_s: self.ks.now_ms() / 1000,
            duration_us: us,
            args: kept,
            addr: client.addr.to_string(),
            name: client.name.lock().clone(),
        };
        let mut log = self.slowlog.lock();
        log.push_front(entry);
        log.truncate(max_len);
    }

    /// Bytes currently allocated by the process (jemalloc's count), for INFO memory.
    pub fn used_memory(&self) -> usize {
        crate::alloc_stats::allocated()
    }
}

/// Bind the listener, print the address, and serve until SHUTDOWN or a signal.
pub async fn run(server: Arc<Server>) -> anyhow::Result<()> {
    let addr = server.config.read().addr.clone();
    let listener = TcpListener::bind(&addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr()?;
    *server.local_addr.write() = Some(local);
    // CONFIG GET addr/port report the address actually bound (port 0 picks one).
    server.config.write().addr = local.to_string();
    tracing::info!(%local, "vole ready to accept connections");
    println!("listening on {local}");

    spawn_background(server.clone());
    let io_threads = server.config.read().io_threads;
    let cores = crate::cores::Cores::start(io_threads)
        .map_err(|e| anyhow::anyhow!("cannot start the connection threads: {e}"))?;
    if let Some(sync) = server.persist.inline_sync() {
        cores.start_log_syncers(sync);
    }

    let shutdown = server.clone();
    let sig = async {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            tokio::select! {
                _ = ctrl_c => {},
                _ = term.recv() => {},
            }
        }
        #[cfg(not(unix))]
        ctrl_c.await?;
        anyhow::Ok(())
    };
    tokio::pin!(sig);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                match accepted {
                    Ok((sock, peer)) => {
                        let srv = server.clone();
                        match sock.into_std() {
                            Ok(std_sock) => cores.spawn(async move {
                                match TcpStream::from_std(std_sock) {
                                    Ok(sock) => crate::conn::serve(srv, sock, peer, local).await,
                                    Err(e) => tracing::warn!("cannot serve {peer}: {e}"),
                                }
                            }),
                            Err(e) => tracing::warn!("cannot serve {peer}: {e}"),
                        }
                    }
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
            _ = shutdown.shutdown.notified() => {
                tracing::info!("SHUTDOWN received, exiting");
                break;
            }
            r = &mut sig => {
                r?;
                tracing::info!("signal received, exiting");
                break;
            }
        }
    }

    // Stop accepting, let connections finish the command they are running, then make the
    // data durable.
    drop(listener);
    server.shutting_down.store(true, Ordering::Release);
    let save = !server.shutdown_nosave.load(Ordering::Relaxed);
    finish_in_flight(&server).await;
    let srv = server.clone();
    tokio::task::spawn_blocking(move || final_save(&srv, save))
        .await
        .map_err(|e| anyhow::anyhow!("shutdown task failed: {e}"))?
}

/// Wait (bounded) until every connection is between commands.
async fn finish_in_flight(server: &Server) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.in_flight.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The last snapshot (unless NOSAVE) and the final log sync.
fn final_save(server: &Arc<Server>, save: bool) -> anyhow::Result<()> {
    let p = &server.persist;
    let mut result = Ok(());
    // A snapshot needs somewhere durable to go: with neither the log nor an explicit save
    // there is nothing to keep, exactly as configured.
    let forced = server.shutdown_save.load(Ordering::Relaxed);
    if save && (forced || p.wal.is_some() || server.config.read().snapshot_interval_s > 0) {
        while p.bgsave_in_progress.load(Ordering::Acquire) {
            std::thread::sleep(Duration::from_millis(10));
        }
        if let Err(e) = p.snapshot_now(&server.ks) {
            result = Err(anyhow::anyhow!("final snapshot failed: {e:#}"));
        }
    }
    p.close_log();
    tracing::info!("vole is now ready to exit, bye bye");
    result
}

/// Background jobs: the active expiry cycle and idle-client timeouts.
fn spawn_background(server: Arc<Server>) {
    let srv = server.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            if srv.shutting_down.load(Ordering::Relaxed) {
                return;
            }
            let due = {
                let config = srv.config.read();
                srv.persist.snapshot_due(&config, &srv.ks)
            };
            if let Some(why) = due {
                tracing::info!(reason = why, "starting a background snapshot");
                if let Err(e) = srv.persist.bgsave(&srv.ks) {
                    tracing::debug!("background snapshot not started: {e}");
                }
            }
        }
    });
    let srv = server.clone();
    tokio::spawn(async move {
        // Each shard keeps its keys in deadline order, so a round only looks at keys that are
        // due: a short tick deletes every key (and publishes `expired`) within about 25 ms of
        // its deadline.
        let mut tick = tokio::time::interval(Duration::from_millis(25));
        loop {
            tick.tick().await;
            // Keep going while many keys are due, but yield between rounds.
            loop {
                let (_, more) = srv.ks.active_expire(2000);
                let changes = vole_engine::keyspace::take_changes();
                if !changes.is_empty() {
                    crate::notify::publish_expired(&srv, changes);
                }
                if !more {
                    break;
                }
                tokio::task::yield_now().await;
            }
        }
    });
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let timeout = server.config.read().timeout_s;
            if timeout == 0 {
                continue;
            }
            let limit = Duration::from_secs(timeout);
            let idle: Vec<Arc<ClientInfo>> = server
                .clients
                .lock()
                .values()
                .filter(|c| c.last_active.lock().elapsed() > limit)
                .cloned()
                .collect();
            for c in idle {
                c.killed.store(true, Ordering::Relaxed);
                c.kill.notify_one();
            }
        }
    });
}
