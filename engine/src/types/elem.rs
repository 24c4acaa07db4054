//! [`Elem`]: one element of a collection (a hash field or value, a set or list member, a
//! sorted set member), stored in 24 bytes: up to [`INLINE`] bytes inline, longer ones in one
//! boxed slice. Most elements are short, so most cost no allocation at all, where a `Bytes`
//! handle costs 32 bytes plus a heap block (and another shared header once it is cloned for a
//! reply). Replies copy the bytes out ([`Elem::to_bytes`]), as Redis copies into its output
//! buffer.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use bytes::Bytes;

/// Longest element kept inline.
pub const INLINE: usize = 22;

/// A collection element.
#[derive(Clone)]
pub enum Elem {
    /// Up to [`INLINE`] bytes, in place.
    Inline {
        /// Bytes used in `buf`.
        len: u8,
        /// The bytes.
        buf: [u8; INLINE],
    },
    /// Longer elements.
    Heap(Box<[u8]>),
}

impl Elem {
    /// An element holding a copy of `b`.
    pub fn new(b: &[u8]) -> Elem {
        if b.len() <= INLINE {
            let mut buf = [0u8; INLINE];
            buf[..b.len()].copy_from_slice(b);
            Elem::Inline {
                len: b.len() as u8,
                buf,
            }
        } else {
            Elem::Heap(b.into())
        }
    }

    /// The bytes.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        match self {
            Elem::Inline { len, buf } => &buf[..usize::from(*len).min(INLINE)],
            Elem::Heap(b) => b,
        }
    }

    /// A copy as `Bytes`, for a reply.
    pub fn to_bytes(&self) -> Bytes {
        Bytes::copy_from_slice(self.as_slice())
    }

    /// Heap bytes this element uses besides its 24 bytes.
    pub fn heap_bytes(&self) -> usize {
        match self {
            Elem::Inline { .. } => 0,
            Elem::Heap(b) => b.len(),
        }
    }
}

/// Copies a slice out for a reply (the slice form of [`Elem::to_bytes`]).
pub trait ToBytes {
    /// A copy as `Bytes`.
    fn to_bytes(&self) -> Bytes;
}

impl ToBytes for [u8] {
    #[inline]
    fn to_bytes(&self) -> Bytes {
        Bytes::copy_from_slice(self)
    }
}

impl Default for Elem {
    fn default() -> Self {
        Elem::new(b"")
    }
}

impl Deref for Elem {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for Elem {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Borrow<[u8]> for Elem {
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

/// Hashes exactly as the byte slice does, so maps keyed by `Elem` can be queried with `&[u8]`.
impl Hash for Elem {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

/// A lookup key that finds nothing: hashed as an [`Elem`] with these bytes is, and "equal" to
/// no element, it prefetches every element the lookup would have compared (see
/// [`crate::record::prefetch`]). `map.get_index_of(&Prefetch(m))` starts loading the entry
/// for `m` without waiting for it.
pub struct Prefetch<'a>(pub &'a [u8]);

impl Hash for Prefetch<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Must match `Elem`'s `Hash`.
        self.0.hash(state);
    }
}

impl indexmap::Equivalent<Elem> for Prefetch<'_> {
    #[inline]
    fn equivalent(&self, key: &Elem) -> bool {
        crate::record::prefetch(key);
        false
    }
}

impl PartialEq for Elem {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Elem {}

impl PartialOrd for Elem {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Elem {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_slice().cmp(other.as_slice())
    }
}

impl PartialEq<[u8]> for Elem {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_slice() == other
    }
}

impl PartialEq<&[u8]> for Elem {
    fn eq(&self, other: &&[u8]) -> bool {
        self.as_slice() == *other
    }
}

impl std::fmt::Debug for Elem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", Bytes::copy_from_slice(self.as_slice()))
    }
}

impl From<&[u8]> for Elem {
    fn from(b: &[u8]) -> Elem {
        Elem::new(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::hash_map::DefaultHasher;

    fn h<T: Hash + ?Sized>(t: &T) -> u64 {
        let mut s = DefaultHasher::new();
        t.hash(&mut s);
        s.finish()
    }

    #[test]
    fn elements_are_24_bytes_and_behave_as_their_bytes() {
        // Proves the size, the inline/heap split at INLINE bytes, and that hashing and
        // equality agree with the plain slice (maps keyed by Elem are queried with &[u8]).
        assert_eq!(std::mem::size_of::<Elem>(), 24);
        for len in [0, 1, INLINE - 1, INLINE, INLINE + 1, 100] {
            let b: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let e = Elem::new(&b);
            assert_eq!(&*e, &b[..]);
            assert_eq!(h(&e), h(&b[..]));
            assert_eq!(e.heap_bytes() > 0, len > INLINE);
            assert_eq!(e.to_bytes(), Bytes::from(b.clone()));
        }
        assert!(Elem::new(b"a") < Elem::new(b"ab"));
        let mut set = indexmap::IndexSet::<Elem>::new();
        set.insert(Elem::new(b"member"));
        assert!(set.contains(&b"member"[..]));
    }

    #[test]
    fn a_prefetch_hashes_as_its_element_and_finds_nothing() {
        // Proves a prefetch probes the slot its element lives in (the same hash), and that
        // it never reports a match, so a lookup through it changes no caller's answer.
        for len in [0, 5, INLINE, INLINE + 1, 100] {
            let b: Vec<u8> = (0..len).map(|i| i as u8).collect();
            assert_eq!(h(&Prefetch(&b)), h(&Elem::new(&b)));
            let mut set = indexmap::IndexSet::<Elem>::new();
            set.insert(Elem::new(&b));
            assert_eq!(set.get_index_of(&Prefetch(&b)), None);
            assert!(set.contains(&b[..]));
        }
    }
}
