//! The log's HTTP API: LDV's read API (`POST /processing-activities`, for the resident
//! through the portal and for the privacy officer), and the public transparency
//! endpoints (latest signed tree head, inclusion and consistency proofs).
//! `openapi/ldv-lezen-openapi.json` is LDV's published description of the read API,
//! with the missing comma that kept the published file from parsing put back;
//! `openapi/logboek-api.json` describes this API as it is, served at
//! `/lezenapi/v1/openapi.json`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use loket_core::{Bsn, InvalidParam, Problem, Secret, resident_assertion};
use loket_http::{ApiError, ApiJson, ApiQuery, HttpService};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::Verwerkingsactiviteit;
use crate::log::{LogError, Logboek};
use crate::record::Body;
use crate::store::Filter;

/// This API's description (LDV's read API as Loket gives it, and the proofs), served at
/// `{BASE}/openapi.json` without a token.
pub const OPENAPI: &str = include_str!("../openapi/logboek-api.json");

/// Where the read API lives, as LDV's server URL has it.
pub const BASE: &str = "/lezenapi/v1";
pub const API_VERSION: &str = "1.1.0";
const DEFAULT_LIMIT: u32 = 25;
const MAX_LIMIT: u32 = 1000;

/// Who may read the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The portal, acting for a signed-in resident: each request carries a resident
    /// assertion signed with the portal's key (`portal_key`, its Ed25519 public key), and
    /// may only ask about the resident it names.
    Resident { portal_key: [u8; 32] },
    /// The privacy officer (FG): may search by subject, trace or time.
    PrivacyOfficer,
}

/// A client of the read API: a bearer token (kept only as its SHA-256) and its role.
#[derive(Debug, Clone)]
pub struct Reader {
    pub name: String,
    token_digest: [u8; 32],
    pub role: Role,
}

impl Reader {
    pub fn new(name: &str, token: &Secret<String>, role: Role) -> Self {
        Self {
            name: name.to_owned(),
            token_digest: Sha256::digest(token.expose().as_bytes()).into(),
            role,
        }
    }
}

/// Who is asking, once the request's credentials are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Caller {
    /// The portal, for this signed-in resident.
    Resident(Bsn),
    PrivacyOfficer,
}

#[derive(Debug, Clone)]
struct Api {
    log: Logboek,
    readers: Arc<[Reader]>,
}

/// The log as an HTTP service of its own.
pub fn service(log: Logboek, readers: Vec<Reader>) -> HttpService {
    let api = Api {
        log,
        readers: readers.into(),
    };
    let routes = Router::new()
        .route(
            &format!("{BASE}/processing-activities"),
            post(processing_activities),
        )
        .route(&format!("{BASE}/tree-heads/latest"), get(latest_head))
        .route(&format!("{BASE}/proofs/inclusion"), get(inclusion))
        .route(&format!("{BASE}/proofs/consistency"), get(consistency))
        .route(&format!("{BASE}/openapi.json"), get(openapi))
        .with_state(api);
    // Other organisations' portals and the privacy officer read it: like the portal and
    // the inway it answers only `/healthz`; its log's readiness and the process's
    // metrics are at the operations address (`Platform::ready_when`).
    HttpService::new("logboek", routes)
        .api_version(API_VERSION)
        .without_operator_routes()
}

async fn openapi() -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
}

impl From<LogError> for ApiError {
    fn from(error: LogError) -> Self {
        tracing::error!(%error, "processing log request failed");
        Problem::unavailable("Het logboek is nu niet beschikbaar.").into()
    }
}

/// The caller, from the request's head alone: a request without valid credentials is
/// refused before its query or body is read.
impl axum::extract::FromRequestParts<Api> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        api: &Api,
    ) -> Result<Self, ApiError> {
        authorise(api, &parts.headers)
    }
}

