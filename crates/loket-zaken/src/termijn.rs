//! Suspending and extending a case's term, as the Awb has it: the term stops while the
//! applicant is asked to complete the application (art. 4:15) and runs on, later by as
//! many days, when it resumes; it may be extended once, by a reasonable period (art. 4:14).
//!
//! These are pure rules over a [`Termijn`]; the workspace and the ZGW API both use them, and
//! the store writes the result only if the term did not change meanwhile.

use time::{Date, Duration};

use crate::zaak::{Opschorting, Termijn, Verlenging};

/// The longest reason, in characters (as the ZGW standard allows for both).
pub const MAX_REASON: usize = 200;

/// A change that cannot be made, with the field it is about and a message (Dutch, English).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {en}")]
pub struct TermError {
    pub field: &'static str,
    /// A short machine-readable code, for API clients.
    pub code: &'static str,
    pub nl: &'static str,
    pub en: &'static str,
}

/// Stop the clock from `today`.
pub fn suspend(term: &Termijn, reden: &str, today: Date) -> Result<Termijn, TermError> {
    if term.opschorting.is_some() {
        return Err(TermError {
            field: "opschorting",
            code: "already-suspended",
            nl: "De termijn is al opgeschort.",
            en: "The term is already suspended.",
        });
    }
    let reden = reason(reden, "opschorting.reden")?;
    Ok(Termijn {
        opschorting: Some(Opschorting {
            reden: reden.to_owned(),
            sinds: today,
        }),
        ..term.clone()
    })
}

/// Start the clock again on `today`: both end dates move by the days it stood still.
pub fn resume(term: &Termijn, today: Date) -> Result<Termijn, TermError> {
    let Some(opschorting) = &term.opschorting else {
        return Err(TermError {
            field: "opschorting",
            code: "not-suspended",
            nl: "De termijn is niet opgeschort.",
            en: "The term is not suspended.",
        });
    };
    let stood_still = (today - opschorting.sinds).max(Duration::ZERO);
    Ok(Termijn {
        einddatum_gepland: later(term.einddatum_gepland, stood_still, "opschorting")?,
        uiterlijke_einddatum_afdoening: later(
            term.uiterlijke_einddatum_afdoening,
            stood_still,
            "opschorting",
        )?,
        opschorting: None,
        verlenging: term.verlenging.clone(),
    })
}

/// Extend the term once by `dagen` days, at most `max_dagen` (the product's own handling
/// time: a reasonable period, never open-ended).
pub fn extend(
    term: &Termijn,
    reden: &str,
    dagen: u16,
    max_dagen: u16,
) -> Result<Termijn, TermError> {
    if term.verlenging.is_some() {
        return Err(TermError {
            field: "verlenging",
            code: "already-extended",
            nl: "De termijn is al een keer verlengd. Dat kan maar één keer.",
            en: "The term has already been extended. That can be done only once.",
        });
    }
    if dagen == 0 || dagen > max_dagen {
        return Err(TermError {
            field: "verlenging.duur",
            code: "invalid-duration",
            nl: "Verleng met minstens 1 dag en niet langer dan de behandeltermijn van het product.",
            en: "Extend by at least 1 day and no longer than the product's handling time.",
        });
    }
    let reden = reason(reden, "verlenging.reden")?;
    let by = Duration::days(i64::from(dagen));
    Ok(Termijn {
        einddatum_gepland: later(term.einddatum_gepland, by, "verlenging.duur")?,
        uiterlijke_einddatum_afdoening: later(
            term.uiterlijke_einddatum_afdoening,
            by,
            "verlenging.duur",
        )?,
        opschorting: term.opschorting.clone(),
        verlenging: Some(Verlenging {
            reden: reden.to_owned(),
            dagen,
        }),
    })
}

/// `date` moved `by` later, or an error when that is past the last date there is.
fn later(date: Date, by: Duration, field: &'static str) -> Result<Date, TermError> {
    date.checked_add(by).ok_or(TermError {
        field,
        code: "out-of-range",
        nl: "De nieuwe einddatum ligt te ver in de toekomst.",
        en: "The new end date lies too far in the future.",
    })
}

fn reason<'a>(text: &'a str, field: &'static str) -> Result<&'a str, TermError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(TermError {
            field,
            code: "required",
            nl: "Schrijf de reden op. De aanvrager leest die.",
            en: "Write down the reason. The applicant will read it.",
        });
    }
    if text.chars().count() > MAX_REASON {
        return Err(TermError {
            field,
            code: "max_length",
            nl: "Gebruik niet meer dan 200 tekens.",
            en: "Use no more than 200 characters.",
        });
    }
    Ok(text)
}

/// "P14D": the ISO 8601 duration the ZGW standard gives an extension in.
pub fn duration_text(dagen: u16) -> String {
    format!("P{dagen}D")
}

