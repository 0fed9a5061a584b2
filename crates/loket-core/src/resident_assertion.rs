//! The portal's statement, for one read of one processing log, that a resident is signed
//! in: "this BSN, asking this log, now". A compact JWS (RFC 7515) signed with the portal's
//! own Ed25519 key, which never leaves the portal.
//!
//! Why: the portal's bearer token goes with every read to every organisation's log, so it
//! can leak from any of them. With the token alone a reader could ask about anyone. With
//! the assertion, a leaked token asks about nobody, and a leaked assertion about one
//! resident, at one log, for a minute.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use crate::{Bsn, Secret};

/// The header the assertion travels in, beside `Authorization`.
pub const HEADER: &str = "loket-resident-assertion";
/// How long the portal's assertions are valid.
pub const LIFETIME: Duration = Duration::seconds(60);
/// The longest validity a log accepts, whatever the assertion says.
pub const MAX_LIFETIME: Duration = Duration::minutes(5);
/// How far the portal's clock may run ahead of the log's, or behind it.
pub const LEEWAY: Duration = Duration::seconds(30);
/// The shortest secret the portal's key is made from.
pub const MIN_SECRET: usize = 32;
/// Longer than any assertion the portal makes; a longer header is not decoded.
const MAX_LENGTH: usize = 1024;
const TYPE: &str = "loket-resident+jwt";

/// The portal's signing key, made from a configured secret so that the same secret gives
/// the same key on every start and on every machine of the portal.
pub struct AssertionSigner {
    key: Ed25519KeyPair,
}

impl std::fmt::Debug for AssertionSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssertionSigner")
            .field("public_key", &self.public_key_base64())
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssertionError {
    #[error("the secret must be at least {MIN_SECRET} characters")]
    ShortSecret,
    #[error("the assertion is not a compact JWS of this kind")]
    Malformed,
    #[error("the assertion is not signed by the portal's key")]
    BadSignature,
    #[error("the assertion is for another log")]
    OtherAudience,
    #[error("the assertion has expired")]
    Expired,
    #[error("the assertion is not valid yet")]
    NotYetValid,
    #[error("the assertion is valid for longer than a log accepts")]
    TooLong,
}

#[derive(Serialize)]
struct Header<'a> {
    alg: &'a str,
    typ: &'a str,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ParsedHeader {
    alg: String,
    typ: String,
}

/// What the portal asserts.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Claims {
    /// The signed-in resident's BSN.
    sub: String,
    /// The log asked: its Ed25519 public key, base64url.
    aud: String,
    iat: i64,
    exp: i64,
}

impl AssertionSigner {
    pub fn from_secret(secret: &Secret<String>) -> Result<Self, AssertionError> {
        if secret.expose().chars().count() < MIN_SECRET {
            return Err(AssertionError::ShortSecret);
        }
        // Domain-separated, so the same secret used elsewhere gives an unrelated key.
        let seed = Sha256::new()
            .chain_update(b"loket resident assertion key v1\0")
            .chain_update(secret.expose().as_bytes())
            .finalize();
        let key =
            Ed25519KeyPair::from_seed_unchecked(&seed).map_err(|_| AssertionError::ShortSecret)?;
        Ok(Self { key })
    }

    pub fn public_key(&self) -> [u8; 32] {
        let mut key = [0u8; 32];
        key.copy_from_slice(self.key.public_key().as_ref());
        key
    }

    /// The public key as configured at the logs (standard base64).
    pub fn public_key_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.public_key())
    }

    /// "`bsn` is signed in and asks the log with public key `log_key`", valid from `now`
    /// for [`LIFETIME`].
    pub fn sign(&self, bsn: &Bsn, log_key: &[u8], now: OffsetDateTime) -> String {
        let iat = now.unix_timestamp();
        let claims = Claims {
            sub: bsn.as_str().to_owned(),
            aud: URL_SAFE_NO_PAD.encode(log_key),
            iat,
            exp: iat + LIFETIME.whole_seconds(),
        };
        let header = Header {
            alg: "EdDSA",
            typ: TYPE,
        };
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap_or_default()),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap_or_default()),
        );
        let signature = self.key.sign(signed.as_bytes());
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
    }
}

