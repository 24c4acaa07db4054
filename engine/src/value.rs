//! Values and their types. Strings only so far; hashes, lists, sets, sorted sets and streams
//! join as their issues land, each as one more variant here.

use bytes::Bytes;

/// Redis keeps strings up to this length in one allocation ("embstr").
const EMBSTR_MAX_BYTES: usize = 44;

/// A stored value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A binary-safe string. `raw` records that the string was built by APPEND/SETRANGE, which
    /// Redis reports as the "raw" encoding whatever its length.
    Str { data: Bytes, raw: bool },
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
        }
    }

    /// The name TYPE answers with.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str { .. } => "string",
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
        }
    }

    /// Approximate bytes this value occupies, for MEMORY USAGE and INFO memory.
    pub fn memory_bytes(&self) -> usize {
        match self {
            Value::Str { data, .. } => std::mem::size_of::<Value>() + data.len(),
        }
    }
}
