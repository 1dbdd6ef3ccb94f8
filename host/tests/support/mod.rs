//! What the host crate's integration tests share (`tests/main.rs`'s modules). Every wait a test makes goes through a helper here that bounds it: a
//! regression fails in seconds, it never hangs.
//!
//! - here: the shared bound [`LIMIT`], the component compiled once per run, tokio loopback
//!   peers and bounded async waits ([`bounded`], [`join`], [`accept_tcp`], [`connect_tcp`], the
//!   reads), and an address that refuses connections for sure ([`refused`]);
//! - [`blocking`]: the same on std sockets and threads, for the tests that drive processes;
//! - `process`: processes run, watched and killed within a bound ([`Proc`], [`run_bounded`],
//!   [`listening`]);
//! - `composed`: the composed examples and the runtimes that run them ([`Runner`]), and the
//!   native peers they are driven against ([`http_server`], [`curl_through`]);
//! - [`tls`]: certificates made at run time and the Python TLS peers;
//! - [`docker`]: a real dockerd of the test's own.

#![allow(dead_code, unused_imports)]

pub mod blocking;
mod composed;
pub mod docker;
mod process;
pub mod tls;

pub use composed::*;
pub use process::*;

use hijack_host::{HijackError, NetPolicy, Runtime};
use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::panic::Location;
use std::sync::OnceLock;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::{TcpListener, TcpStream};

/// The bound on every wait in a test.
pub const LIMIT: Duration = Duration::from_secs(20);

/// The embedded component, loaded once for the whole test binary from a compile cache in
/// cargo's scratch directory for integration tests: the component is compiled to machine code
/// once per build, not once per run.
pub fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("hijack-cache");
        Runtime::cached(&cache).expect("compile the component")
    })
}

/// A loopback listener on a port the kernel picked, held for as long as the test holds it.
pub async fn listener() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("local addr");
    (l, addr)
}

/// A policy allowing a connect to `addr` only.
pub fn connect_to(addr: SocketAddr) -> NetPolicy {
    NetPolicy::new().allow_connect(addr)
}

/// `fut`, bounded by [`LIMIT`]: one that is not done by then fails the test, naming the
/// caller's line.
#[track_caller]
pub fn bounded<F: IntoFuture>(fut: F) -> impl Future<Output = F::Output> {
    let at = Location::caller();
    async move {
        tokio::time::timeout(LIMIT, fut)
            .await
            .unwrap_or_else(|_| panic!("not done within {LIMIT:?} (the wait at {at})"))
    }
}

/// What a spawned task returned, bounded by [`LIMIT`]; its panic is the test's.
#[track_caller]
pub fn join<T>(task: tokio::task::JoinHandle<T>) -> impl Future<Output = T> {
    let at = Location::caller();
    async move {
        match tokio::time::timeout(LIMIT, task).await {
            Ok(Ok(value)) => value,
            Ok(Err(e)) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Ok(Err(e)) => panic!("the task at {at} was cancelled: {e}"),
            Err(_) => panic!("the task joined at {at} did not end within {LIMIT:?}"),
        }
    }
}

/// The next connection on `l`, bounded by [`LIMIT`].
#[track_caller]
pub fn accept_tcp(l: &TcpListener) -> impl Future<Output = (TcpStream, SocketAddr)> + '_ {
    let at = Location::caller();
    async move {
        match tokio::time::timeout(LIMIT, l.accept()).await {
            Ok(Ok(accepted)) => accepted,
            Ok(Err(e)) => panic!("accept at {at}: {e}"),
            Err(_) => panic!("no connection within {LIMIT:?} (the accept at {at})"),
        }
    }
}

/// A connection to `addr`, bounded by [`LIMIT`].
#[track_caller]
pub fn connect_tcp(addr: SocketAddr) -> impl Future<Output = TcpStream> {
    let at = Location::caller();
    async move {
        match tokio::time::timeout(LIMIT, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => panic!("connect to {addr} at {at}: {e}"),
            Err(_) => panic!("no connection to {addr} within {LIMIT:?} (at {at})"),
        }
    }
}

/// Read until `\r\n\r\n` (inclusive) or EOF, bounded by [`LIMIT`].
pub async fn read_head<R: AsyncRead + Unpin>(r: &mut R) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    tokio::time::timeout(LIMIT, async {
        while !buf.ends_with(b"\r\n\r\n") {
            match r.read(&mut byte).await {
                Ok(1) => buf.push(byte[0]),
                _ => break,
            }
        }
    })
    .await
    .expect("head within the limit");
    buf
}

/// Read exactly `n` bytes, bounded by [`LIMIT`].
pub async fn read_exact<R: AsyncRead + Unpin>(r: &mut R, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    tokio::time::timeout(LIMIT, r.read_exact(&mut buf))
        .await
        .expect("bytes within the limit")
        .expect("read_exact");
    buf
}

/// Read to EOF, bounded by [`LIMIT`].
pub async fn read_to_end<R: AsyncRead + Unpin>(r: &mut R) -> Vec<u8> {
    let mut buf = Vec::new();
    tokio::time::timeout(LIMIT, r.read_to_end(&mut buf))
        .await
        .expect("EOF within the limit")
        .expect("read_to_end");
    buf
}

/// The component's typed error from an exchange that must fail.
pub fn typed_err<T>(result: Result<T, hijack_host::Error>) -> HijackError {
    match result {
        Ok(_) => panic!("the exchange succeeded"),
        Err(e) => e
            .hijack()
            .cloned()
            .unwrap_or_else(|| panic!("not the component's error: {e}")),
    }
}

/// A loopback address that refuses every connection, for as long as it is held: a socket
/// bound to it without listening. Nothing else can take the port meanwhile (the socket has no
/// `SO_REUSEADDR`), so a connect there is refused for sure, unlike one to a port that was
/// free a moment ago.
pub struct Refused {
    /// Where connects are refused.
    pub addr: SocketAddr,
    _bound: socket2::Socket,
}

/// A fresh [`Refused`] address on 127.0.0.1.
pub fn refused() -> Refused {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    socket
        .bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .expect("bind");
    let addr = socket
        .local_addr()
        .expect("local addr")
        .as_socket()
        .expect("an IP address");
    Refused {
        addr,
        _bound: socket,
    }
}
