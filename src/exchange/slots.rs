//! A generational slot map: values in reusable slots, each insertion under a fresh generation,
//! so a [`Key`] kept elsewhere (a deadline entry) can tell its value from a later one in the
//! same slot.
//!
//! It holds values only: it neither reads connections nor knows what its values are. Slots are
//! reused before the vector grows, so it is as large as the most values it held at once.

use alloc::vec::Vec;

/// A slot and the generation its value was inserted under.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    /// The slot index, stable while the value stays.
    pub slot: usize,
    generation: u64,
}

/// Values by slot; a free slot is `None` and listed in `free`.
pub struct Slots<T> {
    entries: Vec<Option<(u64, T)>>,
    free: Vec<usize>,
    live: usize,
    generation: u64,
}

impl<T> Slots<T> {
    /// An empty map.
    pub const fn new() -> Self {
        Self {
            entries: Vec::new(),
            free: Vec::new(),
            live: 0,
            generation: 0,
        }
    }

    /// How many values are held.
    pub fn len(&self) -> usize {
        self.live
    }

    /// Put `value` in a free slot (or a new one); its key.
    pub fn insert(&mut self, value: T) -> Key {
        self.generation += 1;
        let entry = Some((self.generation, value));
        let slot = match self.free.pop() {
            Some(slot) => {
                self.entries[slot] = entry;
                slot
            }
            None => {
                self.entries.push(entry);
                self.entries.len() - 1
            }
        };
        self.live += 1;
        Key {
            slot,
            generation: self.generation,
        }
    }

    /// Whether `key`'s value is still held (not removed, its slot not reused).
    pub fn contains(&self, key: Key) -> bool {
        matches!(self.entries.get(key.slot), Some(Some((generation, _))) if *generation == key.generation)
    }

    /// The value in `slot`, if one is there.
    pub fn get_mut(&mut self, slot: usize) -> Option<&mut T> {
        self.entries.get_mut(slot)?.as_mut().map(|(_, value)| value)
    }

    /// Take the value out of `slot`, freeing it. Panics if the slot is free: callers remove
    /// only slots they have just found live.
    pub fn remove(&mut self, slot: usize) -> T {
        let (_, value) = self.entries[slot].take().expect("a live slot");
        self.free.push(slot);
        self.live -= 1;
        value
    }

    /// The values held, with their slots.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &T)> {
        self.entries
            .iter()
            .enumerate()
            .filter_map(|(slot, entry)| Some((slot, &entry.as_ref()?.1)))
    }
}
