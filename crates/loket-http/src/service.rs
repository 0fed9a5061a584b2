//! Assembling a service's router with the shared edge behaviour.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use loket_core::Problem;
use tower_http::catch_panic::CatchPanicLayer;

use crate::error::problem_response;
use crate::health::{healthz, readyz};
use crate::metrics::{exposition, record};
use crate::negotiate::{Rejections, finish_problems};
use crate::security::{add_security_headers, insert_security_headers};
use crate::trace::accept_traceparent;
use crate::{ApiError, ErrorPages, JSON_BODY_LIMIT, Metrics, ReadinessCheck};

const API_VERSION: HeaderName = HeaderName::from_static("api-version");

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
    rejections: Rejections,
    /// Whether `/readyz` and `/metrics` are served here (not to outsiders).
    operator_routes: bool,
    /// The `API-Version` header of every answer, the edge's own refusals included.
    api_version: Option<HeaderValue>,
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
            rejections: Rejections::AsProblems,
            operator_routes: true,
            api_version: None,
        }
    }

    /// Name the API's full version in an `API-Version` header on every answer (NL API
    /// Design Rules), also on those the edge gives before the routes (a body announced
    /// as too large, a timeout).
    pub fn api_version(mut self, version: &'static str) -> Self {
        self.api_version = Some(HeaderValue::from_static(version));
        self
    }

    /// A service the internet or other organisations reach (the portal, an inway): it
    /// answers `/healthz`, but its process's readiness (whose failures name what failed)
    /// and metrics are for the operator only, at the process's operations address. The
    /// two paths are then the service's own routes' to answer.
    pub fn without_operator_routes(mut self) -> Self {
        self.operator_routes = false;
        self
    }

    /// This service forwards answers it got from elsewhere (a gateway): an upstream's
    /// error passes unchanged, instead of being taken for axum refusing the request.
    pub fn passes_answers_through(mut self) -> Self {
        self.rejections = Rejections::PassThrough;
        self
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

    /// What its `/readyz` checks, for a process that reports on all its services in one
    /// place (its operations address).
    pub fn readiness_checks(&self) -> &[Arc<dyn ReadinessCheck>] {
        &self.checks
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
    /// timeout, then the routes. All but the panic guard and axum's body limit run in
    /// one middleware (`through_edge`): axum clones a route's layers below each
    /// `from_fn` on every request, so seven layers of their own cost 57 boxed clones
    /// per request (8% of a BRP lookup's instructions, BENCHMARKS.md).
    pub fn into_router(self, metrics: Metrics) -> Router {
        let Self {
            name,
            routes,
            checks,
            error_pages,
            timeout,
            large_bodies,
            rejections,
            operator_routes,
            api_version,
        } = self;
        let checks = Arc::new(checks);
        let scrape = metrics.clone();
        let panic_version = api_version.clone();
        let edge = Arc::new(Edge {
            name,
            metrics,
            error_pages,
            timeout,
            large_bodies,
            rejections,
            api_version,
        });
        let routes = routes.route("/healthz", get(healthz));
        let routes = if operator_routes {
            routes
                .route("/readyz", get(move || readyz(checks.clone())))
                .route(
                    "/metrics",
                    get(move || std::future::ready(exposition(&scrape))),
                )
        } else {
            routes
        };
        routes
            .fallback(not_found)
            .method_not_allowed_fallback(method_not_allowed)
            .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
            .layer(middleware::from_fn(move |request: Request, next: Next| {
                through_edge(edge.clone(), request, next)
            }))
            .layer(CatchPanicLayer::custom(move |_panic| {
                let mut response = problem_response(Problem::internal());
                insert_security_headers(response.headers_mut());
                if let Some(version) = &panic_version {
                    response.headers_mut().insert(API_VERSION, version.clone());
                }
                response
            }))
    }
}

/// What the edge's layers need.
struct Edge {
    name: Arc<str>,
    metrics: Metrics,
    error_pages: Option<Arc<dyn ErrorPages>>,
    timeout: Duration,
    large_bodies: Vec<(&'static str, usize)>,
    rejections: Rejections,
    api_version: Option<HeaderValue>,
}

/// The edge's layers, from the outside in, each handing the request on to the next.
async fn through_edge(edge: Arc<Edge>, request: Request, next: Next) -> Response {
    let edge = &*edge;
    let mut response = accept_traceparent(&edge.name, request, |request| {
        add_security_headers(request, |request| {
            record(&edge.metrics, &edge.name, request, |request| {
                finish_problems(
                    edge.error_pages.clone(),
                    edge.rejections,
                    request,
                    |request| {
                        refuse_oversized_bodies(&edge.large_bodies, request, |request| {
                            enforce_timeout(edge.timeout, request, next)
                        })
                    },
                )
            })
        })
    })
    .await;
    if let Some(version) = &edge.api_version {
        response.headers_mut().insert(API_VERSION, version.clone());
    }
    response
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
async fn refuse_oversized_bodies<F: Future<Output = Response>>(
    large_bodies: &[(&'static str, usize)],
    request: Request,
    next: impl FnOnce(Request) -> F,
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
    next(request).await
}
