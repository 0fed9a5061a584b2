//! Outgoing HTTP calls that always carry the trace context.

use std::time::Duration;

use loket_core::TraceContext;

/// The client for calls to other services. Every request needs the caller's trace
/// context, so a call cannot leave without `traceparent`.
#[derive(Debug, Clone)]
pub struct OutgoingClient {
    inner: reqwest::Client,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot build HTTP client: {0}")]
pub struct ClientBuildError(#[from] reqwest::Error);

impl OutgoingClient {
    pub fn new(timeout: Duration) -> Result<Self, ClientBuildError> {
        let inner = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("loket/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { inner })
    }

    /// Start a request as a new child span of `parent`. Returns the request and the
    /// span's context, so the caller can record it (the processing log does).
    pub fn request(
        &self,
        method: reqwest::Method,
        url: &str,
        parent: &TraceContext,
    ) -> (reqwest::RequestBuilder, TraceContext) {
        let span = TraceContext::child_of(parent);
        (
            self.inner
                .request(method, url)
                .header("traceparent", span.to_traceparent()),
            span,
        )
    }

    pub fn get(&self, url: &str, parent: &TraceContext) -> (reqwest::RequestBuilder, TraceContext) {
        self.request(reqwest::Method::GET, url, parent)
    }

    pub fn post(
        &self,
        url: &str,
        parent: &TraceContext,
    ) -> (reqwest::RequestBuilder, TraceContext) {
        self.request(reqwest::Method::POST, url, parent)
    }
}
