//! A JSON body extractor whose every failure is a clear problem+json.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use loket_core::{InvalidParam, Problem};
use serde::de::DeserializeOwned;

use crate::ApiError;

/// The largest request body any Loket API accepts: 1 MiB.
pub const JSON_BODY_LIMIT: usize = 1024 * 1024;

/// Like `axum::Json`, but rejections are problem+json: 415 for a wrong content type, 413
/// for a body over [`JSON_BODY_LIMIT`], 400 for malformed JSON, and 400 with
/// `invalidParams` naming the field when the JSON does not fit the expected shape.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let JsonBody(bytes) = JsonBody::from_request(request, state).await?;
        parse_json(&bytes).map(ApiJson).map_err(ApiError::from)
    }
}

/// A JSON request's body, checked as [`ApiJson`] checks it (content type, size) but not
/// parsed: for a handler that reads its usual request its own way and hands anything
/// else to [`parse_json`].
#[derive(Debug, Clone)]
pub struct JsonBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json_content_type(request.headers().get(header::CONTENT_TYPE)) {
            return Err(Problem::unsupported_media_type("application/json").into());
        }
        body_bytes(request, state, "De body kon niet worden gelezen.")
            .await
            .map(Self)
    }
}

/// A request's body, held to the edge's limit: 413 past it, 400 with `unreadable` when it
/// cannot be read.
pub(crate) async fn body_bytes<S: Send + Sync>(
    request: Request,
    state: &S,
    unreadable: &str,
) -> Result<Bytes, ApiError> {
    Bytes::from_request(request, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                Problem::payload_too_large(JSON_BODY_LIMIT).into()
            } else {
                Problem::bad_request(unreadable).into()
            }
        })
}

fn is_json_content_type(value: Option<&axum::http::HeaderValue>) -> bool {
    let Some(mime) = value
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
    else {
        return false;
    };
    mime.type_() == mime::APPLICATION
        && (mime.subtype() == mime::JSON || mime.suffix() == Some(mime::JSON))
}

/// A JSON body into `T`, or the problem [`ApiJson`] answers for it.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Box<Problem>> {
    // Most bodies are valid: parse them without tracking the path, which only an error
    // message needs; a bad body is parsed again below, with it.
    if crate::text::json_names_nul(bytes) {
        return Err(crate::text::nul_in_body());
    }
    if let Ok(value) = serde_json::from_slice(bytes) {
        return Ok(value);
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_data() {
            let name = if path == "." { "body".to_owned() } else { path };
            Box::new(Problem::validation(vec![InvalidParam::new(
                name,
                "invalid",
                inner.to_string(),
            )]))
        } else {
            Box::new(Problem::bad_request(format!(
                "De body is geen geldige JSON: {inner}."
            )))
        }
    })?;
    deserializer
        .end()
        .map_err(|_| Problem::bad_request("Na het JSON-document staat nog meer tekst."))?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Person {
        naam: String,
        leeftijd: u8,
    }

    #[test]
    fn shape_errors_name_the_field() {
        let problem = parse_json::<Person>(br#"{"naam": "Jan", "leeftijd": "oud"}"#).unwrap_err();
        assert_eq!(problem.status, 400);
        assert_eq!(problem.code, "paramsValidation");
        assert_eq!(problem.invalid_params[0].name, "leeftijd");
    }

    #[test]
    fn syntax_errors_are_bad_requests() {
        let problem = parse_json::<Person>(br#"{"naam": "#).unwrap_err();
        assert_eq!(problem.code, "badRequest");
        let trailing = parse_json::<Person>(br#"{"naam": "Jan", "leeftijd": 3} {}"#).unwrap_err();
        assert_eq!(trailing.code, "badRequest");
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_give_a_value_or_a_400_problem(bytes in proptest::collection::vec(proptest::arbitrary::any::<u8>(), 0..256)) {
            if let Err(problem) = parse_json::<Person>(&bytes) {
                proptest::prop_assert_eq!(problem.status, 400);
            }
        }

        #[test]
        fn any_content_type_is_judged_and_only_json_passes(bytes in proptest::collection::vec(proptest::arbitrary::any::<u8>(), 0..64)) {
            if let Ok(value) = axum::http::HeaderValue::from_bytes(&bytes)
                && is_json_content_type(Some(&value))
            {
                let text = value.to_str().unwrap().trim().to_ascii_lowercase();
                proptest::prop_assert!(text.starts_with("application/"), "{}", text);
                proptest::prop_assert!(text.contains("json"), "{}", text);
            }
        }

        #[test]
        fn json_like_text_never_panics(text in r#"[{}\[\]":,0-9a-z \\-]{0,64}"#) {
            let _ = parse_json::<Person>(text.as_bytes());
            let _ = parse_json::<serde_json::Value>(text.as_bytes());
        }
    }

    #[test]
    fn content_types() {
        let ok =
            |v: &'static str| is_json_content_type(Some(&axum::http::HeaderValue::from_static(v)));
        assert!(ok("application/json"));
        assert!(ok("application/json; charset=utf-8"));
        assert!(ok("application/merge-patch+json"));
        assert!(!ok("text/plain"));
        assert!(!ok("application/x-www-form-urlencoded"));
        assert!(!is_json_content_type(None));
    }
}
