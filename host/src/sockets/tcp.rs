//! The TCP socket itself: the WASI 0.2 state machine over one native socket, its checks
//! (address validity, the [`NetPolicy`]) and its options, as plain `Result<_, ErrorCode>`.
//!
//! Follows wasmtime-wasi 48.0.8's `src/sockets/tcp.rs` (the socket and its options) and the
//! start/finish bookkeeping of its `src/p2/tcp.rs`. It owns the descriptor until the
//! connection is made, then shares it with the streams (`streams.rs`) through a [`Conn`].
//! It must not touch the resource table or WIT resources (that is `host.rs`), and never
//! blocks: every call returns at once, waits go through [`TcpSocket::poll_ready`].

use super::native::NativeStream;
use super::streams::Conn;
use crate::policy::NetPolicy;
use crate::tls::ServerSession;
use rustix::io::Errno;
use rustix::net::sockopt;
use socket2::{Domain, Protocol, SockAddr, SockRef, Socket, Type};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr};
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream, UnixStream};
use wasmtime_wasi::p2::bindings::sockets::network::{ErrorCode, IpAddressFamily};
use wasmtime_wasi::sockets::SocketAddrUse;

/// What every call here returns: the WIT error code, nothing that traps.
pub(crate) type Result<T> = std::result::Result<T, ErrorCode>;

/// The listen backlog when the component sets none (Rust's standard library's, as
/// wasmtime-wasi's).
const DEFAULT_BACKLOG: u32 = 128;

const NANOS_PER_SEC: u64 = 1_000_000_000;

/// The `start-*` whose `finish-*` has not been called yet: WASI 0.2 splits bind, connect and
/// listen in two, and allows one such pair at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pending {
    Bind,
    Connect,
    Listen,
}

enum State {
    /// Created; bound to a local address once `TcpSocket::bound` says so.
    Unconnected(Socket),
    /// A non-blocking connect in flight to `peer`: done when the socket is writable.
    Connecting {
        stream: NativeStream,
        peer: SocketAddr,
    },
    /// Established, by a connect or an accept: shared with the socket's two streams.
    Connected(Arc<Conn>),
    Listening {
        listener: TcpListener,
        /// A connection taken while the component waited on the socket's pollable, for the
        /// next `accept`.
        ready: Option<io::Result<(TcpStream, SocketAddr)>>,
    },
    /// A connect that failed: every later use reports how, as wasmtime-wasi's socket does.
    Failed(ErrorCode),
}

/// A `wasi:sockets/tcp` socket.
pub struct TcpSocket {
    family: IpAddressFamily,
    state: State,
    pending: Option<Pending>,
    /// `start-bind` succeeded (only read while `Unconnected`: any later state is bound).
    bound: bool,
    backlog: u32,
    /// The TLS session the host terminates over this accepted connection's streams, if its
    /// listener's policy asks for it (`sockets` never looks inside; the handoff takes it).
    tls: Option<ServerSession>,
}

impl TcpSocket {
    /// A fresh, unbound socket of `family`, or `access-denied` if the policy grants no TCP.
    pub(crate) fn new(family: IpAddressFamily, policy: &NetPolicy) -> Result<Self> {
        if !policy.any_tcp() {
            return Err(ErrorCode::AccessDenied);
        }
        let domain = match family {
            IpAddressFamily::Ipv4 => Domain::IPV4,
            IpAddressFamily::Ipv6 => Domain::IPV6,
        };
        // Non-blocking from the start: one system call, not three.
        let socket = Socket::new(domain, Type::STREAM.nonblocking(), Some(Protocol::TCP))
            .map_err(|e| code(&e))?;
        if family == IpAddressFamily::Ipv6 {
            // WASI keeps the families apart: no IPv4-mapped traffic on an IPv6 socket.
            socket.set_only_v6(true).map_err(|e| code(&e))?;
        }
        Ok(Self {
            family,
            state: State::Unconnected(socket),
            pending: None,
            bound: false,
            backlog: DEFAULT_BACKLOG,
            tls: None,
        })
    }

    /// Take the state out to move its parts into the next one; the placeholder left behind
    /// is a real state (a socket that cannot be used), never observed unless a step between
    /// the take and the put back fails.
    fn take_state(&mut self) -> State {
        std::mem::replace(&mut self.state, State::Failed(ErrorCode::InvalidState))
    }

