//! Dates as Dutch readers write them.

use time::Date;

const MAANDEN: [&str; 12] = [
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
];

/// The Dutch long form, "1 juli 2018" (what Haal Centraal calls `langFormaat`).
pub fn lang_formaat(date: Date) -> String {
    let month = MAANDEN
        .get(usize::from(u8::from(date.month())) - 1)
        .copied()
        .unwrap_or_default();
    format!("{} {month} {}", date.day(), date.year())
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn dates_read_as_dutch_people_write_them() {
        assert_eq!(lang_formaat(date!(2018 - 07 - 01)), "1 juli 2018");
        assert_eq!(lang_formaat(date!(2026 - 12 - 31)), "31 december 2026");
    }
}
