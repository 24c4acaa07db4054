//! Replies as the CLI prints them, in redis-cli's three output formats.
//!
//! [`Reply`] is the engine codec's [`Value`] with two changes that printing needs: a double
//! keeps the text the server sent (redis-cli prints it verbatim), and attributes are dropped
//! (redis-cli shows the value they annotate). The formatters follow redis-cli 7's
//! `cliFormatReplyTTY`, `cliFormatReplyRaw` and `cliFormatReplyCSV` byte for byte; the
//! differential test in `tests/cli.rs` holds them to it.

use bytes::Bytes;
use vole_engine::resp::Value;

/// One reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Status(Bytes),
    Error(Bytes),
    Int(i64),
    Bulk(Bytes),
    Nil,
    Array(Vec<Reply>),
    Map(Vec<(Reply, Reply)>),
    Set(Vec<Reply>),
    Push(Vec<Reply>),
    /// The double as the server wrote it.
    Double(Bytes),
    Bool(bool),
    BigNumber(Bytes),
    /// Verbatim text, without its three-letter format.
    Verbatim(Bytes),
}

impl Reply {
    /// Converts a parsed value; `doubles` are the double texts in document order (from
    /// `parse_value_texts`).
    pub fn from_value(v: Value, doubles: Vec<Bytes>) -> Reply {
        let mut texts = doubles.into_iter();
        convert(v, &mut texts)
    }

    /// Whether this is an error reply.
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }
}

fn convert(v: Value, texts: &mut std::vec::IntoIter<Bytes>) -> Reply {
    let list = |items: Vec<Value>, texts: &mut std::vec::IntoIter<Bytes>| {
        items.into_iter().map(|i| convert(i, texts)).collect()
    };
    match v {
        Value::Simple(b) => Reply::Status(b),
        Value::Error(b) => Reply::Error(b),
        Value::Int(n) => Reply::Int(n),
        Value::Bulk(b) => Reply::Bulk(b),
        Value::Null => Reply::Nil,
        Value::Array(items) => Reply::Array(list(items, texts)),
        Value::Set(items) => Reply::Set(list(items, texts)),
        Value::Push(items) => Reply::Push(list(items, texts)),
        Value::Map(pairs) => Reply::Map(
            pairs
                .into_iter()
                .map(|(k, v)| {
                    let k = convert(k, texts);
                    (k, convert(v, texts))
                })
                .collect(),
        ),
        Value::Double(d) => Reply::Double(
            texts
                .next()
                .unwrap_or_else(|| Bytes::from(format!("{d}").into_bytes())),
        ),
        Value::Bool(b) => Reply::Bool(b),
        Value::BigNumber(b) => Reply::BigNumber(b),
        Value::Verbatim(_, text) => Reply::Verbatim(text),
        Value::Attribute(attrs, inner) => {
            // Skip the attributes' doubles so later doubles keep their texts.
            for (k, v) in attrs {
                convert(k, texts);
                convert(v, texts);
            }
            convert(*inner, texts)
        }
    }
}

/// How replies are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// For a terminal: `(integer) 1`, `"quoted"`, numbered arrays.
    Tty,
    /// For a pipe: bare values, one element per line.
    Raw,
    /// Comma-separated values.
    Csv,
}

pub use vole_engine::resp::repr;

/// The whole output for one reply in `format`, trailing newline included. `delim` separates
/// the elements of an aggregate in raw mode (redis-cli `-d`, default `\n`).
pub fn format(r: &Reply, format: Format, delim: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match format {
        Format::Tty => tty(r, b"", &mut out),
        Format::Raw => {
            raw(r, delim, &mut out);
            out.push(b'\n');
        }
        Format::Csv => {
            csv(r, &mut out);
            out.push(b'\n');
        }
    }
    out
}

