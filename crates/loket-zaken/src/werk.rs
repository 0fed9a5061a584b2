//! The work of case handlers: the queue of open cases, a case with everything needed to
//! decide it, and the actions on it (take, assign, decide, note). Who may do what is
//! decided here, by role, not in the pages; every action writes an audit line in the same
//! transaction, and opening a case writes one too (who looked at whose data).

use std::sync::Arc;

use loket_core::Clock;
use loket_store::StoreError;
use serde_json::Value;
use time::{Date, Duration};
use uuid::Uuid;

use crate::ZaakStore;
use crate::berichten;
use crate::bijlage::DocumentInfo;
use crate::catalogue::Catalogue;
use crate::decision::{self, DecisionRecord, PersonDecision};
use crate::termijn::{self, TermError};
use crate::zaak::{
    AuditEntry, Closing, ListOrder, NewStatus, Note, Outcome, Page, Rol, Status, Zaak, ZaakFilter,
    statustype,
};

/// The roles staff can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StaffRole {
    /// Handles cases: takes them, decides them.
    Behandelaar,
    /// Answers residents' questions (klantcontactcentrum): reads cases, adds notes.
    Kcc,
    /// Divides the work: assigns cases, and may decide any case.
    Coordinator,
    /// Manages accounts; sees no cases.
    Beheerder,
}

impl StaffRole {
    pub const ALL: [Self; 4] = [
        Self::Behandelaar,
        Self::Kcc,
        Self::Coordinator,
        Self::Beheerder,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Behandelaar => "behandelaar",
            Self::Kcc => "kcc",
            Self::Coordinator => "coordinator",
            Self::Beheerder => "beheerder",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }

    fn allows(self, action: Action) -> bool {
        use Action::{Assign, Decide, Note, Take, View};
        match self {
            Self::Behandelaar => matches!(action, View | Take | Decide | Note),
            Self::Kcc => matches!(action, View | Note),
            Self::Coordinator => matches!(action, View | Take | Assign | Decide | Note),
            Self::Beheerder => false,
        }
    }
}

/// What an employee can do to a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    View,
    Take,
    Assign,
    Decide,
    Note,
}

/// A logged-in employee, as the process layer sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Medewerker {
    /// The account name, e.g. "m.jansen".
    pub id: String,
    pub naam: String,
    pub rollen: Vec<StaffRole>,
}

impl Medewerker {
    pub fn may(&self, action: Action) -> bool {
        self.rollen.iter().any(|r| r.allows(action))
    }

    pub fn has(&self, role: StaffRole) -> bool {
        self.rollen.contains(&role)
    }

