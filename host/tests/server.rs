//! The component's server side in wasmtime against native loopback clients: heads read
//! concurrently, the bytes buffered past the head handed over exactly, refusals and rejects.
//! Every wait is bounded.

use crate::support;

use hijack_host::{Header, HijackError, Instance, Limits, Listener, NetPolicy, ResponseHead};
use std::net::SocketAddr;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn server(limits: Limits) -> anyhow::Result<(Instance, Listener)> {
    let any: SocketAddr = "127.0.0.1:0".parse()?;
    let mut instance = runtime()
        .instantiate(NetPolicy::new().allow_listen(any))
        .await?;
    let listener = bounded(instance.listen(any, limits)).await?;
    assert_ne!(listener.local_addr.port(), 0);
    Ok((instance, listener))
}

async fn accept(
    instance: &mut Instance,
    listener: &Listener,
) -> anyhow::Result<hijack_host::Incoming> {
    Ok(bounded(instance.accept(listener)).await?)
}

const UPGRADE_REQUEST: &[u8] =
    b"POST /containers/c1/attach?stream=1 HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_and_payload_in_one_write_are_buffered_exactly() -> anyhow::Result<()> {
    let (mut instance, listener) = server(Limits::default()).await?;
    let addr = listener.local_addr;
    let client = tokio::spawn(async move {
        let mut s = connect_tcp(addr).await;
        let mut first = UPGRADE_REQUEST.to_vec();
        first.extend_from_slice(b"payload sent optimistically\r\n\r\nGET / HTTP/1.1\r\n\r\n");
        s.write_all(&first).await?;
        let head = read_head(&mut s).await;
        s.write_all(b"|more").await?;
        s.shutdown().await?;
        let rest = read_to_end(&mut s).await;
        anyhow::Ok((head, rest))
    });
    let incoming = accept(&mut instance, &listener).await?;
    assert_eq!(incoming.head.method, "POST");
    assert_eq!(incoming.head.target, "/containers/c1/attach?stream=1");
    assert_eq!(incoming.head.version, 1);
    assert_eq!(incoming.protocols, vec!["tcp".to_string()]);
    let fields: Vec<(&str, &[u8])> = incoming
        .head
        .headers
        .iter()
        .map(|h| (h.name.as_str(), h.value.as_slice()))
        .collect();
    assert_eq!(
        fields,
        [
            ("Host", &b"docker"[..]),
            ("Connection", b"Upgrade"),
            ("Upgrade", b"tcp")
        ]
    );
    let content_type = Header::new("Content-Type", "application/vnd.docker.raw-stream");
    let mut stream = bounded(instance.hijack(incoming, "tcp", vec![content_type])).await?;
    assert_eq!(
        stream.buffered(),
        b"payload sent optimistically\r\n\r\nGET / HTTP/1.1\r\n\r\n"
    );
    let all = read_to_end(&mut stream).await;
    assert_eq!(
        all,
        b"payload sent optimistically\r\n\r\nGET / HTTP/1.1\r\n\r\n|more"
    );
    stream.write_all(b"echo:").await?;
    stream.write_all(&all).await?;
    stream.shutdown().await?;
    let (head, rest) = join(client).await?;
    assert_eq!(
        head,
        b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n"
    );
    let mut expected = b"echo:".to_vec();
    expected.extend_from_slice(&all);
    assert_eq!(rest, expected);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_client_does_not_block_another() -> anyhow::Result<()> {
    let (mut instance, listener) = server(Limits::default()).await?;
    let addr = listener.local_addr;
    // The slow one connects first and sends half a head, then stalls. Its connect has
    // returned, so it is queued on the listener before the fast one exists: the component
    // takes it first whatever the timing.
    let mut slow = connect_tcp(addr).await;
    slow.write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\nConn")
        .await?;
    let fast = tokio::spawn(async move {
        let mut s = connect_tcp(addr).await;
        s.write_all(
            b"GET /fast HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: tcp\r\n\r\n",
        )
        .await?;
        anyhow::Ok(s)
    });
    let first = accept(&mut instance, &listener).await?;
    assert_eq!(first.head.target, "/fast");
    let _fast = join(fast).await?;
    // The slow one completes later and is accepted next, with its bytes intact.
    slow.write_all(b"ection: Upgrade\r\nUpgrade: tcp\r\n\r\nabc")
        .await?;
    let second = accept(&mut instance, &listener).await?;
    assert_eq!(second.head.target, "/slow");
    let stream = bounded(instance.hijack(second, "tcp", Vec::new())).await?;
    assert_eq!(stream.buffered(), b"abc");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusing_answers_exactly_and_closes() -> anyhow::Result<()> {
    let (mut instance, listener) = server(Limits::default()).await?;
    let addr = listener.local_addr;
    let client = tokio::spawn(async move {
        let mut s = connect_tcp(addr).await;
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await?;
        anyhow::Ok(read_to_end(&mut s).await)
    });
    let incoming = accept(&mut instance, &listener).await?;
    assert!(incoming.protocols.is_empty());
    let head = ResponseHead {
        version: 1,
        status: 426,
        reason: "Upgrade Required".into(),
        headers: vec![Header::new("Upgrade", "tcp")],
    };
    bounded(instance.respond(incoming, head, b"use tcp\n")).await?;
    assert_eq!(
        join(client).await?,
        b"HTTP/1.1 426 Upgrade Required\r\nUpgrade: tcp\r\nContent-Length: 8\r\nConnection: close\r\n\r\nuse tcp\n"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http10_upgrade_is_ignored_and_an_unoffered_protocol_is_refused_without_loss()
-> anyhow::Result<()> {
    let (mut instance, listener) = server(Limits::default()).await?;
    let addr = listener.local_addr;
    let client = tokio::spawn(async move {
        let mut s = connect_tcp(addr).await;
        s.write_all(b"GET / HTTP/1.0\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
            .await?;
        anyhow::Ok(read_to_end(&mut s).await)
    });
    let incoming = accept(&mut instance, &listener).await?;
    assert_eq!(incoming.head.version, 0);
    assert!(
        incoming.protocols.is_empty(),
        "Upgrade in HTTP/1.0 must be ignored"
    );
    // Switching to a protocol not offered, or answering with CR/LF in the reason, is refused
    // before a byte is sent, and the incoming is still usable.
    let err = typed_err(bounded(instance.try_hijack(&incoming, "tcp", Vec::new())).await);
    assert!(matches!(err, HijackError::InvalidInput(_)), "{err:?}");
    let bad = ResponseHead {
        version: 1,
        status: 200,
        reason: "OK\r\nX: y".into(),
        headers: Vec::new(),
    };
    let err = typed_err(bounded(instance.try_respond(&incoming, bad, b"")).await);
    assert!(matches!(err, HijackError::InvalidInput(_)), "{err:?}");
    // The server answers HTTP/1.1, even to HTTP/1.0: another version is refused, unsent.
    let old = ResponseHead {
        version: 0,
        status: 400,
        reason: "Bad Request".into(),
        headers: Vec::new(),
    };
    let err = typed_err(bounded(instance.try_respond(&incoming, old, b"")).await);
    assert!(
        matches!(&err, HijackError::InvalidInput(why) if why.contains("version must be 1")),
        "{err:?}"
    );
    let head = ResponseHead {
        version: 1,
        status: 400,
        reason: "Bad Request".into(),
        headers: Vec::new(),
    };
    bounded(instance.respond(incoming, head, b"")).await?;
    assert_eq!(
        join(client).await?,
        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_oversized_heads_are_rejected_and_accept_goes_on() -> anyhow::Result<()> {
    let limits = Limits {
        max_head_bytes: Some(512),
        ..Limits::default()
    };
    let (mut instance, listener) = server(limits).await?;
    let addr = listener.local_addr;
    let clients = tokio::spawn(async move {
        let mut bad = connect_tcp(addr).await;
        bad.write_all(b"GET / HTTP/1.1\r\nHost : x\r\n\r\n").await?;
        let bad_answer = read_to_end(&mut bad).await;
        let mut big = connect_tcp(addr).await;
        let mut head = b"GET / HTTP/1.1\r\n".to_vec();
        head.extend(std::iter::repeat_n(b'a', 600));
        big.write_all(&head).await?;
        let big_answer = read_to_end(&mut big).await;
        let mut good = connect_tcp(addr).await;
        good.write_all(
            b"GET /good HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: tcp\r\n\r\n",
        )
        .await?;
        let mut one = [0u8; 1];
        let _ = tokio::time::timeout(LIMIT, good.read(&mut one)).await;
        anyhow::Ok((bad_answer, big_answer))
    });
    let incoming = accept(&mut instance, &listener).await?;
    assert_eq!(incoming.head.target, "/good");
    drop(bounded(instance.hijack(incoming, "tcp", Vec::new())).await?);
    let (bad, big) = join(clients).await?;
    assert_eq!(
        bad,
        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    assert_eq!(
        big,
        b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_misses_the_head_deadline_is_closed_unanswered() -> anyhow::Result<()> {
    let limits = Limits {
        head_timeout_ms: Some(200),
        ..Limits::default()
    };
    let (mut instance, listener) = server(limits).await?;
    let addr = listener.local_addr;
    let started = std::time::Instant::now();
    let mut stalled = connect_tcp(addr).await;
    stalled
        .write_all(b"GET /stalled HTTP/1.1\r\nHost: x\r\n")
        .await?;
    // The later client comes once the stalled one is closed: while `accept` runs, so the
    // component closed it on its own deadline, not on anything the later one did.
    let (closed, stalled_closed) = tokio::sync::oneshot::channel();
    let stalled = tokio::spawn(async move {
        let rest = read_to_end(&mut stalled).await;
        let _ = closed.send(());
        (rest, started.elapsed())
    });
    let later = tokio::spawn(async move {
        bounded(stalled_closed).await?;
        let mut s = connect_tcp(addr).await;
        s.write_all(
            b"GET /later HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: tcp\r\n\r\n",
        )
        .await?;
        anyhow::Ok(s)
    });
    let incoming = accept(&mut instance, &listener).await?;
    assert_eq!(incoming.head.target, "/later");
    let (rest, closed_after) = join(stalled).await;
    assert_eq!(
        rest, b"",
        "a client past its deadline gets no answer, only a close"
    );
    assert!(
        closed_after >= std::time::Duration::from_millis(200),
        "closed after {closed_after:?}, before its deadline"
    );
    drop(join(later).await?);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_incoming_closes_its_connection_and_releases_its_handles() -> anyhow::Result<()> {
    let (mut instance, listener) = server(Limits::default()).await?;
    let addr = listener.local_addr;
    let baseline = instance.open_handles();
    let mut client = connect_tcp(addr).await;
    client.write_all(UPGRADE_REQUEST).await?;
    let incoming = accept(&mut instance, &listener).await?;
    assert!(
        instance.open_handles() > baseline,
        "the connection holds handles"
    );
    drop(incoming);
    // Released at the instance's next call: the client sees the close, unanswered.
    bounded(instance.release_dropped()).await?;
    assert_eq!(read_to_end(&mut client).await, b"");
    assert_eq!(instance.open_handles(), baseline);

    // The same happens on the next ordinary call, without asking.
    let mut second = connect_tcp(addr).await;
    second.write_all(UPGRADE_REQUEST).await?;
    drop(accept(&mut instance, &listener).await?);
    let mut third = connect_tcp(addr).await;
    third.write_all(UPGRADE_REQUEST).await?;
    let kept = accept(&mut instance, &listener).await?;
    assert_eq!(read_to_end(&mut second).await, b"");
    let stream = bounded(instance.hijack(kept, "tcp", Vec::new())).await?;
    drop(stream);
    assert_eq!(
        read_to_end(&mut third).await,
        b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
    );
    assert_eq!(instance.open_handles(), baseline);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_listener_closes_pending_heads_and_frees_everything() -> anyhow::Result<()> {
    let (mut instance, listener) = server(Limits::default()).await?;
    let addr = listener.local_addr;
    let before_listen = {
        // The listener's own handles are all this instance holds.
        let held = instance.open_handles();
        assert!(held > 0);
        held
    };
    // One head still arriving when the listener goes is closed with it; one accepted
    // request outlives its listener.
    // `pending` is queued first (its connect has returned): the component takes it, and
    // reads its head, on its way to `accepted`.
    let mut pending = connect_tcp(addr).await;
    pending.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await?;
    let mut accepted = connect_tcp(addr).await;
    accepted.write_all(UPGRADE_REQUEST).await?;
    let incoming = accept(&mut instance, &listener).await?;
    drop(listener);
    bounded(instance.release_dropped()).await?;
    assert_eq!(read_to_end(&mut pending).await, b"");
    assert!(
        bounded(TcpStream::connect(addr)).await.is_err(),
        "the listening socket is closed"
    );
    let stream = bounded(instance.hijack(incoming, "tcp", Vec::new())).await?;
    drop(stream);
    assert!(read_head(&mut accepted).await.starts_with(b"HTTP/1.1 101 "));
    assert_eq!(
        instance.open_handles(),
        0,
        "was {before_listen} with the listener"
    );
    Ok(())
}

/// Send `request` on a fresh connection and read until the server closes.
async fn answer_to(addr: SocketAddr, request: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut s = connect_tcp(addr).await;
    s.write_all(request).await?;
    Ok(read_to_end(&mut s).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smuggling_shapes_get_400_or_501_and_never_reach_the_application() -> anyhow::Result<()> {
    const BAD: &[u8] =
        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    const NOT_IMPLEMENTED: &[u8] =
        b"HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    let (mut instance, listener) = server(Limits::default()).await?;
    let addr = listener.local_addr;
    let cases: Vec<(String, &[u8])> = [
        ("Content-Length: +5\r\n", BAD),
        ("Content-Length: 5\r\nContent-Length: 6\r\n", BAD),
        ("Content-Length: 5, 6\r\n", BAD),
        ("Content-Length: -1\r\n", BAD),
        ("Content-Length: 99999999999999999999999\r\n", BAD),
        ("Transfer-Encoding: gzip\r\n", BAD),
        ("Transfer-Encoding: chunked, gzip\r\n", BAD),
        ("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", BAD),
        ("Transfer-Encoding: foo, chunked\r\n", NOT_IMPLEMENTED),
    ]
    .into_iter()
    .map(|(fields, answer)| {
        (
            format!("POST /x HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n{fields}\r\nhelloGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"),
            answer,
        )
    })
    .chain([
        (
            "GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n".to_string(),
            BAD,
        ),
        (
            "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
                .to_string(),
            BAD,
        ),
        (
            "GET / HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n".to_string(),
            b"HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        ),
    ])
    .collect();
    let clients = tokio::spawn(async move {
        let mut answers = Vec::new();
        for (request, expected) in &cases {
            answers.push((
                answer_to(addr, request.as_bytes()).await?,
                expected.to_vec(),
            ));
        }
        // The application sees the next well-formed request, and only it.
        let mut good = connect_tcp(addr).await;
        good.write_all(UPGRADE_REQUEST).await?;
        let head = read_head(&mut good).await;
        anyhow::Ok((answers, head))
    });
    let incoming = accept(&mut instance, &listener).await?;
    assert_eq!(incoming.head.target, "/containers/c1/attach?stream=1");
    drop(bounded(instance.hijack(incoming, "tcp", Vec::new())).await?);
    let (answers, head) = join(clients).await?;
    for (i, (got, expected)) in answers.iter().enumerate() {
        assert_eq!(
            String::from_utf8_lossy(got),
            String::from_utf8_lossy(expected),
            "case {i}"
        );
    }
    assert!(head.starts_with(b"HTTP/1.1 101 "));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expect_100_continue_gets_100_then_101_and_the_body_is_handed_over() -> anyhow::Result<()> {
    let (mut instance, listener) = server(Limits::default()).await?;
    let addr = listener.local_addr;
    let client = tokio::spawn(async move {
        let mut s = connect_tcp(addr).await;
        s.write_all(b"POST /exec/1/start HTTP/1.1\r\nHost: docker\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
            .await?;
        let interim = read_head(&mut s).await;
        // Only now the body, then the new protocol's first bytes.
        s.write_all(b"{...}raw").await?;
        let switch = read_head(&mut s).await;
        s.shutdown().await?;
        anyhow::Ok((interim, switch))
    });
    let incoming = accept(&mut instance, &listener).await?;
    let mut stream = bounded(instance.hijack(incoming, "tcp", Vec::new())).await?;
    // Go's semantics: the body the application did not read comes first, in order.
    assert_eq!(read_to_end(&mut stream).await, b"{...}raw");
    let (interim, switch) = join(client).await?;
    assert_eq!(interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    assert_eq!(
        switch,
        b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_is_answered_200_and_the_tunnel_handed_over() -> anyhow::Result<()> {
    let (mut instance, listener) = server(Limits::default()).await?;
    let addr = listener.local_addr;
    let client = tokio::spawn(async move {
        let mut s = connect_tcp(addr).await;
        s.write_all(b"CONNECT db.internal:5432 HTTP/1.1\r\nHost: db.internal:5432\r\n\r\nearly")
            .await?;
        let head = read_head(&mut s).await;
        s.write_all(b"|late").await?;
        s.shutdown().await?;
        anyhow::Ok(head)
    });
    let incoming = accept(&mut instance, &listener).await?;
    assert_eq!(incoming.connect_target.as_deref(), Some("db.internal:5432"));
    assert!(incoming.protocols.is_empty());
    // Not a switch: hijack is refused without loss, then the tunnel opens.
    let err = typed_err(bounded(instance.try_hijack(&incoming, "tcp", Vec::new())).await);
    assert!(matches!(err, HijackError::InvalidInput(_)), "{err:?}");
    let agent = Header::new("Proxy-Agent", "hijack-test");
    let mut stream = bounded(instance.tunnel(incoming, vec![agent])).await?;
    assert_eq!(stream.buffered(), b"early");
    assert_eq!(read_to_end(&mut stream).await, b"early|late");
    assert_eq!(
        join(client).await?,
        b"HTTP/1.1 200 Connection Established\r\nProxy-Agent: hijack-test\r\n\r\n"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_handshakes_get_their_accept_or_400_or_426() -> anyhow::Result<()> {
    let (mut instance, listener) = server(Limits::default()).await?;
    let addr = listener.local_addr;
    let ws = |key: &str, version: &str| {
        format!(
            "GET /chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: {version}\r\n\r\n"
        )
    };
    let (bad_key, bad_version, good) = (
        ws("not-a-key", "13"),
        ws("dGhlIHNhbXBsZSBub25jZQ==", "8"),
        ws("dGhlIHNhbXBsZSBub25jZQ==", "13"),
    );
    let clients = tokio::spawn(async move {
        let bad_key = answer_to(addr, bad_key.as_bytes()).await?;
        let bad_version = answer_to(addr, bad_version.as_bytes()).await?;
        let mut s = connect_tcp(addr).await;
        s.write_all(good.as_bytes()).await?;
        let head = read_head(&mut s).await;
        anyhow::Ok((bad_key, bad_version, head))
    });
    let incoming = accept(&mut instance, &listener).await?;
    assert_eq!(incoming.protocols, ["websocket"]);
    drop(bounded(instance.hijack(incoming, "websocket", Vec::new())).await?);
    let (bad_key, bad_version, head) = join(clients).await?;
    assert_eq!(
        bad_key,
        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    assert_eq!(
        bad_version,
        b"HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    // RFC 6455 §1.3: the example key gives the example accept value.
    assert_eq!(
        head,
        b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_sequential_hijacks_leave_no_handle_behind() -> anyhow::Result<()> {
    let (mut instance, listener) = server(Limits::default()).await?;
    let addr = listener.local_addr;
    let baseline = instance.open_handles();
    const N: usize = 10_000;
    let clients = tokio::spawn(async move {
        for i in 0..N {
            let mut s = connect_tcp(addr).await;
            s.write_all(UPGRADE_REQUEST).await?;
            s.write_all(format!("{i}").as_bytes()).await?;
            let head = read_head(&mut s).await;
            anyhow::ensure!(head.starts_with(b"HTTP/1.1 101 "), "{i}: {head:?}");
        }
        anyhow::Ok(())
    });
    let started = std::time::Instant::now();
    let mut peak = 0;
    for _ in 0..N {
        let incoming = accept(&mut instance, &listener).await?;
        let stream = bounded(instance.hijack(incoming, "tcp", Vec::new())).await?;
        drop(stream);
        peak = peak.max(instance.open_handles());
    }
    join(clients).await?;
    assert_eq!(
        instance.open_handles(),
        baseline,
        "handles back to the baseline"
    );
    assert!(
        peak <= baseline + 8,
        "handles stayed bounded: peak {peak}, baseline {baseline}"
    );
    eprintln!("{N} hijacks in {:?}", started.elapsed());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ipv6_listener_accepts_and_hands_over_the_client_socket() -> anyhow::Result<()> {
    let any: SocketAddr = "[::1]:0".parse()?;
    let mut instance = runtime()
        .instantiate(NetPolicy::new().allow_listen(any))
        .await?;
    let listener = bounded(instance.listen(any, Limits::default())).await?;
    let addr = listener.local_addr;
    assert!(addr.is_ipv6() && addr.port() != 0, "{addr}");
    let client = tokio::spawn(async move {
        let mut s = connect_tcp(addr).await;
        let mut first = UPGRADE_REQUEST.to_vec();
        first.extend_from_slice(b"early");
        s.write_all(&first).await?;
        let head = read_head(&mut s).await;
        s.shutdown().await?;
        let rest = read_to_end(&mut s).await;
        anyhow::Ok((s.local_addr()?, head, rest))
    });
    let incoming = accept(&mut instance, &listener).await?;
    let stream = bounded(instance.hijack(incoming, "tcp", vec![])).await?;
    let Ok((buffered, mut socket)) = stream.into_parts() else {
        anyhow::bail!("a plain connection came back as TLS");
    };
    assert_eq!(&buffered[..], b"early");
    assert_eq!(socket.local_addr()?, addr);
    let peer = socket.peer_addr()?;
    // The client's half-close arrives on the socket itself.
    assert_eq!(read_to_end(&mut socket).await, b"");
    socket.write_all(b"bye").await?;
    socket.shutdown().await?;
    let (client_addr, head, rest) = join(client).await?;
    assert_eq!(client_addr, peer);
    assert_eq!(
        head,
        b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
    );
    assert_eq!(rest, b"bye");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_larger_than_the_socket_buffers_reaches_a_slow_reader_whole() -> anyhow::Result<()> {
    // 8 MiB cannot sit in the kernel's buffers: most of it goes out while the client is
    // still asleep, through the host's write in flight, and must all arrive, in order.
    let body: Vec<u8> = (0..8 << 20).map(|i: u32| (i % 251) as u8).collect();
    let (mut instance, listener) = server(Limits::default()).await?;
    let addr = listener.local_addr;
    let client = tokio::spawn(async move {
        let mut s = connect_tcp(addr).await;
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await?;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        anyhow::Ok(read_to_end(&mut s).await)
    });
    let incoming = accept(&mut instance, &listener).await?;
    let head = ResponseHead {
        version: 1,
        status: 200,
        reason: "OK".into(),
        headers: vec![],
    };
    tokio::time::timeout(LIMIT, bounded(instance.respond(incoming, head, &body))).await??;
    let got = join(client).await?;
    let mut expected = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    expected.extend_from_slice(&body);
    assert_eq!(got.len(), expected.len());
    assert!(got == expected, "the body arrived altered");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_read_before_the_switch_is_apart_and_buffered_starts_after_it() -> anyhow::Result<()>
{
    let (mut instance, listener) = server(Limits::default()).await?;
    let addr = listener.local_addr;
    // The client waits for `100 Continue` before its body, as curl does for large ones.
    let client = tokio::spawn(async move {
        let mut s = connect_tcp(addr).await;
        s.write_all(
            b"POST /exec HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: tcp\r\n\
              Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n",
        )
        .await?;
        let mut continued = [0u8; 25];
        tokio::io::AsyncReadExt::read_exact(&mut s, &mut continued).await?;
        assert_eq!(&continued, b"HTTP/1.1 100 Continue\r\n\r\n");
        s.write_all(b"4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\nafter")
            .await?;
        anyhow::Ok(read_to_end(&mut s).await)
    });
    let incoming = accept(&mut instance, &listener).await?;
    let body = bounded(instance.read_body(&incoming, None)).await?;
    assert_eq!(body, br#"{"a":1}"#);
    let err = typed_err(bounded(instance.read_body(&incoming, None)).await);
    assert!(matches!(err, HijackError::InvalidInput(_)), "{err:?}");
    let stream = bounded(instance.hijack(incoming, "tcp", Vec::new())).await?;
    assert_eq!(stream.buffered(), b"after");
    drop(stream);
    // One 100 Continue only: the switch does not repeat it.
    assert_eq!(
        join(client).await?,
        b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_cap_is_refused_typed_and_the_request_can_only_be_answered()
-> anyhow::Result<()> {
    let (mut instance, listener) = server(Limits::default()).await?;
    let addr = listener.local_addr;
    let client = tokio::spawn(async move {
        let mut s = connect_tcp(addr).await;
        s.write_all(
            b"POST / HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: tcp\r\n\
              Content-Length: 11\r\n\r\nhello world",
        )
        .await?;
        anyhow::Ok(read_to_end(&mut s).await)
    });
    let incoming = accept(&mut instance, &listener).await?;
    let err = typed_err(bounded(instance.read_body(&incoming, Some(10))).await);
    assert!(matches!(err, HijackError::BodyTooLarge), "{err:?}");
    let err = typed_err(bounded(instance.try_hijack(&incoming, "tcp", Vec::new())).await);
    assert!(matches!(err, HijackError::InvalidInput(_)), "{err:?}");
    let head = ResponseHead {
        version: 1,
        status: 413,
        reason: "Content Too Large".into(),
        headers: Vec::new(),
    };
    bounded(instance.respond(incoming, head, b"")).await?;
    assert_eq!(
        join(client).await?,
        b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    Ok(())
}
