//! W3C trace context on every incoming request.

use std::borrow::Cow;

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::Response;
use loket_core::TraceContext;
use tracing::Instrument;

/// The trace context of the request being handled: the caller's trace (or a new one) and
/// a span of our own. Pass it to [`crate::OutgoingClient`] to continue the trace.
#[derive(Debug, Clone, Copy)]
pub struct RequestTrace(pub TraceContext);

/// Every request runs in a `request` span naming the server (`service`) and ends with a
/// `handled` line with its status and duration: one process may serve a portal, an
/// outway, an inway and a register, and their lines must tell them apart. The span's
/// path is [`logged_path`]: a caller can send any path (a gateway passes it on to a
/// register), so a number in it that could be a BSN is not logged.
pub(crate) async fn accept_traceparent<F: Future<Output = Response>>(
    service: &str,
    mut request: Request,
    next: impl FnOnce(Request) -> F,
) -> Response {
    let incoming = request
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| TraceContext::parse_traceparent(v).ok());
    let ours = match incoming {
        Some(parent) => TraceContext::child_of(&parent),
        None => TraceContext::new_root(),
    };
    request.extensions_mut().insert(RequestTrace(ours));
    let path = logged_path(request.uri().path());
    let span = tracing::info_span!(
        "request",
        service,
        method = %request.method(),
        path = %path,
        trace_id = %ours.trace_id,
        span_id = %ours.span_id,
    );
    async move {
        let probe = matches!(path.as_str(), "/healthz" | "/readyz" | "/metrics");
        let started = std::time::Instant::now();
        let response = next(request).await;
        let status = response.status().as_u16();
        let ms = format_args!("{:.3}", started.elapsed().as_secs_f64() * 1000.0);
        // Orchestrators poll the probes every few seconds; keep them out of the info log.
        if probe {
            tracing::debug!(status, ms = %ms, "handled");
        } else {
            tracing::info!(status, ms = %ms, "handled");
        }
        response
    }
    .instrument(span)
    .await
}

/// `path` as a log line shows it: each segment with every number that could be a BSN
/// masked ([`loket_core::bsn::without_bsns`]), except a segment shaped as a UUID (the
/// ids of cases and documents, which operators look for and which name no one).
pub(crate) fn logged_path(path: &str) -> String {
    // Most paths hold nothing to mask (a UUID's digits are looked at again below).
    if let Cow::Borrowed(path) = loket_core::bsn::without_bsns(path) {
        return path.to_owned();
    }
    let mut logged = String::with_capacity(path.len());
    for (index, segment) in path.split('/').enumerate() {
        if index > 0 {
            logged.push('/');
        }
        if is_uuid(segment) {
            logged.push_str(segment);
        } else {
            logged.push_str(&loket_core::bsn::without_bsns(segment));
        }
    }
    logged
}

/// Whether `text` is a UUID in its hyphenated form (8-4-4-4-12 hex digits).
fn is_uuid(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(at, byte)| match at {
            8 | 13 | 18 | 23 => *byte == b'-',
            _ => byte.is_ascii_hexdigit(),
        })
}

impl<S: Send + Sync> FromRequestParts<S> for RequestTrace {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // Present on every route behind HttpService; a fresh root keeps handlers total.
        Ok(parts
            .extensions
            .get::<RequestTrace>()
            .copied()
            .unwrap_or_else(|| RequestTrace(TraceContext::new_root())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_logged_path_shows_no_bsn_and_keeps_uuids() {
        assert_eq!(
            logged_path("/brp/personen/999993653"),
            "/brp/personen/*********"
        );
        assert_eq!(
            logged_path("/x/%39%39%39%39%39%33%36%35%33"),
            format!("/x/{}", "*".repeat(27))
        );
        let case = "/zaken/api/v1/zaken/01995432-0000-7abc-8def-0123456789ab";
        assert_eq!(logged_path(case), case);
        assert_eq!(logged_path("/"), "/");
        assert_eq!(logged_path(""), "");
    }

    proptest::proptest! {
        /// Only what could be a BSN changes (digits, written or encoded, and the
        /// separators between a BSN's groups), and the length stays the same.
        #[test]
        fn a_logged_path_changes_only_digits(path in "(/([a-z0-9%. -]|%2[eE]){0,40}){0,4}") {
            let logged = logged_path(&path);
            proptest::prop_assert_eq!(logged.len(), path.len());
            // Digits, separators, and the rest of an encoded one (`%`, the `e` of `%2e`).
            for (was, now) in path.chars().zip(logged.chars()) {
                let maskable = was.is_ascii_digit() || matches!(was, '%' | '.' | ' ' | 'e' | 'E');
                proptest::prop_assert!(was == now || (maskable && now == '*'));
            }
        }
    }
}
