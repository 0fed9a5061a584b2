//! The processing log (Logboek Dataverwerkingen) of one organisation.
//!
//! Every use of personal data that passes the exchange becomes one LDV record per data
//! subject. Records hold pseudonyms, never a plaintext BSN; they are appended to a Merkle
//! tree (RFC 9162) with periodic signed tree heads, so `verify` detects any record that
//! was modified, removed, inserted or reordered; and the read API answers a
//! resident's (or the privacy officer's) question "who used my data, and why".
//!
//! Architecture invariant: the log knows no register, no exchange policy and no portal:
//! it stores what it is given, proves it was not changed, and answers authorised reads.

mod activities;
pub mod api;
mod head_file;
mod keys;
mod log;
pub mod merkle;
mod metrics;
mod pseudonym;
mod record;
mod store;
mod tail;
mod tree_head;
mod tree_nodes;
mod verify;

pub use activities::{Activities, ActivitiesError, Text, Verwerkingsactiviteit};
pub use head_file::{HeadFile, HeadFileError};
pub use keys::{KeyError, LogKeys, VerifyingKey};
pub use log::{HEAD_INTERVAL, LogError, Logboek};
pub use metrics::LogMetrics;
pub use pseudonym::{Pseudonym, PseudonymKey};
pub use record::{Attributes, Body, Direction, Entry, Exchange, NewRecord, Status, leaf_input};
pub use store::{Batch, Filter, LogStore, LookupKeys, LookupRows, log_store};
pub use tree_head::SignedTreeHead;
pub use tree_nodes::LOWEST_STORED_LEVEL;
pub use verify::{Lookup, Report, Tampered, VerifyError, verify};

/// The storage of a log named `component` (one per organisation, e.g. `logboek_gemeente`).
pub const fn schema(component: &'static str) -> loket_store::Schema {
    loket_store::Schema {
        component,
        sqlite: SQLITE,
        postgres: POSTGRES,
    }
}

const SQLITE: &[loket_store::Migration] = &[
    loket_store::Migration {
        version: 1,
        description: "0001_logboek.sql",
        sql: include_str!("../migrations/sqlite/0001_logboek.sql"),
    },
    loket_store::Migration {
        version: 2,
        description: "0002_deferred_lookup_indexes.sql",
        sql: include_str!("../migrations/sqlite/0002_deferred_lookup_indexes.sql"),
    },
    loket_store::Migration {
        version: 3,
        description: "0003_nodes_in_append_order.sql",
        sql: include_str!("../migrations/sqlite/0003_nodes_in_append_order.sql"),
    },
    loket_store::Migration {
        version: 4,
        description: "0004_lower_nodes_from_leaves.sql",
        sql: include_str!("../migrations/sqlite/0004_lower_nodes_from_leaves.sql"),
    },
];

const POSTGRES: &[loket_store::Migration] = &[
    loket_store::Migration {
        version: 1,
        description: "0001_logboek.sql",
        sql: include_str!("../migrations/postgres/0001_logboek.sql"),
    },
    loket_store::Migration {
        version: 2,
        description: "0002_deferred_lookup_indexes.sql",
        sql: include_str!("../migrations/postgres/0002_deferred_lookup_indexes.sql"),
    },
    loket_store::Migration {
        version: 3,
        description: "0003_nodes_in_append_order.sql",
        sql: include_str!("../migrations/postgres/0003_nodes_in_append_order.sql"),
    },
    loket_store::Migration {
        version: 4,
        description: "0004_lower_nodes_from_leaves.sql",
        sql: include_str!("../migrations/postgres/0004_lower_nodes_from_leaves.sql"),
    },
];
