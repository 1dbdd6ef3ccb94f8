//! Reaching a tunnel's target: directly (name lookup and connect with wasi:sockets, every
//! step without waiting), or through another CONNECT proxy with the hijack component's
//! `start-hijack`.

use hijack_guest::client::PendingHijack;
use hijack_guest::to_wasi;
use hijack_guest::types::Error;
use wasip2::clocks::monotonic_clock::{self, Instant};
use wasip2::io::poll::Pollable;
use wasip2::io::streams::{InputStream, OutputStream};
use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::ip_name_lookup::{ResolveAddressStream, resolve_addresses};
use wasip2::sockets::network::{
    ErrorCode, IpAddress, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress,
};
use wasip2::sockets::tcp::TcpSocket;
use wasip2::sockets::tcp_create_socket::create_tcp_socket;

/// How long a direct dial (lookup and connect) may take.
const CONNECT_TIMEOUT_NS: u64 = 10_000_000_000;

/// A connection to the target: socket, streams, and bytes already read from it.
pub struct Upstream {
    pub socket: TcpSocket,
    pub input: InputStream,
    pub output: OutputStream,
    pub early: Vec<u8>,
}

/// Why the target could not be reached, as the proxy answers it.
pub enum Failure {
    /// `502 Bad Gateway`, with a line saying why.
    BadGateway(String),
    /// `504 Gateway Timeout`.
    Timeout,
}

/// A dial in progress.
pub enum Dial {
    /// Looking up the target's name.
    Resolving {
        lookup: ResolveAddressStream,
        found: Vec<IpAddress>,
        port: u16,
        deadline: Instant,
    },
    /// Connecting to `addrs` in turn (the last first); `socket` is the attempt under way.
    Connecting {
        addrs: Vec<IpSocketAddress>,
        socket: Option<TcpSocket>,
        last: ErrorCode,
        deadline: Instant,
    },
    /// Through another proxy: the hijack component runs the CONNECT exchange.
    Via(PendingHijack),
}

/// What a dial may do now.
pub enum Progress {
    /// Wait on these pollables (children of the dial's handles; drop them before `advance`).
    Wait(Vec<Pollable>),
    Connected(Upstream),
    Failed(Failure),
}

impl Dial {
    /// Start dialing `host:port` directly.
    pub fn direct(host: &str, port: u16) -> Result<Self, Failure> {
        let deadline = monotonic_clock::now() + CONNECT_TIMEOUT_NS;
        let ip = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = ip.parse::<std::net::IpAddr>() {
            return Ok(Self::Connecting {
                addrs: vec![to_wasi(std::net::SocketAddr::new(ip, port))],
                socket: None,
                last: ErrorCode::ConnectionRefused,
                deadline,
            });
        }
        let lookup = resolve_addresses(&instance_network(), host)
            .map_err(|e| Failure::BadGateway(format!("name lookup failed: {}", e.name())))?;
        Ok(Self::Resolving {
            lookup,
            found: Vec::new(),
            port,
            deadline,
        })
    }

    /// Go as far as possible without waiting.
    pub fn advance(&mut self) -> Progress {
        loop {
            match self {
                Self::Resolving {
                    lookup,
                    found,
                    port,
                    deadline,
                } => match lookup.resolve_next_address() {
                    Ok(Some(addr)) => found.push(addr),
                    Ok(None) if found.is_empty() => {
                        return failed("name lookup failed: no address".into());
                    }
                    Ok(None) => {
                        let addrs = found.drain(..).rev();
                        *self = Self::Connecting {
                            addrs: addrs.map(|ip| socket_address(ip, *port)).collect(),
                            socket: None,
                            last: ErrorCode::ConnectionRefused,
                            deadline: *deadline,
                        };
                    }
                    Err(ErrorCode::WouldBlock) => {
                        return wait(lookup.subscribe(), *deadline);
                    }
                    Err(e) => return failed(format!("name lookup failed: {}", e.name())),
                },
                Self::Connecting {
                    addrs,
                    socket,
                    last,
                    deadline,
                } => {
                    if let Some(s) = socket.take() {
                        match s.finish_connect() {
                            Ok((input, output)) => {
                                return Progress::Connected(Upstream {
                                    socket: s,
                                    input,
                                    output,
                                    early: Vec::new(),
                                });
                            }
                            Err(ErrorCode::WouldBlock) => {
                                let p = s.subscribe();
                                *socket = Some(s);
                                return wait(p, *deadline);
                            }
                            Err(e) => *last = e,
                        }
                    }
                    let Some(addr) = addrs.pop() else {
                        return failed(format!("connect failed: {}", last.name()));
                    };
                    let family = match addr {
                        IpSocketAddress::Ipv4(_) => IpAddressFamily::Ipv4,
                        IpSocketAddress::Ipv6(_) => IpAddressFamily::Ipv6,
                    };
                    match create_tcp_socket(family).and_then(|s| {
                        s.start_connect(&instance_network(), addr)?;
                        Ok(s)
                    }) {
                        Ok(s) => *socket = Some(s),
                        Err(e) => *last = e,
                    }
                }
                Self::Via(pending) => {
                    return match pending.finish() {
                        Ok((_, h)) => Progress::Connected(Upstream {
                            socket: h.socket,
                            input: h.input,
                            output: h.output,
                            early: h.buffered,
                        }),
                        Err(Error::WouldBlock) => Progress::Wait(pending.subscribe()),
                        Err(Error::Timeout) => Progress::Failed(Failure::Timeout),
                        Err(Error::NotSwitched(r)) => failed(format!(
                            "the next proxy answered {} {}",
                            r.head.status, r.head.reason
                        )),
                        Err(e) => failed(format!("the next proxy: {e:?}")),
                    };
                }
            }
        }
    }
}

/// Wait on `p`, or fail once `deadline` has passed (a clock pollable wakes the proxy then).
fn wait(p: Pollable, deadline: Instant) -> Progress {
    if monotonic_clock::now() >= deadline {
        return Progress::Failed(Failure::Timeout);
    }
    Progress::Wait(vec![p, monotonic_clock::subscribe_instant(deadline)])
}

fn failed(why: String) -> Progress {
    Progress::Failed(Failure::BadGateway(why))
}

/// `addr:port` as wasi:sockets has it.
fn socket_address(addr: IpAddress, port: u16) -> IpSocketAddress {
    match addr {
        IpAddress::Ipv4(address) => IpSocketAddress::Ipv4(Ipv4SocketAddress { port, address }),
        IpAddress::Ipv6(address) => IpSocketAddress::Ipv6(Ipv6SocketAddress {
            port,
            address,
            flow_info: 0,
            scope_id: 0,
        }),
    }
}
