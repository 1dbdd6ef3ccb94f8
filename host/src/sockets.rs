//! The host's own `wasi:sockets/tcp`: every TCP socket the component opens is a native socket
//! this module keeps, so that at the handoff the host takes the socket itself (a tokio
//! `TcpStream`) rather than a pair of WASI streams it would have to pump bytes through.
//!
//! wasmtime-wasi still supplies the rest of WASI (clocks, random, name lookup, the `network`
//! capability); [`add_to_linker`] puts `tcp` and `tcp-create-socket` in its place. Reads
//! fill a fresh buffer without zeroing it, writes go to the socket at once (only what the
//! kernel does not take waits in a task of its own), and [`TcpSocket::into_stream`] gives the
//! connection back whole. The [`NetPolicy`] is checked here, at bind, connect and accept.
//! This module keeps socket state and moves bytes; it knows nothing of HTTP.

use crate::bindings::sockets::wasi::sockets::tcp::{self, HostTcpSocket, ShutdownType};
use crate::bindings::sockets::wasi::sockets::tcp_create_socket;
use crate::policy::NetPolicy;
use bytes::{Bytes, BytesMut};
use rustix::io::Errno;
use socket2::{Domain, Protocol, SockAddr, SockRef, Socket, TcpKeepalive, Type};
use std::future::Future;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use wasmtime::component::{HasData, Linker, Resource, ResourceTable};
use wasmtime_wasi::p2::bindings::sockets::network::{
    ErrorCode, IpAddressFamily, IpSocketAddress, Network,
};
use wasmtime_wasi::p2::{
    DynInputStream, DynOutputStream, DynPollable, InputStream, OutputStream, Pollable, StreamError,
    StreamResult,
};
use wasmtime_wasi::sockets::SocketAddrUse;

/// Most bytes one `read` returns and one `check-write` permits (as wasmtime-wasi's).
const MAX_CHUNK: usize = 64 * 1024;

/// The listen backlog when the component sets none (as wasmtime-wasi's).
const DEFAULT_BACKLOG: i32 = 128;

type Result<T> = wasmtime::Result<std::result::Result<T, ErrorCode>>;

/// What the host functions see of the store: its table and the instance's grants.
pub struct TcpView<'a> {
    /// The store's resource table.
    pub table: &'a mut ResourceTable,
    /// What the instance may reach.
    pub policy: &'a NetPolicy,
}

struct HostTcp;

impl HasData for HostTcp {
    type Data<'a> = TcpView<'a>;
}

/// Put this module's `tcp` and `tcp-create-socket` in the linker, in place of any defined
/// before (wasmtime-wasi's).
pub fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    view: fn(&mut T) -> TcpView<'_>,
) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    tcp::add_to_linker::<T, HostTcp>(linker, view)?;
    tcp_create_socket::add_to_linker::<T, HostTcp>(linker, view)?;
    linker.allow_shadowing(false);
    Ok(())
}

/// A `wasi:sockets/tcp` socket: its state, as the WASI 0.2 state machine has it.
pub struct TcpSocket {
    family: IpAddressFamily,
    state: State,
    backlog: i32,
}

enum State {
    /// Created, not bound.
    Fresh(Socket),
    /// `start-bind` done (binding is immediate), `finish-bind` not called yet.
    Binding(Socket),
    Bound(Socket),
    /// A non-blocking connect in flight (done when the socket is writable), to this address.
    Connecting(TcpStream, SocketAddr),
    /// The connect's outcome, learned while waiting on the socket's pollable.
    Connected(Arc<Conn>),
    ConnectFailed,
    Listening {
        listener: TcpListener,
        /// `finish-listen` called.
        finished: bool,
        /// A connection accepted while waiting on the pollable, for the next `accept`.
        ready: Option<io::Result<(TcpStream, SocketAddr)>>,
    },
}

/// An established connection, shared by the socket and its two streams.
struct Conn {
    stream: TcpStream,
    /// The peer, as the connect or the accept gave it: `remote-address` costs no system call.
    peer: SocketAddr,
    /// Set by `shutdown(receive)`: the input stream reports closed from then on.
    read_closed: std::sync::atomic::AtomicBool,
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
    /// The sending side is shut down (after what was in flight, if anything).
    Closed,
    Failed(Arc<io::Error>),
}