    fn is_bound(&self) -> bool {
        match self.state {
            State::Unconnected(_) => self.bound,
            _ => true,
        }
    }

    /// A new start/finish pair may begin only when none is in progress.
    fn begin(&self) -> Result<()> {
        match self.pending {
            Some(_) => Err(ErrorCode::ConcurrencyConflict),
            None => Ok(()),
        }
    }

    /// End the pair `op`, or `not-in-progress` if it is not the one in progress.
    fn finish(&mut self, op: Pending) -> Result<()> {
        if self.pending != Some(op) {
            return Err(ErrorCode::NotInProgress);
        }
        self.pending = None;
        Ok(())
    }

    /// `start-bind`: binding is immediate; `finish-bind` only closes the pair.
    pub(crate) fn start_bind(&mut self, local: SocketAddr, policy: &NetPolicy) -> Result<()> {
        self.begin()?;
        if self.is_bound() {
            return Err(ErrorCode::InvalidState);
        }
        let State::Unconnected(socket) = &self.state else {
            return Err(ErrorCode::InvalidState);
        };
        if !is_unicast(local.ip()) || !of_family(local.ip(), self.family) {
            return Err(ErrorCode::InvalidArgument);
        }
        if !policy.allows(local, SocketAddrUse::TcpBind) {
            return Err(ErrorCode::AccessDenied);
        }
        // As WASI asks: a bind is not refused for a recently closed socket in TIME_WAIT. A
        // failure here only costs that, so the bind goes ahead regardless.
        let _ = socket.set_reuse_address(true);
        if policy.reuses_port() {
            // Several instances (one per thread) listening on one address, the kernel
            // spreading connections among them: the embedder's choice, unseen by the guest.
            socket.set_reuse_port(true).map_err(|e| code(&e))?;
        }
        socket
            .bind(&SockAddr::from(local))
            .map_err(|e| match Errno::from_io_error(&e) {
                // An address the family cannot take: the validation above should have caught
                // it, so it is the component's argument that is wrong.
                Some(Errno::AFNOSUPPORT) => ErrorCode::InvalidArgument,
                _ => code(&e),
            })?;
        self.bound = true;
        self.pending = Some(Pending::Bind);
        Ok(())
    }

    /// `finish-bind`.
    pub(crate) fn finish_bind(&mut self) -> Result<()> {
        self.finish(Pending::Bind)
    }

    /// `start-connect`: starts a non-blocking connect; its outcome, even one the kernel
    /// gives at once, is `finish-connect`'s to report.
    pub(crate) fn start_connect(&mut self, remote: SocketAddr, policy: &NetPolicy) -> Result<()> {
        self.begin()?;
        if !matches!(self.state, State::Unconnected(_)) {
            return Err(ErrorCode::InvalidState);
        }
        if !is_unicast(remote.ip()) || !is_remote(remote) || !of_family(remote.ip(), self.family) {
            return Err(ErrorCode::InvalidArgument);
        }
        // An unbound socket is bound by the connect: that needs the grant to bind to the
        // wildcard address as well.
        if !self.is_bound() && !policy.allows(unspecified(self.family), SocketAddrUse::TcpBind) {
            return Err(ErrorCode::AccessDenied);
        }
        if !policy.allows(remote, SocketAddrUse::TcpConnect) {
            return Err(ErrorCode::AccessDenied);
        }
        let socket = match self.take_state() {
            State::Unconnected(socket) => socket,
            other => {
                self.state = other;
                return Err(ErrorCode::InvalidState);
            }
        };
        if let Some(path) = policy.unix_path(remote) {
            // The embedder put a unix socket behind this address: the TCP socket goes unused.
            // A local connect completes at once (or fails: no such socket, nobody listening).
            self.state = match connect_unix(path) {
                Ok(stream) => State::Connecting {
                    stream: NativeStream::Unix(stream),
                    peer: remote,
                },
                Err(e) => State::Failed(unix_connect_error(&e)),
            };
            self.pending = Some(Pending::Connect);
            return Ok(());
        }
        self.state = match socket.connect(&SockAddr::from(remote)) {
            // EINPROGRESS: the connect goes on in the background.
            Ok(()) => connecting(socket, remote),
            Err(e) if Errno::from_io_error(&e) == Some(Errno::INPROGRESS) => {
                connecting(socket, remote)
            }
            Err(e) => State::Failed(code(&e)),
        };
        self.pending = Some(Pending::Connect);
        Ok(())
    }

