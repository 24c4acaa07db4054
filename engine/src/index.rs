//! One shard's key index: a hash table for point access beside an ordered set of positions.
//!
//! Point lookups (GET, SET, ...) go through a `hashbrown::HashTable` keyed by a 64-bit key hash.
//! The table's slots hold the entries themselves: in the keyspace an entry is a
//! [`crate::record::Record`], an 8-byte pointer to the one allocation that holds the key, its
//! metadata and its value, so a lookup is one probe plus one dereference. Order is needed for SCAN cursors and the snapshot cursor; for
//! that the shard keeps a `BTreeSet<u64>` of *positions*, and a key's position is its hash. A
//! position is stable for the life of a key (it depends only on the key's bytes and the
//! per-database hash seed), so a cursor that says "continue at position p" visits every key
//! that stayed present for the whole iteration, whatever was inserted or deleted in between.
//! `docs/design/keyspace.md` has the measurements behind this shape (against a plain skiplist
//! and a plain hash table, and against positions that led with the cluster slot).
//!
//! Two distinct keys may share a 64-bit hash; the table tolerates that (equality is on the key
//! bytes) and so does the ordered set (one position, several keys, always visited together).

use std::collections::BTreeSet;
use std::ops::Bound;

use hashbrown::HashTable;

/// Number of cluster hash slots.
pub const SLOTS: u16 = 16384;

/// The cluster hash slot of a key: CRC16 (XMODEM) of the key, or of the part between the
/// first `{` and the next `}` when that part is non-empty (hash tags), modulo 16384.
pub fn key_slot(key: &[u8]) -> u16 {
    let hashed = match key.iter().position(|&b| b == b'{') {
        Some(open) => match key[open + 1..].iter().position(|&b| b == b'}') {
            Some(len) if len > 0 => &key[open + 1..open + 1 + len],
            _ => key,
        },
        None => key,
    };
    crc16(hashed) & (SLOTS - 1)
}

/// CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, as Redis Cluster uses.
pub fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &b in data {
        crc = (crc << 8) ^ CRC16_TABLE[usize::from(((crc >> 8) as u8) ^ b)];
    }
    crc
}

const CRC16_TABLE: [u16; 256] = {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// A key's place in its shard's order: its hash. (Positions used to lead with the cluster
/// slot; nothing lists keys by slot on a hot path, and the slot cost a CRC16 on every insert
/// and delete and 8 more bytes per key in the order set.)
pub type Position = u64;

/// Keys up to this many bytes live inside a [`Key`] itself.
pub const INLINE_KEY_BYTES: usize = 22;

/// An owned key: short keys inline, longer ones in their own allocation. 24 bytes either way.
/// (The index itself stores keys inside each entry; this is for keys held elsewhere.)
#[derive(Clone)]
pub enum Key {
    /// `len` bytes of `buf`.
    Inline {
        len: u8,
        buf: [u8; INLINE_KEY_BYTES],
    },
    /// A longer key.
    Heap(Box<[u8]>),
}

impl Key {
    /// An owned copy of `bytes`.
    pub fn new(bytes: &[u8]) -> Key {
        if bytes.len() <= INLINE_KEY_BYTES {
            let mut buf = [0u8; INLINE_KEY_BYTES];
            buf[..bytes.len()].copy_from_slice(bytes);
            Key::Inline {
                len: bytes.len() as u8,
                buf,
            }
        } else {
            Key::Heap(bytes.into())
        }
    }
}

impl std::ops::Deref for Key {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        match self {
            Key::Inline { len, buf } => &buf[..usize::from(*len).min(INLINE_KEY_BYTES)],
            Key::Heap(b) => b,
        }
    }
}

impl AsRef<[u8]> for Key {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self))
    }
}

/// What the index stores: anything that carries its own key bytes. The index keeps no hash
/// beside an entry (that would cost 8 bytes per key); it recomputes hashes from the key when
/// the table grows or a position is checked.
pub trait Keyed {
    /// The entry's key.
    fn key(&self) -> &[u8];

    /// Start loading what a key comparison will read (see [`ShardIndex::prefetch`]). Entries
    /// that hold their key inline have nothing to fetch.
    #[inline]
    fn prefetch(&self) {}
}

