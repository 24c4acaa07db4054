//! Sorted sets: unique members ordered by (score, member).
//!
//! A small sorted set (`listpack`) is a [`Pack`] of (packed score, member) entries in
//! (score, member) order, walked linearly as a listpack is; a score takes a tag byte and the
//! zigzag-packed integer when it is integral below 2^53, else the f64's 8 bytes. Past 128
//! members or a member longer than 64 bytes it converts to the `skiplist` form, which keeps
//! two structures in step:
//!
//! * `dict`: an insertion-ordered hash map member → score (O(1) ZSCORE; its positions are
//!   what ZSCAN walks, see [`ZSet::scan_slot`]),
//! * `sl`: an arena-based skiplist with spans, ordered by (score, member bytes) as Redis
//!   orders it (scores compared with `<`, so `-0` and `0` tie and the member decides). Nodes
//!   are variable-size blocks (score, back link, levels) in one `u64` arena, named by their
//!   word offset, so a descent step touches one block as in Redis; members sit in a parallel
//!   `Vec`, and freed blocks go on a free list per level count (see [`SkipList`]). Every
//!   forward link carries its *span* (how many rank positions it jumps), so rank → node,
//!   node → rank and the first/last node of a score or lex range are all O(log n) expected.
//!
//! The encoding OBJECT ENCODING reports is state, as in Redis: "listpack" until the set
//! once held more than 128 members or a member longer than 64 bytes, then "skiplist" for as
//! long as the value lives (deleting members does not convert back). A value built afresh
//! (decode at restart, a *STORE result) derives it from its contents.
//!
//! Effect body (tag 4), a sequence of ops:
//!
//! ```text
//! op 1  ADD  n:varint (score:f64 LE member:bytes)*n   insert, or move to the new score
//! op 2  REM  n:varint member:bytes*n                   remove
//! ```

use std::cmp::Ordering;

use bytes::Bytes;

use super::elem::Elem;
use super::pack::Pack;
use indexmap::IndexMap;

use super::{count, Replayed};
use crate::effect::{put_bytes, put_uvarint, ApplyError, Cursor, DecodeError};
use crate::value::Value;

const OP_ADD: u8 = 1;
const OP_REM: u8 = 2;

/// Redis's zset-max-listpack-entries default.
pub const LISTPACK_MAX_ENTRIES: usize = 128;
/// Redis's zset-max-listpack-value default.
pub const LISTPACK_MAX_VALUE: usize = 64;

const NIL: u32 = u32::MAX;
const HEAD: u32 = 0;
const MAX_LEVEL: usize = 32;

/// (s1, m1) < (s2, m2) in Redis's order.
#[inline]
fn less(s1: f64, m1: &[u8], s2: f64, m2: &[u8]) -> bool {
    s1 < s2 || (s1 == s2 && m1 < m2)
}

/// A score interval, bounds possibly exclusive (`(`) or infinite.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreRange {
    /// Lower bound.
    pub min: f64,
    /// Upper bound.
    pub max: f64,
    /// Lower bound excluded.
    pub minex: bool,
    /// Upper bound excluded.
    pub maxex: bool,
}

impl ScoreRange {
    /// Whether `v` is at or past the lower bound.
    pub fn gte_min(&self, v: f64) -> bool {
        if self.minex {
            v > self.min
        } else {
            v >= self.min
        }
    }

    /// Whether `v` is at or before the upper bound.
    pub fn lte_max(&self, v: f64) -> bool {
        if self.maxex {
            v < self.max
        } else {
            v <= self.max
        }
    }

    /// Whether `v` is inside.
    pub fn contains(&self, v: f64) -> bool {
        self.gte_min(v) && self.lte_max(v)
    }

    /// Whether no score can be inside.
    pub fn is_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.minex || self.maxex))
    }
}

/// One end of a lex range: `-`, `+`, `[m` or `(m`.
#[derive(Debug, Clone, PartialEq)]
pub enum LexBound {
    /// `-`: before every member.
    NegInf,
    /// `+`: after every member.
    PosInf,
    /// `[m`.
    Incl(Bytes),
    /// `(m`.
    Excl(Bytes),
}

/// A member interval.
#[derive(Debug, Clone, PartialEq)]
pub struct LexRange {
    /// Lower bound.
    pub min: LexBound,
    /// Upper bound.
    pub max: LexBound,
}

impl LexRange {
    /// Whether `m` is at or past the lower bound.
    pub fn gte_min(&self, m: &[u8]) -> bool {
        match &self.min {
            LexBound::NegInf => true,
            LexBound::PosInf => false,
            LexBound::Incl(b) => m >= &b[..],
            LexBound::Excl(b) => m > &b[..],
        }
    }

    /// Whether `m` is at or before the upper bound.
    pub fn lte_max(&self, m: &[u8]) -> bool {
        match &self.max {
            LexBound::NegInf => false,
            LexBound::PosInf => true,
            LexBound::Incl(b) => m <= &b[..],
            LexBound::Excl(b) => m < &b[..],
        }
    }

    /// Whether no member can be inside (Redis: `-`/`+` count as exclusive).
    pub fn is_empty(&self) -> bool {
        fn key(b: &LexBound) -> (u8, &[u8], bool) {
            match b {
                LexBound::NegInf => (0, &[], true),
                LexBound::PosInf => (2, &[], true),
                LexBound::Incl(m) => (1, m, false),
                LexBound::Excl(m) => (1, m, true),
            }
        }
        let (a, am, aex) = key(&self.min);
        let (b, bm, bex) = key(&self.max);
        match (a, am).cmp(&(b, bm)) {
            Ordering::Greater => true,
            Ordering::Equal => aex || bex,
            Ordering::Less => false,
        }
    }
}

/// The order-statistics skiplist (see the module doc).
///
/// Nodes are variable-size blocks in one `u64` arena, each addressed by its word offset (the
/// node id): word 0 holds the score's bits, word 1 the back link (low half) and the level
/// count (high half), word 2 the member's index in `members`, then one word per level, the
/// forward link `fwd << 32 | span`. A descent step thus reads one block, where the score it
/// compares and the link it follows next sit together, as in Redis's node. The head is the
/// block at offset 0, with `MAX_LEVEL` (32) levels and no member. Members (compared only on score
/// ties, and owning heap bytes when long) live beside the arena, one slot per block. A freed
/// block keeps its member slot and goes on the free list of its level count, reused only by a
/// new node of as many levels.
#[derive(Debug, Clone)]
pub struct SkipList {
    words: Vec<u64>,
    members: Vec<Elem>,
    /// `free[k - 1]`: freed blocks of `k` levels.
    free: Vec<Vec<u32>>,
    tail: u32,
    len: usize,
    level: usize,
    rng: u64,
}

/// Words of a block before its links: score, back and level count, member slot.
const HDR: usize = 3;
/// A link to nowhere with span 0.
const NO_LINK: u64 = (NIL as u64) << 32;

