//! Compact per-key record: one heap allocation per key.
//!
//! A [`Record<V>`] is a thin (8-byte, non-null, niche-optimised) owning pointer
//! to a single allocation holding a tiny header, the expiry (only when set),
//! the key bytes, and either a string value's bytes or an inline collection
//! value `V`.
//!
//! # Layout
//!
//! The allocation is aligned to 8 and has no trailing padding: its size is
//! exactly the end of the last field.
//!
//! ```text
//! offset        size    field
//! ------------  ------  ------------------------------------------------------
//! 0             4       access_s   AtomicU32: last access time in seconds
//!                                  (OBJECT IDLETIME); the ONLY bytes ever
//!                                  written through `&self`
//! 4             1       flags      bits 0-1 kind: 0 = STR, 1 = STR_RAW
//!                                  (built by APPEND/SETRANGE), 2 = VALUE;
//!                                  bit 4 (0x10) = HAS_EXPIRE; other bits 0
//! 5             1       key_len8   key length if < 255; 255 = the key length
//!                                  is the u32 `key_len32` below
//! 6             2       reserved   always 0
//! ---- variable part: every offset follows from the fields before it ----
//! 8             8       expire_at  i64, only if HAS_EXPIRE
//! E             |V|     value      V, only if kind == VALUE; E = 8, or 16 with
//!                                  expiry; both are 8-aligned and
//!                                  align_of::<V>() <= 8 is checked at compile
//!                                  time
//! E             1..=5   str_len    LEB128 u32 (1 byte below 128, 2 below
//!                                  16384, ...), only for STR / STR_RAW
//! L             4       key_len32  u32 LE, only if key_len8 == 255
//! K             klen    key        key bytes
//! K + klen      slen    data       string bytes, only for STR / STR_RAW
//! K+klen+slen           (end of allocation)
//! ```
//!
//! Example sizes (allocation `Layout` size; jemalloc rounds up to its size
//! class): 14-byte key + 100-byte string = 8 + 1 + 14 + 100 = 123 (class
//! 128); 7-byte key + 10-byte string = 26 (class 32); an expiry adds 8; a
//! 14-byte key with a 40-byte `V` = 8 + 40 + 14 = 62 (class 64).
//!
//! # Invariants
//!
//! 1. **The header describes the current allocation exactly.** From `flags`,
//!    `key_len8`, the varint `str_len` and `key_len32` (each read at the
//!    offset implied by the fields before it) the private `Shape::decode`
//!    recomputes every offset and the allocation size, and therefore the
//!    `Layout` (size, align 8) the block was allocated/reallocated with. Every
//!    mutating method rewrites the header in the same unsafe section that
//!    changes the allocation, with no panic point in between, so `Drop`,
//!    `realloc` and `dealloc` always get the right `Layout`.
//! 2. For kind VALUE an initialised `V`, owned by the record, lives at offset
//!    `E`; it is dropped exactly once (by `set_value`, `set_str`,
//!    `resize_str` or `Drop`) or moved out exactly once (`into_parts`). `V`
//!    may be moved bytewise by `realloc`/`copy` (all Rust values are movable).
//! 3. For STR kinds the `str_len` data bytes are initialised. Key bytes are
//!    initialised and immutable for the life of the record.
//! 4. Bytes `0..4` are only accessed as an `AtomicU32` by `&self` methods, so
//!    `access()` may race with any other `&self` method (including `clone`,
//!    which never copies those bytes non-atomically).
//! 5. Lengths are stored as `u32`: a key or string longer than `u32::MAX`
//!    bytes makes the constructor/mutator panic with a clear message. Callers
//!    enforce Redis' 512 MB limit, so this is an invariant violation, not a
//!    runtime error path. Allocation failure goes to
//!    [`std::alloc::handle_alloc_error`].
//!
//! `V` must have `align_of::<V>() <= 8`; this is a post-monomorphisation
//! compile error otherwise:
//!
//! ```compile_fail
//! #[repr(align(16))]
//! struct Big(u8);
//! let _ = vole_engine::record::Record::<Big>::new_value(b"k", Big(1), 0, 0);
//! ```
//!
//! `Record<V>` is `Send`/`Sync` exactly when `V` is:
//!
//! ```compile_fail
//! fn send<T: Send>(_: T) {}
//! send(vole_engine::record::Record::new_value(b"k", std::rc::Rc::new(1u8), 0, 0));
//! ```
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

use std::alloc::{alloc, dealloc, handle_alloc_error, realloc, Layout};
use std::fmt;
use std::marker::PhantomData;
use std::mem::{self, ManuallyDrop};
use std::ptr::{self, NonNull};
use std::slice;
use std::sync::atomic::{AtomicU32, Ordering};

/// Alignment of every record allocation.
const ALIGN: usize = 8;
/// Size of the fixed header (access, flags, key_len8, reserved).
const HEADER: usize = 8;
const OFF_FLAGS: usize = 4;
const OFF_KEY_LEN8: usize = 5;
const OFF_RESERVED: usize = 6;
const OFF_EXPIRE: usize = HEADER;
const EXPIRE_LEN: usize = 8;

const KIND_MASK: u8 = 0x03;
const KIND_STR: u8 = 0;
const KIND_STR_RAW: u8 = 1;
const KIND_VALUE: u8 = 2;
const FLAG_EXPIRE: u8 = 0x10;

/// `key_len8` value meaning "the length is the u32 stored at `key_len32`".
const KEY_LEN_BIG: u8 = u8::MAX;
const KEY_LEN32_BYTES: usize = 4;
/// Maximum encoded length of a LEB128 `u32`.
const MAX_VARINT: usize = 5;

/// The decoded geometry of one allocation. Only ever produced by
/// [`Shape::compute`] (directly or via [`Shape::decode`]), which validates
/// every field, so `layout()` can skip the checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Shape {
    flags: u8,
    key_len: usize,
    /// String length; 0 for VALUE.
    str_len: usize,
    /// Offset of `V` / the `str_len` varint (8 or 16).
    var_off: usize,
    /// Offset of `key_len32` (equals `key_off` when the key is short).
    key_len32_off: usize,
    key_off: usize,
    /// `key_off + key_len`: start of the string bytes (end for VALUE).
    data_off: usize,
    /// Total allocation size.
    size: usize,
}

#[cold]
#[inline(never)]
fn too_long(what: &str, len: usize) -> ! {
    panic!(
        "Record: {what} length {len} does not fit the u32 length field; \
         callers must enforce the 512 MB limit"
    )
}

#[cold]
#[inline(never)]
fn too_large() -> ! {
    panic!("Record: allocation size overflows isize::MAX")
}

fn len_u32(what: &str, len: usize) -> u32 {
    match u32::try_from(len) {
        Ok(n) => n,
        Err(_) => too_long(what, len),
    }
}

fn add(a: usize, b: usize) -> usize {
    match a.checked_add(b) {
        Some(n) => n,
        None => too_large(),
    }
}

/// Encoded length of `n` as LEB128.
#[inline]
fn varint_len(n: u32) -> usize {
    match n {
        0..=0x7f => 1,
        0x80..=0x3fff => 2,
        0x4000..=0x1f_ffff => 3,
        0x20_0000..=0x0fff_ffff => 4,
        _ => 5,
    }
}

/// LEB128-encodes `n`; returns the buffer and the number of bytes used.
fn encode_varint(mut n: u32) -> ([u8; MAX_VARINT], usize) {
    let mut buf = [0u8; MAX_VARINT];
    let mut i = 0;
    while n >= 0x80 {
        buf[i] = (n as u8) | 0x80;
        n >>= 7;
        i += 1;
    }
    buf[i] = n as u8;
    (buf, i + 1)
}

