//! One shard's key index: a hash table for point access beside an ordered set of positions.
//!
//! Point lookups (GET, SET, ...) go through a `hashbrown::HashTable` keyed by a 64-bit key hash:
//! one probe, no pointer chasing. Order is needed for SCAN cursors and the snapshot cursor; for
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

/// Keys up to this many bytes live inside the entry itself (no separate allocation, so a
/// lookup's key comparison touches no second cache line).
pub const INLINE_KEY_BYTES: usize = 22;

/// A stored key: short keys inline, longer ones in their own allocation. 24 bytes either way.
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

/// One key and its value, as stored in the table.
#[derive(Debug)]
pub struct Entry<V> {
    /// The key's bytes (an owned copy: never a slice of a network buffer).
    pub key: Key,
    /// The key hash (kept so growth never rehashes key bytes).
    pub hash: u64,
    /// The value.
    pub value: V,
}

impl<V> Entry<V> {
    /// This entry's ordered position.
    #[inline]
    pub fn position(&self) -> Position {
        self.hash
    }
}

/// The entries at one position (usually one).
fn at_position<V>(table: &HashTable<Entry<V>>, pos: Position) -> impl Iterator<Item = &Entry<V>> {
    table.iter_hash(pos).filter(move |e| e.hash == pos)
}

/// After removing a key at `pos`, drop that position from the order set unless another key
/// still occupies it.
fn release_position<V>(table: &HashTable<Entry<V>>, order: &mut BTreeSet<Position>, pos: Position) {
    if at_position(table, pos).next().is_none() {
        order.remove(&pos);
    }
}

/// The index of one shard. Not synchronised: the keyspace wraps each shard in a lock.
#[derive(Debug)]
pub struct ShardIndex<V> {
    table: HashTable<Entry<V>>,
    order: BTreeSet<Position>,
    /// Keys were added by [`ShardIndex::insert_unordered`] since the order set was last
    /// rebuilt: it is missing their positions.
    order_stale: bool,
}

impl<V> Default for ShardIndex<V> {
    fn default() -> Self {
        ShardIndex {
            table: HashTable::new(),
            order: BTreeSet::new(),
            order_stale: false,
        }
    }
}

impl<V> ShardIndex<V> {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
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
    pub fn get(&self, hash: u64, key: &[u8]) -> Option<&Entry<V>> {
        self.table.find(hash, |e| e.hash == hash && &*e.key == key)
    }

    /// The entry for `key`, mutably.
    #[inline]
    pub fn get_mut(&mut self, hash: u64, key: &[u8]) -> Option<&mut Entry<V>> {
        self.table
            .find_mut(hash, |e| e.hash == hash && &*e.key == key)
    }

    /// The entry for `key`, mutably, unless `dead(entry)` holds, in which case the entry is
    /// removed and returned as `Err`. One probe either way (the write path uses this to drop
    /// an expired key it meets).
    pub fn get_mut_unless(
        &mut self,
        hash: u64,
        key: &[u8],
        dead: impl FnOnce(&V) -> bool,
    ) -> Result<Option<&mut Entry<V>>, Entry<V>> {
        let order = &mut self.order;
        let Ok(found) = self
            .table
            .find_entry(hash, |e| e.hash == hash && &*e.key == key)
        else {
            return Ok(None);
        };
        if !dead(&found.get().value) {
            return Ok(Some(found.into_mut()));
        }
        // `found` borrows the table for the caller's lifetime (it may be returned above), so
        // the position check goes through the table handed back by the removal.
        let (entry, vacant) = found.remove();
        release_position(vacant.into_table(), order, hash);
        Err(entry)
    }

    /// Insert or replace. Returns the previous value when the key existed (its stored key
    /// bytes are kept).
    pub fn insert(&mut self, hash: u64, key: &[u8], value: V) -> Option<V> {
        let old = self.put(hash, key, value);
        if old.is_none() {
            self.order.insert(hash);
        }
        old
    }

