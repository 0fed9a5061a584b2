//! From the register's record to the Haal Centraal shapes `Persoon` and `PersoonBeperkt`.

use serde_json::{Map, Value, json};
use time::Date;

use super::fields::FieldTarget;
use super::record::{Adres, Datum, Geboorte, Naam, PersonRecord, Relative, Waarde};

/// The person in the shape `target`, with only the top-level members `wants` accepts
/// (the rest would be cut by `fields` anyway; building them is most of the work).
pub(super) fn person(
    record: &PersonRecord,
    target: FieldTarget,
    today: Date,
    wants: impl Fn(&str) -> bool,
) -> Value {
    let mut out = Map::new();
    if wants("burgerservicenummer") {
        out.insert(
            "burgerservicenummer".into(),
            json!(record.burgerservicenummer),
        );
    }
    if wants("geslacht") {
        out.insert(
            "geslacht".into(),
            json!({"code": record.geslacht.code(), "omschrijving": record.geslacht.omschrijving()}),
        );
    }
    // Age is only meaningful for the living; BRP leaves it out for the deceased.
    if record.overlijden.is_none() && wants("leeftijd") {
        out.insert(
            "leeftijd".into(),
            json!(record.geboorte.datum.years_until(today)),
        );
    }
    match target {
        FieldTarget::PersoonBeperkt => {
            if wants("naam") {
                out.insert("naam".into(), Value::Object(naam_basis(&record.naam, true)));
            }
            if wants("geboorte") {
                out.insert(
                    "geboorte".into(),
                    json!({"datum": datum(record.geboorte.datum)}),
                );
            }
        }
        FieldTarget::Persoon => {
            if wants("naam") {
                let mut naam = naam_basis(&record.naam, true);
                naam.insert(
                    "aanduidingNaamgebruik".into(),
                    json!({"code": "E", "omschrijving": "eigen geslachtsnaam"}),
                );
                out.insert("naam".into(), Value::Object(naam));
            }
            if wants("geboorte") {
                out.insert("geboorte".into(), geboorte(&record.geboorte));
            }
            if !record.nationaliteiten.is_empty() && wants("nationaliteiten") {
                let list: Vec<Value> = record
                    .nationaliteiten
                    .iter()
                    .map(|n| json!({"type": "Nationaliteit", "nationaliteit": waarde(n)}))
                    .collect();
                out.insert("nationaliteiten".into(), Value::Array(list));
            }
            if let Some(adres) = &record.verblijfplaats
                && wants("verblijfplaats")
            {
                out.insert("verblijfplaats".into(), verblijfplaats(adres));
            }
            if wants("gemeenteVanInschrijving") {
                out.insert(
                    "gemeenteVanInschrijving".into(),
                    waarde(&record.gemeente_van_inschrijving),
                );
            }
            if wants("datumInschrijvingInGemeente") {
                out.insert(
                    "datumInschrijvingInGemeente".into(),
                    datum(record.datum_inschrijving_in_gemeente),
                );
            }
            for (key, relatives, shape) in [
                (
                    "partners",
                    &record.partners,
                    partner as fn(&Relative) -> Value,
                ),
                ("ouders", &record.ouders, ouder),
                ("kinderen", &record.kinderen, kind),
            ] {
                if wants(key) {
                    insert_relatives(&mut out, key, relatives, shape);
                }
            }
            if let Some(overlijden) = &record.overlijden
                && wants("overlijden")
            {
                out.insert(
                    "overlijden".into(),
                    json!({"datum": datum(overlijden.datum), "plaats": waarde(&overlijden.plaats), "land": waarde(&overlijden.land)}),
                );
            }
        }
    }
    Value::Object(out)
}

