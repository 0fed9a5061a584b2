//! The OpenAPI 3.0 document each register serves at `/openapi.json`, written so that it
//! passes the NL API Design Rules linter: the major version in the server URL, an
//! `API-Version` header on every success, problem+json with status/title/detail on every
//! error, a 400 on every POST, `format: date` on every date.

use serde_json::{Map, Value, json};

use super::query::{Lookup, QueryType};

/// One register's document.
#[derive(Debug)]
pub(crate) struct Register {
    pub(crate) title: &'static str,
    pub(crate) description: &'static str,
    pub(crate) version: &'static str,
    /// The versioned base path, e.g. `/rdw/api/v1`.
    pub(crate) base: &'static str,
    pub(crate) operation: Operation,
    pub(crate) item_schema: Value,
    /// The kinds of mutation its feed publishes.
    pub(crate) mutaties: &'static [&'static str],
}

/// The register's query operation.
#[derive(Debug)]
pub(crate) struct Operation {
    /// Relative to the base.
    pub(crate) path: &'static str,
    pub(crate) id: &'static str,
    pub(crate) tag: &'static str,
    pub(crate) list: &'static str,
    pub(crate) item: &'static str,
    pub(crate) max_fields: usize,
    pub(crate) types: &'static [QueryType],
}

/// A date property: the Haal Centraal date object, marked as a date for readers and linters.
pub(crate) fn datum() -> Value {
    json!({"format": "date", "allOf": [{"$ref": "#/components/schemas/Datum"}]})
}

fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// The request schemas of a register built on the shared query parser.
fn request_schemas(operation: &Operation) -> Vec<(String, Value)> {
    operation
        .types
        .iter()
        .map(|kind| {
            let parameter = match kind.lookup {
                Lookup::ByBsn => reference("Burgerservicenummer"),
                Lookup::ByKey => json!({
                    "type": "array",
                    "minItems": 1,
                    "maxItems": kind.max_keys,
                    "items": {"type": "string", "pattern": kind.key_pattern.shown},
                }),
            };
            (
                kind.name.to_owned(),
                query_type(
                    kind.name,
                    operation.max_fields,
                    &[(kind.parameter, parameter, true)],
                ),
            )
        })
        .collect()
}

/// One query type's body: `type`, `fields` and its own parameters.
pub(crate) fn query_type(
    name: &str,
    max_fields: usize,
    parameters: &[(&str, Value, bool)],
) -> Value {
    let mut properties = Map::new();
    properties.insert("type".into(), json!({"type": "string", "enum": [name]}));
    properties.insert(
        "fields".into(),
        json!({"type": "array", "minItems": 1, "maxItems": max_fields, "items": reference("Field")}),
    );
    let mut required = vec![json!("type"), json!("fields")];
    for (parameter, schema, is_required) in parameters {
        properties.insert((*parameter).to_owned(), schema.clone());
        if *is_required {
            required.push(json!(parameter));
        }
    }
    json!({"type": "object", "required": required, "properties": properties, "additionalProperties": false})
}

pub(crate) fn document(register: &Register) -> Value {
    let requests = request_schemas(&register.operation);
    document_with(register, requests)
}

/// The document, given the request schemas (one per query type).
pub(crate) fn document_with(register: &Register, requests: Vec<(String, Value)>) -> Value {
    let operation = &register.operation;
    let mut schemas = common_schemas();
    let query = format!("{}Query", operation.id);
    let one_of: Vec<Value> = requests.iter().map(|(name, _)| reference(name)).collect();
    schemas.insert(
        query.clone(),
        json!({"oneOf": one_of, "discriminator": {"propertyName": "type"}}),
    );
    for (name, schema) in requests {
        schemas.insert(name, schema);
    }
    let answer = format!("{}QueryResponse", operation.id);
    schemas.insert(
        answer.clone(),
        json!({
            "type": "object",
            "properties": {
                "type": {"type": "string"},
                (operation.list): {"type": "array", "items": reference(operation.item)},
            }
        }),
    );
    schemas.insert(operation.item.to_owned(), register.item_schema.clone());
    schemas.insert(
        "Mutatie".into(),
        json!({
            "type": "object",
            "required": ["volgnummer", "tijdstip", "soort", "sleutel"],
            "properties": {
                "volgnummer": {"type": "integer", "format": "int64", "minimum": 1, "description": "Oplopend, zonder gaten."},
                "tijdstip": {"type": "string", "format": "date-time"},
                "soort": {"type": "string", "enum": register.mutaties},
                "sleutel": {"type": "string", "description": "De sleutel van het gewijzigde gegeven in dit register."},
                "burgerservicenummer": reference("Burgerservicenummer"),
            }
        }),
    );
    schemas.insert(
        "MutatiesResponse".into(),
        json!({
            "type": "object",
            "required": ["mutaties", "volgende"],
            "properties": {
                "mutaties": {"type": "array", "items": reference("Mutatie")},
                "volgende": {"type": "integer", "format": "int64", "description": "Het volgnummer om de volgende keer mee te beginnen."},
            }
        }),
    );

    let mut paths = Map::new();
    paths.insert(
        operation.path.to_owned(),
        json!({
            "post": {
                "tags": [operation.tag],
                "operationId": operation.id,
                "summary": format!("Zoek {} met één van de zoekvragen.", operation.list),
                "requestBody": {
                    "required": true,
                    "content": {"application/json": {"schema": reference(&query)}},
                },
                "responses": responses(&answer),
            }
        }),
    );
    paths.insert(
        "/mutaties".into(),
        json!({
            "get": {
                "tags": ["Mutaties"],
                "operationId": "Mutaties",
                "summary": "De wijzigingen in dit register, op volgorde, vanaf een volgnummer.",
                "parameters": [
                    {"name": "vanaf", "in": "query", "required": false, "description": "Het eerste volgnummer dat u wilt ontvangen.", "schema": {"type": "integer", "format": "int64", "minimum": 1, "default": 1}},
                    {"name": "aantal", "in": "query", "required": false, "description": "Hoeveel mutaties u ten hoogste ontvangt.", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}},
                ],
                "responses": responses("MutatiesResponse"),
            }
        }),
    );

    json!({
        "openapi": "3.0.3",
        "info": {
            "title": register.title,
            "description": register.description,
            "version": register.version,
            "contact": {"name": "Loket", "email": "beheer@loket.example", "url": "https://loket.example"},
            "license": {"name": "European Union Public License, version 1.2 (EUPL-1.2)", "url": "https://eupl.eu/1.2/nl/"},
        },
        "servers": [{"url": format!("https://registers.loket.example{}", register.base), "description": "Productie"}],
        "tags": [{"name": operation.tag}, {"name": "Mutaties"}],
        "paths": paths,
        "components": {
            "headers": {
                "API-Version": {"description": "De volledige versie van deze API.", "schema": {"type": "string", "example": register.version}},
            },
            "schemas": schemas,
        },
    })
}