/// The forward node of a packed link.
#[inline]
fn link_fwd(l: u64) -> u32 {
    (l >> 32) as u32
}

/// The span of a packed link.
#[inline]
fn link_span(l: u64) -> u32 {
    l as u32
}

impl Default for SkipList {
    fn default() -> Self {
        let mut words = vec![NO_LINK; HDR + MAX_LEVEL];
        words[0] = 0f64.to_bits();
        words[1] = u64::from(NIL) | (MAX_LEVEL as u64) << 32;
        words[2] = u64::from(NIL);
        SkipList {
            words,
            members: Vec::new(),
            free: Vec::new(),
            tail: NIL,
            len: 0,
            level: 1,
            rng: 0x9E37_79B9_7F4A_7C15,
        }
    }
}

impl SkipList {
    #[inline]
    fn score(&self, x: u32) -> f64 {
        f64::from_bits(self.words[x as usize])
    }

    #[inline]
    fn back(&self, x: u32) -> u32 {
        self.words[x as usize + 1] as u32
    }

    #[inline]
    fn set_back(&mut self, x: u32, back: u32) {
        let w = &mut self.words[x as usize + 1];
        *w = (*w & !u64::from(u32::MAX)) | u64::from(back);
    }

    /// The number of levels of node `x`.
    #[inline]
    fn lvl(&self, x: u32) -> usize {
        (self.words[x as usize + 1] >> 32) as usize
    }

    #[inline]
    fn member_slot(&self, x: u32) -> usize {
        self.words[x as usize + 2] as u32 as usize
    }

    #[inline]
    fn member(&self, x: u32) -> &[u8] {
        self.members[self.member_slot(x)].as_slice()
    }

    /// The packed link of node `x` at level `i`.
    #[inline]
    fn link(&self, x: u32, i: usize) -> u64 {
        self.words[x as usize + HDR + i]
    }

    #[inline]
    fn fwd(&self, x: u32, i: usize) -> u32 {
        link_fwd(self.link(x, i))
    }

    #[cfg(test)]
    fn span(&self, x: u32, i: usize) -> u32 {
        link_span(self.link(x, i))
    }

    #[inline]
    fn set_link(&mut self, x: u32, i: usize, fwd: u32, span: u32) {
        self.words[x as usize + HDR + i] = u64::from(fwd) << 32 | u64::from(span);
    }

    /// Whether node `f` orders before (score, member); its member is read only on a score tie.
    #[inline]
    fn before(&self, f: u32, score: f64, member: &[u8]) -> bool {
        let s = self.score(f);
        s < score || (s == score && self.member(f) < member)
    }

    /// Level 1 with probability 3/4, each further level with 1/4 (Redis's p = 0.25).
    fn random_level(&mut self) -> usize {
        let mut lvl = 1;
        loop {
            // xorshift64*: deterministic, so the structure does not depend on a global RNG.
            self.rng ^= self.rng >> 12;
            self.rng ^= self.rng << 25;
            self.rng ^= self.rng >> 27;
            let r = self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32;
            if r & 3 != 0 || lvl >= MAX_LEVEL {
                return lvl;
            }
            lvl += 1;
        }
    }

    /// A block for a node of `lvl` levels holding (score, member) with back link `back`, its
    /// links left to the caller: a freed block of as many levels, else a new one.
    fn alloc(&mut self, lvl: usize, score: f64, member: Elem, back: u32) -> u32 {
        let meta = u64::from(back) | (lvl as u64) << 32;
        match self.free.get_mut(lvl - 1).and_then(Vec::pop) {
            Some(n) => {
                let at = n as usize;
                self.words[at] = score.to_bits();
                self.words[at + 1] = meta;
                let slot = self.member_slot(n);
                self.members[slot] = member;
                n
            }
            None => {
                let n = self.words.len() as u32;
                let slot = self.members.len() as u64;
                self.members.push(member);
                self.words.extend_from_slice(&[score.to_bits(), meta, slot]);
                self.words.resize(self.words.len() + lvl, NO_LINK);
                n
            }
        }
    }

    /// Inserts a member known to be absent.
    fn insert(&mut self, score: f64, member: Elem) {
        let mut update = [HEAD; MAX_LEVEL];
        let mut rank = [0u32; MAX_LEVEL];
        let mut x = HEAD;
        let mut r = 0u32;
        let m = member.as_slice();
        for i in (0..self.level).rev() {
            loop {
                let l = self.link(x, i);
                let f = link_fwd(l);
                if f != NIL && self.before(f, score, m) {
                    r += link_span(l);
                    x = f;
                } else {
                    break;
                }
            }
            rank[i] = r;
            update[i] = x;
        }
        let lvl = self.random_level();
        if lvl > self.level {
            for i in self.level..lvl {
                rank[i] = 0;
                update[i] = HEAD;
                self.set_link(HEAD, i, NIL, self.len as u32);
            }
            self.level = lvl;
        }
        let back = if update[0] == HEAD { NIL } else { update[0] };
        let n = self.alloc(lvl, score, member, back);
        for (i, (&u, &ru)) in update.iter().zip(&rank).enumerate().take(lvl) {
            let ul = self.link(u, i);
            let d = rank[0] - ru;
            self.set_link(n, i, link_fwd(ul), link_span(ul) - d);
            self.set_link(u, i, n, d + 1);
        }
        for (i, &u) in update.iter().enumerate().take(self.level).skip(lvl) {
            let ul = self.link(u, i);
            self.set_link(u, i, link_fwd(ul), link_span(ul) + 1);
        }
        let f0 = self.fwd(n, 0);
        if f0 != NIL {
            self.set_back(f0, n);
        } else {
            self.tail = n;
        }
        self.len += 1;
    }

