//! The libraries Redis gives scripts, implemented in Rust: `bit` (LuaBitOp), `cjson`
//! (lua-cjson), `cmsgpack` (lua-cmsgpack) and `struct` (lua-struct), with the behaviour scripts rely on (cjson's
//! `\/` escaping and `%.14g` numbers, `cjson.null`, msgpack's smallest encodings).

use mlua::{LightUserData, Lua, MultiValue, Table, Value, Variadic};

/// Deepest nesting cjson / cmsgpack encode or decode. (lua-cjson allows 1000; the Rust
/// recursion here must fit a worker thread's stack in a debug build too.)
const MAX_DEPTH: usize = 128;

/// Installs `bit`, `cjson` and `cmsgpack` into `sandbox`.
pub fn install(lua: &Lua, sandbox: &Table) -> mlua::Result<()> {
    sandbox.raw_set("bit", bit(lua)?)?;
    sandbox.raw_set("cjson", cjson(lua)?)?;
    sandbox.raw_set("cmsgpack", cmsgpack(lua)?)?;
    sandbox.raw_set("struct", structlib(lua)?)?;
    Ok(())
}

fn number(v: &Value, what: &str) -> mlua::Result<f64> {
    match v {
        Value::Integer(i) => Ok(*i as f64),
        Value::Number(n) => Ok(*n),
        Value::String(s) => s
            .to_str()
            .ok()
            .and_then(|t| t.trim().parse::<f64>().ok())
            .ok_or_else(|| {
                mlua::Error::runtime(format!(
                    "bad argument #1 to '{what}' (number expected, got string)"
                ))
            }),
        _ => Err(mlua::Error::runtime(format!(
            "bad argument #1 to '{what}' (number expected, got {})",
            v.type_name()
        ))),
    }
}

/// LuaBitOp's normalisation: the number modulo 2^32 as a signed 32-bit integer.
fn tobit(x: f64) -> i32 {
    if !x.is_finite() {
        return 0;
    }
    let r = x.round_ties_even();
    (r.rem_euclid(4_294_967_296.0) as u64 as u32) as i32
}

fn bit(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "tobit",
        lua.create_function(|_, x: Value| Ok(tobit(number(&x, "tobit")?)))?,
    )?;
    t.raw_set(
        "bnot",
        lua.create_function(|_, x: Value| Ok(!tobit(number(&x, "bnot")?)))?,
    )?;
    for (name, op) in [
        ("band", (|a, b| a & b) as fn(i32, i32) -> i32),
        ("bor", |a, b| a | b),
        ("bxor", |a, b| a ^ b),
    ] {
        t.raw_set(
            name,
            lua.create_function(move |_, xs: Variadic<Value>| {
                let mut acc: Option<i32> = None;
                for x in xs.iter() {
                    let v = tobit(number(x, name)?);
                    acc = Some(acc.map_or(v, |a| op(a, v)));
                }
                acc.ok_or_else(|| {
                    mlua::Error::runtime(format!(
                        "bad argument #1 to '{name}' (number expected, got no value)"
                    ))
                })
            })?,
        )?;
    }
    for (name, op) in [
        (
            "lshift",
            (|a: i32, n: u32| ((a as u32) << n) as i32) as fn(i32, u32) -> i32,
        ),
        ("rshift", |a, n| ((a as u32) >> n) as i32),
        ("arshift", |a, n| a >> n),
        ("rol", |a, n| (a as u32).rotate_left(n) as i32),
        ("ror", |a, n| (a as u32).rotate_right(n) as i32),
    ] {
        t.raw_set(
            name,
            lua.create_function(move |_, (x, n): (Value, Value)| {
                let a = tobit(number(&x, name)?);
                let n = (tobit(number(&n, name)?) & 31) as u32;
                Ok(op(a, n))
            })?,
        )?;
    }
    t.raw_set(
        "bswap",
        lua.create_function(|_, x: Value| Ok(tobit(number(&x, "bswap")?).swap_bytes()))?,
    )?;
    t.raw_set(
        "tohex",
        lua.create_function(|_, (x, n): (Value, Option<Value>)| {
            let v = tobit(number(&x, "tohex")?) as u32;
            let n = match n {
                Some(n) => tobit(number(&n, "tohex")?),
                None => 8,
            };
            let upper = n < 0;
            let digits = (n.unsigned_abs() as usize).clamp(1, 8);
            let s = if upper {
                format!("{v:08X}")
            } else {
                format!("{v:08x}")
            };
            Ok(s[8 - digits..].to_string())
        })?,
    )?;
    Ok(t)
}

// ---- cjson ---------------------------------------------------------------------------------

