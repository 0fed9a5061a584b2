//! The ZGW Zaken API subset, with good and bad tokens and inputs, on SQLite and Postgres.

// Tests fail loudly; that is what they are for.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, header};
use loket_core::{FixedClock, Secret};
use loket_http::openapi_check::Document;
use loket_store::{Database, StorageUrl};
use loket_zaken::zaak::{NewRol, NewStatus, NewZaak, Zaak, statustype};
use loket_zaken::zgw::{Zaaktype, ZgwApi};
use loket_zaken::zgw_auth::{Client, Clients, Scope, sign};
use loket_zaken::{SCHEMA, ZaakStore, zaak_store};
use serde_json::{Value, json};
use time::macros::{date, datetime};
use tower::ServiceExt;

const NOW: time::OffsetDateTime = datetime!(2026-11-23 10:00 UTC);
const BASE: &str = "https://loket.example";
const PERMIT: &str = "bewonersparkeervergunning";
const SANNE: &str = "999990007";
const TOM: &str = "999990111";

struct World {
    store: Arc<dyn ZaakStore>,
    router: axum::Router,
}

async fn open(url: &StorageUrl) -> World {
    let database = Database::open(url, &SCHEMA).await.unwrap();
    let store = zaak_store(&database);
    let client = |id: &str, scopes: Vec<Scope>| Client {
        client_id: id.to_owned(),
        secret: Secret::new(format!("{id}-secret")),
        autorisaties: BTreeMap::from([(PERMIT.to_owned(), scopes)]),
    };
    let clients = Clients::new([
        client("portaal", vec![Scope::Lezen]),
        client("werkplek", vec![Scope::Lezen, Scope::StatussenToevoegen]),
        client(
            "balie",
            vec![Scope::Lezen, Scope::Aanmaken, Scope::Bijwerken],
        ),
        Client {
            client_id: "paspoort".to_owned(),
            secret: Secret::new("paspoort-secret".to_owned()),
            autorisaties: BTreeMap::from([("paspoort".to_owned(), vec![Scope::Lezen])]),
        },
    ]);
    let zaaktypen = vec![Zaaktype {
        id: PERMIT.to_owned(),
        omschrijving: "Bewonersparkeervergunning".to_owned(),
        behandeltermijn_dagen: 56,
    }];
    let api = ZgwApi::new(
        store.clone(),
        clients,
        zaaktypen,
        BASE,
        Arc::new(FixedClock::at(NOW)),
    );
    World {
        store,
        router: api.service().into_router(loket_http::Metrics::new()),
    }
}

impl World {
    async fn case(&self, bsn: &str) -> Zaak {
        let new = NewZaak {
            bronorganisatie: "123456782".to_owned(),
            zaaktype: PERMIT.to_owned(),
            omschrijving: "Aanvraag".to_owned(),
            registratiedatum: date!(2026 - 11 - 23),
            startdatum: None,
            behandeltermijn_dagen: 56,
            zaakobject: None,
            initiator: Some(NewRol::initiator(bsn)),
            statuses: vec![NewStatus {
                statustype: statustype::ONTVANGEN.to_owned(),
                datum_status_gezet: NOW,
                actor: "test".to_owned(),
                toelichting: "Ontvangen".to_owned(),
            }],
            besluit: None,
            resultaat: None,
            documenten: Vec::new(),
            audit: None,
            berichten: Vec::new(),
        };
        self.store.create(&new, NOW).await.unwrap()
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        client: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let (status, _, body) = self.call_with_headers(method, path, client, body).await;
        (status, body)
    }

