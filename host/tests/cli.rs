//! The `hijack` binary as a user drives it: `dial` against `serve --echo`, and each against
//! peers that are not ours (a native server and client written here, curl, Python's
//! http.server). Bytes on stdout and on the wire are asserted exactly. Every wait is bounded.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

mod support;

use support::{Killed, read_head};

const BIN: &str = env!("CARGO_BIN_EXE_hijack");
const LIMIT: Duration = Duration::from_secs(20);

/// Start `hijack serve ARGS` and read its first line, `listening on IP:PORT` (bounded).
fn serve(args: &[&str]) -> (Killed, SocketAddr) {
    let mut cmd = Command::new(BIN);
    cmd.arg("serve").args(args).stderr(Stdio::null());
    support::listening(cmd, LIMIT)
}

/// Run `hijack dial ARGS` with `stdin` fed and closed, its output drained as it comes (so a
/// full pipe never stalls it), bounded by [`LIMIT`].
fn dial(args: &[&str], stdin: &[u8]) -> Output {
    hijack(&[&["dial"], args].concat(), stdin)
}

/// Run `hijack ARGS` as [`dial`] does: `stdin` fed and closed, output drained, bounded.
fn hijack(args: &[&str], stdin: &[u8]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    support::run_bounded(cmd, stdin, LIMIT)
}

/// A one-shot native server: reads a request head, sends `reply`, closes; returns the head.
fn peer(reply: &'static [u8]) -> (SocketAddr, thread::JoinHandle<Vec<u8>>) {
    peer_owned(reply.to_vec())
}

fn read_to_end(s: &mut TcpStream) -> Vec<u8> {
    s.set_read_timeout(Some(LIMIT)).expect("timeout");
    let mut out = Vec::new();
    s.read_to_end(&mut out)
        .expect("read to EOF within the limit");
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

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
        text(&server.join().expect("server")),
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
    server.join().expect("server");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(out.stdout, b"");
    let err = text(&out.stderr);
    assert!(err.starts_with("HTTP/1.1 404 Not Found\r\n"), "{err}");
    assert!(err.contains("no such container"), "{err}");
}

