//! Effects: what a write did, as a log record that replays to the same state anywhere.
//!
//! A write command runs under the keyspace's single writer and records each change it makes
//! as an *effect*: `SET k v EX 10` becomes "set `k` to `v`, expiring at absolute time T",
//! `INCRBYFLOAT` becomes the `Set` of the value it produced, a key found expired by a write
//! becomes a `Del`. All effects of one command (and later of one transaction or script) form
//! one log record, so replay applies all of them or none. Replay never reads the clock or a
//! random source: the record says everything.
//!
//! Record payload (`kind` = [`KIND_EFFECTS`]; integers are LEB128 varints unless noted,
//! `i64`s zig-zag encoded, byte strings are a varint length then the bytes):
//!
//! ```text
//! payload  := origin:varint  hlc:varint  effect+
//! effect   := op:u8 fields
//!   op 1  SET        db  key:bytes  expire_at:i64  value
//!   op 2  DEL        db  key:bytes
//!   op 3  EXPIRE     db  key:bytes  at:i64          (0 = persist)
//!   op 4  APPEND     db  key:bytes  suffix:bytes
//!   op 5  SETRANGE   db  key:bytes  offset:varint  data:bytes
//!   op 6  FLUSHDB    db
//!   op 7  FLUSHALL
//!   op 8  NS_CREATE  id:varint  name:bytes
//!   op 9  NS_DROP    name:bytes
//!   op 10 COLL       db  key:bytes  tag:u8  body:bytes    (a collection change)
//!   op 11 FUNC_LOAD  library:bytes  code:bytes        (FUNCTION LOAD, replacing)
//!   op 12 FUNC_DEL   library:bytes                    (FUNCTION DELETE)
//!   op 13 FUNC_FLUSH                                  (FUNCTION FLUSH)
//! value    := tag:u8 ...            (tags and layouts: crate::types)
//!   tag 0  string    raw:u8 (0|1)  data:bytes
//! ```
//!
//! A `COLL` effect carries a change to a hash, list, set, sorted set or stream; the body's layout
//! belongs to the type's module under [`crate::types`]. Replaying it on a key of another type
//! is an error, and a body that empties the collection deletes the key.
//!
//! `origin` is the node that made the change (0 = this node) and `hlc` a hybrid logical
//! clock stamp (milliseconds << 16 | counter), both for replication. A record kind, effect op
//! or value tag this binary does not know is an error that stops replay with its LSN: a newer
//! Vole wrote it, and guessing would corrupt data.

use bytes::Bytes;

use crate::keyspace::{Item, Keyspace, NamespaceError, Writer};
use crate::types::Replayed;
use crate::value::{StrBuf, Value, ValueRef};

/// Record kind of a batch of effects applied atomically.
pub const KIND_EFFECTS: u8 = 1;

const OP_SET: u8 = 1;
const OP_DEL: u8 = 2;
const OP_EXPIRE: u8 = 3;
const OP_APPEND: u8 = 4;
const OP_SETRANGE: u8 = 5;
const OP_FLUSHDB: u8 = 6;
const OP_FLUSHALL: u8 = 7;
const OP_NS_CREATE: u8 = 8;
const OP_NS_DROP: u8 = 9;
const OP_COLL: u8 = 10;
const OP_FUNC_LOAD: u8 = 11;
const OP_FUNC_DEL: u8 = 12;
const OP_FUNC_FLUSH: u8 = 13;

use crate::types::{TAG_HASH, TAG_LIST, TAG_SET, TAG_STREAM, TAG_STRING, TAG_ZSET};

/// Where the writer's records go: the WAL, through the server.
pub trait EffectLog: Send + Sync {
    /// Appends one record and returns its LSN. Errors (with a reason for the operator) when
    /// the log can no longer accept writes.
    fn append(&self, kind: u8, payload: &[u8]) -> Result<u64, String>;
}

// ---- encoding ------------------------------------------------------------------------------

/// Appends `v` as a LEB128 varint.
pub fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends `v` zig-zag encoded as a varint.
pub fn put_ivarint(out: &mut Vec<u8>, v: i64) {
    put_uvarint(out, ((v << 1) ^ (v >> 63)) as u64);
}

