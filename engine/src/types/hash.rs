//! Hashes: field -> value maps.
//!
//! A small hash (Redis's `listpack` encoding) is a [`Pack`] of field, value, field, value,
//! ... in insertion order, searched linearly, as a listpack is: its fields and values plus
//! two bytes each. Once it converts to `hashtable` it is an insertion-ordered
//! map ([`indexmap`]): O(1) lookup, O(1) access by position (HRANDFIELD, HSCAN).
//!
//! Removal keeps Redis's listpack order while the hash is small: with at most
//! [`LISTPACK_MAX_ENTRIES`] fields a removal shifts the later fields down (O(n), n ≤ 512), as
//! deleting from a listpack does, so `HGETALL` answers in the order Redis does; a larger hash
//! removes in O(1) by swapping the last field into the hole. The rule depends only on the
//! contents (the field count), never on history, so replaying a body on a value loaded from a
//! snapshot gives the same order as on the live value.
//!
//! OBJECT ENCODING is state, as in Redis: a hash starts as `listpack` and becomes `hashtable`
//! once it has more than 512 fields, a field or value longer than 64 bytes, or a single HSET
//! names more than 512 fields; it never goes back while live. Loading a value (snapshot or a
//! `SET` effect) derives the encoding from the contents, as Redis does when loading an RDB.
//!
//! Effect body (tag 1), a sequence of ops:
//!
//! ```text
//! op 1  SET  n:varint (field:bytes value:bytes)*n   insert or overwrite, in order
//! op 2  DEL  n:varint field:bytes*n                  remove, in order
//! ```

use super::elem::Elem;
use super::pack::{self, Pack};
use indexmap::IndexMap;

use super::{count, Replayed};
use crate::effect::{put_bytes, put_uvarint, ApplyError, Cursor, DecodeError};
use crate::value::Value;

const OP_SET: u8 = 1;
const OP_DEL: u8 = 2;

type Map = IndexMap<Elem, Elem, foldhash::fast::RandomState>;

/// Redis's `hash-max-listpack-entries` default (512 compiled in; the sample redis.conf says
/// 128 but the server's own default is what a config-less server uses).
pub const LISTPACK_MAX_ENTRIES: usize = 512;
/// Redis's `hash-max-listpack-value` default.
pub const LISTPACK_MAX_VALUE: usize = 64;

/// How the fields are stored.
#[derive(Debug, Clone)]
enum Repr {
    /// `listpack`: field, value, field, value, ... in insertion order, searched linearly.
    Small(Pack),
    /// `hashtable`.
    Big(Box<Map>),
}

impl Default for Repr {
    fn default() -> Self {
        Repr::Small(Pack::new())
    }
}

/// A hash value.
#[derive(Debug, Clone, Default)]
pub struct Hash {
    repr: Repr,
}

/// The (field, value) pairs of a small hash's pack.
#[derive(Clone)]
pub struct Pairs<'a>(pack::Iter<'a>);

impl<'a> Iterator for Pairs<'a> {
    type Item = (&'a [u8], &'a [u8]);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let f = self.0.next()?;
        let v = self.0.next()?;
        Some((f, v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.0.len() / 2;
        (n, Some(n))
    }
}

impl ExactSizeIterator for Pairs<'_> {}

/// A table entry as slices.
fn entry_slices<'a>(e: (&'a Elem, &'a Elem)) -> (&'a [u8], &'a [u8]) {
    (e.0.as_slice(), e.1.as_slice())
}

/// Iterator over a hash's (field, value) pairs in order.
pub type Iter<'a> = super::SmallOrBig<
    Pairs<'a>,
    std::iter::Map<
        indexmap::map::Iter<'a, Elem, Elem>,
        fn((&'a Elem, &'a Elem)) -> (&'a [u8], &'a [u8]),
    >,
>;

