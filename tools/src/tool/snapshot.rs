//! `vole-tool snapshot info|verify|export FILE`.
//!
//! The file format and its checks belong to [`vole_wal::snapshot`]; what an entry means
//! (namespace, key, expiry, value) to [`vole_engine::persist`]. `verify` and `export` read
//! every block through [`vole_wal::snapshot::SnapshotReader::raw_blocks`] and decode each one
//! on its own, so a damaged block is reported and the blocks after it are still checked (and
//! exported); only damage to the block framing itself ends the walk.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::Path;

use bytes::BytesMut;
use vole_engine::keyspace::NUMBERED_DBS;
use vole_engine::persist::{decode_app_meta, decode_entry, DecodedEntry};
use vole_engine::resp::encode_command;
use vole_wal::snapshot::{BlockDecoder, SnapshotError, SnapshotFile, BLOCK_HEADER_LEN};

use super::progress::Progress;
use super::text::{self, push_json_bytes, push_json_opt, push_json_str};
use super::wal::{json_value, plural};
use super::{Env, ExportFormat, Outcome, ToolError};

/// RESP output is handed to the writer in pieces of about this many bytes.
const RESP_FLUSH_BYTES: usize = 64 << 10;

/// Opens a snapshot, telling I/O errors (exit 2) from a refused header or trailer (damage).
fn open(path: &Path) -> Result<Result<SnapshotFile, SnapshotError>, ToolError> {
    match SnapshotFile::open(path) {
        Ok(file) => Ok(Ok(file)),
        Err(SnapshotError::Io(e)) => Err(ToolError::io(path, e)),
        Err(e) => Ok(Err(e)),
    }
}

/// The namespace names of a snapshot: the numbered databases plus its namespace table.
struct Namespaces {
    named: BTreeMap<u32, String>,
}

impl Namespaces {
    /// The name a namespace id has: `default` for 0, `1`..`15`, or the table's name.
    fn name(&self, id: u32) -> Option<String> {
        match id {
            0 => Some("default".to_owned()),
            id if id < NUMBERED_DBS => Some(id.to_string()),
            id => self.named.get(&id).cloned(),
        }
    }
}

/// The namespace table in the snapshot's metadata; a problem line when it does not decode.
fn namespaces(path: &Path, app: &[u8]) -> (Namespaces, Option<String>) {
    match decode_app_meta(app) {
        Ok(list) => (
            Namespaces {
                named: list.into_iter().collect(),
            },
            None,
        ),
        Err(e) => (
            Namespaces {
                named: BTreeMap::new(),
            },
            Some(format!(
                "{}: namespace table (application metadata at offset 32): {e}",
                path.display()
            )),
        ),
    }
}

/// `snapshot info FILE`: the header and trailer, without reading blocks.
///
/// Errors if the file cannot be read; a refused header or trailer is damage (exit 1).
pub fn info(path: &Path, env: &mut Env<'_>) -> Result<Outcome, ToolError> {
    let file = match open(path)? {
        Ok(f) => f,
        Err(e) => {
            writeln!(env.out, "{}: damaged: {e}", path.display())?;
            return Ok(Outcome::Damaged);
        }
    };
    let reader = match file.reader() {
        Ok(r) => r,
        Err(e) => {
            writeln!(env.out, "{}: damaged: {e}", path.display())?;
            return Ok(Outcome::Damaged);
        }
    };
    let meta = reader.meta();
    let trailer = reader.trailer();
    let version = file
        .bytes()
        .get(8..10)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u16::from_le_bytes);
    let (ns, problem) = namespaces(path, &meta.app);
    let mut names = String::from("default, 1..15 (numbered)");
    for (id, name) in &ns.named {
        let _ = write!(names, "; ");
        text::push_quoted(&mut names, name.as_bytes());
        let _ = write!(names, " (id {id})");
    }
    let o = &mut *env.out;
    writeln!(o, "file:        {}", path.display())?;
    writeln!(o, "version:     {version}")?;
    writeln!(o, "lsn:         {}", meta.lsn)?;
    writeln!(
        o,
        "created:     {} ({} ms since the epoch)",
        text::utc(meta.created_unix_ms),
        meta.created_unix_ms
    )?;
    writeln!(o, "entries:     {}", trailer.entries)?;
    writeln!(o, "blocks:      {}", trailer.blocks)?;
    writeln!(
        o,
        "raw bytes:   {} ({}, before compression)",
        trailer.raw_bytes,
        text::size(trailer.raw_bytes)
    )?;
    let len = file.bytes().len() as u64;
    writeln!(o, "bytes:       {len} ({})", text::size(len))?;
    writeln!(o, "namespaces:  {names}")?;
    writeln!(
        o,
        "(header and trailer checked; run `vole-tool snapshot verify` to read every block)"
    )?;
    if let Some(p) = problem {
        writeln!(o, "damaged: {p}")?;
        return Ok(Outcome::Damaged);
    }
    Ok(Outcome::Clean)
}

