//! The WASI side: wasi:sockets, wasi:io and wasi:random, and nothing about HTTP.
//!
//! Name lookup, connect, listen and accept, reads and writes bounded by a deadline (a
//! monotonic-clock pollable), and waiting on many connections at once (wasi:io/poll). Every
//! pollable is made for one wait and dropped before the wait returns, so a [`Conn`] never has a
//! live child and can be handed over as it is. Calls that wait carry the `blocking_` prefix.

mod addr;
mod conn;
mod dial;
mod error;
mod listen;
mod random;
mod time;

pub use addr::ip_address;
pub use conn::{Conn, Received};
pub use dial::{blocking_connect, blocking_resolve};
pub use error::NetError;
pub use listen::{Listening, Watched};
pub use random::nonce16;
pub use time::Deadline;
pub use wasip2::sockets::network::IpSocketAddress;
