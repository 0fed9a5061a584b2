//! Burgerservicenummer: the Dutch citizen service number.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A burgerservicenummer that has passed the 11-proef.
///
/// Use this where a BSN enters from a person (a form, a login). Its `Debug` output is
/// redacted so that a BSN never ends up in a log line by accident; there is deliberately
/// no `Display`. Call [`Bsn::as_str`] where the number itself is needed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bsn([u8; 9]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BsnError {
    #[error("een burgerservicenummer heeft precies 9 cijfers")]
    Length,
    #[error("een burgerservicenummer bestaat alleen uit cijfers")]
    NotDigits,
    #[error("dit burgerservicenummer klopt niet (11-proef)")]
    Checksum,
}

impl Bsn {
    pub fn parse(input: &str) -> Result<Self, BsnError> {
        let bytes = input.as_bytes();
        if bytes.len() != 9 {
            return Err(BsnError::Length);
        }
        let mut digits = [0u8; 9];
        for (slot, byte) in digits.iter_mut().zip(bytes) {
            if !byte.is_ascii_digit() {
                return Err(BsnError::NotDigits);
            }
            *slot = *byte;
        }
        if !passes_elfproef(&digits) {
            return Err(BsnError::Checksum);
        }
        Ok(Self(digits))
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored, so this cannot fail.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// The 11-proef: 9·d1 + 8·d2 + … + 2·d8 − 1·d9 must be a multiple of 11. An all-zero
/// number passes the arithmetic but is never issued, so it is refused too.
fn passes_elfproef(ascii_digits: &[u8; 9]) -> bool {
    let mut sum: i32 = 0;
    for (index, byte) in ascii_digits.iter().enumerate() {
        let digit = i32::from(byte - b'0');
        let weight = if index == 8 { -1 } else { 9 - index as i32 };
        sum += weight * digit;
    }
    sum % 11 == 0 && ascii_digits.iter().any(|b| *b != b'0')
}

impl FromStr for Bsn {
    type Err = BsnError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Debug for Bsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Bsn(<redacted>)")
    }
}

impl Serialize for Bsn {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Bsn {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Bsn::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// `text` with every number in it that could be a BSN replaced by `*`s: a run of 8 or 9
/// digits (a BSN, or one written without its leading zero), each digit as is or
/// percent-encoded (`%39`; any other `%XX` counts as one character), the 11-proef not asked (a mistyped BSN is as personal). For
/// text a caller chose that a log keeps (a path, a header, a field name): a BSN put
/// there is not kept in plain text. The length stays the same.
pub fn without_bsns(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    // Most text has fewer than 8 digits and nothing encoded: one quick pass (it
    // vectorises) settles that, before the run-by-run look below.
    let (digits, percents) = bytes.iter().fold((0usize, 0usize), |(d, p), b| {
        (
            d + usize::from(b.is_ascii_digit()),
            p + usize::from(*b == b'%'),
        )
    });
    if digits < 8 && percents == 0 {
        return Cow::Borrowed(text);
    }
    let mut runs = Vec::new();
    let (mut start, mut digits, mut at) = (0, 0, 0);
    while at < bytes.len() {
        // What is here: a digit (1 byte, or 3 percent-encoded), or something else of
        // `width` bytes (an encoded other character is one, `%20` say).
        let (digit, width) = match bytes[at] {
            b'0'..=b'9' => (true, 1),
            b'%' if bytes.get(at + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(at + 2).is_some_and(u8::is_ascii_hexdigit) =>
            {
                (bytes[at + 1] == b'3' && bytes[at + 2].is_ascii_digit(), 3)
            }
            _ => (false, 1),
        };
        if !digit {
            if (8..=9).contains(&digits) {
                runs.push(start..at);
            }
            digits = 0;
            at += width;
        } else {
            if digits == 0 {
                start = at;
            }
            digits += 1;
            at += width;
        }
    }
    if (8..=9).contains(&digits) {
        runs.push(start..bytes.len());
    }
    if runs.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut masked = bytes.to_vec();
    for run in runs {
        masked[run].fill(b'*');
    }
    // Only ASCII digits, `%` and `3` were replaced, by ASCII: still UTF-8.
    Cow::Owned(String::from_utf8(masked).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn numbers_shaped_like_a_bsn_are_masked() {
        assert_eq!(without_bsns("brp-personen"), "brp-personen");
        assert!(matches!(without_bsns("a1234567b"), Cow::Borrowed(_)));
        assert_eq!(without_bsns("999993653"), "*********");
        assert_eq!(without_bsns("/personen/99993653/x"), "/personen/********/x");
        assert_eq!(
            without_bsns("urn:a:123456782,00000001001234567000"),
            "urn:a:*********,00000001001234567000",
            "an OIN (20 digits) is kept"
        );
        assert_eq!(without_bsns("1234567890 1234567"), "1234567890 1234567");
        assert_eq!(without_bsns("é999993653é"), "é*********é");
        assert_eq!(
            without_bsns("/p/%39%39%39%39%39%30%30%30%37"),
            format!("/p/{}", "*".repeat(27))
        );
        assert_eq!(without_bsns("/p/99999%30007?x"), "/p/***********?x");
        assert_eq!(
            without_bsns("%3A12345678"),
            "%3A********",
            "%3A is no digit"
        );
        assert_eq!(without_bsns("%20999993653%09"), "%20*********%09");
    }

    #[test]
    fn accepts_valid_numbers() {
        for valid in ["999993653", "111222333", "123456782"] {
            assert!(Bsn::parse(valid).is_ok(), "{valid} should pass");
        }
    }

    #[test]
    fn refuses_bad_numbers() {
        assert_eq!(Bsn::parse("999993654"), Err(BsnError::Checksum));
        assert_eq!(Bsn::parse("12345678"), Err(BsnError::Length));
        assert_eq!(Bsn::parse("1234567890"), Err(BsnError::Length));
        assert_eq!(Bsn::parse("12345678a"), Err(BsnError::NotDigits));
        assert_eq!(Bsn::parse("000000000"), Err(BsnError::Checksum));
        assert_eq!(Bsn::parse("１２３４５６７８２"), Err(BsnError::Length));
    }

    #[test]
    fn debug_never_shows_the_number() {
        let bsn = Bsn::parse("999993653").unwrap();
        let printed = format!("{bsn:?} {:?}", Some(bsn));
        assert!(!printed.contains("999993653"), "{printed}");
    }

    #[test]
    fn serde_round_trip_checks_the_number() {
        let bsn: Bsn = serde_json::from_str("\"999993653\"").unwrap();
        assert_eq!(serde_json::to_string(&bsn).unwrap(), "\"999993653\"");
        assert!(serde_json::from_str::<Bsn>("\"999993654\"").is_err());
    }

    proptest! {
        #[test]
        fn parse_never_panics(input in "\\PC{0,20}") {
            let _ = Bsn::parse(&input);
        }

        /// No run of 8 or 9 digits is left, written or encoded, nothing else changes,
        /// and masking again changes nothing.
        #[test]
        fn masking_leaves_no_bsn_and_nothing_else_changed(
            input in "(\\PC|[0-9]{1,10}|%[0-9A-Fa-f]{2}|%){0,12}",
        ) {
            let masked = without_bsns(&input);
            prop_assert_eq!(masked.len(), input.len());
            // Percent-encoded characters read as one, left to right: a digit as the
            // digit, any other as a space.
            let mut decoded = String::new();
            let mut rest = masked.as_ref();
            while let Some(next) = rest.chars().next() {
                match rest.as_bytes() {
                    [b'%', b'3', digit @ b'0'..=b'9', ..] => {
                        decoded.push(char::from(*digit));
                        rest = &rest[3..];
                    }
                    [b'%', high, low, ..] if high.is_ascii_hexdigit() && low.is_ascii_hexdigit() => {
                        decoded.push(' ');
                        rest = &rest[3..];
                    }
                    _ => {
                        decoded.push(next);
                        rest = &rest[next.len_utf8()..];
                    }
                }
            }
            let runs = decoded
                .split(|c: char| !c.is_ascii_digit())
                .filter(|run| (8..=9).contains(&run.len()))
                .count();
            prop_assert_eq!(runs, 0, "{}", masked);
            for (was, now) in input.chars().zip(masked.chars()) {
                prop_assert!(was == now || ((was.is_ascii_digit() || was == '%') && now == '*'));
            }
            let again = without_bsns(&masked).into_owned();
            prop_assert_eq!(again.as_str(), masked.as_ref());
        }

        #[test]
        fn accepted_numbers_round_trip(input in "[0-9]{9}") {
            if let Ok(bsn) = Bsn::parse(&input) {
                prop_assert_eq!(bsn.as_str(), input.as_str());
            }
        }

        #[test]
        fn changing_one_digit_breaks_the_checksum(input in "[0-9]{9}", position in 0usize..9, delta in 1u8..10) {
            if Bsn::parse(&input).is_ok() {
                let mut bytes = input.into_bytes();
                bytes[position] = b'0' + (bytes[position] - b'0' + delta) % 10;
                let changed = String::from_utf8(bytes).unwrap();
                prop_assert!(Bsn::parse(&changed).is_err());
            }
        }
    }
}
