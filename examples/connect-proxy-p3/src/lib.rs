//! `connect-proxy-p3 --listen ADDR [--via HOST:PORT]`: the HTTP CONNECT proxy of
//! `examples/connect-proxy`, on WASI 0.3. Same arguments, answers and output; the code is
//! async Rust: a task per tunnel, `accept`, `dial` and `connection.send` awaited, no pollables.
//!
//! The first line on stdout is `listening on IP:PORT`.

#![deny(missing_docs)]

#[cfg(target_arch = "wasm32")]
mod app;

#[cfg(target_arch = "wasm32")]
hijack_guest_p3::run!(app::main);
