//! Where connections wait for their writes to be durable under `appendfsync always`.
//!
//! The log's flusher thread calls [`DurableGate::advance`] after each fsync. Only the
//! connections whose last write is now covered are woken: the waiters sit in a min-heap by
//! LSN, so an fsync that covers a third of the waiting connections polls that third and no
//! other. (A broadcast channel here woke every waiting connection on every fsync; with 50
//! clients and small batches most of those polls found nothing to do.)
//!
//! A failed log wakes everyone: [`DurableGate::fail`].

use std::cmp::Ordering as CmpOrdering;
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};

use parking_lot::Mutex;

/// The durable LSN, and who waits for it to pass their own.
#[derive(Default)]
pub struct DurableGate {
    durable: AtomicU64,
    failed: AtomicBool,
    waiters: Mutex<BinaryHeap<Waiter>>,
}

/// One waiting task; the heap's top is the lowest LSN.
struct Waiter {
    lsn: u64,
    waker: Waker,
}

impl PartialEq for Waiter {
    fn eq(&self, other: &Self) -> bool {
        self.lsn == other.lsn
    }
}

impl Eq for Waiter {}

impl PartialOrd for Waiter {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}

impl Ord for Waiter {
    fn cmp(&self, other: &Self) -> CmpOrdering {
        other.lsn.cmp(&self.lsn)
    }
}

impl DurableGate {
    /// A gate whose durable LSN starts at `lsn`.
    pub fn new(lsn: u64) -> DurableGate {
        DurableGate {
            durable: AtomicU64::new(lsn),
            ..DurableGate::default()
        }
    }

    /// The durable LSN as last advanced.
    pub fn durable(&self) -> u64 {
        self.durable.load(Ordering::Acquire)
    }

    /// The durable LSN is now `lsn` (never moves back): wake the waiters it covers.
    pub fn advance(&self, lsn: u64) {
        self.durable.fetch_max(lsn, Ordering::AcqRel);
        let lsn = self.durable();
        let mut ready = Vec::new();
        {
            let mut heap = self.waiters.lock();
            while heap.peek().is_some_and(|w| w.lsn <= lsn) {
                if let Some(w) = heap.pop() {
                    ready.push(w.waker);
                }
            }
        }
        // Woken outside the lock: a wake may unpark another thread.
        for waker in ready {
            waker.wake();
        }
    }

    /// The log failed: every waiter wakes now, and later waits end at once.
    pub fn fail(&self) {
        self.failed.store(true, Ordering::Release);
        let all = std::mem::take(&mut *self.waiters.lock());
        for w in all {
            w.waker.wake();
        }
    }

    /// Whether [`Self::fail`] was called.
    pub fn failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }

    /// Resolves to the durable LSN once it reaches `target`, or at once with the durable
    /// LSN reached so far when the log has failed (the caller compares).
    pub fn wait(&self, target: u64) -> WaitDurable<'_> {
        WaitDurable { gate: self, target }
    }

    fn ready(&self, target: u64) -> Option<u64> {
        let d = self.durable();
        (d >= target || self.failed()).then_some(d)
    }

    /// How many wake-ups are registered.
    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.waiters.lock().len()
    }
}

/// The future of [`DurableGate::wait`].
pub struct WaitDurable<'a> {
    gate: &'a DurableGate,
    target: u64,
}

impl Future for WaitDurable<'_> {
    type Output = u64;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u64> {
        let gate = self.gate;
        if let Some(d) = gate.ready(self.target) {
            return Poll::Ready(d);
        }
        let mut heap = gate.waiters.lock();
        // Checked again under the lock: `advance` stores before it locks, so either this
        // sees the new LSN or `advance` sees this waiter.
        if let Some(d) = gate.ready(self.target) {
            return Poll::Ready(d);
        }
        heap.push(Waiter {
            lsn: self.target,
            waker: cx.waker().clone(),
        });
        Poll::Pending
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    // An advance wakes exactly the waiters at or below it, lowest first, and leaves the
    // others registered.
    #[tokio::test]
    async fn advance_wakes_only_the_covered_waiters() {
        let gate = Arc::new(DurableGate::new(0));
        let mut tasks = Vec::new();
        for target in [5u64, 1, 9, 3] {
            let g = gate.clone();
            tasks.push((target, tokio::spawn(async move { g.wait(target).await })));
        }
        while gate.waiting() < 4 {
            tokio::task::yield_now().await;
        }
        gate.advance(4);
        for (target, t) in &tasks {
            if *target <= 4 {
                while !t.is_finished() {
                    tokio::task::yield_now().await;
                }
            }
        }
        assert_eq!(gate.waiting(), 2);
        tokio::time::sleep(Duration::from_millis(20)).await;
        for (target, t) in &tasks {
            assert_eq!(t.is_finished(), *target <= 4, "target {target}");
        }
        gate.advance(9);
        for (target, t) in tasks {
            // Each resolves with the durable LSN of the advance that woke it.
            let want = if target <= 4 { 4 } else { 9 };
            assert_eq!(t.await.unwrap(), want);
        }
        assert_eq!(gate.waiting(), 0);
    }

    // The durable LSN never moves back, and a wait for a covered LSN does not register.
    #[tokio::test]
    async fn covered_waits_return_at_once_and_lsn_is_monotonic() {
        let gate = DurableGate::new(7);
        gate.advance(3);
        assert_eq!(gate.durable(), 7);
        assert_eq!(gate.wait(7).await, 7);
        assert_eq!(gate.waiting(), 0);
    }

    // A failure wakes every waiter with the LSN reached so far, and later waits do not block.
    #[tokio::test]
    async fn failure_releases_every_waiter() {
        let gate = Arc::new(DurableGate::new(2));
        let g = gate.clone();
        let t = tokio::spawn(async move { g.wait(100).await });
        while gate.waiting() < 1 {
            tokio::task::yield_now().await;
        }
        gate.fail();
        assert_eq!(t.await.unwrap(), 2);
        assert_eq!(gate.wait(50).await, 2);
        assert!(gate.failed());
    }

    // Many threads advancing while many tasks wait: nobody is left behind (the lost-wake-up
    // race between a waiter's check and an advance).
    #[test]
    fn no_wake_up_is_lost_under_concurrency() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let gate = Arc::new(DurableGate::new(0));
        let advancer = {
            let g = gate.clone();
            std::thread::spawn(move || {
                for lsn in 1..=20_000u64 {
                    g.advance(lsn);
                    std::thread::yield_now();
                }
            })
        };
        let done = rt.block_on(async {
            let mut tasks = Vec::new();
            for i in 0..200u64 {
                let g = gate.clone();
                tasks.push(tokio::spawn(async move {
                    let mut n = 0;
                    let mut target = i;
                    while target <= 20_000 {
                        g.wait(target).await;
                        n += 1;
                        target += 997;
                    }
                    n
                }));
            }
            let mut total = 0;
            for t in tasks {
                total += tokio::time::timeout(Duration::from_secs(20), t)
                    .await
                    .unwrap()
                    .unwrap();
            }
            total
        });
        advancer.join().unwrap();
        let expected: u64 = (0..200u64).map(|i| (20_000 - i) / 997 + 1).sum();
        assert_eq!(done, expected);
        assert_eq!(gate.waiting(), 0);
    }
}
