//! [`Pack`]: a sequence of byte strings in one contiguous buffer, the compact encoding of
//! small hashes, sets and sorted sets (what Redis calls a listpack).
//!
//! Each entry is its data framed by its length on both sides, so the sequence can be walked
//! in either direction:
//!
//! ```text
//! +-----------------+------------------+------------------------------+
//! | len:LEB128      | data: len bytes  | back: LEB128 of (size of len  |
//! | (1 byte < 128)  |                  | + len), bytes stored reversed |
//! +-----------------+------------------+------------------------------+
//! ```
//!
//! An entry of up to 126 bytes costs its data plus two bytes, against 24 bytes for an
//! [`Elem`](super::elem::Elem) slot in a vector and ~40 for a hash-table entry. Positions are
//! byte offsets of an entry's first byte; every operation that changes the buffer invalidates
//! them. Lookups are linear, as in a listpack: the owning type converts to a table before a
//! pack grows past a few hundred entries.
//!
//! The buffer is sized exactly (no doubling): a small collection's slack would be most of its
//! memory, and jemalloc grows an allocation in place while it stays in its size class.

/// A packed sequence of byte strings.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Pack {
    buf: Vec<u8>,
    n: u32,
}

impl std::fmt::Debug for Pack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.iter().map(String::from_utf8_lossy))
            .finish()
    }
}

/// Bytes LEB128 takes for `v`.
#[inline]
fn varint_len(v: usize) -> usize {
    let mut n = 1;
    let mut v = v >> 7;
    while v != 0 {
        n += 1;
        v >>= 7;
    }
    n
}

/// Writes `v` as LEB128 into `out` (exactly `varint_len(v)` bytes), reversed when `rev`.
#[inline]
fn put_varint(out: &mut [u8], mut v: usize, rev: bool) {
    let n = out.len();
    for i in 0..n {
        let more = if i + 1 < n { 0x80 } else { 0 };
        let b = (v & 0x7f) as u8 | more;
        v >>= 7;
        if rev {
            out[n - 1 - i] = b;
        } else {
            out[i] = b;
        }
    }
}

impl Pack {
    /// An empty pack.
    pub fn new() -> Pack {
        Pack::default()
    }

    /// An empty pack with room for `bytes` bytes of entries.
    pub fn with_capacity(bytes: usize) -> Pack {
        Pack {
            buf: Vec::with_capacity(bytes),
            n: 0,
        }
    }

    /// Number of entries.
    #[inline]
    pub fn len(&self) -> usize {
        self.n as usize
    }

    /// Whether there are no entries.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The offset one past the last entry (where [`Pack::push`] appends).
    #[inline]
    pub fn end(&self) -> usize {
        self.buf.len()
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.buf.capacity()
    }

    /// Bytes an entry with `len` bytes of data takes.
    #[inline]
    pub fn entry_size(len: usize) -> usize {
        let head = varint_len(len);
        head + len + varint_len(head + len)
    }

    /// The data of the entry at `off`, and the offset of the next entry.
    #[inline]
    pub fn get(&self, off: usize) -> (&[u8], usize) {
        let mut len = 0usize;
        let mut shift = 0;
        let mut at = off;
        while let Some(&b) = self.buf.get(at) {
            at += 1;
            len |= usize::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 || shift > 56 {
                break;
            }
        }
        let end = at.saturating_add(len).min(self.buf.len());
        let data = self.buf.get(at..end).unwrap_or_default();
        (data, end + varint_len(end - off))
    }

    /// The offset of the entry before the one at `off` (`off` may be [`Pack::end`]).
    #[inline]
    pub fn prev(&self, off: usize) -> Option<usize> {
        if off == 0 {
            return None;
        }
        let mut size = 0usize;
        let mut shift = 0;
        let mut at = off;
        while at > 0 {
            at -= 1;
            let b = self.buf.get(at).copied().unwrap_or(0);
            size |= usize::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 || shift > 56 {
                break;
            }
        }
        at.checked_sub(size)
    }

    /// The offset of entry `i`, walking from whichever end is nearer.
    pub fn nth(&self, i: usize) -> Option<usize> {
        let n = self.len();
        if i >= n {
            return None;
        }
        if i <= n / 2 {
            let mut off = 0;
            for _ in 0..i {
                off = self.get(off).1;
            }
            Some(off)
        } else {
            let mut off = self.end();
            for _ in i..n {
                off = self.prev(off)?;
            }
            Some(off)
        }
    }

