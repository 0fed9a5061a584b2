//! Every problem leaves the same way: with `instance` set to the request path, as
//! problem+json for programs, or as the service's friendly HTML page for browsers.

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use loket_core::Problem;

use crate::error::problem_response;

/// Renders a problem as a full HTML page in the service's own look.
pub trait ErrorPages: Send + Sync {
    /// `headers` and `path` are the request's, for its language and the page's links.
    fn render(&self, problem: &Problem, headers: &HeaderMap, path: &str) -> String;
}

pub(crate) async fn finish_problems<F: Future<Output = Response>>(
    pages: Option<Arc<dyn ErrorPages>>,
    request: Request,
    next: impl FnOnce(Request) -> F,
) -> Response {
    let path = request.uri().path().to_owned();
    let wants_html = pages.is_some() && prefers_html(request.headers());
    // Only a browser's request keeps its headers, for the language and menu of the page.
    let page_headers = wants_html.then(|| request.headers().clone());
    let response = next(request).await;
    let Some(problem) = response.extensions().get::<Problem>() else {
        return response;
    };
    let needs_instance = problem.instance.is_none();
    if !wants_html && !needs_instance {
        return response;
    }
    let mut problem = problem.clone();
    if needs_instance {
        problem.instance = Some(path.clone());
    }
    let (mut parts, _) = response.into_parts();
    let mut rebuilt = match pages.zip(page_headers) {
        Some((pages, headers)) => {
            let html = pages.render(&problem, &headers, &path);
            let mut page = Response::new(axum::body::Body::from(html));
            page.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            page
        }
        None => problem_response(problem),
    };
    // Keep the status and any headers the handler set (Allow, Retry-After, …).
    *rebuilt.status_mut() = parts.status;
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_TYPE);
    for (name, value) in &parts.headers {
        rebuilt
            .headers_mut()
            .entry(name)
            .or_insert_with(|| value.clone());
    }
    rebuilt
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