/// Read a duration in whole days ("P14D", or "P2W" as 14 days); `None` for anything else.
pub fn parse_duration(text: &str) -> Option<u16> {
    let rest = text.strip_prefix('P')?;
    let unit = rest.chars().last()?;
    let number = &rest[..rest.len() - unit.len_utf8()];
    // Five digits at most: every u16 `duration_text` writes reads back.
    if number.is_empty() || number.len() > 5 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u16 = number.parse().ok()?;
    match unit {
        'D' => Some(n),
        'W' => n.checked_mul(7),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;
    use time::macros::date;

    use super::*;

    fn term() -> Termijn {
        Termijn {
            einddatum_gepland: date!(2027 - 01 - 18),
            uiterlijke_einddatum_afdoening: date!(2027 - 01 - 18),
            opschorting: None,
            verlenging: None,
        }
    }

    #[test]
    fn an_end_date_past_the_last_date_is_refused_not_a_panic() {
        let last = Termijn {
            einddatum_gepland: Date::MAX,
            uiterlijke_einddatum_afdoening: Date::MAX,
            ..term()
        };
        let refused = extend(&last, "Advies", 14, 56).unwrap_err();
        assert_eq!(
            (refused.field, refused.code),
            ("verlenging.duur", "out-of-range")
        );
        let suspended = suspend(&last, "Wacht", date!(2026 - 11 - 23)).unwrap();
        let refused = resume(&suspended, date!(2026 - 12 - 03)).unwrap_err();
        assert_eq!(refused.code, "out-of-range");
    }

    #[test]
    fn a_suspension_moves_both_end_dates_by_the_days_it_lasted() {
        let suspended =
            suspend(&term(), "Wacht op leaseverklaring", date!(2026 - 11 - 23)).unwrap();
        assert_eq!(suspended.einddatum_gepland, date!(2027 - 01 - 18));
        let resumed = resume(&suspended, date!(2026 - 12 - 03)).unwrap();
        assert_eq!(resumed.einddatum_gepland, date!(2027 - 01 - 28));
        assert_eq!(
            resumed.uiterlijke_einddatum_afdoening,
            date!(2027 - 01 - 28)
        );
        assert_eq!(resumed.opschorting, None);
    }

    #[test]
    fn a_term_is_suspended_once_at_a_time_and_resumed_only_when_suspended() {
        let suspended = suspend(&term(), "reden", date!(2026 - 11 - 23)).unwrap();
        assert_eq!(
            suspend(&suspended, "nog eens", date!(2026 - 11 - 24))
                .unwrap_err()
                .code,
            "already-suspended"
        );
        assert_eq!(
            resume(&term(), date!(2026 - 11 - 24)).unwrap_err().code,
            "not-suspended"
        );
    }

    #[test]
    fn a_term_is_extended_once_within_the_handling_time() {
        let extended = extend(&term(), "Advies nodig", 14, 56).unwrap();
        assert_eq!(
            extended.uiterlijke_einddatum_afdoening,
            date!(2027 - 02 - 01)
        );
        assert_eq!(
            extend(&extended, "nog eens", 1, 56).unwrap_err().code,
            "already-extended"
        );
        assert_eq!(
            extend(&term(), "te lang", 57, 56).unwrap_err().code,
            "invalid-duration"
        );
        assert_eq!(
            extend(&term(), "nul", 0, 56).unwrap_err().code,
            "invalid-duration"
        );
    }

    #[test]
    fn a_reason_is_required_and_not_endless() {
        assert_eq!(
            suspend(&term(), "  ", date!(2026 - 11 - 23))
                .unwrap_err()
                .code,
            "required"
        );
        let long = "x".repeat(MAX_REASON + 1);
        assert_eq!(
            extend(&term(), &long, 5, 56).unwrap_err().code,
            "max_length"
        );
    }

    #[test]
    fn durations_are_whole_days_or_weeks() {
        assert_eq!(parse_duration("P14D"), Some(14));
        assert_eq!(parse_duration("P2W"), Some(14));
        assert_eq!(parse_duration(&duration_text(30)), Some(30));
        for bad in [
            "", "P", "PD", "14D", "P1M", "PT5H", "P-1D", "P99999D", "P1.5D",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn parse_duration_never_panics(text in "\\PC{0,12}") {
            let _ = parse_duration(&text);
        }

        /// Every duration written reads back as itself; weeks are seven days each, or
        /// nothing when that does not fit.
        #[test]
        fn a_written_duration_reads_back(dagen in proptest::num::u16::ANY, weken in 0u16..20_000) {
            prop_assert_eq!(parse_duration(&duration_text(dagen)), Some(dagen));
            prop_assert_eq!(parse_duration(&format!("P{weken}W")), weken.checked_mul(7));
        }

        #[test]
        fn resuming_never_moves_a_deadline_earlier(days in 0i64..400) {
            let since = date!(2026 - 11 - 23);
            let suspended = suspend(&term(), "r", since).unwrap();
            let resumed = resume(&suspended, since + Duration::days(days)).unwrap();
            prop_assert_eq!(
                resumed.uiterlijke_einddatum_afdoening - term().uiterlijke_einddatum_afdoening,
                Duration::days(days)
            );
        }
    }
}
