//! The BRP Personen API as Haal Centraal specifies it, over HTTP, on SQLite and PostgreSQL.

// Tests fail loudly; that is what they are for.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use loket_core::FixedClock;
use loket_http::Metrics;
use loket_http::openapi_check::Document;
use loket_registers::brp::{
    self, Adres, Datum, Geboorte, Geslacht, Naam, Overlijden, PersonRecord, PersonStore, Relative,
    Waarde,
};
use loket_store::{Database, StorageUrl};
use serde_json::{Value, json};
use time::macros::datetime;

const JAN: &str = "999990007";
const ELS: &str = "999990019";
const PIET: &str = "999990020";
const OVERLEDEN: &str = "999990032";
const ELDERS: &str = "999990044";

fn datum(text: &str) -> Datum {
    Datum::parse(text).unwrap()
}

fn person(
    bsn: &str,
    voornamen: &str,
    voorvoegsel: Option<&str>,
    geslachtsnaam: &str,
    born: &str,
    gemeente: (&str, &str),
) -> PersonRecord {
    PersonRecord {
        burgerservicenummer: bsn.into(),
        geslacht: Geslacht::Man,
        naam: Naam {
            voornamen: voornamen.into(),
            voorvoegsel: voorvoegsel.map(Into::into),
            geslachtsnaam: geslachtsnaam.into(),
            adellijke_titel_predicaat: None,
        },
        geboorte: Geboorte {
            datum: datum(born),
            plaats: Waarde::new("0363", "Amsterdam"),
            land: Waarde::new("6030", "Nederland"),
        },
        nationaliteiten: vec![Waarde::new("0001", "Nederlandse")],
        verblijfplaats: Some(Adres {
            straat: "Kerkstraat".into(),
            huisnummer: 12,
            huisletter: Some("a".into()),
            huisnummertoevoeging: None,
            postcode: "1234AB".into(),
            woonplaats: "Voorbeeldstad".into(),
            datum_van: datum("2020-05-01"),
        }),
        gemeente_van_inschrijving: Waarde::new(gemeente.0, gemeente.1),
        datum_inschrijving_in_gemeente: datum("2020-05-01"),
        partners: vec![],
        ouders: vec![],
        kinderen: vec![],
        overlijden: None,
    }
}

fn population() -> Vec<PersonRecord> {
    let gemeente = ("9999", "Voorbeeldstad");
    let mut jan = person(
        JAN,
        "Jan Pieter",
        Some("de"),
        "Vries",
        "1985-03-14",
        gemeente,
    );
    jan.partners.push(Relative {
        burgerservicenummer: Some(ELS.into()),
        naam: Naam {
            voornamen: "Els".into(),
            voorvoegsel: None,
            geslachtsnaam: "Bakker".into(),
            adellijke_titel_predicaat: None,
        },
        geboorte: None,
        geslacht: Some(Geslacht::Vrouw),
        datum_aangaan: Some(datum("2012-06-01")),
        soort_verbintenis: Some("H".into()),
        ouder_aanduiding: None,
    });
    let mut els = person(ELS, "Els", None, "Bakker", "1987-11-02", gemeente);
    els.geslacht = Geslacht::Vrouw;
    let piet = person(PIET, "Piet", Some("de"), "Vriesema", "1985-03-14", gemeente);
    let mut dead = person(
        OVERLEDEN,
        "Karel",
        Some("de"),
        "Vries",
        "1985-03-14",
        gemeente,
    );
    dead.overlijden = Some(Overlijden {
        datum: datum("2024-01-05"),
        plaats: Waarde::new("0363", "Amsterdam"),
        land: Waarde::new("6030", "Nederland"),
    });
    let mut elders = person(
        ELDERS,
        "Jan",
        None,
        "Vries",
        "1985-03-14",
        ("0363", "Amsterdam"),
    );
    elders.verblijfplaats = None;
    vec![jan, els, piet, dead, elders]
}

/// A BRP register on a real port, backed by the given storage, with the date fixed.
struct Brp {
    url: String,
    store: Arc<dyn PersonStore>,
}

