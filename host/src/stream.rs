//! The handed-over connection as a native stream: the bytes the component had buffered come
//! first (hyper's `Rewind`), then the socket's input stream; writes go to its output stream.
//!
//! The handles are taken out of the store's resource table once, so moving bytes needs neither
//! the store nor the guest: the stream can live in its own task while the component accepts
//! more connections. This module moves bytes only; it knows nothing of HTTP.

use bytes::{Buf, Bytes};
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
/// `CloseWrite`), and reading goes on until the peer closes.
pub struct HijackedStream {
    buffered: Bytes,
    input: Side<DynInputStream>,
    output: Side<DynOutputStream>,
}

impl HijackedStream {
    /// A stream over handles already removed from the resource table (the socket resource
    /// itself must be gone, so that dropping `output` closes the sending side).
    pub(crate) fn new(buffered: Vec<u8>, input: DynInputStream, output: DynOutputStream) -> Self {
        Self {
            buffered: Bytes::from(buffered),
            input: Side::Idle(input),
            output: Side::Idle(output),
        }
    }

    /// The bytes buffered past the head that have not been read yet.
    pub fn buffered(&self) -> &[u8] {
        &self.buffered
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

impl AsyncRead for HijackedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        if !this.buffered.is_empty() {
            let n = this.buffered.len().min(buf.remaining());
            buf.put_slice(&this.buffered[..n]);
            this.buffered.advance(n);
            return Poll::Ready(Ok(()));
        }
        loop {
            match std::mem::replace(&mut this.input, Side::Done) {
                Side::Idle(mut s) => match s.read(buf.remaining()) {
                    Ok(bytes) if bytes.is_empty() => this.input = Side::Waiting(wait_input(s)),
                    Ok(bytes) => {
                        // `read` returns at most the size asked for.
                        buf.put_slice(&bytes);
                        this.input = Side::Idle(s);
                        return Poll::Ready(Ok(()));
                    }
                    Err(StreamError::Closed) => return Poll::Ready(Ok(())),
                    Err(e) => return Poll::Ready(Err(io_error(e))),
                },
                Side::Waiting(mut fut) => match fut.as_mut().poll(cx) {
                    Poll::Ready(s) => this.input = Side::Idle(s),
                    Poll::Pending => {
                        this.input = Side::Waiting(fut);
                        return Poll::Pending;
                    }
                },
                Side::Done => return Poll::Ready(Ok(())),
            }
        }
    }
}

impl HijackedStream {
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

impl AsyncWrite for HijackedStream {
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
