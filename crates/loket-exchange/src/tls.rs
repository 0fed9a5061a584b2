//! Mutual TLS between outways and inways: TLS 1.3 only, both sides present a certificate
//! that chains to the trust anchor, and the inway hands the verified peer certificate
//! to its handlers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use rustls::{ClientConfig, ServerConfig};
use rustls_pki_types::CertificateDer;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::pki::{Identity, PeerCertificate};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("invalid TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("invalid trust anchors or revocation lists: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
    #[error("revocation list {0} (counting from 1) cannot be read")]
    RevocationList(usize),
    #[error("revocation list {0} (counting from 1) is not signed by the CA it names")]
    RevocationListSignature(usize),
    #[error(
        "revocation list {0} (counting from 1) is signed with an algorithm that cannot be checked"
    )]
    RevocationListAlgorithm(usize),
}

pub use crate::trust::{SentChain, Trust};

pub(crate) fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Whether `identity` will be accepted by peers: its key belongs to its certificate, and
/// the certificate chains to the anchors, is valid now and is not revoked, as an inway
/// checks a client.
pub fn check_identity(identity: &Identity, trust: &Trust) -> Result<(), TlsError> {
    let key = provider()
        .key_provider
        .load_private_key(identity.key.clone_key())?;
    rustls::sign::CertifiedKey::new(identity.chain.clone(), key).keys_match()?;
    let verifier = trust.current().client_verifier.clone();
    let (leaf, intermediates) = identity
        .chain
        .split_first()
        .ok_or(rustls::Error::NoCertificatesPresented)?;
    verifier.verify_client_cert(leaf, intermediates, rustls_pki_types::UnixTime::now())?;
    Ok(())
}

/// An inway's TLS: its own certificate, and a client certificate required from everyone.
/// Its client check follows `trust` as it is at each handshake.
pub fn server_config(identity: &Identity, trust: &Trust) -> Result<Arc<ServerConfig>, TlsError> {
    let verifier = Arc::new(LiveClientCheck {
        hints: trust
            .current()
            .client_verifier
            .root_hint_subjects()
            .to_vec(),
        trust: trust.clone(),
    });
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(identity.chain.clone(), identity.key.clone_key())?;
    // A resumed session is not checked again: no resumption, so that every connection
    // is checked by the lists in force when it is made. Outways keep their connections,
    // so full handshakes stay rare.
    config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    Ok(Arc::new(config))
}

/// An outway's TLS: trusts only the anchors (and no revoked certificate) and presents its
/// organisation's certificate. No session is resumed: every connection is checked by the
/// revocation lists in force when it is made.
pub fn client_config(identity: &Identity, trust: &Trust) -> Result<ClientConfig, TlsError> {
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(LiveServerCheck {
            trust: trust.clone(),
            provider_oin: None,
            ends: None,
        }))
        .with_client_auth_cert(identity.chain.clone(), identity.key.clone_key())?;
    config.resumption = rustls::client::Resumption::disabled();
    Ok(config)
}

/// An outway's TLS towards one provider: as [`client_config`], and the inway must also
/// present a certificate with the provider's OIN. The directory's inway address is not
/// part of any signed contract; this way a changed address cannot lead elsewhere.
/// What the configuration's connections were made with is noted in the [`ServerEnds`]
/// it comes with.
pub fn client_config_for(
    identity: &Identity,
    trust: &Trust,
    provider_oin: &str,
) -> Result<(ClientConfig, Arc<ServerEnds>), TlsError> {
    let ends = Arc::new(ServerEnds(AtomicI64::new(i64::MAX)));
    let verifier = Arc::new(LiveServerCheck {
        trust: trust.clone(),
        provider_oin: Some(provider_oin.to_owned()),
        ends: Some(ends.clone()),
    });
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_auth_cert(identity.chain.clone(), identity.key.clone_key())?;
    config.resumption = rustls::client::Resumption::disabled();
    Ok((config, ends))
}

/// When the first certificate ends that a server sent on any of a client's connections.
/// A handshake checks a server's certificates once; a connection kept open for reuse
/// must not outlive them, so its client is replaced once one has ended.
#[derive(Debug)]
pub struct ServerEnds(AtomicI64);

impl ServerEnds {
    /// Whether a certificate a server sent on one of the connections has ended.
    pub fn passed(&self) -> bool {
        crate::trust::unix_now() >= self.0.load(Ordering::Acquire)
    }

    /// The first moment (unix seconds) one of them is past its end, if any was sent.
    pub fn first(&self) -> Option<i64> {
        Some(self.0.load(Ordering::Acquire)).filter(|end| *end < i64::MAX)
    }
}

