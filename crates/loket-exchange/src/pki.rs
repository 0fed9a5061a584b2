//! Certificates: a demo CA and one certificate per organisation (`loket pki init`), and
//! loading an organisation's identity from PEM files (the demo's, or production's from
//! PKIoverheid). The organisation's OIN is in the subject's serialNumber, as PKIoverheid
//! certificates carry it.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use loket_core::Oin;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("cannot create a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("cannot read or write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} holds no usable PEM certificate or key")]
    Pem(String),
    #[error(
        "{0} holds no usable PEM certificate revocation list (-----BEGIN X509 CRL-----; `openssl crl -inform DER -outform PEM` converts one)"
    )]
    RevocationLists(String),
    #[error("the certificate in {0} has no valid OIN in its subject serialNumber")]
    NoOin(String),
    #[error("a certificate cannot be parsed")]
    Certificate,
}

/// An organisation to issue a certificate for.
#[derive(Debug, Clone)]
pub struct Organisation {
    /// Short name, used for file names: `gemeente`, `rvig`, `rdw`.
    pub name: String,
    pub display_name: String,
    pub oin: Oin,
}

pub const CA_FILE: &str = "ca.pem";

/// Create `dir/ca.pem` and, per organisation, `dir/<name>.pem` and `dir/<name>.key`.
/// Existing files are left alone, so running it twice changes nothing.
pub fn init(dir: &Path, organisations: &[Organisation]) -> Result<bool, PkiError> {
    let ca_path = dir.join(CA_FILE);
    if ca_path.exists() {
        return Ok(false);
    }
    std::fs::create_dir_all(dir).map_err(|source| PkiError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let now = OffsetDateTime::now_utc();
    let mut ca_params = CertificateParams::default();
    ca_params.distinguished_name = DistinguishedName::new();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Loket demo CA (not for production)");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params.not_before = now - Duration::days(1);
    ca_params.not_after = now + Duration::days(3 * 365);
    let ca_key = KeyPair::generate()?;
    let ca = ca_params.self_signed(&ca_key)?;

    for organisation in organisations {
        let mut params = CertificateParams::new(vec!["localhost".to_owned()])?;
        params
            .subject_alt_names
            .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, organisation.display_name.as_str());
        params
            .distinguished_name
            .push(DnType::OrganizationName, organisation.display_name.as_str());
        // 2.5.4.5 serialNumber: where PKIoverheid puts the OIN.
        params.distinguished_name.push(
            DnType::CustomDnType(vec![2, 5, 4, 5]),
            organisation.oin.as_str(),
        );
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        params.not_before = now - Duration::days(1);
        params.not_after = now + Duration::days(2 * 365);
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &ca, &ca_key)?;
        write(
            &dir.join(format!("{}.pem", organisation.name)),
            &cert.pem(),
            false,
        )?;
        write(
            &dir.join(format!("{}.key", organisation.name)),
            &key.serialize_pem(),
            true,
        )?;
    }
    // The CA key is not kept: the demo's set of organisations is fixed at init.
    write(&ca_path, &ca.pem(), false)?;
    Ok(true)
}

fn write(path: &Path, text: &str, private: bool) -> Result<(), PkiError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let io = |source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = options.open(path).map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}

/// An organisation's certificate and key, ready for TLS and for signing contracts.
#[derive(Debug)]
pub struct Identity {
    pub oin: Oin,
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    /// FSC's public key thumbprint of the key (lowercase hex SHA-256 of its SPKI).
    pub thumbprint: String,
    /// The leaf certificate's `x5t#S256` (base64url SHA-256 of its DER).
    pub certificate_thumbprint: String,
}

impl Clone for Identity {
    fn clone(&self) -> Self {
        Self {
            oin: self.oin,
            chain: self.chain.clone(),
            key: self.key.clone_key(),
            thumbprint: self.thumbprint.clone(),
            certificate_thumbprint: self.certificate_thumbprint.clone(),
        }
    }
}

impl Identity {
    /// Load `<cert>` (PEM chain, leaf first) and `<key>` (PEM PKCS#8).
    pub fn load(cert: &Path, key: &Path) -> Result<Self, PkiError> {
        Self::from_pem(
            &read(cert)?,
            &cert.display().to_string(),
            &read(key)?,
            &key.display().to_string(),
        )
    }

