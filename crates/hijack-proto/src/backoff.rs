//! How long a server pauses after a transient accept failure: Go's `net/http` rule (5 ms,
//! doubling up to 1 s, back to the start after an accept that works). One home for it: the
//! CLI's accept loop and the example components' use the same numbers.

use core::time::Duration;

/// The first pause after a transient accept failure (Go's `http.Server.Serve`).
pub const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(5);
/// The longest pause (Go's `http.Server.Serve`).
pub const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// The pauses of one burst of transient accept failures.
///
/// ```
/// use core::time::Duration;
/// use hijack_proto::AcceptBackoff;
/// let mut backoff = AcceptBackoff::default();
/// assert_eq!(backoff.fail(), Duration::from_millis(5));
/// assert_eq!(backoff.fail(), Duration::from_millis(10));
/// assert!(backoff.is_backing_off());
/// backoff.succeed();
/// assert_eq!(backoff.fail(), Duration::from_millis(5));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AcceptBackoff {
    last: Option<Duration>,
}

impl AcceptBackoff {
    /// An accept failed transiently: the pause to take before the next one.
    pub fn fail(&mut self) -> Duration {
        let pause = match self.last {
            Some(last) => (last * 2).min(ACCEPT_BACKOFF_MAX),
            None => ACCEPT_BACKOFF_MIN,
        };
        self.last = Some(pause);
        pause
    }

    /// Whether the last accept failed (the burst is under way): a caller logs the first
    /// failure of a burst only.
    pub fn is_backing_off(&self) -> bool {
        self.last.is_some()
    }

    /// An accept worked (or found nothing to do): the next failure starts a new burst.
    pub fn succeed(&mut self) {
        self.last = None;
    }
}
