//! Reisdocumenten: passports and identity cards, with a subset of the Haal Centraal
//! Reisdocumenten API (`POST /haalcentraal/api/reisdocumenten/reisdocumenten`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::Date;

use crate::common::api::RegisterApi;
use crate::common::datum::Datum;
use crate::common::openapi::{self, Operation};
use crate::common::params::pattern;
use crate::common::query::{Lookup, QueryType};
use crate::common::records::Record;
use crate::common::schema;

/// The version of Haal Centraal Reisdocumenten bevragen this register implements a subset of.
pub const API_VERSION: &str = "2.0.0";
/// The path Haal Centraal clients use.
pub const REISDOCUMENTEN_PATH: &str = "/haalcentraal/api/reisdocumenten/reisdocumenten";
/// The same operation with the major version in the path, as the API Design Rules ask.
pub const VERSIONED_PATH: &str = "/haalcentraal/api/reisdocumenten/v2/reisdocumenten";
pub const MUTATIES_PATH: &str = "/haalcentraal/api/reisdocumenten/v2/mutaties";

schema!(SCHEMA, "reisdocumenten", "0001_reisdocumenten.sql");

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reisdocument {
    /// Nine capitals and digits.
    pub reisdocumentnummer: String,
    pub soort: Soort,
    /// The holder.
    pub burgerservicenummer: String,
    pub datum_uitgifte: Datum,
    pub datum_einde_geldigheid: Datum,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inhouding_of_vermissing: Option<InhoudingOfVermissing>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Soort {
    /// PN: nationaal paspoort
    Paspoort,
    /// NI: Nederlandse identiteitskaart
    Identiteitskaart,
}

impl Soort {
    pub fn code(self) -> &'static str {
        match self {
            Self::Paspoort => "PN",
            Self::Identiteitskaart => "NI",
        }
    }

    pub fn omschrijving(self) -> &'static str {
        match self {
            Self::Paspoort => "Nationaal paspoort",
            Self::Identiteitskaart => "Nederlandse identiteitskaart",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InhoudingOfVermissing {
    pub datum: Datum,
    pub aanduiding: Aanduiding,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Aanduiding {
    /// I: handed in or taken in
    Ingehouden,
    /// R: no longer valid by law
    VanRechtswegeVervallen,
    /// V: reported lost or stolen
    Vermist,
}

impl Aanduiding {
    pub fn code(self) -> &'static str {
        match self {
            Self::Ingehouden => "I",
            Self::VanRechtswegeVervallen => "R",
            Self::Vermist => "V",
        }
    }

    pub fn omschrijving(self) -> &'static str {
        match self {
            Self::Ingehouden => "ingehouden, ingeleverd",
            Self::VanRechtswegeVervallen => "van rechtswege vervallen",
            Self::Vermist => "vermist",
        }
    }
}

impl Record for Reisdocument {
    const TABLE: &'static str = "reisdocumenten";
    fn sleutel(&self) -> &str {
        &self.reisdocumentnummer
    }
    fn burgerservicenummer(&self) -> &str {
        &self.burgerservicenummer
    }
}

/// The Haal Centraal `Reisdocument`, plus `datumUitgifte`, which the standard lacks.
fn render(document: &Reisdocument, _today: Date) -> Value {
    let mut out = Map::new();
    out.insert(
        "reisdocumentnummer".into(),
        json!(document.reisdocumentnummer),
    );
    out.insert(
        "soort".into(),
        json!({"code": document.soort.code(), "omschrijving": document.soort.omschrijving()}),
    );
    out.insert("datumUitgifte".into(), document.datum_uitgifte.to_json());
    out.insert(
        "datumEindeGeldigheid".into(),
        document.datum_einde_geldigheid.to_json(),
    );
    if let Some(inhouding) = &document.inhouding_of_vermissing {
        out.insert(
            "inhoudingOfVermissing".into(),
            json!({
                "datum": inhouding.datum.to_json(),
                "aanduiding": {"code": inhouding.aanduiding.code(), "omschrijving": inhouding.aanduiding.omschrijving()},
            }),
        );
    }
    out.insert(
        "houder".into(),
        json!({"burgerservicenummer": document.burgerservicenummer}),
    );
    Value::Object(out)
}

fn example() -> Reisdocument {
    Reisdocument {
        reisdocumentnummer: "NXC4R81K2".into(),
        soort: Soort::Paspoort,
        burgerservicenummer: "999990068".into(),
        datum_uitgifte: Datum(Date::MIN),
        datum_einde_geldigheid: Datum(Date::MIN),
        inhouding_of_vermissing: Some(InhoudingOfVermissing {
            datum: Datum(Date::MIN),
            aanduiding: Aanduiding::Vermist,
        }),
    }
}

pattern!(REISDOCUMENTNUMMER, r"^[A-Z0-9]{9}$", r"^[A-Z0-9]{9}$");

static TYPES: [QueryType; 2] = [
    QueryType {
        name: "RaadpleegMetReisdocumentnummer",
        parameter: "reisdocumentnummer",
        lookup: Lookup::ByKey,
        key_pattern: &REISDOCUMENTNUMMER,
        max_keys: 1,
    },
    QueryType::by_bsn("ZoekMetBurgerservicenummer"),
];

pub static API: RegisterApi<Reisdocument> = RegisterApi {
    name: "reisdocumenten",
    version: API_VERSION,
    query_paths: &[VERSIONED_PATH, REISDOCUMENTEN_PATH],
    feed_path: MUTATIES_PATH,
    types: &TYPES,
    max_fields: 25,
    list: "reisdocumenten",
    render,
    example,
    openapi,
};

fn openapi() -> Value {
    openapi::document(&openapi::Register {
        title: "Loket Reisdocumenten",
        description: "Reisdocumenten (paspoorten en identiteitskaarten) per reisdocumentnummer of per burgerservicenummer: een deelverzameling van Haal Centraal Reisdocumenten bevragen 2.0, aangevuld met datumUitgifte. Dezelfde operatie is ook bereikbar op het Haal Centraal-pad /haalcentraal/api/reisdocumenten/reisdocumenten.",
        version: API_VERSION,
        base: "/haalcentraal/api/reisdocumenten/v2",
        operation: Operation {
            path: "/reisdocumenten",
            id: "Reisdocumenten",
            tag: "Reisdocumenten",
            list: "reisdocumenten",
            item: "Reisdocument",
            max_fields: 25,
            types: &TYPES,
        },
        item_schema: json!({
            "type": "object",
            "properties": {
                "reisdocumentnummer": {"type": "string", "pattern": "^[A-Z0-9]{9}$"},
                "soort": {"$ref": "#/components/schemas/Waardetabel"},
                "datumUitgifte": openapi::datum(),
                "datumEindeGeldigheid": openapi::datum(),
                "inhoudingOfVermissing": {
                    "type": "object",
                    "properties": {
                        "datum": openapi::datum(),
                        "aanduiding": {"$ref": "#/components/schemas/Waardetabel"}
                    }
                },
                "houder": {
                    "type": "object",
                    "properties": {"burgerservicenummer": {"$ref": "#/components/schemas/Burgerservicenummer"}}
                }
            }
        }),
        mutaties: &["uitgegeven", "vermissingGemeld", "ingehouden"],
    })
}
