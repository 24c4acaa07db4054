//! Sets of unique members.
//!
//! A small set (`intset` or `listpack`) is a [`Pack`] of members searched linearly, as Redis
//! searches those encodings; a `hashtable` set is an insertion-ordered set ([`indexmap`]):
//! O(1) membership and O(1) access by position for SRANDMEMBER, SPOP and SSCAN. The order
//! follows Redis's compact encodings while the set is small, so `SMEMBERS` answers as Redis
//! does there:
//!
//! - while every member is an integer (Redis's `string2ll` form) and there are at most 512,
//!   an added member goes to its sorted position (an intset is sorted);
//! - otherwise an added member goes last (a listpack appends);
//! - with at most 128 members, or an all-integer set of at most 512, a removal shifts the
//!   later members down (O(n) on a small set) as removing from an intset or listpack does;
//!   a larger set removes in O(1) by swapping the last member into the hole.
//!
//! These rules depend only on the contents (never on history), so replaying a body on a
//! value loaded from a snapshot gives the same order as on the live value.
//!
//! OBJECT ENCODING is state, as in Redis 7.2: `intset` while all members are integers and
//! there are at most 512, `listpack` for at most 128 members of at most 64 bytes, else
//! `hashtable`; a set only ever moves to a larger encoding while live. Loading a value
//! derives it from the contents, as Redis does when loading an RDB.
//!
//! Effect body (tag 3), a sequence of ops:
//!
//! ```text
//! op 1  ADD  n:varint member:bytes*n   add (no-op when present), in order
//! op 2  REM  n:varint member:bytes*n   remove, in order
//! ```

use super::elem::Elem;
use super::pack::{self, Pack};
use indexmap::IndexSet;

use super::{count, Replayed};
use crate::effect::{put_bytes, put_uvarint, ApplyError, Cursor, DecodeError};
use crate::num::parse_i64;
use crate::value::Value;

const OP_ADD: u8 = 1;
const OP_REM: u8 = 2;

/// Redis's `set-max-intset-entries` default.
pub const INTSET_MAX_ENTRIES: usize = 512;
/// Redis's `set-max-listpack-entries` default.
pub const LISTPACK_MAX_ENTRIES: usize = 128;
/// Redis's `set-max-listpack-value` default.
pub const LISTPACK_MAX_VALUE: usize = 64;

type Table = IndexSet<Elem, foldhash::fast::RandomState>;

/// A set's members: a [`Pack`] while the set is small (intset or listpack encoded),
/// searched linearly as Redis searches those encodings, and a hash set once it is a
/// `hashtable`.
#[derive(Debug, Clone)]
enum Members {
    Small(Pack),
    Big(Box<Table>),
}

/// Iterator over a set's members in order.
type MembersIter<'a> = super::SmallOrBig<
    pack::Iter<'a>,
    std::iter::Map<indexmap::set::Iter<'a, Elem>, fn(&'a Elem) -> &'a [u8]>,
>;

impl Default for Members {
    fn default() -> Self {
        Members::Small(Pack::new())
    }
}

