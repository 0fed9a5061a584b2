//! The resident's front door: log in, the overview, my data, my cases, the Berichtenbox,
//! applying for a product, who used my data, and contact. Server-rendered forms only;
//! every form carries the session's CSRF token. What a resident may see is decided by
//! the process layer (`loket_zaken::inwoner`): only ever their own.

pub mod error_page;
mod inzage;
mod pages;
pub mod sessies;
pub(crate) mod views;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use loket_core::{Clock, Problem};
use loket_http::ApiError;
use loket_zaken::IdempotencyStore;
use loket_zaken::apply::Applications;
use loket_zaken::inwoner::Inwoner;

pub use self::inzage::{FromLog, Integrity, Inzage, KnownActivity, LogSource, Refusal, Start};
use self::pages::PublicPage;
use self::sessies::{Resident, Session, Sessions};
use crate::cookies::SessionCookie;
use crate::{Lang, PortalSettings};

/// A persona the demo's simulated DigiD offers to log in as.
#[derive(Debug, Clone)]
pub struct DemoPersona {
    pub bsn: String,
    pub naam: String,
    pub nl: String,
    pub en: String,
}

/// The simulated DigiD login. It exists only in demo mode: `new` refuses to make one
/// otherwise, and the portal mounts its routes only when it has one.
#[derive(Debug, Clone)]
pub struct DigidSimulatie {
    personas: Vec<DemoPersona>,
}

#[derive(Debug, thiserror::Error)]
#[error("the simulated DigiD login runs only in demo mode")]
pub struct NotDemo;

impl DigidSimulatie {
    pub fn new(settings: &PortalSettings, personas: Vec<DemoPersona>) -> Result<Self, NotDemo> {
        if settings.demo {
            Ok(Self { personas })
        } else {
            Err(NotDemo)
        }
    }
}

/// What the portal works with.
#[derive(Debug)]
pub struct Portaal {
    pub sessions: Sessions,
    pub inwoner: Inwoner,
    /// Applying needs the way to the registers; without it the portal says so.
    pub applications: Option<Applications>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub inzage: Inzage,
    pub digid: Option<DigidSimulatie>,
    /// The municipality's DigiD broker (production login).
    pub oidc: Option<crate::oidc::Oidc>,
    pub clock: Arc<dyn Clock>,
    /// Mark cookies `Secure` (everywhere except the plain-http demo).
    pub secure_cookies: bool,
}

pub(crate) struct App {
    settings: PortalSettings,
    portaal: Portaal,
}

pub(crate) type AppState = State<Arc<App>>;

