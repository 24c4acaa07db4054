//! vole-wal: placeholder until the Durability issue.