fn verblijfplaats(adres: &Adres) -> Value {
    let mut verblijfadres = Map::new();
    verblijfadres.insert("officieleStraatnaam".into(), json!(adres.straat));
    verblijfadres.insert(
        "korteStraatnaam".into(),
        json!(adres.straat.chars().take(24).collect::<String>()),
    );
    verblijfadres.insert("huisnummer".into(), json!(adres.huisnummer));
    if let Some(letter) = &adres.huisletter {
        verblijfadres.insert("huisletter".into(), json!(letter));
    }
    if let Some(toevoeging) = &adres.huisnummertoevoeging {
        verblijfadres.insert("huisnummertoevoeging".into(), json!(toevoeging));
    }
    verblijfadres.insert("postcode".into(), json!(adres.postcode));
    verblijfadres.insert("woonplaats".into(), json!(adres.woonplaats));
    json!({"type": "Adres", "verblijfadres": verblijfadres, "datumVan": datum(adres.datum_van)})
}

fn insert_relatives(
    out: &mut Map<String, Value>,
    key: &str,
    relatives: &[Relative],
    shape: fn(&Relative) -> Value,
) {
    if !relatives.is_empty() {
        out.insert(
            key.into(),
            Value::Array(relatives.iter().map(shape).collect()),
        );
    }
}

pub(super) fn datum(datum: Datum) -> Value {
    json!({"type": "Datum", "datum": datum.iso(), "langFormaat": datum.lang_formaat()})
}

fn waarde(waarde: &Waarde) -> Value {
    json!({"code": waarde.code, "omschrijving": waarde.omschrijving})
}

fn geboorte(geboorte: &Geboorte) -> Value {
    json!({"datum": datum(geboorte.datum), "plaats": waarde(&geboorte.plaats), "land": waarde(&geboorte.land)})
}

/// Voorletters: the first letter of each first name, each followed by a full stop.
fn voorletters(voornamen: &str) -> String {
    voornamen
        .split_whitespace()
        .filter_map(|name| name.chars().next())
        .map(|c| format!("{c}."))
        .collect()
}

fn naam_basis(naam: &Naam, with_full_name: bool) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("voornamen".into(), json!(naam.voornamen));
    if let Some(voorvoegsel) = &naam.voorvoegsel {
        out.insert("voorvoegsel".into(), json!(voorvoegsel));
    }
    out.insert("geslachtsnaam".into(), json!(naam.geslachtsnaam));
    out.insert("voorletters".into(), json!(voorletters(&naam.voornamen)));
    if let Some(titel) = &naam.adellijke_titel_predicaat {
        out.insert(
            "adellijkeTitelPredicaat".into(),
            json!({"code": titel.code, "omschrijving": titel.omschrijving, "soort": titel.soort}),
        );
    }
    if with_full_name {
        let parts = [
            Some(naam.voornamen.as_str()),
            naam.voorvoegsel.as_deref(),
            Some(naam.geslachtsnaam.as_str()),
        ];
        let full: Vec<&str> = parts.into_iter().flatten().collect();
        out.insert("volledigeNaam".into(), json!(full.join(" ")));
    }
    out
}

fn relative_base(relative: &Relative) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(bsn) = &relative.burgerservicenummer {
        out.insert("burgerservicenummer".into(), json!(bsn));
    }
    out.insert(
        "naam".into(),
        Value::Object(naam_basis(&relative.naam, false)),
    );
    if let Some(g) = &relative.geboorte {
        out.insert("geboorte".into(), geboorte(g));
    }
    out
}

fn partner(relative: &Relative) -> Value {
    let mut out = relative_base(relative);
    if let Some(geslacht) = relative.geslacht {
        out.insert(
            "geslacht".into(),
            json!({"code": geslacht.code(), "omschrijving": geslacht.omschrijving()}),
        );
    }
    if let Some(soort) = &relative.soort_verbintenis {
        let omschrijving = if soort == "P" {
            "geregistreerd partnerschap"
        } else {
            "huwelijk"
        };
        out.insert(
            "soortVerbintenis".into(),
            json!({"code": soort, "omschrijving": omschrijving}),
        );
    }
    if let Some(aangaan) = relative.datum_aangaan {
        out.insert(
            "aangaanHuwelijkPartnerschap".into(),
            json!({"datum": datum(aangaan)}),
        );
    }
    Value::Object(out)
}

