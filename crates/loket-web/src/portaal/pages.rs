//! The portal's pages: one handler per page, each asking the process layer for the
//! signed-in resident only, and rendering one template.

use std::collections::HashMap;

use askama::Template;
use axum::extract::multipart::MultipartError;
use axum::extract::{Multipart, Path};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use loket_core::{Bsn, Kenteken, Problem};
use loket_http::{ApiError, ApiQuery, FormInput, RequestTrace};
use loket_zaken::apply::{Application, ApplyError, check_answers};
use loket_zaken::berichten::Kanaal;
use loket_zaken::bijlage::Upload;
use loket_zaken::catalogue::{Product, QuestionKind};
use loket_zaken::idempotency::IdempotencyKey;
use loket_zaken::rules::RuleOutcome;
use loket_zaken::zaak::Outcome;
use loket_zaken::{Claim, SavedResponse};
use serde::Deserialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::inzage::{FromLog, Integrity, Refusal, Start, Use};
use super::sessies::{Niveau, Resident};
use super::views::{self, CaseLine, FieldError, Layout, MessageLine, Section, error_for};
use super::{App, AppState, check_csrf, clear_session_cookie, internal, see_other, session_cookie};
use crate::Lang;
use crate::oidc as oidc_types;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct PageQuery {
    lang: Option<String>,
    /// Where the next page of "who used my data" starts in each log.
    verder: Option<String>,
    zoek: Option<String>,
    pagina: Option<String>,
    uitgelogd: Option<String>,
    ontvangen: Option<String>,
    opgeslagen: Option<String>,
}

impl PageQuery {
    /// The page asked for, from 1 (`pagina=0` is the first page, as is no number).
    fn page(&self) -> u32 {
        self.pagina
            .as_deref()
            .and_then(|p| p.parse().ok())
            .unwrap_or(1)
            .max(1)
    }
}

fn render<T: Template>(page: &T) -> Result<Html<String>, ApiError> {
    page.render().map(Html).map_err(|error| {
        tracing::error!(%error, "template failed");
        ApiError::from(Problem::internal())
    })
}

impl App {
    async fn layout(
        &self,
        headers: &HeaderMap,
        query: &PageQuery,
        me: Option<(&Resident, &str)>,
        path: &str,
        nav: &'static str,
    ) -> Result<Layout, ApiError> {
        let unread = match me {
            Some((resident, _)) => self
                .portaal
                .inwoner
                .unread_messages(&resident.bsn)
                .await
                .map_err(internal)?,
            None => 0,
        };
        Ok(self.layout_counted(headers, query, me, path, nav, unread))
    }

    /// The layout when the page already counted the unread letters.
    fn layout_counted(
        &self,
        headers: &HeaderMap,
        query: &PageQuery,
        me: Option<(&Resident, &str)>,
        path: &str,
        nav: &'static str,
        unread: u64,
    ) -> Layout {
        Layout {
            lang: super::language(query.lang.as_deref(), headers),
            municipality: self.settings.municipality.clone(),
            demo: self.settings.demo,
            path: path.to_owned(),
            naam: me.map(|(r, _)| r.naam.clone()).filter(|n| !n.is_empty()),
            signed_in: me.is_some(),
            csrf: me.map(|(_, csrf)| csrf.to_owned()).unwrap_or_default(),
            unread,
            nav,
            resubmit: None,
        }
    }
}

/// The signed-in resident, or the way to log in.
macro_rules! signed_in {
    ($app:expr, $headers:expr) => {
        match $app.resident(&$headers).await? {
            Some(found) => found,
            None => return Ok(see_other("/inloggen")),
        }
    };
}

fn not_found() -> ApiError {
    Problem::not_found().into()
}

// ---------------------------------------------------------------- start and login

#[derive(Template)]
#[template(path = "portaal/start.html")]
struct StartPage {
    layout: Layout,
    uitgelogd: bool,
}

pub(crate) async fn start(
    axum::extract::State(app): AppState,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Response, ApiError> {
    if app.resident(&headers).await?.is_some() {
        return Ok(see_other("/overzicht"));
    }
    let layout = app.layout(&headers, &query, None, "/", "").await?;
    Ok(render(&StartPage {
        layout,
        uitgelogd: query.uitgelogd.is_some(),
    })?
    .into_response())
}

#[derive(Template)]
#[template(path = "portaal/login.html")]
struct LoginPage {
    layout: Layout,
    simulatie: bool,
    digid: bool,
    mislukt: bool,
}

pub(crate) async fn login(
    axum::extract::State(app): AppState,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Response, ApiError> {
    if app.resident(&headers).await?.is_some() {
        return Ok(see_other("/overzicht"));
    }
    let layout = app.layout(&headers, &query, None, "/inloggen", "").await?;
    Ok(render(&LoginPage {
        layout,
        simulatie: app.portaal.digid.is_some(),
        digid: app.portaal.oidc.is_some(),
        mislukt: false,
    })?
    .into_response())
}

/// Off to the DigiD broker; what must match on return goes along sealed in a cookie.
pub(crate) async fn oidc_start(
    axum::extract::State(app): AppState,
    RequestTrace(trace): RequestTrace,
) -> Result<Response, ApiError> {
    let Some(oidc) = &app.portaal.oidc else {
        return Err(not_found());
    };
    let (url, pending) = oidc.start(&trace).await.map_err(|error| {
        tracing::warn!(%error, "cannot start a DigiD login");
        ApiError::from(Problem::new(
            503,
            "digid-unavailable",
            "Inloggen met DigiD lukt nu niet. / Logging in with DigiD is not possible right now.",
        ))
    })?;
    let sealed = app.portaal.sessions.seal(&pending).map_err(internal)?;
    let mut response = see_other(&url);
    response.headers_mut().insert(
        header::SET_COOKIE,
        super::LOGIN_COOKIE.set(&sealed, app.portaal.secure_cookies),
    );
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub(crate) struct ReturnQuery {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
}

/// Back from the DigiD broker: check everything, then a new session for the resident.
pub(crate) async fn oidc_return(
    axum::extract::State(app): AppState,
    headers: HeaderMap,
    RequestTrace(trace): RequestTrace,
    ApiQuery(back): ApiQuery<ReturnQuery>,
) -> Result<Response, ApiError> {
    let Some(oidc) = &app.portaal.oidc else {
        return Err(not_found());
    };
    let pending: Option<oidc_types::Pending> = super::cookie_up_to(
        &headers,
        super::LOGIN_COOKIE.name(app.portaal.secure_cookies),
        1024,
    )
    .and_then(|sealed| app.portaal.sessions.seal_opened(sealed));
    let now = app.portaal.clock.now();
    let result = match &pending {
        Some(pending) => {
            let callback = oidc_types::Callback {
                state: back.state.as_deref().unwrap_or_default(),
                code: back.code.as_deref(),
                error: back.error.as_deref(),
            };
            oidc.finish_resident(pending, &callback, &trace, now).await
        }
        None => Err(oidc_types::OidcError::Refused(
            "no login in progress".to_owned(),
        )),
    };
    let clear = super::LOGIN_COOKIE.clear(app.portaal.secure_cookies);
    let logged_in = match result {
        Ok(logged_in) => logged_in,
        Err(error) => {
            tracing::warn!(%error, "a DigiD login did not succeed");
            let layout = app
                .layout(&headers, &PageQuery::default(), None, "/inloggen", "")
                .await?;
            let page = render(&LoginPage {
                layout,
                simulatie: app.portaal.digid.is_some(),
                digid: true,
                mislukt: true,
            })?;
            return Ok(
                (StatusCode::BAD_REQUEST, [(header::SET_COOKIE, clear)], page).into_response(),
            );
        }
    };
    // Whatever session came before, a new one now.
    if let Some((old, _)) = app.session(&headers).await? {
        app.portaal.sessions.end(&old).await.map_err(internal)?;
    }
    let naam = app
        .portaal
        .inwoner
        .naam(&logged_in.bsn, &trace)
        .await
        .unwrap_or_default();
    let (token, _) = app
        .portaal
        .sessions
        .start(Some((&logged_in.bsn, &naam, logged_in.niveau)), now)
        .await
        .map_err(internal)?;
    let mut response = see_other("/overzicht");
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        session_cookie(&token, app.portaal.secure_cookies),
    );
    headers.append(header::SET_COOKIE, clear);
    Ok(response)
}

#[derive(Template)]
#[template(path = "portaal/digid.html")]
struct DigidPage {
    layout: Layout,
    personas: Vec<(String, String, String)>,
    niveaus: Vec<&'static str>,
    errors: Vec<FieldError>,
    form: HashMap<String, String>,
}

impl DigidPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }

    fn value(&self, name: &str) -> &str {
        self.form.get(name).map_or("", String::as_str)
    }
}

