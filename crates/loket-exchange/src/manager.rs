//! The manager: the directory (peers and their services), contracts and their
//! signatures, and the policy the outways and inways enforce, rebuilt in memory after
//! every change.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use loket_logboek::Activities;
use loket_store::{Database, StoreError};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::checks::{self, Flaw};
use crate::contract::{
    self, ConnectionProperties, ContractContent, ContractError, Grant, GrantData, HASH_ALGORITHM,
    OutwayRef, PeerRef, ServicePublication, ServiceRef, SignatureKind, Validity,
};
use crate::documents::{Documents, Kind, Write};
use crate::journal::Journal;
use crate::pki::{Identity, PeerCertificate};
use crate::revocations::SeenRevocations;
use crate::tls::Trust;

/// The demo's FSC group, and the default of `exchange.group_id`.
pub const GROUP_ID: &str = "loket.voorbeeldstad.example";

/// Whether `id` can be an FSC group id: 1 to 100 of a-z, 0-9, `.` and `-` (a domain-like
/// name, as FSC's examples have it), so it reads the same in every peer's contracts.
pub fn is_group_id(id: &str) -> bool {
    (1..=100).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
}

/// An organisation in the directory, with the certificate its signatures are checked by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerEntry {
    pub oin: String,
    pub name: String,
    pub certificate_pem: String,
    /// Certificates it had before, with other keys, while it moves its signatures to a
    /// new key ([`Manager::enter`]): what it signed with them counts while they are
    /// valid, so no contract lapses in between.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub earlier_certificates_pem: Vec<String>,
}

/// How many earlier certificates an organisation keeps in the directory: a renewal
/// overlaps the old certificate for a while, not for years.
const EARLIER_CERTIFICATES: usize = 3;

impl PeerEntry {
    /// Its certificate and the earlier ones.
    fn certificates_pem(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.certificate_pem.as_str())
            .chain(self.earlier_certificates_pem.iter().map(String::as_str))
    }
}

/// FSC service names: 3 to 255 characters; we keep them to URL path–safe ones
/// (`^[a-z0-9-]{3,255}$`), since the outway takes the name from the path.
pub fn is_service_name(name: &str) -> bool {
    (3..=255).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A service as the directory lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceEntry {
    pub name: String,
    pub peer_id: String,
    /// Where outways reach it: the provider's inway (`https://host:port`).
    pub inway: String,
    /// The service's OpenAPI document, relative to the inway.
    pub openapi: String,
    /// The path, inside each answered item, of the data subject's BSN (e.g.
    /// `burgerservicenummer`, `tenaamstelling.burgerservicenummer`): the inway reads it to
    /// log whose data it returned, and asks for it when the consumer did not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_field: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredSignature {
    contract_hash: String,
    peer_id: String,
    kind: SignatureKind,
    jws: String,
}

/// Where a contract stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ContractState {
    /// Not every party has accepted yet.
    Proposed,
    /// Accepted by every party; its validity period has not begun.
    Upcoming,
    Active,
    Revoked,
    Expired,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContractView {
    pub hash: String,
    pub state: ContractState,
    pub content: ContractContent,
    pub accepted_by: Vec<String>,
    pub revoked_by: Vec<String>,
    pub grant_hashes: Vec<String>,
}

/// A connection grant in force (apart from its validity period, checked per request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub grant_hash: String,
    pub contract_hash: String,
    pub validity: Validity,
    pub consumer: String,
    pub thumbprint: String,
    pub provider: String,
    pub service: String,
    pub processing_activities: Vec<String>,
    pub fields: Option<Vec<String>>,
}

impl Connection {
    pub fn valid_at(&self, now: OffsetDateTime) -> bool {
        let now = now.unix_timestamp();
        self.validity.not_before <= now && now < self.validity.not_after
    }

    /// May the consumer ask for `field`? Allowed are the granted paths and all below them.
    pub fn allows_field(&self, field: &str) -> bool {
        self.fields.as_ref().is_none_or(|granted| {
            granted.iter().any(|g| {
                field == g
                    || field
                        .strip_prefix(g.as_str())
                        .is_some_and(|rest| rest.starts_with('.'))
            })
        })
    }
}

/// What the outways and inways enforce: built from the documents, never from a request.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub peers: HashMap<String, PeerEntry>,
    /// Services with an active publication contract, by name.
    pub services: HashMap<String, ServiceEntry>,
    /// Each of those services' inway address, parsed (left out when it does not parse:
    /// then the outway cannot reach it).
    pub inways: HashMap<String, http::Uri>,
    /// Connection grants of accepted, unrevoked contracts (also expired and upcoming
    /// ones, so the refusal can say so), by grant hash.
    pub connections: HashMap<String, Connection>,
    pub contracts: Vec<ContractView>,
    /// When a directory certificate becomes valid or stops being valid: its
    /// organisation's signatures then start or stop counting.
    certificate_changes: Vec<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum ManagerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Contract(#[from] ContractError),
    #[error("unknown peer {0}")]
    UnknownPeer(String),
    #[error("unknown service {0}")]
    UnknownService(String),
    #[error("the service {service} is published by {peer}")]
    ServiceTaken { service: String, peer: String },
    #[error("unknown contract {0}")]
    UnknownContract(String),
    #[error("peer {0} is not a party to this contract")]
    NotAParty(String),
    #[error("the certificate of peer {0} cannot be read")]
    Certificate(String),
    #[error("the certificate of peer {0} does not carry the OIN it is entered under")]
    Untrusted(String),
    #[error("the certificate of peer {peer} is refused: {reason}")]
    Refused { peer: String, reason: String },
    #[error("{0:?} is not an FSC group id (1 to 100 of a-z, 0-9, . and -)")]
    Group(String),
    #[error("a connection grant needs at least one processing activity")]
    NoActivity,
    #[error("{0} is not in the register of processing activities")]
    UnknownActivity(String),
    #[error(
        "contract {0} is no connection in force of this organisation's outway under another key"
    )]
    NothingToRequestAgain(String),
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<Flaw>),
}