    /// Unlinks (score, member); returns the member's bytes (so a score update can relink the
    /// same allocation), `None` when absent.
    fn delete(&mut self, score: f64, member: &[u8]) -> Option<Elem> {
        let mut update = [HEAD; MAX_LEVEL];
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let f = self.fwd(x, i);
                if f != NIL && self.before(f, score, member) {
                    x = f;
                } else {
                    break;
                }
            }
            update[i] = x;
        }
        let x = self.fwd(x, 0);
        if x == NIL || self.score(x) != score || self.member(x) != member {
            return None;
        }
        for (i, &u) in update.iter().enumerate().take(self.level) {
            let ul = self.link(u, i);
            if link_fwd(ul) == x {
                let xl = self.link(x, i);
                self.set_link(u, i, link_fwd(xl), link_span(ul) + link_span(xl) - 1);
            } else {
                self.set_link(u, i, link_fwd(ul), link_span(ul) - 1);
            }
        }
        let f0 = self.fwd(x, 0);
        let back = self.back(x);
        if f0 != NIL {
            self.set_back(f0, back);
        } else {
            self.tail = back;
        }
        while self.level > 1 && self.fwd(HEAD, self.level - 1) == NIL {
            self.level -= 1;
        }
        self.len -= 1;
        let k = self.lvl(x);
        let slot = self.member_slot(x);
        let member = std::mem::take(&mut self.members[slot]);
        if self.free.len() < k {
            self.free.resize_with(k, Vec::new);
        }
        self.free[k - 1].push(x);
        Some(member)
    }

    /// 1-based rank of (score, member), if present.
    fn rank(&self, score: f64, member: &[u8]) -> Option<usize> {
        let mut x = HEAD;
        let mut rank = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let l = self.link(x, i);
                let f = link_fwd(l);
                if f == NIL {
                    break;
                }
                let s = self.score(f);
                if s < score || (s == score && self.member(f) <= member) {
                    rank += link_span(l) as usize;
                    x = f;
                } else {
                    break;
                }
            }
            if x != HEAD && self.score(x) == score && self.member(x) == member {
                return Some(rank);
            }
        }
        None
    }

    /// The node at 1-based `rank`.
    fn by_rank(&self, rank: usize) -> Option<u32> {
        if rank == 0 || rank > self.len {
            return None;
        }
        let mut x = HEAD;
        let mut traversed = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let l = self.link(x, i);
                let f = link_fwd(l);
                if f != NIL && traversed + link_span(l) as usize <= rank {
                    traversed += link_span(l) as usize;
                    x = f;
                } else {
                    break;
                }
            }
            if traversed == rank {
                return Some(x);
            }
        }
        None
    }

    /// The last node for which `before` holds, walking from the head (`before` must be
    /// monotone: true for a prefix of the order). HEAD when none.
    fn last_where(&self, before: impl Fn(u32) -> bool) -> u32 {
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let f = self.fwd(x, i);
                if f != NIL && before(f) {
                    x = f;
                } else {
                    break;
                }
            }
        }
        x
    }

    fn first_in_score(&self, r: &ScoreRange) -> Option<u32> {
        if r.is_empty() {
            return None;
        }
        let x = self.fwd(self.last_where(|f| !r.gte_min(self.score(f))), 0);
        (x != NIL && r.lte_max(self.score(x))).then_some(x)
    }

    fn last_in_score(&self, r: &ScoreRange) -> Option<u32> {
        if r.is_empty() {
            return None;
        }
        let x = self.last_where(|f| r.lte_max(self.score(f)));
        (x != HEAD && r.gte_min(self.score(x))).then_some(x)
    }

    fn first_in_lex(&self, r: &LexRange) -> Option<u32> {
        if r.is_empty() {
            return None;
        }
        let x = self.fwd(self.last_where(|f| !r.gte_min(self.member(f))), 0);
        (x != NIL && r.lte_max(self.member(x))).then_some(x)
    }

    fn last_in_lex(&self, r: &LexRange) -> Option<u32> {
        if r.is_empty() {
            return None;
        }
        let x = self.last_where(|f| r.lte_max(self.member(f)));
        (x != HEAD && r.gte_min(self.member(x))).then_some(x)
    }

    /// Approximate heap bytes: the arena, the member slots (not the heap bytes of long
    /// members), the free lists.
    fn heap_bytes(&self) -> usize {
        self.words.capacity() * std::mem::size_of::<u64>()
            + self.members.capacity() * std::mem::size_of::<Elem>()
            + self.free.capacity() * std::mem::size_of::<Vec<u32>>()
            + self
                .free
                .iter()
                .map(|f| f.capacity() * std::mem::size_of::<u32>())
                .sum::<usize>()
    }
}

/// A position in a sorted set's order (valid until the set changes): a byte offset into a
/// listpack's pack, or a skiplist node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos(u32);

/// Scores in a packed entry: a tag byte, then either the zigzag-encoded integer in `tag`
/// little-endian bytes (`tag` 0..=7: integral scores below 2^53 in magnitude, so a rank or a
/// count takes 1-2 bytes and a millisecond timestamp 7) or, with tag 8, the f64's 8 bytes.
const SCORE_F64: u8 = 8;

/// Longest packed score.
const SCORE_MAX: usize = 9;

/// Writes `s` packed into `out`; returns the bytes used.
#[inline]
fn pack_score(s: f64, out: &mut [u8; SCORE_MAX]) -> usize {
    const EXACT: f64 = (1u64 << 53) as f64;
    let integral = s == s.trunc() && s.abs() < EXACT && !(s == 0.0 && s.is_sign_negative());
    if integral {
        let i = s as i64;
        let z = ((i << 1) ^ (i >> 63)) as u64;
        let n = (64 - z.leading_zeros() as usize).div_ceil(8);
        out[0] = n as u8;
        out[1..1 + n].copy_from_slice(&z.to_le_bytes()[..n]);
        1 + n
    } else {
        out[0] = SCORE_F64;
        out[1..].copy_from_slice(&s.to_le_bytes());
        SCORE_MAX
    }
}

/// The member and score of a packed entry (packed score, then the member bytes).
#[inline]
fn unpack(d: &[u8]) -> (&[u8], f64) {
    let Some((&tag, rest)) = d.split_first() else {
        return (&[], 0.0);
    };
    if tag == SCORE_F64 {
        return match rest.split_first_chunk::<8>() {
            Some((b, m)) => (m, f64::from_le_bytes(*b)),
            None => (&[], 0.0),
        };
    }
    let n = usize::from(tag).min(7).min(rest.len());
    let mut b = [0u8; 8];
    b[..n].copy_from_slice(&rest[..n]);
    let z = u64::from_le_bytes(b);
    let i = (z >> 1) as i64 ^ -((z & 1) as i64);
    (&rest[n..], i as f64)
}

/// Inserts (score, m) at `at` in a pack.
#[inline]
fn pack_insert(p: &mut Pack, at: usize, score: f64, m: &[u8]) {
    let mut sb = [0u8; SCORE_MAX];
    let n = pack_score(score, &mut sb);
    p.insert(at, &[&sb[..n], m]);
}

/// Walks members from a position, forward or backward.
pub enum Walk<'a> {
    /// Over a listpack: the offset of the next entry (`None` when done).
    Small {
        /// The pack.
        pack: &'a Pack,
        /// Offset of the next entry.
        at: Option<usize>,
        /// Backward.
        rev: bool,
    },
    /// Over the skiplist.
    Big {
        /// The skiplist.
        sl: &'a SkipList,
        /// The next node.
        at: u32,
        /// Backward.
        rev: bool,
    },
}

impl<'a> Iterator for Walk<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Walk::Small { pack, at, rev } => {
                let off = (*at)?;
                if off >= pack.end() {
                    *at = None;
                    return None;
                }
                let (d, next) = pack.get(off);
                *at = if *rev { pack.prev(off) } else { Some(next) };
                Some(unpack(d))
            }
            Walk::Big { sl, at, rev } => {
                if *at == NIL || *at == HEAD {
                    return None;
                }
                let x = *at;
                *at = if *rev { sl.back(x) } else { sl.fwd(x, 0) };
                Some((sl.member(x), sl.score(x)))
            }
        }
    }
}

