//! Mutual TLS at the exchange with certificates out of their validity: an outway whose
//! certificate expired gets no connection to an inway, and an outway does not talk to an
//! inway whose certificate expired. An organisation that renews its certificate with a
//! new key keeps its contracts. Certificates from a CA made here, with rcgen.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use loket_core::SystemClock;
use loket_exchange::contract::SignatureKind;
use loket_exchange::contract::Validity;
use loket_exchange::pki;
use loket_exchange::pki::Identity;
use loket_exchange::tls::{self, SentChain, Trust};
use loket_exchange::{
    ContractState, Inway, Manager, ManagerError, Outway, PeerEntry, ServiceEntry,
};
use loket_http::Metrics;
use loket_logboek::Activities;
use loket_store::{Database, StorageUrl, sqlx};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, KeyIdMethod, KeyPair, KeyUsagePurpose, RevocationReason,
    RevokedCertParams, SerialNumber,
};
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer};
use time::{Duration, OffsetDateTime};

const GEMEENTE: &str = "00000001001234567000";
const RVIG: &str = "00000001009876543000";

struct Ca {
    params: CertificateParams,
    key: KeyPair,
    pem: String,
}

impl Ca {
    fn new() -> Self {
        Self::named("test CA")
    }

    fn named(name: &str) -> Self {
        let params = Self::params(name, BasicConstraints::Constrained(0));
        let key = KeyPair::generate().unwrap();
        let pem = params.clone().self_signed(&key).unwrap().pem();
        Self { params, key, pem }
    }

    fn params(name: &str, constraints: BasicConstraints) -> CertificateParams {
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(constraints);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params
    }

    /// A root with an issuing CA below it, as PKIoverheid has (with one more level): the
    /// root, the issuing CA, and the issuing CA's certificate as the root signed it.
    fn with_issuing_ca() -> (Self, Self, CertificateDer<'static>) {
        let root = Self::named("test root");
        let mut root = Self {
            params: Self::params("test root", BasicConstraints::Constrained(1)),
            ..root
        };
        root.pem = root.params.clone().self_signed(&root.key).unwrap().pem();
        let params = Self::params("test issuing CA", BasicConstraints::Constrained(0));
        let key = KeyPair::generate().unwrap();
        let signer = root.params.clone().self_signed(&root.key).unwrap();
        let certificate = params.clone().signed_by(&key, &signer, &root.key).unwrap();
        let der = certificate.der().clone();
        let issuing = Self {
            params,
            key,
            pem: certificate.pem(),
        };
        (root, issuing, der)
    }

    /// This CA as the only trust anchor, revoking nothing.
    fn trust(&self) -> Trust {
        Trust::new(loket_exchange::pki::certificates(&self.pem, "test CA").unwrap()).unwrap()
    }

    /// A certificate for `oin` valid from `from` to `until` days from now.
    fn issue(&self, oin: &str, from: i64, until: i64) -> Identity {
        let now = OffsetDateTime::now_utc();
        self.issue_pem(oin, now + Duration::days(from), now + Duration::days(until))
            .0
    }

    /// A certificate for `oin` with a new key, valid from `from` until `until`, and its PEM.
    fn issue_pem(
        &self,
        oin: &str,
        from: OffsetDateTime,
        until: OffsetDateTime,
    ) -> (Identity, String) {
        let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, oin);
        // 2.5.4.5 serialNumber: where PKIoverheid puts the OIN.
        params
            .distinguished_name
            .push(DnType::CustomDnType(vec![2, 5, 4, 5]), oin);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        params.not_before = from;
        params.not_after = until;
        let key = KeyPair::generate().unwrap();
        let issuer = self.params.clone().self_signed(&self.key).unwrap();
        let cert = params.signed_by(&key, &issuer, &self.key).unwrap();
        let identity =
            Identity::from_pem(&cert.pem(), "test", &key.serialize_pem(), "test").unwrap();
        (identity, cert.pem())
    }

    /// This CA's revocation list naming `revoked`, as PEM.
    fn revocation_list(&self, revoked: &[&Identity]) -> String {
        self.revocation_list_at(revoked, OffsetDateTime::now_utc() - Duration::hours(1))
    }

    /// This CA's revocation list naming `revoked`, issued at `issued`, as PEM.
    fn revocation_list_at(&self, revoked: &[&Identity], issued: OffsetDateTime) -> String {
        let serials: Vec<Vec<u8>> = revoked.iter().map(|identity| serial(identity)).collect();
        self.revocation_list_of(&serials, issued)
    }

    /// This CA's revocation list naming the certificates with `serials`, issued at
    /// `issued`, as PEM.
    fn revocation_list_of(&self, serials: &[Vec<u8>], issued: OffsetDateTime) -> String {
        let next_update = OffsetDateTime::now_utc() + Duration::days(7);
        self.revocation_list_until(serials, issued, next_update)
    }

    /// As `revocation_list_of`, with the next list promised at `next_update`.
    fn revocation_list_until(
        &self,
        serials: &[Vec<u8>],
        issued: OffsetDateTime,
        next_update: OffsetDateTime,
    ) -> String {
        self.revocation_list_naming(serials, issued, next_update, KeyIdMethod::Sha256)
    }

    /// The identifier of this CA's key, as its certificate gives it.
    fn key_identifier(&self) -> Vec<u8> {
        self.params
            .clone()
            .self_signed(&self.key)
            .unwrap()
            .key_identifier()
    }

    /// As `revocation_list_until`, naming its signer's key by `key_id` (a forger may
    /// name another's).
    fn revocation_list_naming(
        &self,
        serials: &[Vec<u8>],
        issued: OffsetDateTime,
        next_update: OffsetDateTime,
        key_id: KeyIdMethod,
    ) -> String {
        let issuer = self.params.clone().self_signed(&self.key).unwrap();
        let now = OffsetDateTime::now_utc();
        CertificateRevocationListParams {
            this_update: issued,
            next_update,
            crl_number: SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: serials
                .iter()
                .map(|serial| RevokedCertParams {
                    serial_number: SerialNumber::from_slice(serial),
                    revocation_time: now - Duration::minutes(5),
                    reason_code: Some(RevocationReason::KeyCompromise),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: key_id,
        }
        .signed_by(&issuer, &self.key)
        .unwrap()
        .pem()
        .unwrap()
    }

    /// This CA as the only trust anchor, with the revocation lists in `pem`.
    fn trust_revoking(&self, pem: &str) -> Trust {
        self.trust()
            .with_revocation_lists(pki::revocation_lists(pem, "test").unwrap())
            .unwrap()
    }

    /// A certificate for `oin` with a new key, valid from yesterday for a year.
    fn renewed(&self, oin: &str) -> (Identity, String) {
        let now = OffsetDateTime::now_utc();
        self.issue_pem(oin, now - Duration::days(1), now + Duration::days(365))
    }
}

/// The serial number of an identity's certificate.
fn serial(identity: &Identity) -> Vec<u8> {
    serial_of(&identity.chain[0])
}

fn serial_of(der: &CertificateDer<'_>) -> Vec<u8> {
    let (_, certificate) = x509_parser::parse_x509_certificate(der.as_ref()).unwrap();
    certificate.raw_serial().to_vec()
}

/// An inway's TLS in front of a router that answers "ok"; its address.
async fn inway(identity: &Identity, trust: &Trust) -> String {
    inway_before(
        identity,
        trust,
        axum::Router::new().fallback(|| async { "ok" }),
    )
    .await
}

/// An inway's TLS in front of `router`; its address.
async fn inway_before(identity: &Identity, trust: &Trust, router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "https://localhost:{}/",
        listener.local_addr().unwrap().port()
    );
    tokio::spawn(loket_exchange::serve_tls(
        listener,
        tls::server_config(identity, trust).unwrap(),
        router,
        std::future::pending(),
    ));
    url
}

