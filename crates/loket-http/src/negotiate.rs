//! Browsers get a friendly page; programs get problem+json. Same problem, two renderings.

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use loket_core::Problem;

/// Renders a problem as a full HTML page in the service's own look.
pub trait ErrorPages: Send + Sync {
    /// `accept_language` is the request's `Accept-Language` header, if any.
    fn render(&self, problem: &Problem, accept_language: Option<&str>) -> String;
}

pub(crate) async fn html_for_browsers(
    pages: Arc<dyn ErrorPages>,
    request: Request,
    next: Next,
) -> Response {
    let wants_html = prefers_html(request.headers());
    let language = request
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let response = next.run(request).await;
    if !wants_html {
        return response;
    }
    let Some(problem) = response.extensions().get::<Problem>().cloned() else {
        return response;
    };
    let (mut parts, _) = response.into_parts();
    let html = pages.render(&problem, language.as_deref());
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(html)).into_response()
}

/// True when the client lists `text/html` and does not ask for JSON: a browser
/// navigating, not a program that accepts anything.
fn prefers_html(headers: &HeaderMap) -> bool {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    accept.contains("text/html") && !accept.contains("json")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn browsers_get_html_and_programs_json() {
        assert!(prefers_html(&accept(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        )));
        assert!(!prefers_html(&accept("application/json")));
        assert!(!prefers_html(&accept(
            "application/problem+json, text/html"
        )));
        assert!(!prefers_html(&accept("*/*")));
        assert!(!prefers_html(&HeaderMap::new()));
    }
}
