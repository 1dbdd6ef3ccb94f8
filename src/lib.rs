//! wasi-hijack: HTTP/1.1 connection hijack as a WASI 0.2 component.
//!
//! The component performs an HTTP/1.1 exchange — as a client asking for `101 Switching
//! Protocols`, or as a server answering one — and then hands its caller the connection it owns
//! (`tcp-socket`, `input-stream`, `output-stream`) and the bytes it had already read past the
//! head. See `wit/hijack.wit` for the interface.
//!
//! Layers, each with one job:
//! - `proto`: the sans-IO HTTP/1.1 core, the `hijack-proto` crate (tested natively there);
//! - `net`: wasi:sockets and wasi:io, no HTTP, the `hijack-net` crate;
//! - `exchange`: the order of an exchange, `proto` decisions over `net` I/O (wasm32 only);
//! - `component`: the wit-bindgen glue mapping WIT calls onto `exchange` (wasm32 only);
//! - `hijack-runtime`: what std would give the component, its heap, `cabi_realloc` and a
//!   panic handler (wasm32 only: there the crate is `no_std`).

#![deny(missing_docs)]
#![deny(unsafe_code)]
// The component links no std: std's panic reporting, its message formatting, stderr and the
// wasi:cli imports behind them would be a large part of the component. `hijack-runtime` gives it the
// heap and the panic handler std would. Natively the crate is empty (every module below is
// wasm32-only): the logic worth testing natively lives in hijack-proto.
#![cfg_attr(target_arch = "wasm32", no_std)]

#[cfg(target_arch = "wasm32")]
extern crate alloc;

#[cfg(target_arch = "wasm32")]
use hijack_net as net;
#[cfg(target_arch = "wasm32")]
use hijack_proto as proto;

#[cfg(target_arch = "wasm32")]
use hijack_runtime as _;

#[cfg(target_arch = "wasm32")]
mod component;
#[cfg(target_arch = "wasm32")]
mod exchange;
