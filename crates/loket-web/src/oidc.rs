//! Logging in with OpenID Connect — residents at the municipality's DigiD broker, staff at
//! the municipality's own identity provider: the authorization code flow with PKCE (S256),
//! `state` against forged callbacks and `nonce` against replayed tokens. The ID token is
//! checked here — signature (RS256 or ES256, against the provider's published keys),
//! issuer, audience, expiry and nonce — before any claim in it is believed.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use loket_core::{Bsn, Secret, TraceContext};
use loket_http::OutgoingClient;
use ring::rand::{SecureRandom, SystemRandom};
use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;
use tokio::sync::OnceCell;

use crate::portaal::sessies::Niveau;

/// An OpenID provider and how this client is registered there.
#[derive(Debug, Clone)]
pub struct OidcSettings {
    /// The provider's issuer; its discovery document is under `/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Secret<String>,
    /// Where the provider sends the user back (the portal's `/inloggen/terug`, the
    /// workspace's `/werkplek/inloggen/terug`).
    pub redirect_url: String,
    /// The claim that names the user: the BSN for residents (`sub` by default;
    /// `s00000000:999990007` is read as the BSN after the colon), the account for staff.
    pub claim: String,
}

#[derive(Debug)]
pub struct Oidc {
    settings: OidcSettings,
    client: OutgoingClient,
    provider: OnceCell<Provider>,
    random: SystemRandom,
}

#[derive(Debug, Clone, Deserialize)]
struct Provider {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

/// What the portal keeps (sealed, in a short-lived cookie) between sending the resident
/// to the provider and their return.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct Pending {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
}

/// A resident who came back, as the ID token says.
#[derive(Debug, Clone)]
pub struct LoggedIn {
    pub bsn: Bsn,
    pub niveau: Niveau,
}

/// What the provider's redirect back carried.
#[derive(Debug, Clone, Copy)]
pub struct Callback<'a> {
    pub state: &'a str,
    pub code: Option<&'a str>,
    pub error: Option<&'a str>,
}

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the provider could not be reached or answered unexpectedly: {0}")]
    Provider(String),
    #[error("the login was refused or abandoned: {0}")]
    Refused(String),
    #[error("the ID token is not valid: {0}")]
    Token(&'static str),
    #[error("the ID token carries no valid BSN")]
    NoBsn,
}

impl Oidc {
    pub fn new(settings: OidcSettings) -> Result<Self, loket_http::ClientBuildError> {
        Ok(Self {
            settings,
            client: OutgoingClient::new(Duration::from_secs(10))?,
            provider: OnceCell::new(),
            random: SystemRandom::new(),
        })
    }

    async fn provider(&self, trace: &TraceContext) -> Result<&Provider, OidcError> {
        self.provider
            .get_or_try_init(|| async {
                let url = format!(
                    "{}/.well-known/openid-configuration",
                    self.settings.issuer.trim_end_matches('/')
                );
                let provider: Provider = self.get_json(&url, trace).await?;
                if provider.issuer.trim_end_matches('/')
                    != self.settings.issuer.trim_end_matches('/')
                {
                    return Err(OidcError::Provider(
                        "the discovery document names another issuer".to_owned(),
                    ));
                }
                Ok(provider)
            })
            .await
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        trace: &TraceContext,
    ) -> Result<T, OidcError> {
        let (request, _) = self.client.get(url, trace);
        let response = request
            .send()
            .await
            .map_err(|e| OidcError::Provider(e.to_string()))?;
        if !response.status().is_success() {
            return Err(OidcError::Provider(format!(
                "{url}: HTTP {}",
                response.status()
            )));
        }
        loket_http::json_answer(response)
            .await
            .map_err(|e| OidcError::Provider(e.to_string()))
    }

