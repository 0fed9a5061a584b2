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
/// digits (a BSN, or one written without its leading zero), or nine written in groups
/// as people write a BSN (`1234.56.789`, `123 456 789`: groups of 4, 2 and 3, or three of
/// 3, each apart by one `.` or space); each digit or separator as is or percent-encoded
/// (`%39`, `%2E`, `%20`; any other `%XX` counts as one other character), the 11-proef
/// not asked (a mistyped BSN is as personal). For text a caller chose that a log keeps
/// (a path, a header, a field name): a BSN put there is not kept in plain text. The
/// length stays the same.
pub fn without_bsns(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    // Most text has fewer than 8 digits and nothing encoded: one quick pass (it
    // vectorises) settles that, before the group-by-group look below.
    let (digits, percents) = bytes.iter().fold((0usize, 0usize), |(d, p), b| {
        (
            d + usize::from(b.is_ascii_digit()),
            p + usize::from(*b == b'%'),
        )
    });
    if digits < 8 && percents == 0 {
        return Cow::Borrowed(text);
    }
    let mut runs = bsn_shaped(bytes, true);
    // Read as written too: a `%` just before digits (`%999999999`) would otherwise take
    // the first two as one encoded character and leave the rest readable.
    if percents > 0 {
        runs.extend(bsn_shaped(bytes, false));
    }
    if runs.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut masked = bytes.to_vec();
    loop {
        for run in runs {
            masked[run].fill(b'*');
        }
        // Masking can end a group that an encoded digit joined to the next: in
        // `%20000.000 000%300 000.000` the `%30` read as a digit made `0000`, and once
        // `300 000.000` is masked, `000.000 000` stands alone. Look again until nothing
        // is left (each round only masks more, so this ends).
        runs = bsn_shaped(&masked, true);
        if percents > 0 {
            runs.extend(bsn_shaped(&masked, false));
        }
        if runs.is_empty() {
            break;
        }
    }
    // Only ASCII (digits, separators, `%XX`) was replaced, by ASCII: still UTF-8.
    Cow::Owned(String::from_utf8(masked).unwrap_or_default())
}

/// What the masking reads at one place of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece {
    Digit,
    /// A `.` or a space, which may stand between the groups of a written BSN.
    Separator,
    Other,
}

/// The piece at `at` and its width in bytes (3 when percent-encoded and `decode`).
fn piece_at(bytes: &[u8], at: usize, decode: bool) -> (Piece, usize) {
    match bytes[at] {
        b'0'..=b'9' => (Piece::Digit, 1),
        b'.' | b' ' => (Piece::Separator, 1),
        b'%' if decode
            && bytes.get(at + 1).is_some_and(u8::is_ascii_hexdigit)
            && bytes.get(at + 2).is_some_and(u8::is_ascii_hexdigit) =>
        {
            let piece = match (bytes[at + 1], bytes[at + 2].to_ascii_uppercase()) {
                (b'3', b'0'..=b'9') => Piece::Digit,
                (b'2', b'0' | b'E') => Piece::Separator,
                _ => Piece::Other,
            };
            (piece, 3)
        }
        _ => (Piece::Other, 1),
    }
}

