//! Native host for the wasi-hijack component.
//!
//! Embeds wasmtime 48 and the component (built by this crate's build script, never
//! committed), grants the network by a [`NetPolicy`], calls the component's client or server,
//! and turns the connection it hands back into a [`HijackedStream`]: a tokio `AsyncRead +
//! AsyncWrite` that yields the buffered bytes first, then the socket.
//!
//! The host never parses HTTP: the component does the exchange; the host only moves bytes
//! after the handoff.
//!
//! ```no_run
//! # async fn demo() -> Result<(), hijack_host::Error> {
//! use hijack_host::{ClientRequest, NetPolicy, Runtime};
//! use tokio::io::AsyncWriteExt;
//! let addr = "127.0.0.1:2375".parse().unwrap();
//! let runtime = Runtime::new()?;
//! let mut instance = runtime.instantiate(NetPolicy::new().allow_connect(addr)).await?;
//! let request = ClientRequest::new("POST", "/containers/x/attach?stream=1&stdin=1", "tcp");
//! let (head, mut conn) = instance.dial("127.0.0.1:2375", request, Default::default()).await?;
//! assert_eq!(head.status, 101);
//! conn.write_all(b"ls\n").await.ok();
//! # Ok(()) }
//! ```

#![deny(missing_docs)]
#![deny(unsafe_code)]

mod bindings;
mod error;
mod policy;
mod stream;

pub use bindings::exports::hijack::http::client::{
    Options as ClientOptions, Request as ClientRequest,
};
pub use bindings::exports::hijack::http::types::{
    Error as HijackError, Header, Limits, Refusal, RequestHead, ResponseHead,
};
pub use error::{Error, describe};
pub use policy::{NetPolicy, is_ip_literal};
pub use stream::HijackedStream;
pub use wasmtime_wasi::p2::bindings::sockets::network::ErrorCode;

use bindings::exports::hijack::http::types::Hijacked;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::sync::Arc;
use wasmtime::component::{Component, Linker, ResourceAny, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::p2::bindings::sockets::network::{
    IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress,
};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// The component, as built by `build.rs` from the workspace's root package.
pub const COMPONENT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/hijack.wasm"));

/// The store's data: the WASI context and the resource table.
pub struct State {
    ctx: WasiCtx,
    table: ResourceTable,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

/// The engine and the compiled, linked component: made once, instantiated many times.
#[derive(Clone)]
pub struct Runtime {
    engine: Engine,
    pre: bindings::HijackPre<State>,
}

impl Runtime {
    /// Compile the embedded component.
    pub fn new() -> Result<Self, Error> {
        Self::from_bytes(COMPONENT)
    }

    /// Compile a component given as bytes (the embedded one, or one composed from it).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let engine = Engine::new(&Config::new())?;
        let component = Component::new(&engine, bytes)?;
        let mut linker = Linker::<State>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        let pre = bindings::HijackPre::new(linker.instantiate_pre(&component)?)?;
        Ok(Self { engine, pre })
    }

    /// A fresh instance with the network granted by `policy` and nothing else.
    pub async fn instantiate(&self, policy: NetPolicy) -> Result<Instance, Error> {
        let mut builder = WasiCtx::builder();
        builder
            .allow_tcp(policy.any_tcp())
            .allow_udp(false)
            .allow_ip_name_lookup(policy.name_lookup());
        let policy = Arc::new(policy);
        builder.socket_addr_check(move |addr, usage| {
            let ok = policy.allows(addr, usage);
            Box::pin(async move { ok })
        });
        let state = State {
            ctx: builder.build(),
            table: ResourceTable::new(),
        };
        let mut store = Store::new(&self.engine, state);
        let bindings = self.pre.instantiate_async(&mut store).await?;
        Ok(Instance { store, bindings })
    }
}

/// One instance of the component and its store.
pub struct Instance {
    store: Store<State>,
    bindings: bindings::Hijack,
}

/// A listening socket owned by the component.
pub struct Listener {
    resource: ResourceAny,
    /// The address the listener is bound to (the real port when asked for port 0).
    pub local_addr: SocketAddr,
}

/// A request whose head the component has read, waiting for an answer.
pub struct Incoming {
    resource: ResourceAny,
    /// The request head.
    pub head: RequestHead,
    /// The protocols the client offered (empty for HTTP/1.0 or without `Connection: upgrade`).
    pub protocols: Vec<String>,
    /// The client's address.
    pub remote_addr: SocketAddr,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            connect_timeout_ms: None,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_head_bytes: None,
            max_headers: None,
            head_timeout_ms: None,
        }
    }
}

impl ClientRequest {
    /// A request with no extra headers and no body.
    pub fn new(method: &str, target: &str, upgrade: &str) -> Self {
        Self {
            method: method.into(),
            target: target.into(),
            upgrade: upgrade.into(),
            headers: Vec::new(),
            body: None,
        }
    }
}

impl Header {
    /// A header from a name and a value.
    pub fn new(name: &str, value: impl Into<Vec<u8>>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }
}