    fn random(&self) -> Result<String, OidcError> {
        let mut bytes = [0u8; 32];
        self.random
            .fill(&mut bytes)
            .map_err(|_| OidcError::Provider("no randomness".to_owned()))?;
        Ok(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Where to send the resident, and what to keep until they return.
    pub async fn start(&self, trace: &TraceContext) -> Result<(String, Pending), OidcError> {
        let provider = self.provider(trace).await?;
        let pending = Pending {
            state: self.random()?,
            nonce: self.random()?,
            verifier: self.random()?,
        };
        let challenge = URL_SAFE_NO_PAD.encode(ring::digest::digest(
            &ring::digest::SHA256,
            pending.verifier.as_bytes(),
        ));
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.settings.client_id)
            .append_pair("redirect_uri", &self.settings.redirect_url)
            .append_pair("scope", "openid")
            .append_pair("state", &pending.state)
            .append_pair("nonce", &pending.nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256")
            .finish();
        let separator = if provider.authorization_endpoint.contains('?') {
            '&'
        } else {
            '?'
        };
        Ok((
            format!("{}{separator}{query}", provider.authorization_endpoint),
            pending,
        ))
    }

    pub fn settings(&self) -> &OidcSettings {
        &self.settings
    }

    /// A resident is back: the BSN and the assurance level of a checked ID token.
    pub async fn finish_resident(
        &self,
        pending: &Pending,
        back: &Callback<'_>,
        trace: &TraceContext,
        now: OffsetDateTime,
    ) -> Result<LoggedIn, OidcError> {
        let claims = self.finish(pending, back, trace, now).await?;
        Ok(LoggedIn {
            bsn: bsn_from(&claims, &self.settings.claim).ok_or(OidcError::NoBsn)?,
            niveau: niveau_from(claims.get("acr").and_then(Value::as_str)),
        })
    }

    /// The user is back with `code` (or an error): exchange it; the checked ID token's
    /// claims.
    pub async fn finish(
        &self,
        pending: &Pending,
        back: &Callback<'_>,
        trace: &TraceContext,
        now: OffsetDateTime,
    ) -> Result<Value, OidcError> {
        if !crate::werkplek::staff::same_secret(&pending.state, back.state) {
            return Err(OidcError::Refused("the state does not match".to_owned()));
        }
        if let Some(error) = back.error {
            return Err(OidcError::Refused(error.to_owned()));
        }
        let code = back
            .code
            .ok_or_else(|| OidcError::Refused("no code".to_owned()))?;
        let provider = self.provider(trace).await?;
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "authorization_code")
            .append_pair("code", code)
            .append_pair("redirect_uri", &self.settings.redirect_url)
            .append_pair("code_verifier", &pending.verifier)
            .finish();
        let (request, _) = self.client.post(&provider.token_endpoint, trace);
        let response = request
            .basic_auth(
                &self.settings.client_id,
                Some(self.settings.client_secret.expose()),
            )
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .map_err(|e| OidcError::Provider(e.to_string()))?;
        if !response.status().is_success() {
            return Err(OidcError::Refused(format!(
                "token endpoint: HTTP {}",
                response.status()
            )));
        }
        let tokens: Value = loket_http::json_answer(response)
            .await
            .map_err(|e| OidcError::Provider(e.to_string()))?;
        let id_token = tokens
            .get("id_token")
            .and_then(Value::as_str)
            .ok_or(OidcError::Token("no id_token"))?;
        let keys: Value = self.get_json(&provider.jwks_uri, trace).await?;
        let claims = verify_id_token(id_token, &keys)?;
        check_claims(
            &claims,
            &provider.issuer,
            &self.settings.client_id,
            &pending.nonce,
            now,
        )?;
        Ok(claims)
    }
}

/// The claims of a JWS-signed ID token whose signature one of `keys` (a JWKS) verifies.
pub fn verify_id_token(token: &str, keys: &Value) -> Result<Value, OidcError> {
    use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(OidcError::Token("not a signed JWT"));
    };
    let decode = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| OidcError::Token("not base64url"))
    };
    let header: Value = serde_json::from_slice(&decode(header)?)
        .map_err(|_| OidcError::Token("header is not JSON"))?;
    let signature = decode(signature)?;
    let signed = token.rsplit_once('.').map_or("", |(signed, _)| signed);
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let kid = header.get("kid").and_then(Value::as_str);
    let candidates = keys
        .get("keys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|k| kid.is_none() || k.get("kid").and_then(Value::as_str) == kid);
    let field = |key: &Value, name: &str| {
        key.get(name)
            .and_then(Value::as_str)
            .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
    };
    let verified =
        candidates
            .into_iter()
            .any(|key| match (alg, key.get("kty").and_then(Value::as_str)) {
                ("RS256", Some("RSA")) => match (field(key, "n"), field(key, "e")) {
                    (Some(n), Some(e)) => RsaPublicKeyComponents { n: &n, e: &e }
                        .verify(
                            &signature::RSA_PKCS1_2048_8192_SHA256,
                            signed.as_bytes(),
                            &signature,
                        )
                        .is_ok(),
                    _ => false,
                },
                ("ES256", Some("EC")) => match (field(key, "x"), field(key, "y")) {
                    (Some(x), Some(y)) => {
                        let mut point = vec![4u8];
                        point.extend(x);
                        point.extend(y);
                        UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                            .verify(signed.as_bytes(), &signature)
                            .is_ok()
                    }
                    _ => false,
                },
                // Anything else (`none`, HS256 with a public key, …) is never accepted.
                _ => false,
            });
    if !verified {
        return Err(OidcError::Token("the signature does not verify"));
    }
    serde_json::from_slice(&decode(payload)?).map_err(|_| OidcError::Token("claims are not JSON"))
}