impl Members {
    fn len(&self) -> usize {
        match self {
            Members::Small(p) => p.len(),
            Members::Big(t) => t.len(),
        }
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn find_small(p: &Pack, m: &[u8]) -> Option<usize> {
        p.find(1, |x| x == m)
    }

    fn contains(&self, m: &[u8]) -> bool {
        match self {
            Members::Small(p) => Self::find_small(p, m).is_some(),
            Members::Big(t) => t.contains(m),
        }
    }

    /// Inserts a canonical integer known to be absent before the first member ordered
    /// after it (the members are all canonical integers, in order).
    fn insert_int(&mut self, m: &[u8]) {
        let below = |x: &[u8]| pack::cmp_canonical_int(x, m).is_lt();
        match self {
            Members::Small(p) => {
                let mut it = p.iter();
                let mut at = p.end();
                loop {
                    let off = it.offset();
                    match it.next() {
                        Some(x) if below(x) => {}
                        Some(_) => {
                            at = off;
                            break;
                        }
                        None => break,
                    }
                }
                p.insert(at, &[m]);
            }
            Members::Big(t) => {
                let pos = t.as_slice().partition_point(|x| below(x));
                t.shift_insert(pos, Elem::new(m));
            }
        }
    }

    /// Appends a member known to be absent.
    fn push(&mut self, m: &[u8]) {
        match self {
            Members::Small(p) => p.push(m),
            Members::Big(t) => {
                t.insert(Elem::new(m));
            }
        }
    }

    fn shift_remove(&mut self, m: &[u8]) -> bool {
        match self {
            Members::Small(p) => match Self::find_small(p, m) {
                Some(at) => {
                    p.remove(at, 1);
                    true
                }
                None => false,
            },
            Members::Big(t) => t.shift_remove(m),
        }
    }

    fn swap_remove(&mut self, m: &[u8]) -> bool {
        match self {
            Members::Small(_) => self.shift_remove(m),
            Members::Big(t) => t.swap_remove(m),
        }
    }

    fn iter<'a>(&'a self) -> MembersIter<'a> {
        match self {
            Members::Small(p) => super::SmallOrBig::Small(p.iter()),
            Members::Big(t) => {
                super::SmallOrBig::Big(t.iter().map(Elem::as_slice as fn(&'a Elem) -> &'a [u8]))
            }
        }
    }

    fn get_index(&self, i: usize) -> Option<&[u8]> {
        match self {
            Members::Small(p) => p.nth(i).map(|at| p.get(at).0),
            Members::Big(t) => t.get_index(i).map(Elem::as_slice),
        }
    }

    /// Heap bytes.
    fn heap_bytes(&self) -> usize {
        match self {
            Members::Small(p) => p.heap_bytes(),
            Members::Big(t) => {
                std::mem::size_of::<Table>()
                    + t.capacity() * (std::mem::size_of::<(u64, Elem)>() + 9)
                    + t.iter().map(|m| m.heap_bytes()).sum::<usize>()
            }
        }
    }

    /// Moves to the hash set (once the set is a `hashtable`).
    fn grow(&mut self) {
        if let Members::Small(p) = self {
            let mut t = Table::with_capacity_and_hasher(p.len(), Default::default());
            t.extend(p.iter().map(Elem::new));
            *self = Members::Big(Box::new(t));
        }
    }
}

/// The encoding OBJECT ENCODING reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
enum Enc {
    #[default]
    Intset,
    Listpack,
    Hashtable,
}

/// A set value.
#[derive(Debug, Clone, Default)]
pub struct Set {
    members: Members,
    /// Members that are not integers (derived from the contents).
    non_int: usize,
    enc: Enc,
}

impl PartialEq for Set {
    /// Equal when the same members are in the same order.
    fn eq(&self, other: &Self) -> bool {
        self.members.len() == other.members.len() && self.members.iter().eq(other.members.iter())
    }
}

impl Set {
    /// Start loading `member`'s entry into the cache ahead of a command that will look it
    /// up (a hint; see [`super::elem::Prefetch`]). Small encodings are one allocation that
    /// the lookup of the key already brought in.
    #[inline]
    pub fn prefetch(&self, member: &[u8]) {
        if let Members::Big(t) = &self.members {
            let _ = t.get_index_of(&super::elem::Prefetch(member));
        }
    }

    /// An empty set (intset encoded).
    pub fn new() -> Set {
        Set::default()
    }

    /// An empty set about to receive `n` members starting with `first`, encoded as Redis
    /// 7.2's `setTypeCreate` chooses.
    pub fn with_hint(first: &[u8], n: usize) -> Set {
        let enc = if parse_i64(first).is_some() && n <= INTSET_MAX_ENTRIES {
            Enc::Intset
        } else if n <= LISTPACK_MAX_ENTRIES {
            Enc::Listpack
        } else {
            Enc::Hashtable
        };
        let mut s = Set {
            enc,
            ..Set::default()
        };
        s.settle();
        s
    }

