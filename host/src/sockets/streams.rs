//! A connection's two WASI streams, over the one native socket they share with their
//! `tcp-socket` (a [`Conn`]).
//!
//! Follows the streams of wasmtime-wasi 48.0.8's `src/p2/tcp.rs`, with two intended
//! differences: a read fills a fresh buffer without zeroing it first, and dropping a stream
//! shuts nothing down, so that the host can take the socket back whole at the handoff
//! ([`Conn::into_stream`]). Writes go to the socket at once; only what the kernel does not
//! take waits, in a task of its own, and `check-write` permits nothing until it has gone.
//! This module moves bytes and keeps the sides' states; it knows nothing of the socket's
//! other states (`tcp.rs`) or of the resource table (`host.rs`).

use super::native::NativeStream;
use bytes::{Bytes, BytesMut};
use rustix::io::Errno;
use socket2::SockRef;
use std::future::Future;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use tokio::task::JoinHandle;
use wasmtime_wasi::p2::{
    DynInputStream, DynOutputStream, InputStream, OutputStream, Pollable, StreamError, StreamResult,
};

/// Most bytes one `read` returns and one `check-write` permits (as wasmtime-wasi's).
const MAX_CHUNK: usize = 64 * 1024;

/// An established connection, shared by the socket and its two streams.
pub(crate) struct Conn {
    stream: NativeStream,
    /// The peer, as the connect or the accept gave it: `remote-address` costs no system call.
    peer: SocketAddr,
    /// Set by `shutdown(receive)`: the input stream reports closed from then on.
    read_closed: AtomicBool,
    write: Mutex<Write>,
}

enum Write {
    /// Nothing in flight.
    Idle,
    /// The part of a write the kernel did not take at once, going out in a task; then the
    /// sending side is shut down if `then_close`.
    Flushing {
        task: JoinHandle<io::Result<()>>,
        then_close: bool,
    },
    /// The sending side is shut down (after what was in flight, if anything), or the peer
    /// will take nothing more (EPIPE).
    Closed,
    Failed(Arc<io::Error>),
}

impl Conn {
    pub(crate) fn new(stream: NativeStream, peer: SocketAddr) -> Self {
        Self {
            stream,
            peer,
            read_closed: AtomicBool::new(false),
            write: Mutex::new(Write::Idle),
        }
    }

    pub(crate) fn stream(&self) -> &NativeStream {
        &self.stream
    }

    pub(crate) fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// The write state; a panic elsewhere while it was held leaves it usable (each update is
    /// a single assignment).
    fn write_state(&self) -> MutexGuard<'_, Write> {
        self.write.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn read_closed(&self) -> bool {
        self.read_closed.load(Ordering::Relaxed)
    }

    /// Shut one side or both: reading stops at once, sending after the write in flight.
    pub(crate) fn shutdown(self: &Arc<Self>, how: Shutdown) {
        if let Shutdown::Read | Shutdown::Both = how {
            self.read_closed.store(true, Ordering::Relaxed);
            // The peer may have closed already: a socket that is gone needs no shutdown.
            let _ = SockRef::from(&self.stream).shutdown(Shutdown::Read);
        }
        if let Shutdown::Write | Shutdown::Both = how {
            self.shutdown_send();
        }
    }

    /// Half-close the sending side: at once, or after the write in flight.
    fn shutdown_send(self: &Arc<Self>) {
        let mut write = self.write_state();
        *write = match std::mem::replace(&mut *write, Write::Closed) {
            Write::Idle => {
                // The peer may be gone already: then there is nothing to shut down.
                let _ = SockRef::from(&self.stream).shutdown(Shutdown::Write);
                Write::Closed
            }
            Write::Flushing { task, .. } => {
                let owner = Arc::clone(self);
                Write::Flushing {
                    task: tokio::spawn(async move {
                        let written = task.await.unwrap_or_else(|e| Err(io::Error::other(e)));
                        let _ = SockRef::from(&owner.stream).shutdown(Shutdown::Write);
                        written
                    }),
                    then_close: true,
                }
            }
            other => other,
        };
    }

