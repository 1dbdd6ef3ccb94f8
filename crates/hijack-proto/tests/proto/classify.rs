//! classify: the upgrade rules. Which responses switch, which are invalid switches, which are
//! informational, and the body plan of every refusal; `parse_length`; and the canned answers
//! of the server side, which must be valid refusals.

use hijack_proto::DEFAULT_MAX_HEADERS;
use hijack_proto::client::{BodyPlan, Verdict, classify, parse_length, parse_response};
use hijack_proto::server;

use crate::support::{response_of, scan_once};

#[test]
fn classify_switches_only_on_a_matching_101() {
    let switched = [
        (
            "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
            "websocket",
        ),
        (
            "HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: WebSocket\r\n\r\n",
            "websocket",
        ),
        (
            "HTTP/1.1 101 Switching Protocols\r\nCONNECTION: UPGRADE\r\nUPGRADE: TCP\r\n\r\n",
            "tcp",
        ),
        (
            "HTTP/1.1 101 Switching Protocols\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n",
            "WEBSOCKET",
        ),
        (
            "HTTP/1.1 101 Switching Protocols\r\nConnection: keep-alive\r\nConnection: upgrade\r\nUpgrade: ,websocket/13 ,\r\n\r\n",
            "websocket/13",
        ),
        (
            "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\n",
            "tcp",
        ),
        // A 101 with a body length still switches: the bytes after it are the new protocol.
        (
            "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 5\r\n\r\n",
            "tcp",
        ),
    ];
    for (head, protocol) in switched {
        assert_eq!(
            classify(&response_of(head), protocol),
            Verdict::Switched,
            "{head:?} for {protocol}"
        );
    }
}

#[test]
fn classify_refuses_a_101_for_another_protocol_or_without_connection_upgrade() {
    let invalid = [
        // Another protocol.
        (
            "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n",
            "websocket",
        ),
        // A versioned protocol is another protocol.
        (
            "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket/13\r\n\r\n",
            "websocket",
        ),
        (
            "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
            "websocket/13",
        ),
        // A switch to a stack that includes a protocol never offered (RFC 9110 §7.8).
        (
            "HTTP/1.1 101 Switching Protocols\r\nConnection: keep-alive, Upgrade\r\nUpgrade: h2c, websocket\r\n\r\n",
            "websocket",
        ),
        (
            "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: h2c\r\nUpgrade: websocket\r\n\r\n",
            "websocket",
        ),
        // A substring is not a list element.
        (
            "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websockets\r\n\r\n",
            "websocket",
        ),
        // No Upgrade at all.
        (
            "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n",
            "websocket",
        ),
        // Empty Upgrade.
        (
            "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade:\r\n\r\n",
            "websocket",
        ),
        // No Connection (hyper would switch; we follow Go and HAProxy).
        (
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
            "websocket",
        ),
        // Connection without the upgrade token.
        (
            "HTTP/1.1 101 Switching Protocols\r\nConnection: keep-alive\r\nUpgrade: websocket\r\n\r\n",
            "websocket",
        ),
        (
            "HTTP/1.1 101 Switching Protocols\r\nConnection: upgraded\r\nUpgrade: websocket\r\n\r\n",
            "websocket",
        ),
        (
            "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade-now\r\nUpgrade: websocket\r\n\r\n",
            "websocket",
        ),
        // The token in the wrong field.
        (
            "HTTP/1.1 101 Switching Protocols\r\nX-Connection: upgrade\r\nUpgrade: websocket\r\n\r\n",
            "websocket",
        ),
    ];
    for (head, protocol) in invalid {
        assert_eq!(
            classify(&response_of(head), protocol),
            Verdict::InvalidSwitch,
            "{head:?} for {protocol}"
        );
    }
}

#[test]
fn classify_skips_informational_responses() {
    for head in [
        "HTTP/1.1 100 Continue\r\n\r\n",
        "HTTP/1.1 102 Processing\r\n\r\n",
        "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n",
        // Upgrade fields in a non-101 interim response do not make it a switch.
        "HTTP/1.1 100 Continue\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
        "HTTP/1.1 199 Whatever\r\n\r\n",
    ] {
        assert_eq!(
            classify(&response_of(head), "websocket"),
            Verdict::Informational,
            "{head:?}"
        );
    }
}

