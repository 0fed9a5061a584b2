//! The resident portal through its pages, on SQLite and Postgres: logging in with the
//! simulated DigiD (a new session id, sealed session rows), CSRF on every form, only
//! one's own cases and letters (anything else is a 404 that says nothing), logging out
//! everywhere, and no simulated login outside demo mode.

// Tests fail loudly; that is what they are for.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, header};
use loket_core::{Clock, FixedClock, Secret};
use loket_store::{Database, StorageUrl};
use loket_web::PortalSettings;
use loket_web::portaal::{DemoPersona, DigidSimulatie, Inzage, Portaal, sessies};
use loket_zaken::berichten::NewBericht;
use loket_zaken::catalogue::{Catalogue, Text};
use loket_zaken::inwoner::{Activities, Inwoner};
use loket_zaken::zaak::{NewRol, NewStatus, NewZaak, statustype};
use loket_zaken::{SCHEMA, ZaakStore, zaak_store};
use time::macros::{date, datetime};
use tower::ServiceExt;

const NOW: time::OffsetDateTime = datetime!(2026-11-23 10:00 UTC);
const SANNE: &str = "999990007";
const INGRID: &str = "999990081";

struct World {
    router: axum::Router,
    zaken: Arc<dyn ZaakStore>,
    sessions_db: Database,
    clock: Arc<FixedClock>,
}

fn settings(demo: bool) -> PortalSettings {
    PortalSettings {
        municipality: "Gemeente Voorbeeldstad".to_owned(),
        demo,
    }
}

async fn world(url: &StorageUrl, demo: bool) -> World {
    world_reading(url, demo, Inzage::none()).await
}

/// A portal whose "who used my data" reads the logs of `inzage`.
async fn world_reading(url: &StorageUrl, demo: bool, inzage: Inzage) -> World {
    let zaken_db = Database::open(url, &SCHEMA).await.unwrap();
    let zaken = zaak_store(&zaken_db);
    let sessions_db = Database::open(url, &sessies::SCHEMA).await.unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../catalogue");
    let catalogue = Arc::new(Catalogue::load(&dir).unwrap());
    let clock = Arc::new(FixedClock::at(NOW));
    let personas = vec![DemoPersona {
        bsn: SANNE.to_owned(),
        naam: "Sanne de Vries".to_owned(),
        nl: "Heeft een auto.".to_owned(),
        en: "Has a car.".to_owned(),
    }];
    let portaal = Portaal {
        sessions: sessies::Sessions::new(
            sessies::session_store(&sessions_db),
            &Secret::new(vec![42u8; 32]),
        )
        .unwrap(),
        inwoner: Inwoner::new(
            zaken.clone(),
            catalogue,
            None,
            Activities {
                mijn_gegevens: "urn:mijn-gegevens".to_owned(),
                attenderen: "urn:attenderen".to_owned(),
            },
            clock.clone(),
        ),
        applications: None,
        idempotency: loket_zaken::idempotency::idempotency_store(&zaken_db),
        inzage,
        digid: DigidSimulatie::new(&settings(demo), personas).ok(),
        oidc: None,
        clock: clock.clone(),
        secure_cookies: true,
    };
    World {
        router: loket_web::portal_routes(settings(demo), portaal),
        zaken,
        sessions_db,
        clock,
    }
}

async fn open(url: &StorageUrl) -> World {
    world(url, true).await
}

struct Answer {
    status: u16,
    location: String,
    cookie: Option<String>,
    body: String,
}

impl World {
    async fn send(
        &self,
        method: &str,
        path: &str,
        cookie: Option<&str>,
        form: &[(&str, &str)],
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        let body = if form.is_empty() {
            Body::empty()
        } else {
            request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            Body::from(
                url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(form)
                    .finish(),
            )
        };
        let response = self
            .router
            .clone()
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        let text = |name| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        let location = text(header::LOCATION).unwrap_or_default();
        let cookie = text(header::SET_COOKIE);
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 22)
            .await
            .unwrap();
        Answer {
            status,
            location,
            cookie,
            body: String::from_utf8(bytes.to_vec()).unwrap(),
        }
    }

    /// POST `parts` (name, file name for a file, content) as multipart/form-data.
    async fn send_multipart(
        &self,
        path: &str,
        cookie: &str,
        parts: &[(&str, Option<&str>, &str)],
    ) -> Answer {
        let mut body = String::new();
        for (name, file, content) in parts {
            body.push_str("--grens\r\n");
            match file {
                Some(file) => body.push_str(&format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: application/pdf\r\n\r\n"
                )),
                None => body.push_str(&format!(
                    "Content-Disposition: form-data; name=\"{name}\"\r\n\r\n"
                )),
            }
            body.push_str(content);
            body.push_str("\r\n");
        }
        body.push_str("--grens--\r\n");
        let request = Request::builder()
            .method("POST")
            .uri(path)
            .header(header::COOKIE, cookie)
            .header(header::CONTENT_TYPE, "multipart/form-data; boundary=grens")
            .body(Body::from(body))
            .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        Answer {
            status: response.status().as_u16(),
            location: String::new(),
            cookie: None,
            body: String::new(),
        }
    }

    /// Log in as `bsn` with the simulated DigiD: the session cookie ("name=token").
    async fn log_in(&self, bsn: &str) -> String {
        let form = self.send("GET", "/digid-simulatie", None, &[]).await;
        assert_eq!(form.status, 200);
        let anonymous = cookie_pair(form.cookie.as_deref().unwrap());
        let answer = self
            .send(
                "POST",
                "/digid-simulatie",
                Some(&anonymous),
                &[
                    ("csrf", &csrf(&form.body)),
                    ("persona", "anders"),
                    ("bsn", bsn),
                    ("niveau", "substantieel"),
                ],
            )
            .await;
        assert_eq!(
            (answer.status, answer.location.as_str()),
            (303, "/overzicht")
        );
        let signed_in = cookie_pair(answer.cookie.as_deref().unwrap());
        assert_ne!(signed_in, anonymous, "a new session id at login");
        signed_in
    }

    async fn csrf_of(&self, cookie: &str) -> String {
        csrf(&self.send("GET", "/berichten", Some(cookie), &[]).await.body)
    }

    /// A decided case of `bsn`'s with its letter.
    async fn case_of(&self, bsn: &str) -> uuid::Uuid {
        let status = |statustype: &str| NewStatus {
            statustype: statustype.to_owned(),
            datum_status_gezet: NOW,
            actor: "test".to_owned(),
            toelichting: String::new(),
        };
        let zaak = NewZaak {
            bronorganisatie: "123456782".to_owned(),
            zaaktype: "bewonersparkeervergunning".to_owned(),
            omschrijving: "Aanvraag bewonersparkeervergunning".to_owned(),
            registratiedatum: date!(2026 - 11 - 23),
            startdatum: None,
            behandeltermijn_dagen: 56,
            zaakobject: Some(format!("9901AB {bsn}")),
            initiator: Some(NewRol::initiator(bsn)),
            statuses: vec![status(statustype::ONTVANGEN)],
            besluit: None,
            resultaat: None,
            documenten: Vec::new(),
            audit: None,
            berichten: vec![NewBericht {
                bsn: bsn.to_owned(),
                onderwerp: Text {
                    nl: format!("Brief voor {bsn}"),
                    en: format!("Letter for {bsn}"),
                },
                tekst: Text {
                    nl: "Geheim adres Kerkstraat 12".to_owned(),
                    en: "Secret address Kerkstraat 12".to_owned(),
                },
            }],
        };
        self.zaken.create(&zaak, NOW).await.unwrap().uuid
    }
}

fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

fn csrf(html: &str) -> String {
    let start = html.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

/// The letter links in a Berichtenbox page.
fn letters(html: &str) -> Vec<String> {
    html.match_indices("href=\"/berichten/")
        .filter_map(|(at, _)| {
            let rest = &html[at + 6..];
            let link = &rest[..rest.find('"')?];
            (link.len() > "/berichten/".len() && !link.ends_with("voorkeur"))
                .then(|| link.to_owned())
        })
        .collect()
}

async fn logging_in_rotates_the_session_and_seals_who_it_is(w: World) {
    let anonymous = w.send("GET", "/overzicht", None, &[]).await;
    assert_eq!(
        (anonymous.status, anonymous.location.as_str()),
        (303, "/inloggen")
    );

    let form = w.send("GET", "/digid-simulatie", None, &[]).await;
    let set_cookie = form.cookie.clone().unwrap();
    for attribute in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
        assert!(
            set_cookie.contains(attribute),
            "{attribute} in {set_cookie}"
        );
    }
    // Bound to this host over HTTPS, so no sibling subdomain can plant a session.
    assert!(
        set_cookie.starts_with("__Host-loket_sessie="),
        "{set_cookie}"
    );
    assert!(!set_cookie.contains("Domain"), "{set_cookie}");
    assert!(form.body.contains("Testomgeving"));

    // A BSN that fails the 11-proef is refused, with the summary and the value kept.
    let bad = w
        .send(
            "POST",
            "/digid-simulatie",
            Some(&cookie_pair(&set_cookie)),
            &[
                ("csrf", &csrf(&form.body)),
                ("persona", "anders"),
                ("bsn", "123456789"),
            ],
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("error-summary") && bad.body.contains("href=\"#bsn\""));
    assert!(bad.body.contains("value=\"123456789\""));

    let cookie = w.log_in(SANNE).await;
    let overview = w.send("GET", "/overzicht", Some(&cookie), &[]).await;
    assert_eq!(overview.status, 200, "{}", overview.body);
    assert!(overview.body.contains("Uitloggen"));
    // The same token under the bare name, as another subdomain could set it: not read.
    let tossed = cookie.replacen("__Host-", "", 1);
    assert_ne!(tossed, cookie);
    let planted = w.send("GET", "/overzicht", Some(&tossed), &[]).await;
    assert_eq!(
        planted.status, 303,
        "a cookie without the prefix is no session"
    );

    // The session's row names nobody: no BSN in any column.
    let rows: Vec<(Option<String>, Option<String>)> = match &w.sessions_db {
        Database::Sqlite(pool) => {
            loket_store::sqlx::query_as("SELECT inwoner, gegevens FROM sessies")
                .fetch_all(pool)
                .await
                .unwrap()
        }
        Database::Postgres(pool) => {
            loket_store::sqlx::query_as("SELECT inwoner, gegevens FROM sessies")
                .fetch_all(pool)
                .await
                .unwrap()
        }
    };
    assert!(rows.iter().any(|(inwoner, _)| inwoner.is_some()));
    for (inwoner, gegevens) in rows {
        for column in [inwoner, gegevens].into_iter().flatten() {
            assert!(
                !column.contains(SANNE),
                "a plaintext BSN in the session store"
            );
        }
    }
}

async fn every_form_needs_its_sessions_csrf_token(w: World) {
    let cookie = w.log_in(SANNE).await;
    for (path, form) in [
        ("/uitloggen", vec![("csrf", "vervalst")]),
        (
            "/berichten/voorkeur",
            vec![("csrf", "vervalst"), ("kanaal", "ook-post")],
        ),
        ("/aanvragen/bewonersparkeervergunning", vec![("csrf", "")]),
    ] {
        let answer = w.send("POST", path, Some(&cookie), &form).await;
        assert_eq!(answer.status, 403, "{path}");
    }
    // The application itself is multipart (it may carry files): a forged token, or a
    // file before any token, is refused before anything is read or sent.
    let token = w.csrf_of(&cookie).await;
    for parts in [
        vec![
            ("csrf", None, "vervalst"),
            ("sleutel", None, "abcdefgh1234"),
        ],
        vec![
            ("leasedocument", Some("lease.pdf"), "%PDF-1.4"),
            ("csrf", None, token.as_str()),
        ],
    ] {
        let answer = w
            .send_multipart(
                "/aanvragen/bewonersparkeervergunning/versturen",
                &cookie,
                &parts,
            )
            .await;
        assert_eq!(answer.status, 403);
    }
    // Still logged in, and the preference unchanged.
    let page = w.send("GET", "/berichten", Some(&cookie), &[]).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("value=\"digitaal\" checked"));
    let token = w.csrf_of(&cookie).await;
    let saved = w
        .send(
            "POST",
            "/berichten/voorkeur",
            Some(&cookie),
            &[("csrf", &token), ("kanaal", "ook-post")],
        )
        .await;
    assert_eq!(saved.status, 303);
    let page = w.send("GET", "/berichten", Some(&cookie), &[]).await;
    assert!(page.body.contains("value=\"ook-post\" checked"));
}

async fn a_resident_sees_only_their_own_cases_and_letters(w: World) {
    let sannes = w.case_of(SANNE).await;
    let ingrids = w.case_of(INGRID).await;
    let sanne = w.log_in(SANNE).await;
    let ingrid = w.log_in(INGRID).await;

    let own = w
        .send("GET", &format!("/zaken/{sannes}"), Some(&sanne), &[])
        .await;
    assert_eq!(own.status, 200);
    assert!(own.body.contains("Bewonersparkeervergunning"));
    let list = w.send("GET", "/zaken", Some(&sanne), &[]).await;
    assert!(list.body.contains(&sannes.to_string()) && !list.body.contains(&ingrids.to_string()));
    // One page: no empty page navigation for a screen reader to land in.
    assert!(!list.body.contains("class=\"pagination\""), "{}", list.body);

    let box_ = w.send("GET", "/berichten", Some(&sanne), &[]).await;
    assert!(box_.body.contains("(1 nieuw)"), "the unread count");
    assert!(!box_.body.contains("class=\"pagination\""), "{}", box_.body);
    let sannes_letters = letters(&box_.body);
    assert_eq!(sannes_letters.len(), 1, "{}", box_.body);
    let read = w.send("GET", &sannes_letters[0], Some(&sanne), &[]).await;
    assert_eq!(read.status, 200);
    assert!(
        read.body.contains(&format!("/zaken/{sannes}")),
        "the letter links to its case"
    );
    assert!(
        !w.send("GET", "/berichten", Some(&sanne), &[])
            .await
            .body
            .contains("nieuw)")
    );

    // Ingrid asking for Sanne's case or letter gets what a case that does not exist gets.
    let nothing = w
        .send(
            "GET",
            "/zaken/00000000-0000-7000-8000-000000000000",
            Some(&ingrid),
            &[],
        )
        .await;
    for path in [format!("/zaken/{sannes}"), sannes_letters[0].clone()] {
        let foreign = w.send("GET", &path, Some(&ingrid), &[]).await;
        assert_eq!(foreign.status, 404, "{path}");
        assert!(!foreign.body.contains("Kerkstraat") && !foreign.body.contains(SANNE));
        if path.starts_with("/zaken/") {
            assert_eq!(
                foreign.body, nothing.body,
                "a foreign case looks like no case"
            );
        }
    }
    assert_eq!(
        w.send("GET", "/zaken/geen-uuid", Some(&ingrid), &[])
            .await
            .status,
        404
    );
}