    /// Notes that one command is about to add `n` members to an existing set (Redis's
    /// `setTypeMaybeConvert`).
    pub fn hint(&mut self, n: usize) {
        if (self.enc == Enc::Listpack && n > LISTPACK_MAX_ENTRIES)
            || (self.enc == Enc::Intset && n > INTSET_MAX_ENTRIES)
        {
            self.enc = Enc::Hashtable;
            self.settle();
        }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether there are no members.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Whether `m` is a member.
    pub fn contains(&self, m: &[u8]) -> bool {
        self.members.contains(m)
    }

    /// Adds `m`; true when it is new.
    pub fn add(&mut self, m: &[u8]) -> bool {
        if self.members.contains(m) {
            return false;
        }
        let int = parse_i64(m);
        let n = self.members.len();
        match int {
            Some(_) if self.non_int == 0 && n < INTSET_MAX_ENTRIES => self.members.insert_int(m),
            _ => self.members.push(m),
        }
        if int.is_none() {
            self.non_int += 1;
        }
        let len = n + 1;
        self.enc = match self.enc {
            Enc::Intset if int.is_none() => {
                if n < LISTPACK_MAX_ENTRIES && m.len() <= LISTPACK_MAX_VALUE {
                    Enc::Listpack
                } else {
                    Enc::Hashtable
                }
            }
            Enc::Intset if len > INTSET_MAX_ENTRIES => Enc::Hashtable,
            Enc::Listpack if len > LISTPACK_MAX_ENTRIES || m.len() > LISTPACK_MAX_VALUE => {
                Enc::Hashtable
            }
            e => e,
        };
        self.settle();
        true
    }

    /// Whether removals keep the order (see the module doc).
    fn ordered(&self) -> bool {
        let n = self.members.len();
        n <= LISTPACK_MAX_ENTRIES || (self.non_int == 0 && n <= INTSET_MAX_ENTRIES)
    }

    /// Removes `m`; true when it was there.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        let removed = if self.ordered() {
            self.members.shift_remove(m)
        } else {
            self.members.swap_remove(m)
        };
        if removed && parse_i64(m).is_none() {
            self.non_int -= 1;
        }
        removed
    }

    /// Members in iteration order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[u8]> {
        self.members.iter()
    }

    /// Keeps the storage in step with the encoding: a `hashtable` set is a hash set.
    fn settle(&mut self) {
        if self.enc == Enc::Hashtable {
            self.members.grow();
        }
    }

    /// The member at `i` in iteration order.
    pub fn get_index(&self, i: usize) -> Option<&[u8]> {
        self.members.get_index(i)
    }

    /// Whether SSCAN answers everything in one call (as Redis does for an intset or a
    /// listpack). Also whenever additions may shift members (small sets), so a scan over
    /// several calls never meets a shifting insert.
    pub fn scans_whole(&self) -> bool {
        self.enc != Enc::Hashtable || self.ordered()
    }

    /// One SSCAN step (see [`super::hash::Hash::scan`]).
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(&[u8])) -> u64 {
        let whole = self.scans_whole();
        let (next, range) = super::hash::scan_range(self.members.len(), cursor, count, whole);
        if whole {
            self.members.iter().for_each(visit);
        } else {
            for i in range.rev() {
                if let Some(m) = self.members.get_index(i) {
                    visit(m);
                }
            }
        }
        next
    }

    /// The name OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        match self.enc {
            Enc::Intset => "intset",
            Enc::Listpack => "listpack",
            Enc::Hashtable => "hashtable",
        }
    }

    /// Approximate heap bytes.
    pub fn memory_bytes(&self) -> usize {
        self.members.heap_bytes()
    }

    /// Appends the value encoding (without the tag).
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_uvarint(out, self.members.len() as u64);
        for m in self.members.iter() {
            put_bytes(out, m);
        }
    }

    /// Decodes the value encoding (after the tag), keeping the stored order. Duplicate
    /// members are an error. The encoding is derived from the contents.
    pub fn decode(c: &mut Cursor<'_>) -> Result<Set, DecodeError> {
        let n = count(c, 1)?;
        let mut non_int = 0;
        let mut longest = 0;
        let mut bytes = 0;
        let start = c.clone();
        for _ in 0..n {
            let m = c.bytes()?;
            non_int += usize::from(parse_i64(m).is_none());
            longest = longest.max(m.len());
            bytes += Pack::entry_size(m.len());
        }
        let mut c = start;
        let duplicate = |at| DecodeError::Invalid {
            what: "duplicate set member",
            at,
        };
        let small = n <= LISTPACK_MAX_ENTRIES || (non_int == 0 && n <= INTSET_MAX_ENTRIES);
        let members = if small {
            let mut p = Pack::with_capacity(bytes);
            let mut seen = pack::Seen::new(n, 1);
            for _ in 0..n {
                let at = c.pos();
                let m = c.bytes()?;
                if !seen.first(&p, m) {
                    return Err(duplicate(at));
                }
                p.push(m);
            }
            Members::Small(p)
        } else {
            let mut t = Table::with_capacity_and_hasher(n, Default::default());
            for _ in 0..n {
                let at = c.pos();
                if !t.insert(Elem::new(c.bytes()?)) {
                    return Err(duplicate(at));
                }
            }
            Members::Big(Box::new(t))
        };
        let enc = if non_int == 0 && n <= INTSET_MAX_ENTRIES {
            Enc::Intset
        } else if n <= LISTPACK_MAX_ENTRIES && longest <= LISTPACK_MAX_VALUE {
            Enc::Listpack
        } else {
            Enc::Hashtable
        };
        let mut set = Set {
            members,
            non_int,
            enc,
        };
        set.settle();
        Ok(set)
    }
}

