//! The RESP codec, sans-IO: bytes in, frames out; replies in, bytes out.
//!
//! Nothing here touches a socket. The caller owns the buffers, reads into them however it likes
//! and calls in here; "need more bytes" is an ordinary answer (`Ok(None)`), never an error.
//! The server, the CLI, the tests and the fuzzers all share this one implementation.
//!
//! # Server side: requests
//!
//! [`parse_request`] (stateless) and [`RequestParser`] (the same parser, remembering its progress
//! between calls) read one client request from a `BytesMut`: either a RESP multibulk
//! (`*N\r\n$len\r\narg\r\n...`) or an inline line (`SET a "b c"\r\n`). They follow Redis 7's
//! `processMultibulkBuffer` / `processInlineBuffer` / `sdssplitargs` closely: the same limits,
//! checked in the same order, with the same error text ([`ProtocolError`]). After a protocol
//! error the connection is meant to be closed (Redis replies and closes); the offending request
//! is left in the buffer.
//!
//! - **Zero copy.** A complete multibulk is cut off the buffer with `split_to(n).freeze()` and the
//!   arguments are slices of that one frozen `Bytes`.
//! - **No allocation ahead of the bytes.** A declared count reserves at most 1024 slots; a
//!   declared bulk length reserves nothing. Memory grows only with bytes actually received.
//! - **Linear.** A header line is at most 21 bytes once parsed, so waiting for a large bulk costs
//!   a few bytes of re-parsing per call plus one `len >= needed` check. [`RequestParser`] also
//!   remembers the arguments already parsed and how far it searched for a line end, so a request
//!   with a million small arguments arriving in small pieces is scanned once, not once per piece.
//!   [`parse_request`] re-reads the headers of a partial request on every call; use it where
//!   requests are small or arrive whole.
//! - **One deliberate difference from Redis 7**: Redis skips the two bytes after a bulk's data
//!   without looking at them; here they must be `\r\n` ([`ProtocolError::BulkNotTerminated`]).
//!
//! # Replies
//!
//! [`encode`] writes a protocol-neutral [`Reply`] as RESP2 or RESP3 ([`Proto`]). Status and error
//! lines never carry CR or LF (they become spaces), so a reply can never break the framing.
//!
//! # Client side
//!
//! [`parse_value`] reads one RESP2/RESP3 value ([`Value`]) as a client sees it, including
//! RESP3 nulls, attributes, streamed strings and streamed aggregates. It enforces the absolute
//! limits of [`Limits`] (bulk length, element count) while scanning and caps nesting at
//! [`MAX_DEPTH`] so hostile input cannot exhaust the stack. [`encode_command`] writes a command
//! the way a client sends it.
//!
//! # Robustness
//!
//! Input bytes are never indexed directly (only `get`), arithmetic on declared lengths is
//! checked, and [`fuzzing::fuzz_one`] states the properties the fuzz target
//! (`fuzz/fuzz_targets/resp_request.rs`) checks: no panic, consumed bytes within the input, and
//! feeding the bytes in pieces gives the same requests as feeding them at once. The seed corpus
//! is replayed on stable by `engine/tests/fuzz_corpus_resp.rs`.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::reply::Reply;

/// Redis's `PROTO_INLINE_MAX_SIZE`: the longest inline request, and the most bytes a multibulk
/// count or bulk length line may reach without its CR.
pub const PROTO_INLINE_MAX_SIZE: usize = 64 * 1024;

/// Redis's `PROTO_MBULK_BIG_ARG`: from this size on a bulk is worth a buffer reservation.
pub const PROTO_MBULK_BIG_ARG: usize = 32 * 1024;

/// Deepest nesting [`parse_value`] accepts.
pub const MAX_DEPTH: usize = 128;

/// Before authentication Redis refuses more arguments than this...
const UNAUTH_MAX_MULTIBULK: i64 = 10;
/// ...and bulks longer than this.
const UNAUTH_MAX_BULK: usize = 16 * 1024;
/// Most slots reserved up front for a declared element count.
const PREALLOC_CAP: usize = 1024;
/// Redis's `LONG_STR_SIZE`: `string2ll` rejects strings this long or longer.
const LONG_STR_SIZE: usize = 21;
/// Longest length/count/integer line [`parse_value`] waits for.
const MAX_NUMBER_LINE: usize = 64;

/// Protocol version of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Resp2,
    Resp3,
}

/// Size limits enforced while parsing.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Longest bulk string (`proto-max-bulk-len`); default 512 MiB.
    pub proto_max_bulk_len_bytes: usize,
    /// Most elements in a multibulk or aggregate; default `i32::MAX` (Redis: `INT_MAX`).
    pub max_multibulk_len: usize,
    /// Longest inline request, and longest count line without CR; default 64 KiB.
    pub inline_max_bytes: usize,
    /// `false` applies Redis's limits for unauthenticated clients to requests: more than 10
    /// arguments or a bulk over 16384 bytes is refused. [`parse_value`] ignores it.
    pub authenticated: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            proto_max_bulk_len_bytes: 512 * 1024 * 1024,
            max_multibulk_len: i32::MAX as usize,
            inline_max_bytes: PROTO_INLINE_MAX_SIZE,
            authenticated: true,
        }
    }
}

/// A framing error. `Display` is the error line as Redis words it, without the leading `-` and
/// without the `ERR ` code Redis puts in front on the wire (see [`ProtocolError::to_reply`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// The multibulk count is not a number or is above [`Limits::max_multibulk_len`].
    #[error("Protocol error: invalid multibulk length")]
    InvalidMultibulkLength,
    /// A bulk length is not a number, negative, or above [`Limits::proto_max_bulk_len_bytes`].
    #[error("Protocol error: invalid bulk length")]
    InvalidBulkLength,
    /// A multibulk element does not start with `$`.
    #[error("Protocol error: expected '$', got '{}'", shown_byte(.0))]
    ExpectedDollar(u8),
    /// An inline request longer than [`Limits::inline_max_bytes`] without a newline.
    #[error("Protocol error: too big inline request")]
    TooBigInline,
    /// A multibulk count line longer than [`Limits::inline_max_bytes`] without CR.
    #[error("Protocol error: too big mbulk count string")]
    TooBigMbulkCount,
    /// A bulk length line longer than [`Limits::inline_max_bytes`] without CR.
    #[error("Protocol error: too big bulk count string")]
    TooBigBulkCount,
    /// An inline request with an unterminated quote or a closing quote not followed by a space.
    #[error("Protocol error: unbalanced quotes in request")]
    UnbalancedQuotes,
    /// More than 10 arguments before authentication.
    #[error("Protocol error: unauthenticated multibulk length")]
    UnauthenticatedMultibulk,
    /// A bulk over 16384 bytes before authentication.
    #[error("Protocol error: unauthenticated bulk length")]
    UnauthenticatedBulk,
    /// A bulk's data is not followed by CRLF. (Redis 7 does not check; Vole does.)
    #[error("Protocol error: bulk data not followed by CRLF")]
    BulkNotTerminated,
    /// Client side: a value starts with an unknown type byte.
    #[error("Protocol error: unexpected type byte '{}'", shown_byte(.0))]
    UnexpectedType(u8),
    /// Client side: a line contains a bare CR or LF.
    #[error("Protocol error: line not terminated by CRLF")]
    BadLineEnd,
    /// Client side: a line is longer than allowed.
    #[error("Protocol error: line too long")]
    LineTooLong,
    /// Client side: an integer reply is not a 64-bit integer.
    #[error("Protocol error: invalid integer")]
    InvalidInteger,
    /// Client side: a double reply is not a number.
    #[error("Protocol error: invalid double")]
    InvalidDouble,
    /// Client side: a boolean is neither `t` nor `f`.
    #[error("Protocol error: invalid boolean")]
    InvalidBool,
    /// Client side: a `_` null carries data.
    #[error("Protocol error: invalid null")]
    InvalidNull,
    /// Client side: a big number is not a decimal integer.
    #[error("Protocol error: invalid big number")]
    InvalidBigNumber,
    /// Client side: a verbatim string lacks its `xxx:` format prefix.
    #[error("Protocol error: invalid verbatim string")]
    InvalidVerbatim,
    /// Client side: aggregates nested deeper than [`MAX_DEPTH`].
    #[error("Protocol error: nesting too deep")]
    TooDeep,
}

impl ProtocolError {
    /// The error reply a server sends before closing: `-ERR Protocol error: ...`.
    pub fn to_reply(&self) -> Reply {
        Reply::Error(Bytes::from(format!("ERR {self}")))
    }
}

/// How a byte appears inside an error line (which must stay valid UTF-8).
fn shown_byte(b: &u8) -> char {
    if b.is_ascii() {
        char::from(*b)
    } else {
        '?'
    }
}

// ---------------------------------------------------------------------------------------------
// Scanning helpers shared by both parsers
// ---------------------------------------------------------------------------------------------

/// Index of the first `byte` at or after `from`.
fn find(buf: &[u8], from: usize, byte: u8) -> Option<usize> {
    buf.get(from..)?
        .iter()
        .position(|&b| b == byte)
        .map(|i| from + i)
}

