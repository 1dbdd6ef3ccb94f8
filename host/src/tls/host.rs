//! The WIT glue of `wasi:tls/types` over the resource table, and the TLS streams the
//! component reads and writes until the handoff.
//!
//! One [`Session`] per connection, shared by its `client-connection` and its two streams
//! under a lock that no `.await` holds: each poll takes it, polls tokio-rustls, and lets go.
//! Steps the component takes without waiting (`read`, `write`, `check-write`) poll with a
//! no-op waker; the pollables poll with the real one.

use super::transport::Transport;
use super::{TlsError, TlsFailure, TlsView};
use crate::bindings::tls::wasi::tls::types;
use bytes::{Bytes, BytesMut};
use rustls_pki_types::ServerName;
use std::future::{Future, poll_fn};
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_rustls::client::TlsStream;
use wasmtime::component::Resource;
use wasmtime_wasi::p2::{
    DynInputStream, DynOutputStream, DynPollable, InputStream, IoError, OutputStream, Pollable,
    StreamError, StreamResult,
};

/// Most plaintext one `check-write` allows (rustls takes up to 64 KiB before it must send).
const WRITE_PERMIT: usize = 16 * 1024;
/// Most plaintext a stream's pollable reads ahead when it wakes.
const READ_AHEAD: usize = 16 * 1024;

/// `client-handshake`: the server name and the streams it will run over.
pub struct ClientHandshake {
    server_name: String,
    transport: Transport,
}

type Handshake = Pin<Box<dyn Future<Output = Result<TlsStream<Transport>, TlsError>> + Send>>;

/// `future-client-streams`: the handshake, run as the component polls it.
pub struct FutureClientStreams(Outcome);

enum Outcome {
    Running(Handshake),
    Done(Result<Box<TlsStream<Transport>>, TlsError>),
    Taken,
}

/// A TLS session and what its streams share: the plaintext read ahead by a pollable, and a
/// failure seen by one.
pub struct Session {
    pub(crate) tls: TlsStream<Transport>,
    /// Plaintext read ahead (by the input's pollable), not yet given to the component.
    pub(crate) ahead: BytesMut,
    /// The peer closed its side (TLS `close_notify`, or the connection).
    closed: bool,
    /// A failure a pollable met, reported by the next read or write.
    failed: Option<io::Error>,
}

type Shared = Arc<Mutex<Session>>;

fn lock(shared: &Shared) -> MutexGuard<'_, Session> {
    // A poisoned lock only means a panic elsewhere while it was held; the session is still
    // whole (every step under it is a single poll).
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// `client-connection`: the session's owner.
pub struct ClientConnection(Shared);

