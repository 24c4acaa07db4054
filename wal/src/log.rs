//! The log: records appended in LSN order to a chain of segment files, written and synced by
//! one background thread according to the fsync policy.
//!
//! # Behaviour
//!
//! - [`Wal::append`] gives the record the next LSN and copies it into an in-memory pending
//!   buffer; it never waits for I/O. It blocks only when the pending buffer holds more than
//!   [`PENDING_LIMIT_BYTES`], until the flusher has taken it (so memory stays bounded when the
//!   disk is slower than the writers).
//! - One flusher thread (`vole-wal`) takes the whole pending buffer at a time, hands it to the
//!   storage, and syncs according to [`FsyncPolicy`]:
//!   `Always` syncs after every round, so appends that arrive during a sync share the next one
//!   (group commit); `EverySec` writes at once and syncs when at least
//!   [`EVERYSEC_INTERVAL`] passed since the last sync; `No` writes at once and syncs only at
//!   rollover, [`Wal::sync_now`], [`Wal::wait_durable`] and close.
//! - Inline sync (`Always` only): a caller that appends with [`Wal::append_deferring`] does
//!   not wake the flusher for a small group; at the end of its round it calls
//!   [`Wal::sync_inline`], which writes and syncs the pending records on the caller's thread
//!   if nobody else is writing and the group is small, or else returns `false` and the caller
//!   [`Wal::kick`]s the flusher. Whoever writes holds the one writer core (active segment,
//!   last written LSN), and the pending buffer is only taken by its holder, so records reach
//!   the file in LSN order whichever thread writes them. This is Redis's shape for
//!   `appendfsync always` (the event loop syncs before it goes back to waiting) without its
//!   cost for large groups, which the flusher syncs while the connection threads go on.
//! - Rollover: a record that would take the active segment past `segment_bytes` goes to a new
//!   segment named by its LSN, after the old segment is synced. A record is never split; a
//!   record larger than `segment_bytes` sits alone in its segment.
//! - Preallocation: under `Always`, after each sync the flusher keeps up to
//!   [`PREALLOCATE_AHEAD_BYTES`] of zeros written after the last record (never past
//!   `segment_bytes`), and the next records overwrite them. A sync then writes the new data
//!   only, not the file's size and block map too: on this machine's ext4 that took the
//!   cost of a sync from 167-178 us to 104-118 us (zero-filling included). The zeros are cut
//!   off when the segment is rolled over or the log is closed; after a crash the newest
//!   segment ends in zeros, which the recovery table cuts like a torn tail and
//!   [`TornTail::zero_filled`] tells apart from one.
//! - Open: every segment is scanned with the recovery table of [`crate::recover`]; a torn tail
//!   of the newest segment is truncated (the file removed when no whole record is left in it),
//!   corrupt records are reported and left alone, a bad header stops the open. The newest
//!   segment is then synced, and new records always go to a new segment: a file found at open
//!   is never appended to. The caller logs what the returned [`OpenReport`] lists.
//! - A failed write or sync poisons the log for good: after a failed fsync the kernel may have
//!   dropped the dirty pages, so retrying could report data durable that is not. Waiters get
//!   [`WalError::Failed`], the durable listener is called once more, appends are refused.
//! - Retention: holders (a snapshot, a replica) set floors; [`Wal::apply_retention`] deletes
//!   the segments whose records are all below the lowest floor, never the newest segment.
//!
//! [`Wal`] is shared as `Arc<Wal<S>>`; readers from any LSN are [`crate::tail::WalReader`]s.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::record::{encode_record, DEFAULT_MAX_RECORD_PAYLOAD_BYTES, RECORD_HEADER_LEN};
use crate::recover::{scan_segment_with, SegmentEnd};
use crate::segment::{parse_segment_file_name, segment_file_name, HeaderError, SegmentWriter};
use crate::storage::Storage;
use crate::tail::{ReadError, WalReader};

/// Default size at which the active segment is rolled over, in bytes.
pub const DEFAULT_SEGMENT_BYTES: u64 = 64 << 20;

/// Pending (appended, not yet written) bytes above which [`Wal::append`] waits for the flusher.
pub const PENDING_LIMIT_BYTES: usize = 64 << 20;

/// Under `everysec` and `no`, how long the flusher lets appends gather before handing them to
/// the storage: the most a process crash (not a power cut) can lose under those policies.
pub const WRITE_COALESCE: Duration = Duration::from_millis(1);

/// ... unless this much is already pending.
const COALESCE_MAX_BYTES: usize = 1 << 20;

/// Under [`FsyncPolicy::EverySec`], the longest time written data stays unsynced while the
/// flusher is idle.
pub const EVERYSEC_INTERVAL: Duration = Duration::from_secs(1);

/// Under [`FsyncPolicy::Always`], how far ahead of the last record the active segment is
/// filled with zeros (topped up when less than half of it is left), so that a sync only
/// writes data instead of also growing the file.
pub const PREALLOCATE_AHEAD_BYTES: u64 = 1 << 20;

/// [`Wal::sync_inline`] leaves the sync to the flusher while the last sync took longer than
/// this: on a slow disk a caller's thread would stall for that long (a connection thread
/// serving reads too), while the flusher syncs without stopping anyone else.
pub const INLINE_SYNC_MAX_FSYNC: Duration = Duration::from_millis(1);

/// When the log syncs what it wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// Sync after every write round; an append is durable when [`Wal::durable_lsn`] reaches it.
    Always,
    /// Write at once, sync about once a second.
    EverySec,
    /// Write at once, leave syncing to the OS (except at rollover, sync requests and close).
    No,
}

impl FsyncPolicy {
    fn code(self) -> u8 {
        match self {
            FsyncPolicy::Always => 0,
            FsyncPolicy::EverySec => 1,
            FsyncPolicy::No => 2,
        }
    }

    fn from_code(c: u8) -> FsyncPolicy {
        match c {
            0 => FsyncPolicy::Always,
            1 => FsyncPolicy::EverySec,
            _ => FsyncPolicy::No,
        }
    }

    /// The name used in configuration: `always`, `everysec` or `no`.
    pub fn as_str(self) -> &'static str {
        match self {
            FsyncPolicy::Always => "always",
            FsyncPolicy::EverySec => "everysec",
            FsyncPolicy::No => "no",
        }
    }
}

/// A policy name other than `always`, `everysec` or `no`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown fsync policy {0:?} (expected always, everysec or no)")]
pub struct UnknownFsyncPolicy(pub String);

impl FromStr for FsyncPolicy {
    type Err = UnknownFsyncPolicy;

