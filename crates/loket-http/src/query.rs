//! A query-string extractor whose every failure is a clear problem+json, as [`crate::ApiJson`]
//! is for bodies (axum's own `Query` answers in plain text).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use loket_core::{InvalidParam, Problem};
use serde::de::DeserializeOwned;

use crate::ApiError;

/// Like `axum::extract::Query`, but a query string that does not fit `T` is a 400
/// problem+json naming the parameter.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parse_query(parts.uri.query().unwrap_or_default())
            .map(ApiQuery)
            .map_err(ApiError::from)
    }
}

/// A query string into `T`, or the problem [`ApiQuery`] answers for it.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, Box<Problem>> {
    parse_pairs(query.as_bytes())
}

/// `name=value&…` pairs (a query string, or a form's body) into `T`, or a problem naming
/// the parameter that does not fit.
pub(crate) fn parse_pairs<T: DeserializeOwned>(text: &[u8]) -> Result<T, Box<Problem>> {
    // NUL can only come in as `%00` or a raw 0 byte: decode again only to name the field.
    let may_hold_nul = text.contains(&0) || text.windows(3).any(|w| w == b"%00");
    if may_hold_nul
        && let Some((name, _)) = form_urlencoded::parse(text)
            .find(|(name, value)| name.contains('\0') || value.contains('\0'))
    {
        return Err(crate::text::nul_in(&name));
    }
    let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(text));
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner().to_string();
        // A missing or unknown parameter is named in the message, not the path.
        let name = if path == "." {
            named_in(&inner).unwrap_or("query").to_owned()
        } else {
            path
        };
        Box::new(Problem::validation(vec![InvalidParam::new(
            name, "invalid", inner,
        )]))
    })
}

/// The parameter serde's message names in backquotes: "missing field `index`".
fn named_in(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let length = message[start..].find('`')?;
    Some(&message[start..start + length])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct Proof {
        index: u64,
        tree_size: u64,
    }

    #[test]
    fn a_fitting_query_is_read() {
        assert_eq!(
            parse_query::<Proof>("index=3&treeSize=10").unwrap(),
            Proof {
                index: 3,
                tree_size: 10
            }
        );
    }

    #[test]
    fn each_kind_of_misfit_names_its_parameter() {
        for (query, name) in [
            ("index=abc&treeSize=1", "index"),
            ("index=1", "treeSize"),
            ("index=1&treeSize=2&extra=3", "extra"),
            ("index=-1&treeSize=2", "index"),
        ] {
            let problem = parse_query::<Proof>(query).unwrap_err();
            assert_eq!(problem.status, 400, "{query}");
            assert_eq!(problem.invalid_params[0].name, name, "{query}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_query_string_gives_a_value_or_a_400_problem(query in "[a-zA-Z=&%0-9+-]{0,40}") {
            if let Err(problem) = parse_query::<Proof>(&query) {
                proptest::prop_assert_eq!(problem.status, 400);
                proptest::prop_assert!(!problem.invalid_params.is_empty());
            }
        }
    }
}