fn ouder(relative: &Relative) -> Value {
    let mut out = relative_base(relative);
    if let Some(geslacht) = relative.geslacht {
        out.insert(
            "geslacht".into(),
            json!({"code": geslacht.code(), "omschrijving": geslacht.omschrijving()}),
        );
    }
    if let Some(aanduiding) = &relative.ouder_aanduiding {
        out.insert("ouderAanduiding".into(), json!(aanduiding));
    }
    Value::Object(out)
}

fn kind(relative: &Relative) -> Value {
    Value::Object(relative_base(relative))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use time::macros::date;

    use super::*;
    use crate::brp::fields::FieldSet;
    use crate::brp::record::Geslacht;

    fn naam(voornamen: &str, geslachtsnaam: &str) -> Naam {
        Naam {
            voornamen: voornamen.into(),
            voorvoegsel: Some("de".into()),
            geslachtsnaam: geslachtsnaam.into(),
            adellijke_titel_predicaat: None,
        }
    }

    fn record() -> PersonRecord {
        let geboorte = Geboorte {
            datum: Datum::parse("1985-03-14").unwrap(),
            plaats: Waarde::new("0363", "Amsterdam"),
            land: Waarde::new("6030", "Nederland"),
        };
        let relative = Relative {
            burgerservicenummer: Some("999990019".into()),
            naam: naam("Els", "Bakker"),
            geboorte: Some(geboorte.clone()),
            geslacht: Some(Geslacht::Vrouw),
            datum_aangaan: Some(Datum::parse("2012-06-01").unwrap()),
            soort_verbintenis: Some("H".into()),
            ouder_aanduiding: Some("1".into()),
        };
        PersonRecord {
            burgerservicenummer: "999990007".into(),
            geslacht: Geslacht::Man,
            naam: naam("Jan Pieter", "Vries"),
            geboorte,
            nationaliteiten: vec![Waarde::new("0001", "Nederlandse")],
            verblijfplaats: Some(Adres {
                straat: "Kerkstraat".into(),
                huisnummer: 12,
                huisletter: Some("a".into()),
                huisnummertoevoeging: None,
                postcode: "1234AB".into(),
                woonplaats: "Voorbeeldstad".into(),
                datum_van: Datum::parse("2020-05-01").unwrap(),
            }),
            gemeente_van_inschrijving: Waarde::new("9999", "Voorbeeldstad"),
            datum_inschrijving_in_gemeente: Datum::parse("2020-05-01").unwrap(),
            partners: vec![relative.clone()],
            ouders: vec![relative.clone()],
            kinderen: vec![relative],
            overlijden: None,
        }
    }

    #[test]
    fn building_only_the_asked_members_answers_the_same_as_cutting_the_whole_person() {
        let record = record();
        let today = date!(2026 - 11 - 23);
        for target in [FieldTarget::Persoon, FieldTarget::PersoonBeperkt] {
            for fields in [
                &["naam", "verblijfplaats"][..],
                &["naam.voornamen", "leeftijd"],
                &[
                    "partners.naam.voornamen",
                    "kinderen",
                    "ouders.burgerservicenummer",
                ],
                &["verblijfplaats.verblijfadres.postcode", "geboorte.datum"],
                &["burgerservicenummer", "geslacht", "nationaliteiten"],
                &["gemeenteVanInschrijving", "datumInschrijvingInGemeente"],
            ] {
                let set = FieldSet::parse(fields, |_| true).unwrap();
                let cut = set.select(person(&record, target, today, |_| true));
                let built = set.select(person(&record, target, today, |k| set.wants(k)));
                assert_eq!(built, cut, "{target:?} {fields:?}");
            }
        }
        let only_naam = person(&record, FieldTarget::Persoon, today, |k| k == "naam");
        let keys: Vec<&String> = only_naam.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["naam"], "nothing else is built");
    }
}
