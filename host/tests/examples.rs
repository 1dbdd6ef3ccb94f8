//! The composed examples (`target/composed/*.wasm`, left by `scripts/examples`, which the
//! README's test command runs first) in a runtime we did not write: the wasmtime CLI, against
//! native loopback peers. Every wait is bounded.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Output};
use std::thread;
use std::time::{Duration, Instant};

mod support;

use support::{composed, read_head, wasmtime};

const LIMIT: Duration = Duration::from_secs(30);

/// `wasmtime run -S inherit-network EXAMPLE URL`: the example with the network granted.
fn run_granted(example: &std::path::Path, url: &str, stdin: &[u8]) -> Output {
    let example = example.to_str().expect("a UTF-8 path");
    run(&["run", "-S", "inherit-network", example, url], stdin)
}

/// Run `wasmtime ARGS` with `stdin` fed and closed, output drained, bounded.
fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut cmd = Command::new(wasmtime());
    cmd.args(args);
    support::run_bounded(cmd, stdin, LIMIT)
}

/// A Docker-like daemon for one attach: reads the head, answers `101` with `first`, echoes
/// what it reads back prefixed, and closes when the client half-closes.
fn daemon(first: &'static [u8]) -> (SocketAddr, thread::JoinHandle<Vec<u8>>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    l.set_nonblocking(false).expect("blocking");
    let t = thread::spawn(move || {
        let (mut s, _) = l.accept().expect("accept");
        s.set_read_timeout(Some(LIMIT)).expect("timeout");
        let head = read_head(&mut s);
        s.write_all(b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
            .expect("101");
        s.write_all(first).expect("first bytes");
        let mut got = Vec::new();
        let _ = s.read_to_end(&mut got);
        s.write_all(b"echo:").expect("echo");
        s.write_all(&got).expect("echo");
        head
    });
    (addr, t)
}

#[test]
fn attach_under_wasmtime_run_moves_both_ways_and_half_closes() {
    let attach = composed("attach.wasm");
    let (addr, daemon) = daemon(b"first-bytes|");
    let url = format!("http://{addr}/containers/c1/attach?stream=1&stdin=1&stdout=1");
    let out = run_granted(&attach, &url, b"ls -l\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "first-bytes|echo:ls -l\n"
    );
    assert!(err.contains("attach: 101 UPGRADED"), "{err}");
    let head = String::from_utf8(daemon.join().expect("daemon")).expect("utf-8");
    assert_eq!(
        head,
        format!(
            "POST /containers/c1/attach?stream=1&stdin=1&stdout=1 HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
        )
    );
}

#[test]
fn attach_without_the_network_grant_fails_fast_and_says_why() {
    let attach = composed("attach.wasm");
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/attach", l.local_addr().expect("addr"));
    let started = Instant::now();
    let out = run(&["run", attach.to_str().unwrap(), &url], b"");
    let err = String::from_utf8_lossy(&out.stderr);
    // wasi:cli/exit carries success or failure only: wasmtime reports any failure as 1.
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("access-denied"), "{err}");
    assert!(err.contains("-S inherit-network"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));
    // Nothing reached the listener.
    l.set_nonblocking(true).expect("nonblocking");
    assert!(l.accept().is_err());
}

#[test]
fn servers_without_the_network_grant_fail_fast_and_say_why() {
    for example in ["connect-proxy.wasm", "websocket-echo.wasm"] {
        let path = composed(example);
        let out = run(
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

#[test]
fn attach_reports_a_refusal_with_exit_1() {
    let attach = composed("attach.wasm");
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    let peer = thread::spawn(move || {
        let (mut s, _) = l.accept().expect("accept");
        s.set_read_timeout(Some(LIMIT)).expect("timeout");
        read_head(&mut s);
        s.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            .expect("404");
    });
    let url = format!("http://{addr}/containers/nope/attach");
    let out = run_granted(&attach, &url, b"");
    peer.join().expect("peer");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(out.stdout, b"");
    assert!(String::from_utf8_lossy(&out.stderr).contains("404"));
}
