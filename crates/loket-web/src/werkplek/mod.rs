//! The employee workspace (werkplek): sign in, the work queue, a case file with its
//! decision trace and the data used, and the actions on it. Server-rendered forms only;
//! every form carries the session's CSRF token. What an employee may do is decided by the
//! process layer (`loket_zaken::werk`); this module only shows and asks.

pub mod error_page;
mod session;
pub mod staff;
mod views;

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use loket_core::{Clock, Problem};
use loket_http::{ApiError, ApiQuery, FormInput, RequestTrace};

use crate::Lang;
use crate::oidc::Oidc;
use crate::portaal::{LanguageCookie, remember_language};
use loket_zaken::werk::{Action, Medewerker, QueueFilter, Werk, WerkError};
use loket_zaken::zaak::Outcome;
use serde::Deserialize;
use std::collections::HashMap;
use uuid::Uuid;

#[cfg(test)]
pub(crate) use self::session::SESSION_COOKIE;
use self::session::{SignedIn, clear_cookie, session_cookie};
pub use self::staff::{Staff, StaffStore, staff_store};
use self::views::{CaseView, FieldError, Layout, QueueView};
use crate::cookies::SessionCookie;

const STYLESHEET: &str = include_str!("../../static/loket.css");

/// What the workspace needs to know about where it runs.
#[derive(Debug, Clone)]
pub struct WerkplekSettings {
    pub municipality: String,
    pub demo: bool,
    /// Mark the session cookie `Secure` (everywhere except the plain-http demo).
    pub secure_cookies: bool,
}

#[derive(Debug)]
struct Werkplek {
    staff: Staff,
    werk: Werk,
    settings: WerkplekSettings,
    clock: Arc<dyn Clock>,
    /// The municipality's identity provider, when staff sign in there.
    oidc: Option<Oidc>,
}

pub fn werkplek_routes(
    staff: Staff,
    werk: Werk,
    settings: WerkplekSettings,
    clock: Arc<dyn Clock>,
    oidc: Option<Oidc>,
) -> Router {
    let state = Arc::new(Werkplek {
        staff,
        werk,
        settings,
        clock,
        oidc,
    });
    Router::new()
        .route(
            "/",
            get(|| async { axum::response::Redirect::to("/werkplek") }),
        )
        .route("/werkplek", get(queue))
        .route("/werkplek/inloggen", get(login_form).post(login))
        .route("/werkplek/inloggen/oidc", get(oidc_start))
        .route("/werkplek/inloggen/terug", get(oidc_return))
        .route("/werkplek/uitloggen", post(logout))
        .route("/werkplek/zaken/{uuid}", get(case))
        .route("/werkplek/zaken/{uuid}/{actie}", post(act))
        .route(
            "/werkplek/zaken/{uuid}/documenten/{document}",
            get(document),
        )
        .route("/werkplek/static/loket.css", get(stylesheet))
        .layer(axum::middleware::from_fn_with_state(
            LANGUAGE,
            remember_language,
        ))
        .with_state(state)
}

/// The workspace's language choice lives beside its session cookie, under /werkplek.
const LANGUAGE: LanguageCookie = LanguageCookie {
    name: "werkplek_taal",
    path: "/werkplek",
};

/// The language of this request: `?lang=`, else the remembered choice, else the browser's.
fn language(query_lang: Option<&str>, headers: &HeaderMap) -> Lang {
    LANGUAGE.language(query_lang, headers)
}

type App = State<Arc<Werkplek>>;

impl Werkplek {
    /// The signed-in employee making this request, if any.
    async fn signed_in(&self, headers: &HeaderMap) -> Result<Option<SignedIn>, ApiError> {
        SignedIn::from_headers(
            &self.staff,
            headers,
            self.settings.secure_cookies,
            self.clock.now(),
        )
        .await
        .map_err(internal)
    }
}

/// A form must carry its session's CSRF token; anything else is refused before it acts.
fn check_csrf(session: &str, form: &str, lang: Lang) -> Result<(), ApiError> {
    if staff::same_secret(session, form) {
        Ok(())
    } else {
        let title = lang.pick("Het formulier is niet geldig.", "The form is not valid.");
        Err(Problem::new(403, "csrf", title).into())
    }
}

