//! Name lookup and connect.

use super::time::wait;
use super::{Conn, Deadline, NetError};
use std::net::IpAddr;
use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::ip_name_lookup::resolve_addresses;
use wasip2::sockets::network::{
    ErrorCode, IpAddress, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress,
};
use wasip2::sockets::tcp_create_socket::create_tcp_socket;

/// The addresses of `host`: an IP literal as it is, a name through wasi:sockets/ip-name-lookup.
pub fn resolve(host: &str, deadline: Deadline) -> Result<Vec<IpAddress>, NetError> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![match ip {
            IpAddr::V4(v4) => {
                let [a, b, c, d] = v4.octets();
                IpAddress::Ipv4((a, b, c, d))
            }
            IpAddr::V6(v6) => {
                let s = v6.segments();
                IpAddress::Ipv6((s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]))
            }
        }]);
    }
    let network = instance_network();
    let stream = resolve_addresses(&network, host).map_err(NetError::Dns)?;
    let mut out = Vec::new();
    loop {
        match stream.resolve_next_address() {
            Ok(Some(addr)) => out.push(addr),
            Ok(None) => break,
            Err(ErrorCode::WouldBlock) => wait(&stream.subscribe(), deadline)?,
            Err(e) => return Err(NetError::Dns(e)),
        }
    }
    if out.is_empty() {
        return Err(NetError::Dns(ErrorCode::NameUnresolvable));
    }
    Ok(out)
}

/// Connect to the first of `addrs` that answers, on `port`, before `deadline`.
pub fn connect(addrs: &[IpAddress], port: u16, deadline: Deadline) -> Result<Conn, NetError> {
    let mut last = NetError::Dns(ErrorCode::NameUnresolvable);
    for addr in addrs {
        match connect_one(socket_address(*addr, port), deadline) {
            Ok(conn) => return Ok(conn),
            Err(NetError::Timeout) => return Err(NetError::Timeout),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn connect_one(addr: IpSocketAddress, deadline: Deadline) -> Result<Conn, NetError> {
    let family = match addr {
        IpSocketAddress::Ipv4(_) => IpAddressFamily::Ipv4,
        IpSocketAddress::Ipv6(_) => IpAddressFamily::Ipv6,
    };
    let socket = create_tcp_socket(family).map_err(NetError::Connect)?;
    socket
        .start_connect(&instance_network(), addr)
        .map_err(NetError::Connect)?;
    loop {
        match socket.finish_connect() {
            Ok((input, output)) => return Ok(Conn::new(socket, input, output)),
            Err(ErrorCode::WouldBlock) => wait(&socket.subscribe(), deadline)?,
            Err(e) => return Err(NetError::Connect(e)),
        }
    }
}

fn socket_address(addr: IpAddress, port: u16) -> IpSocketAddress {
    match addr {
        IpAddress::Ipv4(address) => IpSocketAddress::Ipv4(Ipv4SocketAddress { port, address }),
        IpAddress::Ipv6(address) => IpSocketAddress::Ipv6(Ipv6SocketAddress {
            port,
            flow_info: 0,
            address,
            scope_id: 0,
        }),
    }
}
