//! A case (zaak) and what belongs to it, in the words of the ZGW standard: statuses
//! (append-only), roles (who is involved), a result, and Loket's decision record.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

/// How the rules, or a person, decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Toegekend,
    Afgewezen,
    /// Waiting for a person in the work queue.
    Behandelaar,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Toegekend => "toegekend",
            Self::Afgewezen => "afgewezen",
            Self::Behandelaar => "behandelaar",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "toegekend" => Some(Self::Toegekend),
            "afgewezen" => Some(Self::Afgewezen),
            "behandelaar" => Some(Self::Behandelaar),
            _ => None,
        }
    }
}

/// The day a case closed at `moment` ends (its `einddatum`): the Dutch calendar date, as
/// its `registratiedatum` is, so a case closed just after midnight never ends the day
/// before it was received.
pub fn end_date(moment: OffsetDateTime) -> Date {
    loket_core::dutch_time(moment).date()
}

/// The steps a case goes through (the statustypes of every product, for now).
pub mod statustype {
    pub const ONTVANGEN: &str = "ontvangen";
    pub const IN_BEHANDELING: &str = "in-behandeling";
    pub const AFGEHANDELD: &str = "afgehandeld";
    pub const ALL: &[&str] = &[ONTVANGEN, IN_BEHANDELING, AFGEHANDELD];
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Zaak {
    pub uuid: Uuid,
    /// "ZAAK-2026-0000000042": the year it was registered and its sequence number.
    pub identificatie: String,
    pub bronorganisatie: String,
    /// The product (the ZGW zaaktype).
    pub zaaktype: String,
    pub omschrijving: String,
    pub registratiedatum: Date,
    pub startdatum: Date,
    /// The handling time (SLA) from the product; moved by a suspension.
    pub einddatum_gepland: Date,
    /// The legal deadline; moved by a suspension or an extension.
    pub uiterlijke_einddatum_afdoening: Date,
    pub einddatum: Option<Date>,
    /// While the case is suspended: since when and why.
    pub opschorting: Option<Opschorting>,
    /// The one extension of the term, once given.
    pub verlenging: Option<Verlenging>,
    /// What the case is about, e.g. the address a parking permit is for.
    pub zaakobject: Option<String>,
    /// The statustype of the newest status.
    pub status: Option<String>,
    pub status_count: i64,
    pub uitkomst: Option<Outcome>,
    pub behandelaar: Option<String>,
    /// The decision record: rules, inputs, data used, explanation.
    pub besluit: Option<Value>,
    pub aangemaakt: OffsetDateTime,
    /// The newest status and the result, for links to them.
    pub status_uuid: Option<Uuid>,
    pub resultaat_uuid: Option<Uuid>,
}

/// A suspension of the term: the clock stops on `sinds` and starts again when it ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Opschorting {
    pub reden: String,
    pub sinds: Date,
}

/// An extension of the term by `dagen` days (Awb 4:14), given once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verlenging {
    pub reden: String,
    pub dagen: u16,
}

/// Everything that makes up a case's term: what a suspension or an extension changes,
/// and what the store checks is unchanged before it writes a new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Termijn {
    pub einddatum_gepland: Date,
    pub uiterlijke_einddatum_afdoening: Date,
    pub opschorting: Option<Opschorting>,
    pub verlenging: Option<Verlenging>,
}

impl Zaak {
    pub fn termijn(&self) -> Termijn {
        Termijn {
            einddatum_gepland: self.einddatum_gepland,
            uiterlijke_einddatum_afdoening: self.uiterlijke_einddatum_afdoening,
            opschorting: self.opschorting.clone(),
            verlenging: self.verlenging.clone(),
        }
    }
}

pub fn identificatie(year: i32, seq: i64) -> String {
    format!("ZAAK-{year}-{seq:010}")
}

