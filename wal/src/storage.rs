//! The small storage interface the log writes through, a real one over `std::fs`, and an
//! in-memory one that injects faults for tests.
//!
//! The log never calls `std::fs` directly: every write, sync and directory change goes through
//! [`Storage`], so tests can cut the power ([`MemStorage::crash`]), fail the Nth write or sync,
//! or tear a write, without a real crash.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Files in one directory, by name. Names are plain file names, never paths.
///
/// Durability contract: bytes passed to [`Storage::append`] are durable only after a
/// successful [`Storage::sync`] of that file; [`Storage::create`] makes the new (empty) file's
/// directory entry durable before it returns; [`Storage::truncate`] and [`Storage::trim`] are
/// durable on return; [`Storage::remove`] is durable after the next [`Storage::sync_dir`].
///
/// A file has an append position, which is where the next [`Storage::append`] writes. It is
/// the end of the file unless [`Storage::preallocate`] wrote zeros after it: a log that
/// overwrites zeros already on disk syncs without changing the file's size or block map, so
/// each sync writes only data (on ext4 here 105-118 us instead of 167-178 us per sync, see
/// docs/design/persistence.md).
pub trait Storage {
    /// An open file with its append position.
    type File;

    /// Creates an empty file and makes its directory entry durable.
    ///
    /// Errors if it already exists or the file or directory cannot be created or synced.
    fn create(&self, name: &str) -> io::Result<Self::File>;
    /// Opens an existing file for appending at its end. Errors if it does not exist.
    fn open_append(&self, name: &str) -> io::Result<Self::File>;
    /// Writes bytes at the append position and moves it past them (over preallocated zeros,
    /// or extending the file). Errors on any write failure, after which an unknown prefix of
    /// `bytes` may have been written.
    fn append(&self, file: &mut Self::File, bytes: &[u8]) -> io::Result<()>;
    /// Makes everything appended to the file so far, and any zeros preallocated, durable.
    /// Errors if the sync fails.
    fn sync(&self, file: &mut Self::File) -> io::Result<()>;
    /// Writes zeros from the end of the file up to `len` bytes (nothing if it is that long
    /// already), without moving the append position. The zeros are durable after the next
    /// [`Storage::sync`]. Errors on any write failure; what was appended is unaffected.
    fn preallocate(&self, file: &mut Self::File, len: u64) -> io::Result<()>;
    /// Cuts the file at its append position (dropping preallocated zeros) and makes the file,
    /// its data and its new length, durable. Errors if that fails.
    fn trim(&self, file: &mut Self::File) -> io::Result<()>;
    /// Reads the whole file. Errors if it does not exist or cannot be read.
    fn read_all(&self, name: &str) -> io::Result<Vec<u8>>;
    /// Reads up to `max_len` bytes starting at `offset`: fewer when the file ends sooner, none
    /// when `offset` is at or past the end. Errors if the file does not exist or cannot be read.
    ///
    /// The default reads the whole file; implementations override it so that tailing a large
    /// segment reads only the new bytes.
    fn read_at(&self, name: &str, offset: u64, max_len: usize) -> io::Result<Vec<u8>> {
        let all = self.read_all(name)?;
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(all.len());
        let end = start.saturating_add(max_len).min(all.len());
        Ok(all[start..end].to_vec())
    }
    /// Cuts the file to `len` bytes, durably. Errors if it does not exist or is shorter.
    fn truncate(&self, name: &str, len: u64) -> io::Result<()>;
    /// The names of the files in the directory, sorted. Errors if it cannot be listed.
    fn list(&self) -> io::Result<Vec<String>>;
    /// Removes a file (durable after [`Storage::sync_dir`]). Errors if it does not exist.
    fn remove(&self, name: &str) -> io::Result<()>;
    /// Makes the directory's entries (creations, removals) durable. Errors if that fails.
    fn sync_dir(&self) -> io::Result<()>;
}

/// [`Storage`] over a real directory with `std::fs`; `sync` is `fdatasync`
/// (`File::sync_data`, which on Linux also writes the size when the file grew), `trim` is
/// `ftruncate` then `fsync`.
#[derive(Debug, Clone)]
pub struct FsStorage {
    dir: PathBuf,
}

/// A file of [`FsStorage`]: the handle, where the next append writes, and the file's size.
#[derive(Debug)]
pub struct FsFile {
    file: File,
    pos: u64,
    size: u64,
}