    /// Parses `always`, `everysec` or `no`, ignoring ASCII case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [FsyncPolicy::Always, FsyncPolicy::EverySec, FsyncPolicy::No]
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownFsyncPolicy(s.to_owned()))
    }
}

/// Settings for [`Wal::open`].
#[derive(Debug, Clone)]
pub struct WalOptions {
    /// Size at which the active segment is rolled over, in bytes.
    pub segment_bytes: u64,
    /// The initial fsync policy (see [`Wal::set_policy`]).
    pub fsync: FsyncPolicy,
    /// Largest payload accepted by [`Wal::append`] and read back, in bytes.
    pub max_record_payload: usize,
}

impl Default for WalOptions {
    fn default() -> Self {
        Self {
            segment_bytes: DEFAULT_SEGMENT_BYTES,
            fsync: FsyncPolicy::EverySec,
            max_record_payload: DEFAULT_MAX_RECORD_PAYLOAD_BYTES,
        }
    }
}

/// A torn tail found (and, by [`Wal::open`], cut off) at the end of the newest segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    /// The segment file name.
    pub segment: String,
    /// Where the last whole record ends; the file is cut to this length (or removed when it
    /// is shorter than a segment header).
    pub offset: u64,
    /// Bytes after `offset` that were dropped.
    pub dropped_bytes: u64,
    /// Every dropped byte was zero: space preallocated under `always` that no record reached
    /// (or a write whose data never landed), not part of a record.
    pub zero_filled: bool,
}

/// A damaged record found by the recovery scan; the rest of its segment is skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorruptAt {
    /// The segment file name.
    pub segment: String,
    /// Offset of the damaged record in the segment.
    pub offset: u64,
    /// The last good LSN before it in the same segment, if any.
    pub after_lsn: Option<u64>,
    /// What is wrong.
    pub reason: String,
}

/// What opening (or verifying) the log found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OpenReport {
    /// Segment files kept.
    pub segments: usize,
    /// LSN of the oldest whole record, if any.
    pub first_lsn: Option<u64>,
    /// LSN of the newest whole record, if any.
    pub last_lsn: Option<u64>,
    /// Whole, checked records in all segments.
    pub records: u64,
    /// The torn tail of the newest segment, if there was one.
    pub torn_tail: Option<TornTail>,
    /// Damaged records, in segment order.
    pub corrupt: Vec<CorruptAt>,
    /// The LSN the next append gets (for [`verify_log`], as if opened with
    /// `next_lsn_at_least` 0).
    pub next_lsn: u64,
}

/// A storage error, with the file (or `directory`) it happened on.
#[derive(Debug, thiserror::Error)]
#[error("{target}: {source}")]
pub struct StorageIo {
    /// The segment file name, or `directory` for listing and directory syncs.
    pub target: String,
    /// The underlying error.
    #[source]
    pub source: io::Error,
}

impl StorageIo {
    pub(crate) fn new(target: impl Into<String>, source: io::Error) -> Self {
        Self {
            target: target.into(),
            source,
        }
    }
}

/// Why [`Wal::open`] or [`verify_log`] failed.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// A segment's header is unusable; the file is left as it is.
    #[error("WAL segment {segment}: {reason}")]
    BadHeader {
        /// The segment file name.
        segment: String,
        /// What is wrong with the header.
        reason: HeaderError,
    },
    /// The storage failed while scanning or repairing.
    #[error("WAL storage error on {0}")]
    Io(StorageIo),
    /// The flusher thread could not be started.
    #[error("cannot start the WAL flusher thread: {0}")]
    Spawn(io::Error),
}

/// Why a [`Wal`] call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalError {
    /// A write or sync failed earlier; the log refuses writes until restart.
    #[error("the WAL failed and refuses writes until restart: {0}")]
    Failed(String),
    /// The payload is above `max_record_payload` (or a record's 32-bit length).
    #[error("record payload of {0} bytes is over the limit")]
    PayloadTooLarge(usize),
    /// The log was closed (or dropped).
    #[error("the WAL is closed")]
    Closed,
    /// Deleting an old segment failed; the log itself is unharmed.
    #[error("WAL retention could not delete {segment}: {reason}")]
    Retention {
        /// The segment file name (or `directory` for the directory sync).
        segment: String,
        /// The storage error.
        reason: String,
    },
}

/// A point-in-time view of the log, for `INFO` and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalStatus {
    /// Segment files retained.
    pub segments: usize,
    /// Bytes in those files, headers included.
    pub bytes: u64,
    /// First LSN the oldest retained segment may hold, or the next LSN when there is none.
    pub first_lsn: u64,
    /// Last LSN appended.
    pub last_lsn: u64,
    /// Last LSN handed to the storage.
    pub written_lsn: u64,
    /// Last LSN known synced.
    pub durable_lsn: u64,
    /// Segment syncs done since open.
    pub fsyncs: u64,
    /// How long the last segment sync took, in microseconds.
    pub last_fsync_micros: u64,
    /// Why the log failed, once it has.
    pub failure: Option<String>,
    /// Damaged records found at open (each skips the rest of its segment).
    pub corrupt_records_skipped: u64,
    /// The current fsync policy.
    pub policy: FsyncPolicy,
}

type Listener = Arc<dyn Fn(u64) + Send + Sync>;

/// A retained segment, as the writer knows it.
#[derive(Debug, Clone)]
pub(crate) struct SegmentMeta {
    pub(crate) first_lsn: u64,
    pub(crate) name: String,
    /// Bytes handed to the storage, header included. Readers never look past this.
    pub(crate) bytes: u64,
}

struct State {
    pending: Vec<u8>,
    next_lsn: u64,
    written: u64,
    durable: u64,
    /// Highest LSN someone asked to be made durable now (wait_durable, sync_now, close).
    sync_target: u64,
    policy: FsyncPolicy,
    failure: Option<String>,
    /// Appends are refused.
    closed: bool,
    /// The flusher exits once everything is written and synced.
    stop: bool,
    flusher_done: bool,
    /// Bumped on every write, segment creation, failure and flusher exit; readers wait on it.
    write_gen: u64,
    /// Records were written since the last sync.
    unsynced: bool,
    last_sync: Instant,
    /// The flusher is waiting on `work` (so an append must wake it).
    flusher_waiting: bool,
    /// Threads waiting on `durable_cv` and `written_cv`: a condvar notify is a system call
    /// even with nobody waiting, and the flusher would make two per round for nobody.
    durable_waiters: usize,
    write_waiters: usize,
}

