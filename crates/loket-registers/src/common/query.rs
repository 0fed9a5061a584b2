//! The query body every register but the BRP takes, in the Haal Centraal style:
//! `{"type": …, "fields": […], …parameters of that type}`.

use loket_core::Problem;
use serde_json::Value;

use std::sync::Arc;

use super::fields::{CheckedFields, FieldPaths, FieldSet};
use super::params::{self, BSN, Errors, Pattern, REQUIRED};

/// How a query type finds its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// By the register's own keys, given as an array parameter.
    ByKey,
    /// Everything about one person, given as a single BSN.
    ByBsn,
}

#[derive(Debug)]
pub(crate) struct QueryType {
    pub(crate) name: &'static str,
    /// The one parameter this type requires.
    pub(crate) parameter: &'static str,
    pub(crate) lookup: Lookup,
    /// For `ByKey`: the pattern of each key and how many may be asked at once.
    pub(crate) key_pattern: &'static Pattern,
    pub(crate) max_keys: usize,
}

impl QueryType {
    pub(crate) const fn by_bsn(name: &'static str) -> Self {
        Self {
            name,
            parameter: "burgerservicenummer",
            lookup: Lookup::ByBsn,
            key_pattern: &BSN,
            max_keys: 1,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Query {
    pub(crate) kind: &'static QueryType,
    /// The keys asked (`ByKey`) or the one BSN (`ByBsn`).
    pub(crate) values: Vec<String>,
    pub(crate) fields: Arc<FieldSet>,
}

/// Read a body into one of `types`, or into the 400 Haal Centraal would answer.
pub(crate) fn parse(
    types: &'static [QueryType],
    max_fields: usize,
    paths: &FieldPaths,
    checked: &CheckedFields,
    body: &Value,
    instance: &str,
) -> Result<Query, Problem> {
    let object = params::object(body, instance)?;
    let mut errors = Errors::default();
    let Some(kind) = errors.query_type(object, |name| types.iter().find(|t| t.name == name)) else {
        return Err(errors.into_problem(instance));
    };
    let fields = errors.fields(object, max_fields, |p| paths.allows(p), checked);

    let values = match (object.get(kind.parameter), kind.lookup) {
        (None, _) => {
            errors.add(kind.parameter, "required", REQUIRED);
            None
        }
        (Some(value), Lookup::ByBsn) => errors
            .string(kind.parameter, value, &BSN)
            .map(|bsn| vec![bsn.to_owned()]),
        (Some(value), Lookup::ByKey) => errors
            .string_array(kind.parameter, value, kind.max_keys, kind.key_pattern)
            .map(|keys| keys.into_iter().map(str::to_owned).collect()),
    };

    for key in object.keys() {
        if key != "type" && key != "fields" && key != kind.parameter {
            errors.add(key.as_str(), "unknownParam", "Parameter is niet verwacht.");
        }
    }

    match (fields, values) {
        (Some(fields), Some(values)) if errors.is_empty() => Ok(Query {
            kind,
            values,
            fields,
        }),
        _ => Err(errors.into_problem(instance)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::fields::KEPT_LISTS;
    use crate::common::params::pattern;
    use proptest::prelude::*;
    use serde_json::json;

    pattern!(KENTEKEN, r"^[A-Z0-9]{6}$", r"^[A-Z0-9]{6}$");

    static TYPES: [QueryType; 2] = [
        QueryType {
            name: "RaadpleegMetKenteken",
            parameter: "kenteken",
            lookup: Lookup::ByKey,
            key_pattern: &KENTEKEN,
            max_keys: 2,
        },
        QueryType::by_bsn("ZoekMetBurgerservicenummer"),
    ];

    fn paths() -> FieldPaths {
        FieldPaths::from_example(&json!({"kenteken": "AB12CD", "merk": "X"}))
    }

    fn names(problem: &Problem) -> Vec<(&str, &str)> {
        problem
            .invalid_params
            .iter()
            .map(|p| (p.name.as_str(), p.code.as_str()))
            .collect()
    }

    #[test]
    fn a_good_body_is_a_query() {
        let query = parse(
            &TYPES,
            5,
            &paths(),
            &CheckedFields::default(),
            &json!({"type": "RaadpleegMetKenteken", "kenteken": ["AB12CD"], "fields": ["merk"]}),
            "/x",
        )
        .unwrap();
        assert_eq!(query.kind.name, "RaadpleegMetKenteken");
        assert_eq!(query.values, ["AB12CD"]);
    }

    #[test]
    fn every_error_is_reported_once_with_its_name() {
        let problem = parse(
            &TYPES,
            5,
            &paths(),
            &CheckedFields::default(),
            &json!({"type": "RaadpleegMetKenteken", "kenteken": ["ab", "AB12CD", "x"], "fields": ["merk", "kleur"], "extra": 1}),
            "/x",
        )
        .unwrap_err();
        assert_eq!(
            names(&problem),
            [
                ("fields[1]", "fields"),
                ("kenteken", "maxItems"),
                ("extra", "unknownParam")
            ]
        );
        assert_eq!(problem.instance.as_deref(), Some("/x"));
        let problem = parse(
            &TYPES,
            5,
            &paths(),
            &CheckedFields::default(),
            &json!({"type": "ZoekMetBurgerservicenummer", "burgerservicenummer": ["999990007"]}),
            "/x",
        )
        .unwrap_err();
        assert_eq!(
            names(&problem),
            [("fields", "required"), ("burgerservicenummer", "string")]
        );
        let problem = parse(
            &TYPES,
            5,
            &paths(),
            &CheckedFields::default(),
            &json!({"type": "Zoek"}),
            "/x",
        )
        .unwrap_err();
        assert_eq!(names(&problem), [("type", "value")]);
    }

    #[test]
    fn a_list_that_passed_is_parsed_once_and_one_that_failed_is_checked_every_time() {
        let checked = CheckedFields::default();
        let ask = |fields: Value| {
            parse(
                &TYPES,
                5,
                &paths(),
                &checked,
                &json!({"type": "RaadpleegMetKenteken", "kenteken": ["AB12CD"], "fields": fields}),
                "/x",
            )
        };
        let first = ask(json!(["merk", "kenteken"])).unwrap();
        let again = ask(json!(["merk", "kenteken"])).unwrap();
        assert!(Arc::ptr_eq(&first.fields, &again.fields));
        assert_eq!(checked.kept(), 1);
        for _ in 0..2 {
            let problem = ask(json!(["merk", "kleur"])).unwrap_err();
            assert_eq!(names(&problem), [("fields[1]", "fields")]);
            let problem = ask(json!("merk")).unwrap_err();
            assert_eq!(names(&problem), [("fields", "array")]);
        }
        assert_eq!(checked.kept(), 1, "only lists that passed are kept");
        // The same characters split otherwise are another list, not the one kept.
        assert!(ask(json!(["merkkenteken"])).is_err());
    }

    #[test]
    fn no_client_can_make_the_kept_lists_grow_without_bound() {
        let checked = CheckedFields::default();
        let paths = FieldPaths::from_example(&Value::Object(
            (0..400).map(|i| (format!("v{i}"), json!(1))).collect(),
        ));
        for i in 0..400 {
            let body = json!({"type": "RaadpleegMetKenteken", "kenteken": ["AB12CD"], "fields": [format!("v{i}")]});
            parse(&TYPES, 5, &paths, &checked, &body, "/x").unwrap();
            assert!(checked.kept() <= KEPT_LISTS);
        }
    }

    proptest! {
        #[test]
        fn any_body_is_a_query_or_a_named_400(
            kind in prop::sample::select(vec!["RaadpleegMetKenteken", "ZoekMetBurgerservicenummer", "x"]),
            key in prop_oneof![Just(json!("AB12CD")), Just(json!(["AB12CD"])), Just(json!([])), Just(json!(7)), "\\PC{0,10}".prop_map(|s| json!([s]))],
            bsn in prop_oneof![Just(json!("999990007")), Just(json!(null)), "[0-9]{0,10}".prop_map(|s| json!(s))],
            fields in prop_oneof![Just(json!(["merk"])), Just(json!("merk")), Just(json!([])), Just(json!(["bla"]))],
        ) {
            let body = json!({"type": kind, "kenteken": key, "burgerservicenummer": bsn, "fields": fields});
            if let Err(problem) = parse(&TYPES, 5, &paths(), &CheckedFields::default(), &body, "/x") {
                prop_assert_eq!(problem.status, 400);
                prop_assert!(!problem.invalid_params.is_empty());
                let detail = problem.detail.unwrap_or_default();
                for param in &problem.invalid_params {
                    prop_assert!(detail.contains(&param.name));
                }
            }
        }
    }
}