#[test]
fn classify_refuses_final_responses_with_their_body_plan() {
    let table = [
        (
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
            BodyPlan::Length(5),
        ),
        (
            "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n",
            BodyPlan::UntilClose,
        ),
        // A 200 carrying the upgrade fields is still a refusal (moby bb4e9c72d7).
        (
            "HTTP/1.1 200 OK\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
            BodyPlan::UntilClose,
        ),
        (
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
            BodyPlan::None,
        ),
        (
            "HTTP/1.1 404 Not Found\r\ncontent-length: 9\r\n\r\n",
            BodyPlan::Length(9),
        ),
        (
            "HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nContent-Length: 12\r\n\r\n",
            BodyPlan::Length(12),
        ),
        (
            "HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\n\r\n",
            BodyPlan::UntilClose,
        ),
        ("HTTP/1.1 204 No Content\r\n\r\n", BodyPlan::None),
        (
            "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
            BodyPlan::None,
        ),
        (
            "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
            BodyPlan::None,
        ),
        (
            "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n",
            BodyPlan::None,
        ),
        (
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            BodyPlan::AsBuffered,
        ),
        (
            "HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\n",
            BodyPlan::AsBuffered,
        ),
        // CL with TE: TE wins, and we do not trust either (RFC 9112 §6.1).
        (
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
            BodyPlan::AsBuffered,
        ),
        (
            "HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
            BodyPlan::AsBuffered,
        ),
        // Duplicate or invalid lengths (RFC 9112 §6.3; GHSA-f3pg-qwvg-p99c).
        (
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
            BodyPlan::AsBuffered,
        ),
        (
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
            BodyPlan::AsBuffered,
        ),
        (
            "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n",
            BodyPlan::AsBuffered,
        ),
        (
            "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n",
            BodyPlan::AsBuffered,
        ),
        (
            "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            BodyPlan::AsBuffered,
        ),
        (
            "HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n",
            BodyPlan::AsBuffered,
        ),
        (
            "HTTP/1.1 200 OK\r\nContent-Length: 1 0\r\n\r\n",
            BodyPlan::AsBuffered,
        ),
        (
            "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n",
            BodyPlan::AsBuffered,
        ),
        (
            "HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n",
            BodyPlan::AsBuffered,
        ),
        (
            "HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\n",
            BodyPlan::Length(u64::MAX),
        ),
        (
            "HTTP/1.1 200 OK\r\nContent-Length: 007\r\n\r\n",
            BodyPlan::Length(7),
        ),
        // Whitespace around the value is not part of it (httparse trims it).
        (
            "HTTP/1.1 200 OK\r\nContent-Length:  3  \r\n\r\n",
            BodyPlan::Length(3),
        ),
        ("HTTP/1.0 200 OK\r\n\r\n", BodyPlan::UntilClose),
        (
            "HTTP/1.1 599 Whatever\r\nContent-Length: 1\r\n\r\n",
            BodyPlan::Length(1),
        ),
        // Three digits outside 100..=599 are invalid statuses: handled as 5xx (RFC 9110 §15),
        // a refusal, never a switch or an interim response.
        (
            "HTTP/1.1 099 Odd\r\nContent-Length: 2\r\n\r\n",
            BodyPlan::Length(2),
        ),
        ("HTTP/1.1 000 Odd\r\n\r\n", BodyPlan::UntilClose),
        ("HTTP/1.1 600 Odd\r\n\r\n", BodyPlan::UntilClose),
        (
            "HTTP/1.1 999 Odd\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
            BodyPlan::UntilClose,
        ),
    ];
    for (head, plan) in table {
        assert_eq!(
            classify(&response_of(head), "websocket"),
            Verdict::Refused(plan),
            "{head:?}"
        );
    }
}

