//! Every path of the residential parking permit, on the repository's own rules.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};

use super::*;

use crate::catalogue::repository_permit as permit;

/// Sanne: lives at Kerkstraat 12 in Voorbeeldstad, owns 34GBV7, standard income.
fn sanne() -> Inputs {
    let mut inputs = Inputs::default();
    inputs.insert(
        "brp",
        json!({"personen": [{
            "naam": {"voornamen": "Sanne", "geslachtsnaam": "Vries", "voorvoegsel": "de"},
            "verblijfplaats": {"verblijfadres": {"officieleStraatnaam": "Kerkstraat", "huisnummer": 12, "postcode": "9901AB"}},
            "gemeenteVanInschrijving": {"code": "9999", "omschrijving": "Voorbeeldstad"}
        }]}),
    );
    inputs.insert(
        "rdw",
        json!({"voertuigen": [{"kenteken": "34GBV7", "merk": "VOLKSWAGEN"}]}),
    );
    inputs.insert("inkomen", json!({"inkomenssituaties": []}));
    inputs.insert(
        "aanvraag",
        json!({"kenteken": "34GBV7", "leaseverklaring": false}),
    );
    inputs.insert("parameters", json!({"max_vergunningen_per_adres": 2}));
    inputs.insert("gemeente", json!({"code": "9999", "naam": "Voorbeeldstad"}));
    inputs.insert("bestaand", json!({"op_adres": 0}));
    inputs.insert("tarief", json!({"bedrag_centen": 7500, "per": "jaar"}));
    inputs
}

fn with(mut inputs: Inputs, path: &str, value: Value) -> Inputs {
    let (name, rest) = path.split_once('.').unwrap_or((path, ""));
    let mut target = inputs.0.get_mut(name).unwrap();
    for key in rest.split('.').filter(|k| !k.is_empty()) {
        target = match key.parse::<usize>() {
            Ok(index) => &mut target[index],
            Err(_) => &mut target[key],
        };
    }
    *target = value;
    inputs
}

fn outcomes(record: &DecisionRecord) -> Vec<(&str, RuleOutcome)> {
    record
        .regels
        .iter()
        .map(|r| (r.id.as_str(), r.uitkomst))
        .collect()
}

#[test]
fn granted_when_every_rule_holds_with_the_reasons_in_plain_language() {
    let record = decide(&permit(), &sanne(), Vec::new());
    assert_eq!(record.uitkomst, Outcome::Toegekend);
    assert_eq!(
        record.uitleg.nl,
        "U krijgt de bewonersparkeervergunning. U staat ingeschreven op Kerkstraat 12 in \
         Voorbeeldstad. De auto met kenteken 34GBV7 staat op uw naam. Op uw adres zijn 0 van \
         de 2 vergunningen uitgegeven. U betaalt het gewone tarief."
    );
    assert_eq!(
        record.uitleg.en,
        "You get the residential parking permit. You are registered at Kerkstraat 12 in \
         Voorbeeldstad. The car with registration 34GBV7 is registered in your name. 0 of the \
         2 permits for your address have been issued. You pay the standard fee."
    );
    assert_eq!(record.tarief.as_ref().unwrap().bedrag_centen, 7500);
    assert!(record.bezwaar.is_none());
    let first = &record.regels[0];
    assert_eq!(first.invoer, ["brp", "gemeente"]);
    assert!(first.grondslag.contains("artikel 3"));
}

#[test]
fn refused_when_not_living_in_the_municipality_with_the_right_to_object() {
    let inputs = with(
        sanne(),
        "brp.personen.0.gemeenteVanInschrijving",
        json!({"code": "0363", "omschrijving": "Amsterdam"}),
    );
    let record = decide(&permit(), &inputs, Vec::new());
    assert_eq!(record.uitkomst, Outcome::Afgewezen);
    assert_eq!(
        outcomes(&record)[0],
        ("woont-in-gemeente", RuleOutcome::NietVoldaan)
    );
    assert!(
        record
            .uitleg
            .nl
            .starts_with("U krijgt de bewonersparkeervergunning niet. U staat niet ingeschreven in Voorbeeldstad."),
        "{}",
        record.uitleg.nl
    );
    assert!(
        record
            .bezwaar
            .unwrap()
            .nl
            .contains("binnen 6 weken bezwaar")
    );
}

#[test]
fn refused_when_the_car_is_not_in_the_applicants_name() {
    let inputs = with(sanne(), "aanvraag.kenteken", json!("52HTN9"));
    let record = decide(&permit(), &inputs, Vec::new());
    assert_eq!(record.uitkomst, Outcome::Afgewezen);
    assert_eq!(
        outcomes(&record)[1],
        ("auto-op-naam", RuleOutcome::NietVoldaan)
    );
    assert!(
        record
            .uitleg
            .nl
            .contains("De auto met kenteken 52HTN9 staat niet op uw naam bij de RDW.")
    );
    // Only the reasons for the refusal, not what did hold.
    assert!(!record.uitleg.nl.contains("Kerkstraat"));
}