/// The byte ranges of `bytes` to mask: every group of 8 or 9 digits, and every three
/// groups in a row, one separator apart, of 4, 2 and 3 or of 3, 3 and 3 digits;
/// `decode`: percent-encoded characters read as what they encode.
fn bsn_shaped(bytes: &[u8], decode: bool) -> Vec<std::ops::Range<usize>> {
    let mut runs = Vec::new();
    // The last three groups of digits (start, end, digits), while each followed the
    // one before after one separator.
    let mut groups: Vec<(usize, usize, usize)> = Vec::with_capacity(4);
    let mut at = 0;
    // Whether the previous piece was a separator right after a group.
    let mut after_group_separator = false;
    while at < bytes.len() {
        let (piece, width) = piece_at(bytes, at, decode);
        if piece == Piece::Digit {
            let start = at;
            let mut count = 0;
            while at < bytes.len() {
                let (piece, width) = piece_at(bytes, at, decode);
                if piece != Piece::Digit {
                    break;
                }
                count += 1;
                at += width;
            }
            if !after_group_separator {
                groups.clear();
            }
            if groups.len() == 3 {
                groups.remove(0);
            }
            groups.push((start, at, count));
            if (8..=9).contains(&count) {
                runs.push(start..at);
            }
            if let [.., (first, _, a), (_, _, b), (_, end, c)] = groups[..]
                && matches!((a, b, c), (4, 2, 3) | (3, 3, 3))
            {
                runs.push(first..end);
            }
            after_group_separator = false;
            continue;
        }
        after_group_separator =
            piece == Piece::Separator && groups.last().is_some_and(|(_, end, _)| *end == at);
        if !after_group_separator {
            groups.clear();
        }
        at += width;
    }
    runs
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
        // Masking one reading can free a BSN in the other: both go.
        assert_eq!(
            without_bsns("%20000.000 000%300 000.000."),
            "%20***********%***********."
        );
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
    fn a_bsn_written_in_groups_is_masked() {
        assert_eq!(without_bsns("/p/9999.90.007/x"), "/p/***********/x");
        assert_eq!(without_bsns("bsn 999 990 007."), "bsn ***********.");
        assert_eq!(without_bsns("999.990.007"), "***********");
        assert_eq!(
            without_bsns("/p/999%2E990%2e007"),
            format!("/p/{}", "*".repeat(15))
        );
        assert_eq!(without_bsns("999%20990%20007"), "*".repeat(15));
        // A `%` just before: read as written too.
        assert_eq!(without_bsns("%999.990.007"), "%***********");
        assert_eq!(without_bsns("/p/%123456789"), "/p/%*********");
        // Other groupings, two separators, or a group with more digits: not a BSN.
        for kept in [
            "1.234.567",
            "12.345.678",
            "999..990.007",
            "9999.990.007",
            "999.990.0071",
            "2026-12-07",
            "10.0.0.1",
        ] {
            assert!(matches!(without_bsns(kept), Cow::Borrowed(_)), "{kept}");
        }
        // Every three groups of 3 in a row are masked (an address shaped so too).
        assert_eq!(without_bsns("192.168.100.200"), "*".repeat(15));
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

    fn runs_of_8_or_9(text: &str) -> usize {
        text.split(|c: char| !c.is_ascii_digit())
            .filter(|run| (8..=9).contains(&run.len()))
            .count()
    }

    /// Whether `text` holds nine digits in a BSN's groups (4, 2, 3 or 3, 3, 3; one `.`
    /// or space apart), with no digit right before or after.
    fn has_grouped_bsn(text: &str) -> bool {
        let chars: Vec<char> = text.chars().collect();
        let digits_at = |at: usize, n: usize| {
            at + n <= chars.len() && chars[at..at + n].iter().all(char::is_ascii_digit)
        };
        let separator_at = |at: usize| chars.get(at).is_some_and(|c| matches!(c, '.' | ' '));
        (0..chars.len()).any(|at| {
            let bounded_before = at == 0 || !chars[at - 1].is_ascii_digit();
            [[4, 2, 3], [3, 3, 3]].iter().any(|groups| {
                let mut here = at;
                for (i, n) in groups.iter().enumerate() {
                    if i > 0 {
                        if !separator_at(here) {
                            return false;
                        }
                        here += 1;
                    }
                    if !digits_at(here, *n) {
                        return false;
                    }
                    here += n;
                }
                bounded_before && !chars.get(here).is_some_and(char::is_ascii_digit)
            })
        })
    }

    proptest! {
        #[test]
        fn parse_never_panics(input in "\\PC{0,20}") {
            let _ = Bsn::parse(&input);
        }

        /// No run of 8 or 9 digits is left, nor nine in a BSN's groups, written or
        /// encoded; nothing else changes, and masking again changes nothing.
        #[test]
        fn masking_leaves_no_bsn_and_nothing_else_changed(
            input in "(\\PC|[0-9]{1,10}|[0-9]{3}[. ][0-9]{3}[. ][0-9]{3}|[0-9]{4}\\.[0-9]{2}\\.[0-9]{3}|[. ]|%2[0Ee]|%[0-9A-Fa-f]{2}|%){0,12}",
        ) {
            let masked = without_bsns(&input);
            prop_assert_eq!(masked.len(), input.len());
            // Percent-encoded characters read as one, left to right: a digit as the
            // digit, a separator as itself, any other as `#`.
            let mut decoded = String::new();
            let mut rest = masked.as_ref();
            while let Some(next) = rest.chars().next() {
                match rest.as_bytes() {
                    [b'%', b'3', digit @ b'0'..=b'9', ..] => {
                        decoded.push(char::from(*digit));
                        rest = &rest[3..];
                    }
                    [b'%', b'2', b'0', ..] => {
                        decoded.push(' ');
                        rest = &rest[3..];
                    }
                    [b'%', b'2', b'E' | b'e', ..] => {
                        decoded.push('.');
                        rest = &rest[3..];
                    }
                    [b'%', high, low, ..] if high.is_ascii_hexdigit() && low.is_ascii_hexdigit() => {
                        decoded.push('#');
                        rest = &rest[3..];
                    }
                    _ => {
                        decoded.push(next);
                        rest = &rest[next.len_utf8()..];
                    }
                }
            }
            // Neither read decoded nor as written.
            for read in [decoded.as_str(), masked.as_ref()] {
                prop_assert_eq!(runs_of_8_or_9(read), 0, "{}", masked);
                prop_assert!(!has_grouped_bsn(read), "{}", masked);
            }
            // Only digits, separators and the rest of an encoded one (`%`, the `E` of
            // `%2E`) become `*`.
            for (was, now) in input.chars().zip(masked.chars()) {
                let maskable = was.is_ascii_digit() || matches!(was, '%' | '.' | ' ' | 'E' | 'e');
                prop_assert!(was == now || (maskable && now == '*'));
            }
            // Text with nothing shaped like a BSN is left as it is.
            if !input.contains('%') && runs_of_8_or_9(&input) == 0 && !has_grouped_bsn(&input) {
                prop_assert_eq!(masked.as_ref(), input.as_str());
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