#[test]
fn parse_length_takes_ascii_digits_only() {
    assert_eq!(parse_length("0"), Some(0));
    assert_eq!(parse_length("42"), Some(42));
    assert_eq!(parse_length("0042"), Some(42));
    assert_eq!(parse_length("18446744073709551615"), Some(u64::MAX));
    for bad in [
        "",
        "+5",
        "-5",
        " 5",
        "5 ",
        "5,5",
        "0x5",
        "5e2",
        "1_000",
        "18446744073709551616",
        "\u{0665}", // ARABIC-INDIC DIGIT FIVE
        "５",       // FULLWIDTH DIGIT FIVE
    ] {
        assert_eq!(parse_length(bad), None, "{bad:?}");
    }
}

#[test]
fn canned_server_answers_are_valid_refusals() {
    for (answer, status) in [(server::BAD_REQUEST, 400), (server::HEAD_TOO_LARGE, 431)] {
        assert_eq!(scan_once(answer), Ok(Some(answer.len())));
        let head = parse_response(answer, DEFAULT_MAX_HEADERS).unwrap();
        assert_eq!(head.status, status);
        assert_eq!(
            classify(&head, "websocket"),
            Verdict::Refused(BodyPlan::None)
        );
    }
}

#[test]
fn judge_adds_connect_websocket_accept_and_legacy_200() {
    use hijack_proto::client::{Ask, judge};
    let connect = Ask::Connect;
    for (head, verdict) in [
        (
            "HTTP/1.1 200 Connection established\r\n\r\n",
            Verdict::Switched,
        ),
        ("HTTP/1.1 204 No Content\r\n\r\n", Verdict::Switched),
        // RFC 9110 §9.3.6: a 2xx to CONNECT has no body whatever its framing says.
        (
            "HTTP/1.1 299 Odd\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
            Verdict::Switched,
        ),
        ("HTTP/1.1 100 Continue\r\n\r\n", Verdict::Informational),
        (
            "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: tcp\r\n\r\n",
            Verdict::InvalidSwitch,
        ),
        (
            "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 3\r\n\r\n",
            Verdict::Refused(BodyPlan::Length(3)),
        ),
        (
            "HTTP/1.1 300 Multiple\r\n\r\n",
            Verdict::Refused(BodyPlan::UntilClose),
        ),
    ] {
        assert_eq!(judge(&response_of(head), &connect), verdict, "{head:?}");
    }

    let ws = |accept: &str| Ask::Upgrade {
        protocol: "websocket",
        websocket_accept: Some(accept.to_string()),
        allow_200: false,
    };
    let switch =
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n";
    let expected = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
    for (fields, verdict) in [
        (
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n",
            Verdict::Switched,
        ),
        (
            "Sec-WebSocket-Accept: S3PPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n",
            Verdict::InvalidSwitch,
        ),
        ("", Verdict::InvalidSwitch),
        (
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n",
            Verdict::InvalidSwitch,
        ),
    ] {
        let head = format!("{switch}{fields}\r\n");
        assert_eq!(
            judge(&response_of(&head), &ws(expected)),
            verdict,
            "{fields:?}"
        );
    }
    // The RFC 6455 §1.3 pair, computed by the core.
    assert_eq!(
        hijack_proto::websocket::accept(b"dGhlIHNhbXBsZSBub25jZQ=="),
        expected
    );

    let legacy = "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n";
    let tcp = |allow_200| Ask::Upgrade {
        protocol: "tcp",
        websocket_accept: None,
        allow_200,
    };
    assert_eq!(judge(&response_of(legacy), &tcp(true)), Verdict::Switched);
    assert_eq!(
        judge(&response_of(legacy), &tcp(false)),
        Verdict::Refused(BodyPlan::UntilClose)
    );
    // Only 200 is legacy: a 201 or 404 is refused either way.
    for status in ["201 Created", "404 Not Found"] {
        let head = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(
            judge(&response_of(&head), &tcp(true)),
            Verdict::Refused(BodyPlan::None)
        );
    }
}

#[test]
fn a_response_keeps_the_version_of_its_status_line() {
    for (answer, version) in [
        (&b"HTTP/1.0 200 Connection established\r\n\r\n"[..], 0),
        (b"HTTP/1.1 200 Connection established\r\n\r\n", 1),
    ] {
        let head = parse_response(answer, DEFAULT_MAX_HEADERS).unwrap();
        assert_eq!((head.version, head.status), (version, 200));
    }
}
