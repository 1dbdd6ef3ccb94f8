//! TLS over a connection through wasi:tls 0.2.0-draft (the `tls` feature): the client
//! handshake as a step that never waits. Trust, keys and the cipher are the runtime's: the
//! guest names the server and gets streams of plaintext back.

use super::conn::Conn;
use super::error::{NetError, one_line};
use wasip2::io::poll::Pollable;
use wasip2::sockets::tcp::TcpSocket;

/// The wasi:tls bindings, over wasip2's wasi:io types. The generated code holds the ABI's
/// `unsafe` and undocumented items; this module alone is allowed them.
#[allow(unsafe_code, missing_docs)]
mod bindings {
    wit_bindgen::generate!({
        path: ["../../wit/deps/io.wit", "../../wit/deps/tls.wit"],
        world: "wasi:tls/imports@0.2.0-draft",
        features: ["tls"],
        with: {
            "wasi:io/error@0.2.12": wasip2::io::error,
            "wasi:io/poll@0.2.12": wasip2::io::poll,
            "wasi:io/streams@0.2.12": wasip2::io::streams,
        },
    });
}

/// `wasi:tls/types`, for a guest whose own bindings import it (`with:` this module).
pub use bindings::wasi::tls::types;
pub use types::ClientConnection;

/// A client handshake in progress over a connection's streams.
pub struct Handshaking {
    /// Holds the socket's streams until it finishes: a child of `socket`, dropped first.
    future: types::FutureClientStreams,
    socket: TcpSocket,
}

impl Handshaking {
    /// Start the handshake with `server_name` (SNI, and the name the certificate must be
    /// valid for) over `conn`, which must not be over TLS already.
    pub fn start(conn: Conn, server_name: &str) -> Result<Self, NetError> {
        let parts = conn.into_parts();
        if parts.tls.is_some() {
            return Err(NetError::Tls("TLS inside TLS is not supported".into()));
        }
        let handshake = types::ClientHandshake::new(server_name, parts.input, parts.output);
        Ok(Self {
            future: types::ClientHandshake::finish(handshake),
            socket: parts.socket,
        })
    }

    /// The connection over TLS once the handshake is done; `None` while it runs; the
    /// runtime's reason, one line, when it failed.
    pub fn try_finish(self) -> Result<Result<Conn, Self>, NetError> {
        match self.future.get() {
            None => Ok(Err(self)),
            Some(Ok(Ok((connection, input, output)))) => {
                Ok(Ok(Conn::over_tls(self.socket, connection, input, output)))
            }
            Some(Ok(Err(e))) => Err(NetError::Tls(one_line(&e.to_debug_string()))),
            Some(Err(())) => Err(NetError::Tls("the handshake's outcome was taken".into())),
        }
    }

    /// Ready when [`Handshaking::try_finish`] may make progress; a child of the handshake.
    pub fn subscribe(&self) -> Pollable {
        self.future.subscribe()
    }
}
