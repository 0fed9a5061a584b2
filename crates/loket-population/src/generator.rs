//! The seeded generator of a whole municipality, household by household, as a stream:
//! memory stays flat however many residents are asked for.

use loket_registers::NewMutatie;
use loket_registers::brp::{
    Adres, Datum, Geboorte, Geslacht, Naam, Overlijden, PersonRecord, Waarde,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use time::{Date, Duration};

use crate::names::{AGE_BANDS, FIRST_NAMES, STREET_KINDS, STREET_STEMS, SURNAMES};
use crate::personas::{marry, parent_child};
use crate::records::Records;
use crate::registers::{FEED_WINDOW_DAYS, Keys, household_records};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Municipality {
    /// The four-digit CBS code.
    pub code: String,
    pub name: String,
}

impl Municipality {
    /// A known municipality by its code, or a fictional one named after the code.
    pub fn from_code(code: &str) -> Self {
        let name = match code {
            "9999" => "Voorbeeldstad",
            "0363" => "Amsterdam",
            "0599" => "Rotterdam",
            "0518" => "'s-Gravenhage",
            "0344" => "Utrecht",
            "0392" => "Haarlem",
            "0772" => "Eindhoven",
            "0014" => "Groningen",
            _ => {
                return Self {
                    code: code.to_owned(),
                    name: format!("Gemeente {code}"),
                };
            }
        };
        Self {
            code: code.to_owned(),
            name: name.to_owned(),
        }
    }
}

/// Produces households until exactly `persons` residents exist (at most [`MAX_PERSONS`]).
/// Same seed, same people.
#[derive(Debug)]
pub struct Generator {
    rng: ChaCha8Rng,
    municipality: Municipality,
    today: Date,
    remaining: u64,
    bsns: BsnSequence,
    keys: Keys,
    next_address: u64,
}

impl Generator {
    pub fn new(seed: u64, persons: u64, municipality: Municipality, today: Date) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
            municipality,
            today,
            remaining: persons.min(MAX_PERSONS),
            bsns: BsnSequence::new(seed),
            keys: Keys::new(seed),
            next_address: 0,
        }
    }

    fn age(&mut self, min: u32, max: u32) -> u32 {
        loop {
            let roll = self.rng.random_range(0..1000);
            let mut acc = 0;
            let mut band_start = 0;
            for (start, share) in AGE_BANDS {
                acc += share;
                band_start = *start;
                if roll < acc {
                    break;
                }
            }
            let age = band_start + self.rng.random_range(0..10);
            if (min..=max).contains(&age) {
                return age;
            }
        }
    }

    fn birth_date(&mut self, age: u32) -> Datum {
        let days = i64::from(age) * 365 + i64::from(age / 4) + self.rng.random_range(1..365);
        Datum(self.today - Duration::days(days))
    }

    fn first_name(&mut self, born: Datum, geslacht: Geslacht) -> String {
        let year = born.0.year();
        let (_, women, men) = FIRST_NAMES
            .iter()
            .rev()
            .find(|(decade, _, _)| year >= *decade)
            .unwrap_or(&FIRST_NAMES[0]);
        let list = if geslacht == Geslacht::Vrouw {
            women
        } else {
            men
        };
        let first = list[self.rng.random_range(0..list.len())];
        // About a third carry a second first name.
        if self.rng.random_bool(0.3) {
            let second = list[self.rng.random_range(0..list.len())];
            if second != first {
                return format!("{first} {second}");
            }
        }
        first.to_owned()
    }

    fn surname(&mut self) -> (Option<String>, String) {
        // Common names are more common: square the roll towards the front of the list.
        let roll: f64 = self.rng.random();
        let index = ((roll * roll) * SURNAMES.len() as f64) as usize;
        let (voorvoegsel, naam) = SURNAMES[index.min(SURNAMES.len() - 1)];
        (voorvoegsel.map(str::to_owned), naam.to_owned())
    }

    fn address(&mut self, moved_in: Datum) -> Adres {
        let index = self.next_address;
        self.next_address += 1;
        let street = index / 300;
        let stems = STREET_STEMS.len() as u64;
        let kinds = STREET_KINDS.len() as u64;
        let mut name = format!(
            "{}{}",
            STREET_STEMS[(street % stems) as usize],
            STREET_KINDS[((street / stems) % kinds) as usize]
        );
        let round = street / (stems * kinds);
        if round > 0 {
            name = format!(
                "{} {name}",
                ["Oude", "Nieuwe", "Korte", "Lange", "Hoge", "Lage"][((round - 1) % 6) as usize]
            );
        }
        let village = street / (stems * kinds * 7);
        let woonplaats = if village == 0 {
            self.municipality.name.clone()
        } else {
            let parts = (
                [
                    "Ooster", "Wester", "Noorder", "Zuider", "Nieuw", "Oud", "Hoog", "Laag",
                ],
                [
                    "veen", "dorp", "wijk", "hout", "broek", "meer", "dam", "burg",
                ],
            );
            let n = (village - 1) as usize;
            format!(
                "{}{}{}",
                parts.0[n % 8],
                parts.1[(n / 8) % 8],
                if n >= 64 {
                    format!(" {}", n / 64 + 1)
                } else {
                    String::new()
                }
            )
        };
        const LETTERS: &[u8] = b"ABCDEGHJKLMNPRSTVWXZ";
        let group = index / 25;
        let digits = 1000 + (group / 25) % 9000;
        let pair = (group % 25) as usize;
        let letters = [
            LETTERS[pair % LETTERS.len()] as char,
            LETTERS[(pair * 7 + 3) % LETTERS.len()] as char,
        ];
        Adres {
            straat: name,
            huisnummer: (index % 300) as u32 + 1,
            huisletter: None,
            huisnummertoevoeging: None,
            postcode: format!("{digits}{}{}", letters[0], letters[1]),
            woonplaats,
            datum_van: moved_in,
        }
    }

    fn moved_in(&mut self, youngest_birth: Datum) -> Datum {
        // About one in a hundred households moved in within the last month.
        let days_since_birth = (self.today - youngest_birth.0).whole_days().max(1);
        let days_ago = if self.rng.random_bool(0.01) {
            self.rng.random_range(0..30)
        } else {
            self.rng.random_range(0..days_since_birth.min(40 * 365))
        };
        Datum(self.today - Duration::days(days_ago))
    }

    fn person(
        &mut self,
        geslacht: Geslacht,
        age: u32,
        surname: &(Option<String>, String),
    ) -> PersonRecord {
        let born = self.birth_date(age);
        let voornamen = self.first_name(born, geslacht);
        let land = Waarde::new("6030", "Nederland");
        let gemeente = Waarde::new(&self.municipality.code, &self.municipality.name);
        PersonRecord {
            burgerservicenummer: self.bsns.next_bsn(),
            geslacht,
            naam: Naam {
                voornamen,
                voorvoegsel: surname.0.clone(),
                geslachtsnaam: surname.1.clone(),
                adellijke_titel_predicaat: None,
            },
            geboorte: Geboorte {
                datum: born,
                plaats: gemeente.clone(),
                land,
            },
            nationaliteiten: vec![Waarde::new("0001", "Nederlandse")],
            verblijfplaats: None,
            gemeente_van_inschrijving: gemeente,
            datum_inschrijving_in_gemeente: born,
            partners: Vec::new(),
            ouders: Vec::new(),
            kinderen: Vec::new(),
            overlijden: None,
        }
    }

    fn random_sex(&mut self) -> Geslacht {
        if self.rng.random_bool(0.5) {
            Geslacht::Vrouw
        } else {
            Geslacht::Man
        }
    }

    fn household(&mut self) -> Records {
        // single 38%, couple 28%, couple with children 27%, single parent 7%
        let roll = self.rng.random_range(0..100);
        let (adults, children) = match roll {
            0..38 => (1, 0),
            38..66 => (2, 0),
            66..93 => (2, self.rng.random_range(1..=3)),
            _ => (1, self.rng.random_range(1..=3)),
        };
        let size = (adults + children).min(self.remaining);
        let (adults, children) = if size < adults + children {
            (1, 0)
        } else {
            (adults, children)
        };

        let family = self.surname();
        let first_age = if children > 0 {
            self.age(24, 60)
        } else {
            self.age(18, 99)
        };
        let first_sex = self.random_sex();
        let mut members = vec![self.person(first_sex, first_age, &family)];
        if adults == 2 {
            let partner_age = (first_age + self.rng.random_range(0..6))
                .saturating_sub(2)
                .max(18);
            let same_sex = self.rng.random_bool(0.03);
            let partner_sex = match (first_sex, same_sex) {
                (sex, true) => sex,
                (Geslacht::Vrouw, false) => Geslacht::Man,
                _ => Geslacht::Vrouw,
            };
            let own_name = self.surname();
            let mut partner = self.person(partner_sex, partner_age, &own_name);
            let youngest = first_age.min(partner_age);
            let married_at_age = self.rng.random_range(18..=youngest.max(18));
            let married = self.birth_date(youngest.saturating_sub(married_at_age));
            marry(&mut members[0], &mut partner, married);
            members.push(partner);
        }
        // Children living at home include young adults, as in real households.
        let max_child_age = first_age.saturating_sub(20).min(24);
        for _ in 0..children {
            let age = self.rng.random_range(0..=max_child_age);
            let sex = self.random_sex();
            let mut child = self.person(sex, age, &family);
            for (parent, aanduiding) in members.iter_mut().take(adults as usize).zip(["1", "2"]) {
                parent_child(parent, &mut child, aanduiding);
            }
            members.push(child);
        }

        let youngest_birth = members
            .iter()
            .map(|m| m.geboorte.datum)
            .max()
            .unwrap_or(Datum(self.today));
        let moved_in = self.moved_in(youngest_birth);
        let address = self.address(moved_in);
        for member in &mut members {
            let registered = if member.geboorte.datum > moved_in {
                member.geboorte.datum
            } else {
                moved_in
            };
            member.verblijfplaats = Some(Adres {
                datum_van: registered,
                ..address.clone()
            });
            member.datum_inschrijving_in_gemeente = registered;
        }
        // A few of the oldest have died this year or the last; they stay in the register.
        if let [only] = members.as_mut_slice()
            && only.geboorte.datum.years_until(self.today) >= 75
            && self.rng.random_bool(0.05)
        {
            let died = Datum(self.today - Duration::days(self.rng.random_range(1..730)));
            only.overlijden = Some(Overlijden {
                datum: died,
                plaats: only.gemeente_van_inschrijving.clone(),
                land: Waarde::new("6030", "Nederland"),
            });
        }
        self.remaining -= members.len() as u64;
        let mut records = Records::default();
        self.brp_history(&members, &mut records);
        household_records(
            &mut self.rng,
            &mut self.keys,
            self.today,
            &members,
            &mut records,
        );
        records.personen = members;
        records
    }

    /// Recent births, arrivals and deaths, for the BRP's change feed.
    fn brp_history(&mut self, members: &[PersonRecord], records: &mut Records) {
        let recent = |date: Datum| (self.today - date.0).whole_days() < FEED_WINDOW_DAYS;
        let mut events = Vec::new();
        for member in members {
            let registered = member.datum_inschrijving_in_gemeente;
            if recent(registered) {
                let soort = if registered == member.geboorte.datum {
                    "geboren"
                } else {
                    "ingeschreven"
                };
                events.push((registered, soort, member.burgerservicenummer.clone()));
            }
            if let Some(overlijden) = member.overlijden.as_ref().filter(|o| recent(o.datum)) {
                events.push((
                    overlijden.datum,
                    "overleden",
                    member.burgerservicenummer.clone(),
                ));
            }
        }
        for (date, soort, bsn) in events {
            let minutes = self.rng.random_range(8 * 60..18 * 60);
            let tijdstip = date.0.midnight().assume_utc() + Duration::minutes(minutes);
            records
                .mutaties
                .brp
                .push(NewMutatie::new(tijdstip, soort, &bsn, Some(&bsn)));
        }
    }
}

