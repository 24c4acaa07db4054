//! `vole-tool wal list|dump|verify|repair DIR`.
//!
//! Every command but `dump` scans each segment whole with the recovery scan of
//! [`vole_wal::recover`], so it judges a segment's end exactly as a server start does (see the
//! recovery table there): clean end; torn tail (only the newest segment may have one; in an
//! older segment it counts as a damaged record); damaged record (the rest of its segment is
//! unreadable); bad header. On top of that it checks what the server does not: that each
//! header names the LSN of its file name, that LSNs keep increasing from one segment to the
//! next, and (`verify`) that every record's effects decode.
//!
//! `repair` does only what a server start does to the files: it cuts the torn tail of the
//! newest segment (removing the file when not even its header is whole). It refuses when any
//! other damage is present, and when the bytes it would cut hold a whole record further on
//! (a damaged length field that only looks like a torn write), so it never drops a record
//! that could be read.

use std::fmt;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use vole_engine::effect::{decode_record, Effect, Record};
use vole_engine::value::Value;
use vole_wal::log::verify_log;
use vole_wal::record::{
    decode_record as decode_frame, Decoded, DEFAULT_MAX_RECORD_PAYLOAD_BYTES, RECORD_HEADER_LEN,
};
use vole_wal::recover::{scan_segment_with, SegmentEnd};
use vole_wal::segment::{decode_segment_header, parse_segment_file_name, SEGMENT_HEADER_LEN};
use vole_wal::storage::{FsStorage, Storage};
use vole_wal::tail::{ReadError, ReadItem, WalReader};

use super::progress::Progress;
use super::text::{self, push_json_bytes, push_json_opt, push_json_str, push_quoted};
use super::{in_use, DumpFormat, Env, Outcome, ToolError};

/// The log directory's name inside a data directory (the server's `appendfilename`).
pub const LOG_DIR_NAME: &str = "vole.aof";

/// Largest payload a record may declare, in bytes: the server's default, so the tool judges
/// records exactly as a server start does.
pub const MAX_RECORD_PAYLOAD_BYTES: usize = DEFAULT_MAX_RECORD_PAYLOAD_BYTES;

/// Most whole records looked for (and listed) in bytes the scan could not read.
const PROBE_MAX_RECORDS: usize = 1000;

/// A log directory and the segment files in it.
#[derive(Debug, Clone)]
pub struct LogDir {
    /// The directory holding the segments.
    pub path: PathBuf,
    /// Segment files as (first LSN from the name, file name), in LSN order.
    pub segments: Vec<(u64, String)>,
    /// Other files in the directory, which the server ignores too.
    pub ignored: Vec<String>,
}

/// Finds the log directory for `dir`: `dir/vole.aof/` when it exists, else `dir` itself.
///
/// Errors if `dir` is not a readable directory, or if it holds neither `vole.aof/` nor any
/// segment file (unless it is itself named `vole.aof`: an empty log is a valid log).
pub fn locate(dir: &Path) -> Result<LogDir, ToolError> {
    let meta = std::fs::metadata(dir).map_err(|e| ToolError::io(dir, e))?;
    if !meta.is_dir() {
        return Err(ToolError::Usage(format!(
            "{}: not a directory (pass the data directory holding {LOG_DIR_NAME}/, or the log \
             directory itself)",
            dir.display()
        )));
    }
    let nested = dir.join(LOG_DIR_NAME);
    let (path, named_as_log) = if nested.is_dir() {
        (nested, true)
    } else {
        let named = dir.file_name().is_some_and(|n| n == LOG_DIR_NAME);
        (dir.to_path_buf(), named)
    };
    let names = FsStorage::new(&path)
        .list()
        .map_err(|e| ToolError::io(&path, e))?;
    let mut segments = Vec::new();
    let mut ignored = Vec::new();
    for name in names {
        match parse_segment_file_name(&name) {
            Some(lsn) => segments.push((lsn, name)),
            None => ignored.push(name),
        }
    }
    segments.sort();
    if segments.is_empty() && !named_as_log {
        return Err(ToolError::Usage(format!(
            "{}: no WAL segment files (<20-digit LSN>.wal) here and no {LOG_DIR_NAME}/ \
             directory; pass the data directory or the log directory",
            dir.display()
        )));
    }
    Ok(LogDir {
        path,
        segments,
        ignored,
    })
}

/// How a segment ends, after the newest-segment rule of the recovery table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// The last record ends at the end of the file.
    Clean,
    /// The newest segment's last record is followed by nothing but zeros: space the server
    /// preallocated under `appendfsync always` (it stopped without trimming them). Not a
    /// problem; a server start trims them.
    Preallocated {
        /// End of the last whole record.
        offset: u64,
        /// Zero bytes after it.
        zero_bytes: u64,
    },
    /// The newest segment ends in a write cut short at `offset`.
    TornTail {
        /// End of the last whole record (or 0 when not even the header is whole).
        offset: u64,
        /// Bytes after `offset`.
        dropped_bytes: u64,
        /// Whole records found in those bytes: (offset, LSN). Not empty means the "torn
        /// write" is really a damaged length field, and cutting would lose these.
        whole_after: Vec<(u64, u64)>,
    },
    /// A damaged record at `offset`; the server skips the rest of the segment.
    Corrupt {
        /// Offset of the damaged record.
        offset: u64,
        /// What is wrong.
        reason: String,
        /// Whole records found after it: (offset, LSN), which the server cannot read.
        whole_after: Vec<(u64, u64)>,
    },
    /// The segment header is unusable; the server refuses to start.
    BadHeader {
        /// What is wrong.
        reason: String,
    },
}

