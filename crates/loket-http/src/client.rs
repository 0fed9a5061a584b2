//! Outgoing HTTP calls that always carry the trace context.

use std::time::Duration;

use loket_core::TraceContext;
use serde::de::DeserializeOwned;

/// The largest answer read from another service (a register through the outway, another
/// organisation's log, an identity provider). Each is held whole to be parsed, so the
/// other side must not be able to make us hold any amount.
pub const MAX_ANSWER: usize = 16 * 1024 * 1024;

/// Why an answer could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error("the answer broke off: {0}")]
    Read(#[from] reqwest::Error),
    #[error("the answer is larger than {MAX_ANSWER} bytes")]
    TooLarge,
    #[error("the answer is not the JSON expected: {0}")]
    Json(#[from] serde_json::Error),
}

/// `response`'s body as JSON, read up to [`MAX_ANSWER`] bytes.
pub async fn json_answer<T: DeserializeOwned>(
    mut response: reqwest::Response,
) -> Result<T, AnswerError> {
    let announced = response.content_length().unwrap_or(0);
    if announced > MAX_ANSWER as u64 {
        return Err(AnswerError::TooLarge);
    }
    // Most answers announce their length: one allocation, no growing.
    let mut body = Vec::with_capacity(usize::try_from(announced).unwrap_or(0));
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_ANSWER {
            return Err(AnswerError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(serde_json::from_slice(&body)?)
}

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
