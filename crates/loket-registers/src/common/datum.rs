//! Dates as the registers keep and exchange them.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Value, json};
use time::Date;
use time::macros::format_description;

/// A full calendar date, kept and exchanged as `YYYY-MM-DD`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Datum(pub Date);

const ISO_DATE: &[time::format_description::FormatItem<'static>] =
    format_description!("[year]-[month]-[day]");

impl Datum {
    pub fn parse(text: &str) -> Option<Self> {
        // The year must have four digits; `time` would also accept more.
        if text.len() != 10 {
            return None;
        }
        Date::parse(text, ISO_DATE).ok().map(Self)
    }

    pub fn iso(&self) -> String {
        self.0.format(ISO_DATE).unwrap_or_default()
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
        let text = String::deserialize(deserializer)?;
        Datum::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("invalid date {text:?}")))
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

    #[test]
    fn age_counts_whole_years() {
        let born = Datum(date!(2000 - 02 - 29));
        assert_eq!(born.years_until(date!(2026 - 02 - 28)), 25);
        assert_eq!(born.years_until(date!(2026 - 03 - 01)), 26);
        assert_eq!(born.years_until(date!(2000 - 02 - 29)), 0);
    }
}
