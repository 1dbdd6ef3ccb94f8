//! The exchange's error: a protocol refusal, an I/O failure, or a peer that did not switch.

use crate::net::NetError;
use crate::proto::{ProtoError, ResponseHead};
use alloc::vec::Vec;

/// Why an exchange failed. Nothing is handed over with any of these.
pub enum Error {
    /// Bad caller input or a bad head.
    Proto(ProtoError),
    /// A socket or stream failure, or a deadline.
    Net(NetError),
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

impl From<NetError> for Error {
    fn from(e: NetError) -> Self {
        Self::Net(e)
    }
}
