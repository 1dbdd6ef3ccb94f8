//! One instance of the component and the handles it gives out: the client call, and the
//! server's listeners and incoming requests.
//!
//! [`Listener`] and [`Incoming`] name resources that live inside the component. Dropping one
//! without handing it back cannot call into the store (a `Drop` has no store and cannot
//! await), so it leaves the handle in a queue the [`Instance`] shares with it; the instance
//! releases every queued handle at the start of its next call (or when it is dropped itself).
//! Nothing is leaked, and the connection of a dropped [`Incoming`] is closed by then.

use crate::addr;
use crate::bindings::exports::hijack::http::client::{
    Options as ClientOptions, Request as ClientRequest,
};
use crate::bindings::exports::hijack::http::server::ListenOptions;
use crate::bindings::exports::hijack::http::tls_client::{self, HijackedTls, TlsOptions};
use crate::bindings::exports::hijack::http::types::{Header, Hijacked, RequestHead, ResponseHead};
use crate::bindings::exports::hijack::http::{client, server};
use crate::error::Error;
use crate::policy::NetPolicy;
use crate::sockets::{self, NativeStream, TcpSocket};
use crate::stream::HijackedStream;
use crate::tls::{self, Session};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use wasmtime::Store;
use wasmtime::component::{InstancePre, ResourceAny, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// The store's data: the WASI context, the resource table and the instance's grants.
pub struct State {
    ctx: WasiCtx,
    table: ResourceTable,
    policy: Arc<NetPolicy>,
    /// The policy's TLS configuration, resolved once.
    tls: Arc<rustls::ClientConfig>,
}

impl State {
    /// An instance's data before its first call: `ctx` and the grants it was built from.
    pub(crate) fn new(ctx: WasiCtx, policy: Arc<NetPolicy>) -> Self {
        let tls = policy.tls_config().client;
        Self {
            ctx,
            table: ResourceTable::new(),
            policy,
            tls,
        }
    }

    /// Test hook: the data of a store that runs a WASI command (not the component) under
    /// `policy`, its TCP the host's own once
    /// [`add_tcp_to_linker`](crate::runtime::add_tcp_to_linker) is applied. For
    /// `host/tests/tcp_conformance.rs`; not part of the supported API.
    #[doc(hidden)]
    pub fn for_command(ctx: WasiCtx, policy: NetPolicy) -> Self {
        Self::new(ctx, Arc::new(policy))
    }

    /// The view the host's own TCP (`sockets/`) works on: the table and the grants.
    pub(crate) fn tcp(&mut self) -> sockets::TcpView<'_> {
        sockets::TcpView {
            table: &mut self.table,
            policy: &self.policy,
        }
    }
}

impl State {
    /// The view the host's own TLS (`tls/`) works on: the table and the trust.
    pub(crate) fn tls(&mut self) -> tls::TlsView<'_> {
        tls::TlsView {
            table: &mut self.table,
            config: &self.tls,
        }
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

/// Where each exported function sits in the component, found once at link time and shared by
/// every instance; an [`Instance`] loads an interface's functions from these when it first
/// calls one.
pub(crate) struct Exports {
    client: client::GuestIndices,
    server: server::GuestIndices,
    /// Absent from a component of the world `hijack` (one composed from it, say).
    tls_client: Option<tls_client::GuestIndices>,
}

impl Exports {
    /// Find the exports in a linked component.
    pub(crate) fn new(pre: &InstancePre<State>) -> wasmtime::Result<Self> {
        Ok(Self {
            client: client::GuestIndices::new(pre)?,
            server: server::GuestIndices::new(pre)?,
            tls_client: tls_client::GuestIndices::new(pre).ok(),
        })
    }
}

/// Handles dropped by their owner, waiting to be released in the store.
type Dropped = Arc<Mutex<Vec<ResourceAny>>>;

/// A component resource that goes back to its instance's queue when dropped.
struct Handle {
    resource: Option<ResourceAny>,
    dropped: Dropped,
}

impl Handle {
    fn resource(&self) -> ResourceAny {
        self.resource
            .expect("a handle holds its resource until it is dropped")
    }

