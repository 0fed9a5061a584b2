//! The generated data of the registers besides the BRP, for one household: travel
//! documents, vehicles, enrolments and income. Spread so that the stories the platform
//! must handle occur: documents expiring within three months, expired or reported stolen;
//! students whose enrolment ends soon; residents on benefits or a low income.

use loket_registers::brp::PersonRecord;
use loket_registers::duo::{Code, Inschrijving, Niveau};
use loket_registers::inkomen::{Inkomensklasse, Inkomenssituatie, SoortUitkering, Uitkering};
use loket_registers::rdw::{Brandstof, Tenaamstelling, Voertuig};
use loket_registers::reisdocumenten::{Aanduiding, InhoudingOfVermissing, Reisdocument, Soort};
use loket_registers::{Datum, NewMutatie};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use time::{Date, Duration, Month, Time};

use crate::names::{CARS, INSTELLINGEN, OPLEIDINGEN};
use crate::records::Records;

/// How far back the change feeds start: events older than this are just state.
pub const FEED_WINDOW_DAYS: i64 = 60;

/// Counters that make keys unique across the whole generated population. Numbers are
/// handed out in ascending order from a seed-dependent start, as the issuers do, so a
/// register keyed by them appends each new item at the end of its index (random keys
/// made every load transaction rewrite pages all over an index that outgrew the cache).
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    documents: u64,
    vehicles: u64,
    offset: u64,
}

/// Nine-character document numbers: two letters for the kind, seven for the number, in
/// an alphabet in byte order, so later numbers sort after earlier ones.
const DOCUMENT_ALPHABET: &[u8; 32] = b"123456789ABCDEFGHJKLMNPRSTUVWXYZ";
const DOCUMENT_SPACE: u64 = 1 << 35; // 32^7
/// Letters on Dutch number plates (no vowels, no C, M, Q, W), in byte order.
const PLATE_LETTERS: &[u8; 16] = b"BDFGHJKLNPRSTVXZ";
/// Plates of sidecodes 9 (XX-999-X), 10 (X-999-XX) and 11 (XXX-99-X).
const SIDECODE_9: u64 = 16 * 16 * 900 * 16;
const SIDECODE_10: u64 = 16 * 900 * 16 * 16;
const SIDECODE_11: u64 = 16 * 16 * 16 * 90 * 16;
const PLATE_SPACE: u64 = SIDECODE_9 + SIDECODE_10 + SIDECODE_11;

impl Keys {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            documents: 0,
            vehicles: 0,
            offset: seed,
        }
    }

    fn document_number(&mut self, soort: Soort) -> String {
        // Starts in the first half of the space: room for billions after it.
        let mut n = (self.offset % (DOCUMENT_SPACE / 2) + self.documents) % DOCUMENT_SPACE;
        self.documents += 1;
        let mut digits = [0u8; 7];
        for digit in digits.iter_mut().rev() {
            *digit = DOCUMENT_ALPHABET[(n % 32) as usize];
            n /= 32;
        }
        let mut number = String::with_capacity(9);
        number.push_str(match soort {
            Soort::Paspoort => "NP",
            Soort::Identiteitskaart => "NI",
        });
        number.extend(digits.iter().map(|&d| char::from(d)));
        number
    }

    fn kenteken(&mut self) -> String {
        // Starts in the first quarter: at least 9.9 million plates after it before they
        // would wrap, more than MAX_PERSONS residents own; ascending within a sidecode.
        let p = (self.offset % (PLATE_SPACE / 4) + self.vehicles) % PLATE_SPACE;
        self.vehicles += 1;
        let letter = |n: u64| char::from(PLATE_LETTERS[(n % 16) as usize]);
        // Mixed radix, most significant first, so a later plate sorts after an earlier one.
        if p < SIDECODE_9 {
            let (c, rest) = (p % 16, p / 16);
            let (digits, rest) = (100 + rest % 900, rest / 900);
            format!("{}{}{digits}{}", letter(rest / 16), letter(rest), letter(c))
        } else if p < SIDECODE_9 + SIDECODE_10 {
            let q = p - SIDECODE_9;
            let (c, b, rest) = (q % 16, q / 16 % 16, q / 256);
            let (digits, a) = (100 + rest % 900, rest / 900);
            format!("{}{digits}{}{}", letter(a), letter(b), letter(c))
        } else {
            let q = p - SIDECODE_9 - SIDECODE_10;
            let (e, rest) = (q % 16, q / 16);
            let (digits, rest) = (10 + rest % 90, rest / 90);
            format!(
                "{}{}{}{digits}{}",
                letter(rest / 256),
                letter(rest / 16),
                letter(rest),
                letter(e)
            )
        }
    }
}

