//! Helpers shared by every module: the two kinds of head, the table of heads (`cases`) with
//! what the parser must make of each, header builders, and the scanner, parser and assertion
//! shortcuts the tests are written with.

use hijack_proto::client::parse_response;
use hijack_proto::server::parse_request;
use hijack_proto::{
    DEFAULT_MAX_HEAD_BYTES, DEFAULT_MAX_HEADERS, HeadScanner, Header, ProtoError, RequestHead,
    ResponseHead,
};

/// Which parser a head is for.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
    Response,
    Request,
}

/// A parsed head of either kind.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    Response(ResponseHead),
    Request(RequestHead),
}

/// One row of the head table: the bytes, and what the parser must make of them. The scanner
/// must find the end of every row at `head.len()`, valid or not.
pub(crate) struct Case {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    pub(crate) head: Vec<u8>,
    pub(crate) expect: Result<Parsed, ProtoError>,
}

pub(crate) fn headers(fields: &[(&str, &str)]) -> Vec<Header> {
    fields.iter().map(|(n, v)| Header::new(*n, *v)).collect()
}

fn response_head(version: u8, status: u16, reason: &str, fields: &[(&str, &str)]) -> ResponseHead {
    ResponseHead {
        version,
        status,
        reason: reason.into(),
        headers: headers(fields),
    }
}

fn response(
    name: &'static str,
    head: impl Into<Vec<u8>>,
    status: u16,
    reason: &str,
    fields: &[(&str, &str)],
) -> Case {
    let head = head.into();
    // The version as the status line gives it (every case is HTTP/1.1 or HTTP/1.0).
    let version = if head.starts_with(b"HTTP/1.0") { 0 } else { 1 };
    Case {
        name,
        kind: Kind::Response,
        head,
        expect: Ok(Parsed::Response(response_head(
            version, status, reason, fields,
        ))),
    }
}

fn request(
    name: &'static str,
    head: impl Into<Vec<u8>>,
    method: &str,
    target: &str,
    version: u8,
    fields: &[(&str, &str)],
) -> Case {
    Case {
        name,
        kind: Kind::Request,
        head: head.into(),
        expect: Ok(Parsed::Request(RequestHead {
            method: method.into(),
            target: target.into(),
            version,
            headers: headers(fields),
        })),
    }
}

fn bad(name: &'static str, kind: Kind, head: impl Into<Vec<u8>>, err: ProtoError) -> Case {
    Case {
        name,
        kind,
        head: head.into(),
        expect: Err(err),
    }
}

pub(crate) fn parse(kind: Kind, head: &[u8]) -> Result<Parsed, ProtoError> {
    match kind {
        Kind::Response => parse_response(head, DEFAULT_MAX_HEADERS).map(Parsed::Response),
        Kind::Request => parse_request(head, DEFAULT_MAX_HEADERS).map(Parsed::Request),
    }
}

/// What httparse itself says about where the head ends (the core's reference).
pub(crate) fn httparse_end(kind: Kind, head: &[u8]) -> Option<usize> {
    let mut fields = vec![httparse::EMPTY_HEADER; DEFAULT_MAX_HEADERS];
    let status = match kind {
        Kind::Response => httparse::Response::new(&mut fields).parse(head),
        Kind::Request => httparse::Request::new(&mut fields).parse(head),
    };
    match status {
        Ok(httparse::Status::Complete(n)) => Some(n),
        _ => None,
    }
}

/// `n` header fields named `X-Field-<i>`, as names and values.
fn numbered_fields(n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|i| (format!("X-Field-{i}"), format!("value {i}")))
        .collect()
}