/// Appends a length-prefixed byte string.
pub fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_uvarint(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// A decoded value with a string left in the input as `Ok((bytes, raw))` and any other type
/// decoded as `Err(value)` (see [`Cursor::value_ref`]).
pub type StrOrValue<'a> = Result<(&'a [u8], bool), Value>;

/// The owned form of a [`StrOrValue`] (a string is copied).
pub fn owned_value(v: StrOrValue<'_>) -> Value {
    match v {
        Ok((data, raw)) => Value::Str {
            data: StrBuf::new(data),
            raw,
        },
        Err(v) => v,
    }
}

/// Appends a string value.
fn put_string(out: &mut Vec<u8>, data: &[u8], raw: bool) {
    out.push(TAG_STRING);
    out.push(u8::from(raw));
    put_bytes(out, data);
}

/// Appends a value.
pub fn put_value(out: &mut Vec<u8>, v: ValueRef<'_>) {
    let v = match v {
        ValueRef::Str { data, raw } => return put_string(out, data, raw),
        ValueRef::Coll(v) => v,
    };
    match v {
        Value::Str { data, raw } => put_string(out, data, *raw),
        Value::Hash(h) => {
            out.push(TAG_HASH);
            h.encode(out);
        }
        Value::List(l) => {
            out.push(TAG_LIST);
            l.encode(out);
        }
        Value::Set(s) => {
            out.push(TAG_SET);
            s.encode(out);
        }
        Value::ZSet(z) => {
            out.push(TAG_ZSET);
            z.encode(out);
        }
        Value::Stream(st) => {
            out.push(TAG_STREAM);
            st.encode(out);
        }
    }
}

/// Builds one record's payload. The [`Writer`] owns one and fills it as a command runs.
#[derive(Debug, Default)]
pub struct RecordBuf {
    buf: Vec<u8>,
    effects: u32,
    /// The keys of the effects, kept while some key is watched or key events are wanted.
    touched: Option<Vec<Change>>,
}

/// A key an effect changed, for WATCH and keyspace notifications (not logged as such).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// What happened: one of the `CHANGE_*` kinds.
    pub kind: u8,
    /// Namespace id.
    pub db: u32,
    /// The key.
    pub key: Bytes,
}

/// The key got a whole new value (possibly with an expiry).
pub const CHANGE_SET: u8 = OP_SET;
/// The key was deleted (by the command, or because it became empty).
pub const CHANGE_DEL: u8 = OP_DEL;
/// The key's expiry changed (`at` 0: persisted).
pub const CHANGE_EXPIRE: u8 = OP_EXPIRE;
/// Bytes were appended to the string.
pub const CHANGE_APPEND: u8 = OP_APPEND;
/// Part of the string was overwritten.
pub const CHANGE_SETRANGE: u8 = OP_SETRANGE;
/// The collection changed in place.
pub const CHANGE_COLL: u8 = OP_COLL;
/// The key was deleted because its time had come (logged as a delete).
pub const CHANGE_EXPIRED: u8 = 100;

impl RecordBuf {
    /// Whether no effect was added since the last [`RecordBuf::reset`].
    pub fn is_empty(&self) -> bool {
        self.effects == 0
    }

    /// Number of effects added.
    pub fn len(&self) -> u32 {
        self.effects
    }

    /// The payload so far.
    pub fn payload(&self) -> &[u8] {
        &self.buf
    }

    /// Starts a new record stamped with `origin` and `hlc`.
    pub fn reset(&mut self, origin: u64, hlc: u64) {
        self.buf.clear();
        // Keep big buffers from staying allocated after one huge write.
        if self.buf.capacity() > 1 << 20 {
            self.buf = Vec::new();
        }
        self.effects = 0;
        put_uvarint(&mut self.buf, origin);
        put_uvarint(&mut self.buf, hlc);
    }

    /// Keeps (or stops keeping) the keys of the effects added from now on.
    pub(crate) fn track_keys(&mut self, on: bool) {
        self.touched = on.then(Vec::new);
    }

