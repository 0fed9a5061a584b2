//! What the exchange reads in a JSON request body: the `fields` it asks for and the BSNs
//! it names. Read straight from the body's bytes (the rest of the body is skipped, not
//! built into a tree) and passed on unchanged, except for one field the inway may add to
//! the `fields` list, spliced into the text.
//!
//! A body that names `fields` or `burgerservicenummer` twice is ambiguous: the exchange
//! would check one of the two while the register might use the other. It is refused.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;
use std::marker::PhantomData;

use axum::http::HeaderMap;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::gateway::header;
use crate::subjects::Key;

/// A request body as the exchange reads it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RequestBody<'a> {
    /// Not JSON (by its content type or its text), or JSON but not an object.
    Unreadable,
    /// An object that names `fields` or `burgerservicenummer` more than once.
    Ambiguous,
    Object(Named<'a>),
}

/// What a JSON object body names.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Named<'a> {
    fields: Option<Fields<'a>>,
    bsns: Vec<Cow<'a, str>>,
}

/// The `fields` value of a body.
#[derive(Debug, PartialEq, Eq)]
enum Fields<'a> {
    /// A list: its items (`None` for one that is not a string), and where its closing
    /// bracket is in the body.
    List {
        items: Vec<Option<Cow<'a, str>>>,
        close: usize,
    },
    /// Anything but a list.
    Other,
}

impl<'a> RequestBody<'a> {
    /// Read `body` when `headers` say it is JSON.
    pub(crate) fn read(headers: &HeaderMap, body: &'a [u8]) -> Self {
        let json = header(headers, "content-type").is_some_and(crate::gateway::is_json);
        if !json || body.is_empty() {
            return Self::Unreadable;
        }
        Self::parse(body)
    }

    /// Read `body` as JSON.
    pub(crate) fn parse(body: &'a [u8]) -> Self {
        let Ok(top) = serde_json::from_slice::<Top<'a>>(body) else {
            return Self::Unreadable;
        };
        if top.ambiguous {
            return Self::Ambiguous;
        }
        let fields = top.fields.map(|raw| {
            let text = raw.get();
            match (
                serde_json::from_str::<Shape<'a>>(text),
                closing_bracket(body, text),
            ) {
                (Ok(Shape::List(items)), Some(close)) => Fields::List { items, close },
                _ => Fields::Other,
            }
        });
        let bsns = match top.bsns {
            Some(Shape::String(bsn)) => vec![bsn],
            Some(Shape::List(items)) => items.into_iter().flatten().collect(),
            Some(Shape::Other) | None => Vec::new(),
        };
        Self::Object(Named { fields, bsns })
    }

    /// The object, when the body is one.
    pub(crate) fn named(&self) -> Option<&Named<'a>> {
        match self {
            Self::Object(named) => Some(named),
            _ => None,
        }
    }
}

impl Named<'_> {
    /// The `fields` list's strings, as the log names them (other items are not fields).
    pub(crate) fn field_names(&self) -> Vec<String> {
        match &self.fields {
            Some(Fields::List { items, .. }) => {
                items.iter().flatten().map(|f| f.to_string()).collect()
            }
            _ => Vec::new(),
        }
    }

    /// Whether the `fields` list has more than `most` items, or a name longer than
    /// `longest` bytes.
    pub(crate) fn fields_beyond(&self, most: usize, longest: usize) -> bool {
        match &self.fields {
            Some(Fields::List { items, .. }) => {
                items.len() > most || items.iter().flatten().any(|f| f.len() > longest)
            }
            _ => false,
        }
    }

    /// The `fields` list when it is one of strings only.
    pub(crate) fn strict_fields(&self) -> Option<impl Iterator<Item = &str>> {
        match &self.fields {
            Some(Fields::List { items, .. }) if items.iter().all(Option::is_some) => {
                Some(items.iter().flatten().map(AsRef::as_ref))
            }
            _ => None,
        }
    }

    /// The BSNs the body names (`"burgerservicenummer": ["…"]` or `"…"`).
    pub(crate) fn bsns(&self) -> BTreeSet<String> {
        self.bsns.iter().map(|bsn| bsn.to_string()).collect()
    }

    /// `body` (the text this was read from) with `subject_field` added to its `fields`
    /// list, or `None` when the list already covers it (the field itself, or an ancestor)
    /// or there is no list.
    pub(crate) fn with_field(&self, body: &[u8], subject_field: &str) -> Option<Vec<u8>> {
        let Some(Fields::List { items, close }) = &self.fields else {
            return None;
        };
        let covered = items.iter().flatten().any(|field| {
            subject_field == field
                || subject_field
                    .strip_prefix(field.as_ref())
                    .is_some_and(|rest| rest.starts_with('.'))
        });
        if covered {
            return None;
        }
        let (before, after) = body.split_at(*close);
        let empty = before.trim_ascii_end().ends_with(b"[");
        let quoted = serde_json::to_string(subject_field).ok()?;
        let mut out = Vec::with_capacity(body.len() + quoted.len() + 1);
        out.extend_from_slice(before);
        if !empty {
            out.push(b',');
        }
        out.extend_from_slice(quoted.as_bytes());
        out.extend_from_slice(after);
        Some(out)
    }
}

