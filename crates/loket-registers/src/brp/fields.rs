//! Which `fields` paths the BRP accepts, per answer shape.

use std::collections::HashSet;
use std::sync::LazyLock;

use crate::common::fields::CheckedFields;
pub(crate) use crate::common::fields::FieldSet;

/// Generated from the OpenAPI document by `scripts/brp-field-paths.py`.
static PERSOON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("fields_persoon.txt")
        .lines()
        .filter(|l| !l.is_empty())
        .collect()
});
static PERSOON_BEPERKT: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("fields_persoon_beperkt.txt")
        .lines()
        .filter(|l| !l.is_empty())
        .collect()
});

static CHECKED_PERSOON: LazyLock<CheckedFields> = LazyLock::new(CheckedFields::default);
static CHECKED_PERSOON_BEPERKT: LazyLock<CheckedFields> = LazyLock::new(CheckedFields::default);

/// Which person shape a query answers with: full (`Persoon`, for a lookup by BSN) or
/// limited (`PersoonBeperkt`, for searches).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldTarget {
    Persoon,
    PersoonBeperkt,
}

impl FieldTarget {
    pub(super) fn allows(self, path: &str) -> bool {
        match self {
            Self::Persoon => PERSOON.contains(path),
            Self::PersoonBeperkt => PERSOON_BEPERKT.contains(path),
        }
    }

    /// The `fields` lists that passed [`FieldTarget::allows`] for this shape before.
    pub(super) fn checked(self) -> &'static CheckedFields {
        match self {
            Self::Persoon => &CHECKED_PERSOON,
            Self::PersoonBeperkt => &CHECKED_PERSOON_BEPERKT,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_generated_lists_hold_the_usual_paths() {
        for path in [
            "burgerservicenummer",
            "naam.voornamen",
            "verblijfplaats.verblijfadres.postcode",
            "partners.naam.voornamen",
            "leeftijd",
        ] {
            assert!(FieldTarget::Persoon.allows(path), "{path}");
        }
        assert!(FieldTarget::PersoonBeperkt.allows("naam.geslachtsnaam"));
        assert!(
            !FieldTarget::PersoonBeperkt.allows("verblijfplaats"),
            "searches answer without an address"
        );
        for forbidden in [
            "inOnderzoek",
            "naam.inOnderzoek",
            "geheimhoudingPersoonsgegevens",
            "rni",
            "verificatie",
            "opschortingBijhouding",
        ] {
            assert!(
                !FieldTarget::Persoon.allows(forbidden),
                "{forbidden} is delivered automatically"
            );
        }
    }

    #[test]
    fn selects_paths_groups_and_through_arrays() {
        let person = json!({
            "burgerservicenummer": "999993653",
            "naam": {"voornamen": "Jan", "geslachtsnaam": "Vries", "voorvoegsel": "de"},
            "verblijfplaats": {"type": "Adres", "verblijfadres": {"postcode": "1234AB", "huisnummer": 1}},
            "partners": [{"naam": {"voornamen": "Els", "geslachtsnaam": "Bakker"}}, {"burgerservicenummer": "1"}],
            "nationaliteiten": [{"type": "Nationaliteit", "nationaliteit": {"code": "0001"}}]
        });
        let fields = FieldSet::parse(
            &[
                "naam.voornamen",
                "verblijfplaats.verblijfadres.postcode",
                "partners.naam.voornamen",
                "nationaliteiten",
            ],
            |p| FieldTarget::Persoon.allows(p),
        )
        .unwrap();
        assert_eq!(
            fields.select(person).unwrap(),
            json!({
                "naam": {"voornamen": "Jan"},
                "verblijfplaats": {"type": "Adres", "verblijfadres": {"postcode": "1234AB"}},
                "partners": [{"naam": {"voornamen": "Els"}}],
                "nationaliteiten": [{"type": "Nationaliteit", "nationaliteit": {"code": "0001"}}]
            })
        );
    }

    #[test]
    fn unknown_paths_are_reported_by_index() {
        assert_eq!(
            FieldSet::parse(&["naam", "bestaatniet", "naam.bestaatniet"], |p| {
                FieldTarget::Persoon.allows(p)
            }),
            Err(vec![1, 2])
        );
    }
}