async fn ask(url: &str, config: rustls::ClientConfig) -> Result<String, reqwest::Error> {
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .build()
        .unwrap();
    client.get(url).send().await?.text().await
}

#[tokio::test]
async fn an_expired_or_not_yet_valid_client_certificate_gets_no_connection() {
    let ca = Ca::new();
    let trust = ca.trust();
    let url = inway(&ca.issue(RVIG, -1, 365), &trust).await;
    let valid = ca.issue(GEMEENTE, -1, 365);
    assert_eq!(
        ask(&url, tls::client_config(&valid, &trust).unwrap())
            .await
            .unwrap(),
        "ok"
    );
    for (what, from, until) in [("expired", -30, -1), ("not yet valid", 1, 30)] {
        let outdated = ca.issue(GEMEENTE, from, until);
        assert!(
            ask(&url, tls::client_config(&outdated, &trust).unwrap())
                .await
                .is_err(),
            "{what}"
        );
    }
}

#[tokio::test]
async fn an_outway_does_not_talk_to_an_inway_whose_certificate_expired() {
    let ca = Ca::new();
    let trust = ca.trust();
    let gemeente = ca.issue(GEMEENTE, -1, 365);
    let config = || tls::client_config_for(&gemeente, &trust, RVIG).unwrap();
    let now = OffsetDateTime::now_utc();
    let until = OffsetDateTime::from_unix_timestamp(now.unix_timestamp() + 86_400).unwrap();
    let (rvig, _) = ca.issue_pem(RVIG, now - Duration::days(1), until);
    let current = inway(&rvig, &trust).await;
    let (to_current, ends) = config();
    assert_eq!(ends.first(), None, "no connection yet");
    assert_eq!(ask(&current, to_current).await.unwrap(), "ok");
    // Where the connection's certificate ends is noted, so that it is not kept past it.
    assert_eq!(ends.first(), Some(until.unix_timestamp() + 1));
    assert!(!ends.passed());
    // A certificate sent besides that had ended already is off the verified path: it
    // does not end the connection at once.
    let (mut with_spare, _) = ca.issue_pem(RVIG, now - Duration::days(1), until);
    with_spare
        .chain
        .push(ca.issue(RVIG, -30, -1).chain[0].clone());
    let (to_spare, ends) = config();
    assert_eq!(
        ask(&inway(&with_spare, &trust).await, to_spare)
            .await
            .unwrap(),
        "ok"
    );
    assert_eq!(ends.first(), Some(until.unix_timestamp() + 1));
    let expired = inway(&ca.issue(RVIG, -30, -1), &trust).await;
    let (to_expired, ends) = config();
    assert!(ask(&expired, to_expired).await.is_err());
    assert_eq!(ends.first(), None, "a refused certificate is not noted");
}

/// With its CA's revocation list, a revoked certificate gets no connection: not as a
/// client at an inway, not as an inway to an outway, and not as one's own identity. A
/// certificate whose CA has no list there is refused too.
#[tokio::test]
async fn a_revoked_certificate_gets_no_connection_either_way() {
    let ca = Ca::new();
    let rvig = ca.issue(RVIG, -1, 365);
    let gemeente = ca.issue(GEMEENTE, -1, 365);
    let revoked = ca.issue(GEMEENTE, -1, 365);
    let trust = ca.trust_revoking(&ca.revocation_list(&[&revoked]));
    assert!(trust.checks_revocation());
    let url = inway(&rvig, &trust).await;
    let client = |identity: &Identity| tls::client_config(identity, &ca.trust()).unwrap();
    assert_eq!(ask(&url, client(&gemeente)).await.unwrap(), "ok");
    assert!(ask(&url, client(&revoked)).await.is_err());
    assert!(tls::check_identity(&gemeente, &trust).is_ok());
    assert!(tls::check_identity(&revoked, &trust).is_err());

    let revoked_inway = ca.issue(RVIG, -1, 365);
    let url = inway(&revoked_inway, &ca.trust()).await;
    let to_rvig = |trust: &Trust| tls::client_config_for(&gemeente, trust, RVIG).unwrap().0;
    assert_eq!(ask(&url, to_rvig(&ca.trust())).await.unwrap(), "ok");
    let lists = ca.revocation_list(&[&revoked_inway]);
    assert!(
        ask(&url, to_rvig(&ca.trust_revoking(&lists)))
            .await
            .is_err()
    );

    // Only another CA's list: this CA's certificates have no known status.
    let other = Ca::named("another CA");
    let unknown = ca.trust_revoking(&other.revocation_list(&[]));
    let url = inway(&rvig, &unknown).await;
    assert!(ask(&url, client(&gemeente)).await.is_err());
    assert!(matches!(
        refusal(&gemeente, &unknown),
        Some(rustls::CertificateError::UnknownRevocationStatus)
    ));
    let sent = || SentChain::new(gemeente.chain.clone());
    assert!(
        unknown.refuses(&sent()),
        "for requests on connections before"
    );
    assert!(
        !ca.trust().refuses(&sent()),
        "without lists nothing is refused"
    );
    assert!(matches!(
        refusal(&revoked, &trust),
        Some(rustls::CertificateError::Revoked)
    ));
}