/// The year (of registration) and the sequence number inside an identificatie, if it is
/// one.
pub fn parse_identificatie(text: &str) -> Option<(i32, i64)> {
    let rest = text.strip_prefix("ZAAK-")?;
    let (year, seq) = rest.split_once('-')?;
    if year.len() != 4
        || !year.bytes().all(|b| b.is_ascii_digit())
        || seq.len() != 10
        || !seq.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    Some((year.parse().ok()?, seq.parse().ok()?))
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewZaak {
    pub bronorganisatie: String,
    pub zaaktype: String,
    pub omschrijving: String,
    pub registratiedatum: Date,
    /// When the handling starts, if not on the day of registration.
    pub startdatum: Option<Date>,
    pub behandeltermijn_dagen: u16,
    pub zaakobject: Option<String>,
    pub initiator: Option<NewRol>,
    /// The first status and any that follow at once (an automatic decision closes the
    /// case in the same transaction that opens it).
    pub statuses: Vec<NewStatus>,
    pub besluit: Option<(Outcome, Value)>,
    /// Resultaattype and explanation, when the case is decided at once.
    pub resultaat: Option<(String, String)>,
    /// The files the applicant added.
    pub documenten: Vec<crate::bijlage::Bijlage>,
    /// Who created the case, when an audit line must say so (an API client; an
    /// application's first status already names its channel).
    pub audit: Option<AuditEntry>,
    /// Letters to the resident about it (the decision), sent in the same transaction.
    pub berichten: Vec<crate::berichten::NewBericht>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub uuid: Uuid,
    pub zaak: Uuid,
    pub volgnummer: i64,
    pub statustype: String,
    pub datum_status_gezet: OffsetDateTime,
    /// Who set it: "Loket (automatisch)", an employee, or an API client.
    pub actor: String,
    pub toelichting: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStatus {
    pub statustype: String,
    pub datum_status_gezet: OffsetDateTime,
    pub actor: String,
    pub toelichting: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rol {
    pub uuid: Uuid,
    pub zaak: Uuid,
    /// "initiator", "behandelaar", "belanghebbende", …
    pub omschrijving_generiek: String,
    pub betrokkene_type: String,
    pub bsn: Option<String>,
    /// The employee's identification, when the betrokkene is a `medewerker`.
    pub medewerker: Option<String>,
    pub roltoelichting: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRol {
    pub omschrijving_generiek: String,
    pub betrokkene_type: String,
    pub bsn: Option<String>,
    pub medewerker: Option<String>,
    pub roltoelichting: String,
}

impl NewRol {
    pub fn initiator(bsn: &str) -> Self {
        Self {
            omschrijving_generiek: "initiator".to_owned(),
            betrokkene_type: "natuurlijk_persoon".to_owned(),
            bsn: Some(bsn.to_owned()),
            medewerker: None,
            roltoelichting: "Aanvrager".to_owned(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resultaat {
    pub uuid: Uuid,
    pub zaak: Uuid,
    pub resultaattype: String,
    pub toelichting: String,
}

/// A line in a case's audit trail: who did what, when (and why).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub actor: String,
    pub actie: String,
    pub toelichting: String,
    pub moment: OffsetDateTime,
}

/// A note an employee adds to a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub auteur: String,
    pub tekst: String,
    pub moment: OffsetDateTime,
}

/// A person's decision that closes a case: outcome and record, the closing status, the
/// result, and the audit line, written together.
#[derive(Debug, Clone, PartialEq)]
pub struct Closing {
    pub outcome: Outcome,
    pub besluit: Value,
    pub status: NewStatus,
    pub resultaat_toelichting: String,
    pub audit: AuditEntry,
    /// The letter that brings the decision to the resident.
    pub bericht: Option<crate::berichten::NewBericht>,
}

/// In which order a list comes back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ListOrder {
    /// The newest case first (the ZGW API, a resident's cases).
    #[default]
    Newest,
    /// The nearest deadline first (the work queue).
    Deadline,
}

/// Which cases to list, and which page (pages start at 1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ZaakFilter {
    pub bsn: Option<String>,
    pub zaaktype: Option<String>,
    /// Only these zaaktypen (what an API client may read); `Some(empty)` matches nothing.
    pub zaaktypen: Option<Vec<String>>,
    pub status: Option<String>,
    pub uitkomst: Option<Outcome>,
    pub identificatie: Option<String>,
    /// Only open (`true`) or only closed (`false`) cases.
    pub open: Option<bool>,
    pub behandelaar: Option<String>,
    /// Only cases whose planned end date is on or before this date.
    pub due_by: Option<Date>,
    pub order: ListOrder,
    pub page: u32,
    pub page_size: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn identificatie_round_trips(year in 1000i32..9999, seq in 0i64..9_999_999_999) {
            prop_assert_eq!(parse_identificatie(&identificatie(year, seq)), Some((year, seq)));
        }

        #[test]
        fn parse_identificatie_never_panics(text in "\\PC{0,30}") {
            let _ = parse_identificatie(&text);
        }
    }
}
