//! `vole-tool`: offline checks and repairs of a stopped server's files.
//!
//! - [`wal`]: `wal list|dump|verify|repair DIR` over a log directory (`<dir>/vole.aof/`).
//! - [`snapshot`]: `snapshot info|verify|export FILE` over a snapshot file.
//! - [`text`]: quoting bytes for people (redis-cli style) and for programs (JSON), UTC times.
//! - [`progress`]: the progress bar on stderr.
//! - [`in_use`]: whether another process holds files of a directory open.
//!
//! Every command returns an [`Outcome`] (clean or damaged) or a [`ToolError`] (bad usage, a
//! file that cannot be read or written), and [`main_with`] turns those into the exit codes
//! 0 (clean), 1 (damage found) and 2 (usage or I/O error). Reports go to the `out` writer,
//! warnings and errors to `err`, both passed in so tests can run commands in-process.

pub mod in_use;
pub mod progress;
pub mod snapshot;
pub mod text;
pub mod wal;

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

/// Exit code: the files are clean (or the command succeeded).
pub const EXIT_CLEAN: u8 = 0;
/// Exit code: damage was found (and reported).
pub const EXIT_DAMAGED: u8 = 1;
/// Exit code: bad usage, or a file that could not be read or written.
pub const EXIT_ERROR: u8 = 2;

/// What a command found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing wrong.
    Clean,
    /// Damage was found and reported.
    Damaged,
}

impl Outcome {
    /// [`Outcome::Damaged`] when `damaged`, else [`Outcome::Clean`].
    pub fn damaged_if(damaged: bool) -> Outcome {
        if damaged {
            Outcome::Damaged
        } else {
            Outcome::Clean
        }
    }

    /// The process exit code for this outcome.
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Clean => EXIT_CLEAN,
            Outcome::Damaged => EXIT_DAMAGED,
        }
    }
}

/// Why a command could not do its job (exit code 2). Damage is not an error: it is an
/// [`Outcome::Damaged`] with a report.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// The arguments do not make sense for the files found.
    #[error("{0}")]
    Usage(String),
    /// A file or directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Another process has the files open: the server is probably running.
    #[error("{0}")]
    InUse(String),
    /// Writing the report (stdout or `--out`) failed.
    #[error("cannot write output: {0}")]
    Output(#[from] io::Error),
}

impl ToolError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: io::Error) -> ToolError {
        ToolError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Offline admin tool for Vole's log and snapshot files. Run it on a stopped server's files.
///
/// Exit codes: 0 clean, 1 damage found (each problem is reported with its file and position),
/// 2 usage or I/O error.
#[derive(Debug, Parser)]
#[command(name = "vole-tool", version, max_term_width = 100)]
pub struct Cli {
    /// Never draw a progress bar (one is drawn on stderr only when it is a terminal).
    #[arg(long, global = true)]
    pub no_progress: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// The command groups.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Inspect, check or repair a write-ahead log directory.
    #[command(subcommand)]
    Wal(WalCommand),
    /// Inspect, check or export a snapshot file.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
}

/// `vole-tool wal ...`. DIR is the data directory holding `vole.aof/`, or the log directory.
#[derive(Debug, Subcommand)]
pub enum WalCommand {
    /// One line per segment: first and last LSN, records, bytes, and how it ends.
    List {
        /// Data directory (holding vole.aof/) or the log directory itself.
        dir: PathBuf,
    },
    /// Print each record: LSN, kind, origin, clock, and its effects decoded.
    Dump {
        /// Data directory (holding vole.aof/) or the log directory itself.
        dir: PathBuf,
        /// Start at this LSN (default: the oldest record).
        #[arg(long, value_name = "LSN")]
        from: Option<u64>,
        /// Stop after this many records.
        #[arg(long, value_name = "N")]
        limit: Option<u64>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = DumpFormat::Text)]
        format: DumpFormat,
    },
    /// Check every record's checksum and decode every record's effects.
    Verify {
        /// Data directory (holding vole.aof/) or the log directory itself.
        dir: PathBuf,
    },
    /// Cut a torn tail off the newest segment (what a server start does). Never touches
    /// damage anywhere else, and never removes a whole record.
    Repair {
        /// Data directory (holding vole.aof/) or the log directory itself.
        dir: PathBuf,
        /// Say what would be done without changing anything.
        #[arg(long)]
        dry_run: bool,
    },
}

/// `vole-tool snapshot ...`.
#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Header and trailer facts: version, LSN, creation time, entries, blocks, namespaces.
    Info {
        /// The snapshot file (vole.snap in the data directory by default).
        file: PathBuf,
    },
    /// Read the whole file: every block's checksum, decompression, and every entry.
    Verify {
        /// The snapshot file.
        file: PathBuf,
    },
    /// Write every key out as JSON lines or as RESP commands (for `redis-cli --pipe`).
    Export {
        /// The snapshot file.
        file: PathBuf,
        /// Output format.
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// Write here instead of stdout (through PATH.tmp, renamed when done).
        #[arg(long, value_name = "PATH")]
        out: Option<PathBuf>,
    },
}