/// A head with the given start line and `n` numbered fields.
pub(crate) fn head_with_fields(start: &str, n: usize) -> Vec<u8> {
    let mut head = format!("{start}\r\n");
    for (name, value) in numbered_fields(n) {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    head.into_bytes()
}

pub(crate) fn malformed(what: &'static str) -> ProtoError {
    ProtoError::Malformed(what)
}

/// The table of heads.
pub(crate) fn cases() -> Vec<Case> {
    let many = numbered_fields(DEFAULT_MAX_HEADERS);
    let many: Vec<(&str, &str)> = many.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    vec![
        // Valid responses.
        response(
            "101 websocket, CRLF",
            "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
            101,
            "Switching Protocols",
            &[
                ("Connection", "Upgrade"),
                ("Upgrade", "websocket"),
                ("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
            ],
        ),
        response(
            "101 without Connection (hyper's conn::upgrade test)",
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: foobar\r\n\r\n",
            101,
            "Switching Protocols",
            &[("Upgrade", "foobar")],
        ),
        response(
            "101 ending in a bare LF (moby TestTLSCloseWriter)",
            "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n\
             Connection: Upgrade\r\nUpgrade: tcp\r\n\n",
            101,
            "UPGRADED",
            &[
                ("Content-Type", "application/vnd.docker.raw-stream"),
                ("Connection", "Upgrade"),
                ("Upgrade", "tcp"),
            ],
        ),
        response(
            "bare LF throughout",
            "HTTP/1.1 200 OK\nContent-Length: 0\nServer: x\n\n",
            200,
            "OK",
            &[("Content-Length", "0"), ("Server", "x")],
        ),
        response(
            "bare LF then CRLF blank line",
            "HTTP/1.1 200 OK\nServer: x\n\r\n",
            200,
            "OK",
            &[("Server", "x")],
        ),
        response(
            "no header fields",
            "HTTP/1.1 204 No Content\r\n\r\n",
            204,
            "No Content",
            &[],
        ),
        response(
            "leading empty lines",
            "\r\n\n\r\nHTTP/1.1 204 No Content\r\nServer: x\r\n\r\n",
            204,
            "No Content",
            &[("Server", "x")],
        ),
        response(
            "100 Continue",
            "HTTP/1.1 100 Continue\r\n\r\n",
            100,
            "Continue",
            &[],
        ),
        response(
            "103 Early Hints",
            "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n",
            103,
            "Early Hints",
            &[("Link", "</style.css>; rel=preload; as=style")],
        ),
        response(
            "HTTP/1.0",
            "HTTP/1.0 200 OK\r\nServer: old\r\n\r\n",
            200,
            "OK",
            &[("Server", "old")],
        ),
        response(
            "no reason phrase",
            "HTTP/1.1 426 \r\nUpgrade: websocket\r\n\r\n",
            426,
            "",
            &[("Upgrade", "websocket")],
        ),
        response(
            "empty value, tab and spaces around values",
            "HTTP/1.1 200 OK\r\nX-Empty:\r\nX-Tab:\tvalue\twith tab \r\nX-Spaces:   a  b   \r\n\r\n",
            200,
            "OK",
            &[
                ("X-Empty", ""),
                ("X-Tab", "value\twith tab"),
                ("X-Spaces", "a  b"),
            ],
        ),
        response(
            "as many fields as the cap",
            head_with_fields("HTTP/1.1 200 OK", DEFAULT_MAX_HEADERS),
            200,
            "OK",
            &many,
        ),
        // Valid requests.
        request(
            "websocket handshake (RFC 6455)",
            "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n\r\n",
            "GET",
            "/chat",
            1,
            &[
                ("Host", "server.example.com"),
                ("Upgrade", "websocket"),
                ("Connection", "Upgrade"),
                ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                ("Sec-WebSocket-Version", "13"),
            ],
        ),
        request(
            "docker attach with a body length",
            "POST /v1.43/containers/c1/attach?stream=1&stdin=1 HTTP/1.1\r\nHost: docker\r\n\
             Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 2\r\n\r\n",
            "POST",
            "/v1.43/containers/c1/attach?stream=1&stdin=1",
            1,
            &[
                ("Host", "docker"),
                ("Connection", "Upgrade"),
                ("Upgrade", "tcp"),
                ("Content-Length", "2"),
            ],
        ),
        request(
            "HTTP/1.0 request",
            "GET / HTTP/1.0\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
            "GET",
            "/",
            0,
            &[("Upgrade", "websocket"), ("Connection", "upgrade")],
        ),
        request(
            "bare LF request",
            "OPTIONS * HTTP/1.1\nHost: a\n\n",
            "OPTIONS",
            "*",
            1,
            &[("Host", "a")],
        ),
        request(
            "request after leading empty lines",
            "\r\n\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET",
            "/",
            1,
            &[("Host", "a")],
        ),
        request(
            "request with as many fields as the cap",
            head_with_fields("PUT /x HTTP/1.1", DEFAULT_MAX_HEADERS),
            "PUT",
            "/x",
            1,
            &many,
        ),
        // Invalid heads: the scanner still finds their end, the parser refuses them.
        bad(
            "obs-fold in a response",
            Kind::Response,
            "HTTP/1.1 200 OK\r\nX-A: b\r\n c\r\n\r\n",
            malformed("invalid header name"),
        ),
        bad(
            "obs-fold in a request",
            Kind::Request,
            "GET / HTTP/1.1\r\nX-A: b\r\n\tc\r\n\r\n",
            malformed("invalid header name"),
        ),
        bad(
            "whitespace before the colon (response)",
            Kind::Response,
            "HTTP/1.1 200 OK\r\nX-A : b\r\n\r\n",
            malformed("invalid header name"),
        ),
        bad(
            "whitespace before the colon (request)",
            Kind::Request,
            "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
            malformed("invalid header name"),
        ),
        bad(
            "NUL in a value",
            Kind::Response,
            "HTTP/1.1 200 OK\r\nX-A: b\0c\r\n\r\n",
            malformed("invalid header value"),
        ),
        bad(
            "NUL in a request value",
            Kind::Request,
            "GET / HTTP/1.1\r\nX-A: \0\r\n\r\n",
            malformed("invalid header value"),
        ),
        bad(
            "bare CR in a value",
            Kind::Response,
            "HTTP/1.1 200 OK\r\nX-A: b\rc\r\n\r\n",
            malformed("invalid header value"),
        ),
        bad(
            "HTTP/2.0 status line",
            Kind::Response,
            "HTTP/2.0 200 OK\r\n\r\n",
            malformed("invalid HTTP version"),
        ),
        bad(
            "HTTP/1.2 status line",
            Kind::Response,
            "HTTP/1.2 200 OK\r\n\r\n",
            malformed("invalid HTTP version"),
        ),
        bad(
            "lower-case version",
            Kind::Response,
            "http/1.1 200 OK\r\n\r\n",
            malformed("invalid HTTP version"),
        ),
        bad(
            "HTTP/1.2 request",
            Kind::Request,
            "GET / HTTP/1.2\r\n\r\n",
            malformed("invalid HTTP version"),
        ),
        bad(
            "two-digit status",
            Kind::Response,
            "HTTP/1.1 20 OK\r\n\r\n",
            malformed("invalid status line"),
        ),
        bad(
            "four-digit status",
            Kind::Response,
            "HTTP/1.1 2000 OK\r\n\r\n",
            malformed("invalid status line"),
        ),
        bad(
            "non-numeric status",
            Kind::Response,
            "HTTP/1.1 abc OK\r\n\r\n",
            malformed("invalid status line"),
        ),
        bad(
            "bad method token",
            Kind::Request,
            "G(T / HTTP/1.1\r\n\r\n",
            malformed("invalid token in the start line"),
        ),
        bad(
            "space in the request target",
            Kind::Request,
            "GET /a b HTTP/1.1\r\n\r\n",
            malformed("invalid HTTP version"),
        ),
        bad(
            "request target that is not UTF-8",
            Kind::Request,
            &b"GET /\xff\xfe HTTP/1.1\r\n\r\n"[..],
            malformed("invalid token in the start line"),
        ),
        bad(
            "non-token header name",
            Kind::Response,
            "HTTP/1.1 200 OK\r\nX(Y): a\r\n\r\n",
            malformed("invalid header name"),
        ),
        bad(
            "one field over the cap",
            Kind::Response,
            head_with_fields("HTTP/1.1 200 OK", DEFAULT_MAX_HEADERS + 1),
            ProtoError::TooManyHeaders,
        ),
        bad(
            "request with one field over the cap",
            Kind::Request,
            head_with_fields("GET / HTTP/1.1", DEFAULT_MAX_HEADERS + 1),
            ProtoError::TooManyHeaders,
        ),
    ]
}

pub(crate) fn valid_cases() -> Vec<Case> {
    cases().into_iter().filter(|c| c.expect.is_ok()).collect()
}

/// A fresh scanner with the default cap over the whole of `buf`.
pub(crate) fn scan_once(buf: &[u8]) -> Result<Option<usize>, ProtoError> {
    HeadScanner::new(DEFAULT_MAX_HEAD_BYTES).scan(buf)
}

/// A complete response head, checked by the scanner, then parsed.
pub(crate) fn response_of(head: &str) -> ResponseHead {
    assert_eq!(scan_once(head.as_bytes()), Ok(Some(head.len())), "{head:?}");
    parse_response(head.as_bytes(), DEFAULT_MAX_HEADERS).expect(head)
}

pub(crate) fn assert_invalid<T: std::fmt::Debug>(what: &str, result: Result<T, ProtoError>) {
    assert!(
        matches!(result, Err(ProtoError::InvalidInput(_))),
        "{what}: expected InvalidInput, got {:?}",
        result.as_ref().err()
    );
}