/// What the scan found in one segment.
#[derive(Debug, Clone)]
pub struct SegmentScan {
    /// The file name.
    pub name: String,
    /// The first LSN the file name gives.
    pub name_lsn: u64,
    /// Size of the file.
    pub bytes: u64,
    /// Whole, checked records.
    pub records: u64,
    /// LSN of the first whole record.
    pub first_lsn: Option<u64>,
    /// LSN of the last whole record.
    pub last_lsn: Option<u64>,
    /// How it ends.
    pub end: End,
}

/// One problem, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The segment file name.
    pub segment: String,
    /// Byte offset in the segment.
    pub offset: u64,
    /// The record's own LSN, when it can be trusted.
    pub lsn: Option<u64>,
    /// The last good LSN before the problem in this segment, when the record's own is not
    /// known.
    pub after_lsn: Option<u64>,
    /// What is wrong (and what follows from it).
    pub reason: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at offset {}", self.segment, self.offset)?;
        match (self.lsn, self.after_lsn) {
            (Some(lsn), _) => write!(f, " (LSN {lsn})")?,
            (None, Some(after)) => write!(f, " (after LSN {after})")?,
            (None, None) => {}
        }
        write!(f, ": {}", self.reason)
    }
}

/// What scanning a whole log directory found.
#[derive(Debug, Clone)]
pub struct LogScan {
    /// The log directory.
    pub dir: PathBuf,
    /// Every segment, in LSN order.
    pub segments: Vec<SegmentScan>,
    /// Every problem, in segment and offset order.
    pub problems: Vec<Problem>,
    /// Files the server ignores.
    pub ignored: Vec<String>,
}

impl LogScan {
    /// Whole records in all segments.
    pub fn records(&self) -> u64 {
        self.segments.iter().map(|s| s.records).sum()
    }

    /// Bytes in all segments.
    pub fn bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.bytes).sum()
    }

    /// The LSN range of the whole records, if any.
    pub fn lsn_range(&self) -> Option<(u64, u64)> {
        let first = self.segments.iter().find_map(|s| s.first_lsn)?;
        let last = self.segments.iter().rev().find_map(|s| s.last_lsn)?;
        Some((first, last))
    }

    /// A summary line: segments, records, LSN range, bytes.
    pub fn summary(&self) -> String {
        let range = match self.lsn_range() {
            Some((a, b)) => format!("LSN {a}..{b}"),
            None => "no records".to_owned(),
        };
        format!(
            "{}, {}, {range}, {}",
            plural(self.segments.len() as u64, "segment"),
            plural(self.records(), "record"),
            text::size(self.bytes())
        )
    }
}

/// Whole records in `bytes` after `from` that continue the segment's LSN order, from
/// `min_lsn` on: (offset, LSN), at most [`PROBE_MAX_RECORDS`]. The recovery scan stops at
/// damage; this looks past it, so an operator (and `repair`) knows what the damage hides.
pub fn whole_records_after(bytes: &[u8], from: usize, min_lsn: u64) -> Vec<(u64, u64)> {
    let mut found = Vec::new();
    let mut min = min_lsn;
    let mut pos = from.saturating_add(1);
    while found.len() < PROBE_MAX_RECORDS {
        let Some(rest) = bytes.get(pos..).filter(|r| r.len() >= RECORD_HEADER_LEN) else {
            break;
        };
        // Checksumming at every offset would be quadratic; first ask for a plausible LSN: at
        // least the next one, and no further ahead than one LSN per minimal record left.
        let lsn = rest
            .get(4..12)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
            .unwrap_or(0);
        let ceiling = min.saturating_add((rest.len() / RECORD_HEADER_LEN) as u64);
        if lsn >= min && lsn <= ceiling {
            if let Decoded::Record { lsn, len, .. } = decode_frame(rest, MAX_RECORD_PAYLOAD_BYTES) {
                found.push((pos as u64, lsn));
                min = lsn.saturating_add(1);
                pos += len;
                continue;
            }
        }
        pos += 1;
    }
    found
}

/// The LSN the next record of a segment must have at least: one above the last whole record,
/// or the segment's first LSN.
fn next_min_lsn(last_lsn: Option<u64>, segment_first_lsn: u64) -> u64 {
    last_lsn.map_or(segment_first_lsn, |l| l.saturating_add(1))
}

