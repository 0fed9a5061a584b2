use std::fmt;
use std::sync::Arc;

use loket_store::{Database, StoreError};

use super::fields::FieldSet;
use super::postgres::PostgresPersonStore;
use super::query::{PersonFilter, TextMatch};
use super::record::{PersonRecord, PersonWithoutRelatives};
use super::sqlite::SqlitePersonStore;
use crate::common::feed::NewMutatie;

/// The BRP's own store of persons.
#[async_trait::async_trait]
pub trait PersonStore: Send + Sync + fmt::Debug {
    /// Add persons (a whole batch in one transaction). A BSN that exists already is an error.
    async fn insert(&self, persons: &[PersonRecord]) -> Result<(), StoreError>;
    /// The persons with these BSNs, in the order asked, each once.
    async fn by_bsn(&self, bsns: &[String], parts: Parts) -> Result<Vec<PersonRecord>, StoreError>;
    /// Everyone `filter` matches, ordered by BSN.
    async fn search(
        &self,
        filter: &PersonFilter,
        parts: Parts,
    ) -> Result<Vec<PersonRecord>, StoreError>;
    async fn count(&self) -> Result<u64, StoreError>;
    /// Add or replace one person and record what happened in the feed, atomically.
    async fn put(&self, person: &PersonRecord, mutatie: &NewMutatie) -> Result<(), StoreError>;
    /// Before loading many persons into an empty register: drop the search indexes, so that
    /// rows are appended instead of scattered over index pages. Refused when not empty.
    async fn begin_bulk_load(&self) -> Result<(), StoreError>;
    /// After a bulk load: build the search indexes again (also safe to call twice).
    async fn finish_bulk_load(&self) -> Result<(), StoreError>;
}

/// The search indexes, as the first migration creates them, per backend.
pub(super) const SQLITE_INDEXES: [(&str, &str); 3] = [
    (
        "personen_naam_geboorte",
        "personen (geslachtsnaam, geboortedatum)",
    ),
    ("personen_adres", "personen (postcode, huisnummer)"),
    (
        "personen_gemeente_naam",
        "personen (gemeentecode, geslachtsnaam)",
    ),
];
pub(super) const POSTGRES_INDEXES: [(&str, &str); 3] = [
    (
        "personen_naam_geboorte",
        "personen (geslachtsnaam text_pattern_ops, geboortedatum)",
    ),
    ("personen_adres", "personen (postcode, huisnummer)"),
    (
        "personen_gemeente_naam",
        "personen (gemeentecode, geslachtsnaam text_pattern_ops)",
    ),
];

pub fn person_store(database: &Database) -> Arc<dyn PersonStore> {
    match database {
        Database::Sqlite(pool) => Arc::new(SqlitePersonStore::new(pool.clone())),
        Database::Postgres(pool) => Arc::new(PostgresPersonStore::new(pool.clone())),
    }
}

/// The indexed columns of a person row.
pub(super) struct Row<'a> {
    /// The BSN as the table's key: its nine digits as a number (both backends).
    pub bsn: i64,
    pub geslachtsnaam: String,
    pub geboortedatum: String,
    pub postcode: Option<&'a str>,
    pub huisnummer: Option<i64>,
    pub gemeentecode: &'a str,
    pub overleden: bool,
    pub document: String,
}

impl Row<'_> {
    /// Postgres keeps the date as a DATE.
    pub(super) fn geboortedatum_value(&self) -> Option<time::Date> {
        super::record::Datum::parse(&self.geboortedatum).map(|d| d.0)
    }
}

impl<'a> Row<'a> {
    pub(super) fn of(person: &'a PersonRecord) -> Result<Self, StoreError> {
        Ok(Self {
            bsn: bsn_key(&person.burgerservicenummer).ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "a BSN is nine digits, not {:?}",
                    person.burgerservicenummer
                ))
            })?,
            geslachtsnaam: person.naam.geslachtsnaam.to_lowercase(),
            geboortedatum: person.geboorte.datum.iso(),
            postcode: person.verblijfplaats.as_ref().map(|a| a.postcode.as_str()),
            huisnummer: person
                .verblijfplaats
                .as_ref()
                .map(|a| i64::from(a.huisnummer)),
            gemeentecode: &person.gemeente_van_inschrijving.code,
            overleden: person.overlijden.is_some(),
            document: serde_json::to_string(person)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        })
    }
}

