//! Bitmap commands on string values: SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD BITFIELD_RO.
//!
//! Bit 0 is the most significant bit of byte 0, as in Redis. Writes that change an existing
//! string in place log a SETRANGE effect of just the bytes they touched (replay zero-pads a
//! grown string exactly as the command did); new keys and BITOP destinations are logged as
//! a SET.

use bytes::Bytes;

use super::{int_arg, is, note_dirty, note_lookup, Ctx};
use crate::keyspace::{Item, KeyRef};
use crate::reply::{CmdError, CmdResult, Reply};
use crate::value::{StrBuf, Value};

fn bad_offset() -> CmdError {
    CmdError::err("bit offset is not an integer or out of range")
}

/// Parses a bit offset with Redis's rules: non-negative, `(offset >> 3)` below the
/// proto-max-bulk-len limit; with `hash_bits` set, `#n` means `n * hash_bits`.
pub fn bit_offset(arg: &[u8], hash_bits: Option<u32>, max_bytes: usize) -> Result<u64, CmdError> {
    let (digits, mul) = match (arg.first(), hash_bits) {
        (Some(b'#'), Some(bits)) => (&arg[1..], i64::from(bits)),
        _ => (arg, 1),
    };
    let v = crate::num::parse_i64(digits)
        .and_then(|v| v.checked_mul(mul))
        .ok_or_else(bad_offset)?;
    if v < 0 || (v >> 3) as u64 >= max_bytes as u64 {
        return Err(bad_offset());
    }
    Ok(v as u64)
}

/// The string at `k` for reading: None when missing, WRONGTYPE for other types.
/// `f` runs on the bytes under the shard's read lock (a bitmap can be large: no copy).
fn read_str<T>(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    f: impl FnOnce(&[u8]) -> T,
) -> Result<Option<T>, CmdError> {
    let k = ctx.db.locate(key);
    let sh = ctx.db.read(k.shard);
    let v = match sh.get(&k, ctx.now_ms) {
        None => None,
        Some(item) => Some(f(item.as_str().ok_or(CmdError::WrongType)?)),
    };
    drop(sh);
    note_lookup(ctx, v.is_some());
    Ok(v)
}

/// Runs `f` on the string at `key` grown (zero-padded) to at least `min_len` bytes, creating
/// it when missing, then logs the byte range `f` reports as changed (`None` = nothing).
/// Returns `f`'s result and whether the key was created, grown or changed.
fn with_bits<T>(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    min_len: usize,
    f: impl FnOnce(&mut [u8]) -> (T, Option<(usize, usize)>),
) -> Result<(T, bool), CmdError> {
    let k: KeyRef<'_> = ctx.db.locate(key);
    let mut w = ctx.ks.writer();
    let mut sh = ctx.db.write(k.shard, &w);
    let now = ctx.now_ms;
    match sh.get_mut(&k, now, &mut w) {
        Some(item) => {
            let Some(old_len) = item.as_str().map(<[u8]>::len) else {
                return Err(CmdError::WrongType);
            };
            // Redis turns a shared or int-encoded string into a private raw one first.
            let was_shared = !item.is_raw();
            let grew = old_len < min_len;
            // In place; the record grows (zero-filled) when the bits reach past its end.
            let buf = item.resize_str(old_len.max(min_len), true);
            let (out, changed) = f(buf);
            // The range to log: what changed, widened to the grown tail and (for a value
            // that just became raw) at least one byte so replay marks it raw too.
            let mut range = changed;
            if grew {
                let (lo, hi) = range.unwrap_or((old_len, min_len - 1));
                range = Some((lo.min(old_len), hi.max(min_len - 1)));
            }
            if range.is_none() && was_shared && !buf.is_empty() {
                range = Some((0, 0));
            }
            if let (Some((lo, hi)), Some(mut r)) = (range, w.record()) {
                if let Some(slice) = buf.get(lo..=hi) {
                    r.setrange(ctx.db.id, key, lo as u64, slice);
                }
            }
            Ok((out, changed.is_some() || grew))
        }
        None => {
            let mut buf = vec![0u8; min_len];
            let (out, _) = f(&mut buf);
            let value = Value::Str {
                data: StrBuf::from(buf),
                raw: true,
            };
            sh.insert(&k, Item::new(value, now), &mut w);
            Ok((out, true))
        }
    }
}

