//! Persistence glue: start-up recovery (snapshot, then the log after it), the log attached to
//! the keyspace, snapshots (SAVE, BGSAVE, the interval, automatic compaction, shutdown) and
//! what INFO persistence reports.
//!
//! Start-up order: load the snapshot file if there is one (blocks decoded on every core),
//! open the log (a torn tail of the newest segment is cut, damaged records are reported and
//! counted), replay every record after the snapshot's LSN, then attach the log so new writes
//! append to it. A snapshot or log that cannot be read stops start-up with a message naming
//! the file and the position: Vole never starts with part of the data silently missing.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Instant;

use parking_lot::Mutex;
use vole_engine::effect::{apply_record, EffectLog};
use vole_engine::keyspace::Keyspace;
use vole_engine::persist::{begin_snapshot, loader};
use vole_wal::log::{FsyncPolicy, Wal, WalOptions};
use vole_wal::snapshot::{SnapshotFile, SnapshotMeta, SnapshotOptions, SnapshotWriter};
use vole_wal::storage::{FsStorage, Storage};
use vole_wal::tail::ReadItem;

use crate::config::Config;
use crate::durable::DurableGate;

/// Start-up logs a progress line every this many entries or records.
const PROGRESS_EVERY: u64 = 1_000_000;

/// The log's storage: the real directory, plus one fault switch (`DEBUG FAIL-LOG-FSYNC`)
/// so the failure path can be exercised end to end against the real binary.
#[derive(Debug, Clone)]
pub struct LogStorage {
    fs: FsStorage,
    fail_next_sync: Arc<AtomicBool>,
}

impl Storage for LogStorage {
    type File = <FsStorage as Storage>::File;

    fn create(&self, name: &str) -> std::io::Result<Self::File> {
        self.fs.create(name)
    }
    fn open_append(&self, name: &str) -> std::io::Result<Self::File> {
        self.fs.open_append(name)
    }
    fn append(&self, file: &mut Self::File, bytes: &[u8]) -> std::io::Result<()> {
        self.fs.append(file, bytes)
    }
    fn sync(&self, file: &mut Self::File) -> std::io::Result<()> {
        if self.fail_next_sync.swap(false, Ordering::AcqRel) {
            return Err(std::io::Error::other(
                "fsync failed (injected by DEBUG FAIL-LOG-FSYNC)",
            ));
        }
        self.fs.sync(file)
    }
    fn preallocate(&self, file: &mut Self::File, len: u64) -> std::io::Result<()> {
        self.fs.preallocate(file, len)
    }
    fn trim(&self, file: &mut Self::File) -> std::io::Result<()> {
        self.fs.trim(file)
    }
    fn read_all(&self, name: &str) -> std::io::Result<Vec<u8>> {
        self.fs.read_all(name)
    }
    fn read_at(&self, name: &str, offset: u64, max_len: usize) -> std::io::Result<Vec<u8>> {
        self.fs.read_at(name, offset, max_len)
    }
    fn truncate(&self, name: &str, len: u64) -> std::io::Result<()> {
        self.fs.truncate(name, len)
    }
    fn list(&self) -> std::io::Result<Vec<String>> {
        self.fs.list()
    }
    fn remove(&self, name: &str) -> std::io::Result<()> {
        self.fs.remove(name)
    }
    fn sync_dir(&self) -> std::io::Result<()> {
        self.fs.sync_dir()
    }
}

/// The log as the engine sees it.
struct WalLog(Arc<Wal<LogStorage>>);

/// Under `appendfsync always`, a group of pending records up to this size is written and
/// synced by the connection thread at the end of its round ([`InlineSync`]); a larger one
/// goes to the flusher thread, which syncs while the connection thread goes on working.
pub const INLINE_SYNC_MAX_BYTES: usize = 4096;

impl EffectLog for WalLog {
    fn append(&self, kind: u8, payload: &[u8]) -> Result<u64, String> {
        let wal = &self.0;
        if wal.policy() == FsyncPolicy::Always && crate::cores::has_log_syncer() {
            let lsn = wal
                .append_deferring(kind, payload, INLINE_SYNC_MAX_BYTES)
                .map_err(|e| e.to_string())?;
            crate::cores::note_log_append();
            Ok(lsn)
        } else {
            wal.append(kind, payload).map_err(|e| e.to_string())
        }
    }
}