/// The skiplist encoding: a member → score table beside the ordered skiplist.
#[derive(Debug, Clone, Default)]
pub struct Big {
    dict: IndexMap<Elem, f64, foldhash::fast::RandomState>,
    sl: SkipList,
}

#[derive(Debug, Clone)]
enum Repr {
    /// `listpack`: (score, member) entries in order, searched linearly.
    Small(Pack),
    /// `skiplist` (sticky while the value lives).
    Big(Box<Big>),
}

/// A sorted set value.
#[derive(Debug, Clone)]
pub struct ZSet {
    repr: Repr,
}

impl Default for ZSet {
    fn default() -> Self {
        ZSet {
            repr: Repr::Small(Pack::new()),
        }
    }
}

impl PartialEq for ZSet {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .zip(other.iter())
                .all(|((m1, s1), (m2, s2))| m1 == m2 && s1.to_bits() == s2.to_bits())
    }
}

/// The offset of `m`'s entry in a packed sorted set.
fn find_small(p: &Pack, m: &[u8]) -> Option<usize> {
    p.find(1, |d| unpack(d).0 == m)
}

/// The offset where (score, m) goes in a packed sorted set: before the first entry ordered
/// after it.
fn slot_small(p: &Pack, score: f64, m: &[u8]) -> usize {
    let mut it = p.iter();
    loop {
        let off = it.offset();
        match it.next() {
            Some(d) => {
                let (m2, s2) = unpack(d);
                if !less(s2, m2, score, m) {
                    return off;
                }
            }
            None => return p.end(),
        }
    }
}

impl Big {
    fn insert(&mut self, m: &[u8], score: f64) -> Option<f64> {
        match self.dict.get_mut(m) {
            Some(cur) => {
                let old = *cur;
                if old == score {
                    return Some(old);
                }
                *cur = score;
                // Relink the node's own bytes: no allocation for a score change.
                let key = self.sl.delete(old, m).unwrap_or_else(|| Elem::new(m));
                self.sl.insert(score, key);
                Some(old)
            }
            None => {
                let key = Elem::new(m);
                self.dict.insert(key.clone(), score);
                self.sl.insert(score, key);
                None
            }
        }
    }
}

impl ZSet {
    /// Start loading `member`'s entry into the cache ahead of a command that will look it
    /// up (a hint; see [`super::elem::Prefetch`]). Small encodings are one allocation that
    /// the lookup of the key already brought in.
    #[inline]
    pub fn prefetch(&self, member: &[u8]) {
        if let Repr::Big(b) = &self.repr {
            let _ = b.dict.get_index_of(&super::elem::Prefetch(member));
        }
    }

