//! Name lookup and connect.

use super::addr::{family, socket_address};
use super::conn::Conn;
use super::error::NetError;
use super::time::{Deadline, blocking_wait};
use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::ip_name_lookup::resolve_addresses;
use wasip2::sockets::network::{ErrorCode, IpAddress, IpSocketAddress};
use wasip2::sockets::tcp_create_socket::create_tcp_socket;

/// The addresses of the host name `name` (wasi:sockets/ip-name-lookup), before `deadline`.
pub fn blocking_resolve(name: &str, deadline: Deadline) -> Result<Vec<IpAddress>, NetError> {
    let network = instance_network();
    let stream = resolve_addresses(&network, name).map_err(NetError::Dns)?;
    let mut out = Vec::new();
    loop {
        match stream.resolve_next_address() {
            Ok(Some(addr)) => out.push(addr),
            Ok(None) => break,
            Err(ErrorCode::WouldBlock) => blocking_wait(&stream.subscribe(), deadline)?,
            Err(e) => return Err(NetError::Dns(e)),
        }
    }
    if out.is_empty() {
        return Err(NetError::Dns(ErrorCode::NameUnresolvable));
    }
    Ok(out)
}

/// Connect to the first of `addrs` that answers, on `port`, before `deadline`.
pub fn blocking_connect(
    addrs: &[IpAddress],
    port: u16,
    deadline: Deadline,
) -> Result<Conn, NetError> {
    let mut last = NetError::Dns(ErrorCode::NameUnresolvable);
    for addr in addrs {
        match blocking_connect_one(socket_address(*addr, port), deadline) {
            Ok(conn) => return Ok(conn),
            Err(NetError::Timeout) => return Err(NetError::Timeout),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn blocking_connect_one(addr: IpSocketAddress, deadline: Deadline) -> Result<Conn, NetError> {
    let socket = create_tcp_socket(family(&addr)).map_err(NetError::Connect)?;
    socket
        .start_connect(&instance_network(), addr)
        .map_err(NetError::Connect)?;
    loop {
        match socket.finish_connect() {
            Ok((input, output)) => return Ok(Conn::new(socket, input, output)),
            Err(ErrorCode::WouldBlock) => blocking_wait(&socket.subscribe(), deadline)?,
            Err(e) => return Err(NetError::Connect(e)),
        }
    }
}