/// `printf("%.14g", x)`, as lua-cjson formats numbers.
pub fn fmt_g14(x: f64) -> String {
    if x.is_nan() {
        return if x.is_sign_negative() {
            "-nan".into()
        } else {
            "nan".into()
        };
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if x == 0.0 {
        return if x.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let exp = x.abs().log10().floor() as i32;
    // %g: scientific when exp < -4 or exp >= precision.
    let sci = format!("{:.13e}", x);
    let (mant, e) = sci.split_once('e').unwrap_or((&sci, "0"));
    let e: i32 = e.parse().unwrap_or(exp);
    if !(-4..14).contains(&e) {
        let mant = trim_zeros(mant);
        let sign = if e < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", e.abs())
    } else {
        let decimals = (13 - e).max(0) as usize;
        trim_zeros(&format!("{x:.decimals$}")).to_string()
    }
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

fn json_string(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            c if c < 0x20 || c == 0x7f => out.extend_from_slice(format!("\\u{c:04x}").as_bytes()),
            c => out.push(c),
        }
    }
    out.push(b'"');
}

fn is_null(v: &Value) -> bool {
    matches!(v, Value::LightUserData(p) if p.0.is_null())
}

fn encode_json(out: &mut Vec<u8>, v: &Value, depth: usize) -> mlua::Result<()> {
    if depth > MAX_DEPTH {
        return Err(mlua::Error::runtime(format!(
            "Cannot serialise, excessive nesting ({depth})"
        )));
    }
    match v {
        Value::Nil => out.extend_from_slice(b"null"),
        v if is_null(v) => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Integer(i) => out.extend_from_slice(fmt_g14(*i as f64).as_bytes()),
        Value::Number(n) => {
            if !n.is_finite() {
                return Err(mlua::Error::runtime(
                    "Cannot serialise number: must not be NaN or Inf",
                ));
            }
            out.extend_from_slice(fmt_g14(*n).as_bytes())
        }
        Value::String(s) => json_string(out, &s.as_bytes()),
        Value::Table(t) => {
            // An array when every key is a positive integer and holes are few (cjson's
            // sparse ratio 2, safe up to 10).
            let mut max = 0usize;
            let mut count = 0usize;
            let mut array = true;
            for pair in t.pairs::<Value, Value>() {
                let (k, _) = pair?;
                count += 1;
                let idx = match k {
                    Value::Integer(i) if i >= 1 => Some(i as usize),
                    Value::Number(n) if n >= 1.0 && n.fract() == 0.0 => Some(n as usize),
                    _ => None,
                };
                match idx {
                    Some(i) => max = max.max(i),
                    None => array = false,
                }
            }
            if array && count > 0 {
                if max > 10 && max > count * 2 {
                    return Err(mlua::Error::runtime(
                        "Cannot serialise table: excessively sparse array",
                    ));
                }
                out.push(b'[');
                for i in 1..=max {
                    if i > 1 {
                        out.push(b',');
                    }
                    encode_json(out, &t.raw_get::<Value>(i)?, depth + 1)?;
                }
                out.push(b']');
            } else {
                out.push(b'{');
                let mut first = true;
                for pair in t.pairs::<Value, Value>() {
                    let (k, val) = pair?;
                    if !first {
                        out.push(b',');
                    }
                    first = false;
                    match &k {
                        Value::String(s) => json_string(out, &s.as_bytes()),
                        Value::Integer(i) => json_string(out, fmt_g14(*i as f64).as_bytes()),
                        Value::Number(n) => json_string(out, fmt_g14(*n).as_bytes()),
                        _ => {
                            return Err(mlua::Error::runtime(
                                "Cannot serialise table: table key must be a number or string",
                            ))
                        }
                    }
                    out.push(b':');
                    encode_json(out, &val, depth + 1)?;
                }
                out.push(b'}');
            }
        }
        other => {
            return Err(mlua::Error::runtime(format!(
                "Cannot serialise {}: type not supported",
                other.type_name()
            )))
        }
    }
    Ok(())
}

/// A JSON token, as lua-cjson names them in its error messages.
enum Tok {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    Colon,
    Comma,
    Str(Vec<u8>),
    Num(f64),
    Bool(bool),
    Null,
    End,
    /// A token that could not be read, with cjson's description.
    Error(&'static str),
}

impl Tok {
    fn name(&self) -> &'static str {
        match self {
            Tok::ObjBegin => "T_OBJ_BEGIN",
            Tok::ObjEnd => "T_OBJ_END",
            Tok::ArrBegin => "T_ARR_BEGIN",
            Tok::ArrEnd => "T_ARR_END",
            Tok::Colon => "T_COLON",
            Tok::Comma => "T_COMMA",
            Tok::Str(_) => "T_STRING",
            Tok::Num(_) => "T_NUMBER",
            Tok::Bool(_) => "T_BOOLEAN",
            Tok::Null => "T_NULL",
            Tok::End => "T_END",
            Tok::Error(what) => what,
        }
    }
}

/// lua-cjson's decoder: the same grammar and the same error messages
/// (`Expected <what> but found <token> at character <n>`).
struct JsonReader<'a> {
    s: &'a [u8],
    at: usize,
}