/// Redis's `string2ll`: optional `-`, no `+`, no leading zeros (except `0` itself), no blanks,
/// shorter than 21 bytes, within `i64`.
fn parse_ll(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= LONG_STR_SIZE {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    if !matches!(digits.first(), Some(b'1'..=b'9')) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    if negative {
        if v == 1u64 << 63 {
            Some(i64::MIN)
        } else {
            i64::try_from(v).ok().map(|v| -v)
        }
    } else {
        i64::try_from(v).ok()
    }
}

/// Where the CR ending a header line is, following Redis: the line ends at the first `\r`, and
/// one more byte (taken to be `\n`, unchecked as in Redis) must be present.
enum Eol {
    /// The CR's index; the line's next byte follows at `cr + 2`.
    Found(usize),
    /// The CR is the last byte of the buffer.
    Partial,
    /// No CR yet.
    Missing,
}

/// Looks for the CR ending the line that starts at `start`. `scanned` is how far an earlier call
/// already searched without success (an absolute offset), so a line growing in small pieces is
/// searched once in total.
fn find_cr(buf: &[u8], start: usize, scanned: &mut usize) -> Eol {
    match find(buf, start.max(*scanned), b'\r') {
        None => {
            *scanned = buf.len().max(start);
            Eol::Missing
        }
        Some(cr) if cr + 1 >= buf.len() => {
            *scanned = cr;
            Eol::Partial
        }
        Some(cr) => {
            *scanned = 0;
            Eol::Found(cr)
        }
    }
}

/// The bulk whose `$len` header starts at `pos`: (data start, data length). `None` when the
/// header is incomplete or not a valid bulk header; no limits applied.
fn bulk_at(buf: &[u8], pos: usize) -> Option<(usize, usize)> {
    let cr = find(buf, pos, b'\r')?;
    if cr + 1 >= buf.len() || buf.get(pos) != Some(&b'$') {
        return None;
    }
    let len = usize::try_from(parse_ll(buf.get(pos + 1..cr)?)?).ok()?;
    Some((cr + 2, len))
}

/// Byte count the buffer must hold to contain `len` bytes of data starting at `start`, plus CRLF.
fn bulk_end(start: usize, len: usize) -> Option<usize> {
    start.checked_add(len)?.checked_add(2)
}

// ---------------------------------------------------------------------------------------------
// Server side: requests
// ---------------------------------------------------------------------------------------------

/// Parses one client request from the front of `buf` (see the module docs).
///
/// On `Ok(Some(args))` the request's bytes have been removed from `buf`; `args` is never empty.
/// Requests without arguments (an empty inline line, `*0`, `*-1`) are consumed and skipped.
/// `Ok(None)` means more bytes are needed; apart from skipped empty requests nothing was
/// consumed. On error the offending request stays in `buf` (empty requests before it may have
/// been skipped) and the connection should be closed after replying with
/// [`ProtocolError::to_reply`].
pub fn parse_request(
    buf: &mut BytesMut,
    limits: &Limits,
) -> Result<Option<Vec<Bytes>>, ProtocolError> {
    RequestParser::new().parse(buf, limits)
}

/// A hint for buffer reservation: if `buf` starts with a multibulk whose next incomplete bulk is
/// at least [`PROTO_MBULK_BIG_ARG`] bytes long, the total number of bytes `buf` must hold to
/// contain that bulk and its CRLF. Otherwise `None`.
pub fn pending_bulk_hint(buf: &[u8]) -> Option<usize> {
    if buf.first() != Some(&b'*') {
        return None;
    }
    let cr = find(buf, 0, b'\r')?;
    if cr + 1 >= buf.len() {
        return None;
    }
    let count = parse_ll(buf.get(1..cr)?)?;
    let mut pos = cr + 2;
    // Every loop iteration moves `pos` forward by at least 4 bytes or returns, so the declared
    // count does not bound the work; the buffer length does.
    for _ in 0..count.max(0) {
        let (start, len) = bulk_at(buf, pos)?;
        let end = bulk_end(start, len)?;
        if end > buf.len() {
            return (len >= PROTO_MBULK_BIG_ARG).then_some(end);
        }
        pos = end;
    }
    None
}

/// The request parser with memory: feed it the same buffer, only ever appended to, until it
/// returns a request or an error, and it never looks at a byte twice (beyond a short header).
///
/// [`parse_request`] is this parser used once and thrown away.
#[derive(Debug, Default)]
pub struct RequestParser {
    /// Progress through a multibulk whose count line has been read.
    multibulk: Option<Multibulk>,
    /// How far the current line was searched for its terminator (absolute offset into the
    /// buffer; 0 = nothing searched).
    scanned: usize,
}

#[derive(Debug)]
struct Multibulk {
    /// Arguments still to read.
    remaining: u64,
    /// Offset of the next bulk header.
    pos: usize,
    /// The arguments read so far, as ranges of the buffer.
    args: Vec<(usize, usize)>,
}

enum Start {
    Incomplete,
    /// A request without arguments, this many bytes long.
    Empty(usize),
    /// The count was read; `self.multibulk` is set.
    Begun,
}

impl RequestParser {
    /// A parser at the start of a request.
    pub fn new() -> Self {
        RequestParser::default()
    }

    /// Forgets any partial progress (call it when the buffer is replaced).
    pub fn reset(&mut self) {
        self.multibulk = None;
        self.scanned = 0;
    }

    /// Whether part of a request has been read.
    pub fn in_request(&self) -> bool {
        self.multibulk.is_some() || self.scanned > 0
    }

    /// Same contract as [`parse_request`]; keeps its progress across `Ok(None)`.
    pub fn parse(
        &mut self,
        buf: &mut BytesMut,
        limits: &Limits,
    ) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        let result = self.parse_inner(buf, limits);
        if result.is_err() {
            self.reset();
        }
        result
    }

    /// Like [`pending_bulk_hint`], starting from the parser's progress instead of rescanning.
    pub fn pending_bulk_hint(&self, buf: &[u8]) -> Option<usize> {
        match &self.multibulk {
            None => pending_bulk_hint(buf),
            Some(mb) => {
                let (start, len) = bulk_at(buf, mb.pos)?;
                let end = bulk_end(start, len)?;
                (end > buf.len() && len >= PROTO_MBULK_BIG_ARG).then_some(end)
            }
        }
    }

    fn parse_inner(
        &mut self,
        buf: &mut BytesMut,
        limits: &Limits,
    ) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        loop {
            // A caller that shrank or swapped the buffer gets a fresh start rather than a panic.
            if self.multibulk.as_ref().is_some_and(|mb| mb.pos > buf.len())
                || self.scanned > buf.len()
            {
                self.reset();
            }
            if self.multibulk.is_none() {
                let Some(&first) = buf.first() else {
                    return Ok(None);
                };
                if first == b'*' {
                    match self.start_multibulk(buf, limits)? {
                        Start::Incomplete => return Ok(None),
                        Start::Empty(n) => {
                            buf.advance(n);
                            self.scanned = 0;
                            continue;
                        }
                        Start::Begun => {}
                    }
                } else {
                    match self.inline(buf, limits)? {
                        None => return Ok(None),
                        Some(args) if args.is_empty() => continue,
                        Some(args) => return Ok(Some(args)),
                    }
                }
            }
            return self.resume_multibulk(buf, limits);
        }
    }

    /// Reads the `*N` line (Redis: the first half of `processMultibulkBuffer`).
    fn start_multibulk(&mut self, buf: &[u8], limits: &Limits) -> Result<Start, ProtocolError> {
        let cr = match find_cr(buf, 0, &mut self.scanned) {
            Eol::Found(cr) => cr,
            Eol::Partial => return Ok(Start::Incomplete),
            Eol::Missing if buf.len() > limits.inline_max_bytes => {
                return Err(ProtocolError::TooBigMbulkCount)
            }
            Eol::Missing => return Ok(Start::Incomplete),
        };
        let count = buf
            .get(1..cr)
            .and_then(parse_ll)
            .ok_or(ProtocolError::InvalidMultibulkLength)?;
        let over_max = u64::try_from(count).is_ok_and(|n| n > limits.max_multibulk_len as u64);
        if over_max {
            return Err(ProtocolError::InvalidMultibulkLength);
        }
        if count > UNAUTH_MAX_MULTIBULK && !limits.authenticated {
            return Err(ProtocolError::UnauthenticatedMultibulk);
        }
        let next = cr + 2;
        let Ok(remaining) = u64::try_from(count) else {
            return Ok(Start::Empty(next));
        };
        if remaining == 0 {
            return Ok(Start::Empty(next));
        }
        let reserve = usize::try_from(remaining).map_or(PREALLOC_CAP, |n| n.min(PREALLOC_CAP));
        self.multibulk = Some(Multibulk {
            remaining,
            pos: next,
            args: Vec::with_capacity(reserve),
        });
        Ok(Start::Begun)
    }

    /// Reads bulks until the request is complete or the bytes run out (Redis: the loop in
    /// `processMultibulkBuffer`).
    fn resume_multibulk(
        &mut self,
        buf: &mut BytesMut,
        limits: &Limits,
    ) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        let Some(mb) = self.multibulk.as_mut() else {
            return Ok(None);
        };
        while mb.remaining > 0 {
            let cr = match find_cr(buf, mb.pos, &mut self.scanned) {
                Eol::Found(cr) => cr,
                Eol::Partial => return Ok(None),
                Eol::Missing if buf.len().saturating_sub(mb.pos) > limits.inline_max_bytes => {
                    return Err(ProtocolError::TooBigBulkCount)
                }
                Eol::Missing => return Ok(None),
            };
            match buf.get(mb.pos) {
                Some(b'$') => {}
                Some(&other) => return Err(ProtocolError::ExpectedDollar(other)),
                None => return Ok(None),
            }
            let len = buf
                .get(mb.pos + 1..cr)
                .and_then(parse_ll)
                .and_then(|n| usize::try_from(n).ok())
                .filter(|&n| n <= limits.proto_max_bulk_len_bytes)
                .ok_or(ProtocolError::InvalidBulkLength)?;
            if len > UNAUTH_MAX_BULK && !limits.authenticated {
                return Err(ProtocolError::UnauthenticatedBulk);
            }
            let start = cr + 2;
            let end = start
                .checked_add(len)
                .ok_or(ProtocolError::InvalidBulkLength)?;
            let after = bulk_end(start, len).ok_or(ProtocolError::InvalidBulkLength)?;
            if buf.len() < after {
                // The header is re-read next time: at most 21 bytes.
                return Ok(None);
            }
            if buf.get(end..after) != Some(b"\r\n".as_slice()) {
                return Err(ProtocolError::BulkNotTerminated);
            }
            mb.args.push((start, end));
            mb.pos = after;
            mb.remaining -= 1;
        }
        let Some(mb) = self.multibulk.take() else {
            return Ok(None);
        };
        self.scanned = 0;
        if mb.pos > buf.len() {
            return Ok(None);
        }
        let frame = buf.split_to(mb.pos).freeze();
        let args = mb
            .args
            .into_iter()
            .filter(|&(a, b)| a <= b && b <= frame.len())
            .map(|(a, b)| frame.slice(a..b))
            .collect();
        Ok(Some(args))
    }

    /// Reads an inline request (Redis: `processInlineBuffer`). Consumes the line on success.
    fn inline(
        &mut self,
        buf: &mut BytesMut,
        limits: &Limits,
    ) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        let Some(nl) = find(buf, self.scanned, b'\n') else {
            self.scanned = buf.len();
            if buf.len() > limits.inline_max_bytes {
                return Err(ProtocolError::TooBigInline);
            }
            return Ok(None);
        };
        let line_end = if nl > 0 && buf.get(nl - 1) == Some(&b'\r') {
            nl - 1
        } else {
            nl
        };
        let args = split_inline(buf.get(..line_end).unwrap_or_default())
            .ok_or(ProtocolError::UnbalancedQuotes)?;
        buf.advance(nl + 1);
        self.scanned = 0;
        Ok(Some(args))
    }
}

