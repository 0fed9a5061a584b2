//! How the register keeps a person: one document per person, in our own shape. The
//! Haal Centraal shape is produced from it on the way out (`render.rs`).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::Date;
use time::macros::format_description;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonRecord {
    pub burgerservicenummer: String,
    pub geslacht: Geslacht,
    pub naam: Naam,
    pub geboorte: Geboorte,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nationaliteiten: Vec<Waarde>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verblijfplaats: Option<Adres>,
    pub gemeente_van_inschrijving: Waarde,
    pub datum_inschrijving_in_gemeente: Datum,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partners: Vec<Relative>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ouders: Vec<Relative>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinderen: Vec<Relative>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overlijden: Option<Overlijden>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Geslacht {
    #[serde(rename = "M")]
    Man,
    #[serde(rename = "V")]
    Vrouw,
    #[serde(rename = "O")]
    Onbekend,
}

impl Geslacht {
    pub fn code(self) -> &'static str {
        match self {
            Self::Man => "M",
            Self::Vrouw => "V",
            Self::Onbekend => "O",
        }
    }

    pub fn omschrijving(self) -> &'static str {
        match self {
            Self::Man => "man",
            Self::Vrouw => "vrouw",
            Self::Onbekend => "onbekend",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Naam {
    pub voornamen: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voorvoegsel: Option<String>,
    pub geslachtsnaam: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adellijke_titel_predicaat: Option<AdellijkeTitel>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdellijkeTitel {
    pub code: String,
    pub omschrijving: String,
    /// "titel" or "predicaat"
    pub soort: String,
}

/// A value from a national table (landen, gemeenten, nationaliteiten, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waarde {
    pub code: String,
    pub omschrijving: String,
}

impl Waarde {
    pub fn new(code: &str, omschrijving: &str) -> Self {
        Self {
            code: code.to_owned(),
            omschrijving: omschrijving.to_owned(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Geboorte {
    pub datum: Datum,
    pub plaats: Waarde,
    pub land: Waarde,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adres {
    pub straat: String,
    pub huisnummer: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub huisletter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub huisnummertoevoeging: Option<String>,
    /// Without space, letters in capitals: `1234AB`.
    pub postcode: String,
    pub woonplaats: String,
    /// When the person started living at this address (datumVan in the API).
    pub datum_van: Datum,
}

/// A partner, parent or child as the person's own record mentions them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relative {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burgerservicenummer: Option<String>,
    pub naam: Naam,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geboorte: Option<Geboorte>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geslacht: Option<Geslacht>,
    /// Partners: when the marriage or registered partnership began.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datum_aangaan: Option<Datum>,
    /// Partners: H (huwelijk) or P (geregistreerd partnerschap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soort_verbintenis: Option<String>,
    /// Parents: "1" or "2".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ouder_aanduiding: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overlijden {
    pub datum: Datum,
    pub plaats: Waarde,
    pub land: Waarde,
}

/// A full calendar date, kept and exchanged as `YYYY-MM-DD`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Datum(pub Date);

const ISO_DATE: &[time::format_description::FormatItem<'static>] =
    format_description!("[year]-[month]-[day]");

const MAANDEN: [&str; 12] = [
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
];

impl Datum {
    pub fn parse(text: &str) -> Option<Self> {
        // The year must have four digits; `time` would also accept more.
        if text.len() != 10 {
            return None;
        }
        Date::parse(text, ISO_DATE).ok().map(Self)
    }

    pub fn iso(&self) -> String {
        self.0.format(ISO_DATE).unwrap_or_default()
    }

    /// The Dutch long form Haal Centraal calls `langFormaat`: "1 juli 2018".
    pub fn lang_formaat(&self) -> String {
        let month = MAANDEN
            .get(usize::from(u8::from(self.0.month())) - 1)
            .copied()
            .unwrap_or_default();
        format!("{} {month} {}", self.0.day(), self.0.year())
    }

    /// Whole years from this date to `today`.
    pub fn years_until(&self, today: Date) -> i32 {
        let mut years = today.year() - self.0.year();
        if (today.month(), today.day()) < (self.0.month(), self.0.day()) {
            years -= 1;
        }
        years
    }
}

impl fmt::Debug for Datum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.iso())
    }
}

impl Serialize for Datum {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.iso())
    }
}

impl<'de> Deserialize<'de> for Datum {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Datum::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("invalid date {text:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn dates_in_both_formats() {
        let datum = Datum::parse("2018-07-01").unwrap();
        assert_eq!(datum.iso(), "2018-07-01");
        assert_eq!(datum.lang_formaat(), "1 juli 2018");
        assert!(Datum::parse("2018-7-1").is_none());
        assert!(Datum::parse("2018-02-30").is_none());
        assert!(Datum::parse("12018-01-01").is_none());
    }

    #[test]
    fn age_counts_whole_years() {
        let born = Datum(date!(2000 - 02 - 29));
        assert_eq!(born.years_until(date!(2026 - 02 - 28)), 25);
        assert_eq!(born.years_until(date!(2026 - 03 - 01)), 26);
        assert_eq!(born.years_until(date!(2000 - 02 - 29)), 0);
    }
}
