//! What an exchange hands over: the connection and the bytes read past the head.

use crate::net::Conn;
use alloc::vec::Vec;

/// A connection taken over, with the bytes read past the head.
pub struct Hijacked {
    /// The connection.
    pub conn: Conn,
    /// Bytes already read past the head, in order.
    pub buffered: Vec<u8>,
}
