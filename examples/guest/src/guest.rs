//! The wasm32 side of the crate.

use wasip2::sockets::network::ErrorCode;

/// The generated bindings to `hijack:http/{types,client,server}`.
#[allow(missing_docs, unsafe_code)]
mod bindings {
    wit_bindgen::generate!({
        inline: r#"
            package hijack:guest;
            world guest {
                import hijack:http/client@0.2.0;
                import hijack:http/server@0.2.0;
            }
        "#,
        path: "../../wit",
        with: {
            "wasi:io/error@0.2.12": wasip2::io::error,
            "wasi:io/poll@0.2.12": wasip2::io::poll,
            "wasi:io/streams@0.2.12": wasip2::io::streams,
            "wasi:clocks/monotonic-clock@0.2.12": wasip2::clocks::monotonic_clock,
            "wasi:sockets/network@0.2.12": wasip2::sockets::network,
            "wasi:sockets/tcp@0.2.12": wasip2::sockets::tcp,
            "hijack:http/types@0.2.0": generate,
            "hijack:http/client@0.2.0": generate,
            "hijack:http/server@0.2.0": generate,
        },
    });
}

pub use crate::accept::{Accepted, Acceptor};
pub use crate::pollset::PollSet;
pub use bindings::hijack::http::{client, server, types};
/// The WASI layer the component itself uses: address conversion, lookup-then-connect.
pub use hijack_net as net;
/// The sans-IO core the component itself uses: authorities, Go's accept back-off.
pub use hijack_proto as proto;

/// All of `bytes` to `out` (std's `io::Write`, waiting as it must), then flushed.
pub fn write_all(out: &mut wasip2::io::streams::OutputStream, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|e| format!("writing: {e}"))
}

/// Limits with every field at the component's default.
pub fn default_limits() -> types::Limits {
    types::Limits {
        max_head_bytes: None,
        max_headers: None,
        head_timeout_ms: None,
    }
}

/// Listener options with every field at the component's default.
pub fn default_listen_options() -> server::ListenOptions {
    server::ListenOptions {
        limits: default_limits(),
        max_pending_heads: None,
    }
}

/// Client options at the component's defaults (no keepalive, no legacy `200`).
pub fn default_options() -> client::Options {
    client::Options {
        limits: default_limits(),
        connect_timeout_ms: None,
        keepalive_ms: None,
        allow_200: false,
    }
}

/// The request Docker's client sends for `attach` and `exec`: `POST target`, asking to switch
/// to `tcp`, no extra fields, no body.
pub fn docker_attach(target: String) -> client::Request {
    client::Request {
        method: "POST".into(),
        target,
        upgrade: "tcp".into(),
        headers: Vec::new(),
        body: None,
    }
}

/// One line for the component's error; an access denial says which grant is missing.
pub fn describe(e: &types::Error) -> String {
    use types::Error as E;
    match e {
        E::Socket(ErrorCode::AccessDenied)
        | E::Connect(ErrorCode::AccessDenied)
        | E::Dns(ErrorCode::AccessDenied) => "access-denied (the runtime grants no network: \
             run with `wasmtime run -S inherit-network`)"
            .into(),
        E::Socket(code) => format!("socket error: {}", code.name()),
        E::Transient(code) => format!(
            "accept failed for now (out of descriptors or buffers): {}",
            code.name()
        ),
        E::Connect(code) => format!("connect failed: {}", code.name()),
        E::Dns(code) => format!("name lookup failed: {}", code.name()),
        E::InvalidInput(why) => format!("invalid input: {why}"),
        E::Io(why) => format!("i/o error: {why}"),
        E::Tls(why) => format!("tls: {why}"),
        E::Timeout => "timed out".into(),
        E::ClosedBeforeHead => "the peer closed the connection before a response head".into(),
        E::ClosedInsideHead => "the peer closed the connection inside a head".into(),
        E::HeadTooLarge => "head too large".into(),
        E::TooManyHeaders => "too many header fields".into(),
        E::MalformedHead(why) => format!("malformed head: {why}"),
        E::BodyTooLarge => "request body too large".into(),
        E::MalformedBody(why) => format!("malformed request body: {why}"),
        E::NotSwitched(r) => format!(
            "the peer did not switch protocols: {} {}",
            r.head.status, r.head.reason
        ),
        E::InvalidSwitch(h) => format!(
            "the peer answered {} without switching to the protocol asked for",
            h.status
        ),
        E::WouldBlock => "not done yet".into(),
    }
}