pub(crate) async fn digid_form(
    axum::extract::State(app): AppState,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Response, ApiError> {
    let lang = super::language(query.lang.as_deref(), &headers);
    digid_page(
        &app,
        &headers,
        lang,
        Vec::new(),
        HashMap::new(),
        StatusCode::OK,
    )
    .await
}

/// The simulation's page, in a new anonymous session whose CSRF token protects it.
async fn digid_page(
    app: &App,
    headers: &HeaderMap,
    lang: Lang,
    errors: Vec<FieldError>,
    form: HashMap<String, String>,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let Some(digid) = &app.portaal.digid else {
        return Err(not_found());
    };
    let (token, session) = app
        .portaal
        .sessions
        .start(None, app.portaal.clock.now())
        .await
        .map_err(internal)?;
    let query = PageQuery {
        lang: Some(lang.code().to_owned()),
        ..PageQuery::default()
    };
    let mut layout = app
        .layout(headers, &query, None, "/digid-simulatie", "")
        .await?;
    layout.csrf = session.csrf;
    let page = DigidPage {
        personas: digid
            .personas
            .iter()
            .map(|p| {
                let about = if lang == Lang::En { &p.en } else { &p.nl };
                (p.bsn.clone(), p.naam.clone(), about.clone())
            })
            .collect(),
        niveaus: Niveau::ALL.iter().map(|n| n.as_str()).collect(),
        layout,
        errors,
        form,
    };
    let html = render(&page)?;
    Ok((
        status,
        [(
            header::SET_COOKIE,
            session_cookie(&token, app.portaal.secure_cookies),
        )],
        html,
    )
        .into_response())
}

pub(crate) async fn digid_login(
    axum::extract::State(app): AppState,
    headers: HeaderMap,
    RequestTrace(trace): RequestTrace,
    FormInput(form): FormInput<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    if app.portaal.digid.is_none() {
        return Err(not_found());
    }
    let lang = super::language(None, &headers);
    let field = |name: &str| form.get(name).map_or("", |v| v.trim());
    let Some((old_token, session)) = app.session(&headers).await? else {
        let errors = vec![FieldError {
            field: "persona".to_owned(),
            message: lang
                .pick(
                    "Deze pagina was verlopen. Probeer het opnieuw.",
                    "This page had expired. Please try again.",
                )
                .to_owned(),
        }];
        return digid_page(&app, &headers, lang, errors, form, StatusCode::BAD_REQUEST).await;
    };
    check_csrf(&session.csrf, field("csrf"))?;
    let chosen = match field("persona") {
        "" | "anders" => field("bsn"),
        persona => persona,
    };
    let mut errors = Vec::new();
    let bsn = if chosen.is_empty() {
        errors.push(FieldError {
            field: "persona".to_owned(),
            message: lang
                .pick(
                    "Kies een persoon, of vul een burgerservicenummer in.",
                    "Choose a person, or enter a citizen service number.",
                )
                .to_owned(),
        });
        None
    } else {
        match Bsn::parse(chosen) {
            Ok(bsn) => Some(bsn),
            Err(_) => {
                errors.push(FieldError {
                    field: "bsn".to_owned(),
                    message: lang.pick("Een burgerservicenummer heeft 9 cijfers en klopt volgens de elfproef, bijvoorbeeld 999990007.", "A citizen service number has 9 digits and passes the eleven test, for example 999990007.").to_owned(),
                });
                None
            }
        }
    };
    let niveau = Niveau::parse(field("niveau")).unwrap_or(Niveau::Midden);
    let Some(bsn) = bsn.filter(|_| errors.is_empty()) else {
        app.portaal
            .sessions
            .end(&old_token)
            .await
            .map_err(internal)?;
        return digid_page(&app, &headers, lang, errors, form, StatusCode::BAD_REQUEST).await;
    };
    // A new session id at login: a token seen before it is worth nothing after.
    app.portaal
        .sessions
        .end(&old_token)
        .await
        .map_err(internal)?;
    let naam = app
        .portaal
        .inwoner
        .naam(&bsn, &trace)
        .await
        .unwrap_or_default();
    let (token, _) = app
        .portaal
        .sessions
        .start(Some((&bsn, &naam, niveau)), app.portaal.clock.now())
        .await
        .map_err(internal)?;
    let mut response = see_other("/overzicht");
    response.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(&token, app.portaal.secure_cookies),
    );
    Ok(response)
}

pub(crate) async fn logout(
    axum::extract::State(app): AppState,
    headers: HeaderMap,
    FormInput(form): FormInput<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    if let Some((token, session)) = app.session(&headers).await? {
        check_csrf(&session.csrf, form.get("csrf").map_or("", String::as_str))?;
        app.portaal.sessions.end(&token).await.map_err(internal)?;
        if let Some(resident) = &session.resident
            && form.contains_key("overal")
        {
            app.portaal
                .sessions
                .end_everywhere(&resident.bsn)
                .await
                .map_err(internal)?;
        }
    }
    let mut response = see_other("/?uitgelogd=1");
    response.headers_mut().insert(
        header::SET_COOKIE,
        clear_session_cookie(app.portaal.secure_cookies),
    );
    Ok(response)
}

// ---------------------------------------------------------------- overview

#[derive(Template)]
#[template(path = "portaal/overview.html")]
struct OverviewPage {
    layout: Layout,
    open: Vec<CaseLine>,
    berichten: Vec<MessageLine>,
    binnenkort: Vec<crate::i18n::Said>,
    levensgebeurtenissen: Vec<(String, String)>,
}

