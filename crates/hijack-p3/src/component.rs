//! wit-bindgen glue only: converts between the WIT types and the crate's own, and maps the
//! WIT exports onto [`crate::client`] and [`crate::server`]. No protocol logic here.

use crate::error::Error;
use crate::io::{self, CHUNK, ErrorCode, Parts};
use crate::proto::{self, ProtoError};
use crate::{client, server};
use alloc::{string::String, vec::Vec};
use bindings::exports::hijack::http::client as wit_client;
use bindings::exports::hijack::http::server as wit_server;
use bindings::exports::hijack::http::types as wit;
use bindings::wasi::sockets::types::IpSocketAddress;
use core::cell::RefCell;
use wit_bindgen::{FutureReader, StreamReader, StreamResult, StreamWriter};

/// The code wit-bindgen generates from `wit-p3/hijack.wit`, and the export of [`Component`].
/// The generated code holds the ABI's `unsafe` and undocumented items; this module alone is
/// allowed them.
#[allow(unsafe_code, missing_docs)]
pub(crate) mod bindings {
    wit_bindgen::generate!({
        path: "../../wit-p3",
        world: "hijack",
        generate_all,
    });

    use super::Component;
    export!(Component);
}

/// The type the component's exports are implemented on.
struct Component;

impl wit::Guest for Component {
    type Connection = Connection;
}

impl wit_client::Guest for Component {
    async fn dial(
        authority: String,
        request: wit_client::Request,
        options: wit_client::Options,
    ) -> Result<(wit::ResponseHead, wit::Hijacked), wit::Error> {
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
        let (head, hijacked) = client::dial(&authority, &req, &options).await?;
        Ok((response_out(head), hijacked_out(hijacked)?))
    }
}

impl wit_server::Guest for Component {
    type Listener = Listener;
    type Incoming = Incoming;
}

struct Listener(server::Listener);

impl wit_server::GuestListener for Listener {
    fn bind(
        address: IpSocketAddress,
        options: wit_server::ListenOptions,
    ) -> Result<wit_server::Listener, wit::Error> {
        let limits = limits(options.limits, options.max_pending_heads)?;
        let listener = server::Listener::bind(address, limits)?;
        Ok(wit_server::Listener::new(Listener(listener)))
    }

    fn local_address(&self) -> Result<IpSocketAddress, wit::Error> {
        Ok(self.0.local_address()?)
    }

    async fn accept(&self) -> Result<(wit_server::Incoming, wit_server::Request), wit::Error> {
        let incoming = self.0.accept().await?;
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
            connect_target: incoming.connect_target().map(String::from),
        };
        let incoming = wit_server::Incoming::new(Incoming(RefCell::new(incoming)));
        Ok((incoming, request))
    }
}

/// The borrow of the incoming ends before the answer is written: the answer owns the
/// connection it writes to.
struct Incoming(RefCell<server::Incoming>);

impl wit_server::GuestIncoming for Incoming {
    async fn respond(&self, response: wit::ResponseHead, body: Vec<u8>) -> Result<(), wit::Error> {
        proto::server::check_answer_version(response.version)?;
        let headers = headers_in(response.headers);
        let answer =
            self.0
                .borrow_mut()
                .respond(response.status, &response.reason, &headers, &body)?;
        Ok(answer.respond().await?)
    }

    async fn hijack(
        &self,
        protocol: String,
        headers: Vec<wit::Header>,
    ) -> Result<wit::Hijacked, wit::Error> {
        let headers = headers_in(headers);
        let answer = self.0.borrow_mut().hijack(&protocol, &headers)?;
        hijacked_out(answer.hand_over().await?)
    }

    async fn tunnel(&self, headers: Vec<wit::Header>) -> Result<wit::Hijacked, wit::Error> {
        let headers = headers_in(headers);
        let answer = self.0.borrow_mut().tunnel(&headers)?;
        hijacked_out(answer.hand_over().await?)
    }
}

/// The component's stream into a socket, and the socket's outcome of sending it.
type Outbound = (StreamWriter<u8>, FutureReader<Result<(), ErrorCode>>);

/// The sending side of a connection taken over: the component's stream into the socket,
/// which `send` feeds from the caller's (`None` once `send` has taken it).
struct Connection {
    socket: io::TcpSocket,
    out: RefCell<Option<Outbound>>,
}

impl wit::GuestConnection for Connection {
    async fn send(&self, first: Vec<u8>, mut data: StreamReader<u8>) -> Result<(), ErrorCode> {
        let Some((mut writer, sent)) = self.out.borrow_mut().take() else {
            return Err(ErrorCode::InvalidState);
        };
        if !writer.write_all(first).await.is_empty() {
            drop(writer);
            return sent.await;
        }
        // One buffer, reused: a read fills its spare room, a write hands it back empty.
        let mut buf = Vec::with_capacity(CHUNK);
        loop {
            let (result, chunk) = data.read(buf).await;
            if !matches!(result, StreamResult::Complete(_)) {
                break;
            }
            let left = writer.write_all(chunk).await;
            if !left.is_empty() {
                // The socket stopped taking bytes: its outcome says why.
                break;
            }
            buf = left;
            buf.reserve(CHUNK);
        }
        // The end of the caller's stream ends the socket's: a FIN.
        drop(writer);
        sent.await
    }

    fn local_address(&self) -> Result<IpSocketAddress, ErrorCode> {
        self.socket.get_local_address()
    }

    fn remote_address(&self) -> Result<IpSocketAddress, ErrorCode> {
        self.socket.get_remote_address()
    }
}

/// A connection as the WIT hands it over.
fn hijacked_out(h: client::Hijacked) -> Result<wit::Hijacked, wit::Error> {
    let Some(Parts {
        socket,
        writer,
        sent,
        reader,
        received,
    }) = h.conn.into_parts()
    else {
        return Err(wit::Error::Io("connection closed".into()));
    };
    Ok(wit::Hijacked {
        connection: wit::Connection::new(Connection {
            socket,
            out: RefCell::new(Some((writer, sent))),
        }),
        receive: reader,
        received,
        buffered: h.buffered,
    })
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

impl From<Error> for wit::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Proto(p) => p.into(),
            Error::Dns(c) => Self::Dns(c),
            Error::Connect(c) => Self::Connect(c),
            Error::Socket(c) => Self::Socket(c),
            Error::Io(s) => Self::Io(s),
            Error::Timeout => Self::Timeout,
            Error::ClosedBeforeHead => Self::ClosedBeforeHead,
            Error::ClosedInsideHead => Self::ClosedInsideHead,
            Error::NotSwitched(head, body) => Self::NotSwitched(wit::Refusal {
                head: response_out(head),
                body,
            }),
            Error::InvalidSwitch(head) => Self::InvalidSwitch(response_out(head)),
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
            other => Self::InvalidInput(alloc::string::ToString::to_string(&other)),
        }
    }
}
