//! The one place where core's IP addresses (`core::net`) become wasi:sockets addresses and
//! back.

use core::net::{IpAddr, SocketAddr, SocketAddrV4, SocketAddrV6};
use wasip2::sockets::network::{
    IpAddress, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress,
};

/// A `core::net` IP address as wasi:sockets spells it.
pub fn ip_address(ip: IpAddr) -> IpAddress {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            IpAddress::Ipv4((a, b, c, d))
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddress::Ipv6((s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]))
        }
    }
}

/// An address and a port as one socket address (no flow info, no scope).
pub fn socket_address(addr: IpAddress, port: u16) -> IpSocketAddress {
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

/// The family a socket for `addr` must be created with.
pub fn family(addr: &IpSocketAddress) -> IpAddressFamily {
    match addr {
        IpSocketAddress::Ipv4(_) => IpAddressFamily::Ipv4,
        IpSocketAddress::Ipv6(_) => IpAddressFamily::Ipv6,
    }
}

/// A `core::net` socket address as wasi:sockets spells it (flow info and scope kept).
pub fn to_wasi(addr: SocketAddr) -> IpSocketAddress {
    match addr {
        SocketAddr::V4(a) => socket_address(ip_address(IpAddr::V4(*a.ip())), a.port()),
        SocketAddr::V6(a) => {
            let s = a.ip().segments();
            IpSocketAddress::Ipv6(Ipv6SocketAddress {
                port: a.port(),
                flow_info: a.flowinfo(),
                address: (s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]),
                scope_id: a.scope_id(),
            })
        }
    }
}

/// A wasi:sockets socket address as `core::net` spells it (prints as `IP:PORT`, IPv6 in
/// brackets).
pub fn to_core(addr: IpSocketAddress) -> SocketAddr {
    match addr {
        IpSocketAddress::Ipv4(a) => {
            let (x, y, z, w) = a.address;
            SocketAddr::V4(SocketAddrV4::new([x, y, z, w].into(), a.port))
        }
        IpSocketAddress::Ipv6(a) => {
            let (p, q, r, s, t, u, v, w) = a.address;
            SocketAddr::V6(SocketAddrV6::new(
                [p, q, r, s, t, u, v, w].into(),
                a.port,
                a.flow_info,
                a.scope_id,
            ))
        }
    }
}
