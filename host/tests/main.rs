//! The host crate's integration tests, one binary: the component in wasmtime against real
//! loopback peers, the `hijack` CLI, the composed examples under the wasmtime CLI and jco, and
//! the host's TCP against stock wasmtime-wasi. One binary links wasmtime once (each test
//! binary of its own would link it again) and runs every test on the same thread pool.
//!
//! Each module is one subject; `support` is what they share (every wait bounded).

mod support;

mod cli;
mod client;
mod docker;
mod edge;
mod examples;
mod faults;
mod p3;
mod proxy;
mod reverse_proxy;
mod server;
mod soak;
mod splits;
mod tcp_conformance;
mod tls;
mod tls_server;
mod unix;
mod websocket;
