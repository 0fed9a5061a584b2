//! The demo's exchange: one organisation per register holder, each with a certificate,
//! a processing log and (for providers) an inway in front of its registers; the
//! municipality's outway; and the contracts the municipality's products need.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use loket_core::{Clock, Oin, Secret, SystemClock};
use loket_exchange::contract::Validity;
use loket_exchange::management::Operator;
use loket_exchange::manager::ContractState;
use loket_exchange::pki::{self, Identity, Organisation};
use loket_exchange::{Inway, InwayService, Manager, Outway, ServiceEntry, tls};
use loket_logboek::Activities;
use loket_logboek::api::{Reader, Role};
use loket_store::StorageUrl;
use loket_web::portaal::LogSource;
use time::OffsetDateTime;

use crate::platform::{self, Platform, RegisterName};

/// An organisation in the demo.
#[derive(Debug)]
pub struct DemoOrganisation {
    pub name: &'static str,
    pub display_name: &'static str,
    pub oin: &'static str,
    /// Its processing log's component (database) name.
    pub log: &'static str,
    /// Its endpoints' names in endpoints.json.
    pub log_endpoint: &'static str,
    pub inway_endpoint: &'static str,
    /// Its register of processing activities: the file's name and text.
    pub activities: (&'static str, &'static str),
    pub services: &'static [DemoService],
}

#[derive(Debug)]
pub struct DemoService {
    pub name: &'static str,
    pub register: RegisterName,
    /// The register's component name (its endpoint in endpoints.json).
    pub register_endpoint: &'static str,
    pub subject_field: &'static str,
    /// The activity of its organisation's register it is provided under.
    pub activity: &'static str,
}

pub const GEMEENTE_OIN: &str = "00000001001234567000";

// A page of a register's change feed, each mutation naming a resident, must pass the
// exchange whole: an answer naming more residents is withheld.
const _: () = assert!(
    loket_registers::common::feed::MAX_PAGE as usize <= loket_exchange::MAX_ANSWER_SUBJECTS
);

pub const ORGANISATIONS: [DemoOrganisation; 5] = [
    DemoOrganisation {
        name: "gemeente",
        display_name: "Gemeente Voorbeeldstad",
        oin: GEMEENTE_OIN,
        log: "logboek_gemeente",
        log_endpoint: "logboek-gemeente",
        inway_endpoint: "",
        activities: (ACTIVITIES_FILE, BUILT_IN_ACTIVITIES),
        services: &[],
    },
    DemoOrganisation {
        name: "rvig",
        display_name: "Rijksdienst voor Identiteitsgegevens",
        oin: "00000001003214345000",
        log: "logboek_rvig",
        log_endpoint: "logboek-rvig",
        inway_endpoint: "inway-rvig",
        activities: (
            "config/verwerkingsactiviteiten-rvig.toml",
            include_str!("../../../config/verwerkingsactiviteiten-rvig.toml"),
        ),
        services: &[
            DemoService {
                name: "brp-personen",
                register: RegisterName::Brp,
                register_endpoint: "brp",
                subject_field: "burgerservicenummer",
                activity: RVIG_BRP,
            },
            DemoService {
                name: "reisdocumenten",
                register: RegisterName::Reisdocumenten,
                register_endpoint: "reisdocumenten",
                subject_field: "houder.burgerservicenummer",
                activity: "https://rvig.example/verwerkingen/verstrekking-reisdocumenten",
            },
        ],
    },
    DemoOrganisation {
        name: "rdw",
        display_name: "Rijksdienst voor het Wegverkeer",
        oin: "00000001804770694000",
        log: "logboek_rdw",
        log_endpoint: "logboek-rdw",
        inway_endpoint: "inway-rdw",
        activities: (
            "config/verwerkingsactiviteiten-rdw.toml",
            include_str!("../../../config/verwerkingsactiviteiten-rdw.toml"),
        ),
        services: &[DemoService {
            name: "rdw-voertuigen",
            register: RegisterName::Rdw,
            register_endpoint: "rdw",
            subject_field: "tenaamstelling.burgerservicenummer",
            activity: "https://rdw.example/verwerkingen/verstrekking-kentekenregister",
        }],
    },
    DemoOrganisation {
        name: "duo",
        display_name: "Dienst Uitvoering Onderwijs",
        oin: "00000001800299899000",
        log: "logboek_duo",
        log_endpoint: "logboek-duo",
        inway_endpoint: "inway-duo",
        activities: (
            "config/verwerkingsactiviteiten-duo.toml",
            include_str!("../../../config/verwerkingsactiviteiten-duo.toml"),
        ),
        services: &[DemoService {
            name: "duo-inschrijvingen",
            register: RegisterName::Duo,
            register_endpoint: "duo",
            subject_field: "student.burgerservicenummer",
            activity: "https://duo.example/verwerkingen/verstrekking-onderwijsdeelnemers",
        }],
    },
    DemoOrganisation {
        name: "inkomen",
        display_name: "Inlichtingenbureau (inkomen)",
        oin: "00000001820029336000",
        log: "logboek_inkomen",
        log_endpoint: "logboek-inkomen",
        inway_endpoint: "inway-inkomen",
        activities: (
            "config/verwerkingsactiviteiten-inkomen.toml",
            include_str!("../../../config/verwerkingsactiviteiten-inkomen.toml"),
        ),
        services: &[DemoService {
            name: "inkomen",
            register: RegisterName::Inkomen,
            register_endpoint: "inkomen",
            subject_field: "burgerservicenummer",
            activity: "https://inlichtingenbureau.example/verwerkingen/verstrekking-inkomen",
        }],
    },
];