impl PartialEq for Hash {
    /// Equal when the same fields hold the same values in the same order.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Hash {
    /// Start loading `field`'s entry into the cache ahead of a command that will look it
    /// up (a hint; see [`super::elem::Prefetch`]). Small encodings are one allocation that
    /// the lookup of the key already brought in.
    #[inline]
    pub fn prefetch(&self, field: &[u8]) {
        if let Repr::Big(m) = &self.repr {
            let _ = m.get_index_of(&super::elem::Prefetch(field));
        }
    }

    /// An empty hash.
    pub fn new() -> Hash {
        Hash::default()
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Small(p) => p.len() / 2,
            Repr::Big(m) => m.len(),
        }
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The offset of `field`'s entry in a small hash.
    fn find_small(p: &Pack, field: &[u8]) -> Option<usize> {
        p.find(2, |f| f == field)
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match &self.repr {
            Repr::Small(p) => {
                let at = Self::find_small(p, field)?;
                Some(p.get(p.get(at).1).0)
            }
            Repr::Big(m) => m.get(field).map(Elem::as_slice),
        }
    }

    /// Whether `field` exists.
    pub fn contains(&self, field: &[u8]) -> bool {
        match &self.repr {
            Repr::Small(p) => Self::find_small(p, field).is_some(),
            Repr::Big(m) => m.contains_key(field),
        }
    }

    /// Converts to the `hashtable` encoding (once; never back while live).
    fn grow(&mut self) {
        if let Repr::Small(p) = &self.repr {
            let mut m = Map::with_capacity_and_hasher(p.len() / 2, Default::default());
            m.extend(Pairs(p.iter()).map(|(f, v)| (Elem::new(f), Elem::new(v))));
            self.repr = Repr::Big(Box::new(m));
        }
    }

    /// Notes that one command is about to set `n` fields: like Redis, more than 512 at once
    /// converts to `hashtable` even when some repeat.
    pub fn hint(&mut self, n: usize) {
        if n > LISTPACK_MAX_ENTRIES {
            self.grow();
        }
    }

    /// Sets `field`; true when the field is new. A new field goes last; an existing one keeps
    /// its position.
    pub fn set(&mut self, field: &[u8], value: impl AsRef<[u8]>) -> bool {
        let value = value.as_ref();
        if field.len() > LISTPACK_MAX_VALUE || value.len() > LISTPACK_MAX_VALUE {
            self.grow();
        }
        if let Repr::Small(p) = &mut self.repr {
            if let Some(at) = Self::find_small(p, field) {
                let v = p.get(at).1;
                p.replace(v, &[value]);
                return false;
            }
            if p.len() / 2 < LISTPACK_MAX_ENTRIES {
                p.push(field);
                p.push(value);
                return true;
            }
            self.grow();
        }
        let Repr::Big(m) = &mut self.repr else {
            return false;
        };
        match m.get_mut(field) {
            Some(v) => {
                *v = Elem::new(value);
                false
            }
            None => {
                m.insert(Elem::new(field), Elem::new(value));
                true
            }
        }
    }