#[test]
fn refused_when_the_address_has_its_maximum() {
    let inputs = with(sanne(), "bestaand.op_adres", json!(2));
    let record = decide(&permit(), &inputs, Vec::new());
    assert_eq!(record.uitkomst, Outcome::Afgewezen);
    assert_eq!(
        outcomes(&record)[2],
        ("plaats-op-adres", RuleOutcome::NietVoldaan)
    );
    assert!(
        record
            .uitleg
            .nl
            .contains("Op uw adres zijn al 2 vergunningen uitgegeven. Per adres kunnen er 2 zijn.")
    );
}

#[test]
fn every_failed_rule_is_a_reason() {
    let inputs = with(
        with(sanne(), "aanvraag.kenteken", json!("52HTN9")),
        "bestaand.op_adres",
        json!(3),
    );
    let record = decide(&permit(), &inputs, Vec::new());
    assert_eq!(record.uitkomst, Outcome::Afgewezen);
    assert!(record.uitleg.nl.contains("52HTN9") && record.uitleg.nl.contains("al 3 vergunningen"));
}

#[test]
fn a_lease_car_goes_to_a_person() {
    let inputs = with(
        with(sanne(), "aanvraag.kenteken", json!("LE4S3X")),
        "aanvraag.leaseverklaring",
        json!(true),
    );
    let record = decide(&permit(), &inputs, Vec::new());
    assert_eq!(record.uitkomst, Outcome::Behandelaar);
    assert_eq!(
        outcomes(&record)[1],
        ("auto-op-naam", RuleOutcome::Behandelaar)
    );
    assert!(
        record
            .uitleg
            .nl
            .starts_with("Een medewerker beoordeelt uw aanvraag.")
    );
    assert!(record.uitleg.nl.contains("lease"));
}

#[test]
fn missing_register_data_goes_to_a_person_with_the_error_kept() {
    let mut inputs = sanne();
    inputs.0.remove("brp");
    let record = decide(&permit(), &inputs, Vec::new());
    assert_eq!(record.uitkomst, Outcome::Behandelaar);
    let first = &record.regels[0];
    assert_eq!(first.uitkomst, RuleOutcome::Onbeslist);
    assert!(first.fout.is_some());
    assert!(
        record
            .uitleg
            .nl
            .contains("We konden niet automatisch nagaan")
    );
}

#[test]
fn the_lowest_income_pays_nothing_and_the_next_half() {
    let klasse = |code: &str| {
        with(
            sanne(),
            "inkomen",
            json!({"inkomenssituaties": [{"inkomensklasse": {"code": code}}]}),
        )
    };
    let free = decide(&permit(), &klasse("T110"), Vec::new());
    assert_eq!(free.uitkomst, Outcome::Toegekend);
    let fee = free.tarief.unwrap();
    assert_eq!((fee.rij, fee.bedrag_centen), (1, 0));
    assert!(
        free.uitleg.nl.ends_with(
            "U betaalt niets: uw inkomen is niet hoger dan 110% van het sociaal minimum."
        )
    );
    assert_eq!(
        decide(&permit(), &klasse("T130"), Vec::new())
            .tarief
            .unwrap()
            .bedrag_centen,
        3750
    );
    assert_eq!(
        decide(&permit(), &klasse("B150"), Vec::new())
            .tarief
            .unwrap()
            .bedrag_centen,
        7500
    );
}

#[test]
fn without_automatic_refusal_a_person_refuses() {
    let mut product = permit();
    product.automatisch_besluit.afwijzen = false;
    let inputs = with(sanne(), "bestaand.op_adres", json!(2));
    assert_eq!(
        decide(&product, &inputs, Vec::new()).uitkomst,
        Outcome::Behandelaar
    );
}

#[test]
fn a_product_without_rules_goes_to_a_person() {
    let mut product = permit();
    product.regels = None;
    assert_eq!(
        decide(&product, &sanne(), Vec::new()).uitkomst,
        Outcome::Behandelaar
    );
}

#[test]
fn the_record_round_trips_as_json() {
    let record = decide(&permit(), &sanne(), Vec::new());
    let json = serde_json::to_value(&record).unwrap();
    assert_eq!(json["uitkomst"], "toegekend");
    assert_eq!(json["regels"][1]["uitkomst"], "voldaan");
    let back: DecisionRecord = serde_json::from_value(json).unwrap();
    assert_eq!(back, record);
}

/// A person's reason is a paragraph of its own in both languages, whatever line breaks
/// the form sent, so that pages can tell the employee's Dutch from the translation.
#[test]
fn a_persons_reason_is_its_own_paragraphs() {
    let record = by_person(
        None,
        &permit(),
        Outcome::Afgewezen,
        PersonDecision {
            medewerker: "m.jansen".to_owned(),
            naam: "M. Jansen".to_owned(),
            reden: "  Er is geen leasecontract.\r\n\r\nStuur het alsnog.  ".to_owned(),
            moment: time::macros::datetime!(2026-11-23 10:00 UTC),
            regels_uitkomst: Outcome::Behandelaar,
        },
    );
    assert_eq!(
        record.uitleg.nl,
        "U krijgt de bewonersparkeervergunning niet.\n\nEr is geen leasecontract.\n\nStuur het alsnog."
    );
    assert!(
        record
            .uitleg
            .en
            .ends_with(":\n\nEr is geen leasecontract.\n\nStuur het alsnog."),
        "{}",
        record.uitleg.en
    );
    assert!(record.bezwaar.is_some(), "a refusal says how to object");
}
