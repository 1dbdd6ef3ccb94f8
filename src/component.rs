//! wit-bindgen glue only: converts between the WIT types and the crate's own, and maps the
//! WIT exports onto [`crate::exchange`]. No protocol logic and no WASI calls live here.

use crate::exchange::{self, client, server};
use crate::net::NetError;
use crate::proto::{self, ProtoError};
use alloc::{borrow::ToOwned, string::String, vec::Vec};
use bindings::exports::hijack::http::client as wit_client;
use bindings::exports::hijack::http::server as wit_server;
use bindings::exports::hijack::http::types as wit;
use core::cell::RefCell;
use wasip2::io::poll::Pollable;
use wasip2::sockets::network::IpSocketAddress;

/// The code wit-bindgen generates from `wit/hijack.wit`, and the export of [`Component`]. The
/// generated code holds the ABI's `unsafe` and undocumented items; this module alone is
/// allowed them.
#[allow(unsafe_code, missing_docs)]
mod bindings {
    // One source, two worlds: `hijack`, and with the `tls` feature `hijack-tls` (the same
    // plus wasi:tls and the `tls-client` export).
    macro_rules! bind {
        ($world:literal $(, $with:literal: $path:path)*) => {
            wit_bindgen::generate!({
                path: "wit",
                world: $world,
                features: ["tls"],
                with: {
                    "wasi:io/error@0.2.12": wasip2::io::error,
                    "wasi:io/poll@0.2.12": wasip2::io::poll,
                    "wasi:io/streams@0.2.12": wasip2::io::streams,
                    "wasi:clocks/monotonic-clock@0.2.12": wasip2::clocks::monotonic_clock,
                    "wasi:sockets/network@0.2.12": wasip2::sockets::network,
                    "wasi:sockets/tcp@0.2.12": wasip2::sockets::tcp,
                    "wasi:sockets/instance-network@0.2.12": wasip2::sockets::instance_network,
                    "wasi:sockets/tcp-create-socket@0.2.12": wasip2::sockets::tcp_create_socket,
                    "wasi:sockets/ip-name-lookup@0.2.12": wasip2::sockets::ip_name_lookup,
                    "wasi:random/random@0.2.12": wasip2::random::random,
                    $($with: $path,)*
                },
            });
        };
    }
    #[cfg(not(feature = "tls"))]
    bind!("hijack");
    #[cfg(feature = "tls")]
    bind!("hijack-tls", "wasi:tls/types@0.2.0-draft": hijack_net::tls_types);

    use super::Component;
    export!(Component);
}

/// The type the component's exports are implemented on.
struct Component;

impl wit_client::Guest for Component {
    type PendingDial = PendingDial;

    fn dial(
        authority: String,
        request: wit_client::Request,
        options: wit_client::Options,
    ) -> Result<(wit::ResponseHead, wit::Hijacked), wit::Error> {
        let (head, hijacked) =
            with_request(&authority, request, options, None, client::blocking_dial)?;
        Ok((response_out(head), hijacked_out(hijacked)))
    }

    fn start_dial(
        authority: String,
        request: wit_client::Request,
        options: wit_client::Options,
    ) -> Result<wit_client::PendingDial, wit::Error> {
        let pending = with_request(
            &authority,
            request,
            options,
            None,
            client::PendingDial::start,
        )?;
        Ok(wit_client::PendingDial::new(PendingDial(RefCell::new(
            pending,
        ))))
    }
}

/// Call `f` with the crate's view of a WIT request and its options.
fn with_request<T>(
    authority: &str,
    request: wit_client::Request,
    options: wit_client::Options,
    tls: Option<client::TlsPlan>,
    f: impl FnOnce(
        &str,
        &proto::client::UpgradeRequest<'_>,
        &client::DialOptions,
        Option<client::TlsPlan>,
    ) -> Result<T, exchange::Error>,
) -> Result<T, wit::Error> {
    let limits = limits(options.limits, None)?;
    let headers = headers_in(request.headers);
    let req = proto::client::UpgradeRequest {
        method: &request.method,
        target: &request.target,
        upgrade: &request.upgrade,
        headers: &headers,
        body: request.body.as_deref(),
    };
    let options = client::DialOptions {
        limits,
        connect_timeout_ms: options
            .connect_timeout_ms
            .unwrap_or(proto::DEFAULT_CONNECT_TIMEOUT_MS),
        keepalive_ms: options.keepalive_ms,
        allow_200: options.allow_200,
    };
    Ok(f(authority, &req, &options, tls)?)
}

struct PendingDial(RefCell<client::PendingDial>);

impl wit_client::GuestPendingDial for PendingDial {
    fn subscribe(&self) -> Vec<Pollable> {
        self.0.borrow().subscribe()
    }

    fn finish(&self) -> Result<(wit::ResponseHead, wit::Hijacked), wit::Error> {
        match self.0.borrow_mut().try_finish()? {
            Some((head, hijacked)) => Ok((response_out(head), hijacked_out(hijacked))),
            None => Err(wit::Error::WouldBlock),
        }
    }
}

