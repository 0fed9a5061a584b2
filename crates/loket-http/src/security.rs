//! Security headers on every response.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::response::Response;

const HEADERS: [(HeaderName, &str); 7] = [
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "no-referrer"),
    // Our pages load nothing from elsewhere and run no inline script.
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    (
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    ),
    (
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    ),
    // HTTPS only, for a year, once a browser has reached us over HTTPS: a first plain
    // request on a public network is then never sent again. Browsers ignore this header
    // on plain HTTP (RFC 6797 8.1), so the demo on localhost is not pinned. This host
    // only: the municipality's other subdomains are not ours to pin.
    (header::STRICT_TRANSPORT_SECURITY, "max-age=31536000"),
];

pub(crate) async fn add_security_headers<F: Future<Output = Response>>(
    request: Request,
    next: impl FnOnce(Request) -> F,
) -> Response {
    let mut response = next(request).await;
    insert_security_headers(response.headers_mut());
    response
}

/// The headers every response carries, where the handler did not set its own; also on
/// the panic guard's answer, which is made outside the edge.
pub(crate) fn insert_security_headers(headers: &mut HeaderMap) {
    for (name, value) in HEADERS {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        // Personal data must not linger in shared or browser caches.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}