async fn start(storage: &StorageUrl) -> Brp {
    let database = Database::open(storage, &brp::SCHEMA).await.unwrap();
    let store = brp::person_store(&database);
    store.insert(&population()).await.unwrap();
    let clock = Arc::new(FixedClock::at(datetime!(2026-11-23 10:00 UTC)));
    let feed = loket_registers::Feed::new(&database);
    let router = brp::service(store.clone(), feed, clock).into_router(Metrics::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}{}",
        listener.local_addr().unwrap(),
        brp::PERSONEN_PATH
    );
    tokio::spawn(loket_http::serve(listener, router, std::future::pending()));
    Brp { url, store }
}

impl Brp {
    /// The answer to a query, after checking it is one the BRP's OpenAPI document
    /// describes.
    async fn post(&self, body: Value) -> (u16, Value) {
        let response = reqwest::Client::new()
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .unwrap();
        let (status, answer) = documented(response).await;
        // What the BRP takes, its document takes too.
        if status == 200 {
            let fits = document().check_request("post", "/personen", "application/json", &body);
            assert_eq!(fits, Ok(()), "the BRP took {body}");
        }
        (status, answer)
    }

    async fn personen(&self, body: Value) -> Vec<Value> {
        let (status, answer) = self.post(body).await;
        assert_eq!(status, 200, "{answer}");
        answer["personen"].as_array().unwrap().clone()
    }

    /// Expect the Haal Centraal 400 with exactly these (name, code, reason) entries.
    async fn rejects(&self, body: Value, expected: &[(&str, &str, &str)]) {
        let (status, problem) = self.post(body).await;
        assert_eq!(status, 400, "{problem}");
        let names: Vec<&str> = expected.iter().map(|(name, _, _)| *name).collect();
        let invalid: Vec<Value> = expected
            .iter()
            .map(|(name, code, reason)| json!({"name": name, "code": code, "reason": reason}))
            .collect();
        assert_eq!(
            problem,
            json!({
                "type": "https://datatracker.ietf.org/doc/html/rfc7231#section-6.5.1",
                "title": "Een of meerdere parameters zijn niet correct.",
                "status": 400,
                "detail": format!("De foutieve parameter(s) zijn: {}.", names.join(", ")),
                "code": "paramsValidation",
                "instance": "/haalcentraal/api/brp/personen",
                "invalidParams": invalid,
            })
        );
    }
}

/// `response`'s status and body, after checking it is one the BRP's OpenAPI document
/// describes (its content type included).
async fn documented(response: reqwest::Response) -> (u16, Value) {
    let document = document();
    // The document names the operation at its versioned path; Haal Centraal's own
    // path is the same operation.
    let path = response
        .url()
        .path()
        .replace(brp::PERSONEN_PATH, brp::VERSIONED_PATH);
    let (status, _, answer) = document.read_documented("post", &path, response).await;
    (status, answer)
}

fn document() -> &'static Document {
    static DOCUMENT: std::sync::OnceLock<Document> = std::sync::OnceLock::new();
    DOCUMENT.get_or_init(|| Document::new(brp::openapi_document()))
}

fn raadpleeg(bsns: &[&str], fields: &[&str]) -> Value {
    json!({"type": "RaadpleegMetBurgerservicenummer", "burgerservicenummer": bsns, "fields": fields})
}

const REQUIRED: &str = "Parameter is verplicht.";

async fn lookup_returns_exactly_the_fields_asked(brp: Brp) {
    let personen = brp
        .personen(raadpleeg(
            &[JAN],
            &[
                "burgerservicenummer",
                "naam.voornamen",
                "leeftijd",
                "verblijfplaats.verblijfadres.postcode",
            ],
        ))
        .await;
    assert_eq!(
        personen,
        vec![json!({
            "burgerservicenummer": JAN,
            "naam": {"voornamen": "Jan Pieter"},
            "leeftijd": 41,
            "verblijfplaats": {"type": "Adres", "verblijfadres": {"postcode": "1234AB"}}
        })]
    );
}

