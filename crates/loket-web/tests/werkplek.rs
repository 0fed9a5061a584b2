//! The employee workspace through its pages, on SQLite and Postgres: signing in (with a
//! new session id), CSRF, roles, deciding with a mandatory reason, signing out everywhere,
//! and the pages in English when asked.

// Tests fail loudly; that is what they are for.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, header};
use loket_core::FixedClock;
use loket_store::{Database, StorageUrl};
use loket_web::werkplek::staff::SCHEMA as STAFF_SCHEMA;
use loket_web::werkplek::{Staff, WerkplekSettings, staff_store, werkplek_routes};
use loket_zaken::bijlage::{Bijlage, Upload};
use loket_zaken::catalogue::Catalogue;
use loket_zaken::werk::{StaffRole, Werk};
use loket_zaken::zaak::{NewRol, NewStatus, NewZaak, Outcome, statustype};
use loket_zaken::{SCHEMA, ZaakStore, zaak_store};
use serde_json::json;
use time::macros::{date, datetime};
use tower::ServiceExt;
use uuid::Uuid;

const NOW: time::OffsetDateTime = datetime!(2026-11-23 10:00 UTC);
const PASSWORD: &str = "correct horse battery";

struct World {
    router: axum::Router,
    zaken: Arc<dyn ZaakStore>,
    staff: Staff,
}

async fn open(url: &StorageUrl) -> World {
    let zaken = zaak_store(&Database::open(url, &SCHEMA).await.unwrap());
    let staff = Staff::new(staff_store(
        &Database::open(url, &STAFF_SCHEMA).await.unwrap(),
    ));
    for (id, role) in [
        ("m.jansen", StaffRole::Behandelaar),
        ("s.bakker", StaffRole::Kcc),
        ("c.devries", StaffRole::Coordinator),
        ("a.smit", StaffRole::Beheerder),
    ] {
        staff
            .add_account(id, &format!("Naam {id}"), PASSWORD, &[role])
            .await
            .unwrap();
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../catalogue");
    let clock = Arc::new(FixedClock::at(NOW));
    let werk = Werk::new(
        zaken.clone(),
        Arc::new(Catalogue::load(&dir).unwrap()),
        clock.clone(),
    );
    let settings = WerkplekSettings {
        municipality: "Gemeente Voorbeeldstad".to_owned(),
        demo: true,
        secure_cookies: true,
    };
    World {
        router: werkplek_routes(staff.clone(), werk, settings, clock, None),
        zaken,
        staff,
    }
}

const LEASE_PDF: &str = "%PDF-1.4 leasecontract AB-12-CD";

struct Answer {
    status: u16,
    location: String,
    cookie: Option<String>,
    /// Every `Set-Cookie` of the response.
    cookies: Vec<String>,
    content_type: String,
    disposition: String,
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
        // A browser sends a form's type with every POST, even of an empty form.
        let body = if method == "GET" {
            Body::empty()
        } else {
            request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            let encoded = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form)
                .finish();
            Body::from(encoded)
        };
        let response = self
            .router
            .clone()
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        let header_text = |name| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        let location = header_text(header::LOCATION).unwrap_or_default();
        let cookie = header_text(header::SET_COOKIE);
        let cookies = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        let content_type = header_text(header::CONTENT_TYPE).unwrap_or_default();
        let disposition = header_text(header::CONTENT_DISPOSITION).unwrap_or_default();
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 22)
            .await
            .unwrap();
        Answer {
            status,
            location,
            cookie,
            cookies,
            content_type,
            disposition,
            body: String::from_utf8(bytes.to_vec()).unwrap(),
        }
    }

    /// Sign in as `id`: the session cookie ("name=token").
    async fn sign_in(&self, id: &str) -> String {
        let form = self.send("GET", "/werkplek/inloggen", None, &[]).await;
        let anonymous = cookie_pair(form.cookie.as_deref().unwrap());
        let csrf = csrf(&form.body);
        let signed_in = self
            .send(
                "POST",
                "/werkplek/inloggen",
                Some(&anonymous),
                &[
                    ("csrf", &csrf),
                    ("gebruikersnaam", id),
                    ("wachtwoord", PASSWORD),
                ],
            )
            .await;
        assert_eq!(signed_in.status, 303, "{}", signed_in.body);
        cookie_pair(signed_in.cookie.as_deref().unwrap())
    }

    async fn csrf_of(&self, cookie: &str, path: &str) -> String {
        csrf(&self.send("GET", path, Some(cookie), &[]).await.body)
    }

    async fn lease_case(&self) -> Uuid {
        let new = NewZaak {
            bronorganisatie: "123456782".to_owned(),
            zaaktype: "bewonersparkeervergunning".to_owned(),
            omschrijving: "Aanvraag".to_owned(),
            registratiedatum: date!(2026 - 11 - 23),
            startdatum: None,
            behandeltermijn_dagen: 3,
            zaakobject: None,
            initiator: Some(NewRol::initiator("999990032")),
            statuses: vec![NewStatus {
                statustype: statustype::ONTVANGEN.to_owned(),
                datum_status_gezet: NOW,
                actor: "Loket (automatisch)".to_owned(),
                toelichting: "Ontvangen".to_owned(),
            }],
            besluit: Some((
                Outcome::Behandelaar,
                json!({
                    "product": "bewonersparkeervergunning", "uitkomst": "behandelaar",
                    "door": "Loket (automatisch)", "regels": [], "tarief": null,
                    "uitleg": {"nl": "Een medewerker beoordeelt uw aanvraag.", "en": "Staff will assess."},
                    "gegevens": [{"naam": "rdw", "bron": "RDW", "dienst": "rdw-voertuigen",
                        "verwerkingsactiviteit": "parkeren", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
                        "span_id": "00f067aa0ba902b7", "waarden": {"kenteken": "AB12CD"}}],
                    "invoer": {}
                }),
            )),
            resultaat: None,
            documenten: vec![
                Bijlage::parse(Upload {
                    naam: "leasedocument".to_owned(),
                    bestandsnaam: "lease contract.pdf".to_owned(),
                    inhoud: LEASE_PDF.as_bytes().to_vec(),
                })
                .unwrap(),
            ],
            audit: None,
            berichten: Vec::new(),
        };
        self.zaken.create(&new, NOW).await.unwrap().uuid
    }
}

fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

fn csrf(html: &str) -> String {
    let start = html.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

async fn signing_in_rotates_the_session_and_wrong_passwords_lock(w: World) {
    let anonymous = w.send("GET", "/werkplek", None, &[]).await;
    assert_eq!(
        (anonymous.status, anonymous.location.as_str()),
        (303, "/werkplek/inloggen")
    );

    let form = w.send("GET", "/werkplek/inloggen", None, &[]).await;
    let set_cookie = form.cookie.clone().unwrap();
    // Bound to this host over HTTPS (`__Host-`: Secure, Path=/, no Domain), so no
    // sibling subdomain can plant a session of its own.
    assert!(
        set_cookie.starts_with("__Host-werkplek_sessie="),
        "{set_cookie}"
    );
    for attribute in ["; HttpOnly", "; SameSite=Strict", "; Secure", "; Path=/;"] {
        assert!(
            set_cookie.contains(attribute),
            "{set_cookie} has {attribute}"
        );
    }
    assert!(!set_cookie.contains("Domain"), "{set_cookie}");
    let before = cookie_pair(&set_cookie);
    let token = csrf(&form.body);
    let forged = w
        .send(
            "POST",
            "/werkplek/inloggen",
            Some(&before),
            &[
                ("csrf", "verzonnen"),
                ("gebruikersnaam", "m.jansen"),
                ("wachtwoord", PASSWORD),
            ],
        )
        .await;
    assert_eq!(forged.status, 403, "a forged form does not sign in");

    let wrong = w
        .send(
            "POST",
            "/werkplek/inloggen",
            Some(&before),
            &[
                ("csrf", &token),
                ("gebruikersnaam", "m.jansen"),
                ("wachtwoord", "fout"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 400);
    assert!(wrong.body.contains("class=\"error-summary\""));
    assert!(
        wrong.body.contains(
            "<a href=\"#gebruikersnaam\">De gebruikersnaam of het wachtwoord klopt niet."
        )
    );

    let after = w.sign_in("m.jansen").await;
    assert_ne!(before, after, "a new session id at sign-in");
    let queue = w.send("GET", "/werkplek", Some(&after), &[]).await;
    assert_eq!(queue.status, 200);
    assert!(queue.body.contains("Werkvoorraad"));
    // The same token under the bare name, as another subdomain could set it: not read.
    let tossed = after.replacen("__Host-", "", 1);
    assert_ne!(tossed, after);
    let planted = w.send("GET", "/werkplek", Some(&tossed), &[]).await;
    assert_eq!(
        planted.status, 303,
        "a cookie without the prefix is no session"
    );
    let old = w.send("GET", "/werkplek", Some(&before), &[]).await;
    assert_eq!(old.status, 303, "the pre-sign-in session is gone");

    // Five wrong passwords lock the account, even for the right one afterwards.
    for _ in 0..5 {
        let form = w.send("GET", "/werkplek/inloggen", None, &[]).await;
        let cookie = cookie_pair(form.cookie.as_deref().unwrap());
        w.send(
            "POST",
            "/werkplek/inloggen",
            Some(&cookie),
            &[
                ("csrf", &csrf(&form.body)),
                ("gebruikersnaam", "s.bakker"),
                ("wachtwoord", "raden"),
            ],
        )
        .await;
    }
    let form = w.send("GET", "/werkplek/inloggen", None, &[]).await;
    let cookie = cookie_pair(form.cookie.as_deref().unwrap());
    let locked = w
        .send(
            "POST",
            "/werkplek/inloggen",
            Some(&cookie),
            &[
                ("csrf", &csrf(&form.body)),
                ("gebruikersnaam", "s.bakker"),
                ("wachtwoord", PASSWORD),
            ],
        )
        .await;
    assert_eq!(locked.status, 400);
    assert!(locked.body.contains("te vaak een verkeerd wachtwoord"));
}

async fn a_handler_decides_with_a_reason_and_kcc_cannot(w: World) {
    let zaak = w.lease_case().await;
    let path = format!("/werkplek/zaken/{zaak}");
    let kcc = w.sign_in("s.bakker").await;
    let page = w.send("GET", &path, Some(&kcc), &[]).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Kentekenregister (RDW)"),
        "the source register is named"
    );
    assert!(
        page.body.contains("4bf92f3577b34da6a3ce929d0e0e4736"),
        "with its trace id"
    );
    assert!(
        !page.body.contains("/besluiten"),
        "no decision form for the KCC"
    );
    let csrf = csrf(&page.body);
    let refused = w
        .send(
            "POST",
            &format!("{path}/besluiten"),
            Some(&kcc),
            &[
                ("csrf", &csrf),
                ("uitkomst", "toegekend"),
                ("reden", "Prima"),
            ],
        )
        .await;
    assert_eq!(refused.status, 403);

    let handler = w.sign_in("m.jansen").await;
    let queue = w
        .send("GET", "/werkplek?termijn=binnenkort", Some(&handler), &[])
        .await;
    assert!(
        queue.body.contains("Binnenkort: nog 3 dagen"),
        "the deadline in words"
    );
    let csrf = w.csrf_of(&handler, &path).await;
    let taken = w
        .send(
            "POST",
            &format!("{path}/oppakken"),
            Some(&handler),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(taken.status, 303);
    let no_reason = w
        .send(
            "POST",
            &format!("{path}/besluiten"),
            Some(&handler),
            &[("csrf", &csrf), ("uitkomst", "afgewezen"), ("reden", "  ")],
        )
        .await;
    assert_eq!(no_reason.status, 400);
    assert!(
        no_reason.body.contains("<a href=\"#reden\">"),
        "the summary links to the field"
    );
    assert!(
        no_reason.body.contains("value=\"afgewezen\" checked"),
        "the choice is kept"
    );
    let decided = w
        .send(
            "POST",
            &format!("{path}/besluiten"),
            Some(&handler),
            &[
                ("csrf", &csrf),
                ("uitkomst", "afgewezen"),
                ("reden", "Er is geen leasecontract meegestuurd."),
            ],
        )
        .await;
    assert_eq!(decided.status, 303, "{}", decided.body);
    let page = w.send("GET", &decided.location, Some(&handler), &[]).await;
    assert!(page.body.contains("Het besluit is genomen."));
    assert!(page.body.contains(
        "<p>U krijgt de bewonersparkeervergunning niet.</p><p>Er is geen leasecontract meegestuurd.</p>"
    ));
    assert!(page.body.contains("binnen 6 weken bezwaar"));
    let trail: Vec<String> = w
        .zaken
        .audit_trail(zaak)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.actie)
        .collect();
    assert!(
        trail.contains(&"opgepakt".to_owned()) && trail.contains(&"besloten".to_owned()),
        "{trail:?}"
    );
}

async fn signing_out_everywhere_ends_every_session(w: World) {
    let laptop = w.sign_in("m.jansen").await;
    let phone = w.sign_in("m.jansen").await;
    let csrf = w.csrf_of(&laptop, "/werkplek").await;
    let out = w
        .send(
            "POST",
            "/werkplek/uitloggen",
            Some(&laptop),
            &[("csrf", &csrf), ("overal", "ja")],
        )
        .await;
    assert_eq!(out.status, 303);
    assert!(out.cookie.unwrap().contains("Max-Age=0"));
    for cookie in [laptop, phone] {
        let after = w.send("GET", "/werkplek", Some(&cookie), &[]).await;
        assert_eq!(after.status, 303, "signed out everywhere");
    }
}

async fn a_handler_suspends_resumes_and_extends_the_term(w: World) {
    let zaak = w.lease_case().await;
    let path = format!("/werkplek/zaken/{zaak}");
    let handler = w.sign_in("m.jansen").await;
    let csrf = w.csrf_of(&handler, &path).await;
    let post = |action: &'static str, fields: Vec<(&'static str, String)>| {
        let mut form = vec![("csrf", csrf.clone())];
        form.extend(fields);
        let path = format!("{path}/{action}");
        let cookie = handler.clone();
        let w = &w;
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            w.send("POST", &path, Some(&cookie), &form).await
        }
    };
    let not_mine = post(
        "opschorten",
        vec![("opschorting_reden", "Wacht".to_owned())],
    )
    .await;
    assert_eq!(not_mine.status, 400, "take the case first");
    assert_eq!(post("oppakken", vec![]).await.status, 303);
    let no_reason = post("opschorten", vec![("opschorting_reden", " ".to_owned())]).await;
    assert_eq!(no_reason.status, 400);
    assert!(no_reason.body.contains("<a href=\"#opschorting_reden\">"));
    let suspended = post(
        "opschorten",
        vec![("opschorting_reden", "Wacht op het leasecontract".to_owned())],
    )
    .await;
    assert_eq!(suspended.status, 303, "{}", suspended.body);
    let page = w
        .send("GET", &suspended.location, Some(&handler), &[])
        .await;
    assert!(
        page.body.contains("Opgeschort sinds"),
        "the deadline in words"
    );
    assert!(page.body.contains("Wacht op het leasecontract"));
    assert!(page.body.contains("/hervatten"), "it can be resumed");
    let resumed = post("hervatten", vec![]).await;
    assert_eq!(resumed.status, 303);
    let too_long = post(
        "verlengen",
        vec![
            ("verlenging_dagen", "999".to_owned()),
            ("verlenging_reden", "Advies".to_owned()),
        ],
    )
    .await;
    assert_eq!(too_long.status, 400);
    assert!(too_long.body.contains("<a href=\"#verlenging_dagen\">"));
    assert!(
        too_long.body.contains("value=\"999\""),
        "what was typed is kept"
    );
    let extended = post(
        "verlengen",
        vec![
            ("verlenging_dagen", "14".to_owned()),
            ("verlenging_reden", "Advies van de RDW nodig".to_owned()),
        ],
    )
    .await;
    assert_eq!(extended.status, 303, "{}", extended.body);
    let page = w.send("GET", &extended.location, Some(&handler), &[]).await;
    assert!(page.body.contains("14 dagen: Advies van de RDW nodig"));
    assert!(!page.body.contains("/verlengen"), "only once");
    let trail: Vec<String> = w
        .zaken
        .audit_trail(zaak)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.actie)
        .filter(|a| a != "bekeken")
        .collect();
    assert_eq!(trail, vec!["opgepakt", "opgeschort", "hervat", "verlengd"]);
}

