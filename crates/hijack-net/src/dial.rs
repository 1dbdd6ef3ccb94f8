//! Name lookup and connect, each a step that never waits: start it, then call `try_finish`
//! whenever the pollable from `subscribe` is ready.

use super::addr::{family, socket_address};
use super::conn::Conn;
use super::error::NetError;
use alloc::vec::Vec;
use wasip2::io::poll::Pollable;
use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::ip_name_lookup::{ResolveAddressStream, resolve_addresses};
use wasip2::sockets::network::{ErrorCode, IpAddress};
use wasip2::sockets::tcp::TcpSocket;
use wasip2::sockets::tcp_create_socket::create_tcp_socket;

/// A name lookup in progress (wasi:sockets/ip-name-lookup).
pub struct Resolving {
    stream: ResolveAddressStream,
    found: Vec<IpAddress>,
}

impl Resolving {
    /// Start looking up the host name `name`.
    pub fn start(name: &str) -> Result<Self, NetError> {
        let stream = resolve_addresses(&instance_network(), name).map_err(NetError::Dns)?;
        Ok(Self {
            stream,
            found: Vec::new(),
        })
    }

    /// Every address of the name once the runtime has them all; `None` while more may come.
    pub fn try_finish(&mut self) -> Result<Option<Vec<IpAddress>>, NetError> {
        loop {
            match self.stream.resolve_next_address() {
                Ok(Some(addr)) => self.found.push(addr),
                Ok(None) if self.found.is_empty() => {
                    return Err(NetError::Dns(ErrorCode::NameUnresolvable));
                }
                Ok(None) => return Ok(Some(core::mem::take(&mut self.found))),
                Err(ErrorCode::WouldBlock) => return Ok(None),
                Err(e) => return Err(NetError::Dns(e)),
            }
        }
    }

    /// Ready when [`Resolving::try_finish`] may make progress; a child of the lookup.
    pub fn subscribe(&self) -> Pollable {
        self.stream.subscribe()
    }
}

/// A connect in progress: the addresses in turn until one answers.
pub struct Connecting {
    addrs: Vec<IpAddress>,
    port: u16,
    /// The attempt under way, if any.
    socket: Option<TcpSocket>,
    /// The error of the last attempt that failed, reported when none is left.
    last: Option<NetError>,
}

impl Connecting {
    /// Connect to `addrs`, first to last, on `port`. Nothing happens before
    /// [`Connecting::try_finish`].
    pub fn start(mut addrs: Vec<IpAddress>, port: u16) -> Self {
        addrs.reverse();
        Self {
            addrs,
            port,
            socket: None,
            last: None,
        }
    }

    /// The connection once an attempt succeeds; `None` while one is under way; the last
    /// attempt's error when every address failed.
    pub fn try_finish(&mut self) -> Result<Option<Conn>, NetError> {
        loop {
            if let Some(socket) = self.socket.take() {
                match socket.finish_connect() {
                    Ok((input, output)) => return Ok(Some(Conn::new(socket, input, output))),
                    Err(ErrorCode::WouldBlock) => {
                        self.socket = Some(socket);
                        return Ok(None);
                    }
                    Err(e) => self.last = Some(NetError::Connect(e)),
                }
            }
            let Some(ip) = self.addrs.pop() else {
                let none = NetError::Dns(ErrorCode::NameUnresolvable);
                return Err(self.last.take().unwrap_or(none));
            };
            let addr = socket_address(ip, self.port);
            let started = create_tcp_socket(family(&addr)).and_then(|socket| {
                socket.start_connect(&instance_network(), addr)?;
                Ok(socket)
            });
            match started {
                Ok(socket) => self.socket = Some(socket),
                Err(e) => self.last = Some(NetError::Connect(e)),
            }
        }
    }

    /// Ready when [`Connecting::try_finish`] may make progress; a child of the attempt's socket.
    /// `None` before the first attempt starts.
    pub fn subscribe(&self) -> Option<Pollable> {
        self.socket.as_ref().map(TcpSocket::subscribe)
    }
}