/// The exchange manager: documents in the database, policy in memory.
#[derive(Debug, Clone)]
pub struct Manager {
    documents: Documents,
    /// The OIN of the organisation that keeps this directory: only publications it
    /// accepted put a service in the directory.
    directory_keeper: Arc<str>,
    /// The FSC group this directory's contracts belong to; a contract of any other
    /// grants nothing here.
    group: Arc<str>,
    /// Whoever can write the directory's database could enter any certificate: only one
    /// that chains to the trust anchors and is not revoked, with the OIN it is entered
    /// under, counts.
    trust: Trust,
    policy: Arc<RwLock<Arc<Policy>>>,
    /// What the policy in force was built from, so a periodic check can tell whether
    /// building it again would change anything.
    built: Arc<Mutex<Option<Built>>>,
    /// One rebuild at a time: two at once could finish in the wrong order, and the one
    /// built from older documents (before a revocation, say) would stay in force.
    rebuilding: Arc<tokio::sync::Mutex<()>>,
    /// Contracts this organisation has seen validly revoked, here and in its own
    /// storage. A revocation is a document in a database others can write to; one that
    /// disappears does not bring its contract back, not even after a restart.
    revoked: Arc<Mutex<std::collections::HashSet<String>>>,
    seen: SeenRevocations,
    /// What the organisation itself signed and the certificates it entered, in its own
    /// storage: after a renewal with a new key it signs again only what it signed.
    journal: Journal,
    /// Seen revoked, not yet in the organisation's storage (it could not be written).
    unsaved: Arc<Mutex<Vec<String>>>,
    /// What the rebuilds have warned about (a document and what is wrong with it): each
    /// once, not at every rebuild.
    warned: Arc<Mutex<std::collections::HashSet<String>>>,
}

/// The documents' revision a policy was built from, and the first moment its contracts'
/// states can change by the clock alone (a validity period starting or ending).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Built {
    revision: i64,
    until: i64,
    /// The trust's version it was checked with: new revocation lists build it again.
    trust: u64,
}

impl Built {
    fn still_current(self, revision: i64, now: i64, trust: u64) -> bool {
        self.revision == revision && now < self.until && self.trust == trust
    }
}

impl Manager {
    /// The directory and contracts in `database`, kept by the organisation whose OIN is
    /// `directory_keeper`, among organisations whose certificates `trust` accepts;
    /// `own` is the organisation's own storage ([`crate::REVOCATIONS_SCHEMA`]), where it
    /// keeps the contracts it has seen revoked.
    pub async fn open(
        database: &Database,
        directory_keeper: &str,
        trust: &Trust,
        own: &Database,
    ) -> Result<Self, ManagerError> {
        Self::open_in_group(GROUP_ID, database, directory_keeper, trust, own).await
    }

    /// [`Manager::open`] for the contracts of the FSC group `group`.
    pub async fn open_in_group(
        group: &str,
        database: &Database,
        directory_keeper: &str,
        trust: &Trust,
        own: &Database,
    ) -> Result<Self, ManagerError> {
        if !is_group_id(group) {
            return Err(ManagerError::Group(group.to_owned()));
        }
        let seen = SeenRevocations::new(own);
        let manager = Self {
            documents: Documents::new(database),
            directory_keeper: directory_keeper.into(),
            group: group.into(),
            trust: trust.clone(),
            policy: Arc::default(),
            built: Arc::default(),
            rebuilding: Arc::default(),
            revoked: Arc::new(Mutex::new(seen.all().await?)),
            seen,
            journal: Journal::new(own),
            unsaved: Arc::default(),
            warned: Arc::default(),
        };
        manager.reload().await?;
        Ok(manager)
    }