    async fn call_with_headers(
        &self,
        method: &str,
        path: &str,
        client: Option<&str>,
        body: Option<Value>,
    ) -> (u16, axum::http::HeaderMap, Value) {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(client) = client {
            let token = sign(
                client,
                &format!("{client}-secret"),
                "medewerker-7",
                NOW.unix_timestamp(),
            );
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let sent = body.clone();
        let request = match body {
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        }
        .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        as_documented(method, path, status, &headers, &body);
        // What the API takes, its document takes too.
        if let Some(sent) = sent.filter(|_| (200..300).contains(&status)) {
            let template = document().template_for(path).unwrap();
            let method = method.to_ascii_lowercase();
            if let Err(difference) =
                document().check_request(&method, &template, "application/json", &sent)
            {
                panic!("{method} {path} took {sent}, which its document refuses: {difference}");
            }
        }
        (status, headers, body)
    }

    async fn get(&self, path: &str, client: &str) -> (u16, Value) {
        self.call("GET", path, Some(client), None).await
    }
}

/// Every answer in these tests is one the served OpenAPI document describes: a status it
/// names for the operation, with its content type, `API-Version` and body schema.
fn as_documented(
    method: &str,
    path: &str,
    status: u16,
    headers: &axum::http::HeaderMap,
    body: &Value,
) {
    document().assert_documented(method, path, status, headers, body);
}

fn document() -> &'static Document {
    static DOCUMENT: std::sync::OnceLock<Document> = std::sync::OnceLock::new();
    DOCUMENT.get_or_init(|| Document::parse(loket_zaken::zgw::OPENAPI))
}

fn by_bsn(bsn: &str) -> String {
    format!("/zaken/api/v1/zaken?rol__betrokkeneIdentificatie__natuurlijkPersoon__inpBsn={bsn}")
}

async fn without_a_good_token_nothing_is_shown(w: World) {
    w.case(SANNE).await;
    let (status, problem) = w.call("GET", &by_bsn(SANNE), None, None).await;
    assert_eq!(status, 401);
    assert_eq!(problem["code"], "not_authenticated");
    let (status, _) = w.call("GET", &by_bsn(SANNE), Some("onbekend"), None).await;
    assert_eq!(status, 401);
}

async fn a_residents_cases_are_listed_and_paged_as_the_standard_does(w: World) {
    let mut sanne = Vec::new();
    for _ in 0..101 {
        sanne.push(w.case(SANNE).await);
    }
    w.case(TOM).await;
    let (status, page) = w.get(&by_bsn(SANNE), "portaal").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["count"], 101);
    assert_eq!(page["results"].as_array().unwrap().len(), 100);
    assert!(page["previous"].is_null());
    let next = page["next"].as_str().unwrap();
    assert!(next.starts_with(BASE) && next.ends_with("page=2"), "{next}");
    let first = &page["results"][0];
    assert_eq!(first["uuid"], sanne[100].uuid.to_string(), "newest first");
    assert_eq!(
        first["zaaktype"],
        format!("{BASE}/catalogi/api/v1/zaaktypen/{PERMIT}")
    );
    assert_eq!(first["einddatumGepland"], "2027-01-18");

    let (_, second) = w.get(&format!("{}&page=2", by_bsn(SANNE)), "portaal").await;
    assert_eq!(second["results"].as_array().unwrap().len(), 1);
    assert!(second["next"].is_null());
    assert!(second["previous"].as_str().unwrap().ends_with("page=1"));

    let (_, toms) = w.get(&by_bsn(TOM), "portaal").await;
    assert_eq!(toms["count"], 1);
}

async fn a_client_sees_only_its_zaaktypen(w: World) {
    let zaak = w.case(SANNE).await;
    let (_, page) = w.get(&by_bsn(SANNE), "paspoort").await;
    assert_eq!(page["count"], 0);
    let (status, problem) = w
        .get(&format!("/zaken/api/v1/zaken/{}", zaak.uuid), "paspoort")
        .await;
    assert_eq!(status, 403);
    assert_eq!(problem["code"], "permission_denied");
}

async fn bad_filters_are_problems(w: World) {
    let (status, problem) = w.get(&by_bsn("12345"), "portaal").await;
    assert_eq!(status, 400);
    assert_eq!(
        problem["invalidParams"][0]["name"],
        "rol__betrokkeneIdentificatie__natuurlijkPersoon__inpBsn"
    );
    let (status, problem) = w.get(&format!("{}&page=0", by_bsn(SANNE)), "portaal").await;
    assert_eq!(status, 400);
    assert_eq!(problem["invalidParams"][0]["name"], "page");
    let (status, _) = w.get("/zaken/api/v1/zaken/geen-uuid", "portaal").await;
    assert_eq!(status, 404);
    let (status, problem) = w.get("/zaken/api/v1/statussen", "portaal").await;
    assert_eq!(status, 400);
    assert_eq!(problem["invalidParams"][0]["code"], "required");
}

