//! Segment files: a fixed header, then records (see [`crate::record`]) back to back.
//!
//! ```text
//! offset  width  field       meaning (all integers little-endian)
//! ------  -----  ----------  -------------------------------------------------------------
//!      0      8  magic       b"VOLEWAL\0"
//!      8      4  version     u32, format version, currently 1
//!     12      8  first_lsn   u64, LSN of the first record this segment may hold
//!     20      4  crc32       u32, CRC32 (crc32fast) over bytes 0..20
//!     24      -  records     record, record, ... up to the end of the file
//! ```
//!
//! Files are named `{first_lsn:020}.wal`, so sorting names sorts segments by LSN.
//! A segment's directory entry is made durable when it is created, and its header is written
//! and synced before any record is appended to it (see [`SegmentWriter::create`]).

use crate::record::{encode_record, DEFAULT_MAX_RECORD_PAYLOAD_BYTES};
use crate::storage::Storage;

/// The 8 bytes every segment file starts with.
pub const SEGMENT_MAGIC: [u8; 8] = *b"VOLEWAL\0";
/// The only segment format version this build reads and writes.
pub const SEGMENT_VERSION: u32 = 1;
/// Bytes in a segment header.
pub const SEGMENT_HEADER_LEN: usize = 24;

/// A decoded segment header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    /// LSN of the first record the segment may hold.
    pub first_lsn: u64,
}

/// Why a segment header was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// Fewer than [`SEGMENT_HEADER_LEN`] bytes.
    #[error("segment header truncated: {len} of {SEGMENT_HEADER_LEN} bytes")]
    Truncated {
        /// Bytes present.
        len: usize,
    },
    /// The file does not start with [`SEGMENT_MAGIC`]: not a Vole segment.
    #[error("bad magic: not a Vole WAL segment")]
    BadMagic,
    /// A version this build does not know (written by a newer Vole, or damaged).
    #[error("unknown segment format version {0} (this build reads {SEGMENT_VERSION})")]
    UnknownVersion(u32),
    /// Magic and version look right but the header checksum does not match.
    #[error("segment header checksum mismatch")]
    BadChecksum,
}

/// Appends the encoding of a segment header to `out`.
pub fn encode_segment_header(first_lsn: u64, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&SEGMENT_MAGIC);
    out.extend_from_slice(&SEGMENT_VERSION.to_le_bytes());
    out.extend_from_slice(&first_lsn.to_le_bytes());
    let crc = crc32fast::hash(&out[start..]);
    out.extend_from_slice(&crc.to_le_bytes());
}

/// Decodes the segment header at the start of `buf`.
///
/// Errors when the header is short, the magic is wrong, the version is unknown, or the
/// checksum does not match, checked in that order. Never panics.
pub fn decode_segment_header(buf: &[u8]) -> Result<SegmentHeader, HeaderError> {
    let Some(header) = buf.get(..SEGMENT_HEADER_LEN) else {
        return Err(HeaderError::Truncated { len: buf.len() });
    };
    let (magic, rest) = header.split_at(8);
    if magic != SEGMENT_MAGIC {
        return Err(HeaderError::BadMagic);
    }
    let (version, rest) = rest.split_at(4);
    let (first_lsn, crc) = rest.split_at(8);
    let version = u32::from_le_bytes(version.try_into().map_err(|_| HeaderError::BadMagic)?);
    if version != SEGMENT_VERSION {
        return Err(HeaderError::UnknownVersion(version));
    }
    let first_lsn = u64::from_le_bytes(first_lsn.try_into().map_err(|_| HeaderError::BadMagic)?);
    let crc = u32::from_le_bytes(crc.try_into().map_err(|_| HeaderError::BadMagic)?);
    if crc32fast::hash(&header[..20]) != crc {
        return Err(HeaderError::BadChecksum);
    }
    Ok(SegmentHeader { first_lsn })
}

/// The file name of the segment whose first LSN is `first_lsn`: `{first_lsn:020}.wal`.
pub fn segment_file_name(first_lsn: u64) -> String {
    format!("{first_lsn:020}.wal")
}