impl JsonReader<'_> {
    /// The next token and the 1-based character it starts at.
    fn next(&mut self) -> (Tok, usize) {
        while self.at < self.s.len() && matches!(self.s[self.at], b' ' | b'\t' | b'\n' | b'\r') {
            self.at += 1;
        }
        let start = self.at + 1;
        let Some(&c) = self.s.get(self.at) else {
            return (Tok::End, start);
        };
        let simple = |t: Tok, me: &mut Self| {
            me.at += 1;
            (t, start)
        };
        match c {
            b'{' => simple(Tok::ObjBegin, self),
            b'}' => simple(Tok::ObjEnd, self),
            b'[' => simple(Tok::ArrBegin, self),
            b']' => simple(Tok::ArrEnd, self),
            b':' => simple(Tok::Colon, self),
            b',' => simple(Tok::Comma, self),
            b'"' => (self.string(), start),
            b'-' | b'0'..=b'9' => (self.number(), start),
            _ => {
                for (word, tok) in [
                    ("true", Tok::Bool(true)),
                    ("false", Tok::Bool(false)),
                    ("null", Tok::Null),
                ] {
                    if self.s[self.at..].starts_with(word.as_bytes()) {
                        self.at += word.len();
                        return (tok, start);
                    }
                }
                (Tok::Error("invalid token"), start)
            }
        }
    }

    fn string(&mut self) -> Tok {
        self.at += 1;
        let mut out = Vec::new();
        loop {
            let Some(&c) = self.s.get(self.at) else {
                return Tok::Error("unexpected end of string");
            };
            self.at += 1;
            match c {
                b'"' => return Tok::Str(out),
                b'\\' => {
                    let Some(&e) = self.s.get(self.at) else {
                        return Tok::Error("unexpected end of string");
                    };
                    self.at += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'b' => out.push(0x08),
                        b'f' => out.push(0x0c),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => match self.unicode() {
                            Some(ch) => {
                                let mut buf = [0u8; 4];
                                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                            }
                            None => return Tok::Error("invalid unicode escape code"),
                        },
                        _ => return Tok::Error("invalid escape code"),
                    }
                }
                c => out.push(c),
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = self.s.get(self.at..self.at + 4)?;
        let v = u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()?;
        self.at += 4;
        Some(v)
    }

    fn unicode(&mut self) -> Option<char> {
        let hi = self.hex4()?;
        if (0xd800..0xdc00).contains(&hi) {
            if self.s.get(self.at..self.at + 2) != Some(b"\\u") {
                return None;
            }
            self.at += 2;
            let lo = self.hex4()?;
            if !(0xdc00..0xe000).contains(&lo) {
                return None;
            }
            return char::from_u32(0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00));
        }
        char::from_u32(hi)
    }

    fn number(&mut self) -> Tok {
        let begin = self.at;
        while self.at < self.s.len()
            && matches!(
                self.s[self.at],
                b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'
            )
        {
            self.at += 1;
        }
        match std::str::from_utf8(&self.s[begin..self.at])
            .ok()
            .and_then(|t| t.parse::<f64>().ok())
        {
            Some(n) => Tok::Num(n),
            None => Tok::Error("invalid number"),
        }
    }

    fn fail(what: &str, tok: &Tok, at: usize) -> mlua::Error {
        mlua::Error::runtime(format!(
            "Expected {what} but found {} at character {at}",
            tok.name()
        ))
    }

    /// A value starting with `tok`.
    fn value(&mut self, lua: &Lua, tok: Tok, at: usize, depth: usize) -> mlua::Result<Value> {
        Ok(match tok {
            Tok::Str(s) => Value::String(lua.create_string(s)?),
            Tok::Num(n) => {
                if n.fract() == 0.0 && n.abs() < 9.0e15 {
                    Value::Integer(n as i64)
                } else {
                    Value::Number(n)
                }
            }
            Tok::Bool(b) => Value::Boolean(b),
            Tok::Null => Value::LightUserData(LightUserData(std::ptr::null_mut())),
            Tok::ObjBegin | Tok::ArrBegin if depth >= MAX_DEPTH => {
                return Err(mlua::Error::runtime(format!(
                    "Found too many nested data structures ({}) at character {at}",
                    depth + 1
                )))
            }
            Tok::ObjBegin => {
                let t = lua.create_table()?;
                let (mut tok, mut at) = self.next();
                if matches!(tok, Tok::ObjEnd) {
                    return Ok(Value::Table(t));
                }
                loop {
                    let Tok::Str(key) = tok else {
                        return Err(Self::fail("object key string", &tok, at));
                    };
                    let (colon, cat) = self.next();
                    if !matches!(colon, Tok::Colon) {
                        return Err(Self::fail("colon", &colon, cat));
                    }
                    let (vt, vat) = self.next();
                    let v = self.value(lua, vt, vat, depth + 1)?;
                    t.raw_set(lua.create_string(key)?, v)?;
                    let (sep, sat) = self.next();
                    match sep {
                        Tok::ObjEnd => return Ok(Value::Table(t)),
                        Tok::Comma => (tok, at) = self.next(),
                        other => return Err(Self::fail("comma or object end", &other, sat)),
                    }
                }
            }
            Tok::ArrBegin => {
                let t = lua.create_table()?;
                let (mut tok, mut at) = self.next();
                if matches!(tok, Tok::ArrEnd) {
                    return Ok(Value::Table(t));
                }
                let mut i = 1;
                loop {
                    let v = self.value(lua, tok, at, depth + 1)?;
                    t.raw_set(i, v)?;
                    i += 1;
                    let (sep, sat) = self.next();
                    match sep {
                        Tok::ArrEnd => return Ok(Value::Table(t)),
                        Tok::Comma => (tok, at) = self.next(),
                        other => return Err(Self::fail("comma or array end", &other, sat)),
                    }
                }
            }
            other => return Err(Self::fail("value", &other, at)),
        })
    }
}