impl ClientConnection {
    /// The session, once its streams are gone (the handoff): `None` while one still holds it.
    pub(crate) fn into_session(self) -> Option<Session> {
        Arc::into_inner(self.0).map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The TLS input stream: plaintext from the session.
struct TlsReader(Shared);

/// The TLS output stream: plaintext into the session.
struct TlsWriter(Shared);

impl types::Host for TlsView<'_> {}

impl types::HostClientHandshake for TlsView<'_> {
    fn new(
        &mut self,
        server_name: String,
        input: Resource<DynInputStream>,
        output: Resource<DynOutputStream>,
    ) -> wasmtime::Result<Resource<ClientHandshake>> {
        let input = self.table.delete(input)?;
        let output = self.table.delete(output)?;
        let handshake = ClientHandshake {
            server_name,
            transport: Transport::wasi(input, output),
        };
        Ok(self.table.push(handshake)?)
    }

    fn finish(
        &mut self,
        this: Resource<ClientHandshake>,
    ) -> wasmtime::Result<Resource<FutureClientStreams>> {
        let ClientHandshake {
            server_name,
            transport,
        } = self.table.delete(this)?;
        let connector = tokio_rustls::TlsConnector::from(Arc::clone(self.config));
        let handshake: Handshake = Box::pin(async move {
            let name = ServerName::try_from(server_name.as_str())
                .map_err(|_| TlsError::new(TlsFailure::InvalidServerName, server_name.clone()))?
                .to_owned();
            connector
                .connect(name, transport)
                .await
                .map_err(|e| TlsError::from_io(&e))
        });
        Ok(self
            .table
            .push(FutureClientStreams(Outcome::Running(handshake)))?)
    }

    fn drop(&mut self, this: Resource<ClientHandshake>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl Pollable for FutureClientStreams {
    async fn ready(&mut self) {
        if let Outcome::Running(handshake) = &mut self.0 {
            let done = handshake.await;
            self.0 = Outcome::Done(done.map(Box::new));
        }
    }
}

type Streams = (
    Resource<ClientConnection>,
    Resource<DynInputStream>,
    Resource<DynOutputStream>,
);

impl types::HostFutureClientStreams for TlsView<'_> {
    fn subscribe(
        &mut self,
        this: Resource<FutureClientStreams>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        wasmtime_wasi::p2::subscribe(self.table, this)
    }

    fn get(
        &mut self,
        this: Resource<FutureClientStreams>,
    ) -> wasmtime::Result<Option<Result<Result<Streams, Resource<IoError>>, ()>>> {
        let future = self.table.get_mut(&this)?;
        if let Outcome::Running(handshake) = &mut future.0 {
            // One step without waiting: the component asks before it polls.
            match handshake
                .as_mut()
                .poll(&mut Context::from_waker(Waker::noop()))
            {
                Poll::Ready(done) => future.0 = Outcome::Done(done.map(Box::new)),
                Poll::Pending => return Ok(None),
            }
        }
        let tls = match std::mem::replace(&mut future.0, Outcome::Taken) {
            Outcome::Done(Ok(tls)) => tls,
            Outcome::Done(Err(e)) => {
                let error = self.table.push(IoError::new(e))?;
                return Ok(Some(Ok(Err(error))));
            }
            Outcome::Running(_) | Outcome::Taken => return Ok(Some(Err(()))),
        };
        let shared = Arc::new(Mutex::new(Session {
            tls: *tls,
            ahead: BytesMut::new(),
            closed: false,
            failed: None,
        }));
        let input: DynInputStream = Box::new(TlsReader(Arc::clone(&shared)));
        let output: DynOutputStream = Box::new(TlsWriter(Arc::clone(&shared)));
        let connection = self.table.push(ClientConnection(shared))?;
        let input = self.table.push_child(input, &connection)?;
        let output = self.table.push_child(output, &connection)?;
        Ok(Some(Ok(Ok((connection, input, output)))))
    }

    fn drop(&mut self, this: Resource<FutureClientStreams>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        Ok(())
    }
}

impl types::HostClientConnection for TlsView<'_> {
    fn close_output(&mut self, this: Resource<ClientConnection>) -> wasmtime::Result<()> {
        let connection = self.table.get(&this)?;
        let mut session = lock(&connection.0);
        session.tls.get_mut().1.send_close_notify();
        // Sent now if the transport takes it; else the output's pollable finishes it.
        let _ = poll_now(|cx| Pin::new(&mut session.tls).poll_flush(cx));
        Ok(())
    }

    fn drop(&mut self, this: Resource<ClientConnection>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        Ok(())
    }
}

/// Poll once with a no-op waker: a step that never waits.
fn poll_now<T>(f: impl FnOnce(&mut Context<'_>) -> Poll<T>) -> Poll<T> {
    f(&mut Context::from_waker(Waker::noop()))
}

/// A stream error for an I/O failure: a TLS one (an alert, a bad record) with its
/// [`TlsFailure`] phrase, any other as it is.
fn failed(e: &io::Error) -> StreamError {
    let tls = e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>());
    StreamError::LastOperationFailed(if tls {
        wasmtime::Error::new(TlsError::from_io(e))
    } else {
        wasmtime::Error::new(io::Error::new(e.kind(), e.to_string()))
    })
}

impl Session {
    /// Read into `ahead` (at most `max` bytes) once; `Pending` if nothing is there.
    fn poll_fill(&mut self, cx: &mut Context<'_>, max: usize) -> Poll<()> {
        if !self.ahead.is_empty() || self.closed || self.failed.is_some() {
            return Poll::Ready(());
        }
        let mut buf = vec![0; max];
        let mut read = ReadBuf::new(&mut buf);
        match Pin::new(&mut self.tls).poll_read(cx, &mut read) {
            Poll::Ready(Ok(())) if read.filled().is_empty() => self.closed = true,
            Poll::Ready(Ok(())) => self.ahead.extend_from_slice(read.filled()),
            Poll::Ready(Err(e)) => self.failed = Some(e),
            Poll::Pending => return Poll::Pending,
        }
        Poll::Ready(())
    }
}

#[async_trait::async_trait]
impl Pollable for TlsReader {
    async fn ready(&mut self) {
        poll_fn(|cx| lock(&self.0).poll_fill(cx, READ_AHEAD)).await;
    }
}

impl InputStream for TlsReader {
    fn read(&mut self, size: usize) -> StreamResult<Bytes> {
        let mut session = lock(&self.0);
        if size > 0 {
            let _ = poll_now(|cx| session.poll_fill(cx, size.min(READ_AHEAD)));
        }
        if !session.ahead.is_empty() {
            let n = session.ahead.len().min(size);
            return Ok(session.ahead.split_to(n).freeze());
        }
        if let Some(e) = session.failed.take() {
            return Err(failed(&e));
        }
        if session.closed {
            return Err(StreamError::Closed);
        }
        Ok(Bytes::new())
    }
}

#[async_trait::async_trait]
impl Pollable for TlsWriter {
    async fn ready(&mut self) {
        poll_fn(|cx| {
            let mut session = lock(&self.0);
            if session.failed.is_some() {
                return Poll::Ready(());
            }
            match Pin::new(&mut session.tls).poll_flush(cx) {
                Poll::Ready(Ok(())) => Poll::Ready(()),
                Poll::Ready(Err(e)) => {
                    session.failed = Some(e);
                    Poll::Ready(())
                }
                Poll::Pending => Poll::Pending,
            }
        })
        .await;
    }
}

impl OutputStream for TlsWriter {
    fn write(&mut self, mut bytes: Bytes) -> StreamResult<()> {
        let mut session = lock(&self.0);
        while !bytes.is_empty() {
            match poll_now(|cx| Pin::new(&mut session.tls).poll_write(cx, &bytes)) {
                Poll::Ready(Ok(n)) if n > 0 => drop(bytes.split_to(n)),
                Poll::Ready(Err(e)) => return Err(failed(&e)),
                // More than `check-write` allowed, or the session's buffer is full.
                _ => return Err(StreamError::trap("write exceeded the permitted size")),
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        let mut session = lock(&self.0);
        match poll_now(|cx| Pin::new(&mut session.tls).poll_flush(cx)) {
            Poll::Ready(Err(e)) => Err(failed(&e)),
            _ => Ok(()),
        }
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        let mut session = lock(&self.0);
        if let Some(e) = session.failed.take() {
            return Err(failed(&e));
        }
        // What rustls holds unsent goes first; until it is out, no more is taken.
        match poll_now(|cx| Pin::new(&mut session.tls).poll_flush(cx)) {
            Poll::Ready(Ok(())) => Ok(WRITE_PERMIT),
            Poll::Ready(Err(e)) => Err(failed(&e)),
            Poll::Pending => Ok(0),
        }
    }
}
