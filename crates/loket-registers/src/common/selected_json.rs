//! Writing an answer as JSON bytes directly, keeping only what a [`FieldSet`] selects.
//!
//! Same result as building the whole answer as a `serde_json::Value` and cutting it with
//! [`FieldSet::select`] (the tests hold it to that), without the maps: building, cutting
//! and serialising them was 16% of a BRP lookup's CPU (5% written this way). A member nobody asked
//! for is not written; an object or array that ends up empty is taken back out.

use serde::Serialize;

use super::fields::FieldSet;

/// An object being written. Members go out in the order they are written.
pub(crate) struct Object<'a> {
    out: &'a mut Vec<u8>,
    fields: &'a FieldSet,
    /// Nothing written inside the braces yet (no comma before the next member).
    first: bool,
    /// A member the field set asked for was written (a bare `type` does not count).
    kept: bool,
}

impl<'a> Object<'a> {
    /// Write a whole top-level object: `{` … `}`, `{}` when nothing in it was asked for.
    pub(crate) fn write(
        out: &'a mut Vec<u8>,
        fields: &'a FieldSet,
        members: impl FnOnce(&mut Self),
    ) {
        out.push(b'{');
        let mut object = Object {
            out,
            fields,
            first: true,
            kept: false,
        };
        members(&mut object);
        object.out.push(b'}');
    }

    /// A string, number or boolean member.
    pub(crate) fn value(&mut self, key: &str, value: impl Serialize) {
        if self.wants(key) {
            self.key(key);
            write_value(self.out, value);
            self.kept = true;
        }
    }

    /// Whether `key` would be written: to skip computing a value nobody asked for.
    pub(crate) fn wants(&self, key: &str) -> bool {
        self.fields.child(key).is_some_and(FieldSet::is_whole)
    }

    /// The `type` of a polymorphic object: kept with any part of it (without it the rest
    /// cannot be read), but not a reason to keep the object by itself.
    pub(crate) fn type_tag(&mut self, value: &str) {
        let asked = self.fields.child("type").is_some();
        self.key("type");
        write_value(self.out, value);
        self.kept |= asked;
    }

    /// A nested object, written only if something in it is asked for.
    pub(crate) fn object(&mut self, key: &str, members: impl FnOnce(&mut Object<'_>)) {
        let Some(fields) = self.fields.child(key) else {
            return;
        };
        let (rollback, first) = (self.out.len(), self.first);
        self.key(key);
        if self.nested(fields, members) {
            self.kept = true;
        } else {
            self.out.truncate(rollback);
            self.first = first;
        }
    }

    /// An array of objects; items with nothing asked for are left out, and the array too
    /// when no item is left. `whole` keeps every item.
    pub(crate) fn array<T>(&mut self, key: &str, items: &[T], item: impl Fn(&mut Object<'_>, &T)) {
        let Some(fields) = self.fields.child(key) else {
            return;
        };
        let (rollback, first) = (self.out.len(), self.first);
        self.key(key);
        self.out.push(b'[');
        let mut any = false;
        for value in items {
            let before = self.out.len();
            if any {
                self.out.push(b',');
            }
            if self.nested(fields, |object| item(object, value)) {
                any = true;
            } else {
                self.out.truncate(before);
            }
        }
        if any || fields.is_whole() {
            self.out.push(b']');
            self.kept = true;
        } else {
            self.out.truncate(rollback);
            self.first = first;
        }
    }

    /// Write `{…}` for `fields` at the end of the output; whether it is to be kept.
    fn nested(&mut self, fields: &FieldSet, members: impl FnOnce(&mut Object<'_>)) -> bool {
        self.out.push(b'{');
        let mut object = Object {
            out: self.out,
            fields,
            first: true,
            kept: false,
        };
        members(&mut object);
        let kept = object.kept || fields.is_whole();
        self.out.push(b'}');
        kept
    }

    fn key(&mut self, key: &str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        write_value(self.out, key);
        self.out.push(b':');
    }
}

fn write_value(out: &mut Vec<u8>, value: impl Serialize) {
    // Into a Vec nothing can fail but a value that is not JSON (a map with non-string
    // keys), which the callers never pass.
    let _ = serde_json::to_writer(out, &value);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::{Value, json};

    use super::*;

    /// A nested answer written with the writer, for any field set.
    fn write(fields: &FieldSet) -> Value {
        let mut out = Vec::new();
        Object::write(&mut out, fields, |o| {
            o.value("nummer", "999990007");
            o.value("leeftijd", 41);
            o.object("verblijfplaats", |o| {
                o.type_tag("Adres");
                o.object("verblijfadres", |o| {
                    o.value("straat", "Kerkstraat \"oud\"");
                    o.value("huisnummer", 12);
                });
                o.object("datumVan", |o| {
                    o.type_tag("Datum");
                    o.value("datum", "2020-05-01");
                });
            });
            o.array("partners", &["Els", "Piet"], |o, naam| {
                o.value("naam", naam);
                o.object("leeg", |_| {});
            });
            o.array("kinderen", &[] as &[&str], |o, naam| o.value("naam", naam));
        });
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn cuts_exactly_as_select_cuts_the_whole_answer() {
        let full = write(&FieldSet::everything());
        assert_eq!(
            full["verblijfplaats"]["verblijfadres"]["straat"],
            "Kerkstraat \"oud\""
        );
        let paths = [
            "nummer",
            "leeftijd",
            "verblijfplaats",
            "verblijfplaats.type",
            "verblijfplaats.verblijfadres",
            "verblijfplaats.verblijfadres.straat",
            "verblijfplaats.datumVan.datum",
            "verblijfplaats.verblijfadres.huisletter",
            "partners",
            "partners.naam",
            "partners.leeg",
            "kinderen",
            "kinderen.naam",
            "nummer.bestaatniet",
        ];
        // Every subset of the paths, as a bit mask.
        for mask in 0u32..(1 << paths.len()) {
            let chosen: Vec<&str> = (0..paths.len())
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| paths[i])
                .collect();
            let fields = FieldSet::parse(&chosen, |_| true).unwrap();
            let expected = fields.select(full.clone()).unwrap_or_else(|| json!({}));
            assert_eq!(write(&fields), expected, "{chosen:?}");
        }
    }
}
