//! `PATCH /zaken/{uuid}`: suspending, resuming and extending a case's term, the parts of
//! a case this subset lets a client change. The term rules are the workspace's
//! (`termijn`); any other field is refused by name.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use loket_core::Problem;
use loket_http::{ApiError, ApiJson};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::{ZgwApi, invalid, store_error};
use crate::termijn::{self, TermError};
use crate::zaak::{Termijn, Zaak};
use crate::zgw_auth::Scope;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct ZaakPatch {
    opschorting: Option<OpschortingBody>,
    verlenging: Option<VerlengingBody>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OpschortingBody {
    indicatie: bool,
    #[serde(default)]
    reden: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VerlengingBody {
    reden: String,
    duur: String,
}

pub(super) async fn zaak(
    State(api): State<ZgwApi>,
    headers: HeaderMap,
    Path(uuid): Path<String>,
    ApiJson(patch): ApiJson<ZaakPatch>,
) -> Result<Json<Value>, ApiError> {
    let (caller, client) = api.authenticate(&headers)?;
    let uuid = Uuid::parse_str(&uuid).map_err(|_| ApiError::from(Problem::not_found()))?;
    let found = api.zaak_for(client, uuid, Scope::Bijwerken).await?;
    if found.einddatum.is_some() {
        return Err(invalid(
            "nonFieldErrors",
            "zaak-closed",
            "De zaak is afgesloten; de termijn verandert niet meer.",
        ));
    }
    let today = loket_core::dutch_today(api.inner.clock.as_ref());
    let (term, changes) = changed_term(&api, &found, &patch, today).map_err(term_error)?;
    if changes.is_empty() {
        return Ok(Json(api.zaak_json(&found)));
    }
    let audit = api.audit(
        &caller,
        &changes.join(" en "),
        "via de Zaken API".to_owned(),
    );
    let zaak = api
        .inner
        .store
        .change_term(uuid, &found.termijn(), &term, &audit)
        .await
        .map_err(store_error)?
        .ok_or_else(|| {
            ApiError::from(Problem::new(
                409,
                "conflict",
                "De zaak is intussen gewijzigd. Haal haar opnieuw op.",
            ))
        })?;
    Ok(Json(api.zaak_json(&zaak)))
}

/// The term after the patch, and what changed ("opgeschort", "verlengd", …).
fn changed_term(
    api: &ZgwApi,
    found: &Zaak,
    patch: &ZaakPatch,
    today: time::Date,
) -> Result<(Termijn, Vec<&'static str>), TermError> {
    let mut term = found.termijn();
    let mut changes = Vec::new();
    if let Some(asked) = &patch.opschorting {
        match (asked.indicatie, term.opschorting.is_some()) {
            (true, false) => {
                term = termijn::suspend(&term, &asked.reden, today)?;
                changes.push("opgeschort");
            }
            (false, true) => {
                term = termijn::resume(&term, today)?;
                changes.push("hervat");
            }
            _ => {}
        }
    }
    if let Some(asked) = &patch.verlenging {
        let dagen = termijn::parse_duration(&asked.duur).ok_or(TermError {
            field: "verlenging.duur",
            code: "invalid",
            nl: "Geef de duur in hele dagen of weken, bijvoorbeeld P14D.",
            en: "Give the duration in whole days or weeks, for example P14D.",
        })?;
        let same = term
            .verlenging
            .as_ref()
            .is_some_and(|v| v.dagen == dagen && v.reden == asked.reden.trim());
        if !same {
            let max = api
                .inner
                .zaaktypen
                .iter()
                .find(|z| z.id == found.zaaktype)
                .map_or(0, |z| z.behandeltermijn_dagen);
            term = termijn::extend(&term, &asked.reden, dagen, max)?;
            changes.push("verlengd");
        }
    }
    Ok((term, changes))
}

// Taken by value so it fits `map_err(term_error)`.
#[allow(clippy::needless_pass_by_value)]
fn term_error(error: TermError) -> ApiError {
    invalid(error.field, error.code, error.nl)
}
