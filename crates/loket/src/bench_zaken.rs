//! `loket bench zaken`: a store filled with N cases (the first run imports them), the ZGW
//! Zaken API served in-process over HTTP with JWT checks as in production, and clients
//! listing one resident's cases after another.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use loket_core::{Clock, Secret, SystemClock};
use loket_http::Metrics;
use loket_store::{Database, StorageUrl};
use loket_zaken::zaak::{NewRol, NewStatus, NewZaak, Outcome, ZaakFilter, statustype};
use loket_zaken::zgw::{Zaaktype, ZgwApi};
use loket_zaken::zgw_auth::{Client, Clients, Scope, sign};
use serde_json::json;
use time::OffsetDateTime;

const PERMIT: &str = "bewonersparkeervergunning";
/// Cases per resident, on average: a municipality's million cases are about 200,000 people.
const CASES_PER_RESIDENT: u64 = 5;
const IMPORT_BATCH: u64 = 10_000;

/// The resident (a nine-digit number outside the real ranges) case `n` belongs to.
fn resident(n: u64, residents: u64) -> String {
    format!("{:09}", 100_000_000 + n % residents)
}

/// Case `n`: most are decided and closed, with a decision record of realistic size.
fn case(n: u64, residents: u64, now: OffsetDateTime) -> NewZaak {
    let days_ago = i64::try_from(n % 700).unwrap_or(0);
    let registered = now - time::Duration::days(days_ago);
    let mut statuses = vec![NewStatus {
        statustype: statustype::ONTVANGEN.to_owned(),
        datum_status_gezet: registered,
        actor: "Loket (automatisch)".to_owned(),
        toelichting: "Uw aanvraag is ontvangen.".to_owned(),
    }];
    let decided = !n.is_multiple_of(10);
    if decided {
        statuses.push(NewStatus {
            statustype: statustype::AFGEHANDELD.to_owned(),
            datum_status_gezet: registered,
            actor: "Loket (automatisch)".to_owned(),
            toelichting: "U krijgt de bewonersparkeervergunning.".to_owned(),
        });
    }
    let rule = |id: &str| {
        json!({"id": id, "naam": {"nl": "Regel", "en": "Rule"}, "voorwaarde": "brp.personen[0].gemeenteVanInschrijving.code == gemeente.code",
               "grondslag": "Parkeerverordening Voorbeeldstad, artikel 3", "invoer": ["brp", "gemeente"], "uitkomst": "voldaan",
               "uitleg": {"nl": "U staat ingeschreven op Kerkstraat 12 in Voorbeeldstad.", "en": "You are registered at Kerkstraat 12 in Voorbeeldstad."}})
    };
    let record = json!({
        "product": PERMIT, "uitkomst": "toegekend", "door": "Loket (automatisch)",
        "regels": [rule("woont-in-gemeente"), rule("auto-op-naam"), rule("max-per-adres")],
        "uitleg": {"nl": "U krijgt de bewonersparkeervergunning.", "en": "You get the residential parking permit."},
        "gegevens": [{"naam": "brp", "bron": "BRP", "dienst": "brp-personen", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
                      "span_id": "00f067aa0ba902b7", "waarden": {"personen": [{"naam": {"volledigeNaam": "Sanne de Vries"},
                      "verblijfplaats": {"verblijfadres": {"officieleStraatnaam": "Kerkstraat", "huisnummer": 12, "postcode": "9901AB"}}}]}}],
        "invoer": {}
    });
    NewZaak {
        bronorganisatie: "123456782".to_owned(),
        zaaktype: PERMIT.to_owned(),
        omschrijving: "Aanvraag bewonersparkeervergunning".to_owned(),
        registratiedatum: registered.date(),
        startdatum: None,
        behandeltermijn_dagen: 56,
        zaakobject: Some(format!("9901AB {}", n % 500)),
        initiator: Some(NewRol::initiator(&resident(n, residents))),
        statuses,
        besluit: decided.then_some((Outcome::Toegekend, record)),
        resultaat: decided.then(|| ("toegekend".to_owned(), "Verleend".to_owned())),
        documenten: Vec::new(),
        audit: None,
        berichten: Vec::new(),
    }
}

#[allow(clippy::print_stdout, clippy::print_stderr)]
pub async fn run(
    storage: StorageUrl,
    zaken: u64,
    clients: usize,
    duration: u64,
) -> anyhow::Result<()> {
    let database = Database::open(&storage, &loket_zaken::SCHEMA)
        .await
        .context("cannot open the zaken database")?;
    let store = loket_zaken::zaak_store(&database);
    let residents = (zaken / CASES_PER_RESIDENT).max(1);
    let all = ZaakFilter {
        page: 1,
        page_size: 1,
        ..ZaakFilter::default()
    };
    let mut have = store.list(&all).await?.total;
    if have < zaken {
        let started = Instant::now();
        let now = SystemClock.now();
        while have < zaken {
            let batch: Vec<NewZaak> = (have..zaken.min(have + IMPORT_BATCH))
                .map(|n| case(n, residents, now))
                .collect();
            have += store.import(&batch, now).await?;
            eprint!("\rimported {have} of {zaken} cases");
        }
        eprintln!(" in {:.0} s", started.elapsed().as_secs_f64());
    }
    println!("{have} cases for {residents} residents in the store");

    let secret = uuid::Uuid::new_v4().simple().to_string();
    let api_clients = Clients::new([Client {
        client_id: "bench".to_owned(),
        secret: Secret::new(secret.clone()),
        autorisaties: BTreeMap::from([(PERMIT.to_owned(), vec![Scope::Lezen])]),
    }]);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let base = format!("http://{}", listener.local_addr()?);
    let zaaktypen = vec![Zaaktype {
        id: PERMIT.to_owned(),
        omschrijving: "Bewonersparkeervergunning".to_owned(),
        behandeltermijn_dagen: 56,
    }];
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let router = ZgwApi::new(store, api_clients, zaaktypen, &base, clock.clone())
        .service()
        .into_router(Metrics::new());
    tokio::spawn(loket_http::serve(listener, router, std::future::pending()));

    // Residents in a scattered order, so no two clients walk the same cases.
    let paths: Vec<String> = (0..10_000u64)
        .map(|i| {
            format!(
                "/zaken/api/v1/zaken?rol__betrokkeneIdentificatie__natuurlijkPersoon__inpBsn={}",
                resident(i.wrapping_mul(7_919), residents)
            )
        })
        .collect();
    let token = sign("bench", &secret, "bench", clock.now().unix_timestamp());
    let report = crate::bench::http_load_paths(
        &base,
        &paths,
        clients,
        Duration::from_secs(duration),
        &format!("Bearer {token}"),
    )
    .await?;
    let mut sorted = report.latencies_us;
    sorted.sort_unstable();
    println!(
        "list one resident's cases: {} requests in {duration} s over {clients} clients: {:.0} req/s, {} errors",
        sorted.len(),
        sorted.len() as f64 / report.elapsed.as_secs_f64(),
        report.errors
    );
    println!(
        "latency: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        f64::from(crate::bench::percentile(&sorted, 0.50)) / 1000.0,
        f64::from(crate::bench::percentile(&sorted, 0.99)) / 1000.0,
        f64::from(sorted.last().copied().unwrap_or(0)) / 1000.0
    );
    Ok(())
}