    fn take(mut self) -> ResourceAny {
        self.resource
            .take()
            .expect("a handle holds its resource until it is dropped")
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        if let Some(resource) = self.resource.take() {
            // A poisoned lock only means another thread panicked while pushing: the list
            // itself is still a list.
            let mut dropped = self.dropped.lock().unwrap_or_else(|e| e.into_inner());
            dropped.push(resource);
        }
    }
}

/// What `slot` holds, `load`ed into it the first time.
fn once<G: Clone>(
    slot: &mut Option<G>,
    load: impl FnOnce() -> wasmtime::Result<G>,
) -> Result<G, Error> {
    if let Some(loaded) = slot {
        return Ok(loaded.clone());
    }
    let loaded = load()?;
    *slot = Some(loaded.clone());
    Ok(loaded)
}

/// One instance of the component and its store.
pub struct Instance {
    store: Store<State>,
    instance: wasmtime::component::Instance,
    exports: Arc<Exports>,
    /// Each exported interface's functions, type-checked on its first use (that check costs
    /// microseconds, and a per-request instance often uses only one side).
    client: Option<client::Guest>,
    server: Option<server::Guest>,
    tls_client: Option<tls_client::Guest>,
    dropped: Dropped,
}

/// A listening socket owned by the component.
///
/// Dropping it closes the listening socket and every connection whose head is still being
/// read (at the instance's next call); [`Incoming`]s already accepted stay usable.
#[must_use = "dropping a Listener closes it; keep it to accept connections"]
pub struct Listener {
    handle: Handle,
    /// The address the listener is bound to (the real port when asked for port 0).
    pub local_addr: SocketAddr,
}

/// A request whose head the component has read, waiting for an answer.
///
/// Answer it with [`Instance::hijack`] or [`Instance::respond`]. Dropping it closes its
/// connection (at the instance's next call).
#[must_use = "dropping an Incoming closes its connection unanswered; answer it with hijack or respond"]
pub struct Incoming {
    handle: Handle,
    /// The request head.
    pub head: RequestHead,
    /// The protocols the client offered (empty for HTTP/1.0 or without `Connection: upgrade`).
    pub protocols: Vec<String>,
    /// The client's address, if the runtime could tell.
    pub remote_addr: Option<SocketAddr>,
    /// The `host:port` a `CONNECT` request asks a tunnel to (answer with
    /// [`Instance::tunnel`]); `None` for other methods.
    pub connect_target: Option<String>,
}

impl Instance {
    pub(crate) fn new(
        store: Store<State>,
        instance: wasmtime::component::Instance,
        exports: Arc<Exports>,
    ) -> Self {
        Self {
            store,
            instance,
            exports,
            client: None,
            server: None,
            tls_client: None,
            dropped: Arc::default(),
        }
    }

    /// The client side: dial `authority`, ask to switch to `request.upgrade`, and on a
    /// validated `101` return the response head and the connection.
    pub async fn dial(
        &mut self,
        authority: &str,
        request: ClientRequest,
        options: ClientOptions,
    ) -> Result<(ResponseHead, HijackedStream), Error> {
        self.release_dropped().await?;
        let client = self.client()?;
        let (head, hijacked) = client
            .call_dial(&mut self.store, authority, &request, options)
            .await??;
        let stream = self.take(hijacked).await?;
        Ok((head, stream))
    }

    /// [`Instance::dial`] over TLS (`https`, `wss`): connect to `authority` (or through
    /// `tls.proxy`'s CONNECT tunnel), run the TLS handshake with the trust of the instance's
    /// [`NetPolicy`], then the same exchange over it. The stream handed back is a TLS session
    /// on the native socket.
    pub async fn dial_tls(
        &mut self,
        authority: &str,
        request: ClientRequest,
        options: ClientOptions,
        tls: TlsOptions,
    ) -> Result<(ResponseHead, HijackedStream), Error> {
        self.release_dropped().await?;
        let client = self.tls_client()?;
        let (head, hijacked) = client
            .call_dial(&mut self.store, authority, &request, options, &tls)
            .await??;
        let stream = self.take_tls(hijacked).await?;
        Ok((head, stream))
    }

    /// The server side: bind and listen on `addr`, with `options` for every request head
    /// (a [`Limits`](crate::Limits) converts into them, with the default number of heads read
    /// at once).
    pub async fn listen(
        &mut self,
        addr: SocketAddr,
        options: impl Into<ListenOptions>,
    ) -> Result<Listener, Error> {
        self.release_dropped().await?;
        let server = self.server()?;
        let guest = server.listener();
        let resource = guest
            .call_bind(&mut self.store, addr::to_wasi(addr), options.into())
            .await??;
        let handle = self.handle(resource);
        let local = guest
            .call_local_address(&mut self.store, handle.resource())
            .await??;
        Ok(Listener {
            handle,
            local_addr: addr::from_wasi(local),
        })
    }

