//! Fictional residents for the demo, the tests and the README.
//!
//! Architecture invariant: everything here is synthetic. BSNs of personas lie in the
//! 9999xxxxx test range and pass the 11-proef; no real person's data is ever used.

mod personas;

pub use personas::{DEMO_GEMEENTE, Persona, personas};
