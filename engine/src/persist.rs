//! Snapshots of the keyspace: taking one while writes continue, and loading one back.
//!
//! The snapshot *file* (blocks, compression, checksums) belongs to `vole-wal`; this module
//! decides what goes in it: one entry per key, and the namespace table as the file's
//! application metadata.
//!
//! Taking a snapshot ([`begin_snapshot`], then [`SnapshotJob::write`]) never copies the
//! keyspace and never stops writers for more than one short batch:
//!
//! 1. Under the writer lock, the job notes the state's LSN and arms every shard of every
//!    namespace with an empty copy-before-write state. From here on, the snapshot must show
//!    the keyspace as of that LSN.
//! 2. The job walks each shard in position order, a batch of [`BATCH`] positions at a time,
//!    under the shard's read lock (readers go on; a writer of that shard waits for one
//!    batch). After each batch it records the last position written.
//! 3. A writer about to change a key at a position the walk has not reached yet first saves
//!    the key's current version (or "absent") in the shard's state; the walk writes that
//!    saved version instead of the live one. Keys behind the walk are written already, so
//!    writers change them freely. Only keys changed during the snapshot are ever copied, and
//!    each at most once, and string values share their buffers with the live copy.
//!
//! Entry (integers are varints as in [`crate::effect`]):
//!
//! ```text
//! entry     := db:varint  key:bytes  expire_at:i64  value        (value as in effect records)
//! app meta  := version:u8 (=1)  count:varint  (id:varint name:bytes){count}
//! ```

use std::collections::HashMap;

use bytes::Bytes;
use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::effect::{
    owned_value, put_bytes, put_ivarint, put_uvarint, put_value, Cursor, DecodeError, StrOrValue,
};
use crate::index::Position;
use crate::keyspace::{Db, Keyspace, Record, SnapState, SHARDS};
use crate::value::ValueRef;

/// Positions written per batch (and so the longest a writer of one shard waits).
pub const BATCH: usize = 256;

/// Version 1: the namespace table. Version 2 adds the function libraries after it.
const APP_META_VERSION: u8 = 2;

/// Appends one snapshot entry.
pub fn encode_entry(out: &mut Vec<u8>, db: u32, key: &[u8], value: ValueRef<'_>, expire_at: i64) {
    put_uvarint(out, u64::from(db));
    put_bytes(out, key);
    put_ivarint(out, expire_at);
    put_value(out, value);
}

/// Decodes one entry straight into the record that stores it: a string's bytes are copied
/// once, from the snapshot into the record.
fn decode_record(entry: &[u8]) -> Result<(u32, &[u8], Record), LoadError> {
    let (db, key, expire_at, value) = decode_parts(entry)?;
    let record = match value {
        Ok((data, raw)) => Record::new_str(key, data, raw, expire_at, 0),
        Err(v) => Record::new_value(key, v, expire_at, 0),
    };
    Ok((db, key, record))
}

/// A snapshot in progress: the shards are armed; [`SnapshotJob::write`] walks them. Dropping
/// the job (finished or not) disarms every shard.
pub struct SnapshotJob {
    ks: Arc<Keyspace>,
    dbs: Vec<Arc<Db>>,
    lsn: u64,
    app: Vec<u8>,
}

/// A snapshot is already running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a snapshot is already in progress")]
pub struct SnapshotBusy;

/// Starts a snapshot of the whole keyspace as of its current LSN.
pub fn begin_snapshot(ks: &Arc<Keyspace>) -> Result<SnapshotJob, SnapshotBusy> {
    if ks.snapshot_running.swap(true, Ordering::AcqRel) {
        return Err(SnapshotBusy);
    }
    let w = ks.replay_writer();
    let lsn = ks.last_lsn();
    let dbs = ks.all_dbs();
    for db in &dbs {
        for i in 0..SHARDS {
            *db.write(i, &w).snap.get_mut() = Some(SnapState::default());
        }
    }
    let named = ks.named_namespaces();
    let (_, libraries) = ks.function_libraries();
    drop(w);
    let mut app = vec![APP_META_VERSION];
    put_uvarint(&mut app, named.len() as u64);
    for (id, name) in &named {
        put_uvarint(&mut app, u64::from(*id));
        put_bytes(&mut app, name.as_bytes());
    }
    put_uvarint(&mut app, libraries.len() as u64);
    for (name, code) in &libraries {
        put_bytes(&mut app, name.as_bytes());
        put_bytes(&mut app, code);
    }
    Ok(SnapshotJob {
        ks: ks.clone(),
        dbs,
        lsn,
        app,
    })
}

