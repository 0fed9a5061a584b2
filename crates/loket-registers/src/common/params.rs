//! Reading the parameters of a Haal Centraal–style query body, with the errors worded as
//! Haal Centraal words them. Every problem is collected, so all are reported at once.

use std::sync::{Arc, LazyLock};

use loket_core::{InvalidParam, Problem};
use regex::Regex;
use serde_json::{Map, Value};

use super::fields::{CheckedFields, FieldSet};

/// A pattern as the spec writes it (quoted in messages) and as the regex crate needs it.
#[derive(Debug)]
pub(crate) struct Pattern {
    pub(crate) shown: &'static str,
    /// `None` only if the expression were broken; then nothing matches (and tests fail).
    pub(crate) regex: LazyLock<Option<Regex>>,
    /// The same test written out, for the patterns every lookup checks many times (the
    /// regex engine was 3% of a BRP lookup's instructions); a property test holds it to
    /// the regex.
    pub(crate) written_out: Option<fn(&str) -> bool>,
}

impl Pattern {
    pub(crate) fn is_match(&self, text: &str) -> bool {
        if let Some(check) = self.written_out {
            return check(text);
        }
        self.regex
            .as_ref()
            .is_some_and(|regex| regex.is_match(text))
    }
}

macro_rules! pattern {
    ($name:ident, $shown:literal, $regex:literal) => {
        $crate::common::params::pattern!($name, $shown, $regex, None);
    };
    ($name:ident, $shown:literal, $regex:literal, $written_out:expr) => {
        pub(crate) static $name: $crate::common::params::Pattern =
            $crate::common::params::Pattern {
                shown: $shown,
                regex: ::std::sync::LazyLock::new(|| ::regex::Regex::new($regex).ok()),
                written_out: $written_out,
            };
    };
}
pub(crate) use pattern;

pattern!(
    BSN,
    r"^[0-9]{9}$",
    r"^[0-9]{9}$",
    Some(|text| text.len() == 9 && text.bytes().all(|b| b.is_ascii_digit()))
);
pattern!(
    FIELD,
    r"^[a-zA-Z0-9\._]{1,200}$",
    r"^[a-zA-Z0-9._]{1,200}$",
    Some(|text| {
        (1..=200).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
    })
);

pub(crate) const REQUIRED: &str = "Parameter is verplicht.";

/// Invalid parameters found so far.
#[derive(Debug, Default)]
pub(crate) struct Errors(pub(crate) Vec<InvalidParam>);