    /// `finish-connect`: the connection, `would-block` while the connect is in flight, or
    /// how it failed.
    pub(crate) fn finish_connect(&mut self) -> Result<Arc<Conn>> {
        if self.pending != Some(Pending::Connect) {
            return Err(ErrorCode::NotInProgress);
        }
        if let State::Connecting { stream, .. } = &self.state {
            let mut cx = Context::from_waker(Waker::noop());
            if stream.poll_write_ready(&mut cx).is_pending() {
                return Err(ErrorCode::WouldBlock);
            }
        }
        self.pending = None;
        match self.take_state() {
            State::Connecting { stream, peer } => match connect_outcome(&stream) {
                Ok(()) => {
                    let conn = Arc::new(Conn::new(stream, peer));
                    self.state = State::Connected(Arc::clone(&conn));
                    Ok(conn)
                }
                Err(e) => {
                    self.state = State::Failed(e);
                    Err(e)
                }
            },
            State::Failed(e) => {
                self.state = State::Failed(e);
                Err(e)
            }
            other => {
                self.state = other;
                Err(ErrorCode::InvalidState)
            }
        }
    }

    /// `start-listen`: the socket must have been bound (WASI 0.2 does no implicit bind).
    pub(crate) fn start_listen(&mut self, policy: &NetPolicy) -> Result<()> {
        self.begin()?;
        if !self.is_bound() {
            return Err(ErrorCode::InvalidState);
        }
        let State::Unconnected(socket) = &self.state else {
            return Err(ErrorCode::InvalidState);
        };
        let local = socket
            .local_addr()
            .map_err(|e| code(&e))?
            .as_socket()
            .ok_or(ErrorCode::InvalidState)?;
        if !policy.allows(local, SocketAddrUse::TcpListen) {
            return Err(ErrorCode::AccessDenied);
        }
        socket
            .listen(backlog_int(self.backlog))
            .map_err(|e| code(&e))?;
        self.state = match self.take_state() {
            State::Unconnected(socket) => {
                match TcpListener::from_std(std::net::TcpListener::from(socket)) {
                    Ok(listener) => State::Listening {
                        listener,
                        ready: None,
                    },
                    Err(e) => State::Failed(code(&e)),
                }
            }
            other => other,
        };
        if let State::Failed(e) = self.state {
            return Err(e);
        }
        self.pending = Some(Pending::Listen);
        Ok(())
    }

    /// `finish-listen`.
    pub(crate) fn finish_listen(&mut self) -> Result<()> {
        self.finish(Pending::Listen)
    }

    /// `accept`: the next connection (a connected socket and what its streams share), or
    /// `would-block`. A peer the policy refuses is reset and the wait goes on, as
    /// wasmtime-wasi does with its own check.
    pub(crate) fn accept(&mut self, policy: &NetPolicy) -> Result<(TcpSocket, Arc<Conn>)> {
        let family = self.family;
        let State::Listening { listener, ready } = &mut self.state else {
            return Err(ErrorCode::InvalidState);
        };
        let accepted = match ready.take() {
            Some(accepted) => accepted,
            None => match listener.poll_accept(&mut Context::from_waker(Waker::noop())) {
                Poll::Ready(accepted) => accepted,
                Poll::Pending => return Err(ErrorCode::WouldBlock),
            },
        };
        let (stream, peer) = accepted.map_err(|e| accept_error(&e))?;
        if !policy.allows(peer, SocketAddrUse::TcpAccept) {
            // A reset, not a close: the refused peer learns at once; then the component
            // waits for the next one.
            let _ = SockRef::from(&stream).set_linger(Some(Duration::ZERO));
            return Err(ErrorCode::WouldBlock);
        }
        let conn = Arc::new(Conn::new(NativeStream::Tcp(stream), peer));
        let socket = TcpSocket {
            family,
            state: State::Connected(Arc::clone(&conn)),
            pending: None,
            bound: true,
            backlog: DEFAULT_BACKLOG,
            tls: None,
        };
        Ok((socket, conn))
    }

