//! Inkomen: the municipality's own income and benefits administration. Benefits with
//! their payment schedule, and the income class relative to the social minimum that fee
//! waivers and the children's budget look at. `POST /inkomen/api/v1/inkomenssituaties`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::{Date, Month};

use crate::common::api::RegisterApi;
use crate::common::datum::Datum;
use crate::common::openapi::{self, Operation};
use crate::common::query::QueryType;
use crate::common::records::Record;
use crate::common::schema;

pub const API_VERSION: &str = "1.0.0";
pub const INKOMENSSITUATIES_PATH: &str = "/inkomen/api/v1/inkomenssituaties";
pub const MUTATIES_PATH: &str = "/inkomen/api/v1/mutaties";
/// How many coming payments an answer lists.
const PAYMENTS_SHOWN: usize = 3;

schema!(SCHEMA, "inkomen", "0001_inkomenssituaties.sql");

/// What the municipality knows about one resident's income.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inkomenssituatie {
    pub burgerservicenummer: String,
    pub inkomensklasse: Inkomensklasse,
    /// When the income class was last established.
    pub peildatum: Datum,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uitkeringen: Vec<Uitkering>,
}

/// Household income as a share of the social minimum, in the bands municipal schemes use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Inkomensklasse {
    TotHonderdTien,
    TotHonderdDertig,
    TotHonderdVijftig,
    Hoger,
}