async fn a_case_links_to_its_status_roles_and_result(w: World) {
    let zaak = w.case(SANNE).await;
    let (status, read) = w
        .get(&format!("/zaken/api/v1/zaken/{}", zaak.uuid), "portaal")
        .await;
    assert_eq!(status, 200);
    let status_url = read["status"].as_str().unwrap();
    let (code, current) = w
        .get(status_url.strip_prefix(BASE).unwrap(), "portaal")
        .await;
    assert_eq!(code, 200);
    assert_eq!(current["statustoelichting"], "Ontvangen");
    assert_eq!(current["zaak"], read["url"]);

    let zaak_url = read["url"].as_str().unwrap();
    let (_, roles) = w
        .get(&format!("/zaken/api/v1/rollen?zaak={zaak_url}"), "portaal")
        .await;
    assert_eq!(
        roles["results"][0]["betrokkeneIdentificatie"]["inpBsn"],
        SANNE
    );
    assert_eq!(roles["results"][0]["omschrijvingGeneriek"], "initiator");
    let (_, results) = w
        .get(
            &format!("/zaken/api/v1/resultaten?zaak={zaak_url}"),
            "portaal",
        )
        .await;
    assert_eq!(results["count"], 0);
    w.store
        .set_result(
            zaak.uuid,
            "toegekend",
            "Verleend",
            &loket_zaken::zaak::AuditEntry {
                actor: "test".to_owned(),
                actie: "resultaat".to_owned(),
                toelichting: String::new(),
                moment: NOW,
            },
        )
        .await
        .unwrap();
    let (_, read) = w
        .get(&format!("/zaken/api/v1/zaken/{}", zaak.uuid), "portaal")
        .await;
    let (code, result) = w
        .get(
            read["resultaat"]
                .as_str()
                .unwrap()
                .strip_prefix(BASE)
                .unwrap(),
            "portaal",
        )
        .await;
    assert_eq!(code, 200);
    assert_eq!(result["toelichting"], "Verleend");
}

