//! Streams: an append-only log of entries with IDs, and consumer groups reading it.
//!
//! Storage follows Redis's layout so that approximate trimming (`MAXLEN ~`) and `XINFO`
//! give the same numbers: entries live in *nodes* of at most `stream-node-max-entries`
//! (100) entries, a node closing when the listpack Redis would use for it reaches
//! `stream-node-max-bytes` (4096). Every node tracks the exact size of that listpack
//! ([`Node::lp_bytes`]), so nodes split where Redis's split. The entries themselves are
//! packed into one byte vector per node, smaller than a listpack:
//!
//! ```text
//! entry := flags:u8  ms_delta:varint  seq:varint  fields
//! fields := value:bytes * nfields                 when flags & SAMEFIELDS (the node's
//!                                                 master fields, as Redis compresses them)
//!         | n:varint (field:bytes value:bytes)*n  otherwise
//! flags:  1 DELETED (a tombstone left by XDEL or exact trimming), 2 SAMEFIELDS
//! ```
//!
//! `ms_delta` is the entry's milliseconds minus the node's first ID's; `seq` is absolute.
//! Nodes are kept in ID order in a deque: a read finds its node by binary search, then
//! walks at most one node's entries.
//!
//! Effect body (tag 5), a sequence of ops (IDs are `ms:varint seq:varint`):
//!
//! ```text
//! op 1  ADD        id n:varint (field:bytes value:bytes)*n   entry appended
//! op 2  DEL        n:varint id*n                              entries deleted (XDEL)
//! op 3  TRIM       id                                         live entries before id removed
//! op 4  META       last:id  entries_added:varint  max_deleted:id   (XSETID)
//! op 5  GROUP      name:bytes last:id entries_read:ivarint    group created (-1: unknown)
//! op 6  UNGROUP    name:bytes                                 group destroyed
//! op 7  GROUP_ID   name:bytes last:id entries_read:ivarint    group's cursor set
//! op 8  CONSUMER   group:bytes name:bytes seen:ivarint active:ivarint
//!                                                             consumer created or its
//!                                                             times set (active -1: never)
//! op 9  UNCONSUMER group:bytes name:bytes                     consumer deleted
//! op 10 CLAIM      group:bytes consumer:bytes n:varint (id time:ivarint count:varint)*n
//!                                                             pending entries set: owned by
//!                                                             consumer, delivered at time,
//!                                                             count times (created if new)
//! op 11 ACK        group:bytes n:varint id*n                  pending entries removed
//! ```
//!
//! Value encoding (tag 5): the stream's metadata, its nodes entry by entry (tombstones
//! included, so node boundaries survive a restart), then its groups with their pending
//! entries and consumers:
//!
//! ```text
//! last:id entries_added:varint max_deleted:id  nodes:varint node*  groups:varint group*
//! node  := master:id  nfields:varint field:bytes*nfields  n:varint
//!          (flags:u8 id nf:varint (field:bytes value:bytes)*nf)*n
//! group := name:bytes last:id entries_read:ivarint
//!          consumers:varint (name:bytes seen:ivarint active:ivarint)*
//!          pending:varint (id consumer:varint time:ivarint count:varint)*
//! ```
//!
//! An empty stream stays a key (as in Redis): no op deletes it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

use super::list::{listpack_entry_bytes, listpack_int_bytes};
use super::{count, Body as GenericBody, Replayed};
use crate::effect::{put_bytes, put_ivarint, put_uvarint, ApplyError, Cursor, DecodeError};
use crate::value::Value;

const OP_ADD: u8 = 1;
const OP_DEL: u8 = 2;
const OP_TRIM: u8 = 3;
const OP_META: u8 = 4;
const OP_GROUP: u8 = 5;
const OP_UNGROUP: u8 = 6;
const OP_GROUP_ID: u8 = 7;
const OP_CONSUMER: u8 = 8;
const OP_UNCONSUMER: u8 = 9;
const OP_CLAIM: u8 = 10;
const OP_ACK: u8 = 11;

const FLAG_DELETED: u8 = 1;
const FLAG_SAMEFIELDS: u8 = 2;

/// Bytes of an empty listpack (header and end marker).
const LP_EMPTY_BYTES: usize = 7;
/// Redis's hard cap on a stream node's listpack (`STREAM_LISTPACK_MAX_SIZE`), and on the
/// total size of one entry's fields and values.
pub const NODE_MAX_SIZE: usize = 1 << 30;

/// `stream-node-max-bytes` (0: no limit but [`NODE_MAX_SIZE`]).
static NODE_MAX_BYTES: AtomicU64 = AtomicU64::new(4096);
/// `stream-node-max-entries` (0: no limit).
static NODE_MAX_ENTRIES: AtomicU64 = AtomicU64::new(100);

/// Sets `stream-node-max-bytes` and `stream-node-max-entries` for nodes started from now on.
pub fn set_node_limits(max_bytes: u64, max_entries: u64) {
    NODE_MAX_BYTES.store(max_bytes, Ordering::Relaxed);
    NODE_MAX_ENTRIES.store(max_entries, Ordering::Relaxed);
}

/// The current `(stream-node-max-bytes, stream-node-max-entries)`.
pub fn node_limits() -> (u64, u64) {
    (
        NODE_MAX_BYTES.load(Ordering::Relaxed),
        NODE_MAX_ENTRIES.load(Ordering::Relaxed),
    )
}

/// A stream entry ID: milliseconds and a sequence number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    /// Milliseconds part.
    pub ms: u64,
    /// Sequence part.
    pub seq: u64,
}

