//! Work a store does beside the requests (sorting a log's complete bucket, say), on a
//! thread that yields the CPU to them.

use tokio::sync::oneshot;

use crate::StoreError;

/// The nice value of a background thread: the scheduler gives it a small share of a
/// core that request threads want (at 19 about 1.5% against one at 0), and all of an
/// idle one. On two shared cores, a 100 ms sort at normal priority held up the requests
/// queued behind it (BENCHMARKS.md, the exchange).
pub(crate) const BACKGROUND_NICE: i32 = 19;

/// Run `work` on a new thread of its own at background priority; the outcome arrives on
/// the returned future. For work that comes seldom (a thread per call) and takes long.
pub async fn in_background<T: Send + 'static>(
    name: &str,
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let (done, outcome) = oneshot::channel();
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            lower_priority();
            let _ = done.send(work());
        })
        .map_err(|error| StoreError::Unavailable(format!("cannot start {name}: {error}")))?;
    outcome
        .await
        .map_err(|_| StoreError::Unavailable(format!("{name} stopped before it finished")))?
}

/// Lower the calling thread's priority. On Linux a thread has a nice value of its own;
/// elsewhere `setpriority` would lower the whole process, so the thread keeps its own.
pub(crate) fn lower_priority() {
    #[cfg(target_os = "linux")]
    if let Err(error) = rustix::process::setpriority_process(None, BACKGROUND_NICE) {
        tracing::debug!(%error, "cannot lower a background thread's priority");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_work_s_value_and_its_error_come_back() {
        assert_eq!(in_background("test-ok", || Ok(42)).await.unwrap(), 42);
        let failed: Result<(), _> =
            in_background("test-err", || Err(StoreError::Corrupt("kapot".to_owned()))).await;
        assert!(matches!(failed, Err(StoreError::Corrupt(m)) if m == "kapot"));
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn the_work_runs_at_background_priority_and_the_caller_keeps_its_own() {
        let before = rustix::process::getpriority_process(None).unwrap();
        let inside = in_background("test-nice", || {
            Ok(rustix::process::getpriority_process(None).unwrap_or_default())
        })
        .await
        .unwrap();
        assert_eq!(inside, BACKGROUND_NICE.max(before));
        assert_eq!(rustix::process::getpriority_process(None).unwrap(), before);
    }
}