/// What a connection thread's log syncer does at the end of a round in which it appended:
/// write and sync a small group itself, with no hand-off to the flusher thread and back
/// (each costs a wake-up of a sleeping thread), or wake the flusher for a large one.
pub struct InlineSync(Arc<Wal<LogStorage>>);

impl InlineSync {
    /// Syncs inline or wakes the flusher (see [`Wal::sync_inline`]).
    pub fn run(&self) {
        if !self.0.sync_inline(INLINE_SYNC_MAX_BYTES) {
            self.0.kick();
        }
    }
}

/// Counters for INFO persistence.
#[derive(Debug, Default)]
pub struct PersistStats {
    pub last_save_unix_s: AtomicI64,
    pub last_save_ok: AtomicBool,
    pub dirty_at_last_save: AtomicU64,
    pub snapshots_taken: AtomicU64,
    pub last_snapshot_lsn: AtomicU64,
    pub last_snapshot_bytes: AtomicU64,
    pub last_snapshot_keys: AtomicU64,
    pub last_snapshot_ms: AtomicU64,
    pub last_bgsave_started_unix_s: AtomicI64,
    /// Log bytes on disk right after the last snapshot's retention ran.
    pub log_bytes_after_snapshot: AtomicU64,
    pub loaded_snapshot_keys: AtomicU64,
    pub replayed_records: AtomicU64,
    pub load_ms: AtomicU64,
    pub torn_tails_truncated: AtomicU64,
    pub corrupt_records_skipped: AtomicU64,
}

/// Persistence state shared by the server.
pub struct Persistence {
    /// The log, when `appendonly` is on.
    pub wal: Option<Arc<Wal<LogStorage>>>,
    /// The snapshot file.
    pub snapshot_path: PathBuf,
    /// Durable LSN, for connections waiting under `appendfsync always`.
    pub durable: Arc<DurableGate>,
    /// One snapshot at a time.
    saving: Mutex<()>,
    pub bgsave_in_progress: AtomicBool,
    pub stats: PersistStats,
    /// `DEBUG FAIL-LOG-FSYNC`: the next fsync of the log fails.
    pub fail_next_sync: Arc<AtomicBool>,
}

impl Persistence {
    /// The connection threads' log syncer, when the log is on.
    pub fn inline_sync(&self) -> Option<Arc<InlineSync>> {
        self.wal.clone().map(|w| Arc::new(InlineSync(w)))
    }

