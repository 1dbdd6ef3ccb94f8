//! The wasm32 side of the crate.

use std::net::{IpAddr, SocketAddr};
use wasip2::sockets::network::{ErrorCode, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress};

/// The generated bindings to `hijack:http/{types,client,server}`.
#[allow(missing_docs, unsafe_code)]
mod bindings {
    wit_bindgen::generate!({
        inline: r#"
            package hijack:guest;
            world guest {
                import hijack:http/client@0.1.0;
                import hijack:http/server@0.1.0;
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
            "hijack:http/types@0.1.0": generate,
            "hijack:http/client@0.1.0": generate,
            "hijack:http/server@0.1.0": generate,
        },
    });
}

pub use crate::accept::Acceptor;
pub use crate::pollset::PollSet;
pub use bindings::hijack::http::{client, server, types};

/// All of `bytes` to `out`, in the pieces `blocking-write-and-flush` takes (4096 bytes at
/// most), each flushed before the next.
pub fn write_all(out: &wasip2::io::streams::OutputStream, bytes: &[u8]) -> Result<(), String> {
    for piece in bytes.chunks(4096) {
        out.blocking_write_and_flush(piece)
            .map_err(|e| format!("writing: {e:?}"))?;
    }
    Ok(())
}

/// Limits with every field at the component's default.
pub fn default_limits() -> types::Limits {
    types::Limits {
        max_head_bytes: None,
        max_headers: None,
        head_timeout_ms: None,
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

/// `std`'s socket address as wasi:sockets has it.
pub fn to_wasi(addr: SocketAddr) -> IpSocketAddress {
    match addr.ip() {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            IpSocketAddress::Ipv4(Ipv4SocketAddress {
                port: addr.port(),
                address: (a, b, c, d),
            })
        }
        IpAddr::V6(v6) => {
            let [a, b, c, d, e, f, g, h] = v6.segments();
            IpSocketAddress::Ipv6(Ipv6SocketAddress {
                port: addr.port(),
                address: (a, b, c, d, e, f, g, h),
                flow_info: 0,
                scope_id: 0,
            })
        }
    }
}

/// A wasi:sockets address as `std` has it (prints as `IP:PORT`, IPv6 in brackets).
pub fn to_std(addr: IpSocketAddress) -> SocketAddr {
    match addr {
        IpSocketAddress::Ipv4(a) => {
            let (x, y, z, w) = a.address;
            SocketAddr::from(([x, y, z, w], a.port))
        }
        IpSocketAddress::Ipv6(a) => {
            let (p, q, r, s, t, u, v, w) = a.address;
            SocketAddr::from(([p, q, r, s, t, u, v, w], a.port))
        }
    }
}

/// Whether an accept failure passes (out of descriptors or buffers): back off and go on.
pub fn is_transient(e: &types::Error) -> bool {
    matches!(
        e,
        types::Error::Socket(
            ErrorCode::NewSocketLimit | ErrorCode::OutOfMemory | ErrorCode::Unknown
        )
    )
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
        E::Connect(code) => format!("connect failed: {}", code.name()),
        E::Dns(code) => format!("name lookup failed: {}", code.name()),
        E::InvalidInput(why) => format!("invalid input: {why}"),
        E::Io(why) => format!("i/o error: {}", why.lines().next().unwrap_or_default()),
        E::Timeout => "timed out".into(),
        E::ClosedBeforeHead => "the peer closed the connection before a response head".into(),
        E::ClosedInsideHead => "the peer closed the connection inside a head".into(),
        E::HeadTooLarge => "head too large".into(),
        E::TooManyHeaders => "too many header fields".into(),
        E::MalformedHead(why) => format!("malformed head: {why}"),
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
