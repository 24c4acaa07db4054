//! Reading the log by LSN: [`WalReader`] yields the records at or above a position, across
//! segment files in order, while the writer keeps appending and rolling over. It reads
//! through [`Storage::read_at`], a window at a time (the rest of a segment at once only to
//! judge damage).
//!
//! A reader is attached to a running [`crate::log::Wal`] ([`crate::log::Wal::reader`]) or
//! works on a directory alone ([`WalReader::open_storage`]: start-up replay, offline tools).
//!
//! - Only bytes handed to the storage are visible; attached to a `Wal`, the reader never
//!   reads past the bytes the writer reports written.
//! - What looks torn at the end of the newest segment means "not written yet":
//!   [`WalReader::next`] returns `None` and the same bytes are looked at again next time.
//! - A segment is left only once a later one exists, and is looked at once more after that
//!   is seen (the writer finishes a segment before it creates the next). A torn tail in a
//!   segment that is not the newest, or a damaged record, is yielded as [`ReadItem::Corrupt`]
//!   and the rest of that segment is skipped, as the recovery table in [`crate::recover`]
//!   says.
//! - Records below the position are skipped; the LSN order within a segment is checked.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::log::{Shared, StorageIo};
use crate::record::{decode_record, Decoded, DEFAULT_MAX_RECORD_PAYLOAD_BYTES, RECORD_HEADER_LEN};
use crate::recover::{header_step, lsn_out_of_order, step, HeaderStep, Step};
use crate::segment::{parse_segment_file_name, HeaderError, SEGMENT_HEADER_LEN};
use crate::storage::Storage;

/// Bytes asked of the storage per read when no record says how many are needed.
pub const READ_CHUNK_BYTES: usize = 1 << 20;

/// How often an offline reader looks for new bytes in [`WalReader::next_timeout`].
const OFFLINE_POLL: Duration = Duration::from_millis(10);

/// One thing read from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadItem {
    /// A whole, checked record.
    Record {
        /// Its LSN.
        lsn: u64,
        /// Its opaque kind byte.
        kind: u8,
        /// Its payload.
        payload: Vec<u8>,
    },
    /// A damaged record (or a torn tail in a segment that is not the newest); the reader
    /// goes on with the next segment.
    Corrupt {
        /// The segment file name.
        segment: String,
        /// Offset of the damage in the segment.
        offset: u64,
        /// The last good LSN before it in the same segment, if any.
        after_lsn: Option<u64>,
        /// What is wrong.
        reason: String,
    },
}

/// Why a [`WalReader`] could not go on.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The records at `requested` were deleted by retention (or are older than this log).
    #[error("LSN {requested} is no longer in the log (oldest retained: {oldest})")]
    NotRetained {
        /// The LSN asked for.
        requested: u64,
        /// The first LSN the oldest retained segment may hold.
        oldest: u64,
    },
    /// The storage failed.
    #[error("WAL read error on {0}")]
    Io(StorageIo),
    /// A segment header is unusable.
    #[error("WAL segment {segment}: {reason}")]
    BadHeader {
        /// The segment file name.
        segment: String,
        /// What is wrong with the header.
        reason: HeaderError,
    },
}

/// Where segments and their sizes come from.
enum Source<S> {
    /// A running writer: its segment list, and how many bytes of each it wrote.
    Live(Arc<Shared<S>>),
    /// The directory alone.
    Offline(S),
}

/// A segment the reader may open.
struct SegRef {
    first_lsn: u64,
    name: String,
}

/// How far into a segment the reader may look.
enum Limit {
    Unbounded,
    Upto(u64),
    /// The segment was deleted (by retention) under the reader.
    Gone,
}

impl<S: Storage> Source<S> {
    fn storage(&self) -> &S {
        match self {
            Source::Live(shared) => &shared.storage,
            Source::Offline(storage) => storage,
        }
    }

    fn segments(&self) -> Result<Vec<SegRef>, ReadError> {
        match self {
            Source::Live(shared) => Ok(shared
                .segment_list()
                .into_iter()
                .map(|m| SegRef {
                    first_lsn: m.first_lsn,
                    name: m.name,
                })
                .collect()),
            Source::Offline(storage) => list_segments(storage),
        }
    }

    fn segment_after(&self, first_lsn: u64) -> Result<Option<SegRef>, ReadError> {
        match self {
            Source::Live(shared) => Ok(shared.segment_after(first_lsn).map(|m| SegRef {
                first_lsn: m.first_lsn,
                name: m.name,
            })),
            Source::Offline(storage) => Ok(list_segments(storage)?
                .into_iter()
                .find(|s| s.first_lsn > first_lsn)),
        }
    }

