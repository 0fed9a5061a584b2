//! A subset of the ZGW Zaken API (as Open Zaak serves it) under `/zaken/api/v1/`: list,
//! read and create cases, their statuses, roles and result, and change a case's term. Every call needs a client JWT
//! (`zgw_auth`); a client sees only the zaaktypen it is authorised for. The OpenAPI
//! document (`openapi/zaken-api.json`) is served at `/zaken/api/v1/openapi.json`.

mod create;
mod update;

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use loket_core::{Clock, InvalidParam, Problem};
use loket_http::{ApiError, ApiJson, ApiQuery, HttpService};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::ZaakStore;
use crate::zaak::{AuditEntry, NewStatus, Resultaat, Rol, Status, Zaak, ZaakFilter, statustype};
use crate::zgw_auth::{AuthError, Caller, Client, Clients, Scope};

pub const BASE: &str = "/zaken/api/v1";
pub const PAGE_SIZE: u32 = 100;
/// The API's version, sent as `API-Version` on every answer.
pub const API_VERSION: &str = "1.0.0";
/// The OpenAPI 3.0 document of this API.
pub const OPENAPI: &str = include_str!("../../openapi/zaken-api.json");
const BSN_FILTER: &str = "rol__betrokkeneIdentificatie__natuurlijkPersoon__inpBsn";

#[derive(Debug, Clone)]
pub struct ZgwApi {
    inner: Arc<Inner>,
}

/// A zaaktype cases may be created for through the API: a product of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zaaktype {
    pub id: String,
    pub omschrijving: String,
    pub behandeltermijn_dagen: u16,
}

#[derive(Debug)]
struct Inner {
    store: Arc<dyn ZaakStore>,
    clients: Clients,
    zaaktypen: Vec<Zaaktype>,
    /// The public base URL (scheme and host) for the `url` of every resource.
    base_url: String,
    clock: Arc<dyn Clock>,
}

