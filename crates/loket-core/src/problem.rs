//! RFC 9457 problem details, shaped as the NL API Design Rules ask.
//!
//! Every error that leaves a Loket API is one of these. `code` is the stable,
//! machine-readable identifier clients switch on; `title` and `detail` are for people.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    pub code: String,
    #[serde(
        rename = "invalidParams",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub invalid_params: Vec<InvalidParam>,
}

/// One rejected input: which parameter (a dotted path or `name[index]`), a stable code,
/// and the reason in plain words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvalidParam {
    pub name: String,
    pub code: String,
    pub reason: String,
}

impl InvalidParam {
    pub fn new(
        name: impl Into<String>,
        code: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            code: code.into(),
            reason: reason.into(),
        }
    }
}

impl Problem {
    /// A problem whose `type` points at the HTTP semantics of its status code.
    pub fn new(status: u16, code: impl Into<String>, title: impl Into<String>) -> Self {
        Self {
            type_uri: type_for_status(status).to_owned(),
            title: title.into(),
            status,
            detail: None,
            instance: None,
            code: code.into(),
            invalid_params: Vec::new(),
        }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn with_instance(mut self, instance: impl Into<String>) -> Self {
        self.instance = Some(instance.into());
        self
    }

    pub fn with_type(mut self, type_uri: impl Into<String>) -> Self {
        self.type_uri = type_uri.into();
        self
    }

    pub fn with_invalid_params(mut self, params: Vec<InvalidParam>) -> Self {
        self.invalid_params = params;
        self
    }

    // The common problems, so every service words them the same way.

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(400, "badRequest", "Het verzoek is niet correct.").with_detail(detail)
    }

    pub fn validation(params: Vec<InvalidParam>) -> Self {
        let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
        Self::new(
            400,
            "paramsValidation",
            "Een of meerdere parameters zijn niet correct.",
        )
        .with_detail(format!(
            "De foutieve parameter(s) zijn: {}.",
            names.join(", ")
        ))
        .with_invalid_params(params)
    }

    pub fn not_found() -> Self {
        Self::new(404, "notFound", "Opgevraagde resource bestaat niet.")
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            405,
            "methodNotAllowed",
            "Deze methode is niet toegestaan voor deze resource.",
        )
    }

    pub fn payload_too_large(limit_bytes: usize) -> Self {
        Self::new(413, "payloadTooLarge", "Het verzoek is te groot.").with_detail(format!(
            "De body mag niet groter zijn dan {limit_bytes} bytes."
        ))
    }

    pub fn unsupported_media_type(expected: &str) -> Self {
        Self::new(
            415,
            "unsupportedMediaType",
            "Het formaat van de body wordt niet ondersteund.",
        )
        .with_detail(format!("Gebruik Content-Type: {expected}."))
    }

    pub fn internal() -> Self {
        Self::new(500, "serverError", "Interne serverfout.")
            .with_detail("Er ging iets mis aan onze kant. Probeer het later opnieuw.")
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(503, "notAvailable", "Bronservice is niet beschikbaar.").with_detail(detail)
    }

    pub fn timeout() -> Self {
        Self::new(504, "timeout", "Het verzoek duurde te lang.")
    }
}

/// The RFC section that defines a status code, used as the problem `type`.
fn type_for_status(status: u16) -> &'static str {
    match status {
        400 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.1",
        401 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.2",
        403 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.4",
        404 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.5",
        405 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.6",
        406 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.7",
        408 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.9",
        409 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.10",
        413 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.14",
        415 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.16",
        422 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.21",
        429 => "https://www.rfc-editor.org/rfc/rfc6585#section-4",
        502 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.6.3",
        503 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.6.4",
        504 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.6.5",
        _ => "https://www.rfc-editor.org/rfc/rfc9110#section-15.6.1",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn validation_problem_has_the_nl_shape() {
        let problem = Problem::validation(vec![
            InvalidParam::new("fields", "required", "Parameter is verplicht."),
            InvalidParam::new("type", "required", "Parameter is verplicht."),
        ])
        .with_instance("/personen");
        let value = serde_json::to_value(&problem).unwrap();
        assert_eq!(
            value,
            json!({
                "type": "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.1",
                "title": "Een of meerdere parameters zijn niet correct.",
                "status": 400,
                "detail": "De foutieve parameter(s) zijn: fields, type.",
                "instance": "/personen",
                "code": "paramsValidation",
                "invalidParams": [
                    {"name": "fields", "code": "required", "reason": "Parameter is verplicht."},
                    {"name": "type", "code": "required", "reason": "Parameter is verplicht."}
                ]
            })
        );
    }

    #[test]
    fn empty_optional_members_are_left_out() {
        let value = serde_json::to_value(Problem::not_found()).unwrap();
        let members: Vec<&String> = value.as_object().unwrap().keys().collect();
        assert_eq!(members, ["type", "title", "status", "code"]);
    }
}
