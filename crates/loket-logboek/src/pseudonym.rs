//! Keyed pseudonyms for data subjects: the log never holds a plaintext BSN.
//!
//! A pseudonym is HMAC-SHA-256 over the identifier with the organisation's own key. The
//! same person gets the same pseudonym in one organisation's log, so an authorised
//! inzage still finds their records, but a leaked log cannot be reversed by hashing all
//! one billion possible BSNs without the key, and two organisations' logs cannot be
//! joined on it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use loket_core::Secret;
use ring::hmac;
use serde::{Deserialize, Serialize};

/// The key an organisation pseudonymises its data subjects with, made ready for HMAC
/// once (the padded key's two hash states), not for every pseudonym.
#[derive(Clone)]
pub struct PseudonymKey(hmac::Key);

impl std::fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PseudonymKey(…)")
    }
}

/// A data subject as the log knows them: base64url of the HMAC, 43 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Pseudonym(String);

impl PseudonymKey {
    pub fn new(bytes: [u8; 32]) -> Self {
        let bytes = Secret::new(bytes);
        Self(hmac::Key::new(hmac::HMAC_SHA256, bytes.expose()))
    }

    /// The pseudonym of a BSN. Takes the register's 9-digit string as is: the log must
    /// find the records of whatever number the register was asked about.
    pub fn bsn(&self, bsn: &str) -> Pseudonym {
        self.of("BSN", bsn)
    }

    /// The pseudonym of an identifier of the given type (`BSN`, a personnel number, …).
    pub fn of(&self, id_type: &str, id: &str) -> Pseudonym {
        let mut context = hmac::Context::with_key(&self.0);
        // The type is part of the input so equal numbers of different kinds differ.
        context.update(id_type.as_bytes());
        context.update(b":");
        context.update(id.as_bytes());
        Pseudonym(URL_SAFE_NO_PAD.encode(context.sign().as_ref()))
    }
}

impl Pseudonym {
    /// A pseudonym read back from storage or from an authorised request.
    pub fn parse(text: &str) -> Option<Self> {
        let decoded = URL_SAFE_NO_PAD.decode(text).ok()?;
        (decoded.len() == 32).then(|| Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn same_key_same_pseudonym_other_key_other_pseudonym() {
        let a = PseudonymKey::new([1; 32]);
        let b = PseudonymKey::new([2; 32]);
        assert_eq!(a.bsn("999990007"), a.bsn("999990007"));
        assert_ne!(a.bsn("999990007"), a.bsn("999990019"));
        assert_ne!(a.bsn("999990007"), b.bsn("999990007"));
        assert_ne!(a.bsn("999990007"), a.of("personeelsnummer", "999990007"));
    }

    #[test]
    fn a_pseudonym_does_not_contain_the_bsn_and_parses_back() {
        let pseudonym = PseudonymKey::new([7; 32]).bsn("999990007");
        assert!(!pseudonym.as_str().contains("999990007"));
        assert_eq!(pseudonym.as_str().len(), 43);
        assert_eq!(Pseudonym::parse(pseudonym.as_str()), Some(pseudonym));
        assert_eq!(Pseudonym::parse("999990007"), None);
        assert_eq!(Pseudonym::parse(""), None);
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics_and_accepts_only_32_byte_values(text in ".{0,64}") {
            if let Some(p) = Pseudonym::parse(&text) {
                proptest::prop_assert_eq!(URL_SAFE_NO_PAD.decode(p.as_str()).unwrap().len(), 32);
            }
        }
    }
}
