//! The WASI side: wasi:sockets, wasi:io and wasi:random, and nothing about HTTP.
//!
//! Name lookup, connect, listen and accept, reads and writes bounded by a deadline (a
//! monotonic-clock pollable), and waiting on many connections at once (wasi:io/poll). Steps
//! that would wait come in a form that does not (`try_*`, with a `subscribe` for the pollable
//! to wait on); calls that wait carry the `blocking_` prefix. A pollable is made for one wait
//! and dropped before the connection it watches is handed over.

mod addr;
mod conn;
mod dial;
mod error;
mod listen;
mod random;
mod time;

pub use addr::ip_address;
pub use conn::{Conn, Received};
pub use dial::{Connecting, Resolving};
pub use error::NetError;
pub use listen::{Listening, Watched};
pub use random::nonce16;
pub use time::{Deadline, blocking_wait_any, ready_now};
pub use wasip2::io::poll::Pollable;
pub use wasip2::sockets::network::IpSocketAddress;
