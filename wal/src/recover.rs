//! The recovery scan: walk one segment's records and say how it ends.
//!
//! # Recovery table
//!
//! Every segment scan ends in exactly one of these cases ([`SegmentEnd`]); the code below
//! matches on the same names, and each case has a test named after it.
//!
//! | case | detected when | action |
//! |------|---------------|--------|
//! | `CleanEnd` | the last record ends exactly at the end of the file | newest segment: append after it; older segment: go on to the next |
//! | `TornTail { valid_len }` | the bytes after the last whole record are shorter than a record header or than the length it declares; or they are one whole record with a bad checksum followed by nothing but zeros up to the end of the file (a write torn over preallocated zeros leaves its prefix, then zeros), or a bare header followed only by zeros; or they are all zero (zeros preallocated under `always` that no record reached, or a file size that grew while the data never landed); or the file is shorter than the segment header and what is there is a prefix of the magic, or all zero (`valid_len` 0) | newest segment: truncate to `valid_len` (remove the file when that is less than a segment header) and log segment, offset and bytes dropped (an all-zero tail is reported as preallocated space, not as a torn write). In any older segment a torn tail cannot come from a crash (a later segment proves the writer moved on), so treat it as `CorruptRecord` at `valid_len` |
//! | `CorruptRecord { offset, lsn_if_known, .. }` | a bad checksum or a length over the limit with more (not all-zero) bytes after it; or a checksummed record whose LSN does not increase | report segment, offset, the last good LSN ([`ScanReport::last_lsn`]) and the reason, count it; skip the rest of this segment (the framing after a damaged length cannot be trusted) and go on with the next segment, as the seed's "corrupted entries are skipped on replay" says. Never truncate: `vole-tool` verifies and repairs |
//! | `BadHeader { reason }` | bad magic, unknown version, header checksum mismatch, or a short header that is not a torn one | stop start-up with a clear error naming the segment and reason; never rewrite the file |
//!
//! A flipped bit in a length field that points past the end of the file would look like a
//! torn tail; the scan tells them apart by looking for a whole, checksummed record after the
//! damaged one (a crash never leaves one behind a torn write), and reports
//! `CorruptRecord { reason: DamagedLength }` instead of truncating good records.
//!
//! # Where the table is applied
//!
//! - [`crate::log::Wal::open`] scans every segment and applies the actions: it truncates the
//!   newest segment's torn tail, and removes the newest segment when no whole record is left
//!   in it (a clean header-only file included; its name still counts towards the next LSN).
//!   [`crate::log::verify_log`] reports the same without changing anything.
//! - [`crate::tail::WalReader`] reads with the same rules, a window at a time, except that
//!   a torn tail in the newest segment means "not written yet": the reader waits there.

use crate::record::{decode_record, Decoded, DEFAULT_MAX_RECORD_PAYLOAD_BYTES, RECORD_HEADER_LEN};
use crate::segment::{
    decode_segment_header, HeaderError, SegmentHeader, SEGMENT_HEADER_LEN, SEGMENT_MAGIC,
};

/// How a segment scan ended: the cases of the recovery table in this module's docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentEnd {
    /// The last record ends exactly at the end of the bytes.
    CleanEnd,
    /// A write was cut short; everything before `valid_len` is whole and checked.
    TornTail {
        /// End of the last whole record (or 0 when not even the header is whole).
        valid_len: usize,
    },
    /// A damaged record with more data after it.
    CorruptRecord {
        /// Offset of the damaged record in the segment.
        offset: usize,
        /// The record's own LSN when it can be trusted (its checksum matched), else `None`.
        lsn_if_known: Option<u64>,
        /// What is wrong with it.
        reason: CorruptReason,
    },
    /// The segment header is unusable; no record was read.
    BadHeader {
        /// What is wrong with it.
        reason: HeaderError,
    },
}

/// Why a record in the middle of a segment was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CorruptReason {
    /// The CRC32 does not match.
    #[error("record checksum mismatch")]
    BadChecksum,
    /// The record's length points past the end of the file, yet whole records follow: its
    /// length field is damaged (a real torn write leaves nothing whole behind it).
    #[error("record length damaged (whole records follow it)")]
    DamagedLength,
    /// The declared payload length is above the limit.
    #[error("record length {declared_payload_bytes} bytes is over the limit")]
    LengthOverLimit {
        /// The declared payload length, in bytes.
        declared_payload_bytes: u64,
    },
    /// A record with a valid checksum whose LSN is below the segment's first LSN or not above
    /// the previous record's.
    #[error("record LSN {lsn} does not follow {after:?}")]
    LsnOutOfOrder {
        /// The record's LSN.
        lsn: u64,
        /// The previous record's LSN, or `None` for the first record.
        after: Option<u64>,
    },
}