/// What the [`Wal`] handle, its flusher and its readers share.
pub(crate) struct Shared<S> {
    pub(crate) storage: S,
    pub(crate) max_record_payload: usize,
    segment_bytes: u64,
    state: Mutex<State>,
    /// Wakes the flusher: work arrived, a sync was asked for, the policy changed, or stop.
    work: Condvar,
    /// Wakes durable waiters.
    durable_cv: Condvar,
    /// Wakes appenders waiting for room in the pending buffer.
    space_cv: Condvar,
    /// Wakes readers waiting for new bytes.
    written_cv: Condvar,
    segments: Mutex<Vec<SegmentMeta>>,
    floors: Mutex<BTreeMap<Cow<'static, str>, u64>>,
    listener: Mutex<Option<Listener>>,
    retention: Mutex<()>,
    last_lsn: AtomicU64,
    written_lsn: AtomicU64,
    durable_lsn: AtomicU64,
    fsyncs: AtomicU64,
    last_fsync_micros: AtomicU64,
    corrupt_records_skipped: u64,
    /// A lock-free copy of `State::policy` (as [`FsyncPolicy::code`]), read on every write
    /// reply by the server; `State::policy` stays the flusher's.
    policy_code: AtomicU8,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing below leaves shared state half-changed across a panic, so go on after one.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn wait<'a, T>(cv: &Condvar, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
    cv.wait(guard).unwrap_or_else(PoisonError::into_inner)
}

fn wait_timeout<'a, T>(cv: &Condvar, guard: MutexGuard<'a, T>, d: Duration) -> MutexGuard<'a, T> {
    match cv.wait_timeout(guard, d) {
        Ok((guard, _)) => guard,
        Err(poisoned) => poisoned.into_inner().0,
    }
}

impl<S> Shared<S> {
    /// The retained segment named by `first_lsn`, if it is still listed.
    pub(crate) fn segment(&self, first_lsn: u64) -> Option<SegmentMeta> {
        lock(&self.segments)
            .iter()
            .find(|m| m.first_lsn == first_lsn)
            .cloned()
    }

    /// The first retained segment after the one named by `first_lsn`.
    pub(crate) fn segment_after(&self, first_lsn: u64) -> Option<SegmentMeta> {
        lock(&self.segments)
            .iter()
            .find(|m| m.first_lsn > first_lsn)
            .cloned()
    }

    /// The retained segments, oldest first.
    pub(crate) fn segment_list(&self) -> Vec<SegmentMeta> {
        lock(&self.segments).clone()
    }

    /// The first LSN a reader can start from: the oldest segment's, or the next LSN.
    pub(crate) fn oldest_lsn(&self) -> u64 {
        let oldest = lock(&self.segments).first().map(|m| m.first_lsn);
        oldest.unwrap_or_else(|| lock(&self.state).next_lsn)
    }

    pub(crate) fn write_generation(&self) -> u64 {
        lock(&self.state).write_gen
    }

    /// Waits until the write generation differs from `seen` or `timeout` passes.
    pub(crate) fn wait_write(&self, seen: u64, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut st = lock(&self.state);
        while st.write_gen == seen {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            st.write_waiters += 1;
            st = wait_timeout(&self.written_cv, st, left);
            st.write_waiters -= 1;
        }
    }

    fn listener(&self) -> Option<Listener> {
        lock(&self.listener).clone()
    }

    fn notify_all(&self) {
        self.work.notify_all();
        self.durable_cv.notify_all();
        self.space_cv.notify_all();
        self.written_cv.notify_all();
    }
}

/// The write-ahead log over one storage directory. See the module docs.
pub struct Wal<S: Storage> {
    shared: Arc<Shared<S>>,
    flusher: Mutex<Option<JoinHandle<()>>>,
    core: Arc<Mutex<Core<S>>>,
}

/// One segment as the open-time scan found it.
struct Scanned {
    first_lsn: u64,
    name: String,
    len: u64,
    records: u64,
    last_lsn: Option<u64>,
    end: SegmentEnd,
}

/// What to do to the newest segment before writing.
enum Repair {
    None,
    Truncate { name: String, len: u64 },
    Remove { name: String },
}

struct Plan {
    report: OpenReport,
    kept: Vec<Scanned>,
    repair: Repair,
}

/// Scans every segment (read-only) and decides the repairs the recovery table asks for.
fn plan<S: Storage>(storage: &S, max_record_payload: usize) -> Result<Plan, OpenError> {
    let names = storage
        .list()
        .map_err(|e| OpenError::Io(StorageIo::new("directory", e)))?;
    let mut segments: Vec<(u64, String)> = names
        .into_iter()
        .filter_map(|name| parse_segment_file_name(&name).map(|lsn| (lsn, name)))
        .collect();
    segments.sort();
    let mut report = OpenReport::default();
    let mut kept = Vec::with_capacity(segments.len());
    let count = segments.len();
    for (i, (first_lsn, name)) in segments.into_iter().enumerate() {
        let bytes = storage
            .read_all(&name)
            .map_err(|e| OpenError::Io(StorageIo::new(name.clone(), e)))?;
        let mut first_record = None;
        let scan = scan_segment_with(&bytes, max_record_payload, |lsn, _, _| {
            first_record.get_or_insert(lsn);
        });
        if let SegmentEnd::BadHeader { reason } = scan.end {
            return Err(OpenError::BadHeader {
                segment: name,
                reason,
            });
        }
        report.records += scan.records as u64;
        if report.first_lsn.is_none() {
            report.first_lsn = first_record;
        }
        report.last_lsn = scan.last_lsn.or(report.last_lsn);
        let newest = i + 1 == count;
        match scan.end {
            SegmentEnd::TornTail { valid_len } if newest => {
                let dropped = bytes.get(valid_len..).unwrap_or_default();
                report.torn_tail = Some(TornTail {
                    segment: name.clone(),
                    offset: valid_len as u64,
                    dropped_bytes: dropped.len() as u64,
                    zero_filled: dropped.iter().all(|&b| b == 0),
                });
            }
            SegmentEnd::TornTail { valid_len } => report.corrupt.push(CorruptAt {
                segment: name.clone(),
                offset: valid_len as u64,
                after_lsn: scan.last_lsn,
                reason: "torn tail in a segment that is not the newest".to_owned(),
            }),
            SegmentEnd::CorruptRecord { offset, reason, .. } => report.corrupt.push(CorruptAt {
                segment: name.clone(),
                offset: offset as u64,
                after_lsn: scan.last_lsn,
                reason: reason.to_string(),
            }),
            SegmentEnd::CleanEnd | SegmentEnd::BadHeader { .. } => {}
        }
        kept.push(Scanned {
            first_lsn,
            name,
            len: bytes.len() as u64,
            records: scan.records as u64,
            last_lsn: scan.last_lsn,
            end: scan.end,
        });
    }
    // Empty segments still claim their names, so count them before any is removed.
    report.next_lsn = next_lsn_after(&kept, 0);
    let mut repair = Repair::None;
    if let Some(newest) = kept.last_mut() {
        match newest.end {
            // Nothing whole in it (not even a header, or only one): new records go to a new
            // segment anyway, possibly of the same name, so remove it.
            SegmentEnd::CleanEnd | SegmentEnd::TornTail { .. } if newest.records == 0 => {
                repair = Repair::Remove {
                    name: newest.name.clone(),
                };
                kept.pop();
            }
            SegmentEnd::TornTail { valid_len } => {
                newest.len = valid_len as u64;
                repair = Repair::Truncate {
                    name: newest.name.clone(),
                    len: newest.len,
                };
            }
            _ => {}
        }
    }
    report.segments = kept.len();
    Ok(Plan {
        report,
        kept,
        repair,
    })
}