    /// `local-address`: `invalid-state` until bound.
    pub(crate) fn local_address(&self) -> Result<SocketAddr> {
        if !self.is_bound() {
            return Err(ErrorCode::InvalidState);
        }
        let addr = match &self.state {
            State::Unconnected(socket) => socket.local_addr(),
            State::Connected(conn) => SockRef::from(conn.stream()).local_addr(),
            State::Listening { listener, .. } => SockRef::from(listener).local_addr(),
            State::Connecting { .. } => return Err(ErrorCode::InvalidState),
            State::Failed(e) => return Err(*e),
        };
        addr.map_err(|e| code(&e))?
            .as_socket()
            .ok_or(ErrorCode::InvalidState)
    }

    /// `remote-address`: the peer, as the connect or the accept gave it (no system call).
    pub(crate) fn remote_address(&self) -> Result<SocketAddr> {
        match &self.state {
            State::Connected(conn) => Ok(conn.peer()),
            State::Failed(e) => Err(*e),
            _ => Err(ErrorCode::InvalidState),
        }
    }

    /// `is-listening`.
    pub(crate) fn is_listening(&self) -> bool {
        matches!(self.state, State::Listening { .. })
    }

    /// `address-family`.
    pub(crate) fn address_family(&self) -> IpAddressFamily {
        self.family
    }

    /// `set-listen-backlog-size`: kept for the listen to come, or applied by listening again
    /// (`not-supported` where the system cannot).
    pub(crate) fn set_listen_backlog_size(&mut self, value: u64) -> Result<()> {
        if value == 0 {
            return Err(ErrorCode::InvalidArgument);
        }
        // Silently capped, as systems cap it themselves.
        let value = u32::try_from(value)
            .unwrap_or(u32::MAX)
            .clamp(1, i32::MAX as u32);
        match &self.state {
            State::Unconnected(_) => {
                self.backlog = value;
                Ok(())
            }
            State::Listening { listener, .. } => {
                SockRef::from(listener)
                    .listen(backlog_int(value))
                    .map_err(|_| ErrorCode::NotSupported)?;
                self.backlog = value;
                Ok(())
            }
            State::Failed(e) => Err(*e),
            State::Connecting { .. } | State::Connected(_) => Err(ErrorCode::InvalidState),
        }
    }

