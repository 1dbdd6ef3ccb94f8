//! `target/composed/websocket-echo.wasm` (examples/websocket-echo composed with the hijack
//! component) under the wasmtime CLI (and jco for the Python clients), and its WASI 0.3 twin
//! `websocket-echo-p3.wasm` (composed with hijack-p3) under the wasmtime CLI, against
//! WebSocket clients we did not write (Python's `websockets`) and a native client that checks
//! the frames byte by byte. Every wait is bounded.

use std::io::Write;
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use crate::support;

use support::{Proc, Runner, blocking, listening, run_bounded};

/// The bound on each wait of the tests that run under wasmtime only.
const LIMIT: Duration = Runner::Wasmtime.limit();

/// The WASI 0.2 example and its WASI 0.3 twin.
const P2: &str = "websocket-echo.wasm";
const P3: &str = "websocket-echo-p3.wasm";

/// `EXAMPLE --listen 127.0.0.1:0` under `runner`.
fn echo_server(runner: Runner, example: &str) -> (Proc, SocketAddr) {
    let mut cmd = runner.command(example);
    cmd.args(["--listen", "127.0.0.1:0"]);
    listening(cmd, runner.limit())
}

/// Python's `websockets` clients, several at once: text, binary of a few MiB, a ping, the
/// close handshake. Prints one line per client.
const CLIENTS: &str = r#"
import asyncio, random, sys
from websockets.asyncio.client import connect

async def client(n):
    rng = random.Random(n)
    big = rng.randbytes((3 << 20) + n)
    async with connect(f"ws://{sys.argv[1]}/echo", max_size=None) as ws:
        await ws.send(f"hello from {n}")
        text = await ws.recv()
        await ws.send(big)
        back = await ws.recv()
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, 10)
        await ws.send("bye \u00e9\u00e8")
        last = await ws.recv()
        await ws.close(1000, "done")
    same = isinstance(back, bytes) and back == big
    return f"{n}: {text} | {len(back)} bytes {'same' if same else 'CHANGED'} | {last} | close {ws.close_code}"

async def main():
    lines = await asyncio.wait_for(asyncio.gather(*(client(n) for n in range(4))), 50)
    print("\n".join(lines))

asyncio.run(main())
"#;

/// Four of [`CLIENTS`] at once against the echo under `runner`: every message back exactly.
fn four_clients_at_once(runner: Runner, example: &str) {
    let (_server, addr) = echo_server(runner, example);
    let mut cmd = Command::new("python3");
    cmd.args(["-c", CLIENTS, &addr.to_string()]);
    let out = run_bounded(cmd, b"", runner.limit());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected: String = (0..4)
        .map(|n| {
            let len = (3 << 20) + n;
            format!("{n}: hello from {n} | {len} bytes same | bye éè | close 1000\n")
        })
        .collect();
    assert_eq!(stdout, expected);
}

#[test]
fn pythons_websockets_clients_get_every_message_back_four_at_once_under_wasmtime() {
    four_clients_at_once(Runner::Wasmtime, P2);
}

#[test]
fn pythons_websockets_clients_get_every_message_back_four_at_once_on_wasi_0_3() {
    four_clients_at_once(Runner::Wasmtime, P3);
}

#[test]
fn pythons_websockets_clients_get_every_message_back_four_at_once_under_jco() {
    four_clients_at_once(Runner::Jco, P2);
}