    /// Removes `field`; true when it was there. Order-preserving while the hash is small
    /// (see the module doc).
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Small(p) => match Self::find_small(p, field) {
                Some(at) => {
                    p.remove(at, 2);
                    true
                }
                None => false,
            },
            Repr::Big(m) if m.len() <= LISTPACK_MAX_ENTRIES => m.shift_remove(field).is_some(),
            Repr::Big(m) => m.swap_remove(field).is_some(),
        }
    }

    /// Fields and values in iteration order.
    pub fn iter<'a>(&'a self) -> Iter<'a> {
        match &self.repr {
            Repr::Small(p) => super::SmallOrBig::Small(Pairs(p.iter())),
            Repr::Big(m) => super::SmallOrBig::Big(
                m.iter()
                    .map(entry_slices as fn((&'a Elem, &'a Elem)) -> (&'a [u8], &'a [u8])),
            ),
        }
    }

    /// The entry at `i` in iteration order (O(i) while the hash is small).
    pub fn get_index(&self, i: usize) -> Option<(&[u8], &[u8])> {
        match &self.repr {
            Repr::Small(p) => {
                let at = p.nth(i.checked_mul(2)?)?;
                let (f, next) = p.get(at);
                Some((f, p.get(next).0))
            }
            Repr::Big(m) => m.get_index(i).map(entry_slices),
        }
    }

    /// Every entry, for picking many at random positions (O(1) each afterwards).
    pub fn entries(&self) -> Vec<(&[u8], &[u8])> {
        self.iter().collect()
    }

    fn is_big(&self) -> bool {
        matches!(self.repr, Repr::Big(_))
    }

    /// Whether HSCAN answers everything in one call (as Redis does for a listpack).
    pub fn scans_whole(&self) -> bool {
        !self.is_big() || self.len() <= LISTPACK_MAX_ENTRIES
    }

    /// One HSCAN step: a small hash is visited whole, in order, answering cursor 0 (as Redis
    /// does for a listpack); otherwise visits entries at positions below `cursor` (0 = from
    /// the end), going down, until `count` positions were visited; returns the next cursor
    /// (0 when done).
    /// Going down means a removal (which moves an already-visited entry, or shifts entries
    /// down) never makes the scan miss an entry present for the whole scan.
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(&[u8], &[u8])) -> u64 {
        let whole = self.scans_whole();
        let (next, range) = scan_range(self.len(), cursor, count, whole);
        if whole {
            self.iter().for_each(|(f, v)| visit(f, v));
        } else {
            for i in range.rev() {
                if let Some((f, v)) = self.get_index(i) {
                    visit(f, v);
                }
            }
        }
        next
    }

    /// The name OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        if self.is_big() {
            "hashtable"
        } else {
            "listpack"
        }
    }

    /// Approximate heap bytes.
    pub fn memory_bytes(&self) -> usize {
        match &self.repr {
            Repr::Small(p) => p.heap_bytes(),
            Repr::Big(m) => {
                std::mem::size_of::<Map>()
                    + m.capacity() * (std::mem::size_of::<(u64, Elem, Elem)>() + 9)
                    + m.iter()
                        .map(|(f, v)| f.heap_bytes() + v.heap_bytes())
                        .sum::<usize>()
            }
        }
    }

    /// Appends the value encoding (without the tag).
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_uvarint(out, self.len() as u64);
        for (f, v) in self.iter() {
            put_bytes(out, f);
            put_bytes(out, v);
        }
    }

    /// Decodes the value encoding (after the tag). Duplicate fields are an error. The
    /// encoding is derived from the contents.
    pub fn decode(c: &mut Cursor<'_>) -> Result<Hash, DecodeError> {
        let n = count(c, 2)?;
        let start = c.clone();
        let mut big = n > LISTPACK_MAX_ENTRIES;
        let mut bytes = 0;
        for _ in 0..n {
            let f = c.bytes()?;
            let v = c.bytes()?;
            big |= f.len() > LISTPACK_MAX_VALUE || v.len() > LISTPACK_MAX_VALUE;
            bytes += Pack::entry_size(f.len()) + Pack::entry_size(v.len());
        }
        let mut c = start;
        let duplicate = |at| DecodeError::Invalid {
            what: "duplicate hash field",
            at,
        };
        if big {
            let mut map = Map::with_capacity_and_hasher(n, Default::default());
            for _ in 0..n {
                let at = c.pos();
                let f = Elem::new(c.bytes()?);
                let v = Elem::new(c.bytes()?);
                if map.insert(f, v).is_some() {
                    return Err(duplicate(at));
                }
            }
            return Ok(Hash {
                repr: Repr::Big(Box::new(map)),
            });
        }
        let mut p = Pack::with_capacity(bytes);
        let mut seen = pack::Seen::new(n, 2);
        for _ in 0..n {
            let at = c.pos();
            let f = c.bytes()?;
            let v = c.bytes()?;
            if !seen.first(&p, f) {
                return Err(duplicate(at));
            }
            p.push(f);
            p.push(v);
        }
        Ok(Hash {
            repr: Repr::Small(p),
        })
    }
}

