//! A JSON field that may be left out, be `null`, or hold a value, told apart: serde on
//! its own reads `null` as left out. For `Option<Option<T>>` with `#[serde(default,
//! deserialize_with = "loket_core::present::present")]`: left out is `None`, `null` is
//! `Some(None)`.

use serde::{Deserialize, Deserializer};

/// The field is there (`null` included): `Some` of what it holds.
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Field {
        #[serde(default, deserialize_with = "super::present")]
        x: Option<Option<u8>>,
    }

    #[test]
    fn left_out_null_and_a_value_differ() {
        let read = |text: &str| serde_json::from_str::<Field>(text).map(|f| f.x).ok();
        assert_eq!(read("{}"), Some(None));
        assert_eq!(read(r#"{"x":null}"#), Some(Some(None)));
        assert_eq!(read(r#"{"x":3}"#), Some(Some(Some(3))));
    }
}