async fn logging_out_everywhere_ends_every_session(w: World) {
    let phone = w.log_in(SANNE).await;
    let laptop = w.log_in(SANNE).await;
    let other = w.log_in(INGRID).await;
    let token = w.csrf_of(&phone).await;
    let out = w
        .send(
            "POST",
            "/uitloggen",
            Some(&phone),
            &[("csrf", &token), ("overal", "ja")],
        )
        .await;
    assert_eq!((out.status, out.location.as_str()), (303, "/?uitgelogd=1"));
    assert!(out.cookie.unwrap().contains("Max-Age=0"));
    for cookie in [&phone, &laptop] {
        let page = w.send("GET", "/overzicht", Some(cookie), &[]).await;
        assert_eq!((page.status, page.location.as_str()), (303, "/inloggen"));
    }
    assert_eq!(
        w.send("GET", "/overzicht", Some(&other), &[]).await.status,
        200
    );
}

async fn sessions_end_after_15_idle_minutes_and_after_2_hours(w: World) {
    let minutes = |n| time::Duration::minutes(n);
    let alive = |cookie: String| {
        let w = &w;
        async move { w.send("GET", "/overzicht", Some(&cookie), &[]).await.status == 200 }
    };
    let idle = w.log_in(SANNE).await;
    w.clock.advance(minutes(14));
    assert!(
        alive(idle.clone()).await,
        "14 minutes idle is not yet too long"
    );
    w.clock.advance(minutes(14));
    assert!(alive(idle.clone()).await, "the last use counted");
    w.clock.advance(minutes(16));
    assert!(
        !alive(idle.clone()).await,
        "16 minutes idle ends the session"
    );
    w.clock.advance(minutes(1));
    assert!(!alive(idle).await, "and it stays ended");

    let busy = w.log_in(SANNE).await;
    for _ in 0..11 {
        w.clock.advance(minutes(10));
        assert!(alive(busy.clone()).await);
    }
    w.clock.advance(minutes(10));
    assert!(!alive(busy).await, "two hours is the most a session lasts");
}

/// A case on hold tells the resident why, in the employee's words, and since when; an
/// extension says by how many days and why.
async fn a_case_on_hold_says_what_we_wait_for(w: World) {
    let zaak = w.case_of(SANNE).await;
    let cookie = w.log_in(SANNE).await;
    let page = w
        .send("GET", &format!("/zaken/{zaak}"), Some(&cookie), &[])
        .await;
    assert!(!page.body.contains("Wij wachten op u"), "{}", page.body);

    let found = w.zaken.get(zaak).await.unwrap().unwrap();
    let reden = "Stuur ons een kopie van uw leasecontract.";
    let held =
        loket_zaken::termijn::suspend(&found.termijn(), reden, date!(2026 - 11 - 25)).unwrap();
    let extended =
        loket_zaken::termijn::extend(&held, "Wij wachten op advies van de wijkagent.", 14, 56)
            .unwrap();
    let audit = loket_zaken::zaak::AuditEntry {
        actor: "test".to_owned(),
        actie: "opgeschort".to_owned(),
        toelichting: reden.to_owned(),
        moment: NOW,
    };
    w.zaken
        .change_term(zaak, &found.termijn(), &extended, &audit)
        .await
        .unwrap()
        .unwrap();
    let page = w
        .send("GET", &format!("/zaken/{zaak}"), Some(&cookie), &[])
        .await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Wij wachten op u"), "{}", page.body);
    assert!(page.body.contains(reden), "{}", page.body);
    assert!(page.body.contains("25 november 2026"), "{}", page.body);
    assert!(
        page.body
            .contains("verlengd met 14 dagen: <span lang=\"nl\">Wij wachten op advies van de wijkagent.</span>"),
        "{}",
        page.body
    );
}

/// The periodic sweep removes exactly the sessions that timed out, so a login page nobody
/// used and a session nobody came back to do not stay in the store.
async fn expired_sessions_are_swept_and_live_ones_kept(w: World) {
    let minutes = |n| time::Duration::minutes(n);
    let store = sessies::session_store(&w.sessions_db);
    let count = || async {
        let counted: (i64,) = match &w.sessions_db {
            Database::Sqlite(pool) => loket_store::sqlx::query_as("SELECT COUNT(*) FROM sessies")
                .fetch_one(pool)
                .await
                .unwrap(),
            Database::Postgres(pool) => loket_store::sqlx::query_as("SELECT COUNT(*) FROM sessies")
                .fetch_one(pool)
                .await
                .unwrap(),
        };
        counted.0
    };
    let left = w.log_in(SANNE).await;
    // A login form opened and left: an anonymous session with its CSRF token.
    assert_eq!(
        w.send("GET", "/digid-simulatie", None, &[]).await.status,
        200
    );
    let before = count().await;
    assert!(
        before >= 2,
        "a signed-in session and a login page's: {before}"
    );
    w.clock.advance(minutes(10));
    assert_eq!(
        store.delete_expired(w.clock.now()).await.unwrap(),
        0,
        "none expired yet"
    );
    let kept = w.log_in(SANNE).await;
    w.clock.advance(minutes(6));
    let swept = store.delete_expired(w.clock.now()).await.unwrap();
    assert_eq!(swept as i64, before, "every session idle for 16 minutes");
    assert_eq!(count().await, 1, "the one used 6 minutes ago stays");
    assert_eq!(
        w.send("GET", "/overzicht", Some(&kept), &[]).await.status,
        200
    );
    assert_ne!(
        w.send("GET", "/overzicht", Some(&left), &[]).await.status,
        200
    );
    w.clock.advance(minutes(2 * 60));
    assert_eq!(
        store.delete_expired(w.clock.now()).await.unwrap(),
        1,
        "idle too long"
    );
    assert_eq!(count().await, 0);

    // Used every 10 minutes, never idle for long, but 2 hours old: gone all the same.
    let busy = w.log_in(SANNE).await;
    for _ in 0..11 {
        w.clock.advance(minutes(10));
        assert_eq!(
            w.send("GET", "/overzicht", Some(&busy), &[]).await.status,
            200
        );
    }
    w.clock.advance(minutes(10));
    assert_eq!(
        store.delete_expired(w.clock.now()).await.unwrap(),
        1,
        "two hours at most"
    );
    assert_eq!(count().await, 0);
}

/// Query strings as links, bookmarks and people typing in the address bar make them.
fn queries() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let key = prop_oneof![
        proptest::sample::select(vec![
            "lang",
            "pagina",
            "verder",
            "uitgelogd",
            "ontvangen",
            "q",
        ])
        .prop_map(str::to_owned),
        "[a-z_]{1,6}",
    ];
    let value = prop_oneof![
        proptest::sample::select(vec![
            "",
            "en",
            "nl",
            "xx",
            "0",
            "-1",
            "2",
            "4294967296",
            "999999999999999999999",
            "%00",
            "%ZZ",
            "a%20b",
            "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
            "12,x",
            "12,-,",
            ";",
        ])
        .prop_map(str::to_owned),
        Just("9".repeat(3000)),
        "[a-zA-Z0-9,._~-]{0,12}",
    ];
    proptest::collection::vec((key, value), 0..4).prop_map(|pairs| {
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    })
}