impl wit_server::Guest for Component {
    type Listener = Listener;
    type Incoming = Incoming;
}

struct Listener(RefCell<server::Listener>);

impl wit_server::GuestListener for Listener {
    fn bind(
        address: IpSocketAddress,
        options: wit_server::ListenOptions,
    ) -> Result<wit_server::Listener, wit::Error> {
        let limits = limits(options.limits, options.max_pending_heads)?;
        let listener = server::Listener::blocking_bind(address, limits)?;
        Ok(wit_server::Listener::new(Listener(RefCell::new(listener))))
    }

    fn local_address(&self) -> Result<IpSocketAddress, wit::Error> {
        Ok(self.0.borrow().local_address()?)
    }

    fn accept(&self) -> Result<(wit_server::Incoming, wit_server::Request), wit::Error> {
        let incoming = self
            .0
            .borrow_mut()
            .blocking_accept()
            .map_err(accept_error)?;
        Ok(accepted(incoming))
    }

    fn try_accept(&self) -> Result<(wit_server::Incoming, wit_server::Request), wit::Error> {
        match self.0.borrow_mut().try_accept().map_err(accept_error)? {
            Some(incoming) => Ok(accepted(incoming)),
            None => Err(wit::Error::WouldBlock),
        }
    }

    fn subscribe(&self) -> Vec<Pollable> {
        self.0.borrow().subscribe()
    }
}

/// An accepted connection as the WIT returns it: the resource, and what was read of it.
fn accepted(incoming: server::Incoming) -> (wit_server::Incoming, wit_server::Request) {
    let head = incoming.head();
    let request = wit_server::Request {
        head: wit::RequestHead {
            method: head.method.clone(),
            target: head.target.clone(),
            version: head.version,
            headers: headers_out(&head.headers),
        },
        remote_address: incoming.remote(),
        upgrade_protocols: incoming.offered().to_vec(),
        connect_target: incoming.connect_target().map(str::to_owned),
    };
    let incoming = wit_server::Incoming::new(Incoming(RefCell::new(incoming)));
    (incoming, request)
}

/// An accept's error: one that passes is `transient`, so that no caller re-derives which.
fn accept_error(e: exchange::Error) -> wit::Error {
    match e {
        exchange::Error::Net(NetError::Socket(code)) if NetError::is_transient_code(code) => {
            wit::Error::Transient(code)
        }
        other => other.into(),
    }
}

struct Incoming(RefCell<server::Incoming>);

impl wit_server::GuestIncoming for Incoming {
    fn respond(&self, response: wit::ResponseHead, body: Vec<u8>) -> Result<(), wit::Error> {
        proto::server::check_answer_version(response.version)?;
        let headers = headers_in(response.headers);
        self.0
            .borrow_mut()
            .blocking_respond(response.status, &response.reason, &headers, &body)?;
        Ok(())
    }

    fn read_body(&self, max_bytes: Option<u64>) -> Result<Vec<u8>, wit::Error> {
        let max = proto::body::max_body_bytes(max_bytes)?;
        Ok(self.0.borrow_mut().blocking_read_body(max)?)
    }

    fn hijack(
        &self,
        protocol: String,
        headers: Vec<wit::Header>,
    ) -> Result<wit::Hijacked, wit::Error> {
        let headers = headers_in(headers);
        let hijacked = self.0.borrow_mut().blocking_hijack(&protocol, &headers)?;
        Ok(hijacked_out(hijacked))
    }

    fn tunnel(&self, headers: Vec<wit::Header>) -> Result<wit::Hijacked, wit::Error> {
        let headers = headers_in(headers);
        let hijacked = self.0.borrow_mut().blocking_tunnel(&headers)?;
        Ok(hijacked_out(hijacked))
    }
}

fn limits(l: wit::Limits, max_pending_heads: Option<u32>) -> Result<proto::Limits, wit::Error> {
    Ok(proto::Limits::from_options(
        l.max_head_bytes,
        l.max_headers,
        l.head_timeout_ms,
        max_pending_heads,
    )?)
}

fn headers_in(headers: Vec<wit::Header>) -> Vec<proto::Header> {
    headers
        .into_iter()
        .map(|h| proto::Header {
            name: h.name,
            value: h.value,
        })
        .collect()
}

fn headers_out(headers: &[proto::Header]) -> Vec<wit::Header> {
    headers
        .iter()
        .map(|h| wit::Header {
            name: h.name.clone(),
            value: h.value.clone(),
        })
        .collect()
}

fn response_out(head: proto::ResponseHead) -> wit::ResponseHead {
    wit::ResponseHead {
        version: head.version,
        status: head.status,
        reason: head.reason,
        headers: head
            .headers
            .into_iter()
            .map(|h| wit::Header {
                name: h.name,
                value: h.value,
            })
            .collect(),
    }
}