/// The first LSN encoded in a segment file name, or `None` if `name` is not one.
pub fn parse_segment_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".wal")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Why a [`SegmentWriter`] call failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The storage failed. The writer is poisoned: what reached the disk is unknown until
    /// the segment is scanned again at restart.
    #[error("storage error on segment {segment}: {source}")]
    Io {
        /// The segment file name.
        segment: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An earlier storage error poisoned this writer.
    #[error("segment writer is poisoned by an earlier storage error")]
    Poisoned,
    /// LSNs must start at the segment's first LSN or later and strictly increase.
    #[error("LSN {lsn} does not follow {after:?} (segment first LSN {first_lsn})")]
    LsnNotIncreasing {
        /// The refused LSN.
        lsn: u64,
        /// The last LSN appended, if any.
        after: Option<u64>,
        /// The segment's first LSN.
        first_lsn: u64,
    },
    /// The payload is above [`DEFAULT_MAX_RECORD_PAYLOAD_BYTES`].
    #[error("record payload of {0} bytes is over the limit")]
    PayloadTooLarge(usize),
}

/// Appends records to one segment through a [`Storage`]. The whole log (rolling to a new
/// segment, group commit, fsync policy) is [`crate::log::Wal`], which drives one of these.
pub struct SegmentWriter<S: Storage> {
    storage: S,
    file: S::File,
    name: String,
    first_lsn: u64,
    last_lsn: Option<u64>,
    /// Bytes handed to the storage so far, header included.
    len: u64,
    /// The file's length including zeros preallocated after `len`.
    preallocated: u64,
    buf: Vec<u8>,
    poisoned: bool,
}

impl<S: Storage> SegmentWriter<S> {
    /// Creates segment `{first_lsn:020}.wal` (directory entry durable, see [`Storage::create`]),
    /// then writes and syncs its header.
    ///
    /// Errors if the file already exists or any storage call fails.
    pub fn create(storage: S, first_lsn: u64) -> Result<Self, WriteError> {
        let name = segment_file_name(first_lsn);
        let io = |source| WriteError::Io {
            segment: name.clone(),
            source,
        };
        let mut file = storage.create(&name).map_err(io)?;
        let mut header = Vec::with_capacity(SEGMENT_HEADER_LEN);
        encode_segment_header(first_lsn, &mut header);
        storage.append(&mut file, &header).map_err(io)?;
        storage.sync(&mut file).map_err(io)?;
        Ok(Self {
            storage,
            file,
            name,
            first_lsn,
            last_lsn: None,
            len: SEGMENT_HEADER_LEN as u64,
            preallocated: SEGMENT_HEADER_LEN as u64,
            buf: Vec::new(),
            poisoned: false,
        })
    }

    /// The segment's file name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The last LSN appended (synced or not).
    pub fn last_lsn(&self) -> Option<u64> {
        self.last_lsn
    }

    /// The segment's first LSN (from its name and header).
    pub fn first_lsn(&self) -> u64 {
        self.first_lsn
    }

    /// Bytes handed to the storage so far, header included.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// The file's length: what was appended, or more when zeros were preallocated after it.
    pub fn file_len(&self) -> u64 {
        self.preallocated.max(self.len)
    }

    /// True while the segment holds no record, only its header.
    pub fn is_empty(&self) -> bool {
        self.last_lsn.is_none()
    }

    fn check_order(&self, lsn: u64) -> Result<(), WriteError> {
        let in_order = match self.last_lsn {
            None => lsn >= self.first_lsn,
            Some(last) => lsn > last,
        };
        if in_order {
            Ok(())
        } else {
            Err(WriteError::LsnNotIncreasing {
                lsn,
                after: self.last_lsn,
                first_lsn: self.first_lsn,
            })
        }
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), WriteError> {
        if let Err(source) = self.storage.append(&mut self.file, bytes) {
            return Err(self.poison(source));
        }
        self.len += bytes.len() as u64;
        Ok(())
    }

    fn poison(&mut self, source: std::io::Error) -> WriteError {
        self.poisoned = true;
        WriteError::Io {
            segment: self.name.clone(),
            source,
        }
    }

