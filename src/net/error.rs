//! What can go wrong below HTTP, in wasi:sockets and wasi:io terms.

use wasip2::io::streams::StreamError;
use wasip2::sockets::network::ErrorCode;

/// What went wrong below HTTP.
#[derive(Debug)]
pub enum NetError {
    /// Name lookup failed.
    Dns(ErrorCode),
    /// Connect failed.
    Connect(ErrorCode),
    /// Another socket operation failed: bind, listen, accept, an address query.
    Socket(ErrorCode),
    /// A read or a write on the connection's streams failed (the runtime's description).
    Io(String),
    /// The deadline passed.
    Timeout,
}

impl From<StreamError> for NetError {
    fn from(e: StreamError) -> Self {
        match e {
            StreamError::Closed => Self::Io("stream closed".into()),
            StreamError::LastOperationFailed(e) => Self::Io(e.to_debug_string()),
        }
    }
}
