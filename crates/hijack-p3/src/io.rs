//! wasi:sockets, wasi:clocks and wasi:random 0.3 for the exchanges: name lookup, connect,
//! listen, a connection's two streams, deadlines. No HTTP.

use crate::component::bindings::wasi::clocks::monotonic_clock;
use crate::component::bindings::wasi::random::random;
use crate::component::bindings::wasi::sockets::ip_name_lookup;
use crate::component::bindings::wasi::sockets::types::{
    IpAddress, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress,
};
use crate::component::bindings::wit_stream;
use crate::error::Error;
use alloc::{borrow::ToOwned, string::String, vec::Vec};
use core::future::{Future, poll_fn};
use core::net::IpAddr;
use core::pin::pin;
use core::task::Poll;
use wit_bindgen::{FutureReader, StreamReader, StreamResult, StreamWriter};

pub use crate::component::bindings::wasi::sockets::ip_name_lookup::ErrorCode as LookupError;
pub use crate::component::bindings::wasi::sockets::types::{ErrorCode, TcpSocket};

/// Most bytes asked for in one read, and copied in one step by `connection.send`.
pub const CHUNK: usize = 64 * 1024;

/// A point on the monotonic clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Deadline(u64);

impl Deadline {
    /// `ms` milliseconds from now.
    pub fn after_ms(ms: u64) -> Self {
        Self(monotonic_clock::now().saturating_add(ms.saturating_mul(1_000_000)))
    }
}

/// `fut`'s output, or [`Error::Timeout`] if `deadline` passes first (`fut` is then dropped,
/// which cancels what it had in flight).
pub async fn within<T>(
    deadline: Deadline,
    fut: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    let mut fut = pin!(fut);
    let mut timer = pin!(monotonic_clock::wait_until(deadline.0));
    poll_fn(|cx| {
        if let Poll::Ready(out) = fut.as_mut().poll(cx) {
            return Poll::Ready(out);
        }
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Error::Timeout)),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

/// Sixteen random bytes (a WebSocket key).
pub fn nonce16() -> [u8; 16] {
    let bytes = random::get_random_bytes(16);
    let mut out = [0u8; 16];
    // The runtime returns exactly the length asked for; a short answer leaves zeros.
    let n = bytes.len().min(16);
    out[..n].copy_from_slice(&bytes[..n]);
    out
}

/// The WASI form of an address.
pub fn ip_address(ip: IpAddr) -> IpAddress {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            IpAddress::Ipv4((a, b, c, d))
        }
        IpAddr::V6(v6) => {
            let [a, b, c, d, e, f, g, h] = v6.segments();
            IpAddress::Ipv6((a, b, c, d, e, f, g, h))
        }
    }
}

fn socket_address(ip: IpAddress, port: u16) -> IpSocketAddress {
    match ip {
        IpAddress::Ipv4(address) => IpSocketAddress::Ipv4(Ipv4SocketAddress { port, address }),
        IpAddress::Ipv6(address) => IpSocketAddress::Ipv6(Ipv6SocketAddress {
            port,
            flow_info: 0,
            address,
            scope_id: 0,
        }),
    }
}

fn family(addr: &IpSocketAddress) -> IpAddressFamily {
    match addr {
        IpSocketAddress::Ipv4(_) => IpAddressFamily::Ipv4,
        IpSocketAddress::Ipv6(_) => IpAddressFamily::Ipv6,
    }
}

/// The addresses of `host`.
pub async fn resolve(host: &str) -> Result<Vec<IpAddress>, Error> {
    let addrs = ip_name_lookup::resolve_addresses(host.to_owned())
        .await
        .map_err(Error::Dns)?;
    if addrs.is_empty() {
        return Err(Error::Dns(LookupError::NameUnresolvable));
    }
    Ok(addrs)
}

/// Connect to the first of `addrs` that answers on `port`; the last refusal otherwise.
pub async fn connect(addrs: Vec<IpAddress>, port: u16) -> Result<Conn, Error> {
    let mut last = ErrorCode::InvalidArgument;
    for ip in addrs {
        let addr = socket_address(ip, port);
        let socket = TcpSocket::create(family(&addr)).map_err(Error::Socket)?;
        match socket.connect(addr).await {
            Ok(()) => return Ok(Conn::new(socket)),
            Err(e) => last = e,
        }
    }
    Err(Error::Connect(last))
}

/// A listening socket and the stream of its connections.
pub fn listen(addr: IpSocketAddress) -> Result<(TcpSocket, StreamReader<TcpSocket>), Error> {
    let socket = TcpSocket::create(family(&addr)).map_err(Error::Socket)?;
    socket.bind(addr).map_err(Error::Socket)?;
    let accepted = socket.listen().map_err(Error::Socket)?;
    Ok((socket, accepted))
}

