//! The mark on a data directory that holds synthetic residents only.
//!
//! The demo's simulated DigiD lets anyone log in as any BSN. Started on a directory with
//! real residents' data, it would show their data to whoever can reach the portal. So
//! `loket demo` and `loket seed` write only to a directory that is new, empty, or
//! carries the mark one of them left there.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};

/// The marker file's name, at the top of the data directory.
pub const MARK: &str = "SYNTHETIC-DATA.txt";

const MARK_TEXT: &str = "\
This directory was made by `loket demo` or `loket seed`: every resident in it is made up,
and the demo lets anyone log in as any of them with a simulated DigiD.

`loket demo` and `loket seed` write only to a new or empty directory, or to one with this
file. Never copy real residents' data into this directory.
";

/// Make `dir` ready for synthetic data: create it and mark it, or refuse it when it
/// already holds data nobody marked as synthetic.
pub fn claim(dir: &Path) -> anyhow::Result<()> {
    if is_marked(dir) {
        return Ok(());
    }
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create data directory {}", dir.display()))?;
    if !holds_only_certificates(dir)? && !made_by_an_older_demo(dir) {
        bail!(
            "{} already holds data, and no {MARK} says it is synthetic. The demo's simulated DigiD \
             lets anyone log in as any resident, so `loket demo` and `loket seed` use only a new or \
             empty directory, or one they made: choose another with --data",
            dir.display()
        );
    }
    // A new file, never through a link someone left under the mark's name.
    let mark = dir.join(MARK);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&mark)
        .and_then(|mut file| file.write_all(MARK_TEXT.as_bytes()));
    match written {
        Err(error) if error.kind() != std::io::ErrorKind::AlreadyExists => {
            Err(error).with_context(|| format!("cannot write {}", mark.display()))
        }
        _ if is_marked(dir) => Ok(()),
        _ => bail!("{} is not a file", mark.display()),
    }
}

/// Whether `dir` carries the mark: it holds synthetic data only, and `loket demo` may
/// run on it.
pub fn is_marked(dir: &Path) -> bool {
    std::fs::symlink_metadata(dir.join(MARK)).is_ok_and(|m| m.is_file())
}

/// A demo made before the mark existed left its employees' passwords; only the demo
/// writes that file.
fn made_by_an_older_demo(dir: &Path) -> bool {
    dir.join("keys")
        .join(crate::werkplek::DEMO_PASSWORDS_FILE)
        .is_file()
}

/// Empty, or only the certificates `loket pki init` made there first (`pki/`): no
/// resident's data.
fn holds_only_certificates(dir: &Path) -> anyhow::Result<bool> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read {}", dir.display()))?;
        if entry.file_name() != "pki" {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_directory_is_created_and_marked() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        claim(&dir).unwrap();
        assert!(dir.join(MARK).is_file());
        // And it is claimed again without a question.
        claim(&dir).unwrap();
    }

    #[test]
    fn an_empty_directory_is_marked() {
        let root = tempfile::tempdir().unwrap();
        claim(root.path()).unwrap();
        assert!(root.path().join(MARK).is_file());
    }

    #[test]
    fn a_directory_with_unmarked_data_is_refused_and_left_as_it_was() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("zaken.db"), b"real").unwrap();
        let error = format!("{:#}", claim(root.path()).unwrap_err());
        assert!(error.contains("already holds data"), "{error}");
        assert!(error.contains(MARK), "{error}");
        assert!(!root.path().join(MARK).exists());
        let names: Vec<_> = std::fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["zaken.db"]);
    }

    #[test]
    fn a_demo_from_before_the_mark_is_marked() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("keys")).unwrap();
        std::fs::write(
            root.path()
                .join("keys")
                .join(crate::werkplek::DEMO_PASSWORDS_FILE),
            b"{}",
        )
        .unwrap();
        std::fs::write(root.path().join("zaken.db"), b"").unwrap();
        claim(root.path()).unwrap();
        assert!(root.path().join(MARK).is_file());
    }

    #[test]
    fn certificates_made_first_are_no_data() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("pki")).unwrap();
        claim(root.path()).unwrap();
        assert!(is_marked(root.path()));
    }

    #[cfg(unix)]
    #[test]
    fn the_mark_is_never_written_through_a_link() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("data");
        std::fs::create_dir_all(dir.join("keys")).unwrap();
        std::fs::write(
            dir.join("keys").join(crate::werkplek::DEMO_PASSWORDS_FILE),
            b"{}",
        )
        .unwrap();
        let elsewhere = root.path().join("elsewhere");
        std::os::unix::fs::symlink(&elsewhere, dir.join(MARK)).unwrap();
        assert!(claim(&dir).is_err());
        assert!(!elsewhere.exists());
        assert!(!is_marked(&dir));
    }

    #[test]
    fn a_file_is_not_a_data_directory() {
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("data");
        std::fs::write(&file, b"x").unwrap();
        assert!(claim(&file).is_err());
    }
}
