//! Parsing a `POST /personen` body into a query, with the errors exactly as Haal Centraal
//! words them. Every problem in the body is reported, once, in `invalidParams`.

use std::sync::Arc;

use loket_core::Problem;
use serde_json::Value;

use super::fields::{FieldSet, FieldTarget};
use super::record::{Datum, PersonRecord};
use crate::common::fields::CheckedFields;
use crate::common::params::{self, BSN, Errors, REQUIRED, pattern};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryKind {
    RaadpleegMetBurgerservicenummer,
    ZoekMetGeslachtsnaamEnGeboortedatum,
    ZoekMetPostcodeEnHuisnummer,
    ZoekMetNaamEnGemeenteVanInschrijving,
}

impl QueryKind {
    pub(super) const ALL: [Self; 4] = [
        Self::RaadpleegMetBurgerservicenummer,
        Self::ZoekMetGeslachtsnaamEnGeboortedatum,
        Self::ZoekMetPostcodeEnHuisnummer,
        Self::ZoekMetNaamEnGemeenteVanInschrijving,
    ];

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "RaadpleegMetBurgerservicenummer" => Some(Self::RaadpleegMetBurgerservicenummer),
            "ZoekMetGeslachtsnaamEnGeboortedatum" => {
                Some(Self::ZoekMetGeslachtsnaamEnGeboortedatum)
            }
            "ZoekMetPostcodeEnHuisnummer" => Some(Self::ZoekMetPostcodeEnHuisnummer),
            "ZoekMetNaamEnGemeenteVanInschrijving" => {
                Some(Self::ZoekMetNaamEnGemeenteVanInschrijving)
            }
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::RaadpleegMetBurgerservicenummer => "RaadpleegMetBurgerservicenummer",
            Self::ZoekMetGeslachtsnaamEnGeboortedatum => "ZoekMetGeslachtsnaamEnGeboortedatum",
            Self::ZoekMetPostcodeEnHuisnummer => "ZoekMetPostcodeEnHuisnummer",
            Self::ZoekMetNaamEnGemeenteVanInschrijving => "ZoekMetNaamEnGemeenteVanInschrijving",
        }
    }

    /// The parameters this query type accepts besides `type` and `fields`, with whether
    /// each is required, in the order they are checked and reported.
    pub(super) fn parameters(self) -> &'static [(&'static str, bool)] {
        match self {
            Self::RaadpleegMetBurgerservicenummer => &[
                ("burgerservicenummer", true),
                ("gemeenteVanInschrijving", false),
            ],
            Self::ZoekMetGeslachtsnaamEnGeboortedatum => &[
                ("geboortedatum", true),
                ("geslachtsnaam", true),
                ("geslacht", false),
                ("voorvoegsel", false),
                ("voornamen", false),
                ("gemeenteVanInschrijving", false),
                ("inclusiefOverledenPersonen", false),
            ],
            Self::ZoekMetPostcodeEnHuisnummer => &[
                ("postcode", true),
                ("huisnummer", true),
                ("huisletter", false),
                ("huisnummertoevoeging", false),
                ("geboortedatum", false),
                ("geslachtsnaam", false),
                ("gemeenteVanInschrijving", false),
                ("inclusiefOverledenPersonen", false),
            ],
            Self::ZoekMetNaamEnGemeenteVanInschrijving => &[
                ("geslachtsnaam", true),
                ("voornamen", true),
                ("gemeenteVanInschrijving", true),
                ("geslacht", false),
                ("voorvoegsel", false),
                ("inclusiefOverledenPersonen", false),
            ],
        }
    }

    pub fn field_target(self) -> FieldTarget {
        match self {
            Self::RaadpleegMetBurgerservicenummer => FieldTarget::Persoon,
            _ => FieldTarget::PersoonBeperkt,
        }
    }
}

/// Case-insensitive text: whole value, or (with a trailing `*`) a prefix. Kept lowercase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextMatch {
    Exact(String),
    Prefix(String),
}

