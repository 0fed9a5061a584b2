//! Production configuration: a TOML file, overridden by `LOKET_*` environment variables
//! (`LOKET_STORAGE__URL`, `LOKET_PORTAL__LISTEN`, …). Any key may instead be given as a
//! file with the `_file` suffix (`storage.url_file`, `LOKET_STORAGE__URL_FILE`), for
//! secrets mounted by an orchestrator.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use figment::value::{Dict, Value};
use loket_core::Secret;
use loket_core::resident_assertion::AssertionSigner;
use loket_store::StorageUrl;
use serde::Deserialize;

use crate::exchange_peer::{
    ExchangeSettings, InwaySettings, LogSettings, ManagementSettings, PreviousIdentity,
};
use crate::logging::LogFormat;
use crate::platform::{PlatformSettings, RegisterName};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    municipality: String,
    /// The municipality's four-digit CBS code, as the BRP gives `gemeenteVanInschrijving`.
    municipality_code: String,
    /// The municipality's RSIN, `bronorganisatie` of its cases.
    rsin: String,
    storage: RawStorage,
    /// The municipality's product catalogue (a directory, as `loket catalogue check`
    /// reads it; default: the built-in one).
    #[serde(default)]
    catalogue_dir: Option<std::path::PathBuf>,
    /// The resident portal; an organisation that only provides services through the
    /// exchange leaves it out.
    #[serde(default)]
    portal: Option<RawResidentPortal>,
    /// The employee workspace (serve it on an internal network only).
    #[serde(default)]
    werkplek: Option<RawWerkplek>,
    /// The operator's address: `/readyz` over every service of the process, and
    /// `/metrics` (an internal network; the portal answers only `/healthz` itself).
    #[serde(default)]
    operations: Option<RawListen>,
    /// Run registers in-process (for test environments; production asks RvIG's, RDW's, …).
    #[serde(default)]
    brp: Option<RawListen>,
    #[serde(default)]
    reisdocumenten: Option<RawListen>,
    #[serde(default)]
    rdw: Option<RawListen>,
    #[serde(default)]
    duo: Option<RawListen>,
    #[serde(default)]
    inkomen: Option<RawListen>,
    #[serde(default)]
    log: RawLog,
    /// The ZGW Zaken API, for the municipality's other systems (optional).
    #[serde(default)]
    zaken_api: Option<RawZakenApi>,
    /// This organisation's part of the exchange (optional).
    #[serde(default)]
    exchange: Option<RawExchange>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExchange {
    /// This organisation as residents know it.
    name: String,
    /// PEM texts (usually given as `certificate_file`, `private_key_file`, …).
    certificate: String,
    private_key: Secret<String>,
    trust_anchors: String,
    /// The file with the certificate revocation lists (PEM) of every CA that issues
    /// peers' certificates, read again whenever it changes (so kept as a path, unlike
    /// other `_file` keys); without it, revocation is not checked.
    #[serde(default)]
    revocation_lists_file: Option<std::path::PathBuf>,
    /// What is looked up in the lists: `certificate` (the organisations' own, the default)
    /// or `chain` (every CA between them and the anchors too).
    #[serde(default)]
    revocation_check: RawRevocationCheck,
    /// What a list past its `nextUpdate` does: `warn` (it still counts; the default) or
    /// `refuse` (it counts no more: its CA's certificates are refused until a current
    /// list is in place).
    #[serde(default)]
    overdue_revocation_lists: RawOverdue,
    /// The certificate and key before a renewal with a new key, kept while connections
    /// still name that key (the outway presents it for those, until it ends).
    #[serde(default)]
    previous_certificate: Option<String>,
    #[serde(default)]
    previous_private_key: Option<Secret<String>>,
    /// Where the directory and contracts are (default: `storage.url`).
    #[serde(default)]
    directory_url: Option<Secret<String>>,
    /// The OIN of the organisation that keeps the directory (default: this one).
    #[serde(default)]
    directory_peer: Option<String>,
    /// The FSC group of the directory's contracts (default: the demo's).
    #[serde(default)]
    group_id: Option<String>,
    /// The register of processing activities, TOML (default: the built-in one).
    #[serde(default)]
    activities: Option<String>,
    log: RawExchangeLog,
    #[serde(default)]
    outway: Option<RawListen>,
    #[serde(default)]
    inway: Option<RawInway>,
    #[serde(default)]
    management: Option<RawManagement>,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum RawRevocationCheck {
    #[default]
    Certificate,
    Chain,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum RawOverdue {
    #[default]
    Warn,
    Refuse,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExchangeLog {
    #[serde(default)]
    listen: Option<SocketAddr>,
    keys: std::path::PathBuf,
    #[serde(default)]
    readers: Vec<RawReader>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReader {
    name: String,
    token: Secret<String>,
    role: RawRole,
    /// Role resident: the public key (base64) of the portal's resident assertions
    /// (`loket portal public-key`); without it, the portal of this configuration.
    #[serde(default)]
    portal_key: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum RawRole {
    /// The portal, for one logged-in resident at a time.
    Resident,
    /// The privacy officer (FG).
    PrivacyOfficer,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInway {
    listen: SocketAddr,
    services: std::collections::BTreeMap<String, RawInwayService>,
}

/// A service the inway offers. Only the table form is accepted; the bare address of
/// earlier versions is read so that its error can say what to add.
#[derive(Debug)]
enum RawInwayService {
    Offered(RawOffered),
    AddressOnly(String),
}

// By hand rather than `untagged`, which would hide the table's own errors (an unknown
// or missing key) behind "did not match any variant".
impl<'de> Deserialize<'de> for RawInwayService {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Either;
        impl<'de> serde::de::Visitor<'de> for Either {
            type Value = RawInwayService;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a table with register and verwerkingsactiviteit")
            }

            fn visit_str<E: serde::de::Error>(self, address: &str) -> Result<Self::Value, E> {
                Ok(RawInwayService::AddressOnly(address.to_owned()))
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                RawOffered::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(RawInwayService::Offered)
            }
        }
        deserializer.deserialize_any(Either)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOffered {
    register: String,
    verwerkingsactiviteit: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManagement {
    listen: SocketAddr,
    token: Secret<String>,
}

/// Shorter bearer tokens (the log's readers, the management API) are too easy to guess.
const MIN_TOKEN: usize = 32;

/// `own_portal`: the public key of this configuration's portal, if it has one.
fn exchange(
    raw: RawExchange,
    storage: &StorageUrl,
    own_portal: Option<[u8; 32]>,
) -> anyhow::Result<ExchangeSettings> {
    use loket_logboek::api::{Reader, Role};
    // A shared directory has one keeper, and every peer must name the same one.
    if raw.directory_url.is_some() && raw.directory_peer.is_none() {
        bail!(
            "exchange.directory_peer: name the OIN of the organisation that keeps the directory at exchange.directory_url"
        );
    }
    let directory = match raw.directory_url {
        Some(url) => url.expose().parse().context("exchange.directory_url")?,
        None => storage.clone(),
    };
    let mut readers = Vec::new();
    let mut portal_token = None;
    let mut tokens = std::collections::HashSet::new();
    for reader in raw.log.readers {
        let name = &reader.name;
        if reader.token.expose().len() < MIN_TOKEN {
            bail!("exchange.log reader {name}: the token must be at least {MIN_TOKEN} characters");
        }
        // The read API knows a reader by its token alone: a shared one would give the
        // portal's token the privacy officer's reach, or lock one of two portals out.
        if !tokens.insert(reader.token.expose().clone()) {
            bail!(
                "exchange.log reader {name}: another reader has the same token; give each its own"
            );
        }
        if readers.iter().any(|r: &Reader| &r.name == name) {
            bail!("exchange.log reader {name} is configured twice");
        }
        let role = match (reader.role, reader.portal_key) {
            (RawRole::Resident, Some(key)) => Role::Resident {
                portal_key: public_key(&key).with_context(|| {
                    format!("exchange.log reader {name}: portal_key must be a 32-byte Ed25519 key in base64 (loket portal public-key prints it)")
                })?,
            },
            (RawRole::Resident, None) => Role::Resident {
                portal_key: own_portal.with_context(|| {
                    format!("exchange.log reader {name}: give the portal_key of the portal that reads (loket portal public-key prints it); only a configuration whose [portal] has an inzage_key may leave it out")
                })?,
            },
            (RawRole::PrivacyOfficer, Some(_)) => {
                bail!("exchange.log reader {name}: only a reader with role resident has a portal_key")
            }
            (RawRole::PrivacyOfficer, None) => Role::PrivacyOfficer,
        };
        if let Role::Resident { portal_key } = role
            && Some(portal_key) == own_portal
        {
            portal_token.get_or_insert_with(|| reader.token.clone());
        }
        readers.push(Reader::new(name, &reader.token, role));
    }
    if let Some(management) = &raw.management
        && management.token.expose().len() < MIN_TOKEN
    {
        bail!("exchange.management: the token must be at least {MIN_TOKEN} characters");
    }
    if let Some(unnamed) = raw
        .inway
        .iter()
        .flat_map(|i| i.services.keys())
        .find(|name| !loket_exchange::manager::is_service_name(name))
    {
        bail!("exchange.inway.services: {unnamed:?} is not a service name (a-z, 0-9, -)");
    }
    let inway = match raw.inway {
        Some(inway) => Some(InwaySettings {
            listen: inway.listen,
            services: inway
                .services
                .into_iter()
                .map(|(name, service)| match service {
                    RawInwayService::Offered(offered) => Ok((
                        name,
                        loket_exchange::InwayService {
                            register: offered.register,
                            activity: offered.verwerkingsactiviteit,
                        },
                    )),
                    RawInwayService::AddressOnly(address) => Err(anyhow::anyhow!(
                        "exchange.inway.services.{name}: give the register and the processing activity of your own register under which you provide its data: {name} = {{ register = {address:?}, verwerkingsactiviteit = \"https://...\" }}"
                    )),
                })
                .collect::<anyhow::Result<_>>()?,
        }),
        None => None,
    };
    let previous = match (raw.previous_certificate, raw.previous_private_key) {
        (Some(certificate), Some(private_key)) => Some(PreviousIdentity {
            certificate,
            private_key,
        }),
        (None, None) => None,
        _ => bail!(
            "exchange.previous_certificate and exchange.previous_private_key: give both, or neither"
        ),
    };
    let mut settings = ExchangeSettings {
        display_name: raw.name,
        certificate: raw.certificate,
        private_key: raw.private_key,
        trust_anchors: raw.trust_anchors,
        revocation_lists_file: raw.revocation_lists_file,
        whole_chain_revocation: matches!(raw.revocation_check, RawRevocationCheck::Chain),
        refuse_overdue_revocation_lists: matches!(raw.overdue_revocation_lists, RawOverdue::Refuse),
        previous,
        directory,
        directory_peer: String::new(),
        group_id: match raw.group_id {
            Some(id) if loket_exchange::manager::is_group_id(&id) => id,
            Some(id) => bail!(
                "exchange.group_id: {id:?} is not an FSC group id (1 to 100 of a-z, 0-9, . and -)"
            ),
            None => loket_exchange::manager::GROUP_ID.to_owned(),
        },
        activities: raw.activities,
        log: LogSettings {
            listen: raw.log.listen,
            keys: raw.log.keys,
            readers,
            portal_token,
        },
        outway: raw.outway.map(|o| o.listen),
        inway,
        management: raw.management.map(|m| ManagementSettings {
            listen: m.listen,
            token: m.token,
        }),
    };
    // Fail at start, naming the key, rather than at the first request.
    let identity = settings.identity().context("exchange.certificate")?;
    let trust = settings.trust()?;
    match loket_exchange::tls::check_identity(&identity, &trust) {
        // Only the exchange cannot start then (`exchange_peer::start` says so); other
        // commands (revoking a contract, reading the log's key) still work.
        Err(error) if crate::exchange_peer::overdue_list(&error) => {}
        checked => checked.context(
            "exchange.certificate and exchange.private_key: peers would not accept this identity (not from a trust anchor, not valid now, revoked, or its CA's revocation list missing)",
        )?,
    }
    check_previous(&settings, &identity, &trust)?;
    let activities = settings.activities().context("exchange.activities")?;
    // Every record of the inway names the provider's own activity for its service.
    for (name, service) in settings.inway.iter().flat_map(|i| &i.services) {
        if activities.get(&service.activity).is_none() {
            bail!(
                "exchange.inway.services.{name}.verwerkingsactiviteit: {} is not in the register of processing activities (exchange.activities_file; without it, the built-in register of the demo municipality): name the activity of your own register under which you provide this service's data",
                service.activity
            );
        }
    }
    settings.directory_peer = match raw.directory_peer {
        Some(oin) => loket_core::Oin::parse(&oin)
            .map_err(|_| anyhow::anyhow!("exchange.directory_peer: {oin:?} is not an OIN"))?
            .as_str()
            .to_owned(),
        None => identity.oin.as_str().to_owned(),
    };
    Ok(settings)
}

/// The certificate before a renewal must be this organisation's, with another key, and
/// one peers accept. One that ended or was revoked is left for the start to warn about
/// and leave out, rather than stopping a configuration that was good yesterday.
fn check_previous(
    settings: &ExchangeSettings,
    identity: &loket_exchange::pki::Identity,
    trust: &loket_exchange::tls::Trust,
) -> anyhow::Result<()> {
    let Some(previous) = settings
        .previous_identity()
        .context("exchange.previous_certificate")?
    else {
        return Ok(());
    };
    if previous.oin != identity.oin {
        bail!(
            "exchange.previous_certificate is of another organisation (OIN {}): give this organisation's certificate from before its renewal",
            previous.oin.as_str()
        );
    }
    if previous.thumbprint == identity.thumbprint {
        bail!(
            "exchange.previous_certificate has the same key as exchange.certificate: leave it out (a renewal with the same key changes nothing for the connections)"
        );
    }
    match loket_exchange::tls::check_identity(&previous, trust) {
        Err(error) if !crate::exchange_peer::out_of_use(&error) => Err(error).context(
            "exchange.previous_certificate and exchange.previous_private_key: peers would not accept this identity",
        ),
        _ => Ok(()),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawZakenApi {
    listen: SocketAddr,
    /// The scheme and host clients use, for the `url` of every resource.
    public_url: Option<String>,
    #[serde(default)]
    clients: Vec<RawZgwClient>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawZgwClient {
    client_id: String,
    /// The shared secret the client signs its JWTs with (HS256).
    secret: Secret<String>,
    /// Per zaaktype (a product id of the catalogue), the scopes the client has.
    autorisaties: std::collections::BTreeMap<String, Vec<loket_zaken::zgw_auth::Scope>>,
}

/// Shorter HS256 secrets can be guessed offline from one signed token.
const MIN_ZGW_SECRET: usize = 32;

fn zaken_api(
    raw: RawZakenApi,
    catalogue: &loket_zaken::catalogue::Catalogue,
) -> anyhow::Result<crate::platform::ZakenApiSettings> {
    use loket_zaken::zgw_auth::{Client, Clients};
    let mut clients = Vec::new();
    for client in raw.clients {
        let id = &client.client_id;
        if client.secret.expose().len() < MIN_ZGW_SECRET {
            bail!("zaken_api client {id}: the secret must be at least {MIN_ZGW_SECRET} characters");
        }
        if let Some(unknown) = client
            .autorisaties
            .keys()
            .find(|zaaktype| catalogue.product(zaaktype).is_none())
        {
            bail!("zaken_api client {id}: there is no product {unknown} in the catalogue");
        }
        if clients.iter().any(|c: &Client| &c.client_id == id) {
            bail!("zaken_api client {id} is configured twice");
        }
        clients.push(Client {
            client_id: client.client_id,
            secret: client.secret,
            autorisaties: client.autorisaties,
        });
    }
    Ok(crate::platform::ZakenApiSettings {
        listen: raw.listen,
        public_url: raw.public_url,
        clients: Clients::new(clients),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStorage {
    /// `sqlite:DIR` or `postgres://…`; may hold a password, hence secret.
    url: Secret<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResidentPortal {
    listen: SocketAddr,
    /// The municipality's outway, through which the portal asks the registers.
    #[serde(default)]
    outway: Option<String>,
    /// At least 32 characters that seal residents' sessions; without it a new key is
    /// made at every start (and every session ends with a restart).
    #[serde(default)]
    session_key: Option<Secret<String>>,
    /// The municipality's DigiD broker (OpenID Connect); without it nobody can log in.
    #[serde(default)]
    digid: Option<RawOidc>,
    /// The processing activities the portal names when it asks the registers (default:
    /// those of the built-in register).
    #[serde(default)]
    verwerkingsactiviteiten: Option<RawPortalActivities>,
    /// Other organisations' processing logs residents can read about themselves in.
    #[serde(default)]
    logboeken: Vec<RawLogSource>,
    /// At least 32 characters the portal's signing key for resident assertions is made
    /// from; each log the portal reads knows its public key (`loket portal public-key`).
    #[serde(default)]
    inzage_key: Option<Secret<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLogSource {
    /// The organisation, as residents know it.
    organisatie: String,
    /// The log's read API (without `/lezenapi/v1`).
    url: String,
    /// The portal's token there (role resident).
    token: Secret<String>,
    /// The log's Ed25519 public key, base64 (`loket log public-key` prints it).
    public_key: String,
}

/// The portal's key for its resident assertions, made from `portal.inzage_key`; a portal
/// that reads no log needs none.
fn assertion_signer(portal: &RawResidentPortal) -> anyhow::Result<Option<Arc<AssertionSigner>>> {
    match &portal.inzage_key {
        Some(secret) => Ok(Some(Arc::new(
            AssertionSigner::from_secret(secret).context("portal.inzage_key")?,
        ))),
        None if !portal.logboeken.is_empty() => bail!(
            "portal.inzage_key: a portal that reads processing logs (portal.logboeken) needs a key to sign which resident asks; give at least 32 random characters"
        ),
        None => Ok(None),
    }
}

/// A 32-byte Ed25519 public key in base64.
fn public_key(text: &str) -> Option<[u8; 32]> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()?
        .try_into()
        .ok()
}

fn log_source(raw: RawLogSource) -> anyhow::Result<loket_web::portaal::LogSource> {
    let name = &raw.organisatie;
    if !(raw.url.starts_with("https://") || raw.url.starts_with("http://")) {
        bail!("portal.logboeken {name}: the url must start with https:// or http://");
    }
    let public_key = public_key(&raw.public_key).with_context(|| {
        format!("portal.logboeken {name}: public_key must be a 32-byte Ed25519 key in base64")
    })?;
    Ok(loket_web::portaal::LogSource {
        organisatie: raw.organisatie,
        url: raw.url.trim_end_matches('/').to_owned(),
        token: raw.token,
        public_key: public_key.to_vec(),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPortalActivities {
    /// Showing residents their own data.
    mijn_gegevens: String,
    /// Telling residents in time (a travel document that expires).
    attenderen: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWerkplek {
    listen: SocketAddr,
    /// The municipality's identity provider for staff (OpenID Connect), besides the
    /// workspace's own passwords.
    #[serde(default)]
    oidc: Option<RawOidc>,
}

/// An OpenID provider and this client's registration there.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOidc {
    issuer: String,
    client_id: String,
    client_secret: Secret<String>,
    /// This service's own address followed by its return path (`/inloggen/terug` for the
    /// portal, `/werkplek/inloggen/terug` for the workspace), as registered.
    redirect_url: String,
    /// The claim naming the user: the BSN (default `sub`) or the staff account (default
    /// `preferred_username`).
    #[serde(default)]
    claim: Option<String>,
}

impl RawOidc {
    fn settings(self, default_claim: &str) -> loket_web::oidc::OidcSettings {
        loket_web::oidc::OidcSettings {
            issuer: self.issuer,
            client_id: self.client_id,
            client_secret: self.client_secret,
            redirect_url: self.redirect_url,
            claim: self.claim.unwrap_or_else(|| default_claim.to_owned()),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawListen {
    listen: SocketAddr,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLog {
    #[serde(default)]
    format: LogFormat,
}

/// The key that seals residents' sessions: the configured one, or a fresh one.
fn portal_key(configured: Option<Secret<String>>) -> anyhow::Result<Secret<Vec<u8>>> {
    match configured {
        Some(key) if key.expose().len() < 32 => {
            bail!("portal.session_key must be at least 32 characters")
        }
        Some(key) => Ok(Secret::new(key.expose().as_bytes().to_vec())),
        None => {
            tracing::warn!("no portal.session_key: residents' sessions end when Loket restarts");
            Ok(crate::platform::random_key()?)
        }
    }
}

#[derive(Debug)]
pub struct Config {
    pub platform: PlatformSettings,
    pub log_format: LogFormat,
}

/// The top-level keys an environment variable may set (`LOKET_RSIN`, or as a file
/// `LOKET_RSIN_FILE`); other top-level `LOKET_*` variables belong to something else
/// (`LOKET_CONFIG`).
const TOP_LEVEL: [&str; 4] = ["municipality", "municipality_code", "rsin", "catalogue_dir"];

/// Whether the variable `LOKET_{key}` is a setting. figment hands the name over as
/// written (`RSIN`) and lowercases it only afterwards, so compare without case.
fn is_setting(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    let top = lower.strip_suffix("_file").unwrap_or(&lower);
    lower.contains("__") || TOP_LEVEL.contains(&top)
}

/// The settings in the file at `path` and in `LOKET_*` variables, each as given (its
/// `_file` keys not read yet).
fn sources(path: &Path) -> anyhow::Result<(Dict, Dict)> {
    if !path.is_file() {
        bail!("configuration file {} does not exist", path.display());
    }
    let from_file: Dict = Figment::from(Toml::file(path))
        .extract()
        .with_context(|| format!("cannot read {}", path.display()))?;
    // Only nested keys (LOKET_STORAGE__URL) and known top-level ones, so that unrelated
    // LOKET_* variables (LOKET_CONFIG, LOKET_TEST_POSTGRES_URL) are not taken for settings.
    let env = Env::prefixed("LOKET_")
        .filter(|key| is_setting(key.as_str()))
        .split("__");
    let from_env: Dict = Figment::from(env)
        .extract()
        .context("cannot read LOKET_* environment variables")?;
    Ok((from_file, from_env))
}

/// The settings of the file at `path` (`from_file`) with the environment's over them,
/// as `T`. An error names each key as the file writes it and where it came from, not
/// figment's profile and the Rust type that carried the settings here.
fn settings<T: serde::de::DeserializeOwned>(
    path: &Path,
    from_file: Dict,
    from_env: Dict,
) -> anyhow::Result<T> {
    Figment::from(Named(path.display().to_string(), from_file))
        .merge(Named("LOKET_* variables".to_owned(), from_env))
        .extract()
        .map_err(|error| {
            let problems: Vec<String> = error
                .into_iter()
                .map(|error| {
                    let key = error.path.join(".");
                    // A key missing from a section has no source of its own.
                    let from = error.metadata.map_or_else(
                        || format!(" (in {} or LOKET_* variables)", path.display()),
                        |m| format!(" (in {})", m.name),
                    );
                    match key.as_str() {
                        "" => format!("{}{from}", error.kind),
                        key => format!("{key}: {}{from}", error.kind),
                    }
                })
                .collect();
            anyhow::anyhow!("invalid configuration: {}", problems.join("; "))
        })
}

/// Settings already read (their `_file` keys resolved), under the name of their source.
struct Named(String, Dict);

impl figment::Provider for Named {
    fn metadata(&self) -> figment::Metadata {
        figment::Metadata::named(self.0.clone())
    }

    fn data(&self) -> Result<figment::value::Map<figment::Profile, Dict>, figment::Error> {
        // Written out again, the values lose the tags of the figment that read them, so
        // that an error finds this source by the tags this one gives.
        let dict = match Value::serialize(&self.1)? {
            Value::Dict(_, dict) => dict,
            _ => Dict::new(),
        };
        Ok(figment::Profile::Default.collect(dict))
    }
}

/// What `loket log verify --config` needs, and only that. Nothing else in the
/// configuration is read or checked (certificates, other parts' secret files), so the
/// log can be verified when the rest no longer holds: after the certificate expired or
/// was revoked, say, which is when an auditor looks.
#[derive(Debug)]
pub struct LogToVerify {
    pub storage: StorageUrl,
    /// The log's keys and its head file (`exchange.log.keys`).
    pub keys: std::path::PathBuf,
    /// The organisation (`exchange.name`).
    pub name: String,
}

#[derive(Debug, Deserialize)]
struct RawLogOnly {
    storage: RawStorage,
    exchange: Option<RawLogOwner>,
}

#[derive(Debug, Deserialize)]
struct RawLogOwner {
    name: String,
    log: RawLogKeys,
}

#[derive(Debug, Deserialize)]
struct RawLogKeys {
    keys: std::path::PathBuf,
}

pub fn load_log(path: &Path) -> anyhow::Result<LogToVerify> {
    let (mut from_file, mut from_env) = sources(path)?;
    for (dict, prefix) in [(&mut from_file, ""), (&mut from_env, "LOKET_")] {
        dict.retain(|key, _| key == "storage" || key == "exchange");
        if let Some(Value::Dict(_, exchange)) = dict.get_mut("exchange") {
            exchange.retain(|key, _| key == "name" || key == "log");
            if let Some(Value::Dict(_, log)) = exchange.get_mut("log") {
                log.retain(|key, _| key == "keys");
            }
        }
        resolve_files(dict, prefix)?;
    }
    let raw: RawLogOnly = settings(path, from_file, from_env)?;
    let exchange = raw
        .exchange
        .context("the configuration has no [exchange], so no processing log")?;
    Ok(LogToVerify {
        storage: raw.storage.url.expose().parse().context("storage.url")?,
        keys: exchange.log.keys,
        name: exchange.name,
    })
}

pub fn load(path: &Path) -> anyhow::Result<Config> {
    // `_file` keys are resolved per source, so that an environment variable (either form)
    // overrides the file's value (either form), and one source naming both is an error.
    let (mut from_file, mut from_env) = sources(path)?;
    resolve_files(&mut from_file, "")?;
    resolve_files(&mut from_env, "LOKET_")?;
    let raw: RawConfig = settings(path, from_file, from_env)?;
    let storage: StorageUrl = raw.storage.url.expose().parse().context("storage.url")?;
    let catalogue = crate::process::catalogue(raw.catalogue_dir.as_deref())
        .context("catalogue_dir: the product catalogue")?;
    let zaken_api = raw
        .zaken_api
        .map(|api| zaken_api(api, &catalogue))
        .transpose()?;
    let assertions = match &raw.portal {
        Some(portal) => assertion_signer(portal)?,
        None => None,
    };
    let exchange = raw
        .exchange
        .map(|e| exchange(e, &storage, assertions.as_ref().map(|a| a.public_key())))
        .transpose()?;
    // Products are applied for and decided in the portal and the werkplek; an
    // organisation that only provides (an inway, a log) asks under none of them.
    if let Some(exchange) = &exchange
        && (raw.portal.is_some() || raw.werkplek.is_some())
    {
        products_ask_under_registered_activities(&catalogue, exchange)?;
    }
    let gemeente = gemeente(&raw.municipality, raw.municipality_code, raw.rsin)?;
    let (portal_listen, portal) = match raw.portal {
        Some(portal) => (
            Some(portal.listen),
            portal_wiring(portal, exchange.as_ref(), assertions)?,
        ),
        None => (None, no_portal()?),
    };
    Ok(Config {
        platform: PlatformSettings {
            storage,
            portal_listen,
            registers: [
                (RegisterName::Brp, raw.brp),
                (RegisterName::Reisdocumenten, raw.reisdocumenten),
                (RegisterName::Rdw, raw.rdw),
                (RegisterName::Duo, raw.duo),
                (RegisterName::Inkomen, raw.inkomen),
            ]
            .into_iter()
            .filter_map(|(name, register)| register.map(|r| (name, r.listen)))
            .collect(),
            municipality: raw.municipality,
            gemeente,
            demo: false,
            catalogue: std::sync::Arc::new(catalogue),
            werkplek_listen: raw.werkplek.as_ref().map(|w| w.listen),
            werkplek_oidc: raw
                .werkplek
                .and_then(|w| w.oidc)
                .map(|o| o.settings("preferred_username")),
            zaken_api,
            exchange,
            portal,
            operations_listen: raw.operations.map(|o| o.listen),
        },
        log_format: raw.log.format,
    })
}

/// A product asks the registers under its processing activity: one the exchange's
/// register does not hold would have every request for it refused, and name no purpose
/// to residents.
fn products_ask_under_registered_activities(
    catalogue: &loket_zaken::catalogue::Catalogue,
    exchange: &ExchangeSettings,
) -> anyhow::Result<()> {
    let register = exchange.activities()?;
    for product in catalogue.products() {
        if let Some(id) = &product.verwerkingsactiviteit
            && register.get(id).is_none()
        {
            bail!(
                "catalogue: product {} asks under processing activity {id}, which is not in the register of processing activities (exchange.activities); give the product the municipality's own activity (catalogue_dir)",
                product.id
            );
        }
    }
    Ok(())
}

/// What the configured portal is connected to.
fn portal_wiring(
    raw: RawResidentPortal,
    exchange: Option<&ExchangeSettings>,
    assertions: Option<Arc<AssertionSigner>>,
) -> anyhow::Result<crate::platform::PortalWiring> {
    let logs = raw
        .logboeken
        .into_iter()
        .map(log_source)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let activities =
        raw.verwerkingsactiviteiten
            .map_or_else(crate::platform::built_in_portal_activities, |a| {
                loket_zaken::inwoner::Activities {
                    mijn_gegevens: a.mijn_gegevens,
                    attenderen: a.attenderen,
                }
            });
    // Asking under an activity the log does not know would name no purpose to residents.
    let mut known_activities = HashMap::new();
    let mut municipality_oin = String::new();
    if let Some(exchange) = exchange {
        municipality_oin = exchange.identity()?.oin.as_str().to_owned();
        let register = exchange.activities()?;
        for id in [&activities.mijn_gegevens, &activities.attenderen] {
            if register.get(id).is_none() {
                bail!(
                    "portal.verwerkingsactiviteiten: {id} is not in the register of processing activities"
                );
            }
        }
        known_activities = crate::platform::known_activities(&register);
    }
    Ok(crate::platform::PortalWiring {
        outway: raw.outway,
        logs,
        session_key: portal_key(raw.session_key)?,
        assertions,
        personas: Vec::new(),
        digid: raw.digid.map(|d| d.settings("sub")),
        activities,
        municipality_oin,
        known_activities,
    })
}

/// Without `[portal]`: nothing is served, so nothing needs to be connected.
fn no_portal() -> anyhow::Result<crate::platform::PortalWiring> {
    Ok(crate::platform::PortalWiring {
        outway: None,
        logs: Vec::new(),
        session_key: crate::platform::random_key()?,
        assertions: None,
        personas: Vec::new(),
        digid: None,
        activities: crate::platform::built_in_portal_activities(),
        municipality_oin: String::new(),
        known_activities: HashMap::new(),
    })
}

/// The municipality as the process layer knows it, its code and RSIN checked.
fn gemeente(
    name: &str,
    code: String,
    rsin: String,
) -> anyhow::Result<loket_zaken::apply::Gemeente> {
    if code.len() != 4 || !code.bytes().all(|b| b.is_ascii_digit()) {
        bail!("municipality_code must be the four-digit CBS code (e.g. \"0363\"), not {code:?}");
    }
    // An RSIN has the BSN's form and check digit (the elfproef).
    if loket_core::Bsn::parse(&rsin).is_err() {
        bail!("rsin must be nine digits that pass the eleven-test, not {rsin:?}");
    }
    Ok(loket_zaken::apply::Gemeente {
        code,
        naam: name.to_owned(),
        rsin,
    })
}

/// Replace every `name_file = "/path"` by `name = <contents of /path>`.
/// `_file` keys whose file is read again while running: they stay paths.
const READ_WHILE_RUNNING: [&str; 1] = ["exchange.revocation_lists_file"];

fn resolve_files(dict: &mut Dict, prefix: &str) -> anyhow::Result<()> {
    let at = prefix.trim_start_matches("LOKET_");
    let file_keys: Vec<String> = dict
        .keys()
        .filter(|k| k.ends_with("_file"))
        .filter(|k| !READ_WHILE_RUNNING.contains(&format!("{at}{k}").as_str()))
        .cloned()
        .collect();
    for file_key in file_keys {
        let name = file_key.trim_end_matches("_file").to_owned();
        if dict.contains_key(&name) {
            bail!("both {prefix}{name} and {prefix}{file_key} are set; use one");
        }
        let Some(Value::String(_, path)) = dict.remove(&file_key) else {
            bail!("{prefix}{file_key} must be a file path");
        };
        let contents = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {prefix}{file_key} ({path})"))?;
        // Secret files usually end in a newline that is not part of the secret.
        let value = contents.trim_end_matches(['\n', '\r']).to_owned();
        dict.insert(name, Value::from(value));
    }
    for (key, value) in dict.iter_mut() {
        match value {
            Value::Dict(_, child) => resolve_files(child, &format!("{prefix}{key}."))?,
            // Arrays of tables too: each ZGW client may keep its secret in a file.
            Value::Array(_, items) => {
                for (index, item) in items.iter_mut().enumerate() {
                    if let Value::Dict(_, child) = item {
                        resolve_files(child, &format!("{prefix}{key}[{index}]."))?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn top_level_variables_are_settings_in_any_case_and_others_are_not() {
        for setting in [
            "RSIN",
            "rsin",
            "MUNICIPALITY",
            "Municipality_Code",
            "RSIN_FILE",
            "CATALOGUE_DIR",
            "STORAGE__URL",
            "storage__url_file",
        ] {
            assert!(super::is_setting(setting), "{setting}");
        }
        for other in ["CONFIG", "TEST_POSTGRES_URL", "FILE", "RSINX", "BIN"] {
            assert!(!super::is_setting(other), "{other}");
        }
    }

    use super::*;

    /// The smallest valid configuration; tests add to it or change one value.
    const MINIMAL: &str = "municipality = \"X\"\nmunicipality_code = \"0363\"\nrsin = \"123456782\"\n[storage]\nurl = \"sqlite:/tmp/x\"\n[portal]\nlisten = \"127.0.0.1:1\"\n";

    fn write(dir: &Path, name: &str, contents: &str) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    #[test]
    fn reads_toml_and_secret_files() {
        let dir = tempfile::tempdir().unwrap();
        let secret = write(dir.path(), "db-url", "postgres://loket:hunter2@db/loket\n");
        let config = write(
            dir.path(),
            "loket.toml",
            &format!(
                "municipality = \"Gemeente Test\"\nmunicipality_code = \"0363\"\nrsin = \"123456782\"\n[storage]\nurl_file = \"{}\"\n[portal]\nlisten = \"0.0.0.0:8080\"\n",
                secret.display()
            ),
        );
        let loaded = load(&config).unwrap();
        assert!(
            matches!(&loaded.platform.storage, StorageUrl::Postgres(url) if url.expose() == "postgres://loket:hunter2@db/loket")
        );
        assert_eq!(loaded.platform.portal_listen.map(|l| l.port()), Some(8080));
        assert_eq!(loaded.platform.gemeente.code, "0363");
        assert_eq!(loaded.platform.gemeente.rsin, "123456782");
        assert_eq!(loaded.log_format, LogFormat::Json);
        assert!(
            !format!("{loaded:?}").contains("hunter2"),
            "secrets must not show in Debug"
        );
    }

    #[test]
    fn zgw_clients_are_configured_with_secrets_from_files() {
        let dir = tempfile::tempdir().unwrap();
        let secret = write(dir.path(), "zgw", "0123456789abcdef0123456789abcdef\n");
        let base = format!(
            "{MINIMAL}[zaken_api]\nlisten = \"127.0.0.1:8090\"\npublic_url = \"https://zaken.example\"\n"
        );
        let client = |secret: &str, zaaktype: &str| {
            format!(
                "[[zaken_api.clients]]\nclient_id = \"formulieren\"\n{secret}\n[zaken_api.clients.autorisaties]\n{zaaktype} = [\"zaken.lezen\", \"zaken.aanmaken\"]\n"
            )
        };
        let good = write(
            dir.path(),
            "good.toml",
            &format!(
                "{base}{}",
                client(
                    &format!("secret_file = \"{}\"", secret.display()),
                    "bewonersparkeervergunning"
                )
            ),
        );
        let loaded = load(&good).unwrap();
        let api = loaded.platform.zaken_api.unwrap();
        assert_eq!(api.listen.port(), 8090);
        let configured = api.clients.get("formulieren").unwrap();
        assert_eq!(
            configured.secret.expose(),
            "0123456789abcdef0123456789abcdef"
        );
        assert!(configured.may(
            "bewonersparkeervergunning",
            loket_zaken::zgw_auth::Scope::Aanmaken
        ));
        let short = write(
            dir.path(),
            "short.toml",
            &format!(
                "{base}{}",
                client("secret = \"kort\"", "bewonersparkeervergunning")
            ),
        );
        assert!(format!("{:#}", load(&short).unwrap_err()).contains("at least 32"));
        let unknown = write(
            dir.path(),
            "unknown.toml",
            &format!(
                "{base}{}",
                client(
                    "secret = \"0123456789abcdef0123456789abcdef\"",
                    "hondenbelasting"
                )
            ),
        );
        assert!(format!("{:#}", load(&unknown).unwrap_err()).contains("hondenbelasting"));
    }

    /// An exchange for the municipality (the demo's PKI in `dir/pki`), with `portal` added
    /// to the minimal `[portal]` and `reader` to its one log reader, of `role`.
    struct ExchangeToml<'a> {
        certificate: &'a str,
        token: &'a str,
        service: &'a str,
        /// What `[exchange.inway.services]` says of it.
        offered: &'a str,
        portal: &'a str,
        role: &'a str,
        reader: &'a str,
        /// More settings in `[exchange]`.
        settings: &'a str,
    }

    const OFFERED: &str = "{ register = \"http://127.0.0.1:4\", verwerkingsactiviteit = \"https://voorbeeldstad.example/verwerkingen/mijn-gegevens\" }";

    const INZAGE_KEY: &str = "inzage_key = \"the portal's assertions, 32 characters or more\"\n";

    impl Default for ExchangeToml<'_> {
        fn default() -> Self {
            Self {
                certificate: "gemeente.pem",
                token: "tttttttttttttttttttttttttttttttt",
                service: "zaken",
                offered: OFFERED,
                portal: INZAGE_KEY,
                role: "resident",
                reader: "",
                settings: "",
            }
        }
    }

    impl ExchangeToml<'_> {
        fn write(&self, dir: &Path) -> std::path::PathBuf {
            let pki = dir.join("pki");
            if !pki.exists() {
                loket_exchange::pki::init(&pki, &crate::exchange::organisations().unwrap())
                    .unwrap();
            }
            let Self {
                certificate,
                token,
                service,
                offered,
                portal,
                role,
                reader,
                settings,
            } = self;
            write(
                dir,
                "exchange.toml",
                &format!(
                    "{MINIMAL}{portal}\
                     [exchange]\nname = \"Gemeente X\"\n{settings}certificate_file = \"{pki}/{certificate}\"\n\
                     private_key_file = \"{pki}/gemeente.key\"\ntrust_anchors_file = \"{pki}/ca.pem\"\n\
                     [exchange.log]\nkeys = \"/tmp/keys\"\n[[exchange.log.readers]]\nname = \"portal\"\n\
                     role = \"{role}\"\ntoken = \"{token}\"\n{reader}[exchange.outway]\nlisten = \"127.0.0.1:2\"\n\
                     [exchange.inway]\nlisten = \"127.0.0.1:3\"\n[exchange.inway.services]\n\"{service}\" = {offered}\n",
                    pki = pki.display()
                ),
            )
        }
    }

    /// Every service of the inway names the activity of the organisation's own register
    /// its records are kept under; an address alone, or an activity the register does
    /// not hold, stops the start with what to write.
    #[test]
    fn an_inway_service_needs_an_activity_of_its_own_register() {
        let dir = tempfile::tempdir().unwrap();
        let refused = |offered: &str| {
            let path = ExchangeToml {
                offered,
                ..Default::default()
            }
            .write(dir.path());
            format!("{:#}", load(&path).unwrap_err())
        };
        let bare = refused("\"http://127.0.0.1:4\"");
        assert!(
            bare.contains("exchange.inway.services.zaken")
                && bare.contains("verwerkingsactiviteit = ")
                && bare.contains("register = \"http://127.0.0.1:4\""),
            "{bare}"
        );
        let unknown = refused(
            "{ register = \"http://127.0.0.1:4\", verwerkingsactiviteit = \"https://rvig.example/verwerkingen/verstrekking-brp\" }",
        );
        assert!(
            unknown.contains("exchange.inway.services.zaken.verwerkingsactiviteit")
                && unknown.contains("https://rvig.example/verwerkingen/verstrekking-brp"),
            "{unknown}"
        );
        let typo = refused(
            "{ register = \"http://127.0.0.1:4\", activiteit = \"https://voorbeeldstad.example/verwerkingen/mijn-gegevens\" }",
        );
        assert!(
            typo.contains("exchange.inway.services.zaken")
                && typo.contains("unknown field")
                && typo.contains("activiteit"),
            "{typo}"
        );
        let missing = refused("{ register = \"http://127.0.0.1:4\" }");
        assert!(
            missing.contains("missing field") && missing.contains("verwerkingsactiviteit"),
            "{missing}"
        );
    }

    #[test]
    fn the_exchange_takes_its_fsc_group_from_configuration_and_refuses_a_malformed_one() {
        let dir = tempfile::tempdir().unwrap();
        let config = |settings: &str| {
            ExchangeToml {
                settings,
                ..Default::default()
            }
            .write(dir.path())
        };
        let loaded = load(&config("group_id = \"fsc.voorbeeldregio.example\"\n")).unwrap();
        assert_eq!(
            loaded.platform.exchange.unwrap().group_id,
            "fsc.voorbeeldregio.example"
        );
        for bad in ["", "FSC Regio", "fsc/regio"] {
            let error = load(&config(&format!("group_id = {bad:?}\n"))).unwrap_err();
            assert!(
                format!("{error:#}").contains("exchange.group_id"),
                "{bad:?}: {error:#}"
            );
        }
    }

    /// A CA of the test's own in `dir/pki`, in place of the demo's: the municipality's
    /// certificate, and `others` for its OIN with other keys, each valid from and until
    /// the days given, as `<name>.pem` and `<name>.key`; and the CA's revocation list in
    /// `revoked.pem`, naming the certificates in `revoked`.
    fn pki_of_our_own(dir: &Path, others: &[(&str, i64, i64)], revoked: &[&str]) {
        use rcgen::{
            BasicConstraints, CertificateParams, CertificateRevocationListParams,
            DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyIdMethod, KeyPair,
            KeyUsagePurpose, RevokedCertParams, SerialNumber,
        };
        let pki = dir.join("pki");
        std::fs::create_dir_all(&pki).unwrap();
        let mut ca = CertificateParams::default();
        ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_key = KeyPair::generate().unwrap();
        let issuer = ca.self_signed(&ca_key).unwrap();
        std::fs::write(pki.join("ca.pem"), issuer.pem()).unwrap();
        let now = time::OffsetDateTime::now_utc();
        let mut revoked_serials = Vec::new();
        for (serial, (name, from, until)) in
            (1u64..).zip([("gemeente", -1, 365)].iter().chain(others))
        {
            if revoked.contains(name) {
                revoked_serials.push(serial);
            }
            let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
            params.serial_number = Some(SerialNumber::from(serial));
            params.distinguished_name = DistinguishedName::new();
            // 2.5.4.5 serialNumber: the OIN.
            params.distinguished_name.push(
                DnType::CustomDnType(vec![2, 5, 4, 5]),
                crate::exchange::GEMEENTE_OIN,
            );
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            params.extended_key_usages = vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ];
            params.not_before = now + time::Duration::days(*from);
            params.not_after = now + time::Duration::days(*until);
            let key = KeyPair::generate().unwrap();
            let cert = params.signed_by(&key, &issuer, &ca_key).unwrap();
            std::fs::write(pki.join(format!("{name}.pem")), cert.pem()).unwrap();
            std::fs::write(pki.join(format!("{name}.key")), key.serialize_pem()).unwrap();
        }
        // The current list, and one that was due to be replaced yesterday.
        for (file, issued, next) in [("revoked.pem", 0, 7), ("overdue.pem", -8, -1)] {
            let list = CertificateRevocationListParams {
                this_update: now + time::Duration::days(issued) - time::Duration::hours(1),
                next_update: now + time::Duration::days(next),
                crl_number: SerialNumber::from(1u64),
                issuing_distribution_point: None,
                revoked_certs: revoked_serials
                    .iter()
                    .map(|serial| RevokedCertParams {
                        serial_number: SerialNumber::from(*serial),
                        revocation_time: now,
                        reason_code: None,
                        invalidity_date: None,
                    })
                    .collect(),
                key_identifier_method: KeyIdMethod::Sha256,
            }
            .signed_by(&issuer, &ca_key)
            .unwrap();
            std::fs::write(pki.join(file), list.pem().unwrap()).unwrap();
        }
    }

    #[test]
    fn the_exchange_checks_certificates_against_the_revocation_lists_given() {
        let dir = tempfile::tempdir().unwrap();
        let config = |revoked: &[&str], lists: &str| {
            std::fs::remove_dir_all(dir.path().join("pki")).ok();
            pki_of_our_own(dir.path(), &[("vorig", -300, 30)], revoked);
            let settings = format!(
                "revocation_lists_file = \"{}\"\n",
                dir.path().join("pki").join(lists).display()
            );
            ExchangeToml {
                settings: &settings,
                ..Default::default()
            }
            .write(dir.path())
        };
        let loaded = load(&config(&["vorig"], "revoked.pem")).unwrap();
        assert!(
            loaded
                .platform
                .exchange
                .unwrap()
                .trust()
                .unwrap()
                .checks_revocation()
        );
        let chains = ExchangeToml {
            settings: &format!(
                "revocation_check = \"chain\"\nrevocation_lists_file = \"{}\"\n",
                dir.path().join("pki/revoked.pem").display()
            ),
            ..Default::default()
        };
        let chains = load(&chains.write(dir.path())).unwrap();
        let trust = chains.platform.exchange.unwrap().trust().unwrap();
        assert!(trust.checks_whole_chains() && trust.checks_revocation());
        let sideways = ExchangeToml {
            settings: "revocation_check = \"sideways\"\n",
            ..Default::default()
        };
        let sideways = format!("{:#}", load(&sideways.write(dir.path())).unwrap_err());
        assert!(sideways.contains("revocation_check"), "{sideways}");
        // A list past its nextUpdate: by default it counts (the start warns); refusing
        // overdue lists, the organisation's own certificate is refused: the configuration
        // still loads (for other commands), and the exchange's start says why it cannot.
        let overdue = |mode: &str| {
            let settings = format!(
                "revocation_lists_file = \"{}\"\n{mode}",
                dir.path().join("pki/overdue.pem").display()
            );
            let written = ExchangeToml {
                settings: &settings,
                ..Default::default()
            }
            .write(dir.path());
            load(&written).map(|loaded| {
                let exchange = loaded.platform.exchange.unwrap();
                (exchange.identity().unwrap(), exchange.trust().unwrap())
            })
        };
        let (identity, warning) = overdue("").unwrap();
        assert!(!warning.refuses_overdue_lists());
        assert!(loket_exchange::tls::check_identity(&identity, &warning).is_ok());
        let (identity, refusing) = overdue("overdue_revocation_lists = \"refuse\"\n").unwrap();
        assert!(refusing.refuses_overdue_lists());
        let refused = loket_exchange::tls::check_identity(&identity, &refusing).unwrap_err();
        assert!(crate::exchange_peer::overdue_list(&refused), "{refused}");
        let why = crate::exchange_peer::own_chain_usable(&identity, &refusing).unwrap_err();
        let why = format!("{why:#}");
        assert!(
            why.contains("past its nextUpdate") && why.contains("current list"),
            "{why}"
        );
        let sometimes = format!(
            "{:#}",
            overdue("overdue_revocation_lists = \"sometimes\"\n").unwrap_err()
        );
        assert!(
            sometimes.contains("overdue_revocation_lists"),
            "{sometimes}"
        );
        let without = load(&ExchangeToml::default().write(dir.path())).unwrap();
        assert!(
            !without
                .platform
                .exchange
                .unwrap()
                .trust()
                .unwrap()
                .checks_revocation()
        );

        let error = |path: std::path::PathBuf| format!("{:#}", load(&path).unwrap_err());
        let own_revoked = error(config(&["gemeente"], "revoked.pem"));
        assert!(own_revoked.contains("Revoked"), "{own_revoked}");
        assert!(
            own_revoked.contains("exchange.certificate"),
            "{own_revoked}"
        );
        let not_a_list = error(config(&[], "ca.pem"));
        assert!(
            not_a_list.contains("exchange.revocation_lists"),
            "{not_a_list}"
        );
        // The certificate from before a renewal is checked against them too: one the CA
        // revoked (as at a renewal) loads, and the start leaves it out.
        let previous_revoked = ExchangeToml {
            settings: &format!(
                "revocation_lists_file = \"{pki}/revoked.pem\"\nprevious_certificate_file = \"{pki}/vorig.pem\"\nprevious_private_key_file = \"{pki}/vorig.key\"\n",
                pki = dir.path().join("pki").display()
            ),
            ..Default::default()
        };
        pki_of_our_own(dir.path(), &[("vorig", -300, 30)], &["vorig"]);
        let loaded = load(&previous_revoked.write(dir.path())).unwrap();
        let exchange = loaded.platform.exchange.unwrap();
        let error = loket_exchange::tls::check_identity(
            &exchange.previous_identity().unwrap().unwrap(),
            &exchange.trust().unwrap(),
        )
        .unwrap_err();
        assert!(crate::exchange_peer::out_of_use(&error), "{error}");
        assert!(format!("{error}").contains("Revoked"), "{error}");
        // In DER, as CAs publish them, too.
        let der = dir.path().join("pki").join("revoked.crl");
        let pem = std::fs::read_to_string(dir.path().join("pki").join("revoked.pem")).unwrap();
        let list = loket_exchange::pki::revocation_lists(&pem, "test").unwrap();
        std::fs::write(&der, list[0].as_ref()).unwrap();
        let in_der = ExchangeToml {
            settings: &format!("revocation_lists_file = \"{}\"\n", der.display()),
            ..Default::default()
        };
        let loaded = load(&in_der.write(dir.path())).unwrap();
        let trust = loaded.platform.exchange.unwrap().trust().unwrap();
        assert_eq!(trust.revocation_lists().len(), 1);
    }

    #[test]
    fn the_certificate_from_before_a_renewal_must_be_ours_with_another_key() {
        let dir = tempfile::tempdir().unwrap();
        pki_of_our_own(
            dir.path(),
            &[("vorig", -300, 30), ("verlopen", -400, -1)],
            &[],
        );
        let demo = tempfile::tempdir().unwrap();
        loket_exchange::pki::init(demo.path(), &crate::exchange::organisations().unwrap()).unwrap();
        let pki = dir.path().join("pki");
        let config = |certificate: &Path, key: &Path| {
            let settings = format!(
                "previous_certificate_file = \"{}\"\nprevious_private_key_file = \"{}\"\n",
                certificate.display(),
                key.display()
            );
            ExchangeToml {
                settings: &settings,
                ..Default::default()
            }
            .write(dir.path())
        };
        let ours = |name: &str, ext: &str| pki.join(format!("{name}.{ext}"));

        let loaded = load(&config(&ours("vorig", "pem"), &ours("vorig", "key"))).unwrap();
        let exchange = loaded.platform.exchange.unwrap();
        let previous = exchange.previous_identity().unwrap().unwrap();
        let current = exchange.identity().unwrap();
        assert_eq!(previous.oin, current.oin);
        assert_ne!(previous.thumbprint, current.thumbprint);
        let trust = exchange.trust().unwrap();
        assert!(loket_exchange::tls::check_identity(&previous, &trust).is_ok());
        assert!(!format!("{:?}", exchange.previous).contains("PRIVATE"));

        // One that has ended loads: the start leaves it out with a warning, rather than
        // a configuration that was good yesterday stopping the exchange.
        let ended = load(&config(&ours("verlopen", "pem"), &ours("verlopen", "key"))).unwrap();
        let ended = ended.platform.exchange.unwrap().previous_identity();
        let error =
            loket_exchange::tls::check_identity(&ended.unwrap().unwrap(), &trust).unwrap_err();
        assert!(crate::exchange_peer::out_of_use(&error), "{error}");

        let error = |path: std::path::PathBuf| format!("{:#}", load(&path).unwrap_err());
        let same = error(config(&ours("gemeente", "pem"), &ours("gemeente", "key")));
        assert!(same.contains("same key"), "{same}");
        let mismatched = error(config(&ours("vorig", "pem"), &ours("gemeente", "key")));
        assert!(
            mismatched.contains("peers would not accept"),
            "{mismatched}"
        );
        let other_ca = error(config(
            &demo.path().join("gemeente.pem"),
            &demo.path().join("gemeente.key"),
        ));
        assert!(other_ca.contains("peers would not accept"), "{other_ca}");
        let other_organisation = error(config(
            &demo.path().join("rvig.pem"),
            &demo.path().join("rvig.key"),
        ));
        assert!(
            other_organisation.contains("another organisation"),
            "{other_organisation}"
        );
        let half = ExchangeToml {
            settings: &format!(
                "previous_certificate_file = \"{}\"\n",
                ours("vorig", "pem").display()
            ),
            ..Default::default()
        }
        .write(dir.path());
        assert!(error(half).contains("give both, or neither"));
    }

    #[test]
    fn the_exchange_takes_its_certificate_and_tokens_from_configuration() {
        let dir = tempfile::tempdir().unwrap();
        let config = |certificate: &str, token: &str, service: &str| {
            ExchangeToml {
                certificate,
                token,
                service,
                ..Default::default()
            }
            .write(dir.path())
        };
        let token = "t".repeat(32);
        let loaded = load(&config("gemeente.pem", &token, "zaken")).unwrap();
        let exchange = loaded.platform.exchange.unwrap();
        assert_eq!(exchange.directory_peer, crate::exchange::GEMEENTE_OIN);
        assert_eq!(exchange.group_id, loket_exchange::manager::GROUP_ID);
        assert!(
            matches!(&exchange.directory, StorageUrl::SqliteDir(d) if d == Path::new("/tmp/x"))
        );
        assert_eq!(exchange.log.portal_token.unwrap().expose(), &token);
        let zaken = &exchange.inway.unwrap().services["zaken"];
        assert_eq!(zaken.register, "http://127.0.0.1:4");
        assert_eq!(zaken.activity, crate::exchange::MIJN_GEGEVENS);
        assert!(!format!("{:?}", exchange.private_key).contains("PRIVATE"));

        let error = |path: std::path::PathBuf| format!("{:#}", load(&path).unwrap_err());
        assert!(
            error(config("gemeente.key", &token, "zaken")).contains("no usable PEM certificate")
        );
        assert!(error(config("gemeente.pem", "kort", "zaken")).contains("at least 32"));
        // RvIG's certificate with the municipality's key: no peer would accept it.
        assert!(error(config("rvig.pem", &token, "zaken")).contains("would not accept"));
        assert!(error(config("gemeente.pem", &token, "Zaken API")).contains("Zaken API"));
        // The portal's activities must be in the register the log explains them from.
        let path = config("gemeente.pem", &token, "zaken");
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("[portal.verwerkingsactiviteiten]\nmijn_gegevens = \"https://x.example/onbekend\"\nattenderen = \"https://voorbeeldstad.example/verwerkingen/attenderen\"\n");
        std::fs::write(&path, text).unwrap();
        assert!(error(path).contains("https://x.example/onbekend is not in the register"));
    }

    /// Verifying the log reads only the storage and the log's keys: it works when the
    /// certificate no longer does, and when other parts' secret files cannot be read.
    #[test]
    fn verifying_the_log_needs_only_its_storage_and_keys() {
        let dir = tempfile::tempdir().unwrap();
        let written = ExchangeToml::default().write(dir.path());
        let text = std::fs::read_to_string(&written).unwrap();
        let broken = text
            .replace("gemeente.pem", "expired-and-gone.pem")
            .replace("gemeente.key", "unreadable.key");
        std::fs::write(&written, broken).unwrap();
        assert!(load(&written).is_err());
        let log = load_log(&written).unwrap();
        assert_eq!(log.name, "Gemeente X");
        assert_eq!(log.keys, Path::new("/tmp/keys"));
        assert!(matches!(&log.storage, StorageUrl::SqliteDir(d) if d == Path::new("/tmp/x")));
        // Its own settings are still checked.
        std::fs::write(
            &written,
            text.replace("url = \"sqlite:/tmp/x\"", "url = \"ftp://x\""),
        )
        .unwrap();
        let bad = format!("{:#}", load_log(&written).unwrap_err());
        assert!(bad.contains("storage.url"), "{bad}");
        std::fs::write(&written, MINIMAL).unwrap();
        let none = format!("{:#}", load_log(&written).unwrap_err());
        assert!(none.contains("no [exchange]"), "{none}");
    }

    /// Each product asks under a processing activity of the exchange's register: a
    /// municipality with a register of its own gives its catalogue its own activities.
    #[test]
    fn the_catalogues_activities_must_be_in_the_exchanges_register() {
        let dir = tempfile::tempdir().unwrap();
        let activity = |id: &str| {
            format!(
                "[[verwerkingsactiviteit]]\nid = \"{id}\"\nbewaartermijnDagen = 365\nnaam = {{ nl = \"N\", en = \"N\" }}\ndoel = {{ nl = \"D\", en = \"D\" }}\ngrondslag = {{ nl = \"G\", en = \"G\" }}\n"
            )
        };
        let own = "https://voorbeeldstad.nl/verwerkingen/parkeren";
        let register = [
            crate::exchange::MIJN_GEGEVENS,
            crate::exchange::ATTENDEREN,
            own,
        ]
        .map(activity)
        .concat();
        let register = write(dir.path(), "activities.toml", &register);
        let settings = format!("activities_file = \"{}\"\n", register.display());
        let written = ExchangeToml {
            settings: &settings,
            ..Default::default()
        }
        .write(dir.path());
        let refused = format!("{:#}", load(&written).unwrap_err());
        assert!(
            refused.contains("product bewonersparkeervergunning")
                && refused.contains(crate::exchange::PARKEREN),
            "{refused}"
        );

        // The catalogue with the municipality's own activity for the parking permit.
        let catalogue = dir.path().join("catalogue");
        std::fs::create_dir(&catalogue).unwrap();
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../catalogue");
        for file in std::fs::read_dir(&shipped).unwrap() {
            let file = file.unwrap().path();
            let text = std::fs::read_to_string(&file).unwrap();
            let text = text.replace(crate::exchange::PARKEREN, own);
            std::fs::write(catalogue.join(file.file_name().unwrap()), text).unwrap();
        }
        let text = std::fs::read_to_string(&written).unwrap();
        let text = format!("catalogue_dir = \"{}\"\n{text}", catalogue.display());
        std::fs::write(&written, text).unwrap();
        let loaded = load(&written).unwrap();
        let product = loaded
            .platform
            .catalogue
            .product("bewonersparkeervergunning")
            .unwrap();
        assert_eq!(product.verwerkingsactiviteit.as_deref(), Some(own));
        // A catalogue directory that is not there is named.
        let text = std::fs::read_to_string(&written)
            .unwrap()
            .replace(&*catalogue.to_string_lossy(), "/nonexistent/catalogue");
        std::fs::write(&written, text).unwrap();
        let missing = format!("{:#}", load(&written).unwrap_err());
        assert!(missing.contains("catalogue_dir"), "{missing}");
    }

    /// A resident reader of the log names the portal whose assertions it accepts; this
    /// configuration's own portal reads its own log only when that is the one.
    #[test]
    fn a_resident_reader_names_the_portal_that_reads() {
        let dir = tempfile::tempdir().unwrap();
        let load_with = |toml: ExchangeToml| load(&toml.write(dir.path()));
        let error = |toml: ExchangeToml| format!("{:#}", load_with(toml).unwrap_err());
        let own = AssertionSigner::from_secret(&Secret::new(
            "the portal's assertions, 32 characters or more".to_owned(),
        ))
        .unwrap();
        let loaded = load_with(ExchangeToml::default()).unwrap();
        let portal = loaded.platform.portal.assertions.unwrap();
        assert_eq!(portal.public_key(), own.public_key());
        assert!(loaded.platform.exchange.unwrap().log.portal_token.is_some());

        // Another portal's key: that portal reads here, this one does not.
        let other = AssertionSigner::from_secret(&Secret::new("x".repeat(40))).unwrap();
        let reader = format!("portal_key = \"{}\"\n", other.public_key_base64());
        let loaded = load_with(ExchangeToml {
            reader: &reader,
            ..Default::default()
        })
        .unwrap();
        assert!(loaded.platform.exchange.unwrap().log.portal_token.is_none());
        // Naming its own key is the same as leaving it out.
        let reader = format!("portal_key = \"{}\"\n", own.public_key_base64());
        let loaded = load_with(ExchangeToml {
            reader: &reader,
            ..Default::default()
        })
        .unwrap();
        assert!(loaded.platform.exchange.unwrap().log.portal_token.is_some());

        assert!(
            error(ExchangeToml {
                portal: "",
                ..Default::default()
            })
            .contains("give the portal_key")
        );
        assert!(
            error(ExchangeToml {
                reader: "portal_key = \"AAAA\"\n",
                ..Default::default()
            })
            .contains("32-byte Ed25519 key")
        );
        // Each reader its own token: the API knows a reader by its token alone.
        let twice = "[[exchange.log.readers]]\nname = \"fg\"\nrole = \"privacy-officer\"\n\
                     token = \"tttttttttttttttttttttttttttttttt\"\n";
        assert!(
            error(ExchangeToml {
                reader: twice,
                ..Default::default()
            })
            .contains("same token")
        );
        assert!(
            error(ExchangeToml {
                role: "privacy-officer",
                reader: &reader,
                ..Default::default()
            })
            .contains("only a reader with role resident")
        );
        assert!(
            error(ExchangeToml {
                portal: "inzage_key = \"kort\"\n",
                ..Default::default()
            })
            .contains("at least 32")
        );
        // A portal that reads other organisations' logs must be able to say who asks.
        let logboek = format!(
            "[[portal.logboeken]]\norganisatie = \"RvIG\"\nurl = \"http://127.0.0.1:5\"\n\
             token = \"{}\"\npublic_key = \"{}\"\n",
            "r".repeat(32),
            other.public_key_base64()
        );
        let path = write(dir.path(), "portal.toml", &format!("{MINIMAL}{logboek}"));
        assert!(format!("{:#}", load(&path).unwrap_err()).contains("portal.inzage_key"));
    }

    /// One setting of a generated configuration: where, what, and whether `load` must
    /// take it. `None` as the value leaves the key out.
    type Setting = (
        Option<&'static str>,
        &'static str,
        Option<&'static str>,
        bool,
    );

    fn setting(
        section: Option<&'static str>,
        key: &'static str,
        good: &'static [&'static str],
        bad: &'static [&'static str],
    ) -> impl proptest::strategy::Strategy<Value = Setting> {
        use proptest::prelude::*;
        let good: Vec<Setting> = good
            .iter()
            .map(|v| (section, key, (!v.is_empty()).then_some(*v), true))
            .collect();
        let bad: Vec<Setting> = bad
            .iter()
            .map(|v| (section, key, (!v.is_empty()).then_some(*v), false))
            .collect();
        prop_oneof![
            3 => proptest::sample::select(good),
            1 => proptest::sample::select(bad),
        ]
    }

    /// Configurations a municipality's IT team might write: each setting right, wrong, or
    /// left out (an empty string: among the good values for an optional key, among the bad
    /// ones for a required key).
    fn configurations() -> impl proptest::strategy::Strategy<Value = Vec<Setting>> {
        use proptest::strategy::Strategy;
        (
            setting(None, "municipality", &["\"Voorbeeldstad\""], &["5", ""]),
            setting(
                None,
                "municipality_code",
                &["\"0363\""],
                &["\"363\"", "\"03a3\"", "363", ""],
            ),
            setting(
                None,
                "rsin",
                &["\"123456782\""],
                &["\"123456789\"", "\"1234567\"", ""],
            ),
            setting(
                Some("storage"),
                "url",
                &[
                    "\"sqlite:/tmp/loket-x\"",
                    "\"postgres://loket@127.0.0.1/loket\"",
                ],
                &["\"mysql://x\"", "\"\"", "3", ""],
            ),
            setting(
                Some("portal"),
                "listen",
                &["\"127.0.0.1:8080\"", ""],
                &["\"localhost\"", "\"127.0.0.1:99999\""],
            ),
            setting(
                Some("log"),
                "format",
                &["\"json\"", "\"text\""],
                &["\"xml\""],
            ),
            setting(Some("brp"), "listen", &["\"127.0.0.1:8081\""], &["\"x\""]),
            setting(None, "listne", &[""], &["3"]),
        )
            .prop_map(|(a, b, c, d, e, f, g, h)| vec![a, b, c, d, e, f, g, h])
    }

    fn toml_of(settings: &[Setting]) -> String {
        let mut text = String::new();
        for (_, key, value, _) in settings.iter().filter(|s| s.0.is_none()) {
            if let Some(value) = value {
                text.push_str(&format!("{key} = {value}\n"));
            }
        }
        for (section, key, value, _) in settings.iter().filter(|s| s.0.is_some()) {
            if let (Some(section), Some(value)) = (section, value) {
                text.push_str(&format!("[{section}]\n{key} = {value}\n"));
            }
        }
        text
    }

    /// Whether an error `message` names the setting `key` (in `section`) the ways `load`
    /// and figment do: the full key, a missing or unknown field, or our own "… must".
    fn names(message: &str, section: Option<&str>, key: &str) -> bool {
        let full = section.map_or_else(|| key.to_owned(), |s| format!("{s}.{key}"));
        [
            format!("missing field `{key}`"),
            format!("found `{full}`"),
            format!("{full} must"),
            format!("{full}:"),
        ]
        .iter()
        .chain(section.map(|s| format!("missing field `{s}`")).iter())
        .any(|form| message.contains(form.as_str()))
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]
        /// A configuration loads when every setting is right; otherwise the error names a
        /// setting that is wrong, so the team knows what to fix. Never a panic.
        #[test]
        fn a_configuration_loads_or_names_what_is_wrong(settings in configurations()) {
            let dir = tempfile::tempdir().unwrap();
            let path = write(dir.path(), "loket.toml", &toml_of(&settings));
            // A wrong setting is named by its key, or its section when the whole section
            // is missing.
            let wrong: Vec<(Option<&str>, &str)> =
                settings.iter().filter(|s| !s.3).map(|s| (s.0, s.1)).collect();
            match load(&path) {
                Ok(config) => {
                    proptest::prop_assert!(wrong.is_empty(), "{wrong:?} taken:\n{}", toml_of(&settings));
                    let url = settings.iter().find(|s| s.1 == "url").and_then(|s| s.2).unwrap();
                    proptest::prop_assert_eq!(
                        matches!(config.platform.storage, StorageUrl::SqliteDir(_)),
                        url.contains("sqlite")
                    );
                    proptest::prop_assert_eq!(config.platform.gemeente.code.as_str(), "0363");
                }
                Err(error) => {
                    let message = format!("{error:#}");
                    proptest::prop_assert!(!wrong.is_empty(), "refused a good one: {message}\n{}", toml_of(&settings));
                    proptest::prop_assert!(
                        wrong.iter().any(|(section, key)| names(&message, *section, key)),
                        "{message} names none of {wrong:?}\n{}", toml_of(&settings)
                    );
                }
            }
        }
    }

    #[test]
    fn refuses_unknown_keys_and_double_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let typo = write(dir.path(), "typo.toml", &format!("{MINIMAL}listne = 3\n"));
        let message = format!("{:#}", load(&typo).unwrap_err());
        assert!(message.contains("listne"), "{message}");
        // Where the wrong setting is: the file, not the code that read it.
        assert!(
            message.ends_with(&format!("(in {})", typo.display())),
            "{message}"
        );
        let missing = write(
            dir.path(),
            "missing.toml",
            "municipality = \"X\"\nmunicipality_code = \"0363\"\nrsin = \"123456782\"\n",
        );
        assert_eq!(
            format!("{:#}", load(&missing).unwrap_err()),
            format!(
                "invalid configuration: missing field `storage` (in {} or LOKET_* variables)",
                missing.display()
            )
        );
        let port = write(
            dir.path(),
            "port.toml",
            &MINIMAL.replace("127.0.0.1:1", "127.0.0.1:99999"),
        );
        assert_eq!(
            format!("{:#}", load(&port).unwrap_err()),
            format!(
                "invalid configuration: portal.listen: invalid socket address syntax (in {})",
                port.display()
            )
        );
        let both = write(
            dir.path(),
            "both.toml",
            "municipality = \"X\"\nmunicipality_code = \"0363\"\nrsin = \"123456782\"\n[storage]\nurl = \"sqlite:/tmp/x\"\nurl_file = \"/nope\"\n[portal]\nlisten = \"127.0.0.1:1\"\n",
        );
        assert!(format!("{:#}", load(&both).unwrap_err()).contains("use one"));
        let rsin = write(
            dir.path(),
            "rsin.toml",
            &MINIMAL.replace("123456782", "123456789"),
        );
        assert!(format!("{:#}", load(&rsin).unwrap_err()).contains("eleven-test"));
        let code = write(
            dir.path(),
            "code.toml",
            &MINIMAL.replace("\"0363\"", "\"363\""),
        );
        assert!(format!("{:#}", load(&code).unwrap_err()).contains("CBS code"));
        let log = |key: &str| {
            write(
                dir.path(),
                "logboeken.toml",
                &format!(
                    "{MINIMAL}{INZAGE_KEY}\
                     [[portal.logboeken]]\norganisatie = \"RDW\"\nurl = \"https://logboek.rdw.example/\"\ntoken = \"t\"\npublic_key = \"{key}\"\n"
                ),
            )
        };
        // 32 zero bytes in base64.
        let zeros = format!("{}=", "A".repeat(43));
        let loaded = load(&log(&zeros)).unwrap();
        let source = &loaded.platform.portal.logs[0];
        assert_eq!(
            (source.organisatie.as_str(), source.url.as_str()),
            ("RDW", "https://logboek.rdw.example")
        );
        assert_eq!(source.public_key, vec![0u8; 32]);
        assert!(format!("{:#}", load(&log("c2hvcnQ=")).unwrap_err()).contains("32-byte Ed25519"));
    }

    /// One line (or lines) of a generated `[exchange]`: its section, the text (`None`
    /// leaves it out), whether `load` must take it, and how an error names it.
    type Line = (&'static str, Option<String>, bool, &'static [&'static str]);

    fn line(
        section: &'static str,
        good: &'static [&'static str],
        bad: &'static [&'static str],
        named: &'static [&'static str],
    ) -> impl proptest::strategy::Strategy<Value = Line> {
        use proptest::prelude::*;
        let of = |texts: &'static [&'static str], right: bool| -> Vec<Line> {
            texts
                .iter()
                .map(|t| {
                    (
                        section,
                        (!t.is_empty()).then(|| (*t).to_owned()),
                        right,
                        named,
                    )
                })
                .collect()
        };
        let (good, bad) = (of(good, true), of(bad, false));
        prop_oneof![
            4 => proptest::sample::select(good),
            1 => proptest::sample::select(bad),
        ]
    }

    /// The sections of `[exchange]` in the order they are written; `[[…]]` is an array.
    const EXCHANGE_SECTIONS: [&str; 7] = [
        "[exchange]",
        "[exchange.log]",
        "[[exchange.log.readers]]",
        "[exchange.outway]",
        "[exchange.inway]",
        "[exchange.inway.services]",
        "[exchange.management]",
    ];

    /// `[exchange]` sections an organisation's IT team might write: each line right,
    /// wrong, or left out (an empty text).
    fn exchange_sections() -> impl proptest::strategy::Strategy<Value = Vec<Line>> {
        use proptest::strategy::Strategy;
        let ex = EXCHANGE_SECTIONS;
        (
            (
                line(ex[0], &["name = \"Gemeente X\""], &["name = 5", ""], &["exchange.name", "missing field `name`"]),
                line(
                    ex[0],
                    &["certificate_file = \"{pki}/gemeente.pem\""],
                    &[
                        "certificate_file = \"{pki}/rvig.pem\"",
                        "certificate_file = \"{pki}/gemeente.key\"",
                        "certificate_file = \"{pki}/nergens.pem\"",
                        "",
                    ],
                    &["exchange.certificate", "missing field `certificate`"],
                ),
                line(
                    ex[0],
                    &["trust_anchors_file = \"{pki}/ca.pem\""],
                    &["trust_anchors_file = \"{pki}/gemeente.key\"", ""],
                    &["exchange.trust_anchors", "missing field `trust_anchors`"],
                ),
                line(
                    ex[0],
                    &["", "group_id = \"fsc.voorbeeldregio.example\""],
                    &["group_id = \"Hoofdletters\"", "group_id = \"\"", "group_id = 7"],
                    &["exchange.group_id"],
                ),
                line(
                    ex[0],
                    &["", "revocation_check = \"chain\"", "revocation_check = \"certificate\""],
                    &["revocation_check = \"alles\""],
                    &["exchange.revocation_check"],
                ),
                line(
                    ex[0],
                    &["", "overdue_revocation_lists = \"refuse\""],
                    &["overdue_revocation_lists = \"soms\""],
                    &["exchange.overdue_revocation_lists"],
                ),
                line(
                    ex[0],
                    &["", "directory_peer = \"00000001001234567000\""],
                    &["directory_peer = \"1234\""],
                    &["exchange.directory_peer"],
                ),
                line(ex[0], &[""], &["directory = \"x\""], &["`directory`"]),
            ),
            (
                line(ex[1], &["keys = \"/tmp/keys\""], &[""], &["missing field `keys`"]),
                line(ex[1], &["", "listen = \"127.0.0.1:9\""], &["listen = \"negen\""], &["exchange.log.listen"]),
                line(
                    ex[2],
                    &["role = \"resident\"", "role = \"privacy-officer\""],
                    &["role = \"beheerder\""],
                    &["readers.0.role"],
                ),
                line(
                    ex[2],
                    &["token = \"tttttttttttttttttttttttttttttttt\""],
                    &["token = \"kort\"", ""],
                    &["exchange.log reader portal", "missing field `token`"],
                ),
                line(ex[3], &["", "listen = \"127.0.0.1:2\""], &["listen = \"twee\""], &["exchange.outway.listen"]),
                line(
                    ex[5],
                    &[
                        "\"zaken\" = { register = \"http://127.0.0.1:4\", verwerkingsactiviteit = \"https://voorbeeldstad.example/verwerkingen/mijn-gegevens\" }",
                    ],
                    &[
                        "\"Zaken!\" = { register = \"http://127.0.0.1:4\", verwerkingsactiviteit = \"https://voorbeeldstad.example/verwerkingen/mijn-gegevens\" }",
                        "\"zaken\" = \"http://127.0.0.1:4\"",
                        "\"zaken\" = { register = \"http://127.0.0.1:4\", verwerkingsactiviteit = \"https://elders.example/iets\" }",
                        "\"zaken\" = { register = \"http://127.0.0.1:4\" }",
                    ],
                    &["exchange.inway.services"],
                ),
                line(
                    ex[6],
                    &["", "listen = \"127.0.0.1:5\"\ntoken = \"mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm\""],
                    &["listen = \"127.0.0.1:5\"\ntoken = \"kort\"", "listen = \"127.0.0.1:5\""],
                    &["exchange.management"],
                ),
            ),
        )
            .prop_map(|((a, b, c, d, e, f, g, h), (i, j, k, l, m, n, o))| {
                vec![a, b, c, d, e, f, g, h, i, j, k, l, m, n, o]
            })
    }

    fn exchange_toml(lines: &[Line], pki: &Path) -> String {
        let mut text = format!("{MINIMAL}{INZAGE_KEY}");
        for section in EXCHANGE_SECTIONS {
            let mut body: Vec<String> = lines
                .iter()
                .filter(|l| l.0 == section)
                .filter_map(|l| l.1.as_ref())
                .map(|l| l.replace("{pki}", &pki.display().to_string()))
                .collect();
            // What every configuration has: the key file beside the certificate, one
            // reader's name, the inway's address.
            match section {
                "[exchange]" => body.push(format!(
                    "private_key_file = \"{}/gemeente.key\"",
                    pki.display()
                )),
                "[[exchange.log.readers]]" => body.push("name = \"portal\"".to_owned()),
                "[exchange.inway]" => body.push("listen = \"127.0.0.1:3\"".to_owned()),
                _ => {}
            }
            if !body.is_empty() {
                text.push_str(&format!("{section}\n{}\n", body.join("\n")));
            }
        }
        text
    }

    /// A configuration of the exchange loads when every line is right; otherwise the
    /// error names a line that is wrong. Never a panic.
    #[test]
    fn an_exchange_configuration_loads_or_names_what_is_wrong() {
        use proptest::test_runner::{Config, TestRunner};
        let dir = tempfile::tempdir().unwrap();
        let pki = dir.path().join("pki");
        loket_exchange::pki::init(&pki, &crate::exchange::organisations().unwrap()).unwrap();
        // Run by hand (the PKI is made once), with failures saved as proptest! does.
        let mut runner = TestRunner::new(Config {
            source_file: Some(file!()),
            ..Config::default()
        });
        runner
            .run(&exchange_sections(), |lines| {
                let text = exchange_toml(&lines, &pki);
                let path = write(dir.path(), "exchange.toml", &text);
                let wrong: Vec<&Line> = lines.iter().filter(|l| !l.2).collect();
                match load(&path) {
                    Ok(config) => {
                        proptest::prop_assert!(wrong.is_empty(), "{wrong:?} taken:\n{text}");
                        let exchange = config.platform.exchange.as_ref().unwrap();
                        proptest::prop_assert_eq!(exchange.display_name.as_str(), "Gemeente X");
                    }
                    Err(error) => {
                        let message = format!("{error:#}");
                        proptest::prop_assert!(
                            !wrong.is_empty(),
                            "refused a good one: {message}\n{text}"
                        );
                        proptest::prop_assert!(
                            wrong
                                .iter()
                                .any(|l| l.3.iter().any(|name| message.contains(name))),
                            "{message} names none of {wrong:?}\n{text}"
                        );
                        // Keys as the file writes them; no profile, no Rust type.
                        proptest::prop_assert!(
                            !message.contains("default.") && !message.contains("::"),
                            "{message}"
                        );
                    }
                }
                Ok(())
            })
            .unwrap();
    }
}