/// Decodes a LEB128 `u32` written by [`encode_varint`].
///
/// # Safety
/// `p` must point to a complete varint produced by `encode_varint` (at most
/// [`MAX_VARINT`] readable, initialised bytes).
#[inline]
unsafe fn read_varint(p: *const u8) -> u32 {
    let mut n: u32 = 0;
    let mut shift = 0;
    for i in 0..MAX_VARINT {
        // SAFETY: the caller guarantees a complete varint at `p`; we stop at
        // the first byte without the continuation bit, which is within the
        // varint, so `p + i` is in bounds and initialised.
        let b = unsafe { p.add(i).read() };
        n |= u32::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    n
}

fn str_flags(raw: bool, has_expire: bool) -> u8 {
    let kind = if raw { KIND_STR_RAW } else { KIND_STR };
    if has_expire {
        kind | FLAG_EXPIRE
    } else {
        kind
    }
}

/// Where the variable part (string length varint or `V`) starts: after the header, and
/// after the expiry when the flags say there is one. Shared by [`Shape::compute`] and
/// [`Shape::decode`], which must agree.
#[inline]
const fn var_off(flags: u8) -> usize {
    if flags & FLAG_EXPIRE != 0 {
        HEADER + EXPIRE_LEN
    } else {
        HEADER
    }
}

impl Shape {
    /// Computes the geometry for `flags`, a key of `key_len` bytes and (for
    /// STR kinds) a string of `str_len` bytes. Panics if a length exceeds
    /// `u32::MAX` or the total overflows a valid `Layout`.
    fn compute<V>(flags: u8, key_len: usize, str_len: usize) -> Shape {
        const {
            assert!(
                align_of::<V>() <= ALIGN,
                "Record<V> requires align_of::<V>() <= 8"
            )
        };
        let var_off = var_off(flags);
        let (var_len, str_len) = if flags & KIND_MASK == KIND_VALUE {
            (size_of::<V>(), 0)
        } else {
            (varint_len(len_u32("string", str_len)), str_len)
        };
        let key_len32 = if len_u32("key", key_len) >= u32::from(KEY_LEN_BIG) {
            KEY_LEN32_BYTES
        } else {
            0
        };
        let key_len32_off = add(var_off, var_len);
        let key_off = add(key_len32_off, key_len32);
        let data_off = add(key_off, key_len);
        let size = add(data_off, str_len);
        if Layout::from_size_align(size, ALIGN).is_err() {
            too_large();
        }
        Shape {
            flags,
            key_len,
            str_len,
            var_off,
            key_len32_off,
            key_off,
            data_off,
            size,
        }
    }

    /// Reads the header of the allocation at `p` and recomputes its shape.
    ///
    /// # Safety
    /// `p` must point to a live record allocation for the same `V` whose
    /// header satisfies the module invariants.
    #[inline]
    unsafe fn decode<V>(p: *const u8) -> Shape {
        // SAFETY: by invariant 1 the header bytes exist; if the kind is a
        // string, a complete varint sits at `var_off`; if `key_len8 == 255`,
        // a u32 sits right after the varint / `V`. None of these reads touch
        // bytes 0..4, so they cannot race with `access()`.
        unsafe {
            let flags = p.add(OFF_FLAGS).read();
            let key_len8 = p.add(OFF_KEY_LEN8).read();
            let var_off = var_off(flags);
            let (var_len, str_len) = if flags & KIND_MASK == KIND_VALUE {
                (size_of::<V>(), 0)
            } else {
                let n = read_varint(p.add(var_off));
                (varint_len(n), n as usize)
            };
            let key_len32_off = var_off + var_len;
            let (key_len, key_off) = if key_len8 == KEY_LEN_BIG {
                let b = p.add(key_len32_off).cast::<[u8; 4]>().read();
                (
                    u32::from_le_bytes(b) as usize,
                    key_len32_off + KEY_LEN32_BYTES,
                )
            } else {
                (usize::from(key_len8), key_len32_off)
            };
            // No overflow or layout checks here (this runs on every key
            // comparison): `compute` validated these same sums when the
            // allocation was made, and the header describes it exactly
            // (invariant 1).
            let data_off = key_off + key_len;
            Shape {
                flags,
                key_len,
                str_len,
                var_off,
                key_len32_off,
                key_off,
                data_off,
                size: data_off + str_len,
            }
        }
    }

    fn layout(&self) -> Layout {
        // SAFETY: `compute` checked `Layout::from_size_align(size, ALIGN)`.
        unsafe { Layout::from_size_align_unchecked(self.size, ALIGN) }
    }

    fn kind(&self) -> u8 {
        self.flags & KIND_MASK
    }

    fn is_value(&self) -> bool {
        self.kind() == KIND_VALUE
    }

    fn has_expire(&self) -> bool {
        self.flags & FLAG_EXPIRE != 0
    }

    /// Length of the field at `var_off` (varint or `V`).
    fn var_len(&self) -> usize {
        self.key_len32_off - self.var_off
    }
}

/// Allocates a block for `shape` and writes everything except the payload
/// (string bytes or `V`): access, flags, key_len8, reserved, expiry, varint,
/// key_len32 and key.
///
/// # Safety
/// `shape` must come from `Shape::compute` with `key.len()` and with
/// `FLAG_EXPIRE` set iff `expire_at != 0`. The caller must initialise the
/// payload before the block is wrapped in a `Record`.
unsafe fn alloc_prefix(shape: &Shape, key: &[u8], expire_at: i64, access_s: u32) -> NonNull<u8> {
    debug_assert_eq!(key.len(), shape.key_len);
    debug_assert_eq!(shape.has_expire(), expire_at != 0);
    let layout = shape.layout();
    // SAFETY: `layout.size() >= HEADER > 0`.
    let raw = unsafe { alloc(layout) };
    let Some(p) = NonNull::new(raw) else {
        handle_alloc_error(layout)
    };
    let b = p.as_ptr();
    let key_len8 = if shape.key_len < usize::from(KEY_LEN_BIG) {
        shape.key_len as u8
    } else {
        KEY_LEN_BIG
    };
    // SAFETY: every write is inside `[0, shape.size)` by construction of the
    // shape's offsets; the block is 8-aligned, so the AtomicU32 at 0 and the
    // i64 at 8 are aligned; the key comes from a different allocation.
    unsafe {
        b.cast::<AtomicU32>().write(AtomicU32::new(access_s));
        b.add(OFF_FLAGS).write(shape.flags);
        b.add(OFF_KEY_LEN8).write(key_len8);
        b.add(OFF_RESERVED).write_bytes(0, 2);
        if shape.has_expire() {
            b.add(OFF_EXPIRE).cast::<i64>().write(expire_at);
        }
        if !shape.is_value() {
            let (buf, n) = encode_varint(shape.str_len as u32);
            ptr::copy_nonoverlapping(buf.as_ptr(), b.add(shape.var_off), n);
        }
        if key_len8 == KEY_LEN_BIG {
            let bytes = (shape.key_len as u32).to_le_bytes();
            b.add(shape.key_len32_off).cast::<[u8; 4]>().write(bytes);
        }
        ptr::copy_nonoverlapping(key.as_ptr(), b.add(shape.key_off), key.len());
    }
    p
}

/// Asks the CPU to start loading the cache line at `p` (a hint: nothing is read, and an
/// address that is not mapped is ignored). Lookups of a pipelined batch use it to overlap
/// their cache misses; see [`Record::prefetch`].
#[inline]
pub fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `_mm_prefetch` needs SSE, which every x86_64 CPU has. A prefetch does not
    // access memory in the language's sense and never faults, whatever the address.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(p.cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Frees a record allocation when dropped (used so that a panicking
/// `V::drop` still frees the block).
struct FreeOnDrop {
    ptr: NonNull<u8>,
    layout: Layout,
}

impl Drop for FreeOnDrop {
    fn drop(&mut self) {
        // SAFETY: `ptr` was allocated with exactly `layout` (invariant 1) and
        // ownership of the block was transferred to this guard.
        unsafe { dealloc(self.ptr.as_ptr(), self.layout) }
    }
}

/// The value of a record, moved out by [`Record::into_parts`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload<V> {
    /// A string; `raw` marks strings built by APPEND/SETRANGE.
    Str { data: Vec<u8>, raw: bool },
    /// A collection value.
    Value(V),
}

