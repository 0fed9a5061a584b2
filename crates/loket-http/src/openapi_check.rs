//! For tests (feature `testing`): checks an HTTP answer against the OpenAPI 3.0 document
//! that describes it. The status must be documented for the operation, the content type
//! one it names, the `API-Version` header there when documented, and the body must fit the
//! schema. The schema check covers what our documents use (`$ref`, `type`, `nullable`,
//! `format`, `properties`, `additionalProperties`, `required`, `items`, `enum`, `pattern`,
//! `minLength`, `maxLength`, `minimum`, `maximum`, `minItems`, `maxItems`, `oneOf`,
//! `allOf`); a keyword or format it does not check fails, rather than pass unchecked. An
//! object whose properties a schema names is closed unless `additionalProperties` says
//! otherwise: a property the document does not name is drift, and fails.

// Test support only (feature `testing`): a difference is a failed test, so it panics.
#![allow(clippy::panic, clippy::expect_used)]

use regex::Regex;
use serde_json::Value;

/// One OpenAPI document.
#[derive(Debug)]
pub struct Document(Value);

impl Document {
    /// A document already read, e.g. one a service builds.
    pub fn new(document: Value) -> Self {
        Self(document)
    }

    /// # Panics
    /// When `text` is not JSON: a test's own document is broken.
    pub fn parse(text: &str) -> Self {
        Self(serde_json::from_str(text).expect("the document is JSON"))
    }

    /// The documented paths and, for each, its methods.
    pub fn operations(&self) -> Vec<(String, Vec<String>)> {
        let paths = self.0["paths"].as_object().into_iter().flatten();
        paths
            .map(|(path, item)| {
                let methods = item.as_object().into_iter().flatten();
                (path.clone(), methods.map(|(m, _)| m.clone()).collect())
            })
            .collect()
    }

    /// The statuses documented for `method template`.
    pub fn statuses(&self, method: &str, template: &str) -> Vec<u16> {
        let responses = self.0["paths"][template][method]["responses"].as_object();
        responses
            .into_iter()
            .flatten()
            .filter_map(|(status, _)| status.parse().ok())
            .collect()
    }

    /// The documented path a request's path stands for: `path` (its query left off) under
    /// the first server's base path, matched segment by segment, a `{name}` segment
    /// matching any one. A path without parameters wins over one with.
    pub fn template_for(&self, path: &str) -> Option<String> {
        let path = path.split('?').next().unwrap_or_default();
        let server = self.0["servers"][0]["url"].as_str().unwrap_or_default();
        let base = server.split_once("://").map_or(server, |(_, rest)| {
            rest.find('/').map_or("", |at| &rest[at..])
        });
        let relative = path.strip_prefix(base).unwrap_or(path);
        let segments: Vec<&str> = relative.split('/').collect();
        let mut fitting: Vec<&String> = self.0["paths"]
            .as_object()?
            .keys()
            .filter(|template| {
                let parts: Vec<&str> = template.split('/').collect();
                parts.len() == segments.len()
                    && parts.iter().zip(&segments).all(|(part, segment)| {
                        part == segment || (part.starts_with('{') && part.ends_with('}'))
                    })
            })
            .collect();
        fitting.sort_by_key(|template| template.matches('{').count());
        fitting.first().map(|template| (*template).clone())
    }

    /// Whether an answer to `method template` (a documented path, e.g.
    /// `/contracts/{hash}/accept`; `method` in lower case) is one the document describes;
    /// what differs, if not.
    pub fn check(
        &self,
        method: &str,
        template: &str,
        status: u16,
        content_type: Option<&str>,
        api_version: Option<&str>,
        body: &Value,
    ) -> Result<(), String> {
        let operation = &self.0["paths"][template][method];
        if !operation.is_object() {
            return Err(format!("{method} {template} is not documented"));
        }
        let response = self.resolve(&operation["responses"][status.to_string()]);
        if !response.is_object() {
            return Err(format!("{method} {template}: {status} is not documented"));
        }
        if response["headers"]["API-Version"].is_object()
            && api_version != self.0["info"]["version"].as_str()
        {
            return Err(format!("{status}: API-Version {api_version:?}"));
        }
        let Some(content) = response["content"].as_object() else {
            return match body {
                Value::Null => Ok(()),
                _ => Err(format!("{status}: a body, where the document names none")),
            };
        };
        let content_type = content_type.ok_or(format!("{status}: no content type"))?;
        let schema = &content
            .get(content_type)
            .ok_or(format!("{status}: {content_type} is not documented"))?["schema"];
        self.fits(schema, body, "$")
    }

