//! A Dutch vehicle registration number (kenteken), as a resident types it.

use std::fmt;

/// Six letters and digits, upper case, without dashes: "34-GBV-7" and "34gbv7" are both
/// `34GBV7`. The RDW stores and answers kentekens in this form.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Kenteken([u8; 6]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a kenteken is six letters and digits, for example 34-GBV-7")]
pub struct KentekenError;

impl Kenteken {
    pub fn parse(input: &str) -> Result<Self, KentekenError> {
        let mut out = [0u8; 6];
        let mut len = 0;
        for byte in input.trim().bytes() {
            if byte == b'-' || byte == b' ' {
                continue;
            }
            if !byte.is_ascii_alphanumeric() || len == 6 {
                return Err(KentekenError);
            }
            out[len] = byte.to_ascii_uppercase();
            len += 1;
        }
        if len == 6 {
            Ok(Self(out))
        } else {
            Err(KentekenError)
        }
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

// A kenteken names a vehicle; printing it is fine (it is on the vehicle).
impl fmt::Display for Kenteken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Kenteken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kenteken({})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn dashes_spaces_and_case_do_not_matter() {
        for input in ["34-GBV-7", "34gbv7", " 34 GBV 7 "] {
            assert_eq!(Kenteken::parse(input).unwrap().as_str(), "34GBV7");
        }
        for input in ["", "34GBV", "34GBV77", "34GB€7", "34_GBV7"] {
            assert!(Kenteken::parse(input).is_err(), "{input}");
        }
    }

    proptest! {
        /// Accepted exactly when, apart from dashes, spaces and the ends' whitespace, six
        /// ASCII letters and digits remain, and then those six, upper case. Mostly text a
        /// resident could type, so both answers come up often.
        #[test]
        fn a_kenteken_is_accepted_exactly_when_six_letters_and_digits_remain(
            input in "[0-9A-Za-z -]{0,10}|[0-9A-Za-z_€.-]{5,8}",
        ) {
            let kept: String = input.trim().chars().filter(|c| *c != '-' && *c != ' ').collect();
            let valid = kept.len() == 6 && kept.chars().all(|c| c.is_ascii_alphanumeric());
            match Kenteken::parse(&input) {
                Ok(k) => {
                    prop_assert!(valid, "{input:?}");
                    prop_assert_eq!(k.as_str(), kept.to_ascii_uppercase());
                }
                Err(_) => prop_assert!(!valid, "{input:?}"),
            }
        }

        #[test]
        fn parsed_kentekens_are_six_upper_case_alphanumerics(input in "\\PC{0,12}") {
            if let Ok(k) = Kenteken::parse(&input) {
                prop_assert_eq!(k.as_str().len(), 6);
                prop_assert!(k.as_str().bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
                prop_assert_eq!(Kenteken::parse(k.as_str()).unwrap(), k);
            }
        }
    }
}