/// Builds a set effect body.
pub type Body = super::Body<Set>;

impl Body {
    /// Members added.
    pub fn add<'a>(&mut self, members: impl ExactSizeIterator<Item = &'a [u8]>) {
        self.op_list(OP_ADD, members);
    }

    /// Members removed.
    pub fn rem<'a>(&mut self, members: impl ExactSizeIterator<Item = &'a [u8]>) {
        self.op_list(OP_REM, members);
    }
}

/// Replays a set effect body.
pub fn replay(existing: Option<&mut Value>, body: &[u8]) -> Result<Replayed, ApplyError> {
    super::replay_body::<Set>(existing, body)
}

impl super::Collection for Set {
    super::collection_value!(Set);

    fn apply_op(&mut self, op: u8, at: usize, c: &mut Cursor<'_>) -> Result<(), ApplyError> {
        let s = self;
        match op {
            OP_ADD => {
                let n = count(c, 1)?;
                s.hint(n);
                for _ in 0..n {
                    s.add(c.bytes()?);
                }
            }
            OP_REM => {
                for _ in 0..count(c, 1)? {
                    s.remove(c.bytes()?);
                }
            }
            op => return Err(DecodeError::UnknownOp { op, at }.into()),
        }
        Ok(())
    }
}

/// A set effect body as text (`ADD m ...; REM m ...`).
pub fn describe(body: &[u8], out: &mut String) -> Result<(), DecodeError> {
    let mut c = Cursor::new(body);
    while !c.is_at_end() {
        if !out.is_empty() {
            out.push_str("; ");
        }
        let at = c.pos();
        match c.u8()? {
            op @ (OP_ADD | OP_REM) => {
                out.push_str(if op == OP_ADD { "ADD" } else { "REM" });
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
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn members(s: &Set) -> Vec<String> {
        s.iter()
            .map(|m| String::from_utf8_lossy(m).into_owned())
            .collect()
    }

    fn round_trip(s: &Set) -> Set {
        let mut out = Vec::new();
        s.encode(&mut out);
        let mut c = Cursor::new(&out);
        let d = Set::decode(&mut c).expect("decodes");
        assert!(c.is_at_end());
        d
    }

    #[test]
    fn intsets_are_sorted_and_listpacks_append() {
        // All-integer sets keep numeric order; a non-integer member is appended and later
        // members follow it; removal keeps the order of a small set.
        let mut s = Set::new();
        for m in ["5", "3", "-1", "10", "0"] {
            assert!(s.add(m.as_bytes()));
        }
        assert!(!s.add(b"3"));
        assert_eq!(members(&s), ["-1", "0", "3", "5", "10"]);
        assert_eq!(s.encoding(), "intset");
        assert!(s.add(b"x"));
        assert!(s.add(b"1"));
        assert_eq!(members(&s), ["-1", "0", "3", "5", "10", "x", "1"]);
        assert_eq!(s.encoding(), "listpack");
        assert!(s.remove(b"0"));
        assert_eq!(members(&s), ["-1", "3", "5", "10", "x", "1"]);
        assert!(s.remove(b"x"));
        assert_eq!(s.encoding(), "listpack", "never converts back");
        assert_eq!(round_trip(&s).encoding(), "intset");
        for m in ["01", "+1", "-0", "9223372036854775808"] {
            assert!(parse_i64(m.as_bytes()).is_none(), "{m}");
        }
    }

    #[test]
    fn encodings_follow_redis_limits() {
        let mut i = Set::new();
        for n in 0..INTSET_MAX_ENTRIES {
            i.add(n.to_string().as_bytes());
        }
        assert_eq!(i.encoding(), "intset");
        i.add(b"100000");
        assert_eq!(i.encoding(), "hashtable");
        let mut l = Set::new();
        for n in 0..LISTPACK_MAX_ENTRIES {
            l.add(format!("m{n}").as_bytes());
        }
        assert_eq!(l.encoding(), "listpack");
        l.add(b"more");
        assert_eq!(l.encoding(), "hashtable");
        let mut small = Set::new();
        for n in 0..200 {
            small.add(n.to_string().as_bytes());
        }
        small.add(b"x");
        assert_eq!(
            small.encoding(),
            "hashtable",
            "an intset past 128 skips listpack"
        );
        let mut long = Set::new();
        long.add(&[b'x'; 65]);
        assert_eq!(long.encoding(), "hashtable");
        assert_eq!(Set::with_hint(b"1", 513).encoding(), "hashtable");
        assert_eq!(Set::with_hint(b"1", 200).encoding(), "intset");
        assert_eq!(Set::with_hint(b"a", 128).encoding(), "listpack");
        assert_eq!(Set::with_hint(b"a", 129).encoding(), "hashtable");
        assert_eq!(Set::with_hint(b"1", 3).encoding(), "intset");
    }

    #[test]
    fn scan_visits_everything_present_throughout() {
        let mut s = Set::new();
        for i in 0..1000 {
            s.add(format!("m{i}").as_bytes());
        }
        let mut seen = std::collections::HashSet::new();
        let (mut cursor, mut step) = (0, 0);
        loop {
            cursor = s.scan(cursor, 5, |m| {
                seen.insert(m.to_vec());
            });
            step += 1;
            s.remove(format!("m{}", 100 + (step * 31) % 900).as_bytes());
            if cursor == 0 {
                break;
            }
        }
        for i in 0..100 {
            assert!(seen.contains(format!("m{i}").as_bytes()), "m{i} missed");
        }
    }

    #[test]
    fn decode_rejects_garbage_without_panicking() {
        for bad in [
            &[][..],
            &[3, 1, b'a'],
            &[2, 1, b'a', 1, b'a'],
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
        ] {
            assert!(Set::decode(&mut Cursor::new(bad)).is_err(), "{bad:?}");
        }
        assert!(replay(None, &[7]).is_err());
        assert!(replay(None, &[OP_ADD, 2, 1, b'a']).is_err());
    }

    #[derive(Debug, Clone)]
    enum Op {
        Add(Vec<u16>),
        Rem(Vec<u16>),
    }

    fn name(m: u16) -> Vec<u8> {
        // Mostly integers (intset paths), some words, some long members.
        match m % 10 {
            0 => format!("w{m}").into_bytes(),
            1 if m > 900 => vec![b'L'; 70 + (m as usize % 3)],
            _ => (m as i64 - 300).to_string().into_bytes(),
        }
    }

    fn op() -> impl Strategy<Value = Op> {
        let m = prop_oneof![0u16..20, 0u16..1000];
        prop_oneof![
            prop::collection::vec(m.clone(), 1..60).prop_map(Op::Add),
            prop::collection::vec(m, 1..30).prop_map(Op::Rem),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn ops_match_a_model_and_bodies_replay_identically(
            ops in prop::collection::vec(op(), 1..60),
        ) {
            // Random op sequences agree with a BTreeSet model; each logged body replayed on a
            // copy of the prior value gives an identical value (order included); an
            // all-integer set with at most 512 members is in numeric order; encode/decode
            // round-trips.
            let mut s = Set::new();
            let mut model: BTreeSet<Vec<u8>> = BTreeSet::new();
            // Whether the set only ever held integers, at most 512 (then it is sorted).
            let mut intset = true;
            for op in ops {
                let before = s.clone();
                let mut body = Body::new();
                match op {
                    Op::Add(ms) => {
                        let ms: Vec<Vec<u8>> = ms.iter().map(|&m| name(m)).collect();
                        s.hint(ms.len());
                        let added: Vec<&Vec<u8>> = ms.iter().filter(|m| s.add(m)).collect();
                        for m in &ms {
                            model.insert(m.clone());
                            intset &= parse_i64(m).is_some();
                        }
                        intset &= model.len() <= INTSET_MAX_ENTRIES;
                        if !added.is_empty() {
                            body.add(added.iter().map(|m| &m[..]));
                        }
                    }
                    Op::Rem(ms) => {
                        let ms: Vec<Vec<u8>> = ms.iter().map(|&m| name(m)).collect();
                        let mut removed = Vec::new();
                        for m in &ms {
                            let was = s.remove(m);
                            prop_assert_eq!(was, model.remove(m));
                            if was {
                                removed.push(m.clone());
                            }
                        }
                        if !removed.is_empty() {
                            body.rem(removed.iter().map(|m| &m[..]));
                        }
                    }
                }
                prop_assert_eq!(s.len(), model.len());
                prop_assert!(model.iter().all(|m| s.contains(m)));
                let ints: Option<Vec<i64>> = s.iter().map(parse_i64).collect();
                if let (Some(ints), true) = (ints, intset) {
                    {
                        prop_assert!(ints.windows(2).all(|w| w[0] < w[1]), "{:?}", ints);
                    }
                }
                let mut copy = Value::Set(Box::new(before.clone()));
                let r = replay(Some(&mut copy), body.bytes()).expect("replays");
                if s.is_empty() {
                    prop_assert!(matches!(r, Replayed::Emptied));
                    s = Set::new();
                    intset = true;
                } else {
                    prop_assert_eq!(&copy, &Value::Set(Box::new(s.clone())));
                    prop_assert_eq!(&round_trip(&s), &s);
                }
            }
        }

        #[test]
        fn decode_and_replay_of_garbage_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = Set::decode(&mut Cursor::new(&bytes));
            let mut v = Value::Set(Box::new(Set::new()));
            let _ = replay(Some(&mut v), &bytes);
            let _ = replay(None, &bytes);
            let mut s = String::new();
            let _ = describe(&bytes, &mut s);
        }
    }
}