/// The LSN after everything in `kept`: above every record and at least every segment's first
/// LSN (an empty segment still claims its name), at least `at_least`, and at least 1.
fn next_lsn_after(kept: &[Scanned], at_least: u64) -> u64 {
    kept.iter()
        .map(|s| match s.last_lsn {
            Some(last) => last.saturating_add(1),
            None => s.first_lsn,
        })
        .fold(at_least.max(1), u64::max)
}

/// Scans a log directory without changing anything: what [`Wal::open`] would find, repair and
/// report (a torn tail is reported, not cut). For offline checks such as `vole-tool wal verify`.
///
/// Errors if the storage fails or a segment header is bad.
pub fn verify_log<S: Storage>(
    storage: &S,
    max_record_payload: usize,
) -> Result<OpenReport, OpenError> {
    plan(storage, max_record_payload).map(|p| p.report)
}

impl<S> Wal<S>
where
    S: Storage + Clone + Send + Sync + 'static,
    S::File: Send,
{
    /// Recovers the log in `storage` and starts the flusher thread.
    ///
    /// Applies the recovery table (see the module docs); the report says what was found. The
    /// next LSN is above every record found and at least `next_lsn_at_least` (a caller that
    /// loaded a snapshot at LSN `s` passes `s + 1`); an empty storage starts at 1.
    ///
    /// Errors if a segment header is bad, the storage fails, or the thread cannot start.
    pub fn open(
        storage: S,
        opts: WalOptions,
        next_lsn_at_least: u64,
    ) -> Result<(Arc<Self>, OpenReport), OpenError> {
        let Plan {
            mut report,
            kept,
            repair,
        } = plan(&storage, opts.max_record_payload)?;
        let io = |target: &str| {
            let target = target.to_owned();
            move |e| OpenError::Io(StorageIo::new(target, e))
        };
        match &repair {
            Repair::Truncate { name, len } => storage.truncate(name, *len).map_err(io(name))?,
            Repair::Remove { name } => {
                storage.remove(name).map_err(io(name))?;
                storage.sync_dir().map_err(io("directory"))?;
            }
            Repair::None => {
                // A process killed under `everysec` or `no` leaves unsynced bytes in the
                // newest segment. Sync them before building on them, or a later power cut
                // could drop them while newer segments survive.
                if let Some(newest) = kept.last() {
                    let mut file = storage
                        .open_append(&newest.name)
                        .map_err(io(&newest.name))?;
                    storage.sync(&mut file).map_err(io(&newest.name))?;
                }
            }
        }
        let next_lsn = report.next_lsn.max(next_lsn_at_least);
        report.next_lsn = next_lsn;
        let last = next_lsn - 1;
        let metas = kept
            .iter()
            .map(|s| SegmentMeta {
                first_lsn: s.first_lsn,
                name: s.name.clone(),
                bytes: s.len,
            })
            .collect();
        let shared = Arc::new(Shared {
            storage: storage.clone(),
            max_record_payload: opts.max_record_payload,
            segment_bytes: opts.segment_bytes,
            state: Mutex::new(State {
                pending: Vec::new(),
                next_lsn,
                written: last,
                durable: last,
                sync_target: last,
                policy: opts.fsync,
                failure: None,
                closed: false,
                stop: false,
                flusher_done: false,
                write_gen: 0,
                unsynced: false,
                last_sync: Instant::now(),
                flusher_waiting: false,
                durable_waiters: 0,
                write_waiters: 0,
            }),
            work: Condvar::new(),
            durable_cv: Condvar::new(),
            space_cv: Condvar::new(),
            written_cv: Condvar::new(),
            segments: Mutex::new(metas),
            floors: Mutex::new(BTreeMap::new()),
            listener: Mutex::new(None),
            retention: Mutex::new(()),
            last_lsn: AtomicU64::new(last),
            written_lsn: AtomicU64::new(last),
            durable_lsn: AtomicU64::new(last),
            fsyncs: AtomicU64::new(0),
            last_fsync_micros: AtomicU64::new(0),
            policy_code: AtomicU8::new(opts.fsync.code()),
            corrupt_records_skipped: report.corrupt.len() as u64,
        });
        let core = Arc::new(Mutex::new(Core {
            active: None,
            written: last,
            spare: Vec::new(),
            announce: None,
        }));
        let flusher = Flusher {
            shared: shared.clone(),
            core: core.clone(),
        };
        let handle = std::thread::Builder::new()
            .name("vole-wal".to_owned())
            .spawn(move || flusher.run())
            .map_err(OpenError::Spawn)?;
        let wal = Arc::new(Self {
            shared,
            flusher: Mutex::new(Some(handle)),
            core,
        });
        Ok((wal, report))
    }

    /// Appends a record and returns its LSN. The record is durable once
    /// [`Self::durable_lsn`] reaches it.
    ///
    /// Never waits for I/O, except that it waits for the flusher while more than
    /// [`PENDING_LIMIT_BYTES`] are pending. Errors if the payload is over the limit, the log
    /// has failed, or it is closed.
    pub fn append(&self, kind: u8, payload: &[u8]) -> Result<u64, WalError> {
        self.append_deferring(kind, payload, 0)
    }

    /// [`Self::append`], except that the flusher is woken only once more than `defer_bytes`
    /// are pending: the caller promises to call [`Self::sync_inline`] or [`Self::kick`] soon
    /// (a connection thread under `always` does, at the end of its round).
    pub fn append_deferring(
        &self,
        kind: u8,
        payload: &[u8],
        defer_bytes: usize,
    ) -> Result<u64, WalError> {
        let sh = &*self.shared;
        if payload.len() > sh.max_record_payload {
            return Err(WalError::PayloadTooLarge(payload.len()));
        }
        let mut st = lock(&sh.state);
        loop {
            if let Some(reason) = &st.failure {
                return Err(WalError::Failed(reason.clone()));
            }
            if st.closed {
                return Err(WalError::Closed);
            }
            if st.pending.len() < PENDING_LIMIT_BYTES {
                break;
            }
            st = wait(&sh.space_cv, st);
        }
        let lsn = st.next_lsn;
        let next = lsn
            .checked_add(1)
            .ok_or_else(|| WalError::Failed("LSN space exhausted".to_owned()))?;
        let before = st.pending.len();
        encode_record(lsn, kind, payload, &mut st.pending)
            .map_err(|e| WalError::PayloadTooLarge(e.0))?;
        st.next_lsn = next;
        sh.last_lsn.store(lsn, Ordering::Release);
        // The flusher sleeps only while nothing is pending; busy, it takes this on its own.
        let wake = before <= defer_bytes && st.pending.len() > defer_bytes && st.flusher_waiting;
        drop(st);
        if wake {
            sh.work.notify_one();
        }
        Ok(lsn)
    }

    /// The last LSN appended (at open: the last one recovered, or `next_lsn_at_least - 1` if
    /// higher; 0 for an empty log).
    pub fn last_lsn(&self) -> u64 {
        self.shared.last_lsn.load(Ordering::Acquire)
    }

    /// The last LSN handed to the storage.
    pub fn written_lsn(&self) -> u64 {
        self.shared.written_lsn.load(Ordering::Acquire)
    }

    /// The last LSN known synced.
    pub fn durable_lsn(&self) -> u64 {
        self.shared.durable_lsn.load(Ordering::Acquire)
    }

    /// Blocks until `lsn` is durable. Under `EverySec` and `No` it asks the flusher to sync
    /// now rather than waiting for its schedule. An LSN above [`Self::last_lsn`] is taken as
    /// the last one.
    ///
    /// Errors with [`WalError::Failed`] if the log failed before `lsn` became durable, and
    /// [`WalError::Closed`] if the flusher stopped first.
    pub fn wait_durable(&self, lsn: u64) -> Result<(), WalError> {
        let sh = &*self.shared;
        let mut st = lock(&sh.state);
        let lsn = lsn.min(st.next_lsn - 1);
        loop {
            if st.durable >= lsn {
                return Ok(());
            }
            if let Some(reason) = &st.failure {
                return Err(WalError::Failed(reason.clone()));
            }
            if st.flusher_done {
                return Err(WalError::Closed);
            }
            if st.sync_target < lsn {
                st.sync_target = lsn;
                sh.work.notify_one();
            }
            st.durable_waiters += 1;
            st = wait(&sh.durable_cv, st);
            st.durable_waiters -= 1;
        }
    }

    /// Under `always`, writes what is pending and syncs it on the calling thread, then tells
    /// the listener, unless someone else is writing the log right now (the flusher takes
    /// those records itself after its round) or more than `max_pending_bytes` are pending
    /// (the flusher's thread is better at large groups: the caller's thread would be blocked
    /// for the write), or the last sync took longer than [`INLINE_SYNC_MAX_FSYNC`]. Returns
    /// `false` when it left the records to the flusher: call [`Self::kick`] then. A failure
    /// poisons the log as the flusher's would.
    pub fn sync_inline(&self, max_pending_bytes: usize) -> bool {
        let sh = &*self.shared;
        let slow = Duration::from_micros(sh.last_fsync_micros.load(Ordering::Relaxed))
            > INLINE_SYNC_MAX_FSYNC;
        if slow {
            return false;
        }
        let Ok(mut core) = self.core.try_lock() else {
            return false;
        };
        let batch = {
            let mut st = lock(&sh.state);
            if st.failure.is_some()
                || st.stop
                || st.policy != FsyncPolicy::Always
                || st.pending.len() > max_pending_bytes
            {
                return false;
            }
            if st.pending.is_empty() && !st.unsynced {
                return true;
            }
            std::mem::replace(&mut st.pending, std::mem::take(&mut core.spare))
        };
        let result = core.write(sh, &batch).and_then(|()| core.sync(sh));
        core.recycle(batch);
        let announce = core.announce.take();
        drop(core);
        match result {
            Ok(()) => {
                announce_durable(sh, announce);
                // Never wait here for the flusher's round (it may be in an fsync): if it holds
                // the writer, it tops the zeros up itself when its round ends.
                if let Ok(mut core) = self.core.try_lock() {
                    if let Err(reason) = core.preallocate_ahead(sh) {
                        drop(core);
                        fail(sh, reason);
                    }
                }
            }
            Err(reason) => fail(sh, reason),
        }
        true
    }

    /// Wakes the flusher if records are pending and it sleeps (after
    /// [`Self::append_deferring`], when [`Self::sync_inline`] left them to it).
    pub fn kick(&self) {
        let sh = &*self.shared;
        let st = lock(&sh.state);
        let wake = !st.pending.is_empty() && st.flusher_waiting;
        drop(st);
        if wake {
            sh.work.notify_one();
        }
    }

    /// Writes and syncs everything appended so far; returns the durable LSN.
    ///
    /// Errors if the log has failed (even when nothing was left to sync) or is closed with
    /// records not yet durable.
    pub fn sync_now(&self) -> Result<u64, WalError> {
        if let Some(reason) = self.failure() {
            return Err(WalError::Failed(reason));
        }
        self.wait_durable(self.last_lsn())?;
        Ok(self.durable_lsn())
    }

    /// Sets the function called after the durable LSN advances (with the new durable LSN),
    /// and once more with the current durable LSN when the log fails. It runs on the flusher
    /// thread or on a thread in [`Self::sync_inline`], so it should be quick; two threads may
    /// call it at once, and a smaller LSN may arrive after a larger one (keep the maximum).
    /// It must not hold the last `Arc<Wal>` (that would keep the log alive forever).
    pub fn set_durable_listener(&self, f: Box<dyn Fn(u64) + Send + Sync>) {
        *lock(&self.shared.listener) = Some(Arc::from(f));
    }

    /// Why the log failed, once a write or sync has failed; it stays failed until restart.
    pub fn failure(&self) -> Option<String> {
        lock(&self.shared.state).failure.clone()
    }

    /// Changes the fsync policy; the flusher uses it from its next round.
    pub fn set_policy(&self, p: FsyncPolicy) {
        let mut st = lock(&self.shared.state);
        st.policy = p;
        self.shared.policy_code.store(p.code(), Ordering::Release);
        drop(st);
        self.shared.work.notify_one();
    }

    /// The current fsync policy.
    pub fn policy(&self) -> FsyncPolicy {
        FsyncPolicy::from_code(self.shared.policy_code.load(Ordering::Acquire))
    }

    /// Sets (`Some`) or removes (`None`) the retention floor of `holder`: the lowest LSN it
    /// still needs, or for a snapshot the LSN it covers. [`Self::apply_retention`] keeps
    /// every record at or above the lowest floor.
    pub fn set_retention_floor(&self, holder: impl Into<Cow<'static, str>>, lsn: Option<u64>) {
        let mut floors = lock(&self.shared.floors);
        match lsn {
            Some(lsn) => floors.insert(holder.into(), lsn),
            None => floors.remove(&holder.into()),
        };
    }

    /// Deletes the segments whose records are all below the lowest retention floor (the
    /// following segment's first LSN is at or below it), then syncs the directory. Never
    /// deletes the newest segment, and deletes nothing while no floor is set. Returns the
    /// names deleted.
    ///
    /// Errors if a removal or the directory sync fails; the log itself is unharmed.
    pub fn apply_retention(&self) -> Result<Vec<String>, WalError> {
        let sh = &*self.shared;
        let _one_at_a_time = lock(&sh.retention);
        let Some(floor) = lock(&sh.floors).values().copied().min() else {
            return Ok(Vec::new());
        };
        let mut removed = Vec::new();
        loop {
            // Unlist first so no new reader picks the segment, then delete the file.
            let victim = {
                let mut segs = lock(&sh.segments);
                match segs.get(1) {
                    Some(next) if next.first_lsn <= floor => segs.remove(0),
                    _ => break,
                }
            };
            if let Err(e) = sh.storage.remove(&victim.name) {
                let segment = victim.name.clone();
                lock(&sh.segments).insert(0, victim);
                self.sync_dir_after_removal(&removed)?;
                return Err(WalError::Retention {
                    segment,
                    reason: e.to_string(),
                });
            }
            removed.push(victim.name);
        }
        self.sync_dir_after_removal(&removed)?;
        Ok(removed)
    }

    fn sync_dir_after_removal(&self, removed: &[String]) -> Result<(), WalError> {
        if removed.is_empty() {
            return Ok(());
        }
        self.shared
            .storage
            .sync_dir()
            .map_err(|e| WalError::Retention {
                segment: "directory".to_owned(),
                reason: e.to_string(),
            })
    }

    /// A point-in-time view of the log.
    pub fn status(&self) -> WalStatus {
        let sh = &*self.shared;
        let (segments, bytes, oldest) = {
            let segs = lock(&sh.segments);
            let bytes = segs.iter().map(|s| s.bytes).sum();
            (segs.len(), bytes, segs.first().map(|s| s.first_lsn))
        };
        let st = lock(&sh.state);
        WalStatus {
            segments,
            bytes,
            first_lsn: oldest.unwrap_or(st.next_lsn),
            last_lsn: st.next_lsn - 1,
            written_lsn: st.written,
            durable_lsn: st.durable,
            fsyncs: sh.fsyncs.load(Ordering::Relaxed),
            last_fsync_micros: sh.last_fsync_micros.load(Ordering::Relaxed),
            failure: st.failure.clone(),
            corrupt_records_skipped: sh.corrupt_records_skipped,
            policy: st.policy,
        }
    }

    /// A reader of the records with LSN `from_lsn` and above (0 reads from the start), which
    /// follows the log as it grows and rolls over.
    ///
    /// Errors with [`ReadError::NotRetained`] if records at `from_lsn` were deleted by
    /// retention (or were never in this log, such as those before `next_lsn_at_least`).
    pub fn reader(&self, from_lsn: u64) -> Result<WalReader<S>, ReadError> {
        WalReader::live(self.shared.clone(), from_lsn)
    }

    /// Syncs everything appended, then stops and joins the flusher. Later appends get
    /// [`WalError::Closed`].
    ///
    /// Errors if the final sync fails (or the log had failed already).
    pub fn close(&self) -> Result<(), WalError> {
        let target = {
            let mut st = lock(&self.shared.state);
            st.closed = true;
            st.next_lsn - 1
        };
        self.shared.space_cv.notify_all();
        let synced = self.wait_durable(target);
        self.stop_flusher();
        match self.failure() {
            Some(reason) => Err(WalError::Failed(reason)),
            None => synced,
        }
    }
}

