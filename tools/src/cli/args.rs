//! Command-line flags, compatible with redis-cli where they overlap, and `-u` URIs.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{ArgAction, Parser};

use super::reply::Format;

/// Vole's default port.
pub const DEFAULT_PORT: u16 = 7379;

/// `vole-cli [OPTIONS] [COMMAND [ARG ...]]`
#[derive(Parser, Debug)]
#[command(
    name = "vole-cli",
    version,
    disable_help_flag = true,
    disable_version_flag = true,
    args_override_self = true,
    about = "A command-line client for Vole (and any RESP server), compatible with redis-cli.",
    after_help = "With a command, runs it and exits (exit code 1 on an error reply or a failed \
connection). Without one, starts the interactive shell when stdin is a terminal, or runs each \
line of stdin as a command when it is not.\n\n\
Output is redis-cli's terminal format when stdout is a terminal and the raw format otherwise; \
--no-raw, --raw and --csv choose (the last one given wins).\n\n\
Password: -a/--pass, the password in -u, or the VOLECLI_AUTH / REDISCLI_AUTH environment \
variable (which keeps it out of shell history and `ps`).\n\n\
Examples:\n  vole-cli SET hello world\n  vole-cli -h 10.0.0.5 -p 7379 PING\n  \
vole-cli -u rediss://default:secret@host:7379/2 --cacert ca.pem DBSIZE\n  \
vole-cli -r 5 -i 1 INFO memory\n  cat value.bin | vole-cli -x SET blob\n  \
vole-cli --pipe < commands.resp\n\nSee docs/vole-cli.md."
)]
pub struct Args {
    /// Server hostname.
    #[arg(short = 'h', value_name = "HOSTNAME", default_value = "127.0.0.1")]
    pub host: String,
    /// Server port.
    #[arg(short = 'p', value_name = "PORT", default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// Password (AUTH). Prefer the VOLECLI_AUTH or REDISCLI_AUTH environment variable.
    #[arg(short = 'a', long = "pass", value_name = "PASSWORD")]
    pub pass: Option<String>,
    /// Username for AUTH (with a password).
    #[arg(long = "user", value_name = "USERNAME")]
    pub user: Option<String>,
    /// Do not warn about a password given on the command line.
    #[arg(long = "no-auth-warning")]
    pub no_auth_warning: bool,
    /// Database number to SELECT after connecting.
    #[arg(short = 'n', value_name = "DB")]
    pub db: Option<i64>,
    /// Server URI: redis://[[user]:pass@]host[:port][/db], or rediss:// for TLS.
    #[arg(short = 'u', value_name = "URI")]
    pub uri: Option<String>,
    /// Talk RESP3 (sends HELLO 3 after connecting).
    #[arg(short = '3')]
    pub resp3: bool,
    /// Talk RESP2 (the default).
    #[arg(short = '2', conflicts_with = "resp3")]
    pub resp2: bool,
    /// Connect with TLS.
    #[arg(long = "tls")]
    pub tls: bool,
    /// Server name for TLS (SNI and certificate check); defaults to the host.
    #[arg(long = "sni", value_name = "HOST")]
    pub sni: Option<String>,
    /// PEM file of CA certificates to trust (default: the Mozilla root set).
    #[arg(long = "cacert", value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// PEM client certificate, for servers that ask for one (with --key).
    #[arg(long = "cert", value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// PEM private key of the client certificate.
    #[arg(long = "key", value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Do not verify the server's certificate (testing only).
    #[arg(long = "insecure")]
    pub insecure: bool,
    /// Run the command COUNT times (-1: forever).
    #[arg(short = 'r', value_name = "COUNT", allow_negative_numbers = true)]
    pub repeat: Option<i64>,
    /// Wait SECONDS between repeats (fractions allowed: -i 0.1).
    #[arg(short = 'i', value_name = "SECONDS")]
    pub interval: Option<f64>,
    /// Read the last argument of the command from stdin.
    #[arg(short = 'x')]
    pub stdin_arg: bool,
    /// Delimiter between elements of an aggregate in raw output (default \n).
    #[arg(short = 'd', value_name = "DELIMITER")]
    pub delim: Option<String>,
    /// Raw output, even when stdout is a terminal.
    #[arg(long = "raw", action = ArgAction::SetTrue, overrides_with_all = ["no_raw", "csv"])]
    pub raw: bool,
    /// Terminal-style output (`(integer) 1`, quoted strings), even when stdout is not a terminal.
    #[arg(long = "no-raw", action = ArgAction::SetTrue, overrides_with_all = ["raw", "csv"])]
    pub no_raw: bool,
    /// CSV output.
    #[arg(long = "csv", action = ArgAction::SetTrue, overrides_with_all = ["raw", "no_raw"])]
    pub csv: bool,
    /// Mass insertion: send raw RESP from stdin, count replies and errors.
    #[arg(long = "pipe")]
    pub pipe: bool,
    /// With --pipe: give up after this many seconds without a reply (0: wait forever).
    #[arg(long = "pipe-timeout", value_name = "SECONDS", default_value_t = 30)]
    pub pipe_timeout: u64,
    /// Print help.
    #[arg(long = "help", action = ArgAction::Help)]
    pub help: Option<bool>,
    /// Print the version.
    #[arg(short = 'v', long = "version", action = ArgAction::Version)]
    pub version: Option<bool>,
    /// The command and its arguments.
    #[arg(
        value_name = "COMMAND",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<OsString>,
}

