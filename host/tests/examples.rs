//! The composed command examples (`target/composed/*.wasm`, left by `scripts/examples`, which
//! the README's test command runs first) in runtimes we did not write — the wasmtime CLI and
//! jco on Node — against native loopback peers: attach both ways, its refusal, and every
//! command without the network grant. Every wait is bounded.
//!
//! What preview2-shim 0.26.1 (jco) cannot do, and so is not tested under jco: a half-close.
//! Its `tcp-socket.shutdown` destroys the Node socket whatever the shutdown type, so the peer's
//! later bytes are lost and the connection's input pollable never fires again: attach with
//! stdin closed before the peer hangs. Under jco, attach is tested with stdin kept open.

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Output};
use std::thread;
use std::time::{Duration, Instant};

use crate::support;

use support::{Runner, blocking, composed, run_bounded, run_bounded_stdin, wasmtime};

/// `wasmtime ARGS` (no network granted) with `stdin` fed and closed, output drained, bounded.
fn run_ungranted(args: &[&str], stdin: &[u8]) -> Output {
    let mut cmd = Command::new(wasmtime());
    cmd.args(args);
    run_bounded(cmd, stdin, Runner::Wasmtime.limit())
}

/// `attach.wasm URL` under `runner`, `stdin` fed, then closed (EOF: the half-close) only if
/// `close_stdin`.
fn attach(runner: Runner, url: &str, stdin: &[u8], close_stdin: bool) -> Output {
    let mut cmd = runner.command("attach.wasm");
    cmd.arg(url);
    run_bounded_stdin(cmd, stdin, close_stdin, runner.limit())
}

/// How the daemon knows the client is done sending.
#[derive(Clone, Copy)]
enum Until {
    /// The client half-closed (read to EOF).
    Eof,
    /// A line came (the client keeps its side open).
    Line,
}

/// A Docker-like daemon for one attach: reads the head, answers `101` with `first-bytes|` in
/// the same write, reads what the client sends `until`, echoes it back prefixed and closes (the
/// container exited). Returns the request head.
fn daemon(until: Until, limit: Duration) -> (SocketAddr, thread::JoinHandle<Vec<u8>>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    let t = thread::spawn(move || {
        let mut s = blocking::accept(&l, limit);
        let head = blocking::read_head(&mut s, limit);
        s.write_all(b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nfirst-bytes|")
            .expect("101");
        let got = match until {
            Until::Eof => blocking::read_to_end(&mut s, limit),
            Until::Line => blocking::read_line(&mut s, limit),
        };
        s.write_all(b"echo:").expect("echo");
        s.write_all(&got).expect("echo");
        head
    });
    (addr, t)
}

/// Attach under `runner`: the bytes that came with the `101` first, stdin to the daemon, its
/// echo back, exit 0 when it closes; the request head exactly as Docker's client sends it.
fn attach_moves_both_ways(runner: Runner, until: Until) {
    let (addr, daemon) = daemon(until, runner.limit());
    let url = format!("http://{addr}/containers/c1/attach?stream=1&stdin=1&stdout=1");
    let out = attach(runner, &url, b"ls -l\n", matches!(until, Until::Eof));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "first-bytes|echo:ls -l\n"
    );
    assert!(err.contains("attach: 101 UPGRADED"), "{err}");
    let head = String::from_utf8(blocking::join(daemon, runner.limit())).expect("utf-8");
    assert_eq!(
        head,
        format!(
            "POST /containers/c1/attach?stream=1&stdin=1&stdout=1 HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
        )
    );
}

#[test]
fn attach_under_wasmtime_run_moves_both_ways_and_half_closes() {
    attach_moves_both_ways(Runner::Wasmtime, Until::Eof);
}

#[test]
fn attach_under_jco_moves_both_ways_until_the_daemon_closes() {
    attach_moves_both_ways(Runner::Jco, Until::Line);
}

/// A `404` to the attach: exit 1 (wasi:cli/exit carries success or failure only), nothing on
/// stdout, the status on stderr.
fn attach_reports_a_refusal(runner: Runner) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    let limit = runner.limit();
    let peer = thread::spawn(move || {
        let mut s = blocking::accept(&l, limit);
        blocking::read_head(&mut s, limit);
        s.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            .expect("404");
    });
    let out = attach(
        runner,
        &format!("http://{addr}/containers/nope/attach"),
        b"",
        true,
    );
    blocking::join(peer, limit);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(out.stdout, b"");
    assert!(
        err.contains("attach: the peer did not switch protocols: 404"),
        "{err}"
    );
}

#[test]
fn attach_under_wasmtime_run_reports_a_refusal_with_exit_1() {
    attach_reports_a_refusal(Runner::Wasmtime);
}

#[test]
fn attach_under_jco_reports_a_refusal_with_exit_1() {
    attach_reports_a_refusal(Runner::Jco);
}

#[test]
fn attach_without_the_network_grant_fails_fast_and_says_why() {
    let attach = composed("attach.wasm");
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/attach", l.local_addr().expect("addr"));
    let started = Instant::now();
    let out = run_ungranted(&["run", attach.to_str().unwrap(), &url], b"");
    let err = String::from_utf8_lossy(&out.stderr);
    // wasi:cli/exit carries success or failure only: wasmtime reports any failure as 1.
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("access-denied"), "{err}");
    assert!(err.contains("-S inherit-network"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));
    // Nothing reached the listener: wasmtime has exited, a connect of its would be queued.
    assert!(!blocking::has_pending(&l), "attach connected");
}

#[test]
fn servers_without_the_network_grant_fail_fast_and_say_why() {
    for example in [
        "connect-proxy.wasm",
        "websocket-echo.wasm",
        "connect-proxy-p3.wasm",
        "websocket-echo-p3.wasm",
    ] {
        let path = composed(example);
        let out = run_ungranted(
            &["run", path.to_str().unwrap(), "--listen", "127.0.0.1:0"],
            b"",
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{example}: {err}");
        assert!(
            err.contains("cannot listen on 127.0.0.1:0: access-denied"),
            "{example}: {err}"
        );
        assert!(err.contains("-S inherit-network"), "{example}: {err}");
        assert_eq!(out.stdout, b"", "{example}");
    }
}