    /// The keys changed since the last call (tracking goes on).
    pub(crate) fn take_touched(&mut self) -> Vec<Change> {
        self.touched
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// An effect on one key: op, namespace, key.
    fn key_op(&mut self, op: u8, db: u32, key: &[u8]) {
        self.op(op, Some(db));
        put_bytes(&mut self.buf, key);
        if let Some(t) = &mut self.touched {
            t.push(Change {
                kind: op,
                db,
                key: Bytes::copy_from_slice(key),
            });
        }
    }

    /// `key` was deleted because it expired: logged as a delete, reported as expired.
    pub fn del_expired(&mut self, db: u32, key: &[u8]) {
        self.del(db, key);
        if let Some(c) = self.touched.as_mut().and_then(|t| t.last_mut()) {
            c.kind = CHANGE_EXPIRED;
        }
    }

    fn op(&mut self, op: u8, db: Option<u32>) {
        self.effects += 1;
        self.buf.push(op);
        if let Some(db) = db {
            put_uvarint(&mut self.buf, u64::from(db));
        }
    }

    /// `key` now holds `value`, expiring at `expire_at` (0 = never).
    pub fn set(&mut self, db: u32, key: &[u8], value: ValueRef<'_>, expire_at: i64) {
        self.key_op(OP_SET, db, key);
        put_ivarint(&mut self.buf, expire_at);
        put_value(&mut self.buf, value);
    }

    /// `key` was deleted.
    pub fn del(&mut self, db: u32, key: &[u8]) {
        self.key_op(OP_DEL, db, key);
    }

    /// `key` now expires at `at` (0 = persists).
    pub fn expire(&mut self, db: u32, key: &[u8], at: i64) {
        self.key_op(OP_EXPIRE, db, key);
        put_ivarint(&mut self.buf, at);
    }

    /// `suffix` was appended to the string at `key`.
    pub fn append(&mut self, db: u32, key: &[u8], suffix: &[u8]) {
        self.key_op(OP_APPEND, db, key);
        put_bytes(&mut self.buf, suffix);
    }

    /// `data` was written at `offset` into the string at `key` (zero-padded).
    pub fn setrange(&mut self, db: u32, key: &[u8], offset: u64, data: &[u8]) {
        self.key_op(OP_SETRANGE, db, key);
        put_uvarint(&mut self.buf, offset);
        put_bytes(&mut self.buf, data);
    }

    /// Every key of `db` was deleted.
    pub fn flushdb(&mut self, db: u32) {
        self.op(OP_FLUSHDB, Some(db));
    }

    /// Every key of every namespace was deleted.
    pub fn flushall(&mut self) {
        self.op(OP_FLUSHALL, None);
    }

    /// Namespace `name` was created with id `id`.
    pub fn ns_create(&mut self, id: u32, name: &str) {
        self.op(OP_NS_CREATE, None);
        put_uvarint(&mut self.buf, u64::from(id));
        put_bytes(&mut self.buf, name.as_bytes());
    }

    /// Namespace `name` was dropped.
    pub fn ns_drop(&mut self, name: &str) {
        self.op(OP_NS_DROP, None);
        put_bytes(&mut self.buf, name.as_bytes());
    }

    /// Function library `name` now has `code` (FUNCTION LOAD).
    pub fn func_load(&mut self, name: &str, code: &[u8]) {
        self.op(OP_FUNC_LOAD, None);
        put_bytes(&mut self.buf, name.as_bytes());
        put_bytes(&mut self.buf, code);
    }

    /// Function library `name` was deleted.
    pub fn func_del(&mut self, name: &str) {
        self.op(OP_FUNC_DEL, None);
        put_bytes(&mut self.buf, name.as_bytes());
    }

    /// Every function library was deleted.
    pub fn func_flush(&mut self) {
        self.op(OP_FUNC_FLUSH, None);
    }

    /// The collection of type `tag` at `key` changed as `body` says (see [`crate::types`]).
    pub fn coll(&mut self, db: u32, key: &[u8], tag: u8, body: &[u8]) {
        self.key_op(OP_COLL, db, key);
        self.buf.push(tag);
        put_bytes(&mut self.buf, body);
    }
}

// ---- decoding ------------------------------------------------------------------------------

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes end inside a field.
    #[error("truncated at byte {0}")]
    Truncated(usize),
    /// A varint longer than 64 bits.
    #[error("bad varint at byte {0}")]
    BadVarint(usize),
    /// An effect op this binary does not know (written by a newer Vole?).
    #[error("unknown effect op {op} at byte {at} (written by a newer Vole?)")]
    UnknownOp {
        /// The op byte.
        op: u8,
        /// Its offset in the payload.
        at: usize,
    },
    /// A value tag this binary does not know.
    #[error("unknown value tag {tag} at byte {at} (written by a newer Vole?)")]
    UnknownTag {
        /// The tag byte.
        tag: u8,
        /// Its offset.
        at: usize,
    },
    /// A field out of its range (a db id above u32, a name that is not UTF-8, ...).
    #[error("invalid {what} at byte {at}")]
    Invalid {
        /// Which field.
        what: &'static str,
        /// Its offset.
        at: usize,
    },
    /// A record kind this binary does not know.
    #[error("unknown record kind {0} (written by a newer Vole?)")]
    UnknownKind(u8),
}