    /// An empty sorted set.
    pub fn new() -> ZSet {
        ZSet::default()
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Small(p) => p.len(),
            Repr::Big(b) => b.dict.len(),
        }
    }

    /// Whether there are no members.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The score of `m`.
    pub fn score(&self, m: &[u8]) -> Option<f64> {
        match &self.repr {
            Repr::Small(p) => find_small(p, m).map(|at| unpack(p.get(at).0).1),
            Repr::Big(b) => b.dict.get(m).copied(),
        }
    }

    /// Converts to the skiplist encoding (once; never back while live).
    fn grow(&mut self) {
        if let Repr::Small(p) = &self.repr {
            let mut b = Big::default();
            b.dict.reserve(p.len());
            for d in p.iter() {
                let (m, s) = unpack(d);
                b.insert(m, s);
            }
            self.repr = Repr::Big(Box::new(b));
        }
    }

    /// Sets the score of `m` (adding it); returns the old score. A score equal (`==`) to the
    /// current one changes nothing, as in Redis (so `-0` does not replace `0`).
    pub fn insert(&mut self, m: &[u8], score: f64) -> Option<f64> {
        if let Repr::Small(p) = &mut self.repr {
            if let Some(at) = find_small(p, m) {
                let old = unpack(p.get(at).0).1;
                if old == score {
                    return Some(old);
                }
                p.remove(at, 1);
                let to = slot_small(p, score, m);
                pack_insert(p, to, score, m);
                return Some(old);
            }
            if m.len() <= LISTPACK_MAX_VALUE && p.len() < LISTPACK_MAX_ENTRIES {
                let to = slot_small(p, score, m);
                pack_insert(p, to, score, m);
                return None;
            }
            self.grow();
        }
        match &mut self.repr {
            Repr::Big(b) => b.insert(m, score),
            Repr::Small(_) => None,
        }
    }

    /// Removes `m`; returns its score.
    pub fn remove(&mut self, m: &[u8]) -> Option<f64> {
        match &mut self.repr {
            Repr::Small(p) => {
                let at = find_small(p, m)?;
                let s = unpack(p.get(at).0).1;
                p.remove(at, 1);
                Some(s)
            }
            Repr::Big(b) => {
                let s = b.dict.swap_remove(m)?;
                b.sl.delete(s, m);
                Some(s)
            }
        }
    }

    /// Members and scores in order.
    pub fn iter(&self) -> Walk<'_> {
        self.walk(self.at_rank(0), false)
    }

    /// Members and scores from `from` on, forward or (`rev`) backward; empty for `None`.
    pub fn walk(&self, from: Option<Pos>, rev: bool) -> Walk<'_> {
        match &self.repr {
            Repr::Small(pack) => Walk::Small {
                pack,
                at: from.map(|p| p.0 as usize),
                rev,
            },
            Repr::Big(b) => Walk::Big {
                sl: &b.sl,
                at: from.map_or(NIL, |p| p.0),
                rev,
            },
        }
    }

    /// The member and score at `p`.
    pub fn entry(&self, p: Pos) -> (&[u8], f64) {
        match &self.repr {
            Repr::Small(pack) => unpack(pack.get(p.0 as usize).0),
            Repr::Big(b) => (b.sl.member(p.0), b.sl.score(p.0)),
        }
    }

    /// The 0-based rank of `m` in ascending order.
    pub fn rank(&self, m: &[u8]) -> Option<usize> {
        match &self.repr {
            Repr::Small(p) => p.iter().position(|d| unpack(d).0 == m),
            Repr::Big(b) => {
                let s = b.dict.get(m)?;
                b.sl.rank(*s, m).map(|r| r - 1)
            }
        }
    }

    /// The 0-based rank of the member at `p`.
    pub fn rank_of(&self, p: Pos) -> usize {
        match &self.repr {
            Repr::Small(pack) => {
                let mut it = pack.iter();
                let mut r = 0;
                while it.offset() < p.0 as usize && it.next().is_some() {
                    r += 1;
                }
                r
            }
            Repr::Big(b) => {
                b.sl.rank(b.sl.score(p.0), b.sl.member(p.0))
                    .map_or(0, |r| r - 1)
            }
        }
    }

    /// The position of 0-based rank `r`.
    pub fn at_rank(&self, r: usize) -> Option<Pos> {
        match &self.repr {
            Repr::Small(p) => p.nth(r).map(|at| Pos(at as u32)),
            Repr::Big(b) => b.sl.by_rank(r.checked_add(1)?).map(Pos),
        }
    }

    /// The first entry (from the front, or from the back when `rev`) satisfying `pred`, in
    /// a packed set.
    fn find_packed(p: &Pack, rev: bool, mut pred: impl FnMut(&[u8], f64) -> bool) -> Option<Pos> {
        let mut off = if rev { p.prev(p.end()) } else { Some(0) };
        while let Some(at) = off.filter(|&at| at < p.end()) {
            let (d, next) = p.get(at);
            let (m, s) = unpack(d);
            if pred(m, s) {
                return Some(Pos(at as u32));
            }
            off = if rev { p.prev(at) } else { Some(next) };
        }
        None
    }

    /// The first member whose score is in `r`.
    pub fn first_in_score(&self, r: &ScoreRange) -> Option<Pos> {
        match &self.repr {
            Repr::Small(p) => {
                let at = Self::find_packed(p, false, |_, s| r.gte_min(s))?;
                r.lte_max(self.entry(at).1).then_some(at)
            }
            Repr::Big(b) => b.sl.first_in_score(r).map(Pos),
        }
    }

    /// The last member whose score is in `r`.
    pub fn last_in_score(&self, r: &ScoreRange) -> Option<Pos> {
        match &self.repr {
            Repr::Small(p) => {
                let at = Self::find_packed(p, true, |_, s| r.lte_max(s))?;
                r.gte_min(self.entry(at).1).then_some(at)
            }
            Repr::Big(b) => b.sl.last_in_score(r).map(Pos),
        }
    }

    /// The first member in `r` (meaningful when all scores are equal, as in Redis).
    pub fn first_in_lex(&self, r: &LexRange) -> Option<Pos> {
        match &self.repr {
            Repr::Small(p) => {
                if r.is_empty() {
                    return None;
                }
                let at = Self::find_packed(p, false, |m, _| r.gte_min(m))?;
                r.lte_max(self.entry(at).0).then_some(at)
            }
            Repr::Big(b) => b.sl.first_in_lex(r).map(Pos),
        }
    }

    /// The last member in `r`.
    pub fn last_in_lex(&self, r: &LexRange) -> Option<Pos> {
        match &self.repr {
            Repr::Small(p) => {
                if r.is_empty() {
                    return None;
                }
                let at = Self::find_packed(p, true, |m, _| r.lte_max(m))?;
                r.gte_min(self.entry(at).0).then_some(at)
            }
            Repr::Big(b) => b.sl.last_in_lex(r).map(Pos),
        }
    }

    /// Number of members with scores in `r`.
    pub fn count_in_score(&self, r: &ScoreRange) -> usize {
        match (self.first_in_score(r), self.last_in_score(r)) {
            (Some(a), Some(b)) => (self.rank_of(b) + 1).saturating_sub(self.rank_of(a)),
            _ => 0,
        }
    }

    /// Number of members in the lex range `r`.
    pub fn count_in_lex(&self, r: &LexRange) -> usize {
        match (self.first_in_lex(r), self.last_in_lex(r)) {
            (Some(a), Some(b)) => (self.rank_of(b) + 1).saturating_sub(self.rank_of(a)),
            _ => 0,
        }
    }

    /// The member in ZSCAN slot `i` (slots are `0..len()`; removing a member moves only the
    /// member in the last slot, so a scan walking slots downward never misses a member that
    /// stays for the whole scan). A listpack is scanned whole instead (see ZSCAN); its slots
    /// are its ranks.
    pub fn scan_slot(&self, i: usize) -> Option<(&[u8], f64)> {
        match &self.repr {
            Repr::Small(p) => p.nth(i).map(|at| unpack(p.get(at).0)),
            Repr::Big(b) => b.dict.get_index(i).map(|(m, s)| (m.as_slice(), *s)),
        }
    }

    /// The name OBJECT ENCODING reports (Redis 7: listpack up to 128 members of at most 64
    /// bytes, else skiplist; no conversion back while the value lives).
    pub fn encoding(&self) -> &'static str {
        if self.is_listpack() {
            "listpack"
        } else {
            "skiplist"
        }
    }

    /// Whether the value is a listpack (as Redis would hold it).
    pub fn is_listpack(&self) -> bool {
        matches!(self.repr, Repr::Small(_))
    }

    /// Approximate heap bytes.
    pub fn memory_bytes(&self) -> usize {
        match &self.repr {
            Repr::Small(p) => p.heap_bytes(),
            Repr::Big(b) => {
                std::mem::size_of::<Big>()
                    + b.dict.capacity() * (std::mem::size_of::<(Elem, f64)>() + 16)
                    + b.sl.heap_bytes()
                    + b.dict.keys().map(|m| 2 * m.heap_bytes()).sum::<usize>()
            }
        }
    }

    /// Appends the value encoding (without the tag).
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_uvarint(out, self.len() as u64);
        for (m, s) in self.iter() {
            out.extend_from_slice(&s.to_le_bytes());
            put_bytes(out, m);
        }
    }

    /// Decodes the value encoding (after the tag). NaN scores and duplicates are errors. The
    /// encoding is derived from the contents.
    pub fn decode(c: &mut Cursor<'_>) -> Result<ZSet, DecodeError> {
        let n = count(c, 9)?;
        let start = c.clone();
        let mut bytes = 0;
        let mut longest = 0;
        for _ in 0..n {
            let s = c.f64()?;
            let m = c.bytes()?;
            longest = longest.max(m.len());
            bytes += Pack::entry_size(pack_score(s, &mut [0; SCORE_MAX]) + m.len());
        }
        let mut c = start;
        let mut z = if n <= LISTPACK_MAX_ENTRIES && longest <= LISTPACK_MAX_VALUE {
            ZSet {
                repr: Repr::Small(Pack::with_capacity(bytes)),
            }
        } else {
            let mut b = Big::default();
            b.dict.reserve(n);
            ZSet {
                repr: Repr::Big(Box::new(b)),
            }
        };
        let mut last: Option<(f64, &[u8])> = None;
        for _ in 0..n {
            let at = c.pos();
            let s = c.f64()?;
            let m = c.bytes()?;
            let bad = DecodeError::Invalid {
                what: "sorted set entry",
                at,
            };
            if s.is_nan() {
                return Err(bad);
            }
            let in_order = last.is_none_or(|(ls, lm)| less(ls, lm, s, m));
            match &mut z.repr {
                // Entries come in order: append (a duplicate cannot be in order).
                Repr::Small(p) if in_order => pack_insert(p, p.end(), s, m),
                _ => {
                    if z.insert(m, s).is_some() {
                        return Err(bad);
                    }
                }
            }
            last = Some((s, m));
        }
        Ok(z)
    }
}

/// Builds a sorted set effect body.
pub type Body = super::Body<ZSet>;