    /// The next connection whose request head is complete.
    pub async fn accept(&mut self, listener: &Listener) -> Result<Incoming, Error> {
        self.release_dropped().await?;
        let server = self.server()?;
        let (resource, request) = server
            .listener()
            .call_accept(&mut self.store, listener.handle.resource())
            .await??;
        Ok(Incoming {
            handle: self.handle(resource),
            head: request.head,
            protocols: request.upgrade_protocols,
            remote_addr: request.remote_address.map(addr::from_wasi),
            connect_target: request.connect_target,
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
    /// `invalid-input` error it can still be answered.
    pub async fn try_hijack(
        &mut self,
        incoming: &Incoming,
        protocol: &str,
        headers: Vec<Header>,
    ) -> Result<HijackedStream, Error> {
        self.release_dropped().await?;
        let server = self.server()?;
        let guest = server.incoming();
        let hijacked = guest
            .call_hijack(
                &mut self.store,
                incoming.handle.resource(),
                protocol,
                &headers,
            )
            .await??;
        self.take(hijacked).await
    }

    /// Answer a `CONNECT` with `200 Connection Established` and take the connection (the
    /// tunnel); `incoming` is released whatever the outcome.
    pub async fn tunnel(
        &mut self,
        incoming: Incoming,
        headers: Vec<Header>,
    ) -> Result<HijackedStream, Error> {
        let result = self.try_tunnel(&incoming, headers).await;
        self.release(incoming).await?;
        result
    }

    /// As [`Instance::tunnel`], but `incoming` stays with the caller: after an
    /// `invalid-input` error it can still be answered.
    pub async fn try_tunnel(
        &mut self,
        incoming: &Incoming,
        headers: Vec<Header>,
    ) -> Result<HijackedStream, Error> {
        self.release_dropped().await?;
        let server = self.server()?;
        let guest = server.incoming();
        let hijacked = guest
            .call_tunnel(&mut self.store, incoming.handle.resource(), &headers)
            .await??;
        self.take(hijacked).await
    }

    /// Read the request's body before answering (`Content-Length`, or de-chunked), at most
    /// `max_bytes` (`None`: 1 MiB): what dockerd does with an exec's JSON before it switches.
    /// A hijack afterwards hands over what follows the body. After an error the request can
    /// only be answered with [`Instance::respond`].
    pub async fn read_body(
        &mut self,
        incoming: &Incoming,
        max_bytes: Option<u64>,
    ) -> Result<Vec<u8>, Error> {
        self.release_dropped().await?;
        let server = self.server()?;
        let guest = server.incoming();
        Ok(guest
            .call_read_body(&mut self.store, incoming.handle.resource(), max_bytes)
            .await??)
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

    /// As [`Instance::respond`], but `incoming` stays with the caller: after an
    /// `invalid-input` error it can still be answered.
    pub async fn try_respond(
        &mut self,
        incoming: &Incoming,
        response: ResponseHead,
        body: &[u8],
    ) -> Result<(), Error> {
        self.release_dropped().await?;
        let server = self.server()?;
        let guest = server.incoming();
        Ok(guest
            .call_respond(&mut self.store, incoming.handle.resource(), &response, body)
            .await??)
    }

    /// Release a request now (closing its connection unless it was hijacked). Dropping it
    /// does the same at the instance's next call.
    pub async fn release(&mut self, incoming: Incoming) -> Result<(), Error> {
        self.drop_resource(incoming.handle.take()).await?;
        self.release_dropped().await
    }

    /// Close a listener now. Dropping it does the same at the instance's next call.
    pub async fn close(&mut self, listener: Listener) -> Result<(), Error> {
        self.drop_resource(listener.handle.take()).await?;
        self.release_dropped().await
    }

    /// Release the [`Listener`]s and [`Incoming`]s dropped since the last call.
    pub async fn release_dropped(&mut self) -> Result<(), Error> {
        loop {
            let next = self.dropped.lock().unwrap_or_else(|e| e.into_inner()).pop();
            match next {
                Some(resource) => self.drop_resource(resource).await?,
                None => return Ok(()),
            }
        }
    }

    /// How many WASI handles (sockets, streams, pollables, networks) the component holds in
    /// the host's resource table: with no request pending, a leak check.
    pub fn open_handles(&mut self) -> usize {
        self.store.data_mut().table.iter_mut().count()
    }

    /// The client interface's functions, loaded (and type-checked) on first use.
    fn client(&mut self) -> Result<client::Guest, Error> {
        once(&mut self.client, || {
            self.exports.client.load(&mut self.store, &self.instance)
        })
    }

    /// The TLS client interface's functions, loaded (and type-checked) on first use.
    fn tls_client(&mut self) -> Result<tls_client::Guest, Error> {
        let Some(indices) = &self.exports.tls_client else {
            return Err(wasmtime::format_err!(
                "this component has no TLS client (it is not of the world hijack-tls)"
            )
            .into());
        };
        once(&mut self.tls_client, || {
            indices.load(&mut self.store, &self.instance)
        })
    }

    /// The server interface's functions, loaded (and type-checked) on first use.
    fn server(&mut self) -> Result<server::Guest, Error> {
        once(&mut self.server, || {
            self.exports.server.load(&mut self.store, &self.instance)
        })
    }

    fn handle(&self, resource: ResourceAny) -> Handle {
        Handle {
            resource: Some(resource),
            dropped: Arc::clone(&self.dropped),
        }
    }

    async fn drop_resource(&mut self, resource: ResourceAny) -> Result<(), Error> {
        resource.resource_drop_async(&mut self.store).await?;
        Ok(())
    }

    /// Take the handed-over handles out of the table: the streams first (they are the
    /// socket's children, and they share the connection with it), then the socket, which
    /// gives back the native `TcpStream` once any write the component left in flight is done.
    async fn take(&mut self, h: Hijacked) -> Result<HijackedStream, Error> {
        let table = &mut self.store.data_mut().table;
        drop(table.delete(h.input)?);
        drop(table.delete(h.output)?);
        let mut socket = table.delete(h.socket)?;
        // A connection the host terminates TLS on (a listener under `NetPolicy::tls_server`):
        // the streams were the session's, the session is the socket's.
        if let Some(server) = socket.take_tls() {
            let session = server.into_session().ok_or_else(not_its_own)?;
            return on_socket(h.buffered, session, socket).await;
        }
        match socket.into_stream().await {
            Some(NativeStream::Tcp(stream)) => Ok(HijackedStream::new(h.buffered, stream)),
            Some(NativeStream::Unix(stream)) => Ok(HijackedStream::over_unix(h.buffered, stream)),
            None => Err(not_its_own()),
        }
    }

    /// As [`Instance::take`], over TLS: the TLS streams, then the connection, whose session
    /// lets go of the socket's streams, then the socket, whose `TcpStream` the session runs
    /// over from then on. Plaintext the session had read ahead follows `buffered`.
    async fn take_tls(&mut self, h: HijackedTls) -> Result<HijackedStream, Error> {
        let table = &mut self.store.data_mut().table;
        drop(table.delete(h.input)?);
        drop(table.delete(h.output)?);
        let connection = table.delete(h.connection)?;
        let socket = table.delete(h.socket)?;
        let session = connection.into_session().ok_or_else(not_its_own)?;
        on_socket(h.buffered, session, socket).await
    }
}

/// A TLS session moved from the component's streams onto `socket`'s own `TcpStream`; the
/// plaintext it had read ahead follows `buffered`.
async fn on_socket(
    buffered: Vec<u8>,
    mut session: Session,
    socket: TcpSocket,
) -> Result<HijackedStream, Error> {
    session.detach();
    let stream = match socket.into_stream().await {
        Some(NativeStream::Tcp(stream)) => stream,
        Some(NativeStream::Unix(_)) => {
            return Err(wasmtime::format_err!("TLS over a unix socket is not supported").into());
        }
        None => return Err(not_its_own()),
    };
    let (tls, ahead) = session.onto(stream).ok_or_else(not_its_own)?;
    let mut buffered = buffered;
    buffered.extend_from_slice(&ahead);
    Ok(HijackedStream::over_tls(buffered, tls))
}

fn not_its_own() -> Error {
    wasmtime::format_err!(
        "the handed-over socket is not a connection of its own (not connected, or a stream \
         of it is still in use)"
    )
    .into()
}
