//! A log writer that collects lines in memory and writes them out from a thread of its own,
//! a batch every few milliseconds.
//!
//! Every hop of the exchange logs a line per request. Handing each line to a writer
//! thread on its own (as `tracing-appender` does, over a channel) wakes that thread for
//! every line, and between lines it spins with `sched_yield` before it sleeps: at 35,000
//! lookups a second the BRP's log thread took 7% of the register's CPU, on a machine with
//! two cores. Here a line is appended to a buffer under a lock; only the first line after
//! a write wakes the writer, which lingers a moment so the lines that follow go out in
//! the same `write`. Nothing is dropped: above [`FULL`] bytes, loggers wait for the writer.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long the writer lets lines gather after the first one wakes it: lines reach the
/// output at most about this late.
const LINGER: Duration = Duration::from_millis(20);
/// Buffered bytes at which the writer goes at once and loggers wait for room.
const FULL: usize = 1 << 20;

#[derive(Default)]
struct State {
    buffer: Vec<u8>,
    closed: bool,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    /// Wakes the writer: the first line in an empty buffer, a full buffer, or closing.
    work: Condvar,
    /// Wakes loggers waiting for room.
    room: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A logger that panicked mid-append leaves at worst a partial line behind.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The loggers' end: cheap to clone, one per event.
#[derive(Clone)]
pub struct BatchedWriter {
    shared: Arc<Shared>,
}

/// Writes out what is still buffered and stops the writer thread when dropped.
#[must_use = "dropping the guard stops the log writer"]
pub struct FlushGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// Start a writer thread that writes the loggers' lines to `out`.
pub fn start(
    thread_name: &str,
    out: impl Write + Send + 'static,
) -> io::Result<(BatchedWriter, FlushGuard)> {
    let shared = Arc::new(Shared::default());
    let thread = std::thread::Builder::new()
        .name(thread_name.to_owned())
        .spawn({
            let shared = shared.clone();
            move || write_out(&shared, out)
        })?;
    Ok((
        BatchedWriter {
            shared: shared.clone(),
        },
        FlushGuard {
            shared,
            thread: Some(thread),
        },
    ))
}

fn write_out(shared: &Shared, mut out: impl Write) {
    let mut batch = Vec::new();
    loop {
        let mut state = shared.lock();
        while state.buffer.is_empty() && !state.closed {
            state = shared
                .work
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if state.buffer.is_empty() {
            return; // closed, and everything written
        }
        if !state.closed && state.buffer.len() < FULL {
            state = shared
                .work
                .wait_timeout(state, LINGER)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        std::mem::swap(&mut batch, &mut state.buffer);
        drop(state);
        shared.room.notify_all();
        // Where the log goes (stderr) failing is nothing a request can do anything about.
        let _ = out.write_all(&batch).and_then(|()| out.flush());
        batch.clear();
    }
}

impl Write for BatchedWriter {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        let mut state = self.shared.lock();
        while state.buffer.len() >= FULL && !state.closed {
            state = self
                .shared
                .room
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        let was_empty = state.buffer.is_empty();
        state.buffer.extend_from_slice(line);
        let full = state.buffer.len() >= FULL;
        drop(state);
        if was_empty || full {
            self.shared.work.notify_one();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        // Lines go out within `LINGER`; a logger never waits for the output itself.
        Ok(())
    }
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.work.notify_one();
        self.shared.room.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Instant;

    use super::*;

    /// An output the test can read while the writer still runs; optionally slow.
    #[derive(Clone, Default)]
    struct Sink {
        written: Arc<Mutex<Vec<u8>>>,
        largest_write: Arc<Mutex<usize>>,
        pause: Duration,
    }

    impl Write for Sink {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            std::thread::sleep(self.pause);
            let mut largest = self.largest_write.lock().unwrap();
            *largest = (*largest).max(bytes.len());
            self.written.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Sink {
        fn text(&self) -> String {
            String::from_utf8(self.written.lock().unwrap().clone()).unwrap()
        }
    }

    #[test]
    fn every_line_of_every_thread_arrives_once_whole_and_in_its_threads_order() {
        let sink = Sink::default();
        let (writer, guard) = start("test-log", sink.clone()).unwrap();
        let loggers: Vec<_> = (0..4)
            .map(|thread| {
                let mut writer = writer.clone();
                std::thread::spawn(move || {
                    for i in 0..20_000 {
                        writer
                            .write_all(format!("thread {thread} line {i}\n").as_bytes())
                            .unwrap();
                    }
                })
            })
            .collect();
        for logger in loggers {
            logger.join().unwrap();
        }
        drop(guard);
        let text = sink.text();
        let mut next = [0usize; 4];
        for line in text.lines() {
            let words: Vec<&str> = line.split(' ').collect();
            let [_, thread, _, i] = words[..] else {
                panic!("a line was cut or mixed with another: {line:?}");
            };
            let thread: usize = thread.parse().unwrap();
            assert_eq!(i.parse::<usize>().unwrap(), next[thread], "{line}");
            next[thread] += 1;
        }
        assert_eq!(next, [20_000; 4], "every line, once");
    }

    #[test]
    fn a_line_goes_out_soon_without_waiting_for_more() {
        let sink = Sink::default();
        let (mut writer, _guard) = start("test-log", sink.clone()).unwrap();
        writer.write_all(b"alleen\n").unwrap();
        let start = Instant::now();
        while sink.text().is_empty() {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "the line was not written"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(sink.text(), "alleen\n");
    }

    #[test]
    fn loggers_wait_for_a_slow_output_instead_of_buffering_without_bound() {
        let sink = Sink {
            pause: Duration::from_millis(20),
            ..Sink::default()
        };
        let (mut writer, guard) = start("test-log", sink.clone()).unwrap();
        let line = [b'x'; 1023]
            .iter()
            .chain(b"\n")
            .copied()
            .collect::<Vec<u8>>();
        for _ in 0..5_000 {
            writer.write_all(&line).unwrap();
        }
        drop(guard);
        assert_eq!(sink.written.lock().unwrap().len(), 5_000 * 1024);
        let largest = *sink.largest_write.lock().unwrap();
        assert!(
            largest < FULL + line.len(),
            "one write of {largest} bytes: the buffer grew past its bound"
        );
    }
}