impl TextMatch {
    fn parse(text: &str) -> Self {
        match text.strip_suffix('*') {
            Some(prefix) => Self::Prefix(prefix.to_lowercase()),
            None => Self::Exact(text.to_lowercase()),
        }
    }

    pub fn matches(&self, value: &str) -> bool {
        let value = value.to_lowercase();
        match self {
            Self::Exact(wanted) => value == *wanted,
            Self::Prefix(prefix) => value.starts_with(prefix.as_str()),
        }
    }
}

/// Who to look for. Every field narrows; the store uses the indexed ones, and
/// [`PersonFilter::matches`] is the single definition of what matches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonFilter {
    pub burgerservicenummers: Vec<String>,
    pub geslachtsnaam: Option<TextMatch>,
    pub voornamen: Option<TextMatch>,
    pub voorvoegsel: Option<String>,
    pub geslacht: Option<String>,
    pub geboortedatum: Option<Datum>,
    /// Normalised: no space, capitals.
    pub postcode: Option<String>,
    pub huisnummer: Option<u32>,
    pub huisletter: Option<String>,
    pub huisnummertoevoeging: Option<String>,
    pub gemeente_van_inschrijving: Option<String>,
    pub inclusief_overleden: bool,
}

impl PersonFilter {
    pub fn matches(&self, person: &PersonRecord) -> bool {
        let lower_eq = |wanted: &Option<String>, actual: Option<&str>| match wanted {
            None => true,
            Some(wanted) => actual.is_some_and(|a| a.to_lowercase() == wanted.to_lowercase()),
        };
        let address = person.verblijfplaats.as_ref();
        (self.burgerservicenummers.is_empty()
            || self
                .burgerservicenummers
                .contains(&person.burgerservicenummer))
            && (self.inclusief_overleden || person.overlijden.is_none())
            && self
                .geslachtsnaam
                .as_ref()
                .is_none_or(|m| m.matches(&person.naam.geslachtsnaam))
            && self
                .voornamen
                .as_ref()
                .is_none_or(|m| m.matches(&person.naam.voornamen))
            && lower_eq(&self.voorvoegsel, person.naam.voorvoegsel.as_deref())
            && lower_eq(&self.geslacht, Some(person.geslacht.code()))
            && self
                .geboortedatum
                .is_none_or(|d| d == person.geboorte.datum)
            && self
                .postcode
                .as_ref()
                .is_none_or(|p| address.is_some_and(|a| a.postcode == *p))
            && self
                .huisnummer
                .is_none_or(|n| address.is_some_and(|a| a.huisnummer == n))
            && lower_eq(
                &self.huisletter,
                address.and_then(|a| a.huisletter.as_deref()),
            )
            && lower_eq(
                &self.huisnummertoevoeging,
                address.and_then(|a| a.huisnummertoevoeging.as_deref()),
            )
            && self
                .gemeente_van_inschrijving
                .as_ref()
                .is_none_or(|g| person.gemeente_van_inschrijving.code == *g)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonenQuery {
    pub kind: QueryKind,
    pub filter: PersonFilter,
    pub fields: Arc<FieldSet>,
}

pattern!(GEMEENTE, r"^[0-9]{4}$", r"^[0-9]{4}$");
pattern!(
    GESLACHTSNAAM,
    r"^[a-zA-Z0-9À-ž \.\-\']{1,200}$|^[a-zA-Z0-9À-ž \.\-\']{3,199}\*{1}$",
    r"^[a-zA-Z0-9À-ž .\-']{1,200}$|^[a-zA-Z0-9À-ž .\-']{3,199}\*$"
);
pattern!(
    VOORNAMEN_VERPLICHT,
    r"^[a-zA-Z0-9À-ž \.\-\']{1,200}$|^[a-zA-Z0-9À-ž \.\-\']{3,199}\*{1}$",
    r"^[a-zA-Z0-9À-ž .\-']{1,200}$|^[a-zA-Z0-9À-ž .\-']{3,199}\*$"
);
pattern!(
    VOORNAMEN_OPTIONEEL,
    r"^[a-zA-Z0-9À-ž \.\-\']{1,199}\*{0,1}$",
    r"^[a-zA-Z0-9À-ž .\-']{1,199}\*?$"
);
pattern!(VOORVOEGSEL, r"^[a-zA-Z \']{1,10}$", r"^[a-zA-Z ']{1,10}$");
pattern!(GESLACHT, r"^([Mm]|[Vv]|[Oo])$", r"^([Mm]|[Vv]|[Oo])$");
pattern!(
    POSTCODE,
    r"^[1-9]{1}[0-9]{3}[ ]?[A-Za-z]{2}$",
    r"^[1-9][0-9]{3} ?[A-Za-z]{2}$"
);
pattern!(HUISLETTER, r"^[a-zA-Z]{1}$", r"^[a-zA-Z]$");
pattern!(
    TOEVOEGING,
    r"^[a-zA-Z0-9 \-]{1,4}$",
    r"^[a-zA-Z0-9 \-]{1,4}$"
);

/// The request nearly every call is, read straight from the body's bytes: a lookup by
/// BSN, nothing but `type`, `burgerservicenummer` and a `fields` list that passed the
/// checks before. Building a `serde_json::Value` of the body (a map, a string per path)
/// was about a tenth of a lookup. `None` for anything else, however slight the
/// difference (another key, a key twice, an escaped string, a list not seen yet): the
/// general path ([`parse`]) reads that and words what is wrong, and a property test holds
/// this one to the same query wherever it gives one.
pub(super) fn parse_plain(body: &[u8]) -> Option<PersonenQuery> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Plain<'a> {
        #[serde(rename = "type", borrow)]
        kind: &'a str,
        #[serde(borrow)]
        burgerservicenummer: Vec<&'a str>,
        #[serde(borrow)]
        fields: Vec<&'a str>,
    }
    let plain: Plain<'_> = serde_json::from_slice(body).ok()?;
    let kind = QueryKind::RaadpleegMetBurgerservicenummer;
    if plain.kind != kind.name() || !(1..=20).contains(&plain.burgerservicenummer.len()) {
        return None;
    }
    let nine_digits = |bsn: &&str| bsn.len() == 9 && bsn.bytes().all(|b| b.is_ascii_digit());
    if !plain.burgerservicenummer.iter().all(nine_digits) {
        return None;
    }
    let fields = kind
        .field_target()
        .checked()
        .get(&CheckedFields::key_of_paths(&plain.fields)?)?;
    Some(PersonenQuery {
        kind,
        filter: PersonFilter {
            burgerservicenummers: plain
                .burgerservicenummer
                .into_iter()
                .map(str::to_owned)
                .collect(),
            // As `parse`: a lookup by BSN finds the deceased too.
            inclusief_overleden: true,
            ..PersonFilter::default()
        },
        fields,
    })
}

