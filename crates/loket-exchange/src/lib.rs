//! The exchange (integration layer): organisations' certificates, the directory,
//! FSC-style contracts whose connection grants are bound to processing activities and
//! fields, and the outway and inway that enforce them over mutual TLS and log every
//! request in the organisation's processing log before anything reaches a register.
//!
//! Architecture invariant: knows no register. Services are names, URLs and a subject
//! field path from the directory; what a register answers is passed through untouched
//! except for the subject field the inway itself asked for, or withheld whole (an
//! answer naming too many residents, or one that cannot be read).
//!
//! Architecture invariant: fail closed. No request is forwarded before its record is
//! durable, and no answer is handed back before its records are.

mod answer_subjects;
mod canonical;
pub mod checks;
pub mod contract;
mod denial;
mod documents;
mod forward;
mod gateway;
mod inway;
mod journal;
pub mod management;
pub mod manager;
mod metrics;
mod outway;
pub mod pki;
mod request_body;
mod revocations;
mod subjects;
pub mod tls;
mod trust;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;

pub use canonical::{NotCanonical, canonical};
pub use denial::{Denial, FSC_ERROR_CODE};
pub use gateway::{
    GRANT_HASH, MAX_ANSWER_SUBJECTS, MAX_FIELD_NAME, MAX_FIELDS, MAX_HEADER_VALUE, MAX_SUBJECTS,
    PROCESSING_ACTIVITY, TRANSACTION_ID,
};
pub use inway::{Inway, InwayError, InwayService};
pub use manager::{ContractState, Manager, ManagerError, PeerEntry, Policy, ServiceEntry};
pub use metrics::ExchangeMetrics;
pub use outway::{Outway, OutwayError};

pub const SCHEMA: loket_store::Schema = loket_store::Schema {
    component: "exchange",
    sqlite: &[
        loket_store::Migration {
            version: 1,
            description: "0001_exchange.sql",
            sql: include_str!("../migrations/sqlite/0001_exchange.sql"),
        },
        loket_store::Migration {
            version: 2,
            description: "0002_documents_revision.sql",
            sql: include_str!("../migrations/sqlite/0002_documents_revision.sql"),
        },
    ],
    postgres: &[
        loket_store::Migration {
            version: 1,
            description: "0001_exchange.sql",
            sql: include_str!("../migrations/postgres/0001_exchange.sql"),
        },
        loket_store::Migration {
            version: 2,
            description: "0002_documents_revision.sql",
            sql: include_str!("../migrations/postgres/0002_documents_revision.sql"),
        },
    ],
};

/// The organisation's own storage of the contracts its exchange has seen revoked
/// ([`Manager::open`]); the same SQL on both backends.
pub const REVOCATIONS_SCHEMA: loket_store::Schema = loket_store::Schema {
    component: "exchange_revocations",
    sqlite: REVOCATIONS_MIGRATIONS,
    postgres: REVOCATIONS_MIGRATIONS,
};

const REVOCATIONS_MIGRATIONS: &[loket_store::Migration] = &[
    loket_store::Migration {
        version: 1,
        description: "0001_seen_revocations.sql",
        sql: include_str!("../migrations/revocations/0001_seen_revocations.sql"),
    },
    loket_store::Migration {
        version: 2,
        description: "0002_own_signatures.sql",
        sql: include_str!("../migrations/revocations/0002_own_signatures.sql"),
    },
];

/// Serve an inway's router over mutual TLS until `shutdown` resolves.
pub async fn serve_tls(
    listener: TcpListener,
    config: Arc<rustls::ServerConfig>,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = tls::TlsListener::new(listener, config)?;
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<tls::Peer>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