/// Where in `body` the list `text` (a slice of it) closes.
fn closing_bracket(body: &[u8], text: &str) -> Option<usize> {
    let start = text.as_ptr().addr().checked_sub(body.as_ptr().addr())?;
    let close = (start + text.len()).checked_sub(1)?;
    (body.get(start..=close) == Some(text.as_bytes()) && text.ends_with(']')).then_some(close)
}

/// The top-level object: the two values the exchange reads (`fields` kept as text, to
/// know where it ends); the rest skipped.
struct Top<'a> {
    fields: Option<&'a RawValue>,
    bsns: Option<Shape<'a>>,
    ambiguous: bool,
}

impl<'de: 'a, 'a> de::Deserialize<'de> for Top<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TopVisitor<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for TopVisitor<'a> {
            type Value = Top<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Top<'a>, M::Error> {
                let mut top = Top {
                    fields: None,
                    bsns: None,
                    ambiguous: false,
                };
                while let Some(key) = map.next_key::<Key>()? {
                    match key {
                        Key::Fields => {
                            top.ambiguous |= top.fields.is_some();
                            top.fields = Some(map.next_value()?);
                        }
                        Key::Bsn => {
                            top.ambiguous |= top.bsns.is_some();
                            top.bsns = Some(map.next_value()?);
                        }
                        Key::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(top)
            }
        }
        deserializer.deserialize_map(TopVisitor(PhantomData))
    }
}

/// What the exchange tells apart in a value: a string (borrowed from the body where it
/// has no escapes), a list of such strings (`None` for an item that is not a string), or
/// anything else (read past).
#[derive(Debug)]
enum Shape<'a> {
    String(Cow<'a, str>),
    List(Vec<Option<Cow<'a, str>>>),
    Other,
}

impl<'a> Shape<'a> {
    fn string(self) -> Option<Cow<'a, str>> {
        match self {
            Self::String(text) => Some(text),
            _ => None,
        }
    }
}

/// Reads a [`Shape`]; inside a list (`item`), a nested list is just another value.
struct ShapeVisitor<'a> {
    item: bool,
    lifetime: PhantomData<&'a ()>,
}

impl<'de: 'a, 'a> Visitor<'de> for ShapeVisitor<'a> {
    type Value = Shape<'a>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Shape<'a>, E> {
        Ok(Shape::String(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Shape<'a>, E> {
        Ok(Shape::String(Cow::Owned(v.to_owned())))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Shape<'a>, E> {
        Ok(Shape::Other)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Shape<'a>, E> {
        Ok(Shape::Other)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Shape<'a>, E> {
        Ok(Shape::Other)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Shape<'a>, E> {
        Ok(Shape::Other)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Shape<'a>, E> {
        Ok(Shape::Other)
    }
    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Shape<'a>, S::Error> {
        if self.item {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(Shape::Other);
        }
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(8));
        while let Some(item) = seq.next_element::<Item<'a>>()? {
            items.push(item.0.string());
        }
        Ok(Shape::List(items))
    }
    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Shape<'a>, M::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Shape::Other)
    }
}

impl<'de: 'a, 'a> de::Deserialize<'de> for Shape<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ShapeVisitor {
            item: false,
            lifetime: PhantomData,
        })
    }
}

/// An item of a list, as a [`Shape`] that does not look into lists of its own.
struct Item<'a>(Shape<'a>);

