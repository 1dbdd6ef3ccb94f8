//! Shared helpers for the integration tests: one compiled component per test binary, and
//! small loopback peers. Every wait is bounded.

#![allow(dead_code)]

use hijack_host::{HijackError, NetPolicy, Runtime};
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::TcpListener;

/// The bound on every wait in a test.
pub const LIMIT: Duration = Duration::from_secs(20);

/// The embedded component, compiled once for the whole test binary.
pub fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| Runtime::new().expect("compile the component"))
}

/// A loopback listener on a free port.
pub async fn listener() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("local addr");
    (l, addr)
}

/// A policy allowing a connect to `addr` only.
pub fn connect_to(addr: SocketAddr) -> NetPolicy {
    NetPolicy::new().allow_connect(addr)
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
