//! The edge example (`target/composed/edge-attach.wasm`, left by `scripts/examples`, which the
//! README's test command runs first) under `wasmtime serve`: a plain HTTP/1.1 client written
//! here on one side, a native Docker-like daemon on the other. The daemon's view of the wire
//! and the response bodies are asserted exactly. Every wait is bounded.

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::process::Command;
use std::thread;
use std::time::Duration;

use crate::support;

use support::{Proc, Runner, blocking, composed, wasmtime};

const LIMIT: Duration = Runner::Wasmtime.limit();

/// What `wasmtime serve` prints on stderr once it listens, before `IP:PORT/`.
const SERVING: &str = "Serving HTTP on http://";

/// Start `wasmtime serve -S cli -S inherit-network --addr 127.0.0.1:0` on the edge component
/// (killed when the test ends, however it ends) and read back the address the kernel picked
/// from its `Serving HTTP on` line.
fn serve() -> (Proc, SocketAddr) {
    serve_with(&[])
}

/// [`serve`] with environment variables for the component (`--env NAME=VALUE`).
fn serve_with(env: &[(&str, &str)]) -> (Proc, SocketAddr) {
    let edge = composed("edge-attach.wasm");
    let mut cmd = Command::new(wasmtime());
    cmd.args(["serve", "-S", "cli", "-S", "inherit-network"])
        .args(["--addr", "127.0.0.1:0"]);
    for (name, value) in env {
        cmd.arg("--env").arg(format!("{name}={value}"));
    }
    cmd.arg(&edge);
    let served = Proc::spawn(cmd);
    let addr = served.wait_for("the address it serves on", LIMIT, |out, err| {
        [out, err].into_iter().find_map(|printed| {
            String::from_utf8_lossy(printed).lines().find_map(|line| {
                line.trim_end()
                    .strip_prefix(SERVING)?
                    .strip_suffix('/')?
                    .parse()
                    .ok()
            })
        })
    });
    (served, addr)
}

/// What the daemon saw: the request head, and what came after it until the client's EOF.
struct Seen {
    head: String,
    after_head: Vec<u8>,
}

/// A Docker-like daemon for one request, on a port the kernel picked: reads the head and sends
/// `answer` in one write; with `after_half_close`, then reads until the client half-closes (a
/// read returning 0 is the proof) and sends those bytes too; then closes.
fn daemon(
    answer: Vec<u8>,
    after_half_close: Option<Vec<u8>>,
) -> (SocketAddr, thread::JoinHandle<Seen>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    let t = thread::spawn(move || {
        let mut s = blocking::accept(&l, LIMIT);
        let head = String::from_utf8(blocking::read_head(&mut s, LIMIT)).expect("a UTF-8 head");
        s.write_all(&answer).expect("answer");
        let mut after_head = Vec::new();
        if let Some(more) = after_half_close {
            // The client half-closes within the limit.
            after_head = blocking::read_to_end(&mut s, LIMIT);
            s.write_all(&more).expect("bytes after the half-close");
        }
        Seen { head, after_head }
    });
    (addr, t)
}

/// A response as a plain HTTP/1.1 client sees it.
struct Response {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Response {
    /// Whether the head has this field line (compared case-insensitively).
    fn has(&self, field: &str) -> bool {
        self.head.lines().any(|l| l.eq_ignore_ascii_case(field))
    }
}

/// Send `METHOD TARGET` with `Connection: close` over a fresh connection and read the response
/// to EOF; a chunked body is de-chunked.
fn request(edge: SocketAddr, method: &str, target: &str) -> Response {
    let mut s = blocking::connect(edge, LIMIT);
    write!(
        s,
        "{method} {target} HTTP/1.1\r\nHost: {edge}\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let raw = blocking::read_to_end(&mut s, LIMIT);
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no complete head in {:?}", String::from_utf8_lossy(&raw)));
    let head = String::from_utf8(raw[..end].to_vec()).expect("a UTF-8 head");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    let rest = &raw[end + 4..];
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    Response { status, head, body }
}

/// The data of a complete chunked body (RFC 9112 §7.1); trailers are ignored.
fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let eol = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("a chunk-size line");
        let line = std::str::from_utf8(&rest[..eol]).expect("an ASCII chunk-size line");
        let size = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size, 16).expect("a hex chunk size");
        rest = &rest[eol + 2..];
        if size == 0 {
            return body;
        }
        body.extend_from_slice(rest.get(..size).expect("the chunk's data"));
        assert_eq!(
            rest.get(size..size + 2),
            Some(&b"\r\n"[..]),
            "CRLF after a chunk"
        );
        rest = &rest[size + 2..];
    }
}

/// The head the component sends upstream for `POST target` with `Upgrade: tcp`.
fn upgrade_head(target: &str, upstream: SocketAddr) -> String {
    format!(
        "POST {target} HTTP/1.1\r\nHost: {upstream}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
    )
}

