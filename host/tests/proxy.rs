//! `target/composed/connect-proxy.wasm` (examples/connect-proxy composed with the hijack
//! component) under the wasmtime CLI and jco, and its WASI 0.3 twin `connect-proxy-p3.wasm`
//! (composed with hijack-p3) under the wasmtime CLI, driven by curl and by native clients,
//! against native upstream servers. Under jco (preview2-shim 0.26.1) a half-close destroys the socket,
//! so the half-close test runs under wasmtime only. Bytes through the tunnels are asserted exactly; every wait is bounded.

use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::thread;
use std::time::Duration;

use crate::support;

use support::{Proc, Runner, big_body, blocking, curl_through, http_server, listening, refused};

/// The bound on each wait of the tests that run under wasmtime only.
const LIMIT: Duration = Runner::Wasmtime.limit();

/// The WASI 0.2 example and its WASI 0.3 twin.
const P2: &str = "connect-proxy.wasm";
const P3: &str = "connect-proxy-p3.wasm";

/// `EXAMPLE --listen 127.0.0.1:0 EXTRA...` under `runner`.
fn proxy(runner: Runner, example: &str, extra: &[&str]) -> (Proc, SocketAddr) {
    let mut cmd = runner.command(example);
    cmd.args(["--listen", "127.0.0.1:0"]).args(extra);
    listening(cmd, runner.limit())
}

/// Two curls at once through one proxy, each a 4 MiB body exactly, while a third tunnel's
/// upstream stalls (accepted, never answered): one thread serves all three.
fn two_at_once_while_a_third_tunnel_stalls(runner: Runner, example: &str) {
    let limit = runner.limit();
    let server = http_server(limit);
    let stall = TcpListener::bind("127.0.0.1:0").expect("bind");
    let stall_addr = stall.local_addr().expect("addr");
    let (opened, tunnel_open) = std::sync::mpsc::channel();
    thread::spawn(move || {
        // Held, never answered, until the test is over (the thread ends with the process).
        let s = blocking::accept(&stall, limit);
        let _ = opened.send(());
        thread::sleep(limit);
        drop(s);
    });
    let (_proxy, addr) = proxy(runner, example, &[]);

    let mut curl = Command::new("curl");
    curl.args(["-sS", "--max-time", "120", "-p", "-x"])
        .arg(format!("http://{addr}"))
        .arg(format!("http://{stall_addr}/never"));
    let mut stalled = Proc::spawn(curl);
    tunnel_open
        .recv_timeout(limit)
        .expect("the stalled tunnel reaches its upstream");

    let url = format!("http://{server}/big");
    let both: Vec<_> = (0..2)
        .map(|_| {
            let url = url.clone();
            thread::spawn(move || curl_through(addr, &url, limit))
        })
        .collect();
    let expected = big_body();
    for t in both {
        let got = blocking::join(t, limit);
        assert_eq!(got.len(), expected.len());
        assert!(got == expected, "the body came through changed");
    }
    assert!(stalled.running(), "the stalled tunnel should still be open");
    let small = curl_through(addr, &format!("http://{server}/small"), limit);
    assert_eq!(small, b"hello");
}

#[test]
fn curl_through_the_proxy_two_at_once_while_a_third_stalls_under_wasmtime() {
    two_at_once_while_a_third_tunnel_stalls(Runner::Wasmtime, P2);
}

#[test]
fn curl_through_the_proxy_two_at_once_while_a_third_stalls_on_wasi_0_3() {
    two_at_once_while_a_third_tunnel_stalls(Runner::Wasmtime, P3);
}

/// preview2-shim 0.26.1's `splice` traps; tools/jco/run.mjs gives it the one wasi:io defines.
#[test]
fn curl_through_the_proxy_two_at_once_while_a_third_stalls_under_jco() {
    two_at_once_while_a_third_tunnel_stalls(Runner::Jco, P2);
}

#[test]
fn a_chain_of_two_proxies_dials_with_the_components_client() {
    chain(P2, P2);
}