/// Read a request body into a query, or into the problem Haal Centraal would answer.
pub(super) fn parse(body: &Value, instance: &str) -> Result<PersonenQuery, Problem> {
    let object = params::object(body, instance)?;
    let mut errors = Errors::default();
    let Some(kind) = errors.query_type(object, QueryKind::from_name) else {
        return Err(errors.into_problem(instance));
    };
    let target = kind.field_target();
    let fields = errors.fields(object, 130, |p| target.allows(p), target.checked());

    let mut filter = PersonFilter::default();
    for (name, required) in kind.parameters() {
        let Some(value) = object.get(*name) else {
            if *required {
                errors.add(*name, "required", REQUIRED);
            }
            continue;
        };
        read_parameter(&mut errors, &mut filter, kind, name, value);
    }

    // A lookup by BSN finds the deceased too; only searches leave them out by default.
    if kind == QueryKind::RaadpleegMetBurgerservicenummer {
        filter.inclusief_overleden = true;
    }

    let known = |key: &str| {
        key == "type" || key == "fields" || kind.parameters().iter().any(|(name, _)| *name == key)
    };
    let unknown: Vec<&String> = object.keys().filter(|key| !known(key)).collect();
    for key in unknown {
        errors.add(key.as_str(), "unknownParam", "Parameter is niet verwacht.");
    }

    match fields {
        Some(fields) if errors.is_empty() => Ok(PersonenQuery {
            kind,
            filter,
            fields,
        }),
        _ => Err(errors.into_problem(instance)),
    }
}

