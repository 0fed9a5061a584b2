//! What an operator alerts on: requests the exchange refused and answers it withheld,
//! by where that happened and the FSC error code. Exposed at `/metrics` as
//! `loket_exchange_refusals_total`. Both labels come from short fixed lists (the
//! gateways and [`Denial::ALL`]), so no request can add a series.

use loket_http::Metrics;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;

use crate::denial::Denial;
use crate::tls::Trust;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusalLabels {
    /// `outway` or `inway`: this process's gateway refused or withheld; `provider`:
    /// another organisation's inway refused what this outway sent.
    at: &'static str,
    code: &'static str,
}

/// The exchange's metrics of a process, registered once; every gateway reports to them.
/// Where a process runs both an outway and the inway it calls (the demo), one refusal by
/// that inway counts twice: `at="inway"` and, as the outway heard it, `at="provider"`.
/// Records appended in the background (an answer about residents the request already
/// named) that fail to commit are not counted here: the log writes an error line for
/// those.
#[derive(Debug, Clone)]
pub struct ExchangeMetrics {
    refusals: Family<RefusalLabels, Counter>,
    /// The certificate revocation lists in force (0: revocation is not checked).
    revocation_lists: Gauge,
    /// The earliest `nextUpdate` among them (unix seconds; 0 without lists): alert when
    /// it has passed, the CA's newer list is not in place.
    revocation_lists_due: Gauge,
    /// A new lists file that could not be used (the lists in force stay).
    revocation_list_failures: Counter,
}

impl ExchangeMetrics {
    pub fn register(metrics: &Metrics) -> Self {
        let refusals = Family::<RefusalLabels, Counter>::default();
        metrics.register(
            "exchange_refusals",
            "Requests the exchange refused and answers it withheld, by where and FSC error code",
            refusals.clone(),
        );
        let revocation_lists = Gauge::default();
        metrics.register(
            "exchange_revocation_lists",
            "Certificate revocation lists in force (0: revocation is not checked)",
            revocation_lists.clone(),
        );
        let revocation_lists_due = Gauge::default();
        metrics.register(
            "exchange_revocation_lists_next_update_seconds",
            "The earliest nextUpdate among the revocation lists in force, unix seconds (0 without lists)",
            revocation_lists_due.clone(),
        );
        let revocation_list_failures = Counter::default();
        metrics.register(
            "exchange_revocation_list_failures",
            "New revocation lists files that could not be used (the lists in force stay)",
            revocation_list_failures.clone(),
        );
        Self {
            refusals,
            revocation_lists,
            revocation_lists_due,
            revocation_list_failures,
        }
    }

    /// Report the revocation lists `trust` has in force now.
    pub fn revocation_lists_in_force(&self, trust: &Trust) {
        let lists = trust.revocation_lists();
        self.revocation_lists
            .set(i64::try_from(lists.len()).unwrap_or(i64::MAX));
        self.revocation_lists_due
            .set(crate::pki::earliest_next_update(&lists).unwrap_or(0));
    }

    /// Count a lists file that could not be used.
    pub fn revocation_list_failed(&self) {
        self.revocation_list_failures.inc();
    }

    pub(crate) fn count(&self, at: &'static str, denial: Denial) {
        self.refusals
            .get_or_create(&RefusalLabels {
                at,
                code: denial.code(),
            })
            .inc();
    }
}