/// Borrowed view of the payload.
enum View<'a, V> {
    Str(&'a [u8]),
    Value(&'a V),
}

/// One key with its value, expiry and access time in a single allocation.
/// See the [module docs](self) for the layout and invariants.
pub struct Record<V> {
    ptr: NonNull<u8>,
    /// The record logically owns a `V` (for drop check and auto traits).
    _owns: PhantomData<V>,
}

// SAFETY: a `Record<V>` uniquely owns its allocation (like `Box`); sending it
// to another thread transfers the `V` it may own, which `V: Send` permits.
// The rest of the block is plain bytes and an `AtomicU32`.
unsafe impl<V: Send> Send for Record<V> {}
// SAFETY: `&Record<V>` only hands out `&V` (needs `V: Sync`), `&[u8]` to
// bytes that are never mutated through `&self`, and `&AtomicU32`, which is
// `Sync`. No `&self` method writes anything non-atomically.
unsafe impl<V: Sync> Sync for Record<V> {}

impl<V> Record<V> {
    fn from_ptr(ptr: NonNull<u8>) -> Self {
        Record {
            ptr,
            _owns: PhantomData,
        }
    }

    /// Asks the CPU to start loading the record's first cache line (its header and, for a
    /// short key, the key and a short string), so that a lookup a little later finds it in
    /// cache. A hint only: it reads nothing, writes nothing, and cannot fault.
    #[inline]
    pub fn prefetch(&self) {
        prefetch(self.ptr.as_ptr().cast_const());
    }

    #[inline]
    fn shape(&self) -> Shape {
        // SAFETY: `self.ptr` is a live record allocation for `V`.
        let s = unsafe { Shape::decode::<V>(self.ptr.as_ptr()) };
        // The unchecked decode agrees with the checked computation (debug builds: every
        // test that touches a record checks it).
        debug_assert!({
            let c = Shape::compute::<V>(s.flags, s.key_len, s.str_len);
            (c.key_off, c.data_off, c.size) == (s.key_off, s.data_off, s.size)
        });
        s
    }

    /// A string record. `expire_at == 0` means no expiry (no field stored).
    ///
    /// Panics if `key` or `data` is longer than `u32::MAX` bytes.
    pub fn new_str(key: &[u8], data: &[u8], raw: bool, expire_at: i64, access_s: u32) -> Self {
        let shape = Shape::compute::<V>(str_flags(raw, expire_at != 0), key.len(), data.len());
        // SAFETY: `shape` was computed for this key, flags and expiry.
        let p = unsafe { alloc_prefix(&shape, key, expire_at, access_s) };
        // SAFETY: `[data_off, data_off + data.len()) == [data_off, size)` is
        // inside the fresh block, which cannot overlap `data`.
        unsafe {
            ptr::copy_nonoverlapping(data.as_ptr(), p.as_ptr().add(shape.data_off), data.len());
        }
        Self::from_ptr(p)
    }

    /// A string record of `len` zero bytes.
    fn new_str_zeroed(key: &[u8], len: usize, raw: bool, expire_at: i64, access_s: u32) -> Self {
        let shape = Shape::compute::<V>(str_flags(raw, expire_at != 0), key.len(), len);
        // SAFETY: `shape` was computed for this key, flags and expiry.
        let p = unsafe { alloc_prefix(&shape, key, expire_at, access_s) };
        // SAFETY: `[data_off, data_off + len)` is inside the fresh block.
        unsafe { p.as_ptr().add(shape.data_off).write_bytes(0, len) };
        Self::from_ptr(p)
    }

    /// A record holding the collection value `value` inline.
    ///
    /// Panics if `key` is longer than `u32::MAX` bytes.
    pub fn new_value(key: &[u8], value: V, expire_at: i64, access_s: u32) -> Self {
        let flags = if expire_at != 0 {
            KIND_VALUE | FLAG_EXPIRE
        } else {
            KIND_VALUE
        };
        let shape = Shape::compute::<V>(flags, key.len(), 0);
        // SAFETY: `shape` was computed for this key, flags and expiry.
        let p = unsafe { alloc_prefix(&shape, key, expire_at, access_s) };
        // SAFETY: `var_off` is 8 or 16 in an 8-aligned block and
        // `align_of::<V>() <= 8`, so the slot is aligned; `[var_off,
        // var_off + size_of::<V>())` is inside the block.
        unsafe { p.as_ptr().add(shape.var_off).cast::<V>().write(value) };
        Self::from_ptr(p)
    }

    /// The key bytes.
    #[inline]
    pub fn key(&self) -> &[u8] {
        let s = self.shape();
        // SAFETY: the key bytes are initialised, inside the block, and only
        // mutated (moved) through `&mut self` (invariant 3).
        unsafe { slice::from_raw_parts(self.ptr.as_ptr().add(s.key_off), s.key_len) }
    }

    /// The expiry, or 0 when none is set.
    pub fn expire_at(&self) -> i64 {
        // SAFETY: byte 4 is the flags byte of a live header.
        let flags = unsafe { self.ptr.as_ptr().add(OFF_FLAGS).read() };
        if flags & FLAG_EXPIRE == 0 {
            return 0;
        }
        // SAFETY: with HAS_EXPIRE an initialised i64 sits at offset 8, which
        // is 8-aligned; it is only written through `&mut self`.
        unsafe { self.ptr.as_ptr().add(OFF_EXPIRE).cast::<i64>().read() }
    }

    /// Sets (`at != 0`) or removes (`at == 0`) the expiry. Updates in place
    /// when the field already exists; otherwise the block is reallocated.
    pub fn set_expire_at(&mut self, at: i64) {
        let old = self.shape();
        match (old.has_expire(), at != 0) {
            (true, true) => {
                // SAFETY: HAS_EXPIRE: aligned i64 slot at offset 8; `&mut
                // self` gives exclusive access.
                unsafe { self.ptr.as_ptr().add(OFF_EXPIRE).cast::<i64>().write(at) };
            }
            (false, false) => {}
            (false, true) => {
                let new = Shape::compute::<V>(old.flags | FLAG_EXPIRE, old.key_len, old.str_len);
                // SAFETY: reshape contract: at = 8, remove = 0, insert = 8,
                // keep_end = old.size; 8 + 8 + (old.size - 8) == new.size.
                // The header is fixed right after (no panic point).
                unsafe {
                    self.reshape(&old, &new, OFF_EXPIRE, 0, EXPIRE_LEN, old.size);
                    let b = self.ptr.as_ptr();
                    b.add(OFF_FLAGS).write(new.flags);
                    b.add(OFF_EXPIRE).cast::<i64>().write(at);
                }
            }
            (true, false) => {
                let new = Shape::compute::<V>(old.flags & !FLAG_EXPIRE, old.key_len, old.str_len);
                // SAFETY: reshape contract: at = 8, remove = 8, insert = 0,
                // keep_end = old.size; 8 + (old.size - 16) == new.size. The
                // header is fixed right after (no panic point).
                unsafe {
                    self.reshape(&old, &new, OFF_EXPIRE, EXPIRE_LEN, 0, old.size);
                    self.ptr.as_ptr().add(OFF_FLAGS).write(new.flags);
                }
            }
        }
    }

    /// The last-access time, updatable through `&self`.
    pub fn access(&self) -> &AtomicU32 {
        // SAFETY: offset 0 of the 8-aligned block holds an initialised
        // AtomicU32 for the block's whole life; bytes 0..4 are never accessed
        // non-atomically while a `&self` exists (invariant 4).
        unsafe { &*self.ptr.as_ptr().cast::<AtomicU32>() }
    }

    fn kind(&self) -> u8 {
        // SAFETY: byte 4 is the flags byte of a live header.
        unsafe { self.ptr.as_ptr().add(OFF_FLAGS).read() & KIND_MASK }
    }

    /// True for STR and STR_RAW records.
    pub fn is_str(&self) -> bool {
        self.kind() != KIND_VALUE
    }

    /// True for strings built by APPEND/SETRANGE (STR_RAW).
    pub fn is_raw(&self) -> bool {
        self.kind() == KIND_STR_RAW
    }

    fn payload_view(&self) -> View<'_, V> {
        let s = self.shape();
        let b = self.ptr.as_ptr();
        if s.is_value() {
            // SAFETY: VALUE: an initialised, aligned `V` lives at `var_off`
            // (invariant 2); it is only mutated through `&mut self`.
            View::Value(unsafe { &*b.add(s.var_off).cast::<V>() })
        } else {
            // SAFETY: STR: `str_len` initialised bytes at `data_off`, inside
            // the block, only mutated through `&mut self`.
            View::Str(unsafe { slice::from_raw_parts(b.add(s.data_off), s.str_len) })
        }
    }

    /// The string bytes, or `None` for a VALUE record.
    pub fn str_bytes(&self) -> Option<&[u8]> {
        match self.payload_view() {
            View::Str(d) => Some(d),
            View::Value(_) => None,
        }
    }

    /// Mutable string bytes (the length cannot change; see
    /// [`resize_str`](Self::resize_str)), or `None` for a VALUE record.
    pub fn str_bytes_mut(&mut self) -> Option<&mut [u8]> {
        let s = self.shape();
        if s.is_value() {
            return None;
        }
        // SAFETY: see `data_mut`.
        Some(unsafe { self.data_mut(&s) })
    }

    /// # Safety
    /// `s` must be the current shape of a string record.
    unsafe fn data_mut(&mut self, s: &Shape) -> &mut [u8] {
        // SAFETY: STR: `str_len` initialised bytes at `data_off`; `&mut self`
        // is exclusive and the slice does not cover bytes 0..4.
        unsafe { slice::from_raw_parts_mut(self.ptr.as_ptr().add(s.data_off), s.str_len) }
    }

    /// The collection value, or `None` for a string record.
    pub fn value(&self) -> Option<&V> {
        match self.payload_view() {
            View::Value(v) => Some(v),
            View::Str(_) => None,
        }
    }

    /// The collection value, mutably, or `None` for a string record.
    pub fn value_mut(&mut self) -> Option<&mut V> {
        let s = self.shape();
        if !s.is_value() {
            return None;
        }
        // SAFETY: VALUE: initialised, aligned `V` at `var_off`; `&mut self`
        // is exclusive.
        Some(unsafe { &mut *self.ptr.as_ptr().add(s.var_off).cast::<V>() })
    }

    /// Makes this a string record holding `data` (key, expiry and access are
    /// kept; a previous `V` is dropped). Reuses/reallocates the block when it
    /// already is a string.
    ///
    /// Panics if `data` is longer than `u32::MAX` bytes.
    pub fn set_str(&mut self, data: &[u8], raw: bool) {
        if self.is_str() {
            let (s, _) = self.resize_str_uninit(data.len(), raw);
            // SAFETY: after `resize_str_uninit`, `[data_off, data_off +
            // data.len())` is inside the block; `data` cannot alias the block
            // because `self` is borrowed mutably.
            unsafe {
                ptr::copy_nonoverlapping(
                    data.as_ptr(),
                    self.ptr.as_ptr().add(s.data_off),
                    data.len(),
                );
            }
        } else {
            let access = self.access().load(Ordering::Relaxed);
            let new = Self::new_str(self.key(), data, raw, self.expire_at(), access);
            drop(mem::replace(self, new));
        }
    }

    /// Makes this a string of `new_len` bytes, keeping the common prefix of
    /// the old string and zero-filling any growth (a VALUE record becomes an
    /// all-zero string; its `V` is dropped). Uses `realloc` unless a shrink
    /// also shortens the length varint. Returns the string bytes.
    ///
    /// Panics if `new_len` exceeds `u32::MAX`.
    pub fn resize_str(&mut self, new_len: usize, raw: bool) -> &mut [u8] {
        if self.is_str() {
            let (s, old_len) = self.resize_str_uninit(new_len, raw);
            if new_len > old_len {
                // SAFETY: `[data_off + old_len, data_off + new_len)` is inside
                // the resized block.
                unsafe {
                    self.ptr
                        .as_ptr()
                        .add(s.data_off + old_len)
                        .write_bytes(0, new_len - old_len);
                }
            }
            // SAFETY: `s` is the current shape and all bytes are initialised.
            unsafe { self.data_mut(&s) }
        } else {
            let access = self.access().load(Ordering::Relaxed);
            let new = Self::new_str_zeroed(self.key(), new_len, raw, self.expire_at(), access);
            drop(mem::replace(self, new));
            let s = self.shape();
            // SAFETY: `s` is the current shape of the new string record.
            unsafe { self.data_mut(&s) }
        }
    }

    /// Resizes a string record's data to `new_len` and sets its kind.
    /// Bytes `[0, min(old, new))` keep their values; bytes past the old
    /// length are UNINITIALISED and must be written by the caller before
    /// anything reads them. Returns the new shape and the old length.
    fn resize_str_uninit(&mut self, new_len: usize, raw: bool) -> (Shape, usize) {
        let old = self.shape();
        debug_assert!(!old.is_value());
        let new = Shape::compute::<V>(str_flags(raw, old.has_expire()), old.key_len, new_len);
        let keep = old.str_len.min(new_len);
        // SAFETY: reshape contract with at = var_off (same in both shapes),
        // remove = old varint length, insert = new varint length, keep_end =
        // old.data_off + keep <= old.size; the moved tail ends at new.data_off
        // + keep <= new.size. The flags and varint are rewritten immediately
        // (no panic point), restoring invariant 1.
        unsafe {
            self.reshape(
                &old,
                &new,
                old.var_off,
                old.var_len(),
                new.var_len(),
                old.data_off + keep,
            );
            let b = self.ptr.as_ptr();
            b.add(OFF_FLAGS).write(new.flags);
            let (buf, n) = encode_varint(new_len as u32);
            ptr::copy_nonoverlapping(buf.as_ptr(), b.add(new.var_off), n);
        }
        (new, old.str_len)
    }

    /// Makes this a VALUE record holding `value` (key, expiry and access are
    /// kept; the previous string or `V` is dropped).
    pub fn set_value(&mut self, value: V) {
        if let Some(slot) = self.value_mut() {
            drop(mem::replace(slot, value));
        } else {
            let access = self.access().load(Ordering::Relaxed);
            let new = Self::new_value(self.key(), value, self.expire_at(), access);
            drop(mem::replace(self, new));
        }
    }

    /// Dismantles the record into (key, payload, expire_at, access), moving
    /// `V` out without cloning.
    pub fn into_parts(self) -> (Box<[u8]>, Payload<V>, i64, u32) {
        let this = ManuallyDrop::new(self);
        let s = this.shape();
        let key: Box<[u8]> = this.key().into();
        let expire_at = this.expire_at();
        let access = this.access().load(Ordering::Relaxed);
        let payload = match this.payload_view() {
            View::Str(d) => Payload::Str {
                data: d.to_vec(),
                raw: s.kind() == KIND_STR_RAW,
            },
            View::Value(v) => {
                // SAFETY: `v` points to the initialised `V` owned by this
                // record; the record is in `ManuallyDrop` and its block is
                // freed below without dropping `V`, so `V` is moved exactly
                // once.
                Payload::Value(unsafe { ptr::read(v) })
            }
        };
        drop(FreeOnDrop {
            ptr: this.ptr,
            layout: s.layout(),
        });
        (key, payload, expire_at, access)
    }

    /// Size of the allocation's `Layout` (before allocator rounding).
    pub fn alloc_bytes(&self) -> usize {
        self.shape().size
    }

    /// Changes the block to `new.size` bytes while moving bytes around:
    /// afterwards `[0, at)` is unchanged and the old bytes `[at + remove,
    /// keep_end)` sit at `at + insert`. Everything else in the new block is
    /// unspecified (possibly uninitialised). Uses `realloc` when growing or
    /// when nothing moves; a shrink that moves bytes allocates a fresh block
    /// (so a failed allocation never leaves a half-moved block behind).
    ///
    /// # Safety
    /// `old` is the current shape; `new` comes from `Shape::compute`;
    /// `at + remove <= keep_end <= old.size`;
    /// `at + insert + (keep_end - at - remove) <= new.size`; `at >= HEADER`
    /// when bytes move. On return the header still describes `old`: the caller
    /// must rewrite it to describe `new` before anything can panic or read it.
    unsafe fn reshape(
        &mut self,
        old: &Shape,
        new: &Shape,
        at: usize,
        remove: usize,
        insert: usize,
        keep_end: usize,
    ) {
        debug_assert!(at + remove <= keep_end && keep_end <= old.size);
        let moved = keep_end - at - remove;
        debug_assert!(at + insert + moved <= new.size);
        if new.size == old.size && insert == remove {
            return;
        }
        let old_layout = old.layout();
        let new_layout = new.layout();
        if new.size >= old.size || insert == remove {
            // SAFETY: the block was allocated with `old_layout`; `new.size`
            // is non-zero and forms a valid layout with align 8. realloc keeps
            // `[0, min(old.size, new.size))`; when growing, every source byte
            // (< keep_end <= old.size) survives, and when shrinking with
            // `insert == remove`, keep_end <= new.size so nothing needed is
            // cut off.
            let raw = unsafe { realloc(self.ptr.as_ptr(), old_layout, new.size) };
            let Some(p) = NonNull::new(raw) else {
                // The old block is untouched and still described by its header.
                handle_alloc_error(new_layout)
            };
            self.ptr = p;
            if insert != remove {
                // SAFETY: source `[at + remove, keep_end)` and destination
                // `[at + insert, at + insert + moved)` are both inside the
                // new block (see the contract); `copy` handles overlap.
                unsafe {
                    ptr::copy(
                        p.as_ptr().add(at + remove),
                        p.as_ptr().add(at + insert),
                        moved,
                    );
                }
            }
        } else {
            // SAFETY: `new_layout` has non-zero size.
            let raw = unsafe { alloc(new_layout) };
            let Some(p) = NonNull::new(raw) else {
                handle_alloc_error(new_layout)
            };
            let src = self.ptr.as_ptr();
            // SAFETY: `[0, at)` and `[at + remove, keep_end)` are inside the
            // old block, their destinations inside the new one (contract); the
            // blocks are distinct. `&mut self` makes the non-atomic copy of
            // bytes 0..4 race-free. The old block is then freed with the
            // layout it was allocated with; `V`, if any, was moved bytewise.
            unsafe {
                ptr::copy_nonoverlapping(src, p.as_ptr(), at);
                ptr::copy_nonoverlapping(src.add(at + remove), p.as_ptr().add(at + insert), moved);
                dealloc(src, old_layout);
            }
            self.ptr = p;
        }
    }
}