pub fn routes(settings: PortalSettings, portaal: Portaal) -> Router {
    let demo = portaal.digid.is_some() && settings.demo;
    let state = Arc::new(App { settings, portaal });
    let mut router = Router::new()
        .route("/", get(pages::start))
        .route("/inloggen", get(pages::login))
        .route("/inloggen/digid", get(pages::oidc_start))
        .route("/inloggen/terug", get(pages::oidc_return))
        .route("/uitloggen", post(pages::logout))
        .route("/overzicht", get(pages::overview))
        .route("/mijn-gegevens", get(pages::my_data))
        .route("/aanvragen", get(pages::products))
        .route(
            "/aanvragen/{product}",
            get(pages::application_form).post(pages::application_check),
        )
        .route(
            "/aanvragen/{product}/wijzigen",
            post(pages::application_change),
        )
        .route(
            "/aanvragen/{product}/versturen",
            post(pages::application_submit).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .route("/zaken", get(pages::cases))
        .route("/zaken/{uuid}", get(pages::case))
        .route("/berichten", get(pages::messages))
        .route("/berichten/voorkeur", post(pages::channel))
        .route("/berichten/{uuid}", get(pages::message))
        .route("/wie-gebruikte-mijn-gegevens", get(pages::processing))
        .route(
            pages::ContactPage::PATH,
            get(pages::public_page::<pages::ContactPage>),
        )
        .route(
            pages::PrivacyPage::PATH,
            get(pages::public_page::<pages::PrivacyPage>),
        )
        .route(
            pages::AccessibilityPage::PATH,
            get(pages::public_page::<pages::AccessibilityPage>),
        )
        .route("/static/loket.css", get(stylesheet));
    if demo {
        router = router.route(
            "/digid-simulatie",
            get(pages::digid_form).post(pages::digid_login),
        );
    }
    router
        .layer(axum::middleware::from_fn_with_state(
            PORTAL_LANGUAGE,
            remember_language,
        ))
        .with_state(state)
}

const STYLESHEET: &str = include_str!("../../static/loket.css");

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

/// Applications may carry files (10 MB each at most): their paths take larger bodies.
pub const UPLOAD_PREFIX: &str = "/aanvragen/";
pub const UPLOAD_LIMIT: usize = 11 * 1024 * 1024;

pub(crate) const SESSION_COOKIE: SessionCookie = SessionCookie {
    bare: "loket_sessie",
    hosted: "__Host-loket_sessie",
    demo_path: "/",
    attributes: "HttpOnly; SameSite=Lax",
};
/// Between leaving for the DigiD broker and coming back: state, nonce and PKCE verifier,
/// sealed. Ten minutes, like the broker's own session for a login.
pub(crate) const LOGIN_COOKIE: SessionCookie = SessionCookie {
    bare: "loket_inloggen",
    hosted: "__Host-loket_inloggen",
    demo_path: "/inloggen",
    attributes: "HttpOnly; SameSite=Lax; Max-Age=600",
};

/// Where a `?lang=` choice is kept. The portal's cookie is for the whole site; the
/// workspace keeps its own under /werkplek, like its session cookie, so a resident's choice
/// on the same host does not change the workspace's language.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LanguageCookie {
    pub(crate) name: &'static str,
    pub(crate) path: &'static str,
}

const PORTAL_LANGUAGE: LanguageCookie = LanguageCookie {
    name: "loket_taal",
    path: "/",
};

impl LanguageCookie {
    /// The language of this request: `?lang=`, else the remembered choice, else the
    /// browser's.
    pub(crate) fn language(self, query_lang: Option<&str>, headers: &HeaderMap) -> Lang {
        let explicit = query_lang.or_else(|| cookie(headers, self.name));
        let accept = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        Lang::choose(explicit, accept)
    }
}

/// A `?lang=` choice is kept in a cookie, so the next page is in the same language.
pub(crate) async fn remember_language(
    State(kept): State<LanguageCookie>,
    request: Request,
    next: Next,
) -> Response {
    let chosen = request
        .uri()
        .query()
        .and_then(|q| url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "lang"))
        .and_then(|(_, v)| match v.as_ref() {
            "nl" => Some(Lang::Nl),
            "en" => Some(Lang::En),
            _ => None,
        });
    let mut response = next.run(request).await;
    if let Some(lang) = chosen {
        let value = format!(
            "{}={}; Path={}; Max-Age=31536000; SameSite=Lax",
            kept.name,
            lang.code(),
            kept.path
        );
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

pub(crate) fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    cookie_up_to(headers, name, 64)
}

/// A cookie's value, if it is there and no longer than `max` characters.
pub(crate) fn cookie_up_to<'h>(headers: &'h HeaderMap, name: &str, max: usize) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty() && value.len() <= max)
}

/// The language of this portal request: `?lang=`, else the remembered choice, else the
/// browser's.
pub(crate) fn language(query_lang: Option<&str>, headers: &HeaderMap) -> Lang {
    PORTAL_LANGUAGE.language(query_lang, headers)
}

pub(crate) fn session_cookie(token: &str, secure: bool) -> HeaderValue {
    SESSION_COOKIE.set(token, secure)
}

pub(crate) fn clear_session_cookie(secure: bool) -> HeaderValue {
    SESSION_COOKIE.clear(secure)
}

