//! Snapshot files: the state as of one LSN, as opaque entries packed into zstd blocks.
//!
//! ```text
//! offset      width  field            meaning (all integers little-endian)
//! ----------  -----  ---------------  ------------------------------------------------------------
//! header, at the start of the file
//!          0      8  magic            b"VOLESNAP"
//!          8      2  version          u16, format version, currently 1
//!         10      2  flags            u16, none defined yet: must be 0
//!         12      8  lsn              u64, the snapshot is the state as of this log position
//!         20      8  created_unix_ms  i64, when the snapshot was taken (the caller's clock)
//!         28      4  app_len          u32, bytes of application metadata, at most 16 MiB
//!         32      a  app              opaque application metadata (the engine's namespace table)
//!       32+a      4  header_crc       u32, CRC32 (crc32fast) over bytes 0..32+a
//! blocks, back to back from H = 36+a up to T (the trailer's offset); block b:
//!        b+0      4  compressed_len   u32, bytes of the zstd frame after this 16-byte block header
//!        b+4      4  raw_len          u32, bytes after decompression, 1..=1 GiB
//!        b+8      4  entry_count      u32, entries in the block, at least 1
//!       b+12      4  block_crc        u32, CRC32 over bytes b..b+12, then the compressed bytes
//!       b+16      c  compressed       one zstd frame that records its content size (raw_len);
//!                                     decompressed: entry_count x { varint length, bytes }
//! trailer, the last 48 bytes of the file: T = file length - 48
//!        T+0      8  entries          u64, entries in all blocks
//!        T+8      8  blocks           u64, number of blocks
//!       T+16      8  raw_bytes        u64, sum of the blocks' raw_len
//!       T+24      8  trailer_offset   u64, T itself (a trailer found anywhere else is refused)
//!       T+32      4  header_crc       u32, copy of the header's CRC (ties the trailer to its header)
//!       T+36      4  trailer_crc      u32, CRC32 over bytes T..T+36
//!       T+40      8  end_magic        b"VSNAPEND"
//! ```
//!
//! An entry length is an unsigned LEB128 varint (7 bits a byte, low bits first, at most 10
//! bytes). The writer packs entries into a block until adding the next one would pass
//! [`SnapshotOptions::block_bytes`]; an entry larger than that gets a block of its own, so a
//! block's raw length is at most the larger of the two, and never above
//! [`MAX_BLOCK_RAW_BYTES`].
//!
//! A snapshot is all or nothing. It is written to `<name>.tmp`, synced, renamed over `<name>`
//! and its directory synced ([`SnapshotWriter::finish`]), so a crash leaves either the old file
//! or the whole new one. The reader checks, in this order, refusing the file at the first
//! failure: magic, version, header checksum, flags, metadata size; then the trailer (present,
//! checksum, at its own offset, tied to this header) before a single block is read, so a
//! truncated file is refused up front; then per block: bounds, raw length limit, checksum,
//! the zstd frame's declared size, decompression, raw length, entry framing and count; and
//! last the trailer's totals. A loader that meets an error part-way must drop everything it
//! loaded from the file. Every check is a length or checksum test before any slicing: the
//! decoder is total and never panics on any input ([`fuzz_one`] holds it to that).

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// The 8 bytes every snapshot file starts with.
pub const SNAPSHOT_MAGIC: [u8; 8] = *b"VOLESNAP";
/// The only snapshot format version this build reads and writes.
pub const SNAPSHOT_VERSION: u16 = 1;
/// The 8 bytes every complete snapshot file ends with.
pub const TRAILER_MAGIC: [u8; 8] = *b"VSNAPEND";
/// Bytes in the header before the application metadata.
pub const HEADER_FIXED_LEN: usize = 32;
/// Bytes in a block header.
pub const BLOCK_HEADER_LEN: usize = 16;
/// Bytes in the trailer.
pub const TRAILER_LEN: usize = 48;
/// Largest application metadata blob, in bytes (writer and reader both refuse more).
pub const MAX_APP_METADATA_BYTES: usize = 16 << 20;
/// Largest raw (decompressed) block, in bytes. It bounds what one block can make the reader
/// allocate, and so the largest entry: a value larger than this must be split by the engine.
/// It matches the WAL's record limit, the largest single write.
pub const MAX_BLOCK_RAW_BYTES: usize = 1 << 30;
/// Default raw bytes packed into one block before it is compressed.
pub const DEFAULT_BLOCK_BYTES: usize = 1 << 20;
/// Default zstd compression level.
pub const DEFAULT_ZSTD_LEVEL: i32 = 1;

/// Longest LEB128 encoding of a u64.
const MAX_VARINT_LEN: usize = 10;
/// Raw-block limit used by [`fuzz_one`], so hostile inputs stay cheap to run.
const FUZZ_MAX_BLOCK_RAW_BYTES: usize = 64 << 10;

/// What a snapshot holds besides its entries.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SnapshotMeta {
    /// The snapshot is the state as of this log position: replay resumes after it.
    pub lsn: u64,
    /// When the snapshot was taken, in Unix milliseconds, from the caller's clock.
    pub created_unix_ms: i64,
    /// Opaque application metadata, at most [`MAX_APP_METADATA_BYTES`].
    pub app: Vec<u8>,
}

/// How a [`SnapshotWriter`] packs and compresses entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotOptions {
    /// Raw bytes packed into a block before it is compressed: 1..=[`MAX_BLOCK_RAW_BYTES`].
    pub block_bytes: usize,
    /// zstd level, within `zstd::compression_level_range()`.
    pub zstd_level: i32,
}

impl Default for SnapshotOptions {
    fn default() -> Self {
        Self {
            block_bytes: DEFAULT_BLOCK_BYTES,
            zstd_level: DEFAULT_ZSTD_LEVEL,
        }
    }
}

/// What a finished or verified snapshot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotSummary {
    /// Size of the whole file.
    pub bytes: u64,
    /// Entries in all blocks.
    pub entries: u64,
    /// Number of blocks.
    pub blocks: u64,
    /// Sum of the blocks' decompressed lengths (entries with their length prefixes).
    pub raw_bytes: u64,
}

/// The totals a snapshot's trailer declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trailer {
    /// Entries in all blocks.
    pub entries: u64,
    /// Number of blocks.
    pub blocks: u64,
    /// Sum of the blocks' decompressed lengths.
    pub raw_bytes: u64,
}

/// Why a snapshot was refused. Each variant says what is wrong and where.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The file does not start with [`SNAPSHOT_MAGIC`].
    #[error("not a Vole snapshot: bad magic at offset 0")]
    BadMagic,
    /// A format version this build does not read (a newer Vole wrote it, or it is damaged).
    #[error(
        "unsupported snapshot format version {0} at offset 8 (this build reads {SNAPSHOT_VERSION})"
    )]
    UnsupportedVersion(u16),
    /// Flags this build does not know, in a header whose checksum matches.
    #[error("unsupported snapshot flags {0:#06x} at offset 10 (this build knows none)")]
    UnsupportedFlags(u16),
    /// The header checksum does not match.
    #[error("snapshot header checksum mismatch over bytes 0..{header_len}")]
    HeaderChecksum {
        /// Header bytes the checksum covers.
        header_len: u64,
    },
    /// The application metadata is over [`MAX_APP_METADATA_BYTES`].
    #[error("snapshot application metadata of {len} bytes (offset 28) is over the limit of {MAX_APP_METADATA_BYTES}")]
    AppMetadataTooLarge {
        /// The declared length.
        len: u64,
    },
    /// A structure runs past the end of the file, or of the block area before the trailer.
    #[error(
        "snapshot truncated: {what} at offset {offset} needs {needed} bytes, {available} are there"
    )]
    Truncated {
        /// Which structure: "header", "trailer", "block header", "block data".
        what: &'static str,
        /// Where it starts.
        offset: u64,
        /// Bytes it needs.
        needed: u64,
        /// Bytes left there.
        available: u64,
    },
    /// The file does not end with [`TRAILER_MAGIC`]: it is incomplete (or damaged at the end).
    #[error("snapshot incomplete: no trailer at the end of the {file_len}-byte file")]
    NoTrailer {
        /// Size of the file.
        file_len: u64,
    },
    /// The trailer checksum does not match.
    #[error("snapshot trailer checksum mismatch at offset {offset}")]
    TrailerChecksum {
        /// Offset of the trailer.
        offset: u64,
    },
    /// The trailer disagrees with the file: its own offset, the header checksum, or a total.
    #[error("snapshot trailer at offset {offset}: {what} is {trailer} in the trailer but {found} in the file")]
    TrailerMismatch {
        /// Offset of the trailer.
        offset: u64,
        /// Which field.
        what: &'static str,
        /// The trailer's value.
        trailer: u64,
        /// The value found in the file.
        found: u64,
    },
    /// A block declares a raw length over the reader's limit.
    #[error("snapshot block {index} at offset {offset}: raw length {raw_len} is over the limit of {max} bytes")]
    BlockTooLarge {
        /// Block number, from 0.
        index: u64,
        /// Offset of the block header.
        offset: u64,
        /// The declared raw length.
        raw_len: u64,
        /// The reader's limit.
        max: u64,
    },
    /// A block's checksum does not match.
    #[error("snapshot block {index} at offset {offset}: checksum mismatch")]
    BlockChecksum {
        /// Block number, from 0.
        index: u64,
        /// Offset of the block header.
        offset: u64,
    },
    /// A block's checksum matches but its compressed bytes do not decompress to `raw_len`.
    #[error("snapshot block {index} at offset {offset}: decompression failed: {reason}")]
    Decompress {
        /// Block number, from 0.
        index: u64,
        /// Offset of the block header.
        offset: u64,
        /// What went wrong.
        reason: String,
    },
    /// A block's decompressed bytes are not `entry_count` length-prefixed entries.
    #[error("snapshot block {index} at offset {offset}: entry {entry} at raw byte {at}: {reason}")]
    EntryFraming {
        /// Block number, from 0.
        index: u64,
        /// Offset of the block header.
        offset: u64,
        /// Entry number within the block, from 0.
        entry: u64,
        /// Offset within the decompressed block.
        at: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// [`SnapshotReader::next_block`] was called again after it returned an error.
    #[error("snapshot reader already failed at block {index} (offset {offset})")]
    AfterError {
        /// Block number that failed.
        index: u64,
        /// Offset of the block that failed.
        offset: u64,
    },
    /// Opening, mapping or reading the file failed.
    #[error("snapshot I/O error: {0}")]
    Io(#[from] io::Error),
}

// ---------------------------------------------------------------------------------------------
// Little-endian fields and varints. Every read is checked: `None` past the end.

fn le_u16(buf: &[u8], at: usize) -> Option<u16> {
    let bytes: [u8; 2] = buf.get(at..at.checked_add(2)?)?.try_into().ok()?;
    Some(u16::from_le_bytes(bytes))
}

fn le_u32(buf: &[u8], at: usize) -> Option<u32> {
    let bytes: [u8; 4] = buf.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(bytes))
}