pub(crate) async fn overview(
    axum::extract::State(app): AppState,
    headers: HeaderMap,
    RequestTrace(trace): RequestTrace,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Response, ApiError> {
    let (me, csrf) = signed_in!(app, headers);
    let inwoner = &app.portaal.inwoner;
    let (open, messages, coming) = tokio::join!(
        inwoner.open_cases(&me.bsn),
        inwoner.messages(&me.bsn, 1),
        inwoner.coming_up(&me.bsn, &trace),
    );
    let messages = messages.map_err(internal)?;
    let me_csrf = Some((&me, csrf.as_str()));
    let layout = app.layout_counted(
        &headers,
        &query,
        me_csrf,
        "/overzicht",
        "overzicht",
        messages.unread,
    );
    let lang = layout.lang;
    let today = inwoner.today();
    let page = OverviewPage {
        open: open
            .map_err(internal)?
            .items
            .iter()
            .map(|z| views::case_line(z, &product_name(&app, &z.zaaktype, lang), lang))
            .collect(),
        berichten: messages
            .items
            .iter()
            .take(3)
            .map(|b| views::message_line(b, lang))
            .collect(),
        binnenkort: coming
            .iter()
            .map(|item| views::coming_up_text(item, today, lang))
            .collect(),
        levensgebeurtenissen: inwoner
            .catalogue()
            .life_events()
            .iter()
            .filter(|e| {
                inwoner
                    .catalogue()
                    .products()
                    .iter()
                    .any(|p| p.levensgebeurtenissen.contains(&e.id))
            })
            .map(|e| (e.id.clone(), e.naam.get(lang == Lang::En).to_owned()))
            .collect(),
        layout,
    };
    Ok(render(&page)?.into_response())
}

fn product_name(app: &App, id: &str, lang: Lang) -> String {
    app.portaal.inwoner.catalogue().product(id).map_or_else(
        || id.to_owned(),
        |p| p.naam.get(lang == Lang::En).to_owned(),
    )
}

// ---------------------------------------------------------------- my data

#[derive(Template)]
#[template(path = "portaal/my_data.html")]
struct MyDataPage {
    layout: Layout,
    sections: Vec<Section>,
    trace_id: String,
}

pub(crate) async fn my_data(
    axum::extract::State(app): AppState,
    headers: HeaderMap,
    RequestTrace(trace): RequestTrace,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Response, ApiError> {
    let (me, csrf) = signed_in!(app, headers);
    let layout = app
        .layout(
            &headers,
            &query,
            Some((&me, &csrf)),
            "/mijn-gegevens",
            "gegevens",
        )
        .await?;
    let data = app.portaal.inwoner.gegevens(&me.bsn, &trace).await;
    let page = MyDataPage {
        sections: views::sections(&data, layout.lang),
        trace_id: trace.trace_id.to_string(),
        layout,
    };
    Ok(render(&page)?.into_response())
}

// ---------------------------------------------------------------- products

struct ProductLine {
    id: String,
    naam: String,
    omschrijving: String,
}

#[derive(Template)]
#[template(path = "portaal/products.html")]
struct ProductsPage {
    layout: Layout,
    zoek: String,
    /// By life event: its name and its products.
    groepen: Vec<(String, String, Vec<ProductLine>)>,
    gevonden: Option<Vec<ProductLine>>,
}

/// Does `product` answer the search? Every word must be in its name, description or
/// search words (ignoring case), so "parkeren", "vergunning" and "auto" all find the
/// parking permit.
fn matches(product: &Product, search: &str) -> bool {
    let haystack = format!(
        "{} {} {} {} {}",
        product.naam.nl,
        product.naam.en,
        product.omschrijving.nl,
        product.omschrijving.en,
        product.zoekwoorden.join(" ")
    )
    .to_lowercase();
    let words: Vec<String> = search.split_whitespace().map(str::to_lowercase).collect();
    !words.is_empty() && words.iter().all(|w| haystack.contains(w.as_str()))
}

pub(crate) async fn products(
    axum::extract::State(app): AppState,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Response, ApiError> {
    let me = app.resident(&headers).await?;
    let layout = app
        .layout(
            &headers,
            &query,
            me.as_ref().map(|(r, c)| (r, c.as_str())),
            "/aanvragen",
            "aanvragen",
        )
        .await?;
    let en = layout.lang == Lang::En;
    let catalogue = app.portaal.inwoner.catalogue();
    let line = |p: &Product| ProductLine {
        id: p.id.clone(),
        naam: p.naam.get(en).to_owned(),
        omschrijving: p.omschrijving.get(en).to_owned(),
    };
    let zoek = query.zoek.clone().unwrap_or_default().trim().to_owned();
    let gevonden = (!zoek.is_empty()).then(|| {
        catalogue
            .products()
            .iter()
            .filter(|p| matches(p, &zoek))
            .map(line)
            .collect()
    });
    let groepen = catalogue
        .life_events()
        .iter()
        .map(|event| {
            let products: Vec<ProductLine> = catalogue
                .products()
                .iter()
                .filter(|p| p.levensgebeurtenissen.contains(&event.id))
                .map(line)
                .collect();
            (event.id.clone(), event.naam.get(en).to_owned(), products)
        })
        .filter(|(_, _, products)| !products.is_empty())
        .collect();
    let page = ProductsPage {
        layout,
        zoek,
        groepen,
        gevonden,
    };
    Ok(render(&page)?.into_response())
}

// ---------------------------------------------------------------- applying

struct Question {
    naam: String,
    vraag: String,
    soort: &'static str,
}

#[derive(Template)]
#[template(path = "portaal/apply.html")]
struct ApplyPage {
    layout: Layout,
    product_id: String,
    product: String,
    omschrijving: String,
    bekend: Vec<(String, String, String)>,
    voertuigen: Vec<(String, String)>,
    vragen: Vec<Question>,
    tarief: Option<(String, String)>,
    onbereikbaar: bool,
    errors: Vec<FieldError>,
    form: HashMap<String, String>,
}

impl ApplyPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }

    fn value(&self, name: &str) -> &str {
        self.form.get(name).map_or("", String::as_str)
    }

    /// A kenteken question's radio: the vehicle chosen, or "another car".
    fn vehicle_checked(&self, question: &str, kenteken: &str) -> bool {
        self.value(&format!("{question}_keuze")) == kenteken
    }

    /// Nothing chosen yet for this kenteken question (a resident with one car then finds
    /// it chosen).
    fn no_vehicle_chosen(&self, question: &str) -> bool {
        self.value(&format!("{question}_keuze")).is_empty()
    }
}

#[derive(Template)]
#[template(path = "portaal/check.html")]
struct CheckPage {
    layout: Layout,
    product_id: String,
    product: String,
    antwoorden: Vec<(String, String, String, String)>,
    /// The files to add: field name and description.
    bijlagen: Vec<(String, String)>,
    sleutel: String,
    errors: Vec<FieldError>,
}

impl CheckPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

fn product_of<'a>(app: &'a App, id: &str) -> Result<&'a Product, ApiError> {
    app.portaal
        .inwoner
        .catalogue()
        .product(id)
        .filter(|p| {
            p.kanalen
                .iter()
                .any(|c| matches!(c, loket_zaken::catalogue::Channel::Online))
        })
        .ok_or_else(not_found)
}

fn questions(product: &Product, en: bool) -> Vec<Question> {
    product
        .vragen
        .iter()
        .map(|q| Question {
            naam: q.naam.clone(),
            vraag: q.vraag.get(en).to_owned(),
            soort: match q.soort {
                QuestionKind::Kenteken => "kenteken",
                QuestionKind::JaNee => "ja-nee",
                QuestionKind::Tekst => "tekst",
            },
        })
        .collect()
}