/// SETBIT key offset value
pub fn setbit(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let offset = bit_offset(&args[2], None, ctx.limits.proto_max_bulk_len_bytes)?;
    let on = match int_arg(&args[3]) {
        Ok(0) => 0u8,
        Ok(1) => 1u8,
        _ => return Err(CmdError::err("bit is not an integer or out of range")),
    };
    let byte = (offset >> 3) as usize;
    let shift = 7 - (offset & 7) as u32;
    let (old, modified) = with_bits(ctx, &args[1], byte + 1, |buf| {
        let Some(b) = buf.get_mut(byte) else {
            return (0, None);
        };
        let old = (*b >> shift) & 1;
        if old == on {
            return (old, None);
        }
        *b = (*b & !(1 << shift)) | (on << shift);
        (old, Some((byte, byte)))
    })?;
    if modified {
        note_dirty(ctx, 1);
    }
    Ok(Reply::Int(i64::from(old)))
}

/// GETBIT key offset
pub fn getbit(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let offset = bit_offset(&args[2], None, ctx.limits.proto_max_bulk_len_bytes)?;
    let bit = read_str(ctx, &args[1], |s| get_bit(s, offset))?;
    Ok(Reply::Int(bit.map_or(0, i64::from)))
}

/// The bit at `offset` (0 past the end).
pub fn get_bit(s: &[u8], offset: u64) -> u8 {
    usize::try_from(offset >> 3)
        .ok()
        .and_then(|i| s.get(i))
        .map_or(0, |b| (b >> (7 - (offset & 7))) & 1)
}

/// Resolves a BITCOUNT/BITPOS range with Redis's index rules into an inclusive bit range,
/// or None when empty. `start`/`end` count bytes, or bits when `bit_unit`.
pub fn bit_range(len_bytes: usize, start: i64, end: i64, bit_unit: bool) -> Option<(u64, u64)> {
    let tot = if bit_unit {
        (len_bytes as i64).saturating_mul(8)
    } else {
        len_bytes as i64
    };
    let mut start = if start < 0 {
        tot.saturating_add(start)
    } else {
        start
    };
    let mut end = if end < 0 {
        tot.saturating_add(end)
    } else {
        end
    };
    start = start.max(0);
    end = end.max(0);
    if end >= tot {
        end = tot - 1;
    }
    if start > end {
        return None;
    }
    let (s, e) = (start as u64, end as u64);
    Some(if bit_unit { (s, e) } else { (s * 8, e * 8 + 7) })
}

/// Number of set bits in the inclusive bit range `[s, e]` of `p` (which must cover it).
pub fn count_bits(p: &[u8], s: u64, e: u64) -> u64 {
    let (sb, eb) = ((s >> 3) as usize, (e >> 3) as usize);
    let Some(bytes) = p.get(sb..=eb) else {
        return 0;
    };
    let mut n: u64 = bytes.iter().map(|b| u64::from(b.count_ones())).sum();
    // Take back the bits before `s` in the first byte and after `e` in the last.
    let head = (s & 7) as u32;
    if head > 0 {
        let mask = !(0xffu8 >> head);
        n -= u64::from((bytes[0] & mask).count_ones());
    }
    let tail = 7 - (e & 7) as u32;
    if tail > 0 {
        let mask = (1u8 << tail) - 1;
        n -= u64::from((bytes[bytes.len() - 1] & mask).count_ones());
    }
    n
}