/// A plain connection as the WIT hands it over. Only `tls-client` makes connections over TLS,
/// and it hands them over with [`tls::hijacked_out`].
fn hijacked_out(h: exchange::Hijacked) -> wit::Hijacked {
    let parts = h.conn.into_parts();
    debug_assert!(parts.tls.is_none());
    wit::Hijacked {
        socket: parts.socket,
        input: parts.input,
        output: parts.output,
        buffered: h.buffered,
    }
}

impl From<exchange::Error> for wit::Error {
    fn from(e: exchange::Error) -> Self {
        use exchange::Error as E;
        match e {
            E::Proto(p) => p.into(),
            E::Net(n) => n.into(),
            E::ClosedBeforeHead => Self::ClosedBeforeHead,
            E::ClosedInsideHead => Self::ClosedInsideHead,
            E::NotSwitched(head, body) => Self::NotSwitched(wit::Refusal {
                head: response_out(head),
                body,
            }),
            E::InvalidSwitch(head) => Self::InvalidSwitch(response_out(head)),
        }
    }
}

impl From<ProtoError> for wit::Error {
    fn from(e: ProtoError) -> Self {
        match e {
            ProtoError::InvalidInput(what) => Self::InvalidInput(what),
            ProtoError::HeadTooLarge => Self::HeadTooLarge,
            ProtoError::TooManyHeaders => Self::TooManyHeaders,
            ProtoError::Malformed(what) => Self::MalformedHead(what.into()),
            ProtoError::BodyTooLarge => Self::BodyTooLarge,
            ProtoError::MalformedBody(what) => Self::MalformedBody(what.into()),
            // The core's error is non-exhaustive: a refusal it may add later is still a
            // refusal of the input, with its text.
            other => Self::InvalidInput(alloc::string::ToString::to_string(&other)),
        }
    }
}

impl From<NetError> for wit::Error {
    fn from(e: NetError) -> Self {
        match e {
            NetError::Dns(c) => Self::Dns(c),
            NetError::Connect(c) => Self::Connect(c),
            NetError::Socket(c) => Self::Socket(c),
            NetError::Io(s) => Self::Io(s),
            NetError::Timeout => Self::Timeout,
            NetError::Tls(s) => Self::Tls(s),
        }
    }
}

/// The `tls-client` export (the `hijack-tls` world).
#[cfg(feature = "tls")]
mod tls {
    use super::{Component, response_out, wit, wit_client, with_request};
    use crate::exchange::{self, client};
    use alloc::{string::String, vec::Vec};
    use bindings_tls::{HijackedTls, TlsOptions};
    use core::cell::RefCell;
    use wasip2::io::poll::Pollable;

    use super::bindings::exports::hijack::http::tls_client as bindings_tls;

    impl bindings_tls::Guest for Component {
        type PendingDial = PendingDial;

        fn dial(
            authority: String,
            request: wit_client::Request,
            options: wit_client::Options,
            tls: TlsOptions,
        ) -> Result<(wit::ResponseHead, HijackedTls), wit::Error> {
            let plan = Some(plan(tls));
            let (head, hijacked) =
                with_request(&authority, request, options, plan, client::blocking_dial)?;
            Ok((response_out(head), hijacked_out(hijacked)?))
        }

        fn start_dial(
            authority: String,
            request: wit_client::Request,
            options: wit_client::Options,
            tls: TlsOptions,
        ) -> Result<bindings_tls::PendingDial, wit::Error> {
            let plan = Some(plan(tls));
            let start = client::PendingDial::start;
            let pending = with_request(&authority, request, options, plan, start)?;
            Ok(bindings_tls::PendingDial::new(PendingDial(RefCell::new(
                pending,
            ))))
        }
    }

    pub struct PendingDial(RefCell<client::PendingDial>);

    impl bindings_tls::GuestPendingDial for PendingDial {
        fn subscribe(&self) -> Vec<Pollable> {
            self.0.borrow().subscribe()
        }

        fn finish(&self) -> Result<(wit::ResponseHead, HijackedTls), wit::Error> {
            match self.0.borrow_mut().try_finish()? {
                Some((head, hijacked)) => Ok((response_out(head), hijacked_out(hijacked)?)),
                None => Err(wit::Error::WouldBlock),
            }
        }
    }

    fn plan(tls: TlsOptions) -> client::TlsPlan {
        client::TlsPlan {
            server_name: tls.server_name,
            proxy: tls
                .proxy
                .map(|proxy| (proxy, super::headers_in(tls.proxy_headers))),
        }
    }

    /// A connection over TLS as the WIT hands it over.
    fn hijacked_out(h: exchange::Hijacked) -> Result<HijackedTls, wit::Error> {
        let parts = h.conn.into_parts();
        match parts.tls {
            Some(connection) => Ok(HijackedTls {
                input: parts.input,
                output: parts.output,
                connection,
                socket: parts.socket,
                buffered: h.buffered,
            }),
            // `tls-client` runs every exchange over TLS; were one not, it is closed, not
            // handed over as if it were.
            None => Err(wit::Error::Io("the connection is not over TLS".into())),
        }
    }
}
