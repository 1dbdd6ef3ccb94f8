//! The WASI 0.3 component (`hijack-p3.wasm`) under the wasmtime CLI, through the example that
//! uses all of it, `connect-proxy-p3.wasm`: its listener reads heads (`accept`), answers
//! (`respond`, `tunnel`), and with `--via` its client dials the next proxy (`dial`). Native
//! peers play the next proxy byte by byte: a refusal and its body, interim responses, a `101`
//! to a CONNECT, early bytes in every split. The WASI 0.2 proxy runs the same cases: the two
//! components answer alike. Every wait is bounded.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use crate::support;

use support::{Proc, Runner, blocking, listening};

const LIMIT: Duration = Runner::Wasmtime.limit();

const EXAMPLES: [&str; 2] = ["connect-proxy.wasm", "connect-proxy-p3.wasm"];

/// `EXAMPLE --listen 127.0.0.1:0 EXTRA...` under the wasmtime CLI.
fn proxy(example: &str, extra: &[&str]) -> (Proc, SocketAddr) {
    let mut cmd = Runner::Wasmtime.command(example);
    cmd.args(["--listen", "127.0.0.1:0"]).args(extra);
    listening(cmd, LIMIT)
}

/// A next proxy that reads one request head, then writes `answer` in pieces of the given
/// sizes (each flushed alone, a pause between), then echoes what it reads until the client's
/// half-close. The head it read comes back from the thread.
fn next_proxy(answer: Vec<u8>, pieces: Vec<usize>) -> (SocketAddr, thread::JoinHandle<Vec<u8>>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    let t = thread::spawn(move || {
        let mut s = blocking::accept(&l, LIMIT);
        s.set_nodelay(true).expect("nodelay");
        let head = blocking::read_head(&mut s, LIMIT);
        let mut rest = &answer[..];
        for n in pieces.iter().copied().cycle() {
            if rest.is_empty() {
                break;
            }
            let (piece, more) = rest.split_at(n.min(rest.len()));
            s.write_all(piece).expect("answer");
            rest = more;
            thread::sleep(Duration::from_millis(2));
        }
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => s.write_all(&buf[..n]).expect("echo"),
            }
        }
        let _ = s.shutdown(Shutdown::Write);
        head
    });
    (addr, t)
}

/// CONNECT `target` through `proxy`: the answer's head, and the socket.
fn connect(proxy: SocketAddr, target: &str) -> (String, TcpStream) {
    let mut s = blocking::connect(proxy, LIMIT);
    write!(s, "CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n").expect("CONNECT");
    let head = blocking::read_head(&mut s, LIMIT);
    (String::from_utf8(head).expect("UTF-8 head"), s)
}

#[test]
fn early_bytes_after_the_next_proxys_200_arrive_exactly_over_every_split() {
    let early: Vec<u8> = (0..3000u32).map(|i| (i * 31 % 253) as u8).collect();
    let answer = [
        &b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 Connection established\r\nVia: next\r\n\r\n"[..],
        &early,
    ]
    .concat();
    for example in EXAMPLES {
        for pieces in [vec![answer.len()], vec![1], vec![7, 1, 300], vec![61, 2]] {
            let (next, asked) = next_proxy(answer.clone(), pieces.clone());
            let (_proxy, addr) = proxy(example, &["--via", &next.to_string()]);
            let (head, mut s) = connect(addr, "origin.example:443");
            assert_eq!(
                head, "HTTP/1.1 200 Connection Established\r\n\r\n",
                "{example}"
            );
            // The bytes the next proxy sent with its 200 come first, then its echo.
            assert_eq!(
                blocking::read_exact(&mut s, early.len(), LIMIT),
                early,
                "{example} {pieces:?}"
            );
            s.write_all(b"ping").expect("write");
            s.shutdown(Shutdown::Write).expect("half-close");
            assert_eq!(blocking::read_to_end(&mut s, LIMIT), b"ping", "{example}");
            let asked = String::from_utf8(blocking::join(asked, LIMIT)).expect("UTF-8");
            assert_eq!(
                asked, "CONNECT origin.example:443 HTTP/1.1\r\nHost: origin.example:443\r\n\r\n",
                "{example}"
            );
        }
    }
}

/// What the proxy answers when the next proxy answers `answer` and closes.
fn refused_by_next(example: &str, answer: &[u8]) -> String {
    let (next, _asked) = next_proxy(answer.to_vec(), vec![answer.len()]);
    let (_proxy, addr) = proxy(example, &["--via", &next.to_string()]);
    let (head, mut s) = connect(addr, "origin.example:443");
    let body = blocking::read_to_end(&mut s, LIMIT);
    head + &String::from_utf8_lossy(&body)
}

#[test]
fn a_refusal_a_101_and_too_many_interim_answers_are_not_tunnels() {
    let cases: [(&[u8], &str); 3] = [
        (
            b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 5\r\n\r\nnope!",
            "the next proxy answered 407 Proxy Authentication Required",
        ),
        (
            b"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: tcp\r\n\r\n",
            "the next proxy: the peer answered 101 without switching to the protocol asked for",
        ),
        (
            &b"HTTP/1.1 102 Processing\r\n\r\n".repeat(6),
            "the next proxy: malformed head: too many informational responses",
        ),
    ];
    for example in EXAMPLES {
        for (answer, why) in cases {
            let got = refused_by_next(example, answer);
            let expected = format!(
                "HTTP/1.1 502 Bad Gateway\r\nContent-Length: {}\r\nConnection: close\r\n\r\n\
                 {why}\n",
                why.len() + 1
            );
            assert_eq!(got, expected, "{example}");
        }
    }
}

#[test]
fn bad_heads_are_answered_by_the_listener_and_a_stalled_one_holds_up_nothing() {
    for example in EXAMPLES {
        let (_proxy, addr) = proxy(example, &[]);
        // Half a head, never finished: the listener keeps reading it while it serves others.
        let mut stalled = blocking::connect(addr, LIMIT);
        stalled
            .write_all(b"CONNECT 127.0.0.1:9 HTTP/1.1\r\nHo")
            .expect("write");

        let mut s = blocking::connect(addr, LIMIT);
        s.write_all(b"NOT A REQUEST\r\n\r\n").expect("write");
        let answer = blocking::read_to_end(&mut s, LIMIT);
        assert!(
            answer.starts_with(b"HTTP/1.1 400 Bad Request\r\n"),
            "{example}: {}",
            String::from_utf8_lossy(&answer)
        );

        let mut s = blocking::connect(addr, LIMIT);
        let huge = format!(
            "CONNECT a:1 HTTP/1.1\r\nHost: a:1\r\nX: {}\r\n\r\n",
            "x".repeat(70_000)
        );
        // The listener may answer and close before it has read all of this.
        let _ = s.write_all(huge.as_bytes());
        let answer = blocking::read_to_end(&mut s, LIMIT);
        assert!(
            answer.starts_with(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"),
            "{example}: {}",
            String::from_utf8_lossy(&answer)
        );

        // A whole CONNECT, answered while the stalled head waits.
        let target = TcpListener::bind("127.0.0.1:0").expect("bind");
        let target_addr = target.local_addr().expect("addr").to_string();
        let (head, s) = connect(addr, &target_addr);
        assert_eq!(
            head, "HTTP/1.1 200 Connection Established\r\n\r\n",
            "{example}"
        );
        drop((s, target));
        assert!(
            stalled.write_all(b"st: x\r\n").is_ok(),
            "{example}: the stalled head's connection is still open"
        );
    }
}
