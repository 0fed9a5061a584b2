//! Assembling a service's router with the shared edge behaviour.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use loket_core::Problem;
use tower_http::catch_panic::CatchPanicLayer;

use crate::error::problem_response;
use crate::health::{healthz, readyz};
use crate::metrics::{exposition, record};
use crate::negotiate::finish_problems;
use crate::security::add_security_headers;
use crate::trace::accept_traceparent;
use crate::{ApiError, ErrorPages, JSON_BODY_LIMIT, Metrics, ReadinessCheck};

/// The longest any request may take before the client gets a 503 problem.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A named HTTP service: its own routes plus everything every Loket service has.
pub struct HttpService {
    name: Arc<str>,
    routes: Router,
    checks: Vec<Arc<dyn ReadinessCheck>>,
    error_pages: Option<Arc<dyn ErrorPages>>,
    timeout: Duration,
    /// Paths (by prefix) that take larger bodies than JSON does, e.g. file uploads.
    large_bodies: Vec<(&'static str, usize)>,
}

impl std::fmt::Debug for HttpService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpService")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl HttpService {
    pub fn new(name: &str, routes: Router) -> Self {
        Self {
            name: Arc::from(name),
            routes,
            checks: Vec::new(),
            error_pages: None,
            timeout: REQUEST_TIMEOUT,
            large_bodies: Vec::new(),
        }
    }

    /// Let requests under `prefix` announce bodies up to `limit` bytes. The route itself
    /// must also raise its `DefaultBodyLimit`, so a body without a length is held to it.
    pub fn large_bodies(mut self, prefix: &'static str, limit: usize) -> Self {
        self.large_bodies.push((prefix, limit));
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Add something `/readyz` must find working.
    pub fn readiness(mut self, check: Arc<dyn ReadinessCheck>) -> Self {
        self.checks.push(check);
        self
    }

    /// Render errors as HTML pages for browsers.
    pub fn error_pages(mut self, pages: Arc<dyn ErrorPages>) -> Self {
        self.error_pages = Some(pages);
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The finished router. Layers, from the outside in: panic guard, trace context,
    /// security headers, metrics, problem finishing (instance, HTML), body size check,
    /// timeout, then the routes.
    pub fn into_router(self, metrics: Metrics) -> Router {
        let Self {
            name,
            routes,
            checks,
            error_pages,
            timeout,
            large_bodies,
        } = self;
        let large_bodies = Arc::new(large_bodies);
        let checks = Arc::new(checks);
        let scrape = metrics.clone();
        routes
            .route("/healthz", get(healthz))
            .route("/readyz", get(move || readyz(checks.clone())))
            .route(
                "/metrics",
                get(move || std::future::ready(exposition(&scrape))),
            )
            .fallback(not_found)
            .method_not_allowed_fallback(method_not_allowed)
            .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
            .layer(middleware::from_fn(move |request: Request, next: Next| {
                enforce_timeout(timeout, request, next)
            }))
            .layer(middleware::from_fn(move |request: Request, next: Next| {
                refuse_oversized_bodies(large_bodies.clone(), request, next)
            }))
            .layer(middleware::from_fn(move |request: Request, next: Next| {
                finish_problems(error_pages.clone(), request, next)
            }))
            .layer(middleware::from_fn(move |request: Request, next: Next| {
                record(metrics.clone(), name.clone(), request, next)
            }))
            .layer(middleware::from_fn(add_security_headers))
            .layer(middleware::from_fn(accept_traceparent))
            .layer(CatchPanicLayer::custom(|_panic| {
                problem_response(Problem::internal())
            }))
    }
}

async fn not_found() -> ApiError {
    Problem::not_found().into()
}

async fn method_not_allowed() -> ApiError {
    Problem::method_not_allowed().into()
}

async fn enforce_timeout(limit: Duration, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(seconds = limit.as_secs(), "request timed out");
            ApiError::from(Problem::new(503, "timeout", "Het verzoek duurde te lang."))
                .into_response()
        }
    }
}

/// Refuse a body announced as too large before reading a byte of it.
async fn refuse_oversized_bodies(
    large_bodies: Arc<Vec<(&'static str, usize)>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let limit = large_bodies
        .iter()
        .filter(|(prefix, _)| path.starts_with(prefix))
        .map(|(_, limit)| *limit)
        .fold(JSON_BODY_LIMIT, usize::max);
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|length| length > limit as u64) {
        return ApiError::from(Problem::payload_too_large(limit)).into_response();
    }
    next.run(request).await
}