async fn a_status_is_added_only_with_the_scope_and_valid_input(w: World) {
    let zaak = w.case(SANNE).await;
    let zaak_url = format!("{BASE}/zaken/api/v1/zaken/{}", zaak.uuid);
    let body = |statustype: &str| {
        json!({
            "zaak": zaak_url,
            "statustype": format!("{BASE}/catalogi/api/v1/statustypen/{statustype}"),
            "datumStatusGezet": "2026-11-24T09:30:00Z",
            "statustoelichting": "Wij bekijken uw aanvraag",
        })
    };
    let (status, problem) = w
        .call(
            "POST",
            "/zaken/api/v1/statussen",
            Some("portaal"),
            Some(body("in-behandeling")),
        )
        .await;
    assert_eq!(status, 403, "reading is not adding: {problem}");
    let (status, created) = w
        .call(
            "POST",
            "/zaken/api/v1/statussen",
            Some("werkplek"),
            Some(body("in-behandeling")),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["datumStatusGezet"], "2026-11-24T09:30:00Z");
    let (status, problem) = w
        .call(
            "POST",
            "/zaken/api/v1/statussen",
            Some("werkplek"),
            Some(body("verzonnen")),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(problem["invalidParams"][0]["name"], "statustype");
    // Not a time, or (in UTC) a moment after the last year there is or before year 0.
    for time in [
        "gisteren",
        "9999-12-31T23:59:59-23:59",
        "0000-01-01T00:00:00+01:00",
    ] {
        let mut bad_time = body("afgehandeld");
        bad_time["datumStatusGezet"] = json!(time);
        let (status, problem) = w
            .call(
                "POST",
                "/zaken/api/v1/statussen",
                Some("werkplek"),
                Some(bad_time),
            )
            .await;
        assert_eq!(status, 400, "{time}");
        assert_eq!(problem["invalidParams"][0]["name"], "datumStatusGezet");
    }
    // Its statuses still read back.
    let (status, _) = w
        .get(
            &format!("/zaken/api/v1/statussen?zaak={zaak_url}"),
            "portaal",
        )
        .await;
    assert_eq!(status, 200);
    let mut unknown = body("afgehandeld");
    unknown["zaak"] = json!(format!(
        "{BASE}/zaken/api/v1/zaken/{}",
        uuid::Uuid::now_v7()
    ));
    let (status, _) = w
        .call(
            "POST",
            "/zaken/api/v1/statussen",
            Some("werkplek"),
            Some(unknown),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = w
        .call(
            "POST",
            "/zaken/api/v1/statussen",
            Some("werkplek"),
            Some(json!({"zaak": 1})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        w.store.statuses(zaak.uuid).await.unwrap().len(),
        2,
        "only the good one was added"
    );
}

async fn a_case_is_created_with_its_deadline_from_the_zaaktype(w: World) {
    let body = json!({
        "bronorganisatie": "123456782",
        "zaaktype": format!("{BASE}/catalogi/api/v1/zaaktypen/{PERMIT}"),
        "startdatum": "2026-11-25",
    });
    let (status, _) = w
        .call(
            "POST",
            "/zaken/api/v1/zaken",
            Some("portaal"),
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, 403, "reading is not creating");
    let (status, headers, created) = w
        .call_with_headers(
            "POST",
            "/zaken/api/v1/zaken",
            Some("balie"),
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(headers["location"], created["url"].as_str().unwrap());
    assert_eq!(headers["api-version"], "1.0.0");
    assert_eq!(created["startdatum"], "2026-11-25");
    assert_eq!(created["registratiedatum"], "2026-11-23");
    assert_eq!(
        created["einddatumGepland"], "2027-01-20",
        "56 days from the start"
    );
    assert_eq!(created["omschrijving"], "Bewonersparkeervergunning");
    assert!(created["status"].is_null(), "no status yet");
    let (status, read) = w
        .get(
            created["url"].as_str().unwrap().strip_prefix(BASE).unwrap(),
            "balie",
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(read["identificatie"], created["identificatie"]);

    for (field, value, name) in [
        ("bronorganisatie", json!("123456789"), "bronorganisatie"),
        (
            "zaaktype",
            json!("https://elders/zaaktypen/onbekend"),
            "zaaktype",
        ),
        ("startdatum", json!("25-11-2026"), "startdatum"),
        // Its deadline would lie past the last date there is.
        ("startdatum", json!("9999-12-31"), "startdatum"),
        // A year with a sign is no JJJJ-MM-DD date.
        ("startdatum", json!("-0500-06-15"), "startdatum"),
        ("registratiedatum", json!("-0001-01-01"), "registratiedatum"),
        // A case is registered when it is, not later (as Open Zaak checks too).
        ("registratiedatum", json!("2026-11-24"), "registratiedatum"),
        ("omschrijving", json!("x".repeat(81)), "omschrijving"),
    ] {
        let mut bad = body.clone();
        bad[field] = value;
        let (status, problem) = w
            .call("POST", "/zaken/api/v1/zaken", Some("balie"), Some(bad))
            .await;
        assert_eq!(status, 400, "{field}: {problem}");
        assert_eq!(problem["invalidParams"][0]["name"], name, "{problem}");
    }
    // NUL: PostgreSQL cannot store it, so no backend takes it.
    let mut nul = body.clone();
    nul["omschrijving"] = json!("Vergunning\u{0}");
    let (status, problem) = w
        .call("POST", "/zaken/api/v1/zaken", Some("balie"), Some(nul))
        .await;
    assert_eq!(status, 400, "{problem}");
    let mut unknown = body.clone();
    unknown["geheim"] = json!(true);
    let (status, _) = w
        .call("POST", "/zaken/api/v1/zaken", Some("balie"), Some(unknown))
        .await;
    assert_eq!(status, 400, "an unknown field is refused");
    let (_, all) = w.get("/zaken/api/v1/zaken", "balie").await;
    assert_eq!(all["count"], 1, "nothing half-written by the bad requests");
}

async fn roles_and_one_result_are_added_to_a_case(w: World) {
    let zaak = w.case(SANNE).await;
    let zaak_url = format!("{BASE}/zaken/api/v1/zaken/{}", zaak.uuid);
    let rol = |betrokkene: Value| {
        let mut body = json!({
            "zaak": zaak_url,
            "roltype": format!("{BASE}/catalogi/api/v1/roltypen/behandelaar"),
            "roltoelichting": "Behandelt de aanvraag",
        });
        for (k, v) in betrokkene.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let medewerker = rol(json!({
        "betrokkeneType": "medewerker",
        "betrokkeneIdentificatie": {"identificatie": "m.jansen"},
    }));
    let (status, _) = w
        .call(
            "POST",
            "/zaken/api/v1/rollen",
            Some("werkplek"),
            Some(medewerker.clone()),
        )
        .await;
    assert_eq!(status, 403, "adding statuses is not updating the case");
    let (status, created) = w
        .call(
            "POST",
            "/zaken/api/v1/rollen",
            Some("balie"),
            Some(medewerker),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["omschrijvingGeneriek"], "behandelaar");
    assert_eq!(
        created["betrokkeneIdentificatie"]["identificatie"],
        "m.jansen"
    );
    let bad_bsn = rol(json!({
        "betrokkeneType": "natuurlijk_persoon",
        "betrokkeneIdentificatie": {"inpBsn": "12"},
    }));
    let (status, problem) = w
        .call("POST", "/zaken/api/v1/rollen", Some("balie"), Some(bad_bsn))
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        problem["invalidParams"][0]["name"],
        "betrokkeneIdentificatie.inpBsn"
    );
    let mut bad_type = rol(json!({"betrokkeneType": "natuurlijk_persoon"}));
    bad_type["roltype"] = json!("koning");
    let (status, problem) = w
        .call(
            "POST",
            "/zaken/api/v1/rollen",
            Some("balie"),
            Some(bad_type),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(problem["invalidParams"][0]["name"], "roltype");
    assert_eq!(w.store.roles(zaak.uuid).await.unwrap().len(), 2);

    let result = json!({
        "zaak": zaak_url,
        "resultaattype": format!("{BASE}/catalogi/api/v1/resultaattypen/toegekend"),
        "toelichting": "Verleend aan de balie",
    });
    let (status, created) = w
        .call(
            "POST",
            "/zaken/api/v1/resultaten",
            Some("balie"),
            Some(result.clone()),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["toelichting"], "Verleend aan de balie");
    let (status, problem) = w
        .call(
            "POST",
            "/zaken/api/v1/resultaten",
            Some("balie"),
            Some(result),
        )
        .await;
    assert_eq!(status, 400, "one result per case");
    assert_eq!(problem["invalidParams"][0]["code"], "unique");
    // Every change through the API is in the case's audit trail, by client.
    let trail = w.store.audit_trail(zaak.uuid).await.unwrap();
    let by_balie: Vec<&str> = trail
        .iter()
        .filter(|a| a.actor.contains("(balie)"))
        .map(|a| a.actie.as_str())
        .collect();
    assert!(by_balie.contains(&"rol toegevoegd"), "{by_balie:?}");
    assert_eq!(
        by_balie.iter().filter(|a| **a == "resultaat").count(),
        1,
        "{by_balie:?}"
    );
}

async fn the_openapi_document_is_served_without_a_token(w: World) {
    let (status, headers, document) = w
        .call_with_headers("GET", "/zaken/api/v1/openapi.json", None, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(headers["api-version"], "1.0.0");
    assert_eq!(document["openapi"], "3.0.3");
    for path in [
        "/zaken",
        "/zaken/{uuid}",
        "/statussen",
        "/rollen",
        "/resultaten",
    ] {
        assert!(document["paths"][path].is_object(), "{path} is documented");
    }
}

async fn a_cases_term_is_suspended_and_extended_with_patch(w: World) {
    let zaak = w.case(SANNE).await;
    let path = format!("/zaken/api/v1/zaken/{}", zaak.uuid);
    let suspend = json!({"opschorting": {"indicatie": true, "reden": "Wacht op leasecontract"}});
    let (status, _) = w
        .call("PATCH", &path, Some("portaal"), Some(suspend.clone()))
        .await;
    assert_eq!(status, 403, "reading is not changing");
    let (status, patched) = w.call("PATCH", &path, Some("balie"), Some(suspend)).await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["opschorting"]["indicatie"], true);
    assert_eq!(patched["opschorting"]["reden"], "Wacht op leasecontract");
    let extend = |duur: &str| json!({"verlenging": {"reden": "Advies nodig", "duur": duur}});
    let (status, problem) = w
        .call("PATCH", &path, Some("balie"), Some(extend("P1M")))
        .await;
    assert_eq!(status, 400);
    assert_eq!(problem["invalidParams"][0]["name"], "verlenging.duur");
    let (status, problem) = w
        .call("PATCH", &path, Some("balie"), Some(extend("P60D")))
        .await;
    assert_eq!(status, 400, "longer than the zaaktype's handling time");
    assert_eq!(problem["invalidParams"][0]["code"], "invalid-duration");
    let (status, patched) = w
        .call("PATCH", &path, Some("balie"), Some(extend("P2W")))
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["verlenging"]["duur"], "P14D");
    assert_eq!(patched["uiterlijkeEinddatumAfdoening"], "2027-02-01");
    // The same extension again changes nothing; another one is refused.
    let (status, _) = w
        .call("PATCH", &path, Some("balie"), Some(extend("P14D")))
        .await;
    assert_eq!(status, 200);
    let (status, problem) = w
        .call("PATCH", &path, Some("balie"), Some(extend("P7D")))
        .await;
    assert_eq!(status, 400);
    assert_eq!(problem["invalidParams"][0]["code"], "already-extended");
    let (status, patched) = w
        .call(
            "PATCH",
            &path,
            Some("balie"),
            Some(json!({"opschorting": {"indicatie": false}})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(patched["opschorting"]["indicatie"], false);
    let (status, _) = w
        .call(
            "PATCH",
            &path,
            Some("balie"),
            Some(json!({"omschrijving": "Iets anders"})),
        )
        .await;
    assert_eq!(status, 400, "fields outside the subset are refused");
    let audit = w.store.audit_trail(zaak.uuid).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|a| a.actie.as_str()).collect();
    assert_eq!(actions, vec!["opgeschort", "verlengd", "hervat"]);
    assert!(audit[0].actor.contains("balie"), "{}", audit[0].actor);
}

/// Request bodies a client might send: the fields the API knows, with good, wrong and
/// odd values, plus unknown ones, in any combination.
fn bodies() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let value = prop_oneof![
        Just(json!(null)),
        any::<i64>().prop_map(|n| json!(n)),
        any::<bool>().prop_map(|b| json!(b)),
        ".{0,24}".prop_map(|s| json!(s)),
        Just(json!("123456782")),
        Just(json!(format!("{BASE}/catalogi/api/v1/zaaktypen/{PERMIT}"))),
        Just(json!("2026-11-25")),
        Just(json!("2026-02-30")),
        Just(json!("9999-12-31")),
        Just(json!("P30D")),
        Just(json!({"indicatie": true, "reden": "Wacht"})),
        Just(json!({"reden": "Advies", "duur": "P20D"})),
        Just(json!([1, "twee"])),
        // PostgreSQL cannot store NUL; the edge refuses it on every backend.
        Just(json!("Aanvraag\u{0}")),
    ];
    let key = prop_oneof![
        Just("bronorganisatie".to_owned()),
        Just("zaaktype".to_owned()),
        Just("startdatum".to_owned()),
        Just("registratiedatum".to_owned()),
        Just("omschrijving".to_owned()),
        Just("opschorting".to_owned()),
        Just("verlenging".to_owned()),
        "[a-z]{1,8}",
    ];
    prop_oneof![
        9 => proptest::collection::btree_map(key, value.clone(), 0..6)
            .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        1 => value,
    ]
}

/// Whatever body a client with every scope sends to create or change a case, the answer
/// is the case or a problem naming what was wrong: never a server error, and never a
/// case that cannot be read back.
async fn any_body_creates_a_case_or_gets_a_problem(w: World) {
    use proptest::strategy::{Strategy, ValueTree};
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = bodies();
    let zaak = w.case(SANNE).await;
    let existing = format!("/zaken/api/v1/zaken/{}", zaak.uuid);
    let (mut accepted, mut refused) = (0, 0);
    for _ in 0..200 {
        let body = strategy.new_tree(&mut runner).unwrap().current();
        for (method, path) in [
            ("POST", "/zaken/api/v1/zaken"),
            ("PATCH", existing.as_str()),
        ] {
            let (status, answer) = w
                .call(method, path, Some("balie"), Some(body.clone()))
                .await;
            match status {
                200 | 201 => {
                    accepted += 1;
                    let url = answer["url"].as_str().unwrap().strip_prefix(BASE).unwrap();
                    assert_eq!(w.get(url, "balie").await.0, 200, "{method} {body}");
                }
                400 | 409 => {
                    refused += 1;
                    assert!(answer["code"].is_string(), "{method} {body}: {answer}");
                    assert!(
                        answer["invalidParams"].is_array() || answer["detail"].is_string(),
                        "{method} {body}: {answer}"
                    );
                }
                other => panic!("{method} {body}: {other} {answer}"),
            }
        }
    }
    // Both outcomes were reached, so the bodies are not all of one kind.
    assert!(
        accepted > 0 && refused > 0,
        "{accepted} accepted, {refused} refused"
    );
}

/// Bodies for a case's statuses, roles and result: each field the three know, mostly
/// present, with good, wrong and odd values, sometimes with a field none of them knows.
fn sub_bodies(zaak_url: &str) -> impl proptest::strategy::Strategy<Value = Value> + use<> {
    use proptest::prelude::*;
    let catalogus = |kind: &str, id: &str| json!(format!("{BASE}/catalogi/api/v1/{kind}/{id}"));
    let odd = prop_oneof![
        Just(json!(null)),
        any::<i64>().prop_map(|n| json!(n)),
        ".{0,12}".prop_map(|s| json!(s)),
        Just(json!("x".repeat(1001))),
        Just(json!("Toelichting\u{0}")),
        Just(json!({"inpBsn": 999990007})),
        Just(json!([])),
    ];
    // The first value is one the API takes; the others it may or may not.
    let field = |values: Vec<Value>| {
        prop_oneof![
            6 => Just(Some(values[0].clone())),
            3 => proptest::sample::select(values).prop_map(Some),
            1 => odd.clone().prop_map(Some),
            1 => Just(None),
        ]
    };
    let fields = (
        field(vec![
            json!(zaak_url),
            json!(format!("{BASE}/zaken/api/v1/zaken/{}", uuid::Uuid::nil())),
            json!(format!("{BASE}/zaken/api/v1/zaken/geen-uuid")),
            json!(zaak_url.replace(BASE, "https://elders.example")),
        ]),
        field(vec![
            catalogus("statustypen", "in_behandeling"),
            catalogus("statustypen", "afgehandeld"),
            catalogus("statustypen", "onbekend"),
        ]),
        field(vec![
            json!("2026-11-24T09:00:00Z"),
            json!("2026-11-24T09:00:00+01:00"),
            json!("2026-02-30T09:00:00Z"),
            json!("9999-12-31T23:59:59-23:59"),
            json!("0000-01-01T00:00:00+01:00"),
            json!("gisteren"),
        ]),
        field(vec![
            catalogus("roltypen", "behandelaar"),
            catalogus("roltypen", "initiator"),
            catalogus("roltypen", "koning"),
        ]),
        field(vec![
            json!("natuurlijk_persoon"),
            json!("medewerker"),
            json!("organisatie"),
        ]),
        field(vec![
            json!({"inpBsn": SANNE}),
            json!({"inpBsn": "12345"}),
            json!({"identificatie": "m.jansen"}),
            json!({"identificatie": ""}),
            json!({"identificatie": "m".repeat(25)}),
            json!({"geheim": true}),
        ]),
        field(vec![
            catalogus("resultaattypen", "toegekend"),
            catalogus("resultaattypen", "afgewezen"),
            catalogus("resultaattypen", "misschien"),
        ]),
        field(vec![json!("Toelichting"), json!("")]),
        prop_oneof![9 => Just(None), 1 => Just(Some(json!(true)))],
    );
    fields.prop_map(
        |(
            zaak,
            statustype,
            datum,
            roltype,
            betrokkene_type,
            betrokkene,
            resultaattype,
            toelichting,
            unknown,
        )| {
            let mut body = serde_json::Map::new();
            for (key, value) in [
                ("zaak", zaak),
                ("statustype", statustype),
                ("datumStatusGezet", datum),
                ("roltype", roltype),
                ("betrokkeneType", betrokkene_type),
                ("betrokkeneIdentificatie", betrokkene),
                ("resultaattype", resultaattype),
                ("statustoelichting", toelichting.clone()),
                ("roltoelichting", toelichting.clone()),
                ("toelichting", toelichting),
                ("geheim", unknown),
            ] {
                if let Some(value) = value {
                    body.insert(key.to_owned(), value);
                }
            }
            Value::Object(body)
        },
    )
}

/// Whatever a client sends to add a status, a role or a result, the answer is what was
/// added, still there when read back with its case, or a problem: never a server error.
/// Each takes only its own fields, so a body is cut down to them first (else every
/// one would be refused for the others').
async fn any_body_adds_to_a_case_or_gets_a_problem(w: World) {
    use proptest::strategy::{Strategy, ValueTree};
    let zaak = w.case(SANNE).await;
    let zaak_path = format!("/zaken/api/v1/zaken/{}", zaak.uuid);
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = sub_bodies(&format!("{BASE}{zaak_path}"));
    let endpoints = [
        (
            "/zaken/api/v1/statussen",
            "werkplek",
            &[
                "zaak",
                "statustype",
                "datumStatusGezet",
                "statustoelichting",
            ][..],
        ),
        (
            "/zaken/api/v1/rollen",
            "balie",
            &[
                "zaak",
                "roltype",
                "betrokkeneType",
                "betrokkeneIdentificatie",
                "roltoelichting",
            ][..],
        ),
        (
            "/zaken/api/v1/resultaten",
            "balie",
            &["zaak", "resultaattype", "toelichting"][..],
        ),
    ];
    let mut outcomes = [(0, 0); 3];
    for _ in 0..150 {
        let body = strategy.new_tree(&mut runner).unwrap().current();
        for (i, (path, client, own)) in endpoints.iter().enumerate() {
            let mut sent = body.clone();
            sent.as_object_mut()
                .unwrap()
                .retain(|key, _| own.contains(&key.as_str()) || key == "geheim");
            let (status, answer) = w.call("POST", path, Some(client), Some(sent.clone())).await;
            match status {
                201 => {
                    outcomes[i].0 += 1;
                    let named = json!(format!("{BASE}{zaak_path}"));
                    assert_eq!(answer["zaak"], named, "{path} {sent}");
                    // Every moment in an answer is one RFC 3339 can write.
                    if let Some(moment) = answer.get("datumStatusGezet") {
                        let text = moment.as_str().unwrap_or_default();
                        assert!(
                            time::OffsetDateTime::parse(
                                text,
                                &time::format_description::well_known::Rfc3339
                            )
                            .is_ok(),
                            "{path} {sent}: {answer}"
                        );
                    }
                    let url = answer["url"].as_str().unwrap().strip_prefix(BASE).unwrap();
                    let (read, again) = w.get(url, "balie").await;
                    assert_eq!((read, &again), (200, &answer), "{path} {sent}");
                }
                400 | 404 | 409 => {
                    outcomes[i].1 += 1;
                    assert!(answer["code"].is_string(), "{path} {sent}: {answer}");
                }
                other => panic!("{path} {sent}: {other} {answer}"),
            }
            let (status, _) = w.get(&zaak_path, "balie").await;
            assert_eq!(status, 200, "the case reads back after {path} {sent}");
        }
    }
    // Each endpoint both took and refused bodies: the bodies are not all of one kind.
    for ((path, ..), (added, refused)) in endpoints.iter().zip(outcomes) {
        // A case has one result: the first good one is taken, later ones refused.
        assert!(
            added > 0 && refused > 0,
            "{path}: {added} added, {refused} refused"
        );
    }
}

loket_store::contract_suite! {
    open = open;
    tests = [
        any_body_creates_a_case_or_gets_a_problem,
        any_body_adds_to_a_case_or_gets_a_problem,
        without_a_good_token_nothing_is_shown,
        a_residents_cases_are_listed_and_paged_as_the_standard_does,
        a_client_sees_only_its_zaaktypen,
        bad_filters_are_problems,
        a_case_links_to_its_status_roles_and_result,
        a_status_is_added_only_with_the_scope_and_valid_input,
        a_case_is_created_with_its_deadline_from_the_zaaktype,
        roles_and_one_result_are_added_to_a_case,
        the_openapi_document_is_served_without_a_token,
        a_cases_term_is_suspended_and_extended_with_patch,
    ];
}