fn fee_text(
    tarief: Option<&loket_zaken::rules::FeeTrace>,
    product: &Product,
    lang: Lang,
) -> Option<(String, String)> {
    let fee = tarief?;
    let per = match (product.tarief.as_ref().map(|t| t.per), lang) {
        (Some(loket_zaken::catalogue::FeePeriod::Jaar), Lang::Nl) => " per jaar",
        (Some(loket_zaken::catalogue::FeePeriod::Jaar), Lang::En) => " per year",
        _ => "",
    };
    Some((
        format!("{}{per}", views::euros(fee.bedrag_centen, lang)),
        fee.uitleg.get(lang == Lang::En).to_owned(),
    ))
}

pub(crate) async fn application_form(
    axum::extract::State(app): AppState,
    headers: HeaderMap,
    RequestTrace(trace): RequestTrace,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Response, ApiError> {
    let (me, csrf) = signed_in!(app, headers);
    let product = product_of(&app, &id)?;
    apply_page(
        &app,
        &headers,
        &query,
        (&me, &csrf),
        product,
        &trace,
        Vec::new(),
        HashMap::new(),
        StatusCode::OK,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn apply_page(
    app: &App,
    headers: &HeaderMap,
    query: &PageQuery,
    me: (&Resident, &str),
    product: &Product,
    trace: &loket_core::TraceContext,
    errors: Vec<FieldError>,
    form: HashMap<String, String>,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let path = format!("/aanvragen/{}", product.id);
    let mut layout = app
        .layout(headers, query, Some(me), &path, "aanvragen")
        .await?;
    // The answers given so far come along to the other language, not lost on a link.
    layout.resubmit = Some(format!("{path}/wijzigen"));
    let lang = layout.lang;
    let en = lang == Lang::En;
    let Some(applications) = &app.portaal.applications else {
        return Err(Problem::new(
            503,
            "unavailable",
            "Aanvragen kan nu niet. / Applying is not possible now.",
        )
        .into());
    };
    let preview = applications.preview(product, &me.0.bsn, trace).await;
    let voertuigen = views::vehicle_choices(&preview.known);
    let form = with_vehicle_choices(product, form, &voertuigen);
    let page = ApplyPage {
        product_id: product.id.clone(),
        product: product.naam.get(en).to_owned(),
        omschrijving: product.omschrijving.get(en).to_owned(),
        bekend: views::known_rows(&preview.known, lang),
        voertuigen,
        vragen: questions(product, en),
        tarief: fee_text(preview.tarief.as_ref(), product, lang),
        onbereikbaar: preview.known.iter().any(|u| u.fout.is_some()),
        layout,
        errors,
        form,
    };
    Ok((status, render(&page)?).into_response())
}

/// Answers coming back from the check page hold a kenteken question's answer as the
/// registration itself: choose that car again if it is one of the resident's, else
/// "another car" with the registration in its field.
fn with_vehicle_choices(
    product: &Product,
    mut form: HashMap<String, String>,
    vehicles: &[(String, String)],
) -> HashMap<String, String> {
    for question in &product.vragen {
        let choice = format!("{}_keuze", question.naam);
        if !matches!(question.soort, QuestionKind::Kenteken) || form.contains_key(&choice) {
            continue;
        }
        let Some(given) = form.get(&question.naam).filter(|v| !v.is_empty()).cloned() else {
            continue;
        };
        // The same car however it is written (34-GBV-7, 34gbv7): its radio, as listed.
        let same = |listed: &str| match (Kenteken::parse(listed), Kenteken::parse(&given)) {
            (Ok(a), Ok(b)) => a == b,
            _ => listed == given,
        };
        if let Some((listed, _)) = vehicles.iter().find(|(listed, _)| same(listed)) {
            form.remove(&question.naam);
            form.insert(choice, listed.clone());
        } else {
            form.insert(choice, "anders".to_owned());
        }
    }
    form
}

/// Back from the check page to the questions, with the answers given so far (a form,
/// not a link: the answers are personal, and a link would put them in the address).
pub(crate) async fn application_change(
    axum::extract::State(app): AppState,
    headers: HeaderMap,
    RequestTrace(trace): RequestTrace,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
    FormInput(mut form): FormInput<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let (me, csrf) = signed_in!(app, headers);
    check_csrf(&csrf, form.remove("csrf").as_deref().unwrap_or_default())?;
    let product = product_of(&app, &id)?;
    apply_page(
        &app,
        &headers,
        &query,
        (&me, &csrf),
        product,
        &trace,
        Vec::new(),
        form,
        StatusCode::OK,
    )
    .await
}

/// The answers as `check_answers` reads them: a kenteken question answered by choosing
/// one of the resident's cars, or by typing another.
fn answers_from(product: &Product, form: &HashMap<String, String>) -> Map<String, Value> {
    let mut answers = Map::new();
    for question in &product.vragen {
        let given = match question.soort {
            QuestionKind::Kenteken => match form
                .get(&format!("{}_keuze", question.naam))
                .map(String::as_str)
            {
                Some(choice) if !choice.is_empty() && choice != "anders" => choice.to_owned(),
                _ => form.get(&question.naam).cloned().unwrap_or_default(),
            },
            _ => form.get(&question.naam).cloned().unwrap_or_default(),
        };
        answers.insert(question.naam.clone(), Value::String(given));
    }
    answers
}

pub(crate) async fn application_check(
    axum::extract::State(app): AppState,
    headers: HeaderMap,
    RequestTrace(trace): RequestTrace,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
    FormInput(form): FormInput<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let (me, csrf) = signed_in!(app, headers);
    check_csrf(&csrf, form.get("csrf").map_or("", String::as_str))?;
    let product = product_of(&app, &id)?;
    let lang = super::language(query.lang.as_deref(), &headers);
    match check_answers(product, &answers_from(product, &form)) {
        Ok(checked) => {
            let key = Uuid::new_v4().simple().to_string();
            let me = (&me, csrf.as_str());
            check_page(
                &app,
                &headers,
                &query,
                me,
                product,
                &checked,
                key,
                Vec::new(),
            )
            .await
        }
        Err(problems) => {
            let errors = field_errors(problems, lang);
            let me = (&me, csrf.as_str());
            let status = StatusCode::BAD_REQUEST;
            apply_page(
                &app, &headers, &query, me, product, &trace, errors, form, status,
            )
            .await
        }
    }
}

fn field_errors(problems: Vec<loket_zaken::apply::AnswerError>, lang: Lang) -> Vec<FieldError> {
    problems
        .into_iter()
        .map(|e| FieldError {
            field: e.field,
            message: e.message.get(lang == Lang::En).to_owned(),
        })
        .collect()
}

/// Check your answers, and add the files they call for; sending is the only action.
#[allow(clippy::too_many_arguments)]
async fn check_page(
    app: &App,
    headers: &HeaderMap,
    query: &PageQuery,
    me: (&Resident, &str),
    product: &Product,
    checked: &Map<String, Value>,
    sleutel: String,
    errors: Vec<FieldError>,
) -> Result<Response, ApiError> {
    let path = format!("/aanvragen/{}", product.id);
    let mut layout = app
        .layout(headers, query, Some(me), &path, "aanvragen")
        .await?;
    // The answers, checked again, in the other language (files chosen are not kept).
    layout.resubmit = Some(path.clone());
    let lang = layout.lang;
    let en = lang == Lang::En;
    let antwoorden = product
        .vragen
        .iter()
        .map(|q| {
            let (shown, raw) = match checked.get(&q.naam) {
                Some(Value::Bool(true)) => (lang.pick("Ja", "Yes").to_owned(), "ja".to_owned()),
                Some(Value::Bool(false)) => (lang.pick("Nee", "No").to_owned(), "nee".to_owned()),
                Some(Value::String(s)) => (s.clone(), s.clone()),
                _ => (String::new(), String::new()),
            };
            (q.naam.clone(), q.vraag.get(en).to_owned(), shown, raw)
        })
        .collect();
    let bijlagen = product
        .bijlagen
        .iter()
        .filter(|a| {
            a.nodig_als
                .as_ref()
                .is_none_or(|question| checked.get(question) == Some(&Value::Bool(true)))
        })
        .map(|a| (a.naam.clone(), a.omschrijving.get(en).to_owned()))
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let page = CheckPage {
        product_id: product.id.clone(),
        product: product.naam.get(en).to_owned(),
        antwoorden,
        bijlagen,
        sleutel,
        errors,
        layout,
    };
    Ok((status, render(&page)?).into_response())
}

/// A sent application: its form fields and the files added, read in order. The CSRF
/// token comes first in the form, so no file is read before it has been checked.
async fn read_submission(
    mut multipart: Multipart,
    csrf: &str,
) -> Result<(HashMap<String, String>, Vec<Upload>), ApiError> {
    let broken = |error: MultipartError| {
        ApiError::from(Problem::new(
            error.status().as_u16(),
            "invalid",
            "Het formulier kon niet worden gelezen. / The form could not be read.",
        ))
    };
    let mut fields = HashMap::new();
    let mut uploads = Vec::new();
    let mut checked = false;
    while let Some(field) = multipart.next_field().await.map_err(broken)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "csrf" {
            check_csrf(csrf, &field.text().await.map_err(broken)?)?;
            checked = true;
            continue;
        }
        if !checked {
            check_csrf(csrf, "")?;
        }
        match field.file_name().map(str::to_owned) {
            Some(bestandsnaam) => {
                let inhoud = field.bytes().await.map_err(broken)?;
                // A file input left empty still sends a part, without content.
                if !inhoud.is_empty() {
                    uploads.push(Upload {
                        naam: name,
                        bestandsnaam,
                        inhoud: inhoud.to_vec(),
                    });
                }
            }
            None => {
                let text = field.text().await.map_err(broken)?;
                // As every form and query: PostgreSQL cannot store NUL, and nobody types it.
                loket_http::refuse_nul(&name, &text)?;
                fields.insert(name, text);
            }
        }
    }
    if !checked {
        check_csrf(csrf, "")?;
    }
    Ok((fields, uploads))
}

pub(crate) async fn application_submit(
    axum::extract::State(app): AppState,
    headers: HeaderMap,
    RequestTrace(trace): RequestTrace,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
    multipart: Multipart,
) -> Result<Response, ApiError> {
    let (me, csrf) = signed_in!(app, headers);
    let (form, uploads) = read_submission(multipart, &csrf).await?;
    let product = product_of(&app, &id)?;
    let Some(applications) = &app.portaal.applications else {
        return Err(Problem::new(503, "unavailable", "Aanvragen kan nu niet.").into());
    };
    let key =
        IdempotencyKey::parse(form.get("sleutel").map_or("", String::as_str)).map_err(|_| {
            ApiError::from(Problem::new(
                400,
                "invalid",
                "Het formulier is niet compleet. / The form is incomplete.",
            ))
        })?;
    let now = app.portaal.clock.now();
    // Submitting twice (a double click, a reload) has the effect of once.
    match app
        .portaal
        .idempotency
        .claim(&me.pseudoniem, &key, now)
        .await
        .map_err(internal)?
    {
        Claim::Fresh => {}
        Claim::Done(saved) => return Ok(see_other(saved.location.as_deref().unwrap_or("/zaken"))),
        Claim::InProgress => return Ok(see_other("/zaken")),
    }
    let application = Application {
        product: product.id.clone(),
        applicant: me.bsn,
        form: answers_from(product, &form),
        uploads,
    };
    let result = applications.apply(&application, &trace).await;
    let Ok(zaak) = result else {
        app.portaal
            .idempotency
            .release(&me.pseudoniem, &key)
            .await
            .map_err(internal)?;
        return match result {
            // A missing or refused file: the same page again, saying what to add.
            Err(ApplyError::Answers(problems)) => {
                let lang = super::language(query.lang.as_deref(), &headers);
                let errors = field_errors(problems, lang);
                let checked = check_answers(product, &application.form).unwrap_or_default();
                let me = (&me, csrf.as_str());
                let key = key.as_str().to_owned();
                check_page(&app, &headers, &query, me, product, &checked, key, errors).await
            }
            Err(ApplyError::UnknownProduct(_)) => Err(not_found()),
            Err(ApplyError::Store(error)) => Err(internal(error)),
            Ok(_) => Err(Problem::internal().into()),
        };
    };
    let location = format!("/zaken/{}?ontvangen=1", zaak.uuid);
    app.portaal
        .idempotency
        .complete(
            &me.pseudoniem,
            &key,
            &SavedResponse {
                status: 303,
                location: Some(location.clone()),
                body: Vec::new(),
            },
        )
        .await
        .map_err(internal)?;
    Ok(see_other(&location))
}

// ---------------------------------------------------------------- cases

#[derive(Template)]
#[template(path = "portaal/cases.html")]
struct CasesPage {
    layout: Layout,
    zaken: Vec<CaseLine>,
    totaal: u64,
    pagina: u32,
    volgende: bool,
}

pub(crate) async fn cases(
    axum::extract::State(app): AppState,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Response, ApiError> {
    let (me, csrf) = signed_in!(app, headers);
    let layout = app
        .layout(&headers, &query, Some((&me, &csrf)), "/zaken", "zaken")
        .await?;
    let lang = layout.lang;
    let page_number = query.page();
    let page = app
        .portaal
        .inwoner
        .cases(&me.bsn, page_number)
        .await
        .map_err(internal)?;
    let shown = u64::from(page_number) * u64::from(loket_zaken::inwoner::PAGE_SIZE);
    let view = CasesPage {
        zaken: page
            .items
            .iter()
            .map(|z| views::case_line(z, &product_name(&app, &z.zaaktype, lang), lang))
            .collect(),
        totaal: page.total,
        pagina: page_number,
        volgende: page.total > shown,
        layout,
    };
    Ok(render(&view)?.into_response())
}

struct Step {
    datum: String,
    stap: String,
    toelichting: String,
}

struct RuleLine {
    naam: String,
    uitkomst: String,
    uitleg: String,
    grondslag: String,
}

#[derive(Template)]
#[template(path = "portaal/case.html")]
struct CasePage {
    layout: Layout,
    titel: String,
    identificatie: String,
    status: String,
    ontvangen: bool,
    ontvangen_op: String,
    uiterlijk: String,
    open: bool,
    /// Why the term is on hold (the employee's words, written for the applicant), and
    /// since when.
    opgeschort: Option<(String, String)>,
    /// Why the term was extended, and by how many days.
    verlengd: Option<(String, u16)>,
    tijdlijn: Vec<Step>,
    besluit: Option<String>,
    uitleg: Vec<crate::i18n::Said>,
    regels: Vec<RuleLine>,
    tarief: Option<String>,
    bezwaar: Option<String>,
    bronnen: Vec<(String, String)>,
    documenten: Vec<String>,
}

pub(crate) async fn case(
    axum::extract::State(app): AppState,
    headers: HeaderMap,
    Path(uuid): Path<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Response, ApiError> {
    let (me, csrf) = signed_in!(app, headers);
    let uuid = Uuid::parse_str(&uuid).map_err(|_| not_found())?;
    let found = app
        .portaal
        .inwoner
        .case(&me.bsn, uuid)
        .await
        .map_err(internal)?
        .ok_or_else(not_found)?;
    let path = format!("/zaken/{uuid}");
    let layout = app
        .layout(&headers, &query, Some((&me, &csrf)), &path, "zaken")
        .await?;
    let lang = layout.lang;
    let en = lang == Lang::En;
    let zaak = &found.zaak;
    let decided = matches!(zaak.uitkomst, Some(Outcome::Toegekend | Outcome::Afgewezen))
        && zaak.einddatum.is_some();
    let record = found.besluit.as_ref();
    let page = CasePage {
        titel: product_name(&app, &zaak.zaaktype, lang),
        identificatie: zaak.identificatie.clone(),
        status: views::status_text(zaak, lang),
        ontvangen: query.ontvangen.is_some(),
        ontvangen_op: views::day(zaak.registratiedatum, lang),
        uiterlijk: views::day(zaak.uiterlijke_einddatum_afdoening, lang),
        open: zaak.einddatum.is_none(),
        opgeschort: zaak
            .opschorting
            .as_ref()
            .filter(|_| zaak.einddatum.is_none())
            .map(|o| (o.reden.clone(), views::day(o.sinds, lang))),
        verlengd: zaak
            .verlenging
            .as_ref()
            .filter(|_| zaak.einddatum.is_none())
            .map(|v| (v.reden.clone(), v.dagen)),
        tijdlijn: found
            .statuses
            .iter()
            .map(|s| Step {
                datum: views::moment(s.datum_status_gezet, lang),
                stap: views::status_step(&s.statustype, lang).to_owned(),
                // The organisation, not an employee's name.
                toelichting: if s.statustype == loket_zaken::zaak::statustype::AFGEHANDELD {
                    String::new()
                } else {
                    lang.pick("Gemeente", "Municipality").to_owned()
                },
            })
            .collect(),
        besluit: decided.then(|| match zaak.uitkomst {
            Some(Outcome::Toegekend) => lang
                .pick(
                    "Uw aanvraag is toegekend.",
                    "Your application has been granted.",
                )
                .to_owned(),
            _ => lang
                .pick(
                    "Uw aanvraag is afgewezen.",
                    "Your application has been refused.",
                )
                .to_owned(),
        }),
        uitleg: record
            .filter(|_| decided)
            .map(|r| crate::i18n::paragraphs(&r.uitleg.nl, &r.uitleg.en, lang))
            .unwrap_or_default(),
        regels: record
            .filter(|_| decided)
            .map(|r| {
                r.regels
                    .iter()
                    .map(|rule| RuleLine {
                        naam: rule.naam.get(en).to_owned(),
                        uitkomst: match rule.uitkomst {
                            RuleOutcome::Voldaan => lang.pick("Ja", "Yes").to_owned(),
                            RuleOutcome::NietVoldaan => lang.pick("Nee", "No").to_owned(),
                            _ => lang
                                .pick("Beoordeeld door een medewerker", "Assessed by an employee")
                                .to_owned(),
                        },
                        uitleg: rule.uitleg.get(en).to_owned(),
                        grondslag: rule.grondslag.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        tarief: record
            .filter(|_| decided && zaak.uitkomst == Some(Outcome::Toegekend))
            .and_then(|r| r.tarief.as_ref())
            .map(|fee| {
                format!(
                    "{} {}",
                    views::euros(fee.bedrag_centen, lang),
                    fee.uitleg.get(en)
                )
            }),
        bezwaar: record
            .filter(|_| decided)
            .and_then(|r| r.bezwaar.as_ref())
            .map(|b| b.get(en).to_owned()),
        bronnen: record
            .map(|r| {
                r.gegevens
                    .iter()
                    .map(|used| (used.bron.clone(), used.trace_id.clone()))
                    .collect()
            })
            .unwrap_or_default(),
        documenten: found
            .documenten
            .iter()
            .map(|d| d.bestandsnaam.clone())
            .collect(),
        layout,
    };
    Ok(render(&page)?.into_response())
}

// ---------------------------------------------------------------- messages

#[derive(Template)]
#[template(path = "portaal/messages.html")]
struct MessagesPage {
    layout: Layout,
    berichten: Vec<MessageLine>,
    totaal: u64,
    pagina: u32,
    volgende: bool,
    kanaal: &'static str,
    opgeslagen: bool,
}

pub(crate) async fn messages(
    axum::extract::State(app): AppState,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Response, ApiError> {
    let (me, csrf) = signed_in!(app, headers);
    let page_number = query.page();
    let inwoner = &app.portaal.inwoner;
    let page = inwoner
        .messages(&me.bsn, page_number)
        .await
        .map_err(internal)?;
    let me_csrf = Some((&me, csrf.as_str()));
    let layout = app.layout_counted(
        &headers,
        &query,
        me_csrf,
        "/berichten",
        "berichten",
        page.unread,
    );
    let lang = layout.lang;
    let kanaal = inwoner.channel(&me.bsn).await.map_err(internal)?;
    let shown = u64::from(page_number) * u64::from(loket_zaken::inwoner::PAGE_SIZE);
    let view = MessagesPage {
        berichten: page
            .items
            .iter()
            .map(|b| views::message_line(b, lang))
            .collect(),
        totaal: page.total,
        pagina: page_number,
        volgende: page.total > shown,
        kanaal: kanaal.as_str(),
        opgeslagen: query.opgeslagen.is_some(),
        layout,
    };
    Ok(render(&view)?.into_response())
}

#[derive(Template)]
#[template(path = "portaal/message.html")]
struct MessagePage {
    layout: Layout,
    onderwerp: String,
    datum: String,
    alineas: Vec<crate::i18n::Said>,
    zaak: Option<String>,
}

pub(crate) async fn message(
    axum::extract::State(app): AppState,
    headers: HeaderMap,
    Path(uuid): Path<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Response, ApiError> {
    let (me, csrf) = signed_in!(app, headers);
    let uuid = Uuid::parse_str(&uuid).map_err(|_| not_found())?;
    let bericht = app
        .portaal
        .inwoner
        .read_message(&me.bsn, uuid)
        .await
        .map_err(internal)?
        .ok_or_else(not_found)?;
    let path = format!("/berichten/{uuid}");
    // The layout after reading, so the unread count already leaves this one out.
    let layout = app
        .layout(&headers, &query, Some((&me, &csrf)), &path, "berichten")
        .await?;
    let en = layout.lang == Lang::En;
    let page = MessagePage {
        onderwerp: bericht.onderwerp.get(en).to_owned(),
        datum: views::moment(bericht.verzonden, layout.lang),
        alineas: crate::i18n::paragraphs(&bericht.tekst.nl, &bericht.tekst.en, layout.lang),
        zaak: bericht.zaak.map(|z| z.to_string()),
        layout,
    };
    Ok(render(&page)?.into_response())
}

pub(crate) async fn channel(
    axum::extract::State(app): AppState,
    headers: HeaderMap,
    FormInput(form): FormInput<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let (me, csrf) = signed_in!(app, headers);
    check_csrf(&csrf, form.get("csrf").map_or("", String::as_str))?;
    let kanaal = form
        .get("kanaal")
        .and_then(|k| Kanaal::parse(k))
        .ok_or_else(|| {
            ApiError::from(Problem::new(
                400,
                "invalid",
                "Kies hoe u berichten wilt krijgen. / Choose how you want to receive letters.",
            ))
        })?;
    app.portaal
        .inwoner
        .set_channel(&me.bsn, kanaal)
        .await
        .map_err(internal)?;
    Ok(see_other("/berichten?opgeslagen=1#voorkeur"))
}

// ---------------------------------------------------------------- who used my data

struct UseLine {
    moment: String,
    organisatie: String,
    dienst: String,
    doel: String,
    grondslag: String,
    zaak: Option<String>,
    integriteit: String,
    /// A refused attempt: why, in words for the resident.
    geweigerd: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "portaal/processing.html")]
struct ProcessingPage {
    layout: Layout,
    gebruik: Vec<UseLine>,
    onbereikbaar: Vec<String>,
    ingericht: bool,
    /// The link to the next page, when a log has older records.
    ouder: Option<String>,
    /// This is not the first page.
    vervolg: bool,
}

pub(crate) async fn processing(
    axum::extract::State(app): AppState,
    headers: HeaderMap,
    RequestTrace(trace): RequestTrace,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Response, ApiError> {
    let (me, csrf) = signed_in!(app, headers);
    let layout = app
        .layout(
            &headers,
            &query,
            Some((&me, &csrf)),
            "/wie-gebruikte-mijn-gegevens",
            "gebruik",
        )
        .await?;
    let lang = layout.lang;
    let en = lang == Lang::En;
    let starts = Start::parse_all(query.verder.as_deref(), app.portaal.inzage.sources());
    let (logs, cases) = tokio::join!(
        app.portaal.inzage.about(&me.bsn, &trace, &starts),
        app.portaal.inwoner.case_traces(&me.bsn),
    );
    // Digits, commas and dashes only: nothing in it needs escaping in a URL.
    let ouder = Start::next_page(&logs)
        .map(|verder| format!("/wie-gebruikte-mijn-gegevens?verder={verder}"));
    // A use made for one of the resident's cases links to it, by the case's trace.
    let by_trace = cases.map_err(internal)?;
    let onbereikbaar = logs
        .iter()
        .filter(|l| !l.bereikbaar)
        .map(|l| l.organisatie.clone())
        .collect();
    let mut all: Vec<_> = logs.into_iter().flat_map(|l: FromLog| l.gebruik).collect();
    all.sort_by_key(|u| std::cmp::Reverse(u.moment));
    let gebruik = all
        .into_iter()
        .map(|u| {
            let pick = |pair: &Option<(String, String)>| {
                pair.as_ref()
                    .map(|(nl, en_)| if en { en_.clone() } else { nl.clone() })
                    .unwrap_or_default()
            };
            let data = views::data_asked(&u.dienst, &u.velden, lang);
            let verb = match (u.uitgaand, u.geweigerd.is_some()) {
                (true, false) => lang.pick("Vroeg op:", "Asked for:"),
                (false, false) => lang.pick("Gaf:", "Gave:"),
                (true, true) => lang.pick("Wilde opvragen:", "Wanted to ask for:"),
                (false, true) => lang.pick("Gaf niet:", "Did not give:"),
            };
            let dienst = format!("{verb} {data}");
            UseLine {
                moment: views::moment(u.moment, lang),
                organisatie: u.organisatie.clone(),
                dienst,
                doel: purpose_text(&u, lang),
                grondslag: match u.geweigerd {
                    None => pick(&u.grondslag),
                    Some(reason) => not_used_text(reason, lang).to_owned(),
                },
                zaak: by_trace.get(&u.trace_id).map(Uuid::to_string),
                geweigerd: u.geweigerd.map(|reason| refusal_text(reason, lang)),
                integriteit: match u.integriteit {
                    Integrity::Verified => lang
                        .pick(
                            "Gecontroleerd: staat in het ondertekende logboek",
                            "Checked: in the signed log",
                        )
                        .to_owned(),
                    Integrity::Failed => lang
                        .pick(
                            "Controle mislukt: meld dit bij de gemeente",
                            "Check failed: please report this to the municipality",
                        )
                        .to_owned(),
                    Integrity::Unknown => lang
                        .pick(
                            "Kon nu niet worden gecontroleerd",
                            "Could not be checked now",
                        )
                        .to_owned(),
                },
            }
        })
        .collect();
    let page = ProcessingPage {
        ingericht: app.portaal.inzage.is_configured(),
        layout,
        gebruik,
        onbereikbaar,
        ouder,
        vervolg: query.verder.is_some(),
    };
    Ok(render(&page)?.into_response())
}

/// What a use was for. A refused attempt names the purpose the asking organisation
/// stated, but had no legal basis to use it. A provider's use names its own activity,
/// and the municipality's purpose it answered for.
fn purpose_text(u: &Use, lang: Lang) -> String {
    let pick = |pair: &Option<(String, String)>| {
        pair.as_ref()
            .map(|(nl, en)| lang.pick(nl, en).to_owned())
            .unwrap_or_default()
    };
    let named = |naam: &Option<(String, String)>, doel: &Option<(String, String)>| match doel {
        Some(_) => format!("{}: {}", pick(naam), pick(doel)),
        None => pick(naam),
    };
    if u.geweigerd.is_some() {
        // What was stated: beside the record at a provider's end; the record's own
        // activity at the asking end, and in a provider's records from before it logged
        // under its own.
        let (stated, naam, doel) = match &u.gevraagd_voor_id {
            Some(id) => (Some(id), &u.gevraagd_voor, &None),
            None if !u.uitgaand && u.eigen_activiteit => (None, &None, &None),
            None => (u.activiteit_id.as_ref(), &u.naam, &u.doel),
        };
        return match (stated, naam) {
            (None, _) => lang
                .pick("Geen doel opgegeven", "No purpose stated")
                .to_owned(),
            (Some(_), None) => lang
                .pick(
                    "Opgegeven doel: niet beschreven",
                    "Stated purpose: not described",
                )
                .to_owned(),
            (Some(_), Some(_)) => {
                lang.pick("Opgegeven doel: ", "Stated purpose: ").to_owned() + &named(naam, doel)
            }
        };
    }
    let own = named(&u.naam, &u.doel);
    let Some(_) = &u.gevraagd_voor else {
        return own;
    };
    let asked = format!(
        "{} {}",
        lang.pick(
            "Gevraagd door de gemeente voor:",
            "Requested by the municipality for:"
        ),
        pick(&u.gevraagd_voor)
    );
    if own.is_empty() {
        asked
    } else {
        format!("{own}. {asked}")
    }
}

/// In place of the legal basis, for a refused attempt: the data was not used, since
/// the request was refused or its answer not passed on.
fn not_used_text(reason: Refusal, lang: Lang) -> &'static str {
    match reason {
        Refusal::AnswerTooBroad | Refusal::AnswerUnreadable => lang.pick(
            "Niet gebruikt: het antwoord is niet doorgegeven",
            "Not used: the answer was not passed on",
        ),
        _ => lang.pick(
            "Niet gebruikt: het verzoek is geweigerd",
            "Not used: the request was refused",
        ),
    }
}

/// Why an attempt on the resident's data was refused, in plain words (B1).
fn refusal_text(reason: Refusal, lang: Lang) -> &'static str {
    match reason {
        Refusal::NoPermission => lang.pick(
            "Geweigerd: er was geen geldige afspraak om deze gegevens te delen.",
            "Refused: there was no valid agreement to share this data.",
        ),
        Refusal::PurposeNotAllowed => lang.pick(
            "Geweigerd: de gegevens mochten niet voor dit doel worden gebruikt.",
            "Refused: the data could not be used for this purpose.",
        ),
        Refusal::DataNotAllowed => lang.pick(
            "Geweigerd: er werden meer gegevens gevraagd dan voor dit doel mag.",
            "Refused: more data was asked for than this purpose allows.",
        ),
        Refusal::NotInOrder => lang.pick(
            "Geweigerd: het verzoek was niet in orde.",
            "Refused: the request was not in order.",
        ),
        Refusal::AnswerTooBroad => lang.pick(
            "Niet doorgegeven: het antwoord ging over te veel mensen tegelijk.",
            "Not passed on: the answer was about too many people at once.",
        ),
        Refusal::AnswerUnreadable => lang.pick(
            "Niet doorgegeven: het antwoord kon niet worden gelezen.",
            "Not passed on: the answer could not be read.",
        ),
        Refusal::NotRecorded => lang.pick(
            "Niet uitgevoerd: het verzoek kon niet eerst worden opgeschreven.",
            "Not carried out: the request could not be written down first.",
        ),
        Refusal::Other => lang.pick("Geweigerd.", "Refused."),
    }
}

// ---------------------------------------------------------------- contact and statements

/// A page with the same text for everyone, signed in or not (the menu follows the
/// session): served by [`public_page`] at its path.
pub(crate) trait PublicPage: Template {
    const PATH: &'static str;
    /// The menu item it belongs to, if any.
    const NAV: &'static str;
    fn with(layout: Layout) -> Self;
}

macro_rules! public_pages {
    ($($page:ident: $template:literal at $path:literal, nav $nav:literal;)*) => {$(
        #[derive(Template)]
        #[template(path = $template)]
        pub(crate) struct $page {
            layout: Layout,
        }

        impl PublicPage for $page {
            const PATH: &'static str = $path;
            const NAV: &'static str = $nav;
            fn with(layout: Layout) -> Self {
                Self { layout }
            }
        }
    )*};
}

public_pages! {
    ContactPage: "portaal/contact.html" at "/contact", nav "contact";
    PrivacyPage: "portaal/privacy.html" at "/privacy", nav "";
    AccessibilityPage: "portaal/accessibility.html" at "/toegankelijkheid", nav "";
}

pub(crate) async fn public_page<P: PublicPage>(
    axum::extract::State(app): AppState,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Response, ApiError> {
    let me = app.resident(&headers).await?;
    let layout = app
        .layout(
            &headers,
            &query,
            me.as_ref().map(|(r, c)| (r, c.as_str())),
            P::PATH,
            P::NAV,
        )
        .await?;
    Ok(render(&P::with(layout))?.into_response())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A provider's use names its own activity and the municipality's purpose; a refused
    /// attempt there names the purpose that was stated, not the provider's own.
    #[test]
    fn a_providers_use_names_its_own_activity_and_what_it_was_asked_for() {
        let pair = |text: &str| Some((text.to_owned(), format!("{text} (en)")));
        let mut used = Use {
            organisatie: "Rijksdienst voor Identiteitsgegevens".to_owned(),
            moment: time::OffsetDateTime::UNIX_EPOCH,
            dienst: "brp-personen".to_owned(),
            velden: Vec::new(),
            uitgaand: false,
            aanvrager: "00000001001234567000".to_owned(),
            activiteit_id: Some("https://rvig.example/verwerkingen/verstrekking-brp".to_owned()),
            naam: pair("BRP verstrekken"),
            doel: pair("Gegevens geven"),
            grondslag: pair("Wet BRP"),
            eigen_activiteit: true,
            gevraagd_voor_id: Some(
                "https://voorbeeldstad.example/verwerkingen/parkeervergunning".to_owned(),
            ),
            gevraagd_voor: pair("Parkeervergunning"),
            trace_id: String::new(),
            integriteit: Integrity::Verified,
            geweigerd: None,
        };
        assert_eq!(
            purpose_text(&used, Lang::Nl),
            "BRP verstrekken: Gegevens geven. Gevraagd door de gemeente voor: Parkeervergunning"
        );
        assert_eq!(
            purpose_text(&used, Lang::En),
            "BRP verstrekken (en): Gegevens geven (en). Requested by the municipality for: Parkeervergunning (en)"
        );
        used.geweigerd = Some(Refusal::PurposeNotAllowed);
        assert_eq!(
            purpose_text(&used, Lang::Nl),
            "Opgegeven doel: Parkeervergunning"
        );
        // Stated by another organisation, whose purpose the municipality cannot describe.
        used.gevraagd_voor = None;
        assert_eq!(
            purpose_text(&used, Lang::Nl),
            "Opgegeven doel: niet beschreven"
        );
        // None stated: the provider's own activity is not what was stated.
        used.gevraagd_voor_id = None;
        assert_eq!(purpose_text(&used, Lang::En), "No purpose stated");
        // At the asking end, the record's activity is what was stated.
        used.uitgaand = true;
        assert_eq!(
            purpose_text(&used, Lang::Nl),
            "Opgegeven doel: BRP verstrekken: Gegevens geven"
        );
        used.activiteit_id = None;
        assert_eq!(purpose_text(&used, Lang::Nl), "Geen doel opgegeven");
        // A use whose own activity no register describes still names what was asked.
        used.geweigerd = None;
        used.naam = None;
        used.doel = None;
        used.gevraagd_voor = pair("Parkeervergunning");
        assert_eq!(
            purpose_text(&used, Lang::Nl),
            "Gevraagd door de gemeente voor: Parkeervergunning"
        );
    }

    #[test]
    fn the_parking_permit_is_found_by_its_words() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../catalogue");
        let catalogue = loket_zaken::catalogue::Catalogue::load(&dir).unwrap();
        let product = catalogue.product("bewonersparkeervergunning").unwrap();
        for search in [
            "parkeren",
            "vergunning",
            "auto",
            "Parkeervergunning",
            "parking permit",
        ] {
            assert!(matches(product, search), "{search}");
        }
        assert!(!matches(product, "paspoort"));
        assert!(!matches(product, "  "));
    }

    /// A withheld answer is not called a refused request, in either language.
    #[test]
    fn a_withheld_answer_says_so() {
        for lang in [Lang::Nl, Lang::En] {
            for reason in [Refusal::AnswerTooBroad, Refusal::AnswerUnreadable] {
                let text = not_used_text(reason, lang);
                assert!(text.contains(lang.pick("antwoord", "answer")), "{text}");
                assert!(
                    refusal_text(reason, lang)
                        .contains(lang.pick("Niet doorgegeven", "Not passed on"))
                );
            }
            let text = not_used_text(Refusal::PurposeNotAllowed, lang);
            assert!(text.contains(lang.pick("verzoek", "request")), "{text}");
        }
    }
}