/// A cursor over encoded bytes. Every read checks bounds.
#[derive(Clone)]
pub struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }

    /// Whether every byte was consumed.
    pub fn is_at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Reads a little-endian f64 (8 bytes).
    pub fn f64(&mut self) -> Result<f64, DecodeError> {
        let at = self.pos;
        let end = at.checked_add(8).filter(|e| *e <= self.buf.len());
        let Some(end) = end else {
            return Err(DecodeError::Truncated(self.buf.len()));
        };
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.buf[at..end]);
        self.pos = end;
        Ok(f64::from_le_bytes(b))
    }

    /// Current offset.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// One byte.
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or(DecodeError::Truncated(self.pos))?;
        self.pos += 1;
        Ok(b)
    }

    /// A LEB128 varint.
    pub fn uvarint(&mut self) -> Result<u64, DecodeError> {
        let start = self.pos;
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            let part = u64::from(b & 0x7f);
            if shift == 63 && part > 1 {
                return Err(DecodeError::BadVarint(start));
            }
            v |= part << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(DecodeError::BadVarint(start))
    }

    /// A zig-zag varint.
    pub fn ivarint(&mut self) -> Result<i64, DecodeError> {
        let u = self.uvarint()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    /// A varint that must fit a u32.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        let at = self.pos;
        u32::try_from(self.uvarint()?).map_err(|_| DecodeError::Invalid { what, at })
    }

    /// A length-prefixed byte string, borrowed.
    pub fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let at = self.pos;
        let len = self.uvarint()?;
        let len = usize::try_from(len).map_err(|_| DecodeError::Truncated(at))?;
        let end = self
            .pos
            .checked_add(len)
            .filter(|&e| e <= self.buf.len())
            .ok_or(DecodeError::Truncated(at))?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    /// A UTF-8 name.
    pub fn name(&mut self) -> Result<&'a str, DecodeError> {
        let at = self.pos;
        std::str::from_utf8(self.bytes()?).map_err(|_| DecodeError::Invalid { what: "name", at })
    }

    /// A value.
    pub fn value(&mut self) -> Result<Value, DecodeError> {
        Ok(owned_value(self.value_ref()?))
    }

    /// A value, with a string left in the input as `Ok((bytes, raw))` (no copy) and any other
    /// type decoded as `Err(value)`.
    pub fn value_ref(&mut self) -> Result<StrOrValue<'a>, DecodeError> {
        let at = self.pos;
        let v = match self.u8()? {
            TAG_STRING => {
                let raw_at = self.pos;
                let raw = match self.u8()? {
                    0 => false,
                    1 => true,
                    _ => {
                        return Err(DecodeError::Invalid {
                            what: "string flag",
                            at: raw_at,
                        })
                    }
                };
                return Ok(Ok((self.bytes()?, raw)));
            }
            TAG_HASH => Value::Hash(crate::types::hash::Hash::decode(self)?),
            TAG_LIST => Value::List(Box::new(crate::types::list::List::decode(self)?)),
            TAG_SET => Value::Set(Box::new(crate::types::set::Set::decode(self)?)),
            TAG_ZSET => Value::ZSet(crate::types::zset::ZSet::decode(self)?),
            TAG_STREAM => Value::Stream(Box::new(crate::types::stream::Stream::decode(self)?)),
            tag => return Err(DecodeError::UnknownTag { tag, at }),
        };
        Ok(Err(v))
    }
}

