//! What a TLS session runs over: until the handoff, the pair of `wasi:io` streams the
//! component gave the handshake (the host's own TCP streams, `sockets/`); after it, the
//! native `TcpStream` itself, so no byte of the hijacked connection passes through WASI.
//!
//! The swap happens in [`Transport::attach`]; rustls keeps its session state across it (the
//! WASI streams hold no byte of their own: a read takes what the socket has, a write goes
//! to the socket before the handoff completes).

use bytes::Bytes;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use wasmtime_wasi::p2::{DynInputStream, DynOutputStream, StreamError};

/// A stream parked in a future that resolves, with the stream, when it is ready.
type Parked<S> = Pin<Box<dyn Future<Output = S> + Send>>;

/// One side of the WASI pair: the stream, or the stream waiting to be ready.
pub(crate) enum Side<S> {
    Idle(S),
    Waiting(Parked<S>),
    /// Only while a poll moves the stream between the two.
    Moving,
}

/// What a TLS session reads and writes its records through.
pub(crate) enum Transport {
    /// The component's streams, before the handoff.
    Wasi {
        /// Reads.
        input: Side<DynInputStream>,
        /// Writes.
        output: Side<DynOutputStream>,
        /// Whether a flush was asked of `output` and has not completed.
        flushing: bool,
    },
    /// The socket itself, after the handoff.
    Native(TcpStream),
    /// Between the two: the streams are gone, the socket not yet back.
    Detached,
}

impl Transport {
    /// Over the component's two streams.
    pub(crate) fn wasi(input: DynInputStream, output: DynOutputStream) -> Self {
        Self::Wasi {
            input: Side::Idle(input),
            output: Side::Idle(output),
            flushing: false,
        }
    }

    /// Let go of the WASI streams (the socket's children), so that the socket can give its
    /// `TcpStream` back.
    pub(crate) fn detach(&mut self) {
        *self = Self::Detached;
    }

    /// Run over `socket` from now on.
    pub(crate) fn attach(&mut self, socket: TcpStream) {
        *self = Self::Native(socket);
    }

    /// The socket, once attached.
    pub(crate) fn socket(&self) -> Option<&TcpStream> {
        match self {
            Self::Native(socket) => Some(socket),
            _ => None,
        }
    }
}

fn detached() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "the TLS transport is detached")
}

fn stream_error(e: StreamError) -> io::Error {
    match e {
        StreamError::Closed => io::Error::from(io::ErrorKind::BrokenPipe),
        StreamError::LastOperationFailed(e) | StreamError::Trap(e) => {
            io::Error::other(e.to_string())
        }
    }
}

/// Wait until `side`'s stream is ready: park it in a future and poll that.
fn poll_ready<S>(side: &mut Side<Box<S>>, cx: &mut Context<'_>) -> Poll<()>
where
    S: wasmtime_wasi::p2::Pollable + ?Sized,
    Box<S>: Send + 'static,
{
    loop {
        match std::mem::replace(side, Side::Moving) {
            Side::Idle(mut stream) => {
                *side = Side::Waiting(Box::pin(async move {
                    stream.ready().await;
                    stream
                }));
            }
            Side::Waiting(mut parked) => match parked.as_mut().poll(cx) {
                Poll::Ready(stream) => {
                    *side = Side::Idle(stream);
                    return Poll::Ready(());
                }
                Poll::Pending => {
                    *side = Side::Waiting(parked);
                    return Poll::Pending;
                }
            },
            Side::Moving => return Poll::Ready(()),
        }
    }
}

impl AsyncRead for Transport {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Native(socket) => Pin::new(socket).poll_read(cx, buf),
            Self::Detached => Poll::Ready(Err(detached())),
            Self::Wasi { input, .. } => loop {
                if let Side::Idle(stream) = input {
                    match stream.read(buf.remaining()) {
                        Ok(bytes) if !bytes.is_empty() => {
                            buf.put_slice(&bytes);
                            return Poll::Ready(Ok(()));
                        }
                        Ok(_) => {}
                        // The end of the stream: a read of nothing.
                        Err(StreamError::Closed) => return Poll::Ready(Ok(())),
                        Err(e) => return Poll::Ready(Err(stream_error(e))),
                    }
                }
                ready!(poll_ready(input, cx));
            },
        }
    }
}

impl AsyncWrite for Transport {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Native(socket) => Pin::new(socket).poll_write(cx, data),
            Self::Detached => Poll::Ready(Err(detached())),
            Self::Wasi { output, .. } => loop {
                if let Side::Idle(stream) = output {
                    match stream.check_write() {
                        Ok(0) => {}
                        Ok(permit) => {
                            let n = permit.min(data.len());
                            let sent = stream.write(Bytes::copy_from_slice(&data[..n]));
                            return Poll::Ready(sent.map(|()| n).map_err(stream_error));
                        }
                        Err(e) => return Poll::Ready(Err(stream_error(e))),
                    }
                }
                ready!(poll_ready(output, cx));
            },
        }
    }

    /// rustls hands its pending records over as one vector: they go out in one WASI write,
    /// so a handshake flight leaves in one segment rather than waiting on a delayed ACK
    /// behind its first small record (Nagle's rule; measured: ~40 ms per handshake).
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Native(socket) => Pin::new(socket).poll_write_vectored(cx, bufs),
            Self::Detached => Poll::Ready(Err(detached())),
            Self::Wasi { output, .. } => loop {
                if let Side::Idle(stream) = output {
                    match stream.check_write() {
                        Ok(0) => {}
                        Ok(permit) => {
                            let mut joined = bytes::BytesMut::new();
                            for buf in bufs {
                                let room = permit - joined.len();
                                if room == 0 {
                                    break;
                                }
                                joined.extend_from_slice(&buf[..buf.len().min(room)]);
                            }
                            let n = joined.len();
                            let sent = stream.write(joined.freeze());
                            return Poll::Ready(sent.map(|()| n).map_err(stream_error));
                        }
                        Err(e) => return Poll::Ready(Err(stream_error(e))),
                    }
                }
                ready!(poll_ready(output, cx));
            },
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Native(socket) => Pin::new(socket).poll_flush(cx),
            Self::Detached => Poll::Ready(Err(detached())),
            Self::Wasi {
                output, flushing, ..
            } => loop {
                if let Side::Idle(stream) = output {
                    if !*flushing {
                        stream.flush().map_err(stream_error)?;
                        *flushing = true;
                    }
                    // A flush is done when the stream takes writes again.
                    match stream.check_write() {
                        Ok(0) => {}
                        Ok(_) => {
                            *flushing = false;
                            return Poll::Ready(Ok(()));
                        }
                        Err(e) => {
                            *flushing = false;
                            return Poll::Ready(Err(stream_error(e)));
                        }
                    }
                }
                ready!(poll_ready(output, cx));
            },
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Native(socket) => Pin::new(socket).poll_shutdown(cx),
            // Before the handoff the socket is the component's: a TLS close only flushes.
            this => Pin::new(this).poll_flush(cx),
        }
    }
}