impl StreamId {
    /// The smallest ID, `0-0`.
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    /// The largest ID.
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    /// An ID from its parts.
    pub const fn new(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    /// The next ID, `None` after the last possible one.
    pub fn next(self) -> Option<StreamId> {
        if self.seq < u64::MAX {
            Some(StreamId::new(self.ms, self.seq + 1))
        } else if self.ms < u64::MAX {
            Some(StreamId::new(self.ms + 1, 0))
        } else {
            None
        }
    }

    /// The previous ID, `None` before `0-0`.
    pub fn prev(self) -> Option<StreamId> {
        if self.seq > 0 {
            Some(StreamId::new(self.ms, self.seq - 1))
        } else if self.ms > 0 {
            Some(StreamId::new(self.ms - 1, u64::MAX))
        } else {
            None
        }
    }

    /// Whether this is `0-0`.
    pub fn is_zero(self) -> bool {
        self == StreamId::MIN
    }

    /// The ID as Redis prints it (`ms-seq`).
    pub fn to_bytes(self) -> Bytes {
        Bytes::from(self.to_string())
    }

    fn put(self, out: &mut Vec<u8>) {
        put_uvarint(out, self.ms);
        put_uvarint(out, self.seq);
    }

    fn read(c: &mut Cursor<'_>) -> Result<StreamId, DecodeError> {
        Ok(StreamId::new(c.uvarint()?, c.uvarint()?))
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// One node: up to `stream-node-max-entries` entries sharing a master ID and master fields.
#[derive(Debug, Clone, PartialEq)]
struct Node {
    /// The ID of the node's first entry (deleted or not); deltas are taken from it.
    master: StreamId,
    /// The ID of its last entry (deleted or not).
    last: StreamId,
    /// The first entry's fields, packed (`field:bytes` each).
    fields: Box<[u8]>,
    /// How many master fields.
    nfields: u32,
    /// Entries, packed (see the module documentation).
    data: Vec<u8>,
    /// Entries not deleted.
    live: u32,
    /// Tombstones.
    deleted: u32,
    /// The bytes Redis's listpack for the master fields and the entries would take, not
    /// counting the live/deleted counters (they are added in [`Node::lp_bytes`]).
    lp_fixed: u32,
}

/// An entry as stored: its ID, whether it is a tombstone, and its fields.
#[derive(Debug, Clone, Copy)]
pub struct EntryRef<'a> {
    /// The entry ID.
    pub id: StreamId,
    /// A tombstone (not visible to reads).
    pub deleted: bool,
    /// Offset of the flags byte in the node's data.
    at: usize,
    /// The packed fields (see the module documentation).
    body: &'a [u8],
    /// Values only (the node's master fields are the names).
    same: bool,
    /// The node's master fields, packed.
    master_fields: &'a [u8],
}

impl<'a> EntryRef<'a> {
    /// The field-value pairs, in order.
    pub fn fields(&self) -> Vec<(&'a [u8], &'a [u8])> {
        let mut out = Vec::new();
        let mut c = Cursor::new(self.body);
        if self.same {
            let mut names = Cursor::new(self.master_fields);
            while !c.is_at_end() {
                match (names.bytes(), c.bytes()) {
                    (Ok(f), Ok(v)) => out.push((f, v)),
                    _ => break,
                }
            }
        } else if let Ok(n) = c.uvarint() {
            for _ in 0..n {
                match (c.bytes(), c.bytes()) {
                    (Ok(f), Ok(v)) => out.push((f, v)),
                    _ => break,
                }
            }
        }
        out
    }
}

/// Reads one entry of `data` at `pos`; the entry and the offset after it. The data was
/// built by [`Node::push`], so it is well formed.
fn read_entry<'a>(node: &'a Node, pos: usize) -> Option<(EntryRef<'a>, usize)> {
    let data = &node.data[..];
    if pos >= data.len() {
        return None;
    }
    let mut c = Cursor::new(&data[pos..]);
    let flags = c.u8().ok()?;
    let ms = node.master.ms.checked_add(c.uvarint().ok()?)?;
    let seq = c.uvarint().ok()?;
    let body_start = pos + c.pos();
    let same = flags & FLAG_SAMEFIELDS != 0;
    if same {
        for _ in 0..node.nfields {
            c.bytes().ok()?;
        }
    } else {
        let n = c.uvarint().ok()?;
        for _ in 0..n.saturating_mul(2) {
            c.bytes().ok()?;
        }
    }
    let end = pos + c.pos();
    Some((
        EntryRef {
            id: StreamId::new(ms, seq),
            deleted: flags & FLAG_DELETED != 0,
            at: pos,
            body: &data[body_start..end],
            same,
            master_fields: &node.fields,
        },
        end,
    ))
}

impl Node {
    /// A node whose first entry has `id` and `fields`.
    fn new(id: StreamId, fields: &[(&[u8], &[u8])]) -> Node {
        let mut packed = Vec::new();
        let mut lp = LP_EMPTY_BYTES + listpack_int_bytes(fields.len() as i64) + 1; // + 0 terminator
        for (f, _) in fields {
            put_bytes(&mut packed, f);
            lp += listpack_entry_bytes(f);
        }
        Node {
            master: id,
            last: id,
            fields: packed.into_boxed_slice(),
            nfields: fields.len() as u32,
            data: Vec::new(),
            live: 0,
            deleted: 0,
            lp_fixed: lp as u32,
        }
    }

    /// The size of Redis's listpack for this node.
    fn lp_bytes(&self) -> usize {
        self.lp_fixed as usize
            + listpack_int_bytes(self.live as i64)
            + listpack_int_bytes(self.deleted as i64)
    }

    /// Whether `fields` has exactly the master field names, in order.
    fn same_fields(&self, fields: &[(&[u8], &[u8])]) -> bool {
        if fields.len() != self.nfields as usize {
            return false;
        }
        let mut c = Cursor::new(&self.fields);
        fields.iter().all(|(f, _)| c.bytes().ok() == Some(*f))
    }

    /// Appends an entry (`deleted`: as a tombstone, when loading one).
    fn push(&mut self, id: StreamId, fields: &[(&[u8], &[u8])], deleted: bool) {
        let same = self.same_fields(fields);
        let mut flags = if same { FLAG_SAMEFIELDS } else { 0 };
        if deleted {
            flags |= FLAG_DELETED;
        }
        let ms_delta = id.ms - self.master.ms;
        self.data.push(flags);
        put_uvarint(&mut self.data, ms_delta);
        put_uvarint(&mut self.data, id.seq);
        // Redis's listpack entry: flags, ms-diff, seq-diff, [num-fields], [fields], values,
        // lp-count.
        let n = fields.len() as i64;
        let mut lp = listpack_int_bytes(flags as i64)
            + listpack_int_bytes(ms_delta as i64)
            + listpack_int_bytes(id.seq.wrapping_sub(self.master.seq) as i64);
        let lp_count = if same { n + 3 } else { 2 * n + 4 };
        if !same {
            put_uvarint(&mut self.data, fields.len() as u64);
            lp += listpack_int_bytes(n);
        }
        for (f, v) in fields {
            if !same {
                put_bytes(&mut self.data, f);
                lp += listpack_entry_bytes(f);
            }
            put_bytes(&mut self.data, v);
            lp += listpack_entry_bytes(v);
        }
        lp += listpack_int_bytes(lp_count);
        self.lp_fixed = self.lp_fixed.saturating_add(lp as u32);
        self.last = id;
        if deleted {
            self.deleted += 1;
        } else {
            self.live += 1;
        }
    }

    /// The entries, tombstones included, in order.
    fn entries(&self) -> NodeIter<'_> {
        NodeIter { node: self, pos: 0 }
    }

    /// Marks the entry whose flags are at `at` as deleted.
    fn tombstone(&mut self, at: usize) {
        if let Some(f) = self.data.get_mut(at) {
            if *f & FLAG_DELETED == 0 {
                *f |= FLAG_DELETED;
                self.live -= 1;
                self.deleted += 1;
            }
        }
    }

    fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Node>() + self.fields.len() + self.data.capacity()
    }
}

struct NodeIter<'a> {
    node: &'a Node,
    pos: usize,
}

impl<'a> Iterator for NodeIter<'a> {
    type Item = EntryRef<'a>;

    fn next(&mut self) -> Option<EntryRef<'a>> {
        let (e, end) = read_entry(self.node, self.pos)?;
        self.pos = end;
        Some(e)
    }
}

/// A pending entry of a consumer group: delivered, not yet acknowledged.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    /// The consumer it was last delivered to.
    pub consumer: Bytes,
    /// When it was last delivered (ms).
    pub delivery_time: i64,
    /// How many times it was delivered.
    pub delivery_count: u64,
}

/// A consumer of a group.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Consumer {
    /// Last time it tried to read or claim (ms).
    pub seen_time: i64,
    /// Last time it read or claimed something (ms); -1 when never.
    pub active_time: i64,
    /// The IDs pending for it.
    pub pending: BTreeSet<StreamId>,
}

/// A consumer group.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Group {
    /// The last ID delivered to the group.
    pub last_id: StreamId,
    /// The logical count of entries read by the group; -1 when unknown.
    pub entries_read: i64,
    /// Pending entries by ID.
    pub pending: BTreeMap<StreamId, Pending>,
    /// Consumers by name.
    pub consumers: BTreeMap<Bytes, Consumer>,
}

impl Group {
    /// A group positioned at `last_id`.
    pub fn new(last_id: StreamId, entries_read: i64) -> Group {
        Group {
            last_id,
            entries_read,
            ..Group::default()
        }
    }

    /// Sets pending entry `id` to `consumer` (creating the consumer if needed), delivered at
    /// `time`, `count` times.
    pub fn claim(&mut self, id: StreamId, consumer: &[u8], time: i64, count: u64) {
        if let Some(old) = self.pending.get(&id) {
            if old.consumer[..] != *consumer {
                let old_name = old.consumer.clone();
                if let Some(c) = self.consumers.get_mut(&old_name) {
                    c.pending.remove(&id);
                }
            }
        }
        let name = Bytes::copy_from_slice(consumer);
        self.consumer_mut(consumer, time).pending.insert(id);
        self.pending.insert(
            id,
            Pending {
                consumer: name,
                delivery_time: time,
                delivery_count: count,
            },
        );
    }

    /// Removes pending entry `id`; whether it was pending.
    pub fn ack(&mut self, id: StreamId) -> bool {
        match self.pending.remove(&id) {
            Some(p) => {
                if let Some(c) = self.consumers.get_mut(&p.consumer) {
                    c.pending.remove(&id);
                }
                true
            }
            None => false,
        }
    }

    /// The consumer `name`, created (seen at `now`, never active) if missing.
    pub fn consumer_mut(&mut self, name: &[u8], now: i64) -> &mut Consumer {
        self.consumers
            .entry(Bytes::copy_from_slice(name))
            .or_insert_with(|| Consumer {
                seen_time: now,
                active_time: -1,
                pending: BTreeSet::new(),
            })
    }

    /// Deletes consumer `name` and its pending entries; how many were pending, or `None`
    /// when there was no such consumer.
    pub fn delete_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let c = self.consumers.remove(name)?;
        for id in &c.pending {
            self.pending.remove(id);
        }
        Some(c.pending.len())
    }
}

/// A stream value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stream {
    nodes: VecDeque<Node>,
    length: u64,
    /// The last ID ever added (or set by XSETID).
    pub last_id: StreamId,
    /// The first live entry's ID (0-0 when empty).
    pub first_id: StreamId,
    /// The largest ID deleted by XDEL.
    pub max_deleted: StreamId,
    /// How many entries were ever added.
    pub entries_added: u64,
    /// Consumer groups by name.
    pub groups: BTreeMap<Bytes, Group>,
}

/// Why an entry could not be appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddError {
    /// The ID is not greater than the stream's last ID.
    NotGreater,
    /// The fields and values are over Redis's size cap.
    TooLarge,
}

impl Stream {
    /// An empty stream.
    pub fn new() -> Stream {
        Stream::default()
    }

    /// Number of live entries.
    pub fn len(&self) -> u64 {
        self.length
    }

    /// Whether it has no live entries (it still exists as a key).
    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// Number of nodes (XINFO's radix-tree-keys).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The number of nodes of the radix tree Redis would index this stream's nodes with
    /// (XINFO's radix-tree-nodes). Redis keys each node by its first ID as 16 big-endian
    /// bytes; its tree has a node for the root, each branching point, each child of a
    /// branching point (where a compressed run starts) and each key.
    pub fn radix_tree_nodes(&self) -> usize {
        let key = |id: StreamId| (u128::from(id.ms) << 64) | u128::from(id.seq);
        // A tree vertex is identified by (depth in bytes, the key's first `depth` bytes).
        let prefix = |k: u128, depth: u32| -> (u32, u128) {
            (
                depth,
                if depth == 0 {
                    0
                } else {
                    k >> (8 * (16 - depth))
                },
            )
        };
        let mut vertices = std::collections::HashSet::new();
        vertices.insert((0u32, 0u128));
        let keys: Vec<u128> = self.nodes.iter().map(|n| key(n.master)).collect();
        for &k in &keys {
            vertices.insert(prefix(k, 16));
        }
        for pair in keys.windows(2) {
            let shared = (pair[0] ^ pair[1]).leading_zeros() / 8;
            if shared >= 16 {
                continue;
            }
            vertices.insert(prefix(pair[0], shared));
            vertices.insert(prefix(pair[0], shared + 1));
            vertices.insert(prefix(pair[1], shared + 1));
        }
        vertices.len()
    }

