//! Deadlines in a min-heap, keyed by [`Key`]: the earliest is found in constant time and the
//! passed ones taken in order, without a scan of everything that waits.
//!
//! Entries are never removed early: a value that leaves its slot map first leaves a stale
//! entry, which [`Deadlines::pop_passed`] skips by its key's generation. It decides nothing
//! about what a passed deadline means; the caller closes what it names.

use super::slots::Key;
use crate::net::Deadline;
use alloc::collections::BinaryHeap;
use core::cmp::Reverse;

/// A min-heap of (deadline, key).
pub struct Deadlines {
    heap: BinaryHeap<Reverse<(Deadline, Key)>>,
}

impl Deadlines {
    /// No deadlines.
    pub const fn new() -> Self {
        Self {
            heap: BinaryHeap::new(),
        }
    }

    /// Add `deadline` for `key`.
    pub fn push(&mut self, deadline: Deadline, key: Key) {
        self.heap.push(Reverse((deadline, key)));
    }

    /// The earliest deadline held, stale or not: a wait until then may wake early, never late.
    pub fn earliest(&self) -> Option<Deadline> {
        self.heap.peek().map(|Reverse((deadline, _))| *deadline)
    }

    /// The key of the earliest deadline that has passed and whose value is still `live`;
    /// stale entries on the way are dropped. `None` once the earliest live deadline is still
    /// ahead (or none is left).
    pub fn pop_passed(&mut self, live: impl Fn(Key) -> bool) -> Option<Key> {
        while let Some(&Reverse((deadline, key))) = self.heap.peek() {
            let is_live = live(key);
            if is_live && !deadline.passed() {
                return None;
            }
            self.heap.pop();
            if is_live {
                return Some(key);
            }
        }
        None
    }
}
