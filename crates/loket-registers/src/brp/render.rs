//! From the register's record to the Haal Centraal shapes `Persoon` and `PersoonBeperkt`.

use serde_json::{Map, Value, json};
use time::Date;

use super::fields::FieldTarget;
use super::record::{Datum, Geboorte, Naam, PersonRecord, Relative, Waarde};

pub(super) fn person(record: &PersonRecord, target: FieldTarget, today: Date) -> Value {
    let mut out = Map::new();
    out.insert(
        "burgerservicenummer".into(),
        json!(record.burgerservicenummer),
    );
    out.insert(
        "geslacht".into(),
        json!({"code": record.geslacht.code(), "omschrijving": record.geslacht.omschrijving()}),
    );
    // Age is only meaningful for the living; BRP leaves it out for the deceased.
    if record.overlijden.is_none() {
        out.insert(
            "leeftijd".into(),
            json!(record.geboorte.datum.years_until(today)),
        );
    }
    let mut naam = naam_basis(&record.naam, true);
    match target {
        FieldTarget::PersoonBeperkt => {
            out.insert("naam".into(), Value::Object(naam));
            out.insert(
                "geboorte".into(),
                json!({"datum": datum(record.geboorte.datum)}),
            );
        }
        FieldTarget::Persoon => {
            naam.insert(
                "aanduidingNaamgebruik".into(),
                json!({"code": "E", "omschrijving": "eigen geslachtsnaam"}),
            );
            out.insert("naam".into(), Value::Object(naam));
            out.insert("geboorte".into(), geboorte(&record.geboorte));
            if !record.nationaliteiten.is_empty() {
                let list: Vec<Value> = record
                    .nationaliteiten
                    .iter()
                    .map(|n| json!({"type": "Nationaliteit", "nationaliteit": waarde(n)}))
                    .collect();
                out.insert("nationaliteiten".into(), Value::Array(list));
            }
            if let Some(adres) = &record.verblijfplaats {
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
                out.insert(
                    "verblijfplaats".into(),
                    json!({"type": "Adres", "verblijfadres": verblijfadres, "datumVan": datum(adres.datum_van)}),
                );
            }
            out.insert(
                "gemeenteVanInschrijving".into(),
                waarde(&record.gemeente_van_inschrijving),
            );
            out.insert(
                "datumInschrijvingInGemeente".into(),
                datum(record.datum_inschrijving_in_gemeente),
            );
            insert_relatives(&mut out, "partners", &record.partners, partner);
            insert_relatives(&mut out, "ouders", &record.ouders, ouder);
            insert_relatives(&mut out, "kinderen", &record.kinderen, kind);
            if let Some(overlijden) = &record.overlijden {
                out.insert(
                    "overlijden".into(),
                    json!({"datum": datum(overlijden.datum), "plaats": waarde(&overlijden.plaats), "land": waarde(&overlijden.land)}),
                );
            }
        }
    }
    Value::Object(out)
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
