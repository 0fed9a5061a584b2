//! Named personas with fixed BSNs, each there for a story the platform must handle.
//! Dates are relative to `today`, so "moved in last week" stays true whenever you seed.

use loket_registers::NewMutatie;
use loket_registers::brp::{
    Adres, Datum, Geboorte, Geslacht, Naam, PersonRecord, Relative, Waarde,
};
use loket_registers::duo::{Code, Inschrijving, Niveau};
use loket_registers::inkomen::{Inkomensklasse, Inkomenssituatie, SoortUitkering, Uitkering};
use loket_registers::rdw::{Brandstof, Tenaamstelling, Voertuig};
use loket_registers::reisdocumenten::{Aanduiding, InhoudingOfVermissing, Reisdocument, Soort};
use serde::Serialize;
use time::{Date, Duration, Month};

use crate::Municipality;
use crate::records::Records;

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

/// The personas, and the records of every register about everyone in their households.
/// Their document numbers (`PP…`, `PI…`) and plates (digits first) are shaped so the
/// generator never produces them.
pub fn personas(today: Date, municipality: &Municipality) -> (Vec<Persona>, Records) {
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
    let mut records = register_records(&b);
    records.mutaties.brp.push(NewMutatie::new(
        b.moment(bram.datum_inschrijving_in_gemeente),
        "ingeschreven",
        &bram.burgerservicenummer,
        Some(&bram.burgerservicenummer),
    ));
    records.personen = vec![
        sanne, tom, mohammed, lotte, priya, anil, maya, bram, ingrid, kees,
    ];
    (personas, records)
}

impl Builder {
    fn moment(&self, date: Datum) -> time::OffsetDateTime {
        date.0.midnight().assume_utc() + Duration::hours(10)
    }

    fn document(
        &self,
        number: &str,
        soort: Soort,
        bsn: &str,
        issued: Datum,
        years: i64,
    ) -> Reisdocument {
        Reisdocument {
            reisdocumentnummer: number.to_owned(),
            soort,
            burgerservicenummer: bsn.to_owned(),
            datum_uitgifte: issued,
            datum_einde_geldigheid: Datum(issued.0 + Duration::days(years * 365 + years / 4)),
            inhouding_of_vermissing: None,
        }
    }

    fn car(
        &self,
        kenteken: &str,
        (merk, model): (&str, &str),
        brandstof: Brandstof,
        bsn: &str,
        since: Datum,
    ) -> Voertuig {
        Voertuig {
            kenteken: kenteken.to_owned(),
            merk: merk.to_owned(),
            handelsbenaming: model.to_owned(),
            voertuigsoort: "Personenauto".to_owned(),
            brandstof,
            datum_eerste_toelating: since,
            tenaamstelling: Tenaamstelling {
                burgerservicenummer: bsn.to_owned(),
                datum: since,
            },
        }
    }
}

