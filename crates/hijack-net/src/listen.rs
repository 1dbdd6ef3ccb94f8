//! A listening socket: bind, listen, accept without waiting, and waiting on the listener and
//! many connections at once, with pollables that live across waits ([`Watched`]), so a wake
//! costs a `poll` over the set and work for the ready ones only.

use super::addr::family;
use super::conn::Conn;
use super::error::NetError;
use super::time::Deadline;
use alloc::vec::Vec;
use wasip2::io::poll::{Pollable, poll};
use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::network::{ErrorCode, IpSocketAddress};
use wasip2::sockets::tcp::TcpSocket;
use wasip2::sockets::tcp_create_socket::create_tcp_socket;

/// A bound, listening TCP socket. Field order is drop order: the pollable is the socket's
/// child.
pub struct Listening {
    ready: Pollable,
    socket: TcpSocket,
}

/// A connection whose readiness is watched across waits: its input stream's pollable lives as
/// long as it does. Field order is drop order: the pollable is the stream's child, so
/// [`Watched::into_conn`] drops it before the connection can be handed over.
pub struct Watched {
    ready: Pollable,
    conn: Conn,
}

impl Watched {
    /// Watch `conn`.
    pub fn new(conn: Conn) -> Self {
        Self {
            ready: conn.readable(),
            conn,
        }
    }

    /// The connection.
    pub fn conn(&self) -> &Conn {
        &self.conn
    }

    /// The connection, with no live child: the pollable is dropped.
    pub fn into_conn(self) -> Conn {
        drop(self.ready);
        self.conn
    }
}

impl Listening {
    /// Bind to `addr` and listen.
    pub fn blocking_bind(addr: IpSocketAddress) -> Result<Self, NetError> {
        let socket = create_tcp_socket(family(&addr)).map_err(NetError::Socket)?;
        socket
            .start_bind(&instance_network(), addr)
            .map_err(NetError::Socket)?;
        blocking_finish(&socket, TcpSocket::finish_bind)?;
        socket.start_listen().map_err(NetError::Socket)?;
        blocking_finish(&socket, TcpSocket::finish_listen)?;
        Ok(Self {
            ready: socket.subscribe(),
            socket,
        })
    }

    /// The bound address.
    pub fn local_address(&self) -> Result<IpSocketAddress, NetError> {
        self.socket.local_address().map_err(NetError::Socket)
    }

    /// A fresh pollable, ready when a connection waits in the backlog; a child of the socket.
    pub fn subscribe(&self) -> Pollable {
        self.socket.subscribe()
    }

    /// A connection from the backlog, if one is waiting.
    pub fn try_accept(&self) -> Result<Option<Conn>, NetError> {
        match self.socket.accept() {
            Ok((socket, input, output)) => Ok(Some(Conn::new(socket, input, output))),
            Err(ErrorCode::WouldBlock) => Ok(None),
            // The peer gave up between SYN and accept: not the listener's failure.
            Err(ErrorCode::ConnectionAborted | ErrorCode::ConnectionReset) => Ok(None),
            Err(e) => Err(NetError::Socket(e)),
        }
    }

    /// Wait until a connection waits in the backlog (if `listener`), one of `watched` has
    /// bytes (or closed), or `deadline` passes; return the positions, in `watched`, of the
    /// connections that woke. The only pollable made here is the deadline's, dropped before
    /// returning.
    pub fn blocking_wait(
        &self,
        listener: bool,
        watched: &[&Watched],
        deadline: Option<Deadline>,
    ) -> Vec<usize> {
        let timer = deadline.map(Deadline::subscribe);
        // A poll needs at least one pollable: with nothing else to wait for, the listener's.
        let listener = listener || (timer.is_none() && watched.is_empty());
        let mut set: Vec<&Pollable> = Vec::with_capacity(watched.len() + 2);
        if listener {
            set.push(&self.ready);
        }
        if let Some(t) = &timer {
            set.push(t);
        }
        let first = set.len();
        set.extend(watched.iter().map(|w| &w.ready));
        poll(&set)
            .into_iter()
            .filter_map(|i| (i as usize).checked_sub(first))
            .collect()
    }
}

fn blocking_finish(
    socket: &TcpSocket,
    op: impl Fn(&TcpSocket) -> Result<(), ErrorCode>,
) -> Result<(), NetError> {
    loop {
        match op(socket) {
            Ok(()) => return Ok(()),
            Err(ErrorCode::WouldBlock) => socket.subscribe().block(),
            Err(e) => return Err(NetError::Socket(e)),
        }
    }
}