/// The first bit equal to `bit` in the inclusive bit range `[s, e]` of `p`.
pub fn find_bit(p: &[u8], bit: u8, s: u64, e: u64) -> Option<u64> {
    let skip = if bit == 1 { 0u8 } else { 0xff };
    let mut i = s;
    while i <= e {
        let &b = p.get((i >> 3) as usize)?;
        if i & 7 == 0 && e - i >= 7 && b == skip {
            i += 8;
            continue;
        }
        if (b >> (7 - (i & 7))) & 1 == bit {
            return Some(i);
        }
        i += 1;
    }
    None
}

fn parse_unit(arg: &[u8]) -> Result<bool, CmdError> {
    if is(arg, "BIT") {
        Ok(true)
    } else if is(arg, "BYTE") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

/// BITCOUNT key [start end [BYTE | BIT]]
pub fn bitcount(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let range = match args.len() {
        2 => None,
        4 | 5 => {
            let start = int_arg(&args[2])?;
            let end = int_arg(&args[3])?;
            let unit = match args.get(4) {
                Some(a) => parse_unit(a)?,
                None => false,
            };
            Some((start, end, unit))
        }
        _ => return Err(CmdError::Syntax),
    };
    let n = read_str(ctx, &args[1], |s| {
        let r = match range {
            None => bit_range(s.len(), 0, -1, false),
            Some((start, end, unit)) => {
                if start < 0 && end < 0 && start > end {
                    return 0;
                }
                bit_range(s.len(), start, end, unit)
            }
        };
        r.map_or(0, |(a, b)| count_bits(s, a, b) as i64)
    })?;
    Ok(Reply::Int(n.unwrap_or(0)))
}

/// BITPOS key bit [start [end [BYTE | BIT]]]
pub fn bitpos(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let bit = match super::int_arg(&args[2])? {
        0 => 0u8,
        1 => 1u8,
        _ => return Err(CmdError::err("The bit argument must be 1 or 0.")),
    };
    let (start, end, unit) = match args.len() {
        3 => (0, None, false),
        4..=6 => {
            let start = int_arg(&args[3])?;
            let unit = match args.get(5) {
                Some(a) => parse_unit(a)?,
                None => false,
            };
            let end = match args.get(4) {
                Some(a) => Some(int_arg(a)?),
                None => None,
            };
            (start, end, unit)
        }
        _ => return Err(CmdError::Syntax),
    };
    let pos = read_str(ctx, &args[1], |s| {
        let Some((a, b)) = bit_range(s.len(), start, end.unwrap_or(-1), unit) else {
            return -1;
        };
        match find_bit(s, bit, a, b) {
            Some(p) => p as i64,
            // Looking for a clear bit with no end given: the string continues with zeros.
            None if bit == 0 && end.is_none() => (b + 1) as i64,
            None => -1,
        }
    })?;
    Ok(Reply::Int(pos.unwrap_or(if bit == 1 { -1 } else { 0 })))
}

/// BITOP <AND | OR | XOR | NOT> destkey key [key ...]
pub fn bitop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    #[derive(PartialEq, Clone, Copy)]
    enum Op {
        And,
        Or,
        Xor,
        Not,
    }
    let op = if is(&args[1], "AND") {
        Op::And
    } else if is(&args[1], "OR") {
        Op::Or
    } else if is(&args[1], "XOR") {
        Op::Xor
    } else if is(&args[1], "NOT") {
        Op::Not
    } else {
        return Err(CmdError::Syntax);
    };
    if op == Op::Not && args.len() != 4 {
        return Err(CmdError::err(
            "BITOP NOT must be called with a single source key.",
        ));
    }
    let dest = ctx.db.locate(&args[2]);
    let srcs: Vec<KeyRef<'_>> = args[3..].iter().map(|a| ctx.db.locate(a)).collect();
    let mut all = srcs.clone();
    all.push(dest);
    let mut w = ctx.ks.writer();
    let mut guards = ctx.db.write_many(&all, &w);
    let now = ctx.now_ms;
    let mut inputs: Vec<Option<Bytes>> = Vec::with_capacity(srcs.len());
    for k in &srcs {
        let v = match guards.shard(k).get(k, now) {
            None => None,
            Some(item) => Some(Bytes::copy_from_slice(
                item.as_str().ok_or(CmdError::WrongType)?,
            )),
        };
        inputs.push(v);
    }
    let maxlen = inputs
        .iter()
        .map(|v| v.as_ref().map_or(0, Bytes::len))
        .max()
        .unwrap_or(0);
    let mut hits = 0;
    for v in &inputs {
        hits += u64::from(v.is_some());
    }
    ctx.hits += hits;
    ctx.misses += inputs.len() as u64 - hits;
    let empty = Bytes::new();
    let at = |v: &Option<Bytes>, i: usize| -> u8 {
        v.as_ref().unwrap_or(&empty).get(i).copied().unwrap_or(0)
    };
    let mut out = vec![0u8; maxlen];
    for (i, o) in out.iter_mut().enumerate() {
        let mut acc = inputs.first().map_or(0, |v| at(v, i));
        if op == Op::Not {
            acc = !acc;
        }
        for v in inputs.iter().skip(1) {
            let b = at(v, i);
            match op {
                Op::And => acc &= b,
                Op::Or => acc |= b,
                Op::Xor => acc ^= b,
                Op::Not => {}
            }
        }
        *o = acc;
    }
    let sh = guards.shard(&dest);
    if maxlen > 0 {
        let value = Value::Str {
            data: StrBuf::from(out),
            raw: true,
        };
        sh.insert(&dest, Item::new(value, now), &mut w);
        drop(guards);
        drop(w);
        note_dirty(ctx, 1);
    } else {
        let existed = sh.get_mut(&dest, now, &mut w).is_some();
        if existed {
            sh.remove(&dest, &mut w);
            drop(guards);
            drop(w);
            note_dirty(ctx, 1);
        }
    }
    Ok(Reply::Int(maxlen as i64))
}

