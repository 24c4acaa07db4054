//! Random write workloads for the replay-equivalence test, one module per command family.
//! Each family's `command` returns one random command line; a family that adds write
//! commands adds its module here and to `FAMILIES`.

use rand::rngs::StdRng;
use rand::Rng;

pub mod bits;
pub mod hash;
pub mod list;
pub mod set;
pub mod stream;
pub mod strings;
pub mod zset;

/// A generator of one random command.
pub type Gen = fn(&mut StdRng) -> Vec<String>;

/// Every family, picked with equal probability.
pub const FAMILIES: &[Gen] = &[
    strings::command,
    bits::command,
    hash::command,
    set::command,
    list::command,
    zset::command,
    stream::command,
];

/// A key from a small set, so commands keep meeting keys other commands made (including keys
/// of other types: WRONGTYPE paths must not log anything).
pub fn key(rng: &mut StdRng) -> String {
    format!("k{}", rng.gen_range(0..40))
}

/// One random command from a random family.
pub fn random_command(rng: &mut StdRng) -> Vec<String> {
    let f = FAMILIES[rng.gen_range(0..FAMILIES.len())];
    f(rng)
}
