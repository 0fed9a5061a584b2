//! DUO onderwijsinschrijvingen: who is enrolled where, in what, from when until when.
//! `POST /duo/api/v1/inschrijvingen`, in the Haal Centraal query style.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::Date;

use crate::common::api::RegisterApi;
use crate::common::datum::Datum;
use crate::common::openapi::{self, Operation};
use crate::common::query::QueryType;
use crate::common::records::Record;
use crate::common::schema;

pub const API_VERSION: &str = "1.0.0";
pub const INSCHRIJVINGEN_PATH: &str = "/duo/api/v1/inschrijvingen";
pub const MUTATIES_PATH: &str = "/duo/api/v1/mutaties";

schema!(SCHEMA, "duo", "0001_inschrijvingen.sql");

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inschrijving {
    pub inschrijvingsnummer: String,
    pub burgerservicenummer: String,
    /// BRIN code and name.
    pub instelling: Code,
    /// CROHO or CREBO code and name.
    pub opleiding: Code,
    pub niveau: Niveau,
    pub datum_aanvang: Datum,
    pub datum_einde_verwacht: Datum,
    /// When the enrolment actually ended (graduated or stopped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datum_einde: Option<Datum>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Code {
    pub code: String,
    pub naam: String,
}

impl Code {
    pub fn new(code: &str, naam: &str) -> Self {
        Self {
            code: code.to_owned(),
            naam: naam.to_owned(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Niveau {
    Vo,
    Mbo,
    Hbo,
    Wo,
}

impl Niveau {
    pub fn code(self) -> &'static str {
        match self {
            Self::Vo => "VO",
            Self::Mbo => "MBO",
            Self::Hbo => "HBO",
            Self::Wo => "WO",
        }
    }

    pub fn omschrijving(self) -> &'static str {
        match self {
            Self::Vo => "voortgezet onderwijs",
            Self::Mbo => "middelbaar beroepsonderwijs",
            Self::Hbo => "hoger beroepsonderwijs",
            Self::Wo => "wetenschappelijk onderwijs",
        }
    }
}

impl Record for Inschrijving {
    const TABLE: &'static str = "inschrijvingen";
    fn sleutel(&self) -> &str {
        &self.inschrijvingsnummer
    }
    fn burgerservicenummer(&self) -> &str {
        &self.burgerservicenummer
    }
}

fn render(inschrijving: &Inschrijving, _today: Date) -> Value {
    let mut out = Map::new();
    out.insert(
        "inschrijvingsnummer".into(),
        json!(inschrijving.inschrijvingsnummer),
    );
    out.insert(
        "student".into(),
        json!({"burgerservicenummer": inschrijving.burgerservicenummer}),
    );
    out.insert(
        "instelling".into(),
        json!({"code": inschrijving.instelling.code, "naam": inschrijving.instelling.naam}),
    );
    out.insert(
        "opleiding".into(),
        json!({"code": inschrijving.opleiding.code, "naam": inschrijving.opleiding.naam}),
    );
    out.insert(
        "niveau".into(),
        json!({"code": inschrijving.niveau.code(), "omschrijving": inschrijving.niveau.omschrijving()}),
    );
    out.insert("datumAanvang".into(), inschrijving.datum_aanvang.to_json());
    out.insert(
        "datumEindeVerwacht".into(),
        inschrijving.datum_einde_verwacht.to_json(),
    );
    if let Some(einde) = inschrijving.datum_einde {
        out.insert("datumEinde".into(), einde.to_json());
    }
    Value::Object(out)
}

fn example() -> Inschrijving {
    Inschrijving {
        inschrijvingsnummer: "99999009301".into(),
        burgerservicenummer: "999990093".into(),
        instelling: Code::new("21PB", "Hogeschool Voorbeeldstad"),
        opleiding: Code::new("34607", "Verpleegkunde"),
        niveau: Niveau::Hbo,
        datum_aanvang: Datum(Date::MIN),
        datum_einde_verwacht: Datum(Date::MIN),
        datum_einde: Some(Datum(Date::MIN)),
    }
}

static TYPES: [QueryType; 1] = [QueryType::by_bsn("ZoekMetBurgerservicenummer")];

pub static API: RegisterApi<Inschrijving> = RegisterApi {
    name: "duo",
    version: API_VERSION,
    query_paths: &[INSCHRIJVINGEN_PATH],
    feed_path: MUTATIES_PATH,
    types: &TYPES,
    max_fields: 25,
    list: "inschrijvingen",
    render,
    example,
    openapi,
};

fn openapi() -> Value {
    openapi::document(&openapi::Register {
        title: "Loket DUO Onderwijsinschrijvingen",
        description: "Inschrijvingen in het onderwijs per burgerservicenummer: instelling, opleiding, niveau, begin en (verwacht) einde.",
        version: API_VERSION,
        base: "/duo/api/v1",
        operation: Operation {
            path: "/inschrijvingen",
            id: "Inschrijvingen",
            tag: "Inschrijvingen",
            list: "inschrijvingen",
            item: "Inschrijving",
            max_fields: 25,
            types: &TYPES,
        },
        item_schema: json!({
            "type": "object",
            "properties": {
                "inschrijvingsnummer": {"type": "string"},
                "student": {
                    "type": "object",
                    "properties": {"burgerservicenummer": {"$ref": "#/components/schemas/Burgerservicenummer"}}
                },
                "instelling": {"$ref": "#/components/schemas/CodeEnNaam"},
                "opleiding": {"$ref": "#/components/schemas/CodeEnNaam"},
                "niveau": {"$ref": "#/components/schemas/Waardetabel"},
                "datumAanvang": openapi::datum(),
                "datumEindeVerwacht": openapi::datum(),
                "datumEinde": openapi::datum()
            }
        }),
        mutaties: &["ingeschreven", "beeindigd"],
    })
}
