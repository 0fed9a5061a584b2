//! Whose data a request is about: the BSNs a request names, the ones an answer contains,
//! and making sure the register includes them in its answer even when the consumer did
//! not ask for them (they are taken out again before the answer leaves the inway).

use std::collections::BTreeSet;

use serde_json::Value;

/// The key every Loket register and Haal Centraal API uses for a BSN.
const BSN_KEY: &str = "burgerservicenummer";

/// BSNs named in a request body (`"burgerservicenummer": ["…"]` or `"…"`).
pub(crate) fn requested(body: &Value) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    match body.get(BSN_KEY) {
        Some(Value::String(bsn)) => {
            found.insert(bsn.clone());
        }
        Some(Value::Array(items)) => {
            found.extend(items.iter().filter_map(Value::as_str).map(str::to_owned));
        }
        _ => {}
    }
    found
}

/// Every BSN anywhere in an answer.
pub(crate) fn anywhere(answer: &Value) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    collect(answer, &mut found);
    found
}

fn collect(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                match item {
                    Value::String(bsn) if key == BSN_KEY => {
                        found.insert(bsn.clone());
                    }
                    other => collect(other, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect(item, found)),
        _ => {}
    }
}

/// Add `subject_field` to the request's `fields` when it is not covered. Returns whether
/// it was added (and so must be taken out of the answer).
pub(crate) fn ask_for_subject(body: &mut Value, subject_field: &str) -> bool {
    let Some(Value::Array(fields)) = body.get_mut("fields") else {
        return false;
    };
    let covered = fields.iter().filter_map(Value::as_str).any(|field| {
        subject_field == field
            || subject_field
                .strip_prefix(field)
                .is_some_and(|rest| rest.starts_with('.'))
    });
    if covered {
        return false;
    }
    fields.push(Value::String(subject_field.to_owned()));
    true
}

/// The BSN at `subject_field` in each item of the answer's list(s), and, when `strip`,
/// remove it there (and any object it leaves empty).
pub(crate) fn per_item(answer: &mut Value, subject_field: &str, strip: bool) -> BTreeSet<String> {
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

fn take(value: &mut Value, path: &[&str], strip: bool) -> Option<String> {
    let (first, rest) = path.split_first()?;
    let map = value.as_object_mut()?;
    if rest.is_empty() {
        let bsn = map.get(*first)?.as_str()?.to_owned();
        if strip {
            map.remove(*first);
        }
        return Some(bsn);
    }
    let child = map.get_mut(*first)?;
    let bsn = take(child, rest, strip);
    if strip && child.as_object().is_some_and(serde_json::Map::is_empty) {
        map.remove(*first);
    }
    bsn
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn asks_for_the_subject_and_takes_it_out_again() {
        let mut body =
            json!({"type": "RaadpleegMetKenteken", "kenteken": ["34GBV7"], "fields": ["merk"]});
        assert!(ask_for_subject(
            &mut body,
            "tenaamstelling.burgerservicenummer"
        ));
        assert_eq!(
            body["fields"],
            json!(["merk", "tenaamstelling.burgerservicenummer"])
        );
        let mut answer = json!({"voertuigen": [{"merk": "VW", "tenaamstelling": {"burgerservicenummer": "999990007"}}]});
        let found = per_item(&mut answer, "tenaamstelling.burgerservicenummer", true);
        assert_eq!(found.into_iter().collect::<Vec<_>>(), ["999990007"]);
        assert_eq!(answer, json!({"voertuigen": [{"merk": "VW"}]}));
    }

    #[test]
    fn a_covering_field_needs_nothing_added() {
        let mut body = json!({"fields": ["tenaamstelling"]});
        assert!(!ask_for_subject(
            &mut body,
            "tenaamstelling.burgerservicenummer"
        ));
        let mut body = json!({"fields": ["burgerservicenummer"]});
        assert!(!ask_for_subject(&mut body, "burgerservicenummer"));
        let mut no_fields = json!({"type": "X"});
        assert!(!ask_for_subject(&mut no_fields, "burgerservicenummer"));
    }

    #[test]
    fn finds_requested_and_answered_bsns() {
        let request = json!({"burgerservicenummer": ["999990007", "999990019"]});
        assert_eq!(requested(&request).len(), 2);
        let answer = json!({"personen": [{"burgerservicenummer": "999990007", "partners": [{"burgerservicenummer": "999990020"}]}]});
        assert_eq!(anywhere(&answer).len(), 2);
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_any_json_shape(text in "\\PC{0,64}", field in "[a-z.]{0,12}") {
            if let Ok(mut value) = serde_json::from_str::<Value>(&text) {
                let _ = requested(&value);
                let _ = anywhere(&value);
                let _ = ask_for_subject(&mut value, &field);
                let _ = per_item(&mut value, &field, true);
            }
        }
    }
}
