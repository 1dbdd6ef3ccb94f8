//! The core's error type: what can be wrong with a head or with caller input.

use alloc::string::String;
use core::fmt;

/// What the core refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtoError {
    /// Caller input was refused before anything was encoded; the text says which and why.
    InvalidInput(String),
    /// The head is longer than the byte cap.
    HeadTooLarge,
    /// The head carries more header fields than the cap.
    TooManyHeaders,
    /// The head is not valid HTTP/1.x; the text says what was wrong.
    Malformed(&'static str),
    /// A request body is larger than the cap its reader was given.
    BodyTooLarge,
    /// A chunked request body breaks its framing; the text says how.
    MalformedBody(&'static str),
}

impl ProtoError {
    pub(crate) fn invalid(what: impl Into<String>) -> Self {
        Self::InvalidInput(what.into())
    }

    pub(crate) fn from_httparse(e: httparse::Error) -> Self {
        match e {
            httparse::Error::TooManyHeaders => Self::TooManyHeaders,
            httparse::Error::HeaderName => Self::Malformed("invalid header name"),
            httparse::Error::HeaderValue => Self::Malformed("invalid header value"),
            httparse::Error::NewLine => Self::Malformed("invalid line ending"),
            httparse::Error::Status => Self::Malformed("invalid status line"),
            httparse::Error::Token => Self::Malformed("invalid token in the start line"),
            httparse::Error::Version => Self::Malformed("invalid HTTP version"),
        }
    }
}

impl fmt::Display for ProtoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidInput(what) => write!(f, "invalid input: {what}"),
            Self::HeadTooLarge => f.write_str("head too large"),
            Self::TooManyHeaders => f.write_str("too many headers"),
            Self::Malformed(what) => write!(f, "malformed head: {what}"),
            Self::BodyTooLarge => f.write_str("request body too large"),
            Self::MalformedBody(what) => write!(f, "malformed body: {what}"),
        }
    }
}

impl core::error::Error for ProtoError {}