    /// The connection, whole: waits for any write still in flight, then takes the socket
    /// back. `None` while a stream (or another holder) still shares it.
    pub(crate) async fn into_stream(conn: Arc<Self>) -> Option<NativeStream> {
        let flushing = {
            let mut write = conn.write_state();
            match std::mem::replace(&mut *write, Write::Idle) {
                Write::Flushing { task, .. } => Some(task),
                other => {
                    *write = other;
                    None
                }
            }
        };
        if let Some(task) = flushing {
            // Whatever its outcome, the bytes the component wrote went out or never will;
            // the caller sees a failed socket on its next write.
            let _ = task.await;
        }
        Arc::try_unwrap(conn).ok().map(|c| c.stream)
    }
}

/// The input and output streams of a connection.
pub(crate) fn streams(conn: Arc<Conn>) -> (DynInputStream, DynOutputStream) {
    let input: DynInputStream = Box::new(Reader {
        conn: Arc::clone(&conn),
        eof: false,
    });
    let output: DynOutputStream = Box::new(Writer { conn });
    (input, output)
}

fn stream_error(e: io::Error) -> StreamError {
    StreamError::LastOperationFailed(e.into())
}

/// How a failed send leaves the sending side: EPIPE means the connection takes nothing more
/// (the stream is closed, as wasmtime-wasi reports it); any other error is a failure.
fn write_failed(e: io::Error) -> Write {
    if Errno::from_io_error(&e) == Some(Errno::PIPE) {
        Write::Closed
    } else {
        Write::Failed(Arc::new(e))
    }
}

/// The socket's input stream: reads straight from the socket into a fresh, unzeroed buffer.
struct Reader {
    conn: Arc<Conn>,
    eof: bool,
}

#[async_trait::async_trait]
impl InputStream for Reader {
    fn read(&mut self, size: usize) -> StreamResult<Bytes> {
        if self.eof || self.conn.read_closed() {
            return Err(StreamError::Closed);
        }
        if size == 0 {
            return Ok(Bytes::new());
        }
        let mut buf = BytesMut::with_capacity(size.min(MAX_CHUNK));
        match self.conn.stream.try_read_buf(&mut buf) {
            Ok(0) => {
                self.eof = true;
                Err(StreamError::Closed)
            }
            Ok(_) => Ok(buf.freeze()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(Bytes::new()),
            Err(e) => {
                self.eof = true;
                Err(stream_error(e))
            }
        }
    }
}

#[async_trait::async_trait]
impl Pollable for Reader {
    async fn ready(&mut self) {
        // A closed side is ready at once: the next `read` says so.
        if !self.eof && !self.conn.read_closed() {
            let _ = self.conn.stream.readable().await;
        }
    }
}

/// The socket's output stream.
struct Writer {
    conn: Arc<Conn>,
}

/// Record the outcome of the write in flight once it is known; ready when none is in flight.
fn poll_settle(write: &mut Write, cx: &mut Context<'_>) -> Poll<()> {
    if let Write::Flushing { task, then_close } = write {
        let outcome = match std::pin::Pin::new(task).poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(outcome) => outcome.unwrap_or_else(|e| Err(io::Error::other(e))),
        };
        *write = match outcome {
            Ok(()) if *then_close => Write::Closed,
            Ok(()) => Write::Idle,
            Err(e) => write_failed(e),
        };
    }
    Poll::Ready(())
}

/// `Ok(true)` when nothing is in flight and the side is open.
fn settle(write: &mut Write) -> StreamResult<bool> {
    if poll_settle(write, &mut Context::from_waker(Waker::noop())).is_pending() {
        return Ok(false);
    }
    match write {
        Write::Idle => Ok(true),
        Write::Flushing { .. } => Ok(false),
        Write::Closed => Err(StreamError::Closed),
        // The error stays for every later call; each gets its own copy to hand on.
        Write::Failed(e) => Err(stream_error(io::Error::new(e.kind(), e.to_string()))),
    }
}

