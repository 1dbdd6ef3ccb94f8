//! The component's client side in wasmtime against native loopback servers: the bytes on the
//! wire, the bytes handed over, and the errors. One test binary, a module per subject:
//!
//! - `handover`: a switch, and the bytes handed over with it, exactly;
//! - `refusals`: answers that do not switch, each its own typed error, the instance living on;
//! - `input`: what is refused before a byte is sent, and what the policy denies;
//! - `errors`: the host's error type, its predicates and its one-line display;
//! - `websocket`: the handshake's key and accept;
//! - `connect`: `CONNECT` tunnels;
//! - `pool`: instances from the pooling allocator.
//!
//! Every wait is bounded (the helpers of `support`).

use crate::support;

mod connect;
mod errors;
mod handover;
mod input;
mod pool;
mod refusals;
mod websocket;

use hijack_host::{ClientOptions, ClientRequest, HijackedStream, Instance, ResponseHead};
use std::net::SocketAddr;
use support::*;
use tokio::net::TcpStream;

/// A `101` to `tcp`, as Docker's daemon sends it.
pub(crate) const SWITCH: &[u8] = b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n";

/// What a dial gives back.
pub(crate) type Dialed = Result<(ResponseHead, HijackedStream), hijack_host::Error>;

/// A server for one connection: reads the request head, then runs `reply` on the socket;
/// the task returns the head.
pub(crate) async fn serve_once<F, Fut>(
    reply: F,
) -> (SocketAddr, tokio::task::JoinHandle<anyhow::Result<Vec<u8>>>)
where
    F: FnOnce(TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let (listener, addr) = listener().await;
    let task = tokio::spawn(async move {
        let (mut s, _) = accept_tcp(&listener).await;
        s.set_nodelay(true)?;
        let head = read_head(&mut s).await;
        reply(s).await?;
        Ok(head)
    });
    (addr, task)
}

/// `request` with `options` from `instance`, bounded by [`LIMIT`].
pub(crate) async fn dial_on(
    instance: &mut Instance,
    addr: SocketAddr,
    request: ClientRequest,
    options: ClientOptions,
) -> Dialed {
    bounded(instance.dial(&addr.to_string(), request, options)).await
}

/// `GET /` asking for `tcp` from `instance`.
pub(crate) async fn get(instance: &mut Instance, addr: SocketAddr) -> Dialed {
    dial_on(
        instance,
        addr,
        ClientRequest::new("GET", "/", "tcp"),
        Default::default(),
    )
    .await
}

/// `request` with `options`, from a fresh instance allowed to reach `addr` only.
pub(crate) async fn dial_request_with(
    addr: SocketAddr,
    request: ClientRequest,
    options: ClientOptions,
) -> Dialed {
    let mut instance = runtime()
        .instantiate(connect_to(addr))
        .await
        .expect("instantiate");
    dial_on(&mut instance, addr, request, options).await
}

/// `request` from a fresh instance allowed to reach `addr` only.
pub(crate) async fn dial_with_request(addr: SocketAddr, request: ClientRequest) -> Dialed {
    dial_request_with(addr, request, Default::default()).await
}

/// `GET /` asking for `protocol`, from a fresh instance allowed to reach `addr` only.
pub(crate) async fn dial_with(addr: SocketAddr, protocol: &str, options: ClientOptions) -> Dialed {
    dial_request_with(addr, ClientRequest::new("GET", "/", protocol), options).await
}

/// [`dial_with`] the default options.
pub(crate) async fn dial_default(addr: SocketAddr, protocol: &str) -> Dialed {
    dial_with(addr, protocol, Default::default()).await
}