    /// Writes zeros after the appended bytes up to a file length of `len` (nothing when the
    /// file is that long already), so that later appends overwrite them and a sync does not
    /// have to change the file's size. Durable with the next [`Self::sync`].
    ///
    /// Errors if the writer is poisoned or the storage fails (which poisons the writer).
    pub fn preallocate(&mut self, len: u64) -> Result<(), WriteError> {
        if self.poisoned {
            return Err(WriteError::Poisoned);
        }
        if len <= self.file_len() {
            return Ok(());
        }
        if let Err(source) = self.storage.preallocate(&mut self.file, len) {
            return Err(self.poison(source));
        }
        self.preallocated = len;
        Ok(())
    }

    /// Cuts preallocated zeros off the end of the file and makes the file durable, so that a
    /// finished segment ends exactly at its last record. Does nothing when no zeros follow
    /// the appended bytes (the caller syncs those as usual).
    ///
    /// Errors if the writer is poisoned or the storage fails (which poisons the writer).
    pub fn trim(&mut self) -> Result<(), WriteError> {
        if self.poisoned {
            return Err(WriteError::Poisoned);
        }
        if self.preallocated <= self.len {
            return Ok(());
        }
        if let Err(source) = self.storage.trim(&mut self.file) {
            return Err(self.poison(source));
        }
        self.preallocated = self.len;
        Ok(())
    }

    /// Appends records already encoded with [`encode_record`], back to back, in one storage
    /// write. `first_lsn` and `last_lsn` are the LSNs of the first and last of them; the
    /// caller vouches for the bytes (the log encodes them itself). Durable only after the next
    /// successful [`Self::sync`].
    ///
    /// Errors if `first_lsn` does not follow the last LSN appended, `last_lsn < first_lsn`,
    /// the writer is poisoned, or the storage fails (which poisons the writer).
    pub fn append_encoded(
        &mut self,
        records: &[u8],
        first_lsn: u64,
        last_lsn: u64,
    ) -> Result<(), WriteError> {
        if self.poisoned {
            return Err(WriteError::Poisoned);
        }
        self.check_order(first_lsn)?;
        if last_lsn < first_lsn {
            return Err(WriteError::LsnNotIncreasing {
                lsn: last_lsn,
                after: Some(first_lsn),
                first_lsn: self.first_lsn,
            });
        }
        self.write(records)?;
        self.last_lsn = Some(last_lsn);
        Ok(())
    }

    /// Appends one record. It is durable only after the next successful [`Self::sync`].
    ///
    /// Errors if the LSN does not increase, the payload is over the limit, the writer is
    /// poisoned, or the storage fails (which poisons the writer).
    pub fn append(&mut self, lsn: u64, kind: u8, payload: &[u8]) -> Result<(), WriteError> {
        if self.poisoned {
            return Err(WriteError::Poisoned);
        }
        self.check_order(lsn)?;
        if payload.len() > DEFAULT_MAX_RECORD_PAYLOAD_BYTES {
            return Err(WriteError::PayloadTooLarge(payload.len()));
        }
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        let written = encode_record(lsn, kind, payload, &mut buf)
            .map_err(|e| WriteError::PayloadTooLarge(e.0))
            .and_then(|()| self.write(&buf));
        self.buf = buf;
        written?;
        self.last_lsn = Some(lsn);
        Ok(())
    }