impl<S: Storage> Wal<S> {
    /// Refuses appends, tells the flusher to write and sync what is pending and exit, and
    /// joins it.
    fn stop_flusher(&self) {
        {
            let mut st = lock(&self.shared.state);
            st.closed = true;
            st.stop = true;
        }
        self.shared.notify_all();
        let handle = lock(&self.flusher).take();
        if let Some(handle) = handle {
            // The last handle may be dropped by the listener, on the flusher thread itself.
            if handle.thread().id() != std::thread::current().id() {
                // A panic in the flusher was already turned into a failure by its guard.
                let _ = handle.join();
            }
        }
    }
}

impl<S: Storage> Drop for Wal<S> {
    /// Stops the flusher, which first writes and syncs what is pending.
    fn drop(&mut self) {
        self.stop_flusher();
    }
}

/// The length and LSN of the record starting at `at` in a buffer this module encoded.
fn record_extent(buf: &[u8], at: usize) -> Option<(u64, usize)> {
    let length = u32::from_le_bytes(buf.get(at..at.checked_add(4)?)?.try_into().ok()?);
    let lsn = u64::from_le_bytes(buf.get(at + 4..at.checked_add(12)?)?.try_into().ok()?);
    let len = RECORD_HEADER_LEN.checked_add(usize::try_from(length).ok()?)?;
    (at.checked_add(len)? <= buf.len()).then_some((lsn, len))
}

