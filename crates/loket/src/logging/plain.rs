//! The text log line for a log that is not a terminal (a file, the journal, a pipe),
//! written out directly: the same line `tracing-subscriber`'s compact format writes
//! without colours, at a fraction of its cost. Every request on every hop logs a line, and
//! the generic formatter, with its `fmt::Write` calls per part and a timestamp formatted
//! from scratch each time, was about a tenth of a BRP lookup's instructions.
//!
//! `2026-12-04T22:59:33.372701Z  INFO request: loket_http::trace: handled status=200 ms=0.412 service="inway" method=POST …`
//! — time (UTC), level, the spans the event is in, its target, its fields, then the
//! fields of its spans. String values other than the message are quoted, as Debug writes
//! them, so a value with a space in it stays one value.

use std::cell::RefCell;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// The event's line. Span fields are written by [`PlainFields`] when the span starts.
#[derive(Debug, Default, Clone, Copy)]
pub struct PlainLine;

/// Fields as `name=value`, separated by spaces; the message without its name.
#[derive(Debug, Default, Clone, Copy)]
pub struct PlainFields;

impl<S, N> FormatEvent<S, N> for PlainLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write_timestamp(&mut writer, SystemTime::now())?;
        writer.write_str(level(*event.metadata().level()))?;
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                writer.write_str(span.name())?;
                writer.write_char(':')?;
            }
            writer.write_char(' ')?;
        }
        writer.write_str(event.metadata().target())?;
        writer.write_str(": ")?;
        ctx.format_fields(writer.by_ref(), event)?;
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                if let Some(fields) = extensions.get::<FormattedFields<N>>()
                    && !fields.is_empty()
                {
                    writer.write_char(' ')?;
                    writer.write_str(fields)?;
                }
            }
        }
        writer.write_char('\n')
    }
}

impl<'writer> FormatFields<'writer> for PlainFields {
    fn format_fields<R: tracing_subscriber::field::RecordFields>(
        &self,
        writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        let mut visitor = FieldWriter {
            writer,
            first: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

/// Level names padded to one width, with the space after them.
fn level(level: Level) -> &'static str {
    match level {
        Level::ERROR => "ERROR ",
        Level::WARN => " WARN ",
        Level::INFO => " INFO ",
        Level::DEBUG => "DEBUG ",
        Level::TRACE => "TRACE ",
    }
}

struct FieldWriter<'writer> {
    writer: Writer<'writer>,
    first: bool,
    result: fmt::Result,
}

impl FieldWriter<'_> {
    /// Start a field: the separator, and its name unless it is the message.
    fn start(&mut self, field: &Field) -> bool {
        if self.result.is_err() {
            return false;
        }
        if !self.first {
            self.result = self.writer.write_char(' ');
        }
        self.first = false;
        if field.name() != "message" && self.result.is_ok() {
            self.result = self
                .writer
                .write_str(field.name())
                .and_then(|()| self.writer.write_char('='));
        }
        self.result.is_ok()
    }
}

impl Visit for FieldWriter<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if self.start(field) {
            self.result = if field.name() == "message" {
                self.writer.write_str(value)
            } else {
                write!(self.writer, "{value:?}")
            };
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if self.start(field) {
            self.result = write!(self.writer, "{value}");
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if self.start(field) {
            self.result = write!(self.writer, "{value}");
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if self.start(field) {
            self.result = self.writer.write_str(if value { "true" } else { "false" });
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.start(field) {
            self.result = write!(self.writer, "{value:?}");
        }
    }
}

thread_local! {
    /// The second last written and its text up to the seconds (`2026-12-04T22:59:33`):
    /// lines come many to a second, so the calendar is worked out once per second.
    static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

/// `2026-12-04T22:59:33.372701Z ` (UTC, microseconds, then a space).
fn write_timestamp(writer: &mut impl fmt::Write, now: SystemTime) -> fmt::Result {
    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since_epoch.as_secs();
    SECOND.with(|second| {
        let mut second = second.borrow_mut();
        if second.0 != seconds {
            second.1 = calendar_second(seconds);
            second.0 = seconds;
        }
        writer.write_str(&second.1)
    })?;
    write!(writer, ".{:06}Z ", since_epoch.subsec_micros())
}

fn calendar_second(seconds: u64) -> String {
    let moment = i64::try_from(seconds)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        moment.year(),
        u8::from(moment.month()),
        moment.day(),
        moment.hour(),
        moment.minute(),
        moment.second()
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use proptest::prelude::*;

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn logged(log: impl FnOnce()) -> String {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(Level::DEBUG)
            .with_ansi(false)
            .event_format(PlainLine)
            .fmt_fields(PlainFields)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, log);
        String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn a_line_holds_time_level_spans_target_fields_and_span_fields() {
        let line = logged(|| {
            let span = tracing::info_span!("request", method = %"POST", path = %"/x y");
            let _entered = span.enter();
            tracing::info!(status = 200u16, who = "a b", ok = true, "handled");
        });
        let (time, rest) = line.split_at(28);
        assert!(time.ends_with("Z "), "{line}");
        assert!(
            time::OffsetDateTime::parse(
                time.trim_end(),
                &time::format_description::well_known::Rfc3339
            )
            .is_ok(),
            "{line}"
        );
        assert_eq!(
            rest,
            " INFO request: loket::logging::plain::tests: handled status=200 who=\"a b\" ok=true method=POST path=/x y\n"
        );
    }

    #[test]
    fn an_event_outside_spans_and_without_a_message() {
        let line = logged(|| tracing::warn!(count = -3i64, error = %"gone"));
        assert!(
            line.ends_with(" WARN loket::logging::plain::tests: count=-3 error=gone\n"),
            "{line}"
        );
    }

    proptest! {
        #[test]
        fn timestamps_are_rfc_3339_utc_with_microseconds(seconds in 0u64..4_102_444_800, micros in 0u32..1_000_000) {
            let now = UNIX_EPOCH + Duration::from_secs(seconds) + Duration::from_micros(u64::from(micros));
            let mut text = String::new();
            write_timestamp(&mut text, now).unwrap();
            let expected = time::OffsetDateTime::from(now);
            let format = time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z "
            );
            prop_assert_eq!(text, expected.format(&format).unwrap());
        }
    }
}
