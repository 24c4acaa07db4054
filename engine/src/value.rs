//! Values and their types. Strings live here; the collection types (hashes, lists, sets,
//! sorted sets) each have a module under [`crate::types`] and are boxed here, so a `Value`
//! stays the size of a string.

use bytes::Bytes;

use crate::types::{hash::Hash, list::List, set::Set, stream::Stream, zset::ZSet};

/// Redis keeps strings up to this length in one allocation ("embstr").
const EMBSTR_MAX_BYTES: usize = 44;

/// A stored value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A binary-safe string. `raw` records that the string was built by APPEND/SETRANGE, which
    /// Redis reports as the "raw" encoding whatever its length.
    Str { data: Bytes, raw: bool },
    /// A hash.
    Hash(Hash),
    /// A list.
    List(Box<List>),
    /// A set.
    Set(Box<Set>),
    /// A sorted set.
    ZSet(ZSet),
    /// A stream.
    Stream(Box<Stream>),
}

impl Value {
    /// A string value from bytes (stored as its own allocation, never a view of a network buffer).
    pub fn string(data: &[u8]) -> Value {
        Value::Str {
            data: Bytes::copy_from_slice(data),
            raw: false,
        }
    }

    /// A string value from an owned buffer.
    pub fn string_owned(data: Vec<u8>) -> Value {
        Value::Str {
            data: Bytes::from(data),
            raw: false,
        }
    }

    /// The bytes of a string value; `None` for other types.
    pub fn as_str(&self) -> Option<&Bytes> {
        match self {
            Value::Str { data, .. } => Some(data),
            _ => None,
        }
    }

    /// The name TYPE answers with.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str { .. } => "string",
            Value::Hash(_) => "hash",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Stream(_) => "stream",
        }
    }

    /// The name OBJECT ENCODING answers with, as Redis 7 would choose it.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str { data, raw } => {
                if !raw && data.len() <= 20 && crate::num::parse_i64(data).is_some() {
                    "int"
                } else if !raw && data.len() <= EMBSTR_MAX_BYTES {
                    "embstr"
                } else {
                    "raw"
                }
            }
            Value::Hash(h) => h.encoding(),
            Value::List(l) => l.encoding(),
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
            Value::Stream(s) => s.encoding(),
        }
    }

    /// Approximate bytes this value occupies, for MEMORY USAGE and INFO memory.
    pub fn memory_bytes(&self) -> usize {
        match self {
            Value::Str { data, .. } => std::mem::size_of::<Value>() + data.len(),
            Value::Hash(h) => std::mem::size_of::<Value>() + h.memory_bytes(),
            Value::List(l) => std::mem::size_of::<Value>() + l.memory_bytes(),
            Value::Set(s) => std::mem::size_of::<Value>() + s.memory_bytes(),
            Value::ZSet(z) => std::mem::size_of::<Value>() + z.memory_bytes(),
            Value::Stream(s) => std::mem::size_of::<Value>() + s.memory_bytes(),
        }
    }

    /// Number of elements of a collection (1 for a string).
    pub fn elements(&self) -> usize {
        match self {
            Value::Str { .. } => 1,
            Value::Hash(h) => h.len(),
            Value::List(l) => l.len(),
            Value::Set(s) => s.len(),
            Value::ZSet(z) => z.len(),
            Value::Stream(s) => s.len() as usize,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_collections_live_inside_the_value() {
        // Hashes and sorted sets sit in the value itself (no box, no extra allocation for a
        // small one) without making any value larger than a string's handle and flag.
        assert_eq!(std::mem::size_of::<Hash>(), 32);
        assert_eq!(std::mem::size_of::<ZSet>(), 32);
        assert_eq!(std::mem::size_of::<Value>(), 40);
    }
}
