//! The shared vocabulary of Loket.
//!
//! Architecture invariant: this crate does no I/O (no network, no files, no database) and
//! knows nothing of HTTP frameworks or storage. Everything here is a value that parses once
//! and can then be trusted (parse, don't validate).

pub mod bsn;
pub mod clock;
pub mod datum;
pub mod hex;
pub mod ids;
pub mod kenteken;
pub mod merkle;
pub mod oin;
pub mod present;
pub mod problem;
pub mod resident_assertion;
pub mod secret;
pub mod trace;

pub use bsn::Bsn;
pub use clock::{Clock, FixedClock, SystemClock, dutch_time, dutch_today};
pub use kenteken::Kenteken;
pub use oin::Oin;
pub use problem::{InvalidParam, Problem};
pub use secret::{Secret, same_secret};
pub use trace::{SpanId, TraceContext, TraceId};