/// A WebSocket handshake for `/echo` with RFC 6455 §1.3's example key.
fn handshake(addr: SocketAddr) -> String {
    format!(
        "GET /echo HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
}

/// A masked client frame (RFC 6455 §5.3) with a payload under 126 bytes.
fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126);
    let mask = [0x37u8, 0xfa, 0x21, 0x3d];
    let mut frame = vec![0x80 | opcode, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

#[test]
fn a_frame_sent_with_the_handshake_is_echoed_and_the_close_completes() {
    frame_with_the_handshake(P2);
}

#[test]
fn a_frame_sent_with_the_handshake_is_echoed_and_the_close_completes_on_wasi_0_3() {
    frame_with_the_handshake(P3);
}

/// The handshake and a frame in one write, the echo, the close handshake.
fn frame_with_the_handshake(example: &str) {
    let (_server, addr) = echo_server(Runner::Wasmtime, example);
    let mut s = blocking::connect(addr, LIMIT);
    // The handshake and the first frame in one write: the frame reaches the echo through the
    // component's `buffered`.
    let mut first = handshake(addr).into_bytes();
    first.extend(client_frame(0x1, b"early"));
    s.write_all(&first).expect("handshake and frame");
    let head = String::from_utf8(blocking::read_head(&mut s, LIMIT)).expect("UTF-8 head");
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    // RFC 6455 §1.3's own example key and accept.
    assert!(
        head.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
        "{head}"
    );
    let echo = blocking::read_exact(&mut s, 7, LIMIT);
    assert_eq!(echo, b"\x81\x05early", "an unmasked text frame back");

    // Close with 1000: the server answers with its close frame and closes the connection.
    s.write_all(&client_frame(0x8, &[0x03, 0xe8]))
        .expect("close");
    let rest = blocking::read_to_end(&mut s, LIMIT);
    assert_eq!(rest, b"\x88\x02\x03\xe8");
}

#[test]
fn a_burst_of_handshakes_split_across_writes_is_switched_and_echoed_on_wasi_0_3() {
    burst_of_handshakes(P3);
}

#[test]
fn a_burst_of_handshakes_split_across_writes_is_switched_and_echoed() {
    burst_of_handshakes(P2);
}

/// Clients in a burst, rounds of them: every head sent in two writes, all first halves
/// before any second, so the listener holds many half-read heads while `accept` calls come
/// and go (on WASI 0.3 that once trapped wasmtime: a read polled by one accept's task and
/// then by the next). Each client then gets its switch and its own frame back, and closes.
fn burst_of_handshakes(example: &str) {
    const CLIENTS: usize = 48;
    let (_server, addr) = echo_server(Runner::Wasmtime, example);
    for round in 0..3 {
        let mut clients: Vec<_> = (0..CLIENTS)
            .map(|_| blocking::connect(addr, LIMIT))
            .collect();
        let head = handshake(addr);
        let (first, rest) = head.as_bytes().split_at(40);
        for s in &mut clients {
            s.write_all(first).expect("first half of the head");
        }
        for (n, s) in clients.iter_mut().enumerate() {
            let mut bytes = rest.to_vec();
            bytes.extend(client_frame(0x1, format!("r{round} c{n:02}").as_bytes()));
            s.write_all(&bytes).expect("rest of the head and a frame");
        }
        for (n, s) in clients.iter_mut().enumerate() {
            let head = String::from_utf8(blocking::read_head(s, LIMIT)).expect("UTF-8 head");
            assert!(
                head.starts_with("HTTP/1.1 101 "),
                "round {round} client {n}: {head}"
            );
            let payload = format!("r{round} c{n:02}");
            let echo = blocking::read_exact(s, 2 + payload.len(), LIMIT);
            let mut expected = vec![0x81, payload.len() as u8];
            expected.extend_from_slice(payload.as_bytes());
            assert_eq!(echo, expected, "round {round} client {n}");
            s.write_all(&client_frame(0x8, &[0x03, 0xe8]))
                .expect("close");
            let rest = blocking::read_to_end(s, LIMIT);
            assert_eq!(rest, b"\x88\x02\x03\xe8", "round {round} client {n}");
        }
    }
}

#[test]
fn a_plain_request_is_answered_426() {
    plain_request(P2);
}

#[test]
fn a_plain_request_is_answered_426_on_wasi_0_3() {
    plain_request(P3);
}

/// A request without an upgrade: `426`, and the connection closed.
fn plain_request(example: &str) {
    let (_server, addr) = echo_server(Runner::Wasmtime, example);
    let mut s = blocking::connect(addr, LIMIT);
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("request");
    let answer = blocking::read_to_end(&mut s, LIMIT);
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
        "{answer}"
    );
    assert!(answer.contains("\r\nUpgrade: websocket\r\n"), "{answer}");
    assert!(
        answer.ends_with("\r\n\r\nthis server speaks WebSocket only\n"),
        "{answer}"
    );
}
