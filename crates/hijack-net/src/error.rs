//! What can go wrong below HTTP, in wasi:sockets and wasi:io terms.

use alloc::string::String;
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
    /// The TLS handshake failed (the runtime's description, one line).
    Tls(String),
}

impl NetError {
    /// Whether an accept failed for a reason that passes (Go's `Temporary`): the process or
    /// system is out of descriptors (`new-socket-limit`: EMFILE, ENFILE) or buffers
    /// (`out-of-memory`: ENOBUFS, ENOMEM). The listener itself is fine. wasmtime 48 reports
    /// EMFILE and ENFILE from accept as `unknown` (its errno table has no entry for them), so
    /// `unknown` counts too: every errno a broken listener gives (EBADF, EINVAL, ENOTSOCK,
    /// EPERM) has a code of its own.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Socket(code) if Self::is_transient_code(*code))
    }

    /// Whether an accept that failed with `code` failed for a reason that passes (see
    /// [`NetError::is_transient`]).
    pub fn is_transient_code(code: ErrorCode) -> bool {
        matches!(
            code,
            ErrorCode::NewSocketLimit | ErrorCode::OutOfMemory | ErrorCode::Unknown
        )
    }
}

/// The first line of a runtime's description, or a placeholder when it has none.
pub(crate) fn one_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default().trim();
    if line.is_empty() {
        "i/o error".into()
    } else {
        line.into()
    }
}

impl From<StreamError> for NetError {
    fn from(e: StreamError) -> Self {
        match e {
            StreamError::Closed => Self::Io("stream closed".into()),
            // One line: the runtime's description may run over several (a cause chain).
            StreamError::LastOperationFailed(e) => Self::Io(one_line(&e.to_debug_string())),
        }
    }
}
