//! A connected TCP socket and its two streams — plaintext, or over TLS with the `tls`
//! feature: reads and writes with a deadline.

use super::error::NetError;
use super::time::{Deadline, blocking_wait};
use alloc::vec::Vec;
use wasip2::io::poll::Pollable;
use wasip2::io::streams::{InputStream, OutputStream, StreamError};
use wasip2::sockets::network::IpSocketAddress;
use wasip2::sockets::tcp::{ShutdownType, TcpSocket};

/// A connection. Field order is drop order: the streams are children of the socket in the
/// runtime's resource table and must go first (over TLS, they are the TLS streams, children
/// of the TLS connection, which holds the socket's own). No pollable of it outlives a call.
pub struct Conn {
    input: InputStream,
    output: OutputStream,
    tls: Option<TlsSession>,
    socket: TcpSocket,
}

/// wasi:tls's `client-connection`: the TLS session a connection runs over.
#[cfg(feature = "tls")]
pub use crate::tls::ClientConnection as TlsSession;

/// wasi:tls's `client-connection` with the `tls` feature; without it no connection is over
/// TLS, and this type has no value.
#[cfg(not(feature = "tls"))]
#[derive(Debug)]
pub enum TlsSession {}

/// A connection's handles, for the caller to own. Field order is drop order.
pub struct Parts {
    /// Reads: the socket's, or over TLS the plaintext.
    pub input: InputStream,
    /// Writes: the socket's, or over TLS the plaintext.
    pub output: OutputStream,
    /// The TLS session, when the connection is over TLS: dropped after the streams.
    pub tls: Option<TlsSession>,
    /// The socket, dropped last.
    pub socket: TcpSocket,
}

/// What a read that does not wait found.
pub enum Received {
    /// Some bytes.
    Data(Vec<u8>),
    /// Nothing yet.
    Empty,
    /// The peer closed its side.
    Closed,
}

impl Conn {
    pub(crate) fn new(socket: TcpSocket, input: InputStream, output: OutputStream) -> Self {
        Self {
            input,
            output,
            tls: None,
            socket,
        }
    }

    /// A connection over TLS: the TLS streams of `tls`, which runs over `socket`.
    #[cfg(feature = "tls")]
    pub(crate) fn over_tls(
        socket: TcpSocket,
        tls: TlsSession,
        input: InputStream,
        output: OutputStream,
    ) -> Self {
        Self {
            input,
            output,
            tls: Some(tls),
            socket,
        }
    }

    /// Read at most `max` bytes that are already there.
    pub fn try_read(&self, max: usize) -> Result<Received, NetError> {
        match self.input.read(max as u64) {
            Ok(b) if b.is_empty() => Ok(Received::Empty),
            Ok(b) => Ok(Received::Data(b)),
            Err(StreamError::Closed) => Ok(Received::Closed),
            Err(e) => Err(e.into()),
        }
    }

    /// Write all of `bytes` and wait until they are flushed, all before `deadline`.
    pub fn blocking_write_all(&self, mut bytes: &[u8], deadline: Deadline) -> Result<(), NetError> {
        while !bytes.is_empty() {
            let permit = self.output.check_write().map_err(NetError::from)?;
            if permit == 0 {
                blocking_wait(&self.output.subscribe(), deadline)?;
                continue;
            }
            let n = bytes
                .len()
                .min(usize::try_from(permit).unwrap_or(usize::MAX));
            self.output.write(&bytes[..n]).map_err(NetError::from)?;
            bytes = &bytes[n..];
        }
        self.output.flush().map_err(NetError::from)?;
        while self.output.check_write().map_err(NetError::from)? == 0 {
            blocking_wait(&self.output.subscribe(), deadline)?;
        }
        Ok(())
    }

    /// Write as much of `bytes` as the stream takes now, without waiting; how much it took.
    pub fn write_some(&self, bytes: &[u8]) -> Result<usize, NetError> {
        let permit = self.output.check_write().map_err(NetError::from)?;
        let n = bytes
            .len()
            .min(usize::try_from(permit).unwrap_or(usize::MAX));
        if n > 0 {
            self.output.write(&bytes[..n]).map_err(NetError::from)?;
        }
        Ok(n)
    }

    /// Start flushing what was written, without waiting for it to finish.
    pub fn flush(&self) -> Result<(), NetError> {
        self.output.flush().map_err(NetError::from)
    }

    /// Write what fits without waiting (an answer to a client we are about to drop).
    pub fn try_write(&self, bytes: &[u8]) {
        if matches!(self.write_some(bytes), Ok(n) if n > 0) {
            let _ = self.flush();
        }
    }

    /// Ready when the input has bytes or is closed; a child of the input stream.
    pub fn readable(&self) -> Pollable {
        self.input.subscribe()
    }

    /// Ready when the output takes bytes; a child of the output stream.
    pub fn writable(&self) -> Pollable {
        self.output.subscribe()
    }

    /// Half-close the sending side and discard what the peer has already sent (without
    /// waiting), so that closing is less likely to reset the connection under a response the
    /// peer has not read yet.
    pub fn close_after_answer(self, max: usize) {
        let _ = self.socket.shutdown(ShutdownType::Send);
        let mut seen = 0;
        while seen < max {
            match self.try_read(max - seen) {
                Ok(Received::Data(b)) => seen += b.len(),
                _ => break,
            }
        }
    }

    /// Turn TCP keepalive on: the first probe after `period_ms` of silence, then one every
    /// `period_ms` (as Docker's client does with 30 s).
    pub fn set_keepalive(&self, period_ms: u64) -> Result<(), NetError> {
        let ns = period_ms.saturating_mul(1_000_000).max(1_000_000_000);
        self.socket
            .set_keep_alive_enabled(true)
            .and_then(|()| self.socket.set_keep_alive_idle_time(ns))
            .and_then(|()| self.socket.set_keep_alive_interval(ns))
            .map_err(NetError::Socket)
    }

    /// The peer's address.
    pub fn remote_address(&self) -> Result<IpSocketAddress, NetError> {
        self.socket.remote_address().map_err(NetError::Socket)
    }

    /// The handles, for the caller to own.
    pub fn into_parts(self) -> Parts {
        Parts {
            input: self.input,
            output: self.output,
            tls: self.tls,
            socket: self.socket,
        }
    }
}