impl Body {
    /// Members set to scores.
    pub fn add<'a>(&mut self, entries: impl ExactSizeIterator<Item = (&'a [u8], f64)>) {
        let buf = self.op(OP_ADD);
        put_uvarint(buf, entries.len() as u64);
        for (m, s) in entries {
            buf.extend_from_slice(&s.to_le_bytes());
            put_bytes(buf, m);
        }
    }

    /// Members removed.
    pub fn rem<'a>(&mut self, members: impl ExactSizeIterator<Item = &'a [u8]>) {
        self.op_list(OP_REM, members);
    }
}

/// Replays a sorted set effect body.
pub fn replay(existing: Option<&mut Value>, body: &[u8]) -> Result<Replayed, ApplyError> {
    super::replay_body::<ZSet>(existing, body)
}

impl super::Collection for ZSet {
    super::collection_value!(ZSet, inline);

    fn apply_op(&mut self, op: u8, at: usize, c: &mut Cursor<'_>) -> Result<(), ApplyError> {
        let z = self;
        match op {
            OP_ADD => {
                for _ in 0..count(c, 9)? {
                    let sat = c.pos();
                    let s = c.f64()?;
                    if s.is_nan() {
                        return Err(DecodeError::Invalid {
                            what: "score",
                            at: sat,
                        }
                        .into());
                    }
                    z.insert(c.bytes()?, s);
                }
            }
            OP_REM => {
                for _ in 0..count(c, 1)? {
                    z.remove(c.bytes()?);
                }
            }
            op => return Err(DecodeError::UnknownOp { op, at }.into()),
        }
        Ok(())
    }
}