impl Args {
    /// The output format: the flag given last, else by whether stdout is a terminal.
    pub fn format(&self, stdout_tty: bool) -> Format {
        if self.csv {
            Format::Csv
        } else if self.raw {
            Format::Raw
        } else if self.no_raw || stdout_tty {
            Format::Tty
        } else {
            Format::Raw
        }
    }
}

/// Where and how to connect, after flags, URI and environment are combined.
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub user: Option<String>,
    pub pass: Option<String>,
    pub db: i64,
    pub tls: bool,
    pub sni: Option<String>,
    pub cacert: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub insecure: bool,
    pub resp3: bool,
}

/// A parsed `redis://` / `rediss://` URI.
#[derive(Debug, Default, PartialEq)]
pub struct Uri {
    pub tls: bool,
    pub user: Option<String>,
    pub pass: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub db: Option<i64>,
}

/// Parses `redis[s]://[[user][:pass]@]host[:port][/db]` (user and password percent-decoded,
/// an IPv6 host in brackets). Errors name what is wrong, as a one-line message.
pub fn parse_uri(uri: &str) -> Result<Uri, String> {
    let (tls, rest) = if let Some(r) = uri.strip_prefix("rediss://") {
        (true, r)
    } else if let Some(r) = uri.strip_prefix("redis://") {
        (false, r)
    } else {
        return Err(format!(
            "Invalid URI scheme in '{uri}' (use redis:// or rediss://)"
        ));
    };
    let mut out = Uri {
        tls,
        ..Uri::default()
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    let hostport = match authority.rfind('@') {
        Some(i) => {
            let userinfo = &authority[..i];
            match userinfo.find(':') {
                Some(j) => {
                    let user = percent_decode(&userinfo[..j])?;
                    if !user.is_empty() {
                        out.user = Some(user);
                    }
                    out.pass = Some(percent_decode(&userinfo[j + 1..])?);
                }
                // redis-cli: a lone userinfo is the password.
                None => out.pass = Some(percent_decode(userinfo)?),
            }
            &authority[i + 1..]
        }
        None => authority,
    };
    let (host, port) = if let Some(h) = hostport.strip_prefix('[') {
        match h.find(']') {
            Some(j) => (&h[..j], h[j + 1..].strip_prefix(':')),
            None => return Err(format!("Invalid IPv6 host in URI '{uri}'")),
        }
    } else {
        match hostport.rfind(':') {
            Some(j) => (&hostport[..j], Some(&hostport[j + 1..])),
            None => (hostport, None),
        }
    };
    if !host.is_empty() {
        out.host = Some(host.to_string());
    }
    if let Some(p) = port.filter(|p| !p.is_empty()) {
        out.port = Some(
            p.parse()
                .map_err(|_| format!("Invalid port '{p}' in URI '{uri}'"))?,
        );
    }
    let path = path.split(['?', '#']).next().unwrap_or_default();
    if !path.is_empty() {
        out.db = Some(
            path.parse()
                .map_err(|_| format!("Invalid database '{path}' in URI '{uri}'"))?,
        );
    }
    Ok(out)
}

fn percent_decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("Invalid percent-encoding in '{s}'"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("Invalid UTF-8 in '{s}'"))
}