/// An administrator sees no cases: signed in, the workspace says what the role is for
/// and how to log out, instead of a refusal with no way out; a case stays refused.
async fn an_administrator_sees_no_cases_and_can_log_out(w: World) {
    let zaak = w.lease_case().await;
    let admin = w.sign_in("a.smit").await;
    let home = w.send("GET", "/werkplek", Some(&admin), &[]).await;
    assert_eq!(home.status, 200, "{}", home.body);
    assert!(
        home.body.contains("Geen zaken voor uw rol"),
        "{}",
        home.body
    );
    assert!(!home.body.contains(&zaak.to_string()), "{}", home.body);
    assert!(
        home.body.contains("action=\"/werkplek/uitloggen\""),
        "{}",
        home.body
    );
    let case = w
        .send("GET", &format!("/werkplek/zaken/{zaak}"), Some(&admin), &[])
        .await;
    assert_eq!(case.status, 403);
    let csrf = csrf(&home.body);
    // Nor can it act on a case: every action is refused, and the case is unchanged.
    for actie in ["oppakken", "notitie", "besluiten"] {
        let refused = w
            .send(
                "POST",
                &format!("/werkplek/zaken/{zaak}/{actie}"),
                Some(&admin),
                &[
                    ("csrf", &csrf),
                    ("notitie", "x"),
                    ("uitkomst", "toegekend"),
                    ("reden", "x"),
                ],
            )
            .await;
        assert_eq!(refused.status, 403, "{actie}: {}", refused.body);
    }
    assert!(
        w.zaken
            .get(zaak)
            .await
            .unwrap()
            .unwrap()
            .behandelaar
            .is_none()
    );
    let out = w
        .send(
            "POST",
            "/werkplek/uitloggen",
            Some(&admin),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(out.status, 303);
    let after = w.send("GET", "/werkplek", Some(&admin), &[]).await;
    assert_eq!(after.location, "/werkplek/inloggen");
}

async fn a_handler_reads_the_applicants_file_and_that_is_audited(w: World) {
    let zaak = w.lease_case().await;
    let path = format!("/werkplek/zaken/{zaak}");
    let kcc = w.sign_in("s.bakker").await;
    let page = w.send("GET", &path, Some(&kcc), &[]).await;
    let start = page.body.find("/documenten/").expect("a link to the file");
    let href = format!(
        "/werkplek/zaken/{zaak}{}",
        &page.body[start..start + "/documenten/".len() + 36]
    );
    assert!(page.body.contains("lease contract.pdf"));
    assert!(
        page.body
            .contains("Verklaring van uw werkgever of leasemaatschappij")
    );
    let file = w.send("GET", &href, Some(&kcc), &[]).await;
    assert_eq!(file.status, 200);
    assert_eq!(file.body, LEASE_PDF);
    assert_eq!(file.content_type, "application/pdf");
    assert!(
        file.disposition.starts_with("attachment;"),
        "{}",
        file.disposition
    );
    assert!(
        file.disposition
            .contains("filename*=UTF-8''lease%20contract.pdf")
    );
    let signed_out = w.send("GET", &href, None, &[]).await;
    assert_eq!(signed_out.status, 303, "no file without signing in");
    let other = w.lease_case().await;
    let elsewhere = href.replace(&zaak.to_string(), &other.to_string());
    assert_eq!(w.send("GET", &elsewhere, Some(&kcc), &[]).await.status, 404);
    let trail = w.zaken.audit_trail(zaak).await.unwrap();
    assert!(
        trail
            .iter()
            .any(|a| a.actie == "document bekeken" && a.toelichting == "lease contract.pdf")
    );
}

async fn a_sign_in_at_the_identity_provider_finishes_once_in_its_browser(w: World) {
    let pending = |state: &str| loket_web::oidc::Pending {
        state: state.to_owned(),
        nonce: format!("nonce-{state}"),
        verifier: format!("verifier-{state}"),
    };
    let binding = w.staff.begin_oidc_login(&pending("s1"), NOW).await.unwrap();
    // Another browser (another binding) cannot finish it, and that try uses it up.
    assert!(
        w.staff
            .finish_oidc_login("s1", "andere-browser", NOW)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        w.staff
            .finish_oidc_login("s1", &binding, NOW)
            .await
            .unwrap()
            .is_none()
    );

    let binding = w.staff.begin_oidc_login(&pending("s2"), NOW).await.unwrap();
    let found = w
        .staff
        .finish_oidc_login("s2", &binding, NOW)
        .await
        .unwrap();
    assert_eq!(found, Some(pending("s2")));
    assert!(
        w.staff
            .finish_oidc_login("s2", &binding, NOW)
            .await
            .unwrap()
            .is_none(),
        "once"
    );

    let binding = w.staff.begin_oidc_login(&pending("s3"), NOW).await.unwrap();
    let late = NOW + time::Duration::minutes(11);
    assert!(
        w.staff
            .finish_oidc_login("s3", &binding, late)
            .await
            .unwrap()
            .is_none(),
        "too late"
    );
    assert!(
        w.staff
            .finish_oidc_login("onbekend", &binding, NOW)
            .await
            .unwrap()
            .is_none()
    );

    // The provider vouches for a name: only an active account of that name signs in.
    assert_eq!(
        w.staff
            .vouched_for("m.jansen", NOW)
            .await
            .unwrap()
            .unwrap()
            .id,
        "m.jansen"
    );
    assert!(
        w.staff
            .vouched_for("x.onbekend", NOW)
            .await
            .unwrap()
            .is_none()
    );
}

/// The workspace's language cookie in a response, if it sets one.
fn language_cookie(answer: &Answer) -> Option<&str> {
    answer
        .cookies
        .iter()
        .find(|c| c.starts_with("werkplek_taal="))
        .map(String::as_str)
}

async fn the_workspace_is_in_english_when_asked_and_remembers_it(w: World) {
    let zaak = w.lease_case().await;
    let path = format!("/werkplek/zaken/{zaak}");
    let handler = w.sign_in("m.jansen").await;

    // Dutch is the default, with a way to English.
    let dutch = w.send("GET", "/werkplek", Some(&handler), &[]).await;
    assert_eq!(dutch.status, 200);
    assert!(dutch.body.contains("<html lang=\"nl\">"));
    assert!(dutch.body.contains("<h1>Werkvoorraad</h1>"));
    assert!(
        dutch
            .body
            .contains("href=\"/werkplek?lang=en\" lang=\"en\" hreflang=\"en\"")
    );
    assert!(language_cookie(&dutch).is_none(), "no choice, no cookie");
    // Switching keeps the queue's filters and page.
    let filtered = w
        .send("GET", "/werkplek?mijn=ja", Some(&handler), &[])
        .await;
    assert!(
        filtered
            .body
            .contains("href=\"/werkplek?mijn=ja&#38;lang=en\" lang=\"en\""),
        "{}",
        filtered.body
    );

    let english = w
        .send("GET", "/werkplek?lang=en", Some(&handler), &[])
        .await;
    assert_eq!(english.status, 200);
    assert!(english.body.contains("<html lang=\"en\">"));
    assert!(english.body.contains("<h1>Work queue</h1>"));
    assert!(english.body.contains("Skip to main content"));
    assert!(english.body.contains("Due soon: 3 days left"));
    assert!(english.body.contains(">Log out</button>"));
    assert!(english.body.contains("lang=\"nl\""), "a way back to Dutch");
    assert!(!english.body.contains("Werkvoorraad"), "{}", english.body);
    let kept = language_cookie(&english).expect("the choice is kept");
    assert!(kept.starts_with("werkplek_taal=en;"), "{kept}");
    assert!(
        kept.contains("Path=/werkplek;"),
        "beside the session: {kept}"
    );

    // The next request has no `?lang=`: the cookie keeps the case page in English.
    let remembered = format!("{handler}; {}", cookie_pair(kept));
    let case = w.send("GET", &path, Some(&remembered), &[]).await;
    assert_eq!(case.status, 200);
    assert!(case.body.contains("<html lang=\"en\">"));
    assert!(case.body.contains("<h3 id=\"gegevens\">Data used</h3>"));
    assert!(case.body.contains("Vehicle register (RDW)"));
    assert!(case.body.contains(">Take this case</button>"));
    assert!(!case.body.contains("Gebruikte gegevens"), "{}", case.body);
    assert!(!case.body.contains("Besluit en uitleg"));
    assert!(!case.body.contains("Terug naar de werkvoorraad"));

    // What the workspace says back is in English too: notices and form errors.
    let token = csrf(&case.body);
    let taken = w
        .send(
            "POST",
            &format!("{path}/oppakken"),
            Some(&remembered),
            &[("csrf", &token)],
        )
        .await;
    assert_eq!(taken.status, 303);
    let notice = w.send("GET", &taken.location, Some(&remembered), &[]).await;
    assert!(notice.body.contains("You are now handling this case."));
    assert!(
        notice.body.contains("(m.jansen) — taken"),
        "the audit trail read out"
    );
    let no_reason = w
        .send(
            "POST",
            &format!("{path}/besluiten"),
            Some(&remembered),
            &[("csrf", &token), ("uitkomst", "toegekend"), ("reden", " ")],
        )
        .await;
    assert_eq!(no_reason.status, 400);
    assert!(
        no_reason
            .body
            .contains("<h2 id=\"fouten-titel\">Something went wrong</h2>")
    );
    assert!(
        no_reason
            .body
            .contains("<a href=\"#reden\">Write down the reason for the decision.")
    );

    // Signing in, in English: the page and its errors.
    let language = cookie_pair(kept);
    let login = w
        .send("GET", "/werkplek/inloggen", Some(&language), &[])
        .await;
    assert!(login.body.contains("<h1>Log in to the workspace</h1>"));
    let anonymous = format!(
        "{language}; {}",
        cookie_pair(login.cookie.as_deref().unwrap())
    );
    let wrong = w
        .send(
            "POST",
            "/werkplek/inloggen",
            Some(&anonymous),
            &[
                ("csrf", &csrf(&login.body)),
                ("gebruikersnaam", "m.jansen"),
                ("wachtwoord", "fout"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 400);
    assert!(
        wrong
            .body
            .contains("The username or password is not correct.")
    );

    // Back to Dutch, and a resident's choice in the portal does not change the workspace.
    let back = w
        .send("GET", "/werkplek?lang=nl", Some(&remembered), &[])
        .await;
    assert!(back.body.contains("<h1>Werkvoorraad</h1>"));
    assert!(
        language_cookie(&back)
            .unwrap()
            .starts_with("werkplek_taal=nl;")
    );
    let portal_choice = format!("{handler}; loket_taal=en");
    let still_dutch = w.send("GET", "/werkplek", Some(&portal_choice), &[]).await;
    assert!(still_dutch.body.contains("<html lang=\"nl\">"));
}

/// Everything an action can change about a case, except who looked at it.
async fn snapshot(w: &World, zaak: Uuid) -> String {
    let z = &w.zaken;
    let audit: Vec<_> = z
        .audit_trail(zaak)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.actie != "bekeken")
        .collect();
    format!(
        "{:?}",
        (
            z.get(zaak).await.unwrap(),
            z.statuses(zaak).await.unwrap(),
            z.roles(zaak).await.unwrap(),
            z.result(zaak).await.unwrap(),
            z.notes(zaak).await.unwrap(),
            audit,
            z.unread_messages("999990032").await.unwrap(),
        )
    )
}

/// Whether a form's names or values hold NUL, which no one types and PostgreSQL cannot
/// store: the whole form is refused before anything reads it.
fn has_nul(fields: &[(String, String)]) -> bool {
    fields
        .iter()
        .any(|(name, value)| name.contains('\0') || value.contains('\0'))
}

/// A form refused before its handler ran: a problem (the edge makes it the error page for
/// a browser).
fn assert_refused_as_unreadable(answer: &Answer) {
    assert_eq!(
        answer.content_type, "application/problem+json",
        "{}",
        answer.body
    );
    assert!(answer.body.contains("NUL"), "{}", answer.body);
}

/// An action form as a browser (or someone poking at one) might send it.
#[derive(Debug, Clone)]
struct Post {
    who: usize,
    action: &'static str,
    /// 0: the session's token; 1: another; 2: none.
    csrf: u8,
    fields: Vec<(String, String)>,
}

fn posts() -> impl proptest::strategy::Strategy<Value = Post> {
    use proptest::prelude::*;
    let action = proptest::sample::select(vec![
        "oppakken",
        "toewijzen",
        "besluiten",
        "notitie",
        "opschorten",
        "hervatten",
        "verlengen",
        "weggooien",
    ]);
    let key = prop_oneof![
        proptest::sample::select(vec![
            "uitkomst",
            "reden",
            "notitie",
            "opschorting_reden",
            "verlenging_dagen",
            "verlenging_reden",
            "medewerker",
        ])
        .prop_map(str::to_owned),
        "[a-z_]{1,8}",
    ];
    let value = prop_oneof![
        proptest::sample::select(vec![
            "",
            "   ",
            "toegekend",
            "afgewezen",
            "behandelaar",
            "14",
            "999",
            "-1",
            "m.jansen",
            "s.bakker",
            "c.devries",
            "Wacht op het leasecontract",
            "<script>alert(1)</script>",
        ])
        .prop_map(str::to_owned),
        ".{0,12}",
        Just("x".repeat(6000)),
    ];
    (
        0..3usize,
        action,
        prop_oneof![8 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)],
        proptest::collection::vec((key, value), 0..5),
    )
        .prop_map(|(who, action, csrf, fields)| Post {
            who,
            action,
            csrf,
            fields,
        })
}

/// Whatever an employee's browser posts to act on a case, the case changes wholly or
/// not at all: a change goes back to the case with a confirmation, a refusal names what
/// was wrong in an error summary (echoing nothing unescaped), and nothing is a server
/// error.
async fn any_action_form_changes_the_case_wholly_or_not_at_all(w: World) {
    use proptest::strategy::{Strategy, ValueTree};
    let mut sessions = Vec::new();
    for id in ["m.jansen", "s.bakker", "c.devries"] {
        let cookie = w.sign_in(id).await;
        let csrf = w.csrf_of(&cookie, "/werkplek").await;
        sessions.push((cookie, csrf));
    }
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = posts();
    let mut cases = [w.lease_case().await, w.lease_case().await];
    let mut outcomes = std::collections::BTreeMap::new();
    for round in 0..160 {
        let post = strategy.new_tree(&mut runner).unwrap().current();
        let zaak = cases[round % cases.len()];
        let (cookie, csrf) = &sessions[post.who];
        let mut form: Vec<(&str, &str)> = match post.csrf {
            0 => vec![("csrf", csrf.as_str())],
            1 => vec![("csrf", "een-ander-token")],
            _ => vec![],
        };
        form.extend(post.fields.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let before = snapshot(&w, zaak).await;
        let path = format!("/werkplek/zaken/{zaak}/{}", post.action);
        let answer = w.send("POST", &path, Some(cookie), &form).await;
        let changed = snapshot(&w, zaak).await != before;
        let context = format!("{post:?} → {} {}", answer.status, answer.location);
        match answer.status {
            303 => {
                assert!(changed, "{context}");
                assert_eq!(
                    answer.location,
                    format!("/werkplek/zaken/{zaak}?gedaan={}#melding", post.action),
                    "{context}"
                );
            }
            400 if has_nul(&post.fields) => {
                assert!(!changed, "{context}");
                assert_refused_as_unreadable(&answer);
            }
            400 | 409 => {
                assert!(!changed, "{context}");
                assert!(answer.body.contains("class=\"error-summary\""), "{context}");
                assert!(answer.body.contains("<a href=\"#"), "{context}");
            }
            403 | 404 => assert!(!changed, "{context}"),
            _ => panic!("{context}: {}", answer.body),
        }
        assert!(
            !answer.body.contains("<script>alert(1)</script>"),
            "{context}"
        );
        if has_nul(&post.fields) {
            assert_eq!(answer.status, 400, "NUL is refused first: {context}");
        } else if post.csrf != 0 {
            assert_eq!(
                answer.status, 403,
                "no change without the form's token: {context}"
            );
        } else if post.action == "weggooien" {
            assert_eq!(answer.status, 404, "{context}");
        }
        *outcomes.entry(answer.status).or_insert(0) += 1;
        // A decided case takes no more actions; keep some open ones to act on.
        if w.zaken
            .get(zaak)
            .await
            .unwrap()
            .unwrap()
            .einddatum
            .is_some()
        {
            cases[round % 2] = w.lease_case().await;
        }
    }
    for status in [303, 400, 403, 404] {
        assert!(outcomes.contains_key(&status), "{outcomes:?}");
    }
}

/// A sign-in form as a browser (or someone guessing) might send it.
#[derive(Debug, Clone)]
struct SignIn {
    /// 0: the form's token; 1: another; 2: none.
    csrf: u8,
    name: String,
    password: String,
    extra: Option<(String, String)>,
}

fn sign_ins() -> impl proptest::strategy::Strategy<Value = SignIn> {
    use proptest::prelude::*;
    let name = prop_oneof![
        3 => proptest::sample::select(vec!["m.jansen", " m.jansen ", "s.bakker", "c.devries"])
            .prop_map(str::to_owned),
        1 => proptest::sample::select(vec!["", "  ", "M.JANSEN", "x.onbekend", "m.jansen%", "m.jansen' OR '1'='1"])
            .prop_map(str::to_owned),
        1 => ".{0,16}",
    ];
    let password = prop_oneof![
        1 => Just(PASSWORD.to_owned()),
        2 => proptest::sample::select(vec!["", " ", "correct horse", "correct horse battery ", "CORRECT HORSE BATTERY"])
            .prop_map(str::to_owned),
        1 => ".{0,24}",
    ];
    let extra = proptest::option::of(("[a-z]{1,8}", ".{0,8}"));
    (
        prop_oneof![8 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)],
        name,
        password,
        extra,
    )
        .prop_map(|(csrf, name, password, extra)| SignIn {
            csrf,
            name,
            password,
            extra,
        })
}

/// Whatever a sign-in form holds, only an account's own name and password (and the
/// form's token) sign in, five wrong passwords in a row lock that account, and every
/// refusal is an error summary or a refused form: never a server error.
async fn only_the_right_password_signs_in_whatever_the_form_holds(w: World) {
    use proptest::strategy::{Strategy, ValueTree};
    let accounts = ["m.jansen", "s.bakker", "c.devries"];
    let mut failures: std::collections::HashMap<&str, i64> = std::collections::HashMap::new();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = sign_ins();
    let mut outcomes = std::collections::BTreeMap::new();
    let mut refused_while_locked = 0;
    for _ in 0..100 {
        let attempt = strategy.new_tree(&mut runner).unwrap().current();
        let page = w.send("GET", "/werkplek/inloggen", None, &[]).await;
        let cookie = cookie_pair(page.cookie.as_deref().unwrap());
        let token = csrf(&page.body);
        let mut form: Vec<(&str, &str)> = match attempt.csrf {
            0 => vec![("csrf", token.as_str())],
            1 => vec![("csrf", "een-ander-token")],
            _ => vec![],
        };
        form.push(("gebruikersnaam", &attempt.name));
        form.push(("wachtwoord", &attempt.password));
        if let Some((key, value)) = &attempt.extra {
            form.push((key, value));
        }
        let answer = w
            .send("POST", "/werkplek/inloggen", Some(&cookie), &form)
            .await;
        let context = format!("{attempt:?} → {}", answer.status);
        let name = attempt.name.trim();
        let account = accounts.iter().copied().find(|a| *a == name);
        let locked = account.is_some_and(|a| failures.get(a).copied().unwrap_or(0) >= 5);
        let fields = [
            (attempt.name.clone(), attempt.password.clone()),
            attempt.extra.clone().unwrap_or_default(),
        ];
        let expected = if has_nul(&fields) {
            400
        } else if attempt.csrf != 0 {
            403
        } else if name.is_empty() || attempt.password.is_empty() {
            400
        } else if locked {
            refused_while_locked += 1;
            400
        } else if account.is_some() && attempt.password == PASSWORD {
            303
        } else {
            if let Some(account) = account {
                *failures.entry(account).or_insert(0) += 1;
            }
            400
        };
        assert_eq!(answer.status, expected, "{context}: {}", answer.body);
        match answer.status {
            303 => {
                failures.remove(account.unwrap());
                let session = cookie_pair(answer.cookie.as_deref().unwrap());
                let queue = w.send("GET", "/werkplek", Some(&session), &[]).await;
                assert_eq!(queue.status, 200, "{context}");
                assert!(
                    queue.body.contains(&format!("Naam {}", account.unwrap())),
                    "signed in as that account: {context}"
                );
            }
            400 if has_nul(&fields) => assert_refused_as_unreadable(&answer),
            400 => {
                assert!(answer.body.contains("class=\"error-summary\""), "{context}");
                let queue = w.send("GET", "/werkplek", Some(&cookie), &[]).await;
                assert_eq!(queue.status, 303, "not signed in: {context}");
            }
            _ => {}
        }
        *outcomes.entry(answer.status).or_insert(0) += 1;
    }
    for status in [303, 400, 403] {
        assert!(outcomes.contains_key(&status), "{outcomes:?}");
    }
    assert!(refused_while_locked > 0, "a lock was reached");
}

/// No query string breaks a workspace page: each answers as it does without one, or with
/// 400 for a query it cannot read; never a server error, nothing echoed unescaped.
async fn no_query_string_breaks_a_workspace_page(w: World) {
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    let zaak = w.lease_case().await;
    let cookie = w.sign_in("c.devries").await;
    let pages = [
        "/werkplek".to_owned(),
        "/werkplek/inloggen".to_owned(),
        format!("/werkplek/zaken/{zaak}"),
    ];
    let mut baseline = Vec::new();
    for page in &pages {
        baseline.push(w.send("GET", page, Some(&cookie), &[]).await.status);
    }
    assert!(baseline.iter().all(|s| *s < 500), "{baseline:?}");
    let key = prop_oneof![
        proptest::sample::select(vec![
            "lang",
            "product",
            "status",
            "termijn",
            "mijn",
            "pagina",
            "gedaan",
            "uitgelogd",
        ])
        .prop_map(str::to_owned),
        "[a-z_]{1,6}",
    ];
    let value = prop_oneof![
        proptest::sample::select(vec![
            "",
            "en",
            "xx",
            "0",
            "-1",
            "4294967296",
            "%00",
            "%ZZ",
            "binnenkort",
            "verlopen",
            "ja",
            "bewonersparkeervergunning",
            "besluiten",
            "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        ])
        .prop_map(str::to_owned),
        Just("9".repeat(3000)),
        "[a-zA-Z0-9,._~-]{0,12}",
    ];
    let strategy = proptest::collection::vec((key, value), 0..4);
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut refused = 0;
    for round in 0..150 {
        let pairs = strategy.new_tree(&mut runner).unwrap().current();
        let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let index = round % pages.len();
        let path = format!("{}?{}", pages[index], query.join("&"));
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

/// The periodic sweep removes exactly the sessions that timed out: a sign-in form nobody
/// used (every visit to it makes one) and a session nobody came back to.
async fn expired_workspace_sessions_are_swept(w: World) {
    let start = time::OffsetDateTime::now_utc();
    let minutes = |n| time::Duration::minutes(n);
    let (form, _) = w.staff.start_session(None, start).await.unwrap();
    let (worker, _) = w
        .staff
        .start_session(Some("m.jansen"), start)
        .await
        .unwrap();
    assert_eq!(
        w.staff.sweep_sessions(start + minutes(29)).await.unwrap(),
        0
    );
    assert!(
        w.staff
            .session(&worker, start + minutes(29))
            .await
            .unwrap()
            .is_some()
    );
    // The form's session idles past 30 minutes; the one just used does not.
    assert_eq!(
        w.staff.sweep_sessions(start + minutes(31)).await.unwrap(),
        1
    );
    assert!(
        w.staff
            .session(&form, start + minutes(31))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        w.staff
            .session(&worker, start + minutes(31))
            .await
            .unwrap()
            .is_some()
    );
    // Left alone, that one goes too.
    assert_eq!(
        w.staff
            .sweep_sessions(start + minutes(10 * 60))
            .await
            .unwrap(),
        1
    );
    assert!(
        w.staff
            .session(&worker, start + minutes(10 * 60 - 1))
            .await
            .unwrap()
            .is_none()
    );

    // Used every 20 minutes, never idle for long, but 10 hours old: gone all the same.
    let (busy, _) = w
        .staff
        .start_session(Some("m.jansen"), start)
        .await
        .unwrap();
    for step in 1..30 {
        let at = start + minutes(20 * step);
        assert!(
            w.staff.session(&busy, at).await.unwrap().is_some(),
            "{step}"
        );
    }
    assert_eq!(
        w.staff
            .sweep_sessions(start + minutes(10 * 60))
            .await
            .unwrap(),
        1,
        "ten hours at most"
    );
}

loket_store::contract_suite! {
    open = open;
    tests = [
        signing_in_rotates_the_session_and_wrong_passwords_lock,
        a_handler_decides_with_a_reason_and_kcc_cannot,
        signing_out_everywhere_ends_every_session,
        a_handler_suspends_resumes_and_extends_the_term,
        a_handler_reads_the_applicants_file_and_that_is_audited,
        an_administrator_sees_no_cases_and_can_log_out,
        a_sign_in_at_the_identity_provider_finishes_once_in_its_browser,
        the_workspace_is_in_english_when_asked_and_remembers_it,
        any_action_form_changes_the_case_wholly_or_not_at_all,
        only_the_right_password_signs_in_whatever_the_form_holds,
        no_query_string_breaks_a_workspace_page,
        expired_workspace_sessions_are_swept,
    ];
}