    /// The policy in force now (a snapshot; cheap to take per request).
    pub fn policy(&self) -> Arc<Policy> {
        match self.policy.read() {
            Ok(policy) => policy.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Rebuild the policy from the stored documents.
    pub async fn reload(&self) -> Result<Arc<Policy>, ManagerError> {
        let policy = self.rebuild().await?;
        // After the policy is in force and out of the rebuilds' turn: a slow storage
        // holds up neither a revocation nor the next rebuild.
        self.save_seen_revocations().await;
        Ok(policy)
    }

    async fn rebuild(&self) -> Result<Arc<Policy>, ManagerError> {
        let _turn = self.rebuilding.lock().await;
        // Read before the documents: a change made while building raises it past what
        // is recorded here, so the next check builds again.
        let mut revision = self.documents.revision().await?;
        // Read before too: lists replaced while building make the next check build again.
        let trust = self.trust.version();
        // Also before: a validity period that begins or ends while building is still
        // ahead of this moment, so the next check builds again.
        let mut now = OffsetDateTime::now_utc().unix_timestamp();
        let mut policy = Arc::new(self.build().await?);
        // The documents are read in several statements: a change between them (a
        // certificate and the signatures it makes, say) could be seen half. Built again
        // until the revision held still throughout, a few times at most.
        for _ in 0..3 {
            let after = self.documents.revision().await?;
            if after == revision {
                break;
            }
            // A build that fails now keeps the one before: it read documents that were
            // there, and the next check builds again.
            let at = OffsetDateTime::now_utc().unix_timestamp();
            let Ok(again) = self.build().await else {
                break;
            };
            (revision, now, policy) = (after, at, Arc::new(again));
        }
        let built = Built {
            revision,
            until: next_change_by_clock(&policy, now),
            trust,
        };
        match self.policy.write() {
            Ok(mut current) => *current = policy.clone(),
            Err(poisoned) => *poisoned.into_inner() = policy.clone(),
        }
        *lock(&self.built) = Some(built);
        Ok(policy)
    }

    /// Rebuild the policy only if the documents changed since it was built, or a
    /// contract's validity period began or ended. Returns whether it rebuilt.
    pub async fn refresh(&self) -> Result<bool, ManagerError> {
        let revision = self.documents.revision().await?;
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let trust = self.trust.version();
        if lock(&self.built).is_some_and(|built| built.still_current(revision, now, trust)) {
            // Revocations that could not be kept last time.
            self.save_seen_revocations().await;
            return Ok(false);
        }
        self.reload().await?;
        Ok(true)
    }

    /// Whether this is the first time a rebuild finds `what` wrong with the document `key`.
    fn first_warning(&self, key: &str, what: &str) -> bool {
        lock(&self.warned).insert(format!("{key} {what}"))
    }

    /// Keep the revocations seen since the last time in the organisation's storage. One
    /// that cannot be written now is tried again at the next check; it holds in memory
    /// meanwhile.
    async fn save_seen_revocations(&self) {
        let unsaved = std::mem::take(&mut *lock(&self.unsaved));
        if unsaved.is_empty() {
            return;
        }
        let now_ms = OffsetDateTime::now_utc().unix_timestamp() * 1000;
        if let Err(error) = self.seen.add(&unsaved, now_ms).await {
            tracing::error!(%error, contracts = unsaved.len(), "cannot keep revoked contracts in the organisation's storage; trying again");
            lock(&self.unsaved).extend(unsaved);
        }
    }

    async fn build(&self) -> Result<Policy, ManagerError> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let mut peers: HashMap<String, PeerEntry> = HashMap::new();
        let mut certificates: HashMap<String, Vec<PeerCertificate>> = HashMap::new();
        let mut certificate_changes = Vec::new();
        for (key, peer) in self.documents.list::<PeerEntry>(Kind::Peer).await? {
            for pem in peer.certificates_pem() {
                certificate_changes.extend(crate::pki::validity_changes(pem));
            }
            match self.trusted(&key, &peer) {
                Ok(certificate) => {
                    // An earlier certificate counts as long as it is valid itself.
                    let earlier = peer
                        .earlier_certificates_pem
                        .iter()
                        .filter_map(|pem| self.trusted_pem(&key, pem).ok());
                    certificates.insert(
                        key.clone(),
                        std::iter::once(certificate).chain(earlier).collect(),
                    );
                    peers.insert(key, peer);
                }
                Err(error) => {
                    if self.first_warning(&key, "untrusted") {
                        tracing::warn!(peer = %key, %error, "a directory entry's certificate is not trusted; ignored");
                    }
                }
            }
        }
        let listed: HashMap<String, ServiceEntry> = self.documents.map(Kind::Service).await?;
        let mut signatures: HashMap<String, Vec<StoredSignature>> = HashMap::new();
        for (_, signature) in self
            .documents
            .list::<StoredSignature>(Kind::Signature)
            .await?
        {
            signatures
                .entry(signature.contract_hash.clone())
                .or_default()
                .push(signature);
        }
        let mut policy = Policy {
            peers: peers.clone(),
            certificate_changes,
            ..Policy::default()
        };
        for (hash, content) in self
            .documents
            .list::<ContractContent>(Kind::Contract)
            .await?
        {
            // A stored contract whose content no longer hashes to its key was altered; one
            // that cannot be hashed at all (a number beyond what a contract may hold) was
            // written past the manager. Either is passed over, not the whole policy.
            let hashes = content.hash().and_then(|own| {
                let grants: Result<Vec<String>, _> = content
                    .grants
                    .iter()
                    .map(|g| content.grant_hash(g))
                    .collect();
                Ok((own, grants?))
            });
            let grant_hashes = match hashes {
                Ok((own, grants)) if own == hash => grants,
                Ok(_) => {
                    if self.first_warning(&hash, "hash") {
                        tracing::warn!(contract = %hash, "stored contract does not match its hash (made before FSC's SHA3-512, or altered); ignored");
                    }
                    continue;
                }
                Err(error) => {
                    if self.first_warning(&hash, "unhashable") {
                        tracing::warn!(contract = %hash, %error, "stored contract cannot be hashed; ignored");
                    }
                    continue;
                }
            };
            // Another FSC group's contract grants nothing here, even signed by the same
            // peers; nor does one that claims another hash algorithm than its hash has,
            // or names an outway's key by anything but FSC's thumbprint (which no
            // outway's key would ever match), nor one without grants (no parties, so
            // "accepted by every party" would hold of nobody's signature).
            if content.group_id != *self.group
                || content.hash_algorithm != HASH_ALGORITHM
                || content.grants.is_empty()
                || !content.grants.iter().all(names_keys_as_fsc_does)
            {
                if self.first_warning(&hash, "group") {
                    tracing::warn!(
                        contract = %hash, group = %content.group_id, algorithm = %content.hash_algorithm,
                        "a contract of another group or hash algorithm, without grants, or with a malformed thumbprint; ignored"
                    );
                }
                continue;
            }
            let mut accepted_by = Vec::new();
            let mut revoked_by = Vec::new();
            let parties = content.peers();
            for signature in signatures.get(&hash).map(Vec::as_slice).unwrap_or_default() {
                let Some(signers) = certificates.get(signature.peer_id.as_str()) else {
                    continue;
                };
                // Only a party's valid signature counts.
                if !parties.contains(&signature.peer_id) {
                    continue;
                }
                match verify_by_any(&signature.jws, signers, &hash) {
                    Ok(SignatureKind::Accept) if signature.kind == SignatureKind::Accept => {
                        accepted_by.push(signature.peer_id.clone());
                    }
                    Ok(SignatureKind::Revoke) if signature.kind == SignatureKind::Revoke => {
                        revoked_by.push(signature.peer_id.clone());
                    }
                    _ => {
                        let what = format!("signature {}", signature.peer_id);
                        if self.first_warning(&hash, &what) {
                            tracing::warn!(contract = %hash, peer = %signature.peer_id, "invalid signature ignored");
                        }
                    }
                }
            }
            accepted_by.sort();
            accepted_by.dedup();
            let seen_revoked = {
                let mut revoked = lock(&self.revoked);
                if revoked_by.is_empty() {
                    revoked.contains(&hash)
                } else {
                    if revoked.insert(hash.clone()) {
                        lock(&self.unsaved).push(hash.clone());
                    }
                    true
                }
            };
            if seen_revoked && revoked_by.is_empty() && self.first_warning(&hash, "revocation gone")
            {
                tracing::warn!(contract = %hash, "a revocation of this contract is gone from the directory; it stays revoked");
            }
            let state = if seen_revoked {
                ContractState::Revoked
            } else if accepted_by != parties {
                ContractState::Proposed
            } else if now >= content.validity.not_after {
                ContractState::Expired
            } else if now < content.validity.not_before {
                ContractState::Upcoming
            } else {
                ContractState::Active
            };
            for (grant, grant_hash) in content.grants.iter().zip(&grant_hashes) {
                let grant_hash = grant_hash.clone();
                // Expired and upcoming grants stay known, so a request out of their period
                // hears "not valid", not "unknown".
                if !matches!(
                    state,
                    ContractState::Active | ContractState::Expired | ContractState::Upcoming
                ) {
                    continue;
                }
                match &grant.data {
                    // A service is listed only while its publication is in force.
                    GrantData::ServicePublication { .. } if state != ContractState::Active => {}
                    // Only the directory's keeper puts a service in it; a publication
                    // "accepted" by another directory is not this one's.
                    GrantData::ServicePublication { directory, .. }
                        if directory.peer_id != *self.directory_keeper => {}
                    GrantData::ServicePublication { service, .. } => {
                        if let Some(entry) = listed
                            .get(&service.name)
                            .filter(|e| e.peer_id == service.peer_id)
                        {
                            match crate::forward::base_uri(&entry.inway) {
                                Ok(url) => {
                                    policy.inways.insert(service.name.clone(), url);
                                }
                                Err(error) => tracing::warn!(
                                    service = %service.name, %error,
                                    "the directory's inway address for this service is not a URL"
                                ),
                            }
                            policy.services.insert(service.name.clone(), entry.clone());
                        }
                    }
                    GrantData::ServiceConnection {
                        outway,
                        service,
                        properties,
                    } => {
                        policy.connections.insert(
                            grant_hash.clone(),
                            Connection {
                                grant_hash,
                                contract_hash: hash.clone(),
                                validity: content.validity,
                                consumer: outway.peer_id.clone(),
                                thumbprint: outway.public_key_thumbprint.clone(),
                                provider: service.peer_id.clone(),
                                service: service.name.clone(),
                                processing_activities: properties.processing_activities.clone(),
                                fields: properties.fields.clone(),
                            },
                        );
                    }
                }
            }
            policy.contracts.push(ContractView {
                hash,
                state,
                content,
                accepted_by,
                revoked_by,
                grant_hashes,
            });
        }
        Ok(policy)
    }

    /// The certificate of a directory entry stored under `key`, when it counts: it chains
    /// to the trust anchors and is valid now, and carries the OIN it is entered under.
    fn trusted(&self, key: &str, peer: &PeerEntry) -> Result<PeerCertificate, ManagerError> {
        if peer.oin != key {
            return Err(ManagerError::Untrusted(key.to_owned()));
        }
        self.trusted_pem(key, &peer.certificate_pem)
    }

    /// The certificate (chain) `pem` of the organisation `oin`, when it counts.
    fn trusted_pem(&self, oin: &str, pem: &str) -> Result<PeerCertificate, ManagerError> {
        let key = oin;
        let chain = crate::pki::certificates(pem, "directory")
            .map_err(|_| ManagerError::Certificate(key.to_owned()))?;
        let (leaf, intermediates) = chain
            .split_first()
            .ok_or_else(|| ManagerError::Certificate(key.to_owned()))?;
        let certificate =
            PeerCertificate::parse(leaf).map_err(|_| ManagerError::Certificate(key.to_owned()))?;
        if certificate.oin.as_str() != key {
            return Err(ManagerError::Untrusted(key.to_owned()));
        }
        let now = rustls_pki_types::UnixTime::now();
        self.trust
            .current()
            .client_verifier
            .verify_client_cert(leaf, intermediates, now)
            .map_err(|error| ManagerError::Refused {
                peer: key.to_owned(),
                reason: error.to_string(),
            })?;
        Ok(certificate)
    }

    /// Add (or update) an organisation in the directory, with a certificate that chains
    /// to the trust anchors.
    pub async fn register_peer(
        &self,
        name: &str,
        certificate_pem: &str,
    ) -> Result<PeerEntry, ManagerError> {
        let certificate =
            parse_pem(certificate_pem).ok_or_else(|| ManagerError::Certificate(name.to_owned()))?;
        let entry = PeerEntry {
            oin: certificate.oin.as_str().to_owned(),
            name: name.to_owned(),
            certificate_pem: certificate_pem.to_owned(),
            earlier_certificates_pem: Vec::new(),
        };
        self.trusted(&entry.oin, &entry)?;
        if self.policy().peers.get(&entry.oin) == Some(&entry) {
            return Ok(entry);
        }
        self.documents.put(Kind::Peer, &entry.oin, &entry).await?;
        self.reload().await?;
        Ok(entry)
    }

    /// Update a service's directory entry (its inway moved, say); its publication
    /// contract stays as it is.
    pub async fn update_service(&self, entry: &ServiceEntry) -> Result<(), ManagerError> {
        refuse_flaws(checks::publication_flaws(entry))?;
        self.documents
            .put(Kind::Service, &entry.name, entry)
            .await?;
        self.reload().await?;
        Ok(())
    }

    /// Check every `period` whether the policy must be rebuilt ([`Manager::refresh`]), so
    /// changes made by another process (the `loket exchange` commands) take effect
    /// without a restart.
    pub fn reload_every(&self, period: std::time::Duration) -> tokio::task::JoinHandle<()> {
        let manager = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(period);
            loop {
                ticks.tick().await;
                if let Err(error) = manager.refresh().await {
                    tracing::warn!(%error, "cannot reload the exchange policy; keeping the last one");
                }
            }
        })
    }

    /// What certificates are checked against (revocation lists replaced there count at
    /// the next check).
    pub fn trust(&self) -> &Trust {
        &self.trust
    }

    /// The OIN of the organisation that keeps this directory.
    pub fn directory_keeper(&self) -> &str {
        &self.directory_keeper
    }

    /// Publish a service: list it and propose its publication contract, accepted by the
    /// provider (`identity`); the directory's keeper accepts it to make it visible. A
    /// name another organisation publishes now is refused: its entry must not change.
    pub async fn publish(
        &self,
        identity: &Identity,
        entry: ServiceEntry,
        validity: Validity,
    ) -> Result<String, ManagerError> {
        refuse_flaws(checks::publication_flaws(&entry))?;
        let current = self.reload().await?;
        let now = OffsetDateTime::now_utc().unix_timestamp();
        if let Some(holder) = holder_of(&current, &self.directory_keeper, &entry.name, now)
            .filter(|held| held != identity.oin.as_str())
        {
            return Err(ManagerError::ServiceTaken {
                service: entry.name,
                peer: holder,
            });
        }
        let grant = GrantData::ServicePublication {
            directory: PeerRef {
                peer_id: self.directory_keeper.to_string(),
            },
            service: ServicePublication {
                peer_id: identity.oin.as_str().to_owned(),
                name: entry.name.clone(),
                protocol: "PROTOCOL_TCP_HTTP_1.1".to_owned(),
            },
        };
        let listing = Write::of(Kind::Service, &entry.name, &entry)?;
        self.propose(identity, grant, validity, Some(listing)).await
    }

    /// Ask for a connection to `service` for the given processing activities, each in the
    /// requester's `register` (and, when given, only these fields). Returns the contract
    /// hash; the provider must approve.
    pub async fn request_connection(
        &self,
        identity: &Identity,
        service: &str,
        processing_activities: Vec<String>,
        fields: Option<Vec<String>>,
        validity: Validity,
        register: &Activities,
    ) -> Result<String, ManagerError> {
        if processing_activities.is_empty() {
            return Err(ManagerError::NoActivity);
        }
        // A grant for a purpose the requester's register does not describe could never
        // be shown to a resident with its purpose and legal basis.
        if let Some(unknown) = processing_activities
            .iter()
            .find(|id| register.get(id).is_none())
        {
            return Err(ManagerError::UnknownActivity(unknown.clone()));
        }
        refuse_flaws(checks::field_flaws(fields.as_deref()))?;
        // Only a service in the directory (its publication accepted by the keeper): a
        // listing that awaits acceptance names a provider nobody has vouched for yet.
        let current = self.reload().await?;
        let entry = current
            .services
            .get(service)
            .ok_or_else(|| ManagerError::UnknownService(service.to_owned()))?;
        let grant = GrantData::ServiceConnection {
            outway: OutwayRef {
                peer_id: identity.oin.as_str().to_owned(),
                public_key_thumbprint: identity.thumbprint.clone(),
            },
            service: ServiceRef {
                kind: "SERVICE_TYPE_SERVICE".to_owned(),
                peer_id: entry.peer_id.clone(),
                name: entry.name.clone(),
            },
            properties: ConnectionProperties {
                processing_activities,
                fields,
            },
        };
        self.propose(identity, grant, validity, None).await
    }

    /// Ask again for the connection of contract `hash`, which names another key of this
    /// organisation's outway (after a renewal with a new key): the same service,
    /// activities and fields, until the same end, for `identity`'s key. Returns the new
    /// contract's hash; the provider must approve.
    pub async fn request_again(
        &self,
        identity: &Identity,
        hash: &str,
        register: &Activities,
    ) -> Result<String, ManagerError> {
        let policy = self.reload().await?;
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let old = policy
            .connections
            .values()
            .find(|c| {
                c.contract_hash == hash
                    && c.consumer == identity.oin.as_str()
                    && c.thumbprint != identity.thumbprint
                    && now < c.validity.not_after
            })
            .cloned()
            .ok_or_else(|| ManagerError::NothingToRequestAgain(hash.to_owned()))?;
        let validity = Validity {
            not_before: old.validity.not_before.max(now),
            not_after: old.validity.not_after,
        };
        self.request_connection(
            identity,
            &old.service,
            old.processing_activities,
            old.fields,
            validity,
            register,
        )
        .await
    }

    /// Propose a contract of `grant`, signed by `identity`, with `listing` (a service's
    /// entry) if any: all of it lands in the directory together, or none of it.
    async fn propose(
        &self,
        identity: &Identity,
        grant: GrantData,
        validity: Validity,
        listing: Option<Write>,
    ) -> Result<String, ManagerError> {
        let content = ContractContent {
            iv: uuid::Uuid::now_v7().to_string(),
            group_id: self.group.to_string(),
            validity,
            grants: vec![Grant { data: grant }],
            hash_algorithm: HASH_ALGORITHM.to_owned(),
            created_at: OffsetDateTime::now_utc().unix_timestamp(),
        };
        let hash = content.hash()?;
        // A journal entry for a contract that does not land is passed over at a start.
        let (signature, _) = self
            .signature(identity, &hash, &content, SignatureKind::Accept)
            .await?;
        let mut writes: Vec<Write> = listing.into_iter().collect();
        writes.push(Write::of(Kind::Contract, &hash, &content)?);
        writes.push(signature);
        self.documents.put_all(&writes).await?;
        self.reload_after_writing().await;
        Ok(hash)
    }

    /// The policy again after a new contract has landed: a failure to read it back is
    /// not the proposal's (a retry would make a second contract); the next refresh
    /// catches up.
    async fn reload_after_writing(&self) {
        if let Err(error) = self.reload().await {
            tracing::warn!(%error, "the directory changed, but cannot be read again now; the next refresh will");
        }
    }

    /// Accept a contract as `identity` (the other party approving it).
    pub async fn accept(&self, identity: &Identity, hash: &str) -> Result<(), ManagerError> {
        self.sign(identity, hash, SignatureKind::Accept).await
    }

    /// Revoke a contract as one of its parties; its grants stop working at once.
    pub async fn revoke(&self, identity: &Identity, hash: &str) -> Result<(), ManagerError> {
        self.sign(identity, hash, SignatureKind::Revoke).await
    }

    /// Enter this organisation in the directory with `identity` (whose certificate chain
    /// is `certificate_pem`), as it starts, and sign again, with its key, every signature
    /// it made (its own journal says which) that the directory does not hold as made by
    /// this key: after a renewal with a new key, those made with the old one (or one
    /// that went missing). While it does, the entry keeps its earlier certificates that
    /// are still valid, so managers reading the directory see each contract signed
    /// throughout; then only this one. A contract that cannot be signed again is passed
    /// over with a warning. Returns the contracts signed again.
    pub async fn enter(
        &self,
        name: &str,
        identity: &Identity,
        certificate_pem: &str,
    ) -> Result<Vec<String>, ManagerError> {
        let oin = identity.oin.as_str();
        // Checked before anything is written: an untrusted certificate changes nothing.
        let current = self
            .trusted_pem(oin, certificate_pem)
            .ok()
            .filter(|c| c.certificate_thumbprint == identity.certificate_thumbprint)
            .ok_or_else(|| ManagerError::Certificate(oin.to_owned()))?;
        self.journal_own_signatures(oin, &current).await?;
        let journaled = self.journal.certificates(oin).await?;
        self.warn_of_unjournaled_certificate(oin, &current, &journaled)
            .await?;
        // Its own earlier certificates (from its journal, never from the shared
        // directory) with other keys, while they are valid.
        let mut keys = vec![current.public_key.clone()];
        let mut earlier = Vec::new();
        for (_, pem) in journaled {
            let Ok(certificate) = self.trusted_pem(oin, &pem) else {
                continue;
            };
            if !keys.contains(&certificate.public_key) && earlier.len() < EARLIER_CERTIFICATES {
                keys.push(certificate.public_key);
                earlier.push(pem);
            }
        }
        self.journal
            .entered(oin, &current.certificate_thumbprint, certificate_pem)
            .await?;
        let due = self.due_again(oin, &current).await?;
        // The earlier certificates stay in the entry only while their signatures move.
        if !due.is_empty() && !earlier.is_empty() {
            let moving = PeerEntry {
                oin: oin.to_owned(),
                name: name.to_owned(),
                certificate_pem: certificate_pem.to_owned(),
                earlier_certificates_pem: earlier,
            };
            self.documents.put(Kind::Peer, oin, &moving).await?;
            self.reload().await?;
        }
        let mut again = Vec::new();
        for (hash, content, kind) in due {
            match self.write_signature(identity, &hash, &content, kind).await {
                Ok(()) => again.push(hash),
                // One contract that cannot be signed (written past the manager so that
                // it does not name this organisation) must not keep it from starting.
                Err(ManagerError::Store(error)) => return Err(error.into()),
                Err(error) => {
                    tracing::warn!(contract = %hash, %error, "a contract this organisation signed cannot be signed again; passed over");
                }
            }
        }
        again.dedup();
        self.register_peer(name, certificate_pem).await?;
        if !again.is_empty() {
            self.reload().await?;
        }
        self.journal
            .keep_only(oin, &current.certificate_thumbprint)
            .await?;
        Ok(again)
    }

    /// Note in the journal every signature in the directory, in this organisation's name,
    /// that its current key made: only it could have made those. (This also fills the
    /// journal with what was signed before there was one.)
    async fn journal_own_signatures(
        &self,
        oin: &str,
        current: &PeerCertificate,
    ) -> Result<(), ManagerError> {
        let own: Vec<(String, SignatureKind)> = self
            .documents
            .list::<StoredSignature>(Kind::Signature)
            .await?
            .into_iter()
            .filter(|(_, s)| {
                s.peer_id == oin
                    && contract::verify(&s.jws, current, &s.contract_hash)
                        .is_ok_and(|kind| kind == s.kind)
            })
            .map(|(_, s)| (s.contract_hash, s.kind))
            .collect();
        self.journal.signed(oin, &own).await?;
        Ok(())
    }

    /// The directory's entry holds a valid certificate of this organisation with another
    /// key that it never entered from this storage (a first start after an upgrade, or
    /// new storage): what was signed with it is not in the journal and is not signed
    /// again, so it stops counting. Say so, loudly.
    async fn warn_of_unjournaled_certificate(
        &self,
        oin: &str,
        current: &PeerCertificate,
        journaled: &[(String, String)],
    ) -> Result<(), ManagerError> {
        let stored = self
            .documents
            .list::<PeerEntry>(Kind::Peer)
            .await?
            .into_iter()
            .find_map(|(key, entry)| (key == oin).then_some(entry));
        let Some(stored) = stored else {
            return Ok(());
        };
        let Ok(there) = self.trusted_pem(oin, &stored.certificate_pem) else {
            return Ok(());
        };
        let known = journaled
            .iter()
            .any(|(thumbprint, _)| *thumbprint == there.certificate_thumbprint);
        if there.public_key != current.public_key && !known {
            tracing::warn!(
                peer = %oin,
                "the directory holds a certificate of this organisation with another key that it never entered from this storage: signatures made with that key stop counting now (start once with that certificate first to keep them, unless its key may be compromised)"
            );
        }
        Ok(())
    }

    /// Each contract the journal says this organisation signed (with its content, checked
    /// against its hash) whose signature in the directory its current key did not make:
    /// made with an earlier key, or gone.
    async fn due_again(
        &self,
        oin: &str,
        current: &PeerCertificate,
    ) -> Result<Vec<(String, ContractContent, SignatureKind)>, ManagerError> {
        let stored: HashMap<String, StoredSignature> = self.documents.map(Kind::Signature).await?;
        let contracts: HashMap<String, ContractContent> =
            self.documents.map(Kind::Contract).await?;
        let mut due = Vec::new();
        for (hash, kind) in self.journal.signatures(oin).await? {
            let made_by_this_key = stored
                .get(&signature_key(&hash, oin, kind))
                .is_some_and(|s| contract::verify(&s.jws, current, &hash).is_ok_and(|k| k == kind));
            if made_by_this_key {
                continue;
            }
            // A contract altered in the directory is not this one any more.
            let Some(content) = contracts
                .get(&hash)
                .filter(|content| content.hash().is_ok_and(|own| own == hash))
                .cloned()
            else {
                continue;
            };
            due.push((hash, content, kind));
        }
        Ok(due)
    }

    /// Connection grants in force for this organisation's outway that name another key
    /// than `identity`'s and have no counterpart for its key yet: after a renewal with a
    /// new key, the outway cannot use them, and each needs a contract asked for again
    /// (and accepted by the provider).
    pub fn grants_for_other_keys(&self, identity: &Identity) -> Vec<Connection> {
        let policy = self.policy();
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let ours =
            |c: &Connection| c.consumer == identity.oin.as_str() && now < c.validity.not_after;
        let mut other: Vec<Connection> = policy
            .connections
            .values()
            .filter(|old| {
                ours(old)
                    && old.thumbprint != identity.thumbprint
                    && !policy.connections.values().any(|new| {
                        ours(new) && new.thumbprint == identity.thumbprint && same_grant(old, new)
                    })
            })
            .cloned()
            .collect();
        other.sort_by(|a, b| a.contract_hash.cmp(&b.contract_hash));
        other
    }

    async fn sign(
        &self,
        identity: &Identity,
        hash: &str,
        kind: SignatureKind,
    ) -> Result<(), ManagerError> {
        let contracts: HashMap<String, ContractContent> =
            self.documents.map(Kind::Contract).await?;
        let content = contracts
            .get(hash)
            .ok_or_else(|| ManagerError::UnknownContract(hash.to_owned()))?;
        self.write_signature(identity, hash, content, kind).await?;
        // A signature is put in place of itself: a retry after a failure here is harmless,
        // and a revocation must not be reported done while its grant is still in force.
        self.reload().await?;
        Ok(())
    }

    /// Sign contract `hash` as `identity` and put the signature in the directory.
    async fn write_signature(
        &self,
        identity: &Identity,
        hash: &str,
        content: &ContractContent,
        kind: SignatureKind,
    ) -> Result<(), ManagerError> {
        let (signature, newly_noted) = self.signature(identity, hash, content, kind).await?;
        if let Err(error) = self.documents.put_all(&[signature]).await {
            if newly_noted {
                let peer = identity.oin.as_str();
                if let Err(forgot) = self.journal.not_signed(peer, hash, kind).await {
                    tracing::warn!(contract = %hash, error = %forgot, "a signature that did not reach the directory stays in the journal: the next start signs it again");
                }
            }
            return Err(error.into());
        }
        Ok(())
    }

    /// `identity`'s signature of contract `hash`, for the directory; noted first in the
    /// organisation's journal, so it can sign again what it signed, and only that (and
    /// whether the journal did not hold it before).
    async fn signature(
        &self,
        identity: &Identity,
        hash: &str,
        content: &ContractContent,
        kind: SignatureKind,
    ) -> Result<(Write, bool), ManagerError> {
        let peer = identity.oin.as_str().to_owned();
        if !content.peers().contains(&peer) {
            return Err(ManagerError::NotAParty(peer));
        }
        let jws = contract::sign(
            identity,
            hash,
            kind,
            OffsetDateTime::now_utc().unix_timestamp(),
        )?;
        let noted = self
            .journal
            .signed(&peer, &[(hash.to_owned(), kind)])
            .await?;
        let signature = StoredSignature {
            contract_hash: hash.to_owned(),
            peer_id: peer.clone(),
            kind,
            jws,
        };
        let write = Write::of(
            Kind::Signature,
            &signature_key(hash, &peer, kind),
            &signature,
        )?;
        Ok((write, noted > 0))
    }
}