    /// An identity from PEM text (as configuration passes it): a certificate chain, leaf
    /// first, and its PKCS#8 key. `*_origin` name the text's source in errors.
    pub fn from_pem(
        chain_pem: &str,
        chain_origin: &str,
        key_pem: &str,
        key_origin: &str,
    ) -> Result<Self, PkiError> {
        let chain = certificates(chain_pem, chain_origin)?;
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
            .map_err(|_| PkiError::Pem(key_origin.to_owned()))?;
        let leaf = chain
            .first()
            .ok_or_else(|| PkiError::Pem(chain_origin.to_owned()))?;
        let peer =
            PeerCertificate::parse(leaf).map_err(|_| PkiError::NoOin(chain_origin.to_owned()))?;
        Ok(Self {
            oin: peer.oin,
            thumbprint: peer.thumbprint,
            certificate_thumbprint: peer.certificate_thumbprint,
            chain,
            key,
        })
    }

    /// The moment (unix seconds) from which peers no longer accept this identity: one
    /// second past the earliest `notAfter` in its chain; `None` when the chain does not
    /// parse.
    pub fn valid_until(&self) -> Option<i64> {
        self.chain
            .iter()
            .map(|der| {
                x509_parser::parse_x509_certificate(der.as_ref())
                    .map(|(_, cert)| cert.validity().not_after.timestamp().saturating_add(1))
                    .ok()
            })
            .try_fold(i64::MAX, |earliest, until| Some(earliest.min(until?)))
    }

    /// The demo's files for organisation `name` in `dir`.
    pub fn load_named(dir: &Path, name: &str) -> Result<Self, PkiError> {
        Self::load(
            &dir.join(format!("{name}.pem")),
            &dir.join(format!("{name}.key")),
        )
    }
}

/// Load the trust anchors from a PEM file.
pub fn load_roots(path: &Path) -> Result<Vec<CertificateDer<'static>>, PkiError> {
    certificates(&read(path)?, &path.display().to_string())
}

/// Every certificate in PEM text; at least one.
pub fn certificates(pem: &str, origin: &str) -> Result<Vec<CertificateDer<'static>>, PkiError> {
    let found: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|_| PkiError::Pem(origin.to_owned()))?;
    if found.is_empty() {
        return Err(PkiError::Pem(origin.to_owned()));
    }
    Ok(found)
}

/// Every certificate revocation list (`-----BEGIN X509 CRL-----`) in PEM text; at least
/// one. Whether each is well-formed, [`crate::tls::Trust::with_revocation_lists`] checks.
pub fn revocation_lists(
    pem: &str,
    origin: &str,
) -> Result<Vec<CertificateRevocationListDer<'static>>, PkiError> {
    let found: Vec<CertificateRevocationListDer<'static>> =
        CertificateRevocationListDer::pem_slice_iter(pem.as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|_| PkiError::RevocationLists(origin.to_owned()))?;
    if found.is_empty() {
        return Err(PkiError::RevocationLists(origin.to_owned()));
    }
    Ok(found)
}

