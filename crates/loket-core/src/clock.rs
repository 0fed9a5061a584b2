//! Time as a dependency, so that deadlines and validity periods can be tested.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use time::{Date, Duration, Month, OffsetDateTime, UtcOffset};

pub trait Clock: Send + Sync + fmt::Debug {
    fn now(&self) -> OffsetDateTime;
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that only moves when told to. Cloning shares the same time.
#[derive(Debug, Clone)]
pub struct FixedClock {
    unix_nanos: Arc<AtomicI64>,
}

impl FixedClock {
    pub fn at(moment: OffsetDateTime) -> Self {
        let nanos = i64::try_from(moment.unix_timestamp_nanos()).unwrap_or(i64::MAX);
        Self {
            unix_nanos: Arc::new(AtomicI64::new(nanos)),
        }
    }

    pub fn advance(&self, by: Duration) {
        let step = i64::try_from(by.whole_nanoseconds()).unwrap_or(i64::MAX);
        self.unix_nanos.fetch_add(step, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        let nanos = i128::from(self.unix_nanos.load(Ordering::SeqCst));
        OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

/// The last Sunday of `month` (one with 31 days), the day the Netherlands changes clocks.
fn last_sunday(year: i32, month: Month) -> Option<Date> {
    let last = Date::from_calendar_date(year, month, 31).ok()?;
    last.checked_sub(Duration::days(i64::from(
        last.weekday().number_days_from_sunday(),
    )))
}

/// Dutch time: CEST (UTC+2) from the last Sunday of March to the last Sunday of October,
/// both at 01:00 UTC; CET (UTC+1) otherwise. A moment at the edge of the calendar (a
/// client's or another log's "31 December 9999, 23:30") stays as it is rather than
/// panicking past the last year.
pub fn dutch_time(moment: OffsetDateTime) -> OffsetDateTime {
    let Some(utc) = moment.checked_to_offset(UtcOffset::UTC) else {
        return moment;
    };
    let year = utc.year();
    let summer = match (
        last_sunday(year, Month::March),
        last_sunday(year, Month::October),
    ) {
        (Some(start), Some(end)) => {
            let start = start.with_hms(1, 0, 0).map(|t| t.assume_utc());
            let end = end.with_hms(1, 0, 0).map(|t| t.assume_utc());
            matches!((start, end), (Ok(s), Ok(e)) if utc >= s && utc < e)
        }
        _ => false,
    };
    let hours = if summer { 2 } else { 1 };
    let offset = UtcOffset::from_hms(hours, 0, 0).unwrap_or(UtcOffset::UTC);
    utc.checked_to_offset(offset).unwrap_or(utc)
}

/// Today in the Netherlands: between midnight and 01:00 (02:00 in summer) the UTC date is
/// still yesterday's.
pub fn dutch_today(clock: &dyn Clock) -> Date {
    let now = clock.now();
    // Dutch time is UTC+1 or UTC+2: before 22:00 UTC the date is the same, and a register
    // asks this on every lookup.
    match now.checked_to_offset(UtcOffset::UTC) {
        Some(utc) if utc.hour() < 22 => utc.date(),
        _ => dutch_time(now).date(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn today_is_the_dutch_date_from_midnight() {
        // 23:30 UTC on 5 January is 00:30 on the 6th in the Netherlands (CET).
        let clock = FixedClock::at(datetime!(2027-01-05 23:30 UTC));
        assert_eq!(dutch_today(&clock), date!(2027 - 01 - 06));
        // 22:30 UTC in July is 00:30 CEST the next day.
        let clock = FixedClock::at(datetime!(2027-07-05 22:30 UTC));
        assert_eq!(dutch_today(&clock), date!(2027 - 07 - 06));
        let clock = FixedClock::at(datetime!(2027-07-05 21:30 UTC));
        assert_eq!(dutch_today(&clock), date!(2027 - 07 - 05));
        // 22:30 UTC in January is 23:30 CET: still the same day.
        let clock = FixedClock::at(datetime!(2027-01-05 22:30 UTC));
        assert_eq!(dutch_today(&clock), date!(2027 - 01 - 05));
    }

    #[test]
    fn the_clocks_change_on_the_last_sundays_of_march_and_october() {
        assert_eq!(last_sunday(2026, Month::March), Some(date!(2026 - 03 - 29)));
        assert_eq!(
            last_sunday(2026, Month::October),
            Some(date!(2026 - 10 - 25))
        );
        // 31 March 2024 was itself a Sunday.
        assert_eq!(last_sunday(2024, Month::March), Some(date!(2024 - 03 - 31)));
        assert_eq!(
            last_sunday(2027, Month::October),
            Some(date!(2027 - 10 - 31))
        );
    }

    #[test]
    fn fixed_clock_moves_only_when_advanced() {
        let clock = FixedClock::at(datetime!(2026-11-23 10:00 UTC));
        let shared = clock.clone();
        assert_eq!(clock.now(), datetime!(2026-11-23 10:00 UTC));
        shared.advance(Duration::hours(2));
        assert_eq!(clock.now(), datetime!(2026-11-23 12:00 UTC));
    }
}
