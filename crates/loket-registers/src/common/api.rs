//! What every register's HTTP API shares: the query endpoint for the registers built on
//! [`RecordStore`], the change feed, the OpenAPI document and the `API-Version` header.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{OriginalUri, Query as UrlQuery, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use loket_core::{Clock, Problem};
use loket_http::{ApiError, ApiJson, HttpService};
use serde_json::{Value, json};
use time::Date;

use super::feed::{Feed, MAX_PAGE};
use super::fields::{CheckedFields, FieldPaths};
use super::params::Errors;
use super::query::{self, Lookup, QueryType};
use super::records::{Record, RecordStore};

/// The answer when a register's own store fails: the client may try again later.
pub(crate) fn unavailable(register: &str) -> impl Fn(loket_store::StoreError) -> ApiError + '_ {
    move |error| {
        tracing::error!(%error, register, "register store failed");
        Problem::new(
            503,
            "notAvailable",
            format!("Bronservice {register} is tijdelijk niet beschikbaar."),
        )
        .with_type("https://datatracker.ietf.org/doc/html/rfc7231#section-6.6.4")
        .into()
    }
}

/// `GET /openapi.json`.
pub(crate) fn openapi_route(document: Value) -> Router {
    let document = Arc::new(document);
    Router::new().route(
        "/openapi.json",
        get(move || {
            let document = document.clone();
            async move { Json((*document).clone()) }
        }),
    )
}

/// `GET {path}?vanaf=N&aantal=M`: mutations numbered N and up.
pub(crate) fn feed_route(path: &str, feed: Feed) -> Router {
    Router::new().route(path, get(mutaties)).with_state(feed)
}

async fn mutaties(
    State(feed): State<Feed>,
    OriginalUri(uri): OriginalUri,
    UrlQuery(params): UrlQuery<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let mut errors = Errors::default();
    let mut number = |name: &str, default: u64, max: u64| -> u64 {
        let Some(text) = params.get(name) else {
            return default;
        };
        match text.parse::<u64>() {
            Err(_) => {
                errors.add(name, "integer", "Waarde is geen geldig getal.");
                default
            }
            Ok(0) => {
                errors.add(name, "minimum", "Waarde is lager dan minimum 1.");
                default
            }
            Ok(n) if n > max => {
                errors.add(
                    name,
                    "maximum",
                    format!("Waarde is hoger dan maximum {max}."),
                );
                default
            }
            Ok(n) => n,
        }
    };
    let vanaf = number("vanaf", 1, i64::MAX as u64);
    let aantal = number("aantal", 100, u64::from(MAX_PAGE));
    for key in params.keys() {
        if key != "vanaf" && key != "aantal" {
            errors.add(key.as_str(), "unknownParam", "Parameter is niet verwacht.");
        }
    }
    if !errors.is_empty() {
        return Err(errors.into_problem(uri.path()).into());
    }
    let page = feed
        .since(vanaf, u32::try_from(aantal).unwrap_or(MAX_PAGE))
        .await
        .map_err(unavailable("mutaties"))?;
    let volgende = page.last().map_or(vanaf, |m| m.volgnummer + 1);
    Ok(Json(json!({ "mutaties": page, "volgende": volgende })))
}

/// A register built on [`RecordStore`]: what it answers and how.
#[derive(Debug)]
pub struct RegisterApi<R: Record> {
    /// The service name (also the database component).
    pub(crate) name: &'static str,
    pub(crate) version: &'static str,
    /// Where the query endpoint is served (the versioned path first).
    pub(crate) query_paths: &'static [&'static str],
    pub(crate) feed_path: &'static str,
    pub(crate) types: &'static [QueryType],
    pub(crate) max_fields: usize,
    /// The key of the answer's list (`reisdocumenten`, `voertuigen`, …).
    pub(crate) list: &'static str,
    pub(crate) render: fn(&R, Date) -> Value,
    /// A complete item: the `fields` paths it has are the ones a client may ask for.
    pub(crate) example: fn() -> R,
    pub(crate) openapi: fn() -> Value,
}

struct ApiState<R: Record> {
    api: &'static RegisterApi<R>,
    paths: FieldPaths,
    checked: CheckedFields,
    store: Arc<dyn RecordStore<R>>,
    clock: Arc<dyn Clock>,
}

impl<R: Record> RegisterApi<R> {
    /// The register's OpenAPI document, as served at `/openapi.json`.
    pub fn openapi_document(&self) -> Value {
        (self.openapi)()
    }

    /// The `fields` paths this register accepts.
    pub fn field_paths(&self) -> FieldPaths {
        FieldPaths::from_example(&(self.render)(&(self.example)(), Date::MIN))
    }

    pub fn service(
        &'static self,
        store: Arc<dyn RecordStore<R>>,
        feed: Feed,
        clock: Arc<dyn Clock>,
    ) -> HttpService {
        let state = Arc::new(ApiState {
            api: self,
            paths: self.field_paths(),
            checked: CheckedFields::default(),
            store,
            clock,
        });
        let mut queries = Router::new();
        for path in self.query_paths {
            queries = queries.route(path, post(query_handler::<R>));
        }
        let routes = queries
            .with_state(state)
            .merge(feed_route(self.feed_path, feed))
            .merge(openapi_route((self.openapi)()));
        HttpService::new(self.name, routes).api_version(self.version)
    }
}

async fn query_handler<R: Record>(
    State(state): State<Arc<ApiState<R>>>,
    OriginalUri(uri): OriginalUri,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let api = state.api;
    let query = query::parse(
        api.types,
        api.max_fields,
        &state.paths,
        &state.checked,
        &body,
        uri.path(),
    )?;
    let found = match query.kind.lookup {
        Lookup::ByKey => state.store.by_key(&query.values).await,
        Lookup::ByBsn => state.store.by_bsn(&query.values[0]).await,
    }
    .map_err(unavailable(api.name))?;
    let today = loket_core::dutch_today(state.clock.as_ref());
    let items: Vec<Value> = found
        .iter()
        .map(|record| {
            query
                .fields
                .select((api.render)(record, today))
                .unwrap_or_else(|| json!({}))
        })
        .collect();
    let mut answer = serde_json::Map::new();
    answer.insert("type".into(), json!(query.kind.name));
    answer.insert(api.list.into(), Value::Array(items));
    Ok(Json(Value::Object(answer)))
}