impl Inkomensklasse {
    pub fn code(self) -> &'static str {
        match self {
            Self::TotHonderdTien => "T110",
            Self::TotHonderdDertig => "T130",
            Self::TotHonderdVijftig => "T150",
            Self::Hoger => "B150",
        }
    }

    pub fn omschrijving(self) -> &'static str {
        match self {
            Self::TotHonderdTien => "tot 110% van het sociaal minimum",
            Self::TotHonderdDertig => "110% tot 130% van het sociaal minimum",
            Self::TotHonderdVijftig => "130% tot 150% van het sociaal minimum",
            Self::Hoger => "150% van het sociaal minimum of meer",
        }
    }

    /// The upper bound in percent of the social minimum, none for the top band.
    pub fn tot_percentage(self) -> Option<u32> {
        match self {
            Self::TotHonderdTien => Some(110),
            Self::TotHonderdDertig => Some(130),
            Self::TotHonderdVijftig => Some(150),
            Self::Hoger => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Uitkering {
    pub uitkeringsnummer: String,
    pub soort: SoortUitkering,
    /// Gross per month, in cents.
    pub bedrag_per_maand: u32,
    pub datum_aanvang: Datum,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datum_einde: Option<Datum>,
    /// The day of the month it is paid (1–28).
    pub betaaldag: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SoortUitkering {
    /// Bijstand under the Participatiewet.
    Participatiewet,
    Ioaw,
    Ioaz,
    /// Bijstand for the self-employed.
    Bbz,
}

impl SoortUitkering {
    pub fn code(self) -> &'static str {
        match self {
            Self::Participatiewet => "PW",
            Self::Ioaw => "IOAW",
            Self::Ioaz => "IOAZ",
            Self::Bbz => "BBZ",
        }
    }

    pub fn omschrijving(self) -> &'static str {
        match self {
            Self::Participatiewet => "bijstandsuitkering (Participatiewet)",
            Self::Ioaw => "IOAW-uitkering (oudere werkloze werknemers)",
            Self::Ioaz => "IOAZ-uitkering (oudere gewezen zelfstandigen)",
            Self::Bbz => "Bbz-uitkering (zelfstandigen)",
        }
    }
}

impl Uitkering {
    /// The next payment dates on or after `from`, while the benefit runs.
    pub fn betalingen(&self, from: Date, count: usize) -> Vec<Datum> {
        let start = from.max(self.datum_aanvang.0);
        let mut dates = Vec::with_capacity(count);
        let (mut year, mut month) = (start.year(), start.month());
        while dates.len() < count {
            let Ok(date) = Date::from_calendar_date(year, month, self.betaaldag.clamp(1, 28))
            else {
                break;
            };
            if self.datum_einde.is_some_and(|einde| date > einde.0) {
                break;
            }
            if date >= start {
                dates.push(Datum(date));
            }
            if month == Month::December {
                year += 1;
            }
            month = month.next();
        }
        dates
    }
}

impl Record for Inkomenssituatie {
    const TABLE: &'static str = "inkomenssituaties";
    fn sleutel(&self) -> &str {
        &self.burgerservicenummer
    }
    fn burgerservicenummer(&self) -> &str {
        &self.burgerservicenummer
    }
}

/// Money as the NL API strategy writes it: a decimal string and a currency.
fn bedrag(cents: u32) -> Value {
    json!({"waarde": format!("{}.{:02}", cents / 100, cents % 100), "valuta": "EUR"})
}

fn render(situatie: &Inkomenssituatie, today: Date) -> Value {
    let mut klasse = Map::new();
    klasse.insert("code".into(), json!(situatie.inkomensklasse.code()));
    klasse.insert(
        "omschrijving".into(),
        json!(situatie.inkomensklasse.omschrijving()),
    );
    if let Some(percentage) = situatie.inkomensklasse.tot_percentage() {
        klasse.insert("totPercentageSociaalMinimum".into(), json!(percentage));
    }
    let uitkeringen: Vec<Value> = situatie
        .uitkeringen
        .iter()
        .map(|uitkering| {
            let mut out = Map::new();
            out.insert(
                "uitkeringsnummer".into(),
                json!(uitkering.uitkeringsnummer),
            );
            out.insert(
                "soort".into(),
                json!({"code": uitkering.soort.code(), "omschrijving": uitkering.soort.omschrijving()}),
            );
            out.insert(
                "bedragPerMaand".into(),
                bedrag(uitkering.bedrag_per_maand),
            );
            out.insert("datumAanvang".into(), uitkering.datum_aanvang.to_json());
            if let Some(einde) = uitkering.datum_einde {
                out.insert("datumEinde".into(), einde.to_json());
            }
            let betalingen: Vec<Value> = uitkering
                .betalingen(today, PAYMENTS_SHOWN)
                .into_iter()
                .map(|datum| json!({"datum": datum.to_json(), "bedrag": bedrag(uitkering.bedrag_per_maand)}))
                .collect();
            out.insert("betalingen".into(), Value::Array(betalingen));
            Value::Object(out)
        })
        .collect();
    let mut out = Map::new();
    out.insert(
        "burgerservicenummer".into(),
        json!(situatie.burgerservicenummer),
    );
    out.insert("inkomensklasse".into(), Value::Object(klasse));
    out.insert("peildatum".into(), situatie.peildatum.to_json());
    if !uitkeringen.is_empty() {
        out.insert("uitkeringen".into(), Value::Array(uitkeringen));
    }
    Value::Object(out)
}

fn example() -> Inkomenssituatie {
    Inkomenssituatie {
        burgerservicenummer: "999990081".into(),
        inkomensklasse: Inkomensklasse::TotHonderdTien,
        peildatum: Datum(Date::MIN),
        uitkeringen: vec![Uitkering {
            uitkeringsnummer: "PW0000001".into(),
            soort: SoortUitkering::Participatiewet,
            bedrag_per_maand: 123_456,
            datum_aanvang: Datum(Date::MIN),
            datum_einde: None,
            betaaldag: 25,
        }],
    }
}

static TYPES: [QueryType; 1] = [QueryType::by_bsn("RaadpleegMetBurgerservicenummer")];

pub static API: RegisterApi<Inkomenssituatie> = RegisterApi {
    name: "inkomen",
    version: API_VERSION,
    query_paths: &[INKOMENSSITUATIES_PATH],
    feed_path: MUTATIES_PATH,
    types: &TYPES,
    max_fields: 40,
    list: "inkomenssituaties",
    render,
    example,
    openapi,
};

fn openapi() -> Value {
    let bedrag = json!({"$ref": "#/components/schemas/Bedrag"});
    openapi::document(&openapi::Register {
        title: "Loket Inkomen",
        description: "De inkomens- en uitkeringsadministratie van de gemeente: uitkeringen met hun betaalschema en de inkomensklasse ten opzichte van het sociaal minimum.",
        version: API_VERSION,
        base: "/inkomen/api/v1",
        operation: Operation {
            path: "/inkomenssituaties",
            id: "Inkomenssituaties",
            tag: "Inkomen",
            list: "inkomenssituaties",
            item: "Inkomenssituatie",
            max_fields: 40,
            types: &TYPES,
        },
        item_schema: json!({
            "type": "object",
            "properties": {
                "burgerservicenummer": {"$ref": "#/components/schemas/Burgerservicenummer"},
                "inkomensklasse": {
                    "type": "object",
                    "properties": {
                        "code": {"type": "string", "enum": ["T110", "T130", "T150", "B150"]},
                        "omschrijving": {"type": "string"},
                        "totPercentageSociaalMinimum": {"type": "integer"}
                    }
                },
                "peildatum": openapi::datum(),
                "uitkeringen": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "uitkeringsnummer": {"type": "string"},
                            "soort": {"$ref": "#/components/schemas/Waardetabel"},
                            "bedragPerMaand": bedrag,
                            "datumAanvang": openapi::datum(),
                            "datumEinde": openapi::datum(),
                            "betalingen": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {
                                        "datum": openapi::datum(),
                                        "bedrag": bedrag
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }),
        mutaties: &["toegekend", "gewijzigd", "beeindigd"],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn uitkering(einde: Option<Date>) -> Uitkering {
        Uitkering {
            uitkeringsnummer: "PW1".into(),
            soort: SoortUitkering::Participatiewet,
            bedrag_per_maand: 100_050,
            datum_aanvang: Datum(date!(2026 - 10 - 01)),
            datum_einde: einde.map(Datum),
            betaaldag: 25,
        }
    }

    #[test]
    fn payments_follow_the_pay_day_and_stop_with_the_benefit() {
        let dates: Vec<String> = uitkering(None)
            .betalingen(date!(2026 - 11 - 26), 3)
            .iter()
            .map(Datum::iso)
            .collect();
        assert_eq!(dates, ["2026-12-25", "2027-01-25", "2027-02-25"]);
        let ending = uitkering(Some(date!(2027 - 01 - 31)));
        assert_eq!(ending.betalingen(date!(2026 - 11 - 25), 5).len(), 3);
        assert_eq!(
            uitkering(None).betalingen(date!(2020 - 01 - 01), 1)[0].iso(),
            "2026-10-25",
            "none before the benefit starts"
        );
        assert_eq!(bedrag(100_050)["waarde"], "1000.50");
    }
}