    /// Whether `body`, sent as `content_type` to `method template`, fits the request body
    /// the document describes; what differs, if not.
    pub fn check_request(
        &self,
        method: &str,
        template: &str,
        content_type: &str,
        body: &Value,
    ) -> Result<(), String> {
        let operation = &self.0["paths"][template][method];
        let request = self.resolve(&operation["requestBody"]);
        let schema = &request["content"][content_type]["schema"];
        if !schema.is_object() {
            return Err(format!("{method} {template} takes no {content_type} body"));
        }
        self.fits(schema, body, "$")
    }

    /// Panics, naming the difference, unless the answer to `method path` (a request's
    /// path, as [`Self::template_for`] takes it) is one the document describes.
    pub fn assert_documented(
        &self,
        method: &str,
        path: &str,
        status: u16,
        headers: &http::HeaderMap,
        body: &Value,
    ) {
        let Some(template) = self.template_for(path) else {
            panic!("{method} {path} is not in the document");
        };
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let method = method.to_ascii_lowercase();
        let checked = self.check(
            &method,
            &template,
            status,
            header("content-type"),
            header("api-version"),
            body,
        );
        if let Err(difference) = checked {
            let shown: String = body.to_string().chars().take(600).collect();
            panic!("{method} {path} answered {status} {shown}: {difference}");
        }
    }

    /// `response` to `method path` read as JSON (`null` when it is not), after
    /// [`Self::assert_documented`].
    pub async fn read_documented(
        &self,
        method: &str,
        path: &str,
        response: reqwest::Response,
    ) -> (u16, http::HeaderMap, Value) {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap_or_default();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        self.assert_documented(method, path, status, &headers, &body);
        (status, headers, body)
    }

