//! The one place where std's socket addresses become wasi:sockets addresses and back.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use wasmtime_wasi::p2::bindings::sockets::network::{
    IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress,
};

/// A std socket address as wasi:sockets spells it.
pub(crate) fn to_wasi(addr: SocketAddr) -> IpSocketAddress {
    match addr {
        SocketAddr::V4(a) => {
            let [x, y, z, w] = a.ip().octets();
            IpSocketAddress::Ipv4(Ipv4SocketAddress {
                port: a.port(),
                address: (x, y, z, w),
            })
        }
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

/// A wasi:sockets socket address as std spells it.
pub(crate) fn from_wasi(addr: IpSocketAddress) -> SocketAddr {
    match addr {
        IpSocketAddress::Ipv4(a) => {
            let (x, y, z, w) = a.address;
            SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(x, y, z, w), a.port))
        }
        IpSocketAddress::Ipv6(a) => {
            let (s0, s1, s2, s3, s4, s5, s6, s7) = a.address;
            SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::new(s0, s1, s2, s3, s4, s5, s6, s7),
                a.port,
                a.flow_info,
                a.scope_id,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip() {
        for a in ["127.0.0.1:80", "[::1]:8080", "[fe80::1%3]:1", "0.0.0.0:0"] {
            let addr: SocketAddr = a.parse().unwrap();
            assert_eq!(from_wasi(to_wasi(addr)), addr, "{a}");
        }
    }
}
