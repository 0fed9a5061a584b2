//! The BRP's OpenAPI document: the subset of Haal Centraal BRP Personen this register
//! answers, at the versioned path.

use serde_json::{Value, json};

use super::api::API_VERSION;
use super::query::QueryKind;
use crate::common::openapi::{self, Operation, Register, datum};

fn parameter_schema(name: &str) -> Value {
    let text = |pattern: &str| json!({"type": "string", "pattern": pattern});
    match name {
        "burgerservicenummer" => json!({
            "type": "array", "minItems": 1, "maxItems": 20,
            "items": {"$ref": "#/components/schemas/Burgerservicenummer"}
        }),
        "gemeenteVanInschrijving" => text("^[0-9]{4}$"),
        "geboortedatum" => json!({"type": "string", "format": "date"}),
        "geslachtsnaam" | "voornamen" => {
            text("^[a-zA-Z0-9À-ž \\.\\-\\']{1,200}$|^[a-zA-Z0-9À-ž \\.\\-\\']{3,199}\\*{1}$")
        }
        "voorvoegsel" => text("^[a-zA-Z \\']{1,10}$"),
        "geslacht" => text("^([Mm]|[Vv]|[Oo])$"),
        "postcode" => text("^[1-9]{1}[0-9]{3}[ ]?[A-Za-z]{2}$"),
        "huisnummer" => json!({"type": "integer", "minimum": 1, "maximum": 99999}),
        "huisletter" => text("^[a-zA-Z]{1}$"),
        "huisnummertoevoeging" => text("^[a-zA-Z0-9 \\-]{1,4}$"),
        "inclusiefOverledenPersonen" => json!({"type": "boolean"}),
        _ => json!({"type": "string"}),
    }
}

/// The BRP's OpenAPI document, as served at `/openapi.json`.
pub fn document() -> Value {
    let requests = QueryKind::ALL
        .iter()
        .map(|kind| {
            let parameters: Vec<(&str, Value, bool)> = kind
                .parameters()
                .iter()
                .map(|(name, required)| (*name, parameter_schema(name), *required))
                .collect();
            (
                kind.name().to_owned(),
                openapi::query_type(kind.name(), 130, &parameters),
            )
        })
        .collect();
    let waarde = json!({"$ref": "#/components/schemas/Waardetabel"});
    let naam = json!({
        "type": "object",
        "properties": {
            "voornamen": {"type": "string"},
            "voorvoegsel": {"type": "string"},
            "geslachtsnaam": {"type": "string"},
            "voorletters": {"type": "string"},
            "volledigeNaam": {"type": "string"},
            "adellijkeTitelPredicaat": waarde,
            "aanduidingNaamgebruik": waarde,
        }
    });
    let geboorte = json!({
        "type": "object",
        "properties": {"datum": datum(), "plaats": waarde, "land": waarde}
    });
    let relative = json!({
        "type": "object",
        "properties": {
            "burgerservicenummer": {"$ref": "#/components/schemas/Burgerservicenummer"},
            "naam": naam,
            "geboorte": geboorte,
            "geslacht": waarde,
            "ouderAanduiding": {"type": "string"},
            "soortVerbintenis": waarde,
            "aangaanHuwelijkPartnerschap": {"type": "object", "properties": {"datum": datum()}},
        }
    });
    let persoon = json!({
        "type": "object",
        "description": "Een persoon zoals Haal Centraal BRP Personen hem levert (Persoon bij RaadpleegMetBurgerservicenummer, PersoonBeperkt bij de zoekvragen).",
        "properties": {
            "burgerservicenummer": {"$ref": "#/components/schemas/Burgerservicenummer"},
            "geslacht": waarde,
            "leeftijd": {"type": "integer"},
            "naam": naam,
            "geboorte": geboorte,
            "nationaliteiten": {
                "type": "array",
                "items": {"type": "object", "properties": {"type": {"type": "string"}, "nationaliteit": waarde}}
            },
            "verblijfplaats": {
                "type": "object",
                "properties": {
                    "type": {"type": "string"},
                    "datumVan": datum(),
                    "verblijfadres": {
                        "type": "object",
                        "properties": {
                            "officieleStraatnaam": {"type": "string"},
                            "korteStraatnaam": {"type": "string"},
                            "huisnummer": {"type": "integer"},
                            "huisletter": {"type": "string"},
                            "huisnummertoevoeging": {"type": "string"},
                            "postcode": {"type": "string"},
                            "woonplaats": {"type": "string"},
                        }
                    }
                }
            },
            "gemeenteVanInschrijving": waarde,
            "datumInschrijvingInGemeente": datum(),
            "partners": {"type": "array", "items": relative},
            "ouders": {"type": "array", "items": relative},
            "kinderen": {"type": "array", "items": relative},
            "overlijden": {"type": "object", "properties": {"datum": datum(), "plaats": waarde, "land": waarde}},
        }
    });
    openapi::document_with(
        &Register {
            title: "Loket BRP Personen",
            description: "Personen uit de Basisregistratie Personen: een deelverzameling van Haal Centraal BRP Personen 2.7. Dezelfde operatie is ook bereikbaar op het Haal Centraal-pad /haalcentraal/api/brp/personen.",
            version: API_VERSION,
            base: "/haalcentraal/api/brp/v2",
            operation: Operation {
                path: "/personen",
                id: "Personen",
                tag: "Personen",
                list: "personen",
                item: "Persoon",
                max_fields: 130,
                types: &[],
            },
            item_schema: persoon,
            mutaties: &["ingeschreven", "verhuisd", "geboren", "overleden"],
        },
        requests,
    )
}