impl App {
    /// The request's live session and its token, signed in or not.
    pub(crate) async fn session(
        &self,
        headers: &HeaderMap,
    ) -> Result<Option<(String, Session)>, ApiError> {
        let Some(token) = cookie(headers, SESSION_COOKIE.name(self.portaal.secure_cookies)) else {
            return Ok(None);
        };
        let session = self
            .portaal
            .sessions
            .get(token, self.portaal.clock.now())
            .await
            .map_err(internal)?;
        Ok(session.map(|s| (token.to_owned(), s)))
    }

    /// The signed-in resident, if any, with the session's CSRF token.
    pub(crate) async fn resident(
        &self,
        headers: &HeaderMap,
    ) -> Result<Option<(Resident, String)>, ApiError> {
        Ok(self
            .session(headers)
            .await?
            .and_then(|(_, s)| s.resident.map(|r| (r, s.csrf))))
    }
}

/// A form must carry its session's CSRF token; anything else is refused before it acts.
pub(crate) fn check_csrf(session: &str, form: &str) -> Result<(), ApiError> {
    if crate::werkplek::staff::same_secret(session, form) {
        Ok(())
    } else {
        Err(Problem::new(
            403,
            "csrf",
            "Het formulier is niet geldig. / The form is not valid.",
        )
        .into())
    }
}

// Taken by value so it fits `map_err(internal)`.
#[allow(clippy::needless_pass_by_value)]
pub(crate) fn internal(error: impl std::fmt::Display) -> ApiError {
    tracing::error!(%error, "the portal failed");
    Problem::internal().into()
}

pub(crate) fn see_other(location: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, location.to_owned())],
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use proptest::prelude::*;
    use tower::ServiceExt;

    use super::*;

    proptest! {
        /// Whatever Cookie headers arrive, a cookie's value is the named pair's own,
        /// never empty and never longer than asked; other pairs around it do not matter.
        #[test]
        fn a_cookie_is_read_from_its_own_pair_only(
            noise in proptest::collection::vec("[ -~]{0,30}", 0..4),
            value in "[A-Za-z0-9_-]{0,80}",
            max in 1usize..100,
            first in any::<bool>(),
        ) {
            let pair = format!("loket_test={value}");
            // The noise must not name the cookie itself.
            let noise: Vec<String> = noise.into_iter().map(|n| n.replace("loket_test", "x")).collect();
            let mut lines = noise.clone();
            if first { lines.insert(0, pair) } else { lines.push(pair) }
            let mut headers = HeaderMap::new();
            for line in &lines {
                if let Ok(value) = HeaderValue::from_str(line) {
                    headers.append(header::COOKIE, value);
                }
            }
            let read = cookie_up_to(&headers, "loket_test", max);
            let expected = (!value.is_empty() && value.len() <= max).then_some(value.as_str());
            prop_assert_eq!(read, expected);
            // And from any header at all, nothing longer than asked and nothing empty.
            let mut junk = HeaderMap::new();
            for line in &noise {
                if let Ok(value) = HeaderValue::from_str(line) {
                    junk.append(header::COOKIE, value);
                }
            }
            if let Some(found) = cookie_up_to(&junk, "x", max) {
                prop_assert!(!found.is_empty() && found.len() <= max);
            }
        }
    }

    /// The portal and the workspace share the middleware; the portal's choice stays
    /// site-wide under its own name.
    #[tokio::test]
    async fn the_portal_keeps_its_language_choice_for_the_whole_site() {
        let app = Router::new().route("/", get(|| async { "ok" })).layer(
            axum::middleware::from_fn_with_state(PORTAL_LANGUAGE, remember_language),
        );
        let ask = |uri: &'static str| {
            let app = app.clone();
            async move {
                let request = axum::http::Request::get(uri).body(Body::empty()).unwrap();
                let response = app.oneshot(request).await.unwrap();
                response
                    .headers()
                    .get(header::SET_COOKIE)
                    .map(|v| v.to_str().unwrap().to_owned())
            }
        };
        assert_eq!(
            ask("/?lang=en").await.as_deref(),
            Some("loket_taal=en; Path=/; Max-Age=31536000; SameSite=Lax")
        );
        assert_eq!(ask("/?lang=fr").await, None, "only a language it has");
        assert_eq!(ask("/").await, None);
    }
}