// ---- BITFIELD ------------------------------------------------------------------------------

/// Overflow behaviour of BITFIELD SET / INCRBY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    /// Wrap around (two's complement / modulo).
    Wrap,
    /// Saturate at the type's minimum or maximum.
    Sat,
    /// Do nothing and answer nil.
    Fail,
}

/// An integer type of BITFIELD: `i1`..`i64` or `u1`..`u63`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldType {
    /// Signed.
    pub signed: bool,
    /// Width in bits.
    pub bits: u32,
}

impl FieldType {
    /// Parses `i8`, `U16`, ... with Redis's error.
    pub fn parse(arg: &[u8]) -> Result<FieldType, CmdError> {
        let err = || {
            CmdError::err(
                "Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.",
            )
        };
        let signed = match arg.first() {
            Some(b'i' | b'I') => true,
            Some(b'u' | b'U') => false,
            _ => return Err(err()),
        };
        let bits = crate::num::parse_i64(&arg[1..]).ok_or_else(err)?;
        if bits < 1 || (signed && bits > 64) || (!signed && bits > 63) {
            return Err(err());
        }
        Ok(FieldType {
            signed,
            bits: bits as u32,
        })
    }

    fn min(self) -> i128 {
        if self.signed {
            -(1i128 << (self.bits - 1))
        } else {
            0
        }
    }

    fn max(self) -> i128 {
        if self.signed {
            (1i128 << (self.bits - 1)) - 1
        } else {
            (1i128 << self.bits) - 1
        }
    }

    /// `v` reduced to this type's width (two's complement for signed).
    fn wrap(self, v: i128) -> i64 {
        let raw = (v as u128 as u64) & mask(self.bits);
        self.value_of(raw)
    }

    /// The value of the raw field bits.
    fn value_of(self, raw: u64) -> i64 {
        if self.signed && self.bits < 64 && raw & (1 << (self.bits - 1)) != 0 {
            (raw | !mask(self.bits)) as i64
        } else {
            raw as i64
        }
    }