/// A moment on `date` during office hours, for the feed.
fn moment(rng: &mut ChaCha8Rng, date: Datum) -> time::OffsetDateTime {
    let minutes: i64 = rng.random_range(8 * 60..18 * 60);
    date.0.with_time(Time::MIDNIGHT).assume_utc() + Duration::minutes(minutes)
}

fn recent(today: Date, date: Datum) -> bool {
    date.0 <= today && (today - date.0).whole_days() < FEED_WINDOW_DAYS
}

/// Put an event in a register's feed history when it happened within the feed window.
fn remember(
    history: &mut Vec<NewMutatie>,
    rng: &mut ChaCha8Rng,
    today: Date,
    (date, soort): (Datum, &str),
    sleutel: &str,
    bsn: &str,
) {
    if recent(today, date) {
        history.push(NewMutatie::new(
            moment(rng, date),
            soort,
            sleutel,
            Some(bsn),
        ));
    }
}

fn days_before(today: Date, days: i64) -> Datum {
    Datum(today - Duration::days(days))
}

/// Everything the other registers hold about one household.
pub(crate) fn household_records(
    rng: &mut ChaCha8Rng,
    keys: &mut Keys,
    today: Date,
    members: &[PersonRecord],
    out: &mut Records,
) {
    let adults = members
        .iter()
        .filter(|m| m.geboorte.datum.years_until(today) >= 18)
        .count();
    // The household's income position is shared; benefits go to the first adult.
    let income = rng.random_range(0..1000);
    for (index, person) in members.iter().enumerate() {
        if person.overlijden.is_some() {
            continue;
        }
        let age = person.geboorte.datum.years_until(today);
        documents(rng, keys, today, person, age, out);
        if age >= 18 && rng.random_bool(0.45) {
            vehicle(rng, keys, today, person, age, out);
        }
        if (12..=27).contains(&age) {
            enrolment(rng, today, person, age, out);
        }
        if age >= 18 && index == 0 {
            income_position(rng, today, person, income, adults, out);
        }
    }
}

fn documents(
    rng: &mut ChaCha8Rng,
    keys: &mut Keys,
    today: Date,
    person: &PersonRecord,
    age: i32,
    out: &mut Records,
) {
    // Most people hold one document, some both, a few none (mostly young children).
    let roll = rng.random_range(0..100);
    let kinds: &[Soort] = match roll {
        _ if age < 2 && roll < 60 => &[],
        0..8 => &[],
        8..50 => &[Soort::Identiteitskaart],
        50..80 => &[Soort::Paspoort],
        _ => &[Soort::Paspoort, Soort::Identiteitskaart],
    };
    for soort in kinds {
        let years = if age >= 18 { 10 } else { 5 };
        let validity = years * 365 + years / 4;
        // Issued some time in the last validity period plus two years: most still valid,
        // a spread expiring in the coming months, some expired.
        let age_days = (today - person.geboorte.datum.0).whole_days().max(1);
        let issued_ago = rng.random_range(0..(validity + 730).min(age_days));
        let uitgifte = days_before(today, issued_ago);
        let einde = Datum(uitgifte.0 + Duration::days(validity));
        let mut document = Reisdocument {
            reisdocumentnummer: keys.document_number(*soort),
            soort: *soort,
            burgerservicenummer: person.burgerservicenummer.clone(),
            datum_uitgifte: uitgifte,
            datum_einde_geldigheid: einde,
            inhouding_of_vermissing: None,
        };
        remember(
            &mut out.mutaties.reisdocumenten,
            rng,
            today,
            (uitgifte, "uitgegeven"),
            &document.reisdocumentnummer,
            &person.burgerservicenummer,
        );
        // About one in two hundred documents is reported lost or stolen.
        if rng.random_bool(0.005) && issued_ago > 1 {
            let reported = days_before(today, rng.random_range(0..issued_ago.min(validity)));
            document.inhouding_of_vermissing = Some(InhoudingOfVermissing {
                datum: reported,
                aanduiding: Aanduiding::Vermist,
            });
            remember(
                &mut out.mutaties.reisdocumenten,
                rng,
                today,
                (reported, "vermissingGemeld"),
                &document.reisdocumentnummer,
                &person.burgerservicenummer,
            );
        }
        out.reisdocumenten.push(document);
    }
}

