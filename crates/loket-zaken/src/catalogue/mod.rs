//! The product catalogue: one TOML file per product (`catalogue/<id>.toml`), its rules
//! and fee table next to it (`<id>.regels.toml`), and the life events products belong to
//! (`levensgebeurtenissen.toml`). Everything is checked when it is loaded; an error
//! names the file, the line and the problem, and nothing half-checked is used.

mod raw;

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::rules::{Expression, RuleSet};

/// A text in Dutch and English.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Text {
    pub nl: String,
    pub en: String,
}

impl Text {
    pub fn get(&self, english: bool) -> &str {
        if english { &self.en } else { &self.nl }
    }

    pub(crate) fn fill(&self, inputs: &crate::rules::Inputs) -> Text {
        Text {
            nl: inputs.fill(&self.nl),
            en: inputs.fill(&self.en),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifeEvent {
    pub id: String,
    pub naam: Text,
}

/// How a resident can apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Channel {
    Online,
    Balie,
    Telefoon,
    Post,
}

/// Data a product asks a register for, through the exchange.
#[derive(Debug, Clone)]
pub struct DataNeed {
    /// The name the rules know the answer by (`brp`).
    pub naam: String,
    /// The register as the resident knows it ("BRP"), for "Bron: BRP".
    pub bron: String,
    /// The exchange service (`brp-personen`) and the path on it.
    pub dienst: String,
    pub pad: String,
    /// The request body; the string `{bsn}` anywhere in it becomes the applicant's BSN.
    pub vraag: Value,
}

impl DataNeed {
    pub fn request_for(&self, bsn: &str) -> Value {
        fn fill(value: &Value, bsn: &str) -> Value {
            match value {
                Value::String(s) if s == "{bsn}" => Value::String(bsn.to_owned()),
                Value::Array(items) => Value::Array(items.iter().map(|v| fill(v, bsn)).collect()),
                Value::Object(map) => {
                    Value::Object(map.iter().map(|(k, v)| (k.clone(), fill(v, bsn))).collect())
                }
                other => other.clone(),
            }
        }
        fill(&self.vraag, bsn)
    }
}

/// What the resident is asked (what the government cannot know).
#[derive(Debug, Clone)]
pub struct Question {
    pub naam: String,
    pub vraag: Text,
    pub soort: QuestionKind,
}

/// A file the resident adds to the application, e.g. a lease statement.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub naam: String,
    pub omschrijving: Text,
    /// Needed when the yes/no question of this name is answered yes; always when `None`.
    pub nodig_als: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum QuestionKind {
    Kenteken,
    JaNee,
    Tekst,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FeePeriod {
    Jaar,
    Keer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fee {
    pub per: FeePeriod,
    pub bedrag_centen: u32,
}

/// Whether the rules may decide without a person, each way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoDecision {
    pub toekennen: bool,
    pub afwijzen: bool,
}

#[derive(Debug, Clone)]
pub struct Product {
    pub id: String,
    pub naam: Text,
    pub omschrijving: Text,
    pub levensgebeurtenissen: Vec<String>,
    pub zoekwoorden: Vec<String>,
    pub kanalen: Vec<Channel>,
    pub behandeltermijn_dagen: u16,
    pub documenten_balie: Vec<Text>,
    pub verwerkingsactiviteit: Option<String>,
    pub automatisch_besluit: AutoDecision,
    pub zaakobject: Option<Expression>,
    pub tarief: Option<Fee>,
    pub parameters: Map<String, Value>,
    pub gegevens: Vec<DataNeed>,
    pub vragen: Vec<Question>,
    pub bijlagen: Vec<Attachment>,
    /// Present when the product has a rules file; without one a person decides.
    pub regels: Option<RuleSet>,
}

/// A catalogue file that cannot be used, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueError {
    pub file: String,
    /// From 1; 0 when the problem is the file (or directory) as a whole.
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// `FILE:LINE:COLUMN: problem`, as compilers write it, or `FILE: problem` without a place.
impl std::fmt::Display for CatalogueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            0 => write!(f, "{}: {}", self.file, self.message),
            line => write!(f, "{}:{line}:{}: {}", self.file, self.column, self.message),
        }
    }
}

