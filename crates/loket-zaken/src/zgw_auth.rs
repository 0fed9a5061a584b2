//! Client authentication as the ZGW APIs specify it: the client signs a JWT with HS256
//! under the secret it shares with us; the claims say who it is (`client_id`) and on whose
//! behalf it acts (`user_id`, `user_representation`). What a client may do is ours to
//! say: scopes per zaaktype.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use loket_core::Secret;
use ring::hmac;
use serde::Deserialize;

/// How far a token's `iat` may lie in the future (clock skew), and how old it may be.
const LEEWAY_SECONDS: i64 = 60;
const MAX_AGE_SECONDS: i64 = 3600;

/// A ZGW scope (autorisatie).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
pub enum Scope {
    #[serde(rename = "zaken.lezen")]
    Lezen,
    #[serde(rename = "zaken.aanmaken")]
    Aanmaken,
    #[serde(rename = "zaken.bijwerken")]
    Bijwerken,
    #[serde(rename = "zaken.statussen.toevoegen")]
    StatussenToevoegen,
}

/// One API client: its secret and, per zaaktype, what it may do.
#[derive(Debug, Clone)]
pub struct Client {
    pub client_id: String,
    pub secret: Secret<String>,
    pub autorisaties: BTreeMap<String, Vec<Scope>>,
}

impl Client {
    pub fn may(&self, zaaktype: &str, scope: Scope) -> bool {
        self.autorisaties
            .get(zaaktype)
            .is_some_and(|scopes| scopes.contains(&scope))
    }

    /// The zaaktypen this client may do `scope` on.
    pub fn zaaktypen(&self, scope: Scope) -> Vec<&str> {
        self.autorisaties
            .iter()
            .filter(|(_, scopes)| scopes.contains(&scope))
            .map(|(zaaktype, _)| zaaktype.as_str())
            .collect()
    }
}

/// Who is calling, once the token checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub client_id: String,
    pub user_id: String,
    pub user_representation: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no bearer token")]
    Missing,
    #[error("the token is not a JWT")]
    Malformed,
    #[error("only HS256 is accepted")]
    Algorithm,
    #[error("unknown client")]
    UnknownClient,
    #[error("the signature does not match")]
    Signature,
    #[error("the token is not valid now (iat)")]
    Time,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

#[derive(Deserialize)]
struct Claims {
    client_id: String,
    iat: i64,
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    user_representation: String,
}

/// The known clients, by id.
#[derive(Debug, Clone, Default)]
pub struct Clients(BTreeMap<String, Client>);

impl Clients {
    pub fn new(clients: impl IntoIterator<Item = Client>) -> Self {
        Self(
            clients
                .into_iter()
                .map(|c| (c.client_id.clone(), c))
                .collect(),
        )
    }

    pub fn get(&self, client_id: &str) -> Option<&Client> {
        self.0.get(client_id)
    }

    /// Check an `Authorization` header value at unix time `now`.
    pub fn authenticate(
        &self,
        authorization: Option<&str>,
        now: i64,
    ) -> Result<(Caller, &Client), AuthError> {
        let token = authorization
            .and_then(|h| h.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token)
            .map(str::trim)
            .ok_or(AuthError::Missing)?;
        let mut parts = token.split('.');
        let (Some(header), Some(claims), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AuthError::Malformed);
        };
        let decode = |part: &str| {
            URL_SAFE_NO_PAD
                .decode(part)
                .map_err(|_| AuthError::Malformed)
        };
        let parsed: Header =
            serde_json::from_slice(&decode(header)?).map_err(|_| AuthError::Malformed)?;
        if parsed.alg != "HS256" {
            return Err(AuthError::Algorithm);
        }
        let claims_json: Claims =
            serde_json::from_slice(&decode(claims)?).map_err(|_| AuthError::Malformed)?;
        let client = self
            .0
            .get(&claims_json.client_id)
            .ok_or(AuthError::UnknownClient)?;
        let key = hmac::Key::new(hmac::HMAC_SHA256, client.secret.expose().as_bytes());
        let signed = &token[..header.len() + 1 + claims.len()];
        hmac::verify(&key, signed.as_bytes(), &decode(signature)?)
            .map_err(|_| AuthError::Signature)?;
        if claims_json.iat > now + LEEWAY_SECONDS || claims_json.iat < now - MAX_AGE_SECONDS {
            return Err(AuthError::Time);
        }
        Ok((
            Caller {
                client_id: claims_json.client_id,
                user_id: claims_json.user_id,
                user_representation: claims_json.user_representation,
            },
            client,
        ))
    }
}