impl SnapshotJob {
    /// The LSN the snapshot shows the state at.
    pub fn lsn(&self) -> u64 {
        self.lsn
    }

    /// The application metadata to store in the file header (the namespace table).
    pub fn app_meta(&self) -> &[u8] {
        &self.app
    }

    /// Walks every shard and hands each entry to `sink`, outside any lock. Returns the number
    /// of entries. Errors from the sink stop the walk (the job still disarms on drop).
    pub fn write(&mut self, sink: &mut dyn FnMut(&[u8]) -> io::Result<()>) -> io::Result<u64> {
        let mut count = 0u64;
        let mut buf = Vec::new();
        let mut ends = Vec::new();
        for db in &self.dbs {
            for i in 0..SHARDS {
                loop {
                    buf.clear();
                    ends.clear();
                    let finished = walk_batch(db, i, &mut buf, &mut ends);
                    let mut start = 0;
                    for &end in &ends {
                        sink(&buf[start..end])?;
                        start = end;
                    }
                    count += ends.len() as u64;
                    if finished {
                        break;
                    }
                }
            }
        }
        Ok(count)
    }
}

/// Writes one batch of shard `i` of `db` into `buf` (entry ends in `ends`). Returns true when
/// the shard is done (and disarms it).
fn walk_batch(db: &Db, i: usize, buf: &mut Vec<u8>, ends: &mut Vec<usize>) -> bool {
    let guard = db.read(i);
    let mut snap = guard.snap.lock();
    let Some(st) = snap.as_mut() else {
        return true;
    };
    let from = st.done.map_or(0, |d| d + 1);
    let mut n = 0;
    let saved = &st.saved;
    let next = guard.scan_from(from, |pos, e| {
        let changed = saved
            .get(&pos)
            .is_some_and(|l| l.iter().any(|(k, _)| k[..] == *e.key()));
        if !changed {
            encode_entry(buf, db.id, e.key(), e.view(), e.expire_at());
            ends.push(buf.len());
        }
        n += 1;
        n < BATCH
    });
    let end = next.map_or(Position::MAX, |p| p - 1);
    let positions: Vec<Position> = st.saved.range(from..=end).map(|(p, _)| *p).collect();
    for p in positions {
        for (key, item) in st.saved.remove(&p).unwrap_or_default() {
            if let Some(item) = item {
                encode_entry(buf, db.id, &key, item.view(), item.expire_at());
                ends.push(buf.len());
            }
        }
    }
    st.done = Some(end);
    if next.is_none() {
        *snap = None;
        return true;
    }
    false
}

impl Drop for SnapshotJob {
    fn drop(&mut self) {
        let w = self.ks.replay_writer();
        for db in &self.dbs {
            for i in 0..SHARDS {
                *db.write(i, &w).snap.get_mut() = None;
            }
        }
        drop(w);
        self.ks.snapshot_running.store(false, Ordering::Release);
    }
}

/// Why a snapshot could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// Bytes that do not decode.
    #[error("{0}")]
    Decode(#[from] DecodeError),
    /// Metadata of a version this binary does not know.
    #[error("snapshot metadata version {0} is not supported (written by a newer Vole?)")]
    MetaVersion(u8),
    /// An entry names a namespace the metadata does not list.
    #[error("entry names namespace id {0}, which the snapshot does not list")]
    NoSuchNamespace(u32),
    /// Bytes left after an entry.
    #[error("{0} stray bytes after an entry")]
    Trailing(usize),
    /// The namespace table conflicts with namespaces already present.
    #[error("namespace {0:?} cannot be created: {1}")]
    Namespace(String, String),
}

