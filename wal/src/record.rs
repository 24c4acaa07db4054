//! Record framing: one log entry, as bytes.
//!
//! ```text
//! offset  width  field    meaning (all integers little-endian)
//! ------  -----  -------  ---------------------------------------------------------------
//!      0      4  length   u32, payload bytes only (not counting this 17-byte header)
//!      4      8  lsn      u64, log sequence number of this record
//!     12      1  kind     u8, opaque to this crate (the engine says what it means)
//!     13      4  crc32    u32, CRC32 (crc32fast) over bytes 4..13 (lsn, kind) then payload
//!     17      n  payload  `length` opaque bytes
//! ```
//!
//! A record occupies `RECORD_HEADER_LEN + length` bytes; records follow each other with no
//! padding. The length is not covered by the checksum directly, but a wrong length makes the
//! checksum run over the wrong bytes, so it is caught with the same probability. The decoder
//! is total: it checks every length before slicing and never panics on any input.

/// Bytes in a record header: length (4) + lsn (8) + kind (1) + crc32 (4).
pub const RECORD_HEADER_LEN: usize = 17;

/// Largest payload accepted by default, in bytes. It must exceed the encoding of the largest
/// single write (the RESP bulk limit is 512 MiB), so it is set well above that.
pub const DEFAULT_MAX_RECORD_PAYLOAD_BYTES: usize = 1 << 30;

/// What [`decode_record`] found at the start of a buffer. The case names are the ones used by
/// the recovery table in [`crate::recover`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// A whole record whose checksum matches.
    Record {
        /// Log sequence number.
        lsn: u64,
        /// Opaque kind byte.
        kind: u8,
        /// The payload, borrowed from the input.
        payload: &'a [u8],
        /// Bytes the record occupies in the input, header included.
        len: usize,
    },
    /// Fewer bytes than the header, or than the length the header declares (a torn tail, or
    /// a caller that has not read enough yet).
    Incomplete,
    /// The whole record is present but its CRC32 does not match.
    BadChecksum {
        /// The LSN as stored; it may itself be the damaged field.
        lsn: u64,
        /// Bytes the record claims to occupy, header included.
        len: usize,
    },
    /// The declared payload length is above the caller's limit; nothing after the header can
    /// be trusted, so the record's extent is unknown.
    LengthOverLimit {
        /// The declared payload length, in bytes.
        declared_payload_bytes: u64,
    },
}

fn crc_of(lsn_kind: &[u8], payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(lsn_kind);
    hasher.update(payload);
    hasher.finalize()
}

/// A payload too long for the record's 32-bit length field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("record payload of {0} bytes does not fit a record (at most u32::MAX)")]
pub struct PayloadTooLong(pub usize);

/// Appends the encoding of one record to `out`.
///
/// Errors (appending nothing) if `payload` is longer than `u32::MAX` bytes.
pub fn encode_record(
    lsn: u64,
    kind: u8,
    payload: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), PayloadTooLong> {
    let length = u32::try_from(payload.len()).map_err(|_| PayloadTooLong(payload.len()))?;
    out.reserve(RECORD_HEADER_LEN + payload.len());
    out.extend_from_slice(&length.to_le_bytes());
    let lsn_kind_at = out.len();
    out.extend_from_slice(&lsn.to_le_bytes());
    out.push(kind);
    let crc = crc_of(&out[lsn_kind_at..], payload);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(payload);
    Ok(())
}

fn u32_at(buf: &[u8], at: usize) -> Option<u32> {
    let bytes: [u8; 4] = buf.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(bytes))
}

fn u64_at(buf: &[u8], at: usize) -> Option<u64> {
    let bytes: [u8; 8] = buf.get(at..at.checked_add(8)?)?.try_into().ok()?;
    Some(u64::from_le_bytes(bytes))
}

