//! How the register keeps a person: one document per person, in our own shape. The
//! Haal Centraal shape is produced from it on the way out (`render.rs`).

use serde::{Deserialize, Serialize};

pub use crate::common::datum::Datum;

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

/// A stored person read without partners, parents and children (their members are
/// skipped, not decoded): for answers that do not ask for them, which is most. Decoding
/// the relatives was more than half of decoding a typical person. Mirrors
/// [`PersonRecord`] member for member; a test holds the two together.
#[derive(Debug, Deserialize)]
pub(crate) struct PersonWithoutRelatives {
    burgerservicenummer: String,
    geslacht: Geslacht,
    naam: Naam,
    geboorte: Geboorte,
    #[serde(default)]
    nationaliteiten: Vec<Waarde>,
    #[serde(default)]
    verblijfplaats: Option<Adres>,
    gemeente_van_inschrijving: Waarde,
    datum_inschrijving_in_gemeente: Datum,
    #[serde(default)]
    overlijden: Option<Overlijden>,
}

impl From<PersonWithoutRelatives> for PersonRecord {
    fn from(person: PersonWithoutRelatives) -> Self {
        Self {
            burgerservicenummer: person.burgerservicenummer,
            geslacht: person.geslacht,
            naam: person.naam,
            geboorte: person.geboorte,
            nationaliteiten: person.nationaliteiten,
            verblijfplaats: person.verblijfplaats,
            gemeente_van_inschrijving: person.gemeente_van_inschrijving,
            datum_inschrijving_in_gemeente: person.datum_inschrijving_in_gemeente,
            partners: Vec::new(),
            ouders: Vec::new(),
            kinderen: Vec::new(),
            overlijden: person.overlijden,
        }
    }
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
