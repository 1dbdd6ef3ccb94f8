//! `CONNECT` (RFC 9110 §9.3.6): any 2xx opens the tunnel whatever its framing says; anything
//! else is a refusal whose body is never tunnel data; a `CONNECT` carries no protocol and no
//! body.

use super::{SWITCH, dial_with_request, serve_once};
use crate::support::*;
use hijack_host::ClientRequest;
use tokio::io::AsyncWriteExt;

fn connect_request(target: &str) -> ClientRequest {
    ClientRequest::new("CONNECT", target, "")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_opens_a_tunnel_on_any_2xx_ignoring_its_framing() -> anyhow::Result<()> {
    let (addr, proxy) = serve_once(|mut s| async move {
        s.write_all(b"HTTP/1.1 200 Connection established\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\ntunnel-bytes")
            .await?;
        let got = read_exact(&mut s, 4).await;
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
        String::from_utf8(join(proxy).await?)?,
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
        String::from_utf8(join(proxy).await?)?,
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
    join(proxy).await?;
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
