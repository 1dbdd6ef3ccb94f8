//! The host's own `wasi:tls` (0.2.0-draft, client side): trust, identity and the TLS session
//! are the host's; the component names the server and sees plaintext streams. And the server
//! side wasi:tls does not have yet: under [`TlsServerConfig`] the host terminates TLS on the
//! connections the component accepts ([`accept`]), so the component's server reads and
//! writes plaintext and the hijack hands over a TLS session like a client's.
//!
//! It exists for the same reason the host has its own TCP (`sockets/`): at the handoff the
//! host takes the session itself — a tokio-rustls stream, moved onto the native `TcpStream`
//! ([`transport`]) — so after it no byte passes through WASI or the guest. wasmtime-wasi-tls
//! keeps its session behind stream adapters and trusts only its bundled roots.
//!
//! Trust comes from the embedder, never the guest ([`TlsConfig`]): the system's roots by
//! default, plus CA files, plus a client certificate and key for mutual TLS. The guest never
//! sees a key.
//!
//! A failed handshake reaches the component as an `io-error` whose text starts with one of
//! [`TlsFailure`]'s fixed phrases; the component returns it as its `tls` error, and
//! [`Error::tls_failure`](crate::Error::tls_failure) reads the kind back. This module moves
//! bytes and keeps sessions; it knows nothing of HTTP.

mod config;
mod host;
pub(crate) mod transport;

pub use config::{TlsConfig, TlsConfigBuilder, TlsConfigError, TlsServerConfig};
pub use host::{ClientConnection, ClientHandshake, FutureClientStreams, ServerSession};
pub(crate) use host::{Session, accept};

use crate::bindings::tls::wasi::tls::types;
use std::fmt;
use std::sync::Arc;
use wasmtime::component::{HasData, Linker, ResourceTable};

/// What the host functions see of the store: its table and the trust to handshake with.
pub struct TlsView<'a> {
    /// The store's resource table.
    pub table: &'a mut ResourceTable,
    /// Roots and client identity.
    pub config: &'a Arc<rustls::ClientConfig>,
}

struct HostTls;

impl HasData for HostTls {
    type Data<'a> = TlsView<'a>;
}

/// Put `wasi:tls/types` in the linker, the `tls` feature on.
pub fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    view: fn(&mut T) -> TlsView<'_>,
) -> wasmtime::Result<()> {
    let mut options = types::LinkOptions::default();
    options.tls(true);
    types::add_to_linker::<T, HostTls>(linker, &options, view)
}

/// Why a TLS handshake (or a TLS read or write) failed, as far as the host can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsFailure {
    /// The peer's certificate does not chain to a trusted root (or is expired, revoked,
    /// malformed): curl's exit 60.
    UntrustedCertificate,
    /// The certificate is valid, but not for the name asked for.
    NameMismatch,
    /// The peer does not speak TLS (it answered with something else, e.g. plain HTTP).
    NotTls,
    /// The peer refused: it sent an alert (e.g. `certificate required` for mutual TLS
    /// without a client certificate).
    Refused,
    /// The server name is not a DNS name or an IP address.
    InvalidServerName,
    /// Anything else in the handshake.
    Handshake,
}

impl TlsFailure {
    /// The fixed phrase a message of this kind starts with.
    const fn phrase(self) -> &'static str {
        match self {
            Self::UntrustedCertificate => "tls: certificate not trusted",
            Self::NameMismatch => "tls: certificate not valid for the name",
            Self::NotTls => "tls: the peer does not speak TLS",
            Self::Refused => "tls: the peer refused",
            Self::InvalidServerName => "tls: invalid server name",
            Self::Handshake => "tls: handshake failed",
        }
    }

    const ALL: [Self; 6] = [
        Self::UntrustedCertificate,
        Self::NameMismatch,
        Self::NotTls,
        Self::Refused,
        Self::InvalidServerName,
        Self::Handshake,
    ];

    /// The kind of a message this module wrote (the component passes it on verbatim).
    pub(crate) fn of_message(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| text.starts_with(k.phrase()))
    }

    /// The kind of a rustls error.
    fn of_rustls(e: &rustls::Error) -> Self {
        use rustls::{CertificateError as C, Error as E};
        match e {
            E::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => {
                Self::NameMismatch
            }
            E::InvalidCertificate(_) | E::InvalidCertRevocationList(_) => {
                Self::UntrustedCertificate
            }
            E::InvalidMessage(_) | E::InappropriateMessage { .. } => Self::NotTls,
            E::AlertReceived(_) => Self::Refused,
            _ => Self::Handshake,
        }
    }
}

/// A TLS failure with its kind: `Display` is the kind's phrase, then the cause.
#[derive(Debug)]
pub(crate) struct TlsError {
    kind: TlsFailure,
    detail: String,
}

impl TlsError {
    pub(crate) fn new(kind: TlsFailure, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }

    /// An I/O error from tokio-rustls: the rustls error inside it, if any, names the kind.
    pub(crate) fn from_io(e: &std::io::Error) -> Self {
        let rustls = e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>());
        match rustls {
            Some(r) => Self::new(TlsFailure::of_rustls(r), r.to_string()),
            // The peer closed during the handshake: most often a plaintext server that gave
            // up on bytes it could not parse.
            None if e.kind() == std::io::ErrorKind::UnexpectedEof => Self::new(
                TlsFailure::NotTls,
                "the peer closed the connection during the handshake",
            ),
            None => Self::new(TlsFailure::Handshake, e.to_string()),
        }
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.phrase(), self.detail)
    }
}

impl std::error::Error for TlsError {}
