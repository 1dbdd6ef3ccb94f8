//! The WebSocket handshake (RFC 6455 §4): a fresh key on every connection, a switch only on the
//! `Sec-WebSocket-Accept` that key calls for, and `GET` only.

use super::{dial_default, dial_with_request};
use crate::support::*;
use hijack_host::ClientRequest;
use tokio::io::AsyncWriteExt;

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
        .unwrap_or_else(|| hijack_proto::websocket::accept(key.as_bytes()));
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
            let (mut s, _) = accept_tcp(&listener).await;
            let head = String::from_utf8(read_head(&mut s).await)?;
            let answer = websocket_answer(&head, accept);
            s.write_all(&answer).await?;
            // Until the client closes: whether it switched or not, it sends nothing.
            let rest = read_to_end(&mut s).await;
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
        let (head, rest) = join(peer).await?;
        assert!(head.starts_with("GET / HTTP/1.1\r\n"), "{head}");
        assert_eq!(field(&head, "upgrade"), Some("websocket"));
        assert_eq!(field(&head, "sec-websocket-version"), Some("13"));
        let key = field(&head, "sec-websocket-key").expect("key").to_owned();
        assert!(
            hijack_proto::websocket::is_valid_key(key.as_bytes()),
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
