//! The exchanges: protocol decisions from [`crate::proto`] driven over I/O from [`crate::net`].
//!
//! This layer neither parses HTTP (it asks `proto`) nor calls WASI (it asks `net`). It owns
//! the order of things: validate, connect, write, read the head, decide, hand over.

pub mod client;
mod error;
pub mod server;

pub use error::Error;

use crate::net::{Conn, Deadline};
use crate::proto::HeadScanner;

/// Most bytes asked for in one read.
const READ_CHUNK: usize = 64 * 1024;

/// A connection taken over, with the bytes read past the head.
pub struct Hijacked {
    /// The connection.
    pub conn: Conn,
    /// Bytes already read past the head, in order.
    pub buffered: Vec<u8>,
}

/// Read until `buf` holds a complete head; return its length. `buf` may already hold bytes.
fn read_head(
    conn: &Conn,
    buf: &mut Vec<u8>,
    max_head_bytes: usize,
    deadline: Deadline,
) -> Result<usize, Error> {
    let mut scanner = HeadScanner::new(max_head_bytes);
    loop {
        if let Some(end) = scanner.scan(buf)? {
            return Ok(end);
        }
        match conn.read(scanner.room(buf.len()).min(READ_CHUNK), deadline)? {
            Some(bytes) => buf.extend_from_slice(&bytes),
            None if buf.is_empty() => return Err(Error::ClosedBeforeHead),
            None => return Err(Error::ClosedInsideHead),
        }
    }
}