/// One decoded snapshot entry.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedEntry<'a> {
    /// Namespace id.
    pub db: u32,
    /// Key.
    pub key: &'a [u8],
    /// Absolute expiry in ms (0 = none).
    pub expire_at: i64,
    /// Value.
    pub value: crate::value::Value,
}

/// Decodes one snapshot entry (for tools; the loader uses [`decode_record`]).
pub fn decode_entry(entry: &[u8]) -> Result<DecodedEntry<'_>, LoadError> {
    let (db, key, expire_at, value) = decode_parts(entry)?;
    Ok(DecodedEntry {
        db,
        key,
        expire_at,
        value: owned_value(value),
    })
}

/// The fields of one entry: namespace id, key, expiry and value (a string not copied).
fn decode_parts(entry: &[u8]) -> Result<(u32, &[u8], i64, StrOrValue<'_>), LoadError> {
    let mut c = Cursor::new(entry);
    let db = c.u32("db")?;
    let key = c.bytes()?;
    let expire_at = c.ivarint()?;
    let value = c.value_ref()?;
    if !c.is_at_end() {
        return Err(LoadError::Trailing(entry.len() - c.pos()));
    }
    Ok((db, key, expire_at, value))
}

/// The namespace table stored in a snapshot's application metadata, as (id, name).
pub fn decode_app_meta(app: &[u8]) -> Result<Vec<(u32, String)>, LoadError> {
    Ok(AppMeta::decode(app)?.namespaces)
}

/// A snapshot's application metadata.
#[derive(Debug, Default)]
pub struct AppMeta {
    /// Named namespaces as (id, name).
    pub namespaces: Vec<(u32, String)>,
    /// Function libraries as (name, code) (version 2).
    pub libraries: Vec<(String, Bytes)>,
}

impl AppMeta {
    /// Decodes version 1 or 2 metadata. Total: never panics, whatever the bytes.
    pub fn decode(app: &[u8]) -> Result<AppMeta, LoadError> {
        let mut c = Cursor::new(app);
        let version = c.u8()?;
        if version != 1 && version != APP_META_VERSION {
            return Err(LoadError::MetaVersion(version));
        }
        let mut meta = AppMeta::default();
        let count = c.uvarint()?;
        for _ in 0..count {
            let id = c.u32("namespace id")?;
            meta.namespaces.push((id, c.name()?.to_string()));
        }
        if version >= 2 {
            let count = c.uvarint()?;
            for _ in 0..count {
                let name = c.name()?.to_string();
                let code = Bytes::copy_from_slice(c.bytes()?);
                meta.libraries.push((name, code));
            }
        }
        if !c.is_at_end() {
            return Err(LoadError::Trailing(app.len() - c.pos()));
        }
        Ok(meta)
    }
}

/// Loads snapshot entries into a keyspace (empty, at start-up, before any client or writer
/// exists: entries go in under shard locks alone). Entries may be added from several threads
/// at once: [`Loader`] is `Sync`.
pub struct Loader<'a> {
    ks: &'a Keyspace,
    dbs: HashMap<u32, Arc<Db>>,
}

/// Prepares `ks` for loading a snapshot with application metadata `app`: creates its
/// namespaces.
pub fn loader<'a>(ks: &'a Keyspace, app: &[u8]) -> Result<Loader<'a>, LoadError> {
    let meta = AppMeta::decode(app)?;
    let mut w = ks.replay_writer();
    let mut dbs: HashMap<u32, Arc<Db>> = HashMap::new();
    for db in ks.all_dbs() {
        dbs.insert(db.id, db);
    }
    for (id, name) in &meta.namespaces {
        let db = match ks.namespace(name) {
            Some(db) if db.id == *id => db,
            _ => ks
                .create_namespace_with_id(name, *id, &mut w)
                .map_err(|e| LoadError::Namespace(name.to_string(), e.to_string()))?,
        };
        dbs.insert(*id, db);
    }
    for (name, code) in meta.libraries {
        ks.function_load(&mut w, &name, code);
    }
    drop(w);
    Ok(Loader { ks, dbs })
}

