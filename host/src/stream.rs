//! The handed-over connection as a native stream: the bytes the component had buffered come
//! first (hyper's `Rewind`), then the socket itself — the host's own `wasi:sockets/tcp`
//! (`sockets/`) gives the tokio `TcpStream` back at the handoff, and over TLS the host's own
//! `wasi:tls` (`tls/`) gives its rustls session, moved onto that `TcpStream` — so after it no
//! byte passes through WASI or the guest.
//!
//! The stream needs neither the store nor the guest: it can live in its own task while the
//! component accepts more connections. This module moves bytes only; it knows nothing of
//! HTTP.

use bytes::{Bytes, BytesMut};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf, ReadHalf, WriteHalf};
use tokio::net::{TcpStream, UnixStream, tcp, unix};

use crate::tls::transport::Transport;

/// A rustls session on the native socket: a client's (`dial_tls`) or a server's (a listener
/// under `NetPolicy::tls_server`).
type TlsStream = tokio_rustls::TlsStream<Transport>;

/// What the bytes go through: the socket, or a TLS session on it.
enum Link {
    Tcp(TcpStream),
    /// A unix socket the policy put behind the address the component dialled.
    Unix(UnixStream),
    Tls(Box<TlsStream>),
}

/// One direction of a [`Link`]: the socket's own half, or a TLS session's (which share the
/// session under tokio's lock).
enum Half<T, U, S> {
    Tcp(T),
    Unix(U),
    Tls(S),
}

type ReadSide = Half<tcp::OwnedReadHalf, unix::OwnedReadHalf, ReadHalf<Box<TlsStream>>>;
type WriteSide = Half<tcp::OwnedWriteHalf, unix::OwnedWriteHalf, WriteHalf<Box<TlsStream>>>;

/// A hijacked connection: `AsyncRead` yields the buffered bytes, then the socket;
/// `AsyncWrite` writes to the socket; `shutdown` half-closes the sending side (as Docker's
/// `CloseWrite`), and reading goes on until the peer closes. [`HijackedStream::into_split`]
/// gives the two directions to two owners, with no lock between them;
/// [`HijackedStream::into_parts`] gives the buffered bytes and the `TcpStream` itself (as Go's
/// `Hijack` gives the `net.Conn` and its reader).
///
/// Over TLS the stream is a rustls session on the native socket: reads decrypt, writes
/// encrypt, `shutdown` sends TLS's `close_notify` and then half-closes the socket.
pub struct HijackedStream {
    buffered: Bytes,
    socket: Link,
}

/// The receiving side of a [`HijackedStream`]: the buffered bytes, then the socket.
pub struct HijackedReader {
    buffered: Bytes,
    socket: ReadSide,
}

/// The sending side of a [`HijackedStream`]; `shutdown` (or dropping it) half-closes.
pub struct HijackedWriter {
    socket: WriteSide,
}

impl HijackedStream {
    /// The connection the component handed over, with the bytes it had read past the head.
    pub(crate) fn new(buffered: Vec<u8>, socket: TcpStream) -> Self {
        Self {
            buffered: Bytes::from(buffered),
            socket: Link::Tcp(socket),
        }
    }

    /// A connection over TLS: the session, already on the native socket.
    pub(crate) fn over_tls(buffered: Vec<u8>, session: TlsStream) -> Self {
        Self {
            buffered: Bytes::from(buffered),
            socket: Link::Tls(Box::new(session)),
        }
    }

    /// A connection over a unix socket (`NetPolicy::connect_unix`).
    pub(crate) fn over_unix(buffered: Vec<u8>, socket: UnixStream) -> Self {
        Self {
            buffered: Bytes::from(buffered),
            socket: Link::Unix(socket),
        }
    }

    /// Whether the connection is a unix socket's (`NetPolicy::connect_unix`).
    pub fn is_unix(&self) -> bool {
        matches!(self.socket, Link::Unix(_))
    }