/// `n` and `word`, with an `s` unless `n` is 1.
pub fn plural(n: impl Into<u64>, word: &str) -> String {
    let n = n.into();
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn describe_found(found: &[(u64, u64)]) -> String {
    match (found.first(), found.last()) {
        (Some(&(at, a)), Some(&(_, b))) => {
            let more = if found.len() >= PROBE_MAX_RECORDS {
                " or more"
            } else {
                ""
            };
            format!(
                "{}{more} (LSN {a}..{b}) follow from offset {at}",
                plural(found.len() as u64, "whole record")
            )
        }
        _ => "no whole record follows it".to_owned(),
    }
}

/// Scans every segment of `log` whole. With `decode`, also decodes every record's effects and
/// reports those that do not decode. Draws a progress bar when `env.progress`.
///
/// Errors only if a segment cannot be read.
pub fn scan(log: &LogDir, decode: bool, env: &Env<'_>) -> Result<LogScan, ToolError> {
    let storage = FsStorage::new(&log.path);
    let total: u64 = log
        .segments
        .iter()
        .filter_map(|(_, name)| std::fs::metadata(log.path.join(name)).ok())
        .map(|m| m.len())
        .sum();
    let bar = Progress::bytes(
        total,
        if decode { "verifying" } else { "scanning" },
        env.progress,
    );
    let mut out = LogScan {
        dir: log.path.clone(),
        segments: Vec::with_capacity(log.segments.len()),
        problems: Vec::new(),
        ignored: log.ignored.clone(),
    };
    let mut prev: Option<(String, u64)> = None;
    for (i, (name_lsn, name)) in log.segments.iter().enumerate() {
        let newest = i + 1 == log.segments.len();
        let bytes = storage
            .read_all(name)
            .map_err(|e| ToolError::io(&log.path.join(name), e))?;
        let mut offset = SEGMENT_HEADER_LEN as u64;
        let mut first_lsn = None;
        let mut decode_problems = Vec::new();
        let report = scan_segment_with(&bytes, MAX_RECORD_PAYLOAD_BYTES, |lsn, kind, payload| {
            first_lsn.get_or_insert(lsn);
            if decode {
                if let Err(e) = decode_record(kind, payload) {
                    decode_problems.push(Problem {
                        segment: name.clone(),
                        offset,
                        lsn: Some(lsn),
                        after_lsn: None,
                        reason: format!("record kind {kind} does not decode: {e}"),
                    });
                }
            }
            let len = (RECORD_HEADER_LEN + payload.len()) as u64;
            offset += len;
            bar.inc(len);
        });
        bar.inc((bytes.len() as u64).saturating_sub(report.valid_len as u64));
        let next_min = next_min_lsn(report.last_lsn, *name_lsn);
        let problem = |offset: u64, lsn: Option<u64>, reason: String| Problem {
            segment: name.clone(),
            offset,
            lsn,
            after_lsn: report.last_lsn,
            reason,
        };
        if let Ok(header) = decode_segment_header(&bytes) {
            if header.first_lsn != *name_lsn {
                out.problems.push(problem(
                    12,
                    None,
                    format!(
                        "the header says first LSN {}, the file name says {name_lsn}",
                        header.first_lsn
                    ),
                ));
            }
        }
        if let (Some(first), Some((prev_name, prev_last))) = (first_lsn, &prev) {
            if first <= *prev_last {
                out.problems.push(Problem {
                    segment: name.clone(),
                    offset: SEGMENT_HEADER_LEN as u64,
                    lsn: Some(first),
                    after_lsn: None,
                    reason: format!(
                        "LSN {first} does not follow LSN {prev_last} at the end of {prev_name}"
                    ),
                });
            }
        }
        out.problems.append(&mut decode_problems);
        let end = match report.end {
            SegmentEnd::CleanEnd => End::Clean,
            SegmentEnd::TornTail { valid_len }
                if newest && preallocated_tail(&bytes, valid_len) =>
            {
                End::Preallocated {
                    offset: valid_len as u64,
                    zero_bytes: bytes.len().saturating_sub(valid_len) as u64,
                }
            }
            SegmentEnd::TornTail { valid_len } => {
                let whole_after = whole_records_after(&bytes, valid_len, next_min);
                let dropped = (bytes.len() - valid_len) as u64;
                let offset = valid_len as u64;
                if newest {
                    let reason = if whole_after.is_empty() {
                        format!(
                            "torn tail: {dropped} bytes after the last whole record (a write cut \
                             short; `vole-tool wal repair` or a server start cuts them)"
                        )
                    } else {
                        format!(
                            "record runs past the end of the file, yet {}: a damaged length \
                             field, not a torn write",
                            describe_found(&whole_after)
                        )
                    };
                    out.problems.push(problem(offset, None, reason));
                    End::TornTail {
                        offset,
                        dropped_bytes: dropped,
                        whole_after,
                    }
                } else {
                    let reason = format!(
                        "torn tail in a segment that is not the newest ({dropped} bytes); {}",
                        describe_found(&whole_after)
                    );
                    out.problems.push(problem(offset, None, reason.clone()));
                    End::Corrupt {
                        offset,
                        reason,
                        whole_after,
                    }
                }
            }
            SegmentEnd::CorruptRecord {
                offset,
                lsn_if_known,
                reason,
            } => {
                let whole_after = whole_records_after(&bytes, offset, next_min);
                let reason = format!(
                    "{reason}; the rest of the segment is skipped at start-up: {}",
                    describe_found(&whole_after)
                );
                out.problems
                    .push(problem(offset as u64, lsn_if_known, reason.clone()));
                End::Corrupt {
                    offset: offset as u64,
                    reason,
                    whole_after,
                }
            }
            SegmentEnd::BadHeader { reason } => {
                let reason = format!("bad segment header: {reason} (the server refuses to start)");
                out.problems.push(problem(0, None, reason.clone()));
                End::BadHeader { reason }
            }
        };
        if let Some(last) = report.last_lsn {
            prev = Some((name.clone(), last));
        }
        out.segments.push(SegmentScan {
            name: name.clone(),
            name_lsn: *name_lsn,
            bytes: bytes.len() as u64,
            records: report.records as u64,
            first_lsn,
            last_lsn: report.last_lsn,
            end,
        });
    }
    Ok(out)
}

/// Warns when another process has the log open: a running server's newest segment may look
/// torn only because a write is in progress.
fn warn_if_in_use(log: &LogDir, env: &mut Env<'_>) {
    for h in in_use::holders(&log.path) {
        env.warn(format_args!(
            "{h}: the server seems to be running; a write in progress can look like a torn \
             tail (run vole-tool on a stopped server's files)"
        ));
    }
}

fn write_problems(scan: &LogScan, env: &mut Env<'_>) -> Result<(), ToolError> {
    for p in &scan.problems {
        writeln!(env.out, "  {p}")?;
    }
    Ok(())
}

fn write_ignored(scan: &LogScan, env: &mut Env<'_>) {
    for name in &scan.ignored {
        env.warn(format_args!(
            "{}: not a segment file name, ignored (as the server does)",
            scan.dir.join(name).display()
        ));
    }
}

fn opt(v: Option<u64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// `wal list DIR`: one line per segment, then the problems. Exit 1 if any damage.
///
/// Errors if the directory is not a log or a segment cannot be read.
pub fn list(dir: &Path, env: &mut Env<'_>) -> Result<Outcome, ToolError> {
    let log = locate(dir)?;
    warn_if_in_use(&log, env);
    let scan = scan(&log, false, env)?;
    write_ignored(&scan, env);
    writeln!(env.out, "{}", scan.dir.display())?;
    let mut rows = vec![[
        "SEGMENT".to_owned(),
        "FIRST_LSN".to_owned(),
        "LAST_LSN".to_owned(),
        "RECORDS".to_owned(),
        "BYTES".to_owned(),
        "END".to_owned(),
    ]];
    for s in &scan.segments {
        let end = match &s.end {
            End::Clean => "clean".to_owned(),
            End::Preallocated { offset, zero_bytes } => {
                format!("clean ({zero_bytes} preallocated zero bytes after offset {offset})")
            }
            End::TornTail {
                offset,
                dropped_bytes,
                whole_after,
            } if whole_after.is_empty() => {
                format!("torn tail at offset {offset} ({dropped_bytes} bytes)")
            }
            End::TornTail { offset, .. } | End::Corrupt { offset, .. } => {
                format!("corrupt record at offset {offset}")
            }
            End::BadHeader { .. } => "bad header".to_owned(),
        };
        rows.push([
            s.name.clone(),
            opt(s.first_lsn),
            opt(s.last_lsn),
            s.records.to_string(),
            s.bytes.to_string(),
            end,
        ]);
    }
    let width = |col: usize| rows.iter().map(|r| r[col].len()).max().unwrap_or(0);
    let w = [width(0), width(1), width(2), width(3), width(4)];
    for r in &rows {
        writeln!(
            env.out,
            "{:<w0$}  {:>w1$}  {:>w2$}  {:>w3$}  {:>w4$}  {}",
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            w0 = w[0],
            w1 = w[1],
            w2 = w[2],
            w3 = w[3],
            w4 = w[4]
        )?;
    }
    let outcome = Outcome::damaged_if(!scan.problems.is_empty());
    match outcome {
        Outcome::Clean => writeln!(env.out, "clean: {}", scan.summary())?,
        Outcome::Damaged => {
            writeln!(
                env.out,
                "damaged: {} ({})",
                plural(scan.problems.len() as u64, "problem"),
                scan.summary()
            )?;
            write_problems(&scan, env)?;
        }
    }
    Ok(outcome)
}

/// `wal verify DIR`: every checksum and every record's effects. Exit 1 if any damage.
///
/// Errors if the directory is not a log or a segment cannot be read.
pub fn verify(dir: &Path, env: &mut Env<'_>) -> Result<Outcome, ToolError> {
    let log = locate(dir)?;
    warn_if_in_use(&log, env);
    let scan = scan(&log, true, env)?;
    write_ignored(&scan, env);
    let outcome = Outcome::damaged_if(!scan.problems.is_empty());
    match outcome {
        Outcome::Clean => writeln!(
            env.out,
            "{}: clean: {}; every record decodes",
            scan.dir.display(),
            scan.summary()
        )?,
        Outcome::Damaged => {
            writeln!(
                env.out,
                "{}: damaged: {} ({})",
                scan.dir.display(),
                plural(scan.problems.len() as u64, "problem"),
                scan.summary()
            )?;
            write_problems(&scan, env)?;
        }
    }
    Ok(outcome)
}

/// `wal repair DIR [--dry-run]`: cuts the newest segment's torn tail, nothing else.
///
/// Exit 0 when the log is clean afterwards (or was already), 1 when damage that repair must
/// not touch is present (then nothing at all is changed).
///
/// Errors (changing nothing) if another process has the log open, the directory is not a
/// log, or reading, truncating or removing a file fails.
pub fn repair(dir: &Path, dry_run: bool, env: &mut Env<'_>) -> Result<Outcome, ToolError> {
    let log = locate(dir)?;
    let holders = in_use::holders(&log.path);
    if let Some(h) = holders.first() {
        return Err(ToolError::InUse(format!(
            "{}: in use: {h}; stop the server before repairing its log",
            log.path.display()
        )));
    }
    let scan = scan(&log, false, env)?;
    write_ignored(&scan, env);
    let (torn, others): (Vec<&Problem>, Vec<&Problem>) = scan.problems.iter().partition(|p| {
        scan.segments.last().is_some_and(|s| {
            s.name == p.segment
                && matches!(&s.end, End::TornTail { offset, whole_after, .. }
                    if *offset == p.offset && whole_after.is_empty())
        })
    });
    if !others.is_empty() {
        writeln!(
            env.out,
            "{}: not repaired: {} that {} not a torn tail; nothing was changed",
            scan.dir.display(),
            plural(others.len() as u64, "problem"),
            if others.len() == 1 { "is" } else { "are" }
        )?;
        for p in &scan.problems {
            writeln!(env.out, "  {p}")?;
        }
        writeln!(
            env.out,
            "What to do: repair only cuts a write cut short at the very end of the log; the \
             records behind damage cannot be read, and vole-tool never deletes them. Copy the \
             log directory aside first. A server start skips the rest of each damaged segment \
             (counted in INFO persistence) and goes on; restore what is lost from a replica or \
             an older snapshot if it matters."
        )?;
        if scan
            .segments
            .iter()
            .any(|s| matches!(s.end, End::BadHeader { .. }))
        {
            writeln!(
                env.out,
                "A segment with a bad header stops the server from starting: after copying the \
                 directory, move that file out of it (its records are then missing from the \
                 log)."
            )?;
        }
        let hidden_by_fake_tail = scan.segments.last().is_some_and(
            |s| matches!(&s.end, End::TornTail { whole_after, .. } if !whole_after.is_empty()),
        );
        if hidden_by_fake_tail {
            writeln!(
                env.out,
                "Warning: a server start takes the damage in the newest segment for a torn \
                 tail and cuts it off, with the whole records listed after it. Copy the log \
                 directory aside before starting the server."
            )?;
        }
        return Ok(Outcome::Damaged);
    }
    let Some(torn) = torn.first() else {
        writeln!(
            env.out,
            "{}: clean, nothing to repair: {}",
            scan.dir.display(),
            scan.summary()
        )?;
        return Ok(Outcome::Clean);
    };
    let (segment, offset) = (torn.segment.clone(), torn.offset);
    // The server's own plan must agree with ours: cut exactly what a start would cut.
    let storage = FsStorage::new(&log.path);
    let plan = verify_log(&storage, MAX_RECORD_PAYLOAD_BYTES).map_err(|e| {
        ToolError::Usage(format!(
            "{}: the log's own scan refused the directory: {e}",
            scan.dir.display()
        ))
    })?;
    let agrees = plan
        .torn_tail
        .as_ref()
        .is_some_and(|t| t.segment == segment && t.offset == offset)
        && plan.corrupt.is_empty();
    if !agrees {
        return Err(ToolError::Usage(format!(
            "{}: internal disagreement with the log's own scan ({:?}); nothing was changed",
            scan.dir.display(),
            plan.torn_tail
        )));
    }
    let dropped = plan.torn_tail.as_ref().map_or(0, |t| t.dropped_bytes);
    let path = log.path.join(&segment);
    let after = torn
        .after_lsn
        .map_or_else(|| "the segment header".to_owned(), |l| format!("LSN {l}"));
    let remove = offset < SEGMENT_HEADER_LEN as u64;
    let (verb, done, what) = if remove {
        let what = format!(
            "{} (its header is incomplete, so no record was ever written to it; {dropped} bytes)",
            path.display()
        );
        ("remove", "removed", what)
    } else {
        let what = format!(
            "{} to {offset} bytes, dropping {dropped} bytes of a partly written record after \
             {after}",
            path.display()
        );
        ("truncate", "truncated", what)
    };
    if dry_run {
        writeln!(
            env.out,
            "would {verb} {what} (dry run: nothing was changed)"
        )?;
        return Ok(Outcome::Clean);
    }
    if remove {
        storage
            .remove(&segment)
            .and_then(|()| storage.sync_dir())
            .map_err(|e| ToolError::io(&path, e))?;
    } else {
        storage
            .truncate(&segment, offset)
            .map_err(|e| ToolError::io(&path, e))?;
    }
    writeln!(env.out, "{done} {what}")?;
    writeln!(
        env.out,
        "{}: repaired: {} kept",
        scan.dir.display(),
        plural(scan.records(), "whole record")
    )?;
    Ok(Outcome::Clean)
}

/// `wal dump DIR`: each record from `from` (or the oldest), at most `limit`, as text or JSON
/// lines. Exit 1 if a record does not decode or any damage was met.
///
/// Errors if the directory is not a log, `from` is older than the oldest segment, or a
/// segment cannot be read.
pub fn dump(
    dir: &Path,
    from: Option<u64>,
    limit: Option<u64>,
    format: DumpFormat,
    env: &mut Env<'_>,
) -> Result<Outcome, ToolError> {
    let log = locate(dir)?;
    warn_if_in_use(&log, env);
    let mut reader = match WalReader::open_storage(FsStorage::new(&log.path), from.unwrap_or(0)) {
        Ok(r) => r.with_max_record_payload(MAX_RECORD_PAYLOAD_BYTES),
        Err(e) => return Err(read_error(&log, e)),
    };
    let mut damaged = 0u64;
    let mut undecodable = 0u64;
    let mut shown = 0u64;
    let mut line = String::new();
    let mut reached_end = false;
    loop {
        if limit.is_some_and(|l| shown >= l) {
            break;
        }
        let item = match reader.next() {
            Ok(Some(item)) => item,
            Ok(None) => {
                reached_end = true;
                break;
            }
            Err(ReadError::BadHeader { segment, reason }) => {
                damaged += 1;
                writeln!(
                    env.out,
                    "{}",
                    corrupt_line(
                        format,
                        &segment,
                        0,
                        None,
                        &format!("bad segment header: {reason}; the dump stops here")
                    )
                )?;
                break;
            }
            Err(e) => return Err(read_error(&log, e)),
        };
        line.clear();
        match item {
            ReadItem::Record { lsn, kind, payload } => {
                shown += 1;
                match decode_record(kind, &payload) {
                    Ok(record) => match format {
                        DumpFormat::Text => record_text(&mut line, lsn, kind, &record),
                        DumpFormat::Json => record_json(&mut line, lsn, kind, &record),
                    },
                    Err(e) => {
                        undecodable += 1;
                        let reason = e.to_string();
                        match format {
                            DumpFormat::Text => {
                                let _ = write!(
                                    line,
                                    "LSN {lsn} kind={kind} UNDECODABLE ({} bytes): {reason}",
                                    payload.len()
                                );
                            }
                            DumpFormat::Json => {
                                let _ = write!(
                                    line,
                                    "{{\"lsn\":{lsn},\"kind\":{kind},\"payload_bytes\":{},\"error\":",
                                    payload.len()
                                );
                                push_json_str(&mut line, &reason);
                                line.push('}');
                            }
                        }
                    }
                }
            }
            ReadItem::Corrupt {
                segment,
                offset,
                after_lsn,
                reason,
            } => {
                damaged += 1;
                line = corrupt_line(
                    format,
                    &segment,
                    offset,
                    after_lsn,
                    &format!("{reason}; the rest of the segment is skipped"),
                );
            }
        }
        writeln!(env.out, "{line}")?;
    }
    if reached_end {
        if let Some(p) = newest_torn_tail(&log)? {
            damaged += 1;
            env.warn(format_args!("{p}; not shown"));
        }
    }
    if undecodable > 0 || damaged > 0 {
        let mut what = Vec::new();
        if undecodable > 0 {
            what.push(format!(
                "{} that do not decode",
                plural(undecodable, "record")
            ));
        }
        if damaged > 0 {
            what.push(plural(damaged, "damaged place"));
        }
        let _ = writeln!(
            env.err,
            "error: {}: {} (run `vole-tool wal verify` for the full report)",
            log.path.display(),
            what.join(", ")
        );
    }
    Ok(Outcome::damaged_if(undecodable > 0 || damaged > 0))
}

fn read_error(log: &LogDir, e: ReadError) -> ToolError {
    match e {
        ReadError::Io(io) => ToolError::Io {
            path: log.path.join(&io.target),
            source: io.source,
        },
        other => ToolError::Usage(format!("{}: {other}", log.path.display())),
    }
}

/// Whether a newest segment's "torn tail" at `valid_len` is only zeros after a whole header:
/// space the server preallocated under `appendfsync always`, which no record reached.
fn preallocated_tail(bytes: &[u8], valid_len: usize) -> bool {
    valid_len >= SEGMENT_HEADER_LEN
        && bytes
            .get(valid_len..)
            .is_some_and(|t| t.iter().all(|&b| b == 0))
}

/// The newest segment's torn tail, checked alone (the reader takes one for "not written
/// yet" and says nothing), described as `wal verify` would.
fn newest_torn_tail(log: &LogDir) -> Result<Option<Problem>, ToolError> {
    let Some((name_lsn, name)) = log.segments.last() else {
        return Ok(None);
    };
    let path = log.path.join(name);
    let bytes = match FsStorage::new(&log.path).read_all(name) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(ToolError::io(&path, e)),
    };
    let report = scan_segment_with(&bytes, MAX_RECORD_PAYLOAD_BYTES, |_, _, _| {});
    let SegmentEnd::TornTail { valid_len } = report.end else {
        return Ok(None);
    };
    if preallocated_tail(&bytes, valid_len) {
        return Ok(None);
    }
    let found = whole_records_after(&bytes, valid_len, next_min_lsn(report.last_lsn, *name_lsn));
    let reason = if found.is_empty() {
        format!(
            "torn tail: {} bytes after the last whole record (`vole-tool wal repair` cuts them)",
            bytes.len() - valid_len
        )
    } else {
        format!(
            "record runs past the end of the file, yet {}: a damaged length field, not a torn \
             write",
            describe_found(&found)
        )
    };
    Ok(Some(Problem {
        segment: path.display().to_string(),
        offset: valid_len as u64,
        lsn: None,
        after_lsn: report.last_lsn,
        reason,
    }))
}

fn corrupt_line(
    format: DumpFormat,
    segment: &str,
    offset: u64,
    after_lsn: Option<u64>,
    reason: &str,
) -> String {
    let mut line = String::new();
    match format {
        DumpFormat::Text => {
            let _ = write!(line, "CORRUPT {segment} at offset {offset}");
            if let Some(after) = after_lsn {
                let _ = write!(line, " (after LSN {after})");
            }
            let _ = write!(line, ": {reason}");
        }
        DumpFormat::Json => {
            line.push_str("{\"corrupt\":true,\"segment\":");
            push_json_str(&mut line, segment);
            let _ = write!(line, ",\"offset\":{offset},\"after_lsn\":");
            push_json_opt(&mut line, after_lsn);
            line.push_str(",\"reason\":");
            push_json_str(&mut line, reason);
            line.push('}');
        }
    }
    line
}

/// Appends a value for people: the string quoted (and capped), or `<type>` for other types.
fn value_text(out: &mut String, value: &Value) {
    match value.as_str() {
        Some(data) => text::push_quoted_capped(out, data),
        None => {
            let _ = write!(out, "<{}>", value.type_name());
        }
    }
}

fn expiry_text(out: &mut String, label: &str, at: i64) {
    if at == 0 {
        let _ = write!(out, " {label}=never");
    } else {
        let _ = write!(out, " {label}={at} ({})", text::utc(at));
    }
}

/// One record as text: a header line, then one indented line per effect.
pub fn record_text(out: &mut String, lsn: u64, kind: u8, record: &Record<'_>) {
    let _ = write!(
        out,
        "LSN {lsn} kind={kind} origin={} hlc={} ({})",
        record.origin,
        record.hlc,
        text::hlc(record.hlc)
    );
    for e in &record.effects {
        out.push_str("\n  ");
        match e {
            Effect::Set {
                db,
                key,
                value,
                expire_at,
            } => {
                let _ = write!(out, "SET db={db} key=");
                push_quoted(out, key);
                out.push_str(" value=");
                value_text(out, value);
                if *expire_at != 0 {
                    expiry_text(out, "expire_at", *expire_at);
                }
            }
            Effect::Del { db, key } => {
                let _ = write!(out, "DEL db={db} key=");
                push_quoted(out, key);
            }
            Effect::Expire { db, key, at } => {
                let _ = write!(out, "EXPIRE db={db} key=");
                push_quoted(out, key);
                expiry_text(out, "at", *at);
            }
            Effect::Append { db, key, suffix } => {
                let _ = write!(out, "APPEND db={db} key=");
                push_quoted(out, key);
                out.push_str(" suffix=");
                text::push_quoted_capped(out, suffix);
            }
            Effect::SetRange {
                db,
                key,
                offset,
                data,
            } => {
                let _ = write!(out, "SETRANGE db={db} key=");
                push_quoted(out, key);
                let _ = write!(out, " offset={offset} data=");
                text::push_quoted_capped(out, data);
            }
            Effect::FlushDb { db } => {
                let _ = write!(out, "FLUSHDB db={db}");
            }
            Effect::FlushAll => out.push_str("FLUSHALL"),
            Effect::NsCreate { id, name } => {
                let _ = write!(out, "NS_CREATE id={id} name=");
                push_quoted(out, name.as_bytes());
            }
            Effect::NsDrop { name } => {
                out.push_str("NS_DROP name=");
                push_quoted(out, name.as_bytes());
            }
            Effect::FuncLoad { name, code } => {
                out.push_str("FUNC_LOAD library=");
                push_quoted(out, name.as_bytes());
                let _ = write!(out, " code_bytes={}", code.len());
            }
            Effect::FuncDel { name } => {
                out.push_str("FUNC_DEL library=");
                push_quoted(out, name.as_bytes());
            }
            Effect::FuncFlush => out.push_str("FUNC_FLUSH"),
            Effect::Coll { db, key, tag, body } => {
                let _ = write!(out, "{} db={db} key=", vole_engine::types::type_name(*tag));
                push_quoted(out, key);
                out.push(' ');
                match vole_engine::types::describe(*tag, body) {
                    Ok(ops) => out.push_str(&ops),
                    Err(e) => {
                        let _ = write!(out, "undecodable body ({e}): ");
                        text::push_quoted_capped(out, body);
                    }
                }
            }
        }
    }
}

fn json_key(out: &mut String, db: u32, key: &[u8]) {
    let _ = write!(out, ",\"db\":{db},\"key\":");
    push_json_bytes(out, key);
}

/// Appends `,"value":...,"type":"..."` for a value: a string for strings, an array of
/// elements for lists and sets, of `[field, value]` pairs for hashes and of `[member, score]`
/// pairs for sorted sets (scores as JSON numbers, or the strings "inf", "-inf").
pub fn json_value(out: &mut String, value: &Value) {
    out.push_str(",\"value\":");
    let list = |out: &mut String, items: &mut dyn Iterator<Item = &[u8]>| {
        out.push('[');
        for (i, e) in items.enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_json_bytes(out, e);
        }
        out.push(']');
    };
    match value {
        Value::Str { data, .. } => push_json_bytes(out, data),
        Value::List(l) => list(out, &mut l.iter()),
        Value::Set(s) => list(out, &mut s.iter()),
        Value::Hash(h) => {
            out.push('[');
            for (i, (f, v)) in h.iter().enumerate() {
                out.push_str(if i > 0 { ",[" } else { "[" });
                push_json_bytes(out, f);
                out.push(',');
                push_json_bytes(out, v);
                out.push(']');
            }
            out.push(']');
        }
        Value::ZSet(z) => {
            out.push('[');
            for (i, (m, s)) in z.iter().enumerate() {
                out.push_str(if i > 0 { ",[" } else { "[" });
                push_json_bytes(out, m);
                out.push(',');
                if s.is_finite() {
                    out.push_str(&vole_engine::num::fmt_double(s));
                } else {
                    push_json_str(out, &vole_engine::num::fmt_double(s));
                }
                out.push(']');
            }
            out.push(']');
        }
        Value::Stream(st) => json_stream(out, st),
    }
    out.push_str(",\"type\":");
    push_json_str(out, value.type_name());
}