/// No query string breaks a page: each page answers as it does without one, or with 400
/// for a query it cannot read; never a server error, and nothing echoed unescaped.
async fn no_query_string_breaks_a_page(w: World) {
    use proptest::strategy::{Strategy, ValueTree};
    let zaak = w.case_of(SANNE).await;
    let cookie = w.log_in(SANNE).await;
    let letter = letters(&w.send("GET", "/berichten", Some(&cookie), &[]).await.body)[0].clone();
    let pages = [
        "/".to_owned(),
        "/inloggen".to_owned(),
        "/overzicht".to_owned(),
        "/mijn-gegevens".to_owned(),
        "/aanvragen".to_owned(),
        "/aanvragen/bewonersparkeervergunning".to_owned(),
        "/zaken".to_owned(),
        format!("/zaken/{zaak}"),
        "/berichten".to_owned(),
        letter,
        "/wie-gebruikte-mijn-gegevens".to_owned(),
        "/contact".to_owned(),
        "/privacy".to_owned(),
        "/toegankelijkheid".to_owned(),
        "/digid-simulatie".to_owned(),
    ];
    let mut baseline = Vec::new();
    for page in &pages {
        baseline.push(w.send("GET", page, Some(&cookie), &[]).await.status);
    }
    assert!(
        baseline.iter().all(|s| *s < 500 || *s == 503),
        "{pages:?} {baseline:?}"
    );
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = queries();
    let mut refused = 0;
    for round in 0..260 {
        let query = strategy.new_tree(&mut runner).unwrap().current();
        let index = round % pages.len();
        let path = format!("{}?{query}", pages[index]);
        let answer = w.send("GET", &path, Some(&cookie), &[]).await;
        assert!(
            answer.status == baseline[index] || answer.status == 400,
            "{path}: {} (without a query {})",
            answer.status,
            baseline[index]
        );
        refused += usize::from(answer.status == 400);
        assert!(!answer.body.contains("<script>alert(1)</script>"), "{path}");
    }
    assert!(refused > 0, "some queries are refused");
}

/// A case handler's reason reaches the resident once, on the case and in the letter; on
/// an English page it is marked as the Dutch it is (WCAG 3.1.2).
async fn a_case_handlers_reason_shows_once_and_is_marked_dutch_in_english(w: World) {
    use loket_zaken::werk::{Medewerker, StaffRole, Werk};
    let zaak = w.case_of(SANNE).await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../catalogue");
    let werk = Werk::new(
        w.zaken.clone(),
        Arc::new(Catalogue::load(&dir).unwrap()),
        w.clock.clone(),
    );
    let me = Medewerker {
        id: "m.jansen".to_owned(),
        naam: "M. Jansen".to_owned(),
        rollen: vec![StaffRole::Behandelaar],
    };
    werk.take(&me, zaak).await.unwrap();
    let reden = "Er is geen leasecontract meegestuurd.";
    werk.decide(
        &me,
        zaak,
        Some(loket_zaken::zaak::Outcome::Afgewezen),
        reden,
    )
    .await
    .unwrap();
    let cookie = w.log_in(SANNE).await;
    let inbox = w.send("GET", "/berichten", Some(&cookie), &[]).await;
    let letter = letters(&inbox.body)
        .into_iter()
        .find(|link| {
            let uuid = link.trim_start_matches("/berichten/");
            !inbox.body.contains(&format!("{uuid}\">Brief voor"))
        })
        .expect("the decision letter");
    for page in [format!("/zaken/{zaak}"), letter] {
        for (lang, says) in [
            ("nl", "U krijgt de bewonersparkeervergunning niet."),
            (
                "en",
                "You do not get the residential parking permit. The reason, in Dutch:",
            ),
        ] {
            let shown = w
                .send("GET", &format!("{page}?lang={lang}"), Some(&cookie), &[])
                .await;
            assert_eq!(shown.status, 200, "{page}");
            assert_eq!(
                shown.body.matches(reden).count(),
                1,
                "{page}: {}",
                shown.body
            );
            assert!(shown.body.contains(says), "{page}: {}", shown.body);
            // Dutch on an English page says so; on a Dutch page nothing needs to.
            let marked = format!("<p><span lang=\"nl\">{reden}</span></p>");
            assert_eq!(
                shown.body.contains(&marked),
                lang == "en",
                "{page}?lang={lang}"
            );
        }
    }
}

loket_store::contract_suite! {
    open = open;
    tests = [
        logging_in_rotates_the_session_and_seals_who_it_is,
        every_form_needs_its_sessions_csrf_token,
        a_resident_sees_only_their_own_cases_and_letters,
        logging_out_everywhere_ends_every_session,
        sessions_end_after_15_idle_minutes_and_after_2_hours,
        expired_sessions_are_swept_and_live_ones_kept,
        a_case_on_hold_says_what_we_wait_for,
        a_case_handlers_reason_shows_once_and_is_marked_dutch_in_english,
        no_query_string_breaks_a_page,
    ];
}

