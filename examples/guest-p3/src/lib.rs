//! What the WASI 0.3 example components share: bindings to the hijack component's 0.3
//! `client` and `server` (`hijack:http@0.3.0`, filled by `wac plug` with `hijack-p3.wasm`) and
//! to wasi:sockets 0.3, address conversion, one-line errors, and a byte pump.
//!
//! An example's `main` runs its async body with `wit_bindgen::block_on` and serves each
//! connection in a task of its own (`wit_bindgen::spawn_local`): no pollables, no event loop.

#![deny(missing_docs)]

#[cfg(target_arch = "wasm32")]
mod guest;
#[cfg(target_arch = "wasm32")]
pub use guest::*;