impl ZgwApi {
    pub fn new(
        store: Arc<dyn ZaakStore>,
        clients: Clients,
        zaaktypen: Vec<Zaaktype>,
        base_url: &str,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                clients,
                zaaktypen,
                base_url: base_url.trim_end_matches('/').to_owned(),
                clock,
            }),
        }
    }

    /// The API as a service of its own: every answer, the edge's refusals included,
    /// names the API's version (API Design Rules).
    pub fn service(self) -> HttpService {
        HttpService::new("zaken-api", self.routes()).api_version(API_VERSION)
    }

    fn routes(self) -> Router {
        Router::new()
            .route(&format!("{BASE}/openapi.json"), get(openapi))
            .route(&format!("{BASE}/zaken"), get(list_zaken).post(create::zaak))
            .route(
                &format!("{BASE}/zaken/{{uuid}}"),
                get(read_zaak).patch(update::zaak),
            )
            .route(
                &format!("{BASE}/statussen"),
                get(list_statussen).post(create_status),
            )
            .route(&format!("{BASE}/statussen/{{uuid}}"), get(read_status))
            .route(
                &format!("{BASE}/rollen"),
                get(list_rollen).post(create::rol),
            )
            .route(&format!("{BASE}/rollen/{{uuid}}"), get(read_rol))
            .route(
                &format!("{BASE}/resultaten"),
                get(list_resultaten).post(create::resultaat),
            )
            .route(&format!("{BASE}/resultaten/{{uuid}}"), get(read_resultaat))
            .with_state(self)
    }

    fn url(&self, kind: &str, uuid: Uuid) -> String {
        format!("{}{BASE}/{kind}/{uuid}", self.inner.base_url)
    }

    fn catalogus_url(&self, kind: &str, id: &str) -> String {
        format!("{}/catalogi/api/v1/{kind}/{id}", self.inner.base_url)
    }

    fn authenticate(&self, headers: &HeaderMap) -> Result<(Caller, &Client), ApiError> {
        let authorization = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let now = self.inner.clock.now().unix_timestamp();
        self.inner
            .clients
            .authenticate(authorization, now)
            .map_err(not_authenticated)
    }

    fn zaak_json(&self, zaak: &Zaak) -> Value {
        json!({
            "url": self.url("zaken", zaak.uuid),
            "uuid": zaak.uuid,
            "identificatie": zaak.identificatie,
            "bronorganisatie": zaak.bronorganisatie,
            "omschrijving": zaak.omschrijving,
            "zaaktype": self.catalogus_url("zaaktypen", &zaak.zaaktype),
            "registratiedatum": date(zaak.registratiedatum),
            "startdatum": date(zaak.startdatum),
            "einddatumGepland": date(zaak.einddatum_gepland),
            "uiterlijkeEinddatumAfdoening": date(zaak.uiterlijke_einddatum_afdoening),
            "einddatum": zaak.einddatum.map(date),
            "opschorting": {
                "indicatie": zaak.opschorting.is_some(),
                "reden": zaak.opschorting.as_ref().map(|o| o.reden.as_str()).unwrap_or_default(),
            },
            "verlenging": zaak.verlenging.as_ref().map(|v| json!({
                "reden": v.reden,
                "duur": crate::termijn::duration_text(v.dagen),
            })),
            "vertrouwelijkheidaanduiding": "vertrouwelijk",
            "status": zaak.status_uuid.map(|u| self.url("statussen", u)),
            "resultaat": zaak.resultaat_uuid.map(|u| self.url("resultaten", u)),
        })
    }

    fn status_json(&self, status: &Status) -> Value {
        json!({
            "url": self.url("statussen", status.uuid),
            "uuid": status.uuid,
            "zaak": self.url("zaken", status.zaak),
            "statustype": self.catalogus_url("statustypen", &status.statustype),
            "datumStatusGezet": status.datum_status_gezet.format(&Rfc3339).unwrap_or_default(),
            "statustoelichting": status.toelichting,
        })
    }

    fn rol_json(&self, rol: &Rol) -> Value {
        json!({
            "url": self.url("rollen", rol.uuid),
            "uuid": rol.uuid,
            "zaak": self.url("zaken", rol.zaak),
            "betrokkeneType": rol.betrokkene_type,
            "omschrijvingGeneriek": rol.omschrijving_generiek,
            "roltoelichting": rol.roltoelichting,
            "betrokkeneIdentificatie": {"inpBsn": rol.bsn, "identificatie": rol.medewerker},
        })
    }

    fn resultaat_json(&self, resultaat: &Resultaat) -> Value {
        json!({
            "url": self.url("resultaten", resultaat.uuid),
            "uuid": resultaat.uuid,
            "zaak": self.url("zaken", resultaat.zaak),
            "resultaattype": self.catalogus_url("resultaattypen", &resultaat.resultaattype),
            "toelichting": resultaat.toelichting,
        })
    }

    /// An audit line for a change a client made through the API.
    fn audit(&self, caller: &Caller, actie: &str, toelichting: String) -> AuditEntry {
        AuditEntry {
            actor: format!("{} ({})", caller.user_representation, caller.client_id),
            actie: actie.to_owned(),
            toelichting,
            moment: self.inner.clock.now(),
        }
    }

    /// The case `uuid`, if it exists and the client may `scope` its zaaktype.
    async fn zaak_for(&self, client: &Client, uuid: Uuid, scope: Scope) -> Result<Zaak, ApiError> {
        let zaak = self
            .inner
            .store
            .get(uuid)
            .await
            .map_err(store_error)?
            .ok_or_else(|| ApiError::from(Problem::not_found()))?;
        if !client.may(&zaak.zaaktype, scope) {
            return Err(permission_denied());
        }
        Ok(zaak)
    }

    /// A status, role or result by its uuid, when the client may read its case; anything
    /// else is 404 or 403, the same as for the case itself.
    async fn part<T, Fut>(
        &self,
        headers: &HeaderMap,
        uuid: &str,
        fetch: impl FnOnce(Uuid) -> Fut,
        zaak_of: impl FnOnce(&T) -> Uuid,
    ) -> Result<T, ApiError>
    where
        Fut: std::future::Future<Output = Result<Option<T>, loket_store::StoreError>>,
    {
        let (_, client) = self.authenticate(headers)?;
        let uuid = Uuid::parse_str(uuid).map_err(|_| ApiError::from(Problem::not_found()))?;
        let part = fetch(uuid)
            .await
            .map_err(store_error)?
            .ok_or_else(|| ApiError::from(Problem::not_found()))?;
        self.zaak_for(client, zaak_of(&part), Scope::Lezen).await?;
        Ok(part)
    }

    /// The case a `?zaak=URL` filter or a body's `zaak` names.
    fn zaak_uuid(&self, url: &str, name: &str) -> Result<Uuid, ApiError> {
        url.strip_prefix(&format!("{}{BASE}/zaken/", self.inner.base_url))
            .and_then(|rest| Uuid::parse_str(rest).ok())
            .ok_or_else(|| invalid(name, "invalid", "Ongeldige URL van een zaak."))
    }
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// A 201 with the new resource's `Location`.
fn created(location: String, body: Value) -> Response {
    (
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(body),
    )
        .into_response()
}

