//! Fictional residents for the demo, the tests and the README.
//!
//! Architecture invariant: everything here is synthetic. BSNs of personas lie in the
//! 9999xxxxx test range and pass the 11-proef; no real person's data is ever used.

mod generator;
mod names;
mod personas;
mod records;
mod registers;

pub use generator::{BsnSequence, Generator, MAX_PERSONS, Municipality};
pub use personas::{DEMO_GEMEENTE, Persona, personas};
pub use records::{Mutaties, Records};
pub use registers::FEED_WINDOW_DAYS;