impl Iterator for Generator {
    type Item = Records;

    fn next(&mut self) -> Option<Self::Item> {
        (self.remaining > 0).then(|| self.household())
    }
}

/// Unique BSNs that pass the 11-proef, outside the 9999 range kept for personas, in
/// ascending order with small pseudo-random gaps: the numbers look scattered, never
/// repeat, and a register keyed by BSN takes each new resident at the end of its index.
/// (Scattered numbers put every insert at a random place in that index: a 1,000,000
/// resident load slowed down by 80% as the index outgrew the cache; BENCHMARKS.md.)
#[derive(Debug, Clone)]
pub struct BsnSequence {
    prefix: u64,
    state: u64,
}

const PREFIX_START: u64 = 10_000_000;
/// Prefixes 10000000..99990000: everything below the persona range 9999xxxxx.
const PREFIX_END: u64 = 99_990_000;
/// Where a seed starts: below this many prefixes past the first.
const MAX_OFFSET: u64 = 1_000_000;
/// Gaps between consecutive prefixes are 1..=MAX_GAP.
const MAX_GAP: u64 = 3;
/// The most residents a generator makes: the sequence holds at least this many numbers
/// even if every gap were the largest and every tenth prefix failed the 11-proef.
pub const MAX_PERSONS: u64 = 25_000_000;

