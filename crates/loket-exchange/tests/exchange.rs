//! The exchange end to end, on SQLite and PostgreSQL: a municipality's outway asks the
//! real BRP register through RvIG's inway over mutual TLS. Nothing reaches the register
//! without a valid grant for the stated purpose, and every request leaves records.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{ACTIVITIES, RVIG_ACTIVITIES, RVIG_BRP, log, provided_by_rvig, serve_plain};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use loket_core::{Clock, FixedClock, Oin, SystemClock};
use loket_exchange::contract::{ContractContent, GrantData, Validity};
use loket_exchange::pki::{self, Identity, Organisation};
use loket_exchange::tls::Trust;
use loket_exchange::{
    ContractState, ExchangeMetrics, FSC_ERROR_CODE, GRANT_HASH, Inway, MAX_ANSWER_SUBJECTS,
    MAX_SUBJECTS, Manager, ManagerError, Outway, PROCESSING_ACTIVITY, PeerEntry, ServiceEntry,
    TRANSACTION_ID, tls,
};
use loket_http::Metrics;
use loket_logboek::{Activities, Filter, Logboek};
use loket_registers::brp::{self, PersonRecord, PersonStore};
use loket_store::{Database, StorageUrl, sqlx};
use serde_json::{Value, json};
use time::OffsetDateTime;

const GEMEENTE: &str = "00000001001234567000";
const RVIG: &str = "00000001009876543000";
const RDW: &str = "00000001005555555000";
const ONBEKEND: &str = "00000001000000000666";
const PARKEREN: &str = "https://voorbeeldstad.example/verwerkingen/parkeervergunning";
const BELASTING: &str = "https://voorbeeldstad.example/verwerkingen/belastingen";
/// In the register, and granted to no one in the world below.
const ATTENDEREN: &str = "https://voorbeeldstad.example/verwerkingen/attenderen";

fn register() -> Activities {
    Activities::parse(ACTIVITIES, "test").unwrap()
}
const SANNE: &str = "999990007";
const SERVICE: &str = "brp-personen";
const PATH: &str = "/haalcentraal/api/brp/personen";

struct World {
    _pki: tempfile::TempDir,
    _foreign: tempfile::TempDir,
    pki: std::path::PathBuf,
    foreign: std::path::PathBuf,
    manager: Manager,
    /// The exchange's own database, as another process (`loket exchange …`) opens it.
    database: Database,
    /// The municipality's own storage, where its exchange keeps what it saw revoked.
    own: Database,
    outway: String,
    inway: String,
    reached: Arc<AtomicUsize>,
    /// The register behind RvIG's inway, and a resident of it to copy.
    brp: Arc<dyn PersonStore>,
    resident: PersonRecord,
    gemeente_log: (Logboek, Database),
    rvig_log: (Logboek, Database),
    grant: String,
}

fn organisations(names: &[(&str, &str)]) -> Vec<Organisation> {
    names
        .iter()
        .map(|(name, oin)| Organisation {
            name: (*name).to_owned(),
            display_name: format!("Organisatie {name}"),
            oin: Oin::parse(oin).unwrap(),
        })
        .collect()
}

fn identity(dir: &Path, name: &str) -> Identity {
    Identity::load_named(dir, name).unwrap()
}

fn validity(from_days: i64, until_days: i64) -> Validity {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    Validity {
        not_before: now + from_days * 86_400,
        not_after: now + until_days * 86_400,
    }
}

