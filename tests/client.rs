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
    let err = instance
        .dial(
            &addr.to_string(),
            ClientRequest::new("GET", "/", "tcp"),
            Default::default(),
        )
        .await
        .err()
        .expect("a 404 is not a switch");
    match err.hijack() {
        Some(HijackError::NotSwitched(r)) => {
            assert_eq!(r.head.status, 404);
            assert_eq!(r.head.reason, "Not Found");
            assert_eq!(r.body, b"no such c");
        }
        other => panic!("expected not-switched, got {other:?}"),
    }
    assert_eq!(server.await??, b"");
    Ok(())
}