/// A CA's new list counts while running, for every clone of the trust: new handshakes at
/// an inway and towards an inway are checked against it, and the inway can tell a
/// certificate on it for requests on connections opened before.
#[tokio::test]
async fn new_revocation_lists_count_at_once() {
    let ca = Ca::new();
    let rvig = ca.issue(RVIG, -1, 365);
    let gemeente = ca.issue(GEMEENTE, -1, 365);
    let trust = ca.trust_revoking(&ca.revocation_list(&[]));
    let version = trust.version();
    let url = inway(&rvig, &trust.clone()).await;
    let client = || tls::client_config(&gemeente, &ca.trust()).unwrap();
    assert_eq!(ask(&url, client()).await.unwrap(), "ok");
    let peer = |identity: &Identity| SentChain::new(identity.chain.clone());
    assert!(!trust.refuses(&peer(&gemeente)));

    let lists = |revoked: &[&Identity]| pki::revocation_lists(&ca.revocation_list(revoked), "crl");
    trust
        .replace_revocation_lists(lists(&[&gemeente]).unwrap())
        .unwrap();
    assert_ne!(trust.version(), version);
    assert!(ask(&url, client()).await.is_err());
    assert!(trust.refuses(&peer(&gemeente)));
    assert!(!trust.refuses(&peer(&rvig)));

    // Towards an inway: the outway's next connection checks by the new list. (A
    // configuration keeps its TLS sessions, and a resumed one is not checked again: the
    // outway makes new ones when the lists change.)
    let to_rvig = || tls::client_config_for(&gemeente, &trust, RVIG).unwrap().0;
    let other_inway = inway(&rvig, &ca.trust()).await;
    assert_eq!(ask(&other_inway, to_rvig()).await.unwrap(), "ok");
    let revoking_rvig = lists(&[&rvig]).unwrap();
    trust
        .replace_revocation_lists(revoking_rvig.clone())
        .unwrap();
    assert!(ask(&other_inway, to_rvig()).await.is_err());

    // The same lists again change nothing; an older list of the CA (a stale copy fetched
    // again) does not replace the newer one in force.
    let version = trust.version();
    assert!(!trust.replace_revocation_lists(revoking_rvig).unwrap());
    let stale = ca.revocation_list_at(&[], OffsetDateTime::now_utc() - Duration::days(3));
    let stale = pki::revocation_lists(&stale, "crl").unwrap();
    assert!(!trust.replace_revocation_lists(stale).unwrap());
    assert_eq!(trust.version(), version);
    assert!(trust.refuses(&peer(&rvig)));

    // A list that does not parse leaves the one in force.
    let broken = pki::revocation_lists(
        "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n",
        "crl",
    )
    .unwrap();
    let version = trust.version();
    assert!(trust.replace_revocation_lists(broken).is_err());
    assert_eq!(trust.version(), version);
    assert!(trust.refuses(&peer(&rvig)));
}

/// A list whose signer is an anchor (by name and key identifier) but that the anchor did
/// not sign (damaged on disk, or forged under the CA's name and key identifier) is refused
/// when it is given: the list in force stays, so the CA's other certificates keep working,
/// and its revoked ones stay out.
#[test]
fn a_list_its_named_ca_did_not_sign_is_refused_when_given() {
    let ca = Ca::new();
    let revoked = ca.issue(GEMEENTE, -1, 365);
    let valid = ca.issue(RVIG, -1, 365);
    let pem = ca.revocation_list(&[&revoked]);
    let trust = ca.trust_revoking(&pem);
    let version = trust.version();
    let good = pki::revocation_lists(&pem, "test").unwrap().remove(0);

    // Its last byte (in the signature) changed: it still reads as a list.
    let mut bytes = good.as_ref().to_vec();
    *bytes.last_mut().unwrap() ^= 0x01;
    let damaged = CertificateRevocationListDer::from(bytes);
    assert!(x509_parser::parse_x509_crl(damaged.as_ref()).is_ok());
    // Another CA of the same name, revoking nothing, claiming the CA's key.
    let impostor = Ca::named("test CA");
    let now = OffsetDateTime::now_utc();
    let forged = impostor.revocation_list_naming(
        &[],
        now - Duration::hours(1),
        now + Duration::days(7),
        KeyIdMethod::PreSpecified(ca.key_identifier()),
    );
    let forged = pki::revocation_lists(&forged, "test").unwrap();

    for lists in [vec![damaged], forged] {
        assert!(matches!(
            trust.replace_revocation_lists(lists),
            Err(tls::TlsError::RevocationListSignature(1))
        ));
        assert_eq!(trust.version(), version, "the list in force stays");
        assert!(tls::check_identity(&revoked, &trust).is_err());
        assert!(tls::check_identity(&valid, &trust).is_ok());
    }
    // The list its CA signed is taken, as before.
    assert!(!trust.replace_revocation_lists(vec![good]).unwrap());

    // A signer of that name the trust does not hold (its own key identifier) is left to
    // the handshake, which checks it against the chain and fails closed.
    let elsewhere = pki::revocation_lists(&impostor.revocation_list(&[]), "test").unwrap();
    assert!(trust.replace_revocation_lists(elsewhere).unwrap());
    assert!(tls::check_identity(&revoked, &trust).is_err());
    assert!(tls::check_identity(&valid, &trust).is_err(), "fails closed");
}

/// A CA renewed with a new key keeps its name: with both keys as anchors, a list either
/// key signed is taken when given.
#[test]
fn a_list_of_a_renewed_ca_is_taken_from_either_of_its_anchors() {
    let old = Ca::named("test CA");
    let renewed = Ca::named("test CA");
    let anchors = pki::certificates(&format!("{}{}", old.pem, renewed.pem), "test").unwrap();
    let trust = Trust::new(anchors).unwrap();
    for ca in [&old, &renewed] {
        let lists = pki::revocation_lists(&ca.revocation_list(&[]), "test").unwrap();
        assert!(trust.replace_revocation_lists(lists).is_ok());
    }
}

/// A CA its root revoked: looked up only when whole chains are checked, and then each
/// CA's issuer needs a list too.
#[test]
fn a_revoked_issuing_ca_counts_when_whole_chains_are_checked() {
    let (root, issuing, issuing_der) = Ca::with_issuing_ca();
    let mut gemeente = issuing.issue(GEMEENTE, -1, 365);
    gemeente.chain.push(issuing_der.clone());
    let now = OffsetDateTime::now_utc() - Duration::hours(1);
    let revoking_issuing = root.revocation_list_of(&[serial_of(&issuing_der)], now);
    let of_issuing = issuing.revocation_list(&[]);
    let lists = |pem: &str| pki::revocation_lists(pem, "crl").unwrap();
    let both = format!("{revoking_issuing}{of_issuing}");

    let certificate_only = root.trust().with_revocation_lists(lists(&both)).unwrap();
    assert!(tls::check_identity(&gemeente, &certificate_only).is_ok());
    let chains = root.trust().checking_whole_chains().unwrap();
    let chains = chains.with_revocation_lists(lists(&both)).unwrap();
    assert!(matches!(
        refusal(&gemeente, &chains),
        Some(rustls::CertificateError::Revoked)
    ));
    // Not revoked: accepted, with a list for each level.
    let fine = format!("{}{of_issuing}", root.revocation_list(&[]));
    chains.replace_revocation_lists(lists(&fine)).unwrap();
    assert!(tls::check_identity(&gemeente, &chains).is_ok());
    // Without the root's list, the issuing CA's status is unknown.
    chains.replace_revocation_lists(lists(&of_issuing)).unwrap();
    assert!(matches!(
        refusal(&gemeente, &chains),
        Some(rustls::CertificateError::UnknownRevocationStatus)
    ));
}