fn vehicle(
    rng: &mut ChaCha8Rng,
    keys: &mut Keys,
    today: Date,
    person: &PersonRecord,
    age: i32,
    out: &mut Records,
) {
    let (merk, models) = CARS[rng.random_range(0..CARS.len())];
    let (handelsbenaming, electric) = models[rng.random_range(0..models.len())];
    let brandstof = if electric {
        Brandstof::Elektriciteit
    } else {
        match rng.random_range(0..100) {
            0..18 => Brandstof::Diesel,
            18..20 => Brandstof::Lpg,
            _ => Brandstof::Benzine,
        }
    };
    let toegelaten_ago = rng.random_range(0..20 * 365);
    let toegelaten = days_before(today, toegelaten_ago);
    let adult_days = i64::from(age - 18) * 365 + 1;
    let owned_ago = rng.random_range(0..toegelaten_ago.min(adult_days).max(1));
    let datum = days_before(today, owned_ago);
    let voertuig = Voertuig {
        kenteken: keys.kenteken(),
        merk: merk.to_owned(),
        handelsbenaming: handelsbenaming.to_owned(),
        voertuigsoort: "Personenauto".to_owned(),
        brandstof,
        datum_eerste_toelating: toegelaten,
        tenaamstelling: Tenaamstelling {
            burgerservicenummer: person.burgerservicenummer.clone(),
            datum,
        },
    };
    remember(
        &mut out.mutaties.rdw,
        rng,
        today,
        (datum, "tenaamgesteld"),
        &voertuig.kenteken,
        &person.burgerservicenummer,
    );
    out.voertuigen.push(voertuig);
}

/// The 1st of September `years_ago` school years back.
fn school_year_start(today: Date, years_ago: i32) -> Datum {
    let year = if today.month() >= Month::September {
        today.year()
    } else {
        today.year() - 1
    };
    Datum(Date::from_calendar_date(year - years_ago, Month::September, 1).unwrap_or(today))
}

fn enrolment(
    rng: &mut ChaCha8Rng,
    today: Date,
    person: &PersonRecord,
    age: i32,
    out: &mut Records,
) {
    let (niveau, length) = if age < 17 {
        (Niveau::Vo, 6)
    } else {
        if !rng.random_bool(0.6) {
            return;
        }
        match rng.random_range(0..10) {
            0..4 => (Niveau::Mbo, 3),
            4..8 => (Niveau::Hbo, 4),
            _ => (Niveau::Wo, 5),
        }
    };
    let into = rng.random_range(0..length);
    let aanvang = school_year_start(today, into);
    // Most finish in time; some run a few months over, so their end falls soon.
    let mut einde_verwacht = Datum(
        Date::from_calendar_date(aanvang.0.year() + length, Month::August, 31).unwrap_or(today),
    );
    if rng.random_bool(0.1) {
        einde_verwacht = Datum(today + Duration::days(rng.random_range(0..90)));
    }
    let instellingen: Vec<&(&str, &str, Niveau)> = INSTELLINGEN
        .iter()
        .filter(|(_, _, n)| *n == niveau)
        .collect();
    let opleidingen: Vec<&(&str, &str, Niveau)> = OPLEIDINGEN
        .iter()
        .filter(|(_, _, n)| *n == niveau)
        .collect();
    let instelling = instellingen[rng.random_range(0..instellingen.len())];
    let opleiding = opleidingen[rng.random_range(0..opleidingen.len())];
    // A few stopped early.
    let datum_einde = (into > 0 && rng.random_bool(0.05)).then(|| {
        days_before(
            today,
            rng.random_range(1..(today - aanvang.0).whole_days().max(2)),
        )
    });
    let inschrijving = Inschrijving {
        inschrijvingsnummer: format!("{}{:02}", person.burgerservicenummer, 1),
        burgerservicenummer: person.burgerservicenummer.clone(),
        instelling: Code::new(instelling.0, instelling.1),
        opleiding: Code::new(opleiding.0, opleiding.1),
        niveau,
        datum_aanvang: aanvang,
        datum_einde_verwacht: einde_verwacht,
        datum_einde,
    };
    remember(
        &mut out.mutaties.duo,
        rng,
        today,
        (aanvang, "ingeschreven"),
        &inschrijving.inschrijvingsnummer,
        &person.burgerservicenummer,
    );
    if let Some(einde) = datum_einde {
        remember(
            &mut out.mutaties.duo,
            rng,
            today,
            (einde, "beeindigd"),
            &inschrijving.inschrijvingsnummer,
            &person.burgerservicenummer,
        );
    }
    out.inschrijvingen.push(inschrijving);
}

