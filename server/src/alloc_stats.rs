//! Allocator statistics (jemalloc), for INFO memory.

use tikv_jemalloc_ctl::{epoch, stats};

/// Bytes currently allocated by the application.
pub fn allocated() -> usize {
    // jemalloc caches its statistics; advancing the epoch refreshes them.
    let _ = epoch::advance();
    stats::allocated::read().unwrap_or(0)
}

/// Bytes in physically resident pages mapped by the allocator.
pub fn resident() -> usize {
    let _ = epoch::advance();
    stats::resident::read().unwrap_or(0)
}
