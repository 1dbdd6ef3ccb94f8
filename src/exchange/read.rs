//! Reading a head off a connection: the scanner from `proto` fed by reads from `net`.

use super::error::Error;
use crate::net::{Conn, Received};
use crate::proto::HeadScanner;
use alloc::vec::Vec;

/// Most bytes asked for in one read.
pub const READ_CHUNK: usize = 64 * 1024;

/// Read what has arrived, without waiting, until `buf` holds a complete head. `Some(end)`: the
/// head is `buf[..end]` (bytes past it stay in `buf`); `None`: the head needs bytes that have
/// not arrived. `scanner` carries the scan across calls; `buf` may start with bytes.
pub fn try_read_head(
    conn: &Conn,
    buf: &mut Vec<u8>,
    scanner: &mut HeadScanner,
) -> Result<Option<usize>, Error> {
    loop {
        if let Some(end) = scanner.scan(buf)? {
            return Ok(Some(end));
        }
        let room = scanner.room(buf.len());
        match conn.try_read(room.min(READ_CHUNK))? {
            Received::Data(bytes) => {
                // Grow as Vec does (doubling), but never past what the head may hold: a
                // pending head's buffer stays within `max-head-bytes` (+1, to see it overflow).
                if bytes.len() > buf.capacity() - buf.len() {
                    let cap = (buf.len() + room).min(buf.capacity().max(256) * 2);
                    buf.reserve_exact(cap.max(buf.len() + bytes.len()) - buf.len());
                }
                buf.extend_from_slice(&bytes);
            }
            Received::Empty => return Ok(None),
            Received::Closed if buf.is_empty() => return Err(Error::ClosedBeforeHead),
            Received::Closed => return Err(Error::ClosedInsideHead),
        }
    }
}