/// The writing side of the log: the active segment, the last LSN handed to it, and the spare
/// half of the pending double buffer. The flusher thread holds it for a round; under `always`
/// a connection thread may hold it to write and sync inline ([`Wal::sync_inline`]). The
/// pending buffer is only ever taken by whoever holds it, so batches reach the segment in LSN
/// order.
struct Core<S: Storage> {
    active: Option<SegmentWriter<S>>,
    /// Last LSN handed to the storage.
    written: u64,
    /// The other half of the pending double buffer.
    spare: Vec<u8>,
    /// A durable LSN to tell the listener once the core is released (the listener may drop
    /// the last handle to the log, which must not happen with the core held).
    announce: Option<u64>,
}

/// The flusher thread.
struct Flusher<S: Storage> {
    shared: Arc<Shared<S>>,
    core: Arc<Mutex<Core<S>>>,
}

/// Marks the log failed if the flusher thread ends by panicking (a panicking listener, say),
/// so waiters wake with an error instead of hanging.
struct ExitGuard<'a, S>(&'a Shared<S>);

impl<S> Drop for ExitGuard<'_, S> {
    fn drop(&mut self) {
        let mut st = lock(&self.0.state);
        if std::thread::panicking() && st.failure.is_none() {
            st.failure = Some("the WAL flusher thread panicked".to_owned());
        }
        st.flusher_done = true;
        st.write_gen += 1;
        drop(st);
        self.0.notify_all();
    }
}