/// RvIG's own activity for providing BRP data: what its inway's records name.
pub const RVIG_BRP: &str = "https://rvig.example/verwerkingen/verstrekking-brp";

pub const PARKEREN: &str = "https://voorbeeldstad.example/verwerkingen/parkeervergunning";
pub const MIJN_GEGEVENS: &str = "https://voorbeeldstad.example/verwerkingen/mijn-gegevens";
pub const ATTENDEREN: &str = "https://voorbeeldstad.example/verwerkingen/attenderen";

/// A service, the activities a grant is for, and (when limited) the fields it may read.
type DemoGrant = (
    &'static str,
    &'static [&'static str],
    Option<&'static [&'static str]>,
);

/// What the municipality may ask, for which activities, and (when limited) which fields.
const GRANTS: &[DemoGrant] = &[
    (
        "brp-personen",
        &[PARKEREN],
        Some(&["naam", "verblijfplaats", "gemeenteVanInschrijving"]),
    ),
    ("brp-personen", &[MIJN_GEGEVENS], None),
    ("reisdocumenten", &[MIJN_GEGEVENS, ATTENDEREN], None),
    ("rdw-voertuigen", &[PARKEREN, MIJN_GEGEVENS], None),
    ("duo-inschrijvingen", &[MIJN_GEGEVENS], None),
    (
        "duo-inschrijvingen",
        &[ATTENDEREN],
        Some(&["opleiding", "datumEindeVerwacht", "datumEinde"]),
    ),
    ("inkomen", &[PARKEREN], Some(&["inkomensklasse"])),
    ("inkomen", &[MIJN_GEGEVENS], None),
];

pub const ACTIVITIES_FILE: &str = "config/verwerkingsactiviteiten.toml";
const BUILT_IN_ACTIVITIES: &str = include_str!("../../../config/verwerkingsactiviteiten.toml");

/// The register of processing activities built into the binary (the municipality's).
pub fn activities() -> anyhow::Result<Activities> {
    Ok(Activities::parse(BUILT_IN_ACTIVITIES, ACTIVITIES_FILE)?)
}

impl DemoOrganisation {
    /// This organisation's own register of processing activities.
    pub fn activities(&self) -> anyhow::Result<Activities> {
        let (file, text) = self.activities;
        Ok(Activities::parse(text, file)?)
    }
}

pub fn organisations() -> anyhow::Result<Vec<Organisation>> {
    ORGANISATIONS
        .iter()
        .map(|o| {
            Ok(Organisation {
                name: o.name.to_owned(),
                display_name: o.display_name.to_owned(),
                oin: Oin::parse(o.oin).context("demo OIN")?,
            })
        })
        .collect()
}

pub fn pki_dir(data: &Path) -> PathBuf {
    data.join("pki")
}