    /// "Mila Jansen (m.jansen)", as audit lines and statuses name the actor.
    fn label(&self) -> String {
        format!("{} ({})", self.naam, self.id)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WerkError {
    #[error("no such case")]
    NotFound,
    #[error("this role may not do that")]
    Forbidden,
    #[error("the case is already closed")]
    Closed,
    /// Input the employee must correct: the field and the message (Dutch, English).
    #[error("{field}: {en}")]
    Invalid {
        field: &'static str,
        nl: &'static str,
        en: &'static str,
    },
    /// Someone else changed the case meanwhile; look again before acting.
    #[error("the case changed meanwhile")]
    Changed,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<TermError> for WerkError {
    fn from(error: TermError) -> Self {
        // The workspace's form fields for the parts of a term.
        let field = match error.field {
            "opschorting.reden" => "opschorting_reden",
            "verlenging.reden" => "verlenging_reden",
            "verlenging.duur" => "verlenging_dagen",
            _ => "termijn",
        };
        Self::Invalid {
            field,
            nl: error.nl,
            en: error.en,
        }
    }
}

/// How close a case is to its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deadline {
    /// More than `DUE_SOON_DAYS` to go.
    OnTrack {
        days_left: i64,
    },
    DueSoon {
        days_left: i64,
    },
    Overdue {
        days_late: i64,
    },
    /// The clock stands still.
    Suspended {
        since: Date,
    },
}

/// "Due soon" is the last five days before the planned end date.
pub const DUE_SOON_DAYS: i64 = 5;

impl Deadline {
    /// Where `zaak` stands: suspended, or counting down to its planned end date.
    pub fn for_case(zaak: &Zaak, today: Date) -> Self {
        match &zaak.opschorting {
            Some(opschorting) => Self::Suspended {
                since: opschorting.sinds,
            },
            None => Self::of(zaak.einddatum_gepland, today),
        }
    }

    pub fn of(due: Date, today: Date) -> Self {
        let days_left = (due - today).whole_days();
        if days_left < 0 {
            Self::Overdue {
                days_late: -days_left,
            }
        } else if days_left <= DUE_SOON_DAYS {
            Self::DueSoon { days_left }
        } else {
            Self::OnTrack { days_left }
        }
    }
}

/// Which part of the queue to show.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DeadlineFilter {
    #[default]
    All,
    DueSoon,
    Overdue,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueFilter {
    pub zaaktype: Option<String>,
    pub status: Option<String>,
    pub deadline: DeadlineFilter,
    /// Only the cases this employee handles.
    pub mine: bool,
    pub page: u32,
}

pub const QUEUE_PAGE_SIZE: u32 = 25;

/// A case with everything a handler needs to see.
#[derive(Debug, Clone)]
pub struct CaseFile {
    pub zaak: Zaak,
    pub decision: Option<DecisionRecord>,
    pub statuses: Vec<Status>,
    pub roles: Vec<Rol>,
    pub notes: Vec<Note>,
    pub documents: Vec<DocumentInfo>,
    pub audit: Vec<AuditEntry>,
}

/// The longest reason or note, in characters.
pub const MAX_TEXT: usize = 4000;

#[derive(Debug, Clone)]
pub struct Werk {
    store: Arc<dyn ZaakStore>,
    catalogue: Arc<Catalogue>,
    clock: Arc<dyn Clock>,
}

impl Werk {
    pub fn new(
        store: Arc<dyn ZaakStore>,
        catalogue: Arc<Catalogue>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            catalogue,
            clock,
        }
    }

    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    /// Today in the Netherlands (at 00:30 the UTC date is still yesterday's).
    pub fn today(&self) -> Date {
        loket_core::dutch_today(self.clock.as_ref())
    }

    fn allow(me: &Medewerker, action: Action) -> Result<(), WerkError> {
        if me.may(action) {
            Ok(())
        } else {
            Err(WerkError::Forbidden)
        }
    }

    fn audit(&self, me: &Medewerker, actie: &str, toelichting: String) -> AuditEntry {
        AuditEntry {
            actor: me.label(),
            actie: actie.to_owned(),
            toelichting,
            moment: self.clock.now(),
        }
    }

    /// Open cases, nearest deadline first.
    pub async fn queue(
        &self,
        me: &Medewerker,
        filter: &QueueFilter,
    ) -> Result<Page<Zaak>, WerkError> {
        Self::allow(me, Action::View)?;
        let today = self.today();
        let due_by = match filter.deadline {
            DeadlineFilter::All => None,
            DeadlineFilter::DueSoon => Some(today + Duration::days(DUE_SOON_DAYS)),
            DeadlineFilter::Overdue => Some(today - Duration::days(1)),
        };
        Ok(self
            .store
            .list(&ZaakFilter {
                zaaktype: filter.zaaktype.clone(),
                status: filter.status.clone(),
                open: Some(true),
                behandelaar: filter.mine.then(|| me.id.clone()),
                due_by,
                order: ListOrder::Deadline,
                page: filter.page.max(1),
                page_size: QUEUE_PAGE_SIZE,
                ..ZaakFilter::default()
            })
            .await?)
    }

    /// The case file; opening it is written in the audit trail.
    pub async fn open(&self, me: &Medewerker, zaak: Uuid) -> Result<CaseFile, WerkError> {
        Self::allow(me, Action::View)?;
        let Some(found) = self.store.get(zaak).await? else {
            return Err(WerkError::NotFound);
        };
        self.store
            .record_audit(zaak, &self.audit(me, "bekeken", String::new()))
            .await?;
        let decision = found
            .besluit
            .clone()
            .and_then(|value| serde_json::from_value(value).ok());
        Ok(CaseFile {
            decision,
            statuses: self.store.statuses(zaak).await?,
            roles: self.store.roles(zaak).await?,
            notes: self.store.notes(zaak).await?,
            documents: self.store.documents(zaak).await?,
            audit: self.store.audit_trail(zaak).await?,
            zaak: found,
        })
    }

    async fn open_case(&self, zaak: Uuid) -> Result<Zaak, WerkError> {
        let found = self.store.get(zaak).await?.ok_or(WerkError::NotFound)?;
        if found.einddatum.is_some() {
            return Err(WerkError::Closed);
        }
        Ok(found)
    }

    /// Take the case: I handle it from now on.
    pub async fn take(&self, me: &Medewerker, zaak: Uuid) -> Result<(), WerkError> {
        Self::allow(me, Action::Take)?;
        self.open_case(zaak).await?;
        let audit = self.audit(me, "opgepakt", String::new());
        if !self.store.assign(zaak, Some(&me.id), &audit).await? {
            return Err(WerkError::Closed);
        }
        Ok(())
    }

    /// Give the case to `to` (a coordinator's job); `to` must be able to handle it.
    pub async fn assign(
        &self,
        me: &Medewerker,
        zaak: Uuid,
        to: &Medewerker,
    ) -> Result<(), WerkError> {
        Self::allow(me, Action::Assign)?;
        if !to.may(Action::Decide) {
            return Err(WerkError::Invalid {
                field: "medewerker",
                nl: "Kies een medewerker die zaken behandelt.",
                en: "Choose an employee who handles cases.",
            });
        }
        self.open_case(zaak).await?;
        let audit = self.audit(me, "toegewezen", format!("aan {}", to.label()));
        if !self.store.assign(zaak, Some(&to.id), &audit).await? {
            return Err(WerkError::Closed);
        }
        Ok(())
    }

    /// Decide the case with a reason the resident will read. A handler decides the cases
    /// they handle; a coordinator any case.
    pub async fn decide(
        &self,
        me: &Medewerker,
        zaak: Uuid,
        outcome: Option<Outcome>,
        reden: &str,
    ) -> Result<Zaak, WerkError> {
        Self::allow(me, Action::Decide)?;
        let Some(outcome @ (Outcome::Toegekend | Outcome::Afgewezen)) = outcome else {
            return Err(WerkError::Invalid {
                field: "uitkomst",
                nl: "Kies of u de aanvraag toekent of afwijst.",
                en: "Choose whether you grant or refuse the application.",
            });
        };
        let reden = checked_text(reden, "reden")?;
        let found = self.open_case(zaak).await?;
        Self::handles(me, &found)?;
        let product = self
            .catalogue
            .product(&found.zaaktype)
            .ok_or(WerkError::NotFound)?;
        let earlier: Option<DecisionRecord> = found
            .besluit
            .clone()
            .and_then(|value: Value| serde_json::from_value(value).ok());
        let now = self.clock.now();
        let record = decision::by_person(
            earlier,
            product,
            outcome,
            PersonDecision {
                medewerker: me.id.clone(),
                naam: me.naam.clone(),
                reden: reden.to_owned(),
                moment: now,
                regels_uitkomst: found.uitkomst.unwrap_or(Outcome::Behandelaar),
            },
        );
        // The decision reaches the applicant in their Berichtenbox, with the case.
        let applicant = self
            .store
            .roles(zaak)
            .await?
            .into_iter()
            .find(|r| r.omschrijving_generiek == "initiator")
            .and_then(|r| r.bsn);
        let bericht = applicant.map(|bsn| berichten::decision_letter(product, &record, &bsn));
        let closing = Closing {
            outcome,
            besluit: serde_json::to_value(&record)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            status: NewStatus {
                statustype: statustype::AFGEHANDELD.to_owned(),
                datum_status_gezet: now,
                actor: me.label(),
                toelichting: record.uitleg.nl.clone(),
            },
            resultaat_toelichting: reden.to_owned(),
            audit: self.audit(me, "besloten", format!("{}: {reden}", outcome.as_str())),
            bericht,
        };
        self.store
            .close(zaak, &closing)
            .await?
            .ok_or(WerkError::Closed)
    }

    /// A file of the case, to read; who opened which file is written in the audit trail.
    pub async fn document(
        &self,
        me: &Medewerker,
        zaak: Uuid,
        document: Uuid,
    ) -> Result<(DocumentInfo, Vec<u8>), WerkError> {
        Self::allow(me, Action::View)?;
        let (info, content) = self
            .store
            .document(zaak, document)
            .await?
            .ok_or(WerkError::NotFound)?;
        let audit = self.audit(me, "document bekeken", info.bestandsnaam.clone());
        self.store.record_audit(zaak, &audit).await?;
        Ok((info, content))
    }

    /// Stop the clock: the applicant is asked for something, and the term waits.
    pub async fn suspend(
        &self,
        me: &Medewerker,
        zaak: Uuid,
        reden: &str,
    ) -> Result<Zaak, WerkError> {
        self.change_term(me, zaak, |found, today| {
            let term = termijn::suspend(&found.termijn(), reden, today)?;
            Ok((term, "opgeschort", reden.trim().to_owned()))
        })
        .await
    }

    /// Start the clock again; the end dates move by the days it stood still.
    pub async fn resume(&self, me: &Medewerker, zaak: Uuid) -> Result<Zaak, WerkError> {
        self.change_term(me, zaak, |found, today| {
            let term = termijn::resume(&found.termijn(), today)?;
            let days = (term.uiterlijke_einddatum_afdoening - found.uiterlijke_einddatum_afdoening)
                .whole_days();
            Ok((term, "hervat", format!("termijn {days} dagen later")))
        })
        .await
    }

    /// Extend the term once, by at most the product's handling time.
    pub async fn extend(
        &self,
        me: &Medewerker,
        zaak: Uuid,
        dagen: Option<u16>,
        reden: &str,
    ) -> Result<Zaak, WerkError> {
        self.change_term(me, zaak, |found, _| {
            let max = self
                .catalogue
                .product(&found.zaaktype)
                .map_or(0, |p| p.behandeltermijn_dagen);
            let term = termijn::extend(&found.termijn(), reden, dagen.unwrap_or(0), max)?;
            let toelichting = format!("{} dagen: {}", dagen.unwrap_or(0), reden.trim());
            Ok((term, "verlengd", toelichting))
        })
        .await
    }

    /// Change an open case's term as `change` says, if I handle the case. The store
    /// writes it only if nobody changed the term meanwhile.
    async fn change_term(
        &self,
        me: &Medewerker,
        zaak: Uuid,
        change: impl FnOnce(
            &Zaak,
            Date,
        ) -> Result<(crate::zaak::Termijn, &'static str, String), WerkError>,
    ) -> Result<Zaak, WerkError> {
        Self::allow(me, Action::Decide)?;
        let found = self.open_case(zaak).await?;
        Self::handles(me, &found)?;
        let (term, actie, toelichting) = change(&found, self.today())?;
        let audit = self.audit(me, actie, toelichting);
        self.store
            .change_term(zaak, &found.termijn(), &term, &audit)
            .await?
            .ok_or(WerkError::Changed)
    }

    /// A handler acts on the cases they handle; a coordinator on any.
    fn handles(me: &Medewerker, zaak: &Zaak) -> Result<(), WerkError> {
        if zaak.behandelaar.as_deref() == Some(&me.id) || me.has(StaffRole::Coordinator) {
            Ok(())
        } else {
            Err(WerkError::Invalid {
                field: "behandelaar",
                nl: "Pak de zaak eerst op: u werkt alleen aan zaken die u behandelt.",
                en: "Take the case first: you only work on cases you handle.",
            })
        }
    }

    pub async fn note(&self, me: &Medewerker, zaak: Uuid, text: &str) -> Result<(), WerkError> {
        Self::allow(me, Action::Note)?;
        let text = checked_text(text, "notitie")?;
        let note = Note {
            auteur: me.label(),
            tekst: text.to_owned(),
            moment: self.clock.now(),
        };
        if self.store.add_note(zaak, &note).await? {
            Ok(())
        } else {
            Err(WerkError::NotFound)
        }
    }
}

/// A reason or a note: required, and not endless.
fn checked_text<'a>(text: &'a str, field: &'static str) -> Result<&'a str, WerkError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(match field {
            "reden" => WerkError::Invalid {
                field,
                nl: "Schrijf de reden van het besluit op. De aanvrager leest die.",
                en: "Write down the reason for the decision. The applicant will read it.",
            },
            _ => WerkError::Invalid {
                field,
                nl: "Schrijf een notitie.",
                en: "Write a note.",
            },
        });
    }
    if text.chars().count() > MAX_TEXT {
        return Err(WerkError::Invalid {
            field,
            nl: "Gebruik niet meer dan 4000 tekens.",
            en: "Use no more than 4000 characters.",
        });
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn deadlines_are_on_track_due_soon_or_overdue() {
        let today = date!(2026 - 11 - 23);
        assert_eq!(
            Deadline::of(date!(2026 - 12 - 01), today),
            Deadline::OnTrack { days_left: 8 }
        );
        assert_eq!(
            Deadline::of(date!(2026 - 11 - 28), today),
            Deadline::DueSoon { days_left: 5 }
        );
        assert_eq!(
            Deadline::of(today, today),
            Deadline::DueSoon { days_left: 0 }
        );
        assert_eq!(
            Deadline::of(date!(2026 - 11 - 20), today),
            Deadline::Overdue { days_late: 3 }
        );
    }

    #[test]
    fn roles_allow_what_their_work_needs() {
        let with = |role| Medewerker {
            id: "x".to_owned(),
            naam: "X".to_owned(),
            rollen: vec![role],
        };
        assert!(with(StaffRole::Kcc).may(Action::Note));
        assert!(!with(StaffRole::Kcc).may(Action::Decide));
        assert!(!with(StaffRole::Behandelaar).may(Action::Assign));
        assert!(with(StaffRole::Coordinator).may(Action::Assign));
        assert!(!with(StaffRole::Beheerder).may(Action::View));
        for role in StaffRole::ALL {
            assert_eq!(StaffRole::parse(role.as_str()), Some(role));
        }
    }
}