/// `cliFormatReplyTTY`.
fn tty(r: &Reply, prefix: &[u8], out: &mut Vec<u8>) {
    match r {
        Reply::Error(e) => {
            out.extend_from_slice(b"(error) ");
            out.extend_from_slice(e);
            out.push(b'\n');
        }
        Reply::Status(s) => {
            out.extend_from_slice(s);
            out.push(b'\n');
        }
        Reply::Int(n) => out.extend_from_slice(format!("(integer) {n}\n").as_bytes()),
        Reply::Double(t) => {
            out.extend_from_slice(b"(double) ");
            out.extend_from_slice(t);
            out.push(b'\n');
        }
        Reply::BigNumber(t) => {
            out.extend_from_slice(b"(big number) ");
            out.extend_from_slice(t);
            out.push(b'\n');
        }
        Reply::Bulk(b) => {
            repr(b, out);
            out.push(b'\n');
        }
        Reply::Verbatim(t) => {
            out.extend_from_slice(t);
            out.push(b'\n');
        }
        Reply::Nil => out.extend_from_slice(b"(nil)\n"),
        Reply::Bool(b) => out.extend_from_slice(if *b { b"(true)\n" } else { b"(false)\n" }),
        Reply::Array(items) | Reply::Set(items) | Reply::Push(items) => {
            let (sep, empty) = match r {
                Reply::Set(_) => (b'~', "(empty set)\n"),
                Reply::Push(_) => (b')', "(empty push)\n"),
                _ => (b')', "(empty array)\n"),
            };
            if items.is_empty() {
                out.extend_from_slice(empty.as_bytes());
                return;
            }
            let (width, inner) = nested_prefix(prefix, items.len());
            for (i, item) in items.iter().enumerate() {
                index_label(out, prefix, i, width, sep);
                tty(item, &inner, out);
            }
        }
        Reply::Map(pairs) => {
            if pairs.is_empty() {
                out.extend_from_slice(b"(empty hash)\n");
                return;
            }
            let (width, inner) = nested_prefix(prefix, pairs.len());
            for (i, (k, v)) in pairs.iter().enumerate() {
                index_label(out, prefix, i, width, b'#');
                tty(k, &inner, out);
                out.pop(); // the key's newline
                out.extend_from_slice(b" => ");
                tty(v, &inner, out);
            }
        }
    }
}

/// Digits of the largest index and the prefix for the elements' own nested lines.
fn nested_prefix(prefix: &[u8], count: usize) -> (usize, Vec<u8>) {
    let width = count.to_string().len();
    let mut inner = prefix.to_vec();
    inner.extend(std::iter::repeat_n(b' ', width + 2));
    (width, inner)
}

/// `N) ` right-aligned to `width`, after `prefix` for all but the first element (the parent
/// already wrote the line's start).
fn index_label(out: &mut Vec<u8>, prefix: &[u8], i: usize, width: usize, sep: u8) {
    if i > 0 {
        out.extend_from_slice(prefix);
    }
    out.extend_from_slice(format!("{:>width$}", i + 1).as_bytes());
    out.push(sep);
    out.push(b' ');
}

/// `cliFormatReplyRaw`.
fn raw(r: &Reply, delim: &[u8], out: &mut Vec<u8>) {
    match r {
        Reply::Nil => {}
        Reply::Error(e) => {
            out.extend_from_slice(e);
            out.push(b'\n');
        }
        Reply::Status(s) | Reply::Bulk(s) | Reply::Verbatim(s) => out.extend_from_slice(s),
        Reply::Double(t) | Reply::BigNumber(t) => out.extend_from_slice(t),
        Reply::Bool(b) => out.extend_from_slice(if *b { b"(true)" } else { b"(false)" }),
        Reply::Int(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Reply::Array(items) | Reply::Set(items) | Reply::Push(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(delim);
                }
                raw(item, delim, out);
            }
        }
        Reply::Map(pairs) => {
            for (i, (k, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(delim);
                }
                raw(k, delim, out);
                out.push(b' ');
                raw(v, delim, out);
            }
        }
    }
}

