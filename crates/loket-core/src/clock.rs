//! Time as a dependency, so that deadlines and validity periods can be tested.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use time::{Duration, OffsetDateTime};

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

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn fixed_clock_moves_only_when_advanced() {
        let clock = FixedClock::at(datetime!(2026-11-23 10:00 UTC));
        let shared = clock.clone();
        assert_eq!(clock.now(), datetime!(2026-11-23 10:00 UTC));
        shared.advance(Duration::hours(2));
        assert_eq!(clock.now(), datetime!(2026-11-23 12:00 UTC));
    }
}
