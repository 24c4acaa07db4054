//! Printing bytes and times safely: redis-cli style quoting for people, JSON strings (or
//! base64) for programs, UTC timestamps without a date crate.

use std::fmt::Write as _;

/// Longest value shown whole in text output, in bytes; longer ones are cut with a note of how
/// many bytes were left out (JSON output is never cut).
pub const TEXT_VALUE_MAX_BYTES: usize = 1024;

/// Quotes `bytes` as redis-cli does (`sdscatrepr`): printable ASCII as is, `\\`, `\"`, `\n`,
/// `\r`, `\t`, `\a`, `\b` escaped, every other byte (UTF-8 included) as `\xHH`.
pub fn quote(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    push_quoted(&mut out, bytes);
    out
}

/// Appends [`quote`]`(bytes)` to `out`.
pub fn push_quoted(out: &mut String, bytes: &[u8]) {
    out.push('"');
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push('"');
}

/// Appends [`quote`] of at most [`TEXT_VALUE_MAX_BYTES`] of `bytes`, then `...(+N bytes)`
/// when some were left out.
pub fn push_quoted_capped(out: &mut String, bytes: &[u8]) {
    match bytes.get(..TEXT_VALUE_MAX_BYTES) {
        Some(head) if head.len() < bytes.len() => {
            push_quoted(out, head);
            let _ = write!(out, "...(+{} bytes)", bytes.len() - head.len());
        }
        _ => push_quoted(out, bytes),
    }
}

/// Appends `s` as a JSON string literal (RFC 8259: `"`, `\` and control characters escaped).
pub fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends binary-safe JSON for `bytes`: a JSON string when they are valid UTF-8, otherwise
/// an object `{"base64":"..."}` (standard alphabet, padded).
pub fn push_json_bytes(out: &mut String, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(s) => push_json_str(out, s),
        Err(_) => {
            out.push_str("{\"base64\":\"");
            push_base64(out, bytes);
            out.push_str("\"}");
        }
    }
}

/// Appends `Some(v)` as a JSON number, `None` as `null`.
pub fn push_json_opt<T: std::fmt::Display>(out: &mut String, v: Option<T>) {
    match v {
        Some(v) => {
            let _ = write!(out, "{v}");
        }
        None => out.push_str("null"),
    }
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Appends `bytes` in standard base64 with `=` padding (RFC 4648 section 4).
pub fn push_base64(out: &mut String, bytes: &[u8]) {
    let sym = |i: u32| char::from(BASE64[(i & 63) as usize]);
    for chunk in bytes.chunks(3) {
        let b = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (b(0) << 16) | (b(1) << 8) | b(2);
        out.push(sym(n >> 18));
        out.push(sym(n >> 12));
        out.push(if chunk.len() > 1 { sym(n >> 6) } else { '=' });
        out.push(if chunk.len() > 2 { sym(n) } else { '=' });
    }
}

/// `ms` since the Unix epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ` (proleptic Gregorian, UTC).
pub fn utc(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}

/// Year, month, day of the day `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A hybrid logical clock stamp (`milliseconds << 16 | counter`) for people:
/// `2023-11-14T22:13:20.000Z#3`.
pub fn hlc(stamp: u64) -> String {
    let ms = i64::try_from(stamp >> 16).unwrap_or(i64::MAX);
    format!("{}#{}", utc(ms), stamp & 0xffff)
}

/// `n` bytes with a binary unit: `512 B`, `1.5 KiB`, `64.0 MiB`.
pub fn size(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = UNITS[0];
    for u in &UNITS[1..] {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    format!("{v:.1} {unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_matches_redis_cli() {
        // Proves bytes are quoted the way redis-cli prints them.
        assert_eq!(quote(b"plain key"), "\"plain key\"");
        assert_eq!(quote(b"a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(quote(b"\n\r\t\x07\x08"), "\"\\n\\r\\t\\a\\b\"");
        assert_eq!(quote(b"\x00\x7f\xff"), "\"\\x00\\x7f\\xff\"");
        assert_eq!(quote("é".as_bytes()), "\"\\xc3\\xa9\"");
    }

    #[test]
    fn capped_quote_says_what_it_left_out() {
        // Proves a long value is cut at the limit with the count of bytes left out.
        let long = vec![b'a'; TEXT_VALUE_MAX_BYTES + 5];
        let mut out = String::new();
        push_quoted_capped(&mut out, &long);
        assert!(out.ends_with("\"...(+5 bytes)"));
        let mut out = String::new();
        push_quoted_capped(&mut out, b"short");
        assert_eq!(out, "\"short\"");
    }

    #[test]
    fn json_is_binary_safe() {
        // Proves UTF-8 becomes a JSON string with escapes and other bytes become base64.
        let mut out = String::new();
        push_json_bytes(&mut out, "q\"\\\n\u{1}é".as_bytes());
        assert_eq!(out, "\"q\\\"\\\\\\n\\u0001é\"");
        let mut out = String::new();
        push_json_bytes(&mut out, b"\xff\x00");
        assert_eq!(out, "{\"base64\":\"/wA=\"}");
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        // Proves the encoder against the test vectors of RFC 4648 section 10.
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (raw, want) in cases {
            let mut out = String::new();
            push_base64(&mut out, raw.as_bytes());
            assert_eq!(out, want, "{raw:?}");
        }
    }

    #[test]
    fn utc_formats_known_instants() {
        // Proves the calendar conversion at the epoch, a leap day, and before the epoch.
        assert_eq!(utc(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(utc(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(utc(1_700_000_000_000), "2023-11-14T22:13:20.000Z");
        assert_eq!(utc(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(
            hlc((1_700_000_000_000 << 16) | 3),
            "2023-11-14T22:13:20.000Z#3"
        );
    }

    #[test]
    fn sizes_use_binary_units() {
        // Proves byte counts are shown with the right unit.
        assert_eq!(size(0), "0 B");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(64 << 20), "64.0 MiB");
    }
}