/// Where the directory keeps `peer`'s signature of contract `hash`: one of each kind.
fn signature_key(hash: &str, peer: &str, kind: SignatureKind) -> String {
    format!("{hash}/{peer}/{}", kind.as_str())
}

/// Whether two connection grants allow the same: provider, service, activities, fields.
fn same_grant(a: &Connection, b: &Connection) -> bool {
    let sorted = |list: &[String]| {
        let mut list = list.to_vec();
        list.sort();
        list
    };
    a.provider == b.provider
        && a.service == b.service
        && sorted(&a.processing_activities) == sorted(&b.processing_activities)
        && a.fields.as_deref().map(sorted) == b.fields.as_deref().map(sorted)
}

/// What a signature says, checked with whichever of its organisation's certificates
/// holds the key it was made with (the current one first).
fn verify_by_any(
    jws: &str,
    signers: &[PeerCertificate],
    hash: &str,
) -> Result<SignatureKind, ContractError> {
    let mut outcome = Err(ContractError::Signature);
    for signer in signers {
        outcome = contract::verify(jws, signer, hash);
        if !matches!(outcome, Err(ContractError::Signature)) {
            break;
        }
    }
    outcome
}

/// Whether a connection grant names its outway's key as FSC does: 64 lowercase hex
/// characters, the SHA-256 of the key ([`crate::pki::PeerCertificate::thumbprint`]).
fn names_keys_as_fsc_does(grant: &Grant) -> bool {
    match &grant.data {
        GrantData::ServiceConnection { outway, .. } => {
            let thumbprint = outway.public_key_thumbprint.as_bytes();
            thumbprint.len() == 64
                && thumbprint
                    .iter()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
        }
        GrantData::ServicePublication { .. } => true,
    }
}

