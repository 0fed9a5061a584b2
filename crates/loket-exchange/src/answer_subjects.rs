//! Whose data a register's answer holds, read in one pass over its text: the BSN at the
//! service's subject field in each item of the answer's lists. When the inway asked for
//! that field itself, the same pass writes the answer again without it (and without any
//! object that leaves empty), so the consumer gets only what it asked for. No tree of
//! the answer is built, and what is not taken out is copied as its text: a number
//! beyond 64 bits or with more digits than a float holds passes unchanged.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::subjects::Unread;

/// The subjects in `answer`, and, when `strip` and a subject was taken out, the answer
/// without the subject field (`None`: the answer as it is), as long as it names at most
/// `limit`. Whether the answer is read as JSON does not depend on `strip`.
pub(crate) fn per_item(
    answer: &[u8],
    subject_field: &str,
    strip: bool,
    limit: usize,
) -> Result<(BTreeSet<String>, Option<Vec<u8>>), Unread> {
    let path: Vec<&str> = subject_field.split('.').collect();
    let mut found = BTreeSet::new();
    let mut out = Vec::with_capacity(if strip { answer.len() } else { 0 });
    let mut deserializer = serde_json::Deserializer::from_slice(answer);
    let read = Pass {
        out: &mut out,
        found: &mut found,
        limit,
        write: strip,
        role: Role::Answer,
        path: &path,
    }
    .deserialize(&mut deserializer)
    .and_then(|_| deserializer.end());
    match read {
        // Every subject found was taken out: without one, nothing changed.
        Ok(()) => {
            let changed = strip && !found.is_empty();
            Ok((found, changed.then_some(out)))
        }
        // Only the pass's own stop leaves more than the limit in the set.
        Err(_) if found.len() > limit => Err(Unread::TooMany),
        Err(_) => Err(Unread::NotJson),
    }
}

/// Where in the answer a value is.
#[derive(Clone, Copy)]
enum Role {
    /// The whole answer.
    Answer,
    /// A value of the answer object: its list items are the subjects' items.
    TopValue,
    /// An item, or an object on the way from one to the subject field (`path` left).
    OnPath,
    /// The subject field itself.
    Subject,
    /// Anything else: copied as its text.
    Elsewhere,
}

/// What a value turned out to be, for the object holding it.
#[derive(Default)]
struct Seen {
    /// An object that taking the subject out left empty (one that was empty already
    /// stays).
    emptied: bool,
    /// The value was a string (kept only for [`Role::Subject`]).
    string: Option<String>,
}

struct Pass<'o, 'p> {
    out: &'o mut Vec<u8>,
    found: &'o mut BTreeSet<String>,
    /// The most subjects read before the pass stops.
    limit: usize,
    /// Write the answer again (without the subject field).
    write: bool,
    role: Role,
    path: &'p [&'p str],
}

impl<'o, 'p> Pass<'o, 'p> {
    fn child(&mut self, role: Role, path: &'p [&'p str]) -> Pass<'_, 'p> {
        Pass {
            out: &mut *self.out,
            found: &mut *self.found,
            limit: self.limit,
            write: self.write,
            role,
            path,
        }
    }

    fn key(&mut self, key: &str) {
        if self.write {
            // Writing a string into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut *self.out, key);
        }
    }

    fn byte(&mut self, byte: u8) {
        if self.write {
            self.out.push(byte);
        }
    }

    fn copy(&mut self, text: &str) {
        if self.write {
            self.out.extend_from_slice(text.as_bytes());
        }
    }
}

impl<'de> DeserializeSeed<'de> for Pass<'_, '_> {
    type Value = Seen;
    fn deserialize<D: Deserializer<'de>>(mut self, deserializer: D) -> Result<Seen, D::Error> {
        if let Role::Answer = self.role {
            return deserializer.deserialize_any(self);
        }
        // Every other value is taken as its text: copied as it is, and only what may
        // hold the subject field is read again, from that text.
        let text = <&'de RawValue>::deserialize(deserializer)?.get();
        match (self.role, text.as_bytes().first()) {
            (Role::TopValue, Some(b'[')) | (Role::OnPath, Some(b'{')) => {
                let mut inner = serde_json::Deserializer::from_str(text);
                (&mut inner)
                    .deserialize_any(self)
                    .map_err(de::Error::custom)
            }
            (Role::Subject, Some(b'"')) => {
                let bsn: String = serde_json::from_str(text).map_err(de::Error::custom)?;
                self.copy(text);
                Ok(Seen {
                    emptied: false,
                    string: Some(bsn),
                })
            }
            _ => {
                self.copy(text);
                Ok(Seen::default())
            }
        }
    }
}