fn render<T: Template>(page: &T) -> Result<Html<String>, ApiError> {
    page.render().map(Html).map_err(|error| {
        tracing::error!(%error, "template failed");
        ApiError::from(Problem::internal())
    })
}

// Taken by value so it fits `map_err(internal)`.
#[allow(clippy::needless_pass_by_value)]
fn internal(error: impl std::fmt::Display) -> ApiError {
    tracing::error!(%error, "the workspace failed");
    Problem::internal().into()
}

fn see_other(location: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(axum::http::header::LOCATION, location.to_owned())],
    )
        .into_response()
}

async fn stylesheet() -> Response {
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (axum::http::header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

#[derive(Template)]
#[template(path = "werkplek/login.html")]
struct LoginPage<'a> {
    layout: Layout<'a>,
    errors: Vec<FieldError>,
    gebruikersnaam: String,
    notice: Option<&'static str>,
    oidc: bool,
}

impl LoginPage<'_> {
    fn error_for(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

fn error_for<'e>(errors: &'e [FieldError], field: &str) -> Option<&'e str> {
    errors.iter().find(|e| e.field == field).map(|e| e.message)
}

#[derive(Debug, Deserialize)]
struct LoginQuery {
    lang: Option<String>,
    uitgelogd: Option<String>,
}

async fn login_form(
    State(app): App,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<LoginQuery>,
) -> Result<Response, ApiError> {
    if app.signed_in(&headers).await?.is_some() {
        return Ok(see_other("/werkplek"));
    }
    let lang = language(query.lang.as_deref(), &headers);
    let notice = query
        .uitgelogd
        .map(|_| lang.pick("U bent uitgelogd.", "You have logged out."));
    fresh_login_page(
        &app,
        Vec::new(),
        String::new(),
        notice,
        lang,
        StatusCode::OK,
    )
    .await
}

