//! The component's client side in wasmtime against native loopback servers: the bytes on the
//! wire, the bytes handed over, and the errors.

mod common;

use common::*;
use hijack_host::{ClientRequest, Header, HijackError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SWITCH: &[u8] = b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switch_and_first_bytes_in_one_write_are_handed_over_exactly() -> anyhow::Result<()> {
    let (listener, addr) = listener().await;
    let server = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await?;
        let request = read_head(&mut s).await;
        let mut reply = SWITCH.to_vec();
        reply.extend_from_slice(b"hello from the new protocol");
        s.write_all(&reply).await?;
        // Then an echo of what the client sends over the hijacked connection.
        let got = read_exact(&mut s, 4).await;
        s.write_all(&got).await?;
        s.shutdown().await?;
        anyhow::Ok(request)
    });
    let mut instance = runtime().instantiate(connect_to(addr)).await?;
    let mut request = ClientRequest::new("POST", "/containers/c1/attach?stream=1&stdin=1", "tcp");
    request
        .headers
        .push(Header::new("User-Agent", "hijack-test"));
    let (head, mut conn) = instance
        .dial(&addr.to_string(), request, Default::default())
        .await?;
    assert_eq!(head.status, 101);
    assert_eq!(conn.buffered(), b"hello from the new protocol");
    conn.write_all(b"ping").await?;
    let rest = read_to_end(&mut conn).await;
    assert_eq!(rest, b"hello from the new protocolping");
    let request = server.await??;
    assert_eq!(
        String::from_utf8(request)?,
        format!(
            "POST /containers/c1/attach?stream=1&stdin=1 HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nUser-Agent: hijack-test\r\n\r\n"
        )
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_101_is_a_typed_error_and_nothing_is_handed_over() -> anyhow::Result<()> {
    let (listener, addr) = listener().await;
    let server = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await?;
        read_head(&mut s).await;
        s.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nno such c")
            .await?;
        // The component must close: no byte of a new protocol is ever sent.
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).await?;
        anyhow::Ok(rest)
    });
    let mut instance = runtime().instantiate(connect_to(addr)).await?;
    let err = typed_err(get(&mut instance, addr).await);
    match err {
        HijackError::NotSwitched(r) => {
            assert_eq!(r.head.status, 404);
            assert_eq!(r.head.reason, "Not Found");
            assert_eq!(r.body, b"no such c");
        }
        other => panic!("expected not-switched, got {other:?}"),
    }
    assert_eq!(server.await??, b"");
    Ok(())
}

/// A server that reads the request head, then runs `reply` on the socket.
async fn serve_once<F, Fut>(
    reply: F,
) -> (
    std::net::SocketAddr,
    tokio::task::JoinHandle<anyhow::Result<Vec<u8>>>,
)
where
    F: FnOnce(tokio::net::TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let (listener, addr) = listener().await;
    let task = tokio::spawn(async move {
        let (mut s, _) = tokio::time::timeout(LIMIT, listener.accept()).await??;
        s.set_nodelay(true)?;
        let head = read_head(&mut s).await;
        reply(s).await?;
        Ok(head)
    });
    (addr, task)
}

/// `GET /` asking for `tcp` from `instance`.
async fn get(
    instance: &mut hijack_host::Instance,
    addr: std::net::SocketAddr,
) -> Result<(hijack_host::ResponseHead, hijack_host::HijackedStream), hijack_host::Error> {
    instance
        .dial(
            &addr.to_string(),
            ClientRequest::new("GET", "/", "tcp"),
            Default::default(),
        )
        .await
}

/// `GET /` asking for `protocol`, from a fresh instance allowed to reach `addr` only.
async fn dial_with(
    addr: std::net::SocketAddr,
    protocol: &str,
    options: hijack_host::ClientOptions,
) -> Result<(hijack_host::ResponseHead, hijack_host::HijackedStream), hijack_host::Error> {
    dial_request_with(addr, ClientRequest::new("GET", "/", protocol), options).await
}

/// `request` with `options`, from a fresh instance allowed to reach `addr` only.
async fn dial_request_with(
    addr: std::net::SocketAddr,
    request: ClientRequest,
    options: hijack_host::ClientOptions,
) -> Result<(hijack_host::ResponseHead, hijack_host::HijackedStream), hijack_host::Error> {
    let mut instance = runtime()
        .instantiate(connect_to(addr))
        .await
        .expect("instantiate");
    instance.dial(&addr.to_string(), request, options).await
}

