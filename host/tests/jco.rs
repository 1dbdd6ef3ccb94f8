//! The attach example under jco on Node (the proxy and the WebSocket echo run under jco in
//! proxy.rs and websocket.rs) (`tools/jco/run.mjs`: jco 1.35 and
//! preview2-shim 0.26, pinned by tools/jco/package-lock.json and installed by `scripts/tools`),
//! against native loopback peers. Bytes are asserted exactly; every wait is bounded, and every
//! child is killed when its test ends.
//!
//! What preview2-shim 0.26.1 cannot do, and so is not tested here: a half-close.
//! `tcp-socket.shutdown` destroys the Node socket whatever the shutdown type, so the peer's
//! later bytes are lost and the connection's input pollable never fires again (attach with
//! stdin closed before the peer: a hang; a proxy tunnel whose client half-closes: the answer
//! never comes back).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Output;
use std::thread;
use std::time::Duration;

mod support;

use support::{Runner, read_head, run_bounded, run_bounded_stdin};

const LIMIT: Duration = Duration::from_secs(60);

/// Run `attach.wasm URL` under jco with `stdin` written and kept open until it exits (a
/// closed stdin is a half-close, which the shim cannot do: see the module's note), output
/// drained, bounded.
fn attach_with_stdin_open(url: &str, stdin: &[u8]) -> Output {
    let mut cmd = Runner::Jco.command("attach.wasm");
    cmd.arg(url);
    run_bounded_stdin(cmd, stdin, false, LIMIT)
}

#[test]
fn attach_under_jco_moves_both_ways_until_the_daemon_closes() {
    // A Docker-like daemon for one attach: `101` with the first bytes of the stream in the same
    // write, then one line read and echoed back, then close (the container exited).
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    let daemon = thread::spawn(move || {
        let (mut s, _) = l.accept().expect("accept");
        s.set_read_timeout(Some(LIMIT)).expect("timeout");
        let head = read_head(&mut s);
        s.write_all(b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nfirst-bytes|")
            .expect("101");
        let mut line = Vec::new();
        let mut b = [0u8; 1];
        while !line.ends_with(b"\n") && s.read(&mut b).unwrap_or(0) == 1 {
            line.push(b[0]);
        }
        s.write_all(b"echo:").expect("echo");
        s.write_all(&line).expect("echo");
        head
    });
    let url = format!("http://{addr}/containers/c1/attach?stream=1&stdin=1&stdout=1");
    let out = attach_with_stdin_open(&url, b"ls -l\n");
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
fn attach_under_jco_reports_a_refusal_with_exit_1() {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    let peer = thread::spawn(move || {
        let (mut s, _) = l.accept().expect("accept");
        s.set_read_timeout(Some(LIMIT)).expect("timeout");
        read_head(&mut s);
        s.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            .expect("404");
    });
    let mut cmd = Runner::Jco.command("attach.wasm");
    cmd.arg(format!("http://{addr}/containers/nope/attach"));
    let out = run_bounded(cmd, b"", LIMIT);
    peer.join().expect("peer");
    let err = String::from_utf8_lossy(&out.stderr);
    // wasi:cli/exit carries success or failure only: the shim exits 1 on failure.
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(out.stdout, b"");
    assert!(
        err.contains("attach: the peer did not switch protocols: 404"),
        "{err}"
    );
}
