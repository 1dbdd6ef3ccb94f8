//! Memory per idle hijacked connection: a server process holds N connections after the
//! `101`, idle, and the growth of its resident set size (`VmRSS`) is divided by the
//! connections that caused it.
//!
//! - ours: one `Instance` (`listen`, `accept`, `hijack`) keeping every `HijackedStream`;
//! - native: a tokio server that reads each head, writes the same `101`, keeps the `TcpStream`.
//!
//! Each server is a child process of its own (this binary again, chosen by
//! `HIJACK_BENCH_MEMORY_CHILD`) on a current-thread runtime, so that neither's allocations
//! stay in the other's numbers and the clients' descriptors do not count against the server's
//! limit (10,000 connections fit a hard limit of 20,000). The parent is the client:
//! sequential connections, each sends the request and reads the `101`, then stays open and
//! silent. RSS is read after a warm-up of 64 connections handled and closed (the baseline),
//! with N/2 held and with N held; the row is the growth from N/2 to N per connection, because
//! the heap keeps what the warm-up freed and the first connections fit in it unseen (the
//! growth above the baseline is in the note). `HIJACK_BENCH_MEMORY_N` connections (default
//! 10000; quick 4000), fewer if the soft limit on open files (`ulimit -n`) is too low (the
//! row then says so).

mod common;

use common::{Better, Goal, Row};
use hijack_host::{Limits, Runtime};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

const SWITCH: &[u8] =
    b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n";
const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n";
const WARMUP: usize = 64;
const CHILD: &str = "HIJACK_BENCH_MEMORY_CHILD";

/// Report a line to the parent (stdout), flushed.
fn tell(line: String) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").expect("stdout");
    out.flush().expect("stdout");
}

/// Settle, then the RSS.
fn settled_rss() -> u64 {
    std::thread::sleep(Duration::from_millis(300));
    common::rss_kib()
}

/// Wait for the parent to close our stdin (or die), on a thread: then exit.
fn exit_with_parent() {
    std::thread::spawn(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
        std::process::exit(0);
    });
}

/// Before the `i`th connection: the RSS after the warm-up (`baseline`) and with half of the
/// `n` held (`half`).
fn report_progress(i: usize, n: usize) {
    if i == WARMUP {
        tell(format!("baseline {}", settled_rss()));
    } else if i == WARMUP + n / 2 {
        tell(format!("half {}", settled_rss()));
    }
}

/// The child: `ours` or `native`, holding `n` connections after a warm-up of `WARMUP`.
fn child(kind: &str, n: usize) {
    common::watchdog("memory (server)", Duration::from_secs(240));
    exit_with_parent();
    let any: SocketAddr = "127.0.0.1:0".parse().expect("addr");
    let rt = common::current_thread();
    match kind {
        "ours" => rt.block_on(async {
            let runtime = Runtime::new().expect("compile the component");
            let (mut instance, listener) =
                common::loopback_listener(&runtime, Limits::default()).await;
            tell(format!("ready {}", listener.local_addr.port()));
            let mut held = Vec::with_capacity(n);
            for i in 0..WARMUP + n {
                report_progress(i, n);
                let incoming = instance.accept(&listener).await.expect("accept");
                let stream = instance
                    .hijack(incoming, "tcp", Vec::new())
                    .await
                    .expect("hijack");
                if i >= WARMUP {
                    held.push(stream);
                }
            }
            tell(format!("held {} {}", held.len(), settled_rss()));
            std::future::pending::<()>().await;
        }),
        "native" => rt.block_on(async {
            let l = tokio::net::TcpListener::bind(any).await.expect("bind");
            tell(format!("ready {}", l.local_addr().expect("addr").port()));
            let mut held = Vec::with_capacity(n);
            for i in 0..WARMUP + n {
                report_progress(i, n);
                let (mut s, _) = l.accept().await.expect("accept");
                common::read_head(&mut s).await.expect("head");
                s.write_all(SWITCH).await.expect("101");
                if i >= WARMUP {
                    held.push(s);
                }
            }
            tell(format!("held {} {}", held.len(), settled_rss()));
            std::future::pending::<()>().await;
        }),
        other => panic!("unknown server kind {other}"),
    }
}