fn responses(success: &str) -> Value {
    let problem = |description: &str, schema: &str| {
        json!({
            "description": description,
            "headers": {"API-Version": {"$ref": "#/components/headers/API-Version"}},
            "content": {"application/problem+json": {"schema": reference(schema)}},
        })
    };
    json!({
        "200": {
            "description": "Gelukt.",
            "headers": {"API-Version": {"$ref": "#/components/headers/API-Version"}},
            "content": {"application/json": {"schema": reference(success)}},
        },
        "400": problem("Een of meer parameters zijn niet correct.", "BadRequestFoutbericht"),
        "413": problem("Het verzoek is te groot.", "Foutbericht"),
        "415": problem("Het verzoek is geen JSON.", "Foutbericht"),
        "500": problem("Interne fout.", "Foutbericht"),
        "503": problem("Het register is tijdelijk niet beschikbaar.", "Foutbericht"),
    })
}

fn common_schemas() -> Map<String, Value> {
    let mut schemas = Map::new();
    let foutbericht = json!({
        "type": "object",
        "description": "Een fout, volgens RFC 9457 (problem details).",
        "required": ["type", "title", "status"],
        "properties": {
            "type": {"type": "string", "format": "uri"},
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 100, "maximum": 599},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
            "code": {"type": "string"},
        }
    });
    let mut bad_request = foutbericht.clone();
    bad_request["properties"]["invalidParams"] =
        json!({"type": "array", "items": reference("InvalidParams")});
    schemas.insert("Foutbericht".into(), foutbericht);
    schemas.insert("BadRequestFoutbericht".into(), bad_request);
    schemas.insert(
        "InvalidParams".into(),
        json!({
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "code": {"type": "string"},
                "reason": {"type": "string"},
            }
        }),
    );
    schemas.insert(
        "Field".into(),
        json!({"type": "string", "pattern": "^[a-zA-Z0-9\\._]{1,200}$", "description": "Het pad naar een gewenst veld, met punten gescheiden, bijvoorbeeld \"soort.code\"."}),
    );
    schemas.insert(
        "Burgerservicenummer".into(),
        json!({"type": "string", "pattern": "^[0-9]{9}$", "example": "999990007"}),
    );
    schemas.insert(
        "Waardetabel".into(),
        json!({"type": "object", "properties": {"code": {"type": "string"}, "omschrijving": {"type": "string"}}}),
    );
    schemas.insert(
        "CodeEnNaam".into(),
        json!({"type": "object", "properties": {"code": {"type": "string"}, "naam": {"type": "string"}}}),
    );
    schemas.insert(
        "Bedrag".into(),
        json!({"type": "object", "properties": {"waarde": {"type": "string", "pattern": "^[0-9]+\\.[0-9]{2}$", "example": "1234.50"}, "valuta": {"type": "string", "enum": ["EUR"]}}}),
    );
    schemas.insert(
        "Datum".into(),
        json!({
            "type": "object",
            "required": ["type"],
            "properties": {
                "type": {"type": "string", "enum": ["Datum"]},
                "datum": {"type": "string", "format": "date", "example": "2018-07-01"},
                "langFormaat": {"type": "string", "example": "1 juli 2018"},
            }
        }),
    );
    schemas
}