fn json_decode(lua: &Lua, s: &[u8]) -> mlua::Result<Value> {
    let mut r = JsonReader { s, at: 0 };
    let (tok, at) = r.next();
    let v = r.value(lua, tok, at, 0)?;
    let (end, at) = r.next();
    if !matches!(end, Tok::End) {
        return Err(JsonReader::fail("the end", &end, at));
    }
    Ok(v)
}

fn cjson(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "encode",
        lua.create_function(|lua, v: Value| {
            let mut out = Vec::new();
            encode_json(&mut out, &v, 0)?;
            lua.create_string(out)
        })?,
    )?;
    t.raw_set(
        "decode",
        lua.create_function(|lua, s: mlua::String| json_decode(lua, &s.as_bytes()))?,
    )?;
    t.raw_set(
        "null",
        Value::LightUserData(LightUserData(std::ptr::null_mut())),
    )?;
    // Settings scripts call; Vole's behaviour is fixed, so they report the defaults.
    for (name, default) in [
        ("encode_max_depth", MAX_DEPTH as i64),
        ("decode_max_depth", MAX_DEPTH as i64),
        ("encode_number_precision", 14),
    ] {
        t.raw_set(
            name,
            lua.create_function(move |_, _: MultiValue| Ok(default))?,
        )?;
    }
    for name in [
        "encode_keep_buffer",
        "encode_invalid_numbers",
        "decode_invalid_numbers",
    ] {
        t.raw_set(name, lua.create_function(|_, _: MultiValue| Ok(false))?)?;
    }
    Ok(t)
}

// ---- cmsgpack ------------------------------------------------------------------------------

fn mp_int(out: &mut Vec<u8>, i: i64) {
    if i >= 0 {
        let u = i as u64;
        if u < 128 {
            out.push(u as u8);
        } else if u <= 0xff {
            out.extend_from_slice(&[0xcc, u as u8]);
        } else if u <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(u as u16).to_be_bytes());
        } else if u <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(u as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&u.to_be_bytes());
        }
    } else if i >= -32 {
        out.push(i as i8 as u8);
    } else if i >= -128 {
        out.extend_from_slice(&[0xd0, i as i8 as u8]);
    } else if i >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(i as i16).to_be_bytes());
    } else if i >= -2_147_483_648 {
        out.push(0xd2);
        out.extend_from_slice(&(i as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&i.to_be_bytes());
    }
}