    /// OBJECT ENCODING.
    pub fn encoding(&self) -> &'static str {
        "stream"
    }

    /// Appends an entry with `id`, which must be greater than [`Stream::last_id`].
    pub fn add(&mut self, id: StreamId, fields: &[(&[u8], &[u8])]) -> Result<(), AddError> {
        if id <= self.last_id {
            return Err(AddError::NotGreater);
        }
        let total: usize = fields.iter().map(|(f, v)| f.len() + v.len()).sum();
        if total > NODE_MAX_SIZE {
            return Err(AddError::TooLarge);
        }
        let (max_bytes, max_entries) = node_limits();
        let max_bytes = if max_bytes == 0 || max_bytes > NODE_MAX_SIZE as u64 {
            NODE_MAX_SIZE as u64
        } else {
            max_bytes
        };
        let new_node = match self.nodes.back() {
            None => true,
            Some(n) => {
                (n.lp_bytes() + total) as u64 >= max_bytes
                    || (max_entries > 0 && (n.live + n.deleted) as u64 >= max_entries)
            }
        };
        if new_node {
            if let Some(n) = self.nodes.back_mut() {
                n.data.shrink_to_fit();
            }
            self.nodes.push_back(Node::new(id, fields));
        }
        if let Some(n) = self.nodes.back_mut() {
            n.push(id, fields, false);
        }
        if self.length == 0 {
            self.first_id = id;
        }
        self.length += 1;
        self.entries_added += 1;
        self.last_id = id;
        Ok(())
    }

    /// The index of the first node that may hold an entry `>= id`.
    fn node_from(&self, id: StreamId) -> usize {
        self.nodes.partition_point(|n| n.last < id)
    }

    /// Calls `f` on the live entries with IDs in `[start, end]`, in order (reversed when
    /// `rev`), until `f` returns false.
    pub fn scan<'s>(
        &'s self,
        start: StreamId,
        end: StreamId,
        rev: bool,
        mut f: impl FnMut(EntryRef<'s>) -> bool,
    ) {
        if start > end {
            return;
        }
        if !rev {
            for node in self.nodes.range(self.node_from(start)..) {
                if node.master > end {
                    return;
                }
                for e in node.entries() {
                    if e.id > end {
                        return;
                    }
                    if e.id >= start && !e.deleted && !f(e) {
                        return;
                    }
                }
            }
        } else {
            let upto = self.nodes.partition_point(|n| n.master <= end);
            for node in self.nodes.range(..upto).rev() {
                if node.last < start {
                    return;
                }
                let entries: Vec<EntryRef<'s>> = node.entries().collect();
                for e in entries.into_iter().rev() {
                    if e.id < start {
                        return;
                    }
                    if e.id <= end && !e.deleted && !f(e) {
                        return;
                    }
                }
            }
        }
    }

    /// The first live entry in `[start, end]` (the last when `rev`).
    fn first_in(&self, start: StreamId, end: StreamId, rev: bool) -> Option<EntryRef<'_>> {
        let mut found = None;
        self.scan(start, end, rev, |e| {
            found = Some(e);
            false
        });
        found
    }

    /// The live entry `id`, if there is one.
    pub fn get(&self, id: StreamId) -> Option<EntryRef<'_>> {
        self.first_in(id, id, false)
    }

    /// The ID of the last live entry (0-0 when empty).
    pub fn last_live_id(&self) -> StreamId {
        self.last_entry().map_or(StreamId::MIN, |e| e.id)
    }

    /// The first and last live entries, for XINFO.
    pub fn first_entry(&self) -> Option<EntryRef<'_>> {
        self.first_in(StreamId::MIN, StreamId::MAX, false)
    }

    /// See [`Stream::first_entry`].
    pub fn last_entry(&self) -> Option<EntryRef<'_>> {
        self.first_in(StreamId::MIN, StreamId::MAX, true)
    }

    fn refresh_first_id(&mut self) {
        self.first_id = if self.length == 0 {
            StreamId::MIN
        } else {
            self.first_entry().map(|e| e.id).unwrap_or_default()
        };
    }

    /// XDEL of one ID: whether a live entry was deleted. A node left with no live entry is
    /// removed.
    pub fn delete(&mut self, id: StreamId) -> bool {
        let i = self.node_from(id);
        let Some(node) = self.nodes.get_mut(i) else {
            return false;
        };
        let at = node
            .entries()
            .find(|e| e.id == id && !e.deleted)
            .map(|e| e.at);
        let Some(at) = at else {
            return false;
        };
        node.tombstone(at);
        if node.live == 0 {
            self.nodes.remove(i);
        }
        self.length -= 1;
        if id > self.max_deleted {
            self.max_deleted = id;
        }
        if id == self.first_id || self.length == 0 {
            self.refresh_first_id();
        }
        true
    }

    /// Trims by MAXLEN or MINID as Redis's `streamTrim`: whole nodes go while the trim
    /// allows; `approx` stops at the first node that cannot go whole, otherwise entries
    /// inside it are marked deleted. `limit` (0: none) caps the entries removed, counted
    /// by whole nodes. Returns how many entries were removed.
    pub fn trim(&mut self, by: Trim, approx: bool, limit: u64) -> u64 {
        let mut removed = 0u64;
        while let Some(node) = self.nodes.front() {
            if let Trim::MaxLen(max) = by {
                if self.length <= max {
                    break;
                }
            }
            let entries = node.live as u64;
            if limit > 0 && removed + entries > limit {
                break;
            }
            let whole = match by {
                Trim::MaxLen(max) => self.length - entries >= max,
                Trim::MinId(id) => node.last < id,
            };
            if whole {
                self.nodes.pop_front();
                self.length -= entries;
                removed += entries;
                continue;
            }
            if approx {
                break;
            }
            let mut marks = Vec::new();
            let mut length = self.length;
            for e in node.entries() {
                let stop = match by {
                    Trim::MaxLen(max) => length <= max,
                    Trim::MinId(id) => e.id >= id,
                };
                if stop {
                    break;
                }
                if !e.deleted {
                    marks.push(e.at);
                    length -= 1;
                }
            }
            let Some(node) = self.nodes.front_mut() else {
                break;
            };
            for at in &marks {
                node.tombstone(*at);
            }
            self.length -= marks.len() as u64;
            removed += marks.len() as u64;
            break;
        }
        if removed > 0 {
            self.refresh_first_id();
        }
        removed
    }

    /// Removes every live entry before `id` exactly (the replay of a trim).
    pub fn trim_before(&mut self, id: StreamId) -> u64 {
        self.trim(Trim::MinId(id), false, 0)
    }

    /// The first live ID after trimming (what a trim effect records): the ID every entry
    /// before which is gone.
    pub fn trim_point(&self) -> StreamId {
        if self.length == 0 {
            self.last_id.next().unwrap_or(StreamId::MAX)
        } else {
            self.first_id
        }
    }

    /// Redis's `streamEstimateDistanceFromFirstEverEntry`: the logical position of `id`
    /// (how many entries were added up to it), `None` when it cannot be known.
    pub fn estimate_read_count(&self, id: StreamId) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if self.length == 0 && id <= self.last_id {
            return Some(self.entries_added);
        }
        if id == self.last_id {
            return Some(self.entries_added);
        }
        if id > self.last_id {
            return None;
        }
        if self.max_deleted.is_zero() || self.max_deleted < self.first_id {
            if id < self.first_id {
                return Some(self.entries_added - self.length);
            }
            if id == self.first_id {
                return Some(self.entries_added - self.length + 1);
            }
        }
        None
    }

    /// Redis's `streamRangeHasTombstones` from `start` to the end.
    pub fn has_tombstones_from(&self, start: StreamId) -> bool {
        if self.length == 0 || self.max_deleted.is_zero() {
            return false;
        }
        if self.first_id > self.max_deleted {
            return false;
        }
        start <= self.max_deleted
    }

    /// The lag of `g` (entries not yet delivered to it), `None` when unknown. Negative when
    /// XGROUP SETID claimed more entries read than were added, as in Redis.
    pub fn group_lag(&self, g: &Group) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        let added = self.entries_added as i64;
        if g.entries_read >= 0 && !self.has_tombstones_from(g.last_id) {
            return Some(added.wrapping_sub(g.entries_read));
        }
        self.estimate_read_count(g.last_id)
            .map(|read| added.wrapping_sub(read as i64))
    }

    /// Moves group `g`'s cursor past delivered entry `id`, as Redis does for each entry
    /// it delivers with `>`.
    pub fn advance_group(&self, g: &mut Group, id: StreamId) {
        if id > g.last_id {
            if g.entries_read >= 0 && !self.has_tombstones_from(id) {
                g.entries_read += 1;
            } else if self.entries_added > 0 {
                g.entries_read = self.estimate_read_count(id).map(|n| n as i64).unwrap_or(-1);
            }
            g.last_id = id;
        }
    }

    /// Approximate bytes used.
    pub fn memory_bytes(&self) -> usize {
        let nodes: usize = self.nodes.iter().map(Node::memory_bytes).sum();
        let groups: usize = self
            .groups
            .iter()
            .map(|(name, g)| {
                name.len()
                    + std::mem::size_of::<Group>()
                    + g.pending.len() * (std::mem::size_of::<Pending>() + 48)
                    + g.consumers
                        .iter()
                        .map(|(n, c)| {
                            n.len() + std::mem::size_of::<Consumer>() + c.pending.len() * 24
                        })
                        .sum::<usize>()
            })
            .sum();
        std::mem::size_of::<Stream>() + nodes + groups
    }

    /// Appends the value encoding (see the module documentation).
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.last_id.put(out);
        put_uvarint(out, self.entries_added);
        self.max_deleted.put(out);
        put_uvarint(out, self.nodes.len() as u64);
        for n in &self.nodes {
            n.master.put(out);
            put_uvarint(out, n.nfields as u64);
            out.extend_from_slice(&n.fields);
            put_uvarint(out, (n.live + n.deleted) as u64);
            for e in n.entries() {
                out.push(u8::from(e.deleted));
                e.id.put(out);
                let fields = e.fields();
                put_uvarint(out, fields.len() as u64);
                for (f, v) in fields {
                    put_bytes(out, f);
                    put_bytes(out, v);
                }
            }
        }
        put_uvarint(out, self.groups.len() as u64);
        for (name, g) in &self.groups {
            put_bytes(out, name);
            g.last_id.put(out);
            put_ivarint(out, g.entries_read);
            put_uvarint(out, g.consumers.len() as u64);
            let mut index = BTreeMap::new();
            for (i, (cname, c)) in g.consumers.iter().enumerate() {
                put_bytes(out, cname);
                put_ivarint(out, c.seen_time);
                put_ivarint(out, c.active_time);
                index.insert(cname.clone(), i as u64);
            }
            put_uvarint(out, g.pending.len() as u64);
            for (id, p) in &g.pending {
                id.put(out);
                put_uvarint(out, index.get(&p.consumer).copied().unwrap_or(0));
                put_ivarint(out, p.delivery_time);
                put_uvarint(out, p.delivery_count);
            }
        }
    }

    /// Decodes the value encoding, checking every invariant a forged file could break.
    pub fn decode(c: &mut Cursor<'_>) -> Result<Stream, DecodeError> {
        let bad = |what, at| DecodeError::Invalid { what, at };
        let mut s = Stream::new();
        let last_id = StreamId::read(c)?;
        let entries_added = c.uvarint()?;
        let max_deleted = StreamId::read(c)?;
        let nnodes = count(c, 3)?;
        let mut prev: Option<StreamId> = None;
        for _ in 0..nnodes {
            let at = c.pos();
            let master = StreamId::read(c)?;
            let nfields = count(c, 1)?;
            let mut names = Vec::with_capacity(nfields);
            for _ in 0..nfields {
                names.push(c.bytes()?);
            }
            let n = count(c, 4)?;
            if n == 0 {
                return Err(bad("empty stream node", at));
            }
            let mut node: Option<Node> = None;
            for i in 0..n {
                let at = c.pos();
                let deleted = match c.u8()? {
                    0 => false,
                    1 => true,
                    _ => return Err(bad("stream entry flag", at)),
                };
                let id = StreamId::read(c)?;
                if prev.is_some_and(|p| id <= p) || (i == 0 && id != master) || id < master {
                    return Err(bad("stream entry ID order", at));
                }
                prev = Some(id);
                let nf = count(c, 2)?;
                let mut fields = Vec::with_capacity(nf);
                for _ in 0..nf {
                    fields.push((c.bytes()?, c.bytes()?));
                }
                if i == 0 {
                    let master_fields: Vec<(&[u8], &[u8])> =
                        names.iter().map(|f| (*f, &b""[..])).collect();
                    node = Some(Node::new(master, &master_fields));
                }
                if let Some(node) = node.as_mut() {
                    node.push(id, &fields, deleted);
                }
            }
            if let Some(node) = node {
                s.length += node.live as u64;
                s.nodes.push_back(node);
            }
        }
        if prev.is_some_and(|p| p > last_id) {
            return Err(bad("stream last ID", c.pos()));
        }
        s.last_id = last_id;
        s.entries_added = entries_added;
        s.max_deleted = max_deleted;
        s.refresh_first_id();
        let ngroups = count(c, 5)?;
        for _ in 0..ngroups {
            let at = c.pos();
            let name = Bytes::copy_from_slice(c.bytes()?);
            let mut g = Group::new(StreamId::read(c)?, c.ivarint()?);
            let nc = count(c, 3)?;
            let mut names = Vec::with_capacity(nc);
            for _ in 0..nc {
                let cname = Bytes::copy_from_slice(c.bytes()?);
                let seen_time = c.ivarint()?;
                let active_time = c.ivarint()?;
                g.consumers.insert(
                    cname.clone(),
                    Consumer {
                        seen_time,
                        active_time,
                        pending: BTreeSet::new(),
                    },
                );
                names.push(cname);
            }
            let np = count(c, 5)?;
            for _ in 0..np {
                let pat = c.pos();
                let id = StreamId::read(c)?;
                let ci = c.uvarint()?;
                let cname = usize::try_from(ci)
                    .ok()
                    .and_then(|i| names.get(i))
                    .ok_or_else(|| bad("pending entry consumer", pat))?
                    .clone();
                let time = c.ivarint()?;
                let n = c.uvarint()?;
                if g.pending.contains_key(&id) {
                    return Err(bad("duplicate pending entry", pat));
                }
                g.claim(id, &cname, time, n);
            }
            if g.consumers.len() != nc || s.groups.insert(name, g).is_some() {
                return Err(bad("duplicate group or consumer", at));
            }
        }
        Ok(s)
    }
}