    /// No persistence at all (in-process tests).
    pub fn disabled(dir: &Path) -> Persistence {
        Persistence {
            wal: None,
            snapshot_path: dir.join("vole.snap"),
            durable: Arc::new(DurableGate::new(0)),
            saving: Mutex::new(()),
            bgsave_in_progress: AtomicBool::new(false),
            stats: PersistStats::default(),
            fail_next_sync: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Recover the data in `config.dir` into `ks` and attach the log. Blocking.
    pub fn open(config: &Config, ks: &Arc<Keyspace>) -> anyhow::Result<Persistence> {
        let mut p = Persistence::disabled(&config.dir);
        p.snapshot_path = config.dir.join(&config.snapshot);
        p.stats.last_save_ok.store(true, Ordering::Relaxed);
        p.stats
            .last_save_unix_s
            .store(ks.now_ms() / 1000, Ordering::Relaxed);
        let started = Instant::now();
        let snap_lsn = if p.snapshot_path.exists() {
            p.load_snapshot(ks)?
        } else {
            0
        };
        if config.appendonly {
            p.open_log(config, ks, snap_lsn)?;
        } else {
            ks.set_last_lsn(snap_lsn);
        }
        let ms = started.elapsed().as_millis() as u64;
        p.stats.load_ms.store(ms, Ordering::Relaxed);
        p.stats
            .dirty_at_last_save
            .store(ks.stats.dirty.load(Ordering::Relaxed), Ordering::Relaxed);
        tracing::info!(
            keys_from_snapshot = p.stats.loaded_snapshot_keys.load(Ordering::Relaxed),
            records_replayed = p.stats.replayed_records.load(Ordering::Relaxed),
            lsn = ks.last_lsn(),
            ms,
            "data loaded"
        );
        Ok(p)
    }

    fn load_snapshot(&self, ks: &Arc<Keyspace>) -> anyhow::Result<u64> {
        let path = &self.snapshot_path;
        let fail = |e: &dyn std::fmt::Display| {
            anyhow::anyhow!(
                "cannot load snapshot {}: {e} (check it with `vole-tool snapshot verify`; move it away to start without it)",
                path.display()
            )
        };
        let file = SnapshotFile::open(path).map_err(|e| fail(&e))?;
        let reader = file.reader().map_err(|e| fail(&e))?;
        let meta = reader.meta().clone();
        let total = reader.trailer().entries;
        tracing::info!(path = %path.display(), lsn = meta.lsn, keys = total, "loading snapshot");
        let l = loader(ks, &meta.app).map_err(|e| fail(&e))?;
        let blocks = Mutex::new(reader.raw_blocks());
        let loaded = AtomicU64::new(0);
        let error: Mutex<Option<String>> = Mutex::new(None);
        let workers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, 8);
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| loop {
                    if error.lock().is_some() {
                        return;
                    }
                    let next = blocks.lock().next();
                    let raw = match next {
                        None => return,
                        Some(Ok(raw)) => raw,
                        Some(Err(e)) => {
                            *error.lock() = Some(e.to_string());
                            return;
                        }
                    };
                    let block = match raw.decode() {
                        Ok(b) => b,
                        Err(e) => {
                            *error.lock() = Some(e.to_string());
                            return;
                        }
                    };
                    let mut n = 0u64;
                    for entry in block.entries() {
                        let added = entry
                            .map_err(|e| e.to_string())
                            .and_then(|e| l.add(e).map_err(|e| e.to_string()));
                        if let Err(e) = added {
                            *error.lock() =
                                Some(format!("block at offset {}: {e}", block.offset()));
                            return;
                        }
                        n += 1;
                    }
                    let before = loaded.fetch_add(n, Ordering::Relaxed);
                    if (before + n) / PROGRESS_EVERY > before / PROGRESS_EVERY {
                        tracing::info!(loaded = before + n, of = total, "loading snapshot");
                    }
                });
            }
        });
        if let Some(e) = error.into_inner() {
            return Err(fail(&e));
        }
        l.finish(meta.lsn);
        self.stats
            .loaded_snapshot_keys
            .store(loaded.into_inner(), Ordering::Relaxed);
        self.stats
            .last_snapshot_lsn
            .store(meta.lsn, Ordering::Relaxed);
        self.stats
            .last_snapshot_bytes
            .store(file.bytes().len() as u64, Ordering::Relaxed);
        Ok(meta.lsn)
    }

    fn open_log(
        &mut self,
        config: &Config,
        ks: &Arc<Keyspace>,
        snap_lsn: u64,
    ) -> anyhow::Result<()> {
        let dir = config.dir.join(&config.appendfilename);
        std::fs::create_dir_all(&dir)
            .map_err(|e| anyhow::anyhow!("cannot create log directory {}: {e}", dir.display()))?;
        let opts = WalOptions {
            segment_bytes: config.wal_segment_size,
            fsync: config.appendfsync,
            ..WalOptions::default()
        };
        let storage = LogStorage {
            fs: FsStorage::new(&dir),
            fail_next_sync: self.fail_next_sync.clone(),
        };
        let (wal, report) = Wal::open(storage, opts, snap_lsn + 1)
            .map_err(|e| anyhow::anyhow!("cannot open the log in {}: {e}", dir.display()))?;
        if let Some(t) = report.torn_tail.as_ref().filter(|t| t.zero_filled) {
            tracing::info!(
                segment = %t.segment,
                offset = t.offset,
                zero_bytes = t.dropped_bytes,
                "log ended in zeros preallocated under appendfsync always; trimmed them"
            );
        } else if let Some(t) = &report.torn_tail {
            tracing::warn!(
                segment = %t.segment,
                offset = t.offset,
                dropped_bytes = t.dropped_bytes,
                "log ended with a partly written record (torn tail); truncated it"
            );
            self.stats.torn_tails_truncated.store(1, Ordering::Relaxed);
        }
        for c in &report.corrupt {
            tracing::error!(
                segment = %c.segment,
                offset = c.offset,
                after_lsn = ?c.after_lsn,
                reason = %c.reason,
                "damaged log record: skipping the rest of this segment"
            );
        }
        self.stats
            .corrupt_records_skipped
            .store(report.corrupt.len() as u64, Ordering::Relaxed);
        // Replay what follows the snapshot.
        let mut last = snap_lsn;
        let has_records = report.last_lsn.is_some_and(|l| l > snap_lsn);
        if has_records {
            let mut reader = wal.reader(snap_lsn + 1).map_err(|e| {
                anyhow::anyhow!(
                    "the log in {} does not continue the snapshot at LSN {snap_lsn}: {e}",
                    dir.display()
                )
            })?;
            let mut n = 0u64;
            loop {
                match reader.next() {
                    Ok(Some(ReadItem::Record { lsn, kind, payload })) => {
                        apply_record(ks, kind, &payload).map_err(|e| {
                            anyhow::anyhow!(
                                "cannot replay log record at LSN {lsn} in {}: {e}",
                                dir.display()
                            )
                        })?;
                        last = lsn;
                        n += 1;
                        if n % PROGRESS_EVERY == 0 {
                            tracing::info!(records = n, lsn, "replaying the log");
                        }
                    }
                    Ok(Some(ReadItem::Corrupt { .. })) => {}
                    Ok(None) => break,
                    Err(e) => {
                        return Err(anyhow::anyhow!(
                            "cannot read the log in {}: {e}",
                            dir.display()
                        ))
                    }
                }
            }
            self.stats.replayed_records.store(n, Ordering::Relaxed);
        }
        ks.set_last_lsn(last);
        // Waiters under `always` wake on every durable step, and on failure.
        let gate = self.durable.clone();
        let weak: Weak<Wal<LogStorage>> = Arc::downgrade(&wal);
        let ks_weak = Arc::downgrade(ks);
        wal.set_durable_listener(Box::new(move |lsn| {
            if let (Some(w), Some(ks)) = (weak.upgrade(), ks_weak.upgrade()) {
                if let Some(f) = w.failure() {
                    ks.note_log_failure(f);
                    gate.fail();
                }
            }
            gate.advance(lsn);
        }));
        self.durable.advance(wal.durable_lsn());
        wal.set_retention_floor("snapshot", Some(snap_lsn + 1));
        if let Err(e) = wal.apply_retention() {
            tracing::warn!("log retention: {e}");
        }
        self.stats
            .log_bytes_after_snapshot
            .store(wal.status().bytes, Ordering::Relaxed);
        ks.set_log(Arc::new(WalLog(wal.clone())));
        self.wal = Some(wal);
        Ok(())
    }

    /// The fsync policy in force (None without a log).
    pub fn policy(&self) -> Option<FsyncPolicy> {
        self.wal.as_ref().map(|w| w.policy())
    }

    /// Take a snapshot now (blocking; one at a time). Returns its LSN.
    pub fn snapshot_now(&self, ks: &Arc<Keyspace>) -> anyhow::Result<u64> {
        let Some(_guard) = self.saving.try_lock() else {
            anyhow::bail!("Background save already in progress");
        };
        let started = Instant::now();
        let dirty_before = ks.stats.dirty.load(Ordering::Relaxed);
        let result = self.write_snapshot(ks);
        match &result {
            Ok((lsn, keys, bytes)) => {
                let ms = started.elapsed().as_millis() as u64;
                let st = &self.stats;
                st.last_save_ok.store(true, Ordering::Relaxed);
                st.last_save_unix_s
                    .store(ks.now_ms() / 1000, Ordering::Relaxed);
                st.dirty_at_last_save.store(dirty_before, Ordering::Relaxed);
                st.snapshots_taken.fetch_add(1, Ordering::Relaxed);
                st.last_snapshot_lsn.store(*lsn, Ordering::Relaxed);
                st.last_snapshot_keys.store(*keys, Ordering::Relaxed);
                st.last_snapshot_bytes.store(*bytes, Ordering::Relaxed);
                st.last_snapshot_ms.store(ms, Ordering::Relaxed);
                tracing::info!(lsn, keys, bytes, ms, path = %self.snapshot_path.display(), "snapshot written");
                if let Some(wal) = &self.wal {
                    wal.set_retention_floor("snapshot", Some(lsn + 1));
                    match wal.apply_retention() {
                        Ok(removed) if !removed.is_empty() => {
                            tracing::info!(segments = removed.len(), "old log segments removed");
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!("log retention: {e}"),
                    }
                    st.log_bytes_after_snapshot
                        .store(wal.status().bytes, Ordering::Relaxed);
                }
            }
            Err(e) => {
                self.stats.last_save_ok.store(false, Ordering::Relaxed);
                tracing::error!("snapshot failed: {e:#}");
            }
        }
        result.map(|(lsn, _, _)| lsn)
    }

    fn write_snapshot(&self, ks: &Arc<Keyspace>) -> anyhow::Result<(u64, u64, u64)> {
        let mut job = begin_snapshot(ks).map_err(|e| anyhow::anyhow!("{e}"))?;
        let meta = SnapshotMeta {
            lsn: job.lsn(),
            created_unix_ms: ks.now_ms(),
            app: job.app_meta().to_vec(),
        };
        let path = &self.snapshot_path;
        let mut w = SnapshotWriter::create(path, &meta, SnapshotOptions::default())
            .map_err(|e| anyhow::anyhow!("cannot create snapshot {}: {e}", path.display()))?;
        if let Err(e) = job.write(&mut |entry: &[u8]| w.add(entry)) {
            w.abort();
            anyhow::bail!("cannot write snapshot {}: {e}", path.display());
        }
        let lsn = job.lsn();
        drop(job);
        let summary = w
            .finish()
            .map_err(|e| anyhow::anyhow!("cannot finish snapshot {}: {e}", path.display()))?;
        Ok((lsn, summary.entries, summary.bytes))
    }

    /// Start a snapshot on its own thread. Errors if one is running.
    pub fn bgsave(self: &Arc<Self>, ks: &Arc<Keyspace>) -> anyhow::Result<()> {
        if self.bgsave_in_progress.swap(true, Ordering::AcqRel) {
            anyhow::bail!("Background save already in progress");
        }
        self.stats
            .last_bgsave_started_unix_s
            .store(ks.now_ms() / 1000, Ordering::Relaxed);
        let me = self.clone();
        let ks = ks.clone();
        let spawned = std::thread::Builder::new()
            .name("vole-snapshot".into())
            .spawn(move || {
                let _ = me.snapshot_now(&ks);
                me.bgsave_in_progress.store(false, Ordering::Release);
            });
        if let Err(e) = spawned {
            self.bgsave_in_progress.store(false, Ordering::Release);
            anyhow::bail!("cannot start the snapshot thread: {e}");
        }
        Ok(())
    }

    /// Whether a snapshot is due: the interval has passed with changes, or the log has grown
    /// past the compaction threshold.
    pub fn snapshot_due(&self, config: &Config, ks: &Keyspace) -> Option<&'static str> {
        if self.bgsave_in_progress.load(Ordering::Relaxed) {
            return None;
        }
        let st = &self.stats;
        let changed =
            ks.stats.dirty.load(Ordering::Relaxed) != st.dirty_at_last_save.load(Ordering::Relaxed);
        let now_s = ks.now_ms() / 1000;
        let since = now_s - st.last_save_unix_s.load(Ordering::Relaxed);
        if config.snapshot_interval_s > 0 && changed && since >= config.snapshot_interval_s as i64 {
            return Some("interval");
        }
        if let Some(wal) = &self.wal {
            let pct = config.auto_aof_rewrite_percentage;
            if pct > 0 {
                let grown = wal
                    .status()
                    .bytes
                    .saturating_sub(st.log_bytes_after_snapshot.load(Ordering::Relaxed));
                let base = st.last_snapshot_bytes.load(Ordering::Relaxed);
                if grown >= config.auto_aof_rewrite_min_size
                    && u128::from(grown) * 100 >= u128::from(base) * u128::from(pct)
                {
                    return Some("log growth");
                }
            }
        }
        None
    }

    /// Flush and fsync the log (shutdown).
    pub fn close_log(&self) {
        if let Some(wal) = &self.wal {
            if let Err(e) = wal.close() {
                tracing::error!("closing the log: {e}");
            }
        }
    }
}
