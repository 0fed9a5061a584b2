//! Reisdocumenten, RDW, DUO and Inkomen over HTTP, their change feeds and their OpenAPI
//! documents, on SQLite and PostgreSQL.

// Tests fail loudly; that is what they are for.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use loket_core::FixedClock;
use loket_http::openapi_check::Document;
use loket_http::{HttpService, Metrics};
use loket_registers::duo::{self, Code, Inschrijving, Niveau};
use loket_registers::inkomen::{self, Inkomensklasse, Inkomenssituatie, SoortUitkering, Uitkering};
use loket_registers::rdw::{self, Brandstof, Tenaamstelling, Voertuig};
use loket_registers::reisdocumenten::{
    self, Aanduiding, InhoudingOfVermissing, Reisdocument, Soort,
};
use loket_registers::{Datum, Feed, NewMutatie, Record, RecordStore, record_store};
use loket_store::{Database, Schema, StorageUrl};
use serde_json::{Value, json};
use time::macros::datetime;

const SANNE: &str = "999990007";
const KEES: &str = "999990093";
const NIEMAND: &str = "123456789";

fn datum(text: &str) -> Datum {
    Datum::parse(text).unwrap()
}

fn paspoort(number: &str, bsn: &str) -> Reisdocument {
    Reisdocument {
        reisdocumentnummer: number.into(),
        soort: Soort::Paspoort,
        burgerservicenummer: bsn.into(),
        datum_uitgifte: datum("2020-01-15"),
        datum_einde_geldigheid: datum("2030-01-15"),
        inhouding_of_vermissing: None,
    }
}

fn voertuig(kenteken: &str, bsn: &str) -> Voertuig {
    Voertuig {
        kenteken: kenteken.into(),
        merk: "VOLKSWAGEN".into(),
        handelsbenaming: "GOLF".into(),
        voertuigsoort: "Personenauto".into(),
        brandstof: Brandstof::Benzine,
        datum_eerste_toelating: datum("2019-04-01"),
        tenaamstelling: Tenaamstelling {
            burgerservicenummer: bsn.into(),
            datum: datum("2022-06-30"),
        },
    }
}

/// The registers on real ports, with the date fixed at 23 November 2026.
struct Registers {
    base: String,
    /// Each register's OpenAPI document, in the order of `base`.
    documents: Vec<Document>,
    reisdocumenten: (Arc<dyn RecordStore<Reisdocument>>, Feed),
    rdw: (Arc<dyn RecordStore<Voertuig>>, Feed),
}

async fn serve<R: Record>(
    storage: &StorageUrl,
    schema: &Schema,
    api: &'static loket_registers::RegisterApi<R>,
    routers: &mut Vec<(axum::Router, Document)>,
) -> (Arc<dyn RecordStore<R>>, Feed) {
    let database = Database::open(storage, schema).await.unwrap();
    let store = record_store::<R>(&database);
    let feed = Feed::new(&database);
    let clock = Arc::new(FixedClock::at(datetime!(2026-11-23 10:00 UTC)));
    let service: HttpService = api.service(store.clone(), feed.clone(), clock);
    routers.push((
        service.into_router(Metrics::new()),
        Document::new(api.openapi_document()),
    ));
    (store, feed)
}