fn le_u64(buf: &[u8], at: usize) -> Option<u64> {
    let bytes: [u8; 8] = buf.get(at..at.checked_add(8)?)?.try_into().ok()?;
    Some(u64::from_le_bytes(bytes))
}

fn put_u32(buf: &mut [u8], at: usize, value: u32) {
    if let Some(slot) = at.checked_add(4).and_then(|end| buf.get_mut(at..end)) {
        slot.copy_from_slice(&value.to_le_bytes());
    }
}

fn put_u64(buf: &mut [u8], at: usize, value: u64) {
    if let Some(slot) = at.checked_add(8).and_then(|end| buf.get_mut(at..end)) {
        slot.copy_from_slice(&value.to_le_bytes());
    }
}

fn write_varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn varint_len(value: u64) -> usize {
    let bits = 64 - value.leading_zeros() as usize;
    bits.div_ceil(7).max(1)
}

/// Reads a LEB128 varint at the start of `buf`: the value and the bytes it took.
fn read_varint(buf: &[u8]) -> Result<(u64, usize), &'static str> {
    let mut value = 0u64;
    for (i, &byte) in buf.iter().take(MAX_VARINT_LEN).enumerate() {
        if i == MAX_VARINT_LEN - 1 && byte > 1 {
            return Err("entry length does not fit 64 bits");
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    Err("entry length cut short by the end of the block")
}

/// The entry starting at `pos` in a decompressed block, and where the next one starts.
fn entry_at(raw: &[u8], pos: usize) -> Result<(&[u8], usize), &'static str> {
    let rest = raw
        .get(pos..)
        .ok_or("entry starts past the end of the block")?;
    let (len, prefix) = read_varint(rest)?;
    let len = usize::try_from(len).map_err(|_| "entry runs past the end of the block")?;
    let end = prefix
        .checked_add(len)
        .ok_or("entry runs past the end of the block")?;
    let entry = rest
        .get(prefix..end)
        .ok_or("entry runs past the end of the block")?;
    Ok((entry, pos + end))
}

fn block_crc(header_fields: &[u8], compressed: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(header_fields);
    hasher.update(compressed);
    hasher.finalize()
}

