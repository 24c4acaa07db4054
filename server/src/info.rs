//! The INFO report, with Redis's section and field names so that existing tools parse it.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use vole_engine::Reply;

use crate::commands::REDIS_VERSION;
use crate::conn::Session;

/// Every section, in output order.
const ALL_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "commandstats",
    "errorstats",
    "keyspace",
];

/// Sections left out of a plain INFO (as in Redis, the per-command ones).
const NOT_DEFAULT: &[&str] = &["commandstats", "errorstats"];

/// INFO [section ...]
pub fn info(s: &Session, args: &[Bytes]) -> Reply {
    let mut wanted: Vec<&str> = Vec::new();
    let defaults = ALL_SECTIONS
        .iter()
        .copied()
        .filter(|s| !NOT_DEFAULT.contains(s));
    if args.len() == 1 {
        wanted.extend(defaults.clone());
    }
    for a in &args[1..] {
        let name = String::from_utf8_lossy(a).to_lowercase();
        match name.as_str() {
            "default" => wanted.extend(defaults.clone()),
            "all" | "everything" => wanted.extend_from_slice(ALL_SECTIONS),
            other => {
                if let Some(sec) = ALL_SECTIONS.iter().find(|x| **x == other) {
                    wanted.push(sec);
                }
            }
        }
    }
    let mut out = String::new();
    for sec in ALL_SECTIONS {
        if !wanted.contains(sec) {
            continue;
        }
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        section(s, sec, &mut out);
    }
    Reply::Verbatim("txt", Bytes::from(out))
}

