//! `hijack dial` against peers: a native one-shot server (the bytes that came with the `101`,
//! a refusal, a CONNECT tunnel, Docker's stdcopy framing, a legacy `200`, a hostile server),
//! Python's http.server, and `hijack serve --echo`; its failures one line and non-zero.

use super::{dial, join, peer, peer_owned, python, serve, text};
use crate::support::{LIMIT, blocking, refused, run_bounded};
use std::net::{SocketAddr, TcpListener};

#[test]
fn dial_hands_over_the_bytes_that_came_with_the_101() {
    let (addr, server) = peer(
        b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nfirst-bytes",
    );
    let url = format!("http://{addr}/containers/c1/attach?stream=1&stdin=1");
    let out = dial(
        &[
            &url,
            "--method",
            "POST",
            "-H",
            "User-Agent: hijack-cli-test",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert_eq!(out.stdout, b"first-bytes");
    assert!(
        text(&out.stderr).starts_with("HTTP/1.1 101 UPGRADED\r\n"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        text(&join(server)),
        format!(
            "POST /containers/c1/attach?stream=1&stdin=1 HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nUser-Agent: hijack-cli-test\r\n\r\n"
        )
    );
}

#[test]
fn dial_on_a_refusal_prints_status_and_body_on_stderr_and_exits_1() {
    let (addr, server) =
        peer(b"HTTP/1.1 404 Not Found\r\nContent-Length: 18\r\n\r\nno such container\n");
    let out = dial(&[&format!("http://{addr}/containers/nope/attach")], b"");
    join(server);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(out.stdout, b"");
    let err = text(&out.stderr);
    assert!(err.starts_with("HTTP/1.1 404 Not Found\r\n"), "{err}");
    assert!(err.contains("no such container"), "{err}");
}

#[test]
fn dial_against_python_http_server_is_not_switched() {
    // A server that is not ours and knows nothing of upgrades, on a port the kernel picked
    // and it prints.
    let server = python(
        "import http.server as h\n\
         s = h.ThreadingHTTPServer(('127.0.0.1', 0), h.SimpleHTTPRequestHandler)\n\
         print(s.server_address[1], flush=True)\n\
         s.serve_forever()\n",
        &[],
    );
    let line = server.first_line(LIMIT);
    let port: u16 = line
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("http.server printed {line:?}: {}", server.stderr()));
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let out = dial(&[&format!("http://{addr}/no-such-file")], b"");
    assert_eq!(out.status.code(), Some(1), "stderr: {}", text(&out.stderr));
    assert_eq!(out.stdout, b"");
    // http.server answers in HTTP/1.0 (its default protocol_version), and the line says so.
    assert!(
        text(&out.stderr).starts_with("HTTP/1.0 404 "),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn dial_failures_are_one_line_and_non_zero() {
    // Refused for sure: a port held by a socket that does not listen.
    let closed = refused();
    let out = dial(&[&format!("http://{}/", closed.addr)], b"");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(out.stdout, b"");
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("connect failed: connection-refused"), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );

    // A CR/LF smuggled into a header is refused before anything is sent.
    let never = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = never.local_addr().expect("addr");
    let out = dial(
        &[&format!("http://{addr}/"), "-H", "X-A: b\r\nX-Injected: 1"],
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("invalid input"),
        "{}",
        text(&out.stderr)
    );
    // Not even a connect: `dial` has exited, and a connect of its would be queued by now.
    assert!(!blocking::has_pending(&never), "dial connected");

    let out = dial(&["ftp://example/"], b"");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn dial_against_serve_echo_round_trips_and_half_closes() {
    let (_server, addr) = serve(&["--listen", "127.0.0.1:0", "--echo"]);
    let payload: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let out = dial(&[&format!("http://{addr}/attach")], &payload);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert_eq!(out.stdout.len(), payload.len());
    assert!(out.stdout == payload, "echoed bytes differ");
    assert!(text(&out.stderr).starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
}

#[test]
fn dial_by_host_name_looks_it_up_in_the_component() {
    let (addr, server) = peer(
        b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nby name",
    );
    let url = format!("http://localhost:{}/named", addr.port());
    let out = dial(&[&url], b"");
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert_eq!(out.stdout, b"by name");
    let head = text(&join(server));
    assert!(
        head.starts_with(&format!(
            "GET /named HTTP/1.1\r\nHost: localhost:{}\r\n",
            addr.port()
        )),
        "{head}"
    );
}

#[test]
fn dial_connect_opens_a_tunnel_through_a_proxy() {
    let (addr, proxy) =
        peer(b"HTTP/1.1 200 Connection established\r\nContent-Length: 99\r\n\r\ntunnel");
    let out = dial(
        &["--connect", "db.internal:5432", &format!("http://{addr}/")],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(out.stdout, b"tunnel");
    assert_eq!(
        text(&join(proxy)),
        "CONNECT db.internal:5432 HTTP/1.1\r\nHost: db.internal:5432\r\n\r\n"
    );
}

#[test]
fn dial_shows_the_status_line_with_the_version_the_peer_sent() {
    // tinyproxy answers a CONNECT in HTTP/1.0; the line on stderr says so, as curl's -v does.
    let (addr, proxy) =
        peer(b"HTTP/1.0 200 Connection established\r\nProxy-agent: tinyproxy/1.11.1\r\n\r\nbytes");
    let out = dial(
        &["--connect", "db.internal:5432", &format!("http://{addr}/")],
        b"",
    );
    join(proxy);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(out.stdout, b"bytes");
    assert_eq!(
        text(&out.stderr),
        "HTTP/1.0 200 Connection established\r\nProxy-agent: tinyproxy/1.11.1\r\n\r\n"
    );
}

#[test]
fn dial_stdcopy_splits_the_streams() {
    let mut reply = b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n".to_vec();
    for (stream, data) in [(1u8, &b"out-1 "[..]), (2, b"err-1"), (1, b"out-2")] {
        reply.extend_from_slice(&[stream, 0, 0, 0]);
        reply.extend_from_slice(&(data.len() as u32).to_be_bytes());
        reply.extend_from_slice(data);
    }
    let (addr, server) = peer_owned(reply);
    let out = dial(&["--stdcopy", &format!("http://{addr}/attach")], b"");
    join(server);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(out.stdout, b"out-1 out-2");
    assert!(
        text(&out.stderr).ends_with("\r\n\r\nerr-1"),
        "{}",
        text(&out.stderr)
    );

    // An unknown stream type is an error, not garbage on the terminal.
    let mut reply =
        b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n".to_vec();
    reply.extend_from_slice(&[9, 0, 0, 0, 0, 0, 0, 1, b'x']);
    let (addr, server) = peer_owned(reply);
    let out = dial(&["--stdcopy", &format!("http://{addr}/attach")], b"");
    join(server);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("hijack: error: "),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn dial_allow_200_takes_a_legacy_raw_stream() {
    const LEGACY: &[u8] =
        b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\nraw";
    let (addr, server) = peer(LEGACY);
    let out = dial(&[&format!("http://{addr}/attach")], b"");
    join(server);
    assert_eq!(out.status.code(), Some(1), "refused by default");
    assert_eq!(out.stdout, b"");
    let (addr, server) = peer(LEGACY);
    let out = dial(&["--allow-200", &format!("http://{addr}/attach")], b"");
    join(server);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(out.stdout, b"raw");
}

#[test]
fn dial_escapes_what_a_hostile_server_sends_to_the_terminal() {
    // Controls cannot pass the head parser, but bidi overrides (obs-text) can, and a body
    // can hold anything.
    let (addr, server) = peer(
        "HTTP/1.1 403 No \u{202e}kcatta\r\nX-Evil: a\u{2066}b\r\nContent-Length: 14\r\n\r\n\x1b[31mred\x07\rok\n"
            .as_bytes(),
    );
    let out = dial(&[&format!("http://{addr}/")], b"");
    join(server);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(!out.stderr.contains(&0x1b) && !out.stderr.contains(&0x07));
    let err = text(&out.stderr);
    assert!(
        !err.contains('\u{202e}') && !err.contains('\u{2066}'),
        "{err}"
    );
    assert!(err.contains("\\x1B[31mred\\x07\\rok\n"), "{err}");
    // httparse drops a reason phrase with obs-text: it never reaches the terminal at all.
    assert!(err.starts_with("HTTP/1.1 403 \r\n"), "{err}");
    assert!(err.contains("X-Evil: a\\u{2066}b"), "{err}");
}

#[test]
fn dial_sends_url_credentials_as_basic_and_never_prints_them() {
    // Direct: `Authorization`, percent-decoded first (curl's and Go's rule).
    let (addr, server) =
        peer(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n");
    let out = dial(&[&format!("http://alice:s3cr%40t@{addr}/x")], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // base64("alice:s3cr@t")
    assert_eq!(
        text(&join(server)),
        format!(
            "GET /x HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nAuthorization: Basic YWxpY2U6czNjckB0\r\n\r\n"
        )
    );
    assert!(!text(&out.stderr).contains("s3cr"), "{}", text(&out.stderr));

    // To a proxy with --connect: `Proxy-Authorization`; a caller's own field wins.
    let (addr, proxy) = peer(b"HTTP/1.1 200 Connection established\r\n\r\n");
    let out = dial(
        &[
            "--connect",
            "db.internal:5432",
            &format!("http://bob:pw@{addr}/"),
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&join(proxy)),
        "CONNECT db.internal:5432 HTTP/1.1\r\nHost: db.internal:5432\r\nProxy-Authorization: Basic Ym9iOnB3\r\n\r\n"
    );
    let (addr, server) =
        peer(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n");
    let out = dial(
        &[
            &format!("http://alice:pw@{addr}/x"),
            "-H",
            "authorization: Bearer t0k",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let head = text(&join(server));
    assert!(head.contains("\r\nauthorization: Bearer t0k\r\n"), "{head}");
    assert!(!head.contains("Basic"), "{head}");

    // Malformed credentials, or a bad host after them: one line, exit 2, no secret in it.
    for url in [
        "http://alice:s3cr%zz@127.0.0.1:9/x",
        "http://alice:s3cret@[::1/x",
        "http://:s3cret@127.0.0.1:9/x",
    ] {
        let out = dial(&[url], b"");
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{url}: {err}");
        assert!(!err.contains("s3cr"), "{url}: {err}");
        assert!(err.contains("***@"), "{url}: {err}");
    }
}

#[test]
fn dial_json_sends_the_body_with_its_content_type() {
    const BODY: &[u8] = br#"{"Detach":false,"Tty":false}"#;
    // A peer that reads the body too (Docker's exec start does), before it answers.
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    let server = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let mut s = blocking::accept(&l, LIMIT);
        let head = blocking::read_head(&mut s, LIMIT);
        s.set_read_timeout(Some(LIMIT)).expect("timeout");
        let mut body = vec![0; BODY.len()];
        s.read_exact(&mut body).expect("body");
        assert_eq!(body, BODY);
        s.write_all(
            b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
        )
        .expect("101");
        head
    });
    let out = dial(
        &[
            &format!("http://{addr}/exec/e1/start"),
            "--json",
            r#"{"Detach":false,"Tty":false}"#,
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let head = text(&join(server));
    assert!(
        head.starts_with("POST /exec/e1/start HTTP/1.1\r\n"),
        "{head}"
    );
    assert!(
        head.contains("\r\nContent-Type: application/json\r\n"),
        "{head}"
    );
    assert!(head.contains("\r\nAccept: application/json\r\n"), "{head}");
    assert!(head.contains("\r\nContent-Length: 28\r\n"), "{head}");
    // --json and --data are one body: both is a usage error.
    let out = dial(&["http://127.0.0.1:9/", "--json", "{}", "--data", "x"], b"");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn dial_into_a_closed_stdout_ends_quietly() {
    // A peer that switches and then streams until the client goes away.
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    let server = std::thread::spawn(move || {
        use std::io::Write;
        let mut s = blocking::accept(&l, LIMIT);
        blocking::read_head(&mut s, LIMIT);
        s.write_all(
            b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
        )
        .expect("101");
        let chunk = vec![b'x'; 64 * 1024];
        let started = std::time::Instant::now();
        // Until the client closes (or the bound, which fails the test below).
        while started.elapsed() < LIMIT && s.write_all(&chunk).is_ok() {}
    });
    // `hijack dial URL | head -c 100`, in a shell, as a user runs it.
    let script = format!(
        "{} dial http://{addr}/logs </dev/null | head -c 100 >/dev/null; echo \"${{PIPESTATUS[0]}}\"",
        super::BIN
    );
    let mut cmd = std::process::Command::new("bash");
    cmd.args(["-c", &script]);
    let out = run_bounded(cmd, b"", LIMIT);
    assert_eq!(text(&out.stdout).trim(), "0", "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(!err.contains("error"), "{err}");
    assert!(!err.to_lowercase().contains("broken pipe"), "{err}");
    join(server);
}

#[test]
fn dial_header_host_replaces_the_authority() {
    // Name-based virtual hosting at an address (curl's -H Host:, Go's req.Host).
    let (addr, server) =
        peer(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n");
    let out = dial(
        &[&format!("http://{addr}/x"), "-H", "Host: app.example"],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&join(server)),
        "GET /x HTTP/1.1\r\nHost: app.example\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
    );
    // One that is not an authority is refused before a byte is sent.
    let out = dial(&[&format!("http://{addr}/x"), "-H", "Host: a b"], b"");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}