fn invalid_input(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

// ---------------------------------------------------------------------------------------------
// Header and trailer: encode, then decode.

/// Appends the header for `meta` to `out` and returns its CRC.
fn encode_header(meta: &SnapshotMeta, out: &mut Vec<u8>) -> io::Result<u32> {
    if meta.app.len() > MAX_APP_METADATA_BYTES {
        return Err(invalid_input(format!(
            "snapshot application metadata of {} bytes is over the limit of {MAX_APP_METADATA_BYTES}",
            meta.app.len()
        )));
    }
    let start = out.len();
    out.extend_from_slice(&SNAPSHOT_MAGIC);
    out.extend_from_slice(&SNAPSHOT_VERSION.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&meta.lsn.to_le_bytes());
    out.extend_from_slice(&meta.created_unix_ms.to_le_bytes());
    out.extend_from_slice(&(meta.app.len() as u32).to_le_bytes());
    out.extend_from_slice(&meta.app);
    let crc = crc32fast::hash(out.get(start..).unwrap_or_default());
    out.extend_from_slice(&crc.to_le_bytes());
    Ok(crc)
}

fn encode_trailer(totals: Trailer, trailer_offset: u64, header_crc: u32) -> [u8; TRAILER_LEN] {
    let mut out = [0u8; TRAILER_LEN];
    put_u64(&mut out, 0, totals.entries);
    put_u64(&mut out, 8, totals.blocks);
    put_u64(&mut out, 16, totals.raw_bytes);
    put_u64(&mut out, 24, trailer_offset);
    put_u32(&mut out, 32, header_crc);
    let crc = crc32fast::hash(out.get(..36).unwrap_or_default());
    put_u32(&mut out, 36, crc);
    if let Some(slot) = out.get_mut(40..) {
        slot.copy_from_slice(&TRAILER_MAGIC);
    }
    out
}

struct Header {
    meta: SnapshotMeta,
    crc: u32,
    /// Bytes the header occupies, its CRC included: where the first block starts.
    len: usize,
}

fn truncated(what: &'static str, offset: usize, needed: usize, available: usize) -> SnapshotError {
    SnapshotError::Truncated {
        what,
        offset: offset as u64,
        needed: needed as u64,
        available: available as u64,
    }
}

fn decode_header(bytes: &[u8]) -> Result<Header, SnapshotError> {
    let short = || truncated("header", 0, HEADER_FIXED_LEN + 4, bytes.len());
    match bytes.get(..SNAPSHOT_MAGIC.len()) {
        Some(magic) if magic == SNAPSHOT_MAGIC => {}
        None if SNAPSHOT_MAGIC.starts_with(bytes) => return Err(short()),
        _ => return Err(SnapshotError::BadMagic),
    }
    // The version comes before the checksum: another version may lay out its header otherwise.
    let version = le_u16(bytes, 8).ok_or_else(short)?;
    if version != SNAPSHOT_VERSION {
        return Err(SnapshotError::UnsupportedVersion(version));
    }
    let (Some(flags), Some(lsn), Some(created), Some(app_len)) = (
        le_u16(bytes, 10),
        le_u64(bytes, 12),
        le_u64(bytes, 20),
        le_u32(bytes, 28),
    ) else {
        return Err(short());
    };
    let app_len = app_len as usize;
    if app_len > MAX_APP_METADATA_BYTES {
        return Err(SnapshotError::AppMetadataTooLarge {
            len: app_len as u64,
        });
    }
    let app_end = HEADER_FIXED_LEN + app_len;
    let (Some(covered), Some(app), Some(stored_crc)) = (
        bytes.get(..app_end),
        bytes.get(HEADER_FIXED_LEN..app_end),
        le_u32(bytes, app_end),
    ) else {
        return Err(truncated("header", 0, app_end + 4, bytes.len()));
    };
    let crc = crc32fast::hash(covered);
    if crc != stored_crc {
        return Err(SnapshotError::HeaderChecksum {
            header_len: app_end as u64,
        });
    }
    if flags != 0 {
        return Err(SnapshotError::UnsupportedFlags(flags));
    }
    Ok(Header {
        meta: SnapshotMeta {
            lsn,
            created_unix_ms: created as i64,
            app: app.to_vec(),
        },
        crc,
        len: app_end + 4,
    })
}

/// Decodes the trailer at the end of `bytes`; returns it and its offset.
fn decode_trailer(bytes: &[u8], header: &Header) -> Result<(Trailer, usize), SnapshotError> {
    let file_len = bytes.len();
    let Some(offset) = file_len
        .checked_sub(TRAILER_LEN)
        .filter(|&t| t >= header.len)
    else {
        return Err(truncated(
            "trailer",
            header.len,
            TRAILER_LEN,
            file_len.saturating_sub(header.len),
        ));
    };
    let trailer = bytes.get(offset..).unwrap_or_default();
    if trailer.get(40..) != Some(&TRAILER_MAGIC[..]) {
        return Err(SnapshotError::NoTrailer {
            file_len: file_len as u64,
        });
    }
    let (Some(entries), Some(blocks), Some(raw_bytes), Some(stored_offset)) = (
        le_u64(trailer, 0),
        le_u64(trailer, 8),
        le_u64(trailer, 16),
        le_u64(trailer, 24),
    ) else {
        return Err(truncated("trailer", offset, TRAILER_LEN, trailer.len()));
    };
    let (Some(header_crc), Some(stored_crc), Some(covered)) =
        (le_u32(trailer, 32), le_u32(trailer, 36), trailer.get(..36))
    else {
        return Err(truncated("trailer", offset, TRAILER_LEN, trailer.len()));
    };
    if crc32fast::hash(covered) != stored_crc {
        return Err(SnapshotError::TrailerChecksum {
            offset: offset as u64,
        });
    }
    let mismatch = |what, trailer, found| SnapshotError::TrailerMismatch {
        offset: offset as u64,
        what,
        trailer,
        found,
    };
    if stored_offset != offset as u64 {
        return Err(mismatch("trailer offset", stored_offset, offset as u64));
    }
    if header_crc != header.crc {
        return Err(mismatch(
            "header checksum",
            u64::from(header_crc),
            u64::from(header.crc),
        ));
    }
    Ok((
        Trailer {
            entries,
            blocks,
            raw_bytes,
        },
        offset,
    ))
}

// ---------------------------------------------------------------------------------------------
// Encoder: header, blocks and trailer into any `Write`. `SnapshotWriter` puts it over a file.

struct Encoder<W: Write> {
    out: W,
    compressor: zstd::bulk::Compressor<'static>,
    block_bytes: usize,
    /// The block being filled: framed entries, not yet compressed.
    raw: Vec<u8>,
    raw_entries: u32,
    compressed: Vec<u8>,
    header_crc: u32,
    written: u64,
    /// Totals of the blocks already written.
    totals: Trailer,
}

impl<W: Write> Encoder<W> {
    fn new(mut out: W, meta: &SnapshotMeta, opts: SnapshotOptions) -> io::Result<Self> {
        if opts.block_bytes == 0 || opts.block_bytes > MAX_BLOCK_RAW_BYTES {
            return Err(invalid_input(format!(
                "snapshot block_bytes {} is not in 1..={MAX_BLOCK_RAW_BYTES}",
                opts.block_bytes
            )));
        }
        if !zstd::compression_level_range().contains(&opts.zstd_level) {
            return Err(invalid_input(format!(
                "zstd level {} is not in {:?}",
                opts.zstd_level,
                zstd::compression_level_range()
            )));
        }
        let compressor = zstd::bulk::Compressor::new(opts.zstd_level)?;
        let mut header = Vec::with_capacity(HEADER_FIXED_LEN + 4 + meta.app.len());
        let header_crc = encode_header(meta, &mut header)?;
        out.write_all(&header)?;
        Ok(Self {
            out,
            compressor,
            block_bytes: opts.block_bytes,
            raw: Vec::new(),
            raw_entries: 0,
            compressed: Vec::new(),
            header_crc,
            written: header.len() as u64,
            totals: Trailer {
                entries: 0,
                blocks: 0,
                raw_bytes: 0,
            },
        })
    }

    fn entries(&self) -> u64 {
        self.totals.entries + u64::from(self.raw_entries)
    }

    /// Adds one entry; errors with `InvalidInput` (changing nothing) when it cannot fit a block.
    fn add(&mut self, entry: &[u8]) -> io::Result<()> {
        let framed = varint_len(entry.len() as u64) + entry.len();
        if framed > MAX_BLOCK_RAW_BYTES {
            return Err(invalid_input(format!(
                "snapshot entry of {} bytes is over the limit of {MAX_BLOCK_RAW_BYTES} bytes with its length",
                entry.len()
            )));
        }
        if !self.raw.is_empty() && self.raw.len() + framed > self.block_bytes {
            self.flush_block()?;
        }
        write_varint(entry.len() as u64, &mut self.raw);
        self.raw.extend_from_slice(entry);
        self.raw_entries += 1;
        if self.raw.len() >= self.block_bytes || self.raw_entries == u32::MAX {
            self.flush_block()?;
        }
        Ok(())
    }

    fn flush_block(&mut self) -> io::Result<()> {
        if self.raw_entries == 0 {
            return Ok(());
        }
        self.compressed.clear();
        self.compressed
            .reserve(zstd::zstd_safe::compress_bound(self.raw.len()));
        self.compressor
            .compress_to_buffer(&self.raw, &mut self.compressed)?;
        // Unreachable within the limits `add` enforces; not InvalidInput, which would claim
        // the writer is still usable.
        let too_long =
            |what: &str, len: usize| io::Error::other(format!("block {what} of {len} bytes"));
        let compressed_len = u32::try_from(self.compressed.len())
            .map_err(|_| too_long("compressed length", self.compressed.len()))?;
        let raw_len =
            u32::try_from(self.raw.len()).map_err(|_| too_long("raw length", self.raw.len()))?;
        let mut header = [0u8; BLOCK_HEADER_LEN];
        put_u32(&mut header, 0, compressed_len);
        put_u32(&mut header, 4, raw_len);
        put_u32(&mut header, 8, self.raw_entries);
        let crc = block_crc(header.get(..12).unwrap_or_default(), &self.compressed);
        put_u32(&mut header, 12, crc);
        self.out.write_all(&header)?;
        self.out.write_all(&self.compressed)?;
        self.written += (BLOCK_HEADER_LEN + self.compressed.len()) as u64;
        self.totals.entries += u64::from(self.raw_entries);
        self.totals.blocks += 1;
        self.totals.raw_bytes += u64::from(raw_len);
        self.raw.clear();
        self.raw_entries = 0;
        // One huge entry should not pin its buffers for the rest of the snapshot.
        if self.raw.capacity() > 2 * self.block_bytes {
            self.raw = Vec::new();
        }
        if self.compressed.capacity() > 2 * self.block_bytes {
            self.compressed = Vec::new();
        }
        Ok(())
    }

    fn finish(mut self) -> io::Result<(W, SnapshotSummary)> {
        self.flush_block()?;
        let trailer = encode_trailer(self.totals, self.written, self.header_crc);
        self.out.write_all(&trailer)?;
        self.out.flush()?;
        let summary = SnapshotSummary {
            bytes: self.written + TRAILER_LEN as u64,
            entries: self.totals.entries,
            blocks: self.totals.blocks,
            raw_bytes: self.totals.raw_bytes,
        };
        Ok((self.out, summary))
    }
}

// ---------------------------------------------------------------------------------------------
// SnapshotWriter: the encoder over `<final_path>.tmp`, renamed into place by `finish`.

/// Writes a snapshot file: `<final_path>.tmp` first, renamed over `final_path` by
/// [`SnapshotWriter::finish`]. Dropping the writer without finishing removes the temp file.
pub struct SnapshotWriter {
    encoder: Option<Encoder<BufWriter<File>>>,
    tmp_path: PathBuf,
    final_path: PathBuf,
    /// An I/O error happened: the temp file's contents are unknown.
    failed: bool,
    /// The temp file has been renamed to `final_path`; nothing is left to clean up.
    renamed: bool,
}

/// `<path>.tmp`, where a snapshot is written before it is renamed to `path`.
pub fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

fn sync_parent_dir(path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

fn writer_failed() -> io::Error {
    io::Error::other("snapshot writer failed earlier; abort it")
}

impl SnapshotWriter {
    /// Starts a snapshot that [`Self::finish`] will rename to `final_path`: creates (or
    /// truncates a stale) `<final_path>.tmp` and writes the header.
    ///
    /// Errors (leaving no temp file) if the options are out of range, `meta.app` is over
    /// [`MAX_APP_METADATA_BYTES`], or the file cannot be created or written.
    pub fn create(
        final_path: &Path,
        meta: &SnapshotMeta,
        opts: SnapshotOptions,
    ) -> io::Result<Self> {
        let tmp_path = temp_path(final_path);
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp_path)?;
        match Encoder::new(BufWriter::new(file), meta, opts) {
            Ok(encoder) => Ok(Self {
                encoder: Some(encoder),
                tmp_path,
                final_path: final_path.to_path_buf(),
                failed: false,
                renamed: false,
            }),
            Err(e) => {
                let _ = std::fs::remove_file(&tmp_path);
                Err(e)
            }
        }
    }

    /// Adds one entry. Entries are buffered; a full block is compressed and written.
    ///
    /// Errors with `InvalidInput` (the writer stays usable) if the entry is over
    /// [`MAX_BLOCK_RAW_BYTES`] with its length prefix; any other error is an I/O failure after
    /// which the writer refuses everything but [`Self::abort`].
    pub fn add(&mut self, entry: &[u8]) -> io::Result<()> {
        let encoder = match self.encoder.as_mut() {
            Some(encoder) if !self.failed => encoder,
            _ => return Err(writer_failed()),
        };
        let result = encoder.add(entry);
        if matches!(&result, Err(e) if e.kind() != io::ErrorKind::InvalidInput) {
            self.failed = true;
        }
        result
    }

    /// Entries added so far.
    pub fn entries(&self) -> u64 {
        self.encoder.as_ref().map_or(0, Encoder::entries)
    }

    /// Writes the last block and the trailer, syncs the file, renames it over `final_path`
    /// and syncs the directory. The snapshot is durable when this returns `Ok`.
    ///
    /// Errors if an earlier call failed or any step fails; the temp file is then removed.
    /// If only the final directory sync fails, the complete file is already at `final_path`
    /// but its name may not survive a power cut.
    pub fn finish(mut self) -> io::Result<SnapshotSummary> {
        let encoder = match self.encoder.take() {
            Some(encoder) if !self.failed => encoder,
            _ => return Err(writer_failed()),
        };
        let (buffered, summary) = encoder.finish()?;
        let file = buffered.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&self.tmp_path, &self.final_path)?;
        self.renamed = true;
        sync_parent_dir(&self.final_path)?;
        Ok(summary)
    }

    /// Gives the snapshot up and removes the temp file (dropping the writer does the same).
    pub fn abort(self) {
        drop(self);
    }
}