/// The last path segment of a catalogue URL (or the bare id).
fn catalogus_id(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or_default()
}

/// A free-text field longer than `max` characters.
fn check_length(name: &str, text: &str, max: usize) -> Result<(), ApiError> {
    if text.chars().count() > max {
        return Err(invalid(
            name,
            "max_length",
            &format!("Niet meer dan {max} tekens."),
        ));
    }
    Ok(())
}

fn date(date: time::Date) -> String {
    let (year, month, day) = (date.year(), u8::from(date.month()), date.day());
    format!("{year:04}-{month:02}-{day:02}")
}

fn not_authenticated(error: AuthError) -> ApiError {
    Problem::new(401, "not_authenticated", "Niet geauthenticeerd.")
        .with_detail(error.to_string())
        .into()
}

fn permission_denied() -> ApiError {
    Problem::new(
        403,
        "permission_denied",
        "Je hebt geen toestemming om deze actie uit te voeren.",
    )
    .into()
}

fn invalid(name: &str, code: &str, reason: &str) -> ApiError {
    Problem::validation(vec![InvalidParam {
        name: name.to_owned(),
        code: code.to_owned(),
        reason: reason.to_owned(),
    }])
    .into()
}

// Taken by value so it fits `map_err(store_error)`.
#[allow(clippy::needless_pass_by_value)]
fn store_error(error: loket_store::StoreError) -> ApiError {
    tracing::error!(%error, "the case store failed");
    Problem::internal().into()
}

async fn list_zaken(
    State(api): State<ZgwApi>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let (_, client) = api.authenticate(&headers)?;
    let page = match query.get("page") {
        None => 1,
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| invalid("page", "invalid", "Ongeldige pagina."))?,
    };
    let bsn = query.get(BSN_FILTER).cloned();
    if let Some(bsn) = &bsn
        && (bsn.len() != 9 || !bsn.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(invalid(BSN_FILTER, "invalid", "Een BSN is 9 cijfers."));
    }
    let readable: Vec<String> = client
        .zaaktypen(Scope::Lezen)
        .into_iter()
        .map(str::to_owned)
        .collect();
    let zaaktype = query
        .get("zaaktype")
        .map(|url| catalogus_id(url).to_owned());
    let filter = ZaakFilter {
        bsn,
        zaaktype,
        zaaktypen: Some(readable),
        identificatie: query.get("identificatie").cloned(),
        page,
        page_size: PAGE_SIZE,
        ..ZaakFilter::default()
    };
    let found = api.inner.store.list(&filter).await.map_err(store_error)?;
    let link = |page: u32| {
        let mut params: Vec<(String, String)> = query
            .iter()
            .filter(|(k, _)| *k != "page")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        params.sort();
        params.push(("page".to_owned(), page.to_string()));
        let encoded = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        format!("{}{BASE}/zaken?{encoded}", api.inner.base_url)
    };
    let shown = u64::from(page) * u64::from(PAGE_SIZE);
    Ok(Json(json!({
        "count": found.total,
        "next": (shown < found.total).then(|| link(page + 1)),
        "previous": (page > 1).then(|| link(page - 1)),
        "results": found.items.iter().map(|z| api.zaak_json(z)).collect::<Vec<_>>(),
    })))
}

async fn read_zaak(
    State(api): State<ZgwApi>,
    headers: HeaderMap,
    Path(uuid): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (_, client) = api.authenticate(&headers)?;
    let uuid = Uuid::parse_str(&uuid).map_err(|_| ApiError::from(Problem::not_found()))?;
    let zaak = api.zaak_for(client, uuid, Scope::Lezen).await?;
    Ok(Json(api.zaak_json(&zaak)))
}

/// One page holding everything (a case has few statuses, roles or results).
fn one_page(results: Vec<Value>) -> Json<Value> {
    let count = results.len();
    Json(json!({"count": count, "next": null, "previous": null, "results": Value::Array(results)}))
}

