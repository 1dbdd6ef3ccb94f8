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

#[test]
fn serve_websocket_echo_speaks_frames_to_pythons_websockets() {
    let (_serve, addr) = serve(&[
        "--listen",
        "127.0.0.1:0",
        "--upgrade",
        "websocket",
        "--echo",
    ]);
    // Text, a 3 MiB binary message, a fragmented one, a ping; then the close handshake,
    // whose code comes back. Python checks masking, framing and UTF-8 on its side.
    let client = python(
        "import os, sys\nfrom websockets.sync.client import connect\n\
         ws = connect('ws://%s/chat' % sys.argv[1], open_timeout=10, max_size=None)\n\
         ws.send('hello, frames')\n\
         assert ws.recv(timeout=10) == 'hello, frames'\n\
         big = os.urandom(3 << 20)\n\
         ws.send(big)\n\
         assert ws.recv(timeout=10) == big\n\
         ws.send(['frag', 'mented'])\n\
         assert ws.recv(timeout=10) == 'fragmented'\n\
         ws.ping(b'are you there').wait(timeout=10)\n\
         ws.close(code=4001, reason='done')\n\
         print('closed', ws.protocol.close_rcvd.code, flush=True)\n",
        &[&addr.to_string()],
    );
    let out = client.wait(LIMIT);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout} {stderr}");
    assert_eq!(stdout, "closed 4001\n", "{stderr}");
}

#[test]
fn serve_websocket_echo_closes_a_protocol_error_with_1002() {
    let (_serve, addr) = serve(&[
        "--listen",
        "127.0.0.1:0",
        "--upgrade",
        "websocket",
        "--echo",
    ]);
    // An unmasked client frame (RFC 6455 §5.1), sent raw after a real handshake.
    let mut s = super::connect(addr);
    s.write_all(
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
          Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n\
          \x81\x02hi",
    )
    .expect("write");
    let got = super::read_to_end(&mut s);
    let end = got
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a 101 head")
        + 4;
    assert!(got.starts_with(b"HTTP/1.1 101 "), "{}", text(&got));
    // A close frame, code 1002, then the end of the connection.
    assert_eq!(&got[end..end + 4], &[0x88, got[end + 1], 0x03, 0xea]);
}

#[test]
fn serve_websocket_echo_speaks_frames_to_node_ws() {
    let (_serve, addr) = serve(&[
        "--listen",
        "127.0.0.1:0",
        "--upgrade",
        "websocket",
        "--echo",
    ]);
    // node's `ws` (tools/jco/node_modules, pinned by its package-lock.json) refuses a masked
    // server frame ("MASK must be clear") and checks every frame as it comes.
    let ws = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/jco/node_modules/ws");
    let script = r#"
const WebSocket = require(process.argv[1]);
const ws = new WebSocket('ws://' + process.argv[2] + '/chat');
const big = Buffer.alloc(1 << 20, 7);
const got = [];
ws.on('open', () => { ws.send('hello from node'); ws.send(big); ws.ping('p'); });
ws.on('message', (data, isBinary) => {
  got.push(isBinary ? 'binary ' + data.length + ' ' + data.equals(big) : 'text ' + data);
  if (got.length === 2) ws.close(1000, 'bye');
});
ws.on('pong', (data) => got.push('pong ' + data));
// The pong may overtake the large echo in node's events: the order is not asserted.
ws.on('close', (code) => { console.log(got.sort().join('\n') + '\nclose ' + code); process.exit(0); });
ws.on('error', (e) => { console.log('error ' + e.message); process.exit(1); });
setTimeout(() => { console.log('timeout ' + got.join(',')); process.exit(1); }, 15000);
"#;
    let mut cmd = Command::new("node");
    cmd.arg("-e").arg(script).arg(&ws).arg(addr.to_string());
    let out = crate::support::run_bounded(cmd, b"", LIMIT);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout} {stderr}");
    assert_eq!(
        stdout, "binary 1048576 true\npong p\ntext hello from node\nclose 1000\n",
        "{stderr}"
    );
}