async fn start(storage: &StorageUrl) -> Registers {
    let mut routers = Vec::new();
    let reisdocumenten = serve(
        storage,
        &reisdocumenten::SCHEMA,
        &reisdocumenten::API,
        &mut routers,
    )
    .await;
    let rdw = serve(storage, &rdw::SCHEMA, &rdw::API, &mut routers).await;
    let duo = serve(storage, &duo::SCHEMA, &duo::API, &mut routers).await;
    let inkomen = serve(storage, &inkomen::SCHEMA, &inkomen::API, &mut routers).await;

    let mut stolen = paspoort("NI1234567", KEES);
    stolen.soort = Soort::Identiteitskaart;
    stolen.inhouding_of_vermissing = Some(InhoudingOfVermissing {
        datum: datum("2026-11-20"),
        aanduiding: Aanduiding::Vermist,
    });
    reisdocumenten
        .0
        .insert(&[
            paspoort("NP1234567", SANNE),
            stolen,
            paspoort("NP7654321", KEES),
        ])
        .await
        .unwrap();
    rdw.0
        .insert(&[voertuig("GX123B", SANNE), voertuig("HT456N", SANNE)])
        .await
        .unwrap();
    duo.0
        .insert(&[Inschrijving {
            inschrijvingsnummer: "99999000701".into(),
            burgerservicenummer: SANNE.into(),
            instelling: Code::new("21PB", "Hogeschool Noord"),
            opleiding: Code::new("34607", "Verpleegkunde"),
            niveau: Niveau::Hbo,
            datum_aanvang: datum("2022-09-01"),
            datum_einde_verwacht: datum("2026-11-30"),
            datum_einde: None,
        }])
        .await
        .unwrap();
    inkomen
        .0
        .insert(&[Inkomenssituatie {
            burgerservicenummer: KEES.into(),
            inkomensklasse: Inkomensklasse::TotHonderdTien,
            peildatum: datum("2026-10-01"),
            uitkeringen: vec![Uitkering {
                uitkeringsnummer: "PW999990093".into(),
                soort: SoortUitkering::Participatiewet,
                bedrag_per_maand: 140_032,
                datum_aanvang: datum("2024-03-01"),
                datum_einde: Some(datum("2027-01-31")),
                betaaldag: 25,
            }],
        }])
        .await
        .unwrap();

    // Each register on its own port, as in production.
    let mut urls = Vec::new();
    let mut documents = Vec::new();
    for (router, document) in routers {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        urls.push(format!("http://{}", listener.local_addr().unwrap()));
        documents.push(document);
        tokio::spawn(loket_http::serve(listener, router, std::future::pending()));
    }
    Registers {
        base: urls.join(" "),
        documents,
        reisdocumenten,
        rdw,
    }
}

impl Registers {
    fn url(&self, register: usize, path: &str) -> String {
        format!("{}{path}", self.base.split(' ').nth(register).unwrap())
    }

    /// The answer, after checking it is one the register's OpenAPI document describes.
    async fn post(&self, register: usize, path: &str, body: Value) -> (u16, Value) {
        let response = reqwest::Client::new()
            .post(self.url(register, path))
            .json(&body)
            .send()
            .await
            .unwrap();
        // A document names the operation at its versioned path; Haal Centraal's own path
        // is the same operation.
        let documented = path.replace(
            reisdocumenten::REISDOCUMENTEN_PATH,
            reisdocumenten::VERSIONED_PATH,
        );
        let document = &self.documents[register];
        let (status, _, answer) = document
            .read_documented("post", &documented, response)
            .await;
        // What the register takes, its document takes too.
        if status == 200 {
            let template = document.template_for(&documented).unwrap();
            let fits = document.check_request("post", &template, "application/json", &body);
            assert_eq!(fits, Ok(()), "{documented} took {body}");
        }
        (status, answer)
    }

    /// The answer, after checking it is one the register's OpenAPI document describes
    /// (but for the document itself, served outside the API's base path).
    async fn get(&self, register: usize, path: &str) -> (u16, reqwest::header::HeaderMap, Value) {
        let response = reqwest::get(self.url(register, path)).await.unwrap();
        if path == "/openapi.json" {
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            return (status, headers, response.json().await.unwrap());
        }
        self.documents[register]
            .read_documented("get", path, response)
            .await
    }
}

const REIS: usize = 0;
const RDW: usize = 1;
const DUO: usize = 2;
const INKOMEN: usize = 3;