/// What [`scan_segment`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanReport {
    /// The header's first LSN, when the header is valid.
    pub first_lsn: Option<u64>,
    /// Whole, checked records before the end.
    pub records: usize,
    /// LSN of the last whole, checked record.
    pub last_lsn: Option<u64>,
    /// End of the last whole, checked record (or of the header; 0 if the header is not
    /// whole). Always `<= bytes.len()`.
    pub valid_len: usize,
    /// How the segment ends.
    pub end: SegmentEnd,
}

/// Scans a whole segment with the default payload limit. Never panics.
pub fn scan_segment(bytes: &[u8]) -> ScanReport {
    scan_segment_with(bytes, DEFAULT_MAX_RECORD_PAYLOAD_BYTES, |_, _, _| {})
}

/// Scans a whole segment, refusing payloads above `max_payload_bytes`, and calls
/// `on_record(lsn, kind, payload)` for each whole, checked record in order. Never panics.
pub fn scan_segment_with(
    bytes: &[u8],
    max_payload_bytes: usize,
    mut on_record: impl FnMut(u64, u8, &[u8]),
) -> ScanReport {
    let mut report = ScanReport {
        first_lsn: None,
        records: 0,
        last_lsn: None,
        valid_len: 0,
        end: SegmentEnd::CleanEnd,
    };
    let header = match header_step(bytes) {
        HeaderStep::Valid(header) => header,
        HeaderStep::Torn => {
            report.end = SegmentEnd::TornTail { valid_len: 0 };
            return report;
        }
        HeaderStep::Bad(reason) => {
            report.end = SegmentEnd::BadHeader { reason };
            return report;
        }
    };
    report.first_lsn = Some(header.first_lsn);
    let mut offset = SEGMENT_HEADER_LEN;
    report.valid_len = offset;
    loop {
        let Some(rest) = bytes.get(offset..).filter(|rest| !rest.is_empty()) else {
            report.end = SegmentEnd::CleanEnd;
            return report;
        };
        report.end = match step(rest, max_payload_bytes) {
            Step::Record {
                lsn,
                kind,
                payload,
                len,
            } => {
                if let Some(reason) = lsn_out_of_order(header.first_lsn, report.last_lsn, lsn) {
                    SegmentEnd::CorruptRecord {
                        offset,
                        lsn_if_known: Some(lsn),
                        reason,
                    }
                } else {
                    on_record(lsn, kind, payload);
                    report.records += 1;
                    report.last_lsn = Some(lsn);
                    offset += len;
                    report.valid_len = offset;
                    continue;
                }
            }
            Step::Torn => SegmentEnd::TornTail { valid_len: offset },
            Step::Corrupt(reason) => SegmentEnd::CorruptRecord {
                offset,
                lsn_if_known: None,
                reason,
            },
        };
        return report;
    }
}

/// How the start of a segment file reads: the header part of the recovery table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeaderStep {
    /// A valid header.
    Valid(SegmentHeader),
    /// A header cut short by a crash (a prefix of the magic, or all zero): `TornTail` at 0.
    Torn,
    /// Anything else: `BadHeader`.
    Bad(HeaderError),
}

/// Classifies the start of a segment. `bytes` must run to the end of the file (or hold at
/// least [`SEGMENT_HEADER_LEN`] bytes). Never panics.
pub(crate) fn header_step(bytes: &[u8]) -> HeaderStep {
    match decode_segment_header(bytes) {
        Ok(header) => HeaderStep::Valid(header),
        Err(reason) => {
            let torn = all_zero(bytes)
                || (bytes.len() < SEGMENT_HEADER_LEN
                    && SEGMENT_MAGIC.starts_with(&bytes[..bytes.len().min(SEGMENT_MAGIC.len())]));
            if torn {
                HeaderStep::Torn
            } else {
                HeaderStep::Bad(reason)
            }
        }
    }
}