/// When whole chains are checked, a request on a connection opened before its issuing
/// CA was revoked is refused too: the client's chain is checked again as a handshake
/// would be, so a certificate it sent that only bears the CA's name changes nothing.
#[tokio::test]
async fn requests_on_an_open_connection_count_a_revoked_issuing_ca() {
    let (root, issuing, issuing_der) = Ca::with_issuing_ca();
    let mut gemeente = issuing.issue(GEMEENTE, -1, 365);
    // Ahead of the real issuing CA, one of its own making that bears its name.
    let decoy = Ca::named("test issuing CA");
    gemeente
        .chain
        .push(pki::certificates(&decoy.pem, "decoy").unwrap().remove(0));
    gemeente.chain.push(issuing_der.clone());
    let mut rvig = issuing.issue(RVIG, -1, 365);
    rvig.chain.push(issuing_der.clone());
    let lists = |pem: &str| pki::revocation_lists(pem, "crl").unwrap();
    let of_issuing = issuing.revocation_list(&[]);
    let fine = format!("{}{of_issuing}", root.revocation_list(&[]));
    let trust = root.trust().checking_whole_chains().unwrap();
    let trust = trust.with_revocation_lists(lists(&fine)).unwrap();
    let url = inway_before(&rvig, &trust, telling(trust.clone())).await;
    let config = tls::client_config(&gemeente, &root.trust()).unwrap();
    let (client, port) = kept_connection(&url, config).await;
    let ask_again = || async { client.get(&url).send().await?.text().await };

    let revoking_issuing = root.revocation_list_of(
        &[serial_of(&issuing_der)],
        OffsetDateTime::now_utc() - Duration::minutes(30),
    );
    assert!(
        trust
            .replace_revocation_lists(lists(&format!("{revoking_issuing}{of_issuing}")))
            .unwrap()
    );
    assert_eq!(ask_again().await.unwrap(), format!("{port} refused"));
    // A new connection gets no handshake.
    assert!(
        ask(&url, tls::client_config(&gemeente, &root.trust()).unwrap())
            .await
            .is_err()
    );
    // Looking up the organisation's own certificate only, the CA does not count.
    let certificate_only = root
        .trust()
        .with_revocation_lists(trust.revocation_lists())
        .unwrap();
    let sent = || SentChain::new(gemeente.chain.clone());
    assert!(!certificate_only.refuses(&sent()));
    assert!(trust.refuses(&sent()));
}

/// Why `trust` refuses `identity`'s certificate, if it does.
fn refusal(identity: &Identity, trust: &Trust) -> Option<rustls::CertificateError> {
    match tls::check_identity(identity, trust) {
        Err(tls::TlsError::Rustls(rustls::Error::InvalidCertificate(error))) => Some(error),
        _ => None,
    }
}

/// A client that keeps one connection to a [`telling`] inway at `url`, and that
/// connection's port, once its first answer said "accepted".
async fn kept_connection(url: &str, config: rustls::ClientConfig) -> (reqwest::Client, String) {
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .build()
        .unwrap();
    let first = client.get(url).send().await.unwrap().text().await.unwrap();
    let (port, verdict) = first.split_once(' ').unwrap();
    assert_eq!(verdict, "accepted");
    (client, port.to_owned())
}

/// An inway's router that answers the connection's port and whether `trust` refuses its
/// client now.
fn telling(trust: Trust) -> axum::Router {
    use axum::extract::ConnectInfo;
    axum::Router::new().fallback(move |ConnectInfo(peer): ConnectInfo<tls::Peer>| {
        let trust = trust.clone();
        async move {
            let sent = peer.sent.expect("a client certificate");
            let verdict = if trust.refuses(&sent) {
                "refused"
            } else {
                "accepted"
            };
            format!("{} {verdict}", peer.remote.port())
        }
    })
}

/// A client certificate that ends while its connection stays open: the next request on
/// that connection is refused, as a new handshake would be, without revocation lists
/// too.
#[tokio::test]
async fn a_certificate_that_ends_on_an_open_connection_is_refused_there() {
    let ca = Ca::new();
    let rvig = ca.issue(RVIG, -1, 365);
    let now = OffsetDateTime::now_utc();
    // Whole seconds, as the certificate keeps them.
    let ends = OffsetDateTime::from_unix_timestamp(now.unix_timestamp() + 4).unwrap();
    let (gemeente, _) = ca.issue_pem(GEMEENTE, now - Duration::days(1), ends);
    let trust = ca.trust();
    assert!(!trust.checks_revocation());
    let url = inway_before(&rvig, &trust, telling(trust.clone())).await;
    let config = tls::client_config(&gemeente, &trust).unwrap();
    let (client, port) = kept_connection(&url, config).await;
    let ask_again = || async { client.get(&url).send().await?.text().await };
    let wait = ends - OffsetDateTime::now_utc() + Duration::milliseconds(1500);
    tokio::time::sleep(wait.try_into().unwrap_or_default()).await;
    assert_eq!(ask_again().await.unwrap(), format!("{port} refused"));
    // A certificate sent besides that ends early, off the path, changes nothing.
    let mut with_spare = ca.issue(GEMEENTE, -1, 365);
    with_spare.chain.push(gemeente.chain[0].clone());
    assert!(!trust.refuses(&SentChain::new(with_spare.chain.clone())));
}