/// The hash function of one database (seeded per database).
pub trait KeyHasher {
    /// The 64-bit hash of `key`: its position.
    fn hash_key(&self, key: &[u8]) -> u64;
}

impl KeyHasher for foldhash::fast::RandomState {
    #[inline]
    fn hash_key(&self, key: &[u8]) -> u64 {
        std::hash::BuildHasher::hash_one(self, key)
    }
}

impl KeyHasher for fn(&[u8]) -> u64 {
    fn hash_key(&self, key: &[u8]) -> u64 {
        self(key)
    }
}

/// The entries at one position (usually one).
fn at_position<'a, V: Keyed, H: KeyHasher>(
    table: &'a HashTable<V>,
    hasher: &'a H,
    pos: Position,
) -> impl Iterator<Item = &'a V> {
    table
        .iter_hash(pos)
        .filter(move |e| hasher.hash_key(e.key()) == pos)
}

/// After removing a key at `pos`, drop that position from the order set unless another key
/// still occupies it.
fn release_position<V: Keyed, H: KeyHasher>(
    table: &HashTable<V>,
    hasher: &H,
    order: &mut BTreeSet<Position>,
    pos: Position,
) {
    if at_position(table, hasher, pos).next().is_none() {
        order.remove(&pos);
    }
}

/// The index of one shard. Not synchronised: the keyspace wraps each shard in a lock.
#[derive(Debug)]
pub struct ShardIndex<V, H> {
    table: HashTable<V>,
    order: BTreeSet<Position>,
    hasher: H,
}

impl<V, H: Default> Default for ShardIndex<V, H> {
    fn default() -> Self {
        ShardIndex {
            table: HashTable::new(),
            order: BTreeSet::new(),
            hasher: H::default(),
        }
    }
}