/// The resident an assertion names, if `portal_key` signed it for the log whose public key
/// is `log_key`, and it is valid at `now`.
pub fn verify(
    assertion: &str,
    portal_key: &[u8],
    log_key: &[u8],
    now: OffsetDateTime,
) -> Result<Bsn, AssertionError> {
    use AssertionError::*;
    if assertion.len() > MAX_LENGTH {
        return Err(Malformed);
    }
    let mut parts = assertion.split('.');
    let (Some(header), Some(claims), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Malformed);
    };
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).map_err(|_| Malformed);
    let parsed: ParsedHeader = serde_json::from_slice(&decode(header)?).map_err(|_| Malformed)?;
    // Only the one algorithm: a token cannot choose how it is checked.
    if parsed.alg != "EdDSA" || parsed.typ != TYPE {
        return Err(Malformed);
    }
    let signed_len = header.len() + 1 + claims.len();
    UnparsedPublicKey::new(&ED25519, portal_key)
        .verify(&assertion.as_bytes()[..signed_len], &decode(signature)?)
        .map_err(|_| BadSignature)?;
    let claims: Claims = serde_json::from_slice(&decode(claims)?).map_err(|_| Malformed)?;
    if claims.aud != URL_SAFE_NO_PAD.encode(log_key) {
        return Err(OtherAudience);
    }
    let now = now.unix_timestamp();
    if claims.iat > now + LEEWAY.whole_seconds() {
        return Err(NotYetValid);
    }
    if claims.exp.saturating_add(LEEWAY.whole_seconds()) <= now {
        return Err(Expired);
    }
    if claims.exp.saturating_sub(claims.iat) > MAX_LIFETIME.whole_seconds() {
        return Err(TooLong);
    }
    Bsn::parse(&claims.sub).map_err(|_| Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn signer(secret: &str) -> AssertionSigner {
        AssertionSigner::from_secret(&Secret::new(secret.to_owned())).unwrap()
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_780_000_000).unwrap()
    }

    const LOG: [u8; 32] = [7; 32];
    const OTHER_LOG: [u8; 32] = [8; 32];

    fn sanne() -> Bsn {
        Bsn::parse("999993653").unwrap()
    }

    /// A token with the portal's header and signature over any claims.
    fn signed_claims(portal: &AssertionSigner, claims: &serde_json::Value) -> String {
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"EdDSA","typ":"loket-resident+jwt"}"#),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = portal.key.sign(signed.as_bytes());
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
    }

    #[test]
    fn the_same_secret_gives_the_same_key_and_a_short_one_none() {
        let secret = "a portal secret of at least 32 characters";
        assert_eq!(signer(secret).public_key(), signer(secret).public_key());
        assert_ne!(
            signer(secret).public_key(),
            signer("another portal secret, also long enough").public_key()
        );
        assert_eq!(
            AssertionSigner::from_secret(&Secret::new("too short".to_owned())).unwrap_err(),
            AssertionError::ShortSecret
        );
        assert!(!format!("{:?}", signer(secret)).contains(secret));
    }

    #[test]
    fn a_fresh_assertion_names_its_resident_for_its_log_only() {
        let portal = signer("a portal secret of at least 32 characters");
        let assertion = portal.sign(&sanne(), &LOG, now());
        let key = portal.public_key();
        assert_eq!(verify(&assertion, &key, &LOG, now()), Ok(sanne()));
        assert_eq!(
            verify(&assertion, &key, &OTHER_LOG, now()),
            Err(AssertionError::OtherAudience)
        );
        let impostor = signer("someone else's secret, also 32 characters");
        assert_eq!(
            verify(&assertion, &impostor.public_key(), &LOG, now()),
            Err(AssertionError::BadSignature)
        );
    }

    #[test]
    fn an_assertion_is_valid_for_its_minute_only() {
        let portal = signer("a portal secret of at least 32 characters");
        let key = portal.public_key();
        let assertion = portal.sign(&sanne(), &LOG, now());
        let at = |seconds: i64| verify(&assertion, &key, &LOG, now() + Duration::seconds(seconds));
        // Its minute, and half a minute for a portal clock that runs behind the log's…
        assert_eq!(at(89), Ok(sanne()));
        assert_eq!(at(90), Err(AssertionError::Expired));
        // …or ahead of it; more is not tolerated.
        assert_eq!(at(-30), Ok(sanne()));
        assert_eq!(at(-31), Err(AssertionError::NotYetValid));
    }

    #[test]
    fn a_log_refuses_an_assertion_valid_for_longer_than_five_minutes() {
        let portal = signer("a portal secret of at least 32 characters");
        let iat = now().unix_timestamp();
        let claims = |exp: i64| {
            serde_json::json!({
                "sub": "999993653", "aud": URL_SAFE_NO_PAD.encode(LOG), "iat": iat, "exp": exp,
            })
        };
        let key = portal.public_key();
        let five_minutes = signed_claims(&portal, &claims(iat + 300));
        assert_eq!(verify(&five_minutes, &key, &LOG, now()), Ok(sanne()));
        let a_day = signed_claims(&portal, &claims(iat + 86_400));
        assert_eq!(
            verify(&a_day, &key, &LOG, now()),
            Err(AssertionError::TooLong)
        );
    }

    #[test]
    fn only_the_one_algorithm_and_kind_are_accepted() {
        let portal = signer("a portal secret of at least 32 characters");
        let key = portal.public_key();
        let assertion = portal.sign(&sanne(), &LOG, now());
        let (_, rest) = assertion.split_once('.').unwrap();
        for header in [
            r#"{"alg":"none","typ":"loket-resident+jwt"}"#,
            r#"{"alg":"HS256","typ":"loket-resident+jwt"}"#,
            r#"{"alg":"EdDSA","typ":"JWT"}"#,
            r#"{"alg":"EdDSA"}"#,
        ] {
            let swapped = format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header));
            assert_eq!(
                verify(&swapped, &key, &LOG, now()),
                Err(AssertionError::Malformed),
                "{header}"
            );
        }
        let unsigned = assertion.rsplit_once('.').unwrap().0.to_owned() + ".";
        assert_eq!(
            verify(&unsigned, &key, &LOG, now()),
            Err(AssertionError::BadSignature)
        );
    }

    #[test]
    fn a_signed_claim_that_is_no_bsn_is_refused() {
        let portal = signer("a portal secret of at least 32 characters");
        let iat = now().unix_timestamp();
        let assertion = signed_claims(
            &portal,
            &serde_json::json!({
                "sub": "123456789", "aud": URL_SAFE_NO_PAD.encode(LOG), "iat": iat, "exp": iat + 60,
            }),
        );
        assert_eq!(
            verify(&assertion, &portal.public_key(), &LOG, now()),
            Err(AssertionError::Malformed)
        );
    }

    proptest! {
        /// Any header value is either the portal's own assertion or a refusal; none panics.
        #[test]
        fn any_text_is_refused_without_panicking(text in ".{0,1200}") {
            let portal = signer("a portal secret of at least 32 characters");
            prop_assert!(verify(&text, &portal.public_key(), &LOG, now()).is_err());
        }

        /// Changing any one character of a valid assertion makes it invalid: the header
        /// and claims are signed, and base64 with stray bits does not decode.
        #[test]
        fn a_changed_assertion_is_refused(position in 0usize..400, replacement in "[A-Za-z0-9_.-]") {
            let portal = signer("a portal secret of at least 32 characters");
            let assertion = portal.sign(&sanne(), &LOG, now());
            let position = position % assertion.len();
            let mut changed = assertion.clone();
            changed.replace_range(position..=position, &replacement);
            if changed != assertion {
                prop_assert!(verify(&changed, &portal.public_key(), &LOG, now()).is_err());
            }
        }

        /// Every valid BSN round-trips through sign and verify.
        #[test]
        fn every_resident_round_trips(digits in "[0-9]{8}") {
            // Complete eight digits with the check digit that makes a valid BSN, if any.
            let bsn = (0..10).find_map(|d| Bsn::parse(&format!("{digits}{d}")).ok());
            if let Some(bsn) = bsn {
                let portal = signer("a portal secret of at least 32 characters");
                let assertion = portal.sign(&bsn, &LOG, now());
                prop_assert_eq!(verify(&assertion, &portal.public_key(), &LOG, now()), Ok(bsn));
            }
        }
    }
}