/// The positions one SCAN step visits over `len` elements from `cursor` with `count`, and the
/// next cursor: everything (cursor 0) when `whole`, else positions going down from `cursor`
/// (0 = `len`; a cursor past the end is clamped to `len`).
pub(crate) fn scan_range(
    len: usize,
    cursor: u64,
    count: usize,
    whole: bool,
) -> (u64, std::ops::Range<usize>) {
    if whole {
        return (0, 0..len);
    }
    let top = if cursor == 0 {
        len
    } else {
        usize::try_from(cursor).unwrap_or(usize::MAX).min(len)
    };
    let bottom = top.saturating_sub(count.max(1));
    (bottom as u64, bottom..top)
}

/// Builds a hash effect body.
pub type Body = super::Body<Hash>;

impl Body {
    /// Fields set to values.
    pub fn set<'a>(&mut self, pairs: impl ExactSizeIterator<Item = (&'a [u8], &'a [u8])>) {
        let buf = self.op(OP_SET);
        put_uvarint(buf, pairs.len() as u64);
        for (f, v) in pairs {
            put_bytes(buf, f);
            put_bytes(buf, v);
        }
    }

    /// Fields removed.
    pub fn del<'a>(&mut self, fields: impl ExactSizeIterator<Item = &'a [u8]>) {
        self.op_list(OP_DEL, fields);
    }
}

/// Replays a hash effect body.
pub fn replay(existing: Option<&mut Value>, body: &[u8]) -> Result<Replayed, ApplyError> {
    super::replay_body::<Hash>(existing, body)
}

impl super::Collection for Hash {
    super::collection_value!(Hash, inline);

    fn apply_op(&mut self, op: u8, at: usize, c: &mut Cursor<'_>) -> Result<(), ApplyError> {
        let h = self;
        match op {
            OP_SET => {
                let n = count(c, 2)?;
                h.hint(n);
                for _ in 0..n {
                    let f = c.bytes()?;
                    let v = c.bytes()?;
                    h.set(f, v);
                }
            }
            OP_DEL => {
                let n = count(c, 1)?;
                for _ in 0..n {
                    h.remove(c.bytes()?);
                }
            }
            op => return Err(DecodeError::UnknownOp { op, at }.into()),
        }
        Ok(())
    }
}