impl<'de> Visitor<'de> for Pass<'_, '_> {
    type Value = Seen;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    // A scalar is visited only as the whole answer, which then names no one (and is
    // not written again).
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Seen, E> {
        Ok(Seen::default())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Seen, E> {
        Ok(Seen::default())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Seen, E> {
        Ok(Seen::default())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Seen, E> {
        Ok(Seen::default())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Seen, E> {
        Ok(Seen::default())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Seen, E> {
        Ok(Seen::default())
    }

    fn visit_seq<S: SeqAccess<'de>>(mut self, mut seq: S) -> Result<Seen, S::Error> {
        let items = match self.role {
            Role::TopValue => Role::OnPath,
            _ => Role::Elsewhere,
        };
        let path = self.path;
        self.byte(b'[');
        let mut first = true;
        loop {
            let mark = self.out.len();
            if !first {
                self.byte(b',');
            }
            if seq.next_element_seed(self.child(items, path))?.is_none() {
                self.out.truncate(mark);
                break;
            }
            first = false;
        }
        self.byte(b']');
        Ok(Seen::default())
    }

    fn visit_map<M: MapAccess<'de>>(mut self, mut map: M) -> Result<Seen, M::Error> {
        let role = self.role;
        let path = self.path;
        self.byte(b'{');
        let (mut kept, mut taken) = (0_usize, 0_usize);
        while let Some(key) = map.next_key::<Key<'de>>()? {
            let mark = self.out.len();
            if kept > 0 {
                self.byte(b',');
            }
            self.key(key.0.as_ref());
            self.byte(b':');
            let (value_role, rest) = match (role, path.split_first()) {
                (Role::Answer, _) => (Role::TopValue, path),
                (Role::OnPath, Some((step, rest))) if *step == key.0.as_ref() => (
                    if rest.is_empty() {
                        Role::Subject
                    } else {
                        Role::OnPath
                    },
                    rest,
                ),
                _ => (Role::Elsewhere, path),
            };
            let seen = map.next_value_seed(self.child(value_role, rest))?;
            let taken_out = match value_role {
                Role::Subject => match seen.string {
                    Some(bsn) => {
                        self.found.insert(bsn);
                        if self.found.len() > self.limit {
                            return Err(de::Error::custom("the answer names too many subjects"));
                        }
                        true
                    }
                    None => false,
                },
                Role::OnPath => seen.emptied,
                _ => false,
            };
            if taken_out {
                self.out.truncate(mark);
                taken += 1;
            } else {
                kept += 1;
            }
        }
        self.byte(b'}');
        Ok(Seen {
            emptied: kept == 0 && taken > 0,
            string: None,
        })
    }
}

/// An object key, unescaped (borrowed from the answer when it has no escapes).
struct Key<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(key)))
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(key.to_owned())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::*;

    fn strip(answer: &Value, field: &str) -> (Vec<&'static str>, Value) {
        let text = serde_json::to_vec(answer).unwrap();
        let (found, written) = per_item(&text, field, true, 10).unwrap();
        let found = found.into_iter().map(|b| &*b.leak()).collect();
        (found, serde_json::from_slice(&written.unwrap()).unwrap())
    }

    #[test]
    fn takes_the_subject_out_of_each_item() {
        let answer = json!({"voertuigen": [{"merk": "VW", "tenaamstelling": {"burgerservicenummer": "999990007"}}]});
        let (found, written) = strip(&answer, "tenaamstelling.burgerservicenummer");
        assert_eq!(found, ["999990007"]);
        assert_eq!(written, json!({"voertuigen": [{"merk": "VW"}]}));
        let answer = json!({"type": "X", "personen": [{"burgerservicenummer": "999990007", "naam": {"voornamen": "Sanne"}}, {"burgerservicenummer": "999990019"}]});
        let (found, written) = strip(&answer, "burgerservicenummer");
        assert_eq!(found, ["999990007", "999990019"]);
        assert_eq!(
            written,
            json!({"type": "X", "personen": [{"naam": {"voornamen": "Sanne"}}, {}]})
        );
    }

    #[test]
    fn numbers_keep_their_digits() {
        // Beyond 64 bits, and a float serde_json reads one step off (writing what it
        // read gives -2.088289012483309e-166).
        let answer = br#"{"personen":[{"burgerservicenummer":"999990007","a":123456789012345678901234567890,"b":-2.0882890124833093e-166}]}"#;
        let (_, written) = per_item(answer, "burgerservicenummer", true, 1).unwrap();
        assert_eq!(
            written.unwrap(),
            br#"{"personen":[{"a":123456789012345678901234567890,"b":-2.0882890124833093e-166}]}"#
        );
    }

    #[test]
    fn reads_without_writing_when_nothing_is_taken_out() {
        let text = br#"{"personen": [{"burgerservicenummer": "999990007"}], "b": {"burgerservicenummer": "1"}}"#;
        let (found, written) = per_item(text, "burgerservicenummer", false, 1).unwrap();
        assert_eq!(found.into_iter().collect::<Vec<_>>(), ["999990007"]);
        assert_eq!(written, None);
    }

    #[test]
    fn only_what_taking_out_empties_goes() {
        let answer = json!({"personen": [{"a": {"burgerservicenummer": "999990007"}}, {"a": {}}]});
        let (_, written) = strip(&answer, "a.burgerservicenummer");
        assert_eq!(written, json!({"personen": [{}, {"a": {}}]}));
        // Nothing taken out: the answer stays as it was, spacing and all.
        let text = br#"{"personen": [{"a": {}, "b": "\u00e9"}]}"#;
        assert_eq!(
            per_item(text, "a.burgerservicenummer", true, 10),
            Ok((BTreeSet::new(), None))
        );
    }

    #[test]
    fn the_limit_stops_the_pass_before_the_text_breaks() {
        let text = br#"{"personen":[{"burgerservicenummer":"1"},{"burgerservicenummer":"2"}]} x"#;
        for strip in [false, true] {
            let pass = |limit| per_item(text, "burgerservicenummer", strip, limit);
            assert_eq!(pass(1), Err(Unread::TooMany));
            assert_eq!(pass(2), Err(Unread::NotJson));
        }
    }

    #[test]
    fn an_answer_that_is_not_json_is_left_alone() {
        for text in [&b""[..], b"{", b"{\"a\": 1} x", b"\xff", b"[1,]"] {
            assert_eq!(
                per_item(text, "burgerservicenummer", true, 10),
                Err(Unread::NotJson),
                "{text:?}"
            );
        }
    }

    /// The same over a parsed tree: what the pass must agree with.
    fn per_item_in_tree(answer: &mut Value, subject_field: &str, strip: bool) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        let path: Vec<&str> = subject_field.split('.').collect();
        let Value::Object(map) = answer else {
            return found;
        };
        for list in map.values_mut() {
            let Value::Array(items) = list else { continue };
            for item in items {
                if let Some(bsn) = take(item, &path, strip) {
                    found.insert(bsn);
                }
            }
        }
        found
    }

    /// `shift_remove`, not `remove`: with `preserve_order` (the workspace's), `remove` swaps
    /// the last key into the removed one's place, and the rewritten text keeps the order.
    fn take(value: &mut Value, path: &[&str], strip: bool) -> Option<String> {
        let (first, rest) = path.split_first()?;
        let map = value.as_object_mut()?;
        if rest.is_empty() {
            let bsn = map.get(*first)?.as_str()?.to_owned();
            if strip {
                map.shift_remove(*first);
            }
            return Some(bsn);
        }
        let child = map.get_mut(*first)?;
        let bsn = take(child, rest, strip);
        // Only an object that taking the subject out left empty goes too.
        if strip && bsn.is_some() && child.as_object().is_some_and(serde_json::Map::is_empty) {
            map.shift_remove(*first);
        }
        bsn
    }

    fn subject_field() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("burgerservicenummer".to_owned()),
            Just("a.burgerservicenummer".to_owned()),
            Just("a.b.burgerservicenummer".to_owned()),
            Just("a".to_owned()),
        ]
    }

    /// Answers shaped like a register's: lists of items whose keys are often on the path.
    fn answer() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            "[0-9]{9}".prop_map(Value::from),
            "\\PC{0,6}".prop_map(Value::from),
        ];
        let key = prop_oneof![
            Just("burgerservicenummer".to_owned()),
            Just("a".to_owned()),
            Just("b".to_owned()),
            "\\PC{0,4}",
        ];
        leaf.prop_recursive(5, 64, 5, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::from),
                prop::collection::vec((key.clone(), inner), 0..5)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn agrees_with_the_tree(
            answer in answer(),
            field in subject_field(),
            strip in any::<bool>(),
            pretty in any::<bool>(),
            limit in prop_oneof![0..4_usize, Just(usize::MAX)],
        ) {
            let text = if pretty {
                serde_json::to_vec_pretty(&answer).unwrap()
            } else {
                serde_json::to_vec(&answer).unwrap()
            };
            // The tree the text was written from (reading the text back would not do:
            // serde_json may read a float one step off, and the pass copies its text).
            let mut tree = answer;
            let expected = per_item_in_tree(&mut tree, &field, strip);
            let read = per_item(&text, &field, strip, limit);
            if expected.len() > limit {
                prop_assert_eq!(read, Err(Unread::TooMany));
                return Ok(());
            }
            let (found, written) = read.unwrap();
            prop_assert_eq!(&found, &expected);
            if !strip || expected.is_empty() {
                prop_assert_eq!(written, None);
                return Ok(());
            }
            let written = written.unwrap();
            let changed = serde_json::to_vec(&tree).unwrap();
            if pretty {
                // What was copied keeps its own spacing; the order of keys is kept. (Both
                // read back the same way, so a float read one step off is off in both.)
                let reread = |text: &[u8]| {
                    serde_json::to_vec(&serde_json::from_slice::<Value>(text).unwrap()).unwrap()
                };
                prop_assert_eq!(reread(&written), reread(&changed));
            } else {
                // Byte for byte what writing the changed tree gives.
                prop_assert_eq!(written, changed);
            }
        }

        /// Numbers pass as their text wherever they are, whatever a float could hold.
        #[test]
        fn numbers_pass_unchanged(
            digits in prop::collection::vec("-?(0|[1-9][0-9]{0,40})(\\.[0-9]{1,30})?([eE][+-]?[0-9]{1,3})?", 6),
            pretty in any::<bool>(),
        ) {
            let [top, item, field, subject, nested, listed] = &digits[..] else {
                unreachable!()
            };
            let gap = if pretty { "\n  " } else { "" };
            let answer = format!(
                r#"{{"aantal":{top},"personen":[{item},{{"a":{{"burgerservicenummer":"999990007","n":{field}}},"burgerservicenummer":{subject},"b":{{"c":[{gap}{nested},{listed}]}}}},{{"a":{{"burgerservicenummer":{subject}}}}}]}}"#
            );
            let (found, written) = per_item(answer.as_bytes(), "a.burgerservicenummer", true, 10).unwrap();
            prop_assert_eq!(found.into_iter().collect::<Vec<_>>(), ["999990007"]);
            let expected = format!(
                r#"{{"aantal":{top},"personen":[{item},{{"a":{{"n":{field}}},"burgerservicenummer":{subject},"b":{{"c":[{gap}{nested},{listed}]}}}},{{"a":{{"burgerservicenummer":{subject}}}}}]}}"#
            );
            prop_assert_eq!(String::from_utf8(written.unwrap()).unwrap(), expected);
        }

        /// Whether an answer is read does not depend on writing it again: what one way
        /// reads, the other reads too, numbers out of a float's range and deep nesting
        /// included.
        #[test]
        fn reading_does_not_depend_on_writing(
            answer in answer(),
            field in subject_field(),
            null_as in prop_oneof![Just("null".to_owned()), Just("1e400".to_owned()), Just(format!("{}{}", "[".repeat(130), "]".repeat(130)))],
        ) {
            let text = serde_json::to_string(&answer).unwrap().replace("null", &null_as);
            let read = per_item(text.as_bytes(), &field, false, 4).map(|(found, _)| found);
            let written = per_item(text.as_bytes(), &field, true, 4).map(|(found, _)| found);
            prop_assert_eq!(read, written);
        }

        #[test]
        fn never_panics_on_any_text(text in prop::collection::vec(any::<u8>(), 0..96), field in subject_field()) {
            if let Ok((_, Some(written))) = per_item(&text, &field, true, 2) {
                prop_assert!(serde_json::from_slice::<Value>(&written).is_ok());
            }
        }
    }
}