fn section(s: &Session, name: &str, o: &mut String) {
    let srv = &s.server;
    let cfg = srv.config.read().clone();
    let uptime = srv.started.elapsed().as_secs();
    match name {
        "server" => {
            let port = srv.local_addr.read().map(|a| a.port()).unwrap_or(0);
            let _ = write!(
                o,
                "# Server\r\nredis_version:{REDIS_VERSION}\r\nvole_version:{}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_mode:standalone\r\nos:{} {}\r\narch_bits:64\r\nmultiplexing_api:epoll\r\nprocess_id:{}\r\nrun_id:{}\r\ntcp_port:{port}\r\nserver_time_usec:{}\r\nuptime_in_seconds:{uptime}\r\nuptime_in_days:{}\r\nexecutable:{}\r\nconfig_file:{}\r\n",
                env!("CARGO_PKG_VERSION"),
                std::env::consts::OS,
                std::env::consts::ARCH,
                std::process::id(),
                run_id(srv),
                srv.ks.clock().now_us(),
                uptime / 86400,
                std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default(),
                cfg.config_file.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
            );
        }
        "clients" => {
            let clients = srv.clients.lock().len();
            let _ = write!(
                o,
                "# Clients\r\nconnected_clients:{clients}\r\ncluster_connections:0\r\nmaxclients:{}\r\nblocked_clients:{}\r\ntracking_clients:0\r\npubsub_clients:{}\r\ntotal_blocking_keys:{}\r\n",
                cfg.maxclients,
                srv.blocking.blocked_clients(),
                srv.clients
                    .lock()
                    .values()
                    .filter(|c| c.subs.load(Ordering::Relaxed) + c.psubs.load(Ordering::Relaxed) > 0)
                    .count(),
                srv.blocking.blocked_keys(),
            );
        }
        "memory" => {
            let sc = srv.scripting.stats();
            let used = srv.used_memory();
            let rss = crate::alloc_stats::resident();
            let _ = write!(
                o,
                "# Memory\r\nused_memory:{used}\r\nused_memory_human:{}\r\nused_memory_rss:{rss}\r\nused_memory_rss_human:{}\r\nused_memory_dataset:{}\r\nmaxmemory:0\r\nmaxmemory_human:0B\r\nmaxmemory_policy:noeviction\r\nmem_allocator:jemalloc\r\nused_memory_lua:{lua}\r\nused_memory_vm_eval:{lua}\r\nused_memory_scripts_eval:{scripts}\r\nnumber_of_cached_scripts:{cached}\r\nnumber_of_functions:{functions}\r\nnumber_of_libraries:{libraries}\r\n",
                human(used),
                human(rss),
                srv.ks.all_dbs().iter().map(|d| d.memory_bytes()).sum::<usize>(),
                lua = sc.lua_memory,
                scripts = sc.script_bytes,
                cached = sc.cached,
                functions = sc.functions,
                libraries = sc.libraries,
            );
        }
        "persistence" => persistence_section(srv, o),
        "stats" => {
            let st = &srv.ks.stats;
            let _ = write!(
                o,
                "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\ntotal_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\nrejected_connections:{}\r\nexpired_keys:{}\r\nevicted_keys:0\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\npubsub_channels:{}\r\npubsub_patterns:{}\r\ntotal_error_replies:{}\r\n",
                srv.total_connections.load(Ordering::Relaxed),
                srv.total_commands.load(Ordering::Relaxed),
                srv.net_input_bytes.load(Ordering::Relaxed),
                srv.net_output_bytes.load(Ordering::Relaxed),
                srv.rejected_connections.load(Ordering::Relaxed),
                st.expired_keys.load(Ordering::Relaxed),
                st.keyspace_hits.load(Ordering::Relaxed),
                st.keyspace_misses.load(Ordering::Relaxed),
                srv.pubsub.nchannels(),
                srv.pubsub.numpat(),
                srv.error_replies.load(Ordering::Relaxed),
            );
        }
        "replication" => {
            o.push_str(
                "# Replication\r\nrole:master\r\nconnected_slaves:0\r\nmaster_repl_offset:0\r\n",
            );
        }
        "cpu" => {
            let (user, sys) = cpu_times();
            let _ = write!(
                o,
                "# CPU\r\nused_cpu_sys:{sys:.6}\r\nused_cpu_user:{user:.6}\r\n"
            );
        }
        "commandstats" => {
            o.push_str("# Commandstats\r\n");
            for (name, st) in srv.all_cmd_stats() {
                let calls = st.calls.load(Ordering::Relaxed);
                let rejected = st.rejected.load(Ordering::Relaxed);
                if calls == 0 && rejected == 0 {
                    continue;
                }
                let usec = st.usec.load(Ordering::Relaxed);
                let per = if calls > 0 {
                    usec as f64 / calls as f64
                } else {
                    0.0
                };
                let _ = write!(
                    o,
                    "cmdstat_{name}:calls={calls},usec={usec},usec_per_call={per:.2},rejected_calls={rejected},failed_calls={}\r\n",
                    st.failed.load(Ordering::Relaxed)
                );
            }
        }
        "errorstats" => {
            o.push_str("# Errorstats\r\n");
        }
        "keyspace" => {
            o.push_str("# Keyspace\r\n");
            for db in srv.ks.all_dbs() {
                let keys = db.len();
                if keys == 0 {
                    continue;
                }
                let label = if db.id < 16 {
                    format!("db{}", db.id)
                } else {
                    format!("ns_{}", db.name)
                };
                let _ = write!(
                    o,
                    "{label}:keys={keys},expires={},avg_ttl=0\r\n",
                    db.volatile_len()
                );
            }
        }
        _ => {}
    }
}

fn run_id(srv: &crate::server::Server) -> String {
    // Stable for the life of the process: derived from the start time and pid.
    let seed = (srv.started_unix_s as u64) ^ (u64::from(std::process::id()) << 32);
    let mut x = seed | 1;
    let mut s = String::with_capacity(40);
    for _ in 0..40 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.push(char::from(b"0123456789abcdef"[(x & 15) as usize]));
    }
    s
}

fn human(n: usize) -> String {
    let f = n as f64;
    if f >= 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}G", f / (1024.0 * 1024.0 * 1024.0))
    } else if f >= 1024.0 * 1024.0 {
        format!("{:.2}M", f / (1024.0 * 1024.0))
    } else if f >= 1024.0 {
        format!("{:.2}K", f / 1024.0)
    } else {
        format!("{n}B")
    }
}

/// User and system CPU seconds of this process, from /proc (0 where unavailable).
fn cpu_times() -> (f64, f64) {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return (0.0, 0.0);
    };
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return (0.0, 0.0);
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = 100.0;
    let user = f.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) / tick;
    let sys = f.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) / tick;
    (user, sys)
}