/// The revocation lists among `lists` whose issuer promised a newer one before `now`
/// (their `nextUpdate` passed): each issuer's name and that moment (unix seconds). Such a
/// list still counts, but a certificate revoked since is not on it.
pub fn overdue_revocation_lists(
    lists: &[CertificateRevocationListDer<'_>],
    now: i64,
) -> Vec<(String, i64)> {
    lists
        .iter()
        .filter_map(|der| x509_parser::parse_x509_crl(der.as_ref()).ok())
        .filter_map(|(_, list)| {
            let next = list.next_update()?.timestamp();
            // As the checks count it: due at its `nextUpdate` itself.
            (next <= now).then(|| (list.issuer().to_string(), next))
        })
        .collect()
}

/// The earliest `nextUpdate` (unix seconds) among `lists`, if any has one.
pub fn earliest_next_update(lists: &[CertificateRevocationListDer<'_>]) -> Option<i64> {
    lists
        .iter()
        .filter_map(|der| x509_parser::parse_x509_crl(der.as_ref()).ok())
        .filter_map(|(_, list)| Some(list.next_update()?.timestamp()))
        .min()
}

fn read(path: &Path) -> Result<String, PkiError> {
    std::fs::read_to_string(path).map_err(|source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// What the exchange needs from a peer's certificate: who it is and which key it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerCertificate {
    pub oin: Oin,
    /// FSC's public key thumbprint: the SHA-256 of the DER SubjectPublicKeyInfo, in
    /// lowercase hex. A connection grant names the outway's key by it.
    pub thumbprint: String,
    /// The certificate's own thumbprint, as a JWS header's `x5t#S256` names it: the
    /// SHA-256 of the DER certificate, base64url.
    pub certificate_thumbprint: String,
    /// The raw public key (for checking contract signatures).
    pub public_key: Vec<u8>,
}

impl PeerCertificate {
    pub fn parse(der: &CertificateDer<'_>) -> Result<Self, PkiError> {
        let (_, cert) =
            x509_parser::parse_x509_certificate(der.as_ref()).map_err(|_| PkiError::Certificate)?;
        // The subject's serialNumber is the organisation's OIN: exactly one, or whose
        // certificate it is would depend on which one a reader takes.
        let mut serials = cert
            .subject()
            .iter_by_oid(&x509_parser::oid_registry::OID_X509_SERIALNUMBER);
        let (Some(serial), None) = (serials.next(), serials.next()) else {
            return Err(PkiError::Certificate);
        };
        let serial = serial.as_str().map_err(|_| PkiError::Certificate)?;
        let oin = Oin::parse(serial).map_err(|_| PkiError::Certificate)?;
        let spki = cert.public_key();
        Ok(Self {
            oin,
            thumbprint: loket_core::hex::lower_hex(&Sha256::digest(spki.raw)),
            certificate_thumbprint: URL_SAFE_NO_PAD.encode(Sha256::digest(der.as_ref())),
            public_key: spki.subject_public_key.data.to_vec(),
        })
    }
}

/// The moments (unix seconds) at which a certificate in the PEM chain becomes valid or
/// stops being valid (one second past its `notAfter`); none for text that does not
/// parse.
pub fn validity_changes(chain_pem: &str) -> Vec<i64> {
    let Ok(chain) = certificates(chain_pem, "directory") else {
        return Vec::new();
    };
    chain
        .iter()
        .filter_map(|der| x509_parser::parse_x509_certificate(der.as_ref()).ok())
        .flat_map(|(_, cert)| {
            let validity = cert.validity();
            [
                validity.not_before.timestamp(),
                validity.not_after.timestamp().saturating_add(1),
            ]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use super::*;

    fn demo_pki() -> (tempfile::TempDir, String, String) {
        let dir = tempfile::tempdir().unwrap();
        let oin = Oin::parse("00000001001234567000").unwrap();
        let organisation = Organisation {
            name: "gemeente".into(),
            display_name: "Gemeente".into(),
            oin,
        };
        init(dir.path(), &[organisation]).unwrap();
        let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
        let (cert, key) = (read("gemeente.pem"), read("gemeente.key"));
        (dir, cert, key)
    }

    #[test]
    fn an_identity_comes_from_pem_text_with_its_oin() {
        let (_dir, cert, key) = demo_pki();
        let identity = Identity::from_pem(&cert, "cert", &key, "key").unwrap();
        assert_eq!(identity.oin.as_str(), "00000001001234567000");
        // The key where the certificate should be, and the other way round.
        assert!(matches!(
            Identity::from_pem(&key, "cert", &key, "key"),
            Err(PkiError::Pem(origin)) if origin == "cert"
        ));
        assert!(matches!(
            Identity::from_pem(&cert, "cert", &cert, "key"),
            Err(PkiError::Pem(origin)) if origin == "key"
        ));
    }

    #[test]
    fn an_identity_is_valid_until_the_earliest_end_in_its_chain() {
        let (dir, cert, key) = demo_pki();
        let leaf = Identity::from_pem(&cert, "cert", &key, "key").unwrap();
        let until = leaf.valid_until().unwrap();
        let two_years = OffsetDateTime::now_utc().unix_timestamp() + 2 * 365 * 86_400;
        assert!(
            (until - two_years).abs() < 600,
            "{until} against {two_years}"
        );
        // The demo CA ends a year later than the certificates it issued.
        let ca = std::fs::read_to_string(dir.path().join(CA_FILE)).unwrap();
        let chain = Identity::from_pem(&format!("{cert}{ca}"), "cert", &key, "key").unwrap();
        assert_eq!(chain.chain.len(), 2);
        assert_eq!(chain.valid_until(), Some(until));
    }

    #[test]
    fn thumbprints_are_fscs_hex_of_the_key_and_base64url_of_the_certificate() {
        let (_dir, cert, _key) = demo_pki();
        let der = certificates(&cert, "cert").unwrap().remove(0);
        let peer = PeerCertificate::parse(&der).unwrap();
        let (_, parsed) = x509_parser::parse_x509_certificate(der.as_ref()).unwrap();
        let key_digest = Sha256::digest(parsed.public_key().raw);
        assert_eq!(peer.thumbprint.len(), 64);
        assert!(
            peer.thumbprint
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert_eq!(
            peer.thumbprint,
            key_digest
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(&peer.certificate_thumbprint)
                .unwrap(),
            Sha256::digest(der.as_ref()).to_vec()
        );
    }

    #[test]
    fn a_chain_changes_when_its_certificate_begins_and_one_second_after_it_ends() {
        let (_dir, cert, _key) = demo_pki();
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let changes = validity_changes(&cert);
        // pki::init: valid from a day ago for two years.
        assert_eq!(changes.len(), 2, "{changes:?}");
        assert!((now - 86_400 - 5..=now - 86_400 + 5).contains(&changes[0]));
        let two_years = 2 * 365 * 86_400;
        assert!((now + two_years - 86_400..=now + two_years + 86_400).contains(&changes[1]));
        assert!(validity_changes("not a certificate").is_empty());
    }

    /// A subject with two serialNumbers names two organisations: refused, not read as
    /// whichever comes first.
    #[test]
    fn a_certificate_with_two_oins_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let organisation = Organisation {
            name: "gemeente".into(),
            // The organisation name, turned into a second serialNumber below.
            display_name: "00000001009876543000".into(),
            oin: Oin::parse("00000001001234567000").unwrap(),
        };
        init(dir.path(), &[organisation]).unwrap();
        let pem = std::fs::read_to_string(dir.path().join("gemeente.pem")).unwrap();
        let der = certificates(&pem, "cert").unwrap().remove(0).to_vec();
        let peer = PeerCertificate::parse(&CertificateDer::from(der.clone())).unwrap();
        assert_eq!(peer.oin.as_str(), "00000001001234567000");
        // OID 2.5.4.10 (organizationName) becomes 2.5.4.5 (serialNumber), ahead of the
        // real one.
        let organisation_name = [0x06, 0x03, 0x55, 0x04, 0x0a];
        let at = der
            .windows(organisation_name.len())
            .position(|w| w == organisation_name)
            .unwrap();
        let mut two = der;
        two[at + 4] = 0x05;
        assert!(matches!(
            PeerCertificate::parse(&CertificateDer::from(two)),
            Err(PkiError::Certificate)
        ));
    }

    /// The demo CA's certificate and the municipality's, as PEM, made once for the
    /// property tests below.
    fn demo_pems() -> &'static (String, String) {
        static PEMS: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
        PEMS.get_or_init(|| {
            let (dir, cert, _key) = demo_pki();
            let ca = std::fs::read_to_string(dir.path().join(CA_FILE)).unwrap();
            (ca, cert)
        })
    }

    /// `der` as PEM of `label`.
    fn pem(label: &str, der: &[u8]) -> String {
        let text = base64::engine::general_purpose::STANDARD.encode(der);
        format!("-----BEGIN {label}-----\n{text}\n-----END {label}-----\n")
    }

    proptest! {
        /// Bytes that a directory entry, a revocation list file or a peer hands in as a
        /// certificate or list are read or refused, never a panic; a list that does not
        /// parse is refused by the trust, not taken as revoking nothing.
        #[test]
        fn any_bytes_as_a_certificate_or_a_list_are_read_or_refused(
            bytes in proptest::collection::vec(any::<u8>(), 1..600),
        ) {
            let (ca, _) = demo_pems();
            prop_assert!(PeerCertificate::parse(&CertificateDer::from(bytes.clone())).is_err());
            let as_certificate = pem("CERTIFICATE", &bytes);
            prop_assert!(validity_changes(&as_certificate).is_empty());
            let lists = revocation_lists(&pem("X509 CRL", &bytes), "crl").unwrap();
            prop_assert_eq!(lists.len(), 1);
            let _ = overdue_revocation_lists(&lists, 0);
            let _ = earliest_next_update(&lists);
            let trust = crate::tls::Trust::new(certificates(ca, "ca").unwrap()).unwrap();
            prop_assert!(trust.with_revocation_lists(lists).is_err());
        }

        /// A real certificate with one byte changed or cut short is read or refused,
        /// never a panic; read, it still carries an OIN and a thumbprint of 64 hex digits.
        #[test]
        fn a_damaged_certificate_is_read_or_refused(
            at in 0usize..2000,
            value in any::<u8>(),
            cut in proptest::bool::ANY,
        ) {
            let (_, cert) = demo_pems();
            let mut der = certificates(cert, "cert").unwrap().remove(0).to_vec();
            let at = at % der.len();
            if cut {
                der.truncate(at);
            } else {
                der[at] = value;
            }
            if let Ok(peer) = PeerCertificate::parse(&CertificateDer::from(der.clone())) {
                prop_assert_eq!(peer.thumbprint.len(), 64);
                prop_assert_eq!(peer.oin.as_str().len(), 20);
            }
            let _ = validity_changes(&pem("CERTIFICATE", &der));
        }

        /// Whatever text configuration hands in, reading it is an answer, never a panic.
        #[test]
        fn reading_any_text_as_pem_never_panics(text in ".{0,400}", cut in 0usize..2000) {
            let (_dir, cert, key) = demo_pki();
            let _ = certificates(&text, "text");
            let _ = Identity::from_pem(&text, "cert", &text, "key");
            // A real certificate and key, cut off anywhere.
            let cut_cert: String = cert.chars().take(cut).collect();
            let cut_key: String = key.chars().take(cut).collect();
            let _ = Identity::from_pem(&cut_cert, "cert", &cut_key, "key");
        }
    }
}
