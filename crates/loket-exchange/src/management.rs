//! The manager's JSON API: list the directory and contracts; publish a service, request a
//! connection, accept and revoke contracts. Each caller's bearer token stands for one
//! organisation, and every signature is made with that organisation's key.

use std::num::NonZeroU16;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use loket_core::{InvalidParam, Problem, Secret};
use loket_http::{ApiError, ApiJson, HttpService};
use loket_logboek::Activities;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::contract::Validity;
use crate::manager::{Manager, ManagerError, ServiceEntry};
use crate::pki::Identity;

pub const BASE: &str = "/api/v1";

/// An organisation that may manage its contracts here, by token.
#[derive(Debug)]
pub struct Operator {
    token_digest: [u8; 32],
    pub identity: Identity,
}

impl Operator {
    pub fn new(token: &Secret<String>, identity: Identity) -> Self {
        Self {
            token_digest: Sha256::digest(token.expose().as_bytes()).into(),
            identity,
        }
    }
}

#[derive(Debug, Clone)]
struct Api {
    manager: Manager,
    operators: Arc<[Operator]>,
    /// The operators' register of processing activities: a grant asked for names only
    /// activities in it.
    register: Arc<Activities>,
}

/// The management API.
pub fn service(
    manager: Manager,
    operators: Vec<Operator>,
    register: Arc<Activities>,
) -> HttpService {
    let api = Api {
        manager,
        operators: operators.into(),
        register,
    };
    let routes = Router::new()
        .route(&format!("{BASE}/peers"), get(peers))
        .route(&format!("{BASE}/services"), get(services).post(publish))
        .route(&format!("{BASE}/contracts"), get(contracts).post(request))
        .route(&format!("{BASE}/contracts/{{hash}}/accept"), post(accept))
        .route(&format!("{BASE}/contracts/{{hash}}/revoke"), post(revoke))
        .with_state(api);
    HttpService::new("exchange-manager", routes)
}

impl From<ManagerError> for ApiError {
    fn from(error: ManagerError) -> Self {
        match &error {
            ManagerError::UnknownService(_) | ManagerError::UnknownContract(_) => {
                Problem::not_found().with_detail(error.to_string()).into()
            }
            ManagerError::ServiceTaken { .. } => {
                Problem::new(409, "serviceTaken", "Deze dienstnaam is al in gebruik.")
                    .with_detail(error.to_string())
                    .into()
            }
            ManagerError::NotAParty(_) => {
                Problem::new(403, "notAParty", "Geen partij bij dit contract.")
                    .with_detail(error.to_string())
                    .into()
            }
            ManagerError::NoActivity => Problem::validation(vec![InvalidParam::new(
                "processingActivities",
                "minItems",
                "Array bevat minder dan 1 items.",
            )])
            .into(),
            ManagerError::UnknownActivity(id) => Problem::validation(vec![InvalidParam::new(
                "processingActivities",
                "unknown",
                format!("{id} staat niet in het register van verwerkingsactiviteiten."),
            )])
            .into(),
            ManagerError::Invalid(flaws) => Problem::validation(
                flaws
                    .iter()
                    .map(|flaw| {
                        InvalidParam::new(flaw.field, flaw.rule.code(), flaw.rule.reason_nl())
                    })
                    .collect(),
            )
            .into(),
            _ => {
                tracing::error!(%error, "exchange management failed");
                Problem::internal().into()
            }
        }
    }
}

fn operator<'a>(api: &'a Api, headers: &HeaderMap) -> Result<&'a Operator, ApiError> {
    let digest: Option<[u8; 32]> = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|token| Sha256::digest(token.as_bytes()).into());
    digest
        .and_then(|digest| {
            api.operators.iter().find(|o| {
                o.token_digest
                    .iter()
                    .zip(&digest)
                    .fold(0u8, |acc, (x, y)| acc | (x ^ y))
                    == 0
            })
        })
        .ok_or_else(|| {
            Problem::new(401, "unauthorized", "Niet geautoriseerd.")
                .with_detail("Geef een geldig beheertoken mee (Authorization: Bearer …).")
                .into()
        })
}

async fn peers(State(api): State<Api>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    operator(&api, &headers)?;
    let policy = api.manager.policy();
    let mut peers: Vec<Value> = policy
        .peers
        .values()
        .map(|p| json!({"peerId": p.oin, "name": p.name}))
        .collect();
    peers.sort_by(|a, b| a["peerId"].as_str().cmp(&b["peerId"].as_str()));
    Ok(Json(json!({ "peers": peers })))
}

async fn services(State(api): State<Api>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    operator(&api, &headers)?;
    let policy = api.manager.policy();
    let mut services: Vec<&ServiceEntry> = policy.services.values().collect();
    services.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Json(json!({ "services": services })))
}

async fn contracts(State(api): State<Api>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    operator(&api, &headers)?;
    Ok(Json(json!({ "contracts": api.manager.policy().contracts })))
}

/// Days from now a contract is valid when the request does not say.
const DEFAULT_DAYS: NonZeroU16 = NonZeroU16::MIN.saturating_add(364);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Publish {
    name: String,
    inway: String,
    openapi: String,
    subject_field: Option<String>,
    valid_days: Option<NonZeroU16>,
}

async fn publish(
    State(api): State<Api>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Publish>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let operator = operator(&api, &headers)?;
    let entry = ServiceEntry {
        name: body.name,
        peer_id: operator.identity.oin.as_str().to_owned(),
        inway: body.inway,
        openapi: body.openapi,
        subject_field: body.subject_field,
    };
    let hash = api
        .manager
        .publish(&operator.identity, entry, validity(body.valid_days))
        .await?;
    // Each proposal is a new contract (its own nonce), so the answer says it was created.
    Ok((StatusCode::CREATED, Json(json!({ "contractHash": hash }))))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Request {
    service: String,
    processing_activities: Vec<String>,
    fields: Option<Vec<String>>,
    valid_days: Option<NonZeroU16>,
}

async fn request(
    State(api): State<Api>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Request>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let operator = operator(&api, &headers)?;
    let hash = api
        .manager
        .request_connection(
            &operator.identity,
            &body.service,
            body.processing_activities,
            body.fields,
            validity(body.valid_days),
            &api.register,
        )
        .await?;
    // Each proposal is a new contract (its own nonce), so the answer says it was created.
    Ok((StatusCode::CREATED, Json(json!({ "contractHash": hash }))))
}

async fn accept(
    State(api): State<Api>,
    headers: HeaderMap,
    Path(hash): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let operator = operator(&api, &headers)?;
    api.manager.accept(&operator.identity, &hash).await?;
    Ok(Json(state_of(&api, &hash)))
}

async fn revoke(
    State(api): State<Api>,
    headers: HeaderMap,
    Path(hash): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let operator = operator(&api, &headers)?;
    api.manager.revoke(&operator.identity, &hash).await?;
    Ok(Json(state_of(&api, &hash)))
}

fn state_of(api: &Api, hash: &str) -> Value {
    let policy = api.manager.policy();
    let state = policy
        .contracts
        .iter()
        .find(|c| c.hash == hash)
        .map(|c| c.state);
    json!({ "contractHash": hash, "state": state })
}

fn validity(days: Option<NonZeroU16>) -> Validity {
    Validity::days_from_now(days.unwrap_or(DEFAULT_DAYS))
}
