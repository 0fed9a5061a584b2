//! From the register's record to the Haal Centraal shapes `Persoon` and `PersoonBeperkt`,
//! written as JSON with only the fields asked for (`selected_json.rs`).

use time::Date;

use super::fields::FieldTarget;
use super::record::{Adres, Datum, Geboorte, Geslacht, Naam, PersonRecord, Relative, Waarde};
use crate::common::fields::FieldSet;
use crate::common::selected_json::Object;

/// The person in the shape `target`, with the members `fields` asks for, onto `out`.
pub(super) fn person(
    out: &mut Vec<u8>,
    record: &PersonRecord,
    target: FieldTarget,
    today: Date,
    fields: &FieldSet,
) {
    Object::write(out, fields, |o| {
        o.value("burgerservicenummer", &record.burgerservicenummer);
        o.object("geslacht", |o| geslacht(o, record.geslacht));
        // Age is only meaningful for the living; BRP leaves it out for the deceased.
        if record.overlijden.is_none() {
            o.value("leeftijd", record.geboorte.datum.years_until(today));
        }
        match target {
            FieldTarget::PersoonBeperkt => {
                o.object("naam", |o| naam_basis(o, &record.naam, true));
                o.object("geboorte", |o| {
                    o.object("datum", |o| datum(o, record.geboorte.datum));
                });
            }
            FieldTarget::Persoon => {
                o.object("naam", |o| {
                    naam_basis(o, &record.naam, true);
                    o.object("aanduidingNaamgebruik", |o| {
                        o.value("code", "E");
                        o.value("omschrijving", "eigen geslachtsnaam");
                    });
                });
                o.object("geboorte", |o| geboorte(o, &record.geboorte));
                if !record.nationaliteiten.is_empty() {
                    o.array("nationaliteiten", &record.nationaliteiten, |o, n| {
                        o.type_tag("Nationaliteit");
                        o.object("nationaliteit", |o| waarde(o, n));
                    });
                }
                if let Some(adres) = &record.verblijfplaats {
                    o.object("verblijfplaats", |o| verblijfplaats(o, adres));
                }
                o.object("gemeenteVanInschrijving", |o| {
                    waarde(o, &record.gemeente_van_inschrijving);
                });
                o.object("datumInschrijvingInGemeente", |o| {
                    datum(o, record.datum_inschrijving_in_gemeente);
                });
                for (key, relatives, shape) in [
                    (
                        "partners",
                        &record.partners,
                        partner as fn(&mut Object<'_>, &Relative),
                    ),
                    ("ouders", &record.ouders, ouder),
                    ("kinderen", &record.kinderen, kind),
                ] {
                    if !relatives.is_empty() {
                        o.array(key, relatives, shape);
                    }
                }
                if let Some(overlijden) = &record.overlijden {
                    o.object("overlijden", |o| {
                        o.object("datum", |o| datum(o, overlijden.datum));
                        o.object("plaats", |o| waarde(o, &overlijden.plaats));
                        o.object("land", |o| waarde(o, &overlijden.land));
                    });
                }
            }
        }
    });
}

fn verblijfplaats(o: &mut Object<'_>, adres: &Adres) {
    o.type_tag("Adres");
    o.object("verblijfadres", |o| {
        o.value("officieleStraatnaam", &adres.straat);
        if o.wants("korteStraatnaam") {
            o.value(
                "korteStraatnaam",
                adres.straat.chars().take(24).collect::<String>(),
            );
        }
        o.value("huisnummer", adres.huisnummer);
        if let Some(letter) = &adres.huisletter {
            o.value("huisletter", letter);
        }
        if let Some(toevoeging) = &adres.huisnummertoevoeging {
            o.value("huisnummertoevoeging", toevoeging);
        }
        o.value("postcode", &adres.postcode);
        o.value("woonplaats", &adres.woonplaats);
    });
    o.object("datumVan", |o| datum(o, adres.datum_van));
}

/// The Haal Centraal date object: `{type, datum, langFormaat}`.
fn datum(o: &mut Object<'_>, datum: Datum) {
    o.type_tag("Datum");
    if o.wants("datum") {
        o.value("datum", datum.iso());
    }
    if o.wants("langFormaat") {
        o.value("langFormaat", datum.lang_formaat());
    }
}

fn waarde(o: &mut Object<'_>, waarde: &Waarde) {
    o.value("code", &waarde.code);
    o.value("omschrijving", &waarde.omschrijving);
}

fn geslacht(o: &mut Object<'_>, geslacht: Geslacht) {
    o.value("code", geslacht.code());
    o.value("omschrijving", geslacht.omschrijving());
}

fn geboorte(o: &mut Object<'_>, geboorte: &Geboorte) {
    o.object("datum", |o| datum(o, geboorte.datum));
    o.object("plaats", |o| waarde(o, &geboorte.plaats));
    o.object("land", |o| waarde(o, &geboorte.land));
}

/// Voorletters: the first letter of each first name, each followed by a full stop.
fn voorletters(voornamen: &str) -> String {
    voornamen
        .split_whitespace()
        .filter_map(|name| name.chars().next())
        .flat_map(|c| [c, '.'])
        .collect()
}

fn naam_basis(o: &mut Object<'_>, naam: &Naam, with_full_name: bool) {
    o.value("voornamen", &naam.voornamen);
    if let Some(voorvoegsel) = &naam.voorvoegsel {
        o.value("voorvoegsel", voorvoegsel);
    }
    o.value("geslachtsnaam", &naam.geslachtsnaam);
    if o.wants("voorletters") {
        o.value("voorletters", voorletters(&naam.voornamen));
    }
    if let Some(titel) = &naam.adellijke_titel_predicaat {
        o.object("adellijkeTitelPredicaat", |o| {
            o.value("code", &titel.code);
            o.value("omschrijving", &titel.omschrijving);
            o.value("soort", &titel.soort);
        });
    }
    if with_full_name && o.wants("volledigeNaam") {
        let parts = [
            Some(naam.voornamen.as_str()),
            naam.voorvoegsel.as_deref(),
            Some(naam.geslachtsnaam.as_str()),
        ];
        let full: Vec<&str> = parts.into_iter().flatten().collect();
        o.value("volledigeNaam", full.join(" "));
    }
}

fn relative_base(o: &mut Object<'_>, relative: &Relative) {
    if let Some(bsn) = &relative.burgerservicenummer {
        o.value("burgerservicenummer", bsn);
    }
    o.object("naam", |o| naam_basis(o, &relative.naam, false));
    if let Some(g) = &relative.geboorte {
        o.object("geboorte", |o| geboorte(o, g));
    }
}

fn partner(o: &mut Object<'_>, relative: &Relative) {
    relative_base(o, relative);
    if let Some(g) = relative.geslacht {
        o.object("geslacht", |o| geslacht(o, g));
    }
    if let Some(soort) = &relative.soort_verbintenis {
        let omschrijving = if soort == "P" {
            "geregistreerd partnerschap"
        } else {
            "huwelijk"
        };
        o.object("soortVerbintenis", |o| {
            o.value("code", soort);
            o.value("omschrijving", omschrijving);
        });
    }
    if let Some(aangaan) = relative.datum_aangaan {
        o.object("aangaanHuwelijkPartnerschap", |o| {
            o.object("datum", |o| datum(o, aangaan));
        });
    }
}

fn ouder(o: &mut Object<'_>, relative: &Relative) {
    relative_base(o, relative);
    if let Some(g) = relative.geslacht {
        o.object("geslacht", |o| geslacht(o, g));
    }
    if let Some(aanduiding) = &relative.ouder_aanduiding {
        o.value("ouderAanduiding", aanduiding);
    }
}

fn kind(o: &mut Object<'_>, relative: &Relative) {
    relative_base(o, relative);
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

    fn render(record: &PersonRecord, target: FieldTarget, fields: &FieldSet) -> serde_json::Value {
        let mut out = Vec::new();
        person(&mut out, record, target, date!(2026 - 11 - 23), fields);
        serde_json::from_slice(&out).unwrap()
    }

    fn allowed(target: FieldTarget) -> Vec<&'static str> {
        match target {
            FieldTarget::Persoon => include_str!("fields_persoon.txt"),
            FieldTarget::PersoonBeperkt => include_str!("fields_persoon_beperkt.txt"),
        }
        .lines()
        .filter(|l| !l.is_empty())
        .collect()
    }

    #[test]
    fn the_whole_person_has_the_haal_centraal_shape() {
        let full = render(&record(), FieldTarget::Persoon, &FieldSet::everything());
        assert_eq!(full["naam"]["voorletters"], "J.P.");
        assert_eq!(full["naam"]["volledigeNaam"], "Jan Pieter de Vries");
        assert_eq!(full["leeftijd"], 41);
        assert_eq!(
            full["verblijfplaats"]["datumVan"],
            serde_json::json!({"type": "Datum", "datum": "2020-05-01", "langFormaat": "1 mei 2020"})
        );
        assert_eq!(full["verblijfplaats"]["verblijfadres"]["huisletter"], "a");
        assert_eq!(
            full["partners"][0]["soortVerbintenis"]["omschrijving"],
            "huwelijk"
        );
        assert_eq!(full["ouders"][0]["ouderAanduiding"], "1");
        assert_eq!(full["nationaliteiten"][0]["type"], "Nationaliteit");
        // Every member the writer wrote is a path a client may ask for.
        let written = crate::common::fields::FieldPaths::from_example(&full);
        for path in written.iter() {
            assert!(
                FieldTarget::Persoon.allows(path),
                "{path} is not in the spec's list"
            );
        }
        let beperkt = render(
            &record(),
            FieldTarget::PersoonBeperkt,
            &FieldSet::everything(),
        );
        assert!(
            beperkt.get("verblijfplaats").is_none(),
            "searches answer without an address"
        );
    }

    proptest::proptest! {
        /// Any selection of allowed paths, written directly, equals the whole person cut
        /// with `FieldSet::select` (the `fields` parameter's own definition).
        #[test]
        fn writing_only_the_asked_fields_equals_cutting_the_whole_person(
            beperkt: bool,
            picks in proptest::collection::vec(0usize..1000, 1..12),
        ) {
            let target = if beperkt { FieldTarget::PersoonBeperkt } else { FieldTarget::Persoon };
            let paths = allowed(target);
            let chosen: Vec<&str> = picks.iter().map(|i| paths[i % paths.len()]).collect();
            let fields = FieldSet::parse(&chosen, |p| target.allows(p)).unwrap();
            let whole = render(&record(), target, &FieldSet::everything());
            let expected = fields.select(whole).unwrap_or_else(|| serde_json::json!({}));
            proptest::prop_assert_eq!(render(&record(), target, &fields), expected, "{:?}", chosen);
        }
    }

    #[test]
    fn each_allowed_path_alone_equals_cutting_the_whole_person() {
        for target in [FieldTarget::Persoon, FieldTarget::PersoonBeperkt] {
            let whole = render(&record(), target, &FieldSet::everything());
            for path in allowed(target) {
                let fields = FieldSet::parse(&[path], |p| target.allows(p)).unwrap();
                let expected = fields
                    .select(whole.clone())
                    .unwrap_or_else(|| serde_json::json!({}));
                assert_eq!(
                    render(&record(), target, &fields),
                    expected,
                    "{target:?} {path}"
                );
            }
        }
    }
}