/// A stream as `{"last_id", "entries_added", "max_deleted_id", "entries": [[id, [field,
/// value, ...]], ...], "groups": [{"name", "last_id", "entries_read", "consumers": [{"name",
/// "seen_time", "active_time"}], "pending": [[id, consumer, delivery_time, count]]}]}`.
fn json_stream(out: &mut String, st: &vole_engine::types::stream::Stream) {
    use vole_engine::types::stream::StreamId;
    let _ = write!(
        out,
        "{{\"last_id\":\"{}\",\"entries_added\":{},\"max_deleted_id\":\"{}\",\"entries\":[",
        st.last_id, st.entries_added, st.max_deleted
    );
    let mut first = true;
    st.scan(StreamId::MIN, StreamId::MAX, false, |e| {
        out.push_str(if first { "[" } else { ",[" });
        first = false;
        let _ = write!(out, "\"{}\",[", e.id);
        for (i, (f, v)) in e.fields().into_iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_json_bytes(out, f);
            out.push(',');
            push_json_bytes(out, v);
        }
        out.push_str("]]");
        true
    });
    out.push_str("],\"groups\":[");
    for (gi, (name, g)) in st.groups.iter().enumerate() {
        out.push_str(if gi > 0 { ",{\"name\":" } else { "{\"name\":" });
        push_json_bytes(out, name);
        let _ = write!(
            out,
            ",\"last_id\":\"{}\",\"entries_read\":{},\"consumers\":[",
            g.last_id, g.entries_read
        );
        for (ci, (cname, c)) in g.consumers.iter().enumerate() {
            out.push_str(if ci > 0 { ",{\"name\":" } else { "{\"name\":" });
            push_json_bytes(out, cname);
            let _ = write!(
                out,
                ",\"seen_time\":{},\"active_time\":{}}}",
                c.seen_time, c.active_time
            );
        }
        out.push_str("],\"pending\":[");
        for (pi, (id, p)) in g.pending.iter().enumerate() {
            let _ = write!(out, "{}[\"{id}\",", if pi > 0 { "," } else { "" });
            push_json_bytes(out, &p.consumer);
            let _ = write!(out, ",{},{}]", p.delivery_time, p.delivery_count);
        }
        out.push_str("]}");
    }
    out.push_str("]}");
}

