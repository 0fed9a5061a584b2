//! Named personas with fixed BSNs, each there for a story the platform must handle.
//! Dates are relative to `today`, so "moved in last week" stays true whenever you seed.

use loket_registers::brp::{
    Adres, Datum, Geboorte, Geslacht, Naam, PersonRecord, Relative, Waarde,
};
use serde::Serialize;
use time::{Date, Duration, Month};

use crate::Municipality;

/// The fictional municipality of the demo. 9999 is not a real CBS municipality code.
pub const DEMO_GEMEENTE: (&str, &str) = ("9999", "Voorbeeldstad");

#[derive(Debug, Clone, Serialize)]
pub struct Persona {
    pub bsn: &'static str,
    pub name: String,
    /// What the persona is for, in Dutch and English.
    pub purpose_nl: &'static str,
    pub purpose_en: &'static str,
}

struct Builder {
    today: Date,
}

impl Builder {
    fn date(&self, year: i32, month: Month, day: u8) -> Datum {
        Datum(Date::from_calendar_date(year, month, day).unwrap_or(self.today))
    }

    fn days_ago(&self, days: i64) -> Datum {
        Datum(self.today - Duration::days(days))
    }

    fn years_ago(&self, years: i32, month: Month, day: u8) -> Datum {
        self.date(self.today.year() - years, month, day)
    }

    #[allow(clippy::too_many_arguments)]
    fn person(
        &self,
        bsn: &str,
        geslacht: Geslacht,
        (voornamen, voorvoegsel, geslachtsnaam): (&str, Option<&str>, &str),
        born: Datum,
        (straat, huisnummer, postcode): (&str, u32, &str),
        gemeente: (&str, &str),
        ingeschreven: Datum,
    ) -> PersonRecord {
        PersonRecord {
            burgerservicenummer: bsn.to_owned(),
            geslacht,
            naam: Naam {
                voornamen: voornamen.to_owned(),
                voorvoegsel: voorvoegsel.map(str::to_owned),
                geslachtsnaam: geslachtsnaam.to_owned(),
                adellijke_titel_predicaat: None,
            },
            geboorte: Geboorte {
                datum: born,
                plaats: Waarde::new("0363", "Amsterdam"),
                land: Waarde::new("6030", "Nederland"),
            },
            nationaliteiten: vec![Waarde::new("0001", "Nederlandse")],
            verblijfplaats: Some(Adres {
                straat: straat.to_owned(),
                huisnummer,
                huisletter: None,
                huisnummertoevoeging: None,
                postcode: postcode.to_owned(),
                woonplaats: gemeente.1.to_owned(),
                datum_van: ingeschreven,
            }),
            gemeente_van_inschrijving: Waarde::new(gemeente.0, gemeente.1),
            datum_inschrijving_in_gemeente: ingeschreven,
            partners: Vec::new(),
            ouders: Vec::new(),
            kinderen: Vec::new(),
            overlijden: None,
        }
    }
}

fn relative_of(person: &PersonRecord) -> Relative {
    Relative {
        burgerservicenummer: Some(person.burgerservicenummer.clone()),
        naam: person.naam.clone(),
        geboorte: Some(person.geboorte.clone()),
        geslacht: Some(person.geslacht),
        datum_aangaan: None,
        soort_verbintenis: None,
        ouder_aanduiding: None,
    }
}

pub(crate) fn marry(a: &mut PersonRecord, b: &mut PersonRecord, since: Datum) {
    let mut to_b = relative_of(b);
    to_b.datum_aangaan = Some(since);
    to_b.soort_verbintenis = Some("H".to_owned());
    let mut to_a = relative_of(a);
    to_a.datum_aangaan = Some(since);
    to_a.soort_verbintenis = Some("H".to_owned());
    a.partners.push(to_b);
    b.partners.push(to_a);
}

pub(crate) fn parent_child(parent: &mut PersonRecord, child: &mut PersonRecord, aanduiding: &str) {
    parent.kinderen.push(Relative {
        geslacht: None,
        ..relative_of(child)
    });
    child.ouders.push(Relative {
        ouder_aanduiding: Some(aanduiding.to_owned()),
        ..relative_of(parent)
    });
}