#[test]
fn dial_against_python_http_server_is_not_switched() {
    // A server that is not ours and knows nothing of upgrades.
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    drop(l);
    let child = Command::new("python3")
        .args([
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            &port.to_string(),
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 -m http.server");
    let _guard = Killed(child);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let start = Instant::now();
    while TcpStream::connect(addr).is_err() {
        assert!(start.elapsed() < LIMIT, "python http.server did not start");
        thread::sleep(Duration::from_millis(50));
    }
    let out = dial(&[&format!("http://{addr}/no-such-file")], b"");
    assert_eq!(out.status.code(), Some(1), "stderr: {}", text(&out.stderr));
    assert_eq!(out.stdout, b"");
    assert!(
        text(&out.stderr).starts_with("HTTP/1.1 404 "),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn dial_failures_are_one_line_and_non_zero() {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    drop(l);
    let out = dial(&[&format!("http://{addr}/")], b"");
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
    let (addr, _never) = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        (l.local_addr().expect("addr"), l)
    };
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
fn serve_echo_against_a_native_client() {
    let (_server, addr) = serve(&["--listen", "127.0.0.1:0", "--upgrade", "tcp", "--echo"]);
    // Head and the first bytes of the new protocol in one write.
    let mut s = TcpStream::connect(addr).expect("connect");
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nping")
        .expect("write");
    s.shutdown(std::net::Shutdown::Write).expect("half-close");
    assert_eq!(
        text(&read_to_end(&mut s)),
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nping"
    );
    // A request that does not offer an accepted protocol gets 426, then close.
    let mut s = TcpStream::connect(addr).expect("connect");
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
        .expect("write");
    assert_eq!(
        text(&read_to_end(&mut s)),
        "HTTP/1.1 426 Upgrade Required\r\nUpgrade: tcp\r\nContent-Type: text/plain\r\nContent-Length: 29\r\nConnection: close\r\n\r\nthis server switches to: tcp\n"
    );
}

#[test]
fn serve_against_curl() {
    let (_server, addr) = serve(&["--listen", "127.0.0.1:0", "--echo"]);
    let url = format!("http://{addr}/plain");
    // curl without an upgrade: 426 and the body, as any HTTP client sees it.
    let out = Command::new("curl")
        .args(["-sS", "-i", "--max-time", "10", &url])
        .output()
        .expect("curl");
    let got = text(&out.stdout);
    assert!(
        got.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
        "{got}"
    );
    assert!(got.ends_with("this server switches to: tcp\n"), "{got}");
    // curl asking for the switch: it sees the 101 head exactly as we sent it.
    let out = Command::new("curl")
        .args([
            "-sS",
            "-i",
            "--max-time",
            "3",
            "-H",
            "Connection: Upgrade",
            "-H",
            "Upgrade: tcp",
            &url,
        ])
        .output()
        .expect("curl");
    let got = text(&out.stdout);
    assert!(
        got.starts_with(
            "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
        ),
        "{got:?}"
    );
}

#[test]
fn serve_exec_wires_the_connection_to_a_child_process() {
    let (_server, addr) = serve(&["--listen", "127.0.0.1:0", "--exec", "tr", "a-z", "A-Z"]);
    let out = dial(&[&format!("http://{addr}/exec")], b"hello from stdin\n");
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert_eq!(out.stdout, b"HELLO FROM STDIN\n");
}

#[test]
fn serve_handles_many_connections_at_once() {
    let (_server, addr) = serve(&["--listen", "127.0.0.1:0", "--echo"]);
    let mut conns: Vec<TcpStream> = (0..20)
        .map(|i| {
            let mut s = TcpStream::connect(addr).expect("connect");
            s.write_all(
                format!(
                    "GET /{i} HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: tcp\r\n\r\n"
                )
                .as_bytes(),
            )
            .expect("write");
            s
        })
        .collect();
    for (i, s) in conns.iter_mut().enumerate() {
        s.set_read_timeout(Some(LIMIT)).expect("timeout");
        let head = read_head(s);
        assert!(head.starts_with(b"HTTP/1.1 101"), "{}", text(&head));
        s.write_all(format!("conn {i}").as_bytes()).expect("write");
    }
    for (i, s) in conns.iter_mut().enumerate() {
        s.shutdown(std::net::Shutdown::Write).expect("half-close");
        assert_eq!(text(&read_to_end(s)), format!("conn {i}"));
    }
}

#[test]
fn demo_runs() {
    let out = Command::new(BIN).arg("demo").output().expect("demo");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let got = text(&out.stdout);
    assert!(got.contains("client: 101 Switching Protocols"), "{got}");
    assert!(
        got.contains("client: sent and got back: hello over a hijacked connection\n"),
        "{got}"
    );
    assert!(got.ends_with("demo: ok\n"), "{got}");
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
    let head = text(&server.join().expect("server"));
    assert!(
        head.starts_with(&format!(
            "GET /named HTTP/1.1\r\nHost: localhost:{}\r\n",
            addr.port()
        )),
        "{head}"
    );
}

#[test]
fn serve_exec_passes_dash_arguments_to_the_command() {
    let (_server, addr) = serve(&[
        "--listen",
        "127.0.0.1:0",
        "--exec",
        "sh",
        "-c",
        "tr a-z A-Z",
    ]);
    let out = dial(&[&format!("http://{addr}/exec")], b"through sh -c\n");
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert_eq!(out.stdout, b"THROUGH SH -C\n");
}

/// `hijack ARGS` succeeded with nothing on stderr; its stdout.
fn stdout_of(args: &[&str]) -> String {
    let out = hijack(args, b"");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: stderr: {}",
        text(&out.stderr)
    );
    assert_eq!(text(&out.stderr), "", "{args:?}");
    text(&out.stdout)
}

#[test]
fn help_names_the_commands_and_their_flags() {
    for args in [&["--help"][..], &["-h"], &["help"]] {
        let got = stdout_of(args);
        assert!(got.contains("Usage: hijack"), "{args:?}: {got}");
        for word in ["dial", "serve", "demo", "--help", "--version"] {
            assert!(got.contains(word), "{args:?} lacks {word}: {got}");
        }
    }
    let got = stdout_of(&["--help"]);
    assert!(
        got.contains("1 when `dial`'s peer answered but did not switch"),
        "{got}"
    );

    for args in [&["dial", "--help"][..], &["help", "dial"]] {
        let got = stdout_of(args);
        assert!(got.contains("Usage: hijack dial"), "{args:?}: {got}");
        for word in [
            "<URL>",
            "-X, --method <M>",
            "-H, --header <Name: value>",
            "-d, --data <STRING>",
            "--upgrade <PROTO>",
            "--head-timeout <MS>",
            "--max-head-bytes <N>",
            "[default: tcp]",
        ] {
            assert!(got.contains(word), "{args:?} lacks {word}: {got}");
        }
    }
    let got = stdout_of(&["dial", "--help"]);
    assert!(got.contains("The response head goes to stderr"), "{got}");
    assert!(got.contains("1 if it did not switch"), "{got}");

    for args in [&["serve", "--help"][..], &["serve", "-h"]] {
        let got = stdout_of(args);
        assert!(got.contains("Usage: hijack serve"), "{args:?}: {got}");
        for word in [
            "--listen <ADDR>",
            "--upgrade <PROTO>",
            "--echo",
            "--exec <CMD>...",
        ] {
            assert!(got.contains(word), "{args:?} lacks {word}: {got}");
        }
    }
    assert!(stdout_of(&["serve", "--help"]).contains("listening on IP:PORT"));
    assert!(stdout_of(&["demo", "--help"]).contains("Usage: hijack demo"));
}

#[test]
fn version_is_the_crates() {
    let want = format!("hijack {}\n", env!("CARGO_PKG_VERSION"));
    assert_eq!(want, "hijack 0.1.0\n");
    for args in [&["--version"][..], &["-V"]] {
        assert_eq!(stdout_of(args), want, "{args:?}");
    }
}

#[test]
fn usage_errors_are_claps_and_exit_2() {
    for args in [
        &["dial", "http://127.0.0.1:1/", "--no-such-flag"][..],
        &["--no-such-flag"],
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--echo",
            "--no-such-flag",
        ],
    ] {
        let out = hijack(args, b"");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(out.stdout, b"", "{args:?}");
        let err = text(&out.stderr);
        assert!(
            err.starts_with("error: unexpected argument '--no-such-flag'"),
            "{args:?}: {err}"
        );
        assert!(err.contains("Usage: hijack"), "{args:?}: {err}");
    }
    for (args, says) in [
        (
            &["dial", "http://h/", "-H", "no-colon"][..],
            "is not 'Name: value'",
        ),
        (&["dial", "ftp://h/"], "only http:// URLs are supported"),
        (&["dial"], "<URL>"),
        (&["serve", "--listen", "127.0.0.1:0"], "--echo"),
        (&["serve", "--echo"], "--listen <ADDR>"),
        (&["serve", "--listen", "127.0.0.1:0", "--exec"], "--exec"),
        (&["demo", "extra"], "extra"),
        (&["nope"], "nope"),
    ] {
        let out = hijack(args, b"");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = text(&out.stderr);
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?} lacks {says}: {err}");
    }
    // No arguments at all: the usage, on stdout, exit 0 (as before the CLI moved to clap).
    let out = hijack(&[], b"");
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stdout).contains("Usage: hijack"),
        "{}",
        text(&out.stdout)
    );
}