/// `cliFormatReplyCSV`.
fn csv(r: &Reply, out: &mut Vec<u8>) {
    match r {
        Reply::Error(e) => {
            out.extend_from_slice(b"ERROR,");
            repr(e, out);
        }
        Reply::Status(s) | Reply::Bulk(s) | Reply::Verbatim(s) => repr(s, out),
        Reply::Int(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Reply::Double(t) | Reply::BigNumber(t) => out.extend_from_slice(t),
        Reply::Nil => out.extend_from_slice(b"NULL"),
        Reply::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Reply::Array(items) | Reply::Set(items) | Reply::Push(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                csv(item, out);
            }
        }
        Reply::Map(pairs) => {
            for (i, (k, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                csv(k, out);
                out.push(b',');
                csv(v, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Reply {
        Reply::Bulk(Bytes::copy_from_slice(s.as_bytes()))
    }

    fn tty_text(r: &Reply) -> String {
        String::from_utf8_lossy(&format(r, Format::Tty, b"\n")).into_owned()
    }

    #[test]
    fn tty_nested_arrays_indent_like_redis_cli() {
        // Nested arrays continue on the parent's line and indent by the index width + 2.
        let r = Reply::Array(vec![
            Reply::Int(1),
            Reply::Array(vec![
                Reply::Int(2),
                Reply::Array(vec![Reply::Int(3), b("a")]),
            ]),
            b("b"),
            Reply::Array(vec![]),
        ]);
        assert_eq!(
            tty_text(&r),
            "1) (integer) 1\n2) 1) (integer) 2\n   2) 1) (integer) 3\n      2) \"a\"\n3) \"b\"\n4) (empty array)\n"
        );
        let wide = Reply::Array(
            (0..11)
                .map(|_| Reply::Array(vec![b("x"), b("y")]))
                .collect(),
        );
        let text = tty_text(&wide);
        assert!(
            text.starts_with(" 1) 1) \"x\"\n    2) \"y\"\n 2) "),
            "{text}"
        );
        assert!(text.contains("\n11) 1) \"x\"\n    2) \"y\"\n"), "{text}");
    }

    #[test]
    fn tty_resp3_types() {
        // Maps use `#` and `=>`, sets `~`, and scalars their redis-cli labels.
        let r = Reply::Map(vec![
            (Reply::Int(0), Reply::Bool(false)),
            (
                b("k"),
                Reply::Set(vec![Reply::Double(Bytes::from_static(b"3.5"))]),
            ),
        ]);
        assert_eq!(
            tty_text(&r),
            "1# (integer) 0 => (false)\n2# \"k\" => 1~ (double) 3.5\n"
        );
        assert_eq!(tty_text(&Reply::Map(vec![])), "(empty hash)\n");
        assert_eq!(tty_text(&Reply::Set(vec![])), "(empty set)\n");
        assert_eq!(
            tty_text(&Reply::BigNumber(Bytes::from_static(b"123"))),
            "(big number) 123\n"
        );
        assert_eq!(
            tty_text(&Reply::Verbatim(Bytes::from_static(b"a\nb"))),
            "a\nb\n"
        );
        assert_eq!(
            tty_text(&Reply::Error(Bytes::from_static(b"ERR x"))),
            "(error) ERR x\n"
        );
    }

    #[test]
    fn raw_and_csv() {
        // Raw joins elements with the delimiter and pairs with a space; CSV flattens.
        let r = Reply::Map(vec![(b("a"), Reply::Int(1)), (b("b"), Reply::Nil)]);
        assert_eq!(format(&r, Format::Raw, b"\n"), b"a 1\nb \n".to_vec());
        assert_eq!(
            format(&r, Format::Csv, b"\n"),
            b"\"a\",1,\"b\",NULL\n".to_vec()
        );
        assert_eq!(
            format(
                &Reply::Error(Bytes::from_static(b"ERR x")),
                Format::Raw,
                b"\n"
            ),
            b"ERR x\n\n".to_vec()
        );
        assert_eq!(format(&Reply::Nil, Format::Raw, b"\n"), b"\n".to_vec());
    }

    #[test]
    fn doubles_keep_their_text() {
        // The text the server sent is printed, also after a double inside an attribute.
        let v = Value::Attribute(
            vec![(Value::Bulk(Bytes::from_static(b"x")), Value::Double(0.5))],
            Box::new(Value::Array(vec![Value::Double(1.1)])),
        );
        let r = Reply::from_value(
            v,
            vec![
                Bytes::from_static(b"0.5"),
                Bytes::from_static(b"1.1000000000000001"),
            ],
        );
        assert_eq!(
            r,
            Reply::Array(vec![Reply::Double(Bytes::from_static(
                b"1.1000000000000001"
            ))])
        );
    }
}
