//! Help for commands the seed promises whose server side does not exist yet.
//!
//! The CLI's help (`help`, `help @group`, `help COMMAND`, hints) reads [`COMMANDS`] first and
//! this table second, so a user sees every Vole command with its arguments and summary before
//! it is implemented. Nothing here is dispatched: the server only knows [`COMMANDS`], and a
//! name in both tables is a bug (`tests::planned_not_implemented`). When a command is
//! implemented, its entry moves from [`PLANNED`] to [`COMMANDS`] (where help picks it up).
//!
//! Names are upper-case as users type them; a space separates a container from its
//! subcommand (`NAMESPACE CREATE`), the way `help` prints them.
//!
//! [`COMMANDS`]: crate::command::COMMANDS

/// Help for one planned command.
#[derive(Debug, Clone, Copy)]
pub struct CommandDoc {
    /// `NAME` or `CONTAINER SUB`, upper-case.
    pub name: &'static str,
    /// Help group (`help @group`).
    pub group: &'static str,
    /// Argument syntax, Redis-docs style.
    pub syntax: &'static str,
    /// One-line summary.
    pub summary: &'static str,
}

const fn d(
    name: &'static str,
    group: &'static str,
    syntax: &'static str,
    summary: &'static str,
) -> CommandDoc {
    CommandDoc {
        name,
        group,
        syntax,
        summary,
    }
}

