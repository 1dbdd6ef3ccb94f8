//! The WIT glue: `wasi:sockets/tcp` and `tcp-create-socket` as the generated host traits
//! want them, each call a lookup in the resource table and one call into [`TcpSocket`].
//!
//! Follows wasmtime-wasi 48.0.8's `src/p2/host/tcp.rs`. Errors are [`SocketError`]s: an
//! `error-code` for the component, or a trap for what only a host bug or a forged handle can
//! cause (a resource not in the table). No socket logic lives here (that is `tcp.rs`), nor
//! any byte moving (`streams.rs`).

use super::TcpView;
use super::streams::streams;
use super::tcp::TcpSocket;
use crate::bindings::sockets::wasi::sockets::tcp::{self, HostTcpSocket, ShutdownType};
use crate::bindings::sockets::wasi::sockets::tcp_create_socket;
use std::net::{Shutdown, SocketAddr};
use wasmtime::component::Resource;
use wasmtime_wasi::p2::bindings::sockets::network::{IpAddressFamily, IpSocketAddress, Network};
use wasmtime_wasi::p2::{DynInputStream, DynOutputStream, DynPollable, Pollable, SocketResult};

impl tcp::Host for TcpView<'_> {}

impl tcp_create_socket::Host for TcpView<'_> {
    fn create_tcp_socket(&mut self, family: IpAddressFamily) -> SocketResult<Resource<TcpSocket>> {
        let socket = TcpSocket::new(family, self.policy)?;
        Ok(self.table.push(socket)?)
    }
}

