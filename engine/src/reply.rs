//! Replies as a protocol-neutral value, and the typed command error.
//!
//! Handlers return `Result<Reply, CmdError>`; the RESP encoder (`crate::resp`) turns a `Reply`
//! into RESP2 or RESP3 bytes. Every error text a client can see is produced in one place:
//! [`CmdError::to_line`].

use bytes::Bytes;

/// A reply, independent of the protocol version it will be encoded with.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `+OK`.
    Ok,
    /// A simple string (`+...`). Must not contain CR or LF.
    Status(Bytes),
    /// An error line without the leading `-`, e.g. `ERR syntax error`.
    Error(Bytes),
    /// An integer (`:...`).
    Int(i64),
    /// A bulk string (`$...`).
    Bulk(Bytes),
    /// The null bulk string: `$-1` in RESP2, `_` in RESP3.
    Nil,
    /// The null array: `*-1` in RESP2, `_` in RESP3.
    NilArray,
    /// An array (`*...`).
    Array(Vec<Reply>),
    /// A map: `%` in RESP3, a flat array of key, value, ... in RESP2.
    Map(Vec<(Reply, Reply)>),
    /// Pairs: an array of 2-element arrays in RESP3, a flat array of first, second, ... in
    /// RESP2 (HRANDFIELD WITHVALUES, ZRANGE WITHSCORES).
    Pairs(Vec<(Reply, Reply)>),
    /// Keyed arrays: a map in RESP3, an array of `[key, value]` arrays in RESP2 (XREAD's
    /// streams).
    KeyedArrays(Vec<(Reply, Reply)>),
    /// A set: `~` in RESP3, an array in RESP2.
    Set(Vec<Reply>),
    /// A double given as text (Redis's "human" long double, as GEOPOS prints coordinates):
    /// `,text` in RESP3, a bulk string in RESP2.
    DoubleText(Bytes),
    /// A double: `,` in RESP3, a bulk string in RESP2 (formatted as Redis does).
    Double(f64),
    /// A boolean: `#t`/`#f` in RESP3, the integer 1/0 in RESP2.
    Bool(bool),
    /// Verbatim text (`=` in RESP3 with a 3-letter format such as `txt`), a bulk string in RESP2.
    Verbatim(&'static str, Bytes),
    /// An out-of-band push (`>` in RESP3), an array in RESP2.
    Push(Vec<Reply>),
    /// Several top-level replies for one command, sent one after the other (SUBSCRIBE to
    /// several channels confirms each).
    Frames(Vec<Reply>),
    /// Not a reply: a blocking command (BLPOP, BZPOPMIN, ...) found nothing to serve and asks
    /// the server to park the client until one of the keys gets elements or the timeout
    /// passes, then run the command again (or answer `on_timeout`). Never encoded.
    Block(Box<BlockOn>),
}

/// What a blocked command waits for.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockOn {
    /// The keys (in the connection's namespace) whose changes may serve the command.
    pub keys: Vec<Bytes>,
    /// How long to wait in ms; 0 waits forever.
    pub timeout_ms: u64,
    /// The reply when the timeout passes (a null array for BLPOP, a null bulk for BLMOVE).
    pub on_timeout: Reply,
    /// The arguments to run the command with when woken, when not the original ones (XREAD
    /// with `$` waits for entries after the ID `$` meant when it blocked).
    pub rerun: Option<Vec<Bytes>>,
    /// Set for stream reads, which wait differently from pops (see [`StreamWait`]).
    pub stream: Option<StreamWait>,
}

/// How a blocked stream read waits. Reading a stream does not consume it, so every signal of
/// a key wakes every reader, not only the first in line. A key that stops being a stream
/// (deleted, overwritten, flushed, expired) ends a group read with Redis's `UNBLOCKED`
/// error, while a plain read keeps waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamWait {
    /// XREAD.
    Read,
    /// XREADGROUP.
    Group,
}

impl Reply {
    /// A bulk string copied from a byte slice.
    pub fn bulk(b: impl AsRef<[u8]>) -> Reply {
        Reply::Bulk(Bytes::copy_from_slice(b.as_ref()))
    }

