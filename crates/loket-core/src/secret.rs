//! A wrapper for values that must never be printed: keys, passwords, database URLs.

use std::fmt;

use serde::{Deserialize, Deserializer};

/// Holds a secret. `Debug` prints `[redacted]`; there is no `Display` and no `Serialize`,
/// so a secret cannot leak through logging or by echoing a configuration back.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The only way to the value; grep for `expose` to audit every use.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Secret<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Secret)
    }
}

/// Equal bytes, compared in time that does not depend on where they differ (tokens,
/// digests, CSRF values): only the lengths may tell.
pub fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let secret = Secret::new("postgres://loket:hunter2@db/loket".to_owned());
        assert_eq!(format!("{secret:?}"), "[redacted]");
        assert_eq!(secret.expose(), "postgres://loket:hunter2@db/loket");
    }

    #[test]
    fn only_equal_bytes_are_the_same_secret() {
        assert!(super::same_secret(b"abc", b"abc"));
        assert!(!super::same_secret(b"abc", b"abd"));
        assert!(!super::same_secret(b"abc", b"ab"));
        assert!(!super::same_secret(b"", b"a"));
        assert!(super::same_secret(b"", b""));
    }
}