impl<V> Drop for Record<V> {
    fn drop(&mut self) {
        let s = self.shape();
        // Frees the block even if `V::drop` panics.
        let _free = FreeOnDrop {
            ptr: self.ptr,
            layout: s.layout(),
        };
        if s.is_value() {
            // SAFETY: VALUE: an initialised, aligned `V` owned by this record
            // lives at `var_off` and has not been dropped or moved out
            // (invariant 2); the block is freed right after by `_free`.
            unsafe { ptr::drop_in_place(self.ptr.as_ptr().add(s.var_off).cast::<V>()) };
        }
    }
}

impl<V: Clone> Clone for Record<V> {
    /// Deep copy with an identical layout. Never copies bytes 0..4
    /// non-atomically (so it may race with `access()` stores).
    fn clone(&self) -> Self {
        let access = self.access().load(Ordering::Relaxed);
        match self.payload_view() {
            View::Str(d) => Self::new_str(self.key(), d, self.is_raw(), self.expire_at(), access),
            View::Value(v) => Self::new_value(self.key(), v.clone(), self.expire_at(), access),
        }
    }
}

/// Debug helper printing bytes as an escaped byte string, truncated.
struct Bytes<'a>(&'a [u8]);

impl fmt::Debug for Bytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MAX: usize = 64;
        match self.0.get(..MAX) {
            Some(head) if self.0.len() > MAX => {
                write!(
                    f,
                    "b\"{}\"... ({} bytes)",
                    head.escape_ascii(),
                    self.0.len()
                )
            }
            _ => write!(f, "b\"{}\"", self.0.escape_ascii()),
        }
    }
}

