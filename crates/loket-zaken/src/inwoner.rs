//! What the process layer offers the resident's own front door: their cases, their
//! letters, and their data as the registers hold it, asked live through the exchange.
//!
//! Every method takes the resident's `Bsn` from the signed-in session and answers only
//! about that resident: another resident's case or letter is `None`, exactly as a case
//! that does not exist, so the portal cannot tell the two apart either.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use loket_core::{Bsn, Clock, TraceContext};
use loket_store::StoreError;
use serde_json::{Value, json};
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

use crate::ZaakStore;
use crate::apply::Exchange;
use crate::berichten::{Bericht, Inbox, Kanaal};
use crate::bijlage::DocumentInfo;
use crate::catalogue::{Catalogue, DataNeed};
use crate::decision::{DataUsed, DecisionRecord};
use crate::zaak::{ListOrder, Page, Status, Zaak, ZaakFilter};

/// Cases and letters on one page of a list.
pub const PAGE_SIZE: u32 = 25;

/// The processing activities under which the front door asks the registers.
#[derive(Debug, Clone)]
pub struct Activities {
    /// Showing residents their own data (AVG art. 15).
    pub mijn_gegevens: String,
    /// Telling residents in time, e.g. that a travel document expires.
    pub attenderen: String,
}

/// A resident's case with everything the resident may read of it.
#[derive(Debug, Clone)]
pub struct ResidentCase {
    pub zaak: Zaak,
    /// Oldest first: the timeline.
    pub statuses: Vec<Status>,
    pub besluit: Option<DecisionRecord>,
    pub documenten: Vec<DocumentInfo>,
}

/// Something coming up for the resident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attendering {
    /// A travel document expires on this date (or has expired).
    DocumentVerloopt {
        /// BRP table 48's code (`PN`, `NI`, …), for the page's language.
        code: String,
        /// The register's Dutch description of that code.
        soort: String,
        nummer: String,
        datum: Date,
    },
    /// A study is expected to end on this date.
    StudieEindigt { opleiding: String, datum: Date },
}

/// How far ahead "coming up" looks.
pub const LOOK_AHEAD: Duration = Duration::days(183);

#[derive(Debug, Clone)]
pub struct Inwoner {
    store: Arc<dyn ZaakStore>,
    catalogue: Arc<Catalogue>,
    exchange: Option<Exchange>,
    activities: Activities,
    clock: Arc<dyn Clock>,
    coming_up: Arc<Mutex<HashMap<Bsn, Remembered>>>,
}

/// A resident's reminders and when they were asked.
type Remembered = (OffsetDateTime, Arc<Vec<Attendering>>);

/// What is coming up is asked again after this long; in between, the overview shows the
/// answer from memory (never written anywhere), so every page view is not a lookup in
/// two registers.
pub const COMING_UP_FRESH: Duration = Duration::minutes(10);
/// At most this many residents' reminders are kept in memory.
const COMING_UP_KEPT: usize = 100_000;