/// A list past its `nextUpdate` still counts by default; when overdue lists are refused,
/// its CA's certificates have an unknown status: at the handshake, and for requests on
/// connections opened before once the trust is refreshed.
#[tokio::test]
async fn an_overdue_list_counts_no_more_when_overdue_lists_are_refused() {
    let ca = Ca::new();
    let rvig = ca.issue(RVIG, -1, 365);
    let gemeente = ca.issue(GEMEENTE, -1, 365);
    let now = OffsetDateTime::now_utc();
    let overdue = ca.revocation_list_until(&[], now - Duration::days(8), now - Duration::days(1));
    let lists = |pem: &str| pki::revocation_lists(pem, "crl").unwrap();
    let sent = || SentChain::new(gemeente.chain.clone());
    let client = || tls::client_config(&gemeente, &ca.trust()).unwrap();

    let warning = ca.trust_revoking(&overdue);
    assert!(!warning.refuses_overdue_lists());
    assert!(tls::check_identity(&gemeente, &warning).is_ok());
    assert!(!warning.refuses(&sent()));
    assert_eq!(
        ask(&inway(&rvig, &warning).await, client()).await.unwrap(),
        "ok"
    );

    let refusing = ca.trust().checking_whole_chains().unwrap();
    let refusing = refusing.refusing_overdue_lists().unwrap();
    assert!(refusing.refuses_overdue_lists() && refusing.checks_whole_chains());
    refusing.replace_revocation_lists(lists(&overdue)).unwrap();
    assert!(matches!(
        refusal(&gemeente, &refusing),
        Some(
            rustls::CertificateError::ExpiredRevocationListContext { .. }
                | rustls::CertificateError::ExpiredRevocationList
        )
    ));
    assert!(refusing.refuses(&sent()));
    assert!(ask(&inway(&rvig, &refusing).await, client()).await.is_err());

    // A list due in five seconds counts until then. A connection opened before is
    // checked again once a refresh sees the list due, and then refused.
    // Whole seconds, as the list keeps them, and time to spare before it is due.
    let due_at = OffsetDateTime::from_unix_timestamp(now.unix_timestamp() + 5).unwrap();
    let due = ca.revocation_list_until(&[], now - Duration::hours(1), due_at);
    refusing.replace_revocation_lists(lists(&due)).unwrap();
    assert!(tls::check_identity(&gemeente, &refusing).is_ok());
    let open = sent();
    assert!(!refusing.refuses(&open));
    let version = refusing.version();
    assert!(!refusing.refresh(due_at.unix_timestamp() - 1).unwrap());
    assert_eq!(refusing.version(), version);
    let wait = due_at - OffsetDateTime::now_utc() + Duration::milliseconds(200);
    tokio::time::sleep(wait.try_into().unwrap_or_default()).await;
    assert!(!refusing.refuses(&open), "as checked under this version");
    let later = OffsetDateTime::now_utc().unix_timestamp();
    assert!(refusing.refresh(later).unwrap());
    assert_ne!(refusing.version(), version);
    assert!(refusing.refuses(&open));
    assert!(!refusing.refresh(later + 60).unwrap(), "once");
    // Without refusing overdue lists, a refresh changes nothing.
    let warning = ca.trust_revoking(&due);
    assert!(!warning.refresh(later + 60).unwrap());
    assert!(!warning.refuses(&sent()));
}

/// Of two lists of one CA, the newer counts: an older one left in the file (appended to,
/// say) does not hide what was revoked since.
#[test]
fn the_newest_list_of_a_ca_counts() {
    let ca = Ca::new();
    let gemeente = ca.issue(GEMEENTE, -1, 365);
    let older = ca.revocation_list_at(&[], OffsetDateTime::now_utc() - Duration::days(2));
    let newer = ca.revocation_list(&[&gemeente]);
    for file in [format!("{older}{newer}"), format!("{newer}{older}")] {
        let trust = ca.trust_revoking(&file);
        assert_eq!(trust.revocation_lists().len(), 1);
        assert!(tls::check_identity(&gemeente, &trust).is_err());
        assert!(trust.refuses(&SentChain::new(gemeente.chain.clone())));
    }
}

#[test]
fn revocation_lists_come_as_pem_and_must_parse() {
    let ca = Ca::new();
    let pem = ca.revocation_list(&[]);
    assert_eq!(pki::revocation_lists(&pem, "crl").unwrap().len(), 1);
    let two = format!("{pem}{}", Ca::new().revocation_list(&[]));
    assert_eq!(pki::revocation_lists(&two, "crl").unwrap().len(), 2);
    // A certificate is not a revocation list.
    assert!(matches!(
        pki::revocation_lists(&ca.pem, "crl"),
        Err(pki::PkiError::RevocationLists(origin)) if origin == "crl"
    ));
    // Well-formed PEM around something that is no list.
    let broken = "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n";
    let lists = pki::revocation_lists(broken, "crl").unwrap();
    assert!(ca.trust().with_revocation_lists(lists).is_err());
    // A list past its nextUpdate is reported.
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let lists = pki::revocation_lists(&pem, "crl").unwrap();
    assert!(pki::overdue_revocation_lists(&lists, now).is_empty());
    let overdue = pki::overdue_revocation_lists(&lists, now + 8 * 86_400);
    assert_eq!(overdue.len(), 1, "{overdue:?}");
    assert!(overdue[0].0.contains("test CA"), "{overdue:?}");
}

/// A directory on real storage kept by the municipality, with the municipality and RvIG
/// in it, RvIG's service published and a connection to it for parking permits: each
/// contract signed by both. `other` reads the same directory, as another process does.
struct Directory {
    /// Where its storage is (logs made for a test go there too).
    url: StorageUrl,
    ca: Ca,
    manager: Manager,
    other: Manager,
    database: Database,
    /// The municipality's own storage (its journal and the revocations it saw).
    own: Database,
    gemeente: Identity,
    rvig: Identity,
    rvig_pem: String,
    publication: String,
    connection: String,
}

const SERVICE: &str = "brp-personen";
const PARKEREN: &str = "https://voorbeeldstad.example/verwerkingen/parkeervergunning";
const MIJN_GEGEVENS: &str = "https://voorbeeldstad.example/verwerkingen/mijn-gegevens";
const SANNE: &str = "999990007";

fn register() -> Activities {
    Activities::parse(common::ACTIVITIES, "test").unwrap()
}

fn a_year() -> Validity {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    Validity {
        not_before: now - 60,
        not_after: now + 365 * 86_400,
    }
}

async fn directory(url: &StorageUrl) -> Directory {
    let ca = Ca::new();
    let database = Database::open(url, &loket_exchange::SCHEMA).await.unwrap();
    let own = Database::open(url, &loket_exchange::REVOCATIONS_SCHEMA)
        .await
        .unwrap();
    let trust = ca.trust();
    let manager = Manager::open(&database, GEMEENTE, &trust, &own)
        .await
        .unwrap();
    let other = Manager::open(&database, GEMEENTE, &trust, &own)
        .await
        .unwrap();
    let (gemeente, gemeente_pem) = ca.renewed(GEMEENTE);
    let (rvig, rvig_pem) = ca.renewed(RVIG);
    manager
        .register_peer("Gemeente", &gemeente_pem)
        .await
        .unwrap();
    manager.register_peer("RvIG", &rvig_pem).await.unwrap();
    let entry = ServiceEntry {
        name: SERVICE.to_owned(),
        peer_id: RVIG.to_owned(),
        inway: "https://localhost:8443".to_owned(),
        openapi: "/openapi.json".to_owned(),
        subject_field: Some("burgerservicenummer".to_owned()),
    };
    let publication = manager.publish(&rvig, entry, a_year()).await.unwrap();
    manager.accept(&gemeente, &publication).await.unwrap();
    let connection = request(&manager, &gemeente, PARKEREN).await;
    manager.accept(&rvig, &connection).await.unwrap();
    let directory = Directory {
        url: url.clone(),
        ca,
        manager,
        other,
        database,
        own,
        gemeente,
        rvig,
        rvig_pem,
        publication,
        connection,
    };
    for hash in [&directory.publication, &directory.connection] {
        assert_eq!(state(&directory.other, hash).await, ContractState::Active);
    }
    directory
}