/// The first moment after `now` at which a contract's validity period begins or ends, or
/// a directory certificate's.
fn next_change_by_clock(policy: &Policy, now: i64) -> i64 {
    policy
        .contracts
        .iter()
        .flat_map(|contract| {
            let validity = contract.content.validity;
            [validity.not_before, validity.not_after]
        })
        .chain(policy.certificate_changes.iter().copied())
        .filter(|&moment| moment > now)
        .min()
        .unwrap_or(i64::MAX)
}

/// The organisation that holds the service name `name` in the directory `keeper` keeps:
/// it publishes it, or asked to and awaits the keeper (who can revoke that request to
/// free the name) or the publication's validity period.
fn holder_of(policy: &Policy, keeper: &str, name: &str, now: i64) -> Option<String> {
    if let Some(entry) = policy.services.get(name) {
        return Some(entry.peer_id.clone());
    }
    policy
        .contracts
        .iter()
        .filter(|c| {
            matches!(c.state, ContractState::Proposed | ContractState::Upcoming)
                && now < c.content.validity.not_after
        })
        .flat_map(|c| c.content.grants.iter().map(move |grant| (c, grant)))
        .find_map(|(contract, grant)| match &grant.data {
            // Only a request the provider itself validly signed holds a name.
            GrantData::ServicePublication { directory, service }
                if directory.peer_id == keeper
                    && service.name == name
                    && contract.accepted_by.contains(&service.peer_id) =>
            {
                Some(service.peer_id.clone())
            }
            _ => None,
        })
}