/// About 5% of households live on a benefit; about 8% more are known to the
/// municipality with a low income (from an earlier application for a scheme).
fn income_position(
    rng: &mut ChaCha8Rng,
    today: Date,
    person: &PersonRecord,
    roll: u32,
    adults: usize,
    out: &mut Records,
) {
    let bsn = &person.burgerservicenummer;
    let peildatum = days_before(today, rng.random_range(0..365));
    let situatie = if roll < 50 {
        let age = person.geboorte.datum.years_until(today);
        let soort = match rng.random_range(0..100) {
            0..8 if age >= 55 => SoortUitkering::Ioaw,
            8..11 if age >= 55 => SoortUitkering::Ioaz,
            11..18 => SoortUitkering::Bbz,
            _ => SoortUitkering::Participatiewet,
        };
        // Bijstand norms, roughly: a couple gets more than a single person.
        let base = if adults >= 2 { 190_000 } else { 133_000 };
        let aanvang = days_before(today, rng.random_range(0..8 * 365));
        let datum_einde = rng
            .random_bool(0.1)
            .then(|| Datum(today + Duration::days(rng.random_range(-30..120))));
        remember(
            &mut out.mutaties.inkomen,
            rng,
            today,
            (aanvang, "toegekend"),
            bsn,
            bsn,
        );
        if let Some(einde) = datum_einde {
            remember(
                &mut out.mutaties.inkomen,
                rng,
                today,
                (einde, "beeindigd"),
                bsn,
                bsn,
            );
        }
        Inkomenssituatie {
            burgerservicenummer: bsn.clone(),
            inkomensklasse: Inkomensklasse::TotHonderdTien,
            peildatum,
            uitkeringen: vec![Uitkering {
                uitkeringsnummer: format!("{}{}", soort.code(), &bsn[..]),
                soort,
                bedrag_per_maand: base + rng.random_range(0..15_000),
                datum_aanvang: aanvang,
                datum_einde,
                betaaldag: 25,
            }],
        }
    } else if roll < 130 {
        Inkomenssituatie {
            burgerservicenummer: bsn.clone(),
            inkomensklasse: match roll {
                50..80 => Inkomensklasse::TotHonderdTien,
                80..110 => Inkomensklasse::TotHonderdDertig,
                _ => Inkomensklasse::TotHonderdVijftig,
            },
            peildatum,
            uitkeringen: Vec::new(),
        }
    } else {
        return;
    };
    out.inkomenssituaties.push(situatie);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_plates_ascend_in_byte_order_without_repeats() {
        for seed in [0, 1, 7, u64::MAX] {
            let mut keys = Keys::new(seed);
            let mut last_document = keys.document_number(Soort::Paspoort);
            let mut last_plate = keys.kenteken();
            for _ in 0..200_000 {
                let document = keys.document_number(Soort::Paspoort);
                assert!(document > last_document, "{document} after {last_document}");
                last_document = document;
                let plate = keys.kenteken();
                let same_sidecode = plate
                    .bytes()
                    .map(|b| b.is_ascii_digit())
                    .eq(last_plate.bytes().map(|b| b.is_ascii_digit()));
                if same_sidecode {
                    assert!(plate > last_plate, "{plate} after {last_plate}");
                }
                last_plate = plate;
            }
        }
    }

    #[test]
    fn plates_are_distinct_six_character_plates_across_every_sidecode_boundary() {
        let mut plates = std::collections::HashSet::new();
        let mut asked = 0;
        for start in [0, SIDECODE_9, SIDECODE_9 + SIDECODE_10, PLATE_SPACE] {
            let mut keys = Keys::new(0);
            keys.vehicles = start.saturating_sub(50_000);
            for _ in 0..100_000 {
                let plate = keys.kenteken();
                assert_eq!(plate.len(), 6, "{plate}");
                plates.insert(plate);
                asked += 1;
            }
        }
        // The last range wraps around to the first: those 50,000 are the same plates.
        assert_eq!(plates.len(), asked - 50_000);
    }
}