/// `wal dump --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DumpFormat {
    /// For people: keys and values quoted as redis-cli does.
    Text,
    /// One JSON object per line.
    Json,
}

/// `snapshot export --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// One JSON object per key, per line.
    Json,
    /// RESP commands that recreate the data (SELECT, SET, PEXPIREAT).
    Resp,
}

/// Where a command writes, and whether it may draw a progress bar.
pub struct Env<'a> {
    /// Reports (stdout).
    pub out: &'a mut dyn Write,
    /// Warnings and errors (stderr).
    pub err: &'a mut dyn Write,
    /// A progress bar may be drawn on the process's stderr.
    pub progress: bool,
}

impl Env<'_> {
    /// Writes a warning line to `err`. A failing stderr is ignored: nothing better can be done.
    pub fn warn(&mut self, msg: impl std::fmt::Display) {
        let _ = writeln!(self.err, "warning: {msg}");
    }
}

/// Runs one parsed command.
///
/// Errors when the arguments do not fit the files, a file cannot be read or written, or the
/// files are in use where that matters (`wal repair`).
pub fn run(cli: &Cli, env: &mut Env<'_>) -> Result<Outcome, ToolError> {
    if cli.no_progress {
        env.progress = false;
    }
    match &cli.command {
        Command::Wal(WalCommand::List { dir }) => wal::list(dir, env),
        Command::Wal(WalCommand::Dump {
            dir,
            from,
            limit,
            format,
        }) => wal::dump(dir, *from, *limit, *format, env),
        Command::Wal(WalCommand::Verify { dir }) => wal::verify(dir, env),
        Command::Wal(WalCommand::Repair { dir, dry_run }) => wal::repair(dir, *dry_run, env),
        Command::Snapshot(SnapshotCommand::Info { file }) => snapshot::info(file, env),
        Command::Snapshot(SnapshotCommand::Verify { file }) => snapshot::verify(file, env),
        Command::Snapshot(SnapshotCommand::Export { file, format, out }) => {
            snapshot::export(file, *format, out.as_deref(), env)
        }
    }
}

/// Parses `args` (program name first), runs the command, and returns the exit code: 0 clean,
/// 1 damage found, 2 usage or I/O error. `--help` and `--version` go to `out` and exit 0.
/// A closed stdout (`vole-tool wal dump DIR | head`) ends the command quietly with 0.
pub fn main_with<I, T>(args: I, out: &mut dyn Write, err: &mut dyn Write, progress: bool) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let to_out = !e.use_stderr();
            let target: &mut dyn Write = if to_out { out } else { err };
            let _ = write!(target, "{}", e.render());
            return if to_out { EXIT_CLEAN } else { EXIT_ERROR };
        }
    };
    let mut env = Env { out, err, progress };
    let result = run(&cli, &mut env).and_then(|outcome| {
        env.out.flush()?;
        Ok(outcome)
    });
    match result {
        Ok(outcome) => outcome.exit_code(),
        Err(ToolError::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => EXIT_CLEAN,
        Err(e) => {
            let _ = env.out.flush();
            let _ = writeln!(env.err, "error: {e}");
            EXIT_ERROR
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_args(args: &[&str]) -> (u8, String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = main_with(
            std::iter::once("vole-tool").chain(args.iter().copied()),
            &mut out,
            &mut err,
            false,
        );
        let s = |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned();
        (code, s(out), s(err))
    }

    #[test]
    fn cli_definition_is_consistent() {
        // Proves clap accepts the command definitions (no clashing names or flags).
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn usage_errors_exit_2_and_help_exits_0() {
        // Proves bad arguments exit 2 with a message on stderr, and --help exits 0 on stdout.
        let (code, _, err) = run_args(&["wal", "frobnicate", "x"]);
        assert_eq!(code, EXIT_ERROR);
        assert!(err.contains("frobnicate"), "{err}");
        let (code, _, err) = run_args(&["snapshot", "export", "f.snap"]);
        assert_eq!(code, EXIT_ERROR, "--format is required: {err}");
        let (code, out, _) = run_args(&["--help"]);
        assert_eq!(code, EXIT_CLEAN);
        assert!(out.contains("wal") && out.contains("snapshot"), "{out}");
    }

    #[test]
    fn a_missing_directory_is_an_io_error() {
        // Proves a path that does not exist exits 2 naming the path.
        let (code, _, err) = run_args(&["wal", "list", "/nonexistent/vole-tool-test"]);
        assert_eq!(code, EXIT_ERROR);
        assert!(err.contains("/nonexistent/vole-tool-test"), "{err}");
    }
}
