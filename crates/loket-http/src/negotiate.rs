//! Every problem leaves the same way: with `instance` set to the request path, as
//! problem+json for programs, or as the service's friendly HTML page for browsers.

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use loket_core::Problem;

use crate::error::problem_response;

/// Renders a problem as a full HTML page in the service's own look.
pub trait ErrorPages: Send + Sync {
    /// `headers` and `path` (with the query, if any: it may choose the language) are the
    /// request's, for its language and the page's links.
    fn render(&self, problem: &Problem, headers: &HeaderMap, path: &str) -> String;
}

pub(crate) async fn finish_problems<F: Future<Output = Response>>(
    pages: Option<Arc<dyn ErrorPages>>,
    rejections: Rejections,
    request: Request,
    next: impl FnOnce(Request) -> F,
) -> Response {
    let path = request.uri().path().to_owned();
    let path_and_query = request
        .uri()
        .path_and_query()
        .map_or_else(|| path.clone(), |p| p.as_str().to_owned());
    let wants_html = pages.is_some() && prefers_html(request.headers());
    // Only a browser's request keeps its headers, for the language and menu of the page.
    let page_headers = wants_html.then(|| request.headers().clone());
    let response = next(request).await;
    let mut problem = if let Some(problem) = response.extensions().get::<Problem>() {
        if !wants_html && problem.instance.is_some() {
            return response;
        }
        problem.clone()
    } else if rejections == Rejections::AsProblems && is_plain_text_error(&response) {
        rejection_problem(response.status())
    } else {
        return response;
    };
    if problem.instance.is_none() {
        problem.instance = Some(path.clone());
    }
    let (mut parts, _) = response.into_parts();
    let mut rebuilt = match pages.zip(page_headers) {
        Some((pages, headers)) => {
            let html = pages.render(&problem, &headers, &path_and_query);
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

/// What the edge does with an error answer that is not a problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rejections {
    /// It can only be axum's own: an extractor (`Form`, `Multipart`, `Path`, `Query`)
    /// or the body limit refusing the request in plain text. It becomes a problem, or the
    /// error page for a browser.
    AsProblems,
    /// The service forwards answers from elsewhere (a gateway): an upstream's error
    /// passes unchanged.
    PassThrough,
}

fn is_plain_text_error(response: &Response) -> bool {
    let status = response.status();
    (status.is_client_error() || status.is_server_error())
        && response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("text/plain"))
}

/// The problem for a request axum refused before a handler saw it. axum's own text is
/// English and names Rust types, so it is not passed on; the status and `code` say what
/// was wrong.
fn rejection_problem(status: StatusCode) -> Problem {
    match status.as_u16() {
        413 => Problem::new(413, "payloadTooLarge", "Het verzoek is te groot."),
        415 => Problem::new(
            415,
            "unsupportedMediaType",
            "Het formaat van de body wordt niet ondersteund.",
        )
        .with_detail("Stuur de body met het Content-Type dat deze resource verwacht."),
        code @ 500.. => Problem::new(code, "serverError", "Interne serverfout."),
        code => Problem::new(code, "badRequest", "Het verzoek is niet correct.").with_detail(
            "Het verzoek kon niet worden gelezen. Controleer de velden en het formaat.",
        ),
    }
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

    proptest::proptest! {
        /// Whatever a client sends as `Accept`, the edge decides without panicking, and
        /// a program that names JSON anywhere never gets an HTML page.
        #[test]
        fn any_accept_header_is_judged_and_json_never_gets_html(
            bytes in proptest::collection::vec(proptest::arbitrary::any::<u8>(), 0..96),
        ) {
            if let Ok(value) = HeaderValue::from_bytes(&bytes) {
                let mut headers = HeaderMap::new();
                headers.insert(header::ACCEPT, value.clone());
                let html = prefers_html(&headers);
                match value.to_str() {
                    Ok(text) if text.contains("json") => proptest::prop_assert!(!html),
                    Ok(_) => {}
                    Err(_) => proptest::prop_assert!(!html),
                }
            }
        }

        /// Every refusal axum makes becomes a problem with the same status and a code.
        #[test]
        fn every_error_status_gets_a_problem_of_its_own(code in 400u16..600) {
            let status = StatusCode::from_u16(code).unwrap();
            let problem = rejection_problem(status);
            proptest::prop_assert_eq!(problem.status, code);
            proptest::prop_assert!(!problem.code.is_empty());
            proptest::prop_assert!(!problem.title.is_empty());
        }
    }
}