impl TcpSocket {
    fn new(family: IpAddressFamily) -> io::Result<Self> {
        let domain = match family {
            IpAddressFamily::Ipv4 => Domain::IPV4,
            IpAddressFamily::Ipv6 => Domain::IPV6,
        };
        // Non-blocking from the start: one system call, not three.
        let socket = Socket::new(domain, Type::STREAM.nonblocking(), Some(Protocol::TCP))?;
        if family == IpAddressFamily::Ipv6 {
            // WASI keeps the families apart: no IPv4-mapped traffic on an IPv6 socket.
            socket.set_only_v6(true)?;
        }
        Ok(Self {
            family,
            state: State::Fresh(socket),
            backlog: DEFAULT_BACKLOG,
        })
    }

    fn connected(stream: TcpStream, peer: SocketAddr, family: IpAddressFamily) -> Self {
        Self {
            family,
            state: State::Connected(Arc::new(Conn::new(stream, peer))),
            backlog: DEFAULT_BACKLOG,
        }
    }

    /// The connection, whole, once the component has handed it over: waits for any write
    /// still in flight, then takes the socket back from the streams (which must be dropped
    /// first). `None` if the socket is not connected or a stream is still alive.
    pub(crate) async fn into_stream(self) -> Option<TcpStream> {
        let State::Connected(conn) = self.state else {
            return None;
        };
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

    /// The descriptor whatever the state, for options and addresses.
    fn sock(&self) -> std::result::Result<SockRef<'_>, ErrorCode> {
        Ok(match &self.state {
            State::Fresh(s) | State::Binding(s) | State::Bound(s) => SockRef::from(s),
            State::Connecting(s, _) => SockRef::from(s),
            State::Connected(c) => SockRef::from(&c.stream),
            State::Listening { listener, .. } => SockRef::from(listener),
            State::ConnectFailed => return Err(ErrorCode::InvalidState),
        })
    }

    /// A remote or local address the component gave: of this socket's family, and not an
    /// IPv4 address in IPv6 clothing.
    fn check_family(&self, addr: &SocketAddr) -> std::result::Result<(), ErrorCode> {
        let ok = match (self.family, addr) {
            (IpAddressFamily::Ipv4, SocketAddr::V4(_)) => true,
            (IpAddressFamily::Ipv6, SocketAddr::V6(a)) => a.ip().to_ipv4_mapped().is_none(),
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(ErrorCode::InvalidArgument)
        }
    }
}

impl Conn {
    fn new(stream: TcpStream, peer: SocketAddr) -> Self {
        Self {
            stream,
            peer,
            read_closed: false.into(),
            write: Mutex::new(Write::Idle),
        }
    }

    fn write_state(&self) -> std::sync::MutexGuard<'_, Write> {
        self.write.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn code(e: &io::Error) -> ErrorCode {
    ErrorCode::from(e)
}

fn stream_error(e: io::Error) -> StreamError {
    StreamError::LastOperationFailed(e.into())
}

impl tcp::Host for TcpView<'_> {}

impl tcp_create_socket::Host for TcpView<'_> {
    fn create_tcp_socket(&mut self, family: IpAddressFamily) -> Result<Resource<TcpSocket>> {
        if !self.policy.any_tcp() {
            return Ok(Err(ErrorCode::AccessDenied));
        }
        match TcpSocket::new(family) {
            Ok(socket) => Ok(Ok(self.table.push(socket)?)),
            Err(e) => Ok(Err(code(&e))),
        }
    }
}