/// What these mutexes hold is replaced whole, so a panic elsewhere cannot leave it
/// half-written.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn refuse_flaws(flaws: Vec<Flaw>) -> Result<(), ManagerError> {
    if flaws.is_empty() {
        Ok(())
    } else {
        Err(ManagerError::Invalid(flaws))
    }
}

fn parse_pem(pem: &str) -> Option<PeerCertificate> {
    let der = CertificateDer::from_pem_slice(pem.as_bytes()).ok()?;
    PeerCertificate::parse(&der).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn granting(fields: Option<Vec<String>>) -> Connection {
        Connection {
            grant_hash: String::new(),
            contract_hash: String::new(),
            validity: Validity {
                not_before: 0,
                not_after: i64::MAX,
            },
            consumer: String::new(),
            thumbprint: String::new(),
            provider: String::new(),
            service: String::new(),
            processing_activities: Vec::new(),
            fields,
        }
    }

    /// A manager on SQLite with a demo PKI of one organisation, the municipality, which
    /// keeps the directory (not yet in it).
    async fn one_organisation() -> (
        loket_store::testing::TestStorage,
        tempfile::TempDir,
        Manager,
    ) {
        let storage = loket_store::testing::TestStorage::sqlite().unwrap();
        let pki = tempfile::tempdir().unwrap();
        let oin = loket_core::Oin::parse("00000001001234567000").unwrap();
        let organisation = crate::pki::Organisation {
            name: "gemeente".into(),
            display_name: "Gemeente".into(),
            oin,
        };
        crate::pki::init(pki.path(), &[organisation]).unwrap();
        let anchors = crate::pki::load_roots(&pki.path().join(crate::pki::CA_FILE)).unwrap();
        let directory = Database::open(&storage.url, &crate::SCHEMA).await.unwrap();
        let own = Database::open(&storage.url, &crate::REVOCATIONS_SCHEMA)
            .await
            .unwrap();
        let manager = Manager::open(
            &directory,
            oin.as_str(),
            &Trust::new(anchors).unwrap(),
            &own,
        )
        .await
        .unwrap();
        (storage, pki, manager)
    }

    /// Rebuilds take turns: one started while another builds waits for it, so the one
    /// built from older documents cannot finish last and stay in force.
    #[tokio::test]
    async fn rebuilds_take_turns() {
        let (storage, _pki, manager) = one_organisation().await;
        let building = manager.rebuilding.clone().lock_owned().await;
        let waiting = manager.clone();
        let reload = tokio::spawn(async move { waiting.reload().await.map(|_| ()) });
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(!reload.is_finished(), "it waits for the rebuild before it");
        drop(building);
        reload.await.unwrap().unwrap();
        storage.teardown().await;
    }

    /// A rebuild takes the directory's certificates' validity into the moment the next
    /// check must build again.
    #[tokio::test]
    async fn a_rebuild_is_due_when_a_directory_certificate_expires() {
        let (storage, pki, manager) = one_organisation().await;
        let nothing_to_wait_for = lock(&manager.built).unwrap().until;
        assert_eq!(nothing_to_wait_for, i64::MAX);
        let pem = std::fs::read_to_string(pki.path().join("gemeente.pem")).unwrap();
        manager.register_peer("Gemeente", &pem).await.unwrap();
        let expires = crate::pki::validity_changes(&pem)[1];
        assert_eq!(lock(&manager.built).unwrap().until, expires);
        storage.teardown().await;
    }

    #[test]
    fn a_certificate_that_expires_or_begins_is_a_change_by_the_clock() {
        let policy = Policy {
            certificate_changes: vec![100, 500, 300],
            ..Policy::default()
        };
        assert_eq!(next_change_by_clock(&policy, 0), 100);
        assert_eq!(next_change_by_clock(&policy, 100), 300);
        assert_eq!(next_change_by_clock(&policy, 500), i64::MAX);
    }

    proptest! {
        /// A grant of `naam` covers `naam` and `naam.voornamen`, never `naamgebruik` or
        /// `naa`; a grant that lists no fields covers all.
        #[test]
        fn a_field_is_allowed_only_at_or_below_a_granted_path(
            granted in proptest::collection::vec("[a-z]{1,6}(\\.[a-z]{1,6})?", 1..4),
            asked in "[a-z.]{0,16}",
            below in "[a-z]{1,6}",
        ) {
            let connection = granting(Some(granted.clone()));
            let covered = granted.iter().any(|g| {
                asked == *g || (asked.len() > g.len() && asked.starts_with(g.as_str()) && asked.as_bytes()[g.len()] == b'.')
            });
            prop_assert_eq!(connection.allows_field(&asked), covered);
            for g in &granted {
                prop_assert!(connection.allows_field(g));
                let deeper = format!("{g}.{below}");
                prop_assert!(connection.allows_field(&deeper));
            }
            prop_assert!(granting(None).allows_field(&asked));
        }
    }
}