async fn lookup_gives_the_full_shapes(brp: Brp) {
    let personen = brp
        .personen(raadpleeg(
            &[JAN],
            &[
                "naam",
                "geboorte",
                "partners",
                "gemeenteVanInschrijving",
                "nationaliteiten",
            ],
        ))
        .await;
    assert_eq!(
        personen[0],
        json!({
            "naam": {"voornamen": "Jan Pieter", "voorvoegsel": "de", "geslachtsnaam": "Vries", "voorletters": "J.P.",
                     "volledigeNaam": "Jan Pieter de Vries", "aanduidingNaamgebruik": {"code": "E", "omschrijving": "eigen geslachtsnaam"}},
            "geboorte": {"datum": {"type": "Datum", "datum": "1985-03-14", "langFormaat": "14 maart 1985"},
                         "plaats": {"code": "0363", "omschrijving": "Amsterdam"}, "land": {"code": "6030", "omschrijving": "Nederland"}},
            "partners": [{"burgerservicenummer": ELS, "geslacht": {"code": "V", "omschrijving": "vrouw"},
                          "soortVerbintenis": {"code": "H", "omschrijving": "huwelijk"},
                          "naam": {"voornamen": "Els", "geslachtsnaam": "Bakker", "voorletters": "E."},
                          "aangaanHuwelijkPartnerschap": {"datum": {"type": "Datum", "datum": "2012-06-01", "langFormaat": "1 juni 2012"}}}],
            "gemeenteVanInschrijving": {"code": "9999", "omschrijving": "Voorbeeldstad"},
            "nationaliteiten": [{"type": "Nationaliteit", "nationaliteit": {"code": "0001", "omschrijving": "Nederlandse"}}]
        })
    );
}

async fn lookup_keeps_the_order_and_skips_the_unknown(brp: Brp) {
    // 999990045 has nine digits but fails the 11-proef: the register does not care, it finds nobody.
    let personen = brp
        .personen(raadpleeg(
            &[ELS, "999990045", JAN, "123456789", ELS],
            &["burgerservicenummer"],
        ))
        .await;
    assert_eq!(
        personen,
        vec![
            json!({"burgerservicenummer": ELS}),
            json!({"burgerservicenummer": JAN})
        ]
    );
    assert!(
        brp.personen(raadpleeg(&["999990045"], &["burgerservicenummer"]))
            .await
            .is_empty()
    );
}

async fn lookup_finds_the_deceased_and_filters_by_gemeente(brp: Brp) {
    let dead = brp
        .personen(raadpleeg(&[OVERLEDEN], &["overlijden.datum", "leeftijd"]))
        .await;
    assert_eq!(
        dead,
        vec![
            json!({"overlijden": {"datum": {"type": "Datum", "datum": "2024-01-05", "langFormaat": "5 januari 2024"}}})
        ]
    );
    let mut body = raadpleeg(&[JAN, ELDERS], &["burgerservicenummer"]);
    body["gemeenteVanInschrijving"] = json!("0363");
    assert_eq!(
        brp.personen(body).await,
        vec![json!({"burgerservicenummer": ELDERS})]
    );
}