    /// `router` (a finished service) checking every answer it gives to a path the
    /// document names, for tests that reach a service over HTTP at many places: an
    /// answer the document does not describe panics the connection's task, so the
    /// client's request fails.
    pub fn checking(self, router: axum::Router) -> axum::Router {
        let document = std::sync::Arc::new(self);
        router.layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                let document = document.clone();
                async move {
                    let method = request.method().as_str().to_owned();
                    let path = request.uri().path().to_owned();
                    let response = next.run(request).await;
                    if document.template_for(&path).is_none() {
                        return response;
                    }
                    let (parts, body) = response.into_parts();
                    let bytes = axum::body::to_bytes(body, usize::MAX)
                        .await
                        .unwrap_or_default();
                    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                    let status = parts.status.as_u16();
                    document.assert_documented(&method, &path, status, &parts.headers, &value);
                    axum::response::Response::from_parts(parts, axum::body::Body::from(bytes))
                }
            },
        ))
    }

    /// A local `$ref` followed to what it names (a schema or a response).
    fn resolve<'a>(&'a self, item: &'a Value) -> &'a Value {
        match item["$ref"].as_str() {
            Some(reference) => {
                let mut target = &self.0;
                for part in reference.trim_start_matches("#/").split('/') {
                    target = &target[part];
                }
                assert!(target.is_object(), "{reference} is not in the document");
                self.resolve(target)
            }
            None => item,
        }
    }

    fn fits(&self, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
        let schema = self.resolve(schema);
        let mut keywords = schema.as_object().into_iter().flatten().map(|(k, _)| k);
        let unknown = |k: &&String| !KEYWORDS.contains(&k.as_str()) && !k.starts_with("x-");
        if let Some(keyword) = keywords.find(unknown) {
            return Err(format!(
                "{at}: the check does not know the keyword {keyword}"
            ));
        }
        if value.is_null() && schema["nullable"] == Value::Bool(true) {
            return Ok(());
        }
        if let Some(choices) = schema["oneOf"].as_array() {
            let fitting = choices
                .iter()
                .filter(|choice| self.fits(choice, value, at).is_ok())
                .count();
            if fitting != 1 {
                return Err(format!("{at}: fits {fitting} of oneOf, not exactly one"));
            }
        }
        for part in schema["allOf"].as_array().into_iter().flatten() {
            self.fits(part, value, at)?;
        }
        self.fits_type(schema, value, at)?;
        if let Some(allowed) = schema["enum"].as_array()
            && !allowed.contains(value)
        {
            return Err(format!("{at}: {value} is not one of {allowed:?}"));
        }
        if let Some(text) = value.as_str() {
            self.fits_text(schema, text, at)?;
        }
        if let Some(format) = schema["format"].as_str() {
            fits_format(format, value, at)?;
        }
        if let Some(number) = value.as_f64() {
            if schema["minimum"]
                .as_f64()
                .is_some_and(|least| number < least)
            {
                return Err(format!("{at}: {number} is below the minimum"));
            }
            if schema["maximum"].as_f64().is_some_and(|most| number > most) {
                return Err(format!("{at}: {number} is above the maximum"));
            }
        }
        if let Some(object) = value.as_object() {
            self.fits_object(schema, object, at)?;
        }
        if let Some(items) = value.as_array() {
            if let Some(least) = schema["minItems"].as_u64()
                && (items.len() as u64) < least
            {
                return Err(format!("{at}: fewer than {least} items"));
            }
            if let Some(most) = schema["maxItems"].as_u64()
                && (items.len() as u64) > most
            {
                return Err(format!("{at}: more than {most} items"));
            }
            for (index, item) in items.iter().enumerate() {
                self.fits(&schema["items"], item, &format!("{at}[{index}]"))?;
            }
        }
        Ok(())
    }

    fn fits_type(&self, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
        let Some(kind) = schema["type"].as_str() else {
            return Ok(());
        };
        let right = match kind {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            other => return Err(format!("{at}: unknown type {other} in the document")),
        };
        if right {
            Ok(())
        } else {
            Err(format!("{at}: {value} is not of type {kind}"))
        }
    }

    fn fits_text(&self, schema: &Value, text: &str, at: &str) -> Result<(), String> {
        let length = text.chars().count() as u64;
        if schema["minLength"]
            .as_u64()
            .is_some_and(|least| length < least)
        {
            return Err(format!("{at}: {text:?} is shorter than minLength"));
        }
        if schema["maxLength"]
            .as_u64()
            .is_some_and(|most| length > most)
        {
            return Err(format!("{at}: {text:?} is longer than maxLength"));
        }
        if let Some(pattern) = schema["pattern"].as_str() {
            let pattern = Regex::new(pattern).map_err(|e| format!("{at}: pattern {e}"))?;
            if !pattern.is_match(text) {
                return Err(format!("{at}: {text:?} does not match {pattern}"));
            }
        }
        Ok(())
    }

    fn fits_object(
        &self,
        schema: &Value,
        object: &serde_json::Map<String, Value>,
        at: &str,
    ) -> Result<(), String> {
        for name in schema["required"].as_array().into_iter().flatten() {
            let name = name.as_str().unwrap_or_default();
            if !object.contains_key(name) {
                return Err(format!("{at}: {name} is required"));
            }
        }
        let properties = schema["properties"].as_object();
        let others = &schema["additionalProperties"];
        for (name, member) in object {
            let at = format!("{at}.{name}");
            match (properties.and_then(|p| p.get(name)), others) {
                (Some(declared), _) => self.fits(declared, member, &at)?,
                (None, Value::Bool(true)) => {}
                (None, Value::Object(_)) => self.fits(others, member, &at)?,
                // An object that names no properties (a document of any shape, or one
                // whose properties an `allOf` names) is open, unless it says otherwise.
                (None, Value::Null) if properties.is_none() => {}
                (None, _) => return Err(format!("{at} is not in the document")),
            }
        }
        Ok(())
    }
}

/// The schema keywords the check knows: those it checks, and annotations.
const KEYWORDS: &[&str] = &[
    "$ref",
    "type",
    "nullable",
    "format",
    "properties",
    "additionalProperties",
    "required",
    "items",
    "enum",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
    "oneOf",
    "allOf",
    // Annotations: they describe, and constrain nothing an answer could break.
    "description",
    "title",
    "example",
    "default",
    "readOnly",
    "discriminator",
    "externalDocs",
];