fn json_expiry(out: &mut String, label: &str, at: i64) {
    let _ = write!(out, ",\"{label}\":");
    push_json_opt(out, (at != 0).then_some(at));
}

/// One record as a JSON object on one line.
pub fn record_json(out: &mut String, lsn: u64, kind: u8, record: &Record<'_>) {
    let _ = write!(
        out,
        "{{\"lsn\":{lsn},\"kind\":{kind},\"origin\":{},\"hlc\":{},\"effects\":[",
        record.origin, record.hlc
    );
    for (i, e) in record.effects.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match e {
            Effect::Set {
                db,
                key,
                value,
                expire_at,
            } => {
                out.push_str("{\"op\":\"SET\"");
                json_key(out, *db, key);
                json_value(out, value);
                json_expiry(out, "expire_at_ms", *expire_at);
            }
            Effect::Del { db, key } => {
                out.push_str("{\"op\":\"DEL\"");
                json_key(out, *db, key);
            }
            Effect::Expire { db, key, at } => {
                out.push_str("{\"op\":\"EXPIRE\"");
                json_key(out, *db, key);
                json_expiry(out, "at_ms", *at);
            }
            Effect::Append { db, key, suffix } => {
                out.push_str("{\"op\":\"APPEND\"");
                json_key(out, *db, key);
                out.push_str(",\"suffix\":");
                push_json_bytes(out, suffix);
            }
            Effect::SetRange {
                db,
                key,
                offset,
                data,
            } => {
                out.push_str("{\"op\":\"SETRANGE\"");
                json_key(out, *db, key);
                let _ = write!(out, ",\"offset\":{offset},\"data\":");
                push_json_bytes(out, data);
            }
            Effect::FlushDb { db } => {
                let _ = write!(out, "{{\"op\":\"FLUSHDB\",\"db\":{db}");
            }
            Effect::FlushAll => out.push_str("{\"op\":\"FLUSHALL\""),
            Effect::NsCreate { id, name } => {
                let _ = write!(out, "{{\"op\":\"NS_CREATE\",\"id\":{id},\"name\":");
                push_json_str(out, name);
            }
            Effect::NsDrop { name } => {
                out.push_str("{\"op\":\"NS_DROP\",\"name\":");
                push_json_str(out, name);
            }
            Effect::FuncLoad { name, code } => {
                out.push_str("{\"op\":\"FUNC_LOAD\",\"library\":");
                push_json_str(out, name);
                let _ = write!(out, ",\"code_bytes\":{}", code.len());
            }
            Effect::FuncDel { name } => {
                out.push_str("{\"op\":\"FUNC_DEL\",\"library\":");
                push_json_str(out, name);
            }
            Effect::FuncFlush => out.push_str("{\"op\":\"FUNC_FLUSH\""),
            Effect::Coll { db, key, tag, body } => {
                out.push_str("{\"op\":\"COLL\"");
                json_key(out, *db, key);
                out.push_str(",\"type\":");
                push_json_str(out, vole_engine::types::type_name(*tag));
                out.push_str(",\"ops\":");
                match vole_engine::types::describe(*tag, body) {
                    Ok(ops) => push_json_str(out, &ops),
                    Err(_) => out.push_str("null"),
                }
                out.push_str(",\"body\":");
                push_json_bytes(out, body);
            }
        }
        out.push('}');
    }
    out.push_str("]}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use vole_wal::record::encode_record;

    fn records(lsns: &[u64]) -> Vec<u8> {
        let mut buf = vec![0u8; SEGMENT_HEADER_LEN];
        for &lsn in lsns {
            encode_record(lsn, 1, b"payload", &mut buf).expect("encode");
        }
        buf
    }

    #[test]
    fn probe_finds_records_behind_a_damaged_length() {
        // Proves the probe past damage finds the whole records that follow it, in order.
        let mut buf = records(&[5, 6, 7, 8]);
        let second = SEGMENT_HEADER_LEN + RECORD_HEADER_LEN + 7;
        buf[second + 3] = 0x40; // length of LSN 6 now points far past the end
        let found = whole_records_after(&buf, second, 6);
        let lsns: Vec<u64> = found.iter().map(|&(_, l)| l).collect();
        assert_eq!(lsns, vec![7, 8]);
        assert_eq!(found[0].0 as usize, second + RECORD_HEADER_LEN + 7);
    }

    #[test]
    fn probe_starts_at_the_segment_lsn_when_the_first_record_is_damaged() {
        // Proves damage to a segment's first record still finds the records behind it when
        // the segment starts far from LSN 1.
        let mut buf = records(&[1_000_000, 1_000_001, 1_000_002]);
        buf[SEGMENT_HEADER_LEN + 3] = 0x40;
        let found = whole_records_after(&buf, SEGMENT_HEADER_LEN, next_min_lsn(None, 1_000_000));
        let lsns: Vec<u64> = found.iter().map(|&(_, l)| l).collect();
        assert_eq!(lsns, vec![1_000_001, 1_000_002]);
    }

    #[test]
    fn probe_finds_nothing_in_a_torn_write() {
        // Proves a partly written record (and zeros) yields no whole record.
        let buf = records(&[1, 2]);
        let cut = buf.len() - 3;
        assert!(whole_records_after(&buf[..cut], cut - 21, 2).is_empty());
        assert!(whole_records_after(&[0u8; 200], 0, 10).is_empty());
    }

    #[test]
    fn record_formats_show_every_effect() {
        // Proves text and JSON dumps name each effect with its fields, bytes escaped.
        let mut b = vole_engine::effect::RecordBuf::default();
        b.reset(0, 1_700_000_000_000 << 16);
        b.set(
            0,
            b"k\x00",
            Value::string(b"v\n").as_ref(),
            1_700_000_010_000,
        );
        b.del(1, b"gone");
        b.flushall();
        let rec = decode_record(1, b.payload()).expect("decode");
        let mut t = String::new();
        record_text(&mut t, 9, 1, &rec);
        assert!(t.starts_with("LSN 9 kind=1 origin=0"), "{t}");
        assert!(t.contains("SET db=0 key=\"k\\x00\" value=\"v\\n\" expire_at=1700000010000"));
        assert!(t.contains("\n  DEL db=1 key=\"gone\"\n  FLUSHALL"), "{t}");
        let mut j = String::new();
        record_json(&mut j, 9, 1, &rec);
        assert!(j.contains("\"op\":\"SET\",\"db\":0,\"key\":\"k\\u0000\",\"value\":\"v\\n\""));
        assert!(j.ends_with("{\"op\":\"FLUSHALL\"}]}"), "{j}");
    }
}
