//! Lists: a ring-buffer deque of elements, O(1) at both ends and by index.
//!
//! Effect body (tag 2), a sequence of ops (indexes are absolute, from the head, 0-based):
//!
//! ```text
//! op 1  PUSH_HEAD  n:varint elem:bytes*n      each pushed at the head in turn (as LPUSH)
//! op 2  PUSH_TAIL  n:varint elem:bytes*n      each pushed at the tail in turn (as RPUSH)
//! op 3  POP_HEAD   n:varint                   n elements removed from the head
//! op 4  POP_TAIL   n:varint                   n elements removed from the tail
//! op 5  SET        index:varint elem:bytes    element at index replaced
//! op 6  INSERT     index:varint elem:bytes    elem inserted so that it ends up at index
//! op 7  REMOVE     index:varint               element at index removed
//! op 8  TRIM       start:varint len:varint    only elements [start, start+len) kept
//! ```

use std::collections::VecDeque;

use bytes::Bytes;

use super::{count, finish, Replayed};
use crate::effect::{put_bytes, put_uvarint, ApplyError, Cursor, DecodeError};
use crate::value::Value;

const OP_PUSH_HEAD: u8 = 1;
const OP_PUSH_TAIL: u8 = 2;
const OP_POP_HEAD: u8 = 3;
const OP_POP_TAIL: u8 = 4;
const OP_SET: u8 = 5;
const OP_INSERT: u8 = 6;
const OP_REMOVE: u8 = 7;
const OP_TRIM: u8 = 8;

/// A list value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct List {
    items: VecDeque<Bytes>,
}

impl List {
    /// An empty list.
    pub fn new() -> List {
        List::default()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The elements, head first.
    pub fn items(&self) -> &VecDeque<Bytes> {
        &self.items
    }

    /// The elements, for in-place changes (the caller logs them).
    pub fn items_mut(&mut self) -> &mut VecDeque<Bytes> {
        &mut self.items
    }

    /// The name OBJECT ENCODING reports (Redis 7.2: listpack while the list would fit one
    /// 8 KiB listpack node, else quicklist).
    pub fn encoding(&self) -> &'static str {
        let bytes: usize = self.items.iter().map(|e| e.len() + 2).sum();
        if self.items.len() <= 128 && bytes <= 8192 {
            "listpack"
        } else {
            "quicklist"
        }
    }

    /// Approximate heap bytes.
    pub fn memory_bytes(&self) -> usize {
        self.items.capacity() * std::mem::size_of::<Bytes>()
            + self.items.iter().map(|e| e.len()).sum::<usize>()
    }

    /// Appends the value encoding (without the tag).
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_uvarint(out, self.items.len() as u64);
        for e in &self.items {
            put_bytes(out, e);
        }
    }

    /// Decodes the value encoding (after the tag).
    pub fn decode(c: &mut Cursor<'_>) -> Result<List, DecodeError> {
        let n = count(c, 1)?;
        let mut items = VecDeque::with_capacity(n);
        for _ in 0..n {
            items.push_back(Bytes::copy_from_slice(c.bytes()?));
        }
        Ok(List { items })
    }
}

/// Builds a list effect body.
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

    /// Elements pushed at the head (`head`) or tail, each in turn.
    pub fn push<'a>(&mut self, head: bool, elems: impl ExactSizeIterator<Item = &'a [u8]>) {
        self.buf
            .push(if head { OP_PUSH_HEAD } else { OP_PUSH_TAIL });
        put_uvarint(&mut self.buf, elems.len() as u64);
        for e in elems {
            put_bytes(&mut self.buf, e);
        }
    }

    /// `n` elements popped from the head (`head`) or tail.
    pub fn pop(&mut self, head: bool, n: usize) {
        self.buf.push(if head { OP_POP_HEAD } else { OP_POP_TAIL });
        put_uvarint(&mut self.buf, n as u64);
    }

    /// The element at `index` replaced by `elem`.
    pub fn set(&mut self, index: usize, elem: &[u8]) {
        self.buf.push(OP_SET);
        put_uvarint(&mut self.buf, index as u64);
        put_bytes(&mut self.buf, elem);
    }

    /// `elem` inserted at `index`.
    pub fn insert(&mut self, index: usize, elem: &[u8]) {
        self.buf.push(OP_INSERT);
        put_uvarint(&mut self.buf, index as u64);
        put_bytes(&mut self.buf, elem);
    }

    /// The element at `index` removed.
    pub fn remove(&mut self, index: usize) {
        self.buf.push(OP_REMOVE);
        put_uvarint(&mut self.buf, index as u64);
    }

    /// Only `[start, start+len)` kept.
    pub fn trim(&mut self, start: usize, len: usize) {
        self.buf.push(OP_TRIM);
        put_uvarint(&mut self.buf, start as u64);
        put_uvarint(&mut self.buf, len as u64);
    }
}

