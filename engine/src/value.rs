//! Values and their types. Strings live here; the collection types (hashes, lists, sets,
//! sorted sets) each have a module under [`crate::types`] and are boxed here, so a `Value`
//! stays the size of a string.

use bytes::{Bytes, BytesMut};

use crate::types::{hash::Hash, list::List, set::Set, stream::Stream, zset::ZSet};

/// Redis keeps strings up to this length in one allocation ("embstr").
const EMBSTR_MAX_BYTES: usize = 44;

/// Strings up to this many bytes are stored inside the value (no allocation of their own).
pub const INLINE_STR_BYTES: usize = 23;

/// The bytes of a string value: short ones inline, longer ones in a shared buffer (so that a
/// reply or a snapshot can hold them without a copy). 32 bytes either way: the inline form
/// sits beside the shared form's non-null vtable pointer, which tells the two apart.
#[derive(Clone)]
pub enum StrBuf {
    /// `len` bytes of `buf`.
    Inline {
        len: u8,
        buf: [u8; INLINE_STR_BYTES],
    },
    /// A longer string.
    Shared(Bytes),
}

impl StrBuf {
    /// A copy of `data`.
    #[inline]
    pub fn new(data: &[u8]) -> StrBuf {
        if data.len() <= INLINE_STR_BYTES {
            let mut buf = [0u8; INLINE_STR_BYTES];
            buf[..data.len()].copy_from_slice(data);
            StrBuf::Inline {
                len: data.len() as u8,
                buf,
            }
        } else {
            StrBuf::Shared(Bytes::copy_from_slice(data))
        }
    }

    /// The bytes as a shared buffer: a reference-count increment for a long string, a copy
    /// for an inline one.
    #[inline]
    pub fn to_bytes(&self) -> Bytes {
        match self {
            StrBuf::Inline { .. } => Bytes::copy_from_slice(self),
            StrBuf::Shared(b) => b.clone(),
        }
    }

    /// The bytes in a buffer the caller may change (a copy unless this held the only
    /// reference to a long string).
    pub fn into_mut(self) -> BytesMut {
        match self {
            StrBuf::Inline { .. } => BytesMut::from(&self[..]),
            StrBuf::Shared(b) => match b.try_into_mut() {
                Ok(m) => m,
                Err(b) => BytesMut::from(&b[..]),
            },
        }
    }
}

impl Default for StrBuf {
    fn default() -> StrBuf {
        StrBuf::Inline {
            len: 0,
            buf: [0; INLINE_STR_BYTES],
        }
    }
}

impl std::ops::Deref for StrBuf {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        match self {
            StrBuf::Inline { len, buf } => &buf[..usize::from(*len).min(INLINE_STR_BYTES)],
            StrBuf::Shared(b) => b,
        }
    }
}

impl AsRef<[u8]> for StrBuf {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl From<Bytes> for StrBuf {
    /// Keeps a long buffer as it is; copies a short one inline.
    fn from(b: Bytes) -> StrBuf {
        if b.len() <= INLINE_STR_BYTES {
            StrBuf::new(&b)
        } else {
            StrBuf::Shared(b)
        }
    }
}

impl From<Vec<u8>> for StrBuf {
    fn from(v: Vec<u8>) -> StrBuf {
        if v.len() <= INLINE_STR_BYTES {
            StrBuf::new(&v)
        } else {
            StrBuf::Shared(Bytes::from(v))
        }
    }
}

impl From<BytesMut> for StrBuf {
    fn from(v: BytesMut) -> StrBuf {
        StrBuf::from(v.freeze())
    }
}

impl PartialEq for StrBuf {
    fn eq(&self, other: &StrBuf) -> bool {
        self[..] == other[..]
    }
}

impl std::fmt::Debug for StrBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", Bytes::copy_from_slice(self))
    }
}

/// A stored value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A binary-safe string. `raw` records that the string was built by APPEND/SETRANGE, which
    /// Redis reports as the "raw" encoding whatever its length.
    Str { data: StrBuf, raw: bool },
    /// A hash.
    Hash(Hash),
    /// A list.
    List(Box<List>),
    /// A set.
    Set(Box<Set>),
    /// A sorted set.
    ZSet(ZSet),
    /// A stream.
    Stream(Box<Stream>),
}

impl Value {
    /// Start loading the entry for `member` (a set member, hash field or sorted-set member)
    /// ahead of a command that will look it up; nothing for other types.
    #[inline]
    pub fn prefetch_member(&self, member: &[u8]) {
        match self {
            Value::Hash(h) => h.prefetch(member),
            Value::Set(s) => s.prefetch(member),
            Value::ZSet(z) => z.prefetch(member),
            Value::Str { .. } | Value::List(_) | Value::Stream(_) => {}
        }
    }

    /// A string value from bytes (stored as its own allocation, never a view of a network buffer).
    pub fn string(data: &[u8]) -> Value {
        Value::Str {
            data: StrBuf::new(data),
            raw: false,
        }
    }

    /// A string value from an owned buffer.
    pub fn string_owned(data: Vec<u8>) -> Value {
        Value::Str {
            data: StrBuf::from(data),
            raw: false,
        }
    }