/// The personas' stories in the other registers.
fn register_records(b: &Builder) -> Records {
    use Month::{August, September};
    let mut records = Records::default();

    // Sanne and Tom have a car each; Sanne's is the one for the parking permit.
    records.voertuigen.push(b.car(
        "34GBV7",
        ("VOLKSWAGEN", "GOLF"),
        Brandstof::Benzine,
        "999990007",
        b.days_ago(900),
    ));
    records.voertuigen.push(b.car(
        "52HTN9",
        ("TOYOTA", "YARIS"),
        Brandstof::Benzine,
        "999990111",
        b.days_ago(2_000),
    ));
    records.reisdocumenten.push(b.document(
        "PP0000007",
        Soort::Paspoort,
        "999990007",
        b.days_ago(1_200),
        10,
    ));
    records.reisdocumenten.push(b.document(
        "PI0000111",
        Soort::Identiteitskaart,
        "999990111",
        b.days_ago(400),
        10,
    ));

    // Mohammed's passport runs out in seven weeks; his identity card expired last year.
    let mut passport = b.document(
        "PP0000019",
        Soort::Paspoort,
        "999990019",
        b.days_ago(10 * 365 + 2 - 49),
        10,
    );
    passport.datum_einde_geldigheid = Datum(b.today + Duration::days(49));
    records.reisdocumenten.push(passport);
    let mut card = b.document(
        "PI0000019",
        Soort::Identiteitskaart,
        "999990019",
        b.days_ago(3_900),
        10,
    );
    card.datum_einde_geldigheid = b.days_ago(300);
    records.reisdocumenten.push(card);
    records.voertuigen.push(b.car(
        "88KRL1",
        ("SKODA", "OCTAVIA"),
        Brandstof::Diesel,
        "999990019",
        b.days_ago(3_000),
    ));

    // Lotte's hbo study ends at the end of this month.
    let next_month = b.today.month().next();
    let year = if next_month == Month::January {
        b.today.year() + 1
    } else {
        b.today.year()
    };
    let last_of_month = Date::from_calendar_date(year, next_month, 1)
        .map(|d| d - Duration::days(1))
        .unwrap_or(b.today);
    records.inschrijvingen.push(Inschrijving {
        inschrijvingsnummer: "99999002001".to_owned(),
        burgerservicenummer: "999990020".to_owned(),
        instelling: Code::new("21PB", "Hogeschool Noord"),
        opleiding: Code::new("34607", "Verpleegkunde"),
        niveau: Niveau::Hbo,
        datum_aanvang: b.years_ago(4, September, 1),
        datum_einde_verwacht: Datum(last_of_month),
        datum_einde: None,
    });
    records.reisdocumenten.push(b.document(
        "PI0000020",
        Soort::Identiteitskaart,
        "999990020",
        b.years_ago(4, August, 2),
        10,
    ));

    // Priya lives on bijstand and is in the lowest income class; her children go to school.
    records.inkomenssituaties.push(Inkomenssituatie {
        burgerservicenummer: "999990032".to_owned(),
        inkomensklasse: Inkomensklasse::TotHonderdTien,
        peildatum: b.days_ago(40),
        uitkeringen: vec![Uitkering {
            uitkeringsnummer: "PW999990032".to_owned(),
            soort: SoortUitkering::Participatiewet,
            bedrag_per_maand: 140_032,
            datum_aanvang: b.years_ago(2, Month::March, 1),
            datum_einde: None,
            betaaldag: 25,
        }],
    });
    records.reisdocumenten.push(b.document(
        "PP0000032",
        Soort::Paspoort,
        "999990032",
        b.days_ago(2_500),
        10,
    ));

    records.reisdocumenten.push(b.document(
        "PI0000068",
        Soort::Identiteitskaart,
        "999990068",
        b.days_ago(700),
        10,
    ));
    records.reisdocumenten.push(b.document(
        "PP0000081",
        Soort::Paspoort,
        "999990081",
        b.days_ago(1_500),
        10,
    ));

    // Kees's identity card was in the wallet that was stolen three days ago.
    let mut stolen = b.document(
        "PI0000093",
        Soort::Identiteitskaart,
        "999990093",
        b.days_ago(1_100),
        10,
    );
    let reported = b.days_ago(3);
    stolen.inhouding_of_vermissing = Some(InhoudingOfVermissing {
        datum: reported,
        aanduiding: Aanduiding::Vermist,
    });
    records.mutaties.reisdocumenten.push(NewMutatie::new(
        b.moment(reported),
        "vermissingGemeld",
        &stolen.reisdocumentnummer,
        Some("999990093"),
    ));
    records.reisdocumenten.push(stolen);
    records.reisdocumenten.push(b.document(
        "PP0000093",
        Soort::Paspoort,
        "999990093",
        b.days_ago(3_000),
        10,
    ));
    records
}

#[cfg(test)]
mod tests {
    use super::*;
    use loket_core::Bsn;
    use std::collections::HashSet;
    use time::macros::date;

    #[test]
    fn personas_have_valid_unique_test_range_bsns_and_records() {
        let (personas, all) = personas(
            date!(2026 - 11 - 23),
            &Municipality::from_code(DEMO_GEMEENTE.0),
        );
        let records = &all.personen;
        let bsns: HashSet<&str> = records
            .iter()
            .map(|r| r.burgerservicenummer.as_str())
            .collect();
        assert_eq!(bsns.len(), records.len(), "no duplicate BSNs");
        for record in records {
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
        let (_, all) = personas(today, &Municipality::from_code(DEMO_GEMEENTE.0));
        let records = &all.personen;
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
