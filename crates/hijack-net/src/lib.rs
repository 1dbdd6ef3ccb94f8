//! hijack-net: the WASI side of wasi-hijack — wasi:sockets, wasi:io, wasi:clocks and
//! wasi:random — and nothing about HTTP.
//!
//! Name lookup, connect, listen and accept, reads and writes bounded by a deadline (a
//! monotonic-clock pollable), and waiting on many connections at once (wasi:io/poll). Steps
//! that would wait come in a form that does not (`try_*`, with a `subscribe` for the pollable
//! to wait on); calls that wait carry the `blocking_` prefix. A pollable is made for one wait
//! and dropped before the connection it watches is handed over.
//!
//! The component drives its exchanges with it, and guests composed with the component use
//! the same lookup-then-connect machine and address conversions (the examples' CONNECT proxy
//! dials its targets with [`Resolving`] and [`Connecting`]). It is `no_std` + `alloc` on
//! `wasm32` (the component links no std); elsewhere the crate is empty.

#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_code)]
#![cfg(target_arch = "wasm32")]

extern crate alloc;

mod addr;
mod conn;
mod dial;
mod error;
mod listen;
mod random;
mod time;
#[cfg(feature = "tls")]
mod tls;

pub use addr::{family, ip_address, socket_address, to_core, to_wasi};
pub use conn::{Conn, Parts, Received, TlsSession};
pub use dial::{Connecting, Resolving};
pub use error::NetError;
pub use listen::{Listening, Watched};
pub use random::nonce16;
pub use time::{Deadline, blocking_wait_any, ready_now};
#[cfg(feature = "tls")]
pub use tls::{Handshaking, types as tls_types};
pub use wasip2::io::poll::Pollable;
pub use wasip2::sockets::network::IpSocketAddress;
