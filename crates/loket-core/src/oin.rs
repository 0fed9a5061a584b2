//! Organisatie-identificatienummer: how Dutch government organisations identify each other.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A 20-digit OIN, as carried in the serial number of a PKIoverheid certificate.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Oin([u8; 20]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an OIN is exactly 20 digits")]
pub struct OinError;

impl Oin {
    pub fn parse(input: &str) -> Result<Self, OinError> {
        let bytes: [u8; 20] = input.as_bytes().try_into().map_err(|_| OinError)?;
        if bytes.iter().all(u8::is_ascii_digit) {
            Ok(Self(bytes))
        } else {
            Err(OinError)
        }
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl FromStr for Oin {
    type Err = OinError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

// An OIN identifies an organisation, not a person: it is safe to print.
impl fmt::Display for Oin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Oin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Oin({})", self.as_str())
    }
}

impl Serialize for Oin {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Oin {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Oin::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_twenty_digits_only() {
        let oin = Oin::parse("00000001001234567000").unwrap();
        assert_eq!(oin.to_string(), "00000001001234567000");
        assert!(Oin::parse("0000000100123456700").is_err());
        assert!(Oin::parse("000000010012345670000").is_err());
        assert!(Oin::parse("0000000100123456700x").is_err());
    }

    proptest! {
        #[test]
        fn parse_never_panics(input in "\\PC{0,30}") {
            let _ = Oin::parse(&input);
        }

        #[test]
        fn digits_round_trip(input in "[0-9]{20}") {
            let oin = Oin::parse(&input).unwrap();
            prop_assert_eq!(oin.as_str(), input.as_str());
        }
    }
}
