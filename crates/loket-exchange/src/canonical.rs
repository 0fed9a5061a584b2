//! RFC 8785 (JSON Canonicalization Scheme) for the values contracts hold: objects with
//! keys sorted by UTF-16 code units, no whitespace, JSON string escaping as ECMAScript
//! does it, and integers an IEEE double holds exactly (|n| < 2^53, which ECMAScript writes
//! with all their digits, as here). Floats and larger integers are refused: no contract
//! needs one, and their JCS form (ECMAScript's shortest double) is where implementations
//! disagree.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a contract may only contain whole numbers below 2^53 in size")]
pub struct NotCanonical;

/// The largest integer every JSON reader that keeps numbers as doubles reads exactly.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

pub fn canonical(value: &Value) -> Result<String, NotCanonical> {
    let mut out = String::new();
    write(value, &mut out)?;
    Ok(out)
}

fn write(value: &Value, out: &mut String) -> Result<(), NotCanonical> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match n.as_i64() {
            Some(i) if i.unsigned_abs() <= MAX_SAFE_INTEGER => out.push_str(&i.to_string()),
            _ => return Err(NotCanonical),
        },
        Value::String(s) => push_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, out)?;
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_string(key, out);
                out.push(':');
                write(item, out)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

fn push_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    #[test]
    fn sorts_keys_by_utf16_and_drops_whitespace() {
        // RFC 8785 §3.2.3's point: "\u{e9}" (é) sorts after "z", and an astral character
        // (two UTF-16 units starting 0xD8..) before U+FB33.
        let value =
            json!({"z": 1, "é": 2, "a": [true, null, "x\ny"], "\u{1F600}": 3, "\u{FB33}": 4});
        assert_eq!(
            canonical(&value).unwrap(),
            "{\"a\":[true,null,\"x\\ny\"],\"z\":1,\"é\":2,\"\u{1F600}\":3,\"\u{FB33}\":4}"
        );
        assert_eq!(canonical(&json!("\u{1}")).unwrap(), "\"\\u0001\"");
        assert_eq!(canonical(&json!(1.5)), Err(NotCanonical));
        // Whole numbers as far as a double holds them exactly, and no further (RFC 8785
        // would write 2^53 + 1 as 9007199254740992).
        let safe = (1_i64 << 53) - 1;
        assert_eq!(canonical(&json!(safe)).unwrap(), "9007199254740991");
        assert_eq!(canonical(&json!(-safe)).unwrap(), "-9007199254740991");
        for unsafe_number in [
            json!(safe + 1),
            json!(-safe - 1),
            json!(i64::MAX),
            json!(u64::MAX),
        ] {
            assert_eq!(
                canonical(&unsafe_number),
                Err(NotCanonical),
                "{unsafe_number}"
            );
        }
    }

    fn values() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-(1_i64 << 53) + 1..(1_i64 << 53)).prop_map(|i| json!(i)),
            ".{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(".{0,6}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn canonical_form_parses_back_to_the_same_value_and_is_stable(value in values()) {
            let text = canonical(&value).unwrap();
            let parsed: Value = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(&parsed, &value);
            prop_assert_eq!(canonical(&parsed).unwrap(), text);
        }
    }
}
