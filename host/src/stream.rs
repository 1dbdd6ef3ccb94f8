//! The handed-over connection as a native stream: the bytes the component had buffered come
//! first (hyper's `Rewind`), then the socket's input stream; writes go to its output stream.
//!
//! The handles are taken out of the store's resource table once, so moving bytes needs neither
//! the store nor the guest: the stream can live in its own task while the component accepts
//! more connections. This module moves bytes only; it knows nothing of HTTP.

use bytes::Bytes;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use wasmtime_wasi::p2::{DynInputStream, DynOutputStream, StreamError};

type Waiting<S> = Pin<Box<dyn Future<Output = S> + Send>>;

/// A stream that is either at hand or lent to a future waiting for it to become ready.
enum Side<S> {
    Idle(S),
    Waiting(Waiting<S>),
    Done,
}

/// A hijacked connection: `AsyncRead` yields the buffered bytes, then the socket;
/// `AsyncWrite` writes to the socket; `shutdown` half-closes the sending side (as Docker's
/// `CloseWrite`), and reading goes on until the peer closes. [`HijackedStream::into_split`]
/// gives the two directions to two owners, with no lock between them.
pub struct HijackedStream {
    read: HijackedReader,
    write: HijackedWriter,
}

/// The receiving side of a [`HijackedStream`]: the buffered bytes, then the socket.
pub struct HijackedReader {
    buffered: Bytes,
    input: Side<DynInputStream>,
}

/// The sending side of a [`HijackedStream`]; `shutdown` (or dropping it) half-closes.
pub struct HijackedWriter {
    output: Side<DynOutputStream>,
}

impl HijackedStream {
    /// A stream over handles already removed from the resource table (the socket resource
    /// itself must be gone, so that dropping `output` closes the sending side).
    pub(crate) fn new(buffered: Vec<u8>, input: DynInputStream, output: DynOutputStream) -> Self {
        Self {
            read: HijackedReader {
                buffered: Bytes::from(buffered),
                input: Side::Idle(input),
            },
            write: HijackedWriter {
                output: Side::Idle(output),
            },
        }
    }

    /// The bytes buffered past the head that have not been read yet.
    pub fn buffered(&self) -> &[u8] {
        &self.read.buffered
    }

    /// The next bytes without a copy: see [`HijackedReader::read_chunk`].
    pub async fn read_chunk(&mut self, max: usize) -> io::Result<Option<Bytes>> {
        self.read.read_chunk(max).await
    }

    /// The two directions, each owned on its own (as tokio's `TcpStream::into_split`).
    pub fn into_split(self) -> (HijackedReader, HijackedWriter) {
        (self.read, self.write)
    }
}

fn wait_input(mut s: DynInputStream) -> Waiting<DynInputStream> {
    Box::pin(async move {
        s.ready().await;
        s
    })
}

fn wait_output(mut s: DynOutputStream) -> Waiting<DynOutputStream> {
    Box::pin(async move {
        s.ready().await;
        s
    })
}

fn io_error(e: StreamError) -> io::Error {
    match e {
        StreamError::Closed => io::ErrorKind::BrokenPipe.into(),
        StreamError::LastOperationFailed(e) => io::Error::other(format!("{e:?}")),
        StreamError::Trap(e) => io::Error::other(format!("{e:?}")),
    }
}

impl HijackedReader {
    /// The bytes buffered past the head that have not been read yet.
    pub fn buffered(&self) -> &[u8] {
        &self.buffered
    }

    /// The next bytes, at most `max` (at least 1), without copying them into a buffer of the
    /// caller's: the buffered bytes first, then what the socket has, as the runtime handed
    /// it. `None` once the peer has closed its side.
    pub async fn read_chunk(&mut self, max: usize) -> io::Result<Option<Bytes>> {
        std::future::poll_fn(|cx| self.poll_read_chunk(cx, max.max(1))).await
    }

    fn poll_read_chunk(
        &mut self,
        cx: &mut Context<'_>,
        max: usize,
    ) -> Poll<io::Result<Option<Bytes>>> {
        if !self.buffered.is_empty() {
            let n = self.buffered.len().min(max);
            return Poll::Ready(Ok(Some(self.buffered.split_to(n))));
        }
        loop {
            match std::mem::replace(&mut self.input, Side::Done) {
                Side::Idle(mut s) => match s.read(max) {
                    Ok(bytes) if bytes.is_empty() => self.input = Side::Waiting(wait_input(s)),
                    Ok(bytes) => {
                        // `read` returns at most the size asked for.
                        self.input = Side::Idle(s);
                        return Poll::Ready(Ok(Some(bytes)));
                    }
                    Err(StreamError::Closed) => return Poll::Ready(Ok(None)),
                    Err(e) => return Poll::Ready(Err(io_error(e))),
                },
                Side::Waiting(mut fut) => match fut.as_mut().poll(cx) {
                    Poll::Ready(s) => self.input = Side::Idle(s),
                    Poll::Pending => {
                        self.input = Side::Waiting(fut);
                        return Poll::Pending;
                    }
                },
                Side::Done => return Poll::Ready(Ok(None)),
            }
        }
    }
}

impl AsyncRead for HijackedReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        let remaining = buf.remaining();
        if let Some(bytes) = ready!(self.poll_read_chunk(cx, remaining))? {
            buf.put_slice(&bytes);
        }
        Poll::Ready(Ok(()))
    }
}

impl HijackedWriter {
    /// Wait until the output side has no write in flight; `Ok(None)` if it is closed.
    fn poll_output_idle(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Side::Waiting(fut) = &mut self.output {
            let s = ready!(fut.as_mut().poll(cx));
            self.output = Side::Idle(s);
        }
        match self.output {
            Side::Done => Poll::Ready(Err(io::ErrorKind::BrokenPipe.into())),
            _ => Poll::Ready(Ok(())),
        }
    }
}

impl AsyncWrite for HijackedWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        loop {
            ready!(this.poll_output_idle(cx))?;
            let Side::Idle(s) = &mut this.output else {
                unreachable!("poll_output_idle leaves the output idle")
            };
            match s.check_write() {
                Ok(0) => {
                    let Side::Idle(s) = std::mem::replace(&mut this.output, Side::Done) else {
                        unreachable!()
                    };
                    this.output = Side::Waiting(wait_output(s));
                }
                Ok(permit) => {
                    let n = permit.min(data.len());
                    s.write(Bytes::copy_from_slice(&data[..n]))
                        .map_err(io_error)?;
                    return Poll::Ready(Ok(n));
                }
                Err(e) => return Poll::Ready(Err(io_error(e))),
            }
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if let Side::Idle(s) = &mut this.output {
            s.flush().map_err(io_error)?;
            let Side::Idle(s) = std::mem::replace(&mut this.output, Side::Done) else {
                unreachable!()
            };
            this.output = Side::Waiting(wait_output(s));
        }
        this.poll_output_idle(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Side::Done = self.output {
            return Poll::Ready(Ok(()));
        }
        ready!(self.as_mut().poll_flush(cx))?;
        // Dropping the last handle of the sending side shuts it down (half-close).
        self.output = Side::Done;
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for HijackedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.read).poll_read(cx, buf)
    }
}

impl AsyncWrite for HijackedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.write).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.write).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.write).poll_shutdown(cx)
    }
}