/// A token as a ZGW client makes one (for tests, the CLI and the portal).
pub fn sign(client_id: &str, secret: &str, user_id: &str, iat: i64) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = serde_json::json!({
        "iss": client_id,
        "iat": iat,
        "client_id": client_id,
        "user_id": user_id,
        "user_representation": user_id,
    });
    let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let signature = hmac::sign(&key, format!("{header}.{claims}").as_bytes());
    format!(
        "{header}.{claims}.{}",
        URL_SAFE_NO_PAD.encode(signature.as_ref())
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    const NOW: i64 = 1_795_000_000;

    fn clients() -> Clients {
        Clients::new([Client {
            client_id: "portaal".to_owned(),
            secret: Secret::new("geheim-geheim".to_owned()),
            autorisaties: BTreeMap::from([(
                "bewonersparkeervergunning".to_owned(),
                vec![Scope::Lezen],
            )]),
        }])
    }

    fn header(token: &str) -> String {
        format!("Bearer {token}")
    }

    #[test]
    fn a_good_token_names_the_caller() {
        let token = sign("portaal", "geheim-geheim", "medewerker-1", NOW);
        let clients = clients();
        let (caller, client) = clients.authenticate(Some(&header(&token)), NOW).unwrap();
        assert_eq!(caller.client_id, "portaal");
        assert_eq!(caller.user_id, "medewerker-1");
        assert!(client.may("bewonersparkeervergunning", Scope::Lezen));
        assert!(!client.may("bewonersparkeervergunning", Scope::Aanmaken));
        assert!(!client.may("paspoort", Scope::Lezen));
    }

    #[test]
    fn bad_tokens_are_refused_for_the_right_reason() {
        let clients = clients();
        let check = |h: Option<&str>| clients.authenticate(h, NOW).unwrap_err();
        assert_eq!(check(None), AuthError::Missing);
        assert_eq!(check(Some("Basic abc")), AuthError::Missing);
        assert_eq!(check(Some("Bearer a.b")), AuthError::Malformed);
        let wrong_secret = sign("portaal", "ander-geheim", "x", NOW);
        assert_eq!(check(Some(&header(&wrong_secret))), AuthError::Signature);
        let stranger = sign("vreemde", "geheim-geheim", "x", NOW);
        assert_eq!(check(Some(&header(&stranger))), AuthError::UnknownClient);
        let old = sign("portaal", "geheim-geheim", "x", NOW - 7200);
        assert_eq!(check(Some(&header(&old))), AuthError::Time);
        let future = sign("portaal", "geheim-geheim", "x", NOW + 600);
        assert_eq!(check(Some(&header(&future))), AuthError::Time);
        // alg "none" with the signature stripped: refused before any key is used.
        let token = sign("portaal", "geheim-geheim", "x", NOW);
        let claims = token.split('.').nth(1).unwrap();
        let none = format!("{}.{claims}.", URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#));
        assert_eq!(check(Some(&header(&none))), AuthError::Algorithm);
        // A changed claim breaks the signature.
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[1] = URL_SAFE_NO_PAD
            .encode(br#"{"client_id":"portaal","iat":1795000000,"user_id":"admin"}"#);
        assert_eq!(check(Some(&header(&parts.join(".")))), AuthError::Signature);
    }

    proptest! {
        #[test]
        fn any_header_is_refused_or_accepted_without_panicking(text in "\\PC{0,200}") {
            let _ = clients().authenticate(Some(&text), NOW);
            let _ = clients().authenticate(Some(&format!("Bearer {text}")), NOW);
        }
    }
}