impl Drop for SnapshotWriter {
    fn drop(&mut self) {
        if !self.renamed {
            self.encoder = None; // close the file before removing it
            let _ = std::fs::remove_file(&self.tmp_path);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// SnapshotFile: a finished snapshot, memory-mapped.

/// A snapshot file mapped into memory, its header and trailer checked.
pub struct SnapshotFile {
    map: memmap2::Mmap,
}

/// Maps `file` read-only. The one `unsafe` in this crate.
#[allow(unsafe_code)]
fn map_read_only(file: &File) -> io::Result<memmap2::Mmap> {
    // SAFETY: `Mmap::map` is unsafe because the slice it returns would change (or fault) if
    // the file were modified or truncated while mapped. Snapshot files are never modified in
    // place: they are written once under a temp name, synced, renamed into place, and only
    // ever removed afterwards (unlinking keeps the mapped inode alive). The server holds the
    // data directory's lock, so no other Vole process writes there.
    unsafe { memmap2::Mmap::map(file) }
}

impl SnapshotFile {
    /// Maps the snapshot at `path` and checks its header and trailer (not its blocks: see
    /// [`verify`] or read them with [`Self::reader`]).
    ///
    /// Errors if the file cannot be opened or mapped, or its header or trailer is refused
    /// (so a truncated or incomplete snapshot is refused here).
    pub fn open(path: &Path) -> Result<SnapshotFile, SnapshotError> {
        let file = File::open(path)?;
        let map = map_read_only(&file)?;
        #[cfg(unix)]
        {
            // Only a hint: loading reads the blocks front to back.
            let _ = map.advise(memmap2::Advice::Sequential);
        }
        SnapshotReader::new(&map)?;
        Ok(SnapshotFile { map })
    }

    /// The whole file.
    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// A reader over the mapped file.
    ///
    /// Errors only as [`SnapshotReader::new`] does (which `open` already checked).
    pub fn reader(&self) -> Result<SnapshotReader<'_>, SnapshotError> {
        SnapshotReader::new(&self.map)
    }
}

// ---------------------------------------------------------------------------------------------
// Reading: header and trailer up front, then blocks one by one or raw for other threads.

/// The metadata of the snapshot in `bytes`, after checking its header and trailer (so an
/// incomplete snapshot is refused).
///
/// Errors as [`SnapshotReader::new`].
pub fn read_meta(bytes: &[u8]) -> Result<SnapshotMeta, SnapshotError> {
    SnapshotReader::new(bytes).map(|reader| reader.meta)
}

/// Reads a snapshot from any byte slice (a [`SnapshotFile`], or fuzz input).
pub struct SnapshotReader<'a> {
    meta: SnapshotMeta,
    trailer: Trailer,
    first: RawBlocks<'a>,
    cursor: RawBlocks<'a>,
    decoder: Option<BlockDecoder>,
    failed_at: Option<(u64, u64)>,
}

impl<'a> SnapshotReader<'a> {
    /// Checks the header and the trailer of the snapshot in `bytes` and returns a reader
    /// positioned at the first block. Blocks may hold up to [`MAX_BLOCK_RAW_BYTES`].
    ///
    /// Errors if the header is refused (magic, version, checksum, flags, metadata size) or
    /// the trailer is missing, damaged or belongs elsewhere.
    pub fn new(bytes: &'a [u8]) -> Result<SnapshotReader<'a>, SnapshotError> {
        Self::with_max_block_raw_bytes(bytes, MAX_BLOCK_RAW_BYTES)
    }

    /// As [`Self::new`], refusing blocks whose raw length is above `max_block_raw_bytes`
    /// (capped at [`MAX_BLOCK_RAW_BYTES`]).
    ///
    /// Errors as [`Self::new`].
    pub fn with_max_block_raw_bytes(
        bytes: &'a [u8],
        max_block_raw_bytes: usize,
    ) -> Result<SnapshotReader<'a>, SnapshotError> {
        let header = decode_header(bytes)?;
        let (trailer, trailer_offset) = decode_trailer(bytes, &header)?;
        let blocks = RawBlocks {
            area: bytes.get(..trailer_offset).unwrap_or_default(),
            pos: header.len,
            index: 0,
            seen: Trailer {
                entries: 0,
                blocks: 0,
                raw_bytes: 0,
            },
            trailer,
            max_block_raw_bytes: max_block_raw_bytes.min(MAX_BLOCK_RAW_BYTES),
            done: false,
        };
        Ok(SnapshotReader {
            meta: header.meta,
            trailer,
            first: blocks.clone(),
            cursor: blocks,
            decoder: None,
            failed_at: None,
        })
    }

    /// The snapshot's metadata.
    pub fn meta(&self) -> &SnapshotMeta {
        &self.meta
    }

    /// The totals the trailer declares (checked against the blocks as they are read).
    pub fn trailer(&self) -> Trailer {
        self.trailer
    }

    /// Decompresses and returns the next block, or `None` after the last one once the
    /// trailer's totals have been checked.
    ///
    /// Errors if the block or the totals are refused; every later call then errors with
    /// [`SnapshotError::AfterError`]. Entries already taken from this file must be dropped.
    pub fn next_block(&mut self) -> Result<Option<Block>, SnapshotError> {
        if let Some((index, offset)) = self.failed_at {
            return Err(SnapshotError::AfterError { index, offset });
        }
        let at = (self.cursor.index, self.cursor.pos as u64);
        let result = match self.cursor.next() {
            None => Ok(None),
            Some(Err(e)) => Err(e),
            Some(Ok(raw)) => {
                let mut decoder = match self.decoder.take() {
                    Some(decoder) => decoder,
                    None => BlockDecoder::new()?,
                };
                let block = raw.decode_with(&mut decoder);
                self.decoder = Some(decoder);
                block.map(Some)
            }
        };
        if result.is_err() {
            self.failed_at = Some(at);
        }
        result
    }

    /// The blocks from the first, still compressed, so a loader can decompress them on
    /// several threads with [`RawBlock::decode`]. Independent of [`Self::next_block`].
    pub fn raw_blocks(&self) -> RawBlocks<'a> {
        self.first.clone()
    }
}

/// Iterator over a snapshot's blocks, still compressed. It checks each block's bounds and
/// raw length limit; [`RawBlock::decode`] checks the rest. After the last block it checks
/// the block headers' totals against the trailer. It ends after the first error.
#[derive(Clone)]
pub struct RawBlocks<'a> {
    /// The file up to the trailer.
    area: &'a [u8],
    pos: usize,
    index: u64,
    seen: Trailer,
    trailer: Trailer,
    max_block_raw_bytes: usize,
    done: bool,
}

impl<'a> RawBlocks<'a> {
    fn step(&mut self) -> Result<Option<RawBlock<'a>>, SnapshotError> {
        let offset = self.pos;
        let rest = self.area.get(offset..).unwrap_or_default();
        if rest.is_empty() {
            return self.check_totals().map(|()| None);
        }
        let (Some(fields), Some(compressed_len), Some(raw_len), Some(entry_count), Some(crc)) = (
            rest.get(..12),
            le_u32(rest, 0),
            le_u32(rest, 4),
            le_u32(rest, 8),
            le_u32(rest, 12),
        ) else {
            return Err(truncated(
                "block header",
                offset,
                BLOCK_HEADER_LEN,
                rest.len(),
            ));
        };
        if raw_len as usize > self.max_block_raw_bytes {
            return Err(SnapshotError::BlockTooLarge {
                index: self.index,
                offset: offset as u64,
                raw_len: u64::from(raw_len),
                max: self.max_block_raw_bytes as u64,
            });
        }
        let end = BLOCK_HEADER_LEN + compressed_len as usize;
        let Some(compressed) = rest.get(BLOCK_HEADER_LEN..end) else {
            return Err(truncated(
                "block data",
                offset + BLOCK_HEADER_LEN,
                compressed_len as usize,
                rest.len().saturating_sub(BLOCK_HEADER_LEN),
            ));
        };
        let block = RawBlock {
            index: self.index,
            offset: offset as u64,
            fields,
            crc,
            raw_len,
            entry_count,
            compressed,
        };
        self.pos = offset + end;
        self.index += 1;
        self.seen.blocks += 1;
        self.seen.entries += u64::from(entry_count);
        self.seen.raw_bytes += u64::from(raw_len);
        Ok(Some(block))
    }

    fn check_totals(&self) -> Result<(), SnapshotError> {
        let checks = [
            ("block count", self.trailer.blocks, self.seen.blocks),
            ("entry count", self.trailer.entries, self.seen.entries),
            (
                "raw byte count",
                self.trailer.raw_bytes,
                self.seen.raw_bytes,
            ),
        ];
        for (what, trailer, found) in checks {
            if trailer != found {
                return Err(SnapshotError::TrailerMismatch {
                    offset: self.area.len() as u64,
                    what,
                    trailer,
                    found,
                });
            }
        }
        Ok(())
    }
}

impl<'a> Iterator for RawBlocks<'a> {
    type Item = Result<RawBlock<'a>, SnapshotError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.step() {
            Ok(Some(block)) => Some(Ok(block)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// One block as stored: its header fields and compressed bytes, borrowed from the file.
#[derive(Debug, Clone, Copy)]
pub struct RawBlock<'a> {
    index: u64,
    offset: u64,
    /// The first 12 header bytes, covered by the CRC.
    fields: &'a [u8],
    crc: u32,
    raw_len: u32,
    entry_count: u32,
    compressed: &'a [u8],
}

impl<'a> RawBlock<'a> {
    /// Block number, from 0.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// Offset of the block header in the file.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Raw length the block header declares (not yet checked).
    pub fn raw_len(&self) -> usize {
        self.raw_len as usize
    }

    /// Entry count the block header declares (not yet checked).
    pub fn entry_count(&self) -> u32 {
        self.entry_count
    }

    /// The compressed bytes.
    pub fn compressed(&self) -> &'a [u8] {
        self.compressed
    }

    /// Checks and decompresses the block with a fresh decoder.
    ///
    /// Errors as [`Self::decode_with`], or with `Io` if zstd cannot allocate a context.
    pub fn decode(&self) -> Result<Block, SnapshotError> {
        self.decode_with(&mut BlockDecoder::new()?)
    }

    /// Checks the block's CRC, decompresses it with `decoder` (reused across blocks by one
    /// thread), and checks its raw length and entry framing.
    ///
    /// Errors with `BlockChecksum`, `Decompress` or `EntryFraming`.
    pub fn decode_with(&self, decoder: &mut BlockDecoder) -> Result<Block, SnapshotError> {
        let (index, offset) = (self.index, self.offset);
        if block_crc(self.fields, self.compressed) != self.crc {
            return Err(SnapshotError::BlockChecksum { index, offset });
        }
        let raw_len = self.raw_len as usize;
        let failed = |reason: String| SnapshotError::Decompress {
            index,
            offset,
            reason,
        };
        // The frame must declare exactly raw_len before raw_len bytes are allocated.
        match zstd::zstd_safe::get_frame_content_size(self.compressed) {
            Ok(Some(n)) if n == u64::from(self.raw_len) => {}
            Ok(Some(n)) => {
                return Err(failed(format!(
                    "zstd frame declares {n} bytes, the block header {raw_len}"
                )))
            }
            Ok(None) => return Err(failed("zstd frame does not declare its size".into())),
            Err(_) => return Err(failed("not a zstd frame".into())),
        }
        let mut raw = Vec::with_capacity(raw_len);
        decoder
            .0
            .decompress_to_buffer(self.compressed, &mut raw)
            .map_err(|e| failed(e.to_string()))?;
        if raw.len() != raw_len {
            return Err(failed(format!(
                "{} bytes after decompression, the block header says {raw_len}",
                raw.len()
            )));
        }
        let framing = |entry: u64, at: usize, reason| SnapshotError::EntryFraming {
            index,
            offset,
            entry,
            at: at as u64,
            reason,
        };
        if self.entry_count == 0 {
            return Err(framing(0, 0, "block holds no entries"));
        }
        let mut pos = 0;
        for entry in 0..u64::from(self.entry_count) {
            pos = entry_at(&raw, pos)
                .map_err(|reason| framing(entry, pos, reason))?
                .1;
        }
        if pos != raw.len() {
            return Err(framing(
                u64::from(self.entry_count),
                pos,
                "bytes after the block's last entry",
            ));
        }
        Ok(Block {
            index,
            offset,
            raw,
            entry_count: self.entry_count,
        })
    }
}

