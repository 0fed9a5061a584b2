//! Parsing a `POST /personen` body into a query, with the errors exactly as Haal Centraal
//! words them. Every problem in the body is reported, once, in `invalidParams`.

use std::sync::Arc;

use loket_core::Problem;
use serde_json::Value;

use super::fields::{FieldSet, FieldTarget};
use super::record::{Datum, PersonRecord};
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

#[derive(Debug, Clone)]
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