impl HostTcpSocket for TcpView<'_> {
    fn start_bind(
        &mut self,
        this: Resource<TcpSocket>,
        network: Resource<Network>,
        local: IpSocketAddress,
    ) -> SocketResult<()> {
        // The network resource is the capability to bind: it must be a live one.
        self.table.get(&network)?;
        let policy = self.policy;
        let socket = self.table.get_mut(&this)?;
        Ok(socket.start_bind(SocketAddr::from(local), policy)?)
    }

    fn finish_bind(&mut self, this: Resource<TcpSocket>) -> SocketResult<()> {
        Ok(self.table.get_mut(&this)?.finish_bind()?)
    }

    fn start_connect(
        &mut self,
        this: Resource<TcpSocket>,
        network: Resource<Network>,
        remote: IpSocketAddress,
    ) -> SocketResult<()> {
        self.table.get(&network)?;
        let policy = self.policy;
        let socket = self.table.get_mut(&this)?;
        Ok(socket.start_connect(SocketAddr::from(remote), policy)?)
    }

    fn finish_connect(
        &mut self,
        this: Resource<TcpSocket>,
    ) -> SocketResult<(Resource<DynInputStream>, Resource<DynOutputStream>)> {
        let conn = self.table.get_mut(&this)?.finish_connect()?;
        let (input, output) = streams(conn);
        let input = self.table.push_child(input, &this)?;
        let output = self.table.push_child(output, &this)?;
        Ok((input, output))
    }

    fn start_listen(&mut self, this: Resource<TcpSocket>) -> SocketResult<()> {
        let policy = self.policy;
        Ok(self.table.get_mut(&this)?.start_listen(policy)?)
    }

    fn finish_listen(&mut self, this: Resource<TcpSocket>) -> SocketResult<()> {
        Ok(self.table.get_mut(&this)?.finish_listen()?)
    }

    fn accept(
        &mut self,
        this: Resource<TcpSocket>,
    ) -> SocketResult<(
        Resource<TcpSocket>,
        Resource<DynInputStream>,
        Resource<DynOutputStream>,
    )> {
        let policy = self.policy;
        let (mut socket, conn) = self.table.get_mut(&this)?.accept(policy)?;
        let (mut input, mut output) = streams(conn);
        if let Some(server) = policy.tls_server_config() {
            // The component reads and writes plaintext; the socket owns the session.
            let session;
            (input, output, session) = crate::tls::accept(input, output, &server.server);
            socket.hold_tls(session);
        }
        let socket = self.table.push(socket)?;
        let input = self.table.push_child(input, &socket)?;
        let output = self.table.push_child(output, &socket)?;
        Ok((socket, input, output))
    }

    fn local_address(&mut self, this: Resource<TcpSocket>) -> SocketResult<IpSocketAddress> {
        Ok(self.table.get(&this)?.local_address()?.into())
    }

    fn remote_address(&mut self, this: Resource<TcpSocket>) -> SocketResult<IpSocketAddress> {
        Ok(self.table.get(&this)?.remote_address()?.into())
    }

    fn is_listening(&mut self, this: Resource<TcpSocket>) -> wasmtime::Result<bool> {
        Ok(self.table.get(&this)?.is_listening())
    }

    fn address_family(&mut self, this: Resource<TcpSocket>) -> wasmtime::Result<IpAddressFamily> {
        Ok(self.table.get(&this)?.address_family())
    }

    fn set_listen_backlog_size(
        &mut self,
        this: Resource<TcpSocket>,
        value: u64,
    ) -> SocketResult<()> {
        Ok(self.table.get_mut(&this)?.set_listen_backlog_size(value)?)
    }

    fn keep_alive_enabled(&mut self, this: Resource<TcpSocket>) -> SocketResult<bool> {
        Ok(self.table.get(&this)?.keep_alive_enabled()?)
    }

    fn set_keep_alive_enabled(
        &mut self,
        this: Resource<TcpSocket>,
        value: bool,
    ) -> SocketResult<()> {
        Ok(self.table.get(&this)?.set_keep_alive_enabled(value)?)
    }

    fn keep_alive_idle_time(&mut self, this: Resource<TcpSocket>) -> SocketResult<u64> {
        Ok(self.table.get(&this)?.keep_alive_idle_time()?)
    }

    fn set_keep_alive_idle_time(
        &mut self,
        this: Resource<TcpSocket>,
        value: u64,
    ) -> SocketResult<()> {
        Ok(self.table.get(&this)?.set_keep_alive_idle_time(value)?)
    }

    fn keep_alive_interval(&mut self, this: Resource<TcpSocket>) -> SocketResult<u64> {
        Ok(self.table.get(&this)?.keep_alive_interval()?)
    }

    fn set_keep_alive_interval(
        &mut self,
        this: Resource<TcpSocket>,
        value: u64,
    ) -> SocketResult<()> {
        Ok(self.table.get(&this)?.set_keep_alive_interval(value)?)
    }

    fn keep_alive_count(&mut self, this: Resource<TcpSocket>) -> SocketResult<u32> {
        Ok(self.table.get(&this)?.keep_alive_count()?)
    }

    fn set_keep_alive_count(&mut self, this: Resource<TcpSocket>, value: u32) -> SocketResult<()> {
        Ok(self.table.get(&this)?.set_keep_alive_count(value)?)
    }

    fn hop_limit(&mut self, this: Resource<TcpSocket>) -> SocketResult<u8> {
        Ok(self.table.get(&this)?.hop_limit()?)
    }

    fn set_hop_limit(&mut self, this: Resource<TcpSocket>, value: u8) -> SocketResult<()> {
        Ok(self.table.get(&this)?.set_hop_limit(value)?)
    }

    fn receive_buffer_size(&mut self, this: Resource<TcpSocket>) -> SocketResult<u64> {
        Ok(self.table.get(&this)?.receive_buffer_size()?)
    }

    fn set_receive_buffer_size(
        &mut self,
        this: Resource<TcpSocket>,
        value: u64,
    ) -> SocketResult<()> {
        Ok(self.table.get(&this)?.set_receive_buffer_size(value)?)
    }

    fn send_buffer_size(&mut self, this: Resource<TcpSocket>) -> SocketResult<u64> {
        Ok(self.table.get(&this)?.send_buffer_size()?)
    }

    fn set_send_buffer_size(&mut self, this: Resource<TcpSocket>, value: u64) -> SocketResult<()> {
        Ok(self.table.get(&this)?.set_send_buffer_size(value)?)
    }

    fn subscribe(&mut self, this: Resource<TcpSocket>) -> wasmtime::Result<Resource<DynPollable>> {
        wasmtime_wasi::p2::subscribe(self.table, this)
    }

    fn shutdown(&mut self, this: Resource<TcpSocket>, how: ShutdownType) -> SocketResult<()> {
        let how = match how {
            ShutdownType::Receive => Shutdown::Read,
            ShutdownType::Send => Shutdown::Write,
            ShutdownType::Both => Shutdown::Both,
        };
        Ok(self.table.get(&this)?.shutdown(how)?)
    }

    fn drop(&mut self, this: Resource<TcpSocket>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        Ok(())
    }
}

/// The socket's pollable (`subscribe`): see [`TcpSocket::poll_ready`].
#[async_trait::async_trait]
impl Pollable for TcpSocket {
    async fn ready(&mut self) {
        std::future::poll_fn(|cx| self.poll_ready(cx)).await
    }
}
