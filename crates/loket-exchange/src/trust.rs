//! What every certificate of the exchange is checked against, in one place: the trust
//! anchors, and the certificate revocation lists (CRLs) of the CAs that issue peers'
//! certificates. A CA's new list replaces the old one while the exchange runs: every
//! clone of a [`Trust`] sees it at once (the inway's handshakes and its requests on open
//! connections, the outway's connections, the manager's next check).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use rustls::RootCertStore;
use rustls::client::WebPkiServerVerifier;
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer};

use crate::tls::{TlsError, provider};

/// The anchors and revocation lists in force, shared by its clones. With revocation
/// lists, an organisation's certificate must be on none of them, and one whose issuer has
/// no list here is refused too (its status is unknown: fail closed); without any,
/// revocation is not checked. Only the organisation's own certificate is looked up,
/// unless the whole chain is checked ([`Trust::checking_whole_chains`]): then every CA
/// between it and the anchor too, and each of their issuers needs a list here. A list
/// past its `nextUpdate` still counts, unless overdue lists are refused
/// ([`Trust::refusing_overdue_lists`]): then its CA's certificates have an unknown status
/// until a current list takes its place.
#[derive(Clone)]
pub struct Trust {
    shared: Arc<Shared>,
}

struct Shared {
    current: RwLock<Arc<TrustSet>>,
    /// Raised at every replacement, so that users can tell their checks are stale.
    version: AtomicU64,
    /// Held from reading the set in force to putting its successor in place, so that
    /// two changes at once cannot undo each other (an older list put back).
    changing: Mutex<()>,
}

/// One set of anchors and lists, with the checks built from them once.
pub(crate) struct TrustSet {
    anchors: Vec<CertificateDer<'static>>,
    lists: Vec<Keyed>,
    checks: Checks,
    /// When refusing overdue lists: the earliest `nextUpdate` (unix seconds) of the lists
    /// that still count, when this set must be built again without that list.
    counts_until: Option<i64>,
    /// How an inway checks a client, and a manager a certificate in the directory.
    pub(crate) client_verifier: Arc<dyn ClientCertVerifier>,
    /// How an outway checks an inway.
    pub(crate) server_verifier: Arc<WebPkiServerVerifier>,
}

/// What the lists are asked, beyond the organisation's own certificate.
#[derive(Debug, Clone, Copy, Default)]
struct Checks {
    /// Whether the CAs in a chain are looked up too.
    whole_chain: bool,
    /// Whether a list past its `nextUpdate` stops counting.
    refuse_overdue: bool,
}

impl TrustSet {
    /// The checks from `anchors` and `lists`, as they count at `now` (unix seconds).
    fn build(
        anchors: Vec<CertificateDer<'static>>,
        lists: Vec<Keyed>,
        checks: Checks,
        now: i64,
    ) -> Result<Self, TlsError> {
        let ders = || lists.iter().map(|keyed| keyed.der.clone());
        let mut roots = RootCertStore::empty();
        for anchor in &anchors {
            roots.add(anchor.clone())?;
        }
        let roots = Arc::new(roots);
        let client = WebPkiClientVerifier::builder_with_provider(roots.clone(), provider());
        let server = WebPkiServerVerifier::builder_with_provider(roots, provider());
        let (client, server) = match (lists.is_empty(), checks.whole_chain) {
            (true, _) => (client, server),
            (false, true) => (client.with_crls(ders()), server.with_crls(ders())),
            (false, false) => (
                client.with_crls(ders()).only_check_end_entity_revocation(),
                server.with_crls(ders()).only_check_end_entity_revocation(),
            ),
        };
        let (client, server) = if checks.refuse_overdue {
            (
                client.enforce_revocation_expiration(),
                server.enforce_revocation_expiration(),
            )
        } else {
            (client, server)
        };
        // The moment the next list stops counting (the checks themselves read the time).
        let counts_until = lists
            .iter()
            .filter_map(|keyed| keyed.next_update)
            .filter(|next| now < *next)
            .min()
            .filter(|_| checks.refuse_overdue);
        Ok(Self {
            client_verifier: client.build()?,
            server_verifier: server.build()?,
            anchors,
            lists,
            checks,
            counts_until,
        })
    }
}

