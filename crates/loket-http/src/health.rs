//! Liveness and readiness.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::response::{IntoResponse, Response};
use loket_core::Problem;
use serde_json::{Map, Value, json};

use crate::ApiError;

/// Something a service needs before it can serve: its database, a key, a peer.
#[async_trait::async_trait]
pub trait ReadinessCheck: Send + Sync {
    fn name(&self) -> &str;
    async fn check(&self) -> Result<(), String>;
}

/// A check may not keep `/readyz` waiting longer than this.
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

pub(crate) async fn healthz() -> Response {
    Json(json!({ "status": "ok" })).into_response()
}

pub(crate) async fn readyz(checks: Arc<Vec<Arc<dyn ReadinessCheck>>>) -> Response {
    let results = futures::future::join_all(checks.iter().map(|check| async move {
        let outcome = match tokio::time::timeout(CHECK_TIMEOUT, check.check()).await {
            Ok(outcome) => outcome,
            Err(_) => Err(format!("no answer within {} s", CHECK_TIMEOUT.as_secs())),
        };
        (check.name().to_owned(), outcome)
    }))
    .await;

    let mut report = Map::new();
    let mut failures = Vec::new();
    for (name, outcome) in results {
        match outcome {
            Ok(()) => {
                report.insert(name, Value::from("ok"));
            }
            Err(reason) => {
                tracing::warn!(check = %name, %reason, "not ready");
                failures.push(format!("{name}: {reason}"));
                report.insert(name, Value::from("failing"));
            }
        }
    }
    if failures.is_empty() {
        Json(json!({ "status": "ready", "checks": report })).into_response()
    } else {
        ApiError::from(Problem::unavailable(failures.join("; "))).into_response()
    }
}