/// `value` in `format`; a format the check does not know fails.
fn fits_format(format: &str, value: &Value, at: &str) -> Result<(), String> {
    let pattern = match (format, value) {
        ("int64", _) => {
            return if value.is_i64() || !value.is_number() {
                Ok(())
            } else {
                Err(format!("{at}: {value} is not an int64"))
            };
        }
        (_, Value::String(_)) => match format {
            "date" => r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$",
            "date-time" => r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$",
            "uuid" => r"^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$",
            "uri" => r"^[A-Za-z][A-Za-z0-9+.-]*:\S*$",
            // ISO 8601, with at least one part, and none of the time's missing after T.
            "duration" if value.as_str().is_some_and(|t| t == "P" || t.ends_with('T')) => {
                return Err(format!("{at}: {value} is not a duration"));
            }
            "duration" => r"^P(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$",
            other => return Err(format!("{at}: the check does not know the format {other}")),
        },
        _ => return Ok(()),
    };
    let text = value.as_str().unwrap_or_default();
    let matches = Regex::new(pattern)
        .map_err(|e| format!("{at}: {e}"))?
        .is_match(text);
    if matches {
        Ok(())
    } else {
        Err(format!("{at}: {text:?} is not a {format}"))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::Document;

    fn document() -> Document {
        Document(json!({
            "info": {"version": "1.0.0"},
            "servers": [{"url": "https://api.example/things/api/v1"}],
            "paths": {
                "/things": {"get": {"responses": {"200": {
                    "headers": {"API-Version": {}},
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Things"}}}
                }}}},
                "/things/{id}": {"get": {"responses": {"200": {"description": "Leeg."}}}},
                "/things/mine": {"get": {"responses": {}}}
            },
            "components": {"schemas": {
                "Things": {"type": "object", "required": ["things"], "properties": {
                    "things": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/Thing"}}
                }},
                "Thing": {"type": "object", "required": ["id"], "properties": {
                    "id": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 3},
                    "state": {"type": "string", "enum": ["on", "off"]},
                    "kind": {"oneOf": [{"type": "integer", "minimum": 1}, {"type": "boolean"}]},
                    "note": {"type": "string", "nullable": true},
                    "since": {"allOf": [{"type": "string", "minLength": 10}]},
                    "on": {"type": "string", "format": "date"},
                    "at": {"type": "string", "format": "date-time"},
                    "term": {"type": "string", "format": "duration"},
                    "link": {"type": "string", "format": "uri"},
                    "ref": {"type": "string", "format": "uuid"},
                    "count": {"type": "integer", "format": "int64"},
                    "tags": {"type": "array", "maxItems": 2, "items": {"type": "string"}},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "loose": {"type": "object", "properties": {}, "additionalProperties": true}
                }},
                "Strange": {"type": "object", "anyOf": []},
                "Unknown": {"type": "string", "format": "postcode"}
            }}
        }))
    }

    /// The checker itself: each kind of difference fails, a fitting answer passes.
    #[test]
    fn each_kind_of_difference_fails() {
        let document = document();
        let check = |status, content_type, version, body| {
            document.check("get", "/things", status, content_type, version, &body)
        };
        let json = Some("application/json");
        let v1 = Some("1.0.0");
        let good = json!({"things": [{
            "id": "a", "state": "on", "kind": 1, "note": null, "since": "2026-12-08",
            "on": "2026-02-28", "at": "2026-12-08T10:00:00.5+01:00", "term": "P1DT2H",
            "link": "https://loket.example/x", "ref": "01a25340-f3ac-7747-97ba-63b1ebc981d6",
            "count": 7, "tags": ["x", "y"], "labels": {"x": "één"}, "loose": {"x": 1}
        }]});
        assert_eq!(check(200, json, v1, good.clone()), Ok(()));
        for (status, content_type, version, body) in [
            (404, json, v1, good.clone()),
            (200, Some("text/html"), v1, good.clone()),
            (200, json, None, good.clone()),
            (200, json, Some("2.0.0"), good.clone()),
            (200, json, v1, json!({})),
            (200, json, v1, json!({"things": []})),
            (200, json, v1, json!({"things": [{"id": "A"}]})),
            (200, json, v1, json!({"things": [{"id": "abcd"}]})),
            (200, json, v1, json!({"things": [{"id": 1}]})),
            (
                200,
                json,
                v1,
                json!({"things": [{"id": "a", "state": "up"}]}),
            ),
            (200, json, v1, json!({"things": [{"id": "a", "kind": "x"}]})),
            (200, json, v1, json!({"things": [{"id": "a", "kind": 0}]})),
            (
                200,
                json,
                v1,
                json!({"things": [{"id": "a", "state": null}]}),
            ),
            (
                200,
                json,
                v1,
                json!({"things": [{"id": "a", "since": "today"}]}),
            ),
            (200, json, v1, json!({"things": [{"id": "a", "extra": 1}]})),
            (
                200,
                json,
                v1,
                json!({"things": [{"id": "a", "on": "2026-13-01"}]}),
            ),
            (
                200,
                json,
                v1,
                json!({"things": [{"id": "a", "at": "2026-12-08 10:00"}]}),
            ),
            (200, json, v1, json!({"things": [{"id": "a", "term": "P"}]})),
            (
                200,
                json,
                v1,
                json!({"things": [{"id": "a", "term": "P1DT"}]}),
            ),
            (
                200,
                json,
                v1,
                json!({"things": [{"id": "a", "term": "56 dagen"}]}),
            ),
            (
                200,
                json,
                v1,
                json!({"things": [{"id": "a", "link": "loket.example"}]}),
            ),
            (
                200,
                json,
                v1,
                json!({"things": [{"id": "a", "ref": "01a25340"}]}),
            ),
            (
                200,
                json,
                v1,
                json!({"things": [{"id": "a", "count": 18446744073709551615u64}]}),
            ),
            (
                200,
                json,
                v1,
                json!({"things": [{"id": "a", "tags": ["x", "y", "z"]}]}),
            ),
            (
                200,
                json,
                v1,
                json!({"things": [{"id": "a", "labels": {"x": 1}}]}),
            ),
            (
                200,
                json,
                v1,
                json!({"things": [{"id": "a", "loose": {"x": 1}, "odd": 1}]}),
            ),
        ] {
            assert!(
                check(status, content_type, version, body.clone()).is_err(),
                "{status} {content_type:?} {version:?} {body}"
            );
        }
        assert!(
            document
                .check("post", "/things", 200, json, v1, &good)
                .is_err()
        );
        // What the check cannot check fails too.
        let schema = |name: &str| json!({"$ref": format!("#/components/schemas/{name}")});
        assert!(document.fits(&schema("Strange"), &json!({}), "$").is_err());
        assert!(
            document
                .fits(&schema("Unknown"), &json!("1234 AB"), "$")
                .is_err()
        );
        // A request body is checked against the request's schema.
        let mut with_body = document;
        with_body.0["paths"]["/things"]["post"] = json!({"requestBody": {"content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}
        }}});
        let document = with_body;
        let request = |body| document.check_request("post", "/things", "application/json", &body);
        assert_eq!(request(json!({"id": "abc"})), Ok(()));
        assert!(request(json!({"id": "ABC"})).is_err());
        assert!(request(json!({"name": "abc"})).is_err());
        assert!(
            document
                .check_request("get", "/things", "application/json", &json!({"id": "abc"}))
                .is_err()
        );
        // A body where the document names none.
        assert!(
            document
                .check("get", "/things/{id}", 200, json, v1, &json!({}))
                .is_err()
        );
    }

    #[test]
    fn a_path_finds_its_template_under_the_servers_base() {
        let document = document();
        let template = |path| document.template_for(path);
        assert_eq!(
            template("/things/api/v1/things?page=2").as_deref(),
            Some("/things")
        );
        assert_eq!(
            template("/things/api/v1/things/7").as_deref(),
            Some("/things/{id}")
        );
        assert_eq!(
            template("/things/api/v1/things/mine").as_deref(),
            Some("/things/mine")
        );
        assert_eq!(template("/things/api/v1/other"), None);
        assert_eq!(template("/things/api/v1/things/7/more"), None);
    }
}