    fn limit(&self, first_lsn: u64) -> Limit {
        match self {
            Source::Live(shared) => match shared.segment(first_lsn) {
                Some(meta) => Limit::Upto(meta.bytes),
                None => Limit::Gone,
            },
            Source::Offline(_) => Limit::Unbounded,
        }
    }

    fn oldest(&self) -> Result<u64, ReadError> {
        match self {
            Source::Live(shared) => Ok(shared.oldest_lsn()),
            Source::Offline(storage) => {
                Ok(list_segments(storage)?.first().map_or(1, |s| s.first_lsn))
            }
        }
    }
}

fn list_segments<S: Storage>(storage: &S) -> Result<Vec<SegRef>, ReadError> {
    let names = storage
        .list()
        .map_err(|e| ReadError::Io(StorageIo::new("directory", e)))?;
    let mut segs: Vec<SegRef> = names
        .into_iter()
        .filter_map(|name| {
            parse_segment_file_name(&name).map(|first_lsn| SegRef { first_lsn, name })
        })
        .collect();
    segs.sort_by_key(|s| s.first_lsn);
    Ok(segs)
}

/// The reader's place in one segment.
struct Cursor {
    first_lsn: u64,
    name: String,
    /// The header's first LSN, once the header was read and checked.
    header_first_lsn: Option<u64>,
    /// Bytes read from the file, starting at `buf_offset`; `buf[..pos]` are consumed.
    buf: Vec<u8>,
    buf_offset: u64,
    pos: usize,
    /// The last record read from this segment (at or below the position or not).
    last_lsn: Option<u64>,
    /// The rest of this segment is skipped (after damage).
    done: bool,
}

impl Cursor {
    fn new(seg: SegRef) -> Self {
        Self {
            first_lsn: seg.first_lsn,
            name: seg.name,
            header_first_lsn: None,
            buf: Vec::new(),
            buf_offset: 0,
            pos: 0,
            last_lsn: None,
            done: false,
        }
    }

    /// File offset of the next unread byte.
    fn offset(&self) -> u64 {
        self.buf_offset + self.pos as u64
    }

    fn corrupt(&mut self, reason: String) -> ReadItem {
        self.done = true;
        ReadItem::Corrupt {
            segment: self.name.clone(),
            offset: self.offset(),
            after_lsn: self.last_lsn,
            reason,
        }
    }
}

/// Why reading a segment stopped short of an item.
enum Stop {
    /// The segment was deleted under the reader.
    Gone,
    Err(ReadError),
}

impl From<ReadError> for Stop {
    fn from(e: ReadError) -> Self {
        Stop::Err(e)
    }
}

/// What one step inside a segment produced.
enum Advance {
    Item(ReadItem),
    /// Nothing more in what is visible; `torn` if what is left looks like a torn write.
    End {
        torn: bool,
    },
}

/// Reads up to `want` more bytes of the cursor's segment into its buffer; returns how many.
fn fill<S: Storage>(src: &Source<S>, cur: &mut Cursor, want: usize) -> Result<usize, Stop> {
    if cur.pos > 0 {
        cur.buf.drain(..cur.pos);
        cur.buf_offset += cur.pos as u64;
        cur.pos = 0;
    }
    let end = cur.buf_offset + cur.buf.len() as u64;
    let want = match src.limit(cur.first_lsn) {
        Limit::Unbounded => want,
        Limit::Upto(limit) => {
            usize::try_from(limit.saturating_sub(end)).map_or(want, |left| left.min(want))
        }
        Limit::Gone => return Err(Stop::Gone),
    };
    if want == 0 {
        return Ok(0);
    }
    match src.storage().read_at(&cur.name, end, want) {
        Ok(bytes) => {
            cur.buf.extend_from_slice(&bytes);
            Ok(bytes.len())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(Stop::Gone),
        Err(e) => Err(Stop::Err(ReadError::Io(StorageIo::new(
            cur.name.clone(),
            e,
        )))),
    }
}

/// Reads everything visible of the cursor's segment.
fn fill_to_end<S: Storage>(src: &Source<S>, cur: &mut Cursor) -> Result<(), Stop> {
    while fill(src, cur, READ_CHUNK_BYTES)? > 0 {}
    Ok(())
}

/// Bytes still missing for the record whose start is in `rest` (at least a header's worth).
fn missing_bytes(rest: &[u8]) -> usize {
    let declared = rest
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes)
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(0);
    RECORD_HEADER_LEN
        .saturating_add(declared)
        .saturating_sub(rest.len())
        .max(1)
}