fn mp_len(out: &mut Vec<u8>, n: usize, fix: u8, fix_max: usize, t8: Option<u8>, t16: u8, t32: u8) {
    if n <= fix_max {
        out.push(fix | n as u8);
    } else if let (Some(t), true) = (t8, n <= 0xff) {
        out.extend_from_slice(&[t, n as u8]);
    } else if n <= 0xffff {
        out.push(t16);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(t32);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

fn encode_mp(out: &mut Vec<u8>, v: &Value, depth: usize) -> mlua::Result<()> {
    match v {
        Value::Nil => out.push(0xc0),
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Integer(i) => mp_int(out, *i),
        Value::Number(n) => {
            if n.fract() == 0.0 && n.abs() < 9.2e18 {
                mp_int(out, *n as i64);
            } else if (*n as f32) as f64 == *n {
                out.push(0xca);
                out.extend_from_slice(&(*n as f32).to_be_bytes());
            } else {
                out.push(0xcb);
                out.extend_from_slice(&n.to_be_bytes());
            }
        }
        Value::String(s) => {
            let b = s.as_bytes();
            mp_len(out, b.len(), 0xa0, 31, Some(0xd9), 0xda, 0xdb);
            out.extend_from_slice(&b);
        }
        Value::Table(t) if depth < 16 => {
            let mut count = 0usize;
            let mut max = 0usize;
            let mut array = true;
            for pair in t.pairs::<Value, Value>() {
                let (k, _) = pair?;
                count += 1;
                match k {
                    Value::Integer(i) if i >= 1 => max = max.max(i as usize),
                    _ => array = false,
                }
            }
            if array && max == count {
                mp_len(out, count, 0x90, 15, None, 0xdc, 0xdd);
                for i in 1..=count {
                    encode_mp(out, &t.raw_get::<Value>(i)?, depth + 1)?;
                }
            } else {
                mp_len(out, count, 0x80, 15, None, 0xde, 0xdf);
                for pair in t.pairs::<Value, Value>() {
                    let (k, val) = pair?;
                    encode_mp(out, &k, depth + 1)?;
                    encode_mp(out, &val, depth + 1)?;
                }
            }
        }
        // Too deep, or a type msgpack has no form for: nil, as lua-cmsgpack does.
        _ => out.push(0xc0),
    }
    Ok(())
}

struct MpReader<'a> {
    buf: &'a [u8],
    at: usize,
}

fn missing() -> mlua::Error {
    mlua::Error::runtime("Missing bytes in input.")
}

impl MpReader<'_> {
    fn take(&mut self, n: usize) -> mlua::Result<&[u8]> {
        let end = self.at.checked_add(n).ok_or_else(missing)?;
        let s = self.buf.get(self.at..end).ok_or_else(missing)?;
        self.at = end;
        Ok(s)
    }

    fn be(&mut self, n: usize) -> mlua::Result<u64> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    fn value(&mut self, lua: &Lua, depth: usize) -> mlua::Result<Value> {
        if depth > MAX_DEPTH {
            return Err(mlua::Error::runtime("Bad data format in input."));
        }
        let tag = self.take(1)?[0];
        let str_of = |me: &mut Self, n: usize| -> mlua::Result<Value> {
            Ok(Value::String(lua.create_string(me.take(n)?)?))
        };
        Ok(match tag {
            0x00..=0x7f => Value::Integer(i64::from(tag)),
            0x80..=0x8f => self.map(lua, usize::from(tag & 0x0f), depth)?,
            0x90..=0x9f => self.array(lua, usize::from(tag & 0x0f), depth)?,
            0xa0..=0xbf => str_of(self, usize::from(tag & 0x1f))?,
            0xc0 => Value::Nil,
            0xc2 => Value::Boolean(false),
            0xc3 => Value::Boolean(true),
            0xc4 | 0xd9 => {
                let n = self.be(1)? as usize;
                str_of(self, n)?
            }
            0xc5 | 0xda => {
                let n = self.be(2)? as usize;
                str_of(self, n)?
            }
            0xc6 | 0xdb => {
                let n = self.be(4)? as usize;
                str_of(self, n)?
            }
            0xca => Value::Number(f64::from(f32::from_bits(self.be(4)? as u32))),
            0xcb => Value::Number(f64::from_bits(self.be(8)?)),
            0xcc => Value::Integer(self.be(1)? as i64),
            0xcd => Value::Integer(self.be(2)? as i64),
            0xce => Value::Integer(self.be(4)? as i64),
            0xcf => {
                let u = self.be(8)?;
                match i64::try_from(u) {
                    Ok(i) => Value::Integer(i),
                    Err(_) => Value::Number(u as f64),
                }
            }
            0xd0 => Value::Integer(i64::from(self.be(1)? as u8 as i8)),
            0xd1 => Value::Integer(i64::from(self.be(2)? as u16 as i16)),
            0xd2 => Value::Integer(i64::from(self.be(4)? as u32 as i32)),
            0xd3 => Value::Integer(self.be(8)? as i64),
            0xdc => {
                let n = self.be(2)? as usize;
                self.array(lua, n, depth)?
            }
            0xdd => {
                let n = self.be(4)? as usize;
                self.array(lua, n, depth)?
            }
            0xde => {
                let n = self.be(2)? as usize;
                self.map(lua, n, depth)?
            }
            0xdf => {
                let n = self.be(4)? as usize;
                self.map(lua, n, depth)?
            }
            0xe0..=0xff => Value::Integer(i64::from(tag as i8)),
            _ => return Err(mlua::Error::runtime("Bad data format in input.")),
        })
    }

    fn array(&mut self, lua: &Lua, n: usize, depth: usize) -> mlua::Result<Value> {
        // Every element takes at least a byte: a count beyond the input is damage.
        if n > self.buf.len() - self.at {
            return Err(missing());
        }
        let t = lua.create_table_with_capacity(n, 0)?;
        for i in 1..=n {
            t.raw_set(i, self.value(lua, depth + 1)?)?;
        }
        Ok(Value::Table(t))
    }

    fn map(&mut self, lua: &Lua, n: usize, depth: usize) -> mlua::Result<Value> {
        if n > (self.buf.len() - self.at) / 2 {
            return Err(missing());
        }
        let t = lua.create_table_with_capacity(0, n)?;
        for _ in 0..n {
            let k = self.value(lua, depth + 1)?;
            let v = self.value(lua, depth + 1)?;
            if !matches!(k, Value::Nil) {
                t.raw_set(k, v)?;
            }
        }
        Ok(Value::Table(t))
    }
}

