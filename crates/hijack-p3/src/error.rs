//! The exchanges' error: a protocol refusal, an I/O failure, or a peer that did not switch.

use crate::io::{ErrorCode, LookupError};
use crate::proto::{ProtoError, ResponseHead};
use alloc::{string::String, vec::Vec};

/// Why an exchange failed. Nothing is handed over with any of these.
pub enum Error {
    /// Bad caller input or a bad head.
    Proto(ProtoError),
    /// Name lookup failed.
    Dns(LookupError),
    /// Connecting failed.
    Connect(ErrorCode),
    /// Another socket operation failed.
    Socket(ErrorCode),
    /// A read or write failed: one line.
    Io(String),
    /// A deadline passed.
    Timeout,
    /// The peer closed before any byte of a head.
    ClosedBeforeHead,
    /// The peer closed inside a head.
    ClosedInsideHead,
    /// A final response that does not switch, with the first bytes of its body.
    NotSwitched(ResponseHead, Vec<u8>),
    /// A `101` that is not the switch asked for.
    InvalidSwitch(ResponseHead),
}

impl From<ProtoError> for Error {
    fn from(e: ProtoError) -> Self {
        Self::Proto(e)
    }
}
