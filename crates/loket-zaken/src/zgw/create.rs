//! Creating cases, roles and results through the API (`POST`), each checked field by
//! field into `invalidParams` before anything is written.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use loket_core::Problem;
use loket_http::{ApiError, ApiJson};
use serde::Deserialize;
use time::Date;

use super::{ZgwApi, catalogus_id, check_length, created, invalid, permission_denied, store_error};
use crate::zaak::{NewRol, NewZaak};
use crate::zgw_auth::Scope;

/// The generic role descriptions (omschrijvingGeneriek) a roltype may name.
const ROLTYPEN: &[&str] = &[
    "adviseur",
    "behandelaar",
    "belanghebbende",
    "beslisser",
    "initiator",
    "klantcontacter",
    "zaakcoordinator",
    "mede_initiator",
];

/// The results a case can have: the outcomes of its decision, or withdrawn.
const RESULTAATTYPEN: &[&str] = &["toegekend", "afgewezen", "ingetrokken"];

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct NewZaakBody {
    bronorganisatie: String,
    zaaktype: String,
    #[serde(default)]
    omschrijving: String,
    startdatum: String,
    registratiedatum: Option<String>,
}

/// `JJJJ-MM-DD`, four digits for the year: `time` would also take a sign ("-0001-01-01"),
/// a year the store writes but cannot read back.
fn parse_date(name: &str, text: &str) -> Result<Date, ApiError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Some(text)
        .filter(|t| t.len() == 10 && t.as_bytes()[..4].iter().all(u8::is_ascii_digit))
        .and_then(|t| Date::parse(t, &format).ok())
        .ok_or_else(|| invalid(name, "invalid", "Geen geldige datum (JJJJ-MM-DD)."))
}

/// An RSIN is nine digits that pass the same 11-proef as a BSN.
fn is_rsin(text: &str) -> bool {
    loket_core::Bsn::parse(text).is_ok()
}

