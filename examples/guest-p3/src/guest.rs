//! The wasm32 side of the crate.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use wit_bindgen::{StreamReader, StreamResult, StreamWriter};

/// The generated bindings to `hijack:http/{types,client,server}@0.3.0` and wasi:sockets 0.3,
/// and the `wasi:cli/run@0.3.0` export an example implements (`run!`): an async `run`, for a
/// synchronous one (std's `main`) may not wait on anything.
#[allow(missing_docs, unsafe_code)]
pub mod bindings {
    wit_bindgen::generate!({
        inline: r#"
            package hijack:guest-p3;
            world guest {
                import hijack:http/client@0.3.0;
                import hijack:http/server@0.3.0;
                import wasi:sockets/types@0.3.0;
                import wasi:sockets/ip-name-lookup@0.3.0;
                import wasi:clocks/monotonic-clock@0.3.0;
                export wasi:cli/run@0.3.0;
            }
        "#,
        path: "../../wit-p3",
        generate_all,
        pub_export_macro: true,
        export_macro_name: "export_run",
    });
}

/// Export `$main` (an `async fn() -> std::process::ExitCode`) as the component's
/// `wasi:cli/run@0.3.0`.
#[macro_export]
macro_rules! run {
    ($main:path) => {
        struct Run;
        impl $crate::bindings::exports::wasi::cli::run::Guest for Run {
            async fn run() -> Result<(), ()> {
                if $main().await == std::process::ExitCode::SUCCESS {
                    Ok(())
                } else {
                    Err(())
                }
            }
        }
        $crate::bindings::export_run!(Run with_types_in $crate::bindings);
    };
}

pub use bindings::hijack::http::{client, server, types};
pub use bindings::wasi::clocks::monotonic_clock;
pub use bindings::wasi::sockets;
pub use bindings::{wit_future, wit_stream};
/// The sans-IO core the component itself uses: authorities, Go's accept back-off.
pub use hijack_proto as proto;

use sockets::types::{
    ErrorCode, IpAddress, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress,
    TcpSocket,
};

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

/// Dial options with every field at the component's default.
pub fn default_options() -> client::Options {
    client::Options {
        limits: default_limits(),
        connect_timeout_ms: None,
        keepalive_ms: None,
        allow_200: false,
    }
}

/// The WASI form of a socket address.
pub fn to_wasi(addr: SocketAddr) -> IpSocketAddress {
    match addr {
        SocketAddr::V4(a) => {
            let [b0, b1, b2, b3] = a.ip().octets();
            IpSocketAddress::Ipv4(Ipv4SocketAddress {
                port: a.port(),
                address: (b0, b1, b2, b3),
            })
        }
        SocketAddr::V6(a) => {
            let [s0, s1, s2, s3, s4, s5, s6, s7] = a.ip().segments();
            IpSocketAddress::Ipv6(Ipv6SocketAddress {
                port: a.port(),
                flow_info: a.flowinfo(),
                address: (s0, s1, s2, s3, s4, s5, s6, s7),
                scope_id: a.scope_id(),
            })
        }
    }
}

/// The std form of a socket address.
pub fn from_wasi(addr: IpSocketAddress) -> SocketAddr {
    match addr {
        IpSocketAddress::Ipv4(a) => {
            let (b0, b1, b2, b3) = a.address;
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(b0, b1, b2, b3)), a.port)
        }
        IpSocketAddress::Ipv6(a) => {
            let (s0, s1, s2, s3, s4, s5, s6, s7) = a.address;
            let ip = Ipv6Addr::new(s0, s1, s2, s3, s4, s5, s6, s7);
            SocketAddr::new(IpAddr::V6(ip), a.port)
        }
    }
}

fn with_port(ip: IpAddress, port: u16) -> IpSocketAddress {
    let ip = match ip {
        IpAddress::Ipv4((a, b, c, d)) => IpAddr::V4(Ipv4Addr::new(a, b, c, d)),
        IpAddress::Ipv6((a, b, c, d, e, f, g, h)) => {
            IpAddr::V6(Ipv6Addr::new(a, b, c, d, e, f, g, h))
        }
    };
    to_wasi(SocketAddr::new(ip, port))
}

