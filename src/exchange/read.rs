//! Reading a head off a connection: the scanner from `proto` fed by reads from `net`.

use super::error::Error;
use crate::net::{Conn, Deadline};
use crate::proto::HeadScanner;

/// Most bytes asked for in one read.
pub const READ_CHUNK: usize = 64 * 1024;

/// Read until `buf` holds a complete head; return its length. `buf` may already hold bytes.
pub fn blocking_read_head(
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
        match conn.blocking_read(scanner.room(buf.len()).min(READ_CHUNK), deadline)? {
            Some(bytes) => buf.extend_from_slice(&bytes),
            None if buf.is_empty() => return Err(Error::ClosedBeforeHead),
            None => return Err(Error::ClosedInsideHead),
        }
    }
}
