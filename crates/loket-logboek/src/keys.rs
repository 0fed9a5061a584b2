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
    #[error(
        "the log's key file {missing} is missing beside {present}: restore it from a backup (if this log never ran, remove {present} to make both anew)"
    )]
    Missing { missing: PathBuf, present: PathBuf },
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
    /// (readable by the owner only) when there is no signing key yet.
    pub fn load_or_create(dir: &Path, name: &str) -> Result<Self, KeyError> {
        let signing_path = dir.join(format!("{name}.signing.pk8"));
        if !signing_path.exists() {
            create(dir, name)?;
        }
        let hmac_path = dir.join(format!("{name}.pseudonym.key"));
        if !hmac_path.exists() {
            // Only an earlier version made the signing key first; its pair may be half.
            return Err(KeyError::Missing {
                missing: hmac_path,
                present: signing_path,
            });
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

/// Make a log's two keys, once, whole or not at all. Under a lock (two processes that
/// start at once make one pair), each is written to a partial file and synced; then the
/// pseudonym key is put in place, and the signing key last: a signing key in place means
/// both are. A start that finds the pseudonym key in place and the signing key still
/// partial (a crash between the two) puts it in place; one that finds no key in place
/// begins again.
fn create(dir: &Path, name: &str) -> Result<(), KeyError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| KeyError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let lock_path = dir.join(format!("{name}.keys.lock"));
    let lock = std::fs::File::create(&lock_path).map_err(io(&lock_path))?;
    lock.lock().map_err(io(&lock_path))?;
    let signing_path = dir.join(format!("{name}.signing.pk8"));
    let hmac_path = dir.join(format!("{name}.pseudonym.key"));
    if signing_path.exists() {
        return Ok(());
    }
    let (signing_partial, hmac_partial) = (partial(&signing_path), partial(&hmac_path));
    if hmac_path.exists() {
        // Without the signing key's partial file, the key was lost, not cut short:
        // loading says which file is missing.
        if signing_partial.exists() {
            std::fs::rename(&signing_partial, &signing_path).map_err(io(&signing_path))?;
            sync_dir(dir).map_err(io(dir))?;
        }
        return Ok(());
    }
    let random = SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&random).map_err(|_| KeyError::Random)?;
    let mut hmac = [0u8; 32];
    random.fill(&mut hmac).map_err(|_| KeyError::Random)?;
    write_private(&signing_partial, pkcs8.as_ref()).map_err(io(&signing_partial))?;
    write_private(&hmac_partial, &hmac).map_err(io(&hmac_partial))?;
    std::fs::rename(&hmac_partial, &hmac_path).map_err(io(&hmac_path))?;
    sync_dir(dir).map_err(io(dir))?;
    std::fs::rename(&signing_partial, &signing_path).map_err(io(&signing_path))?;
    sync_dir(dir).map_err(io(dir))
}

/// Where a key is written before it is put in place.
fn partial(path: &Path) -> std::path::PathBuf {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    std::path::PathBuf::from(partial)
}

/// Write `bytes` to a new file at `path`, readable by the owner only, synced. One left
/// there by a crash goes first.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    match std::fs::remove_file(path) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(error),
        _ => {}
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Make the names in `dir` durable (a rename is the directory's change).
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
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
        assert_eq!(
            names,
            ["rvig.keys.lock", "rvig.pseudonym.key", "rvig.signing.pk8"]
        );
        #[cfg(unix)]
        for name in &names[1..] {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
    }

    /// A crash between putting the two keys in place leaves the signing key partial
    /// (written whole): the next start puts it in place, and keeps the pseudonym key.
    /// A signing key lost otherwise is not made anew behind the operator's back.
    #[test]
    fn a_creation_cut_short_is_finished_and_a_lost_key_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let made = LogKeys::load_or_create(dir.path(), "rvig").unwrap();
        let signing = dir.path().join("rvig.signing.pk8");
        std::fs::rename(&signing, dir.path().join("rvig.signing.pk8.partial")).unwrap();
        let again = LogKeys::load_or_create(dir.path(), "rvig").unwrap();
        assert_eq!(made.verifying_key(), again.verifying_key());
        assert_eq!(
            made.pseudonyms.bsn("999990007"),
            again.pseudonyms.bsn("999990007")
        );
        std::fs::remove_file(&signing).unwrap();
        let error = LogKeys::load_or_create(dir.path(), "rvig").unwrap_err();
        assert!(error.to_string().contains("rvig.signing.pk8"), "{error}");
        // The other way round (as an earlier version could leave it): both named.
        let other = tempfile::tempdir().unwrap();
        LogKeys::load_or_create(other.path(), "rvig").unwrap();
        std::fs::remove_file(other.path().join("rvig.pseudonym.key")).unwrap();
        let error = LogKeys::load_or_create(other.path(), "rvig")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("rvig.pseudonym.key is missing beside")
                && error.contains("rvig.signing.pk8"),
            "{error}"
        );
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
