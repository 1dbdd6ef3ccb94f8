//! The exchanges: protocol decisions from [`crate::proto`] driven over I/O from [`crate::net`].
//!
//! This layer neither parses HTTP (it asks `proto`) nor calls WASI (it asks `net`). It owns
//! the order of things: validate, connect, write, read the head, decide, hand over.

pub mod client;
mod deadlines;
mod error;
mod handoff;
mod read;
pub mod server;
mod slots;

pub use error::Error;
pub use handoff::Hijacked;