/// Zeros written per call by [`FsStorage`]'s `preallocate`.
static ZERO_CHUNK: [u8; 64 << 10] = [0; 64 << 10];

/// Writes all of `bytes` at `offset` (without moving any shared file cursor on Unix).
fn write_all_at(file: &mut File, bytes: &[u8], offset: u64) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::write_all_at(file, bytes, offset)
    }
    #[cfg(not(unix))]
    {
        use std::io::Write;
        file.seek(SeekFrom::Start(offset))?;
        file.write_all(bytes)
    }
}

impl FsStorage {
    /// Storage over the existing directory `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    fn path(&self, name: &str) -> io::Result<PathBuf> {
        // Names come from this crate, but refuse anything that could leave the directory.
        if name.is_empty() || name.contains(['/', '\\']) || name == "." || name == ".." {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("not a plain file name: {name:?}"),
            ));
        }
        Ok(self.dir.join(name))
    }
}

impl Storage for FsStorage {
    type File = FsFile;

    fn create(&self, name: &str) -> io::Result<FsFile> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(self.path(name)?)?;
        file.sync_all()?;
        self.sync_dir()?;
        Ok(FsFile {
            file,
            pos: 0,
            size: 0,
        })
    }

    fn open_append(&self, name: &str) -> io::Result<FsFile> {
        let file = OpenOptions::new().write(true).open(self.path(name)?)?;
        let size = file.metadata()?.len();
        Ok(FsFile {
            file,
            pos: size,
            size,
        })
    }

    fn append(&self, file: &mut FsFile, bytes: &[u8]) -> io::Result<()> {
        let end = file.pos.saturating_add(bytes.len() as u64);
        let written = write_all_at(&mut file.file, bytes, file.pos);
        // After a failure an unknown prefix landed; assume all of it for the size.
        file.size = file.size.max(end);
        written?;
        file.pos = end;
        Ok(())
    }

    fn sync(&self, file: &mut FsFile) -> io::Result<()> {
        file.file.sync_data()
    }

    fn preallocate(&self, file: &mut FsFile, len: u64) -> io::Result<()> {
        while file.size < len {
            let n = usize::try_from(len - file.size)
                .unwrap_or(usize::MAX)
                .min(ZERO_CHUNK.len());
            write_all_at(&mut file.file, &ZERO_CHUNK[..n], file.size)?;
            file.size += n as u64;
        }
        Ok(())
    }

    fn trim(&self, file: &mut FsFile) -> io::Result<()> {
        if file.size != file.pos {
            file.file.set_len(file.pos)?;
            file.size = file.pos;
        }
        file.file.sync_all()
    }

    fn read_all(&self, name: &str) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        File::open(self.path(name)?)?.read_to_end(&mut out)?;
        Ok(out)
    }

    fn read_at(&self, name: &str, offset: u64, max_len: usize) -> io::Result<Vec<u8>> {
        let mut file = File::open(self.path(name)?)?;
        let available = file.metadata()?.len().saturating_sub(offset);
        // Never allocate more than the file holds, whatever `max_len` says.
        let want = usize::try_from(available)
            .unwrap_or(usize::MAX)
            .min(max_len);
        let mut out = Vec::with_capacity(want);
        if want > 0 {
            file.seek(SeekFrom::Start(offset))?;
            // The file may grow while we read; `take` keeps us at `max_len`.
            file.take(max_len as u64).read_to_end(&mut out)?;
        }
        Ok(out)
    }

    fn truncate(&self, name: &str, len: u64) -> io::Result<()> {
        let file = OpenOptions::new().write(true).open(self.path(name)?)?;
        if file.metadata()?.len() < len {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("truncate {name} to {len}: file is shorter"),
            ));
        }
        file.set_len(len)?;
        file.sync_all()
    }

    fn list(&self) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                if let Some(name) = entry.file_name().to_str() {
                    names.push(name.to_owned());
                }
            }
        }
        names.sort();
        Ok(names)
    }

    fn remove(&self, name: &str) -> io::Result<()> {
        std::fs::remove_file(self.path(name)?)
    }

    fn sync_dir(&self) -> io::Result<()> {
        // On Unix a directory is fsynced through a read-only handle; elsewhere there is no
        // portable equivalent, and the platform's own metadata guarantees apply.
        #[cfg(unix)]
        File::open(&self.dir)?.sync_all()?;
        Ok(())
    }
}