/// The stream error a failed send reports, as [`settle`] will report it from then on.
fn report(write: &Write) -> StreamError {
    match write {
        Write::Failed(e) => stream_error(io::Error::new(e.kind(), e.to_string())),
        _ => StreamError::Closed,
    }
}

#[async_trait::async_trait]
impl OutputStream for Writer {
    fn write(&mut self, mut bytes: Bytes) -> StreamResult<()> {
        let mut write = self.conn.write_state();
        if !settle(&mut write)? {
            return Err(StreamError::trap("write while a write is in flight"));
        }
        if bytes.len() > MAX_CHUNK {
            return Err(StreamError::trap("write larger than check-write permitted"));
        }
        while !bytes.is_empty() {
            match self.conn.stream.try_write(&bytes) {
                Ok(n) => {
                    let _ = bytes.split_to(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    *write = write_failed(e);
                    return Err(report(&write));
                }
            }
        }
        if !bytes.is_empty() {
            let conn = Arc::clone(&self.conn);
            let task = tokio::spawn(async move {
                while !bytes.is_empty() {
                    conn.stream.writable().await?;
                    match conn.stream.try_write(&bytes) {
                        Ok(n) => {
                            let _ = bytes.split_to(n);
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(())
            });
            *write = Write::Flushing {
                task,
                then_close: false,
            };
        }
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        // Bytes are never held back: a write is on its way the moment it returns, and
        // `ready` tells when the part in flight (if any) has gone.
        let mut write = self.conn.write_state();
        settle(&mut write).map(|_| ())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        let mut write = self.conn.write_state();
        Ok(if settle(&mut write)? { MAX_CHUNK } else { 0 })
    }
}

#[async_trait::async_trait]
impl Pollable for Writer {
    async fn ready(&mut self) {
        // The lock is taken for each poll, never held across the wait.
        std::future::poll_fn(|cx| poll_settle(&mut self.conn.write_state(), cx)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connected pair over loopback: ours (as a `Conn`) and the peer's plain stream.
    async fn pair() -> (Arc<Conn>, tokio::net::TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (ours, theirs) = tokio::join!(tokio::net::TcpStream::connect(addr), listener.accept());
        let ours = NativeStream::Tcp(ours.unwrap());
        (Arc::new(Conn::new(ours, addr)), theirs.unwrap().0)
    }

    #[tokio::test]
    async fn a_send_the_kernel_refuses_with_epipe_closes_the_stream() {
        let (conn, _peer) = pair().await;
        // The sending side shut behind the stream's back: the next send gets EPIPE.
        SockRef::from(conn.stream())
            .shutdown(Shutdown::Write)
            .unwrap();
        let (_input, mut output) = streams(Arc::clone(&conn));
        assert!(matches!(
            output.write(Bytes::from_static(b"hi")),
            Err(StreamError::Closed)
        ));
        assert!(matches!(output.check_write(), Err(StreamError::Closed)));
        assert!(matches!(output.flush(), Err(StreamError::Closed)));
    }

    #[tokio::test]
    async fn a_shut_down_side_reports_closed_and_the_socket_comes_back_whole() {
        let (conn, _peer) = pair().await;
        let (mut input, mut output) = streams(Arc::clone(&conn));
        conn.shutdown(Shutdown::Both);
        assert!(matches!(input.read(10), Err(StreamError::Closed)));
        assert!(matches!(input.read(0), Err(StreamError::Closed)));
        assert!(matches!(output.check_write(), Err(StreamError::Closed)));
        // Dropping the streams shuts nothing more; the socket is the caller's again.
        drop((input, output));
        assert!(Conn::into_stream(conn).await.is_some());
    }
}