/// A trimming strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trim {
    /// Keep at most this many entries.
    MaxLen(u64),
    /// Keep entries with IDs at least this.
    MinId(StreamId),
}

/// A stream effect body being built.
pub type Body = GenericBody<Stream>;

impl Body {
    /// An entry appended.
    pub fn add(&mut self, id: StreamId, fields: &[(&[u8], &[u8])]) {
        let buf = self.op(OP_ADD);
        id.put(buf);
        put_uvarint(buf, fields.len() as u64);
        for (f, v) in fields {
            put_bytes(buf, f);
            put_bytes(buf, v);
        }
    }

    /// Entries deleted by XDEL.
    pub fn del(&mut self, ids: &[StreamId]) {
        let buf = self.op(OP_DEL);
        put_uvarint(buf, ids.len() as u64);
        for id in ids {
            id.put(buf);
        }
    }

    /// Live entries before `id` removed.
    pub fn trim(&mut self, id: StreamId) {
        id.put(self.op(OP_TRIM));
    }

    /// The stream's metadata set (XSETID).
    pub fn meta(&mut self, last: StreamId, entries_added: u64, max_deleted: StreamId) {
        let buf = self.op(OP_META);
        last.put(buf);
        put_uvarint(buf, entries_added);
        max_deleted.put(buf);
    }

