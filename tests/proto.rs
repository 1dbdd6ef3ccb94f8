//! Native tests of the sans-IO core, `wasi_hijack::proto`: a table of heads, every prefix of
//! each, head and tail in one buffer, read splits as property tests, the head cap, the upgrade
//! rules of `classify`, and the exact bytes (and refusals) of every encoder.
//!
//! No I/O here: the component and the host are tested in `client.rs` and `server.rs`.

use std::iter;

use proptest::prelude::*;
use proptest::sample::{Index, select};
use wasi_hijack::proto::client::{
    BodyPlan, UpgradeRequest, Verdict, classify, encode_request, parse_length, parse_response,
};
use wasi_hijack::proto::server::{
    self, encode_response, encode_switch, parse_request, upgrade_protocols,
};
use wasi_hijack::proto::{
    Authority, DEFAULT_MAX_HEAD_BYTES, DEFAULT_MAX_HEADERS, HeadScanner, Header, ProtoError,
    RequestHead, ResponseHead, parse_authority,
};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Which parser a head is for.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Response,
    Request,
}

/// A parsed head of either kind.
#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    Response(ResponseHead),
    Request(RequestHead),
}

/// One row of the head table: the bytes, and what the parser must make of them. The scanner
/// must find the end of every row at `head.len()`, valid or not.
struct Case {
    name: &'static str,
    kind: Kind,
    head: Vec<u8>,
    expect: Result<Parsed, ProtoError>,
}

fn headers(fields: &[(&str, &str)]) -> Vec<Header> {
    fields.iter().map(|(n, v)| Header::new(*n, *v)).collect()
}