/// One decoded effect.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect<'a> {
    /// See [`RecordBuf::set`].
    Set {
        /// Namespace id.
        db: u32,
        /// Key.
        key: &'a [u8],
        /// Value.
        value: Value,
        /// Absolute expiry (0 = none).
        expire_at: i64,
    },
    /// See [`RecordBuf::del`].
    Del {
        /// Namespace id.
        db: u32,
        /// Key.
        key: &'a [u8],
    },
    /// See [`RecordBuf::expire`].
    Expire {
        /// Namespace id.
        db: u32,
        /// Key.
        key: &'a [u8],
        /// Absolute expiry (0 = persist).
        at: i64,
    },
    /// See [`RecordBuf::append`].
    Append {
        /// Namespace id.
        db: u32,
        /// Key.
        key: &'a [u8],
        /// Appended bytes.
        suffix: &'a [u8],
    },
    /// See [`RecordBuf::setrange`].
    SetRange {
        /// Namespace id.
        db: u32,
        /// Key.
        key: &'a [u8],
        /// Offset.
        offset: u64,
        /// Written bytes.
        data: &'a [u8],
    },
    /// See [`RecordBuf::flushdb`].
    FlushDb {
        /// Namespace id.
        db: u32,
    },
    /// See [`RecordBuf::flushall`].
    FlushAll,
    /// See [`RecordBuf::ns_create`].
    NsCreate {
        /// Namespace id.
        id: u32,
        /// Name.
        name: &'a str,
    },
    /// See [`RecordBuf::ns_drop`].
    NsDrop {
        /// Name.
        name: &'a str,
    },
    /// See [`RecordBuf::func_load`].
    FuncLoad {
        /// Library name.
        name: &'a str,
        /// Its code.
        code: &'a [u8],
    },
    /// See [`RecordBuf::func_del`].
    FuncDel {
        /// Library name.
        name: &'a str,
    },
    /// See [`RecordBuf::func_flush`].
    FuncFlush,
    /// See [`RecordBuf::coll`].
    Coll {
        /// Namespace id.
        db: u32,
        /// Key.
        key: &'a [u8],
        /// Value tag of the collection type.
        tag: u8,
        /// The type's op list.
        body: &'a [u8],
    },
}

/// Re-encoding, for tools and the fuzz round trip.
impl Effect<'_> {
    /// Appends this effect to `buf`.
    pub fn encode_into(&self, buf: &mut RecordBuf) {
        match self {
            Effect::Set {
                db,
                key,
                value,
                expire_at,
            } => buf.set(*db, key, value.as_ref(), *expire_at),
            Effect::Del { db, key } => buf.del(*db, key),
            Effect::Expire { db, key, at } => buf.expire(*db, key, *at),
            Effect::Append { db, key, suffix } => buf.append(*db, key, suffix),
            Effect::SetRange {
                db,
                key,
                offset,
                data,
            } => buf.setrange(*db, key, *offset, data),
            Effect::FlushDb { db } => buf.flushdb(*db),
            Effect::FlushAll => buf.flushall(),
            Effect::NsCreate { id, name } => buf.ns_create(*id, name),
            Effect::NsDrop { name } => buf.ns_drop(name),
            Effect::FuncLoad { name, code } => buf.func_load(name, code),
            Effect::FuncDel { name } => buf.func_del(name),
            Effect::FuncFlush => buf.func_flush(),
            Effect::Coll { db, key, tag, body } => buf.coll(*db, key, *tag, body),
        }
    }
}

/// A decoded record: who made it, when, and its effects in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Record<'a> {
    /// Origin node (0 = this node).
    pub origin: u64,
    /// Hybrid logical clock stamp.
    pub hlc: u64,
    /// The effects, applied together.
    pub effects: Vec<Effect<'a>>,
}