    /// A group created.
    pub fn group(&mut self, name: &[u8], last: StreamId, entries_read: i64) {
        let buf = self.op(OP_GROUP);
        put_bytes(buf, name);
        last.put(buf);
        put_ivarint(buf, entries_read);
    }

    /// A group destroyed.
    pub fn ungroup(&mut self, name: &[u8]) {
        put_bytes(self.op(OP_UNGROUP), name);
    }

    /// A group's cursor set.
    pub fn group_id(&mut self, name: &[u8], last: StreamId, entries_read: i64) {
        let buf = self.op(OP_GROUP_ID);
        put_bytes(buf, name);
        last.put(buf);
        put_ivarint(buf, entries_read);
    }

    /// A consumer created, or its times set.
    pub fn consumer(&mut self, group: &[u8], name: &[u8], seen: i64, active: i64) {
        let buf = self.op(OP_CONSUMER);
        put_bytes(buf, group);
        put_bytes(buf, name);
        put_ivarint(buf, seen);
        put_ivarint(buf, active);
    }

    /// A consumer deleted.
    pub fn unconsumer(&mut self, group: &[u8], name: &[u8]) {
        let buf = self.op(OP_UNCONSUMER);
        put_bytes(buf, group);
        put_bytes(buf, name);
    }

    /// Pending entries set for `consumer`: `(id, delivery time, delivery count)`.
    pub fn claim(&mut self, group: &[u8], consumer: &[u8], items: &[(StreamId, i64, u64)]) {
        if items.is_empty() {
            return;
        }
        let buf = self.op(OP_CLAIM);
        put_bytes(buf, group);
        put_bytes(buf, consumer);
        put_uvarint(buf, items.len() as u64);
        for (id, time, n) in items {
            id.put(buf);
            put_ivarint(buf, *time);
            put_uvarint(buf, *n);
        }
    }

    /// Pending entries acknowledged.
    pub fn ack(&mut self, group: &[u8], ids: &[StreamId]) {
        if ids.is_empty() {
            return;
        }
        let buf = self.op(OP_ACK);
        put_bytes(buf, group);
        put_uvarint(buf, ids.len() as u64);
        for id in ids {
            id.put(buf);
        }
    }
}

/// Replays a stream effect body. A stream is never deleted by its ops, even when empty.
pub fn replay(existing: Option<&mut Value>, body: &[u8]) -> Result<Replayed, ApplyError> {
    let mut created = None;
    let s: &mut Stream = match existing {
        Some(Value::Stream(s)) => s,
        Some(_) => return Err(ApplyError::WrongType),
        None => created.insert(Stream::new()),
    };
    let mut c = Cursor::new(body);
    while !c.is_at_end() {
        let at = c.pos();
        let op = c.u8()?;
        apply_op(s, op, at, &mut c)?;
    }
    Ok(match created {
        Some(s) => Replayed::Created(Value::Stream(Box::new(s))),
        None => Replayed::Changed,
    })
}

fn ids(c: &mut Cursor<'_>) -> Result<Vec<StreamId>, DecodeError> {
    let n = count(c, 2)?;
    (0..n).map(|_| StreamId::read(c)).collect()
}

fn apply_op(s: &mut Stream, op: u8, at: usize, c: &mut Cursor<'_>) -> Result<(), ApplyError> {
    let bad = |what| ApplyError::Decode(DecodeError::Invalid { what, at });
    match op {
        OP_ADD => {
            let id = StreamId::read(c)?;
            let n = count(c, 2)?;
            let mut fields = Vec::with_capacity(n);
            for _ in 0..n {
                fields.push((c.bytes()?, c.bytes()?));
            }
            if n == 0 {
                return Err(bad("stream entry without fields"));
            }
            s.add(id, &fields).map_err(|_| bad("stream entry ID"))?;
        }
        OP_DEL => {
            for id in ids(c)? {
                s.delete(id);
            }
        }
        OP_TRIM => {
            let id = StreamId::read(c)?;
            s.trim_before(id);
        }
        OP_META => {
            let last = StreamId::read(c)?;
            let added = c.uvarint()?;
            let max_deleted = StreamId::read(c)?;
            if last < s.last_live_id() {
                return Err(bad("stream last ID"));
            }
            s.last_id = last;
            s.entries_added = added;
            s.max_deleted = max_deleted;
        }
        OP_GROUP | OP_GROUP_ID => {
            let name = c.bytes()?;
            let last = StreamId::read(c)?;
            let read = c.ivarint()?;
            if op == OP_GROUP {
                if s.groups.contains_key(name) {
                    return Err(bad("existing group"));
                }
                s.groups
                    .insert(Bytes::copy_from_slice(name), Group::new(last, read));
            } else {
                let g = s.groups.get_mut(name).ok_or_else(|| bad("group"))?;
                g.last_id = last;
                g.entries_read = read;
            }
        }
        OP_UNGROUP => {
            let name = c.bytes()?;
            s.groups.remove(name).ok_or_else(|| bad("group"))?;
        }
        OP_CONSUMER => {
            let group = c.bytes()?;
            let name = c.bytes()?;
            let seen = c.ivarint()?;
            let active = c.ivarint()?;
            let g = s.groups.get_mut(group).ok_or_else(|| bad("group"))?;
            let con = g.consumer_mut(name, seen);
            con.seen_time = seen;
            con.active_time = active;
        }
        OP_UNCONSUMER => {
            let group = c.bytes()?;
            let name = c.bytes()?;
            let g = s.groups.get_mut(group).ok_or_else(|| bad("group"))?;
            g.delete_consumer(name);
        }
        OP_CLAIM => {
            let group = c.bytes()?;
            let consumer = c.bytes()?;
            let n = count(c, 4)?;
            let g = s.groups.get_mut(group).ok_or_else(|| bad("group"))?;
            for _ in 0..n {
                let id = StreamId::read(c)?;
                let time = c.ivarint()?;
                let count = c.uvarint()?;
                g.claim(id, consumer, time, count);
            }
        }
        OP_ACK => {
            let group = c.bytes()?;
            let list = ids(c)?;
            let g = s.groups.get_mut(group).ok_or_else(|| bad("group"))?;
            for id in list {
                g.ack(id);
            }
        }
        op => return Err(ApplyError::Decode(DecodeError::UnknownOp { op, at })),
    }
    Ok(())
}