/// What the bytes at a record boundary are: the record part of the recovery table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step<'a> {
    /// A whole record whose checksum matches (its LSN order is the caller's to check).
    Record {
        lsn: u64,
        kind: u8,
        payload: &'a [u8],
        len: usize,
    },
    /// The rest is a torn write: `TornTail` at this offset.
    Torn,
    /// The rest starts with a damaged record: `CorruptRecord` at this offset.
    Corrupt(CorruptReason),
}

/// Classifies the non-empty bytes `rest` found at a record boundary. A `Record` needs only its
/// own bytes, but `Torn` versus `Corrupt` is decided by everything after the boundary, so
/// `rest` must run to the end of the file for those answers to hold. Never panics.
pub(crate) fn step(rest: &[u8], max_payload_bytes: usize) -> Step<'_> {
    let reason = match decode_record(rest, max_payload_bytes) {
        Decoded::Record {
            lsn,
            kind,
            payload,
            len,
        } => {
            return Step::Record {
                lsn,
                kind,
                payload,
                len,
            }
        }
        Decoded::Incomplete => None,
        // A whole record that fails its checksum and is the very last thing in the file is
        // what a torn sector write leaves: treat it as torn. Zeros count as the end of the
        // file: a write torn over preallocated space leaves its prefix, then the zeros.
        Decoded::BadChecksum { len, .. } if only_zeros_from(rest, len) => None,
        Decoded::BadChecksum { .. } => Some(CorruptReason::BadChecksum),
        // Only a bare header is left: nothing follows that could be lost by truncating.
        Decoded::LengthOverLimit { .. } if only_zeros_from(rest, RECORD_HEADER_LEN) => None,
        Decoded::LengthOverLimit {
            declared_payload_bytes,
        } => Some(CorruptReason::LengthOverLimit {
            declared_payload_bytes,
        }),
    };
    match reason {
        Some(reason) if !all_zero(rest) => Step::Corrupt(reason),
        // A crash leaves nothing whole after a torn write (the log is written in order). If a
        // whole, checksummed record follows, this is a damaged length field, not a torn
        // tail: truncating would drop good records.
        _ if whole_record_follows(rest, max_payload_bytes) => {
            Step::Corrupt(CorruptReason::DamagedLength)
        }
        _ => Step::Torn,
    }
}

/// Bytes checksummed while looking for a record behind a suspected torn tail, at most.
const PROBE_BUDGET_BYTES: usize = 256 << 20;

