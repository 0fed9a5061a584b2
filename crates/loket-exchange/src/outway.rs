//! The outway: how an organisation's applications reach other organisations' services.
//! An application names the service in the path and states its processing activity; the
//! outway picks the grant for it, logs, and forwards over mutual TLS to the inway.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use loket_core::Clock;
use loket_http::{HttpService, JSON_BODY_LIMIT, RequestTrace};
use loket_logboek::{Direction, Logboek};
use serde_json::Value;

use crate::denial::{Denial, FSC_ERROR_CODE};
use crate::gateway::{self, Action, GRANT_HASH, PROCESSING_ACTIVITY, TRANSACTION_ID, header};
use crate::manager::{Connection, Manager, Policy};
use crate::pki::Identity;
use crate::subjects;
use crate::tls;

#[derive(Debug, Clone)]
pub struct Outway {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    oin: String,
    thumbprint: String,
    manager: Manager,
    log: Logboek,
    client: reqwest::Client,
    clock: Arc<dyn Clock>,
}

#[derive(Debug, thiserror::Error)]
pub enum OutwayError {
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error(transparent)]
    Client(#[from] reqwest::Error),
}

impl Outway {
    pub fn new(
        identity: &Identity,
        anchors: &[rustls_pki_types::CertificateDer<'static>],
        manager: Manager,
        log: Logboek,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, OutwayError> {
        let client = gateway::client(
            reqwest::Client::builder()
                .use_preconfigured_tls(tls::client_config(identity, anchors)?),
        )?;
        Ok(Self {
            inner: Arc::new(Inner {
                oin: identity.oin.as_str().to_owned(),
                thumbprint: identity.thumbprint.clone(),
                manager,
                log,
                client,
                clock,
            }),
        })
    }

    pub fn service(self) -> HttpService {
        gateway::pass_through("outway", handle, self)
    }
}

/// The grant of ours for `service` that covers the activity and the fields asked.
fn choose<'p>(
    outway: &Inner,
    policy: &'p Policy,
    service: &str,
    activity: Option<&str>,
    body: Option<&Value>,
) -> Result<&'p Connection, Denial> {
    if !policy.services.contains_key(service) {
        return Err(Denial::ServiceNotFound);
    }
    let now = outway.clock.now();
    let ours: Vec<&Connection> = policy
        .connections
        .values()
        .filter(|c| c.consumer == outway.oin && c.thumbprint == outway.thumbprint)
        .filter(|c| c.service == service && c.valid_at(now))
        .collect();
    if ours.is_empty() {
        return Err(Denial::GrantNotFound);
    }
    let activity = activity.ok_or(Denial::ProcessingActivityMissing)?;
    let for_activity: Vec<&Connection> = ours
        .into_iter()
        .filter(|c| c.processing_activities.iter().any(|a| a == activity))
        .collect();
    if for_activity.is_empty() {
        return Err(Denial::ProcessingActivityNotGranted);
    }
    let mut refusal = Denial::FieldNotGranted;
    for connection in for_activity {
        match gateway::fields_allowed(connection, body) {
            Ok(()) => return Ok(connection),
            Err(denial) => refusal = denial,
        }
    }
    Err(refusal)
}

async fn handle(
    State(outway): State<Outway>,
    RequestTrace(trace): RequestTrace,
    request: Request,
) -> Response {
    let inner = &outway.inner;
    let clock = inner.clock.as_ref();
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().trim_start_matches('/');
    let (service, rest) = path.split_once('/').unwrap_or((path, ""));
    let query = parts
        .uri
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    let activity = header(&parts.headers, PROCESSING_ACTIVITY);
    let policy = inner.manager.policy();
    let provider = policy.services.get(service);
    let mut action = Action {
        trace,
        start: clock.now(),
        direction: Direction::Outgoing,
        transaction_id: uuid::Uuid::now_v7().to_string(),
        grant_hash: None,
        source_peer: inner.oin.clone(),
        destination_peer: provider.map(|s| s.peer_id.clone()).unwrap_or_default(),
        service: service.to_owned(),
        activity: activity.map(str::to_owned),
        fields: Vec::new(),
    };
    let Ok(bytes) = axum::body::to_bytes(body, JSON_BODY_LIMIT).await else {
        return action
            .refuse(&inner.log, clock, Denial::BodyUnreadable)
            .await
            .into_response();
    };
    let json = gateway::json_body(&parts.headers, &bytes);
    action.fields = gateway::requested_fields(json.as_ref());
    let chosen = choose(inner, &policy, service, activity, json.as_ref());
    let (connection, inway) = match (chosen, provider) {
        (Ok(connection), Some(provider)) => (connection, provider.inway.clone()),
        (Err(denial), _) => {
            return action
                .refuse(&inner.log, clock, denial)
                .await
                .into_response();
        }
        (Ok(_), None) => {
            return action
                .refuse(&inner.log, clock, Denial::ServiceNotFound)
                .await
                .into_response();
        }
    };
    action.grant_hash = Some(connection.grant_hash.clone());
    let named = json.as_ref().map(subjects::requested).unwrap_or_default();
    if let Err(denial) = action.before_forwarding(&inner.log, clock, &named).await {
        return denial.into_response();
    }
    let mut forward = inner
        .client
        .request(parts.method.clone(), format!("{inway}/{rest}{query}"))
        .header("traceparent", action.trace.to_traceparent())
        .header(GRANT_HASH, &connection.grant_hash)
        .header(TRANSACTION_ID, &action.transaction_id)
        .header(PROCESSING_ACTIVITY, activity.unwrap_or_default());
    for name in [header::CONTENT_TYPE, header::ACCEPT] {
        if let Some(value) = parts.headers.get(&name) {
            forward = forward.header(name, value);
        }
    }
    let answer = match forward.body(bytes.clone()).send().await {
        Ok(answer) => answer,
        Err(error) => {
            tracing::warn!(%error, %service, "inway unreachable");
            let _ = action
                .answered(&inner.log, clock, false, &BTreeSet::new(), &named)
                .await;
            return Denial::ServiceUnreachable.into_response();
        }
    };
    let status = answer.status();
    let forwarded: Vec<(header::HeaderName, HeaderValue)> = [
        header::CONTENT_TYPE,
        header::HeaderName::from_static("api-version"),
        FSC_ERROR_CODE,
    ]
    .into_iter()
    .filter_map(|name| answer.headers().get(&name).cloned().map(|v| (name, v)))
    .collect();
    let Ok(body) = answer.bytes().await else {
        let _ = action
            .answered(&inner.log, clock, false, &BTreeSet::new(), &named)
            .await;
        return Denial::ServiceUnreachable.into_response();
    };
    let mut about = named.clone();
    if status.is_success()
        && let Ok(value) = serde_json::from_slice::<Value>(&body)
    {
        about.extend(subjects::anywhere(&value));
    }
    if let Err(denial) = action
        .answered(&inner.log, clock, status.is_success(), &about, &named)
        .await
    {
        return denial.into_response();
    }
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    for (name, value) in forwarded {
        response.headers_mut().insert(name, value);
    }
    if let Ok(value) = HeaderValue::from_str(&action.transaction_id) {
        response.headers_mut().insert(TRANSACTION_ID, value);
    }
    response
}