/// Combines flags, the URI and the environment (`env` looks a variable up) into a target.
/// Flags given explicitly win over the URI, as in redis-cli where later flags override.
pub fn target(
    args: &Args,
    env: &dyn Fn(&str) -> Option<String>,
    explicit: &dyn Fn(&str) -> bool,
) -> Result<Target, String> {
    let mut t = Target {
        host: args.host.clone(),
        port: args.port,
        user: args.user.clone(),
        pass: args.pass.clone(),
        db: args.db.unwrap_or(0),
        tls: args.tls,
        sni: args.sni.clone(),
        cacert: args.cacert.clone(),
        cert: args.cert.clone(),
        key: args.key.clone(),
        insecure: args.insecure,
        resp3: args.resp3,
    };
    if let Some(uri) = &args.uri {
        let u = parse_uri(uri)?;
        t.tls |= u.tls;
        if let (Some(h), false) = (u.host, explicit("host")) {
            t.host = h;
        }
        if let (Some(p), false) = (u.port, explicit("port")) {
            t.port = p;
        }
        if t.user.is_none() {
            t.user = u.user;
        }
        if t.pass.is_none() {
            t.pass = u.pass;
        }
        if let (Some(db), false) = (u.db, explicit("db")) {
            t.db = db;
        }
    }
    if t.pass.is_none() {
        t.pass = env("VOLECLI_AUTH").or_else(|| env("REDISCLI_AUTH"));
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris() {
        // Scheme, credentials (percent-decoded), host, port, IPv6 and database are read.
        assert_eq!(
            parse_uri("rediss://alice:p%40ss@example.com:6390/3"),
            Ok(Uri {
                tls: true,
                user: Some("alice".into()),
                pass: Some("p@ss".into()),
                host: Some("example.com".into()),
                port: Some(6390),
                db: Some(3),
            })
        );
        assert_eq!(
            parse_uri("redis://:secret@[::1]:7000"),
            Ok(Uri {
                pass: Some("secret".into()),
                host: Some("::1".into()),
                port: Some(7000),
                ..Uri::default()
            })
        );
        assert_eq!(
            parse_uri("redis://h").map(|u| (u.host, u.port)),
            Ok((Some("h".into()), None))
        );
        assert!(parse_uri("http://h").is_err());
        assert!(parse_uri("redis://h:notaport").is_err());
        assert!(parse_uri("redis://h/x").is_err());
    }

    #[test]
    fn password_sources() {
        // -a wins over the URI, the URI over VOLECLI_AUTH, which wins over REDISCLI_AUTH.
        let parse = |v: &[&str]| Args::try_parse_from(v).expect("args");
        let env = |k: &str| match k {
            "VOLECLI_AUTH" => Some("vole".to_string()),
            "REDISCLI_AUTH" => Some("redis".to_string()),
            _ => None,
        };
        let no = |_: &str| false;
        let t = |a: &Args| target(a, &env, &no).expect("target").pass;
        assert_eq!(t(&parse(&["vole-cli", "-a", "x"])), Some("x".into()));
        assert_eq!(
            t(&parse(&["vole-cli", "-u", "redis://:u@h"])),
            Some("u".into())
        );
        assert_eq!(t(&parse(&["vole-cli"])), Some("vole".into()));
        let only_redis = |k: &str| (k == "REDISCLI_AUTH").then(|| "redis".to_string());
        assert_eq!(
            target(&parse(&["vole-cli"]), &only_redis, &no)
                .expect("target")
                .pass,
            Some("redis".into())
        );
    }

    #[test]
    fn flags() {
        // Short flags as redis-cli spells them; the command keeps its own dashes.
        let a = Args::try_parse_from([
            "vole-cli", "-h", "h1", "-p", "1234", "-n", "2", "-r", "3", "-i", "0.5", "--raw",
            "--csv", "SET", "k", "-1",
        ])
        .expect("args");
        assert_eq!((a.host.as_str(), a.port, a.db), ("h1", 1234, Some(2)));
        assert_eq!((a.repeat, a.interval), (Some(3), Some(0.5)));
        assert_eq!(a.format(false), Format::Csv);
        assert_eq!(a.command, vec!["SET", "k", "-1"]);
        let a = Args::try_parse_from(["vole-cli", "--csv", "--no-raw"]).expect("args");
        assert_eq!(a.format(false), Format::Tty);
        let a = Args::try_parse_from(["vole-cli"]).expect("args");
        assert_eq!(
            (a.format(false), a.format(true)),
            (Format::Raw, Format::Tty)
        );
        assert_eq!(a.port, DEFAULT_PORT);
    }
}