    /// Entries in order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            pack: self,
            front: 0,
            back: self.buf.len(),
            left: self.len(),
        }
    }

    /// Entries from the one at `off` to the end.
    pub fn iter_from(&self, off: usize, skipped: usize) -> Iter<'_> {
        Iter {
            pack: self,
            front: off,
            back: self.buf.len(),
            left: self.len().saturating_sub(skipped),
        }
    }

    /// The offset of the first entry whose data satisfies `pred`, stepping `stride` entries
    /// at a time (2 walks the keys of a key/value sequence).
    pub fn find(&self, stride: usize, mut pred: impl FnMut(&[u8]) -> bool) -> Option<usize> {
        let mut off = 0;
        let mut i = 0;
        while off < self.buf.len() {
            let (d, next) = self.get(off);
            if i % stride == 0 && pred(d) {
                return Some(off);
            }
            off = next;
            i += 1;
        }
        None
    }

    /// Inserts an entry whose data is the concatenation of `parts` before the entry at `off`
    /// (or at the end when `off` is [`Pack::end`]).
    pub fn insert(&mut self, off: usize, parts: &[&[u8]]) {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let head = varint_len(len);
        let back = varint_len(head + len);
        let size = head + len + back;
        let old = self.buf.len();
        let off = off.min(old);
        self.buf.reserve_exact(size);
        self.buf.resize(old + size, 0);
        self.buf.copy_within(off..old, off + size);
        let slot = &mut self.buf[off..off + size];
        put_varint(&mut slot[..head], len, false);
        let mut at = head;
        for p in parts {
            slot[at..at + p.len()].copy_from_slice(p);
            at += p.len();
        }
        put_varint(&mut slot[at..], head + len, true);
        self.n += 1;
    }

    /// Appends an entry.
    pub fn push(&mut self, data: &[u8]) {
        self.insert(self.end(), &[data]);
    }

    /// Removes `count` entries starting with the one at `off`.
    pub fn remove(&mut self, off: usize, count: usize) {
        let mut end = off;
        let mut gone = 0;
        while gone < count && end < self.buf.len() {
            end = self.get(end).1;
            gone += 1;
        }
        let end = end.min(self.buf.len());
        self.buf.drain(off.min(end)..end);
        self.n -= gone as u32;
        if self.buf.capacity() > self.buf.len() + self.buf.len() / 4 + 32 {
            self.buf.shrink_to_fit();
        }
    }

    /// Replaces the data of the entry at `off` with the concatenation of `parts`.
    pub fn replace(&mut self, off: usize, parts: &[&[u8]]) {
        let (old, _) = self.get(off);
        let len: usize = parts.iter().map(|p| p.len()).sum();
        if old.len() == len {
            // Same size: overwrite the data in place.
            let mut at = off + varint_len(len);
            for p in parts {
                self.buf[at..at + p.len()].copy_from_slice(p);
                at += p.len();
            }
            return;
        }
        self.remove(off, 1);
        self.insert(off, parts);
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        *self = Pack::new();
    }
}

/// Entries of a [`Pack`], from either end.
#[derive(Clone)]
pub struct Iter<'a> {
    pack: &'a Pack,
    front: usize,
    back: usize,
    left: usize,
}

impl<'a> Iter<'a> {
    /// The offset of the next entry from the front.
    pub fn offset(&self) -> usize {
        self.front
    }

    /// Stops after at most `n` more entries (from the front). Where the last of them ends is
    /// found only if the iterator is walked from the back.
    pub fn limit(mut self, n: usize) -> Iter<'a> {
        if n < self.left {
            self.left = n;
            self.back = UNKNOWN;
        }
        self
    }

    /// The offset one past the last entry left, finding it if [`Iter::limit`] left it open.
    fn back(&mut self) -> usize {
        if self.back == UNKNOWN {
            let mut at = self.front;
            for _ in 0..self.left {
                at = self.pack.get(at).1;
            }
            self.back = at;
        }
        self.back
    }
}

/// `Iter::back` not yet known.
const UNKNOWN: usize = usize::MAX;

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.left == 0 || self.front >= self.back {
            return None;
        }
        let (d, next) = self.pack.get(self.front);
        self.front = next;
        self.left -= 1;
        Some(d)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let back = self.back();
        if self.left == 0 || self.front >= back {
            return None;
        }
        let at = self.pack.prev(back)?;
        self.back = at;
        self.left -= 1;
        Some(self.pack.get(at).0)
    }
}

impl ExactSizeIterator for Iter<'_> {}

/// Finds repeated keys while a pack is built from stored input (a snapshot, a log record):
/// a walk of the pack for a few keys, a hash set beyond.
pub struct Seen<'a> {
    set: Option<std::collections::HashSet<&'a [u8]>>,
    stride: usize,
}