#[test]
fn attach_streams_the_upstream_after_the_101_and_half_closes_it() {
    let (served, edge) = serve();
    // Sent with the 101, in the same write: the component buffers them past the head.
    let first: &[u8] = b"first\r\n\r\n\x00\x01\x02\xff";
    // Sent only after the edge half-closed: every byte value, some blank lines, 256 KiB+.
    let mut later = b"after the half-close\r\n\r\n".to_vec();
    later.extend((0..=255u8).cycle().take(256 * 1024 + 7));
    let answer = [
        &b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"[..],
        first,
    ]
    .concat();
    let (upstream, daemon) = daemon(answer, Some(later.clone()));

    let response = request(edge, "GET", &format!("/attach?target={upstream}&path=/p"));
    let seen = blocking::join(daemon, LIMIT);

    assert_eq!(seen.head, upgrade_head("/p", upstream));
    assert_eq!(seen.after_head, b"", "the edge sends nothing upstream");
    assert_eq!(
        response.status,
        200,
        "{}\nwasmtime serve:\n{}",
        response.head,
        served.log()
    );
    assert!(
        response.has("content-type: application/octet-stream"),
        "{}",
        response.head
    );
    let expected = [first, &later].concat();
    let differs = response
        .body
        .iter()
        .zip(&expected)
        .position(|(a, b)| a != b);
    assert_eq!(differs, None, "the body differs at that byte");
    assert_eq!(response.body.len(), expected.len());
}

#[test]
fn a_refused_upgrade_is_a_502_naming_the_upstreams_status() {
    let (served, edge) = serve();
    let answer = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec();
    let (upstream, daemon) = daemon(answer, None);

    // The path is percent-decoded before it goes upstream.
    let path = "%2Fcontainers%2Fnope%2Fattach%3Fstream%3D1%26stdout%3D1";
    let response = request(
        edge,
        "GET",
        &format!("/attach?target={upstream}&path={path}"),
    );
    let seen = blocking::join(daemon, LIMIT);

    assert_eq!(
        seen.head,
        upgrade_head("/containers/nope/attach?stream=1&stdout=1", upstream)
    );
    assert_eq!(response.status, 502, "wasmtime serve:\n{}", served.log());
    assert!(
        response.has("content-type: text/plain; charset=utf-8"),
        "{}",
        response.head
    );
    assert_eq!(
        String::from_utf8_lossy(&response.body),
        "upstream answered 404 Not Found instead of switching protocols\n"
    );
}

#[test]
fn bad_queries_paths_and_methods_get_one_line_answers() {
    let (served, edge) = serve();
    let cases = [
        ("GET", "/attach", 400, "missing query parameter `target`"),
        (
            "GET",
            "/attach?path=/p",
            400,
            "missing query parameter `target`",
        ),
        (
            "GET",
            "/attach?target=127.0.0.1:9&path=%zz",
            400,
            "query parameter `path`",
        ),
        (
            "GET",
            "/attach?target=127.0.0.1:9&other=1",
            400,
            "unknown query parameter",
        ),
        (
            "GET",
            "/attach?target=127.0.0.1:9&target=127.0.0.1:9",
            400,
            "given twice",
        ),
        // Refused by the hijack component's own checks, before any connection is made.
        ("GET", "/attach?target=no-port", 400, "invalid query: "),
        (
            "GET",
            "/attach?target=127.0.0.1:9&path=%0D%0AX:%201",
            400,
            "invalid query: ",
        ),
        ("POST", "/attach?target=127.0.0.1:9", 405, "GET only"),
        ("GET", "/elsewhere", 404, "not found"),
    ];
    for (method, target, status, says) in cases {
        let response = request(edge, method, target);
        let body = String::from_utf8_lossy(&response.body);
        assert_eq!(
            response.status,
            status,
            "{method} {target}: {body}\nwasmtime serve:\n{}",
            served.log()
        );
        assert!(body.contains(says), "{method} {target}: {body:?}");
        assert!(
            body.ends_with('\n') && body.matches('\n').count() == 1,
            "{method} {target}: one line, got {body:?}"
        );
    }
}

#[test]
fn with_an_upstream_list_only_listed_targets_are_dialed() {
    let answer =
        b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nlisted"
            .to_vec();
    let (listed, daemon) = daemon(answer, Some(Vec::new()));
    // Bound but never accepted from: a dial to it would show as a connection in its queue.
    let unlisted = TcpListener::bind("127.0.0.1:0").expect("bind");
    let unlisted_addr = unlisted.local_addr().expect("addr");
    unlisted.set_nonblocking(true).expect("nonblocking");
    let list = format!("other.example:1, {listed}");
    let (served, edge) = serve_with(&[("EDGE_ATTACH_UPSTREAMS", &list)]);

    let response = request(edge, "GET", &format!("/attach?target={listed}&path=/p"));
    let seen = blocking::join(daemon, LIMIT);
    assert_eq!(seen.head, upgrade_head("/p", listed));
    assert_eq!(response.status, 200, "wasmtime serve:\n{}", served.log());
    assert_eq!(response.body, b"listed");

    let response = request(edge, "GET", &format!("/attach?target={unlisted_addr}"));
    assert_eq!(response.status, 403, "wasmtime serve:\n{}", served.log());
    assert!(
        response.has("content-type: text/plain; charset=utf-8"),
        "{}",
        response.head
    );
    assert_eq!(
        String::from_utf8_lossy(&response.body),
        format!("upstream {unlisted_addr} is not allowed: it is not in EDGE_ATTACH_UPSTREAMS\n")
    );
    assert!(
        unlisted.accept().is_err(),
        "the edge connected to an upstream not on its list"
    );
}
