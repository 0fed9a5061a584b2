use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use loket_core::Secret;

/// Where storage lives. Parsed from `sqlite:DIR` or `postgres://…`.
#[derive(Clone)]
pub enum StorageUrl {
    SqliteDir(PathBuf),
    /// The URL may hold a password, so it is kept as a secret.
    Postgres(Secret<String>),
}

#[derive(Debug, thiserror::Error)]
#[error("storage URL must start with sqlite: (a directory) or postgres:// (a database)")]
pub struct StorageUrlError;

impl FromStr for StorageUrl {
    type Err = StorageUrlError;
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        if let Some(rest) = input.strip_prefix("sqlite:") {
            let dir = rest.strip_prefix("//").unwrap_or(rest);
            if dir.is_empty() {
                return Err(StorageUrlError);
            }
            Ok(Self::SqliteDir(PathBuf::from(dir)))
        } else if input.starts_with("postgres://") || input.starts_with("postgresql://") {
            Ok(Self::Postgres(Secret::new(input.to_owned())))
        } else {
            Err(StorageUrlError)
        }
    }
}

impl fmt::Debug for StorageUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SqliteDir(dir) => write!(f, "sqlite:{}", dir.display()),
            Self::Postgres(_) => f.write_str("postgres://[redacted]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_backends_and_hides_passwords() {
        let sqlite: StorageUrl = "sqlite:./data".parse().unwrap();
        assert!(matches!(&sqlite, StorageUrl::SqliteDir(dir) if dir == &PathBuf::from("./data")));
        let pg: StorageUrl = "postgres://loket:hunter2@db/loket".parse().unwrap();
        assert!(!format!("{pg:?}").contains("hunter2"));
        assert!("mysql://x".parse::<StorageUrl>().is_err());
        assert!("sqlite:".parse::<StorageUrl>().is_err());
    }

    proptest::proptest! {
        /// Any text is a directory (after `sqlite:`), a PostgreSQL URL kept whole, or the
        /// one error; and no password ever shows in what is printed of it.
        #[test]
        fn any_text_parses_to_its_kind_and_never_shows_a_password(
            scheme in proptest::sample::select(vec!["sqlite:", "sqlite://", "postgres://", "postgresql://", "mysql://", "", "SQLITE:"]),
            rest in "\\PC{0,30}",
        ) {
            let input = format!("{scheme}{rest}");
            match input.parse::<StorageUrl>() {
                Ok(StorageUrl::SqliteDir(dir)) => {
                    proptest::prop_assert!(input.starts_with("sqlite:"));
                    let expected = input["sqlite:".len()..].strip_prefix("//").unwrap_or(&input["sqlite:".len()..]);
                    proptest::prop_assert_eq!(dir, PathBuf::from(expected));
                    proptest::prop_assert!(!expected.is_empty());
                }
                Ok(url @ StorageUrl::Postgres(_)) => {
                    proptest::prop_assert!(input.starts_with("postgres://") || input.starts_with("postgresql://"));
                    let StorageUrl::Postgres(secret) = &url else { unreachable!() };
                    proptest::prop_assert_eq!(secret.expose(), &input);
                    proptest::prop_assert_eq!(format!("{url:?}"), "postgres://[redacted]");
                }
                Err(_) => proptest::prop_assert!(
                    !(input.starts_with("postgres://") || input.starts_with("postgresql://"))
                        && input.strip_prefix("sqlite:").is_none_or(|r| r.strip_prefix("//").unwrap_or(r).is_empty())
                ),
            }
        }
    }
}
