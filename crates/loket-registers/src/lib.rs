//! The registers: the sources of truth that the rest of Loket asks, never copies.
//!
//! Each register is a module with its own store (its own database: component name =
//! module name), its own HTTP API following the national standard where one exists, a
//! change feed, an OpenAPI document, and an `HttpService` that runs standalone
//! (`loket register NAME`) or inside the demo.
//!
//! Architecture invariant: a register knows nothing of the rest of Loket: not the
//! exchange, not the process layer, not the portal. It answers whoever reaches it; the
//! exchange in front of it decides who may.

pub mod brp;
pub mod common;
pub mod duo;
pub mod inkomen;
pub mod rdw;
pub mod reisdocumenten;

pub use common::api::RegisterApi;
pub use common::datum::Datum;
pub use common::feed::{Feed, Mutatie, NewMutatie};
pub use common::records::{Record, RecordStore, record_store};