/// Decodes the record at the start of `buf`, refusing payloads above `max_payload` bytes.
///
/// Never panics; every outcome, including damage, is a [`Decoded`] case.
pub fn decode_record(buf: &[u8], max_payload: usize) -> Decoded<'_> {
    let (Some(length), Some(lsn), Some(&kind), Some(stored_crc)) =
        (u32_at(buf, 0), u64_at(buf, 4), buf.get(12), u32_at(buf, 13))
    else {
        return Decoded::Incomplete;
    };
    let payload_len = match usize::try_from(length) {
        Ok(n) if n <= max_payload => n,
        _ => {
            return Decoded::LengthOverLimit {
                declared_payload_bytes: u64::from(length),
            }
        }
    };
    let Some(len) = RECORD_HEADER_LEN.checked_add(payload_len) else {
        return Decoded::LengthOverLimit {
            declared_payload_bytes: u64::from(length),
        };
    };
    let (Some(lsn_kind), Some(payload)) = (buf.get(4..13), buf.get(RECORD_HEADER_LEN..len)) else {
        return Decoded::Incomplete;
    };
    if crc_of(lsn_kind, payload) != stored_crc {
        return Decoded::BadChecksum { lsn, len };
    }
    Decoded::Record {
        lsn,
        kind,
        payload,
        len,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(lsn: u64, kind: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_record(lsn, kind, payload, &mut out).expect("encode");
        out
    }

    #[test]
    fn round_trip() {
        // Proves that what encode_record writes, decode_record reads back unchanged.
        for payload in [&b""[..], b"x", b"SET k v", &[0xff; 300]] {
            let buf = encoded(42, 7, payload);
            assert_eq!(buf.len(), RECORD_HEADER_LEN + payload.len());
            let got = decode_record(&buf, 1024);
            assert!(matches!(
                got,
                Decoded::Record { lsn: 42, kind: 7, payload: p, len } if p == payload && len == buf.len()
            ));
        }
    }

    #[test]
    fn layout_matches_diagram() {
        // Proves the byte layout is exactly the one drawn at the top of the module.
        let buf = encoded(0x0102_0304_0506_0708, 9, b"ab");
        assert_eq!(&buf[0..4], &2u32.to_le_bytes());
        assert_eq!(&buf[4..12], &0x0102_0304_0506_0708u64.to_le_bytes());
        assert_eq!(buf[12], 9);
        assert_eq!(&buf[13..17], &crc_of(&buf[4..13], b"ab").to_le_bytes());
        assert_eq!(&buf[17..], b"ab");
    }

    #[test]
    fn decodes_first_of_many_and_ignores_trailing_bytes() {
        // Proves decode_record consumes one record and reports its length so the caller can step.
        let mut buf = encoded(1, 1, b"one");
        encode_record(2, 1, b"two", &mut buf).expect("encode");
        let Decoded::Record { lsn, len, .. } = decode_record(&buf, 64) else {
            panic!("first record not decoded");
        };
        assert_eq!(lsn, 1);
        assert!(matches!(
            decode_record(&buf[len..], 64),
            Decoded::Record { lsn: 2, .. }
        ));
    }

    #[test]
    fn incomplete_for_every_proper_prefix() {
        // Proves a torn record (any prefix short of the whole) is Incomplete, never a panic.
        let buf = encoded(5, 2, b"hello world");
        for cut in 0..buf.len() {
            assert!(
                matches!(decode_record(&buf[..cut], 64), Decoded::Incomplete),
                "cut {cut}"
            );
        }
    }

    #[test]
    fn bad_checksum_detected() {
        // Proves a changed payload byte is reported as BadChecksum with the record's extent.
        let mut buf = encoded(5, 2, b"hello");
        buf[RECORD_HEADER_LEN] ^= 0x20;
        assert!(matches!(
            decode_record(&buf, 64),
            Decoded::BadChecksum { lsn: 5, len } if len == buf.len()
        ));
    }

    #[test]
    fn length_over_limit_detected() {
        // Proves a declared length above the caller's limit is refused before any slicing.
        let buf = encoded(5, 2, &[0; 65]);
        assert!(matches!(
            decode_record(&buf, 64),
            Decoded::LengthOverLimit {
                declared_payload_bytes: 65
            }
        ));
        let mut huge = buf.clone();
        huge[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            decode_record(&huge, usize::MAX),
            Decoded::Incomplete | Decoded::LengthOverLimit { .. }
        ));
    }

    #[test]
    fn every_single_bit_flip_is_detected() {
        // Proves that flipping any one bit of a record never yields a valid record.
        let buf = encoded(77, 3, b"some payload bytes");
        for bit in 0..buf.len() * 8 {
            let mut damaged = buf.clone();
            damaged[bit / 8] ^= 1 << (bit % 8);
            let got = decode_record(&damaged, 1 << 20);
            assert!(
                !matches!(got, Decoded::Record { .. }),
                "bit {bit} undetected: {got:?}"
            );
        }
    }
}