/// Whether a whole record with a valid checksum starts anywhere in `rest` after its first
/// byte. Candidates are cheap to reject (a length past the end); the checksummed bytes are
/// bounded by [`PROBE_BUDGET_BYTES`].
fn whole_record_follows(rest: &[u8], max_payload_bytes: usize) -> bool {
    if all_zero(rest) {
        return false;
    }
    let mut budget = PROBE_BUDGET_BYTES;
    for at in 1..rest.len().saturating_sub(RECORD_HEADER_LEN - 1) {
        let Some(tail) = rest.get(at..) else {
            break;
        };
        match decode_record(tail, max_payload_bytes) {
            Decoded::Record { lsn, .. } if lsn > 0 => return true,
            Decoded::Record { len, .. } | Decoded::BadChecksum { len, .. } => {
                budget = budget.saturating_sub(len);
                if budget == 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    false
}

/// `Some(reason)` when a checksummed record's LSN breaks the order of its segment: below the
/// segment's first LSN, or not above the previous record's.
pub(crate) fn lsn_out_of_order(
    segment_first_lsn: u64,
    previous: Option<u64>,
    lsn: u64,
) -> Option<CorruptReason> {
    let in_order = match previous {
        None => lsn >= segment_first_lsn,
        Some(last) => lsn > last,
    };
    (!in_order).then_some(CorruptReason::LsnOutOfOrder {
        lsn,
        after: previous,
    })
}

fn all_zero(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| b == 0)
}

/// Whether `bytes` holds nothing but zeros from `at` on (true when it ends before `at`).
fn only_zeros_from(bytes: &[u8], at: usize) -> bool {
    bytes.get(at..).is_none_or(all_zero)
}

/// The checks the `wal_segment` fuzz target runs on arbitrary bytes, shared with the corpus
/// replay test `wal/tests/fuzz_corpus_wal.rs`. Panics if an invariant of the scan breaks.
#[doc(hidden)]
pub fn fuzz_one(data: &[u8]) {
    let mut seen = 0usize;
    let report = scan_segment_with(data, 1 << 16, |_, _, _| seen += 1);
    assert!(report.valid_len <= data.len(), "valid_len past the end");
    assert_eq!(seen, report.records, "callback count differs from report");
    match report.end {
        SegmentEnd::CleanEnd => assert_eq!(report.valid_len, data.len()),
        SegmentEnd::TornTail { valid_len } => assert_eq!(valid_len, report.valid_len),
        SegmentEnd::CorruptRecord { offset, .. } => {
            assert_eq!(offset, report.valid_len);
            assert!(offset < data.len());
        }
        SegmentEnd::BadHeader { .. } => assert_eq!(report.records, 0),
    }
    let again = scan_segment_with(
        data.get(..report.valid_len).unwrap_or(data),
        1 << 16,
        |_, _, _| {},
    );
    if report.valid_len >= SEGMENT_HEADER_LEN {
        assert!(
            matches!(again.end, SegmentEnd::CleanEnd),
            "the valid prefix must scan clean"
        );
        assert_eq!(again.records, report.records);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::encode_record;
    use crate::segment::encode_segment_header;

    /// A tiny xorshift64 generator: deterministic, no dependencies.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// A segment with records at LSNs first_lsn.. and the offsets where each record ends.
    fn segment(first_lsn: u64, payloads: &[&[u8]]) -> (Vec<u8>, Vec<usize>) {
        let mut buf = Vec::new();
        encode_segment_header(first_lsn, &mut buf);
        let mut ends = Vec::new();
        for (i, payload) in payloads.iter().enumerate() {
            encode_record(first_lsn + i as u64, 1, payload, &mut buf).expect("encode");
            ends.push(buf.len());
        }
        (buf, ends)
    }

    fn random_segment(rng: &mut XorShift) -> (Vec<u8>, Vec<usize>) {
        let first_lsn = rng.below(1_000_000);
        let mut buf = Vec::new();
        encode_segment_header(first_lsn, &mut buf);
        let mut ends = Vec::new();
        let mut lsn = first_lsn;
        for _ in 0..rng.below(8) + 1 {
            let len = rng.below(40) as usize;
            let payload: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            encode_record(lsn, rng.next() as u8, &payload, &mut buf).expect("encode");
            ends.push(buf.len());
            lsn += rng.below(3) + 1;
        }
        (buf, ends)
    }

    #[test]
    fn round_trip_through_scan() {
        // Proves a segment's records come back from the scan in order, with their bytes.
        let payloads: [&[u8]; 3] = [b"one", b"", b"three"];
        let (buf, ends) = segment(100, &payloads);
        let mut got = Vec::new();
        let report = scan_segment_with(&buf, 64, |lsn, kind, p| got.push((lsn, kind, p.to_vec())));
        assert_eq!(
            got,
            vec![
                (100, 1, b"one".to_vec()),
                (101, 1, vec![]),
                (102, 1, b"three".to_vec())
            ]
        );
        assert_eq!(report.first_lsn, Some(100));
        assert_eq!(report.valid_len, ends[2]);
    }

    #[test]
    fn clean_end() {
        // Proves a segment whose last record ends at the end of the file is CleanEnd.
        let (buf, _) = segment(1, &[b"a", b"b"]);
        let report = scan_segment(&buf);
        assert!(matches!(report.end, SegmentEnd::CleanEnd));
        assert_eq!(
            (report.records, report.last_lsn, report.valid_len),
            (2, Some(2), buf.len())
        );
    }

    #[test]
    fn clean_end_header_only() {
        // Proves a fresh segment with no records is CleanEnd, not torn.
        let (buf, _) = segment(7, &[]);
        let report = scan_segment(&buf);
        assert!(matches!(report.end, SegmentEnd::CleanEnd));
        assert_eq!((report.records, report.first_lsn), (0, Some(7)));
    }

    #[test]
    fn torn_tail_short_record() {
        // Proves a record cut short at the end is TornTail at the end of the previous record.
        let (buf, ends) = segment(1, &[b"keep", b"lost"]);
        let report = scan_segment(&buf[..buf.len() - 1]);
        assert!(matches!(report.end, SegmentEnd::TornTail { valid_len } if valid_len == ends[0]));
        assert_eq!(report.last_lsn, Some(1));
    }

    #[test]
    fn torn_tail_bad_checksum_at_end() {
        // Proves a whole last record with a bad checksum and nothing after it is TornTail.
        let (mut buf, ends) = segment(1, &[b"keep", b"garbled"]);
        let last = buf.len() - 1;
        buf[last] ^= 0xff;
        let report = scan_segment(&buf);
        assert!(matches!(report.end, SegmentEnd::TornTail { valid_len } if valid_len == ends[0]));
    }

    #[test]
    fn torn_tail_zero_filled() {
        // Proves a tail of zeros (size updated, data never written) is TornTail.
        let (mut buf, ends) = segment(1, &[b"keep"]);
        buf.extend_from_slice(&[0; 100]);
        let report = scan_segment(&buf);
        assert!(matches!(report.end, SegmentEnd::TornTail { valid_len } if valid_len == ends[0]));
    }

    #[test]
    fn torn_tail_over_preallocated_zeros() {
        // Proves a record write torn at any byte over preallocated zeros (its prefix, then
        // zeros to the end of the file) is TornTail at the end of the previous record, and
        // that a damaged record with a whole one after it is still CorruptRecord.
        let (whole, ends) = segment(1, &[b"keep", b"torn record payload"]);
        for cut in ends[0] + 1..whole.len() {
            let mut buf = whole[..cut].to_vec();
            buf.resize(whole.len() + 4096, 0);
            let report = scan_segment(&buf);
            assert!(
                matches!(report.end, SegmentEnd::TornTail { valid_len } if valid_len == ends[0]),
                "cut {cut}: {report:?}"
            );
            assert_eq!(report.last_lsn, Some(1));
        }
        let (mut buf, ends) = segment(1, &[b"keep", b"damaged", b"whole after"]);
        buf[ends[0] + RECORD_HEADER_LEN] ^= 1;
        buf.resize(buf.len() + 4096, 0);
        let report = scan_segment(&buf);
        assert!(matches!(
            report.end,
            SegmentEnd::CorruptRecord { offset, .. } if offset == ends[0]
        ));
    }

    #[test]
    fn torn_tail_partial_header() {
        // Proves a file shorter than the segment header, holding a prefix of it, is TornTail 0.
        let (buf, _) = segment(1, &[]);
        for cut in 0..SEGMENT_HEADER_LEN {
            let report = scan_segment(&buf[..cut]);
            assert!(
                matches!(report.end, SegmentEnd::TornTail { valid_len: 0 }),
                "cut {cut}"
            );
        }
    }

    #[test]
    fn corrupt_record_bad_checksum_in_middle() {
        // Proves a bad checksum with records after it is CorruptRecord at its offset.
        let (mut buf, ends) = segment(1, &[b"good", b"damaged", b"after"]);
        buf[ends[0] + RECORD_HEADER_LEN] ^= 1;
        let report = scan_segment(&buf);
        assert!(matches!(
            report.end,
            SegmentEnd::CorruptRecord { offset, lsn_if_known: None, reason: CorruptReason::BadChecksum }
                if offset == ends[0]
        ));
        assert_eq!(report.last_lsn, Some(1));
    }

    #[test]
    fn corrupt_record_length_over_limit() {
        // Proves a length over the limit with bytes after the header is CorruptRecord.
        let (mut buf, ends) = segment(1, &[b"good", b"damaged", b"after"]);
        buf[ends[0] + 3] = 0x80;
        let report = scan_segment_with(&buf, 1 << 20, |_, _, _| {});
        assert!(matches!(
            report.end,
            SegmentEnd::CorruptRecord { offset, reason: CorruptReason::LengthOverLimit { .. }, .. }
                if offset == ends[0]
        ));
    }

    #[test]
    fn corrupt_record_lsn_out_of_order() {
        // Proves a checksummed record whose LSN goes backwards is CorruptRecord with its LSN.
        let (mut buf, ends) = segment(10, &[b"a"]);
        encode_record(10, 1, b"again", &mut buf).expect("encode");
        encode_record(12, 1, b"after", &mut buf).expect("encode");
        let report = scan_segment(&buf);
        assert!(matches!(
            report.end,
            SegmentEnd::CorruptRecord { offset, lsn_if_known: Some(10), reason: CorruptReason::LsnOutOfOrder { lsn: 10, after: Some(10) } }
                if offset == ends[0]
        ));
        let (mut below_start, _) = segment(10, &[]);
        encode_record(9, 1, b"early", &mut below_start).expect("encode");
        assert!(matches!(
            scan_segment(&below_start).end,
            SegmentEnd::CorruptRecord {
                reason: CorruptReason::LsnOutOfOrder {
                    lsn: 9,
                    after: None
                },
                ..
            }
        ));
    }

    #[test]
    fn bad_header_magic_version_checksum() {
        // Proves each header defect stops the scan as BadHeader with its reason.
        let (good, _) = segment(1, &[b"a"]);
        let mut bad = good.clone();
        bad[1] = b'X';
        assert!(matches!(
            scan_segment(&bad).end,
            SegmentEnd::BadHeader {
                reason: HeaderError::BadMagic
            }
        ));
        let mut bad = good.clone();
        bad[8] = 9;
        assert!(matches!(
            scan_segment(&bad).end,
            SegmentEnd::BadHeader {
                reason: HeaderError::UnknownVersion(9)
            }
        ));
        let mut bad = good.clone();
        bad[15] ^= 4;
        assert!(matches!(
            scan_segment(&bad).end,
            SegmentEnd::BadHeader {
                reason: HeaderError::BadChecksum
            }
        ));
        assert!(matches!(
            scan_segment(b"not a wal").end,
            SegmentEnd::BadHeader {
                reason: HeaderError::Truncated { len: 9 }
            }
        ));
    }

    #[test]
    fn randomized_cut_at_every_offset_is_torn_tail() {
        // Proves that cutting a valid segment anywhere gives TornTail at the last whole
        // record (CleanEnd exactly at a record boundary), for many random segments.
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        for _ in 0..200 {
            let (buf, ends) = random_segment(&mut rng);
            for cut in 0..=buf.len() {
                let report = scan_segment(&buf[..cut]);
                fuzz_one(&buf[..cut]);
                if cut < SEGMENT_HEADER_LEN {
                    assert!(matches!(report.end, SegmentEnd::TornTail { valid_len: 0 }));
                    continue;
                }
                let last_whole = ends
                    .iter()
                    .copied()
                    .filter(|&e| e <= cut)
                    .max()
                    .unwrap_or(SEGMENT_HEADER_LEN);
                if last_whole == cut {
                    assert!(matches!(report.end, SegmentEnd::CleanEnd), "cut {cut}");
                } else {
                    assert!(
                        matches!(report.end, SegmentEnd::TornTail { valid_len } if valid_len == last_whole),
                        "cut {cut}: {report:?}"
                    );
                }
                assert_eq!(report.valid_len, last_whole);
            }
        }
    }

    #[test]
    fn randomized_bit_flips_are_detected() {
        // Proves a single bit flip anywhere in a record is never accepted as a clean segment
        // with the same records: the scan stops at or before the damaged record.
        let mut rng = XorShift(0xD1B5_4A32_D192_ED03);
        for _ in 0..100 {
            let (buf, ends) = random_segment(&mut rng);
            for bit in SEGMENT_HEADER_LEN * 8..buf.len() * 8 {
                let mut damaged = buf.clone();
                damaged[bit / 8] ^= 1 << (bit % 8);
                let byte = bit / 8;
                let record_start = ends
                    .iter()
                    .copied()
                    .filter(|&e| e <= byte)
                    .max()
                    .unwrap_or(SEGMENT_HEADER_LEN);
                let report = scan_segment_with(&damaged, 1 << 16, |_, _, _| {});
                fuzz_one(&damaged);
                assert!(
                    !matches!(report.end, SegmentEnd::CleanEnd),
                    "bit {bit} undetected"
                );
                assert_eq!(report.valid_len, record_start, "bit {bit}: {report:?}");
            }
        }
    }

    #[test]
    fn corrupt_record_damaged_length_is_not_a_torn_tail() {
        // Proves a length field damaged to point past the end, with whole records after it,
        // is reported as corruption (nothing truncated), not as a torn tail.
        let (mut seg, ends) = segment(10, &[b"one", b"two", b"three", b"four"]);
        // Make the second record's length huge-but-under-the-limit: past the end of the file.
        let at = ends[0];
        seg[at..at + 4].copy_from_slice(&100_000u32.to_le_bytes());
        let report = scan_segment(&seg);
        assert_eq!(report.records, 1);
        assert!(
            matches!(
                report.end,
                SegmentEnd::CorruptRecord {
                    reason: CorruptReason::DamagedLength,
                    ..
                }
            ),
            "{:?}",
            report.end
        );
    }
}