    /// Whether the connection runs over TLS.
    pub fn is_tls(&self) -> bool {
        matches!(self.socket, Link::Tls(_))
    }

    /// The bytes buffered past the head that have not been read yet.
    pub fn buffered(&self) -> &[u8] {
        &self.buffered
    }

    /// The next bytes without a copy: see [`HijackedReader::read_chunk`].
    pub async fn read_chunk(&mut self, max: usize) -> io::Result<Option<Bytes>> {
        read_chunk(&mut self.buffered, &mut self.socket, max).await
    }

    /// The two directions, each owned on its own (as tokio's `TcpStream::into_split`; over
    /// TLS, as `tokio::io::split`, the two sharing the session).
    pub fn into_split(self) -> (HijackedReader, HijackedWriter) {
        let (read, write) = match self.socket {
            Link::Tcp(socket) => {
                let (read, write) = socket.into_split();
                (Half::Tcp(read), Half::Tcp(write))
            }
            Link::Unix(socket) => {
                let (read, write) = socket.into_split();
                (Half::Unix(read), Half::Unix(write))
            }
            Link::Tls(session) => {
                let (read, write) = tokio::io::split(session);
                (Half::Tls(read), Half::Tls(write))
            }
        };
        (
            HijackedReader {
                buffered: self.buffered,
                socket: read,
            },
            HijackedWriter { socket: write },
        )
    }

    /// The bytes buffered past the head that have not been read yet, and the socket: for a
    /// caller that wants the `TcpStream` itself (its options, or `into_std` for blocking I/O).
    /// A connection over TLS comes back unchanged (`Err`): its socket carries ciphertext; so
    /// does one over a unix socket (it is no `TcpStream`).
    pub fn into_parts(self) -> Result<(Bytes, TcpStream), Self> {
        match self.socket {
            Link::Tcp(socket) => Ok((self.buffered, socket)),
            socket => Err(Self {
                buffered: self.buffered,
                socket,
            }),
        }
    }

    fn tcp(&self) -> io::Result<&TcpStream> {
        match &self.socket {
            Link::Tcp(socket) => Ok(socket),
            Link::Unix(_) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "a unix socket has no IP address",
            )),
            Link::Tls(session) => session.get_ref().0.socket().ok_or_else(|| {
                io::Error::new(io::ErrorKind::NotConnected, "the TLS session has no socket")
            }),
        }
    }

    /// The socket's own address.
    pub fn local_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.tcp()?.local_addr()
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.tcp()?.peer_addr()
    }
}

/// Each [`Link`] and [`Half`] reads and writes through what it holds.
macro_rules! delegate_read {
    ($ty:ty, $($variant:ident),+) => {
        impl AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                match self.get_mut() {
                    $(Self::$variant(inner) => Pin::new(inner).poll_read(cx, buf),)+
                }
            }
        }
    };
}

macro_rules! delegate_write {
    ($ty:ty, $($variant:ident),+) => {
        impl AsyncWrite for $ty {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                data: &[u8],
            ) -> Poll<io::Result<usize>> {
                match self.get_mut() {
                    $(Self::$variant(inner) => Pin::new(inner).poll_write(cx, data),)+
                }
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                match self.get_mut() {
                    $(Self::$variant(inner) => Pin::new(inner).poll_write_vectored(cx, bufs),)+
                }
            }

            fn is_write_vectored(&self) -> bool {
                match self {
                    $(Self::$variant(inner) => inner.is_write_vectored(),)+
                }
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                match self.get_mut() {
                    $(Self::$variant(inner) => Pin::new(inner).poll_flush(cx),)+
                }
            }

            fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                match self.get_mut() {
                    $(Self::$variant(inner) => Pin::new(inner).poll_shutdown(cx),)+
                }
            }
        }
    };
}

delegate_read!(Link, Tcp, Unix, Tls);
delegate_write!(Link, Tcp, Unix, Tls);
delegate_read!(ReadSide, Tcp, Unix, Tls);
delegate_write!(WriteSide, Tcp, Unix, Tls);