impl Loader<'_> {
    /// Decodes one entry and stores it (replacing a key loaded before).
    pub fn add(&self, entry: &[u8]) -> Result<(), LoadError> {
        let (id, key, record) = decode_record(entry)?;
        let db = self.dbs.get(&id).ok_or(LoadError::NoSuchNamespace(id))?;
        let k = db.locate(key);
        db.write_for_load(k.shard).load(&k, record);
        Ok(())
    }

    /// Ends the load: the state is now at `lsn`.
    pub fn finish(self, lsn: u64) {
        self.ks.set_last_lsn(lsn);
    }
}

impl Drop for Loader<'_> {
    /// Puts the loaded keys in the index, shard by shard (on every way out, so that a failed load
    /// leaves no key that SCAN or a snapshot cannot see).
    fn drop(&mut self) {
        for db in self.dbs.values() {
            for i in 0..SHARDS {
                db.write_for_load(i).finish_load();
            }
        }
    }
}

/// Fuzz entry point for entry decoding: never panics.
pub fn fuzz_entry(data: &[u8]) {
    let ks = Keyspace::new(Arc::new(crate::clock::ManualClock::new(0)));
    let outcome = match loader(&ks, &[APP_META_VERSION, 0, 0]) {
        Ok(l) => l.add(data).is_ok(),
        Err(_) => false,
    };
    let _ = outcome;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::value::Value;

    fn ks() -> Arc<Keyspace> {
        Arc::new(Keyspace::new(Arc::new(ManualClock::new(1_000_000))))
    }

    fn set(ks: &Keyspace, db: &Db, key: &[u8], val: &[u8]) {
        let mut w = ks.writer();
        let k = db.locate(key);
        db.write(k.shard, &w).insert(
            &k,
            crate::keyspace::Item::new(Value::string(val), 0),
            &mut w,
        );
    }

    fn del(ks: &Keyspace, db: &Db, key: &[u8]) {
        let mut w = ks.writer();
        let k = db.locate(key);
        db.write(k.shard, &w).remove(&k, &mut w);
    }

    /// Every (db, key, value) of a keyspace, sorted.
    fn dump(ks: &Keyspace) -> Vec<(u32, Vec<u8>, Vec<u8>, i64)> {
        let mut out = Vec::new();
        for db in ks.all_dbs() {
            for i in 0..SHARDS {
                for e in db.read(i).iter() {
                    let v = e.as_str().map(|b| b.to_vec()).unwrap_or_default();
                    out.push((db.id, e.key().to_vec(), v, e.expire_at()));
                }
            }
        }
        out.sort();
        out
    }

    fn take(ks: &Arc<Keyspace>, during: impl FnMut(u64)) -> (u64, Vec<Vec<u8>>, Vec<u8>) {
        let mut job = begin_snapshot(ks).expect("not busy");
        let mut entries = Vec::new();
        let mut during = during;
        let mut n = 0u64;
        job.write(&mut |e: &[u8]| {
            entries.push(e.to_vec());
            n += 1;
            during(n);
            Ok(())
        })
        .expect("write");
        (job.lsn(), entries, job.app_meta().to_vec())
    }

    fn load(app: &[u8], entries: &[Vec<u8>]) -> Arc<Keyspace> {
        let ks = ks();
        let l = loader(&ks, app).expect("meta");
        for e in entries {
            l.add(e).expect("entry");
        }
        l.finish(0);
        ks
    }

    #[test]
    fn snapshot_of_a_quiet_keyspace_loads_back_equal() {
        // Proves a snapshot round-trips every key, value, expiry and namespace.
        let ks = ks();
        let db0 = ks.db(0).cloned().expect("db0");
        let ns = ks.create_namespace("staging").expect("ns");
        for i in 0..3000 {
            set(
                &ks,
                &db0,
                format!("k{i}").as_bytes(),
                format!("v{i}").as_bytes(),
            );
        }
        set(&ks, &ns, b"only-here", b"x");
        {
            let mut w = ks.writer();
            let k = db0.locate(b"k1");
            db0.write(k.shard, &w).set_expire(&k, 5_000_000, &mut w);
        }
        let (_, entries, app) = take(&ks, |_| {});
        assert_eq!(entries.len(), 3001);
        let back = load(&app, &entries);
        assert_eq!(dump(&back), dump(&ks));
        assert!(back.namespace("staging").is_some());
        // The loaded keys are in the order SCAN and the next snapshot walk.
        let db0 = back.db(0).cloned().expect("db0");
        let (mut cursor, mut scanned) = (0u64, std::collections::HashSet::new());
        loop {
            cursor = db0.scan(cursor, 100, 0, |e| {
                scanned.insert(e.key().to_vec());
            });
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(scanned.len(), 3000);
        let (_, again, _) = take(&back, |_| {});
        assert_eq!(again.len(), 3001);
    }

    #[test]
    fn writes_during_a_snapshot_do_not_leak_into_it() {
        // Proves copy-before-write: the snapshot equals the state when it began, whatever
        // writers did meanwhile (overwrites, deletes, new keys, a flush), and the shards are
        // disarmed afterwards.
        let ks = ks();
        let db0 = ks.db(0).cloned().expect("db0");
        for i in 0..5000 {
            set(&ks, &db0, format!("k{i}").as_bytes(), b"before");
        }
        let expected = dump(&ks);
        let ks2 = ks.clone();
        let (_, entries, app) = take(&ks, move |n| {
            let i = n as usize;
            match i {
                100 => {
                    let mut w = ks2.writer();
                    db0.clear(&mut w);
                }
                _ if i % 7 == 0 => set(
                    &ks2,
                    &db0,
                    format!("k{}", i * 3 % 5000).as_bytes(),
                    b"after",
                ),
                _ if i % 11 == 0 => del(&ks2, &db0, format!("k{}", i * 5 % 5000).as_bytes()),
                _ => set(&ks2, &db0, format!("new{i}").as_bytes(), b"new"),
            }
        });
        let back = load(&app, &entries);
        assert_eq!(dump(&back), expected);
        let db0 = ks.db(0).cloned().expect("db0");
        for i in 0..SHARDS {
            assert!(db0.read(i).snap.lock().is_none());
        }
        assert!(begin_snapshot(&ks).is_ok(), "a second snapshot can start");
    }

    #[test]
    fn a_second_snapshot_is_refused_while_one_runs() {
        // Proves only one snapshot runs at a time, and dropping a job frees the slot.
        let ks = ks();
        let job = begin_snapshot(&ks).expect("first");
        assert_eq!(begin_snapshot(&ks).err(), Some(SnapshotBusy));
        drop(job);
        assert!(begin_snapshot(&ks).is_ok());
    }

    #[test]
    fn bad_entries_are_errors_not_panics() {
        // Proves the entry decoder refuses truncated and unknown input.
        let ks = ks();
        let l = loader(&ks, &[APP_META_VERSION, 0, 0]).expect("meta");
        let mut e = Vec::new();
        let item = Value::string(b"v");
        encode_entry(&mut e, 0, b"k", item.as_ref(), 0);
        for cut in 0..e.len() {
            assert!(l.add(&e[..cut]).is_err());
        }
        let mut bad_db = Vec::new();
        encode_entry(&mut bad_db, 999, b"k", item.as_ref(), 0);
        assert_eq!(l.add(&bad_db), Err(LoadError::NoSuchNamespace(999)));
        assert!(l.add(&e).is_ok());
        assert!(loader(&ks, &[9]).is_err());
    }
}