/// The table's key for a BSN: its nine digits as a number; anything else has none (and
/// so finds nobody).
pub(super) fn bsn_key(bsn: &str) -> Option<i64> {
    if bsn.len() == 9 && bsn.bytes().all(|b| b.is_ascii_digit()) {
        bsn.parse().ok()
    } else {
        None
    }
}

/// How much of each stored person a lookup decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parts {
    Whole,
    /// Partners, parents and children left out (their lists come back empty): for an
    /// answer that asks for none of them.
    WithoutRelatives,
}

impl Parts {
    /// What an answer with these `fields` needs of each person.
    pub(super) fn for_answer(fields: &FieldSet) -> Self {
        let asks_relatives = ["partners", "ouders", "kinderen"]
            .iter()
            .any(|relatives| fields.child(relatives).is_some());
        if asks_relatives {
            Self::Whole
        } else {
            Self::WithoutRelatives
        }
    }
}

pub(super) fn decode(document: &str, parts: Parts) -> Result<PersonRecord, StoreError> {
    match parts {
        Parts::Whole => serde_json::from_str(document),
        Parts::WithoutRelatives => {
            serde_json::from_str::<PersonWithoutRelatives>(document).map(PersonRecord::from)
        }
    }
    .map_err(|e| StoreError::Corrupt(format!("person document: {e}")))
}

/// The stored documents the SQL narrowed down to, decoded, keeping those `filter` matches
/// (the SQL uses only the indexed keys; this applies every condition).
pub(super) fn decode_matching(
    documents: &[String],
    filter: &PersonFilter,
    parts: Parts,
) -> Result<Vec<PersonRecord>, StoreError> {
    let mut found = Vec::new();
    for document in documents {
        let person = decode(document, parts)?;
        if filter.matches(&person) {
            found.push(person);
        }
    }
    Ok(found)
}

/// Persons in the order their BSNs were asked, each once.
pub(super) fn in_requested_order(
    bsns: &[String],
    mut found: Vec<PersonRecord>,
) -> Vec<PersonRecord> {
    let mut ordered = Vec::with_capacity(found.len());
    for bsn in bsns {
        if let Some(index) = found.iter().position(|p| &p.burgerservicenummer == bsn) {
            ordered.push(found.swap_remove(index));
        }
    }
    ordered
}

/// The SQL condition for a name, on the lowercased column: equality, or a prefix.
pub(super) enum NameCondition {
    Equals(String),
    StartsWith(String),
}

impl NameCondition {
    pub(super) fn of(text: &TextMatch) -> Self {
        match text {
            TextMatch::Exact(name) => Self::Equals(name.clone()),
            // Names cannot contain LIKE wildcards (the pattern allows neither % nor _).
            TextMatch::Prefix(prefix) => Self::StartsWith(format!("{prefix}%")),
        }
    }
}

/// Searches need at least one indexed key, which every valid query type provides.
pub(super) fn has_indexed_key(filter: &PersonFilter) -> bool {
    filter.geslachtsnaam.is_some() || (filter.postcode.is_some() && filter.huisnummer.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::brp::fields::FieldTarget;

    fn parts(paths: &[&str]) -> Parts {
        let fields = FieldSet::parse(paths, |p| FieldTarget::Persoon.allows(p)).unwrap();
        Parts::for_answer(&fields)
    }

    #[test]
    fn relatives_are_decoded_only_for_an_answer_that_asks_for_one() {
        assert_eq!(parts(&["naam", "verblijfplaats"]), Parts::WithoutRelatives);
        assert_eq!(parts(&["naam", "partners.naam"]), Parts::Whole);
        assert_eq!(parts(&["ouders"]), Parts::Whole);
        assert_eq!(parts(&["kinderen.burgerservicenummer"]), Parts::Whole);
        assert_eq!(Parts::for_answer(&FieldSet::everything()), Parts::Whole);
    }
}
