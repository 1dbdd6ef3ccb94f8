//! encode_request: the exact bytes of an upgrade request, the refusal of every header, method,
//! target, protocol and authority that could break or smuggle the framing, the authorities
//! that work (`parse_authority`), and a round trip through the server parser.

use hijack_proto::client::{UpgradeRequest, encode_request, encode_request_with, websocket_fields};
use hijack_proto::server::{parse_request, upgrade_protocols};
use hijack_proto::{Authority, DEFAULT_MAX_HEADERS, Header, RequestHead, parse_authority};

use crate::support::{assert_invalid, scan_once};

const UPGRADE_REQUEST: UpgradeRequest<'static> = UpgradeRequest {
    method: "GET",
    target: "/chat",
    upgrade: "websocket",
    headers: &[],
    body: None,
};

#[test]
fn encode_request_with_headers_and_body_exact_bytes() {
    let headers = [
        Header::new("Content-Type", "application/json"),
        Header::new("X-Trace", "a b\tc \u{e9}"),
        Header::new("x-empty", ""),
    ];
    let req = UpgradeRequest {
        method: "POST",
        target: "/v1.43/containers/c1/attach?stream=1&stdin=1&stdout=1",
        upgrade: "tcp",
        headers: &headers,
        body: Some(br#"{"Detach":false}"#),
    };
    let bytes = encode_request("docker.example:2375", &req).unwrap();
    let expected: &[u8] =
        b"POST /v1.43/containers/c1/attach?stream=1&stdin=1&stdout=1 HTTP/1.1\r\n\
        Host: docker.example:2375\r\n\
        Connection: Upgrade\r\n\
        Upgrade: tcp\r\n\
        Content-Type: application/json\r\n\
        X-Trace: a b\tc \xc3\xa9\r\n\
        x-empty: \r\n\
        Content-Length: 16\r\n\
        \r\n\
        {\"Detach\":false}";
    assert_eq!(
        String::from_utf8_lossy(&bytes),
        String::from_utf8_lossy(expected)
    );
    assert_eq!(bytes, expected);

    // What a server makes of it: the head ends before the body, which is the tail.
    let end = scan_once(&bytes).unwrap().unwrap();
    assert_eq!(&bytes[end..], br#"{"Detach":false}"#);
    let head = parse_request(&bytes[..end], DEFAULT_MAX_HEADERS).unwrap();
    assert_eq!(head.method, "POST");
    assert_eq!(head.version, 1);
    assert_eq!(upgrade_protocols(&head), ["tcp"]);
    assert_eq!(
        hijack_proto::header_values(&head.headers, "content-length").collect::<Vec<_>>(),
        [b"16"]
    );
}

#[test]
fn encode_request_without_body_has_no_content_length() {
    let bytes = encode_request("[::1]:8080", &UPGRADE_REQUEST).unwrap();
    assert_eq!(
        bytes,
        b"GET /chat HTTP/1.1\r\nHost: [::1]:8080\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
    );
    // An empty body is still a body: `Content-Length: 0`.
    let empty = UpgradeRequest {
        body: Some(b""),
        ..UPGRADE_REQUEST
    };
    assert_eq!(
        encode_request("127.0.0.1:1", &empty).unwrap(),
        b"GET /chat HTTP/1.1\r\nHost: 127.0.0.1:1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nContent-Length: 0\r\n\r\n"
    );
    // A body of binary bytes, including what looks like a head, is sent as is.
    let body = b"\r\n\r\nGET / HTTP/1.1\r\n\r\n\x00\xff";
    let binary = UpgradeRequest {
        body: Some(body),
        upgrade: "websocket/13",
        ..UPGRADE_REQUEST
    };
    let bytes = encode_request("localhost:65535", &binary).unwrap();
    let end = scan_once(&bytes).unwrap().unwrap();
    assert_eq!(&bytes[end..], body);
    assert_eq!(body.len(), 24);
    assert!(bytes[..end].ends_with(b"Upgrade: websocket/13\r\nContent-Length: 24\r\n\r\n"));
}

#[test]
fn encode_request_refuses_bad_header_values() {
    for value in [
        &b"a\rb"[..],
        b"a\nb",
        b"a\r\nX-Injected: 1",
        b"\r\n\r\nGET /smuggled HTTP/1.1",
        b"a\0b",
        b"a\x7fb",
        b"a\x1bb",
        b"\x0b",
    ] {
        let headers = [Header::new("X-Value", value)];
        let req = UpgradeRequest {
            headers: &headers,
            ..UPGRADE_REQUEST
        };
        assert_invalid(
            &format!("value {value:?}"),
            encode_request("example.com:80", &req),
        );
    }
}

#[test]
fn encode_request_refuses_non_token_header_names() {
    for name in [
        "",
        "X Y",
        "X:Y",
        "X-Y:",
        " X",
        "X\r\nY",
        "X\n",
        "X\0",
        "(x)",
        "a@b",
        "x/y",
        "\u{e9}",
        "\"quoted\"",
        "a\tb",
    ] {
        let headers = [Header::new(name, "v")];
        let req = UpgradeRequest {
            headers: &headers,
            ..UPGRADE_REQUEST
        };
        assert_invalid(
            &format!("name {name:?}"),
            encode_request("example.com:80", &req),
        );
    }
}

#[test]
fn encode_request_refuses_framing_headers_in_any_case() {
    for name in [
        "Connection",
        "connection",
        "CoNnEcTiOn",
        "Upgrade",
        "UPGRADE",
        "Content-Length",
        "content-length",
        "CONTENT-LENGTH",
        "Transfer-Encoding",
        "transfer-encoding",
        "TRANSFER-ENCODING",
    ] {
        let headers = [Header::new("X-Fine", "ok"), Header::new(name, "v")];
        let req = UpgradeRequest {
            headers: &headers,
            ..UPGRADE_REQUEST
        };
        assert_invalid(name, encode_request("example.com:80", &req));
    }
    // Similar names are fine.
    for name in [
        "Hosts",
        "X-Host",
        "Upgrade-Insecure-Requests",
        "Content-Type",
        "TE",
    ] {
        let headers = [Header::new(name, "v")];
        let req = UpgradeRequest {
            headers: &headers,
            ..UPGRADE_REQUEST
        };
        assert!(encode_request("example.com:80", &req).is_ok(), "{name}");
    }
}

#[test]
fn encode_request_refuses_bad_methods_targets_and_protocols() {
    for method in [
        "", "GE T", "GET\r\n", "GET\n", "G(T", "GET/", "G\u{e9}T", "\0",
    ] {
        let req = UpgradeRequest {
            method,
            ..UPGRADE_REQUEST
        };
        assert_invalid(&format!("method {method:?}"), encode_request("a:1", &req));
    }
    for target in [
        "",
        "/a b",
        " /a",
        "/a\r\nX-Injected: 1",
        "/a\n",
        "/a\r",
        "/\0",
        "/\t",
        "/\x7f",
        "/caf\u{e9}",
        "/a HTTP/1.1\r\nHost: evil\r\n\r\nGET /b",
    ] {
        let req = UpgradeRequest {
            target,
            ..UPGRADE_REQUEST
        };
        assert_invalid(&format!("target {target:?}"), encode_request("a:1", &req));
    }
    for upgrade in [
        "",
        "web socket",
        "websocket, h2c",
        "websocket/",
        "/13",
        "a/b/c",
        "tcp\r\n",
        "tcp\r\nX-Injected: 1",
        "tcp\0",
        "(tcp)",
    ] {
        let req = UpgradeRequest {
            upgrade,
            ..UPGRADE_REQUEST
        };
        assert_invalid(
            &format!("protocol {upgrade:?}"),
            encode_request("a:1", &req),
        );
    }
    // The forms that are fine.
    for (method, target, upgrade) in [
        ("GET", "/", "websocket"),
        ("CONNECT-ish", "*", "h2c"),
        ("M-SEARCH", "http://example.com/x?y=1#f", "HTTP/2.0"),
        ("get", "/%20?a=b&c=%0D%0A", "tcp"),
    ] {
        let req = UpgradeRequest {
            method,
            target,
            upgrade,
            ..UPGRADE_REQUEST
        };
        assert!(
            encode_request("a:1", &req).is_ok(),
            "{method} {target} {upgrade}"
        );
    }
}

#[test]
fn encode_request_refuses_bad_authorities() {
    for authority in [
        "",
        "example.com",
        "example.com:",
        "example.com:0",
        "example.com:00",
        "example.com:65536",
        "example.com:+80",
        "example.com:-1",
        "example.com: 80",
        "example.com:80 ",
        "example.com:8o",
        ":80",
        "::1:8080",
        "::1",
        "fe80::1:80",
        "[::1]",
        "[example.com]:80",
        "[fe80::1%25eth0]:80",
        "[127.0.0.1]:80",
        "[::1]:",
        "[::1]:0",
        "[::1]8080",
        "[::1:8080",
        "[]:80",
        "exa mple.com:80",
        "example.com\r\n:80",
        "example.com:80\r\nX-Injected: 1",
        "a/b:80",
        "user@example.com:80",
    ] {
        assert_invalid(
            &format!("authority {authority:?}"),
            encode_request(authority, &UPGRADE_REQUEST),
        );
        assert_invalid(
            &format!("authority {authority:?}"),
            parse_authority(authority),
        );
    }
}

#[test]
fn authorities_that_work() {
    for (authority, host, port) in [
        ("[::1]:8080", "::1", 8080),
        ("127.0.0.1:1", "127.0.0.1", 1),
        ("localhost:65535", "localhost", 65535),
        ("docker_host.internal:2375", "docker_host.internal", 2375),
        ("example.com:080", "example.com", 80),
    ] {
        assert_eq!(
            parse_authority(authority),
            Ok(Authority { host, port }),
            "{authority}"
        );
        let bytes = encode_request(authority, &UPGRADE_REQUEST).unwrap();
        let host_line = format!("\r\nHost: {authority}\r\n");
        assert!(
            bytes
                .windows(host_line.len())
                .any(|w| w == host_line.as_bytes()),
            "{authority}"
        );
    }
}

#[test]
fn encode_request_round_trips_through_the_server_parser() {
    // The component adds the WebSocket key and version itself; a caller may not.
    let fields = websocket_fields("dGhlIHNhbXBsZSBub25jZQ==");
    let bytes = encode_request_with("server.example.com:80", &UPGRADE_REQUEST, &fields).unwrap();
    let forged = UpgradeRequest {
        headers: &fields,
        ..UPGRADE_REQUEST
    };
    assert_invalid(
        "a caller's Sec-WebSocket-Key",
        encode_request("server.example.com:80", &forged),
    );
    let head = parse_request(&bytes, DEFAULT_MAX_HEADERS).unwrap();
    assert_eq!(
        head,
        RequestHead {
            method: "GET".into(),
            target: "/chat".into(),
            version: 1,
            headers: vec![
                Header::new("Host", "server.example.com:80"),
                Header::new("Connection", "Upgrade"),
                Header::new("Upgrade", "websocket"),
                Header::new("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                Header::new("Sec-WebSocket-Version", "13"),
            ],
        }
    );
    assert_eq!(upgrade_protocols(&head), ["websocket"]);
}

#[test]
fn connect_requests_name_the_tunnel_in_the_target_and_host() {
    let req = UpgradeRequest {
        method: "CONNECT",
        target: "[::1]:5432",
        upgrade: "",
        headers: &[Header::new("Proxy-Authorization", "Basic eDp5")],
        body: None,
    };
    assert_eq!(
        encode_request("proxy.example:3128", &req).unwrap(),
        b"CONNECT [::1]:5432 HTTP/1.1\r\nHost: [::1]:5432\r\nProxy-Authorization: Basic eDp5\r\n\r\n"
    );
    for bad in [
        UpgradeRequest {
            upgrade: "tcp",
            ..req
        },
        UpgradeRequest { target: "/", ..req },
        UpgradeRequest {
            target: "db",
            ..req
        },
        UpgradeRequest {
            body: Some(b""),
            ..req
        },
    ] {
        assert_invalid("CONNECT", encode_request("proxy.example:3128", &bad));
    }
    // A WebSocket handshake is GET.
    let post = UpgradeRequest {
        method: "POST",
        ..UPGRADE_REQUEST
    };
    assert_invalid("websocket POST", encode_request("a:1", &post));
}

#[test]
fn a_caller_host_replaces_the_authority_in_host() {
    // Name-based virtual hosting at another address (Go's `req.Host`, curl's `-H Host:`).
    let headers = [
        Header::new("X-A", "1"),
        Header::new("host", "app.example:8080"),
    ];
    let req = UpgradeRequest {
        headers: &headers,
        ..UPGRADE_REQUEST
    };
    let wire = encode_request("10.0.0.1:80", &req).expect("encodes");
    let text = String::from_utf8(wire).expect("ascii");
    assert!(
        text.contains("HTTP/1.1\r\nHost: app.example:8080\r\nConnection: Upgrade\r\n"),
        "{text}"
    );
    assert!(text.contains("\r\nX-A: 1\r\n\r\n"), "{text}");
    assert_eq!(text.matches("ost: ").count(), 1, "{text}");
    // Also `[v6]` and a bare name; a CONNECT's too.
    for ok in ["[::1]:8", "name", "name:1"] {
        let headers = [Header::new("Host", ok)];
        let req = UpgradeRequest {
            headers: &headers,
            ..UPGRADE_REQUEST
        };
        assert!(encode_request("a:1", &req).is_ok(), "{ok}");
    }
    // Two, or one that is no authority: refused before a byte is sent.
    let two = [Header::new("Host", "a"), Header::new("HOST", "b")];
    let req = UpgradeRequest {
        headers: &two,
        ..UPGRADE_REQUEST
    };
    assert_invalid("two Host fields", encode_request("a:1", &req));
    for bad in ["", "a b", "a:99999", "a:b", "[::1", "a/b", "a@b"] {
        let headers = [Header::new("Host", bad)];
        let req = UpgradeRequest {
            headers: &headers,
            ..UPGRADE_REQUEST
        };
        assert_invalid(&format!("Host {bad:?}"), encode_request("a:1", &req));
    }
}
