use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use loket_core::Problem;
use loket_http::{ApiError, ErrorPages};
use serde::Deserialize;

use crate::PortalSettings;
use crate::i18n::{Lang, Texts};

const STYLESHEET: &str = include_str!("../static/loket.css");

#[derive(Debug, Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

/// What every page's layout needs.
struct Layout<'a> {
    lang: Lang,
    t: &'static Texts,
    municipality: &'a str,
    demo: bool,
    /// The current path, for the language switch link.
    path: &'a str,
}

#[derive(Template)]
#[template(path = "start.html")]
struct StartPage<'a> {
    layout: Layout<'a>,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: Layout<'a>,
    status: u16,
    code: &'a str,
    not_found: bool,
}

pub fn portal_routes(settings: PortalSettings) -> Router {
    Router::new()
        .route("/", get(start))
        .route("/static/loket.css", get(stylesheet))
        .with_state(Arc::new(settings))
}

async fn start(
    State(settings): State<Arc<PortalSettings>>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
) -> Result<Html<String>, ApiError> {
    let lang = Lang::choose(query.lang.as_deref(), accept_language(&headers));
    let page = StartPage {
        layout: layout(&settings, lang, "/"),
    };
    render(&page)
}

async fn stylesheet() -> Response {
    let mut response = STYLESHEET.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}

fn accept_language(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
}

fn layout<'a>(settings: &'a PortalSettings, lang: Lang, path: &'a str) -> Layout<'a> {
    Layout {
        lang,
        t: lang.texts(),
        municipality: &settings.municipality,
        demo: settings.demo,
        path,
    }
}

fn render<T: Template>(page: &T) -> Result<Html<String>, ApiError> {
    page.render().map(Html).map_err(|error| {
        tracing::error!(%error, "template failed");
        ApiError::from(Problem::internal())
    })
}

/// The portal's friendly error pages, in the portal's own layout.
#[derive(Debug, Clone)]
pub struct PortalErrorPages {
    settings: Arc<PortalSettings>,
}

impl PortalErrorPages {
    pub fn new(settings: PortalSettings) -> Self {
        Self {
            settings: Arc::new(settings),
        }
    }
}

impl ErrorPages for PortalErrorPages {
    fn render(&self, problem: &Problem, accept_language: Option<&str>) -> String {
        let lang = Lang::choose(None, accept_language);
        let page = ErrorPage {
            layout: layout(&self.settings, lang, "/"),
            status: problem.status,
            code: &problem.code,
            not_found: problem.status == 404,
        };
        // A page that cannot render itself still owes the visitor an answer.
        page.render().unwrap_or_else(|_| {
            format!(
                "<!doctype html><html lang=\"nl\"><title>Fout {0}</title><h1>Fout {0}</h1></html>",
                problem.status
            )
        })
    }
}