/// What walking every block found.
struct Walked {
    entries: u64,
    blocks: u64,
    problems: Vec<String>,
}

/// Decodes every block and entry of `file`, handing each good entry to `visit` with its
/// namespace name. Damage is collected, not returned: only `visit`'s errors stop the walk.
fn walk(
    path: &Path,
    file: &SnapshotFile,
    progress: bool,
    mut visit: impl FnMut(&DecodedEntry<'_>, &str) -> Result<(), ToolError>,
) -> Result<Walked, ToolError> {
    let mut walked = Walked {
        entries: 0,
        blocks: 0,
        problems: Vec::new(),
    };
    let shown = path.display();
    let reader = match file.reader() {
        Ok(r) => r,
        Err(e) => {
            walked.problems.push(format!("{shown}: {e}"));
            return Ok(walked);
        }
    };
    let (ns, problem) = namespaces(path, &reader.meta().app);
    walked.problems.extend(problem);
    let mut decoder = BlockDecoder::new()
        .map_err(|e| ToolError::Usage(format!("{shown}: cannot start zstd: {e}")))?;
    let bar = Progress::bytes(file.bytes().len() as u64, "reading blocks", progress);
    for raw in reader.raw_blocks() {
        let raw = match raw {
            Ok(raw) => raw,
            Err(e) => {
                walked.problems.push(format!("{shown}: {e}"));
                break;
            }
        };
        bar.set(raw.offset() + (BLOCK_HEADER_LEN + raw.compressed().len()) as u64);
        let block = match raw.decode_with(&mut decoder) {
            Ok(block) => block,
            Err(e) => {
                let lost = match raw.entry_count() {
                    1 => "its entry is".to_owned(),
                    n => format!("its {n} entries are"),
                };
                walked
                    .problems
                    .push(format!("{shown}: {e} ({lost} unreadable)"));
                continue;
            }
        };
        walked.blocks += 1;
        let at = |j: usize| {
            format!(
                "{shown}: snapshot block {} at offset {}: entry {j}",
                block.index(),
                block.offset()
            )
        };
        for (j, entry) in block.entries().enumerate() {
            let bytes = match entry {
                Ok(bytes) => bytes,
                Err(e) => {
                    walked.problems.push(format!("{shown}: {e}"));
                    break;
                }
            };
            let decoded = match decode_entry(bytes) {
                Ok(d) => d,
                Err(e) => {
                    walked.problems.push(format!("{}: {e}", at(j)));
                    continue;
                }
            };
            let Some(name) = ns.name(decoded.db) else {
                walked.problems.push(format!(
                    "{}: namespace id {} is not in the snapshot's namespace table",
                    at(j),
                    decoded.db
                ));
                continue;
            };
            walked.entries += 1;
            visit(&decoded, &name)?;
        }
    }
    Ok(walked)
}

/// `snapshot verify FILE`: every block and entry. Exit 1 with each problem's block and offset.
///
/// Errors if the file cannot be read.
pub fn verify(path: &Path, env: &mut Env<'_>) -> Result<Outcome, ToolError> {
    let file = match open(path)? {
        Ok(f) => f,
        Err(e) => {
            writeln!(env.out, "{}: damaged: {e}", path.display())?;
            return Ok(Outcome::Damaged);
        }
    };
    let walked = walk(path, &file, env.progress, |_, _| Ok(()))?;
    let lsn = file.reader().map(|r| r.meta().lsn).unwrap_or(0);
    if walked.problems.is_empty() {
        writeln!(
            env.out,
            "{}: clean: {} entries in {}, LSN {lsn}, {}; every entry decodes",
            path.display(),
            walked.entries,
            plural(walked.blocks, "block"),
            text::size(file.bytes().len() as u64)
        )?;
        return Ok(Outcome::Clean);
    }
    writeln!(
        env.out,
        "{}: damaged: {} ({} entries readable)",
        path.display(),
        plural(walked.problems.len() as u64, "problem"),
        walked.entries
    )?;
    for p in &walked.problems {
        writeln!(env.out, "  {p}")?;
    }
    Ok(Outcome::Damaged)
}

/// What an export left out on purpose, by reason, for the warnings at the end.
#[derive(Default)]
struct Skipped(BTreeMap<String, u64>);

impl Skipped {
    fn add(&mut self, why: String) {
        *self.0.entry(why).or_default() += 1;
    }
}

/// RESP export state: the database the stream has selected, and the pending bytes.
struct RespOut {
    selected: Option<u32>,
    buf: BytesMut,
}

impl RespOut {
    fn entry(&mut self, e: &DecodedEntry<'_>, ns: &str, skipped: &mut Skipped) {
        if e.db >= NUMBERED_DBS {
            skipped.add(format!(
                "of namespace \"{ns}\" (there is no command to select a named namespace yet)"
            ));
            return;
        }
        if self.selected != Some(e.db) {
            let db = e.db.to_string();
            encode_command(&[b"SELECT".as_slice(), db.as_bytes()], &mut self.buf);
            self.selected = Some(e.db);
        }
        for cmd in vole_engine::types::rebuild_commands(e.key, &e.value) {
            let parts: Vec<&[u8]> = cmd.iter().map(|b| b.as_ref()).collect();
            encode_command(&parts, &mut self.buf);
        }
        if e.expire_at != 0 {
            let at = e.expire_at.to_string();
            encode_command(
                &[b"PEXPIREAT".as_slice(), e.key, at.as_bytes()],
                &mut self.buf,
            );
        }
    }
}

fn json_entry(line: &mut String, e: &DecodedEntry<'_>, ns: &str) {
    line.clear();
    let _ = write!(line, "{{\"db\":{},\"namespace\":", e.db);
    push_json_str(line, ns);
    line.push_str(",\"key\":");
    push_json_bytes(line, e.key);
    json_value(line, &e.value);
    line.push_str(",\"expire_at_ms\":");
    push_json_opt(line, (e.expire_at != 0).then_some(e.expire_at));
    line.push_str("}\n");
}

/// Writes every entry of `file` to `w` in `format`; returns what the walk found and skipped.
fn export_to(
    path: &Path,
    file: &SnapshotFile,
    format: ExportFormat,
    w: &mut dyn Write,
    progress: bool,
) -> Result<(Walked, Skipped), ToolError> {
    let mut skipped = Skipped::default();
    let walked = match format {
        ExportFormat::Json => {
            let mut line = String::new();
            walk(path, file, progress, |e, ns| {
                json_entry(&mut line, e, ns);
                w.write_all(line.as_bytes())?;
                Ok(())
            })?
        }
        ExportFormat::Resp => {
            let mut resp = RespOut {
                selected: None,
                buf: BytesMut::new(),
            };
            let walked = walk(path, file, progress, |e, ns| {
                resp.entry(e, ns, &mut skipped);
                if resp.buf.len() >= RESP_FLUSH_BYTES {
                    w.write_all(&resp.buf)?;
                    resp.buf.clear();
                }
                Ok(())
            })?;
            w.write_all(&resp.buf)?;
            walked
        }
    };
    w.flush()?;
    Ok((walked, skipped))
}

/// `snapshot export FILE --format json|resp [--out PATH]`. With `--out`, the output is written
/// to `PATH.tmp` and renamed to `PATH` once complete. Entries that cannot be read are reported
/// (exit 1); the output then holds every entry that could be read.
///
/// Errors if the snapshot cannot be read or the output cannot be written (an unfinished
/// `PATH.tmp` is removed).
pub fn export(
    path: &Path,
    format: ExportFormat,
    out: Option<&Path>,
    env: &mut Env<'_>,
) -> Result<Outcome, ToolError> {
    let file = match open(path)? {
        Ok(f) => f,
        Err(e) => {
            writeln!(
                env.err,
                "error: {}: damaged: {e}; nothing exported",
                path.display()
            )?;
            return Ok(Outcome::Damaged);
        }
    };
    let (walked, skipped) = match out {
        None => export_to(path, &file, format, &mut *env.out, env.progress)?,
        Some(dest) => {
            let tmp = vole_wal::snapshot::temp_path(dest);
            let created = std::fs::File::create(&tmp).map_err(|e| ToolError::io(&tmp, e))?;
            let mut w = BufWriter::new(created);
            let result = export_to(path, &file, format, &mut w, env.progress)
                .and_then(|r| {
                    let f = w.into_inner().map_err(|e| e.into_error())?;
                    f.sync_all()?;
                    Ok(r)
                })
                .map_err(|e| match e {
                    ToolError::Output(source) => ToolError::Io {
                        path: tmp.clone(),
                        source,
                    },
                    other => other,
                })
                .and_then(|r| {
                    std::fs::rename(&tmp, dest).map_err(|e| ToolError::io(dest, e))?;
                    Ok(r)
                });
            if result.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            result?
        }
    };
    for (why, n) in &skipped.0 {
        env.warn(format_args!(
            "{}: skipped {} {why}",
            path.display(),
            plural(*n, "key")
        ));
    }
    let exported: u64 = walked.entries - skipped.0.values().sum::<u64>();
    let dest = out.map_or_else(|| "stdout".to_owned(), |p| p.display().to_string());
    let _ = writeln!(
        env.err,
        "{}: exported {} to {dest}",
        path.display(),
        plural(exported, "key")
    );
    if walked.problems.is_empty() {
        return Ok(Outcome::Clean);
    }
    let _ = writeln!(
        env.err,
        "error: {}: damaged: {}; the export lacks what they cover:",
        path.display(),
        plural(walked.problems.len() as u64, "problem")
    );
    for p in &walked.problems {
        let _ = writeln!(env.err, "  {p}");
    }
    Ok(Outcome::Damaged)
}