async fn world(url: &StorageUrl) -> World {
    let pki_dir = tempfile::tempdir().unwrap();
    let foreign_dir = tempfile::tempdir().unwrap();
    let orgs = [
        ("gemeente", GEMEENTE),
        ("rvig", RVIG),
        ("rdw", RDW),
        ("onbekend", ONBEKEND),
        // The municipality's OIN with another key, from the same CA: a certificate
        // the directory does not know it by.
        ("gemeente-andere-sleutel", GEMEENTE),
    ];
    assert!(pki::init(pki_dir.path(), &organisations(&orgs)).unwrap());
    assert!(
        !pki::init(pki_dir.path(), &organisations(&orgs)).unwrap(),
        "init twice changes nothing"
    );
    // Same OIN, other CA: what a forged certificate looks like.
    pki::init(
        foreign_dir.path(),
        &organisations(&[("gemeente", GEMEENTE)]),
    )
    .unwrap();
    let trust = Trust::new(pki::load_roots(&pki_dir.path().join(pki::CA_FILE)).unwrap()).unwrap();

    // The real BRP register, with a counter in front that tells whether anything got in.
    let brp_db = Database::open(url, &brp::SCHEMA).await.unwrap();
    let store = brp::person_store(&brp_db);
    let today = OffsetDateTime::now_utc().date();
    let (_, records) =
        loket_population::personas(today, &loket_population::Municipality::from_code("9999"));
    store.insert(&records.personen).await.unwrap();
    let reached = Arc::new(AtomicUsize::new(0));
    let counter = reached.clone();
    let router = brp::service(
        store.clone(),
        loket_registers::Feed::new(&brp_db),
        Arc::new(SystemClock),
    )
    .into_router(Metrics::new())
    .layer(axum::middleware::from_fn(
        move |request, next: axum::middleware::Next| {
            counter.fetch_add(1, Ordering::SeqCst);
            next.run(request)
        },
    ));
    let brp_url = serve_plain(router).await;

    let database = Database::open(url, &loket_exchange::SCHEMA).await.unwrap();
    let own = Database::open(url, &loket_exchange::REVOCATIONS_SCHEMA)
        .await
        .unwrap();
    let manager = Manager::open(&database, GEMEENTE, &trust, &own)
        .await
        .unwrap();
    for name in ["gemeente", "rvig", "rdw"] {
        let pem = std::fs::read_to_string(pki_dir.path().join(format!("{name}.pem"))).unwrap();
        manager.register_peer(name, &pem).await.unwrap();
    }
    let (gemeente, rvig) = (
        identity(pki_dir.path(), "gemeente"),
        identity(pki_dir.path(), "rvig"),
    );

    let keys = pki_dir.path().join("keys");
    let gemeente_log = log(url, "logboek_gemeente", &keys, ACTIVITIES).await;
    let rvig_log = log(url, "logboek_rvig", &keys, RVIG_ACTIVITIES).await;

    let inway = Inway::new(
        RVIG,
        manager.clone(),
        rvig_log.0.clone(),
        provided_by_rvig(SERVICE, brp_url),
        Arc::new(SystemClock),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let inway_url = format!(
        "https://127.0.0.1:{}",
        listener.local_addr().unwrap().port()
    );
    // One process's metrics, as in `loket demo`: both gateways count refusals there.
    let metrics = Metrics::new();
    let exchange_metrics = ExchangeMetrics::register(&metrics);
    inway.report_to(&exchange_metrics);
    let config = tls::server_config(&rvig, &trust).unwrap();
    tokio::spawn(loket_exchange::serve_tls(
        listener,
        config,
        inway.service().into_router(metrics.clone()),
        std::future::pending(),
    ));

    let publication = manager
        .publish(
            &rvig,
            ServiceEntry {
                name: SERVICE.into(),
                peer_id: RVIG.into(),
                inway: inway_url.clone(),
                openapi: "/openapi.json".into(),
                subject_field: Some("burgerservicenummer".into()),
            },
            validity(-1, 365),
        )
        .await
        .unwrap();
    assert!(
        manager.policy().services.is_empty(),
        "listed only once the directory accepts"
    );
    manager.accept(&gemeente, &publication).await.unwrap();
    assert!(manager.policy().services.contains_key(SERVICE));

    let contract = manager
        .request_connection(
            &gemeente,
            SERVICE,
            vec![PARKEREN.into()],
            Some(vec!["naam".into(), "verblijfplaats".into()]),
            validity(-1, 365),
            &register(),
        )
        .await
        .unwrap();
    assert!(
        manager.policy().connections.is_empty(),
        "not in force before RvIG approves"
    );
    manager.accept(&rvig, &contract).await.unwrap();
    let grant = manager.policy().connections.keys().next().unwrap().clone();

    let outway = Outway::new(
        &gemeente,
        None,
        &trust,
        manager.clone(),
        gemeente_log.0.clone(),
        Arc::new(SystemClock),
    )
    .unwrap();
    outway.report_to(&exchange_metrics);
    let outway_url = serve_plain(outway.service().into_router(metrics)).await;
    World {
        pki: pki_dir.path().to_path_buf(),
        foreign: foreign_dir.path().to_path_buf(),
        _pki: pki_dir,
        _foreign: foreign_dir,
        manager,
        database,
        own,
        outway: outway_url,
        inway: inway_url,
        reached,
        brp: store,
        resident: records.personen[0].clone(),
        gemeente_log,
        rvig_log,
        grant,
    }
}

fn lookup(fields: &[&str]) -> Value {
    json!({"type": "RaadpleegMetBurgerservicenummer", "burgerservicenummer": [SANNE], "fields": fields})
}

impl World {
    /// `consumer` asks for a connection to RvIG's BRP for `activity`, every field, in
    /// `validity`: the contract's hash, for RvIG to accept.
    async fn asks_for(&self, consumer: &Identity, activity: &str, validity: Validity) -> String {
        self.manager
            .request_connection(
                consumer,
                SERVICE,
                vec![activity.to_owned()],
                None,
                validity,
                &register(),
            )
            .await
            .unwrap()
    }

    /// The exchange's trust: the demo CA's certificate, which revokes nothing.
    fn trust(&self) -> Trust {
        Trust::new(pki::load_roots(&self.pki.join(pki::CA_FILE)).unwrap()).unwrap()
    }

    async fn via_outway(&self, activity: Option<&str>, body: &Value) -> reqwest::Response {
        let mut request = reqwest::Client::new()
            .post(format!("{}/{SERVICE}{PATH}", self.outway))
            .json(body);
        if let Some(activity) = activity {
            request = request.header(PROCESSING_ACTIVITY, activity);
        }
        request.send().await.unwrap()
    }

    /// Straight to the inway, as `name` from `dir` (skipping the outway's own checks).
    async fn direct(
        &self,
        dir: &Path,
        name: &str,
        grant: Option<&str>,
        body: &Value,
    ) -> reqwest::Result<reqwest::Response> {
        self.direct_for(dir, name, grant, Some(PARKEREN), body)
            .await
    }

    /// Straight to the inway, as `name`, stating `activity` (or none).
    async fn direct_for(
        &self,
        dir: &Path,
        name: &str,
        grant: Option<&str>,
        activity: Option<&str>,
        body: &Value,
    ) -> reqwest::Result<reqwest::Response> {
        let config = tls::client_config(&identity(dir, name), &self.trust()).unwrap();
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(config)
            .build()
            .unwrap();
        let mut request = client.post(format!("{}{PATH}", self.inway)).json(body);
        if let Some(activity) = activity {
            request = request.header(PROCESSING_ACTIVITY, activity);
        }
        if let Some(grant) = grant {
            request = request.header(GRANT_HASH, grant);
        }
        request.send().await
    }

    /// Straight to the inway as the municipality, under its grant: `method` on `path`
    /// (from the inway's root), stating `activity`, with `body`.
    async fn direct_as_gemeente(
        &self,
        method: reqwest::Method,
        path: &str,
        activity: &str,
        body: &Value,
    ) -> reqwest::Response {
        let config = tls::client_config(&identity(&self.pki, "gemeente"), &self.trust()).unwrap();
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(config)
            .build()
            .unwrap();
        client
            .request(method, format!("{}{path}", self.inway))
            .header(PROCESSING_ACTIVITY, activity)
            .header(GRANT_HASH, &self.grant)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Straight to the inway as the municipality, under `grant` for `activity`, a body
    /// sent as `content_type`.
    async fn direct_typed(
        &self,
        grant: &str,
        activity: &str,
        content_type: &str,
        body: &Value,
    ) -> reqwest::Response {
        let config = tls::client_config(&identity(&self.pki, "gemeente"), &self.trust()).unwrap();
        reqwest::Client::builder()
            .use_preconfigured_tls(config)
            .build()
            .unwrap()
            .post(format!("{}{PATH}", self.inway))
            .header(PROCESSING_ACTIVITY, activity)
            .header(GRANT_HASH, grant)
            .header("content-type", content_type)
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }

    /// RvIG's service at another inway address in the directory (which no one signs).
    async fn move_service_to(&self, inway: &str) {
        self.manager
            .update_service(&entry(SERVICE, RVIG, inway))
            .await
            .unwrap();
    }

    /// How many refusals `/metrics` counts where `at` with `code`.
    async fn refusals(&self, at: &str, code: &str) -> u64 {
        let text = reqwest::get(format!("{}/metrics", self.outway))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let series = format!("loket_exchange_refusals_total{{at=\"{at}\",code=\"{code}\"}} ");
        text.lines()
            .find_map(|line| line.strip_prefix(&series))
            .map_or(0, |count| count.trim().parse().unwrap())
    }

    fn reached(&self) -> usize {
        self.reached.load(Ordering::SeqCst)
    }

    async fn records_about(&self, log: &Logboek, bsn: &str) -> Vec<Value> {
        let filter = Filter {
            subject: Some(log.pseudonyms().bsn(bsn).as_str().to_owned()),
            limit: 100,
            ..Filter::default()
        };
        log.query(&filter)
            .await
            .unwrap()
            .into_iter()
            .map(|e| serde_json::from_str(&e.body.unwrap()).unwrap())
            .collect()
    }

    /// The records about `bsn` once there are `count`: an answer about subjects the
    /// request already named is logged while it goes back, so it may land a moment later.
    async fn settled_records_about(&self, log: &Logboek, bsn: &str, count: usize) -> Vec<Value> {
        for _ in 0..500 {
            let records = self.records_about(log, bsn).await;
            if records.len() >= count {
                return records;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        self.records_about(log, bsn).await
    }

    async fn last_error_code(&self, log: &Logboek) -> String {
        error_code(&newest(log).await)
    }

    /// The error code of the newest record once it is an answer's (logged while the
    /// answer goes back, so it may land a moment later).
    async fn answer_error_code(&self, log: &Logboek) -> String {
        for _ in 0..500 {
            let record = newest(log).await;
            if record["name"]
                .as_str()
                .is_some_and(|n| n.ends_with(" antwoord"))
            {
                return error_code(&record);
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("no answer was logged");
    }
}

async fn newest(log: &Logboek) -> Value {
    let entries = log
        .query(&Filter {
            activity: None,
            limit: 1,
            ..all()
        })
        .await
        .unwrap();
    serde_json::from_str(entries[0].body.as_ref().unwrap()).unwrap()
}

fn error_code(record: &Value) -> String {
    record["attributes"]["loket.exchange"]["errorCode"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Every record (a filter that matches all: records are never before index u64::MAX).
fn all() -> Filter {
    Filter {
        before: Some(u64::MAX >> 1),
        limit: 100,
        ..Filter::default()
    }
}

async fn denied(response: reqwest::Response, status: u16, code: &str) {
    assert_eq!(response.status(), status);
    assert_eq!(response.headers()[FSC_ERROR_CODE.as_str()], code);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["code"], code, "{problem}");
}

/// A BSN a caller puts where the log keeps text as sent (the service's name in the
/// path, the activity or grant hash header, a field name) is not kept in plain text:
/// each attempt is logged, with the number masked. The log names residents only by
/// pseudonym.
async fn a_bsn_elsewhere_in_a_request_is_not_logged_in_plain_text(w: World) {
    let client = reqwest::Client::new();
    let outway = |path: String, activity: String, fields: Value| {
        client
            .post(format!("{}{path}", w.outway))
            .header(PROCESSING_ACTIVITY, activity)
            .json(&json!({
                "type": "RaadpleegMetBurgerservicenummer",
                "burgerservicenummer": [SANNE],
                "fields": fields,
            }))
            .send()
    };
    let as_service = outway(format!("/{SANNE}/x"), PARKEREN.into(), json!(["naam"]));
    denied(
        as_service.await.unwrap(),
        404,
        "ERROR_CODE_SERVICE_NOT_FOUND",
    )
    .await;
    let path = format!("/{SERVICE}{PATH}");
    let as_activity = outway(path.clone(), format!("urn:x:{SANNE}"), json!(["naam"]));
    denied(
        as_activity.await.unwrap(),
        403,
        "ERROR_CODE_PROCESSING_ACTIVITY_NOT_GRANTED",
    )
    .await;
    let as_field = outway(path, PARKEREN.into(), json!(["naam", SANNE]));
    denied(as_field.await.unwrap(), 403, "ERROR_CODE_FIELD_NOT_GRANTED").await;
    let at_the_inway = w
        .direct_for(
            &w.pki,
            "gemeente",
            Some(SANNE),
            Some(&format!("urn:x:{SANNE}")),
            &lookup(&["naam"]),
        )
        .await
        .unwrap();
    denied(at_the_inway, 403, "ERROR_CODE_GRANT_NOT_FOUND").await;
    // Under a grant the inway knows: its record names RvIG's own activity, and the
    // stated one beside it, masked.
    let under_the_grant = w
        .direct_for(
            &w.pki,
            "gemeente",
            Some(w.grant.as_str()),
            Some(&format!("urn:x:{SANNE}")),
            &lookup(&["naam"]),
        )
        .await
        .unwrap();
    denied(
        under_the_grant,
        403,
        "ERROR_CODE_PROCESSING_ACTIVITY_NOT_GRANTED",
    )
    .await;
    let record = newest(&w.rvig_log.0).await;
    assert_eq!(
        record["attributes"]["dpl.core.processing_activity_id"],
        RVIG_BRP
    );
    assert_eq!(
        record["attributes"]["loket.exchange"]["statedProcessingActivityId"],
        "urn:x:*********"
    );

    for (log, attempts) in [(&w.gemeente_log.0, 3), (&w.rvig_log.0, 2)] {
        let records = log.query(&all()).await.unwrap();
        let masked = records
            .iter()
            .map(|record| record.body.clone().unwrap())
            .inspect(|body| assert!(!body.contains(SANNE), "{body}"))
            .filter(|body| body.contains("*********"))
            .count();
        assert_eq!(masked, attempts, "each attempt logged, masked");
    }
    // The attempts on Sanne's data are found by her pseudonym.
    assert_eq!(w.records_about(&w.gemeente_log.0, SANNE).await.len(), 3);
    assert_eq!(w.records_about(&w.rvig_log.0, SANNE).await.len(), 2);
}

async fn an_allowed_request_reaches_the_register_and_is_logged_at_both_ends(w: World) {
    let response = w
        .via_outway(
            Some(PARKEREN),
            &lookup(&["naam", "verblijfplaats.verblijfadres"]),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key(TRANSACTION_ID));
    let answer: Value = response.json().await.unwrap();
    let persoon = &answer["personen"][0];
    assert_eq!(persoon["naam"]["voornamen"], "Sanne");
    // The inway asked the register for the BSN to log it, and took it out again.
    assert!(persoon.get("burgerservicenummer").is_none(), "{persoon}");
    assert_eq!(w.reached(), 1);

    // The municipality's records name its activity; RvIG's name RvIG's own, with the
    // one the municipality stated beside it.
    for (log, direction, activity, stated) in [
        (
            &w.gemeente_log.0,
            "DIRECTION_OUTGOING",
            PARKEREN,
            Value::Null,
        ),
        (
            &w.rvig_log.0,
            "DIRECTION_INCOMING",
            RVIG_BRP,
            json!(PARKEREN),
        ),
    ] {
        // Newest first: the answer, then the request, which was durable before forwarding.
        let records = w.settled_records_about(log, SANNE, 2).await;
        assert_eq!(
            records.len(),
            2,
            "request and answer about Sanne in {}",
            log.name()
        );
        assert_eq!(records[1]["name"], "brp-personen verzoek");
        assert_eq!(records[1]["status"], "Unset");
        assert_eq!(records[0]["name"], "brp-personen antwoord");
        assert_eq!(records[0]["status"], "Ok");
        for record in &records {
            assert_eq!(
                record["attributes"]["dpl.core.processing_activity_id"],
                activity
            );
            // Left out at the asking end.
            assert_eq!(
                record["attributes"]["loket.exchange"].get("statedProcessingActivityId"),
                (direction == "DIRECTION_INCOMING").then_some(&stated)
            );
            assert_eq!(
                record["attributes"]["loket.exchange"]["direction"],
                direction
            );
            assert_eq!(
                record["attributes"]["loket.exchange"]["grantHash"],
                w.grant.as_str()
            );
            // The fields the consumer asked for, not the BSN the inway added for the log.
            assert_eq!(
                record["attributes"]["loket.exchange"]["fields"],
                json!(["naam", "verblijfplaats.verblijfadres"])
            );
        }
    }
    // Each log keeps them as long as its own register says: RvIG for as long as it keeps
    // what it provided (1826 days), the municipality for parking (730).
    for (log, days) in [(&w.gemeente_log.0, 730), (&w.rvig_log.0, 1826)] {
        let filter = Filter {
            subject: Some(log.pseudonyms().bsn(SANNE).as_str().to_owned()),
            limit: 100,
            ..Filter::default()
        };
        for entry in log.query(&filter).await.unwrap() {
            let body: Value = serde_json::from_str(entry.body.as_deref().unwrap()).unwrap();
            let end_s = body["endTime"].as_i64().unwrap().div_euclid(1000);
            assert_eq!(entry.expires_at - end_s, days * 86_400, "{}", log.name());
        }
    }
    let outgoing = &w.records_about(&w.gemeente_log.0, SANNE).await[0];
    let incoming = &w.records_about(&w.rvig_log.0, SANNE).await[0];
    assert_eq!(
        outgoing["traceId"], incoming["traceId"],
        "one trace across both organisations"
    );
    assert_eq!(incoming["parentSpanId"], outgoing["spanId"]);
    // Each organisation has its own pseudonym for Sanne.
    assert_ne!(
        w.gemeente_log.0.pseudonyms().bsn(SANNE),
        w.rvig_log.0.pseudonyms().bsn(SANNE)
    );
    // A search names no one in its request, so its answer waits until RvIG's log says
    // whose data it holds: the records are there the moment the answer is.
    let search = json!({
        "type": "ZoekMetPostcodeEnHuisnummer",
        "postcode": "9901AB",
        "huisnummer": 12,
        "fields": ["naam"],
    });
    assert_eq!(w.via_outway(Some(PARKEREN), &search).await.status(), 200);
    let records = w.records_about(&w.rvig_log.0, SANNE).await;
    assert_eq!(records.len(), 3, "{records:?}");
    assert_eq!(records[0]["name"], "brp-personen antwoord");
    assert_eq!(w.reached(), 2);
}

/// An outway of the municipality's in front of its log, presenting `identity` and
/// `previous`, with the time `clock` tells; its address.
async fn outway_presenting(
    w: &World,
    identity: &Identity,
    previous: Option<&Identity>,
    clock: Arc<dyn Clock>,
) -> String {
    let outway = Outway::new(
        identity,
        previous,
        &w.trust(),
        w.manager.clone(),
        w.gemeente_log.0.clone(),
        clock,
    )
    .unwrap();
    serve_plain(outway.service().into_router(Metrics::new())).await
}

async fn ask_for_sanne(outway: &str, activity: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{outway}/{SERVICE}{PATH}"))
        .header(PROCESSING_ACTIVITY, activity)
        .json(&lookup(&["naam"]))
        .send()
        .await
        .unwrap()
}

/// The grant hash RvIG's inway logged last.
async fn grant_the_inway_saw(w: &World) -> String {
    newest(&w.rvig_log.0).await["attributes"]["loket.exchange"]["grantHash"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A revocation list of a CA of its own (none of the world's), naming nothing: with only
/// it in force, every certificate of the world's CA has an unknown status.
fn a_foreign_revocation_list() -> Vec<rustls_pki_types::CertificateRevocationListDer<'static>> {
    use rcgen::{
        BasicConstraints, CertificateParams, CertificateRevocationListParams, IsCa, KeyIdMethod,
        KeyPair, KeyUsagePurpose, SerialNumber,
    };
    let mut ca = CertificateParams::default();
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let key = KeyPair::generate().unwrap();
    let issuer = ca.self_signed(&key).unwrap();
    let now = OffsetDateTime::now_utc();
    let list = CertificateRevocationListParams {
        this_update: now - time::Duration::hours(1),
        next_update: now + time::Duration::days(7),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: Vec::new(),
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&issuer, &key)
    .unwrap();
    vec![list.der().clone()]
}

/// New revocation lists count for an outway at once: it drops the connections it keeps
/// (made under the old lists) and stops presenting the certificate from before a renewal
/// that the lists now refuse.
async fn an_outway_follows_new_revocation_lists(w: World) {
    // The outways' own trust: the inway's stays as it is.
    let trust = w.trust();
    let outway = Outway::new(
        &identity(&w.pki, "gemeente"),
        None,
        &trust,
        w.manager.clone(),
        w.gemeente_log.0.clone(),
        Arc::new(SystemClock),
    )
    .unwrap();
    let outway = serve_plain(outway.service().into_router(Metrics::new())).await;
    let renewed = Outway::new(
        &identity(&w.pki, "gemeente-andere-sleutel"),
        Some(&identity(&w.pki, "gemeente")),
        &trust,
        w.manager.clone(),
        w.gemeente_log.0.clone(),
        Arc::new(SystemClock),
    )
    .unwrap();
    let renewed = serve_plain(renewed.service().into_router(Metrics::new())).await;
    assert_eq!(ask_for_sanne(&outway, PARKEREN).await.status(), 200);
    assert_eq!(ask_for_sanne(&renewed, PARKEREN).await.status(), 200);

    assert!(
        trust
            .replace_revocation_lists(a_foreign_revocation_list())
            .unwrap()
    );
    // The inway's certificate now has no known status: the connection kept from before
    // is not used, and a new one is refused.
    denied(
        ask_for_sanne(&outway, PARKEREN).await,
        502,
        "ERROR_CODE_SERVICE_UNREACHABLE",
    )
    .await;
    // Neither has the previous certificate: its connection is not used at all.
    denied(
        ask_for_sanne(&renewed, PARKEREN).await,
        403,
        "ERROR_CODE_GRANT_NOT_FOUND",
    )
    .await;
    // Without lists again, both answer again.
    assert!(trust.replace_revocation_lists(Vec::new()).unwrap());
    assert_eq!(ask_for_sanne(&outway, PARKEREN).await.status(), 200);
    assert_eq!(ask_for_sanne(&renewed, PARKEREN).await.status(), 200);
}

/// The municipality renews its certificate with a new key. Its connections name the
/// previous key: the outway presents the previous certificate for them, until that
/// certificate ends. A connection for the new key, once approved, goes first.
async fn an_outway_presents_its_previous_certificate_for_connections_that_name_it(w: World) {
    let rvig = identity(&w.pki, "rvig");
    let previous = identity(&w.pki, "gemeente");
    let renewed = identity(&w.pki, "gemeente-andere-sleutel");
    let pem = |name: &str| std::fs::read_to_string(w.pki.join(format!("{name}.pem"))).unwrap();
    // Before the renewal: a connection that outlasts the certificate (three years
    // against two), and a start with the old certificate, as the README says.
    let notices = w
        .asks_for(&previous, ATTENDEREN, validity(-1, 3 * 365))
        .await;
    w.manager.accept(&rvig, &notices).await.unwrap();
    let notices_grant = |policy: &loket_exchange::Policy| {
        policy
            .connections
            .values()
            .find(|c| c.contract_hash == notices)
            .unwrap()
            .grant_hash
            .clone()
    };
    let notices_grant = notices_grant(&w.manager.policy());
    w.manager
        .enter("gemeente", &previous, &pem("gemeente"))
        .await
        .unwrap();
    w.manager
        .enter("gemeente", &renewed, &pem("gemeente-andere-sleutel"))
        .await
        .unwrap();

    let clock = Arc::new(SystemClock);
    let without = outway_presenting(&w, &renewed, None, clock.clone()).await;
    denied(
        ask_for_sanne(&without, PARKEREN).await,
        403,
        "ERROR_CODE_GRANT_NOT_FOUND",
    )
    .await;
    assert_eq!(w.reached(), 0);

    let with = outway_presenting(&w, &renewed, Some(&previous), clock).await;
    assert_eq!(ask_for_sanne(&with, PARKEREN).await.status(), 200);
    assert_eq!(grant_the_inway_saw(&w).await, w.grant);
    assert_eq!(ask_for_sanne(&with, ATTENDEREN).await.status(), 200);
    assert_eq!(grant_the_inway_saw(&w).await, notices_grant);

    // Past the previous certificate's end (two years), its connections are not used,
    // though the notices one is still valid then.
    let ends = previous.valid_until().unwrap();
    let later = OffsetDateTime::from_unix_timestamp(ends + 60).unwrap();
    let after_the_end = outway_presenting(
        &w,
        &renewed,
        Some(&previous),
        Arc::new(FixedClock::at(later)),
    )
    .await;
    let reached = w.reached();
    denied(
        ask_for_sanne(&after_the_end, ATTENDEREN).await,
        403,
        "ERROR_CODE_GRANT_NOT_FOUND",
    )
    .await;
    assert_eq!(w.reached(), reached);

    // RvIG approves the same connection for the new key: from then on that one is used.
    let parking = w.manager.policy().connections[&w.grant]
        .contract_hash
        .clone();
    let again = w
        .manager
        .request_again(&renewed, &parking, &register())
        .await
        .unwrap();
    w.manager.accept(&rvig, &again).await.unwrap();
    let policy = w.manager.policy();
    let new_grant = policy
        .connections
        .values()
        .find(|c| c.contract_hash == again)
        .unwrap();
    assert_eq!(new_grant.thumbprint, renewed.thumbprint);
    // Each build of the policy holds its grants in another order.
    for _ in 0..8 {
        w.manager.reload().await.unwrap();
        assert_eq!(ask_for_sanne(&with, PARKEREN).await.status(), 200);
        assert_eq!(grant_the_inway_saw(&w).await, new_grant.grant_hash);
    }
    assert_eq!(ask_for_sanne(&without, PARKEREN).await.status(), 200);
    // Notices still only for the previous key.
    assert_eq!(ask_for_sanne(&with, ATTENDEREN).await.status(), 200);
    assert_eq!(grant_the_inway_saw(&w).await, notices_grant);
}

async fn the_outway_refuses_without_a_grant_for_the_purpose_or_the_fields(w: World) {
    denied(
        w.via_outway(None, &lookup(&["naam"])).await,
        403,
        "ERROR_CODE_PROCESSING_ACTIVITY_MISSING",
    )
    .await;
    denied(
        w.via_outway(Some(BELASTING), &lookup(&["naam"])).await,
        403,
        "ERROR_CODE_PROCESSING_ACTIVITY_NOT_GRANTED",
    )
    .await;
    denied(
        w.via_outway(Some(PARKEREN), &lookup(&["naam", "nationaliteiten"]))
            .await,
        403,
        "ERROR_CODE_FIELD_NOT_GRANTED",
    )
    .await;
    denied(
        w.via_outway(
            Some(PARKEREN),
            &json!({"type": "RaadpleegMetBurgerservicenummer"}),
        )
        .await,
        400,
        "ERROR_CODE_BODY_UNREADABLE",
    )
    .await;
    let unknown = reqwest::Client::new()
        .post(format!("{}/rdw-voertuigen/x", w.outway))
        .header(PROCESSING_ACTIVITY, PARKEREN)
        .send()
        .await
        .unwrap();
    denied(unknown, 404, "ERROR_CODE_SERVICE_NOT_FOUND").await;
    // A name longer than any service's is not written into the log as asked.
    let long = reqwest::Client::new()
        .post(format!("{}/{}/x", w.outway, "s".repeat(4000)))
        .header(PROCESSING_ACTIVITY, PARKEREN)
        .send()
        .await
        .unwrap();
    denied(long, 404, "ERROR_CODE_SERVICE_NOT_FOUND").await;
    let record = newest(&w.gemeente_log.0).await;
    assert_eq!(
        record["attributes"]["loket.exchange"]["serviceName"],
        "onbekend"
    );
    // A body naming its fields twice could be checked on one list and answered on the
    // other: refused, whatever the grant allows.
    let ambiguous = reqwest::Client::new()
        .post(format!("{}/{SERVICE}{PATH}", w.outway))
        .header(PROCESSING_ACTIVITY, PARKEREN)
        .header("content-type", "application/json")
        .body(format!(
            r#"{{"type": "RaadpleegMetBurgerservicenummer", "burgerservicenummer": ["{SANNE}"], "fields": ["naam"], "fields": ["nationaliteiten"]}}"#
        ))
        .send()
        .await
        .unwrap();
    denied(ambiguous, 400, "ERROR_CODE_BODY_AMBIGUOUS").await;
    let malformed = reqwest::Client::new()
        .post(format!("{}/{SERVICE}{PATH}", w.outway))
        .header(PROCESSING_ACTIVITY, PARKEREN)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    denied(malformed, 400, "ERROR_CODE_BODY_UNREADABLE").await;
    let huge = reqwest::Client::new()
        .post(format!("{}/{SERVICE}{PATH}", w.outway))
        .header(PROCESSING_ACTIVITY, PARKEREN)
        .header("content-type", "application/json")
        .body(vec![b' '; 2 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    // Announced as too large: refused before a byte is read, and logged.
    denied(huge, 413, "ERROR_CODE_BODY_TOO_LARGE").await;
    // Sent in chunks without a length: refused once it passes the limit, and logged.
    let (status, code) = chunked_post(&w.outway, PARKEREN, 2 * 1024 * 1024).await;
    assert_eq!((status, code.as_str()), (413, "ERROR_CODE_BODY_TOO_LARGE"));
    assert_eq!(w.reached(), 0, "nothing reached the register");
    // Every refusal is in the municipality's log, with its reason.
    let refused = w.gemeente_log.0.query(&all()).await.unwrap();
    assert_eq!(refused.len(), 10, "one record per refused request");
    assert_eq!(
        w.last_error_code(&w.gemeente_log.0).await,
        "ERROR_CODE_BODY_TOO_LARGE"
    );
    // The three that named Sanne (no purpose, a purpose not granted, a field outside the
    // grant) are found under her, with the reason for each.
    let mut reasons: Vec<String> = w
        .records_about(&w.gemeente_log.0, SANNE)
        .await
        .iter()
        .map(|r| {
            r["attributes"]["loket.exchange"]["errorCode"]
                .as_str()
                .unwrap_or_else(|| panic!("{r}"))
                .to_owned()
        })
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [
            "ERROR_CODE_FIELD_NOT_GRANTED",
            "ERROR_CODE_PROCESSING_ACTIVITY_MISSING",
            "ERROR_CODE_PROCESSING_ACTIVITY_NOT_GRANTED"
        ]
    );
    // And each is counted for the operator, by where and why.
    for (code, count) in [
        ("ERROR_CODE_PROCESSING_ACTIVITY_MISSING", 1),
        ("ERROR_CODE_FIELD_NOT_GRANTED", 1),
        ("ERROR_CODE_BODY_UNREADABLE", 2),
        ("ERROR_CODE_BODY_TOO_LARGE", 2),
        ("ERROR_CODE_GRANT_EXPIRED", 0),
    ] {
        assert_eq!(w.refusals("outway", code).await, count, "{code}");
        assert_eq!(w.refusals("inway", code).await, 0, "{code}");
    }
}

/// POST `size` bytes of JSON whitespace to the outway in chunks (no Content-Length);
/// the answer's status and `Fsc-Error-Code`.
async fn chunked_post(outway: &str, activity: &str, size: usize) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = outway.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /{SERVICE}{PATH} HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\n\
         fsc-processing-activity: {activity}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b' '; 64 * 1024];
    for _ in 0..size / chunk.len() {
        // The server may answer and close before it has read everything.
        let frame = [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
        if stream.write_all(&frame).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer).to_lowercase();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer: {answer}"));
    let code = answer
        .lines()
        .find_map(|line| line.strip_prefix("fsc-error-code: "))
        .unwrap_or_default()
        .trim()
        .to_uppercase();
    (status, code)
}

/// Headers an application gets wrong: an answer (problem+json where refused) and a record.
async fn malformed_headers_get_an_answer_and_a_record(w: World) {
    use reqwest::header::HeaderValue;
    let client = reqwest::Client::new();
    let post = |headers: Vec<(&'static str, HeaderValue)>| {
        let mut request = client
            .post(format!("{}/{SERVICE}{PATH}", w.outway))
            .json(&lookup(&["naam"]));
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send()
    };
    let parkeren = HeaderValue::from_static(PARKEREN);
    // An activity that is not text counts as none named; so does an activity named twice
    // (the check, the log and the inway might each read another).
    let garbled = HeaderValue::from_bytes(b"\xffparkeren\xfe").unwrap();
    let twice = vec![
        (PROCESSING_ACTIVITY, parkeren.clone()),
        (PROCESSING_ACTIVITY, HeaderValue::from_static(BELASTING)),
    ];
    for headers in [vec![(PROCESSING_ACTIVITY, garbled)], twice] {
        let response = post(headers).await.unwrap();
        denied(response, 403, "ERROR_CODE_PROCESSING_ACTIVITY_MISSING").await;
        assert_eq!(
            w.last_error_code(&w.gemeente_log.0).await,
            "ERROR_CODE_PROCESSING_ACTIVITY_MISSING"
        );
    }
    // Two content types: the register might read the body otherwise than the gateway.
    let json = HeaderValue::from_static("application/json");
    let response = post(vec![
        (PROCESSING_ACTIVITY, parkeren.clone()),
        ("content-type", json),
    ])
    .await
    .unwrap();
    denied(response, 400, "ERROR_CODE_BODY_AMBIGUOUS").await;
    assert_eq!(w.reached(), 0);
    // One the gateway cannot read (longer than a header it reads may be) would be
    // forwarded as it came: the register might read as JSON what the gateway did not.
    let long = format!("application/json; x={}", "a".repeat(600));
    let response = client
        .post(format!("{}/{SERVICE}{PATH}", w.outway))
        .header(PROCESSING_ACTIVITY, parkeren.clone())
        .header("content-type", HeaderValue::from_str(&long).unwrap())
        .body(lookup(&["naam"]).to_string())
        .send()
        .await
        .unwrap();
    denied(response, 400, "ERROR_CODE_BODY_AMBIGUOUS").await;
    assert_eq!(w.reached(), 0);
    let post = |name: &'static str, value: HeaderValue| {
        post(vec![(PROCESSING_ACTIVITY, parkeren.clone()), (name, value)])
    };
    // A broken traceparent is not followed: the request goes on under a trace of its own.
    let broken = HeaderValue::from_static("00-not-a-trace-01");
    assert_eq!(post("traceparent", broken).await.unwrap().status(), 200);
    let logged = &w.records_about(&w.gemeente_log.0, SANNE).await[0];
    let trace = logged["traceId"].as_str().unwrap();
    assert!(
        trace.len() == 32 && trace.bytes().all(|b| b.is_ascii_hexdigit()),
        "{logged}"
    );
    // A valid one is followed by both ends.
    let valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let response = post(
        "traceparent",
        reqwest::header::HeaderValue::from_static(valid),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    for log in [&w.gemeente_log.0, &w.rvig_log.0] {
        let newest = &w.records_about(log, SANNE).await[0];
        assert_eq!(
            newest["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736",
            "{newest}"
        );
    }
    assert_eq!(w.reached(), 2);
    // The media type written in another case is JSON all the same (as a register takes
    // it): read, checked against the grant, and Sanne is named at both ends.
    let response = client
        .post(format!("{}/{SERVICE}{PATH}", w.outway))
        .header(PROCESSING_ACTIVITY, parkeren.clone())
        .header("content-type", "Application/JSON")
        .body(lookup(&["naam"]).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(w.reached(), 3);
    for log in [&w.gemeente_log.0, &w.rvig_log.0] {
        let newest = &w.records_about(log, SANNE).await[0];
        assert_ne!(
            newest["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736",
            "a record of this request: {newest}"
        );
    }
    // JSON under a media type that is not JSON's, under a grant not limited to fields:
    // the register might read it all the same, and the inway could not tell whose data
    // it gave. Refused at the inway.
    let (gemeente, rvig) = (identity(&w.pki, "gemeente"), identity(&w.pki, "rvig"));
    let unlimited = w.asks_for(&gemeente, ATTENDEREN, validity(-1, 30)).await;
    w.manager.accept(&rvig, &unlimited).await.unwrap();
    let grant = w
        .manager
        .policy()
        .connections
        .values()
        .find(|connection| connection.fields.is_none())
        .unwrap()
        .grant_hash
        .clone();
    let naam = lookup(&["naam"]);
    let typed =
        |content_type: &'static str| w.direct_typed(&grant, ATTENDEREN, content_type, &naam);
    denied(typed("text/plain").await, 400, "ERROR_CODE_BODY_UNREADABLE").await;
    assert_eq!(w.reached(), 3);
    assert_eq!(typed("application/json").await.status(), 200);
    assert_eq!(w.reached(), 4);
}

fn entry(name: &str, peer: &str, inway: &str) -> ServiceEntry {
    ServiceEntry {
        name: name.into(),
        peer_id: peer.into(),
        inway: inway.into(),
        openapi: "/openapi.json".into(),
        subject_field: Some("burgerservicenummer".into()),
    }
}

/// Another organisation cannot take a service's name, nor list one the directory's
/// keeper did not accept, and a grant never follows a name to a new provider.
async fn a_service_stays_with_the_provider_the_directory_accepted(w: World) {
    let rdw = identity(&w.pki, "rdw");
    let gemeente = identity(&w.pki, "gemeente");
    let elsewhere = "https://127.0.0.1:9";
    let taken = w
        .manager
        .publish(&rdw, entry(SERVICE, RDW, elsewhere), validity(0, 30))
        .await;
    assert!(
        matches!(
            taken,
            Err(loket_exchange::ManagerError::ServiceTaken { .. })
        ),
        "{taken:?}"
    );
    assert_eq!(w.manager.policy().services[SERVICE].peer_id, RVIG);
    assert_eq!(
        w.via_outway(Some(PARKEREN), &lookup(&["naam"]))
            .await
            .status(),
        200
    );

    // RDW keeping a directory of its own in the same database lists nothing in ours.
    let own = Manager::open(&w.database, RDW, &w.trust(), &w.own)
        .await
        .unwrap();
    let hash = own
        .publish(&rdw, entry("rdw-brp", RDW, elsewhere), validity(0, 30))
        .await
        .unwrap();
    own.accept(&rdw, &hash).await.unwrap();
    assert!(own.policy().services.contains_key("rdw-brp"));
    w.manager.reload().await.unwrap();
    assert!(!w.manager.policy().services.contains_key("rdw-brp"));

    // Once RvIG's publication is revoked the name is free; the keeper accepts RDW's. The
    // municipality's grant was for RvIG's service: it does not carry requests to RDW.
    let rvig = identity(&w.pki, "rvig");
    let publication = w
        .manager
        .policy()
        .contracts
        .iter()
        .find(|c| {
            c.state == ContractState::Active
                && c.accepted_by.len() == 2
                && c.content.grants.iter().any(|g| {
                    matches!(
                        g.data,
                        loket_exchange::contract::GrantData::ServicePublication { .. }
                    )
                })
        })
        .map(|c| c.hash.clone())
        .unwrap();
    w.manager.revoke(&rvig, &publication).await.unwrap();
    let hash = w
        .manager
        .publish(&rdw, entry(SERVICE, RDW, elsewhere), validity(-1, 30))
        .await
        .unwrap();
    w.manager.accept(&gemeente, &hash).await.unwrap();
    assert_eq!(w.manager.policy().services[SERVICE].peer_id, RDW);
    let before = w.reached();
    denied(
        w.via_outway(Some(PARKEREN), &lookup(&["naam"])).await,
        403,
        "ERROR_CODE_GRANT_NOT_FOUND",
    )
    .await;
    assert_eq!(w.reached(), before);

    // A name that awaits the keeper's acceptance is held too: nobody else publishes it
    // meanwhile, nor is a connection to it asked for before the keeper vouches for it.
    let pending = w
        .manager
        .publish(
            &rdw,
            entry("rdw-kentekens", RDW, elsewhere),
            validity(-1, 30),
        )
        .await
        .unwrap();
    let squat = w
        .manager
        .publish(
            &rvig,
            entry("rdw-kentekens", RVIG, elsewhere),
            validity(-1, 30),
        )
        .await;
    assert!(
        matches!(&squat, Err(loket_exchange::ManagerError::ServiceTaken { peer, .. }) if peer == RDW),
        "{squat:?}"
    );
    let early = w
        .manager
        .request_connection(
            &gemeente,
            "rdw-kentekens",
            vec![PARKEREN.into()],
            None,
            validity(-1, 30),
            &register(),
        )
        .await;
    assert!(
        matches!(early, Err(loket_exchange::ManagerError::UnknownService(_))),
        "{early:?}"
    );
    // A request nobody validly signed (written straight into the database) holds nothing.
    let mut unsigned = w
        .manager
        .policy()
        .contracts
        .iter()
        .find(|c| c.hash == pending)
        .unwrap()
        .content
        .clone();
    for grant in &mut unsigned.grants {
        if let loket_exchange::contract::GrantData::ServicePublication { service, .. } =
            &mut grant.data
        {
            service.name = "rdw-apk".into();
        }
    }
    let unsigned_hash = unsigned.hash().unwrap();
    put_document(
        &w,
        "contract",
        &unsigned_hash,
        &serde_json::to_string(&unsigned).unwrap(),
    )
    .await;
    w.manager
        .publish(&rvig, entry("rdw-apk", RVIG, elsewhere), validity(-1, 30))
        .await
        .unwrap();
    // The keeper turns the request down (revokes it): the name is free again.
    w.manager.revoke(&gemeente, &pending).await.unwrap();
    w.manager
        .publish(
            &rvig,
            entry("rdw-kentekens", RVIG, elsewhere),
            validity(-1, 30),
        )
        .await
        .unwrap();
}

/// The inway address in the directory is not signed by anyone; the outway only talks to
/// an inway that shows the provider's own certificate.
async fn the_outway_sends_only_to_the_providers_own_inway(w: World) {
    // An inway with RDW's certificate (from the same CA) that counts what it is sent.
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    let router = axum::Router::new().fallback(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        std::future::ready("{}")
    });
    let impostor = serve_as(&w, "rdw", router).await;
    // Whoever can write to the directory's database moves RvIG's address there.
    w.move_service_to(&impostor).await;
    denied(
        w.via_outway(Some(PARKEREN), &lookup(&["naam"])).await,
        502,
        "ERROR_CODE_SERVICE_UNREACHABLE",
    )
    .await;
    assert_eq!(
        sent.load(Ordering::SeqCst),
        0,
        "the other inway got nothing"
    );
    assert_eq!(w.reached(), 0);
    assert_eq!(
        w.answer_error_code(&w.gemeente_log.0).await,
        "ERROR_CODE_SERVICE_UNREACHABLE"
    );
    // Back at RvIG's own inway, the same request goes through.
    w.move_service_to(&w.inway).await;
    assert_eq!(
        w.via_outway(Some(PARKEREN), &lookup(&["naam"]))
            .await
            .status(),
        200
    );
}

/// `router` behind mutual TLS with `name`'s certificate; its address.
async fn serve_as(w: &World, name: &str, router: axum::Router) -> String {
    let trust = w.trust();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "https://127.0.0.1:{}",
        listener.local_addr().unwrap().port()
    );
    tokio::spawn(loket_exchange::serve_tls(
        listener,
        tls::server_config(&identity(&w.pki, name), &trust).unwrap(),
        router,
        std::future::pending(),
    ));
    url
}

/// An inway logs under its organisation's own activity for each service (LDV): one its
/// log's register does not hold, such as the municipality's, stops it being made.
async fn an_inway_provides_only_under_an_activity_of_its_own_register(w: World) {
    let under = |activity: &str| {
        Inway::new(
            RVIG,
            w.manager.clone(),
            w.rvig_log.0.clone(),
            HashMap::from([(
                SERVICE.to_owned(),
                loket_exchange::InwayService {
                    register: "http://127.0.0.1:9".to_owned(),
                    activity: activity.to_owned(),
                },
            )]),
            Arc::new(SystemClock),
        )
    };
    let error = under(PARKEREN).unwrap_err();
    assert!(
        matches!(&error, loket_exchange::InwayError::ActivityUnknown { service, activity, .. }
            if service == SERVICE && activity == PARKEREN),
        "{error}"
    );
    assert!(under(RVIG_BRP).is_ok());
}

/// When the provider's inway refuses what the outway let through, the outway's record of
/// the answer says why, as long as the reason is an error code the exchange knows.
async fn the_outways_record_of_the_answer_says_why_the_inway_refused(w: World) {
    // RvIG's inway without the register behind it (a provider's misconfiguration).
    let bare = Inway::new(
        RVIG,
        w.manager.clone(),
        w.rvig_log.0.clone(),
        HashMap::new(),
        Arc::new(SystemClock),
    )
    .unwrap();
    let bare = serve_as(&w, "rvig", bare.service().into_router(Metrics::new())).await;
    w.move_service_to(&bare).await;
    denied(
        w.via_outway(Some(PARKEREN), &lookup(&["naam"])).await,
        404,
        "ERROR_CODE_SERVICE_NOT_FOUND",
    )
    .await;
    assert_eq!(w.reached(), 0);
    assert_eq!(
        w.answer_error_code(&w.gemeente_log.0).await,
        "ERROR_CODE_SERVICE_NOT_FOUND"
    );
    // A code the exchange does not know is not written into its log.
    let odd = axum::Router::new().fallback(|| async {
        (
            axum::http::StatusCode::FORBIDDEN,
            [("fsc-error-code", "ERROR_CODE_MADE_UP")],
            "{}",
        )
    });
    let odd = serve_as(&w, "rvig", odd).await;
    w.move_service_to(&odd).await;
    let answer = w.via_outway(Some(PARKEREN), &lookup(&["naam"])).await;
    assert_eq!(answer.status(), 403);
    assert_eq!(w.answer_error_code(&w.gemeente_log.0).await, "");
}

/// `count` valid BSNs, none a persona's.
fn bsns(count: usize) -> Vec<String> {
    (0..100_000_000u32)
        .map(|n| format!("{:09}", 100_000_000 + n))
        .filter(|text| loket_core::Bsn::parse(text).is_ok())
        .take(count)
        .collect()
}

/// Each BSN a request names is logged at both ends, so one request may name at most
/// `MAX_SUBJECTS`: more is refused at either end, with one record about nobody.
async fn a_request_naming_too_many_residents_is_refused_at_both_ends(w: World) {
    let bsns = bsns(MAX_SUBJECTS + 1);
    let naming = |count: usize| {
        let mut body = lookup(&["naam"]);
        body["burgerservicenummer"] = json!(bsns[..count]);
        body
    };
    denied(
        w.via_outway(Some(PARKEREN), &naming(MAX_SUBJECTS + 1))
            .await,
        400,
        "ERROR_CODE_TOO_MANY_SUBJECTS",
    )
    .await;
    denied(
        w.direct(
            &w.pki,
            "gemeente",
            Some(&w.grant),
            &naming(MAX_SUBJECTS + 1),
        )
        .await
        .unwrap(),
        400,
        "ERROR_CODE_TOO_MANY_SUBJECTS",
    )
    .await;
    assert_eq!(w.reached(), 0);
    for log in [&w.gemeente_log.0, &w.rvig_log.0] {
        let records = log.query(&all()).await.unwrap();
        assert_eq!(records.len(), 1, "one record about nobody");
        assert_eq!(w.last_error_code(log).await, "ERROR_CODE_TOO_MANY_SUBJECTS");
        assert!(w.records_about(log, &bsns[0]).await.is_empty());
    }
    // At the limit the exchange lets the request through; the register has its own.
    let answer = w.via_outway(Some(PARKEREN), &naming(MAX_SUBJECTS)).await;
    assert_eq!(w.reached(), 1, "{}", answer.status());
    let logged = w
        .settled_records_about(&w.gemeente_log.0, &bsns[0], 2)
        .await;
    assert_eq!(logged.len(), 2);
}

/// Each resident an answer names is logged at both ends, so one answer may name at most
/// `MAX_ANSWER_SUBJECTS`: a larger one is withheld by the end that reads it, and logged
/// once for each resident the request named (here: about nobody, for a search).
async fn an_answer_naming_too_many_residents_is_withheld(w: World) {
    const WITHHELD: &str = "ERROR_CODE_ANSWER_TOO_MANY_SUBJECTS";
    // Two reception centres: one with more residents than an answer may name, one with
    // exactly as many. Real people at one address, in the real register.
    let residents = bsns(2 * MAX_ANSWER_SUBJECTS + 1);
    let (crowded, full) = residents.split_at(MAX_ANSWER_SUBJECTS + 1);
    let living_at = |postcode: &str, bsns: &[String]| -> Vec<PersonRecord> {
        bsns.iter()
            .map(|bsn| {
                let mut person = w.resident.clone();
                person.burgerservicenummer.clone_from(bsn);
                (person.partners, person.ouders, person.kinderen) = Default::default();
                let address = person.verblijfplaats.as_mut().unwrap();
                (address.postcode, address.huisnummer) = (postcode.to_owned(), 1);
                person
            })
            .collect()
    };
    w.brp.insert(&living_at("9902AZ", crowded)).await.unwrap();
    w.brp.insert(&living_at("9903AZ", full)).await.unwrap();
    let search = |postcode: &str| json!({"type": "ZoekMetPostcodeEnHuisnummer", "postcode": postcode, "huisnummer": 1, "fields": ["naam"]});

    // The inway reads the register's answer, and does not pass it on.
    denied(
        w.via_outway(Some(PARKEREN), &search("9902AZ")).await,
        502,
        WITHHELD,
    )
    .await;
    assert_eq!(w.reached(), 1);
    for log in [&w.rvig_log.0, &w.gemeente_log.0] {
        assert_eq!(w.answer_error_code(log).await, WITHHELD);
        assert!(w.records_about(log, &crowded[0]).await.is_empty());
        assert!(
            w.records_about(log, &crowded[MAX_ANSWER_SUBJECTS])
                .await
                .is_empty()
        );
    }
    // At the limit the answer goes back, with a record for each resident in it.
    let answer = w.via_outway(Some(PARKEREN), &search("9903AZ")).await;
    assert_eq!(answer.status(), 200);
    let answer: Value = answer.json().await.unwrap();
    assert_eq!(
        answer["personen"].as_array().unwrap().len(),
        MAX_ANSWER_SUBJECTS
    );
    for bsn in [&full[0], &full[MAX_ANSWER_SUBJECTS - 1]] {
        let records = w.records_about(&w.rvig_log.0, bsn).await;
        assert_eq!(records.len(), 1, "{bsn}");
        assert_eq!(records[0]["name"], "brp-personen antwoord");
    }

    // The outway reads what another organisation's inway answers, and does not pass on
    // an answer naming more residents than it may; counted with those the request named.
    let naming = |count: usize| {
        let personen: Vec<Value> = residents[..count]
            .iter()
            .map(|bsn| json!({"burgerservicenummer": bsn}))
            .collect();
        axum::Router::new().fallback(move || {
            let answer = json!({"type": "RaadpleegMetBurgerservicenummer", "personen": personen});
            async move { axum::Json(answer) }
        })
    };
    let generous = serve_as(&w, "rvig", naming(MAX_ANSWER_SUBJECTS)).await;
    w.move_service_to(&generous).await;
    denied(
        w.via_outway(Some(PARKEREN), &lookup(&["naam"])).await,
        502,
        WITHHELD,
    )
    .await;
    assert_eq!(w.answer_error_code(&w.gemeente_log.0).await, WITHHELD);
    // Sanne, whom the request named, finds that an answer about her was withheld.
    let about_sanne = w.settled_records_about(&w.gemeente_log.0, SANNE, 2).await;
    assert_eq!(about_sanne.len(), 2);
    assert_eq!(about_sanne[0]["name"], "brp-personen antwoord");
    assert_eq!(error_code(&about_sanne[0]), WITHHELD);
    assert!(
        w.records_about(&w.gemeente_log.0, &residents[0])
            .await
            .is_empty()
    );
    // Naming no one, the same answer is within the limit and goes back, recorded.
    let search = json!({"type": "ZoekMetPostcodeEnHuisnummer", "postcode": "9901AB", "huisnummer": 12, "fields": ["naam"]});
    assert_eq!(w.via_outway(Some(PARKEREN), &search).await.status(), 200);
    let records = w.records_about(&w.gemeente_log.0, &residents[0]).await;
    assert_eq!(records.len(), 1);
    let generous = serve_as(&w, "rvig", naming(MAX_ANSWER_SUBJECTS + 1)).await;
    w.move_service_to(&generous).await;
    denied(w.via_outway(Some(PARKEREN), &search).await, 502, WITHHELD).await;
    assert_eq!(w.reached(), 2, "the other inways are not RvIG's register");
    // Counted where withheld: once by RvIG's inway (which the outway saw as the
    // provider's refusal), twice by the outway.
    assert_eq!(w.refusals("inway", WITHHELD).await, 1);
    assert_eq!(w.refusals("provider", WITHHELD).await, 1);
    assert_eq!(w.refusals("outway", WITHHELD).await, 2);
}

/// RvIG's inway in front of `register` instead of the BRP: the service moves there.
async fn inway_before(w: &World, register: axum::Router) -> String {
    let inway = Inway::new(
        RVIG,
        w.manager.clone(),
        w.rvig_log.0.clone(),
        provided_by_rvig(SERVICE, serve_plain(register).await),
        Arc::new(SystemClock),
    )
    .unwrap();
    let url = serve_as(w, "rvig", inway.service().into_router(Metrics::new())).await;
    w.move_service_to(&url).await;
    url
}

/// A register that answers `body` as `content_type` to anything.
fn answering(content_type: &'static str, body: String) -> axum::Router {
    axum::Router::new().fallback(move || {
        let body = body.clone();
        async move { ([(axum::http::header::CONTENT_TYPE, content_type)], body) }
    })
}

/// The inway counts the residents a request names with those its answer names: a
/// register that answers a lookup of Sanne with 1000 others has the answer withheld,
/// and Sanne finds that in RvIG's log.
async fn the_inway_counts_the_named_with_the_answered(w: World) {
    const WITHHELD: &str = "ERROR_CODE_ANSWER_TOO_MANY_SUBJECTS";
    let others = bsns(MAX_ANSWER_SUBJECTS);
    let items = |count: usize| {
        let personen: Vec<Value> = others[..count]
            .iter()
            .map(|bsn| json!({"burgerservicenummer": bsn, "naam": {"voornamen": "X"}}))
            .collect();
        json!({"type": "RaadpleegMetBurgerservicenummer", "personen": personen}).to_string()
    };
    inway_before(
        &w,
        answering("application/json", items(MAX_ANSWER_SUBJECTS)),
    )
    .await;
    denied(
        w.via_outway(Some(PARKEREN), &lookup(&["naam"])).await,
        502,
        WITHHELD,
    )
    .await;
    let about_sanne = w.settled_records_about(&w.rvig_log.0, SANNE, 2).await;
    assert_eq!(about_sanne.len(), 2, "{about_sanne:?}");
    assert_eq!(about_sanne[0]["name"], "brp-personen antwoord");
    assert_eq!(about_sanne[0]["status"], "Error");
    assert_eq!(error_code(&about_sanne[0]), WITHHELD);
    assert!(w.records_about(&w.rvig_log.0, &others[0]).await.is_empty());
    // One fewer fits: Sanne and the 999 are each logged as given.
    inway_before(
        &w,
        answering("application/json", items(MAX_ANSWER_SUBJECTS - 1)),
    )
    .await;
    let answer = w.via_outway(Some(PARKEREN), &lookup(&["naam"])).await;
    assert_eq!(answer.status(), 200);
    let answer: Value = answer.json().await.unwrap();
    assert!(answer["personen"][0].get("burgerservicenummer").is_none());
    let records = w
        .records_about(&w.rvig_log.0, &others[MAX_ANSWER_SUBJECTS - 2])
        .await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["status"], "Ok");
}

/// A service published without its subject field: the inway cannot ask for it, so it
/// names everyone whose BSN the answer holds, anywhere, as the outway does.
async fn without_a_subject_field_the_inway_reads_every_bsn_in_the_answer(w: World) {
    let others = bsns(3);
    let personen: Vec<Value> = others
        .iter()
        .map(|bsn| json!({"burgerservicenummer": bsn, "naam": {"voornamen": "X"}}))
        .collect();
    let answer = json!({"type": "ZoekMetGeslachtsnaamEnGeboortedatum", "personen": personen});
    inway_before(&w, answering("application/json", answer.to_string())).await;
    w.manager
        .update_service(&ServiceEntry {
            subject_field: None,
            ..entry(SERVICE, RVIG, &w.manager.policy().services[SERVICE].inway)
        })
        .await
        .unwrap();
    assert!(w.manager.policy().services[SERVICE].subject_field.is_none());
    let search = json!({"type": "ZoekMetGeslachtsnaamEnGeboortedatum", "geslachtsnaam": "X", "geboortedatum": "1980-01-01", "fields": ["naam"]});
    let answered = w.via_outway(Some(PARKEREN), &search).await;
    assert_eq!(answered.status(), 200);
    for bsn in &others {
        let records = w.settled_records_about(&w.rvig_log.0, bsn, 1).await;
        assert_eq!(records.len(), 1, "{bsn}: {records:?}");
        assert_eq!(records[0]["name"], "brp-personen antwoord");
        assert_eq!(records[0]["status"], "Ok");
    }
}

/// An answer that says it is JSON but cannot be read is withheld, at either end: whose
/// data it holds is not known. So is one the inway must take the subject field out of,
/// whatever it says. Other answers (a document) pass as they are.
async fn an_answer_that_cannot_be_read_is_withheld(w: World) {
    const UNREADABLE: &str = "ERROR_CODE_ANSWER_UNREADABLE";
    let broken = r#"{"personen":[{"burgerservicenummer":"999990019","naam":{"voornamen":"Jan"}}]"#;
    // At the inway, which asked the register for the subject field.
    inway_before(&w, answering("application/json", broken.to_owned())).await;
    let request = lookup(&["naam"]);
    denied(
        w.via_outway(Some(PARKEREN), &request).await,
        502,
        UNREADABLE,
    )
    .await;
    assert_eq!(w.answer_error_code(&w.rvig_log.0).await, UNREADABLE);
    assert_eq!(w.answer_error_code(&w.gemeente_log.0).await, UNREADABLE);
    // Asked for by no one, and labelled as text, it still has to be read to take the
    // subject field out.
    inway_before(&w, answering("text/plain", broken.to_owned())).await;
    denied(
        w.via_outway(Some(PARKEREN), &request).await,
        502,
        UNREADABLE,
    )
    .await;
    // At the outway, reading another organisation's answer. It reads every value, so a
    // number out of a float's range is not JSON to it (the inway copies it as text).
    let from_another_inway = |content_type: &'static str, body: &str| {
        let body = body.to_owned();
        let w = &w;
        async move {
            let inway = serve_as(w, "rvig", answering(content_type, body)).await;
            w.move_service_to(&inway).await;
            w.via_outway(Some(PARKEREN), &lookup(&["naam"])).await
        }
    };
    let out_of_range = r#"{"personen":[{"burgerservicenummer":"999990019"}],"n":1e400}"#;
    denied(
        from_another_inway("application/json", out_of_range).await,
        502,
        UNREADABLE,
    )
    .await;
    assert_eq!(w.answer_error_code(&w.gemeente_log.0).await, UNREADABLE);
    let about_jan = w.records_about(&w.gemeente_log.0, "999990019").await;
    assert!(about_jan.is_empty());
    let problem = from_another_inway("application/problem+json; charset=utf-8", "{").await;
    denied(problem, 502, UNREADABLE).await;
    let document = from_another_inway("application/pdf", "%PDF-1.7").await;
    assert_eq!(document.status(), 200);
    assert_eq!(document.text().await.unwrap(), "%PDF-1.7");
    assert_eq!(w.reached(), 0, "none of this was the BRP");
}

/// Write a document into the directory's database as whoever can write to it would,
/// past the manager.
async fn put_document(w: &World, kind: &str, key: &str, body: &str) {
    common::put_document(&w.database, kind, key, body).await;
}

/// A document nobody can read (written past the manager) is passed over: the policy is
/// built again without it, so a revocation after it still takes effect.
async fn an_unreadable_document_does_not_hold_the_policy(w: World) {
    for kind in ["peer", "service", "contract", "signature"] {
        put_document(&w, kind, "kapot", "{not json").await;
    }
    // A contract that reads but cannot be hashed (a number beyond what a contract may
    // hold) is passed over the same way.
    let mut content = w.manager.policy().contracts[0].content.clone();
    content.created_at = 1 << 60;
    let content = serde_json::to_string(&content).unwrap();
    put_document(&w, "contract", "te-groot", &content).await;
    w.manager.reload().await.unwrap();
    assert_eq!(
        w.via_outway(Some(PARKEREN), &lookup(&["naam"]))
            .await
            .status(),
        200
    );
    revoke_the_grant(&w).await;
    the_grant_is_refused(&w).await;
}

/// RvIG revokes the municipality's grant; the contract's hash.
async fn revoke_the_grant(w: &World) -> String {
    let contract = w.manager.policy().connections[&w.grant]
        .contract_hash
        .clone();
    w.manager
        .revoke(&identity(&w.pki, "rvig"), &contract)
        .await
        .unwrap();
    contract
}

async fn the_grant_is_refused(w: &World) {
    assert!(!w.manager.policy().connections.contains_key(&w.grant));
    denied(
        w.via_outway(Some(PARKEREN), &lookup(&["naam"])).await,
        403,
        "ERROR_CODE_GRANT_NOT_FOUND",
    )
    .await;
}

/// A revocation is a document in a database the consumer may write to too: one that
/// disappears does not bring the grant back, neither while the manager runs nor after a
/// restart (the organisation keeps what it saw revoked in its own storage).
async fn a_revocation_that_disappears_still_holds(w: World) {
    let contract = revoke_the_grant(&w).await;
    let removed = execute(
        &w.database,
        "DELETE FROM documents WHERE kind = 'signature' AND body LIKE '%\"revoke\"%'",
    )
    .await;
    assert_eq!(removed, 1);
    let policy = w.manager.reload().await.unwrap();
    let view = policy
        .contracts
        .iter()
        .find(|c| c.hash == contract)
        .unwrap();
    assert!(view.revoked_by.is_empty(), "the signature is gone");
    assert_eq!(view.state, ContractState::Revoked);
    the_grant_is_refused(&w).await;

    // Started again.
    let state = |manager: &Manager| {
        let policy = manager.policy();
        let view = policy.contracts.iter().find(|c| c.hash == contract);
        view.unwrap().state
    };
    let again = Manager::open(&w.database, GEMEENTE, &w.trust(), &w.own)
        .await
        .unwrap();
    assert_eq!(state(&again), ContractState::Revoked);
    assert!(!again.policy().connections.contains_key(&w.grant));
    // What holds it is the organisation's own memory: without it, the directory alone
    // would make the contract active again.
    assert_eq!(execute(&w.own, "DELETE FROM seen_revocations").await, 1);
    let forgetful = Manager::open(&w.database, GEMEENTE, &w.trust(), &w.own)
        .await
        .unwrap();
    assert_eq!(state(&forgetful), ContractState::Active);
}

/// A contract of another FSC group (or claiming another hash algorithm, or naming the
/// outway's key otherwise than by FSC's lowercase hex thumbprint), signed by both
/// parties, grants nothing in this one.
async fn a_contract_of_another_group_grants_nothing(w: World) {
    // A manager of another group sees none of this one's contracts.
    let elsewhere = Manager::open_in_group(
        "fsc.elders.example",
        &w.database,
        GEMEENTE,
        &w.trust(),
        &w.own,
    )
    .await
    .unwrap();
    assert!(elsewhere.policy().contracts.is_empty());
    assert!(!w.manager.policy().contracts.is_empty());
    assert!(matches!(
        Manager::open_in_group("Elders", &w.database, GEMEENTE, &w.trust(), &w.own).await,
        Err(ManagerError::Group(_))
    ));
    let policy = w.manager.policy();
    let ours = policy
        .contracts
        .iter()
        .find(|c| c.hash == policy.connections[&w.grant].contract_hash)
        .unwrap()
        .content
        .clone();
    let valid = ours.clone();
    let mut shouting = ours.clone();
    if let GrantData::ServiceConnection { outway, .. } = &mut shouting.grants[0].data {
        outway.public_key_thumbprint = outway.public_key_thumbprint.to_uppercase();
    }
    let others = [
        ContractContent {
            group_id: "fsc.elders.example".into(),
            ..ours.clone()
        },
        ContractContent {
            hash_algorithm: "HASH_ALGORITHM_SHA256".into(),
            ..ours
        },
        shouting,
    ];
    for other in others {
        let hash = other.hash().unwrap();
        let body = serde_json::to_string(&other).unwrap().replace('\'', "''");
        let stored = execute(
            &w.database,
            &format!(
                "INSERT INTO documents (kind, key, body) VALUES ('contract', '{hash}', '{body}')"
            ),
        )
        .await;
        assert_eq!(stored, 1);
        for party in ["gemeente", "rvig"] {
            w.manager
                .accept(&identity(&w.pki, party), &hash)
                .await
                .unwrap();
        }
        let policy = w.manager.reload().await.unwrap();
        assert!(
            !policy.contracts.iter().any(|c| c.hash == hash),
            "{}",
            other.group_id
        );
        // (The grant hash covers the group, not the algorithm: the second one's grant
        // is ours, granted by our contract.)
        let grant = other.grant_hash(&other.grants[0]).unwrap();
        assert!(
            policy
                .connections
                .get(&grant)
                .is_none_or(|c| c.contract_hash != hash)
        );
    }
    // A contract without grants has no parties to accept it, so it is in force for none.
    let empty = ContractContent {
        grants: Vec::new(),
        ..valid
    };
    let hash = empty.hash().unwrap();
    let body = serde_json::to_string(&empty).unwrap();
    let sql =
        format!("INSERT INTO documents (kind, key, body) VALUES ('contract', '{hash}', '{body}')");
    assert_eq!(execute(&w.database, &sql).await, 1);
    let policy = w.manager.reload().await.unwrap();
    assert!(!policy.contracts.iter().any(|c| c.hash == hash));
}

/// Run a statement on either backend; the number of rows it changed.
async fn execute(database: &Database, sql: &str) -> u64 {
    match database {
        Database::Sqlite(pool) => sqlx::query(sql)
            .execute(pool)
            .await
            .unwrap()
            .rows_affected(),
        Database::Postgres(pool) => sqlx::query(sql)
            .execute(pool)
            .await
            .unwrap()
            .rows_affected(),
    }
}

/// RvIG publishes its service again at another inway, which must fail; the directory
/// is then as `before`: the same inway, no more contracts. Returns it as it is after.
async fn moving_fails(
    w: &World,
    rvig: &Identity,
    before: &loket_exchange::Policy,
) -> std::sync::Arc<loket_exchange::Policy> {
    let moved = ServiceEntry {
        name: SERVICE.into(),
        peer_id: RVIG.into(),
        inway: "https://127.0.0.1:1".into(),
        openapi: "/openapi.json".into(),
        subject_field: Some("burgerservicenummer".into()),
    };
    let refused = w.manager.publish(rvig, moved, validity(-1, 365)).await;
    assert!(
        matches!(refused, Err(ManagerError::Store(_))),
        "{refused:?}"
    );
    let after = w.manager.reload().await.unwrap();
    assert_eq!(
        after.services[SERVICE].inway,
        before.services[SERVICE].inway
    );
    assert_eq!(after.contracts.len(), before.contracts.len());
    after
}

/// A publication that cannot be signed (the organisation's own storage fails) leaves the
/// directory as it was: no entry changed, no contract left without its signature.
async fn a_publication_that_cannot_be_signed_changes_nothing(w: World) {
    let rvig = identity(&w.pki, "rvig");
    let before = w.manager.reload().await.unwrap();
    execute(&w.own, "DROP TABLE own_signatures").await;
    moving_fails(&w, &rvig, &before).await;
}

/// The directory takes a contract, its signature and the service's entry together or not
/// at all: when it refuses the signature, neither the entry nor the contract is there.
/// An approval it refuses is not kept in the organisation's journal either, so a start
/// does not sign it after all.
async fn a_signature_the_directory_refuses_changes_nothing(w: World) {
    let (rvig, gemeente) = (identity(&w.pki, "rvig"), identity(&w.pki, "gemeente"));
    let asked = w.asks_for(&gemeente, ATTENDEREN, validity(-1, 365)).await;
    let before = w.manager.reload().await.unwrap();
    let refuse_signatures: &[&str] = match &w.database {
        Database::Sqlite(_) => &["CREATE TRIGGER no_signatures BEFORE INSERT ON documents \
             WHEN NEW.kind = 'signature' BEGIN SELECT RAISE(ABORT, 'refused'); END"],
        Database::Postgres(_) => &[
            "CREATE FUNCTION no_signatures() RETURNS trigger AS $$ BEGIN \
             IF NEW.kind = 'signature' THEN RAISE EXCEPTION 'refused'; END IF; \
             RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER no_signatures BEFORE INSERT ON documents \
             FOR EACH ROW EXECUTE FUNCTION no_signatures()",
        ],
    };
    for sql in refuse_signatures {
        execute(&w.database, sql).await;
    }
    let after = moving_fails(&w, &rvig, &before).await;

    let approval = w.manager.accept(&rvig, &asked).await;
    assert!(
        matches!(approval, Err(ManagerError::Store(_))),
        "{approval:?}"
    );
    let sql = "SELECT COUNT(*) FROM own_signatures WHERE peer_id = $1 AND contract_hash = $2";
    let kept: i64 = match &w.own {
        Database::Sqlite(pool) => sqlx::query_scalar(&sql.replace('$', "?"))
            .bind(RVIG)
            .bind(&asked)
            .fetch_one(pool)
            .await
            .unwrap(),
        Database::Postgres(pool) => sqlx::query_scalar(sql)
            .bind(RVIG)
            .bind(&asked)
            .fetch_one(pool)
            .await
            .unwrap(),
    };
    assert_eq!(kept, 0, "the journal does not keep what did not land");
    let state = after
        .contracts
        .iter()
        .find(|c| c.hash == asked)
        .unwrap()
        .state;
    assert_eq!(state, ContractState::Proposed);
}

/// Whoever can write to the directory's database could put a certificate of their own in
/// another organisation's place, and sign in its name. Only a certificate that chains to
/// the trust anchors, under the OIN it carries, counts: signatures by any other do not.
async fn a_certificate_outside_the_trust_anchors_signs_nothing(w: World) {
    let forger = tempfile::tempdir().unwrap();
    pki::init(forger.path(), &organisations(&[("rvig", RVIG)])).unwrap();
    let forged_rvig = identity(forger.path(), "rvig");
    let forged_pem = std::fs::read_to_string(forger.path().join("rvig.pem")).unwrap();
    // RDW asks for RvIG's BRP (and will accept in RvIG's name with a forged key).
    let rdw = identity(&w.pki, "rdw");
    let hash = w.asks_for(&rdw, PARKEREN, validity(-1, 30)).await;
    w.manager.accept(&rdw, &hash).await.unwrap();
    // The directory refuses it.
    let refused = w.manager.register_peer("rvig", &forged_pem).await;
    assert!(
        matches!(
            &refused,
            Err(ManagerError::Refused { peer, reason })
                if peer == RVIG && reason.contains("invalid peer certificate")
        ),
        "{refused:?}"
    );
    // Written straight into the database instead, in RvIG's place.
    let real_pem = std::fs::read_to_string(w.pki.join("rvig.pem")).unwrap();
    let entry = PeerEntry {
        oin: RVIG.into(),
        name: "rvig".into(),
        certificate_pem: forged_pem.clone(),
        earlier_certificates_pem: Vec::new(),
    };
    put_document(&w, "peer", RVIG, &serde_json::to_string(&entry).unwrap()).await;
    w.manager.accept(&forged_rvig, &hash).await.unwrap();
    let policy = w.manager.reload().await.unwrap();
    let contract = policy.contracts.iter().find(|c| c.hash == hash).unwrap();
    assert_eq!(contract.state, ContractState::Proposed);
    assert_eq!(contract.accepted_by, [RDW]);
    assert!(
        !policy.peers.contains_key(RVIG),
        "the untrusted entry is left out"
    );
    assert!(
        contract
            .grant_hashes
            .iter()
            .all(|grant| !policy.connections.contains_key(grant))
    );
    // Nor does it count as an earlier certificate beside RvIG's own.
    let entry = PeerEntry {
        certificate_pem: real_pem,
        earlier_certificates_pem: vec![forged_pem],
        ..entry
    };
    put_document(&w, "peer", RVIG, &serde_json::to_string(&entry).unwrap()).await;
    let policy = w.manager.reload().await.unwrap();
    assert!(
        policy.peers.contains_key(RVIG),
        "RvIG's own certificate counts"
    );
    let contract = policy.contracts.iter().find(|c| c.hash == hash).unwrap();
    assert_eq!(contract.state, ContractState::Proposed);
    assert_eq!(contract.accepted_by, [RDW]);
}

async fn the_inway_checks_on_its_own(w: World) {
    let body = lookup(&["naam"]);
    // A certificate from another CA does not get through the handshake.
    assert!(
        w.direct(&w.foreign, "gemeente", Some(&w.grant), &body)
            .await
            .is_err()
    );
    for (certificate, code) in [
        // From the right CA, for an organisation not in the directory.
        ("onbekend", "ERROR_CODE_UNKNOWN_PEER"),
        // The right organisation and CA, but not the certificate the grant was given to.
        (
            "gemeente-andere-sleutel",
            "ERROR_CODE_INCORRECT_PUBLIC_KEY_THUMBPRINT",
        ),
        // A known organisation using someone else's grant.
        ("rdw", "ERROR_CODE_WRONG_PEER"),
    ] {
        denied(
            w.direct(&w.pki, certificate, Some(&w.grant), &body)
                .await
                .unwrap(),
            403,
            code,
        )
        .await;
    }
    denied(
        w.direct(&w.pki, "gemeente", None, &body).await.unwrap(),
        401,
        "ERROR_CODE_GRANT_HASH_MISSING",
    )
    .await;
    denied(
        w.direct(&w.pki, "gemeente", Some("$1$3$made-up"), &body)
            .await
            .unwrap(),
        403,
        "ERROR_CODE_GRANT_NOT_FOUND",
    )
    .await;
    // The right grant, but no purpose or one the grant does not list.
    denied(
        w.direct_for(&w.pki, "gemeente", Some(&w.grant), None, &body)
            .await
            .unwrap(),
        403,
        "ERROR_CODE_PROCESSING_ACTIVITY_MISSING",
    )
    .await;
    denied(
        w.direct_for(&w.pki, "gemeente", Some(&w.grant), Some(BELASTING), &body)
            .await
            .unwrap(),
        403,
        "ERROR_CODE_PROCESSING_ACTIVITY_NOT_GRANTED",
    )
    .await;
    let nationaliteiten = lookup(&["nationaliteiten"]);
    denied(
        w.direct(&w.pki, "gemeente", Some(&w.grant), &nationaliteiten)
            .await
            .unwrap(),
        403,
        "ERROR_CODE_FIELD_NOT_GRANTED",
    )
    .await;
    // A grant limited to fields allows only queries whose fields are checked: not the
    // register's change feed (which names residents and what happened to them), even
    // with a body that names granted fields.
    let feed = "/haalcentraal/api/brp/v2/mutaties?aantal=1000";
    denied(
        w.direct_as_gemeente(reqwest::Method::GET, feed, PARKEREN, &body)
            .await,
        403,
        "ERROR_CODE_METHOD_NOT_GRANTED",
    )
    .await;
    // More fields than a request may ask, or a name too long: refused, and logged
    // without them.
    let many = lookup(&["naam"; 131]);
    let long = "n".repeat(201);
    for fields in [many, lookup(&[&long])] {
        denied(
            w.direct_as_gemeente(reqwest::Method::POST, PATH, PARKEREN, &fields)
                .await,
            400,
            "ERROR_CODE_TOO_MANY_FIELDS",
        )
        .await;
        let record = newest(&w.rvig_log.0).await;
        assert_eq!(
            record["attributes"]["loket.exchange"]["errorCode"],
            "ERROR_CODE_TOO_MANY_FIELDS"
        );
        assert!(
            record["attributes"]["loket.exchange"]["fields"].is_null(),
            "{record}"
        );
    }
    // A processing activity longer than a header may be counts as not given, and is
    // not written into the log.
    let long_activity = format!("{PARKEREN}/{}", "a".repeat(600));
    denied(
        w.direct_as_gemeente(reqwest::Method::POST, PATH, &long_activity, &body)
            .await,
        403,
        "ERROR_CODE_PROCESSING_ACTIVITY_MISSING",
    )
    .await;
    let record = newest(&w.rvig_log.0).await;
    // There, and `null`: RvIG's record, about a request that stated none.
    assert_eq!(
        record["attributes"]["loket.exchange"].get("statedProcessingActivityId"),
        Some(&Value::Null),
        "{record}"
    );
    // The grant is known, so RvIG's record names its own activity for the service.
    assert_eq!(
        record["attributes"]["dpl.core.processing_activity_id"],
        RVIG_BRP
    );
    assert_eq!(w.reached(), 0, "nothing reached the register");
    assert_eq!(
        w.rvig_log.0.query(&all()).await.unwrap().len(),
        12,
        "every refusal logged by RvIG"
    );
    // Each refusal names whose data was asked for: Sanne finds all twelve attempts.
    let about_sanne = w.records_about(&w.rvig_log.0, SANNE).await;
    assert_eq!(about_sanne.len(), 12, "{about_sanne:?}");
    assert!(
        about_sanne
            .iter()
            .all(|r| r["name"].as_str().unwrap().ends_with(" geweigerd") && r["status"] == "Error"),
        "{about_sanne:?}"
    );
    // The same request with the right certificate and fields goes through.
    let ok = w
        .direct(&w.pki, "gemeente", Some(&w.grant), &body)
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(w.reached(), 1);
}

/// Other organisations reach the inway: it tells them it is alive, but the process's
/// metrics and readiness are the operator's (the outway's side has them).
async fn the_inway_keeps_the_process_metrics_to_itself(w: World) {
    let config = tls::client_config(&identity(&w.pki, "gemeente"), &w.trust()).unwrap();
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .build()
        .unwrap();
    let get = |path: &str| client.get(format!("{}{path}", w.inway)).send();
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    for path in ["/metrics", "/readyz"] {
        let answer = get(path).await.unwrap();
        assert_ne!(answer.status(), 200, "{path}");
        let text = answer.text().await.unwrap();
        assert!(!text.contains("loket_exchange_refusals_total"), "{text}");
    }
    // The same process's metrics, where the operator reads them.
    let text = reqwest::get(format!("{}/metrics", w.outway))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("loket_exchange_refusals_total"));
    assert_eq!(w.reached(), 0, "nothing reached the register");
}

/// A connection does not outlast the publication it was made under: once RvIG revokes
/// its service's publication, its inway refuses the municipality's grant, also to a
/// client that skips the outway.
async fn a_connection_does_not_outlast_the_service_publication(w: World) {
    let body = lookup(&["naam"]);
    assert_eq!(
        w.direct(&w.pki, "gemeente", Some(&w.grant), &body)
            .await
            .unwrap()
            .status(),
        200
    );
    let publication = w
        .manager
        .policy()
        .contracts
        .iter()
        .find(|contract| {
            contract
                .content
                .grants
                .iter()
                .any(|grant| matches!(grant.data, GrantData::ServicePublication { .. }))
        })
        .unwrap()
        .hash
        .clone();
    w.manager
        .revoke(&identity(&w.pki, "rvig"), &publication)
        .await
        .unwrap();
    let policy = w.manager.policy();
    assert!(!policy.services.contains_key(SERVICE));
    assert!(
        policy.connections.contains_key(&w.grant),
        "the grant itself stands"
    );
    denied(
        w.direct(&w.pki, "gemeente", Some(&w.grant), &body)
            .await
            .unwrap(),
        404,
        "ERROR_CODE_SERVICE_NOT_FOUND",
    )
    .await;
    denied(
        w.via_outway(Some(PARKEREN), &body).await,
        404,
        "ERROR_CODE_SERVICE_NOT_FOUND",
    )
    .await;
    assert_eq!(w.reached(), 1, "only the request before");
}

async fn revoked_and_expired_grants_stop_working_at_once(w: World) {
    let gemeente = identity(&w.pki, "gemeente");
    let rvig = identity(&w.pki, "rvig");
    let contract = w.manager.policy().connections[&w.grant]
        .contract_hash
        .clone();
    w.manager.revoke(&rvig, &contract).await.unwrap();
    denied(
        w.via_outway(Some(PARKEREN), &lookup(&["naam"])).await,
        403,
        "ERROR_CODE_GRANT_NOT_FOUND",
    )
    .await;
    denied(
        w.direct(&w.pki, "gemeente", Some(&w.grant), &lookup(&["naam"]))
            .await
            .unwrap(),
        403,
        "ERROR_CODE_GRANT_NOT_FOUND",
    )
    .await;

    // A grant that ended yesterday, and one whose validity begins tomorrow: neither works
    // today, at either end.
    let mut contracts = Vec::new();
    for period in [validity(-10, -1), validity(1, 30)] {
        let contract = w.asks_for(&gemeente, PARKEREN, period).await;
        w.manager.accept(&rvig, &contract).await.unwrap();
        let grant = w
            .manager
            .policy()
            .connections
            .values()
            .find(|c| c.contract_hash == contract)
            .unwrap()
            .grant_hash
            .clone();
        denied(
            w.via_outway(Some(PARKEREN), &lookup(&["naam"])).await,
            403,
            "ERROR_CODE_GRANT_NOT_FOUND",
        )
        .await;
        denied(
            w.direct(&w.pki, "gemeente", Some(&grant), &lookup(&["naam"]))
                .await
                .unwrap(),
            403,
            "ERROR_CODE_GRANT_EXPIRED",
        )
        .await;
        contracts.push(contract);
    }
    assert_eq!(w.reached(), 0);
    // Each refusal is on record where it was made: three at the outway, three at the
    // inway.
    for (log, refusals) in [(&w.gemeente_log.0, 3), (&w.rvig_log.0, 3)] {
        assert_eq!(log.query(&all()).await.unwrap().len(), refusals);
    }
    assert_eq!(
        w.last_error_code(&w.gemeente_log.0).await,
        "ERROR_CODE_GRANT_NOT_FOUND"
    );
    assert_eq!(
        w.last_error_code(&w.rvig_log.0).await,
        "ERROR_CODE_GRANT_EXPIRED"
    );
    let state = |hash: &str| {
        let policy = w.manager.policy();
        policy
            .contracts
            .iter()
            .find(|c| c.hash == hash)
            .unwrap()
            .state
    };
    assert_eq!(state(&contracts[0]), ContractState::Expired);
    assert_eq!(state(&contracts[1]), ContractState::Upcoming);
    // A stranger cannot revoke or accept a contract it is not a party to.
    let rdw = identity(&w.pki, "rdw");
    assert!(w.manager.accept(&rdw, &contracts[0]).await.is_err());

    // A publication from tomorrow lists nothing today, yet holds its name.
    let upcoming = w
        .manager
        .publish(
            &rdw,
            entry("rdw-voertuigen", RDW, &w.inway),
            validity(1, 30),
        )
        .await
        .unwrap();
    w.manager.accept(&gemeente, &upcoming).await.unwrap();
    assert_eq!(state(&upcoming), ContractState::Upcoming);
    assert!(!w.manager.policy().services.contains_key("rdw-voertuigen"));
    let taken = w
        .manager
        .publish(
            &rvig,
            entry("rdw-voertuigen", RVIG, &w.inway),
            validity(0, 30),
        )
        .await;
    assert!(
        matches!(&taken, Err(ManagerError::ServiceTaken { peer, .. }) if peer == RDW),
        "{taken:?}"
    );
}

async fn changes_by_another_process_take_effect_at_the_next_check(w: World) {
    assert!(
        !w.manager.refresh().await.unwrap(),
        "nothing changed, nothing rebuilt"
    );
    // `loket exchange revoke` in another process: the same database, a manager of its own.
    let other = Manager::open(&w.database, GEMEENTE, &w.trust(), &w.own)
        .await
        .unwrap();
    let contract = w.manager.policy().connections[&w.grant]
        .contract_hash
        .clone();
    other
        .revoke(&identity(&w.pki, "rvig"), &contract)
        .await
        .unwrap();
    assert!(w.manager.refresh().await.unwrap(), "the revocation is seen");
    assert!(!w.manager.policy().connections.contains_key(&w.grant));
    denied(
        w.via_outway(Some(PARKEREN), &lookup(&["naam"])).await,
        403,
        "ERROR_CODE_GRANT_NOT_FOUND",
    )
    .await;
    assert_eq!(w.reached(), 0);

    // A contract whose validity ends in two seconds: no document changes, the clock does.
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let short = w
        .asks_for(
            &identity(&w.pki, "gemeente"),
            PARKEREN,
            Validity {
                not_before: now - 60,
                not_after: now + 2,
            },
        )
        .await;
    w.manager
        .accept(&identity(&w.pki, "rvig"), &short)
        .await
        .unwrap();
    let state = |manager: &Manager| {
        manager
            .policy()
            .contracts
            .iter()
            .find(|c| c.hash == short)
            .unwrap()
            .state
    };
    assert_eq!(state(&w.manager), ContractState::Active);
    assert!(!w.manager.refresh().await.unwrap());
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert!(w.manager.refresh().await.unwrap(), "its end is seen");
    assert_eq!(state(&w.manager), ContractState::Expired);
}

async fn a_failing_log_makes_the_exchange_refuse(w: World) {
    w.rvig_log.1.close().await;
    denied(
        w.via_outway(Some(PARKEREN), &lookup(&["naam"])).await,
        503,
        "ERROR_CODE_LOG_UNAVAILABLE",
    )
    .await;
    assert_eq!(
        w.reached(),
        0,
        "RvIG could not log, so the register was not called"
    );
    w.gemeente_log.1.close().await;
    denied(
        w.via_outway(Some(PARKEREN), &lookup(&["naam"])).await,
        503,
        "ERROR_CODE_LOG_UNAVAILABLE",
    )
    .await;
    assert_eq!(w.reached(), 0);
    // What an operator is alerted by: once at RvIG's inway (seen by the outway as the
    // provider's), once at the municipality's outway.
    let unavailable = "ERROR_CODE_LOG_UNAVAILABLE";
    assert_eq!(w.refusals("inway", unavailable).await, 1);
    assert_eq!(w.refusals("provider", unavailable).await, 1);
    assert_eq!(w.refusals("outway", unavailable).await, 1);
}

/// The management API for the municipality, RvIG and RDW (`gemeente-token`, …): its
/// base address.
async fn management_api(w: &World) -> String {
    use loket_core::Secret;
    use loket_exchange::management::{self, Operator};
    let operators = ["gemeente", "rvig", "rdw"]
        .iter()
        .map(|name| {
            Operator::new(
                &Secret::new(format!("{name}-token")),
                identity(&w.pki, name),
            )
        })
        .collect();
    let router = management::service(w.manager.clone(), operators, Arc::new(register()))
        .into_router(Metrics::new());
    format!("{}{}", serve_plain(router).await, management::BASE)
}

async fn the_management_api_requests_and_approves_as_each_organisation(w: World) {
    let base = management_api(&w).await;
    let client = reqwest::Client::new();
    let call = |path: &str, token: &str, body: Option<Value>| {
        let request = match body {
            Some(body) => client.post(format!("{base}{path}")).json(&body),
            None => client.get(format!("{base}{path}")),
        };
        request.bearer_auth(token).send()
    };

    let anonymous = client
        .get(format!("{base}/contracts"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        anonymous.headers()["content-type"],
        "application/problem+json"
    );

    let asked = json_of(call(
        "/contracts",
        "gemeente-token",
        Some(json!({"service": SERVICE, "processingActivities": [ATTENDEREN], "fields": ["naam"]})),
    ).await.unwrap()).await;
    let hash = asked["contractHash"].as_str().unwrap().to_owned();
    // Proposed only: the municipality cannot use it yet.
    denied(
        w.via_outway(Some(ATTENDEREN), &lookup(&["naam"])).await,
        403,
        "ERROR_CODE_PROCESSING_ACTIVITY_NOT_GRANTED",
    )
    .await;
    let accepted = json_of(
        call(
            &format!("/contracts/{hash}/accept"),
            "rvig-token",
            Some(json!({})),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(accepted["state"], "active");
    assert_eq!(
        w.via_outway(Some(ATTENDEREN), &lookup(&["naam"]))
            .await
            .status(),
        200
    );

    let revoked = json_of(
        call(
            &format!("/contracts/{hash}/revoke"),
            "gemeente-token",
            Some(json!({})),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(revoked["state"], "revoked");
    denied(
        w.via_outway(Some(ATTENDEREN), &lookup(&["naam"])).await,
        403,
        "ERROR_CODE_PROCESSING_ACTIVITY_NOT_GRANTED",
    )
    .await;

    let listed = json_of(call("/contracts", "rvig-token", None).await.unwrap()).await;
    assert!(listed["contracts"].as_array().unwrap().len() >= 3);
    let services = json_of(call("/services", "rvig-token", None).await.unwrap()).await;
    assert_eq!(services["services"][0]["name"], SERVICE);

    // Bad input: a clear problem, nothing written.
    let before = w.manager.policy().contracts.len();
    let empty = call(
        "/contracts",
        "gemeente-token",
        Some(json!({"service": SERVICE, "processingActivities": []})),
    )
    .await
    .unwrap();
    assert_eq!(empty.status(), 400);
    // A purpose the municipality's register does not describe.
    let unregistered = call(
        "/contracts",
        "gemeente-token",
        Some(json!({"service": SERVICE, "processingActivities": [PARKEREN, BELASTING]})),
    )
    .await
    .unwrap();
    assert_eq!(unregistered.status(), 400);
    let problem = json_of(unregistered).await;
    assert_eq!(
        problem["invalidParams"][0]["name"], "processingActivities",
        "{problem}"
    );
    let unknown = call(
        "/contracts",
        "gemeente-token",
        Some(json!({"service": "geen-dienst", "processingActivities": [PARKEREN]})),
    )
    .await
    .unwrap();
    assert_eq!(unknown.status(), 404);
    let extra = call(
        "/contracts",
        "gemeente-token",
        Some(json!({"service": SERVICE, "processingActivities": [PARKEREN], "scope": "all"})),
    )
    .await
    .unwrap();
    assert_eq!(extra.status(), 400);
    let bad_name = call(
        "/services",
        "rvig-token",
        Some(json!({"name": "BRP Personen!", "inway": "https://x", "openapi": "/openapi.json"})),
    )
    .await
    .unwrap();
    assert_eq!(bad_name.status(), 400);
    // RDW is no party to the municipality's contract with RvIG: it cannot revoke it.
    let connection = w.manager.policy().connections[&w.grant]
        .contract_hash
        .clone();
    let not_a_party = call(
        &format!("/contracts/{connection}/revoke"),
        "rdw-token",
        Some(json!({})),
    )
    .await
    .unwrap();
    assert_eq!(not_a_party.status(), 403);
    assert_eq!(
        not_a_party.headers()["content-type"],
        "application/problem+json"
    );
    assert_eq!(json_of(not_a_party).await["code"], "notAParty");
    assert!(
        w.manager.policy().connections.contains_key(&w.grant),
        "still in force"
    );
    let party = call(
        &format!("/contracts/{connection}/revoke"),
        "rvig-token",
        Some(json!({})),
    )
    .await
    .unwrap();
    assert_eq!(party.status(), 200, "RvIG is a party to the contract");
    let no_such = call(
        &format!("/contracts/$1$1${}/accept", "A".repeat(86)),
        "rvig-token",
        Some(json!({})),
    )
    .await
    .unwrap();
    assert_eq!(no_such.status(), 404);
    assert_eq!(w.manager.policy().contracts.len(), before);
}

/// Every operation the document describes answers as it says, success and each error the
/// document names; a method it does not name is refused.
async fn the_management_api_answers_as_its_document_says(w: World) {
    use loket_exchange::management::OPENAPI;
    let document = loket_http::openapi_check::Document::parse(OPENAPI);
    let base = management_api(&w).await;
    let client = reqwest::Client::new();
    let get = |path: &str, token: Option<&str>| {
        let request = client.get(format!("{base}{path}"));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
        .send()
    };
    let post = |path: &str, token: &str, body: Value| {
        client
            .post(format!("{base}{path}"))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    let mut reached = std::collections::BTreeSet::new();
    macro_rules! answer {
        ($method:expr, $template:expr, $request:expr) => {{
            let response = $request.await.unwrap();
            let path = response.url().path().to_owned();
            let (status, _, body) = document.read_documented($method, &path, response).await;
            assert_eq!(document.template_for(&path).as_deref(), Some($template));
            reached.insert(($method.to_owned(), $template.to_owned(), status));
            (status, body)
        }};
    }

    // The document itself, without a token, is the one in the repository.
    let (status, served) = answer!("get", "/openapi.json", get("/openapi.json", None));
    assert_eq!(status, 200);
    assert_eq!(served, serde_json::from_str::<Value>(OPENAPI).unwrap());

    let (status, _) = answer!("get", "/peers", get("/peers", Some("rvig-token")));
    assert_eq!(status, 200);
    let (status, _) = answer!("get", "/services", get("/services", Some("rvig-token")));
    assert_eq!(status, 200);
    let (status, _) = answer!("get", "/contracts", get("/contracts", Some("rvig-token")));
    assert_eq!(status, 200);
    let (status, _) = answer!("get", "/contracts", get("/contracts", None));
    assert_eq!(status, 401);
    let (status, _) = answer!("get", "/peers", get("/peers", Some("no-such-token")));
    assert_eq!(status, 401);

    // Publishing: created, refused for a name another organisation holds, a bad field,
    // not JSON, too large.
    let publication = json!({"name": "rdw-kentekens", "inway": "https://inway.rdw.example:8443", "openapi": "/openapi.json", "validDays": 30});
    let (status, _) = answer!(
        "post",
        "/services",
        post("/services", "rdw-token", publication)
    );
    assert_eq!(status, 201);
    let taken = json!({"name": SERVICE, "inway": "https://inway.rdw.example:8443", "openapi": "/openapi.json"});
    let (status, _) = answer!("post", "/services", post("/services", "rdw-token", taken));
    assert_eq!(status, 409);
    let plain = json!({"name": "rdw-kentekens", "inway": "http://inway.rdw.example", "openapi": "/openapi.json"});
    let (status, problem) = answer!("post", "/services", post("/services", "rdw-token", plain));
    assert_eq!(
        (status, problem["invalidParams"][0]["name"].as_str()),
        (400, Some("inway"))
    );
    let text = client
        .post(format!("{base}/services"))
        .bearer_auth("rdw-token")
        .body("name=x")
        .send();
    let (status, _) = answer!("post", "/services", text);
    assert_eq!(status, 415);
    let huge = json!({"name": "x".repeat(loket_http::JSON_BODY_LIMIT), "inway": "https://x", "openapi": "/"});
    let (status, _) = answer!("post", "/services", post("/services", "rdw-token", huge));
    assert_eq!(status, 413);

    // Requesting a connection: created, an unknown service, a bad body.
    let asked =
        json!({"service": SERVICE, "processingActivities": [ATTENDEREN], "fields": ["naam"]});
    let (status, created) = answer!(
        "post",
        "/contracts",
        post("/contracts", "gemeente-token", asked)
    );
    assert_eq!(status, 201);
    let hash = created["contractHash"].as_str().unwrap().to_owned();
    let nowhere = json!({"service": "geen-dienst", "processingActivities": [ATTENDEREN]});
    let (status, _) = answer!(
        "post",
        "/contracts",
        post("/contracts", "gemeente-token", nowhere)
    );
    assert_eq!(status, 404);
    let (status, _) = answer!(
        "post",
        "/contracts",
        post("/contracts", "gemeente-token", json!([]))
    );
    assert_eq!(status, 400);
    let text = client
        .post(format!("{base}/contracts"))
        .bearer_auth("gemeente-token")
        .body("service=brp-personen")
        .send();
    let (status, _) = answer!("post", "/contracts", text);
    assert_eq!(status, 415);
    let huge = json!({"service": SERVICE, "processingActivities": [ATTENDEREN], "fields": ["x".repeat(loket_http::JSON_BODY_LIMIT)]});
    let (status, _) = answer!(
        "post",
        "/contracts",
        post("/contracts", "gemeente-token", huge)
    );
    assert_eq!(status, 413);

    // Accepting and revoking: a party can, another organisation cannot; text that is no
    // contract hash is refused before any lookup, an unknown hash is not found. In the
    // path a hash's `$` may be as it is or `%24`.
    let unknown = format!("$1$1${}", "A".repeat(86));
    let encoded = hash.replace('$', "%24");
    for (action, contract, token, expected) in [
        ("accept", hash.as_str(), "rdw-token", 403),
        ("accept", hash.as_str(), "rvig-token", 200),
        ("accept", "$1$1$nothing", "rvig-token", 400),
        ("accept", unknown.as_str(), "rvig-token", 404),
        ("revoke", unknown.as_str(), "gemeente-token", 404),
        ("revoke", "%241%241%24B", "gemeente-token", 400),
        ("revoke", hash.as_str(), "rdw-token", 403),
        ("revoke", encoded.as_str(), "gemeente-token", 200),
        // Accepting what was revoked would change nothing.
        ("accept", hash.as_str(), "rvig-token", 409),
    ] {
        let template = format!("/contracts/{{hash}}/{action}");
        let path = format!("/contracts/{contract}/{action}");
        let (status, answer) = answer!("post", template.as_str(), post(&path, token, json!({})));
        assert_eq!(status, expected, "{path} as {token}: {answer}");
        match status {
            200 => assert_eq!(
                answer["state"],
                if action == "accept" {
                    "active"
                } else {
                    "revoked"
                }
            ),
            400 => assert_eq!(answer["invalidParams"][0]["name"], "hash"),
            _ => {}
        }
    }

    // Without a valid token every operation but the document is refused.
    for (path, methods) in document.operations() {
        let concrete = path.replace("{hash}", &hash);
        for method in methods.iter().filter(|_| path != "/openapi.json") {
            let request = client
                .request(
                    method.to_uppercase().parse().unwrap(),
                    format!("{base}{concrete}"),
                )
                .bearer_auth("not-a-token")
                .json(&json!({}))
                .send();
            let (status, _) = answer!(method.as_str(), path.as_str(), request);
            assert_eq!(status, 401, "{method} {path}");
        }
    }

    // Every documented status of each operation was reached.
    for (path, methods) in document.operations() {
        for method in &methods {
            let responses = document.statuses(method, &path);
            // A failure of our own (500) and the edge's timeout (503, its own test in
            // loket-http) are not reached here.
            for status in responses.into_iter().filter(|s| ![500, 503].contains(s)) {
                assert!(
                    reached.contains(&(method.clone(), path.clone(), status)),
                    "{method} {path} {status} not reached: {reached:?}"
                );
            }
        }
        // A method the document does not name is refused.
        let concrete = path.replace("{hash}", &hash);
        for method in ["get", "post", "put", "delete", "patch"] {
            if methods.iter().any(|m| m == method) {
                continue;
            }
            let response = client
                .request(
                    method.to_uppercase().parse().unwrap(),
                    format!("{base}{concrete}"),
                )
                .bearer_auth("rvig-token")
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 405, "{method} {path}");
        }
    }
}

/// Whether the management API must take one field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fit {
    Good,
    /// The right type, but it breaks a rule: a problem naming the field.
    Rule,
    /// Missing when required, the wrong type, or a key the API does not know.
    Shape,
    /// Well formed, but names a service that is not there.
    Unknown,
}

type Field = (&'static str, Option<Value>, Fit);

fn field(
    name: &'static str,
    choices: Vec<(Option<Value>, Fit)>,
) -> impl proptest::strategy::Strategy<Value = Field> {
    use proptest::prelude::*;
    // Half the time a good value, so that whole bodies are often good too.
    let good: Vec<_> = choices
        .iter()
        .filter(|(_, fit)| *fit == Fit::Good)
        .cloned()
        .collect();
    prop_oneof![
        proptest::sample::select(good),
        proptest::sample::select(choices)
    ]
    .prop_map(move |(value, fit)| (name, value, fit))
}

fn valid_days() -> impl proptest::strategy::Strategy<Value = Field> {
    use Fit::*;
    field(
        "validDays",
        vec![
            (None, Good),
            (Some(json!(null)), Good),
            (Some(json!(1)), Good),
            (Some(json!(65535)), Good),
            (Some(json!(0)), Shape),
            (Some(json!(-1)), Shape),
            (Some(json!(65536)), Shape),
            (Some(json!("30")), Shape),
        ],
    )
}

fn unknown_key() -> impl proptest::strategy::Strategy<Value = Field> {
    use Fit::*;
    field("scope", vec![(None, Good), (Some(json!("all")), Shape)])
}

/// A publication as a provider might send it: each field good, breaking a rule, or
/// malformed.
fn publications() -> impl proptest::strategy::Strategy<Value = Vec<Field>> {
    use Fit::*;
    use proptest::prelude::*;
    let name = prop_oneof![
        "dienst-[a-z]{1,8}".prop_map(|n| (Some(json!(n)), Good)),
        proptest::sample::select(vec![
            (Some(json!("BRP Personen!")), Rule),
            (Some(json!("ab")), Rule),
            (Some(json!("Dienst")), Rule),
            (Some(json!(5)), Shape),
            (None, Shape),
        ]),
    ]
    .prop_map(|(value, fit)| ("name", value, fit));
    let inway = field(
        "inway",
        vec![
            (Some(json!("https://127.0.0.1:9")), Good),
            (Some(json!("https://inway.example.nl/")), Good),
            (Some(json!("http://127.0.0.1:9")), Rule),
            (Some(json!("inway.example.nl")), Rule),
            (Some(json!("https://inway.example.nl/pad")), Rule),
            (Some(json!("https://wie@inway.example.nl")), Rule),
            (Some(json!(443)), Shape),
            (None, Shape),
        ],
    );
    let openapi = field(
        "openapi",
        vec![
            (Some(json!("/openapi.json")), Good),
            (Some(json!("openapi.json")), Rule),
            (Some(json!("//elders.example/x")), Rule),
            (Some(json!([])), Shape),
            (None, Shape),
        ],
    );
    let subject = field(
        "subjectField",
        vec![
            (None, Good),
            (Some(json!(null)), Good),
            (Some(json!("houder.burgerservicenummer")), Good),
            (Some(json!("")), Rule),
            (Some(json!("houder..bsn")), Rule),
            (Some(json!(3)), Shape),
        ],
    );
    (name, inway, openapi, subject, valid_days(), unknown_key())
        .prop_map(|(a, b, c, d, e, f)| vec![a, b, c, d, e, f])
}

/// A connection request as a consumer might send it.
fn connection_requests() -> impl proptest::strategy::Strategy<Value = Vec<Field>> {
    use Fit::*;
    use proptest::strategy::Strategy;
    let service = field(
        "service",
        vec![
            (Some(json!(SERVICE)), Good),
            (Some(json!("geen-dienst")), Unknown),
            (Some(json!(7)), Shape),
            (None, Shape),
        ],
    );
    let activities = field(
        "processingActivities",
        vec![
            (Some(json!([ATTENDEREN])), Good),
            (Some(json!([PARKEREN, ATTENDEREN])), Good),
            (Some(json!([])), Rule),
            (Some(json!([ATTENDEREN, BELASTING])), Rule),
            (Some(json!(ATTENDEREN)), Shape),
            (Some(json!([1])), Shape),
            (None, Shape),
        ],
    );
    let fields = field(
        "fields",
        vec![
            (None, Good),
            (Some(json!(null)), Good),
            (Some(json!(["naam"])), Good),
            (Some(json!(["naam", "verblijfplaats.adres"])), Good),
            (Some(json!([])), Rule),
            (Some(json!(["naam."])), Rule),
            (Some(json!(["naam", ""])), Rule),
            (Some(json!("naam")), Shape),
        ],
    );
    (service, activities, fields, valid_days(), unknown_key())
        .prop_map(|(a, b, c, d, e)| vec![a, b, c, d, e])
}

/// Whatever a provider or consumer sends to publish or to ask for a connection, the
/// answer is a new contract, or a problem that names what was wrong and leaves the
/// contracts as they were: never a server error, and never an entry outways cannot use.
async fn any_management_body_gives_a_contract_or_a_problem(w: World) {
    use proptest::strategy::{Strategy, ValueTree};
    let base = management_api(&w).await;
    let client = reqwest::Client::new();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (publications, requests) = (publications(), connection_requests());
    let mut outcomes = std::collections::BTreeMap::new();
    let document = loket_http::openapi_check::Document::parse(loket_exchange::management::OPENAPI);
    for round in 0..240 {
        let (path, token, fields) = if round % 2 == 0 {
            let body = publications.new_tree(&mut runner).unwrap().current();
            ("/services", "rvig-token", body)
        } else {
            let body = requests.new_tree(&mut runner).unwrap().current();
            ("/contracts", "gemeente-token", body)
        };
        let body: serde_json::Map<String, Value> = fields
            .iter()
            .filter_map(|(name, value, _)| Some(((*name).to_owned(), value.clone()?)))
            .collect();
        let flawed = |fit| -> Vec<&str> {
            fields
                .iter()
                .filter(|(_, _, f)| *f == fit)
                .map(|(name, _, _)| *name)
                .collect()
        };
        let before = w.manager.policy().contracts.len();
        let response = client
            .post(format!("{base}{path}"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let (status, _, answer) = document.read_documented("post", path, response).await;
        let context = format!("{path} {} → {status} {answer}", Value::Object(body.clone()));
        // The document's request schema is a floor: what it refuses, the API refuses.
        let body = Value::Object(body);
        if let Err(difference) = document.check_request("post", path, "application/json", &body) {
            assert_eq!(status, 400, "{difference}: {context}");
        }
        let after = w.manager.policy().contracts.len();
        let expected = if !flawed(Fit::Shape).is_empty() || !flawed(Fit::Rule).is_empty() {
            400
        } else if !flawed(Fit::Unknown).is_empty() {
            404
        } else {
            201
        };
        assert_eq!(status, expected, "{context}");
        if status == 201 {
            assert_eq!(after, before + 1, "{context}");
            let hash = answer["contractHash"].as_str().unwrap();
            assert!(
                w.manager.policy().contracts.iter().any(|c| c.hash == hash),
                "{context}"
            );
        } else {
            assert_eq!(after, before, "nothing written: {context}");
            assert!(answer["code"].is_string(), "{context}");
        }
        // A rule broken (and nothing malformed): the problem names only broken fields.
        if flawed(Fit::Shape).is_empty() && !flawed(Fit::Rule).is_empty() {
            let named: Vec<&str> = answer["invalidParams"]
                .as_array()
                .unwrap_or_else(|| panic!("{context}"))
                .iter()
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            assert!(!named.is_empty(), "{context}");
            assert!(
                named.iter().all(|n| flawed(Fit::Rule).contains(n)),
                "{context}"
            );
            if path == "/services" {
                // A publication is checked whole: every broken field at once.
                assert_eq!(named, flawed(Fit::Rule), "{context}");
            }
        }
        *outcomes.entry((path, status)).or_insert(0) += 1;
    }
    // Every kind of answer was reached, so the bodies are not all of one kind.
    for reached in [
        ("/services", 201),
        ("/services", 400),
        ("/contracts", 201),
        ("/contracts", 400),
        ("/contracts", 404),
    ] {
        assert!(outcomes.contains_key(&reached), "{outcomes:?}");
    }
}

loket_store::contract_suite! {
    open = world;
    tests = [
        an_allowed_request_reaches_the_register_and_is_logged_at_both_ends,
        an_outway_presents_its_previous_certificate_for_connections_that_name_it,
        an_outway_follows_new_revocation_lists,
        the_outway_refuses_without_a_grant_for_the_purpose_or_the_fields,
        the_inway_checks_on_its_own,
        malformed_headers_get_an_answer_and_a_record,
        a_bsn_elsewhere_in_a_request_is_not_logged_in_plain_text,
        a_publication_that_cannot_be_signed_changes_nothing,
        a_signature_the_directory_refuses_changes_nothing,
        a_service_stays_with_the_provider_the_directory_accepted,
        the_outway_sends_only_to_the_providers_own_inway,
        revoked_and_expired_grants_stop_working_at_once,
        a_connection_does_not_outlast_the_service_publication,
        the_inway_keeps_the_process_metrics_to_itself,
        the_outways_record_of_the_answer_says_why_the_inway_refused,
        an_inway_provides_only_under_an_activity_of_its_own_register,
        a_request_naming_too_many_residents_is_refused_at_both_ends,
        an_answer_naming_too_many_residents_is_withheld,
        the_inway_counts_the_named_with_the_answered,
        without_a_subject_field_the_inway_reads_every_bsn_in_the_answer,
        a_certificate_outside_the_trust_anchors_signs_nothing,
        an_unreadable_document_does_not_hold_the_policy,
        a_revocation_that_disappears_still_holds,
        a_contract_of_another_group_grants_nothing,
        an_answer_that_cannot_be_read_is_withheld,
        changes_by_another_process_take_effect_at_the_next_check,
        a_failing_log_makes_the_exchange_refuse,
        the_management_api_requests_and_approves_as_each_organisation,
        any_management_body_gives_a_contract_or_a_problem,
        the_management_api_answers_as_its_document_says,
    ];
}

async fn json_of(response: reqwest::Response) -> Value {
    response.json().await.unwrap()
}
