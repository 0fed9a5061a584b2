#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use proptest::prelude::*;

use super::*;

fn repository_catalogue() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../catalogue")
}

fn files() -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(repository_catalogue())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| {
            (
                p.file_name().unwrap().to_str().unwrap().to_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

/// The repository's catalogue with one file's text changed by `edit`.
fn with_edit(file: &str, edit: impl Fn(&str) -> String) -> Result<Catalogue, CatalogueError> {
    let files: Vec<(String, String)> = files()
        .into_iter()
        .map(|(name, text)| {
            let text = if name == file { edit(&text) } else { text };
            (name, text)
        })
        .collect();
    Catalogue::parse(&files)
}

fn line_of(file: &str, needle: &str) -> usize {
    let text = std::fs::read_to_string(repository_catalogue().join(file)).unwrap();
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

const PRODUCT: &str = "bewonersparkeervergunning.toml";
const RULES: &str = "bewonersparkeervergunning.regels.toml";

#[test]
fn the_repository_catalogue_loads() {
    let catalogue = Catalogue::load(&repository_catalogue()).unwrap();
    let permit = catalogue.product("bewonersparkeervergunning").unwrap();
    assert_eq!(permit.behandeltermijn_dagen, 56);
    assert!(
        permit
            .levensgebeurtenissen
            .iter()
            .any(|e| e == "ik-heb-een-auto")
    );
    let rules = permit.regels.as_ref().expect("the permit has rules");
    assert_eq!(rules.rules.len(), 3);
    assert_eq!(rules.fee.len(), 3);
    assert_eq!(
        permit
            .gegevens
            .iter()
            .map(|g| g.dienst.as_str())
            .collect::<Vec<_>>(),
        ["brp-personen", "rdw-voertuigen", "inkomen"]
    );
    assert_eq!(
        permit.gegevens[0].request_for("999990007")["burgerservicenummer"],
        serde_json::json!(["999990007"])
    );
}

#[test]
fn a_toml_error_names_file_line_and_problem() {
    let error = with_edit(PRODUCT, |t| {
        t.replace(
            "behandeltermijn_dagen = 56",
            "behandeltermijn_dagen = \"acht weken\"",
        )
    })
    .unwrap_err();
    assert_eq!(error.file, PRODUCT);
    assert_eq!(error.line, line_of(PRODUCT, "behandeltermijn_dagen"));
    assert!(
        error
            .message
            .contains("\"acht weken\", expected a whole number"),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .starts_with(&format!("{PRODUCT}:{}:", error.line))
    );
}

#[test]
fn an_unknown_field_is_refused() {
    let error = with_edit(PRODUCT, |t| t.replace("kanalen =", "kanaaltjes =")).unwrap_err();
    assert_eq!(error.line, line_of(PRODUCT, "kanalen ="));
    assert!(error.message.contains("kanaaltjes"), "{error}");
}

#[test]
fn a_bad_rule_expression_names_its_line() {
    let error = with_edit(RULES, |t| {
        t.replace(
            "voorwaarde = \"bestaand.op_adres < parameters.max_vergunningen_per_adres\"",
            "voorwaarde = \"bestaand.op_adres <\"",
        )
    })
    .unwrap_err();
    assert_eq!(error.file, RULES);
    assert_eq!(error.line, line_of(RULES, "bestaand.op_adres < parameters"));
    assert!(error.message.contains("CEL"), "{error}");
}

#[test]
fn a_rule_reading_an_unknown_input_is_refused() {
    let error = with_edit(RULES, |t| {
        t.replace("rdw.voertuigen.exists", "rvdw.voertuigen.exists")
    })
    .unwrap_err();
    assert_eq!(error.line, line_of(RULES, "rdw.voertuigen.exists"));
    assert!(error.message.contains("`rvdw` is not an input"), "{error}");
}

#[test]
fn an_unknown_life_event_is_refused() {
    let error = with_edit(PRODUCT, |t| {
        t.replace("\"ik-ga-verhuizen\"]", "\"ik-ga-trouwen\"]")
    })
    .unwrap_err();
    assert_eq!(error.line, line_of(PRODUCT, "levensgebeurtenissen ="));
    assert!(error.message.contains("ik-ga-trouwen"), "{error}");
}

#[test]
fn the_id_must_match_the_file_name() {
    let error = with_edit(PRODUCT, |t| {
        t.replace("id = \"bewonersparkeervergunning\"", "id = \"parkeren\"")
    })
    .unwrap_err();
    assert!(error.message.contains("file's name"), "{error}");
}

#[test]
fn rules_without_a_product_are_refused() {
    let mut files = files();
    files.push(("verdwaald.regels.toml".into(), String::new()));
    let error = Catalogue::parse(&files).unwrap_err();
    assert_eq!(error.file, "verdwaald.regels.toml");
}

#[test]
fn a_catalogue_without_life_events_is_refused() {
    let files: Vec<_> = files()
        .into_iter()
        .filter(|(n, _)| n != LIFE_EVENTS_FILE)
        .collect();
    assert_eq!(Catalogue::parse(&files).unwrap_err().file, LIFE_EVENTS_FILE);
}

proptest! {
    /// Whatever a product file holds, loading gives a catalogue or an error that points
    /// inside the file; it never panics.
    #[test]
    fn any_product_file_loads_or_points_at_a_line(text in "(\\PC|\n){0,300}") {
        let mut files = files();
        files.retain(|(n, _)| n == LIFE_EVENTS_FILE);
        files.push(("x.toml".into(), text.clone()));
        if let Err(error) = Catalogue::parse(&files) {
            prop_assert_eq!(error.file, "x.toml");
            prop_assert!(error.line >= 1 && error.line <= text.lines().count() + 1);
        }
    }

    #[test]
    fn mutated_rules_load_or_point_at_a_line(position in 0usize..4000, byte in 32u8..127) {
        let mut files = files();
        let rules = files.iter_mut().find(|(n, _)| n == RULES).unwrap();
        let mut bytes = rules.1.clone().into_bytes();
        let position = position % bytes.len();
        bytes[position] = byte;
        if let Ok(text) = String::from_utf8(bytes) {
            rules.1 = text;
            if let Err(error) = Catalogue::parse(&files) {
                prop_assert!(error.line >= 1);
            }
        }
    }
}

#[test]
fn an_attachment_needed_when_no_yes_no_question_says_so_is_refused() {
    let error = with_edit(PRODUCT, |t| {
        t.replace(
            "nodig_als = \"leaseverklaring\"",
            "nodig_als = \"kenteken\"",
        )
    })
    .unwrap_err();
    assert_eq!(error.line, line_of(PRODUCT, "nodig_als ="));
    assert!(error.message.contains("ja-nee"), "{error}");
}
