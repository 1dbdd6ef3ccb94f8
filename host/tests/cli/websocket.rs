//! Both sides of a WebSocket handshake against a library that is not ours, Python's
//! `websockets`: our `dial` against its server (it checks our key and version, we check its
//! accept, then its echo), and its client against our `serve`.

use super::{BIN, python, serve, text};
use crate::support::{LIMIT, Proc};
use std::io::Write;
use std::process::Command;

#[test]
fn dial_websocket_against_pythons_websockets_server() {
    let server = python(
        "from websockets.sync.server import serve\n\
         def echo(ws):\n    for m in ws: ws.send(m)\n\
         with serve(echo, '127.0.0.1', 0) as s:\n    print(s.socket.getsockname()[1], flush=True)\n    s.serve_forever()\n",
        &[],
    );
    let line = server.first_line(LIMIT);
    let port: u16 = line.trim().parse().unwrap_or_else(|_| {
        panic!(
            "websockets server did not start: {line:?} {}",
            server.stderr()
        )
    });
    // A masked text frame "hello" (RFC 6455 §5.3: a client masks what it sends).
    let mask = [0x37u8, 0xfa, 0x21, 0x3d];
    let mut frame = vec![0x81, 0x80 | 5];
    frame.extend_from_slice(&mask);
    frame.extend(b"hello".iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    // stdin stays open until the echo is back: a half-close would end the WebSocket early.
    let mut cmd = Command::new(BIN);
    cmd.args(["dial", "--upgrade", "websocket"])
        .arg(format!("http://127.0.0.1:{port}/chat"));
    let mut dial = Proc::spawn_with_stdin(cmd);
    dial.stdin
        .as_mut()
        .expect("stdin")
        .write_all(&frame)
        .expect("frame");
    let echo = dial.wait_for("the echo", LIMIT, |out, _| {
        (out.len() >= 7).then(|| out.to_vec())
    });
    // The peer's library checked our key and version; we checked its accept; then its echo.
    assert_eq!(echo, b"\x81\x05hello");
    let head = dial.wait_for("the response head", LIMIT, |_, err| {
        let err = text(err);
        err.contains("\r\n\r\n").then_some(err)
    });
    assert!(head.contains("Sec-WebSocket-Accept"), "{head}");
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
    let out = client.wait(LIMIT);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout} {stderr}");
    assert!(stdout.starts_with("accept "), "{stdout}");
}
