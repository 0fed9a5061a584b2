//! RDW voertuigen: vehicles and who they are registered to (tenaamstelling), per
//! kenteken and per owner. RDW publishes no Haal Centraal API for this, so the API
//! follows the same query style: `POST /rdw/api/v1/voertuigen`.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::Date;

use crate::common::api::RegisterApi;
use crate::common::datum::Datum;
use crate::common::openapi::{self, Operation};
use crate::common::params::pattern;
use crate::common::query::{Lookup, QueryType};
use crate::common::records::Record;
use crate::common::schema;

pub const API_VERSION: &str = "1.0.0";
pub const VOERTUIGEN_PATH: &str = "/rdw/api/v1/voertuigen";
pub const MUTATIES_PATH: &str = "/rdw/api/v1/mutaties";

schema!(SCHEMA, "rdw", "0001_voertuigen.sql");

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Voertuig {
    /// Six capitals and digits, without dashes: `GX123B`.
    pub kenteken: String,
    pub merk: String,
    pub handelsbenaming: String,
    pub voertuigsoort: String,
    pub brandstof: Brandstof,
    pub datum_eerste_toelating: Datum,
    pub tenaamstelling: Tenaamstelling,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenaamstelling {
    pub burgerservicenummer: String,
    /// Since when the vehicle is registered to this person.
    pub datum: Datum,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Brandstof {
    Benzine,
    Diesel,
    Elektriciteit,
    Lpg,
    Waterstof,
}

impl Brandstof {
    pub fn code(self) -> &'static str {
        match self {
            Self::Benzine => "B",
            Self::Diesel => "D",
            Self::Elektriciteit => "E",
            Self::Lpg => "L",
            Self::Waterstof => "H",
        }
    }

    pub fn omschrijving(self) -> &'static str {
        match self {
            Self::Benzine => "Benzine",
            Self::Diesel => "Diesel",
            Self::Elektriciteit => "Elektriciteit",
            Self::Lpg => "LPG",
            Self::Waterstof => "Waterstof",
        }
    }
}

impl Record for Voertuig {
    const TABLE: &'static str = "voertuigen";
    fn sleutel(&self) -> &str {
        &self.kenteken
    }
    fn burgerservicenummer(&self) -> &str {
        &self.tenaamstelling.burgerservicenummer
    }
}

fn render(voertuig: &Voertuig, _today: Date) -> Value {
    json!({
        "kenteken": voertuig.kenteken,
        "merk": voertuig.merk,
        "handelsbenaming": voertuig.handelsbenaming,
        "voertuigsoort": voertuig.voertuigsoort,
        "brandstof": {"code": voertuig.brandstof.code(), "omschrijving": voertuig.brandstof.omschrijving()},
        "datumEersteToelating": voertuig.datum_eerste_toelating.to_json(),
        "tenaamstelling": {
            "burgerservicenummer": voertuig.tenaamstelling.burgerservicenummer,
            "datum": voertuig.tenaamstelling.datum.to_json(),
        },
    })
}

fn example() -> Voertuig {
    Voertuig {
        kenteken: "GX123B".into(),
        merk: "VOLKSWAGEN".into(),
        handelsbenaming: "GOLF".into(),
        voertuigsoort: "Personenauto".into(),
        brandstof: Brandstof::Benzine,
        datum_eerste_toelating: Datum(Date::MIN),
        tenaamstelling: Tenaamstelling {
            burgerservicenummer: "999990007".into(),
            datum: Datum(Date::MIN),
        },
    }
}

pattern!(KENTEKEN, r"^[A-Z0-9]{6}$", r"^[A-Z0-9]{6}$");

static TYPES: [QueryType; 2] = [
    QueryType {
        name: "RaadpleegMetKenteken",
        parameter: "kenteken",
        lookup: Lookup::ByKey,
        key_pattern: &KENTEKEN,
        max_keys: 20,
    },
    QueryType::by_bsn("ZoekMetBurgerservicenummer"),
];

pub static API: RegisterApi<Voertuig> = RegisterApi {
    name: "rdw",
    version: API_VERSION,
    query_paths: &[VOERTUIGEN_PATH],
    feed_path: MUTATIES_PATH,
    types: &TYPES,
    max_fields: 25,
    list: "voertuigen",
    render,
    example,
    openapi,
};

fn openapi() -> Value {
    openapi::document(&openapi::Register {
        title: "Loket RDW Voertuigen",
        description: "Voertuigen en hun tenaamstelling, per kenteken of per burgerservicenummer van de eigenaar.",
        version: API_VERSION,
        base: "/rdw/api/v1",
        operation: Operation {
            path: "/voertuigen",
            id: "Voertuigen",
            tag: "Voertuigen",
            list: "voertuigen",
            item: "Voertuig",
            max_fields: 25,
            types: &TYPES,
        },
        item_schema: json!({
            "type": "object",
            "properties": {
                "kenteken": {"type": "string", "pattern": "^[A-Z0-9]{6}$"},
                "merk": {"type": "string"},
                "handelsbenaming": {"type": "string"},
                "voertuigsoort": {"type": "string"},
                "brandstof": {"$ref": "#/components/schemas/Waardetabel"},
                "datumEersteToelating": openapi::datum(),
                "tenaamstelling": {
                    "type": "object",
                    "properties": {
                        "burgerservicenummer": {"$ref": "#/components/schemas/Burgerservicenummer"},
                        "datum": openapi::datum()
                    }
                }
            }
        }),
        mutaties: &["tenaamgesteld"],
    })
}