async fn lookup_errors_are_worded_as_haal_centraal(brp: Brp) {
    brp.rejects(
        json!({"type": "RaadpleegMetBurgerservicenummer", "burgerservicenummer": [JAN]}),
        &[("fields", "required", REQUIRED)],
    )
    .await;
    brp.rejects(
        json!({"type": "RaadpleegMetBurgerservicenummer", "fields": ["naam"]}),
        &[("burgerservicenummer", "required", REQUIRED)],
    )
    .await;
    brp.rejects(
        raadpleeg(&[], &["naam"]),
        &[(
            "burgerservicenummer",
            "minItems",
            "Array bevat minder dan 1 items.",
        )],
    )
    .await;
    brp.rejects(
        raadpleeg(&[JAN; 21], &["naam"]),
        &[(
            "burgerservicenummer",
            "maxItems",
            "Array bevat meer dan 20 items.",
        )],
    )
    .await;
    brp.rejects(
        raadpleeg(&[JAN], &["naam"; 131]),
        &[("fields", "maxItems", "Array bevat meer dan 130 items.")],
    )
    .await;
    brp.rejects(
        raadpleeg(&[JAN], &[]),
        &[("fields", "minItems", "Array bevat minder dan 1 items.")],
    )
    .await;
    brp.rejects(
        json!({"type": "RaadpleegMetBurgerservicenummer", "burgerservicenummer": format!("{JAN},{ELS}"), "fields": ["naam"]}),
        &[("burgerservicenummer", "array", "Parameter is geen array.")],
    )
    .await;
    brp.rejects(
        raadpleeg(&[JAN, "12345678", "12345678a"], &["naam"]),
        &[
            (
                "burgerservicenummer[1]",
                "pattern",
                "Waarde voldoet niet aan patroon ^[0-9]{9}$.",
            ),
            (
                "burgerservicenummer[2]",
                "pattern",
                "Waarde voldoet niet aan patroon ^[0-9]{9}$.",
            ),
        ],
    )
    .await;
    let mut bad_gemeente = raadpleeg(&[JAN], &["naam"]);
    bad_gemeente["gemeenteVanInschrijving"] = json!("363");
    brp.rejects(
        bad_gemeente,
        &[(
            "gemeenteVanInschrijving",
            "pattern",
            "Waarde voldoet niet aan patroon ^[0-9]{4}$.",
        )],
    )
    .await;
    let mut extra = raadpleeg(&[JAN], &["naam"]);
    extra["inclusiefOverledenPersonen"] = json!(true);
    brp.rejects(
        extra,
        &[(
            "inclusiefOverledenPersonen",
            "unknownParam",
            "Parameter is niet verwacht.",
        )],
    )
    .await;
    brp.rejects(
        raadpleeg(&[JAN], &["bestaatniet", "naam", "inOnderzoek"]),
        &[
            (
                "fields[0]",
                "fields",
                "Parameter bevat een niet bestaande veldnaam.",
            ),
            (
                "fields[2]",
                "fields",
                "Parameter bevat een niet bestaande veldnaam.",
            ),
        ],
    )
    .await;
    brp.rejects(
        raadpleeg(&[JAN], &["naam voornamen"]),
        &[(
            "fields[0]",
            "pattern",
            r"Waarde voldoet niet aan patroon ^[a-zA-Z0-9\._]{1,200}$.",
        )],
    )
    .await;
    // Several problems at once are all reported.
    brp.rejects(
        json!({"type": "RaadpleegMetBurgerservicenummer", "burgerservicenummer": ["1"], "onbekend": 1}),
        &[
            ("fields", "required", REQUIRED),
            ("burgerservicenummer[0]", "pattern", "Waarde voldoet niet aan patroon ^[0-9]{9}$."),
            ("onbekend", "unknownParam", "Parameter is niet verwacht."),
        ],
    )
    .await;
}

async fn bodies_that_are_not_queries_are_400(brp: Brp) {
    brp.rejects(
        json!({"fields": ["naam"]}),
        &[("type", "required", REQUIRED)],
    )
    .await;
    brp.rejects(
        json!({"type": "ZoekMetIets", "fields": ["naam"]}),
        &[(
            "type",
            "value",
            "Waarde heeft geen geldige waarde uit de enumeratie.",
        )],
    )
    .await;
    brp.rejects(
        json!([1, 2]),
        &[("body", "object", "De body is geen JSON-object.")],
    )
    .await;
    let response = reqwest::Client::new()
        .post(&brp.url)
        .header("content-type", "application/json")
        .body("{\"type\": \"Raadpleeg")
        .send()
        .await
        .unwrap();
    assert_eq!(documented(response).await.0, 400);
}

fn zoek_naam_geboorte(geslachtsnaam: &str) -> Value {
    json!({"type": "ZoekMetGeslachtsnaamEnGeboortedatum", "geslachtsnaam": geslachtsnaam, "geboortedatum": "1985-03-14", "fields": ["burgerservicenummer"]})
}