async fn dial_default(
    addr: std::net::SocketAddr,
    protocol: &str,
) -> Result<(hijack_host::ResponseHead, hijack_host::HijackedStream), hijack_host::Error> {
    dial_with(addr, protocol, Default::default()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn byte_at_a_time_delivery_loses_and_repeats_nothing() -> anyhow::Result<()> {
    let tail: Vec<u8> = (0u8..=255).cycle().take(600).collect();
    let mut reply = SWITCH.to_vec();
    reply.extend_from_slice(&tail);
    let (addr, server) = serve_once(move |mut s| async move {
        for b in reply {
            s.write_all(&[b]).await?;
            s.flush().await?;
            tokio::task::yield_now().await;
        }
        s.shutdown().await?;
        Ok(())
    })
    .await;
    let (head, mut conn) = dial_default(addr, "tcp").await?;
    assert_eq!(head.status, 101);
    let got = read_to_end(&mut conn).await;
    assert_eq!(got, tail);
    server.await??;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interim_100_is_skipped_and_the_101_tail_is_exact() -> anyhow::Result<()> {
    let (addr, server) = serve_once(|mut s| async move {
        let mut reply = b"HTTP/1.1 100 Continue\r\n\r\n".to_vec();
        reply.extend_from_slice(SWITCH);
        reply.extend_from_slice(b"\x01\x00\x00\x00\x00\x00\x00\x02hi");
        s.write_all(&reply).await?;
        s.shutdown().await?;
        Ok(())
    })
    .await;
    let (head, mut conn) = dial_default(addr, "TCP").await?;
    assert_eq!(head.status, 101);
    assert_eq!(
        read_to_end(&mut conn).await,
        b"\x01\x00\x00\x00\x00\x00\x00\x02hi"
    );
    server.await??;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_101_for_another_protocol_is_not_a_switch() -> anyhow::Result<()> {
    let (addr, server) = serve_once(|mut s| async move {
        s.write_all(
            b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\nPRI",
        )
        .await?;
        Ok(())
    })
    .await;
    let err = typed_err(dial_default(addr, "tcp").await);
    match err {
        HijackError::InvalidSwitch(h) => assert_eq!(h.status, 101),
        other => panic!("expected invalid-switch, got {other:?}"),
    }
    server.await??;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_101_without_connection_upgrade_is_not_a_switch() -> anyhow::Result<()> {
    let (addr, server) = serve_once(|mut s| async move {
        s.write_all(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: tcp\r\n\r\n")
            .await?;
        Ok(())
    })
    .await;
    let err = typed_err(dial_default(addr, "tcp").await);
    assert!(matches!(err, HijackError::InvalidSwitch(_)), "{err:?}");
    server.await??;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_closing_mid_head_is_an_error() -> anyhow::Result<()> {
    let (addr, server) = serve_once(|mut s| async move {
        s.write_all(b"HTTP/1.1 101 Switching Protocols\r\nUpgr")
            .await?;
        s.shutdown().await?;
        Ok(())
    })
    .await;
    let err = typed_err(dial_default(addr, "tcp").await);
    assert!(matches!(err, HijackError::ClosedInsideHead), "{err:?}");
    server.await??;

    let (addr, server) = serve_once(|mut s| async move {
        s.shutdown().await?;
        Ok(())
    })
    .await;
    let err = typed_err(dial_default(addr, "tcp").await);
    assert!(matches!(err, HijackError::ClosedBeforeHead), "{err:?}");
    server.await??;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_refused_then_the_same_instance_still_works() -> anyhow::Result<()> {
    // A port that was free a moment ago: nothing listens there now.
    let (l, closed) = listener().await;
    drop(l);
    let (addr, server) = serve_once(|mut s| async move {
        let mut reply = SWITCH.to_vec();
        reply.extend_from_slice(b"after");
        s.write_all(&reply).await?;
        s.shutdown().await?;
        Ok(())
    })
    .await;
    let policy = hijack_host::NetPolicy::new()
        .allow_connect(closed)
        .allow_connect(addr);
    let mut instance = runtime().instantiate(policy).await?;
    let err = typed_err(get(&mut instance, closed).await);
    assert!(
        matches!(
            err,
            HijackError::Connect(hijack_host::ErrorCode::ConnectionRefused)
        ),
        "{err:?}"
    );
    let (head, mut conn) = get(&mut instance, addr).await?;
    assert_eq!(head.status, 101);
    assert_eq!(read_to_end(&mut conn).await, b"after");
    server.await??;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_crlf_is_refused_before_any_byte_is_sent() -> anyhow::Result<()> {
    let (listener, addr) = listener().await;
    let mut instance = runtime().instantiate(connect_to(addr)).await?;
    let bad = [
        ("X-Evil", b"a\r\nInjected: yes".to_vec()),
        ("X-Evil", b"a\nb".to_vec()),
        ("X-Evil", b"a\0b".to_vec()),
        ("Bad Name", b"v".to_vec()),
        ("Upgrade", b"h2c".to_vec()),
        ("content-length", b"5".to_vec()),
    ];
    for (name, value) in bad {
        let mut request = ClientRequest::new("GET", "/", "tcp");
        request.headers.push(Header::new(name, value.clone()));
        let err = typed_err(
            instance
                .dial(&addr.to_string(), request, Default::default())
                .await,
        );
        assert!(
            matches!(err, HijackError::InvalidInput(_)),
            "{name}: {err:?}"
        );
    }
    let err = typed_err(
        instance
            .dial(
                &addr.to_string(),
                ClientRequest::new("GET", "/a b", "tcp"),
                Default::default(),
            )
            .await,
    );
    assert!(matches!(err, HijackError::InvalidInput(_)), "{err:?}");
    // Nothing connected at all.
    let accepted =
        tokio::time::timeout(std::time::Duration::from_millis(300), listener.accept()).await;
    assert!(
        accepted.is_err(),
        "the component connected despite invalid input"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_peer_times_out_and_a_huge_head_is_refused() -> anyhow::Result<()> {
    let (addr, server) = serve_once(|s| async move {
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        drop(s);
        Ok(())
    })
    .await;
    let mut options = hijack_host::ClientOptions::default();
    options.limits.head_timeout_ms = Some(200);
    let err = typed_err(dial_with(addr, "tcp", options).await);
    assert!(matches!(err, HijackError::Timeout), "{err:?}");
    server.await??;

    let (addr, server) = serve_once(|mut s| async move {
        let mut reply = b"HTTP/1.1 101 Switching Protocols\r\n".to_vec();
        reply.extend(
            std::iter::repeat_n(b"X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n", 100).flatten(),
        );
        let _ = s.write_all(&reply).await;
        Ok(())
    })
    .await;
    let mut options = hijack_host::ClientOptions::default();
    options.limits.max_head_bytes = Some(1024);
    let err = typed_err(dial_with(addr, "tcp", options).await);
    assert!(matches!(err, HijackError::HeadTooLarge), "{err:?}");
    server.await??;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_denies_what_it_was_not_told() -> anyhow::Result<()> {
    let (_listener, addr) = listener().await;
    let (_other, elsewhere) = listener().await;
    let mut instance = runtime().instantiate(connect_to(elsewhere)).await?;
    let err = typed_err(get(&mut instance, addr).await);
    assert!(
        matches!(
            err,
            HijackError::Connect(hijack_host::ErrorCode::AccessDenied)
        ),
        "{err:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_goes_out_with_its_exact_content_length() -> anyhow::Result<()> {
    let (listener, addr) = listener().await;
    let server = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await?;
        let head = read_head(&mut s).await;
        let body = read_exact(&mut s, 17).await;
        s.write_all(SWITCH).await?;
        s.shutdown().await?;
        anyhow::Ok((head, body))
    });
    let mut instance = runtime().instantiate(connect_to(addr)).await?;
    let mut request = ClientRequest::new("POST", "/exec/abc/start", "tcp");
    request
        .headers
        .push(Header::new("Content-Type", "application/json"));
    request.body = Some(br#"{"Detach":false}"#.to_vec());
    request.body.as_mut().unwrap().push(b'\n');
    let (_, mut conn) = instance
        .dial(&addr.to_string(), request, Default::default())
        .await?;
    assert_eq!(read_to_end(&mut conn).await, b"");
    let (head, body) = server.await??;
    assert_eq!(
        String::from_utf8(head)?,
        format!(
            "POST /exec/abc/start HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n"
        )
    );
    assert_eq!(body, b"{\"Detach\":false}\n");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_close_ends_our_side_and_keeps_reading_theirs() -> anyhow::Result<()> {
    let (addr, server) = serve_once(|mut s| async move {
        s.write_all(SWITCH).await?;
        // Everything the client sends, up to its half-close...
        let got = read_to_end(&mut s).await;
        // ...then an answer on the side that is still open.
        s.write_all(b"got:").await?;
        s.write_all(&got).await?;
        s.shutdown().await?;
        Ok(())
    })
    .await;
    let (_, mut conn) = dial_default(addr, "tcp").await?;
    conn.write_all(b"stdin until EOF").await?;
    conn.shutdown().await?;
    assert!(
        conn.write_all(b"late").await.is_err(),
        "a write after half-close must fail"
    );
    assert_eq!(read_to_end(&mut conn).await, b"got:stdin until EOF");
    server.await??;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_answers_are_typed_errors_and_the_instance_lives_on() -> anyhow::Result<()> {
    let garbage: [&'static [u8]; 9] = [
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"HTTP/1.1 99999 Big\r\n\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade tcp\r\n\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n folded: yes\r\nUpgrade: tcp\r\n\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: tcp\r\nConnection: Upgrade\rX: y\r\n\r\n",
        b"\x00\x01\x02\x03\xff\xfe\r\n\r\n",
        b"HTTP/3.0 101 Switching Protocols\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    ];
    let (listener, addr) = listener().await;
    let server = tokio::spawn(async move {
        for reply in garbage.iter().copied().chain([SWITCH]) {
            let (mut s, _) = tokio::time::timeout(LIMIT, listener.accept()).await??;
            read_head(&mut s).await;
            let _ = s.write_all(reply).await;
            let _ = s.shutdown().await;
        }
        anyhow::Ok(())
    });
    let mut instance = runtime().instantiate(connect_to(addr)).await?;
    for reply in garbage {
        let result = get(&mut instance, addr).await;
        let err = typed_err(result);
        assert!(
            !matches!(err, HijackError::InvalidInput(_)),
            "{:?}: {err:?}",
            String::from_utf8_lossy(reply)
        );
    }
    let (head, mut conn) = get(&mut instance, addr).await?;
    assert_eq!(head.status, 101);
    assert_eq!(read_to_end(&mut conn).await, b"");
    server.await??;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_errors_branch_by_predicate_and_display_one_line() -> anyhow::Result<()> {
    use std::error::Error as _;
    let one_line = |e: &hijack_host::Error| {
        let text = e.to_string();
        assert!(!text.is_empty() && !text.contains('\n'), "{text:?}");
        text
    };

    // Not switched: the refusal is reachable, and it is nothing else.
    let (addr, server) = serve_once(|mut s| async move {
        s.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno")
            .await?;
        Ok(())
    })
    .await;
    let err = dial_default(addr, "tcp").await.err().expect("a refusal");
    assert!(err.is_not_switched());
    let refusal = err.refusal().expect("the refusal");
    assert_eq!(
        (refusal.head.status, refusal.body.as_slice()),
        (403, &b"no"[..])
    );
    assert!(!err.is_timeout() && !err.is_invalid_input() && !err.is_denied());
    assert!(!err.is_invalid_switch() && !err.is_trap());
    assert_eq!(
        one_line(&err),
        "the peer did not switch protocols: 403 Forbidden"
    );
    assert!(err.source().is_none());
    server.await??;

    // A deadline.
    let (addr, server) = serve_once(|s| async move {
        tokio::time::sleep(std::time::Duration::from_millis(800)).await;
        drop(s);
        Ok(())
    })
    .await;
    let mut options = hijack_host::ClientOptions::default();
    options.limits.head_timeout_ms = Some(100);
    let err = dial_with(addr, "tcp", options)
        .await
        .err()
        .expect("a timeout");
    assert!(err.is_timeout() && !err.is_not_switched() && err.refusal().is_none());
    assert_eq!(one_line(&err), "timed out");
    server.await??;

    // Invalid input, and a denial by the policy.
    let (_listener, addr) = listener().await;
    let mut instance = runtime().instantiate(connect_to(addr)).await?;
    let err = instance
        .dial(
            &addr.to_string(),
            ClientRequest::new("GET", "/\r\nX: y", "tcp"),
            Default::default(),
        )
        .await
        .err()
        .expect("invalid input");
    assert!(err.is_invalid_input() && !err.is_denied());
    assert!(one_line(&err).starts_with("invalid input: target"));
    let (_other, elsewhere) = listener().await;
    let err = get(&mut instance, elsewhere).await.err().expect("denied");
    assert!(err.is_denied() && !err.is_invalid_input());
    assert_eq!(one_line(&err), "connect failed: access-denied");

    // The runtime's own failure keeps its cause as the source, and shows one line.
    let err = hijack_host::Runtime::from_bytes(b"not a component")
        .err()
        .expect("not wasm");
    assert!(matches!(err, hijack_host::Error::Runtime(_)), "{err:?}");
    assert!(err.hijack().is_none() && !err.is_trap());
    assert!(one_line(&err).starts_with("runtime: "));
    assert!(err.source().is_some(), "the cause is kept");
    Ok(())
}

/// The value of field `name` in a raw head, if present.
fn field<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// A WebSocket server's answer for the request it read: the RFC 6455 accept computed here
/// (by the core's function, checked against the RFC's example in the proto tests).
fn websocket_answer(request: &str, accept_override: Option<&str>) -> Vec<u8> {
    let key = field(request, "sec-websocket-key").expect("a key");
    let accept = accept_override
        .map(str::to_owned)
        .unwrap_or_else(|| wasi_hijack::proto::websocket::accept(key.as_bytes()));
    let mut out = format!("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n")
        .into_bytes();
    out.extend_from_slice(b"\x81\x02hi");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_sends_a_fresh_key_and_switches_only_on_its_accept() -> anyhow::Result<()> {
    let mut keys = Vec::new();
    for (accept, switches) in [
        (None, true),
        (Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), false),
        (Some(""), false),
    ] {
        // A peer that answers from the key it read.
        let (listener, addr) = listener().await;
        let peer = tokio::spawn(async move {
            let (mut s, _) = tokio::time::timeout(LIMIT, listener.accept()).await??;
            let head = String::from_utf8(read_head(&mut s).await)?;
            let answer = websocket_answer(&head, accept);
            s.write_all(&answer).await?;
            let mut rest = Vec::new();
            let _ = tokio::time::timeout(LIMIT, s.read_to_end(&mut rest)).await;
            anyhow::Ok((head, rest))
        });
        let result = dial_default(addr, "websocket").await;
        let handed = match result {
            Ok((head, mut conn)) => {
                assert_eq!(head.status, 101);
                assert_eq!(conn.buffered(), b"\x81\x02hi");
                conn.shutdown().await?;
                true
            }
            Err(e) => {
                assert!(e.is_invalid_switch(), "{e}");
                false
            }
        };
        assert_eq!(handed, switches, "accept {accept:?}");
        let (head, rest) = peer.await??;
        assert!(head.starts_with("GET / HTTP/1.1\r\n"), "{head}");
        assert_eq!(field(&head, "upgrade"), Some("websocket"));
        assert_eq!(field(&head, "sec-websocket-version"), Some("13"));
        let key = field(&head, "sec-websocket-key").expect("key").to_owned();
        assert!(
            wasi_hijack::proto::websocket::is_valid_key(key.as_bytes()),
            "{key}"
        );
        // Nothing of the new protocol was sent, switched or not.
        assert_eq!(rest, b"");
        keys.push(key);
    }
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 3, "a fresh key for every connection");

    // A WebSocket handshake is GET: anything else is refused before a byte is sent.
    let (_l, addr) = listener().await;
    let err = dial_with_request(addr, ClientRequest::new("POST", "/", "websocket")).await;
    assert!(err.err().expect("invalid input").is_invalid_input());
    Ok(())
}

/// `request` from a fresh instance allowed to reach `addr` only.
async fn dial_with_request(
    addr: std::net::SocketAddr,
    request: ClientRequest,
) -> Result<(hijack_host::ResponseHead, hijack_host::HijackedStream), hijack_host::Error> {
    dial_request_with(addr, request, Default::default()).await
}

fn connect_request(target: &str) -> ClientRequest {
    ClientRequest::new("CONNECT", target, "")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_opens_a_tunnel_on_any_2xx_ignoring_its_framing() -> anyhow::Result<()> {
    let (addr, proxy) = serve_once(|mut s| async move {
        s.write_all(b"HTTP/1.1 200 Connection established\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\ntunnel-bytes")
            .await?;
        let mut got = [0u8; 4];
        tokio::time::timeout(LIMIT, s.read_exact(&mut got)).await??;
        s.write_all(&got).await?;
        Ok(())
    })
    .await;
    let (head, mut conn) = dial_with_request(addr, connect_request("db.internal:5432")).await?;
    assert_eq!(head.status, 200);
    assert_eq!(conn.buffered(), b"tunnel-bytes");
    assert_eq!(read_exact(&mut conn, 12).await, b"tunnel-bytes");
    conn.write_all(b"ping").await?;
    assert_eq!(read_exact(&mut conn, 4).await, b"ping");
    assert_eq!(
        String::from_utf8(proxy.await??)?,
        "CONNECT db.internal:5432 HTTP/1.1\r\nHost: db.internal:5432\r\n\r\n"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connect_is_not_switched_and_its_body_is_never_tunnel_data() -> anyhow::Result<()>
{
    let (addr, proxy) = serve_once(|mut s| async move {
        s.write_all(
            b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 6\r\n\r\ndenied",
        )
        .await?;
        Ok(())
    })
    .await;
    let err = dial_with_request(addr, connect_request("[::1]:22"))
        .await
        .err()
        .expect("refused");
    let refusal = err.refusal().expect("not switched");
    assert_eq!(
        (refusal.head.status, refusal.body.as_slice()),
        (407, &b"denied"[..])
    );
    assert_eq!(
        String::from_utf8(proxy.await??)?,
        "CONNECT [::1]:22 HTTP/1.1\r\nHost: [::1]:22\r\n\r\n"
    );
    // A 101 is no answer to CONNECT.
    let (addr, proxy) = serve_once(|mut s| async move {
        s.write_all(SWITCH).await?;
        Ok(())
    })
    .await;
    let err = dial_with_request(addr, connect_request("db:1"))
        .await
        .err()
        .expect("no");
    assert!(err.is_invalid_switch(), "{err}");
    proxy.await??;
    // A CONNECT carries no protocol and no body, and needs host:port.
    let (_l, addr) = listener().await;
    for request in [
        ClientRequest::new("CONNECT", "db:1", "tcp"),
        ClientRequest::new("CONNECT", "/path", ""),
        ClientRequest {
            body: Some(b"x".to_vec()),
            ..connect_request("db:1")
        },
    ] {
        let err = dial_with_request(addr, request)
            .await
            .err()
            .expect("invalid");
        assert!(err.is_invalid_input(), "{err}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_legacy_200_is_hijacked_only_when_allowed() -> anyhow::Result<()> {
    const LEGACY: &[u8] =
        b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\nraw";
    let (addr, peer) = serve_once(|mut s| async move {
        s.write_all(LEGACY).await?;
        Ok(())
    })
    .await;
    let err = dial_default(addr, "tcp").await.err().expect("refused");
    assert_eq!(err.refusal().expect("not switched").head.status, 200);
    peer.await??;

    let (addr, peer) = serve_once(|mut s| async move {
        s.write_all(LEGACY).await?;
        s.shutdown().await?;
        Ok(())
    })
    .await;
    let options = hijack_host::ClientOptions {
        allow_200: true,
        ..Default::default()
    };
    let (head, mut conn) = dial_with(addr, "tcp", options).await?;
    assert_eq!(head.status, 200);
    assert_eq!(read_to_end(&mut conn).await, b"raw");
    peer.await??;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keepalive_is_set_on_the_dialed_socket() -> anyhow::Result<()> {
    let (addr, peer) = serve_once(|mut s| async move {
        s.write_all(SWITCH).await?;
        let mut one = [0u8; 1];
        let _ = tokio::time::timeout(LIMIT, s.read(&mut one)).await;
        Ok(())
    })
    .await;
    let options = hijack_host::ClientOptions {
        keepalive_ms: Some(30_000),
        ..Default::default()
    };
    let (_head, conn) = dial_with(addr, "tcp", options).await?;
    // The kernel's view of our side of the connection: a keepalive timer is armed.
    let out = std::process::Command::new("ss")
        .args(["-tno", "state", "established", "dst", &addr.to_string()])
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("timer:(keepalive"), "{text}");
    drop(conn);
    peer.await??;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_handed_over_socket_is_the_connection_itself() -> anyhow::Result<()> {
    let (listener, addr) = listener().await;
    let server = tokio::spawn(async move {
        let (mut s, peer) = listener.accept().await?;
        read_head(&mut s).await;
        let mut reply = SWITCH.to_vec();
        reply.extend_from_slice(b"early");
        s.write_all(&reply).await?;
        let got = read_exact(&mut s, 5).await;
        s.write_all(b"late").await?;
        s.shutdown().await?;
        anyhow::Ok((peer, got))
    });
    let mut instance = runtime().instantiate(connect_to(addr)).await?;
    let (_, conn) = instance
        .dial(
            &addr.to_string(),
            ClientRequest::new("GET", "/", "tcp"),
            Default::default(),
        )
        .await?;
    let (buffered, mut socket) = conn.into_parts();
    assert_eq!(&buffered[..], b"early");
    // A plain tokio socket: its ends are the server's, seen from this side.
    assert_eq!(socket.peer_addr()?, addr);
    let local = socket.local_addr()?;
    socket.write_all(b"hello").await?;
    assert_eq!(read_to_end(&mut socket).await, b"late");
    let (peer, got) = server.await??;
    assert_eq!(peer, local);
    assert_eq!(got, b"hello");
    // Nothing of the connection stays in the component's table.
    assert_eq!(instance.open_handles(), 0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ipv6_peer_is_dialed_on_an_ipv6_socket() -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind("[::1]:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move {
        let (mut s, peer) = listener.accept().await?;
        let head = read_head(&mut s).await;
        s.write_all(SWITCH).await?;
        s.write_all(b"v6").await?;
        s.shutdown().await?;
        anyhow::Ok((peer, head))
    });
    let mut instance = runtime().instantiate(connect_to(addr)).await?;
    let (head, mut conn) = instance
        .dial(
            &addr.to_string(),
            ClientRequest::new("GET", "/v6", "tcp"),
            Default::default(),
        )
        .await?;
    assert_eq!(head.status, 101);
    let local = conn.local_addr()?;
    assert!(local.is_ipv6(), "{local}");
    assert_eq!(read_to_end(&mut conn).await, b"v6");
    let (peer, request) = server.await??;
    assert_eq!(peer, local);
    assert_eq!(
        String::from_utf8(request)?,
        format!("GET /v6 HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pooled_runtime_gives_out_its_slots_then_refuses_then_reuses_them() -> anyhow::Result<()>
{
    let pooled = hijack_host::Runtime::builder().pooling(2).build()?;
    let (listener, addr) = listener().await;
    let first = pooled.instantiate(connect_to(addr)).await?;
    let mut second = pooled.instantiate(connect_to(addr)).await?;
    // Both slots are taken: a third instance is a runtime error, not a wait or a panic.
    let third = pooled.instantiate(connect_to(addr)).await;
    assert!(
        matches!(third, Err(hijack_host::Error::Runtime(_))),
        "{:?}",
        third.err()
    );
    drop(first);
    let mut again = pooled.instantiate(connect_to(addr)).await?;
    // Instances from the pool do the whole exchange.
    let server = tokio::spawn(async move {
        for _ in 0..2 {
            let (mut s, _) = listener.accept().await?;
            read_head(&mut s).await;
            s.write_all(SWITCH).await?;
            s.write_all(b"pooled").await?;
            s.shutdown().await?;
        }
        anyhow::Ok(())
    });
    for instance in [&mut second, &mut again] {
        let (head, mut conn) = instance
            .dial(
                &addr.to_string(),
                ClientRequest::new("GET", "/", "tcp"),
                Default::default(),
            )
            .await?;
        assert_eq!(head.status, 101);
        assert_eq!(read_to_end(&mut conn).await, b"pooled");
    }
    server.await??;
    Ok(())
}
