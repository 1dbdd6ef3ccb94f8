//! The `hijack` binary as a user drives it: `dial` against `serve --echo`, and each against
//! peers that are not ours (a native server and client written here, curl, Python's
//! http.server and websockets). Bytes on stdout and on the wire are asserted exactly. One test
//! binary, a module per subject:
//!
//! - `dial`: `hijack dial` against native peers, Python's http.server and `serve --echo`;
//! - `serve`: `hijack serve` against native clients and curl: echo, exec, head limits,
//!   running out of descriptors;
//! - `websocket`: both sides of a WebSocket handshake against Python's `websockets`;
//! - `commands`: help, version, usage errors and `demo`;
//! - `cache`: the compiled component cached between runs.
//!
//! Every wait is bounded (the helpers of `support`): a process is killed and the test fails.

use crate::support;

mod cache;
mod commands;
mod dial;
mod serve;
mod websocket;

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Output};
use std::thread;
use support::{LIMIT, Proc, blocking, listening, run_bounded};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_hijack");

/// Start `hijack serve ARGS` and read its first line, `listening on IP:PORT` (bounded).
pub(crate) fn serve(args: &[&str]) -> (Proc, SocketAddr) {
    let mut cmd = Command::new(BIN);
    cmd.arg("serve").args(args);
    listening(cmd, LIMIT)
}

/// Run `hijack dial ARGS` with `stdin` fed and closed, its output drained as it comes (so a
/// full pipe never stalls it), bounded by [`LIMIT`].
pub(crate) fn dial(args: &[&str], stdin: &[u8]) -> Output {
    hijack(&[&["dial"], args].concat(), stdin)
}

/// Run `hijack ARGS` as [`dial`] does: `stdin` fed and closed, output drained, bounded.
pub(crate) fn hijack(args: &[&str], stdin: &[u8]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    run_bounded(cmd, stdin, LIMIT)
}

/// `hijack ARGS` succeeded with nothing on stderr; its stdout.
pub(crate) fn stdout_of(args: &[&str]) -> String {
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

/// A one-shot native server: reads a request head, sends `reply`, closes; returns the head.
pub(crate) fn peer(reply: &'static [u8]) -> (SocketAddr, thread::JoinHandle<Vec<u8>>) {
    peer_owned(reply.to_vec())
}

/// A one-shot native server like [`peer`], with an owned reply.
pub(crate) fn peer_owned(reply: Vec<u8>) -> (SocketAddr, thread::JoinHandle<Vec<u8>>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    let t = thread::spawn(move || {
        let mut s = blocking::accept(&l, LIMIT);
        let head = blocking::read_head(&mut s, LIMIT);
        s.write_all(&reply).expect("reply");
        head
    });
    (addr, t)
}

/// What thread `t` returned, bounded by [`LIMIT`].
#[track_caller]
pub(crate) fn join<T>(t: thread::JoinHandle<T>) -> T {
    blocking::join(t, LIMIT)
}

/// A connection to `addr`, bounded by [`LIMIT`].
#[track_caller]
pub(crate) fn connect(addr: SocketAddr) -> TcpStream {
    blocking::connect(addr, LIMIT)
}

/// Everything up to EOF, bounded by [`LIMIT`].
#[track_caller]
pub(crate) fn read_to_end(s: &mut TcpStream) -> Vec<u8> {
    blocking::read_to_end(s, LIMIT)
}

pub(crate) fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `python3 -c SCRIPT ARGS`, its output collected (scripts/setup installs the websockets
/// package the scripts use).
pub(crate) fn python(script: &str, args: &[&str]) -> Proc {
    let mut cmd = Command::new("python3");
    cmd.arg("-c").arg(script).args(args);
    Proc::spawn(cmd)
}
