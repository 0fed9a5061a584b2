//! The catalogue files as written, and their checks. Values that need checking beyond
//! their type keep their place in the file (`Spanned`) so an error can point at them.

use std::collections::BTreeSet;
use std::ops::Range;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use toml::Spanned;

use super::{
    Attachment, AutoDecision, CatalogueError, Channel, DataNeed, Fee, LifeEvent, Product, Question,
    QuestionKind, Text,
};
use crate::rules::{Expression, FeeRow, Otherwise, Rule, RuleSet};

/// Inputs every product's rules can read besides its own `gegevens`.
pub(crate) const BUILT_IN_INPUTS: &[&str] =
    &["aanvraag", "parameters", "gemeente", "bestaand", "tarief"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LifeEventsFile {
    levensgebeurtenis: Vec<RawLifeEvent>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLifeEvent {
    id: Spanned<String>,
    naam: Text,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductFile {
    id: Spanned<String>,
    naam: Text,
    omschrijving: Text,
    levensgebeurtenissen: Vec<Spanned<String>>,
    #[serde(default)]
    zoekwoorden: Vec<String>,
    kanalen: Vec<Channel>,
    behandeltermijn_dagen: Spanned<u16>,
    #[serde(default)]
    documenten_balie: Vec<Text>,
    verwerkingsactiviteit: Option<String>,
    #[serde(default)]
    automatisch_besluit: AutoDecision,
    zaakobject: Option<Spanned<String>>,
    tarief: Option<Fee>,
    #[serde(default)]
    parameters: toml::Table,
    #[serde(default)]
    gegevens: Vec<RawDataNeed>,
    #[serde(default)]
    vragen: Vec<RawQuestion>,
    #[serde(default)]
    bijlagen: Vec<RawAttachment>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAttachment {
    naam: Spanned<String>,
    omschrijving: Text,
    nodig_als: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDataNeed {
    naam: Spanned<String>,
    bron: String,
    dienst: String,
    pad: String,
    vraag: toml::Table,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuestion {
    naam: Spanned<String>,
    vraag: Text,
    soort: QuestionKind,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default)]
    regel: Vec<RawRule>,
    #[serde(default)]
    tarief: Vec<RawFeeRow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Spanned<String>,
    naam: Text,
    voorwaarde: Spanned<String>,
    grondslag: String,
    anders: Otherwise,
    behandelaar_als: Option<Spanned<String>>,
    uitleg_voldaan: Text,
    uitleg_niet_voldaan: Text,
    uitleg_behandelaar: Option<Text>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFeeRow {
    als: Spanned<String>,
    bedrag_centen: Spanned<String>,
    grondslag: String,
    uitleg: Text,
}

/// Where in one file: turns byte ranges into line and column.
struct Source<'a> {
    file: &'a str,
    text: &'a str,
}

impl Source<'_> {
    fn error(&self, span: Range<usize>, message: impl Into<String>) -> CatalogueError {
        let before = &self.text[..span.start.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        CatalogueError {
            file: self.file.to_owned(),
            line,
            column,
            message: message.into(),
        }
    }

    fn parse<T: DeserializeOwned>(&self) -> Result<T, CatalogueError> {
        toml::from_str(self.text).map_err(|e| {
            // Serde names Rust types; the people who edit these files think in numbers.
            let message = e
                .message()
                .trim_end()
                .replace("expected u16", "expected a whole number")
                .replace("expected u32", "expected a whole number");
            self.error(e.span().unwrap_or(0..0), message)
        })
    }

    /// Compile a CEL expression that may read only `inputs`.
    fn expression(
        &self,
        spanned: &Spanned<String>,
        inputs: &BTreeSet<String>,
    ) -> Result<Expression, CatalogueError> {
        let expression = Expression::compile(spanned.get_ref())
            .map_err(|e| self.error(spanned.span(), format!("not a valid CEL expression: {e}")))?;
        if let Some(unknown) = expression.inputs().iter().find(|n| !inputs.contains(*n)) {
            let known: Vec<&str> = inputs.iter().map(String::as_str).collect();
            return Err(self.error(
                spanned.span(),
                format!(
                    "`{unknown}` is not an input here; known are: {}",
                    known.join(", ")
                ),
            ));
        }
        Ok(expression)
    }
}

pub(super) fn life_events(file: &str, text: &str) -> Result<Vec<LifeEvent>, CatalogueError> {
    let source = Source { file, text };
    let parsed: LifeEventsFile = source.parse()?;
    let mut seen = BTreeSet::new();
    parsed
        .levensgebeurtenis
        .into_iter()
        .map(|event| {
            if !seen.insert(event.id.get_ref().clone()) {
                return Err(source.error(event.id.span(), "this id is used twice"));
            }
            Ok(LifeEvent {
                id: event.id.into_inner(),
                naam: event.naam,
            })
        })
        .collect()
}

pub(super) fn product(
    file: &str,
    text: &str,
    rules: Option<(&str, &str)>,
    life_events: &BTreeSet<&str>,
) -> Result<Product, CatalogueError> {
    let source = Source { file, text };
    let raw: ProductFile = source.parse()?;
    let stem = file.trim_end_matches(".toml");
    if raw.id.get_ref() != stem {
        return Err(source.error(
            raw.id.span(),
            format!("the id must be the file's name: `{stem}`"),
        ));
    }
    for event in &raw.levensgebeurtenissen {
        if !life_events.contains(event.get_ref().as_str()) {
            return Err(source.error(
                event.span(),
                format!(
                    "unknown life event `{}`; see {}",
                    event.get_ref(),
                    super::LIFE_EVENTS_FILE
                ),
            ));
        }
    }
    if *raw.behandeltermijn_dagen.get_ref() == 0 {
        return Err(source.error(
            raw.behandeltermijn_dagen.span(),
            "the handling time must be at least one day",
        ));
    }
    let mut inputs: BTreeSet<String> = BUILT_IN_INPUTS.iter().map(|s| (*s).to_owned()).collect();
    let mut gegevens = Vec::new();
    for need in raw.gegevens {
        if !inputs.insert(need.naam.get_ref().clone()) {
            return Err(source.error(need.naam.span(), "this name is already taken"));
        }
        gegevens.push(DataNeed {
            naam: need.naam.into_inner(),
            bron: need.bron,
            dienst: need.dienst,
            pad: need.pad,
            vraag: json(toml::Value::Table(need.vraag)),
        });
    }
    let mut asked = BTreeSet::new();
    let mut vragen = Vec::new();
    for question in raw.vragen {
        if !asked.insert(question.naam.get_ref().clone()) {
            return Err(source.error(question.naam.span(), "this question is asked twice"));
        }
        vragen.push(Question {
            naam: question.naam.into_inner(),
            vraag: question.vraag,
            soort: question.soort,
        });
    }
    let mut bijlagen = Vec::new();
    for attachment in raw.bijlagen {
        if !asked.insert(attachment.naam.get_ref().clone()) {
            return Err(source.error(attachment.naam.span(), "this name is already taken"));
        }
        if let Some(when) = &attachment.nodig_als {
            let yes_no = vragen
                .iter()
                .any(|q| &q.naam == when.get_ref() && q.soort == QuestionKind::JaNee);
            if !yes_no {
                return Err(source.error(
                    when.span(),
                    "nodig_als must name a ja-nee question of this product",
                ));
            }
        }
        bijlagen.push(Attachment {
            naam: attachment.naam.into_inner(),
            omschrijving: attachment.omschrijving,
            nodig_als: attachment.nodig_als.map(Spanned::into_inner),
        });
    }
    let zaakobject = raw
        .zaakobject
        .as_ref()
        .map(|e| source.expression(e, &inputs))
        .transpose()?;
    let regels = rules
        .map(|(rules_file, rules_text)| {
            let rules_source = Source {
                file: rules_file,
                text: rules_text,
            };
            rule_set(&rules_source, &inputs)
        })
        .transpose()?;
    let parameters = match json(toml::Value::Table(raw.parameters)) {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    Ok(Product {
        id: raw.id.into_inner(),
        naam: raw.naam,
        omschrijving: raw.omschrijving,
        levensgebeurtenissen: raw
            .levensgebeurtenissen
            .into_iter()
            .map(Spanned::into_inner)
            .collect(),
        zoekwoorden: raw.zoekwoorden,
        kanalen: raw.kanalen,
        behandeltermijn_dagen: raw.behandeltermijn_dagen.into_inner(),
        documenten_balie: raw.documenten_balie,
        verwerkingsactiviteit: raw.verwerkingsactiviteit,
        automatisch_besluit: raw.automatisch_besluit,
        zaakobject,
        tarief: raw.tarief,
        parameters,
        gegevens,
        vragen,
        bijlagen,
        regels,
    })
}

fn rule_set(source: &Source<'_>, inputs: &BTreeSet<String>) -> Result<RuleSet, CatalogueError> {
    let raw: RulesFile = source.parse()?;
    let mut ids = BTreeSet::new();
    let mut rules = Vec::new();
    for rule in raw.regel {
        if !ids.insert(rule.id.get_ref().clone()) {
            return Err(source.error(rule.id.span(), "this rule id is used twice"));
        }
        rules.push(Rule {
            id: rule.id.into_inner(),
            naam: rule.naam,
            voorwaarde: source.expression(&rule.voorwaarde, inputs)?,
            grondslag: rule.grondslag,
            anders: rule.anders,
            behandelaar_als: rule
                .behandelaar_als
                .as_ref()
                .map(|e| source.expression(e, inputs))
                .transpose()?,
            uitleg_voldaan: rule.uitleg_voldaan,
            uitleg_niet_voldaan: rule.uitleg_niet_voldaan,
            uitleg_behandelaar: rule.uitleg_behandelaar,
        });
    }
    let fee = raw
        .tarief
        .into_iter()
        .map(|row| {
            Ok(FeeRow {
                als: source.expression(&row.als, inputs)?,
                bedrag_centen: source.expression(&row.bedrag_centen, inputs)?,
                grondslag: row.grondslag,
                uitleg: row.uitleg,
            })
        })
        .collect::<Result<_, CatalogueError>>()?;
    Ok(RuleSet { rules, fee })
}

fn json(value: toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => Value::from(f),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(items.into_iter().map(json).collect()),
        toml::Value::Table(table) => {
            Value::Object(table.into_iter().map(|(k, v)| (k, json(v))).collect())
        }
    }
}
