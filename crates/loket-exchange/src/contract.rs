//! FSC contracts: content (grants and validity), its hash over RFC 8785 canonical JSON,
//! and the JWS signatures by which each peer accepts or revokes it.
//!
//! Beyond FSC, a service connection grant lists, in its `properties`, the processing
//! activities it may be used for and, optionally, the fields it may read.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, UnparsedPublicKey,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha3::{Digest, Sha3_512};

use crate::canonical::{NotCanonical, canonical};
use crate::pki::{Identity, PeerCertificate};

/// The only hash algorithm FSC has: SHA3-512, the `1` in a hash's `$1$` prefix.
pub const HASH_ALGORITHM: &str = "HASH_ALGORITHM_SHA3_512";

/// A contract's hash as a caller names it: `$1$1$` and the 86 base64url characters of a
/// SHA3-512 digest ([`ContractContent::hash`]). Nothing else can name a contract, so other
/// text is refused before any lookup, with a reason that says what a hash looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractHash(String);

/// The text given is not a contract hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "not a contract hash: one is $1$1$ and 86 characters A-Z, a-z, 0-9, - and _, the last one A, Q, g or w (on a command line, quote it: '$1$1$…')"
)]
pub struct NotAContractHash;

/// `$1$` SHA3-512, `1$` a contract.
const CONTRACT_HASH_PREFIX: &str = "$1$1$";
/// base64url without padding of 64 bytes.
const DIGEST_CHARACTERS: usize = 86;

impl ContractHash {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for ContractHash {
    type Err = NotAContractHash;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let digest = text
            .strip_prefix(CONTRACT_HASH_PREFIX)
            .ok_or(NotAContractHash)?;
        // 86 characters carry 516 bits; the decoder refuses a last character with any of
        // its low four bits set, which names no 64-byte digest.
        if digest.len() == DIGEST_CHARACTERS && URL_SAFE_NO_PAD.decode(digest).is_ok() {
            Ok(Self(text.to_owned()))
        } else {
            Err(NotAContractHash)
        }
    }
}