/// One line for a socket's error code, in the WIT's words.
pub fn describe(code: &ErrorCode) -> String {
    let text = match code {
        ErrorCode::AccessDenied => "access denied",
        ErrorCode::NotSupported => "not supported",
        ErrorCode::InvalidArgument => "invalid argument",
        ErrorCode::OutOfMemory => "out of memory",
        ErrorCode::Timeout => "timeout",
        ErrorCode::InvalidState => "invalid state",
        ErrorCode::AddressNotBindable => "address not bindable",
        ErrorCode::AddressInUse => "address in use",
        ErrorCode::RemoteUnreachable => "remote unreachable",
        ErrorCode::ConnectionRefused => "connection refused",
        ErrorCode::ConnectionBroken => "connection broken",
        ErrorCode::ConnectionReset => "connection reset",
        ErrorCode::ConnectionAborted => "connection aborted",
        ErrorCode::DatagramTooLarge => "datagram too large",
        ErrorCode::Other(Some(text)) => text.lines().next().unwrap_or_default().trim(),
        ErrorCode::Other(None) => "socket error",
    };
    text.to_owned()
}

/// A connected socket and its two streams: the socket's receive stream, and the writing end
/// of the one stream the socket sends (`send` takes a stream once). The `Option`s are spent
/// parts: the sending side after an answer that closes, an outcome once read.
pub struct Conn {
    socket: TcpSocket,
    writer: Option<StreamWriter<u8>>,
    sent: Option<FutureReader<Result<(), ErrorCode>>>,
    reader: StreamReader<u8>,
    received: Option<FutureReader<Result<(), ErrorCode>>>,
}

/// A connection's parts, for the caller to own.
pub struct Parts {
    /// The socket.
    pub socket: TcpSocket,
    /// Writes to the socket.
    pub writer: StreamWriter<u8>,
    /// The socket's send outcome.
    pub sent: FutureReader<Result<(), ErrorCode>>,
    /// The socket's receive stream.
    pub reader: StreamReader<u8>,
    /// Its outcome.
    pub received: FutureReader<Result<(), ErrorCode>>,
}

impl Conn {
    /// Take over a connected socket's streams.
    pub fn new(socket: TcpSocket) -> Self {
        let (writer, outbound) = wit_stream::new::<u8>();
        let sent = socket.send(outbound);
        let (reader, received) = socket.receive();
        Self {
            socket,
            writer: Some(writer),
            sent: Some(sent),
            reader,
            received: Some(received),
        }
    }

    /// Probe after `period_ms` of silence, then every `period_ms` (at least a second).
    pub fn set_keepalive(&self, period_ms: u64) -> Result<(), Error> {
        let ns = period_ms.saturating_mul(1_000_000).max(1_000_000_000);
        self.socket
            .set_keep_alive_enabled(true)
            .and_then(|()| self.socket.set_keep_alive_idle_time(ns))
            .and_then(|()| self.socket.set_keep_alive_interval(ns))
            .map_err(Error::Socket)
    }

    /// The peer's address.
    pub fn remote_address(&self) -> Option<IpSocketAddress> {
        self.socket.get_remote_address().ok()
    }

    /// Append what arrives, at most `max` bytes, to `buf`. `Ok(false)`: the peer closed its
    /// sending side; a connection that failed instead is [`Error::Io`].
    pub async fn read_some(&mut self, buf: &mut Vec<u8>, max: usize) -> Result<bool, Error> {
        let (result, chunk) = self.reader.read(Vec::with_capacity(max.max(1))).await;
        if let StreamResult::Complete(_) = result {
            buf.extend_from_slice(&chunk);
            return Ok(true);
        }
        match self.received.take() {
            Some(received) => match received.await {
                Ok(()) => Ok(false),
                Err(code) => Err(Error::Io(describe(&code))),
            },
            None => Ok(false),
        }
    }

    /// Write all of `bytes`.
    pub async fn write_all(&mut self, bytes: Vec<u8>) -> Result<(), Error> {
        let Some(writer) = self.writer.as_mut() else {
            return Err(Error::Io("connection closed".into()));
        };
        if writer.write_all(bytes).await.is_empty() {
            return Ok(());
        }
        // The socket stopped taking the stream: its send outcome says why.
        Err(match self.sent.take() {
            Some(sent) => match sent.await {
                Err(code) => Error::Io(describe(&code)),
                Ok(()) => Error::Io("connection closed".into()),
            },
            None => Error::Io("connection closed".into()),
        })
    }

    /// After an answer that closes the connection: end the sending side (FIN), then read and
    /// drop what the client still sends, at most `limit` bytes until `deadline`, so that the
    /// kernel does not reset the connection (and the answer with it) over unread bytes.
    pub async fn close_after_answer(mut self, limit: usize, deadline: Deadline) {
        drop(self.writer.take());
        let _ = within(deadline, async {
            let (mut total, mut sink) = (0, Vec::new());
            while total < limit {
                sink.clear();
                if !self.read_some(&mut sink, CHUNK.min(limit - total)).await? {
                    break;
                }
                total += sink.len();
            }
            Ok(())
        })
        .await;
    }

    /// The parts, for the caller to own; `None` if the sending side was already ended.
    pub fn into_parts(self) -> Option<Parts> {
        Some(Parts {
            socket: self.socket,
            writer: self.writer?,
            sent: self.sent?,
            reader: self.reader,
            received: self.received?,
        })
    }
}