/// Decodes one record of `kind`. Total: never panics, whatever the bytes.
pub fn decode_record(kind: u8, payload: &[u8]) -> Result<Record<'_>, DecodeError> {
    if kind != KIND_EFFECTS {
        return Err(DecodeError::UnknownKind(kind));
    }
    let mut c = Cursor::new(payload);
    let origin = c.uvarint()?;
    let hlc = c.uvarint()?;
    let mut effects = Vec::new();
    while !c.is_at_end() {
        let at = c.pos();
        let e = match c.u8()? {
            OP_SET => {
                let db = c.u32("db")?;
                let key = c.bytes()?;
                let expire_at = c.ivarint()?;
                let value = c.value()?;
                Effect::Set {
                    db,
                    key,
                    value,
                    expire_at,
                }
            }
            OP_DEL => Effect::Del {
                db: c.u32("db")?,
                key: c.bytes()?,
            },
            OP_EXPIRE => Effect::Expire {
                db: c.u32("db")?,
                key: c.bytes()?,
                at: c.ivarint()?,
            },
            OP_APPEND => Effect::Append {
                db: c.u32("db")?,
                key: c.bytes()?,
                suffix: c.bytes()?,
            },
            OP_SETRANGE => Effect::SetRange {
                db: c.u32("db")?,
                key: c.bytes()?,
                offset: c.uvarint()?,
                data: c.bytes()?,
            },
            OP_FLUSHDB => Effect::FlushDb { db: c.u32("db")? },
            OP_FLUSHALL => Effect::FlushAll,
            OP_NS_CREATE => Effect::NsCreate {
                id: c.u32("namespace id")?,
                name: c.name()?,
            },
            OP_NS_DROP => Effect::NsDrop { name: c.name()? },
            OP_FUNC_LOAD => Effect::FuncLoad {
                name: c.name()?,
                code: c.bytes()?,
            },
            OP_FUNC_DEL => Effect::FuncDel { name: c.name()? },
            OP_FUNC_FLUSH => Effect::FuncFlush,
            OP_COLL => {
                let db = c.u32("db")?;
                let key = c.bytes()?;
                let tag_at = c.pos();
                let tag = c.u8()?;
                if !crate::types::is_collection_tag(tag) {
                    return Err(DecodeError::UnknownTag { tag, at: tag_at });
                }
                Effect::Coll {
                    db,
                    key,
                    tag,
                    body: c.bytes()?,
                }
            }
            op => return Err(DecodeError::UnknownOp { op, at }),
        };
        effects.push(e);
    }
    if effects.is_empty() {
        return Err(DecodeError::Truncated(payload.len()));
    }
    Ok(Record {
        origin,
        hlc,
        effects,
    })
}

// ---- applying ------------------------------------------------------------------------------

/// Why a decoded record could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// The bytes are not a record this binary understands.
    #[error("{0}")]
    Decode(#[from] DecodeError),
    /// An effect names a namespace that does not exist at this point of the log.
    #[error("effect names namespace id {0}, which does not exist")]
    NoSuchNamespace(u32),
    /// A namespace effect that contradicts the current state.
    #[error("namespace effect refused: {0}")]
    Namespace(NamespaceError),
    /// An effect on a key holding another type: the log does not match the state.
    #[error("effect on a key that holds another type")]
    WrongType,
    /// A SETRANGE effect past any sane string size.
    #[error("SETRANGE effect at offset {0} is out of range")]
    BadOffset(u64),
}

/// Decodes a record and applies all of its effects under one writer, or none of them when
/// it does not decode. Replay reads no clock: expiry times come from the record, and a key
/// is never treated as expired while applying (the log holds the deletes the writer made).
///
/// The writer passed in must have logging switched off ([`Keyspace::replay_writer`]), so
/// applying does not log the record a second time.
pub fn apply_record(ks: &Keyspace, kind: u8, payload: &[u8]) -> Result<(), ApplyError> {
    let record = decode_record(kind, payload)?;
    let mut w = ks.replay_writer();
    for e in &record.effects {
        apply_effect(ks, &mut w, e)?;
    }
    Ok(())
}

/// "Now" while replaying: earlier than any expiry time, so nothing reads as expired.
const REPLAY_NOW: i64 = i64::MIN;