/// The sign-in form in a new anonymous session (its CSRF token protects the form).
async fn fresh_login_page(
    app: &Werkplek,
    errors: Vec<FieldError>,
    gebruikersnaam: String,
    notice: Option<&'static str>,
    lang: Lang,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let (token, session) = app
        .staff
        .start_session(None, app.clock.now())
        .await
        .map_err(internal)?;
    let page = LoginPage {
        layout: Layout::new(
            &app.settings,
            None,
            &session.csrf,
            lang,
            "/werkplek/inloggen",
        ),
        errors,
        gebruikersnaam,
        notice,
        oidc: app.oidc.is_some(),
    };
    let html = render(&page)?;
    Ok((
        status,
        [session_cookie(&token, app.settings.secure_cookies)],
        html,
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    gebruikersnaam: String,
    #[serde(default)]
    wachtwoord: String,
}

async fn login(
    State(app): App,
    headers: HeaderMap,
    FormInput(form): FormInput<LoginForm>,
) -> Result<Response, ApiError> {
    let now = app.clock.now();
    let lang = language(None, &headers);
    let anonymous = session::current(&app.staff, &headers, app.settings.secure_cookies, now)
        .await
        .map_err(internal)?;
    let Some((old_token, session)) = anonymous else {
        let errors = vec![FieldError::new(
            "gebruikersnaam",
            lang.pick(
                "Deze pagina was verlopen. Log opnieuw in.",
                "This page had expired. Please log in again.",
            ),
        )];
        return fresh_login_page(
            &app,
            errors,
            form.gebruikersnaam,
            None,
            lang,
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    check_csrf(&session.csrf, &form.csrf, lang)?;
    let mut errors = Vec::new();
    let name = form.gebruikersnaam.trim().to_owned();
    if name.is_empty() {
        errors.push(FieldError::new(
            "gebruikersnaam",
            lang.pick("Vul uw gebruikersnaam in.", "Enter your username."),
        ));
    }
    if form.wachtwoord.is_empty() {
        errors.push(FieldError::new(
            "wachtwoord",
            lang.pick("Vul uw wachtwoord in.", "Enter your password."),
        ));
    }
    if errors.is_empty() {
        match app.staff.verify(&name, &form.wachtwoord, now).await {
            Ok(medewerker) => return signed_in(&app, Some(&old_token), &medewerker, now).await,
            Err(staff::LoginError::Wrong) => errors.push(FieldError::new(
                "gebruikersnaam",
                lang.pick(
                    "De gebruikersnaam of het wachtwoord klopt niet.",
                    "The username or password is not correct.",
                ),
            )),
            Err(staff::LoginError::Locked) => errors.push(FieldError::new(
                "gebruikersnaam",
                lang.pick(
                    "Er is te vaak een verkeerd wachtwoord gebruikt. Probeer het over 15 minuten opnieuw.",
                    "A wrong password was used too many times. Please try again in 15 minutes.",
                ),
            )),
            Err(staff::LoginError::Store(error)) => return Err(internal(error)),
        }
    }
    app.staff.end_session(&old_token).await.map_err(internal)?;
    fresh_login_page(&app, errors, name, None, lang, StatusCode::BAD_REQUEST).await
}

/// The cookie that binds a sign-in at the identity provider to this browser (Lax: it
/// must come along on the provider's redirect back).
pub(crate) const LOGIN_COOKIE: SessionCookie = SessionCookie {
    bare: "werkplek_inloggen",
    hosted: "__Host-werkplek_inloggen",
    demo_path: "/werkplek/inloggen",
    attributes: "HttpOnly; SameSite=Lax; Max-Age=600",
};

/// Off to the identity provider.
async fn oidc_start(
    State(app): App,
    headers: HeaderMap,
    RequestTrace(trace): RequestTrace,
) -> Result<Response, ApiError> {
    let Some(oidc) = &app.oidc else {
        return Err(Problem::not_found().into());
    };
    let (url, pending) = oidc.start(&trace).await.map_err(|error| {
        tracing::warn!(%error, "cannot start a sign-in at the identity provider");
        let title = language(None, &headers).pick(
            "Inloggen met uw gemeente-account lukt nu niet. Gebruik uw wachtwoord of probeer het later.",
            "Logging in with your municipality account is not possible right now. Use your password or try again later.",
        );
        ApiError::from(Problem::new(503, "idp-unavailable", title))
    })?;
    let binding = app
        .staff
        .begin_oidc_login(&pending, app.clock.now())
        .await
        .map_err(internal)?;
    let mut response = see_other(&url);
    response.headers_mut().insert(
        header::SET_COOKIE,
        LOGIN_COOKIE.set(&binding, app.settings.secure_cookies),
    );
    Ok(response)
}

#[derive(Debug, Deserialize)]
struct ReturnQuery {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
}

/// Back from the identity provider: the sign-in this browser started, a valid ID token,
/// and an active account of the name it vouches for; then a new session.
async fn oidc_return(
    State(app): App,
    headers: HeaderMap,
    RequestTrace(trace): RequestTrace,
    ApiQuery(back): ApiQuery<ReturnQuery>,
) -> Result<Response, ApiError> {
    let Some(oidc) = &app.oidc else {
        return Err(Problem::not_found().into());
    };
    let now = app.clock.now();
    let state = back.state.as_deref().unwrap_or_default();
    let binding = session::cookie_value(&headers, LOGIN_COOKIE.name(app.settings.secure_cookies))
        .unwrap_or_default();
    let pending = app
        .staff
        .finish_oidc_login(state, binding, now)
        .await
        .map_err(internal)?;
    let callback = crate::oidc::Callback {
        state,
        code: back.code.as_deref(),
        error: back.error.as_deref(),
    };
    let claims = match pending {
        Some(pending) => oidc.finish(&pending, &callback, &trace, now).await.ok(),
        None => None,
    };
    let account = claims
        .as_ref()
        .and_then(|c| c.get(&oidc.settings().claim))
        .and_then(|v| v.as_str());
    let medewerker = match account {
        Some(id) => app.staff.vouched_for(id, now).await.map_err(internal)?,
        None => None,
    };
    let Some(medewerker) = medewerker else {
        let lang = language(None, &headers);
        let errors = vec![FieldError::new(
            "gebruikersnaam",
            lang.pick(
                "Inloggen met uw gemeente-account is niet gelukt, of u hebt geen account op de werkplek. Probeer het opnieuw of vraag de beheerder.",
                "Logging in with your municipality account did not work, or you have no account for the workspace. Please try again or ask the administrator.",
            ),
        )];
        let mut page = fresh_login_page(
            &app,
            errors,
            String::new(),
            None,
            lang,
            StatusCode::BAD_REQUEST,
        )
        .await?;
        page.headers_mut().append(
            header::SET_COOKIE,
            LOGIN_COOKIE.clear(app.settings.secure_cookies),
        );
        return Ok(page);
    };
    let old = session::current(&app.staff, &headers, app.settings.secure_cookies, now)
        .await
        .map_err(internal)?
        .map(|(token, _)| token);
    // The sign-in is used up (its row is gone): its cookie goes too.
    let mut response = signed_in(&app, old.as_deref(), &medewerker, now).await?;
    response.headers_mut().append(
        header::SET_COOKIE,
        LOGIN_COOKIE.clear(app.settings.secure_cookies),
    );
    Ok(response)
}

/// Signed in: a new session id (a token seen before it is worth nothing after), and on to
/// the work queue.
async fn signed_in(
    app: &Werkplek,
    old_token: Option<&str>,
    medewerker: &Medewerker,
    now: time::OffsetDateTime,
) -> Result<Response, ApiError> {
    if let Some(old) = old_token {
        app.staff.end_session(old).await.map_err(internal)?;
    }
    let (token, _) = app
        .staff
        .start_session(Some(&medewerker.id), now)
        .await
        .map_err(internal)?;
    let mut response = see_other("/werkplek");
    response.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(&token, app.settings.secure_cookies).1,
    );
    Ok(response)
}

#[derive(Debug, Deserialize)]
struct LogoutForm {
    #[serde(default)]
    csrf: String,
    overal: Option<String>,
}

async fn logout(
    State(app): App,
    headers: HeaderMap,
    FormInput(form): FormInput<LogoutForm>,
) -> Result<Response, ApiError> {
    let now = app.clock.now();
    if let Some((token, session)) =
        session::current(&app.staff, &headers, app.settings.secure_cookies, now)
            .await
            .map_err(internal)?
    {
        check_csrf(&session.csrf, &form.csrf, language(None, &headers))?;
        app.staff.end_session(&token).await.map_err(internal)?;
        if let Some(id) = &session.medewerker {
            if form.overal.is_some() {
                app.staff
                    .sign_out_everywhere(id, now)
                    .await
                    .map_err(internal)?;
            } else {
                app.staff
                    .audit(id, "uitgelogd", now)
                    .await
                    .map_err(internal)?;
            }
        }
    }
    let mut response = see_other("/werkplek/inloggen?uitgelogd=1");
    response.headers_mut().insert(
        axum::http::header::SET_COOKIE,
        clear_cookie(app.settings.secure_cookies),
    );
    Ok(response)
}

#[derive(Template)]
#[template(path = "werkplek/queue.html")]
struct QueuePage<'a> {
    layout: Layout<'a>,
    view: QueueView,
}

/// Where an employee who may see no cases (an administrator) lands: not a refusal
/// without a way out, but what the role is for, with the header's log-out buttons.
#[derive(Template)]
#[template(path = "werkplek/no_cases.html")]
struct NoCasesPage<'a> {
    layout: Layout<'a>,
}

#[derive(Debug, Default, Deserialize)]
struct QueueQuery {
    lang: Option<String>,
    product: Option<String>,
    status: Option<String>,
    termijn: Option<String>,
    mijn: Option<String>,
    pagina: Option<String>,
}

async fn queue(
    State(app): App,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<QueueQuery>,
) -> Result<Response, ApiError> {
    let Some(me) = app.signed_in(&headers).await? else {
        return Ok(see_other("/werkplek/inloggen"));
    };
    let lang = language(query.lang.as_deref(), &headers);
    if !me.medewerker.may(Action::View) {
        let layout = Layout::new(
            &app.settings,
            Some(&me.medewerker),
            &me.session.csrf,
            lang,
            "/werkplek",
        );
        return Ok(render(&NoCasesPage { layout })?.into_response());
    }
    let filter = QueueFilter {
        zaaktype: query.product.clone().filter(|p| !p.is_empty()),
        status: query.status.clone().filter(|s| !s.is_empty()),
        deadline: views::deadline_filter(query.termijn.as_deref()),
        mine: query.mijn.is_some(),
        page: query
            .pagina
            .as_deref()
            .and_then(|p| p.parse().ok())
            .unwrap_or(1)
            .max(1),
    };
    let page = match app.werk.queue(&me.medewerker, &filter).await {
        Ok(page) => page,
        Err(error) => return Err(werk_error(error, lang)),
    };
    let view = QueueView::new(&app.werk, &filter, &page, lang);
    let html = render(&QueuePage {
        layout: Layout::new(
            &app.settings,
            Some(&me.medewerker),
            &me.session.csrf,
            lang,
            &view.here,
        ),
        view,
    })?;
    Ok(html.into_response())
}

fn werk_error(error: WerkError, lang: Lang) -> ApiError {
    match error {
        WerkError::NotFound => Problem::not_found().into(),
        WerkError::Forbidden => {
            let title = lang.pick(
                "Dit mag u met uw rol niet doen.",
                "Your role does not allow you to do this.",
            );
            Problem::new(403, "forbidden", title).into()
        }
        other => internal(other),
    }
}

#[derive(Template)]
#[template(path = "werkplek/case.html")]
struct CasePage<'a> {
    layout: Layout<'a>,
    view: CaseView,
    errors: Vec<FieldError>,
    /// What was typed, shown again when the form had errors.
    form: HashMap<String, String>,
}