/// The municipality asks for a connection to RvIG's service for `activity`.
async fn request(manager: &Manager, gemeente: &Identity, activity: &str) -> String {
    manager
        .request_connection(
            gemeente,
            SERVICE,
            vec![activity.to_owned()],
            None,
            a_year(),
            &register(),
        )
        .await
        .unwrap()
}

/// A contract's state as a manager that reads the directory again sees it.
async fn state(manager: &Manager, hash: &str) -> ContractState {
    let policy = manager.reload().await.unwrap();
    policy
        .contracts
        .iter()
        .find(|c| c.hash == hash)
        .map(|c| c.state)
        .unwrap()
}

async fn put_document(d: &Directory, kind: &str, key: &str, body: &str) {
    common::put_document(&d.database, kind, key, body).await;
}

/// A document's body as the directory's database holds it.
async fn body_of(d: &Directory, kind: &str, key: &str) -> String {
    let sql = "SELECT body FROM documents WHERE kind = $1 AND key = $2";
    match &d.database {
        Database::Sqlite(pool) => sqlx::query_scalar(&sql.replace('$', "?"))
            .bind(kind)
            .bind(key)
            .fetch_one(pool)
            .await
            .unwrap(),
        Database::Postgres(pool) => sqlx::query_scalar(sql)
            .bind(kind)
            .bind(key)
            .fetch_one(pool)
            .await
            .unwrap(),
    }
}

/// RvIG's acceptance of `hash`, made with `key`'s key and put in the directory past
/// RvIG's manager (as whoever holds that key and can write the directory could).
async fn sign_past_the_manager(d: &Directory, key: &Identity, hash: &str) {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let jws = loket_exchange::contract::sign(key, hash, SignatureKind::Accept, now).unwrap();
    let body = serde_json::json!({
        "contractHash": hash, "peerId": RVIG, "kind": "accept", "jws": jws,
    });
    put_document(
        d,
        "signature",
        &format!("{hash}/{RVIG}/accept"),
        &body.to_string(),
    )
    .await;
}

/// RvIG's directory entry written past the manager: `current` and `earlier` certificates.
async fn put_rvig(d: &Directory, current: &str, earlier: &[&str]) {
    let entry = PeerEntry {
        oin: RVIG.to_owned(),
        name: "RvIG".to_owned(),
        certificate_pem: current.to_owned(),
        earlier_certificates_pem: earlier.iter().map(|pem| (*pem).to_owned()).collect(),
    };
    put_document(d, "peer", RVIG, &serde_json::to_string(&entry).unwrap()).await;
}

/// RvIG renews its certificate with a new key and starts: what it signed stays in force
/// without a gap, signed again with the new key, and the old key's signatures no longer
/// count. A signature someone else put in its name (with a certificate of RvIG's they
/// hold, in RvIG's directory entry) is not made real: RvIG signs again only what its own
/// journal says it signed.
async fn a_renewal_with_a_new_key_keeps_the_contracts(d: Directory) {
    // RvIG's start before: the certificate it entered is in its own journal.
    let nothing = d.manager.enter("RvIG", &d.rvig, &d.rvig_pem).await.unwrap();
    assert!(nothing.is_empty(), "{nothing:?}");
    let unaccepted = request(&d.manager, &d.gemeente, MIJN_GEGEVENS).await;
    let (stolen, stolen_pem) = d.ca.renewed(RVIG);
    sign_past_the_manager(&d, &stolen, &unaccepted).await;
    put_rvig(&d, &stolen_pem, &[]).await;
    assert_eq!(
        state(&d.other, &unaccepted).await,
        ContractState::Active,
        "in the directory, the forgery counts until RvIG enters again"
    );

    let (renewed, pem) = d.ca.renewed(RVIG);
    assert_ne!(renewed.thumbprint, d.rvig.thumbprint, "a new key");
    let mut signed_again = d.manager.enter("RvIG", &renewed, &pem).await.unwrap();
    signed_again.sort();
    let mut expected = vec![d.publication.clone(), d.connection.clone()];
    expected.sort();
    assert_eq!(signed_again, expected);
    for hash in [&d.publication, &d.connection] {
        assert_eq!(state(&d.other, hash).await, ContractState::Active);
    }
    assert_eq!(state(&d.other, &unaccepted).await, ContractState::Proposed);
    let policy = d.other.policy();
    let entry = &policy.peers[RVIG];
    assert_eq!(entry.certificate_pem, pem);
    assert!(entry.earlier_certificates_pem.is_empty(), "{entry:?}");
    assert!(policy.services.contains_key(SERVICE));

    // The old key's signature no longer counts; the new key's does.
    sign_past_the_manager(&d, &d.rvig, &unaccepted).await;
    assert_eq!(state(&d.other, &unaccepted).await, ContractState::Proposed);
    d.manager.accept(&renewed, &unaccepted).await.unwrap();
    assert_eq!(state(&d.other, &unaccepted).await, ContractState::Active);

    // Started again with the same certificate: nothing to sign again.
    assert!(
        d.manager
            .enter("RvIG", &renewed, &pem)
            .await
            .unwrap()
            .is_empty()
    );
    // A certificate that is not the identity's own is refused.
    assert!(matches!(
        d.manager.enter("RvIG", &d.rvig, &pem).await,
        Err(ManagerError::Certificate(_))
    ));
}

/// A certificate its CA revoked signs nothing: for a manager with that list, RvIG's
/// contracts are no longer in force, until RvIG renews with a new key and signs again.
async fn signatures_by_a_revoked_certificate_do_not_count(d: Directory) {
    // RvIG's start before: the certificate it entered is in its own journal.
    d.manager.enter("RvIG", &d.rvig, &d.rvig_pem).await.unwrap();
    let trust = d.ca.trust_revoking(&d.ca.revocation_list(&[]));
    let checking = Manager::open(&d.database, GEMEENTE, &trust, &d.own)
        .await
        .unwrap();
    assert!(!checking.refresh().await.unwrap(), "nothing changed");
    for hash in [&d.publication, &d.connection] {
        assert_eq!(state(&checking, hash).await, ContractState::Active);
    }
    // The CA's new list: the next periodic check builds the policy again.
    let lists = pki::revocation_lists(&d.ca.revocation_list(&[&d.rvig]), "crl").unwrap();
    trust.replace_revocation_lists(lists).unwrap();
    assert!(checking.refresh().await.unwrap());
    for hash in [&d.publication, &d.connection] {
        assert_eq!(state(&d.other, hash).await, ContractState::Active);
        assert_eq!(state(&checking, hash).await, ContractState::Proposed);
    }
    assert!(!checking.policy().services.contains_key(SERVICE));
    assert!(checking.policy().connections.is_empty());

    let (renewed, pem) = d.ca.renewed(RVIG);
    d.manager.enter("RvIG", &renewed, &pem).await.unwrap();
    for hash in [&d.publication, &d.connection] {
        assert_eq!(state(&checking, hash).await, ContractState::Active);
    }
}