fn index(c: &mut Cursor<'_>, len: usize, inclusive_end: bool) -> Result<usize, DecodeError> {
    let at = c.pos();
    let i = c.uvarint()?;
    let ok = if inclusive_end {
        i <= len as u64
    } else {
        i < len as u64
    };
    if ok {
        Ok(i as usize)
    } else {
        Err(DecodeError::Invalid {
            what: "list index",
            at,
        })
    }
}

/// Replays a list effect body.
pub fn replay(existing: Option<&mut Value>, body: &[u8]) -> Result<Replayed, ApplyError> {
    let mut created = None;
    let l: &mut List = match existing {
        Some(Value::List(l)) => l,
        Some(_) => return Err(ApplyError::WrongType),
        None => created.insert(List::new()),
    };
    let items = &mut l.items;
    let mut c = Cursor::new(body);
    while !c.is_at_end() {
        let at = c.pos();
        match c.u8()? {
            OP_PUSH_HEAD => {
                for _ in 0..count(&mut c, 1)? {
                    items.push_front(Bytes::copy_from_slice(c.bytes()?));
                }
            }
            OP_PUSH_TAIL => {
                for _ in 0..count(&mut c, 1)? {
                    items.push_back(Bytes::copy_from_slice(c.bytes()?));
                }
            }
            op @ (OP_POP_HEAD | OP_POP_TAIL) => {
                let n = index(&mut c, items.len(), true)?;
                if op == OP_POP_HEAD {
                    items.drain(..n);
                } else {
                    items.truncate(items.len() - n);
                }
            }
            OP_SET => {
                let i = index(&mut c, items.len(), false)?;
                items[i] = Bytes::copy_from_slice(c.bytes()?);
            }
            OP_INSERT => {
                let i = index(&mut c, items.len(), true)?;
                items.insert(i, Bytes::copy_from_slice(c.bytes()?));
            }
            OP_REMOVE => {
                let i = index(&mut c, items.len(), false)?;
                items.remove(i);
            }
            OP_TRIM => {
                let start = index(&mut c, items.len(), true)?;
                let n = index(&mut c, items.len() - start, true)?;
                items.truncate(start + n);
                items.drain(..start);
            }
            op => return Err(DecodeError::UnknownOp { op, at }.into()),
        }
    }
    Ok(finish(
        l.is_empty(),
        created.map(|v| Value::List(Box::new(v))),
    ))
}

/// A list effect body as text (`PUSH_HEAD e ...; POP_TAIL 2; SET 3 e; ...`).
pub fn describe(body: &[u8], out: &mut String) -> Result<(), DecodeError> {
    use std::fmt::Write;
    let mut c = Cursor::new(body);
    while !c.is_at_end() {
        if !out.is_empty() {
            out.push_str("; ");
        }
        let at = c.pos();
        match c.u8()? {
            op @ (OP_PUSH_HEAD | OP_PUSH_TAIL) => {
                out.push_str(if op == OP_PUSH_HEAD {
                    "PUSH_HEAD"
                } else {
                    "PUSH_TAIL"
                });
                for _ in 0..count(&mut c, 1)? {
                    out.push(' ');
                    super::push_text(out, c.bytes()?);
                }
            }
            OP_POP_HEAD => {
                let _ = write!(out, "POP_HEAD {}", c.uvarint()?);
            }
            OP_POP_TAIL => {
                let _ = write!(out, "POP_TAIL {}", c.uvarint()?);
            }
            op @ (OP_SET | OP_INSERT) => {
                let i = c.uvarint()?;
                let name = if op == OP_SET { "SET" } else { "INSERT" };
                let _ = write!(out, "{name} {i} ");
                super::push_text(out, c.bytes()?);
            }
            OP_REMOVE => {
                let _ = write!(out, "REMOVE {}", c.uvarint()?);
            }
            OP_TRIM => {
                let start = c.uvarint()?;
                let _ = write!(out, "TRIM {start} {}", c.uvarint()?);
            }
            op => return Err(DecodeError::UnknownOp { op, at }),
        }
    }
    Ok(())
}
