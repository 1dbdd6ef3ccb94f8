//! How a bench binary runs: its sizes (from the environment, or the quick mode), a watchdog
//! that fails a stuck bench instead of letting it hang, bounded waits, and the tokio runtime
//! every peer runs on.
//!
//! Nothing here measures or reports: timing is the benches' own, rows are `row` and `emit`'s.

use std::future::Future;
use std::time::Duration;

/// `HIJACK_BENCH_QUICK=1`: every size small, for a run in about two minutes.
pub fn quick() -> bool {
    std::env::var("HIJACK_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// A size from the environment, else `full` (or `quick` in the quick mode).
pub fn size(key: &str, full: usize, quick_value: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(if quick() { quick_value } else { full })
}

/// Exit the process (status 2) if it is still running after `limit`: a stuck bench fails.
/// `HIJACK_BENCH_DEADLINE_S` overrides the limit.
pub fn watchdog(bench: &'static str, limit: Duration) {
    let limit = std::env::var("HIJACK_BENCH_DEADLINE_S")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(limit);
    std::thread::spawn(move || {
        std::thread::sleep(limit);
        eprintln!("bench {bench}: still running after {limit:?}; giving up");
        std::process::exit(2);
    });
}

/// Every single wait in the benches is bounded by this.
pub const STEP: Duration = Duration::from_secs(20);

/// `fut`, or a panic naming `what` if it takes longer than [`STEP`].
pub async fn bounded<T>(what: &str, fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(STEP, fut).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: no progress in {STEP:?}"),
    }
}

/// A current-thread tokio runtime (the shape every peer in these benches runs on).
pub fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}