impl std::error::Error for CatalogueError {}

#[derive(Debug, Clone)]
pub struct Catalogue {
    life_events: Vec<LifeEvent>,
    products: Vec<Product>,
}

pub const LIFE_EVENTS_FILE: &str = "levensgebeurtenissen.toml";
const RULES_SUFFIX: &str = ".regels.toml";

impl Catalogue {
    /// Read every `*.toml` in `dir`.
    pub fn load(dir: &Path) -> Result<Self, CatalogueError> {
        let unreadable = |file: &str, message: String| CatalogueError {
            file: file.to_owned(),
            line: 0,
            column: 0,
            message,
        };
        let display = dir.display().to_string();
        let entries = std::fs::read_dir(dir).map_err(|e| unreadable(&display, e.to_string()))?;
        let mut files = Vec::new();
        for entry in entries {
            let path = entry
                .map_err(|e| unreadable(&display, e.to_string()))?
                .path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if !name.ends_with(".toml") {
                continue;
            }
            let text = std::fs::read_to_string(&path)
                .map_err(|e| unreadable(&path.display().to_string(), e.to_string()))?;
            files.push((name.to_owned(), text));
        }
        files.sort();
        Self::parse(&files)
    }

    /// Build the catalogue from `(file name, contents)` pairs.
    pub fn parse(files: &[(String, String)]) -> Result<Self, CatalogueError> {
        let find = |name: &str| files.iter().find(|(n, _)| n == name);
        let (events_name, events_text) = find(LIFE_EVENTS_FILE).ok_or_else(|| CatalogueError {
            file: LIFE_EVENTS_FILE.to_owned(),
            line: 0,
            column: 0,
            message: "the catalogue needs this file: the life events products belong to".into(),
        })?;
        let life_events = raw::life_events(events_name, events_text)?;
        let known: BTreeSet<&str> = life_events.iter().map(|e| e.id.as_str()).collect();
        let mut products: Vec<Product> = Vec::new();
        for (name, text) in files {
            if name == LIFE_EVENTS_FILE || name.ends_with(RULES_SUFFIX) {
                continue;
            }
            let stem = name.trim_end_matches(".toml");
            let rules_name = format!("{stem}{RULES_SUFFIX}");
            let rules = find(&rules_name).map(|(n, t)| (n.as_str(), t.as_str()));
            let product = raw::product(name, text, rules, &known)?;
            if products.iter().any(|p| p.id == product.id) {
                return Err(CatalogueError {
                    file: name.clone(),
                    line: 1,
                    column: 1,
                    message: format!("product id `{}` is used twice", product.id),
                });
            }
            products.push(product);
        }
        for (name, _) in files {
            if let Some(stem) = name.strip_suffix(RULES_SUFFIX)
                && find(&format!("{stem}.toml")).is_none()
            {
                return Err(CatalogueError {
                    file: name.clone(),
                    line: 1,
                    column: 1,
                    message: format!("rules without a product: there is no {stem}.toml"),
                });
            }
        }
        Ok(Self {
            life_events,
            products,
        })
    }

    pub fn products(&self) -> &[Product] {
        &self.products
    }

    pub fn product(&self, id: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.id == id)
    }

    pub fn life_events(&self) -> &[LifeEvent] {
        &self.life_events
    }
}

#[cfg(test)]
mod tests;

/// The repository's own parking permit, for the crate's tests.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) fn repository_permit() -> Product {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../catalogue");
    Catalogue::load(&dir)
        .unwrap()
        .product("bewonersparkeervergunning")
        .unwrap()
        .clone()
}