impl<V: Keyed, H: KeyHasher> ShardIndex<V, H> {
    /// An empty index hashing keys with `hasher` (the same function that computes the `hash`
    /// arguments of the methods below).
    pub fn new(hasher: H) -> Self {
        ShardIndex {
            table: HashTable::new(),
            order: BTreeSet::new(),
            hasher,
        }
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether the index holds no key.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The entry for `key`, whose hash is `hash`.
    #[inline]
    pub fn get(&self, hash: u64, key: &[u8]) -> Option<&V> {
        self.table.find(hash, |e| e.key() == key)
    }

    /// The entry for `key`, mutably.
    #[inline]
    pub fn get_mut(&mut self, hash: u64, key: &[u8]) -> Option<&mut V> {
        self.table.find_mut(hash, |e| e.key() == key)
    }

    /// Start loading the entries a lookup of `hash` would compare, without comparing them:
    /// a pipelined batch calls this for every key first, so that the cache misses of the
    /// batch overlap instead of each lookup waiting for its own.
    #[inline]
    pub fn prefetch(&self, hash: u64) {
        let _ = self.table.find(hash, |e| {
            e.prefetch();
            false
        });
    }

    /// The entry for `key`, mutably, unless `dead(entry)` holds, in which case the entry is
    /// removed and returned as `Err`. One probe either way (the write path uses this to drop
    /// an expired key it meets).
    pub fn get_mut_unless(
        &mut self,
        hash: u64,
        key: &[u8],
        dead: impl FnOnce(&V) -> bool,
    ) -> Result<Option<&mut V>, V> {
        let order = &mut self.order;
        let hasher = &self.hasher;
        let Ok(found) = self.table.find_entry(hash, |e| e.key() == key) else {
            return Ok(None);
        };
        if !dead(found.get()) {
            return Ok(Some(found.into_mut()));
        }
        // `found` borrows the table for the caller's lifetime (it may be returned above), so
        // the position check goes through the table handed back by the removal.
        let (entry, vacant) = found.remove();
        release_position(vacant.into_table(), hasher, order, hash);
        Err(entry)
    }

    /// Insert or replace the entry for `entry.key()`, whose hash is `hash`. Returns the
    /// previous entry when the key existed.
    pub fn insert(&mut self, hash: u64, entry: V) -> Option<V> {
        let old = self.put(hash, entry);
        if old.is_none() {
            self.order.insert(hash);
        }
        old
    }

    /// Insert or replace in the table alone, with one probe.
    #[inline]
    fn put(&mut self, hash: u64, entry: V) -> Option<V> {
        let hasher = &self.hasher;
        match self.table.entry(
            hash,
            |e| e.key() == entry.key(),
            |e| hasher.hash_key(e.key()),
        ) {
            hashbrown::hash_table::Entry::Occupied(mut o) => {
                Some(std::mem::replace(o.get_mut(), entry))
            }
            hashbrown::hash_table::Entry::Vacant(v) => {
                v.insert(entry);
                None
            }
        }
    }

    /// Insert many entries given with their hashes (a snapshot load): one reservation, so
    /// the table never grows (and never rehashes a stored key) on the way, and one bulk
    /// build of the order set. Entries for keys already present, or repeated in `items`,
    /// replace the earlier ones (later in `items` wins); `replaced` receives each entry
    /// replaced, with its hash.
    pub fn insert_bulk(&mut self, mut items: Vec<(u64, V)>, mut replaced: impl FnMut(u64, V)) {
        // Stable: of two entries for one key, the later still comes later.
        items.sort_by_key(|(h, _)| *h);
        self.reserve(items.len());
        let mut fresh: Vec<Position> = Vec::with_capacity(items.len());
        for (h, e) in items {
            match self.put(h, e) {
                Some(old) => replaced(h, old),
                None => fresh.push(h),
            }
        }
        if self.order.is_empty() {
            // Sorted input: the B-tree is built bottom up, with full nodes.
            self.order = fresh.into_iter().collect();
        } else {
            self.order.extend(fresh);
        }
    }

    /// Make room for `additional` more keys without growing on the way.
    pub fn reserve(&mut self, additional: usize) {
        let hasher = &self.hasher;
        self.table.reserve(additional, |e| hasher.hash_key(e.key()));
    }

    /// Remove `key`, returning its entry.
    pub fn remove(&mut self, hash: u64, key: &[u8]) -> Option<V> {
        let found = self.table.find_entry(hash, |e| e.key() == key).ok()?;
        let (entry, _) = found.remove();
        // Another key may share this exact position; it stays in the order set if so.
        release_position(&self.table, &self.hasher, &mut self.order, hash);
        Some(entry)
    }

    /// Remove every key.
    pub fn clear(&mut self) {
        self.table = HashTable::new();
        self.order = BTreeSet::new();
    }

    /// The entries whose hash is `hash` (usually zero or one).
    pub fn with_hash(&self, hash: u64) -> impl Iterator<Item = &V> {
        at_position(&self.table, &self.hasher, hash)
    }

    /// Every entry, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &V> {
        self.table.iter()
    }