fn read_parameter(
    errors: &mut Errors,
    filter: &mut PersonFilter,
    kind: QueryKind,
    name: &str,
    value: &Value,
) {
    match name {
        "burgerservicenummer" => {
            if let Some(bsns) = errors.string_array(name, value, 20, &BSN) {
                filter.burgerservicenummers = bsns.into_iter().map(str::to_owned).collect();
            }
        }
        "gemeenteVanInschrijving" => {
            filter.gemeente_van_inschrijving =
                errors.string(name, value, &GEMEENTE).map(str::to_owned);
        }
        "geslachtsnaam" => {
            filter.geslachtsnaam = errors
                .string(name, value, &GESLACHTSNAAM)
                .map(TextMatch::parse);
        }
        "voornamen" => {
            let pattern = if kind == QueryKind::ZoekMetNaamEnGemeenteVanInschrijving {
                &VOORNAMEN_VERPLICHT
            } else {
                &VOORNAMEN_OPTIONEEL
            };
            filter.voornamen = errors.string(name, value, pattern).map(TextMatch::parse);
        }
        "voorvoegsel" => {
            filter.voorvoegsel = errors
                .string(name, value, &VOORVOEGSEL)
                .map(str::to_lowercase);
        }
        "geslacht" => {
            filter.geslacht = errors.string(name, value, &GESLACHT).map(str::to_uppercase);
        }
        "geboortedatum" => match value.as_str().and_then(Datum::parse) {
            Some(datum) => filter.geboortedatum = Some(datum),
            None => errors.add(name, "date", "Waarde is geen geldige datum."),
        },
        "postcode" => {
            filter.postcode = errors
                .string(name, value, &POSTCODE)
                .map(|p| p.replace(' ', "").to_uppercase());
        }
        "huisnummer" => match value.as_i64() {
            None => errors.add(name, "integer", "Waarde is geen geldig getal."),
            Some(n) if n < 1 => errors.add(name, "minimum", "Waarde is lager dan minimum 1."),
            Some(n) if n > 99_999 => {
                errors.add(name, "maximum", "Waarde is hoger dan maximum 99999.");
            }
            Some(n) => filter.huisnummer = u32::try_from(n).ok(),
        },
        "huisletter" => {
            filter.huisletter = errors.string(name, value, &HUISLETTER).map(str::to_owned);
        }
        "huisnummertoevoeging" => {
            filter.huisnummertoevoeging =
                errors.string(name, value, &TOEVOEGING).map(str::to_owned);
        }
        "inclusiefOverledenPersonen" => match value.as_bool() {
            Some(flag) => filter.inclusief_overleden = flag,
            None => errors.add(name, "boolean", "Waarde is geen boolean."),
        },
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::params::FIELD;
    use proptest::prelude::*;
    use serde_json::json;

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "[0-9]{9}".prop_map(Value::from),
            "\\PC{0,12}".prop_map(Value::from),
            prop::sample::select(vec![
                "naam",
                "leeftijd",
                "verblijfplaats",
                "1234AB",
                "Vries*",
                "1985-03-14"
            ])
            .prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop::sample::select(vec![
                        "type",
                        "fields",
                        "burgerservicenummer",
                        "geslachtsnaam",
                        "geboortedatum",
                        "postcode",
                        "huisnummer",
                        "voornamen",
                        "gemeenteVanInschrijving",
                        "inclusiefOverledenPersonen",
                        "x",
                    ])
                    .prop_map(str::to_owned),
                    inner,
                    0..6,
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn query_type() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "RaadpleegMetBurgerservicenummer",
            "ZoekMetGeslachtsnaamEnGeboortedatum",
            "ZoekMetPostcodeEnHuisnummer",
            "ZoekMetNaamEnGemeenteVanInschrijving",
        ])
    }

    proptest! {
        /// Whatever arrives, the answer is a query or a 400 that names at least one parameter.
        #[test]
        fn any_body_is_a_query_or_a_named_400(body in json_value(), kind in query_type(), with_type: bool) {
            let mut body = body;
            if with_type && let Value::Object(object) = &mut body {
                object.insert("type".into(), json!(kind));
            }
            if let Err(problem) = parse(&body, "/personen") {
                prop_assert_eq!(problem.status, 400);
                prop_assert!(!problem.invalid_params.is_empty());
                let detail = problem.detail.unwrap_or_default();
                for param in &problem.invalid_params {
                    prop_assert!(detail.contains(&param.name));
                }
            }
        }
    }

    /// JSON text for the plain path: the usual request and near misses of it, written
    /// by hand so that keys can repeat and strings can be escaped.
    fn plain_like_body() -> impl Strategy<Value = String> {
        let kind = prop_oneof![
            4 => Just("RaadpleegMetBurgerservicenummer".to_owned()),
            1 => Just("ZoekMetPostcodeEnHuisnummer".to_owned()),
            1 => "[0-9a-zA-Z ]{0,12}",
        ];
        let bsn = prop_oneof![
            12 => "[0-9]{9}",
            1 => "[0-9]{8}|[0-9]{10}",
            1 => Just("99999000\\u0037".to_owned()),
            1 => Just("\\u0039".repeat(9)),
            1 => "[0-9a-z ]{0,10}",
        ];
        let bsns = prop_oneof![
            4 => prop::collection::vec(bsn.clone(), 1..4),
            1 => prop::collection::vec(bsn, 0..23),
        ]
        .prop_map(|items| {
            let items: Vec<String> = items.iter().map(|b| format!("\"{b}\"")).collect();
            format!("[{}]", items.join(","))
        });
        let fields = prop_oneof![
            4 => prop::sample::select(vec![
                r#"["naam","verblijfplaats"]"#,
                r#"["naam.voornamen","leeftijd"]"#,
            ]),
            1 => prop::sample::select(vec![
                r#"["naam","bestaatniet"]"#,
                r#"["naam","na\u0061m.voornamen"]"#,
                r#"[]"#,
                r#""naam""#,
                r#"null"#,
            ]),
        ];
        let extra = prop::sample::select(vec![
            r#""gemeenteVanInschrijving":"0363""#,
            r#""geslachtsnaam":"Vries""#,
            r#""type":"RaadpleegMetBurgerservicenummer""#,
            r#""burgerservicenummer":["999990007"]"#,
            r#""fields":["naam","verblijfplaats"]"#,
            r#""type":null"#,
        ]);
        let extras = prop_oneof![3 => Just(Vec::new()), 1 => prop::collection::vec(extra, 1..3)];
        let dropped = prop_oneof![5 => Just(None), 1 => (0usize..3).prop_map(Some)];
        (kind, bsns, fields, extras, dropped)
            .prop_flat_map(|(kind, bsns, fields, extras, dropped)| {
                let mut members = vec![
                    format!("\"type\":\"{kind}\""),
                    format!("\"burgerservicenummer\":{bsns}"),
                    format!("\"fields\":{fields}"),
                ];
                if let Some(index) = dropped {
                    members.remove(index);
                }
                members.extend(extras.iter().map(|extra| (*extra).to_owned()));
                Just(members).prop_shuffle()
            })
            .prop_map(|members| format!("{{{}}}", members.join(",")))
    }

    /// Lists the plain path may find kept: parsed once through the general path.
    fn keep_field_lists() {
        for fields in [
            json!(["naam", "verblijfplaats"]),
            json!(["naam.voornamen", "leeftijd"]),
        ] {
            let body = json!({
                "type": "RaadpleegMetBurgerservicenummer",
                "burgerservicenummer": ["999990007"],
                "fields": fields,
            });
            assert!(parse(&body, "/personen").is_ok());
        }
    }

    proptest! {
        /// Wherever the plain path gives a query, the general path gives the same one.
        #[test]
        fn the_plain_path_agrees_with_the_general_one(body in plain_like_body()) {
            keep_field_lists();
            if let Some(plain) = parse_plain(body.as_bytes()) {
                let value: Value = serde_json::from_str(&body).expect("the plain path read JSON");
                prop_assert_eq!(parse(&value, "/personen"), Ok(plain));
                PLAIN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }

    /// How many generated bodies took the plain path (it must be exercised).
    static PLAIN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    #[test]
    fn generated_bodies_take_the_plain_path_often_enough_to_test_it() {
        // The property test above runs its cases inside this one call.
        the_plain_path_agrees_with_the_general_one();
        assert!(
            PLAIN.load(std::sync::atomic::Ordering::Relaxed) >= 10,
            "only {} of the generated bodies took the plain path",
            PLAIN.load(std::sync::atomic::Ordering::Relaxed)
        );
    }

    #[test]
    fn the_usual_lookup_takes_the_plain_path_once_its_fields_were_checked() {
        let body = br#"{"type":"RaadpleegMetBurgerservicenummer","burgerservicenummer":["999990007","999990019"],"fields":["naam.voornamen","leeftijd","geboorte"]}"#;
        let value: Value = serde_json::from_slice(body).unwrap();
        let general = parse(&value, "/personen").unwrap();
        assert_eq!(parse_plain(body), Some(general));
        // Not the plain path: another key, a key twice, an escape, a list never checked.
        for other in [
            r#"{"type":"RaadpleegMetBurgerservicenummer","burgerservicenummer":["999990007"],"fields":["naam.voornamen","leeftijd","geboorte"],"gemeenteVanInschrijving":"0363"}"#,
            r#"{"type":"RaadpleegMetBurgerservicenummer","burgerservicenummer":["999990007"],"burgerservicenummer":["999990019"],"fields":["naam.voornamen","leeftijd","geboorte"]}"#,
            r#"{"type":"RaadpleegMetBurgerservicenummer","burgerservicenummer":["99999000\u0037"],"fields":["naam.voornamen","leeftijd","geboorte"]}"#,
            r#"{"type":"RaadpleegMetBurgerservicenummer","burgerservicenummer":["999990007"],"fields":["geboorte","naam.voornamen","leeftijd"]}"#,
        ] {
            assert_eq!(parse_plain(other.as_bytes()), None, "{other}");
        }
    }

    #[test]
    fn every_pattern_compiles() {
        for pattern in [
            &BSN,
            &GEMEENTE,
            &FIELD,
            &GESLACHTSNAAM,
            &VOORNAMEN_VERPLICHT,
            &VOORNAMEN_OPTIONEEL,
            &VOORVOEGSEL,
            &GESLACHT,
            &POSTCODE,
            &HUISLETTER,
            &TOEVOEGING,
        ] {
            assert!(pattern.regex.is_some(), "{}", pattern.shown);
        }
        assert!(GESLACHTSNAAM.is_match("’t Hooft".replace('’', "'").as_str()));
        assert!(GESLACHTSNAAM.is_match("Çelik"));
        assert!(
            !GESLACHTSNAAM.is_match("Vr*"),
            "a wildcard needs three letters"
        );
        assert!(POSTCODE.is_match("1234 ab") && !POSTCODE.is_match("0123AB"));
    }
}