    /// The value, borrowed as a stored value is seen.
    #[inline]
    pub fn as_ref(&self) -> ValueRef<'_> {
        match self {
            Value::Str { data, raw } => ValueRef::Str { data, raw: *raw },
            v => ValueRef::Coll(v),
        }
    }

    /// The bytes of a string value; `None` for other types.
    pub fn as_str(&self) -> Option<&StrBuf> {
        match self {
            Value::Str { data, .. } => Some(data),
            _ => None,
        }
    }

    /// The name TYPE answers with.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str { .. } => "string",
            Value::Hash(_) => "hash",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Stream(_) => "stream",
        }
    }

    /// The name OBJECT ENCODING answers with, as Redis 7 would choose it.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str { data, raw } => str_encoding(data, *raw),
            Value::Hash(h) => h.encoding(),
            Value::List(l) => l.encoding(),
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
            Value::Stream(s) => s.encoding(),
        }
    }

    /// Approximate bytes this value occupies, for MEMORY USAGE and INFO memory.
    pub fn memory_bytes(&self) -> usize {
        match self {
            Value::Str {
                data: StrBuf::Inline { .. },
                ..
            } => std::mem::size_of::<Value>(),
            Value::Str { data, .. } => std::mem::size_of::<Value>() + data.len(),
            Value::Hash(h) => std::mem::size_of::<Value>() + h.memory_bytes(),
            Value::List(l) => std::mem::size_of::<Value>() + l.memory_bytes(),
            Value::Set(s) => std::mem::size_of::<Value>() + s.memory_bytes(),
            Value::ZSet(z) => std::mem::size_of::<Value>() + z.memory_bytes(),
            Value::Stream(s) => std::mem::size_of::<Value>() + s.memory_bytes(),
        }
    }

    /// Number of elements of a collection (1 for a string).
    pub fn elements(&self) -> usize {
        match self {
            Value::Str { .. } => 1,
            Value::Hash(h) => h.len(),
            Value::List(l) => l.len(),
            Value::Set(s) => s.len(),
            Value::ZSet(z) => z.len(),
            Value::Stream(s) => s.len() as usize,
        }
    }
}

/// The name OBJECT ENCODING gives a string, as Redis 7 would choose it.
fn str_encoding(data: &[u8], raw: bool) -> &'static str {
    if !raw && data.len() <= 20 && crate::num::parse_i64(data).is_some() {
        "int"
    } else if !raw && data.len() <= EMBSTR_MAX_BYTES {
        "embstr"
    } else {
        "raw"
    }
}

/// A value borrowed from where it is stored: a string's bytes (a stored string is bytes in
/// its key's record, not a [`Value`]) or a collection.
#[derive(Debug, Clone, Copy)]
pub enum ValueRef<'a> {
    /// A string; `raw` as in [`Value::Str`].
    Str { data: &'a [u8], raw: bool },
    /// Any other type (never `Value::Str`).
    Coll(&'a Value),
}

impl ValueRef<'_> {
    /// The bytes of a string; `None` for other types.
    pub fn as_str(&self) -> Option<&[u8]> {
        match self {
            ValueRef::Str { data, .. } => Some(data),
            ValueRef::Coll(_) => None,
        }
    }

    /// The name TYPE answers with.
    pub fn type_name(&self) -> &'static str {
        match self {
            ValueRef::Str { .. } => "string",
            ValueRef::Coll(v) => v.type_name(),
        }
    }

    /// The name OBJECT ENCODING answers with.
    pub fn encoding(&self) -> &'static str {
        match self {
            ValueRef::Str { data, raw } => str_encoding(data, *raw),
            ValueRef::Coll(v) => v.encoding(),
        }
    }

    /// Number of elements of a collection (1 for a string).
    pub fn elements(&self) -> usize {
        match self {
            ValueRef::Str { .. } => 1,
            ValueRef::Coll(v) => v.elements(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_collections_live_inside_the_value() {
        // Hashes and sorted sets sit in the value itself (no box, no extra allocation for a
        // small one) without making any value larger than a string's handle and flag.
        assert_eq!(std::mem::size_of::<Hash>(), 32);
        assert_eq!(std::mem::size_of::<ZSet>(), 32);
        assert_eq!(std::mem::size_of::<Value>(), 40);
        assert_eq!(std::mem::size_of::<StrBuf>(), 32);
    }

    #[test]
    fn strings_inline_and_shared_read_back() {
        for len in [0usize, 1, INLINE_STR_BYTES, INLINE_STR_BYTES + 1, 1000] {
            let bytes: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let forms = [
                StrBuf::new(&bytes),
                StrBuf::from(bytes.clone()),
                StrBuf::from(Bytes::from(bytes.clone())),
                StrBuf::from(BytesMut::from(&bytes[..])),
            ];
            for s in forms {
                assert_eq!(&s[..], &bytes[..]);
                assert_eq!(&s.to_bytes()[..], &bytes[..]);
                assert_eq!(matches!(s, StrBuf::Inline { .. }), len <= INLINE_STR_BYTES);
                assert_eq!(&s.clone().into_mut()[..], &bytes[..]);
            }
        }
        // A shared buffer with other holders is copied, not changed under them.
        let s = StrBuf::new(&[7u8; 100]);
        let held = s.to_bytes();
        let mut m = s.into_mut();
        m[0] = 0;
        assert_eq!(held[0], 7);
    }
}