/// Reads the next item of the cursor's segment at or above `position`.
fn advance<S: Storage>(
    src: &Source<S>,
    cur: &mut Cursor,
    max_payload: usize,
    position: u64,
) -> Result<Advance, Stop> {
    let header_first_lsn = match cur.header_first_lsn {
        Some(first) => first,
        None => {
            fill(src, cur, SEGMENT_HEADER_LEN.saturating_sub(cur.buf.len()))?;
            if !matches!(header_step(&cur.buf), HeaderStep::Valid(_)) {
                // Torn or bad is decided by everything there is.
                fill_to_end(src, cur)?;
            }
            match header_step(&cur.buf) {
                HeaderStep::Valid(header) => {
                    cur.pos = SEGMENT_HEADER_LEN;
                    cur.header_first_lsn = Some(header.first_lsn);
                    header.first_lsn
                }
                HeaderStep::Torn => return Ok(Advance::End { torn: true }),
                HeaderStep::Bad(reason) => {
                    return Err(Stop::Err(ReadError::BadHeader {
                        segment: cur.name.clone(),
                        reason,
                    }))
                }
            }
        }
    };
    loop {
        let rest = &cur.buf[cur.pos..];
        if rest.is_empty() {
            if fill(src, cur, READ_CHUNK_BYTES)? == 0 {
                return Ok(Advance::End { torn: false });
            }
            continue;
        }
        match decode_record(rest, max_payload) {
            Decoded::Record {
                lsn,
                kind,
                payload,
                len,
            } => {
                if let Some(reason) = lsn_out_of_order(header_first_lsn, cur.last_lsn, lsn) {
                    return Ok(Advance::Item(cur.corrupt(reason.to_string())));
                }
                let item = (lsn >= position).then(|| ReadItem::Record {
                    lsn,
                    kind,
                    payload: payload.to_vec(),
                });
                cur.pos += len;
                cur.last_lsn = Some(lsn);
                match item {
                    Some(item) => return Ok(Advance::Item(item)),
                    None => continue,
                }
            }
            Decoded::Incomplete => {
                let want = missing_bytes(rest).max(READ_CHUNK_BYTES);
                if fill(src, cur, want)? > 0 {
                    continue;
                }
            }
            Decoded::BadChecksum { .. } | Decoded::LengthOverLimit { .. } => {}
        }
        // Not a whole record in what is buffered: judge it with everything there is.
        fill_to_end(src, cur)?;
        match step(&cur.buf[cur.pos..], max_payload) {
            Step::Record { .. } => continue,
            Step::Torn => return Ok(Advance::End { torn: true }),
            Step::Corrupt(reason) => return Ok(Advance::Item(cur.corrupt(reason.to_string()))),
        }
    }
}

/// Reads records at or above a position, across segments, as they are written. See the
/// module docs for what is visible and how damage is reported.
pub struct WalReader<S: Storage> {
    source: Source<S>,
    max_payload: usize,
    position: u64,
    cur: Option<Cursor>,
}

impl<S: Storage> WalReader<S> {
    /// A reader attached to a running log (see [`crate::log::Wal::reader`]).
    pub(crate) fn live(shared: Arc<Shared<S>>, from_lsn: u64) -> Result<Self, ReadError> {
        let max_payload = shared.max_record_payload;
        Self::start(Source::Live(shared), from_lsn, max_payload)
    }

    /// A reader over a log directory with no running writer: start-up replay, `vole-tool`.
    /// Records are accepted up to [`DEFAULT_MAX_RECORD_PAYLOAD_BYTES`] (see
    /// [`Self::with_max_record_payload`]). `from_lsn` 0 starts at the oldest retained record.
    ///
    /// Errors with [`ReadError::NotRetained`] if the oldest segment starts above `from_lsn`,
    /// or [`ReadError::Io`] if the directory cannot be listed.
    pub fn open_storage(storage: S, from_lsn: u64) -> Result<Self, ReadError> {
        Self::start(
            Source::Offline(storage),
            from_lsn,
            DEFAULT_MAX_RECORD_PAYLOAD_BYTES,
        )
    }

    fn start(source: Source<S>, from_lsn: u64, max_payload: usize) -> Result<Self, ReadError> {
        let oldest = source.oldest()?;
        let position = if from_lsn == 0 { oldest } else { from_lsn };
        if position < oldest {
            return Err(ReadError::NotRetained {
                requested: position,
                oldest,
            });
        }
        Ok(Self {
            source,
            max_payload,
            position,
            cur: None,
        })
    }