fn authorise(api: &Api, headers: &HeaderMap) -> Result<Caller, ApiError> {
    match reader_role(api, headers)? {
        Role::PrivacyOfficer => Ok(Caller::PrivacyOfficer),
        Role::Resident { portal_key } => {
            let assertion = headers
                .get(resident_assertion::HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            resident_assertion::verify(
                assertion,
                &portal_key,
                &api.log.verifying_key().0,
                api.log.clock().now(),
            )
            .map(Caller::Resident)
            .map_err(|error| {
                tracing::warn!(%error, "a resident reader's assertion was refused");
                ApiError::from(
                    Problem::new(401, "unauthorized", "Niet geautoriseerd.").with_detail(
                        "Namens een inwoner is een geldige verklaring van het portaal nodig \
                         (Loket-Resident-Assertion).",
                    ),
                )
            })
        }
    }
}

/// The role of the reader whose bearer token the request carries.
fn reader_role(api: &Api, headers: &HeaderMap) -> Result<Role, ApiError> {
    let token = loket_http::bearer_token(headers);
    let unauthorised = || {
        ApiError::from(
            Problem::new(401, "unauthorized", "Niet geautoriseerd.")
                .with_detail("Geef een geldig toegangstoken mee (Authorization: Bearer …)."),
        )
    };
    let token = token.ok_or_else(unauthorised)?;
    let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    api.readers
        .iter()
        .find(|reader| loket_core::same_secret(&reader.token_digest, &digest))
        .map(|reader| reader.role)
        .ok_or_else(unauthorised)
}

/// LDV's request body, with the subject given as the BSN itself: only the log holds the
/// pseudonym key, so it pseudonymises on the way in.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    #[serde(rename = "dpl.core.data_subject_id")]
    data_subject_id: Option<String>,
    #[serde(rename = "dpl.core.data_subject_id_type")]
    data_subject_id_type: Option<String>,
    #[serde(rename = "dpl.core.processing_activity_id")]
    processing_activity_id: Option<String>,
    #[serde(rename = "traceId")]
    trace_id: Option<String>,
    #[serde(rename = "startTime")]
    start_time: Option<i64>,
    #[serde(rename = "endTime")]
    end_time: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Page {
    cursor: Option<String>,
    limit: Option<u32>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Found {
    #[serde(flatten)]
    body: Body,
    /// The record's place in the log, for an inclusion proof.
    log_index: u64,
    /// What the record's leaf commits to besides its place: a reader hashes `body` (the
    /// record exactly as stored) with the index and expiry, and checks that leaf against
    /// a signed tree head, so what it shows is provably what the log holds.
    integrity: Integrity,
    #[serde(skip_serializing_if = "Option::is_none")]
    verwerkingsactiviteit: Option<Verwerkingsactiviteit>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Integrity {
    expires_at: i64,
    body: String,
}

async fn processing_activities(
    State(api): State<Api>,
    caller: Caller,
    ApiQuery(page): ApiQuery<Page>,
    ApiJson(request): ApiJson<Request>,
) -> Result<Json<Value>, ApiError> {
    let filter = filter(&api.log, &caller, request, &page)?;
    let entries = api.log.query(&filter).await?;
    let next = (entries.len() == filter.limit as usize)
        .then(|| entries.last().map(|e| e.index.to_string()))
        .flatten();
    let mut found = Vec::with_capacity(entries.len());
    for entry in entries {
        let Some(text) = entry.body else { continue };
        // A body that does not read was changed behind the log's back: the caller gets
        // the rest, `verify` names it.
        let Ok(body) = serde_json::from_str::<Body>(&text) else {
            tracing::error!(
                index = entry.index,
                "a record's body cannot be read; not served (run `loket log verify`)"
            );
            continue;
        };
        // The store found the record by its columns; what is served is the hashed body,
        // so it must be what was asked for. A column changed behind the log's back
        // (another resident's pseudonym, say) would otherwise show one resident's
        // record to another, and as verified.
        if !matches_body(&filter, &body) {
            tracing::error!(
                index = entry.index,
                "a record's columns do not match its body; not served (run `loket log verify`)"
            );
            continue;
        }
        let integrity = Integrity {
            expires_at: entry.expires_at,
            body: text,
        };
        let activity = body
            .attributes
            .processing_activity_id
            .as_deref()
            .and_then(|id| api.log.activities().get(id))
            .cloned();
        found.push(Found {
            body,
            log_index: entry.index,
            integrity,
            verwerkingsactiviteit: activity,
        });
    }
    Ok(Json(json!({
        "processingActivities": found,
        "pagination": { "nextCursor": next.unwrap_or_default() },
    })))
}

/// Does the record's body say what the filter asked for (subject, trace, activity,
/// start time)?
fn matches_body(filter: &Filter, body: &Body) -> bool {
    let subject = body.attributes.data_subject_id.as_ref().map(|p| p.as_str());
    let activity = body.attributes.processing_activity_id.as_deref();
    filter.subject.as_deref().is_none_or(|s| subject == Some(s))
        && filter
            .trace_id
            .as_deref()
            .is_none_or(|t| body.trace_id == t)
        && filter
            .activity
            .as_deref()
            .is_none_or(|a| activity == Some(a))
        && filter
            .start_from_ms
            .is_none_or(|from| body.start_time >= from)
        && filter
            .start_until_ms
            .is_none_or(|until| body.start_time <= until)
}

/// Turn the request into a store filter, or into a 400 naming every bad parameter.
fn filter(
    log: &Logboek,
    caller: &Caller,
    request: Request,
    page: &Page,
) -> Result<Filter, ApiError> {
    let mut invalid = Vec::new();
    let subject = match (
        &request.data_subject_id,
        request.data_subject_id_type.as_deref(),
    ) {
        (None, None) => None,
        (Some(id), Some("BSN")) => match Bsn::parse(id) {
            Ok(bsn) => Some(bsn),
            Err(_) => {
                invalid.push(InvalidParam::new(
                    "dpl.core.data_subject_id",
                    "pattern",
                    "Waarde is geen geldig burgerservicenummer.",
                ));
                None
            }
        },
        (Some(_), Some(_)) => {
            invalid.push(InvalidParam::new(
                "dpl.core.data_subject_id_type",
                "enum",
                "Alleen BSN wordt ondersteund.",
            ));
            None
        }
        (Some(_), None) => {
            invalid.push(InvalidParam::new(
                "dpl.core.data_subject_id_type",
                "required",
                "Parameter is verplicht.",
            ));
            None
        }
        (None, Some(_)) => {
            invalid.push(InvalidParam::new(
                "dpl.core.data_subject_id",
                "required",
                "Parameter is verplicht.",
            ));
            None
        }
    };
    let trace_id = match request.trace_id.as_deref().map(parse_trace_id) {
        None => None,
        Some(Some(trace)) => Some(trace),
        Some(None) => {
            invalid.push(InvalidParam::new(
                "traceId",
                "pattern",
                "Waarde is geen trace-id (32 hexadecimale tekens of een UUID).",
            ));
            None
        }
    };
    let limit = page.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        invalid.push(InvalidParam::new(
            "limit",
            if limit < 1 { "minimum" } else { "maximum" },
            format!("Waarde moet tussen 1 en {MAX_LIMIT} liggen."),
        ));
    }
    let before = match page.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(cursor) => match cursor.parse::<u64>() {
            Ok(before) => Some(before),
            Err(_) => {
                invalid.push(InvalidParam::new("cursor", "invalid", "Onbekende cursor."));
                None
            }
        },
    };
    if !invalid.is_empty() {
        return Err(Problem::validation(invalid).into());
    }
    if subject.is_none() && trace_id.is_none() && request.processing_activity_id.is_none() {
        return Err(Problem::validation(vec![InvalidParam::new(
            "dpl.core.data_subject_id",
            "required",
            "Geef minstens een betrokkene, een trace of een verwerkingsactiviteit.",
        )])
        .into());
    }
    // The portal acts for one resident: it may only ever ask about that resident.
    if let Caller::Resident(signed_in) = caller
        && subject.as_ref() != Some(signed_in)
    {
        return Err(Problem::new(403, "forbidden", "Geen toegang.")
            .with_detail("Namens een inwoner kan alleen op die inwoner zelf worden gezocht.")
            .into());
    }
    Ok(Filter {
        subject: subject.map(|bsn| log.pseudonyms().bsn(bsn.as_str()).as_str().to_owned()),
        trace_id,
        activity: request.processing_activity_id,
        start_from_ms: request.start_time,
        start_until_ms: request.end_time,
        before,
        limit,
    })
}

/// A trace id as 32 lowercase hex digits; LDV's API writes it as a UUID, so both forms
/// are accepted.
fn parse_trace_id(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let hex = match bytes.len() {
        32 => text.to_owned(),
        // The UUID layout, 8-4-4-4-12, and no other place for the dashes.
        36 if [8, 13, 18, 23].iter().all(|&at| bytes[at] == b'-') => text.replace('-', ""),
        _ => return None,
    };
    (hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| hex.to_ascii_lowercase())
}

/// Anyone may read the newest signed head, which a running log signs within
/// [`crate::HEAD_INTERVAL`] of its newest records. A reader with a token (the portal,
/// about to prove the records it shows) gets one over every record committed when it
/// asked: the log signs it now. Not for anyone: each such head costs the log a
/// signature and a synced commit.
async fn latest_head(State(api): State<Api>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    let head = if reader_role(&api, &headers).is_ok() {
        api.log.latest_head().await?
    } else {
        api.log.newest_signed_head().await?
    };
    match head {
        Some(head) => Ok(Json(json!(head.to_json()))),
        None => Err(Problem::not_found()
            .with_detail("Het logboek heeft nog geen ondertekende stand.")
            .into()),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct InclusionQuery {
    index: u64,
    tree_size: u64,
}

async fn inclusion(
    State(api): State<Api>,
    ApiQuery(query): ApiQuery<InclusionQuery>,
) -> Result<Json<Value>, ApiError> {
    signed_size(&api, query.tree_size, "treeSize").await?;
    let proof = api
        .log
        .inclusion_proof(query.index, query.tree_size)
        .await?
        .ok_or_else(|| out_of_range("index"))?;
    let leaf = api
        .log
        .store()
        .nodes(&[(0, query.index)])
        .await
        .map_err(LogError::from)?
        .remove(&(0, query.index))
        .ok_or_else(|| out_of_range("index"))?;
    Ok(Json(json!({
        "leafIndex": query.index,
        "treeSize": query.tree_size,
        "leafHash": STANDARD.encode(leaf),
        "auditPath": proof.iter().map(|h| STANDARD.encode(h)).collect::<Vec<_>>(),
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsistencyQuery {
    first: u64,
    second: u64,
}

async fn consistency(
    State(api): State<Api>,
    ApiQuery(query): ApiQuery<ConsistencyQuery>,
) -> Result<Json<Value>, ApiError> {
    signed_size(&api, query.first, "first").await?;
    signed_size(&api, query.second, "second").await?;
    let proof = api
        .log
        .consistency_proof(query.first, query.second)
        .await?
        .ok_or_else(|| out_of_range("first"))?;
    Ok(Json(json!({
        "first": query.first,
        "second": query.second,
        "consistency": proof.iter().map(|h| STANDARD.encode(h)).collect::<Vec<_>>(),
    })))
}

/// Proofs are only given against sizes the log signed a head for; `name` is the query
/// parameter that gave `size`.
async fn signed_size(api: &Api, size: u64, name: &str) -> Result<(), ApiError> {
    match api.log.store().head(size).await.map_err(LogError::from)? {
        Some(_) => Ok(()),
        None => Err(Problem::validation(vec![InvalidParam::new(
            name,
            "invalid",
            "Voor deze grootte is geen ondertekende boomkop; neem de treeSize van een boomkop (tree-heads).",
        )])
        .into()),
    }
}

fn out_of_range(name: &str) -> ApiError {
    Problem::validation(vec![InvalidParam::new(
        name,
        "maximum",
        "Waarde valt buiten de boom.",
    )])
    .into()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    /// Our copy of LDV's read API parses, and the route we serve is the one it describes.
    #[test]
    fn the_ldv_description_parses_and_names_our_route() {
        let spec: serde_json::Value =
            serde_json::from_str(include_str!("../openapi/ldv-lezen-openapi.json")).unwrap();
        let server = spec["servers"][0]["url"].as_str().unwrap();
        assert!(server.ends_with(super::BASE), "{server}");
        assert!(spec["paths"]["/processing-activities"]["post"].is_object());
    }

    proptest::proptest! {
        /// Any `traceId` text is a trace id or refused; an accepted one is 32 lower-case
        /// hex digits, and the UUID form of an id means that same id.
        #[test]
        fn a_trace_id_is_32_hex_digits_in_either_form(
            text in ".{0,40}",
            id in proptest::array::uniform16(proptest::num::u8::ANY),
            upper in proptest::bool::ANY,
        ) {
            if let Some(parsed) = super::parse_trace_id(&text) {
                proptest::prop_assert_eq!(parsed.len(), 32);
                proptest::prop_assert!(parsed.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
            }
            let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
            let uuid = uuid::Uuid::from_bytes(id).to_string();
            let shown = if upper { uuid.to_ascii_uppercase() } else { uuid };
            proptest::prop_assert_eq!(super::parse_trace_id(&hex), Some(hex.clone()));
            proptest::prop_assert_eq!(super::parse_trace_id(&shown), Some(hex.clone()));
            // Dashes anywhere else do not make a UUID.
            let misplaced = format!("{}-{}-{}-{}-{}", &hex[..4], &hex[4..8], &hex[8..12], &hex[12..16], &hex[16..]);
            proptest::prop_assert_eq!(super::parse_trace_id(&misplaced), None);
        }
    }
}