pub fn keys_dir(data: &Path) -> PathBuf {
    data.join("keys")
}

/// The read API's tokens, made on first start and kept (owner-readable) in the keys dir.
pub fn inzage_tokens(data: &Path) -> anyhow::Result<HashMap<String, String>> {
    tokens(data, "inzage-tokens.json", &["portal", "fg"])
}

/// One management token per organisation (`keys/management-tokens.json`).
pub fn management_tokens(data: &Path) -> anyhow::Result<HashMap<String, String>> {
    let names: Vec<&str> = ORGANISATIONS.iter().map(|o| o.name).collect();
    tokens(data, "management-tokens.json", &names)
}

/// Random secrets by name, made once and kept owner-readable in the demo's keys dir.
pub fn tokens(data: &Path, file: &str, names: &[&str]) -> anyhow::Result<HashMap<String, String>> {
    let path = keys_dir(data).join(file);
    if !path.exists() {
        std::fs::create_dir_all(keys_dir(data))?;
        let tokens: HashMap<String, String> = names
            .iter()
            .copied()
            .map(|name| (name.to_owned(), uuid::Uuid::new_v4().simple().to_string()))
            .collect();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        use std::io::Write;
        options
            .open(&path)
            .and_then(|mut file| file.write_all(&serde_json::to_vec_pretty(&tokens)?))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let text = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(serde_json::from_slice(&text)?)
}

/// Start every organisation's log, the inways, the outway, and set up the contracts.
/// Returns the logs as the portal reads them for residents.
pub async fn start(
    platform: &mut Platform,
    data: &Path,
    storage: &StorageUrl,
    portal_key: [u8; 32],
) -> anyhow::Result<Vec<LogSource>> {
    let pki = pki_dir(data);
    if pki::init(&pki, &organisations()?)? {
        tracing::info!(dir = %pki.display(), "created the demo PKI");
    }
    // The demo CA revokes nothing.
    let trust = tls::Trust::new(pki::load_roots(&pki.join(pki::CA_FILE))?)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    // The municipality's register: the activities its grants and requests name.
    let activities = Arc::new(activities()?);
    let tokens = inzage_tokens(data)?;
    let readers: Vec<Reader> = tokens
        .iter()
        .map(|(name, token)| {
            let role = if name == "fg" {
                Role::PrivacyOfficer
            } else {
                Role::Resident { portal_key }
            };
            Reader::new(name, &Secret::new(token.clone()), role)
        })
        .collect();
    let manager = Manager::open(
        &platform::open(storage, &loket_exchange::SCHEMA).await?,
        GEMEENTE_OIN,
        &trust,
        &platform::open(storage, &loket_exchange::REVOCATIONS_SCHEMA).await?,
    )
    .await?;
    let mut identities = HashMap::new();
    let mut logs = HashMap::new();
    let mut sources = Vec::new();
    for organisation in &ORGANISATIONS {
        let identity = Identity::load_named(&pki, organisation.name)?;
        let pem = std::fs::read_to_string(pki.join(format!("{}.pem", organisation.name)))?;
        manager
            .register_peer(organisation.display_name, &pem)
            .await?;
        let (log, public_key) = crate::exchange_peer::start_log(
            platform,
            storage,
            organisation.log,
            &keys_dir(data),
            Arc::new(organisation.activities()?),
            clock.clone(),
        )
        .await?;
        let api = loket_logboek::api::service(log.clone(), readers.clone());
        platform
            .spawn(organisation.log_endpoint, loopback(), api)
            .await?;
        sources.push(LogSource {
            organisatie: organisation.display_name.to_owned(),
            url: platform
                .endpoints
                .get(organisation.log_endpoint)
                .cloned()
                .context("a log that did not start")?,
            token: Secret::new(
                tokens
                    .get("portal")
                    .cloned()
                    .context("no inzage token for the portal")?,
            ),
            public_key,
        });
        identities.insert(organisation.name, identity);
        logs.insert(organisation.name, log);
    }
    let gemeente = &identities["gemeente"];
    let year = validity_one_year();
    for organisation in ORGANISATIONS.iter().filter(|o| !o.services.is_empty()) {
        let identity = &identities[organisation.name];
        let listener = platform::bind(organisation.inway_endpoint, loopback()).await?;
        let inway_url = format!("https://127.0.0.1:{}", listener.local_addr()?.port());
        let mut upstreams = HashMap::new();
        for service in organisation.services {
            let register = platform
                .endpoints
                .get(service.register_endpoint)
                .with_context(|| format!("the {:?} register is not running", service.register))?;
            upstreams.insert(
                service.name.to_owned(),
                InwayService {
                    register: register.clone(),
                    activity: service.activity.to_owned(),
                },
            );
            let entry = ServiceEntry {
                name: service.name.to_owned(),
                peer_id: organisation.oin.to_owned(),
                inway: inway_url.clone(),
                openapi: "/openapi.json".to_owned(),
                subject_field: Some(service.subject_field.to_owned()),
            };
            if manager.policy().services.contains_key(service.name) {
                manager.update_service(&entry).await?;
            } else {
                let hash = manager.publish(identity, entry, year).await?;
                manager.accept(gemeente, &hash).await?;
            }
        }
        let inway = Inway::new(
            organisation.oin,
            manager.clone(),
            logs[organisation.name].clone(),
            upstreams,
            clock.clone(),
        )?;
        inway.report_to(platform.exchange_metrics());
        let config = tls::server_config(identity, &trust)?;
        platform.spawn_tls_on(
            organisation.inway_endpoint,
            listener,
            inway.service(),
            config,
        )?;
    }
    for (service, purposes, fields) in GRANTS {
        let in_force = manager.policy().contracts.iter().any(|contract| {
            contract.state == ContractState::Active
                && contract.content.grants.iter().any(|grant| {
                    matches!(&grant.data, loket_exchange::contract::GrantData::ServiceConnection { service: s, properties, .. }
                        if s.name == *service && properties.processing_activities.iter().map(String::as_str).eq(purposes.iter().copied()))
                })
        });
        if in_force {
            continue;
        }
        let provider = ORGANISATIONS
            .iter()
            .find(|o| o.services.iter().any(|s| s.name == *service))
            .context("a demo grant for an unknown service")?;
        let hash = manager
            .request_connection(
                gemeente,
                service,
                purposes.iter().map(|a| (*a).to_owned()).collect(),
                fields.map(|f| f.iter().map(|f| (*f).to_owned()).collect()),
                year,
                &activities,
            )
            .await?;
        manager.accept(&identities[provider.name], &hash).await?;
    }
    let outway = Outway::new(
        gemeente,
        None,
        &trust,
        manager.clone(),
        logs["gemeente"].clone(),
        clock,
    )?;
    outway.report_to(platform.exchange_metrics());
    platform
        .spawn("outway", loopback(), outway.service())
        .await?;
    let mut operators = Vec::new();
    for (name, token) in management_tokens(data)? {
        let identity = Identity::load_named(&pki, &name)?;
        operators.push(Operator::new(&Secret::new(token), identity));
    }
    let management =
        loket_exchange::management::service(manager.clone(), operators, activities.clone());
    platform
        .spawn("exchange-manager", loopback(), management)
        .await?;
    manager.reload_every(Duration::from_secs(2));
    Ok(sources)
}

fn loopback() -> std::net::SocketAddr {
    std::net::SocketAddr::from(([127, 0, 0, 1], 0))
}

fn validity_one_year() -> Validity {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    Validity {
        not_before: now - 86_400,
        not_after: now + 365 * 86_400,
    }
}

#[cfg(test)]
mod tests {
    use loket_exchange::Denial;
    use loket_web::portaal::Refusal;

    /// The portal tells the resident, in plain words, why each attempt the exchange
    /// refused was refused: every code the exchange gives has its words (the two that
    /// mean no service answered are not shown as attempts at all).
    #[test]
    fn every_refusal_of_the_exchange_has_plain_words_in_the_portal() {
        for denial in Denial::ALL {
            let code = denial.code();
            let unknown = Refusal::for_code(code) == Refusal::Other;
            let no_service = matches!(denial, Denial::ServiceNotFound | Denial::ServiceUnreachable);
            assert_eq!(unknown, no_service, "{code}");
        }
    }
}