impl<'a> Seen<'a> {
    /// For `n` keys, each starting a group of `stride` entries (2 for field/value pairs).
    pub fn new(n: usize, stride: usize) -> Seen<'a> {
        Seen {
            set: (n > 16).then(|| std::collections::HashSet::with_capacity(n)),
            stride,
        }
    }

    /// Whether `key` is new (not already a key of `p`); notes it.
    pub fn first(&mut self, p: &Pack, key: &'a [u8]) -> bool {
        match &mut self.set {
            Some(set) => set.insert(key),
            None => p.find(self.stride, |k| k == key).is_none(),
        }
    }
}

/// Orders two canonical decimal integers (Redis's `string2ll` form: no leading zeros or
/// `+`, no `-0`) by value without parsing them.
pub fn cmp_canonical_int(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let an = a.first() == Some(&b'-');
    let bn = b.first() == Some(&b'-');
    match (an, bn) {
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => a.len().cmp(&b.len()).then_with(|| a.cmp(b)),
        (true, true) => b.len().cmp(&a.len()).then_with(|| b.cmp(a)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn items(p: &Pack) -> Vec<Vec<u8>> {
        p.iter().map(|d| d.to_vec()).collect()
    }

    #[test]
    fn entries_walk_both_ways_across_size_boundaries() {
        let sizes = [
            0usize, 1, 125, 126, 127, 128, 16381, 16382, 16383, 16384, 70000,
        ];
        let mut p = Pack::new();
        let mut model = Vec::new();
        for (i, &s) in sizes.iter().enumerate() {
            let d = vec![i as u8; s];
            p.push(&d);
            model.push(d);
        }
        assert_eq!(items(&p), model);
        let back: Vec<Vec<u8>> = p.iter().rev().map(|d| d.to_vec()).collect();
        let mut rev = model.clone();
        rev.reverse();
        assert_eq!(back, rev);
        for (i, &s) in sizes.iter().enumerate() {
            let off = p.nth(i).unwrap();
            assert_eq!(p.get(off).0.len(), s);
        }
        assert_eq!(p.nth(sizes.len()), None);
        assert_eq!(p.end(), sizes.iter().map(|&s| Pack::entry_size(s)).sum());
    }

    #[test]
    fn seen_finds_repeats_by_walk_and_by_set() {
        for n in [3usize, 40] {
            let keys: Vec<Vec<u8>> = (0..n).map(|i| format!("k{i}").into_bytes()).collect();
            let mut p = Pack::new();
            let mut seen = Seen::new(n, 2);
            for k in &keys {
                assert!(seen.first(&p, k), "{n}: a new key");
                p.push(k);
                p.push(b"value");
            }
            assert!(!seen.first(&p, &keys[n / 2]), "{n}: a repeated key");
            assert!(seen.first(&p, b"value"), "{n}: values are not keys");
        }
    }

    #[test]
    fn canonical_ints_order_by_value() {
        let mut v: Vec<i64> = vec![0, -1, 1, 9, 10, -10, -9, i64::MIN, i64::MAX, 123, -123];
        let mut s: Vec<Vec<u8>> = v.iter().map(|x| x.to_string().into_bytes()).collect();
        v.sort();
        s.sort_by(|a, b| cmp_canonical_int(a, b));
        let back: Vec<i64> = s
            .iter()
            .map(|x| std::str::from_utf8(x).unwrap().parse().unwrap())
            .collect();
        assert_eq!(back, v);
    }

    proptest! {
        #[test]
        fn matches_a_vector_of_strings(ops in proptest::collection::vec(
            (0u8..4, any::<u16>(), proptest::collection::vec(any::<u8>(), 0..300)), 0..60)) {
            let mut p = Pack::new();
            let mut model: Vec<Vec<u8>> = Vec::new();
            for (op, at, data) in ops {
                let i = if model.is_empty() { 0 } else { usize::from(at) % (model.len() + 1) };
                match op {
                    0 => {
                        let off = p.nth(i).unwrap_or(p.end());
                        p.insert(off, &[&data[..data.len() / 2], &data[data.len() / 2..]]);
                        model.insert(i, data);
                    }
                    1 if i < model.len() => {
                        let off = p.nth(i).unwrap();
                        let k = (model.len() - i).min(1 + usize::from(at % 3));
                        p.remove(off, k);
                        model.drain(i..i + k);
                    }
                    2 if i < model.len() => {
                        let off = p.nth(i).unwrap();
                        p.replace(off, &[&data]);
                        model[i] = data;
                    }
                    _ => {
                        p.push(&data);
                        model.push(data);
                    }
                }
                prop_assert_eq!(p.len(), model.len());
                prop_assert_eq!(items(&p), model.clone());
                let back: Vec<Vec<u8>> = p.iter().rev().map(|d| d.to_vec()).collect();
                let mut rev = model.clone();
                rev.reverse();
                prop_assert_eq!(back, rev);
            }
        }
    }
}