/// The municipality renews with a new key: its connection names the old key, which its
/// outway no longer has, and the manager says which connections need asking for again,
/// until the provider approved one for the new key.
async fn a_consumer_learns_which_connections_name_its_earlier_key(d: Directory) {
    assert!(d.manager.grants_for_other_keys(&d.gemeente).is_empty());
    let (renewed, pem) = d.ca.renewed(GEMEENTE);
    d.manager.enter("Gemeente", &renewed, &pem).await.unwrap();
    let stale = d.manager.grants_for_other_keys(&renewed);
    assert_eq!(stale.len(), 1, "{stale:?}");
    assert_eq!(stale[0].contract_hash, d.connection);
    assert_eq!(stale[0].thumbprint, d.gemeente.thumbprint);
    // The grant itself still stands: the provider accepted it for that key.
    assert_eq!(state(&d.other, &d.connection).await, ContractState::Active);
    let again = d
        .manager
        .request_again(&renewed, &d.connection, &register())
        .await
        .unwrap();
    assert_eq!(
        d.manager.grants_for_other_keys(&renewed).len(),
        1,
        "not approved yet"
    );
    d.manager.accept(&d.rvig, &again).await.unwrap();
    assert!(d.manager.grants_for_other_keys(&renewed).is_empty());
    let policy = d.other.reload().await.unwrap();
    let grant = |hash: &str| {
        policy
            .connections
            .values()
            .find(|c| c.contract_hash == hash)
            .unwrap()
            .clone()
    };
    let (old, new) = (grant(&d.connection), grant(&again));
    assert_eq!(new.thumbprint, renewed.thumbprint);
    assert_eq!(
        (&new.service, &new.processing_activities, &new.fields),
        (&old.service, &old.processing_activities, &old.fields)
    );
    assert_eq!(new.validity.not_after, old.validity.not_after);
    // Nothing to ask again for: the new contract names the current key already.
    for hash in [&again, &d.publication] {
        assert!(matches!(
            d.manager.request_again(&renewed, hash, &register()).await,
            Err(ManagerError::NothingToRequestAgain(_))
        ));
    }
}

/// An earlier certificate in an entry counts only while it is valid itself. An
/// organisation that renews after its old certificate expired signs again, at its start,
/// what its journal says it signed.
async fn an_earlier_certificate_counts_only_while_it_is_valid(d: Directory) {
    let (renewed, pem) = d.ca.renewed(RVIG);
    let now = OffsetDateTime::now_utc();
    let (expired, expired_pem) =
        d.ca.issue_pem(RVIG, now - Duration::days(2), now - Duration::days(1));
    sign_past_the_manager(&d, &expired, &d.publication).await;
    put_rvig(&d, &pem, &[&expired_pem]).await;
    assert_eq!(
        state(&d.other, &d.publication).await,
        ContractState::Proposed
    );

    let (valid, valid_pem) = d.ca.renewed(RVIG);
    sign_past_the_manager(&d, &valid, &d.publication).await;
    put_rvig(&d, &pem, &[&valid_pem]).await;
    assert_eq!(state(&d.other, &d.publication).await, ContractState::Active);

    sign_past_the_manager(&d, &expired, &d.publication).await;
    put_rvig(&d, &pem, &[&expired_pem]).await;
    assert_eq!(
        state(&d.other, &d.publication).await,
        ContractState::Proposed
    );
    let mut signed_again = d.manager.enter("RvIG", &renewed, &pem).await.unwrap();
    signed_again.sort();
    let mut expected = vec![d.publication.clone(), d.connection.clone()];
    expected.sort();
    assert_eq!(signed_again, expected);
    assert_eq!(state(&d.other, &d.publication).await, ContractState::Active);

    // A contract altered in the directory so that it no longer names RvIG, its
    // signature gone: passed over, and RvIG still starts.
    let altered = body_of(&d, "contract", &d.publication)
        .await
        .replace(RVIG, "00000001005555555000");
    put_document(&d, "contract", &d.connection, &altered).await;
    sign_past_the_manager(&d, &expired, &d.connection).await;
    let signed_again = d.manager.enter("RvIG", &renewed, &pem).await.unwrap();
    assert!(signed_again.is_empty(), "{signed_again:?}");
}

/// An outway keeps its connections to an inway for reuse, but not past the end of a
/// certificate the inway presented on them: the next request after it needs a new
/// connection, whose handshake refuses the certificate, so nothing more is sent there.
async fn an_outway_keeps_no_connection_past_the_inways_certificate(d: Directory) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let keys = tempfile::tempdir().unwrap();
    let (gemeente_log, _) =
        common::log(&d.url, "logboek_gemeente", keys.path(), common::ACTIVITIES).await;
    let (rvig_log, _) =
        common::log(&d.url, "logboek_rvig", keys.path(), common::RVIG_ACTIVITIES).await;
    // RvIG's register, which counts what reaches it.
    let reached = Arc::new(AtomicUsize::new(0));
    let counter = reached.clone();
    let register = axum::Router::new().fallback(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        async { axum::Json(serde_json::json!({"personen": [{"burgerservicenummer": SANNE}]})) }
    });
    let register_url = common::serve_plain(register).await;
    let inway = Inway::new(
        RVIG,
        d.manager.clone(),
        rvig_log,
        common::provided_by_rvig(SERVICE, register_url),
        Arc::new(SystemClock),
    )
    .unwrap();
    let now = OffsetDateTime::now_utc();
    // Whole seconds, as the certificate keeps them, with time to publish, start and
    // ask once, on a busy machine too.
    let ends = OffsetDateTime::from_unix_timestamp(now.unix_timestamp() + 8).unwrap();
    let (short, _) = d.ca.issue_pem(RVIG, now - Duration::days(1), ends);
    let trust = d.ca.trust();
    let inway_url = inway_before(&short, &trust, inway.service().into_router(Metrics::new())).await;
    let entry = ServiceEntry {
        name: SERVICE.to_owned(),
        peer_id: RVIG.to_owned(),
        inway: inway_url.trim_end_matches('/').to_owned(),
        openapi: "/openapi.json".to_owned(),
        subject_field: Some("burgerservicenummer".to_owned()),
    };
    let publication = d.manager.publish(&d.rvig, entry, a_year()).await.unwrap();
    d.manager.accept(&d.gemeente, &publication).await.unwrap();
    let outway = Outway::new(
        &d.gemeente,
        None,
        &trust,
        d.manager.clone(),
        gemeente_log,
        Arc::new(SystemClock),
    )
    .unwrap();
    let outway_url = common::serve_plain(outway.service().into_router(Metrics::new())).await;
    let client = reqwest::Client::new();
    let ask = || {
        client
            .post(format!(
                "{outway_url}/{SERVICE}/haalcentraal/api/brp/personen"
            ))
            .header(loket_exchange::PROCESSING_ACTIVITY, PARKEREN)
            .json(&serde_json::json!({
                "type": "RaadpleegMetBurgerservicenummer",
                "burgerservicenummer": [SANNE],
            }))
            .send()
    };
    assert_eq!(ask().await.unwrap().status(), 200);
    assert_eq!(reached.load(Ordering::SeqCst), 1);

    let wait = ends - OffsetDateTime::now_utc() + Duration::milliseconds(1500);
    tokio::time::sleep(wait.try_into().unwrap_or_default()).await;
    let refused = ask().await.unwrap();
    assert_eq!(refused.status(), 502);
    assert_eq!(
        refused.headers()[loket_exchange::FSC_ERROR_CODE],
        "ERROR_CODE_SERVICE_UNREACHABLE"
    );
    assert_eq!(reached.load(Ordering::SeqCst), 1, "nothing more reached it");
}