#[derive(Debug, Default)]
struct MemFile {
    /// What a read sees now: appended bytes, then preallocated zeros.
    data: Vec<u8>,
    /// Where the next append writes. Invariant: `append_pos <= data.len()`.
    append_pos: usize,
    /// `data[..synced_len]` survives a crash. Invariant: `synced_len <= data.len()`.
    synced_len: usize,
    /// The length that survives a crash: what follows `synced_len` up to it comes back as
    /// zeros (preallocated, synced, and possibly overwritten since, but not synced again).
    /// Invariant: `durable_len <= data.len()`.
    durable_len: usize,
    /// Visible now.
    linked: bool,
    /// Visible after a crash (as of the last directory sync or create).
    durable_linked: bool,
}

#[derive(Debug, Default)]
struct MemInner {
    files: BTreeMap<String, MemFile>,
    writes: u64,
    syncs: u64,
    fail_write: Option<u64>,
    tear_write: Option<(u64, usize)>,
    fail_sync: Option<u64>,
    sync_delay: Duration,
}

/// In-memory [`Storage`] for tests: remembers which bytes were synced, can simulate a power
/// cut, fail the Nth write or sync, and tear a write. Clones share the same files, so a test
/// can keep a handle while a writer owns another.
///
/// Writes (appends) and syncs (file syncs, directory syncs, and the directory sync inside
/// `create`) are numbered from 1 over the storage's life.
#[derive(Debug, Clone, Default)]
pub struct MemStorage {
    inner: Arc<Mutex<MemInner>>,
}

fn injected(what: &str) -> io::Error {
    io::Error::other(format!("injected fault: {what}"))
}

fn not_found(name: &str) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("no such file: {name}"))
}

impl MemStorage {
    /// An empty directory.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, MemInner> {
        // A test that panicked while holding the lock has already failed; keep going.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Simulates a power cut: every unsynced byte is dropped (over preallocated space, the
    /// zeros synced before come back), files whose directory entry was not made durable
    /// vanish, and removed files whose removal was not synced come back.
    pub fn crash(&self) {
        let mut inner = self.lock();
        inner.files.retain(|_, f| f.durable_linked);
        for file in inner.files.values_mut() {
            file.linked = true;
            file.data = MemFile::after_crash(file);
            file.synced_len = file.data.len();
            file.durable_len = file.data.len();
            file.append_pos = file.data.len();
        }
    }

    /// An independent storage holding what would survive a power cut right now (as
    /// [`Self::crash`] would leave it), while this one carries on unchanged. Lets a test cut the
    /// power under a running writer without the writer touching the "disk" afterwards.
    pub fn crash_copy(&self) -> MemStorage {
        let inner = self.lock();
        let files = inner
            .files
            .iter()
            .filter(|(_, f)| f.durable_linked)
            .map(|(name, f)| {
                let data = MemFile::after_crash(f);
                let file = MemFile {
                    append_pos: data.len(),
                    synced_len: data.len(),
                    durable_len: data.len(),
                    data,
                    linked: true,
                    durable_linked: true,
                };
                (name.clone(), file)
            })
            .collect();
        MemStorage {
            inner: Arc::new(Mutex::new(MemInner {
                files,
                ..MemInner::default()
            })),
        }
    }

    /// Makes every later file sync take at least `delay`, like a real disk's flush. The delay
    /// is spent without holding the storage's lock.
    pub fn set_sync_delay(&self, delay: Duration) {
        self.lock().sync_delay = delay;
    }

    /// Marks every byte written so far as synced, as if the OS had written back its cache
    /// just before a crash. Used to make a torn write reach the "disk".
    pub fn sync_everything(&self) {
        for file in self.lock().files.values_mut() {
            file.synced_len = file.data.len();
            file.durable_len = file.data.len();
        }
    }

    /// Makes the `n`th write (counted from 1) fail without writing anything.
    pub fn fail_nth_write(&self, n: u64) {
        self.lock().fail_write = Some(n);
    }

    /// Makes the `n`th write keep only its first `keep` bytes and then fail.
    pub fn tear_nth_write(&self, n: u64, keep: usize) {
        self.lock().tear_write = Some((n, keep));
    }

    /// Makes the `n`th sync fail without syncing anything.
    pub fn fail_nth_sync(&self, n: u64) {
        self.lock().fail_sync = Some(n);
    }

    /// Writes attempted so far.
    pub fn writes_so_far(&self) -> u64 {
        self.lock().writes
    }