    /// Insert or replace in the table alone, with one probe.
    #[inline]
    fn put(&mut self, hash: u64, key: &[u8], value: V) -> Option<V> {
        match self
            .table
            .entry(hash, |e| e.hash == hash && &*e.key == key, |e| e.hash)
        {
            hashbrown::hash_table::Entry::Occupied(mut o) => {
                Some(std::mem::replace(&mut o.get_mut().value, value))
            }
            hashbrown::hash_table::Entry::Vacant(v) => {
                v.insert(Entry {
                    key: Key::new(key),
                    hash,
                    value,
                });
                None
            }
        }
    }

    /// Insert or replace without recording the key's position: for bulk loads, which call
    /// [`ShardIndex::rebuild_order`] once at the end (one sort and a bulk build instead of a
    /// B-tree insert per key, which was a third of a snapshot load's time). Until then the
    /// order set (SCAN, the snapshot cursor) misses the keys added this way.
    pub fn insert_unordered(&mut self, hash: u64, key: &[u8], value: V) -> Option<V> {
        let old = self.put(hash, key, value);
        self.order_stale |= old.is_none();
        old
    }

    /// Rebuild the order set from the table if keys were added unordered.
    pub fn rebuild_order(&mut self) {
        if std::mem::take(&mut self.order_stale) {
            // Collecting into a BTreeSet sorts, removes repeats and builds the tree bottom up,
            // with full nodes.
            self.order = self.table.iter().map(|e| e.hash).collect();
        }
    }

    /// Remove `key`, returning its entry.
    pub fn remove(&mut self, hash: u64, key: &[u8]) -> Option<Entry<V>> {
        let found = self
            .table
            .find_entry(hash, |e| e.hash == hash && &*e.key == key)
            .ok()?;
        let (entry, _) = found.remove();
        // Another key may share this exact position; it stays in the order set if so.
        release_position(&self.table, &mut self.order, hash);
        Some(entry)
    }

    /// Remove every key.
    pub fn clear(&mut self) {
        self.table = HashTable::new();
        self.order = BTreeSet::new();
        self.order_stale = false;
    }

    /// The entries whose hash is `hash` (usually zero or one).
    pub fn with_hash(&self, hash: u64) -> impl Iterator<Item = &Entry<V>> {
        self.table.iter_hash(hash).filter(move |e| e.hash == hash)
    }