#[test]
fn a_chain_of_two_proxies_dials_with_the_components_client_on_wasi_0_3() {
    chain(P3, P3);
}

#[test]
fn a_wasi_0_3_proxy_chains_to_a_wasi_0_2_one() {
    chain(P2, P3);
}

/// curl through `second`, which reaches the target through `first`.
fn chain(first: &str, second: &str) {
    let server = http_server(LIMIT);
    let (_first, first) = proxy(Runner::Wasmtime, first, &[]);
    let via = first.to_string();
    let (_second, second) = proxy(Runner::Wasmtime, second, &["--via", &via]);
    let got = curl_through(second, &format!("http://{server}/big"), LIMIT);
    assert!(
        got == big_body(),
        "the body came through two tunnels changed"
    );
}

/// A native client: CONNECT to `target` with `early` in the same write as the head; the
/// proxy's answer head and the socket.
fn connect(proxy: SocketAddr, target: SocketAddr, early: &[u8]) -> (Vec<u8>, TcpStream) {
    let mut s = blocking::connect(proxy, LIMIT);
    let mut request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n").into_bytes();
    request.extend_from_slice(early);
    s.write_all(&request).expect("CONNECT");
    let head = blocking::read_head(&mut s, LIMIT);
    (head, s)
}

#[test]
fn early_bytes_and_half_closes_pass_through_the_tunnel() {
    early_bytes_and_half_closes(P2);
}

#[test]
fn early_bytes_and_half_closes_pass_through_the_tunnel_on_wasi_0_3() {
    early_bytes_and_half_closes(P3);
}

/// Bytes sent with the CONNECT, then more, then a half-close: all reach the target in order,
/// its answer comes back, and its close ends the tunnel.
fn early_bytes_and_half_closes(example: &str) {
    // The target reads to EOF (the client's half-close, passed on), then answers and closes.
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let target = l.local_addr().expect("addr");
    let upstream = thread::spawn(move || {
        let mut s = blocking::accept(&l, LIMIT);
        let got = blocking::read_to_end(&mut s, LIMIT);
        s.write_all(b"pong:").expect("write");
        s.write_all(&got).expect("write");
        got
    });
    let (_proxy, addr) = proxy(Runner::Wasmtime, example, &[]);
    let early = b"\x00early\r\n\r\nGET / HTTP/1.1\r\n\r\n";
    let (head, mut s) = connect(addr, target, early);
    assert_eq!(head, b"HTTP/1.1 200 Connection Established\r\n\r\n");
    s.write_all(b"+late").expect("write");
    s.shutdown(Shutdown::Write).expect("half-close");
    let back = blocking::read_to_end(&mut s, LIMIT);
    let sent = [&early[..], b"+late"].concat();
    assert_eq!(blocking::join(upstream, LIMIT), sent);
    assert_eq!(back, [&b"pong:"[..], &sent].concat());
}

#[test]
fn an_unreachable_target_is_a_502_and_other_methods_a_405() {
    unreachable_and_other_methods(P2);
}

#[test]
fn an_unreachable_target_is_a_502_and_other_methods_a_405_on_wasi_0_3() {
    unreachable_and_other_methods(P3);
}

fn unreachable_and_other_methods(example: &str) {
    // Refused for sure: a port held by a socket that does not listen.
    let closed = refused();
    let (_proxy, addr) = proxy(Runner::Wasmtime, example, &[]);
    let (head, mut s) = connect(addr, closed.addr, b"");
    assert!(
        head.starts_with(b"HTTP/1.1 502 Bad Gateway\r\n"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    let body = blocking::read_to_end(&mut s, LIMIT);
    assert_eq!(body, b"connect failed: connection-refused\n");

    let mut s = blocking::connect(addr, LIMIT);
    s.write_all(b"GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n")
        .expect("write");
    let head = blocking::read_head(&mut s, LIMIT);
    assert!(head.starts_with(b"HTTP/1.1 405 Method Not Allowed\r\n"));
    assert!(String::from_utf8_lossy(&head).contains("Allow: CONNECT\r\n"));
}
