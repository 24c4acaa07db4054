//! Is a directory in use? The server has no lock file yet, so `vole-tool` looks for other
//! processes holding a file under the directory open: a running server keeps its active log
//! segment open for appending. On Linux this reads `/proc/<pid>/fd`; processes of other users
//! cannot be seen without privileges. Elsewhere nothing is found, and the documentation's rule
//! applies: run `vole-tool wal repair` on a stopped server only.

use std::path::Path;

/// A process that holds a file under the directory open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// Its process id.
    pub pid: u32,
    /// Its command name (`/proc/<pid>/comm`), or empty when unreadable.
    pub command: String,
    /// One of the files it holds open.
    pub file: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "process {} ({}) has {} open",
            self.pid, self.command, self.file
        )
    }
}

/// Other processes holding a file under `dir` open, as far as this platform can tell.
pub fn holders(dir: &Path) -> Vec<Holder> {
    #[cfg(target_os = "linux")]
    {
        linux_holders(dir)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = dir;
        Vec::new()
    }
}

#[cfg(target_os = "linux")]
fn linux_holders(dir: &Path) -> Vec<Holder> {
    let Ok(dir) = dir.canonicalize() else {
        return Vec::new();
    };
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let me = std::process::id();
    let mut found = Vec::new();
    for entry in procs.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        // Unreadable for other users' processes, or gone already: skip.
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let held = fds
            .flatten()
            .filter_map(|fd| std::fs::read_link(fd.path()).ok())
            .find(|target| target.starts_with(&dir));
        if let Some(file) = held {
            let command = std::fs::read_to_string(entry.path().join("comm"))
                .map(|s| s.trim().to_owned())
                .unwrap_or_default();
            found.push(Holder {
                pid,
                command,
                file: file.display().to_string(),
            });
        }
    }
    found
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn own_open_files_do_not_count() {
        // Proves the tool's own process is never reported, even with a file of the directory
        // open.
        let dir = std::env::temp_dir().join(format!("vole-tool-inuse-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let _held = std::fs::File::create(dir.join("x")).expect("create");
        assert!(holders(&dir).iter().all(|h| h.pid != std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