/// A TCP connection to `authority` (`host:port`): the name looked up, its addresses tried in
/// order. The error names what failed, in the WIT's words.
pub async fn connect(authority: &str) -> Result<TcpSocket, String> {
    let target = proto::parse_authority(authority).map_err(|e| format!("bad target: {e}"))?;
    let ips = match target.ip() {
        Some(ip) => vec![match to_wasi(SocketAddr::new(ip, 0)) {
            IpSocketAddress::Ipv4(a) => IpAddress::Ipv4(a.address),
            IpSocketAddress::Ipv6(a) => IpAddress::Ipv6(a.address),
        }],
        None => sockets::ip_name_lookup::resolve_addresses(target.host.to_owned())
            .await
            .map_err(|e| format!("name lookup failed: {}", lookup_name(&e)))?,
    };
    let mut last = String::from("name lookup failed: name-unresolvable");
    for ip in ips {
        let addr = with_port(ip, target.port);
        let family = match addr {
            IpSocketAddress::Ipv4(_) => IpAddressFamily::Ipv4,
            IpSocketAddress::Ipv6(_) => IpAddressFamily::Ipv6,
        };
        let socket =
            TcpSocket::create(family).map_err(|e| format!("socket error: {}", name(&e)))?;
        match socket.connect(addr).await {
            Ok(()) => return Ok(socket),
            Err(e) => last = format!("connect failed: {}", name(&e)),
        }
    }
    Err(last)
}

/// A socket error code as the WIT names it, e.g. `connection-refused`.
pub fn name(code: &ErrorCode) -> String {
    let s = match code {
        ErrorCode::AccessDenied => "access-denied",
        ErrorCode::NotSupported => "not-supported",
        ErrorCode::InvalidArgument => "invalid-argument",
        ErrorCode::OutOfMemory => "out-of-memory",
        ErrorCode::Timeout => "timeout",
        ErrorCode::InvalidState => "invalid-state",
        ErrorCode::AddressNotBindable => "address-not-bindable",
        ErrorCode::AddressInUse => "address-in-use",
        ErrorCode::RemoteUnreachable => "remote-unreachable",
        ErrorCode::ConnectionRefused => "connection-refused",
        ErrorCode::ConnectionBroken => "connection-broken",
        ErrorCode::ConnectionReset => "connection-reset",
        ErrorCode::ConnectionAborted => "connection-aborted",
        ErrorCode::DatagramTooLarge => "datagram-too-large",
        ErrorCode::Other(Some(text)) => return format!("other: {text}"),
        ErrorCode::Other(None) => "other",
    };
    s.to_owned()
}

/// A name-lookup error code as the WIT names it.
pub fn lookup_name(code: &sockets::ip_name_lookup::ErrorCode) -> String {
    use sockets::ip_name_lookup::ErrorCode as E;
    let s = match code {
        E::AccessDenied => "access-denied",
        E::InvalidArgument => "invalid-argument",
        E::NameUnresolvable => "name-unresolvable",
        E::TemporaryResolverFailure => "temporary-resolver-failure",
        E::PermanentResolverFailure => "permanent-resolver-failure",
        E::Other(Some(text)) => return format!("other: {text}"),
        E::Other(None) => "other",
    };
    s.to_owned()
}

/// One line for the component's error, in the words of the WASI 0.2 examples; an access
/// denial says which grant is missing.
pub fn describe(e: &types::Error) -> String {
    use sockets::ip_name_lookup::ErrorCode as LookupError;
    use types::Error as E;
    match e {
        E::Socket(ErrorCode::AccessDenied)
        | E::Connect(ErrorCode::AccessDenied)
        | E::Dns(LookupError::AccessDenied) => "access-denied (the runtime grants no network: \
             run with `wasmtime run -S inherit-network`)"
            .into(),
        E::Socket(code) => format!("socket error: {}", name(code)),
        E::Transient(code) => format!(
            "accept failed for now (out of descriptors or buffers): {}",
            name(code)
        ),
        E::Connect(code) => format!("connect failed: {}", name(code)),
        E::Dns(code) => format!("name lookup failed: {}", lookup_name(code)),
        E::InvalidInput(why) => format!("invalid input: {why}"),
        E::Io(why) => format!("i/o error: {why}"),
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
    }
}