impl std::fmt::Display for ContractHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContractContent {
    /// A UUID, so two contracts with the same grants still differ.
    pub iv: String,
    pub group_id: String,
    pub validity: Validity,
    pub grants: Vec<Grant>,
    pub hash_algorithm: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Validity {
    pub not_before: i64,
    pub not_after: i64,
}

impl Validity {
    /// From now for `days` days: what the CLI and the management API give a contract.
    pub fn days_from_now(days: std::num::NonZeroU16) -> Self {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        Self {
            not_before: now,
            not_after: now + i64::from(days.get()) * 86_400,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    pub data: GrantData,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum GrantData {
    #[serde(rename = "GRANT_TYPE_SERVICE_PUBLICATION")]
    ServicePublication {
        directory: PeerRef,
        service: ServicePublication,
    },
    #[serde(rename = "GRANT_TYPE_SERVICE_CONNECTION")]
    ServiceConnection {
        outway: OutwayRef,
        service: ServiceRef,
        properties: ConnectionProperties,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerRef {
    pub peer_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServicePublication {
    pub peer_id: String,
    pub name: String,
    pub protocol: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutwayRef {
    pub peer_id: String,
    pub public_key_thumbprint: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceRef {
    #[serde(rename = "type")]
    pub kind: String,
    pub peer_id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionProperties {
    /// Ids from the register of processing activities; a request must state one of them.
    #[serde(rename = "loket.processing_activities")]
    pub processing_activities: Vec<String>,
    /// The `fields` paths (and everything under them) the consumer may ask for; absent
    /// means every field.
    #[serde(
        rename = "loket.fields",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub fields: Option<Vec<String>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    #[error(transparent)]
    NotCanonical(#[from] NotCanonical),
    #[error("cannot encode: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("the signing key is not an ECDSA P-256 key")]
    Key,
    #[error("the signature is not a valid JWS")]
    Malformed,
    #[error("the signature does not verify with the peer's certificate")]
    Signature,
    #[error("the signature is for another contract")]
    OtherContract,
}

fn hash(prefix: &str, value: &serde_json::Value) -> Result<String, ContractError> {
    let digest = Sha3_512::digest(canonical(value)?.as_bytes());
    Ok(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(digest)))
}

impl ContractContent {
    /// `$1$1$` + base64url(SHA3-512(JCS(content))).
    pub fn hash(&self) -> Result<String, ContractError> {
        hash("$1$1$", &serde_json::to_value(self)?)
    }

    /// A grant's hash covers the contract's iv and group, so the same grant in two
    /// contracts has two hashes (`$1$2$` publication, `$1$3$` connection).
    pub fn grant_hash(&self, grant: &Grant) -> Result<String, ContractError> {
        let prefix = match grant.data {
            GrantData::ServicePublication { .. } => "$1$2$",
            GrantData::ServiceConnection { .. } => "$1$3$",
        };
        hash(
            prefix,
            &json!({"iv": self.iv, "group_id": self.group_id, "grant": grant.data}),
        )
    }

    /// Every peer that must accept: for each grant, both of its parties.
    pub fn peers(&self) -> Vec<String> {
        let mut peers: Vec<String> = self
            .grants
            .iter()
            .flat_map(|grant| match &grant.data {
                GrantData::ServicePublication { directory, service } => {
                    [directory.peer_id.clone(), service.peer_id.clone()]
                }
                GrantData::ServiceConnection {
                    outway, service, ..
                } => [outway.peer_id.clone(), service.peer_id.clone()],
            })
            .collect();
        peers.sort();
        peers.dedup();
        peers
    }
}

/// What a signature says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignatureKind {
    Accept,
    Revoke,
}

impl SignatureKind {
    /// Its name, as the JWS payload and the directory's keys have it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::Revoke => "revoke",
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    alg: String,
    /// The signer's certificate, by its SHA-256 thumbprint.
    #[serde(rename = "x5t#S256")]
    certificate_thumbprint: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload {
    content_hash: String,
    #[serde(rename = "type")]
    kind: SignatureKind,
    signed_at: i64,
}

/// A compact JWS (ES256) by `identity` saying `kind` about the contract `content_hash`.
pub fn sign(
    identity: &Identity,
    content_hash: &str,
    kind: SignatureKind,
    signed_at: i64,
) -> Result<String, ContractError> {
    let header = Header {
        alg: "ES256".to_owned(),
        certificate_thumbprint: identity.certificate_thumbprint.clone(),
    };
    let payload = Payload {
        content_hash: content_hash.to_owned(),
        kind,
        signed_at,
    };
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header)?),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload)?)
    );
    let random = SystemRandom::new();
    let key = EcdsaKeyPair::from_pkcs8(
        &ECDSA_P256_SHA256_FIXED_SIGNING,
        identity.key.secret_der(),
        &random,
    )
    .map_err(|_| ContractError::Key)?;
    let signature = key
        .sign(&random, input.as_bytes())
        .map_err(|_| ContractError::Key)?;
    Ok(format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(signature.as_ref())
    ))
}

/// Check a JWS against the signer's certificate; returns what it says.
pub fn verify(
    jws: &str,
    signer: &PeerCertificate,
    content_hash: &str,
) -> Result<SignatureKind, ContractError> {
    let mut parts = jws.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ContractError::Malformed);
    };
    let decode = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| ContractError::Malformed)
    };
    let parsed_header: Header =
        serde_json::from_slice(&decode(header)?).map_err(|_| ContractError::Malformed)?;
    // The key decides, not `x5t#S256`: that names the certificate the signer had then,
    // and a renewed certificate for the same key keeps its organisation's signatures.
    if parsed_header.alg != "ES256" {
        return Err(ContractError::Signature);
    }
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &signer.public_key)
        .verify(
            format!("{header}.{payload}").as_bytes(),
            &decode(signature)?,
        )
        .map_err(|_| ContractError::Signature)?;
    let parsed: Payload =
        serde_json::from_slice(&decode(payload)?).map_err(|_| ContractError::Malformed)?;
    if parsed.content_hash != content_hash {
        return Err(ContractError::OtherContract);
    }
    Ok(parsed.kind)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::OnceLock;

    use loket_core::Oin;
    use proptest::prelude::*;

    use super::*;
    use crate::pki::{self, Organisation};

    const HASH: &str = "$1$4$c29tZS1jb250cmFjdA";

    /// Two organisations of a demo PKI, made once: key generation is slow.
    fn peers() -> &'static (Identity, PeerCertificate, PeerCertificate) {
        static PEERS: OnceLock<(Identity, PeerCertificate, PeerCertificate)> = OnceLock::new();
        PEERS.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let organisation = |name: &str, oin: &str| Organisation {
                name: name.into(),
                display_name: name.into(),
                oin: Oin::parse(oin).unwrap(),
            };
            pki::init(
                dir.path(),
                &[
                    organisation("gemeente", "00000001001234567000"),
                    organisation("rvig", "00000001001234567001"),
                ],
            )
            .unwrap();
            let gemeente = Identity::load_named(dir.path(), "gemeente").unwrap();
            let rvig = Identity::load_named(dir.path(), "rvig").unwrap();
            let certificate =
                |identity: &Identity| PeerCertificate::parse(&identity.chain[0]).unwrap();
            let (own, other) = (certificate(&gemeente), certificate(&rvig));
            (gemeente, own, other)
        })
    }

    #[test]
    fn a_signature_says_what_its_signer_signed_and_nothing_else_passes() {
        let (signer, certificate, other) = peers();
        let accept = sign(signer, HASH, SignatureKind::Accept, 1).unwrap();
        let revoke = sign(signer, HASH, SignatureKind::Revoke, 2).unwrap();
        assert_eq!(
            verify(&accept, certificate, HASH).unwrap(),
            SignatureKind::Accept
        );
        assert_eq!(
            verify(&revoke, certificate, HASH).unwrap(),
            SignatureKind::Revoke
        );
        // Another organisation's certificate, another contract.
        assert!(matches!(
            verify(&accept, other, HASH),
            Err(ContractError::Signature)
        ));
        assert!(matches!(
            verify(&accept, certificate, "$1$4$b3RoZXI"),
            Err(ContractError::OtherContract)
        ));
        // A payload taken from another signature by the same signer does not fit.
        let parts: Vec<&str> = accept.split('.').collect();
        let swapped = format!(
            "{}.{}.{}",
            parts[0],
            revoke.split('.').nth(1).unwrap(),
            parts[2]
        );
        assert!(matches!(
            verify(&swapped, certificate, HASH),
            Err(ContractError::Signature)
        ));
        // The wrong number of parts.
        for text in ["", "a.b", "a.b.c.d", &format!("{accept}.")] {
            assert!(matches!(
                verify(text, certificate, HASH),
                Err(ContractError::Malformed)
            ));
        }
    }

    proptest! {
        /// Signatures come from the shared directory: any text gets an answer, never a
        /// panic, and no change to a real signature passes.
        #[test]
        fn only_the_signature_as_signed_verifies(
            text in ".{0,300}",
            at in 0usize..400,
            byte in 0x20u8..0x7f,
        ) {
            let (signer, certificate, _) = peers();
            prop_assert!(verify(&text, certificate, HASH).is_err());
            let jws = sign(signer, HASH, SignatureKind::Accept, 1).unwrap();
            let mut changed = jws.clone().into_bytes();
            let at = at % changed.len();
            changed[at] = byte;
            let changed = String::from_utf8(changed).unwrap();
            if changed != jws {
                prop_assert!(verify(&changed, certificate, HASH).is_err(), "{changed}");
            }
            let cut: String = jws.chars().take(at).collect();
            prop_assert!(verify(&cut, certificate, HASH).is_err());
        }

        /// Any text is a contract hash or refused; every content's own hash parses as
        /// itself, and a hash with one character changed, cut or lengthened, or of a
        /// grant, does not.
        #[test]
        fn only_the_shape_of_a_contract_hash_parses(
            text in ".{0,100}",
            iv in "[a-z0-9-]{1,36}",
            at in 0usize..91,
            byte in 0x20u8..0x7f,
        ) {
            use std::str::FromStr;
            if let Ok(parsed) = ContractHash::from_str(&text) {
                prop_assert_eq!(parsed.as_str(), text.as_str());
                prop_assert!(text.starts_with("$1$1$") && text.len() == 91);
            }
            let content = ContractContent {
                iv,
                group_id: "loket.example".into(),
                validity: Validity { not_before: 0, not_after: 1 },
                grants: Vec::new(),
                hash_algorithm: HASH_ALGORITHM.into(),
                created_at: 0,
            };
            let hash = content.hash().unwrap();
            prop_assert_eq!(ContractHash::from_str(&hash).unwrap().to_string(), hash.as_str());
            let mut changed = hash.clone().into_bytes();
            changed[at] = byte;
            let changed = String::from_utf8(changed).unwrap();
            // Another digest character is another hash of the same shape; the last one
            // holds only 2 bits of the digest, so its low four bits must stay zero.
            let sextet = match byte {
                b'A'..=b'Z' => Some(byte - b'A'),
                b'a'..=b'z' => Some(byte - b'a' + 26),
                b'0'..=b'9' => Some(byte - b'0' + 52),
                b'-' => Some(62),
                b'_' => Some(63),
                _ => None,
            };
            let same_shape = match (at, sextet) {
                (5..=89, Some(_)) => true,
                (90, Some(value)) => value % 16 == 0,
                _ => false,
            };
            prop_assert_eq!(ContractHash::from_str(&changed).is_ok(), same_shape || changed == hash, "{}", changed);
            prop_assert!(ContractHash::from_str(&hash[..at]).is_err());
            let longer = format!("{hash}A");
            prop_assert!(ContractHash::from_str(&longer).is_err());
            prop_assert!(ContractHash::from_str(&hash.replacen("$1$1$", "$1$3$", 1)).is_err());
        }
    }
}
