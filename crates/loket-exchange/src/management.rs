//! The manager's JSON API: list the directory and contracts; publish a service, request a
//! connection, accept and revoke contracts. Each caller's bearer token stands for one
//! organisation, and every signature is made with that organisation's key.

use std::num::NonZeroU16;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use loket_core::{InvalidParam, Problem, Secret};
use loket_http::{ApiError, ApiJson, HttpService};
use loket_logboek::Activities;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::contract::{ContractHash, Validity};
use crate::manager::{ContractState, Manager, ManagerError, Policy, ServiceEntry};
use crate::pki::Identity;

pub const BASE: &str = "/api/v1";

/// The API's description, served at `{BASE}/openapi.json` without a token.
pub const OPENAPI: &str = include_str!("../openapi/management-api.json");

/// The version in [`OPENAPI`], named in every answer's `API-Version` header.
pub const VERSION: &str = "1.0.0";

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
    operators: Arc<[Arc<Operator>]>,
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
        operators: operators.into_iter().map(Arc::new).collect(),
        register,
    };
    let routes = Router::new()
        .route(&format!("{BASE}/peers"), get(peers))
        .route(&format!("{BASE}/services"), get(services).post(publish))
        .route(&format!("{BASE}/contracts"), get(contracts).post(request))
        .route(&format!("{BASE}/contracts/{{hash}}/accept"), post(accept))
        .route(&format!("{BASE}/contracts/{{hash}}/revoke"), post(revoke))
        .route(&format!("{BASE}/openapi.json"), get(openapi))
        .with_state(api);
    HttpService::new("exchange-manager", routes).api_version(VERSION)
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

/// The organisation whose bearer token the request carries. An extractor that reads only
/// the head, so a request without a valid token is refused before its body is read.
struct Caller(Arc<Operator>);

impl FromRequestParts<Api> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, api: &Api) -> Result<Self, ApiError> {
        let digest: Option<[u8; 32]> = loket_http::bearer_token(&parts.headers)
            .map(|token| Sha256::digest(token.as_bytes()).into());
        digest
            .and_then(|digest| {
                api.operators
                    .iter()
                    .find(|o| loket_core::same_secret(&o.token_digest, &digest))
            })
            .map(|operator| Caller(operator.clone()))
            .ok_or_else(|| {
                Problem::new(401, "unauthorized", "Niet geautoriseerd.")
                    .with_detail("Geef een geldig beheertoken mee (Authorization: Bearer …).")
                    .into()
            })
    }
}

async fn peers(State(api): State<Api>, _: Caller) -> Result<Json<Value>, ApiError> {
    let policy = api.manager.policy();
    let mut peers: Vec<Value> = policy
        .peers
        .values()
        .map(|p| json!({"peerId": p.oin, "name": p.name}))
        .collect();
    peers.sort_by(|a, b| a["peerId"].as_str().cmp(&b["peerId"].as_str()));
    Ok(Json(json!({ "peers": peers })))
}

async fn services(State(api): State<Api>, _: Caller) -> Result<Json<Value>, ApiError> {
    let policy = api.manager.policy();
    let mut services: Vec<&ServiceEntry> = policy.services.values().collect();
    services.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Json(json!({ "services": services })))
}

async fn contracts(State(api): State<Api>, _: Caller) -> Result<Json<Value>, ApiError> {
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
    Caller(operator): Caller,
    ApiJson(body): ApiJson<Publish>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
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
    Caller(operator): Caller,
    ApiJson(body): ApiJson<Request>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
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

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

async fn accept(
    State(api): State<Api>,
    Caller(operator): Caller,
    Path(hash): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let hash = contract_hash(&hash)?;
    let state = counted_state(&api, &hash).await?;
    if matches!(state, ContractState::Revoked | ContractState::Expired) {
        // Signing it would change nothing; saying "accepted" would mislead.
        return Err(
            Problem::new(409, "contractEnded", "Dit contract geldt niet meer.")
                .with_detail(format!(
                    "Het contract is {}; vraag zo nodig een nieuw aan.",
                    if state == ContractState::Revoked {
                        "ingetrokken"
                    } else {
                        "verlopen"
                    }
                ))
                .into(),
        );
    }
    api.manager
        .accept(&operator.identity, hash.as_str())
        .await?;
    answer_state(&api, &hash).await
}

async fn revoke(
    State(api): State<Api>,
    Caller(operator): Caller,
    Path(hash): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let hash = contract_hash(&hash)?;
    counted_state(&api, &hash).await?;
    api.manager
        .revoke(&operator.identity, hash.as_str())
        .await?;
    answer_state(&api, &hash).await
}

/// Where contract `hash` stands as this directory counts it. One it does not count (none
/// by that hash, or one of another group or hash algorithm) is not found, and nobody
/// signs it here.
async fn counted_state(api: &Api, hash: &ContractHash) -> Result<ContractState, ApiError> {
    let state = |policy: &Policy| {
        let contract = policy.contracts.iter().find(|c| c.hash == hash.as_str());
        contract.map(|c| c.state)
    };
    if let Some(found) = state(&api.manager.policy()) {
        return Ok(found);
    }
    // Another process may have proposed it since this one last read the directory.
    let policy = api.manager.reload().await?;
    state(&policy).ok_or_else(|| ManagerError::UnknownContract(hash.to_string()).into())
}

async fn answer_state(api: &Api, hash: &ContractHash) -> Result<Json<Value>, ApiError> {
    let state = counted_state(api, hash).await?;
    Ok(Json(
        json!({ "contractHash": hash.as_str(), "state": state }),
    ))
}

/// The path's contract hash, or a problem that says what one looks like.
fn contract_hash(text: &str) -> Result<ContractHash, ApiError> {
    text.parse().map_err(|_| {
        Problem::validation(vec![InvalidParam::new(
            "hash",
            "pattern",
            "Geen contracthash: die is $1$1$ en 86 tekens A-Z, a-z, 0-9, - en _, waarvan het laatste A, Q, g of w.",
        )])
        .into()
    })
}

fn validity(days: Option<NonZeroU16>) -> Validity {
    Validity::days_from_now(days.unwrap_or(DEFAULT_DAYS))
}
