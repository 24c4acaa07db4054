//! Replaying the effect log gives the state the commands made: a randomized workload of every
//! write command runs through the real handlers (with lazy expiry, the active expiry cycle and
//! a moving clock), every record goes to an in-memory log, and a fresh keyspace that replays
//! the log must equal the original key for key, value for value, expiry for expiry. A
//! snapshot taken in the middle plus the records after it must give the same state too.

mod replay_gen;

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use vole_engine::clock::ManualClock;
use vole_engine::cmd::{Ctx, EngineLimits};
use vole_engine::command::{resolve, Exec};
use vole_engine::effect::{apply_record, put_value, EffectLog};
use vole_engine::keyspace::{Keyspace, SHARDS};
use vole_engine::persist::{begin_snapshot, loader};

use replay_gen::random_command;

#[derive(Default)]
struct MemLog {
    records: Mutex<Vec<(u64, u8, Vec<u8>)>>,
}

impl EffectLog for MemLog {
    fn append(&self, kind: u8, payload: &[u8]) -> Result<u64, String> {
        let mut r = self.records.lock().map_err(|e| e.to_string())?;
        let lsn = r.len() as u64 + 1;
        r.push((lsn, kind, payload.to_vec()));
        Ok(lsn)
    }
}

fn run(ks: &Keyspace, db: u32, args: &[&str]) {
    let args: Vec<Bytes> = args.iter().map(|a| Bytes::from(a.to_string())).collect();
    let Ok(r) = resolve(&args) else { return };
    let Exec::Engine(handler) = r.cmd.exec else {
        return;
    };
    let limits = EngineLimits::default();
    let db = ks.db(db).cloned().expect("db");
    let mut ctx = Ctx::new(ks, &db, &limits);
    let _ = handler(&mut ctx, &args);
}

type Dump = Vec<(u32, Vec<u8>, Vec<u8>, i64)>;

fn dump(ks: &Keyspace) -> Dump {
    let mut out = Vec::new();
    for db in ks.all_dbs() {
        for i in 0..SHARDS {
            for e in db.read(i).iter() {
                // The full value encoding: type, contents and iteration order.
                let mut v = Vec::new();
                put_value(&mut v, e.view());
                out.push((db.id, e.key().to_vec(), v, e.expire_at()));
            }
        }
    }
    out.sort();
    out
}

fn replay_into(ks: &Keyspace, records: &[(u64, u8, Vec<u8>)]) {
    for (lsn, kind, payload) in records {
        apply_record(ks, *kind, payload).unwrap_or_else(|e| panic!("record {lsn}: {e}"));
        ks.set_last_lsn(*lsn);
    }
}

#[test]
fn replaying_the_log_rebuilds_the_same_state() {
    for seed in 0..6u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let clock = Arc::new(ManualClock::new(1_700_000_000_000));
        let ks = Arc::new(Keyspace::new(clock.clone()));
        let log = Arc::new(MemLog::default());
        assert!(ks.set_log(log.clone()));
        ks.create_namespace("side").expect("ns");
        let mut snapshot = None;
        for step in 0..4000 {
            let cmd = random_command(&mut rng);
            let refs: Vec<&str> = cmd.iter().map(String::as_str).collect();
            run(&ks, rng.gen_range(0..2), &refs);
            clock.advance(rng.gen_range(0..5));
            if step % 97 == 0 {
                ks.active_expire(5);
            }
            if step == 2000 {
                // A snapshot with writes interleaved into its walk.
                let mut job = begin_snapshot(&ks).expect("snapshot");
                let mut entries = Vec::new();
                let mut r2 = StdRng::seed_from_u64(seed + 100);
                job.write(&mut |e: &[u8]| {
                    entries.push(e.to_vec());
                    let cmd = random_command(&mut r2);
                    let refs: Vec<&str> = cmd.iter().map(String::as_str).collect();
                    run(&ks, 0, &refs);
                    Ok(())
                })
                .expect("walk");
                snapshot = Some((job.lsn(), job.app_meta().to_vec(), entries));
            }
        }
        let records = log.records.lock().expect("lock").clone();
        assert!(
            records.len() > 600,
            "seed {seed}: {} records",
            records.len()
        );

        // Full replay from an empty keyspace.
        let fresh = Keyspace::new(Arc::new(ManualClock::new(0)));
        replay_into(&fresh, &records);
        assert_eq!(dump(&fresh), dump(&ks), "seed {seed}: full replay differs");
        assert!(fresh.namespace("side").is_some());

        // Snapshot + the records after its LSN.
        let (lsn, app, entries) = snapshot.expect("snapshot taken");
        let from_snap = Keyspace::new(Arc::new(ManualClock::new(0)));
        let l = loader(&from_snap, &app).expect("meta");
        for e in &entries {
            l.add(e).expect("entry");
        }
        l.finish(lsn);
        let after: Vec<_> = records.iter().filter(|r| r.0 > lsn).cloned().collect();
        replay_into(&from_snap, &after);
        assert_eq!(
            dump(&from_snap),
            dump(&ks),
            "seed {seed}: snapshot + tail differs"
        );

        // The snapshot alone equals replaying the log up to its LSN.
        let upto: Vec<_> = records.iter().filter(|r| r.0 <= lsn).cloned().collect();
        let at_lsn = Keyspace::new(Arc::new(ManualClock::new(0)));
        replay_into(&at_lsn, &upto);
        let snap_only = Keyspace::new(Arc::new(ManualClock::new(0)));
        let l = loader(&snap_only, &app).expect("meta");
        for e in &entries {
            l.add(e).expect("entry");
        }
        l.finish(lsn);
        assert_eq!(
            dump(&snap_only),
            dump(&at_lsn),
            "seed {seed}: snapshot != log at its LSN"
        );
    }
}