/// A server child and the lines it reports.
struct Server {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Server {
    fn spawn(kind: &str, n: usize) -> Self {
        let mut child = Command::new(std::env::current_exe().expect("current exe"))
            .env(CHILD, kind)
            .env("HIJACK_BENCH_MEMORY_N", n.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn the server process");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Self { child, lines }
    }

    /// The next reported line, which must start with `word`; its fields after it.
    fn expect(&self, word: &str, wait: Duration) -> Vec<u64> {
        let line = self
            .lines
            .recv_timeout(wait)
            .unwrap_or_else(|e| panic!("server: no `{word}` line in {wait:?}: {e}"));
        let mut parts = line.split_whitespace();
        assert_eq!(parts.next(), Some(word), "server said {line:?}");
        parts
            .map(|p| p.parse().expect("a number"))
            .collect::<Vec<_>>()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Connect, ask, read the `101`; the connection stays open.
fn connect(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(common::STEP)).expect("timeout");
    s.write_all(REQUEST).expect("request");
    let mut head = Vec::with_capacity(128);
    let mut b = [0u8; 128];
    while !head.ends_with(b"\r\n\r\n") {
        let got = s.read(&mut b).expect("101");
        assert!(got > 0, "closed before the 101");
        head.extend_from_slice(&b[..got]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101 "));
    s
}

/// RSS readings of one server, in KiB.
struct Readings {
    baseline: u64,
    half: u64,
    held: u64,
}

impl Readings {
    /// KiB per connection from the second half of the connections: the growth from `n / 2`
    /// held to `n` held. What the warm-up freed (the heap keeps it) cannot hide in it.
    fn slope(&self, n: usize) -> f64 {
        (self.held as f64 - self.half as f64) / (n - n / 2) as f64
    }

    /// KiB per connection above the baseline after the warm-up.
    fn above_baseline(&self, n: usize) -> f64 {
        (self.held as f64 - self.baseline as f64) / n as f64
    }
}

fn measure(kind: &str, n: usize) -> Readings {
    let server = Server::spawn(kind, n);
    let port = server.expect("ready", Duration::from_secs(120))[0];
    let addr = SocketAddr::from(([127, 0, 0, 1], port as u16));
    for _ in 0..WARMUP {
        drop(connect(addr));
    }
    let baseline = server.expect("baseline", common::STEP)[0];
    let mut clients: Vec<TcpStream> = (0..n / 2).map(|_| connect(addr)).collect();
    let half = server.expect("half", common::STEP)[0];
    clients.extend((n / 2..n).map(|_| connect(addr)));
    let held = server.expect("held", common::STEP);
    assert_eq!(held[0] as usize, n);
    // The server closes first (its end waits in TIME_WAIT, not our ephemeral ports).
    drop(server);
    drop(clients);
    Readings {
        baseline,
        half,
        held: held[1],
    }
}

fn main() {
    if let Ok(kind) = std::env::var(CHILD) {
        let n = common::size("HIJACK_BENCH_MEMORY_N", 10_000, 4000);
        child(&kind, n);
        return;
    }
    common::watchdog("memory", Duration::from_secs(300));
    let wanted = common::size("HIJACK_BENCH_MEMORY_N", 10_000, 4000);
    // Each process holds one descriptor per connection and some of its own (the runtime, the
    // listener, the component's engine): leave 100 spare.
    let limit = common::open_files_limit();
    let n = wanted.min(limit.saturating_sub(100 + WARMUP)).max(2);
    let scaled = if n < wanted {
        format!(
            " (scaled down from {}: ulimit -n is {limit})",
            common::thousands(wanted)
        )
    } else {
        String::new()
    };
    let ours = measure("ours", n);
    let native = measure("native", n);
    println!("memory per idle hijacked connection: {n} connections held");
    let row = Row::new(
        format!(
            "RSS per idle hijacked connection, {} connections{scaled}",
            common::thousands(n)
        ),
        "KiB/conn",
        Better::Lower,
        ours.slope(n),
    )
    .ours_is("Instance holding HijackedStreams")
    .peer("tokio server holding TcpStreams", native.slope(n))
    .goal(Goal::DiffAtMost(8.0))
    .note(format!(
        "RSS growth from {} to {} held, per connection; above the post-warm-up baseline: ours {:.2}, native {:.2} KiB/conn. RSS KiB baseline / half / all held: ours {} / {} / {}, native {} / {} / {}; each server a child process",
        common::thousands(n / 2),
        common::thousands(n),
        ours.above_baseline(n),
        native.above_baseline(n),
        ours.baseline,
        ours.half,
        ours.held,
        native.baseline,
        native.half,
        native.held,
    ));
    common::emit("memory", &[row]);
}