/// A revocation list, with what tells it from the other lists of its CA.
#[derive(Clone, PartialEq, Eq)]
struct Keyed {
    der: CertificateRevocationListDer<'static>,
    /// Which certificates it speaks for: its issuer's name and, for a CA that splits its
    /// lists, its issuing distribution point.
    scope: Vec<u8>,
    /// Which of two lists of one scope is newer: `thisUpdate`, then `crlNumber`.
    issued: (i64, Vec<u8>),
    /// When the CA promised the next list (unix seconds), if it did.
    next_update: Option<i64>,
}

impl Keyed {
    /// `der`, the `index`th list given (from 0).
    fn parse(
        index: usize,
        der: CertificateRevocationListDer<'static>,
        anchors: &[CertificateDer<'static>],
    ) -> Result<Self, TlsError> {
        let (_, list) = x509_parser::parse_x509_crl(der.as_ref())
            .map_err(|_| TlsError::RevocationList(index + 1))?;
        check_signature(index, &list, anchors)?;
        let mut scope = list.issuer().as_raw().to_vec();
        if let Some(point) = list.extensions().iter().find(|extension| {
            extension.oid == x509_parser::oid_registry::OID_X509_EXT_ISSUER_DISTRIBUTION_POINT
        }) {
            scope.extend_from_slice(point.value);
        }
        let number = list
            .crl_number()
            .map(|n| n.to_bytes_be())
            .unwrap_or_default();
        // Big-endian without leading zeros: the longer number is the larger.
        let issued = (list.last_update().timestamp(), number);
        let next_update = list.next_update().map(|next| next.timestamp());
        Ok(Self {
            der,
            scope,
            issued,
            next_update,
        })
    }

    fn newer_than(&self, other: &Self) -> bool {
        let key = |keyed: &Self| (keyed.issued.0, keyed.issued.1.len(), keyed.issued.1.clone());
        key(self) > key(other)
    }
}

/// Checked when a list is given: when an anchor is its signer (the issuer's name and,
/// where both say it, the key's identifier match), the list must carry that anchor's
/// signature. So a damaged copy is refused then and the list in force stays; taken in, it
/// would shut out every certificate of its CA at the next handshake. A list whose signer
/// the trust does not hold (an issuing CA below the anchors, or a CA re-keyed under its
/// old root) is checked at each handshake instead, against the chain the peer sends, and
/// so is what this check does not cover (a signer's key usage, a hash the handshake no
/// longer accepts): such a list fails closed there.
fn check_signature(
    index: usize,
    list: &x509_parser::revocation_list::CertificateRevocationList<'_>,
    anchors: &[CertificateDer<'static>],
) -> Result<(), TlsError> {
    use x509_parser::extensions::ParsedExtension;
    let list_key = list
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(aki) => {
                aki.key_identifier.as_ref().map(|k| k.0)
            }
            _ => None,
        });
    let (mut signer_held, mut unsupported) = (false, false);
    for anchor in anchors {
        let Ok((_, anchor)) = x509_parser::parse_x509_certificate(anchor.as_ref()) else {
            continue;
        };
        if anchor.subject().as_raw() != list.issuer().as_raw() {
            continue;
        }
        let anchor_key = anchor
            .extensions()
            .iter()
            .find_map(|e| match e.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(key) => Some(key.0),
                _ => None,
            });
        if let (Some(list_key), Some(anchor_key)) = (list_key, anchor_key)
            && list_key != anchor_key
        {
            continue;
        }
        signer_held = true;
        match list.verify_signature(anchor.public_key()) {
            Ok(()) => return Ok(()),
            Err(x509_parser::error::X509Error::SignatureUnsupportedAlgorithm) => {
                unsupported = true;
            }
            Err(_) => {}
        }
    }
    match (signer_held, unsupported) {
        (false, _) => Ok(()),
        (true, true) => Err(TlsError::RevocationListAlgorithm(index + 1)),
        (true, false) => Err(TlsError::RevocationListSignature(index + 1)),
    }
}