/// A one-shot native server like [`peer`], with an owned reply.
fn peer_owned(reply: Vec<u8>) -> (SocketAddr, thread::JoinHandle<Vec<u8>>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    let t = thread::spawn(move || {
        let (mut s, _) = l.accept().expect("accept");
        s.set_read_timeout(Some(LIMIT)).expect("timeout");
        let head = read_head(&mut s);
        s.write_all(&reply).expect("reply");
        head
    });
    (addr, t)
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
        text(&proxy.join().expect("proxy")),
        "CONNECT db.internal:5432 HTTP/1.1\r\nHost: db.internal:5432\r\n\r\n"
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
    server.join().expect("peer");
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
    server.join().expect("peer");
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
    server.join().expect("peer");
    assert_eq!(out.status.code(), Some(1), "refused by default");
    assert_eq!(out.stdout, b"");
    let (addr, server) = peer(LEGACY);
    let out = dial(&["--allow-200", &format!("http://{addr}/attach")], b"");
    server.join().expect("peer");
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
    server.join().expect("peer");
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
fn serve_takes_head_limits() {
    let (_serve, addr) = serve(&[
        "--listen",
        "127.0.0.1:0",
        "--max-head-bytes",
        "200",
        "--head-timeout",
        "300",
        "--echo",
    ]);
    let mut big = TcpStream::connect(addr).expect("connect");
    big.set_read_timeout(Some(LIMIT)).expect("timeout");
    let mut head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ".to_vec();
    head.extend(std::iter::repeat_n(b'a', 300));
    big.write_all(&head).expect("write");
    assert_eq!(
        text(&read_to_end(&mut big)),
        "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    let started = Instant::now();
    let mut slow = TcpStream::connect(addr).expect("connect");
    slow.set_read_timeout(Some(LIMIT)).expect("timeout");
    slow.write_all(b"GET / HTTP/1.1\r\n").expect("write");
    assert_eq!(read_to_end(&mut slow), b"");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(started.elapsed() < LIMIT);
}

/// Run `python3 -c SCRIPT ARGS`, output drained, bounded by [`LIMIT`].
fn python(script: &str, args: &[&str]) -> Child {
    Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 (scripts/setup installs the websockets package)")
}

#[test]
fn dial_websocket_against_pythons_websockets_server() {
    let server = python(
        "from websockets.sync.server import serve\n\
         def echo(ws):\n    for m in ws: ws.send(m)\n\
         with serve(echo, '127.0.0.1', 0) as s:\n    print(s.socket.getsockname()[1], flush=True)\n    s.serve_forever()\n",
        &[],
    );
    let mut server = Killed(server);
    let mut line = String::new();
    BufReader::new(server.0.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("port line");
    let port: u16 = line.trim().parse().unwrap_or_else(|_| {
        let mut err = String::new();
        let _ = server
            .0
            .stderr
            .take()
            .map(|mut e| e.read_to_string(&mut err));
        panic!("websockets server did not start: {line:?} {err}")
    });
    // A masked text frame "hello" (RFC 6455 §5.3: a client masks what it sends).
    let mask = [0x37u8, 0xfa, 0x21, 0x3d];
    let mut frame = vec![0x81, 0x80 | 5];
    frame.extend_from_slice(&mask);
    frame.extend(b"hello".iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    // stdin stays open until the echo is back: a half-close would end the WebSocket early.
    let mut child = Killed(
        Command::new(BIN)
            .args(["dial", "--upgrade", "websocket"])
            .arg(format!("http://127.0.0.1:{port}/chat"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn hijack dial"),
    );
    let mut stdin = child.0.stdin.take().expect("stdin");
    stdin.write_all(&frame).expect("frame");
    let mut stdout = child.0.stdout.take().expect("stdout");
    let echo = thread::spawn(move || {
        let mut echo = [0u8; 7];
        stdout.read_exact(&mut echo).map(|()| echo)
    });
    let start = Instant::now();
    while !echo.is_finished() {
        assert!(start.elapsed() < LIMIT, "no echo within {LIMIT:?}");
        thread::sleep(Duration::from_millis(20));
    }
    // The peer's library checked our key and version; we checked its accept; then its echo.
    assert_eq!(
        &echo.join().expect("reader").expect("echo"),
        b"\x81\x05hello"
    );
    drop(stdin);
    let _ = child.0.kill();
    let _ = child.0.wait();
    let mut err = String::new();
    let _ = child
        .0
        .stderr
        .take()
        .map(|mut e| e.read_to_string(&mut err));
    let out = Output {
        status: child.0.wait().expect("wait"),
        stdout: Vec::new(),
        stderr: err.into_bytes(),
    };
    assert!(text(&out.stderr).contains("Sec-WebSocket-Accept"));
}

#[test]
fn pythons_websockets_client_accepts_our_servers_handshake() {
    let (_serve, addr) = serve(&[
        "--listen",
        "127.0.0.1:0",
        "--upgrade",
        "websocket",
        "--echo",
    ]);
    let client = python(
        "import sys\nfrom websockets.sync.client import connect\n\
         ws = connect('ws://%s/chat' % sys.argv[1], open_timeout=10)\n\
         print('accept', ws.response.headers['Sec-WebSocket-Accept'], flush=True)\n\
         ws.socket.close()\n",
        &[&addr.to_string()],
    );
    let mut client = Killed(client);
    let start = Instant::now();
    let status = loop {
        if let Some(status) = client.0.try_wait().expect("try_wait") {
            break status;
        }
        assert!(
            start.elapsed() < LIMIT,
            "the websockets client did not finish"
        );
        thread::sleep(Duration::from_millis(20));
    };
    let mut out = String::new();
    let mut err = String::new();
    let _ = client
        .0
        .stdout
        .take()
        .map(|mut o| o.read_to_string(&mut out));
    let _ = client
        .0
        .stderr
        .take()
        .map(|mut e| e.read_to_string(&mut err));
    assert!(status.success(), "{out} {err}");
    assert!(out.starts_with("accept "), "{out}");
}

#[test]
fn serve_survives_running_out_of_descriptors_and_serves_again() {
    // `hijack serve` with 32 descriptors (it starts with about 13): idle clients use up the
    // rest, accept fails with EMFILE; the server backs off instead of exiting, and serves
    // again once the idle clients leave.
    let log = std::env::temp_dir().join(format!("hijack-emfile-{}.log", std::process::id()));
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 32 && exec \"$0\" serve --listen 127.0.0.1:0 --echo 2>\"$1\"")
        .arg(BIN)
        .arg(&log)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut child = Killed(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("first line");
    let addr: SocketAddr = line
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line was {line:?}"))
        .parse()
        .expect("IP:PORT");
    let idle: Vec<TcpStream> = (0..40)
        .map(|_| TcpStream::connect(addr).expect("connect"))
        .collect();
    let started = Instant::now();
    let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
    while !log_text().contains("backing off") {
        assert!(
            started.elapsed() < LIMIT,
            "no EMFILE within {LIMIT:?}: {}",
            log_text()
        );
        assert!(
            child.0.try_wait().expect("try_wait").is_none(),
            "serve exited: {}",
            log_text()
        );
        thread::sleep(Duration::from_millis(20));
    }
    // Still alive through the burst, and it said so once.
    thread::sleep(Duration::from_millis(1500));
    assert!(
        child.0.try_wait().expect("try_wait").is_none(),
        "serve exited: {}",
        log_text()
    );
    assert_eq!(
        log_text().matches("backing off").count(),
        1,
        "{}",
        log_text()
    );
    drop(idle);
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(LIMIT)).expect("timeout");
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nping")
        .expect("write");
    s.shutdown(std::net::Shutdown::Write).expect("half-close");
    assert_eq!(
        text(&read_to_end(&mut s)),
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nping"
    );
    assert!(log_text().contains("accepting again"), "{}", log_text());
    let _ = std::fs::remove_file(&log);
}

#[test]
fn an_exec_child_is_killed_after_its_client_resets() {
    let pid_file = std::env::temp_dir().join(format!("hijack-exec-{}.pid", std::process::id()));
    let script = format!("echo $$ > {}; exec sleep 1000", pid_file.display());
    let (_serve, addr) = serve(&["--listen", "127.0.0.1:0", "--exec", "sh", "-c", &script]);
    let mut s = TcpStream::connect(addr).expect("connect");
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
        .expect("write");
    let started = Instant::now();
    let pid = loop {
        if let Some(pid) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|p| p.trim().parse::<u32>().ok())
        {
            break pid;
        }
        assert!(started.elapsed() < LIMIT, "the child never started");
        thread::sleep(Duration::from_millis(20));
    };
    let alive = || std::path::Path::new(&format!("/proc/{pid}")).exists();
    assert!(alive());
    // Closing with the 101 unread resets the connection.
    thread::sleep(Duration::from_millis(200));
    drop(s);
    let reset_at = Instant::now();
    while alive() {
        assert!(
            reset_at.elapsed() < LIMIT,
            "the child outlived its client by {LIMIT:?}"
        );
        thread::sleep(Duration::from_millis(50));
    }
    let _ = std::fs::remove_file(&pid_file);
}

#[test]
fn the_compiled_component_is_cached_between_runs_and_a_bad_cache_is_replaced() {
    let dir = std::env::temp_dir().join(format!("hijack-cli-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let refused = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        // Held: connecting to 127.0.0.2 on its port is refused, and no one else can take it.
        (
            SocketAddr::from(([127, 0, 0, 2], l.local_addr().expect("addr").port())),
            l,
        )
    };
    let url = format!("http://{}/", refused.0);
    let run = |cache: &std::path::Path| {
        let mut cmd = Command::new(BIN);
        cmd.args(["dial", &url]).env("HIJACK_CACHE_DIR", cache);
        let out = support::run_bounded(cmd, b"", LIMIT);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            text(&out.stderr).contains("connection-refused"),
            "{}",
            text(&out.stderr)
        );
    };
    let entries = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(&dir)
            .map(|d| d.map(|e| e.expect("entry").path()).collect())
            .unwrap_or_default()
    };
    run(&dir);
    let files = entries();
    assert_eq!(files.len(), 1, "one compiled file: {files:?}");
    let compiled = std::fs::read(&files[0]).expect("read");
    run(&dir);
    assert_eq!(entries(), files, "reused, nothing new");

    std::fs::write(&files[0], b"garbage").expect("corrupt the cache");
    run(&dir);
    assert_eq!(
        std::fs::read(&files[0]).expect("read"),
        compiled,
        "replaced"
    );

    // An empty HIJACK_CACHE_DIR turns the cache off.
    std::fs::remove_dir_all(&dir).expect("clean");
    run(std::path::Path::new(""));
    assert!(!dir.exists());
}