async fn search_by_name_and_birth_date(brp: Brp) {
    let bsns = |personen: Vec<Value>| {
        personen
            .iter()
            .map(|p| p["burgerservicenummer"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        bsns(brp.personen(zoek_naam_geboorte("VRIES")).await),
        vec![JAN, ELDERS],
        "case-insensitive, living only"
    );
    assert_eq!(
        bsns(brp.personen(zoek_naam_geboorte("vrie*")).await),
        vec![JAN, PIET, ELDERS],
        "wildcard"
    );
    let mut with_dead = zoek_naam_geboorte("Vries");
    with_dead["inclusiefOverledenPersonen"] = json!(true);
    assert_eq!(
        bsns(brp.personen(with_dead).await),
        vec![JAN, OVERLEDEN, ELDERS]
    );
    let mut narrowed = zoek_naam_geboorte("Vries");
    narrowed["voornamen"] = json!("jan p*");
    narrowed["voorvoegsel"] = json!("DE");
    assert_eq!(bsns(brp.personen(narrowed).await), vec![JAN]);
    let mut by_gemeente = zoek_naam_geboorte("Vries");
    by_gemeente["gemeenteVanInschrijving"] = json!("0363");
    assert_eq!(bsns(brp.personen(by_gemeente).await), vec![ELDERS]);
}

async fn searches_answer_with_the_limited_person(brp: Brp) {
    let mut body = zoek_naam_geboorte("Bakker");
    body["geboortedatum"] = json!("1987-11-02");
    body["fields"] = json!([
        "naam.volledigeNaam",
        "geslacht",
        "leeftijd",
        "geboorte.datum"
    ]);
    assert_eq!(
        brp.personen(body.clone()).await,
        vec![
            json!({"naam": {"volledigeNaam": "Els Bakker"}, "geslacht": {"code": "V", "omschrijving": "vrouw"}, "leeftijd": 39,
                    "geboorte": {"datum": {"type": "Datum", "datum": "1987-11-02", "langFormaat": "2 november 1987"}}})
        ]
    );
    body["fields"] = json!(["verblijfplaats"]);
    brp.rejects(
        body,
        &[(
            "fields[0]",
            "fields",
            "Parameter bevat een niet bestaande veldnaam.",
        )],
    )
    .await;
}

async fn search_errors(brp: Brp) {
    brp.rejects(
        json!({"type": "ZoekMetGeslachtsnaamEnGeboortedatum", "fields": ["naam"]}),
        &[
            ("geboortedatum", "required", REQUIRED),
            ("geslachtsnaam", "required", REQUIRED),
        ],
    )
    .await;
    let mut body = zoek_naam_geboorte("Vr*");
    body["geboortedatum"] = json!("14-03-1985");
    body["geslacht"] = json!("X");
    brp.rejects(
        body,
        &[
            ("geboortedatum", "date", "Waarde is geen geldige datum."),
            ("geslachtsnaam", "pattern", r"Waarde voldoet niet aan patroon ^[a-zA-Z0-9À-ž \.\-\']{1,200}$|^[a-zA-Z0-9À-ž \.\-\']{3,199}\*{1}$."),
            ("geslacht", "pattern", "Waarde voldoet niet aan patroon ^([Mm]|[Vv]|[Oo])$."),
        ],
    )
    .await;
    brp.rejects(
        json!({"type": "ZoekMetNaamEnGemeenteVanInschrijving", "geslachtsnaam": "Vries", "voornamen": "Jan", "fields": ["naam"]}),
        &[("gemeenteVanInschrijving", "required", REQUIRED)],
    )
    .await;
    brp.rejects(
        json!({"type": "ZoekMetPostcodeEnHuisnummer", "postcode": "0234AB", "huisnummer": "12", "fields": ["naam"]}),
        &[
            ("postcode", "pattern", "Waarde voldoet niet aan patroon ^[1-9]{1}[0-9]{3}[ ]?[A-Za-z]{2}$."),
            ("huisnummer", "integer", "Waarde is geen geldig getal."),
        ],
    )
    .await;
    brp.rejects(
        json!({"type": "ZoekMetPostcodeEnHuisnummer", "postcode": "1234AB", "huisnummer": 0, "fields": ["naam"], "burgerservicenummer": [JAN]}),
        &[("huisnummer", "minimum", "Waarde is lager dan minimum 1."), ("burgerservicenummer", "unknownParam", "Parameter is niet verwacht.")],
    )
    .await;
}

async fn search_by_postcode_and_by_name_in_gemeente(brp: Brp) {
    let found = brp
        .personen(json!({"type": "ZoekMetPostcodeEnHuisnummer", "postcode": "1234 ab", "huisnummer": 12, "huisletter": "A", "fields": ["burgerservicenummer"]}))
        .await;
    assert_eq!(
        found,
        vec![
            json!({"burgerservicenummer": JAN}),
            json!({"burgerservicenummer": ELS}),
            json!({"burgerservicenummer": PIET})
        ]
    );
    let none = brp.personen(json!({"type": "ZoekMetPostcodeEnHuisnummer", "postcode": "1234AB", "huisnummer": 13, "fields": ["naam"]})).await;
    assert!(none.is_empty());
    let named = brp
        .personen(json!({"type": "ZoekMetNaamEnGemeenteVanInschrijving", "geslachtsnaam": "vries", "voornamen": "Jan*", "gemeenteVanInschrijving": "9999", "fields": ["burgerservicenummer"]}))
        .await;
    assert_eq!(named, vec![json!({"burgerservicenummer": JAN})]);
}

async fn responses_carry_the_api_version(brp: Brp) {
    let response = reqwest::Client::new()
        .post(&brp.url)
        .json(&raadpleeg(&[JAN], &["naam"]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["api-version"], brp::API_VERSION);
    assert_eq!(response.headers()["content-type"], "application/json");
}

async fn the_store_refuses_a_duplicate_bsn_and_keeps_the_batch_out(brp: Brp) {
    let before = brp.store.count().await.unwrap();
    let fresh = person(
        "999990056",
        "Nieuw",
        None,
        "Persoon",
        "2000-01-01",
        ("9999", "Voorbeeldstad"),
    );
    let duplicate = population().remove(0);
    assert!(brp.store.insert(&[fresh, duplicate]).await.is_err());
    assert_eq!(
        brp.store.count().await.unwrap(),
        before,
        "nothing of a failed batch is kept"
    );
}

/// A BSN may begin with a zero: stored under its number (SQLite keys the table by it),
/// it is still found and answered as written.
async fn a_bsn_with_a_leading_zero_is_found_and_answered_as_written(brp: Brp) {
    let nul = person(
        "012345672",
        "Nul",
        None,
        "Voorloop",
        "1990-02-02",
        ("9999", "Voorbeeldstad"),
    );
    brp.store.insert(&[nul]).await.unwrap();
    let personen = brp
        .personen(raadpleeg(
            &["012345672", "123456720", "000000000"],
            &["burgerservicenummer", "naam.voornamen"],
        ))
        .await;
    assert_eq!(
        personen,
        vec![json!({"burgerservicenummer": "012345672", "naam": {"voornamen": "Nul"}})]
    );
}

loket_store::contract_suite! {
    open = start;
    tests = [
        lookup_returns_exactly_the_fields_asked,
        lookup_gives_the_full_shapes,
        lookup_keeps_the_order_and_skips_the_unknown,
        lookup_finds_the_deceased_and_filters_by_gemeente,
        lookup_errors_are_worded_as_haal_centraal,
        bodies_that_are_not_queries_are_400,
        search_by_name_and_birth_date,
        searches_answer_with_the_limited_person,
        search_errors,
        search_by_postcode_and_by_name_in_gemeente,
        responses_carry_the_api_version,
        the_store_refuses_a_duplicate_bsn_and_keeps_the_batch_out,
        a_bsn_with_a_leading_zero_is_found_and_answered_as_written,
    ];
}

/// Bulk loading into an empty register: indexes go and come back, searches still work.
mod bulk {
    use super::*;

    async fn open_empty(storage: &StorageUrl) -> Arc<dyn PersonStore> {
        let database = Database::open(storage, &brp::SCHEMA).await.unwrap();
        brp::person_store(&database)
    }

    async fn a_bulk_load_rebuilds_the_search_indexes(store: Arc<dyn PersonStore>) {
        store.begin_bulk_load().await.unwrap();
        store.insert(&population()).await.unwrap();
        assert!(
            store.begin_bulk_load().await.is_err(),
            "only an empty register may be bulk loaded"
        );
        store.finish_bulk_load().await.unwrap();
        store.finish_bulk_load().await.unwrap();
        let filter = brp::PersonFilter {
            geslachtsnaam: Some(brp::TextMatch::Prefix("vries".into())),
            geboortedatum: Some(datum("1985-03-14")),
            ..Default::default()
        };
        let found: Vec<String> = store
            .search(&filter, brp::Parts::Whole)
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.burgerservicenummer)
            .collect();
        assert_eq!(found, vec![JAN, PIET, ELDERS]);
    }

    /// Lookups at once (on Postgres they share statements): each gets its own persons,
    /// in its own order, and never another's.
    async fn lookups_at_once_each_get_their_own_persons(store: Arc<dyn PersonStore>) {
        let persons = population();
        store.insert(&persons).await.unwrap();
        let bsns: Vec<String> = persons
            .iter()
            .map(|p| p.burgerservicenummer.clone())
            .collect();
        let mut lookups = tokio::task::JoinSet::new();
        for round in 0..200 {
            let store = store.clone();
            // One, two or three persons, sometimes one unknown, in varying order.
            let mut asked: Vec<String> = (0..=round % 3)
                .map(|k| bsns[(round * 7 + k * 3) % bsns.len()].clone())
                .collect();
            if round % 5 == 0 {
                asked.insert(0, "000000012".to_owned());
            }
            lookups.spawn(async move {
                let found = store.by_bsn(&asked, brp::Parts::Whole).await.unwrap();
                (asked, found)
            });
        }
        while let Some(joined) = lookups.join_next().await {
            let (asked, found) = joined.unwrap();
            let mut expected: Vec<&str> = Vec::new();
            for bsn in &asked {
                if bsn != "000000012" && !expected.contains(&bsn.as_str()) {
                    expected.push(bsn);
                }
            }
            let got: Vec<&str> = found
                .iter()
                .map(|p| p.burgerservicenummer.as_str())
                .collect();
            assert_eq!(got, expected, "asked {asked:?}");
        }
    }

    /// A lookup that asks for no relatives reads each person without them, and is
    /// otherwise the same person.
    async fn a_person_read_without_relatives_is_the_whole_person_less_its_relatives(
        store: Arc<dyn PersonStore>,
    ) {
        let mut persons = population();
        let relative = persons
            .iter()
            .find_map(|p| p.partners.first().cloned())
            .unwrap();
        persons[1].ouders.push(relative.clone());
        persons[2].kinderen.push(relative);
        store.insert(&persons).await.unwrap();
        let bsns: Vec<String> = persons
            .iter()
            .map(|p| p.burgerservicenummer.clone())
            .collect();
        let whole = store.by_bsn(&bsns, brp::Parts::Whole).await.unwrap();
        assert!(
            whole.iter().any(|p| !p.partners.is_empty())
                && whole.iter().any(|p| !p.ouders.is_empty())
                && whole.iter().any(|p| !p.kinderen.is_empty()),
            "the population has partners, parents and children to leave out"
        );
        let cut = store
            .by_bsn(&bsns, brp::Parts::WithoutRelatives)
            .await
            .unwrap();
        let expected: Vec<_> = whole
            .into_iter()
            .map(|mut person| {
                person.partners.clear();
                person.ouders.clear();
                person.kinderen.clear();
                person
            })
            .collect();
        assert_eq!(cut, expected);
        let filter = brp::PersonFilter {
            geslachtsnaam: Some(brp::TextMatch::Prefix("vries".into())),
            ..Default::default()
        };
        let searched = store
            .search(&filter, brp::Parts::WithoutRelatives)
            .await
            .unwrap();
        assert!(!searched.is_empty());
        assert!(searched.iter().all(|p| p.partners.is_empty()
            && p.ouders.is_empty()
            && p.kinderen.is_empty()
            && expected.contains(p)));
    }

    loket_store::contract_suite! {
        open = open_empty;
        tests = [
            a_bulk_load_rebuilds_the_search_indexes,
            lookups_at_once_each_get_their_own_persons,
            a_person_read_without_relatives_is_the_whole_person_less_its_relatives,
        ];
    }
}

/// A SQLite register from before the BSN became the table's key (migration 3) keeps its
/// residents through the migration, and they are found by BSN afterwards.
#[tokio::test]
async fn a_sqlite_register_keyed_by_text_migrates_with_its_residents() {
    use loket_store::Schema;
    static BEFORE: Schema = Schema {
        component: brp::SCHEMA.component,
        sqlite: brp::SCHEMA.sqlite.split_at(2).0,
        postgres: brp::SCHEMA.postgres,
    };
    let test_storage = loket_store::testing::TestStorage::sqlite().unwrap();
    let storage = test_storage.url.clone();
    let old = Database::open(&storage, &BEFORE).await.unwrap();
    brp::person_store(&old).insert(&population()).await.unwrap();
    old.close().await;
    let migrated = migrated_keeps_its_residents(&storage).await;
    let Database::Sqlite(pool) = &migrated else {
        unreachable!("opened as SQLite")
    };
    let kinds: Vec<String> =
        loket_store::sqlx::query_scalar("SELECT DISTINCT typeof(bsn) FROM personen")
            .fetch_all(pool)
            .await
            .unwrap();
    assert_eq!(kinds, ["integer"]);
}

/// A Postgres register from before the BSN became a number (migration 3) keeps its
/// residents through the migration, and they are found by BSN afterwards.
#[tokio::test]
#[cfg_attr(
    not(loket_postgres),
    ignore = "set LOKET_TEST_POSTGRES_URL to run against PostgreSQL"
)]
async fn a_postgres_register_keyed_by_text_migrates_with_its_residents() {
    use loket_store::Schema;
    static BEFORE: Schema = Schema {
        component: brp::SCHEMA.component,
        sqlite: brp::SCHEMA.sqlite,
        postgres: brp::SCHEMA.postgres.split_at(2).0,
    };
    let test_storage = loket_store::testing::TestStorage::postgres().await.unwrap();
    let storage = test_storage.url.clone();
    let old = Database::open(&storage, &BEFORE).await.unwrap();
    let Database::Postgres(pool) = &old else {
        unreachable!("opened as Postgres")
    };
    // As the register before migration 3 wrote them: the BSN as text.
    for person in population() {
        loket_store::sqlx::query(
            "INSERT INTO personen (bsn, geslachtsnaam, geboortedatum, gemeentecode, overleden, document) \
             VALUES ($1, $2, $3, $4, FALSE, $5)",
        )
        .bind(&person.burgerservicenummer)
        .bind(person.naam.geslachtsnaam.to_lowercase())
        .bind(person.geboorte.datum.0)
        .bind(&person.gemeente_van_inschrijving.code)
        .bind(serde_json::to_string(&person).unwrap())
        .execute(pool)
        .await
        .unwrap();
    }
    old.close().await;
    let migrated = migrated_keeps_its_residents(&storage).await;
    let Database::Postgres(pool) = &migrated else {
        unreachable!("opened as Postgres")
    };
    let kind: String = loket_store::sqlx::query_scalar(
        "SELECT data_type FROM information_schema.columns WHERE table_schema = 'brp' AND table_name = 'personen' AND column_name = 'bsn'",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(kind, "bigint");
    migrated.close().await;
    test_storage.teardown().await;
}

/// The register at `storage`, migrated to the current schema: all five residents still
/// there, found by BSN in the order asked.
async fn migrated_keeps_its_residents(storage: &StorageUrl) -> Database {
    let migrated = Database::open(storage, &brp::SCHEMA).await.unwrap();
    let store = brp::person_store(&migrated);
    assert_eq!(store.count().await.unwrap(), 5);
    let found = store
        .by_bsn(&[ELS.to_owned(), JAN.to_owned()], brp::Parts::Whole)
        .await
        .unwrap();
    let bsns: Vec<&str> = found
        .iter()
        .map(|p| p.burgerservicenummer.as_str())
        .collect();
    assert_eq!(bsns, [ELS, JAN]);
    migrated
}