    /// The descriptor for options: none while a connect is in flight (wasmtime-wasi's socket
    /// has handed it to the connect then).
    fn fd(&self) -> Result<BorrowedFd<'_>> {
        match &self.state {
            State::Unconnected(socket) => Ok(socket.as_fd()),
            State::Connected(conn) => Ok(conn.stream().as_fd()),
            State::Listening { listener, .. } => Ok(listener.as_fd()),
            State::Connecting { .. } => Err(ErrorCode::InvalidState),
            State::Failed(e) => Err(*e),
        }
    }

    /// `keep-alive-enabled`.
    pub(crate) fn keep_alive_enabled(&self) -> Result<bool> {
        Ok(sockopt::socket_keepalive(self.fd()?)?)
    }

    /// `set-keep-alive-enabled`.
    pub(crate) fn set_keep_alive_enabled(&self, value: bool) -> Result<()> {
        Ok(sockopt::set_socket_keepalive(self.fd()?, value)?)
    }

    /// `keep-alive-idle-time`, in nanoseconds.
    pub(crate) fn keep_alive_idle_time(&self) -> Result<u64> {
        Ok(nanos(sockopt::tcp_keepidle(self.fd()?)?))
    }

    /// `set-keep-alive-idle-time`: TCP_KEEPIDLE alone, so keep-alive stays as it was (on or
    /// off); clamped to what every supported system takes.
    pub(crate) fn set_keep_alive_idle_time(&self, value: u64) -> Result<()> {
        let value = keep_alive_time(value)?;
        Ok(sockopt::set_tcp_keepidle(self.fd()?, value)?)
    }

    /// `keep-alive-interval`, in nanoseconds.
    pub(crate) fn keep_alive_interval(&self) -> Result<u64> {
        Ok(nanos(sockopt::tcp_keepintvl(self.fd()?)?))
    }

    /// `set-keep-alive-interval`: TCP_KEEPINTVL alone (keep-alive stays as it was).
    pub(crate) fn set_keep_alive_interval(&self, value: u64) -> Result<()> {
        let value = keep_alive_time(value)?;
        Ok(sockopt::set_tcp_keepintvl(self.fd()?, value)?)
    }

    /// `keep-alive-count`.
    pub(crate) fn keep_alive_count(&self) -> Result<u32> {
        Ok(sockopt::tcp_keepcnt(self.fd()?)?)
    }

    /// `set-keep-alive-count`: TCP_KEEPCNT alone (keep-alive stays as it was), clamped to
    /// Linux's limit, the lowest of the supported systems.
    pub(crate) fn set_keep_alive_count(&self, value: u32) -> Result<()> {
        if value == 0 {
            return Err(ErrorCode::InvalidArgument);
        }
        let value = value.clamp(1, i8::MAX as u32);
        Ok(sockopt::set_tcp_keepcnt(self.fd()?, value)?)
    }

    /// `hop-limit`: IP_TTL or IPV6_UNICAST_HOPS.
    pub(crate) fn hop_limit(&self) -> Result<u8> {
        let fd = self.fd()?;
        match self.family {
            IpAddressFamily::Ipv4 => {
                u8::try_from(sockopt::ip_ttl(fd)?).map_err(|_| ErrorCode::NotSupported)
            }
            IpAddressFamily::Ipv6 => Ok(sockopt::ipv6_unicast_hops(fd)?),
        }
    }

    /// `set-hop-limit`: 0 is refused here, as systems differ on it.
    pub(crate) fn set_hop_limit(&self, value: u8) -> Result<()> {
        if value == 0 {
            return Err(ErrorCode::InvalidArgument);
        }
        let fd = self.fd()?;
        match self.family {
            IpAddressFamily::Ipv4 => sockopt::set_ip_ttl(fd, value.into())?,
            IpAddressFamily::Ipv6 => sockopt::set_ipv6_unicast_hops(fd, Some(value))?,
        }
        Ok(())
    }

    /// `receive-buffer-size`, in the units the component set it in (see
    /// [`buffer_size_read`]).
    pub(crate) fn receive_buffer_size(&self) -> Result<u64> {
        Ok(buffer_size_read(sockopt::socket_recv_buffer_size(
            self.fd()?,
        )?))
    }

    /// `set-receive-buffer-size`: a hint the system may cap (see [`buffer_size_set`]).
    pub(crate) fn set_receive_buffer_size(&self, value: u64) -> Result<()> {
        let fd = self.fd()?;
        buffer_size_set(value, |v| sockopt::set_socket_recv_buffer_size(fd, v))
    }

    /// `send-buffer-size`, as [`TcpSocket::receive_buffer_size`].
    pub(crate) fn send_buffer_size(&self) -> Result<u64> {
        Ok(buffer_size_read(sockopt::socket_send_buffer_size(
            self.fd()?,
        )?))
    }

    /// `set-send-buffer-size`, as [`TcpSocket::set_receive_buffer_size`].
    pub(crate) fn set_send_buffer_size(&self, value: u64) -> Result<()> {
        let fd = self.fd()?;
        buffer_size_set(value, |v| sockopt::set_socket_send_buffer_size(fd, v))
    }

    /// `shutdown`: only a connection has sides to shut.
    pub(crate) fn shutdown(&self, how: Shutdown) -> Result<()> {
        match &self.state {
            State::Connected(conn) => {
                conn.shutdown(how);
                Ok(())
            }
            _ => Err(ErrorCode::InvalidState),
        }
    }

    /// The socket's pollable: ready when a connect in flight has an outcome, or when a
    /// listener has a connection (kept for the next `accept`); at once otherwise.
    pub(crate) fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match &mut self.state {
            State::Connecting { stream, .. } => stream.poll_write_ready(cx).map(|_| ()),
            State::Listening { listener, ready } if ready.is_none() => {
                let accepted = std::task::ready!(listener.poll_accept(cx));
                *ready = Some(accepted);
                Poll::Ready(())
            }
            _ => Poll::Ready(()),
        }
    }

    /// Own `session`, the TLS the host runs over this connection's streams.
    pub(crate) fn hold_tls(&mut self, session: ServerSession) {
        self.tls = Some(session);
    }

    /// The TLS session held, if any (the handoff).
    pub(crate) fn take_tls(&mut self) -> Option<ServerSession> {
        self.tls.take()
    }

    /// The connection, whole, once the component has handed it over: waits for any write
    /// still in flight, then takes the socket back from the streams (which must be dropped
    /// first). `None` if the socket is not connected or a stream is still alive.
    pub(crate) async fn into_stream(self) -> Option<NativeStream> {
        match self.state {
            State::Connected(conn) => Conn::into_stream(conn).await,
            _ => None,
        }
    }
}