/// An inway's check of a client: the usual one, with the trust as it is now.
#[derive(Debug)]
struct LiveClientCheck {
    trust: Trust,
    /// The anchors' names (the anchors do not change while running).
    hints: Vec<rustls::DistinguishedName>,
}

impl rustls::server::danger::ClientCertVerifier for LiveClientCheck {
    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        &self.hints
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: rustls_pki_types::UnixTime,
    ) -> Result<rustls::server::danger::ClientCertVerified, rustls::Error> {
        self.trust
            .current()
            .client_verifier
            .verify_client_cert(end_entity, intermediates, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.trust
            .current()
            .client_verifier
            .verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.trust
            .current()
            .client_verifier
            .verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.trust
            .current()
            .client_verifier
            .supported_verify_schemes()
    }
}

/// An outway's check of an inway: the usual one, with the trust as it is now, and then,
/// towards one provider: is it that provider's certificate?
#[derive(Debug)]
struct LiveServerCheck {
    trust: Trust,
    provider_oin: Option<String>,
    /// Where the ends of the certificates of accepted servers are noted, if anywhere.
    ends: Option<Arc<ServerEnds>>,
}

impl rustls::client::danger::ServerCertVerifier for LiveServerCheck {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &rustls_pki_types::ServerName<'_>,
        ocsp_response: &[u8],
        now: rustls_pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        let verified = self.trust.current().server_verifier.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )?;
        let Some(oin) = &self.provider_oin else {
            return Ok(verified);
        };
        match PeerCertificate::parse(end_entity) {
            Ok(peer) if peer.oin.as_str() == oin => {}
            _ => {
                return Err(rustls::Error::InvalidCertificate(
                    rustls::CertificateError::ApplicationVerificationFailure,
                ));
            }
        }
        if let Some(ends) = &self.ends {
            // The server's own certificate, and of the others those that had not ended
            // at the check: one sent besides that had is off the verified path, and
            // would otherwise end every kept connection at once.
            let checked_at = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
            let end = intermediates
                .iter()
                .map(|der| crate::trust::first_end(std::iter::once(der)))
                .filter(|end| *end > checked_at)
                .chain(std::iter::once(crate::trust::first_end(std::iter::once(
                    end_entity,
                ))))
                .min()
                .unwrap_or(i64::MAX);
            ends.0.fetch_min(end, Ordering::AcqRel);
        }
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.trust
            .current()
            .server_verifier
            .verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.trust
            .current()
            .server_verifier
            .verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.trust
            .current()
            .server_verifier
            .supported_verify_schemes()
    }
}

/// A client configuration that trusts no server, for a client that only speaks plain
/// HTTP (an inway to the registers inside its own network).
pub(crate) fn trusting_no_server() -> Result<ClientConfig, TlsError> {
    Ok(ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth())
}

/// A handshake that takes longer than this is dropped, so slow clients cannot pile up.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A listener for `axum::serve` that completes TLS handshakes off the accept loop.
#[derive(Debug)]
pub struct TlsListener {
    local: SocketAddr,
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
}

impl TlsListener {
    pub fn new(listener: TcpListener, config: Arc<ServerConfig>) -> std::io::Result<Self> {
        let local = listener.local_addr()?;
        let (sender, ready) = mpsc::channel(256);
        let acceptor = TlsAcceptor::from(config);
        tokio::spawn(async move {
            loop {
                let (stream, remote) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                if sender.is_closed() {
                    return;
                }
                let acceptor = acceptor.clone();
                let sender = sender.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = sender.send((tls, remote)).await;
                        }
                        Ok(Err(error)) => {
                            tracing::info!(%remote, %error, "TLS handshake refused");
                        }
                        Err(_) => tracing::info!(%remote, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(Self { local, ready })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(accepted) => accepted,
            // The accept loop only ends when we are dropped; wait for shutdown.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// The verified client certificate of a connection, for handlers (`ConnectInfo<Peer>`).
#[derive(Debug, Clone)]
pub struct Peer {
    pub remote: SocketAddr,
    /// Shared, so that handing it to each request copies nothing.
    pub certificate: Option<Arc<PeerCertificate>>,
    /// The chain as the client sent it, to check again when the trust changes while the
    /// connection stays open ([`Trust::refuses`]).
    pub sent: Option<Arc<SentChain>>,
}

impl Connected<IncomingStream<'_, TlsListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Self {
        let (_, connection) = stream.io().get_ref();
        let chain = connection.peer_certificates().unwrap_or_default();
        let certificate = chain
            .first()
            .and_then(|leaf| PeerCertificate::parse(leaf).ok())
            .map(Arc::new);
        let sent = certificate
            .is_some()
            .then(|| Arc::new(SentChain::new(chain.to_vec())));
        Self {
            remote: *stream.remote_addr(),
            certificate,
            sent,
        }
    }
}
