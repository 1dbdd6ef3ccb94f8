//! Deadlines on the monotonic clock, and waiting for a pollable until one.

use super::error::NetError;
use alloc::vec::Vec;
use wasip2::clocks::monotonic_clock;
use wasip2::io::poll::{Pollable, poll};

/// A point on the monotonic clock after which an operation gives up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Deadline(u64);

impl Deadline {
    /// `ms` milliseconds from now.
    pub fn after_ms(ms: u64) -> Self {
        Self(monotonic_clock::now().saturating_add(ms.saturating_mul(1_000_000)))
    }

    /// The earlier of two deadlines.
    pub fn min(self, other: Self) -> Self {
        Ord::min(self, other)
    }

    /// Whether the deadline has passed.
    pub fn passed(self) -> bool {
        monotonic_clock::now() >= self.0
    }

    /// A clock pollable ready once the deadline has passed.
    pub fn subscribe(self) -> Pollable {
        monotonic_clock::subscribe_instant(self.0)
    }
}

/// A pollable that is ready at once: for a caller that must call again without waiting.
pub fn ready_now() -> Pollable {
    monotonic_clock::subscribe_duration(0)
}

/// Wait until one of `set` is ready. An empty set returns at once.
pub fn blocking_wait_any(set: &[Pollable]) {
    if !set.is_empty() {
        poll(&set.iter().collect::<Vec<_>>());
    }
}

/// Wait until `p` is ready or `deadline` passes.
pub(crate) fn blocking_wait(p: &Pollable, deadline: Deadline) -> Result<(), NetError> {
    if p.ready() {
        return Ok(());
    }
    let timer = deadline.subscribe();
    if poll(&[p, &timer]).contains(&0) {
        Ok(())
    } else {
        Err(NetError::Timeout)
    }
}