pub(super) async fn zaak(
    State(api): State<ZgwApi>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<NewZaakBody>,
) -> Result<Response, ApiError> {
    let (caller, client) = api.authenticate(&headers)?;
    let id = catalogus_id(&body.zaaktype);
    let Some(zaaktype) = api.inner.zaaktypen.iter().find(|z| z.id == id) else {
        return Err(invalid("zaaktype", "does_not_exist", "Onbekend zaaktype."));
    };
    if !client.may(&zaaktype.id, Scope::Aanmaken) {
        return Err(permission_denied());
    }
    if !is_rsin(&body.bronorganisatie) {
        return Err(invalid(
            "bronorganisatie",
            "invalid",
            "Een RSIN is 9 cijfers en voldoet aan de 11-proef.",
        ));
    }
    check_length("omschrijving", &body.omschrijving, 80)?;
    let startdatum = parse_date("startdatum", &body.startdatum)?;
    // The deadline, and any extension of it, must be a date there is.
    let term = time::Duration::days(2 * i64::from(zaaktype.behandeltermijn_dagen));
    if startdatum.checked_add(term).is_none() {
        return Err(invalid(
            "startdatum",
            "invalid",
            "De datum ligt te ver in de toekomst.",
        ));
    }
    // The date in the Netherlands: at 00:30 the UTC date is still yesterday's.
    let today = loket_core::dutch_today(api.inner.clock.as_ref());
    let registratiedatum = match &body.registratiedatum {
        Some(text) => parse_date("registratiedatum", text)?,
        None => today,
    };
    // As the ZGW standard (and Open Zaak) has it: a case is not registered in advance.
    if registratiedatum > today {
        return Err(invalid(
            "registratiedatum",
            "future_not_allowed",
            "De datum mag niet in de toekomst liggen.",
        ));
    }
    let omschrijving = if body.omschrijving.is_empty() {
        zaaktype.omschrijving.clone()
    } else {
        body.omschrijving
    };
    let new = NewZaak {
        bronorganisatie: body.bronorganisatie,
        zaaktype: zaaktype.id.clone(),
        omschrijving,
        registratiedatum,
        startdatum: Some(startdatum),
        behandeltermijn_dagen: zaaktype.behandeltermijn_dagen,
        zaakobject: None,
        initiator: None,
        statuses: Vec::new(),
        besluit: None,
        resultaat: None,
        documenten: Vec::new(),
        audit: Some(api.audit(&caller, "aangemaakt", "via de Zaken API".to_owned())),
        berichten: Vec::new(),
    };
    let zaak = api
        .inner
        .store
        .create(&new, api.inner.clock.now())
        .await
        .map_err(store_error)?;
    tracing::info!(zaak = %zaak.uuid, client = %caller.client_id, "case created through the API");
    Ok(created(api.url("zaken", zaak.uuid), api.zaak_json(&zaak)))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct NewRolBody {
    zaak: String,
    roltype: String,
    betrokkene_type: String,
    #[serde(default)]
    roltoelichting: String,
    #[serde(default)]
    betrokkene_identificatie: Identificatie,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Identificatie {
    inp_bsn: Option<String>,
    identificatie: Option<String>,
}

pub(super) async fn rol(
    State(api): State<ZgwApi>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<NewRolBody>,
) -> Result<Response, ApiError> {
    let (caller, client) = api.authenticate(&headers)?;
    let uuid = api.zaak_uuid(&body.zaak, "zaak")?;
    let zaak = api.zaak_for(client, uuid, Scope::Bijwerken).await?;
    let generiek = catalogus_id(&body.roltype);
    if !ROLTYPEN.contains(&generiek) {
        return Err(invalid("roltype", "does_not_exist", "Onbekend roltype."));
    }
    check_length("roltoelichting", &body.roltoelichting, 1000)?;
    let who = body.betrokkene_identificatie;
    let (bsn, medewerker) = match body.betrokkene_type.as_str() {
        "natuurlijk_persoon" => {
            let bsn = who.inp_bsn.unwrap_or_default();
            if bsn.len() != 9 || !bsn.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(
                    "betrokkeneIdentificatie.inpBsn",
                    "invalid",
                    "Een BSN is 9 cijfers.",
                ));
            }
            (Some(bsn), None)
        }
        "medewerker" => {
            let id = who.identificatie.unwrap_or_default();
            if id.is_empty() || id.chars().count() > 24 {
                return Err(invalid(
                    "betrokkeneIdentificatie.identificatie",
                    "invalid",
                    "De identificatie van de medewerker is 1 tot 24 tekens.",
                ));
            }
            (None, Some(id))
        }
        _ => {
            return Err(invalid(
                "betrokkeneType",
                "invalid_choice",
                "Kies natuurlijk_persoon of medewerker.",
            ));
        }
    };
    let new = NewRol {
        omschrijving_generiek: generiek.to_owned(),
        betrokkene_type: body.betrokkene_type,
        bsn,
        medewerker,
        roltoelichting: body.roltoelichting,
    };
    let audit = api.audit(
        &caller,
        "rol toegevoegd",
        format!("{} via de Zaken API", new.omschrijving_generiek),
    );
    let rol = api
        .inner
        .store
        .add_role(zaak.uuid, &new, &audit)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::from(Problem::not_found()))?;
    Ok(created(api.url("rollen", rol.uuid), api.rol_json(&rol)))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct NewResultaatBody {
    zaak: String,
    resultaattype: String,
    #[serde(default)]
    toelichting: String,
}

pub(super) async fn resultaat(
    State(api): State<ZgwApi>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<NewResultaatBody>,
) -> Result<Response, ApiError> {
    let (caller, client) = api.authenticate(&headers)?;
    let uuid = api.zaak_uuid(&body.zaak, "zaak")?;
    let zaak = api.zaak_for(client, uuid, Scope::Bijwerken).await?;
    let kind = catalogus_id(&body.resultaattype);
    if !RESULTAATTYPEN.contains(&kind) {
        return Err(invalid(
            "resultaattype",
            "does_not_exist",
            "Onbekend resultaattype.",
        ));
    }
    check_length("toelichting", &body.toelichting, 1000)?;
    let Some(result) = api
        .inner
        .store
        .set_result(
            zaak.uuid,
            kind,
            &body.toelichting,
            &api.audit(&caller, "resultaat", format!("{kind} via de Zaken API")),
        )
        .await
        .map_err(store_error)?
    else {
        // The case exists (checked above), so it already has its one result.
        return Err(invalid(
            "zaak",
            "unique",
            "Deze zaak heeft al een resultaat.",
        ));
    };
    Ok(created(
        api.url("resultaten", result.uuid),
        api.resultaat_json(&result),
    ))
}
