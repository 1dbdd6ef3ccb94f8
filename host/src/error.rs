//! The host's error: the component's typed error, or a failure of the runtime itself.

use crate::HijackError;
use std::fmt;

/// Why a host call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The component refused or failed the exchange; nothing was handed over.
    #[error("{}", describe(.0))]
    Hijack(HijackError),
    /// wasmtime failed: compiling, instantiating, a trap, or the resource table.
    #[error("runtime: {0}")]
    Runtime(String),
}

impl Error {
    /// The component's typed error, if this is one.
    pub fn hijack(&self) -> Option<&HijackError> {
        match self {
            Self::Hijack(e) => Some(e),
            Self::Runtime(_) => None,
        }
    }

    /// Whether a deadline passed.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Hijack(HijackError::Timeout))
    }
}

impl From<HijackError> for Error {
    fn from(e: HijackError) -> Self {
        Self::Hijack(e)
    }
}

impl From<wasmtime::Error> for Error {
    fn from(e: wasmtime::Error) -> Self {
        Self::Runtime(format!("{e:?}"))
    }
}

impl From<wasmtime::component::ResourceTableError> for Error {
    fn from(e: wasmtime::component::ResourceTableError) -> Self {
        Self::Runtime(e.to_string())
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
            E::Io(why) => write!(f, "i/o error: {why}"),
            E::Timeout => f.write_str("timed out"),
            E::ClosedBeforeHead => {
                f.write_str("the peer closed the connection before a response head")
            }
            E::ClosedInsideHead => f.write_str("the peer closed the connection inside a head"),
            E::HeadTooLarge => f.write_str("head too large"),
            E::TooManyHeaders => f.write_str("too many header fields"),
            E::MalformedHead(why) => write!(f, "malformed head: {why}"),
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
        }
    }
}