    /// The value to store for the exact result `v` under `ow`, or None for a FAIL overflow.
    pub fn fit(self, v: i128, ow: Overflow) -> Option<i64> {
        if v >= self.min() && v <= self.max() {
            return Some(v as i64);
        }
        match ow {
            Overflow::Wrap => Some(self.wrap(v)),
            Overflow::Sat => Some(if v > self.max() {
                self.max() as i64
            } else {
                self.min() as i64
            }),
            Overflow::Fail => None,
        }
    }
}

fn mask(bits: u32) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

/// Reads `bits` bits at bit `offset` (big-endian bit order, zeros past the end).
pub fn get_field(p: &[u8], offset: u64, bits: u32) -> u64 {
    let mut v = 0u64;
    for i in 0..u64::from(bits) {
        v = (v << 1) | u64::from(get_bit(p, offset + i));
    }
    v
}

/// Writes the low `bits` bits of `v` at bit `offset`; `p` must cover the field.
pub fn set_field(p: &mut [u8], offset: u64, bits: u32, v: u64) {
    for i in 0..u64::from(bits) {
        let bit = (v >> (u64::from(bits) - 1 - i)) & 1;
        let pos = offset + i;
        if let Some(b) = p.get_mut((pos >> 3) as usize) {
            let shift = 7 - (pos & 7);
            *b = (*b & !(1 << shift)) | ((bit as u8) << shift);
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum FieldOp {
    Get,
    Set(i64),
    Incr(i64),
}

struct Op {
    op: FieldOp,
    ty: FieldType,
    offset: u64,
    ow: Overflow,
}

/// Runs one write op on `p`, returning the reply and whether bytes were written.
fn run_op(p: &mut [u8], o: &Op) -> (Reply, bool) {
    let old = o.ty.value_of(get_field(p, o.offset, o.ty.bits));
    let (exact, ret_old) = match o.op {
        FieldOp::Get => return (Reply::Int(old), false),
        // Unsigned SET takes the argument as an unsigned 64-bit number, as Redis does.
        FieldOp::Set(v) if !o.ty.signed => (i128::from(v as u64), true),
        FieldOp::Set(v) => (i128::from(v), true),
        FieldOp::Incr(by) => (i128::from(old) + i128::from(by), false),
    };
    match o.ty.fit(exact, o.ow) {
        None => (Reply::Nil, false),
        Some(new) => {
            set_field(p, o.offset, o.ty.bits, new as u64);
            (Reply::Int(if ret_old { old } else { new }), true)
        }
    }
}

/// BITFIELD key [GET type offset | [OVERFLOW WRAP|SAT|FAIL] SET type offset value |
/// INCRBY type offset increment ...]
pub fn bitfield(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    bitfield_generic(ctx, args, false)
}

/// BITFIELD_RO key [GET type offset ...]
pub fn bitfield_ro(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    bitfield_generic(ctx, args, true)
}

fn bitfield_generic(ctx: &mut Ctx<'_>, args: &[Bytes], ro: bool) -> CmdResult {
    let limit = ctx.limits.proto_max_bulk_len_bytes;
    let mut ops = Vec::new();
    let mut ow = Overflow::Wrap;
    let mut j = 2;
    let mut writes = false;
    // The highest bit a write op reaches.
    let mut highest: Option<u64> = None;
    let mut lowest: Option<u64> = None;
    while j < args.len() {
        let rem = args.len() - j - 1;
        let sub = &args[j];
        let kind = if is(sub, "GET") && rem >= 2 {
            0
        } else if is(sub, "SET") && rem >= 3 {
            1
        } else if is(sub, "INCRBY") && rem >= 3 {
            2
        } else if is(sub, "OVERFLOW") && rem >= 1 {
            let t = &args[j + 1];
            ow = if is(t, "WRAP") {
                Overflow::Wrap
            } else if is(t, "SAT") {
                Overflow::Sat
            } else if is(t, "FAIL") {
                Overflow::Fail
            } else {
                return Err(CmdError::err("Invalid OVERFLOW type specified"));
            };
            j += 2;
            continue;
        } else {
            return Err(CmdError::Syntax);
        };
        let ty = FieldType::parse(&args[j + 1])?;
        let offset = bit_offset(&args[j + 2], Some(ty.bits), limit)?;
        let op = match kind {
            0 => FieldOp::Get,
            _ => {
                let v = int_arg(&args[j + 3])?;
                j += 1;
                writes = true;
                let last = offset + u64::from(ty.bits) - 1;
                highest = Some(highest.map_or(last, |h| h.max(last)));
                lowest = Some(lowest.map_or(offset, |l| l.min(offset)));
                if kind == 1 {
                    FieldOp::Set(v)
                } else {
                    FieldOp::Incr(v)
                }
            }
        };
        ops.push(Op { op, ty, offset, ow });
        j += 3;
    }
    if !writes {
        let read = |s: &[u8]| -> Vec<Reply> {
            ops.iter()
                .map(|o| Reply::Int(o.ty.value_of(get_field(s, o.offset, o.ty.bits))))
                .collect()
        };
        let replies = read_str(ctx, &args[1], read)?.unwrap_or_else(|| read(&[]));
        return Ok(Reply::Array(replies));
    }
    if ro {
        return Err(CmdError::err(
            "BITFIELD_RO only supports the GET subcommand",
        ));
    }
    let min_len = (highest.unwrap_or(0) >> 3) as usize + 1;
    let lo_byte = (lowest.unwrap_or(0) >> 3) as usize;
    let hi_byte = min_len - 1;
    let ((replies, _), modified) = with_bits(ctx, &args[1], min_len, |buf| {
        let mut out = Vec::with_capacity(ops.len());
        let mut changed = false;
        for o in &ops {
            let (r, wrote) = run_op(buf, o);
            changed |= wrote;
            out.push(r);
        }
        (
            (out, changed),
            if changed {
                Some((lo_byte, hi_byte))
            } else {
                None
            },
        )
    })?;
    if modified {
        note_dirty(ctx, 1);
    }
    Ok(Reply::Array(replies))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn field_types_parse_with_redis_limits() {
        assert!(FieldType::parse(b"i64").is_ok());
        assert!(FieldType::parse(b"U63").is_ok());
        assert!(FieldType::parse(b"u64").is_err());
        assert!(FieldType::parse(b"i65").is_err());
        assert!(FieldType::parse(b"i0").is_err());
        assert!(FieldType::parse(b"x8").is_err());
        assert!(FieldType::parse(b"").is_err());
    }

    #[test]
    fn overflow_math() {
        let u8t = FieldType::parse(b"u8").unwrap_or(FieldType {
            signed: false,
            bits: 8,
        });
        let i8t = FieldType {
            signed: true,
            bits: 8,
        };
        assert_eq!(u8t.fit(256, Overflow::Wrap), Some(0));
        assert_eq!(u8t.fit(300, Overflow::Sat), Some(255));
        assert_eq!(u8t.fit(-1, Overflow::Sat), Some(0));
        assert_eq!(u8t.fit(-1, Overflow::Wrap), Some(255));
        assert_eq!(u8t.fit(-1, Overflow::Fail), None);
        assert_eq!(i8t.fit(128, Overflow::Wrap), Some(-128));
        assert_eq!(i8t.fit(-129, Overflow::Wrap), Some(127));
        assert_eq!(i8t.fit(1000, Overflow::Sat), Some(127));
        assert_eq!(i8t.fit(-1000, Overflow::Sat), Some(-128));
        let i64t = FieldType {
            signed: true,
            bits: 64,
        };
        assert_eq!(
            i64t.fit(i128::from(i64::MAX) + 1, Overflow::Wrap),
            Some(i64::MIN)
        );
        assert_eq!(
            i64t.fit(i128::from(i64::MIN) - 1, Overflow::Sat),
            Some(i64::MIN)
        );
        let u63 = FieldType {
            signed: false,
            bits: 63,
        };
        assert_eq!(u63.fit(1i128 << 63, Overflow::Wrap), Some(0));
        let i1 = FieldType {
            signed: true,
            bits: 1,
        };
        assert_eq!(i1.fit(1, Overflow::Wrap), Some(-1));
        assert_eq!(i1.fit(1, Overflow::Sat), Some(0));
    }

    #[test]
    fn fields_read_and_write_big_endian_bits() {
        let mut p = vec![0u8; 3];
        set_field(&mut p, 4, 8, 0xab);
        assert_eq!(p, vec![0x0a, 0xb0, 0]);
        assert_eq!(get_field(&p, 4, 8), 0xab);
        assert_eq!(get_field(&p, 20, 8), 0);
        let i4 = FieldType {
            signed: true,
            bits: 4,
        };
        assert_eq!(i4.value_of(get_field(&p, 4, 4)), -6);
    }

    #[test]
    fn ranges_follow_redis_rules() {
        assert_eq!(bit_range(3, 0, -1, false), Some((0, 23)));
        assert_eq!(bit_range(3, 1, 1, false), Some((8, 15)));
        assert_eq!(bit_range(3, -2, -1, true), Some((22, 23)));
        assert_eq!(bit_range(3, 5, 100, true), Some((5, 23)));
        assert_eq!(bit_range(3, 4, 2, false), None);
        assert_eq!(bit_range(0, 0, -1, false), None);
        let p = [0xffu8, 0x0f, 0xf0];
        assert_eq!(count_bits(&p, 0, 23), 16);
        assert_eq!(count_bits(&p, 4, 11), 4);
        assert_eq!(count_bits(&p, 12, 19), 8);
        assert_eq!(find_bit(&p, 0, 0, 23), Some(8));
        assert_eq!(find_bit(&p, 1, 8, 23), Some(12));
        assert_eq!(find_bit(&p, 0, 12, 19), None);
    }

    proptest! {
        #[test]
        fn bit_ops_match_a_bool_model(
            bytes in proptest::collection::vec(any::<u8>(), 0..12),
            s in -120i64..120, e in -120i64..120, unit in any::<bool>(), bit in 0u8..2,
        ) {
            let model: Vec<bool> = (0..bytes.len() * 8)
                .map(|i| (bytes[i / 8] >> (7 - i % 8)) & 1 == 1)
                .collect();
            let r = bit_range(bytes.len(), s, e, unit);
            // Model: resolve indexes over bits or whole bytes.
            let tot = if unit { model.len() as i64 } else { bytes.len() as i64 };
            let mut a = if s < 0 { tot + s } else { s };
            let mut b = if e < 0 { tot + e } else { e };
            a = a.max(0);
            b = b.max(0).min(tot - 1);
            let expect = if a > b { None } else if unit {
                Some((a as u64, b as u64))
            } else {
                Some((a as u64 * 8, b as u64 * 8 + 7))
            };
            prop_assert_eq!(r, expect);
            if let Some((a, b)) = r {
                let cnt = model[a as usize..=b as usize].iter().filter(|x| **x).count() as u64;
                prop_assert_eq!(count_bits(&bytes, a, b), cnt);
                let pos = model[a as usize..=b as usize]
                    .iter()
                    .position(|x| *x == (bit == 1))
                    .map(|p| p as u64 + a);
                prop_assert_eq!(find_bit(&bytes, bit, a, b), pos);
            }
            for (i, m) in model.iter().enumerate() {
                prop_assert_eq!(get_bit(&bytes, i as u64), u8::from(*m));
            }
        }

        #[test]
        fn fields_roundtrip(bytes in proptest::collection::vec(any::<u8>(), 11..13),
                            off in 0u64..24, bits in 1u32..65, v in any::<u64>()) {
            let mut p = bytes.clone();
            set_field(&mut p, off, bits, v);
            prop_assert_eq!(get_field(&p, off, bits), v & mask(bits));
            // Bits outside the field are untouched.
            for i in 0..(p.len() as u64 * 8) {
                if i < off || i >= off + u64::from(bits) {
                    prop_assert_eq!(get_bit(&p, i), get_bit(&bytes, i));
                }
            }
        }
    }
}