    /// Every entry, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Entry<V>> {
        self.table.iter()
    }

    /// Every entry, mutably, in no particular order.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Entry<V>> {
        self.table.iter_mut()
    }

    /// Keep only the entries for which `keep` returns true.
    pub fn retain(&mut self, mut keep: impl FnMut(&mut Entry<V>) -> bool) {
        let mut removed = Vec::new();
        self.table.retain(|e| {
            let k = keep(e);
            if !k {
                removed.push(e.position());
            }
            k
        });
        for p in removed {
            release_position(&self.table, &mut self.order, p);
        }
    }

    /// Visit entries in position order starting at position `from` (inclusive). All the
    /// entries of one position are visited together. `visit` returns false to stop; the stop
    /// takes effect at the next position boundary, whose value is returned (None when the
    /// shard is exhausted).
    pub fn scan_from(
        &self,
        from: Position,
        mut visit: impl FnMut(&Entry<V>) -> bool,
    ) -> Option<Position> {
        let mut go_on = true;
        for &p in self.order.range((Bound::Included(from), Bound::Unbounded)) {
            if !go_on {
                return Some(p);
            }
            for e in at_position(&self.table, p) {
                if !visit(e) {
                    go_on = false;
                }
            }
        }
        None
    }

    /// The first entry at or after position `from`, wrapping around to the start: a cheap
    /// way to pick a pseudo-random key (RANDOMKEY) given a random position.
    pub fn entry_near(&self, from: Position) -> Option<&Entry<V>> {
        let p = self
            .order
            .range((Bound::Included(from), Bound::Unbounded))
            .next()
            .or_else(|| self.order.iter().next())?;
        at_position(&self.table, *p).next()
    }

    /// Number of keys in one cluster slot (a walk over the whole shard: only admin commands
    /// ask this).
    pub fn count_in_slot(&self, slot: u16) -> usize {
        self.table
            .iter()
            .filter(|e| key_slot(&e.key) == slot)
            .count()
    }

    /// Approximate heap bytes held by the index structures themselves (not keys or values):
    /// for INFO memory and MEMORY USAGE estimates.
    pub fn overhead_bytes(&self) -> usize {
        self.table.capacity() * (std::mem::size_of::<Entry<V>>() + 1)
            + self.order.len() * (std::mem::size_of::<Position>() + 4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        // Two keys forced onto the same hash must both be reachable and scanned.
        let mut ix: ShardIndex<u32> = ShardIndex::new();
        assert_eq!(ix.insert(7, b"a", 1), None);
        assert_eq!(ix.insert(7, b"b", 2), None);
        assert_eq!(ix.insert(7, b"a", 3), Some(1));
        assert_eq!(ix.get(7, b"a").map(|e| e.value), Some(3));
        assert_eq!(ix.get(7, b"b").map(|e| e.value), Some(2));
        let mut seen = Vec::new();
        assert_eq!(
            ix.scan_from(0, |e| {
                seen.push(e.key.to_vec());
                true
            }),
            None
        );
        assert_eq!(seen.len(), 2);
        assert!(ix.remove(7, b"a").is_some());
        assert_eq!(ix.get(7, b"b").map(|e| e.value), Some(2));
        let mut n = 0;
        ix.scan_from(0, |_| {
            n += 1;
            true
        });
        assert_eq!(n, 1);
        assert!(ix.remove(7, b"b").is_some());
        assert!(ix.order.is_empty());
    }

    #[test]
    fn scan_visits_everything_that_stays_despite_churn() {
        // A key present for the whole iteration is visited, whatever else changes.
        let hash = |k: &[u8]| u64::from(crc16(k)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut ix: ShardIndex<()> = ShardIndex::new();
        for i in 0..500u32 {
            let k = format!("stay{i}");
            ix.insert(hash(k.as_bytes()), k.as_bytes(), ());
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = Some(0u64);
        let mut round = 0u32;
        while let Some(from) = cursor {
            let mut budget = 10;
            cursor = ix.scan_from(from, |e| {
                seen.insert(e.key.to_vec());
                budget -= 1;
                budget > 0
            });
            for j in 0..5 {
                let k = format!("churn{round}-{j}");
                ix.insert(hash(k.as_bytes()), k.as_bytes(), ());
                let old = format!("churn{}-{j}", round.saturating_sub(1));
                ix.remove(hash(old.as_bytes()), old.as_bytes());
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
    fn unordered_inserts_are_scanned_after_the_rebuild() {
        let mut ix: ShardIndex<u32> = ShardIndex::new();
        ix.insert(5, b"ordered", 0);
        for i in 0..1000u32 {
            let k = format!("k{i}");
            // Some hashes repeat: one position, several keys.
            assert_eq!(
                ix.insert_unordered(u64::from(i % 700) << 20, k.as_bytes(), i),
                None
            );
        }
        assert_eq!(ix.insert_unordered(5, b"ordered", 1), Some(0));
        ix.rebuild_order();
        assert_eq!(ix.order.len(), 701);
        let mut seen = 0;
        let mut last = 0;
        ix.scan_from(0, |e| {
            assert!(e.hash >= last);
            last = e.hash;
            seen += 1;
            true
        });
        assert_eq!(seen, 1001);
        // Later ordered writes keep working on the rebuilt set.
        assert!(ix.remove(5, b"ordered").is_some());
        ix.insert(u64::MAX, b"last", 7);
        assert_eq!(ix.entry_near(u64::MAX).map(|e| e.value), Some(7));
        assert_eq!(ix.order.len(), 701);
    }

    #[test]
    fn retain_and_count_in_slot() {
        // retain drops positions of removed keys; count_in_slot counts per cluster slot.
        let mut ix: ShardIndex<u32> = ShardIndex::new();
        for i in 0..100u32 {
            let k = format!("{{tag}}{i}");
            ix.insert(u64::from(i) * 31, k.as_bytes(), i);
        }
        assert_eq!(ix.count_in_slot(key_slot(b"{tag}")), 100);
        ix.retain(|e| e.value % 2 == 0);
        assert_eq!(ix.len(), 50);
        assert_eq!(ix.order.len(), 50);
        assert_eq!(ix.count_in_slot(key_slot(b"{tag}")), 50);
        assert!(ix.entry_near(u64::MAX).is_some());
    }
}
