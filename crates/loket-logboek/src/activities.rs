//! The register of processing activities (verwerkingsactiviteiten, AVG article 30): what
//! each activity is called, what it is for, on which legal basis, and how long its log
//! records are kept. Grants name activities by id; inzage shows a resident these texts.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use time::Duration;

/// Text in Dutch (first) and English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Text {
    pub nl: String,
    pub en: String,
}

/// One processing activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Verwerkingsactiviteit {
    /// A URI, as LDV's `dpl.core.processing_activity_id` asks.
    pub id: String,
    pub naam: Text,
    pub doel: Text,
    pub grondslag: Text,
    /// How long the log keeps a record of this activity, in days.
    pub bewaartermijn_dagen: u32,
}

/// All activities an organisation's log knows, by id.
#[derive(Debug, Clone, Default)]
pub struct Activities(BTreeMap<String, Verwerkingsactiviteit>);

#[derive(Debug, thiserror::Error)]
pub enum ActivitiesError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    verwerkingsactiviteit: Vec<Verwerkingsactiviteit>,
}

/// Records of unknown activities (a denied request that named none, or a made-up one)
/// are kept one year: long enough to investigate, no longer.
pub(crate) const UNKNOWN_ACTIVITY_RETENTION_DAYS: u32 = 366;

impl Activities {
    /// Parse a TOML file of `[[verwerkingsactiviteit]]` tables; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, ActivitiesError> {
        let invalid = |message: String| ActivitiesError::Invalid {
            path: origin.to_owned(),
            message,
        };
        let file: File = toml::from_str(text).map_err(|error| invalid(error.to_string()))?;
        let mut activities = BTreeMap::new();
        for activity in file.verwerkingsactiviteit {
            if !activity.id.starts_with("https://") && !activity.id.starts_with("urn:") {
                return Err(invalid(format!(
                    "activity id {:?} must be a URI (https:// or urn:)",
                    activity.id
                )));
            }
            if activity.bewaartermijn_dagen == 0 {
                return Err(invalid(format!(
                    "activity {} needs a bewaartermijnDagen above 0",
                    activity.id
                )));
            }
            let id = activity.id.clone();
            if activities.insert(id.clone(), activity).is_some() {
                return Err(invalid(format!("activity {id} appears twice")));
            }
        }
        Ok(Self(activities))
    }

    pub fn load(path: &Path) -> Result<Self, ActivitiesError> {
        let text = std::fs::read_to_string(path).map_err(|source| ActivitiesError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    pub fn get(&self, id: &str) -> Option<&Verwerkingsactiviteit> {
        self.0.get(id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Verwerkingsactiviteit> {
        self.0.values()
    }

    /// How long records of this activity are kept.
    pub fn retention(&self, id: Option<&str>) -> Duration {
        let days = id
            .and_then(|id| self.get(id))
            .map_or(UNKNOWN_ACTIVITY_RETENTION_DAYS, |a| a.bewaartermijn_dagen);
        Duration::days(i64::from(days))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const ONE: &str = r#"
[[verwerkingsactiviteit]]
id = "https://voorbeeldstad.example/verwerkingen/parkeervergunning"
bewaartermijnDagen = 730
naam = { nl = "Parkeervergunning behandelen", en = "Handling a parking permit" }
doel = { nl = "Beslissen op uw aanvraag", en = "Deciding on your application" }
grondslag = { nl = "Parkeerverordening", en = "Parking by-law" }
"#;

    #[test]
    fn parses_and_gives_the_retention() {
        let activities = Activities::parse(ONE, "test.toml").unwrap();
        let id = "https://voorbeeldstad.example/verwerkingen/parkeervergunning";
        assert_eq!(
            activities.get(id).unwrap().naam.en,
            "Handling a parking permit"
        );
        assert_eq!(activities.retention(Some(id)), Duration::days(730));
        assert_eq!(activities.retention(Some("urn:other")), Duration::days(366));
        assert_eq!(activities.retention(None), Duration::days(366));
    }

    #[test]
    fn errors_name_the_file_and_the_problem() {
        let twice = format!("{ONE}{ONE}");
        let error = Activities::parse(&twice, "acts.toml")
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("acts.toml:") && error.contains("twice"),
            "{error}"
        );
        let relative = ONE.replace("https://voorbeeldstad.example", "voorbeeldstad");
        let error = Activities::parse(&relative, "acts.toml")
            .unwrap_err()
            .to_string();
        assert!(error.contains("must be a URI"), "{error}");
        let typo = ONE.replace("bewaartermijnDagen", "bewaartermijn");
        let error = Activities::parse(&typo, "acts.toml")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("acts.toml") && error.contains("line"),
            "{error}"
        );
    }

    proptest::proptest! {
        /// Any text is read or refused with a reason, never a panic.
        #[test]
        fn any_text_is_read_or_refused(text in "\\PC{0,300}") {
            if let Err(error) = Activities::parse(&text, "acts.toml") {
                proptest::prop_assert!(error.to_string().starts_with("acts.toml: "));
            }
        }

        /// A register written out is read back as written: each activity by its id,
        /// with its retention. (One without any activity is refused.)
        #[test]
        fn a_register_is_read_as_written(
            activities in proptest::collection::btree_map("[a-z0-9-]{1,20}", (1u32..20_000, "\\PC{0,20}"), 1..6),
        ) {
            let mut text = String::new();
            for (name, (days, naam)) in &activities {
                let naam = toml::Value::String(naam.clone());
                text.push_str(&format!(
                    "[[verwerkingsactiviteit]]\nid = \"urn:test:{name}\"\nbewaartermijnDagen = {days}\nnaam = {{ nl = {naam}, en = {naam} }}\ndoel = {{ nl = \"d\", en = \"p\" }}\ngrondslag = {{ nl = \"g\", en = \"l\" }}\n"
                ));
            }
            let read = Activities::parse(&text, "acts.toml").unwrap();
            proptest::prop_assert_eq!(read.iter().count(), activities.len());
            for (name, (days, naam)) in &activities {
                let id = format!("urn:test:{name}");
                let activity = read.get(&id).unwrap();
                proptest::prop_assert_eq!(&activity.naam.nl, naam);
                proptest::prop_assert_eq!(read.retention(Some(&id)), Duration::days(i64::from(*days)));
            }
        }
    }
}