fn cmsgpack(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "pack",
        lua.create_function(|lua, args: MultiValue| {
            if args.is_empty() {
                return Err(mlua::Error::runtime("MessagePack pack needs input."));
            }
            let mut out = Vec::new();
            for v in args.iter() {
                encode_mp(&mut out, v, 0)?;
            }
            lua.create_string(out)
        })?,
    )?;
    let unpack = |limit: Option<usize>, with_offset: bool| {
        move |lua: &Lua, (s, a, b): (mlua::String, Option<i64>, Option<i64>)| {
            let bytes = s.as_bytes();
            let (limit, offset) = if with_offset {
                (
                    a.map(|n| n.max(0) as usize).or(limit),
                    b.unwrap_or(0).max(0) as usize,
                )
            } else {
                (limit, 0)
            };
            let mut r = MpReader {
                buf: &bytes,
                at: offset.min(bytes.len()),
            };
            let mut out = Vec::new();
            while r.at < r.buf.len() && limit.is_none_or(|l| out.len() < l) {
                out.push(r.value(lua, 0)?);
            }
            if with_offset {
                let next = if r.at >= r.buf.len() { -1 } else { r.at as i64 };
                out.insert(0, Value::Integer(next));
            }
            Ok(MultiValue::from_iter(out))
        }
    };
    t.raw_set("unpack", lua.create_function(unpack(None, false))?)?;
    t.raw_set("unpack_one", lua.create_function(unpack(Some(1), true))?)?;
    t.raw_set("unpack_limit", lua.create_function(unpack(None, true))?)?;
    Ok(t)
}

// ---- struct --------------------------------------------------------------------------------

/// Largest integer lua-struct packs.
const MAX_INT_SIZE: usize = 32;

fn bad(n: usize, what: &str, msg: &str) -> mlua::Error {
    mlua::Error::runtime(format!("bad argument #{n} to '{what}' ({msg})"))
}

/// One parsed format option: the letter and its size (0 = not fixed, for `s`).
struct Opt {
    letter: u8,
    size: usize,
}

/// Reads lua-struct format strings.
struct Format<'a> {
    f: &'a [u8],
    at: usize,
    little: bool,
    max_align: usize,
    what: &'static str,
}

impl Format<'_> {
    fn number(&mut self) -> Option<usize> {
        let start = self.at;
        while self.at < self.f.len() && self.f[self.at].is_ascii_digit() {
            self.at += 1;
        }
        std::str::from_utf8(&self.f[start..self.at])
            .ok()?
            .parse()
            .ok()
    }

    /// The next data option, after applying endianness and alignment options.
    fn next(&mut self) -> mlua::Result<Option<Opt>> {
        while let Some(&c) = self.f.get(self.at) {
            self.at += 1;
            let size = match c {
                b' ' => continue,
                b'<' | b'=' => {
                    self.little = true;
                    continue;
                }
                b'>' => {
                    self.little = false;
                    continue;
                }
                b'!' => {
                    let a = self.number().unwrap_or(8);
                    if !a.is_power_of_two() {
                        return Err(bad(1, self.what, "alignment must be power of 2"));
                    }
                    self.max_align = a;
                    continue;
                }
                b'x' | b'b' | b'B' => 1,
                b'h' | b'H' => 2,
                b'l' | b'L' | b'T' | b'd' => 8,
                b'f' => 4,
                b'i' | b'I' => {
                    let n = self.number().unwrap_or(4);
                    if n > MAX_INT_SIZE {
                        return Err(mlua::Error::runtime(format!(
                            "integral size {n} is larger than limit of {MAX_INT_SIZE}"
                        )));
                    }
                    n
                }
                b'c' => self.number().unwrap_or(1),
                b's' => 0,
                other => {
                    return Err(bad(
                        1,
                        self.what,
                        &format!("invalid format option '{}'", other as char),
                    ))
                }
            };
            return Ok(Some(Opt { letter: c, size }));
        }
        Ok(None)
    }

    /// Padding before a field of `size` at offset `len`.
    fn pad(&self, len: usize, opt: &Opt) -> usize {
        if opt.size <= 1 || opt.letter == b'c' {
            return 0;
        }
        let align = opt.size.min(self.max_align);
        (align - (len & (align - 1))) & (align - 1)
    }
}

