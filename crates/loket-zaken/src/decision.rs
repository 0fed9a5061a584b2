//! Deciding an application from its inputs: every rule's outcome, the fee, the outcome
//! and a plain-language explanation in Dutch and English, kept as the decision record.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::catalogue::{Product, Text};
use crate::rules::{FeeTrace, Inputs, RuleOutcome, RuleTrace};
use crate::zaak::Outcome;

/// Where a value the decision used came from: which register, through which exchange
/// service, under which processing activity, in which trace (the processing logs of both
/// organisations hold that trace id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataUsed {
    pub naam: String,
    pub bron: String,
    pub dienst: String,
    pub verwerkingsactiviteit: Option<String>,
    pub trace_id: String,
    pub span_id: String,
    /// The answer as the register gave it (only the fields the grant allows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waarden: Option<Value>,
    /// Why there is no answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fout: Option<String>,
}

/// The decision record a case keeps: enough to explain and to check it later.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    pub product: String,
    pub uitkomst: Outcome,
    /// "Loket (automatisch)" or the employee who decided.
    pub door: String,
    pub regels: Vec<RuleTrace>,
    pub tarief: Option<FeeTrace>,
    pub uitleg: Text,
    /// What the resident can do when refused (bezwaar).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bezwaar: Option<Text>,
    pub gegevens: Vec<DataUsed>,
    /// What the resident filled in, the municipality's settings and the counts used.
    pub invoer: Inputs,
    /// When a person decided: who, why, and what the rules had said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beslissing: Option<PersonDecision>,
}

/// A decision a person took on a case the rules sent to the work queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonDecision {
    pub medewerker: String,
    pub naam: String,
    /// The reason, written for the resident.
    pub reden: String,
    #[serde(with = "time::serde::rfc3339")]
    pub moment: time::OffsetDateTime,
    /// What the rules had concluded before the person decided.
    pub regels_uitkomst: Outcome,
}

/// The record after a person decided `outcome` for `reden`: the rules' trace and the data
/// used stay, the outcome, the explanation and the right to object follow the person.
pub fn by_person(
    record: Option<DecisionRecord>,
    product: &Product,
    outcome: Outcome,
    decision: PersonDecision,
) -> DecisionRecord {
    let mut record = record.unwrap_or_else(|| DecisionRecord {
        product: product.id.clone(),
        uitkomst: Outcome::Behandelaar,
        door: String::new(),
        regels: Vec::new(),
        tarief: None,
        uitleg: Text::default(),
        bezwaar: None,
        gegevens: Vec::new(),
        invoer: Inputs::default(),
        beslissing: None,
    });
    let name_nl = product.naam.nl.to_lowercase();
    let name_en = product.naam.en.to_lowercase();
    // A form sends line breaks as CRLF; paragraphs are split on "\n\n".
    let reden = decision.reden.trim().replace("\r\n", "\n");
    // The employee's words are a paragraph of their own in both languages, so that a page
    // can tell them apart and mark them Dutch on an English page (`paragraphs`).
    record.uitleg = match outcome {
        Outcome::Afgewezen => Text {
            nl: format!("U krijgt de {name_nl} niet.\n\n{reden}"),
            en: format!("You do not get the {name_en}. The reason, in Dutch:\n\n{reden}"),
        },
        _ => Text {
            nl: format!("U krijgt de {name_nl}.\n\n{reden}"),
            en: format!("You get the {name_en}. The reason, in Dutch:\n\n{reden}"),
        },
    };
    record.bezwaar = (outcome == Outcome::Afgewezen).then(objection);
    record.door.clone_from(&decision.naam);
    record.uitkomst = outcome;
    record.beslissing = Some(PersonDecision {
        regels_uitkomst: record
            .beslissing
            .as_ref()
            .map_or(decision.regels_uitkomst, |b| b.regels_uitkomst),
        ..decision
    });
    record
}

pub const AUTOMATIC: &str = "Loket (automatisch)";

/// The objection period of the Algemene wet bestuursrecht (article 6:7): six weeks.
fn objection() -> Text {
    Text {
        nl: "Bent u het niet eens met dit besluit? Dan kunt u binnen 6 weken bezwaar maken. \
             Dat kan online, per post of aan de balie."
            .to_owned(),
        en: "Do you disagree with this decision? You can object within 6 weeks, \
             online, by post or at the counter."
            .to_owned(),
    }
}

/// Decide `product` on `inputs`. Without rules, a person decides.
pub fn decide(product: &Product, inputs: &Inputs, data: Vec<DataUsed>) -> DecisionRecord {
    let (traces, fee) = match &product.regels {
        Some(rules) => (rules.evaluate(inputs), rules.fee(inputs)),
        None => (Vec::new(), Ok(None)),
    };
    let any = |outcome| traces.iter().any(|t| t.uitkomst == outcome);
    let needs_person =
        product.regels.is_none() || any(RuleOutcome::Onbeslist) || any(RuleOutcome::Behandelaar);
    let (fee, fee_error) = match fee {
        Ok(fee) => (fee, None),
        Err(error) => (None, Some(error)),
    };
    let uitkomst = if needs_person || fee_error.is_some() {
        Outcome::Behandelaar
    } else if any(RuleOutcome::NietVoldaan) {
        if product.automatisch_besluit.afwijzen {
            Outcome::Afgewezen
        } else {
            Outcome::Behandelaar
        }
    } else if product.automatisch_besluit.toekennen {
        Outcome::Toegekend
    } else {
        Outcome::Behandelaar
    };
    let uitleg = explain(product, uitkomst, &traces, fee.as_ref());
    DecisionRecord {
        product: product.id.clone(),
        uitkomst,
        door: AUTOMATIC.to_owned(),
        regels: traces,
        tarief: fee,
        uitleg,
        bezwaar: (uitkomst == Outcome::Afgewezen).then(objection),
        gegevens: data,
        invoer: inputs.clone(),
        beslissing: None,
    }
}

/// The explanation: the outcome in one sentence, then the reasons that carry it.
fn explain(
    product: &Product,
    outcome: Outcome,
    traces: &[RuleTrace],
    fee: Option<&FeeTrace>,
) -> Text {
    let name_nl = product.naam.nl.to_lowercase();
    let name_en = product.naam.en.to_lowercase();
    let (mut nl, mut en, shown): (String, String, &[RuleOutcome]) = match outcome {
        Outcome::Toegekend => (
            format!("U krijgt de {name_nl}."),
            format!("You get the {name_en}."),
            &[RuleOutcome::Voldaan],
        ),
        Outcome::Afgewezen => (
            format!("U krijgt de {name_nl} niet."),
            format!("You do not get the {name_en}."),
            &[RuleOutcome::NietVoldaan],
        ),
        Outcome::Behandelaar => (
            "Een medewerker beoordeelt uw aanvraag.".to_owned(),
            "A member of staff will assess your application.".to_owned(),
            &[RuleOutcome::Behandelaar, RuleOutcome::Onbeslist],
        ),
    };
    for trace in traces.iter().filter(|t| shown.contains(&t.uitkomst)) {
        nl.push(' ');
        nl.push_str(&trace.uitleg.nl);
        en.push(' ');
        en.push_str(&trace.uitleg.en);
    }
    if outcome == Outcome::Toegekend
        && let Some(fee) = fee
    {
        nl.push(' ');
        nl.push_str(&fee.uitleg.nl);
        en.push(' ');
        en.push_str(&fee.uitleg.en);
    }
    Text { nl, en }
}

#[cfg(test)]
mod tests;