/// Of the lists of one scope, only the newest: a check takes the first list whose issuer
/// matches, so an older one left beside the new (a file appended to, say) would hide
/// every certificate revoked since.
fn newest_per_scope(
    lists: Vec<CertificateRevocationListDer<'static>>,
    anchors: &[CertificateDer<'static>],
) -> Result<Vec<Keyed>, TlsError> {
    let mut newest: Vec<Keyed> = Vec::new();
    for (index, der) in lists.into_iter().enumerate() {
        let keyed = Keyed::parse(index, der, anchors)?;
        match newest.iter_mut().find(|kept| kept.scope == keyed.scope) {
            Some(kept) if keyed.newer_than(kept) => *kept = keyed,
            Some(_) => {}
            None => newest.push(keyed),
        }
    }
    Ok(newest)
}

impl Trust {
    /// Certificates from `anchors`; no revocation lists yet.
    pub fn new(anchors: Vec<CertificateDer<'static>>) -> Result<Self, TlsError> {
        let set = TrustSet::build(anchors, Vec::new(), Checks::default(), unix_now())?;
        Ok(Self {
            shared: Arc::new(Shared {
                current: RwLock::new(Arc::new(set)),
                version: AtomicU64::new(0),
                changing: Mutex::new(()),
            }),
        })
    }

    /// Look up every CA of a chain in the lists too, not only the organisation's own
    /// certificate: a revoked CA then refuses everything it issued, and every CA's issuer
    /// needs a list here (a root's for the CAs below it, and so on).
    pub fn checking_whole_chains(self) -> Result<Self, TlsError> {
        self.with_checks(|checks| Checks {
            whole_chain: true,
            ..checks
        })
    }

    /// Let a list past its `nextUpdate` count no more (checked at every handshake, and
    /// for requests on connections opened before once [`Trust::refresh`] moved the
    /// version on): its CA's certificates are refused until a current list is in place.
    pub fn refusing_overdue_lists(self) -> Result<Self, TlsError> {
        self.with_checks(|checks| Checks {
            refuse_overdue: true,
            ..checks
        })
    }

    /// The same anchors and lists, with the checks `change` makes of the ones in force.
    fn with_checks(self, change: impl FnOnce(Checks) -> Checks) -> Result<Self, TlsError> {
        let changing = self.changing();
        let current = self.current();
        let checks = change(current.checks);
        self.put(
            &changing,
            &current,
            current.lists.clone(),
            checks,
            unix_now(),
        )?;
        drop(changing);
        Ok(self)
    }

    /// Whether a list past its `nextUpdate` counts no more.
    pub fn refuses_overdue_lists(&self) -> bool {
        self.current().checks.refuse_overdue
    }

    /// When refusing overdue lists: once a list's `nextUpdate` has come by `now` (unix
    /// seconds), move the version on, so that requests on connections opened before are
    /// checked again ([`Trust::refuses`]), outways drop their connections and managers
    /// check again. Returns whether it did. Handshakes need no refresh: they read the
    /// time themselves.
    pub fn refresh(&self, now: i64) -> Result<bool, TlsError> {
        let changing = self.changing();
        let current = self.current();
        if current.counts_until.is_none_or(|until| now < until) {
            return Ok(false);
        }
        self.put(
            &changing,
            &current,
            current.lists.clone(),
            current.checks,
            now,
        )?;
        Ok(true)
    }

    /// Who changes the set in force holds this until the new one is in place.
    fn changing(&self) -> MutexGuard<'_, ()> {
        self.shared
            .changing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Put a set built from `current`'s anchors, `lists` and `checks` in force, and move
    /// the version on. The caller holds `changing` since it read `current`.
    fn put(
        &self,
        _changing: &MutexGuard<'_, ()>,
        current: &TrustSet,
        lists: Vec<Keyed>,
        checks: Checks,
        now: i64,
    ) -> Result<(), TlsError> {
        let set = Arc::new(TrustSet::build(
            current.anchors.clone(),
            lists,
            checks,
            now,
        )?);
        match self.shared.current.write() {
            Ok(mut current) => *current = set,
            Err(poisoned) => *poisoned.into_inner() = set,
        }
        self.shared.version.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    /// Also refuse the certificates on `lists`; each must parse.
    pub fn with_revocation_lists(
        self,
        lists: Vec<CertificateRevocationListDer<'static>>,
    ) -> Result<Self, TlsError> {
        self.replace_revocation_lists(lists)?;
        Ok(self)
    }

    /// Put `lists` in place of the revocation lists in force, for every clone; returns
    /// whether anything changed. Lists that do not parse, or that an anchor they name did
    /// not sign, leave the ones in force as they are. A list older than the one in force for its scope (a stale copy fetched again)
    /// does not take its place: that would bring back certificates revoked since.
    pub fn replace_revocation_lists(
        &self,
        lists: Vec<CertificateRevocationListDer<'static>>,
    ) -> Result<bool, TlsError> {
        // The anchors never change: check the lists before taking the lock.
        let mut lists = newest_per_scope(lists, &self.current().anchors)?;
        let changing = self.changing();
        let current = self.current();
        for list in &mut lists {
            if let Some(in_force) = current
                .lists
                .iter()
                .find(|in_force| in_force.scope == list.scope && in_force.newer_than(list))
            {
                tracing::error!(
                    "a revocation list older than the one in force for its CA was given: the one in force stays"
                );
                *list = in_force.clone();
            }
        }
        if lists == current.lists {
            return Ok(false);
        }
        self.put(&changing, &current, lists, current.checks, unix_now())?;
        Ok(true)
    }

    pub(crate) fn current(&self) -> Arc<TrustSet> {
        match self.shared.current.read() {
            Ok(current) => current.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Moves on whenever the revocation lists are replaced.
    pub fn version(&self) -> u64 {
        self.shared.version.load(Ordering::Acquire)
    }

    /// The revocation lists in force.
    pub fn revocation_lists(&self) -> Vec<CertificateRevocationListDer<'static>> {
        self.current()
            .lists
            .iter()
            .map(|keyed| keyed.der.clone())
            .collect()
    }

    /// Whether every CA of a chain is looked up too.
    pub fn checks_whole_chains(&self) -> bool {
        self.current().checks.whole_chain
    }

    /// Whether revocation is checked at all.
    pub fn checks_revocation(&self) -> bool {
        !self.current().lists.is_empty()
    }

    /// Whether the trust in force refuses a client whose connection was opened (or TLS
    /// session begun) before it: `sent` is checked again, as a handshake would be now
    /// (revocation, whole chains, overdue lists alike), once for each version of the
    /// trust it meets, and on every request once a certificate it sent has ended.
    /// Without revocation lists, until then, nothing is refused: the handshake's check
    /// stands. On most requests: the clock and two atomic reads.
    pub fn refuses(&self, sent: &SentChain) -> bool {
        // Past the end of a certificate it sent, the chain is checked again on every
        // request: one on its path has ended (one off its path, sent besides, changes
        // nothing).
        let past_an_end = unix_now() >= sent.first_end;
        let version = self.version();
        let last = sent.checked.load(Ordering::Acquire);
        if !past_an_end && last >> 1 == version + 1 {
            return last & 1 == 1;
        }
        let current = self.current();
        let refused = (past_an_end || !current.lists.is_empty()) && {
            let (end_entity, intermediates) = sent.chain.split_first().unzip();
            end_entity.is_none_or(|end_entity| {
                current
                    .client_verifier
                    .verify_client_cert(
                        end_entity,
                        intermediates.unwrap_or_default(),
                        rustls_pki_types::UnixTime::now(),
                    )
                    .is_err()
            })
        };
        // Under the version read before the check: a newer one is checked again.
        sent.checked
            .store(((version + 1) << 1) | u64::from(refused), Ordering::Release);
        refused
    }
}

/// The certificate chain a client sent in its handshake, kept with the connection, and
/// the outcome of its last check ([`Trust::refuses`]).
#[derive(Debug)]
pub struct SentChain {
    chain: Vec<CertificateDer<'static>>,
    /// 0: not checked since the handshake; else (version + 1) << 1 | refused.
    checked: AtomicU64,
    /// The first moment (unix seconds) one of its certificates is past its `notAfter`.
    first_end: i64,
}

impl SentChain {
    pub fn new(chain: Vec<CertificateDer<'static>>) -> Self {
        Self {
            first_end: first_end(&chain),
            checked: AtomicU64::new(0),
            chain,
        }
    }
}

/// The first moment (unix seconds) one of `chain`'s certificates is past its `notAfter`;
/// `i64::MAX` for none (a certificate that does not parse was refused at the handshake).
pub(crate) fn first_end<'a, 'b: 'a>(
    chain: impl IntoIterator<Item = &'a CertificateDer<'b>>,
) -> i64 {
    chain
        .into_iter()
        .filter_map(|der| x509_parser::parse_x509_certificate(der.as_ref()).ok())
        .map(|(_, certificate)| {
            certificate
                .validity()
                .not_after
                .timestamp()
                .saturating_add(1)
        })
        .min()
        .unwrap_or(i64::MAX)
}

impl fmt::Debug for Trust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let current = self.current();
        f.debug_struct("Trust")
            .field("anchors", &current.anchors.len())
            .field("revocation_lists", &current.lists.len())
            .field("version", &self.version())
            .finish()
    }
}

pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
        })
}
