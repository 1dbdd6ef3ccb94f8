//! The host's own `wasi:sockets/tcp` and `tcp-create-socket`: every TCP socket the
//! component opens is a native socket this module keeps, so that at the handoff the host
//! takes the socket itself (a tokio `TcpStream`, [`TcpSocket::into_stream`]) rather than a
//! pair of WASI streams it would have to pump bytes through.
//!
//! # A fork of wasmtime-wasi's TCP
//!
//! This is a fork of wasmtime-wasi 48.0.8's TCP (the version `host/Cargo.toml` pins), in
//! its three layers, one file each:
//!
//! | here | upstream (`crates/wasi/` in wasmtime) | duty |
//! | --- | --- | --- |
//! | `tcp.rs` | `src/sockets/tcp.rs`, and the start/finish bookkeeping of `src/p2/tcp.rs` | the socket's state machine, checks and options |
//! | `streams.rs` | the streams of `src/p2/tcp.rs` | the input and output streams |
//! | `host.rs` | `src/p2/host/tcp.rs` | the WIT glue over the resource table |
//!
//! It exists because the handoff needs what upstream does not give: wasmtime-wasi's
//! `TcpSocket` is crate-private (no way to take its native socket back), and its input
//! stream allocates and zeroes a fresh buffer for every read.
//!
//! Intended deviations from upstream, and only these:
//! - the [`NetPolicy`] is checked here (create, bind, connect, listen, accept), in the places
//!   upstream calls its `socket_addr_check`, synchronously;
//! - a read fills an unzeroed buffer (`BytesMut::with_capacity` and the socket's own
//!   `read_buf`);
//! - a write goes to the socket at once in the calling thread; only what the kernel does not
//!   take goes out in a task;
//! - dropping a stream shuts nothing down (upstream shuts that side), so that
//!   [`TcpSocket::into_stream`] can give the connection back whole once the streams are
//!   gone;
//! - a stream's failure carries the `std::io::Error`, so `network-error-code` can name it;
//! - under [`NetPolicy::reuse_port`], a bind sets `SO_REUSEPORT` (one listener per instance,
//!   several instances on one address);
//! - under [`NetPolicy::connect_unix`], a connect to the address given goes to a unix socket
//!   instead ([`NativeStream`]), as the embedder decided; the component cannot tell;
//! - under [`NetPolicy::tls_server`], an accepted connection's streams are TLS streams the
//!   host terminates (`crate::tls::accept`), and the accepted socket owns the session.
//!
//! Anything else that differs from wasmtime-wasi 48.0.8 is a bug here; the conformance suite
//! (`host/test-programs`, run by `host/tests/tcp_conformance.rs`) walks both with the same
//! guest.
//!
//! wasmtime-wasi still supplies the rest of WASI (clocks, random, name lookup, the `network`
//! capability); [`add_to_linker`] puts `tcp` and `tcp-create-socket` in its place. This
//! module keeps socket state and moves bytes; it knows nothing of HTTP.

mod host;
mod native;
mod streams;
mod tcp;

pub use native::NativeStream;
pub use tcp::TcpSocket;

use crate::bindings::sockets::wasi::sockets::{tcp as wit_tcp, tcp_create_socket};
use crate::policy::NetPolicy;
use wasmtime::component::{HasData, Linker, Resource, ResourceTable};
use wasmtime_wasi::p2::SocketError;
use wasmtime_wasi::p2::bindings::sockets::network::{self, ErrorCode, Network};

/// What the host functions see of the store: its table and the instance's grants.
pub struct TcpView<'a> {
    /// The store's resource table.
    pub table: &'a mut ResourceTable,
    /// What the instance may reach.
    pub policy: &'a NetPolicy,
}

struct HostTcp;

impl HasData for HostTcp {
    type Data<'a> = TcpView<'a>;
}

/// Put this module's `tcp` and `tcp-create-socket` in the linker, in place of any defined
/// before (wasmtime-wasi's).
pub fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    view: fn(&mut T) -> TcpView<'_>,
) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    wit_tcp::add_to_linker::<T, HostTcp>(linker, view)?;
    tcp_create_socket::add_to_linker::<T, HostTcp>(linker, view)?;
    linker.allow_shadowing(false);
    Ok(())
}

/// The generated glue turns a [`SocketError`] into the component's `error-code` (or a trap)
/// through `network`'s host trait; `network` itself stays wasmtime-wasi's in the linker, so
/// only the conversion is ever called here.
impl network::Host for TcpView<'_> {
    fn convert_error_code(&mut self, error: SocketError) -> wasmtime::Result<ErrorCode> {
        error.downcast()
    }

    fn network_error_code(
        &mut self,
        err: Resource<wasmtime::Error>,
    ) -> wasmtime::Result<Option<ErrorCode>> {
        let err = self.table.get(&err)?;
        Ok(err.downcast_ref::<std::io::Error>().map(ErrorCode::from))
    }
}

impl network::HostNetwork for TcpView<'_> {
    fn drop(&mut self, this: Resource<Network>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        Ok(())
    }
}