impl HostTcpSocket for TcpView<'_> {
    fn start_bind(
        &mut self,
        this: Resource<TcpSocket>,
        network: Resource<Network>,
        local: IpSocketAddress,
    ) -> Result<()> {
        self.table.get(&network)?;
        let local = SocketAddr::from(local);
        let socket = self.table.get_mut(&this)?;
        let State::Fresh(s) = &socket.state else {
            return Ok(Err(ErrorCode::InvalidState));
        };
        if let Err(e) = socket.check_family(&local) {
            return Ok(Err(e));
        }
        if !self.policy.allows(local, SocketAddrUse::TcpBind) {
            return Ok(Err(ErrorCode::AccessDenied));
        }
        // As WASI asks: a bind is not refused for a recently closed socket in TIME_WAIT.
        if let Err(e) = s
            .set_reuse_address(true)
            .and_then(|()| s.bind(&local.into()))
        {
            return Ok(Err(code(&e)));
        }
        let State::Fresh(s) = std::mem::replace(&mut socket.state, State::ConnectFailed) else {
            unreachable!("checked above")
        };
        socket.state = State::Binding(s);
        Ok(Ok(()))
    }

    fn finish_bind(&mut self, this: Resource<TcpSocket>) -> Result<()> {
        let socket = self.table.get_mut(&this)?;
        match std::mem::replace(&mut socket.state, State::ConnectFailed) {
            State::Binding(s) => {
                socket.state = State::Bound(s);
                Ok(Ok(()))
            }
            other => {
                socket.state = other;
                Ok(Err(ErrorCode::NotInProgress))
            }
        }
    }

    fn start_connect(
        &mut self,
        this: Resource<TcpSocket>,
        network: Resource<Network>,
        remote: IpSocketAddress,
    ) -> Result<()> {
        self.table.get(&network)?;
        let remote = SocketAddr::from(remote);
        let socket = self.table.get_mut(&this)?;
        match &socket.state {
            State::Fresh(_) | State::Bound(_) => {}
            State::Connecting(..) | State::Binding(_) => {
                return Ok(Err(ErrorCode::ConcurrencyConflict));
            }
            _ => return Ok(Err(ErrorCode::InvalidState)),
        }
        if let Err(e) = socket.check_family(&remote) {
            return Ok(Err(e));
        }
        if remote.ip().is_unspecified() || remote.port() == 0 || remote.ip().is_multicast() {
            return Ok(Err(ErrorCode::InvalidArgument));
        }
        if !self.policy.allows(remote, SocketAddrUse::TcpConnect) {
            return Ok(Err(ErrorCode::AccessDenied));
        }
        let (State::Fresh(s) | State::Bound(s)) =
            std::mem::replace(&mut socket.state, State::ConnectFailed)
        else {
            unreachable!("checked above")
        };
        match s.connect(&SockAddr::from(remote)) {
            Ok(()) => {}
            // EINPROGRESS: the connect goes on in the background.
            Err(e) if Errno::from_io_error(&e) == Some(Errno::INPROGRESS) => {}
            Err(e) => return Ok(Err(code(&e))),
        }
        match TcpStream::from_std(std::net::TcpStream::from(s)) {
            Ok(stream) => {
                socket.state = State::Connecting(stream, remote);
                Ok(Ok(()))
            }
            Err(e) => Ok(Err(code(&e))),
        }
    }

    fn finish_connect(
        &mut self,
        this: Resource<TcpSocket>,
    ) -> Result<(Resource<DynInputStream>, Resource<DynOutputStream>)> {
        let socket = self.table.get_mut(&this)?;
        let conn = match &socket.state {
            State::Connecting(stream, _) => {
                let mut cx = Context::from_waker(Waker::noop());
                if stream.poll_write_ready(&mut cx).is_pending() {
                    return Ok(Err(ErrorCode::WouldBlock));
                }
                match connect_outcome(stream) {
                    Ok(()) => {
                        let State::Connecting(stream, peer) =
                            std::mem::replace(&mut socket.state, State::ConnectFailed)
                        else {
                            unreachable!("matched above")
                        };
                        let conn = Arc::new(Conn::new(stream, peer));
                        socket.state = State::Connected(Arc::clone(&conn));
                        conn
                    }
                    Err(e) => {
                        socket.state = State::ConnectFailed;
                        return Ok(Err(code(&e)));
                    }
                }
            }
            _ => return Ok(Err(ErrorCode::NotInProgress)),
        };
        let (input, output) = streams(conn);
        let input = self.table.push_child(input, &this)?;
        let output = self.table.push_child(output, &this)?;
        Ok(Ok((input, output)))
    }

    fn start_listen(&mut self, this: Resource<TcpSocket>) -> Result<()> {
        let socket = self.table.get_mut(&this)?;
        match &socket.state {
            State::Bound(s) => {
                if let Err(e) = s.local_addr().and_then(|a| {
                    let a = a.as_socket().ok_or(io::ErrorKind::InvalidInput)?;
                    if self.policy.allows(a, SocketAddrUse::TcpListen) {
                        Ok(())
                    } else {
                        Err(io::ErrorKind::PermissionDenied.into())
                    }
                }) {
                    return Ok(Err(code(&e)));
                }
            }
            State::Binding(_) | State::Connecting(..) => {
                return Ok(Err(ErrorCode::ConcurrencyConflict));
            }
            _ => return Ok(Err(ErrorCode::InvalidState)),
        }
        let State::Bound(s) = std::mem::replace(&mut socket.state, State::ConnectFailed) else {
            unreachable!("matched above")
        };
        let listened = s
            .listen(socket.backlog)
            .and_then(|()| TcpListener::from_std(std::net::TcpListener::from(s)));
        match listened {
            Ok(listener) => {
                socket.state = State::Listening {
                    listener,
                    finished: false,
                    ready: None,
                };
                Ok(Ok(()))
            }
            Err(e) => Ok(Err(code(&e))),
        }
    }

    fn finish_listen(&mut self, this: Resource<TcpSocket>) -> Result<()> {
        let socket = self.table.get_mut(&this)?;
        match &mut socket.state {
            State::Listening { finished, .. } if !*finished => {
                *finished = true;
                Ok(Ok(()))
            }
            _ => Ok(Err(ErrorCode::NotInProgress)),
        }
    }

    fn accept(
        &mut self,
        this: Resource<TcpSocket>,
    ) -> Result<(
        Resource<TcpSocket>,
        Resource<DynInputStream>,
        Resource<DynOutputStream>,
    )> {
        let socket = self.table.get_mut(&this)?;
        let family = socket.family;
        let State::Listening {
            listener,
            finished: true,
            ready,
        } = &mut socket.state
        else {
            return Ok(Err(ErrorCode::InvalidState));
        };
        let accepted = match ready.take() {
            Some(accepted) => accepted,
            None => {
                let mut cx = Context::from_waker(Waker::noop());
                match listener.poll_accept(&mut cx) {
                    Poll::Ready(accepted) => accepted,
                    Poll::Pending => return Ok(Err(ErrorCode::WouldBlock)),
                }
            }
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => return Ok(Err(code(&e))),
        };
        if !self.policy.allows(peer, SocketAddrUse::TcpAccept) {
            return Ok(Err(ErrorCode::AccessDenied));
        }
        let accepted = TcpSocket::connected(stream, peer, family);
        let State::Connected(conn) = &accepted.state else {
            unreachable!("a connected socket")
        };
        let (input, output) = streams(Arc::clone(conn));
        let accepted = self.table.push(accepted)?;
        let input = self.table.push_child(input, &accepted)?;
        let output = self.table.push_child(output, &accepted)?;
        Ok(Ok((accepted, input, output)))
    }

    fn local_address(&mut self, this: Resource<TcpSocket>) -> Result<IpSocketAddress> {
        let socket = self.table.get(&this)?;
        if let State::Fresh(_) = socket.state {
            return Ok(Err(ErrorCode::InvalidState));
        }
        Ok(socket.sock().and_then(|s| address(s.local_addr())))
    }

    fn remote_address(&mut self, this: Resource<TcpSocket>) -> Result<IpSocketAddress> {
        let socket = self.table.get(&this)?;
        let State::Connected(conn) = &socket.state else {
            return Ok(Err(ErrorCode::InvalidState));
        };
        Ok(Ok(conn.peer.into()))
    }

    fn is_listening(&mut self, this: Resource<TcpSocket>) -> wasmtime::Result<bool> {
        let socket = self.table.get(&this)?;
        Ok(matches!(socket.state, State::Listening { .. }))
    }

    fn address_family(&mut self, this: Resource<TcpSocket>) -> wasmtime::Result<IpAddressFamily> {
        Ok(self.table.get(&this)?.family)
    }

    fn set_listen_backlog_size(&mut self, this: Resource<TcpSocket>, value: u64) -> Result<()> {
        let socket = self.table.get_mut(&this)?;
        if value == 0 {
            return Ok(Err(ErrorCode::InvalidArgument));
        }
        let value = i32::try_from(value).unwrap_or(i32::MAX);
        match &socket.state {
            State::Connecting(..) | State::Connected(_) | State::ConnectFailed => {
                Ok(Err(ErrorCode::InvalidState))
            }
            // A listening socket takes the new size by listening again.
            State::Listening { listener, .. } => {
                Ok(SockRef::from(listener).listen(value).map_err(|e| code(&e)))
            }
            _ => {
                socket.backlog = value;
                Ok(Ok(()))
            }
        }
    }

    fn keep_alive_enabled(&mut self, this: Resource<TcpSocket>) -> Result<bool> {
        let socket = self.table.get(&this)?;
        Ok(option(socket.sock(), |s| s.keepalive()))
    }

    fn set_keep_alive_enabled(&mut self, this: Resource<TcpSocket>, value: bool) -> Result<()> {
        let socket = self.table.get(&this)?;
        Ok(option(socket.sock(), |s| s.set_keepalive(value)))
    }

    fn keep_alive_idle_time(&mut self, this: Resource<TcpSocket>) -> Result<u64> {
        let socket = self.table.get(&this)?;
        Ok(option(socket.sock(), |s| s.tcp_keepalive_time().map(nanos)))
    }

    fn set_keep_alive_idle_time(&mut self, this: Resource<TcpSocket>, value: u64) -> Result<()> {
        let socket = self.table.get(&this)?;
        let Some(d) = duration(value) else {
            return Ok(Err(ErrorCode::InvalidArgument));
        };
        Ok(option(socket.sock(), |s| {
            s.set_tcp_keepalive(&TcpKeepalive::new().with_time(d))
        }))
    }

    fn keep_alive_interval(&mut self, this: Resource<TcpSocket>) -> Result<u64> {
        let socket = self.table.get(&this)?;
        Ok(option(socket.sock(), |s| {
            s.tcp_keepalive_interval().map(nanos)
        }))
    }

    fn set_keep_alive_interval(&mut self, this: Resource<TcpSocket>, value: u64) -> Result<()> {
        let socket = self.table.get(&this)?;
        let Some(d) = duration(value) else {
            return Ok(Err(ErrorCode::InvalidArgument));
        };
        Ok(option(socket.sock(), |s| {
            s.set_tcp_keepalive(&TcpKeepalive::new().with_interval(d))
        }))
    }

    fn keep_alive_count(&mut self, this: Resource<TcpSocket>) -> Result<u32> {
        let socket = self.table.get(&this)?;
        Ok(option(socket.sock(), |s| s.tcp_keepalive_retries()))
    }

    fn set_keep_alive_count(&mut self, this: Resource<TcpSocket>, value: u32) -> Result<()> {
        let socket = self.table.get(&this)?;
        if value == 0 {
            return Ok(Err(ErrorCode::InvalidArgument));
        }
        Ok(option(socket.sock(), |s| {
            s.set_tcp_keepalive(&TcpKeepalive::new().with_retries(value))
        }))
    }

    fn hop_limit(&mut self, this: Resource<TcpSocket>) -> Result<u8> {
        let socket = self.table.get(&this)?;
        let family = socket.family;
        Ok(option(socket.sock(), |s| {
            let hops = match family {
                IpAddressFamily::Ipv4 => s.ttl_v4(),
                IpAddressFamily::Ipv6 => s.unicast_hops_v6(),
            }?;
            Ok(u8::try_from(hops).unwrap_or(u8::MAX))
        }))
    }

    fn set_hop_limit(&mut self, this: Resource<TcpSocket>, value: u8) -> Result<()> {
        let socket = self.table.get(&this)?;
        if value == 0 {
            return Ok(Err(ErrorCode::InvalidArgument));
        }
        let family = socket.family;
        Ok(option(socket.sock(), |s| match family {
            IpAddressFamily::Ipv4 => s.set_ttl_v4(value.into()),
            IpAddressFamily::Ipv6 => s.set_unicast_hops_v6(value.into()),
        }))
    }

    fn receive_buffer_size(&mut self, this: Resource<TcpSocket>) -> Result<u64> {
        let socket = self.table.get(&this)?;
        Ok(option(socket.sock(), |s| {
            s.recv_buffer_size().map(|n| n as u64)
        }))
    }

    fn set_receive_buffer_size(&mut self, this: Resource<TcpSocket>, value: u64) -> Result<()> {
        let socket = self.table.get(&this)?;
        let Some(value) = buffer_size(value) else {
            return Ok(Err(ErrorCode::InvalidArgument));
        };
        Ok(option(socket.sock(), |s| s.set_recv_buffer_size(value)))
    }

    fn send_buffer_size(&mut self, this: Resource<TcpSocket>) -> Result<u64> {
        let socket = self.table.get(&this)?;
        Ok(option(socket.sock(), |s| {
            s.send_buffer_size().map(|n| n as u64)
        }))
    }

    fn set_send_buffer_size(&mut self, this: Resource<TcpSocket>, value: u64) -> Result<()> {
        let socket = self.table.get(&this)?;
        let Some(value) = buffer_size(value) else {
            return Ok(Err(ErrorCode::InvalidArgument));
        };
        Ok(option(socket.sock(), |s| s.set_send_buffer_size(value)))
    }

    fn subscribe(&mut self, this: Resource<TcpSocket>) -> wasmtime::Result<Resource<DynPollable>> {
        wasmtime_wasi::p2::subscribe(self.table, this)
    }

    fn shutdown(&mut self, this: Resource<TcpSocket>, how: ShutdownType) -> Result<()> {
        let socket = self.table.get(&this)?;
        let State::Connected(conn) = &socket.state else {
            return Ok(Err(ErrorCode::InvalidState));
        };
        if let ShutdownType::Receive | ShutdownType::Both = how {
            conn.read_closed
                .store(true, std::sync::atomic::Ordering::Relaxed);
            // The peer may have closed already: a socket that is gone needs no shutdown.
            let _ = SockRef::from(&conn.stream).shutdown(Shutdown::Read);
        }
        if let ShutdownType::Send | ShutdownType::Both = how {
            shutdown_send(conn);
        }
        Ok(Ok(()))
    }

    fn drop(&mut self, this: Resource<TcpSocket>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        Ok(())
    }
}

