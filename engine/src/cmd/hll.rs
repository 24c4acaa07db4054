//! HyperLogLog commands: PFADD PFCOUNT PFMERGE, on string values in Redis's HLL format so
//! that the bytes (what GET answers, what DUMP-style copies carry) are Redis's own.
//!
//! Format (written from the published description of Redis's HLL and Ertl's estimator):
//!
//! ```text
//! "HYLL" | encoding:u8 (0 dense, 1 sparse) | 3 unused bytes | cached cardinality: 8 bytes LE
//!        (bit 7 of the last byte set = cache invalid) | registers
//! ```
//!
//! 16384 registers (14 index bits of a 64-bit MurmurHash64A, seed 0xadc83b19); a register
//! holds the number of trailing zero bits + 1 of the remaining 50 hash bits. Dense: 6 bits
//! per register, packed from the low bits of each byte. Sparse: run-length opcodes
//! `ZERO 00llllll` (1..64 zero registers), `XZERO 01llllll llllllll` (1..16384),
//! `VAL 1vvvvvll` (1..4 registers of value 1..32). A sparse value turns dense when a
//! register needs a value above 32 or the string would grow past 3000 bytes
//! (hll-sparse-max-bytes).
//!
//! Changes are logged as the difference between the old and the new bytes: SETRANGE effects
//! of the changed header and register regions when the length is unchanged, a SET of the
//! whole value when it is not (a sparse opcode split, or the promotion to dense).

use bytes::Bytes;

use super::{note_dirty, note_lookup, Ctx};
use crate::keyspace::{Item, KeyRef, Record, Writer};
use crate::reply::{CmdError, CmdResult, Reply};
use crate::value::{StrBuf, Value, ValueRef};

/// Header bytes.
pub const HDR: usize = 16;
/// Index bits.
pub const P: u32 = 14;
/// Hash bits left for the run of zeros.
pub const Q: u32 = 64 - P;
/// Number of registers.
pub const REGISTERS: usize = 1 << P;
/// Length of a dense HLL string.
pub const DENSE_SIZE: usize = HDR + (REGISTERS * 6).div_ceil(8);
/// Largest sparse string before promotion to dense (Redis's hll-sparse-max-bytes default).
pub const SPARSE_MAX_BYTES: usize = 3000;
const ENC_DENSE: u8 = 0;
const ENC_SPARSE: u8 = 1;
const VAL_MAX_VALUE: u8 = 32;
const VAL_MAX_LEN: usize = 4;
const ZERO_MAX_LEN: usize = 64;
const XZERO_MAX_LEN: usize = 16384;

/// A sparse value that does not describe exactly 16384 registers (or an unknown encoding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupt;

fn corrupt_err() -> CmdError {
    CmdError::Other("INVALIDOBJ Corrupted HLL object detected".into())
}

fn not_hll_err() -> CmdError {
    CmdError::Other("WRONGTYPE Key is not a valid HyperLogLog string value.".into())
}

// ---- hashing -------------------------------------------------------------------------------

