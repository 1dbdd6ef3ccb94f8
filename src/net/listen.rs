//! A listening socket: bind, listen, accept without waiting, and waiting on the listener and
//! many connections at once.

use super::addr::family;
use super::conn::Conn;
use super::error::NetError;
use super::time::Deadline;
use wasip2::io::poll::{Pollable, poll};
use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::network::{ErrorCode, IpSocketAddress};
use wasip2::sockets::tcp::TcpSocket;
use wasip2::sockets::tcp_create_socket::create_tcp_socket;

/// A bound, listening TCP socket.
pub struct Listening {
    socket: TcpSocket,
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
        Ok(Self { socket })
    }

    /// The bound address.
    pub fn local_address(&self) -> Result<IpSocketAddress, NetError> {
        self.socket.local_address().map_err(NetError::Socket)
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

    /// Wait until a connection is waiting to be accepted, one of `conns` has bytes (or
    /// closed), or `deadline` passes. Every pollable made here is dropped before returning.
    pub fn blocking_wait<'a>(
        &self,
        conns: impl Iterator<Item = &'a Conn>,
        deadline: Option<Deadline>,
    ) {
        let mut pollables: Vec<Pollable> = vec![self.socket.subscribe()];
        pollables.extend(conns.map(|c| c.input().subscribe()));
        pollables.extend(deadline.map(Deadline::subscribe));
        let refs: Vec<&Pollable> = pollables.iter().collect();
        poll(&refs);
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
