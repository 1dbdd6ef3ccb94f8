//! The host's error: the component's typed error, or a failure of the runtime itself.
//!
//! [`Error`]'s `Display` is one line that already says what went wrong and why; the cause,
//! when there is one, stays reachable through [`std::error::Error::source`] (for logging the
//! whole chain, or downcasting).

use crate::bindings::exports::hijack::http::types::{Error as HijackError, Refusal};
use std::fmt;
use wasmtime_wasi::p2::bindings::sockets::network::ErrorCode;

/// A boxed cause, as the runtime gives it.
type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a host call failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The component refused or failed the exchange: its typed error. Nothing was handed
    /// over.
    Hijack(HijackError),
    /// The component trapped (a bug in it, or a resource limit); the instance must not be
    /// used again.
    Trap(RuntimeError),
    /// wasmtime failed otherwise: compiling, linking, instantiating, a host call.
    Runtime(RuntimeError),
    /// A handle the component returned was not where it should be in the resource table.
    Table(wasmtime::component::ResourceTableError),
}

/// A failure of wasmtime, with its first line kept for `Display` and the whole error as the
/// source.
#[derive(Debug)]
pub struct RuntimeError {
    line: String,
    cause: Cause,
}

impl fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.line)
    }
}

impl std::error::Error for RuntimeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.cause)
    }
}

impl Error {
    /// The component's typed error, if this is one.
    pub fn hijack(&self) -> Option<&HijackError> {
        match self {
            Self::Hijack(e) => Some(e),
            _ => None,
        }
    }

    /// Whether a deadline passed (connect, a head, or an answer).
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Hijack(HijackError::Timeout))
    }

    /// Whether the peer answered with a final response that does not switch protocols; the
    /// response is in [`Error::refusal`].
    pub fn is_not_switched(&self) -> bool {
        self.refusal().is_some()
    }

    /// The response that refused the switch (its head and the first bytes of its body).
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            Self::Hijack(HijackError::NotSwitched(r)) => Some(r),
            _ => None,
        }
    }

    /// Whether the peer answered `101` without switching to the protocol asked for.
    pub fn is_invalid_switch(&self) -> bool {
        matches!(self, Self::Hijack(HijackError::InvalidSwitch(_)))
    }

    /// Whether caller input was refused before any byte was sent.
    pub fn is_invalid_input(&self) -> bool {
        matches!(self, Self::Hijack(HijackError::InvalidInput(_)))
    }

    /// Whether the runtime denied a network use (the [`NetPolicy`](crate::NetPolicy) did not
    /// allow the address, or name lookups).
    pub fn is_denied(&self) -> bool {
        match self {
            Self::Hijack(
                HijackError::Connect(code) | HijackError::Socket(code) | HijackError::Dns(code),
            ) => matches!(code, ErrorCode::AccessDenied),
            _ => false,
        }
    }

    /// Whether an accept failed for a reason that passes (out of descriptors or buffers): the
    /// listener is intact; back off and accept again, as Go's `http.Server` does. The
    /// component decides which failures those are (the WIT's `transient`).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Hijack(HijackError::Transient(_)))
    }

    /// What kind of TLS failure this is, if it is one: the handshake's (the component's `tls`
    /// error), or a TLS read's or write's within the exchange (its `io` error; e.g. a server
    /// that wants a client certificate refuses only after the handshake, in TLS 1.3).
    pub fn tls_failure(&self) -> Option<crate::TlsFailure> {
        match self {
            Self::Hijack(HijackError::Tls(why)) => {
                Some(crate::TlsFailure::of_message(why).unwrap_or(crate::TlsFailure::Handshake))
            }
            Self::Hijack(HijackError::Io(why)) => crate::TlsFailure::of_message(why),
            _ => None,
        }
    }

    /// Whether the component trapped.
    pub fn is_trap(&self) -> bool {
        matches!(self, Self::Trap(_))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Hijack(e) => f.write_str(&describe(e)),
            Self::Trap(e) => write!(f, "the component trapped: {e}"),
            Self::Runtime(e) => write!(f, "runtime: {e}"),
            Self::Table(e) => write!(f, "resource table: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Hijack(_) => None,
            Self::Trap(e) | Self::Runtime(e) => Some(e),
            Self::Table(e) => Some(e),
        }
    }
}

impl From<HijackError> for Error {
    fn from(e: HijackError) -> Self {
        Self::Hijack(e)
    }
}

impl From<wasmtime::Error> for Error {
    fn from(e: wasmtime::Error) -> Self {
        // A trap's top-level message is its wasm backtrace; the trap itself says what happened.
        let trap = e.downcast_ref::<wasmtime::Trap>().map(|t| t.to_string());
        let line = trap.clone().unwrap_or_else(|| {
            let text = e.to_string();
            text.lines().next().unwrap_or_default().to_owned()
        });
        let error = RuntimeError {
            line,
            cause: e.into_boxed_dyn_error(),
        };
        if trap.is_some() {
            Self::Trap(error)
        } else {
            Self::Runtime(error)
        }
    }
}

impl From<wasmtime::component::ResourceTableError> for Error {
    fn from(e: wasmtime::component::ResourceTableError) -> Self {
        Self::Table(e)
    }
}

/// One line saying what the component's error means.
pub fn describe(e: &HijackError) -> String {
    Describe(e).to_string()
}

struct Describe<'a>(&'a HijackError);

impl fmt::Display for Describe<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use HijackError as E;
        match self.0 {
            E::InvalidInput(why) => write!(f, "invalid input: {why}"),
            E::Dns(code) => write!(f, "name lookup failed: {}", code.name()),
            E::Connect(code) => write!(f, "connect failed: {}", code.name()),
            E::Socket(code) => write!(f, "socket error: {}", code.name()),
            E::Transient(code) => write!(
                f,
                "accept failed for now (out of descriptors or buffers): {}",
                code.name()
            ),
            E::Io(why) => write!(f, "i/o error: {why}"),
            // The host's wasi:tls already says `tls: ...`.
            E::Tls(why) if why.starts_with("tls:") => f.write_str(why),
            E::Tls(why) => write!(f, "tls: {why}"),
            E::Timeout => f.write_str("timed out"),
            E::ClosedBeforeHead => {
                f.write_str("the peer closed the connection before a response head")
            }
            E::ClosedInsideHead => f.write_str("the peer closed the connection inside a head"),
            E::HeadTooLarge => f.write_str("head too large"),
            E::TooManyHeaders => f.write_str("too many header fields"),
            E::MalformedHead(why) => write!(f, "malformed head: {why}"),
            E::BodyTooLarge => f.write_str("request body too large"),
            E::MalformedBody(why) => write!(f, "malformed request body: {why}"),
            E::NotSwitched(r) => write!(
                f,
                "the peer did not switch protocols: {} {}",
                r.head.status, r.head.reason
            ),
            E::InvalidSwitch(h) => write!(
                f,
                "the peer answered {} without switching to the protocol asked for",
                h.status
            ),
            E::WouldBlock => f.write_str("not done yet: call again when its pollables are ready"),
        }
    }
}
