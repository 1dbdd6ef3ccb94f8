//! The WASI side: wasi:sockets and wasi:io, and nothing about HTTP.
//!
//! Name lookup, connect, listen and accept, reads and writes bounded by a deadline (a
//! monotonic-clock pollable), and waiting on many connections at once (wasi:io/poll). Every
//! pollable is made for one wait and dropped before the wait returns, so a [`Conn`] never has a
//! live child and can be handed over as it is.

mod conn;
mod dial;
mod listen;
mod time;

pub use conn::{Conn, Read};
pub use dial::{connect, resolve};
pub use listen::Listening;
pub use time::Deadline;
pub use wasip2::sockets::network::{ErrorCode, IpSocketAddress};

/// What went wrong below HTTP.
#[derive(Debug)]
pub enum NetError {
    /// Name lookup failed.
    Dns(ErrorCode),
    /// Connect failed.
    Connect(ErrorCode),
    /// Another socket operation failed.
    Socket(ErrorCode),
    /// A stream operation failed (the runtime's description).
    Io(String),
    /// The deadline passed.
    Timeout,
}
