//! Network grants: which addresses the component may connect to, bind and listen on.
//!
//! Least privilege: a [`NetPolicy`] starts empty (wasmtime's own default denies all sockets)
//! and the caller adds exactly what it was told to reach.

use crate::tls::{TlsConfig, TlsServerConfig};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use wasmtime_wasi::sockets::SocketAddrUse;

/// What the component may do on the network, and whom its TLS trusts.
#[derive(Clone, Debug, Default)]
pub struct NetPolicy {
    connect: Vec<SocketAddr>,
    listen: Vec<SocketAddr>,
    name_lookup: bool,
    tls: Option<TlsConfig>,
    tls_server: Option<TlsServerConfig>,
    unix: Vec<(SocketAddr, PathBuf)>,
    reuse_port: bool,
}

impl NetPolicy {
    /// Nothing allowed.
    pub fn new() -> Self {
        Self::default()
    }

    /// Allow connecting to `addr` (exact IP and port).
    pub fn allow_connect(mut self, addr: SocketAddr) -> Self {
        self.connect.push(addr);
        self
    }

    /// Allow connecting to `addr`, and send that connection to the unix socket at `path`
    /// instead (curl's `--unix-socket`: Docker's `/var/run/docker.sock`). The component dials
    /// TCP as always and never names a path: the embedder grants this one endpoint. The
    /// connection handed over is then the native `UnixStream`.
    pub fn connect_unix(mut self, addr: SocketAddr, path: impl Into<PathBuf>) -> Self {
        self.connect.push(addr);
        self.unix.push((addr, path.into()));
        self
    }

    /// The unix socket a connect to `addr` goes to, if the embedder put one there.
    pub(crate) fn unix_path(&self, addr: SocketAddr) -> Option<&Path> {
        self.unix
            .iter()
            .find(|(a, _)| *a == addr)
            .map(|(_, path)| path.as_path())
    }

    /// Allow binding and listening on `addr` (port 0: any port on that IP), and accepting
    /// connections there.
    pub fn allow_listen(mut self, addr: SocketAddr) -> Self {
        self.listen.push(addr);
        self
    }

    /// Bind with `SO_REUSEPORT`, so that several instances — one per thread, each with its own
    /// listener — can listen on the same address, and the kernel spreads the connections
    /// among them (Linux hashes each connection to one listener). The guest cannot tell.
    /// A server that uses every core runs one instance per core this way: see
    /// [`Runtime`](crate::Runtime)'s example.
    pub fn reuse_port(mut self, reuse: bool) -> Self {
        self.reuse_port = reuse;
        self
    }

    /// Whether binds set `SO_REUSEPORT`.
    pub fn reuses_port(&self) -> bool {
        self.reuse_port
    }

    /// Allow name lookups (wasi:sockets/ip-name-lookup).
    pub fn allow_name_lookup(mut self, allow: bool) -> Self {
        self.name_lookup = allow;
        self
    }

    /// The roots and client identity the component's TLS handshakes run with (default: the
    /// system's roots, no identity). The component never sees them: it names the server and
    /// gets plaintext streams.
    pub fn tls(mut self, config: TlsConfig) -> Self {
        self.tls = Some(config);
        self
    }

    /// The TLS configuration handshakes run with.
    pub fn tls_config(&self) -> TlsConfig {
        self.tls.clone().unwrap_or_default()
    }

    /// Terminate TLS on every connection the component accepts, with this identity: the host
    /// runs the server handshake, the component reads the request and answers in plaintext,
    /// and a hijacked connection is handed over as a TLS session on the native socket. A
    /// client that does not complete the handshake is dropped before its head.
    pub fn tls_server(mut self, config: TlsServerConfig) -> Self {
        self.tls_server = Some(config);
        self
    }

    /// The identity accepted connections are served TLS with, if any.
    pub fn tls_server_config(&self) -> Option<&TlsServerConfig> {
        self.tls_server.as_ref()
    }

    /// Whether name lookups are allowed.
    pub fn name_lookup(&self) -> bool {
        self.name_lookup
    }

    /// Whether the policy allows any TCP use at all.
    pub fn any_tcp(&self) -> bool {
        !self.connect.is_empty() || !self.listen.is_empty()
    }

    /// The check run for every socket address the component uses (by the host's own TCP in
    /// `sockets/`, and by wasmtime-wasi for the rest of its sockets).
    pub fn allows(&self, addr: SocketAddr, usage: SocketAddrUse) -> bool {
        let listen_match =
            |l: &SocketAddr| l.ip() == addr.ip() && (l.port() == 0 || l.port() == addr.port());
        match usage {
            SocketAddrUse::TcpConnect => self.connect.contains(&addr),
            // A connect binds implicitly to the wildcard address, port 0.
            SocketAddrUse::TcpBind => {
                (addr.ip().is_unspecified() && addr.port() == 0 && !self.connect.is_empty())
                    || self.listen.iter().any(listen_match)
            }
            SocketAddrUse::TcpListen => self.listen.iter().any(listen_match),
            SocketAddrUse::TcpAccept => !self.listen.is_empty(),
            _ => false,
        }
    }
}