impl BsnSequence {
    pub fn new(seed: u64) -> Self {
        let state = splitmix64(seed ^ 0x6273_6e5f_7365_7100);
        Self {
            prefix: PREFIX_START + state % MAX_OFFSET,
            state,
        }
    }

    /// The next number. Past [`MAX_PERSONS`] numbers it may start over from the
    /// beginning (the generator never asks that many).
    pub fn next_bsn(&mut self) -> String {
        loop {
            let prefix = self.prefix;
            self.state = splitmix64(self.state);
            self.prefix += 1 + self.state % MAX_GAP;
            if self.prefix >= PREFIX_END {
                self.prefix = PREFIX_START;
            }
            let digits = prefix.to_string();
            let sum: u32 = digits
                .bytes()
                .zip((2..=9).rev())
                .map(|(d, w)| u32::from(d - b'0') * w)
                .sum();
            let check = sum % 11;
            if check < 10 {
                return format!("{digits}{check}");
            }
        }
    }
}

/// SplitMix64's step: a well-mixed number from any state, cheaply.
fn splitmix64(state: u64) -> u64 {
    let mut z = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use loket_core::Bsn;
    use proptest::prelude::*;
    use std::collections::HashSet;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 11 - 23);

    fn generate_all(seed: u64, persons: u64) -> Records {
        let mut all = Records::default();
        for mut household in Generator::new(seed, persons, Municipality::from_code("9999"), TODAY) {
            all.append(&mut household);
        }
        all
    }

    fn generate(seed: u64, persons: u64) -> Vec<PersonRecord> {
        generate_all(seed, persons).personen
    }

    #[test]
    fn exactly_the_number_asked() {
        for n in [0, 1, 2, 3, 10, 997] {
            assert_eq!(generate(7, n).len() as u64, n);
        }
    }

    #[test]
    fn twenty_thousand_residents_look_like_a_municipality() {
        let people = generate(42, 20_000);
        let bsns: HashSet<&str> = people
            .iter()
            .map(|p| p.burgerservicenummer.as_str())
            .collect();
        assert_eq!(bsns.len(), people.len(), "no duplicate BSNs");
        let minors = people
            .iter()
            .filter(|p| p.geboorte.datum.years_until(TODAY) < 18)
            .count();
        assert!((2_000..6_000).contains(&minors), "{minors} minors");
        let recent = people
            .iter()
            .filter(|p| (TODAY - p.datum_inschrijving_in_gemeente.0).whole_days() < 31)
            .count();
        assert!(recent > 50, "{recent} recently moved in");
        assert!(
            people.iter().any(|p| p.overlijden.is_some()),
            "some have died"
        );
        for person in &people {
            for partner in &person.partners {
                let bsn = partner.burgerservicenummer.as_deref().unwrap();
                let other = people
                    .iter()
                    .find(|p| p.burgerservicenummer == bsn)
                    .unwrap();
                assert!(
                    other
                        .partners
                        .iter()
                        .any(|p| p.burgerservicenummer.as_deref()
                            == Some(person.burgerservicenummer.as_str()))
                );
            }
        }
    }

    #[test]
    fn the_other_registers_tell_the_stories_the_platform_must_handle() {
        let all = generate_all(11, 20_000);
        let adults = all
            .personen
            .iter()
            .filter(|p| p.geboorte.datum.years_until(TODAY) >= 18 && p.overlijden.is_none())
            .count();
        let owners: HashSet<&str> = all
            .voertuigen
            .iter()
            .map(|v| v.tenaamstelling.burgerservicenummer.as_str())
            .collect();
        let share = owners.len() as f64 / adults as f64;
        assert!(
            (0.40..0.50).contains(&share),
            "{share} of adults own a vehicle"
        );

        let plates: HashSet<&str> = all.voertuigen.iter().map(|v| v.kenteken.as_str()).collect();
        assert_eq!(plates.len(), all.voertuigen.len(), "unique plates");
        assert!(plates.iter().all(|k| {
            k.len() == 6
                && k.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        }));
        let numbers: HashSet<&str> = all
            .reisdocumenten
            .iter()
            .map(|d| d.reisdocumentnummer.as_str())
            .collect();
        assert_eq!(
            numbers.len(),
            all.reisdocumenten.len(),
            "unique document numbers"
        );
        assert!(numbers.iter().all(|n| {
            n.len() == 9
                && n.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        }));

        let days_left = |d: &loket_registers::reisdocumenten::Reisdocument| {
            (d.datum_einde_geldigheid.0 - TODAY).whole_days()
        };
        let expiring = all
            .reisdocumenten
            .iter()
            .filter(|d| (0..92).contains(&days_left(d)))
            .count();
        let expired = all
            .reisdocumenten
            .iter()
            .filter(|d| days_left(d) < 0)
            .count();
        let missing = all
            .reisdocumenten
            .iter()
            .filter(|d| d.inhouding_of_vermissing.is_some())
            .count();
        assert!(
            expiring > 100 && expired > 500 && missing > 20,
            "{expiring} expiring, {expired} expired, {missing} missing"
        );

        let ending_soon = all
            .inschrijvingen
            .iter()
            .filter(|i| (0..92).contains(&(i.datum_einde_verwacht.0 - TODAY).whole_days()))
            .count();
        assert!(
            ending_soon > 50,
            "{ending_soon} enrolments end within three months"
        );
        let on_benefit = all
            .inkomenssituaties
            .iter()
            .filter(|s| !s.uitkeringen.is_empty())
            .count();
        let households = all.personen.iter().filter(|p| p.ouders.is_empty()).count();
        let share = on_benefit as f64 / households as f64;
        assert!(
            (0.03..0.08).contains(&share),
            "{share} of households on a benefit"
        );

        // The feeds start with recent history for every register, and only recent history.
        for (name, list) in [
            ("brp", &all.mutaties.brp),
            ("reisdocumenten", &all.mutaties.reisdocumenten),
            ("rdw", &all.mutaties.rdw),
            ("duo", &all.mutaties.duo),
            ("inkomen", &all.mutaties.inkomen),
        ] {
            assert!(!list.is_empty(), "{name} has history");
            for mutatie in list {
                let age = (TODAY - mutatie.tijdstip.date()).whole_days();
                assert!(
                    (0..FEED_WINDOW_DAYS).contains(&age),
                    "{name}: {age} days ago"
                );
            }
        }
    }

    #[test]
    fn names_and_addresses_fit_the_brp_patterns() {
        for person in generate(3, 2_000) {
            let address = person.verblijfplaats.unwrap();
            assert!(
                address.postcode.len() == 6 && !address.postcode.starts_with('0'),
                "{}",
                address.postcode
            );
            assert!((1..=99_999).contains(&address.huisnummer));
            assert!(
                person
                    .naam
                    .geslachtsnaam
                    .chars()
                    .all(|c| c.is_alphanumeric() || " .-'".contains(c))
            );
        }
    }

    #[test]
    fn the_range_holds_the_most_residents_even_with_the_largest_gaps() {
        // Every gap MAX_GAP from the highest start, and a tenth of the prefixes failing
        // the 11-proef (it rejects about one in eleven): still room for MAX_PERSONS.
        let prefixes = (PREFIX_END - PREFIX_START - MAX_OFFSET) / MAX_GAP;
        assert!(prefixes / 10 * 9 >= MAX_PERSONS);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn same_seed_same_people(seed in any::<u64>(), persons in 0u64..300) {
            prop_assert_eq!(generate_all(seed, persons), generate_all(seed, persons));
        }

        #[test]
        fn bsns_are_valid_unique_and_outside_the_persona_range(seed in any::<u64>()) {
            let mut sequence = BsnSequence::new(seed);
            let mut seen = HashSet::new();
            for _ in 0..5_000 {
                let bsn = sequence.next_bsn();
                prop_assert!(Bsn::parse(&bsn).is_ok(), "{}", bsn);
                prop_assert!(!bsn.starts_with("9999"));
                prop_assert!(seen.insert(bsn));
            }
        }

        #[test]
        fn bsns_ascend_so_a_register_appends_them_at_the_end(seed in any::<u64>()) {
            let mut sequence = BsnSequence::new(seed);
            let mut last = sequence.next_bsn();
            for _ in 0..5_000 {
                let bsn = sequence.next_bsn();
                prop_assert_eq!(bsn.len(), 9);
                prop_assert!(bsn > last, "{} after {}", bsn, last);
                last = bsn;
            }
        }
    }
}
