//! `POST /haalcentraal/api/brp/personen` (and the same at `…/brp/v2/personen`), the change
//! feed and the OpenAPI document.

use std::sync::Arc;

use axum::Router;
use axum::extract::{OriginalUri, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use loket_core::Clock;
use loket_http::{ApiError, HttpService, JsonBody, parse_json};
use serde_json::Value;

use super::query::{self, QueryKind};
use super::render;
use super::store::{Parts, PersonStore};
use crate::common::api::{feed_route, openapi_route, unavailable};
use crate::common::feed::Feed;

/// The path Haal Centraal clients use.
pub const PERSONEN_PATH: &str = "/haalcentraal/api/brp/personen";
/// The same operation with the major version in the path, as the API Design Rules ask.
pub const VERSIONED_PATH: &str = "/haalcentraal/api/brp/v2/personen";
pub const MUTATIES_PATH: &str = "/haalcentraal/api/brp/v2/mutaties";
/// The version of the Haal Centraal BRP Personen API this register implements a subset of.
pub const API_VERSION: &str = "2.7.0";

#[derive(Debug, Clone)]
struct BrpState {
    store: Arc<dyn PersonStore>,
    clock: Arc<dyn Clock>,
}

/// The BRP register as an HTTP service.
pub fn service(store: Arc<dyn PersonStore>, feed: Feed, clock: Arc<dyn Clock>) -> HttpService {
    let routes = Router::new()
        .route(PERSONEN_PATH, post(personen))
        .route(VERSIONED_PATH, post(personen))
        .with_state(BrpState { store, clock })
        .merge(feed_route(MUTATIES_PATH, feed))
        .merge(openapi_route(super::openapi::document()));
    HttpService::new("brp", routes).api_version(API_VERSION)
}

async fn personen(
    State(state): State<BrpState>,
    OriginalUri(uri): OriginalUri,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let query = match query::parse_plain(&body) {
        Some(query) => query,
        None => {
            let body: Value = parse_json(&body)?;
            query::parse(&body, uri.path())?
        }
    };
    let parts = Parts::for_answer(&query.fields);
    let found = match query.kind {
        QueryKind::RaadpleegMetBurgerservicenummer => {
            state
                .store
                .by_bsn(&query.filter.burgerservicenummers, parts)
                .await
        }
        _ => state.store.search(&query.filter, parts).await,
    }
    .map_err(unavailable("BRP"))?;
    let today = loket_core::dutch_today(state.clock.as_ref());
    let target = query.kind.field_target();
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(b"{\"type\":\"");
    out.extend_from_slice(query.kind.name().as_bytes());
    out.extend_from_slice(b"\",\"personen\":[");
    for (i, person) in found
        .iter()
        .filter(|person| query.filter.matches(person))
        .enumerate()
    {
        if i > 0 {
            out.push(b',');
        }
        render::person(&mut out, person, target, today, &query.fields);
    }
    out.extend_from_slice(b"]}");
    Ok(([(CONTENT_TYPE, "application/json")], out).into_response())
}