/// Half-close the sending side: at once, or after the write in flight.
fn shutdown_send(conn: &Arc<Conn>) {
    let mut write = conn.write_state();
    *write = match std::mem::replace(&mut *write, Write::Closed) {
        Write::Idle => {
            // The peer may be gone already: then there is nothing to shut down.
            let _ = SockRef::from(&conn.stream).shutdown(Shutdown::Write);
            Write::Closed
        }
        Write::Flushing { task, .. } => {
            let owner = Arc::clone(conn);
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

/// A non-blocking connect's outcome, once the socket is writable: the socket's pending error,
/// if any (writable without one means connected).
fn connect_outcome(stream: &TcpStream) -> io::Result<()> {
    match stream.take_error()? {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn address(a: io::Result<SockAddr>) -> std::result::Result<IpSocketAddress, ErrorCode> {
    match a {
        Ok(a) => a.as_socket().map(Into::into).ok_or(ErrorCode::InvalidState),
        Err(e) => Err(code(&e)),
    }
}

fn option<T>(
    sock: std::result::Result<SockRef<'_>, ErrorCode>,
    f: impl FnOnce(&SockRef<'_>) -> io::Result<T>,
) -> std::result::Result<T, ErrorCode> {
    let sock = sock?;
    f(&sock).map_err(|e| code(&e))
}

/// A buffer size the component asked for, as the kernel takes it (an `int`); 0 is refused.
fn buffer_size(value: u64) -> Option<usize> {
    (value != 0).then(|| {
        usize::try_from(value)
            .unwrap_or(usize::MAX)
            .min(i32::MAX as usize)
    })
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// A WASI duration (nanoseconds) as whole seconds, at least one (the kernel's unit).
fn duration(ns: u64) -> Option<Duration> {
    if ns == 0 {
        return None;
    }
    let secs = ns.div_ceil(1_000_000_000).min(i32::MAX as u64);
    Some(Duration::from_secs(secs))
}

fn streams(conn: Arc<Conn>) -> (DynInputStream, DynOutputStream) {
    let input: DynInputStream = Box::new(Reader {
        conn: Arc::clone(&conn),
        eof: false,
    });
    let output: DynOutputStream = Box::new(Writer { conn });
    (input, output)
}

/// The socket's input stream: reads straight from the socket into a fresh, unzeroed buffer.
struct Reader {
    conn: Arc<Conn>,
    eof: bool,
}

#[async_trait::async_trait]
impl InputStream for Reader {
    fn read(&mut self, size: usize) -> StreamResult<Bytes> {
        if self.eof
            || self
                .conn
                .read_closed
                .load(std::sync::atomic::Ordering::Relaxed)
        {
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
        if !self.eof
            && !self
                .conn
                .read_closed
                .load(std::sync::atomic::Ordering::Relaxed)
        {
            let _ = self.conn.stream.readable().await;
        }
    }
}

/// The socket's output stream: a write goes to the socket at once; what the kernel does not
/// take goes out in a task, and `check-write` permits nothing until it has.
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
            Err(e) => Write::Failed(Arc::new(e)),
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
        Write::Failed(e) => Err(stream_error(io::Error::new(e.kind(), e.to_string()))),
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
                    let e = Arc::new(e);
                    *write = Write::Failed(Arc::clone(&e));
                    return Err(stream_error(io::Error::new(e.kind(), e.to_string())));
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

#[async_trait::async_trait]
impl Pollable for TcpSocket {
    async fn ready(&mut self) {
        match &mut self.state {
            State::Connecting(stream, _) => {
                let _ = std::future::poll_fn(|cx| stream.poll_write_ready(cx)).await;
            }
            State::Listening {
                listener, ready, ..
            } if ready.is_none() => {
                let accepted = std::future::poll_fn(|cx| listener.poll_accept(cx)).await;
                *ready = Some(accepted);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_whole_seconds_rounded_up_and_zero_is_refused() {
        assert_eq!(duration(0), None);
        assert_eq!(duration(1), Some(Duration::from_secs(1)));
        assert_eq!(duration(1_000_000_000), Some(Duration::from_secs(1)));
        assert_eq!(duration(1_000_000_001), Some(Duration::from_secs(2)));
        assert_eq!(
            duration(u64::MAX),
            Some(Duration::from_secs(i32::MAX as u64))
        );
        assert_eq!(nanos(Duration::from_secs(7)), 7_000_000_000);
    }

    #[test]
    fn a_socket_takes_addresses_of_its_own_family_only() {
        let v4 = TcpSocket::new(IpAddressFamily::Ipv4).expect("v4 socket");
        let v6 = TcpSocket::new(IpAddressFamily::Ipv6).expect("v6 socket");
        let a4: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let a6: SocketAddr = "[::1]:80".parse().unwrap();
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:80".parse().unwrap();
        assert_eq!(v4.check_family(&a4), Ok(()));
        assert_eq!(v4.check_family(&a6), Err(ErrorCode::InvalidArgument));
        assert_eq!(v6.check_family(&a6), Ok(()));
        assert_eq!(v6.check_family(&a4), Err(ErrorCode::InvalidArgument));
        // An IPv4 address dressed as IPv6 would reach IPv4 through the back door.
        assert_eq!(v6.check_family(&mapped), Err(ErrorCode::InvalidArgument));
        // A fresh socket is not bound: it has no address of its own yet.
        assert!(matches!(v4.state, State::Fresh(_)));
    }
}
