//! wasi-hijack on WASI 0.3: the component of `wit-p3/hijack.wit` (`hijack:http@0.3.0`).
//!
//! The same exchanges as the WASI 0.2 component, with the same rules, limits and errors
//! (all of them in `hijack-proto`), as async functions over wasi:sockets 0.3. A connection
//! is handed over as the socket's own receive `stream<u8>`, the bytes read past the head
//! apart, and a `connection` that copies the caller's outbound `stream<u8>` into the socket
//! (a socket takes its outbound stream once, and the component gave it one for the head).
//!
//! Layers, each with one job:
//! - `hijack-proto`: the sans-IO HTTP/1.1 core, shared with the 0.2 component;
//! - `io`: wasi:sockets, wasi:clocks and wasi:random 0.3, no HTTP;
//! - `client`, `server`: the order of an exchange, `proto` decisions over `io`;
//! - `component`: the wit-bindgen glue mapping WIT calls onto `client` and `server`.
//!
//! Natively the crate is empty: it exists on wasm32 only.

#![deny(missing_docs)]
#![deny(unsafe_code)]
// No std, as in the 0.2 component: a WASI 0.3 runtime need give it nothing but the sockets,
// the clock and randomness (std would import wasi:cli 0.2).
#![cfg_attr(target_arch = "wasm32", no_std)]

#[cfg(target_arch = "wasm32")]
extern crate alloc;

#[cfg(target_arch = "wasm32")]
use hijack_proto as proto;
#[cfg(target_arch = "wasm32")]
use hijack_runtime as _;

#[cfg(target_arch = "wasm32")]
mod client;
#[cfg(target_arch = "wasm32")]
mod component;
#[cfg(target_arch = "wasm32")]
mod error;
#[cfg(target_arch = "wasm32")]
mod io;
#[cfg(target_arch = "wasm32")]
mod server;
