//! One `wasi:io/poll.poll` over pollables of many owners, answering which owners woke.

use wasip2::io::poll::{Pollable, poll};

/// Pollables gathered for one `poll`, each tagged with its owner.
pub struct PollSet<'a, K> {
    set: Vec<&'a Pollable>,
    owners: Vec<K>,
}

impl<'a, K: Copy> PollSet<'a, K> {
    /// An empty set.
    pub fn new() -> Self {
        Self {
            set: Vec::new(),
            owners: Vec::new(),
        }
    }

    /// Add `pollables`, owned by `owner`.
    pub fn add(&mut self, owner: K, pollables: impl IntoIterator<Item = &'a Pollable>) {
        self.set.extend(pollables);
        self.owners.resize(self.set.len(), owner);
    }

    /// Wait until at least one is ready; the owners of the ready ones (an owner may repeat).
    /// An empty set returns at once.
    pub fn wait(self) -> Vec<K> {
        if self.set.is_empty() {
            return Vec::new();
        }
        poll(&self.set)
            .into_iter()
            .map(|i| self.owners[i as usize])
            .collect()
    }
}

impl<K: Copy> Default for PollSet<'_, K> {
    fn default() -> Self {
        Self::new()
    }
}
