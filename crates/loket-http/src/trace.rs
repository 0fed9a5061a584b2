//! W3C trace context on every incoming request.

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
/// outway, an inway and a register, and their lines must tell them apart. With
/// `mask_path`, the span's path has every number that could be a BSN masked.
pub(crate) async fn accept_traceparent<F: Future<Output = Response>>(
    service: &str,
    mask_path: bool,
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
    let path = request.uri().path();
    let path = if mask_path {
        loket_core::bsn::without_bsns(path).into_owned()
    } else {
        path.to_owned()
    };
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