fn apply_effect(ks: &Keyspace, w: &mut Writer<'_>, e: &Effect<'_>) -> Result<(), ApplyError> {
    let db_of = |id: u32| ks.db_by_id(id).ok_or(ApplyError::NoSuchNamespace(id));
    match e {
        Effect::Set {
            db,
            key,
            value,
            expire_at,
        } => {
            let db = db_of(*db)?;
            let k = db.locate(key);
            let item = Item::with_expiry(value.clone(), *expire_at, 0);
            db.write(k.shard, w).insert(&k, item, w);
        }
        Effect::Del { db, key } => {
            let db = db_of(*db)?;
            let k = db.locate(key);
            db.write(k.shard, w).remove(&k, w);
        }
        Effect::Expire { db, key, at } => {
            let db = db_of(*db)?;
            let k = db.locate(key);
            db.write(k.shard, w).set_expire(&k, *at, w);
        }
        Effect::Append { db, key, suffix } => {
            let db = db_of(*db)?;
            let k = db.locate(key);
            let mut sh = db.write(k.shard, w);
            match sh.get_mut(&k, REPLAY_NOW, w) {
                Some(item) => {
                    let old = item.as_str().ok_or(ApplyError::WrongType)?.len();
                    let buf = item.resize_str(old + suffix.len(), true);
                    buf[old..].copy_from_slice(suffix);
                }
                None => {
                    sh.insert(&k, Item::new(Value::string(suffix), 0), w);
                }
            }
        }
        Effect::SetRange {
            db,
            key,
            offset,
            data,
        } => {
            let db = db_of(*db)?;
            let k = db.locate(key);
            let off = usize::try_from(*offset)
                .ok()
                .filter(|o| o.checked_add(data.len()).is_some_and(|n| n <= 1 << 32))
                .ok_or(ApplyError::BadOffset(*offset))?;
            let mut sh = db.write(k.shard, w);
            let current = match sh.get_mut(&k, REPLAY_NOW, w) {
                Some(item) => Some(item.as_str().ok_or(ApplyError::WrongType)?.to_vec()),
                None => None,
            };
            let new = crate::cmd::string::setrange_bytes(current.as_deref(), off, data);
            match sh.get_mut(&k, REPLAY_NOW, w) {
                Some(item) => item.replace_value(new),
                None => {
                    sh.insert(&k, Item::new(new, 0), w);
                }
            }
        }
        Effect::FlushDb { db } => {
            db_of(*db)?.clear(w);
        }
        Effect::FlushAll => {
            for db in ks.all_dbs() {
                db.clear(w);
            }
        }
        Effect::NsCreate { id, name } => {
            ks.create_namespace_with_id(name, *id, w)
                .map_err(ApplyError::Namespace)?;
        }
        Effect::NsDrop { name } => {
            ks.drop_namespace_with(name, w)
                .map_err(ApplyError::Namespace)?;
        }
        Effect::FuncLoad { name, code } => {
            ks.function_load(w, name, bytes::Bytes::copy_from_slice(code));
        }
        Effect::FuncDel { name } => {
            ks.function_delete(w, name);
        }
        Effect::FuncFlush => ks.function_flush(w),
        Effect::Coll { db, key, tag, body } => {
            let db = db_of(*db)?;
            let k = db.locate(key);
            let mut sh = db.write(k.shard, w);
            let existing = match sh.get_mut(&k, REPLAY_NOW, w) {
                Some(item) => Some(item.value_mut().ok_or(ApplyError::WrongType)?),
                None => None,
            };
            match crate::types::replay(*tag, existing, body)? {
                Replayed::Changed => {}
                Replayed::Created(v) => {
                    sh.insert(&k, Item::new(v, 0), w);
                }
                Replayed::Emptied => {
                    sh.remove(&k, w);
                }
            }
        }
    }
    Ok(())
}

