//! The resident's Berichtenbox: the letters the municipality sends about a case. A letter
//! is written in the same transaction as what it reports (the decision, or that a person
//! will look at the application), so a decided case never lacks its letter.

use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::catalogue::{Product, Text};
use crate::decision::DecisionRecord;
use crate::zaak::Outcome;

/// A letter to be sent with a change to a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBericht {
    /// To whom: the case's initiator.
    pub bsn: String,
    pub onderwerp: Text,
    pub tekst: Text,
}

/// A letter in a resident's Berichtenbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bericht {
    pub uuid: Uuid,
    /// The case it is about, to link back to.
    pub zaak: Option<Uuid>,
    pub onderwerp: Text,
    pub tekst: Text,
    pub verzonden: OffsetDateTime,
    pub gelezen: Option<OffsetDateTime>,
}

/// A page of a resident's letters, with the counts the Berichtenbox shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbox {
    pub items: Vec<Bericht>,
    pub total: u64,
    pub unread: u64,
}

/// How a resident wants to receive letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kanaal {
    /// Only in the Berichtenbox.
    #[default]
    Digitaal,
    /// In the Berichtenbox and on paper.
    OokPost,
}

impl Kanaal {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Digitaal => "digitaal",
            Self::OokPost => "ook-post",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "digitaal" => Some(Self::Digitaal),
            "ook-post" => Some(Self::OokPost),
            _ => None,
        }
    }
}

/// The letter that brings a decision: the outcome in the resident's words, the
/// explanation, and what they can do (object, when refused).
pub fn decision_letter(product: &Product, record: &DecisionRecord, bsn: &str) -> NewBericht {
    let (nl, en) = match record.uitkomst {
        Outcome::Toegekend => ("U krijgt de", "You get the"),
        Outcome::Afgewezen => ("U krijgt geen", "You do not get the"),
        Outcome::Behandelaar => (
            "Besluit over uw aanvraag voor de",
            "Decision on your application for the",
        ),
    };
    let onderwerp = Text {
        nl: format!("{nl} {}", product.naam.nl.to_lowercase()),
        en: format!("{en} {}", product.naam.en.to_lowercase()),
    };
    // A person's decision has their reason in its explanation already.
    let mut tekst = record.uitleg.clone();
    if let Some(bezwaar) = &record.bezwaar {
        tekst.nl = format!("{}\n\n{}", tekst.nl, bezwaar.nl);
        tekst.en = format!("{}\n\n{}", tekst.en, bezwaar.en);
    }
    NewBericht {
        bsn: bsn.to_owned(),
        onderwerp,
        tekst,
    }
}

/// The letter that says a person will decide, and by when.
pub fn received_letter(product: &Product, deadline: Date, bsn: &str) -> NewBericht {
    let nl_date = loket_core::datum::lang_formaat(deadline);
    let en_date = format!(
        "{} {} {}",
        deadline.day(),
        deadline.month(),
        deadline.year()
    );
    NewBericht {
        bsn: bsn.to_owned(),
        onderwerp: Text {
            nl: format!(
                "We hebben uw aanvraag voor de {} ontvangen",
                product.naam.nl.to_lowercase()
            ),
            en: format!(
                "We have received your application for the {}",
                product.naam.en.to_lowercase()
            ),
        },
        tekst: Text {
            nl: format!(
                "Een medewerker van de gemeente bekijkt uw aanvraag. U hoort uiterlijk op {nl_date} wat we besluiten. Hebben we iets van u nodig, dan laten we het u weten."
            ),
            en: format!(
                "An employee of the municipality will look at your application. You will hear our decision by {en_date} at the latest. If we need anything from you, we will let you know."
            ),
        },
    }
}