/// A stream effect body as text, for `vole-tool wal dump`.
pub fn describe(body: &[u8], out: &mut String) -> Result<(), DecodeError> {
    use super::push_text;
    use std::fmt::Write;
    let mut c = Cursor::new(body);
    let mut first = true;
    while !c.is_at_end() {
        if !first {
            out.push_str("; ");
        }
        first = false;
        let at = c.pos();
        match c.u8()? {
            OP_ADD => {
                let id = StreamId::read(&mut c)?;
                let _ = write!(out, "ADD {id}");
                let n = count(&mut c, 2)?;
                for _ in 0..n {
                    out.push(' ');
                    push_text(out, c.bytes()?);
                    out.push('=');
                    push_text(out, c.bytes()?);
                }
            }
            OP_DEL => {
                out.push_str("DEL");
                for id in ids(&mut c)? {
                    let _ = write!(out, " {id}");
                }
            }
            OP_TRIM => {
                let _ = write!(out, "TRIM before {}", StreamId::read(&mut c)?);
            }
            OP_META => {
                let last = StreamId::read(&mut c)?;
                let added = c.uvarint()?;
                let md = StreamId::read(&mut c)?;
                let _ = write!(
                    out,
                    "META last={last} entries_added={added} max_deleted={md}"
                );
            }
            op @ (OP_GROUP | OP_GROUP_ID) => {
                out.push_str(if op == OP_GROUP {
                    "GROUP "
                } else {
                    "GROUP_ID "
                });
                push_text(out, c.bytes()?);
                let last = StreamId::read(&mut c)?;
                let _ = write!(out, " last={last} entries_read={}", c.ivarint()?);
            }
            OP_UNGROUP => {
                out.push_str("UNGROUP ");
                push_text(out, c.bytes()?);
            }
            OP_CONSUMER => {
                out.push_str("CONSUMER ");
                push_text(out, c.bytes()?);
                out.push(' ');
                push_text(out, c.bytes()?);
                let seen = c.ivarint()?;
                let _ = write!(out, " seen={seen} active={}", c.ivarint()?);
            }
            OP_UNCONSUMER => {
                out.push_str("UNCONSUMER ");
                push_text(out, c.bytes()?);
                out.push(' ');
                push_text(out, c.bytes()?);
            }
            OP_CLAIM => {
                out.push_str("CLAIM ");
                push_text(out, c.bytes()?);
                out.push(' ');
                push_text(out, c.bytes()?);
                let n = count(&mut c, 4)?;
                for _ in 0..n {
                    let id = StreamId::read(&mut c)?;
                    let time = c.ivarint()?;
                    let _ = write!(out, " {id}@{time}x{}", c.uvarint()?);
                }
            }
            OP_ACK => {
                out.push_str("ACK ");
                push_text(out, c.bytes()?);
                for id in ids(&mut c)? {
                    let _ = write!(out, " {id}");
                }
            }
            op => return Err(DecodeError::UnknownOp { op, at }),
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    fn id(ms: u64, seq: u64) -> StreamId {
        StreamId::new(ms, seq)
    }

    fn add(s: &mut Stream, ms: u64, f: &str, v: &str) {
        s.add(id(ms, 0), &[(f.as_bytes(), v.as_bytes())]).unwrap();
    }

    fn all(s: &Stream) -> Vec<u64> {
        let mut out = Vec::new();
        s.scan(StreamId::MIN, StreamId::MAX, false, |e| {
            out.push(e.id.ms);
            true
        });
        out
    }

    fn round_trip(s: &Stream) -> Stream {
        let mut buf = Vec::new();
        s.encode(&mut buf);
        let mut c = Cursor::new(&buf);
        let d = Stream::decode(&mut c).unwrap();
        assert!(c.is_at_end());
        d
    }

    #[test]
    fn nodes_split_at_100_entries_and_scans_cross_them() {
        // Proves entries fill nodes of 100 and ranges read across node boundaries both ways.
        let mut s = Stream::new();
        for ms in 1..=250 {
            add(&mut s, ms, "f", "v");
        }
        assert_eq!(s.node_count(), 3);
        assert_eq!(s.len(), 250);
        let mut got = Vec::new();
        s.scan(id(95, 0), id(105, 0), true, |e| {
            got.push(e.id.ms);
            true
        });
        assert_eq!(got, (95..=105).rev().collect::<Vec<_>>());
        assert_eq!(
            s.get(id(200, 0)).unwrap().fields(),
            vec![(&b"f"[..], &b"v"[..])]
        );
        assert!(s.get(id(200, 1)).is_none());
    }

    #[test]
    fn node_splits_on_bytes_like_redis() {
        // Proves a node closes when Redis's listpack would reach 4096 bytes: 300-byte values
        // give 13 entries per node (each entry takes 307 listpack bytes).
        let mut s = Stream::new();
        let big = "x".repeat(300);
        for ms in 1..=40 {
            add(&mut s, ms, "f", &big);
        }
        let sizes: Vec<u32> = s.nodes.iter().map(|n| n.live).collect();
        assert_eq!(sizes.iter().sum::<u32>(), 40);
        assert!(sizes.iter().all(|&n| n <= sizes[0]));
        assert!(s.nodes[0].lp_bytes() < 4096 + 310);
    }

    #[test]
    fn radix_tree_nodes_match_redis() {
        // Proves the radix-tree-nodes count equals what redis-server 7.0 printed for the same
        // node keys (nodes of 100 entries with IDs i-1, and millisecond IDs 7 ms apart).
        let count = |ids: &[StreamId]| {
            let mut s = Stream::new();
            for &i in ids {
                s.nodes.push_back(Node::new(i, &[(b"f", b"v")]));
            }
            s.radix_tree_nodes()
        };
        let seq: Vec<StreamId> = (0..500).map(|i| id(i * 100 + 1, 1)).collect();
        for (n, want) in [
            (1, 2),
            (2, 6),
            (3, 8),
            (5, 14),
            (10, 26),
            (50, 121),
            (100, 241),
            (500, 1197),
        ] {
            assert_eq!(count(&seq[..n]), want, "{n} nodes");
        }
        let ts: Vec<StreamId> = (0..100)
            .map(|i| id(1_700_000_000_000 + (i * 100 + 1) * 7, 0))
            .collect();
        for (n, want) in [(1, 2), (5, 12), (10, 22), (50, 102), (100, 204)] {
            assert_eq!(count(&ts[..n]), want, "{n} nodes");
        }
        assert_eq!(Stream::new().radix_tree_nodes(), 1);
    }

    #[test]
    fn trims_like_redis_streamtrim() {
        // Proves approximate trims remove whole nodes only, exact trims leave tombstones,
        // and LIMIT counts whole nodes.
        let mut s = Stream::new();
        for ms in 1..=250 {
            add(&mut s, ms, "f", "v");
        }
        assert_eq!(s.trim(Trim::MaxLen(120), true, 0), 100);
        assert_eq!(s.len(), 150);
        assert_eq!(s.first_id, id(101, 0));
        assert_eq!(s.trim(Trim::MaxLen(120), true, 0), 0);
        assert_eq!(s.trim(Trim::MaxLen(120), false, 0), 30);
        assert_eq!(s.len(), 120);
        assert_eq!(s.node_count(), 2);
        assert_eq!(all(&s)[0], 131);
        assert_eq!(s.trim(Trim::MinId(id(205, 0)), true, 10), 0);
        assert_eq!(s.trim(Trim::MinId(id(205, 0)), false, 0), 74);
        assert_eq!(all(&s)[0], 205);
    }

    #[test]
    fn delete_keeps_tombstones_and_drops_empty_nodes() {
        // Proves XDEL tombstones an entry, updates first/max-deleted IDs and frees a node
        // whose last live entry goes.
        let mut s = Stream::new();
        for ms in 1..=3 {
            add(&mut s, ms, "f", "v");
        }
        assert!(s.delete(id(1, 0)));
        assert!(!s.delete(id(1, 0)));
        assert_eq!(s.first_id, id(2, 0));
        assert_eq!(s.max_deleted, id(1, 0));
        assert!(s.delete(id(2, 0)) && s.delete(id(3, 0)));
        assert_eq!(s.node_count(), 0);
        assert_eq!(s.len(), 0);
        assert_eq!(s.first_id, StreamId::MIN);
        assert_eq!(s.add(id(3, 0), &[(b"f", b"v")]), Err(AddError::NotGreater));
    }

    #[test]
    fn value_encoding_round_trips_with_groups_and_tombstones() {
        // Proves the snapshot encoding keeps nodes, tombstones, groups, consumers and
        // pending entries exactly.
        let mut s = Stream::new();
        for ms in 1..=150 {
            s.add(
                id(ms, 0),
                &[(b"a", b"1"), (b"b", ms.to_string().as_bytes())],
            )
            .unwrap();
        }
        s.add(id(151, 0), &[(b"other", b"x")]).unwrap();
        s.delete(id(7, 0));
        s.trim(Trim::MaxLen(140), false, 0);
        let mut g = Group::new(id(20, 0), 20);
        g.claim(id(15, 0), b"alice", 1000, 2);
        g.claim(id(16, 0), b"bob", 1001, 1);
        g.consumer_mut(b"carol", 5);
        s.groups.insert(Bytes::from_static(b"g"), g);
        let d = round_trip(&s);
        assert_eq!(d, s);
        assert_eq!(
            d.get(id(151, 0)).unwrap().fields(),
            vec![(&b"other"[..], &b"x"[..])]
        );
    }

    #[test]
    fn bodies_replay_to_the_same_stream() {
        // Proves every op replays to the state the writer produced.
        let mut s = Stream::new();
        let mut body = Body::new();
        for ms in 1..=5 {
            add(&mut s, ms, "f", "v");
            body.add(id(ms, 0), &[(b"f", b"v")]);
        }
        s.delete(id(2, 0));
        body.del(&[id(2, 0)]);
        s.trim_before(id(2, 0));
        body.trim(id(2, 0));
        s.groups
            .insert(Bytes::from_static(b"g"), Group::new(id(3, 0), 3));
        body.group(b"g", id(3, 0), 3);
        let g = s.groups.get_mut(&b"g"[..]).unwrap();
        g.claim(id(3, 0), b"c", 77, 1);
        body.claim(b"g", b"c", &[(id(3, 0), 77, 1)]);
        g.consumer_mut(b"c", 0).active_time = 77;
        g.consumer_mut(b"c", 0).seen_time = 77;
        body.consumer(b"g", b"c", 77, 77);
        let mut v = None;
        if let Replayed::Created(x) = replay(None, body.bytes()).unwrap() {
            v = Some(x);
        }
        assert_eq!(v, Some(Value::Stream(Box::new(s))));
        let mut text = String::new();
        describe(body.bytes(), &mut text).unwrap();
        assert!(text.contains("ADD 1-0 \"f\"=\"v\"; "), "{text}");
        assert!(text.contains("CLAIM \"g\" \"c\" 3-0@77x1"), "{text}");
    }

    #[test]
    fn read_counts_follow_redis() {
        // Proves the entries-read estimate and group lag follow Redis's rules.
        let mut s = Stream::new();
        for ms in 1..=5 {
            add(&mut s, ms, "f", "v");
        }
        assert_eq!(s.estimate_read_count(id(5, 0)), Some(5));
        assert_eq!(s.estimate_read_count(id(1, 0)), Some(1));
        assert_eq!(s.estimate_read_count(id(0, 5)), Some(0));
        assert_eq!(s.estimate_read_count(id(3, 0)), None);
        assert_eq!(s.estimate_read_count(id(9, 0)), None);
        let mut g = Group::new(StreamId::MIN, -1);
        assert_eq!(s.group_lag(&g), Some(5));
        s.advance_group(&mut g, id(1, 0));
        assert_eq!(g.entries_read, 1);
        assert_eq!(s.group_lag(&g), Some(4));
        s.delete(id(3, 0));
        assert_eq!(s.group_lag(&g), None);
        s.advance_group(&mut g, id(2, 0));
        assert_eq!(g.entries_read, -1);
    }

    proptest::proptest! {
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let _ = Stream::decode(&mut Cursor::new(&bytes));
            let _ = replay(None, &bytes);
            let mut out = String::new();
            let _ = describe(&bytes, &mut out);
        }
    }
}