/// Up to `max` (at least 1) bytes: the buffered ones first, then one read of the socket into a
/// fresh buffer; `None` once the peer has closed its side.
async fn read_chunk<R: AsyncRead + Unpin>(
    buffered: &mut Bytes,
    socket: &mut R,
    max: usize,
) -> io::Result<Option<Bytes>> {
    let max = max.max(1);
    if !buffered.is_empty() {
        let n = buffered.len().min(max);
        return Ok(Some(buffered.split_to(n)));
    }
    let mut buf = BytesMut::with_capacity(max);
    match socket.read_buf(&mut buf).await? {
        0 => Ok(None),
        _ => Ok(Some(buf.freeze())),
    }
}

/// Read the buffered bytes first, then the socket.
fn poll_read_rewind<R: AsyncRead + Unpin>(
    buffered: &mut Bytes,
    socket: &mut R,
    cx: &mut Context<'_>,
    buf: &mut ReadBuf<'_>,
) -> Poll<io::Result<()>> {
    if !buffered.is_empty() {
        let n = buffered.len().min(buf.remaining());
        buf.put_slice(&buffered.split_to(n));
        return Poll::Ready(Ok(()));
    }
    Pin::new(socket).poll_read(cx, buf)
}

impl HijackedReader {
    /// The bytes buffered past the head that have not been read yet.
    pub fn buffered(&self) -> &[u8] {
        &self.buffered
    }

    /// The next bytes, at most `max` (at least 1), in a buffer of their own: the buffered
    /// bytes first (without a copy), then what one read of the socket gives. `None` once the
    /// peer has closed its side.
    pub async fn read_chunk(&mut self, max: usize) -> io::Result<Option<Bytes>> {
        read_chunk(&mut self.buffered, &mut self.socket, max).await
    }
}

impl AsyncRead for HijackedReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        poll_read_rewind(&mut this.buffered, &mut this.socket, cx, buf)
    }
}

impl AsyncRead for HijackedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        poll_read_rewind(&mut this.buffered, &mut this.socket, cx, buf)
    }
}

/// Writes go straight to the socket's (or its write half's) own `AsyncWrite`.
macro_rules! write_to_socket {
    ($ty:ty) => {
        impl AsyncWrite for $ty {
            fn poll_write(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                data: &[u8],
            ) -> Poll<io::Result<usize>> {
                Pin::new(&mut self.socket).poll_write(cx, data)
            }

            fn poll_write_vectored(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                Pin::new(&mut self.socket).poll_write_vectored(cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                self.socket.is_write_vectored()
            }

            fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Pin::new(&mut self.socket).poll_flush(cx)
            }

            fn poll_shutdown(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
            ) -> Poll<io::Result<()>> {
                Pin::new(&mut self.socket).poll_shutdown(cx)
            }
        }
    };
}

write_to_socket!(HijackedWriter);
write_to_socket!(HijackedStream);

impl crate::copy::sealed::PlainEnd for HijackedReader {
    fn end(&self) -> Option<crate::copy::sealed::End<'_>> {
        use crate::copy::sealed::End;
        if !self.buffered.is_empty() {
            return None;
        }
        match &self.socket {
            Half::Tcp(read) => Some(End::Tcp(read.as_ref())),
            Half::Unix(read) => Some(End::Unix(read.as_ref())),
            Half::Tls(_) => None,
        }
    }
}

impl crate::copy::sealed::PlainEnd for HijackedWriter {
    fn end(&self) -> Option<crate::copy::sealed::End<'_>> {
        use crate::copy::sealed::End;
        match &self.socket {
            Half::Tcp(write) => Some(End::Tcp(write.as_ref())),
            Half::Unix(write) => Some(End::Unix(write.as_ref())),
            Half::Tls(_) => None,
        }
    }
}
