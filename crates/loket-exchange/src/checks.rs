//! What the directory takes from a provider and a grant takes from a consumer: a service
//! name outways can route by, an inway they can reach over mutual TLS, and field paths a
//! grant can be checked against. Checked once, where it is written, so the API and the
//! CLI refuse the same things and nothing unusable is stored.

use std::fmt;

use crate::manager::ServiceEntry;

/// One thing wrong with a publication or a connection request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flaw {
    /// The field as the management API names it.
    pub field: &'static str,
    pub rule: Rule,
}

/// The rule a value breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// `^[a-z0-9-]{3,255}$`.
    ServiceName,
    /// `https://host[:port]`, nothing after it.
    InwayAddress,
    /// A path from the inway's root, starting with `/`.
    DocumentPath,
    /// Names of letters, digits and `_`, joined by dots (`verblijfplaats.adres`).
    FieldPath,
    /// A grant limited to fields lists at least one.
    NoFields,
}

impl Rule {
    /// The code in the problem's `invalidParams`, as the ZGW APIs name their rules.
    pub fn code(self) -> &'static str {
        match self {
            Self::ServiceName | Self::FieldPath => "pattern",
            Self::InwayAddress | Self::DocumentPath => "format",
            Self::NoFields => "minItems",
        }
    }

    /// The reason in Dutch, for the problem's `invalidParams`.
    pub fn reason_nl(self) -> &'static str {
        match self {
            Self::ServiceName => "Waarde voldoet niet aan patroon ^[a-z0-9-]{3,255}$.",
            Self::InwayAddress => {
                "Geen https-adres met alleen een host en eventueel een poort (https://host:poort)."
            }
            Self::DocumentPath => "Geen pad vanaf de inway, beginnend met /.",
            Self::FieldPath => {
                "Geen veldpad: namen van letters, cijfers en _, gescheiden door punten."
            }
            Self::NoFields => "Array bevat minder dan 1 items; laat het veld weg voor alle velden.",
        }
    }
}

impl fmt::Display for Flaw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = match self.rule {
            Rule::ServiceName => "is not 3 to 255 lower-case letters, digits and hyphens",
            Rule::InwayAddress => {
                "is not an https:// address with only a host and port (outways reach it over mutual TLS)"
            }
            Rule::DocumentPath => "is not a path from the inway's root, starting with /",
            Rule::FieldPath if self.field == "fields" => {
                "hold one that is not a field path (names of letters, digits and _, joined by dots)"
            }
            Rule::FieldPath => {
                "is not a field path (names of letters, digits and _, joined by dots)"
            }
            Rule::NoFields => "list no field; leave them out to grant all fields",
        };
        let what = match self.field {
            "name" => "the service name",
            "inway" => "the inway",
            "openapi" => "the OpenAPI document's path",
            "subjectField" => "the subject field",
            "fields" => "the fields",
            other => other,
        };
        write!(f, "{what} {why}")
    }
}

/// Everything wrong with a directory entry; empty when the directory can take it.
pub fn publication_flaws(entry: &ServiceEntry) -> Vec<Flaw> {
    let mut flaws = Vec::new();
    let mut check = |ok: bool, field, rule| {
        if !ok {
            flaws.push(Flaw { field, rule });
        }
    };
    check(
        crate::manager::is_service_name(&entry.name),
        "name",
        Rule::ServiceName,
    );
    check(is_inway_address(&entry.inway), "inway", Rule::InwayAddress);
    check(
        is_document_path(&entry.openapi),
        "openapi",
        Rule::DocumentPath,
    );
    check(
        entry.subject_field.as_deref().is_none_or(is_field_path),
        "subjectField",
        Rule::FieldPath,
    );
    flaws
}

/// Everything wrong with the fields a connection grant is limited to (`None`: all).
pub fn field_flaws(fields: Option<&[String]>) -> Vec<Flaw> {
    match fields {
        None => Vec::new(),
        Some([]) => vec![Flaw {
            field: "fields",
            rule: Rule::NoFields,
        }],
        Some(fields) if fields.iter().all(|f| is_field_path(f)) => Vec::new(),
        Some(_) => vec![Flaw {
            field: "fields",
            rule: Rule::FieldPath,
        }],
    }
}

