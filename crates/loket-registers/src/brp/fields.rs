//! The `fields` parameter: which dotted paths a client may ask for, and cutting a
//! response down to exactly those.

use std::collections::{BTreeMap, HashSet};
use std::sync::LazyLock;

use serde_json::{Map, Value};

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

/// Which person shape a query answers with: full (`Persoon`, for a lookup by BSN) or
/// limited (`PersoonBeperkt`, for searches).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldTarget {
    Persoon,
    PersoonBeperkt,
}

impl FieldTarget {
    fn allows(self, path: &str) -> bool {
        match self {
            Self::Persoon => PERSOON.contains(path),
            Self::PersoonBeperkt => PERSOON_BEPERKT.contains(path),
        }
    }
}

/// The requested paths as a tree: a node marked `whole` keeps everything beneath it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSet {
    whole: bool,
    children: BTreeMap<String, FieldSet>,
}

impl FieldSet {
    /// Parse the requested paths; on failure, the indexes of the paths that do not exist.
    pub fn parse(paths: &[&str], target: FieldTarget) -> Result<Self, Vec<usize>> {
        let bad: Vec<usize> = paths
            .iter()
            .enumerate()
            .filter(|(_, p)| !target.allows(p))
            .map(|(i, _)| i)
            .collect();
        if !bad.is_empty() {
            return Err(bad);
        }
        let mut root = Self::default();
        for path in paths {
            let mut node = &mut root;
            for segment in path.split('.') {
                node = node.children.entry(segment.to_owned()).or_default();
            }
            node.whole = true;
        }
        Ok(root)
    }

    /// Keep only what was asked for. Arrays are cut element by element; the `type` of a
    /// polymorphic object (verblijfplaats, nationaliteit, datum) is kept with any part of it,
    /// because without it the rest cannot be read.
    pub fn select(&self, value: &Value) -> Option<Value> {
        if self.whole {
            return Some(value.clone());
        }
        match value {
            Value::Object(object) => {
                // In the object's own order, so the answer reads like the full person.
                let mut kept = Map::new();
                let mut selected_any = false;
                for (key, value) in object {
                    if let Some(selected) =
                        self.children.get(key).and_then(|child| child.select(value))
                    {
                        kept.insert(key.clone(), selected);
                        selected_any = true;
                    } else if key == "type" {
                        kept.insert(key.clone(), value.clone());
                    }
                }
                selected_any.then_some(Value::Object(kept))
            }
            Value::Array(items) => {
                let kept: Vec<Value> = items.iter().filter_map(|item| self.select(item)).collect();
                (!kept.is_empty()).then_some(Value::Array(kept))
            }
            _ => None,
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
            FieldTarget::Persoon,
        )
        .unwrap();
        assert_eq!(
            fields.select(&person).unwrap(),
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
            FieldSet::parse(
                &["naam", "bestaatniet", "naam.bestaatniet"],
                FieldTarget::Persoon
            ),
            Err(vec![1, 2])
        );
    }
}
