//! Geo commands (see docs/types/sorted-sets-and-geo.md).
