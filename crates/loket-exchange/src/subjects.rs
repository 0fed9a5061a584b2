//! Whose data an answer is about: every BSN it holds, wherever it is (what the outway
//! logs). The inway reads the subject field of each answered item instead
//! (`answer_subjects.rs`).

use std::collections::BTreeSet;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// The key every Loket register and Haal Centraal API uses for a BSN.
pub(crate) const BSN_KEY: &str = "burgerservicenummer";

/// Why an answer's subjects were not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unread {
    /// The answer is not JSON: it names nobody the exchange can tell.
    NotJson,
    /// The answer names more than the limit; reading stopped there.
    TooMany,
}

/// Every BSN anywhere in an answer (the value of any `burgerservicenummer` key that is a
/// string), read from its text without building a tree of it, as long as there are at
/// most `limit`.
pub(crate) fn anywhere(answer: &[u8], limit: usize) -> Result<BTreeSet<String>, Unread> {
    let mut found = BTreeSet::new();
    let mut deserializer = serde_json::Deserializer::from_slice(answer);
    let read = Collect {
        found: &mut found,
        limit,
        under_bsn_key: false,
    }
    .deserialize(&mut deserializer)
    .and_then(|()| deserializer.end());
    match read {
        Ok(()) => Ok(found),
        // Only the walk's own stop leaves more than the limit in the set.
        Err(_) if found.len() > limit => Err(Unread::TooMany),
        Err(_) => Err(Unread::NotJson),
    }
}

/// Walks a value, keeping the strings found under a `burgerservicenummer` key, and
/// stops once it holds more than `limit`.
struct Collect<'s> {
    found: &'s mut BTreeSet<String>,
    limit: usize,
    under_bsn_key: bool,
}

impl<'de> DeserializeSeed<'de> for Collect<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Collect<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        if self.under_bsn_key {
            self.found.insert(v.to_owned());
            if self.found.len() > self.limit {
                return Err(E::custom("the answer names too many subjects"));
            }
        }
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<(), S::Error> {
        while seq
            .next_element_seed(Collect {
                found: &mut *self.found,
                limit: self.limit,
                under_bsn_key: false,
            })?
            .is_some()
        {}
        Ok(())
    }
    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<(), M::Error> {
        while let Some(key) = map.next_key::<Key>()? {
            map.next_value_seed(Collect {
                found: &mut *self.found,
                limit: self.limit,
                under_bsn_key: matches!(key, Key::Bsn),
            })?;
        }
        Ok(())
    }
}

/// A key the exchange looks for, told apart without copying it.
pub(crate) enum Key {
    Fields,
    Bsn,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
                Ok(match key {
                    "fields" => Key::Fields,
                    BSN_KEY => Key::Bsn,
                    _ => Key::Other,
                })
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;
    use serde_json::Value;

    use super::*;

    #[test]
    fn finds_every_bsn_in_an_answer() {
        let answer = br#"{"personen": [{"burgerservicenummer": "999990007", "partners": [{"burgerservicenummer": "999990020"}]}], "burgerservicenummer": 5}"#;
        let found = anywhere(answer, 10).unwrap();
        assert_eq!(
            found.into_iter().collect::<Vec<_>>(),
            ["999990007", "999990020"]
        );
        // Escapes are read as JSON reads them.
        let escaped = br#"{"burger\u0073ervicenummer": "9999\u00390007"}"#;
        assert_eq!(
            anywhere(escaped, 10)
                .unwrap()
                .into_iter()
                .collect::<Vec<_>>(),
            ["999990007"]
        );
    }

    #[test]
    fn a_bsn_named_twice_in_one_object_is_found_both_times() {
        let answer = br#"{"burgerservicenummer": "999990007", "burgerservicenummer": "999990019"}"#;
        assert_eq!(anywhere(answer, 2).unwrap().len(), 2);
        assert_eq!(anywhere(answer, 1), Err(Unread::TooMany));
    }

    #[test]
    fn an_answer_that_is_not_json_names_nobody() {
        for text in [&b""[..], b"{", b"{\"a\": 1} x", b"\xff", b"[1,]"] {
            assert_eq!(anywhere(text, 10), Err(Unread::NotJson), "{text:?}");
        }
    }

    /// Every BSN anywhere in a tree: what the scanner must find, written over the tree.
    fn anywhere_in_tree(value: &Value, found: &mut BTreeSet<String>) {
        match value {
            Value::Object(map) => {
                for (key, item) in map {
                    match item {
                        Value::String(bsn) if key == BSN_KEY => {
                            found.insert(bsn.clone());
                        }
                        other => anywhere_in_tree(other, found),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| anywhere_in_tree(item, found)),
            _ => {}
        }
    }

    /// JSON values with keys that are often `burgerservicenummer`.
    pub(crate) fn json_value() -> impl Strategy<Value = Value> + Clone {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i32>().prop_map(Value::from),
            "[0-9]{9}".prop_map(Value::from),
            "\\PC{0,8}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
                prop::collection::vec(
                    (
                        prop_oneof![Just(BSN_KEY.to_owned()), "[a-z]{1,6}", "\\PC{0,4}"],
                        inner
                    ),
                    0..6
                )
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn the_scanner_finds_what_the_tree_holds(value in json_value(), pretty in any::<bool>(), limit in prop_oneof![0..4_usize, Just(usize::MAX)]) {
            let text = if pretty {
                serde_json::to_vec_pretty(&value).unwrap()
            } else {
                serde_json::to_vec(&value).unwrap()
            };
            let mut expected = BTreeSet::new();
            anywhere_in_tree(&value, &mut expected);
            let read = anywhere(&text, limit);
            if expected.len() > limit {
                prop_assert_eq!(read, Err(Unread::TooMany));
            } else {
                prop_assert_eq!(read, Ok(expected));
            }
        }

        #[test]
        fn never_panics_on_any_text(text in prop::collection::vec(any::<u8>(), 0..96)) {
            let _ = anywhere(&text, 2);
        }
    }
}
