//! An organisation's log keys: the Ed25519 key that signs tree heads and the HMAC key
//! for pseudonyms. Kept in files outside the database, so someone who can write the
//! database still cannot forge a tree head or reverse a pseudonym.

use std::path::{Path, PathBuf};

use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};

use crate::PseudonymKey;
use crate::head_file::HeadFile;

/// The keys of one organisation's log.
#[derive(Debug)]
pub struct LogKeys {
    signing: Ed25519KeyPair,
    pub pseudonyms: PseudonymKey,
    /// Where the newest signed head is kept, beside the key files; none for keys that
    /// live in memory only.
    head_file: Option<HeadFile>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read or write the key file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the key file {0} does not hold a valid key")]
    Invalid(PathBuf),
    #[error("cannot generate a key")]
    Random,
}

/// The public half of a signing key, to check tree heads with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyingKey(pub Vec<u8>);

impl LogKeys {
    /// Fresh random keys (tests, and the first start of a log).
    pub fn generate() -> Result<Self, KeyError> {
        let random = SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&random).map_err(|_| KeyError::Random)?;
        let signing = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|_| KeyError::Random)?;
        let mut hmac = [0u8; 32];
        random.fill(&mut hmac).map_err(|_| KeyError::Random)?;
        Ok(Self {
            signing,
            pseudonyms: PseudonymKey::new(hmac),
            head_file: None,
        })
    }

    /// Load `<dir>/<name>.signing.pk8` and `<dir>/<name>.pseudonym.key`, creating both
    /// (readable by the owner only) when neither exists yet.
    pub fn load_or_create(dir: &Path, name: &str) -> Result<Self, KeyError> {
        let signing_path = dir.join(format!("{name}.signing.pk8"));
        let hmac_path = dir.join(format!("{name}.pseudonym.key"));
        if !signing_path.exists() && !hmac_path.exists() {
            std::fs::create_dir_all(dir).map_err(|source| KeyError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
            let random = SystemRandom::new();
            let pkcs8 = Ed25519KeyPair::generate_pkcs8(&random).map_err(|_| KeyError::Random)?;
            let mut hmac = [0u8; 32];
            random.fill(&mut hmac).map_err(|_| KeyError::Random)?;
            write_private(&signing_path, pkcs8.as_ref())?;
            write_private(&hmac_path, &hmac)?;
        }
        Self::load(dir, name)
    }

    /// Load existing keys; never creates any (for `verify`).
    pub fn load(dir: &Path, name: &str) -> Result<Self, KeyError> {
        let signing_path = dir.join(format!("{name}.signing.pk8"));
        let hmac_path = dir.join(format!("{name}.pseudonym.key"));
        let pkcs8 = read(&signing_path)?;
        let signing = Ed25519KeyPair::from_pkcs8(&pkcs8)
            .map_err(|_| KeyError::Invalid(signing_path.clone()))?;
        let hmac: [u8; 32] = read(&hmac_path)?
            .try_into()
            .map_err(|_| KeyError::Invalid(hmac_path.clone()))?;
        Ok(Self {
            signing,
            pseudonyms: PseudonymKey::new(hmac),
            head_file: Some(HeadFile::beside_keys(dir, name)),
        })
    }

    /// The file that keeps the newest head this log signed ([`HeadFile`]).
    pub fn head_file(&self) -> Option<&HeadFile> {
        self.head_file.as_ref()
    }

    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.signing.sign(message).as_ref().to_vec()
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey(self.signing.public_key().as_ref().to_vec())
    }
}

impl VerifyingKey {
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&ED25519, &self.0)
            .verify(message, signature)
            .is_ok()
    }
}

fn read(path: &Path) -> Result<Vec<u8>, KeyError> {
    std::fs::read(path).map_err(|source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Write a key whole or not at all: into a file of its own beside it, synced, then
/// renamed into place (a crash or a full disk leaves no half key behind, which would
/// keep the log from ever starting). An existing key is never replaced.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    use std::io::Write;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| KeyError::Io { path, source }
    };
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = std::path::PathBuf::from(partial);
    // One left by a crash goes: made anew, it is the owner's only.
    match std::fs::remove_file(&partial) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            return Err(io(&partial)(error));
        }
        _ => {}
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&partial).map_err(io(&partial))?;
    file.write_all(bytes).map_err(io(&partial))?;
    file.sync_all().map_err(io(&partial))?;
    if path.exists() {
        return Err(io(path)(std::io::ErrorKind::AlreadyExists.into()));
    }
    std::fs::rename(&partial, path).map_err(io(path))?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)
            .and_then(|dir| dir.sync_all())
            .map_err(io(dir))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn keys_survive_a_restart_and_sign_verifiably() {
        let dir = tempfile::tempdir().unwrap();
        let first = LogKeys::load_or_create(dir.path(), "gemeente").unwrap();
        let again = LogKeys::load_or_create(dir.path(), "gemeente").unwrap();
        assert_eq!(first.verifying_key(), again.verifying_key());
        assert_eq!(
            first.pseudonyms.bsn("999990007"),
            again.pseudonyms.bsn("999990007")
        );
        let signature = first.sign(b"tree head");
        assert!(again.verifying_key().verify(b"tree head", &signature));
        assert!(!again.verifying_key().verify(b"another head", &signature));
    }

    /// What a crash while writing the keys leaves (a partial file) does not keep the
    /// next start from making them; none is left behind.
    #[test]
    fn keys_are_written_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("rvig.signing.pk8.partial"), b"half").unwrap();
        let keys = LogKeys::load_or_create(dir.path(), "rvig").unwrap();
        let again = LogKeys::load(dir.path(), "rvig").unwrap();
        assert_eq!(keys.verifying_key(), again.verifying_key());
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["rvig.pseudonym.key", "rvig.signing.pk8"]);
        #[cfg(unix)]
        for name in names {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(&name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
    }

    proptest::proptest! {
        /// Whatever bytes the key files hold, loading them gives keys or an error that
        /// names a file, never a panic; the HMAC key must be 32 bytes.
        #[test]
        fn any_key_files_are_read_or_refused_by_name(
            signing in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..120),
            pseudonym in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
        ) {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("x.signing.pk8"), &signing).unwrap();
            std::fs::write(dir.path().join("x.pseudonym.key"), &pseudonym).unwrap();
            match LogKeys::load(dir.path(), "x") {
                Ok(_) => proptest::prop_assert_eq!(pseudonym.len(), 32),
                Err(error) => proptest::prop_assert!(error.to_string().contains("x."), "{}", error),
            }
        }
    }

    #[test]
    fn a_damaged_key_file_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        LogKeys::load_or_create(dir.path(), "rvig").unwrap();
        std::fs::write(dir.path().join("rvig.pseudonym.key"), b"short").unwrap();
        let error = LogKeys::load_or_create(dir.path(), "rvig").unwrap_err();
        assert!(error.to_string().contains("rvig.pseudonym.key"), "{error}");
    }
}