impl<S: Storage + Clone> Flusher<S> {
    fn run(self) {
        let sh = &*self.shared;
        let _guard = ExitGuard(sh);
        while wait_for_work(sh) {
            let mut core = lock(&self.core);
            let Some((batch, stop)) = core.take_batch(sh) else {
                return;
            };
            let done = stop && batch.is_empty();
            let mut result = core.write(sh, &batch).and_then(|()| core.sync_if_due(sh));
            if done && result.is_ok() {
                result = core.trim_active();
            }
            core.recycle(batch);
            let announce = core.announce.take();
            drop(core);
            if let Err(reason) = result {
                fail(sh, reason);
                return;
            }
            announce_durable(sh, announce);
            if done {
                return;
            }
            if let Err(reason) = lock(&self.core).preallocate_ahead(sh) {
                fail(sh, reason);
                return;
            }
        }
    }
}

/// Waits until the flusher has something to do: pending records, a sync asked for or due, a
/// stop. Without `always`, lets appends gather for [`WRITE_COALESCE`] first. `false` once
/// the log has failed.
fn wait_for_work<S>(sh: &Shared<S>) -> bool {
    let mut st = lock(&sh.state);
    loop {
        if st.failure.is_some() {
            return false;
        }
        let sync_asked = st.sync_target > st.durable && st.unsynced;
        let everysec_due = st.policy == FsyncPolicy::EverySec
            && st.unsynced
            && st.last_sync.elapsed() >= EVERYSEC_INTERVAL;
        if !st.pending.is_empty() || sync_asked || everysec_due || st.stop {
            break;
        }
        st.flusher_waiting = true;
        st = if st.policy == FsyncPolicy::EverySec && st.unsynced {
            let left = EVERYSEC_INTERVAL.saturating_sub(st.last_sync.elapsed());
            wait_timeout(&sh.work, st, left)
        } else {
            wait(&sh.work, st)
        };
        st.flusher_waiting = false;
    }
    // Without `always` nobody waits for this write: let appends gather for a moment, so
    // the log costs one write per few hundred records instead of one wake-up and one
    // write per record.
    let nobody_waits = st.policy != FsyncPolicy::Always
        && !st.stop
        && st.sync_target <= st.durable
        && st.pending.len() < COALESCE_MAX_BYTES;
    if nobody_waits {
        drop(st);
        std::thread::sleep(WRITE_COALESCE);
        return lock(&sh.state).failure.is_none();
    }
    true
}

/// Tells the listener about a durable LSN (after the core is released).
fn announce_durable<S>(sh: &Shared<S>, lsn: Option<u64>) {
    if let (Some(lsn), Some(listener)) = (lsn, sh.listener()) {
        listener(lsn);
    }
}

/// Poisons the log: records why, drops what is pending, wakes everyone, tells the listener.
fn fail<S>(sh: &Shared<S>, reason: String) {
    let durable = {
        let mut st = lock(&sh.state);
        st.failure.get_or_insert(reason);
        st.pending = Vec::new();
        st.write_gen += 1;
        st.durable
    };
    sh.notify_all();
    if let Some(listener) = sh.listener() {
        listener(durable);
    }
}

impl<S: Storage + Clone> Core<S> {
    /// Takes the pending buffer (possibly empty, for a sync or a stop) and whether a stop was
    /// asked. `None` once the log has failed.
    fn take_batch(&mut self, sh: &Shared<S>) -> Option<(Vec<u8>, bool)> {
        let mut st = lock(&sh.state);
        if st.failure.is_some() {
            return None;
        }
        let batch = std::mem::replace(&mut st.pending, std::mem::take(&mut self.spare));
        let stop = st.stop;
        drop(st);
        if batch.len() >= PENDING_LIMIT_BYTES {
            sh.space_cv.notify_all();
        }
        Some((batch, stop))
    }

    fn recycle(&mut self, mut batch: Vec<u8>) {
        batch.clear();
        // Keep the buffer for the next swap unless one huge record blew it up.
        if batch.capacity() <= PENDING_LIMIT_BYTES {
            self.spare = batch;
        }
    }

    /// Hands `batch` to the storage, rolling over as needed.
    fn write(&mut self, sh: &Shared<S>, batch: &[u8]) -> Result<(), String> {
        let segment_bytes = sh.segment_bytes;
        let malformed = || "internal error: malformed pending buffer".to_owned();
        let mut at = 0;
        while at < batch.len() {
            let (first, len) = record_extent(batch, at).ok_or_else(malformed)?;
            let full = self
                .active
                .as_ref()
                .is_none_or(|w| !w.is_empty() && w.len() + len as u64 > segment_bytes);
            if full {
                self.roll(sh, first)?;
            }
            let Some(w) = self.active.as_mut() else {
                return Err(malformed());
            };
            // The first record always goes in (the segment is empty or it fits); take the
            // following ones while they fit.
            let mut size = w.len() + len as u64;
            let mut end = at + len;
            let mut last = first;
            while end < batch.len() {
                let (lsn, len) = record_extent(batch, end).ok_or_else(malformed)?;
                if size + len as u64 > segment_bytes {
                    break;
                }
                size += len as u64;
                end += len;
                last = lsn;
            }
            w.append_encoded(&batch[at..end], first, last)
                .map_err(|e| e.to_string())?;
            self.written = last;
            let (segment, segment_len) = (w.first_lsn(), w.len());
            self.publish_written(sh, segment, segment_len);
            at = end;
        }
        Ok(())
    }

    /// Syncs the active segment, cuts its preallocated zeros, and starts a new one whose
    /// first record is `lsn`.
    fn roll(&mut self, sh: &Shared<S>, lsn: u64) -> Result<(), String> {
        if self.active.is_some() && lock(&sh.state).unsynced {
            self.sync(sh)?;
        }
        // A finished segment ends at its last record; the next one is created only after
        // that is durable, so only the newest segment can ever end in zeros.
        self.trim_active()?;
        let name = segment_file_name(lsn);
        let writer = SegmentWriter::create(sh.storage.clone(), lsn).map_err(|e| e.to_string())?;
        lock(&sh.segments).push(SegmentMeta {
            first_lsn: lsn,
            name,
            bytes: writer.len(),
        });
        self.active = Some(writer);
        let mut st = lock(&sh.state);
        st.write_gen += 1;
        let wake = st.write_waiters > 0;
        drop(st);
        if wake {
            sh.written_cv.notify_all();
        }
        Ok(())
    }

