//! How long the log keeps the exchange waiting: every request there waits for a durable
//! commit of its records (fail closed), so an operator watches these beside the request
//! durations. Exposed at `/metrics` as `loket_logboek_*`, one series per log.

use loket_http::Metrics;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LogLabel {
    log: String,
}

type Histograms = Family<LogLabel, Histogram, fn() -> Histogram>;

/// The log metrics of a process, registered once; each log reports to its own series.
#[derive(Debug, Clone)]
pub struct LogMetrics {
    waits: Histograms,
    commits: Histograms,
    records: Histograms,
    lost: Family<LogLabel, Counter>,
    lowered: Family<LogLabel, Counter>,
}

/// 50 µs … ~1.6 s: a commit on a local disk takes a fraction of a millisecond.
fn seconds() -> Histogram {
    Histogram::new(exponential_buckets(0.000_05, 2.0, 16))
}

/// 1 … 4,096 records.
fn counts() -> Histogram {
    Histogram::new(exponential_buckets(1.0, 2.0, 13))
}

impl LogMetrics {
    pub fn register(metrics: &Metrics) -> Self {
        let waits = Histograms::new_with_constructor(seconds);
        let commits = Histograms::new_with_constructor(seconds);
        let records = Histograms::new_with_constructor(counts);
        metrics.register(
            "logboek_append_wait_seconds",
            "Time a request waits for its records to be durable (queue and commit)",
            waits.clone(),
        );
        metrics.register(
            "logboek_commit_seconds",
            "Time of one commit of the log, the disk's sync included",
            commits.clone(),
        );
        metrics.register(
            "logboek_commit_records",
            "Records in one commit (group commit)",
            records.clone(),
        );
        let lost = Family::<LogLabel, Counter>::default();
        metrics.register(
            "logboek_background_records_lost",
            "Records appended in the background (an answer whose request record is durable) that never reached the log: its commit failed, or the log had stopped",
            lost.clone(),
        );
        let lowered = Family::<LogLabel, Counter>::default();
        metrics.register(
            "logboek_lookup_position_lowered",
            "Times the log found the position of its lookup tables lowered behind its back (tampering: records below it could be hidden from an inzage); it reads those records again",
            lowered.clone(),
        );
        Self {
            waits,
            commits,
            records,
            lost,
            lowered,
        }
    }

    pub(crate) fn of(&self, log: &str) -> CommitMetrics {
        let label = LogLabel {
            log: log.to_owned(),
        };
        CommitMetrics {
            wait: self.waits.get_or_create(&label).clone(),
            commit: self.commits.get_or_create(&label).clone(),
            records: self.records.get_or_create(&label).clone(),
            lost: self.lost.get_or_create(&label).clone(),
            lowered: self.lowered.get_or_create(&label).clone(),
        }
    }
}

/// One log's series.
#[derive(Debug, Clone)]
pub(crate) struct CommitMetrics {
    pub wait: Histogram,
    pub commit: Histogram,
    pub records: Histogram,
    pub lost: Counter,
    pub lowered: Counter,
}