    /// Syncs attempted so far.
    pub fn syncs_so_far(&self) -> u64 {
        self.lock().syncs
    }

    /// Counts a sync and says whether it was chosen to fail.
    fn sync_fails(inner: &mut MemInner) -> bool {
        inner.syncs += 1;
        inner.fail_sync == Some(inner.syncs)
    }

    /// Counts a write and says whether it fails, or keeps only a prefix and then fails.
    fn write_fault(inner: &mut MemInner) -> (bool, Option<usize>) {
        inner.writes += 1;
        let n = inner.writes;
        let tear = inner
            .tear_write
            .filter(|&(at, _)| at == n)
            .map(|(_, keep)| keep);
        (inner.fail_write == Some(n), tear)
    }

    /// Sleeps for the configured sync delay, without holding the lock.
    fn sync_pause(&self) {
        let delay = self.lock().sync_delay;
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
    }
}

impl MemFile {
    /// The bytes a power cut leaves: the synced prefix, then zeros up to the durable length.
    fn after_crash(f: &MemFile) -> Vec<u8> {
        let mut data = f.data.get(..f.synced_len).unwrap_or(&f.data).to_vec();
        if f.durable_len > data.len() {
            data.resize(f.durable_len, 0);
        }
        data
    }

    /// Writes `bytes` at the append position (over zeros or past the end) and moves it.
    fn write_at_append_pos(&mut self, bytes: &[u8]) {
        let start = self.append_pos;
        let end = start + bytes.len();
        if end > self.data.len() {
            self.data.resize(end, 0);
        }
        self.data[start..end].copy_from_slice(bytes);
        self.append_pos = end;
        // Overwritten bytes are no longer the synced ones.
        self.synced_len = self.synced_len.min(start);
    }
}

impl Storage for MemStorage {
    type File = String;

