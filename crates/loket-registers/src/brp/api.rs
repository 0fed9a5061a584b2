//! `POST /haalcentraal/api/brp/personen`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderName, HeaderValue};
use axum::routing::post;
use axum::{Json, Router};
use loket_core::{Clock, Problem};
use loket_http::{ApiError, ApiJson, HttpService};
use serde_json::{Value, json};
use tower_http::set_header::SetResponseHeaderLayer;

use super::query::{self, QueryKind};
use super::render;
use super::store::PersonStore;

pub const PERSONEN_PATH: &str = "/haalcentraal/api/brp/personen";
/// The version of the Haal Centraal BRP Personen API this register implements a subset of.
pub const API_VERSION: &str = "2.7.0";

#[derive(Debug, Clone)]
struct BrpState {
    store: Arc<dyn PersonStore>,
    clock: Arc<dyn Clock>,
}

/// The BRP register as an HTTP service.
pub fn service(store: Arc<dyn PersonStore>, clock: Arc<dyn Clock>) -> HttpService {
    let routes = Router::new()
        .route(PERSONEN_PATH, post(personen))
        .with_state(BrpState { store, clock })
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("api-version"),
            HeaderValue::from_static(API_VERSION),
        ));
    HttpService::new("brp", routes)
}

async fn personen(
    State(state): State<BrpState>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let query = query::parse(&body)?;
    let found = match query.kind {
        QueryKind::RaadpleegMetBurgerservicenummer => {
            state.store.by_bsn(&query.filter.burgerservicenummers).await
        }
        _ => state.store.search(&query.filter).await,
    }
    .map_err(|error| {
        tracing::error!(%error, "BRP store failed");
        Problem::new(
            503,
            "notAvailable",
            "Bronservice BRP is tijdelijk niet beschikbaar.",
        )
        .with_type("https://datatracker.ietf.org/doc/html/rfc7231#section-6.6.4")
    })?;
    let today = state.clock.now().date();
    let target = query.kind.field_target();
    let personen: Vec<Value> = found
        .iter()
        .filter(|person| query.filter.matches(person))
        .map(|person| {
            query
                .fields
                .select(&render::person(person, target, today))
                .unwrap_or_else(|| json!({}))
        })
        .collect();
    Ok(Json(
        json!({ "type": query.kind.name(), "personen": personen }),
    ))
}
