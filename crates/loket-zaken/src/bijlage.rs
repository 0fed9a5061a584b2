//! Attachments (bijlagen) a resident adds to an application, such as a lease statement.
//!
//! Only PDF, PNG and JPEG are accepted, recognised by their first bytes rather than by
//! the name or the type the browser claims: the file is what its content says it is. Each
//! is kept with the case, in the same transaction, with its SHA-256.

use ring::digest;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::catalogue::Text;

/// The largest attachment: a scanned statement of a few pages fits well.
pub const MAX_BYTES: usize = 10 * 1024 * 1024;
/// The longest file name kept, in characters.
const MAX_NAME: usize = 200;

/// The kinds of file accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Soort {
    Pdf,
    Png,
    Jpeg,
}

impl Soort {
    /// What the content says it is, if it is one of the accepted kinds.
    pub fn sniff(content: &[u8]) -> Option<Self> {
        if content.starts_with(b"%PDF-") {
            Some(Self::Pdf)
        } else if content.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else if content.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else {
            None
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
        }
    }

    pub fn parse(content_type: &str) -> Option<Self> {
        [Self::Pdf, Self::Png, Self::Jpeg]
            .into_iter()
            .find(|s| s.content_type() == content_type)
    }
}

/// A file as it arrives, before it is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// Which attachment of the product it is (`leasedocument`).
    pub naam: String,
    pub bestandsnaam: String,
    pub inhoud: Vec<u8>,
}

/// A checked attachment, ready to keep with the case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bijlage {
    pub naam: String,
    pub bestandsnaam: String,
    pub soort: Soort,
    pub inhoud: Vec<u8>,
    /// Hex SHA-256 of the content: what was received, provably.
    pub sha256: String,
}

impl Bijlage {
    pub fn parse(upload: Upload) -> Result<Self, Text> {
        if upload.inhoud.is_empty() {
            return Err(text(
                "Het bestand is leeg. Kies het bestand opnieuw.",
                "The file is empty. Choose the file again.",
            ));
        }
        if upload.inhoud.len() > MAX_BYTES {
            return Err(text(
                "Het bestand is groter dan 10 MB. Maak het kleiner of scan met een lagere resolutie.",
                "The file is larger than 10 MB. Make it smaller or scan at a lower resolution.",
            ));
        }
        let Some(soort) = Soort::sniff(&upload.inhoud) else {
            return Err(text(
                "Kies een PDF, JPG of PNG.",
                "Choose a PDF, JPG or PNG.",
            ));
        };
        let sha256 =
            loket_core::hex::lower_hex(digest::digest(&digest::SHA256, &upload.inhoud).as_ref());
        Ok(Self {
            naam: upload.naam,
            bestandsnaam: clean_name(&upload.bestandsnaam, soort),
            soort,
            inhoud: upload.inhoud,
            sha256,
        })
    }
}

/// An attachment as a case lists it, without its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentInfo {
    pub uuid: Uuid,
    pub naam: String,
    pub bestandsnaam: String,
    pub soort: Soort,
    pub grootte: u64,
    pub sha256: String,
    pub toegevoegd: OffsetDateTime,
}

/// The last path segment, without control characters or quotes, not endless; a name for
/// the kind of file when nothing is left.
fn clean_name(name: &str, soort: Soort) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '\''))
        .take(MAX_NAME)
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() || cleaned.chars().all(|c| c == '.') {
        let extension = match soort {
            Soort::Pdf => "pdf",
            Soort::Png => "png",
            Soort::Jpeg => "jpg",
        };
        format!("bijlage.{extension}")
    } else {
        cleaned.to_owned()
    }
}

fn text(nl: &str, en: &str) -> Text {
    Text {
        nl: nl.to_owned(),
        en: en.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use super::*;

    fn upload(name: &str, content: &[u8]) -> Upload {
        Upload {
            naam: "leasedocument".to_owned(),
            bestandsnaam: name.to_owned(),
            inhoud: content.to_vec(),
        }
    }

    #[test]
    fn a_file_is_what_its_content_says() {
        let pdf = Bijlage::parse(upload("lease.pdf", b"%PDF-1.7\n...")).unwrap();
        assert_eq!(pdf.soort, Soort::Pdf);
        assert_eq!(pdf.sha256.len(), 64);
        let renamed = Bijlage::parse(upload("foto.pdf", b"\x89PNG\r\n\x1a\n....")).unwrap();
        assert_eq!(renamed.soort, Soort::Png, "the name does not decide");
        assert!(Bijlage::parse(upload("script.pdf", b"<script>alert(1)</script>")).is_err());
        assert!(Bijlage::parse(upload("leeg.pdf", b"")).is_err());
        let big = [b"%PDF-".as_slice(), &vec![0u8; MAX_BYTES]].concat();
        assert!(Bijlage::parse(upload("groot.pdf", &big)).is_err());
    }

    #[test]
    fn file_names_lose_their_path_and_anything_unsafe() {
        let pdf = b"%PDF-1.4";
        let name = |n: &str| Bijlage::parse(upload(n, pdf)).unwrap().bestandsnaam;
        assert_eq!(name("C:\\Users\\priya\\lease.pdf"), "lease.pdf");
        assert_eq!(name("../../etc/passwd"), "passwd");
        assert_eq!(name("a\"b\r\n.pdf"), "ab.pdf");
        assert_eq!(name(".."), "bijlage.pdf");
        assert_eq!(name(""), "bijlage.pdf");
    }

    proptest! {
        #[test]
        fn any_upload_is_accepted_or_refused_without_panicking(
            name in "\\PC{0,300}",
            content in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            if let Ok(bijlage) = Bijlage::parse(upload(&name, &content)) {
                prop_assert!(!bijlage.bestandsnaam.is_empty());
                prop_assert!(bijlage.bestandsnaam.chars().count() <= MAX_NAME);
                prop_assert!(!bijlage.bestandsnaam.contains(['/', '\\', '"']));
            }
        }
    }
}