impl<V: fmt::Debug> fmt::Debug for Record<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Record");
        d.field("key", &Bytes(self.key()))
            .field("expire_at", &self.expire_at())
            .field("access_s", &self.access().load(Ordering::Relaxed));
        match self.payload_view() {
            View::Str(data) => d
                .field("kind", if self.is_raw() { &"str_raw" } else { &"str" })
                .field("data", &Bytes(data)),
            View::Value(v) => d.field("value", v),
        };
        d.finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    /// A 40-byte, 8-aligned value that counts live instances.
    #[derive(Debug)]
    struct Tracked {
        n: u64,
        bytes: Vec<u8>,
        live: Rc<Cell<i64>>,
    }

    impl Tracked {
        fn new(n: u64, bytes: Vec<u8>, live: &Rc<Cell<i64>>) -> Self {
            live.set(live.get() + 1);
            Tracked {
                n,
                bytes,
                live: Rc::clone(live),
            }
        }
    }

    impl Clone for Tracked {
        fn clone(&self) -> Self {
            Tracked::new(self.n, self.bytes.clone(), &self.live)
        }
    }

    impl Drop for Tracked {
        fn drop(&mut self) {
            self.live.set(self.live.get() - 1);
        }
    }

    impl PartialEq for Tracked {
        fn eq(&self, o: &Self) -> bool {
            self.n == o.n && self.bytes == o.bytes
        }
    }

    /// Zero-sized value whose drops are counted in a thread-local.
    #[derive(Debug, PartialEq)]
    struct Zst;

    thread_local! {
        static ZST_DROPS: Cell<usize> = const { Cell::new(0) };
    }

    impl Drop for Zst {
        fn drop(&mut self) {
            ZST_DROPS.with(|c| c.set(c.get() + 1));
        }
    }

    /// 8-aligned value holding a u64 and a Vec.
    #[derive(Debug, Clone, PartialEq)]
    struct Aligned8 {
        a: u64,
        v: Vec<u64>,
    }

    fn pat(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    fn ref_varint_len(mut n: usize) -> usize {
        let mut c = 1;
        while n >= 128 {
            n >>= 7;
            c += 1;
        }
        c
    }

    /// Independent size formula: `str_len` = Some(len) for strings.
    fn expected_size<V>(key_len: usize, str_len: Option<usize>, expire: bool) -> usize {
        let exp = if expire { 8 } else { 0 };
        let payload = match str_len {
            Some(n) => ref_varint_len(n) + n,
            None => size_of::<V>(),
        };
        let big = if key_len >= 255 { 4 } else { 0 };
        8 + exp + payload + big + key_len
    }

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn record_is_one_thin_pointer() {
        // Proves Record is an 8-byte pointer with a niche and has the right auto traits.
        assert_eq!(size_of::<Record<u64>>(), 8);
        assert_eq!(size_of::<Option<Record<Aligned8>>>(), 8);
        assert_send_sync::<Record<Vec<u8>>>();
        assert_send_sync::<Record<Arc<u8>>>();
    }

    #[test]
    fn size_targets() {
        // Proves the allocation sizes meet the jemalloc size-class targets.
        let r = Record::<Tracked>::new_str(&[b'k'; 14], &[b'v'; 100], false, 0, 0);
        assert_eq!(r.alloc_bytes(), 123);
        assert!(r.alloc_bytes() <= 128);
        let r = Record::<Tracked>::new_str(&[b'k'; 7], &[b'v'; 10], false, 0, 0);
        assert_eq!(r.alloc_bytes(), 26);
        assert!(r.alloc_bytes() <= 32);
        let r = Record::<Tracked>::new_str(&[b'k'; 14], &[b'v'; 100], false, 5, 0);
        assert_eq!(r.alloc_bytes(), 131);
        let r = Record::<Tracked>::new_str(&[b'k'; 7], &[b'v'; 10], true, 5, 0);
        assert_eq!(r.alloc_bytes(), 34);
        let live = Rc::new(Cell::new(0));
        assert_eq!(size_of::<Tracked>(), 40);
        let r = Record::new_value(&[b'k'; 14], Tracked::new(1, vec![], &live), 0, 0);
        assert_eq!(r.alloc_bytes(), 62);
        let r = Record::new_value(&[b'k'; 14], Tracked::new(1, vec![], &live), 9, 0);
        assert_eq!(r.alloc_bytes(), 70);
    }

    #[test]
    fn varint_roundtrip_and_boundaries() {
        // Proves the LEB128 codec round-trips and has the documented lengths at every boundary.
        for n in [
            0u32,
            1,
            127,
            128,
            16383,
            16384,
            0x1f_ffff,
            0x20_0000,
            0x0fff_ffff,
            0x1000_0000,
            512 << 20,
            u32::MAX,
        ] {
            let (buf, len) = encode_varint(n);
            assert_eq!(len, varint_len(n), "n={n}");
            assert_eq!(len, ref_varint_len(n as usize), "n={n}");
            // SAFETY: `buf` holds a complete varint produced by encode_varint.
            let back = unsafe { read_varint(buf.as_ptr()) };
            assert_eq!(back, n);
        }
    }

    #[test]
    fn empty_key_and_empty_string() {
        // Proves an empty key and an empty string are stored and read back correctly.
        let mut r = Record::<u64>::new_str(b"", b"", false, 0, 7);
        assert_eq!(r.key(), b"");
        assert_eq!(r.str_bytes(), Some(&b""[..]));
        assert_eq!(r.alloc_bytes(), 9);
        assert_eq!(r.access().load(Ordering::Relaxed), 7);
        r.set_expire_at(-3);
        assert_eq!(r.expire_at(), -3);
        assert_eq!(r.alloc_bytes(), 17);
        assert_eq!(r.resize_str(0, true), b"");
        assert!(r.is_raw());
        r.set_value(5);
        assert_eq!(r.value(), Some(&5));
        assert_eq!(r.key(), b"");
        assert_eq!(r.alloc_bytes(), 24);
        let z = Record::<()>::new_value(b"", (), 0, 0);
        assert_eq!(z.alloc_bytes(), 8);
        assert_eq!(z.value(), Some(&()));
    }

    #[test]
    fn key_length_boundaries() {
        // Proves keys of 0..=256, 64 KiB and >64 KiB round-trip for both kinds, with and without expiry.
        for klen in [0, 1, 254, 255, 256, 65535, 65536, 70_000] {
            let key = pat(klen, 3);
            for exp in [0i64, 42] {
                let r = Record::<u64>::new_str(&key, b"hello", false, exp, 1);
                assert_eq!(r.key(), &key[..]);
                assert_eq!(r.str_bytes(), Some(&b"hello"[..]));
                assert_eq!(r.expire_at(), exp);
                assert_eq!(
                    r.alloc_bytes(),
                    expected_size::<u64>(klen, Some(5), exp != 0)
                );
                let r = Record::<u64>::new_value(&key, 0xdead_beef, exp, 1);
                assert_eq!(r.key(), &key[..]);
                assert_eq!(r.value(), Some(&0xdead_beef));
                assert_eq!(r.expire_at(), exp);
                assert_eq!(r.alloc_bytes(), expected_size::<u64>(klen, None, exp != 0));
            }
        }
    }

    #[test]
    fn string_length_varint_boundaries() {
        // Proves strings at every varint boundary up to ~1 MiB round-trip with the expected size.
        // Miri is ~1000x slower: there the multi-MiB lengths are skipped.
        let max = if cfg!(miri) { 20_000 } else { usize::MAX };
        let lens = [
            0,
            1,
            127,
            128,
            16383,
            16384,
            0x1f_ffff,
            0x20_0000,
            (1 << 20) + 3,
        ];
        for slen in lens.into_iter().filter(|&n| n <= max) {
            let data = pat(slen, 9);
            for klen in [3, 300] {
                let key = pat(klen, 1);
                let r = Record::<u64>::new_str(&key, &data, slen % 2 == 0, 11, 0);
                assert_eq!(r.key(), &key[..]);
                assert_eq!(r.str_bytes().unwrap(), &data[..]);
                assert_eq!(r.is_raw(), slen % 2 == 0);
                assert_eq!(
                    r.alloc_bytes(),
                    expected_size::<u64>(klen, Some(slen), true)
                );
            }
        }
    }

    #[test]
    fn resize_str_grow_and_shrink_across_boundaries() {
        // Proves resize_str keeps the common prefix, zero-fills growth and re-encodes the varint both ways.
        for klen in [5, 255, 70_000] {
            for exp in [0i64, 77] {
                let key = pat(klen, 2);
                let mut model = pat(10, 4);
                let mut r = Record::<u64>::new_str(&key, &model, false, exp, 0);
                let big = if cfg!(miri) { 20_000 } else { 200_000 };
                for (i, len) in [0, 5, 127, 128, 127, 16383, 16384, 16383, big, 129, 3, 0, 1]
                    .into_iter()
                    .enumerate()
                {
                    let raw = i % 2 == 1;
                    let out = r.resize_str(len, raw);
                    model.resize(len, 0);
                    assert_eq!(out, &model[..]);
                    // Scribble so the next prefix check is meaningful.
                    for (j, b) in out.iter_mut().enumerate() {
                        *b = (j as u8) ^ (i as u8) | 1;
                    }
                    for (j, b) in model.iter_mut().enumerate() {
                        *b = (j as u8) ^ (i as u8) | 1;
                    }
                    assert_eq!(r.str_bytes().unwrap(), &model[..]);
                    assert_eq!(r.is_raw(), raw);
                    assert_eq!(r.key(), &key[..]);
                    assert_eq!(r.expire_at(), exp);
                    assert_eq!(
                        r.alloc_bytes(),
                        expected_size::<u64>(klen, Some(len), exp != 0)
                    );
                }
            }
        }
    }

    #[test]
    fn resize_str_on_value_yields_zero_string() {
        // Proves resize_str converts a VALUE record to an all-zero string and drops V exactly once.
        let live = Rc::new(Cell::new(0));
        let mut r = Record::new_value(b"key", Tracked::new(1, vec![1, 2], &live), 99, 5);
        assert_eq!(live.get(), 1);
        let out = r.resize_str(300, false);
        assert_eq!(out, &[0u8; 300][..]);
        assert_eq!(live.get(), 0);
        assert!(r.is_str());
        assert_eq!(r.key(), b"key");
        assert_eq!(r.expire_at(), 99);
        assert_eq!(r.access().load(Ordering::Relaxed), 5);
        assert_eq!(
            r.alloc_bytes(),
            expected_size::<Tracked>(3, Some(300), true)
        );
    }

    #[test]
    fn switch_between_string_and_value() {
        // Proves string<->value switches in both directions keep key, expiry and access, with and without expiry.
        let live = Rc::new(Cell::new(0));
        for klen in [4, 256] {
            for exp in [0i64, 1234] {
                let key = pat(klen, 5);
                let mut r = Record::new_str(&key, b"abc", true, exp, 17);
                r.set_value(Tracked::new(7, vec![9; 3], &live));
                assert_eq!(r.value().unwrap().n, 7);
                assert!(!r.is_str() && !r.is_raw());
                assert_eq!(r.str_bytes(), None);
                assert_eq!(
                    r.alloc_bytes(),
                    expected_size::<Tracked>(klen, None, exp != 0)
                );
                r.set_value(Tracked::new(8, vec![], &live));
                assert_eq!(live.get(), 1);
                r.set_str(&pat(500, 1), false);
                assert_eq!(live.get(), 0);
                assert_eq!(r.str_bytes().unwrap(), &pat(500, 1)[..]);
                assert_eq!(r.value(), None);
                assert!(r.is_str() && !r.is_raw());
                r.set_str(b"x", true);
                assert!(r.is_raw());
                r.set_value(Tracked::new(9, vec![1], &live));
                assert_eq!(r.key(), &key[..]);
                assert_eq!(r.expire_at(), exp);
                assert_eq!(r.access().load(Ordering::Relaxed), 17);
            }
        }
        assert_eq!(live.get(), 0);
    }

    #[test]
    fn add_and_remove_expiry_on_both_kinds() {
        // Proves adding/updating/removing the expiry moves the tail correctly for strings and values.
        let live = Rc::new(Cell::new(0));
        for klen in [0, 9, 255, 70_000] {
            let key = pat(klen, 8);
            let data = pat(130, 6);
            let mut s = Record::<Tracked>::new_str(&key, &data, true, 0, 3);
            let mut v = Record::new_value(&key, Tracked::new(5, pat(20, 1), &live), 0, 3);
            for at in [0i64, 10, 11, i64::MIN, 0, 0, -1, 0] {
                s.set_expire_at(at);
                v.set_expire_at(at);
                for r in [&s, &v] {
                    assert_eq!(r.expire_at(), at);
                    assert_eq!(r.key(), &key[..]);
                    assert_eq!(r.access().load(Ordering::Relaxed), 3);
                }
                assert_eq!(s.str_bytes().unwrap(), &data[..]);
                assert!(s.is_raw());
                assert_eq!(
                    s.alloc_bytes(),
                    expected_size::<Tracked>(klen, Some(130), at != 0)
                );
                let val = v.value().unwrap();
                assert_eq!((val.n, &val.bytes[..]), (5, &pat(20, 1)[..]));
                assert_eq!(
                    v.alloc_bytes(),
                    expected_size::<Tracked>(klen, None, at != 0)
                );
            }
        }
        assert_eq!(live.get(), 0);
    }

    #[test]
    fn drops_are_exact() {
        // Proves V is never leaked or dropped twice across set_value/set_str/into_parts/clone/drop.
        let live = Rc::new(Cell::new(0));
        {
            let mut r = Record::new_value(b"k", Tracked::new(1, vec![1], &live), 0, 0);
            r.set_value(Tracked::new(2, vec![2], &live));
            assert_eq!(live.get(), 1);
            let c = r.clone();
            assert_eq!(live.get(), 2);
            assert_eq!(c.value(), r.value());
            r.set_str(b"s", false);
            assert_eq!(live.get(), 1);
            r.set_value(Tracked::new(3, vec![], &live));
            let (key, payload, exp, acc) = r.into_parts();
            assert_eq!((&key[..], exp, acc), (&b"k"[..], 0, 0));
            assert_eq!(live.get(), 2);
            match payload {
                Payload::Value(v) => assert_eq!(v.n, 3),
                Payload::Str { .. } => panic!("expected a value"),
            }
            assert_eq!(live.get(), 1);
            let (_, p, _, _) = c.into_parts();
            assert_eq!(live.get(), 1);
            drop(p);
            let r2 = Record::new_value(b"k2", Tracked::new(4, vec![], &live), 5, 0);
            let c2 = r2.clone();
            drop(r2);
            assert_eq!(live.get(), 1);
            drop(c2);
        }
        assert_eq!(live.get(), 0);
    }

    #[test]
    fn zero_sized_value() {
        // Proves a zero-sized V (with a Drop impl) occupies no bytes and is dropped exactly once per instance.
        ZST_DROPS.with(|c| c.set(0));
        let mut r = Record::new_value(b"zst", Zst, 0, 0);
        assert_eq!(r.alloc_bytes(), 8 + 3);
        // (Not `Some(&Zst)`: that temporary would itself be dropped and counted.)
        assert!(r.value().is_some());
        r.set_expire_at(5);
        assert_eq!(r.alloc_bytes(), 16 + 3);
        assert_eq!(r.key(), b"zst");
        r.set_value(Zst);
        assert_eq!(ZST_DROPS.with(Cell::get), 1);
        r.set_str(b"now a string", false);
        assert_eq!(ZST_DROPS.with(Cell::get), 2);
        r.set_value(Zst);
        let (_, p, exp, _) = r.into_parts();
        assert_eq!(exp, 5);
        assert_eq!(ZST_DROPS.with(Cell::get), 2);
        drop(p);
        assert_eq!(ZST_DROPS.with(Cell::get), 3);
        let r = Record::new_value(&[b'k'; 255], Zst, 0, 0);
        assert_eq!(r.key(), &[b'k'; 255][..]);
        drop(r);
        assert_eq!(ZST_DROPS.with(Cell::get), 4);
    }

    #[test]
    fn align8_value_is_aligned() {
        // Proves an 8-aligned V (u64 + Vec) is always stored at an aligned address and survives moves.
        let val = Aligned8 {
            a: u64::MAX - 1,
            v: vec![1, 2, 3],
        };
        for klen in [0, 1, 7, 255, 300] {
            let key = pat(klen, 0);
            let mut r = Record::new_value(&key, val.clone(), 0, 0);
            for at in [0i64, 1, 2, 0] {
                r.set_expire_at(at);
                let p = r.value().unwrap() as *const Aligned8 as usize;
                assert_eq!(p % 8, 0);
                assert_eq!(r.value(), Some(&val));
            }
            r.value_mut().unwrap().v.push(4);
            assert_eq!(r.value().unwrap().v, vec![1, 2, 3, 4]);
            let c = r.clone();
            assert_eq!(c.value(), r.value());
            assert_eq!(c.alloc_bytes(), r.alloc_bytes());
        }
    }

    #[test]
    fn in_place_mutation() {
        // Proves str_bytes_mut, value_mut and same-length set_str edit in place and persist.
        let mut r = Record::<u64>::new_str(b"k", b"hello", false, 3, 0);
        r.str_bytes_mut().unwrap()[0] = b'j';
        assert_eq!(r.str_bytes(), Some(&b"jello"[..]));
        r.set_str(b"world", true);
        assert_eq!(r.str_bytes(), Some(&b"world"[..]));
        assert!(r.is_raw());
        assert!(r.value_mut().is_none());
        r.set_value(1);
        *r.value_mut().unwrap() += 41;
        assert_eq!(r.value(), Some(&42));
        assert!(r.str_bytes_mut().is_none());
        assert_eq!(r.expire_at(), 3);
    }

    #[test]
    fn clone_is_deep_and_identical() {
        // Proves clone copies every field, has the same layout, and is independent of the original.
        let mut a = Record::<u64>::new_str(&pat(300, 1), &pat(20_000, 2), true, -9, 77);
        let b = a.clone();
        assert_eq!(b.key(), a.key());
        assert_eq!(b.str_bytes(), a.str_bytes());
        assert_eq!((b.expire_at(), b.is_raw()), (-9, true));
        assert_eq!(b.access().load(Ordering::Relaxed), 77);
        assert_eq!(b.alloc_bytes(), a.alloc_bytes());
        a.str_bytes_mut().unwrap()[0] ^= 0xff;
        a.access().store(1, Ordering::Relaxed);
        assert_ne!(b.str_bytes(), a.str_bytes());
        assert_eq!(b.access().load(Ordering::Relaxed), 77);
    }

    #[test]
    fn into_parts_for_strings() {
        // Proves into_parts returns the key, string, raw flag, expiry and access of a string record.
        let r = Record::<u64>::new_str(b"key", b"val", true, 8, 9);
        let (k, p, e, a) = r.into_parts();
        assert_eq!(&k[..], b"key");
        assert_eq!(
            p,
            Payload::Str {
                data: b"val".to_vec(),
                raw: true
            }
        );
        assert_eq!((e, a), (8, 9));
    }

    #[test]
    fn access_is_shared_across_threads() {
        // Proves access() can be updated concurrently through &Record while other threads read it.
        let r = Record::<Vec<u8>>::new_str(b"k", b"v", false, 0, 0);
        let reads = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for t in 0..4u32 {
                let (r, reads) = (&r, &reads);
                s.spawn(move || {
                    for i in 0..1000u32 {
                        r.access().fetch_max(t * 1000 + i, Ordering::Relaxed);
                        let c = r.clone();
                        assert_eq!(c.key(), b"k");
                        assert_eq!(r.str_bytes(), Some(&b"v"[..]));
                        reads.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        });
        assert_eq!(reads.load(Ordering::Relaxed), 4000);
        assert_eq!(r.access().load(Ordering::Relaxed), 3999);
    }

    #[test]
    fn debug_format() {
        // Proves Debug shows key, kind, expiry and payload, and truncates long strings.
        let r = Record::<u64>::new_str(b"k\x01", b"v", true, 5, 6);
        let s = format!("{r:?}");
        assert_eq!(
            s,
            r#"Record { key: b"k\x01", expire_at: 5, access_s: 6, kind: "str_raw", data: b"v" }"#
        );
        let r = Record::<u64>::new_value(b"k", 3, 0, 0);
        assert_eq!(
            format!("{r:?}"),
            r#"Record { key: b"k", expire_at: 0, access_s: 0, value: 3 }"#
        );
        let r = Record::<u64>::new_str(b"k", &[b'a'; 100], false, 0, 0);
        assert!(format!("{r:?}").contains("... (100 bytes)"));
    }

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

        fn len(&mut self) -> usize {
            match self.below(20) {
                0..=11 => self.below(24) as usize,
                12..=15 => {
                    const EDGES: [usize; 12] =
                        [0, 1, 126, 127, 128, 129, 254, 255, 256, 16383, 16384, 16385];
                    EDGES[self.below(12) as usize]
                }
                16..=18 => self.below(3000) as usize,
                _ => self.below(if cfg!(miri) { 4_000 } else { 70_000 }) as usize,
            }
        }

        fn key_len(&mut self) -> usize {
            match self.below(50) {
                0..=39 => self.below(20) as usize,
                40..=47 => 253 + self.below(5) as usize,
                48 => self.below(1000) as usize,
                _ => (if cfg!(miri) { 1_000 } else { 65_530 }) + self.below(10) as usize,
            }
        }

        fn bytes(&mut self, len: usize) -> Vec<u8> {
            let seed = self.next() as u8;
            pat(len, seed)
        }
    }

    #[derive(Debug, Clone, PartialEq)]
    enum ModelPayload {
        Str(Vec<u8>, bool),
        Value(Tracked),
    }

    struct Model {
        key: Vec<u8>,
        payload: ModelPayload,
        expire: i64,
        access: u32,
    }

    fn check(r: &Record<Tracked>, m: &Model, step: usize) {
        assert_eq!(r.key(), &m.key[..], "step {step}");
        assert_eq!(r.expire_at(), m.expire, "step {step}");
        assert_eq!(r.access().load(Ordering::Relaxed), m.access, "step {step}");
        let str_len = match &m.payload {
            ModelPayload::Str(d, raw) => {
                assert!(r.is_str(), "step {step}");
                assert_eq!(r.is_raw(), *raw, "step {step}");
                assert_eq!(r.str_bytes(), Some(&d[..]), "step {step}");
                assert!(r.value().is_none(), "step {step}");
                Some(d.len())
            }
            ModelPayload::Value(v) => {
                assert!(!r.is_str() && !r.is_raw(), "step {step}");
                assert_eq!(r.value(), Some(v), "step {step}");
                assert!(r.str_bytes().is_none(), "step {step}");
                None
            }
        };
        let want = expected_size::<Tracked>(m.key.len(), str_len, m.expire != 0);
        assert_eq!(r.alloc_bytes(), want, "step {step}");
    }

    fn build(m: &Model) -> Record<Tracked> {
        match &m.payload {
            ModelPayload::Str(d, raw) => Record::new_str(&m.key, d, *raw, m.expire, m.access),
            ModelPayload::Value(v) => Record::new_value(&m.key, v.clone(), m.expire, m.access),
        }
    }

    #[test]
    fn randomized_against_model() {
        // Proves 10k random operations keep the record identical to a plain Rust model, with exact drops.
        let live = Rc::new(Cell::new(0));
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut m = Model {
            key: b"start".to_vec(),
            payload: ModelPayload::Str(b"v".to_vec(), false),
            expire: 0,
            access: 0,
        };
        let mut r = build(&m);
        // Miri is ~1000x slower; it runs fewer steps with smaller big lengths.
        let steps = if cfg!(miri) { 1_000 } else { 10_000 };
        for step in 0..steps {
            match rng.below(13) {
                0 => {
                    let (len, raw) = (rng.len(), rng.below(2) == 0);
                    let d = rng.bytes(len);
                    r.set_str(&d, raw);
                    m.payload = ModelPayload::Str(d, raw);
                }
                1 => {
                    let (len, raw) = (rng.len(), rng.below(2) == 0);
                    let out = r.resize_str(len, raw).to_vec();
                    let mut d = match &m.payload {
                        ModelPayload::Str(d, _) => d.clone(),
                        ModelPayload::Value(_) => Vec::new(),
                    };
                    d.resize(len, 0);
                    assert_eq!(out, d, "step {step}");
                    m.payload = ModelPayload::Str(d, raw);
                }
                2 | 3 => {
                    let (n, len) = (rng.next(), rng.below(40) as usize);
                    let v = Tracked::new(n, rng.bytes(len), &live);
                    m.payload = ModelPayload::Value(v.clone());
                    r.set_value(v);
                }
                4 => {
                    if let (Some(v), ModelPayload::Value(mv)) = (r.value_mut(), &mut m.payload) {
                        let (n, b) = (rng.next(), rng.next() as u8);
                        v.n = n;
                        v.bytes.push(b);
                        mv.n = n;
                        mv.bytes.push(b);
                    }
                }
                5 => {
                    if let (Some(d), ModelPayload::Str(md, _)) = (r.str_bytes_mut(), &mut m.payload)
                    {
                        if !d.is_empty() {
                            let i = rng.below(d.len() as u64) as usize;
                            d[i] ^= 0x5a;
                            md[i] ^= 0x5a;
                        }
                    }
                }
                6 | 7 => {
                    let at = if rng.below(3) == 0 {
                        0
                    } else {
                        (rng.next() as i64) | 1
                    };
                    r.set_expire_at(at);
                    m.expire = at;
                }
                8 => {
                    let a = rng.next() as u32;
                    r.access().store(a, Ordering::Relaxed);
                    m.access = a;
                }
                9 => {
                    let c = r.clone();
                    check(&c, &m, step);
                    r = c;
                }
                10 | 11 => {
                    let (k, p, e, a) = r.into_parts();
                    assert_eq!(&k[..], &m.key[..], "step {step}");
                    assert_eq!((e, a), (m.expire, m.access), "step {step}");
                    match (p, &m.payload) {
                        (Payload::Str { data, raw }, ModelPayload::Str(d, mraw)) => {
                            assert_eq!((&data, raw), (d, *mraw), "step {step}");
                        }
                        (Payload::Value(v), ModelPayload::Value(mv)) => {
                            assert_eq!(&v, mv, "step {step}");
                        }
                        _ => panic!("payload kind mismatch at step {step}"),
                    }
                    // Occasionally continue under a new key.
                    if rng.below(2) == 0 {
                        let klen = rng.key_len();
                        m.key = rng.bytes(klen);
                    }
                    r = build(&m);
                }
                _ => {
                    // Same-length overwrite (in-place path for strings).
                    if let ModelPayload::Str(d, raw) = &mut m.payload {
                        let nd = rng.bytes(d.len());
                        r.set_str(&nd, *raw);
                        *d = nd;
                    }
                }
            }
            check(&r, &m, step);
        }
        drop(r);
        drop(m);
        assert_eq!(live.get(), 0);
    }
}
