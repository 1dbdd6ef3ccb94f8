//! The WIT glue of `wasi:tls/types` over the resource table, and the TLS streams the
//! component reads and writes until the handoff.
//!
//! One [`Session`] per connection, shared by its owner and its two streams under a lock that
//! no `.await` holds: each poll takes it, polls tokio-rustls, and lets go. Steps the
//! component takes without waiting (`read`, `write`, `check-write`) poll with a no-op waker;
//! the pollables poll with the real one. A client session's owner is its `client-connection`;
//! a server session ([`accept`]: the host terminating TLS on an accepted connection) is owned
//! by the accepted socket, and its handshake runs as the component first reads or writes.

use super::transport::Transport;
use super::{TlsError, TlsFailure, TlsView};
use crate::bindings::tls::wasi::tls::types;
use bytes::{Bytes, BytesMut};
use rustls_pki_types::ServerName;
use std::future::{Future, poll_fn};
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_rustls::TlsStream;
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

type Handshake = Pin<
    Box<dyn Future<Output = Result<tokio_rustls::client::TlsStream<Transport>, TlsError>> + Send>,
>;

/// `future-client-streams`: the handshake, run as the component polls it.
pub struct FutureClientStreams(Outcome);

enum Outcome {
    Running(Handshake),
    Done(Result<Box<tokio_rustls::client::TlsStream<Transport>>, TlsError>),
    Taken,
}

/// A TLS session and what its streams share: the plaintext read ahead by a pollable, and a
/// failure seen by one.
pub struct Session {
    tls: Stage,
    /// Plaintext read ahead (by the input's pollable), not yet given to the component.
    pub(crate) ahead: BytesMut,
    /// The peer closed its side (TLS `close_notify`, or the connection).
    closed: bool,
    /// A failure a pollable met, reported by the next read or write.
    failed: Option<io::Error>,
}

/// Where a session is.
enum Stage {
    /// A server handshake, run as the component first reads or writes.
    Accepting(tokio_rustls::Accept<Transport>),
    Established(TlsStream<Transport>),
    /// The server handshake failed (its error went to the component once, through `failed`).
    Broken,
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
        unshared(self.0)
    }
}

/// A TLS session the host runs as the server over an accepted connection's streams; the
/// accepted socket owns it (the component never sees it).
pub struct ServerSession(Shared);

impl ServerSession {
    /// The session, once its streams are gone (the handoff): `None` while one still holds it.
    pub(crate) fn into_session(self) -> Option<Session> {
        unshared(self.0)
    }
}

fn unshared(shared: Shared) -> Option<Session> {
    Arc::into_inner(shared).map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()))
}

/// Terminate TLS over an accepted connection's streams: the TLS streams the component gets
/// in their place, and the session for its socket to own. The handshake runs as the
/// component first reads or writes; a failed one is a failed read (the component drops the
/// connection, as it does a head that never came).
pub(crate) fn accept(
    input: DynInputStream,
    output: DynOutputStream,
    config: &Arc<rustls::ServerConfig>,
) -> (DynInputStream, DynOutputStream, ServerSession) {
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::clone(config));
    let shared = Arc::new(Mutex::new(Session::new(Stage::Accepting(
        acceptor.accept(Transport::wasi(input, output)),
    ))));
    (
        Box::new(TlsReader(Arc::clone(&shared))),
        Box::new(TlsWriter(Arc::clone(&shared))),
        ServerSession(shared),
    )
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
        let shared = Arc::new(Mutex::new(Session::new(Stage::Established(
            TlsStream::Client(*tls),
        ))));
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
        if let Stage::Established(tls) = &mut session.tls {
            tls.get_mut().1.send_close_notify();
        }
        // Sent now if the transport takes it; else the output's pollable finishes it.
        let _ = poll_now(|cx| session.poll_flush(cx));
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
    fn new(tls: Stage) -> Self {
        Self {
            tls,
            ahead: BytesMut::new(),
            closed: false,
            failed: None,
        }
    }

    /// The session on the socket `stream` from now on (the handoff, after [`Session::detach`]),
    /// with the plaintext read ahead: `None` if the handshake never completed (no head came
    /// through it, so no handoff asks for it).
    pub(crate) fn onto(
        self,
        stream: tokio::net::TcpStream,
    ) -> Option<(TlsStream<Transport>, Bytes)> {
        let Stage::Established(mut tls) = self.tls else {
            return None;
        };
        tls.get_mut().0.attach(stream);
        Some((tls, self.ahead.freeze()))
    }

    /// Let go of the component's streams (they share the socket, which gives its
    /// `TcpStream` back only when they are gone).
    pub(crate) fn detach(&mut self) {
        match &mut self.tls {
            Stage::Established(tls) => tls.get_mut().0.detach(),
            // An unfinished handshake holds the streams inside it: it goes with them.
            Stage::Accepting(_) | Stage::Broken => self.tls = Stage::Broken,
        }
    }

    /// The established session: a server's handshake is driven here first.
    fn poll_established(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<&mut TlsStream<Transport>>> {
        if let Stage::Accepting(accept) = &mut self.tls {
            match Pin::new(accept).poll(cx) {
                Poll::Ready(Ok(tls)) => self.tls = Stage::Established(TlsStream::Server(tls)),
                Poll::Ready(Err(e)) => {
                    self.tls = Stage::Broken;
                    return Poll::Ready(Err(e));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
        match &mut self.tls {
            Stage::Established(tls) => Poll::Ready(Ok(tls)),
            _ => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the TLS handshake failed",
            ))),
        }
    }

    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let tls = ready!(self.poll_established(cx))?;
        Pin::new(tls).poll_read(cx, buf)
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let tls = ready!(self.poll_established(cx))?;
        Pin::new(tls).poll_write(cx, data)
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let tls = ready!(self.poll_established(cx))?;
        Pin::new(tls).poll_flush(cx)
    }

    /// Read into `ahead` (at most `max` bytes) once; `Pending` if nothing is there.
    fn poll_fill(&mut self, cx: &mut Context<'_>, max: usize) -> Poll<()> {
        if !self.ahead.is_empty() || self.closed || self.failed.is_some() {
            return Poll::Ready(());
        }
        let mut buf = vec![0; max];
        let mut read = ReadBuf::new(&mut buf);
        match self.poll_read(cx, &mut read) {
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
            match session.poll_flush(cx) {
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
            match poll_now(|cx| session.poll_write(cx, &bytes)) {
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
        match poll_now(|cx| session.poll_flush(cx)) {
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
        match poll_now(|cx| session.poll_flush(cx)) {
            Poll::Ready(Ok(())) => Ok(WRITE_PERMIT),
            Poll::Ready(Err(e)) => Err(failed(&e)),
            Poll::Pending => Ok(0),
        }
    }
}