impl<'de: 'a, 'a> de::Deserialize<'de> for Item<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(ShapeVisitor {
                item: true,
                lifetime: PhantomData,
            })
            .map(Item)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::*;
    use crate::subjects::BSN_KEY;

    fn named(text: &str) -> Named<'_> {
        match RequestBody::parse(text.as_bytes()) {
            RequestBody::Object(named) => named,
            other => panic!("{text}: {other:?}"),
        }
    }

    fn added(text: &str, field: &str) -> Option<Value> {
        named(text)
            .with_field(text.as_bytes(), field)
            .map(|body| serde_json::from_slice(&body).unwrap())
    }

    #[test]
    fn reads_the_fields_and_the_bsns() {
        let body = r#"{"type": "RaadpleegMetBurgerservicenummer", "burgerservicenummer": ["999990007", 5, "999990019"], "fields": ["naam", "verblijfplaats"]}"#;
        let named = named(body);
        assert_eq!(named.field_names(), ["naam", "verblijfplaats"]);
        assert_eq!(
            named.bsns().into_iter().collect::<Vec<_>>(),
            ["999990007", "999990019"]
        );
        assert_eq!(
            self::named(r#"{"burgerservicenummer": "999990007"}"#)
                .bsns()
                .len(),
            1
        );
    }

    #[test]
    fn a_list_with_other_than_strings_is_not_strict() {
        let named = named(r#"{"fields": ["naam", 1, {"a": ["b"]}]}"#);
        assert_eq!(named.field_names(), ["naam"]);
        assert!(named.strict_fields().is_none());
        assert!(
            self::named(r#"{"fields": "naam"}"#)
                .strict_fields()
                .is_none()
        );
        assert!(self::named(r#"{}"#).strict_fields().is_none());
    }

    #[test]
    fn adds_the_subject_field_into_the_text() {
        let body = r#"{"fields": ["merk"], "kenteken": ["34GBV7"]}"#;
        assert_eq!(
            added(body, "tenaamstelling.burgerservicenummer").unwrap(),
            json!({"fields": ["merk", "tenaamstelling.burgerservicenummer"], "kenteken": ["34GBV7"]})
        );
        assert_eq!(
            added("{\"fields\" : [ \n ] }", "burgerservicenummer").unwrap(),
            json!({"fields": ["burgerservicenummer"]})
        );
        assert_eq!(
            added("{\"fields\":[\"a\" ,\n\"b\"\t]\n}", "x\"y").unwrap(),
            json!({"fields": ["a", "b", "x\"y"]})
        );
    }

    #[test]
    fn a_covering_field_needs_nothing_added() {
        assert_eq!(
            added(
                r#"{"fields": ["tenaamstelling"]}"#,
                "tenaamstelling.burgerservicenummer"
            ),
            None
        );
        assert_eq!(
            added(
                r#"{"fields": ["burgerservicenummer"]}"#,
                "burgerservicenummer"
            ),
            None
        );
        assert_eq!(added(r#"{"type": "X"}"#, "burgerservicenummer"), None);
        assert_eq!(added(r#"{"fields": "naam"}"#, "burgerservicenummer"), None);
        // A prefix that is not a parent does not cover it.
        assert!(
            added(
                r#"{"fields": ["tenaam"]}"#,
                "tenaamstelling.burgerservicenummer"
            )
            .is_some()
        );
    }

    #[test]
    fn a_key_named_twice_is_ambiguous() {
        for body in [
            r#"{"fields": ["naam"], "fields": ["nationaliteiten"]}"#,
            r#"{"burgerservicenummer": "999990007", "type": "X", "burgerservicenummer": ["999990019"]}"#,
            r#"{"fields": ["naam"], "burger\u0073ervicenummer": "1", "burgerservicenummer": "2"}"#,
        ] {
            assert_eq!(
                RequestBody::parse(body.as_bytes()),
                RequestBody::Ambiguous,
                "{body}"
            );
        }
        // Twice elsewhere is the register's business.
        assert!(matches!(
            RequestBody::parse(br#"{"type": "A", "type": "B", "x": {"fields": 1, "fields": 2}}"#),
            RequestBody::Object(_)
        ));
    }

    #[test]
    fn only_a_json_object_is_read() {
        for body in [
            "",
            "[]",
            "\"fields\"",
            "{",
            "{\"fields\": [\"a\"]} x",
            "nul",
        ] {
            assert_eq!(
                RequestBody::parse(body.as_bytes()),
                RequestBody::Unreadable,
                "{body}"
            );
        }
        let mut headers = HeaderMap::new();
        let body = br#"{"fields": ["naam"]}"#;
        assert_eq!(RequestBody::read(&headers, body), RequestBody::Unreadable);
        headers.insert("content-type", "text/plain".parse().unwrap());
        assert_eq!(RequestBody::read(&headers, body), RequestBody::Unreadable);
        headers.insert(
            "content-type",
            "application/json; charset=utf-8".parse().unwrap(),
        );
        assert!(matches!(
            RequestBody::read(&headers, body),
            RequestBody::Object(_)
        ));
    }

    // What the reading must agree with, written over a parsed tree.
    fn fields_in_tree(body: &Value) -> Vec<String> {
        match body.get("fields") {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        }
    }

    fn strict_in_tree(body: &Value) -> Option<Vec<String>> {
        match body.get("fields") {
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| i.as_str().map(str::to_owned))
                .collect(),
            _ => None,
        }
    }

    fn bsns_in_tree(body: &Value) -> BTreeSet<String> {
        match body.get(BSN_KEY) {
            Some(Value::String(bsn)) => BTreeSet::from([bsn.clone()]),
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => BTreeSet::new(),
        }
    }

    fn added_in_tree(body: &Value, field: &str) -> Option<Value> {
        let Some(Value::Array(items)) = body.get("fields") else {
            return None;
        };
        let covered = items.iter().filter_map(Value::as_str).any(|item| {
            field == item
                || field
                    .strip_prefix(item)
                    .is_some_and(|rest| rest.starts_with('.'))
        });
        if covered {
            return None;
        }
        let mut body = body.clone();
        if let Some(Value::Array(items)) = body.get_mut("fields") {
            items.push(Value::from(field));
        }
        Some(body)
    }

    fn field_name() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("naam".to_owned()),
            Just("tenaamstelling".to_owned()),
            Just(BSN_KEY.to_owned()),
            Just("tenaamstelling.burgerservicenummer".to_owned()),
            "\\PC{0,8}",
        ]
    }

    fn request() -> impl Strategy<Value = Value> {
        let any_value = crate::subjects::tests::json_value();
        let fields = prop_oneof![
            3 => prop::collection::vec(field_name(), 0..5).prop_map(Value::from),
            1 => any_value.clone(),
        ];
        let bsns = prop_oneof![
            prop::collection::vec("[0-9]{9}", 0..4).prop_map(Value::from),
            "[0-9]{9}".prop_map(Value::from),
            any_value.clone(),
        ];
        let others = prop::collection::vec(("[a-z]{1,6}", any_value), 0..4);
        (
            proptest::option::of(fields),
            proptest::option::of(bsns),
            others,
        )
            .prop_map(|(fields, bsns, others)| {
                let mut map = serde_json::Map::new();
                for (key, value) in others {
                    map.insert(key, value);
                }
                if let Some(fields) = fields {
                    map.insert("fields".to_owned(), fields);
                }
                if let Some(bsns) = bsns {
                    map.insert(BSN_KEY.to_owned(), bsns);
                }
                Value::Object(map)
            })
    }

    proptest! {
        #[test]
        fn reads_a_request_as_its_tree_says(body in request(), pretty in any::<bool>(), field in field_name()) {
            let text = if pretty {
                serde_json::to_vec_pretty(&body).unwrap()
            } else {
                serde_json::to_vec(&body).unwrap()
            };
            let read = RequestBody::parse(&text);
            let named = read.named().unwrap();
            prop_assert_eq!(named.field_names(), fields_in_tree(&body));
            prop_assert_eq!(
                named.strict_fields().map(|f| f.map(str::to_owned).collect::<Vec<_>>()),
                strict_in_tree(&body)
            );
            prop_assert_eq!(named.bsns(), bsns_in_tree(&body));
            let spliced = named
                .with_field(&text, &field)
                .map(|body| serde_json::from_slice::<Value>(&body).unwrap());
            prop_assert_eq!(spliced, added_in_tree(&body, &field));
        }

        #[test]
        fn never_panics_on_any_text(text in prop::collection::vec(any::<u8>(), 0..96), field in field_name()) {
            if let RequestBody::Object(named) = RequestBody::parse(&text) {
                let _ = named.field_names();
                let _ = named.bsns();
                if let Some(body) = named.with_field(&text, &field) {
                    prop_assert!(serde_json::from_slice::<Value>(&body).is_ok());
                }
            }
        }
    }
}