/// Issuer, audience, expiry (a minute's leeway for clocks) and the nonce we sent.
pub fn check_claims(
    claims: &Value,
    issuer: &str,
    client_id: &str,
    nonce: &str,
    now: OffsetDateTime,
) -> Result<(), OidcError> {
    if claims.get("iss").and_then(Value::as_str) != Some(issuer) {
        return Err(OidcError::Token("another issuer"));
    }
    let audience = match claims.get("aud") {
        Some(Value::String(aud)) => aud == client_id,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(client_id)),
        _ => false,
    };
    if !audience {
        return Err(OidcError::Token("meant for another client"));
    }
    let now = now.unix_timestamp();
    match claims.get("exp").and_then(Value::as_i64) {
        Some(exp) if exp.saturating_add(60) >= now => {}
        _ => return Err(OidcError::Token("expired")),
    }
    if claims
        .get("iat")
        .and_then(Value::as_i64)
        .is_some_and(|iat| iat > now + 60)
    {
        return Err(OidcError::Token("issued in the future"));
    }
    match claims.get("nonce").and_then(Value::as_str) {
        Some(n) if crate::werkplek::staff::same_secret(n, nonce) => Ok(()),
        _ => Err(OidcError::Token("another nonce")),
    }
}

/// The BSN in `claim`, also when a broker prefixes it (`s00000000:999990007`).
pub fn bsn_from(claims: &Value, claim: &str) -> Option<Bsn> {
    let text = claims.get(claim)?.as_str()?;
    Bsn::parse(text.rsplit(':').next()?).ok()
}