/// Fuzz entry point: decoding arbitrary bytes never panics, and whatever decodes re-encodes
/// to a record that decodes the same.
pub fn fuzz_one(data: &[u8]) {
    let Some((&kind, payload)) = data.split_first() else {
        return;
    };
    if let Ok(rec) = decode_record(kind, payload) {
        let mut buf = RecordBuf::default();
        buf.reset(rec.origin, rec.hlc);
        for e in &rec.effects {
            e.encode_into(&mut buf);
        }
        let again = decode_record(kind, buf.payload());
        assert_eq!(again.as_ref(), Ok(&rec), "re-encoded record differs");
        // Applying it (twice: on an empty keyspace, then on what the first pass left) must
        // succeed or fail cleanly, never panic: collection bodies are decoded here.
        let ks = Keyspace::new(std::sync::Arc::new(crate::clock::ManualClock::new(0)));
        let _ = apply_record(&ks, kind, payload);
        let _ = apply_record(&ks, kind, payload);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_at_the_edges() {
        // Proves the varint codecs are inverse at boundaries, and overlong input is refused.
        for v in [0u64, 1, 127, 128, 16_383, 16_384, u64::MAX - 1, u64::MAX] {
            let mut b = Vec::new();
            put_uvarint(&mut b, v);
            assert_eq!(Cursor::new(&b).uvarint(), Ok(v));
        }
        for v in [0i64, -1, 1, i64::MIN, i64::MAX, 1_700_000_000_000] {
            let mut b = Vec::new();
            put_ivarint(&mut b, v);
            assert_eq!(Cursor::new(&b).ivarint(), Ok(v));
        }
        assert!(Cursor::new(&[0xff; 11]).uvarint().is_err());
        assert!(Cursor::new(&[0x80]).uvarint().is_err());
    }

    #[test]
    fn every_effect_round_trips() {
        // Proves each op encodes and decodes to itself, in order, within one record.
        let mut b = RecordBuf::default();
        b.reset(7, 123_456);
        b.set(3, b"k", Value::string(b"v").as_ref(), 1_700_000_000_000);
        b.del(0, b"gone");
        b.expire(1, b"t", 0);
        b.append(0, b"s", b"tail");
        b.setrange(0, b"s", 99, b"xy");
        b.flushdb(5);
        b.flushall();
        b.ns_create(16, "staging");
        b.ns_drop("staging");
        b.func_load(
            "lib",
            b"#!lua name=lib\nredis.register_function('f', function() end)",
        );
        b.func_del("lib");
        b.func_flush();
        let rec = decode_record(KIND_EFFECTS, b.payload()).expect("decodes");
        assert_eq!(rec.origin, 7);
        assert_eq!(rec.hlc, 123_456);
        assert_eq!(rec.effects.len(), 12);
        assert_eq!(rec.effects[10], Effect::FuncDel { name: "lib" });
        assert_eq!(rec.effects[11], Effect::FuncFlush);
        let mut again = RecordBuf::default();
        again.reset(7, 123_456);
        rec.effects.iter().for_each(|e| e.encode_into(&mut again));
        assert_eq!(
            again.payload(),
            b.payload(),
            "re-encoding gives the same bytes"
        );
        assert_eq!(
            rec.effects[0],
            Effect::Set {
                db: 3,
                key: b"k",
                value: Value::string(b"v"),
                expire_at: 1_700_000_000_000
            }
        );
        assert_eq!(rec.effects[8], Effect::NsDrop { name: "staging" });
    }

    #[test]
    fn unknown_kinds_ops_and_tags_stop_with_an_error() {
        // Proves a record from a newer binary is refused, not guessed at.
        let mut b = RecordBuf::default();
        b.reset(0, 1);
        b.set(0, b"k", Value::string(b"v").as_ref(), 0);
        assert_eq!(
            decode_record(9, b.payload()),
            Err(DecodeError::UnknownKind(9))
        );
        let mut p = b.payload().to_vec();
        p[2] = 200; // the op byte after origin (1 byte) and hlc (1 byte)
        assert!(matches!(
            decode_record(KIND_EFFECTS, &p),
            Err(DecodeError::UnknownOp { op: 200, .. })
        ));
        let mut p = b.payload().to_vec();
        let tag_at = p.len() - 4; // tag, raw, len, 'v'
        p[tag_at] = 9;
        assert!(matches!(
            decode_record(KIND_EFFECTS, &p),
            Err(DecodeError::UnknownTag { tag: 9, .. })
        ));
    }

    #[test]
    fn truncations_never_panic_and_never_decode_to_more() {
        // Proves every prefix of a record either fails or decodes to a prefix of its effects.
        let mut b = RecordBuf::default();
        b.reset(0, 99);
        b.set(0, b"key", Value::string(b"value").as_ref(), 5);
        b.append(0, b"key", b"more");
        let full = b.payload().to_vec();
        for cut in 0..full.len() {
            fuzz_one(&[&[KIND_EFFECTS][..], &full[..cut]].concat());
            if let Ok(r) = decode_record(KIND_EFFECTS, &full[..cut]) {
                assert!(r.effects.len() < 2);
            }
        }
    }
}