impl CasePage<'_> {
    fn error_for(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }

    fn value(&self, name: &str) -> &str {
        self.form.get(name).map_or("", String::as_str)
    }
}

#[derive(Debug, Default, Deserialize)]
struct CaseQuery {
    lang: Option<String>,
    gedaan: Option<String>,
}

fn parse_uuid(text: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text).map_err(|_| ApiError::from(Problem::not_found()))
}

async fn case(
    State(app): App,
    headers: HeaderMap,
    Path(uuid): Path<String>,
    ApiQuery(query): ApiQuery<CaseQuery>,
) -> Result<Response, ApiError> {
    let Some(me) = app.signed_in(&headers).await? else {
        return Ok(see_other("/werkplek/inloggen"));
    };
    let uuid = parse_uuid(&uuid)?;
    let lang = language(query.lang.as_deref(), &headers);
    let notice = query
        .gedaan
        .as_deref()
        .and_then(|action| views::done_notice(action, lang));
    case_page(
        &app,
        &me,
        uuid,
        notice,
        Vec::new(),
        HashMap::new(),
        lang,
        StatusCode::OK,
    )
    .await
}

// One page, three callers (a visit, an invalid form, a conflict): plain arguments read best.
#[allow(clippy::too_many_arguments)]
async fn case_page(
    app: &Werkplek,
    me: &SignedIn,
    uuid: Uuid,
    notice: Option<&'static str>,
    errors: Vec<FieldError>,
    form: HashMap<String, String>,
    lang: Lang,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let file = app
        .werk
        .open(&me.medewerker, uuid)
        .await
        .map_err(|error| werk_error(error, lang))?;
    let handlers: Vec<Medewerker> = app
        .staff
        .accounts()
        .await
        .map_err(internal)?
        .into_iter()
        .filter(|m| m.may(loket_zaken::werk::Action::Decide))
        .collect();
    let view = CaseView::new(&app.werk, &me.medewerker, &file, &handlers, notice, lang);
    let path = format!("/werkplek/zaken/{uuid}");
    let html = render(&CasePage {
        layout: Layout::new(
            &app.settings,
            Some(&me.medewerker),
            &me.session.csrf,
            lang,
            &path,
        ),
        view,
        errors,
        form,
    })?;
    Ok((status, html).into_response())
}

