//! Checks an HTTP answer against the OpenAPI 3.0 document that describes it: the status
//! is documented for the operation, the content type is one it names, the `API-Version`
//! header is there when documented, and the body fits the schema. The schema check covers
//! what our documents use (`$ref`, `type`, `properties`, `required`, `items`, `enum`,
//! `pattern`, `minItems`, `oneOf`), and treats every object whose properties it names as
//! closed: a property the document does not name is drift, and fails.

use regex::Regex;
use serde_json::Value;

pub(crate) struct Document(Value);

impl Document {
    pub(crate) fn parse(text: &str) -> Self {
        Self(serde_json::from_str(text).expect("the document is JSON"))
    }

    /// The documented paths and, for each, its methods.
    pub(crate) fn operations(&self) -> Vec<(String, Vec<String>)> {
        let paths = self.0["paths"].as_object().expect("paths");
        paths
            .iter()
            .map(|(path, item)| {
                let methods = item.as_object().expect("path item").keys().cloned();
                (path.clone(), methods.collect())
            })
            .collect()
    }

    /// Whether `answer` to `method template` (a documented path, e.g.
    /// `/contracts/{hash}/accept`) is one the document describes; what differs, if not.
    pub(crate) fn check(
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
        let response = &operation["responses"][status.to_string()];
        if !response.is_object() {
            return Err(format!("{method} {template}: {status} is not documented"));
        }
        if response["headers"]["API-Version"].is_object()
            && api_version != self.0["info"]["version"].as_str()
        {
            return Err(format!("{status}: API-Version {api_version:?}"));
        }
        let content_type = content_type.ok_or(format!("{status}: no content type"))?;
        let schema = &response["content"][content_type]["schema"];
        if !schema.is_object() {
            return Err(format!("{status}: {content_type} is not documented"));
        }
        self.fits(schema, body, "$")
    }

    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        match schema["$ref"].as_str() {
            Some(reference) => {
                let name = reference
                    .strip_prefix("#/components/schemas/")
                    .expect("a local schema reference");
                let target = &self.0["components"]["schemas"][name];
                assert!(target.is_object(), "{reference} is not in the document");
                self.resolve(target)
            }
            None => schema,
        }
    }

    fn fits(&self, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
        let schema = self.resolve(schema);
        if let Some(choices) = schema["oneOf"].as_array() {
            let fitting = choices
                .iter()
                .filter(|choice| self.fits(choice, value, at).is_ok())
                .count();
            return match fitting {
                1 => Ok(()),
                n => Err(format!("{at}: fits {n} of oneOf, not exactly one")),
            };
        }
        if let Some(kind) = schema["type"].as_str() {
            let right = match kind {
                "object" => value.is_object(),
                "array" => value.is_array(),
                "string" => value.is_string(),
                "integer" => value.is_i64() || value.is_u64(),
                "number" => value.is_number(),
                "boolean" => value.is_boolean(),
                other => return Err(format!("{at}: unknown type {other} in the document")),
            };
            if !right {
                return Err(format!("{at}: {value} is not of type {kind}"));
            }
        }
        if let Some(allowed) = schema["enum"].as_array()
            && !allowed.contains(value)
        {
            return Err(format!("{at}: {value} is not one of {allowed:?}"));
        }
        if let (Some(pattern), Some(text)) = (schema["pattern"].as_str(), value.as_str()) {
            let pattern = Regex::new(pattern).expect("a pattern the document can use");
            if !pattern.is_match(text) {
                return Err(format!("{at}: {text:?} does not match {pattern}"));
            }
        }
        if let Some(object) = value.as_object() {
            let properties = schema["properties"].as_object();
            for name in schema["required"].as_array().into_iter().flatten() {
                let name = name.as_str().expect("a required name");
                if !object.contains_key(name) {
                    return Err(format!("{at}: {name} is required"));
                }
            }
            // An object that names no properties (a document of any shape) is open.
            for (name, member) in object.iter().filter(|_| properties.is_some()) {
                let declared = properties
                    .and_then(|p| p.get(name))
                    .ok_or_else(|| format!("{at}: {name} is not in the document"))?;
                self.fits(declared, member, &format!("{at}.{name}"))?;
            }
        }
        if let Some(items) = value.as_array() {
            if let Some(least) = schema["minItems"].as_u64()
                && (items.len() as u64) < least
            {
                return Err(format!("{at}: fewer than {least} items"));
            }
            for (index, item) in items.iter().enumerate() {
                self.fits(&schema["items"], item, &format!("{at}[{index}]"))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::Document;

    fn document() -> Document {
        Document(json!({
            "info": {"version": "1.0.0"},
            "paths": {"/things": {"get": {"responses": {"200": {
                "headers": {"API-Version": {}},
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Things"}}}
            }}}}},
            "components": {"schemas": {
                "Things": {"type": "object", "required": ["things"], "properties": {
                    "things": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/Thing"}}
                }},
                "Thing": {"type": "object", "required": ["id"], "properties": {
                    "id": {"type": "string", "pattern": "^[a-z]+$"},
                    "state": {"type": "string", "enum": ["on", "off"]},
                    "kind": {"oneOf": [{"type": "integer"}, {"type": "boolean"}]}
                }}
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
        let good = json!({"things": [{"id": "a", "state": "on", "kind": 1}]});
        assert_eq!(check(200, json, v1, good.clone()), Ok(()));
        for (status, content_type, version, body) in [
            (404, json, v1, good.clone()),
            (200, Some("text/html"), v1, good.clone()),
            (200, json, None, good.clone()),
            (200, json, Some("2.0.0"), good.clone()),
            (200, json, v1, json!({})),
            (200, json, v1, json!({"things": []})),
            (200, json, v1, json!({"things": [{"id": "A"}]})),
            (200, json, v1, json!({"things": [{"id": 1}]})),
            (
                200,
                json,
                v1,
                json!({"things": [{"id": "a", "state": "up"}]}),
            ),
            (200, json, v1, json!({"things": [{"id": "a", "kind": "x"}]})),
            (200, json, v1, json!({"things": [{"id": "a", "extra": 1}]})),
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
    }
}