/// INFO persistence: Redis's fields (so tools that read them work) and Vole's own log and
/// snapshot figures.
fn persistence_section(srv: &crate::server::Server, o: &mut String) {
    let p = &srv.persist;
    let st = &p.stats;
    let r = Ordering::Relaxed;
    let saving = p.bgsave_in_progress.load(r);
    let changes = srv
        .ks
        .stats
        .dirty
        .load(r)
        .saturating_sub(st.dirty_at_last_save.load(r));
    let save_ok = if st.last_save_ok.load(r) { "ok" } else { "err" };
    let last_s = if st.snapshots_taken.load(r) > 0 {
        (st.last_snapshot_ms.load(r) / 1000) as i64
    } else {
        -1
    };
    let current_s = if saving {
        srv.ks.now_ms() / 1000 - st.last_bgsave_started_unix_s.load(r)
    } else {
        -1
    };
    let status = p.wal.as_ref().map(|w| w.status());
    let write_ok = if srv.ks.log_failed() { "err" } else { "ok" };
    let _ = write!(
        o,
        "# Persistence\r\nloading:0\r\nasync_loading:0\r\nrdb_changes_since_last_save:{changes}\r\nrdb_bgsave_in_progress:{}\r\nrdb_last_save_time:{}\r\nrdb_last_bgsave_status:{save_ok}\r\nrdb_last_bgsave_time_sec:{last_s}\r\nrdb_current_bgsave_time_sec:{current_s}\r\nrdb_saves:{}\r\naof_enabled:{}\r\naof_rewrite_in_progress:{}\r\naof_rewrite_scheduled:0\r\naof_last_rewrite_time_sec:{last_s}\r\naof_current_rewrite_time_sec:{current_s}\r\naof_last_bgrewrite_status:{save_ok}\r\naof_rewrites:{}\r\naof_last_write_status:{write_ok}\r\n",
        u8::from(saving),
        st.last_save_unix_s.load(r),
        st.snapshots_taken.load(r),
        u8::from(status.is_some()),
        u8::from(saving),
        st.snapshots_taken.load(r),
    );
    if let Some(w) = &status {
        let _ = write!(
            o,
            "aof_current_size:{}\r\naof_base_size:{}\r\naof_pending_rewrite:0\r\naof_buffer_length:{}\r\naof_pending_bio_fsync:0\r\naof_delayed_fsync:0\r\nwal_fsync_policy:{}\r\nwal_segments:{}\r\nwal_bytes:{}\r\nwal_first_lsn:{}\r\nwal_last_lsn:{}\r\nwal_written_lsn:{}\r\nwal_durable_lsn:{}\r\nwal_fsyncs:{}\r\nwal_last_fsync_us:{}\r\n",
            w.bytes,
            st.log_bytes_after_snapshot.load(r),
            w.last_lsn.saturating_sub(w.written_lsn),
            w.policy.as_str(),
            w.segments,
            w.bytes,
            w.first_lsn,
            w.last_lsn,
            w.written_lsn,
            w.durable_lsn,
            w.fsyncs,
            w.last_fsync_micros,
        );
    }
    let _ = write!(
        o,
        "wal_corrupt_records_skipped:{}\r\nwal_torn_tails_truncated:{}\r\nsnapshot_file:{}\r\nsnapshot_last_lsn:{}\r\nsnapshot_last_bytes:{}\r\nsnapshot_last_keys:{}\r\nsnapshot_last_duration_ms:{}\r\nload_duration_ms:{}\r\nload_snapshot_keys:{}\r\nload_replayed_records:{}\r\n",
        st.corrupt_records_skipped.load(r),
        st.torn_tails_truncated.load(r),
        p.snapshot_path.display(),
        st.last_snapshot_lsn.load(r),
        st.last_snapshot_bytes.load(r),
        st.last_snapshot_keys.load(r),
        st.last_snapshot_ms.load(r),
        st.load_ms.load(r),
        st.loaded_snapshot_keys.load(r),
        st.replayed_records.load(r),
    );
}