/// A connect under way: the socket handed to tokio, to be told when it is writable.
fn connecting(socket: Socket, peer: SocketAddr) -> State {
    match TcpStream::from_std(std::net::TcpStream::from(socket)) {
        Ok(stream) => State::Connecting {
            stream: NativeStream::Tcp(stream),
            peer,
        },
        Err(e) => State::Failed(code(&e)),
    }
}

/// A non-blocking connect's outcome, once the socket is writable: its pending error, if any
/// (writable without one means connected).
/// A connect to the unix socket at `path`, in the calling thread (a local connect does not
/// wait on the network), handed to tokio.
fn connect_unix(path: &std::path::Path) -> io::Result<UnixStream> {
    let stream = std::os::unix::net::UnixStream::connect(path)?;
    stream.set_nonblocking(true)?;
    UnixStream::from_std(stream)
}

/// A unix connect's error as TCP's would read: no socket at the path, or nobody listening
/// on it, is a refusal (as curl's `--unix-socket` reports both).
fn unix_connect_error(e: &io::Error) -> ErrorCode {
    match Errno::from_io_error(e) {
        Some(Errno::NOENT | Errno::CONNREFUSED | Errno::NOTSOCK) => ErrorCode::ConnectionRefused,
        Some(Errno::ACCESS | Errno::PERM) => ErrorCode::AccessDenied,
        _ => code(e),
    }
}

fn connect_outcome(stream: &NativeStream) -> Result<()> {
    match stream.take_error() {
        Ok(None) => Ok(()),
        Ok(Some(e)) | Err(e) => Err(code(&e)),
    }
}

fn code(e: &io::Error) -> ErrorCode {
    ErrorCode::from(e)
}

/// An accept's error: Linux passes on errors that belong to the new connection, not to the
/// listener; they read as the connection having been aborted (as wasmtime-wasi has them).
fn accept_error(e: &io::Error) -> ErrorCode {
    match Errno::from_io_error(e) {
        Some(
            Errno::CONNRESET
            | Errno::NETRESET
            | Errno::HOSTUNREACH
            | Errno::HOSTDOWN
            | Errno::NETDOWN
            | Errno::NETUNREACH
            | Errno::PROTO
            | Errno::NOPROTOOPT
            | Errno::NONET
            | Errno::OPNOTSUPP,
        ) => ErrorCode::ConnectionAborted,
        _ => code(e),
    }
}

/// The wildcard address of a family, port 0: where a connect binds implicitly.
fn unspecified(family: IpAddressFamily) -> SocketAddr {
    let ip = match family {
        IpAddressFamily::Ipv4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddressFamily::Ipv6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    SocketAddr::new(ip, 0)
}

/// Neither multicast nor broadcast (IPv4-mapped addresses judged as the IPv4 they carry).
fn is_unicast(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => !v4.is_multicast() && !v4.is_broadcast(),
        IpAddr::V6(v6) => !v6.is_multicast(),
    }
}

/// An address one can connect to: a specified address and a port.
fn is_remote(addr: SocketAddr) -> bool {
    !addr.ip().to_canonical().is_unspecified() && addr.port() != 0
}

/// An address of the socket's family. An IPv6 socket takes neither IPv4-mapped addresses
/// (WASI keeps the families apart) nor the deprecated IPv4-compatible ones (`::a.b.c.d`,
/// which systems treat inconsistently).
fn of_family(ip: IpAddr, family: IpAddressFamily) -> bool {
    match (family, ip) {
        (IpAddressFamily::Ipv4, IpAddr::V4(_)) => true,
        (IpAddressFamily::Ipv6, IpAddr::V6(v6)) => {
            let ipv4_compatible = matches!(v6.segments(), [0, 0, 0, 0, 0, 0, _, _])
                && v6 != Ipv6Addr::UNSPECIFIED
                && v6 != Ipv6Addr::LOCALHOST;
            v6.to_ipv4_mapped().is_none() && !ipv4_compatible
        }
        _ => false,
    }
}