impl Errors {
    pub(crate) fn add(&mut self, name: impl Into<String>, code: &str, reason: impl Into<String>) {
        self.0.push(InvalidParam::new(name, code, reason));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn string<'a>(
        &mut self,
        name: &str,
        value: &'a Value,
        pattern: &Pattern,
    ) -> Option<&'a str> {
        self.string_named(value, pattern, || name.to_owned())
    }

    /// [`Errors::string`] with the name made only when there is an error to name:
    /// formatting every array item's name (`fields[3]`) was 4% of a BRP lookup's
    /// instructions.
    fn string_named<'a>(
        &mut self,
        value: &'a Value,
        pattern: &Pattern,
        name: impl FnOnce() -> String,
    ) -> Option<&'a str> {
        match value.as_str() {
            None => {
                self.add(name(), "string", "Waarde is geen geldige string.");
                None
            }
            Some(text) if !pattern.is_match(text) => {
                self.add(
                    name(),
                    "pattern",
                    format!("Waarde voldoet niet aan patroon {}.", pattern.shown),
                );
                None
            }
            Some(text) => Some(text),
        }
    }

    /// An array of strings with item bounds; bad items are reported by index.
    pub(crate) fn string_array<'a>(
        &mut self,
        name: &str,
        value: &'a Value,
        max: usize,
        pattern: &Pattern,
    ) -> Option<Vec<&'a str>> {
        let Some(items) = value.as_array() else {
            self.add(name, "array", "Parameter is geen array.");
            return None;
        };
        if items.is_empty() {
            self.add(name, "minItems", "Array bevat minder dan 1 items.");
            return None;
        }
        if items.len() > max {
            self.add(
                name,
                "maxItems",
                format!("Array bevat meer dan {max} items."),
            );
            return None;
        }
        let before = self.0.len();
        let texts: Vec<&str> = items
            .iter()
            .enumerate()
            .filter_map(|(index, item)| {
                self.string_named(item, pattern, || format!("{name}[{index}]"))
            })
            .collect();
        (self.0.len() == before).then_some(texts)
    }

    /// The `type` parameter, as one of the names `find` knows.
    pub(crate) fn query_type<T>(
        &mut self,
        object: &Map<String, Value>,
        find: impl Fn(&str) -> Option<T>,
    ) -> Option<T> {
        let Some(value) = object.get("type") else {
            self.add("type", "required", REQUIRED);
            return None;
        };
        let kind = value.as_str().and_then(find);
        if kind.is_none() {
            self.add(
                "type",
                "value",
                "Waarde heeft geen geldige waarde uit de enumeratie.",
            );
        }
        kind
    }

    /// The `fields` parameter: at most `max` paths, each one that `allows` accepts. A list
    /// `checked` holds passed these same checks before and is not checked again.
    pub(crate) fn fields(
        &mut self,
        object: &Map<String, Value>,
        max: usize,
        allows: impl Fn(&str) -> bool,
        checked: &CheckedFields,
    ) -> Option<Arc<FieldSet>> {
        let Some(value) = object.get("fields") else {
            self.add("fields", "required", REQUIRED);
            return None;
        };
        let key = CheckedFields::key(value);
        if let Some(fields) = key.as_deref().and_then(|key| checked.get(key)) {
            return Some(fields);
        }
        let paths = self.string_array("fields", value, max, &FIELD)?;
        let fields = FieldSet::parse(&paths, allows)
            .map_err(|bad| {
                for index in bad {
                    self.add(
                        format!("fields[{index}]"),
                        "fields",
                        "Parameter bevat een niet bestaande veldnaam.",
                    );
                }
            })
            .ok()?;
        let fields = Arc::new(fields);
        if let Some(key) = key {
            checked.keep(key, Arc::clone(&fields));
        }
        Some(fields)
    }

    /// The 400 answer for everything collected, at `instance` (the path asked).
    pub(crate) fn into_problem(self, instance: &str) -> Problem {
        validation_problem(self.0, instance)
    }
}

pub(crate) fn validation_problem(params: Vec<InvalidParam>, instance: &str) -> Problem {
    Problem::validation(params)
        .with_type("https://datatracker.ietf.org/doc/html/rfc7231#section-6.5.1")
        .with_instance(instance)
}

/// The body must be a JSON object; anything else is a 400 naming the body.
pub(crate) fn object<'a>(
    body: &'a Value,
    instance: &str,
) -> Result<&'a Map<String, Value>, Problem> {
    body.as_object().ok_or_else(|| {
        validation_problem(
            vec![InvalidParam::new(
                "body",
                "object",
                "De body is geen JSON-object.",
            )],
            instance,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn agrees(pattern: &Pattern, text: &str) {
        let regex = pattern.regex.as_ref().expect("the expression compiles");
        assert_eq!(pattern.is_match(text), regex.is_match(text), "{text:?}");
    }

    proptest! {
        #[test]
        fn written_out_patterns_agree_with_their_regex(
            text in prop_oneof![
                "[0-9]{0,11}",
                "[a-zA-Z0-9._]{0,205}",
                "[0-9a-z._ \\n\u{e9}\u{663}-]{0,12}",
                any::<String>(),
            ]
        ) {
            agrees(&BSN, &text);
            agrees(&FIELD, &text);
        }
    }

    #[test]
    fn written_out_patterns_on_their_edges() {
        for text in [
            "",
            "123456789",
            "12345678",
            "1234567890",
            "12345678\n",
            "١٢٣٤٥٦٧٨٩",
            "12345678a",
        ] {
            agrees(&BSN, text);
        }
        let long = "a".repeat(200);
        let too_long = "a".repeat(201);
        for text in [
            "",
            "naam.voornamen",
            "a_b",
            "a-b",
            "é",
            "a b",
            long.as_str(),
            too_long.as_str(),
        ] {
            agrees(&FIELD, text);
        }
    }
}
