//! Dates as the registers keep and exchange them.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Value, json};
use time::Date;

/// A full calendar date, kept and exchanged as `YYYY-MM-DD`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Datum(pub Date);

impl Datum {
    /// `YYYY-MM-DD`, four-digit year, a date that exists. Written out rather than with a
    /// `time` format description: every person decoded has three or four dates, and the
    /// generic parser was a tenth of decoding one. A property test holds the two together.
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return None;
        }
        let number = |range: std::ops::Range<usize>| {
            bytes[range].iter().try_fold(0u16, |n, &b| {
                b.is_ascii_digit().then(|| n * 10 + u16::from(b - b'0'))
            })
        };
        let year = i32::from(number(0..4)?);
        let month = time::Month::try_from(u8::try_from(number(5..7)?).ok()?).ok()?;
        let day = u8::try_from(number(8..10)?).ok()?;
        Date::from_calendar_date(year, month, day).ok().map(Self)
    }

    pub fn iso(&self) -> String {
        let (month, day) = (u8::from(self.0.month()), self.0.day());
        let Ok(year @ 0..=9999) = u32::try_from(self.0.year()) else {
            // Beyond four digits: never stored, but a `Date` can hold it.
            return format!("{}-{month:02}-{day:02}", self.0.year());
        };
        let mut text = String::with_capacity(10);
        for (value, width) in [(year, 4), (u32::from(month), 2), (u32::from(day), 2)] {
            if !text.is_empty() {
                text.push('-');
            }
            for place in (0..width).rev() {
                text.push(char::from_digit(value / 10u32.pow(place) % 10, 10).unwrap_or('0'));
            }
        }
        text
    }

    /// The Dutch long form Haal Centraal calls `langFormaat`: "1 juli 2018".
    pub fn lang_formaat(&self) -> String {
        loket_core::datum::lang_formaat(self.0)
    }

    /// The Haal Centraal date object: `{type, datum, langFormaat}`.
    pub fn to_json(self) -> Value {
        json!({"type": "Datum", "datum": self.iso(), "langFormaat": self.lang_formaat()})
    }

    /// Whole years from this date to `today`.
    pub fn years_until(&self, today: Date) -> i32 {
        let mut years = today.year() - self.0.year();
        if (today.month(), today.day()) < (self.0.month(), self.0.day()) {
            years -= 1;
        }
        years
    }
}

impl fmt::Debug for Datum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.iso())
    }
}

impl Serialize for Datum {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.iso())
    }
}

impl<'de> Deserialize<'de> for Datum {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // A visitor, so the text is read where it lies instead of copied into a String.
        struct IsoDate;
        impl serde::de::Visitor<'_> for IsoDate {
            type Value = Datum;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a date as YYYY-MM-DD")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Datum, E> {
                Datum::parse(text).ok_or_else(|| E::custom(format!("invalid date {text:?}")))
            }
        }
        deserializer.deserialize_str(IsoDate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn dates_in_both_formats() {
        let datum = Datum::parse("2018-07-01").unwrap();
        assert_eq!(datum.iso(), "2018-07-01");
        assert_eq!(datum.lang_formaat(), "1 juli 2018");
        assert!(Datum::parse("2018-7-1").is_none());
        assert!(Datum::parse("2018-02-30").is_none());
        assert!(Datum::parse("12018-01-01").is_none());
    }

    const ISO_DATE: &[time::format_description::FormatItem<'static>] =
        time::macros::format_description!("[year]-[month]-[day]");

    proptest::proptest! {
        #[test]
        fn parsing_agrees_with_the_time_crate(text in "[0-9]{4}-[0-9]{2}-[0-9]{2}|\\PC{0,12}") {
            let expected = Date::parse(&text, ISO_DATE).ok().filter(|_| text.len() == 10);
            proptest::prop_assert_eq!(Datum::parse(&text).map(|d| d.0), expected);
        }

        #[test]
        fn every_date_is_written_as_the_time_crate_writes_it_and_read_back(day in 0i32..3_652_059) {
            let date = Date::from_julian_day(day + 1_721_426).unwrap();
            let datum = Datum(date);
            proptest::prop_assert_eq!(datum.iso(), date.format(ISO_DATE).unwrap());
            proptest::prop_assert_eq!(Datum::parse(&datum.iso()), Some(datum));
        }
    }

    #[test]
    fn a_date_reads_from_json_escaped_or_not() {
        let datum: Datum = serde_json::from_str("\"2018-07-01\"").unwrap();
        assert_eq!(datum.iso(), "2018-07-01");
        let escaped: Datum = serde_json::from_str("\"2018\\u002d07-01\"").unwrap();
        assert_eq!(escaped, datum);
        assert!(serde_json::from_str::<Datum>("\"2018-7-1\"").is_err());
        assert!(serde_json::from_str::<Datum>("20180701").is_err());
    }

    #[test]
    fn age_counts_whole_years() {
        let born = Datum(date!(2000 - 02 - 29));
        assert_eq!(born.years_until(date!(2026 - 02 - 28)), 25);
        assert_eq!(born.years_until(date!(2026 - 03 - 01)), 26);
        assert_eq!(born.years_until(date!(2000 - 02 - 29)), 0);
    }
}
