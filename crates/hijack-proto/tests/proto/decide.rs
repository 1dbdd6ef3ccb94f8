//! `decide`: the server's rules for a complete request head — framing (the smuggling shapes of
//! RFC 9112 §6), `Host`, `Expect`, `CONNECT` and the WebSocket handshake — each with the
//! exact answer a refused request gets.

use hijack_proto::DEFAULT_MAX_HEADERS;
use hijack_proto::server::{Decision, Offer, Reject, decide, parse_request};

const BAD: &[u8] = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

fn decide_on(head: &str) -> Decision {
    let head = parse_request(head.as_bytes(), DEFAULT_MAX_HEADERS).expect("a parseable head");
    decide(&head)
}

fn rejected(head: &str) -> Reject {
    match decide_on(head) {
        Decision::Reject(r) => r,
        Decision::Offer(o) => panic!("offered {o:?} for {head:?}"),
    }
}

fn offered(head: &str) -> Offer {
    match decide_on(head) {
        Decision::Offer(o) => o,
        Decision::Reject(r) => panic!("rejected ({}) {head:?}", r.reason()),
    }
}

const UP: &str = "Connection: Upgrade\r\nUpgrade: tcp\r\n";

#[test]
fn smuggling_shapes_get_400_and_unknown_codings_501() {
    for (fields, expect_400) in [
        ("Content-Length: +5\r\n", true),
        ("Content-Length: 5\r\nContent-Length: 6\r\n", true),
        ("Content-Length: 5, 6\r\n", true),
        ("Content-Length: -1\r\n", true),
        ("Content-Length: 18446744073709551616\r\n", true),
        ("Content-Length: 0x5\r\n", true),
        ("Content-Length: 5 5\r\n", true),
        ("Content-Length: \r\n", true),
        ("Content-Length: 5,\r\n", true),
        ("Transfer-Encoding: gzip\r\n", true),
        ("Transfer-Encoding: chunked, gzip\r\n", true),
        ("Transfer-Encoding: chunked, chunked\r\n", true),
        (
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
            true,
        ),
        ("Transfer-Encoding: \r\n", true),
        ("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", true),
        ("Transfer-Encoding: chunked\r\nContent-Length: 0\r\n", true),
        ("Transfer-Encoding: foo, chunked\r\n", false),
        ("Transfer-Encoding: identity\r\n", false),
        ("Transfer-Encoding: xchunked\r\n", false),
    ] {
        let head = format!("POST /a HTTP/1.1\r\nHost: x\r\n{UP}{fields}\r\n");
        let reject = rejected(&head);
        if expect_400 {
            assert!(
                matches!(reject, Reject::BadRequest(_)),
                "{fields:?}: {reject:?}"
            );
            assert_eq!(reject.answer(), BAD, "{fields:?}");
        } else {
            assert!(
                matches!(reject, Reject::NotImplemented(_)),
                "{fields:?}: {reject:?}"
            );
            assert_eq!(
                reject.answer(),
                b"HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    }
    // Transfer-Encoding in HTTP/1.0 is faulty framing.
    assert!(matches!(
        rejected("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
        Reject::BadRequest(_)
    ));
}

#[test]
fn well_framed_requests_are_offered() {
    for fields in [
        "",
        "Content-Length: 5\r\n",
        "Content-Length: 5\r\nContent-Length: 5\r\n",
        "Content-Length: 5, 5\r\n",
        "Content-Length: 005\r\n",
        "Transfer-Encoding: chunked\r\n",
        "Transfer-Encoding: gzip, chunked\r\n",
        "Transfer-Encoding: gzip\r\nTransfer-Encoding: CHUNKED\r\n",
    ] {
        let offer = offered(&format!("POST /a HTTP/1.1\r\nHost: x\r\n{UP}{fields}\r\n"));
        assert_eq!(offer.protocols, ["tcp"], "{fields:?}");
        assert!(!offer.expect_continue && offer.connect.is_none());
    }
}

#[test]
fn http11_needs_exactly_one_host() {
    for head in [
        format!("GET / HTTP/1.1\r\n{UP}\r\n"),
        format!("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n{UP}\r\n"),
        format!("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n{UP}\r\n"),
    ] {
        assert_eq!(rejected(&head).answer(), BAD, "{head:?}");
    }
    // HTTP/1.0 needs none (and its Upgrade is ignored).
    assert!(offered("GET / HTTP/1.0\r\n\r\n").protocols.is_empty());
}

#[test]
fn expect_100_continue_is_honoured_and_others_get_417() {
    let offer = offered(&format!(
        "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n{UP}\r\n"
    ));
    assert!(offer.expect_continue);
    assert_eq!(
        offer.switch("tcp", &[]).unwrap(),
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
    );
    let reject = rejected(&format!(
        "POST / HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n{UP}\r\n"
    ));
    assert_eq!(reject, Reject::ExpectationFailed);
    assert_eq!(
        reject.answer(),
        b"HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    // RFC 9110 §10.1.1: a 100-continue expectation in HTTP/1.0 is ignored.
    assert!(!offered("POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n").expect_continue);
}

#[test]
fn connect_needs_an_authority_and_opens_a_tunnel() {
    let offer = offered("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
    assert_eq!(offer.connect.as_deref(), Some("example.com:443"));
    assert!(offer.protocols.is_empty());
    assert_eq!(
        offer.tunnel(&[]).unwrap(),
        b"HTTP/1.1 200 Connection Established\r\n\r\n"
    );
    // Not a switch, and no framing fields in a tunnel's 200.
    assert!(offer.switch("tcp", &[]).is_err());
    let framing = hijack_proto::Header::new("Content-Length", "0");
    assert!(offer.tunnel(&[framing]).is_err());
    assert!(
        offered(&format!("GET / HTTP/1.1\r\nHost: x\r\n{UP}\r\n"))
            .tunnel(&[])
            .is_err()
    );
    for target in ["example.com", "/", "example.com:0", "[::1]"] {
        let head = format!("CONNECT {target} HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(rejected(&head).answer(), BAD, "{target}");
    }
}

#[test]
fn websocket_handshakes_are_checked_before_the_application_sees_them() {
    const WS: &str = "Connection: Upgrade\r\nUpgrade: websocket\r\n";
    let good = format!(
        "GET /chat HTTP/1.1\r\nHost: x\r\n{WS}Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    let offer = offered(&good);
    assert_eq!(
        offer.websocket_key.as_deref(),
        Some(&b"dGhlIHNhbXBsZSBub25jZQ=="[..])
    );
    assert_eq!(
        offer.switch("websocket", &[]).unwrap(),
        b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
          Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
    );
    for (fields, method) in [
        ("Sec-WebSocket-Version: 13\r\n", "GET"),
        (
            "Sec-WebSocket-Key: short==\r\nSec-WebSocket-Version: 13\r\n",
            "GET",
        ),
        (
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ\r\nSec-WebSocket-Version: 13\r\n",
            "GET",
        ),
        (
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n",
            "GET",
        ),
        ("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "GET"),
        (
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n",
            "POST",
        ),
    ] {
        let head = format!("{method} / HTTP/1.1\r\nHost: x\r\n{WS}{fields}\r\n");
        assert_eq!(rejected(&head).answer(), BAD, "{fields:?} {method}");
    }
    for version in ["8", "13, 8", "14"] {
        let head = format!(
            "GET / HTTP/1.1\r\nHost: x\r\n{WS}Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: {version}\r\n\r\n"
        );
        let reject = rejected(&head);
        assert_eq!(reject, Reject::WebSocketVersion, "{version}");
        assert_eq!(
            reject.answer(),
            b"HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
              Content-Length: 0\r\nConnection: close\r\n\r\n"
        );
    }
}