/// A zstd decompression context, reused across the blocks one thread decodes.
pub struct BlockDecoder(zstd::bulk::Decompressor<'static>);

impl BlockDecoder {
    /// A new context.
    ///
    /// Errors with `Io` if zstd cannot allocate it.
    pub fn new() -> Result<Self, SnapshotError> {
        Ok(Self(zstd::bulk::Decompressor::new()?))
    }
}

/// A decompressed block whose entry framing has been checked.
#[derive(Debug, Clone)]
pub struct Block {
    index: u64,
    offset: u64,
    raw: Vec<u8>,
    entry_count: u32,
}

impl Block {
    /// Block number, from 0.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// Offset of the block header in the file.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Entries in the block.
    pub fn entry_count(&self) -> u32 {
        self.entry_count
    }

    /// Decompressed length, entries with their length prefixes.
    pub fn raw_len(&self) -> usize {
        self.raw.len()
    }

    /// The block's entries in order. The framing was checked when the block was decoded, so
    /// this yields no error in practice; it stays total all the same.
    pub fn entries(&self) -> BlockEntries<'_> {
        BlockEntries {
            block: self,
            pos: 0,
            entry: 0,
        }
    }
}

/// Iterator over a [`Block`]'s entries.
pub struct BlockEntries<'b> {
    block: &'b Block,
    pos: usize,
    entry: u32,
}

impl<'b> Iterator for BlockEntries<'b> {
    type Item = Result<&'b [u8], SnapshotError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.entry >= self.block.entry_count {
            return None;
        }
        let at = self.pos;
        match entry_at(&self.block.raw, at) {
            Ok((entry, next)) => {
                self.pos = next;
                self.entry += 1;
                Some(Ok(entry))
            }
            Err(reason) => {
                let entry = self.entry;
                self.entry = self.block.entry_count;
                Some(Err(SnapshotError::EntryFraming {
                    index: self.block.index,
                    offset: self.block.offset,
                    entry: u64::from(entry),
                    at: at as u64,
                    reason,
                }))
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.block.entry_count.saturating_sub(self.entry) as usize;
        (0, Some(left))
    }
}

/// Reads the whole snapshot: header, trailer, every block's CRC, decompression and entry
/// framing, and the trailer's totals.
///
/// Errors with the first problem found.
pub fn verify(bytes: &[u8]) -> Result<SnapshotSummary, SnapshotError> {
    verify_reader(SnapshotReader::new(bytes)?, bytes.len())
}

fn verify_reader(
    mut reader: SnapshotReader<'_>,
    file_len: usize,
) -> Result<SnapshotSummary, SnapshotError> {
    let mut summary = SnapshotSummary {
        bytes: file_len as u64,
        entries: 0,
        blocks: 0,
        raw_bytes: 0,
    };
    while let Some(block) = reader.next_block()? {
        for entry in block.entries() {
            entry?;
            summary.entries += 1;
        }
        summary.blocks += 1;
        summary.raw_bytes += block.raw_len() as u64;
    }
    Ok(summary)
}

// ---------------------------------------------------------------------------------------------
// Fuzzing.

/// Recomputes every checksum (and the trailer's own offset) in `data` wherever the framing
/// can be followed, so mutated inputs reach decompression and entry framing instead of
/// stopping at a CRC. Never panics.
fn reseal(data: &mut [u8]) {
    let Some(app_len) = le_u32(data, 28) else {
        return;
    };
    let app_end = HEADER_FIXED_LEN.saturating_add(app_len as usize);
    let Some(header_crc) = data.get(..app_end).map(crc32fast::hash) else {
        return;
    };
    put_u32(data, app_end, header_crc);
    let Some(trailer_offset) = data.len().checked_sub(TRAILER_LEN) else {
        return;
    };
    let mut pos = app_end + 4;
    while let Some(compressed_len) = le_u32(data, pos).filter(|_| pos + 16 <= trailer_offset) {
        let end = pos + BLOCK_HEADER_LEN + compressed_len as usize;
        if end > trailer_offset {
            break;
        }
        let crc = block_crc(
            data.get(pos..pos + 12).unwrap_or_default(),
            data.get(pos + BLOCK_HEADER_LEN..end).unwrap_or_default(),
        );
        put_u32(data, pos + 12, crc);
        pos = end;
    }
    put_u64(data, trailer_offset + 24, trailer_offset as u64);
    put_u32(data, trailer_offset + 32, header_crc);
    if let Some(crc) = data
        .get(trailer_offset..trailer_offset + 36)
        .map(crc32fast::hash)
    {
        put_u32(data, trailer_offset + 36, crc);
    }
}

/// The checks the `snapshot_file` fuzz target runs on arbitrary bytes, shared with the corpus
/// replay test `wal/tests/fuzz_corpus_snapshot.rs`: `data` as it is, then with its checksums
/// recomputed so that mutations reach the decompressor and the entry framing. Panics only if
/// an invariant breaks: the reader and [`verify`] disagree, `verify` accepts a file whose
/// totals, entries or metadata are inconsistent, or accepted entries do not survive being
/// written again.
#[doc(hidden)]
pub fn fuzz_one(data: &[u8]) {
    check_invariants(data);
    let mut sealed = data.to_vec();
    reseal(&mut sealed);
    if sealed != data {
        check_invariants(&sealed);
    }
}

fn read_all_entries(data: &[u8]) -> Result<(SnapshotMeta, Vec<Vec<u8>>), SnapshotError> {
    let mut reader = SnapshotReader::with_max_block_raw_bytes(data, FUZZ_MAX_BLOCK_RAW_BYTES)?;
    let mut entries = Vec::new();
    let mut last_offset = None;
    while let Some(block) = reader.next_block()? {
        assert!(
            last_offset < Some(block.offset()),
            "block offsets must increase"
        );
        assert!(
            block.offset() < data.len() as u64,
            "block offset past the end"
        );
        last_offset = Some(block.offset());
        for entry in block.entries() {
            entries.push(entry?.to_vec());
        }
    }
    Ok((reader.meta, entries))
}

fn check_invariants(data: &[u8]) {
    let opened = SnapshotReader::with_max_block_raw_bytes(data, FUZZ_MAX_BLOCK_RAW_BYTES);
    let verified = SnapshotReader::with_max_block_raw_bytes(data, FUZZ_MAX_BLOCK_RAW_BYTES)
        .and_then(|reader| verify_reader(reader, data.len()));
    let _ = verified.as_ref().map_err(|e| e.to_string()); // Display must not panic either
    assert_eq!(
        opened.as_ref().err().map(|e| e.to_string()),
        read_meta(data).err().map(|e| e.to_string()),
        "read_meta and the reader disagree about header and trailer"
    );
    let (Ok(reader), Ok(summary)) = (opened, verified) else {
        return;
    };
    assert_eq!(summary.bytes, data.len() as u64);
    assert_eq!(
        reader.trailer(),
        Trailer {
            entries: summary.entries,
            blocks: summary.blocks,
            raw_bytes: summary.raw_bytes,
        },
        "verify accepted totals that differ from the trailer"
    );
    let Ok((meta, entries)) = read_all_entries(data) else {
        panic!("verify accepted a file next_block refuses");
    };
    assert_eq!(&meta, reader.meta());
    assert_eq!(entries.len() as u64, summary.entries);
    let mut parallel = Vec::new();
    for raw in reader.raw_blocks() {
        let Ok(block) = raw.and_then(|raw| raw.decode()) else {
            panic!("verify accepted a file raw_blocks refuses");
        };
        for entry in block.entries() {
            let Ok(entry) = entry else {
                panic!("a decoded block yielded a framing error");
            };
            parallel.push(entry.to_vec());
        }
    }
    assert_eq!(parallel, entries, "raw_blocks and next_block disagree");
    // What was accepted must survive being written again, in many small blocks.
    let opts = SnapshotOptions {
        block_bytes: 64,
        zstd_level: DEFAULT_ZSTD_LEVEL,
    };
    let Ok(mut encoder) = Encoder::new(Vec::new(), &meta, opts) else {
        panic!("accepted metadata cannot be written again");
    };
    for entry in &entries {
        assert!(
            encoder.add(entry).is_ok(),
            "accepted entry cannot be written"
        );
    }
    let Ok((rewritten, _)) = encoder.finish() else {
        panic!("re-encoding failed");
    };
    let Ok((meta_again, entries_again)) = read_all_entries(&rewritten) else {
        panic!("a re-encoded snapshot does not read back");
    };
    assert_eq!(meta_again, meta);
    assert_eq!(entries_again, entries);
}

#[cfg(test)]
mod tests {
    use super::*;

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