impl Inwoner {
    /// `exchange` is `None` where no outway is configured: the registers' data is then
    /// reported as unavailable, never made up.
    pub fn new(
        store: Arc<dyn ZaakStore>,
        catalogue: Arc<Catalogue>,
        exchange: Option<Exchange>,
        activities: Activities,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            catalogue,
            exchange,
            activities,
            clock,
            coming_up: Arc::default(),
        }
    }

    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    /// Today in the Netherlands (at 00:30 the UTC date is still yesterday's).
    pub fn today(&self) -> Date {
        loket_core::dutch_today(self.clock.as_ref())
    }

    /// The resident's cases, newest first.
    pub async fn cases(&self, bsn: &Bsn, page: u32) -> Result<Page<Zaak>, StoreError> {
        self.store
            .list(&ZaakFilter {
                bsn: Some(bsn.as_str().to_owned()),
                order: ListOrder::Newest,
                page: page.max(1),
                page_size: PAGE_SIZE,
                ..ZaakFilter::default()
            })
            .await
    }

    /// The resident's open cases (for the overview).
    pub async fn open_cases(&self, bsn: &Bsn) -> Result<Page<Zaak>, StoreError> {
        self.store
            .list(&ZaakFilter {
                bsn: Some(bsn.as_str().to_owned()),
                open: Some(true),
                order: ListOrder::Newest,
                page: 1,
                page_size: PAGE_SIZE,
                ..ZaakFilter::default()
            })
            .await
    }

    /// One case, only if the resident applied for it.
    pub async fn case(&self, bsn: &Bsn, uuid: Uuid) -> Result<Option<ResidentCase>, StoreError> {
        let roles = self.store.roles(uuid).await?;
        let theirs = roles.iter().any(|r| {
            r.omschrijving_generiek == "initiator" && r.bsn.as_deref() == Some(bsn.as_str())
        });
        if !theirs {
            return Ok(None);
        }
        let Some(zaak) = self.store.get(uuid).await? else {
            return Ok(None);
        };
        let besluit = zaak
            .besluit
            .clone()
            .and_then(|value: Value| serde_json::from_value(value).ok());
        Ok(Some(ResidentCase {
            statuses: self.store.statuses(uuid).await?,
            documenten: self.store.documents(uuid).await?,
            besluit,
            zaak,
        }))
    }

    /// The trace ids under which the registers were asked for the resident's newest cases,
    /// with the case each belongs to: to link "who used my data" to the case.
    pub async fn case_traces(&self, bsn: &Bsn) -> Result<HashMap<String, Uuid>, StoreError> {
        let mut traces = HashMap::new();
        for listed in self.cases(bsn, 1).await?.items {
            // The list leaves the decision records out; read each one's.
            let Some(zaak) = self.store.get(listed.uuid).await? else {
                continue;
            };
            let record: Option<DecisionRecord> = zaak
                .besluit
                .and_then(|value| serde_json::from_value(value).ok());
            for used in record.map(|r| r.gegevens).unwrap_or_default() {
                traces.insert(used.trace_id, zaak.uuid);
            }
        }
        Ok(traces)
    }

    pub async fn messages(&self, bsn: &Bsn, page: u32) -> Result<Inbox, StoreError> {
        self.store
            .messages(bsn.as_str(), page.max(1), PAGE_SIZE)
            .await
    }

    pub async fn unread_messages(&self, bsn: &Bsn) -> Result<u64, StoreError> {
        self.store.unread_messages(bsn.as_str()).await
    }

    /// Open a letter: it is the resident's, and from now on it is read.
    pub async fn read_message(&self, bsn: &Bsn, uuid: Uuid) -> Result<Option<Bericht>, StoreError> {
        let Some(bericht) = self.store.message(bsn.as_str(), uuid).await? else {
            return Ok(None);
        };
        if bericht.gelezen.is_none() {
            self.store
                .mark_read(bsn.as_str(), uuid, self.clock.now())
                .await?;
        }
        Ok(Some(bericht))
    }

    pub async fn channel(&self, bsn: &Bsn) -> Result<Kanaal, StoreError> {
        Ok(self.store.channel(bsn.as_str()).await?.unwrap_or_default())
    }

    pub async fn set_channel(&self, bsn: &Bsn, kanaal: Kanaal) -> Result<(), StoreError> {
        self.store
            .set_channel(bsn.as_str(), kanaal, self.clock.now())
            .await
    }

    /// Everything the registers hold about the resident that Mijn gegevens shows, asked
    /// concurrently under the "mijn gegevens" processing activity, each with its source.
    pub async fn gegevens(&self, bsn: &Bsn, trace: &TraceContext) -> Vec<DataUsed> {
        self.ask_all(&mijn_gegevens(), bsn, &self.activities.mijn_gegevens, trace)
            .await
    }

    /// The resident's name as the BRP has it, to greet them (`None` when it cannot be
    /// asked).
    pub async fn naam(&self, bsn: &Bsn, trace: &TraceContext) -> Option<String> {
        let need = brp(&["naam.volledigeNaam"]);
        let used = self
            .ask_all(&[need], bsn, &self.activities.mijn_gegevens, trace)
            .await;
        used.first()
            .and_then(|u| u.waarden.as_ref())
            .and_then(|v| v.pointer("/personen/0/naam/volledigeNaam"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    /// What is coming up: travel documents that expire and studies that end within
    /// `LOOK_AHEAD`, asked under the "attenderen" activity, soonest first.
    pub async fn coming_up(&self, bsn: &Bsn, trace: &TraceContext) -> Arc<Vec<Attendering>> {
        let now = self.clock.now();
        if let Some((asked, items)) = self.remembered(bsn)
            && now - asked < COMING_UP_FRESH
        {
            return items;
        }
        let (items, complete) = self.ask_coming_up(bsn, trace).await;
        let items = Arc::new(items);
        // Only a full answer is remembered: a register that did not answer is asked again.
        if complete && let Ok(mut kept) = self.coming_up.lock() {
            if kept.len() >= COMING_UP_KEPT {
                kept.retain(|_, (asked, _)| now - *asked < COMING_UP_FRESH);
                if kept.len() >= COMING_UP_KEPT {
                    kept.clear();
                }
            }
            kept.insert(*bsn, (now, items.clone()));
        }
        items
    }

    fn remembered(&self, bsn: &Bsn) -> Option<Remembered> {
        self.coming_up.lock().ok()?.get(bsn).cloned()
    }

    async fn ask_coming_up(&self, bsn: &Bsn, trace: &TraceContext) -> (Vec<Attendering>, bool) {
        let needs = [
            reisdocumenten(&[
                "reisdocumentnummer",
                "soort",
                "datumEindeGeldigheid",
                "inhoudingOfVermissing",
            ]),
            duo(&["opleiding", "datumEindeVerwacht", "datumEinde"]),
        ];
        let used = self
            .ask_all(&needs, bsn, &self.activities.attenderen, trace)
            .await;
        let answers: Vec<&Value> = used.iter().filter_map(|u| u.waarden.as_ref()).collect();
        let complete = used.iter().all(|u| u.fout.is_none());
        (coming_up_in(&answers, self.today()), complete)
    }

    async fn ask_all(
        &self,
        needs: &[DataNeed],
        bsn: &Bsn,
        activity: &str,
        trace: &TraceContext,
    ) -> Vec<DataUsed> {
        let Some(exchange) = &self.exchange else {
            return needs
                .iter()
                .map(|need| DataUsed {
                    naam: need.naam.clone(),
                    bron: need.bron.clone(),
                    dienst: need.dienst.clone(),
                    verwerkingsactiviteit: Some(activity.to_owned()),
                    trace_id: trace.trace_id.to_string(),
                    span_id: String::new(),
                    waarden: None,
                    fout: Some("no outway configured".to_owned()),
                })
                .collect();
        };
        let asks = needs
            .iter()
            .map(|need| exchange.ask(need, bsn.as_str(), Some(activity), trace));
        futures::future::join_all(asks).await
    }
}

/// What is coming up according to the registers' answers: travel documents that expire
/// (or expired) and studies that end within `LOOK_AHEAD` of `today`, soonest first. A
/// document reported missing or handed in, or a study already ended, needs no reminder.
pub fn coming_up_in(answers: &[&Value], today: Date) -> Vec<Attendering> {
    let horizon = today + LOOK_AHEAD;
    let mut items = Vec::new();
    for answer in answers {
        for document in list(answer, "reisdocumenten") {
            // A document reported missing or handed in needs no reminder.
            if document.get("inhoudingOfVermissing").is_some() {
                continue;
            }
            if let Some(datum) = date(document, "datumEindeGeldigheid")
                && datum <= horizon
            {
                items.push(Attendering::DocumentVerloopt {
                    code: text(document, "/soort/code"),
                    soort: text(document, "/soort/omschrijving"),
                    nummer: text(document, "/reisdocumentnummer"),
                    datum,
                });
            }
        }
        for enrolment in list(answer, "inschrijvingen") {
            if enrolment.get("datumEinde").is_some() {
                continue;
            }
            if let Some(datum) = date(enrolment, "datumEindeVerwacht")
                && datum >= today
                && datum <= horizon
            {
                items.push(Attendering::StudieEindigt {
                    opleiding: text(enrolment, "/opleiding/naam"),
                    datum,
                });
            }
        }
    }
    items.sort_by_key(|item| match item {
        Attendering::DocumentVerloopt { datum, .. } | Attendering::StudieEindigt { datum, .. } => {
            *datum
        }
    });
    items
}

fn brp(fields: &[&str]) -> DataNeed {
    DataNeed {
        naam: "brp".to_owned(),
        bron: "BRP".to_owned(),
        dienst: "brp-personen".to_owned(),
        pad: "/haalcentraal/api/brp/personen".to_owned(),
        vraag: json!({"type": "RaadpleegMetBurgerservicenummer", "burgerservicenummer": ["{bsn}"], "fields": fields}),
    }
}

/// A question to a register that answers by BSN (`ZoekMetBurgerservicenummer`).
fn by_bsn(naam: &str, bron: &str, dienst: &str, pad: &str, fields: &[&str]) -> DataNeed {
    DataNeed {
        naam: naam.to_owned(),
        bron: bron.to_owned(),
        dienst: dienst.to_owned(),
        pad: pad.to_owned(),
        vraag: json!({"type": "ZoekMetBurgerservicenummer", "burgerservicenummer": "{bsn}", "fields": fields}),
    }
}

fn reisdocumenten(fields: &[&str]) -> DataNeed {
    by_bsn(
        "reisdocumenten",
        "Reisdocumenten",
        "reisdocumenten",
        "/haalcentraal/api/reisdocumenten/reisdocumenten",
        fields,
    )
}

fn duo(fields: &[&str]) -> DataNeed {
    by_bsn(
        "duo",
        "DUO",
        "duo-inschrijvingen",
        "/duo/api/v1/inschrijvingen",
        fields,
    )
}

/// What Mijn gegevens asks of each register: the resident's own record, nothing of it
/// left out that the resident would want to check.
fn mijn_gegevens() -> Vec<DataNeed> {
    vec![
        brp(&[
            "naam",
            "geboorte",
            "geslacht",
            "verblijfplaats",
            "gemeenteVanInschrijving",
            "nationaliteiten",
            "partners",
            "kinderen",
        ]),
        reisdocumenten(&[
            "reisdocumentnummer",
            "soort",
            "datumUitgifte",
            "datumEindeGeldigheid",
            "inhoudingOfVermissing",
        ]),
        by_bsn(
            "rdw",
            "RDW",
            "rdw-voertuigen",
            "/rdw/api/v1/voertuigen",
            &[
                "kenteken",
                "merk",
                "handelsbenaming",
                "brandstof",
                "tenaamstelling.datum",
            ],
        ),
        duo(&[
            "instelling",
            "opleiding",
            "niveau",
            "datumAanvang",
            "datumEindeVerwacht",
            "datumEinde",
        ]),
        DataNeed {
            naam: "inkomen".to_owned(),
            bron: "Inkomen".to_owned(),
            dienst: "inkomen".to_owned(),
            pad: "/inkomen/api/v1/inkomenssituaties".to_owned(),
            vraag: json!({"type": "RaadpleegMetBurgerservicenummer", "burgerservicenummer": "{bsn}",
                "fields": ["inkomensklasse", "uitkeringen"]}),
        },
    ]
}

fn list<'a>(answer: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    answer
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

fn text(item: &Value, pointer: &str) -> String {
    item.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// A Haal Centraal date (`{"datum": "2027-01-31", …}`) of `item`.
pub fn date(item: &Value, key: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let text = item.get(key)?.get("datum")?.as_str()?;
    Date::parse(text, &format).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use time::macros::date;

    fn day(text: &str) -> Value {
        json!({"type": "Datum", "datum": text})
    }

    #[test]
    fn expiring_documents_and_ending_studies_come_up_soonest_first() {
        let documents = json!({"reisdocumenten": [
            {"reisdocumentnummer": "P1", "soort": {"code": "PN", "omschrijving": "Nationaal paspoort"}, "datumEindeGeldigheid": day("2027-02-01")},
            {"reisdocumentnummer": "P2", "soort": {"omschrijving": "Nationaal paspoort"}, "datumEindeGeldigheid": day("2030-01-01")},
            {"reisdocumentnummer": "N1", "soort": {"omschrijving": "Nederlandse identiteitskaart"}, "datumEindeGeldigheid": day("2026-12-15"),
             "inhoudingOfVermissing": {"datum": day("2026-11-01")}},
        ]});
        let studies = json!({"inschrijvingen": [
            {"opleiding": {"naam": "Verpleegkunde"}, "datumEindeVerwacht": day("2026-12-20")},
            {"opleiding": {"naam": "Rechten"}, "datumEindeVerwacht": day("2026-12-10"), "datumEinde": day("2026-10-01")},
            {"opleiding": {"naam": "Geschiedenis"}, "datumEindeVerwacht": day("2026-11-01")},
        ]});
        let items = coming_up_in(&[&documents, &studies], date!(2026 - 12 - 01));
        assert_eq!(
            items,
            vec![
                Attendering::StudieEindigt {
                    opleiding: "Verpleegkunde".to_owned(),
                    datum: date!(2026 - 12 - 20)
                },
                Attendering::DocumentVerloopt {
                    code: "PN".to_owned(),
                    soort: "Nationaal paspoort".to_owned(),
                    nummer: "P1".to_owned(),
                    datum: date!(2027 - 02 - 01),
                },
            ]
        );
    }

    #[test]
    fn answers_without_dates_or_lists_bring_nothing() {
        let odd = [
            json!({}),
            json!({"reisdocumenten": "geen lijst"}),
            json!({"reisdocumenten": [{"datumEindeGeldigheid": "2027-01-01"}]}),
        ];
        let refs: Vec<&Value> = odd.iter().collect();
        assert!(coming_up_in(&refs, date!(2026 - 12 - 01)).is_empty());
    }
}
