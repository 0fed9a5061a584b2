mod batched;
mod plain;

use std::io::IsTerminal;

pub use batched::FlushGuard;
use serde::Deserialize;
use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line, for log collectors.
    #[default]
    Json,
    /// Human-readable lines, for a terminal.
    Text,
}

/// Structured logs to stderr. `RUST_LOG` overrides the default filter.
///
/// Lines are written by a thread of their own, in batches (`batched.rs`), so a request
/// never waits for a write to stderr (one line per request, on every hop of the
/// exchange). Nothing is dropped: when the writer falls far behind, callers wait for it.
/// Keep the returned guard until the command ends; dropping it writes out what is still
/// buffered. `None` when the writer thread could not start (then lines go straight to
/// stderr).
#[must_use = "dropping the guard stops the log writer"]
pub fn init(format: LogFormat) -> Option<FlushGuard> {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let colours = std::io::stderr().is_terminal();
    let (writer, guard) = match batched::start("loket-log", std::io::stderr()) {
        Ok((writer, guard)) => (LineWriter::Batched(writer), Some(guard)),
        Err(error) => {
            eprintln!("loket: cannot start the log writer, logging unbuffered: {error}");
            (LineWriter::Stderr, None)
        }
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colours)
        .with_writer(move || writer.clone());
    let result = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        // Colours for a person at a terminal; elsewhere the same line without them,
        // written by hand (`plain.rs`), as every request writes one.
        LogFormat::Text if colours => builder.compact().try_init(),
        LogFormat::Text => builder
            .event_format(plain::PlainLine)
            .fmt_fields(plain::PlainFields)
            .try_init(),
    };
    if let Err(error) = result {
        eprintln!("loket: logging was already set up: {error}");
    }
    guard
}

#[derive(Clone)]
enum LineWriter {
    Batched(batched::BatchedWriter),
    Stderr,
}

impl std::io::Write for LineWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        match self {
            Self::Batched(writer) => writer.write(bytes),
            Self::Stderr => std::io::stderr().write(bytes),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Self::Batched(writer) => writer.flush(),
            Self::Stderr => std::io::stderr().flush(),
        }
    }
}