/// The personas and the BRP records of everyone in their households.
pub fn personas(today: Date, municipality: &Municipality) -> (Vec<Persona>, Vec<PersonRecord>) {
    use Geslacht::{Man, Vrouw};
    use Month::{
        April, August, February, January, July, June, March, May, November, October, September,
    };
    let b = Builder { today };
    let here = (municipality.code.as_str(), municipality.name.as_str());
    let elsewhere = if municipality.code == "0363" {
        ("0599", "Rotterdam")
    } else {
        ("0363", "Amsterdam")
    };

    let mut sanne = b.person(
        "999990007",
        Vrouw,
        ("Sanne", Some("de"), "Vries"),
        b.years_ago(38, May, 3),
        ("Kerkstraat", 12, "9901AB"),
        here,
        b.date(2015, March, 1),
    );
    let mut tom = b.person(
        "999990111",
        Man,
        ("Tom", Some("de"), "Vries"),
        b.years_ago(40, October, 21),
        ("Kerkstraat", 12, "9901AB"),
        here,
        b.date(2015, March, 1),
    );
    marry(&mut sanne, &mut tom, b.date(2016, June, 18));

    let mohammed = b.person(
        "999990019",
        Man,
        ("Mohammed", None, "El Amrani"),
        b.years_ago(45, January, 30),
        ("Lindelaan", 4, "9902CD"),
        here,
        b.date(2009, September, 1),
    );
    let lotte = b.person(
        "999990020",
        Vrouw,
        ("Lotte", None, "Jansen"),
        b.years_ago(22, July, 9),
        ("Stationsweg", 88, "9903EF"),
        here,
        b.date(2022, August, 25),
    );

    let mut priya = b.person(
        "999990032",
        Vrouw,
        ("Priya", None, "Ramdin"),
        b.years_ago(34, February, 14),
        ("Molenstraat", 7, "9904GH"),
        here,
        b.date(2018, April, 1),
    );
    let mut anil = b.person(
        "999990044",
        Man,
        ("Anil", None, "Ramdin"),
        b.years_ago(9, November, 2),
        ("Molenstraat", 7, "9904GH"),
        here,
        b.years_ago(9, November, 2),
    );
    let mut maya = b.person(
        "999990056",
        Vrouw,
        ("Maya", None, "Ramdin"),
        b.years_ago(6, March, 27),
        ("Molenstraat", 7, "9904GH"),
        here,
        b.years_ago(6, March, 27),
    );
    parent_child(&mut priya, &mut anil, "1");
    parent_child(&mut priya, &mut maya, "1");

    let bram = b.person(
        "999990068",
        Man,
        ("Bram", None, "Visser"),
        b.years_ago(29, August, 12),
        ("Havenkade", 21, "9905JK"),
        here,
        b.days_ago(7),
    );
    let ingrid = b.person(
        "999990081",
        Vrouw,
        ("Ingrid", None, "Bakker"),
        b.years_ago(51, June, 5),
        ("Prinsengracht", 263, "1016GV"),
        elsewhere,
        b.date(2001, January, 15),
    );
    let kees = b.person(
        "999990093",
        Man,
        ("Kees", None, "Mulder"),
        b.years_ago(63, April, 19),
        ("Dorpsstraat", 3, "9906LM"),
        here,
        b.date(1990, May, 1),
    );

    let personas = vec![
        Persona {
            bsn: "999990007",
            name: "Sanne de Vries".into(),
            purpose_nl: "Heeft een auto en wil een bewonersparkeervergunning.",
            purpose_en: "Owns a car and wants a residential parking permit.",
        },
        Persona {
            bsn: "999990019",
            name: "Mohammed El Amrani".into(),
            purpose_nl: "Zijn paspoort verloopt binnen twee maanden.",
            purpose_en: "His passport expires within two months.",
        },
        Persona {
            bsn: "999990020",
            name: "Lotte Jansen".into(),
            purpose_nl: "Studeert; haar opleiding eindigt deze maand.",
            purpose_en: "A student whose study ends this month.",
        },
        Persona {
            bsn: "999990032",
            name: "Priya Ramdin".into(),
            purpose_nl: "Alleenstaande ouder met een laag inkomen en twee kinderen.",
            purpose_en: "A single parent on a low income with two children.",
        },
        Persona {
            bsn: "999990068",
            name: "Bram Visser".into(),
            purpose_nl: "Is vorige week in de gemeente komen wonen.",
            purpose_en: "Moved into the municipality last week.",
        },
        Persona {
            bsn: "999990081",
            name: "Ingrid Bakker".into(),
            purpose_nl: "Staat ingeschreven in een andere gemeente.",
            purpose_en: "Registered in another municipality.",
        },
        Persona {
            bsn: "999990093",
            name: "Kees Mulder".into(),
            purpose_nl: "Zijn portemonnee met identiteitskaart is gestolen.",
            purpose_en: "His wallet with his identity card was stolen.",
        },
    ];
    (
        personas,
        vec![
            sanne, tom, mohammed, lotte, priya, anil, maya, bram, ingrid, kees,
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use loket_core::Bsn;
    use std::collections::HashSet;
    use time::macros::date;

    #[test]
    fn personas_have_valid_unique_test_range_bsns_and_records() {
        let (personas, records) = personas(
            date!(2026 - 11 - 23),
            &Municipality::from_code(DEMO_GEMEENTE.0),
        );
        let bsns: HashSet<&str> = records
            .iter()
            .map(|r| r.burgerservicenummer.as_str())
            .collect();
        assert_eq!(bsns.len(), records.len(), "no duplicate BSNs");
        for record in &records {
            assert!(record.burgerservicenummer.starts_with("9999"));
            assert!(
                Bsn::parse(&record.burgerservicenummer).is_ok(),
                "{} fails the 11-proef",
                record.burgerservicenummer
            );
        }
        for persona in &personas {
            assert!(
                bsns.contains(persona.bsn),
                "persona {} has a record",
                persona.name
            );
        }
    }

    #[test]
    fn dates_follow_today() {
        let today = date!(2026 - 11 - 23);
        let (_, records) = personas(today, &Municipality::from_code(DEMO_GEMEENTE.0));
        let bram = records
            .iter()
            .find(|r| r.burgerservicenummer == "999990068")
            .unwrap();
        assert_eq!(bram.datum_inschrijving_in_gemeente.0, date!(2026 - 11 - 16));
        let ingrid = records
            .iter()
            .find(|r| r.burgerservicenummer == "999990081")
            .unwrap();
        assert_ne!(ingrid.gemeente_van_inschrijving.code, DEMO_GEMEENTE.0);
        let priya = records
            .iter()
            .find(|r| r.burgerservicenummer == "999990032")
            .unwrap();
        assert_eq!(priya.kinderen.len(), 2);
    }
}