    /// A bulk string from an owned string.
    pub fn bulk_string(s: String) -> Reply {
        Reply::Bulk(Bytes::from(s))
    }

    /// A simple status line.
    pub fn status(s: &'static str) -> Reply {
        Reply::Status(Bytes::from_static(s.as_bytes()))
    }

    /// Either a bulk string or nil.
    pub fn opt_bulk(b: Option<Bytes>) -> Reply {
        b.map_or(Reply::Nil, Reply::Bulk)
    }

    /// Whether this reply is an error.
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }
}

impl From<CmdError> for Reply {
    fn from(e: CmdError) -> Reply {
        Reply::Error(Bytes::from(e.to_line()))
    }
}

/// Every error a command can answer with. The text is Redis 7's, word for word.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CmdError {
    #[error("unknown command")]
    UnknownCommand { name: String, args: Vec<String> },
    #[error("unknown subcommand")]
    UnknownSubcommand { command: String, sub: String },
    #[error("wrong number of arguments")]
    WrongArity(String),
    #[error("wrong type")]
    WrongType,
    #[error("not an integer")]
    NotInteger,
    #[error("not a float")]
    NotFloat,
    #[error("syntax error")]
    Syntax,
    #[error("authentication required")]
    NoAuth,
    #[error("invalid expire time")]
    InvalidExpire(String),
    #[error("overflow")]
    Overflow,
    #[error("no such key")]
    NoSuchKey,
    #[error("index out of range")]
    OutOfRange,
    #[error("value out of range")]
    ValueOutOfRange(&'static str),
    #[error("string exceeds maximum allowed size")]
    StringTooLong,
    #[error("{0}")]
    /// A complete error line (prefix included, no leading `-`), for the rarer messages.
    Other(String),
}

/// Shorthand for handler results.
pub type CmdResult = Result<Reply, CmdError>;

impl CmdError {
    /// An `ERR <msg>` error.
    pub fn err(msg: impl Into<String>) -> CmdError {
        CmdError::Other(format!("ERR {}", msg.into()))
    }

    /// The error line as sent to the client, without the leading `-` and the CRLF.
    pub fn to_line(&self) -> String {
        match self {
            CmdError::UnknownCommand { name, args } => {
                let mut s = format!(
                    "ERR unknown command '{}', with args beginning with: ",
                    sanitize(name, 128)
                );
                for a in args.iter().take(16) {
                    s.push('\'');
                    s.push_str(&sanitize(a, 128));
                    s.push_str("' ");
                }
                s
            }
            CmdError::UnknownSubcommand { command, sub } => format!(
                "ERR unknown subcommand '{}'. Try {} HELP.",
                sanitize(sub, 128),
                command.to_uppercase()
            ),
            CmdError::WrongArity(name) => {
                format!(
                    "ERR wrong number of arguments for '{}' command",
                    name.to_lowercase()
                )
            }
            CmdError::WrongType => {
                "WRONGTYPE Operation against a key holding the wrong kind of value".into()
            }
            CmdError::NotInteger => "ERR value is not an integer or out of range".into(),
            CmdError::NotFloat => "ERR value is not a valid float".into(),
            CmdError::Syntax => "ERR syntax error".into(),
            CmdError::NoAuth => "NOAUTH Authentication required.".into(),
            CmdError::InvalidExpire(cmd) => {
                format!(
                    "ERR invalid expire time in '{}' command",
                    cmd.to_lowercase()
                )
            }
            CmdError::Overflow => "ERR increment or decrement would overflow".into(),
            CmdError::NoSuchKey => "ERR no such key".into(),
            CmdError::OutOfRange => "ERR index out of range".into(),
            CmdError::ValueOutOfRange(what) => format!("ERR {what} is out of range"),
            CmdError::StringTooLong => {
                "ERR string exceeds maximum allowed size (proto-max-bulk-len)".into()
            }
            CmdError::Other(line) => line.clone(),
        }
    }
}

/// Redis shows client-supplied names in errors with control characters replaced and a length
/// cap, so an error line never breaks the protocol.
fn sanitize(s: &str, max: usize) -> String {
    s.chars()
        .take(max)
        .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
        .collect()
}