    fn create(&self, name: &str) -> io::Result<String> {
        let mut inner = self.lock();
        if inner.files.get(name).is_some_and(|f| f.linked) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("file exists: {name}"),
            ));
        }
        let fails = Self::sync_fails(&mut inner);
        inner.files.insert(
            name.to_owned(),
            MemFile {
                linked: true,
                durable_linked: !fails,
                ..MemFile::default()
            },
        );
        if fails {
            return Err(injected("directory sync in create"));
        }
        Ok(name.to_owned())
    }

    fn open_append(&self, name: &str) -> io::Result<String> {
        match self.lock().files.get_mut(name) {
            Some(f) if f.linked => {
                f.append_pos = f.data.len();
                Ok(name.to_owned())
            }
            _ => Err(not_found(name)),
        }
    }

    fn append(&self, file: &mut String, bytes: &[u8]) -> io::Result<()> {
        let mut inner = self.lock();
        let (fail, tear) = Self::write_fault(&mut inner);
        let target = match inner.files.get_mut(file.as_str()) {
            Some(f) if f.linked => f,
            _ => return Err(not_found(file)),
        };
        if fail {
            return Err(injected("write"));
        }
        if let Some(keep) = tear {
            target.write_at_append_pos(&bytes[..keep.min(bytes.len())]);
            return Err(injected("torn write"));
        }
        target.write_at_append_pos(bytes);
        Ok(())
    }

    fn sync(&self, file: &mut String) -> io::Result<()> {
        self.sync_pause();
        let mut inner = self.lock();
        if Self::sync_fails(&mut inner) {
            return Err(injected("sync"));
        }
        match inner.files.get_mut(file.as_str()) {
            Some(f) if f.linked => {
                f.synced_len = f.data.len();
                f.durable_len = f.data.len();
                Ok(())
            }
            _ => Err(not_found(file)),
        }
    }

    fn preallocate(&self, file: &mut String, len: u64) -> io::Result<()> {
        let mut inner = self.lock();
        let (fail, _) = Self::write_fault(&mut inner);
        let target = match inner.files.get_mut(file.as_str()) {
            Some(f) if f.linked => f,
            _ => return Err(not_found(file)),
        };
        if fail {
            return Err(injected("preallocating write"));
        }
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        if len > target.data.len() {
            target.data.resize(len, 0);
        }
        Ok(())
    }

    fn trim(&self, file: &mut String) -> io::Result<()> {
        self.sync_pause();
        let mut inner = self.lock();
        if Self::sync_fails(&mut inner) {
            return Err(injected("sync in trim"));
        }
        match inner.files.get_mut(file.as_str()) {
            Some(f) if f.linked => {
                f.data.truncate(f.append_pos);
                f.synced_len = f.data.len();
                f.durable_len = f.data.len();
                Ok(())
            }
            _ => Err(not_found(file)),
        }
    }

    fn read_all(&self, name: &str) -> io::Result<Vec<u8>> {
        match self.lock().files.get(name) {
            Some(f) if f.linked => Ok(f.data.clone()),
            _ => Err(not_found(name)),
        }
    }

    fn read_at(&self, name: &str, offset: u64, max_len: usize) -> io::Result<Vec<u8>> {
        match self.lock().files.get(name) {
            Some(f) if f.linked => {
                let start = usize::try_from(offset)
                    .unwrap_or(usize::MAX)
                    .min(f.data.len());
                let end = start.saturating_add(max_len).min(f.data.len());
                Ok(f.data[start..end].to_vec())
            }
            _ => Err(not_found(name)),
        }
    }

    fn truncate(&self, name: &str, len: u64) -> io::Result<()> {
        let mut inner = self.lock();
        let file = match inner.files.get_mut(name) {
            Some(f) if f.linked => f,
            _ => return Err(not_found(name)),
        };
        let len = usize::try_from(len)
            .ok()
            .filter(|&l| l <= file.data.len())
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("truncate {name} to {len}: file is shorter"),
                )
            })?;
        file.data.truncate(len);
        file.synced_len = len;
        file.durable_len = len;
        file.append_pos = file.append_pos.min(len);
        Ok(())
    }

    fn list(&self) -> io::Result<Vec<String>> {
        Ok(self
            .lock()
            .files
            .iter()
            .filter(|(_, f)| f.linked)
            .map(|(name, _)| name.clone())
            .collect())
    }

    fn remove(&self, name: &str) -> io::Result<()> {
        match self.lock().files.get_mut(name) {
            Some(f) if f.linked => {
                f.linked = false;
                Ok(())
            }
            _ => Err(not_found(name)),
        }
    }

    fn sync_dir(&self) -> io::Result<()> {
        let mut inner = self.lock();
        if Self::sync_fails(&mut inner) {
            return Err(injected("directory sync"));
        }
        inner.files.retain(|_, f| f.linked);
        for file in inner.files.values_mut() {
            file.durable_linked = true;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crash_keeps_only_synced_bytes() {
        // Proves crash() drops exactly the bytes appended after the last sync.
        let storage = MemStorage::new();
        let mut f = storage.create("a").expect("create");
        storage.append(&mut f, b"abc").expect("append");
        storage.sync(&mut f).expect("sync");
        storage.append(&mut f, b"def").expect("append");
        assert_eq!(storage.read_all("a").expect("read"), b"abcdef");
        storage.crash();
        assert_eq!(storage.read_all("a").expect("read"), b"abc");
    }

    #[test]
    fn preallocated_zeros_and_appends_over_them_follow_the_sync_rules() {
        // Proves appends overwrite preallocated zeros in place, a crash turns unsynced
        // appends back into the synced zeros, and trim cuts the zeros off durably.
        let storage = MemStorage::new();
        let mut f = storage.create("a").expect("create");
        storage.append(&mut f, b"hd").expect("append");
        storage.preallocate(&mut f, 8).expect("preallocate");
        assert_eq!(storage.read_all("a").expect("read"), b"hd\0\0\0\0\0\0");
        // Not synced yet: a crash forgets the zeros.
        assert_eq!(storage.crash_copy().read_all("a").expect("read"), b"");
        storage.sync(&mut f).expect("sync");
        storage.append(&mut f, b"xy").expect("append");
        assert_eq!(storage.read_all("a").expect("read"), b"hdxy\0\0\0\0");
        assert_eq!(
            storage.crash_copy().read_all("a").expect("read"),
            b"hd\0\0\0\0\0\0"
        );
        storage.sync(&mut f).expect("sync");
        storage.append(&mut f, b"z").expect("append");
        storage.trim(&mut f).expect("trim");
        storage.crash();
        assert_eq!(storage.read_all("a").expect("read"), b"hdxyz");
        // Appending past the preallocated end extends the file.
        let mut f = storage.open_append("a").expect("open");
        storage.preallocate(&mut f, 6).expect("preallocate");
        storage.append(&mut f, b"1234").expect("append");
        assert_eq!(storage.read_all("a").expect("read"), b"hdxyz1234");
    }

    #[test]
    fn fs_storage_appends_over_preallocated_zeros_and_trims() {
        // Proves the real storage writes at the append position, not at the end of the
        // zero-filled file, reopens at the end, and trim leaves exactly the appended bytes.
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = FsStorage::new(dir.path());
        let mut f = storage.create("seg").expect("create");
        storage.append(&mut f, b"head").expect("append");
        storage.preallocate(&mut f, 200_000).expect("preallocate");
        storage.sync(&mut f).expect("sync");
        storage.append(&mut f, b"-one").expect("append");
        storage.append(&mut f, b"-two").expect("append");
        storage.sync(&mut f).expect("sync");
        let all = storage.read_all("seg").expect("read");
        assert_eq!(all.len(), 200_000);
        assert_eq!(&all[..12], b"head-one-two");
        assert!(all[12..].iter().all(|&b| b == 0));
        storage.trim(&mut f).expect("trim");
        assert_eq!(storage.read_all("seg").expect("read"), b"head-one-two");
        let mut f = storage.open_append("seg").expect("open");
        storage.append(&mut f, b"!").expect("append");
        storage.trim(&mut f).expect("trim without zeros");
        assert_eq!(storage.read_all("seg").expect("read"), b"head-one-two!");
    }

    #[test]
    fn nth_write_fails_and_tears() {
        // Proves fail_nth_write writes nothing and tear_nth_write keeps only the prefix.
        let storage = MemStorage::new();
        let mut f = storage.create("a").expect("create");
        storage.fail_nth_write(1);
        storage.tear_nth_write(2, 2);
        assert!(storage.append(&mut f, b"xyz").is_err());
        assert!(storage.append(&mut f, b"abcd").is_err());
        storage.append(&mut f, b"!").expect("third write");
        assert_eq!(storage.read_all("a").expect("read"), b"ab!");
        assert_eq!(storage.writes_so_far(), 3);
    }

    #[test]
    fn unsynced_removal_comes_back_after_crash() {
        // Proves a removal is durable only after sync_dir.
        let storage = MemStorage::new();
        let mut f = storage.create("a").expect("create");
        storage.append(&mut f, b"x").expect("append");
        storage.sync(&mut f).expect("sync");
        storage.remove("a").expect("remove");
        assert!(storage.list().expect("list").is_empty());
        storage.crash();
        assert_eq!(storage.list().expect("list"), vec!["a".to_owned()]);
        storage.remove("a").expect("remove");
        storage.sync_dir().expect("sync dir");
        storage.crash();
        assert!(storage.list().expect("list").is_empty());
    }

    #[test]
    fn read_at_reads_a_window() {
        // Proves read_at returns the bytes in range, short at the end, empty past it.
        let storage = MemStorage::new();
        let mut f = storage.create("a").expect("create");
        storage.append(&mut f, b"abcdef").expect("append");
        assert_eq!(storage.read_at("a", 1, 3).expect("read"), b"bcd");
        assert_eq!(storage.read_at("a", 4, 10).expect("read"), b"ef");
        assert!(storage.read_at("a", 9, 10).expect("read").is_empty());
        assert!(storage.read_at("b", 0, 1).is_err());
    }

    #[test]
    fn crash_copy_is_independent() {
        // Proves crash_copy holds only synced bytes and later writes do not reach it.
        let storage = MemStorage::new();
        let mut f = storage.create("a").expect("create");
        storage.append(&mut f, b"abc").expect("append");
        storage.sync(&mut f).expect("sync");
        storage.append(&mut f, b"def").expect("append");
        let copy = storage.crash_copy();
        storage.append(&mut f, b"ghi").expect("append");
        storage.sync(&mut f).expect("sync");
        assert_eq!(copy.read_all("a").expect("read"), b"abc");
        assert_eq!(storage.read_all("a").expect("read"), b"abcdefghi");
    }

    #[test]
    fn truncate_is_durable() {
        // Proves truncate cuts the file and survives a crash, and refuses to grow a file.
        let storage = MemStorage::new();
        let mut f = storage.create("a").expect("create");
        storage.append(&mut f, b"abcdef").expect("append");
        storage.truncate("a", 2).expect("truncate");
        storage.crash();
        assert_eq!(storage.read_all("a").expect("read"), b"ab");
        assert!(storage.truncate("a", 3).is_err());
    }
}
