//! The one character no request may carry in its text: NUL (U+0000). Nobody types it,
//! PostgreSQL cannot store it in `text` or `jsonb`, and SQLite would store what
//! PostgreSQL refuses. A request naming it is refused whole at the edge, so every backend
//! answers alike and nothing fails halfway in a store.

use loket_core::{InvalidParam, Problem};

/// Whether a JSON text holds the escape `\u0000` (a raw NUL byte is not valid JSON).
pub(crate) fn json_names_nul(bytes: &[u8]) -> bool {
    let mut i = 0;
    while let Some(offset) = bytes[i..].iter().position(|&b| b == b'\\') {
        let at = i + offset;
        if bytes.get(at + 1) == Some(&b'u') && bytes.get(at + 2..at + 6) == Some(b"0000") {
            return true;
        }
        // Skip the escaped character, so `\\u0000` (a backslash, then text) is not one.
        i = at + 2;
        if i >= bytes.len() {
            return false;
        }
    }
    false
}

/// The problem for a JSON body that holds NUL.
pub(crate) fn nul_in_body() -> Box<Problem> {
    Box::new(Problem::bad_request(
        "Tekst in de body bevat het teken \\u0000 (NUL). Dat teken is niet toegestaan.",
    ))
}

/// Refuse a field `name` whose `value` holds NUL, as the form and query extractors do (for
/// a handler that reads its fields itself, such as a multipart form).
pub fn refuse_nul(name: &str, value: &str) -> Result<(), crate::ApiError> {
    if value.contains('\0') {
        Err(nul_in(name).into())
    } else {
        Ok(())
    }
}

/// The problem for a form field or query parameter `name` that holds NUL.
pub(crate) fn nul_in(name: &str) -> Box<Problem> {
    Box::new(Problem::validation(vec![InvalidParam::new(
        name,
        "invalid",
        "Bevat het teken NUL (U+0000). Dat teken is niet toegestaan.",
    )]))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn only_the_escape_itself_counts() {
        for (text, names) in [
            (r#"{"a":"x\u0000y"}"#, true),
            (r#"["\u0000"]"#, true),
            (r#"{"a":"x\\u0000y"}"#, false),
            (r#"{"a":"x\\\u0000"}"#, true),
            (r#"{"a":"\u00001"}"#, true),
            (r#"{"a":"\u0001"}"#, false),
            (r#"{"a":"\"}"#, false),
            (r#"\"#, false),
            ("", false),
        ] {
            assert_eq!(json_names_nul(text.as_bytes()), names, "{text}");
        }
    }

    proptest! {
        /// Exactly when serde reads a NUL from the text, the scan finds it.
        #[test]
        fn agrees_with_serde(pieces in proptest::collection::vec(
            proptest::sample::select(vec!["a", r"\\", r"\u0000", r"\u0001", r"\u00", "u0000", r#"\""#, "0", r"\"]),
            0..8,
        )) {
            let json = format!("\"{}\"", pieces.concat());
            if let Ok(value) = serde_json::from_str::<String>(&json) {
                prop_assert_eq!(json_names_nul(json.as_bytes()), value.contains('\0'));
            }
        }
    }
}
