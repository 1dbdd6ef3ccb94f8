//! A switch, and the bytes handed over with it: what came with the `101`, then the socket,
//! nothing lost or repeated, both directions and the half-close; the socket handed over is the
//! connection itself.

use super::{SWITCH, dial_default, dial_on, dial_with, serve_once};
use crate::support::*;
use hijack_host::{ClientOptions, ClientRequest, Header};
use std::process::Command;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switch_and_first_bytes_in_one_write_are_handed_over_exactly() -> anyhow::Result<()> {
    let (listener, addr) = listener().await;
    let server = tokio::spawn(async move {
        let (mut s, _) = accept_tcp(&listener).await;
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
    let (head, mut conn) = dial_on(&mut instance, addr, request, Default::default()).await?;
    assert_eq!(head.status, 101);
    assert_eq!(conn.buffered(), b"hello from the new protocol");
    conn.write_all(b"ping").await?;
    let rest = read_to_end(&mut conn).await;
    assert_eq!(rest, b"hello from the new protocolping");
    let request = join(server).await?;
    assert_eq!(
        String::from_utf8(request)?,
        format!(
            "POST /containers/c1/attach?stream=1&stdin=1 HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nUser-Agent: hijack-test\r\n\r\n"
        )
    );
    Ok(())
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
    join(server).await?;
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
    join(server).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_goes_out_with_its_exact_content_length() -> anyhow::Result<()> {
    let (listener, addr) = listener().await;
    let server = tokio::spawn(async move {
        let (mut s, _) = accept_tcp(&listener).await;
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
    let (_, mut conn) = dial_on(&mut instance, addr, request, Default::default()).await?;
    assert_eq!(read_to_end(&mut conn).await, b"");
    let (head, body) = join(server).await?;
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
    join(server).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keepalive_is_set_on_the_dialed_socket() -> anyhow::Result<()> {
    let (addr, peer) = serve_once(|mut s| async move {
        s.write_all(SWITCH).await?;
        // Until the client goes: its close is the EOF.
        let mut one = [0u8; 1];
        let _ = bounded(s.read(&mut one)).await;
        Ok(())
    })
    .await;
    let options = ClientOptions {
        keepalive_ms: Some(30_000),
        ..Default::default()
    };
    let (_head, conn) = dial_with(addr, "tcp", options).await?;
    // The kernel's view of our side of the connection: a keepalive timer is armed.
    let mut ss = Command::new("ss");
    ss.args(["-tno", "state", "established", "dst", &addr.to_string()]);
    let out = run_bounded(ss, b"", LIMIT);
    assert!(
        out.status.success(),
        "ss (iproute2; scripts/setup installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("timer:(keepalive"), "{text}");
    drop(conn);
    join(peer).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_handed_over_socket_is_the_connection_itself() -> anyhow::Result<()> {
    let (listener, addr) = listener().await;
    let server = tokio::spawn(async move {
        let (mut s, peer) = accept_tcp(&listener).await;
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
    let (_, conn) = dial_on(
        &mut instance,
        addr,
        ClientRequest::new("GET", "/", "tcp"),
        Default::default(),
    )
    .await?;
    let Ok((buffered, mut socket)) = conn.into_parts() else {
        anyhow::bail!("a plain connection came back as TLS");
    };
    assert_eq!(&buffered[..], b"early");
    // A plain tokio socket: its ends are the server's, seen from this side.
    assert_eq!(socket.peer_addr()?, addr);
    let local = socket.local_addr()?;
    socket.write_all(b"hello").await?;
    assert_eq!(read_to_end(&mut socket).await, b"late");
    let (peer, got) = join(server).await?;
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
        let (mut s, peer) = accept_tcp(&listener).await;
        let head = read_head(&mut s).await;
        s.write_all(SWITCH).await?;
        s.write_all(b"v6").await?;
        s.shutdown().await?;
        anyhow::Ok((peer, head))
    });
    let mut instance = runtime().instantiate(connect_to(addr)).await?;
    let (head, mut conn) = dial_on(
        &mut instance,
        addr,
        ClientRequest::new("GET", "/v6", "tcp"),
        Default::default(),
    )
    .await?;
    assert_eq!(head.status, 101);
    let local = conn.local_addr()?;
    assert!(local.is_ipv6(), "{local}");
    assert_eq!(read_to_end(&mut conn).await, b"v6");
    let (peer, request) = join(server).await?;
    assert_eq!(peer, local);
    assert_eq!(
        String::from_utf8(request)?,
        format!("GET /v6 HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
    );
    Ok(())
}
