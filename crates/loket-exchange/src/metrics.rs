//! What an operator alerts on: requests the exchange refused and answers it withheld,
//! by where that happened and the FSC error code. Exposed at `/metrics` as
//! `loket_exchange_refusals_total`. Both labels come from short fixed lists (the
//! gateways and [`Denial::ALL`]), so no request can add a series.

use loket_http::Metrics;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

use crate::denial::Denial;

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
}

impl ExchangeMetrics {
    pub fn register(metrics: &Metrics) -> Self {
        let refusals = Family::<RefusalLabels, Counter>::default();
        metrics.register(
            "exchange_refusals",
            "Requests the exchange refused and answers it withheld, by where and FSC error code",
            refusals.clone(),
        );
        Self { refusals }
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