    /// Sets the largest payload accepted, in bytes; a longer declared length is damage.
    pub fn with_max_record_payload(mut self, bytes: usize) -> Self {
        self.max_payload = bytes;
        self
    }

    /// The next LSN expected: one above the last record returned, or the start position.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// The next record (or damage report) at or above [`Self::position`], or `None` when
    /// caught up with what is written; call again later (or use [`Self::next_timeout`]).
    ///
    /// Errors with [`ReadError::NotRetained`] if retention deleted records the reader still
    /// needed, [`ReadError::BadHeader`] for an unusable segment header, and
    /// [`ReadError::Io`] if the storage fails. After an error the reader may be dropped.
    // Not an Iterator: it is fallible, and `None` means "nothing yet", not the end.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<ReadItem>, ReadError> {
        loop {
            let Some(cur) = self.cur.as_mut() else {
                match self.start_segment()? {
                    Some(seg) => self.cur = Some(Cursor::new(seg)),
                    None => return Ok(None),
                }
                continue;
            };
            if cur.done {
                match self.source.segment_after(cur.first_lsn)? {
                    Some(next) => self.cur = Some(Cursor::new(next)),
                    None => return Ok(None),
                }
                continue;
            }
            match advance(&self.source, cur, self.max_payload, self.position) {
                Ok(Advance::Item(item)) => {
                    if let ReadItem::Record { lsn, .. } = &item {
                        self.position = lsn.saturating_add(1);
                    }
                    return Ok(Some(item));
                }
                Ok(Advance::End { torn }) => {
                    // Look for a later segment first, then at this one once more: the
                    // writer finished this one before it created the next.
                    let next = self.source.segment_after(cur.first_lsn)?;
                    match fill(&self.source, cur, READ_CHUNK_BYTES) {
                        Ok(0) => {}
                        Ok(_) => continue,
                        Err(Stop::Gone) => {
                            self.leave_deleted_segment()?;
                            continue;
                        }
                        Err(Stop::Err(e)) => return Err(e),
                    }
                    let Some(next) = next else {
                        return Ok(None);
                    };
                    if torn {
                        let reason = "torn tail in a segment that is not the newest";
                        return Ok(Some(cur.corrupt(reason.to_owned())));
                    }
                    self.cur = Some(Cursor::new(next));
                }
                Err(Stop::Gone) => self.leave_deleted_segment()?,
                Err(Stop::Err(e)) => return Err(e),
            }
        }
    }

    /// Like [`Self::next`], but when caught up waits up to `timeout` for the writer to add
    /// something. Offline readers look again every few milliseconds.
    ///
    /// Errors as [`Self::next`] does.
    pub fn next_timeout(&mut self, timeout: Duration) -> Result<Option<ReadItem>, ReadError> {
        let deadline = Instant::now() + timeout;
        loop {
            let seen = match &self.source {
                Source::Live(shared) => Some(shared.write_generation()),
                Source::Offline(_) => None,
            };
            if let Some(item) = self.next()? {
                return Ok(Some(item));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            match (&self.source, seen) {
                (Source::Live(shared), Some(seen)) => shared.wait_write(seen, left),
                _ => std::thread::sleep(left.min(OFFLINE_POLL)),
            }
        }
    }

    /// The segment holding [`Self::position`]: the last one starting at or below it.
    fn start_segment(&self) -> Result<Option<SegRef>, ReadError> {
        let segs = self.source.segments()?;
        if let Some(first) = segs.first() {
            if first.first_lsn > self.position {
                // Checked when the reader was made, so retention removed it since.
                return Err(ReadError::NotRetained {
                    requested: self.position,
                    oldest: first.first_lsn,
                });
            }
        }
        Ok(segs
            .into_iter()
            .rev()
            .find(|s| s.first_lsn <= self.position))
    }

    /// The current segment was deleted: go on only if nothing the reader needs was in it.
    fn leave_deleted_segment(&mut self) -> Result<(), ReadError> {
        let Some(cur) = &self.cur else {
            return Ok(());
        };
        match self.source.segment_after(cur.first_lsn)? {
            Some(next) if next.first_lsn <= self.position => {
                self.cur = Some(Cursor::new(next));
                Ok(())
            }
            _ => Err(ReadError::NotRetained {
                requested: self.position,
                oldest: self.source.oldest()?,
            }),
        }
    }
}
