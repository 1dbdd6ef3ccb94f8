//! The server side: `parse_request` of an upgrade request, the rules of `upgrade_protocols`,
//! and the exact bytes (and refusals) of `encode_switch` and `encode_response`, checked
//! against the client side's `classify`.

use hijack_proto::client::{BodyPlan, Verdict, classify, parse_response};
use hijack_proto::server::{
    Offer, encode_response, encode_switch, parse_request, upgrade_protocols,
};
use hijack_proto::{DEFAULT_MAX_HEADERS, Header, RequestHead};

use crate::support::{assert_invalid, headers, response_of, scan_once};

fn request_of(head: &str) -> RequestHead {
    assert_eq!(scan_once(head.as_bytes()), Ok(Some(head.len())), "{head:?}");
    parse_request(head.as_bytes(), DEFAULT_MAX_HEADERS).expect(head)
}

#[test]
fn parse_request_of_an_upgrade_request() {
    let head = request_of(
        "POST /v1.43/exec/e1/start HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\n\
         Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 28\r\n\r\n",
    );
    assert_eq!(
        head,
        RequestHead {
            method: "POST".into(),
            target: "/v1.43/exec/e1/start".into(),
            version: 1,
            headers: headers(&[
                ("Host", "docker"),
                ("Content-Type", "application/json"),
                ("Connection", "Upgrade"),
                ("Upgrade", "tcp"),
                ("Content-Length", "28"),
            ]),
        }
    );
    assert_eq!(upgrade_protocols(&head), ["tcp"]);
}

#[test]
fn upgrade_protocols_rules() {
    let table: &[(&str, &[&str])] = &[
        // HTTP/1.0: Upgrade is ignored (RFC 9110 §7.8).
        (
            "GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
            &[],
        ),
        // No Connection: upgrade.
        ("GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n", &[]),
        (
            "GET / HTTP/1.1\r\nConnection: keep-alive\r\nUpgrade: websocket\r\n\r\n",
            &[],
        ),
        (
            "GET / HTTP/1.1\r\nConnection: upgrades\r\nUpgrade: websocket\r\n\r\n",
            &[],
        ),
        // Connection: upgrade without Upgrade.
        ("GET / HTTP/1.1\r\nConnection: upgrade\r\n\r\n", &[]),
        ("GET / HTTP/1.1\r\n\r\n", &[]),
        // The list, in order, across fields, empty elements skipped, case kept.
        (
            "GET / HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\nUpgrade: h2c, WebSocket ,, tcp\r\n\r\n",
            &["h2c", "WebSocket", "tcp"],
        ),
        (
            "GET / HTTP/1.1\r\nUpgrade: tcp\r\nconnection: close\r\nCONNECTION: UPGRADE\r\nupgrade: websocket/13\r\n\r\n",
            &["tcp", "websocket/13"],
        ),
        (
            "GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: HTTP/2.0, SHTTP/1.3, IRC/6.9, RTA/x11\r\n\r\n",
            &["HTTP/2.0", "SHTTP/1.3", "IRC/6.9", "RTA/x11"],
        ),
    ];
    for (head, expected) in table {
        assert_eq!(upgrade_protocols(&request_of(head)), *expected, "{head:?}");
    }
}

#[test]
fn encode_switch_exact_bytes() {
    // The component computes Sec-WebSocket-Accept from the client's key: the RFC 6455 §1.3
    // example key gives the RFC's example value; a caller may not forge it.
    let offer = Offer {
        protocols: vec!["h2c".to_string(), "WebSocket".to_string()],
        websocket_key: Some(b"dGhlIHNhbXBsZSBub25jZQ==".to_vec()),
        ..Offer::default()
    };
    let bytes = offer.switch("websocket", &[]).unwrap();
    assert_eq!(
        bytes,
        b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
          Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
    );
    assert_invalid(
        "a forged accept",
        offer.switch(
            "websocket",
            &[Header::new(
                "Sec-WebSocket-Accept",
                "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
            )],
        ),
    );
    // The client side accepts exactly this answer.
    assert_eq!(
        classify(
            &response_of(std::str::from_utf8(&bytes).unwrap()),
            "websocket"
        ),
        Verdict::Switched
    );

    assert_eq!(
        encode_switch("tcp", &["tcp".to_string()], &[]).unwrap(),
        b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
    );
}