fn params(problem: &Value) -> Vec<(String, String, String)> {
    problem["invalidParams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["code"].as_str().unwrap().to_owned(),
                p["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn reisdocumenten_by_number_and_by_bsn(r: Registers) {
    let (status, answer) = r
        .post(
            REIS,
            reisdocumenten::REISDOCUMENTEN_PATH,
            json!({"type": "RaadpleegMetReisdocumentnummer", "reisdocumentnummer": ["NI1234567"], "fields": ["soort", "inhoudingOfVermissing", "datumEindeGeldigheid.datum"]}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer,
        json!({"type": "RaadpleegMetReisdocumentnummer", "reisdocumenten": [{
            "soort": {"code": "NI", "omschrijving": "Nederlandse identiteitskaart"},
            "datumEindeGeldigheid": {"type": "Datum", "datum": "2030-01-15"},
            "inhoudingOfVermissing": {
                "datum": {"type": "Datum", "datum": "2026-11-20", "langFormaat": "20 november 2026"},
                "aanduiding": {"code": "V", "omschrijving": "vermist"}
            }
        }]})
    );
    // The versioned path answers the same; a search by BSN finds every document, in order.
    let (status, answer) = r
        .post(
            REIS,
            reisdocumenten::VERSIONED_PATH,
            json!({"type": "ZoekMetBurgerservicenummer", "burgerservicenummer": KEES, "fields": ["reisdocumentnummer", "houder", "datumUitgifte.datum"]}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["reisdocumenten"],
        json!([
            {"reisdocumentnummer": "NI1234567", "datumUitgifte": {"type": "Datum", "datum": "2020-01-15"}, "houder": {"burgerservicenummer": KEES}},
            {"reisdocumentnummer": "NP7654321", "datumUitgifte": {"type": "Datum", "datum": "2020-01-15"}, "houder": {"burgerservicenummer": KEES}},
        ])
    );
    let (_, answer) = r
        .post(
            REIS,
            reisdocumenten::REISDOCUMENTEN_PATH,
            json!({"type": "ZoekMetBurgerservicenummer", "burgerservicenummer": NIEMAND, "fields": ["soort"]}),
        )
        .await;
    assert_eq!(answer["reisdocumenten"], json!([]), "nobody, no documents");
}

async fn reisdocumenten_errors_are_worded_as_haal_centraal(r: Registers) {
    let (status, problem) = r
        .post(
            REIS,
            reisdocumenten::REISDOCUMENTEN_PATH,
            json!({"type": "RaadpleegMetReisdocumentnummer", "reisdocumentnummer": ["NI1234567", "NP7654321"], "fields": ["soort", "kleur"], "burgerservicenummer": KEES}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        problem["title"],
        "Een of meerdere parameters zijn niet correct."
    );
    assert_eq!(problem["code"], "paramsValidation");
    assert_eq!(problem["instance"], reisdocumenten::REISDOCUMENTEN_PATH);
    assert_eq!(
        problem["type"],
        "https://datatracker.ietf.org/doc/html/rfc7231#section-6.5.1"
    );
    assert_eq!(
        params(&problem),
        [
            (
                "fields[1]".into(),
                "fields".into(),
                "Parameter bevat een niet bestaande veldnaam.".into()
            ),
            (
                "reisdocumentnummer".into(),
                "maxItems".into(),
                "Array bevat meer dan 1 items.".into()
            ),
            (
                "burgerservicenummer".into(),
                "unknownParam".into(),
                "Parameter is niet verwacht.".into()
            ),
        ]
    );
    assert_eq!(
        problem["detail"],
        "De foutieve parameter(s) zijn: fields[1], reisdocumentnummer, burgerservicenummer."
    );
    let (status, problem) = r
        .post(
            REIS,
            reisdocumenten::VERSIONED_PATH,
            json!({"type": "RaadpleegMetReisdocumentnummer", "reisdocumentnummer": ["ni123"]}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(problem["instance"], reisdocumenten::VERSIONED_PATH);
    assert_eq!(
        params(&problem),
        [
            (
                "fields".into(),
                "required".into(),
                "Parameter is verplicht.".into()
            ),
            (
                "reisdocumentnummer[0]".into(),
                "pattern".into(),
                "Waarde voldoet niet aan patroon ^[A-Z0-9]{9}$.".into()
            ),
        ]
    );
    let (status, problem) = r
        .post(
            REIS,
            reisdocumenten::REISDOCUMENTEN_PATH,
            json!({"type": "ZoekMetNaam", "fields": ["soort"]}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(params(&problem)[0].1, "value");
    let response = reqwest::Client::new()
        .post(r.url(REIS, reisdocumenten::REISDOCUMENTEN_PATH))
        .header("content-type", "application/json")
        .body("{\"type\": ")
        .send()
        .await
        .unwrap();
    let (status, _, _) = r.documents[REIS]
        .read_documented("post", reisdocumenten::VERSIONED_PATH, response)
        .await;
    assert_eq!(status, 400, "malformed JSON");
}

async fn rdw_by_kenteken_and_by_owner(r: Registers) {
    let (status, answer) = r
        .post(
            RDW,
            rdw::VOERTUIGEN_PATH,
            json!({"type": "RaadpleegMetKenteken", "kenteken": ["HT456N", "ZZ999Z", "GX123B"], "fields": ["kenteken", "merk", "brandstof.omschrijving", "tenaamstelling"]}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["voertuigen"],
        json!([
            {"kenteken": "HT456N", "merk": "VOLKSWAGEN", "brandstof": {"omschrijving": "Benzine"}, "tenaamstelling": {"burgerservicenummer": SANNE, "datum": {"type": "Datum", "datum": "2022-06-30", "langFormaat": "30 juni 2022"}}},
            {"kenteken": "GX123B", "merk": "VOLKSWAGEN", "brandstof": {"omschrijving": "Benzine"}, "tenaamstelling": {"burgerservicenummer": SANNE, "datum": {"type": "Datum", "datum": "2022-06-30", "langFormaat": "30 juni 2022"}}},
        ]),
        "in the order asked, the unknown plate left out"
    );
    let (_, answer) = r
        .post(
            RDW,
            rdw::VOERTUIGEN_PATH,
            json!({"type": "ZoekMetBurgerservicenummer", "burgerservicenummer": SANNE, "fields": ["kenteken"]}),
        )
        .await;
    assert_eq!(
        answer,
        json!({"type": "ZoekMetBurgerservicenummer", "voertuigen": [{"kenteken": "GX123B"}, {"kenteken": "HT456N"}]})
    );
    let (status, problem) = r
        .post(
            RDW,
            rdw::VOERTUIGEN_PATH,
            json!({"type": "ZoekMetBurgerservicenummer", "burgerservicenummer": "99999000", "fields": []}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        params(&problem),
        [
            (
                "fields".into(),
                "minItems".into(),
                "Array bevat minder dan 1 items.".into()
            ),
            (
                "burgerservicenummer".into(),
                "pattern".into(),
                "Waarde voldoet niet aan patroon ^[0-9]{9}$.".into()
            ),
        ]
    );
}

async fn duo_enrolments_by_bsn(r: Registers) {
    let (status, answer) = r
        .post(
            DUO,
            duo::INSCHRIJVINGEN_PATH,
            json!({"type": "ZoekMetBurgerservicenummer", "burgerservicenummer": SANNE, "fields": ["instelling.naam", "niveau", "datumEindeVerwacht.datum"]}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["inschrijvingen"],
        json!([{
            "instelling": {"naam": "Hogeschool Noord"},
            "niveau": {"code": "HBO", "omschrijving": "hoger beroepsonderwijs"},
            "datumEindeVerwacht": {"type": "Datum", "datum": "2026-11-30"}
        }])
    );
    let (status, problem) = r
        .post(
            DUO,
            duo::INSCHRIJVINGEN_PATH,
            json!({"type": "RaadpleegMetBurgerservicenummer", "burgerservicenummer": SANNE, "fields": ["niveau"]}),
        )
        .await;
    assert_eq!(status, 400, "DUO answers searches by BSN only");
    assert_eq!(params(&problem)[0].0, "type");
}

async fn inkomen_gives_the_class_and_the_coming_payments(r: Registers) {
    let (status, answer) = r
        .post(
            INKOMEN,
            inkomen::INKOMENSSITUATIES_PATH,
            json!({"type": "RaadpleegMetBurgerservicenummer", "burgerservicenummer": KEES, "fields": ["inkomensklasse", "uitkeringen.soort.code", "uitkeringen.betalingen"]}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let bedrag = json!({"waarde": "1400.32", "valuta": "EUR"});
    assert_eq!(
        answer["inkomenssituaties"],
        json!([{
            "inkomensklasse": {"code": "T110", "omschrijving": "tot 110% van het sociaal minimum", "totPercentageSociaalMinimum": 110},
            "uitkeringen": [{
                "soort": {"code": "PW"},
                "betalingen": [
                    {"datum": {"type": "Datum", "datum": "2026-11-25", "langFormaat": "25 november 2026"}, "bedrag": bedrag},
                    {"datum": {"type": "Datum", "datum": "2026-12-25", "langFormaat": "25 december 2026"}, "bedrag": bedrag},
                    {"datum": {"type": "Datum", "datum": "2027-01-25", "langFormaat": "25 januari 2027"}, "bedrag": bedrag},
                ]
            }]
        }])
    );
    let (_, answer) = r
        .post(
            INKOMEN,
            inkomen::INKOMENSSITUATIES_PATH,
            json!({"type": "RaadpleegMetBurgerservicenummer", "burgerservicenummer": SANNE, "fields": ["inkomensklasse"]}),
        )
        .await;
    assert_eq!(
        answer["inkomenssituaties"],
        json!([]),
        "unknown to the municipality"
    );
}

async fn a_change_is_in_the_feed_in_order_without_gaps(r: Registers) {
    let (store, _) = &r.reisdocumenten;
    let (status, headers, page) = r.get(REIS, reisdocumenten::MUTATIES_PATH).await;
    assert_eq!(status, 200);
    assert_eq!(headers["api-version"], reisdocumenten::API_VERSION);
    assert_eq!(page, json!({"mutaties": [], "volgende": 1}));

    let mut stolen = paspoort("NP1234567", SANNE);
    stolen.inhouding_of_vermissing = Some(InhoudingOfVermissing {
        datum: datum("2026-11-23"),
        aanduiding: Aanduiding::Vermist,
    });
    let at = datetime!(2026-11-23 09:15 UTC);
    store
        .put(
            &stolen,
            &NewMutatie::new(at, "vermissingGemeld", "NP1234567", Some(SANNE)),
        )
        .await
        .unwrap();
    // Writers at the same time still get consecutive numbers.
    let mut writers = Vec::new();
    for i in 0..12 {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            let number = format!("NP00000{i:02}");
            store
                .put(
                    &paspoort(&number, KEES),
                    &NewMutatie::new(at, "uitgegeven", &number, Some(KEES)),
                )
                .await
                .unwrap();
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let (_, _, page) = r
        .get(
            REIS,
            &format!("{}?vanaf=1&aantal=5", reisdocumenten::MUTATIES_PATH),
        )
        .await;
    assert_eq!(page["volgende"], 6);
    let first = &page["mutaties"][0];
    assert_eq!(
        *first,
        json!({"volgnummer": 1, "tijdstip": "2026-11-23T09:15:00Z", "soort": "vermissingGemeld", "sleutel": "NP1234567", "burgerservicenummer": SANNE})
    );
    let (_, _, rest) = r
        .get(
            REIS,
            &format!("{}?vanaf=6&aantal=1000", reisdocumenten::MUTATIES_PATH),
        )
        .await;
    let numbers: Vec<u64> = page["mutaties"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest["mutaties"].as_array().unwrap())
        .map(|m| m["volgnummer"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, (1..=13).collect::<Vec<_>>());
    assert_eq!(rest["volgende"], 14);

    // The record itself changed too: the same transaction.
    let (_, answer) = r
        .post(
            REIS,
            reisdocumenten::REISDOCUMENTEN_PATH,
            json!({"type": "RaadpleegMetReisdocumentnummer", "reisdocumentnummer": ["NP1234567"], "fields": ["inhoudingOfVermissing.aanduiding.code"]}),
        )
        .await;
    assert_eq!(
        answer["reisdocumenten"][0],
        json!({"inhoudingOfVermissing": {"aanduiding": {"code": "V"}}})
    );
    assert_eq!(
        store.count().await.unwrap(),
        3 + 12,
        "replaced, not duplicated"
    );

    // Another register's feed is its own.
    let (_, _, rdw_page) = r.get(RDW, rdw::MUTATIES_PATH).await;
    assert_eq!(rdw_page["mutaties"], json!([]));
    r.rdw
        .1
        .append(&[NewMutatie::new(at, "tenaamgesteld", "GX123B", Some(SANNE))])
        .await
        .unwrap();
    assert_eq!(r.rdw.1.last().await.unwrap(), 1);
}

async fn feed_parameters_are_checked(r: Registers) {
    for (query, name, code) in [
        ("vanaf=0", "vanaf", "minimum"),
        ("vanaf=abc", "vanaf", "integer"),
        ("aantal=1001", "aantal", "maximum"),
        ("vanaf=1&tot=4", "tot", "unknownParam"),
    ] {
        let (status, _, problem) = r.get(DUO, &format!("{}?{query}", duo::MUTATIES_PATH)).await;
        assert_eq!(status, 400, "{query}");
        assert_eq!(params(&problem)[0].0, name, "{query}");
        assert_eq!(params(&problem)[0].1, code, "{query}");
        assert_eq!(problem["instance"], duo::MUTATIES_PATH);
    }
}

async fn every_register_publishes_its_openapi_document(r: Registers) {
    for (register, version, path) in [
        (REIS, reisdocumenten::API_VERSION, "/reisdocumenten"),
        (RDW, rdw::API_VERSION, "/voertuigen"),
        (DUO, duo::API_VERSION, "/inschrijvingen"),
        (INKOMEN, inkomen::API_VERSION, "/inkomenssituaties"),
    ] {
        let (status, headers, document) = r.get(register, "/openapi.json").await;
        assert_eq!(status, 200);
        assert_eq!(headers["api-version"], version);
        assert_eq!(document["openapi"], "3.0.3");
        assert_eq!(document["info"]["version"], version);
        assert!(
            document["paths"][path]["post"]["responses"]["400"].is_object(),
            "{path}"
        );
        assert!(document["paths"]["/mutaties"]["get"].is_object());
        let server = document["servers"][0]["url"].as_str().unwrap();
        assert!(
            server.starts_with("https://") && server.contains("/v"),
            "{server}"
        );
    }
}

/// A duplicate key fails the whole batch: nothing of it is stored.
async fn a_batch_with_a_duplicate_key_is_refused_whole(r: Registers) {
    let (store, _) = &r.rdw;
    let result = store
        .insert(&[voertuig("NEW001", KEES), voertuig("GX123B", KEES)])
        .await;
    assert!(result.is_err());
    assert!(store.by_key(&["NEW001".into()]).await.unwrap().is_empty());
    assert_eq!(store.count().await.unwrap(), 2);
    assert!(
        store.begin_bulk_load().await.is_err(),
        "bulk loads need an empty store"
    );
}

loket_store::contract_suite! {
    open = start;
    tests = [
        reisdocumenten_by_number_and_by_bsn,
        reisdocumenten_errors_are_worded_as_haal_centraal,
        rdw_by_kenteken_and_by_owner,
        duo_enrolments_by_bsn,
        inkomen_gives_the_class_and_the_coming_payments,
        a_change_is_in_the_feed_in_order_without_gaps,
        feed_parameters_are_checked,
        every_register_publishes_its_openapi_document,
        a_batch_with_a_duplicate_key_is_refused_whole,
    ];
}