fn format<'a>(f: &'a [u8], what: &'static str) -> Format<'a> {
    Format {
        f,
        at: 0,
        little: cfg!(target_endian = "little"),
        max_align: 1,
        what,
    }
}

fn put_int(out: &mut Vec<u8>, v: i64, size: usize, little: bool) {
    let mut bytes: Vec<u8> = (0..size)
        .map(|i| {
            if i < 8 {
                (v >> (8 * i)) as u8
            } else if v < 0 {
                0xff
            } else {
                0
            }
        })
        .collect();
    if !little {
        bytes.reverse();
    }
    out.extend_from_slice(&bytes);
}

fn get_int(b: &[u8], signed: bool, little: bool) -> f64 {
    let mut v: u64 = 0;
    let n = b.len();
    for i in 0..n.min(8) {
        let byte = if little { b[i] } else { b[n - 1 - i] };
        v |= u64::from(byte) << (8 * i);
    }
    if signed && n < 8 && n > 0 {
        let shift = 64 - 8 * n as u32;
        return ((v << shift) as i64 >> shift) as f64;
    }
    if signed {
        v as i64 as f64
    } else {
        v as f64
    }
}

fn structlib(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "pack",
        lua.create_function(|lua, args: MultiValue| {
            let mut args = args.into_iter();
            let f = match args.next() {
                Some(Value::String(s)) => s.as_bytes().to_vec(),
                _ => return Err(bad(1, "pack", "string expected")),
            };
            let mut fmt = format(&f, "pack");
            let mut out = Vec::new();
            let mut argn = 1;
            while let Some(opt) = fmt.next()? {
                let pad = fmt.pad(out.len(), &opt);
                out.resize(out.len() + pad, 0);
                if opt.letter == b'x' {
                    out.push(0);
                    continue;
                }
                argn += 1;
                let arg = args.next().unwrap_or(Value::Nil);
                match opt.letter {
                    b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                        let n = number(&arg, "pack")
                            .map_err(|_| bad(argn, "pack", "number expected"))?;
                        let v = if n < 0.0 { n as i64 } else { n as u64 as i64 };
                        put_int(&mut out, v, opt.size, fmt.little);
                    }
                    b'f' | b'd' => {
                        let n = number(&arg, "pack")
                            .map_err(|_| bad(argn, "pack", "number expected"))?;
                        let mut bytes = if opt.letter == b'f' {
                            (n as f32).to_le_bytes().to_vec()
                        } else {
                            n.to_le_bytes().to_vec()
                        };
                        if !fmt.little {
                            bytes.reverse();
                        }
                        out.extend_from_slice(&bytes);
                    }
                    b'c' | b's' => {
                        let s = match &arg {
                            Value::String(s) => s.as_bytes().to_vec(),
                            Value::Integer(i) => i.to_string().into_bytes(),
                            Value::Number(n) => fmt_g14(*n).into_bytes(),
                            _ => return Err(bad(argn, "pack", "string expected")),
                        };
                        if opt.letter == b's' {
                            out.extend_from_slice(&s);
                            out.push(0);
                        } else {
                            let size = if opt.size == 0 { s.len() } else { opt.size };
                            if s.len() < size {
                                return Err(bad(argn, "pack", "string too short"));
                            }
                            out.extend_from_slice(&s[..size]);
                        }
                    }
                    _ => {}
                }
            }
            lua.create_string(out)
        })?,
    )?;
    t.raw_set(
        "unpack",
        lua.create_function(
            |lua, (f, data, init): (mlua::String, mlua::String, Option<i64>)| {
                let f = f.as_bytes().to_vec();
                let data = data.as_bytes().to_vec();
                let mut fmt = format(&f, "unpack");
                let mut pos = match init {
                    Some(i) if i >= 1 => (i - 1) as usize,
                    Some(_) => return Err(bad(3, "unpack", "offset must be 1 or greater")),
                    None => 0,
                };
                let mut out: Vec<Value> = Vec::new();
                let short = || bad(2, "unpack", "data string too short");
                while let Some(opt) = fmt.next()? {
                    pos += fmt.pad(pos, &opt);
                    match opt.letter {
                        b'x' => {
                            if pos + 1 > data.len() {
                                return Err(short());
                            }
                            pos += 1;
                        }
                        b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                            let b = data.get(pos..pos + opt.size).ok_or_else(short)?;
                            let signed = opt.letter.is_ascii_lowercase();
                            let v = get_int(b, signed, fmt.little);
                            out.push(if v.fract() == 0.0 && v.abs() < 9.0e15 {
                                Value::Integer(v as i64)
                            } else {
                                Value::Number(v)
                            });
                            pos += opt.size;
                        }
                        b'f' | b'd' => {
                            let b = data.get(pos..pos + opt.size).ok_or_else(short)?;
                            let mut bytes = b.to_vec();
                            if !fmt.little {
                                bytes.reverse();
                            }
                            let v = if opt.letter == b'f' {
                                let mut a = [0u8; 4];
                                a.copy_from_slice(&bytes);
                                f64::from(f32::from_le_bytes(a))
                            } else {
                                let mut a = [0u8; 8];
                                a.copy_from_slice(&bytes);
                                f64::from_le_bytes(a)
                            };
                            out.push(Value::Number(v));
                            pos += opt.size;
                        }
                        b'c' => {
                            let size = if opt.size == 0 {
                                match out.pop() {
                                    Some(Value::Integer(n)) if n >= 0 => n as usize,
                                    Some(Value::Number(n)) if n >= 0.0 => n as usize,
                                    _ => {
                                        return Err(mlua::Error::runtime(
                                            "format 'c0' needs a previous size",
                                        ))
                                    }
                                }
                            } else {
                                opt.size
                            };
                            let b = data.get(pos..pos + size).ok_or_else(short)?;
                            out.push(Value::String(lua.create_string(b)?));
                            pos += size;
                        }
                        b's' => {
                            let rest = data.get(pos..).unwrap_or_default();
                            let end = rest
                                .iter()
                                .position(|&c| c == 0)
                                .ok_or_else(|| mlua::Error::runtime("unfinished string in data"))?;
                            out.push(Value::String(lua.create_string(&rest[..end])?));
                            pos += end + 1;
                        }
                        _ => {}
                    }
                }
                out.push(Value::Integer(pos as i64 + 1));
                Ok(MultiValue::from_iter(out))
            },
        )?,
    )?;
    t.raw_set(
        "size",
        lua.create_function(|_, f: mlua::String| {
            let f = f.as_bytes().to_vec();
            let mut fmt = format(&f, "size");
            let mut total = 0usize;
            while let Some(opt) = fmt.next()? {
                if opt.letter == b's' {
                    return Err(bad(1, "size", "option 's' has no fixed size"));
                }
                total += fmt.pad(total, &opt) + opt.size;
            }
            Ok(total)
        })?,
    )?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_format_like_printf_g14() {
        for (x, s) in [
            (1.0, "1"),
            (1.5, "1.5"),
            (0.1, "0.1"),
            (1e20, "1e+20"),
            (123456789012345.0, "1.2345678901234e+14"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.25, "-2.25"),
            (1.0 / 3.0, "0.33333333333333"),
        ] {
            assert_eq!(fmt_g14(x), s, "{x}");
        }
    }

    #[test]
    fn decoders_never_panic_on_random_bytes() {
        // cjson.decode and cmsgpack.unpack read bytes scripts get from clients.
        let lua = Lua::new();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for round in 0..20_000 {
            let len = round % 40;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    b"{}[]:,\"\\0123456789-+.eEtrufalsn \xc0\x92\xdc\xde\xcc\xa3\xff"
                        [(x % 38) as usize]
                })
                .collect();
            let _ = json_decode(&lua, &bytes);
            let mut r = MpReader { buf: &bytes, at: 0 };
            while r.at < r.buf.len() {
                if r.value(&lua, 0).is_err() {
                    break;
                }
            }
        }
        // Deep nesting is refused, not a stack overflow.
        let deep = "[".repeat(5000);
        assert!(json_decode(&lua, deep.as_bytes()).is_err());
        let deep = vec![0x91u8; 5000];
        assert!(MpReader { buf: &deep, at: 0 }.value(&lua, 0).is_err());
    }

    #[test]
    fn bit_ops_match_luabitop() {
        assert_eq!(tobit(4294967295.0), -1);
        assert_eq!(tobit(2147483648.0), -2147483648);
        assert_eq!(tobit(-1.0), -1);
    }
}
