//! What the example components share: bindings to the hijack component's `client` and
//! `server` interfaces (an application component imports them, and `wac plug` fills them with
//! the hijack component), an event loop's accepting ([`Acceptor`]) and waiting ([`PollSet`]),
//! address conversion and one-line errors.
//!
//! wit-bindgen keeps in a component only the imports its code calls, so a command that uses
//! only the client imports only the client.

#![deny(missing_docs)]

#[cfg(target_arch = "wasm32")]
mod accept;
#[cfg(target_arch = "wasm32")]
mod guest;
#[cfg(target_arch = "wasm32")]
mod pollset;
#[cfg(target_arch = "wasm32")]
pub use guest::*;
