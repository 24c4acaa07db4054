//! Hashes: field -> value maps.
//!
//! Stored as an insertion-ordered map ([`indexmap`]): O(1) lookup, O(1) removal by swapping
//! the last entry into the hole, and O(1) access by position, which HRANDFIELD and HSCAN use.
//!
//! Effect body (tag 1), a sequence of ops:
//!
//! ```text
//! op 1  SET  n:varint (field:bytes value:bytes)*n   insert or overwrite, in order
//! op 2  DEL  n:varint field:bytes*n                  remove (swap-remove), in order
//! ```

use bytes::Bytes;
use indexmap::IndexMap;

use super::{count, finish, Replayed};
use crate::effect::{put_bytes, put_uvarint, ApplyError, Cursor, DecodeError};
use crate::value::Value;

const OP_SET: u8 = 1;
const OP_DEL: u8 = 2;

type Map = IndexMap<Bytes, Bytes, foldhash::fast::RandomState>;

/// A hash value.
#[derive(Debug, Clone, Default)]
pub struct Hash {
    map: Map,
}

impl PartialEq for Hash {
    /// Equal when the same fields hold the same values in the same order.
    fn eq(&self, other: &Self) -> bool {
        self.map.len() == other.map.len() && self.map.iter().eq(other.map.iter())
    }
}

impl Hash {
    /// An empty hash.
    pub fn new() -> Hash {
        Hash::default()
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<&Bytes> {
        self.map.get(field)
    }

    /// Sets `field`; true when the field is new.
    pub fn set(&mut self, field: &[u8], value: Bytes) -> bool {
        match self.map.get_mut(field) {
            Some(v) => {
                *v = value;
                false
            }
            None => {
                self.map.insert(Bytes::copy_from_slice(field), value);
                true
            }
        }
    }

    /// Removes `field`; true when it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        self.map.swap_remove(field).is_some()
    }

    /// Fields and values in iteration order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&Bytes, &Bytes)> {
        self.map.iter()
    }

    /// The entry at `i` in iteration order.
    pub fn get_index(&self, i: usize) -> Option<(&Bytes, &Bytes)> {
        self.map.get_index(i)
    }

    /// The name OBJECT ENCODING reports (Redis 7: listpack up to 128 fields of at most 64
    /// bytes, else hashtable).
    pub fn encoding(&self) -> &'static str {
        if self.map.len() <= 128 && self.map.iter().all(|(f, v)| f.len() <= 64 && v.len() <= 64) {
            "listpack"
        } else {
            "hashtable"
        }
    }

    /// Approximate heap bytes.
    pub fn memory_bytes(&self) -> usize {
        let per = std::mem::size_of::<(u64, Bytes, Bytes)>() + 9;
        self.map.capacity() * per
            + self
                .map
                .iter()
                .map(|(f, v)| f.len() + v.len())
                .sum::<usize>()
    }

    /// Appends the value encoding (without the tag).
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_uvarint(out, self.map.len() as u64);
        for (f, v) in &self.map {
            put_bytes(out, f);
            put_bytes(out, v);
        }
    }

    /// Decodes the value encoding (after the tag). Duplicate fields are an error.
    pub fn decode(c: &mut Cursor<'_>) -> Result<Hash, DecodeError> {
        let n = count(c, 2)?;
        let mut map = Map::with_capacity_and_hasher(n, Default::default());
        for _ in 0..n {
            let at = c.pos();
            let f = Bytes::copy_from_slice(c.bytes()?);
            let v = Bytes::copy_from_slice(c.bytes()?);
            if map.insert(f, v).is_some() {
                return Err(DecodeError::Invalid {
                    what: "duplicate hash field",
                    at,
                });
            }
        }
        Ok(Hash { map })
    }
}

/// Builds a hash effect body.
#[derive(Debug, Default)]
pub struct Body {
    buf: Vec<u8>,
}

impl Body {
    /// An empty body.
    pub fn new() -> Body {
        Body::default()
    }

    /// The encoded body.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Whether no op was added.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Fields set to values.
    pub fn set<'a>(&mut self, pairs: impl ExactSizeIterator<Item = (&'a [u8], &'a [u8])>) {
        self.buf.push(OP_SET);
        put_uvarint(&mut self.buf, pairs.len() as u64);
        for (f, v) in pairs {
            put_bytes(&mut self.buf, f);
            put_bytes(&mut self.buf, v);
        }
    }

    /// Fields removed.
    pub fn del<'a>(&mut self, fields: impl ExactSizeIterator<Item = &'a [u8]>) {
        self.buf.push(OP_DEL);
        put_uvarint(&mut self.buf, fields.len() as u64);
        for f in fields {
            put_bytes(&mut self.buf, f);
        }
    }
}

/// Replays a hash effect body.
pub fn replay(existing: Option<&mut Value>, body: &[u8]) -> Result<Replayed, ApplyError> {
    let mut created = None;
    let h: &mut Hash = match existing {
        Some(Value::Hash(h)) => h,
        Some(_) => return Err(ApplyError::WrongType),
        None => created.insert(Hash::new()),
    };
    let mut c = Cursor::new(body);
    while !c.is_at_end() {
        let at = c.pos();
        match c.u8()? {
            OP_SET => {
                let n = count(&mut c, 2)?;
                for _ in 0..n {
                    let f = c.bytes()?;
                    let v = Bytes::copy_from_slice(c.bytes()?);
                    h.set(f, v);
                }
            }
            OP_DEL => {
                let n = count(&mut c, 1)?;
                for _ in 0..n {
                    h.remove(c.bytes()?);
                }
            }
            op => return Err(DecodeError::UnknownOp { op, at }.into()),
        }
    }
    Ok(finish(
        h.is_empty(),
        created.map(|v| Value::Hash(Box::new(v))),
    ))
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