loket_store::contract_suite! {
    open = directory;
    tests = [
        an_outway_keeps_no_connection_past_the_inways_certificate,
        a_renewal_with_a_new_key_keeps_the_contracts,
        signatures_by_a_revoked_certificate_do_not_count,
        a_consumer_learns_which_connections_name_its_earlier_key,
        an_earlier_certificate_counts_only_while_it_is_valid,
    ];
}

/// How a revocation list's bytes may come to differ from what its CA signed: a disk, a
/// download cut short, a proxy, or someone who wants a revoked certificate back.
#[derive(Debug, Clone)]
enum Damage {
    Flip(usize, u8),
    Cut(usize),
    Insert(usize, u8),
    Remove(usize),
    Replace(Vec<u8>),
}

impl Damage {
    fn apply(&self, list: &[u8]) -> Vec<u8> {
        let mut bytes = list.to_vec();
        let at = |i: usize| i % bytes.len();
        match self {
            Damage::Flip(i, mask) => {
                let i = at(*i);
                bytes[i] ^= mask;
            }
            Damage::Cut(i) => bytes.truncate(at(*i)),
            Damage::Insert(i, byte) => bytes.insert(at(*i), *byte),
            Damage::Remove(i) => {
                bytes.remove(at(*i));
            }
            Damage::Replace(other) => bytes.clone_from(other),
        }
        bytes
    }
}

fn damage() -> impl proptest::strategy::Strategy<Value = Damage> {
    use proptest::prelude::*;
    prop_oneof![
        4 => (any::<usize>(), 1u8..).prop_map(|(i, mask)| Damage::Flip(i, mask)),
        1 => any::<usize>().prop_map(Damage::Cut),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(i, byte)| Damage::Insert(i, byte)),
        1 => any::<usize>().prop_map(Damage::Remove),
        1 => proptest::collection::vec(any::<u8>(), 0..300).prop_map(Damage::Replace),
    ]
}

/// A revocation list damaged in any way never brings its revoked certificate back: the
/// exchange refuses the list when it reads it, or the certificate when it meets it.
/// Nothing panics, and the PEM reader takes any text.
#[test]
fn no_damage_to_a_revocation_list_lets_its_revoked_certificate_through() {
    use proptest::prelude::*;
    let ca = Ca::new();
    let revoked = ca.issue(GEMEENTE, -1, 365);
    let pem = ca.revocation_list(&[&revoked]);
    let list = pki::revocation_lists(&pem, "test").unwrap().remove(0);
    // The list as signed takes effect: the oracle below is not vacuous.
    assert!(tls::check_identity(&revoked, &ca.trust_revoking(&pem)).is_err());
    let valid = ca.issue(RVIG, -1, 365);
    assert!(tls::check_identity(&valid, &ca.trust_revoking(&pem)).is_ok());
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let text = prop_oneof![
        ".{0,80}".boxed(),
        // PEM's markers without a partner, with other labels, around broken base64.
        (
            proptest::sample::select(vec![
                "-----BEGIN X509 CRL-----",
                "-----END X509 CRL-----",
                "-----BEGIN CERTIFICATE-----",
                "-----BEGIN X509 CRL-----\r\n"
            ]),
            "[A-Za-z0-9+/=\n]{0,60}",
            proptest::sample::select(vec![
                "",
                "-----END X509 CRL-----",
                "-----END CERTIFICATE-----"
            ]),
        )
            .prop_map(|(begin, body, end)| format!("{begin}\n{body}\n{end}"))
            .boxed(),
    ];
    proptest!(|(damage in damage(), text in text)| {
        let bytes = damage.apply(list.as_ref());
        prop_assume!(bytes != list.as_ref());
        let damaged = rustls::pki_types::CertificateRevocationListDer::from(bytes);
        pki::overdue_revocation_lists(std::slice::from_ref(&damaged), now);
        pki::earliest_next_update(std::slice::from_ref(&damaged));
        match ca.trust().with_revocation_lists(vec![damaged.clone()]) {
            // Refused when read, saying it is the list.
            Err(error) => prop_assert!(
                matches!(
                    error,
                    tls::TlsError::RevocationList(1)
                        | tls::TlsError::RevocationListSignature(1)
                        | tls::TlsError::RevocationListAlgorithm(1)
                        | tls::TlsError::Verifier(_)
                ),
                "{error}"
            ),
            Ok(trust) => {
                prop_assert!(trust.checks_revocation());
                prop_assert!(
                    tls::check_identity(&revoked, &trust).is_err(),
                    "{damage:?} brought the revoked certificate back"
                );
                prop_assert!(trust.refuses(&SentChain::new(revoked.chain.clone())));
            }
        }
        // In place of the list in force (its file changed): the revoked certificate stays
        // out. A copy refused when read leaves the list in force, so the CA's other
        // certificates keep working. (One taken in fails closed: a damaged issuer's name
        // leaves the CA without a list, so each of its certificates is refused until a
        // good list is back.)
        let in_force = ca.trust_revoking(&pem);
        let replaced = in_force.replace_revocation_lists(vec![damaged]);
        prop_assert!(tls::check_identity(&revoked, &in_force).is_err());
        if replaced.is_err() {
            prop_assert!(tls::check_identity(&valid, &in_force).is_ok(), "{replaced:?}");
        }
        // Any text: lists when it holds one, a clear error otherwise.
        // Text around the list is read past; a broken PEM block makes the file an error.
        let wrapped = format!("{text}\n{pem}");
        let found = pki::revocation_lists(&wrapped, "test").map(|l| l.len()).ok();
        if !text.contains("-----") {
            prop_assert_eq!(found, Some(1));
        }
        if pki::revocation_lists(&text, "test").is_ok() {
            prop_assert!(text.contains("-----BEGIN X509 CRL-----") && text.contains("-----END X509 CRL-----"));
        }
    });
}
