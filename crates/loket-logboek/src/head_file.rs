//! The newest signed tree head, kept in a file beside the log's keys.
//!
//! The heads in the database prove that the records they cover were not changed, but
//! someone who can write the database and not the key directory (a database
//! administrator, the host of a PostgreSQL server) could delete the newest heads,
//! rewrite the records after the last one left with fresh digests and nodes, and have
//! the log sign them as a crashed log's unsigned records when it next starts. With this
//! file the log knows a head it signed itself: it refuses to start, and `verify` fails,
//! when the database no longer holds that head.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tokio::sync::watch;

use crate::keys::VerifyingKey;
use crate::tree_head::{SignedTreeHead, TreeHeadJson};

/// `<keys>/<name>.latest-head.json`, written after the log signs a head.
#[derive(Debug, Clone)]
pub struct HeadFile {
    path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum HeadFileError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{0} does not hold a tree head signed with this log's key (a crash can leave it damaged: the running log writes a new one)"
    )]
    Invalid(PathBuf),
}

impl HeadFile {
    pub fn beside_keys(dir: &Path, name: &str) -> Self {
        Self {
            path: dir.join(format!("{name}.latest-head.json")),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The head in the file, checked against `key`; `None` before the log's first head.
    pub fn read(&self, key: &VerifyingKey) -> Result<Option<SignedTreeHead>, HeadFileError> {
        let text = match std::fs::read(&self.path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(HeadFileError::Io {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        parse(&text)
            .filter(|head| head.verify(key))
            .map(Some)
            .ok_or_else(|| HeadFileError::Invalid(self.path.clone()))
    }

    /// Replace the file's head with `head`: the new text takes the old one's place by a
    /// rename. It is not synced: an `fsync` ten times a second per log shared the disk
    /// with the commits and put 0.8 ms on the exchange's p99 (BENCHMARKS.md). After a
    /// crash the file may hold an older head (still a bound the database must meet) or
    /// be unreadable (the log says so at its start and writes a new one); never a head
    /// the database does not hold, since the head is durable there first.
    pub fn write(&self, head: &SignedTreeHead) -> std::io::Result<()> {
        let text = serde_json::to_vec(&head.to_json()).map_err(std::io::Error::other)?;
        let mut next = self.path.clone().into_os_string();
        next.push(".next");
        let next = PathBuf::from(next);
        let mut file = std::fs::File::create(&next)?;
        file.write_all(&text)?;
        std::fs::rename(&next, &self.path)
    }
}

/// Keeps a log's [`HeadFile`] up to date: in the background after each head, so that a
/// commit never waits for the file, and at once when asked (a seal: a reader wants the
/// newest head, or the log is stopping). The file may lag behind the database (it says
/// what the database must at least hold), never run ahead of it, and never goes back.
#[derive(Debug, Clone)]
pub(crate) struct HeadKeeper {
    writes: Arc<Writes>,
    newest: watch::Sender<Option<SignedTreeHead>>,
}

#[derive(Debug)]
struct Writes {
    file: HeadFile,
    /// The size of the head in the file, once this keeper wrote one.
    written: Mutex<Option<u64>>,
}

impl Writes {
    fn keep(&self, head: &SignedTreeHead) {
        let mut written = self
            .written
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if written.is_some_and(|size| size >= head.size) {
            return;
        }
        match self.file.write(head) {
            Ok(()) => *written = Some(head.size),
            Err(error) => {
                tracing::warn!(file = %self.file.path.display(), %error, "cannot keep the newest signed tree head beside the keys");
            }
        }
    }
}

impl HeadKeeper {
    /// Start keeping `file`; the background writes run on the current runtime.
    pub(crate) fn start(file: HeadFile) -> Self {
        let writes = Arc::new(Writes {
            file,
            written: Mutex::new(None),
        });
        let (newest, mut signed) = watch::channel(None::<SignedTreeHead>);
        let background = writes.clone();
        tokio::spawn(async move {
            while signed.changed().await.is_ok() {
                let Some(head) = signed.borrow_and_update().clone() else {
                    continue;
                };
                let writes = background.clone();
                let _ = tokio::task::spawn_blocking(move || writes.keep(&head)).await;
            }
        });
        Self { writes, newest }
    }

    /// Write `head` to the file soon, unless a newer one comes first.
    pub(crate) fn later(&self, head: &SignedTreeHead) {
        self.newest.send_replace(Some(head.clone()));
    }

    /// Write `head` to the file now, on this thread.
    pub(crate) fn now(&self, head: &SignedTreeHead) {
        self.writes.keep(head);
    }
}

fn parse(text: &[u8]) -> Option<SignedTreeHead> {
    let json: TreeHeadJson = serde_json::from_slice(text).ok()?;
    Some(SignedTreeHead {
        size: json.tree_size,
        root: STANDARD.decode(json.root_hash).ok()?.try_into().ok()?,
        signed_at_ms: json.timestamp,
        signature: STANDARD.decode(json.signature).ok()?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::LogKeys;

    #[test]
    fn a_written_head_reads_back_and_only_under_its_own_key() {
        let dir = tempfile::tempdir().unwrap();
        let keys = LogKeys::generate().unwrap();
        let file = HeadFile::beside_keys(dir.path(), "test");
        assert_eq!(file.read(&keys.verifying_key()).unwrap(), None);
        let head = SignedTreeHead::sign(&keys, 7, [3; 32], 1_796_540_994_830);
        file.write(&head).unwrap();
        assert_eq!(file.read(&keys.verifying_key()).unwrap(), Some(head));
        let other = LogKeys::generate().unwrap();
        assert!(matches!(
            file.read(&other.verifying_key()),
            Err(HeadFileError::Invalid(_))
        ));
    }

    proptest::proptest! {
        /// Whatever the file holds (any bytes, or a real head with one byte changed),
        /// reading it gives a head signed with the log's key or a refusal naming the
        /// file, never a panic or an unchecked head.
        #[test]
        fn any_content_is_a_checked_head_or_refused(
            noise in proptest::collection::vec(proptest::num::u8::ANY, 0..300),
            at in proptest::num::usize::ANY,
            byte in proptest::num::u8::ANY,
            real in proptest::bool::ANY,
        ) {
            let dir = tempfile::tempdir().unwrap();
            let keys = LogKeys::generate().unwrap();
            let file = HeadFile::beside_keys(dir.path(), "test");
            let text = if real {
                file.write(&SignedTreeHead::sign(&keys, 7, [3; 32], 1)).unwrap();
                let mut text = std::fs::read(file.path()).unwrap();
                let at = at % text.len();
                text[at] = byte;
                text
            } else {
                noise
            };
            std::fs::write(file.path(), &text).unwrap();
            match file.read(&keys.verifying_key()) {
                Ok(head) => proptest::prop_assert!(head.is_some_and(|h| h.verify(&keys.verifying_key()))),
                Err(error) => proptest::prop_assert!(error.to_string().contains("latest-head.json")),
            }
        }
    }
}