/// C's `isspace` in the "C" locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Redis's `sdscatrepr`: a double-quoted string with `\n \r \t \a \b \\ \"` escaped and any
/// other byte outside printable ASCII as `\xHH` (MONITOR lines, redis-cli's quoted output).
pub fn repr(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &b in s {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(b),
            _ => out.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
        }
    }
    out.push(b'"');
}

/// Splits a line typed at a prompt into arguments exactly as an inline request is split
/// (Redis's `sdssplitargs`, which redis-cli also uses for its prompt); `None` for unbalanced
/// quotes. The CLI uses this so the shell and the server never disagree on quoting.
pub fn split_args(line: &[u8]) -> Option<Vec<Bytes>> {
    split_inline(line)
}

/// Splits an inline request line into arguments the way Redis's `sdssplitargs` does; `None`
/// for unbalanced quotes.
///
/// - Arguments are separated by blanks; outside quotes an argument ends at space, tab, CR, LF.
/// - `"..."` understands `\n \r \t \b \a \xHH` and `\<any>` for that character.
/// - `'...'` understands only `\'`.
/// - A closing quote must be followed by a blank or the end of the line; quotes may open in the
///   middle of an argument (`a"b c"` is `ab c`).
/// - The line is a C string to Redis: a NUL byte ends it.
fn split_inline(line: &[u8]) -> Option<Vec<Bytes>> {
    let line = match line.iter().position(|&b| b == 0) {
        Some(n) => line.get(..n).unwrap_or_default(),
        None => line,
    };
    // The byte at `i`, 0 past the end, like reading a C string.
    let at = |i: usize| line.get(i).copied().unwrap_or(0);
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while is_c_space(at(i)) {
            i += 1;
        }
        if at(i) == 0 {
            return Some(args);
        }
        let mut arg = Vec::new();
        let mut in_double = false;
        let mut in_single = false;
        loop {
            let c = at(i);
            if in_double {
                let hex = if c == b'\\' && at(i + 1) == b'x' {
                    hex_value(at(i + 2)).zip(hex_value(at(i + 3)))
                } else {
                    None
                };
                if let Some((hi, lo)) = hex {
                    arg.push(hi * 16 + lo);
                    i += 3;
                } else if c == b'\\' && at(i + 1) != 0 {
                    i += 1;
                    arg.push(match at(i) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    if at(i + 1) != 0 && !is_c_space(at(i + 1)) {
                        return None;
                    }
                    i += 1;
                    break;
                } else if c == 0 {
                    return None;
                } else {
                    arg.push(c);
                }
            } else if in_single {
                if c == b'\\' && at(i + 1) == b'\'' {
                    i += 1;
                    arg.push(b'\'');
                } else if c == b'\'' {
                    if at(i + 1) != 0 && !is_c_space(at(i + 1)) {
                        return None;
                    }
                    i += 1;
                    break;
                } else if c == 0 {
                    return None;
                } else {
                    arg.push(c);
                }
            } else {
                match c {
                    0 => break,
                    b' ' | b'\n' | b'\r' | b'\t' => {
                        i += 1;
                        break;
                    }
                    b'"' => in_double = true,
                    b'\'' => in_single = true,
                    other => arg.push(other),
                }
            }
            i += 1;
        }
        args.push(Bytes::from(arg));
    }
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

/// Formats a double the way replies show it.
/// Doubles are formatted once, by the number module, as Redis 7.2 prints them.
fn fmt_double(d: f64) -> String {
    crate::num::fmt_double(d)
}

/// The text of a double in a reply; infinities and NaN as Redis spells them.
fn double_text(d: f64) -> String {
    if d.is_nan() {
        "nan".into()
    } else if d == f64::INFINITY {
        "inf".into()
    } else if d == f64::NEG_INFINITY {
        "-inf".into()
    } else {
        fmt_double(d)
    }
}

/// Writes the decimal digits of `v`.
fn put_u64(out: &mut BytesMut, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    for slot in digits.iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
        start -= 1;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(digits.get(start..).unwrap_or_default());
}

fn put_i64(out: &mut BytesMut, v: i64) {
    if v < 0 {
        out.put_u8(b'-');
    }
    put_u64(out, v.unsigned_abs());
}

/// `<tag><n>\r\n`.
fn put_header(out: &mut BytesMut, tag: u8, n: usize) {
    out.put_u8(tag);
    put_u64(out, n as u64);
    out.extend_from_slice(b"\r\n");
}

/// `<tag><line>\r\n` with CR and LF in `line` replaced by spaces.
fn put_line(out: &mut BytesMut, tag: u8, line: &[u8]) {
    out.reserve(line.len() + 3);
    out.put_u8(tag);
    if line.iter().any(|&b| b == b'\r' || b == b'\n') {
        out.extend(
            line.iter()
                .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
        );
    } else {
        out.extend_from_slice(line);
    }
    out.extend_from_slice(b"\r\n");
}

fn put_bulk(out: &mut BytesMut, data: &[u8]) {
    out.reserve(data.len() + 16);
    put_header(out, b'$', data.len());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// Encodes a reply for a connection speaking `proto`.
pub fn encode(reply: &Reply, proto: Proto, out: &mut BytesMut) {
    let resp3 = proto == Proto::Resp3;
    match reply {
        Reply::Ok => out.extend_from_slice(b"+OK\r\n"),
        Reply::Status(s) => put_line(out, b'+', s),
        Reply::Error(e) => put_line(out, b'-', e),
        // The server always resolves a Block (waiting, then re-running the command); one
        // reaching the encoder is answered as its timeout reply rather than sent raw.
        Reply::Block(b) => encode(&b.on_timeout, proto, out),
        Reply::Frames(frames) => frames.iter().for_each(|f| encode(f, proto, out)),
        Reply::Int(i) => {
            out.put_u8(b':');
            put_i64(out, *i);
            out.extend_from_slice(b"\r\n");
        }
        Reply::Bulk(b) => put_bulk(out, b),
        Reply::Nil if resp3 => out.extend_from_slice(b"_\r\n"),
        Reply::Nil => out.extend_from_slice(b"$-1\r\n"),
        Reply::NilArray if resp3 => out.extend_from_slice(b"_\r\n"),
        Reply::NilArray => out.extend_from_slice(b"*-1\r\n"),
        Reply::Array(items) => {
            put_header(out, b'*', items.len());
            items.iter().for_each(|r| encode(r, proto, out));
        }
        Reply::Set(items) => {
            put_header(out, if resp3 { b'~' } else { b'*' }, items.len());
            items.iter().for_each(|r| encode(r, proto, out));
        }
        Reply::Push(items) => {
            put_header(out, if resp3 { b'>' } else { b'*' }, items.len());
            items.iter().for_each(|r| encode(r, proto, out));
        }
        Reply::Map(pairs) => {
            if resp3 {
                put_header(out, b'%', pairs.len());
            } else {
                put_header(out, b'*', pairs.len().saturating_mul(2));
            }
            for (k, v) in pairs {
                encode(k, proto, out);
                encode(v, proto, out);
            }
        }
        Reply::KeyedArrays(pairs) => {
            put_header(out, if resp3 { b'%' } else { b'*' }, pairs.len());
            for (k, v) in pairs {
                if !resp3 {
                    put_header(out, b'*', 2);
                }
                encode(k, proto, out);
                encode(v, proto, out);
            }
        }
        Reply::Pairs(pairs) => {
            if resp3 {
                put_header(out, b'*', pairs.len());
            } else {
                put_header(out, b'*', pairs.len().saturating_mul(2));
            }
            for (a, b) in pairs {
                if resp3 {
                    put_header(out, b'*', 2);
                }
                encode(a, proto, out);
                encode(b, proto, out);
            }
        }
        Reply::DoubleText(t) if resp3 => put_line(out, b',', t),
        Reply::DoubleText(t) => put_bulk(out, t),
        Reply::Double(d) if resp3 => put_line(out, b',', double_text(*d).as_bytes()),
        Reply::Double(d) => put_bulk(out, double_text(*d).as_bytes()),
        Reply::Bool(b) if resp3 => out.extend_from_slice(if *b { b"#t\r\n" } else { b"#f\r\n" }),
        Reply::Bool(b) => out.extend_from_slice(if *b { b":1\r\n" } else { b":0\r\n" }),
        Reply::Verbatim(format, text) if resp3 => {
            // The format is exactly three bytes on the wire; anything else would break framing.
            let format = if format.len() == 3 { format } else { "txt" };
            out.reserve(text.len() + 20);
            put_header(out, b'=', text.len() + 4);
            out.extend_from_slice(format.as_bytes());
            out.put_u8(b':');
            out.extend_from_slice(text);
            out.extend_from_slice(b"\r\n");
        }
        Reply::Verbatim(_, text) => put_bulk(out, text),
    }
}

/// Encodes a command as a client sends it: an array of bulk strings.
pub fn encode_command<A: AsRef<[u8]>>(args: &[A], out: &mut BytesMut) {
    let payload: usize = args.iter().map(|a| a.as_ref().len() + 16).sum();
    out.reserve(payload + 16);
    put_header(out, b'*', args.len());
    for a in args {
        put_bulk(out, a.as_ref());
    }
}

// ---------------------------------------------------------------------------------------------
// Client side: values
// ---------------------------------------------------------------------------------------------

/// A RESP2/RESP3 value as a client receives it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `+...`
    Simple(Bytes),
    /// `-...` or a RESP3 blob error `!len`.
    Error(Bytes),
    /// `:...`
    Int(i64),
    /// `$len` (also a RESP3 streamed string, joined).
    Bulk(Bytes),
    /// `$-1`, `*-1` or `_`.
    Null,
    /// `*N`
    Array(Vec<Value>),
    /// `%N`
    Map(Vec<(Value, Value)>),
    /// `~N`
    Set(Vec<Value>),
    /// `,...`
    Double(f64),
    /// `#t` / `#f`
    Bool(bool),
    /// `(...`
    BigNumber(Bytes),
    /// `=len` with its three-byte format and the text.
    Verbatim(Bytes, Bytes),
    /// `>N`
    Push(Vec<Value>),
    /// `|N` attributes, and the value they annotate.
    Attribute(Vec<(Value, Value)>, Box<Value>),
}

/// Parses one value from the front of `buf`: `Ok(Some((value, consumed)))`, or `Ok(None)` when
/// more bytes are needed. Enforces [`Limits::proto_max_bulk_len_bytes`] and
/// [`Limits::max_multibulk_len`] while scanning, and nesting up to [`MAX_DEPTH`].
pub fn parse_value(buf: &[u8], limits: &Limits) -> Result<Option<(Value, usize)>, ProtocolError> {
    Ok(parse_value_texts(buf, limits)?.map(|(v, n, _)| (v, n)))
}

/// [`parse_value`], also returning the text of every RESP3 double (`,...`) in the order the
/// doubles appear in the bytes (a pre-order walk: map keys before values, attributes before
/// the value they annotate). A client that prints doubles as the server wrote them (redis-cli
/// prints `(double) 1.1000000000000001`, not the shortest form) needs the text, which an
/// `f64` cannot give back.
#[allow(clippy::type_complexity)]
pub fn parse_value_texts(
    buf: &[u8],
    limits: &Limits,
) -> Result<Option<(Value, usize, Vec<Bytes>)>, ProtocolError> {
    let mut reader = Reader {
        buf,
        pos: 0,
        limits,
        doubles: Vec::new(),
    };
    match reader.value(0) {
        Ok(v) => Ok(Some((v, reader.pos, reader.doubles))),
        Err(Halt::More) => Ok(None),
        Err(Halt::Bad(e)) => Err(e),
    }
}

/// Why [`Reader`] stopped.
enum Halt {
    More,
    Bad(ProtocolError),
}

impl From<ProtocolError> for Halt {
    fn from(e: ProtocolError) -> Self {
        Halt::Bad(e)
    }
}

/// Which aggregate a count belongs to.
#[derive(Clone, Copy, PartialEq)]
enum Agg {
    Array,
    Set,
    Push,
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    limits: &'a Limits,
    /// Texts of the doubles read so far (see [`parse_value_texts`]).
    doubles: Vec<Bytes>,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, Halt> {
        let b = *self.buf.get(self.pos).ok_or(Halt::More)?;
        self.pos += 1;
        Ok(b)
    }

    /// A CRLF-terminated line of at most `max` bytes, without its CRLF. A bare CR or LF inside
    /// is an error.
    fn line(&mut self, max: usize, too_long: ProtocolError) -> Result<&'a [u8], Halt> {
        let start = self.pos;
        let rest = self.buf.get(start..).ok_or(Halt::More)?;
        let window = rest.get(..max.saturating_add(1)).unwrap_or(rest);
        let Some(i) = window.iter().position(|&b| b == b'\r' || b == b'\n') else {
            return Err(if rest.len() > max {
                Halt::Bad(too_long)
            } else {
                Halt::More
            });
        };
        if window.get(i) != Some(&b'\r') {
            return Err(Halt::Bad(ProtocolError::BadLineEnd));
        }
        match rest.get(i + 1) {
            None => Err(Halt::More),
            Some(b'\n') => {
                self.pos = start + i + 2;
                Ok(rest.get(..i).unwrap_or_default())
            }
            Some(_) => Err(Halt::Bad(ProtocolError::BadLineEnd)),
        }
    }

    fn text_line(&mut self) -> Result<Bytes, Halt> {
        let max = self.limits.proto_max_bulk_len_bytes;
        Ok(Bytes::copy_from_slice(
            self.line(max, ProtocolError::LineTooLong)?,
        ))
    }

    /// A length or count line: `Some(n)`, or `None` for `?` (streamed).
    fn count_line(&mut self, bad: ProtocolError) -> Result<Option<i64>, Halt> {
        let line = self.line(MAX_NUMBER_LINE, bad.clone())?;
        if line == b"?" {
            return Ok(None);
        }
        parse_ll(line).map(Some).ok_or(Halt::Bad(bad))
    }

    /// Checks a declared element count against the limit.
    fn element_count(&self, n: i64) -> Result<usize, Halt> {
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= self.limits.max_multibulk_len)
            .ok_or(Halt::Bad(ProtocolError::InvalidMultibulkLength))
    }

    /// `len` bytes of data followed by CRLF.
    fn data(&mut self, len: usize) -> Result<&'a [u8], Halt> {
        let start = self.pos;
        let end = start
            .checked_add(len)
            .ok_or(Halt::Bad(ProtocolError::InvalidBulkLength))?;
        let after = bulk_end(start, len).ok_or(Halt::Bad(ProtocolError::InvalidBulkLength))?;
        if self.buf.len() < after {
            return Err(Halt::More);
        }
        if self.buf.get(end..after) != Some(b"\r\n".as_slice()) {
            return Err(Halt::Bad(ProtocolError::BulkNotTerminated));
        }
        self.pos = after;
        Ok(self.buf.get(start..end).unwrap_or_default())
    }

    fn bulk_len(&self, n: i64) -> Result<usize, Halt> {
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= self.limits.proto_max_bulk_len_bytes)
            .ok_or(Halt::Bad(ProtocolError::InvalidBulkLength))
    }

    fn value(&mut self, depth: usize) -> Result<Value, Halt> {
        if depth > MAX_DEPTH {
            return Err(Halt::Bad(ProtocolError::TooDeep));
        }
        match self.byte()? {
            b'+' => Ok(Value::Simple(self.text_line()?)),
            b'-' => Ok(Value::Error(self.text_line()?)),
            b':' => {
                let line = self.line(MAX_NUMBER_LINE, ProtocolError::InvalidInteger)?;
                let n = std::str::from_utf8(line)
                    .ok()
                    .and_then(|s| s.parse::<i64>().ok())
                    .ok_or(Halt::Bad(ProtocolError::InvalidInteger))?;
                Ok(Value::Int(n))
            }
            b'$' => match self.count_line(ProtocolError::InvalidBulkLength)? {
                None => self.streamed_string(),
                Some(-1) => Ok(Value::Null),
                Some(n) => {
                    let len = self.bulk_len(n)?;
                    Ok(Value::Bulk(Bytes::copy_from_slice(self.data(len)?)))
                }
            },
            b'!' => {
                let n = self
                    .count_line(ProtocolError::InvalidBulkLength)?
                    .ok_or(Halt::Bad(ProtocolError::InvalidBulkLength))?;
                let len = self.bulk_len(n)?;
                Ok(Value::Error(Bytes::copy_from_slice(self.data(len)?)))
            }
            b'=' => {
                let n = self
                    .count_line(ProtocolError::InvalidBulkLength)?
                    .ok_or(Halt::Bad(ProtocolError::InvalidBulkLength))?;
                let len = self.bulk_len(n)?;
                let data = self.data(len)?;
                match (data.get(..3), data.get(3), data.get(4..)) {
                    (Some(format), Some(b':'), Some(text)) => Ok(Value::Verbatim(
                        Bytes::copy_from_slice(format),
                        Bytes::copy_from_slice(text),
                    )),
                    _ => Err(Halt::Bad(ProtocolError::InvalidVerbatim)),
                }
            }
            b'*' => self.aggregate(depth, Agg::Array),
            b'~' => self.aggregate(depth, Agg::Set),
            b'>' => self.aggregate(depth, Agg::Push),
            b'%' => Ok(self.pairs(depth)?.map_or(Value::Null, Value::Map)),
            b'|' => {
                let attrs = self.pairs(depth)?.unwrap_or_default();
                let inner = self.value(depth + 1)?;
                Ok(Value::Attribute(attrs, Box::new(inner)))
            }
            b'_' => {
                if !self.line(0, ProtocolError::InvalidNull)?.is_empty() {
                    return Err(Halt::Bad(ProtocolError::InvalidNull));
                }
                Ok(Value::Null)
            }
            b'#' => match self.line(1, ProtocolError::InvalidBool)? {
                b"t" => Ok(Value::Bool(true)),
                b"f" => Ok(Value::Bool(false)),
                _ => Err(Halt::Bad(ProtocolError::InvalidBool)),
            },
            b',' => {
                let line = self.line(MAX_NUMBER_LINE * 8, ProtocolError::InvalidDouble)?;
                let d = std::str::from_utf8(line)
                    .ok()
                    .filter(|s| !s.is_empty())
                    .and_then(|s| s.parse::<f64>().ok())
                    .ok_or(Halt::Bad(ProtocolError::InvalidDouble))?;
                self.doubles.push(Bytes::copy_from_slice(line));
                Ok(Value::Double(d))
            }
            b'(' => {
                let max = self.limits.proto_max_bulk_len_bytes;
                let line = self.line(max, ProtocolError::InvalidBigNumber)?;
                let digits = line.strip_prefix(b"-").unwrap_or(line);
                if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                    return Err(Halt::Bad(ProtocolError::InvalidBigNumber));
                }
                Ok(Value::BigNumber(Bytes::copy_from_slice(line)))
            }
            other => Err(Halt::Bad(ProtocolError::UnexpectedType(other))),
        }
    }

    /// `$?` followed by `;len` chunks up to `;0`.
    fn streamed_string(&mut self) -> Result<Value, Halt> {
        let mut joined = BytesMut::new();
        loop {
            match self.byte()? {
                b';' => {}
                other => return Err(Halt::Bad(ProtocolError::UnexpectedType(other))),
            }
            let n = self
                .count_line(ProtocolError::InvalidBulkLength)?
                .ok_or(Halt::Bad(ProtocolError::InvalidBulkLength))?;
            let len = self.bulk_len(n)?;
            if len == 0 {
                return Ok(Value::Bulk(joined.freeze()));
            }
            if joined.len().saturating_add(len) > self.limits.proto_max_bulk_len_bytes {
                return Err(Halt::Bad(ProtocolError::InvalidBulkLength));
            }
            joined.extend_from_slice(self.data(len)?);
        }
    }

    /// Whether the streamed-aggregate end marker `.\r\n` is next; consumes it if so.
    fn end_marker(&mut self) -> Result<bool, Halt> {
        if self.buf.get(self.pos) != Some(&b'.') {
            return Ok(false);
        }
        self.pos += 1;
        if !self
            .line(0, ProtocolError::UnexpectedType(b'.'))?
            .is_empty()
        {
            return Err(Halt::Bad(ProtocolError::UnexpectedType(b'.')));
        }
        Ok(true)
    }

    /// `*N` / `~N` / `>N` after the type byte; `*-1` is the null array.
    fn aggregate(&mut self, depth: usize, kind: Agg) -> Result<Value, Halt> {
        let items = match self.count_line(ProtocolError::InvalidMultibulkLength)? {
            Some(-1) if kind == Agg::Array => return Ok(Value::Null),
            Some(n) => {
                let n = self.element_count(n)?;
                let mut items = Vec::with_capacity(n.min(PREALLOC_CAP));
                for _ in 0..n {
                    items.push(self.value(depth + 1)?);
                }
                items
            }
            None => {
                let mut items = Vec::new();
                while !self.end_marker()? {
                    if items.len() >= self.limits.max_multibulk_len {
                        return Err(Halt::Bad(ProtocolError::InvalidMultibulkLength));
                    }
                    items.push(self.value(depth + 1)?);
                }
                items
            }
        };
        Ok(match kind {
            Agg::Array => Value::Array(items),
            Agg::Set => Value::Set(items),
            Agg::Push => Value::Push(items),
        })
    }

    /// The pairs of a map or attribute after the type byte; `None` for a `-1` count.
    fn pairs(&mut self, depth: usize) -> Result<Option<Vec<(Value, Value)>>, Halt> {
        match self.count_line(ProtocolError::InvalidMultibulkLength)? {
            Some(-1) => Ok(None),
            Some(n) => {
                let n = self.element_count(n)?;
                let mut pairs = Vec::with_capacity(n.min(PREALLOC_CAP));
                for _ in 0..n {
                    let k = self.value(depth + 1)?;
                    let v = self.value(depth + 1)?;
                    pairs.push((k, v));
                }
                Ok(Some(pairs))
            }
            None => {
                let mut pairs = Vec::new();
                while !self.end_marker()? {
                    if pairs.len() >= self.limits.max_multibulk_len {
                        return Err(Halt::Bad(ProtocolError::InvalidMultibulkLength));
                    }
                    let k = self.value(depth + 1)?;
                    let v = self.value(depth + 1)?;
                    pairs.push((k, v));
                }
                Ok(Some(pairs))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Fuzzing
// ---------------------------------------------------------------------------------------------

/// The body of the `resp_request` fuzz target, shared with the corpus replay test.
pub mod fuzzing {
    use bytes::{Bytes, BytesMut};

    use super::{
        encode, encode_command, parse_request, parse_value, pending_bulk_hint, Limits, Proto,
        ProtocolError, RequestParser, Value,
    };
    use crate::reply::Reply;

    /// What feeding a byte stream to the request parser produced.
    #[derive(Debug, PartialEq)]
    struct Outcome {
        commands: Vec<Vec<Bytes>>,
        error: Option<ProtocolError>,
        left: usize,
    }

    /// Feeds `data` in pieces of `piece` bytes, parsing after each piece, and checks the
    /// per-call invariants.
    fn feed(data: &[u8], limits: &Limits, piece: usize, stateful: bool) -> Outcome {
        let mut buf = BytesMut::new();
        let mut parser = RequestParser::new();
        let mut commands = Vec::new();
        for chunk in data.chunks(piece.max(1)) {
            buf.extend_from_slice(chunk);
            loop {
                let before = buf.len();
                let result = if stateful {
                    parser.parse(&mut buf, limits)
                } else {
                    parse_request(&mut buf, limits)
                };
                assert!(buf.len() <= before, "the parser grew the buffer");
                match result {
                    Ok(Some(args)) => {
                        assert!(!args.is_empty(), "an empty request was returned");
                        let consumed = before - buf.len();
                        let arg_bytes: usize = args.iter().map(Bytes::len).sum();
                        assert!(arg_bytes <= consumed, "arguments exceed the consumed bytes");
                        commands.push(args);
                    }
                    Ok(None) => break,
                    Err(error) => {
                        return Outcome {
                            commands,
                            error: Some(error),
                            left: buf.len(),
                        };
                    }
                }
            }
            if let Some(need) = pending_bulk_hint(&buf) {
                assert!(need > buf.len(), "hint for a bulk that is already there");
            }
            if let Some(need) = parser.pending_bulk_hint(&buf) {
                assert!(need > buf.len(), "hint for a bulk that is already there");
            }
        }
        Outcome {
            commands,
            error: None,
            left: buf.len(),
        }
    }

    /// Errors that depend on how much of the stream has arrived (as in Redis).
    fn depends_on_arrival(e: &Option<ProtocolError>) -> bool {
        matches!(
            e,
            Some(
                ProtocolError::TooBigInline
                    | ProtocolError::TooBigMbulkCount
                    | ProtocolError::TooBigBulkCount
            )
        )
    }

    /// A reply that encodes to `v`, where one exists with the same structure.
    fn as_reply(v: &Value) -> Option<Reply> {
        let list = |items: &[Value]| items.iter().map(as_reply).collect::<Option<Vec<_>>>();
        Some(match v {
            Value::Simple(s) => Reply::Status(s.clone()),
            Value::Error(e) if !e.iter().any(|&b| b == b'\r' || b == b'\n') => {
                Reply::Error(e.clone())
            }
            Value::Int(i) => Reply::Int(*i),
            Value::Bulk(b) => Reply::Bulk(b.clone()),
            Value::Null => Reply::Nil,
            Value::Bool(b) => Reply::Bool(*b),
            Value::Array(items) => Reply::Array(list(items)?),
            Value::Set(items) => Reply::Set(list(items)?),
            Value::Push(items) => Reply::Push(list(items)?),
            Value::Map(pairs) => Reply::Map(
                pairs
                    .iter()
                    .map(|(k, v)| Some((as_reply(k)?, as_reply(v)?)))
                    .collect::<Option<Vec<_>>>()?,
            ),
            Value::Verbatim(f, t) if f.as_ref() == b"txt" => Reply::Verbatim("txt", t.clone()),
            _ => return None,
        })
    }

    /// Runs every check on one input. Panics on a violated property.
    pub fn fuzz_one(data: &[u8]) {
        let small = Limits {
            proto_max_bulk_len_bytes: 1024,
            max_multibulk_len: 64,
            inline_max_bytes: 256,
            authenticated: true,
        };
        let unauth = Limits {
            authenticated: false,
            ..small.clone()
        };

        // Requests: whole, and in pieces, with and without the parser's memory.
        for limits in [&small, &unauth] {
            let whole = feed(data, limits, data.len(), false);
            for (piece, stateful) in [(1, true), (7, false), (64, true)] {
                let split = feed(data, limits, piece, stateful);
                if depends_on_arrival(&split.error) {
                    assert!(
                        whole.commands.starts_with(&split.commands),
                        "pieces produced other requests"
                    );
                } else {
                    assert_eq!(
                        (&whole.commands, &whole.error),
                        (&split.commands, &split.error),
                        "pieces of {piece} bytes changed the outcome"
                    );
                    if whole.error.is_none() {
                        assert_eq!(whole.left, split.left, "pieces of {piece} bytes left more");
                    }
                }
            }
            // Every request survives a trip through the client encoder.
            for args in &whole.commands {
                let mut wire = BytesMut::new();
                encode_command(args, &mut wire);
                let total = wire.len();
                let again = parse_request(&mut wire, &Limits::default());
                assert_eq!(again, Ok(Some(args.clone())), "encode_command round trip");
                assert!(
                    wire.is_empty(),
                    "round trip left {} of {total} bytes",
                    wire.len()
                );
            }
        }

        // Values, one after another.
        let mut off = 0;
        while let Some(rest) = data.get(off..).filter(|r| !r.is_empty()) {
            let Ok(Some((value, used))) = parse_value(rest, &small) else {
                break;
            };
            assert!(
                used > 0 && used <= rest.len(),
                "consumed {used} of {}",
                rest.len()
            );
            if let Some(shorter) = rest.get(..used - 1) {
                assert_eq!(
                    parse_value(shorter, &small),
                    Ok(None),
                    "a prefix of a complete value parsed"
                );
            }
            if let Some(reply) = as_reply(&value) {
                for proto in [Proto::Resp2, Proto::Resp3] {
                    let mut wire = BytesMut::new();
                    encode(&reply, proto, &mut wire);
                    let parsed = parse_value(&wire, &Limits::default());
                    let Ok(Some((again, n))) = parsed else {
                        panic!("encoded reply does not parse: {parsed:?}");
                    };
                    assert_eq!(n, wire.len(), "encoded reply not fully consumed");
                    if proto == Proto::Resp3 {
                        assert_eq!(again, value, "RESP3 round trip");
                    }
                }
            }
            off += used;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    fn lim() -> Limits {
        Limits::default()
    }

    fn unauth() -> Limits {
        Limits {
            authenticated: false,
            ..Limits::default()
        }
    }

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    fn args(list: &[&str]) -> Vec<Bytes> {
        list.iter().map(|s| b(s)).collect()
    }

    /// Parses all requests in `input` at once.
    fn all(input: &[u8], limits: &Limits) -> (Vec<Vec<Bytes>>, Option<ProtocolError>, usize) {
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        loop {
            match parse_request(&mut buf, limits) {
                Ok(Some(a)) => out.push(a),
                Ok(None) => return (out, None, buf.len()),
                Err(e) => return (out, Some(e), buf.len()),
            }
        }
    }

    fn one(input: &[u8]) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        parse_request(&mut BytesMut::from(input), &lim())
    }

    fn err(input: &[u8], limits: &Limits) -> ProtocolError {
        all(input, limits).1.expect("expected a protocol error")
    }

    fn inline(line: &str) -> Option<Vec<Bytes>> {
        split_inline(line.as_bytes())
    }

    fn value(input: &[u8]) -> Value {
        match parse_value(input, &lim()) {
            Ok(Some((v, n))) => {
                assert_eq!(n, input.len(), "not all of {input:?} consumed");
                v
            }
            other => panic!("{input:?} gave {other:?}"),
        }
    }

    fn enc(r: &Reply, proto: Proto) -> Vec<u8> {
        let mut out = BytesMut::new();
        encode(r, proto, &mut out);
        out.to_vec()
    }

    // --- requests: multibulk ---

    #[test]
    fn multibulk_basic() {
        let mut buf = BytesMut::from(&b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n"[..]);
        let got = parse_request(&mut buf, &lim())
            .expect("ok")
            .expect("complete");
        assert_eq!(got, args(&["SET", "k", "hello"]));
        assert!(buf.is_empty());
    }

    #[test]
    fn multibulk_binary_and_empty_args() {
        let input = b"*3\r\n$0\r\n\r\n$4\r\n\r\n\0\xff\r\n$2\r\n\"'\r\n";
        let got = one(input).expect("ok").expect("complete");
        assert_eq!(got[0], Bytes::new());
        assert_eq!(got[1].as_ref(), b"\r\n\0\xff");
        assert_eq!(got[2].as_ref(), b"\"'");
    }

    #[test]
    fn multibulk_args_share_the_frame() {
        let mut buf = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n*1\r\n$4\r\nPING\r\n"[..]);
        let got = parse_request(&mut buf, &lim())
            .expect("ok")
            .expect("complete");
        // Zero copy: the two arguments point into one allocation, 9 bytes apart.
        let gap = got[1].as_ptr() as usize - got[0].as_ptr() as usize;
        assert_eq!(gap, 3 + 2 + 4);
        assert_eq!(&buf[..], b"*1\r\n$4\r\nPING\r\n");
    }

    #[test]
    fn every_split_point_gives_the_same_result() {
        let stream: &[u8] = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nva\r\nl\r\n\
            PING\r\nSET a \"b c\" 'd'\n\r\n*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n \t \r\n\
            *2\r\n$4\r\nECHO\r\n$0\r\n\r\n";
        let expected = vec![
            args(&["SET", "key", "va\r\nl"]),
            args(&["PING"]),
            args(&["SET", "a", "b c", "d"]),
            args(&["PING"]),
            args(&["ECHO", ""]),
        ];
        assert_eq!(all(stream, &lim()), (expected.clone(), None, 0));
        for cut in 0..=stream.len() {
            for stateful in [false, true] {
                let mut parser = RequestParser::new();
                let mut buf = BytesMut::new();
                let mut got = Vec::new();
                for part in [&stream[..cut], &stream[cut..]] {
                    buf.extend_from_slice(part);
                    loop {
                        let r = if stateful {
                            parser.parse(&mut buf, &lim())
                        } else {
                            parse_request(&mut buf, &lim())
                        };
                        match r.expect("valid stream") {
                            Some(a) => got.push(a),
                            None => break,
                        }
                    }
                }
                assert_eq!(got, expected, "cut at {cut}, stateful {stateful}");
                assert!(buf.is_empty());
            }
        }
    }

    #[test]
    fn byte_by_byte_stateful() {
        let mut stream = Vec::new();
        for i in 0..50 {
            let mut out = BytesMut::new();
            encode_command(&[format!("k{i}"), "x".repeat(i * 37)], &mut out);
            stream.extend_from_slice(&out);
        }
        let mut parser = RequestParser::new();
        let mut buf = BytesMut::new();
        let mut n = 0;
        for &byte in &stream {
            buf.extend_from_slice(&[byte]);
            while let Some(a) = parser.parse(&mut buf, &lim()).expect("valid") {
                assert_eq!(a[0], format!("k{n}").as_bytes());
                assert_eq!(a[1].len(), n * 37);
                n += 1;
            }
        }
        assert_eq!(n, 50);
        assert!(!parser.in_request());
    }

    #[test]
    fn incomplete_consumes_nothing() {
        let full: &[u8] = b"*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n";
        for cut in 0..full.len() {
            let mut buf = BytesMut::from(&full[..cut]);
            assert_eq!(parse_request(&mut buf, &lim()), Ok(None), "cut {cut}");
            assert_eq!(buf.len(), cut);
        }
    }

    #[test]
    fn empty_multibulks_are_skipped() {
        assert_eq!(all(b"*0\r\n", &lim()), (vec![], None, 0));
        assert_eq!(all(b"*-1\r\n", &lim()), (vec![], None, 0));
        assert_eq!(
            all(b"*-10\r\n*1\r\n$4\r\nPING\r\n", &lim()).0,
            vec![args(&["PING"])]
        );
        assert_eq!(all(b"*0\r\n*1\r\n$4\r\nPI", &lim()), (vec![], None, 10));
    }

    #[test]
    fn pipelined_mix_of_inline_and_multibulk() {
        let (cmds, e, left) = all(
            b"PING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nECHO  there \n*1\r\n$4\r\nQU",
            &lim(),
        );
        assert_eq!(
            cmds,
            vec![
                args(&["PING"]),
                args(&["ECHO", "hi"]),
                args(&["ECHO", "there"])
            ]
        );
        assert_eq!((e, left), (None, 10));
    }

    #[test]
    fn invalid_multibulk_length() {
        for input in [
            &b"*abc\r\n"[..],
            b"*\r\n",
            b"*+1\r\n",
            b"*01\r\n",
            b"*-0\r\n",
            b"*1 \r\n",
            b"*99999999999999999999\r\n",
            b"*2147483648\r\n",
            b"*9223372036854775807\r\n",
        ] {
            assert_eq!(
                err(input, &lim()),
                ProtocolError::InvalidMultibulkLength,
                "{input:?}"
            );
        }
        // INT_MAX itself is allowed, and allocates nothing up front beyond a small cap.
        assert_eq!(one(b"*2147483647\r\n$1\r\na\r\n"), Ok(None));
        let small = Limits {
            max_multibulk_len: 3,
            ..lim()
        };
        assert_eq!(
            err(b"*4\r\n", &small),
            ProtocolError::InvalidMultibulkLength
        );
    }

    #[test]
    fn invalid_bulk_length() {
        for input in [
            &b"*1\r\n$-1\r\n"[..],
            b"*1\r\n$-5\r\n",
            b"*1\r\n$\r\n",
            b"*1\r\n$x\r\n",
            b"*1\r\n$01\r\n",
            b"*1\r\n$536870913\r\n",
            b"*1\r\n$9223372036854775807\r\n",
            b"*1\r\n$99999999999999999999999\r\n",
        ] {
            assert_eq!(
                err(input, &lim()),
                ProtocolError::InvalidBulkLength,
                "{input:?}"
            );
        }
        // Exactly the maximum is fine: it just waits for the data.
        assert_eq!(one(b"*1\r\n$536870912\r\n"), Ok(None));
    }

    #[test]
    fn expected_dollar() {
        let e = err(b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n", &lim());
        assert_eq!(e, ProtocolError::ExpectedDollar(b'f'));
        assert_eq!(e.to_string(), "Protocol error: expected '$', got 'f'");
        assert_eq!(
            err(b"*1\r\n\r\n", &lim()),
            ProtocolError::ExpectedDollar(b'\r')
        );
        assert_eq!(
            ProtocolError::ExpectedDollar(0xff).to_string(),
            "Protocol error: expected '$', got '?'"
        );
        assert_eq!(
            ProtocolError::ExpectedDollar(b'x').to_reply(),
            Reply::Error(b("ERR Protocol error: expected '$', got 'x'"))
        );
    }

    #[test]
    fn bulk_must_end_with_crlf() {
        assert_eq!(
            err(b"*1\r\n$3\r\nfooXY", &lim()),
            ProtocolError::BulkNotTerminated
        );
        assert_eq!(
            err(b"*1\r\n$3\r\nfoo\rX", &lim()),
            ProtocolError::BulkNotTerminated
        );
        assert_eq!(one(b"*1\r\n$3\r\nfoo\r"), Ok(None));
    }

    #[test]
    fn too_big_count_strings() {
        let mut long = b"*".to_vec();
        long.extend_from_slice(&vec![b'1'; PROTO_INLINE_MAX_SIZE - 1]);
        assert_eq!(all(&long, &lim()).1, None, "exactly 64 KiB still waits");
        long.push(b'1');
        assert_eq!(err(&long, &lim()), ProtocolError::TooBigMbulkCount);

        let mut long = b"*1\r\n$".to_vec();
        long.extend_from_slice(&vec![b'1'; PROTO_INLINE_MAX_SIZE]);
        assert_eq!(err(&long, &lim()), ProtocolError::TooBigBulkCount);

        // With a CR the number is simply invalid.
        let mut long = b"*".to_vec();
        long.extend_from_slice(&[b'1'; 100]);
        long.extend_from_slice(b"\r\n");
        assert_eq!(err(&long, &lim()), ProtocolError::InvalidMultibulkLength);
    }

    #[test]
    fn unauthenticated_limits() {
        assert_eq!(
            err(b"*11\r\n", &unauth()),
            ProtocolError::UnauthenticatedMultibulk
        );
        assert_eq!(all(b"*10\r\n", &unauth()).1, None);
        assert_eq!(
            err(b"*1\r\n$16385\r\n", &unauth()),
            ProtocolError::UnauthenticatedBulk
        );
        assert_eq!(all(b"*1\r\n$16384\r\n", &unauth()).1, None);
        // The absolute maximum is checked first, as in Redis.
        assert_eq!(
            err(b"*3000000000\r\n", &unauth()),
            ProtocolError::InvalidMultibulkLength
        );
        assert_eq!(
            err(b"*1\r\n$600000000\r\n", &unauth()),
            ProtocolError::InvalidBulkLength
        );
        assert_eq!(
            ProtocolError::UnauthenticatedBulk.to_string(),
            "Protocol error: unauthenticated bulk length"
        );
        // Limits can change between requests (after AUTH).
        let mut buf = BytesMut::new();
        encode_command(&["AUTH", "pw"], &mut buf);
        let big = vec![b'x'; 20000];
        encode_command(&[&b"SET"[..], &b"k"[..], &big[..]], &mut buf);
        assert!(parse_request(&mut buf, &unauth()).expect("ok").is_some());
        assert_eq!(
            parse_request(&mut buf.clone(), &unauth()),
            Err(ProtocolError::UnauthenticatedBulk)
        );
        assert_eq!(
            parse_request(&mut buf, &lim()).expect("ok").expect("some")[2].len(),
            20000
        );
    }

    #[test]
    fn huge_declared_lengths_do_not_allocate() {
        // A declared 2^31-1 elements or a 512 MiB bulk must not reserve memory: the buffer
        // capacity stays tiny and the parser just waits.
        let mut parser = RequestParser::new();
        let mut buf = BytesMut::from(&b"*2147483647\r\n$536870912\r\nab"[..]);
        assert_eq!(parser.parse(&mut buf, &lim()), Ok(None));
        assert!(buf.capacity() < 1024);
        let cap = parser.multibulk.as_ref().map_or(0, |mb| mb.args.capacity());
        assert!(cap <= PREALLOC_CAP);
        assert_eq!(parse_value(b"*2147483647\r\n:1\r\n", &lim()), Ok(None));
        assert_eq!(parse_value(b"$536870912\r\nab", &lim()), Ok(None));
        assert_eq!(
            parse_value(b"*2147483648\r\n", &lim()),
            Err(ProtocolError::InvalidMultibulkLength)
        );
        assert_eq!(
            parse_value(b"$536870913\r\n", &lim()),
            Err(ProtocolError::InvalidBulkLength)
        );
    }

    #[test]
    fn big_bulk_in_small_pieces() {
        let size = 4 * 1024 * 1024;
        let mut wire = BytesMut::new();
        let big = vec![b'v'; size];
        encode_command(&[&b"SET"[..], &b"big"[..], &big[..]], &mut wire);
        let mut parser = RequestParser::new();
        let mut buf = BytesMut::new();
        let mut got = None;
        let mut hinted = None;
        for chunk in wire.chunks(16 * 1024) {
            buf.extend_from_slice(chunk);
            if let Some(a) = parser.parse(&mut buf, &lim()).expect("valid") {
                got = Some(a);
            } else if hinted.is_none() {
                hinted = parser.pending_bulk_hint(&buf);
                assert_eq!(hinted, pending_bulk_hint(&buf));
            }
        }
        assert_eq!(hinted, Some(wire.len()));
        let got = got.expect("complete");
        assert_eq!(got[2].len(), size);
        // Stateless parsing of the same stream reaches the same result.
        let mut buf = BytesMut::new();
        let mut done = false;
        for chunk in wire.chunks(64 * 1024) {
            buf.extend_from_slice(chunk);
            done |= parse_request(&mut buf, &lim()).expect("valid").is_some();
        }
        assert!(done);
    }

    #[test]
    fn pending_bulk_hint_cases() {
        assert_eq!(pending_bulk_hint(b""), None);
        assert_eq!(pending_bulk_hint(b"PING\r\n"), None);
        assert_eq!(pending_bulk_hint(b"*2\r\n$3\r\nSET\r\n$5\r\nab"), None);
        let h = pending_bulk_hint(b"*2\r\n$3\r\nSET\r\n$40000\r\nab");
        assert_eq!(h, Some(13 + 8 + 40000 + 2));
        assert_eq!(pending_bulk_hint(b"*2\r\n$3\r\nSET\r\n$40000"), None);
    }

    // --- requests: inline ---

    #[test]
    fn inline_basic() {
        assert_eq!(one(b"PING\r\n"), Ok(Some(args(&["PING"]))));
        assert_eq!(one(b"PING\n"), Ok(Some(args(&["PING"]))));
        assert_eq!(
            one(b"  SET   a\tb  \r\n"),
            Ok(Some(args(&["SET", "a", "b"])))
        );
        assert_eq!(one(b"PING"), Ok(None));
        assert_eq!(one(b"PING\r"), Ok(None));
        assert_eq!(
            all(b"\r\n\n   \r\nPING\r\n", &lim()).0,
            vec![args(&["PING"])]
        );
    }

    #[test]
    fn inline_quoting() {
        assert_eq!(inline(r#"SET a "b c""#), Some(args(&["SET", "a", "b c"])));
        assert_eq!(
            inline(r#""\n\r\t\b\a\\\"\x41\x4a\xzz\q""#),
            Some(args(&["\n\r\t\x08\x07\\\"AJxzzq"]))
        );
        assert_eq!(inline(r"'it\'s' '\n'"), Some(args(&["it's", "\\n"])));
        assert_eq!(inline(r#"a"b c"d"#), None);
        assert_eq!(inline(r#"a"b c" d"#), Some(args(&["ab c", "d"])));
        assert_eq!(inline(r#""" ''"#), Some(args(&["", ""])));
        assert_eq!(inline(r#""\x4""#), Some(args(&["x4"])));
        assert_eq!(
            split_inline(b"\"\\xff\\x00\""),
            Some(vec![Bytes::from_static(b"\xff\0")])
        );
        assert_eq!(split_inline(b"a\0 b"), Some(args(&["a"])));
        assert_eq!(
            split_inline(b"a\x0bb c"),
            Some(vec![Bytes::from_static(b"a\x0bb"), b("c")])
        );
    }

    #[test]
    fn inline_unbalanced_quotes() {
        for line in [
            r#"SET a "foo"#,
            r#"SET a "foo"bar"#,
            "SET a 'foo",
            "'a'b",
            r#""\""#,
            "\"abc\\",
        ] {
            assert_eq!(inline(line), None, "{line}");
        }
        let e = err(b"SET a \"foo\r\n", &lim());
        assert_eq!(e, ProtocolError::UnbalancedQuotes);
        assert_eq!(
            e.to_string(),
            "Protocol error: unbalanced quotes in request"
        );
        // A quoted argument may not span lines: the line ends at the first LF.
        assert_eq!(
            err(b"SET a \"x\ny\"\n", &lim()),
            ProtocolError::UnbalancedQuotes
        );
    }

    #[test]
    fn inline_too_big() {
        let mut line = vec![b'a'; PROTO_INLINE_MAX_SIZE];
        assert_eq!(all(&line, &lim()).1, None);
        line.push(b'a');
        assert_eq!(err(&line, &lim()), ProtocolError::TooBigInline);
        // With its newline present a long line is accepted, as in Redis.
        line.extend_from_slice(b" b\n");
        assert_eq!(all(&line, &lim()).0.len(), 1);
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let alphabet = b"*$\r\n-+:0123456789?\"'\\x ab_#,%~>|=!(.;";
        for _ in 0..2000 {
            let mut data = Vec::new();
            for _ in 0..(seed % 48) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                data.push(alphabet[(seed % alphabet.len() as u64) as usize]);
            }
            fuzzing::fuzz_one(&data);
        }
        fuzzing::fuzz_one(&[0xff, 0, 0x80, b'\r', b'\n']);
    }

    // --- encoding ---

    #[test]
    fn encode_resp2() {
        let cases: Vec<(Reply, &[u8])> = vec![
            (Reply::Ok, b"+OK\r\n"),
            (Reply::status("PONG"), b"+PONG\r\n"),
            (Reply::Status(b("a\r\nb")), b"+a  b\r\n"),
            (Reply::Error(b("ERR bad\nthing")), b"-ERR bad thing\r\n"),
            (Reply::Int(0), b":0\r\n"),
            (Reply::Int(-42), b":-42\r\n"),
            (Reply::Int(i64::MIN), b":-9223372036854775808\r\n"),
            (Reply::Int(i64::MAX), b":9223372036854775807\r\n"),
            (Reply::bulk(""), b"$0\r\n\r\n"),
            (Reply::bulk("a\r\nb"), b"$4\r\na\r\nb\r\n"),
            (Reply::Nil, b"$-1\r\n"),
            (Reply::NilArray, b"*-1\r\n"),
            (Reply::Array(vec![]), b"*0\r\n"),
            (
                Reply::Array(vec![Reply::Int(1), Reply::Nil]),
                b"*2\r\n:1\r\n$-1\r\n",
            ),
            (
                Reply::Map(vec![(Reply::bulk("k"), Reply::Int(1))]),
                b"*2\r\n$1\r\nk\r\n:1\r\n",
            ),
            (Reply::Set(vec![Reply::bulk("m")]), b"*1\r\n$1\r\nm\r\n"),
            (
                Reply::Push(vec![Reply::bulk("message")]),
                b"*1\r\n$7\r\nmessage\r\n",
            ),
            (Reply::Double(1.5), b"$3\r\n1.5\r\n"),
            (Reply::Double(f64::INFINITY), b"$3\r\ninf\r\n"),
            (Reply::Double(f64::NEG_INFINITY), b"$4\r\n-inf\r\n"),
            (Reply::Bool(true), b":1\r\n"),
            (Reply::Bool(false), b":0\r\n"),
            (Reply::Verbatim("txt", b("hi")), b"$2\r\nhi\r\n"),
            (
                Reply::Pairs(vec![(Reply::bulk("f"), Reply::bulk("v"))]),
                b"*2\r\n$1\r\nf\r\n$1\r\nv\r\n",
            ),
        ];
        for (reply, wire) in cases {
            assert_eq!(enc(&reply, Proto::Resp2), wire, "{reply:?}");
        }
    }

    #[test]
    fn encode_resp3() {
        let cases: Vec<(Reply, &[u8])> = vec![
            (Reply::Nil, b"_\r\n"),
            (Reply::NilArray, b"_\r\n"),
            (
                Reply::Map(vec![(Reply::bulk("k"), Reply::Int(1))]),
                b"%1\r\n$1\r\nk\r\n:1\r\n",
            ),
            (
                Reply::Set(vec![Reply::Int(1), Reply::Int(2)]),
                b"~2\r\n:1\r\n:2\r\n",
            ),
            (Reply::Push(vec![Reply::bulk("a")]), b">1\r\n$1\r\na\r\n"),
            (
                Reply::Pairs(vec![(Reply::bulk("f"), Reply::bulk("v"))]),
                b"*1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n",
            ),
            (Reply::Double(1.5), b",1.5\r\n"),
            (Reply::Double(3.0), b",3\r\n"),
            (Reply::Double(f64::INFINITY), b",inf\r\n"),
            (Reply::Double(f64::NEG_INFINITY), b",-inf\r\n"),
            (Reply::Double(f64::NAN), b",nan\r\n"),
            (Reply::Bool(true), b"#t\r\n"),
            (Reply::Bool(false), b"#f\r\n"),
            (
                Reply::Verbatim("txt", b("Some string")),
                b"=15\r\ntxt:Some string\r\n",
            ),
            (Reply::Verbatim("markdown", b("x")), b"=5\r\ntxt:x\r\n"),
            (Reply::Ok, b"+OK\r\n"),
            (Reply::Array(vec![Reply::Nil]), b"*1\r\n_\r\n"),
        ];
        for (reply, wire) in cases {
            assert_eq!(enc(&reply, Proto::Resp3), wire, "{reply:?}");
        }
    }

    #[test]
    fn fallback_double_format() {
        assert_eq!(fmt_double(0.1), "0.1");
        assert_eq!(fmt_double(-2.0), "-2");
        assert_eq!(fmt_double(1e300), "1e+300");
        assert_eq!(fmt_double(1.5e-10), "1.5e-10");
        for d in [
            0.1,
            1.0 / 3.0,
            1e300,
            -7.25e-12,
            123456789.125,
            f64::MAX,
            f64::MIN_POSITIVE,
        ] {
            assert_eq!(fmt_double(d).parse::<f64>().ok(), Some(d), "{d}");
        }
    }

    #[test]
    fn encode_command_wire() {
        let mut out = BytesMut::new();
        encode_command(&["SET", "k", ""], &mut out);
        assert_eq!(&out[..], b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
        let mut out = BytesMut::new();
        encode_command::<&[u8]>(&[], &mut out);
        assert_eq!(&out[..], b"*0\r\n");
    }

    // --- client side ---

    #[test]
    fn values_resp2() {
        assert_eq!(value(b"+OK\r\n"), Value::Simple(b("OK")));
        assert_eq!(value(b"-ERR x\r\n"), Value::Error(b("ERR x")));
        assert_eq!(value(b":-12\r\n"), Value::Int(-12));
        assert_eq!(value(b"$3\r\na\rb\r\n"), Value::Bulk(b("a\rb")));
        assert_eq!(value(b"$-1\r\n"), Value::Null);
        assert_eq!(value(b"*-1\r\n"), Value::Null);
        assert_eq!(value(b"*0\r\n"), Value::Array(vec![]));
        assert_eq!(
            value(b"*2\r\n*1\r\n:1\r\n$0\r\n\r\n"),
            Value::Array(vec![
                Value::Array(vec![Value::Int(1)]),
                Value::Bulk(Bytes::new())
            ])
        );
    }

    #[test]
    fn values_resp3() {
        assert_eq!(value(b"_\r\n"), Value::Null);
        assert_eq!(value(b"#t\r\n"), Value::Bool(true));
        assert_eq!(value(b",-1.5e3\r\n"), Value::Double(-1500.0));
        assert_eq!(value(b",inf\r\n"), Value::Double(f64::INFINITY));
        assert_eq!(value(b",-inf\r\n"), Value::Double(f64::NEG_INFINITY));
        assert!(matches!(value(b",nan\r\n"), Value::Double(d) if d.is_nan()));
        assert_eq!(
            value(b"(-123456789012345678901234567890\r\n"),
            Value::BigNumber(b("-123456789012345678901234567890"))
        );
        assert_eq!(value(b"!5\r\nERR x\r\n"), Value::Error(b("ERR x")));
        assert_eq!(
            value(b"=7\r\nmkd:# a\r\n"),
            Value::Verbatim(b("mkd"), b("# a"))
        );
        assert_eq!(
            value(b"%2\r\n+a\r\n:1\r\n+b\r\n_\r\n"),
            Value::Map(vec![
                (Value::Simple(b("a")), Value::Int(1)),
                (Value::Simple(b("b")), Value::Null)
            ])
        );
        assert_eq!(value(b"~1\r\n:1\r\n"), Value::Set(vec![Value::Int(1)]));
        assert_eq!(
            value(b">2\r\n+message\r\n$1\r\nx\r\n"),
            Value::Push(vec![Value::Simple(b("message")), Value::Bulk(b("x"))])
        );
        assert_eq!(
            value(b"|1\r\n+ttl\r\n:3\r\n:42\r\n"),
            Value::Attribute(
                vec![(Value::Simple(b("ttl")), Value::Int(3))],
                Box::new(Value::Int(42))
            )
        );
    }

    #[test]
    fn values_streamed() {
        assert_eq!(
            value(b"$?\r\n;4\r\nHell\r\n;1\r\no\r\n;0\r\n"),
            Value::Bulk(b("Hello"))
        );
        assert_eq!(
            value(b"*?\r\n:1\r\n*?\r\n.\r\n.\r\n"),
            Value::Array(vec![Value::Int(1), Value::Array(vec![])])
        );
        assert_eq!(
            value(b"%?\r\n+a\r\n:1\r\n.\r\n"),
            Value::Map(vec![(Value::Simple(b("a")), Value::Int(1))])
        );
        assert_eq!(value(b"~?\r\n.\r\n"), Value::Set(vec![]));
        assert_eq!(parse_value(b"*?\r\n:1\r\n", &lim()), Ok(None));
        assert_eq!(parse_value(b"$?\r\n;4\r\nHell\r\n", &lim()), Ok(None));
        assert_eq!(
            parse_value(b"$?\r\n:4\r\n", &lim()),
            Err(ProtocolError::UnexpectedType(b':'))
        );
        let small = Limits {
            max_multibulk_len: 2,
            proto_max_bulk_len_bytes: 4,
            ..lim()
        };
        assert_eq!(
            parse_value(b"*?\r\n:1\r\n:2\r\n:3\r\n.\r\n", &small),
            Err(ProtocolError::InvalidMultibulkLength)
        );
        assert_eq!(
            parse_value(b"$?\r\n;3\r\nabc\r\n;3\r\ndef\r\n;0\r\n", &small),
            Err(ProtocolError::InvalidBulkLength)
        );
    }

    #[test]
    fn values_incomplete_at_every_cut() {
        let wire: &[u8] =
            b"*4\r\n$5\r\nhello\r\n%1\r\n+k\r\n,2.5\r\n|1\r\n+a\r\n#f\r\n:7\r\n=6\r\ntxt:hi\r\n";
        let (full, n) = parse_value(wire, &lim()).expect("ok").expect("complete");
        assert_eq!(n, wire.len());
        assert!(matches!(full, Value::Array(ref v) if v.len() == 4));
        for cut in 0..n {
            assert_eq!(parse_value(&wire[..cut], &lim()), Ok(None), "cut {cut}");
        }
    }

    #[test]
    fn values_errors() {
        let l = lim();
        assert_eq!(
            parse_value(b"?x\r\n", &l),
            Err(ProtocolError::UnexpectedType(b'?'))
        );
        assert_eq!(
            parse_value(b":12a\r\n", &l),
            Err(ProtocolError::InvalidInteger)
        );
        assert_eq!(
            parse_value(b":99999999999999999999\r\n", &l),
            Err(ProtocolError::InvalidInteger)
        );
        assert_eq!(
            parse_value(b"$-2\r\n", &l),
            Err(ProtocolError::InvalidBulkLength)
        );
        assert_eq!(
            parse_value(b"*-2\r\n", &l),
            Err(ProtocolError::InvalidMultibulkLength)
        );
        assert_eq!(
            parse_value(b"~-1\r\n", &l),
            Err(ProtocolError::InvalidMultibulkLength)
        );
        assert_eq!(
            parse_value(b"$3\r\nabcd\r\n", &l),
            Err(ProtocolError::BulkNotTerminated)
        );
        assert_eq!(
            parse_value(b"+a\nb\r\n", &l),
            Err(ProtocolError::BadLineEnd)
        );
        assert_eq!(
            parse_value(b"+a\rb\r\n", &l),
            Err(ProtocolError::BadLineEnd)
        );
        assert_eq!(parse_value(b"#x\r\n", &l), Err(ProtocolError::InvalidBool));
        assert_eq!(parse_value(b"_x\r\n", &l), Err(ProtocolError::InvalidNull));
        assert_eq!(parse_value(b",\r\n", &l), Err(ProtocolError::InvalidDouble));
        assert_eq!(
            parse_value(b"(12x\r\n", &l),
            Err(ProtocolError::InvalidBigNumber)
        );
        assert_eq!(
            parse_value(b"=2\r\nab\r\n", &l),
            Err(ProtocolError::InvalidVerbatim)
        );
        assert_eq!(
            parse_value(b".\r\n", &l),
            Err(ProtocolError::UnexpectedType(b'.'))
        );
        let mut long = b"$".to_vec();
        long.extend_from_slice(&[b'1'; MAX_NUMBER_LINE + 1]);
        assert_eq!(
            parse_value(&long, &l),
            Err(ProtocolError::InvalidBulkLength)
        );
        assert_eq!(parse_value(b"", &l), Ok(None));
    }

    #[test]
    fn nesting_is_capped() {
        let deep = |n: usize| {
            let mut v = b"*1\r\n".repeat(n);
            v.extend_from_slice(b":1\r\n");
            v
        };
        assert!(matches!(parse_value(&deep(MAX_DEPTH), &lim()), Ok(Some(_))));
        assert_eq!(
            parse_value(&deep(MAX_DEPTH + 1), &lim()),
            Err(ProtocolError::TooDeep)
        );
        assert_eq!(
            parse_value(&b"|1\r\n".repeat(100_000), &lim()),
            Err(ProtocolError::TooDeep)
        );
        assert_eq!(
            parse_value(&b"*1\r\n".repeat(100_000), &lim()),
            Err(ProtocolError::TooDeep)
        );
    }

    #[test]
    fn reply_round_trip() {
        let reply = Reply::Array(vec![
            Reply::Ok,
            Reply::status("QUEUED"),
            Reply::Error(b("WRONGTYPE nope")),
            Reply::Int(-7),
            Reply::bulk("bin\r\n\0"),
            Reply::Nil,
            Reply::NilArray,
            Reply::Map(vec![
                (Reply::bulk("f"), Reply::Double(0.25)),
                (Reply::Int(1), Reply::Bool(true)),
            ]),
            Reply::Set(vec![Reply::bulk("m")]),
            Reply::Push(vec![Reply::bulk("message"), Reply::Array(vec![])]),
            Reply::Verbatim("txt", b("info")),
        ]);
        let r3 = value(&enc(&reply, Proto::Resp3));
        assert_eq!(
            r3,
            Value::Array(vec![
                Value::Simple(b("OK")),
                Value::Simple(b("QUEUED")),
                Value::Error(b("WRONGTYPE nope")),
                Value::Int(-7),
                Value::Bulk(b("bin\r\n\0")),
                Value::Null,
                Value::Null,
                Value::Map(vec![
                    (Value::Bulk(b("f")), Value::Double(0.25)),
                    (Value::Int(1), Value::Bool(true))
                ]),
                Value::Set(vec![Value::Bulk(b("m"))]),
                Value::Push(vec![Value::Bulk(b("message")), Value::Array(vec![])]),
                Value::Verbatim(b("txt"), b("info")),
            ])
        );
        let r2 = value(&enc(&reply, Proto::Resp2));
        assert_eq!(
            r2,
            Value::Array(vec![
                Value::Simple(b("OK")),
                Value::Simple(b("QUEUED")),
                Value::Error(b("WRONGTYPE nope")),
                Value::Int(-7),
                Value::Bulk(b("bin\r\n\0")),
                Value::Null,
                Value::Null,
                Value::Array(vec![
                    Value::Bulk(b("f")),
                    Value::Bulk(b("0.25")),
                    Value::Int(1),
                    Value::Int(1)
                ]),
                Value::Array(vec![Value::Bulk(b("m"))]),
                Value::Array(vec![Value::Bulk(b("message")), Value::Array(vec![])]),
                Value::Bulk(b("info")),
            ])
        );
    }

    #[test]
    fn parse_ll_matches_string2ll() {
        assert_eq!(parse_ll(b"0"), Some(0));
        assert_eq!(parse_ll(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_ll(b"9223372036854775807"), Some(i64::MAX));
        for bad in [
            &b""[..],
            b"-",
            b"+1",
            b"00",
            b"-0",
            b"1a",
            b" 1",
            b"9223372036854775808",
            b"123456789012345678901",
        ] {
            assert_eq!(parse_ll(bad), None, "{bad:?}");
        }
    }
}
