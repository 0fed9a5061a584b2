//! A form body extractor whose every failure is a problem (and so, for a browser, the
//! service's error page), as [`crate::ApiQuery`] is for query strings.

use axum::extract::{FromRequest, Request};
use axum::http::header;
use loket_core::Problem;
use serde::de::DeserializeOwned;

use crate::ApiError;

const FORM: &str = "application/x-www-form-urlencoded";

/// Like `axum::Form` for a POST, but a body that is not a form, is too large, names NUL
/// or does not fit `T` is a problem naming what was wrong.
#[derive(Debug, Clone)]
pub struct FormInput<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for FormInput<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_form = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<mime::Mime>().ok())
            .is_some_and(|m| m.essence_str() == FORM);
        if !is_form {
            return Err(Problem::unsupported_media_type(FORM).into());
        }
        let bytes =
            crate::json::body_bytes(request, state, "Het formulier kon niet worden gelezen.")
                .await?;
        crate::query::parse_pairs(&bytes)
            .map(FormInput)
            .map_err(ApiError::from)
    }
}