    fn publish_written(&self, sh: &Shared<S>, segment_first_lsn: u64, segment_len: u64) {
        if let Some(meta) = lock(&sh.segments)
            .iter_mut()
            .rev()
            .find(|m| m.first_lsn == segment_first_lsn)
        {
            meta.bytes = segment_len;
        }
        let mut st = lock(&sh.state);
        st.written = self.written;
        st.unsynced = true;
        st.write_gen += 1;
        sh.written_lsn.store(self.written, Ordering::Release);
        let wake = st.write_waiters > 0;
        drop(st);
        if wake {
            sh.written_cv.notify_all();
        }
    }

    /// Syncs if the policy, a waiter, or a stop asks for it.
    fn sync_if_due(&mut self, sh: &Shared<S>) -> Result<(), String> {
        let due = {
            let st = lock(&sh.state);
            if !st.unsynced {
                return Ok(());
            }
            let by_policy = match st.policy {
                FsyncPolicy::Always => true,
                FsyncPolicy::EverySec => st.last_sync.elapsed() >= EVERYSEC_INTERVAL,
                FsyncPolicy::No => false,
            };
            by_policy || st.sync_target > st.durable || st.stop
        };
        if due {
            self.sync(sh)?;
        }
        Ok(())
    }

    /// Syncs the active segment and publishes the new durable LSN (the listener is told
    /// through `announce`, once the core is released).
    fn sync(&mut self, sh: &Shared<S>) -> Result<(), String> {
        let Some(w) = self.active.as_mut() else {
            return Ok(());
        };
        let started = Instant::now();
        w.sync().map_err(|e| e.to_string())?;
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        sh.last_fsync_micros.store(micros, Ordering::Relaxed);
        sh.fsyncs.fetch_add(1, Ordering::Relaxed);
        // Every earlier segment was synced when it was rolled over, and only the holder of
        // the core writes, so everything written is now durable.
        let durable = self.written;
        let mut st = lock(&sh.state);
        st.unsynced = false;
        st.last_sync = Instant::now();
        st.durable = durable;
        sh.durable_lsn.store(durable, Ordering::Release);
        let wake = st.durable_waiters > 0;
        drop(st);
        if wake {
            sh.durable_cv.notify_all();
        }
        self.announce = Some(durable);
        Ok(())
    }

    /// Under `always`, tops up the zeros after the active segment's last record (see the
    /// module docs). Called after a round, once its waiters are woken.
    fn preallocate_ahead(&mut self, sh: &Shared<S>) -> Result<(), String> {
        let policy = FsyncPolicy::from_code(sh.policy_code.load(Ordering::Acquire));
        let Some(w) = self.active.as_mut() else {
            return Ok(());
        };
        if policy != FsyncPolicy::Always
            || w.file_len().saturating_sub(w.len()) >= PREALLOCATE_AHEAD_BYTES / 2
        {
            return Ok(());
        }
        let target = w
            .len()
            .saturating_add(PREALLOCATE_AHEAD_BYTES)
            .min(sh.segment_bytes);
        w.preallocate(target).map_err(|e| e.to_string())
    }

    /// Cuts the active segment's preallocated zeros off, durably (nothing if it has none).
    fn trim_active(&mut self) -> Result<(), String> {
        match self.active.as_mut() {
            Some(w) => w.trim().map_err(|e| e.to_string()),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemStorage;

    #[test]
    fn policy_names_round_trip() {
        // Proves each policy parses from its name in any ASCII case, and others are refused.
        for p in [FsyncPolicy::Always, FsyncPolicy::EverySec, FsyncPolicy::No] {
            assert_eq!(p.as_str().parse::<FsyncPolicy>(), Ok(p));
            assert_eq!(p.as_str().to_uppercase().parse::<FsyncPolicy>(), Ok(p));
        }
        assert!("sometimes".parse::<FsyncPolicy>().is_err());
    }

    #[test]
    fn record_extent_walks_encoded_records() {
        // Proves the flusher's record walk finds each record and refuses a cut buffer.
        let mut buf = Vec::new();
        encode_record(7, 1, b"abc", &mut buf).expect("encode");
        encode_record(8, 1, b"", &mut buf).expect("encode");
        assert_eq!(record_extent(&buf, 0), Some((7, RECORD_HEADER_LEN + 3)));
        assert_eq!(
            record_extent(&buf, RECORD_HEADER_LEN + 3),
            Some((8, RECORD_HEADER_LEN))
        );
        assert_eq!(
            record_extent(&buf[..buf.len() - 1], RECORD_HEADER_LEN + 3),
            None
        );
        assert_eq!(record_extent(&buf, buf.len()), None);
    }

    #[test]
    fn next_lsn_honours_floor_and_empty_segments() {
        // Proves the next LSN is above every record, at least each segment's name, and at
        // least the caller's floor.
        let seg = |first_lsn, last_lsn| Scanned {
            first_lsn,
            name: segment_file_name(first_lsn),
            len: 0,
            records: 0,
            last_lsn,
            end: SegmentEnd::CleanEnd,
        };
        assert_eq!(next_lsn_after(&[], 0), 1);
        assert_eq!(next_lsn_after(&[seg(1, Some(9))], 0), 10);
        assert_eq!(next_lsn_after(&[seg(1, Some(9)), seg(10, None)], 0), 10);
        assert_eq!(next_lsn_after(&[seg(1, Some(9))], 50), 50);
    }

    #[test]
    fn handles_are_send_and_sync() {
        // Proves the log can be shared across threads and readers moved to another thread.
        fn send_sync<T: Send + Sync>() {}
        fn send<T: Send>() {}
        send_sync::<Wal<MemStorage>>();
        send_sync::<Wal<crate::storage::FsStorage>>();
        send::<WalReader<MemStorage>>();
        send::<WalReader<crate::storage::FsStorage>>();
    }

    #[test]
    fn drop_without_close_writes_pending() {
        // Proves dropping the last handle stops the flusher after it wrote and synced.
        let storage = MemStorage::new();
        let opts = WalOptions {
            fsync: FsyncPolicy::No,
            ..WalOptions::default()
        };
        let (wal, _) = Wal::open(storage.clone(), opts.clone(), 0).expect("open");
        wal.append(1, b"x").expect("append");
        drop(wal);
        let report = verify_log(&storage.crash_copy(), opts.max_record_payload).expect("verify");
        assert_eq!(report.last_lsn, Some(1));
    }
}