/// A hash effect body as text (`SET f=v ...; DEL f ...`).
pub fn describe(body: &[u8], out: &mut String) -> Result<(), DecodeError> {
    let mut c = Cursor::new(body);
    while !c.is_at_end() {
        if !out.is_empty() {
            out.push_str("; ");
        }
        let at = c.pos();
        match c.u8()? {
            OP_SET => {
                out.push_str("SET");
                for _ in 0..count(&mut c, 2)? {
                    out.push(' ');
                    super::push_text(out, c.bytes()?);
                    out.push('=');
                    super::push_text(out, c.bytes()?);
                }
            }
            OP_DEL => {
                out.push_str("DEL");
                for _ in 0..count(&mut c, 1)? {
                    out.push(' ');
                    super::push_text(out, c.bytes()?);
                }
            }
            op => return Err(DecodeError::UnknownOp { op, at }),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::elem::ToBytes;
    use bytes::Bytes;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    fn fields(h: &Hash) -> Vec<String> {
        h.iter()
            .map(|(f, _)| String::from_utf8_lossy(f).into_owned())
            .collect()
    }

    fn round_trip(h: &Hash) -> Hash {
        let mut out = Vec::new();
        h.encode(&mut out);
        let mut c = Cursor::new(&out);
        let d = Hash::decode(&mut c).expect("decodes");
        assert!(c.is_at_end());
        d
    }

    #[test]
    fn a_small_hash_is_compact_and_converts_once() {
        let mut small = Hash::new();
        small.hint(10);
        for i in 0..10 {
            small.set(format!("field{i}").as_bytes(), b"value");
        }
        // Ten packed pairs: "fieldN" and "value" each with a length byte on either side,
        // 15 bytes a pair, and no slack.
        assert_eq!(small.memory_bytes(), 10 * (8 + 7));
        assert_eq!(small.encoding(), "listpack");
        let mut big = small.clone();
        big.grow();
        assert_eq!(big.encoding(), "hashtable");
        assert!(big.memory_bytes() > small.memory_bytes());
        assert_eq!(big, small, "same fields, same order");
        assert_eq!(
            big.get(b"field3").map(|v| v.to_bytes()),
            small.get(b"field3").map(|v| v.to_bytes())
        );
    }

    #[test]
    fn small_hash_keeps_order_on_delete_like_a_listpack() {
        // Deleting from a small hash shifts later fields down, as a listpack does.
        let mut h = Hash::new();
        for f in ["a", "b", "c", "d"] {
            h.set(f.as_bytes(), b("1"));
        }
        assert!(h.remove(b"b"));
        assert!(!h.remove(b"b"));
        assert_eq!(fields(&h), ["a", "c", "d"]);
        h.set(b"a", b("2"));
        assert_eq!(fields(&h), ["a", "c", "d"], "overwrite keeps position");
        assert_eq!(h.encoding(), "listpack");
    }

    #[test]
    fn encoding_converts_once_and_is_derived_on_load() {
        // 513 fields (or a value over 64 bytes) converts; removing never converts back;
        // a decoded value derives its encoding from the contents.
        let mut h = Hash::new();
        for i in 0..LISTPACK_MAX_ENTRIES {
            h.set(format!("f{i}").as_bytes(), b("v"));
        }
        assert_eq!(h.encoding(), "listpack");
        h.set(b"one-more", b("v"));
        assert_eq!(h.encoding(), "hashtable");
        h.remove(b"one-more");
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(round_trip(&h).encoding(), "listpack");
        let mut l = Hash::new();
        l.set(b"f", Bytes::from(vec![b'x'; 65]));
        assert_eq!(l.encoding(), "hashtable");
        assert_eq!(round_trip(&l).encoding(), "hashtable");
        let mut n = Hash::new();
        n.hint(513);
        assert_eq!(n.encoding(), "hashtable");
    }

    #[test]
    fn scan_visits_everything_present_throughout() {
        // A large hash scanned with COUNT 7 while fields are deleted between steps still
        // visits every field present for the whole scan.
        let mut h = Hash::new();
        for i in 0..1000 {
            h.set(format!("f{i}").as_bytes(), b("v"));
        }
        assert!(!h.scans_whole());
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        let mut step = 0;
        loop {
            cursor = h.scan(cursor, 7, |f, _| {
                seen.insert(f.to_vec());
            });
            // Delete some fields (never f0..f99, which must all be seen).
            step += 1;
            h.remove(format!("f{}", 100 + (step * 37) % 900).as_bytes());
            if cursor == 0 {
                break;
            }
        }
        for i in 0..100 {
            assert!(seen.contains(format!("f{i}").as_bytes()), "f{i} missed");
        }
    }

    #[test]
    fn scan_cursor_is_clamped_and_small_hashes_scan_whole() {
        let mut h = Hash::new();
        h.set(b"a", b("1"));
        h.set(b"b", b("2"));
        let mut got = Vec::new();
        assert_eq!(h.scan(999, 1, |f, _| got.push(f.to_bytes())), 0);
        assert_eq!(got, [b("a"), b("b")]);
        assert_eq!(scan_range(10, 999, 3, false), (7, 7..10));
        assert_eq!(scan_range(10, 0, 3, false), (7, 7..10));
        assert_eq!(scan_range(10, 2, 3, false), (0, 0..2));
    }

    #[test]
    fn decode_rejects_garbage_without_panicking() {
        for bad in [
            &[][..],
            &[5],
            &[1, 3, b'a'],
            &[2, 1, b'a', 1, b'v', 1, b'a', 1, b'w'],
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
        ] {
            assert!(Hash::decode(&mut Cursor::new(bad)).is_err(), "{bad:?}");
        }
        assert!(replay(None, &[9]).is_err());
        assert!(replay(None, &[OP_SET, 1, 1]).is_err());
    }

    #[derive(Debug, Clone)]
    enum Op {
        Set(Vec<(u8, u8)>),
        Del(Vec<u8>),
    }

    fn op() -> impl Strategy<Value = Op> {
        // Field names from a range wide enough to cross the listpack limit now and then.
        let field = prop_oneof![0u8..8, 0u8..=255];
        prop_oneof![
            prop::collection::vec((field.clone(), any::<u8>()), 1..40).prop_map(Op::Set),
            prop::collection::vec(field, 1..20).prop_map(Op::Del),
        ]
    }

    fn name(f: u8) -> Vec<u8> {
        // Some fields long enough (and many enough) to force the hashtable encoding.
        let mut v = format!("field{f}").into_bytes();
        if f == 200 {
            v.resize(70, b'x');
        }
        v
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn ops_match_a_model_and_bodies_replay_identically(
            ops in prop::collection::vec(op(), 1..60),
            big in any::<bool>(),
        ) {
            // Random op sequences agree with a HashMap model; the body logged for each op,
            // replayed on a copy of the value before it, gives an identical value (order
            // included); encode/decode round-trips.
            let mut h = Hash::new();
            let mut model: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
            if big {
                for i in 0..600u32 {
                    let f = format!("pre{i}").into_bytes();
                    h.set(&f, Bytes::from(i.to_string()));
                    model.insert(f, i.to_string().into_bytes());
                }
            }
            for op in ops {
                let before = h.clone();
                let mut body = Body::new();
                match op {
                    Op::Set(pairs) => {
                        let pairs: Vec<(Vec<u8>, Vec<u8>)> =
                            pairs.iter().map(|&(f, v)| (name(f), vec![v])).collect();
                        h.hint(pairs.len());
                        for (f, v) in &pairs {
                            let new = h.set(f, Bytes::copy_from_slice(v));
                            prop_assert_eq!(new, model.insert(f.clone(), v.clone()).is_none());
                        }
                        body.set(pairs.iter().map(|(f, v)| (&f[..], &v[..])));
                    }
                    Op::Del(fs) => {
                        let fs: Vec<Vec<u8>> = fs.iter().map(|&f| name(f)).collect();
                        let mut removed = Vec::new();
                        for f in &fs {
                            let was = h.remove(f);
                            prop_assert_eq!(was, model.remove(f).is_some());
                            if was {
                                removed.push(f.clone());
                            }
                        }
                        if !removed.is_empty() {
                            body.del(removed.iter().map(|f| &f[..]));
                        }
                    }
                }
                prop_assert_eq!(h.len(), model.len());
                for (f, v) in &model {
                    prop_assert_eq!(h.get(f).map(|b| b.to_vec()), Some(v.clone()));
                }
                let mut copy = Value::Hash(before.clone());
                let r = replay(Some(&mut copy), body.bytes()).expect("replays");
                if h.is_empty() {
                    prop_assert!(matches!(r, Replayed::Emptied));
                } else {
                    prop_assert_eq!(&copy, &Value::Hash(h.clone()));
                }
                let d = round_trip(&h);
                prop_assert_eq!(&d, &h);
                if h.is_empty() {
                    // A command would delete the key; start over from nothing.
                    h = Hash::new();
                }
            }
        }

        #[test]
        fn decode_and_replay_of_garbage_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = Hash::decode(&mut Cursor::new(&bytes));
            let mut v = Value::Hash(Hash::new());
            let _ = replay(Some(&mut v), &bytes);
            let _ = replay(None, &bytes);
            let mut s = String::new();
            let _ = describe(&bytes, &mut s);
        }
    }
}