#[tokio::test]
async fn the_simulated_digid_exists_only_in_demo_mode() {
    assert!(DigidSimulatie::new(&settings(false), Vec::new()).is_err());
    let dir = tempfile_dir();
    let w = world(&StorageUrl::SqliteDir(dir.clone()), false).await;
    assert_eq!(
        w.send("GET", "/digid-simulatie", None, &[]).await.status,
        404
    );
    assert_eq!(
        w.send("POST", "/digid-simulatie", None, &[("bsn", SANNE)])
            .await
            .status,
        404
    );
    let login = w.send("GET", "/inloggen", None, &[]).await;
    assert!(!login.body.contains("/digid-simulatie"));
    std::fs::remove_dir_all(dir).ok();
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("loket-portaal-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const PARKEREN_ACTIVITY: &str = "https://voorbeeldstad.nl/verwerkingen/parkeren";
const MUNICIPALITY_OIN: &str = "00000001001234567000";
const OTHER_OIN: &str = "00000001005555555000";

/// "Who used my data" reads a log a page at a time: over the pages every use of Sanne's
/// data shows exactly once, each checked against the signed tree head, and none of
/// Ingrid's. A real processing log answers through its LDV read API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_used_my_data_pages_through_a_log_without_gaps_or_repeats() {
    use loket_core::resident_assertion::AssertionSigner;
    use loket_core::{Bsn, SpanId, SystemClock, TraceContext, TraceId};
    use loket_logboek::api::{Reader, Role};
    use loket_logboek::{Activities, LogKeys, Logboek, NewRecord, Status};
    use loket_web::portaal::{LogSource, Start};

    let storage = loket_store::testing::TestStorage::sqlite().unwrap();
    let database = Database::open(&storage.url, &loket_logboek::schema("logboek_test"))
        .await
        .unwrap();
    let log = Logboek::start(
        "test",
        loket_logboek::log_store(&database),
        LogKeys::generate().unwrap(),
        Arc::new(Activities::default()),
        Arc::new(SystemClock),
        std::time::Duration::ZERO,
    )
    .await
    .unwrap();
    let record = |bsn: &str, trace: TraceId, name: &str, status: Status, minutes: i64| {
        let at = time::OffsetDateTime::now_utc() - time::Duration::minutes(minutes);
        NewRecord {
            trace_id: trace,
            span_id: SpanId::random(),
            parent_span_id: None,
            name: name.to_owned(),
            start: at,
            end: at,
            status,
            // The municipality's activity, which this log's (empty) register does not
            // describe: the portal does, from the municipality's own.
            processing_activity_id: Some(PARKEREN_ACTIVITY.to_owned()),
            data_subject: Some(log.pseudonyms().bsn(bsn)),
            // The municipality's uses; the refused attempts another organisation's, under
            // the municipality's activity.
            exchange: Some(loket_logboek::Exchange {
                transaction_id: "t".to_owned(),
                direction: loket_logboek::Direction::Incoming,
                grant_hash: None,
                source_peer_id: if name.ends_with(" geweigerd") {
                    OTHER_OIN.to_owned()
                } else {
                    MUNICIPALITY_OIN.to_owned()
                },
                destination_peer_id: String::new(),
                service_name: "brp-personen".to_owned(),
                // A provider's record from before it logged under its own activity.
                stated_processing_activity_id: None,
                fields: Vec::new(),
                error_code: None,
            }),
        }
    };
    let mut sanne = std::collections::BTreeSet::new();
    let mut refusals = std::collections::BTreeSet::new();
    for i in 0..70 {
        let trace = TraceId::random();
        sanne.insert(hex(trace.as_bytes()));
        log.append(vec![
            record(SANNE, trace, "brp-personen verzoek", Status::Unset, 100 - i),
            record(SANNE, trace, "brp-personen antwoord", Status::Ok, 100 - i),
        ])
        .await
        .unwrap();
        if i % 10 == 0 {
            // A refused attempt on her data and another resident's use in between.
            let refused = TraceId::random();
            refusals.insert(hex(refused.as_bytes()));
            log.append(vec![
                record(
                    SANNE,
                    refused,
                    "brp-personen geweigerd",
                    Status::Error,
                    100 - i,
                ),
                record(
                    INGRID,
                    TraceId::random(),
                    "brp-personen antwoord",
                    Status::Ok,
                    100 - i,
                ),
            ])
            .await
            .unwrap();
        }
    }
    let portal = Arc::new(
        AssertionSigner::from_secret(&Secret::new("the portal's own secret, long enough".into()))
            .unwrap(),
    );
    let readers = vec![Reader::new(
        "portal",
        &Secret::new("portal-token".into()),
        Role::Resident {
            portal_key: portal.public_key(),
        },
    )];
    let router =
        loket_logboek::api::service(log.clone(), readers).into_router(loket_http::Metrics::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(loket_http::serve(listener, router, std::future::pending()));
    let inzage_url = url.clone();
    let portal_again = portal.clone();
    let inzage = Inzage::new(
        vec![LogSource {
            organisatie: "Rijksdienst voor Identiteitsgegevens".to_owned(),
            url,
            token: Secret::new("portal-token".into()),
            public_key: log.verifying_key().0.clone(),
        }],
        portal,
    )
    .unwrap()
    .knowing(
        MUNICIPALITY_OIN,
        std::collections::HashMap::from([(
            PARKEREN_ACTIVITY.to_owned(),
            loket_web::portaal::KnownActivity {
                naam: ("Parkeren".to_owned(), "Parking".to_owned()),
                doel: ("Doel".to_owned(), "Purpose".to_owned()),
                grondslag: ("Grondslag".to_owned(), "Legal basis".to_owned()),
            },
        )]),
    );

    let mut starts = vec![Start::Newest];
    let mut shown = Vec::new();
    let mut refused = Vec::new();
    let mut pages = 0;
    loop {
        let logs = inzage
            .about(
                &Bsn::parse(SANNE).unwrap(),
                &TraceContext::new_root(),
                &starts,
            )
            .await;
        assert!(logs[0].bereikbaar);
        for found in &logs[0].gebruik {
            assert_eq!(found.integriteit, loket_web::portaal::Integrity::Verified);
            // The municipality's purpose for its own uses; not for another's attempt.
            let described =
                found.grondslag == Some(("Grondslag".to_owned(), "Legal basis".to_owned()));
            assert_eq!(described, found.geweigerd.is_none(), "{found:?}");
            match found.geweigerd {
                None => shown.push(found.trace_id.clone()),
                Some(reason) => {
                    // The records name no error code: a refusal for no reason given.
                    assert_eq!(reason, loket_web::portaal::Refusal::Other);
                    refused.push(found.trace_id.clone());
                }
            }
        }
        pages += 1;
        match Start::next_page(&logs) {
            Some(verder) => starts = Start::parse_all(Some(&verder), 1),
            None => break,
        }
        assert!(pages < 10, "the pages end");
    }
    assert!(pages >= 2, "70 uses do not fit on one page: {pages}");
    let distinct: std::collections::BTreeSet<String> = shown.iter().cloned().collect();
    assert_eq!(distinct.len(), shown.len(), "no use shown twice");
    assert_eq!(distinct, sanne, "every use of hers, and only hers");
    // Every refused attempt on her data is shown too, once, as refused.
    let distinct: std::collections::BTreeSet<String> = refused.iter().cloned().collect();
    assert_eq!(distinct.len(), refused.len(), "no refusal shown twice");
    assert_eq!(distinct, refusals);
    // A log that answers more records than asked for is not read at all. A proxy in
    // front of the same log asks it for `limit` (or what the portal asked) and counts
    // the records it passes on.
    let proxy = |limit: Option<u32>| {
        let upstream = inzage_url.clone();
        let passed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = passed.clone();
        let routes = axum::Router::new().route(
            "/lezenapi/v1/processing-activities",
            axum::routing::post(
                move |uri: axum::http::Uri,
                      headers: axum::http::HeaderMap,
                      body: axum::body::Bytes| {
                    let (upstream, counter) = (upstream.clone(), counter.clone());
                    async move {
                        let query = match limit {
                            Some(limit) => format!("limit={limit}"),
                            None => uri.query().unwrap_or_default().to_owned(),
                        };
                        let mut request = reqwest::Client::new()
                            .post(format!(
                                "{upstream}/lezenapi/v1/processing-activities?{query}"
                            ))
                            .body(body);
                        for (name, value) in &headers {
                            if name != "host" && name != "content-length" {
                                request = request.header(name.as_str(), value.as_bytes());
                            }
                        }
                        let answer = request.send().await.unwrap();
                        assert!(answer.status().is_success());
                        let text = answer.bytes().await.unwrap();
                        let parsed: serde_json::Value = serde_json::from_slice(&text).unwrap();
                        let records = parsed["processingActivities"].as_array().unwrap().len();
                        counter.fetch_add(records, std::sync::atomic::Ordering::SeqCst);
                        ([("content-type", "application/json")], text)
                    }
                },
            ),
        );
        let (public_key, signer) = (log.verifying_key().0.clone(), portal_again.clone());
        async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            tokio::spawn(async move { axum::serve(listener, routes).await });
            let inzage = Inzage::new(
                vec![LogSource {
                    organisatie: "Via een proxy".to_owned(),
                    url,
                    token: Secret::new("portal-token".into()),
                    public_key,
                }],
                signer,
            )
            .unwrap();
            let logs = inzage
                .about(
                    &Bsn::parse(SANNE).unwrap(),
                    &TraceContext::new_root(),
                    &[Start::Newest],
                )
                .await;
            (logs, passed.load(std::sync::atomic::Ordering::SeqCst))
        }
    };
    let (honest, passed) = proxy(None).await;
    assert!(
        honest[0].bereikbaar && !honest[0].gebruik.is_empty(),
        "{passed}"
    );
    let (greedy, passed) = proxy(Some(100)).await;
    assert!(passed > 50, "the log answered more than asked: {passed}");
    assert!(!greedy[0].bereikbaar && greedy[0].gebruik.is_empty());
    // A `verder` that is not one start per log starts over at the newest.
    assert_eq!(Start::parse_all(Some("12,x"), 2), vec![Start::Newest; 2]);
    assert_eq!(
        Start::parse_all(Some("12,-,"), 3),
        vec![Start::Before(12), Start::Done, Start::Newest]
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Another organisation's log, as the portal must be ready for it: one that answers
/// anything. Whatever it answers, "who used my data" is a page (never a server error,
/// nothing echoed unescaped), and a record is shown as checked exactly when the leaf the
/// portal computes from its text is in a tree whose head the log's key signed.
mod any_log {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use loket_core::merkle::{Hash, leaf_hash, node_hash, record_leaf};
    use loket_core::resident_assertion::AssertionSigner;
    use loket_core::{Bsn, Secret, TraceContext};
    use loket_store::StorageUrl;
    use loket_web::portaal::{Integrity, Inzage, LogSource, Start};
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::{SANNE, world_reading};

    /// What the fake log answers to one of its three reads.
    #[derive(Debug, Clone)]
    struct Reply {
        status: u16,
        body: String,
    }

    impl Reply {
        fn ok(body: &Value) -> Self {
            Self {
                status: 200,
                body: body.to_string(),
            }
        }
    }

    #[derive(Debug, Clone, Default)]
    struct Answers {
        records: Option<Reply>,
        head: Option<Reply>,
        /// By the index asked for; any other index is not found.
        proofs: HashMap<u64, Reply>,
    }

    /// A log's read API that answers what the test set last.
    async fn fake_log(answers: Arc<Mutex<Answers>>) -> String {
        use axum::extract::{Query, State};
        use axum::response::IntoResponse;
        type Shared = State<Arc<Mutex<Answers>>>;
        fn respond(reply: Option<Reply>) -> axum::response::Response {
            let reply = reply.unwrap_or(Reply {
                status: 404,
                body: String::new(),
            });
            (
                axum::http::StatusCode::from_u16(reply.status).unwrap(),
                [("content-type", "application/json")],
                reply.body,
            )
                .into_response()
        }
        let routes = axum::Router::new()
            .route(
                "/lezenapi/v1/processing-activities",
                axum::routing::post(|State(a): Shared| async move {
                    respond(a.lock().unwrap().records.clone())
                }),
            )
            .route(
                "/lezenapi/v1/tree-heads/latest",
                axum::routing::get(|State(a): Shared| async move {
                    respond(a.lock().unwrap().head.clone())
                }),
            )
            .route(
                "/lezenapi/v1/proofs/inclusion",
                axum::routing::get(
                    |State(a): Shared, Query(query): Query<HashMap<String, String>>| async move {
                        let index = query.get("index").and_then(|i| i.parse::<u64>().ok());
                        respond(index.and_then(|i| a.lock().unwrap().proofs.get(&i).cloned()))
                    },
                ),
            )
            .with_state(answers);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, routes).await });
        url
    }

    /// RFC 9162's tree hash of `leaves`.
    fn root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => panic!("no empty trees here"),
            1 => leaves[0],
            n => {
                let k = split(n);
                node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
            }
        }
    }

    /// RFC 9162's audit path for leaf `m`.
    fn path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
        if leaves.len() == 1 {
            return Vec::new();
        }
        let k = split(leaves.len());
        if m < k {
            let mut path = path(m, &leaves[..k]);
            path.push(root(&leaves[k..]));
            path
        } else {
            let mut path = path(m - k, &leaves[k..]);
            path.push(root(&leaves[..k]));
            path
        }
    }

    /// The largest power of two below `n`.
    fn split(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    const NO_SERVICE: [&str; 2] = [
        "ERROR_CODE_SERVICE_NOT_FOUND",
        "ERROR_CODE_SERVICE_UNREACHABLE",
    ];

    /// What a record at one of the tree's positions says.
    #[derive(Debug, Clone)]
    enum Said {
        /// The resident's data was given (shown).
        Used,
        /// An attempt refused with this code (shown unless no service was found).
        Refused(String),
        /// The request's own record (not shown: its answer is).
        Asked,
        /// Not a record at all.
        Garbage(String),
    }

    #[derive(Debug, Clone)]
    struct Entry {
        position: u64,
        expires_at: i64,
        start_time: i64,
        said: Said,
        service: String,
        fields: Vec<String>,
        described: Option<String>,
    }

    impl Entry {
        fn shown(&self) -> bool {
            match &self.said {
                Said::Used => true,
                Said::Refused(code) => !NO_SERVICE.contains(&code.as_str()),
                Said::Asked | Said::Garbage(_) => false,
            }
        }

        /// Its trace id: each entry's own, to find its use by.
        fn trace(&self) -> String {
            format!("{:032x}", self.position + 1)
        }

        fn body(&self) -> String {
            let (name, status, code) = match &self.said {
                Said::Garbage(text) => return text.clone(),
                Said::Used => ("brp-personen antwoord", "Ok", None),
                Said::Refused(code) => ("brp-personen geweigerd", "Error", Some(code)),
                Said::Asked => ("brp-personen verzoek", "Unset", None),
            };
            json!({
                "traceId": self.trace(),
                "name": name,
                "startTime": self.start_time,
                "status": status,
                "attributes": {
                    "dpl.core.processing_activity_id": self.described,
                    "loket.exchange": {
                        "direction": "DIRECTION_INCOMING",
                        "serviceName": self.service,
                        "sourcePeerId": "00000001001234567000",
                        "fields": self.fields,
                        "errorCode": code,
                    }
                }
            })
            .to_string()
        }
    }

    /// How the log departs from the truth.
    #[derive(Debug, Clone)]
    enum Lie {
        None,
        /// One record's text is not the one in the tree.
        Body(usize),
        /// One record claims another position.
        Index(usize, u64),
        /// One record claims another expiry.
        Expiry(usize, i64),
        /// One record's audit path has a bit flipped (or, if empty, a hash too many).
        PathFlipped(usize, usize, u8),
        PathShortened(usize),
        PathLengthened(usize),
        /// One record's proof is anything.
        Proof(usize, Reply),
        /// The head names another root than it signed.
        Root,
        /// The head signs another root: the proofs do not lead to it.
        SignedOtherRoot,
        Signature,
        OtherKey,
        Size(u64),
        /// The tree head is anything.
        Head(Reply),
        /// The records are anything.
        Records(Reply),
        /// More records than asked for.
        TooMany,
    }

    impl Lie {
        /// Is `entry`'s record still checkable?
        fn spares(&self, entry: usize) -> bool {
            match self {
                Lie::None => true,
                Lie::Body(k)
                | Lie::Index(k, _)
                | Lie::Expiry(k, _)
                | Lie::PathFlipped(k, ..)
                | Lie::PathShortened(k)
                | Lie::PathLengthened(k)
                | Lie::Proof(k, _) => *k != entry,
                _ => false,
            }
        }
    }

    #[derive(Debug, Clone)]
    struct Case {
        size: u64,
        entries: Vec<Entry>,
        lie: Lie,
        /// The records' next cursor: a number has the portal read on.
        cursor: String,
        timestamp: i64,
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("brp-personen".to_owned()),
            Just("<script>alert(1)</script>".to_owned()),
            Just(String::new()),
            ".{0,24}",
        ]
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(|f| json!(f)),
            text().prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                proptest::collection::btree_map(
                    prop_oneof![
                        Just("processingActivities".to_owned()),
                        Just("logIndex".to_owned()),
                        Just("integrity".to_owned()),
                        Just("body".to_owned()),
                        Just("expiresAt".to_owned()),
                        Just("treeSize".to_owned()),
                        Just("rootHash".to_owned()),
                        Just("signature".to_owned()),
                        Just("auditPath".to_owned()),
                        "[a-z]{1,5}",
                    ],
                    inner,
                    0..4
                )
                .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    fn reply() -> impl Strategy<Value = Reply> {
        let status = proptest::sample::select(vec![200u16, 200, 200, 204, 400, 404, 500, 503]);
        let body = prop_oneof![
            json_value().prop_map(|v| v.to_string()),
            ".{0,40}",
            Just(String::new()),
            Just("{\"processingActivities\": [{\"logIndex\": -1}]}".to_owned()),
            Just("{\"auditPath\": [\"AAAA\", 7]}".to_owned()),
            Just(
                "{\"treeSize\": 18446744073709551615, \"rootHash\": \"\", \"timestamp\": 0, \"signature\": \"\"}"
                    .to_owned()
            ),
        ];
        (status, body).prop_map(|(status, body)| Reply { status, body })
    }

    fn said() -> impl Strategy<Value = Said> {
        prop_oneof![
            3 => Just(Said::Used),
            2 => prop_oneof![
                Just("ERROR_CODE_GRANT_NOT_FOUND".to_owned()),
                Just("ERROR_CODE_FIELD_NOT_GRANTED".to_owned()),
                Just(NO_SERVICE[0].to_owned()),
                Just(NO_SERVICE[1].to_owned()),
                text(),
            ]
            .prop_map(Said::Refused),
            1 => Just(Said::Asked),
            1 => prop_oneof![json_value().prop_map(|v| v.to_string()), ".{0,20}"]
                .prop_map(Said::Garbage),
        ]
    }

    fn entry(position: u64) -> impl Strategy<Value = Entry> {
        (
            any::<i64>(),
            prop_oneof![Just(1_796_000_000_000i64), any::<i64>()],
            said(),
            text(),
            proptest::collection::vec(text(), 0..3),
            proptest::option::of(text()),
        )
            .prop_map(
                move |(expires_at, start_time, said, service, fields, described)| Entry {
                    position,
                    expires_at,
                    start_time,
                    said,
                    service,
                    fields,
                    described,
                },
            )
    }

    fn lie(entries: usize) -> impl Strategy<Value = Lie> {
        let k = 0..entries.max(1);
        let per_record = prop_oneof![
            k.clone().prop_map(Lie::Body),
            (k.clone(), 1..u64::MAX).prop_map(|(k, by)| Lie::Index(k, by)),
            (k.clone(), 1..i64::MAX).prop_map(|(k, by)| Lie::Expiry(k, by)),
            (k.clone(), any::<usize>(), 0u8..8)
                .prop_map(|(k, at, bit)| Lie::PathFlipped(k, at, bit)),
            k.clone().prop_map(Lie::PathShortened),
            k.clone().prop_map(Lie::PathLengthened),
            (k, reply()).prop_map(|(k, reply)| Lie::Proof(k, reply)),
        ];
        let whole = prop_oneof![
            Just(Lie::Root),
            Just(Lie::SignedOtherRoot),
            Just(Lie::Signature),
            Just(Lie::OtherKey),
            (1..u64::MAX).prop_map(Lie::Size),
            reply().prop_map(Lie::Head),
            reply().prop_map(Lie::Records),
            Just(Lie::TooMany),
        ];
        if entries == 0 {
            prop_oneof![Just(Lie::None), whole].boxed()
        } else {
            prop_oneof![2 => Just(Lie::None), 3 => per_record, 2 => whole].boxed()
        }
    }

    fn case() -> impl Strategy<Value = Case> {
        (1u64..=12)
            .prop_flat_map(|size| {
                let positions: Vec<u64> = (0..size).collect();
                (
                    Just(size),
                    proptest::sample::subsequence(positions, 0..=(size as usize).min(8)),
                )
            })
            .prop_flat_map(|(size, positions)| {
                let entries: Vec<_> = positions.into_iter().map(entry).collect();
                let n = entries.len();
                (
                    Just(size),
                    entries,
                    lie(n),
                    prop_oneof![Just(String::new()), Just("7".to_owned()), "[a-z-]{0,3}"],
                    any::<i64>(),
                )
            })
            .prop_map(|(size, entries, lie, cursor, timestamp)| Case {
                size,
                entries,
                lie,
                cursor,
                timestamp,
            })
    }

    /// The log's answers for `case`, signed with `key` (a lie may sign with `other`).
    fn answers(
        case: &Case,
        key: &ring::signature::Ed25519KeyPair,
        other: &ring::signature::Ed25519KeyPair,
    ) -> Answers {
        let bodies: Vec<String> = case.entries.iter().map(Entry::body).collect();
        let leaves: Vec<Hash> = (0..case.size)
            .map(
                |position| match case.entries.iter().position(|e| e.position == position) {
                    Some(i) => {
                        record_leaf(position, case.entries[i].expires_at, bodies[i].as_bytes())
                    }
                    None => leaf_hash(format!("another subject's record {position}").as_bytes()),
                },
            )
            .collect();
        let true_root = root(&leaves);
        let mut shown_root = true_root;
        let mut signed_root = true_root;
        let mut size = case.size;
        let mut signer = key;
        match &case.lie {
            Lie::Root => shown_root[0] ^= 1,
            Lie::SignedOtherRoot => {
                shown_root[0] ^= 1;
                signed_root = shown_root;
            }
            Lie::OtherKey => signer = other,
            _ => {}
        }
        let mut message = b"loket-logboek tree head v1\n".to_vec();
        message.extend_from_slice(&size.to_be_bytes());
        message.extend_from_slice(&case.timestamp.to_be_bytes());
        message.extend_from_slice(&signed_root);
        let mut signature = signer.sign(&message).as_ref().to_vec();
        match &case.lie {
            Lie::Signature => signature[7] ^= 0x20,
            Lie::Size(by) => size = size.wrapping_add(*by),
            _ => {}
        }
        let head = Reply::ok(&json!({
            "treeSize": size,
            "rootHash": STANDARD.encode(shown_root),
            "timestamp": case.timestamp,
            "signature": STANDARD.encode(signature),
        }));
        let mut proofs: HashMap<u64, Reply> = HashMap::new();
        for position in 0..case.size {
            let mut audit = path(position as usize, &leaves);
            let lied_about = |k: &usize| case.entries.get(*k).map(|e| e.position) == Some(position);
            match &case.lie {
                Lie::PathFlipped(k, at, bit) if lied_about(k) && !audit.is_empty() => {
                    let len = audit.len();
                    audit[at % len][at % 32] ^= 1 << bit;
                }
                Lie::PathShortened(k) if lied_about(k) && !audit.is_empty() => {
                    audit.pop();
                }
                Lie::PathFlipped(k, ..) | Lie::PathShortened(k) | Lie::PathLengthened(k)
                    if lied_about(k) =>
                {
                    audit.push(leaves[0]);
                }
                _ => {}
            }
            let encoded: Vec<String> = audit.iter().map(|h| STANDARD.encode(h)).collect();
            proofs.insert(position, Reply::ok(&json!({ "auditPath": encoded })));
        }
        if let Lie::Proof(k, reply) = &case.lie
            && let Some(entry) = case.entries.get(*k)
        {
            let path_of = |body: &str| {
                serde_json::from_str::<Value>(body)
                    .ok()
                    .and_then(|v| v.get("auditPath").cloned())
            };
            let mut reply = reply.clone();
            // Anything can be the true proof by chance (`{"auditPath": []}` for one leaf).
            if path_of(&reply.body) == path_of(&proofs[&entry.position].body) {
                reply.body = json!({"auditPath": 7}).to_string();
            }
            proofs.insert(entry.position, reply);
        }
        let mut found: Vec<Value> = case
            .entries
            .iter()
            .zip(&bodies)
            .enumerate()
            .map(|(i, (entry, body))| {
                let mut index = entry.position;
                let mut expires_at = entry.expires_at;
                let mut body = body.clone();
                match &case.lie {
                    // The same record to a reader, but not the text the leaf holds.
                    Lie::Body(k) if *k == i => body.push(' '),
                    Lie::Index(k, by) if *k == i => index = index.wrapping_add(*by),
                    Lie::Expiry(k, by) if *k == i => expires_at = expires_at.wrapping_add(*by),
                    _ => {}
                }
                json!({
                    "logIndex": index,
                    "integrity": {"expiresAt": expires_at, "body": body},
                    "verwerkingsactiviteit": entry.described.as_ref().map(|d| json!({
                        "naam": {"nl": d, "en": d},
                        "doel": {"nl": d, "en": d},
                        "grondslag": {"nl": d, "en": d},
                    })),
                })
            })
            .collect();
        if let Lie::TooMany = case.lie {
            let one = json!({"logIndex": 0, "integrity": {"expiresAt": 0, "body": "{}"}});
            found.extend(std::iter::repeat_n(one, 51));
        }
        let mut answers = Answers {
            records: Some(Reply::ok(&json!({
                "processingActivities": found,
                "pagination": {"nextCursor": case.cursor},
            }))),
            head: Some(head),
            proofs,
        };
        match &case.lie {
            Lie::Head(reply) => answers.head = Some(reply.clone()),
            Lie::Records(reply) => answers.records = Some(reply.clone()),
            _ => {}
        }
        answers
    }

    #[test]
    fn a_log_that_answers_anything_breaks_no_page_and_is_believed_only_when_its_proof_checks() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let rng = ring::rand::SystemRandom::new();
        let keys = [(); 2].map(|_| {
            let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
            ring::signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap()
        });
        use ring::signature::KeyPair;
        let shared = Arc::new(Mutex::new(Answers::default()));
        let dir = super::tempfile_dir();
        let (inzage, world, cookie) = runtime.block_on(async {
            let url = fake_log(shared.clone()).await;
            let signer = Arc::new(
                AssertionSigner::from_secret(&Secret::new(
                    "the portal's own secret, long enough".into(),
                ))
                .unwrap(),
            );
            let inzage = Inzage::new(
                vec![LogSource {
                    organisatie: "Een organisatie".to_owned(),
                    url,
                    token: Secret::new("portal-token".into()),
                    public_key: keys[0].public_key().as_ref().to_vec(),
                }],
                signer,
            )
            .unwrap();
            let world =
                world_reading(&StorageUrl::SqliteDir(dir.clone()), true, inzage.clone()).await;
            let cookie = world.log_in(SANNE).await;
            (inzage, world, cookie)
        });
        // Failures are saved (and run first next time) as proptest! does.
        let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
            source_file: Some(file!()),
            ..proptest::test_runner::Config::default()
        });
        let result = runner.run(&case(), |case| {
            *shared.lock().unwrap() = answers(&case, &keys[0], &keys[1]);
            runtime.block_on(async {
                let logs = inzage
                    .about(
                        &Bsn::parse(SANNE).unwrap(),
                        &TraceContext::new_root(),
                        &[Start::Newest],
                    )
                    .await;
                prop_assert_eq!(logs.len(), 1);
                let read = &logs[0];
                let honest_records = !matches!(case.lie, Lie::Records(_) | Lie::TooMany);
                if matches!(case.lie, Lie::TooMany) {
                    prop_assert!(!read.bereikbaar && read.gebruik.is_empty());
                }
                let mut verified = 0;
                for used in &read.gebruik {
                    let entry = case.entries.iter().position(|e| e.trace() == used.trace_id);
                    let believed = honest_records && entry.is_some_and(|k| case.lie.spares(k));
                    prop_assert_eq!(
                        used.integriteit == Integrity::Verified,
                        believed,
                        "{:?} {:?}",
                        used.trace_id,
                        used.integriteit
                    );
                    let certain_failure = matches!(
                        case.lie,
                        Lie::Root
                            | Lie::SignedOtherRoot
                            | Lie::Signature
                            | Lie::OtherKey
                            | Lie::Size(_)
                    ) || matches!(&case.lie,
                        Lie::Body(k) | Lie::Expiry(k, _) | Lie::PathFlipped(k, ..)
                        | Lie::PathShortened(k) | Lie::PathLengthened(k)
                        if entry == Some(*k));
                    if honest_records && certain_failure {
                        prop_assert_eq!(used.integriteit, Integrity::Failed);
                    }
                    verified += usize::from(believed);
                }
                if honest_records {
                    prop_assert!(read.bereikbaar);
                    let shown: Vec<String> = case
                        .entries
                        .iter()
                        .filter(|e| e.shown())
                        .map(Entry::trace)
                        .collect();
                    let mut seen: Vec<String> =
                        read.gebruik.iter().map(|u| u.trace_id.clone()).collect();
                    seen.sort();
                    let mut expected = shown;
                    expected.sort();
                    // Once each, though a log whose cursor does not move gives them again.
                    prop_assert_eq!(seen, expected, "every record shown once");
                }
                let page = world
                    .send("GET", "/wie-gebruikte-mijn-gegevens", Some(&cookie), &[])
                    .await;
                prop_assert_eq!(page.status, 200, "{}", page.body);
                prop_assert!(!page.body.contains("<script>alert(1)</script>"));
                prop_assert_eq!(
                    page.body
                        .matches("Gecontroleerd: staat in het ondertekende logboek")
                        .count(),
                    verified
                );
                Ok(())
            })
        });
        std::fs::remove_dir_all(dir).ok();
        if let Err(failure) = result {
            panic!("{failure}");
        }
    }
}