async fn filtered_zaak(
    api: &ZgwApi,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> Result<Zaak, ApiError> {
    let (_, client) = api.authenticate(headers)?;
    let url = query
        .get("zaak")
        .ok_or_else(|| invalid("zaak", "required", "Dit veld is vereist."))?;
    let uuid = api.zaak_uuid(url, "zaak")?;
    api.zaak_for(client, uuid, Scope::Lezen).await
}

async fn list_statussen(
    State(api): State<ZgwApi>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let zaak = filtered_zaak(&api, &headers, &query).await?;
    let statuses = api
        .inner
        .store
        .statuses(zaak.uuid)
        .await
        .map_err(store_error)?;
    Ok(one_page(
        statuses.iter().map(|s| api.status_json(s)).collect(),
    ))
}

async fn read_status(
    State(api): State<ZgwApi>,
    headers: HeaderMap,
    Path(uuid): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let store = &api.inner.store;
    let status = api
        .part(&headers, &uuid, |u| store.status(u), |p| p.zaak)
        .await?;
    Ok(Json(api.status_json(&status)))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewStatusBody {
    zaak: String,
    statustype: String,
    datum_status_gezet: Option<String>,
    #[serde(default)]
    statustoelichting: String,
}

async fn create_status(
    State(api): State<ZgwApi>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<NewStatusBody>,
) -> Result<Response, ApiError> {
    let (caller, client) = api.authenticate(&headers)?;
    let uuid = api.zaak_uuid(&body.zaak, "zaak")?;
    let zaak = api
        .zaak_for(client, uuid, Scope::StatussenToevoegen)
        .await?;
    let code = catalogus_id(&body.statustype);
    if !statustype::ALL.contains(&code) {
        return Err(invalid(
            "statustype",
            "does_not_exist",
            "Onbekend statustype.",
        ));
    }
    let moment = match &body.datum_status_gezet {
        // Kept in UTC: "9999-12-31T23:59:59-23:59" parses, but is a moment past the last
        // year, which no store could give back; "0000-01-01T00:00:00+01:00" is one in the
        // year before 0, which RFC 3339 cannot write.
        Some(text) => OffsetDateTime::parse(text, &Rfc3339)
            .ok()
            .and_then(|moment| moment.checked_to_offset(time::UtcOffset::UTC))
            .filter(|moment| moment.year() >= 0)
            .ok_or_else(|| {
                invalid(
                    "datumStatusGezet",
                    "invalid",
                    "Geen geldig tijdstip (RFC 3339).",
                )
            })?,
        None => api.inner.clock.now(),
    };
    check_length("statustoelichting", &body.statustoelichting, 1000)?;
    let audit = api.audit(&caller, "status gezet", format!("{code} via de Zaken API"));
    let status = api
        .inner
        .store
        .add_status(
            zaak.uuid,
            &NewStatus {
                statustype: code.to_owned(),
                datum_status_gezet: moment,
                actor: audit.actor.clone(),
                toelichting: body.statustoelichting,
            },
            &audit,
        )
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::from(Problem::not_found()))?;
    Ok(created(
        api.url("statussen", status.uuid),
        api.status_json(&status),
    ))
}

async fn list_rollen(
    State(api): State<ZgwApi>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let zaak = filtered_zaak(&api, &headers, &query).await?;
    let roles = api
        .inner
        .store
        .roles(zaak.uuid)
        .await
        .map_err(store_error)?;
    Ok(one_page(roles.iter().map(|r| api.rol_json(r)).collect()))
}

async fn read_rol(
    State(api): State<ZgwApi>,
    headers: HeaderMap,
    Path(uuid): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let store = &api.inner.store;
    let rol = api
        .part(&headers, &uuid, |u| store.role(u), |p| p.zaak)
        .await?;
    Ok(Json(api.rol_json(&rol)))
}

async fn list_resultaten(
    State(api): State<ZgwApi>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let zaak = filtered_zaak(&api, &headers, &query).await?;
    let result = api
        .inner
        .store
        .result(zaak.uuid)
        .await
        .map_err(store_error)?;
    Ok(one_page(
        result.iter().map(|r| api.resultaat_json(r)).collect(),
    ))
}

async fn read_resultaat(
    State(api): State<ZgwApi>,
    headers: HeaderMap,
    Path(uuid): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let store = &api.inner.store;
    let result = api
        .part(&headers, &uuid, |u| store.result_by_uuid(u), |p| p.zaak)
        .await?;
    Ok(Json(api.resultaat_json(&result)))
}