#[test]
fn encode_switch_refusals() {
    let offered = vec!["websocket".to_string()];
    assert_invalid("not offered", encode_switch("tcp", &offered, &[]));
    assert_invalid("nothing offered", encode_switch("websocket", &[], &[]));
    assert_invalid(
        "versioned, not offered",
        encode_switch("websocket/13", &offered, &[]),
    );
    // Invalid protocols are refused even when the peer "offered" them.
    for protocol in ["web socket", "tcp\r\nX: y", "", "a/b/c"] {
        assert_invalid(
            protocol,
            encode_switch(protocol, &[protocol.to_string()], &[]),
        );
    }
    for name in [
        "Connection",
        "connection",
        "Upgrade",
        "UPGRADE",
        "Content-Length",
        "Transfer-Encoding",
    ] {
        assert_invalid(
            name,
            encode_switch("websocket", &offered, &[Header::new(name, "x")]),
        );
    }
    assert_invalid(
        "CRLF in a value",
        encode_switch(
            "websocket",
            &offered,
            &[Header::new("X", "a\r\n\r\nsmuggled")],
        ),
    );
    assert_invalid(
        "bad name",
        encode_switch("websocket", &offered, &[Header::new("X Y", "a")]),
    );
}

#[test]
fn encode_response_exact_bytes() {
    assert_eq!(
        encode_response(
            404,
            "Not Found",
            &[Header::new("Content-Type", "text/plain")],
            b"nope"
        )
        .unwrap(),
        b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\
          Connection: close\r\n\r\nnope"
    );
    // 426 may (and should) name the protocols it wants.
    let bytes = encode_response(
        426,
        "Upgrade Required",
        &[
            Header::new("Upgrade", "websocket"),
            Header::new("Sec-WebSocket-Version", "13"),
        ],
        b"",
    )
    .unwrap();
    assert_eq!(
        bytes,
        b"HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
          Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
    assert_eq!(
        classify(
            &response_of(std::str::from_utf8(&bytes).unwrap()),
            "websocket"
        ),
        Verdict::Refused(BodyPlan::None)
    );
    // The bounds of the final range, and an empty reason.
    assert_eq!(
        encode_response(200, "", &[], b"ok").unwrap(),
        b"HTTP/1.1 200 \r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
    );
    assert_eq!(
        encode_response(599, "Custom\treason \u{e9}", &[], b"").unwrap(),
        "HTTP/1.1 599 Custom\treason \u{e9}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            .as_bytes()
    );
    // A body that looks like a head is the body, and the client plans to read it all.
    let body = b"HTTP/1.1 101 Switching Protocols\r\n\r\n";
    let bytes = encode_response(503, "Unavailable", &[], body).unwrap();
    let end = scan_once(&bytes).unwrap().unwrap();
    assert_eq!(&bytes[end..], body);
    assert_eq!(
        classify(
            &parse_response(&bytes[..end], DEFAULT_MAX_HEADERS).unwrap(),
            "websocket"
        ),
        Verdict::Refused(BodyPlan::Length(body.len() as u64))
    );
}

#[test]
fn encode_response_refusals() {
    for status in [0, 99, 100, 101, 103, 199, 600, 999, 1000, u16::MAX] {
        assert_invalid(
            &format!("status {status}"),
            encode_response(status, "X", &[], b""),
        );
    }
    for reason in [
        "a\rb",
        "a\nb",
        "OK\r\nX-Injected: 1",
        "\0",
        "a\x7f",
        "\x1b[31m",
    ] {
        assert_invalid(
            &format!("reason {reason:?}"),
            encode_response(200, reason, &[], b""),
        );
    }
    for name in [
        "Connection",
        "CONNECTION",
        "Content-Length",
        "content-length",
        "Transfer-Encoding",
    ] {
        assert_invalid(
            name,
            encode_response(200, "OK", &[Header::new(name, "x")], b""),
        );
    }
    assert_invalid(
        "CRLF in a value",
        encode_response(200, "OK", &[Header::new("X", "a\r\nb")], b""),
    );
    assert_invalid(
        "bad name",
        encode_response(200, "OK", &[Header::new("X:", "a")], b""),
    );
}

#[test]
fn an_answer_is_http_1_1_or_refused() {
    assert!(hijack_proto::server::check_answer_version(1).is_ok());
    for version in [0, 2, 9] {
        let err = hijack_proto::server::check_answer_version(version).unwrap_err();
        assert!(err.to_string().contains("version must be 1"), "{err}");
    }
}