fn backlog_int(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// A keep-alive time the component gave (nanoseconds): 0 is refused; else at least a second
/// (the kernel's unit: less would read as 0, which systems take as "reset") and at most
/// Linux's limit (`i16::MAX` seconds), the lowest of the supported systems.
fn keep_alive_time(ns: u64) -> Result<Duration> {
    if ns == 0 {
        return Err(ErrorCode::InvalidArgument);
    }
    let ns = ns.clamp(NANOS_PER_SEC, i16::MAX as u64 * NANOS_PER_SEC);
    Ok(Duration::from_nanos(ns))
}

/// A buffer size as the system reports it, in the units it was set in: Linux doubles the
/// value it is given (room for its bookkeeping) and reports the doubled value, so it is
/// halved back, as wasmtime-wasi does.
fn buffer_size_read(value: usize) -> u64 {
    let value = if cfg!(target_os = "linux") {
        value / 2
    } else {
        value
    };
    u64::try_from(value).unwrap_or(u64::MAX)
}

/// Set a buffer size: 0 is refused; else a hint, capped to what the system call takes (an
/// `int`). Systems that refuse a size too large with ENOBUFS (the BSDs) are treated as the
/// others, which cap it silently.
fn buffer_size_set(
    value: u64,
    set: impl FnOnce(usize) -> std::result::Result<(), Errno>,
) -> Result<()> {
    if value == 0 {
        return Err(ErrorCode::InvalidArgument);
    }
    let value = usize::try_from(value)
        .unwrap_or(usize::MAX)
        .clamp(1, i32::MAX as usize);
    match set(value) {
        Ok(()) | Err(Errno::NOBUFS) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V4: IpAddressFamily = IpAddressFamily::Ipv4;
    const V6: IpAddressFamily = IpAddressFamily::Ipv6;

    /// Every TCP use on loopback, and the wildcard addresses (the validation under test runs
    /// before the policy, so the policy must not be what refuses).
    fn policy() -> NetPolicy {
        NetPolicy::new()
            .allow_listen("127.0.0.1:0".parse().unwrap())
            .allow_listen("0.0.0.0:0".parse().unwrap())
            .allow_listen("[::]:0".parse().unwrap())
            .allow_connect("127.0.0.1:9".parse().unwrap())
    }

    fn socket(family: IpAddressFamily) -> TcpSocket {
        TcpSocket::new(family, &policy()).expect("socket")
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn keep_alive_parameters_leave_keep_alive_off() {
        for family in [V4, V6] {
            let s = socket(family);
            assert_eq!(s.keep_alive_enabled(), Ok(false));
            s.set_keep_alive_idle_time(42 * NANOS_PER_SEC).unwrap();
            s.set_keep_alive_interval(43 * NANOS_PER_SEC).unwrap();
            s.set_keep_alive_count(7).unwrap();
            assert_eq!(s.keep_alive_enabled(), Ok(false), "{family:?}");
            assert_eq!(s.keep_alive_idle_time(), Ok(42 * NANOS_PER_SEC));
            assert_eq!(s.keep_alive_interval(), Ok(43 * NANOS_PER_SEC));
            assert_eq!(s.keep_alive_count(), Ok(7));
            // And on stays on.
            s.set_keep_alive_enabled(true).unwrap();
            s.set_keep_alive_idle_time(5 * NANOS_PER_SEC).unwrap();
            assert_eq!(s.keep_alive_enabled(), Ok(true));
        }
    }

    #[test]
    fn keep_alive_values_are_clamped_and_zero_is_refused() {
        let s = socket(V4);
        assert_eq!(
            s.set_keep_alive_idle_time(0),
            Err(ErrorCode::InvalidArgument)
        );
        assert_eq!(
            s.set_keep_alive_interval(0),
            Err(ErrorCode::InvalidArgument)
        );
        assert_eq!(s.set_keep_alive_count(0), Err(ErrorCode::InvalidArgument));
        s.set_keep_alive_idle_time(1).unwrap();
        assert_eq!(s.keep_alive_idle_time(), Ok(NANOS_PER_SEC));
        s.set_keep_alive_idle_time(u64::MAX).unwrap();
        assert_eq!(
            s.keep_alive_idle_time(),
            Ok(i16::MAX as u64 * NANOS_PER_SEC)
        );
        s.set_keep_alive_interval(u64::MAX).unwrap();
        s.set_keep_alive_count(u32::MAX).unwrap();
        assert_eq!(s.keep_alive_count(), Ok(i8::MAX as u32));
    }

    #[test]
    fn buffer_sizes_read_back_as_set() {
        for family in [V4, V6] {
            let s = socket(family);
            s.set_receive_buffer_size(0x10000).unwrap();
            s.set_send_buffer_size(0x10000).unwrap();
            assert_eq!(s.receive_buffer_size(), Ok(0x10000), "{family:?}");
            assert_eq!(s.send_buffer_size(), Ok(0x10000), "{family:?}");
            assert_eq!(
                s.set_receive_buffer_size(0),
                Err(ErrorCode::InvalidArgument)
            );
            assert_eq!(s.set_send_buffer_size(0), Err(ErrorCode::InvalidArgument));
            // Out-of-range sizes are hints the system caps, never errors.
            for v in [1, u64::MAX] {
                assert_eq!(s.set_receive_buffer_size(v), Ok(()));
                assert_eq!(s.set_send_buffer_size(v), Ok(()));
            }
        }
    }

    #[test]
    fn bind_takes_unicast_addresses_of_the_family_only() {
        let cases = [
            (V4, "255.255.255.255:0"),
            (V4, "224.254.0.0:0"),
            (V6, "[ff00::]:0"),
            (V4, "[::1]:0"),
            (V6, "127.0.0.1:0"),
            (V6, "[::ffff:127.0.0.1]:0"),
            (V6, "[::127.0.0.1]:0"),
        ];
        for (family, a) in cases {
            let mut s = socket(family);
            assert_eq!(
                s.start_bind(addr(a), &policy()),
                Err(ErrorCode::InvalidArgument),
                "{family:?} {a}"
            );
            assert!(!s.is_bound());
        }
    }

    #[tokio::test]
    async fn connect_takes_unicast_remote_addresses_of_the_family_only() {
        let cases = [
            (V4, "255.255.255.255:9"),
            (V4, "224.254.0.0:9"),
            (V6, "[ff00::]:9"),
            (V4, "0.0.0.0:9"),
            (V6, "[::]:9"),
            (V4, "127.0.0.1:0"),
            (V6, "[::1]:0"),
            (V4, "[::1]:9"),
            (V6, "127.0.0.1:9"),
            (V6, "[::ffff:127.0.0.1]:9"),
        ];
        for (family, a) in cases {
            let mut s = socket(family);
            assert_eq!(
                s.start_connect(addr(a), &policy()),
                Err(ErrorCode::InvalidArgument),
                "{family:?} {a}"
            );
            // Refused before anything started: the socket is as it was.
            assert_eq!(s.finish_connect().err(), Some(ErrorCode::NotInProgress));
            assert!(matches!(s.state, State::Unconnected(_)));
        }
        // A valid address past the checks is for the policy to judge.
        let mut s = socket(V4);
        assert_eq!(
            s.start_connect(addr("127.0.0.2:9"), &policy()),
            Err(ErrorCode::AccessDenied)
        );
    }

    #[tokio::test]
    async fn one_start_finish_pair_at_a_time() {
        let mut s = socket(V4);
        s.start_bind(addr("127.0.0.1:0"), &policy()).unwrap();
        assert_eq!(
            s.start_bind(addr("127.0.0.1:0"), &policy()),
            Err(ErrorCode::ConcurrencyConflict)
        );
        assert_eq!(
            s.start_listen(&policy()),
            Err(ErrorCode::ConcurrencyConflict)
        );
        s.finish_bind().unwrap();
        assert_eq!(s.finish_bind(), Err(ErrorCode::NotInProgress));
        assert_eq!(
            s.start_bind(addr("127.0.0.1:0"), &policy()),
            Err(ErrorCode::InvalidState)
        );
        s.start_listen(&policy()).unwrap();
        assert_eq!(
            s.start_listen(&policy()),
            Err(ErrorCode::ConcurrencyConflict)
        );
        s.finish_listen().unwrap();
        assert_eq!(s.start_listen(&policy()), Err(ErrorCode::InvalidState));
        assert!(s.is_listening());
        assert_eq!(s.accept(&policy()).err(), Some(ErrorCode::WouldBlock));
    }

    #[test]
    fn listen_needs_an_explicit_bind() {
        let mut s = socket(V4);
        assert_eq!(s.start_listen(&policy()), Err(ErrorCode::InvalidState));
        assert_eq!(s.local_address(), Err(ErrorCode::InvalidState));
    }
}