    /// Every entry, mutably, in no particular order.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.table.iter_mut()
    }

    /// Keep only the entries for which `keep` returns true.
    pub fn retain(&mut self, mut keep: impl FnMut(&mut V) -> bool) {
        let mut removed = Vec::new();
        let hasher = &self.hasher;
        self.table.retain(|e| {
            let k = keep(e);
            if !k {
                removed.push(hasher.hash_key(e.key()));
            }
            k
        });
        for p in removed {
            release_position(&self.table, &self.hasher, &mut self.order, p);
        }
    }

    /// Visit entries in position order starting at position `from` (inclusive), with their
    /// position. All the entries of one position are visited together. `visit` returns false
    /// to stop; the stop takes effect at the next position boundary, whose value is returned
    /// (None when the shard is exhausted).
    pub fn scan_from<'a>(
        &'a self,
        from: Position,
        mut visit: impl FnMut(Position, &'a V) -> bool,
    ) -> Option<Position> {
        let mut go_on = true;
        for &p in self.order.range((Bound::Included(from), Bound::Unbounded)) {
            if !go_on {
                return Some(p);
            }
            for e in at_position(&self.table, &self.hasher, p) {
                if !visit(p, e) {
                    go_on = false;
                }
            }
        }
        None
    }

    /// The first entry at or after position `from`, wrapping around to the start: a cheap
    /// way to pick a pseudo-random key (RANDOMKEY) given a random position.
    pub fn entry_near(&self, from: Position) -> Option<&V> {
        let p = self
            .order
            .range((Bound::Included(from), Bound::Unbounded))
            .next()
            .or_else(|| self.order.iter().next())?;
        at_position(&self.table, &self.hasher, *p).next()
    }

    /// Number of keys in one cluster slot (a walk over the whole shard: only admin commands
    /// ask this).
    pub fn count_in_slot(&self, slot: u16) -> usize {
        self.table
            .iter()
            .filter(|e| key_slot(e.key()) == slot)
            .count()
    }

    /// Approximate heap bytes held by the index structures themselves (not the entries'
    /// own allocations): for INFO memory and MEMORY USAGE estimates.
    pub fn overhead_bytes(&self) -> usize {
        self.table.capacity() * (std::mem::size_of::<V>() + 1)
            + self.order.len() * (std::mem::size_of::<Position>() + 4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A test entry: a key and a number.
    #[derive(Debug)]
    struct E(Vec<u8>, u32);

    impl Keyed for E {
        fn key(&self) -> &[u8] {
            &self.0
        }
    }

    fn e(key: &[u8], v: u32) -> E {
        E(key.to_vec(), v)
    }

    /// Keys "a" and "b" share hash 7; others hash by a simple mix.
    fn forced(key: &[u8]) -> u64 {
        match key {
            b"a" | b"b" => 7,
            _ => u64::from(crc16(key)).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ key.len() as u64,
        }
    }

    type Ix = ShardIndex<E, fn(&[u8]) -> u64>;

    fn ix() -> Ix {
        ShardIndex::new(forced as fn(&[u8]) -> u64)
    }

    fn put(ix: &mut Ix, key: &[u8], v: u32) -> Option<u32> {
        ix.insert(forced(key), e(key, v)).map(|o| o.1)
    }

    #[test]
    fn keys_inline_and_on_the_heap_read_back() {
        // Short keys are stored inline, long ones boxed; both deref to the same bytes.
        for len in [0usize, 1, INLINE_KEY_BYTES, INLINE_KEY_BYTES + 1, 1000] {
            let bytes: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let k = Key::new(&bytes);
            assert_eq!(&*k, &bytes[..]);
            assert_eq!(matches!(k, Key::Inline { .. }), len <= INLINE_KEY_BYTES);
        }
        assert_eq!(std::mem::size_of::<Key>(), 24);
    }

    #[test]
    fn slot_matches_redis_cluster_examples() {
        // Redis Cluster spec: CRC16("123456789") = 0x31C3.
        assert_eq!(crc16(b"123456789"), 0x31C3);
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(
            key_slot(b"{user1000}.following"),
            key_slot(b"{user1000}.followers")
        );
        assert_eq!(key_slot(b"foo{}{bar}"), key_slot(b"foo{}{bar}"));
        assert_eq!(key_slot(b"{}x"), crc16(b"{}x") & 16383);
    }

    #[test]
    fn insert_get_remove_and_colliding_hashes() {
        // Two keys with the same 64-bit hash must both be reachable and scanned.
        let mut ix = ix();
        assert_eq!(put(&mut ix, b"a", 1), None);
        assert_eq!(put(&mut ix, b"b", 2), None);
        assert_eq!(put(&mut ix, b"a", 3), Some(1));
        assert_eq!(ix.get(7, b"a").map(|e| e.1), Some(3));
        assert_eq!(ix.get(7, b"b").map(|e| e.1), Some(2));
        let mut seen = Vec::new();
        assert_eq!(
            ix.scan_from(0, |p, e| {
                assert_eq!(p, 7);
                seen.push(e.0.clone());
                true
            }),
            None
        );
        assert_eq!(seen.len(), 2);
        assert!(ix.remove(7, b"a").is_some());
        assert_eq!(ix.get(7, b"b").map(|e| e.1), Some(2));
        let mut n = 0;
        ix.scan_from(0, |_, _| {
            n += 1;
            true
        });
        assert_eq!(n, 1);
        assert!(ix.remove(7, b"b").is_some());
        assert!(ix.order.is_empty());
    }

    #[test]
    fn growth_rehashes_from_the_stored_keys() {
        // The index keeps no hash beside an entry: after many doublings every key is still
        // found under the hash its key bytes give.
        let mut ix = ix();
        for i in 0..20_000u32 {
            let k = format!("key:{i}");
            assert_eq!(put(&mut ix, k.as_bytes(), i), None);
        }
        for i in 0..20_000u32 {
            let k = format!("key:{i}");
            assert_eq!(
                ix.get(forced(k.as_bytes()), k.as_bytes()).map(|e| e.1),
                Some(i)
            );
        }
        assert_eq!(ix.len(), 20_000);
    }

    #[test]
    fn scan_visits_everything_that_stays_despite_churn() {
        // A key present for the whole iteration is visited, whatever else changes.
        let mut ix = ix();
        for i in 0..500u32 {
            let k = format!("stay{i}");
            put(&mut ix, k.as_bytes(), 0);
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = Some(0u64);
        let mut round = 0u32;
        while let Some(from) = cursor {
            let mut budget = 10;
            cursor = ix.scan_from(from, |_, e| {
                seen.insert(e.0.clone());
                budget -= 1;
                budget > 0
            });
            for j in 0..5 {
                let k = format!("churn{round}-{j}");
                put(&mut ix, k.as_bytes(), 0);
                let old = format!("churn{}-{j}", round.saturating_sub(1));
                ix.remove(forced(old.as_bytes()), old.as_bytes());
            }
            round += 1;
        }
        for i in 0..500u32 {
            assert!(
                seen.contains(format!("stay{i}").as_bytes()),
                "missed stay{i}"
            );
        }
    }

    #[test]
    fn bulk_inserts_are_found_ordered_and_replace_in_load_order() {
        // A bulk load is found and scanned in order, a repeated key keeps its later entry,
        // and ordinary writes keep working afterwards.
        let mut ix = ix();
        put(&mut ix, b"ordered", 0);
        let mut items = vec![(7, e(b"a", 1)), (7, e(b"b", 2))];
        for i in 0..1000u32 {
            let k = format!("k{i}");
            items.push((forced(k.as_bytes()), e(k.as_bytes(), i)));
        }
        items.push((forced(b"ordered"), e(b"ordered", 1)));
        items.push((forced(b"k5"), e(b"k5", 5000)));
        let mut replaced = Vec::new();
        ix.insert_bulk(items, |h, old| replaced.push((h, old.1)));
        replaced.sort_unstable();
        let mut want = vec![(forced(b"ordered"), 0), (forced(b"k5"), 5)];
        want.sort_unstable();
        assert_eq!(replaced, want);
        assert_eq!(ix.get(forced(b"k5"), b"k5").map(|e| e.1), Some(5000));
        assert_eq!(ix.get(7, b"b").map(|e| e.1), Some(2));
        assert_eq!(ix.order.len(), 1002);
        let mut seen = 0;
        let mut last = 0;
        ix.scan_from(0, |p, e| {
            assert!(p >= last);
            assert_eq!(forced(&e.0), p);
            last = p;
            seen += 1;
            true
        });
        assert_eq!(seen, 1003);
        assert!(ix.remove(forced(b"ordered"), b"ordered").is_some());
        assert_eq!(put(&mut ix, b"last", 7), None);
        let p = forced(b"last");
        assert_eq!(ix.entry_near(p).map(|e| e.1), Some(7));
        assert_eq!(ix.order.len(), 1002);
    }

    #[test]
    fn retain_and_count_in_slot() {
        // retain drops positions of removed keys; count_in_slot counts per cluster slot.
        let mut ix = ix();
        for i in 0..100u32 {
            let k = format!("{{tag}}{i}");
            put(&mut ix, k.as_bytes(), i);
        }
        put(&mut ix, b"a", 1);
        put(&mut ix, b"b", 2);
        assert_eq!(ix.count_in_slot(key_slot(b"{tag}")), 100);
        ix.retain(|e| e.1 % 2 == 0);
        assert_eq!(ix.len(), 51);
        assert_eq!(ix.order.len(), 51);
        assert_eq!(ix.count_in_slot(key_slot(b"{tag}")), 50);
        assert_eq!(ix.with_hash(7).map(|e| e.1).collect::<Vec<_>>(), vec![2]);
        assert!(ix.entry_near(u64::MAX).is_some());
    }
}