    /// Makes every appended record durable.
    ///
    /// Errors if the writer is poisoned or the sync fails; a failed sync poisons the writer,
    /// because after a failed fsync the kernel may have dropped the dirty pages.
    pub fn sync(&mut self) -> Result<(), WriteError> {
        if self.poisoned {
            return Err(WriteError::Poisoned);
        }
        if let Err(source) = self.storage.sync(&mut self.file) {
            return Err(self.poison(source));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recover::{scan_segment, SegmentEnd};
    use crate::storage::MemStorage;

    #[test]
    fn header_round_trip() {
        // Proves a segment header decodes to what was encoded, at the documented size.
        let mut buf = Vec::new();
        encode_segment_header(123_456, &mut buf);
        assert_eq!(buf.len(), SEGMENT_HEADER_LEN);
        assert_eq!(&buf[..8], b"VOLEWAL\0");
        assert_eq!(
            decode_segment_header(&buf),
            Ok(SegmentHeader { first_lsn: 123_456 })
        );
    }

    #[test]
    fn header_errors_in_order() {
        // Proves each header defect gets its own reason.
        let mut good = Vec::new();
        encode_segment_header(1, &mut good);
        assert_eq!(
            decode_segment_header(&good[..10]),
            Err(HeaderError::Truncated { len: 10 })
        );
        let mut bad = good.clone();
        bad[0] = b'X';
        assert_eq!(decode_segment_header(&bad), Err(HeaderError::BadMagic));
        let mut bad = good.clone();
        bad[8] = 2;
        assert_eq!(
            decode_segment_header(&bad),
            Err(HeaderError::UnknownVersion(2))
        );
        let mut bad = good.clone();
        bad[12] ^= 1;
        assert_eq!(decode_segment_header(&bad), Err(HeaderError::BadChecksum));
    }

    #[test]
    fn file_names_sort_by_lsn() {
        // Proves zero-padded names sort in LSN order and parse back.
        let lsns = [0u64, 9, 10, 999, 1_000_000, u64::MAX];
        let mut names: Vec<String> = lsns.iter().rev().map(|&l| segment_file_name(l)).collect();
        names.sort();
        let parsed: Vec<u64> = names
            .iter()
            .filter_map(|n| parse_segment_file_name(n))
            .collect();
        assert_eq!(parsed, lsns);
        assert_eq!(parse_segment_file_name("12.wal"), None);
        assert_eq!(parse_segment_file_name("0000000000000000000a.wal"), None);
        assert_eq!(parse_segment_file_name("00000000000000000001.log"), None);
    }

    #[test]
    fn synced_records_survive_crash_unsynced_are_gone() {
        // Proves appended-and-synced records survive a power cut and later unsynced ones do not.
        let storage = MemStorage::new();
        let mut writer = SegmentWriter::create(storage.clone(), 10).expect("create");
        writer.append(10, 1, b"a").expect("append");
        writer.append(11, 1, b"bb").expect("append");
        writer.sync().expect("sync");
        writer.append(12, 1, b"ccc").expect("append");
        storage.crash();
        let bytes = storage.read_all(writer.name()).expect("read");
        let report = scan_segment(&bytes);
        assert!(matches!(report.end, SegmentEnd::CleanEnd));
        assert_eq!(report.records, 2);
        assert_eq!(report.last_lsn, Some(11));
    }

    #[test]
    fn segment_not_durable_before_create_returns_is_gone() {
        // Proves a segment whose directory sync failed does not survive a power cut.
        let storage = MemStorage::new();
        storage.fail_nth_sync(1); // the directory sync inside Storage::create
        assert!(SegmentWriter::create(storage.clone(), 1).is_err());
        storage.crash();
        assert_eq!(storage.list().expect("list"), Vec::<String>::new());
    }

    #[test]
    fn torn_last_write_is_torn_tail() {
        // Proves a write torn by a power cut is found as TornTail at the last whole record.
        let storage = MemStorage::new();
        let mut writer = SegmentWriter::create(storage.clone(), 1).expect("create");
        writer.append(1, 1, b"whole").expect("append");
        writer.sync().expect("sync");
        let synced_len = storage.read_all(writer.name()).expect("read").len();
        // The header write was write 1, "whole" write 2; tear write 3 after 20 bytes.
        storage.tear_nth_write(3, 20);
        assert!(writer.append(2, 1, b"this one is torn").is_err());
        assert!(matches!(writer.sync(), Err(WriteError::Poisoned)));
        // The OS may have written back the torn prefix before the power went.
        storage.sync_everything();
        storage.crash();
        let bytes = storage.read_all(writer.name()).expect("read");
        assert_eq!(bytes.len(), synced_len + 20);
        let report = scan_segment(&bytes);
        assert!(
            matches!(report.end, SegmentEnd::TornTail { valid_len } if valid_len == synced_len)
        );
        assert_eq!(report.last_lsn, Some(1));
    }

    #[test]
    fn failed_sync_poisons_writer() {
        // Proves that after a failed sync every later call is refused.
        let storage = MemStorage::new();
        let mut writer = SegmentWriter::create(storage.clone(), 1).expect("create");
        writer.append(1, 0, b"x").expect("append");
        storage.fail_nth_sync(storage.syncs_so_far() + 1);
        assert!(matches!(writer.sync(), Err(WriteError::Io { .. })));
        assert!(matches!(
            writer.append(2, 0, b"y"),
            Err(WriteError::Poisoned)
        ));
        assert!(matches!(writer.sync(), Err(WriteError::Poisoned)));
    }

    #[test]
    fn append_encoded_writes_a_batch_in_order() {
        // Proves pre-encoded records land as one write, count towards len, and must follow.
        let storage = MemStorage::new();
        let mut writer = SegmentWriter::create(storage.clone(), 3).expect("create");
        assert!(writer.is_empty());
        let mut batch = Vec::new();
        encode_record(3, 1, b"a", &mut batch).expect("encode");
        encode_record(4, 1, b"bb", &mut batch).expect("encode");
        let writes = storage.writes_so_far();
        writer.append_encoded(&batch, 3, 4).expect("append");
        assert_eq!(storage.writes_so_far(), writes + 1);
        assert_eq!(writer.len(), (SEGMENT_HEADER_LEN + batch.len()) as u64);
        assert_eq!(writer.last_lsn(), Some(4));
        assert!(matches!(
            writer.append_encoded(&batch, 4, 5),
            Err(WriteError::LsnNotIncreasing { .. })
        ));
        writer.sync().expect("sync");
        let report = scan_segment(&storage.read_all(writer.name()).expect("read"));
        assert!(matches!(report.end, SegmentEnd::CleanEnd));
        assert_eq!((report.records, report.last_lsn), (2, Some(4)));
    }

    #[test]
    fn preallocated_segment_survives_crash_and_trims_to_its_records() {
        // Proves records appended over preallocated zeros scan as a torn (all-zero) tail after
        // a power cut, keeping every synced record, and that trim leaves a clean end.
        let storage = MemStorage::new();
        let mut writer = SegmentWriter::create(storage.clone(), 1).expect("create");
        writer.preallocate(4096).expect("preallocate");
        assert_eq!((writer.len(), writer.file_len()), (24, 4096));
        writer.append(1, 1, b"kept").expect("append");
        writer.sync().expect("sync");
        writer.append(2, 1, b"lost").expect("append");
        let after_crash = storage.crash_copy().read_all(writer.name()).expect("read");
        assert_eq!(after_crash.len(), 4096);
        let report = scan_segment(&after_crash);
        assert_eq!((report.records, report.last_lsn), (1, Some(1)));
        assert!(matches!(report.end, SegmentEnd::TornTail { valid_len } if valid_len == 45));
        writer.trim().expect("trim");
        assert_eq!(writer.file_len(), writer.len());
        storage.crash();
        let report = scan_segment(&storage.read_all(writer.name()).expect("read"));
        assert!(matches!(report.end, SegmentEnd::CleanEnd));
        assert_eq!((report.records, report.last_lsn), (2, Some(2)));
    }

    #[test]
    fn failed_preallocation_poisons_writer() {
        // Proves a failed zero-filling write refuses every later call, like a failed append.
        let storage = MemStorage::new();
        let mut writer = SegmentWriter::create(storage.clone(), 1).expect("create");
        storage.fail_nth_write(storage.writes_so_far() + 1);
        assert!(matches!(
            writer.preallocate(1 << 16),
            Err(WriteError::Io { .. })
        ));
        assert!(matches!(
            writer.append(1, 0, b"x"),
            Err(WriteError::Poisoned)
        ));
    }

    #[test]
    fn lsn_must_increase() {
        // Proves the writer refuses an LSN before the segment start or not above the last one.
        let storage = MemStorage::new();
        let mut writer = SegmentWriter::create(storage, 5).expect("create");
        assert!(matches!(
            writer.append(4, 0, b""),
            Err(WriteError::LsnNotIncreasing { .. })
        ));
        writer.append(5, 0, b"").expect("append");
        assert!(matches!(
            writer.append(5, 0, b""),
            Err(WriteError::LsnNotIncreasing { .. })
        ));
        writer.append(7, 0, b"").expect("gaps are allowed");
        assert_eq!(writer.last_lsn(), Some(7));
    }
}