/// Send on `socket`: `first`, then `data` until it ends, then a FIN; the socket's outcome.
/// What `connection.send` does for a connection the component handed over, for a socket
/// the example connected itself (a socket takes one stream, so the example feeds one).
pub async fn send(
    socket: &TcpSocket,
    first: Vec<u8>,
    data: StreamReader<u8>,
) -> Result<(), ErrorCode> {
    let (mut writer, outbound) = wit_stream::new::<u8>();
    let sent = socket.send(outbound);
    if writer.write_all(first).await.is_empty() {
        pump(data, &mut writer).await;
    }
    drop(writer);
    sent.await
}

/// Copy `from` into `to` until `from` ends or `to`'s reader goes away.
pub async fn pump(mut from: StreamReader<u8>, to: &mut StreamWriter<u8>) {
    let mut buf = Vec::with_capacity(64 * 1024);
    loop {
        let (result, chunk) = from.read(buf).await;
        if !matches!(result, StreamResult::Complete(_)) {
            return;
        }
        buf = to.write_all(chunk).await;
        if !buf.is_empty() {
            return;
        }
        buf.reserve(64 * 1024);
    }
}

/// Both futures to completion, polled together.
pub async fn join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    use std::task::Poll;
    let (mut a, mut b) = (std::pin::pin!(a), std::pin::pin!(b));
    let (mut ra, mut rb) = (None, None);
    std::future::poll_fn(|cx| {
        if ra.is_none()
            && let Poll::Ready(v) = a.as_mut().poll(cx)
        {
            ra = Some(v);
        }
        if rb.is_none()
            && let Poll::Ready(v) = b.as_mut().poll(cx)
        {
            rb = Some(v);
        }
        if ra.is_some() && rb.is_some() {
            return Poll::Ready((ra.take().unwrap(), rb.take().unwrap()));
        }
        Poll::Pending
    })
    .await
}

/// `a`'s output, or `None` if `b` finishes first.
pub async fn select<A: Future, B: Future>(a: A, b: B) -> Option<A::Output> {
    let (mut a, mut b) = (std::pin::pin!(a), std::pin::pin!(b));
    std::future::poll_fn(|cx| {
        if let std::task::Poll::Ready(v) = a.as_mut().poll(cx) {
            return std::task::Poll::Ready(Some(v));
        }
        b.as_mut().poll(cx).map(|_| None)
    })
    .await
}

/// A server example's life: listen on `listen`, print `listening on ADDR` first on stdout,
/// then hand each accepted request to `serve` in a task of its own, pausing after a transient
/// accept error by Go's back-off (the core's rule). Returns only when it cannot listen or the
/// listener fails; `name` prefixes its lines on stderr.
pub async fn serve_forever<F, Fut>(
    name: &str,
    listen: SocketAddr,
    serve: F,
) -> std::process::ExitCode
where
    F: Fn(server::Incoming, server::Request) -> Fut,
    Fut: Future<Output = ()> + 'static,
{
    use std::io::Write;
    let listener = match server::Listener::bind(to_wasi(listen), default_listen_options()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{name}: cannot listen on {listen}: {}", describe(&e));
            return std::process::ExitCode::FAILURE;
        }
    };
    match listener.local_address() {
        Ok(addr) => println!("listening on {}", from_wasi(addr)),
        Err(e) => eprintln!("{name}: listening (address unknown: {})", describe(&e)),
    }
    let _ = std::io::stdout().flush();
    let mut backoff = proto::AcceptBackoff::default();
    loop {
        match listener.accept().await {
            Ok((incoming, request)) => {
                backoff.succeed();
                wit_bindgen::spawn_local(serve(incoming, request));
            }
            Err(types::Error::Transient(_)) => {
                let pause = backoff.fail();
                monotonic_clock::wait_for(pause.as_nanos() as u64).await;
            }
            Err(e) => {
                eprintln!("{name}: accept failed: {}", describe(&e));
                return std::process::ExitCode::FAILURE;
            }
        }
    }
}