fn response_head(status: u16, reason: &str, fields: &[(&str, &str)]) -> ResponseHead {
    ResponseHead {
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
    Case {
        name,
        kind: Kind::Response,
        head: head.into(),
        expect: Ok(Parsed::Response(response_head(status, reason, fields))),
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

fn parse(kind: Kind, head: &[u8]) -> Result<Parsed, ProtoError> {
    match kind {
        Kind::Response => parse_response(head, DEFAULT_MAX_HEADERS).map(Parsed::Response),
        Kind::Request => parse_request(head, DEFAULT_MAX_HEADERS).map(Parsed::Request),
    }
}

/// What httparse itself says about where the head ends (the core's reference).
fn httparse_end(kind: Kind, head: &[u8]) -> Option<usize> {
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
fn head_with_fields(start: &str, n: usize) -> Vec<u8> {
    let mut head = format!("{start}\r\n");
    for (name, value) in numbered_fields(n) {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    head.into_bytes()
}

fn malformed(what: &'static str) -> ProtoError {
    ProtoError::Malformed(what)
}

/// The table of heads.
fn cases() -> Vec<Case> {
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

fn valid_cases() -> Vec<Case> {
    cases().into_iter().filter(|c| c.expect.is_ok()).collect()
}

/// A fresh scanner with the default cap over the whole of `buf`.
fn scan_once(buf: &[u8]) -> Result<Option<usize>, ProtoError> {
    HeadScanner::new(DEFAULT_MAX_HEAD_BYTES).scan(buf)
}

/// A complete response head, checked by the scanner, then parsed.
fn response_of(head: &str) -> ResponseHead {
    assert_eq!(scan_once(head.as_bytes()), Ok(Some(head.len())), "{head:?}");
    parse_response(head.as_bytes(), DEFAULT_MAX_HEADERS).expect(head)
}

fn assert_invalid<T: std::fmt::Debug>(what: &str, result: Result<T, ProtoError>) {
    assert!(
        matches!(result, Err(ProtoError::InvalidInput(_))),
        "{what}: expected InvalidInput, got {:?}",
        result.as_ref().err()
    );
}

// ---------------------------------------------------------------------------------------------
// 1. The table
// ---------------------------------------------------------------------------------------------

#[test]
fn table_scan_end_and_parse_outcome() {
    for case in cases() {
        let name = case.name;
        assert_eq!(
            scan_once(&case.head),
            Ok(Some(case.head.len())),
            "{name}: scanner end"
        );
        assert_eq!(parse(case.kind, &case.head), case.expect, "{name}: parse");
        if case.expect.is_ok() {
            assert_eq!(
                httparse_end(case.kind, &case.head),
                Some(case.head.len()),
                "{name}: httparse disagrees on the end"
            );
        }
    }
}

#[test]
fn table_errors_display_and_are_std_errors() {
    for case in cases() {
        if let Err(e) = case.expect {
            let shown = e.to_string();
            assert!(!shown.is_empty(), "{}", case.name);
            let _: &dyn std::error::Error = &e;
        }
    }
    assert_eq!(ProtoError::HeadTooLarge.to_string(), "head too large");
    assert_eq!(ProtoError::TooManyHeaders.to_string(), "too many headers");
}

#[test]
fn parse_refuses_an_incomplete_head() {
    assert_eq!(
        parse_response(b"HTTP/1.1 200 OK\r\nServer: x\r\n", DEFAULT_MAX_HEADERS),
        Err(malformed("incomplete head"))
    );
    assert_eq!(
        parse_request(b"GET / HTTP/1.1\r\n", DEFAULT_MAX_HEADERS),
        Err(malformed("incomplete head"))
    );
    assert_eq!(
        parse_response(b"", DEFAULT_MAX_HEADERS),
        Err(malformed("incomplete head"))
    );
}

#[test]
fn max_headers_is_the_callers_choice() {
    let head = head_with_fields("HTTP/1.1 200 OK", 3);
    assert_eq!(parse_response(&head, 3).map(|h| h.headers.len()), Ok(3));
    assert_eq!(parse_response(&head, 2), Err(ProtoError::TooManyHeaders));
    let head = head_with_fields("GET / HTTP/1.1", 3);
    assert_eq!(parse_request(&head, 3).map(|h| h.headers.len()), Ok(3));
    assert_eq!(parse_request(&head, 2), Err(ProtoError::TooManyHeaders));
    assert_eq!(
        parse_request(b"GET / HTTP/1.1\r\n\r\n", 0).map(|h| h.headers.len()),
        Ok(0)
    );
}

// ---------------------------------------------------------------------------------------------
// 2. Every prefix is incomplete
// ---------------------------------------------------------------------------------------------

#[test]
fn every_strict_prefix_is_incomplete_for_a_fresh_scanner() {
    for case in cases() {
        for n in 0..case.head.len() {
            let prefix = &case.head[..n];
            assert_eq!(scan_once(prefix), Ok(None), "{}: prefix {n}", case.name);
            if case.expect.is_ok() {
                assert_eq!(
                    parse(case.kind, prefix),
                    Err(malformed("incomplete head")),
                    "{}: parse of prefix {n}",
                    case.name
                );
            }
        }
    }
}

#[test]
fn every_strict_prefix_is_incomplete_for_one_growing_scanner() {
    for case in cases() {
        let mut scanner = HeadScanner::new(DEFAULT_MAX_HEAD_BYTES);
        for n in 0..case.head.len() {
            assert_eq!(
                scanner.scan(&case.head[..n]),
                Ok(None),
                "{}: prefix {n}",
                case.name
            );
        }
        assert_eq!(
            scanner.scan(&case.head),
            Ok(Some(case.head.len())),
            "{}: whole head",
            case.name
        );
    }
}

#[test]
fn growing_scanner_with_repeated_and_empty_calls() {
    // The same length twice, and empty buffers first, change nothing.
    for case in valid_cases() {
        let mut scanner = HeadScanner::new(DEFAULT_MAX_HEAD_BYTES);
        assert_eq!(scanner.scan(b""), Ok(None));
        assert_eq!(scanner.scan(b""), Ok(None));
        for n in 0..case.head.len() {
            assert_eq!(scanner.scan(&case.head[..n]), Ok(None), "{}", case.name);
            assert_eq!(scanner.scan(&case.head[..n]), Ok(None), "{}", case.name);
        }
        assert_eq!(scanner.scan(&case.head), Ok(Some(case.head.len())));
        assert_eq!(scanner.scan(&case.head), Ok(Some(case.head.len())));
    }
}

#[test]
fn reset_starts_a_new_buffer() {
    let long = b"HTTP/1.1 200 OK\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let short = b"HTTP/1.1 200 OK\r\n\r\n";
    let mut scanner = HeadScanner::new(DEFAULT_MAX_HEAD_BYTES);
    assert_eq!(scanner.scan(long), Ok(None));
    scanner.reset();
    assert_eq!(scanner.scan(short), Ok(Some(short.len())));
    // After reset the new buffer is scanned from its start, even when it is shorter than
    // what was scanned before.
    let mut scanner = HeadScanner::new(DEFAULT_MAX_HEAD_BYTES);
    assert_eq!(scanner.scan(long), Ok(None));
    scanner.reset();
    for n in 0..short.len() {
        assert_eq!(scanner.scan(&short[..n]), Ok(None));
    }
    assert_eq!(scanner.scan(short), Ok(Some(short.len())));
    // Leading empty lines of the old buffer are forgotten too.
    let mut scanner = HeadScanner::new(DEFAULT_MAX_HEAD_BYTES);
    let blank = b"\r\n".repeat(20);
    assert_eq!(scanner.scan(&blank), Ok(None));
    scanner.reset();
    let tiny = b"HTTP/1.1 204 X\n\n";
    assert_eq!(scanner.scan(tiny), Ok(Some(tiny.len())));
}

// ---------------------------------------------------------------------------------------------
// 3. Head and tail in one buffer
// ---------------------------------------------------------------------------------------------

/// Tails that look like heads or terminators themselves.
const TAILS: &[&[u8]] = &[
    b"",
    b"\r\n\r\n",
    b"\n\n",
    b"\n",
    b"\r\n",
    b"\r",
    b"\n\r\n",
    b"HTTP/1.1 200 OK\r\n\r\n",
    b"GET /pipelined HTTP/1.1\r\nHost: a\r\n\r\nmore",
    b"hello from the new protocol",
    b"\x00\x01\x02\x03\xff\xfe\r\n\r\n\x81\x7e",
    b"\x81\x05Hello",
];

#[test]
fn head_and_tail_in_one_buffer_split_exactly() {
    for case in cases() {
        for tail in TAILS {
            let mut buf = case.head.clone();
            buf.extend_from_slice(tail);
            let end = scan_once(&buf).unwrap().unwrap();
            assert_eq!(end, case.head.len(), "{}: tail {tail:?}", case.name);
            assert_eq!(&buf[end..], *tail, "{}", case.name);
            assert_eq!(parse(case.kind, &buf[..end]), case.expect, "{}", case.name);
            if case.expect.is_ok() {
                assert_eq!(httparse_end(case.kind, &buf), Some(end), "{}", case.name);
            }
            // One scanner: head prefixes first, then head and tail arriving together.
            let mut scanner = HeadScanner::new(DEFAULT_MAX_HEAD_BYTES);
            for n in 0..case.head.len() {
                assert_eq!(scanner.scan(&buf[..n]), Ok(None));
            }
            assert_eq!(scanner.scan(&buf), Ok(Some(end)), "{}", case.name);
        }
    }
}

#[test]
fn head_tail_split_across_every_single_boundary() {
    // Two reads, the boundary anywhere: the end is the same.
    for case in valid_cases() {
        let mut buf = case.head.clone();
        buf.extend_from_slice(b"\r\n\r\nTAIL\n\n");
        for cut in 0..=buf.len() {
            let mut scanner = HeadScanner::new(DEFAULT_MAX_HEAD_BYTES);
            let first = scanner.scan(&buf[..cut]).unwrap();
            let end = match first {
                Some(end) => end,
                None => scanner.scan(&buf).unwrap().unwrap(),
            };
            assert_eq!(end, case.head.len(), "{}: cut {cut}", case.name);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Property tests: read splits
// ---------------------------------------------------------------------------------------------

/// Where a head ends, written independently of the scanner: skip leading CR/LF, then the first
/// LF followed by LF or by CRLF; the cap applies to the end, or to the buffer without one.
fn reference_scan(buf: &[u8], max: usize) -> Result<Option<usize>, ProtoError> {
    let lead = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let end = (lead..buf.len()).find_map(|i| match &buf[i..] {
        [b'\n', b'\n', ..] => Some(i + 2),
        [b'\n', b'\r', b'\n', ..] => Some(i + 3),
        _ => None,
    });
    match end {
        Some(end) if end <= max => Ok(Some(end)),
        Some(_) => Err(ProtoError::HeadTooLarge),
        None if buf.len() > max => Err(ProtoError::HeadTooLarge),
        None => Ok(None),
    }
}

/// Ascending, distinct read boundaries inside `0..=len`.
fn boundaries(cuts: &[Index], len: usize) -> Vec<usize> {
    let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(len + 1)).collect();
    cuts.sort_unstable();
    cuts.dedup();
    cuts
}

/// Feeds one scanner a buffer growing to each boundary and then to its full length; every
/// answer must be what a fresh scanner says about the same bytes at once. Returns the first
/// answer that is not `Ok(None)`.
fn scan_growing(
    buf: &[u8],
    max: usize,
    cuts: &[usize],
) -> Result<Result<Option<usize>, ProtoError>, TestCaseError> {
    let mut scanner = HeadScanner::new(max);
    for &cut in cuts.iter().chain(iter::once(&buf.len())) {
        let got = scanner.scan(&buf[..cut]);
        let whole = HeadScanner::new(max).scan(&buf[..cut]);
        prop_assert_eq!(&got, &whole, "boundary {} of {:?}", cut, cuts);
        if got != Ok(None) {
            return Ok(got);
        }
    }
    Ok(Ok(None))
}

const TCHARS: &[u8] =
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~";
const VCHARS: &[u8] = b"abcXYZ019!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~\x80\xa0\xc3\xa9\xff";
const TARGET_CHARS: &[u8] = b"abcXYZ019/?=&-._~%:@";

fn token(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(select(TCHARS), 1..max).prop_map(|b| String::from_utf8(b).expect("ASCII"))
}

/// A field value with no whitespace at its ends (httparse trims it), maybe with obs-text.
fn field_value() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::collection::vec(select(VCHARS), 1..6), 0..4)
        .prop_map(|words| words.join(&b' '))
}

fn line_end() -> impl Strategy<Value = &'static [u8]> {
    prop_oneof![Just(&b"\r\n"[..]), Just(&b"\n"[..])]
}

/// A valid head (request or response) with random fields, line endings and leading empty
/// lines, with what it must parse to.
fn valid_head() -> impl Strategy<Value = (Kind, Vec<u8>, Vec<Header>)> {
    let start = prop_oneof![
        (100u16..=599, prop::collection::vec(token(8), 0..3), 0u8..=1).prop_map(
            |(status, reason, minor)| (
                Kind::Response,
                format!("HTTP/1.{minor} {status} {}", reason.join(" "))
            )
        ),
        (
            token(8),
            prop::collection::vec(select(TARGET_CHARS), 0..16),
            0u8..=1
        )
            .prop_map(|(method, target, minor)| (
                Kind::Request,
                format!(
                    "{method} /{} HTTP/1.{minor}",
                    String::from_utf8(target).expect("ASCII")
                )
            )),
    ];
    (
        prop::collection::vec(line_end(), 0..3),
        start,
        line_end(),
        prop::collection::vec((token(12), field_value(), line_end()), 0..8),
        line_end(),
    )
        .prop_map(|(leading, (kind, start), start_end, fields, blank)| {
            let mut head = leading.concat();
            head.extend_from_slice(start.as_bytes());
            head.extend_from_slice(start_end);
            let mut expected = Vec::new();
            for (name, value, end) in fields {
                head.extend_from_slice(name.as_bytes());
                head.extend_from_slice(b": ");
                head.extend_from_slice(&value);
                head.extend_from_slice(end);
                expected.push(Header::new(name, value));
            }
            head.extend_from_slice(blank);
            (kind, head, expected)
        })
}

/// Arbitrary bytes, with CR and LF (and whole terminators) much more likely than chance.
fn noisy_bytes(max_len: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            3 => any::<u8>(),
            2 => Just(b'\r'),
            2 => Just(b'\n'),
            1 => Just(b':'),
            1 => Just(b'A'),
        ],
        0..max_len,
    )
}

fn config() -> ProptestConfig {
    ProptestConfig {
        // Failures print their minimal input; no regression files in the source tree.
        failure_persistence: None,
        ..ProptestConfig::with_cases(2000)
    }
}

proptest! {
    #![proptest_config(config())]

    /// A generated head plus arbitrary tail bytes, read in several chunks: one growing scanner
    /// ends exactly where the whole buffer ends, which is where httparse ends, and the bytes
    /// after the end are exactly the tail.
    #[test]
    fn split_reads_end_where_the_whole_buffer_ends(
        (kind, head, fields) in valid_head(),
        tail in noisy_bytes(64),
        cuts in prop::collection::vec(any::<Index>(), 0..8),
    ) {
        let mut buf = head.clone();
        buf.extend_from_slice(&tail);
        let whole = scan_once(&buf);
        prop_assert_eq!(&whole, &Ok(Some(head.len())));
        prop_assert_eq!(httparse_end(kind, &buf), Some(head.len()));
        let cuts = boundaries(&cuts, buf.len());
        let split = scan_growing(&buf, DEFAULT_MAX_HEAD_BYTES, &cuts)?;
        prop_assert_eq!(&split, &whole);
        prop_assert_eq!(&buf[head.len()..], &tail[..]);
        let parsed_fields = match kind {
            Kind::Response => parse_response(&buf[..head.len()], DEFAULT_MAX_HEADERS)
                .map(|h| h.headers),
            Kind::Request => parse_request(&buf[..head.len()], DEFAULT_MAX_HEADERS)
                .map(|h| h.headers),
        };
        prop_assert_eq!(parsed_fields, Ok(fields));
    }

    /// Any bytes at all, any cap, any split: each answer of a growing scanner is that of the
    /// reference on the same prefix.
    #[test]
    fn split_reads_match_the_reference_on_noise(
        buf in noisy_bytes(160),
        max in 0usize..200,
        cuts in prop::collection::vec(any::<Index>(), 0..8),
    ) {
        let cuts = boundaries(&cuts, buf.len());
        let mut scanner = HeadScanner::new(max);
        for &cut in cuts.iter().chain(iter::once(&buf.len())) {
            let got = scanner.scan(&buf[..cut]);
            prop_assert_eq!(&got, &reference_scan(&buf[..cut], max), "boundary {}", cut);
            if got != Ok(None) {
                break;
            }
        }
        prop_assert_eq!(scan_growing(&buf, max, &cuts)?, reference_scan(&buf, max));
    }
}

// ---------------------------------------------------------------------------------------------
// 5. The head cap
// ---------------------------------------------------------------------------------------------

#[test]
fn head_exactly_at_the_cap_is_accepted_one_byte_over_is_refused() {
    for case in cases() {
        let len = case.head.len();
        assert_eq!(HeadScanner::new(len).scan(&case.head), Ok(Some(len)));
        // The end is found, but beyond the cap.
        assert_eq!(
            HeadScanner::new(len - 1).scan(&case.head),
            Err(ProtoError::HeadTooLarge),
            "{}",
            case.name
        );
        // Also with a tail after it, and when read a byte at a time.
        let mut buf = case.head.clone();
        buf.extend_from_slice(b"tail\r\n\r\n");
        assert_eq!(
            HeadScanner::new(len - 1).scan(&buf),
            Err(ProtoError::HeadTooLarge)
        );
        let mut scanner = HeadScanner::new(len - 1);
        let first_error = (0..=len).find(|&n| scanner.scan(&case.head[..n]).is_err());
        assert_eq!(first_error, Some(len), "{}", case.name);
    }
}

#[test]
fn buffer_over_the_cap_without_an_end_is_refused() {
    let partial = b"HTTP/1.1 200 OK\r\nX-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let max = 20;
    assert_eq!(HeadScanner::new(max).scan(&partial[..max]), Ok(None));
    assert_eq!(
        HeadScanner::new(max).scan(&partial[..=max]),
        Err(ProtoError::HeadTooLarge)
    );
    assert_eq!(
        HeadScanner::new(max).scan(partial),
        Err(ProtoError::HeadTooLarge)
    );
    // Growing a byte at a time: the first refusal is at `max + 1` bytes.
    let mut scanner = HeadScanner::new(max);
    for n in 0..=max {
        assert_eq!(scanner.scan(&partial[..n]), Ok(None));
    }
    assert_eq!(
        scanner.scan(&partial[..=max]),
        Err(ProtoError::HeadTooLarge)
    );
    // A zero cap refuses any byte.
    assert_eq!(HeadScanner::new(0).scan(b""), Ok(None));
    assert_eq!(
        HeadScanner::new(0).scan(b"H"),
        Err(ProtoError::HeadTooLarge)
    );
}

#[test]
fn leading_empty_lines_count_towards_the_cap() {
    let head = b"\r\n\r\n\r\nHTTP/1.1 200 OK\r\n\r\n";
    assert_eq!(
        HeadScanner::new(head.len()).scan(head),
        Ok(Some(head.len()))
    );
    assert_eq!(
        HeadScanner::new(head.len() - 1).scan(head),
        Err(ProtoError::HeadTooLarge)
    );
    // Nothing but empty lines: never a head, refused once over the cap.
    let blank = b"\r\n".repeat(20);
    assert_eq!(HeadScanner::new(40).scan(&blank), Ok(None));
    assert_eq!(
        HeadScanner::new(39).scan(&blank),
        Err(ProtoError::HeadTooLarge)
    );
}

#[test]
fn only_empty_lines_fed_a_byte_at_a_time_up_to_the_default_cap() {
    // Slowloris with empty lines: a byte per read until the cap. Must stay cheap.
    let blank = b"\r\n".repeat(DEFAULT_MAX_HEAD_BYTES / 2 + 1);
    let mut scanner = HeadScanner::new(DEFAULT_MAX_HEAD_BYTES);
    for n in 0..=DEFAULT_MAX_HEAD_BYTES {
        assert_eq!(scanner.scan(&blank[..n]), Ok(None));
    }
    assert_eq!(
        scanner.scan(&blank[..=DEFAULT_MAX_HEAD_BYTES]),
        Err(ProtoError::HeadTooLarge)
    );
}

#[test]
fn a_long_head_fed_a_byte_at_a_time_up_to_the_default_cap() {
    let head = head_with_fields("HTTP/1.1 200 OK", 4000);
    let mut scanner = HeadScanner::new(DEFAULT_MAX_HEAD_BYTES);
    let over = (0..=head.len())
        .find(|&n| scanner.scan(&head[..n]) != Ok(None))
        .expect("a decision");
    assert!(head.len() > DEFAULT_MAX_HEAD_BYTES);
    assert_eq!(over, DEFAULT_MAX_HEAD_BYTES + 1);
}

#[test]
fn room_is_what_is_left_before_a_decision() {
    let scanner = HeadScanner::new(10);
    assert_eq!(scanner.room(0), 11);
    assert_eq!(scanner.room(5), 6);
    assert_eq!(scanner.room(10), 1);
    assert_eq!(scanner.room(11), 0);
    assert_eq!(scanner.room(1000), 0);
    assert_eq!(HeadScanner::new(0).room(0), 1);
    assert_eq!(
        HeadScanner::new(DEFAULT_MAX_HEAD_BYTES).room(0),
        DEFAULT_MAX_HEAD_BYTES + 1
    );
    assert_eq!(HeadScanner::new(usize::MAX).room(0), usize::MAX);
}

#[test]
fn reading_no_more_than_room_always_ends_in_a_decision() {
    // A read loop that never asks for more than `room` ends with the head or with
    // `HeadTooLarge`, and never holds more than `max + 1` bytes.
    let mut inputs: Vec<Vec<u8>> = cases().into_iter().map(|c| c.head).collect();
    inputs.push(b"HTTP/1.1 200 OK\r\nX: no end in sight".repeat(10));
    for input in &inputs {
        let mut stream = input.clone();
        stream.extend_from_slice(&b"TAIL".repeat(20));
        for max in [0, 1, 7, 16, input.len() - 1, input.len(), input.len() + 10] {
            for chunk in [1, 3, 64] {
                let mut scanner = HeadScanner::new(max);
                let mut buf = Vec::new();
                let decision = loop {
                    let want = chunk.min(scanner.room(buf.len()));
                    assert!(want > 0, "no room left but no decision");
                    let from = buf.len();
                    let to = (from + want).min(stream.len());
                    assert!(to > from, "ran out of input");
                    buf.extend_from_slice(&stream[from..to]);
                    assert!(buf.len() <= max + 1);
                    match scanner.scan(&buf) {
                        Ok(None) => continue,
                        other => break other,
                    }
                };
                let expected = if input.ends_with(b"no end in sight") || input.len() > max {
                    Err(ProtoError::HeadTooLarge)
                } else {
                    Ok(Some(input.len()))
                };
                assert_eq!(decision, expected, "max {max}, chunk {chunk}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 6. classify: the upgrade rules
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// 7. encode_request
// ---------------------------------------------------------------------------------------------

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
        wasi_hijack::proto::header_values(&head.headers, "content-length").collect::<Vec<_>>(),
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
        "Host",
        "host",
        "HOST",
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
    let headers = [
        Header::new("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        Header::new("Sec-WebSocket-Version", "13"),
    ];
    let req = UpgradeRequest {
        headers: &headers,
        ..UPGRADE_REQUEST
    };
    let bytes = encode_request("server.example.com:80", &req).unwrap();
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

// ---------------------------------------------------------------------------------------------
// 8. The server side
// ---------------------------------------------------------------------------------------------

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
    let offered = vec!["h2c".to_string(), "WebSocket".to_string()];
    let bytes = encode_switch(
        "websocket",
        &offered,
        &[Header::new(
            "Sec-WebSocket-Accept",
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
        )],
    )
    .unwrap();
    assert_eq!(
        bytes,
        b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
          Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
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