/// A sorted set effect body as text (`ADD score=m ...; REM m ...`).
pub fn describe(body: &[u8], out: &mut String) -> Result<(), DecodeError> {
    let mut c = Cursor::new(body);
    while !c.is_at_end() {
        if !out.is_empty() {
            out.push_str("; ");
        }
        let at = c.pos();
        match c.u8()? {
            OP_ADD => {
                out.push_str("ADD");
                for _ in 0..count(&mut c, 9)? {
                    let s = c.f64()?;
                    out.push(' ');
                    out.push_str(&crate::num::fmt_double(s));
                    out.push('=');
                    super::push_text(out, c.bytes()?);
                }
            }
            OP_REM => {
                out.push_str("REM");
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
    use std::collections::BTreeMap;

    /// The model: (score bits made orderable, member) → (), plus member → score.
    #[derive(Default)]
    struct Model {
        scores: BTreeMap<Vec<u8>, f64>,
    }

    impl Model {
        fn sorted(&self) -> Vec<(Vec<u8>, f64)> {
            let mut v: Vec<(Vec<u8>, f64)> =
                self.scores.iter().map(|(m, s)| (m.clone(), *s)).collect();
            v.sort_by(|a, b| {
                a.1.partial_cmp(&b.1)
                    .unwrap_or(Ordering::Equal)
                    .then_with(|| a.0.cmp(&b.0))
            });
            v
        }
    }

    fn entries(z: &ZSet) -> Vec<(Vec<u8>, f64)> {
        z.iter().map(|(m, s)| (m.to_vec(), s)).collect()
    }

    #[derive(Debug, Clone)]
    enum Op {
        Add(u8, i8),
        Rem(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (0u8..60, -5i8..5).prop_map(|(m, s)| Op::Add(m, s)),
            1 => (0u8..60).prop_map(Op::Rem),
        ]
    }

    fn member(m: u8) -> Vec<u8> {
        format!("m{m:02}").into_bytes()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn matches_a_model_and_replays(ops in proptest::collection::vec(op(), 1..300), big in any::<bool>()) {
            // Random adds and removes keep the listpack or the skiplist equal to a sorted
            // model: order, rank, rank -> member, score ranges and lex ranges, and the logged
            // body replays to the same value.
            let mut z = ZSet::new();
            if big {
                z.grow();
            }
            let mut m = Model::default();
            let mut body = Body::new();
            let mut replayed = Value::ZSet(ZSet::new());
            for o in &ops {
                match o {
                    Op::Add(k, s) => {
                        let s = f64::from(*s) / 2.0;
                        z.insert(&member(*k), s);
                        m.scores.insert(member(*k), s);
                        body.add([(&member(*k)[..], s)].into_iter());
                    }
                    Op::Rem(k) => {
                        prop_assert_eq!(z.remove(&member(*k)).is_some(), m.scores.remove(&member(*k)).is_some());
                        body.rem([&member(*k)[..]].into_iter());
                    }
                }
            }
            let want = m.sorted();
            prop_assert_eq!(entries(&z), want.clone());
            prop_assert_eq!(z.len(), want.len());
            for (i, (mem, s)) in want.iter().enumerate() {
                prop_assert_eq!(z.rank(mem), Some(i));
                let p = z.at_rank(i).expect("rank in range");
                prop_assert_eq!(z.entry(p).0.to_vec(), mem.clone());
                prop_assert_eq!(z.entry(p).1, *s);
                prop_assert_eq!(z.rank_of(p), i);
            }
            prop_assert!(z.at_rank(want.len()).is_none());
            // Reverse walk.
            let rev: Vec<(Vec<u8>, f64)> = z
                .walk(z.at_rank(z.len().wrapping_sub(1)), true)
                .map(|(m, s)| (m.to_vec(), s))
                .collect();
            let mut want_rev = want.clone();
            want_rev.reverse();
            prop_assert_eq!(rev, want_rev);
            // Score ranges with every bound kind.
            for lo in -6..6 {
                for hi in -6..6 {
                    for (minex, maxex) in [(false, false), (true, false), (false, true), (true, true)] {
                        let r = ScoreRange { min: f64::from(lo) / 2.0, max: f64::from(hi) / 2.0, minex, maxex };
                        let inside: Vec<_> = want.iter().filter(|(_, s)| r.contains(*s)).cloned().collect();
                        prop_assert_eq!(z.count_in_score(&r), inside.len());
                        let got: Vec<_> = z
                            .walk(z.first_in_score(&r), false)
                            .take_while(|(_, s)| r.lte_max(*s))
                            .map(|(m, s)| (m.to_vec(), s))
                            .collect();
                        prop_assert_eq!(&got, &inside);
                        prop_assert_eq!(z.last_in_score(&r).map(|p| z.entry(p).0.to_vec()), inside.last().map(|e| e.0.clone()));
                    }
                }
            }
            // Replaying the body gives the same value.
            let r = replay(Some(&mut replayed), body.bytes());
            prop_assert!(r.is_ok());
            if let Value::ZSet(rz) = &replayed {
                prop_assert_eq!(entries(rz), want.clone());
            }
            // Encode / decode round trip.
            let mut buf = Vec::new();
            z.encode(&mut buf);
            let d = ZSet::decode(&mut Cursor::new(&buf)).expect("decodes");
            prop_assert!(d == z);
        }

        #[test]
        fn lex_ranges_match_a_model(ms in proptest::collection::btree_set(0u8..40, 0..40), a in 0u8..42, b in 0u8..42, ka in 0u8..4, kb in 0u8..4, big in any::<bool>()) {
            // With equal scores, lex ranges select what a filter over the sorted members does.
            let mut z = ZSet::new();
            if big {
                z.grow();
            }
            for m in &ms {
                z.insert(&member(*m), 0.0);
            }
            let bound = |k: u8, v: u8| match k {
                0 => LexBound::NegInf,
                1 => LexBound::PosInf,
                2 => LexBound::Incl(Bytes::from(member(v))),
                _ => LexBound::Excl(Bytes::from(member(v))),
            };
            let r = LexRange { min: bound(ka, a), max: bound(kb, b) };
            let want: Vec<Vec<u8>> = ms.iter().map(|m| member(*m)).filter(|m| r.gte_min(m) && r.lte_max(m)).collect();
            prop_assert_eq!(z.count_in_lex(&r), want.len());
            let got: Vec<Vec<u8>> = z.walk(z.first_in_lex(&r), false).take_while(|(m, _)| r.lte_max(m)).map(|(m, _)| m.to_vec()).collect();
            prop_assert_eq!(&got, &want);
            let last = z.last_in_lex(&r).map(|p| z.entry(p).0.to_vec());
            prop_assert_eq!(last, want.last().cloned());
        }

        #[test]
        fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            // Decoding or replaying arbitrary bytes returns an error or a value, never panics.
            let _ = ZSet::decode(&mut Cursor::new(&data));
            let _ = replay(None, &data);
            let mut s = String::new();
            let _ = describe(&data, &mut s);
        }
    }

    #[test]
    fn encoding_is_sticky_until_rebuilt() {
        // listpack up to 128 short members; converting is one-way while the value lives, and a
        // decoded copy derives the encoding from its contents.
        let mut z = ZSet::new();
        for i in 0..128 {
            z.insert(format!("m{i}").as_bytes(), f64::from(i));
        }
        assert_eq!(z.encoding(), "listpack");
        z.insert(b"one-more", 1.0);
        assert_eq!(z.encoding(), "skiplist");
        z.remove(b"one-more");
        assert_eq!(z.encoding(), "skiplist");
        let mut buf = Vec::new();
        z.encode(&mut buf);
        let d = ZSet::decode(&mut Cursor::new(&buf)).expect("decodes");
        assert_eq!(d.encoding(), "listpack");
        let mut s = ZSet::new();
        s.insert(&[b'x'; 65], 1.0);
        assert_eq!(s.encoding(), "skiplist");
    }

    #[test]
    fn packed_scores_round_trip_bit_for_bit() {
        let two53 = (1u64 << 53) as f64;
        for s in [
            0.0,
            -0.0,
            1.0,
            -1.0,
            63.0,
            64.0,
            -64.0,
            -65.0,
            1.5,
            1_700_000_000_123.0,
            two53 - 1.0,
            two53,
            -two53,
            1e300,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
        ] {
            let mut b = [0u8; SCORE_MAX];
            let n = pack_score(s, &mut b);
            let mut d = b[..n].to_vec();
            d.extend_from_slice(b"member");
            let (m, got) = unpack(&d);
            assert_eq!(m, b"member");
            assert_eq!(got.to_bits(), s.to_bits(), "{s}");
        }
        let mut b = [0u8; SCORE_MAX];
        assert_eq!(pack_score(5.0, &mut b), 2, "small integers take two bytes");
        assert_eq!(pack_score(0.0, &mut b), 1);
        assert_eq!(pack_score(1_700_000_000_123.0, &mut b), 7);
        assert_eq!(pack_score(0.5, &mut b), 9);
    }

    #[test]
    fn negative_zero_ties_with_zero() {
        // -0 and 0 compare equal: the member decides the order, and 0 does not replace -0.
        let mut z = ZSet::new();
        z.insert(b"b", -0.0);
        z.insert(b"a", 0.0);
        assert_eq!(entries(&z)[0].0, b"a".to_vec());
        z.insert(b"b", 0.0);
        assert!(z.score(b"b").is_some_and(|s| s.is_sign_negative()));
        assert_eq!(z.rank(b"b"), Some(1));
    }

    #[test]
    fn scan_slots_survive_removals() {
        // Walking slots downward while removing visited members never misses an unvisited one.
        let mut z = ZSet::new();
        for i in 0..300 {
            z.insert(format!("m{i}").as_bytes(), f64::from(i));
        }
        let mut seen = std::collections::HashSet::new();
        let mut hi = z.len();
        while hi > 0 {
            let lo = hi.saturating_sub(7);
            for i in (lo..hi).rev() {
                if let Some((m, _)) = z.scan_slot(i) {
                    seen.insert(m.to_vec());
                }
            }
            // Remove some visited members (and a few unvisited ones, which may be missed).
            let victims: Vec<Bytes> = (lo..hi)
                .step_by(2)
                .filter_map(|i| z.scan_slot(i).map(|e| Bytes::copy_from_slice(e.0)))
                .collect();
            for v in victims {
                z.remove(&v);
            }
            hi = lo.min(z.len());
        }
        for (m, _) in z.iter() {
            assert!(seen.contains(m), "missed {m:?}");
        }
    }
    /// Checks every structural invariant of a skiplist, and that it holds `want` in order.
    fn check_skiplist(sl: &SkipList, want: &[(Vec<u8>, f64)]) {
        // Level 0 from the head: the members in order, back links mirroring it, the tail last.
        let mut order = Vec::new();
        let mut x = sl.fwd(HEAD, 0);
        let mut prev = NIL;
        while x != NIL {
            assert_eq!(sl.back(x), prev, "back link of node {x}");
            order.push(x);
            prev = x;
            x = sl.fwd(x, 0);
        }
        assert_eq!(sl.tail, prev, "tail is the last node");
        assert_eq!(order.len(), sl.len);
        let got: Vec<(Vec<u8>, f64)> = order
            .iter()
            .map(|&n| (sl.member(n).to_vec(), sl.score(n)))
            .collect();
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert_eq!(g.0, w.0);
            assert_eq!(g.1.to_bits(), w.1.to_bits());
        }
        for w in order.windows(2) {
            assert!(less(
                sl.score(w[0]),
                sl.member(w[0]),
                sl.score(w[1]),
                sl.member(w[1])
            ));
        }
        let rank_of: std::collections::HashMap<u32, usize> =
            order.iter().enumerate().map(|(i, &n)| (n, i + 1)).collect();
        // Each level: the nodes with more levels, in order, spans adding up to rank gaps
        // (a link to nowhere spans to just past the last node).
        assert!(sl.level >= 1 && sl.level <= MAX_LEVEL);
        assert_eq!(sl.lvl(HEAD), MAX_LEVEL);
        for i in 0..sl.level {
            let expect: Vec<u32> = order.iter().copied().filter(|&n| sl.lvl(n) > i).collect();
            let mut chain = Vec::new();
            let mut x = HEAD;
            let mut r = 0usize;
            loop {
                let f = sl.fwd(x, i);
                let span = sl.span(x, i) as usize;
                if f == NIL {
                    assert_eq!(r + span, sl.len, "span to the end at level {i}");
                    break;
                }
                let rf = rank_of[&f];
                assert_eq!(r + span, rf, "span at level {i}");
                chain.push(f);
                x = f;
                r = rf;
            }
            assert_eq!(chain, expect, "level {i} links the nodes that tall");
        }
        if sl.level > 1 {
            assert_ne!(sl.fwd(HEAD, sl.level - 1), NIL, "no empty top level");
        }
        for i in sl.level..MAX_LEVEL {
            assert_eq!(sl.fwd(HEAD, i), NIL);
        }
        // Rank <-> node.
        assert_eq!(sl.by_rank(0), None);
        assert_eq!(sl.by_rank(sl.len + 1), None);
        for (i, &n) in order.iter().enumerate() {
            assert_eq!(sl.by_rank(i + 1), Some(n));
            assert_eq!(sl.rank(sl.score(n), sl.member(n)), Some(i + 1));
        }
        // The arena is tiled by blocks, each live or free exactly once, free blocks on the list
        // of their level count with an empty member slot, member slots distinct.
        let mut free = std::collections::HashSet::new();
        for (k, list) in sl.free.iter().enumerate() {
            for &b in list {
                assert_eq!(sl.lvl(b), k + 1, "free block on its level's list");
                assert!(!rank_of.contains_key(&b), "free block {b} is live");
                assert!(sl.member(b).is_empty());
                assert!(free.insert(b), "block freed twice");
            }
        }
        let mut at = HEAD as usize + HDR + MAX_LEVEL;
        let mut slots = std::collections::HashSet::new();
        let mut blocks = 0;
        while at < sl.words.len() {
            let b = at as u32;
            assert!(
                rank_of.contains_key(&b) != free.contains(&b),
                "block {b} live xor free"
            );
            assert!(slots.insert(sl.member_slot(b)), "member slot shared");
            let k = sl.lvl(b);
            assert!((1..=MAX_LEVEL).contains(&k));
            at += HDR + k;
            blocks += 1;
        }
        assert_eq!(at, sl.words.len());
        assert_eq!(blocks, sl.len + free.len());
        assert_eq!(sl.members.len(), blocks);
    }

    #[test]
    fn skiplist_invariants_hold_under_churn() {
        // Random inserts, removals and score updates (ties, -0, long members, emptying and
        // refilling) keep every skiplist invariant, and freed blocks are reused.
        let mut rng = 0x0DDB_1A5E_5BAD_5EEDu64;
        let mut next = move |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        let name = |k: u64| {
            if k % 7 == 0 {
                format!("a-long-member-that-lives-on-the-heap-{k}").into_bytes()
            } else {
                format!("m{k}").into_bytes()
            }
        };
        let mut z = ZSet::new();
        z.grow();
        let mut model: BTreeMap<Vec<u8>, f64> = BTreeMap::new();
        let mut inserts = 0usize;
        let mut max_level = 0;
        for batch in 0..60u64 {
            // Pools and score ranges vary: small pools and few scores force ties; batch 30
            // empties the set.
            let pool = [40, 3000, 600][(batch % 3) as usize];
            let scores = [3, 50, 100_000][(batch / 3 % 3) as usize];
            for _ in 0..700 {
                let k = next(pool);
                let m = name(k);
                match next(10) {
                    0..=2 => {
                        remove_both(&mut z, &mut model, &m);
                    }
                    _ => {
                        let s = match next(20) {
                            0 => -0.0,
                            1 => 0.5,
                            _ => next(scores) as f64 - (scores / 2) as f64,
                        };
                        let had = model.get(&m).copied();
                        let old = z.insert(&m, s);
                        assert_eq!(old.map(f64::to_bits), had.map(f64::to_bits));
                        // An equal score (0 and -0 included) changes nothing.
                        if had.is_none_or(|h| h != s) {
                            model.insert(m, s);
                            inserts += 1;
                        }
                    }
                }
            }
            if batch == 30 {
                let all: Vec<Vec<u8>> = model.keys().cloned().collect();
                for m in all {
                    remove_both(&mut z, &mut model, &m);
                }
            }
            let mut want: Vec<(Vec<u8>, f64)> =
                model.iter().map(|(m, s)| (m.clone(), *s)).collect();
            want.sort_by(|a, b| {
                a.1.partial_cmp(&b.1)
                    .unwrap_or(Ordering::Equal)
                    .then_with(|| a.0.cmp(&b.0))
            });
            let Repr::Big(b) = &z.repr else {
                panic!("stays a skiplist")
            };
            check_skiplist(&b.sl, &want);
            max_level = max_level.max(b.sl.level);
            assert_eq!(z.len(), model.len());
            if let Repr::Big(b) = &z.repr {
                assert!(b.sl.members.len() < inserts, "freed blocks are reused");
            }
        }
        assert!(max_level >= 5, "tall nodes were exercised: {max_level}");
    }

    fn remove_both(z: &mut ZSet, model: &mut BTreeMap<Vec<u8>, f64>, m: &[u8]) {
        let got = z.remove(m);
        let had = model.remove(m);
        assert_eq!(got.map(f64::to_bits), had.map(f64::to_bits));
    }

    #[test]
    #[ignore = "timing harness: cargo test --release -p vole-engine -- --ignored zadd_update_timing --nocapture"]
    fn zadd_update_timing() {
        // Times 1M ZADD score updates (score lookup, then insert) of random members of a 100k
        // member skiplist set to random integer scores, and prints the memory estimate.
        const N: u64 = 100_000;
        const UPDATES: usize = 1_000_000;
        let mut rng = 0x1234_5678_9ABC_DEF1u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let names: Vec<Vec<u8>> = (0..N).map(|i| format!("member:{i}").into_bytes()).collect();
        let mut z = ZSet::new();
        for m in &names {
            z.insert(m, (next() % N) as f64);
        }
        assert_eq!(z.encoding(), "skiplist");
        let built = z.memory_bytes() as f64 / N as f64;
        let ops: Vec<(usize, f64)> = (0..UPDATES)
            .map(|_| ((next() % N) as usize, (next() % N) as f64))
            .collect();
        let t = std::time::Instant::now();
        let mut changed = 0usize;
        for &(i, s) in &ops {
            let m = &names[i];
            if z.score(m) != Some(s) {
                z.insert(m, s);
                changed += 1;
            }
        }
        let el = t.elapsed();
        println!(
            "zadd_update_timing: {:.1} ns/update ({changed} changed), memory {built:.1} bytes/member built, {:.1} after the updates",
            el.as_nanos() as f64 / UPDATES as f64,
            z.memory_bytes() as f64 / N as f64
        );
        assert_eq!(z.len(), N as usize);
    }
}