/// The assurance level an `acr` names; unknown means the lowest. The level is the last
/// `:`-separated part, as a word (`urn:digid:substantieel`) or as the SAML context class
/// DigiD uses for it (Basis `PasswordProtectedTransport`, Midden `MobileTwoFactorContract`,
/// Substantieel `Smartcard`, Hoog `SmartcardPKI`). Only the whole part counts: a level
/// must never be read higher than the login was.
pub fn niveau_from(acr: Option<&str>) -> Niveau {
    let last = acr
        .unwrap_or_default()
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match last.as_str() {
        "hoog" | "smartcardpki" => Niveau::Hoog,
        "substantieel" | "smartcard" => Niveau::Substantieel,
        "midden" | "mobiletwofactorcontract" => Niveau::Midden,
        _ => Niveau::Basis,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
    use serde_json::json;

    fn key() -> EcdsaKeyPair {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap()
    }

    fn jwks(key: &EcdsaKeyPair) -> Value {
        let point = key.public_key().as_ref();
        json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..])}]})
    }

    fn sign(key: &EcdsaKeyPair, header: &Value, claims: &Value) -> String {
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = key.sign(&SystemRandom::new(), signed.as_bytes()).unwrap();
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
    }

    #[test]
    fn only_a_token_signed_by_a_published_key_is_believed() {
        let (ours, theirs) = (key(), key());
        let claims = json!({"sub": "999990007"});
        let header = json!({"alg": "ES256", "kid": "k1"});
        let token = sign(&ours, &header, &claims);
        assert_eq!(verify_id_token(&token, &jwks(&ours)).unwrap(), claims);
        assert!(
            verify_id_token(&token, &jwks(&theirs)).is_err(),
            "another key"
        );
        let forged = sign(&theirs, &header, &claims);
        assert!(verify_id_token(&forged, &jwks(&ours)).is_err());
        // Claims swapped under a valid signature.
        let (head, _) = token.split_once('.').unwrap();
        let (_, signature) = token.rsplit_once('.').unwrap();
        let swapped = format!(
            "{head}.{}.{signature}",
            URL_SAFE_NO_PAD.encode(r#"{"sub":"999990019"}"#)
        );
        assert!(verify_id_token(&swapped, &jwks(&ours)).is_err());
        let unsigned = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        assert!(
            verify_id_token(&unsigned, &jwks(&ours)).is_err(),
            "alg none"
        );
        assert!(verify_id_token("a.b", &jwks(&ours)).is_err());
    }

    proptest::proptest! {
        /// Any text is refused as an ID token, and a real one with any one character
        /// changed (header, claims or signature) is refused too.
        #[test]
        fn a_token_is_believed_only_exactly_as_signed(
            text in ".{0,200}",
            sub in "[0-9]{9}",
            at in proptest::num::usize::ANY,
            with in "[A-Za-z0-9_.-]",
        ) {
            let ours = key();
            proptest::prop_assert!(verify_id_token(&text, &jwks(&ours)).is_err());
            let claims = json!({"sub": sub});
            let token = sign(&ours, &json!({"alg": "ES256", "kid": "k1"}), &claims);
            proptest::prop_assert_eq!(verify_id_token(&token, &jwks(&ours)).unwrap(), claims);
            let at = at % token.len();
            if token[at..].chars().next() != with.chars().next() {
                let changed = format!("{}{with}{}", &token[..at], &token[at + 1..]);
                proptest::prop_assert!(verify_id_token(&changed, &jwks(&ours)).is_err(), "{}", changed);
            }
        }
    }

    proptest::proptest! {
        /// Claims pass only when every check holds: our issuer, us among the audience,
        /// not expired (a minute's leeway), not issued in the future, our nonce. Any
        /// other shape of a claim (a number, an object, missing) is refused.
        #[test]
        fn claims_pass_only_when_every_check_holds(
            iss in proptest::option::weighted(0.9, proptest::sample::select(vec![json!("https://op"), json!("https://op"), json!("https://other"), json!(7)])),
            aud in proptest::option::weighted(0.9, proptest::sample::select(vec![
                json!("loket"), json!(["ander", "loket"]),
                json!("loket"), json!("ander"), json!(["ander", "loket"]), json!(["ander"]), json!({"loket": true}),
            ])),
            // Up to the largest `exp` a token can carry (i64::MAX).
            exp in proptest::option::weighted(0.9, proptest::prop_oneof![
                9 => -100i64..200,
                1 => proptest::strategy::Just(i64::MAX - 1_800_000_000),
            ]),
            iat in proptest::option::weighted(0.9, -200i64..100),
            nonce in proptest::option::weighted(0.9, proptest::sample::select(vec![json!("n1"), json!("n1"), json!("n2"), json!(1)])),
            bsn in ".{0,20}",
        ) {
            let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
            let at = |offset: i64| json!(1_800_000_000 + offset);
            let mut claims = serde_json::Map::new();
            for (name, value) in [
                ("iss", iss.clone()),
                ("aud", aud.clone()),
                ("exp", exp.map(at)),
                ("iat", iat.map(at)),
                ("nonce", nonce.clone()),
            ] {
                if let Some(value) = value {
                    claims.insert(name.to_owned(), value);
                }
            }
            claims.insert("sub".to_owned(), json!(bsn));
            let claims = Value::Object(claims);
            let expected = iss == Some(json!("https://op"))
                && matches!(&aud, Some(a) if a == &json!("loket") || a == &json!(["ander", "loket"]))
                && exp.is_some_and(|e| e >= -60)
                && iat.is_none_or(|i| i <= 60)
                && nonce == Some(json!("n1"));
            proptest::prop_assert_eq!(
                check_claims(&claims, "https://op", "loket", "n1", now).is_ok(),
                expected
            );
            if let Some(found) = bsn_from(&claims, "sub") {
                proptest::prop_assert!(bsn.ends_with(found.as_str()));
            }
        }
    }

    #[test]
    fn issuer_audience_expiry_and_nonce_are_checked() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let good = json!({"iss": "https://op", "aud": "loket", "exp": 1_800_000_300, "iat": 1_800_000_000, "nonce": "n1"});
        assert!(check_claims(&good, "https://op", "loket", "n1", now).is_ok());
        for (field, value) in [
            ("iss", json!("https://other")),
            ("aud", json!("someone-else")),
            ("exp", json!(1_799_999_000)),
            ("iat", json!(1_800_001_000)),
            ("nonce", json!("n2")),
        ] {
            let mut bad = good.clone();
            bad[field] = value;
            assert!(
                check_claims(&bad, "https://op", "loket", "n1", now).is_err(),
                "{field}"
            );
        }
        let mut listed = good;
        listed["aud"] = json!(["x", "loket"]);
        assert!(check_claims(&listed, "https://op", "loket", "n1", now).is_ok());
    }

    #[test]
    fn the_bsn_and_the_level_are_read_from_the_claims() {
        let claims = json!({"sub": "s00000000:999990007", "bsn": "999990019", "bad": "123456789"});
        assert_eq!(bsn_from(&claims, "sub").unwrap().as_str(), "999990007");
        assert_eq!(bsn_from(&claims, "bsn").unwrap().as_str(), "999990019");
        assert!(bsn_from(&claims, "bad").is_none(), "fails the 11-proef");
        assert!(bsn_from(&claims, "missing").is_none());
        assert_eq!(
            niveau_from(Some("urn:digid:substantieel")),
            Niveau::Substantieel
        );
        let class = |name: &str| format!("urn:oasis:names:tc:SAML:2.0:ac:classes:{name}");
        for (name, level) in [
            ("PasswordProtectedTransport", Niveau::Basis),
            ("MobileTwoFactorContract", Niveau::Midden),
            ("Smartcard", Niveau::Substantieel),
            ("SmartcardPKI", Niveau::Hoog),
        ] {
            assert_eq!(niveau_from(Some(&class(name))), level, "{name}");
        }
        assert_eq!(niveau_from(None), Niveau::Basis);
        // A level word inside another part is no level.
        assert_eq!(niveau_from(Some("urn:example:hoogstraat")), Niveau::Basis);
        assert_eq!(niveau_from(Some("urn:hoog:basis")), Niveau::Basis);
    }

    proptest::proptest! {
        /// Whatever the broker puts before the last `:`, the level stays the one the last
        /// part names; and a last part that names no level is the lowest.
        #[test]
        fn an_acr_gives_only_the_level_its_last_part_names(
            prefix in "[a-zA-Z0-9:.]{0,30}",
            known in proptest::sample::select(vec!["hoog", "HOOG", "SmartcardPKI", "substantieel", "Smartcard", "Midden", "mobiletwofactorcontract", "basis"]),
            other in "[a-zA-Z .]{0,16}",
        ) {
            let level = niveau_from(Some(known));
            proptest::prop_assert_eq!(niveau_from(Some(&format!("{prefix}:{known}"))), level);
            let names_a_level = ["hoog", "smartcardpki", "substantieel", "smartcard", "midden", "mobiletwofactorcontract"]
                .contains(&other.to_ascii_lowercase().as_str());
            if !names_a_level {
                proptest::prop_assert_eq!(niveau_from(Some(&format!("{prefix}:{other}"))), Niveau::Basis);
            }
        }
    }
}
