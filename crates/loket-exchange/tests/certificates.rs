//! Mutual TLS at the exchange with certificates out of their validity: an outway whose
//! certificate expired gets no connection to an inway, and an outway does not talk to an
//! inway whose certificate expired. Certificates from a CA made here, with rcgen.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use loket_exchange::pki::Identity;
use loket_exchange::tls;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::CertificateDer;
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
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, "test CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
        let key = KeyPair::generate().unwrap();
        let pem = params.clone().self_signed(&key).unwrap().pem();
        Self { params, key, pem }
    }

    fn anchors(&self) -> Vec<CertificateDer<'static>> {
        loket_exchange::pki::certificates(&self.pem, "test CA").unwrap()
    }

    /// A certificate for `oin` valid from `from` to `until` days from now.
    fn issue(&self, oin: &str, from: i64, until: i64) -> Identity {
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
        let now = OffsetDateTime::now_utc();
        params.not_before = now + Duration::days(from);
        params.not_after = now + Duration::days(until);
        let key = KeyPair::generate().unwrap();
        let issuer = self.params.clone().self_signed(&self.key).unwrap();
        let cert = params.signed_by(&key, &issuer, &self.key).unwrap();
        Identity::from_pem(&cert.pem(), "test", &key.serialize_pem(), "test").unwrap()
    }
}

/// An inway's TLS in front of a router that answers "ok"; its address.
async fn inway(identity: &Identity, anchors: &[CertificateDer<'static>]) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "https://localhost:{}/",
        listener.local_addr().unwrap().port()
    );
    let router = axum::Router::new().fallback(|| async { "ok" });
    tokio::spawn(loket_exchange::serve_tls(
        listener,
        tls::server_config(identity, anchors).unwrap(),
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
    let anchors = ca.anchors();
    let url = inway(&ca.issue(RVIG, -1, 365), &anchors).await;
    let valid = ca.issue(GEMEENTE, -1, 365);
    assert_eq!(
        ask(&url, tls::client_config(&valid, &anchors).unwrap())
            .await
            .unwrap(),
        "ok"
    );
    for (what, from, until) in [("expired", -30, -1), ("not yet valid", 1, 30)] {
        let outdated = ca.issue(GEMEENTE, from, until);
        assert!(
            ask(&url, tls::client_config(&outdated, &anchors).unwrap())
                .await
                .is_err(),
            "{what}"
        );
    }
}

#[tokio::test]
async fn an_outway_does_not_talk_to_an_inway_whose_certificate_expired() {
    let ca = Ca::new();
    let anchors = ca.anchors();
    let gemeente = ca.issue(GEMEENTE, -1, 365);
    let config = || tls::client_config_for(&gemeente, &anchors, RVIG).unwrap();
    let current = inway(&ca.issue(RVIG, -1, 365), &anchors).await;
    assert_eq!(ask(&current, config()).await.unwrap(), "ok");
    let expired = inway(&ca.issue(RVIG, -30, -1), &anchors).await;
    assert!(ask(&expired, config()).await.is_err());
}