        fn bytes(&mut self, len: usize) -> Vec<u8> {
            (0..len).map(|_| self.next() as u8).collect()
        }
    }

    fn meta() -> SnapshotMeta {
        SnapshotMeta {
            lsn: 0x0102_0304_0506_0708,
            created_unix_ms: 1_700_000_000_123,
            app: b"namespaces:0,1".to_vec(),
        }
    }

    fn opts(block_bytes: usize) -> SnapshotOptions {
        SnapshotOptions {
            block_bytes,
            ..SnapshotOptions::default()
        }
    }

    fn encode(meta: &SnapshotMeta, opts: SnapshotOptions, entries: &[Vec<u8>]) -> Vec<u8> {
        let mut encoder = Encoder::new(Vec::new(), meta, opts).expect("encoder");
        for entry in entries {
            encoder.add(entry).expect("add");
        }
        let (bytes, summary) = encoder.finish().expect("finish");
        assert_eq!(summary.bytes, bytes.len() as u64);
        bytes
    }

    fn read_back(bytes: &[u8]) -> (SnapshotMeta, Vec<Vec<u8>>, Vec<u64>) {
        let mut reader = SnapshotReader::new(bytes).expect("reader");
        let mut entries = Vec::new();
        let mut offsets = Vec::new();
        while let Some(block) = reader.next_block().expect("block") {
            offsets.push(block.offset());
            for entry in block.entries() {
                entries.push(entry.expect("entry").to_vec());
            }
        }
        (reader.meta().clone(), entries, offsets)
    }

    /// Round-trips `entries` through encode, verify, next_block and raw_blocks.
    fn assert_round_trip(opts: SnapshotOptions, entries: &[Vec<u8>]) -> SnapshotSummary {
        let bytes = encode(&meta(), opts, entries);
        let summary = verify(&bytes).expect("verify");
        assert_eq!(summary.entries, entries.len() as u64);
        assert_eq!(summary.bytes, bytes.len() as u64);
        let (got_meta, got, offsets) = read_back(&bytes);
        assert_eq!(got_meta, meta());
        assert!(got == entries, "entries differ after the round trip");
        assert_eq!(offsets.len() as u64, summary.blocks);
        let reader = SnapshotReader::new(&bytes).expect("reader");
        assert_eq!(
            reader.trailer(),
            Trailer {
                entries: summary.entries,
                blocks: summary.blocks,
                raw_bytes: summary.raw_bytes
            }
        );
        let mut parallel = Vec::new();
        for raw in reader.raw_blocks() {
            let block = raw.expect("raw block").decode().expect("decode");
            parallel.extend(block.entries().map(|e| e.expect("entry").to_vec()));
        }
        assert!(parallel == entries, "raw_blocks entries differ");
        summary
    }

    fn small_snapshot() -> Vec<u8> {
        let entries = vec![b"alpha".to_vec(), Vec::new(), b"gamma delta".to_vec()];
        encode(&meta(), opts(8), &entries)
    }

    fn scratch_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("vole-snapshot-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        dir
    }

    #[test]
    fn round_trip_zero_entries() {
        // Proves a snapshot with no entries has no blocks and reads back empty.
        let summary = assert_round_trip(SnapshotOptions::default(), &[]);
        assert_eq!((summary.blocks, summary.raw_bytes), (0, 0));
        let empty_app = SnapshotMeta {
            app: Vec::new(),
            ..meta()
        };
        let bytes = encode(&empty_app, SnapshotOptions::default(), &[]);
        assert_eq!(bytes.len(), HEADER_FIXED_LEN + 4 + TRAILER_LEN);
        assert_eq!(read_meta(&bytes).expect("meta"), empty_app);
    }

    #[test]
    fn round_trip_one_entry() {
        // Proves a single entry comes back byte for byte in one block.
        let summary = assert_round_trip(SnapshotOptions::default(), &[b"key\0value".to_vec()]);
        assert_eq!((summary.blocks, summary.raw_bytes), (1, 10));
    }

    #[test]
    fn round_trip_empty_entries() {
        // Proves empty entries are kept, counted and returned in order, alone or mixed.
        assert_round_trip(SnapshotOptions::default(), &[Vec::new()]);
        let entries: Vec<Vec<u8>> = (0..1000)
            .map(|i| {
                if i % 3 == 0 {
                    Vec::new()
                } else {
                    vec![i as u8; i % 7]
                }
            })
            .collect();
        assert_round_trip(opts(50), &entries);
    }

    #[test]
    fn round_trip_many_entries_many_blocks() {
        // Proves many entries of mixed sizes span many blocks and come back in order, with no
        // block's raw length above block_bytes unless it holds a single larger entry.
        let mut rng = XorShift(0x5EED_0F5A_A95D_0001);
        let entries: Vec<Vec<u8>> = (0..20_000)
            .map(|_| {
                let len = rng.below(300) as usize;
                rng.bytes(len)
            })
            .collect();
        let summary = assert_round_trip(opts(4096), &entries);
        assert!(summary.blocks > 100, "only {} blocks", summary.blocks);
        let bytes = encode(&meta(), opts(4096), &entries);
        let reader = SnapshotReader::new(&bytes).expect("reader");
        for raw in reader.raw_blocks() {
            let raw = raw.expect("raw");
            assert!(raw.raw_len() <= 4096 || raw.entry_count() == 1);
        }
        // The default block size packs the same entries into a handful of blocks.
        let summary = assert_round_trip(SnapshotOptions::default(), &entries);
        assert!(summary.blocks <= 4, "{} blocks", summary.blocks);
    }

    #[test]
    fn round_trip_3_mib_single_entry() {
        // Proves an entry larger than a block gets a block of its own and comes back whole,
        // between small entries that are packed around it.
        let mut rng = XorShift(7);
        let big = rng.bytes(3 << 20);
        let entries = vec![b"before".to_vec(), big, b"after".to_vec()];
        let summary = assert_round_trip(SnapshotOptions::default(), &entries);
        assert_eq!(summary.blocks, 3);
        assert_round_trip(SnapshotOptions::default(), &entries[1..2]);
    }

    #[test]
    fn layout_matches_diagram() {
        // Proves the bytes are laid out exactly as the diagram at the top of the module says.
        let bytes = encode(&meta(), opts(1 << 20), &[b"ab".to_vec(), b"c".to_vec()]);
        let app_len = meta().app.len();
        let h = HEADER_FIXED_LEN + app_len + 4;
        assert_eq!(&bytes[0..8], b"VOLESNAP");
        assert_eq!(le_u16(&bytes, 8), Some(1));
        assert_eq!(le_u16(&bytes, 10), Some(0));
        assert_eq!(le_u64(&bytes, 12), Some(meta().lsn));
        assert_eq!(le_u64(&bytes, 20), Some(meta().created_unix_ms as u64));
        assert_eq!(le_u32(&bytes, 28), Some(app_len as u32));
        assert_eq!(&bytes[32..32 + app_len], meta().app.as_slice());
        let header_crc = crc32fast::hash(&bytes[..32 + app_len]);
        assert_eq!(le_u32(&bytes, 32 + app_len), Some(header_crc));
        // One block: header, zstd frame of "\x02ab\x01c".
        let compressed_len = le_u32(&bytes, h).expect("len") as usize;
        assert_eq!(le_u32(&bytes, h + 4), Some(5));
        assert_eq!(le_u32(&bytes, h + 8), Some(2));
        let frame = &bytes[h + 16..h + 16 + compressed_len];
        assert_eq!(
            le_u32(&bytes, h + 12),
            Some(block_crc(&bytes[h..h + 12], frame))
        );
        assert_eq!(zstd::decode_all(frame).expect("zstd"), b"\x02ab\x01c");
        let t = h + 16 + compressed_len;
        assert_eq!(bytes.len(), t + TRAILER_LEN);
        assert_eq!(le_u64(&bytes, t), Some(2));
        assert_eq!(le_u64(&bytes, t + 8), Some(1));
        assert_eq!(le_u64(&bytes, t + 16), Some(5));
        assert_eq!(le_u64(&bytes, t + 24), Some(t as u64));
        assert_eq!(le_u32(&bytes, t + 32), Some(header_crc));
        assert_eq!(
            le_u32(&bytes, t + 36),
            Some(crc32fast::hash(&bytes[t..t + 36]))
        );
        assert_eq!(&bytes[t + 40..], b"VSNAPEND");
    }

    #[test]
    fn varint_round_trip_and_limits() {
        // Proves the entry length varint round-trips at its edges and refuses overlong or
        // overflowing encodings without panicking.
        for value in [0, 1, 127, 128, 16_383, 16_384, u32::MAX as u64, u64::MAX] {
            let mut buf = Vec::new();
            write_varint(value, &mut buf);
            assert_eq!(buf.len(), varint_len(value));
            assert_eq!(read_varint(&buf), Ok((value, buf.len())));
        }
        assert!(read_varint(&[0x80; 10]).is_err());
        assert!(
            read_varint(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]).is_err()
        );
        assert!(read_varint(&[0x80]).is_err());
        assert!(read_varint(&[]).is_err());
        assert!(entry_at(&[0x05, b'a'], 0).is_err());
        assert!(entry_at(&[0xff; 9], 0).is_err());
    }

    #[test]
    fn every_single_bit_flip_is_detected() {
        // Proves flipping any one bit anywhere in a small snapshot (two blocks) makes verify
        // refuse it: every byte of the file is covered by a magic or a checksum.
        let bytes = small_snapshot();
        assert!(verify(&bytes).expect("valid").blocks >= 2);
        for bit in 0..bytes.len() * 8 {
            let mut damaged = bytes.clone();
            damaged[bit / 8] ^= 1 << (bit % 8);
            let got = verify(&damaged);
            assert!(got.is_err(), "bit {bit} undetected: {got:?}");
            fuzz_one(&damaged);
        }
    }

    #[test]
    fn truncation_at_every_offset_is_refused() {
        // Proves every proper prefix of a snapshot is refused by the reader up front (before
        // any block is read), and so by verify and read_meta.
        let bytes = small_snapshot();
        for cut in 0..bytes.len() {
            let prefix = &bytes[..cut];
            let got = SnapshotReader::new(prefix);
            assert!(
                matches!(
                    got,
                    Err(SnapshotError::Truncated { .. } | SnapshotError::NoTrailer { .. })
                ),
                "cut {cut}: {:?}",
                got.err()
            );
            assert!(verify(prefix).is_err());
            assert!(read_meta(prefix).is_err());
            fuzz_one(prefix);
        }
        // A bigger file cut inside a block, where the trailer would be: still refused.
        let mut rng = XorShift(3);
        let entries: Vec<Vec<u8>> = (0..200).map(|_| rng.bytes(100)).collect();
        let bytes = encode(&meta(), opts(1000), &entries);
        for cut in (0..bytes.len()).step_by(97) {
            assert!(SnapshotReader::new(&bytes[..cut]).is_err(), "cut {cut}");
        }
    }

    #[test]
    fn unknown_version_is_refused() {
        // Proves a version this build does not know is refused by name, before the checksum
        // (a newer header may be laid out differently), and unknown flags likewise.
        let mut bytes = small_snapshot();
        bytes[8..10].copy_from_slice(&2u16.to_le_bytes());
        assert!(matches!(
            SnapshotReader::new(&bytes),
            Err(SnapshotError::UnsupportedVersion(2))
        ));
        let message = verify(&bytes).expect_err("refused").to_string();
        assert!(message.contains("version 2"), "{message}");

        let mut flagged = small_snapshot();
        flagged[10] = 1;
        assert!(matches!(
            SnapshotReader::new(&flagged),
            Err(SnapshotError::HeaderChecksum { .. })
        ));
        reseal(&mut flagged);
        assert!(matches!(
            SnapshotReader::new(&flagged),
            Err(SnapshotError::UnsupportedFlags(1))
        ));
    }

    #[test]
    fn bad_magic_and_short_files() {
        // Proves other files are BadMagic and a prefix of the magic is Truncated.
        assert!(matches!(verify(b""), Err(SnapshotError::Truncated { .. })));
        assert!(matches!(
            verify(b"VOLE"),
            Err(SnapshotError::Truncated { .. })
        ));
        assert!(matches!(
            verify(b"VOLEWAL\0xx"),
            Err(SnapshotError::BadMagic)
        ));
        assert!(matches!(verify(b"hi"), Err(SnapshotError::BadMagic)));
    }

    #[test]
    fn header_and_trailer_damage_named() {
        // Proves each header and trailer defect is reported as its own case with its offset.
        let good = small_snapshot();
        let t = good.len() - TRAILER_LEN;

        let mut bad = good.clone();
        bad[13] ^= 1;
        assert!(matches!(
            verify(&bad),
            Err(SnapshotError::HeaderChecksum { header_len }) if header_len == 32 + meta().app.len() as u64
        ));

        let mut bad = good.clone();
        bad[28..32].copy_from_slice(&((MAX_APP_METADATA_BYTES + 1) as u32).to_le_bytes());
        assert!(matches!(
            verify(&bad),
            Err(SnapshotError::AppMetadataTooLarge { .. })
        ));

        let mut bad = good.clone();
        bad[t + 2] ^= 1;
        assert!(matches!(
            verify(&bad),
            Err(SnapshotError::TrailerChecksum { offset }) if offset == t as u64
        ));

        let mut bad = good.clone();
        *bad.last_mut().expect("byte") ^= 1;
        assert!(matches!(verify(&bad), Err(SnapshotError::NoTrailer { .. })));

        // A whole valid file with garbage appended: the trailer is not at the end any more.
        let mut bad = good.clone();
        bad.extend_from_slice(&good[t..]);
        assert!(matches!(
            verify(&bad),
            Err(SnapshotError::TrailerMismatch {
                what: "trailer offset",
                ..
            })
        ));

        // A trailer from another snapshot (different header) is refused.
        let other = encode(
            &SnapshotMeta { lsn: 9, ..meta() },
            opts(8),
            &[b"alpha".to_vec(), Vec::new(), b"gamma delta".to_vec()],
        );
        let mut bad = good.clone();
        bad[t..].copy_from_slice(&other[other.len() - TRAILER_LEN..]);
        assert!(matches!(
            verify(&bad),
            Err(SnapshotError::TrailerMismatch {
                what: "header checksum",
                ..
            })
        ));
    }

    /// Rewrites block `index`'s raw bytes and entry count (recompressing), then reseals.
    fn with_block(bytes: &[u8], index: u64, raw: &[u8], entry_count: u32) -> Vec<u8> {
        let reader = SnapshotReader::new(bytes).expect("reader");
        let mut out = Vec::new();
        let mut copied_to = 0;
        for block in reader.raw_blocks() {
            let block = block.expect("raw");
            if block.index() != index {
                continue;
            }
            let start = block.offset() as usize;
            out.extend_from_slice(&bytes[copied_to..start]);
            let frame = zstd::bulk::compress(raw, 1).expect("compress");
            out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
            out.extend_from_slice(&(raw.len() as u32).to_le_bytes());
            out.extend_from_slice(&entry_count.to_le_bytes());
            out.extend_from_slice(&[0; 4]);
            out.extend_from_slice(&frame);
            copied_to = start + BLOCK_HEADER_LEN + block.compressed().len();
        }
        out.extend_from_slice(&bytes[copied_to..]);
        reseal(&mut out);
        out
    }

    #[test]
    fn block_damage_named_with_index_and_offset() {
        // Proves block defects name the block and its offset: checksum, size over the limit,
        // a frame that disagrees with the header, bad entry framing, totals off the trailer.
        let good = small_snapshot();
        let reader = SnapshotReader::new(&good).expect("reader");
        let second = reader.raw_blocks().nth(1).expect("block 1").expect("raw");
        let at = second.offset() as usize;

        let mut bad = good.clone();
        bad[at + BLOCK_HEADER_LEN + 1] ^= 0x10;
        assert!(matches!(
            verify(&bad),
            Err(SnapshotError::BlockChecksum { index: 1, offset }) if offset == at as u64
        ));

        let mut bad = good.clone();
        bad[at + 4..at + 8].copy_from_slice(&u32::MAX.to_le_bytes());
        reseal(&mut bad);
        assert!(matches!(
            verify(&bad),
            Err(SnapshotError::BlockTooLarge { index: 1, .. })
        ));

        let mut bad = good.clone();
        bad[at + 4] = bad[at + 4].wrapping_add(1); // raw_len no longer what the zstd frame declares
        reseal(&mut bad);
        assert!(matches!(
            verify(&bad),
            Err(SnapshotError::Decompress { index: 1, .. })
        ));

        let mut bad = good.clone();
        bad[at + BLOCK_HEADER_LEN] ^= 0x01; // the zstd magic
        reseal(&mut bad);
        assert!(matches!(
            verify(&bad),
            Err(SnapshotError::Decompress { index: 1, reason, .. }) if reason == "not a zstd frame"
        ));

        let mut bad = good.clone();
        bad[at + BLOCK_HEADER_LEN + 6] ^= 0x55; // inside the frame, past its header
        reseal(&mut bad);
        assert!(matches!(
            verify(&bad),
            Err(SnapshotError::Decompress { index: 1, .. })
        ));

        let bad = with_block(&good, 1, b"\x05ab", 1);
        assert!(matches!(
            verify(&bad),
            Err(SnapshotError::EntryFraming {
                index: 1,
                entry: 0,
                at: 0,
                ..
            })
        ));
        let bad = with_block(&good, 1, b"\x01a\x01b", 1);
        assert!(matches!(
            verify(&bad),
            Err(SnapshotError::EntryFraming {
                index: 1,
                entry: 1,
                at: 2,
                ..
            })
        ));
        let bad = with_block(&good, 1, b"\x01a", 0);
        assert!(matches!(
            verify(&bad),
            Err(SnapshotError::EntryFraming { index: 1, .. })
        ));
        // A well-formed block with one entry more than the trailer counts.
        let bad = with_block(&good, 1, b"\x01a\x01b\x01c\x01d", 4);
        assert!(matches!(
            verify(&bad),
            Err(SnapshotError::TrailerMismatch {
                what: "entry count",
                ..
            })
        ));

        // A block that reaches into the trailer.
        let mut bad = good.clone();
        bad[at..at + 4].copy_from_slice(&10_000u32.to_le_bytes());
        assert!(matches!(
            verify(&bad),
            Err(SnapshotError::Truncated {
                what: "block data",
                ..
            })
        ));
    }

    #[test]
    fn hostile_raw_len_is_capped() {
        // Proves a block declaring more raw bytes than the reader's limit is refused before
        // anything is allocated or decompressed, and the limit can be lowered.
        let mut rng = XorShift(11);
        let bytes = encode(&meta(), opts(1 << 20), &[rng.bytes(100_000)]);
        assert!(verify(&bytes).is_ok());
        let mut reader =
            SnapshotReader::with_max_block_raw_bytes(&bytes, 50_000).expect("header and trailer");
        assert!(matches!(
            reader.next_block(),
            Err(SnapshotError::BlockTooLarge {
                index: 0,
                raw_len: 100_003,
                max: 50_000,
                ..
            })
        ));
        assert!(matches!(
            reader.next_block(),
            Err(SnapshotError::AfterError { index: 0, .. })
        ));
    }

    #[test]
    fn blocks_decode_on_several_threads() {
        // Proves the reader's types cross threads (the writer runs in the background, a
        // loader decodes raw blocks on a pool), and decoding on two threads with one reused
        // decoder each gives the entries in file order.
        fn send<T: Send>() {}
        fn sync<T: Sync>() {}
        send::<SnapshotWriter>();
        send::<SnapshotFile>();
        sync::<SnapshotFile>();
        send::<SnapshotReader<'_>>();
        send::<RawBlock<'_>>();
        sync::<RawBlock<'_>>();
        send::<Block>();
        send::<BlockDecoder>();
        let mut rng = XorShift(5);
        let entries: Vec<Vec<u8>> = (0..3000)
            .map(|_| {
                let len = rng.below(64) as usize;
                rng.bytes(len)
            })
            .collect();
        let bytes = encode(&meta(), opts(1024), &entries);
        let reader = SnapshotReader::new(&bytes).expect("reader");
        let raw: Vec<RawBlock<'_>> = reader.raw_blocks().map(|b| b.expect("raw")).collect();
        let (even, odd): (Vec<_>, Vec<_>) = raw.iter().partition(|b| b.index() % 2 == 0);
        let decode_all = |blocks: Vec<&RawBlock<'_>>| {
            let mut decoder = BlockDecoder::new().expect("decoder");
            blocks
                .into_iter()
                .map(|b| b.decode_with(&mut decoder).expect("decode"))
                .collect::<Vec<Block>>()
        };
        let mut decoded = std::thread::scope(|scope| {
            let even = scope.spawn(|| decode_all(even));
            let odd = scope.spawn(|| decode_all(odd));
            let mut all = even.join().expect("thread");
            all.extend(odd.join().expect("thread"));
            all
        });
        decoded.sort_by_key(Block::index);
        let got: Vec<Vec<u8>> = decoded
            .iter()
            .flat_map(|b| b.entries().map(|e| e.expect("entry").to_vec()))
            .collect();
        assert!(got == entries, "entries differ after parallel decode");
    }

    #[test]
    fn writer_refuses_bad_options_and_oversized_metadata() {
        // Proves out-of-range options and oversized metadata are refused as InvalidInput.
        let refused = |opts| {
            Encoder::new(Vec::new(), &meta(), opts)
                .err()
                .map(|e| e.kind())
        };
        assert_eq!(refused(opts(0)), Some(io::ErrorKind::InvalidInput));
        assert_eq!(
            refused(opts(MAX_BLOCK_RAW_BYTES + 1)),
            Some(io::ErrorKind::InvalidInput)
        );
        let bad_level = SnapshotOptions {
            zstd_level: 1000,
            ..SnapshotOptions::default()
        };
        assert_eq!(refused(bad_level), Some(io::ErrorKind::InvalidInput));
        let huge_app = SnapshotMeta {
            app: vec![0; MAX_APP_METADATA_BYTES + 1],
            ..meta()
        };
        assert!(Encoder::new(Vec::new(), &huge_app, SnapshotOptions::default()).is_err());
    }

    #[test]
    fn zstd_level_is_used() {
        // Proves the configured level reaches zstd: a higher level compresses text smaller.
        let text: Vec<Vec<u8>> = (0..5000)
            .map(|i| format!("user:{i}:name=someone number {}", i * 7).into_bytes())
            .collect();
        let fast = encode(&meta(), SnapshotOptions::default(), &text);
        let small = encode(
            &meta(),
            SnapshotOptions {
                zstd_level: 19,
                ..SnapshotOptions::default()
            },
            &text,
        );
        assert!(
            small.len() < fast.len(),
            "{} vs {}",
            small.len(),
            fast.len()
        );
        assert_eq!(read_back(&small).1, text);
    }

    #[test]
    fn file_writer_finish_renames_and_leaves_no_temp() {
        // Proves finish leaves exactly the final file, which opens, maps and verifies, and
        // entries() counts what was added.
        let dir = scratch_dir("finish");
        let path = dir.join("snap-00000000000000000042.vsnap");
        let mut writer = SnapshotWriter::create(&path, &meta(), opts(16)).expect("create");
        assert!(temp_path(&path).exists());
        for i in 0..100u32 {
            writer.add(&i.to_le_bytes()).expect("add");
        }
        assert_eq!(writer.entries(), 100);
        let summary = writer.finish().expect("finish");
        assert!(!temp_path(&path).exists());
        let names: Vec<_> = std::fs::read_dir(&dir)
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![path.file_name().expect("name").to_owned()]);
        let file = SnapshotFile::open(&path).expect("open");
        assert_eq!(file.bytes().len() as u64, summary.bytes);
        assert_eq!(verify(file.bytes()).expect("verify"), summary);
        assert_eq!(file.reader().expect("reader").meta(), &meta());
        std::fs::remove_dir_all(&dir).expect("clean up");
    }

    #[test]
    fn file_writer_abort_and_drop_remove_temp() {
        // Proves abort, and dropping an unfinished writer, remove the temp file and create no
        // final file.
        let dir = scratch_dir("abort");
        let path = dir.join("snap");
        let mut writer = SnapshotWriter::create(&path, &meta(), opts(16)).expect("create");
        writer.add(b"entry").expect("add");
        writer.abort();
        assert!(!temp_path(&path).exists() && !path.exists());
        let writer = SnapshotWriter::create(&path, &meta(), opts(16)).expect("create");
        drop(writer);
        assert!(!temp_path(&path).exists() && !path.exists());
        std::fs::remove_dir_all(&dir).expect("clean up");
    }

    #[test]
    fn file_writer_overwrites_stale_temp_and_old_snapshot() {
        // Proves a stale temp file left by a crash is truncated and replaced, and finish
        // replaces an older snapshot at the final path atomically.
        let dir = scratch_dir("stale");
        let path = dir.join("snap");
        std::fs::write(temp_path(&path), vec![0xAB; 100_000]).expect("stale temp");
        std::fs::write(&path, b"an older snapshot").expect("old file");
        let mut writer = SnapshotWriter::create(&path, &meta(), opts(16)).expect("create");
        writer.add(b"fresh").expect("add");
        writer.finish().expect("finish");
        assert!(!temp_path(&path).exists());
        let bytes = std::fs::read(&path).expect("read");
        assert_eq!(read_back(&bytes).1, vec![b"fresh".to_vec()]);
        std::fs::remove_dir_all(&dir).expect("clean up");
    }

    #[test]
    fn open_refuses_incomplete_and_empty_files() {
        // Proves SnapshotFile::open refuses a truncated snapshot and an empty file, and a
        // missing file is an Io error.
        let dir = scratch_dir("open");
        let path = dir.join("snap");
        std::fs::write(&path, &small_snapshot()[..40]).expect("write");
        assert!(matches!(
            SnapshotFile::open(&path),
            Err(SnapshotError::Truncated { .. } | SnapshotError::NoTrailer { .. })
        ));
        std::fs::write(&path, b"").expect("write");
        assert!(matches!(
            SnapshotFile::open(&path),
            Err(SnapshotError::Truncated { .. })
        ));
        assert!(matches!(
            SnapshotFile::open(&dir.join("missing")),
            Err(SnapshotError::Io(_))
        ));
        std::fs::remove_dir_all(&dir).expect("clean up");
    }

    /// Applies 1..=4 random mutations: bit flips, byte sets, cuts, inserts, interesting values.
    fn mutate(rng: &mut XorShift, seed: &[u8]) -> Vec<u8> {
        let mut data = seed.to_vec();
        for _ in 0..rng.below(4) + 1 {
            let len = data.len().max(1) as u64;
            let at = rng.below(len) as usize;
            match rng.below(7) {
                0 => {
                    if let Some(b) = data.get_mut(at) {
                        *b ^= 1 << rng.below(8);
                    }
                }
                1 => {
                    if let Some(b) = data.get_mut(at) {
                        *b = rng.next() as u8;
                    }
                }
                2 => data.truncate(at),
                3 => {
                    let n = rng.below(16) as usize;
                    let extra = rng.bytes(n);
                    let at = at.min(data.len());
                    data.splice(at..at, extra);
                }
                4 => {
                    let end = (at + rng.below(16) as usize).min(data.len());
                    let at = at.min(end);
                    data.drain(at..end);
                }
                5 => {
                    let value: u32 = match rng.below(5) {
                        0 => 0,
                        1 => u32::MAX,
                        2 => 0x8000_0000,
                        3 => rng.below(300) as u32,
                        _ => MAX_BLOCK_RAW_BYTES as u32,
                    };
                    put_u32(&mut data, at, value);
                }
                _ => {
                    // Copy a run of the file over another place (splices blocks together).
                    let from = rng.below(len) as usize;
                    let n = rng.below(32) as usize;
                    let chunk: Vec<u8> = data.iter().skip(from).take(n).copied().collect();
                    for (i, b) in chunk.into_iter().enumerate() {
                        if let Some(slot) = data.get_mut(at + i) {
                            *slot = b;
                        }
                    }
                }
            }
        }
        data
    }

    fn mutation_seeds() -> Vec<Vec<u8>> {
        let mut rng = XorShift(99);
        let some: Vec<Vec<u8>> = (0..40)
            .map(|i| {
                let len = rng.below(if i % 10 == 0 { 200 } else { 12 }) as usize;
                rng.bytes(len)
            })
            .collect();
        vec![
            small_snapshot(),
            encode(&meta(), SnapshotOptions::default(), &[]),
            encode(&meta(), opts(64), &some),
            encode(
                &SnapshotMeta::default(),
                opts(1),
                &[Vec::new(), b"x".to_vec()],
            ),
        ]
    }

    #[test]
    fn fuzz_one_survives_random_mutations() {
        // Proves fuzz_one's invariants hold (and nothing panics) over many randomly mutated
        // snapshots. VOLE_SNAPSHOT_MUTATIONS raises the count for a longer shake-out.
        let count: u64 = std::env::var("VOLE_SNAPSHOT_MUTATIONS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(20_000);
        let seeds = mutation_seeds();
        for seed in &seeds {
            verify(seed).expect("seeds are valid");
        }
        let mut rng = XorShift(0xF022_0000_0000_0001);
        let mut outcomes = std::collections::BTreeMap::<&str, u64>::new();
        for i in 0..count {
            let seed = &seeds[(i % seeds.len() as u64) as usize];
            let mut data = mutate(&mut rng, seed);
            if rng.below(2) == 0 {
                reseal(&mut data);
            }
            let outcome = match verify(&data) {
                Ok(_) => "ok",
                Err(SnapshotError::Truncated { .. } | SnapshotError::NoTrailer { .. }) => "short",
                Err(
                    SnapshotError::HeaderChecksum { .. } | SnapshotError::TrailerChecksum { .. },
                ) => "header or trailer checksum",
                Err(SnapshotError::BlockChecksum { .. }) => "block checksum",
                Err(SnapshotError::Decompress { .. }) => "decompress",
                Err(SnapshotError::EntryFraming { .. }) => "entry framing",
                Err(SnapshotError::TrailerMismatch { .. }) => "trailer mismatch",
                Err(_) => "other",
            };
            *outcomes.entry(outcome).or_default() += 1;
            fuzz_one(&data);
        }
        // The mutations reach every layer of the reader, not just the first checksum; some
        // (a byte spliced onto itself, say) leave a valid file, most do not.
        for layer in [
            "ok",
            "short",
            "block checksum",
            "decompress",
            "entry framing",
        ] {
            assert!(
                outcomes.contains_key(layer),
                "{layer} never reached: {outcomes:?}"
            );
        }
        assert!(outcomes["ok"] < count / 2, "{outcomes:?}");
    }
}