/// MurmurHash64A (Austin Appleby), reading 8-byte little-endian blocks.
pub fn murmur64a(key: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (key.len() as u64).wrapping_mul(M);
    let mut chunks = key.chunks_exact(8);
    for c in &mut chunks {
        let mut buf = [0u8; 8];
        buf.copy_from_slice(c);
        let mut k = u64::from_le_bytes(buf);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        for (i, b) in tail.iter().enumerate() {
            h ^= u64::from(*b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element goes to and the value it proposes for it.
pub fn pat_len(ele: &[u8]) -> (usize, u8) {
    let hash = murmur64a(ele, 0xadc8_3b19);
    let index = (hash & (REGISTERS as u64 - 1)) as usize;
    let rest = (hash >> P) | (1u64 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

// ---- dense registers -----------------------------------------------------------------------

/// Register `i` of packed 6-bit registers.
pub fn dense_get(regs: &[u8], i: usize) -> u8 {
    let bit = i * 6;
    let (byte, fb) = (bit / 8, bit % 8);
    let b0 = u16::from(regs.get(byte).copied().unwrap_or(0));
    let b1 = u16::from(regs.get(byte + 1).copied().unwrap_or(0));
    (((b0 | (b1 << 8)) >> fb) & 63) as u8
}

/// Sets register `i` of packed 6-bit registers to `v` (< 64).
pub fn dense_set(regs: &mut [u8], i: usize, v: u8) {
    let bit = i * 6;
    let (byte, fb) = (bit / 8, bit % 8);
    let v = u16::from(v & 63) << fb;
    let m = 63u16 << fb;
    if let Some(b) = regs.get_mut(byte) {
        *b = (*b & !(m as u8)) | v as u8;
    }
    if let Some(b) = regs.get_mut(byte + 1) {
        *b = (*b & !((m >> 8) as u8)) | (v >> 8) as u8;
    }
}

// ---- sparse opcodes ------------------------------------------------------------------------

enum Opc {
    Zero(usize),
    XZero(usize),
    Val(u8, usize),
}

/// The opcode at `p` and its length in bytes.
fn opcode(s: &[u8], p: usize) -> Option<(Opc, usize)> {
    let b = *s.get(p)?;
    Some(if b & 0xc0 == 0 {
        (Opc::Zero(usize::from(b & 0x3f) + 1), 1)
    } else if b & 0x80 == 0 {
        let lo = usize::from(s.get(p + 1).copied().unwrap_or(0));
        (Opc::XZero(((usize::from(b & 0x3f) << 8) | lo) + 1), 2)
    } else {
        (Opc::Val(((b >> 2) & 0x1f) + 1, usize::from(b & 3) + 1), 1)
    })
}

fn val_op(v: u8, len: usize) -> u8 {
    0x80 | ((v - 1) << 2) | (len as u8 - 1)
}

fn push_zeros(out: &mut Vec<u8>, len: usize) {
    if len > ZERO_MAX_LEN {
        let l = len - 1;
        out.push(0x40 | (l >> 8) as u8);
        out.push((l & 0xff) as u8);
    } else {
        out.push((len - 1) as u8);
    }
}

/// A new, empty HLL: sparse, all registers zero, cached cardinality 0.
pub fn empty() -> Vec<u8> {
    let mut v = b"HYLL".to_vec();
    v.push(ENC_SPARSE);
    v.resize(HDR, 0);
    let mut left = REGISTERS;
    while left > 0 {
        let n = left.min(XZERO_MAX_LEN);
        push_zeros(&mut v, n);
        left -= n;
    }
    v
}

/// Whether `s` is an HLL string (Redis's checks: length, magic, encoding, dense size).
pub fn is_hll(s: &[u8]) -> bool {
    s.len() >= HDR
        && &s[..4] == b"HYLL"
        && s[4] <= ENC_SPARSE
        && (s[4] != ENC_DENSE || s.len() == DENSE_SIZE)
}

fn invalidate_cache(v: &mut [u8]) {
    if let Some(b) = v.get_mut(15) {
        *b |= 0x80;
    }
}

/// The dense form of a sparse HLL (header copied, encoding changed).
pub fn sparse_to_dense(s: &[u8]) -> Result<Vec<u8>, Corrupt> {
    let mut d = vec![0u8; DENSE_SIZE];
    d[..HDR].copy_from_slice(s.get(..HDR).ok_or(Corrupt)?);
    d[4] = ENC_DENSE;
    let regs = &mut d[HDR..];
    let (mut p, mut idx) = (HDR, 0usize);
    while let Some((op, len)) = opcode(s, p) {
        match op {
            Opc::Zero(n) | Opc::XZero(n) => idx += n,
            Opc::Val(v, n) => {
                if idx + n > REGISTERS {
                    break;
                }
                for i in idx..idx + n {
                    dense_set(regs, i, v);
                }
                idx += n;
            }
        }
        p += len;
    }
    if idx != REGISTERS {
        return Err(Corrupt);
    }
    Ok(d)
}

/// Raises register `index` of the sparse HLL `v` to `count`, editing the opcodes exactly as
/// Redis does (so the bytes match), promoting to dense when needed. Returns whether a
/// register changed.
pub fn sparse_set(v: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    if count > VAL_MAX_VALUE {
        return promote(v, index, count);
    }
    // Find the opcode covering `index`.
    let (mut p, mut first, mut prev) = (HDR, 0usize, None);
    let (op, oplen) = loop {
        let (op, len) = opcode(v, p).ok_or(Corrupt)?;
        let span = match op {
            Opc::Zero(n) | Opc::XZero(n) | Opc::Val(_, n) => n,
        };
        if index < first + span {
            break (op, len);
        }
        prev = Some(p);
        p += len;
        first += span;
    };
    let mut seq: Vec<u8> = Vec::with_capacity(5);
    match op {
        Opc::Val(old, _) if old >= count => return Ok(false),
        Opc::Val(_, 1) | Opc::Zero(1) => {
            v[p] = val_op(count, 1);
            return Ok(merge_after(v, prev));
        }
        Opc::Zero(n) | Opc::XZero(n) => {
            let last = first + n - 1;
            if index != first {
                push_zeros(&mut seq, index - first);
            }
            seq.push(val_op(count, 1));
            if index != last {
                push_zeros(&mut seq, last - index);
            }
        }
        Opc::Val(cur, n) => {
            let last = first + n - 1;
            if index != first {
                seq.push(val_op(cur, index - first));
            }
            seq.push(val_op(count, 1));
            if index != last {
                seq.push(val_op(cur, last - index));
            }
        }
    }
    if seq.len() > oplen && v.len() + seq.len() - oplen > SPARSE_MAX_BYTES {
        return promote(v, index, count);
    }
    v.splice(p..(p + oplen).min(v.len()), seq);
    Ok(merge_after(v, prev))
}

/// After an update: merges adjacent VAL opcodes of equal value, scanning up to 5 opcodes
/// from the one before the change, then invalidates the cached cardinality.
fn merge_after(v: &mut Vec<u8>, prev: Option<usize>) -> bool {
    let mut p = prev.unwrap_or(HDR);
    let mut budget = 5;
    while p < v.len() && budget > 0 {
        budget -= 1;
        let b = v[p];
        if b & 0xc0 == 0x40 {
            p += 2;
            continue;
        }
        if b & 0xc0 == 0 {
            p += 1;
            continue;
        }
        if let Some(&n) = v.get(p + 1) {
            if n & 0x80 != 0 {
                let (v1, l1) = (((b >> 2) & 0x1f) + 1, usize::from(b & 3) + 1);
                let (v2, l2) = (((n >> 2) & 0x1f) + 1, usize::from(n & 3) + 1);
                if v1 == v2 && l1 + l2 <= VAL_MAX_LEN {
                    v[p + 1] = val_op(v1, l1 + l2);
                    v.remove(p);
                    continue;
                }
            }
        }
        p += 1;
    }
    invalidate_cache(v);
    true
}

fn promote(v: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    let mut d = sparse_to_dense(v)?;
    let regs = &mut d[HDR..];
    let changed = dense_get(regs, index) < count;
    if changed {
        dense_set(regs, index, count);
    }
    *v = d;
    Ok(changed)
}

/// Adds one element. Returns whether a register changed.
pub fn add(v: &mut Vec<u8>, ele: &[u8]) -> Result<bool, Corrupt> {
    let (index, count) = pat_len(ele);
    set_register(v, index, count)
}

/// Raises register `index` to `count` in either encoding.
pub fn set_register(v: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    match v.get(4) {
        Some(&ENC_DENSE) => {
            let regs = v.get_mut(HDR..).ok_or(Corrupt)?;
            if dense_get(regs, index) < count {
                dense_set(regs, index, count);
                Ok(true)
            } else {
                Ok(false)
            }
        }
        Some(&ENC_SPARSE) => sparse_set(v, index, count),
        _ => Err(Corrupt),
    }
}

/// `max[i] = max(max[i], register i of s)`.
pub fn merge_into(max: &mut [u8], s: &[u8]) -> Result<(), Corrupt> {
    if s.get(4) == Some(&ENC_DENSE) {
        let regs = s.get(HDR..).ok_or(Corrupt)?;
        for (i, m) in max.iter_mut().enumerate().take(REGISTERS) {
            *m = (*m).max(dense_get(regs, i));
        }
        return Ok(());
    }
    let (mut p, mut idx) = (HDR, 0usize);
    while idx < REGISTERS {
        let Some((op, len)) = opcode(s, p) else { break };
        match op {
            Opc::Zero(n) | Opc::XZero(n) => idx += n,
            Opc::Val(v, n) => {
                if idx + n > REGISTERS {
                    break;
                }
                for m in max.iter_mut().skip(idx).take(n) {
                    *m = (*m).max(v);
                }
                idx += n;
            }
        }
        p += len;
    }
    if idx != REGISTERS {
        return Err(Corrupt);
    }
    Ok(())
}

/// The histogram of register values of an HLL string.
pub fn histogram(s: &[u8]) -> Result<[u32; 64], Corrupt> {
    let mut h = [0u32; 64];
    match s.get(4) {
        Some(&ENC_DENSE) => {
            let regs = s.get(HDR..).ok_or(Corrupt)?;
            for i in 0..REGISTERS {
                h[usize::from(dense_get(regs, i))] += 1;
            }
        }
        Some(&ENC_SPARSE) => {
            let (mut p, mut idx) = (HDR, 0usize);
            while let Some((op, len)) = opcode(s, p) {
                let (v, n) = match op {
                    Opc::Zero(n) | Opc::XZero(n) => (0, n),
                    Opc::Val(v, n) => (v, n),
                };
                idx += n;
                h[usize::from(v)] = h[usize::from(v)].wrapping_add(n as u32);
                p += len;
            }
            if idx != REGISTERS {
                return Err(Corrupt);
            }
        }
        _ => return Err(Corrupt),
    }
    Ok(h)
}

/// Histogram of plain (one byte each) registers.
pub fn histogram_raw(regs: &[u8]) -> [u32; 64] {
    let mut h = [0u32; 64];
    for r in regs {
        h[usize::from(*r & 63)] += 1;
    }
    h
}

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let prev = z;
        z += x * y;
        y += y;
        if prev == z {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let prev = z;
        y *= 0.5;
        let d = 1.0 - x;
        z -= d * d * y;
        if prev == z {
            return z / 3.0;
        }
    }
}

/// Ertl's improved estimator ("New cardinality estimation algorithms for HyperLogLog
/// sketches", 2017) from a register histogram, rounded half away from zero.
pub fn estimate(h: &[u32; 64]) -> u64 {
    let m = REGISTERS as f64;
    let q = Q as usize;
    let mut z = m * tau((m - f64::from(h[q + 1])) / m);
    for j in (1..=q).rev() {
        z += f64::from(h[j]);
        z *= 0.5;
    }
    z += m * sigma(f64::from(h[0]) / m);
    let alpha_inf = 0.721_347_520_444_481_7_f64;
    let e = (alpha_inf * m * m / z).round();
    if e.is_finite() && e > 0.0 {
        e as u64
    } else {
        0
    }
}

/// The cardinality of an HLL string (not using the cache).
pub fn count(s: &[u8]) -> Result<u64, Corrupt> {
    Ok(estimate(&histogram(s)?))
}

// ---- logging -------------------------------------------------------------------------------

/// Logs the change from `old` to `new` at `key`: SETRANGE effects of the changed header and
/// register regions when the length is unchanged, else a SET of the whole value.
fn log_change(w: &mut Writer<'_>, db: u32, key: &[u8], old: &[u8], new: &[u8], expire_at: i64) {
    let Some(mut r) = w.record() else { return };
    if old.len() != new.len() {
        r.set(
            db,
            key,
            ValueRef::Str {
                data: new,
                raw: true,
            },
            expire_at,
        );
        return;
    }
    let split = HDR.min(new.len());
    for (from, to) in [(0, split), (split, new.len())] {
        let (a, b) = (&old[from..to], &new[from..to]);
        let Some(lo) = a.iter().zip(b).position(|(x, y)| x != y) else {
            continue;
        };
        let hi = a.iter().zip(b).rposition(|(x, y)| x != y).unwrap_or(lo);
        r.setrange(db, key, (from + lo) as u64, &b[lo..=hi]);
    }
}

/// The HLL string at `k` in a write-locked shard: None when missing; WRONGTYPE errors.
fn hll_at(item: Option<&Record>) -> Result<Option<Bytes>, CmdError> {
    match item {
        None => Ok(None),
        Some(item) => match item.as_str() {
            Some(data) if is_hll(data) => Ok(Some(Bytes::copy_from_slice(data))),
            Some(_) => Err(not_hll_err()),
            None => Err(CmdError::WrongType),
        },
    }
}

// ---- commands ------------------------------------------------------------------------------

/// PFADD key [element [element ...]]
pub fn pfadd(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let k = ctx.db.locate(&args[1]);
    let mut w = ctx.ks.writer();
    let mut sh = ctx.db.write(k.shard, &w);
    let now = ctx.now_ms;
    let existing = hll_at(sh.get_mut(&k, now, &mut w).map(|i| &*i))?;
    let created = existing.is_none();
    let mut v = existing.as_deref().map_or_else(empty, <[u8]>::to_vec);
    let mut updated = u64::from(created);
    let mut failed = false;
    for e in &args[2..] {
        match add(&mut v, e) {
            Ok(true) => updated += 1,
            Ok(false) => {}
            Err(Corrupt) => {
                failed = true;
                break;
            }
        }
    }
    if updated > 0 && !failed {
        invalidate_cache(&mut v);
    }
    if created {
        let value = Value::Str {
            data: StrBuf::from(v),
            raw: true,
        };
        sh.insert(&k, Item::new(value, now), &mut w);
    } else if let (Some(old), Some(item)) = (&existing, sh.get_mut(&k, now, &mut w)) {
        if old[..] != v[..] {
            log_change(&mut w, ctx.db.id, &args[1], old, &v, item.expire_at());
            item.set_str(&v, true);
        } else if !item.is_raw() {
            // Redis unshares the value into a raw string even when nothing changes.
            let len = old.len();
            let one = item.resize_str(len, true).get(..1).map(<[u8]>::to_vec);
            if let Some(mut r) = w.record() {
                r.setrange(ctx.db.id, &args[1], 0, &one.unwrap_or_default());
            }
        }
    }
    drop(sh);
    drop(w);
    if failed {
        return Err(corrupt_err());
    }
    if updated > 0 {
        note_dirty(ctx, updated);
    }
    Ok(Reply::Int(i64::from(updated > 0)))
}

/// PFCOUNT key [key ...]
pub fn pfcount(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() > 2 {
        let keys: Vec<KeyRef<'_>> = args[1..].iter().map(|a| ctx.db.locate(a)).collect();
        let guards = ctx.db.read_many(&keys);
        let mut max = vec![0u8; REGISTERS];
        let mut hits = 0;
        for k in &keys {
            let Some(s) = hll_at(guards.shard(k).get(k, ctx.now_ms))? else {
                continue;
            };
            hits += 1;
            merge_into(&mut max, &s).map_err(|_| corrupt_err())?;
        }
        drop(guards);
        ctx.hits += hits;
        ctx.misses += keys.len() as u64 - hits;
        return Ok(Reply::Int(estimate(&histogram_raw(&max)) as i64));
    }
    let k = ctx.db.locate(&args[1]);
    let mut w = ctx.ks.writer();
    let mut sh = ctx.db.write(k.shard, &w);
    let now = ctx.now_ms;
    let Some(item) = sh.get_mut(&k, now, &mut w) else {
        drop(sh);
        drop(w);
        note_lookup(ctx, false);
        return Ok(Reply::Int(0));
    };
    let s = hll_at(Some(&*item))?.unwrap_or_default();
    let mut card = [0u8; 8];
    card.copy_from_slice(&s[8..16]);
    if card[7] & 0x80 == 0 {
        drop(sh);
        drop(w);
        note_lookup(ctx, true);
        return Ok(Reply::Int(u64::from_le_bytes(card) as i64));
    }
    let n = count(&s).map_err(|_| corrupt_err())?;
    let mut v = s.to_vec();
    v[8..16].copy_from_slice(&n.to_le_bytes());
    log_change(&mut w, ctx.db.id, &args[1], &s, &v, item.expire_at());
    item.set_str(&v, true);
    drop(sh);
    drop(w);
    note_lookup(ctx, true);
    note_dirty(ctx, 1);
    Ok(Reply::Int(n as i64))
}

/// PFMERGE destkey [sourcekey [sourcekey ...]]
pub fn pfmerge(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let keys: Vec<KeyRef<'_>> = args[1..].iter().map(|a| ctx.db.locate(a)).collect();
    let mut w = ctx.ks.writer();
    let mut guards = ctx.db.write_many(&keys, &w);
    let now = ctx.now_ms;
    let mut max = vec![0u8; REGISTERS];
    let mut dense = false;
    for k in &keys {
        let Some(s) = hll_at(guards.shard(k).get(k, now))? else {
            continue;
        };
        dense |= s[4] == ENC_DENSE;
        merge_into(&mut max, &s).map_err(|_| corrupt_err())?;
    }
    let dest = keys[0];
    let sh = guards.shard(&dest);
    let existing = hll_at(sh.get_mut(&dest, now, &mut w).map(|i| &*i))?;
    let mut v = existing.as_deref().map_or_else(empty, <[u8]>::to_vec);
    if dense && v[4] == ENC_SPARSE {
        v = sparse_to_dense(&v).map_err(|_| corrupt_err())?;
    }
    for (i, m) in max.iter().enumerate() {
        if *m > 0 {
            set_register(&mut v, i, *m).map_err(|_| corrupt_err())?;
        }
    }
    invalidate_cache(&mut v);
    match (&existing, sh.get_mut(&dest, now, &mut w)) {
        (Some(old), Some(item)) => {
            // Logged even when unchanged so replay also makes the value raw-encoded.
            if old[..] == v[..] {
                if let Some(mut r) = w.record() {
                    r.setrange(ctx.db.id, &args[1], 15, &v[15..16]);
                }
            } else {
                log_change(&mut w, ctx.db.id, &args[1], old, &v, item.expire_at());
            }
            item.set_str(&v, true);
        }
        _ => {
            let value = Value::Str {
                data: StrBuf::from(v),
                raw: true,
            };
            sh.insert(&dest, Item::new(value, now), &mut w);
        }
    }
    drop(guards);
    drop(w);
    note_dirty(ctx, 1);
    Ok(Reply::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur_vectors() {
        // Reference values of MurmurHash64A (seed 0 and Redis's HLL seed), computed with
        // Appleby's reference C implementation.
        assert_eq!(murmur64a(b"", 0), 0);
        assert_eq!(murmur64a(b"hello", 0), 0x1e68_d17c_457b_f117);
        assert_eq!(murmur64a(b"", 0xadc8_3b19), 0xd8df_ea65_85bc_9732);
        assert_eq!(
            murmur64a(b"0123456789abcdefXYZ", 0xadc8_3b19),
            0x0301_0947_24c4_601e
        );
    }

    #[test]
    fn empty_is_one_xzero() {
        let e = empty();
        assert_eq!(e.len(), 18);
        assert_eq!(&e[..5], b"HYLL\x01");
        assert_eq!(&e[16..], &[0x7f, 0xff]);
        assert!(is_hll(&e));
        assert_eq!(count(&e), Ok(0));
    }

    #[test]
    fn sparse_split_and_merge() {
        let mut v = empty();
        assert_eq!(sparse_set(&mut v, 0, 3), Ok(true));
        // VAL(3,1) XZERO(16383)
        assert_eq!(&v[16..], &[0x80 | (2 << 2), 0x7f, 0xfe]);
        assert_eq!(v[15] & 0x80, 0x80);
        assert_eq!(sparse_set(&mut v, 0, 2), Ok(false));
        assert_eq!(sparse_set(&mut v, 1, 3), Ok(true));
        // The two VAL(3,1) merge into VAL(3,2).
        assert_eq!(&v[16..], &[0x80 | (2 << 2) | 1, 0x7f, 0xfd]);
        assert_eq!(sparse_set(&mut v, 100, 1), Ok(true));
        // VAL(3,2) ZERO(98) -> XZERO(98) since > 64, VAL(1,1), XZERO(16283).
        assert_eq!(v[16], 0x80 | (2 << 2) | 1);
        assert_eq!(&v[17..19], &[0x40, 97]);
        assert_eq!(v[19], 0x80);
        let d = sparse_to_dense(&v).unwrap_or_default();
        assert_eq!(d.len(), DENSE_SIZE);
        let regs = &d[HDR..];
        assert_eq!(
            (
                dense_get(regs, 0),
                dense_get(regs, 1),
                dense_get(regs, 2),
                dense_get(regs, 100)
            ),
            (3, 3, 0, 1)
        );
        assert_eq!(count(&v), count(&d));
        // A value above 32 promotes.
        assert_eq!(sparse_set(&mut v, 5, 40), Ok(true));
        assert_eq!(v.len(), DENSE_SIZE);
        assert_eq!(dense_get(&v[HDR..], 5), 40);
    }

    #[test]
    fn dense_registers_pack_six_bits() {
        let mut r = vec![0u8; (REGISTERS * 6).div_ceil(8)];
        for i in 0..REGISTERS {
            dense_set(&mut r, i, (i % 64) as u8);
        }
        for i in 0..REGISTERS {
            assert_eq!(dense_get(&r, i), (i % 64) as u8);
        }
        let mut r = vec![0u8; 3];
        dense_set(&mut r, 1, 63);
        assert_eq!(r, vec![0xc0, 0x0f, 0]);
    }

    #[test]
    fn corrupt_sparse_is_detected() {
        let mut v = empty();
        v.truncate(17);
        v[16] = 0x00; // ZERO(1) only: 1 register
        assert_eq!(count(&v), Err(Corrupt));
        assert_eq!(sparse_to_dense(&v), Err(Corrupt));
        let mut m = vec![0u8; REGISTERS];
        assert_eq!(merge_into(&mut m, &v), Err(Corrupt));
    }

    #[test]
    fn estimates_are_close() {
        let mut v = empty();
        for i in 0..10_000u32 {
            let _ = add(&mut v, i.to_string().as_bytes());
        }
        let n = count(&v).unwrap_or(0);
        assert!((9_700..10_300).contains(&n), "{n}");
    }
}