impl Instance {
    /// The client side: dial `authority`, ask to switch to `request.upgrade`, and on a
    /// validated `101` return the response head and the connection.
    pub async fn dial(
        &mut self,
        authority: &str,
        request: ClientRequest,
        options: ClientOptions,
    ) -> Result<(ResponseHead, HijackedStream), Error> {
        let client = self.bindings.hijack_http_client();
        let (head, hijacked) = client
            .call_hijack(&mut self.store, authority, &request, options)
            .await??;
        let stream = self.take(hijacked)?;
        Ok((head, stream))
    }

    /// The server side: bind and listen on `addr`.
    pub async fn listen(&mut self, addr: SocketAddr, limits: Limits) -> Result<Listener, Error> {
        let guest = self.bindings.hijack_http_server().listener();
        let resource = guest
            .call_bind(&mut self.store, socket_address_in(addr), limits)
            .await??;
        let local = guest
            .call_local_address(&mut self.store, resource)
            .await??;
        Ok(Listener {
            resource,
            local_addr: socket_address_out(local),
        })
    }

    /// The next connection whose request head is complete.
    pub async fn accept(&mut self, listener: &Listener) -> Result<Incoming, Error> {
        let server = self.bindings.hijack_http_server();
        let resource = server
            .listener()
            .call_accept(&mut self.store, listener.resource)
            .await??;
        let incoming = server.incoming();
        let head = incoming.call_head(&mut self.store, resource).await?;
        let protocols = incoming
            .call_upgrade_protocols(&mut self.store, resource)
            .await?;
        let remote = incoming
            .call_remote_address(&mut self.store, resource)
            .await?;
        Ok(Incoming {
            resource,
            head,
            protocols,
            remote_addr: socket_address_out(remote),
        })
    }

    /// Answer `101` switching to `protocol`, and take the connection; `incoming` is released
    /// whatever the outcome. On an error the component has closed the connection (or, for
    /// `invalid-input`, sent nothing).
    pub async fn hijack(
        &mut self,
        incoming: Incoming,
        protocol: &str,
        headers: Vec<Header>,
    ) -> Result<HijackedStream, Error> {
        let result = self.try_hijack(&incoming, protocol, headers).await;
        self.release(incoming).await?;
        result
    }

    /// As [`Instance::hijack`], but `incoming` stays with the caller: after an
    /// `invalid-input` error it can still be answered. Release it with [`Instance::release`].
    pub async fn try_hijack(
        &mut self,
        incoming: &Incoming,
        protocol: &str,
        headers: Vec<Header>,
    ) -> Result<HijackedStream, Error> {
        let guest = self.bindings.hijack_http_server().incoming();
        let hijacked = guest
            .call_hijack(&mut self.store, incoming.resource, protocol, &headers)
            .await??;
        self.take(hijacked)
    }

    /// Answer without switching (the component adds `Content-Length` and `Connection:
    /// close`), then close; `incoming` is released whatever the outcome.
    pub async fn respond(
        &mut self,
        incoming: Incoming,
        response: ResponseHead,
        body: &[u8],
    ) -> Result<(), Error> {
        let result = self.try_respond(&incoming, response, body).await;
        self.release(incoming).await?;
        result
    }

    /// As [`Instance::respond`], but `incoming` stays with the caller.
    pub async fn try_respond(
        &mut self,
        incoming: &Incoming,
        response: ResponseHead,
        body: &[u8],
    ) -> Result<(), Error> {
        let guest = self.bindings.hijack_http_server().incoming();
        Ok(guest
            .call_respond(&mut self.store, incoming.resource, &response, body)
            .await??)
    }

    /// Drop a request (closing its connection unless it was hijacked).
    pub async fn release(&mut self, incoming: Incoming) -> Result<(), Error> {
        incoming
            .resource
            .resource_drop_async(&mut self.store)
            .await?;
        Ok(())
    }

    /// Close a listener.
    pub async fn close(&mut self, listener: Listener) -> Result<(), Error> {
        listener
            .resource
            .resource_drop_async(&mut self.store)
            .await?;
        Ok(())
    }

    /// Take the handed-over handles out of the table: the streams first (they are the
    /// socket's children), then the socket, which is dropped so that the output stream is the
    /// last owner of the sending side.
    fn take(&mut self, h: Hijacked) -> Result<HijackedStream, Error> {
        let table = &mut self.store.data_mut().table;
        let input = table.delete(h.input)?;
        let output = table.delete(h.output)?;
        drop(table.delete(h.socket)?);
        Ok(HijackedStream::new(h.buffered, input, output))
    }
}

fn socket_address_in(addr: SocketAddr) -> IpSocketAddress {
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

fn socket_address_out(addr: IpSocketAddress) -> SocketAddr {
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
    #[test]
    fn the_embedded_component_is_within_its_size_budget() {
        // The product promise: the release component is at most 150 KiB.
        assert!(super::COMPONENT.starts_with(b"\0asm"));
        assert!(
            super::COMPONENT.len() <= 150 * 1024,
            "component is {} bytes",
            super::COMPONENT.len()
        );
    }
}
