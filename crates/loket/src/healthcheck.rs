//! `loket healthcheck`: for scripts, tests and container orchestrators.

use std::time::Duration;

use anyhow::{Context, bail};
use loket_core::TraceContext;
use loket_http::OutgoingClient;

/// A base URL means "is it ready?"; a URL with a path is checked as given.
fn target(url: &str) -> String {
    let trimmed = url.trim_end_matches('/');
    let has_path = trimmed
        .split_once("://")
        .is_some_and(|(_, rest)| rest.contains('/'));
    if has_path {
        trimmed.to_owned()
    } else {
        format!("{trimmed}/readyz")
    }
}

pub async fn run(url: &str, timeout_seconds: u64) -> anyhow::Result<()> {
    let client = OutgoingClient::new(Duration::from_secs(timeout_seconds))?;
    let mut target = target(url);
    let mut response = get(&client, &target).await?;
    // The portal keeps readiness for the operations address and answers only /healthz:
    // a base URL of it is checked there. A path given is checked as given.
    if response.status() == reqwest::StatusCode::NOT_FOUND && target != url.trim_end_matches('/') {
        target = format!("{}/healthz", target.trim_end_matches("/readyz"));
        response = get(&client, &target).await?;
    }
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        let body = response.text().await.unwrap_or_default();
        bail!("{target} answered {status}: {body}")
    }
}

async fn get(client: &OutgoingClient, target: &str) -> anyhow::Result<reqwest::Response> {
    let (request, _) = client.get(target, &TraceContext::new_root());
    request
        .send()
        .await
        .with_context(|| format!("no answer from {target}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_check_readiness() {
        assert_eq!(
            target("http://127.0.0.1:8080"),
            "http://127.0.0.1:8080/readyz"
        );
        assert_eq!(
            target("http://127.0.0.1:8080/"),
            "http://127.0.0.1:8080/readyz"
        );
        assert_eq!(
            target("http://127.0.0.1:8080/healthz"),
            "http://127.0.0.1:8080/healthz"
        );
    }
}