/// A file of the case, as a download: never shown inline, so a file cannot run as a page
/// of the workspace.
async fn document(
    State(app): App,
    headers: HeaderMap,
    Path((uuid, document)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let Some(me) = app.signed_in(&headers).await? else {
        return Ok(see_other("/werkplek/inloggen"));
    };
    let (zaak, document) = (parse_uuid(&uuid)?, parse_uuid(&document)?);
    let (info, content) = app
        .werk
        .document(&me.medewerker, zaak, document)
        .await
        .map_err(|error| werk_error(error, language(None, &headers)))?;
    let disposition = format!(
        "attachment; filename=\"{}\"; filename*=UTF-8''{}",
        info.bestandsnaam
            .chars()
            .map(|c| if c.is_ascii() { c } else { '_' })
            .collect::<String>(),
        rfc5987(&info.bestandsnaam)
    );
    Ok((
        [
            (header::CONTENT_TYPE, info.soort.content_type().to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_owned()),
            (
                header::CONTENT_SECURITY_POLICY,
                "sandbox; default-src 'none'".to_owned(),
            ),
        ],
        content,
    )
        .into_response())
}

/// A file name as an RFC 5987 `ext-value`: UTF-8, every byte outside `attr-char`
/// percent-encoded.
fn rfc5987(name: &str) -> String {
    use std::fmt::Write;
    name.bytes().fold(String::new(), |mut out, b| {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
        out
    })
}

async fn act(
    State(app): App,
    headers: HeaderMap,
    Path((uuid, actie)): Path<(String, String)>,
    FormInput(form): FormInput<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let Some(me) = app.signed_in(&headers).await? else {
        return Ok(see_other("/werkplek/inloggen"));
    };
    let lang = language(None, &headers);
    check_csrf(
        &me.session.csrf,
        form.get("csrf").map_or("", String::as_str),
        lang,
    )?;
    let uuid = parse_uuid(&uuid)?;
    let field = |name: &str| form.get(name).map_or("", String::as_str);
    let werk = &app.werk;
    let result = match actie.as_str() {
        "oppakken" => werk.take(&me.medewerker, uuid).await,
        "toewijzen" => match app
            .staff
            .medewerker(field("medewerker"))
            .await
            .map_err(internal)?
        {
            Some(to) => werk.assign(&me.medewerker, uuid, &to).await,
            None => Err(WerkError::Invalid {
                field: "medewerker",
                nl: "Kies een medewerker.",
                en: "Choose an employee.",
            }),
        },
        "besluiten" => werk
            .decide(
                &me.medewerker,
                uuid,
                Outcome::parse(field("uitkomst")),
                field("reden"),
            )
            .await
            .map(|_| ()),
        "notitie" => werk.note(&me.medewerker, uuid, field("notitie")).await,
        "opschorten" => werk
            .suspend(&me.medewerker, uuid, field("opschorting_reden"))
            .await
            .map(|_| ()),
        "hervatten" => werk.resume(&me.medewerker, uuid).await.map(|_| ()),
        "verlengen" => werk
            .extend(
                &me.medewerker,
                uuid,
                field("verlenging_dagen").trim().parse().ok(),
                field("verlenging_reden"),
            )
            .await
            .map(|_| ()),
        _ => return Err(Problem::not_found().into()),
    };
    match result {
        Ok(()) => Ok(see_other(&format!(
            "/werkplek/zaken/{uuid}?gedaan={actie}#melding"
        ))),
        Err(WerkError::Invalid { field, nl, en }) => {
            let errors = vec![FieldError::new(field, lang.pick(nl, en))];
            let status = StatusCode::BAD_REQUEST;
            case_page(&app, &me, uuid, None, errors, form, lang, status).await
        }
        Err(error @ (WerkError::Closed | WerkError::Changed)) => {
            let message = match error {
                WerkError::Closed => lang.pick(
                    "Deze zaak is al afgehandeld.",
                    "This case has already been closed.",
                ),
                _ => lang.pick(
                    "Iemand anders heeft de zaak intussen gewijzigd. Bekijk de zaak en probeer het opnieuw.",
                    "Someone else changed the case in the meantime. Look at the case and try again.",
                ),
            };
            let errors = vec![FieldError::new("acties", message)];
            case_page(
                &app,
                &me,
                uuid,
                None,
                errors,
                HashMap::new(),
                lang,
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(other) => Err(werk_error(other, lang)),
    }
}
