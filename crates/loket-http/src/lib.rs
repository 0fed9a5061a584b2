//! The HTTP edge that every Loket service shares.
//!
//! A service hands its routes to [`HttpService`] and gets back a router with the same
//! behaviour as every other service: `/healthz`, `/readyz`, `/metrics`, W3C trace context,
//! a request timeout, a body size limit, security headers, and errors as RFC 9457
//! problem+json (or the service's own friendly HTML page when a browser asks).
//!
//! Architecture invariant: this crate knows no domain. It never names a register, a case
//! or a resident; it only knows requests, responses and problems.

mod bearer;
mod client;
mod error;
mod form;
mod health;
mod json;
mod metrics;
mod negotiate;
#[cfg(feature = "testing")]
pub mod openapi_check;
mod query;
mod security;
mod serve;
mod service;
mod text;
mod trace;

pub use bearer::bearer_token;
pub use client::{AnswerError, ClientBuildError, MAX_ANSWER, OutgoingClient, json_answer};
pub use error::ApiError;
pub use form::FormInput;
pub use health::ReadinessCheck;
pub use json::{ApiJson, JSON_BODY_LIMIT, JsonBody, parse_json};
pub use metrics::Metrics;
pub use negotiate::ErrorPages;
pub use query::{ApiQuery, parse_query};
pub use serve::serve;
pub use service::{HttpService, REQUEST_TIMEOUT};
pub use text::refuse_nul;
pub use trace::RequestTrace;

pub const PROBLEM_JSON: &str = "application/problem+json";