/// `https://host[:port]`: the outway puts the service's path after it, so a path, query,
/// fragment or user name here would be lost or misread. Read as the outway reads it
/// ([`crate::forward::base_uri`]), so the two cannot drift apart.
fn is_inway_address(address: &str) -> bool {
    let Ok(uri) = crate::forward::base_uri(address) else {
        return false;
    };
    let Some(authority) = uri.authority() else {
        return false;
    };
    // Nothing but the authority after the scheme (a path, query or fragment would show).
    let only_authority = address
        .strip_prefix("https://")
        .map(|rest| rest.strip_suffix('/').unwrap_or(rest))
        == Some(authority.as_str());
    // The host first (no user name before it), then at most a port that is a number.
    let port_is_a_number = authority
        .as_str()
        .strip_prefix(authority.host())
        .is_some_and(|port| {
            port.is_empty()
                || port.strip_prefix(':').is_some_and(|p| {
                    p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_ok()
                })
        });
    only_authority && !authority.host().is_empty() && port_is_a_number
}

/// A path from the inway's root (`/openapi.json`), as `http` parses a request path.
fn is_document_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && path.len() <= 2048
        && path.parse::<axum::http::uri::PathAndQuery>().is_ok()
}

/// `naam`, `verblijfplaats.adresseerbaarObjectIdentificatie`: the characters Haal
/// Centraal's `fields` takes (`^[a-zA-Z0-9._]{1,200}$`), without an empty name between
/// dots, so that `naam.` cannot grant `naam.x`.
pub fn is_field_path(path: &str) -> bool {
    path.len() <= 200
        && path.split('.').all(|name| {
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn an_inway_is_an_https_host_and_port_only() {
        for good in [
            "https://127.0.0.1:8443",
            "https://inway.rvig.example.nl",
            "https://inway.rvig.example.nl/",
            "https://[::1]:443",
        ] {
            assert!(is_inway_address(good), "{good}");
        }
        for bad in [
            "",
            "x",
            "http://127.0.0.1:8443",
            "https://",
            "https:///pad",
            "https://host/pad",
            "https://host?x=1",
            "https://user@host",
            "https://host#frag",
            "HTTPS://host",
            "https://host:port",
            "https://host:99999",
            "https://host:",
            " https://host",
        ] {
            assert!(!is_inway_address(bad), "{bad}");
        }
    }

    #[test]
    fn a_flaw_reads_as_a_sentence() {
        let flaw = |field, rule| Flaw { field, rule }.to_string();
        assert_eq!(
            flaw("fields", Rule::FieldPath),
            "the fields hold one that is not a field path (names of letters, digits and _, joined by dots)"
        );
        assert!(
            flaw("subjectField", Rule::FieldPath)
                .starts_with("the subject field is not a field path")
        );
    }

    #[test]
    fn field_paths_are_dotted_names() {
        for good in [
            "naam",
            "verblijfplaats.adres",
            "a1.b2.c3",
            "houder.burger_service_nummer",
            "2e",
        ] {
            assert!(is_field_path(good), "{good}");
        }
        for bad in [
            "", ".", "naam.", ".naam", "naam..x", "na am", "naam/x", "é", "naam-x",
        ] {
            assert!(!is_field_path(bad), "{bad}");
        }
    }

    #[test]
    fn a_document_is_a_path_from_the_root() {
        assert!(is_document_path("/openapi.json"));
        assert!(is_document_path("/api/v1/openapi.yaml?v=2"));
        for bad in [
            "",
            "openapi.json",
            "//evil.example/x",
            "/a b",
            "https://x/openapi.json",
        ] {
            assert!(!is_document_path(bad), "{bad}");
        }
    }

    proptest! {
        /// Whatever an inway address is, the outway can put a path after it.
        #[test]
        fn an_accepted_inway_takes_a_path(address in "(https?://)?[a-z0-9.:/?#@\\[\\]-]{0,24}") {
            if is_inway_address(&address) {
                let base = crate::forward::base_uri(&address).unwrap();
                let target = crate::forward::uri(&base, "/personen", None).unwrap();
                prop_assert_eq!(target.scheme_str(), Some("https"));
                prop_assert_eq!(target.authority(), base.authority());
                prop_assert_eq!(target.path(), "/personen");
            }
        }

        /// A field path never holds an empty name, so `naam.` cannot grant `naam.x`.
        #[test]
        fn a_field_path_has_no_empty_name(path in "[a-zA-Z0-9_.]{0,12}") {
            prop_assert_eq!(is_field_path(&path), !path.split('.').any(str::is_empty));
        }
    }
}
