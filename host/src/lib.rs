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
//! - [`Runtime`] (`runtime.rs`): the engine and the compiled component, built with
//!   [`RuntimeBuilder`] to take instances from wasmtime's pooling allocator or to reuse a
//!   compile from a cache directory; [`NetPolicy`] (`policy.rs`): what each instance may
//!   reach; `sockets/`: the host's own `wasi:sockets/tcp` (a fork of wasmtime-wasi's), so
//!   that the host takes the native socket back at the handoff.
//! - [`Instance`] (`instance.rs`): the calls into one instance, and the [`Listener`] and
//!   [`Incoming`] handles it gives out (dropping one releases it).
//! - [`HijackedStream`] (`stream.rs`): the connection after the handoff; [`copy`] (`copy.rs`):
//!   moving its bytes on (zero-copy between sockets and pipes on Linux); [`stdcopy`]: Docker's
//!   stdout/stderr framing over it.
//! - [`Error`] (`error.rs`): the component's typed error or the runtime's, with predicates.
//! - `bindings.rs` holds all `bindgen!` configuration, `types.rs` conveniences on the
//!   generated types, `addr.rs` the address conversions.
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
//!
//! A server on every core: one instance per thread, each on its own current-thread runtime
//! with its own listener on the one address ([`NetPolicy::reuse_port`]: the kernel spreads
//! the connections). Only the compiled [`Runtime`] is shared; a connection stays on the
//! thread that accepted it, so nothing on the byte path is shared between cores (this is how
//! `hijack serve` runs).
//!
//! ```no_run
//! # fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use hijack_host::{Limits, NetPolicy, Runtime};
//! let runtime = Runtime::new()?;
//! let addr: std::net::SocketAddr = "127.0.0.1:8080".parse()?;
//! let policy = NetPolicy::new().allow_listen(addr).reuse_port(true);
//! let cores = std::thread::available_parallelism()?.get();
//! let threads: Vec<_> = (0..cores)
//!     .map(|_| {
//!         let (runtime, policy) = (runtime.clone(), policy.clone());
//!         std::thread::spawn(move || -> Result<(), hijack_host::Error> {
//!             let rt = tokio::runtime::Builder::new_current_thread().enable_all().build();
//!             let rt = rt.expect("a tokio runtime");
//!             rt.block_on(async {
//!                 let mut instance = runtime.instantiate(policy).await?;
//!                 let listener = instance.listen(addr, Limits::default()).await?;
//!                 loop {
//!                     let incoming = instance.accept(&listener).await?;
//!                     let conn = instance.hijack(incoming, "tcp", vec![]).await?;
//!                     tokio::spawn(async move { drop(conn) }); // this thread's connection
//!                 }
//!             })
//!         })
//!     })
//!     .collect();
//! for t in threads {
//!     t.join().expect("a serving thread")?;
//! }
//! # Ok(()) }
//! ```

#![deny(missing_docs)]
#![deny(unsafe_code)]

mod addr;
mod bindings;
mod cache;
mod copy;
mod error;
mod instance;
mod policy;
mod runtime;
mod sockets;
pub mod stdcopy;
mod stream;
mod tls;
mod types;

pub use bindings::exports::hijack::http::client::{
    Options as ClientOptions, Request as ClientRequest,
};
pub use bindings::exports::hijack::http::server::ListenOptions;
pub use bindings::exports::hijack::http::tls_client::TlsOptions;
pub use bindings::exports::hijack::http::types::{
    Error as HijackError, Header, Limits, Refusal, RequestHead, ResponseHead,
};
pub use copy::{CopyError, CopySink, CopySource, copy};
pub use error::{Error, RuntimeError, describe};
pub use instance::{Incoming, Instance, Listener};
pub use policy::NetPolicy;
pub use runtime::{COMPONENT, Runtime, RuntimeBuilder, State, default_cache_dir};
#[doc(hidden)]
pub use runtime::{add_tcp_to_linker, add_tls_to_linker};
pub use stream::{HijackedReader, HijackedStream, HijackedWriter};
pub use tls::{TlsConfig, TlsConfigBuilder, TlsConfigError, TlsFailure, TlsServerConfig};
pub use wasmtime_wasi::p2::bindings::sockets::network::ErrorCode;