/// Commands of the seed (docs/ and shared/seed) not implemented yet, by group.
#[rustfmt::skip]
pub static PLANNED: &[CommandDoc] = &[
    // Leader-follower replication.
    d("REPLICAOF", "replication", "host port | NO ONE", "Follows the leader at host:port, or with NO ONE stops following and becomes standalone."),
    d("SLAVEOF", "replication", "host port | NO ONE", "Old name of REPLICAOF."),
    // Multi-master replication.
    d("MULTIMASTER ENABLE", "multi-master", "", "Enables multi-master replication: this node accepts writes and exchanges them with its peers."),
    d("MULTIMASTER DISABLE", "multi-master", "", "Disables multi-master replication."),
    d("MULTIMASTER STATUS", "multi-master", "", "Returns whether multi-master replication is enabled and the number of peers."),
    d("MULTIMASTER PEERS", "multi-master", "", "Lists the connected peers."),
    // Cluster.
    d("CLUSTER MEET", "cluster", "host:port", "Adds the node at host:port to the cluster."),
    d("CLUSTER FORGET", "cluster", "node-id", "Removes a node from this node's view of the cluster."),
    d("CLUSTER NODES", "cluster", "", "Returns the cluster configuration: one line per node."),
    d("CLUSTER SLOTS", "cluster", "", "Returns the mapping of hash slots to nodes."),
    d("CLUSTER INFO", "cluster", "", "Returns the state of the cluster."),
    d("CLUSTER MYID", "cluster", "", "Returns this node's id."),
    d("CLUSTER RESET", "cluster", "[HARD | SOFT]", "Forgets every other node and the slot assignment."),
    d("CLUSTER KEYSLOT", "cluster", "key", "Returns the hash slot of a key."),
    d("CLUSTER COUNTKEYSINSLOT", "cluster", "slot", "Returns the number of keys in a hash slot."),
    d("CLUSTER GETKEYSINSLOT", "cluster", "slot count", "Returns up to count key names in a hash slot."),
    d("CLUSTER REPLICATE", "cluster", "node-id", "Makes this node a replica of the given node."),
    d("CLUSTER FAILOVER", "cluster", "[FORCE | TAKEOVER]", "Makes this replica take over from its leader."),
    d("CLUSTER SAVECONFIG", "cluster", "", "Writes the cluster configuration to disk."),
    // Namespaces.
    d("NAMESPACE CREATE", "namespaces", "name", "Creates a namespace: a keyspace isolated from all others."),
    d("NAMESPACE USE", "namespaces", "name", "Switches this connection to a namespace."),
    d("NAMESPACE LIST", "namespaces", "", "Lists the namespaces."),
    d("NAMESPACE CURRENT", "namespaces", "", "Returns the namespace of this connection."),
    d("NAMESPACE DROP", "namespaces", "name", "Deletes a namespace and every key in it."),
    // Reliable queues.
    d("ENQUEUE", "queues", "queue message [DELAY seconds]", "Adds a message to a queue, optionally visible only after a delay."),
    d("DEQUEUE", "queues", "queue [TIMEOUT seconds]", "Takes the next message for processing: returns message id, body and retry count."),
    d("QACK", "queues", "queue message-id", "Acknowledges a message: processing is done and it is removed."),
    d("QNACK", "queues", "queue message-id", "Puts a message back to be retried; after too many failures it goes to the dead-letter queue."),
    d("QPEEK", "queues", "queue [COUNT count]", "Returns the next messages without taking them."),
    d("QLEN", "queues", "queue", "Returns the number of messages waiting."),
    d("QINFO", "queues", "queue", "Returns the pending, processing and dead-letter counts."),
    d("QDEAD", "queues", "queue [COUNT count]", "Returns messages from the dead-letter queue."),
    // JSON documents.
    d("JSON.SET", "json", "key path value", "Sets the JSON value at path ($ for the whole document)."),
    d("JSON.GET", "json", "key [path [path ...]]", "Returns the JSON value at path."),
    d("JSON.DEL", "json", "key [path]", "Deletes the value at path."),
    d("JSON.TYPE", "json", "key [path]", "Returns the JSON type of the value at path."),
    d("JSON.NUMINCRBY", "json", "key path number", "Increments the number at path and returns the new value."),
    d("JSON.ARRAPPEND", "json", "key path value [value ...]", "Appends values to the array at path; returns its new length."),
    d("JSON.ARRLEN", "json", "key [path]", "Returns the length of the array at path."),
    d("JSON.KEYS", "json", "key [path]", "Returns the keys of the object at path."),
    // Rate limiting.
    d("RATELIMIT", "rate-limiting", "key max-requests window-seconds", "Counts a request in a sliding window: returns allowed, remaining, retry-after ms and reset time."),
    d("RATELIMIT.PEEK", "rate-limiting", "key max-requests window-seconds", "Returns the limiter's state without counting a request."),
    d("RATELIMIT.RESET", "rate-limiting", "key", "Clears a limiter's counter."),
    // Time series.
    d("TS.ADD", "time-series", "key timestamp value [LABELS label=value [label=value ...]]", "Adds a sample (timestamp * for now), creating the series if needed."),
    d("TS.RANGE", "time-series", "key from to [COUNT count]", "Returns the samples between two timestamps (- and + for the ends)."),
    d("TS.GET", "time-series", "key", "Returns the newest sample."),
    d("TS.INFO", "time-series", "key", "Returns the series' sample count, first and last timestamps and labels."),
    d("TS.DOWNSAMPLE", "time-series", "source destination <AVG | SUM | MIN | MAX | COUNT | FIRST | LAST> from to bucket-ms", "Aggregates samples into fixed-width buckets stored in another series."),
    // Search.
    d("HSEARCH", "search", "pattern WHERE field op value [AND field op value ...] [LIMIT offset count]", "Finds hashes whose fields match conditions (=, !=, >, <, >=, <=, CONTAINS, STARTSWITH)."),
    // Tags.
    d("TAG", "tags", "key tag=value [tag=value ...]", "Attaches tags to a key."),
    d("TAGGET", "tags", "key", "Returns a key's tags."),
    d("TAGDEL", "tags", "key tag [tag ...]", "Removes tags from a key."),
    d("TAGQUERY", "tags", "tag=value [AND tag=value ...] [LIMIT count]", "Returns the keys carrying all the given tags."),
    // Schemas.
    d("SCHEMA.SET", "schema", "pattern field:type [field:type ...]", "Validates writes to hashes matching pattern (types: string, int, float, bool, email, required)."),
    d("SCHEMA.GET", "schema", "pattern", "Returns the schema for a pattern."),
    d("SCHEMA.DEL", "schema", "pattern", "Removes the schema for a pattern."),
    d("SCHEMA.LIST", "schema", "", "Lists the schemas."),
    // Delayed keys.
    d("SETDELAYED", "string", "key value delay-seconds [EX seconds]", "Sets a key that stays invisible until the delay passes."),
    // Cron.
    d("CRON.ADD", "cron", "name schedule command [arg ...]", "Runs a command inside the server on a 5-field cron schedule."),
    d("CRON.DEL", "cron", "name", "Removes a scheduled job."),
    d("CRON.LIST", "cron", "", "Lists the scheduled jobs."),
    d("CRON.INFO", "cron", "name", "Returns a job's schedule, command, last and next run."),
    // Audit log.
    d("AUDIT", "audit", "key [COUNT count]", "Returns the recorded writes to a key: command, time and client address."),
    d("AUDIT.SEARCH", "audit", "pattern [COUNT count]", "Returns the recorded writes to keys matching a pattern."),
    d("AUDIT.ENABLE", "audit", "", "Starts recording every write."),
    d("AUDIT.DISABLE", "audit", "", "Stops recording writes."),
    d("AUDIT.CLEAR", "audit", "", "Deletes the audit log."),
    d("AUDIT.SIZE", "audit", "", "Returns the number of entries in the audit log."),
    // Webhooks.
    d("WEBHOOK REGISTER", "webhooks", "pattern event url", "POSTs to url when a key matching pattern sees event (set, del, expired)."),
    d("WEBHOOK LIST", "webhooks", "", "Lists the registered webhooks."),
    d("WEBHOOK UNREGISTER", "webhooks", "pattern event url", "Removes a webhook."),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::lookup;

    #[test]
    fn planned_not_implemented() {
        // A planned command that the server implements must move to COMMANDS: no name may be
        // in both tables (help would show it twice, and it would be advertised as planned).
        for doc in PLANNED {
            let mut words = doc.name.split(' ');
            let first = words.next().unwrap_or_default();
            let found = match (lookup(first.as_bytes()), words.next()) {
                (None, _) => false,
                (Some(_), None) => true,
                (Some(c), Some(sub)) => c.subcommand(sub.as_bytes()).is_some(),
            };
            assert!(!found, "{} is implemented: move it to COMMANDS", doc.name);
        }
    }

    #[test]
    fn planned_table_is_well_formed() {
        // Names are upper-case and unique, every entry has a group and a summary.
        let mut seen = std::collections::HashSet::new();
        for doc in PLANNED {
            assert_eq!(doc.name, doc.name.to_uppercase());
            assert!(seen.insert(doc.name), "{} twice", doc.name);
            assert!(
                !doc.group.is_empty() && !doc.summary.is_empty(),
                "{}",
                doc.name
            );
        }
    }
}
