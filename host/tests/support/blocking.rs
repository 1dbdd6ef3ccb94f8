//! Bounded waits on std sockets and threads, for the tests that drive processes: each takes
//! its bound and fails the test when it passes, naming the caller's line.

use std::io::{ErrorKind, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::panic::Location;
use std::thread;
use std::time::{Duration, Instant};

/// A connection to `addr` within `limit`, its reads and writes each bounded by `limit` too.
#[track_caller]
pub fn connect(addr: SocketAddr, limit: Duration) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, limit)
        .unwrap_or_else(|e| panic!("connect to {addr} at {}: {e}", Location::caller()));
    s.set_read_timeout(Some(limit)).expect("read timeout");
    s.set_write_timeout(Some(limit)).expect("write timeout");
    s
}

/// The next connection on `l` within `limit` (polled: std has no accept timeout), its reads
/// and writes each bounded by `limit`.
#[track_caller]
pub fn accept(l: &TcpListener, limit: Duration) -> TcpStream {
    let at = Location::caller();
    let deadline = Instant::now() + limit;
    l.set_nonblocking(true).expect("nonblocking");
    let s = loop {
        match l.accept() {
            Ok((s, _)) => break s,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                assert!(
                    Instant::now() < deadline,
                    "no connection within {limit:?} (the accept at {at})"
                );
                thread::sleep(Duration::from_millis(5));
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => panic!("accept at {at}: {e}"),
        }
    };
    l.set_nonblocking(false).expect("blocking");
    s.set_nonblocking(false).expect("blocking");
    s.set_read_timeout(Some(limit)).expect("read timeout");
    s.set_write_timeout(Some(limit)).expect("write timeout");
    s
}

/// Whether a connection is waiting on `l`, without waiting for one. After an event that
/// any connect would have preceded (the process that might have connected has exited), `false`
/// proves nothing connected: a loopback connect is queued before it returns.
pub fn has_pending(l: &TcpListener) -> bool {
    l.set_nonblocking(true).expect("nonblocking");
    let pending = match l.accept() {
        Ok(_) => true,
        Err(e) if e.kind() == ErrorKind::WouldBlock => false,
        Err(e) => panic!("accept: {e}"),
    };
    l.set_nonblocking(false).expect("blocking");
    pending
}

/// Read from `s` until `done` holds for what was read (one byte at a time if `bytewise`, so
/// nothing past it is taken) or EOF, all within `limit`; a read error ends it too, and is
/// returned with what was read.
#[track_caller]
fn read_until(
    s: &mut TcpStream,
    limit: Duration,
    bytewise: bool,
    mut done: impl FnMut(&[u8]) -> bool,
) -> (Vec<u8>, Option<std::io::Error>) {
    let at = Location::caller();
    let deadline = Instant::now() + limit;
    let mut got = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let want = if bytewise { 1 } else { buf.len() };
    while !done(&got) {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "not done within {limit:?} (the read at {at}); got {} bytes",
            got.len()
        );
        s.set_read_timeout(Some(left)).expect("read timeout");
        match s.read(&mut buf[..want]) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!(
                    "not done within {limit:?} (the read at {at}); got {} bytes",
                    got.len()
                )
            }
            Err(e) => return (got, Some(e)),
        }
    }
    (got, None)
}

/// A head, byte by byte up to its blank line (or EOF), within `limit`.
#[track_caller]
pub fn read_head(s: &mut TcpStream, limit: Duration) -> Vec<u8> {
    read_until(s, limit, true, |got| got.ends_with(b"\r\n\r\n")).0
}

/// A line, byte by byte up to its LF (or EOF), within `limit`.
#[track_caller]
pub fn read_line(s: &mut TcpStream, limit: Duration) -> Vec<u8> {
    read_until(s, limit, true, |got| got.ends_with(b"\n")).0
}

/// Everything up to EOF within `limit`; a read error fails the test.
#[track_caller]
pub fn read_to_end(s: &mut TcpStream, limit: Duration) -> Vec<u8> {
    let at = Location::caller();
    match read_until(s, limit, false, |_| false) {
        (got, None) => got,
        (got, Some(e)) => panic!("read at {at}, after {} bytes: {e}", got.len()),
    }
}

/// Exactly `n` bytes (read one at a time: for short messages) within `limit`; EOF before
/// them fails the test.
#[track_caller]
pub fn read_exact(s: &mut TcpStream, n: usize, limit: Duration) -> Vec<u8> {
    let at = Location::caller();
    let (got, error) = read_until(s, limit, true, |got| got.len() == n);
    assert!(error.is_none(), "read at {at}: {error:?}");
    assert_eq!(got.len(), n, "EOF before {n} bytes (the read at {at})");
    got
}

/// What thread `t` returned, within `limit`; its panic is the test's.
#[track_caller]
pub fn join<T>(t: thread::JoinHandle<T>, limit: Duration) -> T {
    let at = Location::caller();
    let deadline = Instant::now() + limit;
    while !t.is_finished() {
        assert!(
            Instant::now() < deadline,
            "the thread joined at {at} did not end within {limit:?}"
        );
        thread::sleep(Duration::from_millis(5));
    }
    t.join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}
